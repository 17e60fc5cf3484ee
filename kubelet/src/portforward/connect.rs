//! Dialing the forwarded port on the pod's loopback.
//!
//! The pod's network namespace is entered by a short-lived thread (setns() moves only the
//! calling thread), which makes the connection and hands the socket back; a socket keeps
//! the namespace it was created in, so tokio can drive it from any worker afterwards.

use std::io::ErrorKind;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream as StdTcpStream};
use std::path::PathBuf;
use std::time::Duration;

use tokio::net::TcpStream;

use crate::runtime::netns;

/// Like the kubelet with containerd: a port that does not answer within this is reported as
/// an error to kubectl rather than holding the local connection open.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where the pod's ports are.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PodNetwork {
    /// The pod's own namespace, pinned at `<root>/netns/<uid>`.
    Namespace(PathBuf),
    /// hostNetwork pods listen on the node's (this process's) loopback.
    Host,
}

/// Connects to `localhost:port` as the pod sees it: IPv4 first, then IPv6. The error is the
/// text kubectl prints after "an error occurred forwarding L -> R: ".
pub async fn dial(network: &PodNetwork, port: u16) -> Result<TcpStream, String> {
    let std_stream = match network {
        PodNetwork::Host => tokio::task::spawn_blocking(move || connect_loopback(port))
            .await
            .map_err(|e| format!("connect task failed: {e}"))?,
        PodNetwork::Namespace(path) => {
            let path = path.clone();
            // run_in joins its thread: keep that off the async workers.
            let joined = tokio::task::spawn_blocking(move || {
                netns::run_in(&path, move || connect_loopback(port))
            })
            .await
            .map_err(|e| format!("connect task failed: {e}"))?;
            match joined {
                Ok(result) => result,
                Err(e) => Err(format!("failed to enter the pod's network namespace: {e}")),
            }
        }
    }?;
    let _ = std_stream.set_nodelay(true);
    std_stream
        .set_nonblocking(true)
        .and_then(|()| TcpStream::from_std(std_stream))
        .map_err(|e| format!("registering the connection to port {port}: {e}"))
}

fn connect_loopback(port: u16) -> Result<StdTcpStream, String> {
    let v4 = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let v6 = SocketAddr::from((Ipv6Addr::LOCALHOST, port));
    let e4 = match StdTcpStream::connect_timeout(&v4, CONNECT_TIMEOUT) {
        Ok(s) => return Ok(s),
        Err(e) => e,
    };
    match StdTcpStream::connect_timeout(&v6, CONNECT_TIMEOUT) {
        Ok(s) => Ok(s),
        // The words follow the real kubelet's message, which users search for.
        Err(e6) => Err(format!(
            "failed to connect to localhost:{port} inside the pod's network namespace, \
             IPv4: dial tcp4 {v4}: {}, IPv6: dial tcp6 {v6}: {}",
            go_like(&e4),
            go_like(&e6)
        )),
    }
}

/// Go's wording for the usual connect errors.
fn go_like(e: &std::io::Error) -> String {
    match e.kind() {
        ErrorKind::ConnectionRefused => "connect: connection refused".into(),
        ErrorKind::TimedOut => "i/o timeout".into(),
        ErrorKind::AddrNotAvailable => "connect: cannot assign requested address".into(),
        ErrorKind::NetworkUnreachable => "connect: network is unreachable".into(),
        _ => format!("connect: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn host_network_dials_the_local_loopback_and_reports_refusals() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = listener.local_addr().expect("addr").port();
        assert!(dial(&PodNetwork::Host, port).await.is_ok());
        drop(listener);
        let e = dial(&PodNetwork::Host, port)
            .await
            .err()
            .unwrap_or_default();
        assert!(
            e.starts_with(&format!("failed to connect to localhost:{port}")),
            "{e}"
        );
        assert!(e.contains("connection refused"), "{e}");
    }

    #[tokio::test]
    async fn a_missing_namespace_is_an_error_message_not_a_panic() {
        let e = dial(&PodNetwork::Namespace("/nonexistent/netns/x".into()), 80)
            .await
            .err()
            .unwrap_or_default();
        assert!(e.contains("network namespace"), "{e}");
    }
}
