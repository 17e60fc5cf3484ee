//! Subresources with their own shapes: `scale` (autoscaling/v1 Scale over a workload's
//! replicas), `pods/binding` (the scheduler's placement) and `pods/eviction` (delete honouring
//! PodDisruptionBudgets).

use std::sync::Arc;

use serde_json::{Value, json};

use capstan_api_types::{ResourceInfo, registry};

use crate::error::{ApiError, ApiResult};
use crate::object;
use crate::rest::{DeleteOptions, Mutation, WriteOptions, WriteResult, target};
use crate::selectors::LabelSelector;
use crate::server::App;

/// The Scale view of a Deployment, ReplicaSet or StatefulSet.
pub fn scale_of(r: &ResourceInfo, obj: &Value) -> ApiResult<Value> {
    let meta = object::meta(obj).cloned().unwrap_or_default();
    let selector = match obj.pointer("/spec/selector") {
        Some(sel) => LabelSelector::from_object(sel)
            .map(|s| s.to_string())
            .map_err(|e| ApiError::internal(e.to_string()))?,
        None => String::new(),
    };
    let mut scale_meta = serde_json::Map::new();
    for f in [
        "name",
        "namespace",
        "uid",
        "resourceVersion",
        "creationTimestamp",
    ] {
        if let Some(v) = meta.get(f) {
            scale_meta.insert(f.into(), v.clone());
        }
    }
    let _ = r;
    Ok(json!({
        "kind": "Scale",
        "apiVersion": "autoscaling/v1",
        "metadata": scale_meta,
        "spec": {"replicas": obj.pointer("/spec/replicas").and_then(Value::as_i64).unwrap_or(0)},
        "status": {
            "replicas": obj.pointer("/status/replicas").and_then(Value::as_i64).unwrap_or(0),
            "selector": selector,
        },
    }))
}

/// Updates `spec.replicas` from a new Scale computed by `change` from the current one.
pub async fn update_scale<F>(
    app: &Arc<App>,
    r: &'static ResourceInfo,
    ns: Option<&str>,
    name: &str,
    opts: WriteOptions,
    change: F,
) -> ApiResult<WriteResult>
where
    F: Fn(&Value) -> ApiResult<Value>,
{
    app.api
        .update_with(r, ns, name, &opts, None, |current| {
            let scale = scale_of(r, current)?;
            let new_scale = change(&scale)?;
            let replicas = match new_scale.pointer("/spec/replicas") {
                None | Some(Value::Null) => 0,
                Some(v) => v.as_i64().ok_or_else(|| {
                    ApiError::bad_request("Scale.spec.replicas must be an integer")
                })?,
            };
            if replicas < 0 {
                let q = r.qualified_resource();
                return Err(ApiError::invalid(
                    "Scale",
                    &target(r, &q, name),
                    format!("Scale.autoscaling \"{name}\" is invalid: spec.replicas: Invalid value: {replicas}: must be greater than or equal to 0"),
                    vec![crate::error::StatusCause {
                        reason: "FieldValueInvalid".into(),
                        message: format!("Invalid value: {replicas}: must be greater than or equal to 0"),
                        field: "spec.replicas".into(),
                    }],
                ));
            }
            let precondition = new_scale
                .pointer("/metadata/resourceVersion")
                .and_then(Value::as_str)
                .filter(|s| !s.is_empty())
                .map(|s| s.parse::<i64>().map_err(|_| ApiError::bad_request("invalid resourceVersion")))
                .transpose()?;
            let mut obj = current.clone();
            obj["spec"]["replicas"] = json!(replicas);
            Ok(Mutation { object: obj, precondition, track_fields: true, warnings: Vec::new() })
        })
        .await
}

/// `POST pods/{name}/binding`: sets `spec.nodeName` once and marks the pod scheduled.
pub async fn bind(
    app: &Arc<App>,
    r: &'static ResourceInfo,
    ns: Option<&str>,
    name: &str,
    body: Value,
    opts: &WriteOptions,
) -> ApiResult<()> {
    let node = body
        .pointer("/target/name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .ok_or_else(|| ApiError::bad_request("Binding.target.name is required"))?
        .to_string();
    if let Some(kind) = body.pointer("/target/kind").and_then(Value::as_str)
        && !kind.is_empty()
        && kind != "Node"
    {
        return Err(ApiError::bad_request(format!(
            "Binding.target.kind must be Node, not {kind}"
        )));
    }
    let q = r.qualified_resource();
    app.api
        .update_with(r, ns, name, opts, Some("binding"), |current| {
            if object::is_terminating(current) {
                return Err(ApiError::conflict(
                    &target(r, &q, name),
                    "pod is being deleted, cannot be assigned to a host",
                ));
            }
            if let Some(existing) = current
                .pointer("/spec/nodeName")
                .and_then(Value::as_str)
                .filter(|n| !n.is_empty())
            {
                return Err(ApiError::conflict(
                    &target(r, &q, name),
                    &format!("pod {name} is already assigned to node \"{existing}\""),
                ));
            }
            let mut pod = current.clone();
            pod["spec"]["nodeName"] = json!(node);
            set_condition(
                &mut pod,
                json!({
                    "type": "PodScheduled", "status": "True",
                    "lastProbeTime": null, "lastTransitionTime": object::now_rfc3339(),
                }),
            );
            // Kubernetes does not attribute a binding to a field manager.
            Ok(Mutation {
                object: pod,
                precondition: None,
                track_fields: false,
                warnings: Vec::new(),
            })
        })
        .await?;
    Ok(())
}

fn set_condition(obj: &mut Value, cond: Value) {
    if !obj.get("status").is_some_and(Value::is_object) {
        obj["status"] = json!({});
    }
    let ty = cond.get("type").cloned();
    let conds = obj["status"]
        .as_object_mut()
        .map(|s| s.entry("conditions").or_insert_with(|| json!([])));
    if let Some(Value::Array(list)) = conds {
        list.retain(|c| c.get("type") != ty.as_ref());
        list.push(cond);
    }
}

/// `POST pods/{name}/eviction`: deletes the pod unless a PodDisruptionBudget forbids it (429).
pub async fn evict(
    app: &Arc<App>,
    r: &'static ResourceInfo,
    ns: Option<&str>,
    name: &str,
    body: Value,
) -> ApiResult<()> {
    let opts = match body.get("deleteOptions") {
        Some(d) if d.is_object() => DeleteOptions::from_body(d)?,
        _ => DeleteOptions::default(),
    };
    let pod = app.api.get(r, ns, name).await?;
    let phase = pod
        .pointer("/status/phase")
        .and_then(Value::as_str)
        .unwrap_or("");
    let terminal = matches!(phase, "Succeeded" | "Failed");
    if !terminal && !object::is_terminating(&pod) {
        check_disruption_budgets(app, ns, &pod).await?;
    }
    app.api.delete(r, ns, name, &opts).await?;
    Ok(())
}

/// Takes one allowed disruption from every budget that covers the pod, or refuses with 429.
async fn check_disruption_budgets(app: &Arc<App>, ns: Option<&str>, pod: &Value) -> ApiResult<()> {
    let Some(pdbs) = registry::find("policy", "v1", "poddisruptionbudgets") else {
        return Ok(());
    };
    let list = app.api.list(pdbs, ns, &Default::default()).await?;
    for raw in list.items {
        let pdb: Value =
            serde_json::from_slice(&raw).map_err(|e| ApiError::internal(e.to_string()))?;
        let Some(sel) = pdb.pointer("/spec/selector") else {
            continue;
        };
        let Ok(selector) = LabelSelector::from_object(sel) else {
            continue;
        };
        if selector.is_empty() || !selector.matches_object(pod) {
            continue;
        }
        let pdb_name = object::name(&pdb).to_string();
        let opts = WriteOptions {
            field_manager: "capstan-apiserver".into(),
            ..WriteOptions::default()
        };
        app.api
            .update_with(pdbs, ns, &pdb_name, &opts, Some("status"), |current| {
                let generation = current.pointer("/metadata/generation").and_then(Value::as_i64).unwrap_or(0);
                let observed = current.pointer("/status/observedGeneration").and_then(Value::as_i64).unwrap_or(0);
                let allowed = current.pointer("/status/disruptionsAllowed").and_then(Value::as_i64).unwrap_or(0);
                if observed < generation || allowed <= 0 {
                    return Err(ApiError::too_many_requests(
                        format!("Cannot evict pod as it would violate the pod's disruption budget. The disruption budget {pdb_name} needs {} healthy pods and has {} currently",
                            current.pointer("/status/desiredHealthy").and_then(Value::as_i64).unwrap_or(0),
                            current.pointer("/status/currentHealthy").and_then(Value::as_i64).unwrap_or(0)),
                        10,
                    ));
                }
                let mut new = current.clone();
                new["status"]["disruptionsAllowed"] = json!(allowed - 1);
                Ok(Mutation { object: new, precondition: None, track_fields: true, warnings: Vec::new() })
            })
            .await?;
    }
    Ok(())
}
