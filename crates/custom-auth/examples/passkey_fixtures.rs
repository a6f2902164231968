//! Captures the passkey fixtures of the unit tests (`events/passkey/*.json`) from a real
//! browser: headless Chromium with a virtual authenticator (tests/browser/authenticator.mjs)
//! registers a passkey through this crate's registration ceremony and signs in through a
//! `PASSKEY` round built by the real Create, for each algorithm we ask for.
//!
//!   cargo run -p custom-auth --example passkey_fixtures     (needs `make web chromium`)
//!   cargo run -p custom-auth --example passkey_fixtures -- discoverable
//!
//! The second captures only `es256-discoverable.json`: a passkey signing in without a name
//! (a discoverable ceremony from `passkey::discover::options`, answered with the user handle),
//! beside the round Create builds for its holder, so both the name route and Verify's path
//! without a name are tested on a real assertion.
//!
//! The authenticator's private keys land in the fixtures: test keys, which sign nothing real.

use std::collections::HashMap;
use std::process::Command;

use custom_auth::Config;
use custom_auth::events::CreateAuthChallengeEvent;
use custom_auth::keys::owner_key;
use custom_auth::passkey::register::{self, Caller};
use custom_auth::passkey::{PasskeyStore, b64};
use custom_auth::ports::{CodeMessage, CodeSender, DependencyError};
use custom_auth::store::MemoryStore;
use serde_json::{Value, json};

/// The page's port in the fixtures: their origin is `http://localhost:4700`.
const PORT: u16 = 4700;
const POOL: &str = "us-east-1_Fixtures";
/// The `sub` of every fixture user: passkeys and user handles are keyed by it. The fixtures in
/// `events/passkey/` were captured when both came from the user name, so their `sub` is the
/// name; a new capture uses this.
const SUB: &str = "7d3f0c1e-0000-4000-8000-00000000f1c5";

struct NoMail;
impl CodeSender for NoMail {
    async fn send(&self, _: &CodeMessage) -> Result<(), DependencyError> {
        Ok(())
    }
    async fn imitate_send(&self) {}
}

fn config(verification: &str) -> Config {
    let vars: HashMap<&str, String> = HashMap::from([
        ("AUTH_FLOW", "passkey".to_owned()),
        ("AUTH_STATE_TABLE", "fixtures".to_owned()),
        (
            "AUTH_STATE_KEY",
            "passkey-fixture-state-key-0123456789abcdef".to_owned(),
        ),
        ("PASSKEY_RP_ID", "localhost".to_owned()),
        ("PASSKEY_ORIGINS", format!("http://localhost:{PORT}")),
        ("PASSKEY_USER_VERIFICATION", verification.to_owned()),
    ]);
    Config::from_lookup(|k| vars.get(k).cloned()).expect("fixture config")
}

fn authenticator(input: Value) -> Value {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
    let out = Command::new("node")
        .arg(format!("{root}/tests/browser/authenticator.mjs"))
        .arg(input.to_string())
        .output()
        .expect("node");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("authenticator output")
}

async fn capture(name: &str, alg: i64, user: &str, verification: &str, verified: bool) {
    capture_with(name, alg, user, verification, verified, false).await;
}

async fn capture_with(
    name: &str,
    alg: i64,
    user: &str,
    verification: &str,
    verified: bool,
    discoverable: bool,
) {
    let config = config(verification);
    let settings = config.passkey.as_ref().expect("passkey settings");
    let key = &config.state.as_ref().expect("state").key;
    let store = MemoryStore::default();
    let caller = Caller {
        pool: POOL,
        user,
        sub: SUB,
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());

    let mut options = register::start(settings, key, &store, caller, now)
        .await
        .expect("start");
    options["pubKeyCredParams"] = json!([{"type": "public-key", "alg": alg}]);
    let owner = owner_key(key, POOL, SUB);
    let state = store
        .take_registration(&owner, now)
        .await
        .expect("take")
        .expect("pending");
    store
        .begin_registration(&owner, &state, now + 120)
        .await
        .expect("begin");
    let created = authenticator(json!({
        "port": PORT, "ceremony": "create", "options": options, "userVerified": verified,
    }));
    let body = json!({"credential": created["response"], "name": "Fixture"});
    register::finish(
        settings,
        key,
        &store,
        caller,
        body.to_string().as_bytes(),
        now,
    )
    .await
    .expect("finish");
    let passkey = store.passkeys(&owner).await.expect("passkeys").remove(0);

    let mut event: CreateAuthChallengeEvent = serde_json::from_value(json!({
        "version": "1", "region": "us-east-1", "userPoolId": POOL, "userName": user,
        "triggerSource": "CreateAuthChallenge_Authentication",
        "callerContext": {"awsSdkVersion": "aws-sdk-rust", "clientId": "fixtureclient"},
        "request": {"userAttributes": {"sub": SUB}, "challengeName": "CUSTOM_CHALLENGE",
                    "session": [], "userNotFound": false},
        "response": {}
    }))
    .expect("event");
    custom_auth::create(&config, &mut event, &NoMail, &store, &mut rand::rng(), now)
        .await
        .expect("create");
    let options: Value =
        serde_json::from_str(&event.response.public_challenge_parameters["options"])
            .expect("options");
    let got = authenticator(json!({
        "port": PORT, "ceremony": "get", "options": options, "userVerified": verified,
        "credentials": created["credentials"],
    }));
    let mut fixture = json!({
        "comment": "Captured by `cargo run -p custom-auth --example passkey_fixtures` from headless Chromium's virtual authenticator. Test keys only.",
        "origin": created["origin"], "alg": alg, "pool": POOL, "user": user, "sub": SUB,
        "verification": verification,
        "registration": {"state": state, "credential": created["response"]},
        "passkey": {
            "id": b64(&passkey.id), "publicKey": b64(&passkey.public_key),
            "dynamic": b64(&passkey.dynamic), "signCount": passkey.sign_count,
            "transports": passkey.transports,
        },
        "signIn": {
            "private": event.response.private_challenge_parameters,
            "options": options,
            "answer": got["response"],
        },
        "authenticator": got["credentials"],
    });
    if discoverable {
        // Signing in without a name: the service's options and sealed state, and the
        // authenticator's answer with the user handle it keeps.
        let (options, state) =
            custom_auth::passkey::discover::options(settings, key).expect("discoverable options");
        let got = authenticator(json!({
            "port": PORT, "ceremony": "get", "options": options, "userVerified": verified,
            "credentials": created["credentials"],
        }));
        let handle = custom_auth::passkey::user_handle(key, POOL, SUB);
        fixture["holder"] = json!({"user": user, "handle": b64(&handle)});
        fixture["discoverable"] = json!({
            "options": options, "state": state, "answer": got["response"],
        });
    }
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../../events/passkey");
    std::fs::create_dir_all(root).expect("mkdir");
    std::fs::write(
        format!("{root}/{name}.json"),
        serde_json::to_string_pretty(&fixture).expect("json") + "\n",
    )
    .expect("write");
    eprintln!("wrote events/passkey/{name}.json");
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if std::env::args().nth(1).as_deref() == Some("discoverable") {
        capture_with("es256-discoverable", -7, "jane", "required", true, true).await;
        return;
    }
    capture("es256", -7, "jane", "required", true).await;
    capture("eddsa", -8, "jane", "required", true).await;
    capture("rs256", -257, "jane", "required", true).await;
    // A touch without verification: the tests hold it to `required`.
    capture("es256-unverified", -7, "jane", "discouraged", false).await;
    // Another user's passkey, for "the credential belongs to this user".
    capture("es256-other-user", -7, "ann", "required", true).await;
}
