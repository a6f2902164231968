//! The device routes on the in-memory store: each route, who may call it, and what it refuses.

use std::collections::HashMap;

use serde_json::{Value, json};

use super::api::used_a_device;
use super::tests::key;
use crate::encoding::b64;
use crate::http_api::{ApiRequest, ApiResponse};
use crate::passkey::api::{ApiConfig, Io, handle};
use crate::ports::{DependencyError, TokenStatus};
use crate::store::MemoryStore;
use crate::testing::fakes::{Mail, Pool};

const NOW: u64 = 1_800_000_000;
const DAY: u64 = 86_400;

fn config(extra: &[(&str, &str)]) -> Result<ApiConfig, crate::ConfigError> {
    let mut vars: HashMap<&str, &str> = HashMap::from([
        ("AUTH_STATE_TABLE", "auth-state"),
        ("AUTH_STATE_KEY", "device-api-state-key-0123456789abcdef"),
        ("SIGN_IN_METHODS_CLAIM", "signin_amr"),
        ("DEVICE_TTL_DAYS", "30"),
        ("DEVICE_LIMIT", "2"),
    ]);
    vars.extend(extra.iter().copied());
    ApiConfig::from_lookup(|k| vars.get(k).map(|v| v.to_string()))
}

/// An access token's claims for `user` (whose `sub` is the name), signed in `age` seconds ago
/// with `methods` (as API Gateway hands an array claim).
fn claims(user: &str, age: u64, methods: Option<&str>) -> HashMap<String, String> {
    let mut claims = HashMap::from([
        ("token_use".into(), "access".into()),
        ("username".into(), user.into()),
        ("sub".into(), user.into()),
        ("auth_time".into(), (NOW - age).to_string()),
        (
            "iss".into(),
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Devices".into(),
        ),
    ]);
    if let Some(methods) = methods {
        claims.insert("signin_amr".into(), methods.into());
    }
    claims
}

struct Api {
    config: ApiConfig,
    store: MemoryStore,
    pool: Pool,
    now: u64,
}

impl Api {
    fn new() -> Api {
        Api {
            config: config(&[]).unwrap(),
            store: MemoryStore::default(),
            pool: Pool::default(),
            now: NOW,
        }
    }

    async fn call(
        &self,
        claims: &HashMap<String, String>,
        method: &str,
        path: &str,
        body: Value,
    ) -> (u16, Value) {
        let mail = Mail::default();
        let io = Io {
            store: &self.store,
            tokens: &self.pool,
            mail: &mail,
        };
        let body = if body.is_null() {
            String::new()
        } else {
            body.to_string()
        };
        let request = ApiRequest {
            method,
            path,
            claims,
            token: "the-access-token",
            body: body.as_bytes(),
        };
        let ApiResponse { status, body, .. } = handle(&self.config, io, request, self.now).await;
        (status, serde_json::from_str(&body).unwrap_or(Value::Null))
    }
}

fn remember_body(seed: u8, name: &str) -> Value {
    json!({ "publicKey": b64(&key(seed).1), "name": name })
}

#[tokio::test]
async fn remember_list_rename_and_forget_only_the_callers_devices() {
    let api = Api::new();
    let jane = claims("jane", 10, Some("[pwd otp mfa]"));
    let ann = claims("ann", 10, Some("[pwd otp mfa]"));

    let (status, laptop) = api
        .call(&jane, "POST", "/devices", remember_body(1, "Laptop"))
        .await;
    assert_eq!(status, 201, "{laptop}");
    assert_eq!(laptop["name"], "Laptop");
    assert_eq!(laptop["createdAt"], NOW);
    assert_eq!(laptop["expiresAt"], NOW + 30 * DAY, "30 days from now");
    let id = laptop["id"].as_str().unwrap().to_owned();
    assert_eq!(
        id,
        b64(&super::device_id(&key(1).1)),
        "the id comes from the key"
    );

    let (status, again) = api
        .call(&jane, "POST", "/devices", remember_body(1, "Again"))
        .await;
    assert_eq!((status, again["code"].as_str()), (409, Some("duplicate")));
    let (status, _) = api
        .call(&jane, "POST", "/devices", remember_body(2, "Phone"))
        .await;
    assert_eq!(status, 201);
    let (status, full) = api
        .call(&jane, "POST", "/devices", remember_body(3, "Tablet"))
        .await;
    assert_eq!(
        (status, full["code"].as_str()),
        (409, Some("too-many")),
        "DEVICE_LIMIT=2"
    );

    let (status, listed) = api.call(&jane, "GET", "/devices", Value::Null).await;
    assert_eq!(status, 200);
    let names: Vec<&str> = listed["devices"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Laptop", "Phone"]);
    let (_, theirs) = api.call(&ann, "GET", "/devices", Value::Null).await;
    assert_eq!(theirs["devices"], json!([]), "ann sees none of jane's");

    // Another person cannot rename or forget them: to them the id names nothing.
    let path = format!("/devices/{id}");
    let (status, _) = api
        .call(&ann, "PATCH", &path, json!({"name": "Mine"}))
        .await;
    assert_eq!(status, 404);
    let (status, _) = api.call(&ann, "DELETE", &path, Value::Null).await;
    assert_eq!(status, 404);
    let (status, _) = api.call(&ann, "DELETE", "/devices", Value::Null).await;
    assert_eq!(status, 204, "forgetting all of one's own (none)");

    let (status, renamed) = api
        .call(&jane, "PATCH", &path, json!({"name": " Work laptop "}))
        .await;
    assert_eq!(
        (status, renamed["name"].as_str()),
        (200, Some("Work laptop"))
    );
    let (status, _) = api
        .call(&jane, "PATCH", &path, json!({"name": "a\u{7}b"}))
        .await;
    assert_eq!(status, 400, "control characters");
    let (status, _) = api.call(&jane, "DELETE", &path, Value::Null).await;
    assert_eq!(status, 204);
    let (status, _) = api.call(&jane, "DELETE", &path, Value::Null).await;
    assert_eq!(status, 404, "forgotten already");
    let (status, _) = api.call(&jane, "DELETE", "/devices", Value::Null).await;
    assert_eq!(status, 204);
    let (_, listed) = api.call(&jane, "GET", "/devices", Value::Null).await;
    assert_eq!(listed["devices"], json!([]), "all forgotten");
}

#[tokio::test]
async fn remembering_needs_a_fresh_live_sign_in_that_used_no_device() {
    let api = Api::new();
    let body = || remember_body(1, "Laptop");
    let cases: &[(&str, HashMap<String, String>, u16, &str)] = &[
        (
            "a device sign-in",
            claims("jane", 10, Some("[pwd swk mfa]")),
            403,
            "used-a-device",
        ),
        (
            "a JSON array claim too",
            claims("jane", 10, Some(r#"["pwd","swk","mfa"]"#)),
            403,
            "used-a-device",
        ),
        (
            "no methods in the token",
            claims("jane", 10, None),
            403,
            "sign-in-again",
        ),
        (
            "a stale sign-in",
            claims("jane", 301, Some("[pwd otp mfa]")),
            403,
            "sign-in-again",
        ),
        (
            "an ID token",
            {
                let mut c = claims("jane", 10, Some("[pwd otp mfa]"));
                c.insert("token_use".into(), "id".into());
                c
            },
            401,
            "signed-out",
        ),
    ];
    for (what, claims, status, code) in cases {
        let (got, answer) = api.call(claims, "POST", "/devices", body()).await;
        assert_eq!(
            (got, answer["code"].as_str()),
            (*status, Some(*code)),
            "{what}"
        );
    }
    // Renaming and forgetting need a fresh sign-in too (not a device-free one).
    let fresh = claims("jane", 10, Some("[pwd swk mfa]"));
    let (status, _) = api.call(&fresh, "DELETE", "/devices", Value::Null).await;
    assert_eq!(status, 204, "a device sign-in may forget devices");
    let stale = claims("jane", 301, Some("[pwd otp mfa]"));
    let (status, _) = api.call(&stale, "DELETE", "/devices", Value::Null).await;
    assert_eq!(status, 403);
    // A token the pool no longer honours; a pool that does not answer.
    let ok = claims("jane", 10, Some("[pwd otp mfa]"));
    *api.pool.status.lock().unwrap() = Ok(TokenStatus::Refused);
    let (status, _) = api.call(&ok, "POST", "/devices", body()).await;
    assert_eq!(status, 401);
    *api.pool.status.lock().unwrap() = Err(DependencyError::Timeout);
    let (status, _) = api.call(&ok, "POST", "/devices", body()).await;
    assert_eq!(status, 503);
    let (_, listed) = api.call(&ok, "GET", "/devices", Value::Null).await;
    assert_eq!(listed["devices"], json!([]), "nothing was remembered");
}

#[tokio::test]
async fn malformed_requests_are_refused() {
    let api = Api::new();
    let jane = claims("jane", 10, Some("[pwd otp mfa]"));
    for body in [
        json!({ "publicKey": "not base64!", "name": "x" }),
        json!({ "publicKey": b64(b"not a key"), "name": "x" }),
        json!({ "publicKey": b64(&key(1).1), "name": "" }),
        json!({ "publicKey": b64(&key(1).1), "name": "x", "id": "mine" }),
        json!({ "publicKey": b64(&key(1).1) }),
        json!([]),
    ] {
        let (status, answer) = api.call(&jane, "POST", "/devices", body.clone()).await;
        assert_eq!(
            (status, answer["code"].as_str()),
            (400, Some("bad-request")),
            "{body}"
        );
    }
    for (method, path) in [
        ("PUT", "/devices"),
        ("GET", "/devices/x/y"),
        ("POST", "/devices/abc"),
    ] {
        let (status, _) = api.call(&jane, method, path, Value::Null).await;
        assert_eq!(status, 404, "{method} {path}");
    }
}

#[tokio::test]
async fn expired_devices_are_not_listed_and_give_their_places_back() {
    let mut api = Api::new();
    let jane = claims("jane", 10, Some("[pwd otp mfa]"));
    for (seed, name) in [(1, "Old"), (2, "Older")] {
        let (status, _) = api
            .call(&jane, "POST", "/devices", remember_body(seed, name))
            .await;
        assert_eq!(status, 201);
    }
    api.now = NOW + 30 * DAY;
    let jane = {
        let mut c = jane.clone();
        c.insert("auth_time".into(), (api.now - 10).to_string());
        c
    };
    let (_, listed) = api.call(&jane, "GET", "/devices", Value::Null).await;
    assert_eq!(listed["devices"], json!([]), "expired ones are not listed");
    let (status, answer) = api
        .call(&jane, "POST", "/devices", remember_body(3, "New"))
        .await;
    assert_eq!(
        status, 201,
        "the limit counts only devices still remembered: {answer}"
    );
}

#[test]
fn the_methods_claim_reads_as_api_gateway_hands_it() {
    assert_eq!(used_a_device(Some("[pwd swk mfa]")), Some(true));
    assert_eq!(used_a_device(Some(r#"["pwd","otp","mfa"]"#)), Some(false));
    assert_eq!(used_a_device(Some("[hwk user mfa]")), Some(false));
    assert_eq!(used_a_device(Some("[]")), None);
    assert_eq!(used_a_device(None), None);
}

#[test]
fn devices_need_the_methods_claim_and_the_api_needs_something_to_serve() {
    let err = config(&[("SIGN_IN_METHODS_CLAIM", "")]).unwrap_err();
    assert!(
        err.to_string().starts_with("SIGN_IN_METHODS_CLAIM"),
        "{err}"
    );
    let err = config(&[("DEVICE_TTL_DAYS", "")]).unwrap_err();
    assert!(
        err.to_string()
            .starts_with("PASSKEY_RP_ID or DEVICE_TTL_DAYS"),
        "{err}"
    );
    let err = config(&[("DEVICE_TTL_DAYS", "400")]).unwrap_err();
    assert!(err.to_string().starts_with("DEVICE_TTL_DAYS"), "{err}");
}
