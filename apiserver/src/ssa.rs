//! Server-side apply over the REST layer: `PATCH` with `application/apply-patch+yaml` creates the
//! object when absent and otherwise merges the applied configuration with field ownership
//! (`managedFields`), refusing conflicting changes with 409 unless `force=true`.

use std::sync::Arc;

use serde_json::{Value, json};

use capstan_api_types::ResourceInfo;

use crate::error::{ApiError, ApiResult, Details, StatusCause};
use crate::object;
use crate::patch::apply::{self, ApplyError};
use crate::rest::{Mutation, WriteOptions, WriteResult};
use crate::server::App;

fn conflict_error(r: &ResourceInfo, name: &str, e: ApplyError) -> ApiError {
    match e {
        ApplyError::Conflicts(conflicts) => {
            let message = apply::conflicts_message(&conflicts);
            let causes = conflicts
                .iter()
                .map(|c| StatusCause {
                    reason: "FieldManagerConflict".into(),
                    message: c.cause_message(),
                    field: c.field.clone(),
                })
                .collect();
            ApiError::new(409, "Conflict", message).with_details(Details {
                name: name.to_string(),
                group: r.group.to_string(),
                kind: r.plural.to_string(),
                uid: None,
                causes,
            })
        }
        ApplyError::InvalidObject(msg) => ApiError::new(422, "Invalid", msg),
        other => ApiError::bad_request(other.to_string()),
    }
}

#[allow(clippy::too_many_arguments)]
pub async fn server_side_apply(
    app: &Arc<App>,
    r: &'static ResourceInfo,
    ns: Option<&str>,
    name: &str,
    sub: Option<&str>,
    mut config: Value,
    opts: &WriteOptions,
    force: bool,
) -> ApiResult<(WriteResult, bool)> {
    crate::rest::Api::check_identity(r, ns, &mut config)?;
    match object::meta_str(&config, "name") {
        Some(n) if n != name => {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({n}) does not match the name on the URL ({name})"
            )));
        }
        Some(_) => {}
        None => {
            object::meta_mut(&mut config).insert("name".into(), json!(name));
        }
    }
    // Status is owned through the status subresource; an apply to the main resource ignores it.
    if sub.is_none()
        && r.has_status()
        && let Some(m) = config.as_object_mut()
    {
        m.remove("status");
    }
    let mut warnings = Vec::new();
    // Check field types and unknown fields, but keep the config as sent: its field set is what
    // the manager owns.
    app.api
        .decode_typed(r, config.clone(), opts.field_validation, &mut warnings)?;
    let api_version = r.api_version();
    let manager = opts.field_manager.clone();
    for _ in 0..8 {
        let existing = app.api.get(r, ns, name).await;
        match existing {
            Err(e) if e.code == 404 => {
                if sub.is_some() {
                    return Err(e);
                }
                let now = object::now_rfc3339();
                let obj = apply::apply(r.kind, None, &config, &manager, &api_version, force, &now)
                    .map_err(|e| conflict_error(r, name, e))?;
                match app.api.create_inner(r, ns, obj, opts, false).await {
                    Ok(mut res) => {
                        res.warnings.extend(warnings);
                        return Ok((res, true));
                    }
                    Err(e) if e.reason == "AlreadyExists" => continue,
                    Err(e) => return Err(e),
                }
            }
            Err(e) => return Err(e),
            Ok(_) => {
                let precondition = object::resource_version(&config);
                let res = app
                    .api
                    .update_with(r, ns, name, opts, sub, |current| {
                        let now = object::now_rfc3339();
                        let merged = apply::apply(
                            r.kind,
                            Some(current),
                            &config,
                            &manager,
                            &api_version,
                            force,
                            &now,
                        )
                        .map_err(|e| conflict_error(r, name, e))?;
                        Ok(Mutation {
                            object: merged,
                            precondition,
                            track_fields: false,
                            warnings: warnings.clone(),
                        })
                    })
                    .await;
                match res {
                    Err(e) if e.code == 404 => continue,
                    other => return other.map(|res| (res, false)),
                }
            }
        }
    }
    Err(ApiError::internal(
        "server-side apply did not settle after repeated races",
    ))
}
