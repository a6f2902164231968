//! Settings of the state store (`AUTH_STATE_*`, the send limit and the lockout): the table, the
//! key of its keyed hashes, and the [`Limits`] the store enforces. `crate::state` re-exports
//! them beside the store's rules.

use crate::config::env::{ConfigError, Secret, number};

/// Default of `OTP_SEND_LIMIT`.
pub const DEFAULT_SEND_LIMIT: u32 = 5;
/// Default of `OTP_SEND_WINDOW_SECONDS`.
pub const DEFAULT_SEND_WINDOW_SECONDS: u64 = 900;
/// Default of `LOCKOUT_AFTER_FAILURES`.
pub const DEFAULT_LOCKOUT_AFTER_FAILURES: u32 = 10;
/// Default of `LOCKOUT_WINDOW_SECONDS`.
pub const DEFAULT_LOCKOUT_WINDOW_SECONDS: u64 = 900;
/// Shortest accepted `AUTH_STATE_KEY`, in bytes.
pub const MIN_STATE_KEY_BYTES: usize = 32;

/// The limits the store enforces. Each window starts with its first event (the first send,
/// the first wrong answer) and lasts its length; the next event after it starts a new one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Codes a user may be sent per send window (`OTP_SEND_LIMIT`).
    pub send_limit: u32,
    /// Length of a send window (`OTP_SEND_WINDOW_SECONDS`).
    pub send_window: u64,
    /// Wrong answers in one lockout window that lock the user (`LOCKOUT_AFTER_FAILURES`).
    pub lockout_after: u32,
    /// Length of a lockout window (`LOCKOUT_WINDOW_SECONDS`); a lock lasts until it ends.
    pub lockout_window: u64,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            send_limit: DEFAULT_SEND_LIMIT,
            send_window: DEFAULT_SEND_WINDOW_SECONDS,
            lockout_after: DEFAULT_LOCKOUT_AFTER_FAILURES,
            lockout_window: DEFAULT_LOCKOUT_WINDOW_SECONDS,
        }
    }
}

impl Limits {
    /// When a record written at `now` may be deleted: after both windows it could hold have
    /// ended. Adapters store it as the item's TTL, so nothing grows without bound.
    pub fn expires_at(&self, now: u64) -> u64 {
        now.saturating_add(self.send_window.max(self.lockout_window))
    }
}

/// The state store's settings, present when `AUTH_STATE_TABLE` is set.
#[derive(Clone, Debug)]
pub struct StateSettings {
    /// The DynamoDB table (`AUTH_STATE_TABLE`).
    pub table: String,
    /// The key of the keyed hashes (`AUTH_STATE_KEY`).
    pub key: Secret,
    /// The limits.
    pub limits: Limits,
}

impl StateSettings {
    /// Reads the settings through `get` (values already trimmed of emptiness); `None` without
    /// a table, which keeps the stateless behaviour.
    pub fn from_lookup(
        get: &impl Fn(&str) -> Option<String>,
    ) -> Result<Option<StateSettings>, ConfigError> {
        let Some(table) = get("AUTH_STATE_TABLE") else {
            return Ok(None);
        };
        let valid_table = (3..=255).contains(&table.len())
            && table
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"_-.".contains(&b));
        if !valid_table {
            return Err(ConfigError::Invalid {
                var: "AUTH_STATE_TABLE",
                value: table,
                why: "expected a DynamoDB table name (3-255 of A-Z a-z 0-9 _ - .)".into(),
            });
        }
        let key = get("AUTH_STATE_KEY").ok_or(ConfigError::Missing {
            var: "AUTH_STATE_KEY",
            why: " when AUTH_STATE_TABLE is set (at least 32 bytes, secret)",
        })?;
        if key.len() < MIN_STATE_KEY_BYTES {
            return Err(ConfigError::InvalidSecret {
                var: "AUTH_STATE_KEY",
                why: "it needs at least 32 bytes",
            });
        }
        let limits = Limits {
            send_limit: number(get, "OTP_SEND_LIMIT", DEFAULT_SEND_LIMIT, 1..=100)?,
            send_window: number(
                get,
                "OTP_SEND_WINDOW_SECONDS",
                DEFAULT_SEND_WINDOW_SECONDS,
                10..=86_400,
            )?,
            lockout_after: number(
                get,
                "LOCKOUT_AFTER_FAILURES",
                DEFAULT_LOCKOUT_AFTER_FAILURES,
                1..=1000,
            )?,
            lockout_window: number(
                get,
                "LOCKOUT_WINDOW_SECONDS",
                DEFAULT_LOCKOUT_WINDOW_SECONDS,
                10..=86_400,
            )?,
        };
        Ok(Some(StateSettings {
            table,
            key: Secret::new(key),
            limits,
        }))
    }
}
