//! Several networks per container: the endpoints after the first one (`network connect` on
//! a running container, or at start for the networks connected while it was stopped), and
//! their removal (`network disconnect`). Each is one more veth into the container's
//! namespace (`ethN`), an address from that network's pool, and its names in the resolver.

use super::{dns, netns, Networks};
use crate::error::{net_err, EngineError, Result};
use crate::model::{ContainerRecord, EndpointRecord, NetworkRecord};
use crate::task::blocking;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tracing::warn;

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

impl Networks {
    /// Adds an endpoint on `net` to the namespace at `ns` as `ifname`: an address from the
    /// pool (or `ep`'s requested one), the veth, and the container's names on `net` in the
    /// resolver. Fills in `ep`; on failure nothing is left.
    pub async fn add_endpoint(
        &self,
        crec: &ContainerRecord,
        net: &NetworkRecord,
        ep: &mut EndpointRecord,
        ns: &Path,
        ifname: &str,
    ) -> Result<()> {
        let cid = crec.id.as_str();
        let assigned = self
            .swarm_address(net, cid, &crec.config.labels, ep.ipv4_request.is_some())
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
        let (ip, prefix, mac) = (endpoint.ip, endpoint.prefix, endpoint.mac);
        let ip6 = endpoint.ip6;
        let host_veth = endpoint.host_veth.clone();
        let p = ns.to_path_buf();
        let hv = host_veth.clone();
        let made = blocking(move || {
            // A veth left by a crash would make the create fail.
            let _ = netns::delete_host_link(&hv);
            netns::add_endpoint(&p, endpoint).map_err(net_err)
        })
        .await;
        if let Err(e) = made {
            self.release(&net.id, cid);
            return Err(e);
        }
        let mut entry = dns::Entry::of(cid, &crec.name, net, ip, &ep.aliases);
        entry.ip6 = ip6.map(|(a, _)| a);
        if self.dns.serving(cid) {
            self.dns.add_entry(cid, entry);
        } else if let Err(e) = self.dns.add(cid, vec![entry], ns, &crec.host_config.dns) {
            // The address works without names: not worth failing the connect for.
            warn!(id = %cid, error = %e, "cannot serve the embedded resolver");
        }
        ep.network_id = net.id.clone();
        ep.endpoint_id = super::new_id();
        ep.ip = ip.to_string();
        ep.prefix = prefix;
        ep.gateway = net.gateway.clone();
        ep.mac = netns::mac_string(mac);
        ep.host_veth = host_veth;
        ep.ifname = ifname.to_string();
        super::ipv6::fill_endpoint(ep, net, ip6);
        self.program_lb(cid).await;
        Ok(())
    }

    /// Undoes `add_endpoint` for a running container (`network disconnect`): its names on
    /// the network, the address, the veth. (Its published ports move or go in
    /// `after_disconnect`.)
    pub async fn remove_endpoint(&self, container_id: &str, ep: &EndpointRecord) {
        self.dns.remove_network(container_id, &ep.network_id);
        self.release(&ep.network_id, container_id);
        let hv = ep.host_veth.clone();
        if hv.is_empty() {
            return;
        }
        let _ = blocking(move || {
            if let Err(e) = netns::delete_host_link(&hv) {
                warn!(veth = %hv, error = %e, "cannot delete veth");
            }
            Ok(())
        })
        .await;
    }

    /// At start, after the first network: every other endpoint the container has
    /// (networks connected while it was stopped, or several given at create).
    pub(super) async fn attach_others(&self, crec: &mut ContainerRecord, ns: &Path) -> Result<()> {
        let pending: Vec<String> = crec
            .endpoints
            .iter()
            .filter(|(_, ep)| ep.network_id.is_empty())
            .map(|(k, _)| k.clone())
            .collect();
        for key in pending {
            let net = self.find(&key)?;
            let Some(mut ep) = crec.endpoints.remove(&key) else {
                continue;
            };
            let ifname = next_ifname(&crec.endpoints);
            let r = self.add_endpoint(crec, &net, &mut ep, ns, &ifname).await;
            // Kept under the network's name, as the first endpoint; on failure the
            // request stays for the next start.
            crec.endpoints.insert(net.name.clone(), ep);
            r?;
        }
        Ok(())
    }

    /// A container of a built-in mode (the default one) with connected networks gets its
    /// own namespace with those endpoints; other built-in modes need nothing here.
    pub(super) async fn attach_builtin(
        &self,
        crec: &mut ContainerRecord,
        dir: &Path,
    ) -> Result<Option<PathBuf>> {
        let mode = crec.host_config.network_mode.as_str();
        if !matches!(mode, "" | "default" | "bridge") || crec.endpoints.is_empty() {
            return Ok(None);
        }
        let path = netns::path_in(dir);
        let p = path.clone();
        blocking(move || {
            let _ = netns::remove(&p);
            netns::create(&p, Vec::new()).map_err(net_err)
        })
        .await?;
        self.attach_others(crec, &path).await?;
        if self.dns.serving(&crec.id) {
            super::dns::write_resolv_conf(
                dir,
                &crec.host_config.dns_search,
                &crec.host_config.dns_options,
            )
            .map_err(|e| EngineError::internal("cannot write resolv.conf", e))?;
        }
        Ok(Some(path))
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
