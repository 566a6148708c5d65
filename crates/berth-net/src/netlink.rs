//! A small synchronous rtnetlink client: the handful of requests container networking
//! needs (links, veth pairs, bridges, addresses, routes), each acknowledged by the kernel.
//! Messages are netlink-packet-route's types sent over a netlink-sys socket; this module
//! only says which request each operation is (the same ones `ip` sends).
//!
//! A netlink socket belongs to the network namespace it was opened in, whatever the
//! thread's namespace later: open one per namespace and keep it.

use crate::{NetError, Result};
use netlink_packet_core::{
    NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST,
};
use netlink_packet_route::address::{
    AddressAttribute, AddressFlags, AddressHeaderFlags, AddressMessage, AddressScope,
};
use netlink_packet_route::link::{
    InfoData, InfoIpVlan, InfoKind, InfoMacVlan, InfoVeth, InfoVlan, IpVlanFlags, IpVlanMode,
    LinkAttribute, LinkFlags, LinkInfo, LinkMessage, MacVlanMode,
};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope, RouteType,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use netlink_sys::{protocols::NETLINK_ROUTE, Socket, SocketAddr};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::RawFd;

/// A NETLINK_ROUTE socket in the namespace it was opened in.
pub struct Netlink {
    socket: Socket,
}

impl Netlink {
    pub fn open() -> Result<Netlink> {
        let socket = Socket::new(NETLINK_ROUTE).map_err(|e| err("open socket", e))?;
        Ok(Netlink { socket })
    }

    /// Sends one request and waits for its acknowledgement.
    fn request(&self, op: &str, msg: RouteNetlinkMessage, flags: u16) -> Result<()> {
        let data = encode(msg, flags);
        // The kernel is port 0.
        self.socket
            .send_to(&data, &SocketAddr::new(0, 0), 0)
            .map_err(|e| err(op, e))?;
        let mut buf = vec![0u8; 8192];
        loop {
            let n = match self.socket.recv(&mut &mut buf[..], 0) {
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(err(op, e)),
            };
            let mut off = 0;
            while off < n {
                let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&buf[off..n])
                    .map_err(|e| err(op, std::io::Error::other(format!("bad answer: {e}"))))?;
                let len = msg.header.length as usize;
                if let NetlinkPayload::Error(e) = msg.payload {
                    // An error message without a code is the acknowledgement.
                    return match e.code {
                        None => Ok(()),
                        Some(_) => Err(err(op, e.to_io())),
                    };
                }
                if len == 0 {
                    break;
                }
                off += (len + 3) & !3;
            }
        }
    }

    /// Creates a bridge (`ip link add NAME type bridge mtu M`); EEXIST is the caller's.
    pub fn add_bridge(&self, name: &str, mtu: Option<u32>) -> Result<()> {
        self.request(
            &format!("create bridge {name}"),
            RouteNetlinkMessage::NewLink(bridge_msg(name, mtu)),
            NLM_F_CREATE | NLM_F_EXCL,
        )
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
        self.request(
            &format!("create veth {host}"),
            RouteNetlinkMessage::NewLink(veth_msg(host, peer, ns_fd, mtu, peer_mac)),
            NLM_F_CREATE | NLM_F_EXCL,
        )
    }

    /// Creates a macvlan or ipvlan link of `parent` named `name` straight into the namespace
    /// `ns_fd` (`ip link add link PARENT name NAME netns NS type macvlan mode M`); a macvlan
    /// gets `mac`, an ipvlan keeps its parent's.
    pub fn add_sublink(
        &self,
        name: &str,
        parent: u32,
        ns_fd: RawFd,
        mtu: Option<u32>,
        mac: [u8; 6],
        kind: crate::netns::LinkKind,
    ) -> Result<()> {
        self.request(
            &format!("create {} {name}", kind_name(kind)),
            RouteNetlinkMessage::NewLink(sublink_msg(name, parent, ns_fd, mtu, mac, kind)),
            NLM_F_CREATE | NLM_F_EXCL,
        )
    }

    /// Creates a dummy link (`ip link add NAME type dummy`); EEXIST is the caller's.
    pub fn add_dummy(&self, name: &str) -> Result<()> {
        let mut m = LinkMessage::default();
        m.attributes.push(LinkAttribute::IfName(name.to_string()));
        m.attributes
            .push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(
                InfoKind::Dummy,
            )]));
        self.request(
            &format!("create dummy link {name}"),
            RouteNetlinkMessage::NewLink(m),
            NLM_F_CREATE | NLM_F_EXCL,
        )
    }

    /// Creates an 802.1q sub-interface (`ip link add link PARENT name NAME type vlan id ID`).
    pub fn add_vlan(&self, name: &str, parent: u32, id: u16) -> Result<()> {
        let mut m = LinkMessage::default();
        m.attributes.push(LinkAttribute::IfName(name.to_string()));
        m.attributes.push(LinkAttribute::Link(parent));
        m.attributes.push(LinkAttribute::LinkInfo(vec![
            LinkInfo::Kind(InfoKind::Vlan),
            LinkInfo::Data(InfoData::Vlan(vec![InfoVlan::Id(id)])),
        ]));
        self.request(
            &format!("create vlan link {name}"),
            RouteNetlinkMessage::NewLink(m),
            NLM_F_CREATE | NLM_F_EXCL,
        )
    }

    /// `ip [-6] route add default dev OIF` (an L3 ipvlan's route: no gateway).
    pub fn add_default_route_dev(&self, oif: u32, v6: bool) -> Result<()> {
        let mut m = RouteMessage::default();
        m.header.address_family = if v6 {
            AddressFamily::Inet6
        } else {
            AddressFamily::Inet
        };
        m.header.table = RouteHeader::RT_TABLE_MAIN;
        m.header.protocol = RouteProtocol::Boot;
        m.header.scope = RouteScope::Link;
        m.header.kind = RouteType::Unicast;
        m.attributes.push(RouteAttribute::Oif(oif));
        self.request(
            "add default route through the interface",
            RouteNetlinkMessage::NewRoute(m),
            NLM_F_CREATE | NLM_F_EXCL,
        )
    }

    /// Enslaves `index` to the bridge `master` and sets it up.
    pub fn set_master_up(&self, index: u32, master: u32) -> Result<()> {
        let mut m = up_msg(index);
        m.attributes.push(LinkAttribute::Controller(master));
        self.request("set link master", RouteNetlinkMessage::NewLink(m), 0)
    }

    /// As `set_master_up`, the link named (the kernel looks names up when the index is 0):
    /// for a link created from a thread that has since left its namespace.
    pub fn set_master_up_by_name(&self, name: &str, master: u32) -> Result<()> {
        let mut m = up_msg(0);
        m.attributes.push(LinkAttribute::IfName(name.to_string()));
        m.attributes.push(LinkAttribute::Controller(master));
        self.request(
            &format!("attach {name} to its bridge"),
            RouteNetlinkMessage::NewLink(m),
            0,
        )
    }

    pub fn del_link_by_name(&self, name: &str) -> Result<()> {
        let mut m = LinkMessage::default();
        m.attributes.push(LinkAttribute::IfName(name.to_string()));
        self.request(
            &format!("delete link {name}"),
            RouteNetlinkMessage::DelLink(m),
            0,
        )
    }

    pub fn set_up(&self, index: u32) -> Result<()> {
        self.request(
            "set link up",
            RouteNetlinkMessage::NewLink(up_msg(index)),
            0,
        )
    }

    pub fn del_link(&self, index: u32) -> Result<()> {
        let mut m = LinkMessage::default();
        m.header.index = index;
        self.request("delete link", RouteNetlinkMessage::DelLink(m), 0)
    }

    /// `ip addr add ADDR/PREFIX brd + dev INDEX`; EEXIST is the caller's.
    pub fn add_addr(&self, index: u32, addr: Ipv4Addr, prefix: u8) -> Result<()> {
        self.request(
            &format!("add address {addr}/{prefix}"),
            RouteNetlinkMessage::NewAddress(addr_msg(index, addr, prefix)),
            NLM_F_CREATE | NLM_F_EXCL,
        )
    }

    /// `ip -6 addr add ADDR/PREFIX dev INDEX nodad`; EEXIST is the caller's.
    pub fn add_addr6(&self, index: u32, addr: Ipv6Addr, prefix: u8) -> Result<()> {
        self.request(
            &format!("add address {addr}/{prefix}"),
            RouteNetlinkMessage::NewAddress(addr6_msg(index, addr, prefix)),
            NLM_F_CREATE | NLM_F_EXCL,
        )
    }

    /// `ip -6 route add default via GW dev OIF`.
    pub fn add_default_route6(&self, gateway: Ipv6Addr, oif: u32) -> Result<()> {
        self.request(
            &format!("add default route via {gateway}"),
            RouteNetlinkMessage::NewRoute(default_route_msg(
                AddressFamily::Inet6,
                RouteAddress::Inet6(gateway),
                Some(oif),
            )),
            NLM_F_CREATE | NLM_F_EXCL,
        )
    }

    /// `ip route add default via GW` (exclusive: EEXIST when there is one).
    pub fn add_default_route(&self, gateway: Ipv4Addr) -> Result<()> {
        self.request(
            &format!("add default route via {gateway}"),
            RouteNetlinkMessage::NewRoute(default_route_msg(
                AddressFamily::Inet,
                RouteAddress::Inet(gateway),
                None,
            )),
            NLM_F_CREATE | NLM_F_EXCL,
        )
    }
}

/// The request's bytes: header (sequence 1, to the kernel) and message.
fn encode(msg: RouteNetlinkMessage, flags: u16) -> Vec<u8> {
    let mut m = NetlinkMessage::from(msg);
    m.header.flags = flags | NLM_F_REQUEST | NLM_F_ACK;
    m.header.sequence_number = 1;
    m.finalize();
    let mut data = vec![0u8; m.buffer_len()];
    m.serialize(&mut data);
    data
}

fn bridge_msg(name: &str, mtu: Option<u32>) -> LinkMessage {
    let mut m = LinkMessage::default();
    m.attributes.push(LinkAttribute::IfName(name.to_string()));
    if let Some(mtu) = mtu {
        m.attributes.push(LinkAttribute::Mtu(mtu));
    }
    m.attributes
        .push(LinkAttribute::LinkInfo(vec![LinkInfo::Kind(
            InfoKind::Bridge,
        )]));
    m
}

fn veth_msg(
    host: &str,
    peer: &str,
    ns_fd: RawFd,
    mtu: Option<u32>,
    peer_mac: Option<[u8; 6]>,
) -> LinkMessage {
    let mut p = LinkMessage::default();
    p.attributes.push(LinkAttribute::IfName(peer.to_string()));
    p.attributes.push(LinkAttribute::NetNsFd(ns_fd));
    if let Some(mtu) = mtu {
        p.attributes.push(LinkAttribute::Mtu(mtu));
    }
    if let Some(mac) = peer_mac {
        p.attributes.push(LinkAttribute::Address(mac.to_vec()));
    }
    let mut m = LinkMessage::default();
    m.attributes.push(LinkAttribute::IfName(host.to_string()));
    if let Some(mtu) = mtu {
        m.attributes.push(LinkAttribute::Mtu(mtu));
    }
    m.attributes.push(LinkAttribute::LinkInfo(vec![
        LinkInfo::Kind(InfoKind::Veth),
        LinkInfo::Data(InfoData::Veth(InfoVeth::Peer(p))),
    ]));
    m
}

fn kind_name(kind: crate::netns::LinkKind) -> &'static str {
    match kind {
        crate::netns::LinkKind::Veth => "veth",
        crate::netns::LinkKind::Macvlan(_) => "macvlan",
        crate::netns::LinkKind::Ipvlan(..) => "ipvlan",
    }
}

fn sublink_msg(
    name: &str,
    parent: u32,
    ns_fd: RawFd,
    mtu: Option<u32>,
    mac: [u8; 6],
    kind: crate::netns::LinkKind,
) -> LinkMessage {
    use crate::netns::{IpvlanFlag, IpvlanMode, LinkKind, MacvlanMode as M};
    let mut m = LinkMessage::default();
    m.attributes.push(LinkAttribute::IfName(name.to_string()));
    m.attributes.push(LinkAttribute::Link(parent));
    m.attributes.push(LinkAttribute::NetNsFd(ns_fd));
    if let Some(mtu) = mtu {
        m.attributes.push(LinkAttribute::Mtu(mtu));
    }
    let info = match kind {
        LinkKind::Macvlan(mode) => {
            m.attributes.push(LinkAttribute::Address(mac.to_vec()));
            let mode = match mode {
                M::Bridge => MacVlanMode::Bridge,
                M::Private => MacVlanMode::Private,
                M::Vepa => MacVlanMode::Vepa,
                M::Passthru => MacVlanMode::Passthrough,
            };
            vec![
                LinkInfo::Kind(InfoKind::MacVlan),
                LinkInfo::Data(InfoData::MacVlan(vec![InfoMacVlan::Mode(mode)])),
            ]
        }
        LinkKind::Ipvlan(mode, flag) => {
            let mode = match mode {
                IpvlanMode::L2 => IpVlanMode::L2,
                IpvlanMode::L3 => IpVlanMode::L3,
                IpvlanMode::L3s => IpVlanMode::L3S,
            };
            let flags = match flag {
                IpvlanFlag::Bridge => IpVlanFlags::empty(),
                IpvlanFlag::Private => IpVlanFlags::Private,
                IpvlanFlag::Vepa => IpVlanFlags::Vepa,
            };
            vec![
                LinkInfo::Kind(InfoKind::IpVlan),
                LinkInfo::Data(InfoData::IpVlan(vec![
                    InfoIpVlan::Mode(mode),
                    InfoIpVlan::Flags(flags),
                ])),
            ]
        }
        LinkKind::Veth => vec![LinkInfo::Kind(InfoKind::Veth)],
    };
    m.attributes.push(LinkAttribute::LinkInfo(info));
    m
}

/// The link `index` (0: named by an attribute) with IFF_UP set.
fn up_msg(index: u32) -> LinkMessage {
    let mut m = LinkMessage::default();
    m.header.index = index;
    m.header.flags = LinkFlags::Up;
    m.header.change_mask = LinkFlags::Up;
    m
}

fn addr_msg(index: u32, addr: Ipv4Addr, prefix: u8) -> AddressMessage {
    let mut m = AddressMessage::default();
    m.header.family = AddressFamily::Inet;
    m.header.prefix_len = prefix;
    m.header.scope = AddressScope::Universe;
    m.header.index = index;
    let host_bits = 32 - u32::from(prefix.min(32));
    let bcast = if host_bits >= 32 {
        u32::MAX
    } else {
        u32::from(addr) | ((1u32 << host_bits) - 1)
    };
    m.attributes.push(AddressAttribute::Local(IpAddr::V4(addr)));
    m.attributes
        .push(AddressAttribute::Address(IpAddr::V4(addr)));
    m.attributes
        .push(AddressAttribute::Broadcast(Ipv4Addr::from(bcast)));
    m
}

/// No duplicate address detection: the address is usable at once (as Docker sets it).
fn addr6_msg(index: u32, addr: Ipv6Addr, prefix: u8) -> AddressMessage {
    let mut m = AddressMessage::default();
    m.header.family = AddressFamily::Inet6;
    m.header.prefix_len = prefix;
    m.header.flags = AddressHeaderFlags::Nodad;
    m.header.scope = AddressScope::Universe;
    m.header.index = index;
    m.attributes.push(AddressAttribute::Local(IpAddr::V6(addr)));
    m.attributes
        .push(AddressAttribute::Address(IpAddr::V6(addr)));
    m.attributes
        .push(AddressAttribute::Flags(AddressFlags::Nodad));
    m
}

/// A default route of `family` in the main table (`proto boot`, as `ip route add`).
fn default_route_msg(
    family: AddressFamily,
    gateway: RouteAddress,
    oif: Option<u32>,
) -> RouteMessage {
    let mut m = RouteMessage::default();
    m.header.address_family = family;
    m.header.table = RouteHeader::RT_TABLE_MAIN;
    m.header.protocol = RouteProtocol::Boot;
    m.header.scope = RouteScope::Universe;
    m.header.kind = RouteType::Unicast;
    m.attributes.push(RouteAttribute::Gateway(gateway));
    if let Some(oif) = oif {
        m.attributes.push(RouteAttribute::Oif(oif));
    }
    m
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

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(v: &[u8]) -> String {
        v.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The bytes of each request as berth's hand-written encoder sent them before these
    /// types replaced it. The only change: the three nested link-info attributes no longer
    /// carry NLA_F_NESTED (0x8000 in the type), as iproute2 sends them too; the kernel's
    /// policy for them is nested either way. Those bits are cleared below.
    #[test]
    fn requests_are_the_bytes_berth_sent_before() {
        let cases: Vec<(&str, Vec<u8>, &str)> = vec![
            (
                "bridge",
                encode(RouteNetlinkMessage::NewLink(bridge_msg("br-test0", None)), NLM_F_CREATE | NLM_F_EXCL),
                "40000000100005060100000000000000000000000000000000000000000000000d00030062722d746573743000000000100012000b0001006272696467650000",
            ),
            (
                "bridge_mtu",
                encode(RouteNetlinkMessage::NewLink(bridge_msg("br-x", Some(1400))), NLM_F_CREATE | NLM_F_EXCL),
                "44000000100005060100000000000000000000000000000000000000000000000900030062722d78000000000800040078050000100012000b0001006272696467650000",
            ),
            (
                "veth",
                encode(
                    RouteNetlinkMessage::NewLink(veth_msg("vethabc1234", "eth0", 7, None, Some([2, 0x42, 10, 1, 2, 3]))),
                    NLM_F_CREATE | NLM_F_EXCL,
                ),
                "7800000010000506010000000000000000000000000000000000000000000000100003007665746861626331323334004800120009000100766574680000000038000200340001000000000000000000000000000000000009000300657468300000000008001c00070000000a00010002420a0102030000",
            ),
            (
                "veth_mtu",
                encode(
                    RouteNetlinkMessage::NewLink(veth_msg("veth0", "eth1", 12, Some(1450), Some([2, 0x42, 10, 1, 2, 4]))),
                    NLM_F_CREATE | NLM_F_EXCL,
                ),
                "84000000100005060100000000000000000000000000000000000000000000000a000300766574683000000008000400aa05000050001200090001007665746800000000400002003c0001000000000000000000000000000000000009000300657468310000000008001c000c00000008000400aa0500000a00010002420a0102040000",
            ),
            (
                "veth_nomac",
                encode(RouteNetlinkMessage::NewLink(veth_msg("veth0", "eth1", 12, None, None)), NLM_F_CREATE | NLM_F_EXCL),
                "68000000100005060100000000000000000000000000000000000000000000000a00030076657468300000003c0012000900010076657468000000002c000200280001000000000000000000000000000000000009000300657468310000000008001c000c000000",
            ),
            (
                "master_up",
                {
                    let mut m = up_msg(5);
                    m.attributes.push(LinkAttribute::Controller(3));
                    encode(RouteNetlinkMessage::NewLink(m), 0)
                },
                "280000001000050001000000000000000000000005000000010000000100000008000a0003000000",
            ),
            (
                "master_up_by_name",
                {
                    let mut m = up_msg(0);
                    m.attributes.push(LinkAttribute::IfName("vethabc1234".into()));
                    m.attributes.push(LinkAttribute::Controller(3));
                    encode(RouteNetlinkMessage::NewLink(m), 0)
                },
                "38000000100005000100000000000000000000000000000001000000010000001000030076657468616263313233340008000a0003000000",
            ),
            (
                "del_by_name",
                {
                    let mut m = LinkMessage::default();
                    m.attributes.push(LinkAttribute::IfName("vethabc1234".into()));
                    encode(RouteNetlinkMessage::DelLink(m), 0)
                },
                "300000001100050001000000000000000000000000000000000000000000000010000300766574686162633132333400",
            ),
            (
                "set_up",
                encode(RouteNetlinkMessage::NewLink(up_msg(1)), 0),
                "2000000010000500010000000000000000000000010000000100000001000000",
            ),
            (
                "del_link",
                {
                    let mut m = LinkMessage::default();
                    m.header.index = 9;
                    encode(RouteNetlinkMessage::DelLink(m), 0)
                },
                "2000000011000500010000000000000000000000090000000000000000000000",
            ),
            (
                "addr",
                encode(RouteNetlinkMessage::NewAddress(addr_msg(2, Ipv4Addr::new(10, 214, 3, 2), 24)), NLM_F_CREATE | NLM_F_EXCL),
                "300000001400050601000000000000000218000002000000080002000ad60302080001000ad60302080004000ad603ff",
            ),
            (
                "addr_32",
                encode(RouteNetlinkMessage::NewAddress(addr_msg(2, Ipv4Addr::new(10, 0, 0, 1), 32)), NLM_F_CREATE | NLM_F_EXCL),
                "300000001400050601000000000000000220000002000000080002000a000001080001000a000001080004000a000001",
            ),
            (
                "addr_0",
                encode(RouteNetlinkMessage::NewAddress(addr_msg(2, Ipv4Addr::new(10, 0, 0, 1), 0)), NLM_F_CREATE | NLM_F_EXCL),
                "300000001400050601000000000000000200000002000000080002000a000001080001000a00000108000400ffffffff",
            ),
            (
                "addr6",
                encode(
                    RouteNetlinkMessage::NewAddress(addr6_msg(2, "fd00::2".parse().expect("ip"), 64)),
                    NLM_F_CREATE | NLM_F_EXCL,
                ),
                "480000001400050601000000000000000a4002000200000014000200fd00000000000000000000000000000214000100fd0000000000000000000000000000020800080002000000",
            ),
            (
                "route",
                encode(
                    RouteNetlinkMessage::NewRoute(default_route_msg(
                        AddressFamily::Inet,
                        RouteAddress::Inet(Ipv4Addr::new(10, 214, 3, 1)),
                        None,
                    )),
                    NLM_F_CREATE | NLM_F_EXCL,
                ),
                "2400000018000506010000000000000002000000fe03000100000000080005000ad60301",
            ),
            (
                "route6",
                encode(
                    RouteNetlinkMessage::NewRoute(default_route_msg(
                        AddressFamily::Inet6,
                        RouteAddress::Inet6("fd00::1".parse().expect("ip")),
                        Some(2),
                    )),
                    NLM_F_CREATE | NLM_F_EXCL,
                ),
                "380000001800050601000000000000000a000000fe0300010000000014000500fd0000000000000000000000000000010800040002000000",
            ),
        ];
        for (name, got, want) in cases {
            assert_eq!(hex(&got), want, "{name}");
        }
    }
}
