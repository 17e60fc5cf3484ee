//! Namespace lifecycle inside the API server: the built-in namespaces exist at start, and a
//! deleted namespace turns `Terminating`, has its contents deleted, then disappears. Running
//! in-process means deleting a namespace works even before any controller is running; the
//! work restarts from the stored state after a crash.

use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use capstan_api_types::{ResourceInfo, registry};

use crate::error::{ApiError, ApiResult};
use crate::object;
use crate::rest::{DeleteOptions, ListOptions, WriteOptions, target};
use crate::server::App;

pub const BUILT_IN: &[&str] = &["default", "kube-system", "kube-public", "kube-node-lease"];
const UNDELETABLE: &[&str] = &["default", "kube-system", "kube-public"];

fn namespaces() -> ApiResult<&'static ResourceInfo> {
    registry::find("", "v1", "namespaces")
        .ok_or_else(|| ApiError::internal("namespaces not registered"))
}

/// Creates the built-in namespaces and PriorityClasses when missing, and resumes unfinished
/// namespace terminations.
pub async fn bootstrap(app: &Arc<App>) -> ApiResult<()> {
    let r = namespaces()?;
    let opts = WriteOptions {
        field_manager: "capstan-apiserver".into(),
        ..WriteOptions::default()
    };
    for name in BUILT_IN {
        let obj = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}});
        match app.api.create(r, None, obj, &opts).await {
            Ok(_) => tracing::info!(namespace = name, "created built-in namespace"),
            Err(e) if e.reason == "AlreadyExists" => {}
            Err(e) => return Err(e),
        }
    }
    if let Some(pc) = registry::find("scheduling.k8s.io", "v1", "priorityclasses") {
        for (name, value) in crate::admission::SYSTEM_CLASSES {
            let obj = json!({"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                "metadata": {"name": name}, "value": value,
                "description": "Built-in class for pods the cluster cannot run without."});
            match app.api.create(pc, None, obj, &opts).await {
                Ok(_)
                | Err(ApiError {
                    reason: "AlreadyExists",
                    ..
                }) => {}
                Err(e) => return Err(e),
            }
        }
    }
    let all = app.api.list(r, None, &ListOptions::default()).await?;
    for raw in all.items {
        let ns: Value =
            serde_json::from_slice(&raw).map_err(|e| ApiError::internal(e.to_string()))?;
        if object::is_terminating(&ns) {
            let uid = object::meta_str(&ns, "uid").unwrap_or_default().to_string();
            spawn_finalizer(app.clone(), object::name(&ns).to_string(), uid);
        }
    }
    Ok(())
}

/// `DELETE /api/v1/namespaces/{name}`: marks the namespace Terminating and starts emptying it.
pub async fn delete(app: &Arc<App>, name: &str, opts: &DeleteOptions) -> ApiResult<Value> {
    let r = namespaces()?;
    if UNDELETABLE.contains(&name) {
        let q = r.qualified_resource();
        return Err(ApiError::forbidden(
            &target(r, &q, name),
            "this namespace may not be deleted",
        ));
    }
    let current = app.api.get(r, None, name).await?;
    let q = r.qualified_resource();
    if let Some(uid) = &opts.precondition_uid
        && object::meta_str(&current, "uid") != Some(uid.as_str())
    {
        return Err(ApiError::conflict(
            &target(r, &q, name),
            "Precondition failed: UID mismatch",
        ));
    }
    if let Some(rv) = &opts.precondition_rv
        && object::meta_str(&current, "resourceVersion") != Some(rv.as_str())
    {
        return Err(ApiError::conflict(
            &target(r, &q, name),
            "Precondition failed: ResourceVersion mismatch",
        ));
    }
    if opts.dry_run || object::is_terminating(&current) {
        return Ok(current);
    }
    let uid = object::meta_str(&current, "uid")
        .unwrap_or_default()
        .to_string();
    let mut started = false;
    let updated = app
        .api
        .system_update(r, None, name, |ns| {
            if object::is_terminating(ns) || object::meta_str(ns, "uid") != Some(uid.as_str()) {
                started = false;
                return None;
            }
            started = true;
            let mut new = ns.clone();
            let meta = object::meta_mut(&mut new);
            meta.insert("deletionTimestamp".into(), json!(object::now_rfc3339()));
            meta.insert("deletionGracePeriodSeconds".into(), json!(0));
            new["status"] = json!({"phase": "Terminating"});
            Some(new)
        })
        .await?;
    // Only the request that moved the namespace to Terminating starts its finalizer.
    if started {
        spawn_finalizer(app.clone(), name.to_string(), uid);
    }
    Ok(updated)
}

fn spawn_finalizer(app: Arc<App>, name: String, uid: String) {
    tokio::spawn(async move {
        let mut shutdown = app.shutdown.subscribe();
        loop {
            match finalize_once(&app, &name, &uid).await {
                Ok(true) => {
                    tracing::info!(namespace = %name, "namespace deleted");
                    return;
                }
                Ok(false) => {}
                Err(e) => {
                    tracing::warn!(namespace = %name, error = %e, "namespace cleanup step failed")
                }
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(500)) => {}
                _ = async { let _ = shutdown.wait_for(|s| *s).await; } => return,
            }
        }
    });
}

/// One pass: delete everything left in the namespace; remove the namespace once it is empty and
/// its own finalizers are gone. Returns true when there is nothing more to do — including when
/// the namespace this task was started for (by uid) no longer exists or is not terminating.
async fn finalize_once(app: &Arc<App>, name: &str, uid: &str) -> ApiResult<bool> {
    let ns = namespaces()?;
    let key = ns.key(None, name);
    let Some(kv) = app.api.store.get(&key).await? else {
        return Ok(true);
    };
    let current = crate::rest::decode_kv(&kv)?;
    if object::meta_str(&current, "uid") != Some(uid) || !object::is_terminating(&current) {
        return Ok(true);
    }
    let mut remaining = 0usize;
    for r in registry().iter().filter(|r| r.namespaced) {
        let items = app.api.list(r, Some(name), &ListOptions::default()).await?;
        for raw in items.items {
            remaining += 1;
            let obj: Value =
                serde_json::from_slice(&raw).map_err(|e| ApiError::internal(e.to_string()))?;
            if object::is_terminating(&obj) {
                continue;
            }
            match app
                .api
                .delete(r, Some(name), object::name(&obj), &DeleteOptions::default())
                .await
            {
                Ok(_) => {}
                Err(e) if e.code == 404 => {}
                Err(e) => return Err(e),
            }
        }
    }
    if remaining > 0 || !object::finalizers(&current).is_empty() {
        return Ok(false);
    }
    match app.api.store.delete(&key, Some(kv.mod_revision)).await {
        Ok(_) | Err(capstan_store::StoreError::NotFound(_)) => Ok(true),
        Err(capstan_store::StoreError::Conflict { .. }) => Ok(false),
        Err(e) => Err(e.into()),
    }
}
