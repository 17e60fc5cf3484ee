//! The single writer of the SQLite backend. One OS thread owns the only read-write connection.
//! Callers queue operations; the thread commits everything that queued up meanwhile as one
//! transaction (group commit), still checking each operation's precondition on its own, then
//! publishes the new revision and broadcasts the committed events to watchers.
//!
//! Compaction runs here as well, in small transactions interleaved with write batches, so a
//! large compaction never stalls writers for more than one slice.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use rusqlite::{Connection, OptionalExtension, Transaction, params};
use tokio::sync::mpsc::error::TryRecvError;
use tokio::sync::{broadcast, mpsc, oneshot};
use tracing::{debug, error, info};

use super::{CommitBatch, Shared};
use crate::{KeyValue, Result, StoreError, WatchEvent};

/// Upper bound on one group commit, so one transaction (and the latency of its first caller)
/// stays small even under a flood of writes.
const MAX_BATCH: usize = 256;
/// Rows examined per compaction transaction.
const COMPACT_SLICE_ROWS: i64 = 2000;

const INSERT_SQL: &str = "
INSERT INTO kv_log (revision, key, value, create_revision, prev_revision, deleted)
VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

/// Rows in `(?1, ?2]` that no read at or after revision `?3` can need: tombstones, and rows
/// superseded by a newer row of the same key at or before `?3`.
const COMPACT_SQL: &str = "
DELETE FROM kv_log
WHERE revision > ?1 AND revision <= ?2
  AND (deleted = 1 OR EXISTS (
      SELECT 1 FROM kv_log AS newer
      WHERE newer.key = kv_log.key AND newer.revision > kv_log.revision AND newer.revision <= ?3))";

type KvReply = oneshot::Sender<Result<KeyValue>>;
type DeleteReply = oneshot::Sender<Result<(KeyValue, i64)>>;

pub(crate) enum WriteOp {
    Create {
        key: String,
        value: Vec<u8>,
        reply: KvReply,
    },
    Update {
        key: String,
        value: Vec<u8>,
        expected: i64,
        reply: KvReply,
    },
    Delete {
        key: String,
        expected: Option<i64>,
        reply: DeleteReply,
    },
    Compact {
        revision: i64,
        reply: oneshot::Sender<Result<()>>,
    },
}

/// Result of one mutation inside a batch, held until the batch commits.
enum Outcome {
    Kv(Result<KeyValue>),
    Deleted(Result<(KeyValue, i64)>),
}

struct CompactJob {
    target: i64,
    /// Rows at or below this revision have been examined.
    cursor: i64,
    removed: usize,
    reply: oneshot::Sender<Result<()>>,
}

struct Writer {
    conn: Connection,
    shared: Arc<Shared>,
    events: broadcast::Sender<Arc<CommitBatch>>,
    revision: i64,
    jobs: VecDeque<CompactJob>,
}

pub(crate) fn spawn(
    conn: Connection,
    queue: mpsc::Receiver<WriteOp>,
    shared: Arc<Shared>,
    events: broadcast::Sender<Arc<CommitBatch>>,
) -> Result<()> {
    let writer = Writer {
        conn,
        revision: shared.revision.load(Ordering::SeqCst),
        shared,
        events,
        jobs: VecDeque::new(),
    };
    std::thread::Builder::new()
        .name("capstan-sqlite-writer".into())
        .spawn(move || writer.run(queue))
        .map_err(|e| StoreError::Backend(format!("sqlite: cannot start writer thread: {e}")))?;
    Ok(())
}

impl Writer {
    /// Runs until every store handle is gone (the queue closes).
    fn run(mut self, mut queue: mpsc::Receiver<WriteOp>) {
        loop {
            let first = if self.jobs.is_empty() {
                match queue.blocking_recv() {
                    Some(op) => op,
                    None => break,
                }
            } else {
                match queue.try_recv() {
                    Ok(op) => op,
                    Err(TryRecvError::Empty) => {
                        self.compact_slice();
                        continue;
                    }
                    Err(TryRecvError::Disconnected) => break,
                }
            };
            let mut batch = vec![first];
            while batch.len() < MAX_BATCH {
                match queue.try_recv() {
                    Ok(op) => batch.push(op),
                    Err(_) => break,
                }
            }
            self.process(batch);
            if !self.jobs.is_empty() {
                self.compact_slice();
            }
        }
        debug!("sqlite writer stopped");
    }

    fn process(&mut self, batch: Vec<WriteOp>) {
        let mut mutations = Vec::with_capacity(batch.len());
        let mut compactions = Vec::new();
        for op in batch {
            match op {
                WriteOp::Compact { revision, reply } => compactions.push((revision, reply)),
                other => mutations.push(other),
            }
        }
        if !mutations.is_empty() {
            self.commit(mutations);
        }
        for (revision, reply) in compactions {
            self.start_compaction(revision, reply);
        }
    }

    fn commit(&mut self, ops: Vec<WriteOp>) {
        let mut next = self.revision;
        let mut events = Vec::new();
        let applied = (|| -> rusqlite::Result<Vec<Outcome>> {
            let tx = self.conn.transaction()?;
            let mut outcomes = Vec::with_capacity(ops.len());
            for op in &ops {
                let (outcome, event) = apply(&tx, op, &mut next)?;
                outcomes.push(outcome);
                events.extend(event);
            }
            tx.commit()?;
            Ok(outcomes)
        })();
        let outcomes = match applied {
            Ok(outcomes) => outcomes,
            Err(e) => {
                // The transaction rolled back, so no revision was used; fail the whole batch.
                error!(error = %e, ops = ops.len(), "sqlite write batch failed");
                for op in ops {
                    fail(op, StoreError::Backend(format!("sqlite: {e}")));
                }
                return;
            }
        };
        if next > self.revision {
            self.revision = next;
            // Publish before broadcasting: see `Shared::revision`.
            self.shared.revision.store(next, Ordering::SeqCst);
            // No receivers is normal (nobody watching).
            let _ = self.events.send(Arc::new(CommitBatch {
                last_revision: next,
                events,
            }));
        }
        for (op, outcome) in ops.into_iter().zip(outcomes) {
            deliver(op, outcome);
        }
    }

    fn start_compaction(&mut self, revision: i64, reply: oneshot::Sender<Result<()>>) {
        if revision > self.revision {
            let _ = reply.send(Err(StoreError::FutureRevision {
                requested: revision,
                current: self.revision,
            }));
            return;
        }
        if revision <= self.shared.compacted.load(Ordering::SeqCst) {
            // Already compacted at least this far: nothing to do.
            let _ = reply.send(Ok(()));
            return;
        }
        // Raise the floor before removing anything: readers check it in the same snapshot as
        // the rows they read, so they either see the old floor with all rows or the new floor.
        if let Err(e) = self.conn.execute(
            "UPDATE meta SET value = ?1 WHERE name = 'compacted'",
            params![revision],
        ) {
            error!(error = %e, revision, "sqlite compaction failed");
            let _ = reply.send(Err(e.into()));
            return;
        }
        self.shared.compacted.store(revision, Ordering::SeqCst);
        info!(revision, "sqlite compaction started");
        self.jobs.push_back(CompactJob {
            target: revision,
            cursor: 0,
            removed: 0,
            reply,
        });
    }

    fn compact_slice(&mut self) {
        let Some(job) = self.jobs.front_mut() else {
            return;
        };
        let slice = (|| -> rusqlite::Result<(i64, usize)> {
            let tx = self.conn.transaction()?;
            let slice_end: Option<i64> = tx
                .query_row(
                    "SELECT revision FROM kv_log WHERE revision > ?1 AND revision <= ?2
                     ORDER BY revision LIMIT 1 OFFSET ?3",
                    params![job.cursor, job.target, COMPACT_SLICE_ROWS - 1],
                    |r| r.get(0),
                )
                .optional()?;
            let slice_end = slice_end.unwrap_or(job.target);
            let removed = tx.execute(COMPACT_SQL, params![job.cursor, slice_end, job.target])?;
            tx.commit()?;
            Ok((slice_end, removed))
        })();
        match slice {
            Ok((slice_end, removed)) => {
                job.cursor = slice_end;
                job.removed += removed;
                if job.cursor < job.target {
                    return;
                }
                if let Some(job) = self.jobs.pop_front() {
                    info!(
                        revision = job.target,
                        removed = job.removed,
                        "sqlite compaction finished"
                    );
                    let _ = job.reply.send(Ok(()));
                }
            }
            Err(e) => {
                // The floor is already raised, so reads stay correct; the leftover rows are
                // removed by the next compaction, which rescans from the start.
                error!(error = %e, revision = job.target, "sqlite compaction failed");
                if let Some(job) = self.jobs.pop_front() {
                    let _ = job.reply.send(Err(e.into()));
                }
            }
        }
    }
}

/// The live (non-deleted) row of `key`, as seen inside the batch transaction.
fn current(tx: &Transaction<'_>, key: &str) -> rusqlite::Result<Option<KeyValue>> {
    super::reader::latest(tx, key)
}

fn insert(
    tx: &Transaction<'_>,
    revision: i64,
    key: &str,
    value: &[u8],
    create_revision: i64,
    prev_revision: i64,
    deleted: bool,
) -> rusqlite::Result<()> {
    tx.prepare_cached(INSERT_SQL)?.execute(params![
        revision,
        key.as_bytes(),
        value,
        create_revision,
        prev_revision,
        deleted
    ])?;
    Ok(())
}

/// Applies one mutation. A failed precondition is an `Outcome` for that caller only; only SQL
/// errors (`Err`) abort the batch.
fn apply(
    tx: &Transaction<'_>,
    op: &WriteOp,
    next: &mut i64,
) -> rusqlite::Result<(Outcome, Option<WatchEvent>)> {
    let revision = *next + 1;
    match op {
        WriteOp::Create { key, value, .. } => {
            if current(tx, key)?.is_some() {
                return Ok((
                    Outcome::Kv(Err(StoreError::AlreadyExists(key.clone()))),
                    None,
                ));
            }
            insert(tx, revision, key, value, revision, 0, false)?;
            *next = revision;
            let kv = KeyValue {
                key: key.clone(),
                value: value.clone(),
                create_revision: revision,
                mod_revision: revision,
            };
            Ok((
                Outcome::Kv(Ok(kv.clone())),
                Some(WatchEvent::Put { kv, prev: None }),
            ))
        }
        WriteOp::Update {
            key,
            value,
            expected,
            ..
        } => {
            let Some(prev) = current(tx, key)? else {
                return Ok((Outcome::Kv(Err(StoreError::NotFound(key.clone()))), None));
            };
            if prev.mod_revision != *expected {
                return Ok((Outcome::Kv(Err(conflict(key, *expected, &prev))), None));
            }
            insert(
                tx,
                revision,
                key,
                value,
                prev.create_revision,
                prev.mod_revision,
                false,
            )?;
            *next = revision;
            let kv = KeyValue {
                key: key.clone(),
                value: value.clone(),
                create_revision: prev.create_revision,
                mod_revision: revision,
            };
            Ok((
                Outcome::Kv(Ok(kv.clone())),
                Some(WatchEvent::Put {
                    kv,
                    prev: Some(prev),
                }),
            ))
        }
        WriteOp::Delete { key, expected, .. } => {
            let Some(prev) = current(tx, key)? else {
                return Ok((
                    Outcome::Deleted(Err(StoreError::NotFound(key.clone()))),
                    None,
                ));
            };
            if let Some(expected) = *expected
                && prev.mod_revision != expected
            {
                return Ok((Outcome::Deleted(Err(conflict(key, expected, &prev))), None));
            }
            // The tombstone stores no value: replay finds it through `prev_revision`.
            insert(
                tx,
                revision,
                key,
                &[],
                prev.create_revision,
                prev.mod_revision,
                true,
            )?;
            *next = revision;
            Ok((
                Outcome::Deleted(Ok((prev.clone(), revision))),
                Some(WatchEvent::Delete { prev, revision }),
            ))
        }
        WriteOp::Compact { .. } => Ok((
            Outcome::Kv(Err(StoreError::Backend(
                "sqlite: compaction is not a batched write".into(),
            ))),
            None,
        )),
    }
}

fn conflict(key: &str, expected: i64, current: &KeyValue) -> StoreError {
    StoreError::Conflict {
        key: key.to_owned(),
        expected,
        actual: current.mod_revision,
    }
}

/// Answers the caller. A send error only means the caller stopped waiting, which is fine:
/// the write is committed either way.
fn deliver(op: WriteOp, outcome: Outcome) {
    match (op, outcome) {
        (WriteOp::Create { reply, .. } | WriteOp::Update { reply, .. }, Outcome::Kv(result)) => {
            let _ = reply.send(result);
        }
        (WriteOp::Delete { reply, .. }, Outcome::Deleted(result)) => {
            let _ = reply.send(result);
        }
        (op, _) => fail(
            op,
            StoreError::Backend("sqlite: internal error: mismatched write outcome".into()),
        ),
    }
}

fn fail(op: WriteOp, err: StoreError) {
    match op {
        WriteOp::Create { reply, .. } | WriteOp::Update { reply, .. } => {
            let _ = reply.send(Err(err));
        }
        WriteOp::Delete { reply, .. } => {
            let _ = reply.send(Err(err));
        }
        WriteOp::Compact { reply, .. } => {
            let _ = reply.send(Err(err));
        }
    }
}
