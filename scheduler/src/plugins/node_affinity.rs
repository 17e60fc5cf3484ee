//! NodeName, NodeSelector and NodeAffinity (required terms filter; preferred terms score).

use k8s_openapi::api::core::v1::NodeSelectorTerm;

use super::selector::{InvalidSelector, requirement_matches};
use crate::model::{NodeInfo, PodInfo};

pub(crate) fn term_matches(
    term: &NodeSelectorTerm,
    node: &NodeInfo,
) -> Result<bool, InvalidSelector> {
    let exprs = term.match_expressions.as_deref().unwrap_or_default();
    let fields = term.match_fields.as_deref().unwrap_or_default();
    if exprs.is_empty() && fields.is_empty() {
        // An empty term matches no objects.
        return Ok(false);
    }
    for req in exprs {
        if !requirement_matches(req, node.label(&req.key))? {
            return Ok(false);
        }
    }
    for req in fields {
        let value = (req.key == "metadata.name").then_some(node.name.as_str());
        if !requirement_matches(req, value)? {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Does the node satisfy the pod's nodeSelector and required node affinity?
pub fn required_matches(pod: &PodInfo, node: &NodeInfo) -> Result<bool, InvalidSelector> {
    let Some(spec) = &pod.pod.spec else {
        return Ok(true);
    };
    for (k, v) in spec.node_selector.iter().flatten() {
        if node.label(k) != Some(v.as_str()) {
            return Ok(false);
        }
    }
    let required = spec
        .affinity
        .as_ref()
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|na| {
            na.required_during_scheduling_ignored_during_execution
                .as_ref()
        });
    if let Some(sel) = required {
        let mut any = false;
        for term in &sel.node_selector_terms {
            if term_matches(term, node)? {
                any = true;
                break;
            }
        }
        return Ok(any);
    }
    Ok(true)
}

/// Whether the pod has a nodeSelector or required node affinity at all (if not,
/// `required_matches` is true for every node).
pub fn has_required(pod: &PodInfo) -> bool {
    pod.pod.spec.as_ref().is_some_and(|spec| {
        spec.node_selector.as_ref().is_some_and(|s| !s.is_empty())
            || spec
                .affinity
                .as_ref()
                .and_then(|a| a.node_affinity.as_ref())
                .is_some_and(|na| {
                    na.required_during_scheduling_ignored_during_execution
                        .is_some()
                })
    })
}

/// `spec.nodeName` pins a pod to one node.
pub fn node_name_matches(pod: &PodInfo, node: &NodeInfo) -> bool {
    pod.node_name().is_none_or(|n| n == node.name)
}

/// Sum of the weights of preferred terms the node matches.
pub fn preferred_score(pod: &PodInfo, node: &NodeInfo) -> i64 {
    let preferred = pod
        .pod
        .spec
        .as_ref()
        .and_then(|s| s.affinity.as_ref())
        .and_then(|a| a.node_affinity.as_ref())
        .and_then(|na| {
            na.preferred_during_scheduling_ignored_during_execution
                .as_ref()
        });
    preferred
        .into_iter()
        .flatten()
        .filter(|t| term_matches(&t.preference, node).unwrap_or(false))
        .map(|t| t.weight as i64)
        .sum()
}
