//! The in-process OCI runtime: youki's libcontainer called directly (no containerd/CRI hop).
//! libcontainer's builders are not `Send`, so every call runs whole on a blocking thread.
//! Container state lives under `state_root/<id>` so a restarted kubelet can load it again.

pub mod bundle;
pub mod cgroups;
pub mod exit;
pub mod netns;
pub mod rootfs;

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};

use libcontainer::container::builder::ContainerBuilder;
use libcontainer::container::{Container, ContainerStatus};
use libcontainer::syscall::syscall::SyscallType;
use nix::sys::signal::Signal;

use crate::error::{Error, Result};

#[derive(Debug, Clone)]
pub struct Runtime {
    state_root: PathBuf,
}

/// The standard streams of a new process.
pub struct Stdio {
    pub stdin: OwnedFd,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
}

/// What `exec` runs inside a running container.
pub struct ExecRequest {
    pub args: Vec<String>,
    pub env: HashMap<String, String>,
    pub cwd: Option<PathBuf>,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
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
    pub fn new(state_root: &Path) -> Result<Runtime> {
        std::fs::create_dir_all(state_root).map_err(|e| Error::io(state_root, e))?;
        Ok(Runtime {
            state_root: state_root.to_path_buf(),
        })
    }

    /// Creates and starts the container described by `bundle/config.json`; returns its pid.
    pub async fn run(&self, id: &str, bundle: &Path, stdio: Stdio) -> Result<i32> {
        let (root, id, bundle) = (
            self.state_root.clone(),
            id.to_string(),
            bundle.to_path_buf(),
        );
        blocking(move || {
            let mut container = ContainerBuilder::new(id.clone(), SyscallType::default())
                .with_root_path(root)
                .map_err(|e| rt_err("creating", &id, e))?
                .with_stdin(stdio.stdin)
                .with_stdout(stdio.stdout)
                .with_stderr(stdio.stderr)
                .as_init(bundle)
                .with_systemd(false)
                .with_detach(true)
                .build()
                .map_err(|e| rt_err("creating", &id, e))?;
            // libcontainer marks the caller non-dumpable; the kubelet wants its /proc entries
            // readable by root tools as usual.
            let _ = nix::sys::prctl::set_dumpable(true);
            container.start().map_err(|e| rt_err("starting", &id, e))?;
            container
                .pid()
                .map(|p| p.as_raw())
                .ok_or_else(|| Error::Runtime(format!("container {id} started without a pid")))
        })
        .await
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

    /// Starts a process inside a running container; returns its pid (a child of ours).
    pub async fn exec(&self, id: &str, req: ExecRequest, stdio: Stdio) -> Result<i32> {
        let (root, id) = (self.state_root.clone(), id.to_string());
        blocking(move || {
            let pid = ContainerBuilder::new(id.clone(), SyscallType::default())
                .with_root_path(root)
                .map_err(|e| rt_err("exec in", &id, e))?
                .with_stdin(stdio.stdin)
                .with_stdout(stdio.stdout)
                .with_stderr(stdio.stderr)
                .as_tenant()
                .with_container_args(req.args)
                .with_env(req.env)
                .with_cwd(req.cwd)
                .with_user(req.uid)
                .with_group(req.gid)
                .with_detach(true)
                .build()
                .map_err(|e| rt_err("exec in", &id, e))?;
            let _ = nix::sys::prctl::set_dumpable(true);
            Ok(pid.as_raw())
        })
        .await
    }
}
