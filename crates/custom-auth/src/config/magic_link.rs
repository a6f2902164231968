//! Settings of the `magic-link` step (`MAGIC_LINK_*`) and its key.

use crate::config::env::{ConfigError, Secret, check_url, number};

/// The first part of an HMAC-signed proof.
pub const VERSION: &str = "ml1";
/// The first part of a KMS-signed proof.
pub const KMS_VERSION: &str = "mk1";
/// Default of `MAGIC_LINK_TTL_SECONDS`.
pub const DEFAULT_TTL_SECONDS: u64 = 900;
/// Default of `MAGIC_LINK_MIN_INTERVAL_SECONDS`.
pub const DEFAULT_MIN_INTERVAL_SECONDS: u64 = 60;
/// Default of `MAGIC_LINK_EMAIL_SUBJECT`.
pub const DEFAULT_SUBJECT: &str = "Your sign-in link";
/// Shortest `MAGIC_LINK_SECRET`, in bytes.
pub const MIN_SECRET_BYTES: usize = 32;

/// Settings of the `magic-link` step.
#[derive(Clone, Debug)]
pub struct LinkSettings {
    /// The pages a link may open (`MAGIC_LINK_URLS`, comma-separated).
    pub urls: Vec<String>,
    /// How long a link works (`MAGIC_LINK_TTL_SECONDS`).
    pub ttl_seconds: u64,
    /// The least time between two links for one user (`MAGIC_LINK_MIN_INTERVAL_SECONDS`).
    pub min_interval_seconds: u64,
    /// The key that signs and checks proofs.
    pub key: LinkKey,
    /// The e-mail's subject (`MAGIC_LINK_EMAIL_SUBJECT`).
    pub subject: String,
}

impl LinkSettings {
    /// Reads the settings; `state` says whether `AUTH_STATE_TABLE` is set, which links need
    /// (single use, newest only, the send limit).
    pub(crate) fn from_lookup(
        get: &impl Fn(&str) -> Option<String>,
        state: bool,
    ) -> Result<LinkSettings, ConfigError> {
        const WHY: &str = " when a flow has magic-link";
        if !state {
            return Err(ConfigError::Missing {
                var: "AUTH_STATE_TABLE",
                why: " when a flow has magic-link (links are single-use)",
            });
        }
        let urls: Vec<String> = get("MAGIC_LINK_URLS")
            .ok_or(ConfigError::Missing {
                var: "MAGIC_LINK_URLS",
                why: WHY,
            })?
            .split(',')
            .map(|u| u.trim().to_owned())
            .filter(|u| !u.is_empty())
            .collect();
        for url in &urls {
            check_url("MAGIC_LINK_URLS", url)?;
            if url.contains('#') {
                return Err(ConfigError::Invalid {
                    var: "MAGIC_LINK_URLS",
                    value: url.clone(),
                    why: "a page URL without a fragment (#): the link puts its proof there".into(),
                });
            }
        }
        let key = match (get("MAGIC_LINK_KMS_KEY_ID"), get("MAGIC_LINK_SECRET")) {
            (Some(_), Some(_)) => {
                return Err(ConfigError::InvalidSecret {
                    var: "MAGIC_LINK_SECRET",
                    why: "set with MAGIC_LINK_KMS_KEY_ID: give one key only",
                });
            }
            (Some(id), None) => LinkKey::Kms(id),
            (None, Some(secret)) if secret.len() < MIN_SECRET_BYTES => {
                return Err(ConfigError::InvalidSecret {
                    var: "MAGIC_LINK_SECRET",
                    why: "shorter than 32 bytes",
                });
            }
            (None, Some(secret)) => LinkKey::Hmac(Secret::new(secret)),
            (None, None) => {
                return Err(ConfigError::Missing {
                    var: "MAGIC_LINK_KMS_KEY_ID",
                    why: " (or MAGIC_LINK_SECRET) when a flow has magic-link",
                });
            }
        };
        Ok(LinkSettings {
            urls,
            ttl_seconds: number(
                get,
                "MAGIC_LINK_TTL_SECONDS",
                DEFAULT_TTL_SECONDS,
                10..=86_400,
            )?,
            min_interval_seconds: number(
                get,
                "MAGIC_LINK_MIN_INTERVAL_SECONDS",
                DEFAULT_MIN_INTERVAL_SECONDS,
                0..=3600,
            )?,
            key,
            subject: get("MAGIC_LINK_EMAIL_SUBJECT").unwrap_or_else(|| DEFAULT_SUBJECT.into()),
        })
    }

    /// Whether `url` is one of the pages links may open.
    pub(crate) fn allows(&self, url: &str) -> bool {
        self.urls.iter().any(|u| u == url)
    }
}

/// The key of magic links.
#[derive(Clone, Debug)]
pub enum LinkKey {
    /// An asymmetric AWS KMS key (ECC_NIST_P256, ECDSA_SHA_256), `MAGIC_LINK_KMS_KEY_ID`: Create
    /// asks KMS to sign; Verify checks with the public key, fetched once and cached.
    Kms(String),
    /// HMAC-SHA256 under `MAGIC_LINK_SECRET` (at least 32 bytes), for setups without KMS.
    Hmac(Secret),
}

impl LinkKey {
    /// The version its proofs start with.
    pub fn version(&self) -> &'static str {
        match self {
            LinkKey::Kms(_) => KMS_VERSION,
            LinkKey::Hmac(_) => VERSION,
        }
    }
}
