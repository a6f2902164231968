//! The state store's port: the trait every adapter implements, and the one-time record a right
//! answer hands it.

use std::future::Future;

use crate::config::state::Limits;
use crate::ports::DependencyError;
use crate::store::devices::DeviceUse;
use crate::store::passkeys::PasskeyUse;
use crate::store::rules::{Admission, Failures, SendGate};

/// How long after its first take a one-time record can be taken again (see
/// [`StateStore::take`]).
pub const TAKE_GRACE_SECONDS: u64 = 10;

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
    /// A remembered device's use: the admission passes only if the device is still
    /// remembered at [`DeviceUse::now`] ([`Admission::Replayed`] otherwise). The key spends the
    /// round's challenge.
    DeviceUse(DeviceUse),
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

    /// The device's use, if it is [`OneTimeKind::DeviceUse`].
    pub fn device(&self) -> Option<&DeviceUse> {
        match &self.kind {
            OneTimeKind::DeviceUse(used) => Some(used),
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

    /// Counts one wrong answer of `user` at `now` (starting a lockout window if none runs),
    /// and says where the count stands after it (for the lockout's metric and audit event).
    fn record_failure(
        &self,
        user: &str,
        now: u64,
        limits: &Limits,
    ) -> impl Future<Output = Result<Failures, DependencyError>> + Send;

    /// Decides whether a correct answer of `user` passes at `now`: not while locked; and the
    /// `records` (the step's own, and the sign-in's methods in its last round), each only if
    /// no record has its key, all written in the same atomic request ([`Admission::Replayed`]
    /// otherwise, and none written).
    fn admit(
        &self,
        user: &str,
        records: &[OneTime],
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
