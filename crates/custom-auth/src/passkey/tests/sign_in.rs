//! The `passkey` round on real authenticator outputs: Create's options and decoys, each
//! check of Verify, and the store's once-only, growing-counter write.

use serde_json::{Value, json};

use super::*;
use crate::config::Config;
use crate::events::{CreateAuthChallengeEvent, VerifyAuthChallengeEvent};
use crate::keys::owner_key;
use crate::steps::answer::PasskeyRejection;
use crate::steps::answer::Wrong;
use crate::steps::passkey::{assertion, private};
use crate::store::{Admission, Limits, MemoryStore, StateStore};
use crate::testing::{config_with, fixture};

/// A Verify event of `f`'s user answering `answer` to a round with `private` parameters.
pub(super) fn verify_event(
    f: &Value,
    private: &Value,
    answer: &Value,
    sub: Option<&str>,
) -> VerifyAuthChallengeEvent {
    let (pool, owner) = caller(f);
    let mut event: VerifyAuthChallengeEvent = fixture("verify/email-otp-correct.json");
    event.cognito_event_user_pools_header.user_pool_id = Some(pool);
    event.cognito_event_user_pools_header.user_name = Some(f["user"].as_str().unwrap().into());
    event
        .request
        .user_attributes
        .insert("sub".into(), sub.unwrap_or(&owner).to_owned());
    event.request.private_challenge_parameters = serde_json::from_value(private.clone()).unwrap();
    event.request.challenge_answer = Some(json!(answer.to_string()));
    event
}

/// The captured round's private parameters, its state moved into the future.
fn round(f: &Value) -> Value {
    let mut private = f["signIn"]["private"].clone();
    let state = sign_in_state(private[private::STATE].as_str().unwrap());
    private[private::STATE] = json!(state);
    private
}

fn sign_in(
    config: &Config,
    f: &Value,
    private: &Value,
    answer: &Value,
) -> Result<crate::store::OneTime, Wrong> {
    assertion(
        config,
        &verify_event(f, private, answer, None),
        &answer.to_string(),
        now(),
    )
}

#[test]
fn assertions_of_each_algorithm_pass_and_name_the_counter_to_write() {
    for name in ALGORITHMS {
        let f = load(name);
        let answer = &f["signIn"]["answer"];
        let record = sign_in(&config("required"), &f, &round(&f), answer)
            .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let used = record.passkey().cloned().expect("a passkey use");
        assert_eq!(b64(&used.id), f["passkey"]["id"], "{name}");
        let (pool, user) = caller(&f);
        assert_eq!(used.owner, owner_key(&key(), &pool, &user));
        // The virtual authenticator counts: registration 1, this assertion 2.
        assert!(
            used.sign_count > f["passkey"]["signCount"].as_u64().unwrap() as u32,
            "{name}"
        );
        assert!(
            record.key.starts_with("a#") && record.expires_at > now(),
            "{name}"
        );
    }
}

#[test]
fn each_sign_in_check_refuses_its_own_tampering() {
    let f = load("es256");
    let answer = &f["signIn"]["answer"];
    let good = round(&f);
    let ceremony = Err(Wrong::Passkey(PasskeyRejection::Ceremony));

    let mut other_challenge = good.clone();
    other_challenge[private::CHALLENGE] = json!("AAAAAAAAAAAAAAAAAAAAAA");
    let mut captured = good.clone();
    captured[private::STATE] = f["signIn"]["private"][private::STATE].clone();
    let mut not_offered = good.clone();
    not_offered[private::PASSKEYS] = json!("[]");
    // The stored counter ahead of the assertion's: a cloned authenticator.
    let mut counter_ahead = good.clone();
    let passkeys: Vec<[String; 3]> =
        serde_json::from_str(good[private::PASSKEYS].as_str().unwrap()).unwrap();
    let mut dynamic = unb64(&passkeys[0][2]).unwrap();
    dynamic[2..6].copy_from_slice(&1000u32.to_le_bytes());
    let ahead = vec![[
        passkeys[0][0].clone(),
        passkeys[0][1].clone(),
        b64(&dynamic),
    ]];
    counter_ahead[private::PASSKEYS] = json!(serde_json::to_string(&ahead).unwrap());
    // Another key under the same credential id: the signature cannot match.
    let other = load("rs256");
    let other_passkeys: Vec<[String; 3]> = serde_json::from_str(
        other["signIn"]["private"][private::PASSKEYS]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let mut wrong_key = good.clone();
    let swapped = vec![[
        passkeys[0][0].clone(),
        other_passkeys[0][1].clone(),
        passkeys[0][2].clone(),
    ]];
    wrong_key[private::PASSKEYS] = json!(serde_json::to_string(&swapped).unwrap());

    let mut bad_signature = answer.clone();
    let mut signature = unb64(answer["response"]["signature"].as_str().unwrap()).unwrap();
    let last = signature.len() - 1;
    signature[last] ^= 1;
    bad_signature["response"]["signature"] = json!(b64(&signature));
    let create_type = with_client_data(answer, |d| d["type"] = json!("webauthn.create"));
    let forged_origin = with_client_data(answer, |d| d["origin"] = json!("https://evil.example"));
    let cross_origin = with_client_data(answer, |d| d["crossOrigin"] = json!(true));
    let mut no_user_present = answer.clone();
    let mut data = unb64(answer["response"]["authenticatorData"].as_str().unwrap()).unwrap();
    data[32] &= !0x01;
    no_user_present["response"]["authenticatorData"] = json!(b64(&data));
    let mut other_rp_hash = answer.clone();
    let mut data = unb64(answer["response"]["authenticatorData"].as_str().unwrap()).unwrap();
    data[0] ^= 0xff;
    other_rp_hash["response"]["authenticatorData"] = json!(b64(&data));

    let other_origin = config_with(
        "passkey",
        &[
            ("AUTH_STATE_TABLE", "auth-state"),
            ("AUTH_STATE_KEY", STATE_KEY),
            ("PASSKEY_RP_ID", "localhost"),
            ("PASSKEY_ORIGINS", "http://localhost:4701"),
        ],
    );
    let mut other_rp = config("required");
    if let Some(p) = other_rp.passkey.as_mut() {
        p.rp_id = "example.com".into();
    }

    let required = config("required");
    let not_json = json!("hello");
    let no_state = json!({"step": "PASSKEY"});
    let cases: Vec<SignInCase> = vec![
        ("genuine", &required, &good, answer, Ok(())),
        (
            "challenge",
            &required,
            &other_challenge,
            answer,
            Err(Wrong::Passkey(PasskeyRejection::Challenge)),
        ),
        ("expired ceremony", &required, &captured, answer, ceremony),
        (
            "not offered",
            &required,
            &not_offered,
            answer,
            Err(Wrong::Passkey(PasskeyRejection::NotOffered)),
        ),
        (
            "counter did not grow",
            &required,
            &counter_ahead,
            answer,
            ceremony,
        ),
        ("another key", &required, &wrong_key, answer, ceremony),
        ("signature", &required, &good, &bad_signature, ceremony),
        ("type", &required, &good, &create_type, ceremony),
        ("forged origin", &required, &good, &forged_origin, ceremony),
        ("cross origin", &required, &good, &cross_origin, ceremony),
        (
            "user not present",
            &required,
            &good,
            &no_user_present,
            ceremony,
        ),
        ("rp id hash", &required, &good, &other_rp_hash, ceremony),
        ("origin not allowed", &other_origin, &good, answer, ceremony),
        ("rp id", &other_rp, &good, answer, ceremony),
        (
            "not json",
            &required,
            &good,
            &not_json,
            Err(Wrong::Passkey(PasskeyRejection::Malformed)),
        ),
        (
            "missing state",
            &required,
            &no_state,
            answer,
            Err(Wrong::MissingParameters),
        ),
    ];
    for (why, config, private, answer, want) in cases {
        let got = assertion(
            config,
            &verify_event(&f, private, answer, None),
            &answer_text(answer),
            now(),
        );
        assert_eq!(got.map(|_| ()), want, "{why}");
    }
}

fn answer_text(answer: &Value) -> String {
    match answer {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

#[test]
fn user_verification_is_required_when_configured() {
    // Captured with `discouraged`: the authenticator only saw a touch (UV flag clear).
    let f = load("es256-unverified");
    let answer = &f["signIn"]["answer"];
    let touch = round(&f);
    assert!(sign_in(&config("discouraged"), &f, &touch, answer).is_ok());
    // The same round, had Create asked for verification (the state's requirement byte).
    let mut state = unb64(touch[private::STATE].as_str().unwrap()).unwrap();
    let required = unb64(round(&load("es256"))[private::STATE].as_str().unwrap()).unwrap()[16];
    assert_ne!(
        state[16], required,
        "the fixtures differ in user verification"
    );
    state[16] = required;
    let mut demanding = touch.clone();
    demanding[private::STATE] = json!(b64(&state));
    assert_eq!(
        sign_in(&config("required"), &f, &demanding, answer).map(|_| ()),
        Err(Wrong::Passkey(PasskeyRejection::Ceremony))
    );
}

#[test]
fn another_users_passkey_is_refused() {
    let jane = load("es256");
    let ann = load("es256-other-user");
    let ann_answer = &ann["signIn"]["answer"];
    // Ann's authenticator answering Jane's round: not a credential Jane's round offered.
    assert_eq!(
        sign_in(&config("required"), &jane, &round(&jane), ann_answer).map(|_| ()),
        Err(Wrong::Passkey(PasskeyRejection::Challenge))
    );
    // Even with the challenge and the credential list of Ann's round, a sign-in as Jane: Ann's
    // authenticator returns Ann's user handle, not Jane's.
    let event = verify_event(&jane, &round(&ann), ann_answer, Some("jane"));
    assert_eq!(
        assertion(&config("required"), &event, &ann_answer.to_string(), now()).map(|_| ()),
        Err(Wrong::Passkey(PasskeyRejection::Ceremony))
    );
    // As Ann, it passes.
    let event = verify_event(&ann, &round(&ann), ann_answer, None);
    assert!(assertion(&config("required"), &event, &ann_answer.to_string(), now()).is_ok());
}

#[test]
fn unknown_users_never_pass() {
    let f = load("es256");
    let answer = &f["signIn"]["answer"];
    let mut event = verify_event(&f, &round(&f), answer, None);
    event.request.user_not_found = true;
    assert_eq!(
        assertion(&config("required"), &event, &answer.to_string(), now()).map(|_| ()),
        Err(Wrong::Decoy)
    );
}

#[tokio::test]
async fn the_store_writes_each_use_once_and_only_with_a_growing_counter() {
    let f = load("es256");
    let answer = &f["signIn"]["answer"];
    let record = sign_in(&config("required"), &f, &round(&f), answer).unwrap();
    let used = record.passkey().cloned().unwrap();
    let store = MemoryStore::default();
    let passkey = StoredPasskey {
        id: used.id.clone(),
        public_key: unb64(f["passkey"]["publicKey"].as_str().unwrap()).unwrap(),
        dynamic: unb64(f["passkey"]["dynamic"].as_str().unwrap()).unwrap(),
        sign_count: f["passkey"]["signCount"].as_u64().unwrap() as u32,
        transports: vec![0],
        name: "Fixture".into(),
        created_at: 1,
        last_used_at: None,
    };
    assert_eq!(
        store
            .add_passkey(&used.owner, &passkey, &test_holder(), MAX_PASSKEYS)
            .await,
        Ok(Added::Added)
    );
    let limits = Limits::default();
    let user = "u#jane";
    assert_eq!(
        store
            .admit(user, std::slice::from_ref(&record), now(), &limits)
            .await,
        Ok(Admission::Admitted)
    );
    let after = &store.passkeys(&used.owner).await.unwrap()[0];
    assert_eq!(after.sign_count, used.sign_count);
    assert_eq!(after.last_used_at, Some(used.used_at));
    // The same assertion again: its challenge is spent.
    assert_eq!(
        store
            .admit(user, std::slice::from_ref(&record), now(), &limits)
            .await,
        Ok(Admission::Replayed)
    );
    // A new challenge with the same counter (a clone racing the original): refused.
    let clone = crate::store::OneTime {
        key: "a#another-challenge".into(),
        ..record.clone()
    };
    assert_eq!(
        store
            .admit(user, std::slice::from_ref(&clone), now(), &limits)
            .await,
        Ok(Admission::Replayed)
    );
    // A deleted passkey cannot be used.
    assert_eq!(store.remove_passkey(&used.owner, &used.id).await, Ok(true));
    let later = crate::store::OneTime {
        key: "a#third".into(),
        kind: crate::store::OneTimeKind::PasskeyUse(PasskeyUse {
            sign_count: used.sign_count + 1,
            ..used.clone()
        }),
        ..record
    };
    assert_eq!(
        store
            .admit(user, std::slice::from_ref(&later), now(), &limits)
            .await,
        Ok(Admission::Replayed)
    );
}

#[test]
fn counters_must_grow_unless_the_authenticator_keeps_none() {
    let used = |n| PasskeyUse {
        owner: String::new(),
        id: vec![],
        sign_count: n,
        dynamic: vec![],
        used_at: 0,
    };
    for (stored, sent, ok) in [
        (0, 0, true),
        (0, 1, true),
        (1, 2, true),
        (5, 5, false),
        (5, 4, false),
        (5, 0, false),
        (0, u32::MAX, true),
    ] {
        assert_eq!(
            used(sent).counter_ok(stored),
            ok,
            "stored {stored}, sent {sent}"
        );
    }
}

/// The fixture's passkey as the store keeps it, named `name`.
pub(super) fn stored(f: &Value, name: &str) -> StoredPasskey {
    StoredPasskey {
        id: unb64(f["passkey"]["id"].as_str().unwrap()).unwrap(),
        public_key: unb64(f["passkey"]["publicKey"].as_str().unwrap()).unwrap(),
        dynamic: unb64(f["passkey"]["dynamic"].as_str().unwrap()).unwrap(),
        sign_count: 1,
        transports: vec![4],
        name: name.into(),
        created_at: 1,
        last_used_at: None,
    }
}

/// A Create event of `user`, whose `sub` is `user` too (as in the fixtures), or of an unknown
/// name (no attributes).
fn create_event(user: &str, unknown: bool) -> CreateAuthChallengeEvent {
    let attributes = if unknown {
        json!({})
    } else {
        json!({"sub": user})
    };
    serde_json::from_value(json!({
        "version": "1", "region": "us-east-1", "userPoolId": "us-east-1_Fixtures", "userName": user,
        "triggerSource": "CreateAuthChallenge_Authentication",
        "callerContext": {"awsSdkVersion": "aws-sdk-rust", "clientId": "fixtureclient"},
        "request": {"userAttributes": attributes, "challengeName": "CUSTOM_CHALLENGE",
                    "session": [], "userNotFound": unknown},
        "response": {}
    }))
    .unwrap()
}

async fn offered(store: &MemoryStore, user: &str, unknown: bool) -> (Value, Vec<String>) {
    let mut event = create_event(user, unknown);
    let created = crate::triggers::create::create(
        &config("required"),
        &mut event,
        &crate::testing::fakes::Sender::default(),
        store,
        &mut rand::rng(),
        now(),
    )
    .await
    .unwrap();
    assert_eq!(
        created.decoy,
        unknown
            || store
                .passkeys(&owner_key(&key(), "us-east-1_Fixtures", user))
                .await
                .unwrap()
                .is_empty()
    );
    let public = &event.response.public_challenge_parameters;
    assert_eq!(public["challenge"], "PASSKEY");
    let options: Value = serde_json::from_str(&public["options"]).unwrap();
    let ids = options["allowCredentials"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect();
    (options, ids)
}

#[tokio::test]
async fn create_offers_the_users_passkeys_and_stable_decoys_otherwise() {
    let f = load("es256");
    let store = MemoryStore::default();
    let passkey = stored(&f, "Fixture");
    let owner = owner_key(&key(), "us-east-1_Fixtures", "jane");
    store
        .add_passkey(&owner, &passkey, &test_holder(), MAX_PASSKEYS)
        .await
        .unwrap();

    let (options, ids) = offered(&store, "jane", false).await;
    assert_eq!(ids, vec![f["passkey"]["id"].as_str().unwrap().to_owned()]);
    assert_eq!(options["rpId"], "localhost");
    assert_eq!(options["userVerification"], "required");
    assert_eq!(options["timeout"], 120_000);
    assert_eq!(
        unb64(options["challenge"].as_str().unwrap()).unwrap().len(),
        16
    );
    let (again, _) = offered(&store, "jane", false).await;
    assert_ne!(
        again["challenge"], options["challenge"],
        "a new challenge each round"
    );

    // Jane unknown (userNotFound), a user without passkeys, a name that does not exist: one
    // or two 32-byte ids each, the same at every try, different per name, never a real one.
    let (_, as_unknown) = offered(&store, "jane", true).await;
    let (_, bob) = offered(&store, "bob", false).await;
    let (_, bob_again) = offered(&store, "bob", true).await;
    let (_, ann) = offered(&store, "ann", true).await;
    assert_eq!(
        bob, bob_again,
        "stable, and the same whether the name exists or not"
    );
    assert_ne!(bob, ann);
    assert_ne!(as_unknown, ids);
    for decoy in [&as_unknown, &bob, &ann] {
        assert!((1..=2).contains(&decoy.len()), "{decoy:?}");
        assert!(decoy.iter().all(|id| unb64(id).unwrap().len() == 32));
    }
    // Across names, both counts occur.
    let mut counts = std::collections::HashSet::new();
    for n in 0..16 {
        counts.insert(offered(&store, &format!("user{n}"), true).await.1.len());
    }
    assert_eq!(counts.len(), 2, "{counts:?}");
}

#[tokio::test]
async fn a_new_user_under_an_old_name_inherits_no_passkey() {
    // Jane (`sub` "jane" in the fixtures) registered a passkey. An administrator deletes her,
    // and later creates a different person under the name `jane`: a new `sub`.
    let f = load("es256");
    let store = MemoryStore::default();
    let passkey = stored(&f, "Old Jane's laptop");
    let (pool, old_sub) = caller(&f);
    store
        .add_passkey(
            &owner_key(&key(), &pool, &old_sub),
            &passkey,
            &test_holder(),
            MAX_PASSKEYS,
        )
        .await
        .unwrap();
    let new_sub = "0b9e6a52-7c1d-4f3e-9a2b-5d4c3b2a1f00";

    // Not offered: the new Jane's round is a decoy, without the old credential.
    let mut event = create_event("jane", false);
    event
        .request
        .user_attributes
        .insert("sub".into(), new_sub.into());
    let created = crate::triggers::create::create(
        &config("required"),
        &mut event,
        &crate::testing::fakes::Sender::default(),
        &store,
        &mut rand::rng(),
        now(),
    )
    .await
    .unwrap();
    assert!(created.decoy);
    let options = &event.response.public_challenge_parameters["options"];
    assert!(!options.contains(f["passkey"]["id"].as_str().unwrap()));
    assert_eq!(
        event.response.private_challenge_parameters[private::PASSKEYS],
        "[]"
    );

    // Not accepted: even over a round that offered it, the old authenticator answers with the
    // old person's user handle, which is not the new one's.
    let answer = &f["signIn"]["answer"];
    let event = verify_event(&f, &round(&f), answer, Some(new_sub));
    assert_eq!(
        assertion(&config("required"), &event, &answer.to_string(), now()).map(|_| ()),
        Err(Wrong::Passkey(PasskeyRejection::Ceremony))
    );
    // The old Jane's would have passed.
    let event = verify_event(&f, &round(&f), answer, None);
    assert!(assertion(&config("required"), &event, &answer.to_string(), now()).is_ok());
}

/// A holder for passkeys added directly to the store (the tests here sign in by name).
fn test_holder() -> crate::passkey::Holder {
    crate::passkey::Holder {
        user: "jane".into(),
        handle: vec![0; 32],
    }
}
