//! A magic link's proof: its claims, signed with the configured key (HMAC here, or ECDSA by
//! KMS through the sender), and opened and checked in full before anything is read.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::config::env::Secret;
use crate::config::magic_link::{KMS_VERSION, LinkKey, LinkSettings, VERSION};
use crate::keys::hmac_sha256;
use crate::ports::CodeSender;
use crate::steps::answer::LinkRejection;

/// Longest proof accepted, in bytes (a real one is about 300).
pub const MAX_PROOF_BYTES: usize = 2048;

/// What a proof says. None of it is secret; the signature makes it unforgeable.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LinkClaims {
    /// The user pool.
    #[serde(rename = "p")]
    pub pool: String,
    /// The user name, as Cognito gives it to the triggers (the page starts the sign-in with it).
    #[serde(rename = "u")]
    pub user: String,
    /// The page the link opens.
    #[serde(rename = "l")]
    pub url: String,
    /// 128 random bits in hex: the link's identity, spent once.
    #[serde(rename = "i")]
    pub id: String,
    /// Issue time, Unix seconds. The user's newest link is the one whose time the store holds.
    #[serde(rename = "t")]
    pub issued_at: u64,
    /// Expiry, Unix seconds.
    #[serde(rename = "e")]
    pub expires_at: u64,
}

pub(super) fn signature(secret: &Secret, input: &str) -> [u8; 32] {
    hmac_sha256(secret.expose().as_bytes(), &[input.as_bytes()])
}

fn signing_input(version: &str, claims: &LinkClaims) -> String {
    // Serializing a struct of strings and numbers cannot fail.
    let json = serde_json::to_vec(claims).unwrap_or_default();
    format!("{version}.{}", URL_SAFE_NO_PAD.encode(json))
}

/// Signs `claims` into an HMAC proof (`ml1`).
pub fn issue_hmac(secret: &Secret, claims: &LinkClaims) -> String {
    let input = signing_input(VERSION, claims);
    let sig = signature(secret, &input);
    format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig))
}

/// Signs `claims` into a proof with the configured key: locally, or by KMS through `sender`.
pub async fn issue(
    settings: &LinkSettings,
    claims: &LinkClaims,
    sender: &impl CodeSender,
) -> Result<String, crate::ports::DependencyError> {
    match &settings.key {
        LinkKey::Hmac(secret) => Ok(issue_hmac(secret, claims)),
        LinkKey::Kms(_) => {
            let input = signing_input(KMS_VERSION, claims);
            let sig = sender.sign_link(input.as_bytes()).await?;
            Ok(format!("{input}.{}", URL_SAFE_NO_PAD.encode(sig)))
        }
    }
}

/// Checks a proof's form and signature (HMAC in constant time; ECDSA with `public`, the KMS
/// key's public half) before reading the claims, and returns its claims.
pub fn open(
    settings: &LinkSettings,
    proof: &str,
    public: Option<&p256::ecdsa::VerifyingKey>,
) -> Result<LinkClaims, LinkRejection> {
    let proof = proof.trim();
    if proof.len() > MAX_PROOF_BYTES {
        return Err(LinkRejection::Malformed);
    }
    let (input, sig) = proof.rsplit_once('.').ok_or(LinkRejection::Malformed)?;
    let payload = input
        .strip_prefix(settings.key.version())
        .and_then(|rest| rest.strip_prefix('.'))
        .ok_or(LinkRejection::Malformed)?;
    let sig = URL_SAFE_NO_PAD
        .decode(sig)
        .map_err(|_| LinkRejection::Malformed)?;
    let signed = match &settings.key {
        LinkKey::Hmac(secret) => bool::from(sig.as_slice().ct_eq(&signature(secret, input))),
        LinkKey::Kms(_) => {
            use p256::ecdsa::signature::Verifier;
            let public = public.ok_or(LinkRejection::KeyUnavailable)?;
            p256::ecdsa::Signature::from_slice(&sig)
                .is_ok_and(|sig| public.verify(input.as_bytes(), &sig).is_ok())
        }
    };
    if !signed {
        return Err(LinkRejection::BadSignature);
    }
    let json = URL_SAFE_NO_PAD
        .decode(payload)
        .map_err(|_| LinkRejection::Malformed)?;
    serde_json::from_slice(&json).map_err(|_| LinkRejection::Malformed)
}

/// Checks a proof for `user` of `pool`, redeemed by the page at `url`, at `now`.
pub fn check(
    settings: &LinkSettings,
    proof: &str,
    pool: &str,
    user: &str,
    url: &str,
    now: u64,
    public: Option<&p256::ecdsa::VerifyingKey>,
) -> Result<LinkClaims, LinkRejection> {
    let claims = open(settings, proof, public)?;
    if claims.pool != pool {
        return Err(LinkRejection::OtherPool);
    }
    if claims.user != user {
        return Err(LinkRejection::OtherUser);
    }
    if claims.url != url || !settings.allows(url) {
        return Err(LinkRejection::OtherUrl);
    }
    let fresh = claims.issued_at
        <= now.saturating_add(crate::steps::answer::MAX_ISSUE_SKEW_SECONDS)
        && claims.expires_at > now
        && claims.expires_at.saturating_sub(claims.issued_at) <= settings.ttl_seconds;
    if !fresh {
        return Err(LinkRejection::Expired);
    }
    Ok(claims)
}
