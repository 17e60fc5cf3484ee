//! The same API on a real etcd (Debian's etcd-server on loopback).

use std::time::Duration;

use futures::{StreamExt, TryStreamExt};
use k8s_openapi::api::core::v1::ConfigMap;
use kube::api::{Api, DeleteParams, ListParams, PostParams};
use kube::runtime::watcher;
use serde_json::json;

use capstan_store::testing::EtcdServer;

use crate::harness::{TestServer, assert_ok};

#[tokio::test]
async fn kubectl_and_kube_rs_work_on_etcd() {
    let Some(etcd) = EtcdServer::start_or_skip().await.expect("etcd starts") else {
        return;
    };
    let endpoints = etcd.endpoints();
    let t = TestServer::start_with(|c| c.etcd_servers = endpoints).await;
    t.kubectl_ok(&["create", "namespace", "onetcd"]).await;
    let out = t
        .kubectl_stdin(
            &["apply", "-n", "onetcd", "-f", "-"],
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\ndata:\n  k: v\n",
        )
        .await;
    assert!(assert_ok(&["apply"], &out).contains("created"));
    let got = t
        .kubectl_ok(&["get", "cm", "a", "-n", "onetcd", "-o", "jsonpath={.data.k}"])
        .await;
    assert_eq!(got, "v");

    let client = t.client().await;
    let cms: Api<ConfigMap> = Api::namespaced(client, "onetcd");
    let mut stream = watcher(cms.clone(), watcher::Config::default()).boxed();
    let watch_task = tokio::spawn(async move {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
        while let Ok(Ok(Some(ev))) = tokio::time::timeout_at(deadline, stream.try_next()).await {
            if let watcher::Event::Delete(cm) = ev
                && cm.metadata.name.as_deref() == Some("c11")
            {
                return true;
            }
        }
        false
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    for i in 0..12 {
        let cm: ConfigMap =
            serde_json::from_value(json!({"metadata": {"name": format!("c{i}")}})).expect("cm");
        cms.create(&PostParams::default(), &cm)
            .await
            .expect("create");
    }
    let page = cms
        .list(&ListParams::default().limit(5))
        .await
        .expect("list");
    assert_eq!(page.items.len(), 5);
    let token = page.metadata.continue_.expect("continue token");
    let page2 = cms
        .list(&ListParams::default().limit(5).continue_token(&token))
        .await
        .expect("page 2");
    assert_eq!(page2.items.len(), 5);
    cms.delete("c11", &DeleteParams::default())
        .await
        .expect("delete");
    let deleted = watch_task.await.expect("watch task");
    assert!(deleted, "watch on etcd delivered the delete");
    t.stop().await;
    drop(etcd);
}
