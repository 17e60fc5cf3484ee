//! Scheduler throughput (`make bench`): the release `capstan-apiserver` (embedded store) and
//! `capstan-scheduler` run as their own processes; hollow nodes run in this process. For each
//! scenario the benchmark creates pods from 32 concurrent clients and measures from the first
//! pod created to the last binding stored (seen through a watch), plus per-pod latency from
//! creation to binding and the scheduler's RSS. Loops are bounded in count and time.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, PostParams, WatchEvent, WatchParams};
use serde_json::{Value, json};

struct Proc(Child);

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn release_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    // target/release/deps/throughput-… → target/release/<name>
    let dir = exe.parent().and_then(|d| d.parent()).expect("target dir");
    let bin = dir.join(name);
    assert!(
        bin.exists(),
        "{} missing: build the release binaries first (make bench does)",
        bin.display()
    );
    bin
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// CPU seconds (user + system) a process has used so far.
fn cpu_secs(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let ticks: Vec<f64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|f| f.parse().ok())
        .collect();
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) } as f64;
    ticks.iter().sum::<f64>() / hz.max(1.0)
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

async fn start_apiserver(dir: &std::path::Path) -> (Proc, SocketAddr) {
    let port = free_port();
    let child = Command::new(release_bin("capstan-apiserver"))
        .args([
            "--data-dir",
            &dir.display().to_string(),
            "--port",
            &port.to_string(),
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("apiserver");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let deadline = Instant::now() + Duration::from_secs(60);
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        assert!(Instant::now() < deadline, "apiserver did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (Proc(child), addr)
}

fn start_scheduler(addr: SocketAddr) -> Proc {
    Proc(
        Command::new(release_bin("capstan-scheduler"))
            .args(["--server", &format!("http://{addr}")])
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("scheduler"),
    )
}

fn pod(name: &str, kind: &str) -> Pod {
    let mut spec = json!({"containers": [{"name": "c", "image": "registry.local/bench:1",
        "resources": {"requests": {"cpu": "10m", "memory": "10Mi"}}}]});
    let labels = json!({"app": "bench", "color": kind});
    match kind {
        "anti" => {
            spec["affinity"] = json!({"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
                {"labelSelector": {"matchLabels": {"color": "anti"}}, "topologyKey": "kubernetes.io/hostname"}]}});
        }
        "spread" => {
            spec["topologySpreadConstraints"] = json!([
                {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule",
                 "labelSelector": {"matchLabels": {"color": "spread"}}},
                {"maxSkew": 1, "topologyKey": "kubernetes.io/hostname", "whenUnsatisfiable": "DoNotSchedule",
                 "labelSelector": {"matchLabels": {"color": "spread"}}},
            ]);
        }
        _ => {}
    }
    let v: Value = json!({"metadata": {"name": name, "labels": labels}, "spec": spec});
    serde_json::from_value(v).expect("pod")
}

/// What the benchmark reads of a watched pod.
#[derive(Clone, Debug, serde::Deserialize)]
struct BindingView {
    metadata: NameOnly,
    #[serde(default)]
    spec: NodeOnly,
}

#[derive(Clone, Debug, serde::Deserialize)]
struct NameOnly {
    name: String,
}

#[derive(Clone, Debug, Default, serde::Deserialize)]
#[serde(rename_all = "camelCase")]
struct NodeOnly {
    node_name: Option<String>,
}

/// Creates `count` pods and waits until all are bound; returns (pods/s, latencies).
async fn run_pods(
    client: &kube::Client,
    kind: &str,
    prefix: &str,
    count: usize,
) -> (f64, Vec<Duration>) {
    let api: Api<Pod> = Api::namespaced(client.clone(), "default");
    let created: Arc<std::sync::Mutex<HashMap<String, Instant>>> = Arc::default();
    let list = api.list(&Default::default()).await.expect("list");
    let rv = list.metadata.resource_version.unwrap_or_default();
    // Only name and node are decoded: the benchmark's own watch should cost little of the
    // two cores it shares with the processes it measures.
    let request = kube::core::Request::new(<Pod as kube::Resource>::url_path(&(), Some("default")))
        .watch(&WatchParams::default().timeout(290), &rv)
        .expect("watch request");
    let mut stream = client
        .request_events::<BindingView>(request)
        .await
        .expect("watch")
        .boxed();
    let started = Instant::now();
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut creators = Vec::new();
    for _ in 0..32 {
        let client = client.clone();
        let next = next.clone();
        let created = created.clone();
        let kind = kind.to_string();
        let prefix = prefix.to_string();
        creators.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= count {
                    break;
                }
                let name = format!("{prefix}-{i:05}");
                created
                    .lock()
                    .expect("lock")
                    .insert(name.clone(), Instant::now());
                // The answer is not decoded: this process also runs the 5,000 hollow nodes,
                // and its CPU is taken from the two cores the measured processes share.
                let body = serde_json::to_vec(&pod(&name, &kind)).expect("pod JSON");
                let request = kube::core::Request::new(<Pod as kube::Resource>::url_path(
                    &(),
                    Some("default"),
                ))
                .create(&PostParams::default(), body)
                .expect("create request");
                client.request_text(request).await.expect("create pod");
            }
        }));
    }
    let mut latencies = Vec::with_capacity(count);
    let mut seen = std::collections::HashSet::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(300);
    while seen.len() < count {
        let ev = match tokio::time::timeout_at(deadline, stream.try_next()).await {
            Ok(Ok(Some(ev))) => ev,
            other => panic!(
                "watch ended before every pod was bound ({} of {count}): {other:?}",
                seen.len()
            ),
        };
        let p = match ev {
            WatchEvent::Added(p) | WatchEvent::Modified(p) => p,
            _ => continue,
        };
        let name = p.metadata.name;
        if !name.starts_with(prefix) || p.spec.node_name.is_none() {
            continue;
        }
        if seen.insert(name.clone())
            && let Some(t) = created.lock().expect("lock").get(&name)
        {
            latencies.push(t.elapsed());
        }
    }
    let elapsed = started.elapsed();
    for c in creators {
        let _ = c.await;
    }
    latencies.sort();
    (count as f64 / elapsed.as_secs_f64(), latencies)
}

async fn scenario(label: &str, kind: &str, nodes: usize, pods: usize, extra_for_rss: usize) {
    let dir = tempfile::tempdir().expect("dir");
    let (api, addr) = start_apiserver(dir.path()).await;
    let client = kube::Client::try_from(kube::Config::new(
        format!("http://{addr}").parse().expect("url"),
    ))
    .expect("client");
    let config = capstan_hollow::HollowConfig {
        count: nodes,
        zones: 10,
        cpu: "32".into(),
        memory: "256Gi".into(),
        lease_interval: Duration::from_secs(40),
        ..Default::default()
    };
    let t = Instant::now();
    let hollow = capstan_hollow::start(client.clone(), config)
        .await
        .expect("hollow nodes");
    println!(
        "  ({nodes} hollow nodes registered in {:.1} s)",
        t.elapsed().as_secs_f64()
    );
    let scheduler = start_scheduler(addr);
    tokio::time::sleep(Duration::from_secs(3)).await;
    println!(
        "  scheduler RSS with {nodes} nodes, before pods: {:.0} MiB",
        rss_mib(scheduler.0.id())
    );
    let (api_cpu, sched_cpu, own_cpu) = (
        cpu_secs(api.0.id()),
        cpu_secs(scheduler.0.id()),
        cpu_secs(std::process::id()),
    );
    let (rate, lat) = run_pods(&client, kind, kind, pods).await;
    println!(
        "{label}: {rate:.0} pods/s; creation→binding p50 {:.0} ms p99 {:.0} ms",
        pct(&lat, 0.5),
        pct(&lat, 0.99)
    );
    // CPU per pod is steadier than the rate on a shared machine: it does not depend on how
    // much of the two cores the other processes got.
    println!(
        "  CPU per pod: API server {:.0} µs, scheduler {:.0} µs, benchmark + hollow nodes {:.0} µs",
        (cpu_secs(api.0.id()) - api_cpu) * 1e6 / pods as f64,
        (cpu_secs(scheduler.0.id()) - sched_cpu) * 1e6 / pods as f64,
        (cpu_secs(std::process::id()) - own_cpu) * 1e6 / pods as f64
    );
    if extra_for_rss > 0 {
        let _ = run_pods(&client, kind, &format!("{kind}-more"), extra_for_rss).await;
        tokio::time::sleep(Duration::from_secs(2)).await;
        println!(
            "  scheduler RSS at {nodes} nodes / {} pods: {:.0} MiB",
            pods + extra_for_rss,
            rss_mib(scheduler.0.id())
        );
    }
    drop(scheduler);
    let _ = hollow.stop().await;
}

#[tokio::main]
async fn main() {
    let only = std::env::args().nth(1).filter(|a| !a.starts_with('-'));
    let run = |name: &str| only.as_deref().is_none_or(|o| o == name);
    println!("## scheduler (5,000 hollow nodes, embedded store)");
    if run("basic") {
        scenario("10,000 basic pods", "basic", 5000, 10_000, 5_000).await;
    }
    if run("anti") {
        scenario(
            "5,000 pods with required anti-affinity (hostname)",
            "anti",
            5000,
            5000,
            0,
        )
        .await;
    }
    if run("spread") {
        scenario(
            "5,000 pods with topology spread (zone + hostname)",
            "spread",
            5000,
            5000,
            0,
        )
        .await;
    }
}
