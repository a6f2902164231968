//! The flow engine: where a session stands in the configured flow, and what Define answers.
//!
//! Cognito hands every trigger the whole session history. Instead of trusting any counter,
//! each trigger walks that history against the flow from the start; an entry that does not fit
//! exactly where it stands ends the sign-in.

use crate::config::{Config, Flow, Step};
use crate::events::{ChallengeResult, DefineAuthChallengeEvent};

/// The built-in challenge name of an SRP start.
pub const SRP_A: &str = "SRP_A";
/// The built-in challenge name of an SRP password proof.
pub const PASSWORD_VERIFIER: &str = "PASSWORD_VERIFIER";
/// The challenge name of every step this project builds.
pub const CUSTOM_CHALLENGE: &str = "CUSTOM_CHALLENGE";

/// Where a session stands.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Position {
    /// SRP has started; Cognito must now check the password.
    PasswordVerifier,
    /// A custom step awaits an answer.
    Custom {
        /// The step.
        step: Step,
        /// 1-based round of this step (1 on the first try).
        attempt: u32,
        /// Index in the session of the first round of this step, on a retry.
        first_round: Option<usize>,
    },
    /// Every step has passed.
    Complete,
    /// The sign-in must fail.
    Failed(FailReason),
}

/// Why a sign-in fails. Logged; never sent to the client, which only learns that it failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailReason {
    /// An entry is not the one the flow expects at its place (wrong name, wrong tag, an extra
    /// round, a null entry).
    OutOfPlace,
    /// Cognito's SRP check failed or never started.
    PasswordRejected,
    /// A step had its last allowed wrong answer.
    AttemptsExhausted,
    /// The user does not exist (`userNotFound`); the decoy flow ends here.
    UnknownUser,
    /// The event has no `triggerSource`: it did not come from Cognito's sign-in loop.
    NotFromCognito,
}

impl FailReason {
    /// A short, log-friendly name.
    pub fn as_str(self) -> &'static str {
        match self {
            FailReason::OutOfPlace => "session-out-of-place",
            FailReason::PasswordRejected => "password-rejected",
            FailReason::AttemptsExhausted => "attempts-exhausted",
            FailReason::UnknownUser => "unknown-user",
            FailReason::NotFromCognito => "no-trigger-source",
        }
    }
}

/// The tag at the start of a metadata string (`TAG` or `TAG:...`), if any.
pub fn metadata_tag(metadata: &str) -> &str {
    metadata.split_once(':').map_or(metadata, |(tag, _)| tag)
}

fn is(entry: &ChallengeResult, name: &str) -> bool {
    entry.challenge_name.as_deref() == Some(name)
}

/// Walks `session` against `flow`, allowing `max_attempts` answers per custom step.
pub fn walk(flow: &Flow, session: &[Option<ChallengeResult>], max_attempts: u32) -> Position {
    let mut rounds = session.iter().enumerate().peekable();
    for &step in flow.steps() {
        let Some(tag) = step.tag() else {
            // Password: `SRP_A` (true) then `PASSWORD_VERIFIER` (true).
            match rounds.next() {
                Some((_, Some(e))) if is(e, SRP_A) && e.challenge_result => {}
                Some((_, Some(e))) if is(e, SRP_A) => {
                    return Position::Failed(FailReason::PasswordRejected);
                }
                None => return Position::Failed(FailReason::PasswordRejected),
                Some(_) => return Position::Failed(FailReason::OutOfPlace),
            }
            match rounds.next() {
                None => return Position::PasswordVerifier,
                Some((_, Some(e))) if is(e, PASSWORD_VERIFIER) && e.challenge_result => continue,
                Some((_, Some(e))) if is(e, PASSWORD_VERIFIER) => {
                    return Position::Failed(FailReason::PasswordRejected);
                }
                Some(_) => return Position::Failed(FailReason::OutOfPlace),
            }
        };
        let mut answered = 0u32;
        let mut first_round = None;
        loop {
            let Some((index, entry)) = rounds.next() else {
                return Position::Custom {
                    step,
                    attempt: answered + 1,
                    first_round,
                };
            };
            let Some(entry) = entry else {
                return Position::Failed(FailReason::OutOfPlace);
            };
            let tagged = entry
                .challenge_metadata
                .as_deref()
                .is_some_and(|m| metadata_tag(m) == tag);
            if !is(entry, CUSTOM_CHALLENGE) || !tagged {
                return Position::Failed(FailReason::OutOfPlace);
            }
            first_round.get_or_insert(index);
            answered += 1;
            if entry.challenge_result {
                break;
            }
            if answered >= max_attempts {
                return Position::Failed(FailReason::AttemptsExhausted);
            }
        }
    }
    if rounds.peek().is_some() {
        return Position::Failed(FailReason::OutOfPlace);
    }
    Position::Complete
}

/// What Define answers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Decision {
    /// Present this challenge next.
    Challenge {
        /// `PASSWORD_VERIFIER` or `CUSTOM_CHALLENGE`.
        name: &'static str,
        /// The step it belongs to.
        step: Step,
        /// 1-based round within the step.
        attempt: u32,
    },
    /// Every step passed: issue tokens.
    IssueTokens,
    /// End the sign-in.
    Fail(FailReason),
}

/// The Define decision: pure, over the session alone.
pub fn decide(
    config: &Config,
    session: &[Option<ChallengeResult>],
    user_not_found: bool,
) -> Decision {
    match walk(&config.flow, session, config.max_attempts) {
        Position::PasswordVerifier => Decision::Challenge {
            name: PASSWORD_VERIFIER,
            step: Step::Password,
            attempt: 1,
        },
        Position::Custom { step, attempt, .. } => Decision::Challenge {
            name: CUSTOM_CHALLENGE,
            step,
            attempt,
        },
        // An unknown user ran the decoy flow; it can only end in failure.
        Position::Complete if user_not_found => Decision::Fail(FailReason::UnknownUser),
        Position::Complete => Decision::IssueTokens,
        Position::Failed(reason) => Decision::Fail(reason),
    }
}

/// Runs the Define trigger: decides, then writes every response field so that nothing the
/// incoming event carried in `response` survives.
pub fn define(config: &Config, event: &mut DefineAuthChallengeEvent) -> Decision {
    // A wrong `triggerSource` never deserializes; a missing one is refused here.
    let decision = if event
        .cognito_event_user_pools_header
        .trigger_source
        .is_none()
    {
        Decision::Fail(FailReason::NotFromCognito)
    } else {
        decide(config, &event.request.session, event.request.user_not_found)
    };
    let response = &mut event.response;
    response.challenge_name = None;
    response.issue_tokens = false;
    response.fail_authentication = false;
    match &decision {
        Decision::Challenge { name, .. } => response.challenge_name = Some((*name).to_owned()),
        Decision::IssueTokens => response.issue_tokens = true,
        Decision::Fail(_) => response.fail_authentication = true,
    }
    match &decision {
        Decision::Challenge {
            name,
            step,
            attempt,
        } => tracing::info!(trigger = "define", step = %step, attempt, decision = name, "decided"),
        Decision::IssueTokens => {
            tracing::info!(trigger = "define", decision = "issue-tokens", "decided")
        }
        Decision::Fail(reason) => {
            tracing::info!(
                trigger = "define",
                decision = "fail",
                reason = reason.as_str(),
                "decided"
            )
        }
    }
    decision
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{config, custom, entry, null};

    #[test]
    fn decisions() {
        use Decision::*;
        use FailReason::*;
        use Step::*;
        let ch = |step, attempt| Challenge {
            name: CUSTOM_CHALLENGE,
            step,
            attempt,
        };
        let pv = Challenge {
            name: PASSWORD_VERIFIER,
            step: Password,
            attempt: 1,
        };
        type Row = (&'static str, Vec<Option<ChallengeResult>>, bool, Decision);
        let table: Vec<Row> = vec![
            ("email-otp", vec![], false, ch(EmailOtp, 1)),
            (
                "email-otp",
                vec![custom("EMAIL_OTP:1:123456", false)],
                false,
                ch(EmailOtp, 2),
            ),
            (
                "email-otp",
                vec![
                    custom("EMAIL_OTP:1:1", false),
                    custom("EMAIL_OTP:1:1", false),
                ],
                false,
                ch(EmailOtp, 3),
            ),
            (
                "email-otp",
                vec![
                    custom("EMAIL_OTP:1:1", false),
                    custom("EMAIL_OTP:1:1", false),
                    custom("EMAIL_OTP:1:1", false),
                ],
                false,
                Fail(AttemptsExhausted),
            ),
            (
                "email-otp",
                vec![
                    custom("EMAIL_OTP:1:1", false),
                    custom("EMAIL_OTP:1:1", true),
                ],
                false,
                IssueTokens,
            ),
            (
                "email-otp",
                vec![custom("EMAIL_OTP", true)],
                false,
                IssueTokens,
            ),
            (
                "email-otp",
                vec![custom("EMAIL_OTP", true)],
                true,
                Fail(UnknownUser),
            ),
            ("email-otp", vec![], true, ch(EmailOtp, 1)),
            // Wrong tag, a look-alike tag, no metadata, a built-in name, extra rounds, nulls.
            (
                "email-otp",
                vec![custom("SMS_OTP:1:1", true)],
                false,
                Fail(OutOfPlace),
            ),
            (
                "email-otp",
                vec![custom("EMAIL_OTPX", true)],
                false,
                Fail(OutOfPlace),
            ),
            (
                "email-otp",
                vec![entry(CUSTOM_CHALLENGE, true, None)],
                false,
                Fail(OutOfPlace),
            ),
            (
                "email-otp",
                vec![entry("SMS_MFA", true, Some("EMAIL_OTP"))],
                false,
                Fail(OutOfPlace),
            ),
            (
                "email-otp",
                vec![custom("EMAIL_OTP", true), custom("EMAIL_OTP", true)],
                false,
                Fail(OutOfPlace),
            ),
            ("email-otp", vec![null()], false, Fail(OutOfPlace)),
            (
                "email-otp",
                vec![entry(SRP_A, true, None)],
                false,
                Fail(OutOfPlace),
            ),
            // Password.
            ("password", vec![], false, Fail(PasswordRejected)),
            (
                "password",
                vec![entry(SRP_A, true, None)],
                false,
                pv.clone(),
            ),
            (
                "password",
                vec![entry(SRP_A, false, None)],
                false,
                Fail(PasswordRejected),
            ),
            (
                "password",
                vec![
                    entry(SRP_A, true, None),
                    entry(PASSWORD_VERIFIER, true, None),
                ],
                false,
                IssueTokens,
            ),
            (
                "password",
                vec![
                    entry(SRP_A, true, None),
                    entry(PASSWORD_VERIFIER, true, None),
                ],
                true,
                Fail(UnknownUser),
            ),
            (
                "password",
                vec![
                    entry(SRP_A, true, None),
                    entry(PASSWORD_VERIFIER, false, None),
                ],
                false,
                Fail(PasswordRejected),
            ),
            (
                "password",
                vec![entry(PASSWORD_VERIFIER, true, None)],
                false,
                Fail(OutOfPlace),
            ),
            (
                "password",
                vec![custom("EMAIL_OTP", true)],
                false,
                Fail(OutOfPlace),
            ),
            (
                "password,email-otp",
                vec![
                    entry(SRP_A, true, None),
                    entry(PASSWORD_VERIFIER, true, None),
                ],
                false,
                ch(EmailOtp, 1),
            ),
            (
                "password,email-otp",
                vec![entry(SRP_A, false, None), custom("EMAIL_OTP", true)],
                false,
                Fail(PasswordRejected),
            ),
            (
                "password,email-otp",
                vec![entry(SRP_A, true, None), custom("EMAIL_OTP", true)],
                false,
                Fail(OutOfPlace),
            ),
            (
                "password,email-otp",
                vec![
                    entry(SRP_A, true, None),
                    entry(PASSWORD_VERIFIER, true, None),
                    custom("EMAIL_OTP", true),
                ],
                false,
                IssueTokens,
            ),
            // Multi-step: metadata that claims a later step is out of place.
            (
                "captcha,select-account",
                vec![custom("SELECT_ACCOUNT", true)],
                false,
                Fail(OutOfPlace),
            ),
            (
                "captcha,select-account",
                vec![custom("CAPTCHA", false), custom("CAPTCHA", true)],
                false,
                ch(SelectAccount, 1),
            ),
            (
                "captcha,select-account",
                vec![custom("CAPTCHA", true), custom("SELECT_ACCOUNT", false)],
                false,
                ch(SelectAccount, 2),
            ),
            (
                "captcha,select-account",
                vec![custom("CAPTCHA", true), custom("SELECT_ACCOUNT", true)],
                false,
                IssueTokens,
            ),
            (
                "captcha,select-account",
                vec![custom("CAPTCHA", true), custom("CAPTCHA", true)],
                false,
                Fail(OutOfPlace),
            ),
        ];
        for (flow, session, unknown, want) in table {
            let cfg = config(flow);
            let got = decide(&cfg, &session, unknown);
            assert_eq!(
                got, want,
                "flow {flow}, session {session:?}, unknown {unknown}"
            );
        }
    }

    #[test]
    fn define_overwrites_the_response() {
        let cfg = config("email-otp");
        let mut event: DefineAuthChallengeEvent =
            crate::testing::fixture("define/email-otp-first.json");
        event.response.issue_tokens = true;
        event.response.fail_authentication = true;
        define(&cfg, &mut event);
        assert!(!event.response.issue_tokens && !event.response.fail_authentication);
        assert_eq!(
            event.response.challenge_name.as_deref(),
            Some(CUSTOM_CHALLENGE)
        );

        event.request.session = vec![custom("EMAIL_OTP", false); 3];
        event.response.issue_tokens = true;
        define(&cfg, &mut event);
        assert!(!event.response.issue_tokens && event.response.fail_authentication);
        assert_eq!(event.response.challenge_name, None);
    }
}
