//! The node's network namespace: where pod bridges, routes, service rules and the DNS
//! address live. Normally the kubelet's own; tests (and several simulated machines on one
//! host) give each cluster a namespace of its own with `--network-namespace`, so nothing
//! touches the host's network.

use std::path::{Path, PathBuf};

use nix::sched::CloneFlags;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Default)]
pub struct NodeNetns {
    /// None: the namespace this process runs in.
    pub path: Option<PathBuf>,
}

impl NodeNetns {
    pub fn new(path: Option<PathBuf>) -> NodeNetns {
        NodeNetns { path }
    }

    /// Makes `cmd` start inside the node namespace.
    pub fn prepare(&self, cmd: &mut tokio::process::Command) -> Result<()> {
        let Some(path) = &self.path else {
            return Ok(());
        };
        let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
        // SAFETY: setns is async-signal-safe and touches only the child being exec'd.
        unsafe {
            cmd.pre_exec(move || {
                nix::sched::setns(&file, CloneFlags::CLONE_NEWNET).map_err(std::io::Error::from)
            });
        }
        Ok(())
    }

    /// Runs `f` on a thread inside the node namespace (sockets it creates stay there).
    pub fn run<T: Send + 'static>(&self, f: impl FnOnce() -> T + Send + 'static) -> Result<T> {
        match &self.path {
            Some(p) => crate::runtime::netns::run_in(p, f),
            None => Ok(f()),
        }
    }

    /// Writes a sysctl under /proc/sys/net as seen from the node namespace.
    pub fn sysctl(&self, key: &str, value: &str) -> Result<()> {
        let path = Path::new("/proc/sys").join(key.replace('.', "/"));
        let v = value.to_string();
        let p = path.clone();
        self.run(move || std::fs::write(&p, v))?
            .map_err(|e| Error::io(&path, e))
    }
}
