//! The `passkey` step: Create asks the browser for an assertion by one of the user's passkeys;
//! Verify checks it.
//!
//! Create reads the user's passkeys (one store request) and writes public `options`
//! (`PublicKeyCredentialRequestOptions` JSON: a random challenge, the RP id, the passkeys in
//! `allowCredentials`, user verification, timeout) and, privately, the ceremony's server state,
//! the challenge and the passkeys' public keys: Verify then needs no read. A user without
//! passkeys, and a name that does not exist, get one credential id made from a keyed hash of
//! the name: stable across tries, the same length as real ones, and never accepted, so the
//! round tells nothing about who exists or has a passkey.
//!
//! Verify checks everything WebAuthn asks of a relying party (through `webauthn_rp`): type
//! `webauthn.get`, the challenge (also compared in constant time here), an origin of
//! `PASSKEY_ORIGINS`, the RP id hash, user present, user verified when required, the
//! credential among those offered (this user's), the user handle if sent, the signature by
//! the stored key, and the counter. The state store then writes the new counter atomically
//! with the admission ([`PasskeyUse`]): a deleted passkey, a counter that did not grow, or a
//! challenge used before is refused.

use subtle::ConstantTimeEq as _;
use webauthn_rp::bin::{Decode as _, Encode as _};
use webauthn_rp::request::auth::{AllowedCredential, AllowedCredentials};
use webauthn_rp::request::register::UserHandle;
use webauthn_rp::request::{Credentials as _, PublicKeyCredentialDescriptor};
use webauthn_rp::response::auth::{DiscoverableAuthentication, NonDiscoverableAuthentication};
use webauthn_rp::response::register::{CompressedPubKey, DynamicState, StaticState};
use webauthn_rp::response::{AuthTransports, AuthenticatorTransport, CredentialId};
use webauthn_rp::{
    AuthenticatedCredential, NonDiscoverableAuthenticationServerState,
    NonDiscoverableCredentialRequestOptions,
};

use crate::config::Config;
use crate::error::AuthError;
use crate::events::VerifyAuthChallengeEvent;
use crate::keys::{hmac_sha256, keyed_hash, owner_key};
use crate::passkey::discover;
use crate::passkey::register::{encode_dynamic, transports};
use crate::passkey::{PasskeyStore, PasskeyUse, USER_HANDLE_BYTES, b64, unb64, user_handle};
use crate::ports::{CaptchaVerifier, JwksFetcher};
use crate::steps::answer::{Answer, Checked, PasskeyRejection, VerifyIo, Wrong};
use crate::steps::round::{CreateIo, Round, public};
use crate::store::{OneTime, OneTimeKind};

/// A stored public key, decoded.
type StoredKey = CompressedPubKey<[u8; 32], [u8; 32], [u8; 48], Vec<u8>>;

/// Private parameter keys of a `PASSKEY` round.
pub mod private {
    /// The ceremony's server state (`webauthn_rp` encoding, base64url).
    pub const STATE: &str = "passkeyState";
    /// The challenge, base64url.
    pub const CHALLENGE: &str = "passkeyChallenge";
    /// The offered passkeys: a JSON array of `[id, public key, dynamic state]`, base64url.
    pub const PASSKEYS: &str = "passkeys";
}

/// Builds the `PASSKEY` round: see the module documentation.
pub(crate) async fn challenge<S, R>(
    round: &mut Round<'_>,
    io: &mut CreateIo<'_, S, impl PasskeyStore, R>,
) -> Result<(), AuthError> {
    let store = io.store;
    let config = round.config;
    let (Some(settings), Some(state)) = (&config.passkey, &config.state) else {
        return Err(AuthError::Misconfigured);
    };
    let rp = settings.rp().ok_or(AuthError::Misconfigured)?;
    // The person's passkeys, by `sub`. Asked for unknown names too (with no `sub`: a key no
    // passkey is ever stored under), so that both paths take one store request.
    let sub = round
        .request
        .user_attributes
        .get("sub")
        .map_or("", String::as_str);
    let owner = owner_key(&state.key, round.pool, sub);
    let mut passkeys = store.passkeys(&owner).await.map_err(AuthError::State)?;
    if round.unknown() || sub.is_empty() {
        passkeys.clear();
    }
    let offered: Vec<(Vec<u8>, AuthTransports)> = if passkeys.is_empty() {
        round.created.decoy = true;
        decoy_ids(&state.key, round.pool, round.user)
            .into_iter()
            .map(|id| (id, decoy_transports()))
            .collect()
    } else {
        passkeys
            .iter()
            .map(|p| (p.id.clone(), transports(&p.transports)))
            .collect()
    };
    let mut allowed = AllowedCredentials::with_capacity(offered.len());
    for (id, transports) in &offered {
        let id = CredentialId::decode(id.clone()).map_err(|_| AuthError::TamperedSession)?;
        allowed.push(AllowedCredential::from(PublicKeyCredentialDescriptor {
            id,
            transports: *transports,
        }));
    }
    let mut options = NonDiscoverableCredentialRequestOptions::second_factor(&rp, allowed)
        .map_err(|_| AuthError::Misconfigured)?;
    options.options().user_verification = settings.user_verification.requirement();
    options.options().timeout = settings.timeout_ms();
    let (server, client) = options
        .start_ceremony()
        .map_err(|_| AuthError::Misconfigured)?;
    let server = server.encode().map_err(|_| AuthError::Misconfigured)?;
    let client = serde_json::to_value(&client).map_err(|_| AuthError::Misconfigured)?;
    let challenge = client
        .get("challenge")
        .and_then(|c| c.as_str())
        .ok_or(AuthError::Misconfigured)?
        .to_owned();
    let keys: Vec<[String; 3]> = passkeys
        .iter()
        .map(|p| [b64(&p.id), b64(&p.public_key), b64(&p.dynamic)])
        .collect();
    round
        .public
        .insert(public::OPTIONS.to_owned(), client.to_string());
    round
        .private
        .insert(private::STATE.to_owned(), b64(&server));
    round
        .private
        .insert(private::CHALLENGE.to_owned(), challenge);
    round.private.insert(
        private::PASSKEYS.to_owned(),
        serde_json::to_string(&keys).map_err(|_| AuthError::Misconfigured)?,
    );
    Ok(())
}

/// The credential ids of a decoy: one or two (as many as most people's passkeys), each 32
/// bytes (a platform authenticator's length) of a keyed hash of pool and name, so the list is
/// the same at every try and nobody without the key can tell it from a real one.
fn decoy_ids(key: &crate::config::env::Secret, pool: &str, user: &str) -> Vec<Vec<u8>> {
    let user = crate::names::compared(user);
    let id = |n: u8| {
        hmac_sha256(
            key.expose().as_bytes(),
            &[
                b"passkey decoy\0",
                pool.as_bytes(),
                b"\0",
                user.as_bytes(),
                &[0, n],
            ],
        )
        .to_vec()
    };
    let first = id(0);
    let count = 1 + (first[31] & 1);
    std::iter::once(first).chain((1..count).map(id)).collect()
}

/// What a platform authenticator's passkey lists: internal, and hybrid (a phone).
fn decoy_transports() -> AuthTransports {
    AuthTransports::NONE
        .add(AuthenticatorTransport::Internal)
        .add(AuthenticatorTransport::Hybrid)
}

/// Checks a `PASSKEY` answer: see [`assertion`].
pub(crate) async fn check(
    answer: &Answer<'_>,
    _: &VerifyIo<'_, impl CaptchaVerifier, impl JwksFetcher>,
) -> Checked {
    match discover::parse_answer(answer.text.as_bytes()) {
        Some((response, sealed)) => {
            discoverable(answer.config, answer.event, &response, &sealed, answer.now)
        }
        None => assertion(answer.config, answer.event, answer.text, answer.now),
    }
    .map(Some)
}

/// Checks an answer without a name typed ([`discover::SignInAnswer`]): the assertion of a
/// discoverable ceremony over a challenge the service issued and sealed, by one of the
/// passkeys this round offered (this user's: a passkey found for a name that has changed hands
/// since is not among them), with every check of a named round, the user handle included. On
/// success, the same record as a named round's: the challenge spent, the counter written.
pub(crate) fn discoverable(
    config: &Config,
    event: &VerifyAuthChallengeEvent,
    response: &DiscoverableAuthentication<USER_HANDLE_BYTES>,
    sealed: &str,
    now: u64,
) -> Result<OneTime, Wrong> {
    let (Some(settings), Some(state)) = (&config.passkey, &config.state) else {
        return Err(Wrong::MissingParameters);
    };
    let (params, pool, sub) = who(event);
    // A state the service did not seal carries a challenge it did not issue.
    let server =
        discover::open(&state.key, sealed).ok_or(Wrong::Passkey(PasskeyRejection::Challenge))?;
    let challenge = response
        .challenge_relaxed()
        .map_err(|_| Wrong::Passkey(PasskeyRejection::Malformed))?
        .0
        .to_le_bytes();
    if event.request.user_not_found || sub.is_empty() {
        return Err(Wrong::Decoy);
    }
    let id = response.raw_id().as_ref().to_vec();
    let (public_key, dynamic) = offered_key(params, &id)?;
    let after = discover::verify(
        settings,
        server,
        response,
        user_handle(&state.key, pool, sub),
        &public_key,
        &dynamic,
    )
    .ok_or(Wrong::Passkey(PasskeyRejection::Ceremony))?;
    let used = used(owner_key(&state.key, pool, sub), id, after, now);
    Ok(spend(state, settings, &challenge, used, now))
}

/// The round's private parameters, the pool, and the `sub` of the user signing in (empty for
/// an unknown name).
fn who(
    event: &VerifyAuthChallengeEvent,
) -> (&std::collections::HashMap<String, String>, &str, &str) {
    let header = &event.cognito_event_user_pools_header;
    let sub = event
        .request
        .user_attributes
        .get("sub")
        .map_or("", String::as_str);
    (
        &event.request.private_challenge_parameters,
        header.user_pool_id.as_deref().unwrap_or_default(),
        sub,
    )
}

/// The public key and dynamic state of the passkey `id` among those the round offered
/// (`NotOffered` if it is not one of them).
fn offered_key(
    params: &std::collections::HashMap<String, String>,
    id: &[u8],
) -> Result<(Vec<u8>, Vec<u8>), Wrong> {
    let offered: Vec<[String; 3]> = params
        .get(private::PASSKEYS)
        .and_then(|p| serde_json::from_str(p).ok())
        .ok_or(Wrong::MissingParameters)?;
    let [_, public_key, dynamic] = offered
        .iter()
        .find(|[offered_id, _, _]| unb64(offered_id).as_deref() == Some(id))
        .ok_or(Wrong::Passkey(PasskeyRejection::NotOffered))?;
    let public_key = unb64(public_key).ok_or(Wrong::MissingParameters)?;
    let dynamic = unb64(dynamic).ok_or(Wrong::MissingParameters)?;
    Ok((public_key, dynamic))
}

/// The use at `now` of `owner`'s passkey `id`, after which its dynamic state is `after`.
fn used(owner: String, id: Vec<u8>, after: DynamicState, now: u64) -> PasskeyUse {
    PasskeyUse {
        owner,
        id,
        sign_count: after.sign_count,
        dynamic: encode_dynamic(after),
        used_at: now,
    }
}

/// The record a passkey answer hands the store: its challenge spent (each challenge signs in
/// once) and the passkey's use written, in the admission's one atomic request.
fn spend(
    state: &crate::config::state::StateSettings,
    settings: &crate::config::passkey::PasskeySettings,
    challenge: &[u8],
    used: PasskeyUse,
    now: u64,
) -> OneTime {
    OneTime {
        key: format!(
            "a#{}",
            keyed_hash(
                state.key.expose().as_bytes(),
                "passkey challenge",
                &[&b64(challenge)]
            )
        ),
        expires_at: now.saturating_add(settings.timeout_seconds.into()),
        kind: OneTimeKind::PasskeyUse(used),
    }
}

/// Checks a `PASSKEY` answer (the browser's `PublicKeyCredential.toJSON()` of `get`) at
/// `now`; on success, the one-time record that spends the challenge and writes the
/// passkey's new counter with the admission.
pub(crate) fn assertion(
    config: &Config,
    event: &VerifyAuthChallengeEvent,
    answer: &str,
    now: u64,
) -> Result<OneTime, Wrong> {
    let (Some(settings), Some(state)) = (&config.passkey, &config.state) else {
        return Err(Wrong::MissingParameters);
    };
    let (params, pool, sub) = who(event);
    let server = params
        .get(private::STATE)
        .and_then(|s| unb64(s))
        .ok_or(Wrong::MissingParameters)?;
    let challenge = params
        .get(private::CHALLENGE)
        .and_then(|c| unb64(c))
        .ok_or(Wrong::MissingParameters)?;
    let offered: Vec<[String; 3]> = params
        .get(private::PASSKEYS)
        .and_then(|p| serde_json::from_str(p).ok())
        .ok_or(Wrong::MissingParameters)?;
    let rp = settings.rp().ok_or(Wrong::MissingParameters)?;
    // (The answer is at most `verify::MAX_ANSWER_BYTES` here: Verify refused longer ones.)
    let response =
        NonDiscoverableAuthentication::<USER_HANDLE_BYTES>::from_json_relaxed(answer.as_bytes())
            .map_err(|_| Wrong::Passkey(PasskeyRejection::Malformed))?;
    let sent = response
        .challenge_relaxed()
        .map_err(|_| Wrong::Passkey(PasskeyRejection::Malformed))?;
    if !bool::from(sent.0.to_le_bytes().ct_eq(challenge.as_slice())) {
        return Err(Wrong::Passkey(PasskeyRejection::Challenge));
    }
    if event.request.user_not_found || sub.is_empty() {
        return Err(Wrong::Decoy);
    }
    let id = response.raw_id().as_ref().to_vec();
    let [_, public_key, dynamic] = offered
        .iter()
        .find(|[offered_id, _, _]| unb64(offered_id).as_deref() == Some(id.as_slice()))
        .ok_or(Wrong::Passkey(PasskeyRejection::NotOffered))?;
    let public_key = unb64(public_key).ok_or(Wrong::MissingParameters)?;
    let dynamic = unb64(dynamic)
        .and_then(|d| <[u8; 7]>::try_from(d.as_slice()).ok())
        .and_then(|d| DynamicState::decode(d).ok())
        .ok_or(Wrong::MissingParameters)?;
    let static_state = StaticState::<StoredKey>::decode(public_key.as_slice())
        .map_err(|_| Wrong::MissingParameters)?;
    let server = NonDiscoverableAuthenticationServerState::decode(server.as_slice())
        .map_err(|_| Wrong::MissingParameters)?;
    let handle: UserHandle<USER_HANDLE_BYTES> =
        UserHandle::from(user_handle(&state.key, pool, sub));
    let cred_id = CredentialId::decode(id.as_slice()).map_err(|_| Wrong::MissingParameters)?;
    let mut credential = AuthenticatedCredential::new(cred_id, &handle, static_state, dynamic)
        .map_err(|_| Wrong::MissingParameters)?;
    crate::passkey::with_sign_in_checks(settings, |options| {
        server.verify(&rp, &response, &mut credential, options)
    })
    .map_err(|_| Wrong::Passkey(PasskeyRejection::Ceremony))?;
    let after = credential.dynamic_state();
    let used = used(owner_key(&state.key, pool, sub), id, after, now);
    Ok(spend(state, settings, &challenge, used, now))
}
