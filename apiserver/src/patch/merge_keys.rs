//! Patch and field-management metadata for the built-in kinds Capstan serves.
//!
//! Strategic merge patch and server-side apply both need to know, for every
//! list in an object, whether it is replaced wholesale, merged as a set of
//! primitives, or merged item by item using key fields; and a few structs and
//! maps need special handling (`retainKeys`, `patchStrategy: replace`,
//! `structType=atomic`). Kubernetes keeps this in Go struct tags and OpenAPI
//! extensions; here it is a small static type graph that mirrors the parts of
//! those types that carry such markers. Anything not described falls back to the
//! Kubernetes defaults: lists are atomic, maps and structs merge field by field.
//!
//! Lookups take the path of field names from the object root with list indices
//! left out, so `["spec", "containers", "env"]` is the env list of any container.
//! Pod templates embedded in workloads resolve through the same pod spec
//! description as a Pod's own `spec`. `metadata` is described for every kind,
//! including unknown ones (custom resources), since all objects share
//! ObjectMeta; everything else of an unknown kind uses the defaults.

/// How a strategic merge patch combines a list field (`patchStrategy` and
/// `patchMergeKey` on the Go field).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListStrategy {
    /// The patch value replaces the whole list.
    Atomic,
    /// Items are objects matched by the value of the named field.
    MergeByKey(&'static str),
    /// Items are primitives; the patch is unioned in.
    Set,
}

/// How server-side apply tracks and merges a list field
/// (`x-kubernetes-list-type` / `x-kubernetes-list-map-keys`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListType {
    /// The list is a single value owned as a whole.
    Atomic,
    /// Items are primitives, each owned separately.
    Set,
    /// Items are objects identified by the listed key fields.
    Map(&'static [&'static str]),
}

#[derive(Clone, Copy)]
enum Field {
    /// A struct whose own fields carry markers.
    Struct(&'static Ty),
    /// `structType=atomic` or `mapType=atomic`: patches still merge it key by
    /// key, but apply treats it as one value.
    Atomic,
    /// `patchStrategy: replace`: a patch replaces it, and apply treats it as
    /// one value (the only such field is a LabelSelector, which is atomic).
    Replace,
    /// `patchStrategy: retainKeys` on a struct field.
    RetainKeys,
    List(&'static ListDef),
}

#[derive(Clone, Copy)]
enum Elem {
    /// Primitives, or objects with no marked fields.
    Plain,
    /// Objects that apply treats as single values.
    Atomic,
    Struct(&'static Ty),
}

struct ListDef {
    smp: ListStrategy,
    ssa: ListType,
    /// `patchStrategy: merge,retainKeys`: each item honours `$retainKeys`.
    retain_keys: bool,
    /// Defaults of key fields that may be omitted (the API server defaults
    /// them), so that an item without them still has a stable identity.
    key_defaults: &'static [(&'static str, &'static str)],
    elem: Elem,
}

struct Ty {
    fields: &'static [(&'static str, Field)],
}

const fn keyed(key: &'static str, ssa_keys: &'static [&'static str], elem: Elem) -> ListDef {
    ListDef {
        smp: ListStrategy::MergeByKey(key),
        ssa: ListType::Map(ssa_keys),
        retain_keys: false,
        key_defaults: &[],
        elem,
    }
}

// ---- shared building blocks -------------------------------------------------

static BY_NAME_PLAIN: ListDef = keyed("name", &["name"], Elem::Plain);
static BY_NAME_ATOMIC: ListDef = keyed("name", &["name"], Elem::Atomic);
static CONDITIONS: ListDef = keyed("type", &["type"], Elem::Plain);

static OBJECT_META: Ty = Ty {
    fields: &[
        (
            "ownerReferences",
            Field::List(&ListDef {
                smp: ListStrategy::MergeByKey("uid"),
                ssa: ListType::Map(&["uid"]),
                retain_keys: false,
                key_defaults: &[],
                elem: Elem::Atomic,
            }),
        ),
        (
            "finalizers",
            Field::List(&ListDef {
                smp: ListStrategy::Set,
                ssa: ListType::Set,
                retain_keys: false,
                key_defaults: &[],
                elem: Elem::Plain,
            }),
        ),
    ],
};

/// Status structs whose only marked field is `conditions` keyed by `type`.
static CONDITIONS_STATUS: Ty = Ty {
    fields: &[("conditions", Field::List(&CONDITIONS))],
};

/// Holder of a `secretRef` that is an atomic reference struct (most volume sources).
static SECRET_REF_HOLDER: Ty = Ty {
    fields: &[("secretRef", Field::Atomic)],
};

static CSI_SOURCE: Ty = Ty {
    fields: &[
        ("nodePublishSecretRef", Field::Atomic),
        ("controllerPublishSecretRef", Field::Atomic),
        ("nodeStageSecretRef", Field::Atomic),
        ("controllerExpandSecretRef", Field::Atomic),
        ("nodeExpandSecretRef", Field::Atomic),
    ],
};

static NODE_SELECTOR_HOLDER: Ty = Ty {
    fields: &[("required", Field::Atomic)],
};

// ---- pods ---------------------------------------------------------------

static ENV_VAR_SOURCE: Ty = Ty {
    fields: &[
        ("fieldRef", Field::Atomic),
        ("resourceFieldRef", Field::Atomic),
        ("configMapKeyRef", Field::Atomic),
        ("secretKeyRef", Field::Atomic),
        ("fileKeyRef", Field::Atomic),
    ],
};

static ENV_VAR: Ty = Ty {
    fields: &[("valueFrom", Field::Struct(&ENV_VAR_SOURCE))],
};

static VOLUME_MOUNT: Ty = Ty {
    fields: &[(
        "bindMountOptions",
        Field::List(&ListDef {
            smp: ListStrategy::Atomic,
            ssa: ListType::Set,
            retain_keys: false,
            key_defaults: &[],
            elem: Elem::Plain,
        }),
    )],
};

static RESOURCE_REQUIREMENTS: Ty = Ty {
    fields: &[(
        "claims",
        Field::List(&ListDef {
            smp: ListStrategy::Atomic,
            ssa: ListType::Map(&["name"]),
            retain_keys: false,
            key_defaults: &[],
            elem: Elem::Plain,
        }),
    )],
};

static PORTS_BY_CONTAINER_PORT: ListDef = ListDef {
    smp: ListStrategy::MergeByKey("containerPort"),
    ssa: ListType::Map(&["containerPort", "protocol"]),
    retain_keys: false,
    key_defaults: &[("protocol", "TCP")],
    elem: Elem::Plain,
};

static CONTAINER: Ty = Ty {
    fields: &[
        ("ports", Field::List(&PORTS_BY_CONTAINER_PORT)),
        (
            "env",
            Field::List(&keyed("name", &["name"], Elem::Struct(&ENV_VAR))),
        ),
        (
            "volumeMounts",
            Field::List(&keyed(
                "mountPath",
                &["mountPath"],
                Elem::Struct(&VOLUME_MOUNT),
            )),
        ),
        (
            "volumeDevices",
            Field::List(&keyed("devicePath", &["devicePath"], Elem::Plain)),
        ),
        ("resources", Field::Struct(&RESOURCE_REQUIREMENTS)),
    ],
};

static PVC_SPEC: Ty = Ty {
    fields: &[("selector", Field::Atomic), ("dataSource", Field::Atomic)],
};

static PVC_TEMPLATE: Ty = Ty {
    fields: &[
        ("metadata", Field::Struct(&OBJECT_META)),
        ("spec", Field::Struct(&PVC_SPEC)),
    ],
};

static EPHEMERAL_SOURCE: Ty = Ty {
    fields: &[("volumeClaimTemplate", Field::Struct(&PVC_TEMPLATE))],
};

static VOLUME: Ty = Ty {
    fields: &[
        ("cephfs", Field::Struct(&SECRET_REF_HOLDER)),
        ("cinder", Field::Struct(&SECRET_REF_HOLDER)),
        ("flexVolume", Field::Struct(&SECRET_REF_HOLDER)),
        ("iscsi", Field::Struct(&SECRET_REF_HOLDER)),
        ("rbd", Field::Struct(&SECRET_REF_HOLDER)),
        ("scaleIO", Field::Struct(&SECRET_REF_HOLDER)),
        ("storageos", Field::Struct(&SECRET_REF_HOLDER)),
        ("csi", Field::Struct(&CSI_SOURCE)),
        ("ephemeral", Field::Struct(&EPHEMERAL_SOURCE)),
    ],
};

static TOPOLOGY_SPREAD_CONSTRAINT: Ty = Ty {
    fields: &[("labelSelector", Field::Atomic)],
};

static AFFINITY: Ty = Ty {
    fields: &[("nodeAffinity", Field::Struct(&NODE_AFFINITY))],
};

static NODE_AFFINITY: Ty = Ty {
    fields: &[(
        "requiredDuringSchedulingIgnoredDuringExecution",
        Field::Atomic,
    )],
};

static CONTAINERS: ListDef = keyed("name", &["name"], Elem::Struct(&CONTAINER));

static POD_SPEC: Ty = Ty {
    fields: &[
        (
            "volumes",
            Field::List(&ListDef {
                smp: ListStrategy::MergeByKey("name"),
                ssa: ListType::Map(&["name"]),
                retain_keys: true,
                key_defaults: &[],
                elem: Elem::Struct(&VOLUME),
            }),
        ),
        ("initContainers", Field::List(&CONTAINERS)),
        ("containers", Field::List(&CONTAINERS)),
        ("ephemeralContainers", Field::List(&CONTAINERS)),
        ("imagePullSecrets", Field::List(&BY_NAME_ATOMIC)),
        (
            "hostAliases",
            Field::List(&keyed("ip", &["ip"], Elem::Plain)),
        ),
        (
            "topologySpreadConstraints",
            Field::List(&keyed(
                "topologyKey",
                &["topologyKey", "whenUnsatisfiable"],
                Elem::Struct(&TOPOLOGY_SPREAD_CONSTRAINT),
            )),
        ),
        ("schedulingGates", Field::List(&BY_NAME_PLAIN)),
        (
            "resourceClaims",
            Field::List(&ListDef {
                smp: ListStrategy::MergeByKey("name"),
                ssa: ListType::Map(&["name"]),
                retain_keys: true,
                key_defaults: &[],
                elem: Elem::Plain,
            }),
        ),
        ("evictionResponders", Field::List(&BY_NAME_ATOMIC)),
        ("nodeSelector", Field::Atomic),
        ("affinity", Field::Struct(&AFFINITY)),
    ],
};

static NODE_ALLOCATABLE_CLAIM_STATUS: Ty = Ty {
    fields: &[
        (
            "containers",
            Field::List(&ListDef {
                smp: ListStrategy::Atomic,
                ssa: ListType::Set,
                retain_keys: false,
                key_defaults: &[],
                elem: Elem::Plain,
            }),
        ),
        ("mapping", Field::List(&BY_NAME_PLAIN)),
        ("overhead", Field::List(&BY_NAME_PLAIN)),
    ],
};

static HEALTH_CONDITIONS: ListDef = keyed("status", &["status", "reason"], Elem::Plain);

static VOLUME_HEALTH: Ty = Ty {
    fields: &[("healthConditions", Field::List(&HEALTH_CONDITIONS))],
};

static POD_STATUS: Ty = Ty {
    fields: &[
        ("conditions", Field::List(&CONDITIONS)),
        (
            "hostIPs",
            Field::List(&ListDef {
                smp: ListStrategy::MergeByKey("ip"),
                ssa: ListType::Atomic,
                retain_keys: false,
                key_defaults: &[],
                elem: Elem::Plain,
            }),
        ),
        ("podIPs", Field::List(&keyed("ip", &["ip"], Elem::Plain))),
        (
            "resourceClaimStatuses",
            Field::List(&ListDef {
                smp: ListStrategy::MergeByKey("name"),
                ssa: ListType::Map(&["name"]),
                retain_keys: true,
                key_defaults: &[],
                elem: Elem::Plain,
            }),
        ),
        (
            "nodeAllocatableResourceClaimStatuses",
            Field::List(&keyed(
                "resourceClaimName",
                &["resourceClaimName"],
                Elem::Struct(&NODE_ALLOCATABLE_CLAIM_STATUS),
            )),
        ),
        (
            "volumeHealth",
            Field::List(&ListDef {
                smp: ListStrategy::Atomic,
                ssa: ListType::Map(&["name"]),
                retain_keys: false,
                key_defaults: &[],
                elem: Elem::Struct(&VOLUME_HEALTH),
            }),
        ),
    ],
};

static POD_TEMPLATE_SPEC: Ty = Ty {
    fields: &[
        ("metadata", Field::Struct(&OBJECT_META)),
        ("spec", Field::Struct(&POD_SPEC)),
    ],
};

// ---- roots --------------------------------------------------------------

static POD: Ty = Ty {
    fields: &[
        ("metadata", Field::Struct(&OBJECT_META)),
        ("spec", Field::Struct(&POD_SPEC)),
        ("status", Field::Struct(&POD_STATUS)),
    ],
};

static POD_TEMPLATE: Ty = Ty {
    fields: &[
        ("metadata", Field::Struct(&OBJECT_META)),
        ("template", Field::Struct(&POD_TEMPLATE_SPEC)),
    ],
};

static REPLICATION_CONTROLLER: Ty = Ty {
    fields: &[
        ("metadata", Field::Struct(&OBJECT_META)),
        (
            "spec",
            Field::Struct(&Ty {
                fields: &[
                    ("selector", Field::Atomic),
                    ("template", Field::Struct(&POD_TEMPLATE_SPEC)),
                ],
            }),
        ),
        ("status", Field::Struct(&CONDITIONS_STATUS)),
    ],
};

static SERVICE: Ty = Ty {
    fields: &[
        ("metadata", Field::Struct(&OBJECT_META)),
        (
            "spec",
            Field::Struct(&Ty {
                fields: &[
                    (
                        "ports",
                        Field::List(&ListDef {
                            smp: ListStrategy::MergeByKey("port"),
                            ssa: ListType::Map(&["port", "protocol"]),
                            retain_keys: false,
                            key_defaults: &[("protocol", "TCP")],
                            elem: Elem::Plain,
                        }),
                    ),
                    ("selector", Field::Atomic),
                ],
            }),
        ),
        ("status", Field::Struct(&CONDITIONS_STATUS)),
    ],
};

/// Kinds whose only marked fields live in ObjectMeta (Endpoints' subsets,
/// EndpointSlice's endpoints and ports, etc. are all atomic lists).
static META_ONLY: Ty = Ty {
    fields: &[("metadata", Field::Struct(&OBJECT_META))],
};

static NAMESPACE: Ty = Ty {
    fields: &[
        ("metadata", Field::Struct(&OBJECT_META)),
        ("status", Field::Struct(&CONDITIONS_STATUS)),
    ],
};

static NODE: Ty = Ty {
    fields: &[
        ("metadata", Field::Struct(&OBJECT_META)),
        (
            "spec",
            Field::Struct(&Ty {
                fields: &[(
                    "podCIDRs",
                    Field::List(&ListDef {
                        smp: ListStrategy::Set,
                        ssa: ListType::Set,
                        retain_keys: false,
                        key_defaults: &[],
                        elem: Elem::Plain,
                    }),
                )],
            }),
        ),
        (
            "status",
            Field::Struct(&Ty {
                fields: &[
                    ("conditions", Field::List(&CONDITIONS)),
                    ("addresses", Field::List(&CONDITIONS)),
                ],
            }),
        ),
    ],
};

static PERSISTENT_VOLUME: Ty = Ty {
    fields: &[
        ("metadata", Field::Struct(&OBJECT_META)),
        (
            "spec",
            Field::Struct(&Ty {
                fields: &[
                    ("claimRef", Field::Atomic),
                    ("nodeAffinity", Field::Struct(&NODE_SELECTOR_HOLDER)),
                    ("cephfs", Field::Struct(&SECRET_REF_HOLDER)),
                    ("cinder", Field::Struct(&SECRET_REF_HOLDER)),
                    ("flexVolume", Field::Struct(&SECRET_REF_HOLDER)),
                    ("iscsi", Field::Struct(&SECRET_REF_HOLDER)),
                    ("rbd", Field::Struct(&SECRET_REF_HOLDER)),
                    ("scaleIO", Field::Struct(&SECRET_REF_HOLDER)),
                    ("storageos", Field::Struct(&SECRET_REF_HOLDER)),
                    ("csi", Field::Struct(&CSI_SOURCE)),
                ],
            }),
        ),
    ],
};

static PERSISTENT_VOLUME_CLAIM: Ty = Ty {
    fields: &[
        ("metadata", Field::Struct(&OBJECT_META)),
        ("spec", Field::Struct(&PVC_SPEC)),
        (
            "status",
            Field::Struct(&Ty {
                fields: &[
                    ("conditions", Field::List(&CONDITIONS)),
                    ("healthStatus", Field::Struct(&VOLUME_HEALTH)),
                ],
            }),
        ),
    ],
};

static SERVICE_ACCOUNT: Ty = Ty {
    fields: &[
        ("metadata", Field::Struct(&OBJECT_META)),
        ("secrets", Field::List(&BY_NAME_ATOMIC)),
    ],
};

static EVENT: Ty = Ty {
    fields: &[
        ("metadata", Field::Struct(&OBJECT_META)),
        ("involvedObject", Field::Atomic),
        ("regarding", Field::Atomic),
        ("related", Field::Atomic),
    ],
};

/// Deployment, ReplicaSet, StatefulSet and DaemonSet share these markers
/// (StatefulSet's volumeClaimTemplates is atomic, the default).
static WORKLOAD_SPEC: Ty = Ty {
    fields: &[
        ("selector", Field::Atomic),
        ("template", Field::Struct(&POD_TEMPLATE_SPEC)),
    ],
};

static WORKLOAD: Ty = Ty {
    fields: &[
        ("metadata", Field::Struct(&OBJECT_META)),
        ("spec", Field::Struct(&WORKLOAD_SPEC)),
        ("status", Field::Struct(&CONDITIONS_STATUS)),
    ],
};

static DEPLOYMENT: Ty = Ty {
    fields: &[
        ("metadata", Field::Struct(&OBJECT_META)),
        (
            "spec",
            Field::Struct(&Ty {
                fields: &[
                    ("selector", Field::Atomic),
                    ("template", Field::Struct(&POD_TEMPLATE_SPEC)),
                    ("strategy", Field::RetainKeys),
                ],
            }),
        ),
        ("status", Field::Struct(&CONDITIONS_STATUS)),
    ],
};

static JOB_SPEC: Ty = Ty {
    fields: &[
        ("selector", Field::Atomic),
        ("template", Field::Struct(&POD_TEMPLATE_SPEC)),
        (
            "scheduling",
            Field::Struct(&Ty {
                fields: &[("resourceClaims", Field::List(&BY_NAME_PLAIN))],
            }),
        ),
    ],
};

static UID_SET: ListDef = ListDef {
    smp: ListStrategy::Atomic,
    ssa: ListType::Set,
    retain_keys: false,
    key_defaults: &[],
    elem: Elem::Plain,
};

static JOB: Ty = Ty {
    fields: &[
        ("metadata", Field::Struct(&OBJECT_META)),
        ("spec", Field::Struct(&JOB_SPEC)),
        (
            "status",
            Field::Struct(&Ty {
                fields: &[
                    (
                        "conditions",
                        Field::List(&ListDef {
                            smp: ListStrategy::MergeByKey("type"),
                            ssa: ListType::Atomic,
                            retain_keys: false,
                            key_defaults: &[],
                            elem: Elem::Plain,
                        }),
                    ),
                    (
                        "uncountedTerminatedPods",
                        Field::Struct(&Ty {
                            fields: &[
                                ("succeeded", Field::List(&UID_SET)),
                                ("failed", Field::List(&UID_SET)),
                            ],
                        }),
                    ),
                ],
            }),
        ),
    ],
};

static CRON_JOB: Ty = Ty {
    fields: &[
        ("metadata", Field::Struct(&OBJECT_META)),
        (
            "spec",
            Field::Struct(&Ty {
                fields: &[(
                    "jobTemplate",
                    Field::Struct(&Ty {
                        fields: &[
                            ("metadata", Field::Struct(&OBJECT_META)),
                            ("spec", Field::Struct(&JOB_SPEC)),
                        ],
                    }),
                )],
            }),
        ),
    ],
};

static POD_DISRUPTION_BUDGET: Ty = Ty {
    fields: &[
        ("metadata", Field::Struct(&OBJECT_META)),
        (
            "spec",
            Field::Struct(&Ty {
                fields: &[("selector", Field::Replace)],
            }),
        ),
        ("status", Field::Struct(&CONDITIONS_STATUS)),
    ],
};

fn root(kind: &str) -> Option<&'static Ty> {
    Some(match kind {
        "Pod" => &POD,
        "PodTemplate" => &POD_TEMPLATE,
        "ReplicationController" => &REPLICATION_CONTROLLER,
        "Service" => &SERVICE,
        "Endpoints" | "ConfigMap" | "Secret" | "ControllerRevision" | "EndpointSlice" | "Lease"
        | "PriorityClass" => &META_ONLY,
        "Namespace" => &NAMESPACE,
        "Node" => &NODE,
        "PersistentVolume" => &PERSISTENT_VOLUME,
        "PersistentVolumeClaim" => &PERSISTENT_VOLUME_CLAIM,
        "ServiceAccount" => &SERVICE_ACCOUNT,
        "Event" => &EVENT,
        "Deployment" => &DEPLOYMENT,
        "ReplicaSet" | "StatefulSet" | "DaemonSet" => &WORKLOAD,
        "Job" => &JOB,
        "CronJob" => &CRON_JOB,
        "PodDisruptionBudget" => &POD_DISRUPTION_BUDGET,
        _ => return None,
    })
}

/// Whether `kind` is one of the built-in kinds described here. Strategic merge
/// patch is only meaningful for these; Kubernetes rejects it for custom
/// resources.
pub fn is_known_kind(kind: &str) -> bool {
    root(kind).is_some()
}

fn lookup<S: AsRef<str>>(kind: &str, path: &[S]) -> Option<Field> {
    // ObjectMeta is shared by every object, custom resources included.
    let mut ty = root(kind).unwrap_or(&META_ONLY);
    let (last, parents) = path.split_last()?;
    for name in parents {
        ty = match find(ty, name.as_ref())? {
            Field::Struct(t) => t,
            Field::List(ListDef {
                elem: Elem::Struct(t),
                ..
            }) => t,
            _ => return None,
        };
    }
    find(ty, last.as_ref())
}

fn find(ty: &Ty, name: &str) -> Option<Field> {
    ty.fields.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

/// Strategic-merge behaviour of the list at `path`.
pub fn list_strategy<S: AsRef<str>>(kind: &str, path: &[S]) -> ListStrategy {
    match lookup(kind, path) {
        Some(Field::List(def)) => def.smp,
        _ => ListStrategy::Atomic,
    }
}

/// Whether the field at `path` carries `patchStrategy: retainKeys`: a struct
/// field with it (Deployment `spec.strategy`), or a list whose items have it
/// (Pod `spec.volumes`). The patch directive `$retainKeys` is honoured
/// wherever it appears, as Kubernetes does; this tells where clients are
/// expected to send it.
pub fn retain_keys<S: AsRef<str>>(kind: &str, path: &[S]) -> bool {
    match lookup(kind, path) {
        Some(Field::RetainKeys) => true,
        Some(Field::List(def)) => def.retain_keys,
        _ => false,
    }
}

/// Whether a strategic merge patch replaces the map at `path` instead of
/// merging into it (`patchStrategy: replace`, e.g. PodDisruptionBudget
/// `spec.selector`).
pub fn replace_map<S: AsRef<str>>(kind: &str, path: &[S]) -> bool {
    matches!(lookup(kind, path), Some(Field::Replace))
}

/// Server-side-apply list type of the list at `path`.
pub fn list_type<S: AsRef<str>>(kind: &str, path: &[S]) -> ListType {
    match lookup(kind, path) {
        Some(Field::List(def)) => def.ssa,
        _ => ListType::Atomic,
    }
}

/// Default of a key field of the keyed list at `path`, used when an item
/// omits it (e.g. `protocol` of container and service ports is `TCP`).
pub fn list_key_default<S: AsRef<str>>(kind: &str, path: &[S], key: &str) -> Option<&'static str> {
    match lookup(kind, path) {
        Some(Field::List(def)) => def
            .key_defaults
            .iter()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v),
        _ => None,
    }
}

/// Whether server-side apply treats the object-valued field at `path` as a
/// single value (`structType=atomic`, `mapType=atomic`), or, for a keyed
/// list at `path`, whether its items are atomic.
pub fn is_atomic<S: AsRef<str>>(kind: &str, path: &[S]) -> bool {
    match lookup(kind, path) {
        Some(Field::Atomic | Field::Replace) => true,
        Some(Field::List(def)) => matches!(def.elem, Elem::Atomic),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pod_spec_lists() {
        assert_eq!(
            list_strategy("Pod", &["spec", "containers"]),
            ListStrategy::MergeByKey("name")
        );
        assert_eq!(
            list_strategy("Pod", &["spec", "containers", "ports"]),
            ListStrategy::MergeByKey("containerPort")
        );
        assert_eq!(
            list_strategy("Pod", &["spec", "initContainers", "env"]),
            ListStrategy::MergeByKey("name")
        );
        assert_eq!(
            list_strategy("Pod", &["spec", "containers", "volumeMounts"]),
            ListStrategy::MergeByKey("mountPath")
        );
        assert_eq!(
            list_strategy("Pod", &["spec", "tolerations"]),
            ListStrategy::Atomic
        );
        assert_eq!(
            list_strategy("Pod", &["spec", "containers", "args"]),
            ListStrategy::Atomic
        );
        assert!(retain_keys("Pod", &["spec", "volumes"]));
        assert!(!retain_keys("Pod", &["spec", "containers"]));
    }

    #[test]
    fn embedded_templates_resolve_like_pods() {
        let paths: [&[&str]; 3] = [
            &["spec", "template", "spec", "containers"],
            &[
                "spec",
                "jobTemplate",
                "spec",
                "template",
                "spec",
                "containers",
            ],
            &["template", "spec", "containers"],
        ];
        for (kind, path) in [
            ("Deployment", paths[0]),
            ("CronJob", paths[1]),
            ("PodTemplate", paths[2]),
        ] {
            assert_eq!(
                list_strategy(kind, path),
                ListStrategy::MergeByKey("name"),
                "{kind}"
            );
            assert_eq!(list_type(kind, path), ListType::Map(&["name"]), "{kind}");
        }
        for kind in ["StatefulSet", "DaemonSet", "ReplicaSet", "Job"] {
            assert_eq!(
                list_strategy(kind, &["spec", "template", "spec", "volumes"]),
                ListStrategy::MergeByKey("name")
            );
        }
    }

    #[test]
    fn metadata_and_misc() {
        assert_eq!(
            list_strategy("ConfigMap", &["metadata", "finalizers"]),
            ListStrategy::Set
        );
        assert_eq!(
            list_strategy("Widget", &["metadata", "ownerReferences"]),
            ListStrategy::MergeByKey("uid")
        );
        assert_eq!(
            list_strategy("Widget", &["spec", "items"]),
            ListStrategy::Atomic
        );
        assert_eq!(
            list_strategy("Node", &["spec", "taints"]),
            ListStrategy::Atomic
        );
        assert_eq!(
            list_strategy("Node", &["spec", "podCIDRs"]),
            ListStrategy::Set
        );
        assert_eq!(
            list_strategy("Node", &["status", "addresses"]),
            ListStrategy::MergeByKey("type")
        );
        assert_eq!(
            list_strategy("Service", &["spec", "ports"]),
            ListStrategy::MergeByKey("port")
        );
        assert_eq!(
            list_type("Service", &["spec", "ports"]),
            ListType::Map(&["port", "protocol"])
        );
        assert_eq!(
            list_key_default("Service", &["spec", "ports"], "protocol"),
            Some("TCP")
        );
        assert!(retain_keys("Deployment", &["spec", "strategy"]));
        assert!(replace_map("PodDisruptionBudget", &["spec", "selector"]));
        assert!(is_atomic("Deployment", &["spec", "selector"]));
        assert!(is_atomic("Service", &["spec", "selector"]));
        assert!(!is_atomic("Deployment", &["spec", "template"]));
        assert_eq!(
            list_type("Job", &["status", "conditions"]),
            ListType::Atomic
        );
        assert_eq!(
            list_strategy("Job", &["status", "conditions"]),
            ListStrategy::MergeByKey("type")
        );
        assert!(!is_known_kind("Widget"));
        assert!(is_known_kind("Lease"));
    }
}
