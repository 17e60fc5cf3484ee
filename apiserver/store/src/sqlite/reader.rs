//! Read side of the SQLite backend: a small pool of query-only connections used through
//! `spawn_blocking` (so readers never queue behind the writer), and the snapshot queries that
//! run on them: get, list and count at a revision, and history replay for watches.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};

use rusqlite::{Connection, OptionalExtension, Row, Transaction, TransactionBehavior, params};
use tokio::sync::Semaphore;

use crate::{KeyValue, ListPage, Result, StoreError, WatchEvent};

/// Latest row of each key at or before `?3`, tombstones dropped. With a single MAX() aggregate,
/// SQLite takes the bare columns (and HAVING's `deleted`) from the row holding the maximum, and
/// the (key, revision) index delivers groups in key order, so LIMIT stops the scan early.
const LIST_SQL: &str = "
SELECT key, value, create_revision, MAX(revision) FROM kv_log
WHERE key >= ?1 AND key < ?2 AND revision <= ?3
GROUP BY key HAVING deleted = 0
ORDER BY key LIMIT ?4";

const COUNT_SQL: &str = "
SELECT COUNT(*) FROM (
    SELECT MAX(revision) FROM kv_log
    WHERE key >= ?1 AND key < ?2 AND revision <= ?3
    GROUP BY key HAVING deleted = 0
)";

const GET_SQL: &str = "
SELECT revision, value, create_revision, deleted FROM kv_log
WHERE key = ?1 ORDER BY revision DESC LIMIT 1";

/// Changes in revision order with the value each one replaced. Scanning by revision suits the
/// common case of a watch resuming from a recent revision.
const REPLAY_SQL: &str = "
SELECT l.revision, l.key, l.value, l.create_revision, l.prev_revision, l.deleted,
       p.value, p.create_revision
FROM kv_log AS l LEFT JOIN kv_log AS p ON p.revision = l.prev_revision
WHERE l.revision > ?1 AND l.revision <= ?2 AND l.key >= ?3 AND l.key < ?4
ORDER BY l.revision LIMIT ?5";

pub(crate) struct ReadPool {
    path: PathBuf,
    idle: Mutex<Vec<Connection>>,
    permits: Arc<Semaphore>,
}

impl ReadPool {
    pub(crate) fn new(path: PathBuf, size: usize) -> Self {
        ReadPool {
            path,
            idle: Mutex::new(Vec::with_capacity(size)),
            permits: Arc::new(Semaphore::new(size)),
        }
    }

    /// Runs `f` on a pooled connection on the blocking thread pool. Connections are opened
    /// lazily; one lost to a panic is simply reopened next time.
    pub(crate) async fn run<T, F>(self: &Arc<Self>, f: F) -> Result<T>
    where
        T: Send + 'static,
        F: FnOnce(&mut Connection) -> Result<T> + Send + 'static,
    {
        let permit = Arc::clone(&self.permits)
            .acquire_owned()
            .await
            .map_err(|_| StoreError::Backend("sqlite: read pool closed".into()))?;
        let pool = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            let idle = pool.lock_idle().pop();
            let mut conn = match idle {
                Some(conn) => conn,
                None => super::open_connection(&pool.path, true)?,
            };
            let out = f(&mut conn);
            pool.lock_idle().push(conn);
            out
        })
        .await
        .map_err(|e| StoreError::Backend(format!("sqlite: read task failed: {e}")))?
    }

    fn lock_idle(&self) -> std::sync::MutexGuard<'_, Vec<Connection>> {
        // The vector stays valid even if a holder panicked; poisoning carries no meaning here.
        self.idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// One read transaction = one WAL snapshot, so the compaction floor and the rows read with it
/// agree even while the writer compacts.
fn snapshot(conn: &mut Connection) -> rusqlite::Result<Transaction<'_>> {
    conn.transaction_with_behavior(TransactionBehavior::Deferred)
}

fn compaction_floor(tx: &Transaction<'_>) -> rusqlite::Result<i64> {
    tx.query_row("SELECT value FROM meta WHERE name = 'compacted'", [], |r| {
        r.get(0)
    })
}

fn utf8_key(raw: Vec<u8>) -> Result<String> {
    String::from_utf8(raw)
        .map_err(|e| StoreError::Backend(format!("sqlite: stored key is not UTF-8: {e}")))
}

pub(crate) fn get(conn: &mut Connection, key: &str) -> Result<Option<KeyValue>> {
    Ok(latest(conn, key)?)
}

/// The live (non-deleted) newest row of `key`; the writer uses it inside its transaction too.
pub(crate) fn latest(conn: &Connection, key: &str) -> rusqlite::Result<Option<KeyValue>> {
    let mut stmt = conn.prepare_cached(GET_SQL)?;
    let latest = stmt
        .query_row(params![key.as_bytes()], |r| {
            Ok((
                r.get::<_, i64>(0)?,
                r.get::<_, Vec<u8>>(1)?,
                r.get::<_, i64>(2)?,
                r.get::<_, bool>(3)?,
            ))
        })
        .optional()?;
    Ok(match latest {
        Some((mod_revision, value, create_revision, false)) => Some(KeyValue {
            key: key.to_owned(),
            value,
            create_revision,
            mod_revision,
        }),
        _ => None,
    })
}

pub(crate) fn list(
    conn: &mut Connection,
    start: &[u8],
    end: &[u8],
    limit: usize,
    at: i64,
) -> Result<ListPage> {
    let tx = snapshot(conn)?;
    let compacted = compaction_floor(&tx)?;
    if at < compacted {
        return Err(StoreError::Compacted {
            requested: at,
            compacted,
        });
    }
    // One extra row tells whether another page exists without a second query.
    let fetch = if limit == 0 {
        -1
    } else {
        i64::try_from(limit).unwrap_or(i64::MAX - 1) + 1
    };
    let mut items = Vec::new();
    {
        let mut stmt = tx.prepare_cached(LIST_SQL)?;
        let mut rows = stmt.query(params![start, end, at, fetch])?;
        while let Some(row) = rows.next()? {
            items.push(KeyValue {
                key: utf8_key(row.get(0)?)?,
                value: row.get(1)?,
                create_revision: row.get(2)?,
                mod_revision: row.get(3)?,
            });
        }
    }
    let more = limit > 0 && items.len() > limit;
    let remaining = if more {
        items.truncate(limit);
        let mut after_last = items
            .last()
            .map(|kv| kv.key.as_bytes().to_vec())
            .unwrap_or_default();
        after_last.push(0);
        count_in(&tx, &after_last, end, at)?
    } else {
        0
    };
    Ok(ListPage {
        items,
        revision: at,
        more,
        remaining: Some(remaining),
    })
}

pub(crate) fn count(conn: &mut Connection, start: &[u8], end: &[u8], at: i64) -> Result<i64> {
    let tx = snapshot(conn)?;
    count_in(&tx, start, end, at)
}

fn count_in(tx: &Transaction<'_>, start: &[u8], end: &[u8], at: i64) -> Result<i64> {
    let mut stmt = tx.prepare_cached(COUNT_SQL)?;
    Ok(stmt.query_row(params![start, end, at], |r| r.get(0))?)
}

/// Part of the history a watch has not seen yet.
pub(crate) struct ReplayChunk {
    pub(crate) events: Vec<WatchEvent>,
    /// Every change up to this revision has been read (matching or not).
    pub(crate) reached: i64,
}

/// Changes to keys in `[start, end)` with revision in `(after, until]`, at most `max` of them.
pub(crate) fn replay(
    conn: &mut Connection,
    start: &[u8],
    end: &[u8],
    after: i64,
    until: i64,
    max: usize,
) -> Result<ReplayChunk> {
    let tx = snapshot(conn)?;
    let compacted = compaction_floor(&tx)?;
    if after < compacted {
        return Err(StoreError::Compacted {
            requested: after,
            compacted,
        });
    }
    let max_rows = i64::try_from(max).unwrap_or(i64::MAX);
    let mut events = Vec::new();
    {
        let mut stmt = tx.prepare_cached(REPLAY_SQL)?;
        let mut rows = stmt.query(params![after, until, start, end, max_rows])?;
        while let Some(row) = rows.next()? {
            events.push(event_from_row(row)?);
        }
    }
    let reached = if events.len() == max {
        events.last().map_or(until, WatchEvent::revision)
    } else {
        until
    };
    Ok(ReplayChunk { events, reached })
}

fn event_from_row(row: &Row<'_>) -> Result<WatchEvent> {
    let revision: i64 = row.get(0)?;
    let key = utf8_key(row.get(1)?)?;
    let prev_revision: i64 = row.get(4)?;
    let deleted: bool = row.get(5)?;
    let prev = match (
        row.get::<_, Option<Vec<u8>>>(6)?,
        row.get::<_, Option<i64>>(7)?,
    ) {
        (Some(value), Some(create_revision)) if prev_revision > 0 => Some(KeyValue {
            key: key.clone(),
            value,
            create_revision,
            mod_revision: prev_revision,
        }),
        _ => None,
    };
    if deleted {
        // Compaction keeps the row a retained tombstone points at, so this is corruption.
        let prev = prev.ok_or_else(|| {
            StoreError::Backend(format!(
                "sqlite: delete of {key} at revision {revision} has no previous value"
            ))
        })?;
        return Ok(WatchEvent::Delete { prev, revision });
    }
    Ok(WatchEvent::Put {
        kv: KeyValue {
            key,
            value: row.get(2)?,
            create_revision: row.get(3)?,
            mod_revision: revision,
        },
        prev,
    })
}
