//! [`NoStore`]: the store of a deployment without a table, for both ports.

use crate::config::state::Limits;
use crate::ports::DependencyError;
use crate::store::devices::{DeviceStore, Remembered, StoredDevice};
use crate::store::passkeys::{Added, Discovered, Holder, PasskeyStore, StoredPasskey};
use crate::store::port::{OneTime, StateStore};
use crate::store::rules::{Admission, Failures, SendGate};

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

    async fn record_failure(
        &self,
        _: &str,
        _: u64,
        _: &Limits,
    ) -> Result<Failures, DependencyError> {
        Ok(Failures::default())
    }

    async fn admit(
        &self,
        _: &str,
        _: &[OneTime],
        _: u64,
        _: &Limits,
    ) -> Result<Admission, DependencyError> {
        Ok(Admission::Admitted)
    }

    async fn take(&self, _: &str, _: u64) -> Result<Option<String>, DependencyError> {
        Ok(None)
    }
}

/// Without a table there are no passkeys: every call fails, and the configuration refuses
/// passkeys without `AUTH_STATE_TABLE` before it comes to that.
impl PasskeyStore for NoStore {
    async fn passkeys(&self, _: &str) -> Result<Vec<StoredPasskey>, DependencyError> {
        Err(DependencyError::Failed)
    }
    async fn add_passkey(
        &self,
        _: &str,
        _: &StoredPasskey,
        _: &Holder,
        _: usize,
    ) -> Result<Added, DependencyError> {
        Err(DependencyError::Failed)
    }
    async fn discover(&self, _: &[u8]) -> Result<Option<Discovered>, DependencyError> {
        Err(DependencyError::Failed)
    }
    async fn remove_passkey(&self, _: &str, _: &[u8]) -> Result<bool, DependencyError> {
        Err(DependencyError::Failed)
    }
    async fn begin_registration(&self, _: &str, _: &str, _: u64) -> Result<(), DependencyError> {
        Err(DependencyError::Failed)
    }
    async fn take_registration(&self, _: &str, _: u64) -> Result<Option<String>, DependencyError> {
        Err(DependencyError::Failed)
    }
}

/// Without a table there are no remembered devices: every call fails, and the configuration
/// refuses devices without `AUTH_STATE_TABLE` before it comes to that.
impl DeviceStore for NoStore {
    async fn devices(&self, _: &str) -> Result<Vec<StoredDevice>, DependencyError> {
        Err(DependencyError::Failed)
    }
    async fn remember(
        &self,
        _: &str,
        _: &StoredDevice,
        _: usize,
    ) -> Result<Remembered, DependencyError> {
        Err(DependencyError::Failed)
    }
    async fn rename_device(&self, _: &str, _: &[u8], _: &str) -> Result<bool, DependencyError> {
        Err(DependencyError::Failed)
    }
    async fn forget_device(&self, _: &str, _: &[u8]) -> Result<bool, DependencyError> {
        Err(DependencyError::Failed)
    }
    async fn forget_devices(&self, _: &str) -> Result<(), DependencyError> {
        Err(DependencyError::Failed)
    }
}
