//! The Linux bridge behind a bridge network: created with the gateway address, up.

use crate::netlink::{is_exists, link_index, Netlink};
use crate::{NetError, Result};
use std::net::Ipv4Addr;

/// Creates the bridge if it is missing and gives it the gateway address (idempotent: the
/// daemon calls it again at start for every network it has).
pub fn ensure(name: &str, gateway: Ipv4Addr, prefix: u8, mtu: Option<u32>) -> Result<()> {
    validate_name(name)?;
    let nl = Netlink::open()?;
    match nl.add_bridge(name, mtu) {
        Err(e) if is_exists(&e) => {}
        r => r?,
    }
    let idx = link_index(name)
        .ok_or_else(|| NetError::Invalid(format!("bridge {name} vanished after creation")))?;
    match nl.add_addr(idx, gateway, prefix) {
        Err(e) if is_exists(&e) => {}
        r => r?,
    }
    nl.set_up(idx)?;
    // Published ports answer on 127.0.0.1 through DNAT into this bridge: the kernel routes
    // loopback-sourced packets out of an interface only with route_localnet on it.
    let knob = format!("/proc/sys/net/ipv4/conf/{name}/route_localnet");
    std::fs::write(&knob, "1").map_err(|e| NetError::Netlink {
        op: format!("set {knob}"),
        source: e,
    })
}

/// Removes the bridge; a missing one is fine.
pub fn remove(name: &str) -> Result<()> {
    crate::netns::delete_host_link(name)
}

/// Linux interface names: 1 to 15 bytes, no '/', whitespace or ':'.
pub fn validate_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 15
        && name != "."
        && name != ".."
        && !name
            .chars()
            .any(|c| c == '/' || c == ':' || c.is_whitespace() || c.is_control());
    if ok {
        Ok(())
    } else {
        Err(NetError::Invalid(format!(
            "invalid bridge name {name:?}: 1 to 15 characters, without '/', ':' or spaces"
        )))
    }
}

/// Gives an existing bridge its IPv6 gateway address (no DAD: usable at once, as Docker
/// sets it); idempotent. IPv6 is switched on for this bridge only if it was off.
pub fn ensure_v6(name: &str, gateway: std::net::Ipv6Addr, prefix: u8) -> Result<()> {
    let knob = format!("/proc/sys/net/ipv6/conf/{name}/disable_ipv6");
    if std::fs::read_to_string(&knob).is_ok_and(|v| v.trim() == "1") {
        std::fs::write(&knob, "0").map_err(|e| NetError::Netlink {
            op: format!("set {knob}"),
            source: e,
        })?;
    }
    let idx = link_index(name)
        .ok_or_else(|| NetError::Invalid(format!("bridge {name} does not exist")))?;
    match Netlink::open()?.add_addr6(idx, gateway, prefix) {
        Err(e) if is_exists(&e) => Ok(()),
        r => r,
    }
}
