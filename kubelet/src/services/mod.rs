//! Services on the node: the proxy (nftables) and the cluster DNS, both fed by one watch of
//! Services and EndpointSlices. One instance per network namespace: `capstan up` runs it
//! with its first node, a standalone kubelet with `--serve-services`.

pub mod dns;
pub mod model;
pub mod nft;
pub mod policy;
pub mod proxy;

use std::net::Ipv4Addr;
use std::sync::Arc;

use futures::StreamExt;
use k8s_openapi::api::core::v1::{Namespace, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use k8s_openapi::api::networking::v1::NetworkPolicy;
use kube::runtime::reflector::{self, Store};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Api, Client};
use tokio::sync::watch;

use crate::network::NodeNetns;

#[derive(Debug, Clone)]
pub struct ServicesConfig {
    pub node: NodeNetns,
    /// The cluster DNS address (10.96.0.10); None runs no DNS server.
    pub dns_ip: Option<Ipv4Addr>,
    pub domain: String,
}

/// The watched state and its change signal, shared by the proxy and the DNS server.
pub struct Watched {
    services: Store<Service>,
    slices: Store<EndpointSlice>,
    /// Bumped on every Service or EndpointSlice event.
    changes: watch::Sender<u64>,
    policies: Store<NetworkPolicy>,
    pods: Store<Pod>,
    namespaces: Store<Namespace>,
    /// Bumped on every NetworkPolicy, Pod or Namespace event.
    policy_changes: watch::Sender<u64>,
    /// Bumped after every successful nftables update (tests and benchmarks wait on it).
    pub applied: watch::Sender<u64>,
    /// The service ruleset the node's nftables hold now.
    pub installed: watch::Sender<Arc<nft::Ruleset>>,
}

impl Watched {
    pub fn service_ports(&self) -> Vec<model::ServicePort> {
        proxy::ports(&self.services.state(), &self.slices.state())
    }

    pub fn services(&self) -> Vec<Arc<Service>> {
        self.services.state()
    }

    pub fn slices(&self) -> Vec<Arc<EndpointSlice>> {
        self.slices.state()
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changes.subscribe()
    }

    pub(crate) async fn wait_ready(&self, stop: &mut watch::Receiver<bool>) {
        tokio::select! {
            _ = async {
                let _ = self.services.wait_until_ready().await;
                let _ = self.slices.wait_until_ready().await;
            } => {}
            _ = crate::stopped(stop) => {}
        }
    }
}

fn watch_into<K>(
    api: Api<K>,
    changes: watch::Sender<u64>,
    mut stop: watch::Receiver<bool>,
) -> Store<K>
where
    K: kube::Resource<DynamicType = ()>
        + Clone
        + std::fmt::Debug
        + serde::de::DeserializeOwned
        + Send
        + Sync
        + 'static,
{
    let (store, writer) = reflector::store();
    let stream = watcher(api, watcher::Config::default())
        .default_backoff()
        .reflect(writer);
    tokio::spawn(async move {
        let mut stream = std::pin::pin!(stream);
        loop {
            tokio::select! {
                ev = stream.next() => match ev {
                    Some(Ok(_)) => { changes.send_modify(|n| *n += 1); }
                    Some(Err(e)) => tracing::debug!(error = %e, "service watch"),
                    None => return,
                },
                _ = crate::stopped(&mut stop) => return,
            }
        }
    });
    store
}

/// Starts the watch, the proxy and the DNS server; returns the shared state.
pub async fn start(
    client: Client,
    config: ServicesConfig,
    stop: watch::Receiver<bool>,
) -> Arc<Watched> {
    let changes = watch::Sender::new(0);
    let policy_changes = watch::Sender::new(0);
    let watched = Arc::new(Watched {
        services: watch_into(Api::all(client.clone()), changes.clone(), stop.clone()),
        slices: watch_into(Api::all(client.clone()), changes.clone(), stop.clone()),
        changes,
        policies: watch_into(
            Api::all(client.clone()),
            policy_changes.clone(),
            stop.clone(),
        ),
        pods: watch_into(
            Api::all(client.clone()),
            policy_changes.clone(),
            stop.clone(),
        ),
        namespaces: watch_into(
            Api::all(client.clone()),
            policy_changes.clone(),
            stop.clone(),
        ),
        policy_changes,
        applied: watch::Sender::new(0),
        installed: watch::Sender::new(Arc::default()),
    });
    tokio::spawn(proxy::run(
        watched.clone(),
        config.node.clone(),
        stop.clone(),
    ));
    tokio::spawn(proxy::run_policies(
        watched.clone(),
        config.node.clone(),
        stop.clone(),
    ));
    if let Some(ip) = config.dns_ip {
        let w = watched.clone();
        tokio::spawn(async move {
            if let Err(e) = dns::serve(client, w, &config.node, ip, &config.domain, stop).await {
                tracing::error!(error = %e, "cluster DNS stopped");
            }
        });
    }
    watched
}
