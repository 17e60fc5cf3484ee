//! PodTopologySpread: `DoNotSchedule` constraints filter, `ScheduleAnyway` ones score. Matching
//! pods are counted per topology domain once per scheduling cycle.

use std::collections::BTreeMap;
use std::sync::Arc;

use k8s_openapi::api::core::v1::TopologySpreadConstraint;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, LabelSelectorRequirement};

use super::node_affinity::{has_required, required_matches};
use super::selector::{InvalidSelector, matches};
use crate::counts::{Counts, MatchIndex, Matcher};
use crate::model::{NodeInfo, Nodes, PodInfo};

struct Constraint {
    key: String,
    max_skew: i64,
    hard: bool,
    /// Matching pods per domain (absent = 0), shared with the cache's index when it answered.
    counts: Arc<Counts>,
    min: i64,
    self_match: i64,
}

#[derive(Default)]
pub struct State {
    constraints: Vec<Constraint>,
    /// The constraints are the system defaults: nodes lacking a topology key are still scored
    /// (on the keys they have) instead of scoring 0, as kube-scheduler does.
    pub system_defaulted: bool,
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

/// The pod's own constraints.
pub fn own(pod: &PodInfo) -> &[TopologySpreadConstraint] {
    pod.pod
        .spec
        .as_ref()
        .and_then(|s| s.topology_spread_constraints.as_deref())
        .unwrap_or_default()
}

/// Whether every node carrying the key is an eligible domain for this constraint: then the
/// domains are the same for every pod and the counts can come from the cache's index.
fn all_nodes_eligible(pod: &PodInfo, c: &TopologySpreadConstraint) -> bool {
    let honor_affinity = c.node_affinity_policy.as_deref() != Some("Ignore");
    let honor_taints = c.node_taints_policy.as_deref() == Some("Honor");
    let narrowed = honor_taints || (honor_affinity && has_required(pod));
    !narrowed
}

fn matcher(pod: &PodInfo, c: &TopologySpreadConstraint) -> Matcher {
    Matcher {
        namespaces: vec![pod.namespace.clone()],
        selector: effective_selector(c, pod.labels()),
        topology_key: c.topology_key.clone(),
        skip_deleting: true,
    }
}

/// What the cache must count for this pod; `None` when some constraint's domains depend on the
/// pod (node affinity or taints honoured), so the cycle scans.
pub fn matchers(pod: &PodInfo, list: &[TopologySpreadConstraint]) -> Option<Vec<Matcher>> {
    list.iter()
        .map(|c| all_nodes_eligible(pod, c).then(|| matcher(pod, c)))
        .collect()
}

/// The same answer as `prepare` from the cache's counts; `None` if the index lacks something.
pub fn prepare_indexed(
    pod: &PodInfo,
    list: &[TopologySpreadConstraint],
    index: &MatchIndex,
) -> Option<Result<State, InvalidSelector>> {
    let mut out = Vec::new();
    for c in list {
        if !all_nodes_eligible(pod, c) {
            return None;
        }
        let m = matcher(pod, c);
        let counts = index.counts(&m.signature()?)?;
        let domains = index.domains(&c.topology_key)?;
        // Counted values are a subset of the domains: fewer means some domain holds none.
        let mut min = if counts.len() < domains {
            0
        } else {
            counts.values().copied().min().unwrap_or(0)
        };
        if c.min_domains
            .is_some_and(|m| (domains as i64) < i64::from(m))
        {
            min = 0;
        }
        let self_match = match matches(m.selector.as_ref(), pod.labels()) {
            Ok(b) => i64::from(b),
            Err(e) => return Some(Err(e)),
        };
        out.push(Constraint {
            key: c.topology_key.clone(),
            max_skew: c.max_skew as i64,
            hard: c.when_unsatisfiable == "DoNotSchedule",
            self_match,
            counts,
            min,
        });
    }
    Some(Ok(State {
        constraints: out,
        system_defaulted: false,
    }))
}

/// Counts by scanning every node and its pods (the reference the index must equal; also used
/// when the pod's node affinity or tolerations narrow the domains).
pub fn prepare(
    pod: &PodInfo,
    list: &[TopologySpreadConstraint],
    nodes: &Nodes,
) -> Result<State, InvalidSelector> {
    let mut constraints = Vec::new();
    for c in list {
        let selector = effective_selector(c, pod.labels());
        let honor_affinity = c.node_affinity_policy.as_deref() != Some("Ignore");
        let honor_taints = c.node_taints_policy.as_deref() == Some("Honor");
        let mut counts = Counts::default();
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
        // Zero entries only matter for `min`; dropping them makes both paths' maps comparable.
        counts.retain(|_, n| *n != 0);
        constraints.push(Constraint {
            key: c.topology_key.clone(),
            max_skew: c.max_skew as i64,
            hard: c.when_unsatisfiable == "DoNotSchedule",
            self_match: i64::from(matches(selector.as_ref(), pod.labels())?),
            counts: Arc::new(counts),
            min,
        });
    }
    Ok(State {
        constraints,
        system_defaulted: false,
    })
}

/// One constraint as the filter sees it: key, max skew, hard, counts, min, self match.
#[cfg(test)]
pub type Summary = (String, i64, bool, BTreeMap<String, i64>, i64, i64);

#[cfg(test)]
impl State {
    /// Everything `filter` and `raw_score` read, so the index and the scan compare.
    pub fn summary(&self) -> Vec<Summary> {
        self.constraints
            .iter()
            .map(|c| {
                let counts = c.counts.iter().map(|(k, v)| (k.clone(), *v)).collect();
                (
                    c.key.clone(),
                    c.max_skew,
                    c.hard,
                    counts,
                    c.min,
                    c.self_match,
                )
            })
            .collect()
    }
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

/// ScheduleAnyway scores of the feasible nodes, weighed as kube-scheduler does: per soft
/// constraint, the matching pods in the node's domain times ln(domains + 2) — domains counted
/// among the scored nodes — plus maxSkew − 1 (so a skew within maxSkew matters little),
/// summed and rounded. Nodes lacking a constraint's key score 0 (with system defaults they
/// are scored on the keys they have); the others are scaled to `100 × (max + min − s) / max`,
/// the least crowded getting the most.
pub fn scores(state: &State, feasible: &[&NodeInfo]) -> Vec<i64> {
    let soft: Vec<&Constraint> = state.constraints.iter().filter(|c| !c.hard).collect();
    let scored: Vec<bool> = feasible
        .iter()
        .map(|n| state.system_defaulted || soft.iter().all(|c| n.label(&c.key).is_some()))
        .collect();
    let weights: Vec<f64> = soft
        .iter()
        .map(|c| {
            let mut domains: Vec<&str> = feasible
                .iter()
                .zip(&scored)
                .filter(|(_, s)| **s)
                .filter_map(|(n, _)| n.label(&c.key))
                .collect();
            domains.sort_unstable();
            domains.dedup();
            ((domains.len() + 2) as f64).ln()
        })
        .collect();
    let raw: Vec<Option<i64>> = feasible
        .iter()
        .zip(&scored)
        .map(|(node, scored)| {
            if !*scored {
                return None;
            }
            let mut sum = 0.0;
            for (c, w) in soft.iter().zip(&weights) {
                if let Some(value) = node.label(&c.key) {
                    let count = c.counts.get(value).copied().unwrap_or(0);
                    sum += count as f64 * w + (c.max_skew - 1) as f64;
                }
            }
            Some(sum.round() as i64)
        })
        .collect();
    let present = raw.iter().flatten();
    let min = present.clone().copied().min().unwrap_or(0);
    let max = present.copied().max().unwrap_or(0);
    raw.iter()
        .map(|r| match r {
            None => 0,
            Some(_) if max == 0 => 100,
            Some(s) => 100 * (max + min - s) / max,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::core::v1::Node;
    use serde_json::json;

    fn node(name: &str, zone: Option<&str>) -> NodeInfo {
        let mut labels = json!({"kubernetes.io/hostname": name});
        if let Some(z) = zone {
            labels["topology.kubernetes.io/zone"] = json!(z);
        }
        let n: Node = serde_json::from_value(json!({"metadata": {"name": name, "labels": labels}}))
            .expect("node");
        NodeInfo::new(Arc::new(n))
    }

    fn soft(key: &str, max_skew: i64, counts: &[(&str, i64)]) -> Constraint {
        Constraint {
            key: key.into(),
            max_skew,
            hard: false,
            counts: Arc::new(counts.iter().map(|(k, v)| (k.to_string(), *v)).collect()),
            min: 0,
            self_match: 1,
        }
    }

    fn soft_zone(counts: &[(&str, i64)], max_skew: i64) -> State {
        State {
            constraints: vec![soft("topology.kubernetes.io/zone", max_skew, counts)],
            system_defaulted: false,
        }
    }

    #[test]
    fn system_defaults_also_score_nodes_missing_a_key() {
        let (a, b, bare) = (
            node("a", Some("za")),
            node("b", Some("zb")),
            node("c", None),
        );
        let mut state = State {
            constraints: vec![
                soft("kubernetes.io/hostname", 3, &[("a", 3)]),
                soft("topology.kubernetes.io/zone", 5, &[("za", 3)]),
            ],
            system_defaulted: true,
        };
        // Hostname: 3 domains, ln 5; zone: 2, ln 4. Raw a 3·1.609 + 2 + 3·1.386 + 4 = 15,
        // b 2 + 4 = 6, c (hostname only) 2; scaled 100·(15 + 2 − s)/15.
        assert_eq!(scores(&state, &[&a, &b, &bare]), vec![13, 73, 100]);
        // A pod's own constraints: the node without a zone scores 0 and is not a domain.
        state.system_defaulted = false;
        assert_eq!(scores(&state, &[&a, &b, &bare]), vec![42, 100, 0]);
    }

    #[test]
    fn scores_weigh_counts_by_domain_count_like_kube_scheduler() {
        let (a, b, bare) = (
            node("a", Some("za")),
            node("b", Some("zb")),
            node("c", None),
        );
        let feasible = [&a, &b, &bare];
        // Two domains: weight ln 4; raw 3·1.386 = 4.16 → 4 and 2·1.386 = 2.77 → 3;
        // scaled 100·(4+3−4)/4 = 75 and 100·(4+3−3)/4 = 100; the unlabelled node 0.
        assert_eq!(
            scores(&soft_zone(&[("za", 3), ("zb", 2)], 1), &feasible),
            vec![75, 100, 0]
        );
        // maxSkew 3 adds 2 to each raw score and waters the difference down: 6 and 5.
        assert_eq!(
            scores(&soft_zone(&[("za", 3), ("zb", 2)], 3), &feasible),
            vec![83, 100, 0]
        );
        // Nobody matches anywhere: every labelled node gets the full score.
        assert_eq!(scores(&soft_zone(&[], 1), &feasible), vec![100, 100, 0]);
    }
}
