//! CLI benchmark (`make bench`): the release `capstan` against a release `capstan-apiserver`
//! on the embedded store. `capstan get pods` with 5,000 pods in the namespace (goal ≤ 1 s),
//! and `capstan apply -f` of a 200-object file: first (all created), again (all unchanged)
//! and after a change to every object (all configured) (goal ≤ 3 s). Each figure is the
//! median of 5 runs of the whole process, discovery included. Bounded in time and count.

use std::process::Command;
use std::time::{Duration, Instant};

use capstan_e2e::release_bin;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, PostParams};
use serde_json::json;

const PODS: usize = 5_000;
const OBJECTS: usize = 200;
const RUNS: usize = 5;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Runs `capstan ARGS` RUNS times; the median wall time and the last stdout.
fn time_capstan(kubeconfig: &std::path::Path, args: &[&str], runs: usize) -> (Duration, String) {
    let mut times = Vec::new();
    let mut last = String::new();
    for _ in 0..runs {
        let start = Instant::now();
        let out = Command::new(release_bin("capstan"))
            .arg("--kubeconfig")
            .arg(kubeconfig)
            .args(args)
            .output()
            .expect("capstan runs");
        times.push(start.elapsed());
        assert!(
            out.status.success(),
            "capstan {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        last = String::from_utf8_lossy(&out.stdout).to_string();
    }
    (median(times), last)
}

/// 200 objects of the kinds a real stack has: per app a Deployment, a Service and a ConfigMap.
fn manifest(generation: &str) -> String {
    let mut docs = Vec::new();
    let apps = OBJECTS / 4;
    for i in 0..apps {
        let name = format!("app-{i:03}");
        docs.push(format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: {name}, namespace: bench}}\nspec:\n  replicas: 0\n  selector: {{matchLabels: {{app: {name}}}}}\n  template:\n    metadata: {{labels: {{app: {name}}}}}\n    spec:\n      containers:\n      - name: main\n        image: capstan.local/busybox:1.35\n        env: [{{name: GENERATION, value: \"{generation}\"}}]\n        ports: [{{containerPort: 8080}}]\n"
        ));
        docs.push(format!(
            "apiVersion: v1\nkind: Service\nmetadata: {{name: {name}, namespace: bench, annotations: {{generation: \"{generation}\"}}}}\nspec:\n  selector: {{app: {name}}}\n  ports: [{{port: 80, targetPort: 8080}}]\n"
        ));
        docs.push(format!(
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {name}, namespace: bench}}\ndata: {{generation: \"{generation}\", level: info}}\n"
        ));
        docs.push(format!(
            "apiVersion: v1\nkind: Secret\nmetadata: {{name: {name}, namespace: bench}}\nstringData: {{token: \"{generation}-{i}\"}}\n"
        ));
    }
    docs.join("---\n")
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_api, addr) = capstan_e2e::start_release_apiserver(&dir.path().join("store")).await;
    let url = format!("http://{addr}");
    let kubeconfig = dir.path().join("kubeconfig");
    std::fs::write(
        &kubeconfig,
        format!(
            "apiVersion: v1\nkind: Config\nclusters: [{{name: c, cluster: {{server: \"{url}\"}}}}]\nusers: [{{name: u, user: {{}}}}]\ncontexts: [{{name: x, context: {{cluster: c, user: u, namespace: default}}}}]\ncurrent-context: x\n"
        ),
    )
    .expect("kubeconfig");
    let client =
        kube::Client::try_from(kube::Config::new(url.parse().expect("url"))).expect("client");

    // 5,000 pods (Pending: no scheduler runs), created 50 at a time.
    let pods: Api<Pod> = Api::namespaced(client.clone(), "default");
    let created = Instant::now();
    for chunk in 0..PODS / 50 {
        let batch = (0..50).map(|j| {
            let pods = pods.clone();
            let i = chunk * 50 + j;
            async move {
                let pod: Pod = serde_json::from_value(json!({
                    "apiVersion": "v1", "kind": "Pod",
                    "metadata": {"name": format!("pod-{i:05}"), "labels": {"app": format!("app-{}", i % 50)}},
                    "spec": {"containers": [{"name": "main", "image": "capstan.local/busybox:1.35",
                              "resources": {"requests": {"cpu": "10m", "memory": "16Mi"}}}]}
                }))
                .expect("pod");
                pods.create(&PostParams::default(), &pod).await.expect("create pod");
            }
        });
        futures::future::join_all(batch).await;
        assert!(
            created.elapsed() < Duration::from_secs(600),
            "creating pods took too long"
        );
    }
    let (get_pods, out) = time_capstan(&kubeconfig, &["get", "pods"], RUNS);
    assert_eq!(
        out.lines().count(),
        PODS + 1,
        "one row per pod and a header"
    );
    let (get_wide, _) = time_capstan(&kubeconfig, &["get", "pods", "-o", "wide"], RUNS);
    let (get_name, _) = time_capstan(&kubeconfig, &["get", "pods", "-o", "name"], RUNS);
    let (get_selector, _) = time_capstan(&kubeconfig, &["get", "pods", "-l", "app=app-7"], RUNS);

    let ns = dir.path().join("ns.yaml");
    std::fs::write(
        &ns,
        "apiVersion: v1\nkind: Namespace\nmetadata: {name: bench}\n",
    )
    .expect("write");
    time_capstan(&kubeconfig, &["apply", "-f", &ns.display().to_string()], 1);
    let file = dir.path().join("stack.yaml");
    std::fs::write(&file, manifest("1")).expect("write");
    let f = file.display().to_string();
    let (first, out) = time_capstan(&kubeconfig, &["apply", "-f", &f], 1);
    assert_eq!(out.matches(" created\n").count(), OBJECTS, "{out}");
    let (again, out) = time_capstan(&kubeconfig, &["apply", "-f", &f], RUNS);
    assert_eq!(out.matches(" unchanged\n").count(), OBJECTS, "{out}");
    let mut changed = Vec::new();
    for g in 2..2 + RUNS {
        std::fs::write(&file, manifest(&g.to_string())).expect("write");
        let (t, out) = time_capstan(&kubeconfig, &["apply", "-f", &f], 1);
        assert_eq!(out.matches(" configured\n").count(), OBJECTS, "{out}");
        changed.push(t);
    }
    let changed = median(changed);

    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "capstan CLI against capstan-apiserver (embedded store), release builds, median of {RUNS}:"
    );
    println!(
        "  get pods, {PODS} pods:             {:>7.0} ms  (goal ≤ 1000 ms)",
        ms(get_pods)
    );
    println!(
        "  get pods -o wide, {PODS} pods:     {:>7.0} ms",
        ms(get_wide)
    );
    println!(
        "  get pods -o name, {PODS} pods:     {:>7.0} ms",
        ms(get_name)
    );
    println!(
        "  get pods -l (100 of {PODS}):        {:>7.0} ms",
        ms(get_selector)
    );
    println!(
        "  apply -f {OBJECTS} objects, created:     {:>7.0} ms  (goal ≤ 3000 ms; one run)",
        ms(first)
    );
    println!(
        "  apply -f {OBJECTS} objects, unchanged:   {:>7.0} ms",
        ms(again)
    );
    println!(
        "  apply -f {OBJECTS} objects, configured:  {:>7.0} ms",
        ms(changed)
    );
}
