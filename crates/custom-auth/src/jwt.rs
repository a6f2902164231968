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
mod tests {
    use super::*;
    use crate::testing::keys;
    use jsonwebtoken::{EncodingKey, Header, encode};
    use serde_json::json;

    const NOW: u64 = 1_800_000_000;

    fn sign(alg: Algorithm, key: &EncodingKey, claims: Value, kid: Option<&str>) -> String {
        let mut header = Header::new(alg);
        header.kid = kid.map(str::to_owned);
        encode(&header, &claims, key).unwrap()
    }

    fn good() -> Value {
        json!({"sub": "user-sub", "exp": NOW + 60, "iat": NOW, "iss": "https://issuer", "aud": ["a", "client"]})
    }

    fn with(mut v: Value, k: &str, x: Value) -> Value {
        v[k] = x;
        v
    }

    fn without(mut v: Value, k: &str) -> Value {
        v.as_object_mut().unwrap().remove(k);
        v
    }

    #[test]
    fn table() {
        let hs = VerifyingKey::hs256(keys::HS_SECRET);
        let es = VerifyingKey::from_public_pem(keys::EC_PUBLIC).unwrap();
        let rs = VerifyingKey::from_public_pem(keys::RSA_PUBLIC).unwrap();
        let ed = VerifyingKey::from_public_pem(keys::ED_PUBLIC).unwrap();
        assert_eq!(es.algorithm(), Algorithm::ES256);
        assert_eq!(rs.algorithm(), Algorithm::RS256);
        assert_eq!(ed.algorithm(), Algorithm::EdDSA);
        let hs_enc = EncodingKey::from_secret(keys::HS_SECRET);
        let es_enc = EncodingKey::from_ec_pem(keys::EC_PRIVATE).unwrap();
        let rs_enc = EncodingKey::from_rsa_pem(keys::RSA_PRIVATE).unwrap();
        let ed_enc = EncodingKey::from_ed_pem(keys::ED_PRIVATE).unwrap();
        // HS256 "signed" with the RSA public key as the secret: the classic confusion attack.
        let confused = EncodingKey::from_secret(keys::RSA_PUBLIC);
        let rules = TokenRules {
            subject: "user-sub",
            issuer: Some("https://issuer"),
            audience: Some("client"),
        };
        let none_token = {
            use base64_helper::b64;
            format!(
                "{}.{}.",
                b64(br#"{"alg":"none","typ":"JWT"}"#),
                b64(good().to_string().as_bytes())
            )
        };
        use TokenRejection::*;
        let table: Vec<(&str, String, &VerifyingKey, Result<(), TokenRejection>)> = vec![
            (
                "hs256 ok",
                sign(Algorithm::HS256, &hs_enc, good(), None),
                &hs,
                Ok(()),
            ),
            (
                "es256 ok",
                sign(Algorithm::ES256, &es_enc, good(), None),
                &es,
                Ok(()),
            ),
            (
                "rs256 ok",
                sign(Algorithm::RS256, &rs_enc, good(), None),
                &rs,
                Ok(()),
            ),
            (
                "eddsa ok",
                sign(Algorithm::EdDSA, &ed_enc, good(), None),
                &ed,
                Ok(()),
            ),
            ("alg none", none_token, &hs, Err(Malformed)),
            (
                "hs/rs confusion",
                sign(Algorithm::HS256, &confused, good(), None),
                &rs,
                Err(BadSignature),
            ),
            (
                "wrong key",
                sign(
                    Algorithm::HS256,
                    &EncodingKey::from_secret(b"another secret of thirty-two bytes!"),
                    good(),
                    None,
                ),
                &hs,
                Err(BadSignature),
            ),
            (
                "es token, rs key",
                sign(Algorithm::ES256, &es_enc, good(), None),
                &rs,
                Err(BadSignature),
            ),
            (
                "hs384 with hs key",
                sign(Algorithm::HS384, &hs_enc, good(), None),
                &hs,
                Err(BadSignature),
            ),
            (
                "expired",
                sign(
                    Algorithm::HS256,
                    &hs_enc,
                    with(good(), "exp", json!(NOW - 31)),
                    None,
                ),
                &hs,
                Err(Expired),
            ),
            (
                "exp within leeway",
                sign(
                    Algorithm::HS256,
                    &hs_enc,
                    with(good(), "exp", json!(NOW - 5)),
                    None,
                ),
                &hs,
                Ok(()),
            ),
            (
                "missing exp",
                sign(Algorithm::HS256, &hs_enc, without(good(), "exp"), None),
                &hs,
                Err(Expired),
            ),
            (
                "string exp",
                sign(
                    Algorithm::HS256,
                    &hs_enc,
                    with(good(), "exp", json!("9999999999")),
                    None,
                ),
                &hs,
                Err(Expired),
            ),
            (
                "future nbf",
                sign(
                    Algorithm::HS256,
                    &hs_enc,
                    with(good(), "nbf", json!(NOW + 3600)),
                    None,
                ),
                &hs,
                Err(NotYetValid),
            ),
            (
                "future iat",
                sign(
                    Algorithm::HS256,
                    &hs_enc,
                    with(good(), "iat", json!(NOW + 3600)),
                    None,
                ),
                &hs,
                Err(NotYetValid),
            ),
            (
                "iat within leeway",
                sign(
                    Algorithm::HS256,
                    &hs_enc,
                    with(good(), "iat", json!(NOW + 10)),
                    None,
                ),
                &hs,
                Ok(()),
            ),
            (
                "wrong sub",
                sign(
                    Algorithm::HS256,
                    &hs_enc,
                    with(good(), "sub", json!("user-sub2")),
                    None,
                ),
                &hs,
                Err(WrongSubject),
            ),
            (
                "sub case",
                sign(
                    Algorithm::HS256,
                    &hs_enc,
                    with(good(), "sub", json!("USER-SUB")),
                    None,
                ),
                &hs,
                Err(WrongSubject),
            ),
            (
                "numeric sub",
                sign(
                    Algorithm::HS256,
                    &hs_enc,
                    with(good(), "sub", json!(1)),
                    None,
                ),
                &hs,
                Err(WrongSubject),
            ),
            (
                "missing sub",
                sign(Algorithm::HS256, &hs_enc, without(good(), "sub"), None),
                &hs,
                Err(WrongSubject),
            ),
            (
                "wrong iss",
                sign(
                    Algorithm::HS256,
                    &hs_enc,
                    with(good(), "iss", json!("https://evil")),
                    None,
                ),
                &hs,
                Err(WrongIssuer),
            ),
            (
                "wrong aud",
                sign(
                    Algorithm::HS256,
                    &hs_enc,
                    with(good(), "aud", json!("other")),
                    None,
                ),
                &hs,
                Err(WrongAudience),
            ),
            (
                "aud string",
                sign(
                    Algorithm::HS256,
                    &hs_enc,
                    with(good(), "aud", json!("client")),
                    None,
                ),
                &hs,
                Ok(()),
            ),
            ("garbage", "not.a.jwt".to_owned(), &hs, Err(Malformed)),
            ("empty", String::new(), &hs, Err(Malformed)),
        ];
        for (name, token, key, want) in table {
            assert_eq!(
                verify_token(&token, key, &rules, NOW).map(|_| ()),
                want,
                "{name}"
            );
        }
        // Tampering with the payload breaks the signature.
        let token = sign(Algorithm::ES256, &es_enc, good(), None);
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged = base64_helper::b64(with(good(), "sub", json!("admin")).to_string().as_bytes());
        parts[1] = &forged;
        assert_eq!(
            verify_token(&parts.join("."), &es, &rules, NOW),
            Err(BadSignature)
        );
    }

    #[test]
    fn facts_for_single_use() {
        let hs = VerifyingKey::hs256(keys::HS_SECRET);
        let enc = EncodingKey::from_secret(keys::HS_SECRET);
        let rules = TokenRules {
            subject: "user-sub",
            issuer: None,
            audience: None,
        };
        let facts = |claims| {
            verify_token(
                &sign(Algorithm::HS256, &enc, claims, None),
                &hs,
                &rules,
                NOW,
            )
        };
        let with_id = facts(with(good(), "jti", json!("id-1"))).unwrap();
        assert_eq!(
            with_id,
            TokenFacts {
                id: Some("id-1".into()),
                issuer: "https://issuer".into(),
                expires_at: NOW + 60 + LEEWAY_SECONDS,
            }
        );
        let table: &[(Value, Option<&str>, &str)] = &[
            (good(), None, "https://issuer"),
            (with(good(), "jti", json!("")), None, "https://issuer"),
            (with(good(), "jti", json!(7)), None, "https://issuer"),
            (
                without(with(good(), "jti", json!("x")), "iss"),
                Some("x"),
                "",
            ),
        ];
        for (claims, id, issuer) in table {
            let got = facts(claims.clone()).unwrap();
            assert_eq!(got.id.as_deref(), *id, "{claims}");
            assert_eq!(got.issuer, *issuer, "{claims}");
        }
    }

    #[test]
    fn empty_expected_subject_never_matches() {
        let hs = VerifyingKey::hs256(keys::HS_SECRET);
        let token = sign(
            Algorithm::HS256,
            &EncodingKey::from_secret(keys::HS_SECRET),
            with(good(), "sub", json!("")),
            None,
        );
        let rules = TokenRules {
            subject: "",
            issuer: None,
            audience: None,
        };
        assert_eq!(
            verify_token(&token, &hs, &rules, NOW),
            Err(TokenRejection::WrongSubject)
        );
    }

    #[test]
    fn jwks_parsing_and_cache() {
        let doc = keys::jwks(&["k1"]);
        let parsed = parse_jwks(doc.as_bytes()).unwrap();
        assert_eq!(parsed.get("k1").unwrap().algorithm(), Algorithm::ES256);
        assert!(parse_jwks(b"{\"keys\": 5}").is_none());
        assert!(
            parse_jwks(br#"{"keys":[{"kty":"oct","kid":"s","k":"c2VjcmV0"}]}"#)
                .unwrap()
                .is_empty()
        );

        let cache = JwksCache::new();
        assert!(cache.get("k1", NOW).is_none());
        assert!(cache.begin_fetch(NOW));
        assert!(!cache.begin_fetch(NOW + 1), "rate limited");
        assert!(cache.store(doc.as_bytes(), NOW));
        assert!(cache.get("k1", NOW + 10).is_some());
        assert!(cache.get("k2", NOW + 10).is_none());
        assert!(
            !cache.store(b"garbage", NOW + 40),
            "bad document keeps the old keys"
        );
        assert!(cache.get("k1", NOW + 40).is_some());
        assert!(
            cache.get("k1", NOW + JWKS_MAX_AGE_SECONDS).is_none(),
            "too old"
        );
        assert!(cache.get_stale("k1").is_some());
        assert!(cache.begin_fetch(NOW + JWKS_MIN_REFETCH_SECONDS));
    }

    mod base64_helper {
        pub fn b64(bytes: &[u8]) -> String {
            const T: &[u8; 64] =
                b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
            let mut out = String::new();
            for chunk in bytes.chunks(3) {
                let n = chunk
                    .iter()
                    .enumerate()
                    .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
                let chars = chunk.len() + 1;
                for i in 0..chars {
                    out.push(T[((n >> (18 - 6 * i)) & 63) as usize] as char);
                }
            }
            out
        }
    }
}
