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

/// A record written at most once, with the admission of a right answer: a spent signed token
/// (key [`token_key`], no value, kept until the token's `exp`), or the account chosen in a
/// sign-in (key [`choice_key`], the account as value, until Pre Token Generation takes it).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OneTime {
    /// The record's store key.
    pub key: String,
    /// When the record may go.
    pub expires_at: u64,
    /// What the record holds, if anything.
    pub value: Option<String>,
    /// For a magic link: its number, which must be the user's newest link's
    /// ([`UserRecord::link_id`]), checked in the same atomic request ([`Admission::Replayed`]
    /// otherwise: a newer link replaced it).
    pub newest_link: Option<u64>,
    /// For a passkey: the credential's new counter and state, written in the same atomic
    /// request only if the credential still exists and [`PasskeyUse::counter_ok`] holds
    /// ([`Admission::Replayed`] otherwise).
    pub passkey: Option<PasskeyUse>,
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
                .newest_link
                .is_some_and(|link| link != before.link_id)
            {
                return Ok(Admission::Replayed);
            }
            let mut records = self.records.lock().map_err(|_| DependencyError::Failed)?;
            records.retain(|_, (expires, _, _)| *expires > now);
            if records.contains_key(&record.key) {
                return Ok(Admission::Replayed);
            }
            if let Some(used) = &record.passkey {
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
                (record.expires_at, record.value.clone(), None),
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
pub mod conformance {
    use super::*;

    /// Limits of the run: 3 sends per 100 s; locked after 4 wrong answers for 200 s.
    pub const LIMITS: Limits = Limits {
        send_limit: 3,
        send_window: 100,
        lockout_after: 4,
        lockout_window: 200,
    };

    /// Runs the script against `store`.
    pub async fn check(store: &impl StateStore, prefix: &str) {
        let user = format!("u#{prefix}-sends");
        let t0 = 1_800_000_000;
        // Sends: three per window, the window anchored at its first send.
        let sends = [
            (t0, SendGate::Allowed),
            (t0 + 1, SendGate::Allowed),
            (t0 + 99, SendGate::Allowed),
            (t0 + 99, SendGate::OverLimit),
            (t0 + 100, SendGate::Allowed),
            (t0 + 150, SendGate::Allowed),
            (t0 + 150, SendGate::Allowed),
            (t0 + 199, SendGate::OverLimit),
        ];
        for (i, (now, want)) in sends.into_iter().enumerate() {
            let got = store.record_send(&user, now, &LIMITS).await;
            assert_eq!(got, Ok(want), "send {i} at t0+{}", now - t0);
        }
        // Failures: four in a window lock; a lock blocks sends and right answers until the
        // window ends; a right answer does not reset the count.
        let user = format!("u#{prefix}-fails");
        let admit = |now| store.admit(&user, None, now, &LIMITS);
        for k in 0..3 {
            store
                .record_failure(&user, t0 + k, &LIMITS)
                .await
                .expect("failure");
            assert_eq!(
                admit(t0 + k).await,
                Ok(Admission::Admitted),
                "after {k} failures"
            );
        }
        store
            .record_failure(&user, t0 + 3, &LIMITS)
            .await
            .expect("failure");
        assert_eq!(
            admit(t0 + 3).await,
            Ok(Admission::Locked),
            "four failures lock"
        );
        assert_eq!(
            admit(t0 + 199).await,
            Ok(Admission::Locked),
            "until the window ends"
        );
        assert_eq!(
            store.record_send(&user, t0 + 10, &LIMITS).await,
            Ok(SendGate::Locked),
            "no send while locked"
        );
        assert_eq!(
            admit(t0 + 200).await,
            Ok(Admission::Admitted),
            "the window ended"
        );
        store
            .record_failure(&user, t0 + 200, &LIMITS)
            .await
            .expect("failure");
        assert_eq!(
            admit(t0 + 200).await,
            Ok(Admission::Admitted),
            "a new window"
        );
        assert_eq!(
            store.record_send(&user, t0 + 200, &LIMITS).await,
            Ok(SendGate::Allowed),
            "the send earlier was refused, not counted"
        );
        // Tokens: once each, and never while locked (without spending the token).
        let user = format!("u#{prefix}-tokens");
        let token = |n: u32| OneTime {
            key: format!("t#{prefix}-{n}"),
            expires_at: t0 + 1000,
            value: None,
            newest_link: None,
            passkey: None,
        };
        let user = user.as_str();
        let spend =
            |t: OneTime, now| async move { store.admit(user, Some(&t), now, &LIMITS).await };
        assert_eq!(spend(token(1), t0).await, Ok(Admission::Admitted));
        assert_eq!(spend(token(1), t0 + 1).await, Ok(Admission::Replayed));
        assert_eq!(spend(token(2), t0 + 1).await, Ok(Admission::Admitted));
        for k in 0..4 {
            store
                .record_failure(user, t0 + 2 + k, &LIMITS)
                .await
                .expect("failure");
        }
        assert_eq!(spend(token(3), t0 + 10).await, Ok(Admission::Locked));
        assert_eq!(spend(token(3), t0 + 300).await, Ok(Admission::Admitted));
        assert_eq!(spend(token(1), t0 + 300).await, Ok(Admission::Replayed));
        // Choices: written once with the admission, taken once, never after they expire.
        let user = format!("u#{prefix}-chooser");
        let choice = |n: u32, account: &str| OneTime {
            key: format!("c#{prefix}-{n}"),
            expires_at: t0 + 100,
            value: Some(account.to_owned()),
            newest_link: None,
            passkey: None,
        };
        let admit = |c: OneTime| {
            let user = user.clone();
            async move { store.admit(&user, Some(&c), t0, &LIMITS).await }
        };
        assert_eq!(admit(choice(1, "acct-1")).await, Ok(Admission::Admitted));
        assert_eq!(
            admit(choice(1, "acct-2")).await,
            Ok(Admission::Replayed),
            "one choice per sign-in"
        );
        assert_eq!(admit(choice(2, "acct-2")).await, Ok(Admission::Admitted));
        let key = |n: u32| format!("c#{prefix}-{n}");
        assert_eq!(store.take(&key(1), t0 + 1).await, Ok(Some("acct-1".into())));
        assert_eq!(
            store.take(&key(1), t0 + 1 + TAKE_GRACE_SECONDS).await,
            Ok(Some("acct-1".into())),
            "taken again within the grace"
        );
        assert_eq!(
            store.take(&key(1), t0 + 2 + TAKE_GRACE_SECONDS).await,
            Ok(None),
            "not after it"
        );
        assert_eq!(store.take(&key(2), t0 + 100).await, Ok(None), "expired");
        assert_eq!(store.take(&key(3), t0).await, Ok(None), "never written");
        assert_eq!(
            store.take(&format!("t#{prefix}-1"), t0).await,
            Ok(None),
            "no value"
        );
        check_links(store, prefix, t0).await;
    }

    /// Magic links: counted as sends, at most one per interval, each redeemed once and only
    /// while it is the user's newest, never while locked.
    async fn check_links(store: &impl StateStore, prefix: &str, t0: u64) {
        let user = format!("u#{prefix}-links");
        let user = user.as_str();
        // Link `n` is issued at `at`; its number is `n`.
        let link =
            |at: u64, n: u64| async move { store.record_link(user, at, &LIMITS, 60, n).await };
        let spend = |key: u32, n: u64, issued: u64, now: u64| async move {
            let record = OneTime {
                key: format!("l#{prefix}-{key}"),
                expires_at: issued + 900,
                value: None,
                newest_link: Some(n),
                passkey: None,
            };
            store.admit(user, Some(&record), now, &LIMITS).await
        };
        assert_eq!(
            spend(0, 1, t0, t0).await,
            Ok(Admission::Replayed),
            "no link yet"
        );
        assert_eq!(link(t0, 1).await, Ok(SendGate::Allowed));
        assert_eq!(
            link(t0 + 59, 2).await,
            Ok(SendGate::TooSoon),
            "within the interval"
        );
        assert_eq!(
            spend(2, 2, t0 + 59, t0 + 59).await,
            Ok(Admission::Replayed),
            "a link refused as too soon never becomes the newest"
        );
        assert_eq!(spend(1, 1, t0, t0 + 1).await, Ok(Admission::Admitted));
        assert_eq!(
            spend(1, 1, t0, t0 + 2).await,
            Ok(Admission::Replayed),
            "used once"
        );
        assert_eq!(
            link(t0 + 60, 3).await,
            Ok(SendGate::Allowed),
            "the interval passed"
        );
        assert_eq!(
            spend(4, 1, t0, t0 + 61).await,
            Ok(Admission::Replayed),
            "an older link, never used, after a newer one"
        );
        assert_eq!(
            store.record_send(user, t0 + 62, &LIMITS).await,
            Ok(SendGate::Allowed),
            "a code after two links is the third send"
        );
        assert_eq!(
            link(t0 + 99, 5).await,
            Ok(SendGate::OverLimit),
            "links count as sends: a fourth is over the limit"
        );
        for k in 0..4 {
            store
                .record_failure(user, t0 + 121 + k, &LIMITS)
                .await
                .expect("failure");
        }
        assert_eq!(
            spend(3, 3, t0 + 60, t0 + 130).await,
            Ok(Admission::Locked),
            "locked"
        );
        assert_eq!(
            link(t0 + 200, 6).await,
            Ok(SendGate::Locked),
            "no link while locked"
        );
        assert_eq!(
            spend(3, 3, t0 + 60, t0 + 330).await,
            Ok(Admission::Admitted),
            "the newest link, once the lock ended"
        );

        // Without a least interval, two links in one second: only the second signs in.
        let other = format!("u#{prefix}-same-second");
        let other = other.as_str();
        let quick = |n: u64| async move { store.record_link(other, t0, &LIMITS, 0, n).await };
        let spend_quick = |n: u64| async move {
            let record = OneTime {
                key: format!("l#{prefix}-quick-{n}"),
                expires_at: t0 + 900,
                value: None,
                newest_link: Some(n),
                passkey: None,
            };
            store.admit(other, Some(&record), t0 + 1, &LIMITS).await
        };
        assert_eq!(quick(11).await, Ok(SendGate::Allowed));
        assert_eq!(quick(12).await, Ok(SendGate::Allowed));
        assert_eq!(
            spend_quick(11).await,
            Ok(Admission::Replayed),
            "the first of two links issued in one second"
        );
        assert_eq!(spend_quick(12).await, Ok(Admission::Admitted));
    }

    /// `attempts` sends for one user at one instant, all at once: exactly `LIMITS.send_limit`
    /// may be allowed, whatever the interleaving.
    pub async fn check_concurrent_sends(store: &impl StateStore, prefix: &str, attempts: usize) {
        let user = format!("u#{prefix}-burst");
        let now = 1_800_000_000;
        let all = (0..attempts).map(|_| store.record_send(&user, now, &LIMITS));
        let gates: Vec<_> = join_all(all).await;
        let allowed = gates
            .iter()
            .filter(|g| **g == Ok(SendGate::Allowed))
            .count();
        let refused = gates
            .iter()
            .filter(|g| **g == Ok(SendGate::OverLimit))
            .count();
        assert_eq!(
            (allowed, refused),
            (
                LIMITS.send_limit as usize,
                attempts - LIMITS.send_limit as usize
            ),
            "{gates:?}"
        );
    }

    /// Polls every future in turn until all are done (no executor of its own, so it works
    /// inside any runtime and keeps them in flight together).
    async fn join_all<F: Future>(futures: impl Iterator<Item = F>) -> Vec<F::Output> {
        let mut pending: Vec<_> = futures.map(|f| Some(Box::pin(f))).collect();
        let mut done: Vec<Option<F::Output>> = pending.iter().map(|_| None).collect();
        std::future::poll_fn(|cx| {
            let mut all = true;
            for (slot, out) in pending.iter_mut().zip(done.iter_mut()) {
                if let Some(f) = slot {
                    match f.as_mut().poll(cx) {
                        std::task::Poll::Ready(v) => {
                            *out = Some(v);
                            *slot = None;
                        }
                        std::task::Poll::Pending => all = false,
                    }
                }
            }
            if all {
                std::task::Poll::Ready(())
            } else {
                std::task::Poll::Pending
            }
        })
        .await;
        done.into_iter().flatten().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block_on<F: Future>(f: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(f)
    }

    const LIMITS: Limits = Limits {
        send_limit: 3,
        send_window: 100,
        lockout_after: 4,
        lockout_window: 200,
    };

    #[test]
    fn settings_are_read_and_checked() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            }
        };
        assert!(StateSettings::from_lookup(&env(&[])).unwrap().is_none());
        let key = "0123456789abcdef0123456789abcdef";
        let s = StateSettings::from_lookup(&env(&[
            ("AUTH_STATE_TABLE", "auth-state"),
            ("AUTH_STATE_KEY", "0123456789abcdef0123456789abcdef"),
        ]))
        .unwrap()
        .unwrap();
        assert_eq!(s.limits, Limits::default());
        assert_eq!(s.key.expose(), key);
        let table: &[(&[(&str, &str)], &str)] = &[
            (&[("AUTH_STATE_TABLE", "t")], "AUTH_STATE_TABLE"),
            (&[("AUTH_STATE_TABLE", "auth state")], "AUTH_STATE_TABLE"),
            (
                &[("AUTH_STATE_TABLE", "auth-state")],
                "AUTH_STATE_KEY is required",
            ),
            (
                &[
                    ("AUTH_STATE_TABLE", "auth-state"),
                    ("AUTH_STATE_KEY", "short"),
                ],
                "AUTH_STATE_KEY is invalid",
            ),
        ];
        for (pairs, want) in table {
            let get = |name: &str| {
                pairs
                    .iter()
                    .find(|(k, _)| *k == name)
                    .map(|(_, v)| (*v).to_owned())
            };
            let err = StateSettings::from_lookup(&get).unwrap_err().to_string();
            assert!(err.contains(want), "{err}");
            assert!(!err.contains("short"), "a secret in {err}");
        }
        for (var, bad) in [
            ("OTP_SEND_LIMIT", "0"),
            ("OTP_SEND_WINDOW_SECONDS", "5"),
            ("LOCKOUT_AFTER_FAILURES", "x"),
            ("LOCKOUT_WINDOW_SECONDS", "-1"),
        ] {
            let get = |name: &str| match name {
                "AUTH_STATE_TABLE" => Some("auth-state".to_owned()),
                "AUTH_STATE_KEY" => Some(key.to_owned()),
                n if n == var => Some(bad.to_owned()),
                _ => None,
            };
            let err = StateSettings::from_lookup(&get).unwrap_err().to_string();
            assert!(err.starts_with(var), "{err}");
        }
    }

    #[test]
    fn sends_are_limited_per_window() {
        let store = MemoryStore::default();
        let send = |now| block_on(store.record_send("u", now, &LIMITS)).unwrap();
        // (time, gate): three in the window that starts at 1000, refused until it ends at
        // 1100, then a new window.
        let table = [
            (1000, SendGate::Allowed),
            (1001, SendGate::Allowed),
            (1099, SendGate::Allowed),
            (1099, SendGate::OverLimit),
            (1099, SendGate::OverLimit),
            (1100, SendGate::Allowed),
            (1150, SendGate::Allowed),
            (1150, SendGate::Allowed),
            (1199, SendGate::OverLimit),
            (1200, SendGate::Allowed),
        ];
        for (now, want) in table {
            assert_eq!(send(now), want, "at {now}");
        }
        assert_eq!(store.user("u").send_count, 1);
        assert_eq!(store.user("u").send_window_end, 1300);
        assert_eq!(send(1200), SendGate::Allowed);
        assert_eq!(
            block_on(store.record_send("other", 1200, &LIMITS)).unwrap(),
            SendGate::Allowed,
            "limits are per user"
        );
    }

    #[test]
    fn failures_lock_until_their_window_ends() {
        let store = MemoryStore::default();
        let fail = |now| block_on(store.record_failure("u", now, &LIMITS)).unwrap();
        let admit = |now| block_on(store.admit("u", None, now, &LIMITS)).unwrap();
        for now in [1000, 1010, 1020] {
            fail(now);
            assert_eq!(admit(now), Admission::Admitted, "{now}");
        }
        fail(1030);
        assert_eq!(admit(1030), Admission::Locked, "four wrong answers lock");
        assert_eq!(admit(1199), Admission::Locked);
        assert_eq!(
            block_on(store.record_send("u", 1100, &LIMITS)).unwrap(),
            SendGate::Locked,
            "no code while locked"
        );
        // A correct answer does not reset the count: still locked.
        assert_eq!(admit(1150), Admission::Locked);
        assert_eq!(admit(1200), Admission::Admitted, "the window ended at 1200");
        fail(1200);
        assert_eq!(store.user("u").fail_count, 1, "a new window");
        assert_eq!(admit(1200), Admission::Admitted);
    }

    #[test]
    fn tokens_are_used_once_until_they_expire() {
        let store = MemoryStore::default();
        let t = OneTime {
            key: "t#1".into(),
            expires_at: 2000,
            value: None,
            newest_link: None,
            passkey: None,
        };
        let admit =
            |tok: &OneTime, now| block_on(store.admit("u", Some(tok), now, &LIMITS)).unwrap();
        assert_eq!(admit(&t, 1000), Admission::Admitted);
        assert_eq!(admit(&t, 1001), Admission::Replayed);
        assert_eq!(admit(&t, 1999), Admission::Replayed);
        let other = OneTime {
            key: "t#2".into(),
            expires_at: 2000,
            value: None,
            newest_link: None,
            passkey: None,
        };
        assert_eq!(admit(&other, 1001), Admission::Admitted);
        // Locked wins over a fresh token, and the token is not spent by the refusal.
        for now in 0..4 {
            block_on(store.record_failure("u", 1500 + now, &LIMITS)).unwrap();
        }
        let fresh = OneTime {
            key: "t#3".into(),
            expires_at: 3000,
            value: None,
            newest_link: None,
            passkey: None,
        };
        assert_eq!(admit(&fresh, 1600), Admission::Locked);
        assert_eq!(admit(&fresh, 1800), Admission::Admitted);
    }

    #[test]
    fn the_memory_store_conforms() {
        block_on(conformance::check(&MemoryStore::default(), "mem"));
        block_on(conformance::check_concurrent_sends(
            &MemoryStore::default(),
            "mem",
            8,
        ));
    }

    #[test]
    fn a_failing_store_fails() {
        let store = MemoryStore {
            fail: Some(DependencyError::Timeout),
            ..MemoryStore::default()
        };
        assert!(block_on(store.record_send("u", 1, &LIMITS)).is_err());
        assert!(block_on(store.record_failure("u", 1, &LIMITS)).is_err());
        assert!(block_on(store.admit("u", None, 1, &LIMITS)).is_err());
    }
}
