//! The audit trail: one JSON line per security event, with a stable `event` name, the time,
//! the pool, the app client, the user (by `sub`, or by the state store's keyed hash for a name
//! that is no user) and the outcome. Nothing secret: no code, answer, token, key, address or
//! name typed; the details are step kinds, reasons and times.
//!
//! Every line has `"audit": "custom-auth"`, so one CloudWatch Logs Insights filter finds the
//! trail among the functions' other lines (README, "Operating it").

use serde_json::{Map, Value};

use crate::encoding::rfc3339;

/// The security events, each with a stable name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum AuditEvent {
    /// Define issued tokens.
    SignInSucceeded,
    /// Define failed a sign-in (`reason`).
    SignInFailed,
    /// A wrong answer reached the lockout limit (`until`).
    LockoutBegun,
    /// An operator ended a lockout.
    LockoutEnded,
    /// An operator reset a user's send window.
    SendsReset,
    /// A passkey was added (account API).
    PasskeyAdded,
    /// A passkey was removed (account API, or an operator).
    PasskeyRemoved,
    /// A device was remembered.
    DeviceRemembered,
    /// A remembered device was forgotten (one, or `all` of them).
    DeviceForgotten,
    /// A magic link was sent.
    MagicLinkSent,
    /// A magic link signed in (its round passed).
    MagicLinkRedeemed,
    /// An account was chosen in a sign-in.
    AccountChosen,
    /// A code or link was refused: the send limit of the window was reached.
    SendLimitHit,
    /// A change to what signs in (a passkey, a device) was refused: the token's sign-in is too
    /// old (`stale-sign-in`) or the pool no longer honours it (`revoked-token`).
    ChangeRefused,
}

impl AuditEvent {
    /// Every event, for tests.
    pub const ALL: [AuditEvent; 14] = [
        AuditEvent::SignInSucceeded,
        AuditEvent::SignInFailed,
        AuditEvent::LockoutBegun,
        AuditEvent::LockoutEnded,
        AuditEvent::SendsReset,
        AuditEvent::PasskeyAdded,
        AuditEvent::PasskeyRemoved,
        AuditEvent::DeviceRemembered,
        AuditEvent::DeviceForgotten,
        AuditEvent::MagicLinkSent,
        AuditEvent::MagicLinkRedeemed,
        AuditEvent::AccountChosen,
        AuditEvent::SendLimitHit,
        AuditEvent::ChangeRefused,
    ];

    /// The stable name queries filter on.
    pub fn name(self) -> &'static str {
        match self {
            AuditEvent::SignInSucceeded => "sign_in_succeeded",
            AuditEvent::SignInFailed => "sign_in_failed",
            AuditEvent::LockoutBegun => "lockout_begun",
            AuditEvent::LockoutEnded => "lockout_ended",
            AuditEvent::SendsReset => "sends_reset",
            AuditEvent::PasskeyAdded => "passkey_added",
            AuditEvent::PasskeyRemoved => "passkey_removed",
            AuditEvent::DeviceRemembered => "device_remembered",
            AuditEvent::DeviceForgotten => "device_forgotten",
            AuditEvent::MagicLinkSent => "magic_link_sent",
            AuditEvent::MagicLinkRedeemed => "magic_link_redeemed",
            AuditEvent::AccountChosen => "account_chosen",
            AuditEvent::SendLimitHit => "send_limit_hit",
            AuditEvent::ChangeRefused => "change_refused",
        }
    }
}

/// Who an event is about.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Subject {
    /// A user of the pool, by `sub`.
    Sub(String),
    /// A name that is no user (or whose `sub` the event lacks), by the state store's keyed
    /// hash of pool and name (`u#...`): the same name always gives the same hash, and the
    /// support command finds its state by it, but the hash does not give the name away.
    Key(String),
    /// Nobody the function can name (no state store to hash with, no token).
    Unknown,
}

/// One security event, with everything but its time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Audit {
    /// What happened.
    pub event: AuditEvent,
    /// How it ended: `done`, `refused`, `failed`, ...
    pub outcome: &'static str,
    /// The user pool id.
    pub pool: String,
    /// The app client id, when the event has one.
    pub client: Option<String>,
    /// Who it is about.
    pub subject: Subject,
    /// More, from closed lists and times only: `step`, `reason`, `until`, ...
    pub detail: Vec<(&'static str, String)>,
}

impl Audit {
    /// The event's line at `now` (Unix seconds).
    pub fn line(&self, now: u64) -> String {
        let mut line = Map::new();
        line.insert("audit".into(), "custom-auth".into());
        line.insert("event".into(), self.event.name().into());
        line.insert("time".into(), rfc3339(now).into());
        line.insert("pool".into(), self.pool.clone().into());
        if let Some(client) = &self.client {
            line.insert("client".into(), client.clone().into());
        }
        match &self.subject {
            Subject::Sub(sub) => line.insert("sub".into(), sub.clone().into()),
            Subject::Key(key) => line.insert("userKey".into(), key.clone().into()),
            Subject::Unknown => None,
        };
        line.insert("outcome".into(), self.outcome.into());
        for (key, value) in &self.detail {
            line.entry(*key).or_insert_with(|| value.clone().into());
        }
        Value::Object(line).to_string()
    }
}
