//! The account API (passkeys and remembered devices) from arbitrary bytes (a JSON object of method, path, claims,
//! token and body): never panics; without an access token's claims every call is 401; a call
//! that changes passkeys passes only with a fresh `auth_time` and a token the pool honours;
//! a device is remembered only after a sign-in that used none; every answer is JSON (an `error` of fixed words for 4xx/5xx) or an empty 204. The two public
//! routes of a sign-in without a name answer without a token, and the name route never names
//! anyone here: the store holds no passkey, so no assertion can be valid.
#![no_main]

use std::collections::HashMap;

use custom_auth::passkey::api::{ApiRequest, Io, fresh, handle};
use custom_auth_fuzz::{Gate, Pool, Sender, api_config, block_on};
use libfuzzer_sys::fuzz_target;

#[derive(serde::Deserialize)]
struct Input {
    method: String,
    path: String,
    #[serde(default)]
    claims: HashMap<String, String>,
    #[serde(default)]
    token: String,
    #[serde(default)]
    body: String,
}

const NOW: u64 = 1_767_225_600;

fuzz_target!(|data: &[u8]| {
    let Ok(input) = serde_json::from_slice::<Input>(data) else {
        return;
    };
    let request = ApiRequest {
        method: &input.method,
        path: &input.path,
        claims: &input.claims,
        token: &input.token,
        body: input.body.as_bytes(),
    };
    let locked = data.len() % 2 == 1;
    let live = data.len() % 3 != 0;
    let io = Io {
        store: &Gate(locked),
        tokens: &Pool(live),
        mail: &Sender(live),
    };
    let response = block_on(handle(api_config(), io, request, NOW));
    let access = input.claims.get("token_use").map(String::as_str) == Some("access");
    let path = input.path.trim_end_matches('/');
    let public = input.method == "POST"
        && matches!(path, "/passkeys/sign-in/options" | "/passkeys/sign-in/name");
    if path == "/passkeys/sign-in/name" && input.method == "POST" {
        assert_ne!(response.status, 200, "a name without a valid assertion");
    }
    if !access && !public {
        assert_eq!(response.status, 401, "a call without an access token");
    }
    let is_fresh = input
        .claims
        .get("auth_time")
        .and_then(|t| t.trim().parse::<u64>().ok())
        .is_some_and(|at| fresh(at, NOW, api_config().max_age_seconds));
    if matches!(response.status, 200 | 201 | 204) && input.method != "GET" && !public {
        assert!(is_fresh && live && !input.token.is_empty(), "a change without a fresh, live token");
    }
    // A device is remembered only after a sign-in whose methods hold no remembered device.
    if response.status == 201 && path == "/devices" {
        let methods = input.claims.get("signin_amr").map(String::as_str).unwrap_or_default();
        let words: Vec<&str> = methods
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .collect();
        assert!(
            !words.is_empty() && !words.contains(&"swk"),
            "a device remembered after a sign-in with a device, or with no methods: {methods:?}"
        );
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
