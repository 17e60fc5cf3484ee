//! Garbage collector behaviour through `kubectl delete --cascade=…`.

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::ResourceExt;
use kube::api::{Api, ListParams, PostParams};
use serde_json::json;

use crate::harness::{Cluster, WAIT, deployment_manifest, eventually};

async fn ready_deployment(c: &Cluster, name: &str) {
    c.apply(&deployment_manifest(name, 2, "nginx:1.25", ""))
        .await;
    c.kubectl_ok(&[
        "rollout",
        "status",
        &format!("deployment/{name}"),
        "--timeout=60s",
    ])
    .await;
}

async fn replicasets(c: &Cluster, app: &str) -> Vec<ReplicaSet> {
    let api: Api<ReplicaSet> = Api::namespaced(c.client.clone(), "default");
    api.list(&ListParams::default().labels(&format!("app={app}")))
        .await
        .map(|l| l.items)
        .unwrap_or_default()
}

#[tokio::test]
async fn background_cascade_deletes_replicasets_and_pods_after_the_deployment() {
    let c = Cluster::start().await;
    ready_deployment(&c, "bg").await;
    c.kubectl_ok(&["delete", "deployment/bg", "--cascade=background"])
        .await;
    eventually(WAIT, "replica sets and pods collected", || async {
        (replicasets(&c, "bg").await.is_empty() && c.active_pods("bg").await.is_empty())
            .then_some(())
    })
    .await;
    c.stop().await;
}

#[tokio::test]
async fn foreground_cascade_removes_dependents_before_the_owner() {
    let c = Cluster::start().await;
    ready_deployment(&c, "fg").await;
    // kubectl waits for the deployment to disappear, which needs the dependents gone first.
    c.kubectl_ok(&[
        "delete",
        "deployment/fg",
        "--cascade=foreground",
        "--timeout=60s",
    ])
    .await;
    let deployments: Api<Deployment> = Api::namespaced(c.client.clone(), "default");
    assert!(deployments.get_opt("fg").await.expect("get").is_none());
    // Foreground means the pods and replica sets were gone before the deployment was.
    assert!(replicasets(&c, "fg").await.is_empty());
    let pods = c.active_pods("fg").await;
    assert!(
        pods.is_empty(),
        "{:?}",
        pods.iter().map(|p| p.name_any()).collect::<Vec<_>>()
    );
    c.stop().await;
}

#[tokio::test]
async fn orphan_cascade_keeps_replicasets_and_pods_without_the_owner_reference() {
    let c = Cluster::start().await;
    ready_deployment(&c, "orph").await;
    c.kubectl_ok(&[
        "delete",
        "deployment/orph",
        "--cascade=orphan",
        "--timeout=60s",
    ])
    .await;
    let deployments: Api<Deployment> = Api::namespaced(c.client.clone(), "default");
    assert!(deployments.get_opt("orph").await.expect("get").is_none());
    let rss = replicasets(&c, "orph").await;
    assert_eq!(rss.len(), 1);
    assert!(
        rss[0].owner_references().is_empty(),
        "owner reference removed"
    );
    // The orphaned replica set keeps running its pods.
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert_eq!(c.active_pods("orph").await.len(), 2);
    assert!(replicasets(&c, "orph").await.len() == 1);
    c.stop().await;
}

#[tokio::test]
async fn objects_whose_owner_uid_does_not_exist_are_collected_and_shared_ones_survive() {
    let c = Cluster::start().await;
    let cms: Api<ConfigMap> = Api::namespaced(c.client.clone(), "default");
    let owner = cms
        .create(
            &PostParams::default(),
            &serde_json::from_value(json!({"metadata": {"name": "owner"}})).expect("cm"),
        )
        .await
        .expect("owner");
    let owner_ref = |name: &str, uid: &str| json!({"apiVersion": "v1", "kind": "ConfigMap", "name": name, "uid": uid});
    let dangling: ConfigMap = serde_json::from_value(json!({"metadata": {
        "name": "dangling", "ownerReferences": [owner_ref("ghost", "00000000-0000-0000-0000-000000000000")]}}))
    .expect("cm");
    let shared: ConfigMap = serde_json::from_value(json!({"metadata": {
        "name": "shared", "ownerReferences": [
            owner_ref("ghost", "00000000-0000-0000-0000-000000000000"),
            owner_ref("owner", &owner.uid().unwrap_or_default())]}}))
    .expect("cm");
    cms.create(&PostParams::default(), &dangling)
        .await
        .expect("dangling");
    cms.create(&PostParams::default(), &shared)
        .await
        .expect("shared");
    eventually(
        WAIT,
        "dangling collected, shared keeps its live owner only",
        || async {
            let gone = cms.get_opt("dangling").await.ok()?.is_none();
            let s = cms.get_opt("shared").await.ok()??;
            let refs: Vec<String> = s
                .owner_references()
                .iter()
                .map(|r| r.name.clone())
                .collect();
            (gone && refs == ["owner"]).then_some(())
        },
    )
    .await;
    // Deleting the last owner collects the dependent.
    c.kubectl_ok(&["delete", "configmap/owner"]).await;
    eventually(WAIT, "shared collected", || async {
        cms.get_opt("shared").await.ok()?.is_none().then_some(())
    })
    .await;
    c.stop().await;
}

#[tokio::test]
async fn deleting_a_namespace_removes_its_deployment_and_nothing_is_recreated() {
    let c = Cluster::start().await;
    c.kubectl_ok(&["create", "namespace", "shop"]).await;
    let manifest = deployment_manifest("web", 3, "nginx:1.25", "");
    let file = c.kubeconfig().with_file_name("shop-web.yaml");
    std::fs::write(&file, &manifest).expect("manifest");
    c.kubectl_ok(&["apply", "-n", "shop", "-f", file.to_str().expect("utf-8")])
        .await;
    c.kubectl_ok(&[
        "rollout",
        "status",
        "-n",
        "shop",
        "deployment/web",
        "--timeout=60s",
    ])
    .await;
    // kubectl waits until the namespace is gone, which needs everything in it gone while the
    // controllers keep running (and would recreate pods if the API server let them).
    c.kubectl_ok(&["delete", "namespace", "shop", "--timeout=60s"])
        .await;
    let out = c.kubectl(&["get", "namespace", "shop"]).await;
    assert!(!out.status.success(), "namespace still there");
    let pods: Api<k8s_openapi::api::core::v1::Pod> = Api::namespaced(c.client.clone(), "shop");
    let rss: Api<ReplicaSet> = Api::namespaced(c.client.clone(), "shop");
    assert!(
        pods.list(&ListParams::default())
            .await
            .expect("list")
            .items
            .is_empty()
    );
    assert!(
        rss.list(&ListParams::default())
            .await
            .expect("list")
            .items
            .is_empty()
    );
    // A new object in a namespace that no longer exists is refused.
    let again = c
        .kubectl(&["apply", "-n", "shop", "-f", file.to_str().expect("utf-8")])
        .await;
    assert!(!again.status.success());
    c.stop().await;
}
