//! `capstan apply -f FILE|DIR|- [-R]` (server-side apply, field manager `capstan`) and
//! `capstan delete -f …| TYPE NAME…` with `--cascade` and `--wait`.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use kube::api::{DeleteParams, Patch, PatchParams, PropagationPolicy};
use serde_json::Value;

use super::resources::{Resource, Resources};

/// The field manager of `capstan apply` (and of `diff`'s dry run).
pub const MANAGER: &str = "capstan";
use super::{CliError, Target};

/// Every object in `paths` (files, directories — recursively with `recursive` — or `-` for
/// stdin), in order; multi-document YAML, JSON, and `kind: List` are all accepted.
pub fn read_objects(paths: &[PathBuf], recursive: bool) -> Result<Vec<Value>, CliError> {
    let mut files = Vec::new();
    for p in paths {
        collect(p, recursive, &mut files)?;
    }
    let mut out = Vec::new();
    for (name, text) in files {
        for (i, doc) in serde_yaml::Deserializer::from_str(&text).enumerate() {
            let v: Value = serde::Deserialize::deserialize(doc).map_err(|e| {
                let at = e
                    .location()
                    .map(|l| format!(" at line {}, column {}", l.line(), l.column()))
                    .unwrap_or_default();
                CliError::Input(format!("{name}: document {}{at}: {e}", i + 1))
            })?;
            if v.is_null() {
                continue;
            }
            if v["kind"].as_str().is_some_and(|k| k.ends_with("List")) && v["items"].is_array() {
                out.extend(v["items"].as_array().cloned().unwrap_or_default());
            } else {
                out.push(v);
            }
        }
    }
    Ok(out)
}

fn collect(p: &Path, recursive: bool, out: &mut Vec<(String, String)>) -> Result<(), CliError> {
    if p == Path::new("-") {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .map_err(|e| CliError::Input(format!("stdin: {e}")))?;
        out.push(("stdin".into(), text));
        return Ok(());
    }
    let meta = std::fs::metadata(p).map_err(|e| {
        CliError::Input(format!("the path \"{}\" does not exist ({e})", p.display()))
    })?;
    if meta.is_dir() {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(p)
            .map_err(|e| CliError::Input(format!("{}: {e}", p.display())))?
            .flatten()
            .map(|e| e.path())
            .collect();
        entries.sort();
        for e in entries {
            if e.is_dir() {
                if recursive {
                    collect(&e, recursive, out)?;
                }
            } else if e
                .extension()
                .and_then(|x| x.to_str())
                .is_some_and(|x| ["yaml", "yml", "json"].contains(&x))
            {
                collect(&e, recursive, out)?;
            }
        }
        return Ok(());
    }
    let text =
        std::fs::read_to_string(p).map_err(|e| CliError::Input(format!("{}: {e}", p.display())))?;
    out.push((p.display().to_string(), text));
    Ok(())
}

/// Applies each object; one line per object: `kind.group/name created|configured|unchanged`,
/// then, with `prune` (a label selector), `kind.group/name pruned` for each object applied
/// earlier that matches it but is no longer in the files.
pub async fn apply(
    target: &Target,
    objects: &[Value],
    force_conflicts: bool,
    prune: Option<&str>,
) -> Result<String, CliError> {
    let (client, default_ns) = target.connect().await?;
    let resources = Resources::discover(&client).await?;
    let mut pp = PatchParams::apply(MANAGER);
    if force_conflicts {
        pp = pp.force();
    }
    let mut applied = super::prune::Applied::new();
    let mut namespaces = std::collections::HashSet::new();
    for obj in objects {
        let (r, name, ns) = resources.locate(obj, &default_ns)?;
        // As kubectl: with -l only the objects the selector picks are applied.
        if let Some(sel) = prune
            && !super::selector::matches(sel, &obj["metadata"]["labels"])?
        {
            continue;
        }
        let scope = if r.namespaced {
            ns.clone()
        } else {
            String::new()
        };
        if r.namespaced {
            namespaces.insert(ns.clone());
        }
        applied.insert((r.ar.group.clone(), r.ar.kind.clone(), scope, name.clone()));
        let api = r.api(&client, &ns);
        let what = format!("applying {}", r.display_name(&name));
        let before = api
            .get_opt(&name)
            .await
            .map_err(CliError::from_kube(&what))?;
        let after = api
            .patch(&name, &pp, &Patch::Apply(obj))
            .await
            .map_err(CliError::from_kube(&what))?;
        let verb = match before {
            None => "created",
            Some(b) if b.metadata.resource_version == after.metadata.resource_version => {
                "unchanged"
            }
            Some(_) => "configured",
        };
        // Printed as it happens: if a later object fails, what was applied is still shown.
        super::output::print(&format!("{} {verb}\n", r.display_name(&name)))?;
    }
    if let Some(sel) = prune {
        if namespaces.is_empty() {
            namespaces.insert(default_ns.clone());
        }
        let pruned =
            super::prune::prune(&client, &resources, &applied, &namespaces, sel, MANAGER).await?;
        super::output::print(&pruned)?;
    }
    Ok(String::new())
}

#[derive(Debug, Clone, Default)]
pub struct DeleteArgs {
    /// background (default), foreground or orphan.
    pub cascade: Option<String>,
    pub wait: bool,
    pub timeout: Duration,
    pub selector: Option<String>,
    pub all: bool,
}

/// Deletes objects named on the command line (`TYPE NAME…`, `TYPE/NAME…`, `TYPE -l SEL`,
/// `TYPE --all`) or in files; `wait` waits until each is gone.
pub async fn delete(
    target: &Target,
    by_type: &[super::refs::ObjectRef],
    objects: &[Value],
    args: &DeleteArgs,
) -> Result<String, CliError> {
    let (client, default_ns) = target.connect().await?;
    let resources = Resources::discover(&client).await?;
    let mut todo: Vec<(Resource, String, String)> = Vec::new();
    for r in by_type {
        let res = resources.find(&r.kind)?;
        match &r.name {
            Some(n) => todo.push((res.clone(), default_ns.clone(), n.clone())),
            None if args.selector.is_some() || args.all => {
                let mut lp = kube::api::ListParams::default();
                if let Some(s) = &args.selector {
                    lp = lp.labels(s);
                }
                let list = res
                    .api(&client, &default_ns)
                    .list(&lp)
                    .await
                    .map_err(CliError::from_kube(&format!("listing {}", res.ar.plural)))?;
                for o in list.items {
                    todo.push((
                        res.clone(),
                        default_ns.clone(),
                        o.metadata.name.unwrap_or_default(),
                    ));
                }
            }
            None => {
                return Err(CliError::Input(
                    "resource(s) were provided, but no name was specified (give NAME, -l SELECTOR or --all)".into(),
                ));
            }
        }
    }
    for obj in objects {
        let (r, name, ns) = resources.locate(obj, &default_ns)?;
        todo.push((r.clone(), ns, name));
    }
    if todo.is_empty() {
        return Err(CliError::Empty("No resources found".into()));
    }
    let propagation = match args.cascade.as_deref().unwrap_or("background") {
        "background" | "true" => PropagationPolicy::Background,
        "foreground" => PropagationPolicy::Foreground,
        "orphan" | "false" => PropagationPolicy::Orphan,
        other => {
            return Err(CliError::Input(format!(
                "invalid cascade value ({other}). Must be \"background\", \"foreground\", or \"orphan\""
            )));
        }
    };
    let dp = DeleteParams {
        propagation_policy: Some(propagation),
        ..DeleteParams::default()
    };
    for (r, ns, name) in &todo {
        let api = r.api(&client, ns);
        let what = format!("deleting {}", r.display_name(name));
        api.delete(name, &dp)
            .await
            .map_err(CliError::from_kube(&what))?;
        super::output::print(&format!("{} deleted\n", r.display_name(name)))?;
    }
    if args.wait {
        let start = Instant::now();
        for (r, ns, name) in &todo {
            let api = r.api(&client, ns);
            while api
                .get_opt(name)
                .await
                .map_err(CliError::from_kube("waiting for deletion"))?
                .is_some()
            {
                if start.elapsed() > args.timeout {
                    return Err(CliError::Input(format!(
                        "timed out waiting for the deletion of {}",
                        r.display_name(name)
                    )));
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
    Ok(String::new())
}
