//! Background history compaction. Owns the policy "keep about `keep` worth of history": it
//! samples the store revision periodically and compacts to the newest sample that is at least
//! `keep` old, so watchers and paginated lists have a predictable window to resume in.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::{Instant, MissedTickBehavior};
use tracing::{debug, info, warn};

use crate::Store;

/// Spawns the compactor on the current tokio runtime. It runs until the handle is aborted.
/// The API server uses `keep` = 5 minutes and `interval` = 1 minute.
pub fn spawn_compactor(
    store: Arc<dyn Store>,
    keep: Duration,
    interval: Duration,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut policy = Policy::new(keep);
        let mut ticker = tokio::time::interval(interval);
        // After a stall, one late sample is enough; a burst of catch-up ticks adds nothing.
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let now = Instant::now();
            let revision = match store.current_revision().await {
                Ok(revision) => revision,
                Err(e) => {
                    warn!(error = %e, "compactor: cannot read current revision");
                    continue;
                }
            };
            let Some(target) = policy.observe(now, revision) else {
                continue;
            };
            match store.compact(target).await {
                Ok(()) => {
                    policy.compacted(target);
                    info!(
                        revision = target,
                        current = revision,
                        "compacted store history"
                    );
                }
                // Retried at the next tick with a newer target.
                Err(e) => warn!(error = %e, revision = target, "compaction failed"),
            }
        }
    })
}

/// The sampling logic, separate from timers and the store so it can be tested directly.
struct Policy {
    keep: Duration,
    /// (time, revision) samples, oldest first.
    samples: VecDeque<(Instant, i64)>,
    last_compacted: i64,
}

impl Policy {
    fn new(keep: Duration) -> Self {
        Policy {
            keep,
            samples: VecDeque::new(),
            last_compacted: 0,
        }
    }

    /// Records a sample and returns the revision to compact to, if there is a new one.
    fn observe(&mut self, now: Instant, revision: i64) -> Option<i64> {
        self.samples.push_back((now, revision));
        let cutoff = now.checked_sub(self.keep)?;
        // The newest sample taken at or before the cutoff; older ones are no longer needed.
        let mut target = None;
        while let Some(&(taken, rev)) = self.samples.front() {
            if taken > cutoff {
                break;
            }
            target = Some(rev);
            self.samples.pop_front();
        }
        let target = target?;
        // Keep that sample: it stays the best candidate until a newer one ages past `keep`.
        self.samples.push_front((cutoff, target));
        if target <= self.last_compacted {
            debug!(target, "compactor: nothing new to compact");
            return None;
        }
        Some(target)
    }

    fn compacted(&mut self, revision: i64) {
        self.last_compacted = self.last_compacted.max(revision);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compacts_to_newest_sample_older_than_keep() {
        let start = Instant::now() + Duration::from_secs(3600);
        let keep = Duration::from_secs(300);
        let minute = Duration::from_secs(60);
        let mut policy = Policy::new(keep);
        // Samples every minute; revision grows by 100 per minute.
        let mut targets = Vec::new();
        for i in 0..8u32 {
            let target = policy.observe(start + minute * i, i64::from(i) * 100);
            if let Some(t) = target {
                policy.compacted(t);
            }
            targets.push(target);
        }
        // Nothing older than 5 minutes before minute 5, and revision 0 is not worth compacting;
        // after that the target trails the head by 5 minutes.
        let none = [None; 6];
        assert_eq!(targets[..6], none);
        assert_eq!(targets[6..], [Some(100), Some(200)]);
    }

    #[test]
    fn idle_store_is_not_compacted_twice() {
        let start = Instant::now() + Duration::from_secs(3600);
        let mut policy = Policy::new(Duration::from_secs(10));
        assert_eq!(policy.observe(start, 50), None);
        let first = policy.observe(start + Duration::from_secs(10), 50);
        assert_eq!(first, Some(50));
        policy.compacted(50);
        assert_eq!(policy.observe(start + Duration::from_secs(20), 50), None);
        assert_eq!(policy.observe(start + Duration::from_secs(30), 60), None);
        assert_eq!(
            policy.observe(start + Duration::from_secs(40), 70),
            Some(60)
        );
    }
}
