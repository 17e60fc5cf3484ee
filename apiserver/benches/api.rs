//! API server load benchmark (`make bench`): starts the release `capstan-apiserver` as its own
//! process (embedded store, then etcd), drives it with kube-rs clients and prints throughput,
//! latency percentiles, paged-list time, watch fan-out delivery latency and idle RSS.
//! Every loop is bounded in count and time. Results go to docs/benchmarks.md by hand.

use std::net::SocketAddr;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod};
use kube::api::{Api, ListParams, PostParams, WatchEvent, WatchParams};
use serde_json::json;

const BIN: &str = env!("CARGO_BIN_EXE_capstan-apiserver");

struct Server {
    child: Child,
    addr: SocketAddr,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

async fn start(args: &[String]) -> Server {
    let port = free_port();
    let child = Command::new(BIN)
        .args(args)
        .args([
            "--port",
            &port.to_string(),
            "--watch-cache-events",
            "100000",
        ])
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start apiserver");
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let deadline = Instant::now() + Duration::from_secs(60);
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        assert!(Instant::now() < deadline, "server did not start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Server { child, addr }
}

fn client(addr: SocketAddr) -> kube::Client {
    let config = kube::Config::new(format!("http://{addr}").parse().expect("url"));
    kube::Client::try_from(config).expect("client")
}

fn pct(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1;
    sorted[i].as_secs_f64() * 1000.0
}

fn pod(name: &str) -> Pod {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "bench", "shard": name.len().to_string()}},
        "spec": {"containers": [{
            "name": "app", "image": "registry.local/bench/app:1.0",
            "command": ["/app", "--serve"], "ports": [{"containerPort": 8080}],
            "env": [{"name": "MODE", "value": "bench"}],
            "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}},
        }]},
    }))
    .expect("pod")
}

fn rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

async fn create_burst(
    c: &kube::Client,
    ns: &str,
    total: usize,
    concurrency: usize,
) -> (f64, Vec<Duration>) {
    let pods: Api<Pod> = Api::namespaced(c.clone(), ns);
    let next = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..concurrency {
        let pods = pods.clone();
        let next = next.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if i >= total {
                    break;
                }
                let t = Instant::now();
                pods.create(&PostParams::default(), &pod(&format!("p-{i:06}")))
                    .await
                    .expect("create");
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.expect("task"));
    }
    let rate = total as f64 / started.elapsed().as_secs_f64();
    all.sort();
    (rate, all)
}

async fn run_suite(label: &str, server: &Server) {
    let c = client(server.addr);
    let nss: Api<Namespace> = Api::all(c.clone());
    for ns in ["bench", "bench-watch"] {
        let obj: Namespace = serde_json::from_value(json!({"metadata": {"name": ns}})).expect("ns");
        nss.create(&PostParams::default(), &obj)
            .await
            .expect("namespace");
    }
    println!("## {label}");

    // 1. creates: 10,000 pods from 64 concurrent clients.
    let (rate, lat) = create_burst(&c, "bench", 10_000, 64).await;
    println!(
        "create pods (64 clients, 10000): {rate:.0}/s, latency p50 {:.1} ms p99 {:.1} ms max {:.1} ms",
        pct(&lat, 0.50),
        pct(&lat, 0.99),
        pct(&lat, 1.0)
    );

    // 2. gets, 16 concurrent clients, 5,000 requests.
    let pods: Api<Pod> = Api::namespaced(c.clone(), "bench");
    let mut tasks = Vec::new();
    for w in 0..16 {
        let pods = pods.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::new();
            for i in 0..312 {
                let t = Instant::now();
                pods.get(&format!("p-{:06}", (w * 613 + i * 31) % 10_000))
                    .await
                    .expect("get");
                lat.push(t.elapsed());
            }
            lat
        }));
    }
    let mut lat = Vec::new();
    for t in tasks {
        lat.extend(t.await.expect("task"));
    }
    lat.sort();
    println!(
        "get pod (16 clients, {}): p50 {:.2} ms p99 {:.2} ms",
        lat.len(),
        pct(&lat, 0.5),
        pct(&lat, 0.99)
    );

    // 3. list all 10,000 pods in pages of 500, five times.
    let mut times = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        let mut lp = ListParams::default().limit(500);
        let mut n = 0;
        for _ in 0..100 {
            let page = pods.list(&lp).await.expect("list");
            n += page.items.len();
            match page.metadata.continue_ {
                Some(tok) if !tok.is_empty() => lp = lp.continue_token(&tok),
                _ => break,
            }
        }
        assert_eq!(n, 10_000);
        times.push(t.elapsed());
    }
    times.sort();
    println!(
        "list 10000 pods paged by 500: median {:.0} ms, worst {:.0} ms",
        pct(&times, 0.5),
        pct(&times, 1.0)
    );

    // 4. idle RSS with 10,000 objects.
    tokio::time::sleep(Duration::from_secs(3)).await;
    println!(
        "idle RSS with 10000 pods (+ namespaces): {:.0} MiB",
        rss_mib(server.child.id())
    );

    // 5. watch fan-out: 1,000 watchers, 200 events, each stamped with its send time.
    let watchers = 1000;
    let events = 200;
    let cms: Api<ConfigMap> = Api::namespaced(c.clone(), "bench-watch");
    let ready = Arc::new(tokio::sync::Barrier::new(watchers + 1));
    let mut handles = Vec::new();
    for _ in 0..watchers {
        let cms = cms.clone();
        let ready = ready.clone();
        handles.push(tokio::spawn(async move {
            let list = cms.list(&ListParams::default()).await.expect("list");
            let rv = list.metadata.resource_version.unwrap_or_default();
            let stream = cms
                .watch(&WatchParams::default().timeout(120), &rv)
                .await
                .expect("watch");
            ready.wait().await;
            let mut stream = stream.boxed();
            let mut lat = Vec::with_capacity(events);
            let deadline = tokio::time::Instant::now() + Duration::from_secs(120);
            while lat.len() < events {
                match tokio::time::timeout_at(deadline, stream.try_next()).await {
                    Ok(Ok(Some(WatchEvent::Added(cm)))) => {
                        let sent: u128 = cm
                            .data
                            .as_ref()
                            .and_then(|d| d.get("sent"))
                            .and_then(|s| s.parse().ok())
                            .unwrap_or(0);
                        let now = SystemTime::now()
                            .duration_since(UNIX_EPOCH)
                            .unwrap_or_default()
                            .as_nanos();
                        lat.push(Duration::from_nanos(now.saturating_sub(sent) as u64));
                    }
                    Ok(Ok(Some(_))) => {}
                    _ => break,
                }
            }
            lat
        }));
    }
    ready.wait().await;
    let t = Instant::now();
    for i in 0..events {
        let sent = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos();
        let cm: ConfigMap = serde_json::from_value(json!({
            "metadata": {"name": format!("e-{i:04}")}, "data": {"sent": sent.to_string()},
        }))
        .expect("cm");
        cms.create(&PostParams::default(), &cm)
            .await
            .expect("create");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let mut lat = Vec::new();
    let mut complete = 0;
    for h in handles {
        let l = h.await.expect("watcher");
        if l.len() == events {
            complete += 1;
        }
        lat.extend(l);
    }
    lat.sort();
    println!(
        "watch fan-out: {watchers} watchers x {events} events in {:.1} s; {complete}/{watchers} got every event; delivery p50 {:.1} ms p99 {:.1} ms max {:.1} ms",
        t.elapsed().as_secs_f64(),
        pct(&lat, 0.5),
        pct(&lat, 0.99),
        pct(&lat, 1.0)
    );
}

/// RSS of a freshly started server that loaded the 10,000 pods from the store (no load since).
async fn restarted_rss(args: &[String]) {
    let server = start(args).await;
    let pods: Api<Pod> = Api::namespaced(client(server.addr), "bench");
    let n = pods
        .list(&ListParams::default())
        .await
        .map(|l| l.items.len())
        .unwrap_or(0);
    tokio::time::sleep(Duration::from_secs(3)).await;
    println!(
        "idle RSS after restart with {n} pods loaded: {:.0} MiB",
        rss_mib(server.child.id())
    );
}

#[tokio::main]
async fn main() {
    let only = std::env::args().nth(1).filter(|a| !a.starts_with('-'));
    if only.as_deref().is_none_or(|o| o == "sqlite") {
        let dir = tempfile::tempdir().expect("dir");
        let args = ["--data-dir".to_string(), dir.path().display().to_string()];
        let server = start(&args).await;
        run_suite("embedded store (SQLite)", &server).await;
        drop(server);
        restarted_rss(&args).await;
    }
    if only.as_deref().is_none_or(|o| o == "etcd") {
        match capstan_store::testing::EtcdServer::start().await {
            Ok(etcd) => {
                let args = ["--etcd-servers".to_string(), etcd.endpoint().to_string()];
                let server = start(&args).await;
                run_suite("etcd 3.4 (single member, same machine)", &server).await;
                drop(server);
                restarted_rss(&args).await;
            }
            Err(e) => println!("## etcd: skipped ({e})"),
        }
    }
}
