//! The contract of a step kind, Verify's side: why an answer is wrong. A step kind's `check`
//! reads the answer against its round's private parameters and says [`Wrong`] when it does not
//! pass; Verify logs the reason, never shows it, and counts it towards the lockout when
//! [`Wrong::counts_as_failure`]. The reasons of the step kinds with their own checks
//! ([`LinkRejection`], [`PasskeyRejection`]) live here too, so the contract imports no step.

use crate::jwt::TokenRejection;

/// How far in the future a code's issue time may lie (clock skew between trigger instances).
/// A code issued later than that was not issued by our Create: it is refused.
pub const MAX_ISSUE_SKEW_SECONDS: u64 = 60;

/// Why an answer was judged wrong. Logged; never shown to the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Wrong {
    /// Not a string, empty, or over [`MAX_ANSWER_BYTES`].
    BadAnswer,
    /// The event has no `triggerSource`: it did not come from Cognito's sign-in loop.
    NotFromCognito,
    /// The app client has no flow (not in `AUTH_FLOWS`, and no `AUTH_FLOW`).
    UnknownClient,
    /// The private parameters name no step of this flow.
    UnknownStep,
    /// The private parameters lack what the step needs.
    MissingParameters,
    /// The unknown-user decoy: no answer passes.
    Decoy,
    /// The code does not match.
    Mismatch,
    /// A pick that was not offered, or whose `ClientMetadata` `choice` names another.
    NotOffered,
    /// The code is older than `OTP_TTL_SECONDS`, or claims to be issued in the future.
    Expired,
    /// The CAPTCHA provider refused the token.
    CaptchaRejected,
    /// A dependency failed or timed out.
    Dependency,
    /// The JWT was refused.
    Token(TokenRejection),
    /// The answer was right, but the user is locked after too many wrong answers.
    Locked,
    /// The signed token was right, but it was used before; or this sign-in chose an account
    /// before.
    Replayed,
    /// An account choice without a well-formed `signInId` in the client metadata, while the
    /// account claim is on: the choice could not be tied to this sign-in's tokens.
    NoSignInId,
    /// A `magic-link` answer that asks for a link: never right, and no failure (it guessed
    /// nothing).
    LinkRequested,
    /// The magic link's proof was refused.
    Link(LinkRejection),
    /// The passkey assertion was refused.
    Passkey(PasskeyRejection),
}

impl Wrong {
    /// Whether this is the person's wrong answer, which counts towards the lockout. Events
    /// that are not Cognito's, parameters Create did not write, failing dependencies and a
    /// lock (the answer itself was right) do not.
    pub fn counts_as_failure(self) -> bool {
        !matches!(
            self,
            Wrong::NotFromCognito
                | Wrong::UnknownClient
                | Wrong::UnknownStep
                | Wrong::MissingParameters
                | Wrong::Dependency
                | Wrong::Locked
                | Wrong::NoSignInId
                | Wrong::LinkRequested
        )
    }
}

/// Why a proof was refused. Logged (as [`Wrong::Link`]); never shown to the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LinkRejection {
    /// Not `ml1.<payload>.<signature>`, or the payload is not the claims.
    Malformed,
    /// The signature does not match.
    BadSignature,
    /// Signed for another pool.
    OtherPool,
    /// Signed for another user.
    OtherUser,
    /// Signed for another page than the one redeeming it, or for a page no longer allowed.
    OtherUrl,
    /// Past its expiry, issued in the future, or valid for longer than the TTL allows.
    Expired,
    /// No public key to check a KMS signature with (a caller's error: Verify refuses a round
    /// without one before it opens the proof).
    KeyUnavailable,
}

/// Why a passkey answer was refused. Logged; never shown to the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PasskeyRejection {
    /// Not the JSON of an assertion.
    Malformed,
    /// The credential is not one of those offered (another user's, or unknown).
    NotOffered,
    /// The challenge is not this round's.
    Challenge,
    /// A WebAuthn check failed (origin, RP id, flags, signature, counter, timeout, ...).
    Ceremony,
}
