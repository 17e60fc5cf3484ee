//! Hollow nodes against the real API server, in process.

use std::collections::HashSet;
use std::future::Future;
use std::net::Ipv4Addr;
use std::time::Duration;

use capstan_hollow::{HollowConfig, HollowHandle, node_name};
use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Node, Pod};
use k8s_openapi::jiff::Timestamp;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use kube::{Api, Client};
use serde_json::json;

const WAIT: Duration = Duration::from_secs(30);

struct Cluster {
    server: capstan_apiserver::RunningServer,
    client: Client,
    _dir: tempfile::TempDir,
}

async fn cluster() -> Cluster {
    let dir = tempfile::tempdir().unwrap();
    let server = capstan_apiserver::start(capstan_apiserver::Config {
        data_dir: dir.path().join("store"),
        port: 0,
        ..Default::default()
    })
    .await
    .unwrap();
    let client = Client::try_from(kube::Config::new(server.url().parse().unwrap())).unwrap();
    Cluster {
        server,
        client,
        _dir: dir,
    }
}

fn config(prefix: &str, count: usize) -> HollowConfig {
    HollowConfig {
        count,
        prefix: prefix.into(),
        zones: 2,
        labels: capstan_hollow::parse_labels("capstan.dev/pool=hollow").unwrap(),
        taints: capstan_hollow::parse_taints("capstan.dev/hollow=true:PreferNoSchedule").unwrap(),
        lease_interval: Duration::from_millis(500),
        ..HollowConfig::default()
    }
}

/// Polls `f` until it returns `Some`, failing the test after `WAIT`.
async fn wait_for<T, F, Fut>(what: &str, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn pod(name: &str, node: &str, annotations: serde_json::Value) -> Pod {
    serde_json::from_value(json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "annotations": annotations},
        "spec": {
            "nodeName": node,
            "restartPolicy": "Never",
            "initContainers": [{"name": "setup", "image": "busybox"}],
            "containers": [
                {"name": "app", "image": "nginx:1.27"},
                {"name": "sidecar", "image": "envoy"},
            ],
        },
    }))
    .unwrap()
}

async fn create_pod(api: &Api<Pod>, pod: &Pod) {
    api.create(&PostParams::default(), pod).await.unwrap();
}

fn condition<'a>(pod: &'a Pod, type_: &str) -> Option<&'a str> {
    let conditions = pod.status.as_ref()?.conditions.as_ref()?;
    let c = conditions.iter().find(|c| c.type_ == type_)?;
    Some(c.status.as_str())
}

async fn wait_phase(api: &Api<Pod>, name: &str, phase: &str) -> Pod {
    wait_for(&format!("pod {name} {phase}"), || async {
        let p = api.get(name).await.ok()?;
        (p.status.as_ref()?.phase.as_deref() == Some(phase)).then_some(p)
    })
    .await
}

async fn renew_time(leases: &Api<Lease>, name: &str) -> Timestamp {
    let lease = leases.get(name).await.unwrap();
    lease.spec.unwrap().renew_time.unwrap().0
}

async fn stop(hollow: HollowHandle, cluster: Cluster) {
    hollow.stop().await.unwrap();
    cluster.server.stop().await.unwrap();
}

#[tokio::test]
async fn registers_nodes_with_labels_conditions_and_leases() {
    let c = cluster().await;
    let hollow = capstan_hollow::start(c.client.clone(), config("reg-", 3))
        .await
        .unwrap();
    assert_eq!(hollow.node_names(), ["reg-0", "reg-1", "reg-2"]);

    let nodes: Api<Node> = Api::all(c.client.clone());
    let mut cidrs = HashSet::new();
    for i in 0..3 {
        let name = node_name("reg-", i);
        let node = nodes.get(&name).await.unwrap();
        let labels = node.metadata.labels.as_ref().unwrap();
        assert_eq!(labels["kubernetes.io/hostname"], name);
        assert_eq!(labels["kubernetes.io/os"], "linux");
        assert_eq!(labels["kubernetes.io/arch"], "amd64");
        assert_eq!(labels["capstan.dev/pool"], "hollow");
        assert_eq!(
            labels["topology.kubernetes.io/zone"],
            format!("zone-{}", i % 2)
        );

        let spec = node.spec.as_ref().unwrap();
        let cidr = spec.pod_cidr.clone().unwrap();
        assert!(cidrs.insert(cidr.clone()), "duplicate podCIDR {cidr}");
        assert_eq!(spec.pod_cidrs.as_deref(), Some(&[cidr][..]));
        let taints = spec.taints.as_ref().unwrap();
        assert_eq!(taints[0].key, "capstan.dev/hollow");
        assert_eq!(taints[0].effect, "PreferNoSchedule");

        let status = node.status.as_ref().unwrap();
        let capacity = status.capacity.as_ref().unwrap();
        assert_eq!(capacity["cpu"].0, "4");
        assert_eq!(capacity["memory"].0, "16Gi");
        assert_eq!(capacity["pods"].0, "110");
        assert_eq!(capacity["ephemeral-storage"].0, "100Gi");
        assert_eq!(status.allocatable, status.capacity);
        let info = status.node_info.as_ref().unwrap();
        assert_eq!(info.kubelet_version, "v1.33.0-hollow");
        assert_eq!(info.container_runtime_version, "hollow://0.1");
        let conditions = status.conditions.as_ref().unwrap();
        let get = |t: &str| conditions.iter().find(|c| c.type_ == t).unwrap();
        assert_eq!(get("Ready").status, "True");
        assert_eq!(get("Ready").reason.as_deref(), Some("KubeletReady"));
        for t in ["MemoryPressure", "DiskPressure", "PIDPressure"] {
            assert_eq!(get(t).status, "False");
        }
        let addresses = status.addresses.as_ref().unwrap();
        let internal = addresses.iter().find(|a| a.type_ == "InternalIP").unwrap();
        assert!(internal.address.parse::<Ipv4Addr>().is_ok());
        assert!(
            addresses
                .iter()
                .any(|a| a.type_ == "Hostname" && a.address == name)
        );
    }

    let leases: Api<Lease> = Api::namespaced(c.client.clone(), "kube-node-lease");
    let lease = leases.get("reg-1").await.unwrap();
    let spec = lease.spec.as_ref().unwrap();
    assert_eq!(spec.holder_identity.as_deref(), Some("reg-1"));
    assert_eq!(spec.lease_duration_seconds, Some(40));
    let owner = &lease.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str()),
        ("Node", "reg-1")
    );
    let first = spec.renew_time.as_ref().unwrap().0;
    wait_for("lease renewal", || async {
        (renew_time(&leases, "reg-1").await > first).then_some(())
    })
    .await;

    // A second fleet with the same names takes the nodes over instead of failing.
    hollow.stop().await.unwrap();
    let again = capstan_hollow::start(c.client.clone(), config("reg-", 3))
        .await
        .unwrap();
    assert_eq!(
        nodes.list(&Default::default()).await.unwrap().items.len(),
        3
    );
    stop(again, c).await;
}

#[tokio::test]
async fn runs_pods_and_finishes_their_deletion() {
    let c = cluster().await;
    let hollow = capstan_hollow::start(c.client.clone(), config("run-", 2))
        .await
        .unwrap();
    let pods: Api<Pod> = Api::namespaced(c.client.clone(), "default");
    let nodes: Api<Node> = Api::all(c.client.clone());
    let node = nodes.get("run-1").await.unwrap();
    let cidr = node.spec.unwrap().pod_cidr.unwrap();
    let net: Ipv4Addr = cidr.trim_end_matches("/24").parse().unwrap();

    for i in 0..4 {
        create_pod(&pods, &pod(&format!("web-{i}"), "run-1", json!({}))).await;
    }
    // Not ours: bound to a node this fleet does not run.
    create_pod(&pods, &pod("stranger", "elsewhere", json!({}))).await;

    let mut ips = HashSet::new();
    for i in 0..4 {
        let p = wait_phase(&pods, &format!("web-{i}"), "Running").await;
        for t in ["PodScheduled", "Initialized", "ContainersReady", "Ready"] {
            assert_eq!(condition(&p, t), Some("True"), "{t}");
        }
        let status = p.status.as_ref().unwrap();
        let ip: Ipv4Addr = status.pod_ip.as_deref().unwrap().parse().unwrap();
        assert_eq!(ip.octets()[..3], net.octets()[..3], "{ip} not in {cidr}");
        assert!(ips.insert(ip), "duplicate pod IP {ip}");
        assert_eq!(status.pod_ips.as_ref().unwrap()[0].ip, ip.to_string());
        assert!(status.host_ip.is_some());
        assert!(status.start_time.is_some());
        let uid = p.metadata.uid.as_deref().unwrap();
        let containers = status.container_statuses.as_ref().unwrap();
        assert_eq!(containers.len(), 2);
        for cs in containers {
            assert!(cs.ready && cs.started == Some(true));
            assert_eq!(cs.restart_count, 0);
            assert_eq!(
                cs.container_id.as_deref(),
                Some(format!("hollow://{uid}/{}", cs.name).as_str())
            );
            assert!(cs.state.as_ref().unwrap().running.is_some());
        }
        let init = &status.init_container_statuses.as_ref().unwrap()[0];
        let terminated = init.state.as_ref().unwrap().terminated.as_ref().unwrap();
        assert_eq!(terminated.exit_code, 0);
        assert_eq!(terminated.reason.as_deref(), Some("Completed"));
    }
    let stranger = pods.get("stranger").await.unwrap();
    assert_eq!(stranger.status.unwrap().phase.as_deref(), Some("Pending"));

    // Bound later through the binding subresource, as the scheduler does.
    let mut late = pod("late", "", json!({}));
    late.spec.as_mut().unwrap().node_name = None;
    create_pod(&pods, &late).await;
    let binding = json!({
        "apiVersion": "v1", "kind": "Binding", "metadata": {"name": "late"},
        "target": {"apiVersion": "v1", "kind": "Node", "name": "run-0"},
    });
    let _: serde_json::Value = pods
        .create_subresource("binding", "late", &PostParams::default(), &binding)
        .await
        .unwrap();
    let late = wait_phase(&pods, "late", "Running").await;
    assert_eq!(late.status.unwrap().host_ip.as_deref(), Some("10.16.0.1"));

    // Default grace period: the API server only marks the pod; the hollow node finishes it.
    pods.delete("web-0", &DeleteParams::default())
        .await
        .unwrap();
    wait_for("web-0 to disappear", || async {
        matches!(pods.get_opt("web-0").await, Ok(None)).then_some(())
    })
    .await;
    stop(hollow, c).await;
}

#[tokio::test]
async fn exit_after_annotation_completes_pods_and_full_nodes_reject() {
    let c = cluster().await;
    let config = HollowConfig {
        max_pods: 2,
        ..config("job-", 1)
    };
    let hollow = capstan_hollow::start(c.client.clone(), config)
        .await
        .unwrap();
    let pods: Api<Pod> = Api::namespaced(c.client.clone(), "default");
    let annotations = json!({capstan_hollow::EXIT_AFTER_ANNOTATION: "1"});
    create_pod(&pods, &pod("once", "job-0", annotations)).await;
    let failing = json!({
        capstan_hollow::EXIT_AFTER_ANNOTATION: "0",
        capstan_hollow::EXIT_CODE_ANNOTATION: "3",
    });
    create_pod(&pods, &pod("broken", "job-0", failing)).await;

    let done = wait_phase(&pods, "once", "Succeeded").await;
    for cs in done
        .status
        .as_ref()
        .unwrap()
        .container_statuses
        .as_ref()
        .unwrap()
    {
        let t = cs.state.as_ref().unwrap().terminated.as_ref().unwrap();
        assert_eq!(t.exit_code, 0);
        assert!(!cs.ready);
    }
    assert_eq!(condition(&done, "Ready"), Some("False"));
    let failed = wait_phase(&pods, "broken", "Failed").await;
    let cs = &failed
        .status
        .as_ref()
        .unwrap()
        .container_statuses
        .as_ref()
        .unwrap()[0];
    assert_eq!(
        cs.state
            .as_ref()
            .unwrap()
            .terminated
            .as_ref()
            .unwrap()
            .exit_code,
        3
    );

    // Finished pods gave their slots back: two more fit, the third is rejected.
    for name in ["a", "b", "c"] {
        create_pod(&pods, &pod(name, "job-0", json!({}))).await;
    }
    let (mut running, mut rejected) = (0, 0);
    for name in ["a", "b", "c"] {
        let p = wait_for(&format!("{name} to settle"), || async {
            let p = pods.get(name).await.ok()?;
            matches!(
                p.status.as_ref()?.phase.as_deref(),
                Some("Running" | "Failed")
            )
            .then_some(p)
        })
        .await;
        let status = p.status.unwrap();
        match status.phase.as_deref() {
            Some("Running") => running += 1,
            _ => {
                assert_eq!(status.reason.as_deref(), Some("OutOfpods"));
                rejected += 1;
            }
        }
    }
    assert_eq!((running, rejected), (2, 1));
    stop(hollow, c).await;
}

#[tokio::test]
async fn paused_node_stops_renewing_and_updating_pods() {
    let c = cluster().await;
    let hollow = capstan_hollow::start(c.client.clone(), config("dead-", 2))
        .await
        .unwrap();
    let leases: Api<Lease> = Api::namespaced(c.client.clone(), "kube-node-lease");
    let pods: Api<Pod> = Api::namespaced(c.client.clone(), "default");

    hollow.pause_node("dead-0").unwrap();
    assert!(hollow.is_paused("dead-0").unwrap());
    assert!(hollow.pause_node("nope").is_err());
    // Let a renewal that was already in flight land.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let frozen = renew_time(&leases, "dead-0").await;
    let alive = renew_time(&leases, "dead-1").await;
    create_pod(&pods, &pod("stuck", "dead-0", json!({}))).await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(renew_time(&leases, "dead-0").await, frozen);
    assert!(renew_time(&leases, "dead-1").await > alive);
    let stuck = pods.get("stuck").await.unwrap();
    assert_eq!(stuck.status.unwrap().phase.as_deref(), Some("Pending"));

    hollow.resume_node("dead-0").unwrap();
    wait_phase(&pods, "stuck", "Running").await;
    assert!(renew_time(&leases, "dead-0").await > frozen);
    stop(hollow, c).await;
}

/// Ready condition, ContainersReady condition and every container's `ready` flag.
fn readiness(pod: &Pod) -> (Option<&str>, Option<&str>, Vec<bool>) {
    let containers = pod
        .status
        .as_ref()
        .and_then(|s| s.container_statuses.as_ref())
        .map(|c| c.iter().map(|c| c.ready).collect())
        .unwrap_or_default();
    (
        condition(pod, "Ready"),
        condition(pod, "ContainersReady"),
        containers,
    )
}

async fn wait_ready(api: &Api<Pod>, name: &str, ready: bool) -> Pod {
    let status = if ready { "True" } else { "False" };
    wait_for(&format!("pod {name} Ready={status}"), || async {
        let p = api.get(name).await.ok()?;
        (readiness(&p) == (Some(status), Some(status), vec![ready; 2])).then_some(p)
    })
    .await
}

async fn annotate_ready(api: &Api<Pod>, name: &str, value: Option<&str>) {
    let patch = json!({"metadata": {"annotations": {capstan_hollow::READY_ANNOTATION: value}}});
    api.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
}

#[tokio::test]
async fn ready_annotation_holds_readiness_back_and_flips_both_ways() {
    let c = cluster().await;
    let hollow = capstan_hollow::start(c.client.clone(), config("rdy-", 1))
        .await
        .unwrap();
    let pods: Api<Pod> = Api::namespaced(c.client.clone(), "default");
    let held = json!({capstan_hollow::READY_ANNOTATION: "false"});
    create_pod(&pods, &pod("held", "rdy-0", held)).await;

    let p = wait_phase(&pods, "held", "Running").await;
    assert_eq!(
        readiness(&p),
        (Some("False"), Some("False"), vec![false, false])
    );
    let conditions = p.status.as_ref().unwrap().conditions.as_ref().unwrap();
    let ready = conditions.iter().find(|c| c.type_ == "Ready").unwrap();
    assert_eq!(ready.reason.as_deref(), Some("ContainersNotReady"));
    assert_eq!(condition(&p, "Initialized"), Some("True"));
    assert!(p.status.as_ref().unwrap().pod_ip.is_some());
    // Not a passing glance: it stays that way.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let p = pods.get("held").await.unwrap();
    assert_eq!(condition(&p, "Ready"), Some("False"));

    // Removing the annotation makes it Ready; the not-ready wording goes with it.
    annotate_ready(&pods, "held", None).await;
    let p = wait_ready(&pods, "held", true).await;
    let conditions = p.status.as_ref().unwrap().conditions.as_ref().unwrap();
    let ready = conditions.iter().find(|c| c.type_ == "Ready").unwrap();
    assert_eq!(
        (ready.reason.as_deref(), ready.message.as_deref()),
        (None, None)
    );
    let started = p.status.as_ref().unwrap().start_time.clone();

    // Setting it again takes readiness away; the containers keep running from the same start.
    annotate_ready(&pods, "held", Some("False")).await;
    let p = wait_ready(&pods, "held", false).await;
    let status = p.status.as_ref().unwrap();
    assert_eq!(status.phase.as_deref(), Some("Running"));
    assert_eq!(status.start_time, started);
    assert!(
        status.container_statuses.as_ref().unwrap()[0]
            .state
            .as_ref()
            .unwrap()
            .running
            .is_some()
    );

    // Any value other than "false" means ready.
    annotate_ready(&pods, "held", Some("true")).await;
    wait_ready(&pods, "held", true).await;
    stop(hollow, c).await;
}
