//! The Pre Token Generation trigger (event version 2): the account the user selected in this
//! sign-in goes into the ID and access tokens.
//!
//! Pre Token Generation sees no session, so it cannot tell from Cognito which sign-in it is
//! minting tokens for. The client names its sign-in: a random `signInId` in the
//! `ClientMetadata` of each `RespondToAuthChallenge`. When Verify accepts an account it records
//! the choice under `(pool, user, signInId)`, once (a second choice under the same id is
//! refused); Pre Token Generation takes that record (marking it taken: a repeat within
//! `TAKE_GRACE_SECONDS`, such as Cognito retrying the trigger, gets the same account, nothing
//! later) and writes the account into both tokens. The client chooses only the id, never the
//! account: an id that names no choice of this user fails the sign-in, so two sign-ins on two
//! devices each get their own choice. Everything else in `ClientMetadata` is ignored.

use std::collections::HashMap;
use std::future::Future;
use std::task::Poll;

use serde_json::Value;

use crate::config::{Config, Step};
use crate::error::AuthError;
use crate::events::{PreTokenGenerationEvent, PreTokenGenerationSource};
use crate::keys::{choice_key, methods_key};
use crate::methods;
use crate::steps::account::{parse_accounts, sign_in_id};
use crate::store::StateStore;

/// The user attribute that lists the accounts a user may act for.
pub const ACCOUNTS_ATTRIBUTE: &str = "custom:accounts";

/// What Pre Token Generation did with the account claim, for the log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Account {
    /// The selected account is in both tokens.
    Added,
    /// The flow selects no account (or the claim is off): nothing added.
    NoAccountStep,
    /// A refresh: no sign-in, so no choice to prove; the claim is left out on purpose.
    Refresh,
}

/// What Pre Token Generation did, for the log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Minted {
    /// The account claim.
    pub account: Account,
    /// Whether the sign-in's methods are in both tokens (`SIGN_IN_METHODS_CLAIM` on, and
    /// this sign-in's record found and taken).
    pub methods: bool,
}

/// Runs the Pre Token Generation trigger at `now`: fills `event.response`.
pub async fn pre_token_generation(
    config: &Config,
    event: &mut PreTokenGenerationEvent,
    store: &impl StateStore,
    now: u64,
) -> Result<Minted, AuthError> {
    let header = &event.cognito_event_user_pools_header;
    let source = header
        .trigger_source
        .as_ref()
        .ok_or(AuthError::NotFromCognito)?;
    let refresh = *source == PreTokenGenerationSource::RefreshTokens;
    let pool = header.user_pool_id.as_deref().unwrap_or_default();
    let user = header.user_name.as_deref().unwrap_or_default();
    let request = &event.request;
    let mut id_add: HashMap<String, Value> = HashMap::new();
    let mut access_add: HashMap<String, Value> = HashMap::new();
    let mut id_suppress = Vec::new();
    let settings = config.account_claim.as_ref();
    if settings.is_some_and(|s| !s.keep_accounts_in_id_token) {
        id_suppress.push(ACCOUNTS_ATTRIBUTE.to_owned());
    }
    let selects = config
        .flows
        .for_client(header.caller_context.client_id.as_deref())
        .is_some_and(|flow| flow.contains(Step::SelectAccount));
    // Both records are taken at once: one round trip's wait, not two.
    let (account, methods) = match config.state.as_ref() {
        Some(state) if !refresh => {
            let id = sign_in_id(&request.client_metadata);
            let account = async {
                match settings {
                    Some(claim) if selects => {
                        let id = id.ok_or(AuthError::NoSignInId)?;
                        let key = choice_key(&state.key, pool, user, id);
                        let account = store
                            .take(&key, now)
                            .await
                            .map_err(AuthError::State)?
                            .ok_or(AuthError::NoChoice)?;
                        Ok(Some((claim, account)))
                    }
                    _ => Ok(None),
                }
            };
            let methods = async {
                match (&config.methods_claim, id) {
                    (Some(claim), Some(id)) => {
                        let key = methods_key(&state.key, pool, user, id);
                        store
                            .take(&key, now)
                            .await
                            .map_err(AuthError::State)
                            .map(|kept| {
                                kept.and_then(|k| methods::from_json(&k))
                                    .map(|m| (claim, m))
                            })
                    }
                    // No sign-in id: no record to find, so no methods (never a guess).
                    _ => Ok(None),
                }
            };
            let (account, methods) = join(account, methods).await;
            (account?, methods?)
        }
        _ => (None, None),
    };
    let account = match account {
        Some((claim, account)) => {
            // Still one of the user's accounts: an administrator may have withdrawn it
            // between the choice and now.
            let accounts = parse_accounts(
                request
                    .user_attributes
                    .get(ACCOUNTS_ATTRIBUTE)
                    .map(String::as_str),
            );
            if !accounts.is_some_and(|a| a.contains_key(&account)) {
                return Err(AuthError::NoChoice);
            }
            id_add.insert(claim.name.clone(), Value::String(account.clone()));
            access_add.insert(claim.name.clone(), Value::String(account));
            Account::Added
        }
        None if refresh && settings.is_some() && selects && config.state.is_some() => {
            Account::Refresh
        }
        None => Account::NoAccountStep,
    };
    let minted = Minted {
        account,
        methods: methods.is_some(),
    };
    if let Some((claim, methods)) = methods {
        let list = Value::from(methods);
        id_add.insert(claim.clone(), list.clone());
        access_add.insert(claim.clone(), list);
    }
    let response = &mut event.response;
    let mut details = crate::events::ClaimsAndScopeOverrideDetailsV2::default();
    // Keep the groups Cognito put in the request: an empty override would drop them.
    details.group_override_details = event.request.group_configuration.clone();
    let mut id = crate::events::CognitoIdTokenGenerationV2::default();
    id.claims_to_add_or_override = id_add;
    id.claims_to_suppress = id_suppress;
    let mut access = crate::events::CognitoAccessTokenGenerationV2::default();
    access.claims_to_add_or_override = access_add;
    details.id_token_generation = Some(id);
    details.access_token_generation = Some(access);
    response.claims_and_scope_override_details = Some(details);
    tracing::info!(trigger = "pre-token", account = ?minted.account, methods = minted.methods, "tokens customised");
    Ok(minted)
}

/// Runs two futures to completion together (both are store calls: their waits overlap).
async fn join<A: Future, B: Future>(a: A, b: B) -> (A::Output, B::Output) {
    let (mut a, mut b) = (std::pin::pin!(a), std::pin::pin!(b));
    let (mut ra, mut rb) = (None, None);
    std::future::poll_fn(|cx| {
        if ra.is_none()
            && let Poll::Ready(v) = a.as_mut().poll(cx)
        {
            ra = Some(v);
        }
        if rb.is_none()
            && let Poll::Ready(v) = b.as_mut().poll(cx)
        {
            rb = Some(v);
        }
        match (ra.take(), rb.take()) {
            (Some(a), Some(b)) => Poll::Ready((a, b)),
            (a, b) => {
                (ra, rb) = (a, b);
                Poll::Pending
            }
        }
    })
    .await
}

#[cfg(test)]
mod tests {
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
        let admitted =
            block_on(store.admit("u#x", std::slice::from_ref(&record), NOW, &state.limits));
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
}
