//! The port of remembered devices: where the public keys of the devices a person chose to
//! remember live, and what a device sign-in hands the state store to check with its admission
//! ([`DeviceUse`]). Below the state store and the device capability, so each can name these
//! types without the other.

use std::future::Future;

use crate::ports::DependencyError;

/// One remembered device, as the store keeps it. Nothing in it is secret (a public key, a name
/// the user gave, two times), but it is the user's: only the user's own calls see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredDevice {
    /// The id the service gave it ([`crate::device::device_id`]: from its public key).
    pub id: Vec<u8>,
    /// The device key's public half: a P-256 key as SubjectPublicKeyInfo DER.
    pub public_key: Vec<u8>,
    /// The name the user gave it.
    pub name: String,
    /// Unix seconds of when it was remembered.
    pub created_at: u64,
    /// Unix seconds from which it is no longer remembered (`DEVICE_TTL_DAYS` after
    /// `created_at`; using it does not move this).
    pub expires_at: u64,
}

/// A device's use in a sign-in: the admission of the answer passes, in one atomic request, only
/// if the device is still remembered (not forgotten, not expired at `now`); otherwise the
/// answer is refused as replayed. Forgetting a device thus takes effect even against a round
/// that offered it before.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DeviceUse {
    /// The user's devices' store key ([`crate::keys::devices_key`]).
    pub owner: String,
    /// The device's id.
    pub id: Vec<u8>,
    /// When it was used.
    pub now: u64,
}

/// What remembering a device did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Remembered {
    /// It is stored.
    Added,
    /// The user has a device with that id already (the same key remembered twice): refused.
    Duplicate,
    /// The user has `max` devices already.
    TooMany,
}

/// Where remembered devices live. Every method is one request to the store; every write is
/// atomic and conditional. An adapter that cannot answer returns an error, and callers fail
/// closed.
pub trait DeviceStore: Sync {
    /// The devices of `owner`, expired ones included (none when there is no record).
    fn devices(
        &self,
        owner: &str,
    ) -> impl Future<Output = Result<Vec<StoredDevice>, DependencyError>> + Send;

    /// Remembers `device` for `owner` if the user has fewer than `max` devices (expired ones
    /// count until they are forgotten).
    fn remember(
        &self,
        owner: &str,
        device: &StoredDevice,
        max: usize,
    ) -> impl Future<Output = Result<Remembered, DependencyError>> + Send;

    /// Renames `owner`'s device `id`; `false` if the user has none with that id.
    fn rename_device(
        &self,
        owner: &str,
        id: &[u8],
        name: &str,
    ) -> impl Future<Output = Result<bool, DependencyError>> + Send;

    /// Forgets `owner`'s device `id`; `false` if the user has none with that id.
    fn forget_device(
        &self,
        owner: &str,
        id: &[u8],
    ) -> impl Future<Output = Result<bool, DependencyError>> + Send;

    /// Forgets every device of `owner` at once.
    fn forget_devices(
        &self,
        owner: &str,
    ) -> impl Future<Output = Result<(), DependencyError>> + Send;
}

mod memory;

/// The rules every [`DeviceStore`] adapter must follow (with the device part of
/// [`crate::store::StateStore::admit`]), as one scripted run.
#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
