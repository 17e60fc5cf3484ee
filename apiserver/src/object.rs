//! Small helpers over objects in their JSON form: metadata access, timestamps, names.

use std::time::{SystemTime, UNIX_EPOCH};

use capstan_api_types::time::{self, NANOS_PER_SEC, Nanos};
use rand::Rng;
use serde_json::{Map, Value, json};

pub fn set_resource_version(obj: &mut Value, revision: i64) {
    if let Some(meta) = obj.get_mut("metadata").and_then(Value::as_object_mut) {
        meta.insert(
            "resourceVersion".into(),
            Value::String(revision.to_string()),
        );
    }
}

pub fn meta(obj: &Value) -> Option<&Map<String, Value>> {
    obj.get("metadata").and_then(Value::as_object)
}

/// `metadata` as a mutable map, created when absent.
pub fn meta_mut(obj: &mut Value) -> &mut Map<String, Value> {
    if !obj.is_object() {
        *obj = Value::Object(Map::new());
    }
    let Value::Object(root) = obj else {
        unreachable!("made an object above")
    };
    let meta = root.entry("metadata").or_insert_with(|| json!({}));
    if !meta.is_object() {
        *meta = Value::Object(Map::new());
    }
    let Value::Object(map) = meta else {
        unreachable!("made an object above")
    };
    map
}

pub fn meta_str<'a>(obj: &'a Value, field: &str) -> Option<&'a str> {
    meta(obj).and_then(|m| m.get(field)).and_then(Value::as_str)
}

pub fn name(obj: &Value) -> &str {
    meta_str(obj, "name").unwrap_or_default()
}

pub fn resource_version(obj: &Value) -> Option<i64> {
    meta_str(obj, "resourceVersion").and_then(|s| s.parse().ok())
}

pub fn finalizers(obj: &Value) -> Vec<String> {
    meta(obj)
        .and_then(|m| m.get("finalizers"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

pub fn is_terminating(obj: &Value) -> bool {
    meta(obj).is_some_and(|m| m.get("deletionTimestamp").is_some_and(|v| !v.is_null()))
}

pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default()
}

/// RFC 3339 UTC with second precision, the form Kubernetes uses for `metav1.Time`.
pub fn rfc3339(unix: i64) -> String {
    time::format_rfc3339(Nanos::from(unix) * NANOS_PER_SEC)
}

/// RFC 3339 with microseconds (`metav1.MicroTime`, used by Leases and events.k8s.io).
pub fn rfc3339_micros_now() -> String {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    let base = rfc3339(now.as_secs() as i64);
    format!("{}.{:06}Z", base.trim_end_matches('Z'), now.subsec_micros())
}

pub fn now_rfc3339() -> String {
    rfc3339(unix_now())
}

/// Parses RFC 3339 (`YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)`) to unix seconds, the fraction
/// dropped. None when malformed.
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    i64::try_from(time::parse_rfc3339(s)?.div_euclid(NANOS_PER_SEC)).ok()
}

/// Suffix for `generateName`, from the alphabet Kubernetes uses (no vowels, no confusable digits).
pub fn random_suffix() -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    let mut rng = rand::rng();
    (0..5)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

pub fn new_uid() -> String {
    uuid::Uuid::new_v4().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc3339_round_trips() {
        for t in [0, 951_782_400, 1_700_000_000, 4_102_444_800] {
            assert_eq!(parse_rfc3339(&rfc3339(t)), Some(t));
        }
        assert_eq!(rfc3339(1_700_000_000), "2023-11-14T22:13:20Z");
        assert_eq!(
            parse_rfc3339("2023-11-14T23:13:20.123+01:00"),
            Some(1_700_000_000)
        );
    }
}
