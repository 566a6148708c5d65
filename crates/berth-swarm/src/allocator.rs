//! The allocator: what swarm-scoped networks hand out, as swarmkit's allocator does —
//! a subnet and a VXLAN id per network, a virtual IP per service and network (endpoint
//! mode `vip`), published ports (a free one from 30000-32767 when none is given), and one
//! address per task and network. New tasks get their addresses here and move to `pending`
//! (the scheduler only takes allocated tasks). Pure functions over the state, like the
//! orchestrator; the manager loop commits what they return.
//!
//! A task holds its addresses until it ends; a network attachment (a container started by
//! hand on an attachable network, kept as a task without service) until it is removed.

use crate::orchestrator::is_terminal;
use crate::store::{Object, Op, State};
use berth_api::swarm::{
    Endpoint, EndpointVirtualIp, Network, NetworkAttachment, NetworkAttachmentConfig, PortConfig,
    Service, ServiceSpec, Task,
};
use ipnet::Ipv4Net;
use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;

pub const INGRESS: &str = "ingress";
/// The ingress network's VXLAN id; overlay networks take the next free ones.
pub const INGRESS_VNI: u32 = 4096;
/// The driver option carrying a network's VXLAN id (as `docker network inspect` shows it).
pub const VXLAN_OPTION: &str = "com.docker.network.driver.overlay.vxlanid_list";
const DYNAMIC_PORTS: std::ops::RangeInclusive<u32> = 30000..=32767;

/// A network's IPv4 subnet and gateway.
pub fn subnet_of(n: &Network) -> Option<(Ipv4Net, Ipv4Addr)> {
    let c = n.ipam_options.as_ref()?.configs.first()?;
    let net: Ipv4Net = c.subnet.parse().ok()?;
    let net = net.trunc();
    let gw = c
        .gateway
        .parse()
        .ok()
        .unwrap_or_else(|| Ipv4Addr::from(u32::from(net.network()) + 1));
    Some((net, gw))
}

/// The VXLAN id of a network (its driver state).
pub fn vni_of(n: &Network) -> Option<u32> {
    n.driver_state
        .options
        .as_ref()
        .and_then(|o| o.get(VXLAN_OPTION))
        .and_then(|v| v.split(',').next())
        .and_then(|v| v.trim().parse().ok())
}

/// The lowest VXLAN id above the ingress one that no network has.
pub fn next_vni(st: &State) -> u32 {
    let used: BTreeSet<u32> = st.networks.values().filter_map(vni_of).collect();
    (INGRESS_VNI + 1..)
        .find(|v| !used.contains(v))
        .unwrap_or(INGRESS_VNI + 1)
}

/// The first `size`-bit subnet of the pools that overlaps none of `taken`.
pub fn pick_subnet(pools: &[String], size: u32, taken: &[Ipv4Net]) -> Option<Ipv4Net> {
    for p in pools {
        let Ok(pool) = p.parse::<Ipv4Net>() else {
            continue;
        };
        let pool = pool.trunc();
        let size = size.max(pool.prefix_len() as u32).min(30) as u8;
        let Ok(subnets) = pool.subnets(size) else {
            continue;
        };
        for s in subnets {
            if !taken
                .iter()
                .any(|t| t.contains(&s.network()) || s.contains(&t.network()))
            {
                return Some(s);
            }
        }
    }
    None
}

/// The ports of a spec with swarmkit's defaults: tcp, ingress mode.
pub fn spec_ports(spec: &ServiceSpec) -> Vec<PortConfig> {
    spec.endpoint_spec
        .as_ref()
        .map(|e| e.ports.clone())
        .unwrap_or_default()
        .into_iter()
        .map(|mut p| {
            if p.protocol.is_empty() {
                p.protocol = "tcp".into();
            }
            if p.publish_mode.is_empty() {
                p.publish_mode = "ingress".into();
            }
            p
        })
        .collect()
}

/// Whether the service publishes a port through the routing mesh.
pub fn publishes_ingress(spec: &ServiceSpec) -> bool {
    spec_ports(spec).iter().any(|p| p.publish_mode == "ingress")
}

pub fn is_vip(spec: &ServiceSpec) -> bool {
    spec.endpoint_spec
        .as_ref()
        .is_none_or(|e| e.mode.is_empty() || e.mode == "vip")
}

/// The networks the service's tasks join, in order: the ingress network first when it
/// publishes through the mesh, then the task template's (else the service's deprecated
/// list). Targets are network ids (the API resolves names).
pub fn networks_of<'a>(
    st: &'a State,
    spec: &'a ServiceSpec,
) -> Vec<(&'a Network, Option<&'a NetworkAttachmentConfig>)> {
    let mut out: Vec<(&Network, Option<&NetworkAttachmentConfig>)> = Vec::new();
    if publishes_ingress(spec) {
        if let Some(i) = st.ingress() {
            out.push((i, None));
        }
    }
    let list = if spec.task_template.networks.is_empty() {
        &spec.networks
    } else {
        &spec.task_template.networks
    };
    for a in list {
        if let Some(n) = st.networks.get(&a.target) {
            if !out.iter().any(|(o, _)| o.id == n.id) {
                out.push((n, Some(a)));
            }
        }
    }
    out
}

fn addr_of(cidr: &str) -> Option<Ipv4Addr> {
    cidr.split('/').next().and_then(|a| a.parse().ok())
}

/// A task's address on a network, when it has one.
pub fn task_address(t: &Task, network_id: &str) -> Option<Ipv4Addr> {
    t.networks_attachments
        .iter()
        .find(|a| a.network.id == network_id)
        .and_then(|a| a.addresses.first())
        .and_then(|a| addr_of(a))
}

/// A service's virtual IP on a network.
pub fn vip_of(s: &Service, network_id: &str) -> Option<Ipv4Addr> {
    s.endpoint
        .virtual_ips
        .iter()
        .find(|v| v.network_id == network_id)
        .and_then(|v| addr_of(&v.addr))
}

/// Whether a task still holds its addresses: not ended, or a network attachment.
fn holds_addresses(t: &Task) -> bool {
    t.spec.network_attachment_spec.is_some() || !is_terminal(&t.status.state)
}

/// The addresses of every network: taken now, and ever given (so a freed address is
/// reused last, when conntrack entries and DNS caches have long forgotten it).
#[derive(Default)]
pub struct Pools {
    taken: BTreeMap<String, BTreeSet<Ipv4Addr>>,
    seen: BTreeMap<String, BTreeSet<Ipv4Addr>>,
}

impl Pools {
    pub fn of(st: &State) -> Pools {
        let mut p = Pools::default();
        for n in st.networks.values() {
            if let Some((_, gw)) = subnet_of(n) {
                p.taken.entry(n.id.clone()).or_default().insert(gw);
            }
        }
        for s in st.services.values() {
            for v in &s.endpoint.virtual_ips {
                if let Some(a) = addr_of(&v.addr) {
                    p.taken.entry(v.network_id.clone()).or_default().insert(a);
                }
            }
        }
        for t in st.tasks.values() {
            for a in &t.networks_attachments {
                for cidr in &a.addresses {
                    let Some(ip) = addr_of(cidr) else { continue };
                    p.seen.entry(a.network.id.clone()).or_default().insert(ip);
                    if holds_addresses(t) {
                        p.taken.entry(a.network.id.clone()).or_default().insert(ip);
                    }
                }
            }
        }
        p
    }

    /// The lowest address never handed out, else the lowest free one; `a.b.c.d/len`.
    pub fn take(&mut self, n: &Network) -> Option<String> {
        let (net, _) = subnet_of(n)?;
        let taken = self.taken.entry(n.id.clone()).or_default();
        let seen = self.seen.entry(n.id.clone()).or_default();
        let hosts = || net.hosts().filter(|a| !taken.contains(a));
        let ip = hosts()
            .find(|a| !seen.contains(a))
            .or_else(|| hosts().next())?;
        taken.insert(ip);
        seen.insert(ip);
        Some(format!("{ip}/{}", net.prefix_len()))
    }
}

/// Published ports: the spec's, with a free port from the dynamic range for those that
/// name none. `in_use`: the ingress ports of the other services.
pub fn assign_ports(
    spec: &ServiceSpec,
    current: &[PortConfig],
    in_use: &BTreeSet<(String, u32)>,
) -> Vec<PortConfig> {
    let mut taken = in_use.clone();
    let mut out = Vec::new();
    for mut p in spec_ports(spec) {
        if p.published_port == 0 && p.publish_mode == "ingress" {
            // Keep the port given before, as swarmkit does across updates.
            let kept = current.iter().find(|c| {
                c.target_port == p.target_port
                    && c.protocol == p.protocol
                    && c.publish_mode == "ingress"
                    && !taken.contains(&(c.protocol.clone(), c.published_port))
            });
            p.published_port = match kept {
                Some(c) => c.published_port,
                None => DYNAMIC_PORTS
                    .clone()
                    .find(|n| !taken.contains(&(p.protocol.clone(), *n)))
                    .unwrap_or(0),
            };
        }
        if p.publish_mode == "ingress" {
            taken.insert((p.protocol.clone(), p.published_port));
        }
        out.push(p);
    }
    out
}

/// The ingress ports every service but `except` publishes.
pub fn ingress_ports_in_use(st: &State, except: &str) -> BTreeMap<(String, u32), String> {
    let mut m = BTreeMap::new();
    for s in st.services.values().filter(|s| s.id != except) {
        for p in &s.endpoint.ports {
            if p.publish_mode == "ingress" && p.published_port != 0 {
                m.insert((p.protocol.clone(), p.published_port), s.id.clone());
            }
        }
    }
    m
}

/// The endpoint a service should have: its spec, ports, and a VIP on each of its networks
/// (endpoint mode vip), keeping the VIPs it has.
pub fn endpoint_for(st: &State, s: &Service, pools: &mut Pools) -> Endpoint {
    let in_use: BTreeSet<(String, u32)> = ingress_ports_in_use(st, &s.id).into_keys().collect();
    let ports = assign_ports(&s.spec, &s.endpoint.ports, &in_use);
    let mut vips = Vec::new();
    if is_vip(&s.spec) {
        for (n, _) in networks_of(st, &s.spec) {
            let kept = s
                .endpoint
                .virtual_ips
                .iter()
                .find(|v| v.network_id == n.id)
                .cloned();
            match kept {
                Some(v) => vips.push(v),
                None => {
                    if let Some(addr) = pools.take(n) {
                        vips.push(EndpointVirtualIp {
                            network_id: n.id.clone(),
                            addr,
                        });
                    }
                }
            }
        }
    }
    Endpoint {
        spec: s.spec.endpoint_spec.clone().unwrap_or_default(),
        ports,
        virtual_ips: vips,
    }
}

/// One pass: service endpoints first (VIPs, ports), then new tasks' addresses.
pub fn allocate(st: &State) -> Vec<Op> {
    let mut ops = Vec::new();
    let mut pools = Pools::of(st);
    for s in st.services.values() {
        let want = endpoint_for(st, s, &mut pools);
        if want != s.endpoint {
            let expect = Some(s.meta.version.index);
            let mut s = s.clone();
            s.endpoint = want;
            ops.push(Op::Update {
                object: Object::Service(Box::new(s)),
                expect,
            });
        }
    }
    if !ops.is_empty() {
        // Tasks are allocated against the services' committed endpoints.
        return ops;
    }
    for t in st
        .tasks
        .values()
        .filter(|t| t.status.state == "new" && t.desired_state == "running")
    {
        let Some(s) = st.services.get(&t.service_id) else {
            continue;
        };
        let mut t = t.clone();
        t.networks_attachments = networks_of(st, &s.spec)
            .into_iter()
            .filter_map(|(n, _)| {
                Some(NetworkAttachment {
                    network: n.clone(),
                    addresses: vec![pools.take(n)?],
                })
            })
            .collect();
        t.status.state = "pending".into();
        t.status.message = "pending task scheduling".into();
        let expect = Some(t.meta.version.index);
        ops.push(Op::Update {
            object: Object::Task(Box::new(t)),
            expect,
        });
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_api::swarm::{
        Driver, EndpointSpec, IpamConfig, IpamOptions, NetworkSpec, ReplicatedService, ServiceMode,
        TaskSpec, TaskStatus,
    };

    fn net(id: &str, name: &str, subnet: &str, ingress: bool) -> Network {
        Network {
            id: id.into(),
            spec: NetworkSpec {
                name: name.into(),
                ingress,
                ..Default::default()
            },
            driver_state: Driver {
                name: "overlay".into(),
                options: Some([(VXLAN_OPTION.to_string(), "4097".to_string())].into()),
            },
            ipam_options: Some(IpamOptions {
                driver: Driver {
                    name: "default".into(),
                    options: None,
                },
                configs: vec![IpamConfig {
                    subnet: subnet.into(),
                    gateway: String::new(),
                    range: String::new(),
                }],
            }),
            ..Default::default()
        }
    }

    fn service(id: &str, ports: Vec<PortConfig>, nets: &[&str], mode: &str) -> Service {
        Service {
            id: id.into(),
            spec: ServiceSpec {
                name: id.into(),
                task_template: TaskSpec {
                    networks: nets
                        .iter()
                        .map(|n| NetworkAttachmentConfig {
                            target: n.to_string(),
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                },
                mode: ServiceMode {
                    replicated: Some(ReplicatedService { replicas: Some(1) }),
                    ..Default::default()
                },
                endpoint_spec: Some(EndpointSpec {
                    mode: mode.into(),
                    ports,
                }),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    fn apply(st: &mut State, ops: Vec<Op>) {
        let r = st.apply(
            st.services.len() as u64 + st.tasks.len() as u64 + 100,
            &crate::store::Command {
                at: "2026-01-01T00:00:00Z".into(),
                ops,
            },
        );
        assert!(matches!(r, crate::store::Applied::Ok { .. }), "{r:?}");
    }

    #[test]
    fn subnets_skip_what_is_taken() {
        let taken = vec![
            "10.0.0.0/24".parse().unwrap(),
            "10.0.2.0/23".parse().unwrap(),
        ];
        let pools = vec!["10.0.0.0/8".to_string()];
        assert_eq!(
            pick_subnet(&pools, 24, &taken),
            Some("10.0.1.0/24".parse().unwrap())
        );
        let taken2 = vec!["10.0.0.0/8".parse().unwrap()];
        assert_eq!(pick_subnet(&pools, 24, &taken2), None);
    }

    #[test]
    fn vips_ports_and_task_addresses() {
        let mut st = State::default();
        st.networks
            .insert("ing".into(), net("ing", INGRESS, "10.0.0.0/24", true));
        st.networks
            .insert("ov".into(), net("ov", "front", "10.0.1.0/24", false));
        let web = service(
            "web",
            vec![
                PortConfig {
                    target_port: 80,
                    published_port: 8080,
                    ..Default::default()
                },
                PortConfig {
                    target_port: 81,
                    ..Default::default()
                },
            ],
            &["ov"],
            "",
        );
        st.services.insert("web".into(), web);
        st.services
            .insert("db".into(), service("db", vec![], &["ov"], "dnsrr"));
        let ops = allocate(&st);
        apply(&mut st, ops);
        let web = &st.services["web"];
        assert_eq!(web.endpoint.ports[0].published_port, 8080);
        assert_eq!(web.endpoint.ports[0].publish_mode, "ingress");
        assert_eq!(web.endpoint.ports[1].published_port, 30000);
        // Ingress first, then the overlay; .1 is the gateway.
        assert_eq!(web.endpoint.virtual_ips.len(), 2);
        assert_eq!(web.endpoint.virtual_ips[0].network_id, "ing");
        assert_eq!(web.endpoint.virtual_ips[0].addr, "10.0.0.2/24");
        assert_eq!(web.endpoint.virtual_ips[1].addr, "10.0.1.2/24");
        assert!(st.services["db"].endpoint.virtual_ips.is_empty(), "dnsrr");
        assert!(allocate(&st).is_empty(), "stable");

        // A new task gets an address on each network and becomes pending.
        let task = Task {
            id: "t1".into(),
            service_id: "web".into(),
            slot: 1,
            desired_state: "running".into(),
            status: TaskStatus {
                state: "new".into(),
                ..Default::default()
            },
            ..Default::default()
        };
        st.tasks.insert("t1".into(), task);
        let ops = allocate(&st);
        apply(&mut st, ops);
        let t = &st.tasks["t1"];
        assert_eq!(t.status.state, "pending");
        assert_eq!(task_address(t, "ing"), Some("10.0.0.3".parse().unwrap()));
        assert_eq!(task_address(t, "ov"), Some("10.0.1.3".parse().unwrap()));

        // An ended task's address is reused only after the never-used ones.
        let mut ended = st.tasks["t1"].clone();
        ended.status.state = "failed".into();
        st.tasks.insert("t1".into(), ended);
        let mut pools = Pools::of(&st);
        assert_eq!(
            pools.take(&st.networks["ov"]).as_deref(),
            Some("10.0.1.4/24")
        );
    }

    #[test]
    fn another_service_s_ingress_port_is_not_given_twice() {
        let mut st = State::default();
        st.networks
            .insert("ing".into(), net("ing", INGRESS, "10.0.0.0/24", true));
        let a = service(
            "a",
            vec![PortConfig {
                target_port: 80,
                ..Default::default()
            }],
            &[],
            "",
        );
        st.services.insert("a".into(), a);
        let ops = allocate(&st);
        apply(&mut st, ops);
        let b = service(
            "b",
            vec![PortConfig {
                target_port: 80,
                ..Default::default()
            }],
            &[],
            "",
        );
        st.services.insert("b".into(), b);
        let ops = allocate(&st);
        apply(&mut st, ops);
        assert_eq!(st.services["a"].endpoint.ports[0].published_port, 30000);
        assert_eq!(st.services["b"].endpoint.ports[0].published_port, 30001);
    }
}
