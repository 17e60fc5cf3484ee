//! Expectations: what a controller has asked the API server to do and not yet seen come back
//! through its informer. While a controller's own creates or deletes are in flight its cache is
//! behind, and acting on that cache would create or delete twice (the same idea as Kubernetes'
//! ControllerExpectations / UIDTrackingControllerExpectations).
//!
//! Owns: per-key counters of pending creations and the set of pending deletions. Must never
//! block: an expectation that is not met within `ttl` is treated as met, so a lost watch event
//! can delay a controller but never wedge it.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use crate::runtime::informer::Health;

/// Kubernetes uses five minutes; long enough for a slow API server, short enough to recover.
pub const DEFAULT_TTL: Duration = Duration::from_secs(300);

#[derive(Debug)]
struct Pending {
    creations: i64,
    deletions: HashSet<String>,
    since: Instant,
    /// Which `expect` call this record comes from: a late settlement of an earlier round
    /// must not lower the counts of a newer one.
    round: u64,
}

#[derive(Debug)]
pub struct Expectations {
    pending: Mutex<HashMap<String, Pending>>,
    ttl: Duration,
    rounds: std::sync::atomic::AtomicU64,
}

impl Default for Expectations {
    fn default() -> Self {
        Self::new(DEFAULT_TTL)
    }
}

impl Expectations {
    pub fn new(ttl: Duration) -> Self {
        Expectations {
            pending: Mutex::default(),
            ttl,
            rounds: std::sync::atomic::AtomicU64::new(0),
        }
    }

    fn with<R>(&self, f: impl FnOnce(&mut HashMap<String, Pending>) -> R) -> R {
        f(&mut self.pending.lock().unwrap_or_else(PoisonError::into_inner))
    }

    /// True when the controller may trust its cache for `key` again.
    pub fn satisfied(&self, key: &str) -> bool {
        self.with(|m| match m.get(key) {
            None => true,
            Some(p) => (p.creations <= 0 && p.deletions.is_empty()) || p.since.elapsed() > self.ttl,
        })
    }

    /// Records that `count` creations are about to be sent.
    pub fn expect_creations(&self, key: &str, count: usize) {
        self.expect(key, count, [])
    }

    /// Records that the objects named `ids` (namespace/name) are about to be deleted.
    pub fn expect_deletions(&self, key: &str, ids: impl IntoIterator<Item = String>) {
        self.expect(key, 0, ids)
    }

    /// Both at once, for a sync that creates some objects and deletes others.
    pub fn expect(&self, key: &str, creations: usize, deletions: impl IntoIterator<Item = String>) {
        let round = self
            .rounds
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.with(|m| {
            m.insert(
                key.to_string(),
                Pending {
                    creations: creations as i64,
                    deletions: deletions.into_iter().collect(),
                    since: Instant::now(),
                    round,
                },
            );
        })
    }

    /// One creation came back through the watch, or failed and will never come back.
    pub fn creation_observed(&self, key: &str) {
        self.with(|m| {
            if let Some(p) = m.get_mut(key) {
                p.creations -= 1;
            }
        })
    }

    /// A deletion came back through the watch, or failed and will never come back.
    pub fn deletion_observed(&self, key: &str, id: &str) {
        self.with(|m| {
            if let Some(p) = m.get_mut(key) {
                p.deletions.remove(id);
            }
        })
    }

    /// Writes whose outcome is unknown (see `error::outcome_unknown`): if they happened, the
    /// watch shows them; if not, they are counted as observed once the watch (`health`) has
    /// shown it would have seen them — `settle` of unbroken watching after them — so the
    /// owner neither acts on a cache that misses them (creating or deleting twice) nor waits
    /// the whole TTL. Needs a tokio runtime.
    pub fn observe_later(
        self: &std::sync::Arc<Self>,
        key: &str,
        creations: usize,
        deletions: Vec<String>,
        settle: Duration,
        mut health: tokio::sync::watch::Receiver<Health>,
    ) {
        let (me, key) = (self.clone(), key.to_string());
        let issued = tokio::time::Instant::now();
        let round = self.with(|m| m.get(&key).map(|p| p.round));
        let ttl = self.ttl;
        tokio::spawn(async move {
            // Settled once the watch has run unbroken for `settle` after the writes (events
            // come in order, so a write that happened has arrived by then). A watch that is
            // down proves nothing: counting the writes as failed then is how a controller
            // creates pods twice after an API server restart.
            loop {
                let settled = match *health.borrow() {
                    Health::Watching(since) => {
                        tokio::time::Instant::now() >= since.max(issued) + settle
                    }
                    Health::Broken => false,
                };
                if settled || issued.elapsed() >= ttl {
                    break;
                }
                // Wake when the health changes, or when `settle` runs out, or to re-check.
                let recheck = tokio::time::Instant::now() + Duration::from_millis(500);
                let wake = match *health.borrow() {
                    Health::Watching(since) => (since.max(issued) + settle).min(recheck),
                    Health::Broken => recheck,
                };
                let changed = tokio::time::timeout_at(wake, health.changed()).await;
                // The informer is gone (shutting down): poll rather than spin.
                if matches!(changed, Ok(Err(_))) {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
            }
            me.with(|m| {
                // Only the round these writes belong to: the owner may have moved on.
                if let Some(p) = m.get_mut(&key).filter(|p| Some(p.round) == round) {
                    p.creations -= creations as i64;
                    for id in &deletions {
                        p.deletions.remove(id);
                    }
                }
            });
        });
    }

    /// The owner is gone; nothing it expected matters any more.
    pub fn forget(&self, key: &str) {
        self.with(|m| {
            m.remove(key);
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creations_must_all_be_observed() {
        let e = Expectations::default();
        assert!(e.satisfied("ns/rs"));
        e.expect_creations("ns/rs", 2);
        assert!(!e.satisfied("ns/rs"));
        e.creation_observed("ns/rs");
        assert!(!e.satisfied("ns/rs"));
        e.creation_observed("ns/rs");
        assert!(e.satisfied("ns/rs"));
    }

    #[test]
    fn deletions_are_tracked_by_name_so_repeats_do_not_count_twice() {
        let e = Expectations::default();
        e.expect_deletions("ns/rs", ["ns/a".to_string(), "ns/b".to_string()]);
        e.deletion_observed("ns/rs", "ns/a");
        e.deletion_observed("ns/rs", "ns/a");
        assert!(!e.satisfied("ns/rs"));
        e.deletion_observed("ns/rs", "ns/b");
        assert!(e.satisfied("ns/rs"));
    }

    #[test]
    fn expectations_expire_so_a_lost_event_cannot_wedge_a_controller() {
        let e = Expectations::new(Duration::from_millis(0));
        e.expect_creations("ns/rs", 1);
        std::thread::sleep(Duration::from_millis(2));
        assert!(e.satisfied("ns/rs"));
    }

    #[tokio::test]
    async fn unknown_outcomes_hold_until_seen_or_settled() {
        let e = std::sync::Arc::new(Expectations::default());
        e.expect("ns/rs", 3, ["ns/old".to_string()]);
        // One create failed for sure, two may have happened; the delete too.
        e.creation_observed("ns/rs");
        let (_health_tx, health) =
            tokio::sync::watch::channel(Health::Watching(tokio::time::Instant::now()));
        e.observe_later(
            "ns/rs",
            2,
            vec!["ns/old".into()],
            Duration::from_millis(50),
            health,
        );
        e.creation_observed("ns/rs"); // one of them did happen: the watch shows it
        assert!(!e.satisfied("ns/rs"), "still waiting for the other");
        tokio::time::sleep(Duration::from_millis(150)).await;
        assert!(e.satisfied("ns/rs"), "settled after the grace");
    }

    #[tokio::test]
    async fn unknown_outcomes_wait_for_a_watch_that_works() {
        let e = std::sync::Arc::new(Expectations::default());
        e.expect_creations("ns/rs", 1);
        let (health_tx, health) = tokio::sync::watch::channel(Health::Broken);
        e.observe_later("ns/rs", 1, Vec::new(), Duration::from_millis(150), health);
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert!(!e.satisfied("ns/rs"), "a broken watch proves nothing");
        health_tx.send_replace(Health::Watching(tokio::time::Instant::now()));
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            !e.satisfied("ns/rs"),
            "not before the watch has run for the settle time"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            e.satisfied("ns/rs"),
            "settled after an unbroken settle time"
        );
    }

    #[tokio::test]
    async fn a_late_settlement_leaves_a_newer_round_alone() {
        let e = std::sync::Arc::new(Expectations::default());
        e.expect_creations("ns/rs", 3);
        let (health_tx, health) = tokio::sync::watch::channel(Health::Broken);
        e.observe_later("ns/rs", 3, Vec::new(), Duration::from_millis(10), health);
        // The relist showed them; the owner went on to a new batch before the settlement ran.
        e.expect_creations("ns/rs", 2);
        health_tx.send_replace(Health::Watching(tokio::time::Instant::now()));
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(
            !e.satisfied("ns/rs"),
            "the new batch of two is still pending"
        );
    }
}
