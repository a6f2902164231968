//! Signing in without a name, on a real discoverable assertion (`es256-discoverable.json`):
//! the name route answers a name only for a valid assertion over a challenge the service
//! sealed, and Verify's path without a name checks everything a named round checks, against
//! the passkeys Create offered for the user behind the name.

use serde_json::{Value, json};

use super::sign_in::{stored, verify_event};
use super::*;
use crate::passkey::discover::{self, NameError};
use crate::steps::answer::PasskeyRejection;
use crate::steps::passkey::discoverable;
use crate::store::{Admission, Limits, OneTime, StateStore};

fn fixture() -> Value {
    load("es256-discoverable")
}

/// The captured sealed state, its expiry moved into the future and sealed again under `key`.
pub(super) fn fresh_state(f: &Value, key: &Secret) -> String {
    let sealed = f["discoverable"]["state"].as_str().unwrap();
    let (state, _) = sealed.split_once('.').unwrap();
    let moved = sign_in_state(state);
    discover::seal(key, &unb64(&moved).unwrap())
}

/// The captured sealed state, expired (in 2023) and sealed again under the key.
fn expired_state(f: &Value) -> String {
    let fresh = fresh_state(f, &key());
    let (state, _) = fresh.split_once('.').unwrap();
    let mut bytes = unb64(state).unwrap();
    bytes[18..26].copy_from_slice(&1_700_000_000u64.to_le_bytes());
    discover::seal(&key(), &bytes)
}

fn answer(credential: &Value, state: &str) -> Value {
    json!({ "credential": credential, "state": state })
}

/// A store holding the fixture's passkey under its holder.
async fn store_with(f: &Value, holder: Holder) -> MemoryStore {
    let store = MemoryStore::default();
    let (pool, sub) = caller(f);
    let added = store
        .add_passkey(
            &owner_key(&key(), &pool, &sub),
            &stored(f, "Fixture"),
            &holder,
            MAX_PASSKEYS,
        )
        .await;
    assert_eq!(added, Ok(Added::Added));
    store
}

fn holder(f: &Value) -> Holder {
    Holder {
        user: f["holder"]["user"].as_str().unwrap().to_owned(),
        handle: unb64(f["holder"]["handle"].as_str().unwrap()).unwrap(),
    }
}

#[test]
fn options_are_a_discoverable_ceremony_sealed_under_the_key() {
    let (options, sealed) = discover::options(&settings(), &key()).unwrap();
    assert_eq!(options["rpId"], "localhost");
    assert_eq!(options["userVerification"], "required");
    assert_eq!(
        options["allowCredentials"],
        json!([]),
        "no credential named"
    );
    assert_eq!(options["challenge"].as_str().map(str::len), Some(22));
    assert!(
        discover::open(&key(), &sealed).is_some(),
        "opens under the key"
    );
    assert!(
        discover::open(
            &Secret::new("another-state-key-0123456789abcdefghij"),
            &sealed
        )
        .is_none(),
        "not under another key"
    );
    let (_, again) = discover::options(&settings(), &key()).unwrap();
    assert_ne!(sealed, again, "a fresh challenge each time");
    // The seal covers every byte of the state.
    let (state, mac) = sealed.split_once('.').unwrap();
    let mut bytes = unb64(state).unwrap();
    bytes[0] ^= 1;
    assert!(discover::open(&key(), &format!("{}.{mac}", b64(&bytes))).is_none());
    for garbage in ["", ".", "x.y", &sealed.replace('.', ""), &"A".repeat(600)] {
        assert!(discover::open(&key(), garbage).is_none(), "{garbage:?}");
    }
}

#[tokio::test]
async fn the_name_route_names_the_holder_only_for_a_valid_assertion() {
    let f = fixture();
    let settings = settings();
    let state = fresh_state(&f, &key());
    let credential = &f["discoverable"]["answer"];
    let store = store_with(&f, holder(&f)).await;
    async fn name(
        settings: &PasskeySettings,
        store: &MemoryStore,
        body: Value,
    ) -> Result<String, NameError> {
        discover::name(settings, &key(), store, body.to_string().as_bytes()).await
    }
    assert_eq!(
        name(&settings, &store, answer(credential, &state)).await,
        Ok("jane".to_owned())
    );

    let other_key = Secret::new("another-state-key-0123456789abcdefghij");
    let mut other_handle = credential.clone();
    other_handle["response"]["userHandle"] = json!(b64(&[7u8; 32]));
    let mut bad_signature = credential.clone();
    let signature = unb64(credential["response"]["signature"].as_str().unwrap()).unwrap();
    let mut flipped = signature.clone();
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    bad_signature["response"]["signature"] = json!(b64(&flipped));
    let cases: Vec<(&str, Value)> = vec![
        (
            "sealed under another key",
            answer(credential, &fresh_state(&f, &other_key)),
        ),
        ("an expired state", answer(credential, &expired_state(&f))),
        (
            "another challenge",
            answer(
                &with_client_data(credential, |d| d["challenge"] = json!(b64(&[1u8; 16]))),
                &state,
            ),
        ),
        (
            "another origin",
            answer(
                &with_client_data(credential, |d| d["origin"] = json!("http://evil.example")),
                &state,
            ),
        ),
        ("another user handle", answer(&other_handle, &state)),
        ("a signature not by the key", answer(&bad_signature, &state)),
        ("no state", json!({ "credential": credential })),
        ("a bare assertion", credential.clone()),
        ("not JSON", json!("jane")),
    ];
    for (why, body) in cases {
        assert_eq!(
            name(&settings, &store, body).await,
            Err(NameError::Refused),
            "{why}"
        );
    }

    // A passkey nobody holds, one held under another handle, and a failing store.
    let empty = MemoryStore::default();
    assert_eq!(
        name(&settings, &empty, answer(credential, &state)).await,
        Err(NameError::Refused),
        "unknown credential"
    );
    let mut elsewhere = holder(&f);
    elsewhere.handle = vec![9; 32];
    let store_elsewhere = store_with(&f, elsewhere).await;
    assert_eq!(
        name(&settings, &store_elsewhere, answer(credential, &state)).await,
        Err(NameError::Refused),
        "registered to another handle"
    );
    let failing = MemoryStore::failing(crate::ports::DependencyError::Timeout);
    assert_eq!(
        name(&settings, &failing, answer(credential, &state)).await,
        Err(NameError::Unavailable)
    );
}

/// The round Create built for the fixture's holder, its state moved into the future.
fn round(f: &Value) -> Value {
    let mut private = f["signIn"]["private"].clone();
    let state = sign_in_state(private["passkeyState"].as_str().unwrap());
    private["passkeyState"] = json!(state);
    private
}

fn verify(f: &Value, private: &Value, body: &Value, sub: Option<&str>) -> Result<OneTime, Wrong> {
    let event = verify_event(f, private, body, sub);
    let (response, sealed) = discover::parse_answer(body.to_string().as_bytes())
        .ok_or(Wrong::Passkey(PasskeyRejection::Malformed))?;
    discoverable(&config("required"), &event, &response, &sealed, now())
}

#[tokio::test]
async fn verify_signs_in_without_a_name_only_with_this_users_passkey_over_a_sealed_challenge() {
    let f = fixture();
    let state = fresh_state(&f, &key());
    let credential = &f["discoverable"]["answer"];
    let record = verify(&f, &round(&f), &answer(credential, &state), None).expect("signs in");
    let used = record.passkey().cloned().expect("a passkey use");
    let (pool, sub) = caller(&f);
    assert_eq!(used.owner, owner_key(&key(), &pool, &sub));
    assert_eq!(b64(&used.id), f["passkey"]["id"]);
    assert!(record.key.starts_with("a#"));

    let challenge = Wrong::Passkey(PasskeyRejection::Challenge);
    let ceremony = Wrong::Passkey(PasskeyRejection::Ceremony);
    let other_key = Secret::new("another-state-key-0123456789abcdefghij");
    let mut other_handle = credential.clone();
    other_handle["response"]["userHandle"] = json!(b64(&[7u8; 32]));
    let mut not_offered = round(&f);
    not_offered["passkeys"] = json!("[]");
    let cases: Vec<(&str, Value, Value, Option<&str>, Wrong)> = vec![
        (
            "a state the service did not seal",
            round(&f),
            answer(credential, &fresh_state(&f, &other_key)),
            None,
            challenge,
        ),
        (
            "an expired state",
            round(&f),
            answer(credential, &expired_state(&f)),
            None,
            ceremony,
        ),
        (
            "another challenge",
            round(&f),
            answer(
                &with_client_data(credential, |d| d["challenge"] = json!(b64(&[1u8; 16]))),
                &state,
            ),
            None,
            ceremony,
        ),
        (
            "another origin",
            round(&f),
            answer(
                &with_client_data(credential, |d| d["origin"] = json!("http://evil.example")),
                &state,
            ),
            None,
            ceremony,
        ),
        (
            "another user handle",
            round(&f),
            answer(&other_handle, &state),
            None,
            ceremony,
        ),
        (
            "a passkey this round did not offer",
            not_offered,
            answer(credential, &state),
            None,
            Wrong::Passkey(PasskeyRejection::NotOffered),
        ),
        (
            // The name was given to another person since: another `sub`, another handle.
            "the holder's name now another person's",
            round(&f),
            answer(credential, &state),
            Some("0b9e6a52-7c1d-4f3e-9a2b-5d4c3b2a1f00"),
            ceremony,
        ),
    ];
    for (why, private, body, sub, want) in cases {
        assert_eq!(
            verify(&f, &private, &body, sub).map(|_| ()),
            Err(want),
            "{why}"
        );
    }

    // An unknown name never passes.
    let mut event = verify_event(&f, &round(&f), &answer(credential, &state), None);
    event.request.user_not_found = true;
    let (response, sealed) =
        discover::parse_answer(answer(credential, &state).to_string().as_bytes()).unwrap();
    assert_eq!(
        discoverable(&config("required"), &event, &response, &sealed, now()).map(|_| ()),
        Err(Wrong::Decoy)
    );

    // The store spends the challenge once: the same answer again is a replay.
    let store = store_with(&f, holder(&f)).await;
    let limits = Limits::default();
    assert_eq!(
        store
            .admit("u#jane", std::slice::from_ref(&record), now(), &limits)
            .await,
        Ok(Admission::Admitted)
    );
    let again = verify(&f, &round(&f), &answer(credential, &state), None).expect("checks again");
    assert_eq!(again.key, record.key, "the same challenge, the same record");
    assert_eq!(
        store
            .admit("u#jane", std::slice::from_ref(&again), now(), &limits)
            .await,
        Ok(Admission::Replayed)
    );
}
