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

use crate::config::env::Secret;
use crate::error::AuthError;
use crate::keys::{hmac_sha256, spent_key, user_key};
use crate::ports::{CaptchaVerifier, CodeSender, JwksFetcher};
use crate::steps::answer::{Answer, Checked, VerifyIo, Wrong};
use crate::steps::destination;
use crate::steps::round::{CreateIo, Round, private, public};
use crate::store::{OneTime, OneTimeKind, SendGate, StateStore};

mod mail;
mod proof;

pub use mail::{FRAGMENT, link, message};
pub use proof::{LinkClaims, MAX_PROOF_BYTES, check as check_proof, issue, issue_hmac, open};

pub use crate::config::magic_link::{
    DEFAULT_MIN_INTERVAL_SECONDS, DEFAULT_SUBJECT, DEFAULT_TTL_SECONDS, KMS_VERSION, LinkKey,
    LinkSettings, MIN_SECRET_BYTES, VERSION,
};

/// The answer that asks for a link.
pub const REQUEST: &str = "request";

/// `ClientMetadata` keys of this step.
pub mod metadata {
    /// `request` when the answer asks for a link.
    pub const INTENT: &str = "magicLink";
    /// The page the link opens (requesting), or the page redeeming it: one of `MAGIC_LINK_URLS`.
    pub const URL: &str = "redirectUri";
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
pub(crate) async fn challenge(
    round: &mut Round<'_>,
    io: &mut CreateIo<'_, impl CodeSender, impl StateStore, impl CryptoRng>,
) -> Result<(), AuthError> {
    let (config, request, user, now) = (round.config, round.request, round.user, round.now);
    let (sender, store) = (io.sender, io.store);
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
            let id = random_id(io.rng);
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
pub(crate) async fn check(
    answer: &Answer<'_>,
    _: &VerifyIo<'_, impl CaptchaVerifier, impl JwksFetcher>,
) -> Checked {
    let (config, event, now) = (answer.config, answer.event, answer.now);
    let answer = answer.text;
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
    let claims = check_proof(
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
    Ok(Some(OneTime {
        key: spent_key(&state.key, &claims.id),
        expires_at: claims.expires_at,
        kind: OneTimeKind::NewestLink(link_number(&state.key, &claims.id)),
    }))
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
