//! PLACEHOLDER until the defaults module lands.
pub fn apply_defaults(_g: &str, _k: &str, _o: &mut serde_json::Value) {}
