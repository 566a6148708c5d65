//! A container namespace's default route after the network that carried it left
//! (`network disconnect`): Docker moves it to a remaining network's gateway.

use crate::netlink::{is_exists, Netlink};
use crate::netns::{ns_err, on_own_thread, open_ns};
use crate::Result;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::Path;

/// Adds `default via gateway` in the namespace at `path` unless it has a default route
/// already. True when this call added it.
pub fn ensure_default_route(path: &Path, gateway: Ipv4Addr) -> Result<bool> {
    let path = path.to_path_buf();
    on_own_thread(move || {
        let ns_fd = open_ns(&path)?;
        nix::sched::setns(&ns_fd, nix::sched::CloneFlags::CLONE_NEWNET)
            .map_err(|e| ns_err(&path, e.into()))?;
        match Netlink::open()?.add_default_route(gateway) {
            Ok(()) => Ok(true),
            Err(e) if is_exists(&e) => Ok(false),
            Err(e) => Err(e),
        }
    })
}

/// The IPv6 twin of `ensure_default_route`: `default via gateway dev ifname` (an IPv6
/// route names its interface) unless the namespace has an IPv6 default route already.
pub fn ensure_default_route6(path: &Path, gateway: Ipv6Addr, ifname: &str) -> Result<bool> {
    let path = path.to_path_buf();
    let ifname = ifname.to_string();
    on_own_thread(move || {
        let ns_fd = open_ns(&path)?;
        nix::sched::setns(&ns_fd, nix::sched::CloneFlags::CLONE_NEWNET)
            .map_err(|e| ns_err(&path, e.into()))?;
        let Some(idx) = crate::netlink::link_index(&ifname) else {
            return Err(crate::NetError::Invalid(format!(
                "no interface {ifname} in the container"
            )));
        };
        match Netlink::open()?.add_default_route6(gateway, idx) {
            Ok(()) => Ok(true),
            Err(e) if is_exists(&e) => Ok(false),
            Err(e) => Err(e),
        }
    })
}
