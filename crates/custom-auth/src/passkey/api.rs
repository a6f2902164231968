//! The passkey registration API, as plain requests and responses: the `passkey-api` function
//! converts API Gateway's HTTP API events into [`ApiRequest`] and back.
//!
//! | method and path              | does                                    | answers           |
//! |------------------------------|-----------------------------------------|-------------------|
//! | `POST /passkeys/registration`| starts a registration                   | 200, the options  |
//! | `POST /passkeys`             | completes it: `{credential, name?}`     | 201, the passkey  |
//! | `GET /passkeys`              | lists the caller's passkeys             | 200, `{passkeys}` |
//! | `DELETE /passkeys/{id}`      | deletes one of the caller's passkeys    | 204               |
//!
//! The API's JWT authorizer has checked the access token (signature, issuer: the stack's pool,
//! audience: its app clients, expiry); the caller is the token's `username` in the pool named
//! by its `iss`. Every call acts on the caller's own passkeys and nothing else: there is no
//! way to name another user. Errors are `{"error": "<message>"}` with fixed messages.

use std::collections::HashMap;

use serde_json::json;

use super::PasskeySettings;
use super::register::{self, Caller, RegistrationError};
use super::store::PasskeyStore;
use crate::config::{ConfigError, Secret};
use crate::state::StateSettings;

/// What the registration function needs: the passkey settings and the state store's.
#[derive(Clone, Debug)]
pub struct ApiConfig {
    /// `PASSKEY_*`.
    pub passkey: PasskeySettings,
    /// `AUTH_STATE_TABLE`, `AUTH_STATE_KEY` (the same key as the triggers': it names the
    /// user's passkeys and makes the user handle).
    pub state: StateSettings,
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
        Ok(ApiConfig {
            passkey: PasskeySettings::from_lookup(&get, true)?,
            state,
        })
    }
}

/// A request, as the function passes it on.
#[derive(Clone, Copy, Debug)]
pub struct ApiRequest<'a> {
    /// `GET`, `POST`, `DELETE`, ...
    pub method: &'a str,
    /// The path after the stage, such as `/passkeys`.
    pub path: &'a str,
    /// The claims the JWT authorizer checked (none without a token).
    pub claims: &'a HashMap<String, String>,
    /// The body, decoded.
    pub body: &'a [u8],
}

/// A response: status and JSON body (empty for 204).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiResponse {
    /// The HTTP status.
    pub status: u16,
    /// The JSON text.
    pub body: String,
}

impl ApiResponse {
    fn json(status: u16, body: serde_json::Value) -> ApiResponse {
        ApiResponse {
            status,
            body: body.to_string(),
        }
    }

    fn error(status: u16, message: &str) -> ApiResponse {
        ApiResponse::json(status, json!({ "error": message }))
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
        };
        ApiResponse::error(status, &e.to_string())
    }
}

/// The caller the claims name: an access token's `username` and `sub`, in the pool its `iss`
/// ends with. `None` for anything else (no claims, an ID token, no name, no `sub`).
pub fn caller(claims: &HashMap<String, String>) -> Option<Caller<'_>> {
    if claims.get("token_use").map(String::as_str) != Some("access") {
        return None;
    }
    let user = claims.get("username").filter(|u| !u.is_empty())?;
    let sub = claims.get("sub").filter(|s| !s.is_empty())?;
    let pool = claims
        .get("iss")?
        .rsplit('/')
        .next()
        .filter(|p| !p.is_empty() && p.contains('_'))?;
    Some(Caller { pool, user, sub })
}

/// Answers `request` at `now`.
pub async fn handle(
    settings: &PasskeySettings,
    key: &Secret,
    store: &impl PasskeyStore,
    request: ApiRequest<'_>,
    now: u64,
) -> ApiResponse {
    let path = request.path.trim_end_matches('/');
    let route = match (request.method, path.strip_prefix("/passkeys")) {
        ("POST", Some("/registration")) => Route::Start,
        ("POST", Some("")) => Route::Finish,
        ("GET", Some("")) => Route::List,
        ("DELETE", Some(rest)) if rest.len() > 1 && rest.starts_with('/') => {
            Route::Delete(&rest[1..])
        }
        _ => Route::None,
    };
    let outcome =
        match (caller(request.claims), route) {
            (None, _) => Ok(ApiResponse::error(401, "sign in first")),
            (Some(_), Route::None) => Ok(ApiResponse::error(404, "no such route")),
            (Some(caller), Route::Start) => register::start(settings, key, store, caller, now)
                .await
                .map(|options| ApiResponse::json(200, options)),
            (Some(caller), Route::Finish) => {
                register::finish(settings, key, store, caller, request.body, now)
                    .await
                    .map(|listed| ApiResponse::json(201, json!(listed)))
            }
            (Some(caller), Route::List) => register::list(key, store, caller)
                .await
                .map(|all| ApiResponse::json(200, json!({ "passkeys": all }))),
            (Some(caller), Route::Delete(id)) => register::delete(key, store, caller, id)
                .await
                .map(|()| ApiResponse {
                    status: 204,
                    body: String::new(),
                }),
        };
    let response = outcome.unwrap_or_else(ApiResponse::from);
    // The route's name, not the path: a `DELETE` path carries a credential id.
    tracing::info!(
        function = "passkey-api",
        method = request.method,
        route = route.name(),
        status = response.status,
        "request answered"
    );
    response
}

/// The API's routes, from method and path.
#[derive(Clone, Copy)]
enum Route<'a> {
    Start,
    Finish,
    List,
    /// With the credential id (base64url) from the path.
    Delete(&'a str),
    None,
}

impl Route<'_> {
    fn name(self) -> &'static str {
        match self {
            Route::Start => "start",
            Route::Finish => "finish",
            Route::List => "list",
            Route::Delete(_) => "delete",
            Route::None => "none",
        }
    }
}
