//! `capstan up` end to end: the binary starts a cluster, writes a kubeconfig, the real kubectl
//! applies every example, and a restart on the same data dir resumes the same state.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use capstan_e2e::{bin, free_port, repo_root};

struct Up(Child);

impl Drop for Up {
    fn drop(&mut self) {
        // SIGTERM first so `capstan up` shuts down cleanly; then make sure.
        let _ = Command::new("kill").arg(self.0.id().to_string()).status();
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start(dir: &std::path::Path, port: u16) -> Up {
    let capstan = bin("capstan");
    assert!(
        capstan.exists(),
        "build the binaries first (make test does): {}",
        capstan.display()
    );
    let child = Command::new(capstan)
        .args(["up", "--data-dir"])
        .arg(dir)
        .args(["--port", &port.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("capstan up starts");
    let up = Up(child);
    let kubeconfig = dir.join("kubeconfig");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !(kubeconfig.exists() && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()) {
        assert!(Instant::now() < deadline, "capstan up did not come up");
        std::thread::sleep(Duration::from_millis(100));
    }
    up
}

fn kubectl(dir: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new("kubectl")
        .args(args)
        .env("KUBECONFIG", dir.join("kubeconfig"))
        .env("HOME", dir.join("home"))
        .output()
        .expect("kubectl runs");
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

fn kubectl_stdin(dir: &std::path::Path, args: &[&str], stdin: &str) -> String {
    use std::io::Write;
    let mut child = Command::new("kubectl")
        .args(args)
        .env("KUBECONFIG", dir.join("kubeconfig"))
        .env("HOME", dir.join("home"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("kubectl runs");
    if let Some(mut i) = child.stdin.take() {
        i.write_all(stdin.as_bytes()).expect("stdin");
    }
    let out = child.wait_with_output().expect("kubectl output");
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
fn capstan_up_serves_the_examples_and_resumes_after_restart() {
    let dir = tempfile::tempdir().expect("temp dir");
    let port = free_port();
    let examples = repo_root().join("examples");
    let examples = examples.to_str().expect("utf-8 path");
    {
        let _up = start(dir.path(), port);
        let out = kubectl(dir.path(), &["apply", "-f", examples]);
        assert!(out.contains("deployment.apps/web created"), "{out}");
        assert!(out.contains("statefulset.apps/db created"), "{out}");
        assert!(out.contains("cronjob.batch/report created"), "{out}");
        let again = kubectl(dir.path(), &["apply", "-f", examples]);
        assert!(
            !again.contains("created") && again.contains("unchanged"),
            "{again}"
        );
    }
    let _up = start(dir.path(), port);
    // The scheduler runs inside `capstan up`: a pod is bound once a node exists.
    let node = "apiVersion: v1\nkind: Node\nmetadata:\n  name: node-1\n  labels: {kubernetes.io/hostname: node-1}\nstatus:\n  allocatable: {cpu: '4', memory: 8Gi, pods: '110'}\n  capacity: {cpu: '4', memory: 8Gi, pods: '110'}\n";
    kubectl_stdin(dir.path(), &["apply", "-f", "-"], node);
    kubectl(
        dir.path(),
        &["run", "hello", "--image=busybox", "--", "sleep", "1"],
    );
    let mut bound = String::new();
    for _ in 0..100 {
        bound = kubectl(
            dir.path(),
            &["get", "pod", "hello", "-o", "jsonpath={.spec.nodeName}"],
        );
        if !bound.is_empty() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(bound, "node-1");
    // The controllers run inside `capstan up` too: the example Deployment gets its ReplicaSet
    // and three pods, which the scheduler places on node-1.
    let mut placed = String::new();
    for _ in 0..150 {
        placed = kubectl(
            dir.path(),
            &[
                "get",
                "pods",
                "-n",
                "shop",
                "-l",
                "app=web",
                "-o",
                "jsonpath={.items[*].spec.nodeName}",
            ],
        );
        if placed.split_whitespace().filter(|n| *n == "node-1").count() == 3 {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(
        placed.split_whitespace().filter(|n| *n == "node-1").count(),
        3,
        "{placed}"
    );
    let rs = kubectl(
        dir.path(),
        &["get", "rs", "-n", "shop", "-l", "app=web", "-o", "name"],
    );
    assert_eq!(rs.lines().count(), 1, "{rs}");
    let names = kubectl(
        dir.path(),
        &[
            "get",
            "deploy,sts,svc,cm,job,cronjob",
            "-n",
            "shop",
            "-o",
            "name",
        ],
    );
    for want in [
        "deployment.apps/web",
        "statefulset.apps/db",
        "service/web",
        "service/db",
        "configmap/web-config",
        "job.batch/migrate",
        "cronjob.batch/report",
    ] {
        assert!(
            names.contains(want),
            "{want} missing after restart: {names}"
        );
    }
}
