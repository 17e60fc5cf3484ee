//! The Recreate strategy: scale every old ReplicaSet to zero, wait until none of their pods is
//! left running, then create (or scale up) the new ReplicaSet to the full size.
//!
//! Must never let an old and a new pod run at the same time.

use std::collections::HashSet;

use kube::ResourceExt;
use kube::runtime::controller::Action;

use super::progress::{deployment_complete, sync_rollout_status};
use super::sync::Rollout;
use super::util;
use crate::error::Result;
use crate::runtime::ownership::controller_of;

pub async fn rollout(r: &mut Rollout<'_>) -> Result<Action> {
    r.get_all_and_sync_revision(false).await?;
    let mut scaled = false;
    let olds: Vec<String> = util::active(r.old_rss())
        .iter()
        .filter_map(|rs| rs.uid())
        .collect();
    for uid in olds {
        scaled |= r.scale_rs(&uid, 0).await?;
    }
    if scaled || old_pods_running(r) {
        return sync_rollout_status(r).await;
    }
    if r.new_rs().is_none() {
        r.get_all_and_sync_revision(true).await?;
    }
    if let Some(uid) = r.new_rs().and_then(|rs| rs.uid()) {
        let want = r.replicas();
        r.scale_rs(&uid, want).await?;
    }
    let status = r.d.status.clone().unwrap_or_default();
    if deployment_complete(&r.d, &status) {
        r.cleanup().await?;
    }
    sync_rollout_status(r).await
}

/// Any old ReplicaSet still reports pods, or any pod of one (terminating ones included) has
/// not finished.
fn old_pods_running(r: &Rollout<'_>) -> bool {
    let olds = r.old_rss();
    if olds.iter().any(|rs| util::rs_status_replicas(rs) > 0) {
        return true;
    }
    let old_uids: HashSet<String> = olds.iter().filter_map(|rs| rs.uid()).collect();
    let ns = r.d.namespace();
    r.ctx.shared.pods.store().state().iter().any(|p| {
        p.namespace() == ns
            && controller_of(&p.metadata).is_some_and(|o| old_uids.contains(&o.uid))
            && !matches!(
                p.status.as_ref().and_then(|s| s.phase.as_deref()),
                Some("Succeeded" | "Failed")
            )
    })
}
