//! Strategic merge patch (`application/strategic-merge-patch+json`).
//!
//! Applies a patch document to an object the way the Kubernetes API server
//! does: maps merge recursively and `null` deletes a key; lists follow the
//! field's strategy from [`super::merge_keys`] (replace, merge by key, or
//! union of primitives); and the patch may carry directives: `$patch`
//! (`replace`/`delete`, on maps and as list items), `$retainKeys`,
//! `$setElementOrder/<list>` and `$deleteFromPrimitiveList/<list>`.
//! Directives are consumed here and never appear in the result.
//!
//! Element order follows the API server, not a naive append: items named in
//! the patch keep the patch's relative order, items only in the original keep
//! theirs, and the two are interleaved using the original positions, so an
//! item the original lacked lands ahead of the original items it is compared
//! with. `$setElementOrder` then imposes an explicit order on the named items.
//!
//! Two deliberate departures from the reference implementation, both where
//! its behaviour depends on Go map iteration order or leaks directives:
//! `$deleteFromPrimitiveList` is applied after the list is merged (so a value
//! both added and deleted ends up deleted), and values taken wholesale from
//! the patch (new keys, replaced maps and lists) are themselves cleaned of
//! directives and `null`s.

use serde_json::{Map, Value};

use super::merge_keys::{self, ListStrategy};

const PATCH: &str = "$patch";
const RETAIN_KEYS: &str = "$retainKeys";
const SET_ORDER_PREFIX: &str = "$setElementOrder/";
const DELETE_PRIMITIVE_PREFIX: &str = "$deleteFromPrimitiveList/";

/// Why a strategic merge patch could not be applied. Every variant is a
/// client error (the API server answers 400/422 for these).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PatchError {
    #[error("strategic merge patch must be a JSON object, got {0}")]
    PatchNotObject(&'static str),
    #[error("the object being patched must be a JSON object, got {0}")]
    OriginalNotObject(&'static str),
    #[error("{path}: list item {item} does not contain the merge key \"{key}\"")]
    MissingMergeKey {
        path: String,
        key: &'static str,
        item: String,
    },
    #[error("{path}: expected an object, got {found}")]
    NotAnObject { path: String, found: &'static str },
    #[error("{path}: expected a list, got {found}")]
    NotAList { path: String, found: &'static str },
    #[error("{path}: items of a primitive merge list must be primitives, got {found}")]
    NotAPrimitive { path: String, found: &'static str },
    #[error("{path}: unknown $patch directive {value}, expected \"replace\" or \"delete\"")]
    BadPatchDirective { path: String, value: String },
    #[error("{path}: \"$patch\": \"merge\" is not supported in lists")]
    MergeDirectiveInList { path: String },
    #[error("{path}: $retainKeys must be a list of strings")]
    BadRetainKeys { path: String },
    #[error("{path}: field \"{field}\" is present in the patch but missing from $retainKeys")]
    FieldNotRetained { path: String, field: String },
    #[error("{path}: {directive} must be a list")]
    DirectiveNotAList { path: String, directive: String },
    #[error("{path}: the order of items in the patch list does not match $setElementOrder/{field}")]
    OrderMismatch { path: String, field: String },
    #[error("{path}: unknown patch directive \"{key}\"")]
    UnknownDirective { path: String, key: String },
}

/// Applies `patch` to `original`, using the list metadata of `kind`.
///
/// Kinds without metadata (custom resources) treat every list as atomic;
/// Kubernetes refuses strategic merge patches for them altogether, which is
/// the caller's decision (see [`merge_keys::is_known_kind`]).
pub fn strategic_merge(kind: &str, original: &Value, patch: &Value) -> Result<Value, PatchError> {
    let original = match original {
        Value::Object(m) => m,
        other => return Err(PatchError::OriginalNotObject(type_name(other))),
    };
    let patch = match patch {
        Value::Object(m) => m,
        other => return Err(PatchError::PatchNotObject(type_name(other))),
    };
    let merger = Merger { kind };
    let mut path = Vec::new();
    let merged = merger.merge_map(&mut path, Some(original.clone()), patch)?;
    // `$patch: delete` at the root leaves nothing to keep.
    Ok(Value::Object(merged.unwrap_or_default()))
}

struct Merger<'a> {
    kind: &'a str,
}

impl Merger<'_> {
    /// Merges a patch map into an original map (absent when the key is new or
    /// held a non-object). `None` means the map is to be deleted.
    fn merge_map(
        &self,
        path: &mut Vec<String>,
        original: Option<Map<String, Value>>,
        patch: &Map<String, Value>,
    ) -> Result<Option<Map<String, Value>>, PatchError> {
        if let Some(directive) = patch.get(PATCH) {
            return match directive.as_str() {
                Some("replace") => {
                    let mut rest = patch.clone();
                    rest.shift_remove(PATCH);
                    self.merge_map(path, None, &rest)
                }
                Some("delete") => Ok(None),
                _ => Err(PatchError::BadPatchDirective {
                    path: display_path(path),
                    value: directive.to_string(),
                }),
            };
        }

        let mut result = original.unwrap_or_default();

        if let Some(retain) = patch.get(RETAIN_KEYS) {
            let keep = string_list(retain).ok_or_else(|| PatchError::BadRetainKeys {
                path: display_path(path),
            })?;
            for (key, value) in patch {
                if value.is_null() || key.starts_with('$') {
                    continue;
                }
                if !keep.contains(&key.as_str()) {
                    return Err(PatchError::FieldNotRetained {
                        path: display_path(path),
                        field: key.clone(),
                    });
                }
            }
            result.retain(|key, _| keep.contains(&key.as_str()));
        }

        let mut orders: Vec<(&str, &Value)> = Vec::new();
        let mut deletions: Vec<(&str, &Value)> = Vec::new();
        for (key, value) in patch {
            if let Some(field) = key.strip_prefix(SET_ORDER_PREFIX) {
                orders.push((field, value));
            } else if let Some(field) = key.strip_prefix(DELETE_PRIMITIVE_PREFIX) {
                deletions.push((field, value));
            } else if key.starts_with('$') && key != RETAIN_KEYS {
                return Err(PatchError::UnknownDirective {
                    path: display_path(path),
                    key: key.clone(),
                });
            }
        }
        // `$setElementOrder` interleaves with the list as it was before the
        // patch, so keep those lists aside.
        let before: Vec<Option<Value>> = orders
            .iter()
            .map(|(field, _)| result.get(*field).cloned())
            .collect();

        for (key, value) in patch {
            if key.starts_with('$') {
                continue;
            }
            path.push(key.clone());
            let merged = self.merge_value(path, result.get(key).cloned(), value);
            path.pop();
            match merged? {
                Some(v) => {
                    result.insert(key.clone(), v);
                }
                None => {
                    result.shift_remove(key);
                }
            }
        }

        for ((field, order), before) in orders.into_iter().zip(before) {
            path.push(field.to_owned());
            let outcome = self.apply_element_order(path, &mut result, field, order, before, patch);
            path.pop();
            outcome?;
        }

        for (field, values) in deletions {
            let Value::Array(values) = values else {
                return Err(PatchError::DirectiveNotAList {
                    path: display_path(path),
                    directive: format!("{DELETE_PRIMITIVE_PREFIX}{field}"),
                });
            };
            if let Some(Value::Array(list)) = result.get_mut(field) {
                list.retain(|item| !values.contains(item));
            }
        }

        Ok(Some(result))
    }

    fn merge_value(
        &self,
        path: &mut Vec<String>,
        original: Option<Value>,
        patch: &Value,
    ) -> Result<Option<Value>, PatchError> {
        match patch {
            Value::Null => Ok(None),
            Value::Object(patch_map) => {
                let original = match original {
                    Some(Value::Object(m)) if !merge_keys::replace_map(self.kind, path) => Some(m),
                    _ => None,
                };
                Ok(self
                    .merge_map(path, original, patch_map)?
                    .map(Value::Object))
            }
            Value::Array(patch_list) => {
                let original = match original {
                    Some(Value::Array(list)) => list,
                    _ => Vec::new(),
                };
                Ok(Some(Value::Array(
                    self.merge_list(path, original, patch_list)?,
                )))
            }
            scalar => Ok(Some(scalar.clone())),
        }
    }

    fn merge_list(
        &self,
        path: &mut Vec<String>,
        original: Vec<Value>,
        patch: &[Value],
    ) -> Result<Vec<Value>, PatchError> {
        match merge_keys::list_strategy(self.kind, path) {
            ListStrategy::Atomic => self.clean_list(path, patch),
            ListStrategy::Set => merge_primitives(path, original, patch),
            ListStrategy::MergeByKey(key) => self.merge_keyed(path, key, original, patch),
        }
    }

    /// Takes a list from the patch as-is, minus directives and `null` fields.
    fn clean_list(
        &self,
        path: &mut Vec<String>,
        patch: &[Value],
    ) -> Result<Vec<Value>, PatchError> {
        let mut out = Vec::with_capacity(patch.len());
        for item in patch {
            match item {
                // A directive item has no meaning in a list that is replaced
                // wholesale; the reference implementation drops it too.
                Value::Object(m) if m.contains_key(PATCH) => {}
                Value::Object(m) => {
                    if let Some(m) = self.merge_map(path, None, m)? {
                        out.push(Value::Object(m));
                    }
                }
                Value::Array(inner) => out.push(Value::Array(self.clean_list(path, inner)?)),
                other => out.push(other.clone()),
            }
        }
        Ok(out)
    }

    fn merge_keyed(
        &self,
        path: &mut Vec<String>,
        key: &'static str,
        original: Vec<Value>,
        patch: &[Value],
    ) -> Result<Vec<Value>, PatchError> {
        for item in &original {
            if !item.is_object() {
                return Err(PatchError::NotAnObject {
                    path: display_path(path),
                    found: type_name(item),
                });
            }
        }

        let mut working = original;
        let mut replace = false;
        let mut items: Vec<&Map<String, Value>> = Vec::with_capacity(patch.len());
        for item in patch {
            let Value::Object(m) = item else {
                return Err(PatchError::NotAnObject {
                    path: display_path(path),
                    found: type_name(item),
                });
            };
            match m.get(PATCH) {
                None => items.push(m),
                Some(directive) => match directive.as_str() {
                    Some("delete") => {
                        let target = m.get(key).ok_or_else(|| missing_key(path, key, item))?;
                        working.retain(|o| o.get(key) != Some(target));
                    }
                    Some("replace") => replace = true,
                    Some("merge") => {
                        return Err(PatchError::MergeDirectiveInList {
                            path: display_path(path),
                        });
                    }
                    _ => {
                        return Err(PatchError::BadPatchDirective {
                            path: display_path(path),
                            value: directive.to_string(),
                        });
                    }
                },
            }
        }

        if replace {
            // The remaining items become the list, in their own order.
            let mut out = Vec::with_capacity(items.len());
            for m in items {
                if let Some(m) = self.merge_map(path, None, m)? {
                    out.push(Value::Object(m));
                }
            }
            return Ok(out);
        }

        let server_order = working.clone();
        let mut patch_keys: Vec<&Value> = Vec::with_capacity(items.len());
        for m in items {
            let key_value = m
                .get(key)
                .ok_or_else(|| missing_key(path, key, &Value::Object(m.clone())))?;
            patch_keys.push(key_value);
            let existing = working.iter().position(|o| o.get(key) == Some(key_value));
            match existing {
                Some(idx) => {
                    let base = match std::mem::take(&mut working[idx]) {
                        Value::Object(o) => Some(o),
                        _ => None,
                    };
                    // A patch item carries no `$patch`, so it always yields a map.
                    let merged = self.merge_map(path, base, m)?.unwrap_or_default();
                    working[idx] = Value::Object(merged);
                }
                None => {
                    if let Some(new) = self.merge_map(path, None, m)? {
                        working.push(Value::Object(new));
                    }
                }
            }
        }

        let id = |v: &Value| v.get(key).cloned();
        let (mut from_patch, server_only): (Vec<Value>, Vec<Value>) = working
            .into_iter()
            .partition(|v| v.get(key).is_some_and(|k| patch_keys.contains(&k)));
        sort_by_reference(
            &mut from_patch,
            &patch_keys.into_iter().cloned().collect::<Vec<_>>(),
            |v| v.get(key).cloned(),
        );
        Ok(interleave(server_only, from_patch, &server_order, id))
    }

    fn apply_element_order(
        &self,
        path: &[String],
        result: &mut Map<String, Value>,
        field: &str,
        order: &Value,
        before: Option<Value>,
        patch: &Map<String, Value>,
    ) -> Result<(), PatchError> {
        let Value::Array(order) = order else {
            return Err(PatchError::DirectiveNotAList {
                path: display_path(&path[..path.len().saturating_sub(1)]),
                directive: format!("{SET_ORDER_PREFIX}{field}"),
            });
        };
        let key = match merge_keys::list_strategy(self.kind, path) {
            // The order of a replaced list is whatever the patch says.
            ListStrategy::Atomic => return Ok(()),
            ListStrategy::MergeByKey(key) => Some(key),
            ListStrategy::Set => None,
        };
        let identify = |v: &Value| -> Option<Value> {
            match key {
                Some(k) => v.get(k).cloned(),
                None => Some(v.clone()),
            }
        };
        let mut order_ids = Vec::with_capacity(order.len());
        for item in order {
            match key {
                Some(k) => {
                    let id = item.get(k).ok_or_else(|| missing_key(path, k, item))?;
                    order_ids.push(id.clone());
                }
                None => order_ids.push(item.clone()),
            }
        }

        // Every item of the patch list (deletions aside) must appear in the
        // order list, in the same relative order.
        if let Some(Value::Array(patch_list)) = patch.get(field) {
            let mut cursor = 0;
            for item in patch_list {
                if item.get(PATCH).is_some() {
                    continue;
                }
                let Some(id) = identify(item) else {
                    continue;
                };
                match order_ids[cursor..].iter().position(|o| *o == id) {
                    Some(offset) => cursor += offset + 1,
                    None => {
                        return Err(PatchError::OrderMismatch {
                            path: display_path(&path[..path.len().saturating_sub(1)]),
                            field: field.to_owned(),
                        });
                    }
                }
            }
        }

        let Some(Value::Array(merged)) = result.get_mut(field) else {
            return Ok(());
        };
        let server_order = match before {
            Some(Value::Array(list)) => list,
            _ => Vec::new(),
        };
        let (mut named, unnamed): (Vec<Value>, Vec<Value>) = std::mem::take(merged)
            .into_iter()
            .partition(|v| identify(v).is_some_and(|id| order_ids.contains(&id)));
        sort_by_reference(&mut named, &order_ids, identify);
        *merged = interleave(unnamed, named, &server_order, identify);
        Ok(())
    }
}

/// Union of two primitive lists, deduplicated, ordered like keyed lists.
fn merge_primitives(
    path: &[String],
    original: Vec<Value>,
    patch: &[Value],
) -> Result<Vec<Value>, PatchError> {
    for item in original.iter().chain(patch) {
        if item.is_object() || item.is_array() {
            return Err(PatchError::NotAPrimitive {
                path: display_path(path),
                found: type_name(item),
            });
        }
    }
    let mut all: Vec<Value> = Vec::with_capacity(original.len() + patch.len());
    for item in original.iter().chain(patch) {
        if !all.contains(item) {
            all.push(item.clone());
        }
    }
    let (mut from_patch, server_only): (Vec<Value>, Vec<Value>) =
        all.into_iter().partition(|v| patch.contains(v));
    sort_by_reference(&mut from_patch, patch, |v| Some(v.clone()));
    Ok(interleave(server_only, from_patch, &original, |v| {
        Some(v.clone())
    }))
}

/// Stable-sorts `items` by the position of their identity in `reference`.
fn sort_by_reference(
    items: &mut [Value],
    reference: &[Value],
    id: impl Fn(&Value) -> Option<Value>,
) {
    items.sort_by_key(|v| {
        id(v)
            .and_then(|k| reference.iter().position(|r| *r == k))
            .unwrap_or(usize::MAX)
    });
}

/// Merges two ordered lists into one, keeping each list's own order. An item
/// of `left` goes first only when both items were in `server_order` and the
/// left one came earlier there; anything new to the server goes first.
fn interleave(
    left: Vec<Value>,
    right: Vec<Value>,
    server_order: &[Value],
    id: impl Fn(&Value) -> Option<Value>,
) -> Vec<Value> {
    let position = |v: &Value| {
        let k = id(v)?;
        server_order.iter().position(|s| id(s).as_ref() == Some(&k))
    };
    let mut out = Vec::with_capacity(left.len() + right.len());
    let mut left = left.into_iter().peekable();
    let mut right = right.into_iter().peekable();
    loop {
        let take_left = match (left.peek(), right.peek()) {
            (Some(l), Some(r)) => {
                matches!((position(l), position(r)), (Some(li), Some(ri)) if li < ri)
            }
            (Some(_), None) => true,
            (None, Some(_)) => false,
            (None, None) => break,
        };
        let next = if take_left { left.next() } else { right.next() };
        out.extend(next);
    }
    out
}

fn missing_key(path: &[String], key: &'static str, item: &Value) -> PatchError {
    PatchError::MissingMergeKey {
        path: display_path(path),
        key,
        item: item.to_string(),
    }
}

fn string_list(value: &Value) -> Option<Vec<&str>> {
    value.as_array()?.iter().map(Value::as_str).collect()
}

fn display_path(path: &[String]) -> String {
    if path.is_empty() {
        ".".to_owned()
    } else {
        path.iter().map(|p| format!(".{p}")).collect()
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn has_directive(v: &Value) -> bool {
        match v {
            Value::Object(m) => m
                .iter()
                .any(|(k, v)| k.starts_with('$') || has_directive(v)),
            Value::Array(l) => l.iter().any(has_directive),
            _ => false,
        }
    }

    fn merge(kind: &str, original: Value, patch: Value) -> Value {
        let out = strategic_merge(kind, &original, &patch).unwrap();
        assert!(!has_directive(&out), "directive leaked: {out}");
        out
    }

    fn deployment(containers: Value) -> Value {
        json!({
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": "patch-demo", "labels": {"app": "nginx", "tier": "web"}},
            "spec": {
                "replicas": 2,
                "template": {"spec": {"containers": containers}}
            }
        })
    }

    fn containers(v: &Value) -> &Value {
        &v["spec"]["template"]["spec"]["containers"]
    }

    #[test]
    fn containers_merge_by_name() {
        // The documented kubectl patch example: adding a container keeps the
        // existing one; the new container is placed first, as the API server does.
        let original = deployment(json!([{"name": "patch-demo-ctr", "image": "nginx"}]));
        let patch = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "patch-demo-ctr-2", "image": "redis"}
        ]}}}});
        let out = merge("Deployment", original, patch);
        assert_eq!(
            containers(&out),
            &json!([
                {"name": "patch-demo-ctr-2", "image": "redis"},
                {"name": "patch-demo-ctr", "image": "nginx"}
            ])
        );
        assert_eq!(out["spec"]["replicas"], 2);
    }

    #[test]
    fn matching_items_merge_recursively() {
        let original = deployment(json!([
            {"name": "a", "image": "nginx", "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "2"}]},
            {"name": "b", "image": "busybox"}
        ]));
        let patch = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "a", "image": "nginx:1.25", "env": [{"name": "Y", "value": "3"}]}
        ]}}}});
        let out = merge("Deployment", original, patch);
        assert_eq!(
            containers(&out),
            &json!([
                {"name": "a", "image": "nginx:1.25", "env": [{"name": "X", "value": "1"}, {"name": "Y", "value": "3"}]},
                {"name": "b", "image": "busybox"}
            ])
        );
    }

    #[test]
    fn atomic_list_is_replaced() {
        let original = json!({"spec": {"tolerations": [{"key": "a", "effect": "NoSchedule"}]}});
        let patch = json!({"spec": {"tolerations": [{"key": "b", "effect": "NoExecute"}]}});
        let out = merge("Pod", original, patch);
        assert_eq!(
            out["spec"]["tolerations"],
            json!([{"key": "b", "effect": "NoExecute"}])
        );
    }

    #[test]
    fn null_deletes_keys() {
        let original = deployment(json!([]));
        let patch = json!({"metadata": {"labels": {"tier": null, "missing": null}}});
        let out = merge("Deployment", original, patch);
        assert_eq!(out["metadata"]["labels"], json!({"app": "nginx"}));
    }

    #[test]
    fn patch_delete_directive_in_list() {
        let original =
            deployment(json!([{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]));
        let patch = json!({"spec": {"template": {"spec": {"containers": [
            {"$patch": "delete", "name": "a"}
        ]}}}});
        let out = merge("Deployment", original, patch);
        assert_eq!(containers(&out), &json!([{"name": "b", "image": "y"}]));
    }

    #[test]
    fn patch_replace_directive_in_list() {
        let original =
            deployment(json!([{"name": "a", "image": "x"}, {"name": "b", "image": "y"}]));
        let patch = json!({"spec": {"template": {"spec": {"containers": [
            {"name": "c", "image": "z"},
            {"$patch": "replace"}
        ]}}}});
        let out = merge("Deployment", original, patch);
        assert_eq!(containers(&out), &json!([{"name": "c", "image": "z"}]));
    }

    #[test]
    fn patch_directives_on_maps() {
        let original = json!({"metadata": {"name": "p", "labels": {"a": "1", "b": "2"}}});
        let replaced = merge(
            "Pod",
            original.clone(),
            json!({"metadata": {"labels": {"$patch": "replace", "c": "3"}}}),
        );
        assert_eq!(replaced["metadata"]["labels"], json!({"c": "3"}));

        let deleted = merge(
            "Pod",
            original,
            json!({"metadata": {"labels": {"$patch": "delete"}}}),
        );
        assert_eq!(deleted["metadata"], json!({"name": "p"}));
    }

    #[test]
    fn retain_keys_clears_unlisted_fields() {
        let original = json!({"spec": {"strategy": {
            "type": "RollingUpdate",
            "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}
        }}});
        let with_retain = merge(
            "Deployment",
            original.clone(),
            json!({"spec": {"strategy": {"$retainKeys": ["type"], "type": "Recreate"}}}),
        );
        assert_eq!(with_retain["spec"]["strategy"], json!({"type": "Recreate"}));

        // Without the directive the old sub-struct survives (and validation
        // is what rejects it later).
        let without = merge(
            "Deployment",
            original.clone(),
            json!({"spec": {"strategy": {"type": "Recreate"}}}),
        );
        assert!(without["spec"]["strategy"].get("rollingUpdate").is_some());

        let err = strategic_merge(
            "Deployment",
            &original,
            &json!({"spec": {"strategy": {"$retainKeys": ["type"], "rollingUpdate": {}}}}),
        )
        .unwrap_err();
        assert!(
            matches!(err, PatchError::FieldNotRetained { ref field, .. } if field == "rollingUpdate")
        );
    }

    #[test]
    fn retain_keys_on_volume_source() {
        let original = json!({"spec": {"volumes": [{"name": "data", "emptyDir": {}}]}});
        let patch = json!({"spec": {"volumes": [
            {"$retainKeys": ["name", "hostPath"], "name": "data", "hostPath": {"path": "/x"}}
        ]}});
        let out = merge("Pod", original, patch);
        assert_eq!(
            out["spec"]["volumes"],
            json!([{"name": "data", "hostPath": {"path": "/x"}}])
        );
    }

    #[test]
    fn finalizers_are_a_set() {
        let original = json!({"metadata": {"finalizers": ["a", "b"]}});
        let out = merge(
            "ConfigMap",
            original.clone(),
            json!({"metadata": {"finalizers": ["b", "c"]}}),
        );
        assert_eq!(out["metadata"]["finalizers"], json!(["a", "b", "c"]));

        let out = merge(
            "ConfigMap",
            original.clone(),
            json!({"metadata": {"finalizers": ["c"]}}),
        );
        assert_eq!(out["metadata"]["finalizers"], json!(["c", "a", "b"]));

        let out = merge(
            "ConfigMap",
            original,
            json!({"metadata": {"$deleteFromPrimitiveList/finalizers": ["a"]}}),
        );
        assert_eq!(out["metadata"]["finalizers"], json!(["b"]));
    }

    #[test]
    fn set_element_order_orders_merged_list() {
        let original = deployment(json!([{"name": "a"}, {"name": "b"}, {"name": "c"}]));
        let patch = json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "c"}, {"name": "a"}, {"name": "b"}],
            "containers": [{"name": "a", "image": "x"}]
        }}}});
        let out = merge("Deployment", original.clone(), patch);
        assert_eq!(
            containers(&out),
            &json!([{"name": "c"}, {"name": "a", "image": "x"}, {"name": "b"}])
        );

        // Items the order list leaves out keep their place relative to the
        // original order.
        let patch = json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "c"}, {"name": "a"}]
        }}}});
        let out = merge("Deployment", original, patch);
        assert_eq!(
            containers(&out),
            &json!([{"name": "b"}, {"name": "c"}, {"name": "a"}])
        );
    }

    #[test]
    fn set_element_order_places_server_only_items_by_live_position() {
        // The live list has items the client never saw (x, y); they stay
        // next to their live neighbours while the rest follows the order list.
        let vol = |n: &str| json!({"name": n});
        let original = json!({"spec": {"volumes": [
            {"name": "a", "emptyDir": {}}, vol("b"), vol("x"), vol("y"), vol("c"), vol("d")
        ]}});
        let patch =
            json!({"spec": {"$setElementOrder/volumes": [vol("b"), vol("a"), vol("d"), vol("c")]}});
        let out = merge("Pod", original, patch);
        assert_eq!(
            out["spec"]["volumes"],
            json!([vol("b"), {"name": "a", "emptyDir": {}}, vol("x"), vol("y"), vol("d"), vol("c")])
        );

        // Adding and deleting in the same patch.
        let original = json!({"spec": {"volumes": [vol("a"), vol("c"), vol("b")]}});
        let patch = json!({"spec": {
            "$setElementOrder/volumes": [vol("d"), vol("b"), vol("a")],
            "volumes": [vol("d"), {"name": "c", "$patch": "delete"}]
        }});
        let out = merge("Pod", original, patch);
        assert_eq!(
            out["spec"]["volumes"],
            json!([vol("d"), vol("b"), vol("a")])
        );
    }

    #[test]
    fn set_element_order_for_primitives_with_deletion() {
        // What kubectl sends to turn [a, b] into [a, c].
        let original = json!({"metadata": {"finalizers": ["a", "b"]}});
        let patch = json!({"metadata": {
            "$setElementOrder/finalizers": ["a", "c"],
            "$deleteFromPrimitiveList/finalizers": ["b"],
            "finalizers": ["c"]
        }});
        let out = merge("Secret", original, patch);
        assert_eq!(out["metadata"]["finalizers"], json!(["a", "c"]));
    }

    #[test]
    fn set_element_order_must_agree_with_patch_list() {
        let original = deployment(json!([{"name": "a"}, {"name": "b"}]));
        let patch = json!({"spec": {"template": {"spec": {
            "$setElementOrder/containers": [{"name": "b"}, {"name": "a"}],
            "containers": [{"name": "a"}, {"name": "b"}]
        }}}});
        let err = strategic_merge("Deployment", &original, &patch).unwrap_err();
        assert!(matches!(err, PatchError::OrderMismatch { .. }), "{err}");
    }

    #[test]
    fn directives_in_new_subtrees_do_not_leak() {
        let original = json!({"metadata": {"name": "p"}});
        let patch = json!({"spec": {
            "$setElementOrder/containers": [{"name": "a"}],
            "containers": [
                {"name": "a", "image": "x", "env": [{"name": "E", "value": null}]},
                {"$patch": "delete", "name": "gone"}
            ],
            "affinity": {"$patch": "replace", "nodeAffinity": {}}
        }});
        let out = merge("Pod", original, patch);
        assert_eq!(
            out["spec"],
            json!({
                "containers": [{"name": "a", "image": "x", "env": [{"name": "E"}]}],
                "affinity": {"nodeAffinity": {}}
            })
        );
    }

    #[test]
    fn replace_strategy_map() {
        let original = json!({"spec": {"selector": {"matchLabels": {"a": "1"}}}});
        let patch = json!({"spec": {"selector": {"matchExpressions": []}}});
        let out = merge("PodDisruptionBudget", original.clone(), patch.clone());
        assert_eq!(out["spec"]["selector"], json!({"matchExpressions": []}));
        // Other kinds merge selectors key by key.
        let out = merge("Deployment", original, patch);
        assert_eq!(
            out["spec"]["selector"],
            json!({"matchLabels": {"a": "1"}, "matchExpressions": []})
        );
    }

    #[test]
    fn malformed_patches_are_rejected() {
        let original = deployment(json!([{"name": "a"}]));
        let missing_key = json!({"spec": {"template": {"spec": {"containers": [{"image": "x"}]}}}});
        let err = strategic_merge("Deployment", &original, &missing_key).unwrap_err();
        assert_eq!(
            err.to_string(),
            ".spec.template.spec.containers: list item {\"image\":\"x\"} does not contain the merge key \"name\""
        );

        let not_object = json!({"spec": {"template": {"spec": {"containers": ["a"]}}}});
        let err = strategic_merge("Deployment", &original, &not_object).unwrap_err();
        assert!(matches!(err, PatchError::NotAnObject { .. }), "{err}");

        let bad_directive = json!({"metadata": {"$patch": "explode"}});
        let err = strategic_merge("Deployment", &original, &bad_directive).unwrap_err();
        assert!(matches!(err, PatchError::BadPatchDirective { .. }), "{err}");

        let unknown = json!({"metadata": {"$frobnicate": 1}});
        let err = strategic_merge("Deployment", &original, &unknown).unwrap_err();
        assert!(matches!(err, PatchError::UnknownDirective { .. }), "{err}");

        let err = strategic_merge("Deployment", &original, &json!([1])).unwrap_err();
        assert_eq!(err, PatchError::PatchNotObject("a list"));

        let err = strategic_merge(
            "Pod",
            &json!({"metadata": {"finalizers": ["a"]}}),
            &json!({"metadata": {"finalizers": [{"x": 1}]}}),
        )
        .unwrap_err();
        assert!(matches!(err, PatchError::NotAPrimitive { .. }), "{err}");
    }

    #[test]
    fn unknown_kinds_replace_lists() {
        let original =
            json!({"spec": {"items": [{"name": "a"}]}, "metadata": {"finalizers": ["x"]}});
        let patch = json!({"spec": {"items": [{"name": "b"}]}, "metadata": {"finalizers": ["y"]}});
        let out = merge("Widget", original, patch);
        assert_eq!(out["spec"]["items"], json!([{"name": "b"}]));
        // ObjectMeta is the same for every object.
        assert_eq!(out["metadata"]["finalizers"], json!(["y", "x"]));
    }
}
