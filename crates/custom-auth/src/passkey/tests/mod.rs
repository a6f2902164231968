//! Unit tests of passkeys, on real authenticator outputs: `events/passkey/*.json`, captured
//! from headless Chromium's virtual authenticator by `examples/passkey_fixtures.rs` (the
//! registration ceremony, then a `PASSKEY` round built by the real Create). Each WebAuthn check
//! is refused by a case of its own, made by changing one thing of a genuine output.
//!
//! The captured ceremony states expire two minutes after their capture (the crate checks
//! against the system clock). The tests move that expiry into the future at its place in the
//! encoding, after checking that the bytes there are a time near the capture; and one case per
//! ceremony keeps the state as captured, to show that an expired ceremony is refused.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};

use super::register::{Caller, RegistrationError, check_registration};
use super::*;
use crate::config::Config;
use crate::keys::owner_key;
use crate::steps::answer::Wrong;
use crate::store::MemoryStore;
use crate::testing::{config_with, fixture};

pub(super) const STATE_KEY: &str = "passkey-fixture-state-key-0123456789abcdef";
pub(super) const ORIGIN: &str = "http://localhost:4700";
pub(super) const ALGORITHMS: [&str; 3] = ["es256", "eddsa", "rs256"];

/// Why, the settings, the state, the browser's answer, who registers, and the outcome.
pub(super) type RegistrationCase<'a> = (
    &'a str,
    PasskeySettings,
    &'a str,
    &'a Value,
    Option<&'a str>,
    RegistrationError,
);

/// Why, the configuration, the round's private parameters, the answer, and the outcome.
pub(super) type SignInCase<'a> = (&'a str, &'a Config, &'a Value, &'a Value, Result<(), Wrong>);

pub(super) fn load(name: &str) -> Value {
    fixture(&format!("passkey/{name}.json"))
}

pub(super) fn config(verification: &str) -> Config {
    config_with(
        "passkey",
        &[
            ("AUTH_STATE_TABLE", "auth-state"),
            ("AUTH_STATE_KEY", STATE_KEY),
            ("PASSKEY_RP_ID", "localhost"),
            ("PASSKEY_ORIGINS", ORIGIN),
            ("PASSKEY_USER_VERIFICATION", verification),
        ],
    )
}

pub(super) fn key() -> Secret {
    Secret::new(STATE_KEY)
}

/// The clock of now: the fixtures' registrations carry real times.
pub(super) fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// `state` with the 8 bytes at `at` (its expiry, Unix seconds, little-endian) set to 2096.
pub(super) fn far_future(state: &str, at: impl Fn(usize) -> usize) -> String {
    let mut bytes = unb64(state).unwrap();
    let at = at(bytes.len());
    let captured = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
    assert!(
        (1_750_000_000..2_500_000_000).contains(&captured),
        "no expiry at byte {at} of the state: the encoding changed ({captured})"
    );
    bytes[at..at + 8].copy_from_slice(&4_000_000_000u64.to_le_bytes());
    b64(&bytes)
}

/// A registration state's expiry comes before its 32-byte user handle.
pub(super) fn registration_state(f: &Value) -> String {
    far_future(f["registration"]["state"].as_str().unwrap(), |len| len - 44)
}

/// A sign-in state's expiry follows its challenge (16), user verification (1) and extensions (1).
pub(super) fn sign_in_state(state: &str) -> String {
    far_future(state, |_| 18)
}

pub(super) fn settings() -> PasskeySettings {
    config("required").passkey.unwrap()
}

/// The fixture's pool and its user's `sub` (what passkeys are keyed by).
pub(super) fn caller(f: &Value) -> (String, String) {
    (
        f["pool"].as_str().unwrap().to_owned(),
        f["sub"].as_str().unwrap().to_owned(),
    )
}

/// `clientDataJSON` of `response` changed by `change`.
pub(super) fn with_client_data(response: &Value, change: impl Fn(&mut Value)) -> Value {
    let mut response = response.clone();
    let encoded = response["response"]["clientDataJSON"].as_str().unwrap();
    let mut data: Value = serde_json::from_slice(&unb64(encoded).unwrap()).unwrap();
    change(&mut data);
    response["response"]["clientDataJSON"] = json!(URL_SAFE_NO_PAD.encode(data.to_string()));
    response
}

pub(super) fn register(
    settings: &PasskeySettings,
    f: &Value,
    state: &str,
    credential: &Value,
    user: Option<&str>,
) -> Result<StoredPasskey, RegistrationError> {
    let (pool, owner) = caller(f);
    let caller = Caller {
        pool: &pool,
        user: f["user"].as_str().unwrap(),
        sub: user.unwrap_or(&owner),
    };
    check_registration(settings, &key(), caller, state, credential, now())
}

#[test]
fn settings_are_read_and_checked() {
    let base = [
        ("AUTH_STATE_TABLE", "auth-state"),
        ("AUTH_STATE_KEY", STATE_KEY),
        ("PASSKEY_RP_ID", "example.com"),
        (
            "PASSKEY_ORIGINS",
            "https://example.com, https://app.example.com:8443/",
        ),
    ];
    let read = |extra: &[(&str, &str)]| {
        let mut vars: std::collections::HashMap<&str, &str> = base.into_iter().collect();
        for (k, v) in extra {
            if v.is_empty() {
                vars.remove(k);
            } else {
                vars.insert(k, v);
            }
        }
        PasskeySettings::from_lookup(
            &|k: &str| vars.get(k).map(|v| v.to_string()),
            vars.contains_key("AUTH_STATE_TABLE"),
        )
    };
    let ok = read(&[]).unwrap();
    assert_eq!(
        ok.origins,
        ["https://example.com", "https://app.example.com:8443"]
    );
    assert_eq!(ok.user_verification, Verification::Required);
    assert_eq!(ok.timeout_seconds, 120);
    assert_eq!(
        read(&[
            ("PASSKEY_USER_VERIFICATION", "preferred"),
            ("PASSKEY_TIMEOUT_SECONDS", "60")
        ])
        .map(|s| (s.user_verification, s.timeout_seconds))
        .ok(),
        Some((Verification::Preferred, 60))
    );
    let errors: &[(&[(&str, &str)], &str)] = &[
        (&[("AUTH_STATE_TABLE", "")], "AUTH_STATE_TABLE"),
        (&[("PASSKEY_RP_ID", "")], "PASSKEY_RP_ID is required"),
        (
            &[("PASSKEY_RP_ID", "https://example.com")],
            "PASSKEY_RP_ID=",
        ),
        (&[("PASSKEY_ORIGINS", "")], "PASSKEY_ORIGINS is required"),
        (&[("PASSKEY_ORIGINS", "https://evil.example")], "under it"),
        (&[("PASSKEY_ORIGINS", "https://notexample.com")], "under it"),
        (
            &[("PASSKEY_ORIGINS", "http://example.com")],
            "plain http only on localhost",
        ),
        (
            &[("PASSKEY_ORIGINS", "https://example.com/signin")],
            "no path",
        ),
        (
            &[("PASSKEY_ORIGINS", "https://bücher.example.com")],
            "xn-- form",
        ),
        (
            &[("PASSKEY_USER_VERIFICATION", "always")],
            "PASSKEY_USER_VERIFICATION=",
        ),
        (
            &[("PASSKEY_TIMEOUT_SECONDS", "5")],
            "PASSKEY_TIMEOUT_SECONDS=",
        ),
    ];
    for (extra, want) in errors {
        let message = read(extra).unwrap_err().to_string();
        assert!(message.contains(want), "{extra:?}: {message}");
    }
}

#[test]
fn user_handles_and_keys_are_the_persons_and_hide_who_it_is() {
    let sub = "7d3f0c1e-0000-4000-8000-000000000001";
    let handle = user_handle(&key(), "pool", sub);
    assert_ne!(
        handle,
        user_handle(&key(), "pool", "7d3f0c1e-0000-4000-8000-000000000002")
    );
    assert_ne!(handle, user_handle(&key(), "other-pool", sub));
    assert_ne!(
        handle,
        user_handle(
            &Secret::new("another-key-0123456789abcdef0123456789"),
            "pool",
            sub
        )
    );
    let owner = owner_key(&key(), "pool", sub);
    assert!(owner.starts_with("p#") && !owner.contains(sub));
    assert_ne!(
        owner,
        owner_key(&key(), "pool", "7d3f0c1e-0000-4000-8000-000000000002")
    );
}

mod api;
mod discover;
mod registration;
mod sign_in;
