//! OpenAPI schemas of every served kind, generated once from the `k8s-openapi` types, and the
//! unknown-field check (`fieldValidation`) that walks an object against them.

use serde_json::{Map, Value, json};

use capstan_api_types::schemars::generate::SchemaSettings;
use capstan_api_types::{ResourceInfo, registry};

pub struct Schemas {
    /// `components.schemas`: name → schema, references as `#/components/schemas/<name>`.
    pub definitions: Map<String, Value>,
}

const REF_PREFIX: &str = "#/components/schemas/";

impl Schemas {
    pub fn build() -> Self {
        let mut generator = SchemaSettings::openapi3().into_generator();
        for r in registry() {
            let _ = (r.subschema)(&mut generator);
        }
        let mut definitions = generator.take_definitions(true);
        // Group all kinds by schema so a schema shared by two resources (core and events.k8s.io
        // Events differ, but be general) lists every GVK.
        for r in registry() {
            if let Some(Value::Object(def)) = definitions.get_mut(&r.schema_name) {
                let gvk = json!({"group": r.group, "version": r.version, "kind": r.kind});
                let entry = def
                    .entry("x-kubernetes-group-version-kind")
                    .or_insert_with(|| json!([]));
                if let Value::Array(list) = entry
                    && !list.contains(&gvk)
                {
                    list.push(gvk);
                }
            }
        }
        let mut schemas = Schemas { definitions };
        schemas.annotate_patch_strategies();
        schemas
    }

    /// Adds the strategic-merge extensions (`x-kubernetes-patch-strategy`,
    /// `x-kubernetes-patch-merge-key`, list types) to list properties. kubectl computes
    /// client-side apply patches from them; without them it treats every list as atomic and
    /// re-sends (and replaces) lists such as `containers` whenever the server added defaults.
    fn annotate_patch_strategies(&mut self) {
        let mut found: Vec<(String, String, Value)> = Vec::new();
        for r in registry() {
            let mut path = Vec::new();
            self.collect_list_annotations(r.kind, &r.schema_name, &mut path, &mut found, 0);
        }
        for (def, prop, ext) in found {
            if let Some(Value::Object(p)) = self
                .definitions
                .get_mut(&def)
                .and_then(|d| d.get_mut("properties"))
                .and_then(|ps| ps.get_mut(&prop))
                && let Value::Object(ext) = ext
            {
                for (k, v) in ext {
                    p.entry(k).or_insert(v);
                }
            }
        }
    }

    fn collect_list_annotations(
        &self,
        kind: &str,
        def_name: &str,
        path: &mut Vec<String>,
        out: &mut Vec<(String, String, Value)>,
        depth: usize,
    ) {
        use crate::patch::merge_keys::{ListStrategy, list_strategy, retain_keys};
        if depth > 16 {
            return;
        }
        let Some(props) = self
            .definitions
            .get(def_name)
            .and_then(|d| d.get("properties"))
            .and_then(Value::as_object)
        else {
            return;
        };
        for (prop, schema) in props {
            path.push(prop.clone());
            let is_array = schema.get("type").and_then(Value::as_str) == Some("array");
            if is_array {
                let ext = match list_strategy(kind, path) {
                    ListStrategy::MergeByKey(key) => Some(json!({
                        "x-kubernetes-patch-strategy": if retain_keys(kind, path) { "merge,retainKeys" } else { "merge" },
                        "x-kubernetes-patch-merge-key": key,
                        "x-kubernetes-list-type": "map",
                        "x-kubernetes-list-map-keys": [key],
                    })),
                    ListStrategy::Set => Some(json!({
                        "x-kubernetes-patch-strategy": "merge",
                        "x-kubernetes-list-type": "set",
                    })),
                    ListStrategy::Atomic => None,
                };
                if let Some(ext) = ext {
                    out.push((def_name.to_string(), prop.clone(), ext));
                }
            } else if retain_keys(kind, path) {
                out.push((
                    def_name.to_string(),
                    prop.clone(),
                    json!({"x-kubernetes-patch-strategy": "retainKeys"}),
                ));
            }
            let child = if is_array {
                schema.get("items").unwrap_or(schema)
            } else {
                schema
            };
            let reference = child
                .get("$ref")
                .or_else(|| child.pointer("/allOf/0/$ref"))
                .and_then(Value::as_str)
                .and_then(|r| r.strip_prefix(REF_PREFIX));
            if let Some(next) = reference {
                self.collect_list_annotations(kind, next, path, out, depth + 1);
            }
            path.pop();
        }
    }

    pub fn get(&self, name: &str) -> Option<&Value> {
        self.definitions.get(name)
    }

    fn resolve<'a>(&'a self, mut schema: &'a Value) -> &'a Value {
        for _ in 0..8 {
            let reference = schema
                .get("$ref")
                .or_else(|| schema.pointer("/allOf/0/$ref"))
                .and_then(Value::as_str);
            match reference
                .and_then(|r| r.strip_prefix(REF_PREFIX))
                .and_then(|n| self.definitions.get(n))
            {
                Some(next) => schema = next,
                None => break,
            }
        }
        schema
    }

    /// Paths (`spec.containers[0].foo`) of fields the kind's schema does not define.
    pub fn unknown_fields(&self, schema_name: &str, obj: &Value) -> Vec<String> {
        let mut out = Vec::new();
        if let Some(schema) = self.definitions.get(schema_name) {
            self.walk(schema, obj, "", &mut out, 0);
        }
        out
    }

    fn walk(&self, schema: &Value, value: &Value, path: &str, out: &mut Vec<String>, depth: usize) {
        if depth > 64 {
            return;
        }
        let schema = self.resolve(schema);
        if schema.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true)) {
            return;
        }
        match value {
            Value::Object(map) => {
                let props = schema.get("properties").and_then(Value::as_object);
                let additional = schema.get("additionalProperties").filter(|a| a.is_object());
                for (k, v) in map {
                    let child = if path.is_empty() {
                        k.clone()
                    } else {
                        format!("{path}.{k}")
                    };
                    match (props.and_then(|p| p.get(k)), additional) {
                        (Some(s), _) => self.walk(s, v, &child, out, depth + 1),
                        (None, Some(a)) => self.walk(a, v, &child, out, depth + 1),
                        (None, None) if props.is_some() => out.push(child),
                        (None, None) => {}
                    }
                }
            }
            Value::Array(items) => {
                if let Some(item_schema) = schema.get("items") {
                    for (i, v) in items.iter().enumerate() {
                        self.walk(item_schema, v, &format!("{path}[{i}]"), out, depth + 1);
                    }
                }
            }
            _ => {}
        }
    }

    /// The schema of a resource's kind with its description, for `explain`.
    pub fn for_resource(&self, r: &ResourceInfo) -> Option<&Value> {
        self.definitions.get(&r.schema_name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_fields_are_found_at_any_depth() {
        let schemas = Schemas::build();
        let pod = json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "p", "labels": {"a": "b"}, "bogus": 1},
            "spec": {"containers": [{"name": "c", "image": "i", "imagee": "typo"}]},
        });
        let unknown = schemas.unknown_fields("io.k8s.api.core.v1.Pod", &pod);
        assert_eq!(unknown, vec!["metadata.bogus", "spec.containers[0].imagee"]);
    }

    #[test]
    fn list_properties_carry_strategic_merge_extensions() {
        let schemas = Schemas::build();
        let spec = schemas.get("io.k8s.api.core.v1.PodSpec").expect("pod spec");
        let containers = &spec["properties"]["containers"];
        assert_eq!(containers["x-kubernetes-patch-merge-key"], "name");
        assert_eq!(containers["x-kubernetes-patch-strategy"], "merge");
        let container = schemas
            .get("io.k8s.api.core.v1.Container")
            .expect("container");
        assert_eq!(
            container["properties"]["ports"]["x-kubernetes-patch-merge-key"],
            "containerPort"
        );
    }

    #[test]
    fn kinds_carry_their_group_version_kind() {
        let schemas = Schemas::build();
        let dep = schemas
            .get("io.k8s.api.apps.v1.Deployment")
            .expect("deployment schema");
        assert_eq!(
            dep["x-kubernetes-group-version-kind"],
            json!([{"group": "apps", "version": "v1", "kind": "Deployment"}])
        );
    }
}
