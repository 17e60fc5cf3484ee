//! The `Store` contract that the API server persists objects through, and its two real backends:
//! SQLite (embedded default) and etcd v3. Keys are opaque strings such as
//! `/registry/pods/default/web-1`; values are opaque bytes (JSON written by the API server).
//! A store never interprets values and never talks to anything but its backend.
//!
//! Revisions are a single, strictly increasing, cluster-wide counter (etcd's revision model):
//! every successful create, update or delete gets a new revision, and that revision is the
//! object's `resourceVersion`.

use std::pin::Pin;

use async_trait::async_trait;
use futures::Stream;

pub mod compaction;
pub mod etcd;
mod keys;
pub mod sqlite;
pub mod testing;

pub use etcd::EtcdStore;
pub use sqlite::SqliteStore;

/// One stored object at one revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyValue {
    pub key: String,
    pub value: Vec<u8>,
    /// Revision at which the key was (last) created.
    pub create_revision: i64,
    /// Revision of the last write to this key; this is the object's resourceVersion.
    pub mod_revision: i64,
}

/// A change observed by a watch, in revision order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchEvent {
    /// Create or update. `prev` is the value before the write, if the key existed.
    Put {
        kv: KeyValue,
        prev: Option<KeyValue>,
    },
    /// Delete at `revision`; `prev` is the last value of the key.
    Delete { prev: KeyValue, revision: i64 },
}

impl WatchEvent {
    pub fn revision(&self) -> i64 {
        match self {
            WatchEvent::Put { kv, .. } => kv.mod_revision,
            WatchEvent::Delete { revision, .. } => *revision,
        }
    }
    pub fn key(&self) -> &str {
        match self {
            WatchEvent::Put { kv, .. } => &kv.key,
            WatchEvent::Delete { prev, .. } => &prev.key,
        }
    }
}

/// Result of one page of a list.
#[derive(Debug, Clone, Default)]
pub struct ListPage {
    /// Items in ascending key order.
    pub items: Vec<KeyValue>,
    /// The revision the whole list (all pages) is consistent at.
    pub revision: i64,
    /// True when more keys after the last returned one exist at `revision`.
    pub more: bool,
    /// Number of keys remaining after this page, when the backend can tell cheaply.
    pub remaining: Option<i64>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("key {0} already exists")]
    AlreadyExists(String),
    #[error("key {0} not found")]
    NotFound(String),
    /// Precondition failed: the key's current mod revision is `actual` (0 = absent).
    #[error("key {key} was modified: expected revision {expected}, found {actual}")]
    Conflict {
        key: String,
        expected: i64,
        actual: i64,
    },
    /// The requested revision is older than the compacted revision.
    #[error("revision {requested} has been compacted (oldest available {compacted})")]
    Compacted { requested: i64, compacted: i64 },
    /// The requested revision is newer than the store's current one.
    #[error("revision {requested} is in the future (current {current})")]
    FutureRevision { requested: i64, current: i64 },
    #[error("store backend error: {0}")]
    Backend(String),
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

pub type WatchStream = Pin<Box<dyn Stream<Item = Result<WatchEvent>> + Send>>;

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Create `key` only if absent. Returns the new KeyValue (with its revision).
    async fn create(&self, key: &str, value: Vec<u8>) -> Result<KeyValue>;

    /// Replace `key` only if its current mod revision equals `expected_revision`.
    /// Absent key → `NotFound`; other revision → `Conflict`.
    async fn update(&self, key: &str, value: Vec<u8>, expected_revision: i64) -> Result<KeyValue>;

    /// Delete `key`; when `expected_revision` is given it must match the current mod revision.
    /// Returns the deleted value and the revision of the delete.
    async fn delete(&self, key: &str, expected_revision: Option<i64>) -> Result<(KeyValue, i64)>;

    /// Current value of `key`, if any.
    async fn get(&self, key: &str) -> Result<Option<KeyValue>>;

    /// Keys starting with `prefix`, strictly after `start_after` (if given), in ascending key
    /// order, at most `limit` items (0 = no limit), as of `revision` (None = current; Some(r) with
    /// r older than compaction → `Compacted`).
    async fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
        revision: Option<i64>,
    ) -> Result<ListPage>;

    /// Number of live keys under `prefix`.
    async fn count(&self, prefix: &str) -> Result<i64>;

    /// The store's current revision (the revision of the latest write; 0 or more on an empty store).
    async fn current_revision(&self) -> Result<i64>;

    /// Every change to keys under `prefix` with revision strictly greater than `after_revision`,
    /// in revision order, then live changes as they happen. If `after_revision` is older than the
    /// compacted revision the call (or the stream's first item) is `Compacted`.
    async fn watch(&self, prefix: &str, after_revision: i64) -> Result<WatchStream>;

    /// Discard history at or before `revision` (the latest value of each live key is kept).
    async fn compact(&self, revision: i64) -> Result<()>;

    /// The newest revision that has been compacted away (0 if none).
    async fn compacted_revision(&self) -> Result<i64>;
}
