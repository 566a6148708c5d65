//! A container's networks at start, exit and daemon start: `attach` makes its namespace with
//! one veth per network (the mode's network as eth0, then the networks connected while it
//! was stopped or given at create), leases their addresses, publishes its ports and serves
//! its embedded resolver; `detach` gives all of it back; `restore` takes a running
//! container's addresses, ports and resolver again after a daemon restart. `add_endpoint`
//! and `remove_endpoint` are one network's share (also `network connect`/`disconnect`).
//!
//! What an attach has taken is held by a `Rollback` until the attach succeeds: a failure
//! (or a cancelled start) at any step gives back every lease, port, resolver listener, veth
//! and the namespace, in one place.

use super::ports::{self, PortRequest};
use super::{dns, ipv6, mode, Networks, Published};
use crate::error::{net_err, EngineError, Result};
use crate::model::{ContainerRecord, EndpointRecord, NetworkRecord};
use crate::task::blocking;
use berth_net::netns;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use tracing::warn;

/// What attaching a container needs to know of it (not its whole record).
#[derive(Debug, Clone, Copy)]
pub struct Attachment<'a> {
    pub container_id: &'a str,
    /// Its name (without the slash): the embedded resolver answers to it.
    pub name: &'a str,
    /// `HostConfig.NetworkMode`.
    pub mode: &'a str,
    /// The ports it publishes (on its first network).
    pub ports: PortRequest<'a>,
    /// `--dns`: its resolver's upstream servers.
    pub dns_servers: &'a [String],
    /// Its labels (a swarm task's name its address on swarm networks).
    pub labels: &'a BTreeMap<String, String>,
    /// The user namespace that owns the network namespace made for it.
    pub netns_owner: &'a netns::NetnsOwner,
}

/// The network namespaces of containers without a user namespace of their own.
static HOST_OWNED: netns::NetnsOwner = netns::NetnsOwner::Host;

impl<'a> Attachment<'a> {
    pub fn of(rec: &'a ContainerRecord) -> Attachment<'a> {
        Attachment {
            container_id: &rec.id,
            name: &rec.name,
            mode: &rec.host_config.network_mode,
            ports: PortRequest {
                bindings: &rec.host_config.port_bindings,
                publish_all: rec.host_config.publish_all_ports,
                exposed: rec.config.exposed_ports.as_ref(),
            },
            dns_servers: &rec.host_config.dns,
            labels: rec.config.labels(),
            netns_owner: &HOST_OWNED,
        }
    }
}

/// What an attach made: the namespace (the spec joins it by path) and the endpoints.
#[derive(Debug)]
pub struct Attached {
    pub netns: Option<PathBuf>,
    pub endpoints: BTreeMap<String, EndpointRecord>,
}

/// The endpoint of `net` among a container's endpoints: by the key it was requested with
/// (a name or an id) or the network it is attached to.
pub fn endpoint_key(
    endpoints: &BTreeMap<String, EndpointRecord>,
    net: &NetworkRecord,
) -> Option<String> {
    endpoints
        .iter()
        .find(|(k, ep)| **k == net.name || **k == net.id || ep.network_id == net.id)
        .map(|(k, _)| k.clone())
}

/// The lowest `ethN` no attached endpoint uses (the first network's is eth0).
pub fn next_ifname(endpoints: &BTreeMap<String, EndpointRecord>) -> String {
    let used: Vec<&str> = endpoints
        .values()
        .filter(|e| !e.network_id.is_empty())
        .map(|e| {
            if e.ifname.is_empty() {
                "eth0"
            } else {
                e.ifname.as_str()
            }
        })
        .collect();
    (0..)
        .map(|n| format!("eth{n}"))
        .find(|n| !used.contains(&n.as_str()))
        .unwrap_or_else(|| "eth0".into())
}

/// What an attach (or one endpoint's add) has taken so far. Dropped before `commit`, it
/// gives all of it back: the resolver, the published ports, the addresses, the host veths
/// and the namespace it made.
struct Rollback<'n> {
    nets: &'n Networks,
    container_id: String,
    /// Networks (ids) on which an address was leased.
    leases: Vec<String>,
    veths: Vec<String>,
    netns: Option<PathBuf>,
    published: bool,
    resolver: bool,
    committed: bool,
}

impl<'n> Rollback<'n> {
    fn new(nets: &'n Networks, container_id: &str) -> Rollback<'n> {
        Rollback {
            nets,
            container_id: container_id.to_string(),
            leases: Vec::new(),
            veths: Vec::new(),
            netns: None,
            published: false,
            resolver: false,
            committed: false,
        }
    }

    /// The attach succeeded: what it took stays.
    fn commit(mut self) {
        self.committed = true;
    }
}

impl Drop for Rollback<'_> {
    fn drop(&mut self) {
        if self.committed {
            return;
        }
        let (nets, cid) = (self.nets, self.container_id.as_str());
        if self.resolver {
            nets.dns.remove(cid);
        }
        if self.published {
            nets.unpublish(cid);
        }
        for n in &self.leases {
            nets.release(n, cid);
        }
        // Links and the namespace synchronously: a failed start's caller may retry at once.
        for v in &self.veths {
            let _ = nets.plane.delete_host_link(v);
        }
        if let Some(p) = &self.netns {
            if let Err(e) = nets.plane.remove_netns(p) {
                warn!(id = %cid, error = %e, "cannot remove the namespace of a failed attach");
            }
        }
    }
}

impl Networks {
    /// Creates the container's namespace with its networks' interfaces: from the
    /// `requested` endpoints (its record's), the endpoints filled in. No namespace of ours
    /// for host, none, container: and the default mode without bridge or connected
    /// networks. On failure nothing is left.
    pub async fn attach(
        &self,
        a: &Attachment<'_>,
        requested: &BTreeMap<String, EndpointRecord>,
        dir: &Path,
    ) -> Result<Attached> {
        let mut eps = requested.clone();
        let mut undo = Rollback::new(self, a.container_id);
        let ns = match self.attach_target(a.mode) {
            Some(target) => {
                let ns = self
                    .attach_first(a, &target, &mut eps, dir, &mut undo)
                    .await?;
                self.attach_others(a, &mut eps, &ns, &mut undo).await?;
                Some(ns)
            }
            None => self.attach_builtin(a, &mut eps, dir, &mut undo).await?,
        };
        undo.commit();
        // The swarm services' VIPs it reaches (nothing off swarm networks).
        self.program_lb(a.container_id).await;
        Ok(Attached {
            netns: ns,
            endpoints: eps,
        })
    }

    /// The mode's own network as eth0, in a new namespace; its published ports; its
    /// resolver (user-defined networks only: Docker has none on the default bridge).
    async fn attach_first(
        &self,
        a: &Attachment<'_>,
        target: &str,
        endpoints: &mut BTreeMap<String, EndpointRecord>,
        dir: &Path,
        undo: &mut Rollback<'_>,
    ) -> Result<PathBuf> {
        let cid = a.container_id;
        let rec = self.find(target)?;
        // Cheap when all is there (a link lookup, one netlink request).
        self.restore_plumbing(&rec)?;
        let mut ep = endpoints
            .remove(&rec.name)
            .or_else(|| endpoints.remove(a.mode))
            .unwrap_or_default();
        let assigned = self
            .swarm_address(&rec, cid, a.labels, ep.ipv4_request.is_some())
            .await?;
        let endpoint = match self.lease(cid, &rec, &ep, "eth0", a.mode, assigned) {
            Ok(e) => e,
            Err(e) => {
                if assigned.is_some() {
                    self.swarm_released(&rec.id, cid);
                }
                return Err(e);
            }
        };
        undo.leases.push(rec.id.clone());
        let (ip, prefix, mac, ip6) = (endpoint.ip, endpoint.prefix, endpoint.mac, endpoint.ip6);
        let host_veth = endpoint.host_veth.clone();
        let path = netns::path_in(dir);
        let (p, hv, plane) = (path.clone(), host_veth.clone(), self.plane.clone());
        let owner = a.netns_owner.clone();
        blocking(move || {
            // A namespace left by a crash would make the create fail, and so would the veth
            // of this container's last run if its (background) deletion is not done yet.
            let _ = plane.remove_netns(&p);
            let _ = plane.delete_host_link(&hv);
            plane
                .create_netns(&p, vec![endpoint], owner)
                .map_err(net_err)
        })
        .await?;
        undo.netns = Some(path.clone());
        undo.veths.push(host_veth.clone());
        // The network's `host_binding_ipv4` replaces the daemon's `--ip` (checked at create).
        // (The default bridge's shows the daemon's own.)
        let binding =
            super::bridge_opts::host_binding(&rec.options)?.filter(|_| !mode::is_default(&rec));
        let port_cfg = match binding {
            Some(ip) => ports::PortConfig {
                default_ip: ip,
                ..self.port_cfg.clone()
            },
            None => self.port_cfg.clone(),
        };
        // Checked on every driver, as moby parses the bindings for any sandbox; but a
        // macvlan/ipvlan network programs no mapping (libnetwork's drivers ignore them):
        // no host port is taken, no rule written.
        let plan = ports::plan(&a.ports, &port_cfg)?;
        let vlan = super::vlan::is_vlan_driver(&rec.driver);
        let endpoint_id = super::new_id();
        let published = if vlan {
            Vec::new()
        } else {
            // Only for the wording of a collision: not looked up for a container that
            // publishes nothing (most of them).
            let held = if plan.is_empty() {
                Vec::new()
            } else {
                self.held_ports(cid)
            };
            ports::reserve(&plan, ip, &*self.plane, &held).map_err(|e| match e {
                // As moby 28 words a failed port mapping: the daemon's start wraps the
                // endpoint join's error, which wraps the driver's.
                EngineError::Internal(m) => EngineError::Internal(format!(
                    "failed to set up container networking: driver failed programming external connectivity on endpoint {} ({endpoint_id}): {m}",
                    a.name
                )),
                e => e,
            })?
        };
        ep.ports = published.iter().map(|(m, _)| m.clone()).collect();
        if !published.is_empty() {
            self.published
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(
                    cid.to_string(),
                    Published::new(ip, ip6.map(|(a, _)| a), published),
                );
            undo.published = true;
            self.apply_firewall()?;
        }
        if !mode::is_default(&rec) {
            let mut entry = dns::Entry::of(cid, a.name, &rec, ip, &ep.aliases);
            entry.ip6 = ip6.map(|(a, _)| a);
            undo.resolver = true;
            self.dns.add(cid, vec![entry], &path, a.dns_servers)?;
        }
        ep.network_id = rec.id.clone();
        ep.endpoint_id = endpoint_id;
        ep.ip = ip.to_string();
        ep.prefix = prefix;
        ep.gateway = rec.container_gateway().to_string();
        ep.mac = super::vlan::shown_mac(&rec, mac);
        ep.host_veth = host_veth;
        ep.no_port_mapping = vlan;
        ipv6::fill_endpoint(&mut ep, &rec, ip6);
        endpoints.insert(rec.name.clone(), ep);
        Ok(path)
    }

    /// After the first network: every other endpoint the container has (networks
    /// connected while it was stopped, or several given at create).
    async fn attach_others(
        &self,
        a: &Attachment<'_>,
        endpoints: &mut BTreeMap<String, EndpointRecord>,
        ns: &Path,
        undo: &mut Rollback<'_>,
    ) -> Result<()> {
        let pending: Vec<String> = endpoints
            .iter()
            .filter(|(_, ep)| ep.network_id.is_empty())
            .map(|(k, _)| k.clone())
            .collect();
        for key in pending {
            let net = self.find(&key)?;
            let Some(mut ep) = endpoints.remove(&key) else {
                continue;
            };
            let ifname = next_ifname(endpoints);
            // A resolver started for this endpoint is this attach's to give back.
            undo.resolver |= !self.dns.serving(a.container_id);
            self.add_endpoint(a, &net, &mut ep, ns, &ifname).await?;
            undo.leases.push(net.id.clone());
            undo.veths.push(ep.host_veth.clone());
            // Kept under the network's name, as the first endpoint.
            endpoints.insert(net.name.clone(), ep);
        }
        Ok(())
    }

    /// A container of a built-in mode (the default one) with connected networks gets its
    /// own namespace with those endpoints; other built-in modes need nothing here.
    async fn attach_builtin(
        &self,
        a: &Attachment<'_>,
        endpoints: &mut BTreeMap<String, EndpointRecord>,
        dir: &Path,
        undo: &mut Rollback<'_>,
    ) -> Result<Option<PathBuf>> {
        if !matches!(a.mode, "" | "default" | "bridge") || endpoints.is_empty() {
            return Ok(None);
        }
        let path = netns::path_in(dir);
        let (p, plane, owner) = (path.clone(), self.plane.clone(), a.netns_owner.clone());
        blocking(move || {
            let _ = plane.remove_netns(&p);
            plane.create_netns(&p, Vec::new(), owner).map_err(net_err)
        })
        .await?;
        undo.netns = Some(path.clone());
        self.attach_others(a, endpoints, &path, undo).await?;
        Ok(Some(path))
    }

    /// Adds an endpoint on `net` to the namespace at `ns` as `ifname`: an address from the
    /// pool (or `ep`'s requested one), the veth, and the container's names on `net` in the
    /// resolver. Fills in `ep`; on failure nothing is left.
    pub async fn add_endpoint(
        &self,
        a: &Attachment<'_>,
        net: &NetworkRecord,
        ep: &mut EndpointRecord,
        ns: &Path,
        ifname: &str,
    ) -> Result<()> {
        let cid = a.container_id;
        let assigned = self
            .swarm_address(net, cid, a.labels, ep.ipv4_request.is_some())
            .await?;
        let endpoint = match self.lease(cid, net, ep, ifname, &net.name, assigned) {
            Ok(e) => e,
            Err(e) => {
                if assigned.is_some() {
                    self.swarm_released(&net.id, cid);
                }
                return Err(e);
            }
        };
        let mut undo = Rollback::new(self, cid);
        undo.leases.push(net.id.clone());
        let (ip, prefix, mac, ip6) = (endpoint.ip, endpoint.prefix, endpoint.mac, endpoint.ip6);
        let host_veth = endpoint.host_veth.clone();
        let (p, hv, plane) = (ns.to_path_buf(), host_veth.clone(), self.plane.clone());
        blocking(move || {
            // A veth left by a crash would make the create fail.
            let _ = plane.delete_host_link(&hv);
            plane.add_endpoint(&p, endpoint).map_err(net_err)
        })
        .await?;
        undo.commit();
        let mut entry = dns::Entry::of(cid, a.name, net, ip, &ep.aliases);
        entry.ip6 = ip6.map(|(a, _)| a);
        if self.dns.serving(cid) {
            self.dns.add_entry(cid, entry);
        } else if let Err(e) = self.dns.add(cid, vec![entry], ns, a.dns_servers) {
            // The address works without names: not worth failing the connect for.
            warn!(id = %cid, error = %e, "cannot serve the embedded resolver");
        }
        ep.network_id = net.id.clone();
        ep.endpoint_id = super::new_id();
        ep.ip = ip.to_string();
        ep.prefix = prefix;
        ep.gateway = net.container_gateway().to_string();
        ep.mac = super::vlan::shown_mac(net, mac);
        ep.host_veth = host_veth;
        ep.no_port_mapping = super::vlan::is_vlan_driver(&net.driver);
        ep.ifname = ifname.to_string();
        ipv6::fill_endpoint(ep, net, ip6);
        self.program_lb(cid).await;
        Ok(())
    }

    /// Undoes `add_endpoint` for a running container (`network disconnect`): its names on
    /// the network, the address, the veth. (Its published ports move or go in
    /// `after_disconnect`.)
    pub async fn remove_endpoint(&self, container_id: &str, ep: &EndpointRecord, ns: &Path) {
        self.dns.remove_network(container_id, &ep.network_id);
        self.release(&ep.network_id, container_id);
        let hv = ep.host_veth.clone();
        if hv.is_empty() {
            // A macvlan/ipvlan link has no host side: it is deleted in the namespace.
            let vlan = self
                .lock()
                .get(&ep.network_id)
                .is_some_and(|n| !n.rec.has_bridge());
            if vlan {
                let ifname = if ep.ifname.is_empty() {
                    "eth0".to_string()
                } else {
                    ep.ifname.clone()
                };
                let (p, plane) = (ns.to_path_buf(), self.plane.clone());
                let _ = blocking(move || {
                    if let Err(e) = plane.delete_link_in(&p, &ifname) {
                        warn!(ifname = %ifname, error = %e, "cannot delete the interface");
                    }
                    Ok(())
                })
                .await;
            }
            return;
        }
        let plane = self.plane.clone();
        let _ = blocking(move || {
            if let Err(e) = plane.delete_host_link(&hv) {
                warn!(veth = %hv, error = %e, "cannot delete veth");
            }
            Ok(())
        })
        .await;
    }

    /// Undoes `attach` after the container's run: the resolver, the published ports, the
    /// addresses, the host veths (off the caller's path) and the namespace. The endpoints
    /// keep what was requested (aliases, addresses) for the next start.
    pub async fn detach(
        &self,
        container_id: &str,
        dir: &Path,
        endpoints: &mut BTreeMap<String, EndpointRecord>,
    ) {
        self.dns.remove(container_id);
        self.unpublish(container_id);
        let mut veths = Vec::new();
        for ep in endpoints.values_mut() {
            if ep.network_id.is_empty() {
                continue;
            }
            self.release(&ep.network_id, container_id);
            veths.push(std::mem::take(&mut ep.host_veth));
            let keep = EndpointRecord {
                aliases: std::mem::take(&mut ep.aliases),
                ipv4_request: ep.ipv4_request.take(),
                ipv6_request: ep.ipv6_request.take(),
                link_local_ips: std::mem::take(&mut ep.link_local_ips),
                driver_opts: std::mem::take(&mut ep.driver_opts),
                mac_request: ep.mac_request.take(),
                links: std::mem::take(&mut ep.links),
                ..Default::default()
            };
            *ep = keep;
        }
        let path = netns::path_in(dir);
        let had_ns = path.exists();
        if veths.is_empty() && !had_ns {
            return;
        }
        let plane = self.plane.clone();
        let _ = blocking(move || {
            veths.retain(|v| !v.is_empty());
            plane.delete_host_links_later(&veths);
            if let Err(e) = plane.remove_netns(&path) {
                warn!(error = %e, "cannot remove network namespace");
            }
            Ok(())
        })
        .await;
    }

    /// Daemon start: a running container's addresses are taken again, its resolver served
    /// again (the old daemon's listeners went with it), its ports bound again.
    pub fn restore(
        &self,
        a: &Attachment<'_>,
        endpoints: &BTreeMap<String, EndpointRecord>,
        dir: &Path,
    ) {
        let container_id = a.container_id;
        let mut published = None;
        let mut entries = Vec::new();
        {
            let mut nets = self.lock();
            for ep in endpoints.values() {
                let Some(n) = nets.get_mut(&ep.network_id) else {
                    continue;
                };
                if let Ok(ip) = ep.ip.parse::<Ipv4Addr>() {
                    if !mode::is_default(&n.rec) {
                        let mut entry =
                            dns::Entry::of(container_id, a.name, &n.rec, ip, &ep.aliases);
                        entry.ip6 = ep.ip6.parse().ok();
                        entries.push(entry);
                    }
                    ipv6::restore(n, container_id, ep);
                    if n.pool.as_mut().is_some_and(|p| p.reserve(ip).is_ok()) {
                        n.users.insert(container_id.to_string(), ip);
                    }
                    // (A record from before macvlan/ipvlan published nothing may hold
                    // ports there: they stay unbound.)
                    if !ep.ports.is_empty() && !super::vlan::is_vlan_driver(&n.rec.driver) {
                        published = Some((ip, ep.ip6.parse().ok(), ep.ports.clone()));
                    }
                }
            }
        }
        if !entries.is_empty() {
            let path = netns::path_in(dir);
            if let Err(e) = self.dns.add(container_id, entries, &path, a.dns_servers) {
                warn!(id = %container_id, error = %e, "cannot serve the embedded resolver again");
            }
        }
        // The published ports are bound again (exactly as recorded) and their rules
        // written back.
        if let Some((ip, ip6, mappings)) = published {
            let held = self.held_ports(container_id);
            match ports::reserve(&ports::exact_plan(&mappings), ip, &*self.plane, &held) {
                Ok(p) => {
                    self.published
                        .lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .insert(container_id.to_string(), Published::new(ip, ip6, p));
                    if let Err(e) = self.apply_firewall() {
                        warn!(error = %e, "cannot restore the published ports' rules");
                    }
                }
                Err(e) => warn!(id = %container_id, error = %e, "cannot publish the ports again"),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names_fill_gaps() {
        let mut eps = BTreeMap::new();
        assert_eq!(next_ifname(&eps), "eth0");
        eps.insert(
            "a".to_string(),
            EndpointRecord {
                network_id: "n1".into(),
                ..Default::default()
            },
        );
        assert_eq!(next_ifname(&eps), "eth1");
        eps.insert(
            "b".to_string(),
            EndpointRecord {
                network_id: "n2".into(),
                ifname: "eth2".into(),
                ..Default::default()
            },
        );
        // Requested but not attached: no interface yet.
        eps.insert("c".to_string(), EndpointRecord::default());
        assert_eq!(next_ifname(&eps), "eth1");
    }
}
