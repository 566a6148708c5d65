//! daemon.json `fixed-cidr` / `--fixed-cidr` (the default bridge hands out addresses only
//! from this part of its subnet, inspect's `IPRange`) and `host-gateway-ip` /
//! `--host-gateway-ip` (the address `--add-host NAME:host-gateway` becomes).
//!
//! Without `bip` (and no bridge left by the last daemon) the fixed-cidr is the subnet
//! itself; one outside `bip`'s subnet stops the daemon. `host-gateway` resolves to
//! `host-gateway-ip` when set (for every container, as dockerd), else the host's address on
//! the container's user network (berth's choice: it is the host too and always reachable),
//! else the default bridge's gateway (dockerd's default, also for `--network none`), else
//! 172.17.0.1.

use super::config::BridgeConfig;
use crate::error::{EngineError, Result};
use ipnet::Ipv4Net;
use std::net::Ipv4Addr;

impl BridgeConfig {
    /// Adds the two settings as given (flag or daemon.json); errors are dockerd's words.
    pub fn with_fixed_cidr_and_host_gateway(
        mut self,
        fixed_cidr: Option<&str>,
        host_gateway_ip: Option<&str>,
    ) -> std::result::Result<BridgeConfig, String> {
        if let Some(s) = fixed_cidr.map(str::trim).filter(|s| !s.is_empty()) {
            let net: Ipv4Net = s
                .parse()
                .map_err(|_| format!("invalid fixed-cidr: invalid CIDR address: {s}"))?;
            if net.prefix_len() > 30 {
                return Err(format!("invalid fixed-cidr {s}: subnet too small"));
            }
            if let Some(bip) = self.bip {
                if !bip.trunc().contains(&net.trunc()) {
                    return Err(format!(
                        "invalid fixed-cidr {s}: not within the bip subnet {}",
                        bip.trunc()
                    ));
                }
            }
            self.fixed_cidr = Some(net.trunc());
        }
        if let Some(s) = host_gateway_ip.map(str::trim).filter(|s| !s.is_empty()) {
            let ip: Ipv4Addr = s
                .parse()
                .map_err(|_| format!("invalid host-gateway-ip: {s} is not an IPv4 address"))?;
            self.host_gateway_ip = Some(ip);
        }
        Ok(self)
    }
}

/// Without `bip` and without a bridge left by the last daemon, the default bridge's subnet
/// is the fixed-cidr itself (gateway: its first address), as dockerd does.
pub(super) fn own_subnet(
    cfg: &BridgeConfig,
    routes: &[(String, Ipv4Net)],
    bridge: &str,
) -> Option<(Ipv4Net, Ipv4Addr)> {
    let f = cfg.fixed_cidr?;
    if cfg.bip.is_some() || routes.iter().any(|(dev, _)| dev == bridge) {
        return None;
    }
    Some((f, Ipv4Addr::from(u32::from(f.network()) + 1)))
}

/// The pool's range: the fixed-cidr when it is a part of the subnet (None when it is the
/// whole subnet). A bridge kept from the last daemon outside the fixed-cidr is an error.
pub(super) fn range_in(cfg: &BridgeConfig, subnet: &Ipv4Net) -> Result<Option<Ipv4Net>> {
    let Some(f) = cfg.fixed_cidr else {
        return Ok(None);
    };
    if !subnet.contains(&f) {
        return Err(EngineError::InvalidParameter(format!(
            "fixed-cidr {f} is not within the default bridge's subnet {subnet}"
        )));
    }
    Ok((f != *subnet).then_some(f))
}

/// What `host-gateway` stands for in a container's /etc/hosts: daemon.json's
/// `host-gateway-ip` for every container; else the host's address on the container's user
/// network; else the default bridge's gateway (dockerd's default); else Docker's 172.17.0.1.
pub fn host_gateway(
    cfg: &BridgeConfig,
    user_gateway: Option<&str>,
    bridge_gw: Option<&str>,
) -> String {
    if let Some(ip) = cfg.host_gateway_ip {
        return ip.to_string();
    }
    user_gateway
        .or(bridge_gw)
        .unwrap_or("172.17.0.1")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(bip: Option<&str>, fixed: Option<&str>) -> std::result::Result<BridgeConfig, String> {
        BridgeConfig::parse(Some("bt-f"), bip, None, &[])?
            .with_fixed_cidr_and_host_gateway(fixed, None)
    }

    #[test]
    fn fixed_cidr_is_checked_and_becomes_the_range() {
        let c = cfg(Some("10.214.9.1/24"), Some("10.214.9.128/25")).unwrap();
        let sub: Ipv4Net = "10.214.9.0/24".parse().unwrap();
        assert_eq!(
            range_in(&c, &sub).unwrap(),
            Some("10.214.9.128/25".parse().unwrap())
        );
        assert!(own_subnet(&c, &[], "bt-f").is_none());
        assert!(cfg(Some("10.214.9.1/24"), Some("10.214.10.0/25")).is_err());
        assert!(cfg(None, Some("nope")).is_err());
        // No bip: the fixed-cidr is the subnet.
        let c = cfg(None, Some("10.214.9.64/26")).unwrap();
        let (s, gw) = own_subnet(&c, &[], "bt-f").unwrap();
        assert_eq!(
            (s.to_string(), gw.to_string()),
            ("10.214.9.64/26".into(), "10.214.9.65".into())
        );
        assert_eq!(range_in(&c, &s).unwrap(), None);
        // A kept bridge with another subnet: refused.
        let other: Ipv4Net = "10.214.8.0/24".parse().unwrap();
        assert!(own_subnet(&c, &[("bt-f".into(), other)], "bt-f").is_none());
        assert!(range_in(&c, &other).is_err());
    }

    #[test]
    fn host_gateway_order() {
        let c = cfg(None, None).unwrap();
        assert_eq!(
            host_gateway(&c, Some("10.1.0.1"), Some("10.2.0.1")),
            "10.1.0.1"
        );
        assert_eq!(host_gateway(&c, None, Some("10.2.0.1")), "10.2.0.1");
        assert_eq!(host_gateway(&c, None, None), "172.17.0.1");
        let c = c
            .with_fixed_cidr_and_host_gateway(None, Some("10.3.0.9"))
            .unwrap();
        assert_eq!(host_gateway(&c, Some("10.1.0.1"), None), "10.3.0.9");
        assert!(BridgeConfig::default()
            .with_fixed_cidr_and_host_gateway(None, Some("x"))
            .is_err());
    }
}
