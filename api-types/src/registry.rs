//! The resource registry: every built-in resource the API server serves, with its wire names,
//! scope, short names, categories and subresources, plus hooks to the typed `k8s-openapi` struct
//! (schema for OpenAPI, typed decode to catch wrong field types).

use std::collections::HashMap;
use std::sync::OnceLock;

use k8s_openapi::api::{
    apps, batch, coordination, core, discovery, events, networking, policy, scheduling,
};
use k8s_openapi::{ClusterResourceScope, NamespaceResourceScope};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::{Serialize, de::DeserializeOwned};

/// A subresource reachable at `<object path>/<name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Subresource {
    pub name: &'static str,
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub verbs: &'static [&'static str],
}

pub const STATUS: Subresource = Subresource {
    name: "status",
    group: "",
    version: "",
    kind: "",
    verbs: &["get", "patch", "update"],
};
pub const SCALE: Subresource = Subresource {
    name: "scale",
    group: "autoscaling",
    version: "v1",
    kind: "Scale",
    verbs: &["get", "patch", "update"],
};
pub const BINDING: Subresource = Subresource {
    name: "binding",
    group: "",
    version: "v1",
    kind: "Binding",
    verbs: &["create"],
};
pub const EVICTION: Subresource = Subresource {
    name: "eviction",
    group: "policy",
    version: "v1",
    kind: "Eviction",
    verbs: &["create"],
};

/// Typed decode: parse into the official struct and serialise back, which rejects wrong field
/// types and drops fields the type does not know (what Kubernetes' decoder does).
pub type NormalizeFn = fn(serde_json::Value) -> Result<serde_json::Value, String>;

/// A served resource. `group` is "" for the core group.
#[derive(Debug, Clone)]
pub struct ResourceInfo {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub list_kind: &'static str,
    pub plural: &'static str,
    pub singular: String,
    pub namespaced: bool,
    pub short_names: &'static [&'static str],
    pub categories: &'static [&'static str],
    pub subresources: Vec<Subresource>,
    /// Schema name in OpenAPI `components.schemas`, e.g. `io.k8s.api.core.v1.Pod`.
    pub schema_name: String,
    pub subschema: fn(&mut SchemaGenerator) -> Schema,
    pub normalize: NormalizeFn,
}

impl ResourceInfo {
    pub fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }

    /// Path prefix of the group-version: `/api/v1` or `/apis/<group>/<version>`.
    pub fn gv_path(&self) -> String {
        if self.group.is_empty() {
            format!("/api/{}", self.version)
        } else {
            format!("/apis/{}/{}", self.group, self.version)
        }
    }

    /// Storage key prefix: `/registry/<group>/<plural>/` (core resources have no group part).
    pub fn key_prefix(&self) -> String {
        if self.group.is_empty() {
            format!("/registry/{}/", self.plural)
        } else {
            format!("/registry/{}/{}/", self.group, self.plural)
        }
    }

    /// Storage key of one object.
    pub fn key(&self, namespace: Option<&str>, name: &str) -> String {
        match namespace {
            Some(ns) if self.namespaced => format!("{}{}/{}", self.key_prefix(), ns, name),
            _ => format!("{}{}", self.key_prefix(), name),
        }
    }

    pub fn subresource(&self, name: &str) -> Option<&Subresource> {
        self.subresources.iter().find(|s| s.name == name)
    }

    pub fn has_status(&self) -> bool {
        self.subresource("status").is_some()
    }

    /// Kind qualified by group as Kubernetes prints it in messages ("Deployment.apps").
    pub fn qualified_kind(&self) -> String {
        if self.group.is_empty() {
            self.kind.to_string()
        } else {
            format!("{}.{}", self.kind, self.group)
        }
    }

    /// Resource qualified by group as Kubernetes prints it in messages ("deployments.apps").
    pub fn qualified_resource(&self) -> String {
        if self.group.is_empty() {
            self.plural.to_string()
        } else {
            format!("{}.{}", self.plural, self.group)
        }
    }
}

/// Whether a k8s-openapi scope marker is namespaced.
pub trait Scope {
    const NAMESPACED: bool;
}
impl Scope for NamespaceResourceScope {
    const NAMESPACED: bool = true;
}
impl Scope for ClusterResourceScope {
    const NAMESPACED: bool = false;
}

fn normalize<T: DeserializeOwned + Serialize>(
    value: serde_json::Value,
) -> Result<serde_json::Value, String> {
    let typed: T = serde_json::from_value(value).map_err(|e| e.to_string())?;
    serde_json::to_value(typed).map_err(|e| e.to_string())
}

fn subschema<T: JsonSchema>(generator: &mut SchemaGenerator) -> Schema {
    generator.subschema_for::<T>()
}

fn entry<T>(
    plural: &'static str,
    short_names: &'static [&'static str],
    categories: &'static [&'static str],
    subresources: &[Subresource],
) -> ResourceInfo
where
    T: k8s_openapi::Resource + JsonSchema + DeserializeOwned + Serialize,
    T::Scope: Scope,
{
    let status_kind_fixups = subresources
        .iter()
        .map(|s| {
            if s.name == "status" {
                Subresource {
                    group: T::GROUP,
                    version: T::VERSION,
                    kind: T::KIND,
                    ..*s
                }
            } else {
                *s
            }
        })
        .collect();
    ResourceInfo {
        group: T::GROUP,
        version: T::VERSION,
        kind: T::KIND,
        list_kind: leak(format!("{}List", T::KIND)),
        plural,
        singular: T::KIND.to_lowercase(),
        namespaced: <T::Scope as Scope>::NAMESPACED,
        short_names,
        categories,
        subresources: status_kind_fixups,
        schema_name: T::schema_name().into_owned(),
        subschema: subschema::<T>,
        normalize: normalize::<T>,
    }
}

/// Registry strings live for the whole process; leaking a few dozen small strings once keeps
/// `ResourceInfo` free of lifetimes.
fn leak(s: String) -> &'static str {
    Box::leak(s.into_boxed_str())
}

const ALL: &[&str] = &["all"];
const NONE: &[&str] = &[];

/// All built-in resources, built once.
pub fn registry() -> &'static [ResourceInfo] {
    static REGISTRY: OnceLock<Vec<ResourceInfo>> = OnceLock::new();
    REGISTRY.get_or_init(|| {
        vec![
            entry::<core::v1::Namespace>("namespaces", &["ns"], NONE, &[STATUS]),
            entry::<core::v1::Node>("nodes", &["no"], NONE, &[STATUS]),
            entry::<core::v1::Pod>("pods", &["po"], ALL, &[STATUS, BINDING, EVICTION]),
            entry::<core::v1::Service>("services", &["svc"], ALL, &[STATUS]),
            entry::<core::v1::Endpoints>("endpoints", &["ep"], NONE, &[]),
            entry::<core::v1::ConfigMap>("configmaps", &["cm"], NONE, &[]),
            entry::<core::v1::Secret>("secrets", NONE, NONE, &[]),
            entry::<core::v1::ServiceAccount>("serviceaccounts", &["sa"], NONE, &[]),
            entry::<core::v1::Event>("events", &["ev"], NONE, &[]),
            entry::<core::v1::PersistentVolume>("persistentvolumes", &["pv"], NONE, &[STATUS]),
            entry::<core::v1::PersistentVolumeClaim>(
                "persistentvolumeclaims",
                &["pvc"],
                NONE,
                &[STATUS],
            ),
            entry::<apps::v1::Deployment>("deployments", &["deploy"], ALL, &[STATUS, SCALE]),
            entry::<apps::v1::ReplicaSet>("replicasets", &["rs"], ALL, &[STATUS, SCALE]),
            entry::<apps::v1::StatefulSet>("statefulsets", &["sts"], ALL, &[STATUS, SCALE]),
            entry::<apps::v1::DaemonSet>("daemonsets", &["ds"], ALL, &[STATUS]),
            entry::<apps::v1::ControllerRevision>("controllerrevisions", NONE, NONE, &[]),
            entry::<batch::v1::Job>("jobs", NONE, ALL, &[STATUS]),
            entry::<batch::v1::CronJob>("cronjobs", &["cj"], ALL, &[STATUS]),
            entry::<coordination::v1::Lease>("leases", NONE, NONE, &[]),
            entry::<discovery::v1::EndpointSlice>("endpointslices", NONE, NONE, &[]),
            entry::<events::v1::Event>("events", &["ev"], NONE, &[]),
            entry::<networking::v1::NetworkPolicy>("networkpolicies", &["netpol"], NONE, &[]),
            entry::<scheduling::v1::PriorityClass>("priorityclasses", &["pc"], NONE, &[]),
            entry::<policy::v1::PodDisruptionBudget>(
                "poddisruptionbudgets",
                &["pdb"],
                NONE,
                &[STATUS],
            ),
        ]
    })
}

type ByName = HashMap<(&'static str, &'static str, &'static str), &'static ResourceInfo>;

/// Lookups by (group, version, plural) and by (group, version, kind); every request does one.
fn indexes() -> &'static (ByName, ByName) {
    static INDEXES: OnceLock<(ByName, ByName)> = OnceLock::new();
    INDEXES.get_or_init(|| {
        let mut by_plural = HashMap::new();
        let mut by_kind = HashMap::new();
        for r in registry() {
            by_plural.entry((r.group, r.version, r.plural)).or_insert(r);
            by_kind.entry((r.group, r.version, r.kind)).or_insert(r);
        }
        (by_plural, by_kind)
    })
}

/// Look a resource up by group, version and plural.
pub fn find(group: &str, version: &str, plural: &str) -> Option<&'static ResourceInfo> {
    indexes().0.get(&(group, version, plural)).copied()
}

/// Look a resource up by apiVersion and kind.
pub fn find_kind(api_version: &str, kind: &str) -> Option<&'static ResourceInfo> {
    let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
    indexes().1.get(&(group, version, kind)).copied()
}

/// Group-versions served, core first, in a stable order.
pub fn group_versions() -> Vec<(&'static str, &'static str)> {
    let mut out: Vec<(&'static str, &'static str)> = Vec::new();
    for r in registry() {
        if !out.contains(&(r.group, r.version)) {
            out.push((r.group, r.version));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pods_are_namespaced_core_resources_with_status() {
        let pods = find("", "v1", "pods").expect("pods registered");
        assert!(pods.namespaced);
        assert_eq!(pods.kind, "Pod");
        assert_eq!(pods.list_kind, "PodList");
        assert!(pods.has_status());
        assert_eq!(
            pods.key(Some("default"), "web"),
            "/registry/pods/default/web"
        );
    }

    #[test]
    fn cluster_scoped_keys_have_no_namespace() {
        let nodes = find("", "v1", "nodes").expect("nodes registered");
        assert!(!nodes.namespaced);
        assert_eq!(nodes.key(Some("x"), "n1"), "/registry/nodes/n1");
        let dep = find("apps", "v1", "deployments").expect("deployments registered");
        assert_eq!(dep.key_prefix(), "/registry/apps/deployments/");
        assert_eq!(dep.subresource("scale").map(|s| s.kind), Some("Scale"));
    }

    #[test]
    fn normalize_rejects_wrong_types_and_drops_unknown_fields() {
        let cm = find("", "v1", "configmaps").expect("configmaps registered");
        let ok = (cm.normalize)(serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"},
            "data": {"k": "v"}, "bogus": 1
        }))
        .expect("valid configmap");
        assert!(ok.get("bogus").is_none());
        let bad = (cm.normalize)(serde_json::json!({
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "a"}, "data": 5
        }));
        assert!(bad.is_err());
    }
}
