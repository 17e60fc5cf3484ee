//! Deployment controller behaviour, driven with kubectl where users would use kubectl.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use futures::StreamExt;
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::ResourceExt;
use kube::api::{Api, ListParams};
use kube::runtime::{WatchStreamExt, watcher};

use crate::harness::{Cluster, READY_ANNOTATION, WAIT, deployment_manifest, eventually};

const REVISION: &str = "deployment.kubernetes.io/revision";

async fn replicasets(c: &Cluster, app: &str) -> Vec<ReplicaSet> {
    let api: Api<ReplicaSet> = Api::namespaced(c.client.clone(), "default");
    api.list(&ListParams::default().labels(&format!("app={app}")))
        .await
        .map(|l| l.items)
        .unwrap_or_default()
}

fn revision(rs: &ReplicaSet) -> String {
    rs.annotations().get(REVISION).cloned().unwrap_or_default()
}

fn image_of(rs: &ReplicaSet) -> String {
    rs.spec
        .as_ref()
        .and_then(|s| s.template.as_ref())
        .and_then(|t| t.spec.as_ref())
        .and_then(|s| s.containers.first())
        .and_then(|c| c.image.clone())
        .unwrap_or_default()
}

#[tokio::test]
async fn deployment_scales_up_and_down_and_rollout_status_succeeds() {
    let c = Cluster::start().await;
    c.apply(&deployment_manifest("web", 3, "nginx:1.25", ""))
        .await;
    let out = c
        .kubectl_ok(&["rollout", "status", "deployment/web", "--timeout=60s"])
        .await;
    assert!(out.contains("successfully rolled out"), "{out}");

    let rss = replicasets(&c, "web").await;
    assert_eq!(rss.len(), 1);
    let rs = &rss[0];
    let hash = rs
        .labels()
        .get("pod-template-hash")
        .cloned()
        .expect("hash label");
    assert_eq!(rs.name_any(), format!("web-{hash}"));
    assert_eq!(revision(rs), "1");
    assert_eq!(
        rs.annotations()
            .get("deployment.kubernetes.io/desired-replicas")
            .map(String::as_str),
        Some("3")
    );
    assert_eq!(
        rs.annotations()
            .get("deployment.kubernetes.io/max-replicas")
            .map(String::as_str),
        Some("4")
    );
    let sel = rs
        .spec
        .as_ref()
        .and_then(|s| s.selector.match_labels.clone())
        .unwrap_or_default();
    assert_eq!(sel.get("pod-template-hash"), Some(&hash));
    let pods = c.active_pods("web").await;
    assert_eq!(pods.len(), 3);
    assert!(
        pods.iter()
            .all(|p| p.labels().get("pod-template-hash") == Some(&hash))
    );

    let deployments: Api<Deployment> = Api::namespaced(c.client.clone(), "default");
    let d = deployments.get("web").await.expect("deployment");
    assert_eq!(d.annotations().get(REVISION).map(String::as_str), Some("1"));
    let s = d.status.clone().expect("status");
    assert_eq!(
        (
            s.replicas,
            s.updated_replicas,
            s.ready_replicas,
            s.available_replicas
        ),
        (Some(3), Some(3), Some(3), Some(3))
    );
    assert_eq!(s.observed_generation, d.metadata.generation);
    let conds = s.conditions.unwrap_or_default();
    let cond = |t: &str| {
        conds
            .iter()
            .find(|c| c.type_ == t)
            .cloned()
            .expect("condition")
    };
    assert_eq!(
        cond("Available").reason.as_deref(),
        Some("MinimumReplicasAvailable")
    );
    assert_eq!(
        cond("Progressing").reason.as_deref(),
        Some("NewReplicaSetAvailable")
    );

    c.kubectl_ok(&["scale", "deployment/web", "--replicas=5"])
        .await;
    c.kubectl_ok(&["rollout", "status", "deployment/web", "--timeout=60s"])
        .await;
    assert_eq!(c.active_pods("web").await.len(), 5);
    c.kubectl_ok(&["scale", "deployment/web", "--replicas=1"])
        .await;
    eventually(WAIT, "scaled down to 1", || async {
        (c.active_pods("web").await.len() == 1).then_some(())
    })
    .await;
    c.kubectl_ok(&["rollout", "status", "deployment/web", "--timeout=60s"])
        .await;

    let events: Api<Event> = Api::namespaced(c.client.clone(), "default");
    let list = events.list(&ListParams::default()).await.expect("events");
    let scaling: Vec<String> = list
        .items
        .iter()
        .filter(|e| e.reason.as_deref() == Some("ScalingReplicaSet"))
        .filter(|e| {
            e.source.as_ref().and_then(|s| s.component.as_deref()) == Some("deployment-controller")
        })
        .filter_map(|e| e.message.clone())
        .collect();
    let name = rs.name_any();
    assert!(
        scaling.contains(&format!("Scaled up replica set {name} from 0 to 3")),
        "{scaling:?}"
    );
    assert!(
        scaling.contains(&format!("Scaled up replica set {name} from 3 to 5")),
        "{scaling:?}"
    );
    assert!(
        scaling.contains(&format!("Scaled down replica set {name} from 5 to 1")),
        "{scaling:?}"
    );
    c.stop().await;
}

/// Watches pods of `app` and records whether any event ever showed more than `max_pods` active
/// pods or fewer than `min_ready` ready active pods.
fn watch_invariants(
    c: &Cluster,
    app: &str,
    max_pods: usize,
    min_ready: usize,
) -> (
    Arc<AtomicBool>,
    Arc<AtomicUsize>,
    tokio::task::JoinHandle<()>,
) {
    let violated = Arc::new(AtomicBool::new(false));
    let seen = Arc::new(AtomicUsize::new(0));
    let api: Api<Pod> = Api::namespaced(c.client.clone(), "default");
    let cfg = watcher::Config::default().labels(&format!("app={app}"));
    let (v, s) = (violated.clone(), seen.clone());
    let task = tokio::spawn(async move {
        let (reader, writer) = kube::runtime::reflector::store();
        let mut stream = watcher(api, cfg)
            .default_backoff()
            .reflect(writer)
            .touched_objects()
            .boxed();
        let mut primed = false;
        while let Some(ev) = stream.next().await {
            if ev.is_err() {
                continue;
            }
            let pods = reader.state();
            let active: Vec<_> = pods
                .iter()
                .filter(|p| p.metadata.deletion_timestamp.is_none())
                .collect();
            let ready = active
                .iter()
                .filter(|p| {
                    p.status
                        .as_ref()
                        .and_then(|s| s.conditions.as_ref())
                        .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
                })
                .count();
            // The store fills one event at a time during the initial list.
            if !primed {
                primed = ready >= min_ready;
                continue;
            }
            s.fetch_add(1, Ordering::Relaxed);
            if active.len() > max_pods || ready < min_ready {
                eprintln!("invariant violated: {} active, {ready} ready", active.len());
                v.store(true, Ordering::Relaxed);
            }
        }
    });
    (violated, seen, task)
}

async fn rolling_update_respects(
    replicas: i32,
    surge: &str,
    unavailable: &str,
    max_pods: usize,
    min_ready: usize,
) {
    let c = Cluster::start().await;
    let strategy = format!(
        "  strategy:\n    type: RollingUpdate\n    rollingUpdate:\n      maxSurge: {surge}\n      maxUnavailable: {unavailable}\n"
    );
    c.apply(&deployment_manifest(
        "roll",
        replicas,
        "nginx:1.25",
        &strategy,
    ))
    .await;
    c.kubectl_ok(&["rollout", "status", "deployment/roll", "--timeout=60s"])
        .await;
    let (violated, seen, task) = watch_invariants(&c, "roll", max_pods, min_ready);
    // Let the watcher prime before the rollout begins.
    tokio::time::sleep(Duration::from_millis(300)).await;
    c.kubectl_ok(&["set", "image", "deployment/roll", "main=nginx:1.26"])
        .await;
    c.kubectl_ok(&["rollout", "status", "deployment/roll", "--timeout=90s"])
        .await;
    c.kubectl_ok(&["set", "image", "deployment/roll", "main=nginx:1.27"])
        .await;
    c.kubectl_ok(&["rollout", "status", "deployment/roll", "--timeout=90s"])
        .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    task.abort();
    assert!(
        seen.load(Ordering::Relaxed) > 0,
        "the invariant watcher saw the rollout"
    );
    assert!(
        !violated.load(Ordering::Relaxed),
        "maxSurge/maxUnavailable violated during the rollout"
    );
    let pods = c.active_pods("roll").await;
    assert_eq!(pods.len(), replicas as usize);
    let rss = replicasets(&c, "roll").await;
    let newest = rss
        .iter()
        .find(|rs| image_of(rs) == "nginx:1.27")
        .expect("new rs");
    assert_eq!(revision(newest), "3");
    let hash = newest.labels().get("pod-template-hash").cloned();
    assert!(
        pods.iter()
            .all(|p| p.labels().get("pod-template-hash") == hash.as_ref())
    );
    c.stop().await;
}

#[tokio::test]
async fn rolling_update_never_exceeds_max_surge_nor_drops_below_max_unavailable() {
    rolling_update_respects(4, "1", "1", 5, 3).await;
}

#[tokio::test]
async fn rolling_update_with_percentages_rounds_surge_up_and_unavailable_down() {
    // 25% of 5: surge ceil(1.25) = 2, unavailable floor(1.25) = 1.
    rolling_update_respects(5, "25%", "25%", 7, 4).await;
}

#[tokio::test]
async fn rolling_update_with_zero_surge_replaces_in_place() {
    rolling_update_respects(3, "0", "1", 3, 2).await;
}

#[tokio::test]
async fn recreate_never_runs_old_and_new_pods_together() {
    let c = Cluster::start().await;
    let strategy = "  strategy:\n    type: Recreate\n";
    c.apply(&deployment_manifest("rec", 2, "nginx:1.25", strategy))
        .await;
    c.kubectl_ok(&["rollout", "status", "deployment/rec", "--timeout=60s"])
        .await;
    let mixed = Arc::new(AtomicBool::new(false));
    let api: Api<Pod> = Api::namespaced(c.client.clone(), "default");
    let m = mixed.clone();
    let task = tokio::spawn(async move {
        let (reader, writer) = kube::runtime::reflector::store();
        let cfg = watcher::Config::default().labels("app=rec");
        let mut stream = watcher(api, cfg)
            .default_backoff()
            .reflect(writer)
            .touched_objects()
            .boxed();
        while stream.next().await.is_some() {
            let hashes: std::collections::HashSet<String> = reader
                .state()
                .iter()
                .filter_map(|p| p.labels().get("pod-template-hash").cloned())
                .collect();
            if hashes.len() > 1 {
                m.store(true, Ordering::Relaxed);
            }
        }
    });
    c.kubectl_ok(&["set", "image", "deployment/rec", "main=nginx:1.26"])
        .await;
    c.kubectl_ok(&["rollout", "status", "deployment/rec", "--timeout=60s"])
        .await;
    task.abort();
    assert!(!mixed.load(Ordering::Relaxed), "old and new pods coexisted");
    assert_eq!(c.active_pods("rec").await.len(), 2);
    c.stop().await;
}

#[tokio::test]
async fn rollout_history_and_undo_reuse_the_old_replicaset_with_a_new_revision() {
    let c = Cluster::start().await;
    c.apply(&deployment_manifest("hist", 2, "nginx:1.25", ""))
        .await;
    c.kubectl_ok(&["rollout", "status", "deployment/hist", "--timeout=60s"])
        .await;
    c.kubectl_ok(&[
        "annotate",
        "deployment/hist",
        "kubernetes.io/change-cause=to 1.26",
    ])
    .await;
    c.kubectl_ok(&["set", "image", "deployment/hist", "main=nginx:1.26"])
        .await;
    c.kubectl_ok(&["rollout", "status", "deployment/hist", "--timeout=60s"])
        .await;

    let history = c
        .kubectl_ok(&["rollout", "history", "deployment/hist"])
        .await;
    assert!(history.contains("REVISION"), "{history}");
    let lines: Vec<&str> = history
        .lines()
        .filter(|l| l.trim_start().starts_with(char::is_numeric))
        .collect();
    assert_eq!(lines.len(), 2, "{history}");
    assert!(history.contains("to 1.26"), "{history}");
    let rev1 = c
        .kubectl_ok(&["rollout", "history", "deployment/hist", "--revision=1"])
        .await;
    assert!(rev1.contains("nginx:1.25"), "{rev1}");

    let out = c.kubectl_ok(&["rollout", "undo", "deployment/hist"]).await;
    assert!(out.contains("rolled back"), "{out}");
    c.kubectl_ok(&["rollout", "status", "deployment/hist", "--timeout=60s"])
        .await;
    let rss = replicasets(&c, "hist").await;
    assert_eq!(rss.len(), 2, "the old ReplicaSet is reused, not duplicated");
    let old = rss
        .iter()
        .find(|rs| image_of(rs) == "nginx:1.25")
        .expect("v1 rs");
    assert_eq!(revision(old), "3");
    assert_eq!(
        old.annotations()
            .get("deployment.kubernetes.io/revision-history")
            .map(String::as_str),
        Some("1")
    );
    assert_eq!(c.active_pods("hist").await.len(), 2);
    let deployments: Api<Deployment> = Api::namespaced(c.client.clone(), "default");
    let d = deployments.get("hist").await.expect("deployment");
    assert_eq!(d.annotations().get(REVISION).map(String::as_str), Some("3"));

    let history = c
        .kubectl_ok(&["rollout", "history", "deployment/hist"])
        .await;
    let revs: Vec<&str> = history
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| w.chars().all(|c| c.is_ascii_digit()))
        .collect();
    assert_eq!(revs, ["2", "3"], "{history}");
    c.kubectl_ok(&["rollout", "undo", "deployment/hist", "--to-revision=2"])
        .await;
    c.kubectl_ok(&["rollout", "status", "deployment/hist", "--timeout=60s"])
        .await;
    let rss = replicasets(&c, "hist").await;
    let v2 = rss
        .iter()
        .find(|rs| image_of(rs) == "nginx:1.26")
        .expect("v2 rs");
    assert_eq!(revision(v2), "4");
    c.stop().await;
}

#[tokio::test]
async fn paused_deployment_does_not_roll_out_until_resumed() {
    let c = Cluster::start().await;
    c.apply(&deployment_manifest("pause", 2, "nginx:1.25", ""))
        .await;
    c.kubectl_ok(&["rollout", "status", "deployment/pause", "--timeout=60s"])
        .await;
    c.kubectl_ok(&["rollout", "pause", "deployment/pause"])
        .await;
    c.kubectl_ok(&["set", "image", "deployment/pause", "main=nginx:1.26"])
        .await;
    let deployments: Api<Deployment> = Api::namespaced(c.client.clone(), "default");
    eventually(WAIT, "paused condition and observed generation", || async {
        let d = deployments.get("pause").await.ok()?;
        let s = d.status.clone()?;
        let paused =
            s.conditions.iter().flatten().any(|c| {
                c.type_ == "Progressing" && c.reason.as_deref() == Some("DeploymentPaused")
            });
        (paused && s.observed_generation == d.metadata.generation).then_some(())
    })
    .await;
    // Scaling still works while paused.
    c.kubectl_ok(&["scale", "deployment/pause", "--replicas=3"])
        .await;
    eventually(WAIT, "scaled while paused", || async {
        (c.active_pods("pause").await.len() == 3).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let rss = replicasets(&c, "pause").await;
    assert_eq!(rss.len(), 1, "no new ReplicaSet while paused");
    assert_eq!(image_of(&rss[0]), "nginx:1.25");

    c.kubectl_ok(&["rollout", "resume", "deployment/pause"])
        .await;
    c.kubectl_ok(&["rollout", "status", "deployment/pause", "--timeout=60s"])
        .await;
    let rss = replicasets(&c, "pause").await;
    assert_eq!(rss.len(), 2);
    assert!(
        rss.iter()
            .any(|rs| image_of(rs) == "nginx:1.26" && crate::deployment::rs_replicas(rs) == 3)
    );
    c.stop().await;
}

pub fn rs_replicas(rs: &ReplicaSet) -> i32 {
    rs.spec.as_ref().and_then(|s| s.replicas).unwrap_or(0)
}

#[tokio::test]
async fn rollout_that_never_becomes_ready_exceeds_its_progress_deadline() {
    let c = Cluster::start().await;
    // The hollow nodes run the pods but never make them Ready.
    let manifest = deployment_manifest("stuck", 2, "nginx:1.25", "  progressDeadlineSeconds: 2\n")
        .replace(
            "        app: stuck\n    spec:",
            &format!(
                "        app: stuck\n      annotations:\n        {READY_ANNOTATION}: \"false\"\n    spec:"
            ),
        );
    c.apply(&manifest).await;
    let out = c
        .kubectl(&["rollout", "status", "deployment/stuck", "--timeout=60s"])
        .await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("exceeded its progress deadline"),
        "{stderr}"
    );
    let deployments: Api<Deployment> = Api::namespaced(c.client.clone(), "default");
    let d = deployments.get("stuck").await.expect("deployment");
    let s = d.status.expect("status");
    let p = s
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Progressing")
        .expect("progressing");
    assert_eq!(
        (p.status.as_str(), p.reason.as_deref()),
        ("False", Some("ProgressDeadlineExceeded"))
    );
    let a = s
        .conditions
        .iter()
        .flatten()
        .find(|c| c.type_ == "Available")
        .expect("available");
    assert_eq!(
        (a.status.as_str(), a.reason.as_deref()),
        ("False", Some("MinimumReplicasUnavailable"))
    );
    assert_eq!(s.unavailable_replicas, Some(2));
    // Not stuck in scheduling: both pods run on hollow nodes, just never Ready.
    eventually(
        WAIT,
        "both pods running unready on hollow nodes",
        || async {
            let pods = c.active_pods("stuck").await;
            let running = pods.iter().filter(|p| {
                let on_hollow = p.spec.as_ref().and_then(|s| s.node_name.as_ref());
                let status = p.status.as_ref();
                on_hollow.is_some_and(|n| c.node_names().contains(n))
                    && status.and_then(|s| s.phase.as_deref()) == Some("Running")
                    && status.and_then(|s| s.conditions.as_ref()).is_some_and(|c| {
                        c.iter().any(|c| c.type_ == "Ready" && c.status == "False")
                    })
            });
            (running.count() == 2).then_some(())
        },
    )
    .await;
    c.stop().await;
}

#[tokio::test]
async fn revision_history_limit_deletes_the_oldest_idle_replicasets() {
    let c = Cluster::start().await;
    c.apply(&deployment_manifest(
        "limit",
        1,
        "nginx:1.1",
        "  revisionHistoryLimit: 1\n",
    ))
    .await;
    for v in ["nginx:1.2", "nginx:1.3", "nginx:1.4"] {
        c.kubectl_ok(&["rollout", "status", "deployment/limit", "--timeout=60s"])
            .await;
        c.kubectl_ok(&["set", "image", "deployment/limit", &format!("main={v}")])
            .await;
    }
    c.kubectl_ok(&["rollout", "status", "deployment/limit", "--timeout=60s"])
        .await;
    eventually(WAIT, "only the current and one old ReplicaSet", || async {
        let rss = replicasets(&c, "limit").await;
        let mut images: Vec<String> = rss.iter().map(image_of).collect();
        images.sort();
        (images == ["nginx:1.3", "nginx:1.4"]).then_some(())
    })
    .await;
    c.stop().await;
}
