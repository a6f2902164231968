//! Passkeys (WebAuthn): registration after sign-in ([`register`]), and the `passkey` sign-in
//! step ([`sign_in`]).
//!
//! The WebAuthn parsing and checks (CBOR, COSE keys, attestation `none` and `packed`
//! self-attestation, the client data, the authenticator data's flags, signatures in ES256,
//! EdDSA and RS256, the signature counter) are the `webauthn_rp` crate's: pure Rust, no
//! OpenSSL. This module decides what goes into a ceremony and where its state lives: a
//! registration's in the state store for `PASSKEY_TIMEOUT_SECONDS`, a sign-in's in Cognito's
//! private challenge parameters (the client never sees them). Credentials live in the state
//! store behind [`PasskeyStore`]; a sign-in reads them once in Create and writes their new
//! signature counter once in Verify, in the same atomic request that admits the answer.

pub mod api;
pub mod notice;
pub mod register;
pub mod sign_in;
mod store;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use webauthn_rp::request::register::{CoseAlgorithmIdentifier, CoseAlgorithmIdentifiers};
use webauthn_rp::request::{AsciiDomain, RpId, UserVerificationRequirement};

use crate::config::env::{ConfigError, Secret, number};
use crate::keys::hmac_sha256;

#[cfg(any(test, feature = "conformance"))]
pub use store::conformance;
pub use store::{Added, PasskeyStore, PasskeyUse, StoredPasskey};

/// Length of the user handle the authenticator keeps (bytes).
pub const USER_HANDLE_BYTES: usize = 32;

/// The most passkeys one user may hold.
pub const MAX_PASSKEYS: usize = 10;

/// The most bytes of a browser's registration or assertion JSON accepted.
pub const MAX_RESPONSE_BYTES: usize = 16 * 1024;

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
    fn requirement(self) -> UserVerificationRequirement {
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

    fn rp(&self) -> Option<RpId> {
        AsciiDomain::try_from(self.rp_id.clone())
            .ok()
            .map(RpId::Domain)
    }

    fn timeout_ms(&self) -> std::num::NonZeroU32 {
        std::num::NonZeroU32::new(self.timeout_seconds.saturating_mul(1000))
            .unwrap_or(std::num::NonZeroU32::MIN)
    }
}

/// An origin is `https://<host>[:port]` (plain `http` only on localhost, for local runs) whose
/// host is the RP id or a name under it: the browser refuses any other pairing, and a typo
/// here would make every ceremony fail.
fn check_origin(rp_id: &str, origin: &str) -> Result<(), ConfigError> {
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

/// The algorithms a new passkey may use: ES256, EdDSA and RS256 (what platform authenticators
/// and security keys make); ES384 is not asked for.
fn algorithms() -> CoseAlgorithmIdentifiers {
    CoseAlgorithmIdentifiers::ALL.remove(CoseAlgorithmIdentifier::Es384)
}

/// The WebAuthn user handle of a person: 32 bytes of a keyed hash of pool and `sub` (see
/// [`owner_key`] for why not the name). The authenticator keeps it and returns it on sign-in;
/// it is neither the name, nor the `sub`, nor the e-mail address, and tells nothing without
/// the key.
pub fn user_handle(key: &Secret, pool: &str, sub: &str) -> [u8; USER_HANDLE_BYTES] {
    hmac_sha256(
        key.expose().as_bytes(),
        &[
            b"passkey user handle\0",
            pool.as_bytes(),
            b"\0",
            sub.as_bytes(),
        ],
    )
}

/// Base64url without padding, as WebAuthn's JSON writes binary.
pub fn b64(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Standard base64 (with padding), as API Gateway encodes bodies; `None` for anything else.
pub fn unb64_standard(text: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(text).ok()
}

/// The inverse of [`b64`]; `None` for anything else.
pub fn unb64(text: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(text).ok()
}

#[cfg(test)]
mod tests;
