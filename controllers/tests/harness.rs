//! Test support: an API server on a random port, the controllers, the scheduler and hollow
//! nodes (the `capstan-hollow` simulated kubelets, which run bound pods and finish their
//! deletion), kubectl with a private kubeconfig and HOME, and bounded waits.

use std::future::Future;
use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use capstan_apiserver::{Config, RunningServer};
use capstan_hollow::{HollowConfig, HollowHandle};
use k8s_openapi::api::core::v1::Pod;
use kube::Client;
use kube::api::{Api, ListParams};
use tempfile::TempDir;
use tokio::sync::watch;
use tokio::task::JoinHandle;

/// Annotation that keeps a pod running but not Ready on a hollow node (see hollow/README.md).
pub const READY_ANNOTATION: &str = capstan_hollow::READY_ANNOTATION;

/// How long `stop` waits for each component before failing the test.
const STOP_TIMEOUT: Duration = Duration::from_secs(20);

/// The hollow nodes a cluster gets unless the test asks for others: three, one per zone, with
/// room for every test's pods (they request nothing, so `max_pods` is what limits them).
pub fn hollow_nodes() -> HollowConfig {
    HollowConfig {
        count: 3,
        prefix: "hollow-".into(),
        zones: 3,
        cpu: "8".into(),
        memory: "32Gi".into(),
        max_pods: 110,
        ..HollowConfig::default()
    }
}

pub struct Cluster {
    pub server: Option<RunningServer>,
    pub dir: TempDir,
    pub client: Client,
    /// Tells the controllers and the scheduler to stop.
    stop: watch::Sender<bool>,
    controllers: Option<JoinHandle<Result<(), capstan_controllers::Error>>>,
    scheduler: Option<JoinHandle<Result<(), capstan_scheduler::SchedulerError>>>,
    hollow: Option<HollowHandle>,
    node_names: Vec<String>,
}

impl Cluster {
    pub async fn start() -> Self {
        Self::start_with(capstan_controllers::Config::default()).await
    }

    pub async fn start_with(config: capstan_controllers::Config) -> Self {
        Self::start_with_nodes(config, hollow_nodes()).await
    }

    /// API server, hollow nodes (registered before anything is scheduled), scheduler and
    /// controllers.
    pub async fn start_with_nodes(
        config: capstan_controllers::Config,
        nodes: HollowConfig,
    ) -> Self {
        init_tracing();
        let dir = tempfile::tempdir().expect("temp dir");
        let server = capstan_apiserver::start(Config {
            data_dir: dir.path().join("store"),
            port: 0,
            // The API server's default tolerations match what the controller is told to assume.
            default_toleration_seconds: config.node_lifecycle.default_toleration_seconds,
            ..Config::default()
        })
        .await
        .expect("server starts");
        let url = server.url();
        write_kubeconfig(&dir, &url);
        let client =
            Client::try_from(kube::Config::new(url.parse().expect("url"))).expect("client");
        let hollow = capstan_hollow::start(client.clone(), nodes)
            .await
            .expect("hollow nodes start");
        let (stop, _) = watch::channel(false);
        let scheduler = tokio::spawn(capstan_scheduler::run(
            client.clone(),
            capstan_scheduler::Config::default(),
            stopped(&stop),
        ));
        let controllers = tokio::spawn(capstan_controllers::run(
            client.clone(),
            config,
            stopped(&stop),
        ));
        Cluster {
            server: Some(server),
            dir,
            client,
            node_names: hollow.node_names(),
            stop,
            controllers: Some(controllers),
            scheduler: Some(scheduler),
            hollow: Some(hollow),
        }
    }

    /// Stops everything, failing the test unless each part stops cleanly and in time.
    pub async fn stop(mut self) {
        self.stop.send_replace(true);
        if let Some(c) = self.controllers.take() {
            let r = tokio::time::timeout(STOP_TIMEOUT, c).await;
            assert!(
                matches!(r, Ok(Ok(Ok(())))),
                "controllers stop cleanly: {r:?}"
            );
        }
        if let Some(s) = self.scheduler.take() {
            let r = tokio::time::timeout(STOP_TIMEOUT, s).await;
            assert!(
                matches!(r, Ok(Ok(Ok(())))),
                "scheduler stops cleanly: {r:?}"
            );
        }
        if let Some(h) = self.hollow.take() {
            let r = tokio::time::timeout(STOP_TIMEOUT, h.stop()).await;
            assert!(matches!(r, Ok(Ok(()))), "hollow nodes stop cleanly: {r:?}");
        }
        if let Some(s) = self.server.take() {
            s.stop().await.expect("server stops");
        }
    }

    /// The hollow nodes, to pause ("kill") and resume their kubelets.
    pub fn hollow(&self) -> &HollowHandle {
        self.hollow.as_ref().expect("hollow nodes run until stop")
    }

    /// Name of hollow node `i`.
    pub fn node(&self, i: usize) -> &str {
        &self.node_names[i]
    }

    pub fn node_names(&self) -> &[String] {
        &self.node_names
    }

    /// Another controller manager against the same API server.
    pub fn spawn_controllers(
        &self,
        config: capstan_controllers::Config,
    ) -> (
        tokio::sync::oneshot::Sender<()>,
        JoinHandle<Result<(), capstan_controllers::Error>>,
    ) {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let task = tokio::spawn(capstan_controllers::run(
            self.client.clone(),
            config,
            async move {
                let _ = rx.await;
            },
        ));
        (tx, task)
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }

    pub async fn kubectl(&self, args: &[&str]) -> Output {
        self.kubectl_stdin(args, None).await
    }

    pub async fn kubectl_stdin(&self, args: &[&str], stdin: Option<&str>) -> Output {
        use tokio::io::AsyncWriteExt;
        let mut cmd = tokio::process::Command::new("kubectl");
        cmd.args(args)
            .env("KUBECONFIG", self.kubeconfig())
            .env("HOME", self.dir.path().join("home"))
            .env("KUBECACHEDIR", self.dir.path().join("home/cache"))
            .stdin(if stdin.is_some() {
                std::process::Stdio::piped()
            } else {
                std::process::Stdio::null()
            })
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .kill_on_drop(true);
        let mut child = cmd.spawn().expect("kubectl runs");
        if let Some(input) = stdin {
            let mut si = child.stdin.take().expect("stdin");
            si.write_all(input.as_bytes()).await.expect("write stdin");
            drop(si);
        }
        tokio::time::timeout(Duration::from_secs(120), child.wait_with_output())
            .await
            .expect("kubectl finished in time")
            .expect("kubectl output")
    }

    /// Runs kubectl and fails the test unless it exits 0; returns stdout.
    pub async fn kubectl_ok(&self, args: &[&str]) -> String {
        let out = self.kubectl(args).await;
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "kubectl {args:?} failed: {}\nstdout: {stdout}\nstderr: {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    pub async fn apply(&self, manifest: &str) -> String {
        let out = self
            .kubectl_stdin(&["apply", "-f", "-"], Some(manifest))
            .await;
        let stdout = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(
            out.status.success(),
            "kubectl apply failed: {stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    /// Active (not terminating) pods in `default` with label `app=<app>`.
    pub async fn active_pods(&self, app: &str) -> Vec<Pod> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), "default");
        api.list(&ListParams::default().labels(&format!("app={app}")))
            .await
            .map(|l| l.items)
            .unwrap_or_default()
            .into_iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none())
            .collect()
    }
}

/// A test that panics never reaches `stop`: signal everything to stop anyway, so no
/// component keeps working against a server that is going away with the test's runtime.
impl Drop for Cluster {
    fn drop(&mut self) {
        self.stop.send_replace(true);
        if let Some(t) = self.controllers.take() {
            t.abort();
        }
        if let Some(t) = self.scheduler.take() {
            t.abort();
        }
        // Dropping the handle stops the hollow nodes.
        self.hollow.take();
    }
}

/// Completes once `stop` says so (or its sender is gone).
fn stopped(stop: &watch::Sender<bool>) -> impl Future<Output = ()> + use<> {
    let mut rx = stop.subscribe();
    async move {
        let _ = rx.wait_for(|s| *s).await;
    }
}

fn init_tracing() {
    let _ = tracing_subscriber::fmt()
        .with_test_writer()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("TEST_LOG")
                .unwrap_or_else(|_| "warn,capstan_controllers=info".into()),
        )
        .try_init();
}

fn write_kubeconfig(dir: &TempDir, url: &str) {
    let kubeconfig = format!(
        "apiVersion: v1\nkind: Config\nclusters:\n- name: t\n  cluster:\n    server: {url}\nusers:\n- name: t\n  user: {{}}\ncontexts:\n- name: t\n  context:\n    cluster: t\n    user: t\n    namespace: default\ncurrent-context: t\n"
    );
    std::fs::write(dir.path().join("kubeconfig"), kubeconfig).expect("kubeconfig");
    std::fs::create_dir_all(dir.path().join("home")).expect("home");
}

/// Polls `check` until it returns Some, or panics with `what` after `timeout`.
pub async fn eventually<T, F, Fut>(timeout: Duration, what: &str, mut check: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = tokio::time::Instant::now() + timeout;
    loop {
        if let Some(t) = check().await {
            return t;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub const WAIT: Duration = Duration::from_secs(60);

pub fn deployment_manifest(name: &str, replicas: i32, image: &str, extra_spec: &str) -> String {
    format!(
        r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {name}
spec:
  replicas: {replicas}
  selector:
    matchLabels:
      app: {name}
{extra_spec}  template:
    metadata:
      labels:
        app: {name}
    spec:
      containers:
      - name: main
        image: {image}
"#
    )
}
