//! Settings of remembered devices (`DEVICE_*`), shared by the API that remembers them and the
//! `device` step.

use crate::config::env::{ConfigError, number};

/// Default of `DEVICE_LIMIT`: devices one person may have remembered at once.
pub const DEFAULT_DEVICE_LIMIT: usize = 10;
/// Default of `DEVICE_TTL_DAYS`: how long a device stays remembered.
pub const DEFAULT_DEVICE_TTL_DAYS: u64 = 30;

/// Settings of remembered devices.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceSettings {
    /// `DEVICE_LIMIT` (1 to 50, default 10).
    pub limit: usize,
    /// `DEVICE_TTL_DAYS` (1 to 365, default 30): a device is remembered for this long from
    /// when it was remembered. Using it does not extend it: a device key copied off a device
    /// stops working at the same date as the original, whatever it is used for meanwhile.
    pub ttl_days: u64,
}

impl DeviceSettings {
    /// Reads the settings. Remembered devices need the state store (their keys are kept there)
    /// and the methods' claim: the API refuses to remember a device from a sign-in that used
    /// one (else a device key could renew itself, and a copy of it live forever), and only
    /// the tokens' methods say how a sign-in passed.
    pub fn from_lookup(
        get: &impl Fn(&str) -> Option<String>,
        state: bool,
        methods_claim: bool,
    ) -> Result<DeviceSettings, ConfigError> {
        if !state {
            return Err(ConfigError::Missing {
                var: "AUTH_STATE_TABLE",
                why: " for remembered devices (their keys are kept there)",
            });
        }
        if !methods_claim {
            return Err(ConfigError::Missing {
                var: "SIGN_IN_METHODS_CLAIM",
                why: " for remembered devices (a device is remembered only after a sign-in that used none, which the tokens' methods tell)",
            });
        }
        Ok(DeviceSettings {
            limit: number(get, "DEVICE_LIMIT", DEFAULT_DEVICE_LIMIT, 1..=50)?,
            ttl_days: number(get, "DEVICE_TTL_DAYS", DEFAULT_DEVICE_TTL_DAYS, 1..=365)?,
        })
    }

    /// Seconds a device stays remembered.
    pub fn ttl_seconds(&self) -> u64 {
        self.ttl_days.saturating_mul(86_400)
    }
}
