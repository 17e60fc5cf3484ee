//! The RollingUpdate strategy: scale the new ReplicaSet up within maxSurge, scale old ones down
//! within maxUnavailable, one step per sync, until only the new one has pods.
//!
//! At every moment: pods that may exist ≤ replicas + maxSurge, and pods known available ≥
//! replicas − maxUnavailable. Both are judged conservatively (a ReplicaSet still shrinking
//! counts its old pods; one just scaled down is not trusted for more available pods than its
//! spec) so the limits hold for real pods, not only for specs. Must never touch pods.

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};
use kube::ResourceExt;
use kube::runtime::controller::Action;

use super::progress::{deployment_complete, sync_rollout_status};
use super::sync::Rollout;
use super::util::{self, max_surge, max_unavailable, replicas};
use crate::error::Result;

pub async fn rollout(r: &mut Rollout<'_>) -> Result<Action> {
    r.get_all_and_sync_revision(true).await?;
    if reconcile_new_rs(r).await? {
        return sync_rollout_status(r).await;
    }
    if reconcile_old_rss(r).await? {
        return sync_rollout_status(r).await;
    }
    let status = r.d.status.clone().unwrap_or_default();
    if deployment_complete(&r.d, &status) {
        r.cleanup().await?;
    }
    sync_rollout_status(r).await
}

/// The size the new ReplicaSet may grow to now (Kubernetes' NewRSNewReplicas).
pub fn new_rs_new_replicas(d: &Deployment, all: &[&ReplicaSet], new: Option<&ReplicaSet>) -> i32 {
    let want = replicas(d);
    if !util::is_rolling_update(d) {
        return want;
    }
    let new_size = new.map(util::rs_spec_replicas).unwrap_or(0);
    let max_total = want + max_surge(d);
    let current: i32 = all.iter().map(|rs| util::rs_pods_upper_bound(rs)).sum();
    if current >= max_total {
        return new_size;
    }
    let up = (max_total - current).min(want - new_size);
    new_size + up.max(0)
}

async fn reconcile_new_rs(r: &mut Rollout<'_>) -> Result<bool> {
    let Some(new) = r.new_rs().cloned() else {
        return Ok(false);
    };
    let uid = new.uid().unwrap_or_default();
    let want = r.replicas();
    let size = util::rs_spec_replicas(&new);
    if size == want {
        return Ok(false);
    }
    if size > want {
        return r.scale_rs(&uid, want).await;
    }
    let all = r.all_rss();
    let target = new_rs_new_replicas(&r.d, &all, Some(&new));
    r.scale_rs(&uid, target).await
}

async fn reconcile_old_rss(r: &mut Rollout<'_>) -> Result<bool> {
    let old_count: i32 = r
        .old_rss()
        .iter()
        .map(|rs| util::rs_spec_replicas(rs))
        .sum();
    if old_count == 0 {
        return Ok(false);
    }
    let all_count: i32 = r
        .all_rss()
        .iter()
        .map(|rs| util::rs_spec_replicas(rs))
        .sum();
    let min_available = r.replicas() - max_unavailable(&r.d);
    let new_unavailable = r
        .new_rs()
        .map(|rs| util::rs_spec_replicas(rs) - util::rs_safe_available(rs))
        .unwrap_or(0);
    let max_scaled_down = all_count - min_available - new_unavailable;
    if max_scaled_down <= 0 {
        return Ok(false);
    }
    // Unhealthy old pods first: removing them costs no availability.
    let cleaned = cleanup_unhealthy(r, max_scaled_down).await?;
    let scaled = scale_down_old(r).await?;
    Ok(cleaned + scaled > 0)
}

async fn cleanup_unhealthy(r: &mut Rollout<'_>, max_cleanup: i32) -> Result<i32> {
    let mut total = 0;
    let olds: Vec<(String, i32, i32)> = r
        .old_rss()
        .iter()
        .filter_map(|rs| {
            Some((
                rs.uid()?,
                util::rs_spec_replicas(rs),
                util::rs_safe_available(rs),
            ))
        })
        .collect();
    for (uid, spec, available) in olds {
        if total >= max_cleanup {
            break;
        }
        if spec == 0 || spec == available {
            continue;
        }
        let count = (max_cleanup - total).min(spec - available);
        r.scale_rs(&uid, spec - count).await?;
        total += count;
    }
    Ok(total)
}

async fn scale_down_old(r: &mut Rollout<'_>) -> Result<i32> {
    let min_available = r.replicas() - max_unavailable(&r.d);
    let available: i32 = r
        .all_rss()
        .iter()
        .map(|rs| util::rs_safe_available(rs))
        .sum();
    if available <= min_available {
        return Ok(0);
    }
    let total_down = available - min_available;
    let mut total = 0;
    let olds: Vec<(String, i32)> = r
        .old_rss()
        .iter()
        .filter_map(|rs| Some((rs.uid()?, util::rs_spec_replicas(rs))))
        .collect();
    for (uid, spec) in olds {
        if total >= total_down {
            break;
        }
        if spec == 0 {
            continue;
        }
        let count = spec.min(total_down - total);
        r.scale_rs(&uid, spec - count).await?;
        total += count;
    }
    Ok(total)
}
