//! Load balancing of swarm services on nftables (IPVS is not available everywhere, and a
//! userland proxy would lose the client's address).
//!
//! - A virtual IP: every container on a service's network gets a small table of its own,
//!   in its namespace (`berth_lb`), whose output hook sends new connections to a VIP to
//!   one of the service's tasks (`numgen inc`: round robin per connection; conntrack keeps
//!   each connection on its task and un-NATs the replies). A VIP without tasks refuses.
//!   This is where Docker's sandboxes run their IPVS rules.
//! - The routing mesh: a published port of the host goes to one of the tasks' addresses
//!   on the ingress network, in the daemon's own table (see [`crate::firewall`]).

use crate::{NetError, Result};
use std::fmt::Write as _;
use std::net::Ipv4Addr;
use std::os::fd::OwnedFd;
use std::path::Path;

/// The table in each container's namespace.
pub const NETNS_TABLE: &str = "berth_lb";

/// A virtual IP and the addresses behind it (the service's healthy tasks).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Vip {
    pub vip: Ipv4Addr,
    pub backends: Vec<Ipv4Addr>,
}

/// `numgen inc mod N map { 0 : a, 1 : b }`: one backend per new connection, in turn.
pub fn spread(backends: &[Ipv4Addr]) -> String {
    let mut m = String::new();
    for (i, b) in backends.iter().enumerate() {
        if i > 0 {
            m.push_str(", ");
        }
        let _ = write!(m, "{i} : {b}");
    }
    format!("numgen inc mod {} map {{ {m} }}", backends.len())
}

/// The script that replaces a container's table with rules for `vips` (or removes it).
pub fn netns_script(vips: &[Vip]) -> String {
    let t = NETNS_TABLE;
    let mut s = format!("add table ip {t}\ndelete table ip {t}\n");
    if vips.is_empty() {
        return s;
    }
    let mut nat = String::new();
    let mut refuse = String::new();
    for v in vips {
        if v.backends.is_empty() {
            let _ = writeln!(
                refuse,
                "\t\tip daddr {} meta l4proto tcp reject with tcp reset",
                v.vip
            );
            let _ = writeln!(refuse, "\t\tip daddr {} reject", v.vip);
        } else {
            let _ = writeln!(
                nat,
                "\t\tip daddr {} dnat to {}",
                v.vip,
                spread(&v.backends)
            );
        }
    }
    let _ = write!(
        s,
        "table ip {t} {{\n\tchain output {{\n\t\ttype nat hook output priority -100; policy accept;\n{nat}\t}}\n\tchain refuse {{\n\t\ttype filter hook output priority filter; policy accept;\n{refuse}\t}}\n}}\n"
    );
    s
}

/// Writes `vips`' rules in the namespace at `netns`: `nft` runs from a short-lived thread
/// that joined it (a child process starts in its parent thread's namespaces).
pub fn apply_in(netns: &Path, vips: &[Vip]) -> Result<()> {
    let script = netns_script(vips);
    let p = netns.to_path_buf();
    std::thread::Builder::new()
        .name("berth-lb".into())
        .spawn(move || {
            let shown = p.display().to_string();
            let ns: OwnedFd = std::fs::File::open(&p)
                .map_err(|source| NetError::Netns {
                    path: shown.clone(),
                    source,
                })?
                .into();
            nix::sched::setns(&ns, nix::sched::CloneFlags::CLONE_NEWNET).map_err(|e| {
                NetError::Netns {
                    path: shown,
                    source: e.into(),
                }
            })?;
            crate::firewall::nft(&script)
        })
        .map_err(|e| NetError::Invalid(format!("cannot start a namespace thread: {e}")))?
        .join()
        .map_err(|_| NetError::Invalid("namespace thread panicked".into()))?
}

/// A port published through the routing mesh: the host's port to the tasks' ingress
/// addresses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MeshPort {
    /// "tcp" or "udp".
    pub proto: String,
    pub published: u16,
    pub target: u16,
    pub backends: Vec<Ipv4Addr>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vips_balance_and_an_empty_vip_refuses() {
        let s = netns_script(&[
            Vip {
                vip: "10.0.1.2".parse().unwrap(),
                backends: vec!["10.0.1.5".parse().unwrap(), "10.0.1.6".parse().unwrap()],
            },
            Vip {
                vip: "10.0.1.3".parse().unwrap(),
                backends: vec![],
            },
        ]);
        assert!(
            s.contains(
                "ip daddr 10.0.1.2 dnat to numgen inc mod 2 map { 0 : 10.0.1.5, 1 : 10.0.1.6 }"
            ),
            "{s}"
        );
        assert!(s.contains("ip daddr 10.0.1.3 reject"), "{s}");
        assert!(s.starts_with("add table ip berth_lb\ndelete table ip berth_lb\n"));
        assert_eq!(
            netns_script(&[]),
            "add table ip berth_lb\ndelete table ip berth_lb\n"
        );
    }
}
