//! Named network namespaces (an nsfs bind mount on a file, as `ip netns` keeps them) and the
//! container's end of an endpoint: a veth pair whose host side joins a bridge and whose
//! other side becomes `ethN` inside the namespace — or, on macvlan/ipvlan networks, a
//! macvlan/ipvlan link of the network's parent interface created straight into the
//! namespace as `ethN` — with its address and default route.
//!
//! Namespace work happens on a short-lived thread of its own: `unshare`/`setns` change only
//! the calling thread's namespace, and that thread ends with the work, so no thread of the
//! daemon is ever left in a container's namespace. A namespace owned by a container's user
//! namespace (`NetnsOwner`) is made by a forked helper instead: a multi-threaded process
//! cannot enter or make a user namespace.

use crate::netlink::{is_exists, link_index, Netlink};
use crate::{NetError, Result};
use std::net::{Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsRawFd, OwnedFd};
use std::path::{Path, PathBuf};

/// One interface to create for a container.
#[derive(Debug, Clone)]
pub struct Endpoint {
    /// The host side's name (at most 15 bytes); empty for a macvlan/ipvlan link, which has
    /// no host side (it goes with the namespace).
    pub host_veth: String,
    /// The name inside the namespace ("eth0", "eth1", ...).
    pub ifname: String,
    /// The host link: the bridge a veth's host side joins, or the parent interface of a
    /// macvlan/ipvlan link.
    pub bridge: String,
    /// What kind of link the container gets.
    pub link: LinkKind,
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
    /// Per-interface sysctls (`com.docker.network.endpoint.sysctls`): the path under
    /// /proc/sys without the interface (`["net", "ipv4", "conf", "forwarding"]`: the
    /// interface's name goes after the third part) and the value.
    pub sysctls: Vec<(Vec<String>, String)>,
}

/// The kind of a container's interface.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LinkKind {
    /// A veth pair whose host side joins the bridge.
    #[default]
    Veth,
    /// A macvlan link of the parent, in this mode.
    Macvlan(MacvlanMode),
    /// An ipvlan link of the parent (it shares the parent's MAC: the endpoint's is unused).
    Ipvlan(IpvlanMode, IpvlanFlag),
}

/// `-o macvlan_mode=` (moby's names).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum MacvlanMode {
    #[default]
    Bridge,
    Private,
    Vepa,
    Passthru,
}

/// `-o ipvlan_mode=`: l3 and l3s route, so the default route names the interface.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum IpvlanMode {
    #[default]
    L2,
    L3,
    L3s,
}

/// `-o ipvlan_flag=`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum IpvlanFlag {
    #[default]
    Bridge,
    Private,
    Vepa,
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

/// The user namespace that owns a new network namespace. Mounting sysfs, and writing the
/// namespace's `net.` sysctls, take CAP_SYS_ADMIN in that user namespace: an OCI runtime
/// (runc) sets up a remapped container from inside the container's user namespace, so the
/// network namespace it joins must be that user namespace's, as the one runc makes itself
/// under moby is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum NetnsOwner {
    /// The daemon's (the host's) user namespace.
    #[default]
    Host,
    /// A new user namespace with these maps (`/proc/PID/uid_map` text), kept by a bind
    /// mount on `user_pin(path)` for the container to join.
    NewUser { uid_map: String, gid_map: String },
    /// An existing user namespace (a donor container's `/proc/PID/ns/user`).
    User(PathBuf),
}

/// Where the user namespace made with the network namespace at `netns` is kept.
pub fn user_pin(netns: &Path) -> PathBuf {
    let mut name = netns
        .file_name()
        .map(|n| n.to_os_string())
        .unwrap_or_default();
    name.push(".user");
    netns.with_file_name(name)
}

/// Creates a new network namespace kept alive by a bind mount on `path`, owned by `owner`,
/// with loopback up and the given endpoints configured. On failure nothing is left behind.
pub fn create(path: &Path, endpoints: Vec<Endpoint>, owner: NetnsOwner) -> Result<()> {
    let path = path.to_path_buf();
    on_own_thread(move || {
        // Opened before unshare: this socket stays in the host's namespace.
        let host = Netlink::open()?;
        let bridges = bridge_indexes(&endpoints)?;
        if owner == NetnsOwner::Host {
            nix::sched::unshare(nix::sched::CloneFlags::CLONE_NEWNET)
                .map_err(|e| ns_err(&path, e.into()))?;
            pin("/proc/thread-self/ns/net", &path)?;
        } else {
            make_owned(&path, &owner)?;
            let entered = open_ns(&path).and_then(|fd| {
                nix::sched::setns(&fd, nix::sched::CloneFlags::CLONE_NEWNET)
                    .map_err(|e| ns_err(&path, e.into()))
            });
            if let Err(e) = entered {
                let _ = remove(&path);
                return Err(e);
            }
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
            // macvlan/ipvlan links go with the namespace.
            for ep in endpoints.iter().filter(|ep| ep.link == LinkKind::Veth) {
                let _ = del_by_name(&host, &ep.host_veth);
            }
            let _ = remove(&path);
            return Err(e);
        }
        Ok(())
    })
}

/// The calling thread's errno (reading it allocates nothing: safe in a forked child).
fn errno() -> i32 {
    std::io::Error::last_os_error()
        .raw_os_error()
        .unwrap_or(libc::EINVAL)
}

/// Keeps the namespace `src` (a /proc ns file) alive by a bind mount on a new file `dst`.
fn pin(src: &str, dst: &Path) -> Result<()> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(dst)
        .map_err(|e| ns_err(dst, e))?;
    if let Err(e) = nix::mount::mount(
        Some(src),
        dst,
        None::<&str>,
        nix::mount::MsFlags::MS_BIND,
        None::<&str>,
    ) {
        let _ = std::fs::remove_file(dst);
        return Err(ns_err(dst, e.into()));
    }
    Ok(())
}

/// Makes the network namespace at `path` in `owner`'s user namespace (a new one pinned at
/// `user_pin(path)`, or an existing one). A forked helper enters or makes the user
/// namespace, which a thread of the multi-threaded daemon cannot, and then the network
/// namespace; it waits while this thread writes the new namespace's maps and pins what it
/// made. Being the fork of a multi-threaded process, the helper only makes raw system calls.
fn make_owned(path: &Path, owner: &NetnsOwner) -> Result<()> {
    use std::io::{Read, Write};
    let join = match owner {
        NetnsOwner::User(p) => Some(open_ns(p)?),
        _ => None,
    };
    let join_fd = join.as_ref().map_or(-1, |f| f.as_raw_fd());
    let new_user = matches!(owner, NetnsOwner::NewUser { .. });
    let pipe = || {
        nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
            .map_err(|e| ns_err(path, std::io::Error::from(e)))
    };
    let (ready_r, ready_w) = pipe()?;
    let (go_r, go_w) = pipe()?;
    let (ready_fd, go_fd) = (ready_w.as_raw_fd(), go_r.as_raw_fd());
    let (ready_r_fd, go_w_fd) = (ready_r.as_raw_fd(), go_w.as_raw_fd());
    // SAFETY: the child makes only async-signal-safe system calls on descriptors and values
    // prepared before the fork, then leaves with _exit.
    let pid = unsafe { libc::fork() };
    if pid == 0 {
        // SAFETY: as above; `status` and `byte` live on the child's own stack.
        unsafe {
            // Only the parent's ends: its going away reads as EOF here.
            libc::close(ready_r_fd);
            libc::close(go_w_fd);
            let report = |status: i32| {
                libc::write(ready_fd, (&status as *const i32).cast(), 4);
                let mut byte = 0u8;
                libc::read(go_fd, (&mut byte as *mut u8).cast(), 1) == 1
            };
            let mut status: i32 = 0;
            if join_fd >= 0 && libc::setns(join_fd, libc::CLONE_NEWUSER) != 0 {
                status = errno();
            }
            // A new user namespace gets its maps before the network namespace is made:
            // the devices registered with it (lo) take their sysfs owner from the maps'
            // root then (as with runc, which unshares the user namespace first), and would
            // stay the host's root's, nobody in the container, otherwise.
            if new_user && status == 0 {
                if libc::unshare(libc::CLONE_NEWUSER) != 0 {
                    status = errno();
                }
                if !report(status) || status != 0 {
                    libc::_exit(0);
                }
            }
            if status == 0 && libc::unshare(libc::CLONE_NEWNET) != 0 {
                status = errno();
            }
            report(status);
            libc::_exit(0);
        }
    }
    if pid < 0 {
        return Err(ns_err(path, std::io::Error::last_os_error()));
    }
    drop((ready_w, go_r));
    let pid = nix::unistd::Pid::from_raw(pid);
    let mut ready = std::fs::File::from(ready_r);
    let mut go = std::fs::File::from(go_w);
    let mut step = || -> Result<()> {
        let mut status = [0u8; 4];
        ready.read_exact(&mut status).map_err(|e| ns_err(path, e))?;
        let errno = i32::from_ne_bytes(status);
        if errno != 0 {
            return Err(NetError::Invalid(format!(
                "cannot make a network namespace in the container's user namespace: {}",
                std::io::Error::from_raw_os_error(errno)
            )));
        }
        Ok(())
    };
    let made = (|| {
        if let NetnsOwner::NewUser { uid_map, gid_map } = owner {
            step()?;
            for (file, map) in [("uid_map", uid_map), ("gid_map", gid_map)] {
                let f = format!("/proc/{pid}/{file}");
                std::fs::write(&f, map).map_err(|e| ns_err(Path::new(&f), e))?;
            }
            pin(&format!("/proc/{pid}/ns/user"), &user_pin(path))?;
            go.write_all(b"x").map_err(|e| ns_err(path, e))?;
        }
        step()?;
        pin(&format!("/proc/{pid}/ns/net"), path)
    })();
    // Lets the helper go: a byte where it waits after its last step, EOF on a failure.
    let _ = go.write_all(b"x");
    drop(go);
    let _ = nix::sys::wait::waitpid(pid, None);
    if made.is_err() {
        let _ = remove(path);
    }
    made
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
            if ep.link == LinkKind::Veth {
                let _ = del_by_name(&host, &ep.host_veth);
            } else {
                // No host side: the link is in the namespace, if it was made.
                let _ = del_by_name(&ns, &ep.ifname);
            }
        }
        r
    })
}

/// The host links the endpoints hang off (bridges, or macvlan/ipvlan parents), looked up
/// in the host's namespace.
fn bridge_indexes(endpoints: &[Endpoint]) -> Result<Vec<u32>> {
    endpoints
        .iter()
        .map(|ep| {
            link_index(&ep.bridge).ok_or_else(|| match ep.link {
                LinkKind::Veth => NetError::Invalid(format!("bridge {} does not exist", ep.bridge)),
                // moby's createMacVlan/createIPVlan wording.
                _ => NetError::Invalid(format!(
                    "the requested parent interface {} was not found on the Docker host",
                    ep.bridge
                )),
            })
        })
        .collect()
}

/// Puts a container's bridge port in hairpin mode. dockerd does it only without its
/// userland proxy; berth DNATs a container's connection to a published port in every mode,
/// and with br_netfilter a connection to the container's own port is bridged back out of
/// the port it came in by, which a bridge does only in hairpin mode. The host's /sys shows
/// the host's links whatever namespace this thread is in. Without it only that case fails,
/// so a failure is logged, not fatal.
fn set_hairpin(host_veth: &str) {
    let knob = format!("/sys/class/net/{host_veth}/brport/hairpin_mode");
    if let Err(e) = std::fs::write(&knob, "1") {
        tracing::warn!(knob, error = %e, "cannot turn hairpin mode on");
    }
}

pub(crate) fn open_ns(path: impl AsRef<Path>) -> Result<OwnedFd> {
    let p = path.as_ref();
    std::fs::File::open(p)
        .map(OwnedFd::from)
        .map_err(|e| ns_err(p, e))
}

/// `host_link`: the bridge's index (a veth) or the parent's (a macvlan/ipvlan link).
fn configure(
    host: &Netlink,
    ns: &Netlink,
    ns_fd: i32,
    ep: &Endpoint,
    host_link: u32,
) -> Result<()> {
    match ep.link {
        LinkKind::Veth => {
            host.add_veth(&ep.host_veth, &ep.ifname, ns_fd, ep.mtu, Some(ep.mac))?;
            host.set_master_up_by_name(&ep.host_veth, host_link)?;
            set_hairpin(&ep.host_veth);
        }
        kind => host.add_sublink(&ep.ifname, host_link, ns_fd, ep.mtu, ep.mac, kind)?,
    }
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
    set_sysctls(&ep.ifname, &ep.sysctls)?;
    ns.set_up(idx)?;
    if matches!(
        ep.link,
        LinkKind::Ipvlan(IpvlanMode::L3 | IpvlanMode::L3s, _)
    ) && ep.gateway.is_some()
    {
        // An L3 ipvlan routes through its parent: the default route names the device
        // (moby's `default dev eth0`), for both families.
        match ns.add_default_route_dev(idx, false) {
            Err(e) if is_exists(&e) => {}
            r => r?,
        }
    } else if let Some(gw) = ep.gateway {
        match ns.add_default_route(gw) {
            // A second network's gateway: the first one keeps the default route.
            Err(e) if is_exists(&e) => {}
            r => r?,
        }
    }
    // After the link is up: the kernel adds the prefix route of an IPv6 address then.
    if let Some((ip6, prefix6)) = ep.ip6 {
        ns.add_addr6(idx, ip6, prefix6)?;
        if matches!(
            ep.link,
            LinkKind::Ipvlan(IpvlanMode::L3 | IpvlanMode::L3s, _)
        ) && ep.gateway6.is_some()
        {
            match ns.add_default_route_dev(idx, true) {
                Err(e) if is_exists(&e) => {}
                r => r?,
            }
        } else if let Some(gw6) = ep.gateway6 {
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

/// Writes the interface's sysctls. The calling thread is in the container's namespace, and
/// /proc/sys/net shows the reading thread's namespace. A value already set is not written
/// (as moby: /proc/sys may be read-only).
fn set_sysctls(ifname: &str, sysctls: &[(Vec<String>, String)]) -> Result<()> {
    for (parts, value) in sysctls {
        let mut path = std::path::PathBuf::from("/proc/sys");
        for (i, p) in parts.iter().enumerate() {
            if i == 3 {
                path.push(ifname);
            }
            path.push(p);
        }
        let fail = |e: std::io::Error| {
            NetError::Invalid(format!("unable to write to '{}': {e}", path.display()))
        };
        match std::fs::metadata(&path) {
            Ok(m) if m.is_file() => {}
            _ => {
                return Err(NetError::Invalid(format!(
                    "{} is not a sysctl file",
                    path.display()
                )))
            }
        }
        if std::fs::read_to_string(&path).is_ok_and(|cur| cur.trim() == value) {
            continue;
        }
        std::fs::write(&path, value).map_err(fail)?;
    }
    Ok(())
}

fn del_by_name(nl: &Netlink, name: &str) -> Result<()> {
    nl.del_link_by_name(name)
}

/// Deletes the interface `ifname` inside the namespace at `path` (a macvlan/ipvlan link at
/// `network disconnect`: it has no host side); a missing one is fine.
pub fn delete_link_in(path: &Path, ifname: &str) -> Result<()> {
    let (path, ifname) = (path.to_path_buf(), ifname.to_string());
    on_own_thread(move || {
        let ns_fd = open_ns(&path)?;
        nix::sched::setns(&ns_fd, nix::sched::CloneFlags::CLONE_NEWNET)
            .map_err(|e| ns_err(&path, e.into()))?;
        delete_host_link(&ifname)
    })
}

/// Deletes a host-side veth (its peer goes with it); a missing one is fine.
pub fn delete_host_link(name: &str) -> Result<()> {
    if name.is_empty() {
        return Ok(());
    }
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

/// Unmounts and removes a namespace file, and the user namespace made with it if any; the
/// namespaces go when their last user does.
pub fn remove(path: &Path) -> Result<()> {
    remove_file_mount(path)?;
    remove_file_mount(&user_pin(path))
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
