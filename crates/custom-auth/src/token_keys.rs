//! The keys the `signed-token` step checks tokens with: a fixed key from the configuration, or
//! a JWKS endpoint behind a cache that outlives invocations. Below the step kinds, so that
//! Verify's side of the step contract ([`crate::steps::answer::VerifyIo`]) can name it.

use crate::config::{Config, TokenKeySource};
use crate::jwt::{JwksCache, VerifyingKey};
use crate::ports::JwksFetcher;

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
