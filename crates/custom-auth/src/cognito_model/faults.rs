//! The model with failing dependencies: code delivery, the CAPTCHA provider, the JWKS.

use super::*;

#[test]
fn failing_delivery_is_a_trigger_error_not_tokens() {
    let mut cognito = Cognito::new(config("email-otp"));
    cognito.sender.fail = Some(crate::ports::DependencyError::Timeout);
    assert_eq!(block_on(cognito.sign_in(None, right)), End::TriggerError);
}

#[test]
fn failing_captcha_provider_fails_closed() {
    let mut cognito = Cognito::new(config("captcha"));
    cognito.captcha.fail = Some(crate::ports::DependencyError::Timeout);
    assert_eq!(block_on(cognito.sign_in(None, right)), End::Failed);
    assert_eq!(cognito.captcha.calls.load(Ordering::SeqCst), 3);
}

#[test]
fn jwks_keys_by_kid_with_bounded_refetch_and_stale_fallback() {
    let cfg = config_with(
        "signed-token",
        &[
            ("SIGNED_TOKEN_SECRET", ""),
            (
                "SIGNED_TOKEN_JWKS_URL",
                "https://issuer.example.com/jwks.json",
            ),
        ],
    );
    let es = EncodingKey::from_ec_pem(keys::EC_PRIVATE).unwrap();
    let token = |kid: &str| {
        let mut h = Header::new(Algorithm::ES256);
        h.kid = Some(kid.into());
        Value::String(jsonwebtoken::encode(&h, &json!({"sub": SUB, "exp": T0 + 300}), &es).unwrap())
    };
    let mut cognito = Cognito::new(cfg);
    *cognito.jwks.document.lock().unwrap() = Some(keys::jwks(&["k1"]));
    assert_eq!(
        block_on(cognito.sign_in(None, |_| token("k1"))),
        End::Tokens
    );
    assert_eq!(
        block_on(cognito.sign_in(None, |_| token("k1"))),
        End::Tokens
    );
    assert_eq!(
        cognito.jwks.fetches.load(Ordering::SeqCst),
        1,
        "cached across sign-ins"
    );

    // Unknown kid: one refetch, then rate-limited, so three tries cost one fetch.
    cognito.now += crate::jwt::JWKS_MIN_REFETCH_SECONDS;
    assert_eq!(
        block_on(cognito.sign_in(None, |_| token("k9"))),
        End::Failed
    );
    assert_eq!(cognito.jwks.fetches.load(Ordering::SeqCst), 2);

    // Rotation: after the rate limit, an unknown kid is fetched and accepted.
    *cognito.jwks.document.lock().unwrap() = Some(keys::jwks(&["k1", "k2"]));
    cognito.now += crate::jwt::JWKS_MIN_REFETCH_SECONDS;
    assert_eq!(
        block_on(cognito.sign_in(None, |_| token("k2"))),
        End::Tokens
    );

    // Endpoint down and the set past its age: the cached key keeps working.
    *cognito.jwks.document.lock().unwrap() = None;
    cognito.now += crate::jwt::JWKS_MAX_AGE_SECONDS + 1;
    let fresh = |kid: &str, now: u64| {
        let mut h = Header::new(Algorithm::ES256);
        h.kid = Some(kid.into());
        Value::String(
            jsonwebtoken::encode(&h, &json!({"sub": SUB, "exp": now + 300}), &es).unwrap(),
        )
    };
    let now = cognito.now;
    assert_eq!(
        block_on(cognito.sign_in(None, |_| fresh("k1", now))),
        End::Tokens
    );
}
