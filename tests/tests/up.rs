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

fn start(dir: &std::path::Path, port: u16, netns: &capstan_e2e::TestNetns) -> Up {
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
        .arg("--network-namespace")
        .arg(netns.path())
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

/// The images of the `roll` Deployment's pods.
fn roll_images(dir: &std::path::Path) -> String {
    kubectl(
        dir,
        &[
            "get",
            "pods",
            "-l",
            "app=roll",
            "-o",
            "jsonpath={.items[*].spec.containers[0].image}",
        ],
    )
}

/// No process left in any cgroup below `dir` (or no such cgroup).
fn cgroup_empty(dir: &std::path::Path) -> bool {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return true;
    };
    let own = std::fs::read_to_string(dir.join("cgroup.procs")).unwrap_or_default();
    own.trim().is_empty()
        && entries
            .flatten()
            .filter(|e| e.file_type().map(|t| t.is_dir()).unwrap_or(false))
            .all(|e| cgroup_empty(&e.path()))
}

#[test]
fn capstan_up_serves_the_examples_and_resumes_after_restart() {
    let root = std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"));
    if !root {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "needs root under CI"
        );
        eprintln!("skipping: capstan up runs a kubelet, which needs root");
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let netns = capstan_e2e::TestNetns::new();
    let port = free_port();
    let examples = repo_root().join("examples");
    let examples = examples.to_str().expect("utf-8 path");
    {
        let _up = start(dir.path(), port, &netns);
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
    let _up = start(dir.path(), port, &netns);
    // `capstan up` runs a kubelet (node-1) with the demo images preloaded.
    kubectl(
        dir.path(),
        &[
            "run",
            "hello",
            "--image=capstan.local/busybox:1.35",
            "--",
            "sleep",
            "1000",
        ],
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
    // The kubelet inside `capstan up` runs them: the example web pods become Ready (their
    // readiness probe is an httpGet against busybox httpd).
    let mut ready = String::new();
    for _ in 0..300 {
        ready = kubectl(
            dir.path(),
            &[
                "get",
                "pods",
                "-n",
                "shop",
                "-l",
                "app=web",
                "-o",
                "jsonpath={.items[*].status.conditions[?(@.type==\"Ready\")].status}",
            ],
        );
        if ready.split_whitespace().filter(|s| *s == "True").count() == 3 {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        ready.split_whitespace().filter(|s| *s == "True").count(),
        3,
        "{ready}"
    );
    let logs = kubectl(dir.path(), &["exec", "hello", "--", "echo", "exec-ok"]);
    assert_eq!(logs.trim(), "exec-ok");
    // A rollout with real containers, driven by kubectl: new image, history, undo.
    let manifest = dir.path().join("roll.yaml");
    std::fs::write(
        &manifest,
        "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: roll}\nspec:\n  replicas: 2\n  selector: {matchLabels: {app: roll}}\n  template:\n    metadata: {labels: {app: roll}}\n    spec:\n      terminationGracePeriodSeconds: 1\n      containers:\n      - {name: c, image: 'capstan.local/busybox:1.35', command: [sleep, '3600']}\n",
    )
    .expect("manifest");
    kubectl(
        dir.path(),
        &["apply", "-f", manifest.to_str().expect("utf-8")],
    );
    kubectl(
        dir.path(),
        &["rollout", "status", "deployment/roll", "--timeout=120s"],
    );
    kubectl(
        dir.path(),
        &[
            "set",
            "image",
            "deployment/roll",
            "c=capstan.local/testapp:0.1",
        ],
    );
    kubectl(
        dir.path(),
        &["rollout", "status", "deployment/roll", "--timeout=120s"],
    );
    let images = roll_images(dir.path());
    assert!(images.contains("testapp"), "{images}");
    let history = kubectl(dir.path(), &["rollout", "history", "deployment/roll"]);
    assert!(history.contains('2'), "{history}");
    kubectl(dir.path(), &["rollout", "undo", "deployment/roll"]);
    kubectl(
        dir.path(),
        &["rollout", "status", "deployment/roll", "--timeout=120s"],
    );
    let mut back = String::new();
    for _ in 0..150 {
        back = roll_images(dir.path());
        if !back.is_empty() && back.split_whitespace().all(|i| i.contains("busybox")) {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        back.split_whitespace().all(|i| i.contains("busybox")),
        "{back}"
    );
    kubectl(dir.path(), &["delete", "deployment", "roll"]);
    // Stop the containers before the cluster goes away: `capstan up` leaves them running.
    // busybox httpd as PID 1 ignores SIGTERM (as in any container), so skip the 30 s grace.
    kubectl(dir.path(), &["delete", "namespace", "shop", "--wait=false"]);
    for ns in ["shop", "default"] {
        kubectl(
            dir.path(),
            &[
                "delete",
                "pods",
                "--all",
                "-n",
                ns,
                "--grace-period=0",
                "--force",
                "--wait=true",
            ],
        );
    }
    // Gone means: no process in the node's cgroups and no mount left under the data dir.
    let data = dir.path().display().to_string();
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline
        && (!cgroup_empty(std::path::Path::new("/sys/fs/cgroup/memory/capstan/node-1"))
            || std::fs::read_to_string("/proc/self/mountinfo")
                .unwrap_or_default()
                .contains(&data))
    {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        !std::fs::read_to_string("/proc/self/mountinfo")
            .unwrap_or_default()
            .contains(&data),
        "mounts left under {data}"
    );
}
