//! One scheduling cycle: filter nodes (stopping once enough feasible nodes are found, as
//! `percentageOfNodesToScore` does), score the feasible ones with kube-scheduler's default
//! weights, and pick the best (ties at random). When nothing fits, the per-node reasons become
//! the familiar "0/3 nodes are available: …" message.

use std::collections::BTreeMap;

use rand::Rng;

use crate::cache::Cache;
use crate::model::{NodeInfo, PodInfo};
use crate::plugins::{images, interpod, node_affinity, ports, resources, spread, taints};

/// Why a pod fits on no node: reason → number of nodes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FitError {
    pub nodes: usize,
    pub reasons: BTreeMap<String, usize>,
    /// Appended after the node reasons (preemption outcome).
    pub postscript: Option<String>,
}

impl FitError {
    pub fn message(&self) -> String {
        if self.nodes == 0 && self.reasons.is_empty() {
            return "0/0 nodes are available: no nodes available to schedule pods.".into();
        }
        let parts: Vec<String> = self
            .reasons
            .iter()
            .map(|(r, n)| format!("{n} {r}"))
            .collect();
        let mut msg = format!(
            "0/{} nodes are available: {}.",
            self.nodes,
            parts.join(", ")
        );
        if let Some(p) = &self.postscript {
            msg.push(' ');
            msg.push_str(p);
        }
        msg
    }

    fn invalid(nodes: usize, why: String) -> Self {
        let mut reasons = BTreeMap::new();
        reasons.insert(why, nodes.max(1));
        FitError {
            nodes,
            reasons,
            postscript: None,
        }
    }
}

/// Per-cycle precomputations shared by every node check.
pub struct CycleState {
    pub interpod: interpod::State,
    pub spread: spread::State,
    /// Node constraints of the pod's bound volumes.
    pub volumes: Vec<crate::plugins::volumes::Placement>,
}

/// Per-cycle state, from the cache's incremental counts when they can answer, else by scanning
/// the placed pods (the pod itself already placed, namespace selectors, spread domains narrowed
/// by node affinity or taints).
pub fn prepare(cache: &mut Cache, pod: &PodInfo) -> Result<CycleState, FitError> {
    let n = cache.nodes.len();
    let self_placed = cache.placed(&pod.key).is_some();
    let interpod = match interpod::matchers(pod).filter(|_| !self_placed) {
        Some(m) if cache.ensure_index(&m) => {
            interpod::prepare_indexed(pod, &cache.index, cache.preferred_pods(), &cache.ns_labels)
        }
        _ => None,
    }
    .unwrap_or_else(|| {
        interpod::prepare(pod, &cache.nodes, cache.affinity_pods(), &cache.ns_labels)
    })
    .map_err(|e| FitError::invalid(n, format!("pod affinity is invalid: {e}")))?;
    let defaults;
    let (list, system_defaulted) = match spread::own(pod) {
        [] => {
            defaults = cache.spread_defaults.constraints(pod);
            (defaults.as_slice(), true)
        }
        own => (own, false),
    };
    let mut spread = match spread::matchers(pod, list).filter(|_| !self_placed) {
        Some(m) if cache.ensure_index(&m) => spread::prepare_indexed(pod, list, &cache.index),
        _ => None,
    }
    .unwrap_or_else(|| spread::prepare(pod, list, &cache.nodes))
    .map_err(|e| FitError::invalid(n, format!("topology spread constraint is invalid: {e}")))?;
    spread.system_defaulted = system_defaulted;
    let volumes = cache.volumes.for_pod(pod);
    Ok(CycleState {
        interpod,
        spread,
        volumes,
    })
}

/// Runs the filters in kube-scheduler's order; returns the failure reasons (empty = fits).
pub fn filter(pod: &PodInfo, node: &NodeInfo, state: &CycleState) -> Vec<String> {
    let unschedulable = node
        .node
        .spec
        .as_ref()
        .and_then(|s| s.unschedulable)
        .unwrap_or(false);
    if unschedulable {
        let tolerated = pod
            .pod
            .spec
            .as_ref()
            .and_then(|s| s.tolerations.as_ref())
            .is_some_and(|ts| {
                ts.iter().any(|t| {
                    taints::tolerates(
                        t,
                        &k8s_openapi::api::core::v1::Taint {
                            key: "node.kubernetes.io/unschedulable".into(),
                            effect: "NoSchedule".into(),
                            ..Default::default()
                        },
                    )
                })
            });
        if !tolerated {
            return vec!["node(s) were unschedulable".into()];
        }
    }
    if !node_affinity::node_name_matches(pod, node) {
        return vec!["node(s) didn't match the requested node name".into()];
    }
    if let Some(reason) = taints::untolerated(pod, node) {
        return vec![reason];
    }
    match node_affinity::required_matches(pod, node) {
        Ok(true) => {}
        Ok(false) => return vec!["node(s) didn't match Pod's node affinity/selector".into()],
        Err(e) => return vec![format!("node affinity is invalid: {e}")],
    }
    if let Some(reason) = crate::plugins::volumes::filter(&state.volumes, node) {
        return vec![reason.into()];
    }
    if ports::conflicts(pod, node) {
        return vec!["node(s) didn't have free ports for the requested pod ports".into()];
    }
    let fit = resources::fit(pod, node);
    if !fit.is_empty() {
        return fit;
    }
    if let Some(reason) = spread::filter(&state.spread, node) {
        return vec![reason.into()];
    }
    if let Some(reason) = interpod::filter(&state.interpod, node) {
        return vec![reason.into()];
    }
    Vec::new()
}

/// How many feasible nodes are enough (kube-scheduler's adaptive percentage).
pub fn feasible_target(nodes: usize) -> usize {
    if nodes < 100 {
        return nodes;
    }
    let pct = (50 - nodes as i64 / 125).max(5) as usize;
    (nodes * pct / 100).max(100)
}

/// Default score plugin weights (kube-scheduler v1.33).
const W_TAINT: i64 = 3;
const W_NODE_AFFINITY: i64 = 2;
const W_SPREAD: i64 = 2;
const W_INTERPOD: i64 = 2;
const W_LEAST: i64 = 1;
const W_BALANCED: i64 = 1;
const W_IMAGE: i64 = 1;

fn normalize_max(raw: &[i64], reverse: bool) -> Vec<i64> {
    let max = raw.iter().copied().max().unwrap_or(0);
    raw.iter()
        .map(|r| {
            if max == 0 {
                if reverse { 100 } else { 0 }
            } else if reverse {
                100 - 100 * r / max
            } else {
                100 * r / max
            }
        })
        .collect()
}

fn normalize_min_max(raw: &[i64], reverse: bool) -> Vec<i64> {
    let min = raw.iter().copied().min().unwrap_or(0);
    let max = raw.iter().copied().max().unwrap_or(0);
    raw.iter()
        .map(|r| {
            if max == min {
                if reverse { 100 } else { 0 }
            } else if reverse {
                100 * (max - r) / (max - min)
            } else {
                100 * (r - min) / (max - min)
            }
        })
        .collect()
}

pub fn score(cache: &Cache, pod: &PodInfo, feasible: &[&NodeInfo], state: &CycleState) -> Vec<i64> {
    let n = feasible.len();
    let mut total = vec![0i64; n];
    let mut add = |scores: Vec<i64>, w: i64| {
        for (t, s) in total.iter_mut().zip(scores) {
            *t += s * w;
        }
    };
    let taint_raw: Vec<i64> = feasible
        .iter()
        .map(|nd| taints::prefer_no_schedule_count(pod, nd))
        .collect();
    add(normalize_max(&taint_raw, true), W_TAINT);
    let aff_raw: Vec<i64> = feasible
        .iter()
        .map(|nd| node_affinity::preferred_score(pod, nd))
        .collect();
    add(normalize_max(&aff_raw, false), W_NODE_AFFINITY);
    if state.spread.has_soft() {
        add(spread::scores(&state.spread, feasible), W_SPREAD);
    } else {
        add(vec![100; n], W_SPREAD);
    }
    if state.interpod.has_preferred {
        let raw: Vec<i64> = feasible
            .iter()
            .map(|nd| interpod::score(&state.interpod, nd))
            .collect();
        add(normalize_min_max(&raw, false), W_INTERPOD);
    }
    add(
        feasible
            .iter()
            .map(|nd| resources::least_allocated(pod, nd))
            .collect(),
        W_LEAST,
    );
    // Skipped for best-effort pods as kube-scheduler does since 1.33: their zero requests
    // leave every node's balance as it is, so the score would only favour already-balanced
    // (often already-crowded) nodes.
    if pod.requests.cpu > 0 || pod.requests.memory > 0 {
        add(
            feasible
                .iter()
                .map(|nd| resources::balanced_allocation(pod, nd))
                .collect(),
            W_BALANCED,
        );
    }
    // No node reports images (hollow nodes, fresh clusters): the plugin adds nothing.
    if cache.image_spread("").is_some() {
        let lookup = |img: &str| cache.image_spread(img).unwrap_or(0.0);
        add(
            feasible
                .iter()
                .map(|nd| images::score(pod, nd, &lookup))
                .collect(),
            W_IMAGE,
        );
    }
    total
}

/// Picks a node for the pod, or says why none fits.
pub fn schedule(cache: &mut Cache, pod: &PodInfo) -> Result<String, FitError> {
    let n = cache.nodes.len();
    if n == 0 {
        return Err(FitError::default());
    }
    let state = prepare(cache, pod)?;
    let target = feasible_target(n);
    let start = cache.next_start % n;
    let mut feasible: Vec<&NodeInfo> = Vec::with_capacity(target.min(n));
    let mut reasons: BTreeMap<String, usize> = BTreeMap::new();
    let mut processed = 0;
    for i in 0..n {
        processed += 1;
        let Some((_, node)) = cache.nodes.get_index((start + i) % n) else {
            continue;
        };
        let why = filter(pod, node, &state);
        if why.is_empty() {
            feasible.push(node);
            if feasible.len() >= target {
                break;
            }
        } else {
            for r in why {
                *reasons.entry(r).or_default() += 1;
            }
        }
    }
    if feasible.is_empty() {
        return Err(FitError {
            nodes: n,
            reasons,
            postscript: None,
        });
    }
    let scores = score(cache, pod, &feasible, &state);
    let best = scores.iter().copied().max().unwrap_or(0);
    let mut rng = rand::rng();
    let mut chosen = None;
    let mut ties = 0;
    for (node, s) in feasible.iter().zip(&scores) {
        if *s == best {
            ties += 1;
            if rng.random_range(0..ties) == 0 {
                chosen = Some(node.name.clone());
            }
        }
    }
    let chosen = chosen.ok_or(FitError {
        nodes: n,
        reasons,
        postscript: None,
    })?;
    cache.next_start = (start + processed) % n;
    Ok(chosen)
}
