//! What one node's networking needs from the swarm state (pure, like the orchestrator):
//! the swarm networks it must have (those of its tasks and attachments, and every
//! attachable one so that `docker run --network` finds them), the services' names and
//! virtual IPs with the addresses of their running tasks, and the routing mesh's ports.
//! A task is a backend only while it runs: with a health check it reaches `running`
//! only once healthy (see the agent), and an unhealthy one fails.

use crate::allocator::{is_vip, networks_of, subnet_of, task_address, vip_of, vni_of};
use crate::orchestrator::is_terminal;
use crate::store::State;
use berth_api::swarm::Network;
use berth_engine::network::swarm::{MeshPort, ServiceRecord, SwarmLb, SwarmNetwork};
use std::collections::BTreeMap;
use std::net::Ipv4Addr;

/// The engine's view of a swarm network.
pub fn local_network(n: &Network) -> Option<SwarmNetwork> {
    let (subnet, gw) = subnet_of(n)?;
    let created = chrono::DateTime::parse_from_rfc3339(&n.meta.created_at)
        .map(|t| t.with_timezone(&chrono::Utc))
        .unwrap_or_else(|_| chrono::Utc::now());
    Some(SwarmNetwork {
        id: n.id.clone(),
        name: n.spec.name.clone(),
        created,
        subnet: subnet.to_string(),
        gateway: gw.to_string(),
        vni: vni_of(n).unwrap_or(0),
        internal: n.spec.internal,
        attachable: n.spec.attachable,
        ingress: n.spec.ingress,
        labels: n.spec.labels.clone(),
        options: n
            .spec
            .driver_configuration
            .as_ref()
            .and_then(|d| d.options.clone())
            .unwrap_or_default(),
    })
}

/// The swarm networks this node needs, by id.
pub fn needed_networks(st: &State, node_id: &str) -> BTreeMap<String, SwarmNetwork> {
    let mut out = BTreeMap::new();
    for n in st.networks.values().filter(|n| n.spec.attachable) {
        if let Some(l) = local_network(n) {
            out.insert(n.id.clone(), l);
        }
    }
    for t in st.tasks.values().filter(|t| t.node_id == node_id) {
        if t.spec.network_attachment_spec.is_none() && is_terminal(&t.status.state) {
            continue;
        }
        for a in &t.networks_attachments {
            // The store's network (current), else the copy the task carries.
            let n = st.networks.get(&a.network.id).unwrap_or(&a.network);
            if let Some(l) = local_network(n) {
                out.insert(n.id.clone(), l);
            }
        }
    }
    out
}

/// Records and balancing for every service on the swarm's networks, and the mesh.
pub fn lb_plan(st: &State) -> SwarmLb {
    let mut records = Vec::new();
    let mut mesh = Vec::new();
    for s in st.services.values() {
        let running: Vec<_> = st
            .tasks_of(&s.id)
            .filter(|t| t.status.state == "running" && t.desired_state == "running")
            .collect();
        for (n, cfg) in networks_of(st, &s.spec) {
            let tasks: Vec<Ipv4Addr> = {
                let mut v: Vec<Ipv4Addr> = running
                    .iter()
                    .filter_map(|t| task_address(t, &n.id))
                    .collect();
                v.sort();
                v
            };
            if n.spec.ingress {
                for p in s
                    .endpoint
                    .ports
                    .iter()
                    .filter(|p| p.publish_mode == "ingress" && p.published_port != 0)
                {
                    mesh.push(MeshPort {
                        proto: p.protocol.clone(),
                        published: p.published_port as u16,
                        target: p.target_port as u16,
                        backends: tasks.clone(),
                    });
                }
                // The ingress network carries the mesh only, not the service's names.
                continue;
            }
            let mut names = vec![s.spec.name.clone()];
            if let Some(c) = cfg {
                names.extend(c.aliases.iter().cloned());
            }
            records.push(ServiceRecord {
                network_id: n.id.clone(),
                task_names: vec![format!("tasks.{}", s.spec.name)],
                names,
                vip: if is_vip(&s.spec) {
                    vip_of(s, &n.id)
                } else {
                    None
                },
                tasks,
            });
        }
    }
    records.sort_by(|a, b| (&a.network_id, &a.names).cmp(&(&b.network_id, &b.names)));
    mesh.sort_by_key(|m| (m.published, m.proto.clone()));
    SwarmLb { records, mesh }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::allocator::{allocate, INGRESS, VXLAN_OPTION};
    use crate::store::{Applied, Command, Op};
    use berth_api::swarm::{
        Driver, EndpointSpec, IpamConfig, IpamOptions, NetworkAttachmentConfig, NetworkSpec,
        PortConfig, Service, ServiceSpec, Task, TaskSpec, TaskStatus,
    };

    fn net(id: &str, name: &str, subnet: &str, ingress: bool, attachable: bool) -> Network {
        Network {
            id: id.into(),
            spec: NetworkSpec {
                name: name.into(),
                ingress,
                attachable,
                ..Default::default()
            },
            driver_state: Driver {
                name: "overlay".into(),
                options: Some([(VXLAN_OPTION.to_string(), "4097".to_string())].into()),
            },
            ipam_options: Some(IpamOptions {
                driver: Driver::default(),
                configs: vec![IpamConfig {
                    subnet: subnet.into(),
                    ..Default::default()
                }],
            }),
            ..Default::default()
        }
    }

    fn apply(st: &mut State, ops: Vec<Op>) {
        let r = st.apply(
            1000 + st.tasks.len() as u64,
            &Command {
                at: "2026-01-01T00:00:00Z".into(),
                ops,
            },
        );
        assert!(matches!(r, Applied::Ok { .. }), "{r:?}");
    }

    #[test]
    fn records_vips_mesh_and_needed_networks() {
        let mut st = State::default();
        st.networks.insert(
            "ing".into(),
            net("ing", INGRESS, "10.0.0.0/24", true, false),
        );
        st.networks
            .insert("ov".into(), net("ov", "front", "10.0.1.0/24", false, false));
        st.networks.insert(
            "att".into(),
            net("att", "tools", "10.0.2.0/24", false, true),
        );
        let mut spec = ServiceSpec {
            name: "web".into(),
            task_template: TaskSpec {
                networks: vec![NetworkAttachmentConfig {
                    target: "ov".into(),
                    aliases: vec!["www".into()],
                    ..Default::default()
                }],
                ..Default::default()
            },
            endpoint_spec: Some(EndpointSpec {
                mode: String::new(),
                ports: vec![PortConfig {
                    target_port: 80,
                    published_port: 8080,
                    ..Default::default()
                }],
            }),
            ..Default::default()
        };
        st.services.insert(
            "web".into(),
            Service {
                id: "web".into(),
                spec: spec.clone(),
                ..Default::default()
            },
        );
        spec.name = "db".into();
        spec.endpoint_spec = Some(EndpointSpec {
            mode: "dnsrr".into(),
            ports: vec![],
        });
        st.services.insert(
            "db".into(),
            Service {
                id: "db".into(),
                spec,
                ..Default::default()
            },
        );
        let ops = allocate(&st);
        apply(&mut st, ops);
        for (id, svc, state) in [
            ("t1", "web", "running"),
            ("t2", "web", "starting"),
            ("t3", "db", "running"),
        ] {
            st.tasks.insert(
                id.into(),
                Task {
                    id: id.into(),
                    service_id: svc.into(),
                    node_id: "n1".into(),
                    desired_state: "running".into(),
                    status: TaskStatus {
                        state: "new".into(),
                        ..Default::default()
                    },
                    ..Default::default()
                },
            );
            let ops = allocate(&st);
            apply(&mut st, ops);
            let mut t = st.tasks[id].clone();
            t.status.state = state.into();
            st.tasks.insert(id.into(), t);
        }
        let lb = lb_plan(&st);
        let web = lb
            .records
            .iter()
            .find(|r| r.names[0] == "web")
            .expect("web record");
        assert_eq!(web.names, vec!["web", "www"]);
        assert_eq!(web.task_names, vec!["tasks.web"]);
        assert_eq!(web.vip, Some("10.0.1.2".parse().unwrap()));
        // Only the running task is a backend.
        assert_eq!(web.tasks.len(), 1);
        let db = lb.records.iter().find(|r| r.names[0] == "db").unwrap();
        assert_eq!(db.vip, None, "dnsrr");
        assert_eq!(db.tasks.len(), 1);
        assert_eq!(lb.mesh.len(), 1);
        assert_eq!(lb.mesh[0].published, 8080);
        assert_eq!(lb.mesh[0].target, 80);
        assert_eq!(lb.mesh[0].backends.len(), 1);
        assert!(lb.mesh[0].backends[0].to_string().starts_with("10.0.0."));
        let needed = needed_networks(&st, "n1");
        let ids: Vec<&str> = needed.keys().map(|k| k.as_str()).collect();
        assert_eq!(ids, vec!["att", "ing", "ov"]);
        assert!(needed["ing"].ingress);
        assert_eq!(needed["ov"].gateway, "10.0.1.1");
        assert!(needed_networks(&st, "other").contains_key("att"));
        assert!(!needed_networks(&st, "other").contains_key("ov"));
    }
}
