//! The `signed-token` step: a JWT from the user's backend, for a passwordless hand-off. Its
//! round needs nothing beyond what every round has; its check verifies the token with a key
//! that fixes the algorithm ([`crate::jwt`]), and with the state store spends it once.

use crate::jwt::{TokenRejection, TokenRules, token_kid, verify_token};
use crate::keys::token_key;
use crate::ports::{CaptchaVerifier, JwksFetcher};
use crate::steps::answer::{Answer, Checked, VerifyIo, Wrong};
use crate::store::{OneTime, OneTimeKind};

/// Checks the token: a known key, the signature, `sub` equal to the user's, `exp`, `nbf`, the
/// configured issuer and audience; never passing for an unknown user. With the state store,
/// the token must name itself (`jti`): the returned record spends it, with the admission.
pub(crate) async fn check(
    answer: &Answer<'_>,
    io: &VerifyIo<'_, impl CaptchaVerifier, impl JwksFetcher>,
) -> Checked {
    let (config, keys, event, now) = (answer.config, io.keys, answer.event, answer.now);
    let unknown = answer.unknown();
    let answer = answer.text;
    let settings = config.signed_token.as_ref().ok_or(Wrong::UnknownStep)?;
    let kid = token_kid(answer).map_err(Wrong::Token)?;
    let key = keys
        .key(kid.as_deref(), now)
        .await
        .ok_or(Wrong::Token(TokenRejection::UnknownKey))?;
    let subject = event
        .request
        .user_attributes
        .get("sub")
        .map_or("", String::as_str);
    let rules = TokenRules {
        subject,
        issuer: settings.issuer.as_deref(),
        audience: settings.audience.as_deref(),
    };
    let facts = verify_token(answer, &key, &rules, now).map_err(Wrong::Token)?;
    if unknown {
        return Err(Wrong::Decoy);
    }
    // With a state store, a token is good for one sign-in: it must name itself.
    let token = match &config.state {
        None => None,
        Some(state) => {
            let id = facts.id.ok_or(Wrong::Token(TokenRejection::NoTokenId))?;
            Some(OneTime {
                key: token_key(&state.key, &facts.issuer, &id),
                expires_at: facts.expires_at,
                kind: OneTimeKind::Spent,
            })
        }
    };
    Ok(token)
}
