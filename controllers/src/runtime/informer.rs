//! Shared informers: one list+watch per resource type, feeding one reflector store, fanned out
//! to every controller that cares. kube-runtime's own shared streams do not forward deletions,
//! and a ReplicaSet controller that never hears about a deleted pod cannot self-heal, so the
//! fan-out lives here.
//!
//! Owns: the watch connection, the store, and the per-subscriber channels. Must never decide
//! anything about the objects it carries.

use std::fmt::Debug;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};

use futures::{Stream, StreamExt};
use kube::Resource;
use kube::api::Api;
use kube::runtime::WatchStreamExt;
use kube::runtime::reflector::{ObjectRef, Store, store::Writer};
use kube::runtime::watcher::{self, Event};
use serde::de::DeserializeOwned;
use tokio::sync::{mpsc, watch};

/// What happened to an object, as seen by this informer.
#[derive(Debug, Clone)]
pub enum Change<K> {
    Added(K),
    Modified(K),
    /// The object's last known state.
    Deleted(K),
}

impl<K> Change<K> {
    pub fn object(&self) -> &K {
        match self {
            Change::Added(o) | Change::Modified(o) | Change::Deleted(o) => o,
        }
    }
    pub fn into_object(self) -> K {
        match self {
            Change::Added(o) | Change::Modified(o) | Change::Deleted(o) => o,
        }
    }
}

type Subscribers<K> = Arc<Mutex<Vec<mpsc::UnboundedSender<Change<K>>>>>;

pub struct Informer<K>
where
    K: Resource + Clone + 'static,
    K::DynamicType: Eq + Hash + Clone,
{
    store: Store<K>,
    subscribers: Subscribers<K>,
    /// Flips to true after the first complete list. Not `Store::wait_until_ready`: that
    /// wakes only one of several concurrent waiters.
    synced: watch::Receiver<bool>,
    health: watch::Receiver<Health>,
}

/// Whether the watch behind an informer is running, and since when without an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Health {
    /// Not (yet, or no longer) watching: the store may miss recent changes.
    Broken,
    /// Receiving events without an error since this moment (a list, or the first event of a
    /// resumed watch).
    Watching(tokio::time::Instant),
}

impl<K> Clone for Informer<K>
where
    K: Resource + Clone + 'static,
    K::DynamicType: Eq + Hash + Clone,
{
    fn clone(&self) -> Self {
        Informer {
            store: self.store.clone(),
            subscribers: self.subscribers.clone(),
            synced: self.synced.clone(),
            health: self.health.clone(),
        }
    }
}

impl<K> Informer<K>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Eq + Hash + Clone + Send + Sync + Default,
{
    /// Follows whether the watch runs and when the store was last listed in full.
    pub fn health(&self) -> watch::Receiver<Health> {
        self.health.clone()
    }

    /// Starts watching `api` in the background until `shutdown` flips to true.
    pub fn spawn(api: Api<K>, shutdown: watch::Receiver<bool>) -> Self {
        Self::spawn_with(api, K::DynamicType::default(), shutdown)
    }
}

impl<K> Informer<K>
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Eq + Hash + Clone + Send + Sync,
{
    pub fn spawn_with(
        api: Api<K>,
        dyntype: K::DynamicType,
        mut shutdown: watch::Receiver<bool>,
    ) -> Self {
        let mut writer = Writer::new(dyntype.clone());
        let store = writer.as_reader();
        let subscribers: Subscribers<K> = Arc::default();
        let subs = subscribers.clone();
        let reader = store.clone();
        let (synced_tx, synced) = watch::channel(false);
        let (health_tx, health) = watch::channel(Health::Broken);
        tokio::spawn(async move {
            let mut stream = watcher(api).default_backoff().boxed();
            loop {
                let event = tokio::select! {
                    e = stream.next() => e,
                    _ = crate::runtime::stopped(&mut shutdown) => None,
                };
                let Some(event) = event else { break };
                let event = match event {
                    Ok(e) => {
                        if *health_tx.borrow() == Health::Broken {
                            health_tx.send_replace(Health::Watching(tokio::time::Instant::now()));
                        }
                        e
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "watch failed; retrying with backoff");
                        health_tx.send_replace(Health::Broken);
                        continue;
                    }
                };
                let mut subs = subs.lock().unwrap_or_else(PoisonError::into_inner);
                let mut changes = classify(&reader, &event, &dyntype);
                // A relist (after a 410 or a dropped connection) swaps the whole store at
                // InitDone; whatever was there before and is missing now was deleted while we
                // were not watching, and subscribers must hear about it.
                let before = matches!(event, Event::InitDone).then(|| reader.state());
                writer.apply_watcher_event(&event);
                for old in before.into_iter().flatten() {
                    let key = ObjectRef::from_obj_with(old.as_ref(), dyntype.clone());
                    if reader.get(&key).is_none() {
                        changes.push(Change::Deleted((*old).clone()));
                    }
                }
                subs.retain(|tx| changes.iter().all(|c| tx.send(c.clone()).is_ok()));
                drop(subs);
                if matches!(event, Event::InitDone) {
                    synced_tx.send_replace(true);
                }
            }
        });
        Informer {
            store,
            subscribers,
            synced,
            health,
        }
    }

    pub fn store(&self) -> Store<K> {
        self.store.clone()
    }

    /// A stream of every change from now on, preceded by the current contents of the store
    /// as `Added`, so a late subscriber misses nothing.
    pub fn subscribe(&self) -> impl Stream<Item = Change<K>> + Send + 'static {
        let (tx, rx) = mpsc::unbounded_channel();
        let mut subs = self
            .subscribers
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for obj in self.store.state() {
            let _ = tx.send(Change::Added((*obj).clone()));
        }
        subs.push(tx);
        futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|c| (c, rx)) })
    }

    /// `subscribe` in the shape kube-runtime's Controller wants for its triggers.
    pub fn triggers(&self) -> impl Stream<Item = Result<K, watcher::Error>> + Send + 'static {
        self.subscribe().map(|c| Ok(c.into_object()))
    }

    pub async fn wait_until_ready(&self) {
        let mut rx = self.synced.clone();
        // An error means the informer task ended (shutdown); callers also watch for that.
        let _ = rx.wait_for(|s| *s).await;
    }
}

fn watcher<K>(api: Api<K>) -> impl Stream<Item = watcher::Result<Event<K>>> + Send
where
    K: Resource + Clone + DeserializeOwned + Debug + Send + 'static,
{
    watcher::watcher(api, watcher::Config::default())
}

fn classify<K>(store: &Store<K>, event: &Event<K>, dyntype: &K::DynamicType) -> Vec<Change<K>>
where
    K: Resource + Clone + 'static,
    K::DynamicType: Eq + Hash + Clone,
{
    match event {
        Event::Apply(o) | Event::InitApply(o) => {
            let key = ObjectRef::from_obj_with(o, dyntype.clone());
            if store.get(&key).is_some() {
                vec![Change::Modified(o.clone())]
            } else {
                vec![Change::Added(o.clone())]
            }
        }
        Event::Delete(o) => vec![Change::Deleted(o.clone())],
        Event::Init | Event::InitDone => Vec::new(),
    }
}
