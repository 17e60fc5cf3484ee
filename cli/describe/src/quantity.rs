//! Resource quantities as kubectl describe prints them: sums and maxima of resource lists, shown
//! in the canonical form `resource.Quantity.String()` produces ("1" for "1000m", "1536Mi" for
//! "1.5Gi").
//!
//! Parsing, arithmetic and the canonical form are `capstan_api_types::quantity`'s; values are
//! kept in thousandths, the precision kubectl's `MilliValue` works at, which is exact for every
//! quantity Kubernetes accepts above one milli-unit.

use std::collections::BTreeMap;

pub(crate) use capstan_api_types::quantity::Quantity;
use serde_json::{Map, Value};

/// A quantity from its JSON form (a string, surrounding space allowed, or a bare number as
/// lenient clients send), at milli precision.
pub(crate) fn parse(v: &Value) -> Option<Quantity> {
    let q = match v {
        Value::String(s) => Quantity::parse(s.trim()),
        other => Quantity::from_json(other),
    };
    q?.at_milli_precision()
}

/// A resource list (`{"cpu": "100m", "memory": "64Mi"}`), ordered by resource name as kubectl
/// sorts it for printing.
pub(crate) type ResourceList = BTreeMap<String, Quantity>;

/// The parseable entries of the resource list object at `v`.
pub(crate) fn resource_list(v: Option<&Map<String, Value>>) -> ResourceList {
    v.into_iter()
        .flatten()
        .filter_map(|(name, q)| Some((name.clone(), parse(q)?)))
        .collect()
}

/// Adds every entry of `other` into `list`.
pub(crate) fn add_into(list: &mut ResourceList, other: &ResourceList) {
    for (name, q) in other {
        list.entry(name.clone()).or_default().add(q);
    }
}

/// Raises every entry of `list` to at least `other`'s value for that resource.
pub(crate) fn max_into(list: &mut ResourceList, other: &ResourceList) {
    for (name, q) in other {
        match list.get_mut(name) {
            Some(current) if *q > *current => *current = *q,
            Some(_) => {}
            None => {
                list.insert(name.clone(), *q);
            }
        }
    }
}

/// The quantity for `name`, or zero (which prints "0").
pub(crate) fn get(list: &ResourceList, name: &str) -> Quantity {
    list.get(name).copied().unwrap_or_default()
}

/// A resource value as printed wherever kubectl shows one quantity: canonical when it parses,
/// verbatim otherwise so nothing the user wrote disappears.
pub(crate) fn display(v: &Value) -> String {
    match parse(v) {
        Some(q) => q.to_string(),
        None => crate::json::go_value(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn display_is_canonical_at_milli_precision_or_verbatim() {
        for (input, want) in [
            (json!("1000m"), "1"),
            (json!(" 1.5Gi "), "1536Mi"),
            (json!("1n"), "1m"),
            (json!(2), "2"),
            (json!(0.5), "500m"),
            (json!("lots"), "lots"),
        ] {
            assert_eq!(display(&input), want, "{input}");
        }
    }

    #[test]
    fn sums_keep_the_first_non_zero_format() {
        let list = |v: Value| resource_list(v.as_object());
        let mut total = ResourceList::new();
        add_into(&mut total, &list(json!({"cpu": "250m", "memory": "128Mi"})));
        add_into(&mut total, &list(json!({"cpu": "750m", "memory": "64Mi"})));
        add_into(&mut total, &list(json!({"memory": "1000"})));
        assert_eq!(get(&total, "cpu").to_string(), "1");
        assert_eq!(get(&total, "cpu").whole_units(), 1);
        assert_eq!(get(&total, "memory").to_string(), "201327592");
        assert_eq!(get(&total, "gpu").to_string(), "0");
        max_into(&mut total, &list(json!({"cpu": "2", "memory": "1"})));
        assert_eq!(get(&total, "cpu").to_string(), "2");
        assert_eq!(get(&total, "memory").to_string(), "201327592");
        assert_eq!(parse(&json!("1m")).map(|q| q.whole_units()), Some(1));
    }
}
