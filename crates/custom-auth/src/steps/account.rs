//! The `select-account` step: the challenge (the user's accounts from `custom:accounts`, or a
//! stable decoy list for an unknown user) and the check of the chosen id, which with the
//! account claim on is recorded for Pre Token Generation.

use std::collections::HashMap;

use crate::error::AuthError;
use crate::keys::choice_key;
use crate::ports::{CaptchaVerifier, JwksFetcher};
use crate::steps::answer::{Answer, Checked, VerifyIo, Wrong};
use crate::steps::round::{CreateIo, Round, private, public};
use crate::store::{OneTime, OneTimeKind};

/// How long a recorded account choice waits for Pre Token Generation: longer than any sign-in
/// (each round's session lasts at most 15 minutes).
pub const CHOICE_TTL_SECONDS: u64 = 3600;

/// The `ClientMetadata` key that names the sign-in.
pub const SIGN_IN_ID: &str = "signInId";

/// A well-formed sign-in id in `metadata`: 16 to 128 of `A-Z a-z 0-9 _ -` (a UUID or 128
/// random bits in hex fit). `None` for anything else.
pub fn sign_in_id(metadata: &HashMap<String, String>) -> Option<&str> {
    let id = metadata.get(SIGN_IN_ID)?;
    let valid = (16..=128).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    valid.then_some(id.as_str())
}

/// Parses `custom:accounts`: a non-empty JSON object of account id to display name.
pub fn parse_accounts(raw: Option<&str>) -> Option<serde_json::Map<String, serde_json::Value>> {
    let map: serde_json::Map<String, serde_json::Value> = serde_json::from_str(raw?).ok()?;
    let valid = !map.is_empty()
        && map
            .iter()
            .all(|(id, name)| !id.is_empty() && name.is_string());
    valid.then_some(map)
}

pub(crate) fn decoy_accounts(seed: &[u8; 32]) -> String {
    const NAMES: [&str; 5] = ["Personal", "Work", "Family", "Business", "Savings"];
    let count = 1 + usize::from(seed[5] % 3);
    let map: serde_json::Map<String, serde_json::Value> = (0..count)
        .map(|i| {
            let id = format!(
                "acct-{:02x}{:02x}{:02x}",
                seed[6 + 3 * i],
                seed[7 + 3 * i],
                seed[8 + 3 * i]
            );
            let name = NAMES[(usize::from(seed[20]) + i) % NAMES.len()];
            (id, serde_json::Value::String(name.to_owned()))
        })
        .collect();
    serde_json::Value::Object(map).to_string()
}

/// Builds the round: the accounts to choose from, publicly and privately (Verify checks the
/// answer against exactly what was offered).
pub(crate) async fn challenge<S, St, R>(
    round: &mut Round<'_>,
    _: &mut CreateIo<'_, S, St, R>,
) -> Result<(), AuthError> {
    let (step, seed) = (round.step, round.seed);
    let unknown = round.unknown();
    let attrs = &round.request.user_attributes;
    let accounts = if unknown {
        decoy_accounts(&seed)
    } else {
        match parse_accounts(attrs.get("custom:accounts").map(String::as_str)) {
            Some(map) => serde_json::Value::Object(map).to_string(),
            None => {
                tracing::warn!(step = %step, "custom:accounts is missing or malformed; the step cannot pass");
                "{}".to_owned()
            }
        }
    };
    round
        .public
        .insert(public::ACCOUNTS.to_owned(), accounts.clone());
    round.private.insert(private::ACCOUNTS.to_owned(), accounts);
    Ok(())
}

/// Checks the chosen account id against those the round offered. With the account claim on,
/// the choice is recorded for this sign-in (named by the client's sign-in id) so Pre Token
/// Generation can put it in the tokens: the returned record, written with the admission.
pub(crate) async fn check(
    answer: &Answer<'_>,
    _: &VerifyIo<'_, impl CaptchaVerifier, impl JwksFetcher>,
) -> Checked {
    let (config, event, params, now) = (answer.config, answer.event, answer.params, answer.now);
    let answer = answer.text;
    let offered = params.get(private::ACCOUNTS).map(String::as_str);
    let accounts = parse_accounts(offered).ok_or(Wrong::Mismatch)?;
    if !accounts.contains_key(answer) {
        return Err(Wrong::Mismatch);
    }
    // With the account claim on, the choice is recorded for this sign-in (named by the
    // client's sign-in id) so Pre Token Generation can put it in the tokens.
    let choice = match (&config.account_claim, &config.state) {
        (Some(_), Some(state)) => {
            let id = sign_in_id(&event.request.client_metadata).ok_or(Wrong::NoSignInId)?;
            let header = &event.cognito_event_user_pools_header;
            Some(OneTime {
                key: choice_key(
                    &state.key,
                    header.user_pool_id.as_deref().unwrap_or_default(),
                    header.user_name.as_deref().unwrap_or_default(),
                    id,
                ),
                expires_at: now.saturating_add(CHOICE_TTL_SECONDS),
                kind: OneTimeKind::Value(answer.to_owned()),
            })
        }
        _ => None,
    };
    Ok(choice)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accounts() {
        let table: &[(Option<&str>, bool)] = &[
            (Some(r#"{"acc-1":"Personal","acc-2":"Work"}"#), true),
            (Some("{}"), false),
            (Some("[]"), false),
            (Some(r#"{"acc-1":5}"#), false),
            (Some(r#"{"":"Empty"}"#), false),
            (Some("not json"), false),
            (None, false),
        ];
        for (raw, ok) in table {
            assert_eq!(parse_accounts(*raw).is_some(), *ok, "{raw:?}");
        }
    }

    #[test]
    fn decoy_accounts_are_stable_and_plausible() {
        let a = crate::steps::round::decoy_seed("pool", "ghost");
        assert_eq!(a, crate::steps::round::decoy_seed("pool", "ghost"));
        assert_ne!(a, crate::steps::round::decoy_seed("pool", "ghost2"));
        assert_eq!(decoy_accounts(&a), decoy_accounts(&a));
        assert!(parse_accounts(Some(&decoy_accounts(&a))).is_some());
    }
}
