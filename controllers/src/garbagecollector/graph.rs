//! The ownership graph: every object the collector watches, by uid, with its owner references,
//! and the reverse index from an owner's uid to its dependents. Applying a watch change yields
//! the work that change makes necessary.
//!
//! Pure bookkeeping; must never call the API.

use std::collections::{HashMap, HashSet};

use k8s_openapi::apimachinery::pkg::apis::meta::v1::OwnerReference;
use kube::api::DynamicObject;

use crate::runtime::informer::Change;

pub const FOREGROUND: &str = "foregroundDeletion";
pub const ORPHAN: &str = "orphan";

#[derive(Debug, Clone)]
pub struct Node {
    /// Index into the collector's resource list.
    pub resource: usize,
    pub namespace: Option<String>,
    pub name: String,
    pub uid: String,
    pub resource_version: Option<String>,
    pub owners: Vec<OwnerReference>,
    pub deleting: bool,
    pub finalizers: Vec<String>,
}

impl Node {
    pub fn has_finalizer(&self, f: &str) -> bool {
        self.finalizers.iter().any(|x| x == f)
    }
    /// Being deleted in the foreground: waiting for its blocking dependents to go first.
    pub fn waiting_for_dependents(&self) -> bool {
        self.deleting && self.has_finalizer(FOREGROUND)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Work {
    /// Decide whether this object must go because its owners are gone or being deleted in
    /// the foreground; for a foreground-deleting object, whether its dependents are gone.
    Attempt(String),
    /// Strip this owner's references from its dependents, then drop its `orphan` finalizer.
    Orphan(String),
}

#[derive(Default)]
pub struct Graph {
    pub nodes: HashMap<String, Node>,
    dependents: HashMap<String, HashSet<String>>,
}

impl Graph {
    pub fn dependents(&self, owner: &str) -> Vec<&Node> {
        self.dependents
            .get(owner)
            .into_iter()
            .flatten()
            .filter_map(|d| self.nodes.get(d))
            .filter(|n| n.owners.iter().any(|o| o.uid == owner))
            .collect()
    }

    pub fn apply(&mut self, resource: usize, change: Change<DynamicObject>) -> Vec<Work> {
        let mut work = Vec::new();
        let deleted = matches!(change, Change::Deleted(_));
        let obj = change.into_object();
        let Some(uid) = obj.metadata.uid.clone() else {
            return work;
        };
        let node = Node {
            resource,
            namespace: obj.metadata.namespace.clone(),
            name: obj.metadata.name.clone().unwrap_or_default(),
            uid: uid.clone(),
            resource_version: obj.metadata.resource_version.clone(),
            owners: obj.metadata.owner_references.clone().unwrap_or_default(),
            deleting: obj.metadata.deletion_timestamp.is_some(),
            finalizers: obj.metadata.finalizers.clone().unwrap_or_default(),
        };
        let old = if deleted {
            self.nodes.remove(&uid)
        } else {
            self.nodes.insert(uid.clone(), node.clone())
        };
        for o in old.iter().flat_map(|o| &o.owners) {
            if let Some(set) = self.dependents.get_mut(&o.uid) {
                set.remove(&uid);
                if set.is_empty() {
                    self.dependents.remove(&o.uid);
                }
            }
        }
        // Owners waiting on this object re-check whether it still blocks them.
        let mut owners: Vec<&OwnerReference> = old.iter().flat_map(|o| &o.owners).collect();
        if deleted {
            for d in self.dependents.get(&uid).into_iter().flatten() {
                work.push(Work::Attempt(d.clone()));
            }
        } else {
            for o in &node.owners {
                self.dependents
                    .entry(o.uid.clone())
                    .or_default()
                    .insert(uid.clone());
            }
            owners.extend(&node.owners);
            if node.waiting_for_dependents() {
                work.push(Work::Attempt(uid.clone()));
                for d in self.dependents.get(&uid).into_iter().flatten() {
                    work.push(Work::Attempt(d.clone()));
                }
            }
            if node.deleting && node.has_finalizer(ORPHAN) {
                work.push(Work::Orphan(uid.clone()));
            }
            // An owner we have never seen may be gone: look.
            if node.owners.iter().any(|o| {
                self.nodes
                    .get(&o.uid)
                    .is_none_or(Node::waiting_for_dependents)
            }) {
                work.push(Work::Attempt(uid.clone()));
            }
        }
        for o in owners {
            if self
                .nodes
                .get(&o.uid)
                .is_some_and(Node::waiting_for_dependents)
            {
                work.push(Work::Attempt(o.uid.clone()));
            }
        }
        work
    }
}
