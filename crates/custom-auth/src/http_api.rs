//! What the account API's routes share (the passkeys' in [`crate::passkey::api`], the
//! remembered devices' in [`crate::device::api`]): the request and response as plain values,
//! the caller from the access token's claims, and the gate of the routes that change what signs
//! in to an account.
//!
//! A valid access token is not enough to change what signs in to an account: tokens leak (a
//! script injected into any page of the app, a log, a token the user "signed out" of, which
//! stays valid until it expires), and a passkey or a device added with one would sign in for
//! long after. So those routes also require
//! - a **fresh sign-in**: the token's `auth_time` at most `PASSKEY_REGISTRATION_MAX_AGE_SECONDS`
//!   old (403, code `sign-in-again`; the page then signs the user in again and retries). A
//!   refreshed token keeps the `auth_time` of the sign-in it came from.
//! - a **live token**: the pool still honours it ([`TokenCheck`], Cognito's `GetUser` with the
//!   token itself), asked once per call, failing closed (401, code `signed-out`; 503 when the
//!   pool does not answer).

use std::collections::HashMap;

use serde_json::json;

use crate::ports::{DependencyError, TokenCheck, TokenStatus};
use crate::telemetry::{Audit, AuditEvent, Subject};

/// How far in the future a token's `auth_time` may lie (clock skew between Cognito and us).
const MAX_SKEW_SECONDS: u64 = 60;

/// A request, as the function passes it on.
#[derive(Clone, Copy, Debug)]
pub struct ApiRequest<'a> {
    /// `GET`, `POST`, `DELETE`, ...
    pub method: &'a str,
    /// The path after the stage, such as `/passkeys`.
    pub path: &'a str,
    /// The claims the JWT authorizer checked (none without a token).
    pub claims: &'a HashMap<String, String>,
    /// The access token itself (from `Authorization`, without `Bearer `), for the pool's word
    /// on whether it is still live.
    pub token: &'a str,
    /// The body, decoded.
    pub body: &'a [u8],
}

/// A response: status and JSON body (empty for 204), and the audit event it makes, if any.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiResponse {
    /// The HTTP status.
    pub status: u16,
    /// The JSON text.
    pub body: String,
    /// The security event this answer is ([`audit`]); the function's
    /// edge writes it, never to the client.
    pub audit: Option<Audit>,
}

impl ApiResponse {
    /// A JSON answer.
    pub(crate) fn json(status: u16, body: serde_json::Value) -> ApiResponse {
        ApiResponse {
            status,
            body: body.to_string(),
            audit: None,
        }
    }

    /// An error: `{"error": message, "code": code}`.
    pub(crate) fn error(status: u16, message: &str, code: &str) -> ApiResponse {
        ApiResponse::json(status, json!({ "error": message, "code": code }))
    }

    /// 204, no body.
    pub(crate) fn done() -> ApiResponse {
        ApiResponse {
            status: 204,
            body: String::new(),
            audit: None,
        }
    }
}

/// Logs the answer to `request` on `route` (its name, never the path: a path may carry an id)
/// and returns it, with its audit event.
pub(crate) fn answered(
    request: &ApiRequest<'_>,
    route: &'static str,
    mut response: ApiResponse,
) -> ApiResponse {
    response.audit = audit(request, route, &response);
    tracing::info!(
        function = "passkey-api",
        method = request.method,
        route,
        status = response.status,
        "request answered"
    );
    response
}

/// Who calls the API: the pool, and the user from the access token the API's JWT authorizer
/// checked. Every call acts on this person's own passkeys and devices only, found by `sub`.
#[derive(Clone, Copy, Debug)]
pub struct Caller<'a> {
    /// The user pool id.
    pub pool: &'a str,
    /// The user name (`username` claim): the name the authenticator shows beside the passkey.
    pub user: &'a str,
    /// The user's `sub` (`sub` claim): what the passkeys and the user handle are keyed by.
    pub sub: &'a str,
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

/// Why the gate refused a call.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// The sign-in is older than the maximum age (or its time is missing or in the future).
    SignInAgain,
    /// The pool no longer honours the token, or there is none.
    SignedOut,
    /// The pool did not answer.
    Unavailable,
}

/// The checks of a route that changes what signs in: a fresh sign-in (the token's
/// `auth_time`, at most `max_age` seconds before `now`), then a live token (one call to the
/// pool). The user's verified e-mail address, for the notice.
pub async fn privileged(
    max_age: u64,
    tokens: &impl TokenCheck,
    request: &ApiRequest<'_>,
    now: u64,
) -> Result<Option<String>, Refusal> {
    let signed_in_at = request
        .claims
        .get("auth_time")
        .and_then(|t| t.trim().parse::<u64>().ok())
        .ok_or(Refusal::SignInAgain)?;
    if !fresh(signed_in_at, now, max_age) {
        return Err(Refusal::SignInAgain);
    }
    if request.token.is_empty() {
        return Err(Refusal::SignedOut);
    }
    match tokens.check(request.token).await {
        Ok(TokenStatus::Live { email }) => Ok(email),
        Ok(TokenStatus::Refused) => Err(Refusal::SignedOut),
        Err(DependencyError::Failed | DependencyError::Timeout) => Err(Refusal::Unavailable),
    }
}

/// Whether a sign-in at `signed_in_at` is fresh enough at `now`: at most `max_age` seconds
/// old, and not from the future (beyond clock skew).
pub fn fresh(signed_in_at: u64, now: u64, max_age: u64) -> bool {
    signed_in_at <= now.saturating_add(MAX_SKEW_SECONDS)
        && now.saturating_sub(signed_in_at) <= max_age
}

/// The account API's audit event for `response` to `request` on `route` (the route's fixed
/// name), if it is one: a passkey added or removed, a device remembered or forgotten, a change
/// refused for a stale sign-in or a revoked token.
pub fn audit(
    request: &ApiRequest<'_>,
    route: &'static str,
    response: &ApiResponse,
) -> Option<Audit> {
    let changes = matches!(
        route,
        "start"
            | "finish"
            | "delete"
            | "devices-remember"
            | "devices-rename"
            | "devices-forget"
            | "devices-forget-all"
    );
    let code = || {
        serde_json::from_str::<serde_json::Value>(&response.body)
            .ok()
            .and_then(|b| b.get("code").and_then(|c| c.as_str()).map(str::to_owned))
    };
    let (audit, outcome, detail) = match (route, response.status) {
        ("finish", 201) => (AuditEvent::PasskeyAdded, "done", None),
        ("delete", 204) => (AuditEvent::PasskeyRemoved, "done", None),
        ("devices-remember", 201) => (AuditEvent::DeviceRemembered, "done", None),
        ("devices-forget", 204) => (AuditEvent::DeviceForgotten, "done", Some("one")),
        ("devices-forget-all", 204) => (AuditEvent::DeviceForgotten, "done", Some("all")),
        (_, 401 | 403) if changes => {
            let reason = match code().as_deref() {
                Some("sign-in-again") => "stale-sign-in",
                Some("signed-out") => "revoked-token",
                _ => return None,
            };
            (AuditEvent::ChangeRefused, "refused", Some(reason))
        }
        _ => return None,
    };
    let who = caller(request.claims);
    let mut audit = Audit {
        event: audit,
        outcome,
        pool: who.map(|c| c.pool.to_owned()).unwrap_or_default(),
        client: request.claims.get("client_id").cloned(),
        subject: who.map_or(Subject::Unknown, |c| Subject::Sub(c.sub.to_owned())),
        detail: vec![("route", route.to_owned())],
    };
    if let Some(detail) = detail {
        let key = if audit.event == AuditEvent::ChangeRefused {
            "reason"
        } else {
            "which"
        };
        audit.detail.push((key, detail.to_owned()));
    }
    Some(audit)
}
