//! EndpointSlice and Endpoints controllers: a Service's slices and Endpoints follow its pods'
//! addresses, readiness and deletion, and go away with the Service.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::{Endpoints, Node, Pod, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};

use crate::harness::{Cluster, READY_ANNOTATION, WAIT, eventually};

/// A pod the scheduler places on a hollow node, which runs it and gives it an address.
fn pod(name: &str, port_name: &str) -> Pod {
    serde_json::from_value(json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": name, "labels": {"app": "web"}},
        "spec": {
            "hostname": name,
            "subdomain": if name == "web-0" { "web" } else { "elsewhere" },
            "containers": [{"name": "main", "image": "busybox",
                            "ports": [{"name": port_name, "containerPort": 8080}]}],
        },
    }))
    .expect("pod")
}

/// Waits for the pod to run Ready; returns its address and node.
async fn running(pods: &Api<Pod>, name: &str) -> (String, String) {
    eventually(WAIT, &format!("{name} running and ready"), || async {
        let p = pods.get(name).await.ok()?;
        let node = p.spec.as_ref()?.node_name.clone()?;
        let status = p.status.as_ref()?;
        let ready = status
            .conditions
            .iter()
            .flatten()
            .any(|c| c.type_ == "Ready" && c.status == "True");
        (status.phase.as_deref() == Some("Running") && ready)
            .then(|| Some((status.pod_ip.clone()?, node)))?
    })
    .await
}

/// The hollow node's stand-in for a readiness probe: `false` takes the pod out of Ready.
async fn set_ready(pods: &Api<Pod>, name: &str, ready: bool) {
    let value = (!ready).then_some("false");
    let patch = json!({"metadata": {"annotations": {READY_ANNOTATION: value}}});
    pods.patch(name, &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("pod readiness annotation");
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

fn expect_view(entries: &[(&str, &[String])]) -> BTreeMap<String, Vec<String>> {
    let mut view = BTreeMap::new();
    for (k, v) in entries {
        let mut eps = v.to_vec();
        eps.sort();
        view.insert(k.to_string(), eps);
    }
    view
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
    let nodes: Api<Node> = Api::all(c.client.clone());
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
    for (name, port_name) in [("web-0", "http"), ("web-1", "http"), ("web-2", "admin")] {
        pods.create(&PostParams::default(), &pod(name, port_name))
            .await
            .expect("create pod");
    }
    let mut ips = Vec::new();
    let mut hosts = BTreeMap::new();
    for name in ["web-0", "web-1", "web-2"] {
        let (ip, node) = running(&pods, name).await;
        assert!(c.node_names().contains(&node), "{name} on hollow node");
        hosts.insert(name.to_string(), node);
        ips.push(ip);
    }
    let ep = |i: usize, flags: &str| format!("{} {flags}", ips[i]);
    const READY: &str = "r=true s=true t=false";
    const UNREADY: &str = "r=false s=false t=false";

    let all_ready = expect_view(&[
        (
            "http:8080 metrics:9090",
            &[
                ep(0, &format!("{READY} h=web-0")),
                ep(1, &format!("{READY} h=")),
            ],
        ),
        ("metrics:9090", &[ep(2, &format!("{READY} h="))]),
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
            let host = &hosts[&r.name.unwrap_or_default()];
            assert_eq!(e.node_name.as_ref(), Some(host));
            // The hollow nodes are spread over zones; the slice copies the Node's.
            let node = nodes.get(host).await.expect("node");
            let zone = node.labels().get("topology.kubernetes.io/zone").cloned();
            assert!(zone.is_some(), "{host} has a zone");
            assert_eq!(e.zone, zone);
        }
    }
    // Endpoints lists addresses sorted by IP (as text), the canonical form it compares.
    let mut both = [ips[0].clone(), ips[1].clone()];
    both.sort();
    eventually(WAIT, "endpoints for all three pods", || async {
        let want = [
            format!("http:8080 metrics:9090 | {} | ", both.join(",")),
            format!("metrics:9090 | {} | ", ips[2]),
        ];
        (endpoints_view(&endpoints).await? == want).then_some(())
    })
    .await;

    let described = c.kubectl_ok(&["describe", "service", "web"]).await;
    assert!(
        described.contains(&format!("{}:8080", ips[0]))
            && described.contains(&format!("{}:9090", ips[2])),
        "{described}"
    );

    // Not ready: still listed, flagged in the slice and moved to notReadyAddresses.
    set_ready(&pods, "web-1", false).await;
    eventually(WAIT, "web-1 not ready in slice and endpoints", || async {
        let want = expect_view(&[
            (
                "http:8080 metrics:9090",
                &[
                    ep(0, &format!("{READY} h=web-0")),
                    ep(1, &format!("{UNREADY} h=")),
                ],
            ),
            ("metrics:9090", &[ep(2, &format!("{READY} h="))]),
        ]);
        let eps = [
            format!("http:8080 metrics:9090 | {} | {}", ips[0], ips[1]),
            format!("metrics:9090 | {} | ", ips[2]),
        ];
        (slice_view(&slices).await? == want && endpoints_view(&endpoints).await? == eps)
            .then_some(())
    })
    .await;

    // Terminating: a bound pod's deletion waits for its kubelet, so with web-0's hollow node
    // paused it stays terminating: still serving in the slice, gone from Endpoints. Then gone
    // everywhere once deleted for good.
    let web0_node = hosts["web-0"].clone();
    c.hollow()
        .pause_node(&web0_node)
        .expect("pause web-0's node");
    pods.delete("web-0", &DeleteParams::default())
        .await
        .expect("delete web-0");
    eventually(WAIT, "web-0 terminating", || async {
        let want = expect_view(&[
            (
                "http:8080 metrics:9090",
                &[
                    ep(0, "r=false s=true t=true h=web-0"),
                    ep(1, &format!("{UNREADY} h=")),
                ],
            ),
            ("metrics:9090", &[ep(2, &format!("{READY} h="))]),
        ]);
        let eps = [
            format!("http:8080 metrics:9090 |  | {}", ips[1]),
            format!("metrics:9090 | {} | ", ips[2]),
        ];
        (slice_view(&slices).await? == want && endpoints_view(&endpoints).await? == eps)
            .then_some(())
    })
    .await;
    pods.delete("web-0", &DeleteParams::default().grace_period(0))
        .await
        .expect("force delete web-0");
    c.hollow().resume_node(&web0_node).expect("resume");
    eventually(WAIT, "web-0 gone", || async {
        let want = expect_view(&[
            ("http:8080 metrics:9090", &[ep(1, &format!("{UNREADY} h="))]),
            ("metrics:9090", &[ep(2, &format!("{READY} h="))]),
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
        let want = expect_view(&[("http:8080 metrics:9090", &[ep(1, &format!("{UNREADY} h="))])]);
        let eps = [format!("http:8080 metrics:9090 |  | {}", ips[1])];
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
