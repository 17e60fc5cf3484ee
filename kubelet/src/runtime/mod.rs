//! The OCI runtime: youki's libcontainer without a containerd/CRI hop. Creating containers and
//! exec'ing into them happens in shim processes (see `crate::shim`); loading, signalling and
//! deleting them happens here, on blocking threads (libcontainer's types are not `Send`).
//! Container state lives under `state_root/<id>` so a restarted kubelet can load it again.

pub mod bundle;
pub mod cgroups;
pub mod exit;
pub mod netns;
pub mod rootfs;

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use libcontainer::container::{Container, ContainerStatus};
use nix::sys::signal::Signal;

use crate::error::{Error, Result};

#[derive(Debug, Clone)]
pub struct Runtime {
    state_root: PathBuf,
    exits: PathBuf,
    shim: PathBuf,
}

/// A process started by `exec`; `wait` resolves with its exit status.
pub struct ExecProcess {
    pub pid: i32,
    exit: tokio::task::JoinHandle<exit::ExitStatus>,
}

impl ExecProcess {
    pub async fn wait(self) -> exit::ExitStatus {
        self.exit.await.unwrap_or(exit::ExitStatus::Unknown)
    }
}

/// The standard streams of a new process.
pub struct Stdio {
    pub stdin: OwnedFd,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
}

/// What `exec` runs inside a running container.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct ExecRequest {
    pub args: Vec<String>,
    pub env: HashMap<String, String>,
    pub cwd: Option<PathBuf>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
    pub additional_gids: Vec<u32>,
}

fn rt_err(what: &str, id: &str, e: impl std::fmt::Display) -> Error {
    Error::Runtime(format!("{what} {id}: {e}"))
}

async fn blocking<T: Send + 'static>(f: impl FnOnce() -> Result<T> + Send + 'static) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Runtime(format!("runtime thread: {e}")))?
}

impl Runtime {
    /// `shim` is the executable run as container shim and exec helper (a binary whose `main`
    /// calls `capstan_kubelet::shim::maybe_run` first).
    pub fn new(state_root: &Path, shim: &Path) -> Result<Runtime> {
        let exits = state_root.with_extension("exits");
        for d in [state_root, exits.as_path()] {
            std::fs::create_dir_all(d).map_err(|e| Error::io(d, e))?;
        }
        Ok(Runtime {
            state_root: state_root.to_path_buf(),
            exits,
            shim: shim.to_path_buf(),
        })
    }

    /// Where the shim of container `id` records how it ended.
    pub fn exit_file(&self, id: &str) -> PathBuf {
        self.exits.join(id)
    }

    /// Creates and starts the container described by `bundle/config.json` under its shim,
    /// which writes its output to `log` (CRI format); returns the container's pid.
    pub async fn run(
        &self,
        id: &str,
        bundle: &Path,
        log: &Path,
        log_max_bytes: u64,
    ) -> Result<i32> {
        let exit_file = self.exit_file(id);
        let _ = std::fs::remove_file(&exit_file);
        let args: Vec<std::ffi::OsString> = vec![
            self.state_root.clone().into(),
            id.into(),
            bundle.into(),
            log.into(),
            log_max_bytes.to_string().into(),
            exit_file.into(),
        ];
        let (shim, id) = (self.shim.clone(), id.to_string());
        blocking(move || {
            let (mut child, report) = crate::shim::spawn(&shim, crate::shim::SHIM_ARG, &args, None)
                .map_err(|e| rt_err("starting the shim of", &id, e))?;
            // The first shim process only forks the detached one and exits.
            let _ = child.wait();
            let mut reader = std::io::BufReader::new(report);
            crate::shim::read_pid(&mut reader).map_err(|e| rt_err("creating", &id, e))
        })
        .await
    }

    /// The exit status of container `id` whose process `pid` has ended.
    pub async fn wait(&self, id: &str, pid: i32) -> exit::ExitStatus {
        exit::wait_container(pid, &self.exit_file(id)).await
    }

    fn load(root: &Path, id: &str) -> Result<Option<Container>> {
        let dir = root.join(id);
        if !dir.join("state.json").exists() {
            return Ok(None);
        }
        Container::load(dir)
            .map(Some)
            .map_err(|e| rt_err("loading", id, e))
    }

    /// Signals the container's init process, or with `all` every process in its cgroup.
    pub async fn kill(&self, id: &str, signal: Signal, all: bool) -> Result<()> {
        let (root, id) = (self.state_root.clone(), id.to_string());
        blocking(move || {
            let Some(mut c) = Self::load(&root, &id)? else {
                return Ok(());
            };
            if c.status() == ContainerStatus::Stopped && !all {
                return Ok(());
            }
            match c.kill(signal, all) {
                Ok(()) => Ok(()),
                // Already stopped: nothing left to signal.
                Err(libcontainer::error::LibcontainerError::IncorrectStatus(_)) => Ok(()),
                Err(e) => Err(rt_err("signalling", &id, e)),
            }
        })
        .await
    }

    /// Removes the container (killing what is left of it) and its state; absent is fine.
    pub async fn delete(&self, id: &str) -> Result<()> {
        let (root, id) = (self.state_root.clone(), id.to_string());
        blocking(move || {
            let loaded = Self::load(&root, &id);
            match loaded {
                Ok(Some(mut c)) => c.delete(true).map_err(|e| rt_err("deleting", &id, e))?,
                Ok(None) => {}
                Err(e) => {
                    tracing::warn!(container = %id, error = %e, "unreadable container state; removing it");
                }
            }
            let dir = root.join(&id);
            match std::fs::remove_dir_all(&dir) {
                Ok(()) => Ok(()),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
                Err(e) => Err(Error::io(&dir, e)),
            }
        })
        .await
    }

    /// The pid of a running container, if libcontainer's state says it is running.
    pub async fn running_pid(&self, id: &str) -> Result<Option<i32>> {
        let (root, id) = (self.state_root.clone(), id.to_string());
        blocking(move || {
            let Some(mut c) = Self::load(&root, &id)? else {
                return Ok(None);
            };
            c.refresh_status()
                .map_err(|e| rt_err("inspecting", &id, e))?;
            Ok(match c.status() {
                ContainerStatus::Running | ContainerStatus::Created => c.pid().map(|p| p.as_raw()),
                _ => None,
            })
        })
        .await
    }

    /// Ids of every container libcontainer has state for.
    pub fn list(&self) -> Vec<String> {
        std::fs::read_dir(&self.state_root)
            .map(|it| {
                it.flatten()
                    .filter_map(|e| e.file_name().into_string().ok())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Starts a process inside a running container through a one-shot helper process.
    pub async fn exec(&self, id: &str, req: ExecRequest, stdio: Stdio) -> Result<ExecProcess> {
        let json = serde_json::to_string(&req).map_err(|e| Error::Runtime(e.to_string()))?;
        let args: Vec<std::ffi::OsString> =
            vec![self.state_root.clone().into(), id.into(), json.into()];
        let (shim, id) = (self.shim.clone(), id.to_string());
        let (pid, mut child, reader) = blocking(move || {
            let (child, report) =
                crate::shim::spawn(&shim, crate::shim::EXEC_ARG, &args, Some(stdio))
                    .map_err(|e| rt_err("exec in", &id, e))?;
            let mut reader = std::io::BufReader::new(report);
            let pid = crate::shim::read_pid(&mut reader).map_err(|e| rt_err("exec in", &id, e))?;
            Ok((pid, child, reader))
        })
        .await?;
        let exit = tokio::task::spawn_blocking(move || {
            use std::io::BufRead;
            let mut reader = reader;
            let mut line = String::new();
            let _ = reader.read_line(&mut line);
            let _ = child.wait();
            let mut parts = line.split_whitespace();
            match (parts.next(), parts.next().and_then(|n| n.parse().ok())) {
                (Some("exited"), Some(c)) => exit::ExitStatus::Exited(c),
                (Some("signaled"), Some(s)) => exit::ExitStatus::Signaled(s),
                _ => exit::ExitStatus::Unknown,
            }
        });
        Ok(ExecProcess { pid, exit })
    }
}
