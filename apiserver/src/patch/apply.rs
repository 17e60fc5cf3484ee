//! PLACEHOLDER
use serde_json::Value;
#[derive(Debug, Clone)]
pub struct Conflict { pub manager: String, pub field: String }
#[derive(Debug, thiserror::Error)]
pub enum ApplyError { #[error("conflicts")] Conflicts(Vec<Conflict>), #[error("{0}")] Invalid(String) }
pub fn conflict_message(c: &[Conflict], _api_version: &str) -> String { format!("Apply failed with {} conflicts", c.len()) }
pub fn apply(_k: &str, live: Option<&Value>, config: &Value, _m: &str, _a: &str, _f: bool, _n: &str) -> Result<Value, ApplyError> { let mut d = live.cloned().unwrap_or(Value::Null); json_patch::merge(&mut d, config); Ok(d) }
pub fn record_update(_k: &str, _o: Option<&Value>, _n: &mut Value, _m: &str, _a: &str, _s: Option<&str>, _t: &str) {}
