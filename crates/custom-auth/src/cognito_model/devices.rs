//! The model with remembered devices: `password,device|email-otp`. A device the person
//! remembered replaces the code, and only it; every other device answer is a wrong one.

use p256::ecdsa::SigningKey;

use super::*;
use crate::device::tests::{key, sign};
use crate::encoding::b64;
use crate::store::devices::{DeviceStore, StoredDevice};
use crate::testing::custom;
use crate::{Step, Wrong};

const FLOW: &str = "password,device|email-otp";
const POOL: &str = "us-east-1_Ex4mPl3Aa";

fn model() -> Cognito {
    Cognito::new(config_with(
        FLOW,
        &[
            ("AUTH_STATE_TABLE", "auth-state"),
            ("AUTH_STATE_KEY", "state-key-for-tests-0123456789abcdef"),
            ("SELECTED_ACCOUNT_CLAIM", "selected_account"),
            ("SIGN_IN_METHODS_CLAIM", "signin_amr"),
        ],
    ))
}

/// Remembers a device of `sub` with key `seed`, remembered at `at`; returns its id and key.
fn remember(cognito: &Cognito, sub: &str, seed: u8, at: u64) -> (Vec<u8>, SigningKey) {
    let (signing, spki) = key(seed);
    let state = cognito.config.state.as_ref().unwrap();
    let id = vec![seed; 16];
    let device = StoredDevice {
        id: id.clone(),
        public_key: spki,
        name: format!("Device {seed}"),
        created_at: at,
        expires_at: at + 30 * 86_400,
    };
    let owner = crate::keys::devices_key(&state.key, POOL, sub);
    let added = block_on(cognito.store.remember(&owner, &device, 10));
    assert_eq!(added, Ok(crate::store::devices::Remembered::Added));
    (id, signing)
}

/// Picks the device branch and answers its round with `signing`'s signature, naming `id`.
fn with_device(id: &[u8], signing: &SigningKey) -> impl FnMut(&Prompt<'_>) -> Value {
    let (id, signing) = (id.to_vec(), signing.clone());
    move |p| match p.public[public::CHALLENGE].as_str() {
        "CHOOSE" => Value::String("device".into()),
        "DEVICE" => {
            let nonce = &p.public[public::NONCE];
            Value::String(
                json!({ "device": b64(&id), "signature": b64(&sign(&signing, nonce)) }).to_string(),
            )
        }
        other => panic!("unexpected {other}"),
    }
}

fn methods(cognito: &Cognito) -> Value {
    cognito
        .id_claims
        .get("signin_amr")
        .cloned()
        .unwrap_or_default()
}

#[test]
fn a_remembered_device_replaces_the_code_and_says_so() {
    let mut cognito = model();
    let (id, signing) = remember(&cognito, SUB, 7, T0 - 86_400);
    let end = block_on(cognito.sign_in(Some(true), with_device(&id, &signing)));
    assert_eq!(end, End::Tokens);
    assert_eq!(cognito.sender.count(), 0, "no code sent");
    assert_eq!(methods(&cognito), json!(["pwd", "swk", "mfa"]));
    // The round shows a challenge and nothing about the devices.
    let round = cognito
        .shown
        .iter()
        .find(|p| p[public::CHALLENGE] == "DEVICE")
        .unwrap();
    let mut keys: Vec<&str> = round.keys().map(String::as_str).collect();
    keys.sort_unstable();
    assert_eq!(keys, ["attempt", "attemptsLeft", "challenge", "nonce"]);
    // Without the device, the code: the other branch still works.
    let mut other = model();
    let end = block_on(other.sign_in(Some(true), |p| {
        if p.public[public::CHALLENGE] == "CHOOSE" {
            Value::String("email-otp".into())
        } else {
            right(p)
        }
    }));
    assert_eq!(end, End::Tokens);
    assert_eq!(methods(&other), json!(["pwd", "otp", "mfa"]));
}

/// One way of signing in, run against a fresh model.
type Run<'a> = Box<dyn Fn(&mut Cognito) -> End + 'a>;

#[test]
fn every_other_device_answer_is_wrong_and_counts() {
    let base = model();
    let (id, signing) = remember(&base, SUB, 7, T0 - 86_400);
    let (stranger, _) = key(9);
    // Another person's device, under their `sub`.
    let (theirs, their_key) = remember(&base, "0b9e6a52-7c1d-4f3e-9a2b-5d4c3b2a1f00", 8, T0);
    let cases: Vec<(&str, Run)> = vec![
        (
            "a key that is not the device's",
            Box::new(|c: &mut Cognito| {
                block_on(c.sign_in(Some(true), with_device(&id, &stranger)))
            }),
        ),
        (
            "another person's device",
            Box::new(|c: &mut Cognito| {
                block_on(c.sign_in(Some(true), with_device(&theirs, &their_key)))
            }),
        ),
        (
            "an unknown device id",
            Box::new(|c: &mut Cognito| {
                block_on(c.sign_in(Some(true), with_device(&[1; 16], &signing)))
            }),
        ),
        (
            "a device past its 30 days",
            Box::new(|c: &mut Cognito| {
                c.now = T0 + 30 * 86_400;
                block_on(c.sign_in(Some(true), with_device(&id, &signing)))
            }),
        ),
        (
            "a signature over another round's challenge",
            Box::new(|c: &mut Cognito| {
                let stale = b64(&sign(&signing, "an-earlier-challenge"));
                block_on(
                    c.sign_in(Some(true), |p| match p.public[public::CHALLENGE].as_str() {
                        "CHOOSE" => Value::String("device".into()),
                        _ => Value::String(
                            json!({ "device": b64(&id), "signature": stale }).to_string(),
                        ),
                    }),
                )
            }),
        ),
        (
            "not an answer",
            Box::new(|c: &mut Cognito| {
                block_on(
                    c.sign_in(Some(true), |p| match p.public[public::CHALLENGE].as_str() {
                        "CHOOSE" => Value::String("device".into()),
                        _ => Value::String("123456".into()),
                    }),
                )
            }),
        ),
    ];
    for (what, run) in cases {
        let mut cognito = model();
        cognito.store = MemoryStore::default();
        let _ = remember(&cognito, SUB, 7, T0 - 86_400);
        let _ = remember(&cognito, "0b9e6a52-7c1d-4f3e-9a2b-5d4c3b2a1f00", 8, T0);
        assert_eq!(run(&mut cognito), End::Failed, "{what}");
        let counted = cognito.store.user(&state_key("jane"));
        assert_eq!(counted.fail_count, 3, "{what}: each wrong answer counts");
        assert_eq!(cognito.sender.count(), 0, "{what}");
    }
}

/// The `DEVICE` round Create builds after the password and the pick, answered once by `id`
/// with `signing`'s signature of its challenge: each call of the returned closure hands that
/// same answer to Verify.
fn offered_round<'a>(
    cognito: &'a Cognito,
    id: &[u8],
    signing: &SigningKey,
) -> impl Fn() -> crate::Verdict + 'a {
    let mut c: CreateAuthChallengeEvent = fixture("create/email-otp-first.json");
    c.request.session = vec![
        entry(SRP_A, true, None),
        entry(PASSWORD_VERIFIER, true, None),
        custom("CHOOSE:device,email-otp", true),
    ];
    c.request.client_metadata = HashMap::from([(choice::CHOICE_KEY.into(), "device".into())]);
    c.request.user_attributes = cognito.attributes.clone();
    let mut rng = StdRng::seed_from_u64(1);
    let sender = fakes::Sender::default();
    block_on(create(
        &cognito.config,
        &mut c,
        &sender,
        &cognito.store,
        &mut rng,
        T0,
    ))
    .unwrap();
    let nonce = c.response.public_challenge_parameters[public::NONCE].clone();
    let answer = json!({ "device": b64(id), "signature": b64(&sign(signing, &nonce)) });
    let private = c.response.private_challenge_parameters;
    move || {
        let mut v: VerifyAuthChallengeEvent = fixture("verify/email-otp-correct.json");
        v.request.private_challenge_parameters = private.clone();
        v.request.challenge_answer = Some(Value::String(answer.to_string()));
        v.request.user_attributes = cognito.attributes.clone();
        block_on(verify(
            &cognito.config,
            &mut v,
            &cognito.captcha,
            &cognito.keys,
            &cognito.store,
            T0,
        ))
    }
}

#[test]
fn a_forgotten_device_is_refused_at_once_even_in_a_round_that_offered_it() {
    let cognito = model();
    let (id, signing) = remember(&cognito, SUB, 7, T0 - 86_400);
    let state = cognito.config.state.as_ref().unwrap();
    let owner = crate::keys::devices_key(&state.key, POOL, SUB);
    // Create offers the device; it is forgotten before the answer reaches Verify.
    let verify_once = offered_round(&cognito, &id, &signing);
    assert_eq!(block_on(cognito.store.forget_device(&owner, &id)), Ok(true));
    assert_eq!(verify_once(), Err(Wrong::Replayed));
    // Remembered again (a new id): the old round's answer still names the forgotten one.
    let _ = remember(&cognito, SUB, 6, T0);
    assert_eq!(verify_once(), Err(Wrong::Replayed));
}

#[test]
fn each_challenge_signs_in_once() {
    let cognito = model();
    let (id, signing) = remember(&cognito, SUB, 7, T0 - 86_400);
    let verify_once = offered_round(&cognito, &id, &signing);
    assert_eq!(verify_once(), Ok(Step::Device));
    assert_eq!(verify_once(), Err(Wrong::Replayed), "the same answer again");
}

#[test]
fn unknown_names_and_people_without_devices_see_the_same_round() {
    let shape = |mut cognito: Cognito| {
        let end =
            block_on(
                cognito.sign_in(Some(true), |p| match p.public[public::CHALLENGE].as_str() {
                    "CHOOSE" => Value::String("device".into()),
                    _ => Value::String(
                        json!({ "device": "AAAAAAAAAAAAAAAAAAAAAA", "signature": "AA" })
                            .to_string(),
                    ),
                }),
            );
        assert_eq!(end, End::Failed);
        let rounds: Vec<Vec<String>> = cognito
            .shown
            .iter()
            .map(|p| {
                let mut keys: Vec<String> = p.keys().cloned().collect();
                keys.sort_unstable();
                keys.push(p[public::CHALLENGE].clone());
                keys
            })
            .collect();
        let nonces: Vec<usize> = cognito
            .shown
            .iter()
            .filter_map(|p| p.get(public::NONCE).map(String::len))
            .collect();
        (rounds, nonces)
    };
    let with = model();
    let _ = remember(&with, SUB, 7, T0);
    let known = shape(with);
    assert_eq!(known, shape(model()), "without devices");
    assert_eq!(known, shape(model().unknown_user()), "an unknown name");
    assert_eq!(
        known.1,
        [43, 43, 43],
        "a fresh 32-byte challenge each round"
    );
}
