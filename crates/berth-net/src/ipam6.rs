//! IPv6 address management for a bridge network: the subnet (a /64 usually), its gateway,
//! an optional allocation range, the addresses in use, and the ULA pool that networks
//! without an IPv6 `--subnet` get theirs from (as moby 27+ does: a /48 of fd00::/8 whose
//! 40-bit global id comes from a hash, cut in /64s).

use crate::{NetError, Result};
use ipnet::Ipv6Net;
use sha2::{Digest, Sha256};
use std::collections::BTreeSet;
use std::net::Ipv6Addr;

/// Docker's words for a bad IPAM entry (`ValidateIPAM`), one problem per call.
fn invalid(what: String) -> NetError {
    NetError::Invalid(format!("invalid network config:\n{what}"))
}

/// An IPv6 `--subnet`: a CIDR without host bits.
pub fn parse_subnet(s: &str) -> Result<Ipv6Net> {
    let net: Ipv6Net = s
        .parse()
        .map_err(|_| invalid(format!("invalid subnet {s}: invalid CIDR block notation")))?;
    if net != net.trunc() {
        return Err(invalid(format!(
            "invalid subnet {s}: it should be {}",
            net.trunc()
        )));
    }
    if net.prefix_len() > 126 {
        return Err(NetError::Invalid(format!(
            "invalid subnet {s}: too small for a bridge network"
        )));
    }
    Ok(net)
}

pub fn parse_addr(s: &str) -> Result<Ipv6Addr> {
    s.parse()
        .map_err(|_| NetError::Invalid(format!("invalid IPv6 address: {s}")))
}

pub fn overlaps(a: &Ipv6Net, b: &Ipv6Net) -> bool {
    a.contains(&b.network()) || b.contains(&a.network())
}

/// The ULA /48 of a daemon: fd + 40 bits of a hash of `seed` (its data root).
pub fn ula_base(seed: &[u8]) -> Ipv6Net {
    let h = Sha256::digest(seed);
    let mut o = [0u8; 16];
    o[0] = 0xfd;
    o[1..6].copy_from_slice(&h[..5]);
    Ipv6Net::new(Ipv6Addr::from(o), 48).unwrap_or_default()
}

/// The first /64 of the daemon's ULA /48 that overlaps none of `taken`.
pub fn pick_ula(seed: &[u8], taken: &[Ipv6Net]) -> Option<Ipv6Net> {
    let base = ula_base(seed);
    base.subnets(64)
        .ok()?
        .take(65536)
        .find(|s| !taken.iter().any(|t| overlaps(s, t)))
}

/// The IPv6 routes of the host (all tables, from /proc/net/ipv6_route), without the
/// default route, link-local and multicast ones: a picked subnet must not shadow them
/// (the host's own fd00::/64, say).
pub fn host_routes() -> Vec<Ipv6Net> {
    let text = std::fs::read_to_string("/proc/net/ipv6_route").unwrap_or_default();
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            let dst = u128::from_str_radix(f.first()?, 16).ok()?;
            let prefix = u8::from_str_radix(f.get(1)?, 16).ok()?;
            if prefix == 0 {
                return None;
            }
            let net = Ipv6Net::new(Ipv6Addr::from(dst), prefix).ok()?;
            let a = net.network();
            (!a.is_multicast() && a.segments()[0] & 0xffc0 != 0xfe80).then_some(net)
        })
        .collect()
}

/// A network's IPv6 pool: subnet, gateway and range, with the addresses handed out.
#[derive(Debug, Clone)]
pub struct Pool {
    pub subnet: Ipv6Net,
    pub gateway: Ipv6Addr,
    pub range: Option<Ipv6Net>,
    used: BTreeSet<Ipv6Addr>,
}

impl Pool {
    /// Checks the gateway and range against the subnet, with Docker's messages.
    pub fn new(subnet: Ipv6Net, gateway: Option<Ipv6Addr>, range: Option<Ipv6Net>) -> Result<Pool> {
        let subnet = subnet.trunc();
        let gateway = match gateway {
            Some(g) if !subnet.contains(&g) => {
                return Err(invalid(format!(
                    "invalid gateway {g}: parent subnet {subnet} doesn't contain this address"
                )))
            }
            Some(g) => g,
            None => Ipv6Addr::from(u128::from(subnet.network()) + 1),
        };
        if let Some(r) = range {
            if r.prefix_len() < subnet.prefix_len() {
                return Err(invalid(format!(
                    "invalid ip-range {r}: CIDR block is bigger than its parent subnet {subnet}"
                )));
            }
            if r != r.trunc() {
                return Err(invalid(format!(
                    "invalid ip-range {r}: it should be {}",
                    r.trunc()
                )));
            }
            if !subnet.contains(&r.network()) {
                return Err(invalid(format!(
                    "invalid ip-range {r}: parent subnet {subnet} doesn't contain ip-range"
                )));
            }
        }
        Ok(Pool {
            subnet,
            gateway,
            range,
            used: BTreeSet::new(),
        })
    }

    /// Takes a specific address (`--ip6`, or one recorded before a restart).
    pub fn reserve(&mut self, ip: Ipv6Addr) -> Result<()> {
        if !self.subnet.contains(&ip) || ip == self.subnet.network() {
            return Err(NetError::Invalid(format!(
                "no configured subnet or ip-range contain the IP address {ip}"
            )));
        }
        if ip == self.gateway || !self.used.insert(ip) {
            return Err(NetError::Invalid("Address already in use".to_string()));
        }
        Ok(())
    }

    /// The lowest free address of the range (or subnet), as Docker hands them out: the
    /// subnet's first address (the subnet-router anycast) and the gateway are never given.
    pub fn allocate(&mut self) -> Result<Ipv6Addr> {
        let within = self.range.unwrap_or(self.subnet);
        let lo = u128::from(within.network()).max(u128::from(self.subnet.network()) + 1);
        let hi = u128::from(within.broadcast()).min(u128::from(self.subnet.broadcast()));
        // The used set is small: at most used.len() + 2 candidates are looked at.
        let mut n = lo;
        while n <= hi {
            let ip = Ipv6Addr::from(n);
            if ip != self.gateway && !self.used.contains(&ip) {
                self.used.insert(ip);
                return Ok(ip);
            }
            n += 1;
        }
        Err(NetError::Invalid(
            "no available IPv6 addresses on this network's address pools".into(),
        ))
    }

    pub fn release(&mut self, ip: Ipv6Addr) {
        self.used.remove(&ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocates_after_the_gateway() {
        let mut p = Pool::new(parse_subnet("fd42:be:1::/64").unwrap(), None, None).unwrap();
        assert_eq!(p.gateway.to_string(), "fd42:be:1::1");
        assert_eq!(p.allocate().unwrap().to_string(), "fd42:be:1::2");
        p.reserve("fd42:be:1::3".parse().unwrap()).unwrap();
        assert_eq!(p.allocate().unwrap().to_string(), "fd42:be:1::4");
        p.release("fd42:be:1::2".parse().unwrap());
        assert_eq!(p.allocate().unwrap().to_string(), "fd42:be:1::2");
        assert!(p.reserve("fd42:be:1::1".parse().unwrap()).is_err());
        assert!(p.reserve("fd42:be:2::1".parse().unwrap()).is_err());
        assert!(p.reserve("fd42:be:1::3".parse().unwrap()).is_err());
        let mut tiny = Pool::new(parse_subnet("fd42:be:1::/126").unwrap(), None, None).unwrap();
        assert_eq!(tiny.allocate().unwrap().to_string(), "fd42:be:1::2");
        assert_eq!(tiny.allocate().unwrap().to_string(), "fd42:be:1::3");
        assert!(tiny.allocate().is_err());
    }

    #[test]
    fn checks_with_dockers_words() {
        let s = parse_subnet("fd42:be:1::/64").unwrap();
        let e = Pool::new(s, Some("fd42:be:2::1".parse().unwrap()), None).unwrap_err();
        assert_eq!(
            e.to_string(),
            "invalid network config:\ninvalid gateway fd42:be:2::1: parent subnet fd42:be:1::/64 doesn't contain this address"
        );
        let e = Pool::new(s, None, Some("fd42:be:9::/80".parse().unwrap())).unwrap_err();
        assert!(e.to_string().contains("doesn't contain ip-range"), "{e}");
        let mut r = Pool::new(s, None, Some("fd42:be:1:0:8000::/65".parse().unwrap())).unwrap();
        assert_eq!(r.allocate().unwrap().to_string(), "fd42:be:1:0:8000::");
        assert_eq!(
            parse_subnet("fd42:be:7g::/64").unwrap_err().to_string(),
            "invalid network config:\ninvalid subnet fd42:be:7g::/64: invalid CIDR block notation"
        );
        assert!(parse_subnet("fd42:be:1::5/64")
            .unwrap_err()
            .to_string()
            .contains("it should be fd42:be:1::/64"));
    }

    #[test]
    fn ula_pool_is_stable_and_avoids_taken() {
        let a = ula_base(b"/tmp/a");
        assert_eq!(a, ula_base(b"/tmp/a"));
        assert_ne!(a, ula_base(b"/tmp/b"));
        assert_eq!(a.addr().segments()[0] >> 8, 0xfd);
        let first = pick_ula(b"/tmp/a", &[]).unwrap();
        assert_eq!(first.prefix_len(), 64);
        assert!(a.contains(&first));
        let second = pick_ula(b"/tmp/a", &[first]).unwrap();
        assert_ne!(first, second);
        assert!(overlaps(&a, &first) && !overlaps(&first, &second));
    }
}
