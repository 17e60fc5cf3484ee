//! Finding the API resource a person means: `pods`, `pod`, `po`, `deployment.apps`,
//! `Deployment` — from the server's discovery, as kubectl resolves them — and the URL paths
//! of its collections and objects.

use kube::core::ApiResource;
use kube::discovery::{ApiCapabilities, Discovery, Scope};

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

pub struct Resources {
    all: Vec<Resource>,
}

impl Resources {
    pub async fn discover(client: &kube::Client) -> Result<Resources, CliError> {
        let discovery = Discovery::new(client.clone())
            .run()
            .await
            .map_err(CliError::from_kube("discovering the API"))?;
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
                .filter(|p| p.starts_with(&name[..name.len().min(2)]))
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
