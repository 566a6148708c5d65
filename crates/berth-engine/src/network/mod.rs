//! Networks: the records in `networks/<id>.json`, their IP pools, and attaching containers
//! to them (a network namespace per container with one veth per network, see berth-net).
//!
//! Allocations are not written to the network record: each container's record carries its
//! endpoints (written at start anyway), and the pools are rebuilt from the running
//! containers when the daemon starts. So a container start writes no network file.
//!
//! Endpoint requests (`endpoint_request`, shared by create's `NetworkingConfig` and
//! `network connect`) are kept in the endpoint's record across runs: `--link-local-ip`
//! (extra /16 or /64 addresses through the data plane's `Endpoint::link_local`; a
//! non-link-local one fails the start with moby's "invalid link local IP address"),
//! `DriverOpts` and `Links` (shown as given), `MacAddress` (per endpoint from API 1.44,
//! else `Config.MacAddress` for the mode's network; replaces 02:42 + address). The default
//! bridge keeps an endpoint record only when it asks for one of these. Network names take
//! any character but must not be empty (Docker's rule: the name names no file or
//! interface).

pub mod api;
pub mod attach;
pub mod bridge_opts;
pub mod config;
pub mod default_bridge;
pub mod dns;
pub mod fixed_cidr;
pub mod gateway;
pub mod ipv6;
pub mod mode;
pub mod port_proxy;
pub mod ports;
mod state;
pub mod swarm;
pub mod sysctls;
pub mod vlan;

pub use mode::is_builtin_mode;

use crate::error::{net_err, EngineError, Result};
use crate::model::{EndpointRecord, NetworkRecord, PortMapping};
use crate::task::blocking;
use api::CreateRequest;
use berth_net::ipam::{self, Pool};
use berth_net::netns::{self, Endpoint};
use berth_net::plane::DataPlane;
use berth_net::{bridge, firewall, NetError};
use chrono::Utc;
use ipnet::Ipv4Net;
use mode::{is_default_mode, DEFAULT_NETWORK};
use state::Net;
use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tracing::{info, warn};

/// A running container's published ports: the rules' target and the host ports held.
struct Published {
    ip: Ipv4Addr,
    ports: Vec<(PortMapping, berth_net::ports::Reservation)>,
    /// The userland proxies of its IPv6 host addresses (stopped when dropped).
    _proxies: port_proxy::ProxySet,
}

impl Published {
    /// `ip6`: the container's IPv6 address, the proxies' target when it has one (else
    /// they forward to `ip`).
    fn new(
        ip: Ipv4Addr,
        ip6: Option<std::net::Ipv6Addr>,
        ports: Vec<(PortMapping, berth_net::ports::Reservation)>,
    ) -> Published {
        let proxies = port_proxy::start(&ports, ip, ip6);
        Published {
            ip,
            ports,
            _proxies: proxies,
        }
    }

    /// The ports moved to another of the container's addresses (disconnect of the network
    /// that carried them): the rules' target changes, and the proxies start again on the
    /// same reserved sockets towards the new address.
    fn retarget(&mut self, ip: Ipv4Addr, ip6: Option<std::net::Ipv6Addr>) {
        self.ip = ip;
        self._proxies = port_proxy::start(&self.ports, ip, ip6);
    }
}

pub struct Networks {
    dir: PathBuf,
    /// Bridges, namespaces, links, routes, rules, resolver sockets, port reservations.
    plane: Arc<dyn DataPlane>,
    table: String,
    nets: Mutex<HashMap<String, Net>>,
    published: Mutex<HashMap<String, Published>>,
    dns: dns::Resolver,
    /// Where networks without a subnet come from (daemon.json `default-address-pools`).
    pools: Vec<ipam::AddressPool>,
    /// Where published ports without host IP go.
    port_cfg: ports::PortConfig,
    /// Serializes computing and applying the rules: two concurrent rewrites could otherwise
    /// land in the wrong order and bring back a removed container's rules.
    fw: Mutex<()>,
    /// Where the daemon's IPv6 ULA /48 comes from (its data root).
    ula_seed: Vec<u8>,
    /// The bridges (IPv4, IPv6) whose iptables accept rules were last put in place
    /// (`berth_net::iptables`): synced again only when they change.
    iptables: Mutex<Option<(Vec<String>, Vec<String>)>>,
    /// Swarm networks: the swarm's attacher, the services' records and balancing.
    swarm: swarm::Local,
}

impl Networks {
    /// Loads the records and brings their bridges and the firewall table back.
    pub fn open(
        data_root: &Path,
        cfg: &config::BridgeConfig,
        plane: Arc<dyn DataPlane>,
    ) -> Result<Networks> {
        let dir = data_root.join("networks");
        std::fs::create_dir_all(&dir)?;
        let mut nets = HashMap::new();
        for entry in std::fs::read_dir(&dir)?.flatten() {
            let path = entry.path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let rec: NetworkRecord = match std::fs::read(&path)
                .map_err(|e| e.to_string())
                .and_then(|d| serde_json::from_slice(&d).map_err(|e| e.to_string()))
            {
                Ok(r) => r,
                Err(e) => {
                    warn!(path = %path.display(), error = %e, "skipping unreadable network record");
                    continue;
                }
            };
            if rec.config_only {
                // Nothing allocated for a configuration-only network (moby's reservePools).
                nets.insert(
                    rec.id.clone(),
                    Net {
                        rec,
                        pool: None,
                        users: HashMap::new(),
                        pool6: None,
                        users6: HashMap::new(),
                    },
                );
                continue;
            }
            let mut pool = match pool_of(&rec) {
                Ok(p) => p,
                Err(e) => {
                    warn!(network = %rec.name, error = %e, "skipping network with a bad pool");
                    continue;
                }
            };
            let mut pool6 = match ipv6::pool_of(&rec) {
                Ok(p) => p,
                Err(e) => {
                    warn!(network = %rec.name, error = %e, "skipping network with a bad IPv6 pool");
                    continue;
                }
            };
            if let Err(e) = reserve_aux(
                &rec.name,
                &rec.aux_addresses,
                &mut pool,
                pool6.as_mut(),
                &rec.aux_addresses6,
            ) {
                warn!(network = %rec.name, error = %e, "cannot reserve the network's auxiliary addresses");
            }
            nets.insert(
                rec.id.clone(),
                Net {
                    rec,
                    pool: Some(pool),
                    users: HashMap::new(),
                    pool6,
                    users6: HashMap::new(),
                },
            );
        }
        if let Some(net) = default_bridge::build(cfg, &nets, &*plane)? {
            nets.insert(net.rec.id.clone(), net);
        }
        let resolver = dns::Resolver::new(plane.clone());
        let n = Networks {
            dir,
            plane,
            table: firewall::table_name(data_root),
            nets: Mutex::new(nets),
            published: Mutex::new(HashMap::new()),
            dns: resolver,
            pools: cfg.pools(),
            port_cfg: cfg.ports.clone(),
            fw: Mutex::new(()),
            ula_seed: data_root.as_os_str().as_encoded_bytes().to_vec(),
            iptables: Mutex::new(None),
            swarm: swarm::Local::default(),
        };
        for net in n.lock().values() {
            if !net.rec.has_bridge() {
                // A macvlan/ipvlan network's own parent comes back as moby's driver
                // restores it (a user's parent is the user's).
                if net.rec.parent_created {
                    if let Some(spec) = vlan::spec_of(&net.rec) {
                        if let Err(e) = n.plane.ensure_parent(&spec.parent, spec.dummy) {
                            warn!(network = %net.rec.name, error = %e, "cannot restore the network's parent interface");
                        }
                    }
                }
                continue;
            }
            if let Err(e) = setup_bridge(&*n.plane, &net.rec) {
                warn!(network = %net.rec.name, error = %e, "cannot restore the network's bridge");
            }
        }
        if let Err(e) = n.apply_firewall() {
            warn!(error = %e, "cannot restore the network rules");
        }
        Ok(n)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Net>> {
        self.nets.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether the embedded resolver serves the container (it is on a user network).
    pub fn serving_resolver(&self, container_id: &str) -> bool {
        self.dns.serving(container_id)
    }

    /// The default bridge network, when the daemon has one.
    pub fn default_bridge(&self) -> Option<NetworkRecord> {
        self.lock()
            .values()
            .find(|n| mode::is_default(&n.rec))
            .map(|n| n.rec.clone())
    }

    /// The network a container with this mode is attached to at start: the default bridge
    /// for the default modes (when there is one), the named network for the others, none
    /// for `none`, `host` and `container:`.
    fn attach_target(&self, mode: &str) -> Option<String> {
        if mode::is_default_mode(mode) {
            return self.default_bridge().map(|r| r.name);
        }
        (!is_builtin_mode(mode)).then(|| mode.to_string())
    }

    /// moby 28's validateEndpointSettings address checks for a create request's endpoints:
    /// each error list is `invalid config for network N: invalid endpoint settings:\n...`
    /// (moby's create wraps the connect path's text with the network's name).
    pub fn check_endpoint_addresses(
        &self,
        endpoints: &BTreeMap<String, EndpointRecord>,
    ) -> Result<()> {
        for (name, ep) in endpoints {
            let Ok(net) = self.find(name) else {
                continue;
            };
            if let Err(e) = endpoint_address_check(&net, ep) {
                return Err(EngineError::InvalidParameter(format!(
                    "invalid config for network {name}: {e}"
                )));
            }
        }
        Ok(())
    }

    /// The host ports the other containers publish (moby's port allocator's record), so
    /// that a collision with one of them is worded as moby words it.
    fn held_ports(&self, except: &str) -> Vec<ports::Held> {
        self.published
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|(cid, _)| cid.as_str() != except)
            .flat_map(|(_, p)| ports::Held::of(p.ports.iter().map(|(m, _)| m)))
            .collect()
    }

    fn apply_firewall(&self) -> Result<()> {
        let _serial = self.fw.lock().unwrap_or_else(|e| e.into_inner());
        let rules: Vec<firewall::NetRules> = {
            let nets = self.lock();
            let mut v: Vec<&Net> = nets.values().collect();
            v.sort_by_key(|n| n.rec.created);
            // macvlan/ipvlan traffic never crosses the host's netfilter: no rules.
            v.iter()
                .filter(|n| n.rec.has_bridge())
                .map(|n| rules_of(&n.rec, self.port_cfg.userland_proxy))
                .collect()
        };
        let mut port_rules = Vec::new();
        for p in self
            .published
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
        {
            // IPv6 host addresses are the userland proxy's (port_proxy.rs).
            for (m, _) in p
                .ports
                .iter()
                .filter(|(m, _)| m.host_ip.parse::<Ipv4Addr>().is_ok())
            {
                port_rules.push(firewall::PortRule {
                    proto: m.proto.clone(),
                    host_ip: m.host_ip.parse().unwrap_or(Ipv4Addr::UNSPECIFIED),
                    host_port: m.host_port,
                    dest_ip: p.ip,
                    dest_port: m.container_port,
                });
            }
        }
        port_rules.sort_by_key(|r| (r.host_port, r.dest_port));
        let mesh = self.mesh_ports();
        let apply = || {
            self.plane
                .apply_rules(&self.table, &rules, &port_rules, &mesh)
                .map_err(net_err)
        };
        let bridges = Self::iptables_bridges(&rules);
        if !self.iptables_changed(&bridges) {
            return apply();
        }
        // The nftables table and the iptables accept rules are independent, and each is an
        // exec or two that mostly waits on the kernel (a network's create or removal spent
        // ~100 ms on them one after the other): both at once.
        std::thread::scope(|s| {
            let iptables = s.spawn(|| self.sync_iptables(bridges));
            let applied = apply();
            if iptables.join().is_err() {
                warn!("the iptables sync thread panicked");
            }
            applied
        })
    }

    /// The bridges whose iptables accept rules `sync_iptables` keeps: (IPv4, IPv6).
    fn iptables_bridges(rules: &[firewall::NetRules]) -> (Vec<String>, Vec<String>) {
        let v4: Vec<String> = rules.iter().map(|r| r.bridge.clone()).collect();
        let v6: Vec<String> = rules
            .iter()
            .filter(|r| r.subnet6.is_some())
            .map(|r| r.bridge.clone())
            .collect();
        (v4, v6)
    }

    /// Whether `bridges` (from [`Networks::iptables_bridges`]) differ from the last sync's.
    fn iptables_changed(&self, bridges: &(Vec<String>, Vec<String>)) -> bool {
        let last = self.iptables.lock().unwrap_or_else(|e| e.into_inner());
        last.as_ref() != Some(bridges)
    }

    /// The accept rules berth's bridges need in the host's iptables FORWARD path (where
    /// dockerd's DROP policy would stop them; `berth_net::iptables`), synced when the set of
    /// bridges changed. Failures are logged: without iptables there is nothing to fix.
    fn sync_iptables(&self, (v4, v6): (Vec<String>, Vec<String>)) {
        let mut last = self.iptables.lock().unwrap_or_else(|e| e.into_inner());
        // Checked again under the lock: another apply may have synced them meanwhile.
        if last.as_ref().is_some_and(|(l4, l6)| *l4 == v4 && *l6 == v6) {
            return;
        }
        let done = self.plane.sync_forward_accept(&self.table, &v4, &v6);
        for ((family, bridges), r) in [("v4", &v4), ("v6", &v6)].into_iter().zip(done) {
            match r {
                Ok(Some(chain)) if !bridges.is_empty() => {
                    info!(family, chain, bridges = ?bridges, "iptables accept rules for the bridges")
                }
                Ok(_) => {}
                Err(e) => warn!(family, error = %e, "cannot sync the iptables accept rules"),
            }
        }
        *last = Some((v4, v6));
    }

    /// Puts back what a container start needs and someone removed: the network's bridge
    /// (`ip link del`) and the daemon's nftables table (`nft flush ruleset`), with the
    /// iptables rules. Logged, so the user learns what happened.
    pub(super) fn restore_plumbing(&self, rec: &NetworkRecord) -> Result<()> {
        let mut rewrite = false;
        if rec.has_bridge() && !self.plane.link_exists(&rec.bridge) {
            warn!(network = %rec.name, bridge = %rec.bridge, "the network's bridge was removed: recreating it");
            setup_bridge(&*self.plane, rec)?;
            rewrite = true;
        }
        match self.plane.rules_exist(&self.table) {
            Ok(true) => {}
            Ok(false) => {
                warn!(table = %self.table, "the daemon's nftables table was removed: restoring it");
                rewrite = true;
            }
            Err(e) => warn!(table = %self.table, error = %e, "cannot look up the nftables table"),
        }
        if rewrite {
            *self.iptables.lock().unwrap_or_else(|e| e.into_inner()) = None;
            self.apply_firewall()?;
        }
        Ok(())
    }

    /// The daemon's nftables table.
    pub fn table(&self) -> &str {
        &self.table
    }

    /// Every user-defined network, oldest first.
    pub fn list(&self) -> Vec<NetworkRecord> {
        let mut v: Vec<NetworkRecord> = self
            .lock()
            .values()
            .filter(|n| !mode::is_default(&n.rec))
            .map(|n| n.rec.clone())
            .collect();
        v.sort_by(|a, b| a.created.cmp(&b.created).then(a.name.cmp(&b.name)));
        v
    }

    /// By full id, exact name, or unique id prefix, as Docker looks networks up.
    /// A running container renamed: the embedded DNS answers its new name at once.
    pub fn rename_in_resolver(&self, container_id: &str, old: &str, new: &str) {
        self.dns.rename(container_id, old, new);
    }

    pub fn find(&self, name_or_id: &str) -> Result<NetworkRecord> {
        let nets = self.lock();
        let not_found = || EngineError::NotFound(format!("network {name_or_id} not found"));
        if name_or_id.is_empty() {
            return Err(not_found());
        }
        if let Some(n) = nets.get(name_or_id) {
            return Ok(n.rec.clone());
        }
        if let Some(n) = nets.values().find(|n| n.rec.name == name_or_id) {
            return Ok(n.rec.clone());
        }
        let matches: Vec<&Net> = nets
            .values()
            .filter(|n| n.rec.id.starts_with(name_or_id))
            .collect();
        match matches.len() {
            1 => Ok(matches[0].rec.clone()),
            0 => Err(not_found()),
            _ => Err(EngineError::NotFound(format!(
                "network {name_or_id} is ambiguous ({} matches found based on ID prefix)",
                matches.len()
            ))),
        }
    }

    /// Container ids attached to the network now.
    pub fn users(&self, id: &str) -> Vec<String> {
        self.lock()
            .get(id)
            .map(|n| n.users.keys().cloned().collect())
            .unwrap_or_default()
    }

    pub async fn create(&self, req: CreateRequest) -> Result<NetworkRecord> {
        if req.name.is_empty() {
            return Err(EngineError::InvalidParameter(
                "network name cannot be empty".into(),
            ));
        }
        // The request's subnets, ranges, gateways and auxiliary addresses were checked as
        // moby's ValidateIPAM by `api::validate_create` (the route, before parsing); the
        // store's built-in names are refused here too, whoever calls.
        api::refuse_predefined(&req.name)?;
        if req.config_only {
            return self.create_config_only(req).await;
        }
        let mut req = req;
        if let Some(from) = req.config_from.clone() {
            let cfg = self.config_network(&from)?;
            config_from(&mut req, &cfg);
        }
        // Docker takes any other name (spaces included): it names no file or interface.
        let driver = if req.driver.is_empty() {
            "bridge".to_string()
        } else {
            req.driver.clone()
        };
        if driver != "bridge" && !vlan::is_vlan_driver(&driver) {
            return Err(EngineError::NotFound(format!(
                "plugin \"{driver}\" not found"
            )));
        }
        let id = new_id();
        let vlan_spec = vlan::is_vlan_driver(&driver)
            .then(|| vlan::spec(&driver, &id, &req.options))
            .transpose()?;
        if vlan_spec.is_none() {
            bridge_opts::check(&req.options)?;
        }
        let mtu = match req
            .options
            .get("com.docker.network.driver.mtu")
            .filter(|_| vlan_spec.is_none())
        {
            Some(v) => Some(v.parse::<u32>().map_err(|_| {
                EngineError::InvalidParameter(format!("invalid MTU value \"{v}\""))
            })?),
            None => None,
        };
        let bridge_name = if vlan_spec.is_some() {
            String::new()
        } else {
            req.options
                .get("com.docker.network.bridge.name")
                .cloned()
                .unwrap_or_else(|| format!("br-{}", &id[..12]))
        };
        if vlan_spec.is_none() {
            bridge::validate_name(&bridge_name).map_err(net_err)?;
        }
        let gateway = req
            .gateway
            .as_deref()
            .filter(|g| !g.is_empty())
            .map(ipam::parse_addr)
            .transpose()
            .map_err(net_err)?;
        let range: Option<Ipv4Net> = req
            .ip_range
            .as_deref()
            .filter(|r| !r.is_empty())
            .map(ipam::parse_subnet)
            .transpose()
            .map_err(net_err)?;
        let rec = {
            let mut nets = self.lock();
            if nets.values().any(|n| n.rec.name == req.name) {
                return Err(EngineError::Conflict(format!(
                    "network with name {} already exists",
                    req.name
                )));
            }
            if let Some(spec) = &vlan_spec {
                vlan::check_parent(&driver, spec, nets.values().map(|n| &n.rec))?;
            }
            if vlan_spec.is_none() && nets.values().any(|n| n.rec.bridge == bridge_name) {
                return Err(EngineError::Conflict(format!(
                    "bridge name {bridge_name} is already in use by another network"
                )));
            }
            // The configuration network may have gone meanwhile (its removal looks for
            // the networks made from it under this lock).
            if let Some(from) = &req.config_from {
                if !nets
                    .values()
                    .any(|n| n.rec.config_only && n.rec.name == *from)
                {
                    return Err(config_missing(from));
                }
            }
            let taken: Vec<Ipv4Net> = nets
                .values()
                .filter_map(|n| Some(n.pool.as_ref()?.subnet))
                .collect();
            let subnet = match req.subnet.as_deref().filter(|s| !s.is_empty()) {
                Some(s) => {
                    let net = ipam::parse_subnet(s).map_err(net_err)?;
                    if taken.iter().any(|t| ipam::overlaps(t, &net)) {
                        return Err(EngineError::Forbidden(
                            "invalid pool request: Pool overlaps with other one on this address space"
                                .into(),
                        ));
                    }
                    net
                }
                None => {
                    if gateway.is_some() || range.is_some() {
                        return Err(EngineError::InvalidParameter(
                            "gateway and ip-range need a subnet".into(),
                        ));
                    }
                    let mut avoid = taken.clone();
                    avoid.extend(self.plane.host_routes().into_iter().map(|(_, n)| n));
                    ipam::pick_from_pools(&self.pools, &avoid).ok_or_else(|| {
                        EngineError::Forbidden(
                            "all predefined address pools have been fully subnetted".into(),
                        )
                    })?
                }
            };
            let mut pool = Pool::new(subnet, gateway, range).map_err(net_err)?;
            let (subnet6, mut pool6) = ipv6::create_pool(
                &req.v6,
                req.enable_ipv6,
                &nets,
                &self.ula_seed,
                &*self.plane,
            )?;
            reserve_aux(&req.name, &req.aux, &mut pool, pool6.as_mut(), &req.aux6)?;
            let mut rec = NetworkRecord {
                id: id.clone(),
                name: req.name.clone(),
                created: Utc::now(),
                driver,
                subnet: pool.subnet.to_string(),
                gateway: pool.gateway.to_string(),
                gateway_implicit: gateway.is_none()
                    && req.subnet.as_deref().is_some_and(|s| !s.is_empty()),
                ip_range: pool.range.map(|r| r.to_string()),
                internal: req.internal,
                attachable: req.attachable,
                enable_ipv6: req.enable_ipv6,
                subnet6: None,
                gateway6: None,
                gateway6_implicit: false,
                ip_range6: None,
                subnet_auto: req.subnet.as_deref().is_none_or(str::is_empty),
                subnet6_auto: req.v6.subnet.as_deref().is_none_or(str::is_empty),
                aux_addresses: req.aux,
                aux_addresses6: req.aux6,
                labels: req.labels,
                options: req.options,
                ipam_options: req.ipam_options,
                bridge: bridge_name,
                mtu,
                scope: req.scope,
                ingress: false,
                parent: vlan_spec
                    .as_ref()
                    .map(|v| v.parent.clone())
                    .unwrap_or_default(),
                parent_created: false,
                config_only: false,
                config_from: req.config_from.clone().unwrap_or_default(),
            };
            ipv6::fill_record(&mut rec, &req.v6, subnet6, pool6.as_ref());
            // Reserved under the lock so a concurrent create sees the name and subnet.
            nets.insert(
                id.clone(),
                Net {
                    rec: rec.clone(),
                    pool: Some(pool),
                    users: HashMap::new(),
                    pool6,
                    users6: HashMap::new(),
                },
            );
            rec
        };
        let mut r = rec.clone();
        let path = self.dir.join(format!("{id}.json"));
        let plane = self.plane.clone();
        let spec = vlan_spec.clone();
        let made = blocking(move || {
            match &spec {
                Some(v) => {
                    r.parent_created = plane.ensure_parent(&v.parent, v.dummy).map_err(net_err)?
                }
                None => setup_bridge(&*plane, &r)?,
            }
            berth_api::atomic::write_json(&path, &r)
                .map_err(|e| EngineError::internal("cannot store network", e))?;
            Ok(r)
        })
        .await
        .and_then(|r| {
            self.apply_firewall()?;
            Ok(r)
        });
        let rec = match made {
            Ok(r) => {
                if let Some(n) = self.lock().get_mut(&id) {
                    n.rec = r.clone();
                }
                r
            }
            Err(e) => {
                self.lock().remove(&id);
                let b = rec.bridge.clone();
                let plane = self.plane.clone();
                if vlan_spec.is_none() {
                    let _ = blocking(move || plane.remove_bridge(&b).map_err(net_err)).await;
                }
                let _ = std::fs::remove_file(self.dir.join(format!("{id}.json")));
                let _ = self.apply_firewall();
                return Err(e);
            }
        };
        info!(network = %rec.name, subnet = %rec.subnet, bridge = %rec.bridge, parent = %rec.parent, "network created");
        Ok(rec)
    }

    /// `--config-only`: a record of the configuration as given (checked for form only,
    /// as libnetwork allocates nothing for it): no bridge, no pool, driver "null".
    async fn create_config_only(&self, req: CreateRequest) -> Result<NetworkRecord> {
        let given = |f: &Option<String>| f.clone().filter(|s| !s.is_empty());
        if let Some(g) = given(&req.gateway) {
            ipam::parse_addr(&g).map_err(net_err)?;
        }
        if let Some(r) = given(&req.ip_range) {
            ipam::parse_subnet(&r).map_err(net_err)?;
        }
        if let Some(s) = given(&req.subnet) {
            ipam::parse_subnet(&s).map_err(net_err)?;
        }
        if let Some(s) = given(&req.v6.subnet) {
            berth_net::ipam6::parse_subnet(&s).map_err(net_err)?;
        }
        if let Some(g) = given(&req.v6.gateway) {
            berth_net::ipam6::parse_addr(&g).map_err(net_err)?;
        }
        let id = new_id();
        let rec = NetworkRecord {
            subnet: given(&req.subnet).unwrap_or_default(),
            gateway: given(&req.gateway).unwrap_or_default(),
            ip_range: given(&req.ip_range),
            enable_ipv6: req.enable_ipv6,
            subnet6: given(&req.v6.subnet),
            gateway6: given(&req.v6.gateway),
            ip_range6: given(&req.v6.ip_range),
            aux_addresses: req.aux,
            aux_addresses6: req.aux6,
            labels: req.labels,
            options: req.options,
            ipam_options: req.ipam_options,
            config_only: true,
            ..NetworkRecord::new(id.clone(), req.name.clone(), "null")
        };
        {
            let mut nets = self.lock();
            if nets.values().any(|n| n.rec.name == req.name) {
                return Err(EngineError::Conflict(format!(
                    "network with name {} already exists",
                    req.name
                )));
            }
            nets.insert(
                id.clone(),
                Net {
                    rec: rec.clone(),
                    pool: None,
                    users: HashMap::new(),
                    pool6: None,
                    users6: HashMap::new(),
                },
            );
        }
        let path = self.dir.join(format!("{id}.json"));
        let r = rec.clone();
        let stored = blocking(move || {
            berth_api::atomic::write_json(&path, &r)
                .map_err(|e| EngineError::internal("cannot store network", e))
        })
        .await;
        if let Err(e) = stored {
            self.lock().remove(&id);
            return Err(e);
        }
        info!(network = %rec.name, "configuration-only network created");
        Ok(rec)
    }

    /// The configuration-only network of that name (moby looks them up by name only).
    fn config_network(&self, name: &str) -> Result<NetworkRecord> {
        self.lock()
            .values()
            .find(|n| n.rec.config_only && n.rec.name == name)
            .map(|n| n.rec.clone())
            .ok_or_else(|| config_missing(name))
    }

    /// Removes a network no container is attached to: its bridge, rules and record.
    pub async fn remove(
        &self,
        name_or_id: &str,
        names: &HashMap<String, String>,
    ) -> Result<NetworkRecord> {
        let rec = self.find(name_or_id)?;
        if mode::is_default(&rec) {
            return Err(EngineError::Forbidden(format!(
                "{} is a pre-defined network and cannot be removed",
                rec.name
            )));
        }
        {
            let mut nets = self.lock();
            let Some(n) = nets.get(&rec.id) else {
                return Err(EngineError::NotFound(format!(
                    "network {name_or_id} not found"
                )));
            };
            if n.rec.config_only && nets.values().any(|o| o.rec.config_from == n.rec.name) {
                return Err(EngineError::Forbidden(format!(
                    "error while removing network: configuration network \"{}\" is in use",
                    rec.name
                )));
            }
            if let Some(cid) = n.users.keys().next() {
                let name = names.get(cid).cloned().unwrap_or_default();
                return Err(EngineError::Forbidden(format!(
                    "error while removing network: network {} has active endpoints (name:\"{name}\" id:\"{}\")",
                    rec.name,
                    &cid[..12.min(cid.len())]
                )));
            }
            nets.remove(&rec.id);
        }
        // A parent made for macvlan/ipvlan networks goes with the last of them using it
        // (moby 28's parentHasSingleUser); one the admin made stays.
        let drop_parent =
            rec.parent_created && !self.lock().values().any(|n| n.rec.parent == rec.parent);
        let path = self.dir.join(format!("{}.json", rec.id));
        let (r, plane) = (rec.clone(), self.plane.clone());
        blocking(move || {
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(EngineError::internal("cannot remove network record", e))
                }
                _ => {}
            }
            if r.has_bridge() {
                plane.remove_bridge(&r.bridge).map_err(net_err)
            } else {
                if drop_parent {
                    if let Err(e) = plane.delete_host_link(&r.parent) {
                        warn!(parent = %r.parent, error = %e, "cannot delete the network's parent interface");
                    }
                }
                Ok(())
            }
        })
        .await?;
        self.apply_firewall()?;
        info!(network = %rec.name, "network removed");
        Ok(rec)
    }

    /// Daemon shutdown: when no container uses any network, berth's bridges and table go
    /// (records stay: the next start brings them back). Running containers keep theirs.
    pub fn shutdown(&self) {
        let nets = self.lock();
        if nets.values().any(|n| !n.users.is_empty()) {
            return;
        }
        for n in nets.values().filter(|n| n.rec.has_bridge()) {
            if let Err(e) = self.plane.remove_bridge(&n.rec.bridge) {
                warn!(bridge = %n.rec.bridge, error = %e, "cannot remove bridge");
            }
        }
        if let Err(e) = self.plane.remove_rules(&self.table) {
            warn!(error = %e, "cannot remove the nftables table");
        }
        if let Err(e) = self.plane.remove_forward_accept(&self.table) {
            warn!(error = %e, "cannot remove the iptables accept rules");
        }
    }

    /// Takes the endpoint's address on `net` (`--ip` if asked, else the pool's next; a
    /// previous lease of the container is released first) and describes its interface.
    /// `shown` names the network in the error if it vanished meanwhile.
    pub(super) fn lease(
        &self,
        container_id: &str,
        net: &NetworkRecord,
        ep: &EndpointRecord,
        ifname: &str,
        shown: &str,
        assigned: Option<Ipv4Addr>,
    ) -> Result<Endpoint> {
        if net.config_only {
            // libnetwork's CreateEndpoint on a configuration network (a 403; `run` and
            // `start` get it at start, `connect` of a running container at once).
            return Err(EngineError::Forbidden(
                "cannot create endpoint on configuration-only network".into(),
            ));
        }
        // Checked before anything is taken: an error leaves no lease behind.
        let link_local = link_local(&ep.link_local_ips)?;
        let sysctls = sysctls::parse(&ep.driver_opts)?;
        let vlan = vlan::spec_of(net);
        if let Some(v) = &vlan {
            if matches!(v.link, berth_net::netns::LinkKind::Ipvlan(..)) && ep.mac_request.is_some()
            {
                return Err(EngineError::InvalidParameter(
                    "ipvlan interfaces do not support custom mac address assignment".into(),
                ));
            }
        }
        let ip = {
            let mut nets = self.lock();
            let n = nets
                .get_mut(&net.id)
                .ok_or_else(|| EngineError::NotFound(format!("network {shown} not found")))?;
            let Some(pool) = n.pool.as_mut() else {
                return Err(EngineError::Forbidden(
                    "cannot create endpoint on configuration-only network".into(),
                ));
            };
            if let Some(old) = n.users.remove(container_id) {
                pool.release(old);
            }
            let requested = ep.ipv4_request.as_deref().filter(|s| !s.is_empty());
            let ip = match (requested, assigned) {
                (Some(s), _) => {
                    let ip = ipam::parse_addr(s).map_err(net_err)?;
                    pool.reserve(ip).map_err(net_err)?;
                    ip
                }
                (None, Some(ip)) => {
                    pool.reserve(ip).map_err(net_err)?;
                    ip
                }
                // The swarm hands out every address of its networks.
                (None, None) if n.rec.is_swarm() => {
                    return Err(EngineError::Internal(format!(
                        "network {shown}: no address from the swarm"
                    )))
                }
                (None, None) => pool.allocate().map_err(net_err)?,
            };
            let ip6 = match ipv6::lease(n, container_id, ep) {
                Ok(a) => a,
                Err(e) => {
                    if let Some(p) = n.pool.as_mut() {
                        p.release(ip);
                    }
                    return Err(e);
                }
            };
            n.users.insert(container_id.to_string(), ip);
            (ip, ip6)
        };
        let (ip, ip6) = ip;
        let prefix = net
            .subnet
            .parse::<Ipv4Net>()
            .map(|n| n.prefix_len())
            .unwrap_or(24);
        let gateway = net.container_gateway();
        // A macvlan/ipvlan network without parent reaches nothing: moby treats it as
        // internal (no default route).
        let routed = !net.internal && !vlan.as_ref().is_some_and(|v| v.dummy);
        let mut endpoint = Endpoint {
            host_veth: if vlan.is_some() {
                String::new()
            } else {
                veth_name(container_id, &net.id)
            },
            ifname: ifname.to_string(),
            bridge: vlan
                .as_ref()
                .map(|v| v.parent.clone())
                .unwrap_or_else(|| net.bridge.clone()),
            link: vlan.as_ref().map(|v| v.link).unwrap_or_default(),
            ip,
            prefix,
            gateway: routed.then_some(gateway),
            mtu: net.mtu,
            mac: ep
                .mac_request
                .as_deref()
                .and_then(mac_bytes)
                .unwrap_or_else(|| netns::mac_for(ip)),
            ip6: None,
            gateway6: None,
            link_local,
            sysctls,
        };
        ipv6::endpoint(net, ip6, &mut endpoint);
        if !routed {
            endpoint.gateway6 = None;
        }
        Ok(endpoint)
    }

    /// Drops a container's published ports; rewrites the rules if it had any.
    fn unpublish(&self, container_id: &str) {
        let had = self
            .published
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(container_id)
            .is_some();
        if had {
            if let Err(e) = self.apply_firewall() {
                warn!(error = %e, "cannot remove the published ports' rules");
            }
        }
    }

    fn release(&self, network_id: &str, container_id: &str) {
        let swarm = {
            let mut nets = self.lock();
            let Some(n) = nets.get_mut(network_id) else {
                return;
            };
            if let (Some(ip), Some(pool)) = (n.users.remove(container_id), n.pool.as_mut()) {
                pool.release(ip);
            }
            ipv6::release(n, container_id);
            n.rec.is_swarm()
        };
        if swarm {
            self.swarm_released(network_id, container_id);
        }
    }
}

/// libnetwork's answer to `--config-from` a network that is no configuration network.
fn config_missing(name: &str) -> EngineError {
    EngineError::NotFound(format!("configuration network \"{name}\" does not exist"))
}

/// A `--config-from` request takes the configuration network's IPAM configuration,
/// IPv6 setting, driver options and labels (libnetwork's `applyConfigurationTo`; the
/// request itself may carry none of them, `api::check_create`).
pub(crate) fn config_from(req: &mut CreateRequest, cfg: &NetworkRecord) {
    let given = |s: &str| Some(s.to_string()).filter(|s| !s.is_empty());
    req.subnet = given(&cfg.subnet);
    req.gateway = given(&cfg.gateway);
    req.ip_range = cfg.ip_range.clone();
    req.aux = cfg.aux_addresses.clone();
    req.enable_ipv6 = cfg.enable_ipv6;
    req.v6 = ipv6::Request6 {
        subnet: cfg.subnet6.clone(),
        gateway: cfg.gateway6.clone(),
        ip_range: cfg.ip_range6.clone(),
    };
    req.aux6 = cfg.aux_addresses6.clone();
    req.labels = cfg.labels.clone();
    req.options = cfg.options.clone();
    req.ipam_options = cfg.ipam_options.clone();
}

/// An endpoint's `--link-local-ip` addresses with their prefixes (/16 and /64, as
/// libnetwork), each checked to be link-local (moby's message).
fn link_local(ips: &[String]) -> Result<Vec<(std::net::IpAddr, u8)>> {
    ips.iter()
        .map(|s| {
            let ip: std::net::IpAddr = s.parse().map_err(|_| {
                EngineError::InvalidParameter(format!("invalid link local IP address: {s}"))
            })?;
            let (ok, prefix) = match ip {
                std::net::IpAddr::V4(v4) => (v4.is_link_local(), 16),
                std::net::IpAddr::V6(v6) => ((v6.segments()[0] & 0xffc0) == 0xfe80, 64),
            };
            if !ok {
                return Err(EngineError::InvalidParameter(format!(
                    "invalid link local IP address: {ip}"
                )));
            }
            Ok((ip, prefix))
        })
        .collect()
}

/// The firewall rules a network needs (its bridge, subnets, isolation, masquerade).
fn rules_of(rec: &NetworkRecord, userland_proxy: bool) -> firewall::NetRules {
    firewall::NetRules {
        bridge: rec.bridge.clone(),
        subnet: rec.subnet.clone(),
        subnet6: rec.subnet6.clone().filter(|_| rec.enable_ipv6),
        internal: rec.internal,
        masquerade: bridge_opts::masquerade(&rec.options),
        userland_proxy,
    }
}

fn pool_of(rec: &NetworkRecord) -> std::result::Result<Pool, NetError> {
    let subnet = ipam::parse_subnet(&rec.subnet)?;
    let gw = ipam::parse_addr(&rec.gateway)?;
    let range = rec
        .ip_range
        .as_deref()
        .map(ipam::parse_subnet)
        .transpose()?;
    Pool::new(subnet, Some(gw), range)
}

/// Reserves a network's `AuxiliaryAddresses` in its pools (libnetwork's
/// `ipamAllocateVersion`: each must lie in the pool's subnet and be free; the IPv6 ones
/// only when the network has an IPv6 pool), with moby's messages.
fn reserve_aux(
    network: &str,
    aux: &BTreeMap<String, String>,
    pool: &mut Pool,
    pool6: Option<&mut berth_net::ipam6::Pool>,
    aux6: &BTreeMap<String, String>,
) -> Result<()> {
    let unparsable = |k: &str, v: &str| {
        EngineError::InvalidParameter(format!(
            "non parsable secondary ip address ({k}:{v}) passed for network {network}"
        ))
    };
    let outside = |k: &str, v: &str, subnet: &dyn std::fmt::Display| {
        EngineError::Forbidden(format!(
            "auxiliary address: ({k}:{v}) must belong to the master pool: {subnet}"
        ))
    };
    let in_use = |k: &str, v: &str| {
        EngineError::Internal(format!(
            "failed to allocate secondary ip address ({k}:{v}): Address already in use"
        ))
    };
    for (k, v) in aux {
        let ip: Ipv4Addr = v.parse().map_err(|_| unparsable(k, v))?;
        if !pool.subnet.contains(&ip) {
            return Err(outside(k, v, &pool.subnet));
        }
        pool.reserve(ip).map_err(|_| in_use(k, v))?;
    }
    if let Some(p6) = pool6 {
        for (k, v) in aux6 {
            let ip: std::net::Ipv6Addr = v.parse().map_err(|_| unparsable(k, v))?;
            if !p6.subnet.contains(&ip) {
                return Err(outside(k, v, &p6.subnet));
            }
            p6.reserve(ip).map_err(|_| in_use(k, v))?;
        }
    }
    Ok(())
}

fn setup_bridge(plane: &dyn DataPlane, rec: &NetworkRecord) -> Result<()> {
    let gw: Ipv4Addr = rec
        .gateway
        .parse()
        .map_err(|_| EngineError::Internal(format!("bad gateway {}", rec.gateway)))?;
    let prefix = rec
        .subnet
        .parse::<Ipv4Net>()
        .map(|n| n.prefix_len())
        .map_err(|_| EngineError::Internal(format!("bad subnet {}", rec.subnet)))?;
    plane
        .ensure_bridge(&rec.bridge, gw, prefix, rec.mtu)
        .map_err(net_err)?;
    ipv6::setup_bridge(plane, rec)
}

/// moby 28's checks of an endpoint's static addresses against its network
/// (api/types/network/endpoint.go `IsInRange`/`validateEndpointIPAddress`, called from
/// daemon/container_operations.go `validateEndpointSettings`): an address needs a
/// user-configured subnet of its family (`IpamConf.IsStatic`; an IPv6 address on a network
/// without IPv6 has none) and must lie in it. The error is `invalid endpoint settings:\n`
/// and the Go multierror of every failure, as `network connect` answers it.
pub fn endpoint_address_check(
    net: &NetworkRecord,
    ep: &EndpointRecord,
) -> std::result::Result<(), String> {
    const NOT_STATIC: &str = "user specified IP address is supported only when connecting to networks with user configured subnets";
    let outside = |a: &str| format!("no configured subnet or ip-range contain the IP address {a}");
    let mut errs = Vec::new();
    if let Some(a) = ep.ipv4_request.as_deref().filter(|s| !s.is_empty()) {
        if net.subnet_auto || net.subnet.is_empty() {
            errs.push(NOT_STATIC.to_string());
        } else if let (Ok(ip), Ok(r)) = (a.parse::<Ipv4Addr>(), net.subnet.parse::<Ipv4Net>()) {
            // moby's IpamConf.Contains: the master pool, not the ip-range (an address
            // outside the range but inside the subnet is taken, as dockerd takes it).
            if !r.contains(&ip) {
                errs.push(outside(a));
            }
        }
    }
    if let Some(a) = ep.ipv6_request.as_deref().filter(|s| !s.is_empty()) {
        let subnet6 = net.subnet6.as_deref().filter(|_| net.enable_ipv6);
        match subnet6 {
            Some(_) if net.subnet6_auto => errs.push(NOT_STATIC.to_string()),
            None => errs.push(NOT_STATIC.to_string()),
            Some(s) => {
                if let (Ok(ip), Ok(r)) =
                    (a.parse::<std::net::Ipv6Addr>(), s.parse::<ipnet::Ipv6Net>())
                {
                    if !r.contains(&ip) {
                        errs.push(outside(a));
                    }
                }
            }
        }
    }
    if errs.is_empty() {
        return Ok(());
    }
    Err(format!(
        "invalid endpoint settings:\n{}",
        api::multierror_join(&errs)
    ))
}

fn new_id() -> String {
    let b: [u8; 32] = rand::random();
    hex::encode(b)
}

/// The host side's name: `vb` and a hash of container and network (15 bytes at most).
fn veth_name(container_id: &str, network_id: &str) -> String {
    use sha2::{Digest, Sha256};
    let h = Sha256::digest(format!("{container_id}/{network_id}"));
    format!("vb{}", &hex::encode(h)[..11])
}

/// The endpoints a create request asks for (`NetworkingConfig.EndpointsConfig`): aliases,
/// static and link-local addresses, MAC, driver options and links per network.
/// `config_mac`: the container-wide `Config.MacAddress` of clients below API 1.44, for the
/// mode's network.
pub fn endpoints_from_request(
    mode: &str,
    networking: Option<&berth_api::models::NetworkingConfig>,
    config_mac: Option<&str>,
) -> Result<BTreeMap<String, EndpointRecord>> {
    let mut out = BTreeMap::new();
    if let Some(cfg) = networking.map(|n| &n.endpoints_config) {
        for (name, ep) in cfg {
            let rec = endpoint_request(ep)?;
            if (rec.ipv4_request.is_some() || rec.ipv6_request.is_some()) && is_builtin_mode(name) {
                return Err(EngineError::InvalidParameter(
                    "user specified IP address is supported on user defined networks only".into(),
                ));
            }
            if !rec.aliases.is_empty() && is_builtin_mode(name) {
                return Err(EngineError::InvalidParameter(
                    "network-scoped alias is supported only for containers in user defined networks"
                        .into(),
                ));
            }
            // The default bridge's endpoint is kept only for what it asks for (a MAC,
            // link-local addresses, driver options); the other built-in modes have none.
            let asks = rec.mac_request.is_some()
                || !rec.link_local_ips.is_empty()
                || !rec.driver_opts.is_empty();
            if is_default_mode(name) && is_default_mode(mode) && asks {
                out.insert(DEFAULT_NETWORK.to_string(), rec);
                continue;
            }
            if is_builtin_mode(name) {
                continue;
            }
            out.insert(name.clone(), rec);
        }
    }
    if !is_builtin_mode(mode) && !out.contains_key(mode) {
        out.insert(mode.to_string(), EndpointRecord::default());
    }
    if let Some(mac) = config_mac.filter(|m| !m.is_empty()) {
        let key = if is_default_mode(mode) {
            DEFAULT_NETWORK
        } else {
            mode
        };
        // host, none and container: modes have no interface of their own to give it.
        if is_default_mode(mode) || !is_builtin_mode(mode) {
            let ep = out.entry(key.to_string()).or_default();
            if ep.mac_request.is_none() {
                ep.mac_request = Some(parse_mac(mac)?);
            }
        }
    }
    Ok(out)
}

/// What one `EndpointSettings` (of a create's `NetworkingConfig` or a connect) asks for,
/// checked with Docker's messages.
pub fn endpoint_request(ep: &berth_api::models::EndpointSettings) -> Result<EndpointRecord> {
    let aliases: Vec<String> = ep
        .aliases
        .iter()
        .flatten()
        .filter(|s| !s.is_empty())
        .cloned()
        .collect();
    let ip = ep.requested_ipv4().map(str::to_string);
    if let Some(ip) = &ip {
        if ip.parse::<Ipv4Addr>().is_err() {
            return Err(EngineError::InvalidParameter(format!(
                "invalid IPv4 address: {ip}"
            )));
        }
    }
    let ip6 = ipv6::requested_address(ep)?;
    let link_local_ips: Vec<String> = ep
        .ipam_config
        .as_ref()
        .and_then(|c| c.link_local_ips.clone())
        .unwrap_or_default()
        .into_iter()
        .filter(|s| !s.is_empty())
        .collect();
    for a in &link_local_ips {
        if a.parse::<std::net::IpAddr>().is_err() {
            return Err(EngineError::InvalidParameter(format!(
                "invalid link-local IP address: {a}"
            )));
        }
    }
    let mac_request = match ep.mac_address.trim() {
        "" => None,
        m => Some(parse_mac(m)?),
    };
    let driver_opts = ep.driver_opts.clone().unwrap_or_default();
    sysctls::parse(&driver_opts)?;
    Ok(EndpointRecord {
        aliases,
        ipv4_request: ip,
        ipv6_request: ip6,
        link_local_ips,
        driver_opts,
        mac_request,
        links: ep.links.clone().unwrap_or_default(),
        ..Default::default()
    })
}

/// A MAC address as Go's net.ParseMAC takes a 6-byte one, lower case; Docker's message.
pub fn parse_mac(s: &str) -> Result<String> {
    mac_bytes(s)
        .map(berth_net::netns::mac_string)
        .ok_or_else(|| EngineError::InvalidParameter(format!("invalid MAC address: {s}")))
}

/// The bytes of `aa:bb:cc:dd:ee:ff` (or with `-`).
pub fn mac_bytes(s: &str) -> Option<[u8; 6]> {
    let parts: Vec<&str> = s.trim().split([':', '-']).collect();
    if parts.len() != 6 {
        return None;
    }
    let mut out = [0u8; 6];
    for (o, p) in out.iter_mut().zip(&parts) {
        if p.len() != 2 {
            return None;
        }
        *o = u8::from_str_radix(p, 16).ok()?;
    }
    Some(out)
}
