//! Kubelet benchmark (`make bench`, root): release `capstan-apiserver` and `capstan-kubelet`
//! as their own processes, the demo busybox image already imported on the node, the node's pod
//! network in a namespace made for the run. Two rounds of 100 pods bound to the node by hand,
//! created 30 at a time — first `hostNetwork` pods, then pods with their own CNI network — so
//! the difference is what networking adds: latency from create to `Running` seen by a watch
//! (p50/p99); the kubelet's RSS idle and with 100 running pods; then deletion of them all.
//! Bounded in time.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use capstan_e2e::{Proc, TestNetns, release_bin, rss_mib};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::runtime::watcher;
use serde_json::json;

const PODS: usize = 100;
const AT_ONCE: usize = 30;
/// Pods of the one-at-a-time rounds, which show the per-pod cost without CPU contention.
const SEQUENTIAL: usize = 20;

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

#[tokio::main]
async fn main() {
    if !nix_root() {
        eprintln!("pods benchmark skipped: needs root");
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let (_api, addr) = capstan_e2e::start_release_apiserver(&dir.path().join("store")).await;
    let root = dir.path().join("kubelet");
    let layout = dir.path().join("layout");
    let status = std::process::Command::new(release_bin("capstan"))
        .args(["image", "build-demo"])
        .arg(&layout)
        .status()
        .expect("capstan image build-demo");
    assert!(status.success());
    let status = std::process::Command::new(release_bin("capstan"))
        .args(["image", "import"])
        .arg(layout.join("busybox"))
        .arg("--root-dir")
        .arg(&root)
        .status()
        .expect("capstan image import");
    assert!(status.success());
    let node = format!("bench-{}", std::process::id());
    let netns = TestNetns::new();
    let kubelet = Proc::spawn(
        release_bin("capstan-kubelet"),
        &[
            "--server".into(),
            format!("http://{addr}"),
            "--node-name".into(),
            node.clone(),
            "--root-dir".into(),
            root.display().to_string(),
            "--port".into(),
            "0".into(),
            "--network-namespace".into(),
            netns.path().display().to_string(),
            "--pod-cidr".into(),
            "10.244.0.0/24".into(),
        ],
        &[],
    );
    let client = kube::Client::try_from(kube::Config::new(
        format!("http://{addr}").parse().expect("url"),
    ))
    .expect("client");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let nodes: Api<k8s_openapi::api::core::v1::Node> = Api::all(client.clone());
    let start = Instant::now();
    while nodes.get_opt(&node).await.ok().flatten().is_none() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "node never registered"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    let idle = rss_mib(kubelet.id());

    println!("kubelet benchmark: image present, one node");
    let rounds = [
        ("hostNetwork pods", true, PODS, AT_ONCE),
        ("pod network (CNI)", false, PODS, AT_ONCE),
        ("hostNetwork pods", true, SEQUENTIAL, 1),
        ("pod network (CNI)", false, SEQUENTIAL, 1),
    ];
    let mut medians = Vec::new();
    for (label, host_network, count, at_once) in rounds {
        let (lat, total) = round(&pods, &node, host_network, count, at_once).await;
        println!(
            "  {count} {label}, {at_once} at a time: create -> Running (watch): p50 {:?}  p99 {:?}  max {:?}  all {:?}",
            pct(&lat, 0.5),
            pct(&lat, 0.99),
            lat[lat.len() - 1],
            total
        );
        medians.push(pct(&lat, 0.5));
        if !host_network && at_once > 1 {
            tokio::time::sleep(Duration::from_secs(2)).await;
            let busy = rss_mib(kubelet.id());
            println!("  kubelet RSS: idle {idle:.1} MiB, {count} running pods {busy:.1} MiB");
        }
        let del = Instant::now();
        pods.delete_collection(&DeleteParams::default(), &ListParams::default())
            .await
            .expect("delete");
        let deadline = Instant::now() + Duration::from_secs(180);
        while !pods
            .list(&ListParams::default())
            .await
            .expect("list")
            .items
            .is_empty()
        {
            assert!(Instant::now() < deadline, "pods were not deleted in time");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        println!("  delete all {count} (grace 1 s): {:?}", del.elapsed());
    }
    println!(
        "  networking adds to the median pod start: {:?} at {AT_ONCE} at a time, {:?} one at a time",
        medians[1].saturating_sub(medians[0]),
        medians[3].saturating_sub(medians[2])
    );
    drop(kubelet);
}

/// Creates the pods in batches and returns their create -> Running latencies, sorted, and
/// the whole round's time.
async fn round(
    pods: &Api<Pod>,
    node: &str,
    host_network: bool,
    count: usize,
    at_once: usize,
) -> (Vec<Duration>, Duration) {
    let created: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let running: Arc<Mutex<HashMap<String, Instant>>> = Arc::default();
    let watch = {
        let (pods, running) = (pods.clone(), running.clone());
        tokio::spawn(async move {
            let mut s = watcher::watcher(pods, watcher::Config::default()).boxed();
            while let Some(ev) = s.next().await {
                if let Ok(watcher::Event::Apply(p) | watcher::Event::InitApply(p)) = ev
                    && p.status.as_ref().and_then(|s| s.phase.as_deref()) == Some("Running")
                {
                    let name = p.metadata.name.unwrap_or_default();
                    running
                        .lock()
                        .expect("lock")
                        .entry(name)
                        .or_insert_with(Instant::now);
                }
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(500)).await;
    let prefix = if host_network { "h" } else { "n" };
    let names: Vec<String> = (0..count)
        .map(|i| format!("{prefix}{at_once}-{i}"))
        .collect();
    let all_start = Instant::now();
    for chunk in names.chunks(at_once) {
        let futs = chunk.iter().map(|name| {
            let (pods, created, node) = (pods.clone(), created.clone(), node.to_string());
            let name = name.clone();
            async move {
                let pod: Pod = serde_json::from_value(json!({
                    "apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": name},
                    "spec": {"nodeName": node, "hostNetwork": host_network,
                        "terminationGracePeriodSeconds": 1, "containers": [{
                        "name": "c", "image": "capstan.local/busybox:1.35",
                        "command": ["sleep", "3600"],
                    }]},
                }))
                .expect("pod");
                created
                    .lock()
                    .expect("lock")
                    .insert(name.clone(), Instant::now());
                pods.create(&PostParams::default(), &pod)
                    .await
                    .expect("create");
            }
        });
        futures::future::join_all(futs).await;
        // The next batch goes when this one is running, as "30 at a time" means.
        let deadline = Instant::now() + Duration::from_secs(120);
        while chunk
            .iter()
            .any(|n| !running.lock().expect("lock").contains_key(n))
        {
            assert!(Instant::now() < deadline, "pods did not start in time");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
    let total = all_start.elapsed();
    let mut lat: Vec<Duration> = {
        let c = created.lock().expect("lock");
        let r = running.lock().expect("lock");
        names.iter().map(|n| r[n].duration_since(c[n])).collect()
    };
    lat.sort();
    watch.abort();
    (lat, total)
}

fn nix_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"))
}
