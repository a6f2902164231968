//! Unit tests of the JWT checks and the JWKS cache.

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
        const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
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
