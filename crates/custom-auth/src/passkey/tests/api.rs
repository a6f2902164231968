//! The registration API on the in-memory store: each route, and what it refuses.

use std::collections::HashMap;

use super::*;
use crate::passkey::api::{ApiRequest, ApiResponse, handle};

type Claims = HashMap<String, String>;

/// An access token's claims for `user`, whose `sub` is the name too (as in the fixtures).
fn claims(user: &str, token_use: &str) -> Claims {
    HashMap::from([
        ("token_use".into(), token_use.into()),
        ("username".into(), user.into()),
        ("sub".into(), user.into()),
        (
            "iss".into(),
            "https://cognito-idp.us-east-1.amazonaws.com/us-east-1_Fixtures".into(),
        ),
    ])
}

/// Puts the fixture's registration ceremony in place of any pending one of Jane's (its
/// challenge is the one the authenticator signed).
async fn pending(store: &MemoryStore, f: &Value) {
    let owner = owner_key(&key(), "us-east-1_Fixtures", "jane");
    store
        .begin_registration(&owner, &registration_state(f), now() + 60)
        .await
        .unwrap();
}

async fn call(
    store: &MemoryStore,
    claims: &HashMap<String, String>,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, Value) {
    let ApiResponse { status, body } = handle(
        &settings(),
        &key(),
        store,
        ApiRequest {
            method,
            path,
            claims,
            body: body.as_bytes(),
        },
        now(),
    )
    .await;
    (status, serde_json::from_str(&body).unwrap_or(Value::Null))
}

#[tokio::test]
async fn the_api_registers_lists_and_deletes_only_the_callers_passkeys() {
    let f = load("es256");
    let store = MemoryStore::default();
    let jane = claims("jane", "access");
    let ann = claims("ann", "access");
    let id = f["passkey"]["id"].as_str().unwrap();
    let finish =
        json!({"credential": f["registration"]["credential"], "name": "Laptop"}).to_string();
    let owner = owner_key(&key(), "us-east-1_Fixtures", "jane");

    let (status, options) = call(&store, &jane, "POST", "/passkeys/registration", "").await;
    assert_eq!(status, 200);
    assert_eq!(options["rp"]["id"], "localhost");
    assert_eq!(
        options["authenticatorSelection"]["userVerification"],
        "required"
    );
    let algs: Vec<i64> = options["pubKeyCredParams"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["alg"].as_i64().unwrap())
        .collect();
    assert_eq!(algs, [-8, -7, -257]);
    let handle = unb64(options["user"]["id"].as_str().unwrap()).unwrap();
    assert_eq!(handle, user_handle(&key(), "us-east-1_Fixtures", "jane"));
    assert_ne!(options["user"]["id"], json!(b64(b"jane")));

    pending(&store, &f).await;
    let (status, created) = call(&store, &jane, "POST", "/passkeys", &finish).await;
    assert_eq!(status, 201, "{created}");
    assert_eq!(created["id"], id);
    assert_eq!(created["name"], "Laptop");
    // The ceremony was taken: the same answer again finds none.
    let (status, _) = call(&store, &jane, "POST", "/passkeys", &finish).await;
    assert_eq!(status, 409);
    // A new ceremony answered with a passkey registered already.
    pending(&store, &f).await;
    let (status, body) = call(&store, &jane, "POST", "/passkeys", &finish).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (409, Some("this passkey is registered already"))
    );

    let (status, listed) = call(&store, &jane, "GET", "/passkeys", "").await;
    assert_eq!(status, 200);
    assert_eq!(listed["passkeys"].as_array().unwrap().len(), 1);
    assert_eq!(listed["passkeys"][0]["id"], id);
    // The next registration excludes it.
    let (_, options) = call(&store, &jane, "POST", "/passkeys/registration", "").await;
    assert_eq!(options["excludeCredentials"][0]["id"], id);

    // Ann sees none of Jane's and cannot delete it.
    let (_, theirs) = call(&store, &ann, "GET", "/passkeys", "").await;
    assert_eq!(theirs["passkeys"], json!([]));
    let (status, _) = call(&store, &ann, "DELETE", &format!("/passkeys/{id}"), "").await;
    assert_eq!(status, 404);
    assert_eq!(store.passkeys(&owner).await.unwrap().len(), 1);

    let (status, _) = call(&store, &jane, "DELETE", &format!("/passkeys/{id}"), "").await;
    assert_eq!(status, 204);
    assert!(store.passkeys(&owner).await.unwrap().is_empty());
    let (status, _) = call(&store, &jane, "DELETE", &format!("/passkeys/{id}"), "").await;
    assert_eq!(status, 404);
}

#[tokio::test]
async fn the_api_refuses_what_it_should() {
    let store = MemoryStore::default();
    let jane = claims("jane", "access");
    let none = HashMap::new();
    let id_token = claims("jane", "id");
    let mut no_pool = claims("jane", "access");
    no_pool.insert("iss".into(), "https://example.com/".into());
    let cases: [(&Claims, &str, &str, &str, u16); 9] = [
        (&none, "GET", "/passkeys", "", 401),
        (&id_token, "GET", "/passkeys", "", 401),
        (&no_pool, "GET", "/passkeys", "", 401),
        (&jane, "GET", "/elsewhere", "", 404),
        (&jane, "PUT", "/passkeys", "", 404),
        (&jane, "POST", "/passkeys", "not json", 400),
        (
            &jane,
            "POST",
            "/passkeys",
            r#"{"credential": {}, "name": "a\u0007b"}"#,
            400,
        ),
        (&jane, "POST", "/passkeys", r#"{"credential": {}}"#, 409),
        (&jane, "DELETE", "/passkeys/%%%", "", 404),
    ];
    for (claims, method, path, body, want) in cases {
        let (status, answer) = call(&store, claims, method, path, body).await;
        assert_eq!(status, want, "{method} {path} {body}: {answer}");
        assert!(answer["error"].is_string(), "{method} {path}: {answer}");
    }
    let failing = MemoryStore::failing(crate::ports::DependencyError::Timeout);
    let (status, answer) = call(&failing, &jane, "GET", "/passkeys", "").await;
    assert_eq!(
        (status, answer["error"].as_str()),
        (503, Some("the service is unavailable; try again"))
    );
}
