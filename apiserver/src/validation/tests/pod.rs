//! Pod create and update validation.

use serde_json::json;

use super::{LABEL_MSG, assert_cause, assert_only, assert_valid, container, create, pod, update};

#[test]
fn minimal_pod_is_valid() {
    assert_valid(&create("", "Pod", pod("web")));
}

#[test]
fn containers_are_required() {
    let mut p = pod("web");
    p["spec"]["containers"] = json!([]);
    assert_only(
        &create("", "Pod", p),
        &[("FieldValueRequired", "spec.containers", "Required value")],
    );
}

#[test]
fn container_name_and_image() {
    let mut p = pod("web");
    p["spec"]["containers"] = json!([container("App", ""), container("App", "busybox")]);
    let causes = create("", "Pod", p);
    assert_cause(
        &causes,
        "FieldValueInvalid",
        "spec.containers[0].name",
        &format!("Invalid value: \"App\": {LABEL_MSG}"),
    );
    assert_cause(
        &causes,
        "FieldValueRequired",
        "spec.containers[0].image",
        "Required value",
    );
    assert_cause(
        &causes,
        "FieldValueDuplicate",
        "spec.containers[1].name",
        "Duplicate value: \"App\"",
    );
}

#[test]
fn image_whitespace_is_rejected_on_pods() {
    let mut p = pod("web");
    p["spec"]["containers"][0]["image"] = json!(" nginx");
    assert_only(
        &create("", "Pod", p),
        &[(
            "FieldValueInvalid",
            "spec.containers[0].image",
            "Invalid value: \" nginx\": must not have leading or trailing whitespace",
        )],
    );
}

#[test]
fn ports_and_protocols() {
    let mut p = pod("web");
    p["spec"]["containers"][0]["ports"] = json!([
        {"containerPort": 70000, "name": "HTTP"},
        {"containerPort": 80, "protocol": "ICMP"},
        {"hostPort": 8080}
    ]);
    let causes = create("", "Pod", p);
    assert_cause(
        &causes,
        "FieldValueInvalid",
        "spec.containers[0].ports[0].containerPort",
        "Invalid value: 70000: must be between 1 and 65535, inclusive",
    );
    assert_cause(
        &causes,
        "FieldValueInvalid",
        "spec.containers[0].ports[0].name",
        "Invalid value: \"HTTP\": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)",
    );
    assert_cause(
        &causes,
        "FieldValueNotSupported",
        "spec.containers[0].ports[1].protocol",
        "Unsupported value: \"ICMP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
    );
    assert_cause(
        &causes,
        "FieldValueRequired",
        "spec.containers[0].ports[2].containerPort",
        "Required value",
    );
}

#[test]
fn requests_may_not_exceed_limits() {
    let mut p = pod("web");
    p["spec"]["containers"][0]["resources"] = json!({
        "limits": {"cpu": "500m", "memory": "128Mi"},
        "requests": {"cpu": "1", "memory": "-1"}
    });
    let causes = create("", "Pod", p);
    assert_cause(
        &causes,
        "FieldValueInvalid",
        "spec.containers[0].resources.requests",
        "Invalid value: \"1\": must be less than or equal to cpu limit of 500m",
    );
    assert_cause(
        &causes,
        "FieldValueInvalid",
        "spec.containers[0].resources.requests[memory]",
        "Invalid value: \"-1\": must be greater than or equal to 0",
    );
}

#[test]
fn resource_names_and_syntax() {
    let mut p = pod("web");
    p["spec"]["containers"][0]["resources"] = json!({
        "limits": {"gpu": "1", "cpu": "lots", "example.com/dongle": "2"},
        "requests": {"example.com/dongle": "1"}
    });
    let causes = create("", "Pod", p);
    assert_cause(
        &causes,
        "FieldValueInvalid",
        "spec.containers[0].resources.limits[gpu]",
        "Invalid value: \"gpu\": must be a standard resource type or fully qualified",
    );
    assert_cause(
        &causes,
        "FieldValueInvalid",
        "spec.containers[0].resources.limits[gpu]",
        "Invalid value: \"gpu\": must be a standard resource for containers",
    );
    assert_cause(
        &causes,
        "FieldValueInvalid",
        "spec.containers[0].resources.limits[cpu]",
        "Invalid value: \"lots\": quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
    );
    assert_cause(
        &causes,
        "FieldValueInvalid",
        "spec.containers[0].resources.requests",
        "Invalid value: \"1\": must be equal to example.com/dongle limit of 2",
    );
}

#[test]
fn volumes_and_mounts() {
    let mut p = pod("web");
    p["spec"]["volumes"] = json!([
        {"name": "data", "emptyDir": {}},
        {"name": "data", "configMap": {"name": "cfg"}},
        {"name": "both", "emptyDir": {}, "secret": {"secretName": "s"}},
        {"name": "cfg", "configMap": {"defaultMode": 1000}}
    ]);
    p["spec"]["containers"][0]["volumeMounts"] = json!([
        {"name": "data", "mountPath": "/data"},
        {"name": "missing", "mountPath": "/data"}
    ]);
    let causes = create("", "Pod", p);
    assert_cause(
        &causes,
        "FieldValueDuplicate",
        "spec.volumes[1].name",
        "Duplicate value: \"data\"",
    );
    assert_cause(
        &causes,
        "FieldValueForbidden",
        "spec.volumes[2].secret",
        "Forbidden: may not specify more than 1 volume type",
    );
    assert_cause(
        &causes,
        "FieldValueRequired",
        "spec.volumes[3].configMap.name",
        "Required value",
    );
    assert_cause(
        &causes,
        "FieldValueInvalid",
        "spec.volumes[3].configMap.defaultMode",
        "Invalid value: 1000: must be a number between 0 and 0777 (octal), both inclusive",
    );
    assert_cause(
        &causes,
        "FieldValueNotFound",
        "spec.containers[0].volumeMounts[1].name",
        "Not found: \"missing\"",
    );
    assert_cause(
        &causes,
        "FieldValueInvalid",
        "spec.containers[0].volumeMounts[1].mountPath",
        "Invalid value: \"/data\": must be unique",
    );
}

#[test]
fn env_and_probes() {
    let mut p = pod("web");
    p["spec"]["containers"][0]["env"] = json!([
        {"name": ""},
        {"name": "A=B"},
        {"name": "X", "valueFrom": {}},
        {"name": "Y", "valueFrom": {"fieldRef": {"fieldPath": "spec.bogus"}}}
    ]);
    p["spec"]["containers"][0]["livenessProbe"] = json!({"successThreshold": 2});
    let causes = create("", "Pod", p);
    assert_cause(
        &causes,
        "FieldValueRequired",
        "spec.containers[0].env[0].name",
        "Required value",
    );
    assert_cause(
        &causes,
        "FieldValueInvalid",
        "spec.containers[0].env[1].name",
        "Invalid value: \"A=B\": a valid environment variable name must consist only of printable ASCII characters other than '='",
    );
    assert_cause(
        &causes,
        "FieldValueInvalid",
        "spec.containers[0].env[2].valueFrom",
        "Invalid value: \"\": must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`",
    );
    assert_cause(
        &causes,
        "FieldValueInvalid",
        "spec.containers[0].env[3].valueFrom.fieldRef.fieldPath",
        "Invalid value: \"spec.bogus\": error converting fieldPath: field label not supported: spec.bogus",
    );
    assert_cause(
        &causes,
        "FieldValueRequired",
        "spec.containers[0].livenessProbe",
        "Required value: must specify a handler type",
    );
    assert_cause(
        &causes,
        "FieldValueInvalid",
        "spec.containers[0].livenessProbe.successThreshold",
        "Invalid value: 2: must be 1",
    );
}

#[test]
fn pod_level_policies() {
    let mut p = pod("web");
    p["spec"]["restartPolicy"] = json!("Sometimes");
    p["spec"]["dnsPolicy"] = json!("None");
    p["spec"]["activeDeadlineSeconds"] = json!(0);
    p["spec"]["tolerations"] = json!([{"key": "", "operator": "Equal", "value": "x"}]);
    p["spec"]["ephemeralContainers"] = json!([{"name": "debug", "image": "busybox"}]);
    let causes = create("", "Pod", p);
    assert_cause(
        &causes,
        "FieldValueNotSupported",
        "spec.restartPolicy",
        "Unsupported value: \"Sometimes\": supported values: \"Always\", \"OnFailure\", \"Never\"",
    );
    assert_cause(
        &causes,
        "FieldValueRequired",
        "spec.dnsConfig",
        "Required value: must provide `dnsConfig` when `dnsPolicy` is None",
    );
    assert_cause(
        &causes,
        "FieldValueInvalid",
        "spec.activeDeadlineSeconds",
        "Invalid value: 0: must be between 1 and 2147483647, inclusive",
    );
    assert_cause(
        &causes,
        "FieldValueInvalid",
        "spec.tolerations[0].operator",
        "Invalid value: \"Equal\": operator must be Exists when `key` is empty, which means \"match all values and all keys\"",
    );
    assert_cause(
        &causes,
        "FieldValueForbidden",
        "spec.ephemeralContainers",
        "Forbidden: cannot be set on create",
    );
}

#[test]
fn affinity_and_spread() {
    let mut p = pod("web");
    p["spec"]["affinity"] = json!({
        "nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": []}},
        "podAntiAffinity": {"preferredDuringSchedulingIgnoredDuringExecution": [
            {"weight": 0, "podAffinityTerm": {"topologyKey": "kubernetes.io/hostname"}}
        ]}
    });
    p["spec"]["topologySpreadConstraints"] =
        json!([{"maxSkew": 0, "topologyKey": "zone", "whenUnsatisfiable": "Maybe"}]);
    let causes = create("", "Pod", p);
    assert_cause(
        &causes,
        "FieldValueRequired",
        "spec.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms",
        "Required value: must have at least one node selector term",
    );
    assert_cause(
        &causes,
        "FieldValueInvalid",
        "spec.affinity.podAntiAffinity.preferredDuringSchedulingIgnoredDuringExecution[0].weight",
        "Invalid value: 0: must be in the range 1-100",
    );
    assert_cause(
        &causes,
        "FieldValueInvalid",
        "spec.topologySpreadConstraints[0].maxSkew",
        "Invalid value: 0: must be greater than zero",
    );
    assert_cause(
        &causes,
        "FieldValueNotSupported",
        "spec.topologySpreadConstraints[0].whenUnsatisfiable",
        "Unsupported value: \"Maybe\": supported values: \"DoNotSchedule\", \"ScheduleAnyway\"",
    );
}

#[test]
fn image_updates_are_allowed() {
    let old = pod("web");
    let mut new = old.clone();
    new["spec"]["containers"][0]["image"] = json!("nginx:1.26");
    new["metadata"]["labels"] = json!({"tier": "web"});
    assert_valid(&update("", "Pod", new, old));
}

#[test]
fn other_spec_changes_are_forbidden() {
    let old = pod("web");
    let mut new = old.clone();
    new["spec"]["containers"][0]["ports"] = json!([{"containerPort": 8080}]);
    let causes = update("", "Pod", new, old);
    assert_eq!(causes.len(), 1);
    assert_eq!(causes[0].reason, "FieldValueForbidden");
    assert_eq!(causes[0].field, "spec");
    assert!(causes[0].message.starts_with(
        "Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n"
    ));
    assert!(causes[0].message.contains("spec.containers[0].ports"));
}

#[test]
fn containers_cannot_be_added() {
    let old = pod("web");
    let mut new = old.clone();
    new["spec"]["containers"] = json!([container("app", "nginx"), container("side", "busybox")]);
    assert_only(
        &update("", "Pod", new, old),
        &[(
            "FieldValueForbidden",
            "spec.containers",
            "Forbidden: pod updates may not add or remove containers",
        )],
    );
}

#[test]
fn deadline_and_toleration_updates() {
    let mut old = pod("web");
    old["spec"]["activeDeadlineSeconds"] = json!(100);
    old["spec"]["tolerations"] = json!([{"key": "k", "operator": "Exists"}]);
    let mut new = old.clone();
    new["spec"]["activeDeadlineSeconds"] = json!(50);
    new["spec"]["tolerations"] =
        json!([{"key": "k", "operator": "Exists"}, {"key": "j", "operator": "Exists"}]);
    assert_valid(&update("", "Pod", new.clone(), old.clone()));

    new["spec"]["activeDeadlineSeconds"] = json!(200);
    assert_only(
        &update("", "Pod", new.clone(), old.clone()),
        &[(
            "FieldValueInvalid",
            "spec.activeDeadlineSeconds",
            "Invalid value: 200: must be less than or equal to previous value",
        )],
    );
    new["spec"]["activeDeadlineSeconds"] = json!(50);
    new["spec"]["tolerations"] = json!([]);
    assert_cause(
        &update("", "Pod", new, old),
        "FieldValueForbidden",
        "spec.tolerations",
        "Forbidden: existing toleration can not be modified except its tolerationSeconds",
    );
}

#[test]
fn init_containers_and_security() {
    let mut p = pod("web");
    p["spec"]["initContainers"] = json!([
        {"name": "setup", "image": "busybox", "readinessProbe": {"exec": {"command": ["true"]}}},
        {"name": "app", "image": "busybox"}
    ]);
    p["spec"]["containers"][0]["securityContext"] = json!({"runAsUser": -1});
    p["spec"]["containers"][0]["volumeMounts"] =
        json!([{"name": "v", "mountPath": "/v", "subPath": "../etc"}]);
    p["spec"]["volumes"] = json!([{"name": "v", "emptyDir": {}}]);
    let causes = create("", "Pod", p);
    assert_cause(
        &causes,
        "FieldValueForbidden",
        "spec.initContainers[0].readinessProbe",
        "Forbidden: may not be set for init containers without restartPolicy=Always",
    );
    assert_cause(
        &causes,
        "FieldValueDuplicate",
        "spec.initContainers[1].name",
        "Duplicate value: \"app\"",
    );
    assert_cause(
        &causes,
        "FieldValueInvalid",
        "spec.containers[0].securityContext.runAsUser",
        "Invalid value: -1: must be between 0 and 2147483647, inclusive",
    );
    assert_cause(
        &causes,
        "FieldValueInvalid",
        "spec.containers[0].volumeMounts.subPath",
        "Invalid value: \"../etc\": must not contain '..'",
    );
}

#[test]
fn host_network_ports_must_match() {
    let mut p = pod("web");
    p["spec"]["hostNetwork"] = json!(true);
    p["spec"]["containers"][0]["ports"] = json!([{"containerPort": 80, "hostPort": 8080}]);
    assert_only(
        &create("", "Pod", p),
        &[(
            "FieldValueInvalid",
            "spec.containers[0].ports[0].hostPort",
            "Invalid value: 8080: must match `containerPort` when `hostNetwork` is true",
        )],
    );
}

#[test]
fn toleration_seconds_need_no_execute() {
    let mut p = pod("web");
    p["spec"]["tolerations"] = json!([{"key": "k", "operator": "Exists", "effect": "NoSchedule", "tolerationSeconds": 30}]);
    assert_only(
        &create("", "Pod", p),
        &[(
            "FieldValueInvalid",
            "spec.tolerations[0].effect",
            "Invalid value: \"NoSchedule\": effect must be 'NoExecute' when `tolerationSeconds` is set",
        )],
    );
}

#[test]
fn scheduling_gates_can_only_be_removed() {
    let mut old = pod("web");
    old["spec"]["schedulingGates"] = json!([{"name": "example.com/wait"}]);
    let mut new = old.clone();
    new["spec"]["schedulingGates"] = json!([]);
    assert_valid(&update("", "Pod", new.clone(), old.clone()));
    new["spec"]["schedulingGates"] =
        json!([{"name": "example.com/wait"}, {"name": "example.com/more"}]);
    assert_cause(
        &update("", "Pod", new, old),
        "FieldValueForbidden",
        "spec.schedulingGates[1].name",
        "Forbidden: only deletion is allowed, but found new scheduling gate 'example.com/more'",
    );
}

#[test]
fn status_writes_may_not_move_pods() {
    let old = super::defaulted("", "Pod", pod("web"));
    let mut new = old.clone();
    new["spec"]["nodeName"] = json!("node-2");
    assert_only(
        &crate::validation::validate_status_update("", "Pod", &new, &old),
        &[(
            "FieldValueForbidden",
            "status.nodeName",
            "Forbidden: may not be changed directly",
        )],
    );
}
