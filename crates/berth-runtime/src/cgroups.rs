//! The container's cgroup for the native runtime: created, limited, joined by the init
//! before it runs anything, read (OOM) and removed.
//!
//! cgroup v1 (one directory per mounted hierarchy, as on hybrid hosts) and the unified v2
//! hierarchy are both handled; v1 is used whenever /sys/fs/cgroup is not a cgroup2 mount.

use oci_spec::runtime::LinuxResources;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

const ROOT: &str = "/sys/fs/cgroup";

#[derive(Debug, Clone)]
pub struct Cgroup {
    /// v1: one directory per hierarchy; v2: exactly one.
    dirs: Vec<PathBuf>,
    v2: bool,
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

/// Writes only when the knob exists (kernels and hierarchies differ).
fn write_if_exists(dir: &Path, file: &str, value: &str) -> io::Result<()> {
    if dir.join(file).exists() {
        write(dir, file, value)
    } else {
        Ok(())
    }
}

impl Cgroup {
    /// Creates `rel` (e.g. "/berth/<id>") in every hierarchy.
    pub fn create(rel: &str) -> io::Result<Cgroup> {
        let rel = rel.trim_start_matches('/');
        let v2 = crate::spec::host_cgroup_v2();
        let dirs: Vec<PathBuf> = if v2 {
            vec![Path::new(ROOT).join(rel)]
        } else {
            v1_hierarchies()?.into_iter().map(|h| h.join(rel)).collect()
        };
        let cg = Cgroup { dirs, v2 };
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

    /// The cgroup at `rel` as another runtime created it (nothing is created).
    pub fn existing(rel: &str) -> Cgroup {
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
        Cgroup { dirs, v2 }
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
            if !d.join("cpuset.cpus").exists() {
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
            apply_common(d, r)?;
            if self.v2 {
                apply_v2(d, r)?;
            } else {
                apply_v1(d, r)?;
            }
        }
        Ok(())
    }

    /// Whether the kernel OOM-killed a process of this cgroup.
    pub fn oom_killed(&self) -> bool {
        let file = if self.v2 {
            "memory.events"
        } else {
            "memory.oom_control"
        };
        self.dirs.iter().any(|d| records_oom_kill(&d.join(file)))
    }

    /// Removes the directories; a cgroup still emptying is retried briefly.
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
/// recorded an OOM kill, in either layout.
pub fn oom_killed_at(rel: &str) -> bool {
    let rel = rel.trim_start_matches('/');
    records_oom_kill(&Path::new(ROOT).join(rel).join("memory.events"))
        || records_oom_kill(
            &Path::new(ROOT)
                .join("memory")
                .join(rel)
                .join("memory.oom_control"),
        )
}

/// v2 `memory.events` and v1 `memory.oom_control` both carry an `oom_kill N` line.
fn records_oom_kill(file: &Path) -> bool {
    fs::read_to_string(file)
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                l.strip_prefix("oom_kill ")
                    .and_then(|v| v.trim().parse::<u64>().ok())
            })
        })
        .is_some_and(|n| n > 0)
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
    }
    if let Some(w) = r.block_io().as_ref().and_then(|b| b.weight()) {
        write_if_exists(d, "blkio.weight", &w.to_string())?;
    }
    if d.join("devices.deny").exists() {
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
            let file = if dev.allow() {
                "devices.allow"
            } else {
                "devices.deny"
            };
            write(d, file, &rule)?;
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
            // runc's conversion from v1 shares [2, 262144] to v2 weight [1, 10000].
            let weight = 1 + ((shares.clamp(2, 262_144) - 2) * 9999) / 262_142;
            write_if_exists(d, "cpu.weight", &weight.to_string())?;
        }
        let period = c.period().filter(|p| *p > 0).unwrap_or(100_000);
        if let Some(quota) = c.quota().filter(|q| *q > 0) {
            write_if_exists(d, "cpu.max", &format!("{quota} {period}"))?;
        }
    }
    // Device rules on v2 need an eBPF program; not applied (the container's /dev holds
    // only the nodes the spec lists).
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
    let Ok(own) = fs::read_to_string("/proc/self/cgroup") else {
        return;
    };
    let v2 = crate::spec::host_cgroup_v2();
    // v2: "0::/path"; v1: "N:controllers:/path" (one hierarchy is enough: the lock is global).
    let target = own.lines().find_map(|l| {
        let mut parts = l.splitn(3, ':');
        let (_, ctrl, path) = (parts.next()?, parts.next()?, parts.next()?);
        let path = path.trim_start_matches('/');
        match (v2, ctrl) {
            (true, "") => Some(Path::new(ROOT).join(path)),
            (false, "pids") | (false, "memory") => Some(Path::new(ROOT).join(ctrl).join(path)),
            _ => None,
        }
    });
    if let Some(dir) = target {
        if let Err(e) = fs::write(dir.join("cgroup.procs"), std::process::id().to_string()) {
            tracing::debug!("cgroup migration priming in {}: {e}", dir.display());
        }
    }
}

/// Freezes (`frozen`) or thaws every process of the cgroup at `rel` (e.g. "/berth/<id>"):
/// v1 `freezer.state` FROZEN/THAWED, v2 `cgroup.freeze` 1/0. Waits (up to ~2 s) until the
/// kernel reports the new state, as runc does, so callers can rely on it.
pub fn freeze(rel: &str, frozen: bool) -> io::Result<()> {
    let rel = rel.trim_start_matches('/');
    let v2_dir = Path::new(ROOT).join(rel);
    let v1_dir = Path::new(ROOT).join("freezer").join(rel);
    let (check_file, want): (PathBuf, &str) = if v2_dir.join("cgroup.freeze").exists() {
        write(&v2_dir, "cgroup.freeze", if frozen { "1" } else { "0" })?;
        (
            v2_dir.join("cgroup.events"),
            if frozen { "frozen 1" } else { "frozen 0" },
        )
    } else if v1_dir.join("freezer.state").exists() {
        let state = if frozen { "FROZEN" } else { "THAWED" };
        write(&v1_dir, "freezer.state", state)?;
        (v1_dir.join("freezer.state"), state)
    } else {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("no freezer for cgroup {rel}"),
        ));
    };
    for _ in 0..200 {
        let now = fs::read_to_string(&check_file)?;
        if now.lines().any(|l| l.trim() == want) {
            return Ok(());
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    Err(io::Error::new(
        io::ErrorKind::TimedOut,
        format!("cgroup {rel} did not reach {want}"),
    ))
}
