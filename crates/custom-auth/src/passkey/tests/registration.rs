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

/// CBOR (the canonical subset WebAuthn uses) of a text string or a byte string.
fn cbor(out: &mut Vec<u8>, major: u8, bytes: &[u8]) {
    match bytes.len() {
        n @ 0..=23 => out.push(major | n as u8),
        n @ 24..=255 => out.extend([major | 24, n as u8]),
        n => out.extend([major | 25, (n >> 8) as u8, n as u8]),
    }
    out.extend_from_slice(bytes);
}

/// The ES256 fixture's registration with a `packed` self-attestation instead of `none`: the
/// authenticator's own key (exported from Chromium's virtual authenticator with the fixture)
/// signs authenticator data ‖ SHA-256(client data), as a security key without a batch
/// certificate does. `alg` is the statement's algorithm; `tamper` flips a bit of the signature.
fn packed(f: &Value, alg: u8, tamper: bool) -> Value {
    use base64::engine::general_purpose::STANDARD;
    use p256::ecdsa::signature::Signer as _;
    use p256::pkcs8::DecodePrivateKey as _;
    use sha2::{Digest as _, Sha256};
    let mut credential = f["registration"]["credential"].clone();
    let field = |name: &str| unb64(credential["response"][name].as_str().unwrap()).unwrap();
    let (auth_data, client_data) = (field("authenticatorData"), field("clientDataJSON"));
    let der = STANDARD
        .decode(f["authenticator"][0]["privateKey"].as_str().unwrap())
        .unwrap();
    let key = p256::ecdsa::SigningKey::from_pkcs8_der(&der).unwrap();
    let mut message = auth_data.clone();
    message.extend(Sha256::digest(&client_data));
    let signature: p256::ecdsa::Signature = key.sign(&message);
    let mut sig = signature.to_der().as_bytes().to_vec();
    if tamper {
        let last = sig.len() - 1;
        sig[last] ^= 1;
    }
    let (text, bytes) = (0x60, 0x40);
    let mut object = vec![0xa3];
    cbor(&mut object, text, b"fmt");
    cbor(&mut object, text, b"packed");
    cbor(&mut object, text, b"attStmt");
    object.push(0xa2);
    cbor(&mut object, text, b"alg");
    object.push(alg);
    cbor(&mut object, text, b"sig");
    cbor(&mut object, bytes, &sig);
    cbor(&mut object, text, b"authData");
    cbor(&mut object, bytes, &auth_data);
    credential["response"]["attestationObject"] = json!(b64(&object));
    credential
}

#[test]
fn packed_self_attestation_passes_and_is_checked() {
    let f = load("es256");
    let state = registration_state(&f);
    // -7 (ES256) is CBOR 0x26; -8 (EdDSA) is 0x27.
    let stored = register(&settings(), &f, &state, &packed(&f, 0x26, false), None)
        .expect("packed self-attestation by the credential's own key");
    assert_eq!(b64(&stored.public_key), f["passkey"]["publicKey"]);
    for (why, credential) in [
        ("a flipped signature", packed(&f, 0x26, true)),
        ("another algorithm than the key's", packed(&f, 0x27, false)),
    ] {
        assert!(
            register(&settings(), &f, &state, &credential, None).is_err(),
            "{why}"
        );
    }
}

#[test]
fn registration_requires_user_verification_when_asked() {
    // Made with `discouraged` and an authenticator that can only be touched (UV flag clear).
    let f = load("es256-unverified");
    let credential = &f["registration"]["credential"];
    let touch = registration_state(&f);
    assert!(register(&settings(), &f, &touch, credential, None).is_ok());
    // The same ceremony, had it asked for verification: the state's requirement byte as the
    // `required` fixture's (the only byte in which the two states' settings differ).
    let mut state = unb64(&touch).unwrap();
    let required = unb64(&registration_state(&load("es256"))).unwrap()[21];
    assert_ne!(
        state[21], required,
        "the fixtures differ in user verification"
    );
    state[21] = required;
    assert_eq!(
        register(&settings(), &f, &b64(&state), credential, None),
        Err(RegistrationError::Refused)
    );
}

#[test]
fn registration_requires_user_presence() {
    let f = load("es256");
    let mut credential = f["registration"]["credential"].clone();
    let mut auth_data = unb64(
        credential["response"]["authenticatorData"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let none = |auth_data: &[u8]| {
        let mut object = vec![0xa3];
        cbor(&mut object, 0x60, b"fmt");
        cbor(&mut object, 0x60, b"none");
        cbor(&mut object, 0x60, b"attStmt");
        object.push(0xa0);
        cbor(&mut object, 0x60, b"authData");
        cbor(&mut object, 0x40, auth_data);
        b64(&object)
    };
    // Rebuilt as captured, the attestation object passes (the encoding above is faithful)...
    credential["response"]["attestationObject"] = json!(none(&auth_data));
    let state = registration_state(&f);
    assert!(register(&settings(), &f, &state, &credential, None).is_ok());
    // ...and without the user-present flag it does not.
    auth_data[32] &= !0x01;
    credential["response"]["attestationObject"] = json!(none(&auth_data));
    credential["response"]["authenticatorData"] = json!(b64(&auth_data));
    assert_eq!(
        register(&settings(), &f, &state, &credential, None),
        Err(RegistrationError::Refused)
    );
}

#[test]
fn passkey_names_refuse_control_and_invisible_characters() {
    use crate::passkey::register::friendly_name;
    let table: &[(Option<&str>, Option<&str>)] = &[
        (None, Some("Passkey")),
        (Some("   "), Some("Passkey")),
        (Some(" Work laptop "), Some("Work laptop")),
        (Some("Téléphone d'Élodie"), Some("Téléphone d'Élodie")),
        (Some("ノートパソコン"), Some("ノートパソコン")),
        (Some("a\u{7}b"), None),
        (Some("a\nb"), None),
        // Right-to-left override: "Work \u{202E}potpal" reads as "Work laptop".
        (Some("Work \u{202E}potpal"), None),
        (Some("Work\u{2066}laptop"), None),
        (Some("Work\u{200B}laptop"), None),
        (Some("Work\u{200F}laptop"), None),
        (Some("Work\u{FEFF}laptop"), None),
        (Some("Work\u{00AD}laptop"), None),
        (Some("Work\u{2028}laptop"), None),
        (Some("Work\u{2029}laptop"), None),
        (Some("Work\u{E0041}laptop"), None),
    ];
    for (name, want) in table {
        let got = friendly_name(*name);
        match want {
            Some(want) => assert_eq!(got.as_deref(), Ok(*want), "{name:?}"),
            None => assert_eq!(got, Err(RegistrationError::BadRequest), "{name:?}"),
        }
    }
    let long = "x".repeat(crate::passkey::register::MAX_NAME_CHARS + 1);
    assert!(friendly_name(Some(&long)).is_err());
}
