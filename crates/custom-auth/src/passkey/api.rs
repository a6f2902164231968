//! The passkey registration API, as plain requests and responses: the `passkey-api` function
//! converts API Gateway's HTTP API events into [`ApiRequest`] and back.
//!
//! | method and path              | does                                    | answers           |
//! |------------------------------|-----------------------------------------|-------------------|
//! | `POST /passkeys/registration`| starts a registration                   | 200, the options  |
//! | `POST /passkeys`             | completes it: `{credential, name?}`     | 201, the passkey  |
//! | `GET /passkeys`              | lists the caller's passkeys             | 200, `{passkeys}` |
//! | `DELETE /passkeys/{id}`      | deletes one of the caller's passkeys    | 204               |
//! | `POST /passkeys/sign-in/options` | public: a sign-in without a name, its options | 200, `{options, state}` |
//! | `POST /passkeys/sign-in/name`    | public: `{credential, state}`, the name of the passkey's holder | 200, `{username}` |
//! | `/devices...`                | remembered devices: [`crate::device::api`] |           |
//!
//! The two `sign-in` routes are public (no token: the person is not signed in yet) and
//! throttled by API Gateway ([`super::discover`] says why they give nothing away and store
//! nothing).
//!
//! The API's JWT authorizer has checked the access token (signature, issuer: the stack's pool,
//! audience: its app clients, expiry); the caller is the token's `sub` (and `username`) in the
//! pool named by its `iss`. Every call acts on the caller's own passkeys and nothing else:
//! there is no way to name another user. Errors are `{"error": "<message>", "code": "<word>"}`
//! with fixed messages.
//!
//! The routes that change passkeys (start, finish, delete) pass the gate of
//! [`crate::http_api`]: a fresh sign-in and a live token.
//!
//! Deleting needs both too: deleting someone's passkeys locks them out of a passkey-only flow,
//! which a stolen token should not be able to do either. Listing needs neither. Every added or
//! deleted passkey is mailed to the user's verified address ([`super::notice`]); a mail that
//! fails is logged and changes nothing.

use serde_json::json;

use super::PasskeySettings;
use super::discover::{self, NameError};
use super::notice::{self, Change};
use super::register::{self, RegistrationError};
use crate::config::device::DeviceSettings;
use crate::config::env::{ConfigError, number};
use crate::device::api::{self as devices, DeviceApi};
use crate::http_api::privileged;
pub use crate::http_api::{ApiRequest, ApiResponse, caller, fresh};
use crate::ports::{Mailer, TokenCheck};
use crate::store::StateSettings;
use crate::store::devices::DeviceStore;
use crate::store::passkeys::PasskeyStore;

/// Default of `PASSKEY_REGISTRATION_MAX_AGE_SECONDS`: Keycloak's default for re-authenticating
/// before a credential change.
pub const DEFAULT_MAX_AGE_SECONDS: u64 = 300;

/// What the registration function needs: the passkey settings and the state store's.
#[derive(Clone, Debug)]
pub struct ApiConfig {
    /// `PASSKEY_*`, when passkeys are on (`PASSKEY_RP_ID` set); the passkey routes answer 404
    /// otherwise.
    pub passkey: Option<PasskeySettings>,
    /// `DEVICE_*`, when remembered devices are on (`DEVICE_TTL_DAYS` set); the device routes
    /// answer 404 otherwise.
    pub device: Option<DeviceSettings>,
    /// `SIGN_IN_METHODS_CLAIM`: the access token's claim that says how its sign-in passed
    /// (devices need it: a device is remembered only after a sign-in that used none).
    pub methods_claim: Option<String>,
    /// `AUTH_STATE_TABLE`, `AUTH_STATE_KEY` (the same key as the triggers': it names the
    /// user's passkeys and makes the user handle).
    pub state: StateSettings,
    /// `PASSKEY_REGISTRATION_MAX_AGE_SECONDS` (10 to 3600, default 300): how old a sign-in may
    /// be to add or delete a passkey, or to change remembered devices.
    pub max_age_seconds: u64,
    /// `OTP_EMAIL_FROM`: the sender of the notices (the same as the codes'). Without it, no
    /// notice is sent (logged at start).
    pub notice_from: Option<String>,
}

impl ApiConfig {
    /// Reads the settings through `lookup` (empty values count as unset); every error names
    /// its variable.
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<ApiConfig, ConfigError> {
        let get = |var: &str| lookup(var).filter(|v| !v.trim().is_empty());
        let state = StateSettings::from_lookup(&get)?.ok_or(ConfigError::Missing {
            var: "AUTH_STATE_TABLE",
            why: " (passkeys are kept there)",
        })?;
        let passkey = match get("PASSKEY_RP_ID") {
            Some(_) => Some(PasskeySettings::from_lookup(&get, true)?),
            None => None,
        };
        let methods_claim = get("SIGN_IN_METHODS_CLAIM").map(|c| c.trim().to_owned());
        let device = match get("DEVICE_TTL_DAYS") {
            Some(_) => Some(DeviceSettings::from_lookup(
                &get,
                true,
                methods_claim.is_some(),
            )?),
            None => None,
        };
        if passkey.is_none() && device.is_none() {
            return Err(ConfigError::Missing {
                var: "PASSKEY_RP_ID or DEVICE_TTL_DAYS",
                why: " (the API serves passkeys, remembered devices, or both)",
            });
        }
        Ok(ApiConfig {
            passkey,
            device,
            methods_claim,
            state,
            max_age_seconds: number(
                &get,
                "PASSKEY_REGISTRATION_MAX_AGE_SECONDS",
                DEFAULT_MAX_AGE_SECONDS,
                10..=3600,
            )?,
            notice_from: get("OTP_EMAIL_FROM").map(|f| f.trim().to_owned()),
        })
    }
}

impl From<RegistrationError> for ApiResponse {
    fn from(e: RegistrationError) -> ApiResponse {
        let status = match e {
            RegistrationError::BadRequest | RegistrationError::Refused => 400,
            RegistrationError::NotFound => 404,
            RegistrationError::NotPending
            | RegistrationError::Duplicate
            | RegistrationError::TooMany => 409,
            RegistrationError::Unavailable => 503,
            RegistrationError::SignInAgain => 403,
            RegistrationError::SignedOut => 401,
        };
        ApiResponse::error(status, &e.to_string(), e.code())
    }
}

/// What the API calls out to: the store, the pool (is a token live?) and the mail.
#[derive(Debug)]
pub struct Io<'a, S, T, M> {
    /// Passkeys and pending registrations.
    pub store: &'a S,
    /// The pool's word on the caller's token.
    pub tokens: &'a T,
    /// The notices.
    pub mail: &'a M,
}

// (By hand: derived, they would ask `S`, `T` and `M` to be `Copy` too.)
impl<S, T, M> Clone for Io<'_, S, T, M> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<S, T, M> Copy for Io<'_, S, T, M> {}

/// Answers `request` at `now`.
pub async fn handle(
    config: &ApiConfig,
    io: Io<'_, impl PasskeyStore + DeviceStore, impl TokenCheck, impl Mailer>,
    request: ApiRequest<'_>,
    now: u64,
) -> ApiResponse {
    let path = request.path.trim_end_matches('/');
    if path == "/devices" || path.starts_with("/devices/") {
        let api = config.device.as_ref().map(|settings| DeviceApi {
            settings,
            key: &config.state.key,
            max_age_seconds: config.max_age_seconds,
            methods_claim: config.methods_claim.as_deref().unwrap_or_default(),
        });
        return devices::handle(api.as_ref(), io.store, io.tokens, &request, now).await;
    }
    let (key, store) = (&config.state.key, io.store);
    let Some(settings) = &config.passkey else {
        return answered(
            &request,
            Route::None,
            ApiResponse::error(404, "no such route", "no-route"),
        );
    };
    let route = match (request.method, path.strip_prefix("/passkeys")) {
        ("POST", Some("/registration")) => Route::Start,
        ("POST", Some("/sign-in/options")) => Route::SignInOptions,
        ("POST", Some("/sign-in/name")) => Route::SignInName,
        ("POST", Some("")) => Route::Finish,
        ("GET", Some("")) => Route::List,
        ("DELETE", Some(rest)) if rest.len() > 1 && rest.starts_with('/') => {
            Route::Delete(&rest[1..])
        }
        _ => Route::None,
    };
    if let Route::SignInOptions | Route::SignInName = route {
        let response = sign_in(settings, key, store, route, request.body).await;
        return answered(&request, route, response);
    }
    let outcome = match (caller(request.claims), route) {
        (None, _) => Err(RegistrationError::SignedOut),
        (Some(_), Route::None) => Ok(ApiResponse::error(404, "no such route", "no-route")),
        (Some(caller), Route::List) => register::list(key, store, caller)
            .await
            .map(|all| ApiResponse::json(200, json!({ "passkeys": all }))),
        (Some(caller), route) => match privileged(config.max_age_seconds, io.tokens, &request, now)
            .await
            .map_err(RegistrationError::from)
        {
            Err(e) => Err(e),
            Ok(email) => {
                let changed = match route {
                    Route::Start => register::start(settings, key, store, caller, now)
                        .await
                        .map(|options| (ApiResponse::json(200, options), None)),
                    Route::Finish => {
                        register::finish(settings, key, store, caller, request.body, now)
                            .await
                            .map(|listed| {
                                let name = listed.name.clone();
                                (
                                    ApiResponse::json(201, json!(listed)),
                                    Some((Change::Added, name)),
                                )
                            })
                    }
                    Route::Delete(id) => register::delete(key, store, caller, id)
                        .await
                        .map(|name| (ApiResponse::done(), Some((Change::Removed, name)))),
                    Route::List | Route::None | Route::SignInOptions | Route::SignInName => {
                        Err(RegistrationError::BadRequest)
                    }
                };
                match changed {
                    Ok((response, Some((change, name)))) => {
                        tell(config, io.mail, email.as_deref(), change, &name, now).await;
                        Ok(response)
                    }
                    Ok((response, None)) => Ok(response),
                    Err(e) => Err(e),
                }
            }
        },
    };
    answered(&request, route, outcome.unwrap_or_else(ApiResponse::from))
}

/// Logs the answer to `request` and returns it. The route's name, not the path: a `DELETE`
/// path carries a credential id.
fn answered(request: &ApiRequest<'_>, route: Route<'_>, response: ApiResponse) -> ApiResponse {
    crate::http_api::answered(request, route.name(), response)
}

/// The public routes of a sign-in without a name ([`super::discover`]): nothing of the
/// caller is asked, and every refusal of a name is one answer.
async fn sign_in(
    settings: &PasskeySettings,
    key: &crate::config::env::Secret,
    store: &impl PasskeyStore,
    route: Route<'_>,
    body: &[u8],
) -> ApiResponse {
    if let Route::SignInOptions = route {
        return match discover::options(settings, key) {
            Some((options, state)) => {
                ApiResponse::json(200, json!({ "options": options, "state": state }))
            }
            None => ApiResponse::error(503, "the service is unavailable; try again", "unavailable"),
        };
    }
    match discover::name(settings, key, store, body).await {
        Ok(username) => ApiResponse::json(200, json!({ "username": username })),
        Err(e @ NameError::Refused) => ApiResponse::error(400, &e.to_string(), "refused"),
        Err(e @ NameError::Unavailable) => ApiResponse::error(503, &e.to_string(), "unavailable"),
    }
}

/// Mails the notice of `change` to the user's verified address, when there is one and a
/// sender is configured. A failure is logged (without the address) and changes nothing.
async fn tell(
    config: &ApiConfig,
    mail: &impl Mailer,
    email: Option<&str>,
    change: Change,
    name: &str,
    now: u64,
) {
    let (Some(to), Some(_)) = (email, config.notice_from.as_deref()) else {
        tracing::info!(
            function = "passkey-api",
            "no notice sent: no verified e-mail address or no sender"
        );
        return;
    };
    if let Err(e) = mail.mail(&notice::message(to, change, name, now)).await {
        tracing::warn!(function = "passkey-api", error = %e, "passkey notice not sent");
    }
}

/// The API's routes, from method and path.
#[derive(Clone, Copy)]
enum Route<'a> {
    Start,
    Finish,
    List,
    /// With the credential id (base64url) from the path.
    Delete(&'a str),
    SignInOptions,
    SignInName,
    None,
}

impl Route<'_> {
    fn name(self) -> &'static str {
        match self {
            Route::Start => "start",
            Route::Finish => "finish",
            Route::List => "list",
            Route::Delete(_) => "delete",
            Route::SignInOptions => "sign-in-options",
            Route::SignInName => "sign-in-name",
            Route::None => "none",
        }
    }
}
