//! Configuration: the flow and its settings, parsed from a lookup function.
//!
//! The crate never reads the environment itself: binaries pass `|name| std::env::var(name).ok()`
//! and tests pass a map. Every error names the variable, and never echoes a secret value.

pub mod device;
pub mod env;
pub mod flows;
pub mod magic_link;
pub mod passkey;
pub mod state;

use crate::jwt::VerifyingKey;

pub use env::{ConfigError, Secret};
use env::{check_url, number};
pub use flows::{Flow, Flows, Stage, Step};

/// Settings of the `email-otp` step.
#[derive(Clone, Debug)]
pub struct EmailSettings {
    /// The verified SES sender (`OTP_EMAIL_FROM`).
    pub from: String,
    /// The subject line (`OTP_EMAIL_SUBJECT`).
    pub subject: String,
}

/// Settings of the `captcha` step.
#[derive(Clone, Debug)]
pub struct CaptchaSettings {
    /// The public site key the client's widget needs (`CAPTCHA_SITE_KEY`).
    pub site_key: String,
    /// The server-side secret sent to siteverify (`CAPTCHA_SECRET`).
    pub secret: Secret,
    /// The siteverify endpoint (`CAPTCHA_VERIFY_URL`).
    pub verify_url: String,
}

/// Where the keys that sign `signed-token` JWTs come from.
#[derive(Clone, Debug)]
pub enum TokenKeySource {
    /// One fixed key: an HS256 secret or a PEM public key, parsed at start-up.
    Static(VerifyingKey),
    /// A JWKS document, fetched by the verify function and cached; keys picked by `kid`.
    Jwks(String),
}

/// Settings of the `signed-token` step.
#[derive(Clone, Debug)]
pub struct SignedTokenSettings {
    /// The key or key set.
    pub keys: TokenKeySource,
    /// The required `iss`, when configured (`SIGNED_TOKEN_ISSUER`).
    pub issuer: Option<String>,
    /// The required `aud`, when configured (`SIGNED_TOKEN_AUDIENCE`).
    pub audience: Option<String>,
}

/// Everything the three triggers need, identical on all of them.
#[derive(Clone, Debug)]
pub struct Config {
    /// The steps of each app client's sign-in (`AUTH_FLOW`, `AUTH_FLOWS`).
    pub flows: Flows,
    /// Answers allowed per custom step (`AUTH_MAX_ATTEMPTS`).
    pub max_attempts: u32,
    /// Digits in a one-time code (`OTP_LENGTH`).
    pub otp_length: usize,
    /// Seconds a one-time code stays valid from its first send (`OTP_TTL_SECONDS`).
    pub otp_ttl_seconds: u64,
    /// Present when the flow has `email-otp`.
    pub email: Option<EmailSettings>,
    /// Present when the flow has `captcha`.
    pub captcha: Option<CaptchaSettings>,
    /// Present when the flow has `signed-token`.
    pub signed_token: Option<SignedTokenSettings>,
    /// Present when `AUTH_STATE_TABLE` is set: limits across sign-ins and single-use tokens.
    pub state: Option<state::StateSettings>,
    /// Present when `SELECTED_ACCOUNT_CLAIM` is set: the chosen account goes into the tokens.
    pub account_claim: Option<AccountClaimSettings>,
    /// The claim that carries the sign-in's methods ([`crate::methods`]) in the ID and access
    /// tokens (`SIGN_IN_METHODS_CLAIM`, which needs the state store). `None`: no such claim.
    pub methods_claim: Option<String>,
    /// Present when the flow has `magic-link`.
    pub magic_link: Option<magic_link::LinkSettings>,
    /// Present when the flow has `passkey`.
    pub passkey: Option<passkey::PasskeySettings>,
    /// Present when the flow has `device`.
    pub device: Option<device::DeviceSettings>,
}

/// Settings of the selected-account claim (Pre Token Generation).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AccountClaimSettings {
    /// The claim's name in the ID and access tokens (`SELECTED_ACCOUNT_CLAIM`).
    pub name: String,
    /// Whether the ID token keeps `custom:accounts` (`ID_TOKEN_ACCOUNTS=keep`; default `drop`).
    pub keep_accounts_in_id_token: bool,
}

/// Claims our claims may not replace: Cognito's own, the standard ones (`amr` and `acr` among
/// them: Cognito excludes them from Pre Token Generation), and user attributes (`custom:` and
/// `cognito:` names, which the name's characters already rule out).
const RESERVED_CLAIMS: [&str; 23] = [
    "sub",
    "amr",
    "acr",
    "azp",
    "identities",
    "iss",
    "aud",
    "exp",
    "iat",
    "nbf",
    "jti",
    "auth_time",
    "token_use",
    "client_id",
    "scope",
    "username",
    "email",
    "phone_number",
    "event_id",
    "origin_jti",
    "nonce",
    "at_hash",
    "version",
];

/// The claim name in `var`, if set: a letter, then letters, digits, `_ - .`, up to 64, and
/// not a claim of the standards' or Cognito's.
fn claim_name(
    get: &impl Fn(&str) -> Option<String>,
    var: &'static str,
) -> Result<Option<String>, ConfigError> {
    let Some(name) = get(var) else {
        return Ok(None);
    };
    let name = name.trim().to_owned();
    let well_formed = name.len() <= 64
        && name.starts_with(|c: char| c.is_ascii_alphabetic())
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
    let lower = name.to_ascii_lowercase();
    if !well_formed || RESERVED_CLAIMS.contains(&lower.as_str()) {
        return Err(ConfigError::Invalid {
            var,
            value: name,
            why: "expected a claim name (a letter, then letters, digits, _ - .; up to 64) that is not a standard or Cognito claim".into(),
        });
    }
    Ok(Some(name))
}

/// `SIGN_IN_METHODS_CLAIM`: the methods' claim, which needs the state store (the methods are
/// kept there between Verify and Pre Token Generation) and another name than the account's.
fn methods_claim(
    get: &impl Fn(&str) -> Option<String>,
    state: bool,
    account: Option<&AccountClaimSettings>,
) -> Result<Option<String>, ConfigError> {
    let Some(name) = claim_name(get, "SIGN_IN_METHODS_CLAIM")? else {
        return Ok(None);
    };
    if !state {
        return Err(ConfigError::Missing {
            var: "AUTH_STATE_TABLE",
            why: " when SIGN_IN_METHODS_CLAIM is set (the methods are kept there for the tokens)",
        });
    }
    if account.is_some_and(|a| a.name.eq_ignore_ascii_case(&name)) {
        return Err(ConfigError::Invalid {
            var: "SIGN_IN_METHODS_CLAIM",
            value: name,
            why: "the same name as SELECTED_ACCOUNT_CLAIM".into(),
        });
    }
    Ok(Some(name))
}

fn account_claim_settings(
    get: &impl Fn(&str) -> Option<String>,
    state: bool,
) -> Result<Option<AccountClaimSettings>, ConfigError> {
    let Some(name) = claim_name(get, "SELECTED_ACCOUNT_CLAIM")? else {
        return Ok(None);
    };
    if !state {
        return Err(ConfigError::Missing {
            var: "AUTH_STATE_TABLE",
            why: " when SELECTED_ACCOUNT_CLAIM is set (the choice is kept there for the tokens)",
        });
    }
    let keep = match get("ID_TOKEN_ACCOUNTS").as_deref().map(str::trim) {
        None | Some("drop") => false,
        Some("keep") => true,
        Some(other) => {
            return Err(ConfigError::Invalid {
                var: "ID_TOKEN_ACCOUNTS",
                value: other.to_owned(),
                why: "expected keep or drop".into(),
            });
        }
    };
    Ok(Some(AccountClaimSettings {
        name,
        keep_accounts_in_id_token: keep,
    }))
}

/// Default of `AUTH_MAX_ATTEMPTS`.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;
/// Default of `OTP_LENGTH`.
pub const DEFAULT_OTP_LENGTH: usize = 6;
/// Default of `OTP_TTL_SECONDS`.
pub const DEFAULT_OTP_TTL_SECONDS: u64 = 300;
/// Default of `OTP_EMAIL_SUBJECT`.
pub const DEFAULT_EMAIL_SUBJECT: &str = "Your sign-in code";
/// Default of `CAPTCHA_VERIFY_URL`: Cloudflare Turnstile's siteverify.
pub const DEFAULT_CAPTCHA_VERIFY_URL: &str =
    "https://challenges.cloudflare.com/turnstile/v0/siteverify";
/// Shortest accepted HS256 secret: RFC 7518 asks for a key at least as long as the hash.
pub const MIN_HS256_SECRET_BYTES: usize = 32;

impl Config {
    /// Define's configuration: the flows and the attempts allowed, which are all Define reads
    /// (`AUTH_FLOW`, `AUTH_FLOWS`, `AUTH_MAX_ATTEMPTS`). Every step's settings stay unset, so
    /// Define needs neither the secrets nor the other variables (the template gives it none),
    /// and a `Config` made here is for Define alone.
    pub fn for_define(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |var: &str| lookup(var).filter(|v| !v.trim().is_empty());
        Ok(Config {
            flows: Flows::from_vars(get("AUTH_FLOW").as_deref(), get("AUTH_FLOWS").as_deref())?,
            max_attempts: number(&get, "AUTH_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS, 1..=20)?,
            otp_length: DEFAULT_OTP_LENGTH,
            otp_ttl_seconds: DEFAULT_OTP_TTL_SECONDS,
            email: None,
            captcha: None,
            signed_token: None,
            state: None,
            account_claim: None,
            methods_claim: None,
            magic_link: None,
            passkey: None,
            device: None,
        })
    }

    /// Reads every setting through `lookup` (usually `|k| std::env::var(k).ok()`).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Config, ConfigError> {
        let get = |var: &str| lookup(var).filter(|v| !v.trim().is_empty());
        let flow = Flows::from_vars(get("AUTH_FLOW").as_deref(), get("AUTH_FLOWS").as_deref())?;
        let max_attempts = number(&get, "AUTH_MAX_ATTEMPTS", DEFAULT_MAX_ATTEMPTS, 1..=20)?;
        let otp_length = number(&get, "OTP_LENGTH", DEFAULT_OTP_LENGTH, 4..=10)?;
        let otp_ttl_seconds = number(&get, "OTP_TTL_SECONDS", DEFAULT_OTP_TTL_SECONDS, 10..=3600)?;

        let email = if flow.contains(Step::EmailOtp) || flow.contains(Step::MagicLink) {
            let from = get("OTP_EMAIL_FROM").ok_or(ConfigError::Missing {
                var: "OTP_EMAIL_FROM",
                why: " when a flow has email-otp or magic-link",
            })?;
            if !from.contains('@') {
                return Err(ConfigError::Invalid {
                    var: "OTP_EMAIL_FROM",
                    value: from,
                    why: "not an e-mail address".into(),
                });
            }
            let subject = get("OTP_EMAIL_SUBJECT").unwrap_or_else(|| DEFAULT_EMAIL_SUBJECT.into());
            Some(EmailSettings { from, subject })
        } else {
            None
        };

        let captcha = if flow.contains(Step::Captcha) {
            let site_key = get("CAPTCHA_SITE_KEY").ok_or(ConfigError::Missing {
                var: "CAPTCHA_SITE_KEY",
                why: " when a flow has captcha",
            })?;
            let secret = get("CAPTCHA_SECRET").ok_or(ConfigError::Missing {
                var: "CAPTCHA_SECRET",
                why: " when a flow has captcha",
            })?;
            let verify_url =
                get("CAPTCHA_VERIFY_URL").unwrap_or_else(|| DEFAULT_CAPTCHA_VERIFY_URL.into());
            check_url("CAPTCHA_VERIFY_URL", &verify_url)?;
            Some(CaptchaSettings {
                site_key,
                secret: Secret::new(secret),
                verify_url,
            })
        } else {
            None
        };

        let signed_token = if flow.contains(Step::SignedToken) {
            Some(signed_token_settings(&get)?)
        } else {
            None
        };

        let state = state::StateSettings::from_lookup(&get)?;
        let magic_link = if flow.contains(Step::MagicLink) {
            Some(magic_link::LinkSettings::from_lookup(
                &get,
                state.is_some(),
            )?)
        } else {
            None
        };
        let passkey = if flow.contains(Step::Passkey) {
            Some(passkey::PasskeySettings::from_lookup(
                &get,
                state.is_some(),
            )?)
        } else {
            None
        };
        let account_claim = account_claim_settings(&get, state.is_some())?;
        let methods_claim = methods_claim(&get, state.is_some(), account_claim.as_ref())?;
        let device = if flow.contains(Step::Device) {
            Some(device::DeviceSettings::from_lookup(
                &get,
                state.is_some(),
                methods_claim.is_some(),
            )?)
        } else {
            None
        };
        Ok(Config {
            device,
            magic_link,
            passkey,
            flows: flow,
            max_attempts,
            otp_length,
            otp_ttl_seconds,
            email,
            captcha,
            signed_token,
            methods_claim,
            account_claim,
            state,
        })
    }
}

fn signed_token_settings(
    get: &impl Fn(&str) -> Option<String>,
) -> Result<SignedTokenSettings, ConfigError> {
    let secret = get("SIGNED_TOKEN_SECRET");
    let pem = get("SIGNED_TOKEN_PUBLIC_KEY");
    let jwks = get("SIGNED_TOKEN_JWKS_URL");
    let keys = match (secret, pem, jwks) {
        (Some(secret), None, None) => {
            if secret.len() < MIN_HS256_SECRET_BYTES {
                return Err(ConfigError::InvalidSecret {
                    var: "SIGNED_TOKEN_SECRET",
                    why: "an HS256 secret needs at least 32 bytes",
                });
            }
            TokenKeySource::Static(VerifyingKey::hs256(secret.as_bytes()))
        }
        (None, Some(pem), None) => {
            // Lambda environment variables cannot hold newlines easily; accept `\n` escapes.
            let pem = pem.replace("\\n", "\n");
            let key = VerifyingKey::from_public_pem(pem.as_bytes()).ok_or(
                ConfigError::InvalidSecret {
                    var: "SIGNED_TOKEN_PUBLIC_KEY",
                    why: "expected a PEM public key: RSA (RS256), P-256 (ES256) or Ed25519 (EdDSA)",
                },
            )?;
            TokenKeySource::Static(key)
        }
        (None, None, Some(url)) => {
            check_url("SIGNED_TOKEN_JWKS_URL", &url)?;
            TokenKeySource::Jwks(url)
        }
        (None, None, None) => {
            return Err(ConfigError::Missing {
                var: "SIGNED_TOKEN_SECRET, SIGNED_TOKEN_PUBLIC_KEY or SIGNED_TOKEN_JWKS_URL",
                why: " (exactly one) when a flow has signed-token",
            });
        }
        _ => {
            return Err(ConfigError::InvalidSecret {
                var: "SIGNED_TOKEN_SECRET, SIGNED_TOKEN_PUBLIC_KEY, SIGNED_TOKEN_JWKS_URL",
                why: "set exactly one of them",
            });
        }
    };
    Ok(SignedTokenSettings {
        keys,
        issuer: get("SIGNED_TOKEN_ISSUER"),
        audience: get("SIGNED_TOKEN_AUDIENCE"),
    })
}

#[cfg(test)]
mod tests;
