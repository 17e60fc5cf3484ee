//! Controller references: who controls an object, adopting orphans that match a selector and
//! releasing objects that stopped matching (Kubernetes' ControllerRefManager).
//!
//! Owns: writes to `metadata.ownerReferences` made on behalf of a controller. Must never touch
//! an object controlled by someone else, and never adopt for an owner that is being deleted.

use std::collections::BTreeMap;
use std::fmt::Debug;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, ObjectMeta, OwnerReference};
use kube::api::{Api, Patch, PatchParams};
use kube::core::{Selector, SelectorExt};
use kube::{Resource, ResourceExt};
use serde::de::DeserializeOwned;
use serde_json::json;

use crate::error::{Result, api_code};

/// The ownerReference with `controller: true`, if any.
pub fn controller_of(meta: &ObjectMeta) -> Option<&OwnerReference> {
    meta.owner_references
        .as_ref()?
        .iter()
        .find(|r| r.controller == Some(true))
}

/// A controller reference to `owner`, blocking its foreground deletion as Kubernetes' own
/// controllers do.
pub fn controller_ref<K: Resource<DynamicType = ()>>(owner: &K) -> OwnerReference {
    OwnerReference {
        api_version: K::api_version(&()).into_owned(),
        kind: K::kind(&()).into_owned(),
        name: owner.meta().name.clone().unwrap_or_default(),
        uid: owner.meta().uid.clone().unwrap_or_default(),
        controller: Some(true),
        block_owner_deletion: Some(true),
    }
}

/// A label selector as kube's matcher, or None when it cannot be parsed. An empty selector
/// selects everything, as in Kubernetes; callers refuse that where Kubernetes does.
pub fn selector(ls: &LabelSelector) -> Option<Selector> {
    Selector::try_from(ls.clone()).ok()
}

pub fn matches(sel: &Selector, labels: &BTreeMap<String, String>) -> bool {
    sel.matches(labels)
}

/// What a controller should do about one candidate object.
#[derive(Debug, PartialEq, Eq)]
pub enum Claim {
    /// Already ours and still matching.
    Owned,
    /// An orphan that matches: take it.
    Adopt,
    /// Ours but no longer matching: let go.
    Release,
    /// Not ours and not for us.
    Ignore,
}

/// Decides a claim the way ControllerRefManager.ClaimObject does.
pub fn claim(owner_uid: &str, owner_deleting: bool, sel: &Selector, obj: &ObjectMeta) -> Claim {
    let labels = obj.labels.clone().unwrap_or_default();
    let matching = sel.matches(&labels);
    match controller_of(obj) {
        Some(r) if r.uid == owner_uid => {
            if matching {
                Claim::Owned
            } else if owner_deleting {
                // A deleting owner keeps what it has so the garbage collector can act on it.
                Claim::Owned
            } else {
                Claim::Release
            }
        }
        Some(_) => Claim::Ignore,
        None => {
            if matching && !owner_deleting && obj.deletion_timestamp.is_none() {
                Claim::Adopt
            } else {
                Claim::Ignore
            }
        }
    }
}

/// Adds `owner` as controller of `obj`. The resourceVersion makes it a compare-and-swap: if
/// the object changed (maybe someone else adopted it) the write fails with a conflict.
pub async fn adopt<K>(api: &Api<K>, obj: &K, owner: OwnerReference) -> Result<()>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    let mut refs = obj.meta().owner_references.clone().unwrap_or_default();
    refs.retain(|r| r.uid != owner.uid);
    refs.push(owner);
    let patch = json!({"metadata": {
        "ownerReferences": refs,
        "resourceVersion": obj.meta().resource_version,
    }});
    api.patch(
        &obj.name_any(),
        &PatchParams::default(),
        &Patch::Merge(&patch),
    )
    .await?;
    Ok(())
}

/// Removes the reference to `owner_uid` from `obj`. A vanished object is already released.
pub async fn release<K>(api: &Api<K>, obj: &K, owner_uid: &str) -> Result<()>
where
    K: Resource + Clone + DeserializeOwned + Debug,
{
    let refs: Vec<OwnerReference> = obj
        .meta()
        .owner_references
        .clone()
        .unwrap_or_default()
        .into_iter()
        .filter(|r| r.uid != owner_uid)
        .collect();
    let patch = json!({"metadata": {
        "ownerReferences": if refs.is_empty() { serde_json::Value::Null } else { json!(refs) },
        "resourceVersion": obj.meta().resource_version,
    }});
    match api
        .patch(
            &obj.name_any(),
            &PatchParams::default(),
            &Patch::Merge(&patch),
        )
        .await
    {
        Ok(_) => Ok(()),
        Err(e) if api_code(&e) == Some(404) => Ok(()),
        Err(e) => Err(e.into()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(labels: &[(&str, &str)], controller: Option<&str>) -> ObjectMeta {
        ObjectMeta {
            labels: Some(
                labels
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            owner_references: controller.map(|uid| {
                vec![OwnerReference {
                    uid: uid.into(),
                    controller: Some(true),
                    ..OwnerReference::default()
                }]
            }),
            ..ObjectMeta::default()
        }
    }

    #[test]
    fn claims_follow_controller_ref_manager() {
        let sel: Selector = [("app".to_string(), "web".to_string())]
            .into_iter()
            .collect();
        assert_eq!(
            claim("u1", false, &sel, &meta(&[("app", "web")], Some("u1"))),
            Claim::Owned
        );
        assert_eq!(
            claim("u1", false, &sel, &meta(&[("app", "db")], Some("u1"))),
            Claim::Release
        );
        assert_eq!(
            claim("u1", true, &sel, &meta(&[("app", "db")], Some("u1"))),
            Claim::Owned
        );
        assert_eq!(
            claim("u1", false, &sel, &meta(&[("app", "web")], None)),
            Claim::Adopt
        );
        assert_eq!(
            claim("u1", true, &sel, &meta(&[("app", "web")], None)),
            Claim::Ignore
        );
        assert_eq!(
            claim("u1", false, &sel, &meta(&[("app", "web")], Some("u2"))),
            Claim::Ignore
        );
    }
}
