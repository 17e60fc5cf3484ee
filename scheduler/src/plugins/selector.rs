//! Label selector matching for `metav1.LabelSelector` and node selector requirements.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::NodeSelectorRequirement;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;

/// A selector that failed to parse (bad operator); pods using it are unschedulable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid label selector: {0}")]
pub struct InvalidSelector(pub String);

/// Does `labels` satisfy `selector`? A missing selector matches nothing, an empty one everything
/// (Kubernetes' rule for affinity terms and spread constraints).
pub fn matches(
    selector: Option<&LabelSelector>,
    labels: Option<&BTreeMap<String, String>>,
) -> Result<bool, InvalidSelector> {
    let Some(sel) = selector else {
        return Ok(false);
    };
    let get = |k: &str| labels.and_then(|l| l.get(k)).map(String::as_str);
    for (k, v) in sel.match_labels.iter().flatten() {
        if get(k) != Some(v.as_str()) {
            return Ok(false);
        }
    }
    for e in sel.match_expressions.iter().flatten() {
        let values = e.values.as_deref().unwrap_or_default();
        let value = get(&e.key);
        let ok = match e.operator.as_str() {
            "In" => value.is_some_and(|v| values.iter().any(|x| x == v)),
            "NotIn" => value.is_none_or(|v| !values.iter().any(|x| x == v)),
            "Exists" => value.is_some(),
            "DoesNotExist" => value.is_none(),
            other => {
                return Err(InvalidSelector(format!(
                    "{other:?} is not a valid label selector operator"
                )));
            }
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Whether `matches` can never fail for this selector (every operator is known), so matching
/// it incrementally cannot hide an error a full scan would report.
pub fn is_valid(selector: Option<&LabelSelector>) -> bool {
    selector.is_none_or(|sel| {
        sel.match_expressions.iter().flatten().all(|e| {
            matches!(
                e.operator.as_str(),
                "In" | "NotIn" | "Exists" | "DoesNotExist"
            )
        })
    })
}

/// One node selector requirement against a node's labels (or its name, for matchFields).
pub fn requirement_matches(
    req: &NodeSelectorRequirement,
    value: Option<&str>,
) -> Result<bool, InvalidSelector> {
    let values = req.values.as_deref().unwrap_or_default();
    let number = |v: &str| v.parse::<i64>().ok();
    Ok(match req.operator.as_str() {
        "In" => value.is_some_and(|v| values.iter().any(|x| x == v)),
        "NotIn" => value.is_none_or(|v| !values.iter().any(|x| x == v)),
        "Exists" => value.is_some(),
        "DoesNotExist" => value.is_none(),
        "Gt" | "Lt" => {
            let bound = values.first().and_then(|b| number(b)).ok_or_else(|| {
                InvalidSelector(format!("{} needs one integer value", req.operator))
            })?;
            match value.and_then(number) {
                Some(v) if req.operator == "Gt" => v > bound,
                Some(v) => v < bound,
                None => false,
            }
        }
        other => {
            return Err(InvalidSelector(format!(
                "{other:?} is not a valid node selector operator"
            )));
        }
    })
}
