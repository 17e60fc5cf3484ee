//! The collector's actions: deleting an object whose owners are gone, finishing a foreground
//! deletion once no dependent blocks it, and orphaning dependents (Kubernetes'
//! attemptToDeleteItem, processDeletingDependentsItem and orphanDependents).
//!
//! Owns: API writes made by the garbage collector. Must never trust the graph alone to say an
//! owner is gone — an owner it has not seen is looked up live first.

use std::collections::HashMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::Client;
use kube::api::{
    Api, DeleteParams, DynamicObject, Patch, PatchParams, Preconditions, PropagationPolicy,
};
use serde_json::json;

use super::Watched;
use super::graph::{FOREGROUND, Graph, Node, ORPHAN, Work};
use crate::error::{Result, api_code};

enum OwnerState {
    /// Exists and is not waiting for its dependents.
    Solid,
    /// Gone, or replaced by a namesake with another uid.
    Dangling,
    /// Being deleted in the foreground.
    Waiting,
}

pub struct Collector {
    client: Client,
    resources: Vec<Watched>,
    by_kind: HashMap<(String, String), usize>,
}

impl Collector {
    pub fn new(client: Client, resources: Vec<Watched>) -> Self {
        let by_kind = resources
            .iter()
            .enumerate()
            .map(|(i, w)| ((w.resource.api_version.clone(), w.resource.kind.clone()), i))
            .collect();
        Collector {
            client,
            resources,
            by_kind,
        }
    }

    fn api(&self, resource: usize, namespace: Option<&str>) -> Option<Api<DynamicObject>> {
        let w = self.resources.get(resource)?;
        Some(match (w.namespaced, namespace) {
            (true, Some(ns)) => Api::namespaced_with(self.client.clone(), ns, &w.resource),
            _ => Api::all_with(self.client.clone(), &w.resource),
        })
    }

    pub async fn process(&self, graph: &Graph, work: &Work) -> Result<Vec<Work>> {
        match work {
            Work::Attempt(uid) => self.attempt_to_delete(graph, uid).await,
            Work::Orphan(uid) => self
                .orphan_dependents(graph, uid)
                .await
                .map(|()| Vec::new()),
        }
    }

    async fn owner_state(
        &self,
        graph: &Graph,
        node: &Node,
        r: &OwnerReference,
    ) -> Result<OwnerState> {
        if let Some(o) = graph.nodes.get(&r.uid) {
            return Ok(if o.waiting_for_dependents() {
                OwnerState::Waiting
            } else {
                OwnerState::Solid
            });
        }
        let Some(&idx) = self.by_kind.get(&(r.api_version.clone(), r.kind.clone())) else {
            // A kind we cannot look up: never delete on a guess.
            tracing::debug!(owner = %r.name, kind = %r.kind, "unknown owner kind; treating as present");
            return Ok(OwnerState::Solid);
        };
        let Some(api) = self.api(idx, node.namespace.as_deref()) else {
            return Ok(OwnerState::Solid);
        };
        match api.get(&r.name).await {
            Ok(o) if o.metadata.uid.as_deref() != Some(r.uid.as_str()) => Ok(OwnerState::Dangling),
            Ok(o) => {
                let waiting = o.metadata.deletion_timestamp.is_some()
                    && o.metadata
                        .finalizers
                        .iter()
                        .flatten()
                        .any(|f| f == FOREGROUND);
                Ok(if waiting {
                    OwnerState::Waiting
                } else {
                    OwnerState::Solid
                })
            }
            Err(e) if api_code(&e) == Some(404) => Ok(OwnerState::Dangling),
            Err(e) => Err(e.into()),
        }
    }

    async fn attempt_to_delete(&self, graph: &Graph, uid: &str) -> Result<Vec<Work>> {
        let Some(node) = graph.nodes.get(uid) else {
            return Ok(Vec::new());
        };
        if node.deleting {
            if node.has_finalizer(FOREGROUND) {
                return self.process_deleting_dependents(graph, node).await;
            }
            return Ok(Vec::new());
        }
        if node.owners.is_empty() {
            return Ok(Vec::new());
        }
        let mut solid = 0;
        let mut gone_or_waiting = Vec::new();
        let mut waiting = 0;
        for r in &node.owners {
            match self.owner_state(graph, node, r).await? {
                OwnerState::Solid => solid += 1,
                OwnerState::Dangling => gone_or_waiting.push(r.uid.clone()),
                OwnerState::Waiting => {
                    waiting += 1;
                    gone_or_waiting.push(r.uid.clone());
                }
            }
        }
        if solid > 0 {
            // Another owner keeps it alive; just forget the owners that are going away.
            if !gone_or_waiting.is_empty() {
                let keep: Vec<&OwnerReference> = node
                    .owners
                    .iter()
                    .filter(|o| !gone_or_waiting.contains(&o.uid))
                    .collect();
                self.patch_owners(node, &keep).await?;
            }
            return Ok(Vec::new());
        }
        let has_dependents = !graph.dependents(uid).is_empty();
        let policy = if waiting > 0 && has_dependents {
            // An owner waits in the foreground: this object's own dependents go first too.
            PropagationPolicy::Foreground
        } else if node.has_finalizer(ORPHAN) {
            PropagationPolicy::Orphan
        } else if node.has_finalizer(FOREGROUND) {
            PropagationPolicy::Foreground
        } else {
            PropagationPolicy::Background
        };
        tracing::info!(object = %node.name, namespace = ?node.namespace, ?policy, "deleting object whose owners are gone");
        self.delete(node, policy).await?;
        Ok(Vec::new())
    }

    /// A foreground-deleting owner may go once no dependent with blockOwnerDeletion remains.
    async fn process_deleting_dependents(&self, graph: &Graph, owner: &Node) -> Result<Vec<Work>> {
        let blocking: Vec<&Node> = graph
            .dependents(&owner.uid)
            .into_iter()
            .filter(|d| {
                d.owners
                    .iter()
                    .any(|o| o.uid == owner.uid && o.block_owner_deletion == Some(true))
            })
            .collect();
        if blocking.is_empty() {
            tracing::info!(object = %owner.name, "dependents gone; finishing foreground deletion");
            self.remove_finalizer(owner, FOREGROUND).await?;
            return Ok(Vec::new());
        }
        Ok(blocking
            .into_iter()
            .filter(|d| !d.deleting || d.has_finalizer(FOREGROUND))
            .map(|d| Work::Attempt(d.uid.clone()))
            .collect())
    }

    async fn orphan_dependents(&self, graph: &Graph, uid: &str) -> Result<()> {
        let Some(owner) = graph.nodes.get(uid) else {
            return Ok(());
        };
        if !owner.deleting || !owner.has_finalizer(ORPHAN) {
            return Ok(());
        }
        for d in graph.dependents(uid) {
            let keep: Vec<&OwnerReference> = d.owners.iter().filter(|o| o.uid != uid).collect();
            self.patch_owners(d, &keep).await?;
        }
        tracing::info!(object = %owner.name, "dependents orphaned");
        self.remove_finalizer(owner, ORPHAN).await
    }

    /// Rewrites ownerReferences, compare-and-swap on the resourceVersion we saw.
    async fn patch_owners(&self, node: &Node, keep: &[&OwnerReference]) -> Result<()> {
        let Some(api) = self.api(node.resource, node.namespace.as_deref()) else {
            return Ok(());
        };
        let refs = if keep.is_empty() {
            serde_json::Value::Null
        } else {
            json!(keep)
        };
        let patch = json!({"metadata": {"ownerReferences": refs, "resourceVersion": node.resource_version}});
        match api
            .patch(&node.name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if api_code(&e) == Some(404) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn remove_finalizer(&self, node: &Node, finalizer: &str) -> Result<()> {
        let Some(api) = self.api(node.resource, node.namespace.as_deref()) else {
            return Ok(());
        };
        // Read fresh: other finalizers may have come and gone since the graph saw it.
        let live = match api.get(&node.name).await {
            Ok(o) => o,
            Err(e) if api_code(&e) == Some(404) => return Ok(()),
            Err(e) => return Err(e.into()),
        };
        if live.metadata.uid.as_deref() != Some(node.uid.as_str()) {
            return Ok(());
        }
        let fins: Vec<String> = live
            .metadata
            .finalizers
            .clone()
            .unwrap_or_default()
            .into_iter()
            .filter(|f| f != finalizer)
            .collect();
        if Some(&fins) == live.metadata.finalizers.as_ref() {
            return Ok(());
        }
        let value = if fins.is_empty() {
            serde_json::Value::Null
        } else {
            json!(fins)
        };
        let patch = json!({"metadata": {"finalizers": value, "resourceVersion": live.metadata.resource_version}});
        match api
            .patch(&node.name, &PatchParams::default(), &Patch::Merge(&patch))
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if api_code(&e) == Some(404) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    async fn delete(&self, node: &Node, policy: PropagationPolicy) -> Result<()> {
        let Some(api) = self.api(node.resource, node.namespace.as_deref()) else {
            return Ok(());
        };
        let dp = DeleteParams {
            propagation_policy: Some(policy),
            preconditions: Some(Preconditions {
                uid: Some(node.uid.clone()),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        match api.delete(&node.name, &dp).await {
            Ok(_) => Ok(()),
            // Gone already, or replaced by a namesake we must not touch.
            Err(e) if matches!(api_code(&e), Some(404 | 409)) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }
}
