//! The node proxy loop: whenever Services or EndpointSlices change, recompute the ruleset
//! and apply the difference to the node namespace's nftables in one transaction. The first
//! sync (and any sync after a failed one) replaces the whole table atomically; conntrack
//! keeps existing connections' translations across that, so a proxy restart does not cut
//! them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::sync::watch;

use super::Watched;
use super::model;
use super::nft::{self, Ruleset};
use crate::network::NodeNetns;

/// Changes arriving this close together are applied in one transaction.
const BATCH: Duration = Duration::from_millis(20);
/// Recomputes the rules this often even without events. The table is rebuilt only after a
/// failed update: a rebuild recreates the ClientIP affinity sets empty.
const RESYNC: Duration = Duration::from_secs(300);

pub async fn run(watched: Arc<Watched>, node: NodeNetns, mut stop: watch::Receiver<bool>) {
    for (key, value) in [
        // NodePorts on 127.0.0.1 need DNAT of loopback-sourced packets to pod addresses.
        ("net.ipv4.conf.all.route_localnet", "1"),
        ("net.ipv4.ip_forward", "1"),
        // Replies between pods on one bridge must pass conntrack to be un-DNATed.
        ("net.bridge.bridge-nf-call-iptables", "1"),
    ] {
        if let Err(e) = node.sysctl(key, value) {
            tracing::warn!(key, error = %e, "setting a sysctl the node proxy relies on");
        }
    }
    let mut changes = watched.changes.subscribe();
    watched.wait_ready(&mut stop).await;
    let mut installed: Option<Ruleset> = None;
    loop {
        let wanted = Ruleset::build(&watched.service_ports());
        if installed.as_ref() != Some(&wanted) {
            let started = Instant::now();
            let script = nft::script(installed.as_ref(), &wanted);
            match apply(&node, &script).await {
                Ok(()) => {
                    tracing::debug!(
                        chains = wanted.chains.len(),
                        endpoints = wanted.endpoint_chains(),
                        lines = script.lines().count(),
                        took_ms = started.elapsed().as_millis() as u64,
                        "nftables updated"
                    );
                    watched.installed.send_replace(Arc::new(wanted.clone()));
                    installed = Some(wanted);
                    watched.applied.send_modify(|n| *n += 1);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "applying service rules; rebuilding the table next");
                    installed = None;
                    if !pause_after_failure(&mut stop).await {
                        return;
                    }
                    continue;
                }
            }
        }
        if !next_change(&mut changes, &mut stop, RESYNC).await {
            return;
        }
    }
}

/// Keeps the NetworkPolicy table in line with policies, pods and namespaces.
pub async fn run_policies(watched: Arc<Watched>, node: NodeNetns, mut stop: watch::Receiver<bool>) {
    let mut changes = watched.policy_changes.subscribe();
    tokio::select! {
        _ = async {
            let _ = watched.policies.wait_until_ready().await;
            let _ = watched.pods.wait_until_ready().await;
            let _ = watched.namespaces.wait_until_ready().await;
        } => {}
        _ = crate::stopped(&mut stop) => return,
    }
    let mut installed: Option<String> = None;
    loop {
        let pods: Vec<super::policy::PodInfo> = watched
            .pods
            .state()
            .iter()
            .filter_map(|p| super::policy::PodInfo::from_pod(p))
            .collect();
        let script = super::policy::script(
            &watched.policies.state(),
            &pods,
            &watched.namespaces.state(),
        );
        if installed.as_ref() != Some(&script) {
            match apply(&node, &script).await {
                Ok(()) => {
                    installed = Some(script);
                    watched.applied.send_modify(|n| *n += 1);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "applying network policies; retrying");
                    if !pause_after_failure(&mut stop).await {
                        return;
                    }
                    continue;
                }
            }
        }
        if !next_change(&mut changes, &mut stop, RESYNC).await {
            return;
        }
    }
}

/// Waits a second before a failed update is tried again; false when stopping.
async fn pause_after_failure(stop: &mut watch::Receiver<bool>) -> bool {
    tokio::select! {
        _ = tokio::time::sleep(Duration::from_secs(1)) => true,
        _ = crate::stopped(stop) => false,
    }
}

/// Waits for the next change (plus a short batch window) or `resync`; false when stopping or
/// when the watch is gone.
async fn next_change(
    changes: &mut watch::Receiver<u64>,
    stop: &mut watch::Receiver<bool>,
    resync: Duration,
) -> bool {
    tokio::select! {
        r = changes.changed() => {
            if r.is_err() {
                return false;
            }
            tokio::time::sleep(BATCH).await;
            true
        }
        _ = tokio::time::sleep(resync) => true,
        _ = crate::stopped(stop) => false,
    }
}

/// Runs one `nft -f` transaction in the node namespace.
pub async fn apply(node: &NodeNetns, script: &str) -> Result<(), String> {
    let mut cmd = tokio::process::Command::new("nft");
    cmd.args(["-f", "-"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    node.prepare(&mut cmd).map_err(|e| e.to_string())?;
    let mut child = cmd.spawn().map_err(|e| format!("starting nft: {e}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(script.as_bytes())
            .await
            .map_err(|e| format!("writing to nft: {e}"))?;
    }
    let out = child
        .wait_with_output()
        .await
        .map_err(|e| format!("waiting for nft: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        Err(format!(
            "nft: {}",
            err.lines().take(6).collect::<Vec<_>>().join(" | ")
        ))
    }
}

/// The service ports the current state asks for.
pub fn ports(
    services: &[Arc<k8s_openapi::api::core::v1::Service>],
    slices: &[Arc<k8s_openapi::api::discovery::v1::EndpointSlice>],
) -> Vec<model::ServicePort> {
    let by_service = model::slices_by_service(slices);
    let none = Vec::new();
    services
        .iter()
        .flat_map(|svc| {
            let key = (
                svc.metadata.namespace.clone().unwrap_or_default(),
                svc.metadata.name.clone().unwrap_or_default(),
            );
            model::service_ports(svc, by_service.get(&key).unwrap_or(&none))
        })
        .collect()
}
