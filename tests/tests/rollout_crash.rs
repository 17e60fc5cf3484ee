//! kill -9 at moments during a 1,000-pod rolling update, in two separate runs: one kills the
//! controllers (three times), the other the API server (twice, the controllers riding through
//! on their watches). After the restarts the rollout completes with exactly the desired pods,
//! and maxSurge/maxUnavailable held at every observed moment (polled every 200 ms).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use capstan_e2e::{Proc, bin, free_port, wait_port};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

fn spawn(name: &str, args: &[String]) -> Proc {
    Proc::spawn(bin(name), args, &[])
}

const REPLICAS: i32 = 1000;
const MAX_SURGE: usize = 250;
const MAX_UNAVAILABLE: usize = 250;

async fn rollout_done(deps: &Api<Deployment>) -> bool {
    let Ok(d) = deps.get("web").await else {
        return false;
    };
    let s = d.status.unwrap_or_default();
    s.observed_generation >= d.metadata.generation
        && s.updated_replicas == Some(REPLICAS)
        && s.available_replicas == Some(REPLICAS)
        && s.replicas == Some(REPLICAS)
}

fn ready(p: &Pod) -> bool {
    p.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

/// Which process a run kills.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Victim {
    Controllers,
    ApiServer,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rollout_survives_kill_9_of_controllers_and_separately_of_the_api_server() {
    // One after the other: two 1,000-pod clusters at once would only measure 2 cores.
    rollout_through_crashes(Victim::Controllers).await;
    rollout_through_crashes(Victim::ApiServer).await;
}

async fn rollout_through_crashes(victim: Victim) {
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let api_args = vec![
        "--data-dir".to_string(),
        dir.path().display().to_string(),
        "--port".into(),
        port.to_string(),
    ];
    let ctrl_args = vec![
        "--server".to_string(),
        url.clone(),
        "--metrics-port".into(),
        "0".into(),
    ];
    let mut apiserver = spawn("capstan-apiserver", &api_args);
    wait_port(port).await;
    let client =
        kube::Client::try_from(kube::Config::new(url.parse().expect("url"))).expect("client");
    let hollow = capstan_hollow::start(
        client.clone(),
        capstan_hollow::HollowConfig {
            count: 20,
            ..Default::default()
        },
    )
    .await
    .expect("hollow nodes");
    let _scheduler = spawn("capstan-scheduler", &["--server".into(), url.clone()]);
    let mut controllers = spawn("capstan-controllers", &ctrl_args);

    let deps: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let dep: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {
            "replicas": REPLICAS,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "c", "image": "registry.local/web:1"}]}},
        },
    }))
    .expect("deployment");
    deps.create(&PostParams::default(), &dep)
        .await
        .expect("create");
    let start = Instant::now();
    while !rollout_done(&deps).await {
        assert!(
            start.elapsed() < Duration::from_secs(180),
            "initial 1,000 replicas never became available"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    // Watch the invariants while the rollout runs through the crashes.
    let stop = Arc::new(AtomicBool::new(false));
    let monitor = {
        let pods = pods.clone();
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut worst_total = 0;
            let mut worst_ready = usize::MAX;
            while !stop.load(Ordering::Relaxed) {
                if let Ok(list) = pods.list(&ListParams::default().labels("app=web")).await {
                    let live: Vec<&Pod> = list
                        .items
                        .iter()
                        .filter(|p| p.metadata.deletion_timestamp.is_none())
                        .collect();
                    worst_total = worst_total.max(live.len());
                    worst_ready = worst_ready.min(live.iter().filter(|p| ready(p)).count());
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
            (worst_total, worst_ready)
        })
    };
    deps.patch(
        "web",
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "registry.local/web:2"}]}}}})),
    )
    .await
    .expect("update image");
    for (i, pause_ms) in [400u64, 900, 600].into_iter().enumerate() {
        tokio::time::sleep(Duration::from_millis(pause_ms)).await;
        if i == 0 {
            assert!(
                !rollout_done(&deps).await,
                "the crashes must land in the middle of the rollout"
            );
        }
        match victim {
            Victim::Controllers => {
                controllers.kill9();
                controllers = spawn("capstan-controllers", &ctrl_args);
            }
            // The API server comes back on the same store and port; twice is enough.
            Victim::ApiServer if i < 2 => {
                apiserver.kill9();
                tokio::time::sleep(Duration::from_millis(300)).await;
                apiserver = spawn("capstan-apiserver", &api_args);
                wait_port(port).await;
            }
            Victim::ApiServer => {}
        }
    }
    let start = Instant::now();
    while !rollout_done(&deps).await {
        assert!(
            start.elapsed() < Duration::from_secs(240),
            "rollout did not complete after the crashes of the {victim:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let (worst_total, worst_ready) = monitor.await.expect("monitor");
    assert!(
        worst_total <= REPLICAS as usize + MAX_SURGE,
        "{victim:?}: maxSurge violated: {worst_total} pods at once"
    );
    assert!(
        worst_ready + MAX_UNAVAILABLE >= REPLICAS as usize,
        "{victim:?}: maxUnavailable violated: only {worst_ready} ready"
    );

    // Exactly the desired pods: 1,000, all of the new template.
    let mut settled = false;
    for _ in 0..150 {
        let list = pods
            .list(&ListParams::default().labels("app=web"))
            .await
            .expect("list");
        let live: Vec<&Pod> = list
            .items
            .iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .collect();
        let new = live
            .iter()
            .filter(|p| {
                p.spec
                    .as_ref()
                    .and_then(|s| s.containers.first())
                    .and_then(|c| c.image.as_deref())
                    == Some("registry.local/web:2")
            })
            .count();
        if live.len() == REPLICAS as usize && new == REPLICAS as usize {
            settled = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert!(
        settled,
        "{victim:?}: not exactly 1,000 new pods after the rollout"
    );
    drop(controllers);
    drop(apiserver);
    let _ = hollow.stop().await;
}
