//! What Capstan's end-to-end tests and benchmarks share: where the built binaries are, child
//! processes that are killed when dropped (and whose output lines are read with a timeout),
//! free ports, and process memory.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

/// Directory of the built binaries: `CAPSTAN_BIN_DIR`, else `$CARGO_TARGET_DIR/debug`, else
/// the workspace's `target/debug`.
pub fn bin_dir() -> PathBuf {
    if let Some(d) = std::env::var_os("CAPSTAN_BIN_DIR") {
        return PathBuf::from(d);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("debug")
}

pub fn bin(name: &str) -> PathBuf {
    bin_dir().join(name)
}

/// A binary beside the running benchmark (`target/release/deps/x` → `target/release/name`).
pub fn release_bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap_or_default();
    let dir = exe
        .parent()
        .and_then(|d| d.parent())
        .map(PathBuf::from)
        .unwrap_or_default();
    dir.join(name)
}

/// The repository root (for `examples/`).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A child process, SIGKILLed when dropped.
pub struct Proc(pub Child);

impl Proc {
    /// Starts `path` with `args` and extra environment, output discarded.
    pub fn spawn(path: PathBuf, args: &[String], env: &[(&str, &str)]) -> Proc {
        assert!(
            path.exists(),
            "build the binaries first (make test / make bench do): {}",
            path.display()
        );
        let mut cmd = Command::new(&path);
        cmd.args(args)
            .env("RUST_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // For chasing a failure: CAPSTAN_TEST_LOG_DIR keeps every child's log in a file there
        // (CAPSTAN_TEST_RUST_LOG sets its filter).
        if let Some(dir) = std::env::var_os("CAPSTAN_TEST_LOG_DIR") {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("child");
            let file = std::path::Path::new(&dir).join(format!(
                "{name}-{}.log",
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_millis())
                    .unwrap_or_default()
            ));
            if let Ok(f) = std::fs::File::create(file) {
                cmd.stderr(f);
            }
            if let Some(filter) = std::env::var_os("CAPSTAN_TEST_RUST_LOG") {
                cmd.env("RUST_LOG", filter);
            }
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        Proc(
            cmd.spawn()
                .unwrap_or_else(|e| panic!("cannot start {args:?}: {e}")),
        )
    }

    pub fn id(&self) -> u32 {
        self.0.id()
    }

    /// kill -9, and reap it.
    pub fn kill9(mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A child process whose stdout is read line by line on a thread, so that a test waits for
/// each line with a timeout instead of blocking on a pipe that may never deliver. The child
/// is SIGKILLed when this is dropped (also when the test panics).
pub struct LineReader {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl LineReader {
    /// Starts `cmd` with its stdout piped (stdin and stderr as `cmd` sets them).
    pub fn spawn(mut cmd: Command) -> LineReader {
        let mut child = cmd
            .stdout(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {cmd:?}: {e}"));
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, lines) = std::sync::mpsc::channel();
        // Reads until EOF (the child exits or is killed), so the child never blocks on, or
        // dies of, a full or closed pipe while the reader is alive.
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        LineReader { child, lines }
    }

    /// The next line of stdout without its newline; None when none came within `timeout` or
    /// stdout was closed.
    pub fn next_line(&self, timeout: Duration) -> Option<String> {
        self.lines.recv_timeout(timeout).ok()
    }

    /// The next line of stdout, waited for at most `timeout`; panics, naming `what`, when
    /// none comes or stdout was closed.
    pub fn line(&self, timeout: Duration, what: &str) -> String {
        match self.lines.recv_timeout(timeout) {
            Ok(line) => line,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                panic!("no line within {timeout:?} while waiting for {what}")
            }
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                panic!("stdout closed while waiting for {what}")
            }
        }
    }
}

impl LineReader {
    /// The child's stdin, when `cmd` piped it (once).
    pub fn take_stdin(&mut self) -> Option<std::process::ChildStdin> {
        self.child.stdin.take()
    }

    /// The child's exit code once it has exited, waited for at most `timeout`.
    pub fn exit_code(&mut self, timeout: Duration) -> Option<i32> {
        let deadline = std::time::Instant::now() + timeout;
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.code();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for LineReader {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// True when `program` is an executable file in a `PATH` directory.
pub fn on_path(program: &str) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::env::var_os("PATH").is_some_and(|path| {
        std::env::split_paths(&path).any(|d| {
            std::fs::metadata(d.join(program))
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
    })
}

/// A loopback port that was free a moment ago.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}

/// Waits until something listens on the loopback port (30 s at most).
pub async fn wait_port(port: u16) {
    for _ in 0..300 {
        if tokio::net::TcpStream::connect(("127.0.0.1", port))
            .await
            .is_ok()
        {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("nothing listened on port {port} within 30 s");
}

/// Resident memory of a process in MiB (0 when unknown).
pub fn rss_mib(pid: u32) -> f64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map(|kb| kb / 1024.0)
        .unwrap_or(0.0)
}

/// A network namespace made for one test (`ip netns add`), removed on drop. Kubelets given
/// its path with `--network-namespace` keep their pod bridges, service rules and DNS address
/// inside it, so tests never touch the host's network.
pub struct TestNetns {
    pub name: String,
}

impl TestNetns {
    pub fn new() -> TestNetns {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let name = format!(
            "capstan-e2e-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        );
        let ok = std::process::Command::new("ip")
            .args(["netns", "add", &name])
            .status()
            .is_ok_and(|s| s.success());
        assert!(ok, "ip netns add {name} failed (needs root and iproute2)");
        let ns = TestNetns { name };
        ns.exec(&["ip", "link", "set", "lo", "up"]);
        ns
    }

    pub fn path(&self) -> PathBuf {
        PathBuf::from("/var/run/netns").join(&self.name)
    }

    /// Runs a command inside the namespace and returns its output.
    pub fn exec(&self, argv: &[&str]) -> std::process::Output {
        std::process::Command::new("ip")
            .args(["netns", "exec", &self.name])
            .args(argv)
            .output()
            .unwrap_or_else(|e| panic!("ip netns exec {}: {e}", self.name))
    }
}

impl Default for TestNetns {
    fn default() -> Self {
        TestNetns::new()
    }
}

impl Drop for TestNetns {
    fn drop(&mut self) {
        let _ = std::process::Command::new("ip")
            .args(["netns", "del", &self.name])
            .status();
    }
}

/// A `capstan up` child process: SIGTERM on drop (a clean shutdown), then SIGKILL if it
/// lingers.
pub struct UpProcess(Child, std::path::PathBuf);

impl UpProcess {
    /// Starts `capstan up` on `dir` with `nodes` kubelets whose networking lives in
    /// `netns`, and waits until the API server answers and the kubeconfig exists.
    pub fn start(dir: &std::path::Path, port: u16, nodes: u32, netns: &TestNetns) -> UpProcess {
        let capstan = bin("capstan");
        assert!(
            capstan.exists(),
            "build the binaries first (make test does): {}",
            capstan.display()
        );
        let child = Command::new(capstan)
            .args(["up", "--data-dir"])
            .arg(dir)
            .args(["--port", &port.to_string(), "--nodes", &nodes.to_string()])
            .arg("--network-namespace")
            .arg(netns.path())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("capstan up starts");
        let up = UpProcess(child, dir.to_path_buf());
        wait_control_plane(dir, port);
        up
    }
}

impl Drop for UpProcess {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.0.id().to_string()).status();
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(_)) = self.0.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
        // A test that failed half way never deleted its pods.
        if std::thread::panicking() {
            reap_containers(&self.1);
        }
    }
}

/// Kills what a stopped `capstan up` on `dir` left running — `capstan up` leaves containers
/// running by design, like a kubelet restart — and unmounts what is left under `dir`. Only
/// this cluster's pods are touched (found by the pod uids under `dir/nodes/*/pods`), so tests
/// running beside it with the same node names keep theirs.
pub fn reap_containers(dir: &std::path::Path) {
    let uids: Vec<String> = std::fs::read_dir(dir.join("nodes"))
        .into_iter()
        .flatten()
        .flatten()
        .flat_map(|node| {
            std::fs::read_dir(node.path().join("pods"))
                .into_iter()
                .flatten()
        })
        .flatten()
        .map(|pod| pod.file_name().to_string_lossy().into_owned())
        .collect();
    let mut pids = Vec::new();
    for hierarchy in std::fs::read_dir("/sys/fs/cgroup")
        .into_iter()
        .flatten()
        .flatten()
    {
        for node in std::fs::read_dir(hierarchy.path().join("capstan"))
            .into_iter()
            .flatten()
            .flatten()
        {
            for uid in &uids {
                collect_cgroup_pids(&node.path().join(format!("pod{uid}")), &mut pids);
            }
        }
    }
    // Shims carry the node's root directory on their command line.
    let needle = dir.display().to_string();
    for entry in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if cmdline.contains("__capstan-shim") && cmdline.contains(&needle) {
            pids.push(pid);
        }
    }
    pids.sort_unstable();
    pids.dedup();
    for pid in pids {
        let _ = Command::new("kill").args(["-9", &pid.to_string()]).status();
    }
    std::thread::sleep(Duration::from_millis(200));
    let mounts = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut points: Vec<&str> = mounts
        .lines()
        .filter_map(|l| l.split(' ').nth(4))
        .filter(|p| p.starts_with(needle.as_str()))
        .collect();
    points.sort_unstable_by(|a, b| b.cmp(a));
    for p in points {
        let _ = Command::new("umount").args(["-l", p]).status();
    }
}

fn collect_cgroup_pids(cgroup: &std::path::Path, pids: &mut Vec<u32>) {
    let procs = std::fs::read_to_string(cgroup.join("cgroup.procs")).unwrap_or_default();
    pids.extend(procs.lines().filter_map(|l| l.trim().parse::<u32>().ok()));
    for child in std::fs::read_dir(cgroup).into_iter().flatten().flatten() {
        if child.file_type().is_ok_and(|t| t.is_dir()) {
            collect_cgroup_pids(&child.path(), pids);
        }
    }
}

/// The real kubectl against the cluster whose kubeconfig is in `dir`; panics on failure.
pub fn kubectl(dir: &std::path::Path, args: &[&str]) -> String {
    let out = kubectl_output(dir, args);
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

pub fn kubectl_output(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new("kubectl")
        .args(args)
        .env("KUBECONFIG", dir.join("kubeconfig"))
        .env("HOME", dir.join("home"))
        .output()
        .expect("kubectl runs")
}

/// True when running as root; under `CI=true` not being root is a failure, not a skip.
pub fn root_or_skip(what: &str) -> bool {
    let root = std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .any(|l| l.starts_with("Uid:") && l.split_whitespace().nth(1) == Some("0"));
    if !root {
        assert_ne!(
            std::env::var("CI").as_deref(),
            Ok("true"),
            "{what} needs root under CI"
        );
        eprintln!("skipping: {what} needs root");
    }
    root
}

/// Polls `f` every 200 ms until it returns Some, for at most `secs`.
pub fn eventually<T>(secs: u64, what: &str, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = std::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `capstan up --nodes N` in a fresh network namespace. Dropping it (also when a test
/// fails half way) deletes every pod first — `capstan up` leaves containers running by
/// design — then stops the cluster, removes its directory and the namespace.
pub struct Cluster {
    up: std::cell::RefCell<Option<UpProcess>>,
    nodes: usize,
    tmp: tempfile::TempDir,
    pub netns: TestNetns,
}

impl Cluster {
    /// Starts it and waits until every node is Ready.
    pub fn start(nodes: usize) -> Cluster {
        let netns = TestNetns::new();
        let tmp = tempfile::tempdir().expect("temp dir");
        let c = Cluster {
            up: std::cell::RefCell::new(None),
            nodes,
            tmp,
            netns,
        };
        c.restart();
        c
    }

    pub fn dir(&self) -> &std::path::Path {
        self.tmp.path()
    }

    /// Stops `capstan up` (SIGTERM) and starts it again on the same directory.
    pub fn restart(&self) {
        self.up.replace(None);
        self.up.replace(Some(UpProcess::start(
            self.tmp.path(),
            free_port(),
            self.nodes as u32,
            &self.netns,
        )));
        eventually(60, "every node Ready", || {
            let out = kubectl_output(
                self.tmp.path(),
                &[
                    "get",
                    "nodes",
                    "-o",
                    "jsonpath={.items[*].status.conditions[?(@.type==\"Ready\")].status}",
                ],
            );
            let ready = String::from_utf8_lossy(&out.stdout)
                .split_whitespace()
                .filter(|r| *r == "True")
                .count();
            (ready == self.nodes).then_some(())
        });
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if self.up.borrow().is_some() {
            let _ = kubectl_output(
                self.tmp.path(),
                &[
                    "delete",
                    "pods",
                    "--all",
                    "-A",
                    // Not --force: the kubelet must tear each pod down (containers, mounts,
                    // network) before the object goes, or stopping the cluster right after
                    // would leave them behind.
                    "--grace-period=1",
                    "--wait=true",
                    "--timeout=90s",
                ],
            );
        }
        self.up.replace(None);
        reap_containers(self.tmp.path());
    }
}

/// The stdout of a command that must have succeeded; panics with both streams otherwise.
pub fn stdout_ok(out: std::process::Output, what: &str) -> String {
    assert!(
        out.status.success(),
        "{what}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).to_string()
}

/// `capstan up --nodes 0` on `data_dir` (API server, scheduler, controllers; no kubelet),
/// not yet waited for: see `wait_control_plane`.
pub fn spawn_control_plane(data_dir: &std::path::Path) -> (Proc, u16) {
    let port = free_port();
    let up = Proc::spawn(
        bin("capstan"),
        &[
            "up".into(),
            "--nodes".into(),
            "0".into(),
            "--data-dir".into(),
            data_dir.display().to_string(),
            "--port".into(),
            port.to_string(),
        ],
        &[],
    );
    (up, port)
}

/// Waits (60 s at most) until the control plane on `port` answers and its kubeconfig exists.
pub fn wait_control_plane(data_dir: &std::path::Path, port: u16) {
    let kubeconfig = data_dir.join("kubeconfig");
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while !(kubeconfig.exists() && std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()) {
        assert!(
            std::time::Instant::now() < deadline,
            "capstan up did not come up"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// The release `capstan-apiserver` on the embedded store in `data_dir`, on a free loopback
/// port, once it accepts connections (benchmarks).
pub async fn start_release_apiserver(data_dir: &std::path::Path) -> (Proc, std::net::SocketAddr) {
    let port = free_port();
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let api = Proc::spawn(
        release_bin("capstan-apiserver"),
        &[
            "--data-dir".into(),
            data_dir.display().to_string(),
            "--port".into(),
            port.to_string(),
        ],
        &[],
    );
    let start = std::time::Instant::now();
    while tokio::net::TcpStream::connect(addr).await.is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "capstan-apiserver did not start"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    (api, addr)
}
