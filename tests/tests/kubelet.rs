//! The kubelet end to end, as root, with real parts: `capstan up --nodes 0` (API server,
//! scheduler, controllers), a `capstan-kubelet` process, Debian's docker-registry on loopback
//! serving images built from busybox-static and the static testapp, and the real kubectl.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use capstan_e2e::{Proc, bin};

fn root_or_skip() -> bool {
    let root = nix_is_root();
    if !root {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "kubelet tests need root; under CI=true they must run"
        );
        eprintln!("skipping: not root");
    }
    root
}

fn nix_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("Uid:"))
        .and_then(|l| l.split_whitespace().nth(1).map(|u| u == "0"))
        .unwrap_or(false)
}

struct Cluster {
    dir: tempfile::TempDir,
    node: String,
    registry: capstan_image::testing::Registry,
    kubelet: Option<Proc>,
    kubelet_args: Vec<String>,
    up: Option<Proc>,
    port: u16,
    busybox: String,
    testapp: Option<String>,
    /// Last, so it goes after everything that uses it.
    netns: capstan_e2e::TestNetns,
}

fn testapp_binary() -> Option<PathBuf> {
    let p = bin("capstan-testapp");
    let release = bin("../release/capstan-testapp");
    [release, p]
        .into_iter()
        .find(|p| p.exists() && is_static(p))
}

fn is_static(p: &Path) -> bool {
    Command::new("file")
        .arg(p)
        .output()
        .map(|o| {
            let t = String::from_utf8_lossy(&o.stdout).into_owned();
            t.contains("statically linked") || t.contains("static-pie linked")
        })
        .unwrap_or(false)
}

impl Cluster {
    fn start(name: &str) -> Cluster {
        Cluster::start_with(name, &[])
    }

    fn start_with(name: &str, kubelet_args: &[&str]) -> Cluster {
        let dir = tempfile::tempdir().expect("temp dir");
        let (up, port) = capstan_e2e::spawn_control_plane(&dir.path().join("cluster"));
        let registry = capstan_image::testing::Registry::start().expect("docker-registry starts");
        let rt = tokio::runtime::Runtime::new().expect("runtime");
        let layouts = dir.path().join("layouts");
        let busybox_layout = layouts.join("busybox");
        capstan_image::demo::build_busybox_layout(&busybox_layout, "capstan.local/busybox:1.35")
            .expect("busybox layout");
        let busybox = format!("{}/busybox:1.35", registry.host());
        rt.block_on(capstan_image::testing::push_layout(
            &busybox_layout,
            &busybox,
        ))
        .expect("push busybox");
        let testapp = testapp_binary().map(|b| {
            let l = layouts.join("testapp");
            capstan_image::demo::build_binary_layout(
                &l,
                "capstan.local/testapp:0.1",
                &b,
                "testapp",
            )
            .expect("testapp layout");
            let r = format!("{}/testapp:0.1", registry.host());
            rt.block_on(capstan_image::testing::push_layout(&l, &r))
                .expect("push testapp");
            r
        });
        let node = format!("{name}-{}", std::process::id());
        let mut c = Cluster {
            dir,
            node,
            registry,
            kubelet: None,
            kubelet_args: kubelet_args.iter().map(|a| a.to_string()).collect(),
            up: Some(up),
            port,
            busybox,
            testapp,
            netns: capstan_e2e::TestNetns::new(),
        };
        capstan_e2e::wait_control_plane(&c.dir.path().join("cluster"), port);
        c.start_kubelet();
        c.wait_for(
            &[
                "get",
                "node",
                &c.node.clone(),
                "-o",
                "jsonpath={.status.conditions[?(@.type==\"Ready\")].status}",
            ],
            |s| s == "True",
            60,
        );
        c
    }

    fn root(&self) -> PathBuf {
        self.dir.path().join("kubelet")
    }

    fn start_kubelet(&mut self) {
        let mut args: Vec<String> = vec![
            "--server".into(),
            format!("http://127.0.0.1:{}", self.port),
            "--node-name".into(),
            self.node.clone(),
            "--root-dir".into(),
            self.root().display().to_string(),
            "--port".into(),
            "0".into(),
            "--network-namespace".into(),
            self.netns.path().display().to_string(),
        ];
        args.extend(self.kubelet_args.iter().cloned());
        self.kubelet = Some(Proc::spawn(
            bin("capstan-kubelet"),
            &args,
            &[("RUST_LOG", "info")],
        ));
    }

    fn kill_kubelet(&mut self) {
        if let Some(k) = self.kubelet.take() {
            k.kill9();
        }
    }

    fn kubectl_out(&self, args: &[&str], stdin: Option<&str>) -> std::process::Output {
        use std::io::Write;
        let mut child = Command::new("kubectl")
            .args(args)
            .env("KUBECONFIG", self.dir.path().join("cluster/kubeconfig"))
            .env("HOME", self.dir.path())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("kubectl runs");
        if let (Some(mut i), Some(s)) = (child.stdin.take(), stdin) {
            let _ = i.write_all(s.as_bytes());
        }
        child.wait_with_output().expect("kubectl output")
    }

    fn kubectl(&self, args: &[&str]) -> String {
        let out = self.kubectl_out(args, None);
        assert!(
            out.status.success(),
            "kubectl {args:?}: {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn apply(&self, yaml: &str) {
        let out = self.kubectl_out(&["apply", "-f", "-"], Some(yaml));
        assert!(
            out.status.success(),
            "apply: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    fn jsonpath(&self, pod: &str, path: &str) -> String {
        let out = self.kubectl_out(
            &["get", "pod", pod, "-o", &format!("jsonpath={path}")],
            None,
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn wait_for(&self, args: &[&str], ok: impl Fn(&str) -> bool, secs: u64) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let out = self.kubectl_out(args, None);
            let s = String::from_utf8_lossy(&out.stdout).into_owned();
            if ok(&s) {
                return s;
            }
            if Instant::now() > deadline {
                let describe = self.kubectl_out(&["describe", "pods"], None);
                panic!(
                    "timed out waiting on {args:?}; last: {s:?}\n{}",
                    String::from_utf8_lossy(&describe.stdout)
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn wait_pod(&self, pod: &str, path: &str, ok: impl Fn(&str) -> bool, secs: u64) -> String {
        self.wait_for(
            &["get", "pod", pod, "-o", &format!("jsonpath={path}")],
            ok,
            secs,
        )
    }

    fn pod(&self, name: &str, spec: &str) -> String {
        format!(
            "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\nspec:\n  nodeName: {}\n{spec}",
            self.node
        )
    }

    fn state(&self, uid: &str) -> serde_json::Value {
        let p = self.root().join("pods").join(uid).join("state.json");
        serde_json::from_slice(&std::fs::read(&p).unwrap_or_default()).unwrap_or_default()
    }
}

/// Kills whatever a failed test left: kubelet, container processes, shims, mounts, cgroups.
/// (The shim pattern is bracketed so it cannot match this shell's own command line.)
impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = self.kubectl_out(&["delete", "pods", "--all", "--wait=false"], None);
        let deadline = Instant::now() + Duration::from_secs(15);
        while self.kubelet.is_some() && Instant::now() < deadline {
            let out = self.kubectl_out(&["get", "pods", "-o", "name"], None);
            if out.status.success() && out.stdout.is_empty() {
                break;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
        self.kill_kubelet();
        let cg = format!("/sys/fs/cgroup/memory/capstan/{}", self.node);
        let _ = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "find {cg} -name cgroup.procs -exec cat {{}} + 2>/dev/null | xargs -r kill -9; \
                 pkill -9 -f '[_]_capstan-shim {}' ; sleep 0.2; \
                 grep -o ' {}[^ ]*' /proc/self/mountinfo | sort -r | xargs -r -n1 umount -l; \
                 for c in /sys/fs/cgroup/*/capstan/{}; do find $c -depth -type d -exec rmdir {{}} \\; 2>/dev/null; done",
                self.root().display(),
                self.root().display(),
                self.node
            ))
            .status();
        drop(self.up.take());
        let _ = &self.registry;
    }
}

/// A process that exists and is not a zombie (an adopted container's parent is init, which
/// may reap it late).
fn running(pid: i64) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(") ")
                .map(|(_, r)| !r.starts_with('Z') && !r.starts_with('X'))
        })
        .unwrap_or(false)
}

/// A plain HTTP/1.0 GET on loopback; returns the whole response.
fn http_get(addr: &str, path: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.write_all(format!("GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())
        .expect("write");
    let mut out = String::new();
    s.read_to_string(&mut out).expect("read");
    out
}

fn uid(c: &Cluster, pod: &str) -> String {
    c.jsonpath(pod, "{.metadata.uid}")
}

#[test]
fn pods_run_with_env_volumes_limits_logs_and_exec() {
    if !root_or_skip() {
        return;
    }
    let c = Cluster::start("kt-basic");
    c.apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {greeting: hello, file.txt: from-configmap}\n---\napiVersion: v1\nkind: Secret\nmetadata: {name: sec}\nstringData: {token: s3cret}\n");
    let spec = format!(
        "  terminationGracePeriodSeconds: 2
  initContainers:
  - name: init
    image: {bb}
    command: [sh, -c, 'echo init-ran > /work/order']
    volumeMounts: [{{name: work, mountPath: /work}}]
  containers:
  - name: app
    image: {bb}
    command: [sh, -c, 'echo started $GREETING; echo to-stderr >&2; while true; do sleep 1; done']
    env:
    - {{name: GREETING, valueFrom: {{configMapKeyRef: {{name: cfg, key: greeting}}}}}}
    - {{name: TOKEN, valueFrom: {{secretKeyRef: {{name: sec, key: token}}}}}}
    - {{name: MY_NAME, valueFrom: {{fieldRef: {{fieldPath: metadata.name}}}}}}
    - {{name: MEM, valueFrom: {{resourceFieldRef: {{resource: limits.memory, divisor: 1Mi}}}}}}
    resources: {{limits: {{memory: 64Mi, cpu: 500m}}, requests: {{cpu: 250m, memory: 32Mi}}}}
    readinessProbe: {{exec: {{command: [cat, /work/order]}}, periodSeconds: 1}}
    volumeMounts:
    - {{name: work, mountPath: /work}}
    - {{name: cfg, mountPath: /etc/cfg}}
    - {{name: sec, mountPath: /etc/sec}}
    - {{name: info, mountPath: /etc/info}}
  volumes:
  - {{name: work, emptyDir: {{}}}}
  - {{name: cfg, configMap: {{name: cfg}}}}
  - {{name: sec, secret: {{secretName: sec}}}}
  - name: info
    downwardAPI:
      items: [{{path: labels, fieldRef: {{fieldPath: metadata.labels}}}}]
",
        bb = c.busybox
    );
    c.apply(&c.pod("web", &spec).replace(
        "metadata:\n  name: web\n",
        "metadata:\n  name: web\n  labels: {app: web}\n",
    ));
    c.wait_pod(
        "web",
        "{.status.conditions[?(@.type==\"Ready\")].status}",
        |s| s == "True",
        90,
    );
    assert_eq!(c.jsonpath("web", "{.status.phase}"), "Running");
    assert_eq!(
        c.jsonpath(
            "web",
            "{.status.initContainerStatuses[0].state.terminated.reason}"
        ),
        "Completed"
    );
    // Logs through the API server's proxy, with the real kubectl.
    let logs = c.wait_for(
        &["logs", "web", "-c", "app"],
        |s| s.contains("started hello"),
        20,
    );
    assert!(logs.contains("to-stderr"), "{logs}");
    // Exec: environment, volumes, exit codes, stdin.
    let env = c.kubectl(&["exec", "web", "-c", "app", "--", "env"]);
    for want in ["GREETING=hello", "TOKEN=s3cret", "MY_NAME=web", "MEM=64"] {
        assert!(env.contains(want), "{want} missing in {env}");
    }
    assert_eq!(
        c.kubectl(&["exec", "web", "--", "cat", "/work/order"])
            .trim(),
        "init-ran"
    );
    assert_eq!(
        c.kubectl(&["exec", "web", "--", "cat", "/etc/cfg/file.txt"]),
        "from-configmap"
    );
    assert_eq!(
        c.kubectl(&["exec", "web", "--", "cat", "/etc/sec/token"]),
        "s3cret"
    );
    assert_eq!(
        c.kubectl(&["exec", "web", "--", "cat", "/etc/info/labels"]),
        "app=\"web\""
    );
    assert_eq!(c.kubectl(&["exec", "web", "--", "hostname"]).trim(), "web");
    let failed = c.kubectl_out(&["exec", "web", "--", "sh", "-c", "exit 3"], None);
    assert_eq!(failed.status.code(), Some(3));
    let echoed = c.kubectl_out(&["exec", "-i", "web", "--", "cat"], Some("over-stdin\n"));
    assert_eq!(String::from_utf8_lossy(&echoed.stdout), "over-stdin\n");
    // The limits are in the container's cgroup.
    let uid = uid(&c, "web");
    let mem = std::fs::read_to_string(format!(
        "/sys/fs/cgroup/memory/capstan/{}/pod{uid}/app-0/memory.limit_in_bytes",
        c.node
    ))
    .expect("memory cgroup of the container");
    assert_eq!(mem.trim(), (64u64 << 20).to_string());
    let quota = std::fs::read_to_string(format!(
        "/sys/fs/cgroup/cpu/capstan/{}/pod{uid}/app-0/cpu.cfs_quota_us",
        c.node
    ))
    .expect("cpu cgroup");
    assert_eq!(quota.trim(), "50000");
    // Per-container CPU and memory from the cgroups, on the kubelet's stats endpoint.
    let port = c.kubectl(&[
        "get",
        "node",
        &c.node,
        "-o",
        "jsonpath={.status.daemonEndpoints.kubeletEndpoint.Port}",
    ]);
    let stats = http_get(&format!("127.0.0.1:{port}"), "/stats/summary");
    let v: serde_json::Value = serde_json::from_str(stats.split("\r\n\r\n").nth(1).unwrap_or(""))
        .unwrap_or_else(|e| panic!("stats JSON: {e}: {stats}"));
    let pod = v["pods"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["podRef"]["name"] == "web"))
        .unwrap_or_else(|| panic!("web in {v}"));
    let app = &pod["containers"][0];
    assert_eq!(app["name"], "app");
    assert!(
        app["memory"]["workingSetBytes"].as_u64().unwrap_or(0) > 0,
        "{app}"
    );
    assert!(
        app["cpu"]["usageCoreNanoSeconds"].as_u64().unwrap_or(0) > 0,
        "{app}"
    );
    // A configMap update reaches the mounted file.
    c.apply("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\ndata: {greeting: hello, file.txt: updated}\n");
    c.wait_for(
        &["exec", "web", "--", "cat", "/etc/cfg/file.txt"],
        |s| s == "updated",
        40,
    );
    // A new image on the running pod restarts that container, as Kubernetes does.
    if let Some(testapp) = c.testapp.clone() {
        c.kubectl(&["set", "image", "pod/web", &format!("app={testapp}")]);
        c.wait_pod(
            "web",
            "{.status.containerStatuses[0].restartCount}",
            |s| s == "1",
            60,
        );
        c.wait_pod(
            "web",
            "{.status.containerStatuses[0].imageID}",
            |s| s.contains("testapp"),
            30,
        );
    }
    // Deleting finishes once the containers are gone, and leaves nothing behind.
    c.kubectl(&["delete", "pod", "web", "--grace-period=1"]);
    assert!(!c.root().join("pods").join(&uid).exists());
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    assert!(!mounts.contains(&uid), "mounts of the pod remain");
    assert!(
        !Path::new(&format!(
            "/sys/fs/cgroup/memory/capstan/{}/pod{uid}",
            c.node
        ))
        .exists()
    );
}

#[test]
fn crashes_restart_with_backoff_and_oom_is_reported() {
    if !root_or_skip() {
        return;
    }
    let c = Cluster::start("kt-crash");
    c.apply(&c.pod(
        "crash",
        &format!("  containers:\n  - name: c\n    image: {}\n    command: [sh, -c, 'echo attempt; exit 2']\n", c.busybox),
    ));
    c.wait_pod(
        "crash",
        "{.status.containerStatuses[0].restartCount}",
        |s| s.parse::<u32>().unwrap_or(0) >= 2,
        60,
    );
    c.wait_pod(
        "crash",
        "{.status.containerStatuses[0].state.waiting.reason}",
        |s| s == "CrashLoopBackOff",
        30,
    );
    assert_eq!(
        c.jsonpath(
            "crash",
            "{.status.containerStatuses[0].lastState.terminated.exitCode}"
        ),
        "2"
    );
    let prev = c.kubectl(&["logs", "crash", "--previous"]);
    assert_eq!(prev.trim(), "attempt");
    c.apply(&c.pod(
        "oom",
        &format!("  restartPolicy: Never\n  containers:\n  - name: c\n    image: {}\n    command: [tail, /dev/zero]\n    resources: {{limits: {{memory: 16Mi}}}}\n", c.busybox),
    ));
    c.wait_pod("oom", "{.status.phase}", |s| s == "Failed", 60);
    assert_eq!(
        c.jsonpath(
            "oom",
            "{.status.containerStatuses[0].state.terminated.reason}"
        ),
        "OOMKilled"
    );
    assert_eq!(
        c.jsonpath(
            "oom",
            "{.status.containerStatuses[0].state.terminated.exitCode}"
        ),
        "137"
    );
    c.apply(&c.pod(
        "done",
        &format!("  restartPolicy: OnFailure\n  containers:\n  - name: c\n    image: {}\n    command: [sh, -c, 'exit 0']\n", c.busybox),
    ));
    c.wait_pod("done", "{.status.phase}", |s| s == "Succeeded", 60);
    // Bad input: a missing image and a missing key end in the right reasons.
    c.apply(&c.pod(
        "noimage",
        &format!(
            "  containers:\n  - name: c\n    image: {}/nope:1\n",
            c.registry.host()
        ),
    ));
    let reason = c.wait_pod(
        "noimage",
        "{.status.containerStatuses[0].state.waiting.reason}",
        |s| s == "ErrImagePull" || s == "ImagePullBackOff",
        60,
    );
    assert!(!reason.is_empty());
    c.wait_for(
        &[
            "get",
            "events",
            "--field-selector",
            "involvedObject.name=noimage",
            "-o",
            "jsonpath={.items[*].message}",
        ],
        |s| s.contains("nope"),
        30,
    );
    c.apply(&c.pod(
        "nokey",
        &format!("  containers:\n  - name: c\n    image: {}\n    command: [sleep, '100']\n    env: [{{name: X, valueFrom: {{configMapKeyRef: {{name: missing, key: k}}}}}}]\n", c.busybox),
    ));
    c.wait_pod(
        "nokey",
        "{.status.containerStatuses[0].state.waiting.reason}",
        |s| s == "CreateContainerConfigError",
        60,
    );
    assert!(
        c.jsonpath(
            "nokey",
            "{.status.containerStatuses[0].state.waiting.message}"
        )
        .contains("configmap \"missing\" not found")
    );
    // A command that does not exist: StartError (exit 128) and, with Never, a Failed pod.
    c.apply(&c.pod(
        "badcmd",
        &format!("  restartPolicy: Never\n  containers:\n  - name: c\n    image: {}\n    command: [/no/such/binary]\n", c.busybox),
    ));
    c.wait_pod("badcmd", "{.status.phase}", |s| s == "Failed", 60);
    assert_eq!(
        c.jsonpath(
            "badcmd",
            "{.status.containerStatuses[0].state.terminated.reason}"
        ),
        "StartError"
    );
    assert_eq!(
        c.jsonpath(
            "badcmd",
            "{.status.containerStatuses[0].state.terminated.exitCode}"
        ),
        "128"
    );
    // An invalid volume: the pod waits in ContainerCreating with a FailedMount event.
    c.apply(&c.pod(
        "badvol",
        &format!("  containers:\n  - name: c\n    image: {}\n    command: [sleep, '100']\n    volumeMounts: [{{name: v, mountPath: /v}}]\n  volumes:\n  - name: v\n    hostPath: {{path: /no/such/dir, type: Directory}}\n", c.busybox),
    ));
    c.wait_for(
        &[
            "get",
            "events",
            "--field-selector",
            "involvedObject.name=badvol",
            "-o",
            "jsonpath={.items[*].reason}",
        ],
        |s| s.contains("FailedMount"),
        30,
    );
    assert_eq!(c.jsonpath("badvol", "{.status.phase}"), "Pending");
    // A pull that never ends (a "registry" that accepts and says nothing) does not hold up
    // the pod's deletion.
    let stall = std::net::TcpListener::bind("127.0.0.1:0").expect("listener");
    let stall_port = stall.local_addr().expect("addr").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in stall.incoming().take(64) {
            held.push(conn);
        }
    });
    c.apply(&c.pod(
        "stalled",
        &format!("  containers:\n  - name: c\n    image: 127.0.0.1:{stall_port}/never:1\n"),
    ));
    c.wait_for(
        &[
            "get",
            "events",
            "--field-selector",
            "involvedObject.name=stalled",
            "-o",
            "jsonpath={.items[*].reason}",
        ],
        |s| s.contains("Pulling"),
        30,
    );
    let started = Instant::now();
    c.kubectl(&["delete", "pod", "stalled", "--timeout=20s"]);
    assert!(
        started.elapsed() < Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
    // The static Rust test program as an image: an HTTP server made Ready by an httpGet probe
    // against the pod's own network namespace, and a liveness failure restarting it.
    let testapp = c
        .testapp
        .clone()
        .expect("make images builds the static testapp");
    c.apply(&c.pod(
        "http",
        &format!("  containers:\n  - name: c\n    image: {testapp}\n    args: [serve, '8080', hello]\n    ports: [{{name: http, containerPort: 8080}}]\n    readinessProbe: {{httpGet: {{path: /healthz, port: http}}, periodSeconds: 1}}\n    livenessProbe: {{tcpSocket: {{port: 9999}}, periodSeconds: 1, failureThreshold: 2, initialDelaySeconds: 3}}\n"),
    ));
    c.wait_pod(
        "http",
        "{.status.conditions[?(@.type==\"Ready\")].status}",
        |s| s == "True",
        60,
    );
    c.wait_pod(
        "http",
        "{.status.containerStatuses[0].restartCount}",
        |s| s.parse::<u32>().unwrap_or(0) >= 1,
        60,
    );
}

#[test]
fn graceful_termination_and_kubelet_restart_keep_containers() {
    if !root_or_skip() {
        return;
    }
    let mut c = Cluster::start("kt-restart");
    c.apply(&c.pod(
        "keep",
        &format!("  terminationGracePeriodSeconds: 3\n  containers:\n  - name: c\n    image: {}\n    command: [sh, -c, 'trap \"\" TERM; while true; do sleep 1; done']\n", c.busybox),
    ));
    c.wait_pod("keep", "{.status.phase}", |s| s == "Running", 60);
    let uid = self::uid(&c, "keep");
    let pid = c.state(&uid)["containers"]["c"]["running"]["pid"]
        .as_i64()
        .expect("pid checkpointed");
    c.kill_kubelet();
    std::thread::sleep(Duration::from_millis(500));
    assert!(running(pid), "container survived kubelet kill -9");
    c.start_kubelet();
    std::thread::sleep(Duration::from_secs(3));
    let pid2 = c.state(&uid)["containers"]["c"]["running"]["pid"].as_i64();
    assert_eq!(pid2, Some(pid), "same container after restart");
    assert_eq!(
        c.jsonpath("keep", "{.status.containerStatuses[0].restartCount}"),
        "0"
    );
    let procs = std::fs::read_to_string(format!(
        "/sys/fs/cgroup/memory/capstan/{}/pod{uid}/c-0/cgroup.procs",
        c.node
    ))
    .unwrap_or_default();
    assert!(procs.lines().any(|l| l.trim() == pid.to_string()));
    // A container that ends while its kubelet is down keeps its exit code: its shim, not the
    // kubelet, is its parent and records it.
    c.apply(&c.pod(
        "later",
        &format!("  restartPolicy: Never\n  containers:\n  - name: c\n    image: {}\n    command: [sh, -c, 'sleep 3; exit 3']\n", c.busybox),
    ));
    c.wait_pod("later", "{.status.phase}", |s| s == "Running", 60);
    c.kill_kubelet();
    std::thread::sleep(Duration::from_secs(4));
    c.start_kubelet();
    c.wait_pod("later", "{.status.phase}", |s| s == "Failed", 60);
    assert_eq!(
        c.jsonpath(
            "later",
            "{.status.containerStatuses[0].state.terminated.exitCode}"
        ),
        "3",
        "{}",
        c.jsonpath("later", "{.status}")
    );
    // The container ignores SIGTERM: deletion waits out the 3 s grace, then SIGKILL.
    let started = Instant::now();
    c.kubectl(&["delete", "pod", "keep"]);
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(3) && took < Duration::from_secs(10),
        "{took:?}"
    );
    assert!(!running(pid));
    // kill -9 in the middle of starting a pod: after the restart it runs exactly once.
    c.apply(&c.pod(
        "midstart",
        &format!(
            "  containers:\n  - name: c\n    image: {}\n    command: [sleep, '1000']\n",
            c.busybox
        ),
    ));
    std::thread::sleep(Duration::from_millis(300));
    c.kill_kubelet();
    c.start_kubelet();
    c.wait_pod("midstart", "{.status.phase}", |s| s == "Running", 60);
    std::thread::sleep(Duration::from_secs(2));
    let uid_mid = self::uid(&c, "midstart");
    let pod_cg = format!("/sys/fs/cgroup/memory/capstan/{}/pod{uid_mid}", c.node);
    let sleepers: usize = std::fs::read_dir(&pod_cg)
        .map(|d| {
            d.flatten()
                .filter(|e| e.path().is_dir())
                .map(|e| {
                    std::fs::read_to_string(e.path().join("cgroup.procs"))
                        .unwrap_or_default()
                        .lines()
                        .count()
                })
                .sum()
        })
        .unwrap_or(0);
    assert_eq!(sleepers, 1, "exactly one container process for the pod");
    // A pod deleted while the kubelet is down is cleaned up when it returns.
    c.apply(&c.pod(
        "orphan",
        &format!(
            "  containers:\n  - name: c\n    image: {}\n    command: [sleep, '1000']\n",
            c.busybox
        ),
    ));
    c.wait_pod("orphan", "{.status.phase}", |s| s == "Running", 60);
    let uid = self::uid(&c, "orphan");
    let pid = c.state(&uid)["containers"]["c"]["running"]["pid"]
        .as_i64()
        .expect("pid");
    c.kill_kubelet();
    c.kubectl(&["delete", "pod", "orphan", "--grace-period=0", "--force"]);
    c.start_kubelet();
    let deadline = Instant::now() + Duration::from_secs(30);
    while running(pid) || c.root().join("pods").join(&uid).exists() {
        assert!(Instant::now() < deadline, "orphan not cleaned up");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn images_on_node(c: &Cluster) -> String {
    let out = Command::new(bin("capstan"))
        .args(["image", "list", "--root-dir"])
        .arg(c.root())
        .output()
        .expect("capstan image list");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn image_gc_removes_unused_images_and_keeps_used_ones() {
    if !root_or_skip() {
        return;
    }
    // Thresholds of 1 % and 0 % make any real disk "full": every unused image must go, at
    // once (no minimum age).
    let c = Cluster::start_with(
        "kt-gc",
        &[
            "--image-gc-high-threshold",
            "1",
            "--image-gc-low-threshold",
            "0",
            "--image-gc-period",
            "1",
            "--minimum-image-ttl-duration",
            "0s",
        ],
    );
    let testapp = c
        .testapp
        .clone()
        .expect("make images builds the static testapp");
    c.apply(&c.pod(
        "used",
        &format!(
            "  containers:\n  - name: c\n    image: {}\n    command: [sleep, '1000']\n",
            c.busybox
        ),
    ));
    c.apply(&c.pod(
        "once",
        &format!("  restartPolicy: Never\n  containers:\n  - name: c\n    image: {testapp}\n    args: [exit, '0']\n"),
    ));
    c.wait_pod("once", "{.status.phase}", |s| s == "Succeeded", 60);
    c.wait_pod("used", "{.status.phase}", |s| s == "Running", 60);
    assert!(
        images_on_node(&c).contains("testapp"),
        "{}",
        images_on_node(&c)
    );
    let layers_before = std::fs::read_dir(c.root().join("images/layers"))
        .map(|d| d.count())
        .unwrap_or(0);
    c.kubectl(&["delete", "pod", "once"]);
    let deadline = Instant::now() + Duration::from_secs(30);
    while images_on_node(&c).contains("testapp") {
        assert!(Instant::now() < deadline, "unused image not collected");
        std::thread::sleep(Duration::from_millis(300));
    }
    let list = images_on_node(&c);
    assert!(
        list.contains("busybox"),
        "the image in use was removed: {list}"
    );
    let layers_after = std::fs::read_dir(c.root().join("images/layers"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert!(
        layers_after < layers_before,
        "no layer freed: {layers_before} -> {layers_after}"
    );
    assert_eq!(c.jsonpath("used", "{.status.phase}"), "Running");
}
