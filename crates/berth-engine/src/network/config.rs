//! The daemon's network settings (daemon.json `bridge`, `bip`, `mtu`,
//! `default-address-pools`, `ipv6`, `fixed-cidr-v6`, `ip`, `userland-proxy`; `fixed-cidr`
//! and `host-gateway-ip` are added in `fixed_cidr.rs`), checked with dockerd's words.

use super::ports::PortConfig;
use berth_net::ipam::{self, AddressPool};
use ipnet::Ipv4Net;
use std::net::Ipv4Addr;

/// The Linux bridge when daemon.json names none.
pub const DEFAULT_BRIDGE: &str = "berth0";

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
    pub ports: PortConfig,
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
