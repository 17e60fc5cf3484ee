//! SQLite backend: the embedded, single-file default store. This module owns the on-disk
//! schema and opening the database; `writer` owns the single read-write connection (group
//! commit and compaction), `reader` the pool of read connections and the snapshot queries, and
//! `watch` the watch streams.
//!
//! Storage is an append-only MVCC log: one row per revision holding the key, its value, the
//! key's create revision, the revision of the write it replaced and a tombstone flag. Reading
//! "the latest row of each key at or before revision R" gives a consistent snapshot at R, and
//! reading rows by revision replays history for watches.

mod reader;
mod watch;
mod writer;

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use async_trait::async_trait;
use rusqlite::{Connection, OpenFlags};
use tokio::sync::{broadcast, mpsc, oneshot};
use tracing::info;

use crate::{KeyValue, ListPage, Result, Store, StoreError, WatchEvent, WatchStream, keys};

use reader::ReadPool;
use writer::WriteOp;

/// Queued writes beyond this make callers wait (backpressure instead of unbounded memory).
const WRITE_QUEUE: usize = 4096;
/// Commit batches buffered per watcher before it has to catch up from the log table.
const EVENT_BUFFER: usize = 1024;
/// Read connections; more than the core count helps because reads also wait on I/O.
const READ_POOL_SIZE: usize = 4;

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS kv_log (
    revision        INTEGER PRIMARY KEY,
    key             BLOB    NOT NULL,
    value           BLOB    NOT NULL,
    create_revision INTEGER NOT NULL,
    prev_revision   INTEGER NOT NULL,
    deleted         INTEGER NOT NULL
);
-- `deleted` makes the index covering for counts and compaction checks.
CREATE INDEX IF NOT EXISTS kv_log_key_revision ON kv_log (key, revision, deleted);
CREATE TABLE IF NOT EXISTS meta (
    name  TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
INSERT OR IGNORE INTO meta (name, value) VALUES ('compacted', 0);
";

/// Writes committed in one transaction, fanned out to watchers in revision order.
#[derive(Debug)]
pub(crate) struct CommitBatch {
    /// Highest revision in the batch; also the store revision right after it committed.
    pub(crate) last_revision: i64,
    pub(crate) events: Vec<WatchEvent>,
}

/// State shared by the store handle, the writer thread and watch streams.
pub(crate) struct Shared {
    pub(crate) pool: Arc<ReadPool>,
    /// Latest committed revision. The writer stores it after commit and before broadcasting the
    /// batch; `watch` depends on that order to join replay and live events without a gap.
    pub(crate) revision: AtomicI64,
    /// Compaction floor, mirrored from the `meta` table for cheap checks.
    pub(crate) compacted: AtomicI64,
}

/// A [`Store`] in one SQLite database file (plus its `-wal` and `-shm` companions).
pub struct SqliteStore {
    shared: Arc<Shared>,
    writes: mpsc::Sender<WriteOp>,
    events: broadcast::Sender<Arc<CommitBatch>>,
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::Backend(format!("sqlite: {e}"))
    }
}

impl SqliteStore {
    /// Open (creating if needed) the database at `path` and start its writer thread.
    pub fn open(path: &Path) -> Result<Self> {
        let conn = open_connection(path, false)?;
        let mode: String = conn.query_row("PRAGMA journal_mode = WAL", [], |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(StoreError::Backend(format!(
                "sqlite: could not enable WAL mode on {} (got {mode})",
                path.display()
            )));
        }
        // NORMAL in WAL mode syncs only at checkpoints: a committed transaction is in the WAL
        // file before commit returns, so it survives the process being killed (not power loss).
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.execute_batch(SCHEMA)?;

        let max_row: i64 =
            conn.query_row("SELECT COALESCE(MAX(revision), 0) FROM kv_log", [], |r| {
                r.get(0)
            })?;
        let compacted: i64 =
            conn.query_row("SELECT value FROM meta WHERE name = 'compacted'", [], |r| {
                r.get(0)
            })?;
        // Compaction only removes rows at or below the floor it persisted first, so the current
        // revision is recoverable even when the newest rows (tombstones) were removed.
        let revision = max_row.max(compacted);
        info!(path = %path.display(), revision, compacted, "opened sqlite store");

        let shared = Arc::new(Shared {
            pool: Arc::new(ReadPool::new(path.to_path_buf(), READ_POOL_SIZE)),
            revision: AtomicI64::new(revision),
            compacted: AtomicI64::new(compacted),
        });
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let (writes, queue) = mpsc::channel(WRITE_QUEUE);
        writer::spawn(conn, queue, Arc::clone(&shared), events.clone())?;
        Ok(SqliteStore {
            shared,
            writes,
            events,
        })
    }

    async fn submit<T>(&self, op: impl FnOnce(oneshot::Sender<Result<T>>) -> WriteOp) -> Result<T> {
        let (reply, answer) = oneshot::channel();
        self.writes
            .send(op(reply))
            .await
            .map_err(|_| writer_gone())?;
        answer.await.map_err(|_| writer_gone())?
    }
}

fn writer_gone() -> StoreError {
    StoreError::Backend("sqlite: writer thread stopped".into())
}

/// Opens a connection with the settings every connection needs; readers are made query-only
/// so a bug can never turn them into a second writer.
pub(crate) fn open_connection(path: &Path, read_only: bool) -> rusqlite::Result<Connection> {
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_CREATE
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = Connection::open_with_flags(path, flags)?;
    // Checkpoints and compaction slices briefly hold locks; wait instead of failing.
    conn.busy_timeout(std::time::Duration::from_secs(10))?;
    // The bundled SQLite is built with STAT4, which marks bound keys as plan-relevant and then
    // re-parses a cached statement every time a new key is bound (~8 % of the API server's CPU
    // under the scheduler benchmark). Our queries have one right plan each; keep it.
    conn.set_db_config(
        rusqlite::config::DbConfig::SQLITE_DBCONFIG_ENABLE_QPSG,
        true,
    )?;
    // Page cache per connection (KiB when negative). The API server keeps every object in its
    // watch cache, so SQLite only needs the index pages and recent writes hot; the kernel's page
    // cache covers the rest without counting against the process.
    let cache_kib = if read_only { -2_000 } else { -8_000 };
    conn.pragma_update(None, "cache_size", cache_kib)?;
    if read_only {
        conn.pragma_update(None, "query_only", true)?;
    }
    Ok(conn)
}

/// Half-open byte range of keys under `prefix`. Keys are UTF-8, which never contains 0xff, so
/// `[0xff]` bounds the empty prefix.
pub(crate) fn key_range(prefix: &str) -> (Vec<u8>, Vec<u8>) {
    let end = keys::prefix_end(prefix.as_bytes()).unwrap_or_else(|| vec![0xff]);
    (prefix.as_bytes().to_vec(), end)
}

#[async_trait]
impl Store for SqliteStore {
    async fn create(&self, key: &str, value: Vec<u8>) -> Result<KeyValue> {
        let key = key.to_owned();
        self.submit(|reply| WriteOp::Create { key, value, reply })
            .await
    }

    async fn update(&self, key: &str, value: Vec<u8>, expected_revision: i64) -> Result<KeyValue> {
        let key = key.to_owned();
        self.submit(|reply| WriteOp::Update {
            key,
            value,
            expected: expected_revision,
            reply,
        })
        .await
    }

    async fn delete(&self, key: &str, expected_revision: Option<i64>) -> Result<(KeyValue, i64)> {
        let key = key.to_owned();
        self.submit(|reply| WriteOp::Delete {
            key,
            expected: expected_revision,
            reply,
        })
        .await
    }

    async fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        let key = key.to_owned();
        self.shared
            .pool
            .run(move |conn| reader::get(conn, &key))
            .await
    }

    async fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
        revision: Option<i64>,
    ) -> Result<ListPage> {
        let current = self.shared.revision.load(Ordering::SeqCst);
        // Rows above `at` may appear while we read; filtering by revision keeps the page a
        // snapshot without holding any lock against the writer.
        let at = match revision {
            Some(requested) if requested > current => {
                return Err(StoreError::FutureRevision { requested, current });
            }
            Some(requested) if requested > 0 => requested,
            _ => current,
        };
        let start = keys::range_start(prefix, start_after);
        let (_, end) = key_range(prefix);
        self.shared
            .pool
            .run(move |conn| reader::list(conn, &start, &end, limit, at))
            .await
    }

    async fn count(&self, prefix: &str) -> Result<i64> {
        let (start, end) = key_range(prefix);
        self.shared
            .pool
            .run(move |conn| reader::count(conn, &start, &end, i64::MAX))
            .await
    }

    async fn current_revision(&self) -> Result<i64> {
        Ok(self.shared.revision.load(Ordering::SeqCst))
    }

    async fn watch(&self, prefix: &str, after_revision: i64) -> Result<WatchStream> {
        // Subscribe before `watch::start` reads the current revision (see `Shared::revision`).
        let live = self.events.subscribe();
        watch::start(Arc::clone(&self.shared), live, prefix, after_revision)
    }

    async fn compact(&self, revision: i64) -> Result<()> {
        self.submit(|reply| WriteOp::Compact { revision, reply })
            .await
    }

    async fn compacted_revision(&self) -> Result<i64> {
        Ok(self.shared.compacted.load(Ordering::SeqCst))
    }
}
