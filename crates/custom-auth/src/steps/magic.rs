//! The `magic-link` step: sign in by opening a link from an e-mail, on this device or another.
//!
//! Its rounds are all `MAGIC_LINK`. The client answers a round in one of two ways:
//! - **request**: answer `request` with `ClientMetadata` `magicLink=request` and `redirectUri`
//!   (one of `MAGIC_LINK_URLS`). Verify judges it wrong without counting it as a failure (it
//!   guessed nothing); the next round's Create, which sees that metadata (Cognito shows Create
//!   nothing else of the answer), counts a send in the state store, signs a proof and e-mails
//!   the link `<redirectUri>#magic-link=<proof>`.
//! - **redeem**: answer with the proof (the page reads it from the link's fragment, which the
//!   browser never sends to a server) and the page's own URL as `redirectUri`. Verify checks
//!   it locally, and the state store admits it once, only if it is the user's newest link.
//!
//! Requesting and redeeming are told apart by the answer itself, so nothing the client claims
//! matters beyond where the link points, which must be an allowed URL. A mail scanner that
//! fetches the page burns nothing: only the page's own answer redeems.
//!
//! A proof is `<version>.<payload>.<signature>`: the payload is base64url JSON of the pool, the
//! user name, the URL, a random id and the issue and expiry times (nothing secret). With an AWS
//! KMS key (`MAGIC_LINK_KMS_KEY_ID`) the version is `mk1` and the signature ECDSA P-256 over
//! SHA-256 (r‖s), made by KMS and checked locally with the key's public half, which Create
//! fetches (once per process) and hands Verify in each round's private parameters; with
//! `MAGIC_LINK_SECRET` it is `ml1` and HMAC-SHA256. Verify accepts only its own key's version.

use std::collections::HashMap;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::CryptoRng;
use serde::{Deserialize, Serialize};
use subtle::ConstantTimeEq;

use crate::config::env::Secret;
use crate::error::AuthError;
use crate::events::VerifyAuthChallengeEvent;
use crate::keys::{hmac_sha256, spent_key, user_key};
use crate::ports::{Channel, CodeMessage, CodeSender};
use crate::state::{OneTime, SendGate, StateStore};
use crate::steps::answer::{LinkRejection, Wrong};
use crate::steps::destination;
use crate::steps::round::{Round, private, public};

pub use crate::config::magic_link::{
    DEFAULT_MIN_INTERVAL_SECONDS, DEFAULT_SUBJECT, DEFAULT_TTL_SECONDS, KMS_VERSION, LinkKey,
    LinkSettings, MIN_SECRET_BYTES, VERSION,
};

/// The fragment parameter of the link that carries the proof: `#magic-link=<proof>`.
pub const FRAGMENT: &str = "magic-link";
/// The answer that asks for a link.
pub const REQUEST: &str = "request";
/// Longest proof accepted, in bytes (a real one is about 300).
pub const MAX_PROOF_BYTES: usize = 2048;

/// `ClientMetadata` keys of this step.
pub mod metadata {
    /// `request` when the answer asks for a link.
    pub const INTENT: &str = "magicLink";
    /// The page the link opens (requesting), or the page redeeming it: one of `MAGIC_LINK_URLS`.
    pub const URL: &str = "redirectUri";
}

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

fn signature(secret: &Secret, input: &str) -> [u8; 32] {
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

/// The link for `proof`: the page, with the proof in its fragment.
pub fn link(url: &str, proof: &str) -> String {
    format!("{url}#{FRAGMENT}={proof}")
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

/// The e-mail with the link: a text part and an HTML part, the link and its validity in both,
/// nothing else secret.
pub fn message(settings: &LinkSettings, to: &str, link: &str) -> CodeMessage {
    let minutes = settings.ttl_seconds.div_ceil(60);
    let valid = format!(
        "It works once, within {minutes} minute{}, on any device.",
        if minutes == 1 { "" } else { "s" }
    );
    let ignore = "If you did not ask to sign in, ignore this message: nobody can use the link without opening this e-mail.";
    let escaped = html_escape(link);
    CodeMessage {
        channel: Channel::Email,
        destination: to.to_owned(),
        subject: settings.subject.clone(),
        body: format!("Open this link to sign in:\n\n{link}\n\n{valid}\n\n{ignore}\n"),
        html: Some(format!(
            "<!doctype html><html><body style=\"font-family:sans-serif\"><p>Open this link to sign in:</p>\
             <p><a href=\"{escaped}\">Sign in</a></p><p style=\"word-break:break-all\">{escaped}</p>\
             <p>{valid}</p><p>{ignore}</p></body></html>"
        )),
    }
}

fn html_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A link's number, which the store keeps as the user's newest link: 64 bits of a keyed hash
/// of its id (so the store holds nothing a link could be rebuilt from), never 0, which means
/// "none". The id, not the issue time: two links may share a second.
fn link_number(state_key: &Secret, id: &str) -> u64 {
    let hash = hmac_sha256(
        state_key.expose().as_bytes(),
        &[b"magic link number\0", id.as_bytes()],
    );
    let mut first = [0u8; 8];
    first.copy_from_slice(&hash[..8]);
    u64::from_be_bytes(first).max(1)
}

fn random_id(rng: &mut impl CryptoRng) -> String {
    let mut bytes = [0u8; 16];
    rng.fill_bytes(&mut bytes);
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Builds a `MAGIC_LINK` round: the masked address a link goes to, and, when the previous
/// answer asked for one (`ClientMetadata`), a link: counted against the send limit and the
/// least interval between links, signed and e-mailed. Unknown users and users without a
/// verified address are counted the same and get the same round; nothing is sent to them.
pub(crate) async fn challenge<S: CodeSender>(
    round: &mut Round<'_>,
    sender: &S,
    store: &impl StateStore,
    rng: &mut impl CryptoRng,
    now: u64,
) -> Result<(), AuthError> {
    let (config, request, user) = (round.config, round.request, round.user);
    let settings = config.magic_link.as_ref().ok_or(AuthError::Misconfigured)?;
    let state = config.state.as_ref().ok_or(AuthError::Misconfigured)?;
    if let LinkKey::Kms(_) = settings.key {
        // In every round, decoys' too: any round may be answered with a link from another.
        let der = sender
            .link_public_key()
            .await
            .map_err(AuthError::Delivery)?;
        round
            .private
            .insert(private::LINK_KEY.to_owned(), URL_SAFE_NO_PAD.encode(der));
    }
    let to = destination::address(round, crate::config::Step::EmailOtp);
    let meta = &request.client_metadata;
    let asked = meta.get(metadata::INTENT).map(String::as_str) == Some(REQUEST);
    let url = meta.get(metadata::URL).filter(|u| settings.allows(u));
    let sent = match (asked, url) {
        (false, _) => "false",
        // A page that is not allowed gets nothing; the client sees why.
        (true, None) => "bad-url",
        (true, Some(url)) => {
            let key = user_key(&state.key, round.pool, user);
            let id = random_id(rng);
            match store
                .record_link(
                    &key,
                    now,
                    &state.limits,
                    settings.min_interval_seconds,
                    link_number(&state.key, &id),
                )
                .await
            {
                Ok(SendGate::Allowed) => {
                    let claims = LinkClaims {
                        pool: round.pool.to_owned(),
                        user: user.to_owned(),
                        url: url.clone(),
                        id,
                        issued_at: now,
                        expires_at: now.saturating_add(settings.ttl_seconds),
                    };
                    // Signed for decoys too (nothing is sent): with a KMS key, the signing
                    // call takes time that would otherwise tell unknown users apart.
                    let proof = issue(settings, &claims, sender)
                        .await
                        .map_err(AuthError::Delivery)?;
                    match to {
                        Some(to) if !round.created.decoy => {
                            let link = link(url, &proof);
                            sender
                                .send(&message(settings, to, &link))
                                .await
                                .map_err(AuthError::Delivery)?;
                            round.created.sent = true;
                        }
                        _ => sender.imitate_send().await,
                    }
                    "true"
                }
                Ok(SendGate::TooSoon) => "too-soon",
                Ok(SendGate::OverLimit) => return Err(AuthError::TooManyCodes),
                Ok(SendGate::Locked) => return Err(AuthError::Locked),
                Err(e) => return Err(AuthError::State(e)),
            }
        }
    };
    round
        .public
        .insert(public::SENT.to_owned(), sent.to_owned());
    Ok(())
}

/// Judges a `MAGIC_LINK` answer: a request is wrong (but no failure); a proof passes if it
/// checks for this pool, user and page, and is then spent with the admission, only if it is the
/// user's newest link.
pub(crate) fn check_answer(
    config: &crate::config::Config,
    event: &VerifyAuthChallengeEvent,
    answer: &str,
    now: u64,
) -> Result<OneTime, Wrong> {
    let settings = config.magic_link.as_ref().ok_or(Wrong::MissingParameters)?;
    let state = config.state.as_ref().ok_or(Wrong::MissingParameters)?;
    if answer.trim() == REQUEST {
        return Err(Wrong::LinkRequested);
    }
    let header = &event.cognito_event_user_pools_header;
    let meta: &HashMap<String, String> = &event.request.client_metadata;
    let url = meta.get(metadata::URL).map_or("", String::as_str);
    let public = match settings.key {
        LinkKey::Kms(_) => Some(
            link_key(&event.request.private_challenge_parameters)
                .ok_or(Wrong::MissingParameters)?,
        ),
        LinkKey::Hmac(_) => None,
    };
    let claims = check(
        settings,
        answer,
        header.user_pool_id.as_deref().unwrap_or_default(),
        header.user_name.as_deref().unwrap_or_default(),
        url,
        now,
        public.as_ref(),
    )
    .map_err(Wrong::Link)?;
    if event.request.user_not_found {
        return Err(Wrong::Decoy);
    }
    Ok(OneTime {
        key: spent_key(&state.key, &claims.id),
        expires_at: claims.expires_at,
        value: None,
        newest_link: Some(link_number(&state.key, &claims.id)),
        passkey: None,
    })
}

/// The KMS key's public half that Create put in the round ([`private::LINK_KEY`]).
fn link_key(params: &HashMap<String, String>) -> Option<p256::ecdsa::VerifyingKey> {
    use p256::pkcs8::DecodePublicKey;
    let der = URL_SAFE_NO_PAD
        .decode(params.get(private::LINK_KEY)?)
        .ok()?;
    p256::ecdsa::VerifyingKey::from_public_key_der(&der).ok()
}

#[cfg(test)]
mod tests;
