//! The scheduling queue: an active heap (higher priority first, then first come), a backoff
//! area (1 s doubling to 10 s per failed attempt) and an unschedulable area whose pods go back
//! to active when the cluster changes in a way that could help (node added or updated, pod
//! deleted) or after a minute at the latest.

use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::model::PodInfo;

const INITIAL_BACKOFF: Duration = Duration::from_secs(1);
const MAX_BACKOFF: Duration = Duration::from_secs(10);
const MAX_UNSCHEDULABLE: Duration = Duration::from_secs(60);

#[derive(Debug, PartialEq, Eq)]
struct Entry {
    priority: i32,
    seq: u64,
    key: String,
}

impl Ord for Entry {
    fn cmp(&self, other: &Self) -> Ordering {
        self.priority
            .cmp(&other.priority)
            .then(other.seq.cmp(&self.seq))
    }
}

impl PartialOrd for Entry {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Where {
    Active,
    Backoff(Instant),
    Unschedulable(Instant),
    /// Popped and being scheduled.
    InFlight,
}

#[derive(Default)]
struct Inner {
    heap: BinaryHeap<Entry>,
    pods: HashMap<String, (Arc<PodInfo>, Where)>,
    attempts: HashMap<String, u32>,
    seq: u64,
    /// A cluster change arrived while pods were in flight: their failure should retry at once.
    moved_during_flight: bool,
}

#[derive(Default)]
pub struct Queue {
    inner: Mutex<Inner>,
    notify: Notify,
}

impl Inner {
    fn push_active(&mut self, pod: Arc<PodInfo>) {
        self.seq += 1;
        self.heap.push(Entry {
            priority: pod.priority,
            seq: self.seq,
            key: pod.key.clone(),
        });
        self.pods.insert(pod.key.clone(), (pod, Where::Active));
    }
}

impl Queue {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A pending pod was added or changed.
    pub fn upsert(&self, pod: Arc<PodInfo>) {
        let mut q = self.lock();
        match q.pods.get(&pod.key).map(|(_, w)| *w) {
            None | Some(Where::Unschedulable(_)) => q.push_active(pod),
            Some(w) => {
                q.pods.insert(pod.key.clone(), (pod, w));
            }
        }
        drop(q);
        self.notify.notify_one();
    }

    pub fn remove(&self, key: &str) {
        let mut q = self.lock();
        q.pods.remove(key);
        q.attempts.remove(key);
    }

    pub fn contains(&self, key: &str) -> bool {
        self.lock().pods.contains_key(key)
    }

    /// Moves every unschedulable (and backing-off) pod back to active.
    pub fn move_all_to_active(&self) {
        let mut q = self.lock();
        let waiting: Vec<Arc<PodInfo>> = q
            .pods
            .values()
            .filter(|(_, w)| matches!(w, Where::Unschedulable(_)))
            .map(|(p, _)| p.clone())
            .collect();
        if q.pods.values().any(|(_, w)| *w == Where::InFlight) {
            q.moved_during_flight = true;
        }
        for p in waiting {
            q.push_active(p);
        }
        drop(q);
        self.notify.notify_one();
    }

    fn flush_due(q: &mut Inner) -> Option<Instant> {
        let now = Instant::now();
        let mut next: Option<Instant> = None;
        let due: Vec<Arc<PodInfo>> = q
            .pods
            .values()
            .filter_map(|(p, w)| match w {
                Where::Backoff(t) if *t <= now => Some(p.clone()),
                Where::Unschedulable(t) if now.duration_since(*t) >= MAX_UNSCHEDULABLE => {
                    Some(p.clone())
                }
                Where::Backoff(t) => {
                    next = Some(next.map_or(*t, |n| n.min(*t)));
                    None
                }
                Where::Unschedulable(t) => {
                    let at = *t + MAX_UNSCHEDULABLE;
                    next = Some(next.map_or(at, |n| n.min(at)));
                    None
                }
                _ => None,
            })
            .collect();
        for p in due {
            q.push_active(p);
        }
        next
    }

    /// The next pod to schedule; waits while there is none.
    pub async fn pop(&self) -> Arc<PodInfo> {
        loop {
            let next_due = {
                let mut q = self.lock();
                let next = Self::flush_due(&mut q);
                while let Some(e) = q.heap.pop() {
                    if let Some((p, w)) = q.pods.get_mut(&e.key)
                        && *w == Where::Active
                    {
                        *w = Where::InFlight;
                        let p = p.clone();
                        return p;
                    }
                    // Stale heap entry (removed or re-queued): skip it.
                }
                q.moved_during_flight = false;
                next
            };
            let wait = next_due
                .map(|t| t.saturating_duration_since(Instant::now()))
                .unwrap_or(Duration::from_secs(1))
                .min(Duration::from_secs(1));
            let _ = tokio::time::timeout(wait, self.notify.notified()).await;
        }
    }

    /// The pod was scheduled (or is gone): forget it.
    pub fn done(&self, key: &str) {
        self.remove(key);
    }

    /// Scheduling failed because nothing fits: wait for a cluster change.
    pub fn unschedulable(&self, key: &str) {
        let mut q = self.lock();
        let retry_now = q.moved_during_flight;
        *q.attempts.entry(key.to_string()).or_default() += 1;
        if let Some((p, w)) = q.pods.get_mut(key) {
            if retry_now {
                let p = p.clone();
                q.push_active(p);
            } else {
                *w = Where::Unschedulable(Instant::now());
            }
        }
    }

    /// Scheduling or binding failed for another reason: retry after a backoff.
    pub fn backoff(&self, key: &str) {
        let mut q = self.lock();
        let attempts = {
            let a = q.attempts.entry(key.to_string()).or_default();
            *a += 1;
            *a
        };
        let delay = INITIAL_BACKOFF
            .saturating_mul(1u32 << attempts.saturating_sub(1).min(8))
            .min(MAX_BACKOFF);
        if let Some((_, w)) = q.pods.get_mut(key) {
            *w = Where::Backoff(Instant::now() + delay);
        }
        drop(q);
        self.notify.notify_one();
    }

    pub fn len(&self) -> usize {
        self.lock().pods.len()
    }

    /// (active, backoff, unschedulable) — pods being scheduled right now count as active.
    pub fn counts(&self) -> (usize, usize, usize) {
        let q = self.lock();
        let mut c = (0, 0, 0);
        for (_, w) in q.pods.values() {
            match w {
                Where::Active | Where::InFlight => c.0 += 1,
                Where::Backoff(_) => c.1 += 1,
                Where::Unschedulable(_) => c.2 += 1,
            }
        }
        c
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
