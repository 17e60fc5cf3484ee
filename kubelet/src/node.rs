//! This node in the API: registration (labels, taints, capacity and allocatable from the
//! machine minus reservations, node info, addresses, the log/exec endpoint), the status loop
//! (conditions from real memory, disk and pid pressure; the image list) and the Lease renewed
//! every 10 s that the node lifecycle controller watches.

use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::Node;
use k8s_openapi::jiff::Timestamp;
use kube::Api;
use kube::api::{Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::context::Context;
use crate::error::Result;
use crate::machine;

pub const FIELD_MANAGER: &str = "capstan-kubelet";
pub const KUBELET_VERSION: &str = "v1.33.0-capstan";
const LEASE_NAMESPACE: &str = "kube-node-lease";
const LEASE_RENEW: Duration = Duration::from_secs(10);
/// Hard eviction thresholds Kubernetes uses by default, used here for the pressure conditions.
const MEMORY_PRESSURE_BYTES: u64 = 100 << 20;
const DISK_PRESSURE_PERCENT: f64 = 10.0;
const PID_PRESSURE_FRACTION: f64 = 0.9;

fn pp() -> PatchParams {
    PatchParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..PatchParams::default()
    }
}

fn now() -> String {
    Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}

fn api_code(e: &kube::Error) -> Option<u16> {
    match e {
        kube::Error::Api(s) => Some(s.code),
        _ => None,
    }
}

pub fn capacity(ctx: &Context) -> (Value, Value) {
    let mem = machine::memory_total();
    let (disk_total, _) = machine::disk(&ctx.config.root_dir);
    let cpus = machine::cpus();
    let capacity = json!({
        "cpu": cpus.to_string(),
        "memory": format!("{}Ki", mem / 1024),
        "ephemeral-storage": format!("{}Ki", disk_total / 1024),
        "pods": ctx.config.max_pods.to_string(),
    });
    let alloc_mem = mem.saturating_sub(ctx.config.reserved_memory);
    let alloc_disk = (disk_total as f64 * (1.0 - DISK_PRESSURE_PERCENT / 100.0)) as u64;
    let allocatable = json!({
        "cpu": cpus.to_string(),
        "memory": format!("{}Ki", alloc_mem / 1024),
        "ephemeral-storage": format!("{}Ki", alloc_disk / 1024),
        "pods": ctx.config.max_pods.to_string(),
    });
    (capacity, allocatable)
}

/// Transition times are kept per condition type across updates.
#[derive(Default)]
pub struct ConditionClock {
    since: std::collections::HashMap<&'static str, (bool, String)>,
}

impl ConditionClock {
    fn stamp(&mut self, kind: &'static str, status: bool) -> String {
        let entry = self.since.entry(kind).or_insert_with(|| (status, now()));
        if entry.0 != status {
            *entry = (status, now());
        }
        entry.1.clone()
    }
}

fn conditions(ctx: &Context, clock: &mut ConditionClock) -> Value {
    let beat = now();
    let mem_pressure = machine::memory_available() < MEMORY_PRESSURE_BYTES;
    let (total, avail) = machine::disk(&ctx.config.root_dir);
    let disk_pressure = total > 0 && (avail as f64 / total as f64) * 100.0 < DISK_PRESSURE_PERCENT;
    let (procs, pid_max) = machine::pids();
    let pid_pressure = procs as f64 > pid_max as f64 * PID_PRESSURE_FRACTION;
    let network_ready = ctx.network.ready();
    let mut c = |kind: &'static str, status: bool, yes: (&str, &str), no: (&str, &str)| {
        let (reason, message) = if status { yes } else { no };
        json!({
            "type": kind,
            "status": if status { "True" } else { "False" },
            "reason": reason, "message": message,
            "lastHeartbeatTime": beat,
            "lastTransitionTime": clock.stamp(kind, status),
        })
    };
    json!([
        c(
            "MemoryPressure",
            mem_pressure,
            (
                "KubeletHasInsufficientMemory",
                "kubelet has insufficient memory available"
            ),
            (
                "KubeletHasSufficientMemory",
                "kubelet has sufficient memory available"
            )
        ),
        c(
            "DiskPressure",
            disk_pressure,
            ("KubeletHasDiskPressure", "kubelet has disk pressure"),
            ("KubeletHasNoDiskPressure", "kubelet has no disk pressure")
        ),
        c(
            "PIDPressure",
            pid_pressure,
            (
                "KubeletHasInsufficientPID",
                "kubelet has insufficient PID available"
            ),
            (
                "KubeletHasSufficientPID",
                "kubelet has sufficient PID available"
            )
        ),
        c(
            "Ready",
            network_ready,
            ("KubeletReady", "kubelet is posting ready status"),
            ("KubeletNotReady", crate::network::NOT_READY)
        ),
    ])
}

fn images(ctx: &Context) -> Value {
    let mut list = ctx.images.list();
    list.sort_by_key(|i| std::cmp::Reverse(i.size));
    Value::Array(
        list.iter()
            .take(50)
            .map(|i| json!({"names": [format!("{}@{}", i.reference.rsplit_once(':').map(|(r, _)| r).unwrap_or(&i.reference), i.digest), i.reference], "sizeBytes": i.size}))
            .collect(),
    )
}

fn status(ctx: &Context, clock: &mut ConditionClock) -> Value {
    let (capacity, allocatable) = capacity(ctx);
    json!({"status": {
        "capacity": capacity,
        "allocatable": allocatable,
        "conditions": conditions(ctx, clock),
        "addresses": [
            {"type": "InternalIP", "address": ctx.config.node_ip.to_string()},
            {"type": "Hostname", "address": ctx.config.node_name},
        ],
        "daemonEndpoints": {"kubeletEndpoint": {"Port": ctx.server_port()}},
        "images": images(ctx),
        "nodeInfo": {
            "machineID": machine::machine_id(),
            "systemUUID": machine::machine_id(),
            "bootID": machine::boot_id(),
            "kernelVersion": machine::kernel_version(),
            "osImage": machine::os_image(),
            "containerRuntimeVersion": format!("capstan://{}", env!("CARGO_PKG_VERSION")),
            "kubeletVersion": KUBELET_VERSION,
            "kubeProxyVersion": KUBELET_VERSION,
            "operatingSystem": "linux",
            "architecture": std::env::consts::ARCH.replace("x86_64", "amd64").replace("aarch64", "arm64"),
        },
    }})
}

fn labels(ctx: &Context) -> Value {
    let mut l = serde_json::Map::new();
    l.insert("kubernetes.io/hostname".into(), json!(ctx.config.node_name));
    l.insert("kubernetes.io/os".into(), json!("linux"));
    l.insert(
        "kubernetes.io/arch".into(),
        json!(
            std::env::consts::ARCH
                .replace("x86_64", "amd64")
                .replace("aarch64", "arm64")
        ),
    );
    for (k, v) in &ctx.config.node_labels {
        l.insert(k.clone(), json!(v));
    }
    Value::Object(l)
}

/// Creates the Node or takes over the existing one, writes its status and returns its uid.
pub async fn register(ctx: &Context, clock: &mut ConditionClock) -> Result<String> {
    let api: Api<Node> = Api::all(ctx.client.clone());
    let name = &ctx.config.node_name;
    let mut spec = json!({});
    if !ctx.config.register_with_taints.is_empty() {
        spec["taints"] = json!(ctx.config.register_with_taints);
    }
    let node: Node = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Node",
        "metadata": {"name": name, "labels": labels(ctx)},
        "spec": spec,
    }))
    .map_err(kube::Error::SerdeError)?;
    let pp_create = PostParams {
        field_manager: Some(FIELD_MANAGER.into()),
        ..PostParams::default()
    };
    let created = match api.create(&pp_create, &node).await {
        Ok(n) => n,
        Err(e) if api_code(&e) == Some(409) => {
            let patch = json!({"metadata": {"labels": labels(ctx)}});
            api.patch(name, &pp(), &Patch::Merge(&patch)).await?
        }
        Err(e) => return Err(e.into()),
    };
    api.patch_status(name, &pp(), &Patch::Merge(status(ctx, clock)))
        .await?;
    Ok(created.metadata.uid.unwrap_or_default())
}

async fn renew_lease(ctx: &Context, uid: &str) -> Result<()> {
    let api: Api<Lease> = Api::namespaced(ctx.client.clone(), LEASE_NAMESPACE);
    let name = &ctx.config.node_name;
    let renew = Timestamp::now()
        .strftime("%Y-%m-%dT%H:%M:%S%.6fZ")
        .to_string();
    let spec = json!({
        "holderIdentity": name,
        "leaseDurationSeconds": ctx.config.lease_duration_seconds,
        "renewTime": renew,
    });
    let patch = json!({"spec": spec});
    match api.patch(name, &pp(), &Patch::Merge(&patch)).await {
        Ok(_) => Ok(()),
        Err(e) if api_code(&e) == Some(404) => {
            let lease: Lease = serde_json::from_value(json!({
                "apiVersion": "coordination.k8s.io/v1", "kind": "Lease",
                "metadata": {"name": name, "namespace": LEASE_NAMESPACE,
                    "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": name, "uid": uid}]},
                "spec": spec,
            }))
            .map_err(kube::Error::SerdeError)?;
            match api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(()),
                Err(e) if api_code(&e) == Some(409) => Ok(()),
                Err(e) => Err(e.into()),
            }
        }
        Err(e) => Err(e.into()),
    }
}

/// Reads the pod CIDR the node IPAM controller assigned and configures the network with it.
async fn pick_up_pod_cidr(ctx: &Context, api: &Api<Node>) -> bool {
    let cidr = match api.get(&ctx.config.node_name).await {
        Ok(n) => n.spec.and_then(|s| s.pod_cidr).filter(|c| !c.is_empty()),
        Err(e) => {
            tracing::debug!(error = %e, "reading the node's pod CIDR");
            None
        }
    };
    let Some(cidr) = cidr else { return false };
    match ctx.network.set_pod_cidr(&cidr) {
        Ok(()) => {
            tracing::info!(%cidr, "node pod CIDR assigned");
            ctx.network_changed.notify_waiters();
            true
        }
        Err(e) => {
            tracing::warn!(%cidr, error = %e, "writing the CNI configuration");
            false
        }
    }
}

/// Registers (retrying until the API answers), then keeps the Lease and status fresh.
pub async fn run(ctx: Arc<Context>, mut stop: tokio::sync::watch::Receiver<bool>) {
    let mut clock = ConditionClock::default();
    let uid = loop {
        match register(&ctx, &mut clock).await {
            Ok(uid) => break uid,
            Err(e) => tracing::warn!(error = %e, "registering the node; retrying"),
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = crate::stopped(&mut stop) => return,
        }
    };
    tracing::info!(node = %ctx.config.node_name, "node registered");
    ctx.registered.notify_waiters();
    let api: Api<Node> = Api::all(ctx.client.clone());
    let mut lease_tick = tokio::time::interval(LEASE_RENEW);
    let mut status_tick = tokio::time::interval(ctx.config.status_update_period);
    let mut cidr_tick = tokio::time::interval(Duration::from_secs(1));
    loop {
        let waiting_for_cidr = ctx.network.pod_cidr().is_none();
        tokio::select! {
            _ = cidr_tick.tick(), if waiting_for_cidr => {
                if pick_up_pod_cidr(&ctx, &api).await {
                    // Report Ready now rather than a status period later.
                    status_tick.reset_immediately();
                }
            }
            _ = lease_tick.tick() => {
                if let Err(e) = renew_lease(&ctx, &uid).await {
                    tracing::warn!(error = %e, "renewing the node lease");
                }
            }
            _ = status_tick.tick() => {
                let s = status(&ctx, &mut clock);
                match api.patch_status(&ctx.config.node_name, &pp(), &Patch::Merge(s)).await {
                    Ok(_) => {}
                    // Deleted behind our back: a real kubelet re-registers.
                    Err(e) if api_code(&e) == Some(404) => {
                        if let Err(e) = register(&ctx, &mut clock).await {
                            tracing::warn!(error = %e, "re-registering the node");
                        }
                    }
                    Err(e) => tracing::warn!(error = %e, "updating node status"),
                }
            }
            _ = crate::stopped(&mut stop) => return,
        }
    }
}
