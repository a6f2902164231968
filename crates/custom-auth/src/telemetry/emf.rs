//! CloudWatch Embedded Metric Format: a JSON log line whose `_aws` member tells CloudWatch
//! Logs which of its other members are metrics, under which dimensions. Lambda sends standard
//! output to CloudWatch Logs, which extracts the metrics; the function makes no call for them.
//!
//! Each metric has fixed dimension sets ([`Metric::dimensions`]); the values of those
//! dimensions come from closed lists (functions, step kinds, reasons, channels, dependencies),
//! so the number of metrics CloudWatch keeps, and bills, is bounded whatever users type.

use serde_json::{Map, Value, json};

use super::Report;

/// The functions that write metrics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Function {
    /// Define Auth Challenge.
    Define,
    /// Create Auth Challenge.
    Create,
    /// Verify Auth Challenge Response.
    Verify,
    /// Pre Token Generation.
    PreToken,
    /// The account API (passkeys, remembered devices).
    AccountApi,
}

impl Function {
    /// The `Function` dimension's value.
    pub fn name(self) -> &'static str {
        match self {
            Function::Define => "define",
            Function::Create => "create",
            Function::Verify => "verify",
            Function::PreToken => "pre-token",
            Function::AccountApi => "account-api",
        }
    }
}

/// A count an invocation adds to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Metric {
    /// Define issued tokens.
    SignInsSucceeded,
    /// A sign-in ended without tokens: Define failed it, or Create refused to go on (`Reason`).
    SignInsFailed,
    /// Create built a round (`Step`).
    ChallengesCreated,
    /// Create sent a code or a link (`Channel`: `email` or `sms`).
    MessagesSent,
    /// Create built a round for a name that is no user.
    DecoyRounds,
    /// Verify judged an answer right (`Step`).
    AnswersRight,
    /// Verify judged an answer wrong (`Step`, `Reason`).
    AnswersWrong,
    /// A wrong answer reached the lockout limit.
    LockoutsBegun,
}

impl Metric {
    /// Every metric, for tests and the template's check.
    pub const ALL: [Metric; 8] = [
        Metric::SignInsSucceeded,
        Metric::SignInsFailed,
        Metric::ChallengesCreated,
        Metric::MessagesSent,
        Metric::DecoyRounds,
        Metric::AnswersRight,
        Metric::AnswersWrong,
        Metric::LockoutsBegun,
    ];

    /// The metric's name in CloudWatch.
    pub fn name(self) -> &'static str {
        match self {
            Metric::SignInsSucceeded => "SignInsSucceeded",
            Metric::SignInsFailed => "SignInsFailed",
            Metric::ChallengesCreated => "ChallengesCreated",
            Metric::MessagesSent => "MessagesSent",
            Metric::DecoyRounds => "DecoyRounds",
            Metric::AnswersRight => "AnswersRight",
            Metric::AnswersWrong => "AnswersWrong",
            Metric::LockoutsBegun => "LockoutsBegun",
        }
    }

    /// The dimension sets it is published under. `[]` is the total, which the alarms watch;
    /// the others break it down on the dashboard.
    pub fn dimensions(self) -> &'static [&'static [&'static str]] {
        match self {
            Metric::SignInsSucceeded | Metric::DecoyRounds | Metric::LockoutsBegun => &[&[]],
            Metric::SignInsFailed => &[&[], &["Reason"]],
            Metric::ChallengesCreated | Metric::AnswersRight => &[&["Step"]],
            Metric::MessagesSent => &[&["Channel"]],
            Metric::AnswersWrong => &[&["Step"], &["Reason"]],
        }
    }
}

/// A dependency whose calls are timed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Dependency {
    /// The state store (DynamoDB).
    Store,
    /// E-mail (SES).
    Email,
    /// Text messages (SNS).
    Sms,
}

impl Dependency {
    /// The `Dependency` dimension's value.
    pub fn name(self) -> &'static str {
        match self {
            Dependency::Store => "dynamodb",
            Dependency::Email => "ses",
            Dependency::Sms => "sns",
        }
    }
}

/// One call to a dependency: how long it took and whether it failed (refused, timed out,
/// answered nonsense).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Call {
    /// Which dependency.
    pub dependency: Dependency,
    /// How long, in milliseconds.
    pub millis: f64,
    /// Whether it failed.
    pub failed: bool,
}

/// The EMF lines of `report`: one with its counts (when it has any), one per dependency it
/// called (`DependencyLatency`, every call's time, and `DependencyErrors`).
pub(super) fn lines(namespace: &str, report: &Report, now_ms: u64) -> Vec<String> {
    let mut lines = Vec::new();
    let function = report.function.name();
    if !report.counts.is_empty() {
        let mut root = Map::new();
        root.insert("Function".into(), function.into());
        for (key, value) in [
            ("Step", report.step),
            ("Reason", report.reason),
            ("Channel", report.channel),
        ] {
            if let Some(value) = value {
                root.insert(key.into(), value.into());
            }
        }
        let mut directives = Vec::new();
        for metric in Metric::ALL {
            let count = report.counts.iter().filter(|m| **m == metric).count();
            if count == 0 {
                continue;
            }
            // A dimension set whose dimension the report has no value for is left out: EMF
            // drops a whole line that names a missing dimension.
            let sets: Vec<&[&str]> = metric
                .dimensions()
                .iter()
                .copied()
                .filter(|set| set.iter().all(|d| root.contains_key(*d)))
                .collect();
            if sets.is_empty() {
                continue;
            }
            root.insert(metric.name().into(), count.into());
            directives.push(json!({
                "Namespace": namespace,
                "Dimensions": sets,
                "Metrics": [{"Name": metric.name(), "Unit": "Count"}],
            }));
        }
        if !directives.is_empty() {
            root.insert(
                "_aws".into(),
                json!({"Timestamp": now_ms, "CloudWatchMetrics": directives}),
            );
            lines.push(Value::Object(root).to_string());
        }
    }
    for dependency in [Dependency::Store, Dependency::Email, Dependency::Sms] {
        let calls: Vec<&Call> = report
            .calls
            .iter()
            .filter(|c| c.dependency == dependency)
            .collect();
        if calls.is_empty() {
            continue;
        }
        // Milliseconds to the microsecond: enough, and no float noise in the log.
        let latencies: Vec<f64> = calls
            .iter()
            .map(|c| (c.millis * 1000.0).round() / 1000.0)
            .collect();
        let errors = calls.iter().filter(|c| c.failed).count();
        lines.push(
            json!({
                "_aws": {
                    "Timestamp": now_ms,
                    "CloudWatchMetrics": [{
                        "Namespace": namespace,
                        "Dimensions": [["Dependency"], ["Dependency", "Function"]],
                        "Metrics": [
                            {"Name": "DependencyLatency", "Unit": "Milliseconds"},
                            {"Name": "DependencyErrors", "Unit": "Count"},
                        ],
                    }],
                },
                "Function": function,
                "Dependency": dependency.name(),
                "DependencyLatency": latencies,
                "DependencyErrors": errors,
            })
            .to_string(),
        );
    }
    lines
}
