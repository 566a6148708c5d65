//! `network create`'s `--subnet`/`--ip-range`/`--gateway` lists into `IPAM.Config`, as the
//! docker CLI builds it: each range and gateway goes with the subnet that contains it (so
//! an IPv4 and an IPv6 subnet can be given in any order), with the docker CLI's errors.

use berth_api::models::NetworkIpamConfig;
use std::net::IpAddr;

/// `addr/prefix` (Go's net.ParseCIDR): the network and its prefix length.
fn parse_cidr(s: &str) -> Option<(IpAddr, u8)> {
    let (a, p) = s.split_once('/')?;
    let ip: IpAddr = a.parse().ok()?;
    let p: u8 = p.parse().ok()?;
    let max = if ip.is_ipv4() { 32 } else { 128 };
    (p <= max).then_some((ip, p))
}

fn bits(ip: IpAddr) -> (u128, u8) {
    match ip {
        IpAddr::V4(a) => (u128::from(u32::from(a)), 32),
        IpAddr::V6(a) => (u128::from(a), 128),
    }
}

fn contains(net: (IpAddr, u8), ip: IpAddr) -> bool {
    let ((n, nw), (i, iw)) = (bits(net.0), bits(ip));
    if nw != iw {
        return false;
    }
    let host = u32::from(nw - net.1);
    let mask = if host >= 128 { 0 } else { !0u128 << host };
    n & mask == i & mask
}

/// Whether `data` (an address or a CIDR) is inside `subnet`; errors as the docker CLI's.
fn subnet_matches(subnet: &str, data: &str) -> Result<bool, String> {
    let net = parse_cidr(subnet)
        .ok_or_else(|| format!("invalid subnet: invalid CIDR address: {subnet}"))?;
    let ip = if data.contains('/') {
        parse_cidr(data)
            .ok_or_else(|| format!("invalid cidr: invalid CIDR address: {data}"))?
            .0
    } else {
        match data.parse::<IpAddr>() {
            Ok(ip) => ip,
            Err(_) => return Ok(false),
        }
    };
    Ok(contains(net, ip))
}

pub fn ipam_config(
    subnets: &[String],
    ranges: &[String],
    gateways: &[String],
) -> Result<Vec<NetworkIpamConfig>, String> {
    if subnets.len() < ranges.len() || subnets.len() < gateways.len() {
        return Err("every ip-range or gateway must have a corresponding subnet".into());
    }
    for (i, s) in subnets.iter().enumerate() {
        for k in &subnets[..i] {
            if subnet_matches(s, k)? || subnet_matches(k, s)? {
                return Err("multiple overlapping subnet configuration is not supported".into());
            }
        }
    }
    let mut cfg: Vec<(String, String, String)> = subnets
        .iter()
        .map(|s| (s.clone(), String::new(), String::new()))
        .collect();
    for r in ranges {
        let mut matched = false;
        for c in cfg.iter_mut() {
            if !subnet_matches(&c.0, r)? {
                continue;
            }
            if !c.1.is_empty() {
                return Err(format!(
                    "cannot configure multiple ranges ({r}, {}) on the same subnet ({})",
                    c.1, c.0
                ));
            }
            c.1 = r.clone();
            matched = true;
        }
        if !matched {
            return Err(format!("no matching subnet for range {r}"));
        }
    }
    for g in gateways {
        let mut matched = false;
        for c in cfg.iter_mut() {
            if !subnet_matches(&c.0, g)? {
                continue;
            }
            if !c.2.is_empty() {
                return Err(format!(
                    "cannot configure multiple gateways ({g}, {}) for the same subnet ({})",
                    c.2, c.0
                ));
            }
            c.2 = g.clone();
            matched = true;
        }
        if !matched {
            return Err(format!("no matching subnet for gateway {g}"));
        }
    }
    Ok(cfg
        .into_iter()
        .map(|(s, r, g)| NetworkIpamConfig {
            subnet: Some(s),
            ip_range: Some(r),
            gateway: Some(g),
            ..Default::default()
        })
        .collect())
}

/// `--aux-address KEY=ADDR` (a map: a later KEY replaces an earlier one) into the
/// `AuxiliaryAddresses` of every subnet containing ADDR, with the docker CLI's error for
/// an address no subnet contains (an unparsable one included).
pub fn add_aux_addresses(
    cfg: &mut [NetworkIpamConfig],
    subnets: &[String],
    aux: &[String],
) -> Result<(), String> {
    let map: std::collections::BTreeMap<&str, &str> = aux
        .iter()
        .map(|a| a.split_once('=').unwrap_or((a.as_str(), "")))
        .collect();
    for (key, addr) in map {
        let mut matched = false;
        for (i, s) in subnets.iter().enumerate() {
            if !subnet_matches(s, addr)? {
                continue;
            }
            if let Some(c) = cfg.get_mut(i) {
                c.aux_addresses
                    .get_or_insert_with(Default::default)
                    .insert(key.to_string(), addr.to_string());
            }
            matched = true;
        }
        if !matched {
            return Err(format!("no matching subnet for aux-address {addr}"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    #[test]
    fn pairs_by_containment() {
        let c = ipam_config(
            &v(&["10.213.1.0/24", "fd42:be:1::/64"]),
            &[],
            &v(&["fd42:be:1::9", "10.213.1.9"]),
        )
        .unwrap();
        assert_eq!(c[0].gateway.as_deref(), Some("10.213.1.9"));
        assert_eq!(c[1].gateway.as_deref(), Some("fd42:be:1::9"));
        let e = ipam_config(&v(&["fd42:be:1::/64"]), &[], &v(&["fd42:be:2::1"])).unwrap_err();
        assert_eq!(e, "no matching subnet for gateway fd42:be:2::1");
        let e = ipam_config(&v(&["fd42:be:1::/64"]), &v(&["fd42:be:2::/80"]), &[]).unwrap_err();
        assert_eq!(e, "no matching subnet for range fd42:be:2::/80");
        let e = ipam_config(&v(&["fd42:be:1::/64", "fd42:be:1::/80"]), &[], &[]).unwrap_err();
        assert!(e.contains("overlapping"), "{e}");
        let e = ipam_config(&v(&["fd42:be:1::/64", "bogus"]), &[], &[]).unwrap_err();
        assert_eq!(e, "invalid subnet: invalid CIDR address: bogus");
        assert!(
            ipam_config(&v(&["bogus"]), &[], &[]).is_ok(),
            "left to the daemon"
        );
    }

    #[test]
    fn aux_addresses_go_with_their_subnet() {
        let subnets = v(&["10.213.1.0/24", "fd42:be:1::/64"]);
        let mut c = ipam_config(&subnets, &[], &[]).unwrap();
        add_aux_addresses(
            &mut c,
            &subnets,
            &v(&["a=10.213.1.5", "b=fd42:be:1::5", "a=10.213.1.6"]),
        )
        .unwrap();
        let aux = |i: usize| c[i].aux_addresses.clone().unwrap_or_default();
        assert_eq!(aux(0).get("a").map(String::as_str), Some("10.213.1.6"));
        assert_eq!(aux(1).get("b").map(String::as_str), Some("fd42:be:1::5"));
        assert_eq!(aux(0).len() + aux(1).len(), 2);
        let e = add_aux_addresses(&mut c, &subnets, &v(&["x=10.9.9.9"])).unwrap_err();
        assert_eq!(e, "no matching subnet for aux-address 10.9.9.9");
        let e = add_aux_addresses(&mut c, &subnets, &v(&["bad"])).unwrap_err();
        assert_eq!(e, "no matching subnet for aux-address ");
        let e = add_aux_addresses(&mut [], &[], &v(&["a=10.1.1.1"])).unwrap_err();
        assert_eq!(e, "no matching subnet for aux-address 10.1.1.1");
    }
}
