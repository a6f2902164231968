//! The Verify Auth Challenge Response trigger: is the answer right?
//!
//! Every doubt is a wrong answer: a missing or unknown step, a non-string, empty or oversized
//! answer, an expired code, a dependency that fails or times out. Verify never errors on the
//! answer path; Define then counts the wrong answer against the step's attempts.

use subtle::ConstantTimeEq;

use crate::choice;
use crate::claims::sign_in_id;
use crate::config::{Config, Step, TokenKeySource};
use crate::create::{parse_accounts, private};
use crate::events::VerifyAuthChallengeEvent;
use crate::jwt::{JwksCache, TokenRejection, TokenRules, VerifyingKey, token_kid, verify_token};
use crate::ports::{CaptchaVerifier, JwksFetcher};
use crate::state::{Admission, OneTime, StateStore, choice_key, token_key, user_key};

/// How long a recorded account choice waits for Pre Token Generation: longer than any sign-in
/// (each round's session lasts at most 15 minutes).
pub const CHOICE_TTL_SECONDS: u64 = 3600;

/// Largest answer accepted, in bytes.
pub const MAX_ANSWER_BYTES: usize = 4096;

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
        )
    }
}

/// A right answer, before the state store has its say.
struct Passed {
    step: Step,
    /// The record to write once with the admission: the signed token to spend, when the store
    /// makes tokens single-use, or the account chosen in this sign-in.
    token: Option<OneTime>,
}

impl From<Step> for Passed {
    fn from(step: Step) -> Passed {
        Passed { step, token: None }
    }
}

/// The outcome of Verify.
pub type Verdict = Result<Step, Wrong>;

/// The keys of the `signed-token` step: a fixed key, or a JWKS endpoint behind a cache that
/// outlives invocations.
pub struct TokenKeys<F> {
    source: Option<TokenKeySource>,
    cache: JwksCache,
    fetcher: F,
}

impl<F: JwksFetcher> TokenKeys<F> {
    /// Keys as configured; `fetcher` is used only for a JWKS source.
    pub fn new(config: &Config, fetcher: F) -> TokenKeys<F> {
        TokenKeys {
            source: config.signed_token.as_ref().map(|s| s.keys.clone()),
            cache: JwksCache::new(),
            fetcher,
        }
    }

    /// The key for a token with header `kid`. A JWKS source needs a `kid`; an unknown one
    /// triggers at most one rate-limited refetch; a failed fetch falls back to cached keys.
    pub async fn key(&self, kid: Option<&str>, now: u64) -> Option<VerifyingKey> {
        match self.source.as_ref()? {
            TokenKeySource::Static(key) => Some(key.clone()),
            TokenKeySource::Jwks(_) => {
                let kid = kid?;
                if let Some(key) = self.cache.get(kid, now) {
                    return Some(key);
                }
                if self.cache.begin_fetch(now) {
                    match self.fetcher.fetch().await {
                        Ok(doc) => {
                            if !self.cache.store(&doc, now) {
                                tracing::warn!("JWKS document unusable; keeping cached keys");
                            }
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "JWKS fetch failed; keeping cached keys")
                        }
                    }
                }
                self.cache.get_stale(kid)
            }
        }
    }
}

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
    let judged = judge(config, event, captcha, keys, now).await;
    let verdict = settle(config, event, store, judged, now).await;
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
    verdict
}

/// The state store's part: one request for a right answer (admit), one or two for a wrong
/// one (count it). A store that fails turns a right answer wrong; a wrong answer stays wrong.
async fn settle(
    config: &Config,
    event: &VerifyAuthChallengeEvent,
    store: &impl StateStore,
    judged: Result<Passed, Wrong>,
    now: u64,
) -> Verdict {
    let Some(state) = &config.state else {
        return judged.map(|p| p.step);
    };
    let header = &event.cognito_event_user_pools_header;
    let user = user_key(
        &state.key,
        header.user_pool_id.as_deref().unwrap_or_default(),
        header.user_name.as_deref().unwrap_or_default(),
    );
    let verdict = match judged {
        Ok(passed) => match store
            .admit(&user, passed.token.as_ref(), now, &state.limits)
            .await
        {
            Ok(Admission::Admitted) => Ok(passed.step),
            Ok(Admission::Locked) => Err(Wrong::Locked),
            Ok(Admission::Replayed) => Err(Wrong::Replayed),
            Err(_) => Err(Wrong::Dependency),
        },
        Err(why) => Err(why),
    };
    if let Err(why) = verdict
        && why.counts_as_failure()
        && store
            .record_failure(&user, now, &state.limits)
            .await
            .is_err()
    {
        tracing::warn!(
            trigger = "verify",
            "the state store failed; a wrong answer was not counted"
        );
    }
    verdict
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
    let answer = answer_text(event).ok_or(Wrong::BadAnswer)?;
    let unknown = event.request.user_not_found;
    match step {
        Step::EmailOtp | Step::SmsOtp => {
            let code = params.get(private::CODE).ok_or(Wrong::MissingParameters)?;
            let issued_at: u64 = params
                .get(private::ISSUED_AT)
                .and_then(|t| t.parse().ok())
                .ok_or(Wrong::MissingParameters)?;
            // Compare first, in constant time, so timing says nothing about expiry or decoys.
            let matches: bool = answer.trim().as_bytes().ct_eq(code.as_bytes()).into();
            if unknown {
                return Err(Wrong::Decoy);
            }
            let from_future = issued_at > now.saturating_add(MAX_ISSUE_SKEW_SECONDS);
            if from_future || now > issued_at.saturating_add(config.otp_ttl_seconds) {
                return Err(Wrong::Expired);
            }
            if matches {
                Ok(step.into())
            } else {
                Err(Wrong::Mismatch)
            }
        }
        // CAPTCHA and account choice hold no secret of the user: the decoy checks them like a
        // real round, so a correct solution cannot reveal that a user name is unknown.
        Step::Captcha => match captcha.siteverify(answer).await {
            Ok(true) => Ok(step.into()),
            Ok(false) => Err(Wrong::CaptchaRejected),
            Err(_) => Err(Wrong::Dependency),
        },
        Step::SelectAccount => {
            let offered = params.get(private::ACCOUNTS).map(String::as_str);
            let accounts = parse_accounts(offered).ok_or(Wrong::Mismatch)?;
            if !accounts.contains_key(answer) {
                return Err(Wrong::Mismatch);
            }
            // With the account claim on, the choice is recorded for this sign-in (named by the
            // client's sign-in id) so Pre Token Generation can put it in the tokens.
            let choice = match (&config.account_claim, &config.state) {
                (Some(_), Some(state)) => {
                    let id = sign_in_id(&event.request.client_metadata).ok_or(Wrong::NoSignInId)?;
                    let header = &event.cognito_event_user_pools_header;
                    Some(OneTime {
                        key: choice_key(
                            &state.key,
                            header.user_pool_id.as_deref().unwrap_or_default(),
                            header.user_name.as_deref().unwrap_or_default(),
                            id,
                        ),
                        expires_at: now.saturating_add(CHOICE_TTL_SECONDS),
                        value: Some(answer.to_owned()),
                    })
                }
                _ => None,
            };
            Ok(Passed {
                step,
                token: choice,
            })
        }
        Step::SignedToken => {
            let settings = config.signed_token.as_ref().ok_or(Wrong::UnknownStep)?;
            let kid = token_kid(answer).map_err(Wrong::Token)?;
            let key = keys
                .key(kid.as_deref(), now)
                .await
                .ok_or(Wrong::Token(TokenRejection::UnknownKey))?;
            let subject = event
                .request
                .user_attributes
                .get("sub")
                .map_or("", String::as_str);
            let rules = TokenRules {
                subject,
                issuer: settings.issuer.as_deref(),
                audience: settings.audience.as_deref(),
            };
            let facts = verify_token(answer, &key, &rules, now).map_err(Wrong::Token)?;
            if unknown {
                return Err(Wrong::Decoy);
            }
            // With a state store, a token is good for one sign-in: it must name itself.
            let token = match &config.state {
                None => None,
                Some(state) => {
                    let id = facts.id.ok_or(Wrong::Token(TokenRejection::NoTokenId))?;
                    Some(OneTime {
                        key: token_key(&state.key, &facts.issuer, &id),
                        expires_at: facts.expires_at,
                        value: None,
                    })
                }
            };
            Ok(Passed { step, token })
        }
        // A pick holds no secret: the decoy checks it like a real one.
        Step::Choose => {
            let offered = params
                .get(private::OPTIONS)
                .and_then(|o| choice::parse_options(o))
                .ok_or(Wrong::MissingParameters)?;
            choice::check(answer, &offered, &event.request.client_metadata)
                .map(|_| step.into())
                .ok_or(Wrong::NotOffered)
        }
        Step::Password => Err(Wrong::UnknownStep),
    }
}
