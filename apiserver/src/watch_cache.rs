//! The watch cache: one in-memory copy of every resource, fed by a single store watch on
//! `/registry/`, that serves watchers and consistent lists without a store round-trip each.
//!
//! Each resource has its own `ResourceCache` (objects by key plus a window of recent events).
//! One dispatcher task applies store events in revision order; `synced` is the last store
//! revision it applied, so "the cache is at least as new as the store was at time T" can be
//! checked by comparing with the store's current revision. The cache never writes to the store.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use serde_json::Value;
use tokio::sync::watch;

use capstan_api_types::ResourceInfo;
use capstan_store::{KeyValue, Store, StoreError, WatchEvent};

use crate::selectors::{selection_view, selection_view_from_json};

/// An object as the cache keeps it: its JSON (with resourceVersion set) and what selectors need.
#[derive(Debug)]
pub struct CachedObject {
    pub key: String,
    pub revision: i64,
    pub json: Bytes,
    /// name, namespace, labels and selectable fields only.
    pub view: Value,
}

impl CachedObject {
    pub fn from_kv(kind: &str, kv: &KeyValue) -> Option<Arc<Self>> {
        // Every write passes here: add the version to the stored text and parse only what
        // selectors need, instead of parsing and re-serialising the whole object.
        let (json, view) =
            match crate::stored_form::with_resource_version(&kv.value, kv.mod_revision) {
                Some(json) => {
                    let view = selection_view_from_json(kind, &json).ok()?;
                    (json, view)
                }
                None => {
                    let mut value: Value = serde_json::from_slice(&kv.value).ok()?;
                    crate::object::set_resource_version(&mut value, kv.mod_revision);
                    (
                        serde_json::to_vec(&value).ok()?,
                        selection_view(kind, &value),
                    )
                }
            };
        Some(Arc::new(CachedObject {
            key: kv.key.clone(),
            revision: kv.mod_revision,
            json: Bytes::from(json),
            view,
        }))
    }

    pub fn value(&self) -> Value {
        serde_json::from_slice(&self.json).unwrap_or(Value::Null)
    }

    pub fn namespace(&self) -> Option<&str> {
        self.view
            .pointer("/metadata/namespace")
            .and_then(Value::as_str)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Added,
    Modified,
    Deleted,
}

impl EventType {
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Added => "ADDED",
            EventType::Modified => "MODIFIED",
            EventType::Deleted => "DELETED",
        }
    }
}

#[derive(Debug)]
pub struct CacheEvent {
    pub kind: EventType,
    pub revision: i64,
    /// The new object, or for deletes the last state (with the delete's revision).
    pub object: Arc<CachedObject>,
    pub prev: Option<Arc<CachedObject>>,
}

#[derive(Debug, Default)]
pub struct CacheState {
    pub objects: BTreeMap<String, Arc<CachedObject>>,
    /// Revision of the last event applied to this resource.
    pub revision: i64,
    pub events: VecDeque<Arc<CacheEvent>>,
    /// Events with revision > `oldest` are all in `events`.
    pub oldest: i64,
}

impl CacheState {
    /// Events newer than `after`, or None when the window no longer reaches back that far.
    pub fn events_after(&self, after: i64) -> Option<Vec<Arc<CacheEvent>>> {
        if after < self.oldest {
            return None;
        }
        let start = self.events.partition_point(|e| e.revision <= after);
        Some(self.events.range(start..).cloned().collect())
    }
}

pub struct ResourceCache {
    pub resource: &'static ResourceInfo,
    state: RwLock<CacheState>,
    changed: watch::Sender<i64>,
    capacity: usize,
}

impl ResourceCache {
    fn new(resource: &'static ResourceInfo, capacity: usize) -> Self {
        ResourceCache {
            resource,
            state: RwLock::new(CacheState::default()),
            changed: watch::channel(0).0,
            capacity,
        }
    }

    pub fn read(&self) -> RwLockReadGuard<'_, CacheState> {
        self.state.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, CacheState> {
        self.state.write().unwrap_or_else(|e| e.into_inner())
    }

    /// A receiver that wakes whenever an event is applied to this resource.
    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.changed.subscribe()
    }

    fn apply(&self, event: &WatchEvent) {
        let kind = self.resource.kind;
        let revision = event.revision();
        let mut state = self.write();
        let cache_event = match event {
            WatchEvent::Put { kv, .. } => {
                let Some(obj) = CachedObject::from_kv(kind, kv) else {
                    tracing::warn!(key = %kv.key, "skipping undecodable object in store");
                    return;
                };
                let prev = state.objects.insert(kv.key.clone(), obj.clone());
                let kind = if prev.is_some() {
                    EventType::Modified
                } else {
                    EventType::Added
                };
                CacheEvent {
                    kind,
                    revision,
                    object: obj,
                    prev,
                }
            }
            WatchEvent::Delete { prev, revision } => {
                let removed = state.objects.remove(&prev.key);
                // The DELETED event carries the last state, stamped with the delete revision;
                // when the store cannot supply it, the cached copy is the last state known.
                let last = KeyValue {
                    mod_revision: *revision,
                    ..prev.clone()
                };
                let Some(obj) = CachedObject::from_kv(kind, &last).or_else(|| removed.clone())
                else {
                    state.revision = *revision;
                    return;
                };
                CacheEvent {
                    kind: EventType::Deleted,
                    revision: *revision,
                    object: obj,
                    prev: removed,
                }
            }
        };
        state.revision = revision;
        state.events.push_back(Arc::new(cache_event));
        while state.events.len() > self.capacity {
            if let Some(e) = state.events.pop_front() {
                state.oldest = e.revision;
            }
        }
        drop(state);
        self.changed.send_replace(revision);
    }

    fn reset(&self, objects: BTreeMap<String, Arc<CachedObject>>, revision: i64) {
        let mut state = self.write();
        *state = CacheState {
            objects,
            revision,
            events: VecDeque::new(),
            oldest: revision,
        };
        drop(state);
        self.changed.send_replace(revision);
    }
}

/// All resource caches plus the dispatcher's progress.
pub struct WatchCache {
    by_prefix: HashMap<String, Arc<ResourceCache>>,
    synced: watch::Sender<i64>,
    ready: watch::Sender<bool>,
}

impl WatchCache {
    pub fn new(resources: &'static [ResourceInfo], capacity: usize) -> Arc<Self> {
        let by_prefix = resources
            .iter()
            .map(|r| (r.key_prefix(), Arc::new(ResourceCache::new(r, capacity))))
            .collect();
        Arc::new(WatchCache {
            by_prefix,
            synced: watch::channel(0).0,
            ready: watch::channel(false).0,
        })
    }

    pub fn resource(&self, r: &ResourceInfo) -> Option<&Arc<ResourceCache>> {
        self.by_prefix.get(&r.key_prefix())
    }

    /// Last store revision the dispatcher has applied.
    pub fn synced_revision(&self) -> i64 {
        *self.synced.borrow()
    }

    pub fn subscribe_synced(&self) -> watch::Receiver<i64> {
        self.synced.subscribe()
    }

    fn cache_for_key(&self, key: &str) -> Option<&Arc<ResourceCache>> {
        let rest = key.strip_prefix("/registry/")?;
        let mut segments = rest.splitn(3, '/');
        let first = segments.next()?;
        let one = format!("/registry/{first}/");
        if let Some(c) = self.by_prefix.get(&one) {
            return Some(c);
        }
        let second = segments.next()?;
        self.by_prefix.get(&format!("/registry/{first}/{second}/"))
    }

    /// Waits until the cache has applied every write up to `revision`.
    pub async fn wait_for(&self, revision: i64, timeout: Duration) -> bool {
        let mut rx = self.synced.subscribe();
        let wait = rx.wait_for(|r| *r >= revision);
        matches!(tokio::time::timeout(timeout, wait).await, Ok(Ok(_)))
    }

    pub async fn wait_ready(&self) {
        let mut rx = self.ready.subscribe();
        let _ = rx.wait_for(|r| *r).await;
    }

    /// Runs forever: initial list, then the store watch; relists after a broken watch.
    pub async fn run(self: Arc<Self>, store: Arc<dyn Store>) {
        loop {
            match self.load(store.as_ref()).await {
                Ok(revision) => {
                    self.ready.send_replace(true);
                    match self.follow(store.as_ref(), revision).await {
                        Ok(()) => tracing::warn!("store watch ended; relisting"),
                        Err(e) => tracing::warn!(error = %e, "store watch failed; relisting"),
                    }
                }
                Err(e) => tracing::error!(error = %e, "watch cache initial list failed"),
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }

    async fn load(&self, store: &dyn Store) -> Result<i64, StoreError> {
        let mut page = store.list("/registry/", None, 1000, None).await?;
        let revision = page.revision;
        let mut per_cache: HashMap<String, BTreeMap<String, Arc<CachedObject>>> = HashMap::new();
        loop {
            for kv in &page.items {
                if let Some(cache) = self.cache_for_key(&kv.key)
                    && let Some(obj) = CachedObject::from_kv(cache.resource.kind, kv)
                {
                    per_cache
                        .entry(cache.resource.key_prefix())
                        .or_default()
                        .insert(kv.key.clone(), obj);
                }
            }
            if !page.more {
                break;
            }
            let last = page.items.last().map(|kv| kv.key.clone());
            page = store
                .list("/registry/", last.as_deref(), 1000, Some(revision))
                .await?;
        }
        for (prefix, cache) in &self.by_prefix {
            cache.reset(per_cache.remove(prefix).unwrap_or_default(), revision);
        }
        self.synced.send_replace(revision);
        Ok(revision)
    }

    async fn follow(&self, store: &dyn Store, from: i64) -> Result<(), StoreError> {
        let mut stream = store.watch("/registry/", from).await?;
        while let Some(event) = stream.next().await {
            let event = event?;
            if let Some(cache) = self.cache_for_key(event.key()) {
                cache.apply(&event);
            }
            self.synced.send_replace(event.revision());
        }
        Ok(())
    }
}
