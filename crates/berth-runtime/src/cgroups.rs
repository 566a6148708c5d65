//! The container's cgroup for the native runtime: created, limited, joined by the init
//! before it runs anything, read (OOM) and removed.
//!
//! cgroup v1 (one directory per mounted hierarchy, as on hybrid hosts) and the unified v2
//! hierarchy are both handled; v1 is used whenever /sys/fs/cgroup is not a cgroup2 mount.

use crate::systemd_cgroup::{self, ScopePath};
use oci_spec::runtime::LinuxResources;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

const ROOT: &str = "/sys/fs/cgroup";

#[derive(Debug, Clone)]
pub struct Cgroup {
    /// v1: one directory per hierarchy; v2: exactly one (none yet for a systemd scope
    /// that is not started).
    dirs: Vec<PathBuf>,
    v2: bool,
    /// The systemd driver's scope (`crate::systemd_cgroup`): systemd creates the cgroup
    /// around the init in [`Cgroup::start_scope`].
    scope: Option<ScopePath>,
}

/// The v1 hierarchies mounted under /sys/fs/cgroup (mount points): its entries that are
/// cgroup (v1) filesystems. Symlinks (`cpu -> cpu,cpuacct`) name a hierarchy twice and are
/// skipped. Read with a statfs per entry, not from mountinfo, which grows with every
/// container's mounts and was a visible share of each container start.
pub fn v1_hierarchies() -> io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for e in fs::read_dir(ROOT)?.flatten() {
        if e.file_type().is_ok_and(|t| t.is_symlink() || !t.is_dir()) {
            continue;
        }
        let p = e.path();
        let is_v1 = nix::sys::statfs::statfs(&p)
            .is_ok_and(|s| s.filesystem_type() == nix::sys::statfs::CGROUP_SUPER_MAGIC);
        if is_v1 {
            out.push(p);
        }
    }
    out.sort();
    Ok(out)
}

fn write(dir: &Path, file: &str, value: &str) -> io::Result<()> {
    fs::write(dir.join(file), value).map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("write {value:?} to {}: {e}", dir.join(file).display()),
        )
    })
}

/// Whether the cpu controller schedules real-time tasks per cgroup (cgroup v1 with
/// CONFIG_RT_GROUP_SCHED: `cpu.rt_period_us` at its root), as moby's sysinfo reads it.
pub fn cpu_realtime_supported() -> bool {
    !crate::spec::host_cgroup_v2()
        && v1_dir("cpu", "/").is_some_and(|d| d.join("cpu.rt_period_us").exists())
}

/// One real-time knob, failing in runc's words (`failed to write "V": write PATH: ERR`).
fn write_rt(dir: &Path, file: &str, value: &str) -> io::Result<()> {
    let path = dir.join(file);
    fs::write(&path, value).map_err(|e| {
        let why = go_errno(&e);
        io::Error::new(
            e.kind(),
            format!("failed to write {value:?}: write {}: {why}", path.display()),
        )
    })
}

/// An OS error as Go prints it ("invalid argument").
fn go_errno(e: &io::Error) -> String {
    let text = e.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text);
    let mut c = text.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// runc's SetRtSched: the kernel keeps runtime <= period at every step, so a period it
/// refuses with EINVAL while a runtime comes too is retried after the runtime.
fn set_rt_sched(dir: &Path, period: Option<u64>, runtime: Option<i64>) -> io::Result<()> {
    // Only the cpu hierarchy has the knobs (v1 applies the resources to every hierarchy).
    if !dir.join("cpu.rt_period_us").exists() {
        return Ok(());
    }
    let runtime = runtime.filter(|r| *r != 0);
    let mut pending = None;
    if let Some(p) = period.filter(|p| *p != 0) {
        let v = p.to_string();
        if let Err(e) = write_rt(dir, "cpu.rt_period_us", &v) {
            if e.kind() != io::ErrorKind::InvalidInput || runtime.is_none() {
                return Err(e);
            }
            pending = Some(v);
        }
    }
    if let Some(r) = runtime {
        write_rt(dir, "cpu.rt_runtime_us", &r.to_string())?;
        if let Some(v) = pending {
            write_rt(dir, "cpu.rt_period_us", &v)?;
        }
    }
    Ok(())
}

/// Writes only when the knob exists (kernels and hierarchies differ).
fn write_if_exists(dir: &Path, file: &str, value: &str) -> io::Result<()> {
    if dir.join(file).exists() {
        write(dir, file, value)
    } else {
        Ok(())
    }
}

impl Cgroup {
    /// Creates `rel` (e.g. "/berth/<id>") in every hierarchy. A systemd `cgroupsPath`
    /// (`slice:prefix:name`) creates nothing yet: see [`Cgroup::start_scope`].
    pub fn create(rel: &str) -> io::Result<Cgroup> {
        let v2 = crate::spec::host_cgroup_v2();
        if let Some(scope) = ScopePath::parse(rel) {
            if !crate::dbus::systemd_booted() {
                // runc's words for the same situation.
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "systemd cgroup flag passed, but systemd support for managing cgroups is not available",
                ));
            }
            if !v2 {
                return Err(io::Error::new(
                    io::ErrorKind::Unsupported,
                    "the systemd cgroup driver needs a cgroup v2 host",
                ));
            }
            scope
                .cgroup()
                .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e))?;
            return Ok(Cgroup {
                dirs: Vec::new(),
                v2,
                scope: Some(scope),
            });
        }
        let rel = rel.trim_start_matches('/');
        let dirs: Vec<PathBuf> = if v2 {
            vec![Path::new(ROOT).join(rel)]
        } else {
            v1_hierarchies()?.into_iter().map(|h| h.join(rel)).collect()
        };
        let cg = Cgroup {
            dirs,
            v2,
            scope: None,
        };
        for d in &cg.dirs {
            fs::create_dir_all(d)?;
        }
        if v2 {
            cg.enable_v2_controllers(rel);
        } else {
            cg.fill_cpusets(rel)?;
        }
        Ok(cg)
    }

    /// The cgroup at `rel` (either driver's `cgroupsPath`) as another runtime created it
    /// (nothing is created).
    pub fn existing(rel: &str) -> Cgroup {
        let rel = systemd_cgroup::cgroup_of(rel);
        let rel = rel.trim_start_matches('/');
        let v2 = crate::spec::host_cgroup_v2();
        let dirs: Vec<PathBuf> = if v2 {
            vec![Path::new(ROOT).join(rel)]
        } else {
            v1_hierarchies()
                .unwrap_or_default()
                .into_iter()
                .map(|h| h.join(rel))
                .filter(|d| d.is_dir())
                .collect()
        };
        Cgroup {
            dirs,
            v2,
            scope: None,
        }
    }

    /// Whether systemd creates this cgroup (the systemd driver).
    pub fn is_systemd(&self) -> bool {
        self.scope.is_some()
    }

    /// The systemd driver: has systemd start the container's scope around `pid` (the init,
    /// not yet running anything) with the limits as unit properties, then writes the same
    /// limits into the scope's cgroup files as the cgroupfs driver does.
    pub fn start_scope(&mut self, pid: i32, res: Option<&LinuxResources>) -> io::Result<()> {
        let Some(scope) = &self.scope else {
            return Ok(());
        };
        let dir = systemd_cgroup::start_scope(scope, pid, res).map_err(io::Error::other)?;
        self.dirs = vec![dir];
        if let Some(r) = res {
            self.apply(r)?;
        }
        Ok(())
    }

    /// The directories, one per hierarchy (v1) or the single v2 one.
    pub fn dirs(&self) -> &[PathBuf] {
        &self.dirs
    }

    pub fn is_v2(&self) -> bool {
        self.v2
    }

    /// v1 cpuset cgroups start empty and refuse tasks: copy the parent's cpus and mems
    /// down every level below the hierarchy root.
    fn fill_cpusets(&self, rel: &str) -> io::Result<()> {
        let depth = rel.split('/').filter(|c| !c.is_empty()).count();
        for d in &self.dirs {
            if !v1_controls(d, "cpuset") || !d.join("cpuset.cpus").exists() {
                continue;
            }
            let mut chain = Vec::new();
            let mut p = d.clone();
            for _ in 0..depth {
                chain.push(p.clone());
                if !p.pop() {
                    break;
                }
            }
            for dir in chain.iter().rev() {
                for f in ["cpuset.cpus", "cpuset.mems"] {
                    let cur = fs::read_to_string(dir.join(f)).unwrap_or_default();
                    if cur.trim().is_empty() {
                        if let Some(parent) = dir.parent() {
                            let v = fs::read_to_string(parent.join(f))?;
                            write(dir, f, v.trim())?;
                        }
                    }
                }
            }
        }
        Ok(())
    }

    /// v2: controllers must be enabled in every ancestor's subtree_control.
    fn enable_v2_controllers(&self, rel: &str) {
        let available =
            fs::read_to_string(Path::new(ROOT).join("cgroup.controllers")).unwrap_or_default();
        let wanted: Vec<String> = available
            .split_whitespace()
            .filter(|c| ["cpu", "cpuset", "memory", "pids", "io"].contains(c))
            .map(|c| format!("+{c}"))
            .collect();
        let mut dir = PathBuf::from(ROOT);
        let parts: Vec<&str> = rel.split('/').filter(|c| !c.is_empty()).collect();
        for part in &parts[..parts.len().saturating_sub(1)] {
            let _ = write(&dir, "cgroup.subtree_control", &wanted.join(" "));
            dir.push(part);
        }
        let _ = write(&dir, "cgroup.subtree_control", &wanted.join(" "));
    }

    /// Moves a process (and so its future children) into the cgroup.
    pub fn add_pid(&self, pid: i32) -> io::Result<()> {
        for d in &self.dirs {
            write(d, "cgroup.procs", &pid.to_string())?;
        }
        Ok(())
    }

    /// Applies the spec's resources.
    pub fn apply(&self, r: &LinuxResources) -> io::Result<()> {
        for d in &self.dirs {
            if self.v2 {
                apply_common(d, r)?;
                apply_v2(d, r)?;
            } else {
                // apply_common writes cpuset and pids files only.
                if v1_controls(d, "cpuset") || v1_controls(d, "pids") {
                    apply_common(d, r)?;
                }
                apply_v1(d, r)?;
            }
        }
        Ok(())
    }

    /// Whether the kernel OOM-killed a process of this cgroup, from its counters as they
    /// are now. The systemd driver's scope may be gone already (systemd removes an emptied
    /// scope's cgroup): the shim's `crate::oom::OomWatch` is the answer that holds there.
    pub fn oom_killed(&self) -> bool {
        let file = if self.v2 {
            "memory.events"
        } else {
            "memory.oom_control"
        };
        let counts: Vec<Option<u64>> = self
            .dirs
            .iter()
            .filter(|d| self.v2 || v1_controls(d, "memory"))
            .map(|d| oom_kill_count(&d.join(file)))
            .collect();
        oom_decision(&counts)
    }

    /// Removes the directories; a cgroup still emptying is retried briefly. (A systemd
    /// scope goes when its last process has: systemd collects it; removing its directory
    /// first is harmless.)
    pub fn remove(&self) {
        for d in &self.dirs {
            for attempt in 0..100 {
                match fs::remove_dir(d) {
                    Ok(()) => break,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => break,
                    Err(e) => {
                        if attempt == 99 {
                            tracing::warn!("cannot remove cgroup {}: {e}", d.display());
                        }
                        std::thread::sleep(std::time::Duration::from_millis(2));
                    }
                }
            }
        }
    }
}

/// The knobs v1 and v2 name alike: cpuset and pids.
fn apply_common(d: &Path, r: &LinuxResources) -> io::Result<()> {
    if let Some(c) = r.cpu() {
        if let Some(cpus) = c.cpus().as_deref().filter(|s| !s.is_empty()) {
            write_if_exists(d, "cpuset.cpus", cpus)?;
        }
        if let Some(mems) = c.mems().as_deref().filter(|s| !s.is_empty()) {
            write_if_exists(d, "cpuset.mems", mems)?;
        }
    }
    if let Some(p) = r.pids() {
        let v = if p.limit() > 0 {
            p.limit().to_string()
        } else {
            "max".into()
        };
        write_if_exists(d, "pids.max", &v)?;
    }
    Ok(())
}

/// Whether the cgroup at `rel` (e.g. "/berth/<id>", as a runtime that owns it created it)
/// recorded an OOM kill, in either layout, as it is now (an OCI runtime's systemd scope may
/// be gone: the shim's `crate::oom::OomWatch` covers that).
pub fn oom_killed_at(cgroups_path: &str) -> bool {
    let rel = systemd_cgroup::cgroup_of(cgroups_path);
    let rel = rel.trim_start_matches('/');
    let v2 = Path::new(ROOT).join(rel).join("memory.events");
    let v1 = Path::new(ROOT)
        .join("memory")
        .join(rel)
        .join("memory.oom_control");
    oom_decision(&[oom_kill_count(&v2).or_else(|| oom_kill_count(&v1))])
}

/// Whether the v1 cgroup `dir` is in the hierarchy of `controller`
/// (`/sys/fs/cgroup/memory/...`, or one that mounts it with others: `cpu,cpuacct`): only
/// there can it have that controller's files. Checked before looking for a file in each of
/// a container's dozen v1 directories, which cost a lookup per directory at every start.
fn v1_controls(dir: &Path, controller: &str) -> bool {
    dir.strip_prefix(ROOT)
        .ok()
        .and_then(|rel| rel.components().next())
        .and_then(|c| c.as_os_str().to_str())
        .is_some_and(|h| h.split(',').any(|c| c == controller))
}

/// Whether a container was OOM-killed, from its cgroups' `oom_kill` counters (None: the
/// file could not be read, e.g. the cgroup is gone): any count above 0.
fn oom_decision(counts: &[Option<u64>]) -> bool {
    counts.iter().any(|c| c.is_some_and(|n| n > 0))
}

/// The file's `oom_kill` count; None when it cannot be read (or has no such line).
fn oom_kill_count(file: &Path) -> Option<u64> {
    fs::read_to_string(file)
        .ok()
        .and_then(|s| crate::oom::oom_kill_of(&s))
}

fn apply_v1(d: &Path, r: &LinuxResources) -> io::Result<()> {
    if let Some(m) = r.memory() {
        if let Some(limit) = m.limit() {
            write_if_exists(d, "memory.limit_in_bytes", &limit.to_string())?;
        }
        if let Some(swap) = m.swap() {
            write_if_exists(d, "memory.memsw.limit_in_bytes", &swap.to_string())?;
        }
        if let Some(res) = m.reservation() {
            write_if_exists(d, "memory.soft_limit_in_bytes", &res.to_string())?;
        }
        if m.disable_oom_killer() == Some(true) {
            write_if_exists(d, "memory.oom_control", "1")?;
        }
        if let Some(sw) = m.swappiness() {
            write_if_exists(d, "memory.swappiness", &sw.to_string())?;
        }
    }
    if let Some(c) = r.cpu() {
        if let Some(shares) = c.shares().filter(|s| *s > 0) {
            write_if_exists(d, "cpu.shares", &shares.to_string())?;
        }
        if let Some(period) = c.period().filter(|p| *p > 0) {
            write_if_exists(d, "cpu.cfs_period_us", &period.to_string())?;
        }
        if let Some(quota) = c.quota().filter(|q| *q > 0) {
            write_if_exists(d, "cpu.cfs_quota_us", &quota.to_string())?;
        }
        if c.realtime_period().is_some() || c.realtime_runtime().is_some() {
            set_rt_sched(d, c.realtime_period(), c.realtime_runtime())?;
        }
    }
    if let Some(b) = r.block_io() {
        if let Some(w) = b.weight().filter(|w| *w > 0) {
            write_if_exists(d, "blkio.weight", &w.to_string())?;
        }
        for wd in b.weight_device().iter().flatten() {
            if let Some(w) = wd.weight() {
                let v = format!("{}:{} {w}", wd.major(), wd.minor());
                write_if_exists(d, "blkio.weight_device", &v)?;
            }
        }
        for (file, devs) in [
            (
                "blkio.throttle.read_bps_device",
                b.throttle_read_bps_device(),
            ),
            (
                "blkio.throttle.write_bps_device",
                b.throttle_write_bps_device(),
            ),
            (
                "blkio.throttle.read_iops_device",
                b.throttle_read_iops_device(),
            ),
            (
                "blkio.throttle.write_iops_device",
                b.throttle_write_iops_device(),
            ),
        ] {
            for t in devs.iter().flatten() {
                let v = format!("{}:{} {}", t.major(), t.minor(), t.rate());
                write_if_exists(d, file, &v)?;
            }
        }
    }
    if d.join("devices.deny").exists() {
        // Each write is one rule (the kernel parses one per write), but one open of each
        // file serves them all: Docker's default list is some 20 rules per container.
        let mut files: [Option<fs::File>; 2] = [None, None];
        for dev in r.devices().iter().flatten() {
            let kind = dev.typ().map(|t| t.as_str().to_string());
            let rule = match kind.as_deref() {
                None | Some("a") => "a".to_string(),
                Some(k) => {
                    let major = dev.major().map_or("*".to_string(), |m| m.to_string());
                    let minor = dev.minor().map_or("*".to_string(), |m| m.to_string());
                    let access = dev.access().clone().unwrap_or_else(|| "rwm".into());
                    format!("{k} {major}:{minor} {access}")
                }
            };
            let (file, slot) = if dev.allow() {
                ("devices.allow", 0)
            } else {
                ("devices.deny", 1)
            };
            let failed = |e: io::Error| {
                io::Error::new(
                    e.kind(),
                    format!("write {rule:?} to {}: {e}", d.join(file).display()),
                )
            };
            let f = match &mut files[slot] {
                Some(f) => f,
                empty => empty.insert(
                    fs::OpenOptions::new()
                        .write(true)
                        .open(d.join(file))
                        .map_err(failed)?,
                ),
            };
            f.write_all(rule.as_bytes()).map_err(failed)?;
        }
    }
    Ok(())
}

fn apply_v2(d: &Path, r: &LinuxResources) -> io::Result<()> {
    if let Some(m) = r.memory() {
        if let Some(limit) = m.limit() {
            let v = if limit < 0 {
                "max".to_string()
            } else {
                limit.to_string()
            };
            write_if_exists(d, "memory.max", &v)?;
            if let Some(swap) = m.swap() {
                // OCI's swap is memory+swap; v2's swap.max is swap alone.
                let v = if swap < 0 {
                    "max".to_string()
                } else {
                    (swap - limit).max(0).to_string()
                };
                write_if_exists(d, "memory.swap.max", &v)?;
            }
        }
        if let Some(res) = m.reservation() {
            write_if_exists(d, "memory.low", &res.to_string())?;
        }
    }
    if let Some(c) = r.cpu() {
        if let Some(shares) = c.shares().filter(|s| *s > 0) {
            let weight = systemd_cgroup::shares_to_weight(shares);
            write_if_exists(d, "cpu.weight", &weight.to_string())?;
        }
        let period = c.period().filter(|p| *p > 0).unwrap_or(100_000);
        if let Some(quota) = c.quota().filter(|q| *q > 0) {
            write_if_exists(d, "cpu.max", &format!("{quota} {period}"))?;
        }
    }
    if let Some(b) = r.block_io() {
        apply_io_v2(d, b)?;
    }
    // Device rules on v2: an eBPF program attached to the cgroup (a start fails when the
    // kernel refuses it, rather than run a container without its device rules).
    if let Some(rules) = r.devices().as_deref().filter(|d| !d.is_empty()) {
        crate::devices_bpf::attach(d, rules)?;
    }
    Ok(())
}

/// v2 block I/O: the weight in `io.bfq.weight` when the BFQ scheduler offers it (its range
/// is blkio's), else `io.weight` converted as runc does; throttles in `io.max`.
fn apply_io_v2(d: &Path, b: &oci_spec::runtime::LinuxBlockIo) -> io::Result<()> {
    let bfq = d.join("io.bfq.weight").exists();
    if let Some(w) = b.weight().filter(|w| *w > 0) {
        if bfq {
            write(d, "io.bfq.weight", &w.to_string())?;
        } else {
            let v = systemd_cgroup::blkio_to_io_weight(w);
            write_if_exists(d, "io.weight", &format!("default {v}"))?;
        }
    }
    for wd in b.weight_device().iter().flatten() {
        if let Some(w) = wd.weight() {
            let dev = format!("{}:{}", wd.major(), wd.minor());
            if bfq {
                write(d, "io.bfq.weight", &format!("{dev} {w}"))?;
            } else {
                let v = systemd_cgroup::blkio_to_io_weight(w);
                write_if_exists(d, "io.weight", &format!("{dev} {v}"))?;
            }
        }
    }
    for (key, devs) in [
        ("rbps", b.throttle_read_bps_device()),
        ("wbps", b.throttle_write_bps_device()),
        ("riops", b.throttle_read_iops_device()),
        ("wiops", b.throttle_write_iops_device()),
    ] {
        for t in devs.iter().flatten() {
            let v = format!("{}:{} {key}={}", t.major(), t.minor(), t.rate());
            write_if_exists(d, "io.max", &v)?;
        }
    }
    Ok(())
}

/// Starts, ahead of time, the wait that the next container's cgroup migration would pay.
///
/// Every migration (a write to `cgroup.procs`, v1 or v2) takes the kernel's global
/// threadgroup rwsem for write, and the first writer after a quiet spell waits a whole RCU
/// grace period (~11 ms here) before it gets it; writers that follow within about one grace
/// period get it at once. So the engine calls this when a container is created or started:
/// it writes the calling process into the cgroup it already is in (a no-op move that still
/// takes the lock), blocking for the grace period while the rootfs is mounted and the shim
/// starts, and the shim's real migration then finds the lock warm. Errors are ignored: the
/// only cost of failing is the wait we tried to hide. Blocking: call it off the async runtime.
pub fn prime_migration() {
    if let Some(procs) = migration_target() {
        if let Err(e) = fs::write(&procs, std::process::id().to_string()) {
            tracing::debug!("cgroup migration priming in {}: {e}", procs.display());
        }
    }
}

/// The `cgroup.procs` file of the cgroup this process is in (v2, or v1's pids or memory
/// hierarchy: the lock is global, one hierarchy is enough): writing our pid there is the
/// no-op migration `prime_migration` does.
pub fn migration_target() -> Option<PathBuf> {
    let own = fs::read_to_string("/proc/self/cgroup").ok()?;
    let v2 = crate::spec::host_cgroup_v2();
    // v2: "0::/path"; v1: "N:controllers:/path".
    own.lines().find_map(|l| {
        let mut parts = l.splitn(3, ':');
        let (_, ctrl, path) = (parts.next()?, parts.next()?, parts.next()?);
        let path = path.trim_start_matches('/');
        match (v2, ctrl) {
            (true, "") => Some(Path::new(ROOT).join(path).join("cgroup.procs")),
            (false, "pids") | (false, "memory") => {
                Some(Path::new(ROOT).join(ctrl).join(path).join("cgroup.procs"))
            }
            _ => None,
        }
    })
}

// ---- reading and changing a running container's cgroup (top, stats, pause, update) ----

/// The v1 hierarchies, looked up once: mounts under /sys/fs/cgroup do not change while the
/// daemon runs, and stats reads them for every container every second.
fn v1_cached() -> &'static [PathBuf] {
    static H: std::sync::OnceLock<Vec<PathBuf>> = std::sync::OnceLock::new();
    H.get_or_init(|| v1_hierarchies().unwrap_or_default())
}

/// The v1 directory of `rel` in the hierarchy that carries `controller`.
fn v1_dir(controller: &str, rel: &str) -> Option<PathBuf> {
    v1_cached()
        .iter()
        .find(|h| {
            h.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.split(',').any(|c| c == controller))
        })
        .map(|h| h.join(rel.trim_start_matches('/')))
}

/// The directory holding `controller`'s files for `rel`, in either layout.
fn dir_for(controller: &str, rel: &str) -> Option<PathBuf> {
    if crate::spec::host_cgroup_v2() {
        Some(Path::new(ROOT).join(rel.trim_start_matches('/')))
    } else {
        v1_dir(controller, rel)
    }
}

fn read_u64(p: &Path) -> Option<u64> {
    fs::read_to_string(p).ok()?.trim().parse().ok()
}

/// "key value" lines (memory.stat, cpu.stat, cpuacct.stat).
fn read_kv(p: &Path) -> std::collections::BTreeMap<String, u64> {
    fs::read_to_string(p)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_string(), v.trim().parse().ok()?))
        })
        .collect()
}

/// The processes of the cgroup at `rel` (its `cgroup.procs`). A missing cgroup is an error.
pub fn procs(rel: &str) -> io::Result<Vec<i32>> {
    let dir = dir_for("pids", rel)
        .filter(|d| d.exists())
        .or_else(|| dir_for("memory", rel))
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no cgroup hierarchy"))?;
    let s = fs::read_to_string(dir.join("cgroup.procs"))?;
    Ok(s.lines().filter_map(|l| l.trim().parse().ok()).collect())
}

/// Freezes (pause) or thaws (unpause) every process of the cgroup at `rel`, and waits until
/// the kernel reports the new state: v1 `freezer.state`, v2 `cgroup.freeze`.
pub fn freeze(rel: &str, frozen: bool) -> io::Result<()> {
    let v2 = crate::spec::host_cgroup_v2();
    let dir = dir_for("freezer", rel)
        .ok_or_else(|| io::Error::new(io::ErrorKind::NotFound, "no freezer cgroup hierarchy"))?;
    let (file, value) = match (v2, frozen) {
        (true, true) => ("cgroup.freeze", "1"),
        (true, false) => ("cgroup.freeze", "0"),
        (false, true) => ("freezer.state", "FROZEN"),
        (false, false) => ("freezer.state", "THAWED"),
    };
    for _ in 0..1000 {
        write(&dir, file, value)?;
        let done = if v2 {
            let want = if frozen { "frozen 1" } else { "frozen 0" };
            fs::read_to_string(dir.join("cgroup.events"))?
                .lines()
                .any(|l| l.trim() == want)
        } else {
            fs::read_to_string(dir.join("freezer.state"))?.trim() == value
        };
        if done {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    Err(io::Error::new(
        io::ErrorKind::TimedOut,
        format!("cgroup {rel} did not reach {value}"),
    ))
}

/// One block-I/O counter, as Docker's `io_service_bytes_recursive` entries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlkioEntry {
    pub major: u64,
    pub minor: u64,
    pub op: String,
    pub value: u64,
}

/// A sample of the container's counters, in Docker's units (nanoseconds, bytes).
#[derive(Debug, Clone, Default)]
pub struct Stats {
    pub cpu_total: u64,
    pub cpu_percpu: Vec<u64>,
    pub cpu_kernel: u64,
    pub cpu_user: u64,
    pub throttle_periods: u64,
    pub throttled_periods: u64,
    pub throttled_time: u64,
    pub mem_usage: u64,
    pub mem_max_usage: Option<u64>,
    pub mem_failcnt: Option<u64>,
    /// None: unlimited.
    pub mem_limit: Option<u64>,
    pub mem_stat: std::collections::BTreeMap<String, u64>,
    pub blkio: Vec<BlkioEntry>,
    pub pids_current: Option<u64>,
    pub pids_limit: Option<u64>,
    pub v2: bool,
}

/// v1's "no limit" is a huge page-aligned number; v2 writes "max".
fn limit_value(s: &str) -> Option<u64> {
    let v: u64 = s.trim().parse().ok()?;
    (v < (1 << 62)).then_some(v)
}

/// Reads the container's counters straight from its cgroup files (no process spawned).
pub fn stats(rel: &str) -> Stats {
    if crate::spec::host_cgroup_v2() {
        stats_v2(&Path::new(ROOT).join(rel.trim_start_matches('/')))
    } else {
        stats_v1(rel)
    }
}

fn stats_v1(rel: &str) -> Stats {
    let mut s = Stats::default();
    // USER_HZ is 100 on Linux: cpuacct.stat counts in 10 ms ticks.
    const TICK_NS: u64 = 10_000_000;
    if let Some(d) = v1_dir("cpuacct", rel) {
        s.cpu_total = read_u64(&d.join("cpuacct.usage")).unwrap_or(0);
        s.cpu_percpu = fs::read_to_string(d.join("cpuacct.usage_percpu"))
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|v| v.parse().ok())
            .collect();
        let st = read_kv(&d.join("cpuacct.stat"));
        s.cpu_user = st.get("user").copied().unwrap_or(0) * TICK_NS;
        s.cpu_kernel = st.get("system").copied().unwrap_or(0) * TICK_NS;
    }
    if let Some(d) = v1_dir("cpu", rel) {
        let st = read_kv(&d.join("cpu.stat"));
        s.throttle_periods = st.get("nr_periods").copied().unwrap_or(0);
        s.throttled_periods = st.get("nr_throttled").copied().unwrap_or(0);
        s.throttled_time = st.get("throttled_time").copied().unwrap_or(0);
    }
    if let Some(d) = v1_dir("memory", rel) {
        s.mem_usage = read_u64(&d.join("memory.usage_in_bytes")).unwrap_or(0);
        s.mem_max_usage = read_u64(&d.join("memory.max_usage_in_bytes"));
        s.mem_failcnt = read_u64(&d.join("memory.failcnt"));
        s.mem_limit = fs::read_to_string(d.join("memory.limit_in_bytes"))
            .ok()
            .and_then(|v| limit_value(&v));
        s.mem_stat = read_kv(&d.join("memory.stat"));
    }
    if let Some(d) = v1_dir("blkio", rel) {
        for l in fs::read_to_string(d.join("blkio.throttle.io_service_bytes"))
            .unwrap_or_default()
            .lines()
        {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() != 3 {
                continue;
            }
            let Some((ma, mi)) = f[0].split_once(':') else {
                continue;
            };
            if let (Ok(major), Ok(minor), Ok(value)) = (ma.parse(), mi.parse(), f[2].parse()) {
                s.blkio.push(BlkioEntry {
                    major,
                    minor,
                    op: f[1].to_string(),
                    value,
                });
            }
        }
    }
    if let Some(d) = v1_dir("pids", rel) {
        s.pids_current = read_u64(&d.join("pids.current"));
        s.pids_limit = fs::read_to_string(d.join("pids.max"))
            .ok()
            .and_then(|v| v.trim().parse().ok());
    }
    s
}

fn stats_v2(d: &Path) -> Stats {
    let mut s = Stats {
        v2: true,
        ..Default::default()
    };
    let cpu = read_kv(&d.join("cpu.stat"));
    let get = |k: &str| cpu.get(k).copied().unwrap_or(0);
    s.cpu_total = get("usage_usec") * 1000;
    s.cpu_user = get("user_usec") * 1000;
    s.cpu_kernel = get("system_usec") * 1000;
    s.throttle_periods = get("nr_periods");
    s.throttled_periods = get("nr_throttled");
    s.throttled_time = get("throttled_usec") * 1000;
    s.mem_usage = read_u64(&d.join("memory.current")).unwrap_or(0);
    s.mem_limit = fs::read_to_string(d.join("memory.max"))
        .ok()
        .and_then(|v| limit_value(&v));
    s.mem_stat = read_kv(&d.join("memory.stat"));
    for l in fs::read_to_string(d.join("io.stat"))
        .unwrap_or_default()
        .lines()
    {
        let mut f = l.split_whitespace();
        let Some((ma, mi)) = f.next().and_then(|dev| dev.split_once(':')) else {
            continue;
        };
        let (Ok(major), Ok(minor)) = (ma.parse(), mi.parse()) else {
            continue;
        };
        for kv in f {
            let op = match kv.split_once('=') {
                Some(("rbytes", v)) => ("read", v),
                Some(("wbytes", v)) => ("write", v),
                _ => continue,
            };
            if let Ok(value) = op.1.parse() {
                s.blkio.push(BlkioEntry {
                    major,
                    minor,
                    op: op.0.to_string(),
                    value,
                });
            }
        }
    }
    s.pids_current = read_u64(&d.join("pids.current"));
    s.pids_limit = fs::read_to_string(d.join("pids.max"))
        .ok()
        .and_then(|v| v.trim().parse().ok());
    s
}

/// New limits for a running container (`docker update`); None leaves a knob alone.
#[derive(Debug, Clone, Default)]
pub struct Update {
    /// Bytes; -1 unlimited.
    pub memory: Option<i64>,
    /// Memory plus swap, bytes; -1 unlimited.
    pub memory_swap: Option<i64>,
    pub memory_reservation: Option<i64>,
    pub cpu_shares: Option<u64>,
    pub cpu_period: Option<u64>,
    /// -1: no quota.
    pub cpu_quota: Option<i64>,
    /// 0 or -1: unlimited.
    pub pids_limit: Option<i64>,
    /// `cpu.rt_period_us` / `cpu.rt_runtime_us` (cgroup v1 only; 0 leaves them).
    pub cpu_rt_period: Option<u64>,
    pub cpu_rt_runtime: Option<i64>,
}

/// Writes new limits into the cgroup at `rel`, in either layout. A systemd scope
/// (`*.scope`, the systemd driver) also gets them as unit properties, so systemd keeps them.
pub fn update(rel: &str, u: &Update) -> io::Result<()> {
    if crate::spec::host_cgroup_v2() {
        let dir = Path::new(ROOT).join(rel.trim_start_matches('/'));
        update_v2(&dir, u)?;
        if let Some(unit) = dir
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|n| n.ends_with(".scope"))
        {
            let props = systemd_cgroup::update_properties(u, read_u64(&dir.join("memory.max")));
            systemd_cgroup::set_properties(unit, &props)
                .map_err(|e| io::Error::other(format!("systemd unit {unit}: {e}")))?;
        }
        Ok(())
    } else {
        update_v1(rel, u)
    }
}

fn limit_str(v: i64, unlimited: &str) -> String {
    if v < 0 {
        unlimited.to_string()
    } else {
        v.to_string()
    }
}

fn update_v1(rel: &str, u: &Update) -> io::Result<()> {
    if let Some(d) = v1_dir("memory", rel) {
        let mem = u.memory.map(|m| limit_str(m, "-1"));
        let swap = u.memory_swap.map(|m| limit_str(m, "-1"));
        // The kernel keeps memory <= memory+swap at every step: raising both needs swap
        // first, lowering both needs memory first.
        let cur_swap = read_u64(&d.join("memory.memsw.limit_in_bytes"));
        let swap_first = match (u.memory, cur_swap) {
            (Some(m), Some(cur)) => m < 0 || m as u64 > cur,
            _ => false,
        };
        let has_swap = d.join("memory.memsw.limit_in_bytes").exists();
        if swap_first && has_swap {
            if let Some(s) = &swap {
                write(&d, "memory.memsw.limit_in_bytes", s)?;
            }
        }
        if let Some(m) = &mem {
            write(&d, "memory.limit_in_bytes", m)?;
        }
        if !swap_first && has_swap {
            if let Some(s) = &swap {
                write(&d, "memory.memsw.limit_in_bytes", s)?;
            }
        }
        if let Some(r) = u.memory_reservation {
            write_if_exists(&d, "memory.soft_limit_in_bytes", &limit_str(r, "-1"))?;
        }
    }
    if let Some(d) = v1_dir("cpu", rel) {
        if let Some(s) = u.cpu_shares.filter(|s| *s > 0) {
            write_if_exists(&d, "cpu.shares", &s.to_string())?;
        }
        if let Some(p) = u.cpu_period.filter(|p| *p > 0) {
            write_if_exists(&d, "cpu.cfs_period_us", &p.to_string())?;
        }
        if let Some(q) = u.cpu_quota {
            write_if_exists(&d, "cpu.cfs_quota_us", &limit_str(q, "-1"))?;
        }
        if u.cpu_rt_period.is_some() || u.cpu_rt_runtime.is_some() {
            set_rt_sched(&d, u.cpu_rt_period, u.cpu_rt_runtime)?;
        }
    }
    if let (Some(d), Some(p)) = (v1_dir("pids", rel), u.pids_limit) {
        write_if_exists(
            &d,
            "pids.max",
            &limit_str(if p == 0 { -1 } else { p }, "max"),
        )?;
    }
    Ok(())
}

fn update_v2(d: &Path, u: &Update) -> io::Result<()> {
    if let Some(m) = u.memory {
        write_if_exists(d, "memory.max", &limit_str(m, "max"))?;
    }
    if let Some(s) = u.memory_swap {
        // OCI's swap is memory+swap; v2's swap.max is swap alone.
        let mem = u
            .memory
            .or_else(|| read_u64(&d.join("memory.max")).map(|v| v as i64));
        let v = match mem {
            Some(m) if s >= 0 && m >= 0 => (s - m).max(0).to_string(),
            _ => "max".to_string(),
        };
        write_if_exists(d, "memory.swap.max", &v)?;
    }
    if let Some(r) = u.memory_reservation {
        write_if_exists(d, "memory.low", &limit_str(r, "max"))?;
    }
    if let Some(shares) = u.cpu_shares.filter(|s| *s > 0) {
        let weight = systemd_cgroup::shares_to_weight(shares);
        write_if_exists(d, "cpu.weight", &weight.to_string())?;
    }
    if u.cpu_quota.is_some() || u.cpu_period.is_some() {
        let period = u.cpu_period.filter(|p| *p > 0).unwrap_or(100_000);
        let quota = match u.cpu_quota {
            Some(q) if q > 0 => q.to_string(),
            _ => "max".to_string(),
        };
        write_if_exists(d, "cpu.max", &format!("{quota} {period}"))?;
    }
    if let Some(p) = u.pids_limit {
        write_if_exists(
            d,
            "pids.max",
            &limit_str(if p == 0 { -1 } else { p }, "max"),
        )?;
    }
    Ok(())
}

#[cfg(test)]
mod observe_tests {
    use super::*;

    #[test]
    fn oom_decision_is_any_count_above_zero() {
        assert!(oom_decision(&[Some(1)]));
        assert!(!oom_decision(&[Some(0)]));
        // Gone: nothing to say (the shim's watch answers for a removed scope).
        assert!(!oom_decision(&[None]));
        assert!(!oom_decision(&[]));
        // v1: one hierarchy's count is enough.
        assert!(oom_decision(&[None, Some(2)]));
    }

    #[test]
    fn v1_controller_files_only_in_their_hierarchy() {
        let has = |d: &str, c: &str| v1_controls(Path::new(d), c);
        assert!(has("/sys/fs/cgroup/memory/berth/abc", "memory"));
        assert!(has("/sys/fs/cgroup/cpu,memory/berth/abc", "memory"));
        assert!(has("/sys/fs/cgroup/cpu,cpuacct/berth/abc", "cpuacct"));
        assert!(has("/sys/fs/cgroup/pids/berth/abc", "pids"));
        assert!(!has("/sys/fs/cgroup/pids/berth/abc", "memory"));
        assert!(!has("/sys/fs/cgroup/memory_x/berth", "memory"));
        assert!(!has("/sys/fs/cgroup/cpuset/berth", "cpu"));
        assert!(!has("/elsewhere/memory/berth", "memory"));
    }

    #[test]
    fn limits_and_kv_parsing() {
        assert_eq!(limit_value("9223372036854771712\n"), None);
        assert_eq!(limit_value("max"), None);
        assert_eq!(limit_value("20971520\n"), Some(20_971_520));
        let dir = std::env::temp_dir().join(format!("berth-kv-{}", std::process::id()));
        fs::create_dir_all(&dir).expect("tmp dir");
        fs::write(dir.join("memory.stat"), "cache 4096\nrss 8192\nbad x\n").expect("write");
        let kv = read_kv(&dir.join("memory.stat"));
        assert_eq!(kv.get("cache"), Some(&4096));
        assert_eq!(kv.get("rss"), Some(&8192));
        assert!(!kv.contains_key("bad"));
        fs::write(
            dir.join("io.stat"),
            "8:0 rbytes=100 wbytes=200 rios=1 wios=2\n",
        )
        .expect("w");
        fs::write(
            dir.join("cpu.stat"),
            "usage_usec 5\nuser_usec 3\nsystem_usec 2\n",
        )
        .expect("w");
        let s = stats_v2(&dir);
        assert_eq!(s.cpu_total, 5000);
        assert_eq!(s.cpu_user, 3000);
        assert_eq!(s.blkio.len(), 2);
        assert_eq!(s.blkio[1].op, "write");
        assert_eq!(s.blkio[1].value, 200);
        let _ = fs::remove_dir_all(&dir);
    }
}
