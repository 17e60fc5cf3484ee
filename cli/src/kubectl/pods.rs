//! Finding the pod a command should act on: `POD`, `pod/POD`, or a workload
//! (`deploy/web`, `rs/…`, `sts/…`, `ds/…`, `job/…`, `svc/…`) whose selector picks one, and
//! the container within it, with kubectl's notes on stderr when it had to choose.

use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams};

use super::refs::ObjectRef;
use super::resources::Resources;
use super::{CliError, selector};

/// The pods named by `what`: one for a pod name, the selected ones for a workload, the one
/// single-pod commands use first.
pub async fn resolve(client: &kube::Client, ns: &str, what: &str) -> Result<Vec<Pod>, CliError> {
    let pods: Api<Pod> = Api::namespaced(client.clone(), ns);
    let (kind, name) = match what.split_once('/') {
        Some((k, n)) => (k.to_string(), n.to_string()),
        None => ("pod".to_string(), what.to_string()),
    };
    let r = ObjectRef {
        kind,
        name: Some(name.clone()),
    };
    if matches!(r.kind.as_str(), "pod" | "pods" | "po") {
        let pod = pods
            .get(&name)
            .await
            .map_err(CliError::from_kube(&format!("getting pod/{name}")))?;
        return Ok(vec![pod]);
    }
    let resources = Resources::discover(client).await?;
    let res = resources.find(&r.kind)?;
    let obj = res
        .api(client, ns)
        .get(&name)
        .await
        .map_err(CliError::from_kube(&format!(
            "getting {}",
            res.display_name(&name)
        )))?;
    let sel = &obj.data["spec"]["selector"];
    let query = selector::to_query(sel);
    if query.is_empty() {
        return Err(CliError::Input(format!(
            "{} has no selector to find its pods by",
            res.display_name(&name)
        )));
    }
    let mut list = pods
        .list(&ListParams::default().labels(&query))
        .await
        .map_err(CliError::from_kube("listing pods"))?
        .items;
    if list.is_empty() {
        return Err(CliError::Input(format!(
            "no pods found for {} (selector {query})",
            res.display_name(&name)
        )));
    }
    // kubectl's order for logs: on a node, running, ready, fewer restarts, then the oldest.
    list.sort_by_key(|p| {
        let st = p.status.as_ref();
        let assigned = p.spec.as_ref().and_then(|s| s.node_name.as_ref()).is_some();
        let running = st.and_then(|s| s.phase.as_deref()) == Some("Running");
        let ready = st
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
        let restarts: i32 = st
            .and_then(|s| s.container_statuses.as_ref())
            .map(|cs| cs.iter().map(|c| c.restart_count).sum())
            .unwrap_or(0);
        let created = p.metadata.creation_timestamp.as_ref().map(|t| t.0);
        (!assigned, !running, !ready, restarts, created)
    });
    Ok(list)
}

/// Every container of the pod, init containers first.
pub fn container_names(pod: &Pod) -> Vec<String> {
    pod.spec
        .as_ref()
        .map(|s| {
            s.init_containers
                .iter()
                .flatten()
                .chain(s.containers.iter())
                .map(|c| c.name.clone())
                .collect()
        })
        .unwrap_or_default()
}

/// The container to use: `-c`, else the default-container annotation, else the first
/// (saying so on stderr when the pod has several).
pub fn container(pod: &Pod, wanted: Option<&str>) -> Result<String, CliError> {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let spec = pod.spec.as_ref();
    let names: Vec<String> = spec
        .map(|s| s.containers.iter().map(|c| c.name.clone()).collect())
        .unwrap_or_default();
    let all = container_names(pod);
    if let Some(w) = wanted {
        if all.iter().any(|n| n == w) {
            return Ok(w.to_string());
        }
        return Err(CliError::Input(format!(
            "container {w} is not valid for pod {name}"
        )));
    }
    let annotated = pod
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get("kubectl.kubernetes.io/default-container"))
        .filter(|c| names.contains(c));
    if let Some(c) = annotated {
        return Ok(c.clone());
    }
    let first = names
        .first()
        .cloned()
        .ok_or_else(|| CliError::Input(format!("pod {name} has no containers")))?;
    if names.len() > 1 {
        eprintln!(
            "Defaulted container \"{first}\" out of: {}",
            names.join(", ")
        );
    }
    Ok(first)
}
