//! The one error type of the shared crate.
//!
//! Its `Display` text reaches the person signing in (Cognito wraps it in
//! `UserLambdaValidationException`), so it says nothing about internals; the variant name,
//! which carries no secret, is what the logs show.

use crate::ports::DependencyError;

/// Why a trigger could not answer. Cognito fails the sign-in on any of them.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    /// The event has no `triggerSource`: it did not come from Cognito's sign-in loop.
    #[error("the sign-in cannot continue")]
    NotFromCognito,
    /// Create was asked for a challenge other than `CUSTOM_CHALLENGE`.
    #[error("the sign-in cannot continue")]
    UnexpectedChallenge,
    /// The app client has no flow (not in `AUTH_FLOWS`, and no `AUTH_FLOW`).
    #[error("the sign-in cannot continue")]
    UnknownClient,
    /// The round after a choice, but the client's metadata names no alternative that was
    /// offered (`choice`), or another one than its answer did (Verify refuses that answer).
    #[error("the sign-in cannot continue")]
    NoChosenStep,
    /// The session does not stand at a custom step of this flow.
    #[error("the sign-in cannot continue")]
    SessionOutOfPlace,
    /// A retry's stored state (the first round's metadata) is unreadable.
    #[error("the sign-in cannot continue")]
    TamperedSession,
    /// The configuration lacks what this step needs.
    #[error("the sign-in cannot continue")]
    Misconfigured,
    /// The code could not be delivered.
    #[error("the code could not be sent; try again later")]
    Delivery(DependencyError),
    /// The user was sent as many codes as the send window allows (`OTP_SEND_LIMIT`).
    #[error("too many codes requested; try again later")]
    TooManyCodes,
    /// The user is locked after too many wrong answers (`LOCKOUT_AFTER_FAILURES`).
    #[error("too many failed attempts; try again later")]
    Locked,
    /// The state store did not answer in time, refused, or answered nonsense.
    #[error("the sign-in cannot continue; try again later")]
    State(DependencyError),
    /// Pre Token Generation: no well-formed `signInId` in the client metadata.
    #[error("the sign-in cannot continue")]
    NoSignInId,
    /// Pre Token Generation: no account choice of this user under that sign-in id (never made,
    /// taken already, expired, or no longer one of the user's accounts).
    #[error("the sign-in cannot continue")]
    NoChoice,
}
