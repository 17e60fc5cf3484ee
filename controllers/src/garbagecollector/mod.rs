//! Garbage collector: deletes objects whose owners are all gone (background propagation),
//! deletes dependents before their owner when the owner carries `foregroundDeletion`, and
//! strips owner references from dependents when the owner carries `orphan`.
//!
//! It watches every listable, watchable, deletable resource the API server advertises
//! (discovery at start; events are skipped as in Kubernetes), keeps the ownership graph in
//! memory, and verifies an owner's absence with a live GET before deleting anything. Owns: the
//! `foregroundDeletion` and `orphan` finalizers and deletions made on their behalf. Must never
//! delete an object while any of its owners might still exist.

pub mod attempt;
pub mod graph;

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;

use futures::StreamExt;
use futures::stream::{BoxStream, select_all};
use kube::api::{Api, DynamicObject};
use kube::discovery::{ApiCapabilities, ApiResource, Discovery, Scope, verbs};
use tokio::sync::{mpsc, watch};

use crate::error::Result;
use crate::runtime::informer::{Change, Informer};
use crate::{Shared, wait_synced};
use graph::{Graph, Work};

pub const NAME: &str = "garbagecollector";
pub const COMPONENT: &str = "garbage-collector-controller";

/// Resources whose objects never own or are owned in practice and churn a lot.
const IGNORED: [(&str, &str); 2] = [("", "events"), ("events.k8s.io", "events")];

/// A resource the collector watches.
#[derive(Clone, Debug)]
pub struct Watched {
    pub resource: ApiResource,
    pub namespaced: bool,
}

pub async fn run(shared: Shared, mut stop: watch::Receiver<bool>) -> Result<()> {
    let resources = loop {
        match discover(&shared).await {
            Ok(r) => break r,
            Err(e) => {
                tracing::warn!(error = %e, "garbage collector discovery failed; retrying");
                tokio::select! {
                    _ = tokio::time::sleep(Duration::from_secs(2)) => {}
                    _ = crate::runtime::stopped(&mut stop) => return Ok(()),
                }
            }
        }
    };
    tracing::info!(resources = resources.len(), "garbage collector watching");
    let mut streams: Vec<BoxStream<'static, (usize, Change<DynamicObject>)>> = Vec::new();
    let mut waits = Vec::new();
    for (i, w) in resources.iter().enumerate() {
        let api: Api<DynamicObject> = Api::all_with(shared.client.clone(), &w.resource);
        let informer = Informer::spawn_with(api, w.resource.clone(), stop.clone());
        streams.push(informer.subscribe().map(move |c| (i, c)).boxed());
        waits.push(Box::pin(async move { informer.wait_until_ready().await })
            as futures::future::BoxFuture<'static, ()>);
    }
    if !wait_synced(waits, stop.clone()).await {
        return Ok(());
    }
    let metrics = shared.metrics.controller(NAME);
    let gc = attempt::Collector::new(shared.client.clone(), resources);
    let mut events = select_all(streams);
    let mut graph = Graph::default();
    let mut queue: VecDeque<Work> = VecDeque::new();
    let mut queued: HashSet<Work> = HashSet::new();
    let mut failures: HashMap<Work, u32> = HashMap::new();
    let (retry_tx, mut retry_rx) = mpsc::unbounded_channel::<Work>();
    loop {
        let work = tokio::select! {
            biased;
            _ = crate::runtime::stopped(&mut stop) => break,
            Some((i, change)) = events.next() => {
                for w in graph.apply(i, change) {
                    if queued.insert(w.clone()) {
                        queue.push_back(w);
                    }
                }
                continue;
            }
            Some(w) = retry_rx.recv() => {
                if queued.insert(w.clone()) {
                    queue.push_back(w);
                }
                continue;
            }
            // Only reached when no event is waiting: the graph is as fresh as we can get.
            _ = std::future::ready(()), if !queue.is_empty() => queue.pop_front(),
        };
        let Some(work) = work else { continue };
        queued.remove(&work);
        let start = std::time::Instant::now();
        let result = gc.process(&graph, &work).await;
        metrics.observe(start.elapsed(), result.is_err());
        match result {
            Ok(more) => {
                failures.remove(&work);
                for w in more {
                    if queued.insert(w.clone()) {
                        queue.push_back(w);
                    }
                }
            }
            Err(e) => {
                let n = failures.entry(work.clone()).or_default();
                *n = n.saturating_add(1);
                let delay = Duration::from_millis(50u64 << (*n).min(9));
                if e.is_conflict() {
                    tracing::debug!(?work, error = %e, "garbage collector conflict; retrying");
                } else {
                    tracing::warn!(?work, error = %e, ?delay, "garbage collector step failed");
                }
                let tx = retry_tx.clone();
                tokio::spawn(async move {
                    tokio::time::sleep(delay).await;
                    let _ = tx.send(work);
                });
            }
        }
    }
    tracing::info!("garbage collector stopped");
    Ok(())
}

async fn discover(shared: &Shared) -> Result<Vec<Watched>> {
    let discovery = Discovery::new(shared.client.clone()).run().await?;
    let mut out = Vec::new();
    for group in discovery.groups() {
        for (ar, caps) in group.recommended_resources() {
            if !usable(&ar, &caps) {
                continue;
            }
            out.push(Watched {
                namespaced: caps.scope == Scope::Namespaced,
                resource: ar,
            });
        }
    }
    Ok(out)
}

fn usable(ar: &ApiResource, caps: &ApiCapabilities) -> bool {
    !IGNORED.contains(&(ar.group.as_str(), ar.plural.as_str()))
        && !ar.plural.contains('/')
        && [verbs::LIST, verbs::WATCH, verbs::DELETE, verbs::PATCH]
            .iter()
            .all(|v| caps.supports_operation(v))
}
