//! EndpointSlice and Endpoints controllers: a Service's slices and Endpoints follow its pods'
//! addresses, readiness and deletion, and go away with the Service.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Endpoints, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::harness::{Cluster, NEVER_READY, WAIT, eventually};

/// Pods whose status this test sets itself (the simulated kubelet leaves NEVER_READY alone).
fn pod(name: &str, port_name: &str) -> Pod {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "web", NEVER_READY: "true"}},
        "spec": {
            "nodeName": "node-a",
            "hostname": name,
            "subdomain": if name == "web-0" { "web" } else { "elsewhere" },
            "containers": [{"name": "main", "image": "busybox",
                            "ports": [{"name": port_name, "containerPort": 8080}]}],
        },
    }))
    .expect("pod")
}

async fn set_status(pods: &Api<Pod>, name: &str, ip: &str, ready: bool) {
    let status = json!({"status": {
        "phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
        "conditions": [{"type": "Ready", "status": if ready { "True" } else { "False" }}],
    }});
    pods.patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
        .await
        .expect("pod status");
}

/// The slices of Service `web`, as `ports → [ip ready serving terminating hostname]`.
async fn slice_view(slices: &Api<EndpointSlice>) -> Option<BTreeMap<String, Vec<String>>> {
    let list = slices
        .list(&ListParams::default().labels("kubernetes.io/service-name=web"))
        .await
        .ok()?;
    let mut view = BTreeMap::new();
    for s in list.items {
        let ports: Vec<String> = s
            .ports
            .iter()
            .flatten()
            .map(|p| {
                format!(
                    "{}:{}",
                    p.name.clone().unwrap_or_default(),
                    p.port.unwrap_or(0)
                )
            })
            .collect();
        let mut eps: Vec<String> = s
            .endpoints
            .iter()
            .map(|e| {
                let c = e.conditions.clone().unwrap_or_default();
                format!(
                    "{} r={} s={} t={} h={}",
                    e.addresses.join(","),
                    c.ready.unwrap_or(false),
                    c.serving.unwrap_or(false),
                    c.terminating.unwrap_or(false),
                    e.hostname.clone().unwrap_or_default()
                )
            })
            .collect();
        eps.sort();
        view.insert(ports.join(" "), eps);
    }
    Some(view)
}

/// Endpoints `web` as `[ports | ready ips | not-ready ips]` per subset.
async fn endpoints_view(endpoints: &Api<Endpoints>) -> Option<Vec<String>> {
    let ep = endpoints.get_opt("web").await.ok()??;
    let ips = |list: &Option<Vec<k8s_openapi::api::core::v1::EndpointAddress>>| {
        list.iter()
            .flatten()
            .map(|a| a.ip.clone())
            .collect::<Vec<_>>()
            .join(",")
    };
    Some(
        ep.subsets
            .iter()
            .flatten()
            .map(|s| {
                let ports: Vec<String> = s
                    .ports
                    .iter()
                    .flatten()
                    .map(|p| format!("{}:{}", p.name.clone().unwrap_or_default(), p.port))
                    .collect();
                format!(
                    "{} | {} | {}",
                    ports.join(" "),
                    ips(&s.addresses),
                    ips(&s.not_ready_addresses)
                )
            })
            .collect(),
    )
}

fn expect_view(entries: &[(&str, &[&str])]) -> BTreeMap<String, Vec<String>> {
    entries
        .iter()
        .map(|(k, v)| (k.to_string(), v.iter().map(|s| s.to_string()).collect()))
        .collect()
}

#[tokio::test]
async fn slices_and_endpoints_follow_pods_readiness_and_deletion() {
    let c = Cluster::start_with(capstan_controllers::Config {
        controllers: vec!["endpointslice".into(), "endpoint".into()],
        ..capstan_controllers::Config::default()
    })
    .await;
    let services: Api<Service> = Api::namespaced(c.client.clone(), "default");
    let pods: Api<Pod> = Api::namespaced(c.client.clone(), "default");
    let slices: Api<EndpointSlice> = Api::namespaced(c.client.clone(), "default");
    let endpoints: Api<Endpoints> = Api::namespaced(c.client.clone(), "default");
    let svc: Service = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "web"},
        "spec": {"selector": {"app": "web"}, "ports": [
            {"name": "http", "port": 80, "targetPort": "http"},
            {"name": "metrics", "port": 9090}]},
    }))
    .expect("service");
    let svc = services
        .create(&PostParams::default(), &svc)
        .await
        .expect("create service");
    // web-2 has no port named http: it serves only metrics, from a slice of its own.
    for (name, port_name, ip) in [
        ("web-0", "http", "10.244.1.10"),
        ("web-1", "http", "10.244.1.11"),
        ("web-2", "admin", "10.244.1.12"),
    ] {
        pods.create(&PostParams::default(), &pod(name, port_name))
            .await
            .expect("create pod");
        set_status(&pods, name, ip, true).await;
    }

    let all_ready = expect_view(&[
        (
            "http:8080 metrics:9090",
            &[
                "10.244.1.10 r=true s=true t=false h=web-0",
                "10.244.1.11 r=true s=true t=false h=",
            ],
        ),
        ("metrics:9090", &["10.244.1.12 r=true s=true t=false h="]),
    ]);
    eventually(WAIT, "slices for all three pods", || async {
        (slice_view(&slices).await? == all_ready).then_some(())
    })
    .await;
    let list = slices
        .list(&ListParams::default().labels("kubernetes.io/service-name=web"))
        .await
        .expect("list slices");
    let mut names: Vec<String> = list.items.iter().map(|s| s.name_any()).collect();
    names.sort();
    for s in &list.items {
        assert!(s.name_any().starts_with("web-"), "{}", s.name_any());
        assert_eq!(s.address_type, "IPv4");
        assert_eq!(
            s.labels()
                .get("endpointslice.kubernetes.io/managed-by")
                .map(String::as_str),
            Some("endpointslice-controller.k8s.io")
        );
        let owner = s.owner_references().first().cloned().expect("owner");
        assert_eq!(
            (owner.kind.as_str(), owner.name.as_str()),
            ("Service", "web")
        );
        assert_eq!(Some(owner.uid), svc.uid());
        assert_eq!(
            (owner.controller, owner.block_owner_deletion),
            (Some(true), Some(true))
        );
        for e in &s.endpoints {
            let r = e.target_ref.clone().expect("targetRef");
            assert_eq!(r.kind.as_deref(), Some("Pod"));
            assert_eq!(e.node_name.as_deref(), Some("node-a"));
        }
    }
    eventually(WAIT, "endpoints for all three pods", || async {
        let want = [
            "http:8080 metrics:9090 | 10.244.1.10,10.244.1.11 | ",
            "metrics:9090 | 10.244.1.12 | ",
        ];
        (endpoints_view(&endpoints).await? == want).then_some(())
    })
    .await;

    let described = c.kubectl_ok(&["describe", "service", "web"]).await;
    assert!(
        described.contains("10.244.1.10:8080") && described.contains("10.244.1.12:9090"),
        "{described}"
    );

    // Not ready: still listed, flagged in the slice and moved to notReadyAddresses.
    set_status(&pods, "web-1", "10.244.1.11", false).await;
    eventually(WAIT, "web-1 not ready in slice and endpoints", || async {
        let want = expect_view(&[
            (
                "http:8080 metrics:9090",
                &[
                    "10.244.1.10 r=true s=true t=false h=web-0",
                    "10.244.1.11 r=false s=false t=false h=",
                ],
            ),
            ("metrics:9090", &["10.244.1.12 r=true s=true t=false h="]),
        ]);
        let eps = [
            "http:8080 metrics:9090 | 10.244.1.10 | 10.244.1.11",
            "metrics:9090 | 10.244.1.12 | ",
        ];
        (slice_view(&slices).await? == want && endpoints_view(&endpoints).await? == eps)
            .then_some(())
    })
    .await;

    // Terminating (bound pods wait for their kubelet): still serving in the slice, gone from
    // Endpoints; then gone everywhere once deleted for good.
    pods.delete("web-0", &DeleteParams::default())
        .await
        .expect("delete web-0");
    eventually(WAIT, "web-0 terminating", || async {
        let want = expect_view(&[
            (
                "http:8080 metrics:9090",
                &[
                    "10.244.1.10 r=false s=true t=true h=web-0",
                    "10.244.1.11 r=false s=false t=false h=",
                ],
            ),
            ("metrics:9090", &["10.244.1.12 r=true s=true t=false h="]),
        ]);
        let eps = [
            "http:8080 metrics:9090 |  | 10.244.1.11",
            "metrics:9090 | 10.244.1.12 | ",
        ];
        (slice_view(&slices).await? == want && endpoints_view(&endpoints).await? == eps)
            .then_some(())
    })
    .await;
    pods.delete("web-0", &DeleteParams::default().grace_period(0))
        .await
        .expect("force delete web-0");
    eventually(WAIT, "web-0 gone", || async {
        let want = expect_view(&[
            (
                "http:8080 metrics:9090",
                &["10.244.1.11 r=false s=false t=false h="],
            ),
            ("metrics:9090", &["10.244.1.12 r=true s=true t=false h="]),
        ]);
        (slice_view(&slices).await? == want).then_some(())
    })
    .await;
    // Updated in place: the same two slices throughout.
    let mut now: Vec<String> = slices
        .list(&ListParams::default().labels("kubernetes.io/service-name=web"))
        .await
        .expect("list slices")
        .items
        .iter()
        .map(|s| s.name_any())
        .collect();
    now.sort();
    assert_eq!(now, names);

    // A slice deleted by hand comes back.
    slices
        .delete(&names[0], &DeleteParams::default())
        .await
        .expect("delete slice");
    eventually(WAIT, "deleted slice replaced", || async {
        let view = slice_view(&slices).await?;
        (view.len() == 2 && view.values().all(|eps| eps.len() == 1)).then_some(())
    })
    .await;

    // A pod that stops matching the selector is taken out; its emptied slice goes.
    pods.patch(
        "web-2",
        &PatchParams::default(),
        &Patch::Merge(&json!({"metadata": {"labels": {"app": "other"}}})),
    )
    .await
    .expect("relabel web-2");
    eventually(WAIT, "web-2 removed after relabel", || async {
        let want = expect_view(&[(
            "http:8080 metrics:9090",
            &["10.244.1.11 r=false s=false t=false h="],
        )]);
        let eps = ["http:8080 metrics:9090 |  | 10.244.1.11"];
        (slice_view(&slices).await? == want && endpoints_view(&endpoints).await? == eps)
            .then_some(())
    })
    .await;

    // Without the Service its slices and Endpoints go, even with no garbage collector running.
    services
        .delete("web", &DeleteParams::default())
        .await
        .expect("delete service");
    eventually(WAIT, "slices and endpoints removed", || async {
        let gone =
            slice_view(&slices).await?.is_empty() && endpoints.get_opt("web").await.ok()?.is_none();
        gone.then_some(())
    })
    .await;
    c.stop().await;
}

#[tokio::test]
async fn services_without_selector_are_left_to_their_users() {
    let c = Cluster::start_with(capstan_controllers::Config {
        controllers: vec!["endpointslice".into(), "endpoint".into()],
        ..capstan_controllers::Config::default()
    })
    .await;
    let services: Api<Service> = Api::namespaced(c.client.clone(), "default");
    let endpoints: Api<Endpoints> = Api::namespaced(c.client.clone(), "default");
    let svc: Service = serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "external"},
        "spec": {"ports": [{"port": 5432}]},
    }))
    .expect("service");
    services
        .create(&PostParams::default(), &svc)
        .await
        .expect("create service");
    let manual: Endpoints = serde_json::from_value(json!({
        "metadata": {"name": "external"},
        "subsets": [{"addresses": [{"ip": "192.0.2.10"}], "ports": [{"port": 5432}]}],
    }))
    .expect("endpoints");
    endpoints
        .create(&PostParams::default(), &manual)
        .await
        .expect("create endpoints");
    // Give the controllers time to (wrongly) act, then check nothing was touched.
    tokio::time::sleep(std::time::Duration::from_secs(2)).await;
    let ep = endpoints.get("external").await.expect("endpoints");
    let v: Value = serde_json::to_value(&ep.subsets).expect("json");
    assert_eq!(v[0]["addresses"][0]["ip"], "192.0.2.10");
    let slices: Api<EndpointSlice> = Api::namespaced(c.client.clone(), "default");
    let list = slices
        .list(&ListParams::default().labels("kubernetes.io/service-name=external"))
        .await
        .expect("list slices");
    assert!(list.items.is_empty());
    c.stop().await;
}
