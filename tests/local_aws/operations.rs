//! Operators' view end to end (issue 30): the support commands on a user locked by wrong
//! answers; the alarms and dashboards the stacks deployed; and the metric and audit lines the
//! functions wrote during the whole run.

use std::collections::BTreeSet;
use std::process::{Command, Output};

use serde_json::Value;

use super::{LocalAws, cli, local_aws, new_code_to};

/// `cognito-signin support ACTION` for `user` of `stack`, with the stack's table, key and
/// audit log group and the test's limits.
fn support(aws: &LocalAws, stack: &str, action: &str, user: &str, extra: &[&str]) -> Output {
    let s = aws.stack(stack);
    let field = |name: &str| s[name].as_str().unwrap_or_default().to_owned();
    Command::new(cli())
        .args(["support", action])
        .args(["--user-pool-id", &field("userPoolId")])
        .args(["--username", user])
        .args(["--table", &field("stateTable")])
        .args(["--key-secret", &field("stateKeyArn")])
        .args(["--send-limit", "3", "--lockout-after", "4"])
        .args(extra)
        .env("AWS_ENDPOINT_URL", aws.endpoint())
        .env("AWS_ACCESS_KEY_ID", "test")
        .env("AWS_SECRET_ACCESS_KEY", "test")
        .env("AWS_REGION", "us-east-1")
        .env("USER", "e2e-operator")
        .env_remove("AWS_PROFILE")
        .output()
        .expect("run cognito-signin support")
}

fn state(out: &Output) -> Value {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "support failed: {stderr}");
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {stderr}"))
}

/// A user of `e2e-email` locked by six wrong codes in two sign-ins is shown locked; a name
/// that is no user and a change without an audit log are refused; unlock ends the lock, its
/// audit line lands in the stack's support log group, and the user signs in at once, long
/// before the window would have ended. Returns the codes sent.
pub fn support_commands_on_a_locked_user(aws: &LocalAws) -> String {
    let user = "helpdesk";
    let email = aws.user("e2e-email", user);
    for wrong in [
        ["000000", "000001", "000002"],
        ["000003", "000004", "000005"],
    ] {
        let run = super::SignIn::start_as(aws, "e2e-email", user, None, &wrong);
        assert_eq!(run.finish().0, Some(2), "wrong codes fail the sign-in");
    }
    let shown = state(&support(aws, "e2e-email", "show", user, &[]));
    assert!(shown["lockedUntil"].is_string(), "{shown}");
    assert!(shown["wrongAnswersInWindow"].as_u64() >= Some(4), "{shown}");
    assert_eq!(shown["user"], user);
    let text = shown.to_string();
    let key_arn = aws.stack("e2e-email")["stateKeyArn"]
        .as_str()
        .unwrap_or("?");
    assert!(!text.contains(key_arn), "the key's ARN is echoed");

    let nobody = support(aws, "e2e-email", "show", "nobody-at-all", &[]);
    assert_eq!(nobody.status.code(), Some(1));
    let said = String::from_utf8_lossy(&nobody.stderr);
    assert!(said.contains("no user nobody-at-all"), "{said}");
    assert!(nobody.stdout.is_empty());

    let unaudited = support(aws, "e2e-email", "unlock", user, &[]);
    assert_eq!(
        unaudited.status.code(),
        Some(64),
        "a change without an audit log"
    );
    assert_eq!(
        state(&support(aws, "e2e-email", "show", user, &[]))["lockedUntil"],
        shown["lockedUntil"],
        "nothing changed"
    );

    let group = aws.stack("e2e-email")["auditLogGroup"]
        .as_str()
        .expect("audit log group")
        .to_owned();
    let unlocked = support(
        aws,
        "e2e-email",
        "unlock",
        user,
        &["--audit-log-group", &group],
    );
    let after = state(&unlocked);
    assert_eq!(after["lockedUntil"], Value::Null, "{after}");
    let out = local_aws(&["logs", "--port", &aws.port, "--group-prefix", &group]);
    assert!(out.status.success());
    let logged: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let sub = &shown["sub"];
    assert!(
        logged.iter().any(|l| l["event"] == "lockout_ended"
            && l["sub"] == *sub
            && l["by"] == "support"
            && l["operator"] == "e2e-operator"),
        "no lockout_ended line in {group}: {logged:?}"
    );

    // Unlocked: a code is sent and the sign-in passes now.
    let before = aws.mails();
    let mut run = super::SignIn::start_as(aws, "e2e-email", user, None, &[]);
    run.expect_line("a code was sent");
    let code = new_code_to(aws, before, &email);
    run.answer(&code);
    let (exit, _) = run.finish();
    assert_eq!(exit, Some(0), "{user} signs in once unlocked");
    println!("support: show, refusals, unlock (audited in {group}), sign-in: as documented");
    code
}

/// The alarms and dashboards of the stacks deployed on the local AWS, each notifying the
/// alarm address's topic (the success-ratio alarm is metric math, which the emulator does
/// not run: the stacks leave it out, and tools/template_check.py checks it).
pub fn alarms_and_dashboards_deployed(aws: &LocalAws) {
    let out = local_aws(&["operations", "--port", &aws.port]);
    assert!(out.status.success(), "could not list the alarms");
    let ops: Value = serde_json::from_slice(&out.stdout).expect("operations JSON");
    let alarms = ops["alarms"].as_array().expect("alarms");
    for logical in [
        "EmailSentAlarm",
        "SmsSentAlarm",
        "LockoutAlarm",
        "StoreErrorsAlarm",
        "DeliveryFailuresAlarm",
        "DefineErrorsAlarm",
        "VerifyErrorsAlarm",
        "AccountApiErrorsAlarm",
    ] {
        let found: Vec<&Value> = alarms
            .iter()
            .filter(|a| a["AlarmName"].as_str().is_some_and(|n| n.contains(logical)))
            .collect();
        assert!(!found.is_empty(), "no {logical} deployed: {alarms:?}");
        for alarm in found {
            assert!(
                alarm["AlarmActions"]
                    .as_array()
                    .is_some_and(|a| a.len() == 1),
                "{alarm}"
            );
        }
    }
    let choice = alarms
        .iter()
        .find(|a| {
            a["AlarmName"]
                .as_str()
                .is_some_and(|n| n.contains("e2e-choice") && n.contains("SmsSentAlarm"))
        })
        .expect("the SMS alarm of the stack that sends SMS");
    assert_eq!(choice["Namespace"], "CustomAuth/e2e-choice");
    assert_eq!(choice["MetricName"], "MessagesSent");
    let dashboards = ops["dashboards"].as_array().expect("dashboards");
    assert!(
        dashboards.iter().any(|d| d == "e2e-email-sign-in"),
        "{dashboards:?}"
    );
    assert!(
        ops["subscriptions"]
            .as_array()
            .is_some_and(|s| s.iter().any(|x| x["endpoint"] == "ops@example.com")),
        "{ops}"
    );
    println!(
        "operations: {} alarms, {} dashboards deployed",
        alarms.len(),
        dashboards.len()
    );
}

/// Every metric and audit line of the run: valid EMF in the stacks' namespaces, with the
/// counts of what happened; an audit event for each kind of security event the run made;
/// neither holds a user's name or address.
pub fn metrics_and_audit_in_the_logs(logs: &str) {
    let lines: Vec<Value> = logs
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    let mut metrics = BTreeSet::new();
    let mut events = BTreeSet::new();
    for line in &lines {
        let text = line.to_string();
        let is_metric = line.get("_aws").is_some();
        let is_audit = line["audit"] == "custom-auth";
        if !(is_metric || is_audit) {
            continue;
        }
        for person in [
            "\"jane\"",
            "\"flood\"",
            "\"locky\"",
            "@example.com",
            "+1555",
        ] {
            assert!(!text.contains(person), "{person} in {text}");
        }
        if is_metric {
            for directive in line["_aws"]["CloudWatchMetrics"].as_array().expect("EMF") {
                let namespace = directive["Namespace"].as_str().unwrap_or_default();
                // Each stack its own: `CustomAuth/<stack>`.
                assert!(namespace.starts_with("CustomAuth/"), "{text}");
                for set in directive["Dimensions"].as_array().expect("sets") {
                    for d in set.as_array().expect("a set") {
                        assert!(line[d.as_str().unwrap_or("?")].is_string(), "{text}");
                    }
                }
                for m in directive["Metrics"].as_array().expect("metrics") {
                    let name = m["Name"].as_str().unwrap_or_default();
                    assert!(line[name].is_number() || line[name].is_array(), "{text}");
                    metrics.insert(name.to_owned());
                }
            }
        } else {
            for field in ["time", "pool", "outcome", "event"] {
                assert!(line[field].is_string(), "{text}");
            }
            events.insert(line["event"].as_str().unwrap_or_default().to_owned());
        }
    }
    for want in [
        "SignInsSucceeded",
        "SignInsFailed",
        "ChallengesCreated",
        "MessagesSent",
        "AnswersRight",
        "AnswersWrong",
        "LockoutsBegun",
        "DependencyLatency",
        "DependencyErrors",
    ] {
        assert!(
            metrics.contains(want),
            "no {want} metric in the logs: {metrics:?}"
        );
    }
    for want in [
        "sign_in_succeeded",
        "sign_in_failed",
        "lockout_begun",
        "send_limit_hit",
        "magic_link_sent",
        "magic_link_redeemed",
        "account_chosen",
        "passkey_added",
        "device_remembered",
        "device_forgotten",
        "change_refused",
    ] {
        assert!(events.contains(want), "no {want} audit line: {events:?}");
    }
    println!(
        "operations: {} metric names and {} audit event kinds in the logs, no one named",
        metrics.len(),
        events.len()
    );
}
