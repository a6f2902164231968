//! Checking the backend-signed JWT of the `signed-token` step.
//!
//! The key decides the algorithm, never the token: a key is stored with the one algorithm it
//! may verify, so `alg: none` and HS/RS confusion are refused before any signature check.
//! `jsonwebtoken` checks the signature only; every claim is checked here against a clock the
//! caller hands in, so tests can move time.

use std::collections::HashMap;
use std::sync::Mutex;

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, JwkSet, KeyAlgorithm};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

/// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
pub const LEEWAY_SECONDS: u64 = 30;

/// A key together with the single algorithm it may verify.
#[derive(Clone)]
pub struct VerifyingKey {
    alg: Algorithm,
    key: DecodingKey,
}

impl std::fmt::Debug for VerifyingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never print key material: an HS256 key is a secret.
        write!(f, "VerifyingKey({:?})", self.alg)
    }
}

impl VerifyingKey {
    /// An HS256 shared secret.
    pub fn hs256(secret: &[u8]) -> VerifyingKey {
        VerifyingKey {
            alg: Algorithm::HS256,
            key: DecodingKey::from_secret(secret),
        }
    }

    /// A PEM public key: RSA (RS256), EC P-256 (ES256) or Ed25519 (EdDSA).
    pub fn from_public_pem(pem: &[u8]) -> Option<VerifyingKey> {
        type Parse = fn(&[u8]) -> jsonwebtoken::errors::Result<DecodingKey>;
        let candidates: [(Algorithm, Parse); 3] = [
            (Algorithm::RS256, DecodingKey::from_rsa_pem),
            (Algorithm::ES256, DecodingKey::from_ec_pem),
            (Algorithm::EdDSA, DecodingKey::from_ed_pem),
        ];
        candidates
            .into_iter()
            .find_map(|(alg, parse)| parse(pem).ok().map(|key| VerifyingKey { alg, key }))
    }

    /// A public JWK: RSA, EC P-256 or OKP Ed25519. Symmetric (`oct`) keys are refused, since a
    /// key set is public.
    pub fn from_jwk(jwk: &Jwk) -> Option<VerifyingKey> {
        let alg = match (&jwk.algorithm, &jwk.common.key_algorithm) {
            (AlgorithmParameters::RSA(_), None | Some(KeyAlgorithm::RS256)) => Algorithm::RS256,
            (AlgorithmParameters::EllipticCurve(p), None | Some(KeyAlgorithm::ES256))
                if p.curve == EllipticCurve::P256 =>
            {
                Algorithm::ES256
            }
            (AlgorithmParameters::OctetKeyPair(p), None | Some(KeyAlgorithm::EdDSA))
                if p.curve == EllipticCurve::Ed25519 =>
            {
                Algorithm::EdDSA
            }
            _ => return None,
        };
        let key = DecodingKey::from_jwk(jwk).ok()?;
        Some(VerifyingKey { alg, key })
    }

    /// The algorithm this key verifies.
    pub fn algorithm(&self) -> Algorithm {
        self.alg
    }
}

/// The claims rules besides the signature.
#[derive(Clone, Debug, Default)]
pub struct TokenRules<'a> {
    /// The user's `sub` attribute, which the token's `sub` must equal exactly.
    pub subject: &'a str,
    /// The required `iss`, when configured.
    pub issuer: Option<&'a str>,
    /// The required `aud` (a string, or one entry of an array), when configured.
    pub audience: Option<&'a str>,
}

/// Why a token was refused. Logged as a kind; the token itself never is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenRejection {
    /// Not a JWT, or a header that names no usable algorithm (`none` included).
    Malformed,
    /// No key for the token's `kid`.
    UnknownKey,
    /// The token's `alg` is not the key's algorithm, or the signature does not verify.
    BadSignature,
    /// `exp` missing, not a number, or past.
    Expired,
    /// `nbf` or `iat` in the future.
    NotYetValid,
    /// `sub` missing or not the user's.
    WrongSubject,
    /// `iss` does not match.
    WrongIssuer,
    /// `aud` does not match.
    WrongAudience,
    /// No `jti`, while the state store makes tokens single-use.
    NoTokenId,
}

/// The `kid` of a token's header, read without trusting anything else in it.
pub fn token_kid(token: &str) -> Result<Option<String>, TokenRejection> {
    jsonwebtoken::decode_header(token)
        .map(|h| h.kid)
        .map_err(|_| TokenRejection::Malformed)
}

/// What a verified token says that single use needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenFacts {
    /// `jti`, when the token has a non-empty string one.
    pub id: Option<String>,
    /// `iss`, or empty.
    pub issuer: String,
    /// `exp`, in whole seconds.
    pub expires_at: u64,
}

/// Checks signature and claims of `token` with `key` at time `now` (Unix seconds).
pub fn verify_token(
    token: &str,
    key: &VerifyingKey,
    rules: &TokenRules<'_>,
    now: u64,
) -> Result<TokenFacts, TokenRejection> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| TokenRejection::Malformed)?;
    if header.alg != key.alg {
        return Err(TokenRejection::BadSignature);
    }
    let mut validation = Validation::new(key.alg);
    validation.required_spec_claims.clear();
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    let claims =
        jsonwebtoken::decode::<serde_json::Map<String, Value>>(token, &key.key, &validation)
            .map_err(|e| match e.kind() {
                jsonwebtoken::errors::ErrorKind::InvalidSignature
                | jsonwebtoken::errors::ErrorKind::InvalidAlgorithm => TokenRejection::BadSignature,
                _ => TokenRejection::Malformed,
            })?
            .claims;

    let time = |name: &str| claims.get(name).and_then(Value::as_f64);
    let now = now as f64;
    let leeway = LEEWAY_SECONDS as f64;
    let expires_at = match time("exp") {
        Some(exp) if exp + leeway > now => exp,
        _ => return Err(TokenRejection::Expired),
    };
    for name in ["nbf", "iat"] {
        match claims.get(name) {
            None => {}
            Some(v) => match v.as_f64() {
                Some(t) if t <= now + leeway => {}
                _ => return Err(TokenRejection::NotYetValid),
            },
        }
    }
    if rules.subject.is_empty() || claims.get("sub").and_then(Value::as_str) != Some(rules.subject)
    {
        return Err(TokenRejection::WrongSubject);
    }
    if let Some(issuer) = rules.issuer
        && claims.get("iss").and_then(Value::as_str) != Some(issuer)
    {
        return Err(TokenRejection::WrongIssuer);
    }
    if let Some(audience) = rules.audience {
        let ok = match claims.get("aud") {
            Some(Value::String(aud)) => aud == audience,
            Some(Value::Array(auds)) => auds.iter().any(|a| a.as_str() == Some(audience)),
            _ => false,
        };
        if !ok {
            return Err(TokenRejection::WrongAudience);
        }
    }
    let text = |name: &str| claims.get(name).and_then(Value::as_str).map(str::to_owned);
    Ok(TokenFacts {
        id: text("jti").filter(|j| !j.is_empty()),
        issuer: text("iss").unwrap_or_default(),
        // The record of a used token lives until the token would be refused anyway.
        expires_at: (expires_at + leeway).max(0.0).ceil() as u64,
    })
}

/// Parses a JWKS document into the keys this project can use, by `kid`. Keys without a `kid`,
/// symmetric keys and unsupported curves are skipped.
pub fn parse_jwks(document: &[u8]) -> Option<HashMap<String, VerifyingKey>> {
    let set: JwkSet = serde_json::from_slice(document).ok()?;
    Some(
        set.keys
            .iter()
            .filter_map(|jwk| Some((jwk.common.key_id.clone()?, VerifyingKey::from_jwk(jwk)?)))
            .collect(),
    )
}

/// Seconds a fetched key set is used before it is refreshed.
pub const JWKS_MAX_AGE_SECONDS: u64 = 3600;
/// Least seconds between two fetches, so unknown `kid`s cannot make us hammer the endpoint.
pub const JWKS_MIN_REFETCH_SECONDS: u64 = 30;

#[derive(Default)]
struct CacheState {
    keys: HashMap<String, VerifyingKey>,
    fetched_at: Option<u64>,
    last_try: Option<u64>,
}

/// A JWKS cache kept across invocations. Pure bookkeeping: the caller fetches, this decides
/// when a fetch is due and what to keep when one fails (the old keys, so a down endpoint does
/// not lock users out).
#[derive(Default)]
pub struct JwksCache {
    state: Mutex<CacheState>,
}

impl JwksCache {
    /// An empty cache.
    pub fn new() -> JwksCache {
        JwksCache::default()
    }

    /// The cached key for `kid`, if present and the set is not too old.
    pub fn get(&self, kid: &str, now: u64) -> Option<VerifyingKey> {
        let state = self.state.lock().ok()?;
        let fresh = state
            .fetched_at
            .is_some_and(|t| now.saturating_sub(t) < JWKS_MAX_AGE_SECONDS);
        if fresh {
            state.keys.get(kid).cloned()
        } else {
            None
        }
    }

    /// Whether a fetch may start now (rate limit), recording the attempt if so.
    pub fn begin_fetch(&self, now: u64) -> bool {
        let Ok(mut state) = self.state.lock() else {
            return false;
        };
        if state
            .last_try
            .is_some_and(|t| now.saturating_sub(t) < JWKS_MIN_REFETCH_SECONDS)
        {
            return false;
        }
        state.last_try = Some(now);
        true
    }

    /// Stores a fetched document; an unusable one keeps the old keys.
    pub fn store(&self, document: &[u8], now: u64) -> bool {
        let Some(keys) = parse_jwks(document) else {
            return false;
        };
        if let Ok(mut state) = self.state.lock() {
            state.keys = keys;
            state.fetched_at = Some(now);
            return true;
        }
        false
    }

    /// The cached key for `kid` whatever its age: the fallback while the endpoint is down.
    pub fn get_stale(&self, kid: &str) -> Option<VerifyingKey> {
        self.state.lock().ok()?.keys.get(kid).cloned()
    }
}

#[cfg(test)]
mod tests;
