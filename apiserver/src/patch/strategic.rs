//! PLACEHOLDER
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PatchError(pub String);
pub fn strategic_merge(_k: &str, o: &serde_json::Value, p: &serde_json::Value) -> Result<serde_json::Value, PatchError> { let mut d = o.clone(); json_patch::merge(&mut d, p); Ok(d) }
