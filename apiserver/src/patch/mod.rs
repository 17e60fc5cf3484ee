//! PATCH: JSON patch (RFC 6902), JSON merge patch (RFC 7386), strategic merge patch and
//! server-side apply. Everything here is a pure function from (current object, patch) to the
//! desired object; the REST layer decides what gets stored.

pub mod apply;
pub mod merge_keys;
pub mod strategic;

use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::request::BodyFormat;

/// Applies a JSON, merge or strategic merge patch to `current`.
pub fn patch_object(
    kind: &str,
    format: BodyFormat,
    current: &Value,
    body: &[u8],
) -> ApiResult<Value> {
    let parse = || -> ApiResult<Value> {
        serde_json::from_slice(body)
            .map_err(|e| ApiError::bad_request(format!("error decoding patch: {e}")))
    };
    match format {
        BodyFormat::JsonPatch => {
            let ops: json_patch::Patch = serde_json::from_slice(body)
                .map_err(|e| ApiError::bad_request(format!("error decoding JSON patch: {e}")))?;
            let mut doc = current.clone();
            json_patch::patch(&mut doc, &ops).map_err(|e| {
                ApiError::new(
                    422,
                    "Invalid",
                    format!("the server rejected our request due to an error in our request: {e}"),
                )
            })?;
            Ok(doc)
        }
        BodyFormat::MergePatch => {
            let patch = parse()?;
            if !patch.is_object() {
                return Err(ApiError::bad_request("a merge patch must be a JSON object"));
            }
            let mut doc = current.clone();
            json_patch::merge(&mut doc, &patch);
            Ok(doc)
        }
        BodyFormat::StrategicMergePatch => {
            let patch = parse()?;
            if !patch.is_object() {
                return Err(ApiError::bad_request(
                    "a strategic merge patch must be a JSON object",
                ));
            }
            strategic::strategic_merge(kind, current, &patch)
                .map_err(|e| ApiError::bad_request(e.to_string()))
        }
        other => Err(ApiError::unsupported_media_type(&format!("{other:?}"))),
    }
}
