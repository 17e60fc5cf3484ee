//! `capstan top nodes|pods`: usage from the metrics API (metrics.k8s.io) when a metrics
//! server provides it; a clear error otherwise, as kubectl gives.

use k8s_openapi::api::core::v1::Node;
use kube::api::{Api, DynamicObject, ListParams};
use kube::core::{ApiResource, GroupVersionKind};

use capstan_api_types::quantity;

use super::table::align;
use super::{CliError, Target};

#[derive(Debug, Clone, clap::Subcommand)]
pub enum TopCommand {
    /// CPU and memory per node.
    #[command(alias = "node", alias = "no")]
    Nodes,
    /// CPU and memory per pod.
    #[command(alias = "pod", alias = "po")]
    Pods {
        #[arg(short = 'A', long)]
        all_namespaces: bool,
        #[arg(short = 'l', long)]
        selector: Option<String>,
    },
}

/// `250m` for cores in millicores, `128Mi` for bytes, as kubectl prints usage.
pub fn cpu(usage: &str) -> String {
    format!("{}m", quantity::milli(usage).unwrap_or(0))
}

pub fn memory(usage: &str) -> String {
    format!("{}Mi", quantity::units(usage).unwrap_or(0) / (1024 * 1024))
}

fn percent(used: i64, total: i64) -> String {
    if total <= 0 {
        return "<unknown>".into();
    }
    format!("{}%", used * 100 / total)
}

async fn metrics_available(client: &kube::Client) -> bool {
    client
        .list_api_groups()
        .await
        .is_ok_and(|g| g.groups.iter().any(|g| g.name == "metrics.k8s.io"))
}

pub async fn run(target: &Target, cmd: &TopCommand) -> Result<String, CliError> {
    let (client, ns) = target.connect().await?;
    if !metrics_available(&client).await {
        return Err(CliError::Input(
            "Metrics API not available (no metrics.k8s.io server is registered with this cluster)"
                .into(),
        ));
    }
    let gvk = |kind: &str| {
        ApiResource::from_gvk(&GroupVersionKind::gvk("metrics.k8s.io", "v1beta1", kind))
    };
    match cmd {
        TopCommand::Nodes => {
            let ar = gvk("NodeMetrics");
            let api: Api<DynamicObject> = Api::all_with(client.clone(), &ar);
            let metrics = api
                .list(&ListParams::default())
                .await
                .map_err(CliError::from_kube("listing node metrics"))?;
            let nodes: Api<Node> = Api::all(client.clone());
            let nodes = nodes
                .list(&ListParams::default())
                .await
                .map_err(CliError::from_kube("listing nodes"))?;
            let mut rows = vec![
                ["NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)"]
                    .map(String::from)
                    .to_vec(),
            ];
            for m in &metrics.items {
                let name = m.metadata.name.clone().unwrap_or_default();
                let usage = &m.data["usage"];
                let c = usage["cpu"].as_str().unwrap_or("0");
                let mem = usage["memory"].as_str().unwrap_or("0");
                let alloc = nodes
                    .items
                    .iter()
                    .find(|n| n.metadata.name.as_deref() == Some(&name))
                    .and_then(|n| n.status.as_ref())
                    .and_then(|s| s.allocatable.clone())
                    .unwrap_or_default();
                let total_cpu = alloc
                    .get("cpu")
                    .and_then(|q| quantity::milli(&q.0))
                    .unwrap_or(0);
                let total_mem = alloc
                    .get("memory")
                    .and_then(|q| quantity::units(&q.0))
                    .unwrap_or(0);
                rows.push(vec![
                    name,
                    cpu(c),
                    percent(quantity::milli(c).unwrap_or(0), total_cpu),
                    memory(mem),
                    percent(quantity::units(mem).unwrap_or(0), total_mem),
                ]);
            }
            Ok(align(&rows))
        }
        TopCommand::Pods {
            all_namespaces,
            selector,
        } => {
            let ar = gvk("PodMetrics");
            let api: Api<DynamicObject> = if *all_namespaces {
                Api::all_with(client.clone(), &ar)
            } else {
                Api::namespaced_with(client.clone(), &ns, &ar)
            };
            let mut lp = ListParams::default();
            if let Some(s) = selector {
                lp = lp.labels(s);
            }
            let metrics = api
                .list(&lp)
                .await
                .map_err(CliError::from_kube("listing pod metrics"))?;
            let mut header: Vec<String> = Vec::new();
            if *all_namespaces {
                header.push("NAMESPACE".into());
            }
            header.extend(["NAME", "CPU(cores)", "MEMORY(bytes)"].map(String::from));
            let mut rows = vec![header];
            for m in &metrics.items {
                let (mut c, mut mem) = (0i64, 0i64);
                for ct in m.data["containers"].as_array().into_iter().flatten() {
                    c += quantity::milli(ct["usage"]["cpu"].as_str().unwrap_or("0")).unwrap_or(0);
                    mem +=
                        quantity::units(ct["usage"]["memory"].as_str().unwrap_or("0")).unwrap_or(0);
                }
                let mut row = Vec::new();
                if *all_namespaces {
                    row.push(m.metadata.namespace.clone().unwrap_or_default());
                }
                row.push(m.metadata.name.clone().unwrap_or_default());
                row.push(format!("{c}m"));
                row.push(format!("{}Mi", mem / (1024 * 1024)));
                rows.push(row);
            }
            if rows.len() == 1 {
                return Err(CliError::Empty(if *all_namespaces {
                    "No resources found".into()
                } else {
                    format!("No resources found in {ns} namespace.")
                }));
            }
            Ok(align(&rows))
        }
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn usage_units() {
        assert_eq!(super::cpu("250m"), "250m");
        assert_eq!(super::cpu("1"), "1000m");
        assert_eq!(super::memory("128Mi"), "128Mi");
        assert_eq!(super::memory("1Gi"), "1024Mi");
        assert_eq!(super::percent(50, 200), "25%");
    }
}
