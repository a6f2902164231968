//! Registering a passkey for a signed-in user: the two halves of the WebAuthn registration
//! ceremony, and what the registration API answers. Pure: the API function passes the store.
//!
//! [`start`] builds `PublicKeyCredentialCreationOptions` (a random challenge; the RP id; the
//! user handle of [`super::user_handle`]; ES256, EdDSA, RS256; the user's passkeys excluded,
//! so an authenticator that holds one says so instead of making a second) and the ceremony's
//! server state, which the store keeps for `PASSKEY_TIMEOUT_SECONDS`. [`finish`] takes that
//! state (once) and checks the browser's answer against it: type `webauthn.create`, challenge,
//! origin, RP id hash, user present, user verified when required, attestation `none` or
//! `packed` self-attestation, and a key of an allowed algorithm.

use webauthn_rp::bin::{Decode as _, Encode as _};
use webauthn_rp::request::PublicKeyCredentialDescriptor;
use webauthn_rp::request::register::{
    CredProtect, Nickname, PublicKeyCredentialUserEntity, RegistrationVerificationOptions,
    UserHandle, Username,
};
use webauthn_rp::response::CredentialId;
use webauthn_rp::response::register::DynamicState;
use webauthn_rp::{PublicKeyCredentialCreationOptions, Registration, RegistrationServerState};

use super::{
    Added, Holder, MAX_PASSKEYS, MAX_RESPONSE_BYTES, PasskeySettings, PasskeyStore, StoredPasskey,
    USER_HANDLE_BYTES, algorithms, b64, unb64, user_handle,
};
use crate::config::env::Secret;
use crate::http_api::Refusal;
use crate::keys::owner_key;
use crate::ports::DependencyError;

/// Longest friendly name of a passkey, in characters.
pub const MAX_NAME_CHARS: usize = 64;

/// Why a registration call failed. Each message is safe to show: none tells more than the
/// caller already knows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RegistrationError {
    /// The request is not what the API takes.
    #[error("the request is malformed")]
    BadRequest,
    /// No registration is pending (never started, taken already, or timed out).
    #[error("no passkey registration is pending; start again")]
    NotPending,
    /// The browser's answer failed a check.
    #[error("the passkey could not be verified")]
    Refused,
    /// The credential is registered already.
    #[error("this passkey is registered already")]
    Duplicate,
    /// The user holds the most passkeys allowed.
    #[error("too many passkeys; delete one first")]
    TooMany,
    /// The user has no passkey with that id.
    #[error("no such passkey")]
    NotFound,
    /// The state store or the user pool failed or timed out.
    #[error("the service is unavailable; try again")]
    Unavailable,
    /// The sign-in behind the access token is older than
    /// `PASSKEY_REGISTRATION_MAX_AGE_SECONDS`: adding or deleting a passkey needs a fresh one.
    #[error("sign in again to add or delete a passkey")]
    SignInAgain,
    /// The user pool no longer honours the access token (signed out, revoked, user deleted).
    #[error("sign in first")]
    SignedOut,
}

impl RegistrationError {
    /// A stable word for the error, which clients branch on (the message may change).
    pub fn code(self) -> &'static str {
        match self {
            RegistrationError::BadRequest => "bad-request",
            RegistrationError::NotPending => "not-pending",
            RegistrationError::Refused => "refused",
            RegistrationError::Duplicate => "duplicate",
            RegistrationError::TooMany => "too-many",
            RegistrationError::NotFound => "not-found",
            RegistrationError::Unavailable => "unavailable",
            RegistrationError::SignInAgain => "sign-in-again",
            RegistrationError::SignedOut => "signed-out",
        }
    }
}

impl From<Refusal> for RegistrationError {
    fn from(refusal: Refusal) -> RegistrationError {
        match refusal {
            Refusal::SignInAgain => RegistrationError::SignInAgain,
            Refusal::SignedOut => RegistrationError::SignedOut,
            Refusal::Unavailable => RegistrationError::Unavailable,
        }
    }
}

impl From<DependencyError> for RegistrationError {
    fn from(_: DependencyError) -> RegistrationError {
        RegistrationError::Unavailable
    }
}

pub use crate::http_api::Caller;

/// A passkey as the API lists it: nothing secret, nothing the authenticator could be
/// tracked by beyond this RP.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Listed {
    /// The credential id, base64url.
    pub id: String,
    /// The name the user gave it.
    pub name: String,
    /// Unix seconds of its registration.
    pub created_at: u64,
    /// Unix seconds of its last sign-in.
    pub last_used_at: Option<u64>,
}

impl From<&StoredPasskey> for Listed {
    fn from(p: &StoredPasskey) -> Listed {
        Listed {
            id: b64(&p.id),
            name: p.name.clone(),
            created_at: p.created_at,
            last_used_at: p.last_used_at,
        }
    }
}

/// Starts a registration for `caller` at `now`: keeps the ceremony's state in `store` and
/// returns the options for `navigator.credentials.create` (JSON). Two store requests: the
/// user's passkeys (to exclude them) and the pending registration.
pub async fn start(
    settings: &PasskeySettings,
    key: &Secret,
    store: &impl PasskeyStore,
    caller: Caller<'_>,
    now: u64,
) -> Result<serde_json::Value, RegistrationError> {
    let owner = owner_key(key, caller.pool, caller.sub);
    let existing = store.passkeys(&owner).await?;
    if existing.len() >= MAX_PASSKEYS {
        return Err(RegistrationError::TooMany);
    }
    let (state, options) = creation_options(settings, key, caller, &existing)?;
    store
        .begin_registration(
            &owner,
            &state,
            now.saturating_add(settings.timeout_seconds.into()),
        )
        .await?;
    Ok(options)
}

/// The options and the encoded server state of a new registration ceremony.
fn creation_options(
    settings: &PasskeySettings,
    key: &Secret,
    caller: Caller<'_>,
    existing: &[StoredPasskey],
) -> Result<(String, serde_json::Value), RegistrationError> {
    let rp = settings.rp().ok_or(RegistrationError::BadRequest)?;
    let handle: UserHandle<USER_HANDLE_BYTES> =
        UserHandle::from(user_handle(key, caller.pool, caller.sub));
    // The name the authenticator shows beside the passkey: the user's own sign-in name.
    let name = Username::try_from(caller.user).map_err(|_| RegistrationError::BadRequest)?;
    let display = Nickname::try_from(caller.user).ok();
    let exclude = existing
        .iter()
        .filter_map(|p| {
            Some(PublicKeyCredentialDescriptor {
                id: CredentialId::decode(p.id.clone()).ok()?,
                transports: transports(&p.transports),
            })
        })
        .collect();
    let user = PublicKeyCredentialUserEntity {
        name,
        id: &handle,
        display_name: display,
    };
    let mut options = PublicKeyCredentialCreationOptions::passkey(&rp, user, exclude);
    options.pub_key_cred_params = algorithms();
    options.timeout = settings.timeout_ms();
    options.authenticator_selection.user_verification = settings.user_verification.requirement();
    // Enforcing credProtect makes registration fail on authenticators without the extension
    // (most platform ones); user verification is asked for at each sign-in instead.
    options.extensions.cred_protect = CredProtect::None;
    let (server, client) = options
        .start_ceremony()
        .map_err(|_| RegistrationError::BadRequest)?;
    let state = server.encode().map_err(|_| RegistrationError::BadRequest)?;
    let client = serde_json::to_value(&client).map_err(|_| RegistrationError::BadRequest)?;
    Ok((b64(&state), client))
}

/// What [`finish`] reads from the request body.
#[derive(serde::Deserialize)]
struct FinishRequest {
    /// The browser's `PublicKeyCredential.toJSON()` of `create`.
    credential: serde_json::Value,
    /// The name the user gives the passkey.
    #[serde(default)]
    name: Option<String>,
}

/// Completes `caller`'s pending registration with the request `body` (JSON: `credential`,
/// the browser's answer, and an optional `name`) and stores the passkey. Two store requests:
/// take the pending state (once), then add the passkey atomically (its id unique everywhere,
/// the user under the limit).
pub async fn finish(
    settings: &PasskeySettings,
    key: &Secret,
    store: &impl PasskeyStore,
    caller: Caller<'_>,
    body: &[u8],
    now: u64,
) -> Result<Listed, RegistrationError> {
    if body.len() > MAX_RESPONSE_BYTES {
        return Err(RegistrationError::BadRequest);
    }
    let request: FinishRequest =
        serde_json::from_slice(body).map_err(|_| RegistrationError::BadRequest)?;
    let name = friendly_name(request.name.as_deref())?;
    let owner = owner_key(key, caller.pool, caller.sub);
    let state = store
        .take_registration(&owner, now)
        .await?
        .ok_or(RegistrationError::NotPending)?;
    let passkey = check_registration(settings, key, caller, &state, &request.credential, now).map(
        |mut p| {
            p.name = name;
            p
        },
    )?;
    let holder = Holder {
        user: caller.user.to_owned(),
        handle: user_handle(key, caller.pool, caller.sub).to_vec(),
    };
    match store
        .add_passkey(&owner, &passkey, &holder, MAX_PASSKEYS)
        .await?
    {
        Added::Added => Ok(Listed::from(&passkey)),
        Added::Duplicate => Err(RegistrationError::Duplicate),
        Added::TooMany => Err(RegistrationError::TooMany),
    }
}

/// Checks the browser's answer `credential` against the encoded server `state` of `caller`'s
/// ceremony; the passkey to store (unnamed) if every check passes.
pub(crate) fn check_registration(
    settings: &PasskeySettings,
    key: &Secret,
    caller: Caller<'_>,
    state: &str,
    credential: &serde_json::Value,
    now: u64,
) -> Result<StoredPasskey, RegistrationError> {
    let rp = settings.rp().ok_or(RegistrationError::Refused)?;
    let state = unb64(state).ok_or(RegistrationError::NotPending)?;
    let server = RegistrationServerState::<USER_HANDLE_BYTES>::decode(state.as_slice())
        .map_err(|_| RegistrationError::NotPending)?;
    let json = serde_json::to_vec(credential).map_err(|_| RegistrationError::BadRequest)?;
    let response =
        Registration::from_json_relaxed(&json).map_err(|_| RegistrationError::BadRequest)?;
    let origins: Vec<&str> = settings.origins.iter().map(String::as_str).collect();
    let options = RegistrationVerificationOptions::<&str, &str> {
        allowed_origins: &origins,
        // Browsers add extension outputs the RP did not ask for (credProps); they change
        // nothing here.
        error_on_unsolicited_extensions: false,
        ..RegistrationVerificationOptions::default()
    };
    let registered = server
        .verify(&rp, &response, &options)
        .map_err(|_| RegistrationError::Refused)?;
    // The state was this user's (the store keyed it so); the handle in it must say so too.
    let expected = user_handle(key, caller.pool, caller.sub);
    if registered.user_id().as_ref() != expected.as_slice() {
        return Err(RegistrationError::Refused);
    }
    let (id, transports, _, static_state, dynamic_state, _) = registered.into_parts();
    let public_key = static_state
        .encode()
        .map_err(|_| RegistrationError::Refused)?;
    Ok(StoredPasskey {
        id: id.as_ref().to_vec(),
        public_key,
        dynamic: encode_dynamic(dynamic_state),
        sign_count: dynamic_state.sign_count,
        transports: transports.encode().map(|t| vec![t]).unwrap_or_default(),
        name: String::new(),
        created_at: now,
        last_used_at: None,
    })
}

/// The name a passkey gets: the user's, trimmed, or "Passkey"; at most [`MAX_NAME_CHARS`]
/// characters, none of them a control character or an invisible one ([`invisible`]): the name
/// is shown back in a list and in a notice e-mail, where a right-to-left override could make
/// "Work laptop" read as something else.
pub(crate) fn friendly_name(name: Option<&str>) -> Result<String, RegistrationError> {
    let name = name
        .map(str::trim)
        .filter(|n| !n.is_empty())
        .unwrap_or("Passkey");
    if name.chars().count() > MAX_NAME_CHARS || name.chars().any(|c| c.is_control() || invisible(c))
    {
        return Err(RegistrationError::BadRequest);
    }
    Ok(name.to_owned())
}

/// Whether `c` is in Unicode's general category Cf (format: zero-width characters, direction
/// marks, embeddings, overrides and isolates, the byte-order mark, tag characters), Zl (line
/// separator) or Zp (paragraph separator), as of Unicode 16. The standard library knows no
/// general categories, and these ranges are all there is of the three.
fn invisible(c: char) -> bool {
    matches!(
        u32::from(c),
        0x00AD
            | 0x0600..=0x0605
            | 0x061C
            | 0x06DD
            | 0x070F
            | 0x0890..=0x0891
            | 0x08E2
            | 0x180E
            | 0x200B..=0x200F
            | 0x2028..=0x202E
            | 0x2060..=0x2064
            | 0x2066..=0x206F
            | 0xFEFF
            | 0xFFF9..=0xFFFB
            | 0x110BD
            | 0x110CD
            | 0x13430..=0x1343F
            | 0x1BCA0..=0x1BCA3
            | 0x1D173..=0x1D17A
            | 0xE0001
            | 0xE0020..=0xE007F
    )
}

/// `DynamicState`'s encoding (it cannot fail).
pub(crate) fn encode_dynamic(state: DynamicState) -> Vec<u8> {
    state.encode().map(|b| b.to_vec()).unwrap_or_default()
}

/// The stored transports, or none known.
pub(crate) fn transports(stored: &[u8]) -> webauthn_rp::response::AuthTransports {
    stored
        .first()
        .and_then(|t| webauthn_rp::response::AuthTransports::decode(*t).ok())
        .unwrap_or(webauthn_rp::response::AuthTransports::NONE)
}

/// Lists `caller`'s passkeys. One store request.
pub async fn list(
    key: &Secret,
    store: &impl PasskeyStore,
    caller: Caller<'_>,
) -> Result<Vec<Listed>, RegistrationError> {
    let owner = owner_key(key, caller.pool, caller.sub);
    Ok(store
        .passkeys(&owner)
        .await?
        .iter()
        .map(Listed::from)
        .collect())
}

/// Deletes `caller`'s passkey `id` (base64url) and returns its name (for the notice). Only the
/// caller's own: an id of another user's passkey is [`RegistrationError::NotFound`], as is an
/// unknown one. Two store requests: the caller's passkeys (for the name), and the removal.
pub async fn delete(
    key: &Secret,
    store: &impl PasskeyStore,
    caller: Caller<'_>,
    id: &str,
) -> Result<String, RegistrationError> {
    let id = unb64(id)
        .filter(|i| !i.is_empty() && i.len() <= 1023)
        .ok_or(RegistrationError::NotFound)?;
    let owner = owner_key(key, caller.pool, caller.sub);
    let name = store
        .passkeys(&owner)
        .await?
        .into_iter()
        .find(|p| p.id == id)
        .map(|p| p.name)
        .ok_or(RegistrationError::NotFound)?;
    if store.remove_passkey(&owner, &id).await? {
        Ok(name)
    } else {
        Err(RegistrationError::NotFound)
    }
}
