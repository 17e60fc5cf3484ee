//! Deployment conditions: Progressing (NewReplicaSetCreated, FoundNewReplicaSet,
//! ReplicaSetUpdated, NewReplicaSetAvailable, ProgressDeadlineExceeded, DeploymentPaused,
//! DeploymentResumed) and Available, and the requeue that makes a stuck rollout time out even
//! when no event arrives.
//!
//! Owns: `status.conditions` of Deployments. Must never scale anything.

use std::time::Duration;

use k8s_openapi::api::apps::v1::{Deployment, DeploymentCondition, DeploymentStatus};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use k8s_openapi::jiff::Timestamp;
use kube::ResourceExt;
use kube::runtime::controller::Action;

use super::no_requeue;
use super::sync::Rollout;
use super::util;
use crate::error::Result;

pub const PROGRESSING: &str = "Progressing";
pub const NEW_RS_AVAILABLE: &str = "NewReplicaSetAvailable";
pub const TIMED_OUT: &str = "ProgressDeadlineExceeded";
pub const PAUSED: &str = "DeploymentPaused";
pub const RESUMED: &str = "DeploymentResumed";

pub fn has_progress_deadline(d: &Deployment) -> bool {
    d.spec
        .as_ref()
        .and_then(|s| s.progress_deadline_seconds)
        .is_some_and(|s| s != i32::MAX)
}

pub fn get_condition<'a>(
    status: &'a DeploymentStatus,
    type_: &str,
) -> Option<&'a DeploymentCondition> {
    status
        .conditions
        .as_ref()?
        .iter()
        .find(|c| c.type_ == type_)
}

pub fn new_condition(
    type_: &str,
    status: &str,
    reason: &str,
    message: String,
) -> DeploymentCondition {
    let now = Time(Timestamp::now());
    DeploymentCondition {
        type_: type_.into(),
        status: status.into(),
        reason: Some(reason.into()),
        message: Some(message),
        last_update_time: Some(now.clone()),
        last_transition_time: Some(now),
    }
}

/// Sets a condition; an existing one with the same status and reason is left alone (so its
/// times stay put and an unchanged status is not rewritten), and a change of reason alone
/// keeps the transition time.
pub fn set_condition(status: &mut DeploymentStatus, mut cond: DeploymentCondition) {
    let conds = status.conditions.get_or_insert_with(Vec::new);
    if let Some(cur) = conds.iter().find(|c| c.type_ == cond.type_) {
        if cur.status == cond.status && cur.reason == cond.reason {
            return;
        }
        if cur.status == cond.status {
            cond.last_transition_time = cur.last_transition_time.clone();
        }
    }
    conds.retain(|c| c.type_ != cond.type_);
    conds.push(cond);
}

fn remove_condition(status: &mut DeploymentStatus, type_: &str) {
    if let Some(c) = status.conditions.as_mut() {
        c.retain(|c| c.type_ != type_);
    }
}

/// Every pod is updated, none old remains, all are available, and the newest spec is seen.
pub fn deployment_complete(d: &Deployment, s: &DeploymentStatus) -> bool {
    let r = util::replicas(d);
    s.updated_replicas.unwrap_or(0) == r
        && s.replicas.unwrap_or(0) == r
        && s.available_replicas.unwrap_or(0) == r
        && s.observed_generation >= d.metadata.generation
}

/// Something moved since the status we last wrote.
fn deployment_progressing(d: &Deployment, new: &DeploymentStatus) -> bool {
    let old = d.status.clone().unwrap_or_default();
    let old_old = old.replicas.unwrap_or(0) - old.updated_replicas.unwrap_or(0);
    let new_old = new.replicas.unwrap_or(0) - new.updated_replicas.unwrap_or(0);
    new.updated_replicas.unwrap_or(0) > old.updated_replicas.unwrap_or(0)
        || new_old < old_old
        || new.ready_replicas.unwrap_or(0) > old.ready_replicas.unwrap_or(0)
        || new.available_replicas.unwrap_or(0) > old.available_replicas.unwrap_or(0)
}

fn deadline(d: &Deployment) -> i64 {
    i64::from(
        d.spec
            .as_ref()
            .and_then(|s| s.progress_deadline_seconds)
            .unwrap_or(600),
    )
}

fn deployment_timed_out(d: &Deployment, s: &DeploymentStatus) -> bool {
    if !has_progress_deadline(d) {
        return false;
    }
    let Some(c) = get_condition(s, PROGRESSING) else {
        return false;
    };
    match c.reason.as_deref() {
        Some(NEW_RS_AVAILABLE) => false,
        Some(TIMED_OUT) => true,
        _ => c
            .last_update_time
            .as_ref()
            .is_some_and(|t| t.0.as_second() + deadline(d) < Timestamp::now().as_second()),
    }
}

/// Marks a paused Deployment as such (and a resumed one as resumed) so a pause never counts
/// against the progress deadline.
pub async fn check_paused_conditions(r: &mut Rollout<'_>) -> Result<()> {
    if !has_progress_deadline(&r.d) {
        return Ok(());
    }
    let mut status = r.d.status.clone().unwrap_or_default();
    let cur = get_condition(&status, PROGRESSING);
    if cur.and_then(|c| c.reason.as_deref()) == Some(TIMED_OUT) {
        return Ok(());
    }
    let paused_cond = cur.and_then(|c| c.reason.as_deref()) == Some(PAUSED);
    let paused = r.d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false);
    let cond = if paused && !paused_cond {
        new_condition(
            PROGRESSING,
            "Unknown",
            PAUSED,
            "Deployment is paused".into(),
        )
    } else if !paused && paused_cond {
        new_condition(
            PROGRESSING,
            "Unknown",
            RESUMED,
            "Deployment is resumed".into(),
        )
    } else {
        return Ok(());
    };
    set_condition(&mut status, cond);
    r.write_status(status).await
}

/// Computes status and the Progressing condition after a rollout step, writes it, and
/// schedules the next look at a rollout that might hit its deadline (Kubernetes'
/// syncRolloutStatus + requeueStuckDeployment).
pub async fn sync_rollout_status(r: &mut Rollout<'_>) -> Result<Action> {
    let mut new = r.calculate_status();
    let rs_name = r.new_rs().map(|rs| rs.name_any());
    let d = r.d.clone();
    if has_progress_deadline(&d) {
        let cur =
            r.d.status
                .as_ref()
                .and_then(|s| get_condition(s, PROGRESSING))
                .cloned();
        let already_complete = new.replicas == new.updated_replicas
            && cur.as_ref().and_then(|c| c.reason.as_deref()) == Some(NEW_RS_AVAILABLE);
        if !already_complete {
            let (what, name) = match &rs_name {
                Some(n) => ("ReplicaSet", n.clone()),
                None => ("Deployment", d.name_any()),
            };
            if deployment_complete(&d, &new) {
                let msg = format!("{what} \"{name}\" has successfully progressed.");
                set_condition(
                    &mut new,
                    new_condition(PROGRESSING, "True", NEW_RS_AVAILABLE, msg),
                );
            } else if deployment_progressing(&d, &new) {
                let msg = format!("{what} \"{name}\" is progressing.");
                let mut cond = new_condition(PROGRESSING, "True", "ReplicaSetUpdated", msg);
                // Progress moves lastUpdateTime even with an unchanged reason: that is what
                // restarts the deadline clock.
                if let Some(c) = cur.as_ref().filter(|c| c.status == "True") {
                    cond.last_transition_time = c.last_transition_time.clone();
                }
                remove_condition(&mut new, PROGRESSING);
                set_condition(&mut new, cond);
            } else if deployment_timed_out(&d, &new) {
                let msg = format!("{what} \"{name}\" has timed out progressing.");
                set_condition(
                    &mut new,
                    new_condition(PROGRESSING, "False", TIMED_OUT, msg),
                );
            }
        }
    }
    let requeue = requeue_stuck(&d, &new);
    r.write_status(new).await?;
    Ok(requeue.unwrap_or_else(no_requeue))
}

/// When a rollout is still going, look again just after its deadline would pass.
fn requeue_stuck(d: &Deployment, s: &DeploymentStatus) -> Option<Action> {
    if !has_progress_deadline(d) || deployment_complete(d, s) {
        return None;
    }
    let c = get_condition(s, PROGRESSING)?;
    if matches!(c.reason.as_deref(), Some(NEW_RS_AVAILABLE | TIMED_OUT)) {
        return None;
    }
    let last = c.last_update_time.as_ref()?.0.as_second();
    let left = last + deadline(d) - Timestamp::now().as_second();
    Some(Action::requeue(Duration::from_secs(left.max(0) as u64 + 1)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_status_and_reason_keeps_the_old_condition() {
        let mut s = DeploymentStatus::default();
        let mut first = new_condition("Available", "True", "MinimumReplicasAvailable", "a".into());
        first.last_update_time = None;
        set_condition(&mut s, first.clone());
        set_condition(
            &mut s,
            new_condition("Available", "True", "MinimumReplicasAvailable", "b".into()),
        );
        assert_eq!(get_condition(&s, "Available"), Some(&first));
        set_condition(
            &mut s,
            new_condition(
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "c".into(),
            ),
        );
        assert_eq!(
            get_condition(&s, "Available").map(|c| c.status.as_str()),
            Some("False")
        );
        assert_eq!(s.conditions.as_ref().map(Vec::len), Some(1));
    }
}
