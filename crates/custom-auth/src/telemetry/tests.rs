//! The metric lines are valid EMF with bounded dimensions and no personal data; every audit
//! event has its fields and nothing secret; the triggers' outcomes give the counts and events
//! operators act on.

use std::collections::HashSet;

use serde_json::Value;

use super::*;
use crate::config::Step;
use crate::error::AuthError;
use crate::events::{CreateAuthChallengeEvent, DefineAuthChallengeEvent, VerifyAuthChallengeEvent};
use crate::flow::{Decision, FailReason};
use crate::ports::DependencyError;
use crate::steps::answer::{LinkRejection, Wrong};
use crate::steps::round::Created;
use crate::store::MemoryStore;
use crate::testing::{config_with, fakes, fixture};
use crate::triggers::report::{self as facts, create_reason, wrong_reason};
use crate::triggers::verify::{TokenKeys, Verified, verified};

const NOW_MS: u64 = 1_796_500_000_123;

/// What the fixtures know of Jane, none of which may reach a metric.
const PERSONAL: [&str; 6] = [
    "jane",
    "jane@example.com",
    "+15555550123",
    "a1b2c3d4-5e6f-4a0b-9c8d-7e6f5a4b3c2d",
    "482914",
    "XXXX.DUMMY.TOKEN.XXXX",
];

fn on() -> Telemetry {
    Telemetry::from_lookup(|_| None).unwrap()
}

fn stateful() -> crate::Config {
    config_with(
        "email-otp",
        &[
            ("AUTH_STATE_TABLE", "auth-state"),
            ("AUTH_STATE_KEY", "state-key-for-tests-0123456789abcdef"),
            ("LOCKOUT_AFTER_FAILURES", "4"),
            ("LOCKOUT_WINDOW_SECONDS", "200"),
        ],
    )
}

/// The values each dimension may take: closed lists.
fn allowed(dimension: &str) -> HashSet<String> {
    let mut values: Vec<String> = match dimension {
        "Function" => ["define", "create", "verify", "pre-token", "account-api"]
            .map(String::from)
            .to_vec(),
        "Step" => Step::ALL
            .iter()
            .map(|s| s.name().to_owned())
            .chain(["unknown".to_owned()])
            .collect(),
        "Channel" => vec!["email".into(), "sms".into()],
        "Dependency" => vec!["dynamodb".into(), "ses".into(), "sns".into()],
        "Reason" => all_failures()
            .into_iter()
            .map(|r| r.to_owned())
            .chain(all_wrongs().into_iter().map(|w| wrong_reason(w).to_owned()))
            .collect(),
        other => panic!("unexpected dimension {other}"),
    };
    values.sort();
    values.into_iter().collect()
}

fn all_failures() -> Vec<&'static str> {
    let mut reasons: Vec<&str> = [
        FailReason::OutOfPlace,
        FailReason::PasswordRejected,
        FailReason::AttemptsExhausted,
        FailReason::UnknownUser,
        FailReason::NotFromCognito,
        FailReason::UnknownClient,
    ]
    .iter()
    .map(|r| r.as_str())
    .collect();
    reasons.extend(all_errors().iter().map(create_reason));
    reasons
}

fn all_errors() -> Vec<AuthError> {
    vec![
        AuthError::NotFromCognito,
        AuthError::UnexpectedChallenge,
        AuthError::UnknownClient,
        AuthError::NoChosenStep,
        AuthError::SessionOutOfPlace,
        AuthError::TamperedSession,
        AuthError::Misconfigured,
        AuthError::Delivery(DependencyError::Timeout),
        AuthError::TooManyCodes,
        AuthError::Locked,
        AuthError::State(DependencyError::Failed),
        AuthError::NoSignInId,
        AuthError::NoChoice,
    ]
}

fn all_wrongs() -> Vec<Wrong> {
    vec![
        Wrong::BadAnswer,
        Wrong::NotFromCognito,
        Wrong::UnknownClient,
        Wrong::UnknownStep,
        Wrong::MissingParameters,
        Wrong::Decoy,
        Wrong::Mismatch,
        Wrong::NotOffered,
        Wrong::Expired,
        Wrong::CaptchaRejected,
        Wrong::Dependency,
        Wrong::Locked,
        Wrong::Replayed,
        Wrong::NoSignInId,
        Wrong::LinkRequested,
        Wrong::Link(LinkRejection::Malformed),
    ]
}

/// Every report the three triggers can make from the fixtures, by outcome.
fn every_report() -> Vec<Report> {
    let config = stateful();
    let mut reports = Vec::new();
    let define: DefineAuthChallengeEvent = fixture("define/email-otp-final.json");
    let mut decisions = vec![
        Decision::IssueTokens,
        Decision::Challenge {
            name: "CUSTOM_CHALLENGE",
            step: Some(Step::EmailOtp),
            attempt: 1,
        },
    ];
    decisions.extend(
        [
            FailReason::OutOfPlace,
            FailReason::PasswordRejected,
            FailReason::AttemptsExhausted,
            FailReason::UnknownUser,
            FailReason::NotFromCognito,
            FailReason::UnknownClient,
        ]
        .map(Decision::Fail),
    );
    reports.extend(decisions.iter().map(|d| facts::define(&define, d)));
    let create: CreateAuthChallengeEvent = fixture("create/email-otp-first.json");
    for step in Step::ALL {
        for (sent, decoy) in [(false, false), (true, false), (true, true), (false, true)] {
            let created = Created {
                step,
                attempt: 1,
                sent,
                decoy,
            };
            reports.push(facts::create(&config, &create, &Ok(created)));
        }
    }
    for error in all_errors() {
        reports.push(facts::create(&config, &create, &Err(error)));
    }
    let verify: VerifyAuthChallengeEvent = fixture("verify/email-otp-wrong.json");
    for step in [None, Some(Step::EmailOtp), Some(Step::MagicLink)] {
        for verdict in all_wrongs()
            .into_iter()
            .map(Err)
            .chain(Step::ALL.iter().map(|s| Ok(*s)))
        {
            for lockout_until in [None, Some(1_796_500_200)] {
                let v = Verified {
                    verdict,
                    step,
                    lockout_until,
                };
                reports.push(facts::verify(&config, &verify, &v));
            }
        }
    }
    let mut timed = Report::new(Function::PreToken);
    timed.calls = vec![
        Call {
            dependency: Dependency::Store,
            millis: 3.25,
            failed: false,
        },
        Call {
            dependency: Dependency::Store,
            millis: 2000.4,
            failed: true,
        },
        Call {
            dependency: Dependency::Sms,
            millis: 80.0,
            failed: false,
        },
    ];
    reports.push(timed);
    reports
}

/// Checks one line against the EMF specification's rules, and the dimensions' closed lists;
/// returns the metric names and values it publishes.
fn check_emf(line: &str) -> Vec<(String, Value)> {
    let root: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{line}: {e}"));
    let aws = &root["_aws"];
    assert_eq!(aws["Timestamp"], NOW_MS, "{line}");
    let directives = aws["CloudWatchMetrics"].as_array().expect("directives");
    assert!(!directives.is_empty(), "{line}");
    let mut published = Vec::new();
    for directive in directives {
        assert_eq!(directive["Namespace"], "CustomAuth", "{line}");
        let sets = directive["Dimensions"].as_array().expect("dimension sets");
        assert!(!sets.is_empty(), "{line}");
        for set in sets {
            let set = set.as_array().expect("a dimension set");
            assert!(set.len() <= 30, "{line}");
            for dimension in set {
                let dimension = dimension.as_str().expect("a dimension name");
                let value = root[dimension]
                    .as_str()
                    .unwrap_or_else(|| panic!("{dimension} has no string value: {line}"));
                assert!(
                    allowed(dimension).contains(value),
                    "{dimension}={value} is not in its closed list: {line}"
                );
            }
        }
        for metric in directive["Metrics"].as_array().expect("metrics") {
            let name = metric["Name"].as_str().expect("a metric name");
            assert!(
                ["Count", "Milliseconds"].contains(&metric["Unit"].as_str().unwrap_or("")),
                "{line}"
            );
            let value = &root[name];
            let numbers = match value {
                Value::Array(values) => values.iter().all(Value::is_number) && !values.is_empty(),
                other => other.is_number(),
            };
            assert!(numbers, "{name} is not a number or a list of them: {line}");
            published.push((name.to_owned(), value.clone()));
        }
    }
    for personal in PERSONAL {
        assert!(
            !line.contains(personal),
            "{personal} in a metric line: {line}"
        );
    }
    published
}

#[test]
fn every_metric_line_is_valid_emf_with_bounded_dimensions_and_nothing_personal() {
    let telemetry = on();
    let mut names = HashSet::new();
    let mut lines = 0;
    for report in every_report() {
        for line in emf::lines(&telemetry.namespace, &report, NOW_MS) {
            lines += 1;
            names.extend(check_emf(&line).into_iter().map(|(n, _)| n));
        }
    }
    // Every metric is made by some outcome, so every alarm and graph has data to watch.
    for metric in Metric::ALL {
        assert!(
            names.contains(metric.name()),
            "{} never written",
            metric.name()
        );
    }
    for name in ["DependencyLatency", "DependencyErrors"] {
        assert!(names.contains(name), "{name} never written");
    }
    assert!(lines > 200, "{lines}");
}

#[test]
fn each_outcome_counts_what_operators_act_on() {
    let config = stateful();
    let count = |report: &Report| -> Vec<(String, Value)> {
        emf::lines("CustomAuth", report, NOW_MS)
            .iter()
            .flat_map(|l| check_emf(l))
            .collect()
    };
    let define: DefineAuthChallengeEvent = fixture("define/email-otp-final.json");
    let tokens = facts::define(&define, &Decision::IssueTokens);
    assert_eq!(count(&tokens), [("SignInsSucceeded".into(), 1.into())]);
    let failed = facts::define(&define, &Decision::Fail(FailReason::AttemptsExhausted));
    assert_eq!(count(&failed), [("SignInsFailed".into(), 1.into())]);
    assert_eq!(failed.reason, Some("attempts-exhausted"));
    let going_on = Decision::Challenge {
        name: "CUSTOM_CHALLENGE",
        step: Some(Step::EmailOtp),
        attempt: 2,
    };
    assert!(count(&facts::define(&define, &going_on)).is_empty());

    let create: CreateAuthChallengeEvent = fixture("create/sms-otp-first.json");
    let sms = facts::create(
        &config,
        &create,
        &Ok(Created {
            step: Step::SmsOtp,
            attempt: 1,
            sent: true,
            decoy: false,
        }),
    );
    assert_eq!(sms.channel, Some("sms"));
    assert_eq!(
        count(&sms),
        [
            ("ChallengesCreated".into(), 1.into()),
            ("MessagesSent".into(), 1.into())
        ]
    );
    let limited = facts::create(&config, &create, &Err(AuthError::TooManyCodes));
    assert_eq!(limited.reason, Some("send-limit"));
    assert_eq!(count(&limited), [("SignInsFailed".into(), 1.into())]);
    assert_eq!(limited.audit[0].event, AuditEvent::SendLimitHit);
    let decoy = facts::create(
        &config,
        &create,
        &Ok(Created {
            step: Step::SmsOtp,
            attempt: 1,
            sent: false,
            decoy: true,
        }),
    );
    assert_eq!(
        count(&decoy),
        [
            ("ChallengesCreated".into(), 1.into()),
            ("DecoyRounds".into(), 1.into())
        ]
    );
    for (error, reason) in [
        (
            AuthError::State(DependencyError::Timeout),
            "store-unavailable",
        ),
        (
            AuthError::Delivery(DependencyError::Failed),
            "delivery-failed",
        ),
        (AuthError::Locked, "locked"),
    ] {
        assert_eq!(
            facts::create(&config, &create, &Err(error)).reason,
            Some(reason)
        );
    }
}

fn fields(line: &str) -> serde_json::Map<String, Value> {
    match serde_json::from_str(line) {
        Ok(Value::Object(map)) => map,
        other => panic!("{line}: {other:?}"),
    }
}

#[test]
fn every_audit_event_has_its_fields_and_nothing_secret() {
    let mut seen = HashSet::new();
    for report in every_report() {
        for audit in &report.audit {
            let line = audit.line(NOW_MS / 1000);
            let f = fields(&line);
            assert_eq!(f["audit"], "custom-auth", "{line}");
            assert_eq!(f["event"], audit.event.name(), "{line}");
            assert_eq!(f["time"], "2026-12-05T19:46:40Z", "{line}");
            assert_eq!(f["pool"], "us-east-1_Ex4mPl3Aa", "{line}");
            assert!(f["client"].is_string(), "{line}");
            assert!(f["outcome"].is_string(), "{line}");
            // A user of the pool by `sub`; a name that is no user, by its keyed hash, except
            // in Define's line, which holds no key (it reads no secret, to start fast):
            // Create's and Verify's lines of that sign-in carry the hash.
            let define_unknown = f["event"] == "sign_in_failed" && f["reason"] == "unknown-user";
            assert!(
                define_unknown
                    || f.get("sub").is_some_and(Value::is_string)
                    || f.get("userKey")
                        .is_some_and(|k| k.as_str().is_some_and(|k| k.starts_with("u#"))),
                "{line}"
            );
            for secret in [
                "jane@example.com",
                "+15555550123",
                "482914",
                "482913",
                "\"jane\"",
            ] {
                assert!(!line.contains(secret), "{secret} in {line}");
            }
            seen.insert(audit.event);
        }
    }
    for event in [
        AuditEvent::SignInSucceeded,
        AuditEvent::SignInFailed,
        AuditEvent::LockoutBegun,
        AuditEvent::MagicLinkSent,
        AuditEvent::MagicLinkRedeemed,
        AuditEvent::AccountChosen,
        AuditEvent::SendLimitHit,
    ] {
        assert!(
            seen.contains(&event),
            "{} never made by a trigger",
            event.name()
        );
    }
    // Names are stable and distinct: queries and alarms filter on them.
    let names: HashSet<&str> = AuditEvent::ALL.iter().map(|e| e.name()).collect();
    assert_eq!(names.len(), AuditEvent::ALL.len());
}

#[test]
fn a_name_that_is_no_user_is_audited_by_its_keyed_hash_only() {
    let config = stateful();
    let mut create: CreateAuthChallengeEvent = fixture("create/unknown-user-email-otp.json");
    create.request.user_attributes.clear();
    let report = facts::create(&config, &create, &Err(AuthError::TooManyCodes));
    let line = report.audit[0].line(0);
    let f = fields(&line);
    let user = create
        .cognito_event_user_pools_header
        .user_name
        .clone()
        .unwrap_or_default();
    let state = config.state.as_ref().unwrap();
    assert_eq!(
        f["userKey"],
        crate::keys::user_key(&state.key, "us-east-1_Ex4mPl3Aa", &user)
    );
    assert!(f.get("sub").is_none(), "{line}");
    assert!(!line.contains(&format!("\"{user}\"")), "{line}");
}

#[test]
fn the_wrong_answer_that_reaches_the_limit_begins_one_lockout() {
    let config = stateful();
    let store = MemoryStore::default();
    let captcha = fakes::Captcha::default();
    let keys = TokenKeys::new(&config, crate::ports::NoJwks);
    let now = 1_767_225_610;
    let mut begun = Vec::new();
    for k in 0..6 {
        let mut event: VerifyAuthChallengeEvent = fixture("verify/email-otp-wrong.json");
        let v = block_on(verified(
            &config,
            &mut event,
            &captcha,
            &keys,
            &store,
            now + k,
        ));
        assert!(v.verdict.is_err());
        let report = facts::verify(&config, &event, &v);
        let lockouts: Vec<&Audit> = report
            .audit
            .iter()
            .filter(|a| a.event == AuditEvent::LockoutBegun)
            .collect();
        assert_eq!(
            lockouts.len(),
            usize::from(report.counts.contains(&Metric::LockoutsBegun))
        );
        if let Some(audit) = lockouts.first() {
            let f = fields(&audit.line(now + k));
            assert_eq!(f["sub"], "a1b2c3d4-5e6f-4a0b-9c8d-7e6f5a4b3c2d");
            assert_eq!(f["until"], crate::encoding::rfc3339(now + 200));
            begun.push(k);
        }
    }
    // The fourth wrong answer (LOCKOUT_AFTER_FAILURES) begins it; the locked ones after it
    // begin nothing.
    assert_eq!(begun, [3]);
}

#[test]
fn account_api_changes_and_refusals_are_audited() {
    use crate::http_api::{ApiRequest, ApiResponse};
    use std::collections::HashMap;
    let claims: HashMap<String, String> = [
        ("token_use", "access"),
        ("username", "jane"),
        ("sub", "a1b2c3d4-5e6f-4a0b-9c8d-7e6f5a4b3c2d"),
        (
            "iss",
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Ex4mPl3Aa",
        ),
        ("client_id", "4k1s7exampleclientid0123"),
    ]
    .iter()
    .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
    .collect();
    let request = ApiRequest {
        method: "POST",
        path: "/passkeys",
        claims: &claims,
        token: "not-a-real-token",
        body: b"{}",
    };
    let response = |status: u16, code: &str| ApiResponse {
        status,
        body: if code.is_empty() {
            String::new()
        } else {
            format!("{{\"error\":\"x\",\"code\":\"{code}\"}}")
        },
        audit: None,
    };
    /// Route, status, error code, and the event and outcome it is (if any).
    type Case<'a> = (&'a str, u16, &'a str, Option<(AuditEvent, &'a str)>);
    let cases: &[Case] = &[
        ("finish", 201, "", Some((AuditEvent::PasskeyAdded, "done"))),
        (
            "delete",
            204,
            "",
            Some((AuditEvent::PasskeyRemoved, "done")),
        ),
        (
            "devices-remember",
            201,
            "",
            Some((AuditEvent::DeviceRemembered, "done")),
        ),
        (
            "devices-forget",
            204,
            "",
            Some((AuditEvent::DeviceForgotten, "done")),
        ),
        (
            "devices-forget-all",
            204,
            "",
            Some((AuditEvent::DeviceForgotten, "done")),
        ),
        (
            "start",
            403,
            "sign-in-again",
            Some((AuditEvent::ChangeRefused, "refused")),
        ),
        (
            "devices-remember",
            401,
            "signed-out",
            Some((AuditEvent::ChangeRefused, "refused")),
        ),
        ("finish", 400, "bad-request", None),
        ("list", 401, "signed-out", None),
        ("devices-list", 200, "", None),
        ("sign-in-options", 200, "", None),
    ];
    for (route, status, code, want) in cases {
        let got = crate::http_api::audit(&request, route, &response(*status, code));
        assert_eq!(
            got.as_ref().map(|a| (a.event, a.outcome)),
            *want,
            "{route} {status}"
        );
        if let Some(audit) = got {
            let line = audit.line(0);
            let f = fields(&line);
            assert_eq!(f["sub"], "a1b2c3d4-5e6f-4a0b-9c8d-7e6f5a4b3c2d");
            assert_eq!(f["client"], "4k1s7exampleclientid0123");
            assert_eq!(f["route"], *route);
            assert!(
                !line.contains("not-a-real-token") && !line.contains("\"jane\""),
                "{line}"
            );
        }
    }
    let refused =
        crate::http_api::audit(&request, "start", &response(403, "sign-in-again")).unwrap();
    assert_eq!(fields(&refused.line(0))["reason"], "stale-sign-in");
    let revoked = crate::http_api::audit(&request, "delete", &response(401, "signed-out")).unwrap();
    assert_eq!(fields(&revoked.line(0))["reason"], "revoked-token");
}

#[test]
fn settings_have_defaults_and_refuse_by_name() {
    let read = |pairs: &[(&str, &str)]| {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Telemetry::from_lookup(move |name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        })
    };
    assert_eq!(
        read(&[]).unwrap(),
        Telemetry {
            metrics: true,
            namespace: DEFAULT_NAMESPACE.into()
        }
    );
    let off = read(&[("METRICS", "OFF"), ("METRICS_NAMESPACE", "CustomAuth/prod")]).unwrap();
    assert_eq!(
        (off.metrics, off.namespace.as_str()),
        (false, "CustomAuth/prod")
    );
    for (pairs, var) in [
        (&[("METRICS", "yes")][..], "METRICS"),
        (
            &[("METRICS_NAMESPACE", "AWS/Lambda")][..],
            "METRICS_NAMESPACE",
        ),
        (&[("METRICS_NAMESPACE", "a{b}")][..], "METRICS_NAMESPACE"),
    ] {
        let err = read(pairs).unwrap_err().to_string();
        assert!(err.starts_with(var), "{err}");
    }
    // Off: no metric line, and the audit line still written.
    let config = stateful();
    let create: CreateAuthChallengeEvent = fixture("create/email-otp-first.json");
    let report = facts::create(&config, &create, &Err(AuthError::TooManyCodes));
    let lines = off.lines(&report, NOW_MS);
    assert_eq!(lines.len(), 1);
    assert!(
        lines[0].contains("\"event\":\"send_limit_hit\""),
        "{lines:?}"
    );
    assert_eq!(on().lines(&report, NOW_MS).len(), 2);
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}
