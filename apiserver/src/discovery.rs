//! API discovery: aggregated (`apidiscovery.k8s.io/v2`, one round trip, exact Content-Type)
//! and legacy (`/api`, `/apis`, `/apis/<group>`, per group-version resource lists).

use serde_json::{Value, json};

use capstan_api_types::registry::Subresource;
use capstan_api_types::{ResourceInfo, registry};

pub const AGGREGATED_V2: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList";
pub const AGGREGATED_V2BETA1: &str =
    "application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList";

/// Resources served outside the registry's storage (authorization reviews).
pub struct ExtraResource {
    pub group: &'static str,
    pub version: &'static str,
    pub plural: &'static str,
    pub kind: &'static str,
}

pub const EXTRA: &[ExtraResource] = &[
    ExtraResource {
        group: "authorization.k8s.io",
        version: "v1",
        plural: "selfsubjectaccessreviews",
        kind: "SelfSubjectAccessReview",
    },
    ExtraResource {
        group: "authorization.k8s.io",
        version: "v1",
        plural: "selfsubjectrulesreviews",
        kind: "SelfSubjectRulesReview",
    },
];

/// Pod subresources served by proxying to the kubelet (proxy/), so they are not in the
/// storage registry. Kinds and verbs are kube-apiserver's.
pub const POD_STREAMS: &[Subresource] = &[
    Subresource {
        name: "attach",
        group: "",
        version: "v1",
        kind: "PodAttachOptions",
        verbs: &["create", "get"],
    },
    Subresource {
        name: "exec",
        group: "",
        version: "v1",
        kind: "PodExecOptions",
        verbs: &["create", "get"],
    },
    Subresource {
        name: "log",
        group: "",
        version: "v1",
        kind: "Pod",
        verbs: &["get"],
    },
    Subresource {
        name: "portforward",
        group: "",
        version: "v1",
        kind: "PodPortForwardOptions",
        verbs: &["create", "get"],
    },
];

/// A resource's subresources: the registry's plus, for pods, the kubelet streams.
fn subresources_of(r: &ResourceInfo) -> impl Iterator<Item = &Subresource> {
    let streams: &[Subresource] = if r.group.is_empty() && r.plural == "pods" {
        POD_STREAMS
    } else {
        &[]
    };
    r.subresources.iter().chain(streams)
}

pub const VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];

/// Which flavour of discovery the Accept header asks for.
pub fn wants_aggregated(accept: &str) -> Option<&'static str> {
    for item in accept.split(',') {
        let item = item.replace(' ', "");
        if item.contains("g=apidiscovery.k8s.io") && item.contains("as=APIGroupDiscoveryList") {
            if item.contains("v=v2beta1") {
                return Some(AGGREGATED_V2BETA1);
            }
            if item.contains("v=v2") {
                return Some(AGGREGATED_V2);
            }
        }
    }
    None
}

fn group_versions(core: bool) -> Vec<(&'static str, &'static str)> {
    let mut gvs: Vec<(&str, &str)> = registry::group_versions();
    for e in EXTRA {
        if !gvs.contains(&(e.group, e.version)) {
            gvs.push((e.group, e.version));
        }
    }
    gvs.into_iter()
        .filter(|(g, _)| g.is_empty() == core)
        .collect()
}

fn resources_of(group: &str, version: &str) -> impl Iterator<Item = &'static ResourceInfo> {
    registry()
        .iter()
        .filter(move |r| r.group == group && r.version == version)
}

fn aggregated_resource(r: &ResourceInfo) -> Value {
    let subresources: Vec<Value> = subresources_of(r)
        .map(|s| {
            json!({
                "subresource": s.name,
                "responseKind": {"group": s.group, "version": s.version, "kind": s.kind},
                "verbs": s.verbs,
            })
        })
        .collect();
    let mut v = json!({
        "resource": r.plural,
        "responseKind": {"group": r.group, "version": r.version, "kind": r.kind},
        "scope": if r.namespaced { "Namespaced" } else { "Cluster" },
        "singularResource": r.singular,
        "verbs": VERBS,
    });
    if !r.short_names.is_empty() {
        v["shortNames"] = json!(r.short_names);
    }
    if !r.categories.is_empty() {
        v["categories"] = json!(r.categories);
    }
    if !subresources.is_empty() {
        v["subresources"] = json!(subresources);
    }
    v
}

fn aggregated_extra(group: &str, version: &str) -> Vec<Value> {
    EXTRA
        .iter()
        .filter(|e| e.group == group && e.version == version)
        .map(|e| {
            json!({
                "resource": e.plural,
                "responseKind": {"group": e.group, "version": e.version, "kind": e.kind},
                "scope": "Cluster",
                "singularResource": e.kind.to_lowercase(),
                "verbs": ["create"],
            })
        })
        .collect()
}

/// `APIGroupDiscoveryList` for `/api` (core) or `/apis` (named groups).
pub fn aggregated(core: bool, content_type: &str) -> Value {
    let api_version = if content_type.contains("v2beta1") {
        "apidiscovery.k8s.io/v2beta1"
    } else {
        "apidiscovery.k8s.io/v2"
    };
    let mut groups: Vec<(&str, Vec<Value>)> = Vec::new();
    for (group, version) in group_versions(core) {
        let mut resources: Vec<Value> = resources_of(group, version)
            .map(aggregated_resource)
            .collect();
        resources.extend(aggregated_extra(group, version));
        let v = json!({"version": version, "freshness": "Current", "resources": resources});
        match groups.iter_mut().find(|(g, _)| *g == group) {
            Some((_, versions)) => versions.push(v),
            None => groups.push((group, vec![v])),
        }
    }
    let items: Vec<Value> = groups
        .into_iter()
        .map(|(g, versions)| json!({"metadata": {"name": g}, "versions": versions}))
        .collect();
    json!({"kind": "APIGroupDiscoveryList", "apiVersion": api_version, "metadata": {}, "items": items})
}

pub fn api_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}],
    })
}

fn api_group(group: &str) -> Option<Value> {
    let versions: Vec<Value> = group_versions(false)
        .into_iter()
        .filter(|(g, _)| *g == group)
        .map(|(g, v)| json!({"groupVersion": format!("{g}/{v}"), "version": v}))
        .collect();
    let preferred = versions.first()?.clone();
    Some(
        json!({"kind": "APIGroup", "apiVersion": "v1", "name": group, "versions": versions, "preferredVersion": preferred}),
    )
}

pub fn group(group: &str) -> Option<Value> {
    api_group(group)
}

pub fn group_list() -> Value {
    let mut names: Vec<&str> = Vec::new();
    for (g, _) in group_versions(false) {
        if !names.contains(&g) {
            names.push(g);
        }
    }
    let groups: Vec<Value> = names
        .into_iter()
        .filter_map(|g| {
            let mut v = api_group(g)?;
            if let Some(m) = v.as_object_mut() {
                m.remove("kind");
                m.remove("apiVersion");
            }
            Some(v)
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

/// `APIResourceList` for one group-version, including subresources as `<plural>/<sub>`.
pub fn resource_list(group: &str, version: &str) -> Option<Value> {
    if !group_versions(group.is_empty()).contains(&(group, version)) {
        return None;
    }
    let mut resources = Vec::new();
    for r in resources_of(group, version) {
        let mut v = json!({
            "name": r.plural, "singularName": r.singular, "namespaced": r.namespaced,
            "kind": r.kind, "verbs": VERBS,
        });
        if !r.short_names.is_empty() {
            v["shortNames"] = json!(r.short_names);
        }
        if !r.categories.is_empty() {
            v["categories"] = json!(r.categories);
        }
        resources.push(v);
        for s in subresources_of(r) {
            let mut sv = json!({
                "name": format!("{}/{}", r.plural, s.name), "singularName": "",
                "namespaced": r.namespaced, "kind": s.kind, "verbs": s.verbs,
            });
            if s.group != r.group || s.version != r.version {
                sv["group"] = json!(s.group);
                sv["version"] = json!(s.version);
            }
            resources.push(sv);
        }
    }
    for e in EXTRA
        .iter()
        .filter(|e| e.group == group && e.version == version)
    {
        resources.push(json!({
            "name": e.plural, "singularName": e.kind.to_lowercase(), "namespaced": false,
            "kind": e.kind, "verbs": ["create"],
        }));
    }
    let gv = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    Some(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": gv, "resources": resources}),
    )
}
