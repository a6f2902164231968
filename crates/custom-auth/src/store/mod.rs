//! State across sign-ins: per-user limits on code sends, a lockout after wrong answers, and
//! single-use signed tokens.
//!
//! Cognito keeps each sign-in's session and nothing else, so an attacker who restarts
//! `InitiateAuth` would get fresh attempts and make us send a fresh code every time. The
//! [`StateStore`] port keeps the few facts that must outlive a session. Its records and rules
//! are defined here, as plain data and pure functions: the in-memory adapter
//! ([`MemoryStore`]) applies them directly, the DynamoDB adapter (crate `aws-io`) writes the
//! same rules as condition expressions, so every limit is one atomic conditional write there.
//!
//! Keys never hold a user name: a user is `HMAC-SHA256(AUTH_STATE_KEY, pool \0 user name)`,
//! and a token `HMAC-SHA256(AUTH_STATE_KEY, issuer \0 jti)`.
//!
//! Two ports live here, with what sits below them and nothing above: the state store's
//! ([`port`]: [`StateStore`], the one-time record) with its rules as pure functions
//! ([`rules`]), the passkey store's ([`passkeys`]) and the remembered devices' ([`devices`]);
//! the in-process adapters of all three,
//! [`NoStore`] ([`none`]) and [`MemoryStore`] ([`memory`]); and each port's conformance run,
//! which every adapter passes (the DynamoDB one in the end-to-end test).

pub mod devices;
pub mod memory;
pub mod none;
pub mod passkeys;
pub mod port;
pub mod rules;
pub mod support;

pub use crate::config::state::{
    DEFAULT_LOCKOUT_AFTER_FAILURES, DEFAULT_LOCKOUT_WINDOW_SECONDS, DEFAULT_SEND_LIMIT,
    DEFAULT_SEND_WINDOW_SECONDS, Limits, MIN_STATE_KEY_BYTES, StateSettings,
};
pub use memory::MemoryStore;
pub use none::NoStore;
pub use port::{OneTime, OneTimeKind, StateStore, TAKE_GRACE_SECONDS};
pub use rules::{Admission, Failures, SendGate, UserRecord};

/// The rules every [`StateStore`] adapter must follow, as one scripted run: the unit tests run
/// it against [`MemoryStore`], the end-to-end tests against DynamoDB. Time is a parameter of
/// every call, so windows roll over without waiting. `prefix` keeps runs on a shared table
/// apart. Panics, naming the step, on the first difference.
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;

#[cfg(test)]
mod tests;
