//! Pre Token Generation on fixtures: the account and the methods, once, and what gets none.
use super::*;
use crate::events::PreTokenGenerationEvent;
use crate::ports::DependencyError;
use crate::steps::account::SIGN_IN_ID;
use crate::store::{MemoryStore, OneTime, StateStore};
use crate::testing::{config_with, fixture};

const NOW: u64 = 1_800_000_000;
const POOL: &str = "us-east-1_Ex4mPl3Aa";
const ID: &str = "0f3c9a7e5b1d4e2a8c6f0b9d7e5a3c1f";

/// What was minted without the methods' claim.
fn only(account: Account) -> Minted {
    Minted {
        account,
        methods: false,
    }
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
        .block_on(f)
}

fn claimed(flow: &str, extra: &[(&str, &str)]) -> Config {
    let mut vars = vec![
        ("AUTH_STATE_TABLE", "auth-state"),
        ("AUTH_STATE_KEY", "claims-test-state-key-0123456789ab"),
        ("SELECTED_ACCOUNT_CLAIM", "selected_account"),
    ];
    vars.extend_from_slice(extra);
    config_with(flow, &vars)
}

/// A store holding `user`'s choice of `account` under sign-in id `id`.
fn chosen(config: &Config, user: &str, id: &str, account: &str) -> MemoryStore {
    let store = MemoryStore::default();
    let state = config.state.as_ref().unwrap();
    let record = OneTime {
        key: choice_key(&state.key, POOL, user, id),
        expires_at: NOW + 60,
        kind: crate::store::OneTimeKind::Value(account.to_owned()),
    };
    let admitted = block_on(store.admit("u#x", std::slice::from_ref(&record), NOW, &state.limits));
    assert_eq!(admitted, Ok(crate::store::Admission::Admitted));
    store
}

fn run(
    config: &Config,
    file: &str,
    store: &MemoryStore,
) -> (Result<Minted, AuthError>, PreTokenGenerationEvent) {
    let mut event: PreTokenGenerationEvent = fixture(file);
    let got = block_on(pre_token_generation(config, &mut event, store, NOW));
    (got, event)
}

fn added(event: &PreTokenGenerationEvent) -> (Option<Value>, Option<Value>, Vec<String>) {
    let details = event
        .response
        .claims_and_scope_override_details
        .as_ref()
        .unwrap();
    let id = details.id_token_generation.as_ref().unwrap();
    let access = details.access_token_generation.as_ref().unwrap();
    (
        id.claims_to_add_or_override
            .get("selected_account")
            .cloned(),
        access
            .claims_to_add_or_override
            .get("selected_account")
            .cloned(),
        id.claims_to_suppress.clone(),
    )
}

#[test]
fn the_chosen_account_reaches_both_tokens_once() {
    let config = claimed("select-account", &[]);
    let store = chosen(&config, "jane", ID, "acct-2002");
    let (got, event) = run(&config, "pre-token/authentication.json", &store);
    assert_eq!(got, Ok(only(Account::Added)));
    let want = Some(Value::String("acct-2002".into()));
    assert_eq!(
        added(&event),
        (want.clone(), want, vec!["custom:accounts".into()])
    );
    let details = event.response.claims_and_scope_override_details.unwrap();
    assert_eq!(
        details.group_override_details.groups_to_override,
        ["readers"],
        "the user's groups are kept"
    );
    // Taken: within the grace a repeated invocation (a retry) mints the same account;
    // after it the sign-in id mints nothing.
    let (again, event) = run(&config, "pre-token/authentication.json", &store);
    assert_eq!(again, Ok(only(Account::Added)));
    assert_eq!(added(&event).0, Some(Value::String("acct-2002".into())));
    let mut late: PreTokenGenerationEvent = fixture("pre-token/authentication.json");
    let later = NOW + crate::store::TAKE_GRACE_SECONDS + 1;
    let got = block_on(pre_token_generation(&config, &mut late, &store, later));
    assert_eq!(got, Err(AuthError::NoChoice));
}

#[test]
fn client_metadata_cannot_choose_the_account() {
    // The forged event also claims acct-2002 and a list of its own; the choice on record
    // (acct-1001) is what the tokens get.
    let config = claimed("select-account", &[]);
    let store = chosen(&config, "jane", ID, "acct-1001");
    let (got, event) = run(&config, "pre-token/forged-metadata.json", &store);
    assert_eq!(got, Ok(only(Account::Added)));
    assert_eq!(added(&event).0, Some(Value::String("acct-1001".into())));
}

#[test]
fn a_sign_in_that_cannot_prove_its_choice_gets_no_tokens() {
    let config = claimed("select-account", &[]);
    let cases: &[(&str, MemoryStore, AuthError)] = &[
        (
            "no sign-in id",
            chosen(&config, "jane", ID, "acct-1001"),
            AuthError::NoSignInId,
        ),
        (
            "no choice on record",
            MemoryStore::default(),
            AuthError::NoChoice,
        ),
        (
            "another user's choice",
            chosen(&config, "john", ID, "acct-1001"),
            AuthError::NoChoice,
        ),
        (
            "another sign-in's choice",
            chosen(
                &config,
                "jane",
                "ffffffffffffffffffffffffffffffff",
                "acct-1001",
            ),
            AuthError::NoChoice,
        ),
        (
            "an account the user no longer has",
            chosen(&config, "jane", ID, "acct-3003"),
            AuthError::NoChoice,
        ),
        (
            "the store failing",
            MemoryStore::failing(DependencyError::Timeout),
            AuthError::State(DependencyError::Timeout),
        ),
    ];
    for (what, store, want) in cases {
        let file = if *what == "no sign-in id" {
            "pre-token/no-sign-in-id.json"
        } else {
            "pre-token/authentication.json"
        };
        let (got, event) = run(&config, file, store);
        assert_eq!(got.as_ref(), Err(want), "{what}");
        assert!(
            event.response.claims_and_scope_override_details.is_none(),
            "{what}"
        );
    }
    // Malformed ids are no ids.
    for bad in [
        "short",
        "has space in the id 0123456789",
        &"x".repeat(129),
        "émoji-0123456789abc",
    ] {
        let metadata = HashMap::from([(SIGN_IN_ID.to_owned(), bad.to_owned())]);
        assert_eq!(sign_in_id(&metadata), None, "{bad}");
    }
    let metadata = HashMap::from([(SIGN_IN_ID.to_owned(), ID.to_owned())]);
    assert_eq!(sign_in_id(&metadata), Some(ID));
}

#[test]
fn refreshes_and_other_flows_get_no_account() {
    let config = claimed("select-account", &[]);
    let store = chosen(&config, "jane", ID, "acct-1001");
    let (got, event) = run(&config, "pre-token/refresh.json", &store);
    assert_eq!(got, Ok(only(Account::Refresh)));
    assert_eq!(added(&event), (None, None, vec!["custom:accounts".into()]));

    let config = claimed("email-otp", &[("ID_TOKEN_ACCOUNTS", "keep")]);
    let (got, event) = run(&config, "pre-token/authentication.json", &store);
    assert_eq!(got, Ok(only(Account::NoAccountStep)));
    assert_eq!(added(&event), (None, None, vec![]));

    // Without the claim configured nothing is added or suppressed, and no store is asked.
    let config = config_with("select-account", &[]);
    let failing = MemoryStore::failing(DependencyError::Failed);
    let (got, event) = run(&config, "pre-token/authentication.json", &failing);
    assert_eq!(got, Ok(only(Account::NoAccountStep)));
    assert_eq!(added(&event), (None, None, vec![]));

    let mut event: PreTokenGenerationEvent = fixture("pre-token/authentication.json");
    event.cognito_event_user_pools_header.trigger_source = None;
    let got = block_on(pre_token_generation(&config, &mut event, &store, NOW));
    assert_eq!(got, Err(AuthError::NotFromCognito));
}

#[test]
fn methods_reach_both_tokens_once_and_refreshes_get_none() {
    let mut config = claimed("password,email-otp", &[]);
    config.methods_claim = Some("signin_amr".into());
    let keep = |kept: &str| {
        let store = MemoryStore::default();
        let state = config.state.as_ref().unwrap();
        let record = OneTime {
            key: methods_key(&state.key, POOL, "jane", ID),
            expires_at: NOW + 60,
            kind: crate::store::OneTimeKind::Value(kept.to_owned()),
        };
        let admitted =
            block_on(store.admit("u#x", std::slice::from_ref(&record), NOW, &state.limits));
        assert_eq!(admitted, Ok(crate::store::Admission::Admitted));
        store
    };
    let methods = |event: &PreTokenGenerationEvent| {
        let details = event
            .response
            .claims_and_scope_override_details
            .as_ref()
            .unwrap();
        let id = details.id_token_generation.as_ref().unwrap();
        let access = details.access_token_generation.as_ref().unwrap();
        let got = id.claims_to_add_or_override.get("signin_amr").cloned();
        assert_eq!(
            got,
            access.claims_to_add_or_override.get("signin_amr").cloned()
        );
        got
    };
    let with = Minted {
        account: Account::NoAccountStep,
        methods: true,
    };
    let store = keep(r#"["pwd","otp","mfa"]"#);
    let (got, event) = run(&config, "pre-token/authentication.json", &store);
    assert_eq!(got, Ok(with));
    assert_eq!(
        methods(&event),
        Some(serde_json::json!(["pwd", "otp", "mfa"]))
    );
    // Within the grace (Cognito's second token build) the same; after it, none.
    let (got, _) = run(&config, "pre-token/authentication.json", &store);
    assert_eq!(got, Ok(with));
    let mut late: PreTokenGenerationEvent = fixture("pre-token/authentication.json");
    let later = NOW + crate::store::TAKE_GRACE_SECONDS + 1;
    let got = block_on(pre_token_generation(&config, &mut late, &store, later));
    assert_eq!(got, Ok(only(Account::NoAccountStep)));
    assert_eq!(methods(&late), None);
    // A refresh, no sign-in id, or a record that is not a list: no methods, no error.
    for (file, kept) in [
        ("pre-token/refresh.json", r#"["pwd"]"#),
        ("pre-token/no-sign-in-id.json", r#"["pwd"]"#),
        ("pre-token/authentication.json", r#"{"amr":"pwd"}"#),
    ] {
        let (got, event) = run(&config, file, &keep(kept));
        assert_eq!(got, Ok(only(Account::NoAccountStep)), "{file} {kept}");
        assert_eq!(methods(&event), None, "{file} {kept}");
    }
    // The store failing at token time: no tokens rather than tokens without the record.
    let failing = MemoryStore::failing(DependencyError::Timeout);
    let (got, _) = run(&config, "pre-token/authentication.json", &failing);
    assert_eq!(got, Err(AuthError::State(DependencyError::Timeout)));
}

#[test]
fn claim_settings_are_checked() {
    let base = [
        ("AUTH_FLOW", "select-account"),
        ("AUTH_STATE_TABLE", "auth-state"),
        ("AUTH_STATE_KEY", "claims-test-state-key-0123456789ab"),
    ];
    let read = |extra: &[(&str, &str)], without_state: bool| {
        Config::from_lookup(|k| {
            extra
                .iter()
                .chain(
                    base.iter()
                        .filter(|(b, _)| !without_state || !b.starts_with("AUTH_STATE")),
                )
                .find(|(n, _)| *n == k)
                .map(|(_, v)| (*v).to_owned())
        })
    };
    let ok = read(&[("SELECTED_ACCOUNT_CLAIM", "acct")], false).unwrap();
    let claim = ok.account_claim.unwrap();
    assert_eq!(
        (claim.name.as_str(), claim.keep_accounts_in_id_token),
        ("acct", false)
    );
    for (name, why) in [
        ("sub", "SELECTED_ACCOUNT_CLAIM"),
        ("Token_Use", "SELECTED_ACCOUNT_CLAIM"),
        ("custom:accounts", "SELECTED_ACCOUNT_CLAIM"),
        ("cognito:groups", "SELECTED_ACCOUNT_CLAIM"),
        ("1st", "SELECTED_ACCOUNT_CLAIM"),
    ] {
        let err = read(&[("SELECTED_ACCOUNT_CLAIM", name)], false).unwrap_err();
        assert!(err.to_string().starts_with(why), "{name}: {err}");
    }
    let err = read(&[("SELECTED_ACCOUNT_CLAIM", "acct")], true).unwrap_err();
    assert!(
        err.to_string().starts_with("AUTH_STATE_TABLE is required"),
        "{err}"
    );
    let err = read(
        &[
            ("SELECTED_ACCOUNT_CLAIM", "acct"),
            ("ID_TOKEN_ACCOUNTS", "maybe"),
        ],
        false,
    )
    .unwrap_err();
    assert!(err.to_string().starts_with("ID_TOKEN_ACCOUNTS"), "{err}");

    let ok = read(&[("SIGN_IN_METHODS_CLAIM", "signin_amr")], false).unwrap();
    assert_eq!(ok.methods_claim.as_deref(), Some("signin_amr"));
    for (extra, why) in [
        // Cognito excludes `amr` and `acr` from Pre Token Generation.
        (
            &[("SIGN_IN_METHODS_CLAIM", "amr")][..],
            "SIGN_IN_METHODS_CLAIM",
        ),
        (
            &[("SIGN_IN_METHODS_CLAIM", "ACR")][..],
            "SIGN_IN_METHODS_CLAIM",
        ),
        (
            &[
                ("SIGN_IN_METHODS_CLAIM", "acct"),
                ("SELECTED_ACCOUNT_CLAIM", "acct"),
            ][..],
            "SIGN_IN_METHODS_CLAIM",
        ),
    ] {
        let err = read(extra, false).unwrap_err();
        assert!(err.to_string().starts_with(why), "{extra:?}: {err}");
    }
    let err = read(&[("SIGN_IN_METHODS_CLAIM", "signin_amr")], true).unwrap_err();
    assert!(
        err.to_string().starts_with("AUTH_STATE_TABLE is required"),
        "{err}"
    );
}
