//! Dependency faults through the whole Verify trigger with the real HTTP clients: siteverify
//! and JWKS endpoints on loopback that hang, refuse, fail or answer garbage. Every case ends
//! inside 2.5 s with a wrong answer; cached JWKS keys keep working while the endpoint is down;
//! an unknown `kid` refetches once, then not again for 30 s.

use std::path::Path;
use std::time::{Duration, Instant};

use custom_auth::events::VerifyAuthChallengeEvent;
use custom_auth::{Config, TokenKeys};
use serde_json::Value;
use test_support::{Behaviour, FakeServer, dynamodb, refused_url};

use crate::http::{HttpCaptcha, HttpJwks, SharedClient};

/// Inside the tokens' validity (issued 2026-01-01, expiring 2100).
const NOW: u64 = 1_767_225_630;

fn hostile(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../events/hostile")
        .join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn event(name: &str) -> VerifyAuthChallengeEvent {
    serde_json::from_str(&hostile(name)).unwrap()
}

fn config(url: &str) -> Config {
    Config::from_lookup(|k| match k {
        "AUTH_FLOW" => Some("captcha,signed-token".to_owned()),
        "CAPTCHA_SITE_KEY" => Some("site".to_owned()),
        "CAPTCHA_SECRET" => Some("captcha-secret-value".to_owned()),
        "CAPTCHA_VERIFY_URL" => Some(format!("{url}/siteverify")),
        "SIGNED_TOKEN_JWKS_URL" => Some(format!("{url}/jwks")),
        _ => None,
    })
    .unwrap()
}

fn json(status: u16, body: &str) -> Behaviour {
    Behaviour::Respond(status, "application/json", body.to_owned())
}

/// Runs Verify once at `now`; returns `answerCorrect` and asserts the 2.5 s bound.
async fn run(
    config: &Config,
    keys: &TokenKeys<HttpJwks>,
    event: &VerifyAuthChallengeEvent,
    now: u64,
) -> bool {
    let captcha = HttpCaptcha::new(config, SharedClient::default());
    let mut event = event.clone();
    let started = Instant::now();
    let _ = custom_auth::verify(
        config,
        &mut event,
        &captcha,
        keys,
        &custom_auth::store::NoStore,
        now,
    )
    .await;
    let took = started.elapsed();
    assert!(took < Duration::from_millis(2500), "took {took:?}");
    event.response.answer_correct
}

fn keys(config: &Config) -> TokenKeys<HttpJwks> {
    TokenKeys::new(config, HttpJwks::new(config, SharedClient::default()))
}

#[tokio::test]
async fn siteverify_faults_are_wrong_answers() {
    let captcha = event("verify/captcha-rejected.json");
    let table = [
        (json(200, r#"{"success":true}"#), true),
        (json(200, r#"{"success":false}"#), false),
        (json(500, r#"{"success":true}"#), false),
        (json(429, r#"{"success":true}"#), false),
        (json(200, "{not json"), false),
        (json(200, r#"{"success":"true"}"#), false),
        (Behaviour::Hang, false),
    ];
    for (behaviour, want) in table {
        let server = FakeServer::start(behaviour.clone()).await;
        let config = config(&server.url);
        let got = run(&config, &keys(&config), &captcha, NOW).await;
        assert_eq!(got, want, "{behaviour:?}");
    }
    let config = config(&refused_url().await);
    assert!(
        !run(&config, &keys(&config), &captcha, NOW).await,
        "refused"
    );
}

#[tokio::test]
async fn jwks_faults_are_wrong_answers() {
    let token = event("verify/jwt-control.json");
    let table = [
        (json(200, &hostile("jwks.json")), true),
        (json(500, &hostile("jwks.json")), false),
        (json(200, "{not json"), false),
        (json(200, r#"{"keys":"none"}"#), false),
        (
            json(
                200,
                r#"{"keys":[{"kty":"RSA","kid":"rsa-1","n":"AQAB","e":"AQAB"}]}"#,
            ),
            false,
        ),
        (Behaviour::Hang, false),
    ];
    for (behaviour, want) in table {
        let server = FakeServer::start(behaviour.clone()).await;
        let config = config(&server.url);
        let got = run(&config, &keys(&config), &token, NOW).await;
        assert_eq!(
            got,
            want,
            "{}",
            format!("{behaviour:?}")
                .chars()
                .take(80)
                .collect::<String>()
        );
    }
    let config = config(&refused_url().await);
    assert!(
        !run(&config, &keys(&config), &token, NOW).await,
        "unreachable"
    );
}

#[tokio::test]
async fn cached_keys_outlive_the_endpoint_and_rotation_refetches_once() {
    let server = FakeServer::start(json(200, &hostile("jwks.json"))).await;
    let config = config(&server.url);
    let keys = keys(&config);
    let known = event("verify/jwt-control.json");
    let rotated = event("verify/jwt-unknown-kid.json");
    let fetches = || server.requests().len();

    assert!(run(&config, &keys, &known, NOW).await);
    assert_eq!(fetches(), 1);

    // The endpoint goes down: fresh cache, no fetch; expired cache, a bounded fetch that
    // fails, then the stale key.
    for down in [Behaviour::Hang, json(500, "{}")] {
        server.set(down);
        assert!(run(&config, &keys, &known, NOW + 10).await);
    }
    assert_eq!(fetches(), 1, "a fresh cache fetches nothing");
    server.set(Behaviour::Hang);
    assert!(
        run(&config, &keys, &known, NOW + 3_700).await,
        "stale key, endpoint hanging"
    );
    assert_eq!(fetches(), 2);

    // Rotation: a new kid is not in the set yet; one refetch, then none for 30 s.
    let mut document: Value = serde_json::from_str(&hostile("jwks.json")).unwrap();
    let mut new_key = document["keys"][0].clone();
    new_key["kid"] = "rsa-2".into();
    server.set(json(200, &document.to_string()));
    let t = NOW + 4_000;
    assert!(
        !run(&config, &keys, &rotated, t).await,
        "rsa-2 not published yet"
    );
    assert_eq!(fetches(), 3);
    document["keys"].as_array_mut().unwrap().push(new_key);
    server.set(json(200, &document.to_string()));
    assert!(
        !run(&config, &keys, &rotated, t + 29).await,
        "rate limited: no refetch yet"
    );
    assert_eq!(fetches(), 3);
    assert!(
        run(&config, &keys, &rotated, t + 30).await,
        "refetched after 30 s"
    );
    assert_eq!(fetches(), 4);
    assert!(
        run(&config, &keys, &known, t + 31).await,
        "the old key is still published"
    );
    assert_eq!(fetches(), 4);
}

/// The state store through the whole trigger: a right answer passes only when the store
/// admits it; a store that hangs, refuses, fails, throttles, lacks its table or answers garbage
/// makes it wrong, inside 2.5 s.
#[tokio::test]
async fn state_store_faults_are_wrong_answers() {
    let config = Config::from_lookup(|k| match k {
        "AUTH_FLOW" => Some("select-account".to_owned()),
        "AUTH_STATE_TABLE" => Some("auth-state".to_owned()),
        "AUTH_STATE_KEY" => Some("verify-faults-state-key-0123456789".to_owned()),
        _ => None,
    })
    .unwrap();
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../events/verify/select-account-correct.json");
    let right: VerifyAuthChallengeEvent =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut table = vec![("ok", dynamodb::answer(200, "{}"), true)];
    table.extend(
        dynamodb::faults()
            .into_iter()
            .map(|(what, b)| (what, b, false)),
    );
    // The lock read back as garbage.
    let garbage = dynamodb::answer(200, r#"{"Item":{"fails":{"S":"many"}}}"#);
    table.push(("garbage read", garbage, false));
    let mut cases = Vec::new();
    for (what, behaviour, want) in table {
        let server = FakeServer::start(behaviour).await;
        cases.push((what, server.url.clone(), want, Some(server)));
    }
    cases.push(("refused", refused_url().await, false, None));
    let keys = keys(&config);
    let captcha = HttpCaptcha::new(&config, SharedClient::default());
    for (what, url, want, _server) in cases {
        let store = aws_io::DynamoStore::at_endpoint("auth-state", &url);
        let mut event = right.clone();
        let started = Instant::now();
        let _ = custom_auth::verify(&config, &mut event, &captcha, &keys, &store, NOW).await;
        let took = started.elapsed();
        assert!(took < Duration::from_millis(2500), "{what}: {took:?}");
        assert_eq!(event.response.answer_correct, want, "{what}");
    }
}
