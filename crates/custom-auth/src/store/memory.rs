//! [`MemoryStore`]: the in-memory adapter of the ports, for tests, the in-process model and
//! benches. The same rules as every adapter ([`crate::store::rules`]), each decision under one
//! lock.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::config::state::Limits;
use crate::ports::DependencyError;
use crate::store::devices::StoredDevice;
use crate::store::passkeys::{Added, Discovered, Holder, PasskeyStore, StoredPasskey};
use crate::store::port::{OneTime, StateStore, TAKE_GRACE_SECONDS};
use crate::store::rules::{Admission, Failures, SendGate, UserRecord, count_send};

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
    /// Who holds each passkey, by credential id: its owner key and [`Holder`].
    holders: Mutex<HashMap<Vec<u8>, (String, Holder)>>,
    /// Pending passkey registrations by owner key: expiry and state.
    pub(crate) registrations: Mutex<HashMap<String, (u64, String)>>,
    /// Remembered devices by owner key ([`crate::store::devices::DeviceStore`], implemented in
    /// `devices/memory.rs`).
    pub(crate) devices: Mutex<HashMap<String, Vec<StoredDevice>>>,
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
    ) -> Result<Failures, DependencyError> {
        self.check()?;
        let mut users = self.users.lock().map_err(|_| DependencyError::Failed)?;
        let record = users.entry(user.to_owned()).or_default();
        if record.fail_window_end > now {
            record.fail_count = record.fail_count.saturating_add(1);
        } else {
            record.fail_count = 1;
            record.fail_window_end = now.saturating_add(limits.lockout_window);
        }
        Ok(Failures {
            count: record.fail_count,
            window_end: record.fail_window_end,
        })
    }

    async fn admit(
        &self,
        user: &str,
        records: &[OneTime],
        now: u64,
        limits: &Limits,
    ) -> Result<Admission, DependencyError> {
        self.check()?;
        let users = self.users.lock().map_err(|_| DependencyError::Failed)?;
        let before = users.get(user).copied().unwrap_or_default();
        if before.locked(now, limits) {
            return Ok(Admission::Locked);
        }
        if records.is_empty() {
            return Ok(Admission::Admitted);
        }
        if records
            .iter()
            .filter_map(OneTime::newest_link)
            .any(|link| link != before.link_id)
        {
            return Ok(Admission::Replayed);
        }
        let mut kept = self.records.lock().map_err(|_| DependencyError::Failed)?;
        kept.retain(|_, (expires, _, _)| *expires > now);
        let mut keys: Vec<&str> = records.iter().map(|r| r.key.as_str()).collect();
        keys.sort_unstable();
        keys.dedup();
        if keys.len() != records.len() || keys.iter().any(|k| kept.contains_key(*k)) {
            return Ok(Admission::Replayed);
        }
        // Every condition first, then every write: all or nothing, as one transaction.
        let mut passkeys = self.passkeys.lock().map_err(|_| DependencyError::Failed)?;
        let devices = self.devices.lock().map_err(|_| DependencyError::Failed)?;
        for used in records.iter().filter_map(OneTime::device) {
            let remembered = devices
                .get(&used.owner)
                .and_then(|mine| mine.iter().find(|d| d.id == used.id));
            if remembered.is_none_or(|d| d.expires_at <= used.now) {
                return Ok(Admission::Replayed);
            }
        }
        for used in records.iter().filter_map(OneTime::passkey) {
            let stored = passkeys
                .get(&used.owner)
                .and_then(|mine| mine.iter().find(|p| p.id == used.id));
            if !stored.is_some_and(|p| used.counter_ok(p.sign_count)) {
                return Ok(Admission::Replayed);
            }
        }
        for used in records.iter().filter_map(OneTime::passkey) {
            if let Some(p) = passkeys
                .get_mut(&used.owner)
                .and_then(|mine| mine.iter_mut().find(|p| p.id == used.id))
            {
                p.sign_count = used.sign_count;
                p.dynamic = used.dynamic.clone();
                p.last_used_at = Some(used.used_at);
            }
        }
        for record in records {
            kept.insert(
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

impl PasskeyStore for MemoryStore {
    async fn passkeys(&self, owner: &str) -> Result<Vec<StoredPasskey>, DependencyError> {
        self.check()?;
        let held = self.passkeys.lock().map_err(|_| DependencyError::Failed)?;
        Ok(held.get(owner).cloned().unwrap_or_default())
    }

    async fn add_passkey(
        &self,
        owner: &str,
        passkey: &StoredPasskey,
        holder: &Holder,
        max: usize,
    ) -> Result<Added, DependencyError> {
        self.check()?;
        let mut held = self.passkeys.lock().map_err(|_| DependencyError::Failed)?;
        let mut holders = self.holders.lock().map_err(|_| DependencyError::Failed)?;
        if held.values().flatten().any(|p| p.id == passkey.id) {
            return Ok(Added::Duplicate);
        }
        let mine = held.entry(owner.to_owned()).or_default();
        if mine.len() >= max {
            return Ok(Added::TooMany);
        }
        mine.push(passkey.clone());
        holders.insert(passkey.id.clone(), (owner.to_owned(), holder.clone()));
        Ok(Added::Added)
    }

    async fn discover(&self, id: &[u8]) -> Result<Option<Discovered>, DependencyError> {
        self.check()?;
        let held = self.passkeys.lock().map_err(|_| DependencyError::Failed)?;
        let holders = self.holders.lock().map_err(|_| DependencyError::Failed)?;
        let Some((owner, holder)) = holders.get(id) else {
            return Ok(None);
        };
        Ok(held
            .get(owner)
            .and_then(|mine| mine.iter().find(|p| p.id == id))
            .map(|p| Discovered {
                owner: owner.clone(),
                holder: holder.clone(),
                public_key: p.public_key.clone(),
                dynamic: p.dynamic.clone(),
            }))
    }

    async fn remove_passkey(&self, owner: &str, id: &[u8]) -> Result<bool, DependencyError> {
        self.check()?;
        let mut held = self.passkeys.lock().map_err(|_| DependencyError::Failed)?;
        let Some(mine) = held.get_mut(owner) else {
            return Ok(false);
        };
        let before = mine.len();
        mine.retain(|p| p.id != id);
        let removed = mine.len() < before;
        if removed {
            let mut holders = self.holders.lock().map_err(|_| DependencyError::Failed)?;
            holders.remove(id);
        }
        Ok(removed)
    }

    async fn begin_registration(
        &self,
        owner: &str,
        state: &str,
        expires_at: u64,
    ) -> Result<(), DependencyError> {
        self.check()?;
        let mut pending = self
            .registrations
            .lock()
            .map_err(|_| DependencyError::Failed)?;
        pending.insert(owner.to_owned(), (expires_at, state.to_owned()));
        Ok(())
    }

    async fn take_registration(
        &self,
        owner: &str,
        now: u64,
    ) -> Result<Option<String>, DependencyError> {
        self.check()?;
        let mut pending = self
            .registrations
            .lock()
            .map_err(|_| DependencyError::Failed)?;
        Ok(pending
            .remove(owner)
            .filter(|(expires, _)| *expires > now)
            .map(|(_, state)| state))
    }
}

impl crate::store::support::SupportStore for MemoryStore {
    async fn user_record(&self, user: &str) -> Result<UserRecord, DependencyError> {
        self.check()?;
        let users = self.users.lock().map_err(|_| DependencyError::Failed)?;
        Ok(users.get(user).copied().unwrap_or_default())
    }

    async fn unlock(&self, user: &str) -> Result<(), DependencyError> {
        self.check()?;
        let mut users = self.users.lock().map_err(|_| DependencyError::Failed)?;
        if let Some(record) = users.get_mut(user) {
            record.fail_count = 0;
            record.fail_window_end = 0;
        }
        Ok(())
    }

    async fn reset_sends(&self, user: &str) -> Result<(), DependencyError> {
        self.check()?;
        let mut users = self.users.lock().map_err(|_| DependencyError::Failed)?;
        if let Some(record) = users.get_mut(user) {
            record.send_count = 0;
            record.send_window_end = 0;
        }
        Ok(())
    }
}
