//! The `signed-token` step: a JWT from the user's backend, for a passwordless hand-off. Its
//! round needs nothing beyond what every round has; its check verifies the token with a key
//! that fixes the algorithm ([`crate::jwt`]), and with the state store spends it once.

use crate::config::{Config, TokenKeySource};
use crate::events::VerifyAuthChallengeEvent;
use crate::jwt::{JwksCache, TokenRejection, TokenRules, VerifyingKey, token_kid, verify_token};
use crate::keys::token_key;
use crate::ports::JwksFetcher;
use crate::state::OneTime;
use crate::steps::answer::Wrong;

/// The keys of the `signed-token` step: a fixed key, or a JWKS endpoint behind a cache that
/// outlives invocations.
pub struct TokenKeys<F> {
    source: Option<TokenKeySource>,
    cache: JwksCache,
    fetcher: F,
}

impl<F: JwksFetcher> TokenKeys<F> {
    /// Keys as configured; `fetcher` is used only for a JWKS source.
    pub fn new(config: &Config, fetcher: F) -> TokenKeys<F> {
        TokenKeys {
            source: config.signed_token.as_ref().map(|s| s.keys.clone()),
            cache: JwksCache::new(),
            fetcher,
        }
    }

    /// The key for a token with header `kid`. A JWKS source needs a `kid`; an unknown one
    /// triggers at most one rate-limited refetch; a failed fetch falls back to cached keys.
    pub async fn key(&self, kid: Option<&str>, now: u64) -> Option<VerifyingKey> {
        match self.source.as_ref()? {
            TokenKeySource::Static(key) => Some(key.clone()),
            TokenKeySource::Jwks(_) => {
                let kid = kid?;
                if let Some(key) = self.cache.get(kid, now) {
                    return Some(key);
                }
                if self.cache.begin_fetch(now) {
                    match self.fetcher.fetch().await {
                        Ok(doc) => {
                            if !self.cache.store(&doc, now) {
                                tracing::warn!("JWKS document unusable; keeping cached keys");
                            }
                        }
                        Err(e) => {
                            tracing::warn!(error = %e, "JWKS fetch failed; keeping cached keys")
                        }
                    }
                }
                self.cache.get_stale(kid)
            }
        }
    }
}

/// Checks the token: a known key, the signature, `sub` equal to the user's, `exp`, `nbf`, the
/// configured issuer and audience; never passing for an unknown user. With the state store,
/// the token must name itself (`jti`): the returned record spends it, with the admission.
pub(crate) async fn check<F: JwksFetcher>(
    config: &Config,
    keys: &TokenKeys<F>,
    event: &VerifyAuthChallengeEvent,
    answer: &str,
    now: u64,
) -> Result<Option<OneTime>, Wrong> {
    let unknown = event.request.user_not_found;
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
                value: None,
                newest_link: None,
                passkey: None,
            })
        }
    };
    Ok(token)
}
