//! In-process coordination: pins that keep removal away from data an operation is still
//! assembling, and per-blob locks that make concurrent pulls share one download.

use std::collections::HashMap;
use std::sync::{Arc, MutexGuard};

use crate::ImageStore;
use crate::store::Inner;

impl ImageStore {
    /// Marks blobs and layers as in use by this process until the guard is dropped.
    pub(crate) fn pin(&self, keys: impl IntoIterator<Item = String>) -> PinGuard {
        let keys: Vec<String> = keys.into_iter().collect();
        let mut pins = self.lock_pins();
        for key in &keys {
            *pins.entry(key.clone()).or_insert(0) += 1;
        }
        PinGuard {
            inner: Arc::clone(&self.inner),
            keys,
        }
    }

    pub(crate) fn is_pinned(&self, key: &str) -> bool {
        self.lock_pins().contains_key(key)
    }

    pub(crate) fn fetch_lock(&self, key: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self
            .inner
            .fetch_locks
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Forget locks nobody holds any more, so the map stays as small as the work in flight.
        locks.retain(|_, lock| Arc::strong_count(lock) > 1);
        Arc::clone(locks.entry(key.to_string()).or_default())
    }

    fn lock_pins(&self) -> MutexGuard<'_, HashMap<String, usize>> {
        // Counts are updated in single statements; a poisoned lock holds consistent data.
        self.inner
            .pins
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

pub(crate) struct PinGuard {
    inner: Arc<Inner>,
    keys: Vec<String>,
}

impl Drop for PinGuard {
    fn drop(&mut self) {
        let mut pins = self
            .inner
            .pins
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        for key in &self.keys {
            if let Some(count) = pins.get_mut(key) {
                *count -= 1;
                if *count == 0 {
                    pins.remove(key);
                }
            }
        }
    }
}
