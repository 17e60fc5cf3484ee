//! The scheduler process: watches nodes, pods and namespaces into the cache and queue, runs one
//! scheduling cycle at a time, and binds asynchronously (the pod is *assumed* on its node at
//! once, so the next cycle already sees it). Unschedulable pods get the `PodScheduled=False`
//! condition and a `FailedScheduling` event; preemption evicts lower-priority pods when that is
//! what makes room.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{ReplicaSet, StatefulSet};
use k8s_openapi::api::core::v1::{
    Binding, Namespace, Node, ObjectReference, PersistentVolume, PersistentVolumeClaim, Pod,
    Service,
};
use k8s_openapi::api::policy::v1::PodDisruptionBudget;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use serde_json::json;
use tokio::sync::{Semaphore, watch as tokio_watch};

use crate::cache::Cache;
use crate::events::Recorder;
use crate::framework::{self, FitError};
use crate::leader::Elector;
use crate::model::PodInfo;
use crate::plugins::spread_defaults::Controller;
use crate::preemption;
use crate::queue::Queue;

#[derive(Debug, Clone)]
pub struct Config {
    /// Pods whose `spec.schedulerName` is this are ours.
    pub scheduler_name: String,
    pub leader_elect: bool,
    /// This replica's name in the leader Lease.
    pub identity: String,
    /// Bindings in flight at once.
    pub bind_concurrency: usize,
    /// Where to serve `/metrics` and `/healthz`; None serves nothing.
    pub metrics_address: Option<std::net::SocketAddr>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            scheduler_name: "default-scheduler".into(),
            leader_elect: false,
            identity: format!("capstan-scheduler-{}", std::process::id()),
            bind_concurrency: 128,
            metrics_address: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SchedulerError {
    #[error(transparent)]
    Leader(#[from] crate::leader::LeaderError),
    #[error("watch of {0} ended")]
    WatchEnded(&'static str),
}

struct Shared {
    cache: Mutex<Cache>,
    queue: Queue,
    client: kube::Client,
    recorder: Recorder,
    config: Config,
    /// Last unschedulable message per pod, so repeated failures do not repeat the same event.
    last_failure: Mutex<HashMap<String, String>>,
    binds: Arc<Semaphore>,
    metrics: crate::metrics::Metrics,
}

impl Shared {
    fn cache(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.cache.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn ours(&self, pod: &Pod) -> bool {
        let name = pod
            .spec
            .as_ref()
            .and_then(|s| s.scheduler_name.as_deref())
            .unwrap_or("default-scheduler");
        name == self.config.scheduler_name
    }

    fn on_pod(&self, mut pod: Pod) {
        // Only the phase of the status matters here; the rest is the kubelet's business.
        if let Some(st) = pod.status.as_mut() {
            *st = k8s_openapi::api::core::v1::PodStatus {
                phase: st.phase.take(),
                nominated_node_name: st.nominated_node_name.take(),
                ..Default::default()
            };
        }
        let pod = Arc::new(pod);
        let info = PodInfo::new(pod.clone());
        let bound = info.node_name().is_some();
        let finished = matches!(
            pod.status.as_ref().and_then(|s| s.phase.as_deref()),
            Some("Succeeded" | "Failed")
        );
        let deleting = pod.metadata.deletion_timestamp.is_some();
        self.cache().upsert_pod(pod.clone());
        if bound || finished || deleting || !self.ours(&pod) {
            self.queue.remove(&info.key);
            if bound {
                self.lock_failures().remove(&info.key);
            }
            return;
        }
        if !self.cache().is_assumed(&info.key) {
            self.queue.upsert(info);
        }
    }

    fn on_pod_deleted(&self, namespace: &str, name: &str) {
        let key = format!("{namespace}/{name}");
        self.cache().remove_pod(&key);
        self.queue.remove(&key);
        self.lock_failures().remove(&key);
        self.queue.move_all_to_active();
    }

    fn lock_failures(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.last_failure.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Feeds a watcher's events to `apply`/`remove`, relisting as kube-runtime does; objects missing
/// from a relist are removed (by key). `ready` flips once the first list is complete. Only keys
/// are remembered here: the cache holds the objects.
async fn follow<K, A, R>(
    api: Api<K>,
    name: &'static str,
    ready: tokio_watch::Sender<bool>,
    apply: A,
    remove: R,
) -> SchedulerError
where
    K: kube::Resource + Clone + std::fmt::Debug + serde::de::DeserializeOwned + Send + 'static,
    A: Fn(K),
    R: Fn(&str, &str),
{
    let mut stream = watcher(api, watcher::Config::default()).boxed();
    let mut listing: Option<HashSet<(String, String)>> = None;
    let mut known: HashSet<(String, String)> = HashSet::new();
    let key_of = |o: &K| {
        (
            o.meta().namespace.clone().unwrap_or_default(),
            o.meta().name.clone().unwrap_or_default(),
        )
    };
    while let Some(event) = stream.next().await {
        match event {
            Ok(watcher::Event::Init) => listing = Some(HashSet::new()),
            Ok(watcher::Event::InitApply(o)) => {
                let k = key_of(&o);
                if let Some(l) = listing.as_mut() {
                    l.insert(k.clone());
                }
                known.insert(k);
                apply(o);
            }
            Ok(watcher::Event::InitDone) => {
                if let Some(seen) = listing.take() {
                    for (ns, n) in known.difference(&seen) {
                        remove(ns, n);
                    }
                    known = seen;
                }
                ready.send_replace(true);
            }
            Ok(watcher::Event::Apply(o)) => {
                known.insert(key_of(&o));
                apply(o);
            }
            Ok(watcher::Event::Delete(o)) => {
                let (ns, n) = key_of(&o);
                known.remove(&(ns.clone(), n.clone()));
                remove(&ns, &n);
            }
            Err(e) => {
                tracing::warn!(resource = name, error = %e, "watch error; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
    SchedulerError::WatchEnded(name)
}

/// Follows one kind of workload controller, keeping only its selector for default spreading.
fn follow_controller<K>(
    shared: &Arc<Shared>,
    name: &'static str,
    ready: tokio_watch::Sender<bool>,
    kind: Controller,
    selector: fn(K) -> Option<LabelSelector>,
) -> impl Future<Output = SchedulerError> + use<K>
where
    K: kube::Resource<Scope = kube::core::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + 'static,
{
    let s = shared.clone();
    let s2 = shared.clone();
    follow(
        Api::<K>::all(shared.client.clone()),
        name,
        ready,
        move |o: K| {
            let ns = o.meta().namespace.clone().unwrap_or_default();
            let n = o.meta().name.clone().unwrap_or_default();
            s.cache()
                .spread_defaults
                .upsert_controller(kind, &ns, &n, selector(o));
        },
        move |ns, n| s2.cache().spread_defaults.remove_controller(kind, ns, n),
    )
}

/// The scheduler never reads managedFields; dropping them halves what the cache holds.
fn strip<K: kube::Resource>(mut o: K) -> K {
    o.meta_mut().managed_fields = None;
    o
}

/// Runs the scheduler until `shutdown` resolves (Ok) or leadership is lost (Err).
pub async fn run(
    client: kube::Client,
    config: Config,
    shutdown: impl Future<Output = ()>,
) -> Result<(), SchedulerError> {
    let elector = config.leader_elect.then(|| {
        Elector::new(
            client.clone(),
            "kube-system",
            "capstan-scheduler",
            &config.identity,
        )
    });
    tokio::pin!(shutdown);
    if let Some(e) = &elector {
        tokio::select! {
            _ = e.acquire() => {}
            _ = &mut shutdown => return Ok(()),
        }
    }
    let shared = Arc::new(Shared {
        cache: Mutex::new(Cache::default()),
        queue: Queue::default(),
        recorder: Recorder::new(client.clone()),
        binds: Arc::new(Semaphore::new(config.bind_concurrency.max(1))),
        client: client.clone(),
        config,
        last_failure: Mutex::new(HashMap::new()),
        metrics: crate::metrics::Metrics::default(),
    });
    // A taken port costs the metrics, not the scheduling.
    let metrics_task = match shared.config.metrics_address {
        Some(addr) => match tokio::net::TcpListener::bind(addr).await {
            Ok(listener) => {
                tracing::info!(address = %addr, "serving metrics");
                let s = shared.clone();
                let render: capstan_api_types::metrics_http::Render =
                    Arc::new(move || s.metrics.render(&s.queue, &s.config.scheduler_name));
                Some(tokio::spawn(capstan_api_types::metrics_http::serve(
                    listener, render,
                )))
            }
            Err(e) => {
                tracing::warn!(address = %addr, error = %e, "not serving metrics");
                None
            }
        },
        None => None,
    };
    let (nodes_ready, mut nodes_rx) = tokio_watch::channel(false);
    let (pods_ready, mut pods_rx) = tokio_watch::channel(false);
    let (ns_ready, _) = tokio_watch::channel(false);
    let s = shared.clone();
    let s2 = shared.clone();
    let nodes = follow(
        Api::<Node>::all(client.clone()),
        "nodes",
        nodes_ready,
        move |n| {
            s.cache().upsert_node(strip(n));
            s.queue.move_all_to_active();
        },
        move |_, name| s2.cache().remove_node(name),
    );
    let s = shared.clone();
    let s2 = shared.clone();
    let pods = follow(
        Api::<Pod>::all(client.clone()),
        "pods",
        pods_ready,
        move |p| s.on_pod(strip(p)),
        move |ns, name| s2.on_pod_deleted(ns, name),
    );
    // A claim getting bound or a volume appearing may make waiting pods placeable.
    let s = shared.clone();
    let s2 = shared.clone();
    let (claims_ready, _) = tokio_watch::channel(false);
    let claims = follow(
        Api::<PersistentVolumeClaim>::all(client.clone()),
        "persistentvolumeclaims",
        claims_ready,
        move |c| {
            s.cache().volumes.upsert_claim(&c);
            s.queue.move_all_to_active();
        },
        move |ns, name| s2.cache().volumes.remove_claim(ns, name),
    );
    let s = shared.clone();
    let s2 = shared.clone();
    let (volumes_ready, _) = tokio_watch::channel(false);
    let volumes = follow(
        Api::<PersistentVolume>::all(client.clone()),
        "persistentvolumes",
        volumes_ready,
        move |v| {
            s.cache().volumes.upsert_volume(&v);
            s.queue.move_all_to_active();
        },
        move |_, name| s2.cache().volumes.remove_volume(name),
    );
    let s = shared.clone();
    let s2 = shared.clone();
    let (pdbs_ready, _) = tokio_watch::channel(false);
    let pdbs = follow(
        Api::<PodDisruptionBudget>::all(client.clone()),
        "poddisruptionbudgets",
        pdbs_ready,
        move |b| s.cache().upsert_pdb(&b),
        move |ns, name| s2.cache().remove_pdb(ns, name),
    );
    let s = shared.clone();
    let s2 = shared.clone();
    let namespaces = follow(
        Api::<Namespace>::all(client.clone()),
        "namespaces",
        ns_ready,
        move |n| s.cache().upsert_namespace(&n),
        move |_, name| s2.cache().remove_namespace(name),
    );
    // Selectors for the system default spread constraints (scores only: no requeue).
    let s = shared.clone();
    let s2 = shared.clone();
    let (services_ready, mut services_rx) = tokio_watch::channel(false);
    let services = follow(
        Api::<Service>::all(client.clone()),
        "services",
        services_ready,
        move |svc| s.cache().spread_defaults.upsert_service(&svc),
        move |ns, name| s2.cache().spread_defaults.remove_service(ns, name),
    );
    let (replicasets_ready, mut replicasets_rx) = tokio_watch::channel(false);
    let replicasets = follow_controller(
        &shared,
        "replicasets",
        replicasets_ready,
        Controller::ReplicaSet,
        |rs: ReplicaSet| rs.spec.map(|s| s.selector),
    );
    let (statefulsets_ready, mut statefulsets_rx) = tokio_watch::channel(false);
    let statefulsets = follow_controller(
        &shared,
        "statefulsets",
        statefulsets_ready,
        Controller::StatefulSet,
        |ss: StatefulSet| ss.spec.map(|s| s.selector),
    );
    let scheduling = async {
        let _ = nodes_rx.wait_for(|r| *r).await;
        let _ = pods_rx.wait_for(|r| *r).await;
        // Without these, the first pods of a Deployment would miss their default spreading.
        let _ = services_rx.wait_for(|r| *r).await;
        let _ = replicasets_rx.wait_for(|r| *r).await;
        let _ = statefulsets_rx.wait_for(|r| *r).await;
        tracing::info!("caches synced; scheduling");
        let mut cycles: u64 = 0;
        loop {
            let pod = shared.queue.pop().await;
            cycles += 1;
            if cycles.is_multiple_of(1024) {
                shared.cache().expire_assumed();
            }
            schedule_one(&shared, pod).await;
        }
    };
    let lost = async {
        match &elector {
            Some(e) => Err(SchedulerError::from(e.keep().await)),
            None => std::future::pending().await,
        }
    };
    // Watches run on their own tasks so that decoding events never waits for a scheduling
    // cycle (and the other way round) on a multi-core runtime.
    let nodes = tokio::spawn(nodes);
    let pods = tokio::spawn(pods);
    let namespaces = tokio::spawn(namespaces);
    let pdbs = tokio::spawn(pdbs);
    let claims = tokio::spawn(claims);
    let volumes = tokio::spawn(volumes);
    let services = tokio::spawn(services);
    let replicasets = tokio::spawn(replicasets);
    let statefulsets = tokio::spawn(statefulsets);
    let abort = [
        services.abort_handle(),
        replicasets.abort_handle(),
        statefulsets.abort_handle(),
        nodes.abort_handle(),
        pods.abort_handle(),
        namespaces.abort_handle(),
        pdbs.abort_handle(),
        claims.abort_handle(),
        volumes.abort_handle(),
    ];
    let ended = |r: Result<SchedulerError, tokio::task::JoinError>, what: &'static str| match r {
        Ok(e) => e,
        Err(_) => SchedulerError::WatchEnded(what),
    };
    let result = tokio::select! {
        e = nodes => Err(ended(e, "nodes")),
        e = pods => Err(ended(e, "pods")),
        e = namespaces => Err(ended(e, "namespaces")),
        e = pdbs => Err(ended(e, "poddisruptionbudgets")),
        e = claims => Err(ended(e, "persistentvolumeclaims")),
        e = volumes => Err(ended(e, "persistentvolumes")),
        e = services => Err(ended(e, "services")),
        e = replicasets => Err(ended(e, "replicasets")),
        e = statefulsets => Err(ended(e, "statefulsets")),
        _ = scheduling => Ok(()),
        r = lost => r,
        _ = &mut shutdown => Ok(()),
    };
    for a in abort {
        a.abort();
    }
    if let Some(t) = metrics_task {
        t.abort();
    }
    result
}

async fn schedule_one(shared: &Arc<Shared>, pod: Arc<PodInfo>) {
    let started = std::time::Instant::now();
    let result = {
        let mut cache = shared.cache();
        if cache.placed(&pod.key).is_some() {
            drop(cache);
            shared.queue.done(&pod.key);
            return;
        }
        match framework::schedule(&mut cache, &pod) {
            Ok(node) => {
                cache.assume(pod.clone(), &node);
                Ok(node)
            }
            Err(fit) => Err(fit),
        }
    };
    let outcome = match &result {
        Ok(_) => crate::metrics::Outcome::Scheduled,
        Err(_) => crate::metrics::Outcome::Unschedulable,
    };
    shared.metrics.attempt(outcome, started.elapsed());
    match result {
        Ok(node) => {
            shared.queue.done(&pod.key);
            let permit = shared.binds.clone().acquire_owned().await;
            let shared = shared.clone();
            tokio::spawn(async move {
                bind(&shared, &pod, &node).await;
                drop(permit);
            });
        }
        Err(mut fit) => {
            let preempted = try_preempt(shared, &pod, &mut fit).await;
            report_unschedulable(shared, &pod, &fit, preempted.as_deref()).await;
            if preempted.is_some() {
                shared.queue.backoff(&pod.key);
            } else {
                shared.queue.unschedulable(&pod.key);
            }
        }
    }
}

async fn bind(shared: &Shared, pod: &Arc<PodInfo>, node: &str) {
    let api: Api<Pod> = Api::namespaced(shared.client.clone(), &pod.namespace);
    let binding = Binding {
        metadata: ObjectMeta {
            name: Some(pod.name().to_string()),
            namespace: Some(pod.namespace.clone()),
            uid: Some(pod.uid.clone()),
            ..Default::default()
        },
        target: ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Node".into()),
            name: Some(node.to_string()),
            ..Default::default()
        },
    };
    match api
        .create_subresource::<Binding, serde_json::Value>(
            "binding",
            pod.name(),
            &PostParams::default(),
            &binding,
        )
        .await
    {
        Ok(_) => {
            shared.recorder.record(
                pod,
                "Normal",
                "Scheduled",
                format!("Successfully assigned {} to {node}", pod.key),
            );
        }
        Err(kube::Error::Api(s)) if s.code == 404 || s.code == 409 => {
            // Deleted meanwhile, or bound by someone else: the watch tells us the truth.
            tracing::debug!(pod = %pod.key, code = s.code, "binding lost a race");
            shared.cache().forget(&pod.key);
        }
        Err(e) => {
            tracing::warn!(pod = %pod.key, error = %e, "binding failed; will retry");
            shared.metrics.bind_failed();
            shared.cache().forget(&pod.key);
            shared.queue.upsert(pod.clone());
            shared.queue.backoff(&pod.key);
        }
    }
}

/// Tries to make room by evicting lower-priority pods; returns the nominated node.
async fn try_preempt(shared: &Shared, pod: &Arc<PodInfo>, fit: &mut FitError) -> Option<String> {
    let candidate = {
        let mut cache = shared.cache();
        let state = framework::prepare(&mut cache, pod).ok()?;
        preemption::find(&cache, pod, &state)
    };
    let Some(c) = candidate else {
        if fit.nodes > 0 {
            fit.postscript = Some(format!(
                "preemption: 0/{} nodes are available: {} No preemption victims found for incoming pod.",
                fit.nodes, fit.nodes
            ));
        }
        return None;
    };
    shared.metrics.preemption();
    for victim in &c.victims {
        let api: Api<Pod> = Api::namespaced(shared.client.clone(), &victim.namespace);
        shared.recorder.record(
            victim,
            "Normal",
            "Preempted",
            format!("Preempted by pod {} on node {}", pod.uid, c.node),
        );
        let dp = DeleteParams {
            preconditions: Some(kube::api::Preconditions {
                uid: Some(victim.uid.clone()),
                resource_version: None,
            }),
            ..Default::default()
        };
        if let Err(e) = api.delete(victim.name(), &dp).await {
            tracing::warn!(victim = %victim.key, error = %e, "could not evict preemption victim");
        }
    }
    let api: Api<Pod> = Api::namespaced(shared.client.clone(), &pod.namespace);
    let patch = json!({"status": {"nominatedNodeName": c.node}});
    if let Err(e) = api
        .patch_status(pod.name(), &PatchParams::default(), &Patch::Merge(patch))
        .await
    {
        tracing::warn!(pod = %pod.key, error = %e, "could not set nominatedNodeName");
    }
    Some(c.node)
}

async fn report_unschedulable(
    shared: &Shared,
    pod: &Arc<PodInfo>,
    fit: &FitError,
    nominated: Option<&str>,
) {
    let message = fit.message();
    let changed = shared
        .lock_failures()
        .insert(pod.key.clone(), message.clone())
        .as_deref()
        != Some(message.as_str());
    if !changed {
        return;
    }
    tracing::info!(pod = %pod.key, %message, "unschedulable");
    let api: Api<Pod> = Api::namespaced(shared.client.clone(), &pod.namespace);
    let mut status = json!({"conditions": [{
        "type": "PodScheduled", "status": "False", "reason": "Unschedulable",
        "message": message, "lastProbeTime": null,
        "lastTransitionTime": k8s_openapi::jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string(),
    }]});
    if let Some(n) = nominated {
        status["nominatedNodeName"] = json!(n);
    }
    if let Err(e) = api
        .patch_status(
            pod.name(),
            &PatchParams::default(),
            &Patch::Strategic(json!({"status": status})),
        )
        .await
    {
        tracing::debug!(pod = %pod.key, error = %e, "could not update PodScheduled condition");
    }
    shared
        .recorder
        .record(pod, "Warning", "FailedScheduling", message);
}
