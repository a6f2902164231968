//! State across sign-ins: per-user limits on code sends, a lockout after wrong answers, and
//! single-use signed tokens.
//!
//! Cognito keeps each sign-in's session and nothing else, so an attacker who restarts
//! `InitiateAuth` would get fresh attempts and make us send a fresh code every time. The
//! [`StateStore`] port keeps the few facts that must outlive a session. Its records and rules
//! are defined here, as plain data and pure functions: the in-memory adapter
//! ([`MemoryStore`]) applies them directly, the DynamoDB adapter (crate `aws-io`) writes the
//! same rules as condition expressions, so every limit is one atomic conditional write there.
//!
//! Keys never hold a user name: a user is `HMAC-SHA256(AUTH_STATE_KEY, pool \0 user name)`,
//! and a token `HMAC-SHA256(AUTH_STATE_KEY, issuer \0 jti)`.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Mutex;

use crate::ports::DependencyError;
use crate::store::passkeys::{PasskeyUse, StoredPasskey};

/// How long after its first take a one-time record can be taken again (see
/// [`StateStore::take`]).
pub const TAKE_GRACE_SECONDS: u64 = 10;

pub use crate::config::state::{
    DEFAULT_LOCKOUT_AFTER_FAILURES, DEFAULT_LOCKOUT_WINDOW_SECONDS, DEFAULT_SEND_LIMIT,
    DEFAULT_SEND_WINDOW_SECONDS, Limits, MIN_STATE_KEY_BYTES, StateSettings,
};

/// What the store holds for one user. Absent fields are zero: a record that does not exist is
/// `UserRecord::default()`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UserRecord {
    /// Codes sent in the send window.
    pub send_count: u32,
    /// When the send window ends (Unix seconds); at or before now, there is none.
    pub send_window_end: u64,
    /// Wrong answers in the lockout window.
    pub fail_count: u32,
    /// When the lockout window ends.
    pub fail_window_end: u64,
    /// When the user's newest magic link was issued (Unix seconds; 0: none): the least
    /// interval between links counts from it.
    pub link_at: u64,
    /// Which link is the user's newest ([`crate::steps::magic`]'s number of its id; 0: none). Two
    /// links issued in the same second (allowed with `MAGIC_LINK_MIN_INTERVAL_SECONDS=0`) have
    /// one time but two numbers, so only the newer one signs in.
    pub link_id: u64,
}

impl UserRecord {
    /// Whether the user is locked at `now`: enough wrong answers in a window still running.
    pub fn locked(&self, now: u64, limits: &Limits) -> bool {
        self.fail_window_end > now && self.fail_count >= limits.lockout_after
    }

    /// Whether a send window is running at `now`.
    pub fn sending(&self, now: u64) -> bool {
        self.send_window_end > now
    }
}

/// The answer to a request to send a code.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SendGate {
    /// Counted: the code may go.
    Allowed,
    /// The user was sent `OTP_SEND_LIMIT` codes in the running window: nothing may be sent.
    OverLimit,
    /// The user is locked: nothing may be sent.
    Locked,
    /// A magic link went to the user less than `MAGIC_LINK_MIN_INTERVAL_SECONDS` ago: no new
    /// one (the last one still works).
    TooSoon,
}

impl SendGate {
    /// The rule, as a pure function: the gate for a send at `now` given the record before it.
    /// Adapters must decide exactly this, atomically with the count.
    pub fn decide(before: &UserRecord, now: u64, limits: &Limits) -> SendGate {
        if before.locked(now, limits) {
            SendGate::Locked
        } else if before.sending(now) && before.send_count >= limits.send_limit {
            SendGate::OverLimit
        } else {
            SendGate::Allowed
        }
    }

    /// The rule for a magic link: as [`SendGate::decide`], and not within `min_interval` of
    /// the user's newest link. Adapters decide exactly this, atomically with the count and the
    /// new link time.
    pub fn decide_link(
        before: &UserRecord,
        now: u64,
        limits: &Limits,
        min_interval: u64,
    ) -> SendGate {
        match SendGate::decide(before, now, limits) {
            SendGate::Allowed
                if before.link_at > 0 && before.link_at.saturating_add(min_interval) > now =>
            {
                SendGate::TooSoon
            }
            gate => gate,
        }
    }
}

/// Whether a correct answer may pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Admission {
    /// It may.
    Admitted,
    /// The user is locked: even a correct answer is refused.
    Locked,
    /// The signed token was used before.
    Replayed,
}

/// A record written at most once, with the admission of a right answer, under a key no record
/// has ([`Admission::Replayed`] otherwise). Step kinds make them (a spent signed token, link or
/// passkey challenge; the account chosen in a sign-in); the store knows only their [`OneTimeKind`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OneTime {
    /// The record's store key (a keyed hash: [`crate::keys`]).
    pub key: String,
    /// When the record may go.
    pub expires_at: u64,
    /// What else the record holds or asks of the same atomic request.
    pub kind: OneTimeKind,
}

/// The kinds of one-time record, by what the store does with them beyond writing the key once.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OneTimeKind {
    /// Nothing more: the key marks something spent (a signed token, until its `exp`; a
    /// passkey challenge).
    Spent,
    /// A value kept for a later trigger, which takes it once ([`StateStore::take`]): the
    /// account chosen in a sign-in, for Pre Token Generation.
    Value(String),
    /// A link's number, which must be the user's newest link's ([`UserRecord::link_id`]),
    /// checked in the same atomic request ([`Admission::Replayed`] otherwise: a newer link
    /// replaced it).
    NewestLink(u64),
    /// A passkey's new counter and state, written in the same atomic request only if the
    /// credential still exists and [`PasskeyUse::counter_ok`] holds ([`Admission::Replayed`]
    /// otherwise).
    PasskeyUse(PasskeyUse),
}

impl OneTime {
    /// The value the record keeps, if it is [`OneTimeKind::Value`].
    pub fn value(&self) -> Option<&str> {
        match &self.kind {
            OneTimeKind::Value(v) => Some(v),
            _ => None,
        }
    }

    /// The link number that must be the user's newest, if it is [`OneTimeKind::NewestLink`].
    pub fn newest_link(&self) -> Option<u64> {
        match self.kind {
            OneTimeKind::NewestLink(n) => Some(n),
            _ => None,
        }
    }

    /// The passkey's use, if it is [`OneTimeKind::PasskeyUse`].
    pub fn passkey(&self) -> Option<&PasskeyUse> {
        match &self.kind {
            OneTimeKind::PasskeyUse(used) => Some(used),
            _ => None,
        }
    }
}

/// The state that outlives a sign-in. Every method is one atomic decision; an adapter that
/// cannot answer (slow, refusing, garbage) returns an error, and callers fail closed.
pub trait StateStore: Sync {
    /// Counts one code send for `user` at `now` if [`SendGate::decide`] allows it, atomically.
    fn record_send(
        &self,
        user: &str,
        now: u64,
        limits: &Limits,
    ) -> impl Future<Output = Result<SendGate, DependencyError>> + Send;

    /// Counts one magic-link send for `user` at `now` if [`SendGate::decide_link`] allows it,
    /// and makes `now` the user's newest link time and `link` (the link's number, never 0) its
    /// newest link, atomically.
    fn record_link(
        &self,
        user: &str,
        now: u64,
        limits: &Limits,
        min_interval: u64,
        link: u64,
    ) -> impl Future<Output = Result<SendGate, DependencyError>> + Send;

    /// Counts one wrong answer of `user` at `now` (starting a lockout window if none runs).
    fn record_failure(
        &self,
        user: &str,
        now: u64,
        limits: &Limits,
    ) -> impl Future<Output = Result<(), DependencyError>> + Send;

    /// Decides whether a correct answer of `user` passes at `now`: not while locked; and a
    /// `record`, when given, only if no record has its key (written in the same atomic
    /// request; [`Admission::Replayed`] otherwise).
    fn admit(
        &self,
        user: &str,
        record: Option<&OneTime>,
        now: u64,
        limits: &Limits,
    ) -> impl Future<Output = Result<Admission, DependencyError>> + Send;

    /// Takes the record `key` and returns its value. The first take marks it taken at `now`;
    /// for [`TAKE_GRACE_SECONDS`] after that it can be taken again (a retried invocation, or
    /// Cognito's two token builds for one sign-in), never later. `None` if there is none, it
    /// holds no value, it expired, or its grace has passed. One atomic conditional write.
    fn take(
        &self,
        key: &str,
        now: u64,
    ) -> impl Future<Output = Result<Option<String>, DependencyError>> + Send;
}

/// The store of a deployment without `AUTH_STATE_TABLE`: allows every send and admits every
/// correct answer, keeping nothing. Each sign-in then stands alone (README: what it lacks).
#[derive(Clone, Copy, Debug, Default)]
pub struct NoStore;

impl StateStore for NoStore {
    async fn record_send(&self, _: &str, _: u64, _: &Limits) -> Result<SendGate, DependencyError> {
        Ok(SendGate::Allowed)
    }

    async fn record_link(
        &self,
        _: &str,
        _: u64,
        _: &Limits,
        _: u64,
        _: u64,
    ) -> Result<SendGate, DependencyError> {
        // (The configuration refuses magic links without a table; tests and benches that
        // want every link allowed use this.)
        Ok(SendGate::Allowed)
    }

    async fn record_failure(&self, _: &str, _: u64, _: &Limits) -> Result<(), DependencyError> {
        Ok(())
    }

    async fn admit(
        &self,
        _: &str,
        _: Option<&OneTime>,
        _: u64,
        _: &Limits,
    ) -> Result<Admission, DependencyError> {
        Ok(Admission::Admitted)
    }

    async fn take(&self, _: &str, _: u64) -> Result<Option<String>, DependencyError> {
        Ok(None)
    }
}

/// Counts one send in `record` at `now`: in the running window, or as the first of a new one.
fn count_send(record: &mut UserRecord, now: u64, limits: &Limits) {
    if record.sending(now) {
        record.send_count += 1;
    } else {
        record.send_count = 1;
        record.send_window_end = now.saturating_add(limits.send_window);
    }
}

/// A one-time record as [`MemoryStore`] holds it: expiry, value, and when it was first taken.
type Held = (u64, Option<String>, Option<u64>);

/// An in-memory [`StateStore`] for tests and the in-process model: the same rules, each
/// decision under one lock. Expired records are dropped on write, as a TTL would.
#[derive(Debug, Default)]
pub struct MemoryStore {
    users: Mutex<HashMap<String, UserRecord>>,
    /// One-time records by key.
    records: Mutex<HashMap<String, Held>>,
    /// Passkeys by owner key ([`crate::store::passkeys::PasskeyStore`]).
    pub(crate) passkeys: Mutex<HashMap<String, Vec<StoredPasskey>>>,
    /// Pending passkey registrations by owner key: expiry and state.
    pub(crate) registrations: Mutex<HashMap<String, (u64, String)>>,
    /// When set, every call fails with this error (fault tests).
    pub fail: Option<DependencyError>,
}

impl MemoryStore {
    /// A store whose every call fails with `error`.
    pub fn failing(error: DependencyError) -> MemoryStore {
        MemoryStore {
            fail: Some(error),
            ..MemoryStore::default()
        }
    }

    /// The record of `user`, as the store holds it.
    pub fn user(&self, user: &str) -> UserRecord {
        self.users
            .lock()
            .map(|users| users.get(user).copied().unwrap_or_default())
            .unwrap_or_default()
    }

    pub(crate) fn check(&self) -> Result<(), DependencyError> {
        self.fail.map_or(Ok(()), Err)
    }
}

impl StateStore for MemoryStore {
    async fn record_send(
        &self,
        user: &str,
        now: u64,
        limits: &Limits,
    ) -> Result<SendGate, DependencyError> {
        self.check()?;
        let mut users = self.users.lock().map_err(|_| DependencyError::Failed)?;
        let record = users.entry(user.to_owned()).or_default();
        let gate = SendGate::decide(record, now, limits);
        if gate == SendGate::Allowed {
            count_send(record, now, limits);
        }
        Ok(gate)
    }

    async fn record_link(
        &self,
        user: &str,
        now: u64,
        limits: &Limits,
        min_interval: u64,
        link: u64,
    ) -> Result<SendGate, DependencyError> {
        self.check()?;
        let mut users = self.users.lock().map_err(|_| DependencyError::Failed)?;
        let record = users.entry(user.to_owned()).or_default();
        let gate = SendGate::decide_link(record, now, limits, min_interval);
        if gate == SendGate::Allowed {
            count_send(record, now, limits);
            record.link_at = now;
            record.link_id = link;
        }
        Ok(gate)
    }

    async fn record_failure(
        &self,
        user: &str,
        now: u64,
        limits: &Limits,
    ) -> Result<(), DependencyError> {
        self.check()?;
        let mut users = self.users.lock().map_err(|_| DependencyError::Failed)?;
        let record = users.entry(user.to_owned()).or_default();
        if record.fail_window_end > now {
            record.fail_count = record.fail_count.saturating_add(1);
        } else {
            record.fail_count = 1;
            record.fail_window_end = now.saturating_add(limits.lockout_window);
        }
        Ok(())
    }

    async fn admit(
        &self,
        user: &str,
        record: Option<&OneTime>,
        now: u64,
        limits: &Limits,
    ) -> Result<Admission, DependencyError> {
        self.check()?;
        let users = self.users.lock().map_err(|_| DependencyError::Failed)?;
        let before = users.get(user).copied().unwrap_or_default();
        if before.locked(now, limits) {
            return Ok(Admission::Locked);
        }
        if let Some(record) = record {
            if record
                .newest_link()
                .is_some_and(|link| link != before.link_id)
            {
                return Ok(Admission::Replayed);
            }
            let mut records = self.records.lock().map_err(|_| DependencyError::Failed)?;
            records.retain(|_, (expires, _, _)| *expires > now);
            if records.contains_key(&record.key) {
                return Ok(Admission::Replayed);
            }
            if let Some(used) = record.passkey() {
                let mut passkeys = self.passkeys.lock().map_err(|_| DependencyError::Failed)?;
                let stored = passkeys
                    .get_mut(&used.owner)
                    .and_then(|mine| mine.iter_mut().find(|p| p.id == used.id));
                match stored {
                    Some(p) if used.counter_ok(p.sign_count) => {
                        p.sign_count = used.sign_count;
                        p.dynamic = used.dynamic.clone();
                        p.last_used_at = Some(used.used_at);
                    }
                    _ => return Ok(Admission::Replayed),
                }
            }
            records.insert(
                record.key.clone(),
                (record.expires_at, record.value().map(str::to_owned), None),
            );
        }
        Ok(Admission::Admitted)
    }

    async fn take(&self, key: &str, now: u64) -> Result<Option<String>, DependencyError> {
        self.check()?;
        let mut records = self.records.lock().map_err(|_| DependencyError::Failed)?;
        let Some((expires, value, taken)) = records.get_mut(key) else {
            return Ok(None);
        };
        let first = *taken.get_or_insert(now);
        let in_grace = now <= first.saturating_add(TAKE_GRACE_SECONDS);
        Ok(value.clone().filter(|_| *expires > now && in_grace))
    }
}

/// The rules every [`StateStore`] adapter must follow, as one scripted run: the unit tests run
/// it against [`MemoryStore`], the end-to-end tests against DynamoDB. Time is a parameter of
/// every call, so windows roll over without waiting. `prefix` keeps runs on a shared table
/// apart. Panics, naming the step, on the first difference.
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;

#[cfg(test)]
mod tests;
