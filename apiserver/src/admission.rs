//! Admission steps on pod create, before defaulting: priority from the PriorityClass
//! (Kubernetes' Priority plugin) and the default not-ready/unreachable tolerations
//! (DefaultTolerationSeconds plugin).

use serde_json::{Value, json};

use capstan_api_types::registry;

use crate::error::{ApiError, ApiResult};
use crate::rest::{Api, target};

/// Built-in classes Kubernetes always has.
pub const SYSTEM_CLASSES: &[(&str, i64)] = &[
    ("system-cluster-critical", 2_000_000_000),
    ("system-node-critical", 2_000_001_000),
];

/// Resolves `spec.priorityClassName` (or the global default class) into `spec.priority` and
/// `spec.preemptionPolicy`.
pub fn admit_pod(api: &Api, pod: &mut Value) -> ApiResult<()> {
    let Some(classes) = registry::find("scheduling.k8s.io", "v1", "priorityclasses") else {
        return Ok(());
    };
    let class_name = pod
        .pointer("/spec/priorityClassName")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let all: Vec<Value> = api
        .cache
        .resource(classes)
        .map(|c| c.read().objects.values().map(|o| o.value()).collect())
        .unwrap_or_default();
    let found = match &class_name {
        Some(name) => {
            let class = all
                .iter()
                .find(|c| {
                    c.pointer("/metadata/name").and_then(Value::as_str) == Some(name.as_str())
                })
                .cloned()
                .or_else(|| {
                    SYSTEM_CLASSES
                        .iter()
                        .find(|(n, _)| n == name)
                        .map(|(_, v)| json!({"metadata": {"name": name}, "value": v}))
                });
            match class {
                Some(c) => Some(c),
                None => {
                    let pods = registry::find("", "v1", "pods");
                    let name_of_pod = pod
                        .pointer("/metadata/name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string();
                    return Err(match pods {
                        Some(r) => {
                            let q = r.qualified_resource();
                            ApiError::forbidden(
                                &target(r, &q, &name_of_pod),
                                &format!("no PriorityClass with name {name} was found"),
                            )
                        }
                        None => ApiError::bad_request(format!(
                            "no PriorityClass with name {name} was found"
                        )),
                    });
                }
            }
        }
        None => all
            .into_iter()
            .find(|c| c.get("globalDefault") == Some(&Value::Bool(true))),
    };
    let Some(class) = found else { return Ok(()) };
    let value = class.get("value").and_then(Value::as_i64).unwrap_or(0);
    if let Some(given) = pod.pointer("/spec/priority").and_then(Value::as_i64)
        && given != value
    {
        return Err(ApiError::forbidden(
            &target(
                registry::find("", "v1", "pods").unwrap_or(classes),
                "pods",
                pod.pointer("/metadata/name")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
            ),
            &format!(
                "the integer value of priority ({given}) must not be provided in pod spec; priority admission controller computed {value} from the given PriorityClass name"
            ),
        ));
    }
    if let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) {
        spec.insert("priority".into(), json!(value));
        if class_name.is_none() {
            spec.insert(
                "priorityClassName".into(),
                class
                    .pointer("/metadata/name")
                    .cloned()
                    .unwrap_or(Value::Null),
            );
        }
        let policy = class
            .get("preemptionPolicy")
            .cloned()
            .unwrap_or(json!("PreemptLowerPriority"));
        spec.entry("preemptionPolicy").or_insert(policy);
    }
    Ok(())
}

/// How long a pod stays on a node that became not-ready or unreachable, unless it says otherwise.
pub const DEFAULT_TOLERATION_SECONDS: i64 = 300;

/// Adds `node.kubernetes.io/not-ready` and `unreachable` NoExecute tolerations for `seconds`
/// (normally `DEFAULT_TOLERATION_SECONDS`) to pods that do not tolerate those taints already.
pub fn default_tolerations(pod: &mut Value, seconds: i64) {
    let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    let list = spec.entry("tolerations").or_insert_with(|| json!([]));
    let Some(list) = list.as_array_mut() else {
        return;
    };
    for key in [
        "node.kubernetes.io/not-ready",
        "node.kubernetes.io/unreachable",
    ] {
        let tolerated = list.iter().any(|t| {
            let effect = t.get("effect").and_then(Value::as_str).unwrap_or("");
            let t_key = t.get("key").and_then(Value::as_str).unwrap_or("");
            let exists = t.get("operator").and_then(Value::as_str) == Some("Exists");
            (effect.is_empty() || effect == "NoExecute")
                && (t_key == key || (t_key.is_empty() && exists))
        });
        if !tolerated {
            list.push(
                json!({"key": key, "operator": "Exists", "effect": "NoExecute",
                "tolerationSeconds": seconds}),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_tolerations_are_added_once() {
        let mut pod = json!({"spec": {"containers": [], "tolerations": [
            {"key": "node.kubernetes.io/unreachable", "operator": "Exists", "effect": "NoExecute", "tolerationSeconds": 5}]}});
        default_tolerations(&mut pod, DEFAULT_TOLERATION_SECONDS);
        let t = pod["spec"]["tolerations"].as_array().expect("list");
        assert_eq!(t.len(), 2);
        assert_eq!(t[0]["tolerationSeconds"], 5);
        assert_eq!(t[1]["key"], "node.kubernetes.io/not-ready");
        assert_eq!(t[1]["tolerationSeconds"], 300);
        default_tolerations(&mut pod, DEFAULT_TOLERATION_SECONDS);
        assert_eq!(pod["spec"]["tolerations"].as_array().map(Vec::len), Some(2));
    }
}
