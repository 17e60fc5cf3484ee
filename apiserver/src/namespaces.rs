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

/// Creates the built-in namespaces when missing, and resumes unfinished terminations.
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
    let all = app.api.list(r, None, &ListOptions::default()).await?;
    for raw in all.items {
        let ns: Value =
            serde_json::from_slice(&raw).map_err(|e| ApiError::internal(e.to_string()))?;
        if object::is_terminating(&ns) {
            spawn_finalizer(app.clone(), object::name(&ns).to_string());
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
    if let Some(uid) = &opts.precondition_uid
        && object::meta_str(&current, "uid") != Some(uid.as_str())
    {
        let q = r.qualified_resource();
        return Err(ApiError::conflict(
            &target(r, &q, name),
            "Precondition failed: UID mismatch",
        ));
    }
    if opts.dry_run {
        return Ok(current);
    }
    let updated = app
        .api
        .system_update(r, None, name, |ns| {
            if object::is_terminating(ns) {
                return None;
            }
            let mut new = ns.clone();
            let meta = object::meta_mut(&mut new);
            meta.insert("deletionTimestamp".into(), json!(object::now_rfc3339()));
            meta.insert("deletionGracePeriodSeconds".into(), json!(0));
            new["status"] = json!({"phase": "Terminating"});
            Some(new)
        })
        .await?;
    spawn_finalizer(app.clone(), name.to_string());
    Ok(updated)
}

fn spawn_finalizer(app: Arc<App>, name: String) {
    tokio::spawn(async move {
        let mut shutdown = app.shutdown.subscribe();
        loop {
            match finalize_once(&app, &name).await {
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

/// One pass: delete everything left in the namespace; remove the namespace once it is empty.
async fn finalize_once(app: &Arc<App>, name: &str) -> ApiResult<bool> {
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
    if remaining > 0 {
        return Ok(false);
    }
    let ns = namespaces()?;
    let key = ns.key(None, name);
    match app.api.store.get(&key).await? {
        None => Ok(true),
        Some(kv) => match app.api.store.delete(&key, Some(kv.mod_revision)).await {
            Ok(_) => Ok(true),
            Err(capstan_store::StoreError::NotFound(_)) => Ok(true),
            Err(capstan_store::StoreError::Conflict { .. }) => Ok(false),
            Err(e) => Err(e.into()),
        },
    }
}
