//! Controllers benchmark (`make bench`): release `capstan-apiserver`, `capstan-scheduler` and
//! `capstan-controllers` as their own processes, 100 hollow nodes in this process. A Deployment
//! of 1,000 replicas: time to 1,000 available; a rolling update (maxSurge 25 %, maxUnavailable
//! 25 %) to completion; deletion until no ReplicaSet or pod is left. Also the controllers' RSS
//! and API requests per pod created (from the API server's metrics). Bounded in time.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use capstan_e2e::{Proc, free_port, release_bin, rss_mib};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

fn spawn(name: &str, args: &[String]) -> Proc {
    Proc::spawn(release_bin(name), args, &[])
}

/// apiserver_request_total summed per "verb resource".
async fn request_counts(addr: SocketAddr) -> BTreeMap<String, f64> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(
        format!("GET /metrics HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
    )
    .await
    .expect("write");
    let mut text = String::new();
    s.read_to_string(&mut text).await.expect("read");
    let mut out = BTreeMap::new();
    for line in text
        .lines()
        .filter(|l| l.starts_with("apiserver_request_total{"))
    {
        let field = |name: &str| {
            line.split(&format!("{name}=\""))
                .nth(1)
                .and_then(|r| r.split('"').next())
                .unwrap_or("")
                .to_string()
        };
        let value: f64 = line
            .rsplit(' ')
            .next()
            .and_then(|v| v.parse().ok())
            .unwrap_or(0.0);
        *out.entry(format!("{} {}", field("verb"), field("resource")))
            .or_default() += value;
    }
    out
}

async fn wait_until(what: &str, limit: Duration, mut check: impl AsyncFnMut() -> bool) -> Duration {
    let start = Instant::now();
    while start.elapsed() < limit {
        if check().await {
            return start.elapsed();
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what} did not happen within {limit:?}");
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let addr: SocketAddr = format!("127.0.0.1:{port}").parse().expect("addr");
    let _api = spawn(
        "capstan-apiserver",
        &[
            "--data-dir".into(),
            dir.path().display().to_string(),
            "--port".into(),
            port.to_string(),
        ],
    );
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let url = format!("http://{addr}");
    let client =
        kube::Client::try_from(kube::Config::new(url.parse().expect("url"))).expect("client");
    let hollow = capstan_hollow::start(
        client.clone(),
        capstan_hollow::HollowConfig {
            count: 100,
            ..Default::default()
        },
    )
    .await
    .expect("hollow nodes");
    let _scheduler = spawn("capstan-scheduler", &["--server".into(), url.clone()]);
    let controllers = spawn(
        "capstan-controllers",
        &[
            "--server".into(),
            url.clone(),
            "--metrics-port".into(),
            "0".into(),
        ],
    );
    tokio::time::sleep(Duration::from_secs(2)).await;

    let deployments: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let rss: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
    let dep: Deployment = serde_json::from_value(json!({
        "metadata": {"name": "web"},
        "spec": {
            "replicas": 1000,
            "selector": {"matchLabels": {"app": "web"}},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": "25%", "maxUnavailable": "25%"}},
            "template": {"metadata": {"labels": {"app": "web"}},
                         "spec": {"containers": [{"name": "c", "image": "registry.local/web:1"}]}},
        },
    }))
    .expect("deployment");
    println!("## controllers (100 hollow nodes, embedded store)");
    let before = request_counts(addr).await;
    deployments
        .create(&PostParams::default(), &dep)
        .await
        .expect("create");
    let available = |gen_check: bool| {
        let deployments = deployments.clone();
        async move {
            let Ok(d) = deployments.get("web").await else {
                return false;
            };
            let s = d.status.unwrap_or_default();
            let observed = !gen_check || s.observed_generation >= d.metadata.generation;
            observed
                && s.available_replicas == Some(1000)
                && s.updated_replicas == Some(1000)
                && s.replicas == Some(1000)
        }
    };
    let t = wait_until("1,000 available", Duration::from_secs(120), async || {
        available(false).await
    })
    .await;
    println!(
        "deployment of 1,000 replicas: 1,000 available after {:.1} s",
        t.as_secs_f64()
    );
    let after = request_counts(addr).await;
    let total: f64 = after.values().sum::<f64>() - before.values().sum::<f64>();
    let top: Vec<String> = {
        let mut d: Vec<(String, f64)> = after
            .iter()
            .map(|(k, v)| (k.clone(), v - before.get(k).copied().unwrap_or(0.0)))
            .filter(|(_, v)| *v > 0.0)
            .collect();
        d.sort_by(|a, b| b.1.total_cmp(&a.1));
        d.into_iter()
            .take(6)
            .map(|(k, v)| format!("{k}: {v:.0}"))
            .collect()
    };
    println!(
        "  API requests during scale-up, all components: {:.1} per pod ({})",
        total / 1000.0,
        top.join(", ")
    );
    println!("  controllers RSS: {:.0} MiB", rss_mib(controllers.id()));

    deployments
        .patch("web", &PatchParams::default(), &Patch::Merge(json!({"spec": {"template": {"spec": {"containers": [{"name": "c", "image": "registry.local/web:2"}]}}}})))
        .await
        .expect("patch");
    let t = wait_until("rollout complete", Duration::from_secs(180), async || {
        available(true).await
    })
    .await;
    println!(
        "rolling update of 1,000 replicas (25% surge / 25% unavailable): complete after {:.1} s",
        t.as_secs_f64()
    );

    deployments
        .delete("web", &DeleteParams::background())
        .await
        .expect("delete");
    let t = wait_until("everything deleted", Duration::from_secs(120), async || {
        let rs_left = rss
            .list(&ListParams::default())
            .await
            .map(|l| l.items.len())
            .unwrap_or(1);
        let pods_left = pods
            .list(&ListParams::default())
            .await
            .map(|l| l.items.len())
            .unwrap_or(1);
        rs_left == 0 && pods_left == 0
    })
    .await;
    println!(
        "deleting it: no ReplicaSet or pod left after {:.1} s",
        t.as_secs_f64()
    );
    println!(
        "  controllers RSS after the run: {:.0} MiB",
        rss_mib(controllers.id())
    );
    let _ = hollow.stop().await;
}
