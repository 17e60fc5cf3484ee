//! Watch streams of the SQLite backend: replay of history from the log table, then live events
//! from the writer's broadcast, falling back to the table whenever the stream lags behind the
//! broadcast buffer. A single `cursor` (every change at or below it has been handled) makes the
//! hand-over between the two sources free of gaps and duplicates.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use tokio::sync::broadcast::{self, error::RecvError};
use tracing::debug;

use super::{CommitBatch, Shared, reader};
use crate::{Result, StoreError, WatchEvent, WatchStream};

/// Rows read from the table per round trip while catching up.
const REPLAY_CHUNK: usize = 500;

struct WatchState {
    shared: Arc<Shared>,
    live: broadcast::Receiver<Arc<CommitBatch>>,
    start: Vec<u8>,
    end: Vec<u8>,
    /// Every change with a revision at or below this has been delivered or filtered out.
    cursor: i64,
    /// While set, history up to this revision still has to come from the table.
    replay_until: Option<i64>,
    buffer: VecDeque<WatchEvent>,
    done: bool,
}

/// `live` must have been subscribed before this call: every batch committed after the revision
/// read here is then guaranteed to arrive through it, because the writer publishes a revision
/// before broadcasting its batch.
pub(crate) fn start(
    shared: Arc<Shared>,
    live: broadcast::Receiver<Arc<CommitBatch>>,
    prefix: &str,
    after: i64,
) -> Result<WatchStream> {
    let head = shared.revision.load(Ordering::SeqCst);
    let compacted = shared.compacted.load(Ordering::SeqCst);
    if after < compacted {
        return Err(StoreError::Compacted {
            requested: after,
            compacted,
        });
    }
    let (start, end) = super::key_range(prefix);
    let state = WatchState {
        shared,
        live,
        start,
        end,
        cursor: after,
        replay_until: (after < head).then_some(head),
        buffer: VecDeque::new(),
        done: false,
    };
    Ok(Box::pin(futures::stream::unfold(
        state,
        |mut state| async move {
            let item = state.next_item().await?;
            Some((item, state))
        },
    )))
}

impl WatchState {
    async fn next_item(&mut self) -> Option<Result<WatchEvent>> {
        loop {
            if let Some(event) = self.buffer.pop_front() {
                return Some(Ok(event));
            }
            if self.done {
                return None;
            }
            if let Some(until) = self.replay_until {
                if self.cursor >= until {
                    self.replay_until = None;
                    continue;
                }
                if let Err(e) = self.replay_chunk(until).await {
                    // Typically `Compacted`: history this watcher still needed is gone.
                    self.done = true;
                    return Some(Err(e));
                }
                continue;
            }
            match self.live.recv().await {
                Ok(batch) => self.accept(&batch),
                Err(RecvError::Lagged(missed)) => {
                    // The receiver skipped ahead; everything after the revision read now will
                    // still arrive live, and the table has the rest.
                    debug!(
                        missed,
                        cursor = self.cursor,
                        "watch lagged; catching up from the log"
                    );
                    self.replay_until = Some(self.shared.revision.load(Ordering::SeqCst));
                }
                // The store was dropped: no more changes can happen.
                Err(RecvError::Closed) => self.done = true,
            }
        }
    }

    async fn replay_chunk(&mut self, until: i64) -> Result<()> {
        let (start, end, after) = (self.start.clone(), self.end.clone(), self.cursor);
        let chunk = self
            .shared
            .pool
            .run(move |conn| reader::replay(conn, &start, &end, after, until, REPLAY_CHUNK))
            .await?;
        self.buffer.extend(chunk.events);
        self.cursor = chunk.reached;
        Ok(())
    }

    fn accept(&mut self, batch: &CommitBatch) {
        if batch.last_revision <= self.cursor {
            return;
        }
        let (cursor, start, end) = (self.cursor, &self.start, &self.end);
        self.buffer.extend(
            batch
                .events
                .iter()
                .filter(|e| {
                    let key = e.key().as_bytes();
                    e.revision() > cursor && key >= start.as_slice() && key < end.as_slice()
                })
                .cloned(),
        );
        self.cursor = batch.last_revision;
    }
}
