//! The embedded resolver's wire format (RFC 1035, just what a stub resolver sends: one
//! question) and its listener sockets, bound on 127.0.0.11:53 inside a container's network
//! namespace.
//!
//! The sockets are created by a thread that has joined the namespace; a socket stays in the
//! namespace it was created in, so the daemon serves it from its own threads afterwards and
//! the container reaches 127.0.0.11 on its own loopback without any DNAT rule.

use crate::{NetError, Result};
use std::net::{Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::os::fd::OwnedFd;
use std::path::Path;

/// Docker's embedded resolver address.
pub const RESOLVER_IP: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 11);

pub const TYPE_A: u16 = 1;
pub const TYPE_PTR: u16 = 12;
pub const TYPE_AAAA: u16 = 28;

pub const RCODE_SERVFAIL: u16 = 2;
pub const RCODE_NXDOMAIN: u16 = 3;

/// The question of a query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    pub id: u16,
    pub flags: u16,
    /// Lower case, without the trailing dot.
    pub name: String,
    pub qtype: u16,
    pub qclass: u16,
    /// Where the question ends in the packet (the answer copies it).
    pub question_end: usize,
}

/// Parses a query with exactly one question; anything else is `None` (dropped, or
/// forwarded as is).
pub fn parse_query(pkt: &[u8]) -> Option<Query> {
    if pkt.len() < 12 {
        return None;
    }
    let id = u16::from_be_bytes([pkt[0], pkt[1]]);
    let flags = u16::from_be_bytes([pkt[2], pkt[3]]);
    let qdcount = u16::from_be_bytes([pkt[4], pkt[5]]);
    // A response, or not a standard query.
    if flags & 0x8000 != 0 || (flags >> 11) & 0xf != 0 || qdcount != 1 {
        return None;
    }
    let mut pos = 12;
    let mut labels: Vec<String> = Vec::new();
    loop {
        let len = *pkt.get(pos)? as usize;
        pos += 1;
        if len == 0 {
            break;
        }
        // Compression pointers have no place in a question we parse.
        if len > 63 {
            return None;
        }
        let label = pkt.get(pos..pos + len)?;
        labels.push(String::from_utf8_lossy(label).to_ascii_lowercase());
        pos += len;
    }
    let qtype = u16::from_be_bytes([*pkt.get(pos)?, *pkt.get(pos + 1)?]);
    let qclass = u16::from_be_bytes([*pkt.get(pos + 2)?, *pkt.get(pos + 3)?]);
    Some(Query {
        id,
        flags,
        name: labels.join("."),
        qtype,
        qclass,
        question_end: pos + 4,
    })
}

fn header(q: &Query, rcode: u16, ancount: u16) -> Vec<u8> {
    // QR, AA, RD copied from the query, RA, rcode.
    let flags = 0x8000 | 0x0400 | (q.flags & 0x0100) | 0x0080 | (rcode & 0xf);
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&q.id.to_be_bytes());
    out.extend_from_slice(&flags.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes());
    out.extend_from_slice(&ancount.to_be_bytes());
    out.extend_from_slice(&[0, 0, 0, 0]);
    out
}

/// An answer with A records for `ips` (none: an empty NOERROR answer, as for AAAA of a
/// container name).
pub fn answer_a(pkt: &[u8], q: &Query, ips: &[Ipv4Addr], ttl: u32) -> Vec<u8> {
    let n = ips.len().min(u16::MAX as usize / 2) as u16;
    let mut out = header(q, 0, n);
    out.extend_from_slice(&pkt[12..q.question_end]);
    for ip in &ips[..n as usize] {
        // The name is a pointer to the question's (offset 12).
        out.extend_from_slice(&[0xc0, 0x0c]);
        out.extend_from_slice(&TYPE_A.to_be_bytes());
        out.extend_from_slice(&1u16.to_be_bytes());
        out.extend_from_slice(&ttl.to_be_bytes());
        out.extend_from_slice(&4u16.to_be_bytes());
        out.extend_from_slice(&ip.octets());
    }
    out
}

/// An answer with PTR records naming `names` (each a dotted name without the final dot).
pub fn answer_ptr(pkt: &[u8], q: &Query, names: &[String], ttl: u32) -> Vec<u8> {
    let mut out = header(q, 0, names.len() as u16);
    out.extend_from_slice(&pkt[12..q.question_end]);
    for name in names {
        let mut rdata = Vec::new();
        for label in name.split('.').filter(|l| !l.is_empty()) {
            let l = &label.as_bytes()[..label.len().min(63)];
            rdata.push(l.len() as u8);
            rdata.extend_from_slice(l);
        }
        rdata.push(0);
        out.extend_from_slice(&[0xc0, 0x0c]);
        out.extend_from_slice(&TYPE_PTR.to_be_bytes());
        out.extend_from_slice(&1u16.to_be_bytes());
        out.extend_from_slice(&ttl.to_be_bytes());
        out.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        out.extend_from_slice(&rdata);
    }
    out
}

/// An error answer (NXDOMAIN, SERVFAIL) carrying the question.
pub fn answer_error(pkt: &[u8], q: &Query, rcode: u16) -> Vec<u8> {
    let mut out = header(q, rcode, 0);
    out.extend_from_slice(&pkt[12..q.question_end]);
    out
}

/// The address a reverse name (`4.3.2.1.in-addr.arpa`) asks about.
pub fn reverse_v4(name: &str) -> Option<Ipv4Addr> {
    let rest = name.strip_suffix(".in-addr.arpa")?;
    let mut o: Vec<u8> = rest
        .split('.')
        .map(|p| p.parse::<u8>().ok())
        .collect::<Option<_>>()?;
    if o.len() != 4 {
        return None;
    }
    o.reverse();
    Some(Ipv4Addr::new(o[0], o[1], o[2], o[3]))
}

/// Parses `ip` or `ip:port` (port 53 by default), as the upstream list is written.
pub fn parse_upstream(s: &str) -> Option<SocketAddr> {
    let s = s.trim();
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Some(a);
    }
    s.parse::<std::net::IpAddr>()
        .ok()
        .map(|ip| SocketAddr::new(ip, 53))
}

/// The nameservers of a resolv.conf text.
pub fn nameservers(resolv_conf: &str) -> Vec<SocketAddr> {
    resolv_conf
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some("nameserver"))
                .then(|| w.next().and_then(parse_upstream))
                .flatten()
        })
        .collect()
}

/// Binds the resolver's UDP and TCP sockets on 127.0.0.11:53 inside the namespace at
/// `netns` (whose loopback must be up). Non-blocking, ready for an async runtime.
pub fn listen_in(netns: &Path) -> Result<(UdpSocket, TcpListener)> {
    let p = netns.to_path_buf();
    let shown = p.display().to_string();
    let ns_err = move |source: std::io::Error| NetError::Netns {
        path: shown.clone(),
        source,
    };
    std::thread::Builder::new()
        .name("berth-dns-bind".into())
        .spawn(move || {
            let ns: OwnedFd = std::fs::File::open(&p).map_err(&ns_err)?.into();
            // Only this short-lived thread changes namespace.
            nix::sched::setns(&ns, nix::sched::CloneFlags::CLONE_NEWNET)
                .map_err(|e| ns_err(e.into()))?;
            let addr = SocketAddr::from((RESOLVER_IP, 53));
            let udp = UdpSocket::bind(addr).map_err(&ns_err)?;
            let tcp = TcpListener::bind(addr).map_err(&ns_err)?;
            udp.set_nonblocking(true).map_err(&ns_err)?;
            tcp.set_nonblocking(true).map_err(&ns_err)?;
            Ok((udp, tcp))
        })
        .map_err(|e| NetError::Invalid(format!("cannot start a namespace thread: {e}")))?
        .join()
        .map_err(|_| NetError::Invalid("namespace thread panicked".into()))?
}

#[cfg(test)]
mod tests {
    use super::*;

    fn query(name: &str, qtype: u16) -> Vec<u8> {
        let mut p = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
        for l in name.split('.') {
            p.push(l.len() as u8);
            p.extend_from_slice(l.as_bytes());
        }
        p.push(0);
        p.extend_from_slice(&qtype.to_be_bytes());
        p.extend_from_slice(&1u16.to_be_bytes());
        p
    }

    #[test]
    fn parses_and_answers() {
        let p = query("Web.Example", TYPE_A);
        let q = parse_query(&p).unwrap();
        assert_eq!(q.name, "web.example");
        assert_eq!(q.qtype, TYPE_A);
        assert_eq!(q.question_end, p.len());
        let a = answer_a(&p, &q, &[Ipv4Addr::new(10, 213, 0, 2)], 600);
        assert_eq!(&a[..2], &[0x12, 0x34]);
        assert_eq!(u16::from_be_bytes([a[2], a[3]]) & 0x8000, 0x8000);
        assert_eq!(u16::from_be_bytes([a[6], a[7]]), 1);
        assert_eq!(&a[a.len() - 4..], &[10, 213, 0, 2]);
        let e = answer_error(&p, &q, RCODE_NXDOMAIN);
        assert_eq!(e[3] & 0xf, 3);
        assert_eq!(e.len(), p.len());
    }

    #[test]
    fn rejects_garbage() {
        assert!(parse_query(&[1, 2, 3]).is_none());
        let mut p = query("a", TYPE_A);
        p[2] |= 0x80; // a response
        assert!(parse_query(&p).is_none());
        let p = query("a", TYPE_A);
        assert!(parse_query(&p[..p.len() - 2]).is_none());
    }

    #[test]
    fn reverse_and_upstreams() {
        assert_eq!(
            reverse_v4("4.0.213.10.in-addr.arpa"),
            Some(Ipv4Addr::new(10, 213, 0, 4))
        );
        assert_eq!(reverse_v4("example.com"), None);
        assert_eq!(
            nameservers("nameserver 10.0.0.1\n# x\nnameserver 127.0.0.5:5300\n"),
            vec![
                "10.0.0.1:53".parse().unwrap(),
                "127.0.0.5:5300".parse().unwrap()
            ]
        );
    }
}
