//! Turning an object's selector (a LabelSelector, or a Service's plain map) into the
//! `labelSelector` query string the API server takes.

use serde_json::Value;

use super::CliError;

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

/// Whether `labels` (an object's metadata.labels) satisfy a label selector string:
/// `a=b`, `a==b`, `a!=b`, `a`, `!a`, `a in (x,y)`, `a notin (x,y)`, comma separated.
pub fn matches(selector: &str, labels: &Value) -> Result<bool, CliError> {
    let label = |k: &str| labels.get(k).and_then(Value::as_str);
    for term in split_terms(selector) {
        let term = term.trim();
        if term.is_empty() {
            continue;
        }
        let ok = if let Some(k) = term.strip_prefix('!') {
            label(k.trim()).is_none()
        } else if let Some((k, v)) = term.split_once("!=") {
            label(k.trim()) != Some(v.trim())
        } else if let Some((k, v)) = term.split_once("==").or_else(|| term.split_once('=')) {
            label(k.trim()) == Some(v.trim())
        } else if let Some((k, set)) = term.split_once(" notin ") {
            !set_of(set)?.contains(&label(k.trim()).unwrap_or_default())
                || label(k.trim()).is_none()
        } else if let Some((k, set)) = term.split_once(" in ") {
            let set = set_of(set)?;
            label(k.trim()).is_some_and(|v| set.contains(&v))
        } else if term
            .chars()
            .all(|c| c.is_alphanumeric() || "-_./".contains(c))
        {
            label(term).is_some()
        } else {
            return Err(CliError::Input(format!(
                "unable to parse selector \"{selector}\""
            )));
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

/// Terms split at commas outside parentheses.
fn split_terms(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in s.char_indices() {
        match c {
            '(' => depth += 1,
            ')' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

fn set_of(s: &str) -> Result<Vec<&str>, CliError> {
    let inner = s
        .trim()
        .strip_prefix('(')
        .and_then(|x| x.strip_suffix(')'))
        .ok_or_else(|| CliError::Input(format!("a set must be in parentheses: {s}")))?;
    Ok(inner.split(',').map(str::trim).collect())
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

    #[test]
    fn selector_matching() {
        let l = json!({"app": "web", "tier": "front"});
        for (sel, want) in [
            ("app=web", true),
            ("app==web,tier=front", true),
            ("app!=web", false),
            ("app", true),
            ("!db", true),
            ("!app", false),
            ("tier in (front,back)", true),
            ("tier notin (front)", false),
            ("app=web,tier in (back)", false),
            ("db notin (x)", true),
        ] {
            assert_eq!(matches(sel, &l).unwrap(), want, "{sel}");
        }
        assert!(matches("a in b", &l).is_err());
    }
}
