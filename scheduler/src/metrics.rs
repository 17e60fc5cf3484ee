//! Prometheus metrics in the names kube-scheduler uses (`scheduler_schedule_attempts_total`,
//! `scheduler_scheduling_attempt_duration_seconds`, `scheduler_pending_pods`,
//! `scheduler_preemption_attempts_total`), served with `capstan_api_types::metrics_http`.
//!
//! Owns: counters updated with atomic adds from the scheduling loop. Must never block a
//! scheduling cycle: reading the queue sizes happens only when `/metrics` is scraped.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::queue::Queue;

const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 5.0,
];

/// How one scheduling attempt ended.
#[derive(Debug, Clone, Copy)]
pub enum Outcome {
    Scheduled,
    Unschedulable,
    Error,
}

#[derive(Default)]
pub struct Metrics {
    scheduled: AtomicU64,
    unschedulable: AtomicU64,
    errors: AtomicU64,
    preemptions: AtomicU64,
    observations: AtomicU64,
    buckets: [AtomicU64; BUCKETS.len()],
    sum_micros: AtomicU64,
}

impl Metrics {
    pub fn attempt(&self, outcome: Outcome, took: Duration) {
        let counter = match outcome {
            Outcome::Scheduled => &self.scheduled,
            Outcome::Unschedulable => &self.unschedulable,
            Outcome::Error => &self.errors,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        self.observations.fetch_add(1, Ordering::Relaxed);
        let secs = took.as_secs_f64();
        for (b, le) in self.buckets.iter().zip(BUCKETS) {
            if secs <= le {
                b.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.sum_micros
            .fetch_add(took.as_micros() as u64, Ordering::Relaxed);
    }

    /// A bind that failed after the attempt was counted as scheduled.
    pub fn bind_failed(&self) {
        self.errors.fetch_add(1, Ordering::Relaxed);
    }

    pub fn preemption(&self) {
        self.preemptions.fetch_add(1, Ordering::Relaxed);
    }

    /// Prometheus text format 0.0.4.
    /// `profile` is the scheduler name the attempts were made under.
    pub fn render(&self, queue: &Queue, profile: &str) -> String {
        let mut out = String::new();
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP scheduler_schedule_attempts_total Scheduling attempts by result.\n# TYPE scheduler_schedule_attempts_total counter"
        );
        for (result, v) in [
            ("scheduled", get(&self.scheduled)),
            ("unschedulable", get(&self.unschedulable)),
            ("error", get(&self.errors)),
        ] {
            let _ = writeln!(
                out,
                "scheduler_schedule_attempts_total{{profile=\"{profile}\",result=\"{result}\"}} {v}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP scheduler_scheduling_attempt_duration_seconds Time to choose a node (or fail to).\n# TYPE scheduler_scheduling_attempt_duration_seconds histogram"
        );
        let count = get(&self.observations);
        for (b, le) in self.buckets.iter().zip(BUCKETS) {
            let _ = writeln!(
                out,
                "scheduler_scheduling_attempt_duration_seconds_bucket{{le=\"{le}\"}} {}",
                get(b)
            );
        }
        let _ = writeln!(
            out,
            "scheduler_scheduling_attempt_duration_seconds_bucket{{le=\"+Inf\"}} {}\nscheduler_scheduling_attempt_duration_seconds_sum {}\nscheduler_scheduling_attempt_duration_seconds_count {}",
            count,
            get(&self.sum_micros) as f64 / 1e6,
            count
        );
        let (active, backoff, unschedulable) = queue.counts();
        let _ = writeln!(
            out,
            "# HELP scheduler_pending_pods Pods waiting to be scheduled, by queue.\n# TYPE scheduler_pending_pods gauge"
        );
        for (q, v) in [
            ("active", active),
            ("backoff", backoff),
            ("unschedulable", unschedulable),
        ] {
            let _ = writeln!(out, "scheduler_pending_pods{{queue=\"{q}\"}} {v}");
        }
        let _ = writeln!(
            out,
            "# HELP scheduler_preemption_attempts_total Preemption attempts.\n# TYPE scheduler_preemption_attempts_total counter\nscheduler_preemption_attempts_total {}",
            get(&self.preemptions)
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_attempts_by_result_and_queue_sizes() {
        let m = Metrics::default();
        m.attempt(Outcome::Scheduled, Duration::from_micros(700));
        m.attempt(Outcome::Unschedulable, Duration::from_millis(3));
        m.bind_failed();
        m.preemption();
        let text = m.render(&Queue::default(), "default-scheduler");
        for want in [
            "scheduler_schedule_attempts_total{profile=\"default-scheduler\",result=\"scheduled\"} 1",
            "scheduler_schedule_attempts_total{profile=\"default-scheduler\",result=\"unschedulable\"} 1",
            "scheduler_schedule_attempts_total{profile=\"default-scheduler\",result=\"error\"} 1",
            "scheduler_scheduling_attempt_duration_seconds_bucket{le=\"0.001\"} 1",
            "scheduler_scheduling_attempt_duration_seconds_count 2",
            "scheduler_pending_pods{queue=\"active\"} 0",
            "scheduler_preemption_attempts_total 1",
        ] {
            assert!(text.contains(want), "{want} missing:\n{text}");
        }
    }
}
