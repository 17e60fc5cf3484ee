//! The fleet's shared, mostly immutable state: one `NodeSlot` per node (name, addresses, uid
//! once registered, paused flag) and the lookup from name to index. Every loop reads it; only
//! registration and the handle's pause/resume write to it.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Mutex, OnceLock, PoisonError};

use tokio::sync::mpsc;

use crate::clock;
use crate::config::{HollowConfig, node_name};
use crate::ipam;

pub struct NodeSlot {
    pub index: usize,
    pub name: String,
    pub internal_ip: Ipv4Addr,
    pub pod_cidr_base: Ipv4Addr,
    /// Node uid from registration, for the Lease's owner reference.
    pub uid: OnceLock<String>,
    paused: AtomicBool,
    /// `lastTransitionTime` of the conditions we report; moves when a paused node comes back.
    ready_since: Mutex<String>,
}

impl NodeSlot {
    pub fn paused(&self) -> bool {
        self.paused.load(Ordering::Relaxed)
    }

    pub fn ready_since(&self) -> String {
        self.ready_since
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    fn set_ready_since(&self, t: String) {
        *self
            .ready_since
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = t;
    }
}

pub struct Fleet {
    pub nodes: Vec<NodeSlot>,
    by_name: HashMap<String, usize>,
}

impl Fleet {
    pub fn new(config: &HollowConfig) -> Self {
        let since = clock::time(clock::now());
        let nodes: Vec<NodeSlot> = (0..config.count)
            .map(|i| NodeSlot {
                index: i,
                name: node_name(&config.prefix, i),
                internal_ip: ipam::node_internal_ip(i),
                pod_cidr_base: ipam::pod_cidr_base(i),
                uid: OnceLock::new(),
                paused: AtomicBool::new(false),
                ready_since: Mutex::new(since.clone()),
            })
            .collect();
        let by_name = nodes.iter().map(|n| (n.name.clone(), n.index)).collect();
        Fleet { nodes, by_name }
    }

    pub fn index(&self, name: &str) -> Option<usize> {
        self.by_name.get(name).copied()
    }

    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    pub fn paused(&self, i: usize) -> bool {
        self.nodes.get(i).is_none_or(NodeSlot::paused)
    }

    /// Returns whether the flag changed.
    pub fn set_paused(&self, i: usize, paused: bool) -> bool {
        let Some(node) = self.nodes.get(i) else {
            return false;
        };
        let was = node.paused.swap(paused, Ordering::Relaxed);
        if was && !paused {
            node.set_ready_since(clock::time(clock::now()));
        }
        was != paused
    }
}

/// Channels that make a loop act on one node right away instead of at its next turn: used
/// when a paused node resumes, so its Lease, Ready condition and pods catch up at once.
#[derive(Clone)]
pub struct Kicks {
    pub lease: mpsc::UnboundedSender<usize>,
    pub status: mpsc::UnboundedSender<usize>,
    pub pods: mpsc::UnboundedSender<usize>,
}

impl Kicks {
    pub fn all(&self, i: usize) {
        // A closed channel means that loop has stopped; nothing left to wake.
        let _ = self.lease.send(i);
        let _ = self.status.send(i);
        let _ = self.pods.send(i);
    }
}
