//! NodePorts: host ports the pod asks for must be free on the node.

use crate::model::{NodeInfo, PodInfo};

pub fn conflicts(pod: &PodInfo, node: &NodeInfo) -> bool {
    pod.host_ports.iter().any(|(proto, ip, port)| {
        node.used_ports.iter().any(|(p2, ip2, port2)| {
            proto == p2 && port == port2 && (ip == ip2 || ip == "0.0.0.0" || ip2 == "0.0.0.0")
        })
    })
}
