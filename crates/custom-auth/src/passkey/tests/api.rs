//! The registration API on the in-memory store: each route, and what it refuses.

use std::collections::HashMap;

use super::*;
use crate::keys::owner_key;
use crate::passkey::api::{ApiConfig, ApiRequest, ApiResponse, Io, handle};
use crate::ports::{DependencyError, TokenStatus};
use crate::testing::fakes::{Mail, Pool};

type Claims = HashMap<String, String>;

/// The API's configuration: the fixtures' passkey settings, notices from no-reply@.
fn api_config(max_age: &str) -> ApiConfig {
    let vars = HashMap::from([
        ("AUTH_STATE_TABLE", "auth-state"),
        ("AUTH_STATE_KEY", STATE_KEY),
        ("PASSKEY_RP_ID", "localhost"),
        ("PASSKEY_ORIGINS", ORIGIN),
        ("PASSKEY_REGISTRATION_MAX_AGE_SECONDS", max_age),
        ("OTP_EMAIL_FROM", "no-reply@example.com"),
    ]);
    ApiConfig::from_lookup(|k| vars.get(k).map(|v| v.to_string())).unwrap()
}

/// An access token's claims for `user`, whose `sub` is the name too (as in the fixtures).
fn claims(user: &str, token_use: &str) -> Claims {
    HashMap::from([
        ("token_use".into(), token_use.into()),
        ("username".into(), user.into()),
        ("sub".into(), user.into()),
        ("auth_time".into(), (now() - 10).to_string()),
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
    call_with(
        store,
        &Pool::default(),
        &Mail::default(),
        claims,
        method,
        path,
        body,
    )
    .await
}

async fn call_with(
    store: &MemoryStore,
    pool: &Pool,
    mail: &Mail,
    claims: &HashMap<String, String>,
    method: &str,
    path: &str,
    body: &str,
) -> (u16, Value) {
    let io = Io {
        store,
        tokens: pool,
        mail,
    };
    let request = ApiRequest {
        method,
        path,
        claims,
        token: "the-access-token",
        body: body.as_bytes(),
    };
    let ApiResponse { status, body, .. } = handle(&api_config("300"), io, request, now()).await;
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

#[tokio::test]
async fn changing_passkeys_needs_a_fresh_sign_in() {
    // A stolen access token is valid for up to an hour; its sign-in is older than five
    // minutes for most of that hour. Adding (both halves) and deleting need a fresh one;
    // listing does not.
    let f = load("es256");
    let id = f["passkey"]["id"].as_str().unwrap();
    let finish = json!({"credential": f["registration"]["credential"]}).to_string();
    let delete = format!("/passkeys/{id}");
    let with_auth_time = |at: Option<String>| {
        let mut c = claims("jane", "access");
        match at {
            Some(at) => c.insert("auth_time".into(), at),
            None => c.remove("auth_time"),
        };
        c
    };
    let table: Vec<(Option<String>, bool)> = vec![
        (Some((now() - 10).to_string()), true),
        (Some((now() - 300).to_string()), true),
        (Some((now() - 301).to_string()), false),
        (Some((now() - 3000).to_string()), false),
        (Some((now() + 30).to_string()), true),
        (Some((now() + 3600).to_string()), false),
        (Some("yesterday".into()), false),
        (Some(String::new()), false),
        (None, false),
    ];
    for (at, fresh) in table {
        let store = MemoryStore::default();
        let claims = with_auth_time(at.clone());
        let pool = Pool::default();
        let (status, body) = call_with(
            &store,
            &pool,
            &Mail::default(),
            &claims,
            "POST",
            "/passkeys/registration",
            "",
        )
        .await;
        if fresh {
            assert_eq!(status, 200, "{at:?}: {body}");
        } else {
            assert_eq!(
                (status, body["code"].as_str(), body["error"].as_str()),
                (
                    403,
                    Some("sign-in-again"),
                    Some("sign in again to add or delete a passkey")
                ),
                "{at:?}"
            );
            assert!(
                pool.tokens.lock().unwrap().is_empty(),
                "no pool call for a stale token"
            );
            pending(&store, &f).await;
            let (status, body) = call(&store, &claims, "POST", "/passkeys", &finish).await;
            assert_eq!(
                (status, body["code"].as_str()),
                (403, Some("sign-in-again")),
                "finish {at:?}"
            );
            let owner = owner_key(&key(), "us-east-1_Fixtures", "jane");
            assert!(store.passkeys(&owner).await.unwrap().is_empty());
            let (status, _) = call(&store, &claims, "DELETE", &delete, "").await;
            assert_eq!(status, 403, "delete {at:?}");
            let (status, _) = call(&store, &claims, "GET", "/passkeys", "").await;
            assert_eq!(status, 200, "listing needs no fresh sign-in {at:?}");
        }
    }
}

#[tokio::test]
async fn a_token_the_pool_refuses_changes_nothing() {
    // Signed out (GlobalSignOut, RevokeToken) or deleted: the JWT authorizer still lets the
    // token through until it expires; the pool does not.
    let f = load("es256");
    let finish = json!({"credential": f["registration"]["credential"]}).to_string();
    let jane = claims("jane", "access");
    let owner = owner_key(&key(), "us-east-1_Fixtures", "jane");
    for (status_of_token, want_status, want_code) in [
        (Ok(TokenStatus::Refused), 401, "signed-out"),
        (Err(DependencyError::Timeout), 503, "unavailable"),
        (Err(DependencyError::Failed), 503, "unavailable"),
    ] {
        let store = MemoryStore::default();
        let pool = Pool::default();
        *pool.status.lock().unwrap() = status_of_token.clone();
        let mail = Mail::default();
        for (method, path, body) in [
            ("POST", "/passkeys/registration", ""),
            ("POST", "/passkeys", finish.as_str()),
            ("DELETE", "/passkeys/AAAA", ""),
        ] {
            pending(&store, &f).await;
            let (status, answer) = call_with(&store, &pool, &mail, &jane, method, path, body).await;
            assert_eq!(
                (status, answer["code"].as_str()),
                (want_status, Some(want_code)),
                "{status_of_token:?} {method} {path}"
            );
        }
        assert_eq!(
            pool.tokens.lock().unwrap().as_slice(),
            ["the-access-token"; 3],
            "asked once per call, with the token itself"
        );
        assert!(store.passkeys(&owner).await.unwrap().is_empty());
        assert!(mail.sent.lock().unwrap().is_empty());
        // Listing does not ask the pool.
        let (status, _) = call_with(&store, &pool, &mail, &jane, "GET", "/passkeys", "").await;
        assert_eq!(status, 200);
        assert_eq!(pool.tokens.lock().unwrap().len(), 3);
    }
}

#[tokio::test]
async fn every_added_or_deleted_passkey_is_mailed_to_the_verified_address() {
    let f = load("es256");
    let id = f["passkey"]["id"].as_str().unwrap();
    let finish =
        json!({"credential": f["registration"]["credential"], "name": "Work laptop"}).to_string();
    let jane = claims("jane", "access");
    let store = MemoryStore::default();
    let pool = Pool::default();
    let mail = Mail::default();
    pending(&store, &f).await;
    let (status, _) = call_with(&store, &pool, &mail, &jane, "POST", "/passkeys", &finish).await;
    assert_eq!(status, 201);
    let (status, _) = call_with(
        &store,
        &pool,
        &mail,
        &jane,
        "DELETE",
        &format!("/passkeys/{id}"),
        "",
    )
    .await;
    assert_eq!(status, 204);
    let sent = mail.sent.lock().unwrap().clone();
    assert_eq!(sent.len(), 2, "{sent:?}");
    assert_eq!(sent[0].0, "jane@example.com");
    assert_eq!(sent[0].1, "A passkey was added to your account");
    assert!(
        sent[0].2.contains("\"Work laptop\" was added"),
        "{}",
        sent[0].2
    );
    assert!(sent[0].2.contains("If this wasn't you"));
    assert_eq!(sent[1].1, "A passkey was removed from your account");
    assert!(sent[1].2.contains("\"Work laptop\" was removed"));

    // No verified address: nothing mailed, the change stands. A failing mail: the same.
    *pool.status.lock().unwrap() = Ok(TokenStatus::Live { email: None });
    pending(&store, &f).await;
    let (status, _) = call_with(&store, &pool, &mail, &jane, "POST", "/passkeys", &finish).await;
    assert_eq!(status, 201);
    assert_eq!(mail.sent.lock().unwrap().len(), 2);
    let failing = Mail {
        fail: Some(DependencyError::Timeout),
        ..Mail::default()
    };
    *pool.status.lock().unwrap() = Ok(TokenStatus::Live {
        email: Some("jane@example.com".into()),
    });
    let (status, _) = call_with(
        &store,
        &pool,
        &failing,
        &jane,
        "DELETE",
        &format!("/passkeys/{id}"),
        "",
    )
    .await;
    assert_eq!(status, 204, "a mail that fails changes nothing");
}

#[tokio::test]
async fn signing_in_without_a_name_is_public_and_names_only_a_verified_holder() {
    let f = load("es256-discoverable");
    let store = MemoryStore::default();
    let (pool, sub) = caller(&f);
    let mut jane = claims("jane", "access");
    jane.insert("sub".into(), sub.clone());
    let owner = owner_key(&key(), &pool, &sub);
    store
        .begin_registration(&owner, &registration_state(&f), now() + 60)
        .await
        .unwrap();
    let finish = json!({"credential": f["registration"]["credential"], "name": "Phone"});
    let (status, created) = call(&store, &jane, "POST", "/passkeys", &finish.to_string()).await;
    assert_eq!(status, 201, "{created}");
    // The registration kept who holds the passkey: the name and the handle it carries.
    let id = unb64(f["passkey"]["id"].as_str().unwrap()).unwrap();
    let found = store.discover(&id).await.unwrap().expect("discoverable");
    assert_eq!(
        found.holder,
        Holder {
            user: "jane".into(),
            handle: user_handle(&key(), &pool, &sub).to_vec(),
        }
    );
    assert_eq!(found.owner, owner);

    // No token needed for the two sign-in routes.
    let nobody = Claims::new();
    let (status, body) = call(&store, &nobody, "POST", "/passkeys/sign-in/options", "").await;
    assert_eq!(status, 200, "{body}");
    assert!(body["options"]["challenge"].is_string(), "{body}");
    assert_eq!(body["options"]["allowCredentials"], json!([]));
    assert!(
        crate::passkey::discover::open(&key(), body["state"].as_str().unwrap()).is_some(),
        "a state sealed under the key"
    );
    let state = super::discover::fresh_state(&f, &key());
    let signed = json!({"credential": f["discoverable"]["answer"], "state": state});
    let (status, body) = call(
        &store,
        &nobody,
        "POST",
        "/passkeys/sign-in/name",
        &signed.to_string(),
    )
    .await;
    assert_eq!((status, body), (200, json!({"username": "jane"})));
    let refused = json!({"error": "the passkey could not be verified", "code": "refused"});
    for body in [
        "",
        "{}",
        "jane",
        &json!({"credential": {}, "state": state}).to_string(),
    ] {
        let answer = call(&store, &nobody, "POST", "/passkeys/sign-in/name", body).await;
        assert_eq!(answer, (400, refused.clone()), "{body:?}");
    }
    // Every other route still needs a token.
    let (status, _) = call(&store, &nobody, "GET", "/passkeys", "").await;
    assert_eq!(status, 401);
    let (status, _) = call(&store, &nobody, "GET", "/passkeys/sign-in/options", "").await;
    assert_eq!(status, 401, "only POST is public");
}
