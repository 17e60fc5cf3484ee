//! Test support: an API server on a random port, the controllers, a simulated kubelet that
//! marks pods Running and Ready, kubectl with a private kubeconfig and HOME, and bounded waits.

use std::future::Future;
use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use capstan_apiserver::{Config, RunningServer};
use futures::StreamExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, ListParams, Patch, PatchParams};
use kube::runtime::{WatchStreamExt, watcher};
use kube::{Client, ResourceExt};
use serde_json::json;
use tempfile::TempDir;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// Pods carrying this label are never made ready by the simulated kubelet.
pub const NEVER_READY: &str = "test.capstan.dev/never-ready";

pub struct Cluster {
    pub server: Option<RunningServer>,
    pub dir: TempDir,
    pub client: Client,
    stop: Option<oneshot::Sender<()>>,
    controllers: Option<JoinHandle<Result<(), capstan_controllers::Error>>>,
    kubelet: JoinHandle<()>,
}

impl Cluster {
    pub async fn start() -> Self {
        Self::start_with(capstan_controllers::Config::default()).await
    }

    pub async fn start_with(config: capstan_controllers::Config) -> Self {
        let _ = tracing_subscriber::fmt()
            .with_test_writer()
            .with_env_filter(
                tracing_subscriber::EnvFilter::try_from_env("TEST_LOG")
                    .unwrap_or_else(|_| "warn,capstan_controllers=info".into()),
            )
            .try_init();
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
        let kubeconfig = format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: t\n  cluster:\n    server: {url}\nusers:\n- name: t\n  user: {{}}\ncontexts:\n- name: t\n  context:\n    cluster: t\n    user: t\n    namespace: default\ncurrent-context: t\n"
        );
        std::fs::write(dir.path().join("kubeconfig"), kubeconfig).expect("kubeconfig");
        std::fs::create_dir_all(dir.path().join("home")).expect("home");
        let client =
            Client::try_from(kube::Config::new(url.parse().expect("url"))).expect("client");
        let (tx, rx) = oneshot::channel();
        let controllers = tokio::spawn(capstan_controllers::run(
            client.clone(),
            config,
            async move {
                let _ = rx.await;
            },
        ));
        let kubelet = tokio::spawn(simulated_kubelet(client.clone()));
        Cluster {
            server: Some(server),
            dir,
            client,
            stop: Some(tx),
            controllers: Some(controllers),
            kubelet,
        }
    }

    pub async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(c) = self.controllers.take() {
            let r = tokio::time::timeout(Duration::from_secs(20), c).await;
            assert!(
                matches!(r, Ok(Ok(Ok(())))),
                "controllers stop cleanly: {r:?}"
            );
        }
        self.kubelet.abort();
        if let Some(s) = self.server.take() {
            s.stop().await.expect("server stops");
        }
    }

    /// Another controller manager against the same API server.
    pub fn spawn_controllers(
        &self,
        config: capstan_controllers::Config,
    ) -> (
        oneshot::Sender<()>,
        JoinHandle<Result<(), capstan_controllers::Error>>,
    ) {
        let (tx, rx) = oneshot::channel();
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

/// Stands in for kubelets: every new pod becomes Running and Ready shortly after it appears,
/// unless it carries the NEVER_READY label.
async fn simulated_kubelet(client: Client) {
    let api: Api<Pod> = Api::all(client.clone());
    let mut stream = watcher(api, watcher::Config::default())
        .default_backoff()
        .applied_objects()
        .boxed();
    while let Some(ev) = stream.next().await {
        let Ok(pod) = ev else { continue };
        if pod.metadata.deletion_timestamp.is_some() || pod.labels().contains_key(NEVER_READY) {
            continue;
        }
        let ready = pod
            .status
            .as_ref()
            .and_then(|s| s.conditions.as_ref())
            .is_some_and(|c| c.iter().any(|c| c.type_ == "Ready" && c.status == "True"));
        if ready {
            continue;
        }
        let client = client.clone();
        tokio::spawn(async move {
            // A little later than creation, so controllers see unready pods first.
            tokio::time::sleep(Duration::from_millis(150)).await;
            let api: Api<Pod> = Api::namespaced(client, &pod.namespace().unwrap_or_default());
            let now = k8s_openapi::jiff::Timestamp::from_second(
                k8s_openapi::jiff::Timestamp::now().as_second(),
            )
            .unwrap_or_default();
            let patch = json!({"status": {
                "phase": "Running",
                "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": now.to_string()}],
            }});
            let _ = api
                .patch_status(
                    &pod.name_any(),
                    &PatchParams::default(),
                    &Patch::Merge(&patch),
                )
                .await;
        });
    }
}

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
