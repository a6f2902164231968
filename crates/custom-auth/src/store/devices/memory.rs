//! [`MemoryStore`] as a [`DeviceStore`]: the same rules as every adapter, each under one lock.

use crate::ports::DependencyError;
use crate::store::MemoryStore;
use crate::store::devices::{DeviceStore, Remembered, StoredDevice};

impl DeviceStore for MemoryStore {
    async fn devices(&self, owner: &str) -> Result<Vec<StoredDevice>, DependencyError> {
        self.check()?;
        let held = self.devices.lock().map_err(|_| DependencyError::Failed)?;
        Ok(held.get(owner).cloned().unwrap_or_default())
    }

    async fn remember(
        &self,
        owner: &str,
        device: &StoredDevice,
        max: usize,
    ) -> Result<Remembered, DependencyError> {
        self.check()?;
        let mut held = self.devices.lock().map_err(|_| DependencyError::Failed)?;
        let mine = held.entry(owner.to_owned()).or_default();
        if mine.iter().any(|d| d.id == device.id) {
            return Ok(Remembered::Duplicate);
        }
        if mine.len() >= max {
            return Ok(Remembered::TooMany);
        }
        mine.push(device.clone());
        Ok(Remembered::Added)
    }

    async fn rename_device(
        &self,
        owner: &str,
        id: &[u8],
        name: &str,
    ) -> Result<bool, DependencyError> {
        self.check()?;
        let mut held = self.devices.lock().map_err(|_| DependencyError::Failed)?;
        let found = held
            .get_mut(owner)
            .and_then(|mine| mine.iter_mut().find(|d| d.id == id));
        Ok(found.map(|d| d.name = name.to_owned()).is_some())
    }

    async fn forget_device(&self, owner: &str, id: &[u8]) -> Result<bool, DependencyError> {
        self.check()?;
        let mut held = self.devices.lock().map_err(|_| DependencyError::Failed)?;
        let Some(mine) = held.get_mut(owner) else {
            return Ok(false);
        };
        let before = mine.len();
        mine.retain(|d| d.id != id);
        Ok(mine.len() < before)
    }

    async fn forget_devices(&self, owner: &str) -> Result<(), DependencyError> {
        self.check()?;
        let mut held = self.devices.lock().map_err(|_| DependencyError::Failed)?;
        held.remove(owner);
        Ok(())
    }
}
