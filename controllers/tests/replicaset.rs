//! ReplicaSet controller behaviour.

use k8s_openapi::api::apps::v1::ReplicaSet;
use k8s_openapi::api::core::v1::{Event, Pod};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::json;

use crate::harness::{Cluster, WAIT, eventually};

fn replicaset(name: &str, replicas: i32) -> ReplicaSet {
    serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "ReplicaSet",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                         "spec": {"containers": [{"name": "main", "image": "busybox"}]}}
        }
    }))
    .expect("replicaset")
}

#[tokio::test]
async fn replicaset_creates_heals_and_reports_status() {
    let c = Cluster::start().await;
    let rss: Api<ReplicaSet> = Api::namespaced(c.client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(c.client.clone(), "default");
    rss.create(&PostParams::default(), &replicaset("heal", 3))
        .await
        .expect("create rs");

    let ready = |c: &Cluster| {
        let rss = rss.clone();
        let _ = c;
        async move {
            let rs = rss.get("heal").await.ok()?;
            let s = rs.status?;
            (s.replicas == 3
                && s.ready_replicas == Some(3)
                && s.available_replicas == Some(3)
                && s.fully_labeled_replicas == Some(3)
                && s.observed_generation == rs.metadata.generation)
                .then_some(())
        }
    };
    eventually(WAIT, "3 ready replicas", || ready(&c)).await;
    let before = c.active_pods("heal").await;
    assert_eq!(before.len(), 3);
    for p in &before {
        assert!(p.name_any().starts_with("heal-"));
        let owner = p
            .owner_references()
            .first()
            .cloned()
            .expect("owner reference");
        assert_eq!(owner.kind, "ReplicaSet");
        assert_eq!(owner.controller, Some(true));
        assert_eq!(owner.block_owner_deletion, Some(true));
    }

    // Self-healing: a deleted pod is replaced.
    let victim = before[0].name_any();
    pods.delete(&victim, &DeleteParams::default())
        .await
        .expect("delete pod");
    eventually(WAIT, "a replacement pod", || async {
        let now = c.active_pods("heal").await;
        (now.len() == 3 && now.iter().all(|p| p.name_any() != victim)).then_some(())
    })
    .await;
    eventually(WAIT, "3 ready replicas again", || ready(&c)).await;

    // Scale down deletes surplus pods; scale up adds.
    rss.patch(
        "heal",
        &PatchParams::default(),
        &Patch::Merge(&json!({"spec": {"replicas": 1}})),
    )
    .await
    .expect("scale down");
    eventually(WAIT, "1 pod", || async {
        (c.active_pods("heal").await.len() == 1).then_some(())
    })
    .await;

    // Events were recorded by the replicaset controller.
    let events: Api<Event> = Api::namespaced(c.client.clone(), "default");
    eventually(
        WAIT,
        "SuccessfulCreate and SuccessfulDelete events",
        || async {
            let list = events.list(&ListParams::default()).await.ok()?;
            let has = |reason: &str| {
                list.items.iter().any(|e| {
                    e.reason.as_deref() == Some(reason)
                        && e.involved_object.name.as_deref() == Some("heal")
                        && e.source.as_ref().and_then(|s| s.component.as_deref())
                            == Some("replicaset-controller")
                })
            };
            (has("SuccessfulCreate") && has("SuccessfulDelete")).then_some(())
        },
    )
    .await;
    c.stop().await;
}

#[tokio::test]
async fn replicaset_adopts_matching_orphans_and_releases_pods_that_stop_matching() {
    let c = Cluster::start().await;
    let pods: Api<Pod> = Api::namespaced(c.client.clone(), "default");
    let rss: Api<ReplicaSet> = Api::namespaced(c.client.clone(), "default");
    let orphan: Pod = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "orphan", "labels": {"app": "adopt"}},
        "spec": {"containers": [{"name": "main", "image": "busybox"}]}
    }))
    .expect("pod");
    pods.create(&PostParams::default(), &orphan)
        .await
        .expect("create orphan");
    rss.create(&PostParams::default(), &replicaset("adopt", 2))
        .await
        .expect("create rs");
    let rs_uid = rss.get("adopt").await.expect("rs").uid();
    eventually(WAIT, "orphan adopted and one more pod created", || async {
        let p = pods.get("orphan").await.ok()?;
        let adopted = p
            .owner_references()
            .iter()
            .any(|r| Some(&r.uid) == rs_uid.as_ref() && r.controller == Some(true));
        (adopted && c.active_pods("adopt").await.len() == 2).then_some(())
    })
    .await;

    // Relabel the adopted pod: it is released and replaced.
    pods.patch(
        "orphan",
        &PatchParams::default(),
        &Patch::Merge(&json!({"metadata": {"labels": {"app": "other"}}})),
    )
    .await
    .expect("relabel");
    eventually(WAIT, "released and replaced", || async {
        let p = pods.get("orphan").await.ok()?;
        let released = p.owner_references().is_empty();
        (released && c.active_pods("adopt").await.len() == 2).then_some(())
    })
    .await;
    c.stop().await;
}
