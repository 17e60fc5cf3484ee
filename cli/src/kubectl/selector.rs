//! Turning an object's selector (a LabelSelector, or a Service's plain map) into the
//! `labelSelector` query string the API server takes.

use serde_json::Value;

/// `matchLabels` and `matchExpressions` as `a=b,c in (d,e),!f`; a plain map (Service) too.
pub fn to_query(selector: &Value) -> String {
    let mut parts = Vec::new();
    let labels = selector.get("matchLabels").or_else(|| {
        selector
            .get("matchExpressions")
            .is_none()
            .then_some(selector)
    });
    if let Some(map) = labels.and_then(Value::as_object) {
        for (k, v) in map {
            parts.push(format!("{k}={}", v.as_str().unwrap_or_default()));
        }
    }
    for e in selector["matchExpressions"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let key = e["key"].as_str().unwrap_or_default();
        let values: Vec<&str> = e["values"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        match e["operator"].as_str().unwrap_or_default() {
            "In" => parts.push(format!("{key} in ({})", values.join(","))),
            "NotIn" => parts.push(format!("{key} notin ({})", values.join(","))),
            "Exists" => parts.push(key.to_string()),
            "DoesNotExist" => parts.push(format!("!{key}")),
            _ => {}
        }
    }
    parts.join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn label_selectors_and_maps() {
        assert_eq!(to_query(&json!({"app": "web"})), "app=web");
        assert_eq!(
            to_query(&json!({"matchLabels": {"app": "web"}, "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["a", "b"]},
                {"key": "x", "operator": "DoesNotExist"}]})),
            "app=web,tier in (a,b),!x"
        );
        assert_eq!(to_query(&json!({})), "");
    }
}
