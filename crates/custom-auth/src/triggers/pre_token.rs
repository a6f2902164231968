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
mod tests;
