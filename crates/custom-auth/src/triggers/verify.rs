//! The Verify Auth Challenge Response trigger: is the answer right?
//!
//! This module finds the round's step kind, hands its `check` the [`Answer`] and the
//! [`VerifyIo`] (the same two arguments for every step kind), and settles the verdict with the
//! state store. Every doubt is a wrong answer: a missing or unknown step, a non-string, empty or oversized
//! answer, an expired code, a dependency that fails or times out. Verify never errors on the
//! answer path; Define then counts the wrong answer against the step's attempts.

use crate::config::{Config, Step};
use crate::events::VerifyAuthChallengeEvent;
use crate::keys::{methods_key, user_key};
use crate::methods::METHODS_TTL_SECONDS;
use crate::ports::{CaptchaVerifier, JwksFetcher};
use crate::steps::account::sign_in_id;
use crate::steps::answer::{Answer, VerifyIo, Wrong};
use crate::steps::round::private;
use crate::steps::{account, captcha, choice, device, magic, otp, passkey, token};
use crate::store::{Admission, OneTime, OneTimeKind, StateStore};
pub use crate::token_keys::TokenKeys;

/// Largest answer accepted, in bytes.
pub const MAX_ANSWER_BYTES: usize = 4096;

/// A right answer, before the state store has its say.
struct Passed {
    step: Step,
    /// The records to write once with the admission: the step kind's, if it hands one
    /// ([`crate::steps::answer::Checked`]), and the sign-in's methods in its last round.
    records: Vec<OneTime>,
}

/// The outcome of Verify.
pub type Verdict = Result<Step, Wrong>;

fn answer_text(event: &VerifyAuthChallengeEvent) -> Option<&str> {
    match event.request.challenge_answer.as_ref()? {
        serde_json::Value::String(s) if !s.is_empty() && s.len() <= MAX_ANSWER_BYTES => Some(s),
        _ => None,
    }
}

/// Runs the Verify trigger at time `now` (Unix seconds): sets `answerCorrect`. With a state
/// store configured, a right answer passes only if `store` admits it (not locked; a token not
/// used before), and a wrong one is counted towards the lockout.
pub async fn verify<C: CaptchaVerifier, F: JwksFetcher>(
    config: &Config,
    event: &mut VerifyAuthChallengeEvent,
    captcha: &C,
    keys: &TokenKeys<F>,
    store: &impl StateStore,
    now: u64,
) -> Verdict {
    verified(config, event, captcha, keys, store, now)
        .await
        .verdict
}

/// What Verify did, for its metrics and audit events ([`crate::telemetry`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Verified {
    /// The verdict, as [`verify`] returns it.
    pub verdict: Verdict,
    /// The round's step kind, when its private parameters name one.
    pub step: Option<Step>,
    /// When the lockout this wrong answer began ends (it was the one that reached the limit).
    pub lockout_until: Option<u64>,
}

/// [`verify`], saying also what the metrics and the audit trail need.
pub async fn verified<C: CaptchaVerifier, F: JwksFetcher>(
    config: &Config,
    event: &mut VerifyAuthChallengeEvent,
    captcha: &C,
    keys: &TokenKeys<F>,
    store: &impl StateStore,
    now: u64,
) -> Verified {
    let judged = judge(config, event, captcha, keys, now).await;
    let (verdict, lockout_until) = settle(config, event, store, judged, now).await;
    event.response.answer_correct = verdict.is_ok();
    let params = &event.request.private_challenge_parameters;
    let step = params.get(private::STEP).and_then(|t| Step::from_tag(t));
    let attempt = params
        .get(private::ATTEMPT)
        .and_then(|a| a.parse::<u32>().ok());
    match verdict {
        Ok(_) => {
            tracing::info!(trigger = "verify", step = ?step, attempt, decision = "correct", "answer checked")
        }
        Err(why) => {
            tracing::info!(trigger = "verify", step = ?step, attempt, decision = "wrong", reason = ?why, "answer checked")
        }
    }
    Verified {
        verdict,
        step,
        lockout_until,
    }
}

/// The state store's part: one request for a right answer (admit), one or two for a wrong
/// one (count it). A store that fails turns a right answer wrong; a wrong answer stays wrong.
/// With the verdict, when the lockout a counted wrong answer began ends.
async fn settle(
    config: &Config,
    event: &VerifyAuthChallengeEvent,
    store: &impl StateStore,
    judged: Result<Passed, Wrong>,
    now: u64,
) -> (Verdict, Option<u64>) {
    let Some(state) = &config.state else {
        return (judged.map(|p| p.step), None);
    };
    let header = &event.cognito_event_user_pools_header;
    let user = user_key(
        &state.key,
        header.user_pool_id.as_deref().unwrap_or_default(),
        header.user_name.as_deref().unwrap_or_default(),
    );
    let verdict = match judged {
        Ok(passed) => match store
            .admit(&user, &passed.records, now, &state.limits)
            .await
        {
            Ok(Admission::Admitted) => Ok(passed.step),
            Ok(Admission::Locked) => Err(Wrong::Locked),
            Ok(Admission::Replayed) => Err(Wrong::Replayed),
            Err(_) => Err(Wrong::Dependency),
        },
        Err(why) => Err(why),
    };
    let mut lockout_until = None;
    if let Err(why) = verdict
        && why.counts_as_failure()
    {
        match store.record_failure(&user, now, &state.limits).await {
            Ok(failures) => lockout_until = failures.lockout_began(&state.limits),
            Err(_) => tracing::warn!(
                trigger = "verify",
                "the state store failed; a wrong answer was not counted"
            ),
        }
    }
    (verdict, lockout_until)
}

async fn judge<C: CaptchaVerifier, F: JwksFetcher>(
    config: &Config,
    event: &VerifyAuthChallengeEvent,
    captcha: &C,
    keys: &TokenKeys<F>,
    now: u64,
) -> Result<Passed, Wrong> {
    // A wrong `triggerSource` never deserializes; a missing one is refused here.
    if event
        .cognito_event_user_pools_header
        .trigger_source
        .is_none()
    {
        return Err(Wrong::NotFromCognito);
    }
    let client = event
        .cognito_event_user_pools_header
        .caller_context
        .client_id
        .as_deref();
    let flow = config
        .flows
        .for_client(client)
        .ok_or(Wrong::UnknownClient)?;
    let params = &event.request.private_challenge_parameters;
    let step = params
        .get(private::STEP)
        .and_then(|t| Step::from_tag(t))
        .filter(|s| flow.contains(*s))
        .ok_or(Wrong::UnknownStep)?;
    let text = answer_text(event).ok_or(Wrong::BadAnswer)?;
    let answer = &Answer {
        config,
        event,
        params,
        text,
        now,
    };
    let io = &VerifyIo { captcha, keys };
    let record = match step {
        Step::EmailOtp | Step::SmsOtp => otp::check(answer, io).await,
        Step::Captcha => captcha::check(answer, io).await,
        Step::SelectAccount => account::check(answer, io).await,
        Step::MagicLink => magic::check(answer, io).await,
        Step::Passkey => passkey::check(answer, io).await,
        Step::Device => device::check(answer, io).await,
        Step::SignedToken => token::check(answer, io).await,
        Step::Choose => choice::check(answer, io).await,
        Step::Password => Err(Wrong::UnknownStep),
    }?;
    let records = record.into_iter().chain(methods_record(answer)).collect();
    Ok(Passed { step, records })
}

/// In the round that completes the flow (Create wrote the methods into its private
/// parameters), the sign-in's methods, kept for Pre Token Generation under the client's
/// sign-in id. A sign-in without a well-formed id keeps none: its tokens carry no methods,
/// never a guess.
fn methods_record(answer: &Answer) -> Option<OneTime> {
    let (config, event) = (answer.config, answer.event);
    config.methods_claim.as_ref()?;
    let state = config.state.as_ref()?;
    let methods = answer.params.get(private::METHODS)?;
    let id = sign_in_id(&event.request.client_metadata)?;
    let header = &event.cognito_event_user_pools_header;
    Some(OneTime {
        key: methods_key(
            &state.key,
            header.user_pool_id.as_deref().unwrap_or_default(),
            header.user_name.as_deref().unwrap_or_default(),
            id,
        ),
        expires_at: answer.now.saturating_add(METHODS_TTL_SECONDS),
        kind: OneTimeKind::Value(methods.clone()),
    })
}
