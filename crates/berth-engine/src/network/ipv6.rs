//! IPv6 on bridge networks (`network create --ipv6`): the network's IPv6 subnet, gateway
//! and range (its own `--subnet`, else a /64 of the daemon's ULA /48 as moby 27+ picks
//! one), the containers' IPv6 addresses (`--ip6`, else the lowest free one), and the
//! bridge's gateway address. A network without `--ipv6` keeps a given IPv6 subnet in its
//! record (Docker lists it) but hands out no IPv6 addresses.
//!
//! The containers' IPv6 default route goes via the `DefaultGatewayIPv6` auxiliary address
//! when the network has one (moby's bridge driver, as for `DefaultGatewayIPv4`), and
//! inspect's `IPv6Gateway` shows it; the bridge keeps the network's own gateway address.
//!
//! Docker's errors: `invalid network config:\ninvalid subnet S: invalid CIDR block notation`
//! (or `it should be S'` with host bits), the overlap message shared with IPv4, and the
//! docker CLI's own `no matching subnet for gateway G`.
//!
//! The docker CLI pairs each `--gateway`/`--ip-range` with the subnet containing it.
//! Addresses are set with IFA_F_NODAD (usable at once, as Docker) with an IPv6 default
//! route via the gateway (none on internal networks); the bridge's own `disable_ipv6` is
//! cleared. The firewall writes an `ip6` table of the same name in the same batch
//! (isolation, internal drops, masquerade of non-internal subnets, moby 27); berth never
//! sets `net.ipv6.conf.all.forwarding` (Docker requires the admin to). The default bridge
//! gets IPv6 with `ipv6: true` and `fixed-cidr-v6`, else a ULA /64 keyed on the bridge
//! name. Inspect shows the IPv6 gateway only when given or chosen by the daemon
//! (`NetworkRecord::gateway6_implicit`). Limits: one IPv6 subnet per network; no ip6 DNAT
//! (v6 ports go through the proxy).

use super::state::Net;
use crate::error::{net_err, EngineError, Result};
use crate::model::{EndpointRecord, NetworkRecord};
use berth_net::ipam6::{self, Pool};
use berth_net::netns::Endpoint;
use berth_net::plane::DataPlane;
use ipnet::Ipv6Net;
use std::net::Ipv6Addr;

/// The IPv6 part of a create request.
#[derive(Debug, Default, Clone)]
pub struct Request6 {
    pub subnet: Option<String>,
    pub gateway: Option<String>,
    pub ip_range: Option<String>,
}

const OVERLAP: &str = "invalid pool request: Pool overlaps with other one on this address space";

/// The pool of a stored record (None: no IPv6 on it).
pub(super) fn pool_of(
    rec: &NetworkRecord,
) -> std::result::Result<Option<Pool>, berth_net::NetError> {
    let (true, Some(s)) = (rec.enable_ipv6, rec.subnet6.as_deref()) else {
        return Ok(None);
    };
    let subnet = ipam6::parse_subnet(s)?;
    let gw = rec.gateway6.as_deref().map(ipam6::parse_addr).transpose()?;
    let range = rec
        .ip_range6
        .as_deref()
        .map(ipam6::parse_subnet)
        .transpose()?;
    Pool::new(subnet, gw, range).map(Some)
}

/// The IPv6 subnets the networks hold (a configuration-only network holds none: its
/// subnet is for the networks made from it).
pub(super) fn taken_subnets(nets: &std::collections::HashMap<String, Net>) -> Vec<Ipv6Net> {
    nets.values()
        .filter(|n| !n.rec.config_only)
        .filter_map(|n| n.rec.subnet6.as_deref())
        .filter_map(|s| s.parse::<Ipv6Net>().ok())
        .collect()
}

/// Checks the request's IPv6 entry and picks the network's IPv6 pool (under the networks'
/// lock, so a concurrent create sees it). `seed` makes the daemon's ULA /48.
pub(super) fn create_pool(
    req: &Request6,
    enable: bool,
    nets: &std::collections::HashMap<String, Net>,
    seed: &[u8],
    plane: &dyn DataPlane,
) -> Result<(Option<String>, Option<Pool>)> {
    let subnet = match req.subnet.as_deref() {
        Some(s) => Some(ipam6::parse_subnet(s).map_err(net_err)?),
        None => None,
    };
    if !enable {
        // Docker keeps it in the network's IPAM config but does not use it.
        return Ok((subnet.map(|s| s.to_string()), None));
    }
    let gateway = req
        .gateway
        .as_deref()
        .map(|g| {
            g.parse::<Ipv6Addr>().map_err(|_| {
                EngineError::InvalidParameter(format!(
                    "invalid network config:\ninvalid gateway {g}: invalid address"
                ))
            })
        })
        .transpose()?;
    let range = req
        .ip_range
        .as_deref()
        .map(|r| {
            r.parse::<Ipv6Net>().map_err(|_| {
                EngineError::InvalidParameter(format!(
                    "invalid network config:\ninvalid ip-range {r}: invalid CIDR block notation"
                ))
            })
        })
        .transpose()?;
    let taken = taken_subnets(nets);
    let subnet = match subnet {
        Some(s) => {
            if taken.iter().any(|t| ipam6::overlaps(t, &s)) {
                return Err(EngineError::Forbidden(OVERLAP.into()));
            }
            s
        }
        None => {
            if gateway.is_some() || range.is_some() {
                return Err(EngineError::InvalidParameter(
                    "gateway and ip-range need a subnet".into(),
                ));
            }
            let mut avoid = taken;
            avoid.extend(plane.host_routes6());
            ipam6::pick_ula(seed, &avoid).ok_or_else(|| {
                EngineError::Forbidden(
                    "could not find an available, non-overlapping IPv6 address pool among the defaults to assign to the network".into(),
                )
            })?
        }
    };
    let pool = Pool::new(subnet, gateway, range).map_err(net_err)?;
    Ok((Some(pool.subnet.to_string()), Some(pool)))
}

/// Fills the record's IPv6 fields from its pool; `req`: what the client gave (a subnet
/// given without a gateway shows none in inspect, as Docker shows the pool as given).
pub(super) fn fill_record(
    rec: &mut NetworkRecord,
    req: &Request6,
    subnet: Option<String>,
    pool: Option<&Pool>,
) {
    rec.gateway6_implicit = req.subnet.is_some() && req.gateway.is_none();
    rec.subnet6 = subnet;
    if let Some(p) = pool {
        rec.gateway6 = Some(p.gateway.to_string());
        rec.ip_range6 = p.range.map(|r| r.to_string());
    }
}

/// Takes the endpoint's IPv6 address on an IPv6 network (`--ip6`, else the lowest free);
/// a previous lease of the container is released first. None on other networks.
pub(super) fn lease(
    n: &mut Net,
    container_id: &str,
    ep: &EndpointRecord,
) -> Result<Option<Ipv6Addr>> {
    release(n, container_id);
    let requested = ep.ipv6_request.as_deref().filter(|s| !s.is_empty());
    let Some(pool) = n.pool6.as_mut() else {
        if requested.is_some() {
            return Err(EngineError::InvalidParameter(
                "invalid endpoint settings:\nuser specified IP address is supported only when connecting to networks with user configured subnets".into(),
            ));
        }
        return Ok(None);
    };
    let ip = match requested {
        Some(s) => {
            let ip = ipam6::parse_addr(s).map_err(net_err)?;
            pool.reserve(ip).map_err(net_err)?;
            ip
        }
        None => pool.allocate().map_err(net_err)?,
    };
    n.users6.insert(container_id.to_string(), ip);
    Ok(Some(ip))
}

pub(super) fn release(n: &mut Net, container_id: &str) {
    if let Some(ip) = n.users6.remove(container_id) {
        if let Some(p) = n.pool6.as_mut() {
            p.release(ip);
        }
    }
}

/// Daemon start: a running container's recorded IPv6 address is taken again.
pub(super) fn restore(n: &mut Net, container_id: &str, ep: &EndpointRecord) {
    let (Some(pool), Ok(ip)) = (n.pool6.as_mut(), ep.ip6.parse::<Ipv6Addr>()) else {
        return;
    };
    if pool.reserve(ip).is_ok() {
        n.users6.insert(container_id.to_string(), ip);
    }
}

/// The interface's IPv6 part for the namespace code.
pub(super) fn endpoint(net: &NetworkRecord, ip: Option<Ipv6Addr>, ep: &mut Endpoint) {
    let Some(ip) = ip else { return };
    let prefix = net
        .subnet6
        .as_deref()
        .and_then(|s| s.parse::<Ipv6Net>().ok())
        .map_or(64, |n| n.prefix_len());
    ep.ip6 = Some((ip, prefix));
    ep.gateway6 = net
        .container_gateway6()
        .and_then(|g| g.parse().ok())
        .filter(|_| !net.internal);
}

/// Copies the attached interface's IPv6 address into the container's endpoint record.
pub(super) fn fill_endpoint(
    ep: &mut EndpointRecord,
    net: &NetworkRecord,
    made: Option<(Ipv6Addr, u8)>,
) {
    match made {
        Some((ip, prefix)) => {
            ep.ip6 = ip.to_string();
            ep.prefix6 = prefix;
            ep.gateway6 = net.container_gateway6().unwrap_or_default().to_string();
        }
        None => {
            ep.ip6.clear();
            ep.prefix6 = 0;
            ep.gateway6.clear();
        }
    }
}

/// The bridge's IPv6 gateway address, on an IPv6 network.
pub(super) fn setup_bridge(plane: &dyn DataPlane, rec: &NetworkRecord) -> Result<()> {
    let Ok(Some(pool)) = pool_of(rec) else {
        return Ok(());
    };
    plane
        .ensure_bridge_v6(&rec.bridge, pool.gateway, pool.subnet.prefix_len())
        .map_err(net_err)
}

/// `IPAMConfig.IPv6Address` of a create or connect request, checked.
pub fn requested_address(ep: &berth_api::models::EndpointSettings) -> Result<Option<String>> {
    let ip = ep.requested_ipv6().map(str::to_string);
    if let Some(ip) = &ip {
        if ip.parse::<Ipv6Addr>().is_err() {
            return Err(EngineError::InvalidParameter(format!(
                "invalid IPv6 address: {ip}"
            )));
        }
    }
    Ok(ip)
}

/// The IPv6 entry of the network's `IPAM.Config` in inspect.
pub(super) fn ipam_config(rec: &NetworkRecord) -> Option<berth_api::models::NetworkIpamConfig> {
    let s = rec.subnet6.as_ref()?;
    Some(berth_api::models::NetworkIpamConfig {
        subnet: Some(s.clone()),
        ip_range: rec.ip_range6.clone(),
        gateway: rec.gateway6.clone().filter(|_| !rec.gateway6_implicit),
        aux_addresses: (!rec.aux_addresses6.is_empty()).then(|| rec.aux_addresses6.clone()),
        ..Default::default()
    })
}
