//! `capstan compose convert|up|down -f compose.yaml`: a Compose project as Kubernetes objects
//! in a namespace named after the project, applied with server-side apply (field manager
//! `capstan`), waited for with progress, and removed with its namespace.

pub mod convert;
pub mod interpolate;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Namespace;
use kube::api::{Api, DeleteParams, DynamicObject, Patch, PatchParams};
use kube::core::{ApiResource, GroupVersionKind};
use serde_json::Value;

use crate::progress::Progress;

#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("{path}: {message}")]
    File { path: String, message: String },
    #[error("{path}: invalid YAML at line {line}, column {column}: {message}")]
    Yaml {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error("compose file: {0}")]
    Invalid(String),
    #[error("{what}: {source}")]
    Api {
        what: String,
        #[source]
        source: kube::Error,
    },
    #[error("timed out after {0:?} waiting for the project to be ready")]
    Timeout(Duration),
}

/// Reads and converts `file`; the project name defaults to the file's directory name.
pub fn load(
    file: &Path,
    wait_image: &str,
    volumes_dir: &Path,
) -> Result<convert::Converted, ComposeError> {
    let text = std::fs::read_to_string(file).map_err(|e| ComposeError::File {
        path: file.display().to_string(),
        message: e.to_string(),
    })?;
    let mut doc: serde_yaml::Value = serde_yaml::from_str(&text).map_err(|e| {
        let loc = e.location();
        ComposeError::Yaml {
            path: file.display().to_string(),
            line: loc.as_ref().map_or(0, |l| l.line()),
            column: loc.as_ref().map_or(0, |l| l.column()),
            message: e.to_string(),
        }
    })?;
    let base: PathBuf = file
        .canonicalize()
        .ok()
        .and_then(|p| p.parent().map(Path::to_path_buf))
        .unwrap_or_else(|| PathBuf::from("."));
    let dotenv = std::fs::read_to_string(base.join(".env")).ok();
    let missing = interpolate::Env::new(dotenv.as_deref()).apply(&mut doc)?;
    let project = base
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_else(|| "default".into());
    let mut converted = convert::convert(
        &doc,
        &convert::Options {
            base_dir: &base,
            project,
            wait_image: wait_image.to_string(),
            volumes_dir,
        },
    )?;
    for name in missing {
        converted.unmapped.push(format!(
            "variable {name} is not set; an empty string was used"
        ));
    }
    Ok(converted)
}

/// The objects as one multi-document YAML stream.
pub fn to_yaml(objects: &[Value]) -> String {
    objects
        .iter()
        .map(|o| serde_yaml::to_string(o).unwrap_or_default())
        .collect::<Vec<_>>()
        .join("---\n")
}

fn resource_of(obj: &Value) -> Result<(ApiResource, String, Option<String>), ComposeError> {
    let api_version = obj["apiVersion"].as_str().unwrap_or_default();
    let kind = obj["kind"].as_str().unwrap_or_default();
    let (group, version) = match api_version.split_once('/') {
        Some((g, v)) => (g, v),
        None => ("", api_version),
    };
    let gvk = GroupVersionKind::gvk(group, version, kind);
    let name = obj["metadata"]["name"]
        .as_str()
        .ok_or_else(|| ComposeError::Invalid(format!("a {kind} without a name")))?
        .to_string();
    let ns = obj["metadata"]["namespace"].as_str().map(str::to_string);
    Ok((ApiResource::from_gvk(&gvk), name, ns))
}

/// Server-side applies every object, in order; prints `kind/name created|configured`.
pub async fn apply(client: &kube::Client, objects: &[Value]) -> Result<(), ComposeError> {
    let pp = PatchParams::apply("capstan").force();
    for obj in objects {
        let (ar, name, ns) = resource_of(obj)?;
        let api: Api<DynamicObject> = match &ns {
            Some(ns) => Api::namespaced_with(client.clone(), ns, &ar),
            None => Api::all_with(client.clone(), &ar),
        };
        let existed = api
            .get_opt(&name)
            .await
            .map_err(|e| ComposeError::Api {
                what: format!("reading {}/{name}", ar.kind),
                source: e,
            })?
            .is_some();
        api.patch(&name, &pp, &Patch::Apply(obj))
            .await
            .map_err(|e| ComposeError::Api {
                what: format!("applying {}/{name}", ar.kind),
                source: e,
            })?;
        let verb = if existed { "configured" } else { "created" };
        println!("{}/{name} {verb}", ar.kind.to_lowercase());
    }
    Ok(())
}

/// Waits until every Deployment of the project has all its replicas available.
pub async fn wait_ready(
    client: &kube::Client,
    namespace: &str,
    timeout: Duration,
) -> Result<(), ComposeError> {
    let progress = Progress::stdout();
    let api: Api<Deployment> = Api::namespaced(client.clone(), namespace);
    let start = Instant::now();
    let mut reported = std::collections::BTreeSet::new();
    loop {
        let list = api
            .list(&Default::default())
            .await
            .map_err(|e| ComposeError::Api {
                what: format!("listing deployments in {namespace}"),
                source: e,
            })?;
        let mut pending = 0;
        for d in &list.items {
            let name = d.metadata.name.clone().unwrap_or_default();
            let want = d.spec.as_ref().and_then(|s| s.replicas).unwrap_or(1);
            let available = d
                .status
                .as_ref()
                .and_then(|s| s.available_replicas)
                .unwrap_or(0);
            if available >= want {
                if reported.insert(name.clone()) {
                    progress.done(&format!("{name}: {available}/{want} available"));
                }
            } else {
                pending += 1;
            }
        }
        if pending == 0 {
            return Ok(());
        }
        if start.elapsed() > timeout {
            return Err(ComposeError::Timeout(timeout));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Deletes the project's namespace (and so everything in it) and waits until it is gone.
pub async fn down(
    client: &kube::Client,
    namespace: &str,
    timeout: Duration,
) -> Result<(), ComposeError> {
    let api: Api<Namespace> = Api::all(client.clone());
    match api.delete(namespace, &DeleteParams::default()).await {
        Ok(_) => {}
        Err(kube::Error::Api(s)) if s.code == 404 => {
            println!("namespace/{namespace} not found; nothing to remove");
            return Ok(());
        }
        Err(e) => {
            return Err(ComposeError::Api {
                what: format!("deleting namespace {namespace}"),
                source: e,
            });
        }
    }
    let start = Instant::now();
    while api
        .get_opt(namespace)
        .await
        .map_err(|e| ComposeError::Api {
            what: format!("reading namespace {namespace}"),
            source: e,
        })?
        .is_some()
    {
        if start.elapsed() > timeout {
            return Err(ComposeError::Timeout(timeout));
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
    println!("namespace/{namespace} deleted");
    Ok(())
}
