//! `capstan up` end to end: the binary starts a cluster, writes a kubeconfig, the real kubectl
//! applies every example, and a restart on the same data dir resumes the same state.

use std::time::{Duration, Instant};

use capstan_e2e::{UpProcess, free_port, kubectl, repo_root};

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
    if !capstan_e2e::root_or_skip("capstan up with a kubelet") {
        return;
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let netns = capstan_e2e::TestNetns::new();
    let port = free_port();
    let examples = repo_root().join("examples");
    let examples = examples.to_str().expect("utf-8 path");
    {
        let _up = UpProcess::start(dir.path(), port, 1, &netns);
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
    let _up = UpProcess::start(dir.path(), port, 1, &netns);
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
    // The example web app answers on its NodePort on 127.0.0.1 of the node's namespace,
    // through the proxy's rules, from one of its three pods.
    let mut served = String::new();
    for _ in 0..100 {
        let out = netns.exec(&["curl", "-s", "-m", "2", "http://127.0.0.1:30080/hostname"]);
        served = String::from_utf8_lossy(&out.stdout).trim().to_string();
        if served.starts_with("web-") {
            break;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    assert!(
        served.starts_with("web-"),
        "NodePort 30080 answered {served:?}"
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
