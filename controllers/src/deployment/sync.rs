//! One Deployment sync: load and claim its ReplicaSets, find or create the ReplicaSet for the
//! current template, then hand over to the strategy; plus what every path shares — scaling a
//! ReplicaSet, proportional scaling, history cleanup and status.
//!
//! Owns: the `Rollout` working state of a single reconcile. Must never decide how a strategy
//! moves replicas between ReplicaSets (rolling.rs and recreate.rs do).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use k8s_openapi::api::apps::v1::{
    Deployment, DeploymentCondition, DeploymentStatus, ReplicaSet, ReplicaSetSpec,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams, Preconditions};
use kube::runtime::controller::Action;
use serde_json::json;

use super::progress::{self, has_progress_deadline, new_condition, set_condition};
use super::rollback::{
    max_revision, set_deployment_revision, set_new_rs_annotations, set_replicas_annotations,
};
use super::util::{self, POD_TEMPLATE_HASH, revision};
use super::{Context, key_of, no_requeue, recreate, rolling};
use crate::error::{Error, Result, api_code};
use crate::runtime::ownership::{self, Claim, controller_of, controller_ref};

/// Working state of one reconcile: the Deployment as we mean to write it back and its
/// ReplicaSets as last read or written by us.
pub struct Rollout<'a> {
    pub ctx: &'a Context,
    pub d: Deployment,
    original_status: Option<DeploymentStatus>,
    original_revision: Option<String>,
    pub rss: Vec<ReplicaSet>,
    pub new_uid: Option<String>,
    pub rs_api: Api<ReplicaSet>,
    pub d_api: Api<Deployment>,
}

/// The reconcile entry point (Kubernetes' syncDeployment).
pub async fn sync_deployment(d: Arc<Deployment>, ctx: Arc<Context>) -> Result<Action> {
    let key = key_of(&d);
    let ns = d.namespace().unwrap_or_default();
    let mut r = Rollout {
        ctx: &ctx,
        d: (*d).clone(),
        original_status: d.status.clone(),
        original_revision: util::annotation(&d.metadata, util::REVISION).map(String::from),
        rss: Vec::new(),
        new_uid: None,
        rs_api: Api::namespaced(ctx.shared.client.clone(), &ns),
        d_api: Api::namespaced(ctx.shared.client.clone(), &ns),
    };
    let selector = d
        .spec
        .as_ref()
        .and_then(|s| ownership::selector(&s.selector));
    let Some(selector) = selector.filter(|s| !s.selects_all()) else {
        ctx.shared.recorder.warning(
            d.as_ref(),
            "SelectingAll",
            "This deployment is selecting all pods. A non-empty selector is required.".into(),
        );
        return Ok(no_requeue());
    };
    if d.metadata.deletion_timestamp.is_some() {
        // Being deleted: the garbage collector owns what happens to the ReplicaSets now.
        r.rss = r.owned_replicasets();
        r.get_all_and_sync_revision(false).await?;
        r.sync_status_only().await?;
        return Ok(no_requeue());
    }
    r.claim_replicasets(&selector).await?;
    tracing::debug!(deployment = %key, replicasets = r.rss.len(), "syncing");

    progress::check_paused_conditions(&mut r).await?;
    let paused = r.d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false);
    if paused {
        return r.sync().await;
    }
    if r.is_scaling_event().await? {
        return r.sync().await;
    }
    if util::is_rolling_update(&r.d) {
        rolling::rollout(&mut r).await
    } else {
        recreate::rollout(&mut r).await
    }
}

impl<'a> Rollout<'a> {
    pub fn replicas(&self) -> i32 {
        util::replicas(&self.d)
    }

    pub fn new_rs(&self) -> Option<&ReplicaSet> {
        let uid = self.new_uid.as_deref()?;
        self.rss.iter().find(|rs| rs.uid().as_deref() == Some(uid))
    }

    /// Every ReplicaSet but the new one, oldest first.
    pub fn old_rss(&self) -> Vec<&ReplicaSet> {
        let mut v: Vec<&ReplicaSet> = self
            .rss
            .iter()
            .filter(|rs| rs.uid() != self.new_uid)
            .collect();
        v.sort_by(|a, b| {
            util::creation(a)
                .cmp(&util::creation(b))
                .then_with(|| a.name_any().cmp(&b.name_any()))
        });
        v
    }

    pub fn all_rss(&self) -> Vec<&ReplicaSet> {
        self.rss.iter().collect()
    }

    fn owned_replicasets(&self) -> Vec<ReplicaSet> {
        let uid = self.d.uid();
        let ns = self.d.namespace();
        self.ctx
            .shared
            .replicasets
            .store()
            .state()
            .iter()
            .filter(|rs| rs.namespace() == ns)
            .filter(|rs| controller_of(&rs.metadata).map(|r| Some(&r.uid)) == Some(uid.as_ref()))
            .map(|rs| (**rs).clone())
            .collect()
    }

    /// Adopts matching orphan ReplicaSets and releases owned ones that stopped matching.
    async fn claim_replicasets(&mut self, selector: &kube::core::Selector) -> Result<()> {
        let uid = self.d.uid().unwrap_or_default();
        let ns = self.d.namespace();
        let all = self.ctx.shared.replicasets.store().state();
        let mut fresh_ok: Option<bool> = None;
        for rs in all.iter().filter(|rs| rs.namespace() == ns) {
            match ownership::claim(&uid, false, selector, &rs.metadata) {
                Claim::Owned => self.rss.push((**rs).clone()),
                Claim::Ignore => {}
                Claim::Release => ownership::release(&self.rs_api, rs.as_ref(), &uid).await?,
                Claim::Adopt => {
                    let ok = match fresh_ok {
                        Some(ok) => ok,
                        None => {
                            let ok = match self.d_api.get(&self.d.name_any()).await {
                                Ok(f) => {
                                    f.metadata.uid == self.d.metadata.uid
                                        && f.metadata.deletion_timestamp.is_none()
                                }
                                Err(e) if api_code(&e) == Some(404) => false,
                                Err(e) => return Err(e.into()),
                            };
                            fresh_ok = Some(ok);
                            ok
                        }
                    };
                    if !ok {
                        continue;
                    }
                    match ownership::adopt(&self.rs_api, rs.as_ref(), controller_ref(&self.d)).await
                    {
                        Ok(()) => {
                            tracing::info!(deployment = %key_of(&self.d), replicaset = %rs.name_any(), "adopted replica set");
                            self.rss.push((**rs).clone());
                        }
                        Err(e) if e.is_conflict() || e.is_not_found() => {}
                        Err(e) => return Err(e),
                    }
                }
            }
        }
        Ok(())
    }

    fn replace_rs(&mut self, rs: ReplicaSet) {
        match self.rss.iter_mut().find(|x| x.uid() == rs.uid()) {
            Some(slot) => *slot = rs,
            None => self.rss.push(rs),
        }
    }

    /// Finds the ReplicaSet whose template equals the Deployment's (the oldest, if several),
    /// brings its revision and annotations up to date, and — when `create` — creates it if
    /// there is none (Kubernetes' getAllReplicaSetsAndSyncRevision).
    pub async fn get_all_and_sync_revision(&mut self, create: bool) -> Result<()> {
        let template = self
            .d
            .spec
            .as_ref()
            .map(|s| s.template.clone())
            .unwrap_or_default();
        let mut by_age: Vec<&ReplicaSet> = self.rss.iter().collect();
        by_age.sort_by(|a, b| {
            util::creation(a)
                .cmp(&util::creation(b))
                .then_with(|| a.name_any().cmp(&b.name_any()))
        });
        let existing = by_age
            .into_iter()
            .find(|rs| {
                rs.spec
                    .as_ref()
                    .and_then(|s| s.template.as_ref())
                    .is_some_and(|t| util::templates_equal(t, &template))
            })
            .cloned();
        let max_old = max_revision(
            self.rss
                .iter()
                .filter(|rs| Some(rs.uid()) != existing.as_ref().map(|e| e.uid())),
        );
        let new_revision = max_old + 1;
        let min_ready = self.d.spec.as_ref().and_then(|s| s.min_ready_seconds);

        if let Some(rs) = existing {
            let mut copy = rs.clone();
            let annotations_changed =
                set_new_rs_annotations(&self.d, &mut copy, new_revision, true);
            let min_ready_changed =
                copy.spec.as_ref().and_then(|s| s.min_ready_seconds) != min_ready;
            let rs = if annotations_changed || min_ready_changed {
                let patch = json!({
                    "metadata": {
                        "resourceVersion": rs.metadata.resource_version,
                        "annotations": copy.metadata.annotations,
                    },
                    "spec": {"minReadySeconds": min_ready},
                });
                let updated = self
                    .rs_api
                    .patch(
                        &rs.name_any(),
                        &PatchParams::default(),
                        &Patch::Merge(&patch),
                    )
                    .await?;
                self.replace_rs(updated.clone());
                updated
            } else {
                rs
            };
            self.new_uid = rs.uid();
            let rev = util::annotation(&rs.metadata, util::REVISION)
                .unwrap_or_default()
                .to_string();
            set_deployment_revision(&mut self.d, &rev);
            let has_deadline = has_progress_deadline(&self.d);
            let status = self.d.status.get_or_insert_with(Default::default);
            if has_deadline && progress::get_condition(status, "Progressing").is_none() {
                let msg = format!("Found new replica set \"{}\"", rs.name_any());
                let status = self.d.status.get_or_insert_with(Default::default);
                set_condition(
                    status,
                    new_condition("Progressing", "True", "FoundNewReplicaSet", msg),
                );
            }
            return self.write_revision().await;
        }
        if !create {
            self.new_uid = None;
            return Ok(());
        }
        self.create_new_rs(template, new_revision).await
    }

    async fn create_new_rs(
        &mut self,
        template: k8s_openapi::api::core::v1::PodTemplateSpec,
        new_revision: i64,
    ) -> Result<()> {
        let collision = self.d.status.as_ref().and_then(|s| s.collision_count);
        let hash = util::pod_template_hash(&template, collision);
        let mut new_template = template.clone();
        let meta = new_template.metadata.get_or_insert_with(Default::default);
        meta.labels = Some(util::with_label(
            meta.labels.take(),
            POD_TEMPLATE_HASH,
            &hash,
        ));
        let d_selector = self
            .d
            .spec
            .as_ref()
            .map(|s| s.selector.clone())
            .unwrap_or_default();
        let selector = LabelSelector {
            match_labels: Some(util::with_label(
                d_selector.match_labels.clone(),
                POD_TEMPLATE_HASH,
                &hash,
            )),
            match_expressions: d_selector.match_expressions.clone(),
        };
        let name = format!("{}-{}", self.d.name_any(), hash);
        let all: Vec<&ReplicaSet> = self.rss.iter().collect();
        let new_replicas = rolling::new_rs_new_replicas(&self.d, &all, None);
        let mut rs = ReplicaSet {
            metadata: ObjectMeta {
                name: Some(name.clone()),
                namespace: self.d.namespace(),
                labels: new_template
                    .metadata
                    .as_ref()
                    .and_then(|m| m.labels.clone()),
                owner_references: Some(vec![controller_ref(&self.d)]),
                annotations: Some(BTreeMap::new()),
                ..ObjectMeta::default()
            },
            spec: Some(ReplicaSetSpec {
                replicas: Some(new_replicas),
                min_ready_seconds: self.d.spec.as_ref().and_then(|s| s.min_ready_seconds),
                selector,
                template: Some(new_template),
            }),
            status: None,
        };
        set_new_rs_annotations(&self.d, &mut rs, new_revision, false);
        let created = match self.rs_api.create(&PostParams::default(), &rs).await {
            Ok(c) => c,
            Err(e) if api_code(&e) == Some(409) => {
                let existing = self.rs_api.get(&name).await?;
                let ours = controller_of(&existing.metadata).map(|r| &r.uid)
                    == self.d.metadata.uid.as_ref();
                let same = existing
                    .spec
                    .as_ref()
                    .and_then(|s| s.template.as_ref())
                    .is_some_and(|t| util::templates_equal(t, &template));
                if ours && same {
                    // Our own earlier create that the cache has not shown us yet.
                    self.replace_rs(existing.clone());
                    self.new_uid = existing.uid();
                    return Ok(());
                }
                // A different ReplicaSet holds the name: bump the collision count so the next
                // sync computes a different hash (Kubernetes does the same).
                let count = collision.unwrap_or(0).saturating_add(1);
                let patch = json!({"status": {"collisionCount": count}});
                self.d_api
                    .patch_status(
                        &self.d.name_any(),
                        &PatchParams::default(),
                        &Patch::Merge(&patch),
                    )
                    .await?;
                return Err(Error::Retry(format!(
                    "hash collision for replica set {name}"
                )));
            }
            Err(e) => {
                self.ctx.shared.recorder.warning(
                    &self.d,
                    "FailedCreate",
                    format!("Failed to create new replica set \"{name}\": {e}"),
                );
                return Err(e.into());
            }
        };
        if new_replicas > 0 {
            self.ctx.shared.recorder.normal(
                &self.d,
                "ScalingReplicaSet",
                format!("Scaled up replica set {name} from 0 to {new_replicas}"),
            );
        }
        tracing::info!(deployment = %key_of(&self.d), replicaset = %name, replicas = new_replicas, "created new replica set");
        self.new_uid = created.uid();
        self.replace_rs(created);
        set_deployment_revision(&mut self.d, &new_revision.to_string());
        if has_progress_deadline(&self.d) {
            let status = self.d.status.get_or_insert_with(Default::default);
            set_condition(
                status,
                new_condition(
                    "Progressing",
                    "True",
                    "NewReplicaSetCreated",
                    format!("Created new replica set \"{name}\""),
                ),
            );
        }
        self.write_revision().await
    }

    /// Persists the Deployment's revision annotation if this sync changed it.
    async fn write_revision(&mut self) -> Result<()> {
        let rev = util::annotation(&self.d.metadata, util::REVISION).map(String::from);
        if rev == self.original_revision {
            return Ok(());
        }
        let patch = json!({"metadata": {"annotations": {util::REVISION: rev}}});
        self.d_api
            .patch(
                &self.d.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await?;
        self.original_revision = rev;
        Ok(())
    }

    /// Sets a ReplicaSet's size (and the size annotations). Returns whether the size changed.
    pub async fn scale_rs(&mut self, uid: &str, size: i32) -> Result<bool> {
        let Some(rs) = self
            .rss
            .iter()
            .find(|rs| rs.uid().as_deref() == Some(uid))
            .cloned()
        else {
            return Ok(false);
        };
        let old = util::rs_spec_replicas(&rs);
        let mut copy = rs.clone();
        let annotations_changed = set_replicas_annotations(
            &mut copy,
            self.replicas(),
            self.replicas() + util::max_surge(&self.d),
        );
        if old == size && !annotations_changed {
            return Ok(false);
        }
        // The resourceVersion makes this a compare-and-swap: a stale cache fails with 409
        // instead of scaling twice.
        let patch = json!({
            "metadata": {
                "resourceVersion": rs.metadata.resource_version,
                "annotations": copy.metadata.annotations,
            },
            "spec": {"replicas": size},
        });
        let updated = self
            .rs_api
            .patch(
                &rs.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await?;
        self.replace_rs(updated);
        if old != size {
            let dir = if size > old { "up" } else { "down" };
            tracing::info!(deployment = %key_of(&self.d), replicaset = %rs.name_any(), from = old, to = size, "scaled replica set");
            self.ctx.shared.recorder.normal(
                &self.d,
                "ScalingReplicaSet",
                format!(
                    "Scaled {dir} replica set {} from {old} to {size}",
                    rs.name_any()
                ),
            );
        }
        Ok(old != size)
    }

    /// True when a ReplicaSet was sized for a different Deployment size than the current one:
    /// the user scaled, and replicas must be spread before any rollout step.
    async fn is_scaling_event(&mut self) -> Result<bool> {
        self.get_all_and_sync_revision(false).await?;
        let replicas = self.replicas();
        Ok(util::active(self.rss.iter()).iter().any(|rs| {
            util::annotation(&rs.metadata, util::DESIRED_REPLICAS)
                .and_then(|v| v.parse::<i32>().ok())
                .is_some_and(|desired| desired != replicas)
        }))
    }

    /// Scaling (and, while paused, cleanup) without a rollout step (Kubernetes' sync).
    async fn sync(&mut self) -> Result<Action> {
        self.get_all_and_sync_revision(false).await?;
        self.scale().await?;
        if self.d.spec.as_ref().and_then(|s| s.paused).unwrap_or(false) {
            self.cleanup().await?;
        }
        self.sync_status_only().await?;
        Ok(no_requeue())
    }

    /// Resizes ReplicaSets after the Deployment's size changed: one active ReplicaSet takes
    /// the whole size; several share the change in proportion to their sizes, so a scale in the
    /// middle of a rollout neither speeds it up nor rolls it back.
    async fn scale(&mut self) -> Result<()> {
        let replicas = self.replicas();
        let active: Vec<String> = util::active(self.rss.iter())
            .iter()
            .filter_map(|rs| rs.uid())
            .collect();
        // One active ReplicaSet (or none: the newest one) simply becomes the right size.
        let target = match active.len() {
            1 => Some(active[0].clone()),
            0 => self
                .new_uid
                .clone()
                .or_else(|| self.old_rss().last().and_then(|rs| rs.uid())),
            _ => None,
        };
        if let Some(uid) = target {
            self.scale_rs(&uid, replicas).await?;
            return Ok(());
        }
        // New ReplicaSet saturated: the old ones can go.
        if let Some(new) = self.new_rs() {
            let saturated = util::rs_spec_replicas(new) == replicas
                && util::annotation(&new.metadata, util::DESIRED_REPLICAS)
                    == Some(&replicas.to_string())
                && util::rs_available(new) == replicas;
            if saturated {
                let olds: Vec<String> = util::active(self.old_rss())
                    .iter()
                    .filter_map(|rs| rs.uid())
                    .collect();
                for uid in olds {
                    self.scale_rs(&uid, 0).await?;
                }
                return Ok(());
            }
        }
        if !util::is_rolling_update(&self.d) {
            return Ok(());
        }
        let mut sizes: Vec<(
            String,
            i32,
            Option<i32>,
            Option<k8s_openapi::jiff::Timestamp>,
        )> = util::active(self.rss.iter())
            .iter()
            .filter_map(|rs| {
                let max =
                    util::annotation(&rs.metadata, util::MAX_REPLICAS).and_then(|v| v.parse().ok());
                Some((
                    rs.uid()?,
                    util::rs_spec_replicas(rs),
                    max,
                    util::creation(rs),
                ))
            })
            .collect();
        let current: i32 = sizes.iter().map(|s| s.1).sum();
        let allowed = if replicas > 0 {
            replicas + util::max_surge(&self.d)
        } else {
            0
        };
        let to_add = allowed - current;
        if to_add == 0 {
            return Ok(());
        }
        // Growing favours the biggest, newest ReplicaSet; shrinking the biggest, oldest one.
        if to_add > 0 {
            sizes.sort_by(|a, b| b.1.cmp(&a.1).then(b.3.cmp(&a.3)));
        } else {
            sizes.sort_by(|a, b| b.1.cmp(&a.1).then(a.3.cmp(&b.3)));
        }
        let status_replicas = self.d.status.as_ref().and_then(|s| s.replicas).unwrap_or(0);
        let deployment_size = replicas + util::max_surge(&self.d);
        let mut added = 0;
        let mut targets: HashMap<String, i32> = HashMap::new();
        for (uid, size, max, _) in &sizes {
            let proportion = if *size == 0 || to_add == added {
                0
            } else {
                let annotated = max.unwrap_or(status_replicas).max(1);
                let fraction = if replicas == 0 {
                    -size
                } else {
                    ((f64::from(*size) * f64::from(deployment_size)) / f64::from(annotated)).round()
                        as i32
                        - size
                };
                let allowed = to_add - added;
                if to_add > 0 {
                    fraction.min(allowed)
                } else {
                    fraction.max(allowed)
                }
            };
            added += proportion;
            targets.insert(uid.clone(), size + proportion);
        }
        // Rounding leftovers go to the ReplicaSet first in line.
        if let Some((uid, _, _, _)) = sizes.first() {
            let leftover = to_add - added;
            if let Some(t) = targets.get_mut(uid) {
                *t = (*t + leftover).max(0);
            }
        }
        for (uid, _, _, _) in sizes {
            let size = targets.get(&uid).copied().unwrap_or(0);
            self.scale_rs(&uid, size).await?;
        }
        Ok(())
    }

    /// Deletes the oldest ReplicaSets beyond `revisionHistoryLimit` that no longer run pods.
    pub async fn cleanup(&mut self) -> Result<()> {
        let limit = self
            .d
            .spec
            .as_ref()
            .and_then(|s| s.revision_history_limit)
            .unwrap_or(10)
            .max(0) as usize;
        let mut candidates: Vec<ReplicaSet> = self
            .old_rss()
            .into_iter()
            .filter(|rs| rs.metadata.deletion_timestamp.is_none())
            .cloned()
            .collect();
        if candidates.len() <= limit {
            return Ok(());
        }
        let excess = candidates.len() - limit;
        candidates.sort_by_key(revision);
        for rs in candidates.into_iter().take(excess) {
            let idle = util::rs_status_replicas(&rs) == 0
                && util::rs_spec_replicas(&rs) == 0
                && rs.metadata.generation <= rs.status.as_ref().and_then(|s| s.observed_generation);
            if !idle {
                continue;
            }
            tracing::info!(deployment = %key_of(&self.d), replicaset = %rs.name_any(), "cleaning up old replica set");
            let dp = DeleteParams {
                preconditions: Some(Preconditions {
                    uid: rs.uid(),
                    resource_version: None,
                }),
                ..DeleteParams::default()
            };
            match self.rs_api.delete(&rs.name_any(), &dp).await {
                Ok(_) => {}
                Err(e) if matches!(api_code(&e), Some(404 | 409)) => {}
                Err(e) => return Err(e.into()),
            }
            self.rss.retain(|x| x.uid() != rs.uid());
        }
        Ok(())
    }

    /// Counters and the Available condition from the ReplicaSets (Kubernetes' calculateStatus).
    pub fn calculate_status(&self) -> DeploymentStatus {
        let all = self.all_rss();
        let available: i32 = all.iter().map(|rs| util::rs_available(rs)).sum();
        let total_spec: i32 = all.iter().map(|rs| util::rs_spec_replicas(rs)).sum();
        let current = self.d.status.clone().unwrap_or_default();
        let mut status = DeploymentStatus {
            observed_generation: self.d.metadata.generation,
            replicas: Some(all.iter().map(|rs| util::rs_status_replicas(rs)).sum()),
            updated_replicas: Some(self.new_rs().map(util::rs_status_replicas).unwrap_or(0)),
            ready_replicas: Some(all.iter().map(|rs| util::rs_ready(rs)).sum()),
            available_replicas: Some(available),
            unavailable_replicas: Some((total_spec - available).max(0)),
            collision_count: current.collision_count,
            conditions: current.conditions.clone(),
            terminating_replicas: current.terminating_replicas,
        };
        let min_available = self.replicas() - util::max_unavailable(&self.d);
        let cond: DeploymentCondition = if available >= min_available {
            new_condition(
                "Available",
                "True",
                "MinimumReplicasAvailable",
                "Deployment has minimum availability.".into(),
            )
        } else {
            new_condition(
                "Available",
                "False",
                "MinimumReplicasUnavailable",
                "Deployment does not have minimum availability.".into(),
            )
        };
        set_condition(&mut status, cond);
        status
    }

    pub async fn sync_status_only(&mut self) -> Result<()> {
        let status = self.calculate_status();
        self.write_status(status).await
    }

    /// Writes `status` through the status subresource unless the server already has it.
    pub async fn write_status(&mut self, status: DeploymentStatus) -> Result<()> {
        if self.original_status.as_ref() == Some(&status) {
            return Ok(());
        }
        let patch = json!({"status": status});
        match self
            .d_api
            .patch_status(
                &self.d.name_any(),
                &PatchParams::default(),
                &Patch::Merge(&patch),
            )
            .await
        {
            Ok(_) => {}
            Err(e) if api_code(&e) == Some(404) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
        self.original_status = Some(status.clone());
        self.d.status = Some(status);
        Ok(())
    }
}
