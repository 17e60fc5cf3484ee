//! The few-line HTTP/1.0 responder behind every component's `/metrics`, `/healthz`,
//! `/readyz` and `/livez`: one request per connection, the metrics text rendered at scrape
//! time. Small on purpose: a scrape endpoint needs no framework.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

/// Renders the Prometheus text when `/metrics` is asked for.
pub type Render = Arc<dyn Fn() -> String + Send + Sync>;

/// Serves until the task is dropped or aborted.
pub async fn serve(listener: TcpListener, render: Render) {
    loop {
        let Ok((mut sock, _)) = listener.accept().await else {
            continue;
        };
        let render = render.clone();
        tokio::spawn(async move {
            // Read until the end of the request head (or 4 KiB, or 5 s).
            let mut buf = vec![0u8; 4096];
            let mut len = 0;
            while len < buf.len() {
                let read =
                    tokio::time::timeout(Duration::from_secs(5), sock.read(&mut buf[len..])).await;
                match read {
                    Ok(Ok(0)) | Err(_) | Ok(Err(_)) => break,
                    Ok(Ok(n)) => len += n,
                }
                if buf[..len].windows(4).any(|w| w == b"\r\n\r\n")
                    || buf[..len].windows(2).any(|w| w == b"\n\n")
                {
                    break;
                }
            }
            let head = String::from_utf8_lossy(&buf[..len]);
            let path = head.split_whitespace().nth(1).unwrap_or("/");
            let path = path.split('?').next().unwrap_or(path);
            let (status, ctype, body) = match path {
                "/metrics" => ("200 OK", "text/plain; version=0.0.4", render()),
                "/healthz" | "/livez" | "/readyz" => ("200 OK", "text/plain", "ok".to_string()),
                _ => ("404 Not Found", "text/plain", "not found".to_string()),
            };
            let resp = format!(
                "HTTP/1.0 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(resp.as_bytes()).await;
            let _ = sock.shutdown().await;
        });
    }
}
