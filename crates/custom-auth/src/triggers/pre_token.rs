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

use serde_json::Value;

use crate::config::{Config, Step};
use crate::error::AuthError;
use crate::events::{PreTokenGenerationEvent, PreTokenGenerationSource};
use crate::keys::choice_key;
use crate::steps::account::{parse_accounts, sign_in_id};
use crate::store::StateStore;

/// The user attribute that lists the accounts a user may act for.
pub const ACCOUNTS_ATTRIBUTE: &str = "custom:accounts";

/// What Pre Token Generation did, for the log line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Minted {
    /// The selected account is in both tokens.
    WithAccount,
    /// The flow selects no account (or the claim is off): nothing added.
    NoAccountStep,
    /// A refresh: no sign-in, so no choice to prove; the claim is left out on purpose.
    Refresh,
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
    let mut id_add: HashMap<String, Value> = HashMap::new();
    let mut access_add: HashMap<String, Value> = HashMap::new();
    let mut id_suppress = Vec::new();
    let settings = config.account_claim.as_ref();
    if settings.is_some_and(|s| !s.keep_accounts_in_id_token) {
        id_suppress.push(ACCOUNTS_ATTRIBUTE.to_owned());
    }
    let minted = match (settings, config.state.as_ref()) {
        (Some(claim), Some(state))
            if config
                .flows
                .for_client(header.caller_context.client_id.as_deref())
                .is_some_and(|flow| flow.contains(Step::SelectAccount)) =>
        {
            if *source == PreTokenGenerationSource::RefreshTokens {
                Minted::Refresh
            } else {
                let request = &event.request;
                let id = sign_in_id(&request.client_metadata).ok_or(AuthError::NoSignInId)?;
                let key = choice_key(
                    &state.key,
                    header.user_pool_id.as_deref().unwrap_or_default(),
                    header.user_name.as_deref().unwrap_or_default(),
                    id,
                );
                let account = store
                    .take(&key, now)
                    .await
                    .map_err(AuthError::State)?
                    .ok_or(AuthError::NoChoice)?;
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
                Minted::WithAccount
            }
        }
        _ => Minted::NoAccountStep,
    };
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
    tracing::info!(trigger = "pre-token", minted = ?minted, "tokens customised");
    Ok(minted)
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
        let admitted = block_on(store.admit("u#x", Some(&record), NOW, &state.limits));
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
        assert_eq!(got, Ok(Minted::WithAccount));
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
        assert_eq!(again, Ok(Minted::WithAccount));
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
        assert_eq!(got, Ok(Minted::WithAccount));
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
        assert_eq!(got, Ok(Minted::Refresh));
        assert_eq!(added(&event), (None, None, vec!["custom:accounts".into()]));

        let config = claimed("email-otp", &[("ID_TOKEN_ACCOUNTS", "keep")]);
        let (got, event) = run(&config, "pre-token/authentication.json", &store);
        assert_eq!(got, Ok(Minted::NoAccountStep));
        assert_eq!(added(&event), (None, None, vec![]));

        // Without the claim configured nothing is added or suppressed, and no store is asked.
        let config = config_with("select-account", &[]);
        let failing = MemoryStore::failing(DependencyError::Failed);
        let (got, event) = run(&config, "pre-token/authentication.json", &failing);
        assert_eq!(got, Ok(Minted::NoAccountStep));
        assert_eq!(added(&event), (None, None, vec![]));

        let mut event: PreTokenGenerationEvent = fixture("pre-token/authentication.json");
        event.cognito_event_user_pools_header.trigger_source = None;
        let got = block_on(pre_token_generation(&config, &mut event, &store, NOW));
        assert_eq!(got, Err(AuthError::NotFromCognito));
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
    }
}
