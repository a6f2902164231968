//! The registration ceremony on real authenticator outputs, and its tampered variants.

use serde_json::json;

use super::*;
use crate::passkey::register::RegistrationError;

#[test]
fn registrations_of_each_algorithm_pass_and_store_what_sign_in_reads() {
    for name in ALGORITHMS {
        let f = load(name);
        let stored = register(
            &settings(),
            &f,
            &registration_state(&f),
            &f["registration"]["credential"],
            None,
        )
        .unwrap_or_else(|e| panic!("{name}: {e:?}"));
        assert_eq!(b64(&stored.id), f["passkey"]["id"], "{name}");
        assert_eq!(b64(&stored.public_key), f["passkey"]["publicKey"], "{name}");
        assert_eq!(b64(&stored.dynamic), f["passkey"]["dynamic"], "{name}");
        assert_eq!(stored.created_at, stored.created_at.max(1));
    }
}

#[test]
fn each_registration_check_refuses_its_own_tampering() {
    let f = load("es256");
    let credential = &f["registration"]["credential"];
    let state = registration_state(&f);
    let other_rp = PasskeySettings {
        rp_id: "example.com".into(),
        ..settings()
    };
    let other_origin = PasskeySettings {
        origins: vec!["http://localhost:4701".into()],
        ..settings()
    };
    let get_type = with_client_data(credential, |d| d["type"] = json!("webauthn.get"));
    let other_challenge = with_client_data(credential, |d| {
        d["challenge"] = json!("AAAAAAAAAAAAAAAAAAAAAA")
    });
    let forged_origin =
        with_client_data(credential, |d| d["origin"] = json!("https://evil.example"));
    let captured = f["registration"]["state"].as_str().unwrap().to_owned();
    let mut no_attestation = credential.clone();
    no_attestation["response"]["attestationObject"] = json!("o2NmbXRkbm9uZQ");
    let not_a_credential = json!({"id": 3});
    let cases: Vec<RegistrationCase> = vec![
        (
            "rp id",
            other_rp,
            &state,
            credential,
            None,
            RegistrationError::Refused,
        ),
        (
            "origin not allowed",
            other_origin,
            &state,
            credential,
            None,
            RegistrationError::Refused,
        ),
        (
            "forged origin",
            settings(),
            &state,
            &forged_origin,
            None,
            RegistrationError::Refused,
        ),
        (
            "type",
            settings(),
            &state,
            &get_type,
            None,
            RegistrationError::Refused,
        ),
        (
            "challenge",
            settings(),
            &state,
            &other_challenge,
            None,
            RegistrationError::Refused,
        ),
        (
            "expired ceremony",
            settings(),
            &captured,
            credential,
            None,
            RegistrationError::Refused,
        ),
        (
            "another user's ceremony",
            settings(),
            &state,
            credential,
            Some("ann"),
            RegistrationError::Refused,
        ),
        (
            "attestation",
            settings(),
            &state,
            &no_attestation,
            None,
            RegistrationError::BadRequest,
        ),
        (
            "no state",
            settings(),
            "not base64!",
            credential,
            None,
            RegistrationError::NotPending,
        ),
        (
            "not a credential",
            settings(),
            &state,
            &not_a_credential,
            None,
            RegistrationError::BadRequest,
        ),
    ];
    for (why, settings, state, credential, user, want) in cases {
        assert_eq!(
            register(&settings, &f, state, credential, user),
            Err(want),
            "{why}"
        );
    }
}
