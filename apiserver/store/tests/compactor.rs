//! The background compactor against a real (SQLite) store, with short real-time periods.

use std::sync::Arc;
use std::time::Duration;

use capstan_store::compaction::spawn_compactor;
use capstan_store::{SqliteStore, Store};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn compactor_keeps_a_window_of_history() {
    let dir = tempfile::tempdir().unwrap();
    let store: Arc<dyn Store> = Arc::new(SqliteStore::open(&dir.path().join("state.db")).unwrap());
    let keep = Duration::from_millis(300);
    let compactor = spawn_compactor(store.clone(), keep, Duration::from_millis(50));

    let mut kv = store
        .create("/registry/pods/a", b"0".to_vec())
        .await
        .unwrap();
    let first = kv.mod_revision;
    for i in 1..=40 {
        kv = store
            .update(
                "/registry/pods/a",
                i.to_string().into_bytes(),
                kv.mod_revision,
            )
            .await
            .unwrap();
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let head = kv.mod_revision;
    // Stop the compactor so the floor cannot move under the checks below; a compaction it
    // already queued finishes in the store's writer, so give that a moment.
    compactor.abort();
    let _ = compactor.await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Writes spanned ~1 s, so history older than ~300 ms must be gone by now...
    let compacted = store.compacted_revision().await.unwrap();
    assert!(compacted > first, "nothing compacted (floor {compacted})");
    // ...but not the most recent `keep` worth (the last write is only ~25 ms old).
    assert!(
        compacted < head,
        "compacted too eagerly: {compacted} of {head}"
    );
    assert!(
        store
            .list("/registry/pods/", None, 0, Some(compacted))
            .await
            .is_ok()
    );
    assert_eq!(store.get("/registry/pods/a").await.unwrap(), Some(kv));
}
