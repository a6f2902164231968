//! The Create Auth Challenge trigger: build the challenge of the step the session stands at.
//!
//! This module walks the session, writes what every round has (the tag, the attempt, the
//! attempts left, the tag as metadata) and hands the rest to the step's own module: codes in
//! [`crate::otp`], accounts in [`crate::account`], the CAPTCHA site key in
//! [`crate::captcha`], a pick in [`crate::choice`]; the signed-token round needs nothing more.

use std::collections::HashMap;

use aws_lambda_events::event::cognito::CognitoEventUserPoolsCreateAuthChallengeRequest as CreateAuthChallengeRequest;
use rand::CryptoRng;
use sha2::{Digest, Sha256};

use crate::config::{Config, Step};
use crate::error::AuthError;
use crate::events::CreateAuthChallengeEvent;
use crate::flow::{CUSTOM_CHALLENGE, Position, choose_metadata, walk};
use crate::passkey::{PasskeyStore, sign_in as passkey};
use crate::ports::CodeSender;
use crate::state::StateStore;
use crate::{account, captcha, choice, magic, otp};

/// Public parameter keys, as clients read them.
pub mod public {
    /// The round's tag: `CAPTCHA`, `EMAIL_OTP`, `SMS_OTP`, `SELECT_ACCOUNT`, `SIGNED_TOKEN`,
    /// `MAGIC_LINK`, `PASSKEY`, `CHOOSE`.
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

/// Runs the Create trigger at time `now` (Unix seconds): fills `event.response`. With a state
/// store configured, the first round of a code step first counts a send in `store` (one
/// request), for unknown users and decoys too, so limits look the same for every name.
pub async fn create<S: CodeSender>(
    config: &Config,
    event: &mut CreateAuthChallengeEvent,
    sender: &S,
    store: &(impl StateStore + PasskeyStore),
    rng: &mut impl CryptoRng,
    now: u64,
) -> Result<Created, AuthError> {
    // A wrong `triggerSource` never deserializes; a missing one is refused here.
    if event
        .cognito_event_user_pools_header
        .trigger_source
        .is_none()
    {
        return Err(AuthError::NotFromCognito);
    }
    let request = &event.request;
    if request.challenge_name.as_deref() != Some(CUSTOM_CHALLENGE) {
        return Err(AuthError::UnexpectedChallenge);
    }
    let header = &event.cognito_event_user_pools_header;
    let flow = config
        .flows
        .for_client(header.caller_context.client_id.as_deref())
        .ok_or(AuthError::UnknownClient)?;
    let (step, attempt, first_round) = match walk(flow, &request.session, config.max_attempts) {
        Position::Custom {
            step,
            attempt,
            first_round,
        } => (step, attempt, first_round),
        Position::Choosing {
            alternatives,
            attempt,
        } => {
            let offered = choice::offer(&alternatives);
            return Ok(choose_round(config, event, &offered, attempt));
        }
        Position::Chosen { offered } => {
            let step = choice::chosen(&request.client_metadata, &offered)
                .ok_or(AuthError::NoChosenStep)?;
            (step, 1, None)
        }
        _ => return Err(AuthError::SessionOutOfPlace),
    };
    let tag = step.tag().ok_or(AuthError::SessionOutOfPlace)?;
    let pool = header.user_pool_id.as_deref().unwrap_or_default();
    let user = header.user_name.as_deref().unwrap_or_default();
    let mut round = Round {
        config,
        step,
        tag,
        first_round,
        request,
        pool,
        user,
        seed: decoy_seed(pool, user),
        public: round_parameters(config, tag, attempt),
        private: HashMap::from([
            (private::STEP.to_owned(), tag.to_owned()),
            (private::ATTEMPT.to_owned(), attempt.to_string()),
        ]),
        metadata: tag.to_owned(),
        created: Created {
            step,
            attempt,
            sent: false,
            decoy: request.user_not_found,
        },
    };

    match step {
        Step::EmailOtp | Step::SmsOtp => {
            otp::challenge(&mut round, sender, store, rng, now).await?;
        }
        Step::Captcha => captcha::challenge(&mut round)?,
        Step::SelectAccount => account::challenge(&mut round),
        Step::SignedToken => {}
        Step::MagicLink => magic::challenge(&mut round, sender, store, rng, now).await?,
        Step::Passkey => passkey::challenge(&mut round, store).await?,
        Step::Password | Step::Choose => return Err(AuthError::SessionOutOfPlace),
    }
    let Round {
        public,
        private,
        metadata,
        created,
        ..
    } = round;
    Ok(respond(event, public, private, metadata, created))
}

/// The round Create is building: what the step modules read (the configuration, the request,
/// who signs in) and what they fill (parameters, metadata, the outcome for the log).
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
    pub public: HashMap<String, String>,
    pub private: HashMap<String, String>,
    pub metadata: String,
    pub created: Created,
}

impl Round<'_> {
    /// Whether Cognito says the user does not exist.
    pub fn unknown(&self) -> bool {
        self.request.user_not_found
    }
}

/// The public parameters every custom round has: its tag, its attempt, the attempts left.
fn round_parameters(config: &Config, tag: &str, attempt: u32) -> HashMap<String, String> {
    HashMap::from([
        (public::CHALLENGE.to_owned(), tag.to_owned()),
        (public::ATTEMPT.to_owned(), attempt.to_string()),
        (
            public::ATTEMPTS_LEFT.to_owned(),
            (config.max_attempts + 1)
                .saturating_sub(attempt)
                .to_string(),
        ),
    ])
}

/// A `CHOOSE` round: the offered alternatives, publicly and privately (Verify checks the
/// answer against them) and in the metadata (the walk holds the next round to them). Nothing
/// is sent and the store is not asked: a pick costs nothing.
fn choose_round(
    config: &Config,
    event: &mut CreateAuthChallengeEvent,
    offered: &[Step],
    attempt: u32,
) -> Created {
    let tag = Step::Choose.tag().unwrap_or("CHOOSE");
    let options = choice::options_json(offered);
    let mut public = round_parameters(config, tag, attempt);
    public.insert(public::OPTIONS.to_owned(), options.clone());
    let private = HashMap::from([
        (private::STEP.to_owned(), tag.to_owned()),
        (private::ATTEMPT.to_owned(), attempt.to_string()),
        (private::OPTIONS.to_owned(), options),
    ]);
    let created = Created {
        step: Step::Choose,
        attempt,
        sent: false,
        decoy: event.request.user_not_found,
    };
    respond(event, public, private, choose_metadata(offered), created)
}

/// Writes the round into the response (replacing whatever the event carried) and logs it.
fn respond(
    event: &mut CreateAuthChallengeEvent,
    public: HashMap<String, String>,
    private: HashMap<String, String>,
    metadata: String,
    created: Created,
) -> Created {
    let response = &mut event.response;
    response.public_challenge_parameters = public;
    response.private_challenge_parameters = private;
    response.challenge_metadata = Some(metadata);
    tracing::info!(
        trigger = "create",
        step = %created.step,
        attempt = created.attempt,
        sent = created.sent,
        decoy = created.decoy,
        "challenge created"
    );
    created
}
