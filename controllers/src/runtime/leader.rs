//! Leader election over a coordination.k8s.io/v1 Lease, so that of several
//! capstan-controllers processes exactly one runs controllers at a time.
//!
//! Expiry is judged the way client-go judges it: by how long *we* have watched the lease record
//! stay unchanged, never by comparing our clock with the holder's `renewTime`, so clock skew
//! between machines cannot make two leaders. Owns: the Lease object named in its config. Must
//! never run controllers itself or keep leading after it failed to renew for `renew_deadline`.

use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::Client;
use kube::api::{Api, PostParams};
use tokio::sync::watch;

use crate::error::{Error, Result, api_code};

#[derive(Debug, Clone)]
pub struct LeaderConfig {
    pub namespace: String,
    pub name: String,
    pub identity: String,
    pub lease_duration: Duration,
    pub renew_period: Duration,
    /// How long renewals may keep failing before we stop acting as leader.
    pub renew_deadline: Duration,
}

impl LeaderConfig {
    pub fn new(identity: String) -> Self {
        LeaderConfig {
            namespace: "kube-system".into(),
            name: "capstan-controllers".into(),
            identity,
            // A standby takes over one lease duration (plus a retry period) after the leader
            // dies: 10 s keeps failover within the 15 s asked of it. The leader stops acting
            // after failing to renew for 7 s, well before anyone else may start.
            lease_duration: Duration::from_secs(10),
            renew_period: Duration::from_secs(2),
            renew_deadline: Duration::from_secs(7),
        }
    }
}

/// `hostname_<random>`: unique per process, readable in `kubectl get lease -o yaml`.
pub fn default_identity() -> String {
    let host = std::env::var("HOSTNAME")
        .ok()
        .filter(|h| !h.is_empty())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|| "capstan".into());
    format!("{host}_{:08x}", rand::random::<u32>())
}

pub struct LeaderElector {
    api: Api<Lease>,
    config: LeaderConfig,
    /// The last (holder, renewTime) we saw and when we first saw it.
    observed: Option<(Option<String>, Option<MicroTime>, Instant)>,
}

impl LeaderElector {
    pub fn new(client: Client, config: LeaderConfig) -> Self {
        LeaderElector {
            api: Api::namespaced(client, &config.namespace),
            config,
            observed: None,
        }
    }

    /// Waits until this process holds the lease. Returns false if `shutdown` came first.
    pub async fn acquire(&mut self, shutdown: &mut watch::Receiver<bool>) -> bool {
        loop {
            match self.try_acquire_or_renew().await {
                Ok(true) => {
                    tracing::info!(identity = %self.config.identity, "became leader");
                    return true;
                }
                Ok(false) => {}
                Err(e) => tracing::warn!(error = %e, "leader election attempt failed"),
            }
            tokio::select! {
                _ = tokio::time::sleep(self.config.renew_period) => {}
                _ = crate::runtime::stopped(shutdown) => return false,
            }
        }
    }

    /// Renews until `shutdown` (then releases the lease and returns Ok) or until renewals fail
    /// for longer than the renew deadline (then returns an error: leadership is lost).
    pub async fn hold(mut self, mut shutdown: watch::Receiver<bool>) -> Result<()> {
        let mut last_renew = Instant::now();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(self.config.renew_period) => {}
                _ = crate::runtime::stopped(&mut shutdown) => {
                    self.release().await;
                    return Ok(());
                }
            }
            match self.try_acquire_or_renew().await {
                Ok(true) => last_renew = Instant::now(),
                Ok(false) => {
                    return Err(Error::LeaderElection(
                        "another instance took the lease".into(),
                    ));
                }
                Err(e) => tracing::warn!(error = %e, "lease renewal failed"),
            }
            if last_renew.elapsed() > self.config.renew_deadline {
                return Err(Error::LeaderElection(format!(
                    "could not renew the lease for {:?}",
                    self.config.renew_deadline
                )));
            }
        }
    }

    fn record(&self, lease: Option<&Lease>, transitions: i32, acquire: Option<MicroTime>) -> Lease {
        let now = MicroTime(Timestamp::now());
        Lease {
            metadata: ObjectMeta {
                name: Some(self.config.name.clone()),
                namespace: Some(self.config.namespace.clone()),
                resource_version: lease.and_then(|l| l.metadata.resource_version.clone()),
                ..lease.map(|l| l.metadata.clone()).unwrap_or_default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(self.config.identity.clone()),
                lease_duration_seconds: Some(self.config.lease_duration.as_secs() as i32),
                acquire_time: Some(acquire.unwrap_or_else(|| now.clone())),
                renew_time: Some(now),
                lease_transitions: Some(transitions),
                ..LeaseSpec::default()
            }),
        }
    }

    /// One round of the client-go algorithm: create the lease, renew it, or take it over if
    /// its holder has not renewed within the lease duration as we observed it.
    pub async fn try_acquire_or_renew(&mut self) -> Result<bool> {
        let current = match self.api.get(&self.config.name).await {
            Ok(l) => l,
            Err(e) if api_code(&e) == Some(404) => {
                let lease = self.record(None, 0, None);
                return match self.api.create(&PostParams::default(), &lease).await {
                    Ok(_) => Ok(true),
                    Err(e) if api_code(&e) == Some(409) => Ok(false),
                    Err(e) => Err(e.into()),
                };
            }
            Err(e) => return Err(e.into()),
        };
        let spec = current.spec.clone().unwrap_or_default();
        let holder = spec.holder_identity.clone().filter(|h| !h.is_empty());
        let ours = holder.as_deref() == Some(self.config.identity.as_str());
        let now = Instant::now();
        let changed = match &self.observed {
            Some((h, r, _)) => *h != holder || *r != spec.renew_time,
            None => true,
        };
        if changed {
            self.observed = Some((holder.clone(), spec.renew_time.clone(), now));
        }
        let duration = spec
            .lease_duration_seconds
            .map(|s| Duration::from_secs(s.max(0) as u64))
            .unwrap_or(self.config.lease_duration);
        let seen_since = self.observed.as_ref().map(|o| o.2).unwrap_or(now);
        let expired = holder.is_none() || now.duration_since(seen_since) > duration;
        if !ours && !expired {
            return Ok(false);
        }
        let transitions = spec.lease_transitions.unwrap_or(0) + i32::from(!ours);
        let acquire = if ours {
            spec.acquire_time.clone()
        } else {
            None
        };
        let lease = self.record(Some(&current), transitions, acquire);
        match self
            .api
            .replace(&self.config.name, &PostParams::default(), &lease)
            .await
        {
            Ok(l) => {
                let s = l.spec.unwrap_or_default();
                self.observed = Some((s.holder_identity, s.renew_time, Instant::now()));
                Ok(true)
            }
            Err(e) if api_code(&e) == Some(409) => Ok(false),
            Err(e) => Err(e.into()),
        }
    }

    /// Gives the lease up so a successor need not wait for it to expire.
    async fn release(&mut self) {
        let Ok(current) = self.api.get(&self.config.name).await else {
            return;
        };
        let spec = current.spec.clone().unwrap_or_default();
        if spec.holder_identity.as_deref() != Some(self.config.identity.as_str()) {
            return;
        }
        let mut lease = current;
        lease.spec = Some(LeaseSpec {
            holder_identity: None,
            lease_duration_seconds: Some(1),
            renew_time: Some(MicroTime(Timestamp::now())),
            ..spec
        });
        match self
            .api
            .replace(&self.config.name, &PostParams::default(), &lease)
            .await
        {
            Ok(_) => tracing::info!("released leader lease"),
            Err(e) => tracing::warn!(error = %e, "could not release leader lease"),
        }
    }
}
