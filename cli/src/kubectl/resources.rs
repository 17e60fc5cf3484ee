//! Finding the API resource a person means: `pods`, `pod`, `po`, `deployment.apps`,
//! `Deployment` — from the server's discovery, as kubectl resolves them — and the URL paths
//! of its collections and objects.

use std::time::Duration;

use kube::api::{Api, DynamicObject};
use kube::core::{ApiResource, GroupVersionKind};
use kube::discovery::{ApiCapabilities, Discovery, Scope};
use serde_json::Value;

use super::CliError;

#[derive(Debug, Clone)]
pub struct Resource {
    pub ar: ApiResource,
    pub namespaced: bool,
    pub short_names: Vec<String>,
    /// What the server allows on it (get, list, watch, create, …).
    pub verbs: Vec<String>,
}

impl Resource {
    /// `/api/v1/namespaces/ns/pods` or `/apis/apps/v1/deployments`.
    pub fn collection_path(&self, namespace: Option<&str>) -> String {
        let base = if self.ar.group.is_empty() {
            format!("/api/{}", self.ar.version)
        } else {
            format!("/apis/{}/{}", self.ar.group, self.ar.version)
        };
        match (self.namespaced, namespace) {
            (true, Some(ns)) => format!("{base}/namespaces/{ns}/{}", self.ar.plural),
            _ => format!("{base}/{}", self.ar.plural),
        }
    }

    /// A dynamic client for this resource, namespaced when the resource is.
    pub fn api(
        &self,
        client: &kube::Client,
        namespace: &str,
    ) -> kube::Api<kube::api::DynamicObject> {
        if self.namespaced {
            kube::Api::namespaced_with(client.clone(), namespace, &self.ar)
        } else {
            kube::Api::all_with(client.clone(), &self.ar)
        }
    }

    /// kubectl's `kind.group/name` form (`deployment.apps/web`, `pod/x`).
    pub fn display_name(&self, name: &str) -> String {
        let kind = self.ar.kind.to_lowercase();
        if self.ar.group.is_empty() {
            format!("{kind}/{name}")
        } else {
            format!("{kind}.{}/{name}", self.ar.group)
        }
    }
}

/// Tries at discovery, the first request every command makes, before giving up.
const DISCOVERY_ATTEMPTS: u32 = 3;

pub struct Resources {
    all: Vec<Resource>,
}

impl Resources {
    pub async fn discover(client: &kube::Client) -> Result<Resources, CliError> {
        // A server that is starting or briefly overloaded gets a few chances, with a line on
        // stderr per retry so a person knows why nothing happens yet; API errors are final.
        let mut attempt = 1;
        let discovery = loop {
            match Discovery::new(client.clone()).run().await {
                Ok(d) => break d,
                Err(e) if attempt < DISCOVERY_ATTEMPTS && !matches!(e, kube::Error::Api(_)) => {
                    let pause = Duration::from_millis(500 << attempt);
                    eprintln!(
                        "capstan: the API server did not answer ({e}); retrying in {:.1} s (attempt {}/{DISCOVERY_ATTEMPTS})",
                        pause.as_secs_f64(),
                        attempt + 1
                    );
                    tokio::time::sleep(pause).await;
                    attempt += 1;
                }
                Err(e) => return Err(CliError::from_kube("discovering the API")(e)),
            }
        };
        let mut all = Vec::new();
        for group in discovery.groups() {
            // The preferred version of each group, as kubectl picks.
            for (ar, caps) in group.recommended_resources() {
                all.push(resource(ar, &caps));
            }
        }
        // Core, then apps, then the rest by name: ambiguous short names ("events") resolve
        // the way kubectl resolves them, and the order never depends on hashing.
        all.sort_by_key(|r| {
            (
                !r.ar.group.is_empty(),
                r.ar.group != "apps",
                r.ar.group.clone(),
                r.ar.plural.clone(),
            )
        });
        Ok(Resources { all })
    }

    /// Resolves `pods`, `pod`, `po`, `Pod`, `deployments.apps`, `deploy`.
    pub fn find(&self, what: &str) -> Result<&Resource, CliError> {
        let lower = what.to_lowercase();
        let (name, group) = match lower.split_once('.') {
            Some((n, g)) => (n.to_string(), Some(g.to_string())),
            None => (lower.clone(), None),
        };
        let matches = |r: &&Resource| {
            let names_match = r.ar.plural == name
                || r.ar.kind.to_lowercase() == name
                || r.short_names.contains(&name);
            names_match && group.as_ref().is_none_or(|g| r.ar.group == *g)
        };
        // Core and apps before others when a short name is ambiguous, as kubectl prefers.
        self.all.iter().find(matches).ok_or_else(|| {
            let mut near: Vec<&str> = self
                .all
                .iter()
                .map(|r| r.ar.plural.as_str())
                .filter(|p| p.starts_with(&name.chars().take(2).collect::<String>()))
                .collect();
            near.sort();
            near.dedup();
            CliError::UnknownResource {
                what: what.to_string(),
                near: near.join(", "),
            }
        })
    }

    pub fn find_kind(&self, api_version: &str, kind: &str) -> Result<&Resource, CliError> {
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        self.all
            .iter()
            .find(|r| r.ar.group == group && r.ar.kind == kind && r.ar.version == version)
            .or_else(|| {
                self.all
                    .iter()
                    .find(|r| r.ar.group == group && r.ar.kind == kind)
            })
            .ok_or_else(|| CliError::UnknownResource {
                what: format!("{kind} ({api_version})"),
                near: String::new(),
            })
    }

    /// The resource, name and namespace of an object read from a file (`default_ns` when
    /// it names none).
    pub fn locate(
        &self,
        obj: &Value,
        default_ns: &str,
    ) -> Result<(&Resource, String, String), CliError> {
        let r = self.find_kind(
            obj["apiVersion"].as_str().unwrap_or_default(),
            obj["kind"].as_str().unwrap_or_default(),
        )?;
        let name = obj["metadata"]["name"]
            .as_str()
            .map(str::to_string)
            .ok_or_else(|| CliError::Input(format!("a {} without metadata.name", obj["kind"])))?;
        let ns = obj["metadata"]["namespace"]
            .as_str()
            .unwrap_or(default_ns)
            .to_string();
        Ok((r, name, ns))
    }

    pub fn all(&self) -> &[Resource] {
        &self.all
    }
}

fn resource(ar: ApiResource, caps: &ApiCapabilities) -> Resource {
    let short_names = short_names(&ar.plural);
    Resource {
        namespaced: matches!(caps.scope, Scope::Namespaced),
        short_names,
        verbs: caps.operations.clone(),
        ar,
    }
}

/// kube-rs's discovery does not carry short names; these are Kubernetes' own.
fn short_names(plural: &str) -> Vec<String> {
    let s: &[&str] = match plural {
        "pods" => &["po"],
        "services" => &["svc"],
        "deployments" => &["deploy"],
        "replicasets" => &["rs"],
        "statefulsets" => &["sts"],
        "daemonsets" => &["ds"],
        "namespaces" => &["ns"],
        "nodes" => &["no"],
        "configmaps" => &["cm"],
        "persistentvolumeclaims" => &["pvc"],
        "persistentvolumes" => &["pv"],
        "serviceaccounts" => &["sa"],
        "endpoints" => &["ep"],
        "events" => &["ev"],
        "cronjobs" => &["cj"],
        "networkpolicies" => &["netpol"],
        "poddisruptionbudgets" => &["pdb"],
        "priorityclasses" => &["pc"],
        _ => &[],
    };
    s.iter().map(|x| x.to_string()).collect()
}

/// A dynamic client for a kind known in advance, in `namespace` (or cluster-wide).
pub fn api_of(
    client: &kube::Client,
    namespace: Option<&str>,
    (group, version, kind): (&str, &str, &str),
) -> (Api<DynamicObject>, ApiResource) {
    let ar = ApiResource::from_gvk(&GroupVersionKind::gvk(group, version, kind));
    let api = match namespace {
        Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
        None => Api::all_with(client.clone(), &ar),
    };
    (api, ar)
}

/// Objects as JSON with apiVersion and kind set (list items come without them).
pub fn typed<T: serde::Serialize>(items: &[T], ar: &ApiResource) -> Vec<Value> {
    items
        .iter()
        .filter_map(|o| serde_json::to_value(o).ok())
        .map(|mut v| {
            v["apiVersion"] = Value::String(ar.api_version.clone());
            v["kind"] = Value::String(ar.kind.clone());
            v
        })
        .collect()
}

/// The objects in `items` whose owner references include `uid` (only as controller when
/// `controller_only`).
pub fn owned_by(items: Vec<DynamicObject>, uid: &str, controller_only: bool) -> Vec<DynamicObject> {
    items
        .into_iter()
        .filter(|o| {
            o.metadata
                .owner_references
                .iter()
                .flatten()
                .any(|r| r.uid == uid && (!controller_only || r.controller == Some(true)))
        })
        .collect()
}
