//! Node lifecycle controller behaviour against hollow nodes: a silent kubelet makes its node
//! Unknown and unreachable-tainted, its pods are evicted after the default toleration and
//! replaced elsewhere, and a returning kubelet gets its taints removed. Cordoning taints.

use std::time::Duration;

use capstan_controllers::Config;
use capstan_controllers::nodelifecycle::NodeLifecycleConfig;
use k8s_openapi::api::core::v1::{Event, Node, Pod};
use kube::ResourceExt;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::harness::{Cluster, WAIT, deployment_manifest, eventually, hollow_nodes};

const UNREACHABLE: &str = "node.kubernetes.io/unreachable";
const NOT_READY: &str = "node.kubernetes.io/not-ready";
const UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";

/// Fast heartbeats and short grace and toleration periods, so a "dead" node is noticed and
/// its pods evicted within seconds.
async fn start() -> Cluster {
    Cluster::start_with_nodes(
        Config {
            node_lifecycle: NodeLifecycleConfig {
                monitor_period: Duration::from_secs(1),
                grace_period: Duration::from_secs(3),
                default_toleration_seconds: 2,
            },
            ..Config::default()
        },
        capstan_hollow::HollowConfig {
            lease_interval: Duration::from_millis(500),
            lease_duration_seconds: 3,
            status_interval: Duration::from_secs(1),
            ..hollow_nodes()
        },
    )
    .await
}

fn has_taint(node: &Node, key: &str, effect: &str) -> bool {
    node.spec
        .as_ref()
        .and_then(|s| s.taints.as_ref())
        .is_some_and(|t| t.iter().any(|t| t.key == key && t.effect == effect))
}

fn ready_status(node: &Node) -> Option<String> {
    node.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready"))
        .map(|c| c.status.clone())
}

#[tokio::test]
async fn unreachable_node_is_tainted_its_pods_evicted_and_replaced() {
    let c = start().await;
    let hollow = c.hollow();
    let nodes: Api<Node> = Api::all(c.client.clone());
    c.apply(&deployment_manifest("web", 6, "nginx", "")).await;
    let victim = eventually(WAIT, "6 pods bound", || async {
        let pods = c.active_pods("web").await;
        let bound: Vec<String> = pods
            .iter()
            .filter_map(|p| p.spec.as_ref()?.node_name.clone())
            .collect();
        (bound.len() == 6).then(|| bound[0].clone())
    })
    .await;
    assert!(
        c.node_names().contains(&victim),
        "{victim} is a hollow node"
    );
    let node = nodes.get(&victim).await.expect("victim node");
    assert_eq!(ready_status(&node).as_deref(), Some("True"));
    assert!(!has_taint(&node, UNREACHABLE, "NoExecute"));
    let on_victim: Vec<String> = c
        .active_pods("web")
        .await
        .iter()
        .filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_deref()) == Some(&victim))
        .map(|p| p.name_any())
        .collect();

    hollow.pause_node(&victim).expect("pause");
    let marked = eventually(
        Duration::from_secs(15),
        "node Ready=Unknown and unreachable-tainted",
        || async {
            let n = nodes.get(&victim).await.ok()?;
            (ready_status(&n).as_deref() == Some("Unknown")
                && has_taint(&n, UNREACHABLE, "NoExecute")
                && has_taint(&n, UNREACHABLE, "NoSchedule"))
            .then_some(n)
        },
    )
    .await;
    let ready = marked
        .status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .and_then(|c| c.iter().find(|c| c.type_ == "Ready").cloned())
        .expect("ready condition");
    assert_eq!(ready.reason.as_deref(), Some("NodeStatusUnknown"));
    assert_eq!(
        ready.message.as_deref(),
        Some("Kubelet stopped posting node status.")
    );

    // After the (2 s) default toleration the pods go, and replacements land elsewhere.
    eventually(
        Duration::from_secs(30),
        "pods evicted and replaced on healthy nodes",
        || async {
            let pods = c.active_pods("web").await;
            let bound: Vec<&str> = pods
                .iter()
                .filter_map(|p| p.spec.as_ref()?.node_name.as_deref())
                .collect();
            let gone = pods.iter().all(|p| !on_victim.contains(&p.name_any()));
            (gone && bound.len() == 6 && bound.iter().all(|n| *n != victim)).then_some(())
        },
    )
    .await;
    let events: Api<Event> = Api::namespaced(c.client.clone(), "default");
    eventually(WAIT, "TaintManagerEviction events", || async {
        let list = events.list(&ListParams::default()).await.ok()?;
        list.items
            .iter()
            .any(|e| {
                e.reason.as_deref() == Some("TaintManagerEviction")
                    && e.involved_object.kind.as_deref() == Some("Pod")
                    && on_victim.contains(&e.involved_object.name.clone().unwrap_or_default())
            })
            .then_some(())
    })
    .await;

    hollow.resume_node(&victim).expect("resume");
    eventually(
        Duration::from_secs(15),
        "node Ready again and untainted",
        || async {
            let n = nodes.get(&victim).await.ok()?;
            (ready_status(&n).as_deref() == Some("True")
                && !has_taint(&n, UNREACHABLE, "NoExecute")
                && !has_taint(&n, UNREACHABLE, "NoSchedule"))
            .then_some(())
        },
    )
    .await;

    c.stop().await;
}

#[tokio::test]
async fn tolerations_decide_how_long_pods_stay_and_cordon_taints() {
    let c = start().await;
    let hollow = c.hollow();
    let nodes: Api<Node> = Api::all(c.client.clone());
    let pods: Api<Pod> = Api::namespaced(c.client.clone(), "default");
    let victim = c.node(1);
    let pod = |name: &str, tolerations: serde_json::Value| -> Pod {
        serde_json::from_value(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "labels": {"app": "tol"}},
            "spec": {
                "nodeName": victim,
                "tolerations": tolerations,
                "containers": [{"name": "main", "image": "busybox"}],
            }
        }))
        .expect("pod")
    };
    let forever = json!([{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute"}]);
    let long = json!([{"key": UNREACHABLE, "operator": "Exists", "effect": "NoExecute",
                       "tolerationSeconds": 3600}]);
    for (name, tol) in [("default", json!([])), ("forever", forever), ("long", long)] {
        pods.create(&PostParams::default(), &pod(name, tol))
            .await
            .expect("create pod");
    }
    hollow.pause_node(victim).expect("pause");
    eventually(
        Duration::from_secs(30),
        "only the untolerating pod evicted",
        || async {
            let names: Vec<String> = c
                .active_pods("tol")
                .await
                .iter()
                .map(|p| p.name_any())
                .collect();
            (!names.contains(&"default".to_string()) && names.len() == 2).then_some(())
        },
    )
    .await;
    // Well past the default toleration, the tolerating pods are still there.
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(c.active_pods("tol").await.len(), 2);
    hollow.resume_node(victim).expect("resume");

    // A kubelet reporting Ready=False (while still heartbeating) gets not-ready taints. The
    // node is paused only so the hollow kubelet does not overwrite the condition at once.
    let ready_false = c.node(0);
    hollow.pause_node(ready_false).expect("pause");
    let now =
        k8s_openapi::jiff::Timestamp::from_second(k8s_openapi::jiff::Timestamp::now().as_second())
            .expect("now")
            .to_string();
    nodes
        .patch_status(
            ready_false,
            &PatchParams::default(),
            &Patch::Merge(&json!({"status": {"conditions": [{
                "type": "Ready", "status": "False", "reason": "KubeletNotReady",
                "message": "test", "lastHeartbeatTime": now, "lastTransitionTime": now,
            }]}})),
        )
        .await
        .expect("ready false");
    eventually(Duration::from_secs(3), "not-ready taints", || async {
        let n = nodes.get(ready_false).await.ok()?;
        (has_taint(&n, NOT_READY, "NoExecute") && has_taint(&n, NOT_READY, "NoSchedule"))
            .then_some(())
    })
    .await;
    hollow.resume_node(ready_false).expect("resume");
    eventually(
        Duration::from_secs(15),
        "not-ready taints removed",
        || async {
            let n = nodes.get(ready_false).await.ok()?;
            (ready_status(&n).as_deref() == Some("True")
                && !has_taint(&n, NOT_READY, "NoExecute")
                && !has_taint(&n, UNREACHABLE, "NoExecute"))
            .then_some(())
        },
    )
    .await;

    // Cordon and uncordon.
    let cordoned = c.node(2);
    let cordon = |on: bool| {
        let nodes = nodes.clone();
        async move {
            nodes
                .patch(
                    cordoned,
                    &PatchParams::default(),
                    &Patch::Merge(&json!({"spec": {"unschedulable": on}})),
                )
                .await
                .expect("cordon patch");
        }
    };
    cordon(true).await;
    eventually(Duration::from_secs(15), "unschedulable taint", || async {
        let n = nodes.get(cordoned).await.ok()?;
        has_taint(&n, UNSCHEDULABLE, "NoSchedule").then_some(())
    })
    .await;
    cordon(false).await;
    eventually(
        Duration::from_secs(15),
        "unschedulable taint removed",
        || async {
            let n = nodes.get(cordoned).await.ok()?;
            (!has_taint(&n, UNSCHEDULABLE, "NoSchedule")).then_some(())
        },
    )
    .await;

    c.stop().await;
}
