//! capstan-controllers: the reconcile loops that turn desired state into actual state —
//! ReplicaSet, Deployment, the garbage collector, node lifecycle, node IPAM, EndpointSlices and
//! Endpoints — on kube-runtime against the Capstan (or any Kubernetes) API server.
//!
//! `run` is the whole program as a library call; `main.rs` only parses flags. Owns: starting
//! shared informers, leader election, the metrics endpoint and the selected controllers. Must
//! never talk to anything but the API server.

pub mod backends;
pub mod deployment;
pub mod endpoints;
pub mod endpointslice;
pub mod error;
pub mod garbagecollector;
pub mod nodeipam;
pub mod nodelifecycle;
pub mod replicaset;
pub mod runtime;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::Api;
use tokio::sync::watch;

pub use error::{Error, Result};
use runtime::events::Recorder;
use runtime::informer::Informer;
use runtime::leader::{LeaderConfig, LeaderElector};
use runtime::metrics::Metrics;

/// Controllers this binary knows, by the names kube-controller-manager uses for `--controllers`.
pub const CONTROLLERS: [&str; 7] = [
    "replicaset",
    "deployment",
    "garbagecollector",
    "node-lifecycle",
    "nodeipam",
    "endpointslice",
    "endpoint",
];

#[derive(Debug, Clone)]
pub struct Config {
    /// `--controllers`: `*` for all, a name to enable, `-name` to disable.
    pub controllers: Vec<String>,
    /// `Some` turns on leader election with this lease.
    pub leader_election: Option<LeaderConfig>,
    /// Where to serve `/metrics` and health endpoints; None serves nothing.
    pub metrics_address: Option<SocketAddr>,
    /// Grace period, monitor period and default tolerations of the node lifecycle controller.
    pub node_lifecycle: nodelifecycle::NodeLifecycleConfig,
    /// `--cluster-cidr` and `--node-cidr-mask-size` of the node IPAM controller.
    pub node_ipam: nodeipam::NodeIpamConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            controllers: vec!["*".into()],
            leader_election: None,
            metrics_address: None,
            node_lifecycle: nodelifecycle::NodeLifecycleConfig::default(),
            node_ipam: nodeipam::NodeIpamConfig::default(),
        }
    }
}

/// Resolves `--controllers` the way kube-controller-manager does: an explicit name or `-name`
/// wins, otherwise `*` decides. Unknown names are an error rather than silently ignored.
pub fn selected_controllers(spec: &[String]) -> Result<Vec<&'static str>> {
    let items: Vec<&str> = spec
        .iter()
        .flat_map(|s| s.split(','))
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    for item in &items {
        let name = item.strip_prefix('-').unwrap_or(item);
        if name != "*" && !CONTROLLERS.contains(&name) {
            return Err(Error::Config(format!(
                "unknown controller {name:?}; known: {}",
                CONTROLLERS.join(", ")
            )));
        }
    }
    let star = items.contains(&"*");
    Ok(CONTROLLERS
        .iter()
        .copied()
        .filter(|c| {
            if items.contains(c) {
                true
            } else if items.iter().any(|i| i.strip_prefix('-') == Some(c)) {
                false
            } else {
                star
            }
        })
        .collect())
}

/// What every controller shares: the client, informers over the kinds several of them read,
/// the event writer and the metrics.
#[derive(Clone)]
pub struct Shared {
    pub client: Client,
    pub pods: Informer<Pod>,
    pub replicasets: Informer<ReplicaSet>,
    pub deployments: Informer<Deployment>,
    pub recorder: Recorder,
    pub metrics: Arc<Metrics>,
}

/// Runs the selected controllers until `shutdown` resolves. With leader election, first waits
/// to become leader, and returns an error if leadership is lost (the caller should exit, as
/// kube-controller-manager does, rather than risk two leaders).
pub async fn run(
    client: Client,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<()> {
    let selected = selected_controllers(&config.controllers)?;
    let metrics = Arc::new(Metrics::new(&CONTROLLERS));
    let (stop_tx, stop_rx) = watch::channel(false);
    let stop_tx = Arc::new(stop_tx);
    {
        let stop_tx = stop_tx.clone();
        tokio::spawn(async move {
            shutdown.await;
            stop_tx.send_replace(true);
        });
    }
    if let Some(addr) = config.metrics_address {
        let listener = runtime::metrics::bind(addr).await?;
        tracing::info!(address = %listener.local_addr()?, "serving metrics");
        tokio::spawn(runtime::metrics::serve(
            listener,
            metrics.clone(),
            stop_rx.clone(),
        ));
    }

    let mut holder = None;
    if let Some(lc) = config.leader_election.clone() {
        let mut elector = LeaderElector::new(client.clone(), lc);
        let mut rx = stop_rx.clone();
        if !elector.acquire(&mut rx).await {
            return Ok(());
        }
        let rx = stop_rx.clone();
        let stop_tx = stop_tx.clone();
        // `hold` fails only when leadership is lost; then every controller must stop at once.
        holder = Some(tokio::spawn(async move {
            let r = elector.hold(rx).await;
            if r.is_err() {
                stop_tx.send_replace(true);
            }
            r
        }));
    }
    metrics.leader.store(true, Ordering::Relaxed);
    tracing::info!(controllers = ?selected, "starting controllers");

    let shared = Shared {
        pods: Informer::spawn(Api::all(client.clone()), stop_rx.clone()),
        replicasets: Informer::spawn(Api::all(client.clone()), stop_rx.clone()),
        deployments: Informer::spawn(Api::all(client.clone()), stop_rx.clone()),
        recorder: Recorder::spawn(client.clone(), "capstan-controllers"),
        client: client.clone(),
        metrics: metrics.clone(),
    };
    let mut tasks = Vec::new();
    for name in selected {
        let shared = shared.clone();
        let stop = stop_rx.clone();
        let node_lifecycle = config.node_lifecycle.clone();
        let node_ipam = config.node_ipam.clone();
        tasks.push(tokio::spawn(async move {
            let r = match name {
                "replicaset" => replicaset::run(shared, stop).await,
                "deployment" => deployment::run(shared, stop).await,
                "garbagecollector" => garbagecollector::run(shared, stop).await,
                "node-lifecycle" => nodelifecycle::run(shared, node_lifecycle, stop).await,
                "nodeipam" => nodeipam::run(shared, node_ipam, stop).await,
                "endpointslice" => endpointslice::run(shared, stop).await,
                "endpoint" => endpoints::run(shared, stop).await,
                _ => Ok(()),
            };
            if let Err(e) = &r {
                tracing::error!(controller = name, error = %e, "controller failed");
            }
            r
        }));
    }
    let mut first_err = None;
    for t in tasks {
        match t.await {
            Ok(Err(e)) => {
                first_err.get_or_insert(e);
            }
            Err(e) => {
                first_err.get_or_insert(Error::Config(format!("controller task panicked: {e}")));
            }
            Ok(Ok(())) => {}
        }
    }
    metrics.leader.store(false, Ordering::Relaxed);
    stop_tx.send_replace(true);
    if let Some(task) = holder
        && let Ok(Err(e)) = task.await
    {
        return Err(e);
    }
    match first_err {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Waits for informers to finish their first list, or for shutdown. Returns false on shutdown.
pub(crate) async fn wait_synced(
    waits: Vec<futures::future::BoxFuture<'static, ()>>,
    mut stop: watch::Receiver<bool>,
) -> bool {
    tokio::select! {
        _ = futures::future::join_all(waits) => true,
        _ = crate::runtime::stopped(&mut stop) => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sel(s: &str) -> Vec<&'static str> {
        selected_controllers(&[s.to_string()]).unwrap_or_default()
    }

    #[test]
    fn controller_selection_follows_kube_controller_manager() {
        assert_eq!(sel("*"), CONTROLLERS.to_vec());
        assert_eq!(
            sel("*,-garbagecollector"),
            vec![
                "replicaset",
                "deployment",
                "node-lifecycle",
                "nodeipam",
                "endpointslice",
                "endpoint"
            ]
        );
        assert_eq!(
            sel("endpoint,endpointslice"),
            vec!["endpointslice", "endpoint"]
        );
        assert_eq!(sel("replicaset"), vec!["replicaset"]);
        assert!(sel("").is_empty());
        assert!(selected_controllers(&["nope".to_string()]).is_err());
    }
}
