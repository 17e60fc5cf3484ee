//! Running the controller manager: leader election, controller selection, metrics.

use std::net::SocketAddr;
use std::time::Duration;

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, PostParams};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use capstan_controllers::Config;
use capstan_controllers::runtime::leader::LeaderConfig;

use crate::harness::{Cluster, WAIT, deployment_manifest, eventually};

fn leader(identity: &str) -> LeaderConfig {
    LeaderConfig {
        lease_duration: Duration::from_secs(3),
        renew_period: Duration::from_millis(200),
        renew_deadline: Duration::from_secs(2),
        ..LeaderConfig::new(identity.into())
    }
}

fn replicaset(name: &str) -> ReplicaSet {
    serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "ReplicaSet", "metadata": {"name": name},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "main", "image": "busybox"}]}}}
    }))
    .expect("rs")
}

async fn holder(c: &Cluster) -> Option<String> {
    let leases: Api<Lease> = Api::namespaced(c.client.clone(), "kube-system");
    leases
        .get_opt("capstan-controllers")
        .await
        .ok()
        .flatten()
        .and_then(|l| l.spec)
        .and_then(|s| s.holder_identity)
}

#[tokio::test]
async fn only_the_leader_runs_controllers_and_a_successor_takes_over_on_release() {
    // The cluster's own controllers are limited to none, so only the two candidates act.
    let c = Cluster::start_with(Config {
        controllers: vec![],
        ..Config::default()
    })
    .await;
    let (stop_a, task_a) = c.spawn_controllers(Config {
        leader_election: Some(leader("a")),
        ..Config::default()
    });
    eventually(WAIT, "a leads", || async {
        (holder(&c).await.as_deref() == Some("a")).then_some(())
    })
    .await;
    let (stop_b, task_b) = c.spawn_controllers(Config {
        leader_election: Some(leader("b")),
        ..Config::default()
    });
    let rss: Api<ReplicaSet> = Api::namespaced(c.client.clone(), "default");
    rss.create(&PostParams::default(), &replicaset("first"))
        .await
        .expect("rs");
    eventually(WAIT, "leader manages pods", || async {
        (c.active_pods("first").await.len() == 1).then_some(())
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert_eq!(
        holder(&c).await.as_deref(),
        Some("a"),
        "b must not steal a renewed lease"
    );

    // A graceful stop releases the lease; b takes over without waiting out the lease.
    let _ = stop_a.send(());
    let r = tokio::time::timeout(WAIT, task_a).await.expect("a stops");
    assert!(matches!(r, Ok(Ok(()))), "{r:?}");
    eventually(WAIT, "b leads", || async {
        (holder(&c).await.as_deref() == Some("b")).then_some(())
    })
    .await;
    rss.create(&PostParams::default(), &replicaset("second"))
        .await
        .expect("rs");
    eventually(WAIT, "successor manages pods", || async {
        (c.active_pods("second").await.len() == 1).then_some(())
    })
    .await;
    let _ = stop_b.send(());
    let r = tokio::time::timeout(WAIT, task_b).await.expect("b stops");
    assert!(matches!(r, Ok(Ok(()))), "{r:?}");
    c.stop().await;
}

#[tokio::test]
async fn disabled_controllers_do_not_run() {
    let c = Cluster::start_with(Config {
        controllers: vec!["*".into(), "-deployment".into()],
        ..Config::default()
    })
    .await;
    c.apply(&deployment_manifest("disabled", 1, "nginx", ""))
        .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let rss: Api<ReplicaSet> = Api::namespaced(c.client.clone(), "default");
    assert!(
        rss.list(&Default::default())
            .await
            .expect("list")
            .items
            .is_empty()
    );
    c.stop().await;
}

async fn http_get(addr: SocketAddr, path: &str) -> String {
    let mut s = tokio::net::TcpStream::connect(addr).await.expect("connect");
    s.write_all(format!("GET {path} HTTP/1.0\r\n\r\n").as_bytes())
        .await
        .expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).await.expect("read");
    out
}

#[tokio::test]
async fn metrics_count_reconciles_per_controller() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let c = Cluster::start_with(Config {
        metrics_address: Some(addr),
        ..Config::default()
    })
    .await;
    c.apply(&deployment_manifest("metered", 1, "nginx", ""))
        .await;
    c.kubectl_ok(&["rollout", "status", "deployment/metered", "--timeout=60s"])
        .await;
    let body = http_get(addr, "/metrics").await;
    assert!(body.starts_with("HTTP/1.0 200"), "{body}");
    for controller in ["replicaset", "deployment"] {
        let line = body
            .lines()
            .find(|l| {
                l.starts_with(&format!(
                    "capstan_controller_reconcile_total{{controller=\"{controller}\"}}"
                ))
            })
            .unwrap_or_default();
        let n: u64 = line
            .rsplit(' ')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        assert!(n > 0, "{controller}: {line}");
    }
    assert!(body.contains("capstan_controller_reconcile_duration_seconds_bucket"));
    assert!(body.contains("capstan_controller_leader 1"));
    assert!(http_get(addr, "/healthz").await.ends_with("ok"));
    c.stop().await;
}
