//! The predefined `bridge` network, Docker's docker0: a Linux bridge (`berth0` by default,
//! so a dockerd on the same host never collides) made at daemon start, the network of
//! containers run without `--network`. No embedded resolver on it (containers get the
//! host's resolv.conf minus localhost servers, as on Docker's default bridge).
//!
//! Its subnet comes from daemon.json's `bip` (the gateway's address), else the subnet the
//! bridge already has (a daemon restart with containers still running), else the first
//! network of `default-address-pools` that no other network or host route uses — Docker's
//! rule. `bridge: "none"` turns it off; containers then default to `none`. Its options are
//! Docker's: `com.docker.network.bridge.{default_bridge,enable_icc,enable_ip_masquerade,
//! host_binding_ipv4,name}` and `com.docker.network.driver.mtu`.
//!
//! The pools (daemon.json `default-address-pools` or `--default-address-pool base=,size=`;
//! Docker's defaults 172.17-31.0.0/16 and /20s of 192.168.0.0/16) also serve `network
//! create` without `--subnet`; `mtu` sets the interfaces' MTU. The network is held in
//! memory (not in `networks/`) with a stable id, so running containers' endpoints find it
//! after a restart. Containers on it are attached as on a user network (same netlink path,
//! `-p` works) and inspect fills the legacy top-level `IPAddress`, `Gateway`, `MacAddress`.
//! Unlike dockerd, `-b` and `--bip` may be given together (berth creates the named bridge;
//! dockerd only adopts an existing one).

use super::config::BridgeConfig;
use super::mode::DEFAULT_NETWORK as NAME;
use super::state::Net;
use crate::error::{EngineError, Result};
use crate::model::NetworkRecord;
use berth_net::ipam::{self, Pool};
use berth_net::plane::DataPlane;
use chrono::Utc;
use ipnet::Ipv4Net;
use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering};

const DEFAULT_MTU: u32 = 1500;

/// Whether this daemon has a default bridge network (for container inspect, which shows
/// `bridge` or `none` for a container without `--network`).
static ENABLED: AtomicBool = AtomicBool::new(false);

pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The default network's record and pool, or `None` when it is switched off. `nets` are
/// the user networks (their subnets are avoided).
pub(super) fn build(
    cfg: &BridgeConfig,
    nets: &HashMap<String, Net>,
    plane: &dyn DataPlane,
) -> Result<Option<Net>> {
    ENABLED.store(cfg.bridge.is_some(), Ordering::Relaxed);
    let Some(bridge) = cfg.bridge.clone() else {
        return Ok(None);
    };
    let taken: Vec<(String, Ipv4Net)> = nets
        .values()
        .filter_map(|n| Some((n.rec.name.clone(), n.pool.as_ref()?.subnet)))
        .collect();
    let routes = plane.host_routes();
    let (subnet, gateway) = if let Some(sub) = super::fixed_cidr::own_subnet(cfg, &routes, &bridge)
    {
        sub
    } else if let Some(bip) = cfg.bip {
        (bip.trunc(), bip.addr())
    } else if let Some((_, s)) = routes.iter().find(|(dev, _)| *dev == bridge) {
        // The bridge survived the last daemon (containers still running): keep its subnet.
        (*s, Ipv4Addr::from(u32::from(s.network()) + 1))
    } else {
        let mut avoid: Vec<Ipv4Net> = taken.iter().map(|(_, s)| *s).collect();
        avoid.extend(routes.iter().map(|(_, s)| *s));
        let s = ipam::pick_from_pools(&cfg.pools(), &avoid).ok_or_else(|| {
            EngineError::Forbidden(
                "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network".into(),
            )
        })?;
        (s, Ipv4Addr::from(u32::from(s.network()) + 1))
    };
    if let Some((name, _)) = taken.iter().find(|(_, s)| ipam::overlaps(s, &subnet)) {
        return Err(EngineError::Conflict(format!(
            "the default bridge's subnet {subnet} overlaps with network {name}"
        )));
    }
    let range = super::fixed_cidr::range_in(cfg, &subnet)?;
    let pool = Pool::new(subnet, Some(gateway), range)
        .map_err(|e| EngineError::InvalidParameter(e.to_string()))?;
    let pool6 = if cfg.ipv6 {
        let subnet6 = match cfg.fixed_cidr_v6 {
            Some(s) => s,
            None => {
                // A ULA /64 of a /48 that the bridge's name makes stable across restarts.
                let mut avoid = super::ipv6::taken_subnets(nets);
                avoid.extend(plane.host_routes6());
                berth_net::ipam6::pick_ula(bridge.as_bytes(), &avoid).ok_or_else(|| {
                    EngineError::Forbidden(
                        "could not find an available, non-overlapping IPv6 address pool among the defaults to assign to the network".into(),
                    )
                })?
            }
        };
        Some(
            berth_net::ipam6::Pool::new(subnet6, None, None)
                .map_err(|e| EngineError::InvalidParameter(e.to_string()))?,
        )
    } else {
        None
    };
    let mut options = BTreeMap::new();
    for (k, v) in [
        ("com.docker.network.bridge.default_bridge", "true"),
        ("com.docker.network.bridge.enable_icc", "true"),
        ("com.docker.network.bridge.enable_ip_masquerade", "true"),
        ("com.docker.network.bridge.host_binding_ipv4", "0.0.0.0"),
    ] {
        options.insert(k.to_string(), v.to_string());
    }
    options.insert("com.docker.network.bridge.name".into(), bridge.clone());
    options.insert(
        "com.docker.network.driver.mtu".into(),
        cfg.mtu.unwrap_or(DEFAULT_MTU).to_string(),
    );
    let rec = NetworkRecord {
        // Stable across daemon restarts: running containers' endpoints name it.
        id: super::mode::builtin_id(NAME),
        name: NAME.into(),
        created: Utc::now(),
        driver: "bridge".into(),
        subnet: pool.subnet.to_string(),
        gateway: pool.gateway.to_string(),
        gateway_implicit: false,
        ip_range: pool.range.map(|r| r.to_string()),
        internal: false,
        attachable: false,
        enable_ipv6: pool6.is_some(),
        subnet6: pool6.as_ref().map(|p| p.subnet.to_string()),
        gateway6: pool6.as_ref().map(|p| p.gateway.to_string()),
        gateway6_implicit: false,
        ip_range6: None,
        // Not user-given; a static address is refused here before this is read.
        subnet_auto: true,
        subnet6_auto: true,
        aux_addresses: Default::default(),
        aux_addresses6: Default::default(),
        labels: BTreeMap::new(),
        options,
        ipam_options: BTreeMap::new(),
        bridge,
        mtu: cfg.mtu,
        scope: String::new(),
        ingress: false,
        parent: String::new(),
        parent_created: false,
        config_only: false,
        config_from: String::new(),
    };
    Ok(Some(Net {
        rec,
        pool: Some(pool),
        users: HashMap::new(),
        pool6,
        users6: HashMap::new(),
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::network::config::DEFAULT_BRIDGE;
    use crate::network::mode::is_default;

    #[test]
    fn settings_are_checked() {
        let c = BridgeConfig::parse(
            Some("bt-x"),
            Some("10.214.3.1/24"),
            Some(1400),
            &[("10.215.3.0/24".into(), 26)],
        )
        .unwrap();
        assert_eq!(c.bridge.as_deref(), Some("bt-x"));
        assert_eq!(c.bip.unwrap().to_string(), "10.214.3.1/24");
        assert_eq!(c.pools().len(), 1);
        let off = BridgeConfig::parse(Some("none"), None, None, &[]).unwrap();
        assert!(off.bridge.is_none());
        let dflt = BridgeConfig::parse(None, None, None, &[]).unwrap();
        assert_eq!(dflt.bridge.as_deref(), Some(DEFAULT_BRIDGE));
        assert_eq!(dflt.pools(), ipam::default_address_pools());
        assert!(BridgeConfig::parse(None, Some("10.1.0.0/24"), None, &[]).is_err());
        assert!(BridgeConfig::parse(None, Some("nope"), None, &[]).is_err());
        assert!(BridgeConfig::parse(None, None, Some(10), &[]).is_err());
        assert!(BridgeConfig::parse(Some("a/b"), None, None, &[]).is_err());
        assert!(BridgeConfig::parse(None, None, None, &[("10.0.0.0/16".into(), 8)]).is_err());
    }

    #[test]
    fn bip_gives_subnet_and_gateway() {
        let cfg = BridgeConfig::parse(Some("bt-y"), Some("10.214.9.7/24"), None, &[]).unwrap();
        let net = build(&cfg, &HashMap::new(), &berth_net::plane::HostDataPlane)
            .unwrap()
            .unwrap();
        assert_eq!(net.rec.subnet, "10.214.9.0/24");
        assert_eq!(net.rec.gateway, "10.214.9.7");
        assert_eq!(net.rec.options["com.docker.network.bridge.name"], "bt-y");
        assert_eq!(net.rec.options["com.docker.network.driver.mtu"], "1500");
        assert!(is_default(&net.rec));
        assert!(!net.rec.enable_ipv6 && net.pool6.is_none());
        let v6 = cfg
            .clone()
            .with_ipv6(true, Some("fd42:be:ff:1::/64"))
            .unwrap();
        let net = build(&v6, &HashMap::new(), &berth_net::plane::HostDataPlane)
            .unwrap()
            .unwrap();
        assert!(net.rec.enable_ipv6);
        assert_eq!(net.rec.subnet6.as_deref(), Some("fd42:be:ff:1::/64"));
        assert_eq!(net.rec.gateway6.as_deref(), Some("fd42:be:ff:1::1"));
        let ula = cfg.clone().with_ipv6(true, None).unwrap();
        let net = build(&ula, &HashMap::new(), &berth_net::plane::HostDataPlane)
            .unwrap()
            .unwrap();
        assert!(net
            .rec
            .subnet6
            .as_deref()
            .is_some_and(|s| s.starts_with("fd")));
        assert!(cfg.with_ipv6(true, Some("fd42::1/64")).is_err());
    }
}
