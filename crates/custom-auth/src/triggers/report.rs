//! From what a trigger did to its metrics and audit events ([`Report`], of
//! [`crate::telemetry`]): the counts, the closed-list dimensions and the audit events of each
//! trigger (the account API's are made in [`crate::http_api`]). Pure; it sits with the triggers
//! because it reads what they return; the binaries add the dependency calls they timed.

use std::collections::HashMap;

use crate::config::{Config, Step};
use crate::encoding::rfc3339;
use crate::error::AuthError;
use crate::events::{CreateAuthChallengeEvent, DefineAuthChallengeEvent, VerifyAuthChallengeEvent};
use crate::flow::{Decision, FailReason};
use crate::keys::user_key;
use crate::steps::answer::Wrong;
use crate::steps::round::Created;
use crate::telemetry::{Audit, AuditEvent, Function, Metric, Report, Subject};
use crate::triggers::verify::Verified;

/// The user an event of a trigger is about: the `sub` Cognito passes for a user; for a name
/// that is no user, the state store's keyed hash (when there is a store to hash with).
fn subject(
    config: Option<&Config>,
    pool: &str,
    user: &str,
    attributes: &HashMap<String, String>,
    user_not_found: bool,
) -> Subject {
    if !user_not_found && let Some(sub) = attributes.get("sub").filter(|s| !s.is_empty()) {
        return Subject::Sub(sub.clone());
    }
    match config.and_then(|c| c.state.as_ref()) {
        Some(state) => Subject::Key(user_key(&state.key, pool, user)),
        None => Subject::Unknown,
    }
}

/// An audit event of a trigger, with the header's pool and client.
fn event(
    event: AuditEvent,
    outcome: &'static str,
    pool: Option<&str>,
    client: Option<&str>,
    subject: &Subject,
) -> Audit {
    Audit {
        event,
        outcome,
        pool: pool.unwrap_or_default().to_owned(),
        client: client.map(str::to_owned),
        subject: subject.clone(),
        detail: Vec::new(),
    }
}

/// Define's report: a sign-in that ends counts as succeeded or failed (with the reason), and
/// is an audit event; a decision to go on is neither.
pub fn define(e: &DefineAuthChallengeEvent, decision: &Decision) -> Report {
    let mut report = Report::new(Function::Define);
    let (metric, audit, outcome, reason) = match decision {
        Decision::Challenge { .. } => return report,
        Decision::IssueTokens => (
            Metric::SignInsSucceeded,
            AuditEvent::SignInSucceeded,
            "done",
            None,
        ),
        Decision::Fail(reason) => (
            Metric::SignInsFailed,
            AuditEvent::SignInFailed,
            "failed",
            Some(reason.as_str()),
        ),
    };
    report.counts.push(metric);
    report.reason = reason;
    let header = &e.cognito_event_user_pools_header;
    let who = subject(
        None,
        "",
        "",
        &e.request.user_attributes,
        e.request.user_not_found || matches!(decision, Decision::Fail(FailReason::UnknownUser)),
    );
    let mut audit = event(
        audit,
        outcome,
        header.user_pool_id.as_deref(),
        header.caller_context.client_id.as_deref(),
        &who,
    );
    if let Some(reason) = reason {
        audit.detail.push(("reason", reason.to_owned()));
    }
    report.audit.push(audit);
    report
}

/// The channel a step kind's messages go by.
fn channel(step: Step) -> Option<&'static str> {
    match step {
        Step::EmailOtp | Step::MagicLink => Some("email"),
        Step::SmsOtp => Some("sms"),
        _ => None,
    }
}

/// Why Create refused to go on, as the `Reason` of `SignInsFailed`.
pub fn create_reason(error: &AuthError) -> &'static str {
    match error {
        AuthError::TooManyCodes => "send-limit",
        AuthError::Locked => "locked",
        AuthError::State(_) => "store-unavailable",
        AuthError::Delivery(_) => "delivery-failed",
        AuthError::Misconfigured => "misconfigured",
        AuthError::NotFromCognito
        | AuthError::UnexpectedChallenge
        | AuthError::UnknownClient
        | AuthError::NoChosenStep
        | AuthError::SessionOutOfPlace
        | AuthError::TamperedSession
        | AuthError::NoSignInId
        | AuthError::NoChoice => "refused",
    }
}

/// Create's report: the round built (its step, a message sent and by which channel, a decoy),
/// or the sign-in failed and why; a magic link sent and a send limit reached are audit events.
pub fn create(
    config: &Config,
    e: &CreateAuthChallengeEvent,
    result: &Result<Created, AuthError>,
) -> Report {
    let mut report = Report::new(Function::Create);
    let header = &e.cognito_event_user_pools_header;
    let (pool, client) = (
        header.user_pool_id.as_deref(),
        header.caller_context.client_id.as_deref(),
    );
    let who = || {
        subject(
            Some(config),
            pool.unwrap_or_default(),
            header.user_name.as_deref().unwrap_or_default(),
            &e.request.user_attributes,
            e.request.user_not_found,
        )
    };
    match result {
        Ok(created) => {
            report.counts.push(Metric::ChallengesCreated);
            report.step = Some(created.step.name());
            if created.sent {
                report.channel = channel(created.step);
                report.counts.push(Metric::MessagesSent);
                if created.step == Step::MagicLink && !created.decoy {
                    report.audit.push(event(
                        AuditEvent::MagicLinkSent,
                        "done",
                        pool,
                        client,
                        &who(),
                    ));
                }
            }
            if created.decoy {
                report.counts.push(Metric::DecoyRounds);
            }
        }
        Err(error) => {
            report.counts.push(Metric::SignInsFailed);
            report.reason = Some(create_reason(error));
            if *error == AuthError::TooManyCodes {
                report.audit.push(event(
                    AuditEvent::SendLimitHit,
                    "refused",
                    pool,
                    client,
                    &who(),
                ));
            }
        }
    }
    report
}

/// Why Verify judged an answer wrong, as the `Reason` of `AnswersWrong`.
pub fn wrong_reason(why: Wrong) -> &'static str {
    match why {
        Wrong::BadAnswer => "bad-answer",
        Wrong::NotFromCognito => "no-trigger-source",
        Wrong::UnknownClient => "unknown-app-client",
        Wrong::UnknownStep => "unknown-step",
        Wrong::MissingParameters => "missing-parameters",
        Wrong::Decoy => "decoy",
        Wrong::Mismatch => "mismatch",
        Wrong::NotOffered => "not-offered",
        Wrong::Expired => "expired",
        Wrong::CaptchaRejected => "captcha-rejected",
        Wrong::Dependency => "dependency",
        Wrong::Token(_) => "token-rejected",
        Wrong::Locked => "locked",
        Wrong::Replayed => "replayed",
        Wrong::NoSignInId => "no-sign-in-id",
        Wrong::LinkRequested => "link-requested",
        Wrong::Link(_) => "link-rejected",
        Wrong::Passkey(_) => "passkey-rejected",
        Wrong::Device(_) => "device-rejected",
    }
}

/// Verify's report: the answer right or wrong (step kind, reason), a lockout begun; a magic
/// link redeemed, an account chosen and a lockout begun are audit events.
pub fn verify(config: &Config, e: &VerifyAuthChallengeEvent, verified: &Verified) -> Report {
    let mut report = Report::new(Function::Verify);
    let header = &e.cognito_event_user_pools_header;
    let (pool, client) = (
        header.user_pool_id.as_deref(),
        header.caller_context.client_id.as_deref(),
    );
    let who = subject(
        Some(config),
        pool.unwrap_or_default(),
        header.user_name.as_deref().unwrap_or_default(),
        &e.request.user_attributes,
        e.request.user_not_found,
    );
    report.step = Some(verified.step.map_or("unknown", Step::name));
    match verified.verdict {
        Ok(step) => {
            report.counts.push(Metric::AnswersRight);
            let redeemed = match step {
                Step::MagicLink => Some(AuditEvent::MagicLinkRedeemed),
                Step::SelectAccount => Some(AuditEvent::AccountChosen),
                _ => None,
            };
            if let Some(redeemed) = redeemed {
                report
                    .audit
                    .push(event(redeemed, "done", pool, client, &who));
            }
        }
        Err(why) => {
            report.counts.push(Metric::AnswersWrong);
            report.reason = Some(wrong_reason(why));
        }
    }
    if let Some(until) = verified.lockout_until {
        report.counts.push(Metric::LockoutsBegun);
        let mut audit = event(AuditEvent::LockoutBegun, "locked", pool, client, &who);
        audit.detail.push(("until", rfc3339(until)));
        report.audit.push(audit);
    }
    report
}
