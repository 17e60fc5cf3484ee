//! kube-rs as a client: typed CRUD, status subresource, server-side apply, list paging and the
//! kube-runtime watcher (the machinery every controller is built on).

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::apps::v1::Deployment;
use k8s_openapi::api::core::v1::{ConfigMap, Namespace};
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::runtime::watcher;
use serde_json::json;

use crate::harness::TestServer;

fn deployment(name: &str, replicas: i32) -> Deployment {
    serde_json::from_value(json!({
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": {"name": name},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": {"app": name}},
            "template": {"metadata": {"labels": {"app": name}},
                         "spec": {"containers": [{"name": "c", "image": "busybox"}]}},
        },
    }))
    .expect("deployment")
}

#[tokio::test]
async fn typed_crud_status_and_server_side_apply() {
    let t = TestServer::start().await;
    let client = t.client().await;
    let deps: Api<Deployment> = Api::namespaced(client.clone(), "default");
    let created = deps
        .create(&PostParams::default(), &deployment("d1", 1))
        .await
        .expect("create");
    assert_eq!(created.metadata.generation, Some(1));
    assert!(created.metadata.uid.is_some());

    let err = deps
        .create(&PostParams::default(), &deployment("d1", 1))
        .await
        .expect_err("duplicate");
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 409 && s.reason == "AlreadyExists"),
        "{err:?}"
    );

    let patched = deps
        .patch(
            "d1",
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"replicas": 3}})),
        )
        .await
        .expect("merge patch");
    assert_eq!(patched.spec.as_ref().and_then(|s| s.replicas), Some(3));
    assert_eq!(patched.metadata.generation, Some(2));

    // Status writes go through /status only and do not bump generation.
    let status = json!({"status": {"replicas": 3, "readyReplicas": 2, "observedGeneration": 2}});
    let after = deps
        .patch_status("d1", &PatchParams::default(), &Patch::Merge(status))
        .await
        .expect("status patch");
    assert_eq!(
        after.status.as_ref().and_then(|s| s.ready_replicas),
        Some(2)
    );
    assert_eq!(after.metadata.generation, Some(2));
    // ...and the main resource ignores status.
    let ignored = deps
        .patch(
            "d1",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"readyReplicas": 0}})),
        )
        .await
        .expect("patch");
    assert_eq!(
        ignored.status.as_ref().and_then(|s| s.ready_replicas),
        Some(2)
    );

    let ssa = PatchParams::apply("capstan-test");
    let applied = deps
        .patch("d2", &ssa, &Patch::Apply(deployment("d2", 2)))
        .await
        .expect("apply creates");
    assert_eq!(applied.spec.as_ref().and_then(|s| s.replicas), Some(2));
    let managers: Vec<String> = applied
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    assert_eq!(managers, vec!["capstan-test".to_string()]);

    let scale = deps.get_scale("d2").await.expect("scale");
    assert_eq!(scale.spec.and_then(|s| s.replicas), Some(2));

    deps.delete("d1", &DeleteParams::default())
        .await
        .expect("delete");
    let err = deps.get("d1").await.expect_err("gone");
    assert!(
        matches!(err, kube::Error::Api(ref s) if s.code == 404),
        "{err:?}"
    );
    t.stop().await;
}

#[tokio::test]
async fn list_pages_with_limit_and_continue() {
    let t = TestServer::start().await;
    let client = t.client().await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    for i in 0..25 {
        let cm: ConfigMap =
            serde_json::from_value(json!({"metadata": {"name": format!("cm-{i:02}")}}))
                .expect("cm");
        cms.create(&PostParams::default(), &cm)
            .await
            .expect("create");
    }
    let mut names = Vec::new();
    let mut lp = ListParams::default().limit(10);
    let mut pages = 0;
    loop {
        let page = cms.list(&lp).await.expect("list");
        pages += 1;
        names.extend(page.items.iter().filter_map(|c| c.metadata.name.clone()));
        // A write between pages must not show up: pages are one snapshot.
        if pages == 1 {
            let cm: ConfigMap =
                serde_json::from_value(json!({"metadata": {"name": "cm-late"}})).expect("cm");
            cms.create(&PostParams::default(), &cm)
                .await
                .expect("create");
        }
        match page.metadata.continue_ {
            Some(c) if !c.is_empty() => lp = lp.continue_token(&c),
            _ => break,
        }
    }
    assert_eq!(pages, 3);
    assert_eq!(names.len(), 25);
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted);
    t.stop().await;
}

#[tokio::test]
async fn runtime_watcher_sees_every_change() {
    let t = TestServer::start().await;
    let client = t.client().await;
    let nss: Api<Namespace> = Api::all(client.clone());
    let cms: Api<ConfigMap> = Api::namespaced(client.clone(), "default");
    let stream = watcher(cms.clone(), watcher::Config::default().timeout(5));
    let collected = tokio::spawn(async move {
        let mut seen = Vec::new();
        let mut stream = stream.boxed();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while let Ok(Some(ev)) = tokio::time::timeout_at(deadline, stream.try_next())
            .await
            .unwrap_or(Ok(None))
        {
            match ev {
                watcher::Event::Apply(cm) => {
                    seen.push(format!("apply:{}", cm.metadata.name.unwrap_or_default()))
                }
                watcher::Event::Delete(cm) => {
                    let name = cm.metadata.name.unwrap_or_default();
                    seen.push(format!("delete:{name}"));
                    if name == "w3" {
                        break;
                    }
                }
                _ => {}
            }
        }
        seen
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    for name in ["w1", "w2", "w3"] {
        let cm: ConfigMap =
            serde_json::from_value(json!({"metadata": {"name": name}, "data": {"a": "1"}}))
                .expect("cm");
        cms.create(&PostParams::default(), &cm)
            .await
            .expect("create");
    }
    cms.patch(
        "w2",
        &PatchParams::default(),
        &Patch::Merge(json!({"data": {"a": "2"}})),
    )
    .await
    .expect("patch");
    for name in ["w1", "w2", "w3"] {
        cms.delete(name, &DeleteParams::default())
            .await
            .expect("delete");
    }
    let seen = collected.await.expect("watcher task");
    for want in [
        "apply:w1",
        "apply:w2",
        "apply:w3",
        "delete:w1",
        "delete:w2",
        "delete:w3",
    ] {
        assert!(
            seen.contains(&want.to_string()),
            "{want} missing from {seen:?}"
        );
    }
    assert!(nss.get("kube-system").await.is_ok());
    t.stop().await;
}

#[tokio::test]
async fn streaming_list_watcher_gets_initial_events_end_bookmark() {
    let t = TestServer::start().await;
    let client = t.client().await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "default");
    let cm: ConfigMap = serde_json::from_value(json!({"metadata": {"name": "pre"}})).expect("cm");
    cms.create(&PostParams::default(), &cm)
        .await
        .expect("create");
    let mut stream = watcher(cms.clone(), watcher::Config::default().streaming_lists()).boxed();
    let mut got_init_done = false;
    let mut saw_pre = false;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while let Ok(Ok(Some(ev))) = tokio::time::timeout_at(deadline, stream.try_next()).await {
        match ev {
            watcher::Event::InitApply(cm) if cm.metadata.name.as_deref() == Some("pre") => {
                saw_pre = true
            }
            watcher::Event::InitDone => {
                got_init_done = true;
                break;
            }
            _ => {}
        }
    }
    assert!(saw_pre && got_init_done);
    t.stop().await;
}

#[tokio::test]
async fn binding_and_eviction_subresources() {
    use k8s_openapi::api::core::v1::{Binding, Pod};
    use k8s_openapi::api::policy::v1::{Eviction, PodDisruptionBudget};
    let t = TestServer::start().await;
    let client = t.client().await;
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let pod = |name: &str| -> Pod {
        serde_json::from_value(json!({
            "metadata": {"name": name, "labels": {"app": "guarded"}},
            "spec": {"containers": [{"name": "c", "image": "busybox"}]},
        }))
        .expect("pod")
    };
    pods.create(&PostParams::default(), &pod("p1"))
        .await
        .expect("create");
    let binding: Binding = serde_json::from_value(json!({
        "metadata": {"name": "p1"}, "target": {"apiVersion": "v1", "kind": "Node", "name": "node-1"},
    }))
    .expect("binding");
    pods.create_subresource::<Binding, serde_json::Value>(
        "binding",
        "p1",
        &PostParams::default(),
        &binding,
    )
    .await
    .expect("bind");
    let bound = pods.get("p1").await.expect("get");
    assert_eq!(
        bound.spec.and_then(|s| s.node_name).as_deref(),
        Some("node-1")
    );
    let scheduled = bound.status.and_then(|s| s.conditions).unwrap_or_default();
    assert!(
        scheduled
            .iter()
            .any(|c| c.type_ == "PodScheduled" && c.status == "True")
    );
    let again = pods
        .create_subresource::<Binding, serde_json::Value>(
            "binding",
            "p1",
            &PostParams::default(),
            &binding,
        )
        .await;
    assert!(
        matches!(again, Err(kube::Error::Api(ref s)) if s.code == 409),
        "{again:?}"
    );

    // A budget that allows no disruption blocks eviction of a pod it covers (429)...
    let pdbs: Api<PodDisruptionBudget> = Api::namespaced(client.clone(), "default");
    let pdb: PodDisruptionBudget = serde_json::from_value(json!({
        "metadata": {"name": "guard"},
        "spec": {"minAvailable": 1, "selector": {"matchLabels": {"app": "guarded"}}},
    }))
    .expect("pdb");
    pdbs.create(&PostParams::default(), &pdb)
        .await
        .expect("pdb");
    pods.create(&PostParams::default(), &pod("p2"))
        .await
        .expect("create");
    pods.patch_status(
        "p2",
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"phase": "Running"}})),
    )
    .await
    .expect("status");
    let evict = |name: &str| -> Eviction {
        serde_json::from_value(json!({"metadata": {"name": name, "namespace": "default"}}))
            .expect("eviction")
    };
    // (Raw HTTP: kube-rs, like kubectl drain, keeps retrying a 429.)
    let body = serde_json::to_vec(&evict("p2")).expect("json");
    let (code, status) = t
        .raw(
            "POST",
            "/api/v1/namespaces/default/pods/p2/eviction",
            Some("application/json"),
            &body,
        )
        .await;
    assert_eq!(
        (code, status["reason"].as_str()),
        (429, Some("TooManyRequests")),
        "{status}"
    );
    // ...and once the budget allows one, eviction deletes the (unbound) pod.
    pdbs.patch_status(
        "guard",
        &PatchParams::default(),
        &Patch::Merge(json!({"status": {"disruptionsAllowed": 1, "currentHealthy": 2, "desiredHealthy": 1, "expectedPods": 2, "observedGeneration": 1}})),
    )
    .await
    .expect("pdb status");
    pods.create_subresource::<Eviction, serde_json::Value>(
        "eviction",
        "p2",
        &PostParams::default(),
        &evict("p2"),
    )
    .await
    .expect("evicted");
    assert!(pods.get_opt("p2").await.expect("get").is_none());
    t.stop().await;
}
