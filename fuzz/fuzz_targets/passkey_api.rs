//! The passkey registration API from arbitrary bytes (a JSON object of method, path, claims
//! and body): never panics; without an access token's claims every call is 401; every answer
//! is JSON (an `error` of fixed words for 4xx/5xx) or an empty 204.
#![no_main]

use std::collections::HashMap;

use custom_auth::config::Secret;
use custom_auth::passkey::api::{ApiRequest, handle};
use custom_auth_fuzz::{Gate, block_on, config};
use libfuzzer_sys::fuzz_target;

#[derive(serde::Deserialize)]
struct Input {
    method: String,
    path: String,
    #[serde(default)]
    claims: HashMap<String, String>,
    #[serde(default)]
    body: String,
}

fuzz_target!(|data: &[u8]| {
    let Ok(input) = serde_json::from_slice::<Input>(data) else {
        return;
    };
    let Some(settings) = config().passkey.as_ref() else {
        return;
    };
    let key = Secret::new("fuzz-state-key-0123456789abcdef-32b");
    let request = ApiRequest {
        method: &input.method,
        path: &input.path,
        claims: &input.claims,
        body: input.body.as_bytes(),
    };
    let locked = data.len() % 2 == 1;
    let response = block_on(handle(settings, &key, &Gate(locked), request, 1_767_225_600));
    let access = input.claims.get("token_use").map(String::as_str) == Some("access");
    if !access {
        assert_eq!(response.status, 401, "a call without an access token");
    }
    if response.status == 204 {
        assert!(response.body.is_empty());
    } else {
        let body: serde_json::Value =
            serde_json::from_str(&response.body).unwrap_or_else(|_| panic!("not JSON: {}", response.body));
        if response.status >= 400 {
            assert!(body["error"].is_string(), "{}", response.body);
        }
    }
});
