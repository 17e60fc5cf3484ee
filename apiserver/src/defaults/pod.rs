//! Pod and pod-template defaults: spec policies, container pull policy and
//! termination settings, port protocols, probes, volume modes, and for real
//! Pods the request-from-limit copy, service links and default priority.

use serde_json::{Map, Value, json};

use super::{
    as_map, canonicalize_quantities, canonicalize_quantity, child, existing, items, set_default,
    set_default_int, set_default_str,
};

/// Default mode of projected files (0644).
const DEFAULT_MODE: i64 = 0o644;

pub(crate) fn default_pod(obj: &mut Value) {
    let Some(m) = as_map(obj) else { return };
    let Some(spec) = child(m, "spec") else { return };
    default_pod_spec(spec);
    // These only apply to Pods, not to templates embedded in workloads.
    for field in ["containers", "initContainers"] {
        for c in items(spec, field) {
            requests_from_limits(c);
        }
    }
    set_default(spec, "enableServiceLinks", Value::Bool(true));
    if spec.get("hostNetwork").and_then(Value::as_bool) == Some(true) {
        for field in ["containers", "initContainers"] {
            for c in items(spec, field) {
                for port in items(c, "ports") {
                    let cp = port.get("containerPort").cloned().unwrap_or(Value::Null);
                    set_default_int(
                        port,
                        "hostPort",
                        crate::validation::access::as_int(&cp).unwrap_or(0),
                    );
                }
            }
        }
    }
    // The Priority admission plugin resolves classes; without one the pod gets 0.
    let has_class = spec
        .get("priorityClassName")
        .and_then(Value::as_str)
        .is_some_and(|c| !c.is_empty());
    if !has_class {
        set_default(spec, "priority", json!(0));
        set_default(spec, "preemptionPolicy", json!("PreemptLowerPriority"));
    }
}

/// Defaults for a `PodTemplateSpec` embedded in another object.
pub(crate) fn default_pod_template(tmpl: &mut Map<String, Value>) {
    if let Some(spec) = child(tmpl, "spec") {
        default_pod_spec(spec);
    }
}

fn requests_from_limits(c: &mut Map<String, Value>) {
    let Some(res) = existing(c, "resources") else {
        return;
    };
    let Some(limits) = res.get("limits").and_then(Value::as_object).cloned() else {
        return;
    };
    let Some(requests) = child(res, "requests") else {
        return;
    };
    for (k, v) in limits {
        requests.entry(k).or_insert(v);
    }
}

fn default_pod_spec(spec: &mut Map<String, Value>) {
    set_default_str(spec, "dnsPolicy", "ClusterFirst");
    set_default_str(spec, "restartPolicy", "Always");
    set_default(spec, "securityContext", json!({}));
    set_default(spec, "terminationGracePeriodSeconds", json!(30));
    set_default_str(spec, "schedulerName", "default-scheduler");
    for field in ["containers", "initContainers", "ephemeralContainers"] {
        for c in items(spec, field) {
            default_container(c);
        }
    }
    for vol in items(spec, "volumes") {
        default_volume(vol);
    }
    canonicalize_quantities(spec, "overhead");
}

fn default_container(c: &mut Map<String, Value>) {
    let image = c.get("image").and_then(Value::as_str).unwrap_or("");
    let policy = if image_tag_is_latest(image) {
        "Always"
    } else {
        "IfNotPresent"
    };
    set_default_str(c, "imagePullPolicy", policy);
    set_default_str(c, "terminationMessagePath", "/dev/termination-log");
    set_default_str(c, "terminationMessagePolicy", "File");
    for port in items(c, "ports") {
        set_default_str(port, "protocol", "TCP");
    }
    for env in items(c, "env") {
        if let Some(fr) = existing(env, "valueFrom").and_then(|vf| existing(vf, "fieldRef")) {
            set_default_str(fr, "apiVersion", "v1");
        }
    }
    for probe in ["livenessProbe", "readinessProbe", "startupProbe"] {
        if let Some(p) = existing(c, probe) {
            set_default_int(p, "timeoutSeconds", 1);
            set_default_int(p, "periodSeconds", 10);
            set_default_int(p, "successThreshold", 1);
            set_default_int(p, "failureThreshold", 3);
            default_http_get(p);
        }
    }
    if let Some(lc) = existing(c, "lifecycle") {
        for hook in ["postStart", "preStop"] {
            if let Some(h) = existing(lc, hook) {
                default_http_get(h);
            }
        }
    }
    if let Some(res) = child(c, "resources") {
        canonicalize_quantities(res, "limits");
        canonicalize_quantities(res, "requests");
    }
}

fn default_http_get(handler: &mut Map<String, Value>) {
    if let Some(h) = existing(handler, "httpGet") {
        set_default_str(h, "path", "/");
        set_default_str(h, "scheme", "HTTP");
    }
}

/// Images without a tag or digest, or tagged `latest`, are always pulled.
fn image_tag_is_latest(image: &str) -> bool {
    if image.is_empty() || image.contains('@') {
        return false;
    }
    let last = image.rsplit('/').next().unwrap_or(image);
    match last.rsplit_once(':') {
        Some((_, tag)) => tag == "latest",
        None => true,
    }
}

const VOLUME_SOURCES: &[&str] = &[
    "hostPath",
    "emptyDir",
    "gcePersistentDisk",
    "awsElasticBlockStore",
    "gitRepo",
    "secret",
    "nfs",
    "iscsi",
    "glusterfs",
    "persistentVolumeClaim",
    "rbd",
    "flexVolume",
    "cinder",
    "cephfs",
    "flocker",
    "downwardAPI",
    "fc",
    "azureFile",
    "configMap",
    "vsphereVolume",
    "quobyte",
    "azureDisk",
    "photonPersistentDisk",
    "projected",
    "portworxVolume",
    "scaleIO",
    "storageos",
    "csi",
    "ephemeral",
    "image",
];

fn default_volume(vol: &mut Map<String, Value>) {
    let has_source = VOLUME_SOURCES
        .iter()
        .any(|k| vol.get(*k).is_some_and(|v| !v.is_null()));
    if !has_source {
        vol.insert("emptyDir".to_string(), json!({}));
    }
    for kind in ["secret", "configMap", "downwardAPI", "projected"] {
        if let Some(src) = existing(vol, kind) {
            set_default(src, "defaultMode", json!(DEFAULT_MODE));
        }
    }
    if let Some(hp) = existing(vol, "hostPath") {
        set_default(hp, "type", json!(""));
    }
    if let Some(ed) = existing(vol, "emptyDir")
        && let Some(limit) = ed.get_mut("sizeLimit")
    {
        canonicalize_quantity(limit);
    }
    if let Some(dapi) = existing(vol, "downwardAPI") {
        default_field_refs(dapi);
    }
    if let Some(proj) = existing(vol, "projected") {
        for source in items(proj, "sources") {
            if let Some(tok) = existing(source, "serviceAccountToken") {
                set_default(tok, "expirationSeconds", json!(3600));
            }
            if let Some(dapi) = existing(source, "downwardAPI") {
                default_field_refs(dapi);
            }
        }
    }
    if let Some(iscsi) = existing(vol, "iscsi") {
        set_default_str(iscsi, "iscsiInterface", "default");
    }
    if let Some(rbd) = existing(vol, "rbd") {
        set_default_str(rbd, "pool", "rbd");
        set_default_str(rbd, "user", "admin");
        set_default_str(rbd, "keyring", "/etc/ceph/keyring");
    }
    if let Some(disk) = existing(vol, "azureDisk") {
        set_default_str(disk, "cachingMode", "ReadWrite");
        set_default_str(disk, "fsType", "ext4");
        set_default(disk, "readOnly", json!(false));
        set_default_str(disk, "kind", "Shared");
    }
    if let Some(tmpl) = existing(vol, "ephemeral").and_then(|e| existing(e, "volumeClaimTemplate"))
        && let Some(spec) = existing(tmpl, "spec")
    {
        super::core::default_claim_spec(spec);
    }
}

fn default_field_refs(dapi: &mut Map<String, Value>) {
    for item in items(dapi, "items") {
        if let Some(fr) = existing(item, "fieldRef") {
            set_default_str(fr, "apiVersion", "v1");
        }
    }
}
