//! Cluster DNS on hickory-server: answers for `<domain>` (cluster.local) from the watched
//! Services and EndpointSlices, as the Kubernetes DNS specification lays out:
//! `<svc>.<ns>.svc` → ClusterIP (ready endpoint IPs for headless services, a CNAME for
//! ExternalName), `<hostname>.<svc>.<ns>.svc` for pods with a subdomain (StatefulSets),
//! `_<port>._<proto>.<svc>.<ns>.svc` SRV for named ports, `<a-b-c-d>.<ns>.pod` A. Names
//! outside the domain are refused: nothing is forwarded to the outside world.
//!
//! It listens on the cluster DNS address (10.96.0.10) added to the node namespace's loopback
//! (the way NodeLocal DNSCache holds its address), and publishes `kube-system/kube-dns` with
//! that address as its ClusterIP and sole endpoint, so the address is reserved and visible.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::str::FromStr;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use hickory_server::Server;
use hickory_server::net::runtime::Time;
use hickory_server::proto::op::{
    Edns, Header, HeaderCounts, MessageType, Metadata, OpCode, ResponseCode,
};
use hickory_server::proto::rr::rdata::{A, CNAME, SOA, SRV};
use hickory_server::proto::rr::{LowerName, Name, RData, Record, RecordType};
use hickory_server::server::{Request, RequestHandler, ResponseHandler, ResponseInfo};
use hickory_server::zone_handler::MessageResponseBuilder;
use k8s_openapi::api::core::v1::Service;
use k8s_openapi::api::discovery::v1::EndpointSlice;
use kube::Client;
use kube::api::{Api, PostParams};
use serde_json::json;
use tokio::sync::watch;

use super::Watched;
use super::model::{self, SERVICE_NAME_LABEL};
use crate::network::NodeNetns;

const TTL: u32 = 5;

#[derive(Debug, Clone, PartialEq)]
enum Answer {
    A(Ipv4Addr),
    Cname(String),
    Srv { port: u16, target: String },
}

/// Every name the zone holds (lowercase, without the trailing dot) → its records.
#[derive(Debug, Default)]
pub struct Index {
    names: HashMap<String, Vec<Answer>>,
}

fn dashed(ip: Ipv4Addr) -> String {
    ip.to_string().replace('.', "-")
}

impl Index {
    pub fn build(services: &[Arc<Service>], slices: &[Arc<EndpointSlice>], domain: &str) -> Index {
        let by_service = model::slices_by_service(slices);
        let none = Vec::new();
        let mut idx = Index::default();
        for svc in services {
            let (Some(ns), Some(name), Some(spec)) = (
                svc.metadata.namespace.as_deref(),
                svc.metadata.name.as_deref(),
                svc.spec.as_ref(),
            ) else {
                continue;
            };
            let base = format!("{name}.{ns}.svc.{domain}");
            if spec.type_.as_deref() == Some("ExternalName") {
                if let Some(ext) = spec.external_name.as_deref().filter(|e| !e.is_empty()) {
                    idx.add(
                        &base,
                        Answer::Cname(ext.trim_end_matches('.').to_lowercase()),
                    );
                }
                continue;
            }
            let slices = by_service
                .get(&(ns.to_string(), name.to_string()))
                .unwrap_or(&none);
            let ports = model::service_ports(svc, slices);
            let headless = spec.cluster_ip.as_deref() == Some("None");
            if let Some(ip) = spec
                .cluster_ip
                .as_deref()
                .and_then(|ip| Ipv4Addr::from_str(ip).ok())
            {
                idx.add(&base, Answer::A(ip));
            }
            // Headless: every ready endpoint by address, and by hostname where it has one —
            // from the slices themselves, so a headless service without ports resolves too.
            let target_of = |ep: &model::Endpoint| match &ep.hostname {
                Some(h) => format!("{h}.{base}"),
                None => format!("{}.{base}", dashed(ep.ip)),
            };
            if headless {
                for ep in model::slice_endpoints(slices).iter().filter(|e| e.ready) {
                    idx.add(&base, Answer::A(ep.ip));
                    idx.add(&target_of(ep), Answer::A(ep.ip));
                }
            }
            for p in &ports {
                for ep in p.endpoints.iter().filter(|e| e.ready) {
                    let target = target_of(ep);
                    if headless && !p.name.is_empty() {
                        idx.add(
                            &format!("_{}._{}.{base}", p.name, p.protocol),
                            Answer::Srv {
                                port: ep.port,
                                target,
                            },
                        );
                    }
                }
                if !headless && !p.name.is_empty() {
                    idx.add(
                        &format!("_{}._{}.{base}", p.name, p.protocol),
                        Answer::Srv {
                            port: p.port,
                            target: base.clone(),
                        },
                    );
                }
            }
            // A headless service with no ready endpoint still exists: NODATA, not NXDOMAIN.
            idx.names.entry(base).or_default();
        }
        idx
    }

    fn add(&mut self, name: &str, a: Answer) {
        let v = self.names.entry(name.to_lowercase()).or_default();
        if !v.contains(&a) {
            v.push(a);
        }
    }

    /// Records of `name` (lowercase, no trailing dot); None when the name does not exist.
    fn lookup(&self, name: &str, domain: &str) -> Option<Vec<Answer>> {
        if let Some(v) = self.names.get(name) {
            return Some(v.clone());
        }
        // <a-b-c-d>.<ns>.pod.<domain>
        let rest = name.strip_suffix(&format!(".pod.{domain}"))?;
        let (ip, _ns) = rest.split_once('.')?;
        let ip = Ipv4Addr::from_str(&ip.replace('-', ".")).ok()?;
        Some(vec![Answer::A(ip)])
    }
}

pub struct ClusterDns {
    index: Arc<RwLock<Option<Arc<Index>>>>,
    domain: String,
    zone: LowerName,
    soa: Record,
}

impl ClusterDns {
    fn records(&self, qname: &Name, qtype: RecordType) -> (ResponseCode, Vec<Record>) {
        // Until the caches have synced every name would look missing: answer SERVFAIL so
        // resolvers retry instead of caching NXDOMAIN.
        let Some(index) = self.index.read().ok().and_then(|i| i.clone()) else {
            return (ResponseCode::ServFail, Vec::new());
        };
        let text = qname.to_lowercase().to_ascii();
        let mut key = text.trim_end_matches('.').to_string();
        let mut out = Vec::new();
        // Follow CNAMEs inside the zone (a chain of at most a few hops).
        for _ in 0..4 {
            let Some(answers) = index.lookup(&key, &self.domain) else {
                return if out.is_empty() {
                    (ResponseCode::NXDomain, out)
                } else {
                    (ResponseCode::NoError, out)
                };
            };
            let owner = match Name::from_ascii(format!("{key}.")) {
                Ok(n) => n,
                Err(_) => return (ResponseCode::ServFail, out),
            };
            let mut next = None;
            for a in answers {
                match a {
                    Answer::A(ip) if qtype == RecordType::A || qtype == RecordType::ANY => {
                        out.push(Record::from_rdata(owner.clone(), TTL, RData::A(A(ip))));
                    }
                    Answer::Srv { port, target }
                        if qtype == RecordType::SRV || qtype == RecordType::ANY =>
                    {
                        if let Ok(t) = Name::from_ascii(format!("{target}.")) {
                            out.push(Record::from_rdata(
                                owner.clone(),
                                TTL,
                                RData::SRV(SRV::new(0, 100, port, t)),
                            ));
                        }
                    }
                    Answer::Cname(target) => {
                        if let Ok(t) = Name::from_ascii(format!("{target}.")) {
                            out.push(Record::from_rdata(
                                owner.clone(),
                                TTL,
                                RData::CNAME(CNAME(t)),
                            ));
                        }
                        if qtype != RecordType::CNAME {
                            next = Some(target);
                        }
                    }
                    _ => {}
                }
            }
            match next {
                Some(t) if t.ends_with(&self.domain) => key = t,
                _ => break,
            }
        }
        (ResponseCode::NoError, out)
    }
}

fn failed(request: &Request) -> ResponseInfo {
    let mut metadata = Metadata::response_from_request(&request.metadata);
    metadata.response_code = ResponseCode::ServFail;
    ResponseInfo::from(Header {
        metadata,
        counts: HeaderCounts::default(),
    })
}

#[async_trait::async_trait]
impl RequestHandler for ClusterDns {
    async fn handle_request<R: ResponseHandler, T: Time>(
        &self,
        request: &Request,
        mut response: R,
    ) -> ResponseInfo {
        let edns = request.edns.as_ref().map(|e| {
            let mut r = Edns::new();
            r.set_max_payload(e.max_payload().max(512));
            r
        });
        let builder = MessageResponseBuilder::new(&request.queries, edns.as_ref());
        let md = &request.metadata;
        let code = if md.message_type != MessageType::Query || md.op_code != OpCode::Query {
            Some(ResponseCode::NotImp)
        } else {
            None
        };
        let info = match (code, request.request_info()) {
            (None, Ok(info)) => info,
            (c, _) => {
                let resp = builder.error_msg(md, c.unwrap_or(ResponseCode::FormErr));
                return response
                    .send_response(resp)
                    .await
                    .unwrap_or_else(|_| failed(request));
            }
        };
        let qname: Name = info.query.name().into();
        if !self.zone.zone_of(info.query.name()) {
            let resp = builder.error_msg(md, ResponseCode::Refused);
            return response
                .send_response(resp)
                .await
                .unwrap_or_else(|_| failed(request));
        }
        let (rcode, answers) = self.records(&qname, info.query.query_type());
        let mut out = Metadata::response_from_request(md);
        out.authoritative = true;
        out.response_code = rcode;
        let soa: Vec<&Record> = if answers.is_empty() {
            vec![&self.soa]
        } else {
            vec![]
        };
        let resp = builder.build(out, answers.iter(), [], soa, []);
        response
            .send_response(resp)
            .await
            .unwrap_or_else(|_| failed(request))
    }
}

/// Keeps the index in line with the watched state.
async fn maintain(
    index: Arc<RwLock<Option<Arc<Index>>>>,
    watched: Arc<Watched>,
    domain: String,
    mut stop: watch::Receiver<bool>,
) {
    let mut changes = watched.subscribe();
    watched.wait_ready(&mut stop).await;
    loop {
        let fresh = Arc::new(Index::build(
            &watched.services(),
            &watched.slices(),
            &domain,
        ));
        if let Ok(mut i) = index.write() {
            *i = Some(fresh);
        }
        tokio::select! {
            r = changes.changed() => if r.is_err() { return },
            _ = crate::stopped(&mut stop) => return,
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Puts `ip` on the node namespace's loopback (once).
async fn hold_address(node: &NodeNetns, ip: Ipv4Addr) -> Result<(), String> {
    let mut show = tokio::process::Command::new("ip");
    show.args(["-o", "-4", "addr", "show", "dev", "lo"]);
    node.prepare(&mut show).map_err(|e| e.to_string())?;
    let out = show
        .output()
        .await
        .map_err(|e| format!("ip addr show: {e}"))?;
    if String::from_utf8_lossy(&out.stdout).contains(&format!(" {ip}/32")) {
        return Ok(());
    }
    let mut add = tokio::process::Command::new("ip");
    add.args(["addr", "add", &format!("{ip}/32"), "dev", "lo"]);
    node.prepare(&mut add).map_err(|e| e.to_string())?;
    let out = add
        .output()
        .await
        .map_err(|e| format!("ip addr add: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "adding {ip} to lo: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// `kube-system/kube-dns` and its endpoint slice, as clients expect to find them.
async fn publish(client: Client, ip: Ipv4Addr) -> Result<(), kube::Error> {
    let ports = json!([
        {"name": "dns", "port": 53, "protocol": "UDP"},
        {"name": "dns-tcp", "port": 53, "protocol": "TCP"},
    ]);
    let svc: Service = serde_json::from_value(json!({
        "metadata": {"name": "kube-dns", "namespace": "kube-system",
            "labels": {"k8s-app": "kube-dns", "kubernetes.io/name": "CoreDNS"}},
        "spec": {"clusterIP": ip.to_string(), "ports": ports},
    }))
    .map_err(kube::Error::SerdeError)?;
    let slice: EndpointSlice = serde_json::from_value(json!({
        "metadata": {"name": "kube-dns-capstan", "namespace": "kube-system",
            "labels": {SERVICE_NAME_LABEL: "kube-dns",
                "endpointslice.kubernetes.io/managed-by": "capstan-kubelet"}},
        "addressType": "IPv4",
        "endpoints": [{"addresses": [ip.to_string()], "conditions": {"ready": true}}],
        "ports": ports,
    }))
    .map_err(kube::Error::SerdeError)?;
    let pp = PostParams::default();
    for r in [
        Api::<Service>::namespaced(client.clone(), "kube-system")
            .create(&pp, &svc)
            .await
            .map(|_| ()),
        Api::<EndpointSlice>::namespaced(client, "kube-system")
            .create(&pp, &slice)
            .await
            .map(|_| ()),
    ] {
        match r {
            Ok(()) => {}
            Err(kube::Error::Api(s)) if s.code == 409 => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

pub async fn serve(
    client: Client,
    watched: Arc<Watched>,
    node: &NodeNetns,
    ip: Ipv4Addr,
    domain: &str,
    stop: watch::Receiver<bool>,
) -> Result<(), String> {
    hold_address(node, ip).await?;
    let (udp, tcp) = node
        .run(
            move || -> std::io::Result<(std::net::UdpSocket, std::net::TcpListener)> {
                let u = std::net::UdpSocket::bind((ip, 53))?;
                let t = std::net::TcpListener::bind((ip, 53))?;
                u.set_nonblocking(true)?;
                t.set_nonblocking(true)?;
                Ok((u, t))
            },
        )
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("binding {ip}:53: {e}"))?;
    let udp = tokio::net::UdpSocket::from_std(udp).map_err(|e| e.to_string())?;
    let tcp = tokio::net::TcpListener::from_std(tcp).map_err(|e| e.to_string())?;
    // Publishing may have to wait for the API server; serving must not.
    tokio::spawn(async move {
        let mut wait = Duration::from_millis(200);
        while let Err(e) = publish(client.clone(), ip).await {
            tracing::debug!(error = %e, "publishing kube-dns; retrying");
            tokio::time::sleep(wait).await;
            wait = (wait * 2).min(Duration::from_secs(10));
        }
    });
    let zone = Name::from_ascii(format!("{domain}.")).map_err(|e| e.to_string())?;
    let soa = Record::from_rdata(
        zone.clone(),
        TTL,
        RData::SOA(SOA::new(
            Name::from_ascii(format!("ns.dns.{domain}.")).map_err(|e| e.to_string())?,
            Name::from_ascii(format!("hostmaster.{domain}.")).map_err(|e| e.to_string())?,
            1,
            7200,
            1800,
            86400,
            TTL,
        )),
    );
    let index: Arc<RwLock<Option<Arc<Index>>>> = Arc::default();
    tokio::spawn(maintain(
        index.clone(),
        watched,
        domain.to_string(),
        stop.clone(),
    ));
    let handler = ClusterDns {
        index,
        domain: domain.to_string(),
        zone: LowerName::from(&zone),
        soa,
    };
    let mut server = Server::new(handler);
    server.register_socket(udp);
    server.register_listener(tcp, Duration::from_secs(5), 65535);
    tracing::info!(address = %ip, "cluster DNS serving");
    let mut stop = stop;
    crate::stopped(&mut stop).await;
    server
        .shutdown_gracefully()
        .await
        .map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn idx() -> Index {
        let svc =
            |v| Arc::new(serde_json::from_value::<Service>(v).unwrap_or_else(|e| panic!("{e}")));
        let slice = |v| {
            Arc::new(serde_json::from_value::<EndpointSlice>(v).unwrap_or_else(|e| panic!("{e}")))
        };
        let services = vec![
            svc(json!({"metadata": {"name": "web", "namespace": "shop"},
                "spec": {"clusterIP": "10.96.0.20", "ports": [{"name": "http", "port": 80}]}})),
            svc(json!({"metadata": {"name": "db", "namespace": "shop"},
                "spec": {"clusterIP": "None", "ports": [{"name": "pg", "port": 5432}]}})),
            svc(json!({"metadata": {"name": "ext", "namespace": "shop"},
                "spec": {"type": "ExternalName", "externalName": "web.shop.svc.cluster.local"}})),
        ];
        let slices = vec![slice(json!({
            "metadata": {"name": "db-1", "namespace": "shop", "labels": {SERVICE_NAME_LABEL: "db"}},
            "addressType": "IPv4",
            "ports": [{"name": "pg", "port": 5432}],
            "endpoints": [
                {"addresses": ["10.244.0.7"], "hostname": "db-0", "conditions": {"ready": true}},
                {"addresses": ["10.244.1.8"], "hostname": "db-1", "conditions": {"ready": false}}
            ]
        }))];
        Index::build(&services, &slices, "cluster.local")
    }

    #[test]
    fn cluster_ip_headless_hostname_srv_and_pod_names() {
        let i = idx();
        let d = "cluster.local";
        assert_eq!(
            i.lookup("web.shop.svc.cluster.local", d),
            Some(vec![Answer::A([10, 96, 0, 20].into())])
        );
        assert_eq!(
            i.lookup("db.shop.svc.cluster.local", d),
            Some(vec![Answer::A([10, 244, 0, 7].into())])
        );
        assert_eq!(
            i.lookup("db-0.db.shop.svc.cluster.local", d),
            Some(vec![Answer::A([10, 244, 0, 7].into())])
        );
        assert_eq!(
            i.lookup("db-1.db.shop.svc.cluster.local", d),
            None,
            "not ready"
        );
        assert_eq!(
            i.lookup("_http._tcp.web.shop.svc.cluster.local", d),
            Some(vec![Answer::Srv {
                port: 80,
                target: "web.shop.svc.cluster.local".into()
            }])
        );
        assert_eq!(
            i.lookup("_pg._tcp.db.shop.svc.cluster.local", d),
            Some(vec![Answer::Srv {
                port: 5432,
                target: "db-0.db.shop.svc.cluster.local".into()
            }])
        );
        assert_eq!(
            i.lookup("10-244-3-4.shop.pod.cluster.local", d),
            Some(vec![Answer::A([10, 244, 3, 4].into())])
        );
        assert_eq!(i.lookup("nope.shop.svc.cluster.local", d), None);
    }

    #[test]
    fn external_name_follows_cname_inside_the_zone() {
        let dns = ClusterDns {
            index: Arc::new(RwLock::new(Some(Arc::new(idx())))),
            domain: "cluster.local".into(),
            zone: LowerName::from(
                &Name::from_ascii("cluster.local.").unwrap_or_else(|e| panic!("{e}")),
            ),
            soa: Record::from_rdata(Name::root(), 5, RData::A(A([0, 0, 0, 0].into()))),
        };
        let q = Name::from_ascii("ext.shop.svc.cluster.local.").unwrap_or_else(|e| panic!("{e}"));
        let (code, recs) = dns.records(&q, RecordType::A);
        assert_eq!(code, ResponseCode::NoError);
        assert_eq!(recs.len(), 2, "{recs:?}");
        let q =
            Name::from_ascii("missing.shop.svc.cluster.local.").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(dns.records(&q, RecordType::A).0, ResponseCode::NXDomain);
    }

    #[test]
    fn headless_service_without_ports_resolves_its_pods() {
        let svc = Arc::new(
            serde_json::from_value::<Service>(json!({"metadata": {"name": "h", "namespace": "n"},
                "spec": {"clusterIP": "None"}}))
            .unwrap_or_else(|e| panic!("{e}")),
        );
        let slice = Arc::new(
            serde_json::from_value::<EndpointSlice>(json!({
                "metadata": {"name": "h-1", "namespace": "n", "labels": {SERVICE_NAME_LABEL: "h"}},
                "addressType": "IPv4",
                "endpoints": [{"addresses": ["10.244.0.9"], "hostname": "h-0"}]
            }))
            .unwrap_or_else(|e| panic!("{e}")),
        );
        let i = Index::build(&[svc], &[slice], "cluster.local");
        let want = Some(vec![Answer::A([10, 244, 0, 9].into())]);
        assert_eq!(i.lookup("h.n.svc.cluster.local", "cluster.local"), want);
        assert_eq!(i.lookup("h-0.h.n.svc.cluster.local", "cluster.local"), want);
    }
}
