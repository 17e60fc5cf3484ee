//! The official Python client (`kubernetes` from PyPI): list, create and watch round trip.

use crate::harness::{TestServer, in_ci};

const SCRIPT: &str = r#"
import sys, threading, time
from kubernetes import client, config, watch
config.load_kube_config(config_file=sys.argv[1])
v1 = client.CoreV1Api()
names = [ns.metadata.name for ns in v1.list_namespace().items]
assert "kube-system" in names, names
seen = []
def watcher():
    w = watch.Watch()
    for ev in w.stream(v1.list_namespaced_config_map, namespace="default", timeout_seconds=10):
        seen.append((ev["type"], ev["object"].metadata.name))
        if ev["type"] == "DELETED":
            w.stop()
t = threading.Thread(target=watcher)
t.start()
time.sleep(1)
body = client.V1ConfigMap(metadata=client.V1ObjectMeta(name="py"), data={"k": "v"})
created = v1.create_namespaced_config_map("default", body)
assert created.metadata.resource_version
got = v1.read_namespaced_config_map("py", "default")
assert got.data == {"k": "v"}, got.data
v1.delete_namespaced_config_map("py", "default")
t.join(15)
assert ("ADDED", "py") in seen and ("DELETED", "py") in seen, seen
try:
    v1.read_namespaced_config_map("py", "default")
    raise SystemExit("still there")
except client.exceptions.ApiException as e:
    assert e.status == 404, e.status
print("python-ok")
"#;

#[tokio::test]
async fn python_client_list_create_watch_round_trip() {
    let probe = tokio::process::Command::new("python3")
        .args(["-c", "import kubernetes"])
        .output()
        .await;
    if !probe.as_ref().is_ok_and(|o| o.status.success()) {
        assert!(
            !in_ci(),
            "the Python kubernetes client must be installed in CI (.ci/run does it)"
        );
        eprintln!("skipping: python3 kubernetes client not installed");
        return;
    }
    let t = TestServer::start().await;
    let script = t.dir.path().join("client.py");
    std::fs::write(&script, SCRIPT).expect("script");
    let out = tokio::process::Command::new("python3")
        .arg(&script)
        .arg(t.kubeconfig())
        .output()
        .await
        .expect("python runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("python-ok"),
        "python failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    t.stop().await;
}
