//! The Create Auth Challenge trigger: build the challenge of the step the session stands at.
//!
//! This module walks the session, writes what every round has (the tag, the attempt, the
//! attempts left, the tag as metadata) and hands the rest to the step kind's `challenge`, each
//! with the same two arguments (the [`Round`] and the [`CreateIo`]): codes in
//! [`crate::steps::otp`], accounts in [`crate::steps::account`], the CAPTCHA site key in
//! [`crate::steps::captcha`], links in [`crate::steps::magic`], passkeys in
//! [`crate::steps::passkey`]. A `CHOOSE` round is the flow's, not a step kind's: it is built
//! here from [`crate::steps::choice`]'s offer.

use std::collections::HashMap;

use rand::CryptoRng;

use crate::config::{Config, Step};
use crate::error::AuthError;
use crate::events::CreateAuthChallengeEvent;
use crate::flow::{CUSTOM_CHALLENGE, Position, choose_metadata, completes, passed, walk};
use crate::methods;
use crate::passkey::PasskeyStore;
use crate::ports::CodeSender;
use crate::steps::round::{CreateIo, Created, Round, decoy_seed, private, public};
use crate::steps::{account, captcha, choice, device, magic, otp, passkey};
use crate::store::StateStore;
use crate::store::devices::DeviceStore;

/// Runs the Create trigger at time `now` (Unix seconds): fills `event.response`. With a state
/// store configured, the first round of a code step first counts a send in `store` (one
/// request), for unknown users and decoys too, so limits look the same for every name.
pub async fn create<S: CodeSender>(
    config: &Config,
    event: &mut CreateAuthChallengeEvent,
    sender: &S,
    store: &(impl StateStore + PasskeyStore + DeviceStore),
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
        now,
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

    let io = &mut CreateIo { sender, store, rng };
    match step {
        Step::EmailOtp | Step::SmsOtp => otp::challenge(&mut round, io).await?,
        Step::Captcha => captcha::challenge(&mut round, io).await?,
        Step::SelectAccount => account::challenge(&mut round, io).await?,
        // The signed-token round needs nothing beyond what every round has.
        Step::SignedToken => {}
        Step::MagicLink => magic::challenge(&mut round, io).await?,
        Step::Passkey => passkey::challenge(&mut round, io).await?,
        Step::Device => device::challenge(&mut round, io).await?,
        Step::Password | Step::Choose => return Err(AuthError::SessionOutOfPlace),
    }
    let Round {
        public,
        mut private,
        metadata,
        created,
        ..
    } = round;
    if config.methods_claim.is_some()
        && config.state.is_some()
        && !request.user_not_found
        && completes(flow, &request.session, &metadata, config.max_attempts)
    {
        let mut steps = passed(&request.session);
        steps.push(step);
        let verification = config.passkey.as_ref().map(|p| p.user_verification);
        private.insert(
            private::METHODS.to_owned(),
            methods::to_json(&methods::amr(&steps, verification)),
        );
    }
    Ok(respond(event, public, private, metadata, created))
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
