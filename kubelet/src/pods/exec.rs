//! Running a short command inside a running container and collecting its output, for exec
//! probes and lifecycle hooks (interactive `kubectl exec` lives in the server).

use std::collections::HashMap;
use std::os::fd::OwnedFd;
use std::time::Duration;

use super::state::Run;
use crate::error::{Error, Result};
use crate::runtime::{ExecRequest, Runtime, Stdio};

pub struct Output {
    /// None when the command did not finish within the timeout (it was killed).
    pub exit_code: Option<i32>,
    pub output: String,
}

fn devnull() -> Result<OwnedFd> {
    std::fs::File::open("/dev/null")
        .map(OwnedFd::from)
        .map_err(|e| Error::io(std::path::Path::new("/dev/null"), e))
}

pub fn env_map(env: &[String]) -> HashMap<String, String> {
    env.iter()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Runs `args` in the container of `target` as its user, in its working directory.
pub async fn run(
    runtime: &Runtime,
    target: &Run,
    args: Vec<String>,
    env: HashMap<String, String>,
    timeout: Duration,
) -> Result<Output> {
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| Error::Runtime(format!("pipe: {e}")))?;
    let w2 = w
        .try_clone()
        .map_err(|e| Error::Runtime(format!("dup: {e}")))?;
    let stdio = Stdio {
        stdin: devnull()?,
        stdout: w,
        stderr: w2,
    };
    let req = ExecRequest {
        args,
        env,
        cwd: (!target.cwd.is_empty()).then(|| target.cwd.clone().into()),
        uid: Some(target.uid),
        gid: Some(target.gid),
        additional_gids: target.additional_gids.clone(),
    };
    let process = runtime.exec(&target.id, req, stdio).await?;
    let pid = process.pid;
    // Read asynchronously: a command that leaves a background process holding the pipe must
    // not pin a thread; the read is simply dropped after the grace below.
    let reader = tokio::spawn(async move {
        use tokio::io::AsyncReadExt;
        let mut buf = Vec::new();
        if let Ok(rx) = tokio::net::unix::pipe::Receiver::from_owned_fd(r) {
            let _ = rx.take(64 * 1024).read_to_end(&mut buf).await;
        }
        String::from_utf8_lossy(&buf).into_owned()
    });
    let mut waiting = Box::pin(process.wait());
    let code = match tokio::time::timeout(timeout, &mut waiting).await {
        Ok(s) => s.code(),
        Err(_) => {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
            let _ = waiting.await;
            None
        }
    };
    let abort = reader.abort_handle();
    let output = match tokio::time::timeout(Duration::from_secs(1), reader).await {
        Ok(Ok(text)) => text,
        _ => {
            abort.abort();
            String::new()
        }
    };
    Ok(Output {
        exit_code: code,
        output,
    })
}
