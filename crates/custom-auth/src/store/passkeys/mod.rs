//! The port of passkeys: where credentials and pending registrations live, and what a passkey
//! sign-in hands the state store to write with its admission ([`PasskeyUse`]). Below the state
//! store and the passkey capability, so each can name these types without the other.

use std::future::Future;

use crate::ports::DependencyError;

/// One registered passkey, as the store keeps it. Nothing in it is secret (a public key, a
/// counter, names the user gave), but it is the user's: only the user's own calls see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredPasskey {
    /// The credential id the authenticator chose.
    pub id: Vec<u8>,
    /// The public key and static extension state (`webauthn_rp`'s `StaticState` encoding).
    pub public_key: Vec<u8>,
    /// Flags that may change at each use (user verified, backup state, signature counter),
    /// `webauthn_rp`'s `DynamicState` encoding.
    pub dynamic: Vec<u8>,
    /// The signature counter, also inside `dynamic`: kept apart so that the store can compare
    /// it in a condition.
    pub sign_count: u32,
    /// How the browser may reach the authenticator (`webauthn_rp`'s `AuthTransports` encoding).
    pub transports: Vec<u8>,
    /// The name the user gave it.
    pub name: String,
    /// Unix seconds of its registration.
    pub created_at: u64,
    /// Unix seconds of its last sign-in, if any.
    pub last_used_at: Option<u64>,
}

/// A passkey's use in a sign-in: written with the admission of the answer, in one atomic
/// request, only if the credential still exists and its counter is as [`PasskeyUse::counter_ok`]
/// says (otherwise the answer is refused as replayed).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PasskeyUse {
    /// The user's passkeys' store key ([`super::owner_key`]).
    pub owner: String,
    /// The credential id.
    pub id: Vec<u8>,
    /// The counter the assertion carried.
    pub sign_count: u32,
    /// The new dynamic state.
    pub dynamic: Vec<u8>,
    /// When it was used.
    pub used_at: u64,
}

impl PasskeyUse {
    /// Whether the stored counter `stored` allows this use: a non-zero counter must grow (a
    /// counter that does not is a cloned authenticator's); authenticators that keep no counter
    /// send zero each time.
    pub fn counter_ok(&self, stored: u32) -> bool {
        if self.sign_count == 0 {
            stored == 0
        } else {
            stored < self.sign_count
        }
    }
}

/// Who holds a passkey, as a sign-in without a name needs it: kept with the credential's
/// claim (the store's record that its id is taken), so that the credential id alone finds it.
/// Nothing in it is secret, but it maps a credential to a sign-in name: only a valid assertion
/// over a challenge the service issued may learn it ([`crate::passkey::discover`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Holder {
    /// The sign-in name the passkey was registered under (the access token's `username`;
    /// Cognito's user names never change).
    pub user: String,
    /// The WebAuthn user handle the passkey carries ([`crate::passkey::user_handle`]: a keyed
    /// hash of pool and `sub`), which its assertions must repeat.
    pub handle: Vec<u8>,
}

/// A passkey found by its credential id alone: who holds it, and what its assertions are
/// checked with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Discovered {
    /// The holder's passkeys' store key ([`crate::keys::owner_key`]).
    pub owner: String,
    /// The holder.
    pub holder: Holder,
    /// The public key and static state, as [`StoredPasskey::public_key`].
    pub public_key: Vec<u8>,
    /// A dynamic state of the passkey ([`StoredPasskey::dynamic`]; an adapter may keep the one
    /// of its registration: the counter is checked, and written, by Verify's admission).
    pub dynamic: Vec<u8>,
}

/// What adding a passkey did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Added {
    /// It is stored.
    Added,
    /// Its credential id is registered already (to this user or another): refused.
    Duplicate,
    /// The user holds [`crate::passkey::MAX_PASSKEYS`] already.
    TooMany,
}

/// Where passkeys live. Every method is one request to the store; every write is atomic and
/// conditional. An adapter that cannot answer returns an error, and callers fail closed.
pub trait PasskeyStore: Sync {
    /// The passkeys of `owner` (none when there is no record).
    fn passkeys(
        &self,
        owner: &str,
    ) -> impl Future<Output = Result<Vec<StoredPasskey>, DependencyError>> + Send;

    /// Adds `passkey` to `owner`'s, held by `holder`, if its id is registered nowhere and the
    /// user holds fewer than `max`.
    fn add_passkey(
        &self,
        owner: &str,
        passkey: &StoredPasskey,
        holder: &Holder,
        max: usize,
    ) -> impl Future<Output = Result<Added, DependencyError>> + Send;

    /// The passkey with credential id `id`, and who holds it; `None` if no passkey has that
    /// id (never registered, deleted, or registered before holders were kept).
    fn discover(
        &self,
        id: &[u8],
    ) -> impl Future<Output = Result<Option<Discovered>, DependencyError>> + Send;

    /// Removes `owner`'s passkey `id`; `false` if the user has none with that id.
    fn remove_passkey(
        &self,
        owner: &str,
        id: &[u8],
    ) -> impl Future<Output = Result<bool, DependencyError>> + Send;

    /// Keeps `state` (a registration ceremony's server state) for `owner` until `expires_at`,
    /// replacing any earlier one: one registration at a time per user.
    fn begin_registration(
        &self,
        owner: &str,
        state: &str,
        expires_at: u64,
    ) -> impl Future<Output = Result<(), DependencyError>> + Send;

    /// Takes `owner`'s pending registration: removes it and returns it, if it has not expired
    /// at `now`. A second take finds nothing, so a ceremony completes at most once.
    fn take_registration(
        &self,
        owner: &str,
        now: u64,
    ) -> impl Future<Output = Result<Option<String>, DependencyError>> + Send;
}

/// The rules every [`PasskeyStore`] adapter must follow (with the passkey part of
/// [`crate::store::StateStore::admit`]), as one scripted run.
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
