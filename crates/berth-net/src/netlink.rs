//! A minimal synchronous rtnetlink client: the handful of requests container networking
//! needs (links, veth pairs, bridges, addresses, routes), each acknowledged by the kernel.
//!
//! A netlink socket belongs to the network namespace it was opened in, whatever the
//! thread's namespace later: open one per namespace and keep it.

use crate::{NetError, Result};
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

const RTM_NEWLINK: u16 = 16;
const RTM_DELLINK: u16 = 17;
const RTM_NEWADDR: u16 = 20;
const RTM_NEWROUTE: u16 = 24;
const NLMSG_ERROR: u16 = 2;

const NLM_F_REQUEST: u16 = 0x1;
const NLM_F_ACK: u16 = 0x4;
const NLM_F_EXCL: u16 = 0x200;
const NLM_F_CREATE: u16 = 0x400;

const IFLA_ADDRESS: u16 = 1;
const IFLA_IFNAME: u16 = 3;
const IFLA_MTU: u16 = 4;
const IFLA_MASTER: u16 = 10;
const IFLA_LINKINFO: u16 = 18;
const IFLA_NET_NS_FD: u16 = 28;
const IFLA_INFO_KIND: u16 = 1;
const IFLA_INFO_DATA: u16 = 2;
const VETH_INFO_PEER: u16 = 1;

const IFA_ADDRESS: u16 = 1;
const IFA_LOCAL: u16 = 2;
const IFA_BROADCAST: u16 = 4;

const RTA_OIF: u16 = 4;
const RTA_GATEWAY: u16 = 5;
const IFA_FLAGS: u16 = 8;
/// No duplicate address detection: the address is usable at once (as Docker sets it).
const IFA_F_NODAD: u32 = 0x02;

const IFF_UP: u32 = 0x1;
const NLA_F_NESTED: u16 = 0x8000;

/// A request under construction: header, fixed part, attributes (nested ones by offset).
struct Msg {
    buf: Vec<u8>,
}

impl Msg {
    fn new(kind: u16, flags: u16) -> Msg {
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(&0u32.to_ne_bytes()); // length, set in finish
        buf.extend_from_slice(&kind.to_ne_bytes());
        buf.extend_from_slice(&(flags | NLM_F_REQUEST | NLM_F_ACK).to_ne_bytes());
        buf.extend_from_slice(&1u32.to_ne_bytes()); // seq
        buf.extend_from_slice(&0u32.to_ne_bytes()); // port id: the kernel
        Msg { buf }
    }

    /// struct ifinfomsg
    fn ifinfo(&mut self, index: i32, flags: u32, change: u32) {
        self.buf.push(libc::AF_UNSPEC as u8);
        self.buf.push(0);
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf.extend_from_slice(&index.to_ne_bytes());
        self.buf.extend_from_slice(&flags.to_ne_bytes());
        self.buf.extend_from_slice(&change.to_ne_bytes());
    }

    fn attr(&mut self, kind: u16, data: &[u8]) {
        let len = 4 + data.len();
        self.buf.extend_from_slice(&(len as u16).to_ne_bytes());
        self.buf.extend_from_slice(&kind.to_ne_bytes());
        self.buf.extend_from_slice(data);
        self.align();
    }

    fn attr_str(&mut self, kind: u16, s: &str) {
        let mut d = s.as_bytes().to_vec();
        d.push(0);
        self.attr(kind, &d);
    }

    fn attr_u32(&mut self, kind: u16, v: u32) {
        self.attr(kind, &v.to_ne_bytes());
    }

    /// Opens a nested attribute; returns its offset for `end_nest`.
    fn begin_nest(&mut self, kind: u16) -> usize {
        let at = self.buf.len();
        self.buf.extend_from_slice(&0u16.to_ne_bytes());
        self.buf
            .extend_from_slice(&(kind | NLA_F_NESTED).to_ne_bytes());
        at
    }

    fn end_nest(&mut self, at: usize) {
        let len = (self.buf.len() - at) as u16;
        self.buf[at..at + 2].copy_from_slice(&len.to_ne_bytes());
    }

    fn align(&mut self) {
        while !self.buf.len().is_multiple_of(4) {
            self.buf.push(0);
        }
    }

    fn finish(mut self) -> Vec<u8> {
        let len = self.buf.len() as u32;
        self.buf[0..4].copy_from_slice(&len.to_ne_bytes());
        self.buf
    }
}

/// A NETLINK_ROUTE socket in the namespace it was opened in.
pub struct Netlink {
    fd: OwnedFd,
}

impl Netlink {
    pub fn open() -> Result<Netlink> {
        // SAFETY: plain socket(2) call; the result is checked before use.
        let fd = unsafe {
            libc::socket(
                libc::AF_NETLINK,
                libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                libc::NETLINK_ROUTE,
            )
        };
        if fd < 0 {
            return Err(err("open socket", std::io::Error::last_os_error()));
        }
        // SAFETY: fd is a fresh descriptor we own.
        Ok(Netlink {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Sends one request and waits for its acknowledgement.
    fn request(&self, op: &str, msg: Msg) -> Result<()> {
        let data = msg.finish();
        // SAFETY: data is a valid buffer of data.len() bytes; the kernel is the peer
        // (an unconnected netlink socket sends to port 0 by default through send).
        let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
        addr.nl_family = libc::AF_NETLINK as u16;
        let n = unsafe {
            libc::sendto(
                self.fd.as_raw_fd(),
                data.as_ptr().cast(),
                data.len(),
                0,
                (&addr as *const libc::sockaddr_nl).cast(),
                std::mem::size_of::<libc::sockaddr_nl>() as u32,
            )
        };
        if n < 0 {
            return Err(err(op, std::io::Error::last_os_error()));
        }
        let mut buf = vec![0u8; 8192];
        loop {
            // SAFETY: buf is writable for buf.len() bytes.
            let n =
                unsafe { libc::recv(self.fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
            if n < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(err(op, e));
            }
            let n = n as usize;
            let mut off = 0;
            while off + 16 <= n {
                let len =
                    u32::from_ne_bytes(buf[off..off + 4].try_into().unwrap_or([0; 4])) as usize;
                let kind = u16::from_ne_bytes(buf[off + 4..off + 6].try_into().unwrap_or([0; 2]));
                if len < 16 || off + len > n {
                    return Err(err(op, std::io::Error::other("truncated netlink answer")));
                }
                if kind == NLMSG_ERROR && len >= 20 {
                    let code =
                        i32::from_ne_bytes(buf[off + 16..off + 20].try_into().unwrap_or([0; 4]));
                    if code == 0 {
                        return Ok(());
                    }
                    return Err(err(op, std::io::Error::from_raw_os_error(-code)));
                }
                off += (len + 3) & !3;
            }
        }
    }

    /// Creates a bridge (`ip link add NAME type bridge mtu M`); EEXIST is the caller's.
    pub fn add_bridge(&self, name: &str, mtu: Option<u32>) -> Result<()> {
        let mut m = Msg::new(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
        m.ifinfo(0, 0, 0);
        m.attr_str(IFLA_IFNAME, name);
        if let Some(mtu) = mtu {
            m.attr_u32(IFLA_MTU, mtu);
        }
        let li = m.begin_nest(IFLA_LINKINFO);
        m.attr_str(IFLA_INFO_KIND, "bridge");
        m.end_nest(li);
        self.request(&format!("create bridge {name}"), m)
    }

    /// Creates a veth pair: `host` here, `peer` moved at once into the namespace `ns_fd`.
    pub fn add_veth(
        &self,
        host: &str,
        peer: &str,
        ns_fd: RawFd,
        mtu: Option<u32>,
        peer_mac: Option<[u8; 6]>,
    ) -> Result<()> {
        let mut m = Msg::new(RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL);
        m.ifinfo(0, 0, 0);
        m.attr_str(IFLA_IFNAME, host);
        if let Some(mtu) = mtu {
            m.attr_u32(IFLA_MTU, mtu);
        }
        let li = m.begin_nest(IFLA_LINKINFO);
        m.attr_str(IFLA_INFO_KIND, "veth");
        let data = m.begin_nest(IFLA_INFO_DATA);
        let p = m.begin_nest(VETH_INFO_PEER);
        m.ifinfo(0, 0, 0);
        m.attr_str(IFLA_IFNAME, peer);
        m.attr_u32(IFLA_NET_NS_FD, ns_fd as u32);
        if let Some(mtu) = mtu {
            m.attr_u32(IFLA_MTU, mtu);
        }
        if let Some(mac) = peer_mac {
            m.attr(IFLA_ADDRESS, &mac);
        }
        m.end_nest(p);
        m.end_nest(data);
        m.end_nest(li);
        self.request(&format!("create veth {host}"), m)
    }

    /// Enslaves `index` to the bridge `master` and sets it up.
    pub fn set_master_up(&self, index: u32, master: u32) -> Result<()> {
        let mut m = Msg::new(RTM_NEWLINK, 0);
        m.ifinfo(index as i32, IFF_UP, IFF_UP);
        m.attr_u32(IFLA_MASTER, master);
        self.request("set link master", m)
    }

    /// As `set_master_up`, the link named (the kernel looks names up when the index is 0):
    /// for a link created from a thread that has since left its namespace.
    pub fn set_master_up_by_name(&self, name: &str, master: u32) -> Result<()> {
        let mut m = Msg::new(RTM_NEWLINK, 0);
        m.ifinfo(0, IFF_UP, IFF_UP);
        m.attr_str(IFLA_IFNAME, name);
        m.attr_u32(IFLA_MASTER, master);
        self.request(&format!("attach {name} to its bridge"), m)
    }

    pub fn del_link_by_name(&self, name: &str) -> Result<()> {
        let mut m = Msg::new(RTM_DELLINK, 0);
        m.ifinfo(0, 0, 0);
        m.attr_str(IFLA_IFNAME, name);
        self.request(&format!("delete link {name}"), m)
    }

    pub fn set_up(&self, index: u32) -> Result<()> {
        let mut m = Msg::new(RTM_NEWLINK, 0);
        m.ifinfo(index as i32, IFF_UP, IFF_UP);
        self.request("set link up", m)
    }

    pub fn del_link(&self, index: u32) -> Result<()> {
        let mut m = Msg::new(RTM_DELLINK, 0);
        m.ifinfo(index as i32, 0, 0);
        self.request("delete link", m)
    }

    /// `ip addr add ADDR/PREFIX brd + dev INDEX`; EEXIST is the caller's.
    pub fn add_addr(&self, index: u32, addr: Ipv4Addr, prefix: u8) -> Result<()> {
        let mut m = Msg::new(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
        m.buf.push(libc::AF_INET as u8);
        m.buf.push(prefix);
        m.buf.push(0); // flags
        m.buf.push(0); // scope: universe
        m.buf.extend_from_slice(&index.to_ne_bytes());
        m.attr(IFA_LOCAL, &addr.octets());
        m.attr(IFA_ADDRESS, &addr.octets());
        let host_bits = 32 - u32::from(prefix);
        let bcast = if host_bits >= 32 {
            u32::MAX
        } else {
            u32::from(addr) | ((1u32 << host_bits) - 1)
        };
        m.attr(IFA_BROADCAST, &bcast.to_be_bytes());
        self.request(&format!("add address {addr}/{prefix}"), m)
    }

    /// `ip -6 addr add ADDR/PREFIX dev INDEX nodad`; EEXIST is the caller's.
    pub fn add_addr6(&self, index: u32, addr: std::net::Ipv6Addr, prefix: u8) -> Result<()> {
        let mut m = Msg::new(RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL);
        m.buf.push(libc::AF_INET6 as u8);
        m.buf.push(prefix);
        m.buf.push(IFA_F_NODAD as u8);
        m.buf.push(0); // scope: universe
        m.buf.extend_from_slice(&index.to_ne_bytes());
        m.attr(IFA_LOCAL, &addr.octets());
        m.attr(IFA_ADDRESS, &addr.octets());
        m.attr_u32(IFA_FLAGS, IFA_F_NODAD);
        self.request(&format!("add address {addr}/{prefix}"), m)
    }

    /// `ip -6 route add default via GW dev OIF`.
    pub fn add_default_route6(&self, gateway: std::net::Ipv6Addr, oif: u32) -> Result<()> {
        let what = format!("add default route via {gateway}");
        self.add_default_route_of(libc::AF_INET6, &gateway.octets(), Some(oif), &what)
    }

    /// `ip route add default via GW`.
    pub fn add_default_route(&self, gateway: Ipv4Addr) -> Result<()> {
        let what = format!("add default route via {gateway}");
        self.add_default_route_of(libc::AF_INET, &gateway.octets(), None, &what)
    }

    /// RTM_NEWROUTE of a default route (exclusive: EEXIST when the family has one).
    fn add_default_route_of(
        &self,
        family: i32,
        gateway: &[u8],
        oif: Option<u32>,
        what: &str,
    ) -> Result<()> {
        let mut m = Msg::new(RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL);
        m.buf.push(family as u8);
        m.buf.push(0); // dst_len: default
        m.buf.push(0); // src_len
        m.buf.push(0); // tos
        m.buf.push(libc::RT_TABLE_MAIN);
        m.buf.push(libc::RTPROT_BOOT);
        m.buf.push(libc::RT_SCOPE_UNIVERSE);
        m.buf.push(libc::RTN_UNICAST);
        m.buf.extend_from_slice(&0u32.to_ne_bytes());
        m.attr(RTA_GATEWAY, gateway);
        if let Some(oif) = oif {
            m.attr_u32(RTA_OIF, oif);
        }
        self.request(what, m)
    }
}

fn err(op: &str, source: std::io::Error) -> NetError {
    NetError::Netlink {
        op: op.to_string(),
        source,
    }
}

/// The index of a link in the calling thread's namespace, if it exists.
pub fn link_index(name: &str) -> Option<u32> {
    let c = std::ffi::CString::new(name).ok()?;
    // SAFETY: c is a valid NUL-terminated string.
    let i = unsafe { libc::if_nametoindex(c.as_ptr()) };
    (i != 0).then_some(i)
}

/// Whether an error is the kernel's EEXIST.
pub fn is_exists(e: &NetError) -> bool {
    matches!(e, NetError::Netlink { source, .. } if source.raw_os_error() == Some(libc::EEXIST))
}
