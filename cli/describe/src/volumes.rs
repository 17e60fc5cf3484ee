//! Volume sources, as listed under a Pod's "Volumes:" and a PersistentVolume's "Source:".
//!
//! Most sources print as a type line and a few fields; they are tables here rather than code.
//! Fields print as Go's `%v` of the typed field would, so absent ones show their zero value.

use serde_json::Value;

use crate::json::{
    arr_at, bool_at, go_value, int_at, map_at, opt_int, opt_str, present, sorted_entries, str_at,
    strings_at,
};
use crate::meta::{entry_lines, go_list, shorten};
use crate::quantity;
use crate::storage;
use crate::writer::Writer;

/// How one field of a source is read.
#[derive(Clone, Copy)]
enum Field {
    Str(&'static str),
    Bool(&'static str),
    Int(&'static str),
    /// A string list as Go's `%v` prints it: "[a b]".
    List(&'static str),
    /// A string map as Go's `%v` prints it: "map[k:v]".
    Map(&'static str),
    /// A `*LocalObjectReference` (Pod sources) or `*SecretReference` (PV sources), printed
    /// through its generated `String()`.
    SecretRef(&'static str),
    /// A string pointer: its value, or the placeholder when nil.
    StrOr(&'static str, &'static str),
    /// A field only the PersistentVolume form of the source has.
    PvOnly(&'static Field),
}

/// Which volumes a source can appear in.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Owners {
    Both,
    Pod,
    Pv,
}

struct Spec {
    key: &'static str,
    title: &'static str,
    owners: Owners,
    fields: &'static [(&'static str, Field)],
}

use Field::{Bool, Int, List, Map, PvOnly, SecretRef, Str, StrOr};
use Owners::{Both, Pod, Pv};

/// Fields many sources have.
const FS_TYPE: (&str, Field) = ("FSType:", Str("fsType"));
const READ_ONLY: (&str, Field) = ("ReadOnly:", Bool("readOnly"));
const SECRET_REF: (&str, Field) = ("SecretRef:", SecretRef("secretRef"));

/// The sources printed from a table, in the order they are looked for: a volume that holds
/// several prints the first.
const SOURCES: &[Spec] = &[
    Spec {
        key: "gitRepo",
        title: "GitRepo (a volume that is pulled from git when the pod is created)",
        owners: Pod,
        fields: &[
            ("Repository:", Str("repository")),
            ("Revision:", Str("revision")),
        ],
    },
    Spec {
        key: "secret",
        title: "Secret (a volume populated by a Secret)",
        owners: Pod,
        fields: &[
            ("SecretName:", Str("secretName")),
            ("Optional:", Bool("optional")),
        ],
    },
    Spec {
        key: "configMap",
        title: "ConfigMap (a volume populated by a ConfigMap)",
        owners: Pod,
        fields: &[("Name:", Str("name")), ("Optional:", Bool("optional"))],
    },
    Spec {
        key: "glusterfs",
        title: "Glusterfs (a Glusterfs mount on the host that shares a pod's lifetime)",
        owners: Both,
        fields: &[
            ("EndpointsName:", Str("endpoints")),
            (
                "EndpointsNamespace:",
                PvOnly(&StrOr("endpointsNamespace", "<unset>")),
            ),
            ("Path:", Str("path")),
            READ_ONLY,
        ],
    },
    Spec {
        key: "persistentVolumeClaim",
        title: "PersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)",
        owners: Pod,
        fields: &[("ClaimName:", Str("claimName")), READ_ONLY],
    },
    Spec {
        key: "scaleIO",
        title: "ScaleIO (a persistent volume backed by a block device in ScaleIO)",
        owners: Both,
        fields: &[
            ("Gateway:", Str("gateway")),
            ("System:", Str("system")),
            ("Protection Domain:", Str("protectionDomain")),
            ("Storage Pool:", Str("storagePool")),
            ("Storage Mode:", Str("storageMode")),
            ("VolumeName:", Str("volumeName")),
            ("SecretName:", PvOnly(&Str("secretRef/name"))),
            ("SecretNamespace:", PvOnly(&Str("secretRef/namespace"))),
            FS_TYPE,
            READ_ONLY,
        ],
    },
    Spec {
        key: "azureFile",
        title: "AzureFile (an Azure File Service mount on the host and bind mount to the pod)",
        owners: Both,
        fields: &[
            ("SecretName:", Str("secretName")),
            ("SecretNamespace:", PvOnly(&Str("secretNamespace"))),
            ("ShareName:", Str("shareName")),
            READ_ONLY,
        ],
    },
    Spec {
        key: "image",
        title: "Image (a container image or OCI artifact)",
        owners: Pod,
        fields: &[
            ("Reference:", Str("reference")),
            ("PullPolicy:", Str("pullPolicy")),
        ],
    },
    Spec {
        key: "local",
        title: "LocalVolume (a persistent volume backed by local storage on a node)",
        owners: Pv,
        fields: &[("Path:", Str("path"))],
    },
    Spec {
        key: "gcePersistentDisk",
        title: "GCEPersistentDisk (a Persistent Disk resource in Google Compute Engine)",
        owners: Both,
        fields: &[
            ("PDName:", Str("pdName")),
            FS_TYPE,
            ("Partition:", Int("partition")),
            READ_ONLY,
        ],
    },
    Spec {
        key: "awsElasticBlockStore",
        title: "AWSElasticBlockStore (a Persistent Disk resource in AWS)",
        owners: Both,
        fields: &[
            ("VolumeID:", Str("volumeID")),
            FS_TYPE,
            ("Partition:", Int("partition")),
            READ_ONLY,
        ],
    },
    Spec {
        key: "nfs",
        title: "NFS (an NFS mount that lasts the lifetime of a pod)",
        owners: Both,
        fields: &[
            ("Server:", Str("server")),
            ("Path:", Str("path")),
            READ_ONLY,
        ],
    },
    Spec {
        key: "iscsi",
        title: "ISCSI (an ISCSI Disk resource that is attached to a kubelet's host machine and then exposed to the pod)",
        owners: Both,
        fields: &[
            ("TargetPortal:", Str("targetPortal")),
            ("IQN:", Str("iqn")),
            ("Lun:", Int("lun")),
            // kubectl prints this label without a colon.
            ("ISCSIInterface", Str("iscsiInterface")),
            FS_TYPE,
            READ_ONLY,
            ("Portals:", List("portals")),
            ("DiscoveryCHAPAuth:", Bool("chapAuthDiscovery")),
            ("SessionCHAPAuth:", Bool("chapAuthSession")),
            SECRET_REF,
            ("InitiatorName:", StrOr("initiatorName", "<none>")),
        ],
    },
    Spec {
        key: "rbd",
        title: "RBD (a Rados Block Device mount on the host that shares a pod's lifetime)",
        owners: Both,
        fields: &[
            ("CephMonitors:", List("monitors")),
            ("RBDImage:", Str("image")),
            FS_TYPE,
            ("RBDPool:", Str("pool")),
            ("RadosUser:", Str("user")),
            ("Keyring:", Str("keyring")),
            SECRET_REF,
            READ_ONLY,
        ],
    },
    Spec {
        key: "quobyte",
        title: "Quobyte (a Quobyte mount on the host that shares a pod's lifetime)",
        owners: Both,
        fields: &[
            ("Registry:", Str("registry")),
            ("Volume:", Str("volume")),
            READ_ONLY,
        ],
    },
    Spec {
        key: "azureDisk",
        title: "AzureDisk (an Azure Data Disk mount on the host and bind mount to the pod)",
        owners: Both,
        fields: &[
            ("DiskName:", Str("diskName")),
            ("DiskURI:", Str("diskURI")),
            ("Kind: ", Str("kind")),
            FS_TYPE,
            ("CachingMode:", Str("cachingMode")),
            READ_ONLY,
        ],
    },
    Spec {
        key: "vsphereVolume",
        title: "vSphereVolume (a Persistent Disk resource in vSphere)",
        owners: Both,
        fields: &[
            ("VolumePath:", Str("volumePath")),
            FS_TYPE,
            ("StoragePolicyName:", Str("storagePolicyName")),
        ],
    },
    Spec {
        key: "cinder",
        title: "Cinder (a Persistent Disk resource in OpenStack)",
        owners: Both,
        fields: &[
            ("VolumeID:", Str("volumeID")),
            FS_TYPE,
            READ_ONLY,
            SECRET_REF,
        ],
    },
    Spec {
        key: "photonPersistentDisk",
        title: "PhotonPersistentDisk (a Persistent Disk resource in photon platform)",
        owners: Both,
        fields: &[("PdID:", Str("pdID")), FS_TYPE],
    },
    Spec {
        key: "portworxVolume",
        title: "PortworxVolume (a Portworx Volume resource)",
        owners: Both,
        fields: &[("VolumeID:", Str("volumeID"))],
    },
    Spec {
        key: "cephfs",
        title: "CephFS (a CephFS mount on the host that shares a pod's lifetime)",
        owners: Both,
        fields: &[
            ("Monitors:", List("monitors")),
            ("Path:", Str("path")),
            ("User:", Str("user")),
            ("SecretFile:", Str("secretFile")),
            SECRET_REF,
            READ_ONLY,
        ],
    },
    Spec {
        key: "storageos",
        title: "StorageOS (a StorageOS Persistent Disk resource)",
        owners: Both,
        fields: &[
            ("VolumeName:", Str("volumeName")),
            ("VolumeNamespace:", Str("volumeNamespace")),
            FS_TYPE,
            READ_ONLY,
        ],
    },
    Spec {
        key: "flexVolume",
        title: "FlexVolume (a generic volume resource that is provisioned/attached using an exec based plugin)",
        owners: Both,
        fields: &[
            ("Driver:", Str("driver")),
            FS_TYPE,
            SECRET_REF,
            READ_ONLY,
            ("Options:", Map("options")),
        ],
    },
    Spec {
        key: "flocker",
        title: "Flocker (a Flocker volume mounted by the Flocker agent)",
        owners: Both,
        fields: &[
            ("DatasetName:", Str("datasetName")),
            ("DatasetUUID:", Str("datasetUUID")),
        ],
    },
];

/// Writes "Volumes:" and each volume's source. `space` is a pod template's extra indent.
pub(crate) fn describe_volumes(w: &mut Writer, volumes: &[Value], space: &str) {
    if volumes.is_empty() {
        w.line(0, format_args!("{space}Volumes:\t<none>"));
        return;
    }
    w.line(0, format_args!("{space}Volumes:"));
    let name_indent = if space.is_empty() { "" } else { " " };
    for v in volumes {
        w.line(1, format_args!("{name_indent}{}:", str_at(v, "/name")));
        if !source(w, v, false) {
            w.line(1, "<unknown>");
        }
    }
}

/// Writes the source held by `owner` (a Pod volume or a PV spec) at level 2; false when it holds
/// none kubectl knows.
pub(crate) fn source(w: &mut Writer, owner: &Value, pv: bool) -> bool {
    let Some(obj) = owner.as_object() else {
        return false;
    };
    let has = |key: &str| obj.get(key).is_some_and(|v| !v.is_null());
    if has("hostPath") {
        let hp = &owner["hostPath"];
        simple(
            w,
            "HostPath (bare host directory volume)",
            &[
                ("Path:", str_at(hp, "/path").to_string()),
                (
                    "HostPathType:",
                    opt_str(hp, "/type").unwrap_or("<none>").to_string(),
                ),
            ],
        );
        return true;
    }
    if !pv && has("emptyDir") {
        let ed = &owner["emptyDir"];
        let limit = ed
            .get("sizeLimit")
            .and_then(quantity::parse)
            .filter(|q| q.milli_value() > 0)
            .map_or_else(|| "<unset>".to_string(), |q| q.to_string());
        simple(
            w,
            "EmptyDir (a temporary directory that shares a pod's lifetime)",
            &[
                ("Medium:", str_at(ed, "/medium").to_string()),
                ("SizeLimit:", limit),
            ],
        );
        return true;
    }
    let owners = if pv { Pv } else { Pod };
    let spec = SOURCES
        .iter()
        .filter(|s| s.owners == Both || s.owners == owners)
        .find(|s| has(s.key));
    if let Some(spec) = spec {
        let src = &owner[spec.key];
        let fields: Vec<(&str, String)> = spec
            .fields
            .iter()
            .filter(|(_, field)| pv || !matches!(field, PvOnly(_)))
            .map(|(label, field)| (*label, render(src, *field, pv)))
            .collect();
        simple(w, spec.title, &fields);
        return true;
    }
    if !pv && has("ephemeral") {
        w.line(
            2,
            "Type:\tEphemeralVolume (an inline specification for a volume that gets created and deleted with the pod)",
        );
        if let Some(template) = owner
            .pointer("/ephemeral/volumeClaimTemplate")
            .filter(|t| !t.is_null())
        {
            w.nested(2, |w| storage::claim_fields(w, template, None));
        }
        return true;
    }
    if !pv && has("downwardAPI") {
        w.line(
            2,
            "Type:\tDownwardAPI (a volume populated by information about the pod)\n    Items:",
        );
        for item in arr_at(owner, "/downwardAPI/items") {
            if let Some(f) = item.get("fieldRef").filter(|v| !v.is_null()) {
                w.line(
                    3,
                    format_args!("{} -> {}", str_at(f, "/fieldPath"), str_at(item, "/path")),
                );
            }
            if let Some(r) = item.get("resourceFieldRef").filter(|v| !v.is_null()) {
                w.line(
                    3,
                    format_args!("{} -> {}", str_at(r, "/resource"), str_at(item, "/path")),
                );
            }
        }
        return true;
    }
    if has("fc") {
        let fc = &owner["fc"];
        let wwns = strings_at(fc, "/targetWWNs");
        let lun = opt_int(fc, "/lun").map_or_else(|| "<none>".to_string(), |l| l.to_string());
        simple(
            w,
            "FC (a Fibre Channel disk)",
            &[
                ("TargetWWNs:", wwns.join(", ")),
                ("LUN:", lun),
                ("FSType:", str_at(fc, "/fsType").to_string()),
                ("ReadOnly:", bool_at(fc, "/readOnly").to_string()),
            ],
        );
        return true;
    }
    if !pv && has("projected") {
        projected(w, &owner["projected"]);
        return true;
    }
    if has("csi") {
        csi(w, &owner["csi"], pv);
        return true;
    }
    false
}

/// "Type:\t<title>" and "    Label:\tvalue" lines, written as one piece the way kubectl does,
/// so only the first line takes the level's indentation.
fn simple(w: &mut Writer, title: &str, fields: &[(&str, String)]) {
    let mut text = format!("Type:\t{title}");
    for (label, value) in fields {
        text.push_str(&format!("\n    {label}\t{value}"));
    }
    w.line(2, text);
}

fn render(src: &Value, field: Field, pv: bool) -> String {
    let ptr = |name: &str| format!("/{name}");
    match field {
        Str(name) => str_at(src, &ptr(name)).to_string(),
        Bool(name) => bool_at(src, &ptr(name)).to_string(),
        Int(name) => int_at(src, &ptr(name)).to_string(),
        List(name) => go_list(&strings_at(src, &ptr(name))),
        Map(name) => match map_at(src, &ptr(name)) {
            Some(m) => go_value(&Value::Object(m.clone())),
            None => "map[]".into(),
        },
        SecretRef(name) => match src.get(name).filter(|v| !v.is_null()) {
            None => "nil".into(),
            Some(r) if pv => format!(
                "&SecretReference{{Name:{},Namespace:{},}}",
                str_at(r, "/name"),
                str_at(r, "/namespace")
            ),
            Some(r) => format!("&LocalObjectReference{{Name:{},}}", str_at(r, "/name")),
        },
        StrOr(name, placeholder) => opt_str(src, &ptr(name)).unwrap_or(placeholder).to_string(),
        PvOnly(field) => render(src, *field, pv),
    }
}

fn projected(w: &mut Writer, p: &Value) {
    w.line(
        2,
        "Type:\tProjected (a volume that contains injected data from multiple sources)",
    );
    for s in arr_at(p, "/sources") {
        if let Some(secret) = s.get("secret").filter(|v| !v.is_null()) {
            w.line(
                2,
                format_args!(
                    "SecretName:\t{}\n    Optional:\t{}",
                    str_at(secret, "/name"),
                    bool_at(secret, "/optional")
                ),
            );
        } else if present(s, "/downwardAPI") {
            w.line(2, "DownwardAPI:\ttrue");
        } else if let Some(cm) = s.get("configMap").filter(|v| !v.is_null()) {
            w.line(
                2,
                format_args!(
                    "ConfigMapName:\t{}\n    Optional:\t{}",
                    str_at(cm, "/name"),
                    bool_at(cm, "/optional")
                ),
            );
        } else if let Some(token) = s.get("serviceAccountToken").filter(|v| !v.is_null()) {
            // The API server defaults the expiry to an hour.
            let secs = opt_int(token, "/expirationSeconds").unwrap_or(3600);
            w.line(2, format_args!("TokenExpirationSeconds:\t{secs}"));
        }
    }
}

fn csi(w: &mut Writer, c: &Value, pv: bool) {
    let mut fields = vec![
        ("Driver:", str_at(c, "/driver").to_string()),
        ("FSType:", str_at(c, "/fsType").to_string()),
    ];
    if pv {
        fields.push(("VolumeHandle:", str_at(c, "/volumeHandle").to_string()));
    }
    fields.push(("ReadOnly:", bool_at(c, "/readOnly").to_string()));
    simple(
        w,
        "CSI (a Container Storage Interface (CSI) volume source)",
        &fields,
    );
    // kubectl writes each piece of this block at level 2, so continuation lines carry the level's
    // indentation twice and values once more; reproduced as printed.
    w.write(2, "VolumeAttributes:\t");
    let indent = |w: &mut Writer| {
        w.write(2, "");
        w.write(2, "\t");
    };
    entry_lines(
        w,
        sorted_entries(map_at(c, "/volumeAttributes")),
        indent,
        |w, (key, value)| w.line(2, shorten(&format!("{key}={}", go_value(value)), 140)),
    );
}
