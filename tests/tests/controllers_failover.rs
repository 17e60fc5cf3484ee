//! Two controller managers with leader election: only the Lease holder acts, and after kill -9
//! of the leader the standby takes over within the lease duration (15 s) plus a renewal period.

use std::time::{Duration, Instant};

use capstan_e2e::{Proc, bin, free_port, wait_port};
use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::coordination::v1::Lease;
use kube::api::{Api, ListParams, PostParams};
use serde_json::json;

/// `hostname` becomes the prefix of the process's leader identity.
fn spawn(name: &str, args: &[&str], hostname: &str) -> Proc {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    Proc::spawn(bin(name), &args, &[("HOSTNAME", hostname)])
}

fn deployment(name: &str) -> Deployment {
    serde_json::from_value(json!({
        "metadata": {"name": name},
        "spec": {"replicas": 1, "selector": {"matchLabels": {"app": name}},
                 "template": {"metadata": {"labels": {"app": name}},
                              "spec": {"containers": [{"name": "c", "image": "busybox"}]}}},
    }))
    .expect("deployment")
}

async fn replicaset_appears(
    rss: &Api<ReplicaSet>,
    app: &str,
    within: Duration,
) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < within {
        if rss
            .list(&ListParams::default().labels(&format!("app={app}")))
            .await
            .is_ok_and(|l| !l.items.is_empty())
        {
            return Some(start.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    None
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn standby_controller_manager_takes_over_after_kill_9() {
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}");
    let _api = spawn(
        "capstan-apiserver",
        &[
            "--data-dir",
            &dir.path().display().to_string(),
            "--port",
            &port.to_string(),
        ],
        "api",
    );
    wait_port(port).await;
    let client =
        kube::Client::try_from(kube::Config::new(url.parse().expect("url"))).expect("client");
    let args = [
        "--server",
        url.as_str(),
        "--leader-elect",
        "--metrics-port",
        "0",
    ];
    let mut managers = vec![
        ("mgr-a", spawn("capstan-controllers", &args, "mgr-a")),
        ("mgr-b", spawn("capstan-controllers", &args, "mgr-b")),
    ];
    let deps: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let rss: Api<ReplicaSet> = Api::namespaced(client.clone(), "default");
    let leases: Api<Lease> = Api::namespaced(client.clone(), "kube-system");
    deps.create(&PostParams::default(), &deployment("first"))
        .await
        .expect("create");
    assert!(
        replicaset_appears(&rss, "first", Duration::from_secs(30))
            .await
            .is_some(),
        "the leader reconciles"
    );
    let holder = leases
        .get("capstan-controllers")
        .await
        .expect("lease")
        .spec
        .and_then(|s| s.holder_identity)
        .expect("holder");
    // Exactly one ReplicaSet: two active managers would race to create two.
    let count = rss
        .list(&ListParams::default().labels("app=first"))
        .await
        .expect("list")
        .items
        .len();
    assert_eq!(count, 1);
    // kill -9 whichever process holds the lease (identities start with the hostname).
    let leader_idx = managers
        .iter()
        .position(|(host, _)| holder.starts_with(&format!("{host}_")))
        .expect("the lease holder is one of the two managers");
    let (_, leader) = managers.remove(leader_idx);
    drop(leader);
    deps.create(&PostParams::default(), &deployment("second"))
        .await
        .expect("create");
    let took = replicaset_appears(&rss, "second", Duration::from_secs(30)).await;
    let took = took.expect("the standby took over");
    assert!(took <= Duration::from_secs(15), "failover took {took:?}");
    let new_holder = leases
        .get("capstan-controllers")
        .await
        .expect("lease")
        .spec
        .and_then(|s| s.holder_identity)
        .expect("holder");
    assert_ne!(new_holder, holder);
}
