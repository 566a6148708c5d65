//! IPv4 address management for a bridge network: the subnet, its gateway, an optional
//! allocation range, and the addresses in use.
//!
//! Without `--gateway` the gateway is the pool's first free address, inside the
//! `--ip-range` when there is one (moby requests it from the sub-pool); /31 and /32 subnets
//! reserve no network or broadcast address (moby 26+, RFC 3021). Inspect's `IPAM.Config`
//! shows `Gateway` only when given or when the daemon chose the subnet (berth-engine
//! `NetworkRecord::gateway_implicit`).

use crate::{NetError, Result};
use ipnet::Ipv4Net;
use std::collections::BTreeSet;
use std::net::Ipv4Addr;

/// Docker's default address pools for local networks, in its order.
pub fn default_pools() -> Vec<Ipv4Net> {
    let mut v = Vec::new();
    for second in 17..=31u8 {
        v.push(Ipv4Net::new(Ipv4Addr::new(172, second, 0, 0), 16).unwrap_or_default());
    }
    for third in (0..=240u8).step_by(16) {
        v.push(Ipv4Net::new(Ipv4Addr::new(192, 168, third, 0), 20).unwrap_or_default());
    }
    v
}

/// One entry of daemon.json's `default-address-pools`: networks of prefix `size` are cut
/// out of `base`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AddressPool {
    pub base: Ipv4Net,
    pub size: u8,
}

impl AddressPool {
    /// Checks the pair as dockerd does (the size cannot be shorter than the base's prefix).
    pub fn new(base: &str, size: u8) -> Result<AddressPool> {
        let base: Ipv4Net = base
            .parse()
            .map_err(|_| NetError::Invalid(format!("invalid base pool \"{base}\"")))?;
        if size < base.prefix_len() || size > 30 {
            return Err(NetError::Invalid(format!(
                "invalid pools configuration: size {size} is not valid for base pool {base}"
            )));
        }
        Ok(AddressPool {
            base: base.trunc(),
            size,
        })
    }
}

/// Docker's default `default-address-pools`: 172.17-31.0.0/16 whole, then /20s of
/// 192.168.0.0/16.
pub fn default_address_pools() -> Vec<AddressPool> {
    let mut v: Vec<AddressPool> = default_pools()
        .into_iter()
        .filter(|n| n.prefix_len() == 16)
        .map(|base| AddressPool { base, size: 16 })
        .collect();
    v.push(AddressPool {
        base: Ipv4Net::new(Ipv4Addr::new(192, 168, 0, 0), 16).unwrap_or_default(),
        size: 20,
    });
    v
}

/// The first network of the pools (in order) that overlaps none of `taken`.
pub fn pick_from_pools(pools: &[AddressPool], taken: &[Ipv4Net]) -> Option<Ipv4Net> {
    pools.iter().find_map(|p| {
        p.base
            .subnets(p.size)
            .ok()?
            .find(|s| !taken.iter().any(|t| overlaps(s, t)))
    })
}

pub fn parse_subnet(s: &str) -> Result<Ipv4Net> {
    let net: Ipv4Net = s
        .parse()
        .map_err(|_| NetError::Invalid(format!("invalid CIDR address: {s}")))?;
    // /31 and /32 are accepted as moby 28's IPAM takes them: no network or broadcast
    // address is reserved there (RFC 3021), see [`Pool`].
    Ok(net)
}

pub fn parse_addr(s: &str) -> Result<Ipv4Addr> {
    s.parse()
        .map_err(|_| NetError::Invalid(format!("invalid address: {s}")))
}

pub fn overlaps(a: &Ipv4Net, b: &Ipv4Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// The first address of the pools that overlaps none of `taken`.
pub fn pick_subnet(pools: &[Ipv4Net], taken: &[Ipv4Net]) -> Option<Ipv4Net> {
    pools
        .iter()
        .find(|p| !taken.iter().any(|t| overlaps(p, t)))
        .copied()
}

/// The IPv4 routes of the host's main table (destination networks), from /proc/net/route:
/// Docker does not pick a default subnet that the host already routes.
pub fn host_routes() -> Vec<Ipv4Net> {
    host_routes_by_dev().into_iter().map(|(_, n)| n).collect()
}

/// As [`host_routes`], with the device of each route.
pub fn host_routes_by_dev() -> Vec<(String, Ipv4Net)> {
    let text = std::fs::read_to_string("/proc/net/route").unwrap_or_default();
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let dst = u32::from_str_radix(f.get(1)?, 16).ok()?;
            let mask = u32::from_str_radix(f.get(7)?, 16).ok()?;
            if mask == 0 {
                return None; // the default route overlaps everything
            }
            let dst = Ipv4Addr::from(u32::from_be(dst));
            let prefix = u32::from_be(mask).leading_ones() as u8;
            Some((f.first()?.to_string(), Ipv4Net::new(dst, prefix).ok()?))
        })
        .collect()
}

/// A network's pool: subnet, gateway and range, with the addresses handed out.
#[derive(Debug, Clone)]
pub struct Pool {
    pub subnet: Ipv4Net,
    pub gateway: Ipv4Addr,
    pub range: Option<Ipv4Net>,
    used: BTreeSet<Ipv4Addr>,
}

impl Pool {
    /// Checks the gateway and range against the subnet, as Docker does. Without a
    /// gateway the pool's first free address is it: the range's first when there is a
    /// range (libnetwork requests the gateway from the sub-pool), else the subnet's.
    pub fn new(subnet: Ipv4Net, gateway: Option<Ipv4Addr>, range: Option<Ipv4Net>) -> Result<Pool> {
        let subnet = subnet.trunc();
        if let Some(r) = range {
            if !subnet.contains(&r.network()) || r.prefix_len() < subnet.prefix_len() {
                return Err(NetError::Invalid(format!(
                    "no matching subnet for range {r}"
                )));
            }
        }
        let range = range.map(|r| r.trunc());
        let mut pool = Pool {
            subnet,
            gateway: Ipv4Addr::UNSPECIFIED,
            range,
            used: BTreeSet::new(),
        };
        pool.gateway = match gateway {
            Some(g) => {
                if !subnet.contains(&g) {
                    return Err(NetError::Invalid(format!(
                        "no matching subnet for gateway {g}"
                    )));
                }
                g
            }
            None => pool.first_free().ok_or_else(|| {
                NetError::Invalid(
                    "failed to allocate gateway: No available addresses on this pool".into(),
                )
            })?,
        };
        Ok(pool)
    }

    /// Whether the subnet's first and last addresses are reserved (network and
    /// broadcast): not on a /31 point-to-point link or a /32, as moby's IPAM.
    fn reserves_ends(&self) -> bool {
        self.subnet.prefix_len() < 31
    }

    /// An address containers may get: in the subnet, not its network or broadcast one.
    fn usable(&self, ip: Ipv4Addr) -> bool {
        self.subnet.contains(&ip)
            && !(self.reserves_ends()
                && (ip == self.subnet.network() || ip == self.subnet.broadcast()))
    }

    /// The lowest usable address of the range (or subnet) that is neither the gateway nor
    /// taken.
    fn first_free(&self) -> Option<Ipv4Addr> {
        let within = self.range.unwrap_or(self.subnet);
        (u32::from(within.network())..=u32::from(within.broadcast()))
            .map(Ipv4Addr::from)
            .find(|ip| self.usable(*ip) && *ip != self.gateway && !self.used.contains(ip))
    }

    /// Takes a specific address (`--ip`, or one recorded before a restart).
    pub fn reserve(&mut self, ip: Ipv4Addr) -> Result<()> {
        if !self.usable(ip) {
            return Err(NetError::Invalid(format!(
                "no configured subnet or ip-range contain the IP address {ip}"
            )));
        }
        if ip == self.gateway || !self.used.insert(ip) {
            return Err(NetError::Invalid("Address already in use".to_string()));
        }
        Ok(())
    }

    /// The lowest free address of the range (or subnet).
    pub fn allocate(&mut self) -> Result<Ipv4Addr> {
        let ip = self.first_free().ok_or_else(|| {
            NetError::Invalid("no available IPv4 addresses on this network's address pools".into())
        })?;
        self.used.insert(ip);
        Ok(ip)
    }

    pub fn release(&mut self, ip: Ipv4Addr) {
        self.used.remove(&ip);
    }

    pub fn in_use(&self) -> usize {
        self.used.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocates_skipping_gateway_and_reserved() {
        let mut p = Pool::new(parse_subnet("10.213.5.0/29").unwrap(), None, None).unwrap();
        assert_eq!(p.gateway, Ipv4Addr::new(10, 213, 5, 1));
        p.reserve(Ipv4Addr::new(10, 213, 5, 3)).unwrap();
        assert_eq!(p.allocate().unwrap(), Ipv4Addr::new(10, 213, 5, 2));
        assert_eq!(p.allocate().unwrap(), Ipv4Addr::new(10, 213, 5, 4));
        assert_eq!(p.allocate().unwrap(), Ipv4Addr::new(10, 213, 5, 5));
        assert_eq!(p.allocate().unwrap(), Ipv4Addr::new(10, 213, 5, 6));
        assert!(p.allocate().is_err());
        p.release(Ipv4Addr::new(10, 213, 5, 4));
        assert_eq!(p.allocate().unwrap(), Ipv4Addr::new(10, 213, 5, 4));
        assert!(p.reserve(Ipv4Addr::new(10, 213, 5, 1)).is_err());
        assert!(p.reserve(Ipv4Addr::new(10, 213, 6, 1)).is_err());
    }

    #[test]
    fn range_and_gateway_checks() {
        let s = parse_subnet("10.213.0.0/16").unwrap();
        let mut p = Pool::new(s, None, Some("10.213.9.0/24".parse().unwrap())).unwrap();
        // The gateway is the range's first address, the containers' come after it.
        assert_eq!(p.gateway, Ipv4Addr::new(10, 213, 9, 0));
        assert_eq!(p.allocate().unwrap(), Ipv4Addr::new(10, 213, 9, 1));
        let mut p = Pool::new(
            parse_subnet("10.213.5.0/24").unwrap(),
            None,
            Some("10.213.5.128/25".parse().unwrap()),
        )
        .unwrap();
        assert_eq!(p.gateway, Ipv4Addr::new(10, 213, 5, 128));
        assert_eq!(p.allocate().unwrap(), Ipv4Addr::new(10, 213, 5, 129));
        assert!(Pool::new(s, Some(Ipv4Addr::new(10, 214, 0, 1)), None).is_err());
        assert!(Pool::new(s, None, Some("10.9.0.0/24".parse().unwrap())).is_err());
        assert!(parse_subnet("10.213.0.0/33").is_err());
    }

    #[test]
    fn point_to_point_and_single_address_subnets() {
        // A /31 reserves neither end: the gateway takes the first, a container the second.
        let mut p = Pool::new(parse_subnet("10.213.5.0/31").unwrap(), None, None).unwrap();
        assert_eq!(p.gateway, Ipv4Addr::new(10, 213, 5, 0));
        assert_eq!(p.allocate().unwrap(), Ipv4Addr::new(10, 213, 5, 1));
        assert!(p.allocate().is_err());
        // A /32: its one address is the gateway's; no container gets one.
        let mut p = Pool::new(parse_subnet("10.213.5.7/32").unwrap(), None, None).unwrap();
        assert_eq!(p.gateway, Ipv4Addr::new(10, 213, 5, 7));
        assert!(p.allocate().is_err());
        assert!(p.reserve(Ipv4Addr::new(10, 213, 5, 7)).is_err());
        assert!(parse_subnet("bogus").is_err());
    }

    #[test]
    fn pools_are_cut_by_size() {
        let p = [
            AddressPool::new("10.215.3.0/24", 26).unwrap(),
            AddressPool::new("10.216.0.0/16", 24).unwrap(),
        ];
        let taken = vec![parse_subnet("10.215.3.0/25").unwrap()];
        assert_eq!(
            pick_from_pools(&p, &taken).unwrap().to_string(),
            "10.215.3.128/26"
        );
        let taken = vec![parse_subnet("10.215.3.0/24").unwrap()];
        assert_eq!(
            pick_from_pools(&p, &taken).unwrap().to_string(),
            "10.216.0.0/24"
        );
        assert!(AddressPool::new("10.0.0.0/16", 8).is_err());
        assert!(AddressPool::new("bogus", 24).is_err());
        let d = default_address_pools();
        assert_eq!(d[0], AddressPool::new("172.17.0.0/16", 16).unwrap());
        let taken = vec![parse_subnet("172.16.0.0/12").unwrap()];
        assert_eq!(
            pick_from_pools(&d, &taken).unwrap().to_string(),
            "192.168.0.0/20"
        );
    }

    #[test]
    fn overlap_and_pick() {
        let a = parse_subnet("10.213.0.0/16").unwrap();
        let b = parse_subnet("10.213.4.0/24").unwrap();
        assert!(overlaps(&a, &b) && overlaps(&b, &a));
        assert!(!overlaps(&b, &parse_subnet("10.213.5.0/24").unwrap()));
        let pools = default_pools();
        let taken = vec![parse_subnet("172.16.0.0/12").unwrap()];
        assert_eq!(
            pick_subnet(&pools, &taken).unwrap().to_string(),
            "192.168.0.0/20"
        );
    }
}
