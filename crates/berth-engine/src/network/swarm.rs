//! This node's side of swarm-scoped networks. The swarm (berth-swarm) owns them: it
//! allocates their subnets and every address on them, and tells the engine which ones
//! this node needs ([`Networks::ensure_swarm`]). Each is a Linux bridge here, like a
//! local network; on several nodes a VXLAN device with the network's id would join each
//! bridge (the id is in the record's options already).
//!
//! Addresses: a task's container asks for the address its task was given; a container
//! started by hand on an attachable network gets one from the swarm through the
//! [`Attacher`] (moby's network attachment), so the local pool never picks one itself.
//!
//! Service discovery and load balancing ([`SwarmLb`]): the services' names go to the
//! embedded resolver as records (the VIP, or the tasks for dnsrr; `tasks.NAME`), each
//! container on a network with VIPs gets its own nftables table balancing them
//! (berth-net `lb`), and the routing mesh's ports join the daemon's table.

use super::{dns, netns, Networks};
use crate::error::{net_err, EngineError, Result};
use crate::model::NetworkRecord;
use crate::task::blocking;
use berth_net::ipam;
pub use berth_net::lb::MeshPort;
use berth_net::lb::{self, Vip};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use tracing::{info, warn};

/// A swarm network as this node makes it.
#[derive(Debug, Clone, PartialEq)]
pub struct SwarmNetwork {
    pub id: String,
    pub name: String,
    pub created: DateTime<Utc>,
    pub subnet: String,
    pub gateway: String,
    pub vni: u32,
    pub internal: bool,
    pub attachable: bool,
    pub ingress: bool,
    pub labels: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
}

/// A service's names on one network: `names` answer `vip` (endpoint mode vip) or the
/// tasks' addresses (dnsrr); `task_names` (`tasks.NAME`) always the tasks'.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ServiceRecord {
    pub network_id: String,
    pub names: Vec<String>,
    pub task_names: Vec<String>,
    pub vip: Option<Ipv4Addr>,
    /// The running (healthy) tasks' addresses on this network.
    pub tasks: Vec<Ipv4Addr>,
}

/// Everything the services' discovery and balancing need on this node.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SwarmLb {
    pub records: Vec<ServiceRecord>,
    pub mesh: Vec<MeshPort>,
}

pub type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// The swarm's side of a container attaching by hand to an attachable network.
pub trait Attacher: Send + Sync {
    /// The container's address on the network (recorded in the swarm), or why not (with
    /// moby's message: "Could not attach to network ...").
    fn attach(&self, network_id: String, container_id: String) -> BoxFuture<Result<Ipv4Addr>>;
    /// The container left the network: its address goes back.
    fn detach(&self, network_id: String, container_id: String) -> BoxFuture<()>;
}

/// The swarm networks' state kept by [`Networks`].
#[derive(Default)]
pub(super) struct Local {
    attacher: Mutex<Option<Arc<dyn Attacher>>>,
    lb: Mutex<SwarmLb>,
    /// What each container's table holds now.
    applied: Mutex<HashMap<String, Vec<Vip>>>,
    /// One network made at a time (tasks starting together need the same ones).
    ensure: tokio::sync::Mutex<()>,
}

/// The label the swarm puts on its tasks' containers.
const TASK_LABEL: &str = "com.docker.swarm.task.id";

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Networks {
    pub fn set_attacher(&self, a: Option<Arc<dyn Attacher>>) {
        *lock(&self.swarm.attacher) = a;
    }

    /// The swarm networks this node has.
    pub fn swarm_ids(&self) -> Vec<String> {
        self.lock()
            .values()
            .filter(|n| n.rec.is_swarm())
            .map(|n| n.rec.id.clone())
            .collect()
    }

    /// Makes this node's copy of a swarm network (nothing if it has it).
    pub async fn ensure_swarm(&self, n: &SwarmNetwork) -> Result<()> {
        let _one = self.swarm.ensure.lock().await;
        if self.lock().contains_key(&n.id) {
            return Ok(());
        }
        let subnet = ipam::parse_subnet(&n.subnet).map_err(net_err)?;
        let gateway = ipam::parse_addr(&n.gateway).map_err(net_err)?;
        let mut options = n.options.clone();
        options.insert(
            "com.docker.network.driver.overlay.vxlanid_list".into(),
            n.vni.to_string(),
        );
        let rec = NetworkRecord {
            id: n.id.clone(),
            name: n.name.clone(),
            created: n.created,
            driver: "overlay".into(),
            subnet: subnet.to_string(),
            gateway: gateway.to_string(),
            gateway_implicit: false,
            ip_range: None,
            internal: n.internal,
            attachable: n.attachable,
            enable_ipv6: false,
            subnet6: None,
            gateway6: None,
            gateway6_implicit: false,
            ip_range6: None,
            // Whether the swarm's subnet was given is not kept here: static addresses
            // stay accepted on it, as before.
            subnet_auto: false,
            subnet6_auto: false,
            aux_addresses: Default::default(),
            aux_addresses6: Default::default(),
            labels: n.labels.clone(),
            options,
            ipam_options: BTreeMap::new(),
            bridge: format!("ov-{}", &n.id[..12.min(n.id.len())]),
            mtu: None,
            scope: "swarm".into(),
            ingress: n.ingress,
            parent: String::new(),
            parent_created: false,
            config_only: false,
            config_from: String::new(),
        };
        {
            let mut nets = self.lock();
            if let Some(o) = nets.values().find(|o| {
                o.pool
                    .as_ref()
                    .is_some_and(|p| ipam::overlaps(&p.subnet, &subnet))
            }) {
                return Err(EngineError::Forbidden(format!(
                    "cannot create network {} ({}): subnet {subnet} overlaps with network {}",
                    n.name, n.id, o.rec.name
                )));
            }
            let pool = ipam::Pool::new(subnet, Some(gateway), None).map_err(net_err)?;
            nets.insert(
                rec.id.clone(),
                super::state::Net {
                    rec: rec.clone(),
                    pool: Some(pool),
                    users: HashMap::new(),
                    pool6: None,
                    users6: HashMap::new(),
                },
            );
        }
        let r = rec.clone();
        let path = self.dir.join(format!("{}.json", rec.id));
        let plane = self.plane.clone();
        let made = blocking(move || {
            super::setup_bridge(&*plane, &r)?;
            berth_api::atomic::write_json(&path, &r)
                .map_err(|e| EngineError::internal("cannot store network", e))
        })
        .await
        .and_then(|()| self.apply_firewall());
        if let Err(e) = made {
            self.lock().remove(&rec.id);
            let (b, plane) = (rec.bridge.clone(), self.plane.clone());
            let _ = blocking(move || plane.remove_bridge(&b).map_err(net_err)).await;
            let _ = std::fs::remove_file(self.dir.join(format!("{}.json", rec.id)));
            let _ = self.apply_firewall();
            return Err(e);
        }
        info!(network = %rec.name, subnet = %rec.subnet, bridge = %rec.bridge, "swarm network created on this node");
        Ok(())
    }

    /// Removes this node's copy of a swarm network no container uses any more.
    pub async fn remove_swarm(&self, id: &str) -> Result<()> {
        let in_use = self.lock().get(id).is_some_and(|n| !n.users.is_empty());
        if in_use {
            return Err(EngineError::Forbidden(format!(
                "network {id} has active endpoints"
            )));
        }
        self.remove(id, &HashMap::new()).await.map(|_| ())
    }

    /// The address of a container on a swarm network: a task's container asks for its
    /// own (`None` here: the request is the address); anyone else must be on an
    /// attachable network and gets one from the swarm.
    pub(super) async fn swarm_address(
        &self,
        net: &NetworkRecord,
        container_id: &str,
        labels: &BTreeMap<String, String>,
        requested: bool,
    ) -> Result<Option<Ipv4Addr>> {
        if !net.is_swarm() {
            return Ok(None);
        }
        let task = labels.contains_key(TASK_LABEL);
        if task && requested {
            return Ok(None);
        }
        let refuse = |why: String| {
            EngineError::Forbidden(format!("Could not attach to network {}: {why}", net.name))
        };
        if !net.attachable {
            return Err(refuse(format!(
                "rpc error: code = PermissionDenied desc = network {} not manually attachable",
                net.name
            )));
        }
        if requested {
            return Err(refuse(
                "a static address is not supported on swarm networks by berth".into(),
            ));
        }
        let attacher = lock(&self.swarm.attacher).clone();
        let Some(a) = attacher else {
            return Err(refuse("this node is not part of an active swarm".into()));
        };
        a.attach(net.id.clone(), container_id.to_string())
            .await
            .map(Some)
    }

    /// A container left a swarm network (the swarm ignores containers it did not attach).
    pub(super) fn swarm_released(&self, network_id: &str, container_id: &str) {
        let attacher = lock(&self.swarm.attacher).clone();
        if let Some(a) = attacher {
            let fut = a.detach(network_id.to_string(), container_id.to_string());
            if let Ok(rt) = tokio::runtime::Handle::try_current() {
                rt.spawn(fut);
            }
        }
        lock(&self.swarm.applied).remove(container_id);
    }

    /// Replaces the services' records and balancing: the resolver's records, the mesh's
    /// rules, and the tables of the containers whose VIPs changed.
    pub async fn set_swarm_lb(&self, lb: SwarmLb) {
        let mesh_changed = {
            let mut cur = lock(&self.swarm.lb);
            if *cur == lb {
                return;
            }
            let changed = cur.mesh != lb.mesh;
            *cur = lb.clone();
            changed
        };
        let mut entries = Vec::new();
        for r in &lb.records {
            let internal = self
                .lock()
                .get(&r.network_id)
                .is_some_and(|n| n.rec.internal);
            let entry = |ip: Ipv4Addr, names: &[String]| dns::Entry {
                network_id: r.network_id.clone(),
                internal,
                ip,
                ip6: None,
                names: names.iter().map(|n| n.to_ascii_lowercase()).collect(),
                record: true,
                ptr: String::new(),
            };
            match r.vip {
                Some(v) => entries.push(entry(v, &r.names)),
                None => entries.extend(r.tasks.iter().map(|t| entry(*t, &r.names))),
            }
            entries.extend(r.tasks.iter().map(|t| entry(*t, &r.task_names)));
        }
        self.dns.set_records(entries);
        if mesh_changed {
            if let Err(e) = self.apply_firewall() {
                warn!(error = %e, "cannot write the routing mesh's rules");
            }
        }
        let containers: Vec<String> = {
            let nets = self.lock();
            let mut v: Vec<String> = nets
                .values()
                .filter(|n| n.rec.is_swarm())
                .flat_map(|n| n.users.keys().cloned())
                .collect();
            v.sort();
            v.dedup();
            v
        };
        for c in containers {
            self.program_lb(&c).await;
        }
    }

    /// The routing mesh's ports (for the daemon's table).
    pub(super) fn mesh_ports(&self) -> Vec<MeshPort> {
        lock(&self.swarm.lb).mesh.clone()
    }

    /// The VIPs a container reaches: those of the swarm networks it is on.
    fn vips_for(&self, container_id: &str) -> Vec<Vip> {
        let on: Vec<String> = self
            .lock()
            .values()
            .filter(|n| n.rec.is_swarm() && n.users.contains_key(container_id))
            .map(|n| n.rec.id.clone())
            .collect();
        let lb = lock(&self.swarm.lb);
        let mut v: Vec<Vip> = lb
            .records
            .iter()
            .filter(|r| on.contains(&r.network_id))
            .filter_map(|r| {
                r.vip.map(|vip| Vip {
                    vip,
                    backends: r.tasks.clone(),
                })
            })
            .collect();
        v.sort_by_key(|x| x.vip);
        v
    }

    fn netns_of(&self, container_id: &str) -> Option<PathBuf> {
        let root = self.dir.parent()?;
        Some(netns::path_in(&root.join("containers").join(container_id)))
    }

    /// Brings a container's balancing table in line with its VIPs (at its start on a
    /// swarm network, and when the services change).
    pub(super) async fn program_lb(&self, container_id: &str) {
        let want = self.vips_for(container_id);
        let had = lock(&self.swarm.applied).get(container_id).cloned();
        if had.as_ref() == Some(&want) || (had.is_none() && want.is_empty()) {
            return;
        }
        let Some(path) = self.netns_of(container_id) else {
            return;
        };
        if !path.exists() {
            return;
        }
        let vips = want.clone();
        let r = blocking(move || lb::apply_in(&path, &vips).map_err(net_err)).await;
        match r {
            Ok(()) => {
                lock(&self.swarm.applied).insert(container_id.to_string(), want);
            }
            Err(e) => warn!(id = %container_id, error = %e, "cannot write the VIP rules"),
        }
    }
}
