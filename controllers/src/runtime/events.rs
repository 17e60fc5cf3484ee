//! Event recorder: writes core/v1 Events the way Kubernetes' client-go recorder does, so
//! `kubectl describe` and `kubectl get events` show what controllers did.
//!
//! Identical events (same object, type, reason and message) are folded into one Event whose
//! `count` and `lastTimestamp` move; more than `SIMILAR_LIMIT` different messages for the same
//! object and reason within `SIMILAR_WINDOW` are folded into one "(combined from similar
//! events)" Event. Writes happen on a background task: recording never blocks or fails a
//! reconcile. Must never be used for anything a controller reads back.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Event, EventSource, ObjectReference};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{ObjectMeta, Time};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::{Client, Resource};
use serde_json::json;
use tokio::sync::mpsc;

const SIMILAR_LIMIT: usize = 10;
const SIMILAR_WINDOW: Duration = Duration::from_secs(600);
/// Past this many remembered events the cache is dropped; the worst case is a duplicate Event.
const CACHE_LIMIT: usize = 4096;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    Normal,
    Warning,
}

impl EventType {
    fn as_str(self) -> &'static str {
        match self {
            EventType::Normal => "Normal",
            EventType::Warning => "Warning",
        }
    }
}

#[derive(Debug)]
struct Record {
    component: &'static str,
    object: ObjectReference,
    kind: EventType,
    reason: String,
    message: String,
}

/// A cheap handle; clone it into every reconcile context.
#[derive(Clone)]
pub struct Recorder {
    component: &'static str,
    tx: mpsc::UnboundedSender<Record>,
}

impl Recorder {
    /// Starts the writer task. It ends when every `Recorder` clone has been dropped.
    pub fn spawn(client: Client, component: &'static str) -> Recorder {
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(write_loop(client, rx));
        Recorder { component, tx }
    }

    /// A recorder for another component writing through the same task.
    pub fn for_component(&self, component: &'static str) -> Recorder {
        Recorder {
            component,
            tx: self.tx.clone(),
        }
    }

    pub fn normal<K: Resource<DynamicType = ()>>(&self, obj: &K, reason: &str, message: String) {
        self.record(obj, EventType::Normal, reason, message)
    }

    pub fn warning<K: Resource<DynamicType = ()>>(&self, obj: &K, reason: &str, message: String) {
        self.record(obj, EventType::Warning, reason, message)
    }

    pub fn record<K: Resource<DynamicType = ()>>(
        &self,
        obj: &K,
        kind: EventType,
        reason: &str,
        message: String,
    ) {
        tracing::debug!(component = self.component, reason, %message, "event");
        let _ = self.tx.send(Record {
            component: self.component,
            object: obj.object_ref(&()),
            kind,
            reason: reason.to_string(),
            message,
        });
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct SimilarKey {
    component: &'static str,
    uid: String,
    namespace: String,
    name: String,
    kind: EventType,
    reason: String,
}

struct Written {
    name: String,
    count: i32,
}

struct Similar {
    messages: Vec<String>,
    since: Instant,
}

#[derive(Default)]
struct Correlator {
    written: HashMap<(SimilarKey, String), Written>,
    similar: HashMap<SimilarKey, Similar>,
}

impl Correlator {
    /// Folds a record into the similar-events window; returns the key and message to write.
    fn aggregate(&mut self, r: &Record) -> (SimilarKey, String) {
        let key = SimilarKey {
            component: r.component,
            uid: r.object.uid.clone().unwrap_or_default(),
            namespace: r.object.namespace.clone().unwrap_or_default(),
            name: r.object.name.clone().unwrap_or_default(),
            kind: r.kind,
            reason: r.reason.clone(),
        };
        let entry = self.similar.entry(key.clone()).or_insert_with(|| Similar {
            messages: Vec::new(),
            since: Instant::now(),
        });
        if entry.since.elapsed() > SIMILAR_WINDOW {
            entry.messages.clear();
            entry.since = Instant::now();
        }
        if !entry.messages.contains(&r.message) {
            entry.messages.push(r.message.clone());
        }
        if entry.messages.len() > SIMILAR_LIMIT {
            let msg = format!("(combined from similar events): {}", r.message);
            // All combined events share one cache slot, so they count up one Event.
            (key, msg)
        } else {
            (key, r.message.clone())
        }
    }
}

async fn write_loop(client: Client, mut rx: mpsc::UnboundedReceiver<Record>) {
    let mut c = Correlator::default();
    while let Some(r) = rx.recv().await {
        if c.written.len() > CACHE_LIMIT || c.similar.len() > CACHE_LIMIT {
            c = Correlator::default();
        }
        let (key, message) = c.aggregate(&r);
        let combined = message.starts_with("(combined from similar events)");
        let slot = (
            key,
            if combined {
                String::new()
            } else {
                message.clone()
            },
        );
        let namespace = r
            .object
            .namespace
            .clone()
            .unwrap_or_else(|| "default".to_string());
        let api: Api<Event> = Api::namespaced(client.clone(), &namespace);
        let now = Time(Timestamp::now());
        if let Some(w) = c.written.get_mut(&slot) {
            let patch = json!({
                "count": w.count + 1,
                "lastTimestamp": now,
                "message": message,
            });
            match api
                .patch(&w.name, &PatchParams::default(), &Patch::Merge(&patch))
                .await
            {
                Ok(_) => {
                    w.count += 1;
                    continue;
                }
                // Someone deleted it (TTL, a user): start a fresh Event below.
                Err(e) => tracing::debug!(error = %e, "event patch failed; creating anew"),
            }
        }
        let name = format!(
            "{}.{:x}",
            r.object.name.clone().unwrap_or_default(),
            Timestamp::now().as_nanosecond()
        );
        let event = Event {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: Some(namespace.clone()),
                ..ObjectMeta::default()
            },
            involved_object: r.object.clone(),
            reason: Some(r.reason.clone()),
            message: Some(message),
            type_: Some(r.kind.as_str().to_string()),
            source: Some(EventSource {
                component: Some(r.component.to_string()),
                host: None,
            }),
            count: Some(1),
            first_timestamp: Some(now.clone()),
            last_timestamp: Some(now),
            reporting_component: Some(r.component.to_string()),
            reporting_instance: Some(r.component.to_string()),
            ..Event::default()
        };
        match api.create(&PostParams::default(), &event).await {
            Ok(_) => {
                c.written.insert(slot, Written { name, count: 1 });
            }
            Err(e) => tracing::warn!(error = %e, reason = %r.reason, "could not write event"),
        }
    }
}
