//! Rows for the core kinds other than pods, and for events.k8s.io events.

use serde_json::{Value, json};

use super::{ago, cells, columns, meta};

fn service(spec: Value, status: Value) -> Value {
    json!({"metadata": meta("svc", 3 * 86_400), "spec": spec, "status": status})
}

#[test]
fn cluster_ip_service() {
    let row = cells(
        "",
        "Service",
        service(
            json!({"type": "ClusterIP", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10"],
                   "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}, {"port": 9153}],
                   "selector": {"k8s-app": "kube-dns"}}),
            json!({}),
        ),
    );
    assert_eq!(
        row,
        [
            json!("svc"),
            json!("ClusterIP"),
            json!("10.96.0.10"),
            json!("<none>"),
            json!("53/UDP,53/TCP,9153/TCP"),
            json!("3d"),
            json!("k8s-app=kube-dns")
        ]
    );
}

#[test]
fn headless_and_defaulted_services() {
    let headless = service(
        json!({"clusterIP": "None", "clusterIPs": ["None"]}),
        json!({}),
    );
    let row = cells("", "Service", headless);
    assert_eq!(
        row[1..5],
        [
            json!("ClusterIP"),
            json!("None"),
            json!("<none>"),
            json!("<none>")
        ]
    );
    assert_eq!(row[6], "<none>");
    // Only clusterIP set, as written before dual-stack.
    let legacy = service(
        json!({"clusterIP": "10.0.0.1", "externalIPs": ["1.2.3.4", "5.6.7.8"]}),
        json!({}),
    );
    assert_eq!(
        cells("", "Service", legacy)[2..4],
        [json!("10.0.0.1"), json!("1.2.3.4,5.6.7.8")]
    );
}

#[test]
fn node_port_service() {
    let row = cells(
        "",
        "Service",
        service(
            json!({"type": "NodePort", "clusterIPs": ["10.0.0.2"],
                   "ports": [{"port": 80, "protocol": "TCP"}, {"port": 443, "nodePort": 30001, "protocol": "TCP"}]}),
            json!({}),
        ),
    );
    assert_eq!(
        row[1..5],
        [
            json!("NodePort"),
            json!("10.0.0.2"),
            json!("<none>"),
            json!("80/TCP,443:30001/TCP")
        ]
    );
}

#[test]
fn load_balancer_services() {
    let spec = json!({"type": "LoadBalancer", "clusterIPs": ["10.0.0.3"],
                      "ports": [{"port": 80, "nodePort": 31000, "protocol": "TCP"}]});
    let pending = service(spec.clone(), json!({"loadBalancer": {}}));
    assert_eq!(
        cells("", "Service", pending)[3..5],
        [json!("<pending>"), json!("80:31000/TCP")]
    );

    let ready = service(
        spec.clone(),
        json!({"loadBalancer": {"ingress": [
            {"ip": "203.0.113.9"}, {"hostname": "lb.example.com"}, {"ip": "203.0.113.10"}, {"ip": "203.0.113.9"}
        ]}}),
    );
    // Sorted, de-duplicated and, the server output being wide, not truncated.
    assert_eq!(
        cells("", "Service", ready)[3],
        "203.0.113.10,203.0.113.9,lb.example.com"
    );

    let mut with_external = spec;
    with_external["externalIPs"] = json!(["198.51.100.1"]);
    let both = service(
        with_external.clone(),
        json!({"loadBalancer": {"ingress": [{"ip": "203.0.113.9"}]}}),
    );
    assert_eq!(cells("", "Service", both)[3], "203.0.113.9,198.51.100.1");
    let external_only = service(with_external, json!({}));
    assert_eq!(cells("", "Service", external_only)[3], "198.51.100.1");
}

#[test]
fn external_name_and_unknown_service_types() {
    let row = cells(
        "",
        "Service",
        service(
            json!({"type": "ExternalName", "externalName": "db.example.com"}),
            json!({}),
        ),
    );
    assert_eq!(
        row[1..5],
        [
            json!("ExternalName"),
            json!("<none>"),
            json!("db.example.com"),
            json!("<none>")
        ]
    );
    let odd = cells("", "Service", service(json!({"type": "Weird"}), json!({})));
    assert_eq!(odd[3], "<unknown>");
}

// ---- nodes ----------------------------------------------------------------------

fn node(labels: Value, spec: Value, status: Value) -> Value {
    json!({"metadata": {"name": "node-1", "creationTimestamp": ago(10 * 86_400), "labels": labels},
           "spec": spec, "status": status})
}

#[test]
fn ready_control_plane_node_wide() {
    let row = cells(
        "",
        "Node",
        node(
            json!({"node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/etcd": "",
                   "kubernetes.io/hostname": "node-1"}),
            json!({}),
            json!({
                "conditions": [
                    {"type": "MemoryPressure", "status": "False"},
                    {"type": "Ready", "status": "True"}
                ],
                "addresses": [
                    {"type": "Hostname", "address": "node-1"},
                    {"type": "InternalIP", "address": "192.168.1.10"},
                    {"type": "InternalIP", "address": "192.168.1.11"}
                ],
                "nodeInfo": {
                    "kubeletVersion": "v1.33.1",
                    "osImage": "Ubuntu 24.04 LTS",
                    "kernelVersion": "6.8.0-31-generic",
                    "containerRuntimeVersion": "containerd://1.7.12"
                }
            }),
        ),
    );
    assert_eq!(
        row,
        [
            json!("node-1"),
            json!("Ready"),
            json!("control-plane,etcd"),
            json!("10d"),
            json!("v1.33.1"),
            json!("192.168.1.10"),
            json!("<none>"),
            json!("Ubuntu 24.04 LTS"),
            json!("6.8.0-31-generic"),
            json!("containerd://1.7.12")
        ]
    );
}

#[test]
fn node_statuses_and_roles() {
    let cordoned = node(
        json!({"kubernetes.io/role": "worker", "node-role.kubernetes.io/": ""}),
        json!({"unschedulable": true}),
        json!({"conditions": [{"type": "Ready", "status": "True"}],
               "addresses": [{"type": "ExternalIP", "address": "203.0.113.4"}]}),
    );
    let row = cells("", "Node", cordoned);
    assert_eq!(
        row[1..3],
        [json!("Ready,SchedulingDisabled"), json!("worker")]
    );
    assert_eq!(
        row[4..],
        [
            json!(""),
            json!("<none>"),
            json!("203.0.113.4"),
            json!("<unknown>"),
            json!("<unknown>"),
            json!("<unknown>")
        ]
    );

    let not_ready = node(
        json!({}),
        json!({}),
        json!({"conditions": [{"type": "Ready", "status": "Unknown"}]}),
    );
    assert_eq!(
        cells("", "Node", not_ready)[1..3],
        [json!("NotReady"), json!("<none>")]
    );

    let fresh = node(json!(null), json!({"unschedulable": true}), json!({}));
    assert_eq!(cells("", "Node", fresh)[1], "Unknown,SchedulingDisabled");
}

#[test]
fn namespaces_config_maps_secrets_service_accounts() {
    let ns = json!({"metadata": {"name": "kube-system", "creationTimestamp": ago(400 * 86_400)}, "status": {"phase": "Active"}});
    assert_eq!(
        cells("", "Namespace", ns),
        [json!("kube-system"), json!("Active"), json!("400d")]
    );
    let terminating = json!({"metadata": {"name": "old"}, "status": {"phase": "Terminating"}});
    assert_eq!(cells("", "Namespace", terminating)[1], "Terminating");

    let cm = json!({"metadata": meta("cfg", 65), "data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}});
    assert_eq!(
        cells("", "ConfigMap", cm),
        [json!("cfg"), json!(3), json!("65s")]
    );

    let secret = json!({"metadata": meta("tls", 7200), "type": "kubernetes.io/tls",
                        "data": {"tls.crt": "", "tls.key": ""}, "stringData": {"tls.key": "x", "ca.crt": "y"}});
    assert_eq!(
        cells("", "Secret", secret),
        [
            json!("tls"),
            json!("kubernetes.io/tls"),
            json!(3),
            json!("120m")
        ]
    );
    assert_eq!(
        cells("", "Secret", json!({"metadata": meta("s", 1)}))[1..3],
        [json!("Opaque"), json!(0)]
    );

    let sa = json!({"metadata": meta("default", 9 * 3600), "secrets": [{"name": "default-token"}]});
    assert_eq!(
        cells("", "ServiceAccount", sa),
        [json!("default"), json!(1), json!("9h")]
    );
}

#[test]
fn endpoints_formatting() {
    let eps = json!({"metadata": meta("web", 60), "subsets": [
        {"addresses": [{"ip": "10.0.0.1"}, {"ip": "10.0.0.2"}],
         "notReadyAddresses": [{"ip": "10.0.0.9"}],
         "ports": [{"name": "http", "port": 80}, {"name": "https", "port": 443}]},
        {"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 8080}]}
    ]});
    assert_eq!(
        cells("", "Endpoints", eps)[1],
        "10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 2 more..."
    );

    let small = json!({"metadata": meta("db", 60), "subsets": [
        {"addresses": [{"ip": "fd00::1"}], "ports": [{"port": 5432}]},
        {"addresses": [{"ip": "10.0.0.7"}]}
    ]});
    assert_eq!(cells("", "Endpoints", small)[1], "[fd00::1]:5432,10.0.0.7");

    assert_eq!(
        cells("", "Endpoints", json!({"metadata": meta("none", 60)}))[1],
        "<none>"
    );
    let not_ready =
        json!({"subsets": [{"notReadyAddresses": [{"ip": "10.0.0.1"}], "ports": [{"port": 80}]}]});
    assert_eq!(cells("", "Endpoints", not_ready)[1], "");
}

#[test]
fn persistent_volumes_and_claims() {
    let pv = json!({
        "metadata": {"name": "pv-1", "creationTimestamp": ago(86_400),
                     "annotations": {"volume.beta.kubernetes.io/storage-class": "legacy"}},
        "spec": {"capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteMany", "ReadWriteOnce", "ReadWriteOnce"],
                 "persistentVolumeReclaimPolicy": "Delete", "storageClassName": "standard",
                 "claimRef": {"namespace": "default", "name": "data"}, "volumeMode": "Block"},
        "status": {"phase": "Bound"}
    });
    assert_eq!(
        cells("", "PersistentVolume", pv),
        [
            json!("pv-1"),
            json!("10Gi"),
            json!("RWO,RWX"),
            json!("Delete"),
            json!("Bound"),
            json!("default/data"),
            json!("legacy"),
            json!("<unset>"),
            json!(""),
            json!("24h"),
            json!("Block")
        ]
    );
    let bare = json!({"metadata": {"name": "pv-2", "deletionTimestamp": ago(1)}, "spec": {}});
    assert_eq!(
        cells("", "PersistentVolume", bare)[1..],
        [
            json!("0"),
            json!(""),
            json!("Retain"),
            json!("Terminating"),
            json!(""),
            json!(""),
            json!("<unset>"),
            json!(""),
            json!("<unknown>"),
            json!("Filesystem")
        ]
    );

    let bound = json!({
        "metadata": meta("data", 3600),
        "spec": {"volumeName": "pv-1", "storageClassName": "standard", "volumeAttributesClassName": "gold",
                 "resources": {"requests": {"storage": "5Gi"}}},
        "status": {"phase": "Bound", "capacity": {"storage": "10Gi"}, "accessModes": ["ReadWriteOncePod"]}
    });
    assert_eq!(
        cells("", "PersistentVolumeClaim", bound),
        [
            json!("data"),
            json!("Bound"),
            json!("pv-1"),
            json!("10Gi"),
            json!("RWOP"),
            json!("standard"),
            json!("gold"),
            json!("60m"),
            json!("Filesystem")
        ]
    );
    let pending = json!({"metadata": meta("new", 30), "spec": {"resources": {"requests": {"storage": "1Gi"}}}});
    assert_eq!(
        cells("", "PersistentVolumeClaim", pending)[1..7],
        [
            json!("Pending"),
            json!(""),
            json!(""),
            json!(""),
            json!(""),
            json!("<unset>")
        ]
    );
}

// ---- events -----------------------------------------------------------------------

#[test]
fn core_events() {
    let event = json!({
        "metadata": meta("web-0.17d", 600),
        "involvedObject": {"kind": "Pod", "name": "web-0", "fieldPath": "spec.containers{app}"},
        "reason": "BackOff", "type": "Warning",
        "message": "Back-off restarting failed container\n",
        "source": {"component": "kubelet", "host": "node-1"},
        "firstTimestamp": ago(600), "lastTimestamp": ago(30), "count": 12
    });
    assert_eq!(
        cells("", "Event", event),
        [
            json!("30s"),
            json!("Warning"),
            json!("BackOff"),
            json!("pod/web-0"),
            json!("spec.containers{app}"),
            json!("kubelet, node-1"),
            json!("Back-off restarting failed container"),
            json!("10m"),
            json!(12),
            json!("web-0.17d")
        ]
    );
    let cols = columns("", "Event");
    assert_eq!(cols[0].name, "Last Seen");
    assert_eq!(
        (cols[9].name, cols[9].format, cols[9].priority),
        ("Name", "name", 1)
    );
}

#[test]
fn events_recorded_through_the_new_api() {
    // eventTime stands in for firstTimestamp, first for last, and a series
    // supplies the count and last sighting.
    let series = json!({
        "metadata": meta("e", 100),
        "involvedObject": {"kind": "Node"},
        "type": "Normal", "reason": "Starting",
        "eventTime": "2024-06-01T11:50:00.000000Z",
        "series": {"count": 4, "lastObservedTime": "2024-06-01T11:59:00.000000Z"},
        "reportingComponent": "kube-proxy", "reportingInstance": "node-1"
    });
    let row = cells("", "Event", series);
    assert_eq!(row[0], "60s");
    assert_eq!(row[3], "node");
    assert_eq!(row[5], "kube-proxy, node-1");
    assert_eq!(row[7..9], [json!("10m"), json!(4)]);

    let singleton = json!({"metadata": meta("e", 100), "eventTime": ago(20), "source": {"component": "scheduler"}});
    let row = cells("", "Event", singleton);
    assert_eq!(
        (&row[0], &row[5], &row[7], &row[8]),
        (&json!("20s"), &json!("scheduler"), &json!("20s"), &json!(1))
    );

    let unknown = cells("", "Event", json!({"metadata": {"name": "x"}}));
    assert_eq!(
        (&unknown[0], &unknown[7]),
        (&json!("<unknown>"), &json!("<unknown>"))
    );
}

#[test]
fn events_k8s_io_events_map_onto_core_fields() {
    let event = json!({
        "apiVersion": "events.k8s.io/v1", "kind": "Event",
        "metadata": meta("web.1", 300),
        "regarding": {"kind": "Deployment", "name": "web", "fieldPath": ""},
        "reason": "ScalingReplicaSet", "type": "Normal", "action": "Scale",
        "note": "  Scaled up replica set web-5d to 3 ",
        "reportingController": "deployment-controller", "reportingInstance": "",
        "deprecatedFirstTimestamp": ago(300), "deprecatedLastTimestamp": ago(120), "deprecatedCount": 2,
        "eventTime": null
    });
    assert_eq!(
        cells("events.k8s.io", "Event", event),
        [
            json!("2m"),
            json!("Normal"),
            json!("ScalingReplicaSet"),
            json!("deployment/web"),
            json!(""),
            json!("deployment-controller"),
            json!("Scaled up replica set web-5d to 3"),
            json!("5m"),
            json!(2),
            json!("web.1")
        ]
    );
    assert_eq!(columns("events.k8s.io", "Event"), columns("", "Event"));
}
