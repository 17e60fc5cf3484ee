//! Durability of the SQLite backend across `kill -9`: a child process (this same test binary,
//! running the ignored `crash_child` test) writes as fast as it can and reports each
//! acknowledged write on stdout; the parent kills it mid-flight, reopens the database and checks
//! that every acknowledged write is there.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;

use capstan_store::{SqliteStore, Store};

const DB_ENV: &str = "CAPSTAN_CRASH_TEST_DB";
const ACKS_BEFORE_KILL: usize = 300;

#[test]
fn acknowledged_writes_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("state.db");
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "crash_child",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(DB_ENV, &db)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = BufReader::new(stdout).lines();
    let mut acked = Vec::new();
    while acked.len() < ACKS_BEFORE_KILL {
        let line = lines
            .next()
            .expect("child stopped before enough writes")
            .unwrap();
        if let Some(key) = line.strip_prefix("ack ") {
            acked.push(key.to_owned());
        }
    }
    child.kill().unwrap(); // SIGKILL
    child.wait().unwrap();
    // Acks already written to the pipe before the kill count too.
    for line in lines.map_while(Result::ok) {
        if let Some(key) = line.strip_prefix("ack ") {
            acked.push(key.to_owned());
        }
    }

    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let store = SqliteStore::open(&db).unwrap();
        let mut last_revision = 0;
        for key in &acked {
            let kv = store
                .get(key)
                .await
                .unwrap()
                .unwrap_or_else(|| panic!("acknowledged write {key} lost"));
            last_revision = last_revision.max(kv.mod_revision);
        }
        assert!(store.current_revision().await.unwrap() >= last_revision);
        println!("{} acknowledged writes survived", acked.len());
        // The reopened store keeps accepting writes above everything recovered.
        let next = store
            .create("/registry/after-crash", b"x".to_vec())
            .await
            .unwrap();
        assert!(next.mod_revision > last_revision);
    });
}

/// Only does something when started by the test above.
#[test]
#[ignore = "child process of acknowledged_writes_survive_kill_9"]
fn crash_child() {
    let Some(db) = std::env::var_os(DB_ENV) else {
        return;
    };
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async move {
        let store: Arc<dyn Store> = Arc::new(SqliteStore::open(db.as_ref()).unwrap());
        let writers: Vec<_> = (0..8)
            .map(|w| {
                let store = store.clone();
                tokio::spawn(async move {
                    for i in 0.. {
                        let key = format!("/registry/crash/w{w}-{i:06}");
                        store.create(&key, vec![b'x'; 512]).await.unwrap();
                        println!("ack {key}");
                    }
                })
            })
            .collect();
        for writer in writers {
            writer.await.unwrap();
        }
    });
}
