//! The remembered devices' routes of the account API, as plain requests and responses (the
//! `passkey-api` function serves them beside the passkeys').
//!
//! | method and path          | does                                              | answers            |
//! |--------------------------|---------------------------------------------------|--------------------|
//! | `GET /devices`           | lists the caller's remembered devices             | 200, `{devices}`   |
//! | `POST /devices`          | remembers this device: `{publicKey, name}`        | 201, the device    |
//! | `PATCH /devices/{id}`    | renames one: `{name}`                             | 200, the device    |
//! | `DELETE /devices/{id}`   | forgets one                                       | 204                |
//! | `DELETE /devices`        | forgets them all                                  | 204                |
//!
//! Every route acts on the caller's own devices (by the access token's `sub`) and nothing
//! else. Every route but the list passes the gate of [`crate::http_api`] (a fresh sign-in, a
//! live token): a stolen token must not remember an attacker's device, nor forget the user's.
//! Remembering also needs a sign-in that used **no** remembered device (the token's methods,
//! `SIGN_IN_METHODS_CLAIM`, without `swk`): otherwise a device key could renew itself before
//! its days run out, and a copy of it would live forever. A device is remembered for
//! `DEVICE_TTL_DAYS` from then, at most `DEVICE_LIMIT` at once (expired ones are forgotten
//! first). Errors are `{"error": "<message>", "code": "<word>"}` with fixed messages.

use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::config::device::DeviceSettings;
use crate::config::env::Secret;
use crate::device::{clean_name, device_id, public_key};
use crate::encoding::{b64, unb64};
use crate::http_api::{ApiRequest, ApiResponse, Refusal, answered, caller, privileged};
use crate::keys::devices_key;
use crate::ports::{DependencyError, TokenCheck};
use crate::store::devices::{DeviceStore, Remembered, StoredDevice};

/// What the device routes need from the API's configuration.
#[derive(Clone, Copy, Debug)]
pub struct DeviceApi<'a> {
    /// `DEVICE_*`.
    pub settings: &'a DeviceSettings,
    /// `AUTH_STATE_KEY`, which names the caller's devices item.
    pub key: &'a Secret,
    /// How old a sign-in may be to change devices (`PASSKEY_REGISTRATION_MAX_AGE_SECONDS`).
    pub max_age_seconds: u64,
    /// The access token's claim with the sign-in's methods.
    pub methods_claim: &'a str,
}

/// Why a device call failed. Each message is safe to show.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum DeviceError {
    /// The request is not what the route takes (not a P-256 key, no name, ...).
    #[error("the request is malformed")]
    BadRequest,
    /// No such route, or devices are off.
    #[error("no such route")]
    NoRoute,
    /// The caller has no device with that id.
    #[error("no such device")]
    NotFound,
    /// This device is remembered already.
    #[error("this device is remembered already")]
    Duplicate,
    /// The caller has the most devices allowed.
    #[error("too many remembered devices; forget one first")]
    TooMany,
    /// The sign-in behind the token used a remembered device.
    #[error("sign in without a remembered device to remember this one")]
    UsedADevice,
    /// The sign-in is too old (or its methods are unknown): sign in again.
    #[error("sign in again to change remembered devices")]
    SignInAgain,
    /// The pool no longer honours the token.
    #[error("sign in first")]
    SignedOut,
    /// The store or the pool failed or timed out.
    #[error("the service is unavailable; try again")]
    Unavailable,
}

impl DeviceError {
    fn status(self) -> u16 {
        match self {
            DeviceError::BadRequest => 400,
            DeviceError::SignedOut => 401,
            DeviceError::UsedADevice | DeviceError::SignInAgain => 403,
            DeviceError::NoRoute | DeviceError::NotFound => 404,
            DeviceError::Duplicate | DeviceError::TooMany => 409,
            DeviceError::Unavailable => 503,
        }
    }

    /// A stable word for the error, which clients branch on.
    pub fn code(self) -> &'static str {
        match self {
            DeviceError::BadRequest => "bad-request",
            DeviceError::NoRoute => "no-route",
            DeviceError::NotFound => "not-found",
            DeviceError::Duplicate => "duplicate",
            DeviceError::TooMany => "too-many",
            DeviceError::UsedADevice => "used-a-device",
            DeviceError::SignInAgain => "sign-in-again",
            DeviceError::SignedOut => "signed-out",
            DeviceError::Unavailable => "unavailable",
        }
    }
}

impl From<Refusal> for DeviceError {
    fn from(refusal: Refusal) -> DeviceError {
        match refusal {
            Refusal::SignInAgain => DeviceError::SignInAgain,
            Refusal::SignedOut => DeviceError::SignedOut,
            Refusal::Unavailable => DeviceError::Unavailable,
        }
    }
}

impl From<DependencyError> for DeviceError {
    fn from(_: DependencyError) -> DeviceError {
        DeviceError::Unavailable
    }
}

/// A device as the API shows it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ListedDevice {
    /// Its id, base64url.
    pub id: String,
    /// The name the user gave it.
    pub name: String,
    /// When it was remembered (Unix seconds).
    pub created_at: u64,
    /// Until when (Unix seconds).
    pub expires_at: u64,
}

impl From<&StoredDevice> for ListedDevice {
    fn from(d: &StoredDevice) -> ListedDevice {
        ListedDevice {
            id: b64(&d.id),
            name: d.name.clone(),
            created_at: d.created_at,
            expires_at: d.expires_at,
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct RememberBody {
    public_key: String,
    name: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RenameBody {
    name: String,
}

#[derive(Clone, Copy)]
enum Route<'a> {
    List,
    Remember,
    Rename(&'a str),
    Forget(&'a str),
    ForgetAll,
    None,
}

impl Route<'_> {
    fn name(self) -> &'static str {
        match self {
            Route::List => "devices-list",
            Route::Remember => "devices-remember",
            Route::Rename(_) => "devices-rename",
            Route::Forget(_) => "devices-forget",
            Route::ForgetAll => "devices-forget-all",
            Route::None => "none",
        }
    }
}

/// Answers a `/devices` request at `now`; `api` is `None` when devices are off.
pub async fn handle(
    api: Option<&DeviceApi<'_>>,
    store: &impl DeviceStore,
    tokens: &impl TokenCheck,
    request: &ApiRequest<'_>,
    now: u64,
) -> ApiResponse {
    let path = request.path.trim_end_matches('/');
    let rest = path.strip_prefix("/devices").unwrap_or_default();
    let id = rest
        .strip_prefix('/')
        .filter(|id| !id.is_empty() && !id.contains('/'));
    let route = match (request.method, rest, id) {
        ("GET", "", _) => Route::List,
        ("POST", "", _) => Route::Remember,
        ("DELETE", "", _) => Route::ForgetAll,
        ("PATCH", _, Some(id)) => Route::Rename(id),
        ("DELETE", _, Some(id)) => Route::Forget(id),
        _ => Route::None,
    };
    // Who calls comes first, as for the passkey routes: without an access token every call is
    // 401, whether or not devices are on.
    let outcome = match (caller(request.claims), api) {
        (None, _) => Err(DeviceError::SignedOut),
        (Some(_), None) => Err(DeviceError::NoRoute),
        (Some(_), Some(api)) => answer(api, store, tokens, request, route, now).await,
    };
    let response =
        outcome.unwrap_or_else(|e| ApiResponse::error(e.status(), &e.to_string(), e.code()));
    answered(request, route.name(), response)
}

async fn answer(
    api: &DeviceApi<'_>,
    store: &impl DeviceStore,
    tokens: &impl TokenCheck,
    request: &ApiRequest<'_>,
    route: Route<'_>,
    now: u64,
) -> Result<ApiResponse, DeviceError> {
    let who = caller(request.claims).ok_or(DeviceError::SignedOut)?;
    let owner = devices_key(api.key, who.pool, who.sub);
    if let Route::None = route {
        return Err(DeviceError::NoRoute);
    }
    if let Route::List = route {
        let devices = store.devices(&owner).await?;
        let listed: Vec<ListedDevice> = devices
            .iter()
            .filter(|d| d.expires_at > now)
            .map(ListedDevice::from)
            .collect();
        return Ok(ApiResponse::json(200, json!({ "devices": listed })));
    }
    privileged(api.max_age_seconds, tokens, request, now).await?;
    match route {
        Route::Remember => remember(api, store, request, &owner, now).await,
        Route::Rename(id) => {
            let id = unb64(id).ok_or(DeviceError::NotFound)?;
            let body: RenameBody =
                serde_json::from_slice(request.body).map_err(|_| DeviceError::BadRequest)?;
            let name = clean_name(&body.name).ok_or(DeviceError::BadRequest)?;
            if !store.rename_device(&owner, &id, &name).await? {
                return Err(DeviceError::NotFound);
            }
            let renamed = store
                .devices(&owner)
                .await?
                .into_iter()
                .find(|d| d.id == id)
                .ok_or(DeviceError::NotFound)?;
            Ok(ApiResponse::json(200, json!(ListedDevice::from(&renamed))))
        }
        Route::Forget(id) => {
            let id = unb64(id).ok_or(DeviceError::NotFound)?;
            if !store.forget_device(&owner, &id).await? {
                return Err(DeviceError::NotFound);
            }
            Ok(ApiResponse::done())
        }
        Route::ForgetAll => {
            store.forget_devices(&owner).await?;
            Ok(ApiResponse::done())
        }
        Route::List | Route::None => Err(DeviceError::NoRoute),
    }
}

/// Whether the token's sign-in used a remembered device, from its methods' claim (API Gateway
/// hands an array claim as `[pwd otp mfa]`; a JSON array reads the same). `None` when the
/// token says nothing of its methods.
pub fn used_a_device(claim: Option<&str>) -> Option<bool> {
    let words: Vec<&str> = claim?
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .collect();
    (!words.is_empty()).then(|| words.contains(&"swk"))
}

async fn remember(
    api: &DeviceApi<'_>,
    store: &impl DeviceStore,
    request: &ApiRequest<'_>,
    owner: &str,
    now: u64,
) -> Result<ApiResponse, DeviceError> {
    match used_a_device(request.claims.get(api.methods_claim).map(String::as_str)) {
        Some(false) => {}
        Some(true) => return Err(DeviceError::UsedADevice),
        None => return Err(DeviceError::SignInAgain),
    }
    let body: RememberBody =
        serde_json::from_slice(request.body).map_err(|_| DeviceError::BadRequest)?;
    let spki = unb64(&body.public_key).ok_or(DeviceError::BadRequest)?;
    public_key(&spki).ok_or(DeviceError::BadRequest)?;
    let name = clean_name(&body.name).ok_or(DeviceError::BadRequest)?;
    // Expired devices give their places back first.
    for expired in store
        .devices(owner)
        .await?
        .iter()
        .filter(|d| d.expires_at <= now)
    {
        store.forget_device(owner, &expired.id).await?;
    }
    let device = StoredDevice {
        id: device_id(&spki),
        public_key: spki,
        name,
        created_at: now,
        expires_at: now.saturating_add(api.settings.ttl_seconds()),
    };
    match store.remember(owner, &device, api.settings.limit).await? {
        Remembered::Added => Ok(ApiResponse::json(201, json!(ListedDevice::from(&device)))),
        Remembered::Duplicate => Err(DeviceError::Duplicate),
        Remembered::TooMany => Err(DeviceError::TooMany),
    }
}
