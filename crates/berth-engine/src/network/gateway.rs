//! What changes for a running container when its networks change (`network connect` /
//! `disconnect`), as Docker does it: the default route and the published ports move to a
//! remaining network when the one carrying them leaves, connected interfaces are numbered
//! on from the highest one given (never reused while the container runs), and a container
//! of the default bridge gets the embedded resolver in its resolv.conf once it joins a
//! user-defined network.
//!
//! The default route goes to a remaining non-internal network's gateway by network name
//! (libnetwork's endpoint order; berth-net `route.rs` learns from EEXIST whether another
//! default route is still there); the published ports follow (host ports stay reserved, the
//! DNAT target and the IPv6 proxies move); the IPv6 route moves the same way
//! (`ensure_default_route6`). The interface counter is keyed by container and init pid, so
//! a restart numbers from eth0 again, as Docker's new sandbox does.

use super::Networks;
use crate::error::net_err;
use crate::model::EndpointRecord;
use crate::task::blocking;
use std::collections::{BTreeMap, HashMap};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;
use std::sync::{LazyLock, Mutex};
use tracing::{info, warn};

/// Container id -> (its init's pid, the next `ethN` number). Keyed by pid too, so a
/// restarted container numbers from its endpoints again, as Docker's new sandbox does.
static NEXT_IF: LazyLock<Mutex<HashMap<String, (i64, u32)>>> = LazyLock::new(Mutex::default);

fn if_number(name: &str) -> Option<u32> {
    name.strip_prefix("eth")?.parse().ok()
}

/// The interface of a network connected to a running container: one above the highest
/// number this run has given (Docker: after eth1 is disconnected the next one is eth2).
pub fn connect_ifname(
    container_id: &str,
    pid: i64,
    endpoints: &BTreeMap<String, EndpointRecord>,
) -> String {
    let above_used = endpoints
        .values()
        .filter(|e| !e.network_id.is_empty())
        .map(|e| if_number(&e.ifname).unwrap_or(0) + 1)
        .max()
        .unwrap_or(0);
    let mut m = NEXT_IF.lock().unwrap_or_else(|e| e.into_inner());
    let slot = m.entry(container_id.to_string()).or_insert((pid, 0));
    if slot.0 != pid {
        *slot = (pid, 0);
    }
    let n = slot.1.max(above_used);
    slot.1 = n + 1;
    format!("eth{n}")
}

/// Forgets a removed container's numbering.
pub fn forget(container_id: &str) {
    NEXT_IF
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(container_id);
}

impl Networks {
    /// After `removed` left the running container whose namespace is `ns`: when it carried
    /// the default route, a remaining non-internal network's gateway takes it (by network
    /// name, as libnetwork orders a sandbox's endpoints), and its published ports follow.
    pub async fn after_disconnect(
        &self,
        container_id: &str,
        ns: &Path,
        removed: &EndpointRecord,
        endpoints: &mut BTreeMap<String, EndpointRecord>,
    ) {
        let mut candidates: Vec<(String, String, Ipv4Addr, Ipv4Addr)> = {
            let nets = self.lock();
            endpoints
                .iter()
                .filter(|(_, e)| !e.network_id.is_empty())
                .filter_map(|(k, e)| {
                    let n = nets.get(&e.network_id)?;
                    if n.rec.internal {
                        return None;
                    }
                    let gw = n.rec.container_gateway();
                    let ip = e.ip.parse().ok()?;
                    Some((n.rec.name.clone(), k.clone(), gw, ip))
                })
                .collect()
        };
        candidates.sort();
        let mut carrier = None;
        for (name, key, gw, ip) in candidates {
            let (p, plane) = (ns.to_path_buf(), self.plane.clone());
            match blocking(move || plane.ensure_default_route(&p, gw).map_err(net_err)).await {
                Ok(true) => {
                    info!(id = %container_id, network = %name, gateway = %gw, "default route moved");
                    carrier = Some((key, ip));
                    break;
                }
                // The removed network did not carry it.
                Ok(false) => break,
                Err(e) => {
                    warn!(id = %container_id, network = %name, error = %e, "cannot set the default route")
                }
            }
        }
        if !removed.gateway6.is_empty() {
            self.move_default_route6(container_id, ns, endpoints).await;
        }
        if removed.ports.is_empty() {
            return;
        }
        // A macvlan/ipvlan carrier takes no ports (its driver programs none): they go.
        match carrier
            .and_then(|(k, ip)| endpoints.get_mut(&k).map(|e| (e, ip)))
            .filter(|(e, _)| !e.no_port_mapping)
        {
            Some((ep, ip)) => {
                let moved = {
                    let mut p = self.published.lock().unwrap_or_else(|e| e.into_inner());
                    match p.get_mut(container_id) {
                        Some(p) => {
                            p.retarget(ip, ep.ip6.parse().ok());
                            true
                        }
                        None => false,
                    }
                };
                if moved {
                    ep.ports = removed.ports.clone();
                    if let Err(e) = self.apply_firewall() {
                        warn!(error = %e, "cannot move the published ports' rules");
                    }
                }
            }
            None => self.unpublish(container_id),
        }
    }

    /// The IPv6 default route, when the removed network carried one: the first remaining
    /// non-internal IPv6 network (by name) takes it.
    async fn move_default_route6(
        &self,
        container_id: &str,
        ns: &Path,
        endpoints: &BTreeMap<String, EndpointRecord>,
    ) {
        let mut candidates: Vec<(String, Ipv6Addr, String)> = {
            let nets = self.lock();
            endpoints
                .values()
                .filter_map(|e| {
                    let n = nets.get(&e.network_id)?;
                    if n.rec.internal || e.ip6.is_empty() {
                        return None;
                    }
                    let gw = e.gateway6.parse().ok()?;
                    let ifname = if e.ifname.is_empty() {
                        "eth0".to_string()
                    } else {
                        e.ifname.clone()
                    };
                    Some((n.rec.name.clone(), gw, ifname))
                })
                .collect()
        };
        candidates.sort();
        for (name, gw, ifname) in candidates {
            let (p, plane) = (ns.to_path_buf(), self.plane.clone());
            match blocking(move || {
                plane
                    .ensure_default_route6(&p, gw, &ifname)
                    .map_err(net_err)
            })
            .await
            {
                Ok(true) => {
                    info!(id = %container_id, network = %name, gateway = %gw, "IPv6 default route moved");
                    return;
                }
                Ok(false) => return,
                Err(e) => {
                    warn!(id = %container_id, network = %name, error = %e, "cannot set the IPv6 default route")
                }
            }
        }
    }

    /// `--link` aliases on a user-defined network: names only this container resolves.
    pub fn set_link_aliases(&self, container_id: &str, aliases: HashMap<String, String>) {
        if !aliases.is_empty() {
            self.dns.set_links(container_id, aliases);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ep(net: &str, ifname: &str) -> EndpointRecord {
        EndpointRecord {
            network_id: net.into(),
            ifname: ifname.into(),
            ..Default::default()
        }
    }

    #[test]
    fn connected_interfaces_count_up() {
        let id = "c0ffee-connect-ifname";
        let mut eps = BTreeMap::new();
        eps.insert("a".to_string(), ep("n1", ""));
        eps.insert("b".to_string(), ep("n2", "eth1"));
        assert_eq!(connect_ifname(id, 7, &eps), "eth2");
        // eth1 left: the next one is still eth3, not the freed eth1.
        eps.remove("b");
        assert_eq!(connect_ifname(id, 7, &eps), "eth3");
        // A new run numbers from its endpoints.
        assert_eq!(connect_ifname(id, 8, &eps), "eth1");
        forget(id);
    }
}
