//! How the three functions log: the level and line format that Lambda's advanced logging
//! controls set (`AWS_LAMBDA_LOG_LEVEL`, `AWS_LAMBDA_LOG_FORMAT`), or `RUST_LOG` locally.
//!
//! This replaces `lambda_runtime`'s `init_default_subscriber`, whose per-target `EnvFilter`
//! links a regular-expression engine (about 0.2 MiB of each binary, resident at run time) to
//! honour directives these functions never need: one level for the whole process is what the
//! Lambda console offers. The lines look the same (no time stamp, no target; JSON on request).
//!
//! Release builds log at most INFO whatever the setting: they compile no debug or trace callsite
//! (workspace `tracing` feature `release_max_level_info`). Our own code logs at info and above;
//! below that only dependencies log, and not carefully enough: at trace `lambda_runtime` logs raw
//! events and the AWS SDK request bodies (one-time codes), at debug the SDK logs whole service
//! errors. Debug builds (tests, `cargo lambda watch`) keep every level.

use tracing::Subscriber;
use tracing::level_filters::LevelFilter;
use tracing_subscriber::fmt::MakeWriter;

use crate::config::env::ConfigError;

/// The level and line format of the function's log, read once at start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogSettings {
    /// The most verbose level written; events below it are skipped at their callsite.
    pub level: LevelFilter,
    /// One JSON object per line (`AWS_LAMBDA_LOG_FORMAT=JSON`) rather than plain text.
    pub json: bool,
}

impl LogSettings {
    /// Reads `AWS_LAMBDA_LOG_LEVEL` (which Lambda sets from the function's `LoggingConfig`),
    /// else `RUST_LOG`, else INFO; and `AWS_LAMBDA_LOG_FORMAT` (`JSON` or `Text`, default text).
    ///
    /// A level is one word, any case: `trace`, `debug`, `info`, `warn`, `error`, `fatal`
    /// (Lambda's name for the most severe; written as error) or `off`. Anything else, such as
    /// `RUST_LOG`'s per-module directives, is refused with the variable named, rather than
    /// silently logging at a level nobody chose.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |var: &'static str| {
            lookup(var)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
                .map(|v| (var, v))
        };
        let level = match get("AWS_LAMBDA_LOG_LEVEL").or_else(|| get("RUST_LOG")) {
            None => LevelFilter::INFO,
            Some((var, value)) => parse_level(&value).ok_or_else(|| ConfigError::Invalid {
                var,
                value,
                why: "use one level: trace, debug, info, warn, error, fatal or off".into(),
            })?,
        };
        let json = match get("AWS_LAMBDA_LOG_FORMAT") {
            None => false,
            Some((_, value)) if value.eq_ignore_ascii_case("json") => true,
            Some((_, value)) if value.eq_ignore_ascii_case("text") => false,
            Some((var, value)) => {
                return Err(ConfigError::Invalid {
                    var,
                    value,
                    why: "use JSON or Text".into(),
                });
            }
        };
        Ok(LogSettings { level, json })
    }

    /// The subscriber that writes the function's log lines to `writer` (standard output in the
    /// binaries, a buffer in tests). The binaries install it with
    /// `tracing::subscriber::set_global_default`.
    pub fn subscriber<W>(self, writer: W) -> Box<dyn Subscriber + Send + Sync>
    where
        W: for<'w> MakeWriter<'w> + Send + Sync + 'static,
    {
        let builder = tracing_subscriber::fmt()
            .with_target(false)
            .without_time()
            .with_max_level(self.level)
            .with_writer(writer);
        if self.json {
            Box::new(builder.json().finish())
        } else {
            Box::new(builder.finish())
        }
    }
}

fn parse_level(value: &str) -> Option<LevelFilter> {
    const LEVELS: [(&str, LevelFilter); 7] = [
        ("trace", LevelFilter::TRACE),
        ("debug", LevelFilter::DEBUG),
        ("info", LevelFilter::INFO),
        ("warn", LevelFilter::WARN),
        ("error", LevelFilter::ERROR),
        ("fatal", LevelFilter::ERROR),
        ("off", LevelFilter::OFF),
    ];
    LEVELS
        .iter()
        .find(|(name, _)| value.eq_ignore_ascii_case(name))
        .map(|&(_, level)| level)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::Capture;

    /// Environment variables, name and value.
    type Vars<'a> = &'a [(&'a str, &'a str)];

    fn settings(vars: Vars) -> Result<LogSettings, ConfigError> {
        LogSettings::from_lookup(|name| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| (*v).to_owned())
        })
    }

    #[test]
    fn level_and_format_come_from_lambdas_variables() {
        let cases: &[(Vars, LevelFilter, bool)] = &[
            (&[], LevelFilter::INFO, false),
            (
                &[("AWS_LAMBDA_LOG_LEVEL", "DEBUG")],
                LevelFilter::DEBUG,
                false,
            ),
            (
                &[("AWS_LAMBDA_LOG_LEVEL", "FATAL")],
                LevelFilter::ERROR,
                false,
            ),
            (
                &[("AWS_LAMBDA_LOG_LEVEL", " warn ")],
                LevelFilter::WARN,
                false,
            ),
            (&[("RUST_LOG", "trace")], LevelFilter::TRACE, false),
            (&[("RUST_LOG", "off")], LevelFilter::OFF, false),
            // Lambda's setting wins over a RUST_LOG left in the function's environment.
            (
                &[("AWS_LAMBDA_LOG_LEVEL", "ERROR"), ("RUST_LOG", "debug")],
                LevelFilter::ERROR,
                false,
            ),
            (
                &[("AWS_LAMBDA_LOG_LEVEL", ""), ("RUST_LOG", "warn")],
                LevelFilter::WARN,
                false,
            ),
            (
                &[("AWS_LAMBDA_LOG_FORMAT", "JSON")],
                LevelFilter::INFO,
                true,
            ),
            (
                &[("AWS_LAMBDA_LOG_FORMAT", "json")],
                LevelFilter::INFO,
                true,
            ),
            (
                &[("AWS_LAMBDA_LOG_FORMAT", "Text")],
                LevelFilter::INFO,
                false,
            ),
        ];
        for (vars, level, json) in cases {
            let got = settings(vars).unwrap_or_else(|e| panic!("{vars:?}: {e}"));
            assert_eq!(
                got,
                LogSettings {
                    level: *level,
                    json: *json
                },
                "{vars:?}"
            );
        }
    }

    #[test]
    fn a_value_that_is_not_one_level_or_format_is_refused_by_name() {
        let cases: &[(Vars, &str)] = &[
            (
                &[("AWS_LAMBDA_LOG_LEVEL", "verbose")],
                "AWS_LAMBDA_LOG_LEVEL",
            ),
            (&[("RUST_LOG", "custom_auth=debug")], "RUST_LOG"),
            (&[("RUST_LOG", "info,hyper=warn")], "RUST_LOG"),
            (
                &[("AWS_LAMBDA_LOG_FORMAT", "yaml")],
                "AWS_LAMBDA_LOG_FORMAT",
            ),
        ];
        for (vars, var) in cases {
            let err = settings(vars).expect_err("refused").to_string();
            assert!(err.starts_with(var), "{vars:?}: {err}");
        }
    }

    fn lines(settings: LogSettings) -> String {
        let buffer = Capture::default();
        let writer = buffer.clone();
        let subscriber = settings.subscriber(move || writer.clone());
        tracing::subscriber::with_default(subscriber, || {
            tracing::callsite::rebuild_interest_cache();
            tracing::debug!(step = "email-otp", "a debug line");
            tracing::warn!(trigger = "create", "a warning");
        });
        String::from_utf8(buffer.0.lock().unwrap().clone()).unwrap()
    }

    #[test]
    fn the_subscriber_writes_at_the_level_and_in_the_format_chosen() {
        let text = lines(LogSettings {
            level: LevelFilter::WARN,
            json: false,
        });
        assert!(
            text.contains("WARN") && text.contains("a warning"),
            "{text}"
        );
        assert!(!text.contains("a debug line"), "{text}");
        assert!(!text.trim_start().starts_with('{'), "{text}");

        let json = lines(LogSettings {
            level: LevelFilter::DEBUG,
            json: true,
        });
        let parsed: Vec<serde_json::Value> = json
            .lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}")))
            .collect();
        assert_eq!(parsed.len(), 2, "{json}");
        assert_eq!(parsed[0]["level"], "DEBUG");
        assert_eq!(parsed[0]["fields"]["step"], "email-otp");
        assert_eq!(parsed[1]["fields"]["message"], "a warning");
        // The same shape as lambda_runtime's default: no time stamp, no target.
        assert!(parsed[1].get("timestamp").is_none() && parsed[1].get("target").is_none());
    }
}
