//! Networking end to end (root): `capstan up --nodes 2` with both kubelets' pod networks in a
//! namespace made for the test. Pods get CNI addresses and reach each other across nodes,
//! find services by DNS name, headless names resolve to pods, NodePorts answer on 127.0.0.1,
//! readiness probes decide which endpoints get traffic, a service without endpoints refuses
//! connections, kubectl port-forward reaches a pod, NetworkPolicy denies then allows, and
//! deleting everything leaves no interface, address lease or attachment.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use capstan_e2e::{
    Cluster, TestNetns, eventually, free_port, kubectl, kubectl_output, root_or_skip,
};

const MANIFEST: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 2
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: web
        image: capstan.local/busybox:1.35
        command: [sh, -c, "mkdir -p /www && hostname > /www/hostname && touch /www/ready && exec httpd -f -p 8080 -h /www"]
        ports: [{name: http, containerPort: 8080}]
        readinessProbe: {httpGet: {path: /ready, port: http}, periodSeconds: 1, failureThreshold: 1}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  type: NodePort
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http, nodePort: 30081}]
---
apiVersion: v1
kind: Service
metadata: {name: empty}
spec:
  type: NodePort
  selector: {app: nothing-matches}
  ports: [{port: 80, nodePort: 30082}]
---
apiVersion: v1
kind: Service
metadata: {name: db}
spec:
  clusterIP: None
  selector: {app: db}
  ports: [{name: pg, port: 5432, targetPort: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: hp}
spec:
  nodeName: node-2
  terminationGracePeriodSeconds: 1
  containers:
  - name: c
    image: capstan.local/busybox:1.35
    command: [sh, -c, "mkdir -p /www && hostname > /www/hostname && exec httpd -f -p 8080 -h /www"]
    ports: [{containerPort: 8080, hostPort: 18088}]
"#;

fn pod(name: &str, node: &str, labels: &str, extra: &str, command: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Pod\nmetadata: {{name: {name}, labels: {{{labels}}}}}\nspec:\n  nodeName: {node}\n  terminationGracePeriodSeconds: 1\n{extra}  containers:\n  - name: c\n    image: capstan.local/busybox:1.35\n    command: [sh, -c, \"{command}\"]\n---\n"
    )
}

fn apply(dir: &Path, yaml: &str) {
    let file = dir.join(format!("m{}.yaml", yaml.len()));
    std::fs::write(&file, yaml).expect("manifest");
    kubectl(dir, &["apply", "-f", file.to_str().expect("utf-8")]);
}

/// An HTTP GET from inside a pod with busybox nc; the response body's last line.
fn get_from_pod(dir: &Path, pod: &str, host: &str, port: u16, path: &str) -> Option<String> {
    let script =
        format!("printf 'GET {path} HTTP/1.0\\r\\n\\r\\n' | nc -w 3 {host} {port} | tail -1");
    let out = kubectl_output(dir, &["exec", pod, "--", "sh", "-c", &script]);
    let body = String::from_utf8_lossy(&out.stdout).trim().to_string();
    (out.status.success() && !body.is_empty()).then_some(body)
}

fn curl(ns: &TestNetns, url: &str) -> (bool, String) {
    let out = ns.exec(&["curl", "-s", "-m", "3", url]);
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).trim().to_string(),
    )
}

fn pod_ip(dir: &Path, name: &str) -> Option<String> {
    let ip = kubectl(dir, &["get", "pod", name, "-o", "jsonpath={.status.podIP}"]);
    (!ip.is_empty()).then_some(ip)
}

fn web_pods(dir: &Path) -> Vec<String> {
    kubectl(
        dir,
        &[
            "get",
            "pods",
            "-l",
            "app=web",
            "-o",
            "jsonpath={.items[*].metadata.name}",
        ],
    )
    .split_whitespace()
    .map(str::to_string)
    .collect()
}

/// The kubectl on PATH, and the 1.27 binary beside its real path when present.
fn port_forward_clients() -> Vec<std::path::PathBuf> {
    let mut out = vec![std::path::PathBuf::from("kubectl")];
    let real = Command::new("sh")
        .args(["-c", "readlink -f \"$(command -v kubectl)\""])
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    if let Some(dir) = Path::new(&real).parent() {
        let old = dir.join("kubectl.1.27");
        if old.exists() {
            out.push(old);
        }
    }
    out
}

/// Runs `kubectl port-forward pod/db-0 LOCAL:8080`, fetches `path` through it with curl on
/// the host's loopback, and stops the forwarder.
fn port_forward_get(dir: &Path, kubectl_bin: &Path, local: u16, path: &str) -> String {
    let mut child = Command::new(kubectl_bin)
        .args(["port-forward", "pod/db-0", &format!("{local}:8080")])
        .env("KUBECONFIG", dir.join("kubeconfig"))
        .env("HOME", dir.join("home"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl port-forward starts");
    let mut first = String::new();
    // Kept open until the end: kubectl writes a line per connection and dies on a closed pipe.
    let mut stdout = child.stdout.take().map(BufReader::new);
    if let Some(out) = stdout.as_mut() {
        let _ = out.read_line(&mut first);
    }
    let result = Command::new("curl")
        .args(["-s", "-m", "5", &format!("http://127.0.0.1:{local}{path}")])
        .output()
        .expect("curl runs");
    let _ = child.kill();
    let _ = child.wait();
    assert!(
        first.contains("Forwarding from"),
        "port-forward said {first:?}"
    );
    String::from_utf8_lossy(&result.stdout).trim().to_string()
}

fn count_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).map(|d| d.count()).unwrap_or(0)
}

#[test]
fn pods_services_and_dns_across_two_nodes() {
    if !root_or_skip("the network test") {
        return;
    }
    let cluster = Cluster::start(2);
    let dir = cluster.dir();
    let netns = &cluster.netns;
    let cidrs = kubectl(
        dir,
        &["get", "nodes", "-o", "jsonpath={.items[*].spec.podCIDR}"],
    );
    assert_eq!(cidrs.split_whitespace().count(), 2, "{cidrs}");

    apply(dir, MANIFEST);
    let httpd = "mkdir -p /www && hostname > /www/hostname && exec httpd -f -p 8080 -h /www";
    let mut pods = String::new();
    pods.push_str(&pod(
        "db-0",
        "node-1",
        "app: db",
        "  hostname: db-0\n  subdomain: db\n",
        httpd,
    ));
    pods.push_str(&pod(
        "db-1",
        "node-2",
        "app: db",
        "  hostname: db-1\n  subdomain: db\n",
        httpd,
    ));
    pods.push_str(&pod(
        "client",
        "node-1",
        "role: client",
        "",
        "exec sleep 3600",
    ));
    apply(dir, &pods);

    // Pod to pod across nodes, by pod IP: client runs on node-1, db-1 on node-2.
    let db1 = eventually(90, "db-1 to get an IP", || pod_ip(dir, "db-1"));
    let client_ip = eventually(90, "client to get an IP", || pod_ip(dir, "client"));
    assert_ne!(
        db1.rsplit_once('.').map(|(net, _)| net),
        client_ip.rsplit_once('.').map(|(net, _)| net),
        "pods on different nodes get addresses from different node ranges"
    );
    let body = eventually(60, "client → db-1 across nodes", || {
        get_from_pod(dir, "client", &db1, 8080, "/hostname")
    });
    assert_eq!(body, "db-1");

    // A ClusterIP service by DNS name (short name via the search path, and FQDN).
    let names: Vec<String> = eventually(90, "two ready web pods", || {
        let p = web_pods(dir);
        let ready = kubectl(
            dir,
            &[
                "get",
                "pods",
                "-l",
                "app=web",
                "-o",
                "jsonpath={.items[*].status.conditions[?(@.type==\"Ready\")].status}",
            ],
        );
        (p.len() == 2 && ready.split_whitespace().filter(|s| *s == "True").count() == 2)
            .then_some(p)
    });
    // hostPort through the portmap plugin, on the node namespace's 127.0.0.1.
    let hostport = eventually(60, "the hostPort to answer", || {
        let (ok, body) = curl(netns, "http://127.0.0.1:18088/hostname");
        ok.then_some(body)
    });
    assert_eq!(hostport, "hp");
    let hp_ip = pod_ip(dir, "hp").expect("hp IP");
    let via_dns = eventually(60, "web by service name", || {
        get_from_pod(dir, "client", "web", 80, "/hostname")
    });
    assert!(names.contains(&via_dns), "{via_dns} not in {names:?}");
    let fqdn = get_from_pod(
        dir,
        "client",
        "web.default.svc.cluster.local",
        80,
        "/hostname",
    )
    .expect("FQDN answers");
    assert!(names.contains(&fqdn), "{fqdn}");

    // Headless service: per-pod names from hostname + subdomain, and the service name
    // resolving to pod addresses.
    let db0 = pod_ip(dir, "db-0").expect("db-0 IP");
    let lookup = kubectl(
        dir,
        &[
            "exec",
            "client",
            "--",
            "nslookup",
            "db-0.db.default.svc.cluster.local",
        ],
    );
    assert!(lookup.contains(&db0), "{lookup}");
    let all = kubectl(
        dir,
        &[
            "exec",
            "client",
            "--",
            "nslookup",
            "db.default.svc.cluster.local",
        ],
    );
    assert!(all.contains(&db0) && all.contains(&db1), "{all}");
    let nx = kubectl_output(
        dir,
        &[
            "exec",
            "client",
            "--",
            "nslookup",
            "nope.default.svc.cluster.local",
        ],
    );
    assert!(
        !nx.status.success(),
        "an unknown service name must not resolve"
    );

    // NodePort on 127.0.0.1 of the node namespace reaches both pods over a few tries.
    let mut seen = std::collections::BTreeSet::new();
    for _ in 0..40 {
        let (ok, body) = curl(netns, "http://127.0.0.1:30081/hostname");
        if ok {
            seen.insert(body);
        }
        if seen.len() == 2 {
            break;
        }
    }
    assert_eq!(seen.iter().cloned().collect::<Vec<_>>(), {
        let mut n = names.clone();
        n.sort();
        n
    });

    // Readiness decides endpoints: the pod whose probe fails gets no more traffic.
    let (down, up_pod) = (&names[0], &names[1]);
    kubectl(dir, &["exec", down, "--", "rm", "/www/ready"]);
    eventually(30, "the endpoint to turn not ready", || {
        let r = kubectl(
            dir,
            &[
                "get",
                "endpointslices",
                "-l",
                "kubernetes.io/service-name=web",
                "-o",
                "jsonpath={range .items[*].endpoints[*]}{.targetRef.name}={.conditions.ready} {end}",
            ],
        );
        r.contains(&format!("{down}=false")).then_some(())
    });
    std::thread::sleep(Duration::from_millis(500));
    for _ in 0..10 {
        let (ok, body) = curl(netns, "http://127.0.0.1:30081/hostname");
        assert!(ok, "NodePort failed while one endpoint is ready");
        assert_eq!(&body, up_pod, "traffic went to the not-ready pod");
    }

    // No endpoints: refused at once rather than hanging.
    let started = Instant::now();
    let (ok, _) = curl(netns, "http://127.0.0.1:30082/");
    assert!(!ok);
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "took {:?}",
        started.elapsed()
    );

    // kubectl port-forward through the API server and the kubelet into db-0's namespace:
    // today's kubectl tunnels over WebSocket, 1.27 over the SPDY upgrade.
    for kubectl_bin in port_forward_clients() {
        let local = free_port();
        let body = port_forward_get(dir, &kubectl_bin, local, "/hostname");
        assert_eq!(body, "db-0", "{}", kubectl_bin.display());
    }

    // NetworkPolicy: isolating the db pods cuts the client off; allowing pods labelled
    // role=client on the port lets it back in, and nobody else.
    apply(
        dir,
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: db-deny}\nspec:\n  podSelector: {matchLabels: {app: db}}\n",
    );
    eventually(30, "the deny policy to take effect", || {
        get_from_pod(dir, "client", &db1, 8080, "/hostname")
            .is_none()
            .then_some(())
    });
    apply(
        dir,
        "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {name: db-allow-client}\nspec:\n  podSelector: {matchLabels: {app: db}}\n  ingress:\n  - from: [{podSelector: {matchLabels: {role: client}}}]\n    ports: [{port: 8080}]\n",
    );
    let body = eventually(30, "the allow policy to take effect", || {
        get_from_pod(dir, "client", &db1, 8080, "/hostname")
    });
    assert_eq!(body, "db-1");
    assert_eq!(
        get_from_pod(dir, up_pod, &db1, 8080, "/hostname"),
        None,
        "a pod the policy does not allow got through"
    );
    kubectl(dir, &["delete", "networkpolicy", "--all"]);

    // A restart of the whole node side (proxy, DNS, kubelets) keeps an open connection
    // through a NodePort: the table is rebuilt in one transaction and conntrack keeps the
    // connection's translation; the kubelets re-adopt pods and CHECK their attachments.
    for p in &names {
        kubectl(
            dir,
            &[
                "exec",
                p,
                "--",
                "dd",
                "if=/dev/zero",
                "of=/www/big",
                "bs=1024",
                "count=2048",
            ],
        );
    }
    let out = dir.join("big.out");
    let mut download = Command::new("ip")
        .args([
            "netns",
            "exec",
            &netns.name,
            "curl",
            "-s",
            "--limit-rate",
            "256k",
            "-o",
        ])
        .arg(&out)
        .arg("http://127.0.0.1:30081/big")
        .spawn()
        .expect("curl starts");
    std::thread::sleep(Duration::from_secs(1));
    cluster.restart();
    let finished = eventually(60, "the download to finish", || {
        download.try_wait().ok().flatten()
    });
    assert!(
        finished.success(),
        "the download broke across the restart: {finished:?}"
    );
    let size = std::fs::metadata(&out).map(|m| m.len()).unwrap_or(0);
    assert_eq!(size, 2048 * 1024);
    assert_eq!(web_pods(dir).len(), 2);
    assert_eq!(
        pod_ip(dir, "hp").as_deref(),
        Some(hp_ip.as_str()),
        "a restart changed a pod IP"
    );
    assert_eq!(curl(netns, "http://127.0.0.1:18088/hostname").1, "hp");
    let (ok, body) = curl(netns, "http://127.0.0.1:30081/hostname");
    assert!(
        ok && &body == up_pod,
        "after the restart the NodePort answered {body:?}"
    );

    // Everything deleted: no veth, lease, attachment or namespace left behind.
    kubectl(dir, &["delete", "deployment", "web"]);
    kubectl(
        dir,
        &[
            "delete",
            "pods",
            "--all",
            "--grace-period=1",
            "--wait=true",
            "--timeout=90s",
        ],
    );
    eventually(60, "pod network state to be gone", || {
        let veths = netns.exec(&["ip", "-o", "link", "show", "type", "veth"]);
        let veths = String::from_utf8_lossy(&veths.stdout).lines().count();
        let leftovers: usize = ["node-1", "node-2"]
            .iter()
            .map(|n| {
                let root = dir.join("nodes").join(n);
                let leases = std::fs::read_dir(root.join("cni/ipam/capstan"))
                    .map(|d| {
                        d.flatten()
                            .filter(|e| e.file_name().to_string_lossy().starts_with("10."))
                            .count()
                    })
                    .unwrap_or(0);
                leases + count_files(&root.join("cni/cache")) + count_files(&root.join("netns"))
            })
            .sum();
        let nat = netns.exec(&["iptables", "-t", "nat", "-S"]);
        let port_chains = String::from_utf8_lossy(&nat.stdout)
            .matches("-N CNI-DN-")
            .count();
        (veths == 0 && leftovers == 0 && port_chains == 0).then_some(())
    });
}

/// What a node's pod networking holds right now: veths in the node namespace, IP leases,
/// CNI cache entries, pinned pod namespaces, and service/policy map elements.
fn network_state(dir: &Path, ns: &TestNetns) -> (usize, usize, usize, usize) {
    let veths = ns.exec(&["ip", "-o", "link", "show", "type", "veth"]);
    let veths = String::from_utf8_lossy(&veths.stdout).lines().count();
    let root = dir.join("nodes/node-1");
    let leases = std::fs::read_dir(root.join("cni/ipam/capstan"))
        .map(|d| {
            d.flatten()
                .filter(|e| e.file_name().to_string_lossy().starts_with("10."))
                .count()
        })
        .unwrap_or(0);
    (
        veths,
        leases,
        count_files(&root.join("cni/cache")),
        count_files(&root.join("netns")),
    )
}

fn nft_elements(ns: &TestNetns) -> usize {
    let out = ns.exec(&["nft", "list", "table", "ip", "capstan-proxy"]);
    String::from_utf8_lossy(&out.stdout)
        .matches(" : goto ")
        .count()
}

#[test]
fn cni_failures_retry_and_create_delete_cycles_leak_nothing() {
    if !root_or_skip("the CNI fault test") {
        return;
    }
    let cluster = Cluster::start(1);
    let dir = cluster.dir();
    let netns = &cluster.netns;
    let before = network_state(dir, netns);
    let elements_before = nft_elements(netns);

    // A configuration whose plugin is not installed sorts first: pods wait with an event.
    let conf_dir = dir.join("nodes/node-1/cni/net.d");
    let broken = conf_dir.join("05-broken.conflist");
    std::fs::write(
        &broken,
        r#"{"cniVersion":"1.0.0","name":"broken","plugins":[{"type":"no-such-plugin"}]}"#,
    )
    .expect("write conflist");
    apply(
        dir,
        &pod("waiter", "node-1", "app: w", "", "exec sleep 3600"),
    );
    eventually(30, "a NetworkNotReady event", || {
        let ev = kubectl(
            dir,
            &[
                "get",
                "events",
                "--field-selector",
                "involvedObject.name=waiter",
                "-o",
                "jsonpath={.items[*].reason}",
            ],
        );
        ev.contains("NetworkNotReady").then_some(())
    });
    // A plugin that fails on ADD (an address range of none): a sandbox event, and what was
    // set up is taken down again before the retry.
    std::fs::write(
        &broken,
        r#"{"cniVersion":"1.0.0","name":"broken","plugins":[{"type":"bridge","bridge":"cbrbroken","isGateway":true,
            "ipam":{"type":"host-local","ranges":[[{"subnet":"10.250.0.0/31"}]]}}]}"#,
    )
    .expect("write conflist");
    eventually(30, "a FailedCreatePodSandBox event", || {
        let ev = kubectl(
            dir,
            &[
                "get",
                "events",
                "--field-selector",
                "involvedObject.name=waiter",
                "-o",
                "jsonpath={.items[*].reason}",
            ],
        );
        ev.contains("FailedCreatePodSandBox").then_some(())
    });
    assert_eq!(
        network_state(dir, netns).0,
        before.0,
        "a failed ADD left a veth"
    );
    std::fs::remove_file(&broken).expect("remove conflist");
    eventually(60, "the pod to start once the network works", || {
        pod_ip(dir, "waiter")
            .filter(|ip| ip.starts_with("10.244."))
            .map(|_| ())
    });
    kubectl(
        dir,
        &["delete", "pod", "waiter", "--grace-period=1", "--wait=true"],
    );

    // A pod that finished gives its address back at once but keeps it in its status.
    apply(
        dir,
        "apiVersion: v1\nkind: Pod\nmetadata: {name: done}\nspec:\n  nodeName: node-1\n  restartPolicy: Never\n  containers:\n  - {name: c, image: 'capstan.local/busybox:1.35', command: ['true']}\n",
    );
    let uid = eventually(60, "the finished pod", || {
        let phase = kubectl(
            dir,
            &["get", "pod", "done", "-o", "jsonpath={.status.phase}"],
        );
        (phase == "Succeeded").then(|| {
            kubectl(
                dir,
                &["get", "pod", "done", "-o", "jsonpath={.metadata.uid}"],
            )
        })
    });
    let cache = dir
        .join("nodes/node-1/cni/cache")
        .join(format!("{uid}.json"));
    eventually(30, "the finished pod's attachment to be released", || {
        (!cache.exists()).then_some(())
    });
    assert!(
        pod_ip(dir, "done").is_some(),
        "status.podIP went with the release"
    );
    kubectl(dir, &["delete", "pod", "done", "--wait=true"]);

    // Create/delete cycles through the API: 20 rounds of 50 pods.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(cycles(dir, 20, 50));
    eventually(60, "every attachment to be gone", || {
        (network_state(dir, netns) == before).then_some(())
    });
    assert_eq!(
        nft_elements(netns),
        elements_before,
        "service map elements leaked"
    );
}

async fn cycles(dir: &Path, rounds: usize, per_round: usize) {
    use k8s_openapi::api::core::v1::Pod;
    use kube::api::{Api, DeleteParams, ListParams, PostParams};
    let kc = kube::config::Kubeconfig::read_from(dir.join("kubeconfig")).expect("kubeconfig");
    let config = kube::Config::from_custom_kubeconfig(kc, &Default::default())
        .await
        .expect("config");
    let client = kube::Client::try_from(config).expect("client");
    let pods: Api<Pod> = Api::namespaced(client, "default");
    let lp = ListParams::default().labels("cycle=yes");
    for r in 0..rounds {
        let creates = (0..per_round).map(|i| {
            let pods = pods.clone();
            async move {
                let pod: Pod = serde_json::from_value(serde_json::json!({
                    "metadata": {"name": format!("cycle-{r}-{i}"), "labels": {"cycle": "yes"}},
                    "spec": {"nodeName": "node-1", "terminationGracePeriodSeconds": 0,
                        "containers": [{"name": "c", "image": "capstan.local/busybox:1.35",
                            "command": ["sleep", "3600"]}]},
                }))
                .expect("pod");
                pods.create(&PostParams::default(), &pod)
                    .await
                    .expect("create");
            }
        });
        futures::future::join_all(creates).await;
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let list = pods.list(&lp).await.expect("list");
            let with_ip = list
                .items
                .iter()
                .filter(|p| p.status.as_ref().and_then(|s| s.pod_ip.as_ref()).is_some())
                .count();
            if with_ip == per_round {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "round {r}: {with_ip}/{per_round} pods got an IP"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        pods.delete_collection(&DeleteParams::default(), &lp)
            .await
            .expect("delete");
        let deadline = Instant::now() + Duration::from_secs(120);
        while !pods.list(&lp).await.expect("list").items.is_empty() {
            assert!(
                Instant::now() < deadline,
                "round {r}: pods not deleted in time"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
}
