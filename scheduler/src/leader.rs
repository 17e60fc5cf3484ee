//! Leader election through a coordination.k8s.io Lease, so that of several schedulers only one
//! binds pods. The holder renews every `RENEW`; others take over once `renewTime +
//! leaseDurationSeconds` has passed. Updates carry the Lease's resourceVersion, so two
//! candidates can never both win the same round.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::api::{Api, PostParams};

pub const LEASE_DURATION: Duration = Duration::from_secs(15);
pub const RENEW: Duration = Duration::from_secs(2);

#[derive(Debug, thiserror::Error)]
pub enum LeaderError {
    #[error("lost the leader lease {0}")]
    Lost(String),
}

pub struct Elector {
    api: Api<Lease>,
    name: String,
    identity: String,
}

enum Outcome {
    Leader,
    Follower,
}

impl Elector {
    pub fn new(client: kube::Client, namespace: &str, name: &str, identity: &str) -> Self {
        Elector {
            api: Api::namespaced(client, namespace),
            name: name.to_string(),
            identity: identity.to_string(),
        }
    }

    fn spec(&self, transitions: i32, acquired: Option<MicroTime>) -> LeaseSpec {
        let now = MicroTime(Timestamp::now());
        LeaseSpec {
            holder_identity: Some(self.identity.clone()),
            lease_duration_seconds: Some(LEASE_DURATION.as_secs() as i32),
            acquire_time: Some(acquired.unwrap_or_else(|| now.clone())),
            renew_time: Some(now),
            lease_transitions: Some(transitions),
            ..Default::default()
        }
    }

    async fn try_acquire_or_renew(&self) -> Result<Outcome, kube::Error> {
        let existing = self.api.get_opt(&self.name).await?;
        let Some(mut lease) = existing else {
            let lease = Lease {
                metadata: ObjectMeta {
                    name: Some(self.name.clone()),
                    ..Default::default()
                },
                spec: Some(self.spec(0, None)),
            };
            return match self.api.create(&PostParams::default(), &lease).await {
                Ok(_) => Ok(Outcome::Leader),
                Err(kube::Error::Api(s)) if s.code == 409 => Ok(Outcome::Follower),
                Err(e) => Err(e),
            };
        };
        let spec = lease.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().unwrap_or_default();
        let mine = holder == self.identity;
        let expired = match (&spec.renew_time, spec.lease_duration_seconds) {
            (Some(MicroTime(t)), Some(d)) => {
                t.saturating_add(SignedDuration::from_secs(d as i64))
                    .unwrap_or(*t)
                    < Timestamp::now()
            }
            _ => true,
        };
        if !mine && !holder.is_empty() && !expired {
            return Ok(Outcome::Follower);
        }
        let transitions = spec.lease_transitions.unwrap_or(0) + i32::from(!mine);
        let acquired = if mine {
            spec.acquire_time.clone()
        } else {
            None
        };
        lease.spec = Some(self.spec(transitions, acquired));
        match self
            .api
            .replace(&self.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => Ok(Outcome::Leader),
            Err(kube::Error::Api(s)) if s.code == 409 => Ok(Outcome::Follower),
            Err(e) => Err(e),
        }
    }

    /// Waits until this candidate holds the lease.
    pub async fn acquire(&self) {
        loop {
            match self.try_acquire_or_renew().await {
                Ok(Outcome::Leader) => {
                    tracing::info!(lease = %self.name, identity = %self.identity, "became leader");
                    return;
                }
                Ok(Outcome::Follower) => {}
                Err(e) => tracing::warn!(error = %e, "leader election request failed"),
            }
            tokio::time::sleep(RENEW).await;
        }
    }

    /// Renews forever; returns an error once the lease could not be kept.
    pub async fn keep(&self) -> LeaderError {
        let mut last_ok = tokio::time::Instant::now();
        loop {
            tokio::time::sleep(RENEW).await;
            match self.try_acquire_or_renew().await {
                Ok(Outcome::Leader) => last_ok = tokio::time::Instant::now(),
                Ok(Outcome::Follower) => return LeaderError::Lost(self.name.clone()),
                Err(e) => {
                    tracing::warn!(error = %e, "lease renewal failed");
                    // Stop before another candidate can legitimately take over.
                    if last_ok.elapsed() > LEASE_DURATION - RENEW * 2 {
                        return LeaderError::Lost(self.name.clone());
                    }
                }
            }
        }
    }
}
