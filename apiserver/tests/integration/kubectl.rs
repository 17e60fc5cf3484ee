//! The real kubectl against the server: the everyday commands a user types.

use serde_json::Value;

use crate::harness::{TestServer, assert_ok, kubectl_at};

const DEPLOYMENT: &str = r#"
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web
  labels: {app: web}
spec:
  replicas: 2
  selector:
    matchLabels: {app: web}
  template:
    metadata:
      labels: {app: web}
    spec:
      containers:
      - name: nginx
        image: nginx:1.25
        ports:
        - containerPort: 80
"#;

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

#[tokio::test]
async fn client_side_apply_creates_then_is_unchanged_then_configures() {
    let t = TestServer::start().await;
    let out = t.kubectl_stdin(&["apply", "-f", "-"], DEPLOYMENT).await;
    assert!(assert_ok(&["apply"], &out).contains("deployment.apps/web created"));
    let out = t.kubectl_stdin(&["apply", "-f", "-"], DEPLOYMENT).await;
    assert!(assert_ok(&["apply"], &out).contains("deployment.apps/web unchanged"));
    let changed = DEPLOYMENT
        .replace("replicas: 2", "replicas: 4")
        .replace("nginx:1.25", "nginx:1.26");
    let out = t.kubectl_stdin(&["apply", "-f", "-"], &changed).await;
    assert!(assert_ok(&["apply"], &out).contains("deployment.apps/web configured"));
    let dep = json(
        &t.kubectl_ok(&["get", "deployment", "web", "-o", "json"])
            .await,
    );
    assert_eq!(dep["spec"]["replicas"], 4);
    assert_eq!(dep["metadata"]["generation"], 2);
    let c = &dep["spec"]["template"]["spec"]["containers"][0];
    assert_eq!(c["image"], "nginx:1.26");
    // The strategic merge kept the container's ports (merged by name, not replaced).
    assert_eq!(c["ports"][0]["containerPort"], 80);
    assert!(
        dep["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"]
            .as_str()
            .is_some_and(|s| s.contains("nginx:1.26"))
    );
    t.stop().await;
}

#[tokio::test]
async fn server_side_apply_creates_updates_and_reports_conflicts() {
    let t = TestServer::start().await;
    let out = t
        .kubectl_stdin(&["apply", "--server-side", "-f", "-"], DEPLOYMENT)
        .await;
    assert!(assert_ok(&["apply", "--server-side"], &out).contains("serverside-applied"));
    let dep = json(
        &t.kubectl_ok(&[
            "get",
            "deploy",
            "web",
            "-o",
            "json",
            "--show-managed-fields",
        ])
        .await,
    );
    let managers: Vec<&str> = dep["metadata"]["managedFields"]
        .as_array()
        .expect("managedFields")
        .iter()
        .filter_map(|m| m["manager"].as_str())
        .collect();
    assert!(managers.contains(&"kubectl"), "{managers:?}");
    // Another manager takes spec.replicas; applying a different value then conflicts.
    t.kubectl_ok(&["scale", "deployment", "web", "--replicas=5"])
        .await;
    let changed = DEPLOYMENT.replace("replicas: 2", "replicas: 3");
    let out = t
        .kubectl_stdin(&["apply", "--server-side", "-f", "-"], &changed)
        .await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("conflict") && err.contains(".spec.replicas"),
        "{err}"
    );
    let out = t
        .kubectl_stdin(
            &["apply", "--server-side", "--force-conflicts", "-f", "-"],
            &changed,
        )
        .await;
    assert_ok(&["apply", "--force-conflicts"], &out);
    let dep = json(&t.kubectl_ok(&["get", "deploy", "web", "-o", "json"]).await);
    assert_eq!(dep["spec"]["replicas"], 3);
    t.stop().await;
}

#[tokio::test]
async fn get_prints_tables_wide_yaml_json_jsonpath_and_filters() {
    let t = TestServer::start().await;
    t.kubectl_ok(&["create", "namespace", "other"]).await;
    t.kubectl_ok(&["create", "configmap", "a", "--from-literal=k=v"])
        .await;
    t.kubectl_ok(&["label", "configmap", "a", "tier=front"])
        .await;
    t.kubectl_ok(&[
        "create",
        "configmap",
        "b",
        "-n",
        "other",
        "--from-literal=k=v",
    ])
    .await;
    let table = t.kubectl_ok(&["get", "configmaps"]).await;
    assert!(table.starts_with("NAME"), "{table}");
    assert!(table.contains("a ") && !table.contains("b "), "{table}");
    let all = t.kubectl_ok(&["get", "configmaps", "-A"]).await;
    assert!(all.contains("NAMESPACE") && all.contains("other"), "{all}");
    let labelled = t
        .kubectl_ok(&["get", "cm", "-l", "tier=front", "-o", "name"])
        .await;
    assert_eq!(labelled.trim(), "configmap/a");
    let none = t
        .kubectl(&["get", "cm", "-l", "tier notin (front)", "-o", "name"])
        .await;
    assert!(String::from_utf8_lossy(&none.stdout).trim().is_empty());
    let yaml = t.kubectl_ok(&["get", "cm", "a", "-o", "yaml"]).await;
    assert!(yaml.contains("tier: front"), "{yaml}");
    let path = t
        .kubectl_ok(&["get", "cm", "a", "-o", "jsonpath={.data.k}"])
        .await;
    assert_eq!(path, "v");
    let node = "apiVersion: v1\nkind: Node\nmetadata:\n  name: node-1\n  labels: {node-role.kubernetes.io/worker: \"\"}\n";
    t.kubectl_stdin(&["apply", "-f", "-"], node).await;
    t.kubectl_ok(&["cordon", "node-1"]).await;
    let nodes = t.kubectl_ok(&["get", "nodes"]).await;
    assert!(
        nodes.contains("SchedulingDisabled") && nodes.contains("worker"),
        "{nodes}"
    );
    let wide = t.kubectl_ok(&["get", "namespaces", "-o", "wide"]).await;
    assert!(
        wide.contains("Active") && wide.contains("kube-system"),
        "{wide}"
    );
    t.stop().await;
}

#[tokio::test]
async fn get_watch_prints_added_and_deleted_rows() {
    let t = TestServer::start().await;
    let dir = t.dir.path().to_path_buf();
    let watcher = tokio::spawn(async move {
        kubectl_at(
            &dir,
            "kubectl",
            &["get", "configmaps", "-w", "--request-timeout=6s"],
            None,
        )
        .await
    });
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    t.kubectl_ok(&["create", "configmap", "watched", "--from-literal=a=b"])
        .await;
    t.kubectl_ok(&["delete", "configmap", "watched"]).await;
    let out = watcher.await.expect("watcher");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.matches("watched").count() >= 2, "{text}");
    t.stop().await;
}

#[tokio::test]
async fn describe_delete_and_wait_for_delete() {
    let t = TestServer::start().await;
    t.kubectl_stdin(&["apply", "-f", "-"], DEPLOYMENT).await;
    let d = t.kubectl_ok(&["describe", "deployment", "web"]).await;
    assert!(
        d.contains("Name:") && d.contains("web") && d.contains("nginx:1.25"),
        "{d}"
    );
    let out = t.kubectl_stdin(&["delete", "-f", "-"], DEPLOYMENT).await;
    assert!(assert_ok(&["delete"], &out).contains("deleted"));
    t.kubectl_ok(&["create", "namespace", "gone"]).await;
    t.kubectl_ok(&["create", "configmap", "x", "-n", "gone"])
        .await;
    t.kubectl_ok(&["delete", "namespace", "gone", "--wait=false"])
        .await;
    t.kubectl_ok(&["wait", "--for=delete", "namespace/gone", "--timeout=30s"])
        .await;
    let out = t.kubectl(&["get", "namespace", "gone"]).await;
    assert!(String::from_utf8_lossy(&out.stderr).contains("NotFound"));
    t.stop().await;
}

#[tokio::test]
async fn patch_types_replace_label_annotate_scale() {
    let t = TestServer::start().await;
    t.kubectl_stdin(&["apply", "-f", "-"], DEPLOYMENT).await;
    t.kubectl_ok(&[
        "patch",
        "deploy",
        "web",
        "--type",
        "merge",
        "-p",
        r#"{"spec":{"replicas":3}}"#,
    ])
    .await;
    t.kubectl_ok(&["patch", "deploy", "web", "--type", "json", "-p",
        r#"[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"nginx:1.27"}]"#]).await;
    t.kubectl_ok(&[
        "patch",
        "deploy",
        "web",
        "--type",
        "strategic",
        "-p",
        r#"{"spec":{"template":{"spec":{"containers":[{"name":"sidecar","image":"busybox"}]}}}}"#,
    ])
    .await;
    let dep = json(&t.kubectl_ok(&["get", "deploy", "web", "-o", "json"]).await);
    assert_eq!(dep["spec"]["replicas"], 3);
    let names: Vec<&str> = dep["spec"]["template"]["spec"]["containers"]
        .as_array()
        .expect("containers")
        .iter()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(names.len(), 2, "{names:?}");
    assert!(names.contains(&"nginx") && names.contains(&"sidecar"));
    t.kubectl_ok(&["label", "deploy", "web", "team=a"]).await;
    t.kubectl_ok(&["annotate", "deploy", "web", "note=hello"])
        .await;
    t.kubectl_ok(&["scale", "deploy", "web", "--replicas=1"])
        .await;
    t.kubectl_ok(&[
        "scale",
        "deploy",
        "web",
        "--current-replicas=1",
        "--replicas=2",
    ])
    .await;
    let out = t
        .kubectl(&[
            "scale",
            "deploy",
            "web",
            "--current-replicas=7",
            "--replicas=2",
        ])
        .await;
    assert!(!out.status.success());
    let mut dep = json(&t.kubectl_ok(&["get", "deploy", "web", "-o", "json"]).await);
    assert_eq!(dep["spec"]["replicas"], 2);
    assert_eq!(dep["metadata"]["labels"]["team"], "a");
    assert_eq!(dep["metadata"]["annotations"]["note"], "hello");
    dep["spec"]["replicas"] = 6.into();
    let out = t
        .kubectl_stdin(&["replace", "-f", "-"], &dep.to_string())
        .await;
    assert!(assert_ok(&["replace"], &out).contains("replaced"));
    // Replacing with the now-stale resourceVersion is a conflict.
    let out = t
        .kubectl_stdin(&["replace", "-f", "-"], &dep.to_string())
        .await;
    assert!(String::from_utf8_lossy(&out.stderr).contains("Conflict"));
    t.stop().await;
}

#[tokio::test]
async fn create_generators_send_protobuf_and_work() {
    let t = TestServer::start().await;
    t.kubectl_ok(&["create", "namespace", "pb"]).await;
    let out = t.kubectl(&["create", "namespace", "pb"]).await;
    assert!(String::from_utf8_lossy(&out.stderr).contains("AlreadyExists"));
    t.kubectl_ok(&[
        "create",
        "configmap",
        "cm",
        "-n",
        "pb",
        "--from-literal=a=b",
    ])
    .await;
    t.kubectl_ok(&[
        "create",
        "secret",
        "generic",
        "s",
        "-n",
        "pb",
        "--from-literal=k=v",
    ])
    .await;
    t.kubectl_ok(&[
        "create",
        "deployment",
        "d",
        "-n",
        "pb",
        "--image=nginx",
        "--replicas=2",
        "--port=80",
    ])
    .await;
    t.kubectl_ok(&[
        "create",
        "job",
        "j",
        "-n",
        "pb",
        "--image=busybox",
        "--",
        "echo",
        "hi",
    ])
    .await;
    t.kubectl_ok(&[
        "create",
        "cronjob",
        "c",
        "-n",
        "pb",
        "--image=busybox",
        "--schedule=*/5 * * * *",
    ])
    .await;
    t.kubectl_ok(&[
        "create",
        "service",
        "clusterip",
        "svc",
        "-n",
        "pb",
        "--tcp=80:8080",
    ])
    .await;
    t.kubectl_ok(&["create", "serviceaccount", "sa", "-n", "pb"])
        .await;
    let secret = json(
        &t.kubectl_ok(&["get", "secret", "s", "-n", "pb", "-o", "json"])
            .await,
    );
    assert_eq!(secret["data"]["k"], "dg==");
    let dep = json(
        &t.kubectl_ok(&["get", "deploy", "d", "-n", "pb", "-o", "json"])
            .await,
    );
    assert_eq!(dep["spec"]["replicas"], 2);
    let svc = json(
        &t.kubectl_ok(&["get", "svc", "svc", "-n", "pb", "-o", "json"])
            .await,
    );
    assert!(
        svc["spec"]["clusterIP"]
            .as_str()
            .is_some_and(|ip| ip.starts_with("10."))
    );
    let all = t.kubectl_ok(&["get", "all", "-n", "pb"]).await;
    assert!(
        all.contains("deployment.apps/d") && all.contains("service/svc"),
        "{all}"
    );
    let can = t.kubectl_ok(&["auth", "can-i", "create", "pods"]).await;
    assert_eq!(can.trim(), "yes");
    t.stop().await;
}

#[tokio::test]
async fn api_resources_and_explain_use_discovery_and_openapi() {
    let t = TestServer::start().await;
    let res = t.kubectl_ok(&["api-resources"]).await;
    for line in [
        "deployments",
        "statefulsets",
        "cronjobs",
        "leases",
        "endpointslices",
        "poddisruptionbudgets",
    ] {
        assert!(res.contains(line), "{line} missing: {res}");
    }
    let explain = t.kubectl_ok(&["explain", "deployment.spec.replicas"]).await;
    assert!(
        explain.contains("replicas") && explain.contains("integer"),
        "{explain}"
    );
    let explain = t.kubectl_ok(&["explain", "pods.spec.containers"]).await;
    assert!(explain.contains("image"), "{explain}");
    // Server-side field validation: kubectl sends fieldValidation=Strict.
    let bad = DEPLOYMENT.replace("replicas: 2", "replicas: 2\n  replicaz: 3");
    let out = t.kubectl_stdin(&["apply", "-f", "-"], &bad).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.contains("replicaz"), "{err}");
    t.stop().await;
}

#[tokio::test]
async fn older_kubectl_versions_work() {
    let t = TestServer::start().await;
    let dir = "/usr/lib/google-cloud-sdk/bin";
    for minor in 27..=33 {
        let bin = format!("{dir}/kubectl.1.{minor}");
        if !std::path::Path::new(&bin).exists() {
            assert!(!crate::harness::in_ci(), "{bin} missing in CI");
            continue;
        }
        let ns = format!("v{minor}");
        let out = kubectl_at(t.dir.path(), &bin, &["create", "namespace", &ns], None).await;
        assert_ok(&[&bin, "create namespace"], &out);
        let manifest =
            DEPLOYMENT.replace("name: web\n", &format!("name: web\n  namespace: {ns}\n"));
        let out = kubectl_at(t.dir.path(), &bin, &["apply", "-f", "-"], Some(&manifest)).await;
        assert_ok(&[&bin, "apply"], &out);
        let out = kubectl_at(t.dir.path(), &bin, &["get", "deploy", "-n", &ns], None).await;
        assert!(assert_ok(&[&bin, "get"], &out).contains("web"));
    }
    t.stop().await;
}
