//! What the server is and offers: `capstan version`, `capstan api-resources`, and
//! `capstan explain TYPE[.field…]` from the server's OpenAPI v3 documents.

use serde_json::Value;

use super::resources::{Resource, Resources};
use super::table::align;
use super::{CliError, Target};

pub async fn version(target: &Target, output: Option<&str>) -> Result<String, CliError> {
    let client_version = serde_json::json!({
        "gitVersion": format!("v{}", env!("CARGO_PKG_VERSION")),
        "platform": format!("{}/{}", std::env::consts::OS, std::env::consts::ARCH),
    });
    let server = match target.connect().await {
        Ok((client, _)) => client
            .apiserver_version()
            .await
            .map_err(CliError::from_kube("getting the server version")),
        Err(e) => Err(e),
    };
    match output {
        Some("json") | Some("yaml") => {
            let mut doc = serde_json::json!({"clientVersion": client_version});
            if let Ok(s) = &server {
                doc["serverVersion"] = serde_json::to_value(s).unwrap_or_default();
            }
            let text = if output == Some("json") {
                serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
            } else {
                serde_yaml::to_string(&doc).unwrap_or_default()
            };
            server.map(|_| text)
        }
        Some(other) => Err(CliError::Input(format!(
            "--output must be 'yaml' or 'json', not {other}"
        ))),
        None => {
            let mut out = format!(
                "Client Version: {}\n",
                client_version["gitVersion"].as_str().unwrap_or_default()
            );
            match server {
                Ok(s) => {
                    out.push_str(&format!("Server Version: {}\n", s.git_version));
                    Ok(out)
                }
                Err(e) => {
                    print!("{out}");
                    Err(e)
                }
            }
        }
    }
}

#[derive(Debug, Clone, clap::Args)]
pub struct ApiResourcesArgs {
    /// Only namespaced (true) or cluster-wide (false) resources.
    #[arg(long)]
    pub namespaced: Option<bool>,
    /// Only this API group ("" for core).
    #[arg(long)]
    pub api_group: Option<String>,
    /// wide (adds VERBS) or name.
    #[arg(short = 'o', long)]
    pub output: Option<String>,
    #[arg(long)]
    pub no_headers: bool,
}

pub async fn api_resources(target: &Target, args: &ApiResourcesArgs) -> Result<String, CliError> {
    let (client, _) = target.connect().await?;
    let resources = Resources::discover(&client).await?;
    let mut list: Vec<&Resource> = resources
        .all()
        .iter()
        .filter(|r| args.namespaced.is_none_or(|n| r.namespaced == n))
        .filter(|r| args.api_group.as_ref().is_none_or(|g| r.ar.group == *g))
        .collect();
    list.sort_by(|a, b| (&a.ar.group, &a.ar.plural).cmp(&(&b.ar.group, &b.ar.plural)));
    if args.output.as_deref() == Some("name") {
        return Ok(list
            .iter()
            .map(|r| {
                if r.ar.group.is_empty() {
                    format!("{}\n", r.ar.plural)
                } else {
                    format!("{}.{}\n", r.ar.plural, r.ar.group)
                }
            })
            .collect());
    }
    let wide = match args.output.as_deref() {
        None => false,
        Some("wide") => true,
        Some(o) => {
            return Err(CliError::Input(format!(
                "--output {o} is not available for api-resources (use wide or name)"
            )));
        }
    };
    let mut rows = Vec::new();
    if !args.no_headers {
        let mut h: Vec<String> = ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
            .map(String::from)
            .to_vec();
        if wide {
            h.push("VERBS".into());
        }
        rows.push(h);
    }
    for r in list {
        let mut row = vec![
            r.ar.plural.clone(),
            r.short_names.join(","),
            r.ar.api_version.clone(),
            r.namespaced.to_string(),
            r.ar.kind.clone(),
        ];
        if wide {
            row.push(format!("[{}]", r.verbs.join(" ")));
        }
        rows.push(row);
    }
    Ok(align(&rows))
}

#[derive(Debug, Clone, clap::Args)]
pub struct ExplainArgs {
    /// TYPE or TYPE.field.field (pods.spec.containers).
    pub path: String,
    /// Every field beneath, as a tree.
    #[arg(long)]
    pub recursive: bool,
}

pub async fn explain(target: &Target, args: &ExplainArgs) -> Result<String, CliError> {
    let (client, _) = target.connect().await?;
    let resources = Resources::discover(&client).await?;
    let mut parts = args.path.split('.');
    let kind = parts.next().unwrap_or_default();
    let fields: Vec<&str> = parts.filter(|p| !p.is_empty()).collect();
    let r = resources.find(kind)?;
    let key = if r.ar.group.is_empty() {
        format!("api/{}", r.ar.version)
    } else {
        format!("apis/{}/{}", r.ar.group, r.ar.version)
    };
    let req = http::Request::get(format!("/openapi/v3/{key}"))
        .body(Vec::new())
        .map_err(|e| CliError::Input(e.to_string()))?;
    let doc: Value = client
        .request(req)
        .await
        .map_err(CliError::from_kube("reading the OpenAPI document"))?;
    let schemas = &doc["components"]["schemas"];
    let root =
        find_kind_schema(schemas, &r.ar.group, &r.ar.version, &r.ar.kind).ok_or_else(|| {
            CliError::Input(format!(
                "no schema for {} in the server's OpenAPI",
                r.ar.kind
            ))
        })?;
    render_explain(
        schemas,
        root,
        &r.ar.kind,
        &r.ar.api_version,
        &fields,
        args.recursive,
    )
}

/// The schema tagged with the kind's group/version/kind, else the one named `….<version>.<Kind>`.
pub fn find_kind_schema<'a>(
    schemas: &'a Value,
    group: &str,
    version: &str,
    kind: &str,
) -> Option<&'a Value> {
    let map = schemas.as_object()?;
    map.values()
        .find(|s| {
            s["x-kubernetes-group-version-kind"]
                .as_array()
                .is_some_and(|l| {
                    l.iter().any(|g| {
                        g["group"] == group && g["version"] == version && g["kind"] == kind
                    })
                })
        })
        .or_else(|| {
            map.iter()
                .find(|(name, _)| name.ends_with(&format!(".{version}.{kind}")))
                .map(|(_, s)| s)
        })
}

/// Follows `$ref` and single-element `allOf` wrappers to the schema they stand for.
fn resolve<'a>(schemas: &'a Value, mut s: &'a Value) -> &'a Value {
    for _ in 0..16 {
        if let Some(r) = s["$ref"].as_str() {
            let name = r.rsplit('/').next().unwrap_or_default();
            s = &schemas[name];
        } else if let Some([only]) = s["allOf"].as_array().map(Vec::as_slice) {
            s = only;
        } else {
            break;
        }
    }
    s
}

fn ref_name(s: &Value) -> Option<String> {
    let r = s["$ref"]
        .as_str()
        .or_else(|| s["allOf"][0]["$ref"].as_str())?;
    let full = r.rsplit('/').next()?;
    Some(full.rsplit('.').next().unwrap_or(full).to_string())
}

/// kubectl's `<string>`, `<[]Container>`, `<map[string]string>`, `<PodSpec>`.
pub fn type_name(schemas: &Value, s: &Value) -> String {
    if let Some(n) = ref_name(s) {
        let resolved = resolve(schemas, s);
        // Quantities and times are strings on the wire; kubectl names them by their type.
        return match resolved["type"].as_str() {
            Some("string") | Some("integer") if resolved["properties"].is_null() => {
                if n == "Quantity" || n == "IntOrString" || n == "Time" || n == "MicroTime" {
                    n
                } else {
                    resolved["type"].as_str().unwrap_or("Object").to_string()
                }
            }
            _ => n,
        };
    }
    match s["type"].as_str() {
        Some("array") => format!("[]{}", type_name(schemas, &s["items"])),
        Some("object") if s["additionalProperties"].is_object() => {
            format!(
                "map[string]{}",
                type_name(schemas, &s["additionalProperties"])
            )
        }
        Some("object") => "Object".into(),
        Some(t) => t.to_string(),
        None if s["x-kubernetes-int-or-string"] == true => "IntOrString".into(),
        None => "Object".into(),
    }
}

fn wrap(text: &str, indent: usize, width: usize) -> String {
    let pad = " ".repeat(indent);
    let mut out = String::new();
    for para in text.split('\n') {
        let mut line = String::new();
        for word in para.split_whitespace() {
            if !line.is_empty() && indent + line.len() + 1 + word.len() > width {
                out.push_str(&format!("{pad}{line}\n"));
                line.clear();
            }
            if !line.is_empty() {
                line.push(' ');
            }
            line.push_str(word);
        }
        out.push_str(&format!("{pad}{line}\n"));
    }
    out
}

/// The body of `explain` for `fields` beneath the kind's schema.
pub fn render_explain(
    schemas: &Value,
    root: &Value,
    kind: &str,
    api_version: &str,
    fields: &[&str],
    recursive: bool,
) -> Result<String, CliError> {
    let (group, version) = match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    };
    let mut out = String::new();
    if !group.is_empty() {
        out.push_str(&format!("GROUP:      {group}\n"));
    }
    out.push_str(&format!("KIND:       {kind}\nVERSION:    {version}\n\n"));
    let mut node = root;
    let mut field_line = None;
    for (i, f) in fields.iter().enumerate() {
        let mut here = resolve(schemas, node);
        if here["type"] == "array" {
            here = resolve(schemas, &here["items"]);
        }
        let Some(child) = here["properties"].get(*f) else {
            return Err(CliError::Input(format!(
                "field \"{f}\" does not exist{}",
                if i == 0 {
                    String::new()
                } else {
                    format!(" in {}", fields[..i].join("."))
                }
            )));
        };
        field_line = Some(format!("FIELD: {f} <{}>\n\n", type_name(schemas, child)));
        node = child;
    }
    if let Some(l) = field_line {
        out.push_str(&l);
    }
    let description = node["description"]
        .as_str()
        .or_else(|| resolve(schemas, node)["description"].as_str())
        .unwrap_or_default();
    out.push_str("DESCRIPTION:\n");
    out.push_str(&wrap(description, 4, 80));
    let mut body = resolve(schemas, node);
    if body["type"] == "array" {
        body = resolve(schemas, &body["items"]);
    }
    if let Some(props) = body["properties"].as_object() {
        out.push_str("\nFIELDS:\n");
        let required: Vec<&str> = body["required"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        if recursive {
            tree(schemas, body, 1, &mut out, 0);
        } else {
            for (name, s) in props {
                let req = if required.contains(&name.as_str()) {
                    " -required-"
                } else {
                    ""
                };
                out.push_str(&format!("  {name}\t<{}>{req}\n", type_name(schemas, s)));
                let d = s["description"]
                    .as_str()
                    .or_else(|| resolve(schemas, s)["description"].as_str())
                    .unwrap_or_default();
                let first = d.split("\n\n").next().unwrap_or_default();
                out.push_str(&wrap(first, 4, 80));
                out.push('\n');
            }
        }
    }
    Ok(out)
}

fn tree(schemas: &Value, s: &Value, depth: usize, out: &mut String, guard: usize) {
    if guard > 12 {
        return;
    }
    let Some(props) = s["properties"].as_object() else {
        return;
    };
    for (name, child) in props {
        out.push_str(&format!(
            "{}{name}\t<{}>\n",
            "  ".repeat(depth),
            type_name(schemas, child)
        ));
        let mut inner = resolve(schemas, child);
        if inner["type"] == "array" {
            inner = resolve(schemas, &inner["items"]);
        }
        tree(schemas, inner, depth + 1, out, guard + 1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn schemas() -> Value {
        json!({
            "io.k8s.api.core.v1.Pod": {
                "description": "Pod is a collection of containers.",
                "x-kubernetes-group-version-kind": [{"group": "", "version": "v1", "kind": "Pod"}],
                "properties": {
                    "spec": {"allOf": [{"$ref": "#/components/schemas/io.k8s.api.core.v1.PodSpec"}],
                             "description": "Specification of the desired behavior of the pod."}
                }
            },
            "io.k8s.api.core.v1.PodSpec": {
                "description": "PodSpec is a description of a pod.",
                "required": ["containers"],
                "properties": {
                    "containers": {"type": "array", "description": "List of containers.",
                                   "items": {"allOf": [{"$ref": "#/components/schemas/io.k8s.api.core.v1.Container"}]}},
                    "nodeSelector": {"type": "object", "additionalProperties": {"type": "string"},
                                     "description": "Selector."}
                }
            },
            "io.k8s.api.core.v1.Container": {
                "required": ["name"],
                "properties": {"name": {"type": "string", "description": "Name of the container."}}
            }
        })
    }

    #[test]
    fn explains_nested_fields() {
        let s = schemas();
        let root = find_kind_schema(&s, "", "v1", "Pod").unwrap();
        let out = render_explain(&s, root, "Pod", "v1", &["spec"], false).unwrap();
        assert!(out.starts_with("KIND:       Pod\nVERSION:    v1\n\nFIELD: spec <PodSpec>\n"));
        assert!(out.contains("  containers\t<[]Container> -required-\n    List of containers.\n"));
        assert!(out.contains("  nodeSelector\t<map[string]string>\n"));
        let out = render_explain(&s, root, "Pod", "v1", &["spec", "containers"], false).unwrap();
        assert!(out.contains("  name\t<string> -required-\n"));
        assert!(render_explain(&s, root, "Pod", "v1", &["nope"], false).is_err());
    }
}
