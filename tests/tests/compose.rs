//! `capstan compose` end to end (root): the three example Compose projects (web + db + cache,
//! a queue with scaled workers, healthchecks with named volumes) are converted, applied to a
//! `capstan up` cluster and reach a running state — depends_on ordering, env and env_file,
//! NodePorts, named volumes on the node, healthcheck probes — then `down` removes them.

use std::path::Path;

use capstan_e2e::{
    Cluster, bin, eventually, kubectl, kubectl_output, repo_root, root_or_skip, stdout_ok,
};

fn compose(dir: &Path, action: &str, project: &str) -> std::process::Output {
    let file = repo_root()
        .join("examples/compose")
        .join(project)
        .join("compose.yaml");
    std::process::Command::new(bin("capstan"))
        .args(["compose", action, "-f"])
        .arg(file)
        .arg("--kubeconfig")
        .arg(dir.join("kubeconfig"))
        .arg("--volumes-dir")
        .arg(dir.join("volumes"))
        .args(["--timeout", "120"])
        .output()
        .expect("capstan compose runs")
}

#[test]
fn compose_projects_come_up_and_go_down() {
    if !root_or_skip("the compose test") {
        return;
    }
    let cluster = Cluster::start(1);
    let dir = cluster.dir();

    // web + db + cache: web waits for both, gets env and env_file, answers on its NodePort.
    let up = stdout_ok(compose(dir, "up", "shop"), "compose up shop");
    assert!(up.contains("deployment/web created"), "{up}");
    assert!(up.contains("project shop is up"), "{up}");
    let (ok_curl, body) = {
        let out = cluster
            .netns
            .exec(&["curl", "-s", "-m", "3", "http://127.0.0.1:30091/hostname"]);
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).trim().to_string(),
        )
    };
    assert!(
        ok_curl && body.starts_with("web-"),
        "NodePort answered {body:?}"
    );
    let env = kubectl(dir, &["exec", "-n", "shop", "deploy/web", "--", "env"]);
    for want in [
        "DATABASE_URL=postgres://shop@db:5432/shop",
        "LOG_LEVEL=info",
        "FEATURE_FLAGS=search,cart",
    ] {
        assert!(env.contains(want), "{want} missing from:\n{env}");
    }
    let init = kubectl(
        dir,
        &[
            "get",
            "pods",
            "-n",
            "shop",
            "-l",
            "app.kubernetes.io/name=web",
            "-o",
            "jsonpath={.items[0].spec.initContainers[*].name}",
        ],
    );
    assert_eq!(init, "wait-for-db wait-for-cache");
    assert!(
        dir.join("volumes/shop/dbdata/started").exists(),
        "named volume not on the node"
    );
    // Applying again changes nothing but reports each object.
    let again = stdout_ok(compose(dir, "up", "shop"), "compose up shop again");
    assert!(again.contains("deployment/web configured"), "{again}");

    // A queue: the producer's messages reach the broker; three workers run.
    stdout_ok(compose(dir, "up", "queue"), "compose up queue");
    let workers = kubectl(
        dir,
        &[
            "get",
            "pods",
            "-n",
            "queue",
            "-l",
            "app.kubernetes.io/name=worker",
            "-o",
            "jsonpath={.items[*].status.phase}",
        ],
    );
    assert_eq!(workers, "Running Running Running");
    eventually(60, "a job in the broker", || {
        let out = kubectl_output(
            dir,
            &[
                "exec",
                "-n",
                "queue",
                "deploy/broker",
                "--",
                "cat",
                "/q/messages",
            ],
        );
        String::from_utf8_lossy(&out.stdout)
            .contains("job-")
            .then_some(())
    });

    // Healthchecks decide readiness; two named volumes; a dependency on a healthy service.
    let up = stdout_ok(compose(dir, "up", "health"), "compose up health");
    assert!(up.contains("project notes is up"), "{up}");
    let probe = kubectl(
        dir,
        &[
            "get",
            "deploy",
            "-n",
            "notes",
            "api",
            "-o",
            "jsonpath={.spec.template.spec.containers[0].readinessProbe.periodSeconds}",
        ],
    );
    assert_eq!(probe, "2");
    assert!(dir.join("volumes/notes/notes-data/www/index.html").exists());

    // down: the namespaces go; the named volumes' data stays, as with Compose.
    for (project, ns) in [("shop", "shop"), ("queue", "queue"), ("health", "notes")] {
        let out = stdout_ok(compose(dir, "down", project), "compose down");
        assert!(out.contains(&format!("namespace/{ns} deleted")), "{out}");
        let gone = kubectl_output(dir, &["get", "namespace", ns]);
        assert!(!gone.status.success(), "namespace {ns} still there");
    }
    assert!(dir.join("volumes/shop/dbdata/started").exists());
}
