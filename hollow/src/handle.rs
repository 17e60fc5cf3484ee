//! A running fleet: registration at start, the three background loops (Lease renewals,
//! status heartbeats, pods) in one task, and the handle that pauses, resumes and stops it.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use futures::stream::{self, StreamExt, TryStreamExt};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Node;
use kube::{Api, Client};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::config::HollowConfig;
use crate::fleet::{Fleet, Kicks, NodeSlot};
use crate::pods::PodLoop;
use crate::spread::Spread;
use crate::{HollowError, api_code, lease, node};

const REGISTER_ATTEMPTS: u32 = 5;

/// A running fleet of hollow nodes. Dropping it stops the fleet too, without waiting.
pub struct HollowHandle {
    fleet: Arc<Fleet>,
    kicks: Kicks,
    shutdown: watch::Sender<bool>,
    task: Option<JoinHandle<Result<(), HollowError>>>,
}

/// Registers every node (Node, status, Lease), then keeps them alive in the background.
/// Returns once all nodes are registered.
pub async fn start(client: Client, config: HollowConfig) -> Result<HollowHandle, HollowError> {
    config.validate()?;
    let fleet = Arc::new(Fleet::new(&config));
    register_all(&client, &config, &fleet).await?;
    tracing::info!(nodes = fleet.len(), "hollow nodes registered");

    let (shutdown, shutdown_rx) = watch::channel(false);
    let (lease, lease_rx) = mpsc::unbounded_channel();
    let (status, status_rx) = mpsc::unbounded_channel();
    let (pods, pods_rx) = mpsc::unbounded_channel();
    let kicks = Kicks {
        lease,
        status,
        pods,
    };
    let loops = Loops {
        client,
        config,
        fleet: fleet.clone(),
        shutdown: shutdown_rx,
    };
    let task = tokio::spawn(loops.run(lease_rx, status_rx, pods_rx));
    Ok(HollowHandle {
        fleet,
        kicks,
        shutdown,
        task: Some(task),
    })
}

/// Runs a fleet until `shutdown` completes (or the fleet fails).
pub async fn run(
    client: Client,
    config: HollowConfig,
    shutdown: impl Future<Output = ()>,
) -> Result<(), HollowError> {
    let mut handle = start(client, config).await?;
    let ended = tokio::select! {
        () = shutdown => None,
        r = handle.wait() => Some(r),
    };
    match ended {
        Some(r) => r,
        None => handle.stop().await,
    }
}

impl HollowHandle {
    pub fn node_names(&self) -> Vec<String> {
        self.fleet.nodes.iter().map(|n| n.name.clone()).collect()
    }

    fn index(&self, name: &str) -> Result<usize, HollowError> {
        self.fleet
            .index(name)
            .ok_or_else(|| HollowError::UnknownNode(name.to_string()))
    }

    /// The node "dies": it stops renewing its Lease, heartbeating, and touching its pods.
    pub fn pause_node(&self, name: &str) -> Result<(), HollowError> {
        let i = self.index(name)?;
        if self.fleet.set_paused(i, true) {
            tracing::info!(node = name, "paused");
        }
        Ok(())
    }

    /// The node comes back: Lease, Ready condition and pods catch up right away.
    pub fn resume_node(&self, name: &str) -> Result<(), HollowError> {
        let i = self.index(name)?;
        if self.fleet.set_paused(i, false) {
            tracing::info!(node = name, "resumed");
            self.kicks.all(i);
        }
        Ok(())
    }

    pub fn is_paused(&self, name: &str) -> Result<bool, HollowError> {
        Ok(self.fleet.paused(self.index(name)?))
    }

    /// Stops the background loops and waits for them. Nodes, Leases and pods stay as they
    /// are: like a stopped kubelet, the nodes go NotReady once their Leases expire.
    pub async fn stop(mut self) -> Result<(), HollowError> {
        self.shutdown.send_replace(true);
        self.wait().await
    }

    /// Waits for the background task to end (on its own that means it failed).
    async fn wait(&mut self) -> Result<(), HollowError> {
        let Some(task) = self.task.as_mut() else {
            return Ok(());
        };
        let r = task.await;
        self.task = None;
        r.map_err(|e| HollowError::Task(e.to_string()))?
    }
}

impl Drop for HollowHandle {
    fn drop(&mut self) {
        self.shutdown.send_replace(true);
    }
}

fn retryable(e: &kube::Error) -> bool {
    match api_code(e) {
        // Validation and the like will fail the same way again.
        Some(code) => code == 429 || code >= 500,
        None => true,
    }
}

/// Registers nodes `max_in_flight` at a time; the first node that cannot be registered
/// fails the start.
async fn register_all(
    client: &Client,
    config: &HollowConfig,
    fleet: &Fleet,
) -> Result<(), HollowError> {
    let nodes: Api<Node> = Api::all(client.clone());
    let leases: Api<Lease> = Api::namespaced(client.clone(), lease::NAMESPACE);
    stream::iter(fleet.nodes.iter())
        .map(|slot| register_one(&nodes, &leases, config, slot))
        .buffer_unordered(config.max_in_flight)
        .try_collect()
        .await
}

async fn register_one(
    nodes: &Api<Node>,
    leases: &Api<Lease>,
    config: &HollowConfig,
    slot: &NodeSlot,
) -> Result<(), HollowError> {
    let fail = |source| HollowError::Register {
        node: slot.name.clone(),
        source,
    };
    let uid = with_retries(|| node::register(nodes, config, slot))
        .await
        .map_err(fail)?;
    // Set once per process: a second registration of the same slot cannot happen.
    let _ = slot.uid.set(uid);
    with_retries(|| lease::renew(leases, slot, config.lease_duration_seconds, true))
        .await
        .map_err(fail)
}

async fn with_retries<T, F, Fut>(mut f: F) -> Result<T, kube::Error>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, kube::Error>>,
{
    let mut delay = Duration::from_millis(200);
    let mut attempt = 1;
    loop {
        match f().await {
            Err(e) if attempt < REGISTER_ATTEMPTS && retryable(&e) => {
                tracing::debug!(error = %e, attempt, "registration request failed; retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
                attempt += 1;
            }
            r => return r,
        }
    }
}

/// The background work of a registered fleet.
struct Loops {
    client: Client,
    config: HollowConfig,
    fleet: Arc<Fleet>,
    shutdown: watch::Receiver<bool>,
}

impl Loops {
    async fn run(
        self,
        lease_kicks: mpsc::UnboundedReceiver<usize>,
        status_kicks: mpsc::UnboundedReceiver<usize>,
        pod_kicks: mpsc::UnboundedReceiver<usize>,
    ) -> Result<(), HollowError> {
        let Loops {
            client,
            config,
            fleet,
            shutdown,
        } = self;
        let n = fleet.len();

        let leases: Api<Lease> = Api::namespaced(client.clone(), lease::NAMESPACE);
        let duration = config.lease_duration_seconds;
        let lease_fleet = fleet.clone();
        let renewals = Spread {
            what: "lease renewals",
            nodes: n,
            period: config.lease_interval,
            limit: config.max_in_flight,
        }
        .run(lease_kicks, shutdown.clone(), move |i| {
            let (api, fleet) = (leases.clone(), lease_fleet.clone());
            async move {
                let node = &fleet.nodes[i];
                if node.paused() {
                    return true;
                }
                lease::renew(&api, node, duration, false)
                    .await
                    .inspect_err(
                        |e| tracing::debug!(node = %node.name, error = %e, "lease renewal failed"),
                    )
                    .is_ok()
            }
        });

        let nodes: Api<Node> = Api::all(client.clone());
        let status_fleet = fleet.clone();
        let heartbeats = Spread {
            what: "status heartbeats",
            nodes: n,
            period: config.status_interval,
            limit: config.max_in_flight,
        }
        .run(status_kicks, shutdown.clone(), move |i| {
            let (api, fleet) = (nodes.clone(), status_fleet.clone());
            async move {
                let node = &fleet.nodes[i];
                if node.paused() {
                    return true;
                }
                node::heartbeat(&api, node)
                    .await
                    .inspect_err(
                        |e| tracing::debug!(node = %node.name, error = %e, "heartbeat failed"),
                    )
                    .is_ok()
            }
        });

        let pods = PodLoop::new(client, fleet, config.max_pods, config.max_in_flight)
            .run(pod_kicks, shutdown);
        // The periodic loops only end at shutdown; the pod loop may also fail.
        tokio::select! {
            r = pods => r,
            _ = async { tokio::join!(renewals, heartbeats) } => Ok(()),
        }
    }
}
