//! Settings of passkeys (`PASSKEY_*`), shared by the registration API and the `passkey` step.

use webauthn_rp::request::{AsciiDomain, RpId, UserVerificationRequirement};

use crate::config::env::{ConfigError, number};

/// The user verification a ceremony asks for (`PASSKEY_USER_VERIFICATION`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verification {
    /// The authenticator must verify the user (PIN, fingerprint, face): the passkey is then
    /// two factors in one. The default.
    Required,
    /// Verify when the authenticator can; accept a touch alone otherwise.
    Preferred,
    /// Ask for a touch only.
    Discouraged,
}

impl Verification {
    /// The requirement as WebAuthn names it.
    pub(crate) fn requirement(self) -> UserVerificationRequirement {
        match self {
            Verification::Required => UserVerificationRequirement::Required,
            Verification::Preferred => UserVerificationRequirement::Preferred,
            Verification::Discouraged => UserVerificationRequirement::Discouraged,
        }
    }
}

/// Settings of passkeys, shared by the registration API and the `passkey` step.
#[derive(Clone, Debug)]
pub struct PasskeySettings {
    /// The relying party id (`PASSKEY_RP_ID`): the domain passkeys are bound to.
    pub rp_id: String,
    /// The pages' origins allowed in a ceremony (`PASSKEY_ORIGINS`, comma-separated).
    pub origins: Vec<String>,
    /// `PASSKEY_USER_VERIFICATION`: `required` (default), `preferred` or `discouraged`.
    pub user_verification: Verification,
    /// How long a ceremony may take (`PASSKEY_TIMEOUT_SECONDS`, default 120).
    pub timeout_seconds: u32,
}

impl PasskeySettings {
    /// Reads the settings; `state` says whether `AUTH_STATE_TABLE` is set, which passkeys need
    /// (credentials and registrations live there).
    pub fn from_lookup(
        get: &impl Fn(&str) -> Option<String>,
        state: bool,
    ) -> Result<PasskeySettings, ConfigError> {
        const WHY: &str = " for passkeys";
        if !state {
            return Err(ConfigError::Missing {
                var: "AUTH_STATE_TABLE",
                why: " for passkeys (credentials are kept there)",
            });
        }
        let rp_id = get("PASSKEY_RP_ID").ok_or(ConfigError::Missing {
            var: "PASSKEY_RP_ID",
            why: WHY,
        })?;
        let rp_id = rp_id.trim().to_ascii_lowercase();
        if AsciiDomain::try_from(rp_id.clone()).is_err() || rp_id.contains(['/', ':']) {
            return Err(ConfigError::Invalid {
                var: "PASSKEY_RP_ID",
                value: rp_id,
                why: "expected a domain name, such as example.com (no scheme, port or path)".into(),
            });
        }
        let origins: Vec<String> = get("PASSKEY_ORIGINS")
            .ok_or(ConfigError::Missing {
                var: "PASSKEY_ORIGINS",
                why: WHY,
            })?
            .split(',')
            .map(|o| o.trim().trim_end_matches('/').to_owned())
            .filter(|o| !o.is_empty())
            .collect();
        if origins.is_empty() {
            return Err(ConfigError::Invalid {
                var: "PASSKEY_ORIGINS",
                value: String::new(),
                why: "it names no origin".into(),
            });
        }
        for origin in &origins {
            check_origin(&rp_id, origin)?;
        }
        let user_verification = match get("PASSKEY_USER_VERIFICATION").as_deref().map(str::trim) {
            None | Some("required") => Verification::Required,
            Some("preferred") => Verification::Preferred,
            Some("discouraged") => Verification::Discouraged,
            Some(other) => {
                return Err(ConfigError::Invalid {
                    var: "PASSKEY_USER_VERIFICATION",
                    value: other.to_owned(),
                    why: "expected required, preferred or discouraged".into(),
                });
            }
        };
        Ok(PasskeySettings {
            rp_id,
            origins,
            user_verification,
            timeout_seconds: number(get, "PASSKEY_TIMEOUT_SECONDS", 120, 30..=600)?,
        })
    }

    /// The relying party id as WebAuthn takes it.
    pub(crate) fn rp(&self) -> Option<RpId> {
        AsciiDomain::try_from(self.rp_id.clone())
            .ok()
            .map(RpId::Domain)
    }

    /// The ceremony's timeout in milliseconds, as WebAuthn takes it.
    pub(crate) fn timeout_ms(&self) -> std::num::NonZeroU32 {
        std::num::NonZeroU32::new(self.timeout_seconds.saturating_mul(1000))
            .unwrap_or(std::num::NonZeroU32::MIN)
    }
}

/// An origin is `https://<host>[:port]` (plain `http` only on localhost, for local runs) whose
/// host is the RP id or a name under it: the browser refuses any other pairing, and a typo
/// here would make every ceremony fail.
pub(crate) fn check_origin(rp_id: &str, origin: &str) -> Result<(), ConfigError> {
    let bad = |why: &str| ConfigError::Invalid {
        var: "PASSKEY_ORIGINS",
        value: origin.to_owned(),
        why: why.to_owned(),
    };
    let rest = match origin.split_once("://") {
        Some(("https", rest)) => rest,
        Some(("http", rest)) if rest.split(':').next() == Some("localhost") => rest,
        _ => {
            return Err(bad(
                "expected https://<host>[:port] (plain http only on localhost)",
            ));
        }
    };
    let host = match rest.rsplit_once(':') {
        Some((host, port)) if port.parse::<u16>().is_ok() => host,
        Some(_) => return Err(bad("the port is not a number")),
        None => rest,
    };
    if host.contains(['/', '?', '#', '@']) || host.is_empty() {
        return Err(bad("an origin has no path, query or user"));
    }
    if !host.is_ascii() {
        // Browsers send the ASCII form, so this origin would never match an answer.
        return Err(bad("write an internationalized host in its xn-- form"));
    }
    let host = host.to_ascii_lowercase();
    if host == rp_id || host.ends_with(&format!(".{rp_id}")) {
        Ok(())
    } else {
        Err(bad("its host must be PASSKEY_RP_ID or a name under it"))
    }
}
