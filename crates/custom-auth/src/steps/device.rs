//! The `device` step: Create hands the client a random challenge; Verify checks that a device
//! this user remembered signed it ([`crate::device`]).
//!
//! Create reads the user's remembered devices (one store request, for unknown names too, with
//! a key no device is ever kept under) and writes, privately, the challenge and the devices
//! still remembered (id, public key, expiry): Verify then needs no read. Publicly there is the
//! challenge and nothing else, the same for a user with devices, without, and a name that does
//! not exist: the round tells nobody which names or devices exist.
//!
//! Verify finds the device the answer names among those offered, checks its expiry and its
//! signature of the challenge. The state store then admits the answer only if the device is
//! still remembered at that moment (forgetting takes effect at once) and spends the
//! challenge: each challenge signs in once.

use crate::device::{CHALLENGE_BYTES, DeviceAnswer, message, signed};
use crate::encoding::{b64, unb64};
use crate::error::AuthError;
use crate::keys::{devices_key, keyed_hash};
use crate::ports::{CaptchaVerifier, JwksFetcher};
use crate::steps::answer::{Answer, Checked, DeviceRejection, VerifyIo, Wrong};
use crate::steps::round::{CreateIo, Round, public};
use crate::store::devices::{DeviceStore, DeviceUse};
use crate::store::{OneTime, OneTimeKind};

/// How long a spent device challenge is kept: longer than a round lives (Cognito's session
/// lasts at most 15 minutes).
const SPENT_SECONDS: u64 = 900;

/// Private parameter keys of a `DEVICE` round.
pub mod private {
    /// The challenge, base64url (as the public `nonce`).
    pub const CHALLENGE: &str = "deviceChallenge";
    /// The devices offered: a JSON array of `[id, public key, expiry]` (base64url, base64url,
    /// Unix seconds).
    pub const DEVICES: &str = "devices";
}

/// The owner key of the person signing in: by `sub`, never by name. Empty `sub` (an unknown
/// name) makes a key no device is kept under.
fn owner(state_key: &crate::config::env::Secret, pool: &str, sub: &str) -> String {
    devices_key(state_key, pool, sub)
}

/// Builds the `DEVICE` round: see the module documentation.
pub(crate) async fn challenge<S, R: rand::CryptoRng>(
    round: &mut Round<'_>,
    io: &mut CreateIo<'_, S, impl DeviceStore, R>,
) -> Result<(), AuthError> {
    let Some(state) = &round.config.state else {
        return Err(AuthError::Misconfigured);
    };
    let sub = round
        .request
        .user_attributes
        .get("sub")
        .map_or("", String::as_str);
    let mut devices = io
        .store
        .devices(&owner(&state.key, round.pool, sub))
        .await
        .map_err(AuthError::State)?;
    if round.unknown() || sub.is_empty() {
        devices.clear();
    }
    devices.retain(|d| d.expires_at > round.now);
    round.created.decoy = devices.is_empty();
    let mut bytes = [0u8; CHALLENGE_BYTES];
    io.rng.fill_bytes(&mut bytes);
    let challenge = b64(&bytes);
    let offered: Vec<(String, String, u64)> = devices
        .iter()
        .map(|d| (b64(&d.id), b64(&d.public_key), d.expires_at))
        .collect();
    round
        .public
        .insert(public::NONCE.to_owned(), challenge.clone());
    round
        .private
        .insert(private::CHALLENGE.to_owned(), challenge);
    round.private.insert(
        private::DEVICES.to_owned(),
        serde_json::to_string(&offered).map_err(|_| AuthError::Misconfigured)?,
    );
    Ok(())
}

/// Checks a `DEVICE` answer; on success, the one-time record that spends the challenge and
/// asks the store whether the device is still remembered.
pub(crate) async fn check(
    answer: &Answer<'_>,
    _: &VerifyIo<'_, impl CaptchaVerifier, impl JwksFetcher>,
) -> Checked {
    let Some(state) = &answer.config.state else {
        return Err(Wrong::MissingParameters);
    };
    let params = answer.params;
    let (Some(challenge), Some(offered)) =
        (params.get(private::CHALLENGE), params.get(private::DEVICES))
    else {
        return Err(Wrong::MissingParameters);
    };
    let offered: Vec<(String, String, u64)> =
        serde_json::from_str(offered).map_err(|_| Wrong::MissingParameters)?;
    let reply =
        DeviceAnswer::parse(answer.text).ok_or(Wrong::Device(DeviceRejection::Malformed))?;
    let (Some(id), Some(signature)) = (unb64(&reply.device), unb64(&reply.signature)) else {
        return Err(Wrong::Device(DeviceRejection::Malformed));
    };
    if answer.unknown() {
        return Err(Wrong::Decoy);
    }
    let (_, key, expires_at) = offered
        .iter()
        .find(|(offered, _, _)| unb64(offered).is_some_and(|o| o == id))
        .ok_or(Wrong::Device(DeviceRejection::NotOffered))?;
    if *expires_at <= answer.now {
        return Err(Wrong::Device(DeviceRejection::Expired));
    }
    let key = unb64(key).ok_or(Wrong::MissingParameters)?;
    if !signed(&key, &message(challenge), &signature) {
        return Err(Wrong::Device(DeviceRejection::Signature));
    }
    let header = &answer.event.cognito_event_user_pools_header;
    let sub = answer
        .event
        .request
        .user_attributes
        .get("sub")
        .map_or("", String::as_str);
    if sub.is_empty() {
        return Err(Wrong::MissingParameters);
    }
    Ok(Some(OneTime {
        key: format!(
            "a#{}",
            keyed_hash(
                state.key.expose().as_bytes(),
                "device challenge",
                &[challenge]
            )
        ),
        expires_at: answer.now.saturating_add(SPENT_SECONDS),
        kind: OneTimeKind::DeviceUse(DeviceUse {
            owner: owner(
                &state.key,
                header.user_pool_id.as_deref().unwrap_or_default(),
                sub,
            ),
            id,
            now: answer.now,
        }),
    }))
}
