//! The challenge-sequence engine of a Cognito `CUSTOM_AUTH` sign-in.
//!
//! Pure code, shared by the three trigger binaries: the configuration, the walk of the session
//! history against the configured flow ([`flow`]), the Define decision, challenge
//! construction ([`create`]) and answer checking ([`verify`]), and the rules of the state kept
//! across sign-ins ([`state`]). Every I/O stays behind the traits of [`ports`] and
//! [`state::StateStore`]; the clock and the random generator are parameters.

pub mod claims;
pub mod config;
pub mod create;
pub mod error;
pub mod events;
pub mod flow;
pub mod jwt;
pub mod keys;
pub mod logging;
pub mod names;
pub mod passkey;
pub mod ports;
pub mod state;
pub mod steps;
pub mod store;
pub mod verify;

#[cfg(test)]
mod cognito_model;
#[cfg(test)]
mod decoy_props;
#[cfg(test)]
mod flow_props;
#[cfg(test)]
mod testing;

pub use claims::{Minted, pre_token_generation};
pub use config::{Config, ConfigError, Flow, Flows, Step};
pub use create::create;
pub use error::AuthError;
pub use flow::{Decision, FailReason, decide, define};
pub use logging::LogSettings;
pub use steps::answer::Wrong;
pub use steps::round::Created;
pub use verify::{TokenKeys, Verdict, verify};

/// Seconds since the Unix epoch, from the system clock. Binaries call it once per invocation
/// and pass the result down; the engine never reads a clock itself.
pub fn unix_now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
