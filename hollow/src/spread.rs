//! Periodic per-node work (Lease renewals, status heartbeats) spread evenly over the period,
//! so 5,000 nodes make a steady trickle of requests instead of a burst every interval.
//!
//! The period is cut into slots of at least `MIN_TICK`; node `i` falls due in slot
//! `i % slots`. Due nodes wait in a queue and at most `limit` jobs run at once: when the API
//! server is slow the queue absorbs it and a node never has two jobs queued or running.

use std::collections::VecDeque;
use std::time::Duration;

use futures::stream::{FuturesUnordered, StreamExt};
use futures::{Future, FutureExt};
use tokio::sync::{mpsc, watch};
use tokio::time::{Instant, MissedTickBehavior};

const MIN_TICK: Duration = Duration::from_millis(50);

pub struct Spread {
    /// For log lines: "lease renewals", "status heartbeats".
    pub what: &'static str,
    pub nodes: usize,
    pub period: Duration,
    pub limit: usize,
}

impl Spread {
    fn slots(&self) -> usize {
        let by_time = self.period.as_nanos() / MIN_TICK.as_nanos();
        by_time.clamp(1, self.nodes.max(1) as u128) as usize
    }

    /// Runs `job(i)` for every node once per period until shutdown. `job` returns whether it
    /// succeeded; failures are summarised once per period rather than logged one by one.
    /// A node index received on `kicks` is queued right away.
    pub async fn run<F, Fut>(
        self,
        mut kicks: mpsc::UnboundedReceiver<usize>,
        mut shutdown: watch::Receiver<bool>,
        job: F,
    ) where
        F: Fn(usize) -> Fut,
        Fut: Future<Output = bool>,
    {
        let n = self.nodes;
        let slots = self.slots();
        let tick = self.period / u32::try_from(slots).unwrap_or(u32::MAX);
        // Registration just did every node's first round; the next one is a period away.
        let mut ticker = tokio::time::interval_at(Instant::now() + tick, tick);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut report_at = Instant::now() + self.period;

        let mut pending = vec![false; n];
        let mut due: VecDeque<usize> = VecDeque::new();
        let mut running = FuturesUnordered::new();
        let mut slot = 0;
        let (mut done, mut failed) = (0u64, 0u64);

        let enqueue = |i: usize, pending: &mut Vec<bool>, due: &mut VecDeque<usize>| {
            if i < n && !pending[i] {
                pending[i] = true;
                due.push_back(i);
            }
        };

        loop {
            while running.len() < self.limit
                && let Some(i) = due.pop_front()
            {
                running.push(job(i).map(move |ok| (i, ok)));
            }
            tokio::select! {
                _ = shutdown.changed() => return,
                Some((i, ok)) = running.next(), if !running.is_empty() => {
                    pending[i] = false;
                    done += 1;
                    if !ok {
                        failed += 1;
                    }
                }
                _ = ticker.tick() => {
                    for i in (slot..n).step_by(slots) {
                        enqueue(i, &mut pending, &mut due);
                    }
                    slot = (slot + 1) % slots;
                }
                Some(i) = kicks.recv() => enqueue(i, &mut pending, &mut due),
            }
            if Instant::now() >= report_at {
                if failed > 0 {
                    tracing::warn!(what = self.what, failed, of = done, "requests failed");
                }
                (done, failed) = (0, 0);
                report_at = Instant::now() + self.period;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[tokio::test]
    async fn every_node_about_once_per_period_within_the_limit() {
        let n = 40;
        let counts: Arc<Vec<AtomicUsize>> = Arc::new((0..n).map(|_| AtomicUsize::new(0)).collect());
        let live = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let (kick_tx, kicks) = mpsc::unbounded_channel();
        let (stop_tx, stop) = watch::channel(false);
        let spread = Spread {
            what: "test",
            nodes: n,
            period: Duration::from_millis(400),
            limit: 3,
        };
        let (c, l, p) = (counts.clone(), live.clone(), peak.clone());
        let task = tokio::spawn(spread.run(kicks, stop, move |i| {
            let (c, l, p) = (c.clone(), l.clone(), p.clone());
            async move {
                let now = l.fetch_add(1, Ordering::SeqCst) + 1;
                p.fetch_max(now, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(5)).await;
                c[i].fetch_add(1, Ordering::SeqCst);
                l.fetch_sub(1, Ordering::SeqCst);
                true
            }
        }));
        kick_tx.send(7).unwrap();
        tokio::time::sleep(Duration::from_millis(1300)).await;
        stop_tx.send_replace(true);
        task.await.unwrap();
        // Three rounds in 1.2s (timing slack either way), plus the kick for node 7.
        for (i, c) in counts.iter().enumerate() {
            let c = c.load(Ordering::SeqCst);
            assert!((2..=5).contains(&c), "node {i} ran {c} times");
        }
        assert!(counts[7].load(Ordering::SeqCst) >= 3);
        assert!(peak.load(Ordering::SeqCst) <= 3);
    }
}
