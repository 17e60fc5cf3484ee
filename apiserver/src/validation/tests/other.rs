//! Lease, EndpointSlice, events.k8s.io Event, PriorityClass and PDB.

use serde_json::json;

use super::{assert_cause, assert_only, assert_valid, create, update};

#[test]
fn leases() {
    let lease = json!({"metadata": {"name": "leader", "namespace": "kube-system"}, "spec": {"leaseDurationSeconds": 15}});
    assert_valid(&create("coordination.k8s.io", "Lease", lease));
    let bad = json!({"metadata": {"name": "leader", "namespace": "kube-system"}, "spec": {"leaseDurationSeconds": 0}});
    assert_only(
        &create("coordination.k8s.io", "Lease", bad),
        &[(
            "FieldValueInvalid",
            "spec.leaseDurationSeconds",
            "Invalid value: 0: must be greater than 0",
        )],
    );
}

#[test]
fn endpoint_slices() {
    let ok = json!({
        "metadata": {"name": "web-abc", "namespace": "default"},
        "addressType": "IPv4",
        "endpoints": [{"addresses": ["10.1.2.3"]}],
        "ports": [{"port": 80}]
    });
    assert_valid(&create("discovery.k8s.io", "EndpointSlice", ok.clone()));
    let bad = json!({
        "metadata": {"name": "web-abc", "namespace": "default"},
        "addressType": "IPv5",
        "endpoints": [{"addresses": []}]
    });
    let causes = create("discovery.k8s.io", "EndpointSlice", bad);
    assert_cause(
        &causes,
        "FieldValueNotSupported",
        "addressType",
        "Unsupported value: \"IPv5\": supported values: \"FQDN\", \"IPv4\", \"IPv6\"",
    );
    assert_cause(
        &causes,
        "FieldValueRequired",
        "endpoints[0].addresses",
        "Required value: must contain at least 1 address",
    );
    let mut changed = ok.clone();
    changed["addressType"] = json!("IPv6");
    changed["endpoints"] = json!([{"addresses": ["fd00::1"]}]);
    assert_only(
        &update("discovery.k8s.io", "EndpointSlice", changed, ok),
        &[(
            "FieldValueInvalid",
            "addressType",
            "Invalid value: \"IPv6\": field is immutable",
        )],
    );
}

#[test]
fn events_api_events() {
    let ok = json!({
        "metadata": {"name": "web.1", "namespace": "default"},
        "eventTime": "2024-01-01T00:00:00.000000Z",
        "type": "Normal",
        "reason": "Started",
        "action": "Start",
        "reportingController": "example.com/ctrl",
        "reportingInstance": "ctrl-1",
        "regarding": {"kind": "Pod", "name": "web", "namespace": "default"}
    });
    assert_valid(&create("events.k8s.io", "Event", ok));
    let bad = json!({"metadata": {"name": "web.1", "namespace": "default"}, "type": "Info"});
    let causes = create("events.k8s.io", "Event", bad);
    assert_cause(&causes, "FieldValueRequired", "eventTime", "Required value");
    assert_cause(
        &causes,
        "FieldValueInvalid",
        "type",
        "Invalid value: \"\": has invalid value: Info",
    );
}

#[test]
fn priority_classes() {
    let ok = json!({"metadata": {"name": "high"}, "value": 1000});
    assert_valid(&create("scheduling.k8s.io", "PriorityClass", ok.clone()));
    let too_high = json!({"metadata": {"name": "high"}, "value": 2_000_000_000_i64});
    assert_only(
        &create("scheduling.k8s.io", "PriorityClass", too_high),
        &[(
            "FieldValueForbidden",
            "value",
            "Forbidden: maximum allowed value of a user defined priority is 1000000000",
        )],
    );
    let mut changed = ok.clone();
    changed["value"] = json!(2000);
    assert_only(
        &update("scheduling.k8s.io", "PriorityClass", changed, ok),
        &[(
            "FieldValueForbidden",
            "value",
            "Forbidden: may not be changed in an update.",
        )],
    );
}

#[test]
fn disruption_budgets() {
    let ok = json!({
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"minAvailable": "50%", "selector": {"matchLabels": {"app": "web"}}}
    });
    assert_valid(&create("policy", "PodDisruptionBudget", ok));
    let bad = json!({
        "metadata": {"name": "web", "namespace": "default"},
        "spec": {"maxUnavailable": "150%", "selector": {"matchExpressions": [{"key": "app", "operator": "In"}]}}
    });
    let causes = create("policy", "PodDisruptionBudget", bad);
    assert_cause(
        &causes,
        "FieldValueInvalid",
        "spec.maxUnavailable",
        "Invalid value: 150%: must not be greater than 100%",
    );
    assert_cause(
        &causes,
        "FieldValueRequired",
        "spec.selector.matchExpressions[0].values",
        "Required value: must be specified when `operator` is 'In' or 'NotIn'",
    );
}
