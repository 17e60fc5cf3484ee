//! `capstan exec [-i] [-t] POD|TYPE/NAME [-c C] -- COMMAND…` over the WebSocket exec
//! protocol; the command's exit code becomes capstan's.

use futures::SinkExt;
use k8s_openapi::api::core::v1::Pod;
use kube::api::{Api, AttachParams, TerminalSize};
use tokio::io::AsyncWriteExt;

use super::{CliError, Target, pods};

#[derive(Debug, Clone, clap::Args)]
pub struct ExecArgs {
    /// POD or TYPE/NAME.
    pub object: String,
    /// The command and its arguments (after `--`).
    #[arg(last = true, required = true)]
    pub command: Vec<String>,
    #[arg(short = 'c', long)]
    pub container: Option<String>,
    /// Pass stdin to the command.
    #[arg(short = 'i', long)]
    pub stdin: bool,
    /// Allocate a terminal (this terminal goes raw while the command runs).
    #[arg(short = 't', long)]
    pub tty: bool,
}

/// The exit code from the final Status: 0 on success, the command's code when it failed.
pub fn exit_code(status: &k8s_openapi::apimachinery::pkg::apis::meta::v1::Status) -> i32 {
    if status.status.as_deref() == Some("Success") {
        return 0;
    }
    status
        .details
        .as_ref()
        .and_then(|d| d.causes.as_ref())
        .and_then(|cs| cs.iter().find(|c| c.reason.as_deref() == Some("ExitCode")))
        .and_then(|c| c.message.as_deref())
        .and_then(|m| m.parse().ok())
        .unwrap_or(1)
}

pub async fn run(target: &Target, args: &ExecArgs) -> Result<i32, CliError> {
    let (client, ns) = target.connect().await?;
    let list = pods::resolve(&client, &ns, &args.object).await?;
    let Some(pod) = list.first() else {
        return Err(CliError::Input(format!("no pod found for {}", args.object)));
    };
    let name = pod.metadata.name.clone().unwrap_or_default();
    let container = pods::container(pod, args.container.as_deref())?;
    let api: Api<Pod> = Api::namespaced(client, &ns);
    // As kubectl: no TTY without stdin (nothing could interrupt the command), and a TTY
    // only when stdin is a terminal.
    let tty = args.tty && args.stdin && terminal::is_tty();
    if args.tty && args.stdin && !tty {
        eprintln!("Unable to use a TTY - input is not a terminal or the right kind of file");
    }
    let ap = AttachParams::default()
        .container(container)
        .stdin(args.stdin)
        .stdout(true)
        .stderr(!tty)
        .tty(tty);
    let mut proc = api
        .exec(&name, args.command.clone(), &ap)
        .await
        .map_err(CliError::from_kube(&format!("exec in pod/{name}")))?;
    let raw = if tty {
        terminal::RawMode::enter()
    } else {
        None
    };
    if tty && let Some(sizes) = proc.terminal_size() {
        tokio::spawn(follow_terminal_size(sizes));
    }
    let status = proc.take_status();
    let mut tasks = Vec::new();
    if let Some(out) = proc.stdout() {
        tasks.push(tokio::spawn(relay(out, std::io::stdout)));
    }
    if let Some(err) = proc.stderr() {
        tasks.push(tokio::spawn(relay(err, std::io::stderr)));
    }
    if args.stdin
        && let Some(input) = proc.stdin()
    {
        // Not awaited: stdin may never end (a terminal); the session ends with the command.
        tokio::spawn(feed_stdin(input));
    }
    let status = match status {
        Some(s) => s.await,
        None => None,
    };
    for t in tasks {
        let _ = t.await;
    }
    let joined = proc.join().await;
    drop(raw);
    if let Some(s) = status {
        let code = exit_code(&s);
        if code != 0 && s.reason.as_deref() != Some("NonZeroExitCode") {
            // Not the command's own failure (no such container, exec not possible): say why.
            return Err(CliError::Api {
                what: format!("exec in pod/{name}"),
                message: s.message.unwrap_or_default(),
            });
        }
        if code != 0 {
            eprintln!("command terminated with exit code {code}");
        }
        return Ok(code);
    }
    joined.map_err(|e| CliError::Input(format!("exec in pod/{name}: {e}")))?;
    Ok(0)
}

/// Sends the local terminal's size now and again whenever it changes (SIGWINCH), so full-screen
/// programs in the container redraw to fit; ends with the session.
async fn follow_terminal_size(mut sizes: futures::channel::mpsc::Sender<TerminalSize>) {
    use tokio::signal::unix::{SignalKind, signal};
    // Installed before the first size is read: a resize in between still arrives.
    let mut changes = signal(SignalKind::window_change()).ok();
    loop {
        if let Some((width, height)) = terminal::size()
            && sizes.send(TerminalSize { width, height }).await.is_err()
        {
            return;
        }
        let Some(c) = changes.as_mut() else { return };
        if c.recv().await.is_none() {
            return;
        }
    }
}

/// Copies a remote stream to a local one as bytes arrive (a TTY's output is unbuffered).
async fn relay<R, W>(mut from: R, to: fn() -> W)
where
    R: tokio::io::AsyncRead + Unpin,
    W: std::io::Write,
{
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        match tokio::io::AsyncReadExt::read(&mut from, &mut buf).await {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                let mut w = to();
                if w.write_all(&buf[..n]).is_err() {
                    break;
                }
                let _ = w.flush();
            }
        }
    }
}

/// Local stdin to the remote command. Reading stdin blocks, so a thread does it; EOF
/// closes the remote stdin (a `cat` then ends).
async fn feed_stdin<W: tokio::io::AsyncWrite + Unpin>(mut to: W) {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<u8>>(4);
    std::thread::spawn(move || {
        let mut stdin = std::io::stdin();
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match std::io::Read::read(&mut stdin, &mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.blocking_send(buf[..n].to_vec()).is_err() {
                        break;
                    }
                }
            }
        }
    });
    while let Some(chunk) = rx.recv().await {
        if to.write_all(&chunk).await.is_err() {
            return;
        }
    }
    let _ = to.shutdown().await;
}

/// The local terminal: raw mode while a remote TTY runs, and its size.
mod terminal {
    use std::io::IsTerminal;
    use std::os::fd::AsFd;

    use nix::sys::termios::{self, SetArg, Termios};

    pub fn is_tty() -> bool {
        std::io::stdin().is_terminal()
    }

    /// Restores the saved settings when dropped, also on errors.
    pub struct RawMode(Termios);

    impl RawMode {
        pub fn enter() -> Option<RawMode> {
            let stdin = std::io::stdin();
            let saved = termios::tcgetattr(stdin.as_fd()).ok()?;
            let mut raw = saved.clone();
            termios::cfmakeraw(&mut raw);
            termios::tcsetattr(stdin.as_fd(), SetArg::TCSANOW, &raw).ok()?;
            Some(RawMode(saved))
        }
    }

    impl Drop for RawMode {
        fn drop(&mut self) {
            let _ = termios::tcsetattr(std::io::stdin().as_fd(), SetArg::TCSANOW, &self.0);
        }
    }

    nix::ioctl_read_bad!(window_size, nix::libc::TIOCGWINSZ, nix::libc::winsize);

    pub fn size() -> Option<(u16, u16)> {
        let mut ws = nix::libc::winsize {
            ws_row: 0,
            ws_col: 0,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCGWINSZ only writes a winsize into the struct we own.
        unsafe { window_size(nix::libc::STDOUT_FILENO, &mut ws) }.ok()?;
        (ws.ws_col > 0).then_some((ws.ws_col, ws.ws_row))
    }
}
