//! OpenAPI v3 documents: the `/openapi/v3` index and one document per group-version, with
//! paths carrying `x-kubernetes-group-version-kind` and the `fieldValidation` parameter (so
//! kubectl validates on the server) and the kinds' schemas (so `kubectl explain` works).
//! Documents are built once at start-up.

use std::collections::{BTreeMap, BTreeSet};
use std::hash::{DefaultHasher, Hash, Hasher};

use serde_json::{Map, Value, json};

use capstan_api_types::{ResourceInfo, registry};

use crate::schemas::Schemas;

pub struct OpenApi {
    /// "api/v1" / "apis/apps/v1" → (document JSON, hash)
    docs: BTreeMap<String, (String, String)>,
}

fn gv_key(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

fn param(name: &str, location: &str, description: &str) -> Value {
    json!({"name": name, "in": location, "description": description, "schema": {"type": "string", "uniqueItems": true}})
}

fn write_params() -> Vec<Value> {
    vec![
        param(
            "dryRun",
            "query",
            "When present, indicates that modifications should not be persisted.",
        ),
        param(
            "fieldManager",
            "query",
            "fieldManager is a name associated with the actor or entity that is making these changes.",
        ),
        param(
            "fieldValidation",
            "query",
            "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields. Valid values are: Ignore, Warn (default), Strict.",
        ),
    ]
}

fn operation(r: &ResourceInfo, action: &str, schema_ref: &str, params: Vec<Value>) -> Value {
    let id = format!("{action}{}", r.kind);
    let body_types = if action == "patch" {
        vec![
            "application/json-patch+json",
            "application/merge-patch+json",
            "application/strategic-merge-patch+json",
            "application/apply-patch+yaml",
        ]
    } else {
        vec!["application/json"]
    };
    let mut op = json!({
        "operationId": id,
        "x-kubernetes-action": action,
        "x-kubernetes-group-version-kind": {"group": r.group, "version": r.version, "kind": r.kind},
        "parameters": params,
        "responses": {"200": {"description": "OK", "content": {"application/json": {"schema": {"$ref": schema_ref}}}}},
    });
    if matches!(action, "post" | "put" | "patch") {
        let content: Map<String, Value> = body_types
            .into_iter()
            .map(|t| (t.to_string(), json!({"schema": {"$ref": schema_ref}})))
            .collect();
        op["requestBody"] = json!({"content": content, "required": true});
    }
    op
}

fn collect_refs(v: &Value, out: &mut BTreeSet<String>) {
    match v {
        Value::Object(m) => {
            if let Some(Value::String(r)) = m.get("$ref")
                && let Some(name) = r.strip_prefix("#/components/schemas/")
            {
                out.insert(name.to_string());
            }
            m.values().for_each(|x| collect_refs(x, out));
        }
        Value::Array(a) => a.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

fn document(group: &str, version: &str, schemas: &Schemas) -> Value {
    let mut paths = Map::new();
    let mut wanted = BTreeSet::new();
    for r in registry()
        .iter()
        .filter(|r| r.group == group && r.version == version)
    {
        let schema_ref = format!("#/components/schemas/{}", r.schema_name);
        wanted.insert(r.schema_name.clone());
        let base = format!("/{}", gv_key(group, version));
        let collection = if r.namespaced {
            format!("{base}/namespaces/{{namespace}}/{}", r.plural)
        } else {
            format!("{base}/{}", r.plural)
        };
        let item = format!("{collection}/{{name}}");
        let ns_param = r
            .namespaced
            .then(|| param("namespace", "path", "object name and auth scope"));
        let with_ns = |mut v: Vec<Value>| {
            if let Some(p) = &ns_param {
                v.insert(0, p.clone());
            }
            v
        };
        let name_param = param("name", "path", "name of the object");
        paths.insert(
            collection.clone(),
            json!({
                "get": operation(r, "list", &schema_ref, with_ns(vec![])),
                "post": operation(r, "post", &schema_ref, with_ns(write_params())),
                "delete": operation(r, "deletecollection", &schema_ref, with_ns(vec![])),
            }),
        );
        let mut item_write = vec![name_param.clone()];
        item_write.extend(write_params());
        let mut patch_params = item_write.clone();
        patch_params.push(param(
            "force",
            "query",
            "Force is going to \"force\" Apply requests.",
        ));
        paths.insert(
            item.clone(),
            json!({
                "get": operation(r, "get", &schema_ref, with_ns(vec![name_param.clone()])),
                "put": operation(r, "put", &schema_ref, with_ns(item_write.clone())),
                "patch": operation(r, "patch", &schema_ref, with_ns(patch_params.clone())),
                "delete": operation(r, "delete", &schema_ref, with_ns(vec![name_param.clone()])),
            }),
        );
        if r.namespaced {
            paths.insert(
                format!("{base}/{}", r.plural),
                json!({"get": operation(r, "list", &schema_ref, vec![])}),
            );
        }
        if r.has_status() {
            paths.insert(
                format!("{item}/status"),
                json!({
                    "get": operation(r, "get", &schema_ref, with_ns(vec![name_param.clone()])),
                    "put": operation(r, "put", &schema_ref, with_ns(item_write.clone())),
                    "patch": operation(r, "patch", &schema_ref, with_ns(patch_params.clone())),
                }),
            );
        }
    }
    let mut components = Map::new();
    let mut queue: Vec<String> = wanted.into_iter().collect();
    while let Some(name) = queue.pop() {
        if components.contains_key(&name) {
            continue;
        }
        if let Some(schema) = schemas.get(&name) {
            let mut refs = BTreeSet::new();
            collect_refs(schema, &mut refs);
            queue.extend(refs.into_iter().filter(|n| !components.contains_key(n)));
            components.insert(name, schema.clone());
        }
    }
    json!({
        "openapi": "3.0.0",
        "info": {"title": "Capstan", "version": capstan_api_types::KUBERNETES_GIT_VERSION},
        "paths": paths,
        "components": {"schemas": components},
    })
}

impl OpenApi {
    pub fn build(schemas: &Schemas) -> Self {
        let mut docs = BTreeMap::new();
        for (group, version) in registry::group_versions() {
            let doc = document(group, version, schemas).to_string();
            let mut h = DefaultHasher::new();
            doc.hash(&mut h);
            docs.insert(
                gv_key(group, version),
                (doc, format!("{:016X}", h.finish())),
            );
        }
        OpenApi { docs }
    }

    pub fn index(&self) -> Value {
        let paths: Map<String, Value> = self
            .docs
            .iter()
            .map(|(k, (_, hash))| {
                (
                    k.clone(),
                    json!({"serverRelativeURL": format!("/openapi/v3/{k}?hash={hash}")}),
                )
            })
            .collect();
        json!({"paths": paths})
    }

    pub fn document(&self, key: &str) -> Option<&str> {
        self.docs
            .get(key.trim_matches('/'))
            .map(|(d, _)| d.as_str())
    }
}
