//! Revisions. `kubectl rollout undo` rolls back by copying an old ReplicaSet's template into
//! the Deployment; the controller's part is only to notice that the template matches an
//! existing ReplicaSet, reuse it, and give it the next revision number while remembering the
//! numbers it had before (`deployment.kubernetes.io/revision-history`), so `kubectl rollout
//! history` lists each template once, under its latest revision.
//!
//! Pure functions only; must never call the API or touch a Deployment's template.

use std::collections::BTreeMap;

use k8s_openapi::api::apps::v1::{Deployment, ReplicaSet};

use super::util::{
    DESIRED_REPLICAS, MAX_REPLICAS, REVISION, REVISION_HISTORY, max_surge, replicas, revision,
    skip_annotation,
};

pub fn max_revision<'a>(rss: impl IntoIterator<Item = &'a ReplicaSet>) -> i64 {
    rss.into_iter().map(revision).max().unwrap_or(0)
}

/// Copies the Deployment's annotations onto its new ReplicaSet and moves the ReplicaSet to
/// `new_revision` if it is behind. Returns whether anything changed.
pub fn set_new_rs_annotations(
    d: &Deployment,
    rs: &mut ReplicaSet,
    new_revision: i64,
    exists: bool,
) -> bool {
    let mut changed = false;
    let annotations = rs.metadata.annotations.get_or_insert_with(BTreeMap::new);
    for (k, v) in d.metadata.annotations.iter().flatten() {
        if skip_annotation(k) {
            continue;
        }
        if annotations.get(k) != Some(v) {
            annotations.insert(k.clone(), v.clone());
            changed = true;
        }
    }
    let old = annotations.get(REVISION).cloned();
    let old_num = match old.as_deref().map(str::parse::<i64>) {
        None => 0,
        Some(Ok(n)) => n,
        // Someone wrote garbage; leave the revision alone rather than guess.
        Some(Err(_)) => return changed,
    };
    if old_num < new_revision {
        annotations.insert(REVISION.into(), new_revision.to_string());
        changed = true;
        if let Some(old) = old {
            // This ReplicaSet is coming back (a rollback): keep its former numbers.
            let history = match annotations.get(REVISION_HISTORY).filter(|h| !h.is_empty()) {
                Some(h) => format!("{h},{old}"),
                None => old,
            };
            annotations.insert(REVISION_HISTORY.into(), history);
        }
    }
    if !exists {
        changed |= set_replicas_annotations(rs, replicas(d), replicas(d) + max_surge(d));
    }
    changed
}

/// Records the Deployment size a ReplicaSet was scaled for; proportional scaling and scaling
/// detection read these back.
pub fn set_replicas_annotations(rs: &mut ReplicaSet, desired: i32, max: i32) -> bool {
    let annotations = rs.metadata.annotations.get_or_insert_with(BTreeMap::new);
    let mut changed = false;
    for (k, v) in [(DESIRED_REPLICAS, desired), (MAX_REPLICAS, max)] {
        let v = v.to_string();
        if annotations.get(k) != Some(&v) {
            annotations.insert(k.to_string(), v);
            changed = true;
        }
    }
    changed
}

/// Sets the Deployment's revision annotation; returns whether it changed.
pub fn set_deployment_revision(d: &mut Deployment, rev: &str) -> bool {
    let annotations = d.metadata.annotations.get_or_insert_with(BTreeMap::new);
    if annotations.get(REVISION).map(String::as_str) == Some(rev) {
        return false;
    }
    annotations.insert(REVISION.into(), rev.to_string());
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;

    fn rs_with(rev: &str) -> ReplicaSet {
        ReplicaSet {
            metadata: ObjectMeta {
                annotations: Some([(REVISION.to_string(), rev.to_string())].into()),
                ..ObjectMeta::default()
            },
            ..ReplicaSet::default()
        }
    }

    #[test]
    fn a_reused_replicaset_gets_the_next_revision_and_remembers_its_old_ones() {
        let d = Deployment {
            metadata: ObjectMeta {
                annotations: Some(
                    [
                        (
                            "kubernetes.io/change-cause".to_string(),
                            "v1 again".to_string(),
                        ),
                        (REVISION.to_string(), "2".to_string()),
                    ]
                    .into(),
                ),
                ..ObjectMeta::default()
            },
            ..Deployment::default()
        };
        let mut rs = rs_with("1");
        assert!(set_new_rs_annotations(&d, &mut rs, 3, true));
        let a = rs.metadata.annotations.clone().unwrap_or_default();
        assert_eq!(a.get(REVISION).map(String::as_str), Some("3"));
        assert_eq!(a.get(REVISION_HISTORY).map(String::as_str), Some("1"));
        assert_eq!(
            a.get("kubernetes.io/change-cause").map(String::as_str),
            Some("v1 again")
        );
        assert!(set_new_rs_annotations(&d, &mut rs, 5, true));
        let a = rs.metadata.annotations.clone().unwrap_or_default();
        assert_eq!(a.get(REVISION_HISTORY).map(String::as_str), Some("1,3"));
        // Already current: nothing to write.
        assert!(!set_new_rs_annotations(&d, &mut rs, 5, true));
        assert_eq!(
            max_revision([&rs_with("4"), &rs_with("x"), &rs_with("7")]),
            7
        );
    }
}
