//! The DynamoDB store against a loopback endpoint that misbehaves: every failure is an error
//! (callers fail closed) within 2.5 seconds, and garbage is never read as "allowed".

use std::time::{Duration, Instant};

use custom_auth::passkey::{PasskeyStore, PasskeyUse, StoredPasskey};
use custom_auth::ports::DependencyError;
use custom_auth::store::{Admission, Limits, OneTime, SendGate, StateStore};
use test_support::{Behaviour, FakeServer, dynamodb, refused_url};

use crate::dynamo::DynamoStore;
use crate::kms::KmsKey;

fn store(url: &str) -> DynamoStore {
    DynamoStore::at_endpoint("auth-state", url)
}

/// What each store call returned, as text, with how long it took.
async fn calls(store: &DynamoStore) -> Vec<(&'static str, String, Duration)> {
    let limits = Limits::default();
    let token = OneTime {
        key: "t#1".into(),
        expires_at: 2_000_000_000,
        kind: custom_auth::store::OneTimeKind::Spent,
    };
    let mut out = Vec::new();
    let started = Instant::now();
    let r = store.record_send("u#1", 1_800_000_000, &limits).await;
    out.push(("record_send", format!("{r:?}"), started.elapsed()));
    let started = Instant::now();
    let r = store.record_failure("u#1", 1_800_000_000, &limits).await;
    out.push(("record_failure", format!("{r:?}"), started.elapsed()));
    let started = Instant::now();
    let r = store.admit("u#1", &[], 1_800_000_000, &limits).await;
    out.push(("admit", format!("{r:?}"), started.elapsed()));
    let started = Instant::now();
    let r = store
        .admit("u#1", std::slice::from_ref(&token), 1_800_000_000, &limits)
        .await;
    out.push(("admit token", format!("{r:?}"), started.elapsed()));
    let started = Instant::now();
    let r = store.take("c#1", 1_800_000_000).await;
    out.push(("take", format!("{r:?}"), started.elapsed()));
    // Passkeys: Create's read, Verify's counter write (in the admission), the API's calls.
    let used = OneTime {
        key: "a#1".into(),
        kind: custom_auth::store::OneTimeKind::PasskeyUse(PasskeyUse {
            owner: "p#1".into(),
            id: vec![1, 2, 3],
            sign_count: 7,
            dynamic: vec![1, 0, 7, 0, 0, 0, 1],
            used_at: 1_800_000_000,
        }),
        ..token.clone()
    };
    let started = Instant::now();
    let r = store
        .admit("u#1", std::slice::from_ref(&used), 1_800_000_000, &limits)
        .await;
    out.push(("admit passkey", format!("{r:?}"), started.elapsed()));
    let started = Instant::now();
    let r = store.passkeys("p#1").await;
    out.push(("passkeys", format!("{r:?}"), started.elapsed()));
    let passkey = StoredPasskey {
        id: vec![1, 2, 3],
        public_key: vec![1],
        dynamic: vec![1, 0, 1, 0, 0, 0, 1],
        sign_count: 1,
        transports: vec![4],
        name: "Key".into(),
        created_at: 1_800_000_000,
        last_used_at: None,
    };
    let started = Instant::now();
    let holder = custom_auth::passkey::Holder {
        user: "jane".into(),
        handle: vec![7; 32],
    };
    let r = store.add_passkey("p#1", &passkey, &holder, 10).await;
    out.push(("add_passkey", format!("{r:?}"), started.elapsed()));
    let started = Instant::now();
    let r = store.discover(&[1, 2, 3]).await;
    out.push(("discover", format!("{r:?}"), started.elapsed()));
    let started = Instant::now();
    let r = store.remove_passkey("p#1", &[1, 2, 3]).await;
    out.push(("remove_passkey", format!("{r:?}"), started.elapsed()));
    let started = Instant::now();
    let r = store
        .begin_registration("p#1", "state", 1_800_000_060)
        .await;
    out.push(("begin_registration", format!("{r:?}"), started.elapsed()));
    let started = Instant::now();
    let r = store.take_registration("p#1", 1_800_000_000).await;
    out.push(("take_registration", format!("{r:?}"), started.elapsed()));
    out
}

#[tokio::test]
async fn store_faults_fail_closed_within_bounds() {
    let table = dynamodb::faults();
    let mut cases = Vec::new();
    for (what, behaviour) in table {
        let server = FakeServer::start(behaviour).await;
        cases.push((what, server.url.clone(), Some(server)));
    }
    cases.push(("refused", refused_url().await, None));
    for (what, url, _server) in cases {
        for (call, result, took) in calls(&store(&url)).await {
            // A take that finds nothing to take is as closed as an error: no value, no tokens.
            let closed = result.starts_with("Err(")
                || (matches!(call, "take" | "take_registration") && result == "Ok(None)");
            assert!(closed, "{what} {call}: {result}");
            assert!(
                took < Duration::from_millis(2500),
                "{what} {call}: {took:?}"
            );
        }
    }
    // A hung endpoint is a time-out, not a refusal.
    let hung = FakeServer::start(Behaviour::Hang).await;
    let got = store(&hung.url)
        .record_send("u#1", 1, &Limits::default())
        .await;
    assert_eq!(got, Err(DependencyError::Timeout));
}

#[tokio::test]
async fn answers_are_read_as_the_rules_say() {
    // A write that goes through allows; a refusal whose old item shows a full window refuses;
    // one that shows a lock says locked. The requests carry the conditions.
    let ok = FakeServer::start(dynamodb::answer(200, "{}")).await;
    let limits = Limits::default();
    let now = 1_800_000_000u64;
    assert_eq!(
        store(&ok.url).record_send("u#1", now, &limits).await,
        Ok(SendGate::Allowed)
    );
    let request = ok.requests().pop().expect("a request");
    assert!(
        request.contains("DynamoDB_20120810.UpdateItem"),
        "{request}"
    );
    assert!(
        request.contains("attribute_not_exists(sendsUntil)"),
        "{request}"
    );
    assert!(request.contains(r#""ReturnValuesOnConditionCheckFailure":"ALL_OLD""#));

    let refused = |item: String| {
        format!(
            r#"{{"__type":"com.amazonaws.dynamodb.v20120810#ConditionalCheckFailedException","message":"m","Item":{item}}}"#
        )
    };
    let full = refused(format!(
        r#"{{"pk":{{"S":"u#1"}},"sends":{{"N":"5"}},"sendsUntil":{{"N":"{}"}}}}"#,
        now + 10
    ));
    let server = FakeServer::start(dynamodb::answer(400, &full)).await;
    assert_eq!(
        store(&server.url).record_send("u#1", now, &limits).await,
        Ok(SendGate::OverLimit)
    );
    let locked = refused(format!(
        r#"{{"pk":{{"S":"u#1"}},"fails":{{"N":"10"}},"failsUntil":{{"N":"{}"}}}}"#,
        now + 10
    ));
    let server = FakeServer::start(dynamodb::answer(400, &locked)).await;
    assert_eq!(
        store(&server.url).record_send("u#1", now, &limits).await,
        Ok(SendGate::Locked)
    );
    let item = format!(
        r#"{{"Item":{{"pk":{{"S":"u#1"}},"fails":{{"N":"10"}},"failsUntil":{{"N":"{}"}}}}}}"#,
        now + 10
    );
    let server = FakeServer::start(dynamodb::answer(200, &item)).await;
    assert_eq!(
        store(&server.url).admit("u#1", &[], now, &limits).await,
        Ok(Admission::Locked)
    );
    let canceled = |codes: &str| {
        format!(
            r#"{{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","message":"m","CancellationReasons":[{codes}]}}"#
        )
    };
    let token = OneTime {
        key: "t#1".into(),
        expires_at: now + 60,
        kind: custom_auth::store::OneTimeKind::Spent,
    };
    for (reasons, want) in [
        (
            r#"{"Code":"None"},{"Code":"ConditionalCheckFailed"}"#,
            Ok(Admission::Replayed),
        ),
        (
            r#"{"Code":"ConditionalCheckFailed"},{"Code":"None"}"#,
            Ok(Admission::Locked),
        ),
        (
            r#"{"Code":"None"},{"Code":"ThrottlingError"}"#,
            Err(DependencyError::Failed),
        ),
    ] {
        let server = FakeServer::start(dynamodb::answer(400, &canceled(reasons))).await;
        assert_eq!(
            store(&server.url)
                .admit("u#1", std::slice::from_ref(&token), now, &limits)
                .await,
            want,
            "{reasons}"
        );
    }
}

/// KMS's answer in its JSON protocol (1.1).
fn kms(status: u16, body: &str) -> Behaviour {
    Behaviour::Respond(status, "application/x-amz-json-1.1", body.to_owned())
}

fn kms_error(kind: &str) -> Behaviour {
    kms(400, &format!(r#"{{"__type":"{kind}","message":"m"}}"#))
}

/// The magic links' KMS key (Create: `Sign` per link, `GetPublicKey` for Verify's rounds) at an
/// endpoint that misbehaves: each call is an error within 2.5 seconds, never a signature or a
/// key made of garbage.
#[tokio::test]
async fn kms_faults_fail_closed_within_bounds() {
    let mut cases = Vec::new();
    for (what, behaviour) in [
        ("hang", Behaviour::Hang),
        ("500", kms(500, "{}")),
        ("throttled", kms_error("ThrottlingException")),
        ("disabled key", kms_error("DisabledException")),
        ("access denied", kms_error("AccessDeniedException")),
        ("not json", kms(200, "<html>")),
        ("no signature or key", kms(200, "{}")),
        ("not a DER signature", kms(200, r#"{"Signature":"AAAA"}"#)),
    ] {
        let server = FakeServer::start(behaviour).await;
        cases.push((what, server.url.clone(), Some(server)));
    }
    cases.push(("refused", refused_url().await, None));
    for (what, url, _server) in cases {
        let key = KmsKey::at_endpoint("alias/links", &url);
        let started = Instant::now();
        let signed = key.sign(b"mk1.payload").await;
        assert!(signed.is_err(), "{what} sign: {signed:?}");
        let public = key.public_key().await;
        // "not a DER signature" answers `{"Signature":..}` to GetPublicKey too: no key in it.
        assert!(public.is_err(), "{what} public key: {public:?}");
        assert!(
            started.elapsed() < Duration::from_millis(5000),
            "{what}: {:?} for two calls",
            started.elapsed()
        );
    }
}

/// The public key is read once and kept; a failed read is not kept, and the next call tries
/// again.
#[tokio::test]
async fn the_links_public_key_is_read_once() {
    use base64::Engine;
    let server = FakeServer::start(kms(500, "{}")).await;
    let key = KmsKey::at_endpoint("alias/links", &server.url);
    assert!(key.public_key().await.is_err());
    let der = [0x30u8, 0x59, 1, 2, 3];
    let body = format!(
        r#"{{"KeyId":"k","PublicKey":"{}"}}"#,
        base64::engine::general_purpose::STANDARD.encode(der)
    );
    server.set(kms(200, &body));
    let asked = server.requests().len();
    assert_eq!(key.public_key().await, Ok(der.to_vec()));
    assert_eq!(key.public_key().await, Ok(der.to_vec()));
    assert_eq!(server.requests().len(), asked + 1, "one GetPublicKey");
}
