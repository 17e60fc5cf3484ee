//! Conformance suite for the `Store` contract. Every behaviour is written once, generically over
//! `Arc<dyn Store>`, and instantiated for each backend by `conformance!` (SQLite on a temporary
//! file, etcd as a real throwaway server). Backend-specific behaviour lives at the bottom.

use std::any::Any;
use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use capstan_store::testing::EtcdServer;
use capstan_store::{EtcdStore, KeyValue, SqliteStore, Store, StoreError, WatchEvent, WatchStream};
use futures::StreamExt;

const TEST_TIMEOUT: Duration = Duration::from_secs(120);
const EVENT_TIMEOUT: Duration = Duration::from_secs(20);

/// A store plus whatever must outlive it (temporary directory, etcd process).
struct Harness {
    store: Arc<dyn Store>,
    _guard: Box<dyn Any + Send>,
}

fn sqlite_harness() -> Harness {
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("state.db")).expect("open sqlite store");
    Harness {
        store: Arc::new(store),
        _guard: Box::new(dir),
    }
}

async fn etcd_harness() -> Option<Harness> {
    let server = EtcdServer::start_or_skip().await.expect("start etcd")?;
    let store = EtcdStore::connect(&server.endpoints())
        .await
        .expect("connect to etcd");
    Some(Harness {
        store: Arc::new(store),
        _guard: Box::new(server),
    })
}

macro_rules! conformance {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let harness = super::sqlite_harness();
                    tokio::time::timeout(super::TEST_TIMEOUT, super::$name(harness.store.clone()))
                        .await
                        .expect("test timed out");
                }
            )*
        }
        mod etcd {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(harness) = super::etcd_harness().await else { return };
                    tokio::time::timeout(super::TEST_TIMEOUT, super::$name(harness.store.clone()))
                        .await
                        .expect("test timed out");
                }
            )*
        }
    };
}

conformance!(
    create_if_absent,
    get_returns_latest_value,
    update_checks_revision,
    delete_with_and_without_precondition,
    recreate_after_delete,
    list_order_and_prefix_isolation,
    pagination_reads_one_snapshot,
    list_at_old_revision,
    watch_replays_then_follows,
    watch_filters_by_prefix,
    watch_joins_history_and_live_without_gaps,
    compaction_discards_history_only,
    concurrent_creates_of_one_key,
    many_concurrent_writers,
);

// ---------------------------------------------------------------------------------------------
// Helpers

fn v(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

fn keys_of(items: &[KeyValue]) -> Vec<&str> {
    items.iter().map(|kv| kv.key.as_str()).collect()
}

async fn next_events(stream: &mut WatchStream, n: usize) -> Vec<WatchEvent> {
    let mut events = Vec::with_capacity(n);
    while events.len() < n {
        let item = tokio::time::timeout(EVENT_TIMEOUT, stream.next())
            .await
            .unwrap_or_else(|_| panic!("timed out after {} of {n} events", events.len()))
            .expect("watch stream ended early");
        events.push(item.expect("watch error"));
    }
    events
}

/// A compacted watch may fail at creation or as its first item; both are allowed.
async fn assert_watch_compacted(store: &Arc<dyn Store>, prefix: &str, after: i64) {
    let err = match store.watch(prefix, after).await {
        Err(e) => e,
        Ok(mut stream) => tokio::time::timeout(EVENT_TIMEOUT, stream.next())
            .await
            .expect("timed out waiting for the compacted error")
            .expect("stream ended without an error")
            .expect_err("expected a Compacted error, got an event"),
    };
    assert!(matches!(err, StoreError::Compacted { .. }), "{err:?}");
}

fn put(kv: &KeyValue, prev: Option<&KeyValue>) -> WatchEvent {
    WatchEvent::Put {
        kv: kv.clone(),
        prev: prev.cloned(),
    }
}

// ---------------------------------------------------------------------------------------------
// Behaviours

async fn create_if_absent(s: Arc<dyn Store>) {
    let key = "/registry/pods/default/a";
    let kv = s.create(key, v("one")).await.unwrap();
    assert_eq!(kv.key, key);
    assert_eq!(kv.value, v("one"));
    assert!(kv.mod_revision > 0);
    assert_eq!(kv.create_revision, kv.mod_revision);
    assert_eq!(s.current_revision().await.unwrap(), kv.mod_revision);

    let err = s.create(key, v("two")).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::AlreadyExists(k) if k == key),
        "{err:?}"
    );
    assert_eq!(s.get(key).await.unwrap(), Some(kv.clone()));
    // A refused write consumes no revision.
    assert_eq!(s.current_revision().await.unwrap(), kv.mod_revision);
}

async fn get_returns_latest_value(s: Arc<dyn Store>) {
    let key = "/registry/configmaps/ns/x";
    assert_eq!(s.get(key).await.unwrap(), None);
    let created = s.create(key, v("1")).await.unwrap();
    assert_eq!(s.get(key).await.unwrap(), Some(created.clone()));
    let updated = s.update(key, v("2"), created.mod_revision).await.unwrap();
    assert_eq!(s.get(key).await.unwrap(), Some(updated));
    assert_eq!(s.get("/registry/configmaps/ns/y").await.unwrap(), None);
}

async fn update_checks_revision(s: Arc<dyn Store>) {
    let key = "/registry/pods/ns/u";
    let err = s.update(key, v("x"), 1).await.unwrap_err();
    assert!(
        matches!(&err, StoreError::NotFound(k) if k == key),
        "{err:?}"
    );
    // An expected revision of 0 must not create the key.
    let err = s.update(key, v("x"), 0).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
    assert_eq!(s.get(key).await.unwrap(), None);

    let first = s.create(key, v("1")).await.unwrap();
    let second = s.update(key, v("2"), first.mod_revision).await.unwrap();
    assert!(second.mod_revision > first.mod_revision);
    assert_eq!(second.create_revision, first.create_revision);
    assert_eq!(second.value, v("2"));

    let err = s.update(key, v("3"), first.mod_revision).await.unwrap_err();
    match err {
        StoreError::Conflict {
            key: k,
            expected,
            actual,
        } => {
            assert_eq!(k, key);
            assert_eq!(expected, first.mod_revision);
            assert_eq!(actual, second.mod_revision);
        }
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert_eq!(s.get(key).await.unwrap(), Some(second.clone()));

    s.delete(key, None).await.unwrap();
    let err = s
        .update(key, v("4"), second.mod_revision)
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
}

async fn delete_with_and_without_precondition(s: Arc<dyn Store>) {
    let a = "/registry/secrets/ns/a";
    let b = "/registry/secrets/ns/b";
    for expected in [None, Some(5)] {
        let err = s.delete(a, expected).await.unwrap_err();
        assert!(matches!(&err, StoreError::NotFound(k) if k == a), "{err:?}");
    }

    let created = s.create(a, v("a1")).await.unwrap();
    let err = s
        .delete(a, Some(created.mod_revision + 100))
        .await
        .unwrap_err();
    match err {
        StoreError::Conflict {
            expected, actual, ..
        } => {
            assert_eq!(expected, created.mod_revision + 100);
            assert_eq!(actual, created.mod_revision);
        }
        other => panic!("expected Conflict, got {other:?}"),
    }
    assert!(s.get(a).await.unwrap().is_some());

    let (prev, revision) = s.delete(a, Some(created.mod_revision)).await.unwrap();
    assert_eq!(prev, created);
    assert!(revision > created.mod_revision);
    assert_eq!(s.current_revision().await.unwrap(), revision);
    assert_eq!(s.get(a).await.unwrap(), None);

    let b1 = s.create(b, v("b1")).await.unwrap();
    let b2 = s.update(b, v("b2"), b1.mod_revision).await.unwrap();
    let (prev, revision) = s.delete(b, None).await.unwrap();
    assert_eq!(prev, b2);
    assert!(revision > b2.mod_revision);
    let err = s.delete(b, None).await.unwrap_err();
    assert!(matches!(err, StoreError::NotFound(_)), "{err:?}");
}

async fn recreate_after_delete(s: Arc<dyn Store>) {
    let key = "/registry/pods/ns/again";
    let first = s.create(key, v("first")).await.unwrap();
    let (_, deleted_at) = s.delete(key, None).await.unwrap();
    let second = s.create(key, v("second")).await.unwrap();
    assert!(second.mod_revision > deleted_at);
    assert_eq!(second.create_revision, second.mod_revision);
    assert_ne!(second.create_revision, first.create_revision);
    assert_eq!(s.get(key).await.unwrap(), Some(second.clone()));
    let third = s
        .update(key, v("third"), second.mod_revision)
        .await
        .unwrap();
    assert_eq!(third.create_revision, second.create_revision);
}

async fn list_order_and_prefix_isolation(s: Arc<dyn Store>) {
    for key in [
        "/registry/pods/ns2/b",
        "/registry/podsx/ns1/evil",
        "/registry/pods/ns1/c",
        "/registry/pod",
        "/registry/pods/ns1/a",
        "/registry/services/ns1/a",
    ] {
        s.create(key, v(key)).await.unwrap();
    }
    let page = s.list("/registry/pods/", None, 0, None).await.unwrap();
    assert_eq!(
        keys_of(&page.items),
        [
            "/registry/pods/ns1/a",
            "/registry/pods/ns1/c",
            "/registry/pods/ns2/b"
        ]
    );
    assert!(!page.more);
    assert_eq!(page.revision, s.current_revision().await.unwrap());
    assert!(page.items.iter().all(|kv| kv.value == v(&kv.key)));
    assert_eq!(s.count("/registry/pods/").await.unwrap(), 3);
    assert_eq!(s.count("/registry/pods/ns1/").await.unwrap(), 2);
    assert_eq!(s.count("/registry/nothing/").await.unwrap(), 0);

    s.delete("/registry/pods/ns1/a", None).await.unwrap();
    let page = s.list("/registry/pods/", None, 0, None).await.unwrap();
    assert_eq!(
        keys_of(&page.items),
        ["/registry/pods/ns1/c", "/registry/pods/ns2/b"]
    );
    assert_eq!(s.count("/registry/pods/").await.unwrap(), 2);

    let everything = s.list("", None, 0, None).await.unwrap();
    assert_eq!(everything.items.len(), 5);
    let mut sorted = keys_of(&everything.items);
    sorted.sort_unstable();
    assert_eq!(keys_of(&everything.items), sorted);
}

async fn pagination_reads_one_snapshot(s: Arc<dyn Store>) {
    let prefix = "/registry/configmaps/";
    let key = |i: usize| format!("{prefix}k{i:02}");
    let mut created = Vec::new();
    for i in 0..10 {
        created.push(s.create(&key(i), v("old")).await.unwrap());
    }

    let page1 = s.list(prefix, None, 4, None).await.unwrap();
    assert_eq!(page1.items, created[0..4]);
    assert!(page1.more);
    assert_eq!(page1.remaining, Some(6));
    let at = page1.revision;

    // Writes between pages must not show up in later pages of the same list.
    s.delete(&key(5), None).await.unwrap();
    s.update(&key(6), v("new"), created[6].mod_revision)
        .await
        .unwrap();
    s.create(&format!("{prefix}k045"), v("new")).await.unwrap();
    s.create(&key(10), v("new")).await.unwrap();

    let page2 = s.list(prefix, Some(&key(3)), 4, Some(at)).await.unwrap();
    assert_eq!(page2.revision, at);
    assert_eq!(page2.items, created[4..8]);
    assert!(page2.more);
    assert_eq!(page2.remaining, Some(2));

    let page3 = s.list(prefix, Some(&key(7)), 4, Some(at)).await.unwrap();
    assert_eq!(page3.items, created[8..10]);
    assert!(!page3.more);

    let now = s.list(prefix, None, 0, None).await.unwrap();
    assert_eq!(now.items.len(), 11);
    assert!(!keys_of(&now.items).contains(&key(5).as_str()));
    // A cursor past the prefix yields an empty page, not an error.
    let past = s
        .list(prefix, Some("/registry/zzz"), 4, None)
        .await
        .unwrap();
    assert!(past.items.is_empty() && !past.more);
}

async fn list_at_old_revision(s: Arc<dyn Store>) {
    let prefix = "/registry/pods/ns/";
    let a = format!("{prefix}a");
    let b = format!("{prefix}b");
    let a1 = s.create(&a, v("a1")).await.unwrap();
    let b1 = s.create(&b, v("b1")).await.unwrap();
    let a2 = s.update(&a, v("a2"), a1.mod_revision).await.unwrap();
    let (_, r4) = s.delete(&b, None).await.unwrap();

    let at = |r: i64| {
        let s = s.clone();
        async move { s.list(prefix, None, 0, Some(r)).await.unwrap() }
    };
    assert_eq!(at(a1.mod_revision).await.items, std::slice::from_ref(&a1));
    assert_eq!(at(b1.mod_revision).await.items, [a1.clone(), b1.clone()]);
    assert_eq!(at(a2.mod_revision).await.items, [a2.clone(), b1.clone()]);
    let latest = at(r4).await;
    assert_eq!(latest.items, std::slice::from_ref(&a2));
    assert_eq!(latest.revision, r4);

    let err = s.list(prefix, None, 0, Some(r4 + 1000)).await.unwrap_err();
    assert!(matches!(err, StoreError::FutureRevision { .. }), "{err:?}");
}

async fn watch_replays_then_follows(s: Arc<dyn Store>) {
    let prefix = "/registry/pods/";
    let start = s.current_revision().await.unwrap();
    let a1 = s.create("/registry/pods/a", v("a1")).await.unwrap();
    let a2 = s
        .update("/registry/pods/a", v("a2"), a1.mod_revision)
        .await
        .unwrap();
    let (_, a_gone) = s.delete("/registry/pods/a", None).await.unwrap();
    let b1 = s.create("/registry/pods/b", v("b1")).await.unwrap();

    let mut watch = s.watch(prefix, start).await.unwrap();
    let replayed = next_events(&mut watch, 4).await;
    assert_eq!(
        replayed,
        [
            put(&a1, None),
            put(&a2, Some(&a1)),
            WatchEvent::Delete {
                prev: a2.clone(),
                revision: a_gone
            },
            put(&b1, None),
        ]
    );

    let c1 = s.create("/registry/pods/c", v("c1")).await.unwrap();
    let b2 = s
        .update("/registry/pods/b", v("b2"), b1.mod_revision)
        .await
        .unwrap();
    let (_, c_gone) = s
        .delete("/registry/pods/c", Some(c1.mod_revision))
        .await
        .unwrap();
    let live = next_events(&mut watch, 3).await;
    assert_eq!(
        live,
        [
            put(&c1, None),
            put(&b2, Some(&b1)),
            WatchEvent::Delete {
                prev: c1.clone(),
                revision: c_gone
            },
        ]
    );

    // Resuming after a revision starts strictly after it.
    let mut resumed = s.watch(prefix, a2.mod_revision).await.unwrap();
    let first = next_events(&mut resumed, 1).await;
    assert_eq!(first[0].revision(), a_gone);
}

async fn watch_filters_by_prefix(s: Arc<dyn Store>) {
    let start = s.current_revision().await.unwrap();
    let mut watch = s.watch("/registry/pods/", start).await.unwrap();
    s.create("/registry/podsx/a", v("x")).await.unwrap();
    s.create("/registry/services/a", v("x")).await.unwrap();
    let pod = s.create("/registry/pods/a", v("p")).await.unwrap();
    s.create("/registry/pod", v("x")).await.unwrap();
    let pod_b = s.create("/registry/pods/b", v("p")).await.unwrap();
    let events = next_events(&mut watch, 2).await;
    assert_eq!(events, [put(&pod, None), put(&pod_b, None)]);
    // The empty prefix watches every key.
    let mut everything = s.watch("", start).await.unwrap();
    let keys: Vec<String> = next_events(&mut everything, 5)
        .await
        .iter()
        .map(|e| e.key().to_owned())
        .collect();
    assert_eq!(
        keys,
        [
            "/registry/podsx/a",
            "/registry/services/a",
            "/registry/pods/a",
            "/registry/pod",
            "/registry/pods/b"
        ]
    );
}

/// Writers keep going while a watch starts from an old revision, so replay and live delivery
/// overlap; every revision must arrive exactly once, in order.
async fn watch_joins_history_and_live_without_gaps(s: Arc<dyn Store>) {
    let prefix = "/registry/events/";
    let start = s.current_revision().await.unwrap();
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let s = s.clone();
            tokio::spawn(async move {
                for i in 0..100 {
                    s.create(&format!("{prefix}w{w}-{i:03}"), v("e"))
                        .await
                        .unwrap();
                }
            })
        })
        .collect();
    // Let some history build up before watching.
    while s.current_revision().await.unwrap() < start + 50 {
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    let mut watch = s.watch(prefix, start).await.unwrap();
    let events = next_events(&mut watch, 400).await;
    for writer in writers {
        writer.await.unwrap();
    }
    let revisions: Vec<i64> = events.iter().map(WatchEvent::revision).collect();
    let expected: Vec<i64> = (start + 1..=start + 400).collect();
    assert_eq!(revisions, expected);
}

async fn compaction_discards_history_only(s: Arc<dyn Store>) {
    let prefix = "/registry/pods/";
    let a1 = s.create("/registry/pods/a", v("a1")).await.unwrap();
    let a2 = s
        .update("/registry/pods/a", v("a2"), a1.mod_revision)
        .await
        .unwrap();
    let b1 = s.create("/registry/pods/b", v("b1")).await.unwrap();
    s.delete("/registry/pods/b", None).await.unwrap();
    let c1 = s.create("/registry/pods/c", v("c1")).await.unwrap();
    let c2 = s
        .update("/registry/pods/c", v("c2"), c1.mod_revision)
        .await
        .unwrap();
    assert_eq!(s.compacted_revision().await.unwrap(), 0);

    s.compact(c1.mod_revision).await.unwrap();
    assert_eq!(s.compacted_revision().await.unwrap(), c1.mod_revision);

    let err = s
        .list(prefix, None, 0, Some(b1.mod_revision))
        .await
        .unwrap_err();
    match err {
        StoreError::Compacted {
            requested,
            compacted,
        } => {
            assert_eq!(requested, b1.mod_revision);
            assert_eq!(compacted, c1.mod_revision);
        }
        other => panic!("expected Compacted, got {other:?}"),
    }
    assert_watch_compacted(&s, prefix, a1.mod_revision).await;

    // The snapshot at the compaction revision and everything after it survive.
    let at_floor = s
        .list(prefix, None, 0, Some(c1.mod_revision))
        .await
        .unwrap();
    assert_eq!(at_floor.items, [a2.clone(), c1.clone()]);
    let now = s.list(prefix, None, 0, None).await.unwrap();
    assert_eq!(now.items, [a2.clone(), c2.clone()]);
    assert_eq!(s.get("/registry/pods/a").await.unwrap(), Some(a2.clone()));
    assert_eq!(s.get("/registry/pods/b").await.unwrap(), None);
    let mut watch = s.watch(prefix, c1.mod_revision).await.unwrap();
    assert_eq!(next_events(&mut watch, 1).await, [put(&c2, Some(&c1))]);

    // Compacting to an older revision is a no-op; to a future one is refused.
    s.compact(a2.mod_revision).await.unwrap();
    assert_eq!(s.compacted_revision().await.unwrap(), c1.mod_revision);
    let err = s.compact(c2.mod_revision + 1000).await.unwrap_err();
    assert!(matches!(err, StoreError::FutureRevision { .. }), "{err:?}");

    // Writes continue normally after compaction.
    let d = s.create("/registry/pods/d", v("d")).await.unwrap();
    assert!(d.mod_revision > c2.mod_revision);
    assert_eq!(s.count(prefix).await.unwrap(), 3);
}

async fn concurrent_creates_of_one_key(s: Arc<dyn Store>) {
    let key = "/registry/leases/kube-system/leader";
    let attempts: Vec<_> = (0..32)
        .map(|i| {
            let s = s.clone();
            tokio::spawn(async move { (i, s.create(key, v(&format!("candidate-{i}"))).await) })
        })
        .collect();
    let mut winners = Vec::new();
    for attempt in attempts {
        let (i, result) = attempt.await.unwrap();
        match result {
            Ok(kv) => winners.push((i, kv)),
            Err(StoreError::AlreadyExists(k)) => assert_eq!(k, key),
            Err(other) => panic!("unexpected error {other:?}"),
        }
    }
    assert_eq!(winners.len(), 1, "exactly one create must win");
    let (i, kv) = &winners[0];
    assert_eq!(kv.value, v(&format!("candidate-{i}")));
    assert_eq!(s.get(key).await.unwrap().as_ref(), Some(kv));
}

async fn many_concurrent_writers(s: Arc<dyn Store>) {
    let prefix = "/registry/pods/load/";
    let (tasks, per_task) = (64, 20);
    let start = s.current_revision().await.unwrap();
    let mut watch = s.watch(prefix, start).await.unwrap();
    let handles: Vec<_> = (0..tasks)
        .map(|t| {
            let s = s.clone();
            tokio::spawn(async move {
                let mut acked = Vec::new();
                for i in 0..per_task {
                    acked.push(
                        s.create(&format!("{prefix}t{t:02}-{i:02}"), v("x"))
                            .await
                            .unwrap(),
                    );
                }
                acked
            })
        })
        .collect();
    let mut acked = Vec::new();
    for handle in handles {
        acked.extend(handle.await.unwrap());
    }
    let total = tasks * per_task;
    let revisions: HashSet<i64> = acked.iter().map(|kv| kv.mod_revision).collect();
    assert_eq!(revisions.len(), total, "every write gets its own revision");
    assert_eq!(
        s.current_revision().await.unwrap(),
        start + i64::try_from(total).unwrap()
    );

    let listed = s.list(prefix, None, 0, None).await.unwrap();
    assert_eq!(listed.items.len(), total);
    let mut expected = acked.clone();
    expected.sort_by(|a, b| a.key.cmp(&b.key));
    assert_eq!(listed.items, expected);
    assert_eq!(
        s.count(prefix).await.unwrap(),
        i64::try_from(total).unwrap()
    );

    let events = next_events(&mut watch, total).await;
    assert!(events.windows(2).all(|w| w[0].revision() < w[1].revision()));
}

// ---------------------------------------------------------------------------------------------
// SQLite-specific behaviour

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_revision_survives_reopen_and_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("state.db");
    let (before, a) = {
        let s = SqliteStore::open(&path).unwrap();
        let a = s.create("/registry/pods/a", v("a")).await.unwrap();
        s.create("/registry/pods/b", v("b")).await.unwrap();
        // The newest row is a tombstone, which compaction removes.
        let (_, deleted) = s.delete("/registry/pods/b", None).await.unwrap();
        s.compact(deleted).await.unwrap();
        (deleted, a)
    };
    let s = SqliteStore::open(&path).unwrap();
    assert_eq!(s.current_revision().await.unwrap(), before);
    assert_eq!(s.compacted_revision().await.unwrap(), before);
    assert_eq!(s.get("/registry/pods/a").await.unwrap(), Some(a));
    let c = s.create("/registry/pods/c", v("c")).await.unwrap();
    assert_eq!(c.mod_revision, before + 1);
}

/// More commits than the broadcast buffer holds land while the watcher is not polling; it must
/// catch up from the log table without losing or repeating events.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_lagging_watcher_catches_up() {
    let harness = sqlite_harness();
    let s = harness.store.clone();
    let start = s.current_revision().await.unwrap();
    let mut watch = s.watch("/registry/lag/", start).await.unwrap();
    let writes = 1500;
    for i in 0..writes {
        // Sequential writes: one commit (one broadcast message) each.
        s.create(&format!("/registry/lag/{i:05}"), v("x"))
            .await
            .unwrap();
    }
    let events = next_events(&mut watch, writes).await;
    let revisions: Vec<i64> = events.iter().map(WatchEvent::revision).collect();
    let expected: Vec<i64> = (start + 1..=start + i64::try_from(writes).unwrap()).collect();
    assert_eq!(revisions, expected);
    // And it keeps following live writes afterwards.
    let more = s.create("/registry/lag/after", v("x")).await.unwrap();
    assert_eq!(next_events(&mut watch, 1).await, [put(&more, None)]);
}
