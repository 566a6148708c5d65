//! The data plane: the kernel effects of container networking, behind one narrow trait the
//! engine holds — bridges, the daemon's nftables table, network namespaces with their
//! links, addresses and routes, the embedded resolver's sockets, published ports'
//! reservations, and the host routes a new subnet must avoid. `HostDataPlane` is the real
//! one (this crate's functions, unchanged); the engine's unit tests use a recording fake.
//!
//! Calls may block briefly (netlink, nft, a namespace thread): the engine makes them from
//! its blocking pool, as it did the functions themselves.

use crate::firewall::{NetRules, PortRule};
use crate::iptables::HostRunner;
use crate::lb::MeshPort;
use crate::netns::{Endpoint, NetnsOwner};
use crate::ports::Reservation;
use crate::Result;
use ipnet::{Ipv4Net, Ipv6Net};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, UdpSocket};
use std::path::Path;

/// Every kernel effect of container networking the engine asks for.
pub trait DataPlane: Send + Sync {
    /// Creates (or keeps) a bridge with the gateway's address, up.
    fn ensure_bridge(
        &self,
        name: &str,
        gateway: Ipv4Addr,
        prefix: u8,
        mtu: Option<u32>,
    ) -> Result<()>;
    /// Adds the IPv6 gateway address to a bridge.
    fn ensure_bridge_v6(&self, name: &str, gateway: Ipv6Addr, prefix: u8) -> Result<()>;
    fn remove_bridge(&self, name: &str) -> Result<()>;

    /// Replaces the daemon's nftables table with these networks', ports' and routing-mesh
    /// ports' rules.
    fn apply_rules(
        &self,
        table: &str,
        nets: &[NetRules],
        ports: &[PortRule],
        mesh: &[MeshPort],
    ) -> Result<()>;
    fn remove_rules(&self, table: &str) -> Result<()>;
    /// Whether the daemon's nftables table is there (someone may have flushed the ruleset).
    fn rules_exist(&self, table: &str) -> Result<bool>;
    /// Makes the host's iptables FORWARD path accept these bridges' traffic (where a
    /// dockerd's DROP policy would stop it): `crate::iptables`. Returns, per family, the
    /// chain used (None: no iptables on the host).
    fn sync_forward_accept(
        &self,
        table: &str,
        v4: &[String],
        v6: &[String],
    ) -> [Result<Option<&'static str>>; 2];
    /// Removes the daemon's iptables accept rules (both families).
    fn remove_forward_accept(&self, table: &str) -> Result<()>;
    /// Whether a host link (a bridge) of that name exists.
    fn link_exists(&self, name: &str) -> bool;
    /// Makes a macvlan/ipvlan network's missing parent (`dummy`: its dummy link, else an
    /// `IF.VLAN` sub-interface: `crate::parent`); true when made here.
    fn ensure_parent(&self, name: &str, dummy: bool) -> Result<bool>;
    /// Deletes the interface `ifname` inside a namespace (a macvlan/ipvlan link: no host side).
    fn delete_link_in(&self, netns: &Path, ifname: &str) -> Result<()>;

    /// A new network namespace kept at `path`, owned by `owner`, with loopback up and these
    /// endpoints; on failure nothing is left.
    fn create_netns(&self, path: &Path, endpoints: Vec<Endpoint>, owner: NetnsOwner) -> Result<()>;
    /// One more endpoint in the namespace at `path`.
    fn add_endpoint(&self, path: &Path, endpoint: Endpoint) -> Result<()>;
    /// Removes the namespace file; the namespace goes with its last user.
    fn remove_netns(&self, path: &Path) -> Result<()>;
    /// Deletes a host-side veth (a missing one is fine).
    fn delete_host_link(&self, name: &str) -> Result<()>;
    /// Deletes host-side veths off the caller's path.
    fn delete_host_links_later(&self, names: &[String]);

    /// Adds `default via gateway` in the namespace unless it has one; true when added.
    fn ensure_default_route(&self, netns: &Path, gateway: Ipv4Addr) -> Result<bool>;
    /// The IPv6 twin of `ensure_default_route`, through `ifname`.
    fn ensure_default_route6(&self, netns: &Path, gateway: Ipv6Addr, ifname: &str) -> Result<bool>;
    /// The host's IPv4 routes, with their devices (subnets to avoid, a kept bridge's).
    fn host_routes(&self) -> Vec<(String, Ipv4Net)>;
    /// The host's IPv6 routes (subnets to avoid).
    fn host_routes6(&self) -> Vec<Ipv6Net>;

    /// The embedded resolver's UDP and TCP sockets on 127.0.0.11:53 inside the namespace.
    fn listen_resolver(&self, netns: &Path) -> Result<(UdpSocket, TcpListener)>;
    /// Binds one published host port; resolves the port (an ephemeral one's too).
    fn reserve_port(&self, proto: &str, addr: SocketAddr) -> std::io::Result<(u16, Reservation)>;
}

/// The host's data plane: this crate's netlink, nftables and namespace code.
#[derive(Debug, Default, Clone, Copy)]
pub struct HostDataPlane;

impl DataPlane for HostDataPlane {
    fn ensure_bridge(
        &self,
        name: &str,
        gateway: Ipv4Addr,
        prefix: u8,
        mtu: Option<u32>,
    ) -> Result<()> {
        crate::bridge::ensure(name, gateway, prefix, mtu)
    }

    fn ensure_bridge_v6(&self, name: &str, gateway: Ipv6Addr, prefix: u8) -> Result<()> {
        crate::bridge::ensure_v6(name, gateway, prefix)
    }

    fn remove_bridge(&self, name: &str) -> Result<()> {
        crate::bridge::remove(name)
    }

    fn apply_rules(
        &self,
        table: &str,
        nets: &[NetRules],
        ports: &[PortRule],
        mesh: &[MeshPort],
    ) -> Result<()> {
        crate::firewall::apply(table, nets, ports, mesh)
    }

    fn remove_rules(&self, table: &str) -> Result<()> {
        crate::firewall::remove(table)
    }

    fn rules_exist(&self, table: &str) -> Result<bool> {
        crate::nft_probe::table_exists(table).map_err(|e| {
            crate::NetError::Firewall(format!("looking up nftables table {table}: {e}"))
        })
    }

    fn sync_forward_accept(
        &self,
        table: &str,
        v4: &[String],
        v6: &[String],
    ) -> [Result<Option<&'static str>>; 2] {
        crate::iptables::sync_both([&mut HostRunner, &mut HostRunner], table, v4, v6)
    }

    fn remove_forward_accept(&self, table: &str) -> Result<()> {
        // Both families (in parallel), whatever the first gives.
        let [v4, v6] =
            crate::iptables::sync_both([&mut HostRunner, &mut HostRunner], table, &[], &[]);
        v4.and(v6).map(|_| ())
    }

    fn link_exists(&self, name: &str) -> bool {
        crate::netlink::link_index(name).is_some()
    }

    fn ensure_parent(&self, name: &str, dummy: bool) -> Result<bool> {
        crate::parent::ensure(name, dummy)
    }

    fn delete_link_in(&self, netns: &Path, ifname: &str) -> Result<()> {
        crate::netns::delete_link_in(netns, ifname)
    }

    fn create_netns(&self, path: &Path, endpoints: Vec<Endpoint>, owner: NetnsOwner) -> Result<()> {
        crate::netns::create(path, endpoints, owner)
    }

    fn add_endpoint(&self, path: &Path, endpoint: Endpoint) -> Result<()> {
        crate::netns::add_endpoint(path, endpoint)
    }

    fn remove_netns(&self, path: &Path) -> Result<()> {
        crate::netns::remove(path)
    }

    fn delete_host_link(&self, name: &str) -> Result<()> {
        crate::netns::delete_host_link(name)
    }

    fn delete_host_links_later(&self, names: &[String]) {
        crate::netns::delete_host_links_later(names)
    }

    fn ensure_default_route(&self, netns: &Path, gateway: Ipv4Addr) -> Result<bool> {
        crate::route::ensure_default_route(netns, gateway)
    }

    fn ensure_default_route6(&self, netns: &Path, gateway: Ipv6Addr, ifname: &str) -> Result<bool> {
        crate::route::ensure_default_route6(netns, gateway, ifname)
    }

    fn host_routes(&self) -> Vec<(String, Ipv4Net)> {
        crate::ipam::host_routes_by_dev()
    }

    fn host_routes6(&self) -> Vec<Ipv6Net> {
        crate::ipam6::host_routes()
    }

    fn listen_resolver(&self, netns: &Path) -> Result<(UdpSocket, TcpListener)> {
        crate::dns::listen_in(netns)
    }

    fn reserve_port(&self, proto: &str, addr: SocketAddr) -> std::io::Result<(u16, Reservation)> {
        crate::ports::bind(proto, addr)
    }
}
