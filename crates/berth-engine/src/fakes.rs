//! Recording fakes of the engine's seams, for unit tests that run unprivileged: a runtime
//! whose "containers" exit when told to (or when signalled), a data plane that keeps its
//! namespaces as plain files and binds only loopback sockets, and a mounter that copies
//! layers into the rootfs directory. Each records its calls and can be told to fail a step.

use berth_image::mounter::{Mounter, SourceMount, VolumeFs};
use berth_image::ImageError;
use berth_net::firewall::{NetRules, PortRule};
use berth_net::netns::{Endpoint, NetnsOwner};
use berth_net::plane::DataPlane;
use berth_net::ports::Reservation;
use berth_net::NetError;
use berth_runtime::adapter::{BoxFuture, RuntimeAdapter};
use berth_runtime::client::{ClientError, ExecStartError};
use berth_runtime::{ExitStatus, SpawnOptions, StartError};
use ipnet::{Ipv4Net, Ipv6Net};
use std::collections::{BTreeSet, HashMap, VecDeque};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, UdpSocket};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Mutex;
use tokio::io::AsyncWriteExt;
use tokio::net::UnixStream;
use tokio::sync::watch;

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// One fake container process.
struct Proc {
    pid: i32,
    started: bool,
    exit: watch::Sender<Option<ExitStatus>>,
}

/// A runtime whose containers run until `exit` (or a terminating signal) ends them.
#[derive(Default)]
pub struct FakeRuntime {
    procs: Mutex<HashMap<PathBuf, Proc>>,
    next_pid: AtomicI32,
    /// Every call, in order (`spawn <id>`, `start`, `kill <sig>`, `exec <id>`, ...).
    pub calls: Mutex<Vec<String>>,
    /// The options each spawn got.
    pub spawned: Mutex<Vec<SpawnOptions>>,
    /// The next spawn fails so.
    pub fail_spawn: Mutex<Option<StartError>>,
    /// The next start fails so (the container's process then ends).
    pub fail_start: Mutex<Option<StartError>>,
    /// SIGTERM is ignored (a container that has to be killed).
    pub ignore_sigterm: std::sync::atomic::AtomicBool,
    /// The next signal finds the process just exited (exit 0), before the monitor can record
    /// it: the shim answers "not running" (the race of a kill with the container's own exit).
    pub exits_before_signal: std::sync::atomic::AtomicBool,
    /// Exit code and output of the next execs (health probes), in order; then exit 0.
    pub exec_results: Mutex<VecDeque<(i32, String)>>,
    exec_codes: Mutex<HashMap<String, i32>>,
    /// The pids `kill_process` was asked to signal.
    pub killed_processes: Mutex<Vec<i32>>,
    /// Streams kept open for attaches (their other ends).
    streams: Mutex<Vec<UnixStream>>,
}

impl FakeRuntime {
    fn record(&self, call: String) {
        lock(&self.calls).push(call);
    }

    /// Ends the container in `dir` with `code`, as its init exiting would.
    pub fn exit(&self, dir: &Path, code: i32) {
        if let Some(p) = lock(&self.procs).get(dir) {
            p.exit.send_replace(Some(ExitStatus {
                exit_code: code,
                finished_at: String::new(),
                oom_killed: false,
            }));
        }
    }

    /// Whether a process runs for the container in `dir` (spawned, not exited).
    pub fn running(&self, dir: &Path) -> bool {
        lock(&self.procs)
            .get(dir)
            .is_some_and(|p| p.exit.borrow().is_none())
    }

    /// The calls recorded, matching `prefix`.
    pub fn calls_like(&self, prefix: &str) -> Vec<String> {
        lock(&self.calls)
            .iter()
            .filter(|c| c.starts_with(prefix))
            .cloned()
            .collect()
    }
}

impl RuntimeAdapter for FakeRuntime {
    fn spawn(&self, opts: SpawnOptions) -> BoxFuture<'_, Result<(), StartError>> {
        Box::pin(async move {
            self.record(format!("spawn {}", opts.id));
            if let Some(e) = lock(&self.fail_spawn).take() {
                return Err(e);
            }
            let pid = 1000 + self.next_pid.fetch_add(1, Ordering::Relaxed);
            lock(&self.procs).insert(
                opts.dir.clone(),
                Proc {
                    pid,
                    started: false,
                    exit: watch::channel(None).0,
                },
            );
            lock(&self.spawned).push(opts);
            Ok(())
        })
    }

    fn start<'a>(&'a self, dir: &'a Path) -> BoxFuture<'a, Result<i32, StartError>> {
        Box::pin(async move {
            self.record("start".into());
            if let Some(e) = lock(&self.fail_start).take() {
                self.exit(dir, e.exit_code);
                return Err(e);
            }
            let mut procs = lock(&self.procs);
            let p = procs
                .get_mut(dir)
                .ok_or_else(|| StartError::classify("shim connection: no such shim"))?;
            p.started = true;
            Ok(p.pid)
        })
    }

    fn alive<'a>(&'a self, dir: &'a Path) -> BoxFuture<'a, bool> {
        Box::pin(async move { self.running(dir) })
    }

    fn kill<'a>(&'a self, dir: &'a Path, signal: i32) -> BoxFuture<'a, Result<(), ClientError>> {
        Box::pin(async move {
            self.record(format!("kill {signal}"));
            if self.exits_before_signal.swap(false, Ordering::Relaxed) {
                self.exit(dir, 0);
            }
            if !self.running(dir) {
                return Err(ClientError::Shim(berth_runtime::shim::NOT_RUNNING.into()));
            }
            let ignored = signal == libc::SIGTERM && self.ignore_sigterm.load(Ordering::Relaxed);
            if matches!(signal, libc::SIGTERM | libc::SIGKILL | libc::SIGINT) && !ignored {
                self.exit(dir, 128 + signal);
            }
            Ok(())
        })
    }

    fn wait<'a>(&'a self, dir: &'a Path) -> BoxFuture<'a, Result<ExitStatus, ClientError>> {
        Box::pin(async move {
            let rx = lock(&self.procs).get(dir).map(|p| p.exit.subscribe());
            let Some(mut rx) = rx else {
                return Err(ClientError::Shim("no such shim".into()));
            };
            let st = rx
                .wait_for(Option::is_some)
                .await
                .map_err(|_| ClientError::Shim("shim gone".into()))?;
            Ok(st.clone().unwrap_or(ExitStatus {
                exit_code: 255,
                finished_at: String::new(),
                oom_killed: false,
            }))
        })
    }

    fn read_exit(&self, dir: &Path) -> Option<ExitStatus> {
        lock(&self.procs)
            .get(dir)
            .and_then(|p| p.exit.borrow().clone())
    }

    fn attach<'a>(
        &'a self,
        _dir: &'a Path,
        _stdin: bool,
        _stdout: bool,
        _stderr: bool,
    ) -> BoxFuture<'a, Result<UnixStream, ClientError>> {
        Box::pin(async move {
            self.record("attach".into());
            let (mine, theirs) = UnixStream::pair()?;
            lock(&self.streams).push(theirs);
            Ok(mine)
        })
    }

    fn resize<'a>(
        &'a self,
        _dir: &'a Path,
        _exec_id: Option<&'a str>,
        height: u16,
        width: u16,
    ) -> BoxFuture<'a, Result<(), ClientError>> {
        Box::pin(async move {
            self.record(format!("resize {height}x{width}"));
            Ok(())
        })
    }

    fn exec<'a>(
        &'a self,
        _dir: &'a Path,
        exec_id: &'a str,
        _process: &'a oci_spec::runtime::Process,
        _streams: (bool, bool, bool),
    ) -> BoxFuture<'a, Result<(i32, UnixStream), ExecStartError>> {
        Box::pin(async move {
            self.record(format!("exec {exec_id}"));
            let (code, output) = lock(&self.exec_results)
                .pop_front()
                .unwrap_or((0, String::new()));
            lock(&self.exec_codes).insert(exec_id.to_string(), code);
            let (mine, mut theirs) =
                UnixStream::pair().map_err(|e| ExecStartError::Client(e.into()))?;
            // One stdout frame (Docker's multiplexing), then EOF.
            let mut frame = vec![1u8, 0, 0, 0];
            frame.extend_from_slice(&(output.len() as u32).to_be_bytes());
            frame.extend_from_slice(output.as_bytes());
            theirs
                .write_all(&frame)
                .await
                .map_err(|e| ExecStartError::Client(e.into()))?;
            let pid = 5000 + self.next_pid.fetch_add(1, Ordering::Relaxed);
            Ok((pid, mine))
        })
    }

    fn exec_wait<'a>(
        &'a self,
        _dir: &'a Path,
        exec_id: &'a str,
    ) -> BoxFuture<'a, Result<i32, ClientError>> {
        Box::pin(async move {
            lock(&self.exec_codes)
                .get(exec_id)
                .copied()
                .ok_or_else(|| ClientError::Shim(format!("no such exec: {exec_id}")))
        })
    }

    fn kill_process(&self, pid: i32, _signal: i32) {
        lock(&self.killed_processes).push(pid);
    }

    fn forget(&self, dir: &Path) {
        self.record(format!("forget {}", dir.display()));
    }
}

/// The step of the data plane to fail next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlaneStep {
    CreateNetns,
    AddEndpoint,
    Resolver,
    Rules,
}

/// A data plane without a kernel: namespaces are plain files, links and bridges names in
/// sets, rules the last table applied; resolver and port sockets are real, on loopback.
#[derive(Default)]
pub struct FakePlane {
    pub calls: Mutex<Vec<String>>,
    pub bridges: Mutex<BTreeSet<String>>,
    pub links: Mutex<BTreeSet<String>>,
    pub namespaces: Mutex<BTreeSet<PathBuf>>,
    /// The last published ports' rules applied.
    pub port_rules: Mutex<Vec<PortRule>>,
    /// Fails the named step once.
    pub fail: Mutex<Option<PlaneStep>>,
    /// Fails the reservation of this host port (address in use).
    pub busy_port: Mutex<Option<u16>>,
    /// The loopback ports actually bound for each reservation (to check they are freed).
    pub bound: Mutex<Vec<u16>>,
    /// Every endpoint made (namespace creation and added endpoints), in order.
    pub endpoints: Mutex<Vec<Endpoint>>,
}

impl FakePlane {
    /// The last endpoint made (tests check what the engine asked the data plane for).
    pub fn last_endpoint(&self) -> Option<Endpoint> {
        lock(&self.endpoints).last().cloned()
    }

    fn record(&self, call: String) {
        lock(&self.calls).push(call);
    }

    fn failing(&self, step: PlaneStep) -> bool {
        let mut f = lock(&self.fail);
        if *f == Some(step) {
            *f = None;
            return true;
        }
        false
    }

    fn injected() -> NetError {
        NetError::Invalid("injected failure".into())
    }
}

impl DataPlane for FakePlane {
    fn ensure_bridge(
        &self,
        name: &str,
        _gateway: Ipv4Addr,
        _prefix: u8,
        _mtu: Option<u32>,
    ) -> berth_net::Result<()> {
        lock(&self.bridges).insert(name.to_string());
        Ok(())
    }

    fn ensure_bridge_v6(&self, _name: &str, _gw: Ipv6Addr, _prefix: u8) -> berth_net::Result<()> {
        Ok(())
    }

    fn remove_bridge(&self, name: &str) -> berth_net::Result<()> {
        lock(&self.bridges).remove(name);
        Ok(())
    }

    fn apply_rules(
        &self,
        _table: &str,
        _nets: &[NetRules],
        ports: &[PortRule],
        _mesh: &[berth_net::lb::MeshPort],
    ) -> berth_net::Result<()> {
        if self.failing(PlaneStep::Rules) {
            return Err(Self::injected());
        }
        *lock(&self.port_rules) = ports.to_vec();
        Ok(())
    }

    fn remove_rules(&self, _table: &str) -> berth_net::Result<()> {
        lock(&self.port_rules).clear();
        Ok(())
    }

    fn rules_exist(&self, _table: &str) -> berth_net::Result<bool> {
        Ok(true)
    }

    fn sync_forward_accept(
        &self,
        _table: &str,
        v4: &[String],
        v6: &[String],
    ) -> [berth_net::Result<Option<&'static str>>; 2] {
        self.record(format!("forward_accept {} {}", v4.len(), v6.len()));
        [Ok(None), Ok(None)]
    }

    fn remove_forward_accept(&self, _table: &str) -> berth_net::Result<()> {
        self.record("remove_forward_accept".into());
        Ok(())
    }

    fn link_exists(&self, name: &str) -> bool {
        lock(&self.bridges).contains(name) || lock(&self.links).contains(name)
    }

    fn ensure_parent(&self, name: &str, dummy: bool) -> berth_net::Result<bool> {
        self.record(format!("ensure_parent {name} {dummy}"));
        if self.link_exists(name) {
            return Ok(false);
        }
        if !dummy {
            // The real plane's checks of `IF.VLAN` (the base must be a known link).
            berth_net::parent::parse_vlan(name, |b| self.link_exists(b))?;
        }
        lock(&self.links).insert(name.to_string());
        Ok(true)
    }

    fn delete_link_in(&self, _netns: &Path, ifname: &str) -> berth_net::Result<()> {
        self.record(format!("delete_link_in {ifname}"));
        Ok(())
    }

    fn create_netns(
        &self,
        path: &Path,
        endpoints: Vec<Endpoint>,
        owner: NetnsOwner,
    ) -> berth_net::Result<()> {
        match owner {
            NetnsOwner::Host => self.record(format!("create_netns {}", endpoints.len())),
            other => self.record(format!("create_netns {} {other:?}", endpoints.len())),
        }
        if self.failing(PlaneStep::CreateNetns) {
            return Err(Self::injected());
        }
        lock(&self.endpoints).extend(endpoints.iter().cloned());
        std::fs::write(path, b"").map_err(|e| NetError::Netns {
            path: path.display().to_string(),
            source: e,
        })?;
        lock(&self.namespaces).insert(path.to_path_buf());
        let mut links = lock(&self.links);
        // macvlan/ipvlan links have no host side.
        for ep in endpoints.into_iter().filter(|e| !e.host_veth.is_empty()) {
            links.insert(ep.host_veth);
        }
        Ok(())
    }

    fn add_endpoint(&self, _path: &Path, endpoint: Endpoint) -> berth_net::Result<()> {
        self.record(format!("add_endpoint {}", endpoint.ifname));
        if self.failing(PlaneStep::AddEndpoint) {
            return Err(Self::injected());
        }
        lock(&self.endpoints).push(endpoint.clone());
        if !endpoint.host_veth.is_empty() {
            lock(&self.links).insert(endpoint.host_veth);
        }
        Ok(())
    }

    fn remove_netns(&self, path: &Path) -> berth_net::Result<()> {
        let _ = std::fs::remove_file(path);
        lock(&self.namespaces).remove(path);
        Ok(())
    }

    fn delete_host_link(&self, name: &str) -> berth_net::Result<()> {
        lock(&self.links).remove(name);
        Ok(())
    }

    fn delete_host_links_later(&self, names: &[String]) {
        let mut links = lock(&self.links);
        for n in names {
            links.remove(n);
        }
    }

    fn ensure_default_route(&self, _ns: &Path, _gw: Ipv4Addr) -> berth_net::Result<bool> {
        Ok(true)
    }

    fn ensure_default_route6(
        &self,
        _ns: &Path,
        _gw: Ipv6Addr,
        _ifname: &str,
    ) -> berth_net::Result<bool> {
        Ok(true)
    }

    fn host_routes(&self) -> Vec<(String, Ipv4Net)> {
        Vec::new()
    }

    fn host_routes6(&self) -> Vec<Ipv6Net> {
        Vec::new()
    }

    fn listen_resolver(&self, _netns: &Path) -> berth_net::Result<(UdpSocket, TcpListener)> {
        self.record("listen_resolver".into());
        if self.failing(PlaneStep::Resolver) {
            return Err(Self::injected());
        }
        let err = |e: std::io::Error| NetError::Invalid(e.to_string());
        let udp = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).map_err(err)?;
        let tcp = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).map_err(err)?;
        udp.set_nonblocking(true).map_err(err)?;
        tcp.set_nonblocking(true).map_err(err)?;
        Ok((udp, tcp))
    }

    fn reserve_port(&self, proto: &str, addr: SocketAddr) -> std::io::Result<(u16, Reservation)> {
        if *lock(&self.busy_port) == Some(addr.port()) && addr.port() != 0 {
            return Err(std::io::ErrorKind::AddrInUse.into());
        }
        let local = (Ipv4Addr::LOCALHOST, 0);
        let (port, r) = if proto == "udp" {
            let s = UdpSocket::bind(local)?;
            (s.local_addr()?.port(), Reservation::Udp(s))
        } else {
            let s = TcpListener::bind(local)?;
            (s.local_addr()?.port(), Reservation::Tcp(s))
        };
        lock(&self.bound).push(port);
        let shown = if addr.port() == 0 { port } else { addr.port() };
        self.record(format!("reserve {proto} {} -> {shown}", addr.ip()));
        Ok((shown, r))
    }
}

/// A mounter without mounts: the "rootfs" is a copy of the layers, volumes' filesystems are
/// only recorded.
#[derive(Default)]
pub struct FakeMounter {
    /// Container directories whose rootfs is "mounted".
    pub mounted: Mutex<BTreeSet<PathBuf>>,
    pub calls: Mutex<Vec<String>>,
    /// The next rootfs mount fails.
    pub fail_mount: std::sync::atomic::AtomicBool,
    /// The host's mounts as `source_mount` sees them (mount point, shared, slave); `/`
    /// (private) when no entry is a parent.
    pub host_mounts: Mutex<Vec<(String, bool, bool)>>,
    /// Rootfs unmounts wait while a test holds this for writing (a slow teardown).
    pub unmount_gate: std::sync::RwLock<()>,
}

fn copy_tree(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let t = e.file_type()?;
        let dest = to.join(e.file_name());
        if t.is_dir() {
            copy_tree(&e.path(), &dest)?;
        } else if t.is_symlink() {
            let _ = std::fs::remove_file(&dest);
            std::os::unix::fs::symlink(std::fs::read_link(e.path())?, &dest)?;
        } else {
            std::fs::copy(e.path(), &dest)?;
        }
    }
    Ok(())
}

impl Mounter for FakeMounter {
    fn mount_rootfs(
        &self,
        layers: &[PathBuf],
        container_dir: &Path,
    ) -> Result<PathBuf, ImageError> {
        lock(&self.calls).push("mount_rootfs".into());
        let rootfs = container_dir.join("bundle/rootfs");
        let io = |e: std::io::Error| ImageError::Io {
            context: "fake rootfs".into(),
            source: e,
        };
        if self.fail_mount.swap(false, Ordering::Relaxed) {
            return Err(io(std::io::Error::other("injected failure")));
        }
        std::fs::create_dir_all(&rootfs).map_err(io)?;
        for l in layers {
            copy_tree(l, &rootfs).map_err(io)?;
        }
        lock(&self.mounted).insert(container_dir.to_path_buf());
        Ok(rootfs)
    }

    fn unmount_rootfs(&self, container_dir: &Path) -> Result<(), ImageError> {
        let _gate = self.unmount_gate.read().unwrap_or_else(|e| e.into_inner());
        lock(&self.calls).push("unmount_rootfs".into());
        lock(&self.mounted).remove(container_dir);
        Ok(())
    }

    fn mount_volume(&self, fs: &VolumeFs, target: &Path) -> Result<(), String> {
        lock(&self.calls).push(format!("mount_volume {} {}", fs.fs_type, target.display()));
        Ok(())
    }

    fn unmount_volume(&self, target: &Path) -> std::io::Result<()> {
        lock(&self.calls).push(format!("unmount_volume {}", target.display()));
        Ok(())
    }

    fn is_mount_point(&self, _path: &Path) -> bool {
        false
    }

    fn source_mount(&self, path: &Path) -> Result<SourceMount, String> {
        let info: String = std::iter::once("1 0 0:1 / / rw - ext4 root rw".to_string())
            .chain(
                lock(&self.host_mounts)
                    .iter()
                    .enumerate()
                    .map(|(n, (mp, sh, sl))| {
                        let mut opt = Vec::new();
                        if *sh {
                            opt.push(format!("shared:{}", n + 1));
                        }
                        if *sl {
                            opt.push(format!("master:{}", n + 100));
                        }
                        format!("{} 1 0:{n} / {mp} rw {} - tmpfs t rw", n + 2, opt.join(" "))
                    }),
            )
            .collect::<Vec<_>>()
            .join("\n");
        berth_image::mounter::source_mount_in(&info, &path.to_string_lossy())
            .ok_or_else(|| format!("could not find source mount of {}", path.display()))
    }
}
