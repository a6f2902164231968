//! Remembered devices: "don't ask me for a code on this device again for 30 days".
//!
//! After a complete sign-in that used no device, the client makes a P-256 key pair that never
//! leaves the device (the page: WebCrypto, non-extractable, kept in IndexedDB, so script on
//! the page can use it but not read it out; the CLI: a key file only its owner may read) and
//! registers its public half through the API ([`api`]). At a later sign-in the `device` step
//! ([`crate::steps::device`]) hands the client a random challenge; the client signs
//! [`message`] of it, and Verify checks the signature with the key of the device the answer
//! names, among the user's remembered devices. The state store admits the answer only if the
//! device is still remembered then, and spends the challenge.
//!
//! What is here: the signed message, the answer's shape, the key and signature checks, the
//! limits on names. Pure: the randomness and the store are the callers'.

use p256::ecdsa::signature::Verifier as _;
use p256::ecdsa::{Signature, VerifyingKey};
use p256::pkcs8::DecodePublicKey as _;
use serde::Deserialize;
use sha2::{Digest, Sha256};

pub mod api;

/// Bytes of a device round's random challenge.
pub const CHALLENGE_BYTES: usize = 32;
/// Bytes of a device's id ([`device_id`]).
pub const ID_BYTES: usize = 16;
/// The longest device name, in characters.
pub const MAX_NAME_CHARS: usize = 64;
/// The longest public key accepted, in bytes (a P-256 SubjectPublicKeyInfo is 91).
const MAX_PUBLIC_KEY_BYTES: usize = 200;

/// What a device signs in a `DEVICE` round: a fixed prefix (so the key signs nothing else
/// that could pass for this) and the round's challenge, as the client received it.
pub fn message(challenge: &str) -> Vec<u8> {
    format!("cognito custom-auth device v1:{challenge}").into_bytes()
}

/// A `DEVICE` round's answer: the device's id and its signature of [`message`], both
/// base64url; the signature is ECDSA P-256 with SHA-256 as WebCrypto makes it (`r || s`, 64
/// bytes).
#[derive(Clone, Debug, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct DeviceAnswer {
    /// The device's id.
    pub device: String,
    /// The signature.
    pub signature: String,
}

impl DeviceAnswer {
    /// Parses an answer; `None` for anything else.
    pub fn parse(text: &str) -> Option<DeviceAnswer> {
        serde_json::from_str(text).ok()
    }
}

/// The public key in `spki` (SubjectPublicKeyInfo DER), if it is a valid P-256 point.
pub fn public_key(spki: &[u8]) -> Option<VerifyingKey> {
    if spki.len() > MAX_PUBLIC_KEY_BYTES {
        return None;
    }
    VerifyingKey::from_public_key_der(spki).ok()
}

/// Whether `signature` (`r || s`, 64 bytes) is the key `spki`'s over `message`.
pub fn signed(spki: &[u8], message: &[u8], signature: &[u8]) -> bool {
    let (Some(key), Ok(signature)) = (public_key(spki), Signature::from_slice(signature)) else {
        return false;
    };
    key.verify(message, &signature).is_ok()
}

/// The id of the device whose public key is `spki`: the first [`ID_BYTES`] of its SHA-256.
/// Derived, not drawn: the client cannot choose it, and the same key remembered twice is
/// refused as a duplicate.
pub fn device_id(spki: &[u8]) -> Vec<u8> {
    Sha256::digest(spki)[..ID_BYTES].to_vec()
}

/// A device name as kept: trimmed, 1 to [`MAX_NAME_CHARS`] characters, no control
/// characters. `None` for anything else.
pub fn clean_name(name: &str) -> Option<String> {
    let name = name.trim();
    let ok = !name.is_empty()
        && name.chars().count() <= MAX_NAME_CHARS
        && !name.chars().any(char::is_control);
    ok.then(|| name.to_owned())
}

#[cfg(test)]
pub(crate) mod tests;

#[cfg(test)]
mod api_tests;
