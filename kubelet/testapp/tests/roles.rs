//! Runs the built binary in each role.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_capstan-testapp");

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn get(port: u16, path: &str) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    write!(stream, "GET {path} HTTP/1.1\r\nHost: x\r\n\r\n").ok()?;
    let mut response = String::new();
    stream.read_to_string(&mut response).ok()?;
    Some(response)
}

#[test]
fn serve_answers_text_and_healthz() {
    let port = free_port();
    let mut child = Command::new(BIN)
        .args(["serve", &port.to_string(), "hello there"])
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut response = None;
    while response.is_none() && Instant::now() < deadline {
        response = get(port, "/anything");
        std::thread::sleep(Duration::from_millis(10));
    }
    let health = get(port, "/healthz");
    child.kill().unwrap();
    child.wait().unwrap();
    let response = response.expect("server never answered");
    assert!(response.starts_with("HTTP/1.1 200 OK\r\n"), "{response}");
    assert!(response.ends_with("\r\n\r\nhello there\n"), "{response}");
    assert!(health.unwrap().ends_with("\r\n\r\nok\n"));
}

#[test]
fn exit_uses_the_code_after_the_delay() {
    let started = Instant::now();
    let status = Command::new(BIN)
        .args(["exit", "7", "50"])
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(7));
    assert!(started.elapsed() >= Duration::from_millis(50));
}

#[test]
fn trap_term_reports_and_exits_cleanly() {
    let mut child = Command::new(BIN)
        .args(["trap-term", "100"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "waiting for SIGTERM");
    let started = Instant::now();
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    assert_eq!(lines.next().unwrap().unwrap(), "got SIGTERM");
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(started.elapsed() >= Duration::from_millis(100));
}

#[test]
fn env_is_sorted_and_args_are_echoed() {
    let output = Command::new(BIN)
        .arg("env")
        .env_clear()
        .env("B", "2")
        .env("A", "1")
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(output.stdout).unwrap(), "A=1\nB=2\n");
    let output = Command::new(BIN)
        .args(["print-args", "a b", "", "c"])
        .output()
        .unwrap();
    assert_eq!(String::from_utf8(output.stdout).unwrap(), "a b\n\nc\n");
}

#[test]
fn alloc_touches_the_memory() {
    let mut child = Command::new(BIN)
        .args(["alloc", "16"])
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "allocated 16 MiB");
    let status = std::fs::read_to_string(format!("/proc/{}/status", child.id())).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let rss_kib: u64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    assert!(rss_kib >= 16 * 1024, "resident {rss_kib} KiB");
}

#[test]
fn bad_usage_exits_2() {
    let status = Command::new(BIN)
        .arg("nonsense")
        .stderr(Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(2));
}
