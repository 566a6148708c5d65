//! The embedded resolver's IPv6 answers: AAAA records and reverse names under ip6.arpa.

use crate::dns::{Query, TYPE_AAAA};
use std::net::Ipv6Addr;

/// An answer with AAAA records for `ips` (none: an empty NOERROR answer).
pub fn answer_aaaa(pkt: &[u8], q: &Query, ips: &[Ipv6Addr], ttl: u32) -> Vec<u8> {
    let n = ips.len().min(u16::MAX as usize / 2);
    // An empty A answer has the same shape; its header carries the count.
    let mut out = crate::dns::answer_a(pkt, q, &[], ttl);
    out[6..8].copy_from_slice(&(n as u16).to_be_bytes());
    for ip in &ips[..n] {
        // The name is a pointer to the question's (offset 12).
        out.extend_from_slice(&[0xc0, 0x0c]);
        out.extend_from_slice(&TYPE_AAAA.to_be_bytes());
        out.extend_from_slice(&1u16.to_be_bytes());
        out.extend_from_slice(&ttl.to_be_bytes());
        out.extend_from_slice(&16u16.to_be_bytes());
        out.extend_from_slice(&ip.octets());
    }
    out
}

/// The address a reverse name (32 nibbles, lowest first, then `ip6.arpa`) asks about.
pub fn reverse_v6(name: &str) -> Option<Ipv6Addr> {
    let rest = name.strip_suffix(".ip6.arpa")?;
    let nibbles: Vec<u8> = rest
        .split('.')
        .map(|p| {
            (p.len() == 1)
                .then(|| u8::from_str_radix(p, 16).ok())
                .flatten()
        })
        .collect::<Option<_>>()?;
    if nibbles.len() != 32 {
        return None;
    }
    let v = nibbles
        .iter()
        .rev()
        .fold(0u128, |acc, n| (acc << 4) | u128::from(*n));
    Some(Ipv6Addr::from(v))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dns::parse_query;

    #[test]
    fn aaaa_and_reverse() {
        let mut p = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        p.push(3);
        p.extend_from_slice(b"web");
        p.push(0);
        p.extend_from_slice(&TYPE_AAAA.to_be_bytes());
        p.extend_from_slice(&1u16.to_be_bytes());
        let q = parse_query(&p).unwrap();
        let ip: Ipv6Addr = "fd42:be:1::2".parse().unwrap();
        let a = answer_aaaa(&p, &q, &[ip], 600);
        assert_eq!(u16::from_be_bytes([a[6], a[7]]), 1);
        assert_eq!(&a[a.len() - 16..], &ip.octets());
        assert_eq!(u16::from_be_bytes([a[a.len() - 18], a[a.len() - 17]]), 16);
        let empty = answer_aaaa(&p, &q, &[], 600);
        assert_eq!(u16::from_be_bytes([empty[6], empty[7]]), 0);
        assert_eq!(empty.len(), p.len());
        let name = "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.e.b.0.0.2.4.d.f.ip6.arpa";
        assert_eq!(reverse_v6(name), None, "too few nibbles");
        let name = "2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.e.b.0.0.0.0.0.0.2.4.d.f.ip6.arpa";
        assert_eq!(reverse_v6(name), Some("fd42:0:be:1::2".parse().unwrap()));
        assert_eq!(reverse_v6("4.3.2.1.in-addr.arpa"), None);
    }
}
