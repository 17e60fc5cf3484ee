//! `capstan rollout status|history|undo|restart|pause|resume` for Deployments (all verbs),
//! StatefulSets and DaemonSets (status, restart). `status` watches the object and shows a
//! live bar of updated/ready/available replicas on a terminal, kubectl's messages otherwise.

use std::io::IsTerminal;

use futures::StreamExt;
use kube::api::{DynamicObject, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::{WatchStreamExt, watcher};
use serde_json::{Value, json};

use super::refs::{self, ObjectRef};
use super::resources::{Resource, Resources};
use super::{CliError, Target, output};

const REVISION: &str = "deployment.kubernetes.io/revision";
const CHANGE_CAUSE: &str = "kubernetes.io/change-cause";

#[derive(Debug, Clone, clap::Subcommand)]
pub enum RolloutCommand {
    /// Watch a rollout until it completes (or fails, or --timeout passes).
    Status {
        objects: Vec<String>,
        /// Watch until done (`--watch=false`: print the status once).
        #[arg(short = 'w', long, default_value_t = true, num_args = 0..=1, default_missing_value = "true", action = clap::ArgAction::Set)]
        watch: bool,
        /// Give up after this long (30s, 5m; 0: never).
        #[arg(long, default_value = "0s")]
        timeout: String,
    },
    /// The revisions of a Deployment, with their change causes.
    History {
        objects: Vec<String>,
        /// Show one revision's pod template.
        #[arg(long)]
        revision: Option<i64>,
    },
    /// Roll a Deployment back to the previous revision (or --to-revision).
    Undo {
        objects: Vec<String>,
        #[arg(long, default_value_t = 0)]
        to_revision: i64,
    },
    /// Replace every pod by a rolling update with an unchanged spec.
    Restart { objects: Vec<String> },
    /// Stop a Deployment's rollout where it is.
    Pause { objects: Vec<String> },
    /// Continue a paused Deployment's rollout.
    Resume { objects: Vec<String> },
}

struct Target1 {
    r: Resource,
    name: String,
    api: kube::Api<DynamicObject>,
}

async fn resolve(
    target: &Target,
    objects: &[String],
) -> Result<(kube::Client, String, Vec<Target1>), CliError> {
    let (client, ns) = target.connect().await?;
    let resources = Resources::discover(&client).await?;
    let mut out = Vec::new();
    for ObjectRef { kind, name } in refs::parse(objects)? {
        let r = resources.find(&kind)?.clone();
        if !matches!(
            r.ar.kind.as_str(),
            "Deployment" | "StatefulSet" | "DaemonSet"
        ) || r.ar.group != "apps"
        {
            return Err(CliError::Input(format!(
                "no rollout for {}: only deployments, statefulsets and daemonsets have rollouts",
                r.ar.plural
            )));
        }
        let api = r.api(&client, &ns);
        match name {
            Some(name) => out.push(Target1 { r, name, api }),
            None => {
                return Err(CliError::Input(format!(
                    "name required: {}/NAME",
                    r.ar.kind.to_lowercase()
                )));
            }
        }
    }
    Ok((client, ns, out))
}

pub async fn run(target: &Target, cmd: &RolloutCommand) -> Result<String, CliError> {
    match cmd {
        RolloutCommand::Status {
            objects,
            watch,
            timeout,
        } => {
            let (_, _, targets) = resolve(target, objects).await?;
            for t in &targets {
                status(t, *watch, timeout).await?;
            }
            Ok(String::new())
        }
        RolloutCommand::History { objects, revision } => {
            let (client, ns, targets) = resolve(target, objects).await?;
            let mut out = String::new();
            for t in &targets {
                out.push_str(&history(&client, &ns, t, *revision).await?);
            }
            Ok(out)
        }
        RolloutCommand::Undo {
            objects,
            to_revision,
        } => {
            let (client, ns, targets) = resolve(target, objects).await?;
            let mut out = String::new();
            for t in &targets {
                out.push_str(&undo(&client, &ns, t, *to_revision).await?);
            }
            Ok(out)
        }
        RolloutCommand::Restart { objects } => {
            let (_, _, targets) = resolve(target, objects).await?;
            let mut out = String::new();
            for t in &targets {
                if t.r.ar.kind == "Deployment"
                    && get(t).await?.data["spec"]["paused"].as_bool() == Some(true)
                {
                    return Err(CliError::Input(format!(
                        "{}: can't restart paused deployment (run rollout resume first)",
                        t.r.display_name(&t.name)
                    )));
                }
                let now = k8s_openapi::jiff::Timestamp::now()
                    .strftime("%Y-%m-%dT%H:%M:%SZ")
                    .to_string();
                let patch = json!({"spec": {"template": {"metadata": {"annotations": {
                    "kubectl.kubernetes.io/restartedAt": now}}}}});
                patch_obj(t, &patch, "restarting").await?;
                out.push_str(&format!("{} restarted\n", t.r.display_name(&t.name)));
            }
            Ok(out)
        }
        RolloutCommand::Pause { objects } | RolloutCommand::Resume { objects } => {
            let pause = matches!(cmd, RolloutCommand::Pause { .. });
            let (_, _, targets) = resolve(target, objects).await?;
            let mut out = String::new();
            for t in &targets {
                deployment_only(t, if pause { "pause" } else { "resume" })?;
                let obj = get(t).await?;
                let verb = if pause { "paused" } else { "resumed" };
                if obj.data["spec"]["paused"].as_bool().unwrap_or(false) == pause {
                    return Err(CliError::Input(format!(
                        "{} \"{}\" is not {} — it is already {verb}",
                        t.r.ar.plural,
                        t.name,
                        if pause { "running" } else { "paused" }
                    )));
                }
                patch_obj(t, &json!({"spec": {"paused": pause}}), verb).await?;
                out.push_str(&format!("{} {verb}\n", t.r.display_name(&t.name)));
            }
            Ok(out)
        }
    }
}

fn deployment_only(t: &Target1, verb: &str) -> Result<(), CliError> {
    if t.r.ar.kind == "Deployment" {
        Ok(())
    } else {
        Err(CliError::Input(format!(
            "{verb} is only supported for deployments here ({} keeps no revision history in Capstan)",
            t.r.display_name(&t.name)
        )))
    }
}

async fn get(t: &Target1) -> Result<DynamicObject, CliError> {
    t.api
        .get(&t.name)
        .await
        .map_err(CliError::from_kube(&format!(
            "getting {}",
            t.r.display_name(&t.name)
        )))
}

async fn patch_obj(t: &Target1, patch: &Value, doing: &str) -> Result<(), CliError> {
    t.api
        .patch(
            &t.name,
            &PatchParams {
                field_manager: Some("capstan-rollout".into()),
                ..PatchParams::default()
            },
            &Patch::Merge(patch),
        )
        .await
        .map_err(CliError::from_kube(&format!(
            "{doing} {}",
            t.r.display_name(&t.name)
        )))?;
    Ok(())
}

/// Where a rollout stands, from the object alone.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub message: String,
    pub done: bool,
    pub failed: bool,
    pub desired: i64,
    pub updated: i64,
    pub ready: i64,
    pub available: i64,
}

fn int(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

/// kubectl's rollout status rules for each kind.
pub fn progress(kind: &str, obj: &Value) -> Progress {
    let name = obj["metadata"]["name"].as_str().unwrap_or_default();
    let spec = &obj["spec"];
    let st = &obj["status"];
    let observed = int(&obj["metadata"]["generation"]) <= int(&st["observedGeneration"]);
    let mut p = Progress {
        message: String::new(),
        done: false,
        failed: false,
        desired: 0,
        updated: int(&st["updatedReplicas"]),
        ready: int(&st["readyReplicas"]),
        available: int(&st["availableReplicas"]),
    };
    match kind {
        "Deployment" => {
            p.desired = spec["replicas"].as_i64().unwrap_or(1);
            let deadline_exceeded = st["conditions"].as_array().is_some_and(|cs| {
                cs.iter().any(|c| {
                    c["type"] == "Progressing" && c["reason"] == "ProgressDeadlineExceeded"
                })
            });
            let total = int(&st["replicas"]);
            p.message = if !observed {
                "Waiting for deployment spec update to be observed...".into()
            } else if deadline_exceeded {
                p.failed = true;
                format!("deployment \"{name}\" exceeded its progress deadline")
            } else if p.updated < p.desired {
                format!(
                    "Waiting for deployment \"{name}\" rollout to finish: {} out of {} new replicas have been updated...",
                    p.updated, p.desired
                )
            } else if total > p.updated {
                format!(
                    "Waiting for deployment \"{name}\" rollout to finish: {} old replicas are pending termination...",
                    total - p.updated
                )
            } else if p.available < p.updated {
                format!(
                    "Waiting for deployment \"{name}\" rollout to finish: {} of {} updated replicas are available...",
                    p.available, p.updated
                )
            } else {
                p.done = true;
                format!("deployment \"{name}\" successfully rolled out")
            };
        }
        "StatefulSet" => {
            p.desired = spec["replicas"].as_i64().unwrap_or(1);
            let partition = int(&spec["updateStrategy"]["rollingUpdate"]["partition"]);
            let on_delete = spec["updateStrategy"]["type"] == "OnDelete";
            p.message = if on_delete {
                p.failed = true;
                "rollout status is only available for RollingUpdate strategy type".into()
            } else if !observed {
                "Waiting for statefulset spec update to be observed...".into()
            } else if p.ready < p.desired {
                format!("Waiting for {} pods to be ready...", p.desired - p.ready)
            } else if partition > 0 {
                let want = p.desired - partition;
                if p.updated < want {
                    format!(
                        "Waiting for partitioned roll out to finish: {} out of {} new pods have been updated...",
                        p.updated, want
                    )
                } else {
                    p.done = true;
                    format!(
                        "partitioned roll out complete: {} new pods have been updated...",
                        p.updated
                    )
                }
            } else if st["updateRevision"] != st["currentRevision"] {
                format!(
                    "Waiting for statefulset rolling update to complete {} pods at revision {}...",
                    p.updated,
                    st["updateRevision"].as_str().unwrap_or_default()
                )
            } else {
                p.done = true;
                format!(
                    "statefulset rolling update complete {} pods at revision {}...",
                    p.ready,
                    st["currentRevision"].as_str().unwrap_or_default()
                )
            };
        }
        _ => {
            p.desired = int(&st["desiredNumberScheduled"]);
            p.updated = int(&st["updatedNumberScheduled"]);
            p.ready = int(&st["numberReady"]);
            p.available = int(&st["numberAvailable"]);
            p.message = if spec["updateStrategy"]["type"] == "OnDelete" {
                p.failed = true;
                "rollout status is only available for RollingUpdate strategy type".into()
            } else if !observed {
                "Waiting for daemon set spec update to be observed...".into()
            } else if p.updated < p.desired {
                format!(
                    "Waiting for daemon set \"{name}\" rollout to finish: {} out of {} new pods have been updated...",
                    p.updated, p.desired
                )
            } else if p.available < p.desired {
                format!(
                    "Waiting for daemon set \"{name}\" rollout to finish: {} of {} updated pods are available...",
                    p.available, p.desired
                )
            } else {
                p.done = true;
                format!("daemon set \"{name}\" successfully rolled out")
            };
        }
    }
    p
}

/// `[██████░░░░] updated 3/5 · ready 2/5 · available 2/5  <message>` — one line, redrawn.
pub fn bar(p: &Progress, width: usize) -> String {
    let desired = p.desired.max(1);
    let filled = ((p.available.clamp(0, desired) as usize) * width) / desired as usize;
    let updated = ((p.updated.clamp(0, desired) as usize) * width) / desired as usize;
    let updated = updated.max(filled);
    let mut s = String::from("[");
    s.push_str(&"█".repeat(filled));
    s.push_str(&"▒".repeat(updated - filled));
    s.push_str(&"░".repeat(width - updated));
    s.push_str(&format!(
        "] updated {}/{} · ready {}/{} · available {}/{}",
        p.updated, p.desired, p.ready, p.desired, p.available, p.desired
    ));
    s
}

async fn status(t: &Target1, watch: bool, timeout: &str) -> Result<(), CliError> {
    let timeout = super::duration::parse(timeout)?;
    let tty = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    // A missing object is an error now, not a wait that never ends.
    get(t).await?;
    let config = watcher::Config::default().fields(&format!("metadata.name={}", t.name));
    // Transport errors back off and resume; only the object's end or the deadline stop us.
    let mut stream = watcher(t.api.clone(), config).default_backoff().boxed();
    let deadline = (!timeout.is_zero()).then(|| tokio::time::Instant::now() + timeout);
    let mut last = String::new();
    let mut seen_in_listing = false;
    loop {
        let next = match deadline {
            Some(d) => match tokio::time::timeout_at(d, stream.next()).await {
                Ok(n) => n,
                Err(_) => {
                    if tty {
                        output::print("\n")?;
                    }
                    return Err(CliError::Input(
                        "timed out waiting for the condition".into(),
                    ));
                }
            },
            None => stream.next().await,
        };
        let obj = match next {
            Some(Ok(watcher::Event::Apply(o))) => o,
            Some(Ok(watcher::Event::InitApply(o))) => {
                seen_in_listing = true;
                o
            }
            Some(Ok(watcher::Event::Init)) => {
                seen_in_listing = false;
                continue;
            }
            Some(Ok(watcher::Event::InitDone)) if seen_in_listing => continue,
            Some(Ok(watcher::Event::InitDone | watcher::Event::Delete(_))) => {
                return Err(CliError::Input(format!(
                    "{} has been deleted",
                    t.r.display_name(&t.name)
                )));
            }
            Some(Err(_)) => continue,
            None => return Err(CliError::Input("the watch ended".into())),
        };
        let value = serde_json::to_value(&obj).unwrap_or_default();
        let p = progress(&t.r.ar.kind, &value);
        if p.failed {
            if tty {
                output::print("\n")?;
            }
            return Err(CliError::Input(p.message));
        }
        let mut text = String::new();
        if tty {
            text.push_str(&format!("\r\x1b[2K{}", bar(&p, 20)));
            if p.done {
                text.push('\n');
            }
        }
        if p.message != last && (!tty || p.done) {
            text.push_str(&format!("{}\n", p.message));
        }
        output::print(&text)?;
        last = p.message.clone();
        if p.done || !watch {
            return Ok(());
        }
    }
}

/// The Deployment's ReplicaSets (owned by it), with their revision numbers, oldest first.
async fn replica_sets(
    client: &kube::Client,
    ns: &str,
    t: &Target1,
) -> Result<(DynamicObject, Vec<(i64, Value)>), CliError> {
    let dep = get(t).await?;
    let uid = dep.metadata.uid.clone().unwrap_or_default();
    let (rs_api, _) = super::resources::api_of(client, Some(ns), ("apps", "v1", "ReplicaSet"));
    let list = rs_api
        .list(&ListParams::default())
        .await
        .map_err(CliError::from_kube("listing replicasets"))?;
    let mut out: Vec<(i64, Value)> = super::resources::owned_by(list.items, &uid, true)
        .into_iter()
        .filter_map(|rs| {
            let rev = rs
                .metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(REVISION))
                .and_then(|r| r.parse::<i64>().ok())?;
            Some((rev, serde_json::to_value(&rs).unwrap_or_default()))
        })
        .collect();
    out.sort_by_key(|(rev, _)| *rev);
    Ok((dep, out))
}

/// A ReplicaSet's pod template as its Deployment had it (without the hash label the
/// Deployment controller adds).
fn template_of(rs: &Value) -> Value {
    let mut template = rs["spec"]["template"].clone();
    if let Some(labels) = template["metadata"]["labels"].as_object_mut() {
        labels.remove("pod-template-hash");
    }
    template
}

async fn history(
    client: &kube::Client,
    ns: &str,
    t: &Target1,
    revision: Option<i64>,
) -> Result<String, CliError> {
    deployment_only(t, "history")?;
    let (_, sets) = replica_sets(client, ns, t).await?;
    let display = t.r.display_name(&t.name);
    if let Some(want) = revision {
        let Some((_, rs)) = sets.iter().find(|(r, _)| *r == want) else {
            return Err(CliError::Input(format!(
                "unable to find the specified revision {want}"
            )));
        };
        let template = template_of(rs);
        let yaml = serde_yaml::to_string(&template).unwrap_or_default();
        let indented: String = yaml.lines().map(|l| format!("  {l}\n")).collect();
        return Ok(format!(
            "{display} with revision #{want}\nPod Template:\n{indented}"
        ));
    }
    let mut rows = vec![("REVISION".to_string(), "CHANGE-CAUSE".to_string())];
    for (rev, rs) in &sets {
        let cause = rs["metadata"]["annotations"][CHANGE_CAUSE]
            .as_str()
            .unwrap_or("<none>")
            .to_string();
        rows.push((rev.to_string(), cause));
    }
    let w = rows.iter().map(|(r, _)| r.len()).max().unwrap_or(0);
    let mut out = format!("{display} \n");
    for (r, c) in rows {
        out.push_str(&format!("{r:<w$}  {c}\n"));
    }
    out.push('\n');
    Ok(out)
}

async fn undo(
    client: &kube::Client,
    ns: &str,
    t: &Target1,
    to_revision: i64,
) -> Result<String, CliError> {
    deployment_only(t, "undo")?;
    let (dep, sets) = replica_sets(client, ns, t).await?;
    let display = t.r.display_name(&t.name);
    if dep.data["spec"]["paused"].as_bool().unwrap_or(false) {
        return Err(CliError::Input(format!(
            "you cannot rollback a paused deployment; resume it first with 'capstan rollout resume {display}' and try again"
        )));
    }
    let current = sets.last().map(|(r, _)| *r).unwrap_or(0);
    let chosen = if to_revision == 0 {
        sets.iter().rev().find(|(r, _)| *r != current)
    } else {
        sets.iter().find(|(r, _)| *r == to_revision)
    };
    let Some((rev, rs)) = chosen else {
        return Err(CliError::Input(if to_revision == 0 {
            format!("no rollout history found for {display}")
        } else {
            format!("unable to find specified revision {to_revision} in history")
        }));
    };
    let template = template_of(rs);
    if template == dep.data["spec"]["template"] {
        return Ok(format!(
            "{display} skipped rollback (current template already matches revision {rev})\n"
        ));
    }
    // Replacing the object (its resourceVersion kept) swaps the whole template and loses no
    // concurrent change: a merge patch would keep fields the old revision did not have.
    let mut updated = dep.clone();
    updated.data["spec"]["template"] = template;
    t.api
        .replace(
            &t.name,
            &PostParams {
                field_manager: Some("capstan-rollout".into()),
                ..PostParams::default()
            },
            &updated,
        )
        .await
        .map_err(CliError::from_kube(&format!("rolling back {display}")))?;
    Ok(format!("{display} rolled back\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn deployment_messages() {
        let d = |updated: i64, total: i64, avail: i64| {
            json!({"metadata": {"name": "web", "generation": 2},
                   "spec": {"replicas": 3},
                   "status": {"observedGeneration": 2, "updatedReplicas": updated,
                              "replicas": total, "availableReplicas": avail}})
        };
        assert_eq!(
            progress("Deployment", &d(1, 4, 1)).message,
            "Waiting for deployment \"web\" rollout to finish: 1 out of 3 new replicas have been updated..."
        );
        assert_eq!(
            progress("Deployment", &d(3, 4, 2)).message,
            "Waiting for deployment \"web\" rollout to finish: 1 old replicas are pending termination..."
        );
        assert_eq!(
            progress("Deployment", &d(3, 3, 2)).message,
            "Waiting for deployment \"web\" rollout to finish: 2 of 3 updated replicas are available..."
        );
        let done = progress("Deployment", &d(3, 3, 3));
        assert!(done.done);
        assert_eq!(done.message, "deployment \"web\" successfully rolled out");
        let mut stale = d(3, 3, 3);
        stale["metadata"]["generation"] = json!(3);
        assert!(!progress("Deployment", &stale).done);
    }

    #[test]
    fn deadline_fails() {
        let d = json!({"metadata": {"name": "web"}, "spec": {"replicas": 1},
            "status": {"conditions": [{"type": "Progressing", "reason": "ProgressDeadlineExceeded"}]}});
        assert!(progress("Deployment", &d).failed);
    }

    #[test]
    fn bar_fills_with_availability() {
        let p = Progress {
            message: String::new(),
            done: false,
            failed: false,
            desired: 4,
            updated: 2,
            ready: 1,
            available: 1,
        };
        assert_eq!(
            bar(&p, 8),
            "[██▒▒░░░░] updated 2/4 · ready 1/4 · available 1/4"
        );
    }
}
