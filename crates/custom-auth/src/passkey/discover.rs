//! Signing in with a passkey without typing a name: discoverable credentials, for the page's
//! autofill (WebAuthn conditional mediation) and its "Sign in with a passkey" button.
//!
//! Cognito's `InitiateAuth` needs a user name, and the page has none until the authenticator
//! has answered. So the sign-in takes three calls, and the name is learned only from a valid
//! assertion over a challenge the service issued:
//!
//! 1. [`options`] (the API's public `POST /passkeys/sign-in/options`): the options of a
//!    discoverable ceremony (a random challenge, the RP id, user verification, the timeout, no
//!    `allowCredentials`) and the ceremony's server state, **sealed**: MAC'd under
//!    `AUTH_STATE_KEY` and handed to the client, kept nowhere. The public route writes
//!    nothing, so it cannot fill the table; the seal makes the challenge the service's (a
//!    client can choose nothing in it), and the state's expiry (`PASSKEY_TIMEOUT_SECONDS`)
//!    makes it short-lived.
//! 2. [`name`] (public `POST /passkeys/sign-in/name`): the browser's assertion and the sealed
//!    state. The credential id finds the passkey and its holder
//!    ([`PasskeyStore::discover`], one store request); the assertion must then pass every
//!    WebAuthn check against the opened state: type, challenge, origin, RP id hash, user
//!    present, user verified when required, the user handle the passkey was registered with,
//!    the signature by its key. Only then is the holder's sign-in name returned. Every failure
//!    answers the same ([`NameError::Refused`]), so the route tells nothing about which
//!    credentials or names exist. The challenge is not spent: a name is not a sign-in.
//! 3. The page starts `CUSTOM_AUTH` with that name and answers the `PASSKEY` round with the
//!    same assertion and sealed state ([`SignInAnswer`]). Verify checks it again, in full,
//!    against the passkeys Create offered for the user now behind that name (a name given to
//!    someone else since is refused), and the store spends the challenge once and writes the
//!    counter with the admission, exactly as for a named round.

use subtle::ConstantTimeEq as _;
use webauthn_rp::AuthenticatedCredential;
use webauthn_rp::DiscoverableAuthenticationServerState;
use webauthn_rp::bin::{Decode as _, Encode as _};
use webauthn_rp::request::auth::DiscoverableCredentialRequestOptions;
use webauthn_rp::request::register::UserHandle;
use webauthn_rp::response::CredentialId;
use webauthn_rp::response::auth::DiscoverableAuthentication;
use webauthn_rp::response::register::{CompressedPubKey, DynamicState, StaticState};

use super::{MAX_RESPONSE_BYTES, PasskeySettings, PasskeyStore, USER_HANDLE_BYTES, b64, unb64};
use crate::config::env::Secret;
use crate::keys::hmac_sha256;

/// A stored public key, decoded.
type StoredKey = CompressedPubKey<[u8; 32], [u8; 32], [u8; 48], Vec<u8>>;

/// What the seal's MAC is computed over, before the state: a MAC made for anything else under
/// the same key never opens a state.
const SEAL_CONTEXT: &[u8] = b"passkey sign-in state v1\0";

/// The longest sealed state accepted, in characters (a discoverable state is about 60 bytes).
const MAX_SEALED_CHARS: usize = 512;

/// Why the name route answered no name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum NameError {
    /// Anything about the request, the state or the assertion: one answer for every case.
    #[error("the passkey could not be verified")]
    Refused,
    /// The store failed or timed out.
    #[error("the service is unavailable; try again")]
    Unavailable,
}

/// A `PASSKEY` round's answer without a name typed: the browser's assertion of a
/// discoverable ceremony (`PublicKeyCredential.toJSON()` of `get`) and the sealed state
/// [`options`] issued with its challenge. As JSON: `{"credential": {...}, "state": "..."}`.
#[derive(Debug, serde::Deserialize)]
pub struct SignInAnswer {
    /// The assertion.
    pub credential: serde_json::Value,
    /// The sealed server state.
    pub state: String,
}

/// The options of a new discoverable ceremony (JSON for
/// `PublicKeyCredential.parseRequestOptionsFromJSON`) and its sealed server state. `None`
/// when the settings cannot make one (no valid RP id).
pub fn options(settings: &PasskeySettings, key: &Secret) -> Option<(serde_json::Value, String)> {
    let rp = settings.rp()?;
    let mut options = DiscoverableCredentialRequestOptions::passkey(&rp);
    options.0.user_verification = settings.user_verification.requirement();
    options.0.timeout = settings.timeout_ms();
    let (server, client) = options.start_ceremony().ok()?;
    let state = server.encode().ok()?;
    let client = serde_json::to_value(&client).ok()?;
    Some((client, seal(key, &state)))
}

/// `state` with its MAC: `<state>.<mac>`, both base64url.
pub fn seal(key: &Secret, state: &[u8]) -> String {
    let mac = hmac_sha256(key.expose().as_bytes(), &[SEAL_CONTEXT, state]);
    format!("{}.{}", b64(state), b64(&mac))
}

/// The server state inside `sealed`, if its MAC is ours (compared in constant time) and it
/// decodes. The state's own expiry is checked by the verification.
pub fn open(key: &Secret, sealed: &str) -> Option<DiscoverableAuthenticationServerState> {
    if sealed.len() > MAX_SEALED_CHARS {
        return None;
    }
    let (state, mac) = sealed.split_once('.')?;
    let (state, mac) = (unb64(state)?, unb64(mac)?);
    let expected = hmac_sha256(key.expose().as_bytes(), &[SEAL_CONTEXT, &state]);
    if !bool::from(mac.as_slice().ct_eq(expected.as_slice())) {
        return None;
    }
    DiscoverableAuthenticationServerState::decode(state.as_slice()).ok()
}

/// Reads a [`SignInAnswer`] and the assertion in it; `None` for anything else (a named
/// round's bare assertion included).
pub fn parse_answer(
    answer: &[u8],
) -> Option<(DiscoverableAuthentication<USER_HANDLE_BYTES>, String)> {
    if answer.len() > MAX_RESPONSE_BYTES {
        return None;
    }
    let answer: SignInAnswer = serde_json::from_slice(answer).ok()?;
    let credential = serde_json::to_vec(&answer.credential).ok()?;
    let response =
        DiscoverableAuthentication::<USER_HANDLE_BYTES>::from_json_relaxed(&credential).ok()?;
    Some((response, answer.state))
}

/// Checks `response` against the opened `server` state, as an assertion by the passkey with
/// `public_key` and `dynamic` state registered under user `handle`: every check WebAuthn asks
/// of a relying party (the user handle and the credential id among them). The passkey's new
/// dynamic state if it passes.
pub(crate) fn verify(
    settings: &PasskeySettings,
    server: DiscoverableAuthenticationServerState,
    response: &DiscoverableAuthentication<USER_HANDLE_BYTES>,
    handle: [u8; USER_HANDLE_BYTES],
    public_key: &[u8],
    dynamic: &[u8],
) -> Option<DynamicState> {
    let rp = settings.rp()?;
    let dynamic = <[u8; 7]>::try_from(dynamic)
        .ok()
        .and_then(|d| DynamicState::decode(d).ok())?;
    let static_state = StaticState::<StoredKey>::decode(public_key).ok()?;
    let handle: UserHandle<USER_HANDLE_BYTES> = UserHandle::from(handle);
    let raw = response.raw_id().as_ref().to_vec();
    let id = CredentialId::decode(raw.as_slice()).ok()?;
    let mut credential = AuthenticatedCredential::new(id, &handle, static_state, dynamic).ok()?;
    super::with_sign_in_checks(settings, |options| {
        server.verify(&rp, response, &mut credential, options)
    })
    .ok()?;
    Some(credential.dynamic_state())
}

/// The name route: the sign-in name of the holder of the passkey that made the assertion in
/// `body` (a [`SignInAnswer`]) over a challenge [`options`] issued. One store request.
pub async fn name(
    settings: &PasskeySettings,
    key: &Secret,
    store: &impl PasskeyStore,
    body: &[u8],
) -> Result<String, NameError> {
    let (response, sealed) = parse_answer(body).ok_or(NameError::Refused)?;
    let server = open(key, &sealed).ok_or(NameError::Refused)?;
    let found = store
        .discover(response.raw_id().as_ref())
        .await
        .map_err(|_| NameError::Unavailable)?
        .ok_or(NameError::Refused)?;
    let handle = <[u8; USER_HANDLE_BYTES]>::try_from(found.holder.handle.as_slice())
        .map_err(|_| NameError::Refused)?;
    verify(
        settings,
        server,
        &response,
        handle,
        &found.public_key,
        &found.dynamic,
    )
    .ok_or(NameError::Refused)?;
    Ok(found.holder.user)
}
