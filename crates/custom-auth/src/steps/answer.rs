//! The contract of a step kind, Verify's side. Verify hands every step kind's `check` the same
//! two arguments: the [`Answer`] (the answer, its round's private parameters, the event, the
//! time) and the [`VerifyIo`] (what it may call). The check says [`Checked`]: right, with the
//! one-time record the store writes with the admission, if any; or [`Wrong`], with the reason.
//! Verify logs the reason, never shows it, and counts it towards the lockout when
//! [`Wrong::counts_as_failure`]. The reasons of the step kinds with their own checks
//! ([`LinkRejection`], [`PasskeyRejection`]) live here too, so the contract imports no step.

use std::collections::HashMap;

use crate::config::Config;
use crate::events::VerifyAuthChallengeEvent;
use crate::jwt::TokenRejection;
use crate::store::OneTime;
use crate::token_keys::TokenKeys;

/// The answer a step kind checks, with everything it is checked against.
pub(crate) struct Answer<'a> {
    pub config: &'a Config,
    pub event: &'a VerifyAuthChallengeEvent,
    /// The round's private parameters, as Create wrote them (Cognito keeps them).
    pub params: &'a HashMap<String, String>,
    /// The answer: a non-empty string of at most `MAX_ANSWER_BYTES`.
    pub text: &'a str,
    /// The time of the invocation (Unix seconds).
    pub now: u64,
}

impl Answer<'_> {
    /// Whether Cognito says the user does not exist (a decoy round: no answer passes).
    pub fn unknown(&self) -> bool {
        self.event.request.user_not_found
    }
}

/// What a step kind's check may call: the CAPTCHA provider and the signed-token keys.
pub(crate) struct VerifyIo<'a, C, F> {
    pub captcha: &'a C,
    pub keys: &'a TokenKeys<F>,
}

/// What a check says: right, with the one-time record to write once with the admission (a
/// spent token, link or challenge, a chosen account, a passkey's new counter), if the step
/// kind has one; or wrong, and why.
pub(crate) type Checked = Result<Option<OneTime>, Wrong>;

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
    /// The remembered device's answer was refused.
    Device(DeviceRejection),
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

/// Why a remembered device's answer was refused. Logged; never shown to the client, which
/// learns only that the answer was wrong (a forgotten, an expired and an unknown device look
/// the same).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceRejection {
    /// Not `{device, signature}`, or not base64url.
    Malformed,
    /// No device of this user has that id (another user's, forgotten, or never remembered).
    NotOffered,
    /// The device is no longer remembered (`DEVICE_TTL_DAYS` passed).
    Expired,
    /// The signature is not the device key's over this round's challenge.
    Signature,
}
