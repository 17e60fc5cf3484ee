//! `apply --prune -l SEL`: after applying, delete the objects this field manager applied
//! before that match the selector but are no longer in the files — in the namespaces the
//! files touched, for kubectl's default set of kinds.

use std::collections::HashSet;

use kube::api::{DeleteParams, DynamicObject, ListParams};

use super::CliError;
use super::resources::{Resource, Resources};

/// kubectl's default prune allowlist (group, kind).
const KINDS: &[(&str, &str)] = &[
    ("", "ConfigMap"),
    ("", "Endpoints"),
    ("", "Namespace"),
    ("", "PersistentVolumeClaim"),
    ("", "PersistentVolume"),
    ("", "Pod"),
    ("", "ReplicationController"),
    ("", "Secret"),
    ("", "Service"),
    ("batch", "Job"),
    ("batch", "CronJob"),
    ("networking.k8s.io", "Ingress"),
    ("apps", "DaemonSet"),
    ("apps", "Deployment"),
    ("apps", "ReplicaSet"),
    ("apps", "StatefulSet"),
];

/// What an apply run wrote: (group, kind, namespace or "", name).
pub type Applied = HashSet<(String, String, String, String)>;

/// Whether `manager` last applied this object (server-side apply leaves an `Apply` entry).
fn applied_by(o: &DynamicObject, manager: &str) -> bool {
    o.metadata
        .managed_fields
        .iter()
        .flatten()
        .any(|m| m.manager.as_deref() == Some(manager) && m.operation.as_deref() == Some("Apply"))
}

pub async fn prune(
    client: &kube::Client,
    resources: &Resources,
    applied: &Applied,
    namespaces: &HashSet<String>,
    selector: &str,
    manager: &str,
) -> Result<String, CliError> {
    let mut out = String::new();
    let kinds: Vec<&Resource> = KINDS
        .iter()
        .filter_map(|(g, k)| {
            resources
                .all()
                .iter()
                .find(|r| r.ar.group == *g && r.ar.kind == *k)
        })
        .collect();
    for r in kinds {
        let scopes: Vec<&str> = if r.namespaced {
            namespaces.iter().map(String::as_str).collect()
        } else {
            vec![""]
        };
        for ns in scopes {
            let api = r.api(client, ns);
            let list = api
                .list(&ListParams::default().labels(selector))
                .await
                .map_err(CliError::from_kube(&format!(
                    "listing {} to prune",
                    r.ar.plural
                )))?;
            for o in list.items {
                let name = o.metadata.name.clone().unwrap_or_default();
                let id = (
                    r.ar.group.clone(),
                    r.ar.kind.clone(),
                    if r.namespaced {
                        ns.to_string()
                    } else {
                        String::new()
                    },
                    name.clone(),
                );
                if applied.contains(&id) || !applied_by(&o, manager) {
                    continue;
                }
                match api.delete(&name, &DeleteParams::background()).await {
                    Ok(_) => out.push_str(&format!("{} pruned\n", r.display_name(&name))),
                    // Gone already: what prune wanted.
                    Err(kube::Error::Api(s)) if s.code == 404 => {}
                    Err(e) => {
                        return Err(CliError::from_kube(&format!(
                            "pruning {}",
                            r.display_name(&name)
                        ))(e));
                    }
                }
            }
        }
    }
    Ok(out)
}
