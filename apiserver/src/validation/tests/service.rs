//! Service and Endpoints validation.

use serde_json::{Value, json};

use super::{assert_cause, assert_only, assert_valid, create, update};

fn svc(spec: Value) -> Value {
    json!({"metadata": {"name": "web", "namespace": "default"}, "spec": spec})
}

#[test]
fn cluster_ip_service_is_valid() {
    assert_valid(&create(
        "",
        "Service",
        svc(json!({"selector": {"app": "web"}, "ports": [{"port": 80}]})),
    ));
    assert_valid(&create(
        "",
        "Service",
        svc(json!({"clusterIP": "None", "selector": {"app": "web"}})),
    ));
    assert_valid(&create(
        "",
        "Service",
        svc(json!({"type": "ExternalName", "externalName": "example.com."})),
    ));
    assert_valid(&create(
        "",
        "Service",
        svc(json!({"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]})),
    ));
}

#[test]
fn ports_are_required_and_checked() {
    assert_only(
        &create("", "Service", svc(json!({"selector": {"app": "web"}}))),
        &[("FieldValueRequired", "spec.ports", "Required value")],
    );
    let causes = create(
        "",
        "Service",
        svc(json!({"ports": [{"port": 0}, {"port": 80, "protocol": "HTTP", "name": "web"}]})),
    );
    assert_cause(
        &causes,
        "FieldValueRequired",
        "spec.ports[0].name",
        "Required value",
    );
    assert_cause(
        &causes,
        "FieldValueInvalid",
        "spec.ports[0].port",
        "Invalid value: 0: must be between 1 and 65535, inclusive",
    );
    assert_cause(
        &causes,
        "FieldValueNotSupported",
        "spec.ports[1].protocol",
        "Unsupported value: \"HTTP\": supported values: \"SCTP\", \"TCP\", \"UDP\"",
    );
}

#[test]
fn type_specific_rules() {
    let causes = create(
        "",
        "Service",
        svc(json!({"type": "Balanced", "ports": [{"port": 80, "nodePort": 30001}]})),
    );
    assert_cause(
        &causes,
        "FieldValueNotSupported",
        "spec.type",
        "Unsupported value: \"Balanced\": supported values: \"ClusterIP\", \"ExternalName\", \"LoadBalancer\", \"NodePort\"",
    );
    let causes = create(
        "",
        "Service",
        svc(json!({"ports": [{"port": 80, "nodePort": 30001}]})),
    );
    assert_cause(
        &causes,
        "FieldValueForbidden",
        "spec.ports[0].nodePort",
        "Forbidden: may not be used when `type` is 'ClusterIP'",
    );
    let causes = create(
        "",
        "Service",
        svc(json!({"type": "NodePort", "ports": [{"port": 80, "nodePort": 80}]})),
    );
    assert_cause(
        &causes,
        "FieldValueInvalid",
        "spec.ports[0].nodePort",
        "Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767",
    );
    let causes = create("", "Service", svc(json!({"type": "ExternalName"})));
    assert_only(
        &causes,
        &[("FieldValueRequired", "spec.externalName", "Required value")],
    );
    let causes = create(
        "",
        "Service",
        svc(json!({"type": "LoadBalancer", "clusterIP": "None", "ports": [{"port": 80}]})),
    );
    assert_cause(
        &causes,
        "FieldValueInvalid",
        "spec.clusterIPs[0]",
        "Invalid value: \"None\": may not be set to 'None' for LoadBalancer services",
    );
}

#[test]
fn cluster_ip_syntax() {
    let causes = create(
        "",
        "Service",
        svc(json!({"clusterIP": "10.0.0.300", "ports": [{"port": 80}]})),
    );
    assert_cause(
        &causes,
        "FieldValueInvalid",
        "spec.clusterIPs[0]",
        "Invalid value: \"10.0.0.300\": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)",
    );
}

#[test]
fn duplicate_ports() {
    let causes = create(
        "",
        "Service",
        svc(json!({"ports": [{"port": 80, "name": "a"}, {"port": 80, "name": "b"}]})),
    );
    assert_only(
        &causes,
        &[(
            "FieldValueDuplicate",
            "spec.ports[1]",
            "Duplicate value: core.ServicePort{Name:\"\", Protocol:\"TCP\", AppProtocol:(*string)(nil), Port:80, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:\"\"}, NodePort:0}",
        )],
    );
}

#[test]
fn cluster_ip_is_immutable() {
    let old = svc(json!({"clusterIP": "10.0.0.10", "ports": [{"port": 80}]}));
    let new = svc(json!({"clusterIP": "10.0.0.11", "ports": [{"port": 80}]}));
    assert_cause(
        &update("", "Service", new, old.clone()),
        "FieldValueInvalid",
        "spec.clusterIPs[0]",
        "Invalid value: []string{\"10.0.0.11\"}: may not change once set",
    );
    // Omitting the allocated IP keeps it, as kubectl apply relies on.
    let new = svc(json!({"ports": [{"port": 8080}]}));
    assert_valid(&update("", "Service", new, old.clone()));
    // Switching to ExternalName drops the IP the client did not change.
    let new = svc(
        json!({"type": "ExternalName", "externalName": "db.example.com", "clusterIP": "10.0.0.10"}),
    );
    assert_valid(&update("", "Service", new, old));
}

#[test]
fn node_ports_survive_updates() {
    let old = svc(
        json!({"type": "NodePort", "ports": [{"name": "http", "port": 80, "nodePort": 30080}]}),
    );
    let new = svc(json!({"type": "NodePort", "ports": [{"name": "http", "port": 80}]}));
    assert_valid(&update("", "Service", new, old));
}

#[test]
fn endpoints() {
    let ok = json!({
        "metadata": {"name": "web", "namespace": "default"},
        "subsets": [{"addresses": [{"ip": "10.1.2.3"}], "ports": [{"port": 80}]}]
    });
    assert_valid(&create("", "Endpoints", ok));
    let bad = json!({
        "metadata": {"name": "web", "namespace": "default"},
        "subsets": [{"addresses": [{"ip": "127.0.0.1"}]}, {"ports": [{"port": 80}]}]
    });
    let causes = create("", "Endpoints", bad);
    assert_cause(
        &causes,
        "FieldValueInvalid",
        "subsets[0].addresses[0].ip",
        "Invalid value: \"127.0.0.1\": may not be in the loopback range (127.0.0.0/8, ::1/128)",
    );
    assert_cause(
        &causes,
        "FieldValueRequired",
        "subsets[1]",
        "Required value: must specify `addresses` or `notReadyAddresses`",
    );
}
