//! The challenge-sequence engine of a Cognito `CUSTOM_AUTH` sign-in.
//!
//! Pure code, shared by the trigger binaries, in layers that import only downward: the
//! vocabulary (`events`, `ports`, `error`, `keys`, `jwt`, `config`), the stores' ports and rules
//! ([`store`]), the step kinds on their contract ([`steps`]), the pure walk and
//! Define's decision ([`flow`]), and the triggers on top ([`triggers`]: challenge construction,
//! answer checking, the tokens' claims). Every I/O stays behind the traits of [`ports`] and the
//! stores' ports; the clock and the random generator are parameters.

pub mod config;
pub mod device;
pub mod encoding;
pub mod error;
pub mod events;
pub mod flow;
pub mod http_api;
pub mod jwt;
pub mod keys;
pub mod logging;
pub mod methods;
pub mod names;
pub mod passkey;
pub mod ports;
pub mod steps;
pub mod store;
pub mod support;
pub mod telemetry;
pub mod token_keys;
pub mod triggers;

#[cfg(test)]
mod cognito_model;
#[cfg(test)]
mod decoy_props;
#[cfg(test)]
mod flow_props;
#[cfg(test)]
mod testing;

pub use config::{Config, ConfigError, Flow, Flows, Step};
pub use error::AuthError;
pub use flow::{Decision, FailReason, decide, define};
pub use logging::LogSettings;
pub use steps::answer::Wrong;
pub use steps::round::Created;
pub use telemetry::{Report, Telemetry};
pub use triggers::create::create;
pub use triggers::pre_token::{Account, Minted, pre_token_generation};
pub use triggers::verify::{TokenKeys, Verdict, Verified, verified, verify};
