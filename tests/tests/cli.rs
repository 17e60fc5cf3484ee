//! The `capstan` kubectl-like commands against `capstan up --nodes 0` (no root needed):
//! apply (created / unchanged), get (server tables, -o name|yaml, -A, unknown types), delete.

use std::path::Path;
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use capstan_e2e::{Proc, bin, free_port, repo_root, stdout_ok};

fn capstan(dir: &Path, args: &[&str]) -> Output {
    Command::new(bin("capstan"))
        .args(args)
        .arg("--kubeconfig")
        .arg(dir.join("kubeconfig"))
        .output()
        .expect("capstan runs")
}

#[test]
fn apply_get_and_delete() {
    let tmp = tempfile::tempdir().expect("dir");
    let dir = tmp.path();
    let port = free_port();
    let _up = Proc::spawn(
        bin("capstan"),
        &[
            "up".into(),
            "--nodes".into(),
            "0".into(),
            "--data-dir".into(),
            dir.display().to_string(),
            "--port".into(),
            port.to_string(),
        ],
        &[],
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    while !(dir.join("kubeconfig").exists()
        && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok())
    {
        assert!(Instant::now() < deadline, "capstan up did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
    let examples = repo_root().join("examples");
    let examples = examples.to_str().expect("utf-8");

    let first = stdout_ok(capstan(dir, &["apply", "-f", examples]), "apply");
    for want in [
        "namespace/shop created\n",
        "deployment.apps/web created\n",
        "service/web created\n",
        "statefulset.apps/db created\n",
        "cronjob.batch/report created\n",
    ] {
        assert!(first.contains(want), "{want:?} not in:\n{first}");
    }
    let again = stdout_ok(capstan(dir, &["apply", "-f", examples]), "apply again");
    assert!(again.contains("deployment.apps/web unchanged\n"), "{again}");
    assert!(!again.contains("created"), "{again}");

    let deploys = stdout_ok(capstan(dir, &["get", "deploy", "-n", "shop"]), "get deploy");
    let mut lines = deploys.lines();
    assert_eq!(
        lines.next(),
        Some("NAME   READY   UP-TO-DATE   AVAILABLE   AGE")
    );
    // The counters depend on how far the controllers got; the layout does not.
    assert!(
        lines
            .next()
            .is_some_and(|l| l.starts_with("web    ") && l.contains("/3")),
        "{deploys}"
    );
    let svc = stdout_ok(
        capstan(dir, &["get", "svc", "web", "-n", "shop", "-o", "yaml"]),
        "get -o yaml",
    );
    assert!(svc.contains("nodePort: 30080"), "{svc}");
    let names = stdout_ok(capstan(dir, &["get", "ns", "-o", "name"]), "get -o name");
    assert!(names.lines().any(|l| l == "namespace/shop"), "{names}");
    let all = stdout_ok(capstan(dir, &["get", "cm", "-A"]), "get -A");
    assert!(all.starts_with("NAMESPACE   NAME"), "{all}");

    let unknown = capstan(dir, &["get", "nope"]);
    assert_eq!(unknown.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("doesn't have a resource type \"nope\"")
    );

    let deleted = stdout_ok(
        capstan(dir, &["delete", "deploy", "web", "-n", "shop"]),
        "delete",
    );
    assert_eq!(deleted, "deployment.apps/web deleted\n");
    let gone = capstan(dir, &["get", "deploy", "web", "-n", "shop"]);
    assert_eq!(gone.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&gone.stderr).contains("not found"));
}
