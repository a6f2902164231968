//! What operators see without reading raw logs: CloudWatch metrics written as Embedded Metric
//! Format lines ([`emf`]) and an audit trail of security events, one JSON line each
//! ([`audit`]), both made from what a trigger did ([`crate::triggers::report`]) or the account
//! API answered ([`crate::http_api`]).
//!
//! Everything here is pure: a [`Report`] is plain data, [`Telemetry::lines`] makes the text,
//! and the function's edge writes it to standard output, which Lambda sends to CloudWatch Logs,
//! where EMF lines become metrics. No SDK call, no network, nothing on the sign-in's path but a
//! few formatted lines after the answer is decided.
//!
//! Metrics carry only bounded dimensions (the function, a step kind, a reason, a channel, a
//! dependency: fixed names); never a user name, address, `sub` or anything a user typed. Audit
//! lines name the user by `sub` (or by the keyed hash the state store uses, for names that
//! are no user), never by name or address, and carry nothing secret.

pub mod audit;
pub mod emf;
#[cfg(test)]
mod tests;

pub use audit::{Audit, AuditEvent, Subject};
pub use emf::{Call, Dependency, Function, Metric};

use crate::config::env::ConfigError;

/// Default of `METRICS_NAMESPACE`.
pub const DEFAULT_NAMESPACE: &str = "CustomAuth";

/// Whether and where metrics go, read once at start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Telemetry {
    /// `METRICS` (`on`, the default, or `off`): whether EMF lines are written. Audit lines are
    /// written either way: they are the trail, not a cost to save.
    pub metrics: bool,
    /// `METRICS_NAMESPACE` (default [`DEFAULT_NAMESPACE`]): the CloudWatch namespace of every
    /// metric. The template gives each stack its own.
    pub namespace: String,
}

impl Telemetry {
    /// Reads `METRICS` and `METRICS_NAMESPACE`; a value that is not one of them is refused
    /// with the variable named.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Telemetry, ConfigError> {
        let get = |var: &str| {
            lookup(var)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let metrics = match get("METRICS") {
            None => true,
            Some(v) if v.eq_ignore_ascii_case("on") => true,
            Some(v) if v.eq_ignore_ascii_case("off") => false,
            Some(value) => {
                return Err(ConfigError::Invalid {
                    var: "METRICS",
                    value,
                    why: "use on or off".into(),
                });
            }
        };
        let namespace = get("METRICS_NAMESPACE").unwrap_or_else(|| DEFAULT_NAMESPACE.to_owned());
        // CloudWatch's rule for a namespace: 1 to 255 of these characters, not under `AWS/`.
        let allowed = |c: char| c.is_ascii_alphanumeric() || ".-_/#: ".contains(c);
        if namespace.len() > 255 || !namespace.chars().all(allowed) || namespace.starts_with("AWS/")
        {
            return Err(ConfigError::Invalid {
                var: "METRICS_NAMESPACE",
                value: namespace,
                why: "use up to 255 letters, digits and . - _ / # : or spaces, not under AWS/"
                    .into(),
            });
        }
        Ok(Telemetry { metrics, namespace })
    }

    /// The lines `report` makes at `now_ms` (Unix milliseconds): its metrics (one EMF line for
    /// the counts, one per dependency called), unless metrics are off, then its audit events.
    pub fn lines(&self, report: &Report, now_ms: u64) -> Vec<String> {
        let mut lines = Vec::new();
        if self.metrics {
            lines.extend(emf::lines(&self.namespace, report, now_ms));
        }
        lines.extend(report.audit.iter().map(|a| a.line(now_ms / 1000)));
        lines
    }

    /// Writes the lines of `report` at `now_ms` to `out` (standard output in the functions,
    /// which Lambda sends to CloudWatch Logs) in one write, so they stay whole lines. A
    /// failed write is nothing a sign-in should fail for: it is dropped.
    pub fn write(&self, report: &Report, now_ms: u64, mut out: impl std::io::Write) {
        let lines = self.lines(report, now_ms);
        if lines.is_empty() {
            return;
        }
        let mut text = lines.join("\n");
        text.push('\n');
        let _ = out.write_all(text.as_bytes());
    }
}

/// Milliseconds since the Unix epoch at `now` (the functions' clock, read at their edge).
pub fn millis(now: std::time::SystemTime) -> u64 {
    now.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

/// What one invocation did, as metrics and audit events.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// Which function did it.
    pub function: Function,
    /// The counts, each 1 (a metric named twice counts 2).
    pub counts: Vec<Metric>,
    /// The step kind the invocation was about, for the metrics that have a `Step` dimension.
    pub step: Option<&'static str>,
    /// Why a sign-in failed or an answer was wrong, for the metrics with a `Reason` dimension.
    pub reason: Option<&'static str>,
    /// Where a message went (`email`, `sms`), for `MessagesSent`.
    pub channel: Option<&'static str>,
    /// The calls to dependencies (the state store, SES, SNS) and how they went.
    pub calls: Vec<Call>,
    /// The security events.
    pub audit: Vec<Audit>,
}

impl Report {
    /// An empty report of `function`.
    pub fn new(function: Function) -> Report {
        Report {
            function,
            counts: Vec::new(),
            step: None,
            reason: None,
            channel: None,
            calls: Vec::new(),
            audit: Vec::new(),
        }
    }
}
