//! The contract of a step kind, Create's side: the round a step builds. Create walks the
//! session, makes a [`Round`] with what every round has, and hands it to the step kind's
//! `challenge`, which fills the public parameters (what the client shows), the private ones
//! (what Verify checks against; never logged), and says what it did ([`Created`]). The
//! parameter names are here, so step kinds and both triggers agree on them without importing
//! each other.

use std::collections::HashMap;

use aws_lambda_events::event::cognito::CognitoEventUserPoolsCreateAuthChallengeRequest as CreateAuthChallengeRequest;
use sha2::{Digest, Sha256};

use crate::config::{Config, Step};

/// Public parameter keys, as clients read them.
pub mod public {
    /// The round's tag: `CAPTCHA`, `EMAIL_OTP`, `SMS_OTP`, `SELECT_ACCOUNT`, `SIGNED_TOKEN`,
    /// `MAGIC_LINK`, `PASSKEY`, `DEVICE`, `CHOOSE`.
    pub const CHALLENGE: &str = "challenge";
    /// 1-based round within the step.
    pub const ATTEMPT: &str = "attempt";
    /// Answers still allowed for the step, the current one included.
    pub const ATTEMPTS_LEFT: &str = "attemptsLeft";
    /// The masked e-mail address a code went to.
    pub const EMAIL: &str = "email";
    /// The masked phone number a code went to.
    pub const PHONE: &str = "phone";
    /// The CAPTCHA widget's site key.
    pub const SITE_KEY: &str = "siteKey";
    /// The accounts to choose from: a JSON object of id to display name, as a string.
    pub const ACCOUNTS: &str = "accounts";
    /// The alternatives of a `CHOOSE` round: a JSON array of step names, as a string; in a
    /// `PASSKEY` round, the `PublicKeyCredentialRequestOptions` JSON for
    /// `navigator.credentials.get`.
    pub const OPTIONS: &str = "options";
    /// Whether this `MAGIC_LINK` round sent a link: `true`, `false` (none asked for),
    /// `too-soon` (the last one went less than `MAGIC_LINK_MIN_INTERVAL_SECONDS` ago),
    /// `bad-url` (asked for a page not in `MAGIC_LINK_URLS`).
    pub const SENT: &str = "sent";
    /// A `DEVICE` round's random challenge (base64url), which the device signs.
    pub const NONCE: &str = "nonce";
}

/// Private parameter keys, read by Verify. Never logged.
pub mod private {
    /// The step's tag.
    pub const STEP: &str = "step";
    /// The one-time code.
    pub const CODE: &str = "code";
    /// Unix seconds of the code's first send.
    pub const ISSUED_AT: &str = "issuedAt";
    /// The accounts offered, as JSON.
    pub const ACCOUNTS: &str = "accounts";
    /// 1-based round within the step (not secret: Verify logs it).
    pub const ATTEMPT: &str = "attempt";
    /// The alternatives a `CHOOSE` round offered, as JSON.
    pub const OPTIONS: &str = "options";
    /// In a `MAGIC_LINK` round with a KMS key: the key's public half (DER, base64url), which
    /// Verify checks a link's signature with.
    pub const LINK_KEY: &str = "linkKey";
    /// In the round that completes the flow, with `SIGN_IN_METHODS_CLAIM` on: the sign-in's
    /// methods if this round passes, as a JSON array ([`crate::methods`]), which Verify
    /// records for the tokens.
    pub const METHODS: &str = "methods";
}

/// What Create did, for the log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Created {
    /// The step.
    pub step: Step,
    /// 1-based round within the step.
    pub attempt: u32,
    /// Whether a code was sent in this round.
    pub sent: bool,
    /// Whether this is a decoy round (unknown user, or no destination to send to).
    pub decoy: bool,
}

/// Stable pseudo-random bytes for an unknown user's decoy, so its masked destination and
/// account list stay the same across tries and cold starts, and under any change of the
/// name's case (the name as the pool compares it, [`crate::names::compared`]).
pub(crate) fn decoy_seed(pool: &str, user: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"custom-auth decoy v1\0");
    h.update(pool.as_bytes());
    h.update([0]);
    h.update(crate::names::compared(user).as_bytes());
    h.finalize().into()
}

/// The round Create is building: what the step modules read (the configuration, the request,
/// who signs in, the time) and what they fill (parameters, metadata, the outcome for the log).
pub(crate) struct Round<'a> {
    pub config: &'a Config,
    pub step: Step,
    pub tag: &'static str,
    /// Index in the session of the step's first round, on a retry.
    pub first_round: Option<usize>,
    pub request: &'a CreateAuthChallengeRequest,
    pub pool: &'a str,
    pub user: &'a str,
    /// Stable pseudo-random bytes of pool and user name, for decoys.
    pub seed: [u8; 32],
    /// The time of the invocation (Unix seconds).
    pub now: u64,
    pub public: HashMap<String, String>,
    pub private: HashMap<String, String>,
    pub metadata: String,
    pub created: Created,
}

/// What a step kind's round may call: the sender of codes and links (and the signer of links),
/// the stores, and the random generator. Every step kind's `challenge` takes the same two
/// arguments, `(&mut Round, &mut CreateIo)`, whatever of this it uses.
pub(crate) struct CreateIo<'a, S, St, R> {
    pub sender: &'a S,
    pub store: &'a St,
    pub rng: &'a mut R,
}

impl Round<'_> {
    /// Whether Cognito says the user does not exist.
    pub fn unknown(&self) -> bool {
        self.request.user_not_found
    }
}
