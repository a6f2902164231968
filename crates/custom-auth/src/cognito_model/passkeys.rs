//! Signing in with a passkey and no name typed, through the model of Cognito's loop, on a real
//! discoverable assertion (`events/passkey/es256-discoverable.json`): the name route names the
//! holder, the sign-in under that name ends in tokens, and the same answer again does not.

use super::*;
use crate::config::env::Secret;
use crate::passkey::discover;
use crate::passkey::{Holder, MAX_PASSKEYS, PasskeyStore, StoredPasskey, unb64};

const STATE_KEY: &str = "passkey-fixture-state-key-0123456789abcdef";

/// What the page sends in the `PASSKEY` round, and to the name route: the fixture's assertion
/// with its state (expiry moved past the model's clock) sealed under the key.
pub(super) fn no_name_answer(f: &Value) -> String {
    let sealed = f["discoverable"]["state"].as_str().unwrap();
    let (state, _) = sealed.split_once('.').unwrap();
    let mut bytes = unb64(state).unwrap();
    bytes[18..26].copy_from_slice(&4_000_000_000u64.to_le_bytes());
    let state = discover::seal(&Secret::new(STATE_KEY), &bytes);
    json!({ "credential": f["discoverable"]["answer"], "state": state }).to_string()
}

pub(super) fn cognito_for(f: &Value) -> Cognito {
    let config = config_with(
        "passkey|email-otp",
        &[
            ("AUTH_STATE_TABLE", "auth-state"),
            ("AUTH_STATE_KEY", STATE_KEY),
            ("PASSKEY_RP_ID", "localhost"),
            ("PASSKEY_ORIGINS", f["origin"].as_str().unwrap()),
        ],
    );
    let mut cognito = Cognito::new(config);
    cognito.pool = Some(f["pool"].as_str().unwrap().to_owned());
    cognito
        .attributes
        .insert("sub".into(), f["sub"].as_str().unwrap().to_owned());
    let (pool, sub) = (f["pool"].as_str().unwrap(), f["sub"].as_str().unwrap());
    let key = Secret::new(STATE_KEY);
    let passkey = StoredPasskey {
        id: unb64(f["passkey"]["id"].as_str().unwrap()).unwrap(),
        public_key: unb64(f["passkey"]["publicKey"].as_str().unwrap()).unwrap(),
        dynamic: unb64(f["passkey"]["dynamic"].as_str().unwrap()).unwrap(),
        sign_count: f["passkey"]["signCount"].as_u64().unwrap() as u32,
        transports: vec![0],
        name: "Phone".into(),
        created_at: 1,
        last_used_at: None,
    };
    let holder = Holder {
        user: f["holder"]["user"].as_str().unwrap().to_owned(),
        handle: unb64(f["holder"]["handle"].as_str().unwrap()).unwrap(),
    };
    let owner = crate::keys::owner_key(&key, pool, sub);
    let added = block_on(
        cognito
            .store
            .add_passkey(&owner, &passkey, &holder, MAX_PASSKEYS),
    );
    assert_eq!(added, Ok(crate::passkey::Added::Added));
    cognito
}

#[test]
fn a_passkey_without_a_name_signs_its_holder_in_once() {
    let f = fixture::<Value>("passkey/es256-discoverable.json");
    let mut cognito = cognito_for(&f);
    let answer = no_name_answer(&f);
    let settings = cognito.config.passkey.clone().unwrap();
    let key = Secret::new(STATE_KEY);
    // The page learns the name from the passkey alone.
    let name = block_on(discover::name(
        &settings,
        &key,
        &cognito.store,
        answer.as_bytes(),
    ));
    assert_eq!(name, Ok("jane".to_owned()));
    cognito.user_name = name.unwrap();

    // Then signs in under it: the passkey branch, answered with the same assertion.
    let reply = |p: &Prompt<'_>| match p.public[public::CHALLENGE].as_str() {
        "CHOOSE" => Value::String("passkey".into()),
        "PASSKEY" => Value::String(answer.clone()),
        other => panic!("unexpected challenge {other}"),
    };
    assert_eq!(block_on(cognito.sign_in(None, reply)), End::Tokens);

    // The same answer again (a replay, or a second tab): its challenge was spent, so every
    // round refuses it and the sign-in fails.
    assert_eq!(block_on(cognito.sign_in(None, reply)), End::Failed);
    let passkey_rounds = cognito
        .shown
        .iter()
        .filter(|p| p[public::CHALLENGE] == "PASSKEY")
        .count();
    assert!(passkey_rounds > 2, "the replay was tried in each round");
}

#[test]
fn a_passkey_without_a_name_does_not_sign_in_another_person_under_its_holders_name() {
    let f = fixture::<Value>("passkey/es256-discoverable.json");
    let mut cognito = cognito_for(&f);
    let answer = no_name_answer(&f);
    // The name was given to someone else since: another `sub`, who holds no passkey.
    cognito
        .attributes
        .insert("sub".into(), "0b9e6a52-7c1d-4f3e-9a2b-5d4c3b2a1f00".into());
    let reply = |p: &Prompt<'_>| match p.public[public::CHALLENGE].as_str() {
        "CHOOSE" => Value::String("passkey".into()),
        "PASSKEY" => Value::String(answer.clone()),
        other => panic!("unexpected challenge {other}"),
    };
    assert_eq!(block_on(cognito.sign_in(None, reply)), End::Failed);
}
