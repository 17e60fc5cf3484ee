//! Test support shared with other crates' test suites: a throwaway single-member etcd server
//! on free loopback ports, with its data in a temporary directory, killed when dropped.

use std::fs::File;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use etcd_client::{Client, ConnectOptions};
use tempfile::TempDir;
use tracing::{debug, warn};

/// Where Debian's `etcd-server` package installs etcd; `CAPSTAN_ETCD_BIN` overrides it.
pub const DEFAULT_ETCD_BINARY: &str = "/usr/bin/etcd";

const READY_TIMEOUT: Duration = Duration::from_secs(30);
const START_ATTEMPTS: usize = 3;

#[derive(Debug, thiserror::Error)]
pub enum EtcdServerError {
    #[error("etcd binary not found at {0}")]
    NotInstalled(PathBuf),
    #[error("etcd binary missing at {0} and CI=true: etcd tests must not be skipped in CI")]
    RequiredInCi(PathBuf),
    #[error("cannot start etcd: {0}")]
    Io(#[from] std::io::Error),
    #[error("etcd did not become ready: {reason}; log follows:\n{log}")]
    NotReady { reason: String, log: String },
}

/// A running etcd, stopped (SIGKILL) and deleted on drop.
pub struct EtcdServer {
    child: Child,
    endpoint: String,
    // Dropped after the process is killed (fields drop after `Drop::drop`).
    _dir: TempDir,
}

impl EtcdServer {
    /// The etcd binary these helpers run.
    pub fn binary() -> PathBuf {
        std::env::var_os("CAPSTAN_ETCD_BIN")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from(DEFAULT_ETCD_BINARY))
    }

    /// Starts etcd and waits until it serves requests.
    pub async fn start() -> Result<Self, EtcdServerError> {
        let binary = Self::binary();
        if !binary.exists() {
            return Err(EtcdServerError::NotInstalled(binary));
        }
        let mut last_error = None;
        // Ports are picked by binding port 0 and releasing it, so another process can grab
        // one in between; a fresh pair usually fixes that.
        for attempt in 1..=START_ATTEMPTS {
            match Self::start_once(&binary).await {
                Ok(server) => return Ok(server),
                Err(e) => {
                    warn!(attempt, error = %e, "etcd failed to start");
                    last_error = Some(e);
                }
            }
        }
        Err(last_error.unwrap_or_else(|| EtcdServerError::NotReady {
            reason: "no start attempt made".into(),
            log: String::new(),
        }))
    }

    /// Like [`EtcdServer::start`], but when etcd is not installed returns `Ok(None)` after
    /// printing why (so the calling test can return early), except when `CI=true`, where a
    /// missing etcd is an error.
    pub async fn start_or_skip() -> Result<Option<Self>, EtcdServerError> {
        match Self::start().await {
            Ok(server) => Ok(Some(server)),
            Err(EtcdServerError::NotInstalled(path)) => {
                if std::env::var("CI").is_ok_and(|v| v == "true") {
                    return Err(EtcdServerError::RequiredInCi(path));
                }
                println!("skipping: etcd not installed at {}", path.display());
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Client URL, e.g. `http://127.0.0.1:40123`.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// The endpoint as the list `EtcdStore::connect` takes.
    pub fn endpoints(&self) -> Vec<String> {
        vec![self.endpoint.clone()]
    }

    async fn start_once(binary: &Path) -> Result<Self, EtcdServerError> {
        let dir = tempfile::Builder::new().prefix("capstan-etcd-").tempdir()?;
        let (client_port, peer_port) = free_port_pair()?;
        let endpoint = format!("http://127.0.0.1:{client_port}");
        let peer = format!("http://127.0.0.1:{peer_port}");
        let log_path = dir.path().join("etcd.log");
        let log = File::create(&log_path)?;
        let child = Command::new(binary)
            .arg("--name")
            .arg("default")
            .arg("--data-dir")
            .arg(dir.path().join("data"))
            .arg("--listen-client-urls")
            .arg(&endpoint)
            .arg("--advertise-client-urls")
            .arg(&endpoint)
            .arg("--listen-peer-urls")
            .arg(&peer)
            .arg("--initial-advertise-peer-urls")
            .arg(&peer)
            .arg("--initial-cluster")
            .arg(format!("default={peer}"))
            // A lone member elects itself after one election timeout; keep it short.
            .args(["--heartbeat-interval", "50", "--election-timeout", "250"])
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        debug!(%endpoint, pid = child.id(), "started etcd");
        let mut server = EtcdServer {
            child,
            endpoint,
            _dir: dir,
        };
        if let Err(reason) = server.wait_ready().await {
            let log = std::fs::read_to_string(&log_path).unwrap_or_default();
            return Err(EtcdServerError::NotReady { reason, log });
        }
        Ok(server)
    }

    async fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let options = ConnectOptions::new()
            .with_connect_timeout(Duration::from_secs(1))
            .with_timeout(Duration::from_secs(2));
        let mut last = String::from("not contacted yet");
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(format!("etcd exited with {status}"));
            }
            match Client::connect([self.endpoint.as_str()], Some(options.clone())).await {
                Ok(mut client) => match client.get("capstan-ready-probe", None).await {
                    Ok(_) => return Ok(()),
                    Err(e) => last = e.to_string(),
                },
                Err(e) => last = e.to_string(),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        Err(format!("no answer within {READY_TIMEOUT:?}: {last}"))
    }
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        // Errors mean the process is already gone, which is what we want.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port_pair() -> std::io::Result<(u16, u16)> {
    // Both listeners are held at once so the two ports differ.
    let a = TcpListener::bind("127.0.0.1:0")?;
    let b = TcpListener::bind("127.0.0.1:0")?;
    Ok((a.local_addr()?.port(), b.local_addr()?.port()))
}
