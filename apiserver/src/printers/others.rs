//! Rows for the smaller groups: coordination (Lease), discovery
//! (EndpointSlice), scheduling (PriorityClass) and policy
//! (PodDisruptionBudget).

use serde_json::Value;

use super::{Nanos, age, arr_at, int_at, list_with_more, name, scalar_string, str_at, str_or};

pub(super) fn lease(obj: &Value, now: Nanos) -> Vec<Value> {
    vec![
        name(obj),
        str_at(obj, "/spec/holderIdentity").into(),
        age(obj, now),
    ]
}

/// Empty lists read "<unset>" here, unlike Endpoints which prints nothing.
fn unset_if_empty(list: &[String]) -> String {
    if list.is_empty() {
        "<unset>".into()
    } else {
        list_with_more(list, list.len())
    }
}

pub(super) fn endpoint_slice(obj: &Value, now: Nanos) -> Vec<Value> {
    // A port without a number means "all ports"; its name stands in, or "*".
    let ports: Vec<String> = arr_at(obj, "/ports")
        .iter()
        .map(
            |p| match (int_at(p, "/port"), p.get("name").and_then(Value::as_str)) {
                (Some(port), _) => port.to_string(),
                (None, Some(port_name)) => port_name.to_string(),
                (None, None) => "*".to_string(),
            },
        )
        .collect();
    let addresses: Vec<String> = arr_at(obj, "/endpoints")
        .iter()
        .flat_map(|e| arr_at(e, "/addresses"))
        .map(|a| a.as_str().unwrap_or("").to_string())
        .collect();
    vec![
        name(obj),
        str_at(obj, "/addressType").into(),
        unset_if_empty(&ports).into(),
        unset_if_empty(&addresses).into(),
        age(obj, now),
    ]
}

pub(super) fn priority_class(obj: &Value, now: Nanos) -> Vec<Value> {
    vec![
        name(obj),
        int_at(obj, "/value").unwrap_or(0).into(),
        obj.get("globalDefault")
            .and_then(Value::as_bool)
            .unwrap_or(false)
            .into(),
        age(obj, now),
        str_or(obj, "/preemptionPolicy", "PreemptLowerPriority").into(),
    ]
}

pub(super) fn pod_disruption_budget(obj: &Value, now: Nanos) -> Vec<Value> {
    let bound = |ptr: &str| scalar_string(obj.pointer(ptr)).unwrap_or_else(|| "N/A".into());
    vec![
        name(obj),
        bound("/spec/minAvailable").into(),
        bound("/spec/maxUnavailable").into(),
        int_at(obj, "/status/disruptionsAllowed")
            .unwrap_or(0)
            .into(),
        age(obj, now),
    ]
}
