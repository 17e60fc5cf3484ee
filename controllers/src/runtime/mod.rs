//! Shared controller machinery: informers, the reconcile harness (metrics, logging, per-object
//! backoff), expectations, events, ownership helpers and leader election.
//!
//! Owns: everything a controller needs that is not about its own resource. Must never contain
//! knowledge of a particular kind — that belongs in the controller's module.

pub mod events;
pub mod expectations;
pub mod informer;
pub mod leader;
pub mod metrics;
pub mod ownership;

use std::collections::HashMap;
use std::fmt::Debug;
use std::future::Future;
use std::hash::Hash;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use futures::StreamExt;
use kube::Resource;
use kube::runtime::controller::{Action, Controller};
use kube::runtime::reflector::ObjectRef;
use serde::de::DeserializeOwned;
use tokio::sync::watch;

use crate::error::Error;
use metrics::ControllerMetrics;

/// Per-object failure counts, turned into exponential backoff like Kubernetes' rate-limited
/// work queue (but capped lower: a controller here should recover within seconds).
#[derive(Default)]
struct Backoff {
    failures: Mutex<HashMap<String, u32>>,
}

impl Backoff {
    fn fail(&self, key: &str) -> Duration {
        let mut f = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        let n = f.entry(key.to_string()).or_default();
        *n = n.saturating_add(1);
        let exp = (*n).min(12);
        Duration::from_millis(10u64 << exp).min(Duration::from_secs(30))
    }

    fn succeed(&self, key: &str) {
        self.failures
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
    }
}

struct Wrapped<Ctx> {
    name: &'static str,
    inner: Arc<Ctx>,
    metrics: Arc<ControllerMetrics>,
    backoff: Backoff,
}

/// Runs `controller` with `reconcile` until `shutdown` flips to true. Every reconcile is
/// timed and counted; failures requeue the object with per-object exponential backoff.
pub async fn run_controller<K, Ctx, F, Fut>(
    name: &'static str,
    controller: Controller<K>,
    ctx: Arc<Ctx>,
    metrics: Arc<ControllerMetrics>,
    reconcile: F,
    mut shutdown: watch::Receiver<bool>,
) where
    K: Resource + Clone + DeserializeOwned + Debug + Send + Sync + 'static,
    K::DynamicType: Eq + Hash + Clone + Debug + Unpin + Default,
    Ctx: Send + Sync + 'static,
    F: Fn(Arc<K>, Arc<Ctx>) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Action, Error>> + Send + 'static,
{
    let wrapped = Arc::new(Wrapped {
        name,
        inner: ctx,
        metrics,
        backoff: Backoff::default(),
    });
    let reconcile = Arc::new(reconcile);
    let stop = async move {
        let _ = shutdown.wait_for(|s| *s).await;
    };
    tracing::info!(controller = name, "starting controller");
    controller
        .with_config(kube::runtime::controller::Config::default().concurrency(5))
        .graceful_shutdown_on(stop)
        .run(
            move |obj: Arc<K>, w: Arc<Wrapped<Ctx>>| {
                let reconcile = reconcile.clone();
                async move {
                    let key = ObjectRef::from_obj(obj.as_ref()).to_string();
                    w.metrics.dequeued(&key);
                    let start = Instant::now();
                    let result = reconcile(obj, w.inner.clone()).await;
                    w.metrics.observe(start.elapsed(), result.is_err());
                    if result.is_ok() {
                        w.backoff.succeed(&key);
                    }
                    result
                }
            },
            |obj: Arc<K>, err: &Error, w: Arc<Wrapped<Ctx>>| {
                let key = ObjectRef::from_obj(obj.as_ref()).to_string();
                let delay = w.backoff.fail(&key);
                if err.is_conflict() || matches!(err, Error::Retry(_)) {
                    tracing::debug!(controller = w.name, object = %key, error = %err, "requeue");
                } else {
                    tracing::warn!(controller = w.name, object = %key, error = %err, ?delay, "reconcile failed");
                }
                Action::requeue(delay)
            },
            wrapped,
        )
        .for_each(|res| async move {
            if let Err(e) = res {
                tracing::debug!(controller = name, error = %e, "controller event");
            }
        })
        .await;
    tracing::info!(controller = name, "controller stopped");
}

/// Resolves once `rx` says stop (or its sender is gone). Never holds the watch guard across
/// an await, so the futures that use it stay `Send`.
pub async fn stopped(rx: &mut watch::Receiver<bool>) {
    let _ = rx.wait_for(|s| *s).await;
}
