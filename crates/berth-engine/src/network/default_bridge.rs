//! The predefined `bridge` network, Docker's docker0: a Linux bridge (`berth0` by default,
//! so a dockerd on the same host never collides) made at daemon start, the network of
//! containers run without `--network`. No embedded resolver on it (containers get the
//! host's resolv.conf minus localhost servers, as on Docker's default bridge).
//!
//! Its subnet comes from daemon.json's `bip` (the gateway's address), else the subnet the
//! bridge already has (a daemon restart with containers still running), else the first
//! network of `default-address-pools` that no other network or host route uses — Docker's
//! rule. `bridge: "none"` turns it off; containers then default to `none`.

use super::{api, Net, NetworkRecord, Networks};
use crate::error::{EngineError, Result};
use berth_net::ipam::{self, AddressPool, Pool};
use chrono::Utc;
use ipnet::Ipv4Net;
use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;
use std::sync::atomic::{AtomicBool, Ordering};

/// The network's name, as Docker's.
pub const NAME: &str = "bridge";
/// The Linux bridge when daemon.json names none.
pub const DEFAULT_BRIDGE: &str = "berth0";
const DEFAULT_MTU: u32 = 1500;

/// daemon.json / flags: `bridge`, `bip`, `mtu`, `default-address-pools`.
#[derive(Debug, Clone)]
pub struct BridgeConfig {
    /// The Linux bridge of the default network; `None`: no default bridge network.
    pub bridge: Option<String>,
    /// The gateway's address with the subnet's prefix (`10.1.0.1/24`).
    pub bip: Option<Ipv4Net>,
    pub mtu: Option<u32>,
    /// Where networks without `--subnet` (and the default bridge without `bip`) come from;
    /// empty: Docker's defaults.
    pub pools: Vec<AddressPool>,
    /// daemon.json `ipv6` / `--ipv6`: IPv6 on the default bridge too.
    pub ipv6: bool,
    /// daemon.json `fixed-cidr-v6` / `--fixed-cidr-v6`: its IPv6 subnet (else a ULA /64).
    pub fixed_cidr_v6: Option<ipnet::Ipv6Net>,
    /// daemon.json `ip` and `userland-proxy` (published ports without host IP).
    pub ports: super::ports::PortConfig,
    /// `fixed-cidr`: the part of the subnet containers get addresses from.
    pub fixed_cidr: Option<Ipv4Net>,
    /// `host-gateway-ip`: what `--add-host NAME:host-gateway` stands for.
    pub host_gateway_ip: Option<Ipv4Addr>,
}

impl Default for BridgeConfig {
    fn default() -> Self {
        BridgeConfig {
            bridge: Some(DEFAULT_BRIDGE.into()),
            bip: None,
            mtu: None,
            pools: Vec::new(),
            ipv6: false,
            fixed_cidr_v6: None,
            ports: Default::default(),
            fixed_cidr: None,
            host_gateway_ip: None,
        }
    }
}

impl BridgeConfig {
    /// Checks the settings as given in daemon.json or as flags; errors are dockerd's words.
    pub fn parse(
        bridge: Option<&str>,
        bip: Option<&str>,
        mtu: Option<u32>,
        pools: &[(String, u8)],
    ) -> std::result::Result<BridgeConfig, String> {
        let bridge = match bridge.map(str::trim) {
            None | Some("") => Some(DEFAULT_BRIDGE.to_string()),
            Some("none") => None,
            Some(b) => {
                berth_net::bridge::validate_name(b).map_err(|e| format!("bridge: {e}"))?;
                Some(b.to_string())
            }
        };
        let bip = match bip.map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => {
                let net: Ipv4Net = s
                    .parse()
                    .map_err(|_| format!("invalid bip: invalid CIDR address: {s}"))?;
                if net.prefix_len() > 30 {
                    return Err(format!("invalid bip {s}: subnet too small"));
                }
                if net.addr() == net.network() || net.addr() == net.broadcast() {
                    return Err(format!(
                        "invalid bip {s}: the address is not a host address of the subnet"
                    ));
                }
                Some(net)
            }
        };
        if let Some(m) = mtu {
            if !(68..=65535).contains(&m) {
                return Err(format!("invalid MTU {m}: must be between 68 and 65535"));
            }
        }
        let pools = pools
            .iter()
            .map(|(base, size)| AddressPool::new(base, *size).map_err(|e| e.to_string()))
            .collect::<std::result::Result<Vec<_>, _>>()?;
        Ok(BridgeConfig {
            bridge,
            bip,
            mtu,
            pools,
            ipv6: false,
            fixed_cidr_v6: None,
            ports: Default::default(),
            fixed_cidr: None,
            host_gateway_ip: None,
        })
    }

    /// Adds `ipv6` and `fixed-cidr-v6`, checked with dockerd's words.
    pub fn with_ipv6(
        mut self,
        ipv6: bool,
        fixed_cidr_v6: Option<&str>,
    ) -> std::result::Result<BridgeConfig, String> {
        self.ipv6 = ipv6;
        self.fixed_cidr_v6 = match fixed_cidr_v6.map(str::trim).filter(|s| !s.is_empty()) {
            None => None,
            Some(s) => {
                let net = berth_net::ipam6::parse_subnet(s)
                    .map_err(|e| format!("invalid fixed-cidr-v6: {e}"))?;
                Some(net)
            }
        };
        Ok(self)
    }

    /// The pools networks are picked from.
    pub fn pools(&self) -> Vec<AddressPool> {
        if self.pools.is_empty() {
            ipam::default_address_pools()
        } else {
            self.pools.clone()
        }
    }
}

/// Whether this daemon has a default bridge network (for container inspect, which shows
/// `bridge` or `none` for a container without `--network`).
static ENABLED: AtomicBool = AtomicBool::new(false);

pub fn enabled() -> bool {
    ENABLED.load(Ordering::Relaxed)
}

/// The modes that mean "the default network" (`HostConfig.NetworkMode`).
pub fn is_default_mode(mode: &str) -> bool {
    matches!(mode, "" | "default" | NAME)
}

/// Whether a record is the default bridge network (no user network can be named so).
pub fn is_default(rec: &NetworkRecord) -> bool {
    rec.name == NAME
}

/// The default network's record and pool, or `None` when it is switched off. `nets` are
/// the user networks (their subnets are avoided).
pub(super) fn build(cfg: &BridgeConfig, nets: &HashMap<String, Net>) -> Result<Option<Net>> {
    ENABLED.store(cfg.bridge.is_some(), Ordering::Relaxed);
    let Some(bridge) = cfg.bridge.clone() else {
        return Ok(None);
    };
    let taken: Vec<(String, Ipv4Net)> = nets
        .values()
        .map(|n| (n.rec.name.clone(), n.pool.subnet))
        .collect();
    let routes = ipam::host_routes_by_dev();
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
                avoid.extend(berth_net::ipam6::host_routes());
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
        id: api::builtin_id(NAME),
        name: NAME.into(),
        created: Utc::now(),
        driver: "bridge".into(),
        subnet: pool.subnet.to_string(),
        gateway: pool.gateway.to_string(),
        ip_range: pool.range.map(|r| r.to_string()),
        internal: false,
        attachable: false,
        enable_ipv6: pool6.is_some(),
        subnet6: pool6.as_ref().map(|p| p.subnet.to_string()),
        gateway6: pool6.as_ref().map(|p| p.gateway.to_string()),
        ip_range6: None,
        labels: BTreeMap::new(),
        options,
        ipam_options: BTreeMap::new(),
        bridge,
        mtu: cfg.mtu,
    };
    Ok(Some(Net {
        rec,
        pool,
        users: HashMap::new(),
        pool6,
        users6: HashMap::new(),
    }))
}

impl Networks {
    /// The default bridge network, when the daemon has one.
    pub fn default_bridge(&self) -> Option<NetworkRecord> {
        self.lock()
            .values()
            .find(|n| is_default(&n.rec))
            .map(|n| n.rec.clone())
    }

    /// The network a container with this mode is attached to at start: the default bridge
    /// for the default modes (when there is one), the named network for the others, none
    /// for `none`, `host` and `container:`.
    pub(super) fn attach_target(&self, mode: &str) -> Option<String> {
        if is_default_mode(mode) {
            return self.default_bridge().map(|r| r.name);
        }
        (!super::is_builtin_mode(mode)).then(|| mode.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
        let net = build(&cfg, &HashMap::new()).unwrap().unwrap();
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
        let net = build(&v6, &HashMap::new()).unwrap().unwrap();
        assert!(net.rec.enable_ipv6);
        assert_eq!(net.rec.subnet6.as_deref(), Some("fd42:be:ff:1::/64"));
        assert_eq!(net.rec.gateway6.as_deref(), Some("fd42:be:ff:1::1"));
        let ula = cfg.clone().with_ipv6(true, None).unwrap();
        let net = build(&ula, &HashMap::new()).unwrap().unwrap();
        assert!(net
            .rec
            .subnet6
            .as_deref()
            .is_some_and(|s| s.starts_with("fd")));
        assert!(cfg.with_ipv6(true, Some("fd42::1/64")).is_err());
    }
}
