//! Reading fields out of objects in their JSON shape.
//!
//! kubectl describes typed Go objects, where an absent field holds its zero value; these accessors
//! give the same zero values ("" / 0 / false / empty list) so every layout can print any input,
//! however incomplete, without special cases.

use capstan_api_types::time::{Nanos, ZERO_TIME, parse_rfc3339};
use serde_json::{Map, Value};

/// The string at `ptr`, or "" when absent or not a string.
pub(crate) fn str_at<'a>(v: &'a Value, ptr: &str) -> &'a str {
    v.pointer(ptr).and_then(Value::as_str).unwrap_or("")
}

/// The string at `ptr`, or None when absent, null or not a string.
pub(crate) fn opt_str<'a>(v: &'a Value, ptr: &str) -> Option<&'a str> {
    v.pointer(ptr).and_then(Value::as_str)
}

/// The integer at `ptr`, or 0.
pub(crate) fn int_at(v: &Value, ptr: &str) -> i64 {
    opt_int(v, ptr).unwrap_or(0)
}

/// The integer at `ptr`, or None when absent or not an integer.
pub(crate) fn opt_int(v: &Value, ptr: &str) -> Option<i64> {
    v.pointer(ptr).and_then(Value::as_i64)
}

/// The boolean at `ptr`, or false.
pub(crate) fn bool_at(v: &Value, ptr: &str) -> bool {
    opt_bool(v, ptr).unwrap_or(false)
}

pub(crate) fn opt_bool(v: &Value, ptr: &str) -> Option<bool> {
    v.pointer(ptr).and_then(Value::as_bool)
}

/// The array at `ptr`, or an empty slice.
pub(crate) fn arr_at<'a>(v: &'a Value, ptr: &str) -> &'a [Value] {
    v.pointer(ptr)
        .and_then(Value::as_array)
        .map_or(&[], Vec::as_slice)
}

/// The object at `ptr`, or None.
pub(crate) fn map_at<'a>(v: &'a Value, ptr: &str) -> Option<&'a Map<String, Value>> {
    v.pointer(ptr).and_then(Value::as_object)
}

/// Whether `ptr` holds a value; JSON null decodes to a nil pointer in Go.
pub(crate) fn present(v: &Value, ptr: &str) -> bool {
    v.pointer(ptr).is_some_and(|x| !x.is_null())
}

/// The timestamp at `ptr`, or Go's zero time when absent or malformed.
pub(crate) fn time_at(v: &Value, ptr: &str) -> Nanos {
    opt_time(v, ptr).unwrap_or(ZERO_TIME)
}

/// The timestamp at `ptr`, or None where Go would hold a nil pointer.
pub(crate) fn opt_time(v: &Value, ptr: &str) -> Option<Nanos> {
    opt_str(v, ptr).and_then(parse_rfc3339)
}

/// The entries of a JSON object, sorted by key (Go prints maps in key order).
pub(crate) fn sorted_entries(map: Option<&Map<String, Value>>) -> Vec<(&String, &Value)> {
    let mut entries: Vec<(&String, &Value)> = map.into_iter().flatten().collect();
    entries.sort_by(|a, b| a.0.cmp(b.0));
    entries
}

/// A label value for `capstan_api_types::printing`: a string as it is, anything else as Go's
/// `%v` prints it, so that a malformed selector or label map still describes.
pub(crate) fn label_text(v: &Value) -> Option<String> {
    Some(go_value(v))
}

/// The strings of the array at `ptr`, non-strings rendered as Go's `%v` would.
pub(crate) fn strings_at(v: &Value, ptr: &str) -> Vec<String> {
    arr_at(v, ptr).iter().map(go_value).collect()
}

/// A scalar the way Go's `%v` prints the value it decodes to: strings bare, integers in decimal,
/// floats in `%g` form, null as `<nil>`, lists as `[a b]` and maps as `map[k:v]`.
pub(crate) fn go_value(v: &Value) -> String {
    match v {
        Value::Null => "<nil>".into(),
        Value::Bool(b) => b.to_string(),
        Value::String(s) => s.clone(),
        Value::Number(n) => match (n.as_i64(), n.as_u64(), n.as_f64()) {
            (Some(i), _, _) => i.to_string(),
            (None, Some(u), _) => u.to_string(),
            (None, None, Some(f)) => go_float(f),
            _ => n.to_string(),
        },
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(go_value).collect();
            format!("[{}]", parts.join(" "))
        }
        Value::Object(map) => {
            // Go's fmt prints maps with sorted keys.
            let mut parts: Vec<(&String, String)> =
                map.iter().map(|(k, v)| (k, go_value(v))).collect();
            parts.sort_by(|a, b| a.0.cmp(b.0));
            let parts: Vec<String> = parts.into_iter().map(|(k, v)| format!("{k}:{v}")).collect();
            format!("map[{}]", parts.join(" "))
        }
    }
}

/// A float as Go's `%v` prints it: the shortest digits that round-trip, in exponent form when the
/// decimal exponent is below -4 or at least 6 (`%g` with shortest precision).
fn go_float(f: f64) -> String {
    if !f.is_finite() {
        return if f.is_nan() {
            "NaN".into()
        } else if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    // Rust's `{:e}` gives the shortest round-trip digits: "1.2345e6", "-5e-7".
    let sci = format!("{f:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((sci.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    if !(-4..6).contains(&exp) {
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mantissa}e{sign}{:02}", exp.abs());
    }
    format!("{f}")
}

/// Objects in `related` of the given kind.
pub(crate) fn of_kind<'a>(related: &'a [Value], kind: &'a str) -> impl Iterator<Item = &'a Value> {
    related.iter().filter(move |o| str_at(o, "/kind") == kind)
}

/// Whether `obj`'s controller owner reference points at `owner`. The UID decides, as in
/// `metav1.IsControlledBy`; objects built without UIDs fall back to kind and name.
pub(crate) fn is_controlled_by(obj: &Value, owner: &Value) -> bool {
    let Some(controller) = controller_ref(obj) else {
        return false;
    };
    let owner_uid = str_at(owner, "/metadata/uid");
    if !owner_uid.is_empty() {
        return str_at(controller, "/uid") == owner_uid;
    }
    str_at(controller, "/kind") == str_at(owner, "/kind")
        && str_at(controller, "/name") == str_at(owner, "/metadata/name")
}

/// The owner reference marked as the controller, if any.
pub(crate) fn controller_ref(obj: &Value) -> Option<&Value> {
    arr_at(obj, "/metadata/ownerReferences")
        .iter()
        .find(|r| bool_at(r, "/controller"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use capstan_api_types::printing::selector_string;
    use serde_json::json;

    #[test]
    fn go_value_formats_like_fmt_v() {
        assert_eq!(go_value(&json!(null)), "<nil>");
        assert_eq!(go_value(&json!("x")), "x");
        assert_eq!(go_value(&json!(42)), "42");
        assert_eq!(go_value(&json!(1.5)), "1.5");
        assert_eq!(go_value(&json!(123456.0)), "123456");
        assert_eq!(go_value(&json!(1234567.0)), "1.234567e+06");
        assert_eq!(go_value(&json!(0.0001)), "0.0001");
        assert_eq!(go_value(&json!(0.00001)), "1e-05");
        assert_eq!(go_value(&json!([1, "a", true])), "[1 a true]");
        assert_eq!(go_value(&json!({"b": 1, "a": [2]})), "map[a:[2] b:1]");
    }

    #[test]
    fn label_values_read_like_go() {
        let sel = json!({
            "matchLabels": {"port": 80, "app": "web"},
            "matchExpressions": [{"key": "env", "operator": "NotIn", "values": [true, "prod"]}]
        });
        assert_eq!(
            selector_string(Some(&sel), label_text).as_deref(),
            Ok("app=web,env notin (prod,true),port=80")
        );
        let keys: Vec<&String> = sorted_entries(sel["matchLabels"].as_object())
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        assert_eq!(keys, ["app", "port"]);
    }

    #[test]
    fn accessors_default_to_go_zero_values() {
        let v = json!({"a": {"s": "x", "n": 3, "b": true, "l": [1], "t": "2024-01-01T00:00:00Z"}});
        assert_eq!(str_at(&v, "/a/s"), "x");
        assert_eq!(str_at(&v, "/a/n"), "");
        assert_eq!(int_at(&v, "/a/missing"), 0);
        assert!(bool_at(&v, "/a/b"));
        assert_eq!(arr_at(&v, "/a/s"), &[] as &[Value]);
        assert_eq!(time_at(&v, "/a/s"), ZERO_TIME);
        assert!(opt_time(&v, "/a/t").is_some());
        assert!(!present(&json!({"x": null}), "/x"));
    }
}
