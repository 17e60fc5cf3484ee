//! PLACEHOLDER until the validation module lands.
use serde_json::Value;
#[derive(Debug, Clone)]
pub struct Cause {
    pub reason: String,
    pub message: String,
    pub field: String,
}
pub fn validate_create(_g: &str, _k: &str, _o: &Value) -> Vec<Cause> {
    Vec::new()
}
pub fn validate_update(_g: &str, _k: &str, _n: &Value, _o: &Value) -> Vec<Cause> {
    Vec::new()
}
pub fn validate_status_update(_g: &str, _k: &str, _n: &Value, _o: &Value) -> Vec<Cause> {
    Vec::new()
}
pub fn full_message(kind: &str, name: &str, causes: &[Cause]) -> String {
    format!(
        "{kind} \"{name}\" is invalid: {}",
        causes
            .iter()
            .map(|c| format!("{}: {}", c.field, c.message))
            .collect::<Vec<_>>()
            .join(", ")
    )
}
