//! Lenient accessors over `serde_json::Value` objects.
//!
//! Validation reads objects that have already been decoded from JSON but not
//! into typed structs, so a missing key, an explicit `null` and a value of
//! the wrong type are all treated as "unset", mirroring Go's zero values.

use serde_json::{Map, Value};

/// The member `k` of `v`, ignoring explicit nulls.
pub(crate) fn get<'a>(v: &'a Value, k: &str) -> Option<&'a Value> {
    v.get(k).filter(|x| !x.is_null())
}

/// Walks nested object members.
pub(crate) fn at<'a>(v: &'a Value, path: &[&str]) -> Option<&'a Value> {
    path.iter().try_fold(v, |cur, k| get(cur, k))
}

/// A string member, or "" when absent (Go's zero value).
pub(crate) fn s<'a>(v: &'a Value, k: &str) -> &'a str {
    opt_s(v, k).unwrap_or("")
}

pub(crate) fn opt_s<'a>(v: &'a Value, k: &str) -> Option<&'a str> {
    get(v, k).and_then(Value::as_str)
}

/// An integral member; floats without a fractional part are accepted because
/// some clients serialise every number as a double.
pub(crate) fn int(v: &Value, k: &str) -> Option<i64> {
    get(v, k).and_then(as_int)
}

pub(crate) fn as_int(v: &Value) -> Option<i64> {
    if let Some(i) = v.as_i64() {
        return Some(i);
    }
    if let Some(u) = v.as_u64() {
        return Some(i64::try_from(u).unwrap_or(i64::MAX));
    }
    let f = v.as_f64()?;
    // Only whole numbers within range convert; anything else is not an integer.
    if f.fract() == 0.0 && f.abs() < 9.0e18 {
        Some(f as i64)
    } else {
        None
    }
}

pub(crate) fn boolean(v: &Value, k: &str) -> Option<bool> {
    get(v, k).and_then(Value::as_bool)
}

/// An array member, or an empty slice.
pub(crate) fn list<'a>(v: &'a Value, k: &str) -> &'a [Value] {
    get(v, k)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// An object member.
pub(crate) fn map<'a>(v: &'a Value, k: &str) -> Option<&'a Map<String, Value>> {
    get(v, k).and_then(Value::as_object)
}

/// True when the member exists and is not null.
pub(crate) fn is_set(v: &Value, k: &str) -> bool {
    get(v, k).is_some()
}

/// A string-valued map (labels, annotations, selectors) as owned pairs.
/// Non-string values are rendered as JSON so they still get validated.
pub(crate) fn string_pairs(m: Option<&Map<String, Value>>) -> Vec<(String, String)> {
    m.map(|m| {
        m.iter()
            .map(|(k, v)| (k.clone(), scalar_string(v)))
            .collect()
    })
    .unwrap_or_default()
}

/// Renders a scalar the way it would appear in a string field.
pub(crate) fn scalar_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// Semantic equality in the spirit of apimachinery's `Semantic.DeepEqual`:
/// absent, null and empty lists compare equal, numbers compare by value.
pub(crate) fn sem_eq(a: Option<&Value>, b: Option<&Value>) -> bool {
    let a = normalise(a);
    let b = normalise(b);
    match (a, b) {
        (None, None) => true,
        (Some(Value::Object(x)), Some(Value::Object(y))) => {
            x.keys().chain(y.keys()).all(|k| sem_eq(x.get(k), y.get(k)))
        }
        (Some(Value::Array(x)), Some(Value::Array(y))) => {
            x.len() == y.len() && x.iter().zip(y).all(|(p, q)| sem_eq(Some(p), Some(q)))
        }
        (Some(Value::Number(x)), Some(Value::Number(y))) => x == y || x.as_f64() == y.as_f64(),
        (Some(x), Some(y)) => x == y,
        _ => false,
    }
}

fn normalise(v: Option<&Value>) -> Option<&Value> {
    match v {
        None | Some(Value::Null) => None,
        Some(Value::Array(a)) if a.is_empty() => None,
        other => other,
    }
}
