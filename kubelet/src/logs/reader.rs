//! Reading CRI log files back for `kubectl logs`: tailLines, sinceTime/sinceSeconds,
//! timestamps, limitBytes and follow, with partial (`P`) lines joined as Kubernetes does.

use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;
use k8s_openapi::jiff::Timestamp;
use tokio::sync::mpsc;

#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    pub follow: bool,
    pub tail_lines: Option<i64>,
    pub since: Option<Timestamp>,
    pub timestamps: bool,
    pub limit_bytes: Option<i64>,
}

#[derive(Debug, PartialEq)]
struct Entry {
    time: String,
    partial: bool,
    text: Vec<u8>,
}

fn parse(line: &[u8]) -> Option<Entry> {
    let mut parts = line.splitn(4, |b| *b == b' ');
    let time = std::str::from_utf8(parts.next()?).ok()?.to_string();
    let _stream = parts.next()?;
    let tag = parts.next()?;
    let text = parts.next().unwrap_or_default().to_vec();
    Some(Entry {
        time,
        partial: tag == b"P",
        text,
    })
}

/// Joins partial entries into whole log lines: (timestamp of the first part, text + '\n').
fn lines_of(files: &[PathBuf]) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut pending: Option<(String, Vec<u8>)> = None;
    for f in files {
        let Ok(file) = std::fs::File::open(f) else {
            continue;
        };
        for raw in BufReader::new(file).split(b'\n').map_while(Result::ok) {
            let Some(e) = parse(&raw) else { continue };
            let (time, mut text) = pending.take().unwrap_or((e.time.clone(), Vec::new()));
            text.extend_from_slice(&e.text);
            if e.partial {
                pending = Some((time, text));
            } else {
                text.push(b'\n');
                out.push((time, text));
            }
        }
    }
    if let Some((t, text)) = pending {
        out.push((t, text));
    }
    out
}

fn render(time: &str, text: &[u8], timestamps: bool) -> Vec<u8> {
    if timestamps {
        let mut v = Vec::with_capacity(time.len() + 1 + text.len());
        v.extend_from_slice(time.as_bytes());
        v.push(b' ');
        v.extend_from_slice(text);
        v
    } else {
        text.to_vec()
    }
}

fn after(time: &str, since: &Option<Timestamp>) -> bool {
    match since {
        None => true,
        Some(s) => time.parse::<Timestamp>().map(|t| t >= *s).unwrap_or(true),
    }
}

/// Everything currently in the log, filtered, plus where following should resume.
pub fn snapshot(path: &Path, opts: &LogOptions) -> (Vec<u8>, u64) {
    let files = vec![super::rotated(path), path.to_path_buf()];
    let mut lines: Vec<(String, Vec<u8>)> = lines_of(&files)
        .into_iter()
        .filter(|(t, _)| after(t, &opts.since))
        .collect();
    if let Some(n) = opts.tail_lines {
        let n = n.max(0) as usize;
        if lines.len() > n {
            lines.drain(..lines.len() - n);
        }
    }
    let mut out = Vec::new();
    for (t, text) in &lines {
        out.extend_from_slice(&render(t, text, opts.timestamps));
    }
    if let Some(limit) = opts.limit_bytes {
        out.truncate(limit.max(0) as usize);
    }
    let offset = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    (out, offset)
}

/// The log as a byte stream; with `follow` it continues with new lines until the shim marks
/// the log done (the container ended) or the receiver goes away.
pub fn stream(
    path: PathBuf,
    opts: LogOptions,
) -> impl Stream<Item = Result<Bytes, std::io::Error>> {
    let (tx, rx) = mpsc::channel::<Result<Bytes, std::io::Error>>(16);
    tokio::spawn(async move {
        let (first, mut offset) = {
            let (p, o) = (path.clone(), opts.clone());
            match tokio::task::spawn_blocking(move || snapshot(&p, &o)).await {
                Ok(v) => v,
                Err(_) => return,
            }
        };
        let mut sent = first.len() as i64;
        if !first.is_empty() && tx.send(Ok(Bytes::from(first))).await.is_err() {
            return;
        }
        if !opts.follow {
            return;
        }
        let mut pending = Vec::new();
        loop {
            let done = super::done_marker(&path).exists();
            let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
            if len < offset {
                // Rotated under us: the new file starts from zero.
                offset = 0;
            }
            if len > offset {
                let (p, from) = (path.clone(), offset);
                let Ok(Ok((chunk, new_offset))) =
                    tokio::task::spawn_blocking(move || read_from(&p, from)).await
                else {
                    return;
                };
                offset = new_offset;
                pending.extend_from_slice(&chunk);
                let mut out = Vec::new();
                while let Some(nl) = pending.iter().position(|b| *b == b'\n') {
                    let raw: Vec<u8> = pending.drain(..=nl).collect();
                    if let Some(e) = parse(&raw[..raw.len() - 1])
                        && after(&e.time, &opts.since)
                    {
                        let mut text = e.text;
                        if !e.partial {
                            text.push(b'\n');
                        }
                        out.extend_from_slice(&render(&e.time, &text, opts.timestamps));
                    }
                }
                if let Some(limit) = opts.limit_bytes {
                    let room = (limit - sent).max(0) as usize;
                    out.truncate(room);
                }
                if !out.is_empty() {
                    sent += out.len() as i64;
                    if tx.send(Ok(Bytes::from(out))).await.is_err() {
                        return;
                    }
                }
                if opts.limit_bytes.is_some_and(|l| sent >= l) {
                    return;
                }
                continue;
            }
            if done {
                return;
            }
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                _ = tx.closed() => return,
            }
        }
    });
    tokio_stream(rx)
}

fn read_from(path: &Path, offset: u64) -> std::io::Result<(Vec<u8>, u64)> {
    let mut f = std::fs::File::open(path)?;
    f.seek(SeekFrom::Start(offset))?;
    let mut buf = Vec::new();
    std::io::Read::read_to_end(&mut f, &mut buf)?;
    let end = offset + buf.len() as u64;
    Ok((buf, end))
}

fn tokio_stream<T>(mut rx: mpsc::Receiver<T>) -> impl Stream<Item = T> {
    futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, lines: &[&str]) {
        std::fs::write(path, lines.join("\n") + "\n").unwrap();
    }

    #[test]
    fn tail_since_timestamps_and_partials() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("0.log");
        write(
            &p,
            &[
                "2026-01-01T00:00:01.000000000Z stdout F one",
                "2026-01-01T00:00:02.000000000Z stderr P tw",
                "2026-01-01T00:00:02.100000000Z stderr F o",
                "2026-01-01T00:00:03.000000000Z stdout F three",
            ],
        );
        let all = snapshot(&p, &LogOptions::default()).0;
        assert_eq!(all, b"one\ntwo\nthree\n");
        let tail = snapshot(
            &p,
            &LogOptions {
                tail_lines: Some(1),
                timestamps: true,
                ..Default::default()
            },
        )
        .0;
        assert_eq!(tail, b"2026-01-01T00:00:03.000000000Z three\n");
        let since = snapshot(
            &p,
            &LogOptions {
                since: Some("2026-01-01T00:00:02Z".parse().unwrap()),
                limit_bytes: Some(6),
                ..Default::default()
            },
        )
        .0;
        assert_eq!(since, b"two\nth");
    }
}
