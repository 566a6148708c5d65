//! Named network namespaces (an nsfs bind mount on a file, as `ip netns` keeps them) and the
//! container's end of an endpoint: a veth pair whose host side joins a bridge and whose
//! other side becomes `ethN` inside the namespace, with its address and default route.
//!
//! Namespace work happens on a short-lived thread of its own: `unshare`/`setns` change only
//! the calling thread's namespace, and that thread ends with the work, so no thread of the
//! daemon is ever left in a container's namespace.

use crate::netlink::{is_exists, link_index, Netlink};
use crate::{NetError, Result};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

/// One interface to create for a container.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The host side's name (at most 15 bytes).
    pub host_veth: String,
    /// The name inside the namespace ("eth0", "eth1", ...).
    pub ifname: String,
    /// The bridge the host side joins.
    pub bridge: String,
    pub ip: Ipv4Addr,
    pub prefix: u8,
    /// Default route through this gateway (None: no route out, as on internal networks).
    pub gateway: Option<Ipv4Addr>,
    pub mtu: Option<u32>,
    pub mac: [u8; 6],
    /// The IPv6 address and prefix on an IPv6 network.
    pub ip6: Option<(Ipv6Addr, u8)>,
    /// IPv6 default route through this gateway (None: none, as on internal networks).
    pub gateway6: Option<Ipv6Addr>,
    /// Extra link-local addresses (`--link-local-ip`) with their prefixes.
    pub link_local: Vec<(std::net::IpAddr, u8)>,
}

/// Docker's MAC for an address: 02:42 followed by the IPv4 address.
pub fn mac_for(ip: Ipv4Addr) -> [u8; 6] {
    let o = ip.octets();
    [0x02, 0x42, o[0], o[1], o[2], o[3]]
}

pub fn mac_string(mac: [u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

pub(crate) fn ns_err(path: &Path, source: std::io::Error) -> NetError {
    NetError::Netns {
        path: path.display().to_string(),
        source,
    }
}

pub(crate) fn on_own_thread<T: Send + 'static>(
    f: impl FnOnce() -> Result<T> + Send + 'static,
) -> Result<T> {
    std::thread::Builder::new()
        .name("berth-netns".into())
        .spawn(f)
        .map_err(|e| NetError::Invalid(format!("cannot start a namespace thread: {e}")))?
        .join()
        .map_err(|_| NetError::Invalid("namespace thread panicked".into()))?
}

/// Creates a new network namespace kept alive by a bind mount on `path`, with loopback up
/// and the given endpoints configured. On failure nothing is left behind.
pub fn create(path: &Path, endpoints: Vec<Endpoint>) -> Result<()> {
    let path = path.to_path_buf();
    on_own_thread(move || {
        // Opened before unshare: this socket stays in the host's namespace.
        let host = Netlink::open()?;
        let bridges = bridge_indexes(&endpoints)?;
        nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET)
            .map_err(|e| ns_err(&path, e.into()))?;
        std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
            .map_err(|e| ns_err(&path, e))?;
        if let Err(e) = nix::mount::mount(
            Some("/proc/thread-self/ns/net"),
            &path,
            None::<&str>,
            nix::mount::MsFlags::MS_BIND,
            None::<&str>,
        ) {
            let _ = std::fs::remove_file(&path);
            return Err(ns_err(&path, e.into()));
        }
        let configured = (|| {
            let ns = Netlink::open()?;
            // Loopback is index 1 in every new namespace.
            ns.set_up(1)?;
            let ns_fd = open_ns("/proc/thread-self/ns/net")?;
            for (ep, bridge) in endpoints.iter().zip(bridges) {
                configure(&host, &ns, ns_fd.as_raw_fd(), ep, bridge)?;
            }
            Ok(())
        })();
        if let Err(e) = configured {
            for ep in &endpoints {
                let _ = del_by_name(&host, &ep.host_veth);
            }
            let _ = remove_file_mount(&path);
            return Err(e);
        }
        Ok(())
    })
}

/// Adds an endpoint to the namespace at `path` (`network connect`).
pub fn add_endpoint(path: &Path, ep: Endpoint) -> Result<()> {
    let path = path.to_path_buf();
    on_own_thread(move || {
        let host = Netlink::open()?;
        let bridge = bridge_indexes(std::slice::from_ref(&ep))?[0];
        let ns_fd = open_ns(&path)?;
        nix::sched::setns(&ns_fd, nix::sched::CloneFlags::CLONE_NEWNET)
            .map_err(|e| ns_err(&path, e.into()))?;
        let ns = Netlink::open()?;
        let r = configure(&host, &ns, ns_fd.as_raw_fd(), &ep, bridge);
        if r.is_err() {
            let _ = del_by_name(&host, &ep.host_veth);
        }
        r
    })
}

fn bridge_indexes(endpoints: &[Endpoint]) -> Result<Vec<u32>> {
    endpoints
        .iter()
        .map(|ep| {
            link_index(&ep.bridge)
                .ok_or_else(|| NetError::Invalid(format!("bridge {} does not exist", ep.bridge)))
        })
        .collect()
}

pub(crate) fn open_ns(path: impl AsRef<Path>) -> Result<OwnedFd> {
    let p = path.as_ref();
    std::fs::File::open(p)
        .map(OwnedFd::from)
        .map_err(|e| ns_err(p, e))
}

fn configure(host: &Netlink, ns: &Netlink, ns_fd: i32, ep: &Endpoint, bridge: u32) -> Result<()> {
    host.add_veth(&ep.host_veth, &ep.ifname, ns_fd, ep.mtu, Some(ep.mac))?;
    host.set_master_up_by_name(&ep.host_veth, bridge)?;
    // This thread is in the container's namespace now: names resolve there.
    let idx = link_index(&ep.ifname).ok_or_else(|| {
        NetError::Invalid(format!("{} missing in the container namespace", ep.ifname))
    })?;
    ns.add_addr(idx, ep.ip, ep.prefix)?;
    for (ip, prefix) in &ep.link_local {
        if let std::net::IpAddr::V4(v4) = ip {
            ns.add_addr(idx, *v4, *prefix)?;
        }
    }
    ns.set_up(idx)?;
    if let Some(gw) = ep.gateway {
        match ns.add_default_route(gw) {
            // A second network's gateway: the first one keeps the default route.
            Err(e) if is_exists(&e) => {}
            r => r?,
        }
    }
    // After the link is up: the kernel adds the prefix route of an IPv6 address then.
    if let Some((ip6, prefix6)) = ep.ip6 {
        ns.add_addr6(idx, ip6, prefix6)?;
        if let Some(gw6) = ep.gateway6 {
            match ns.add_default_route6(gw6, idx) {
                Err(e) if is_exists(&e) => {}
                r => r?,
            }
        }
    }
    for (ip, prefix) in &ep.link_local {
        if let std::net::IpAddr::V6(v6) = ip {
            ns.add_addr6(idx, *v6, *prefix)?;
        }
    }
    Ok(())
}

fn del_by_name(nl: &Netlink, name: &str) -> Result<()> {
    nl.del_link_by_name(name)
}

/// Deletes a host-side veth (its peer goes with it); a missing one is fine.
pub fn delete_host_link(name: &str) -> Result<()> {
    let Some(idx) = link_index(name) else {
        return Ok(());
    };
    match Netlink::open()?.del_link(idx) {
        Err(NetError::Netlink { source, .. }) if source.raw_os_error() == Some(libc::ENODEV) => {
            Ok(())
        }
        r => r,
    }
}

/// Deletes host-side veths off the caller's path: deleting a link waits for the kernel's
/// RCU grace periods (tens of ms), which `run --rm` would otherwise wait for. The indexes
/// are taken now, so a link made later under the same name (a restart) is not touched.
pub fn delete_host_links_later(names: &[String]) {
    let links: Vec<(String, u32)> = names
        .iter()
        .filter_map(|n| link_index(n).map(|i| (n.clone(), i)))
        .collect();
    if links.is_empty() {
        return;
    }
    let spawned = std::thread::Builder::new()
        .name("berth-veth-del".into())
        .spawn(move || {
            let nl = match Netlink::open() {
                Ok(nl) => nl,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot delete veths");
                    return;
                }
            };
            for (name, idx) in links {
                match nl.del_link(idx) {
                    Ok(()) => {}
                    // Gone with its namespace already.
                    Err(NetError::Netlink { source, .. })
                        if source.raw_os_error() == Some(libc::ENODEV) => {}
                    Err(e) => tracing::warn!(veth = %name, error = %e, "cannot delete veth"),
                }
            }
        });
    if let Err(e) = spawned {
        tracing::warn!(error = %e, "cannot start the veth deletion thread");
    }
}

/// Unmounts and removes a namespace file; the namespace goes when its last user does.
pub fn remove(path: &Path) -> Result<()> {
    remove_file_mount(path)
}

fn remove_file_mount(path: &Path) -> Result<()> {
    match nix::mount::umount2(path, nix::mount::MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => {}
        Err(e) => return Err(ns_err(path, e.into())),
    }
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(ns_err(path, e)),
        _ => Ok(()),
    }
}

/// The namespace file of a container directory.
pub fn path_in(dir: &Path) -> PathBuf {
    dir.join("netns")
}
