//! capstan-testapp: one small program that container tests run in different roles.
//!
//! std only, no dependencies, so it links statically (`-C target-feature=+crt-static`) and
//! runs in an image without a libc:
//!
//! ```text
//! testapp serve PORT [TEXT]   HTTP/1.1 server: 200 with TEXT for every path, "ok" on /healthz
//! testapp alloc MIB           allocate and touch MIB mebibytes, then sleep
//! testapp exit CODE [MS]      exit with CODE, after MS milliseconds
//! testapp trap-term MS        on SIGTERM print "got SIGTERM", wait MS, exit 0
//! testapp sleep MS            sleep, then exit 0
//! testapp env                 print the environment, sorted
//! testapp print-args ARGS...  print each argument on its own line
//! ```

use std::io::{self, BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread;
use std::time::Duration;

const USAGE: &str = "usage: capstan-testapp serve PORT [TEXT] | alloc MIB | exit CODE [MS] | \
trap-term MS | sleep MS | env | print-args ARGS...";
const SIGTERM: i32 = 15;
const MIB: usize = 1024 * 1024;
const PAGE: usize = 4096;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (command, rest) = match args.split_first() {
        Some((command, rest)) => (command.as_str(), rest),
        None => return usage_error("no command"),
    };
    let result = match command {
        "serve" => serve(rest),
        "alloc" => alloc(rest),
        "exit" => exit_with(rest),
        "trap-term" => trap_term(rest),
        "sleep" => sleep_for(rest),
        "env" => print_env(),
        "print-args" => print_lines(rest.iter().map(String::as_str)),
        other => return usage_error(&format!("unknown command {other:?}")),
    };
    match result {
        Ok(code) => code,
        Err(message) => usage_error(&message),
    }
}

fn usage_error(message: &str) -> ExitCode {
    eprintln!("capstan-testapp: {message}\n{USAGE}");
    ExitCode::from(2)
}

fn number<T: std::str::FromStr>(args: &[String], index: usize, what: &str) -> Result<T, String> {
    let text = args.get(index).ok_or_else(|| format!("missing {what}"))?;
    text.parse()
        .map_err(|_| format!("{what} must be a number, not {text:?}"))
}

fn optional_number<T: std::str::FromStr>(
    args: &[String],
    index: usize,
    what: &str,
) -> Result<Option<T>, String> {
    if args.len() > index {
        number(args, index, what).map(Some)
    } else {
        Ok(None)
    }
}

fn say(line: &str) {
    // Tests read our output through a pipe or log file: flush so it arrives now.
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn serve(args: &[String]) -> Result<ExitCode, String> {
    let port: u16 = number(args, 0, "PORT")?;
    let text = args
        .get(1)
        .cloned()
        .unwrap_or_else(|| "capstan-testapp".to_string());
    // A numeric address: name resolution would need glibc's NSS, which a static binary lacks.
    let listener = TcpListener::bind(SocketAddr::from(([0, 0, 0, 0], port)))
        .map_err(|e| format!("listening on port {port}: {e}"))?;
    say(&format!("serving on port {port}"));
    for stream in listener.incoming() {
        let Ok(stream) = stream else { continue };
        let text = text.clone();
        thread::spawn(move || {
            if let Err(error) = answer(stream, &text) {
                eprintln!("capstan-testapp: connection: {error}");
            }
        });
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads one request head and answers it; one request per connection keeps this tiny.
fn answer(stream: TcpStream, text: &str) -> io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut reader = BufReader::new(stream.try_clone()?);
    let mut request_line = String::new();
    reader.read_line(&mut request_line)?;
    // Skip headers; a body, if any, is ignored.
    let mut header = String::new();
    loop {
        header.clear();
        if reader.read_line(&mut header)? == 0 || header == "\r\n" || header == "\n" {
            break;
        }
    }
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or("");
    let path = parts.next().unwrap_or("/");
    let body = if path == "/healthz" {
        "ok\n".to_string()
    } else {
        format!("{text}\n")
    };
    let head = format!(
        "HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let mut stream = stream;
    stream.write_all(head.as_bytes())?;
    if method != "HEAD" {
        stream.write_all(body.as_bytes())?;
    }
    stream.flush()
}

fn alloc(args: &[String]) -> Result<ExitCode, String> {
    let mebibytes: usize = number(args, 0, "MIB")?;
    let mut held: Vec<Vec<u8>> = Vec::with_capacity(mebibytes);
    for done in 1..=mebibytes {
        let mut chunk = vec![0u8; MIB];
        // Zeroed allocations are lazily mapped; writing every page makes them resident, which
        // is what memory limits count.
        for offset in (0..MIB).step_by(PAGE) {
            chunk[offset] = 1;
        }
        held.push(std::hint::black_box(chunk));
        if done % 64 == 0 {
            say(&format!("allocated {done} MiB"));
        }
    }
    say(&format!("allocated {mebibytes} MiB"));
    loop {
        thread::sleep(Duration::from_secs(3600));
        std::hint::black_box(&held);
    }
}

fn exit_with(args: &[String]) -> Result<ExitCode, String> {
    let code: u8 = number(args, 0, "CODE (0-255)")?;
    if let Some(ms) = optional_number::<u64>(args, 1, "MS")? {
        thread::sleep(Duration::from_millis(ms));
    }
    say(&format!("exiting with {code}"));
    Ok(ExitCode::from(code))
}

fn sleep_for(args: &[String]) -> Result<ExitCode, String> {
    let ms: u64 = number(args, 0, "MS")?;
    thread::sleep(Duration::from_millis(ms));
    Ok(ExitCode::SUCCESS)
}

static GOT_TERM: AtomicBool = AtomicBool::new(false);

extern "C" fn on_sigterm(_signal: i32) {
    // Only an atomic store: nothing else is safe inside a signal handler.
    GOT_TERM.store(true, Ordering::SeqCst);
}

unsafe extern "C" {
    // libc's signal(2); std offers no signal API. The return value is the previous handler.
    fn signal(signum: i32, handler: extern "C" fn(i32)) -> usize;
}

fn trap_term(args: &[String]) -> Result<ExitCode, String> {
    let grace_ms: u64 = number(args, 0, "MS")?;
    // SAFETY: installing a handler that only stores to an atomic is async-signal-safe.
    unsafe {
        signal(SIGTERM, on_sigterm);
    }
    say("waiting for SIGTERM");
    while !GOT_TERM.load(Ordering::SeqCst) {
        thread::sleep(Duration::from_millis(10));
    }
    say("got SIGTERM");
    thread::sleep(Duration::from_millis(grace_ms));
    say(&format!("exiting after {grace_ms} ms"));
    Ok(ExitCode::SUCCESS)
}

fn print_env() -> Result<ExitCode, String> {
    let mut vars: Vec<String> = std::env::vars_os()
        .map(|(k, v)| format!("{}={}", k.to_string_lossy(), v.to_string_lossy()))
        .collect();
    vars.sort();
    print_lines(vars.iter().map(String::as_str))
}

fn print_lines<'a>(lines: impl Iterator<Item = &'a str>) -> Result<ExitCode, String> {
    let mut out = io::stdout().lock();
    for line in lines {
        writeln!(out, "{line}").map_err(|e| format!("writing: {e}"))?;
    }
    out.flush().map_err(|e| format!("writing: {e}"))?;
    Ok(ExitCode::SUCCESS)
}
