//! The lookup toolkit every part of the configuration parses itself with: [`Secret`],
//! [`ConfigError`], bounded numbers and URLs. It imports nothing of the crate, so the settings
//! of a step, the state store or passkeys can live beside their code and still read
//! variables the same way, with the same errors.

use std::fmt;

/// A secret string whose `Debug` output is redacted, so a config dump never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The secret itself, for the one place that must send it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// A configuration that cannot run. The message names the variable; secret values are never
/// echoed. `Debug` prints the message too, so `main` returning it prints one clear line.
#[derive(thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// A required variable is unset or empty.
    #[error("{var} is required{why}")]
    Missing {
        /// The variable.
        var: &'static str,
        /// Why it is required, starting with a space, or empty.
        why: &'static str,
    },
    /// A variable holds a value that cannot be used.
    #[error("{var}={value:?} is invalid: {why}")]
    Invalid {
        /// The variable.
        var: &'static str,
        /// The value as given (never used for secrets).
        value: String,
        /// What is wrong with it.
        why: String,
    },
    /// A secret variable holds a value that cannot be used; the value is not shown.
    #[error("{var} is invalid: {why}")]
    InvalidSecret {
        /// The variable.
        var: &'static str,
        /// What is wrong with it.
        why: &'static str,
    },
}

impl fmt::Debug for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

pub(crate) fn number<T>(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
    default: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, ConfigError>
where
    T: std::str::FromStr + PartialOrd + fmt::Display + Copy,
{
    let Some(value) = get(var) else {
        return Ok(default);
    };
    match value.trim().parse::<T>() {
        Ok(n) if range.contains(&n) => Ok(n),
        _ => Err(ConfigError::Invalid {
            var,
            value,
            why: format!(
                "expected a whole number from {} to {}",
                range.start(),
                range.end()
            ),
        }),
    }
}

/// Accepts `https://` anywhere and plain `http://` only on loopback, so a typo cannot send a
/// secret in clear text across a network, while local tests and emulators still work. The URL
/// is parsed and its host compared, so `http://localhost:80@attacker.example/` (a user name
/// `localhost`, port `80`, at the attacker's host) is what it is: plain http off loopback.
/// A URL with a user or password is refused in any case: no endpoint here takes one.
pub(crate) fn check_url(var: &'static str, text: &str) -> Result<(), ConfigError> {
    let ok = url::Url::parse(text).is_ok_and(|url| {
        let loopback = match url.host() {
            Some(url::Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
            Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
            Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
            None => false,
        };
        let scheme_ok = match url.scheme() {
            "https" => url.host().is_some(),
            "http" => loopback,
            _ => false,
        };
        scheme_ok && url.username().is_empty() && url.password().is_none()
    });
    if ok {
        Ok(())
    } else {
        Err(ConfigError::Invalid {
            var,
            value: text.to_owned(),
            why: "expected an https:// URL (plain http only on loopback), with no user or password"
                .into(),
        })
    }
}
