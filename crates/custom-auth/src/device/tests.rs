use p256::ecdsa::signature::Signer as _;
use p256::ecdsa::{Signature, SigningKey};
use p256::pkcs8::EncodePublicKey as _;

use super::*;

pub(crate) fn key(seed: u8) -> (SigningKey, Vec<u8>) {
    let signing = SigningKey::from_slice(&[seed; 32]).unwrap();
    let spki = signing
        .verifying_key()
        .to_public_key_der()
        .unwrap()
        .as_bytes()
        .to_vec();
    (signing, spki)
}

pub(crate) fn sign(signing: &SigningKey, challenge: &str) -> Vec<u8> {
    let signature: Signature = signing.sign(&message(challenge));
    signature.to_bytes().to_vec()
}

#[test]
fn a_signature_passes_only_by_its_key_over_its_challenge() {
    let (mine, spki) = key(7);
    let (theirs, _) = key(8);
    let good = sign(&mine, "abc");
    assert!(signed(&spki, &message("abc"), &good));
    assert!(!signed(&spki, &message("abd"), &good), "another challenge");
    assert!(
        !signed(&spki, &message("abc"), &sign(&theirs, "abc")),
        "another key"
    );
    assert!(!signed(&spki, b"abc", &good), "without the prefix");
    let mut flipped = good.clone();
    flipped[10] ^= 1;
    assert!(!signed(&spki, &message("abc"), &flipped));
    assert!(!signed(&spki, &message("abc"), &good[..63]), "short");
    assert!(!signed(&spki[..40], &message("abc"), &good), "not a key");
    assert!(!signed(&[], &message("abc"), &good));
    assert!(public_key(&vec![0x30; 500]).is_none(), "oversized");
}

#[test]
fn answers_and_names() {
    assert_eq!(
        DeviceAnswer::parse(r#"{"device":"AAA","signature":"BBB"}"#),
        Some(DeviceAnswer {
            device: "AAA".into(),
            signature: "BBB".into()
        })
    );
    for bad in [
        "",
        "{}",
        r#"{"device":"A"}"#,
        r#"{"device":"A","signature":"B","x":1}"#,
        "[]",
    ] {
        assert_eq!(DeviceAnswer::parse(bad), None, "{bad}");
    }
    assert_eq!(clean_name("  Laptop "), Some("Laptop".into()));
    assert_eq!(clean_name("Téléphone 📱"), Some("Téléphone 📱".into()));
    for bad in ["", "   ", "a\nb", &"x".repeat(65)] {
        assert_eq!(clean_name(bad), None, "{bad:?}");
    }
}
