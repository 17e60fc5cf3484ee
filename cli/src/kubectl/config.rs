//! `capstan config view|get-contexts|current-context|use-context|set-context`: reading and
//! editing kubeconfig files the way kubectl does (the first file of $KUBECONFIG, else
//! ~/.kube/config, is the one written), secrets redacted unless `--raw`.

use std::path::PathBuf;

use serde_json::Value;

use super::CliError;
use super::table::align;

#[derive(Debug, Clone, clap::Subcommand)]
pub enum ConfigCommand {
    /// The merged kubeconfig (certificates and tokens redacted unless --raw).
    View {
        /// Only what the current context uses.
        #[arg(long)]
        minify: bool,
        #[arg(long)]
        raw: bool,
    },
    /// Every context, the current one starred.
    GetContexts,
    CurrentContext,
    /// Make NAME the current context.
    UseContext {
        name: String,
    },
    /// Change a context's namespace (NAME, or the current one with --current).
    SetContext {
        name: Option<String>,
        #[arg(long)]
        current: bool,
        #[arg(long)]
        namespace: Option<String>,
    },
}

/// The kubeconfig files in play: --kubeconfig, else $KUBECONFIG's list, else ~/.kube/config.
fn files(explicit: Option<&PathBuf>) -> Vec<PathBuf> {
    if let Some(p) = explicit {
        return vec![p.clone()];
    }
    if let Some(list) = std::env::var_os("KUBECONFIG").filter(|v| !v.is_empty()) {
        return std::env::split_paths(&list)
            .filter(|p| !p.as_os_str().is_empty())
            .collect();
    }
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    vec![home.join(".kube").join("config")]
}

fn read(path: &PathBuf) -> Result<Value, CliError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| CliError::Input(format!("{}: {e}", path.display())))?;
    serde_yaml::from_str::<Value>(&text)
        .map_err(|e| CliError::Input(format!("{}: {e}", path.display())))
}

/// Merged as kubectl merges: the first file to set a field or name an entry wins.
pub fn merge(docs: &[Value]) -> Value {
    let mut out = serde_json::json!({
        "apiVersion": "v1", "kind": "Config", "clusters": [], "contexts": [],
        "users": [], "preferences": {}, "current-context": ""
    });
    for d in docs {
        if out["current-context"] == ""
            && let Some(c) = d["current-context"].as_str()
        {
            out["current-context"] = Value::String(c.to_string());
        }
        for list in ["clusters", "contexts", "users"] {
            for entry in d[list].as_array().into_iter().flatten() {
                let exists = out[list]
                    .as_array()
                    .is_some_and(|l| l.iter().any(|e| e["name"] == entry["name"]));
                if !exists && let Some(l) = out[list].as_array_mut() {
                    l.push(entry.clone());
                }
            }
        }
    }
    out
}

fn redact(config: &mut Value) {
    for c in config["clusters"].as_array_mut().into_iter().flatten() {
        if c["cluster"].get("certificate-authority-data").is_some() {
            c["cluster"]["certificate-authority-data"] = "DATA+OMITTED".into();
        }
    }
    for u in config["users"].as_array_mut().into_iter().flatten() {
        for (k, v) in [
            ("client-certificate-data", "DATA+OMITTED"),
            ("client-key-data", "DATA+OMITTED"),
            ("token", "REDACTED"),
            ("password", "REDACTED"),
        ] {
            if u["user"].get(k).is_some() {
                u["user"][k] = v.into();
            }
        }
    }
}

fn minify(config: &mut Value) -> Result<(), CliError> {
    let current = config["current-context"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let ctx = config["contexts"]
        .as_array()
        .and_then(|l| l.iter().find(|c| c["name"] == current.as_str()))
        .cloned()
        .ok_or_else(|| CliError::Input("current-context must exist in order to minify".into()))?;
    let keep = |list: &str, name: &Value| -> Value {
        Value::Array(
            config[list]
                .as_array()
                .into_iter()
                .flatten()
                .filter(|e| e["name"] == *name)
                .cloned()
                .collect(),
        )
    };
    let clusters = keep("clusters", &ctx["context"]["cluster"]);
    let users = keep("users", &ctx["context"]["user"]);
    config["clusters"] = clusters;
    config["users"] = users;
    config["contexts"] = Value::Array(vec![ctx]);
    Ok(())
}

/// The file that holds `context` (or the first one), for writes.
fn file_with_context(paths: &[PathBuf], context: Option<&str>) -> Option<(PathBuf, Value)> {
    let docs: Vec<(PathBuf, Value)> = paths
        .iter()
        .filter_map(|p| read(p).ok().map(|d| (p.clone(), d)))
        .collect();
    if let Some(name) = context
        && let Some(found) = docs.iter().find(|(_, d)| {
            d["contexts"]
                .as_array()
                .is_some_and(|l| l.iter().any(|c| c["name"] == name))
        })
    {
        return Some(found.clone());
    }
    docs.into_iter().next()
}

fn write(path: &PathBuf, doc: &Value) -> Result<(), CliError> {
    let text = serde_yaml::to_string(doc).map_err(|e| CliError::Input(e.to_string()))?;
    std::fs::write(path, text).map_err(|e| CliError::Input(format!("{}: {e}", path.display())))
}

pub fn run(explicit: Option<&PathBuf>, cmd: &ConfigCommand) -> Result<String, CliError> {
    let paths = files(explicit);
    let docs: Vec<Value> = paths.iter().filter_map(|p| read(p).ok()).collect();
    let mut merged = merge(&docs);
    let current = merged["current-context"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    match cmd {
        ConfigCommand::View { minify: m, raw } => {
            if *m {
                minify(&mut merged)?;
            }
            if !raw {
                redact(&mut merged);
            }
            serde_yaml::to_string(&merged).map_err(|e| CliError::Input(e.to_string()))
        }
        ConfigCommand::CurrentContext => {
            if current.is_empty() {
                return Err(CliError::Input("current-context is not set".into()));
            }
            Ok(format!("{current}\n"))
        }
        ConfigCommand::GetContexts => {
            let mut rows = vec![
                ["CURRENT", "NAME", "CLUSTER", "AUTHINFO", "NAMESPACE"]
                    .map(String::from)
                    .to_vec(),
            ];
            for c in merged["contexts"].as_array().into_iter().flatten() {
                let name = c["name"].as_str().unwrap_or_default();
                rows.push(vec![
                    if name == current {
                        "*".into()
                    } else {
                        String::new()
                    },
                    name.to_string(),
                    c["context"]["cluster"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    c["context"]["user"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                    c["context"]["namespace"]
                        .as_str()
                        .unwrap_or_default()
                        .to_string(),
                ]);
            }
            Ok(align(&rows))
        }
        ConfigCommand::UseContext { name } => {
            let known = merged["contexts"]
                .as_array()
                .is_some_and(|l| l.iter().any(|c| c["name"] == name.as_str()));
            if !known {
                return Err(CliError::Input(format!(
                    "no context exists with the name: \"{name}\""
                )));
            }
            // kubectl writes current-context to the first file that has one, else the first.
            let target = paths
                .iter()
                .find(|p| read(p).is_ok_and(|d| d["current-context"].is_string()))
                .or(paths.first())
                .cloned()
                .ok_or_else(|| CliError::Input("no kubeconfig file to write".into()))?;
            let mut doc = read(&target)?;
            doc["current-context"] = Value::String(name.clone());
            write(&target, &doc)?;
            Ok(format!("Switched to context \"{name}\".\n"))
        }
        ConfigCommand::SetContext {
            name,
            current: use_current,
            namespace,
        } => {
            let name = match (name, use_current) {
                (Some(n), false) => n.clone(),
                (None, true) if !current.is_empty() => current.clone(),
                _ => {
                    return Err(CliError::Input(
                        "give a context NAME or --current (not both)".into(),
                    ));
                }
            };
            let (path, mut doc) = file_with_context(&paths, Some(&name))
                .ok_or_else(|| CliError::Input("no kubeconfig file to write".into()))?;
            let list = doc["contexts"].as_array_mut();
            let created = match list {
                Some(l) => match l.iter_mut().find(|c| c["name"] == name.as_str()) {
                    Some(c) => {
                        if let Some(ns) = namespace {
                            c["context"]["namespace"] = Value::String(ns.clone());
                        }
                        false
                    }
                    None => {
                        let mut c = serde_json::json!({"name": name, "context": {}});
                        if let Some(ns) = namespace {
                            c["context"]["namespace"] = Value::String(ns.clone());
                        }
                        l.push(c);
                        true
                    }
                },
                None => {
                    doc["contexts"] =
                        serde_json::json!([{"name": name, "context": {"namespace": namespace}}]);
                    true
                }
            };
            write(&path, &doc)?;
            Ok(format!(
                "Context \"{name}\" {}.\n",
                if created { "created" } else { "modified" }
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn first_file_wins_and_secrets_are_redacted() {
        let a = json!({"current-context": "a", "contexts": [{"name": "a", "context": {"cluster": "c", "user": "u"}}],
                       "users": [{"name": "u", "user": {"token": "secret"}}]});
        let b = json!({"current-context": "b", "contexts": [{"name": "a", "context": {"cluster": "other"}},
                       {"name": "b", "context": {"cluster": "c2"}}]});
        let mut m = merge(&[a, b]);
        assert_eq!(m["current-context"], "a");
        assert_eq!(m["contexts"].as_array().unwrap().len(), 2);
        assert_eq!(m["contexts"][0]["context"]["cluster"], "c");
        redact(&mut m);
        assert_eq!(m["users"][0]["user"]["token"], "REDACTED");
        minify(&mut m).unwrap();
        assert_eq!(m["contexts"].as_array().unwrap().len(), 1);
    }
}
