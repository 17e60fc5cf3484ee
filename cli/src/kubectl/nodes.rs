//! `capstan cordon|uncordon NODE…` and `capstan drain NODE`: cordon, then evict every pod
//! on the node through the eviction API (so PodDisruptionBudgets are honoured, retrying
//! while one blocks), with kubectl's refusals for DaemonSet pods, unmanaged pods and pods
//! with local data unless told otherwise.

use std::time::Duration;

use k8s_openapi::api::core::v1::{Node, Pod};
use kube::api::{Api, DeleteParams, EvictParams, ListParams, Patch, PatchParams};
use serde_json::json;

use super::{CliError, Target};

#[derive(Debug, Clone, clap::Args)]
pub struct DrainArgs {
    pub node: String,
    /// Skip DaemonSet-managed pods (their controller would put them back).
    #[arg(long)]
    pub ignore_daemonsets: bool,
    /// Also delete pods that no controller manages (they are gone for good).
    #[arg(long)]
    pub force: bool,
    /// Also delete pods with emptyDir volumes (their data is lost).
    #[arg(long)]
    pub delete_emptydir_data: bool,
    /// Seconds each pod gets to stop (-1: the pod's own).
    #[arg(long, default_value_t = -1, allow_negative_numbers = true)]
    pub grace_period: i64,
    /// Give up after this long (e.g. 5m; 0: wait forever).
    #[arg(long, default_value = "0")]
    pub timeout: String,
    /// Only pods matching this label selector.
    #[arg(long)]
    pub pod_selector: Option<String>,
    /// Delete pods instead of evicting them (ignores PodDisruptionBudgets).
    #[arg(long)]
    pub disable_eviction: bool,
}

/// Sets spec.unschedulable; returns `node/N cordoned` or `already cordoned`.
pub async fn set_unschedulable(
    client: &kube::Client,
    node: &str,
    on: bool,
) -> Result<String, CliError> {
    let nodes: Api<Node> = Api::all(client.clone());
    let what = format!(
        "{} node/{node}",
        if on { "cordoning" } else { "uncordoning" }
    );
    let current = nodes.get(node).await.map_err(CliError::from_kube(&what))?;
    let verb = if on { "cordoned" } else { "uncordoned" };
    let is_on = current
        .spec
        .as_ref()
        .and_then(|s| s.unschedulable)
        .unwrap_or(false);
    if is_on == on {
        return Ok(format!("node/{node} already {verb}\n"));
    }
    nodes
        .patch(
            node,
            &PatchParams {
                field_manager: Some("capstan-cordon".into()),
                ..PatchParams::default()
            },
            &Patch::Merge(json!({"spec": {"unschedulable": on}})),
        )
        .await
        .map_err(CliError::from_kube(&what))?;
    Ok(format!("node/{node} {verb}\n"))
}

pub async fn cordon(target: &Target, nodes: &[String], on: bool) -> Result<String, CliError> {
    let (client, _) = target.connect().await?;
    for n in nodes {
        super::output::print(&set_unschedulable(&client, n, on).await?)?;
    }
    Ok(String::new())
}

/// Why a pod may not be evicted without a flag; None when it may (or is skipped).
#[derive(Debug, PartialEq)]
pub enum Verdict {
    Evict,
    /// DaemonSet pods with --ignore-daemonsets, mirror pods.
    Skip(&'static str),
    Refuse(&'static str),
}

pub fn judge(pod: &Pod, args: &DrainArgs) -> Verdict {
    let meta = &pod.metadata;
    if meta
        .annotations
        .as_ref()
        .is_some_and(|a| a.contains_key("kubernetes.io/config.mirror"))
    {
        return Verdict::Skip("mirror");
    }
    let phase = pod.status.as_ref().and_then(|s| s.phase.as_deref());
    if matches!(phase, Some("Succeeded" | "Failed")) {
        return Verdict::Evict;
    }
    let controller = meta
        .owner_references
        .iter()
        .flatten()
        .find(|o| o.controller == Some(true));
    if controller.is_some_and(|c| c.kind == "DaemonSet") {
        return if args.ignore_daemonsets {
            Verdict::Skip("daemonset")
        } else {
            Verdict::Refuse(
                "cannot delete DaemonSet-managed Pods (use --ignore-daemonsets to ignore)",
            )
        };
    }
    if controller.is_none() && !args.force {
        return Verdict::Refuse(
            "cannot delete Pods that declare no controller (use --force to override)",
        );
    }
    let empty_dir = pod
        .spec
        .as_ref()
        .and_then(|s| s.volumes.as_ref())
        .is_some_and(|vs| vs.iter().any(|v| v.empty_dir.is_some()));
    if empty_dir && !args.delete_emptydir_data {
        return Verdict::Refuse(
            "cannot delete Pods with local storage (use --delete-emptydir-data to override)",
        );
    }
    Verdict::Evict
}

pub async fn drain(target: &Target, args: &DrainArgs) -> Result<String, CliError> {
    let (client, _) = target.connect().await?;
    // Zero means no limit, as for kubectl.
    let timeout = Some(super::duration::parse(&args.timeout)?).filter(|t| !t.is_zero());
    let deadline = timeout.map(|t| tokio::time::Instant::now() + t);
    super::output::print(&set_unschedulable(&client, &args.node, true).await?)?;
    let all: Api<Pod> = Api::all(client.clone());
    let mut lp = ListParams::default().fields(&format!("spec.nodeName={}", args.node));
    if let Some(s) = &args.pod_selector {
        lp = lp.labels(s);
    }
    let pods = all
        .list(&lp)
        .await
        .map_err(CliError::from_kube("listing the node's pods"))?
        .items;
    let mut refusals: Vec<(String, Vec<String>)> = Vec::new();
    let mut skipped_ds = Vec::new();
    let mut to_evict = Vec::new();
    for p in pods {
        let id = format!(
            "{}/{}",
            p.metadata.namespace.clone().unwrap_or_default(),
            p.metadata.name.clone().unwrap_or_default()
        );
        match judge(&p, args) {
            Verdict::Evict => to_evict.push(p),
            Verdict::Skip("daemonset") => skipped_ds.push(id),
            Verdict::Skip(_) => {}
            Verdict::Refuse(why) => match refusals.iter_mut().find(|(w, _)| w == why) {
                Some((_, ids)) => ids.push(id),
                None => refusals.push((why.to_string(), vec![id])),
            },
        }
    }
    if !refusals.is_empty() {
        let list: Vec<String> = refusals
            .iter()
            .map(|(why, ids)| format!("{why}: {}", ids.join(", ")))
            .collect();
        return Err(CliError::Input(format!(
            "unable to drain node \"{}\" due to error: [{}]; the node stays cordoned",
            args.node,
            list.join(", ")
        )));
    }
    if !skipped_ds.is_empty() {
        eprintln!(
            "Warning: ignoring DaemonSet-managed Pods: {}",
            skipped_ds.join(", ")
        );
    }
    let dp = DeleteParams {
        grace_period_seconds: u32::try_from(args.grace_period).ok(),
        ..DeleteParams::default()
    };
    let evictions = to_evict.iter().map(|p| {
        let client = client.clone();
        let dp = dp.clone();
        async move { evict_one(&client, p, &dp, args.disable_eviction, deadline).await }
    });
    futures::future::try_join_all(evictions).await?;
    Ok(format!("node/{} drained\n", args.node))
}

async fn evict_one(
    client: &kube::Client,
    pod: &Pod,
    dp: &DeleteParams,
    delete_only: bool,
    deadline: Option<tokio::time::Instant>,
) -> Result<(), CliError> {
    let ns = pod.metadata.namespace.clone().unwrap_or_default();
    let name = pod.metadata.name.clone().unwrap_or_default();
    let uid = pod.metadata.uid.clone();
    let api: Api<Pod> = Api::namespaced(client.clone(), &ns);
    super::output::print(&format!("evicting pod {ns}/{name}\n"))?;
    let past =
        |d: Option<tokio::time::Instant>| d.is_some_and(|d| tokio::time::Instant::now() >= d);
    loop {
        let result = if delete_only {
            api.delete(&name, dp).await.map(|_| ())
        } else {
            let ep = EvictParams {
                delete_options: Some(dp.clone()),
                ..EvictParams::default()
            };
            api.evict(&name, &ep).await.map(|_| ())
        };
        match result {
            Ok(()) => break,
            Err(kube::Error::Api(s)) if s.code == 404 => break,
            // A disruption budget says not now: kubectl retries every 5 s.
            Err(kube::Error::Api(s)) if s.code == 429 => {
                eprintln!(
                    "error when evicting pods/\"{name}\" -n \"{ns}\" (will retry after 5s): {}",
                    s.message
                );
                if past(deadline) {
                    return Err(CliError::Input(format!(
                        "drain did not complete within the timeout: pod {ns}/{name} could not be evicted"
                    )));
                }
                tokio::time::sleep(Duration::from_secs(5)).await;
            }
            Err(e) => {
                return Err(CliError::from_kube(&format!("evicting pod {ns}/{name}"))(e));
            }
        }
    }
    // Gone, or replaced by a new pod of the same name (a StatefulSet's): either way done.
    loop {
        match api.get_opt(&name).await {
            Ok(None) => break,
            Ok(Some(p)) if p.metadata.uid != uid => break,
            Ok(Some(_)) => {}
            Err(e) => return Err(CliError::from_kube("waiting for the eviction")(e)),
        }
        if past(deadline) {
            return Err(CliError::Input(format!(
                "drain did not complete within the timeout: pod {ns}/{name} is still terminating"
            )));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    super::output::print(&format!(
        "pod/{name} {}\n",
        if delete_only { "deleted" } else { "evicted" }
    ))?;
    Ok(())
}
