//! The `capstan` commands that need running pods (root): rollout status/history/undo/
//! restart/pause/resume, logs (default container, -c, --tail, -f, deploy/NAME, -l --prefix),
//! exec (stdout, stdin, -it, exit codes), port-forward, scale, wait, describe, events,
//! cordon/drain/uncordon, delete -l.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

use capstan_e2e::{Cluster, LineReader, bin, eventually, on_path, root_or_skip, stdout_ok};

fn capstan(dir: &Path, args: &[&str]) -> Output {
    // The kubeconfig flag first: after `--` (exec) it would be the remote command's.
    Command::new(bin("capstan"))
        .arg("--kubeconfig")
        .arg(dir.join("kubeconfig"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("capstan runs")
}

fn text(o: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&o.stdout).to_string(),
        String::from_utf8_lossy(&o.stderr).to_string(),
    )
}

const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata: {name: echo, namespace: default, labels: {app: echo}}
spec:
  replicas: 2
  selector: {matchLabels: {app: echo}}
  template:
    metadata: {labels: {app: echo}}
    spec:
      terminationGracePeriodSeconds: 1
      containers:
      - name: main
        image: capstan.local/busybox:1.35
        env: [{name: COLOUR, value: VALUE}]
        command: ["sh", "-c", "echo started $COLOUR; i=0; while true; do i=$((i+1)); echo tick $i; sleep 1; done"]
      - name: side
        image: capstan.local/busybox:1.35
        command: ["sh", "-c", "echo side up; exec sleep 3600"]
      - name: web
        image: capstan.local/busybox:1.35
        command: ["sh", "-c", "mkdir -p /www && echo hello from $HOSTNAME > /www/index.html && exec httpd -f -p 8080 -h /www"]
        ports: [{name: http, containerPort: 8080}]
"#;

fn write_deployment(dir: &Path, colour: &str) -> String {
    let path = dir.join(format!("echo-{colour}.yaml"));
    std::fs::write(&path, DEPLOYMENT.replace("VALUE", colour)).expect("write manifest");
    path.display().to_string()
}

fn pod_names(dir: &Path) -> Vec<String> {
    let out = stdout_ok(
        capstan(
            dir,
            &[
                "get",
                "pods",
                "-l",
                "app=echo",
                "--field-selector",
                "status.phase=Running",
                "-o",
                "jsonpath={range .items[*]}{.metadata.name}{\"\\n\"}{end}",
            ],
        ),
        "get pod names",
    );
    out.lines().map(str::to_string).collect()
}

fn rollout_done(dir: &Path) {
    let out = stdout_ok(
        capstan(
            dir,
            &["rollout", "status", "deploy/echo", "--timeout", "120s"],
        ),
        "rollout status",
    );
    assert!(
        out.trim_end()
            .ends_with("deployment \"echo\" successfully rolled out"),
        "{out}"
    );
}

#[test]
fn pod_commands_against_a_running_cluster() {
    if !root_or_skip("the capstan pod commands test") {
        return;
    }
    let cluster = Cluster::start(1);
    let dir = cluster.dir();
    let red = write_deployment(dir, "red");
    let applied = stdout_ok(capstan(dir, &["apply", "-f", &red]), "apply");
    assert_eq!(applied, "deployment.apps/echo created\n");
    rollout_done(dir);

    // Tables from templates: custom columns sorted by name, no headers on request.
    let cols = stdout_ok(
        capstan(
            dir,
            &[
                "get",
                "pods",
                "-l",
                "app=echo",
                "-o",
                "custom-columns=NAME:.metadata.name,NODE:.spec.nodeName,CONTAINERS:.spec.containers[*].name",
                "--sort-by=.metadata.name",
            ],
        ),
        "custom-columns",
    );
    let lines: Vec<&str> = cols.lines().collect();
    assert_eq!(lines.len(), 3, "{cols}");
    assert!(
        lines[0].starts_with("NAME ") && lines[0].contains("   NODE "),
        "{cols}"
    );
    assert!(lines[1].contains("node-1   main,side,web"), "{cols}");
    assert!(lines[1] < lines[2], "not sorted: {cols}");
    let pods = pod_names(dir);
    assert_eq!(pods.len(), 2, "{pods:?}");
    let pod = pods[0].clone();

    // logs: the default container is the first, with kubectl's note; -c picks; --tail cuts.
    let logs = eventually(30, "a few ticks", || {
        let o = capstan(dir, &["logs", &pod]);
        let (out, err) = text(&o);
        (o.status.success() && out.contains("tick 2")).then_some((out, err))
    });
    assert!(logs.0.starts_with("started red\ntick 1\n"), "{}", logs.0);
    assert!(
        logs.1
            .contains("Defaulted container \"main\" out of: main, side, web"),
        "{}",
        logs.1
    );
    let side = stdout_ok(capstan(dir, &["logs", &pod, "-c", "side"]), "logs -c");
    assert_eq!(side, "side up\n");
    let tail = stdout_ok(
        capstan(dir, &["logs", &pod, "-c", "main", "--tail", "1"]),
        "--tail",
    );
    assert_eq!(tail.lines().count(), 1, "{tail}");
    assert!(tail.starts_with("tick "), "{tail}");
    let via_deploy = capstan(dir, &["logs", "deploy/echo", "-c", "side"]);
    let (out, err) = text(&via_deploy);
    assert_eq!(out, "side up\n");
    assert!(err.contains("Found 2 pods, using pod/"), "{err}");
    let bad = capstan(dir, &["logs", &pod, "-c", "nope"]);
    assert_eq!(bad.status.code(), Some(1));
    assert!(
        text(&bad).1.contains("container nope is not valid"),
        "{}",
        text(&bad).1
    );

    // logs -l: the last lines of each pod's container, prefixed on request (kubectl's
    // --prefix). Both replicas of the first rollout are running and no other pod matches.
    let prefixed = eventually(30, "side up from both pods", || {
        let o = capstan(dir, &["logs", "-l", "app=echo", "-c", "side", "--prefix"]);
        let out = text(&o).0;
        (o.status.success() && out.lines().count() >= pods.len()).then_some(out)
    });
    let mut prefixed_pods: Vec<&str> = prefixed
        .lines()
        .map(|l| {
            l.strip_prefix("[pod/")
                .and_then(|l| l.strip_suffix("/side] side up"))
                .filter(|p| p.starts_with("echo-"))
                .unwrap_or_else(|| panic!("unexpected line {l:?} in:\n{prefixed}"))
        })
        .collect();
    prefixed_pods.sort_unstable();
    let mut running: Vec<&str> = pods.iter().map(String::as_str).collect();
    running.sort_unstable();
    assert_eq!(prefixed_pods, running, "{prefixed}");

    // logs -f streams new lines as they are written.
    let mut cmd = Command::new(bin("capstan"));
    cmd.arg("--kubeconfig")
        .arg(dir.join("kubeconfig"))
        .args(["logs", "-f", &pod, "-c", "main", "--tail", "1"])
        .stdin(Stdio::null())
        .stderr(Stdio::null());
    let follow = LineReader::spawn(cmd);
    let ticks: Vec<String> = (0..3)
        .map(|i| follow.line(Duration::from_secs(20), &format!("logs -f line {}", i + 1)))
        .collect();
    drop(follow);
    let n = |l: &str| {
        l.trim()
            .trim_start_matches("tick ")
            .parse::<u64>()
            .unwrap_or(0)
    };
    assert!(n(&ticks[2]) > n(&ticks[0]), "{ticks:?}");

    // exec: output, stdin, and the command's exit code as capstan's.
    let hi = stdout_ok(
        capstan(dir, &["exec", &pod, "-c", "main", "--", "echo", "hi"]),
        "exec",
    );
    assert_eq!(hi, "hi\n");
    let code = capstan(
        dir,
        &["exec", &pod, "-c", "main", "--", "sh", "-c", "exit 3"],
    );
    assert_eq!(code.status.code(), Some(3), "{:?}", text(&code));
    let mut cat = Command::new(bin("capstan"))
        .args(["exec", "-i", &pod, "-c", "main", "--kubeconfig"])
        .arg(dir.join("kubeconfig"))
        .args(["--", "cat"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("exec -i");
    cat.stdin
        .take()
        .expect("stdin")
        .write_all(b"through stdin\n")
        .expect("write");
    let cat = cat.wait_with_output().expect("exec -i ends");
    assert_eq!(String::from_utf8_lossy(&cat.stdout), "through stdin\n");
    // -it under a pseudo-terminal (util-linux `script`): the remote side gets a TTY, the
    // local one goes raw and is restored, a resize of the local terminal (SIGWINCH) reaches
    // the remote one, and the exit code still comes through. The resize waits for a marker
    // file the test creates once the remote command runs, so it cannot precede the session.
    if on_path("script") {
        let kubeconfig = dir.join("kubeconfig");
        let marker = dir.join("resize-now");
        let line = format!(
            "(while [ ! -e {marker} ]; do sleep 0.1; done; stty cols 123 rows 45 </dev/tty) & \
             exec {capstan} --kubeconfig {kubeconfig} exec -it {pod} -c main -- \
             sh -c '[ -t 0 ] && [ -t 1 ] && echo terminal-ok; read x; stty size; exit 4'",
            marker = marker.display(),
            capstan = bin("capstan").display(),
            kubeconfig = kubeconfig.display()
        );
        let mut cmd = Command::new("script");
        cmd.args(["-qec", &line, "/dev/null"])
            .stdin(Stdio::piped())
            .stderr(Stdio::null());
        let mut tty = LineReader::spawn(cmd);
        let mut input = tty.take_stdin().expect("piped stdin");
        let mut shown = Vec::new();
        while !shown.iter().any(|l: &String| l.contains("terminal-ok")) {
            shown.push(tty.line(Duration::from_secs(20), "terminal-ok from exec -it"));
        }
        std::fs::write(&marker, "").expect("marker");
        // The resize is applied within ~0.1 s; the remote then reads a line and prints its size.
        std::thread::sleep(Duration::from_secs(1));
        input.write_all(b"go\r").expect("type a line");
        while let Some(l) = tty.next_line(Duration::from_secs(20)) {
            shown.push(l);
        }
        let shown = shown.join("\n");
        assert!(
            shown.lines().any(|l| l.trim() == "45 123"),
            "the remote terminal did not follow the resize: {shown}"
        );
        assert_eq!(tty.exit_code(Duration::from_secs(10)), Some(4), "{shown}");
    } else {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "the exec -it check needs util-linux `script` on PATH under CI"
        );
        eprintln!("skipping the exec -it check: util-linux `script` is not on PATH");
    }
    let missing = capstan(dir, &["exec", "nope", "--", "true"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&missing).1.contains("not found"),
        "{}",
        text(&missing).1
    );

    // port-forward: a free local port to the pod's named port, over the WebSocket channel
    // protocol, two connections one after the other.
    // The reader keeps draining stdout (a line per connection) until the forwarder is killed.
    let mut cmd = Command::new(bin("capstan"));
    cmd.arg("--kubeconfig")
        .arg(dir.join("kubeconfig"))
        .args(["port-forward", &format!("pod/{pod}"), ":http"])
        .stdin(Stdio::null())
        .stderr(Stdio::null());
    let forward = LineReader::spawn(cmd);
    let line = forward.line(Duration::from_secs(20), "the port-forward address");
    let local: u16 = line
        .strip_prefix("Forwarding from 127.0.0.1:")
        .and_then(|r| r.split(' ').next())
        .and_then(|p| p.parse().ok())
        .unwrap_or_else(|| panic!("unexpected first line {line:?}"));
    assert!(line.trim_end().ends_with("-> 8080"), "{line}");
    for _ in 0..2 {
        let mut conn = std::net::TcpStream::connect(("127.0.0.1", local)).expect("connect");
        conn.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        conn.write_all(b"GET / HTTP/1.0\r\n\r\n").expect("request");
        let mut answer = String::new();
        std::io::Read::read_to_string(&mut conn, &mut answer).expect("answer");
        assert!(
            answer.starts_with("HTTP/1.") && answer.contains(&format!("hello from {pod}")),
            "{answer}"
        );
    }
    drop(forward);

    // scale, then wait on a JSONPath and on a condition.
    let scaled = stdout_ok(
        capstan(dir, &["scale", "deploy/echo", "--replicas", "3"]),
        "scale",
    );
    assert_eq!(scaled, "deployment.apps/echo scaled\n");
    let waited = stdout_ok(
        capstan(
            dir,
            &[
                "wait",
                "deploy/echo",
                "--for=jsonpath={.status.readyReplicas}=3",
                "--timeout",
                "120s",
            ],
        ),
        "wait jsonpath",
    );
    assert_eq!(waited, "deployment.apps/echo condition met\n");
    let available = stdout_ok(
        capstan(dir, &["wait", "--for=condition=Available", "deploy/echo"]),
        "wait condition",
    );
    assert_eq!(available, "deployment.apps/echo condition met\n");
    let precondition = capstan(
        dir,
        &[
            "scale",
            "deploy/echo",
            "--replicas",
            "1",
            "--current-replicas",
            "2",
        ],
    );
    assert_eq!(precondition.status.code(), Some(1));
    assert!(
        text(&precondition)
            .1
            .contains("Expected replicas to be 2, was 3")
    );

    // A new revision, its history, and the way back.
    // `scale` took over spec.replicas; applying the manifest again is a conflict, as with
    // kubectl, until the manifest's owner forces it back.
    let blue = write_deployment(dir, "blue");
    let conflict = capstan(dir, &["apply", "-f", &blue]);
    assert_eq!(conflict.status.code(), Some(1));
    assert!(
        text(&conflict)
            .1
            .contains("conflict with \"capstan-scale\"")
            && text(&conflict).1.contains(".spec.replicas"),
        "{}",
        text(&conflict).1
    );
    assert_eq!(
        stdout_ok(
            capstan(dir, &["apply", "-f", &blue, "--force-conflicts"]),
            "apply blue"
        ),
        "deployment.apps/echo configured\n"
    );
    rollout_done(dir);
    let history = stdout_ok(
        capstan(dir, &["rollout", "history", "deploy/echo"]),
        "history",
    );
    assert_eq!(
        history,
        "deployment.apps/echo \nREVISION  CHANGE-CAUSE\n1         <none>\n2         <none>\n\n"
    );
    let rev1 = stdout_ok(
        capstan(
            dir,
            &["rollout", "history", "deploy/echo", "--revision", "1"],
        ),
        "history --revision",
    );
    assert!(rev1.contains("value: red"), "{rev1}");
    let undo = stdout_ok(capstan(dir, &["rollout", "undo", "deploy/echo"]), "undo");
    assert_eq!(undo, "deployment.apps/echo rolled back\n");
    rollout_done(dir);
    let colour = stdout_ok(
        capstan(
            dir,
            &[
                "get",
                "deploy",
                "echo",
                "-o",
                "jsonpath={.spec.template.spec.containers[0].env[0].value}",
            ],
        ),
        "colour",
    );
    assert_eq!(colour, "red");
    let history = stdout_ok(
        capstan(dir, &["rollout", "history", "deploy/echo"]),
        "history",
    );
    assert!(
        history.contains("\n2         <none>\n3         <none>\n"),
        "{history}"
    );

    let restarted = stdout_ok(
        capstan(dir, &["rollout", "restart", "deploy/echo"]),
        "restart",
    );
    assert_eq!(restarted, "deployment.apps/echo restarted\n");
    rollout_done(dir);
    assert_eq!(
        stdout_ok(capstan(dir, &["rollout", "pause", "deploy/echo"]), "pause"),
        "deployment.apps/echo paused\n"
    );
    let twice = capstan(dir, &["rollout", "pause", "deploy/echo"]);
    assert_eq!(twice.status.code(), Some(1));
    assert_eq!(
        stdout_ok(
            capstan(dir, &["rollout", "resume", "deploy/echo"]),
            "resume"
        ),
        "deployment.apps/echo resumed\n"
    );

    // describe and events.
    let described = stdout_ok(
        capstan(dir, &["describe", "deploy", "echo"]),
        "describe deploy",
    );
    for want in [
        "Name:",
        "Replicas:               2 desired | 2 updated | 2 total | 2 available | 0 unavailable",
        "StrategyType:           RollingUpdate",
        "NewReplicaSet:",
        "Events:",
        "ScalingReplicaSet",
    ] {
        assert!(described.contains(want), "{want:?} not in:\n{described}");
    }
    let pod = pod_names(dir).into_iter().next().expect("a pod");
    let described = stdout_ok(capstan(dir, &["describe", "pod", &pod]), "describe pod");
    for want in [
        "Containers:\n  main:\n",
        "  side:\n",
        "Node:",
        "Scheduled",
        "QoS Class:",
    ] {
        assert!(described.contains(want), "{want:?} not in:\n{described}");
    }
    let events = stdout_ok(
        capstan(dir, &["events", "--for", &format!("pod/{pod}")]),
        "events --for",
    );
    let first = events.lines().next().unwrap_or_default();
    assert!(
        first.starts_with("LAST SEEN")
            && first.contains("   TYPE   ")
            && first.ends_with("MESSAGE"),
        "{events}"
    );
    assert!(events.contains("Scheduled"), "{events}");

    // cordon / drain / uncordon: evicted pods wait for a node, then come back.
    assert_eq!(
        stdout_ok(capstan(dir, &["cordon", "node-1"]), "cordon"),
        "node/node-1 cordoned\n"
    );
    assert_eq!(
        stdout_ok(capstan(dir, &["cordon", "node-1"]), "cordon again"),
        "node/node-1 already cordoned\n"
    );
    let drained = stdout_ok(
        capstan(
            dir,
            &["drain", "node-1", "--ignore-daemonsets", "--timeout", "90s"],
        ),
        "drain",
    );
    assert!(drained.contains("evicting pod default/echo-"), "{drained}");
    assert!(
        drained.trim_end().ends_with("node/node-1 drained"),
        "{drained}"
    );
    // Two replicas (the manifest's, forced back by `apply blue --force-conflicts`): both
    // replacements exist and none can be scheduled on the cordoned node.
    eventually(60, "2 replacement pods, all Pending", || {
        let phases = stdout_ok(
            capstan(
                dir,
                &[
                    "get",
                    "pods",
                    "-l",
                    "app=echo",
                    "-o",
                    "jsonpath={.items[*].status.phase}",
                ],
            ),
            "phases",
        );
        let phases: Vec<&str> = phases.split_whitespace().collect();
        (phases == ["Pending", "Pending"]).then_some(())
    });
    assert_eq!(
        stdout_ok(capstan(dir, &["uncordon", "node-1"]), "uncordon"),
        "node/node-1 uncordoned\n"
    );
    rollout_done(dir);

    // delete by label, then wait for the pods to go. Only success is checked: the pods may
    // already be gone (garbage collection races the command), and then, as with kubectl,
    // the selector matches nothing and nothing is printed.
    let deleted = stdout_ok(
        capstan(dir, &["delete", "deploy", "-l", "app=echo"]),
        "delete -l",
    );
    assert_eq!(deleted, "deployment.apps/echo deleted\n");
    stdout_ok(
        capstan(
            dir,
            &[
                "wait",
                "--for=delete",
                "pods",
                "-l",
                "app=echo",
                "--timeout",
                "90s",
            ],
        ),
        "wait --for=delete",
    );
    let top = capstan(dir, &["top", "pods"]);
    assert_eq!(top.status.code(), Some(1));
    assert!(
        text(&top).1.contains("Metrics API not available"),
        "{}",
        text(&top).1
    );
}
