//! PodTopologySpread: `DoNotSchedule` constraints filter, `ScheduleAnyway` ones score. Matching
//! pods are counted per topology domain once per scheduling cycle.

use std::collections::{BTreeMap, HashMap};

use k8s_openapi::api::core::v1::TopologySpreadConstraint;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};

use super::node_affinity::required_matches;
use super::selector::{InvalidSelector, matches};
use crate::model::{NodeInfo, PodInfo};

struct Constraint {
    key: String,
    max_skew: i64,
    hard: bool,
    counts: HashMap<String, i64>,
    min: i64,
    self_match: i64,
}

#[derive(Default)]
pub struct State {
    constraints: Vec<Constraint>,
}

impl State {
    pub fn has_soft(&self) -> bool {
        self.constraints.iter().any(|c| !c.hard)
    }
}

/// The selector with `matchLabelKeys` folded in (the incoming pod's values for those keys).
fn effective_selector(
    c: &TopologySpreadConstraint,
    labels: Option<&BTreeMap<String, String>>,
) -> Option<LabelSelector> {
    let mut sel = c.label_selector.clone()?;
    for key in c.match_label_keys.iter().flatten() {
        if let Some(v) = labels.and_then(|l| l.get(key)) {
            sel.match_expressions
                .get_or_insert_with(Vec::new)
                .push(LabelSelectorRequirement {
                    key: key.clone(),
                    operator: "In".into(),
                    values: Some(vec![v.clone()]),
                });
        }
    }
    Some(sel)
}

pub fn prepare(pod: &PodInfo, nodes: &HashMap<String, NodeInfo>) -> Result<State, InvalidSelector> {
    let Some(list) = pod
        .pod
        .spec
        .as_ref()
        .and_then(|s| s.topology_spread_constraints.as_ref())
    else {
        return Ok(State::default());
    };
    let mut constraints = Vec::new();
    for c in list {
        let selector = effective_selector(c, pod.labels());
        let honor_affinity = c.node_affinity_policy.as_deref() != Some("Ignore");
        let honor_taints = c.node_taints_policy.as_deref() == Some("Honor");
        let mut counts: HashMap<String, i64> = HashMap::new();
        for node in nodes.values() {
            let Some(value) = node.label(&c.topology_key) else {
                continue;
            };
            if honor_affinity && !required_matches(pod, node)? {
                continue;
            }
            if honor_taints && super::taints::untolerated(pod, node).is_some() {
                continue;
            }
            let entry = counts.entry(value.to_string()).or_default();
            for existing in node.pods.values() {
                if existing.namespace == pod.namespace
                    && existing.uid != pod.uid
                    && existing.pod.metadata.deletion_timestamp.is_none()
                    && matches(selector.as_ref(), existing.labels())?
                {
                    *entry += 1;
                }
            }
        }
        let domains = counts.len() as i32;
        let mut min = counts.values().copied().min().unwrap_or(0);
        if c.min_domains.is_some_and(|m| domains < m) {
            min = 0;
        }
        constraints.push(Constraint {
            key: c.topology_key.clone(),
            max_skew: c.max_skew as i64,
            hard: c.when_unsatisfiable == "DoNotSchedule",
            self_match: i64::from(matches(selector.as_ref(), pod.labels())?),
            counts,
            min,
        });
    }
    Ok(State { constraints })
}

pub fn filter(state: &State, node: &NodeInfo) -> Option<&'static str> {
    for c in state.constraints.iter().filter(|c| c.hard) {
        let Some(value) = node.label(&c.key) else {
            return Some(
                "node(s) didn't match pod topology spread constraints (missing required label)",
            );
        };
        let count = c.counts.get(value).copied().unwrap_or(0);
        if count + c.self_match - c.min > c.max_skew {
            return Some("node(s) didn't match pod topology spread constraints");
        }
    }
    None
}

/// Raw score: matching pods already in the node's domains (fewer is better).
pub fn raw_score(state: &State, node: &NodeInfo) -> Option<i64> {
    let mut sum = 0;
    for c in state.constraints.iter().filter(|c| !c.hard) {
        sum += c.counts.get(node.label(&c.key)?).copied().unwrap_or(0);
    }
    Some(sum)
}
