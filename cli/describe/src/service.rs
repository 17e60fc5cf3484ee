//! The Service layout.

use capstan_api_types::printing::format_labels;
use serde_json::Value;

use crate::Context;
use crate::containers::{int_or_string, join_host_port};
use crate::events::write_events;
use crate::json::{
    arr_at, int_at, label_text, map_at, of_kind, opt_bool, opt_str, str_at, strings_at,
};
use crate::meta;
use crate::writer::Writer;

/// The label tying an EndpointSlice to its Service.
const SERVICE_NAME_LABEL: &str = "kubernetes.io/service-name";

/// At most this many endpoints are listed per port before "+ N more...".
const MAX_ENDPOINTS: usize = 3;

pub(crate) fn describe_service(w: &mut Writer, svc: &Value, cx: &Context<'_>) {
    meta::name_namespace(w, svc);
    meta::labels_and_annotations(w, svc);
    w.line(
        0,
        format_args!(
            "Selector:\t{}",
            format_labels(map_at(svc, "/spec/selector"), label_text)
        ),
    );
    w.line(0, format_args!("Type:\t{}", str_at(svc, "/spec/type")));
    if let Some(policy) = opt_str(svc, "/spec/ipFamilyPolicy") {
        w.line(0, format_args!("IP Family Policy:\t{policy}"));
    }
    let families = strings_at(svc, "/spec/ipFamilies");
    w.line(
        0,
        format_args!("IP Families:\t{}", joined_or_none(&families)),
    );
    w.line(0, format_args!("IP:\t{}", str_at(svc, "/spec/clusterIP")));
    let cluster_ips = strings_at(svc, "/spec/clusterIPs");
    w.line(0, format_args!("IPs:\t{}", joined_or_none(&cluster_ips)));
    let external = strings_at(svc, "/spec/externalIPs");
    if !external.is_empty() {
        w.line(0, format_args!("External IPs:\t{}", external.join(",")));
    }
    if let Some(ip) = opt_str(svc, "/spec/loadBalancerIP").filter(|s| !s.is_empty()) {
        w.line(0, format_args!("Desired LoadBalancer IP:\t{ip}"));
    }
    if let Some(name) = opt_str(svc, "/spec/externalName").filter(|s| !s.is_empty()) {
        w.line(0, format_args!("External Name:\t{name}"));
    }
    let ingress = arr_at(svc, "/status/loadBalancer/ingress");
    if !ingress.is_empty() {
        w.line(
            0,
            format_args!("LoadBalancer Ingress:\t{}", ingress_list(ingress)),
        );
    }
    let slices = endpoint_slices(svc, cx.related);
    let endpoints = of_kind(cx.related, "Endpoints").find(|e| {
        str_at(e, "/metadata/name") == str_at(svc, "/metadata/name")
            && str_at(e, "/metadata/namespace") == str_at(svc, "/metadata/namespace")
    });
    for port in arr_at(svc, "/spec/ports") {
        let port_name = str_at(port, "/name");
        let name = if port_name.is_empty() {
            "<unset>"
        } else {
            port_name
        };
        let protocol = str_at(port, "/protocol");
        w.line(
            0,
            format_args!("Port:\t{name}\t{}/{protocol}", int_at(port, "/port")),
        );
        w.line(
            0,
            format_args!(
                "TargetPort:\t{}/{protocol}",
                int_or_string(&port["targetPort"])
            ),
        );
        let node_port = int_at(port, "/nodePort");
        if node_port != 0 {
            w.line(0, format_args!("NodePort:\t{name}\t{node_port}/{protocol}"));
        }
        let list = match (slices.is_empty(), endpoints) {
            (true, Some(ep)) => format_endpoints(ep, port_name),
            _ => format_endpoint_slices(&slices, port_name),
        };
        w.line(0, format_args!("Endpoints:\t{list}"));
    }
    w.line(
        0,
        format_args!(
            "Session Affinity:\t{}",
            str_at(svc, "/spec/sessionAffinity")
        ),
    );
    if let Some(p) = opt_str(svc, "/spec/externalTrafficPolicy").filter(|s| !s.is_empty()) {
        w.line(0, format_args!("External Traffic Policy:\t{p}"));
    }
    if let Some(p) = opt_str(svc, "/spec/internalTrafficPolicy") {
        w.line(0, format_args!("Internal Traffic Policy:\t{p}"));
    }
    let health = int_at(svc, "/spec/healthCheckNodePort");
    if health != 0 {
        w.line(0, format_args!("HealthCheck NodePort:\t{health}"));
    }
    let ranges = strings_at(svc, "/spec/loadBalancerSourceRanges");
    if !ranges.is_empty() {
        w.line(
            0,
            format_args!("LoadBalancer Source Ranges:\t{}", ranges.join(",")),
        );
    }
    write_events(w, cx.events, cx.now);
}

fn joined_or_none(items: &[String]) -> String {
    if items.is_empty() {
        "<none>".into()
    } else {
        items.join(",")
    }
}

/// "1.2.3.4 (VIP), lb.example.com": each ingress's IP (with its mode) or hostname.
fn ingress_list(ingress: &[Value]) -> String {
    ingress
        .iter()
        .map(|i| match str_at(i, "/ip") {
            "" => str_at(i, "/hostname").to_string(),
            ip => match opt_str(i, "/ipMode") {
                Some(mode) => format!("{ip} ({mode})"),
                None => ip.to_string(),
            },
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The EndpointSlices in `related` that belong to the Service.
fn endpoint_slices<'a>(svc: &Value, related: &'a [Value]) -> Vec<&'a Value> {
    let name = str_at(svc, "/metadata/name");
    let namespace = str_at(svc, "/metadata/namespace");
    let label_ptr = format!("/metadata/labels/{}", SERVICE_NAME_LABEL.replace('/', "~1"));
    of_kind(related, "EndpointSlice")
        .filter(|s| str_at(s, &label_ptr) == name)
        .filter(|s| {
            let ns = str_at(s, "/metadata/namespace");
            ns.is_empty() || namespace.is_empty() || ns == namespace
        })
        .collect()
}

/// Collects the first few entries and counts the rest, as kubectl's endpoint lists do. kubectl
/// decides that more entries exist as soon as the list is full and another endpoint comes up,
/// even one it then skips as not ready; that is kept so the "+ N more..." suffix matches.
struct Listing {
    shown: Vec<String>,
    count: usize,
    more: bool,
}

impl Listing {
    fn new() -> Self {
        Self {
            shown: Vec::new(),
            count: 0,
            more: false,
        }
    }

    fn push(&mut self, ready: bool, entry: impl FnOnce() -> String) {
        if self.shown.len() == MAX_ENDPOINTS {
            self.more = true;
        }
        if !ready {
            return;
        }
        if !self.more {
            self.shown.push(entry());
        }
        self.count += 1;
    }

    fn finish(self) -> String {
        let joined = self.shown.join(",");
        if self.more {
            format!(
                "{joined} + {} more...",
                self.count.saturating_sub(MAX_ENDPOINTS)
            )
        } else {
            joined
        }
    }
}

/// The ready endpoints serving port `port_name` as "ip:port" (bare IPs for port-less slices of
/// headless Services); "<none>" when the Service has no slices at all.
fn format_endpoint_slices(slices: &[&Value], port_name: &str) -> String {
    if slices.is_empty() {
        return "<none>".into();
    }
    let mut list = Listing::new();
    for slice in slices {
        // A nil ready condition means unknown, which consumers treat as ready.
        let ready = |e: &Value| opt_bool(e, "/conditions/ready").unwrap_or(true);
        let address = |e: &Value| {
            arr_at(e, "/addresses")
                .first()
                .and_then(Value::as_str)
                .unwrap_or("")
                .to_string()
        };
        let endpoints = arr_at(slice, "/endpoints");
        let ports = arr_at(slice, "/ports");
        if ports.is_empty() {
            for e in endpoints {
                list.push(ready(e), || address(e));
            }
            continue;
        }
        for port in ports.iter().filter(|p| str_at(p, "/name") == port_name) {
            for e in endpoints {
                list.push(ready(e), || {
                    join_host_port(&address(e), &int_at(port, "/port").to_string())
                });
            }
        }
    }
    list.finish()
}

/// The same list built from a core/v1 Endpoints object, for clusters without EndpointSlices.
fn format_endpoints(ep: &Value, port_name: &str) -> String {
    let subsets = arr_at(ep, "/subsets");
    if subsets.is_empty() {
        return "<none>".into();
    }
    let mut list = Listing::new();
    for subset in subsets {
        let addresses = arr_at(subset, "/addresses");
        let ports = arr_at(subset, "/ports");
        if ports.is_empty() {
            for a in addresses {
                list.push(true, || str_at(a, "/ip").to_string());
            }
            continue;
        }
        for port in ports.iter().filter(|p| str_at(p, "/name") == port_name) {
            for a in addresses {
                list.push(true, || {
                    join_host_port(str_at(a, "/ip"), &int_at(port, "/port").to_string())
                });
            }
        }
    }
    list.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn endpoint_lists_cap_at_three() {
        let slice = json!({
            "ports": [{"name": "http", "port": 8080}],
            "endpoints": [
                {"addresses": ["10.0.0.1"], "conditions": {"ready": true}},
                {"addresses": ["10.0.0.2"]},
                {"addresses": ["10.0.0.3"], "conditions": {"ready": false}},
                {"addresses": ["fd00::4"]},
                {"addresses": ["10.0.0.5"]},
                {"addresses": []},
            ]
        });
        assert_eq!(
            format_endpoint_slices(&[&slice], "http"),
            "10.0.0.1:8080,10.0.0.2:8080,[fd00::4]:8080 + 2 more..."
        );
        assert_eq!(format_endpoint_slices(&[&slice], "other"), "");
        assert_eq!(format_endpoint_slices(&[], "http"), "<none>");
        let ep = json!({"subsets": [{"addresses": [{"ip": "10.0.0.9"}], "ports": [{"port": 80}]}]});
        assert_eq!(format_endpoints(&ep, ""), "10.0.0.9:80");
    }
}
