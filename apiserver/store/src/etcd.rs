//! etcd v3 backend. Maps the `Store` contract onto etcd transactions, ranges and watches;
//! etcd's own revision is used directly as the store revision, so nothing is kept locally
//! except a cached lower bound of the compaction revision.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use std::time::Duration;

use async_trait::async_trait;
use etcd_client::{
    Client, Compare, CompareOp, ConnectOptions, DeleteOptions, EventType, GetOptions, GetResponse,
    PutOptions, Txn, TxnOp, TxnOpResponse, TxnResponse, WatchOptions,
};
use futures::StreamExt;
use tracing::{info, warn};

use crate::{KeyValue, ListPage, Result, Store, StoreError, WatchEvent, WatchStream, keys};

/// Key probed for revision-only requests. Count-only ranges never return data, so any key works.
const PROBE_KEY: &[u8] = b"\0";

/// A [`Store`] backed by an etcd v3 cluster.
#[derive(Clone)]
pub struct EtcdStore {
    client: Client,
    /// Highest compaction revision known to this process: nothing below it is readable.
    known_compacted: Arc<AtomicI64>,
}

/// How an etcd error relates to the revision a request asked for.
enum Failure {
    Compacted,
    Future,
    Other(String),
}

fn classify(e: &etcd_client::Error) -> Failure {
    let text = e.to_string();
    if text.contains("required revision has been compacted") {
        Failure::Compacted
    } else if text.contains("required revision is a future revision") {
        Failure::Future
    } else {
        Failure::Other(text)
    }
}

fn backend(e: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(format!("etcd: {e}"))
}

fn convert(kv: &etcd_client::KeyValue) -> Result<KeyValue> {
    let key = std::str::from_utf8(kv.key())
        .map_err(|e| backend(format!("key is not UTF-8: {e}")))?
        .to_owned();
    Ok(KeyValue {
        key,
        value: kv.value().to_vec(),
        create_revision: kv.create_revision(),
        mod_revision: kv.mod_revision(),
    })
}

fn header_revision(header: Option<&etcd_client::ResponseHeader>) -> Result<i64> {
    header
        .map(|h| h.revision())
        .ok_or_else(|| backend("response without header"))
}

/// Range end for `prefix`; `"\0"` means "to the end of the keyspace" to etcd.
fn range_end(prefix: &str) -> Vec<u8> {
    keys::prefix_end(prefix.as_bytes()).unwrap_or_else(|| vec![0])
}

/// etcd rejects an empty key; `"\0"` is the smallest key there is, so it starts the same range.
fn range_key(start: &[u8]) -> Vec<u8> {
    if start.is_empty() {
        vec![0]
    } else {
        start.to_vec()
    }
}

/// The value of the `get` run in a failed transaction's else branch (absent key → `None`).
fn else_branch_value(resp: &TxnResponse) -> Result<Option<KeyValue>> {
    for op in resp.op_responses() {
        if let TxnOpResponse::Get(get) = op {
            return get.kvs().first().map(convert).transpose();
        }
    }
    Err(backend("transaction response without the expected get"))
}

impl EtcdStore {
    /// Connect to the cluster at `endpoints` (e.g. `http://127.0.0.1:2379`).
    pub async fn connect(endpoints: &[String]) -> Result<Self> {
        let options = ConnectOptions::new()
            .with_connect_timeout(Duration::from_secs(5))
            .with_keep_alive(Duration::from_secs(10), Duration::from_secs(5));
        let client = Client::connect(endpoints, Some(options))
            .await
            .map_err(backend)?;
        info!(?endpoints, "connected to etcd");
        Ok(EtcdStore {
            client,
            known_compacted: Arc::new(AtomicI64::new(0)),
        })
    }

    /// Maps an error of a request made at `requested` (0 = current) to a `StoreError`.
    async fn revision_error(&self, e: etcd_client::Error, requested: i64) -> StoreError {
        match classify(&e) {
            Failure::Compacted => match self.compacted_revision().await {
                Ok(compacted) => StoreError::Compacted {
                    requested,
                    compacted,
                },
                Err(e) => e,
            },
            Failure::Future => match self.current_revision().await {
                Ok(current) => StoreError::FutureRevision { requested, current },
                Err(e) => e,
            },
            Failure::Other(text) => backend(text),
        }
    }

    /// Whether a read at `revision` still succeeds (false once it has been compacted away).
    async fn readable_at(&self, revision: i64) -> Result<bool> {
        let options = GetOptions::new().with_count_only().with_revision(revision);
        match self.client.kv_client().get(PROBE_KEY, Some(options)).await {
            Ok(_) => Ok(true),
            Err(e) => match classify(&e) {
                Failure::Compacted => Ok(false),
                _ => Err(backend(e)),
            },
        }
    }

    fn note_compacted(&self, revision: i64) {
        self.known_compacted.fetch_max(revision, Ordering::SeqCst);
    }
}

#[async_trait]
impl Store for EtcdStore {
    async fn create(&self, key: &str, value: Vec<u8>) -> Result<KeyValue> {
        let txn = Txn::new()
            .when([Compare::create_revision(key, CompareOp::Equal, 0)])
            .and_then([TxnOp::put(key, value.clone(), None)]);
        let resp = self.client.kv_client().txn(txn).await.map_err(backend)?;
        if !resp.succeeded() {
            return Err(StoreError::AlreadyExists(key.to_owned()));
        }
        let revision = header_revision(resp.header())?;
        Ok(KeyValue {
            key: key.to_owned(),
            value,
            create_revision: revision,
            mod_revision: revision,
        })
    }

    async fn update(&self, key: &str, value: Vec<u8>, expected_revision: i64) -> Result<KeyValue> {
        // `version > 0` keeps an expected revision of 0 from matching an absent key.
        let txn = Txn::new()
            .when([
                Compare::version(key, CompareOp::Greater, 0),
                Compare::mod_revision(key, CompareOp::Equal, expected_revision),
            ])
            .and_then([TxnOp::put(
                key,
                value.clone(),
                Some(PutOptions::new().with_prev_key()),
            )])
            .or_else([TxnOp::get(key, None)]);
        let resp = self.client.kv_client().txn(txn).await.map_err(backend)?;
        if !resp.succeeded() {
            return Err(match else_branch_value(&resp)? {
                None => StoreError::NotFound(key.to_owned()),
                Some(current) => StoreError::Conflict {
                    key: key.to_owned(),
                    expected: expected_revision,
                    actual: current.mod_revision,
                },
            });
        }
        let revision = header_revision(resp.header())?;
        let prev = resp.op_responses().into_iter().find_map(|op| match op {
            TxnOpResponse::Put(put) => put.prev_key().map(convert),
            _ => None,
        });
        let prev = prev.ok_or_else(|| backend("update response without previous value"))??;
        Ok(KeyValue {
            key: key.to_owned(),
            value,
            create_revision: prev.create_revision,
            mod_revision: revision,
        })
    }

    async fn delete(&self, key: &str, expected_revision: Option<i64>) -> Result<(KeyValue, i64)> {
        let mut compares = vec![Compare::version(key, CompareOp::Greater, 0)];
        if let Some(expected) = expected_revision {
            compares.push(Compare::mod_revision(key, CompareOp::Equal, expected));
        }
        let txn = Txn::new()
            .when(compares)
            .and_then([TxnOp::delete(
                key,
                Some(DeleteOptions::new().with_prev_key()),
            )])
            .or_else([TxnOp::get(key, None)]);
        let resp = self.client.kv_client().txn(txn).await.map_err(backend)?;
        if !resp.succeeded() {
            return Err(match (else_branch_value(&resp)?, expected_revision) {
                (Some(current), Some(expected)) => StoreError::Conflict {
                    key: key.to_owned(),
                    expected,
                    actual: current.mod_revision,
                },
                _ => StoreError::NotFound(key.to_owned()),
            });
        }
        let revision = header_revision(resp.header())?;
        let prev = resp.op_responses().into_iter().find_map(|op| match op {
            TxnOpResponse::Delete(del) => del.prev_kvs().first().map(convert),
            _ => None,
        });
        let prev = prev.ok_or_else(|| backend("delete response without previous value"))??;
        Ok((prev, revision))
    }

    async fn get(&self, key: &str) -> Result<Option<KeyValue>> {
        let resp = self
            .client
            .kv_client()
            .get(key, None)
            .await
            .map_err(backend)?;
        resp.kvs().first().map(convert).transpose()
    }

    async fn list(
        &self,
        prefix: &str,
        start_after: Option<&str>,
        limit: usize,
        revision: Option<i64>,
    ) -> Result<ListPage> {
        let start = range_key(&keys::range_start(prefix, start_after));
        let end = range_end(prefix);
        let requested = revision.filter(|r| *r > 0).unwrap_or(0);
        if end != [0] && start >= end {
            // A cursor past the prefix: etcd would reject the inverted range.
            let revision = match revision.filter(|r| *r > 0) {
                Some(r) => r,
                None => self.current_revision().await?,
            };
            return Ok(ListPage {
                revision,
                remaining: Some(0),
                ..ListPage::default()
            });
        }
        let mut options = GetOptions::new().with_range(end);
        if limit > 0 {
            options = options.with_limit(i64::try_from(limit).unwrap_or(i64::MAX));
        }
        if requested > 0 {
            options = options.with_revision(requested);
        }
        let resp: GetResponse = match self.client.kv_client().get(start, Some(options)).await {
            Ok(resp) => resp,
            Err(e) => return Err(self.revision_error(e, requested).await),
        };
        let items = resp.kvs().iter().map(convert).collect::<Result<Vec<_>>>()?;
        // For historical reads the header carries the current revision, not the one read at.
        let revision = if requested > 0 {
            requested
        } else {
            header_revision(resp.header())?
        };
        let returned = i64::try_from(items.len()).unwrap_or(i64::MAX);
        Ok(ListPage {
            remaining: Some((resp.count() - returned).max(0)),
            more: resp.more(),
            items,
            revision,
        })
    }

    async fn count(&self, prefix: &str) -> Result<i64> {
        let options = GetOptions::new()
            .with_range(range_end(prefix))
            .with_count_only();
        let resp = self
            .client
            .kv_client()
            .get(range_key(prefix.as_bytes()), Some(options))
            .await
            .map_err(backend)?;
        Ok(resp.count())
    }

    async fn current_revision(&self) -> Result<i64> {
        let resp = self
            .client
            .kv_client()
            .get(PROBE_KEY, Some(GetOptions::new().with_count_only()))
            .await
            .map_err(backend)?;
        header_revision(resp.header())
    }

    async fn watch(&self, prefix: &str, after_revision: i64) -> Result<WatchStream> {
        let known = self.known_compacted.load(Ordering::SeqCst);
        if after_revision < known {
            return Err(StoreError::Compacted {
                requested: after_revision,
                compacted: known,
            });
        }
        let options = WatchOptions::new()
            .with_range(range_end(prefix))
            .with_start_revision(after_revision.max(0) + 1)
            .with_prev_key();
        let stream = self
            .client
            .watch_client()
            .watch(range_key(prefix.as_bytes()), Some(options))
            .await
            .map_err(backend)?;
        let store = self.clone();
        let events = futures::stream::unfold((stream, false), move |(mut stream, done)| {
            let store = store.clone();
            async move {
                if done {
                    return None;
                }
                // One etcd response carries many events; flatten them below.
                let batch = match stream.next().await? {
                    Ok(resp) => watch_response(&store, resp, after_revision),
                    Err(e) => Err(backend(e)),
                };
                let done = batch.is_err();
                Some((batch, (stream, done)))
            }
        });
        Ok(Box::pin(events.flat_map(|batch| {
            futures::stream::iter(match batch {
                Ok(events) => events.into_iter().map(Ok).collect::<Vec<_>>(),
                Err(e) => vec![Err(e)],
            })
        })))
    }

    async fn compact(&self, revision: i64) -> Result<()> {
        match self.client.kv_client().compact(revision, None).await {
            Ok(_) => {
                self.note_compacted(revision);
                info!(revision, "etcd compacted");
                Ok(())
            }
            // Compacting to or below an earlier compaction is a no-op, not a failure.
            Err(e) if matches!(classify(&e), Failure::Compacted) => Ok(()),
            Err(e) => Err(self.revision_error(e, revision).await),
        }
    }

    async fn compacted_revision(&self) -> Result<i64> {
        // etcd does not report its compaction revision directly; reads below it fail, at or
        // above it succeed, so binary-search the boundary starting from what we already know.
        let current = self.current_revision().await?;
        let mut low = self.known_compacted.load(Ordering::SeqCst).max(1);
        let mut high = current.max(low);
        while low < high {
            let mid = low + (high - low) / 2;
            if self.readable_at(mid).await? {
                high = mid;
            } else {
                low = mid + 1;
            }
        }
        // Revision 1 is etcd's empty initial state: readable from 1 means never compacted.
        let compacted = if low <= 1 { 0 } else { low };
        self.note_compacted(compacted);
        Ok(compacted)
    }
}

/// Converts one etcd watch response into our events (empty for created/progress responses).
fn watch_response(
    store: &EtcdStore,
    resp: etcd_client::WatchResponse,
    after_revision: i64,
) -> Result<Vec<WatchEvent>> {
    if resp.compact_revision() > 0 {
        store.note_compacted(resp.compact_revision());
        return Err(StoreError::Compacted {
            requested: after_revision,
            compacted: resp.compact_revision(),
        });
    }
    if resp.canceled() {
        return Err(backend(format!("watch canceled: {}", resp.cancel_reason())));
    }
    let mut events = Vec::with_capacity(resp.events().len());
    for event in resp.events() {
        let Some(kv) = event.kv() else { continue };
        let kv = convert(kv)?;
        let prev = event.prev_kv().map(convert).transpose()?;
        events.push(match event.event_type() {
            EventType::Put => WatchEvent::Put { kv, prev },
            EventType::Delete => {
                let prev = prev.unwrap_or_else(|| {
                    // etcd omits prev_kv if that revision was compacted meanwhile.
                    warn!(key = %kv.key, revision = kv.mod_revision, "delete event without previous value");
                    KeyValue {
                        key: kv.key.clone(),
                        value: Vec::new(),
                        create_revision: 0,
                        mod_revision: 0,
                    }
                });
                WatchEvent::Delete {
                    prev,
                    revision: kv.mod_revision,
                }
            }
        });
    }
    Ok(events)
}
