//! The scheduler against the real API server: every filter and score rule deciding placement,
//! unschedulable messages and events, requeue when a node appears, preemption, and leader
//! election with two schedulers. Nodes are plain Node objects (no kubelet is needed to bind).

use std::collections::BTreeMap;
use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use k8s_openapi::api::core::v1::{Event, Node, Pod};
use k8s_openapi::api::scheduling::v1::PriorityClass;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use serde_json::{Value, json};
use tokio::task::JoinHandle;

struct Cluster {
    server: Option<capstan_apiserver::RunningServer>,
    client: kube::Client,
    dir: tempfile::TempDir,
    schedulers: Vec<JoinHandle<()>>,
}

impl Cluster {
    async fn start() -> Self {
        let dir = tempfile::tempdir().expect("dir");
        let server = capstan_apiserver::start(capstan_apiserver::Config {
            data_dir: dir.path().join("store"),
            port: 0,
            ..Default::default()
        })
        .await
        .expect("api server");
        let client = kube::Client::try_from(kube::Config::new(server.url().parse().expect("url")))
            .expect("client");
        let kubeconfig = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: t\n  cluster:\n    server: {}\nusers:\n- name: t\n  user: {{}}\ncontexts:\n- name: t\n  context: {{cluster: t, user: t, namespace: default}}\ncurrent-context: t\n",
            server.url()
        );
        std::fs::write(dir.path().join("kubeconfig"), kubeconfig).expect("kubeconfig");
        Cluster {
            server: Some(server),
            client,
            dir,
            schedulers: Vec::new(),
        }
    }

    fn scheduler(&mut self, config: capstan_scheduler::Config) {
        let client = self.client.clone();
        self.schedulers.push(tokio::spawn(async move {
            let _ = capstan_scheduler::run(client, config, std::future::pending()).await;
        }));
    }

    async fn stop(mut self) {
        for s in self.schedulers.drain(..) {
            s.abort();
        }
        if let Some(s) = self.server.take() {
            s.stop().await.expect("stop");
        }
    }

    async fn node(&self, name: &str, cpu: &str, labels: Value, taints: Value) {
        let mut labels = labels;
        labels["kubernetes.io/hostname"] = json!(name);
        let node: Node = serde_json::from_value(json!({
            "metadata": {"name": name, "labels": labels},
            "spec": {"taints": taints},
            "status": {
                "capacity": {"cpu": cpu, "memory": "8Gi", "pods": "110"},
                "allocatable": {"cpu": cpu, "memory": "8Gi", "pods": "110"},
                "conditions": [{"type": "Ready", "status": "True"}],
            },
        }))
        .expect("node");
        Api::<Node>::all(self.client.clone())
            .create(&PostParams::default(), &node)
            .await
            .expect("create node");
    }

    async fn pod(&self, spec: Value) -> String {
        let pod: Pod = serde_json::from_value(spec).expect("pod");
        let name = pod.metadata.name.clone().expect("name");
        Api::<Pod>::namespaced(self.client.clone(), "default")
            .create(&PostParams::default(), &pod)
            .await
            .expect("create pod");
        name
    }

    async fn kubectl(&self, args: &[&str], stdin: &str) {
        use tokio::io::AsyncWriteExt;
        let mut child = tokio::process::Command::new("kubectl")
            .args(args)
            .env("KUBECONFIG", self.dir.path().join("kubeconfig"))
            .env("HOME", self.dir.path())
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("kubectl");
        if let Some(mut i) = child.stdin.take() {
            i.write_all(stdin.as_bytes()).await.expect("stdin");
        }
        let out = child.wait_with_output().await.expect("kubectl output");
        assert!(
            out.status.success(),
            "kubectl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Waits until the pod is bound and returns its node.
    async fn bound(&self, name: &str) -> String {
        let api = Api::<Pod>::namespaced(self.client.clone(), "default");
        for _ in 0..200 {
            if let Ok(p) = api.get(name).await
                && let Some(n) = p.spec.and_then(|s| s.node_name)
            {
                return n;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("pod {name} was not bound within 10 s");
    }

    /// Waits for the PodScheduled=False message.
    async fn unschedulable(&self, name: &str) -> String {
        let api = Api::<Pod>::namespaced(self.client.clone(), "default");
        for _ in 0..200 {
            let p = api.get(name).await.expect("get");
            assert!(
                p.spec.as_ref().and_then(|s| s.node_name.as_ref()).is_none(),
                "{name} got bound"
            );
            let cond = p
                .status
                .and_then(|s| s.conditions)
                .unwrap_or_default()
                .into_iter()
                .find(|c| c.type_ == "PodScheduled" && c.status == "False");
            if let Some(c) = cond {
                assert_eq!(c.reason.as_deref(), Some("Unschedulable"));
                return c.message.unwrap_or_default();
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("pod {name} never reported unschedulable");
    }
}

fn basic(name: &str, cpu: &str, extra: Value) -> Value {
    let mut pod = json!({
        "metadata": {"name": name, "labels": {"app": name}},
        "spec": {"containers": [{"name": "c", "image": "busybox", "resources": {"requests": {"cpu": cpu}}}]},
    });
    if let (Some(spec), Value::Object(extra)) = (pod["spec"].as_object_mut(), extra) {
        spec.extend(extra);
    }
    pod
}

/// A pod with explicit CPU and memory requests (no non-zero defaults), so resource scores are
/// exactly computable.
fn sized(name: &str, cpu: &str, memory: &str, extra: Value) -> Value {
    let mut pod = basic(name, cpu, extra);
    pod["spec"]["containers"][0]["resources"]["requests"]["memory"] = json!(memory);
    pod
}

/// Pins a pod to one node through the hostname label (it is still scheduled, not pre-bound).
fn on(node: &str) -> Value {
    json!({"nodeSelector": {"kubernetes.io/hostname": node}})
}

/// Confines a pod to the two nodes of one scenario.
fn case(name: &str) -> Value {
    json!({"nodeSelector": {"case": name}})
}

#[tokio::test]
async fn resources_decide_and_unschedulable_pods_are_retried_when_a_node_appears() {
    let mut c = Cluster::start().await;
    c.node("small-1", "1", json!({}), json!([])).await;
    c.node("small-2", "1", json!({}), json!([])).await;
    c.scheduler(capstan_scheduler::Config::default());
    c.pod(basic("big", "2", json!({}))).await;
    let msg = c.unschedulable("big").await;
    assert_eq!(
        msg,
        "0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod."
    );
    let events: Api<Event> = Api::namespaced(c.client.clone(), "default");
    let mut failed = false;
    for _ in 0..100 {
        let list = events
            .list(&ListParams::default().fields("involvedObject.name=big"))
            .await
            .expect("events");
        if list
            .items
            .iter()
            .any(|e| e.reason.as_deref() == Some("FailedScheduling"))
        {
            failed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(failed, "FailedScheduling event recorded");
    c.node("large", "4", json!({}), json!([])).await;
    assert_eq!(c.bound("big").await, "large");
    // Requests add up: a 1-CPU node takes one 1-CPU pod, not two.
    c.pod(basic(
        "a1",
        "800m",
        json!({"nodeSelector": {"kubernetes.io/hostname": "small-1"}}),
    ))
    .await;
    assert_eq!(c.bound("a1").await, "small-1");
    c.pod(basic(
        "a2",
        "800m",
        json!({"nodeSelector": {"kubernetes.io/hostname": "small-1"}}),
    ))
    .await;
    let msg = c.unschedulable("a2").await;
    assert!(msg.starts_with("0/3 nodes are available: 1 Insufficient cpu, 2 node(s) didn't match Pod's node affinity/selector."), "{msg}");
    c.stop().await;
}

#[tokio::test]
async fn selectors_affinity_taints_ports_and_cordon_decide_placement() {
    let mut c = Cluster::start().await;
    c.node(
        "ssd",
        "4",
        json!({"disk": "ssd", "topology.kubernetes.io/zone": "a"}),
        json!([]),
    )
    .await;
    c.node(
        "hdd",
        "4",
        json!({"disk": "hdd", "topology.kubernetes.io/zone": "b"}),
        json!([]),
    )
    .await;
    c.node(
        "gpu",
        "4",
        json!({"disk": "ssd"}),
        json!([{"key": "gpu", "value": "true", "effect": "NoSchedule"}]),
    )
    .await;
    c.scheduler(capstan_scheduler::Config::default());
    c.pod(basic(
        "sel",
        "100m",
        json!({"nodeSelector": {"disk": "hdd"}}),
    ))
    .await;
    assert_eq!(c.bound("sel").await, "hdd");
    c.pod(basic("aff", "100m", json!({"affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
        "nodeSelectorTerms": [{"matchExpressions": [{"key": "disk", "operator": "In", "values": ["ssd"]}]}]}}}}))).await;
    assert_eq!(
        c.bound("aff").await,
        "ssd",
        "gpu is tainted, hdd is not ssd"
    );
    c.pod(basic("tol", "100m", json!({
        "tolerations": [{"key": "gpu", "operator": "Equal", "value": "true", "effect": "NoSchedule"}],
        "affinity": {"nodeAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 100, "preference": {"matchExpressions": [{"key": "gpu-node", "operator": "DoesNotExist"}, {"key": "kubernetes.io/hostname", "operator": "In", "values": ["gpu"]}]}}]}},
    }))).await;
    assert_eq!(
        c.bound("tol").await,
        "gpu",
        "tolerated taint and preferred affinity"
    );
    c.pod(basic(
        "untolerated",
        "100m",
        json!({"nodeSelector": {"kubernetes.io/hostname": "gpu"}}),
    ))
    .await;
    let msg = c.unschedulable("untolerated").await;
    assert!(
        msg.contains("1 node(s) had untolerated taint {gpu: true}"),
        "{msg}"
    );
    // Host ports: the second pod asking for 8080 on the same node cannot go there.
    let port = json!({"nodeSelector": {"disk": "hdd"}, "containers": [{"name": "c", "image": "busybox", "ports": [{"containerPort": 80, "hostPort": 8080}]}]});
    c.pod(basic("port1", "100m", port.clone())).await;
    assert_eq!(c.bound("port1").await, "hdd");
    c.pod(basic("port2", "100m", port)).await;
    let msg = c.unschedulable("port2").await;
    assert!(
        msg.contains("1 node(s) didn't have free ports for the requested pod ports"),
        "{msg}"
    );
    // Cordon with the real kubectl: new pods avoid the node.
    c.kubectl(&["cordon", "ssd"], "").await;
    c.kubectl(&["apply", "-f", "-"], "apiVersion: v1\nkind: Pod\nmetadata:\n  name: after-cordon\nspec:\n  nodeSelector: {disk: ssd}\n  containers:\n  - name: c\n    image: busybox\n").await;
    let msg = c.unschedulable("after-cordon").await;
    assert!(msg.contains("1 node(s) were unschedulable"), "{msg}");
    c.kubectl(&["uncordon", "ssd"], "").await;
    assert_eq!(c.bound("after-cordon").await, "ssd");
    // Another scheduler's pods are left alone.
    c.pod(basic(
        "other",
        "100m",
        json!({"schedulerName": "someone-else"}),
    ))
    .await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let p = Api::<Pod>::namespaced(c.client.clone(), "default")
        .get("other")
        .await
        .expect("get");
    assert!(p.spec.and_then(|s| s.node_name).is_none());
    c.stop().await;
}

#[tokio::test]
async fn pod_affinity_anti_affinity_and_topology_spread() {
    let mut c = Cluster::start().await;
    for (i, zone) in ["a", "a", "b", "b"].iter().enumerate() {
        c.node(
            &format!("n{i}"),
            "8",
            json!({"topology.kubernetes.io/zone": zone}),
            json!([]),
        )
        .await;
    }
    c.scheduler(capstan_scheduler::Config::default());
    // Required anti-affinity on hostname: one per node, the fifth cannot go anywhere.
    let anti = |n: &str| {
        let mut p = basic(
            n,
            "100m",
            json!({"affinity": {"podAntiAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
            {"labelSelector": {"matchLabels": {"group": "solo"}}, "topologyKey": "kubernetes.io/hostname"}]}}}),
        );
        p["metadata"]["labels"]["group"] = json!("solo");
        p
    };
    let mut nodes = std::collections::HashSet::new();
    for i in 0..4 {
        let name = c.pod(anti(&format!("solo-{i}"))).await;
        nodes.insert(c.bound(&name).await);
    }
    assert_eq!(nodes.len(), 4, "one anti-affine pod per node");
    c.pod(anti("solo-4")).await;
    let msg = c.unschedulable("solo-4").await;
    assert!(
        msg.contains("4 node(s) didn't match pod anti-affinity rules"),
        "{msg}"
    );

    // Required affinity to a zone: follows the pod it wants to be near.
    let solo0_node = c.bound("solo-0").await;
    let zone_of = |n: &str| if n == "n0" || n == "n1" { "a" } else { "b" };
    c.pod(basic("near", "100m", json!({"affinity": {"podAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": [
        {"labelSelector": {"matchLabels": {"app": "solo-0"}}, "topologyKey": "topology.kubernetes.io/zone"}]}}}))).await;
    assert_eq!(zone_of(&c.bound("near").await), zone_of(&solo0_node));

    // Topology spread over zones with maxSkew 1: six pods split 3/3.
    let mut per_zone: BTreeMap<&str, usize> = BTreeMap::new();
    for i in 0..6 {
        let mut p = basic(
            &format!("spread-{i}"),
            "100m",
            json!({"topologySpreadConstraints": [
            {"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "DoNotSchedule",
             "labelSelector": {"matchLabels": {"tier": "spread"}}}]}),
        );
        p["metadata"]["labels"]["tier"] = json!("spread");
        let name = c.pod(p).await;
        *per_zone.entry(zone_of(&c.bound(&name).await)).or_default() += 1;
    }
    assert_eq!(
        per_zone.values().copied().collect::<Vec<_>>(),
        vec![3, 3],
        "{per_zone:?}"
    );
    c.stop().await;
}

/// Every score rule deciding placement on its own. Each scenario has its own two nodes (label
/// `case`, 4 CPU / 8Gi each) and confines its pods to them with a nodeSelector, a filter that
/// adds no score; everything but the rule under test scores the two nodes equally or leans the
/// other way. Most scenarios place several pods, so a rule that did nothing would lose a
/// random tie-break. Default weights: TaintToleration 3, PodTopologySpread 2, InterPodAffinity
/// 2, LeastAllocated 1, BalancedAllocation 1, ImageLocality 1; a 100m/200Mi pod moves
/// LeastAllocated by about 2.5 points.
#[tokio::test]
async fn score_rules_decide_placement() {
    let mut c = Cluster::start().await;
    let zoned = |case: &str, zone: &str| json!({"case": case, "topology.kubernetes.io/zone": zone});
    c.node(
        "pns-tainted",
        "4",
        json!({"case": "taint"}),
        json!([{"key": "spot", "value": "true", "effect": "PreferNoSchedule"}]),
    )
    .await;
    c.node("pns-clean", "4", json!({"case": "taint"}), json!([]))
        .await;
    for (name, case) in [
        ("least-busy", "least"),
        ("least-idle", "least"),
        ("bal-even", "balanced"),
        ("bal-skewed", "balanced"),
        ("img-cached", "image"),
        ("img-cold", "image"),
    ] {
        c.node(name, "4", json!({"case": case}), json!([])).await;
    }
    for (name, case) in [
        ("ipa-x", "interpod"),
        ("ipa-y", "interpod"),
        ("sp-a", "spread"),
        ("sp-b", "spread"),
    ] {
        c.node(name, "4", zoned(case, name), json!([])).await;
    }
    c.scheduler(capstan_scheduler::Config::default());
    // ImageLocality's input arrives as a node status update after the scheduler has listed the
    // nodes, so it must come through the node watch; that scenario runs last, at least a second
    // after this patch (nothing observable says the scheduler has seen it).
    let nodes: Api<Node> = Api::all(c.client.clone());
    let patched = nodes
        .patch_status(
            "img-cached",
            &PatchParams::default(),
            &Patch::Merge(json!({"status": {"images": [
                {"names": ["registry.local/app:1"], "sizeBytes": 4_i64 << 30}]}})),
        )
        .await
        .expect("node images");
    let patched_at = std::time::Instant::now();
    let status = patched.status.expect("status");
    assert_eq!(status.images.map(|i| i.len()), Some(1));
    assert!(status.allocatable.is_some(), "a merge patch keeps the rest");

    // 1. TaintToleration: the untolerated PreferNoSchedule taint scores 0 against 100 (x3).
    for i in 0..3 {
        let name = c
            .pod(basic(&format!("pns-{i}"), "100m", case("taint")))
            .await;
        assert_eq!(c.bound(&name).await, "pns-clean", "{name}");
    }

    // 2. LeastAllocated: with 2 CPU / 4Gi bound on least-busy, a 100m/200Mi pod scores 47
    //    there against 97 on least-idle (BalancedAllocation 99 on both).
    c.pod(sized("least-big", "2", "4Gi", on("least-busy")))
        .await;
    assert_eq!(c.bound("least-big").await, "least-busy");
    for i in 0..3 {
        let name = c
            .pod(sized(&format!("least-{i}"), "100m", "200Mi", case("least")))
            .await;
        assert_eq!(c.bound(&name).await, "least-idle", "{name}");
    }

    // 3. BalancedAllocation with LeastAllocated tied: both nodes are equally used in sum
    //    (bal-even 1.5 CPU + 3Gi = 37.5% + 37.5%, bal-skewed 2.5 CPU + 1Gi = 62.5% + 12.5%), so
    //    a 100m/200Mi pod scores LeastAllocated 60 on both and BalancedAllocation 99 on bal-even
    //    against 74 on bal-skewed. The later pods win on balance although LeastAllocated then
    //    prefers bal-skewed by 2.5 and 5 points.
    c.pod(sized("bal-seed-even", "1500m", "3Gi", on("bal-even")))
        .await;
    c.pod(sized("bal-seed-skewed", "2500m", "1Gi", on("bal-skewed")))
        .await;
    assert_eq!(c.bound("bal-seed-even").await, "bal-even");
    assert_eq!(c.bound("bal-seed-skewed").await, "bal-skewed");
    for i in 0..3 {
        let name = c
            .pod(sized(
                &format!("bal-{i}"),
                "100m",
                "200Mi",
                case("balanced"),
            ))
            .await;
        assert_eq!(c.bound(&name).await, "bal-even", "{name}");
    }
    //    A best-effort pod (no requests) skips BalancedAllocation, as kube-scheduler 1.33
    //    does: LeastAllocated, with the 100m/200Mi it assumes, gives bal-skewed 60 against 52
    //    and decides (BalancedAllocation would have given bal-even 99 against 75).
    let mut best_effort = basic("bal-best-effort", "0", case("balanced"));
    best_effort["spec"]["containers"][0]["resources"] = json!({});
    c.pod(best_effort).await;
    assert_eq!(c.bound("bal-best-effort").await, "bal-skewed");

    // 4. Preferred InterPodAffinity (weight 100 normalised to 100 against 0, x2), each time
    //    against LeastAllocated.
    let mut target = sized("ipa-target", "1", "2Gi", on("ipa-x"));
    target["metadata"]["labels"]["role"] = json!("target");
    c.pod(target).await;
    assert_eq!(c.bound("ipa-target").await, "ipa-x");
    let term = json!([{"weight": 100, "podAffinityTerm": {
        "labelSelector": {"matchLabels": {"role": "target"}},
        "topologyKey": "topology.kubernetes.io/zone"}}]);
    // Affinity to the target's zone: ipa-x is a quarter full, LeastAllocated prefers ipa-y by 25.
    for i in 0..2 {
        let mut extra = case("interpod");
        extra["affinity"] =
            json!({"podAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": term}});
        let name = c
            .pod(sized(&format!("ipa-near-{i}"), "100m", "200Mi", extra))
            .await;
        assert_eq!(c.bound(&name).await, "ipa-x", "{name}");
    }
    // Anti-affinity: with ipa-y three quarters full, LeastAllocated prefers ipa-x by 45.
    c.pod(sized("ipa-filler", "3", "6Gi", on("ipa-y"))).await;
    assert_eq!(c.bound("ipa-filler").await, "ipa-y");
    for i in 0..2 {
        let mut extra = case("interpod");
        extra["affinity"] =
            json!({"podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": term}});
        let name = c
            .pod(sized(&format!("ipa-away-{i}"), "100m", "200Mi", extra))
            .await;
        assert_eq!(c.bound(&name).await, "ipa-y", "{name}");
    }

    // 5. PodTopologySpread ScheduleAnyway over zones. Zone sp-a holds the matching pods; sp-b
    //    holds none but a 2 CPU / 4Gi one, so LeastAllocated prefers sp-a by about 45.
    let tier = |mut p: Value| {
        p["metadata"]["labels"]["tier"] = json!("spread");
        p
    };
    let spread = |when: &str| {
        json!([{"maxSkew": 1, "topologyKey": "topology.kubernetes.io/zone",
            "whenUnsatisfiable": when, "labelSelector": {"matchLabels": {"tier": "spread"}}}])
    };
    for i in 0..2 {
        let name = c
            .pod(tier(basic(&format!("sp-seed-{i}"), "100m", on("sp-a"))))
            .await;
        assert_eq!(c.bound(&name).await, "sp-a");
    }
    c.pod(sized("sp-filler", "2", "4Gi", on("sp-b"))).await;
    assert_eq!(c.bound("sp-filler").await, "sp-b");
    // Pinned to sp-a (nodeAffinityPolicy Ignore keeps sp-b a domain): the skew would be
    // 2 + 1 - 0 > 1. DoNotSchedule refuses; ScheduleAnyway places it all the same.
    let pinned = |name: &str, when: &str| {
        let mut extra = on("sp-a");
        extra["topologySpreadConstraints"] = spread(when);
        extra["topologySpreadConstraints"][0]["nodeAffinityPolicy"] = json!("Ignore");
        tier(basic(name, "100m", extra))
    };
    c.pod(pinned("sp-strict", "DoNotSchedule")).await;
    let msg = c.unschedulable("sp-strict").await;
    assert!(
        msg.contains("1 node(s) didn't match pod topology spread constraints"),
        "{msg}"
    );
    Api::<Pod>::namespaced(c.client.clone(), "default")
        .delete("sp-strict", &kube::api::DeleteParams::default())
        .await
        .expect("delete");
    c.pod(pinned("sp-lenient", "ScheduleAnyway")).await;
    assert_eq!(c.bound("sp-lenient").await, "sp-a");
    // Zones at 3 and 0, then 3 and 1: the soft constraint outweighs LeastAllocated both times.
    for i in 0..2 {
        let mut extra = case("spread");
        extra["topologySpreadConstraints"] = spread("ScheduleAnyway");
        let name = c.pod(tier(basic(&format!("sp-{i}"), "100m", extra))).await;
        assert_eq!(c.bound(&name).await, "sp-b", "{name}");
    }

    // 6. ImageLocality: 4 GiB of registry.local/app:1 on img-cached, scaled by the share of
    //    nodes holding it (1 of 12, as kube-scheduler does) to 341 MiB, scores
    //    100 * (341 - 23) / (1000 - 23) = 32 against 0, ahead of LeastAllocated's 2.5 per pod.
    tokio::time::sleep(Duration::from_secs(1).saturating_sub(patched_at.elapsed())).await;
    for i in 0..3 {
        let mut pod = sized(&format!("img-{i}"), "100m", "200Mi", case("image"));
        pod["spec"]["containers"][0]["image"] = json!("registry.local/app:1");
        let name = c.pod(pod).await;
        assert_eq!(c.bound(&name).await, "img-cached", "{name}");
    }

    // A bound pod has its Scheduled event (FailedScheduling is checked in the first test).
    let events: Api<Event> = Api::namespaced(c.client.clone(), "default");
    let mut scheduled = None;
    for _ in 0..100 {
        scheduled = events
            .list(&ListParams::default().fields("involvedObject.name=pns-0"))
            .await
            .expect("events")
            .items
            .into_iter()
            .find(|e| e.reason.as_deref() == Some("Scheduled"));
        if scheduled.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let scheduled = scheduled.expect("Scheduled event recorded");
    assert_eq!(scheduled.type_.as_deref(), Some("Normal"));
    assert_eq!(
        scheduled.message.as_deref(),
        Some("Successfully assigned default/pns-0 to pns-clean")
    );
    c.stop().await;
}

/// kube-scheduler normalises PodTopologySpread scores as `100 * (max + min - s) / max` over
/// raw scores `count * ln(domains + 2) + maxSkew - 1` (scoring.go), so one pod more in a zone
/// that already has several weighs little. Here zone dz-a has 3 matching pods and dz-b 2:
/// raw 4.16 -> 4 and 2.77 -> 3, normalised 75 and 100, x2 = 150 and 200. dz-b also carries a
/// 3 CPU / 6Gi pod, so LeastAllocated gives 96 on dz-1 and 22 on dz-2 (BalancedAllocation 99
/// on both): kube-scheduler totals dz-1 645 against dz-2 621 and picks dz-1.
#[tokio::test]
async fn soft_topology_spread_weighs_skew_like_kube_scheduler() {
    let mut c = Cluster::start().await;
    c.node(
        "dz-1",
        "4",
        json!({"topology.kubernetes.io/zone": "dz-a"}),
        json!([]),
    )
    .await;
    c.node(
        "dz-2",
        "4",
        json!({"topology.kubernetes.io/zone": "dz-b"}),
        json!([]),
    )
    .await;
    c.scheduler(capstan_scheduler::Config::default());
    for (i, node) in ["dz-1", "dz-1", "dz-1", "dz-2", "dz-2"].iter().enumerate() {
        let mut p = sized(&format!("dz-seed-{i}"), "10m", "16Mi", on(node));
        p["metadata"]["labels"]["tier"] = json!("dz");
        let name = c.pod(p).await;
        assert_eq!(c.bound(&name).await, *node);
    }
    c.pod(sized("dz-filler", "3", "6Gi", on("dz-2"))).await;
    assert_eq!(c.bound("dz-filler").await, "dz-2");
    let mut p = sized(
        "dz-new",
        "100m",
        "200Mi",
        json!({"topologySpreadConstraints": [{"maxSkew": 1,
            "topologyKey": "topology.kubernetes.io/zone", "whenUnsatisfiable": "ScheduleAnyway",
            "labelSelector": {"matchLabels": {"tier": "dz"}}}]}),
    );
    p["metadata"]["labels"]["tier"] = json!("dz");
    c.pod(p).await;
    // Capstan scores spread 0 against 100 (x2): dz-1 495, dz-2 621, and picks dz-2.
    assert_eq!(c.bound("dz-new").await, "dz-1");
    c.stop().await;
}

/// Two zones, one node each; three `app=web` pods sit on dz-1 and a 3 CPU / 6Gi filler on dz-2,
/// so LeastAllocated prefers dz-1 (96 against 22) for a 100m / 200Mi pod. kube-scheduler's
/// system default spreading applies to a pod that a Service or its controller selects: with
/// hostname (maxSkew 3) and zone (maxSkew 5) both 3 against 0, raw 3·ln 4 + 2 + 3·ln 4 + 4 =
/// 14 against 6, normalised 42 and 100, ×2 = 84 and 200: dz-2 wins 321 to 279. A pod that
/// nothing selects gets no default constraints and goes to dz-1.
async fn default_spread_case(select: &str) {
    let mut c = Cluster::start().await;
    for (node, zone) in [("dz-1", "dz-a"), ("dz-2", "dz-b")] {
        c.node(
            node,
            "4",
            json!({"topology.kubernetes.io/zone": zone}),
            json!([]),
        )
        .await;
    }
    let labels = json!({"app": "web", "pod-template-hash": "h1"});
    if select == "service" {
        c.kubectl(
            &["apply", "-f", "-"],
            "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: default}\nspec:\n  selector: {app: web}\n  ports: [{port: 80}]\n",
        )
        .await;
    } else {
        c.kubectl(
            &["apply", "-f", "-"],
            "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: web-h1, namespace: default}\nspec:\n  replicas: 0\n  selector: {matchLabels: {app: web, pod-template-hash: h1}}\n  template:\n    metadata: {labels: {app: web, pod-template-hash: h1}}\n    spec: {containers: [{name: c, image: busybox}]}\n",
        )
        .await;
    }
    let rs_uid =
        Api::<k8s_openapi::api::apps::v1::ReplicaSet>::namespaced(c.client.clone(), "default")
            .get_opt("web-h1")
            .await
            .expect("get replicaset")
            .and_then(|rs| rs.metadata.uid);
    let web = |name: &str, extra: Value| {
        let mut p = sized(name, "10m", "16Mi", extra);
        p["metadata"]["labels"] = labels.clone();
        if let Some(uid) = &rs_uid {
            p["metadata"]["ownerReferences"] = json!([{"apiVersion": "apps/v1",
                "kind": "ReplicaSet", "name": "web-h1", "uid": uid, "controller": true}]);
        }
        p
    };
    c.scheduler(capstan_scheduler::Config::default());
    for i in 0..3 {
        let name = c.pod(web(&format!("seed-{i}"), on("dz-1"))).await;
        assert_eq!(c.bound(&name).await, "dz-1");
    }
    let mut filler = sized("filler", "3", "6Gi", on("dz-2"));
    filler["metadata"]["labels"] = json!({"role": "filler"});
    c.pod(filler).await;
    assert_eq!(c.bound("filler").await, "dz-2");
    let mut new = web("web-new", json!({}));
    new["spec"]["containers"][0]["resources"]["requests"] =
        json!({"cpu": "100m", "memory": "200Mi"});
    c.pod(new).await;
    assert_eq!(c.bound("web-new").await, "dz-2", "selected by a {select}");
    let mut lone = sized("lone", "100m", "200Mi", json!({}));
    lone["metadata"]["labels"] = json!({"app": "lone"});
    c.pod(lone).await;
    assert_eq!(c.bound("lone").await, "dz-1", "selected by nothing");
    c.stop().await;
}

#[tokio::test]
async fn pods_a_service_selects_are_spread_by_default() {
    default_spread_case("service").await;
}

#[tokio::test]
async fn pods_of_a_replicaset_are_spread_by_default() {
    default_spread_case("replicaset").await;
}

#[tokio::test]
async fn higher_priority_pods_preempt_lower_priority_ones() {
    let mut c = Cluster::start().await;
    c.node("only", "1", json!({}), json!([])).await;
    let pcs: Api<PriorityClass> = Api::all(c.client.clone());
    let pc: PriorityClass =
        serde_json::from_value(json!({"metadata": {"name": "high"}, "value": 1000})).expect("pc");
    pcs.create(&PostParams::default(), &pc)
        .await
        .expect("priority class");
    c.scheduler(capstan_scheduler::Config::default());
    c.pod(basic("low", "900m", json!({}))).await;
    assert_eq!(c.bound("low").await, "only");
    c.pod(basic("high", "900m", json!({"priorityClassName": "high"})))
        .await;
    let api = Api::<Pod>::namespaced(c.client.clone(), "default");
    let high = api.get("high").await.expect("get");
    assert_eq!(
        high.spec.as_ref().and_then(|s| s.priority),
        Some(1000),
        "admission resolved the class"
    );
    // The low pod is deleted (it is bound, so it gets a grace period; finish it as a kubelet would).
    let mut evicted = false;
    for _ in 0..200 {
        match api.get_opt("low").await.expect("get") {
            None => {
                evicted = true;
                break;
            }
            Some(p) if p.metadata.deletion_timestamp.is_some() => {
                let _ = api
                    .delete("low", &kube::api::DeleteParams::default().grace_period(0))
                    .await;
            }
            Some(_) => {}
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(evicted, "the low-priority pod was preempted");
    assert_eq!(c.bound("high").await, "only");
    c.stop().await;
}

#[tokio::test]
async fn two_schedulers_elect_one_leader_and_fail_over() {
    let mut c = Cluster::start().await;
    c.node("n", "4", json!({}), json!([])).await;
    for id in ["first", "second"] {
        c.scheduler(capstan_scheduler::Config {
            leader_elect: true,
            identity: id.into(),
            ..Default::default()
        });
    }
    c.pod(basic("p0", "100m", json!({}))).await;
    assert_eq!(c.bound("p0").await, "n");
    let leases: Api<Lease> = Api::namespaced(c.client.clone(), "kube-system");
    let holder = leases
        .get("capstan-scheduler")
        .await
        .expect("lease")
        .spec
        .and_then(|s| s.holder_identity)
        .expect("holder");
    // Stop the leader without releasing its lease: the other must take over after expiry.
    let idx = if holder == "first" { 0 } else { 1 };
    c.schedulers[idx].abort();
    c.pod(basic("p1", "100m", json!({}))).await;
    let api = Api::<Pod>::namespaced(c.client.clone(), "default");
    let mut bound = false;
    for _ in 0..300 {
        if api
            .get("p1")
            .await
            .expect("get")
            .spec
            .and_then(|s| s.node_name)
            .is_some()
        {
            bound = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(bound, "the standby scheduler took over within 30 s");
    let new_holder = leases
        .get("capstan-scheduler")
        .await
        .expect("lease")
        .spec
        .and_then(|s| s.holder_identity)
        .expect("holder");
    assert_ne!(new_holder, holder);
    c.stop().await;
}

#[tokio::test]
async fn a_scheduler_killed_mid_burst_and_restarted_loses_and_double_binds_nothing() {
    let mut c = Cluster::start().await;
    for i in 0..5 {
        c.node(&format!("n{i}"), "100", json!({}), json!([])).await;
    }
    c.scheduler(capstan_scheduler::Config::default());
    let api = Api::<Pod>::namespaced(c.client.clone(), "default");
    let creator = {
        let api = api.clone();
        tokio::spawn(async move {
            for i in 0..300 {
                let pod: Pod =
                    serde_json::from_value(basic(&format!("burst-{i:03}"), "10m", json!({})))
                        .expect("pod");
                api.create(&PostParams::default(), &pod)
                    .await
                    .expect("create");
            }
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    // Kill the scheduler mid-burst (its in-flight bindings are simply dropped)...
    for s in c.schedulers.drain(..) {
        s.abort();
    }
    creator.await.expect("creator");
    // ...and start a fresh one.
    c.scheduler(capstan_scheduler::Config::default());
    let mut bound = 0;
    for _ in 0..300 {
        let pods = api.list(&ListParams::default()).await.expect("list");
        bound = pods
            .items
            .iter()
            .filter(|p| p.spec.as_ref().and_then(|s| s.node_name.as_ref()).is_some())
            .count();
        if bound == 300 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(bound, 300, "every pod bound after the restart");
    // Exactly one Scheduled event per pod would be ideal, but events are best-effort; the
    // binding itself is what must be unique: each pod has one node, and the API server refuses
    // a second binding with 409, which the scheduler treats as "someone else won".
    c.stop().await;
}

#[tokio::test]
async fn malformed_requirements_are_reported_not_crashed_on() {
    use capstan_scheduler::plugins::selector::matches;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::LabelSelector;
    let bad: LabelSelector =
        serde_json::from_value(json!({"matchExpressions": [{"key": "a", "operator": "Near"}]}))
            .expect("sel");
    let err = matches(Some(&bad), None).expect_err("invalid operator");
    assert!(err.to_string().contains("Near"));
}
