//! OCI runtime spec generation, equivalent to what Docker builds (moby `oci.DefaultLinuxSpec`
//! plus `daemon/oci_linux.go`), so a container behaves the same under berth as under Docker.

use std::collections::{HashMap, HashSet};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use oci_spec::runtime::{
    Capability, LinuxBuilder, LinuxCapabilitiesBuilder, LinuxCpuBuilder, LinuxDevice,
    LinuxDeviceBuilder, LinuxDeviceCgroup, LinuxDeviceCgroupBuilder, LinuxDeviceType,
    LinuxMemoryBuilder, LinuxNamespace, LinuxNamespaceBuilder, LinuxNamespaceType,
    LinuxPidsBuilder, LinuxResourcesBuilder, Mount, MountBuilder, PosixRlimit, PosixRlimitBuilder,
    PosixRlimitType, Process, ProcessBuilder, RootBuilder, Spec, SpecBuilder, UserBuilder,
};

use crate::start_error::{StartError, StartErrorKind};
use crate::user::{resolve_exec_user, resolve_groups};

/// PATH given to containers whose environment has none (Docker's default).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Docker's default capability set.
pub const DEFAULT_CAPS: &[&str] = &[
    "CHOWN",
    "DAC_OVERRIDE",
    "FSETID",
    "FOWNER",
    "MKNOD",
    "NET_RAW",
    "SETGID",
    "SETUID",
    "SETFCAP",
    "SETPCAP",
    "NET_BIND_SERVICE",
    "SYS_CHROOT",
    "KILL",
    "AUDIT_WRITE",
];

/// Every capability known to oci-spec (what "ALL" and --privileged mean).
const ALL_CAPS: &[&str] = &[
    "CHOWN",
    "DAC_OVERRIDE",
    "DAC_READ_SEARCH",
    "FOWNER",
    "FSETID",
    "KILL",
    "SETGID",
    "SETUID",
    "SETPCAP",
    "LINUX_IMMUTABLE",
    "NET_BIND_SERVICE",
    "NET_BROADCAST",
    "NET_ADMIN",
    "NET_RAW",
    "IPC_LOCK",
    "IPC_OWNER",
    "SYS_MODULE",
    "SYS_RAWIO",
    "SYS_CHROOT",
    "SYS_PTRACE",
    "SYS_PACCT",
    "SYS_ADMIN",
    "SYS_BOOT",
    "SYS_NICE",
    "SYS_RESOURCE",
    "SYS_TIME",
    "SYS_TTY_CONFIG",
    "MKNOD",
    "LEASE",
    "AUDIT_WRITE",
    "AUDIT_CONTROL",
    "SETFCAP",
    "MAC_OVERRIDE",
    "MAC_ADMIN",
    "SYSLOG",
    "WAKE_ALARM",
    "BLOCK_SUSPEND",
    "AUDIT_READ",
    "PERFMON",
    "BPF",
    "CHECKPOINT_RESTORE",
];

/// moby 28's fixed default masked paths (`oci.DefaultSpec`); [`default_masked_paths`]
/// adds the host's CPU thermal_throttle directories.
pub const DEFAULT_MASKED_PATHS: &[&str] = &[
    "/proc/asound",
    "/proc/acpi",
    "/proc/interrupts",
    "/proc/kcore",
    "/proc/keys",
    "/proc/latency_stats",
    "/proc/timer_list",
    "/proc/timer_stats",
    "/proc/sched_debug",
    "/proc/scsi",
    "/sys/firmware",
    "/sys/devices/virtual/powercap",
];

/// moby 28's default read-only paths.
pub const DEFAULT_READONLY_PATHS: &[&str] = &[
    "/proc/bus",
    "/proc/fs",
    "/proc/irq",
    "/proc/sys",
    "/proc/sysrq-trigger",
];

/// moby 28's default masked paths, as stored in a created container's HostConfig: the
/// fixed ones and `/sys/devices/system/cpu/cpuN/thermal_throttle` for every possible CPU
/// where it exists (GHSA-6fw5-f8r9-fgfm). Computed once: they do not change while the
/// daemon runs.
pub fn default_masked_paths() -> Vec<String> {
    static PATHS: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    PATHS
        .get_or_init(|| {
            let mut out: Vec<String> = DEFAULT_MASKED_PATHS.iter().map(|s| s.to_string()).collect();
            let possible =
                std::fs::read_to_string("/sys/devices/system/cpu/possible").unwrap_or_default();
            for range in possible.trim().split(',').filter(|r| !r.is_empty()) {
                let (a, b) = range.split_once('-').unwrap_or((range, range));
                let (Ok(a), Ok(b)) = (a.parse::<u32>(), b.parse::<u32>()) else {
                    continue;
                };
                for cpu in a..=b {
                    let p = format!("/sys/devices/system/cpu/cpu{cpu}/thermal_throttle");
                    if Path::new(&p).exists() {
                        out.push(p);
                    }
                }
            }
            out
        })
        .clone()
}

#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// User/group resolution failed; the message is Docker's.
    #[error("{0}")]
    User(String),
    /// The command cannot be executed: its kind (exit code 127 or 126) and Docker's
    /// message (with the strings the docker CLI maps to those exit codes).
    #[error("{0}")]
    Exec(crate::start_error::StartError),
    #[error("invalid capability {0:?}")]
    Capability(String),
    #[error("invalid ulimit {0:?}")]
    Ulimit(String),
    /// A device cannot be used; the message is Docker's.
    #[error("{0}")]
    Device(String),
    #[error("invalid spec: {0}")]
    Invalid(String),
    /// The seccomp profile cannot be used; the message is Docker's.
    #[error("{0}")]
    Seccomp(String),
}

impl From<oci_spec::OciSpecError> for SpecError {
    fn from(e: oci_spec::OciSpecError) -> Self {
        SpecError::Invalid(e.to_string())
    }
}

/// How the container gets its network namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum NetworkNs {
    /// A fresh network namespace (only loopback, to be wired by the engine/berth-net).
    #[default]
    New,
    /// Share the host's network namespace (`--network host`).
    Host,
    /// Join an existing namespace, e.g. /proc/<pid>/ns/net or a bind-mounted netns file.
    Path(PathBuf),
}

/// How the container gets its PID or IPC namespace.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Namespace {
    /// Its own.
    #[default]
    New,
    /// The host's (`--pid host`, `--ipc host`).
    Host,
    /// Another's, e.g. /proc/<pid>/ns/ipc of the container named by `--ipc container:X`.
    Path(PathBuf),
}

/// The container's /dev/shm.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Shm {
    /// A tmpfs of its own of `shm_size` bytes (`--ipc private`).
    #[default]
    Tmpfs,
    /// A bind of a host directory: /dev/shm (`--ipc host`), the tmpfs the engine mounted
    /// for a shareable container (its own, or its donor's for `--ipc container:X`).
    Bind(PathBuf),
    /// None at all (`--ipc none`).
    None,
}

/// An extra mount (bind mounts of hostname/hosts/resolv.conf, volumes, tmpfs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountSpec {
    pub destination: String,
    /// "bind", "tmpfs", ...
    pub typ: String,
    pub source: String,
    pub options: Vec<String>,
}

impl MountSpec {
    /// A bind mount as Docker writes it: rbind, rprivate, plus ro when read-only, and
    /// (moby 25+) `rro`: read-only all the way down, submounts included.
    pub fn bind(source: impl Into<String>, destination: impl Into<String>, readonly: bool) -> Self {
        let mut options = vec!["rbind".to_string(), "rprivate".to_string()];
        if readonly {
            options.push("ro".to_string());
            options.push("rro".to_string());
        }
        MountSpec {
            destination: destination.into(),
            typ: "bind".to_string(),
            source: source.into(),
            options,
        }
    }
}

/// `--ulimit name=soft:hard`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ulimit {
    pub name: String,
    pub soft: i64,
    pub hard: i64,
}

/// `--device host[:container[:perms]]`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeviceMapping {
    pub path_on_host: String,
    pub path_in_container: String,
    pub cgroup_permissions: String,
}

/// Everything the engine knows about a container that shapes its runtime spec.
/// Zero values mean "unset", as in Docker's HostConfig.
#[derive(Debug, Clone, Default)]
pub struct SpecInput {
    pub id: String,
    /// Host path of the mounted rootfs (the bundle's rootfs dir).
    pub rootfs: PathBuf,
    pub readonly_rootfs: bool,
    /// Full command (entrypoint + cmd), already merged by the engine.
    pub args: Vec<String>,
    /// Environment (image env merged with the request's), `KEY=value`.
    pub env: Vec<String>,
    /// Working dir; empty means "/".
    pub cwd: String,
    /// Docker `--user` (`name`, `uid`, `name:group`, `uid:gid`); empty means root.
    pub user: String,
    /// `--group-add`.
    pub group_add: Vec<String>,
    pub tty: bool,
    pub hostname: String,
    pub domainname: String,
    pub privileged: bool,
    pub cap_add: Vec<String>,
    pub cap_drop: Vec<String>,
    pub no_new_privileges: bool,
    pub network: NetworkNs,
    /// `--pid`: private, the host's or another container's namespace.
    pub pid: Namespace,
    /// `--ipc`: private (also `none` and `shareable`), the host's or another container's.
    pub ipc: Namespace,
    /// Where /dev/shm comes from (`--ipc` and `--shm-size`).
    pub shm: Shm,
    pub uts_host: bool,
    /// Memory limit in bytes (0 = unlimited).
    pub memory: i64,
    /// Memory+swap in bytes: -1 unlimited, 0 = twice `memory` when `memory` is set.
    pub memory_swap: i64,
    pub memory_reservation: i64,
    /// `--memory-swappiness` (0..=100, validated by the engine); None: the kernel's.
    pub memory_swappiness: Option<u64>,
    pub oom_kill_disable: bool,
    /// `--oom-score-adj` (-1000..=1000, validated by the engine).
    pub oom_score_adj: i32,
    /// CPUs in units of 1e-9 (`--cpus 1.5` = 1_500_000_000).
    pub nano_cpus: i64,
    pub cpu_shares: i64,
    pub cpu_quota: i64,
    pub cpu_period: i64,
    /// `--cpu-rt-period` / `--cpu-rt-runtime` (microseconds; 0: not set).
    pub cpu_rt_period: i64,
    pub cpu_rt_runtime: i64,
    pub cpuset_cpus: String,
    pub cpuset_mems: String,
    /// None/0/negative = unlimited.
    pub pids_limit: Option<i64>,
    pub ulimits: Vec<Ulimit>,
    /// /dev/shm size in bytes (0 = Docker's 64 MiB).
    pub shm_size: i64,
    /// Cgroup parent; the cgroup path is `<parent>/<id>` (default parent "/berth"), or
    /// with the systemd driver the scope `berth-<id>.scope` in the slice `<parent>`
    /// (default "system.slice").
    pub cgroup_parent: Option<String>,
    /// The systemd cgroup driver: `linux.cgroupsPath` in runc's `slice:prefix:name` form.
    pub systemd_cgroup: bool,
    /// A private cgroup namespace (`--cgroupns private`); None: Docker's default, private
    /// on cgroup v2 and host on v1.
    pub cgroupns_private: Option<bool>,
    /// Block I/O: `--blkio-weight` (10..1000, 0 unset) and the per-device settings.
    pub blkio: BlkioInput,
    /// Extra mounts, after Docker's defaults (a mount on a default destination replaces it).
    pub mounts: Vec<MountSpec>,
    /// `linux.rootfsPropagation` ("shared", "rslave", ...) when a bind's propagation needs
    /// it (moby's setMounts); None: the runtime's default (rslave).
    pub rootfs_propagation: Option<String>,
    pub devices: Vec<DeviceMapping>,
    /// `--device-cgroup-rule`, e.g. "c 1:3 rwm", "b *:* m".
    pub device_cgroup_rules: Vec<String>,
    pub sysctls: HashMap<String, String>,
    /// Whether the host uses the unified cgroup v2 hierarchy; None = detect.
    pub cgroup_v2: Option<bool>,
    /// Skip the args[0] lookup (tests, or callers that validated already).
    pub skip_exec_check: bool,
    /// `--init`: berth's own init runs as PID 1, forwarding signals and reaping zombies
    /// (the spec carries it as the `INIT_ANNOTATION` annotation; berth's runtime only).
    pub init: bool,
    /// `--annotation`: the spec's annotations (berth's own init annotation is added to them).
    pub annotations: HashMap<String, String>,
    /// The seccomp profile (ignored when privileged).
    pub seccomp: crate::seccomp::Choice,
    /// `--security-opt systempaths=unconfined`: no masked or read-only paths.
    pub systempaths_unconfined: bool,
    /// HostConfig's `MaskedPaths`, replacing Docker's defaults when given.
    pub masked_paths: Option<Vec<String>>,
    /// HostConfig's `ReadonlyPaths`, replacing Docker's defaults when given.
    pub readonly_paths: Option<Vec<String>>,
    /// A `userns-remap` daemon's maps: a new user namespace with these uid/gid maps.
    pub userns: Option<berth_api::idmap::IdMappings>,
    /// With `userns`: the user namespace to join instead of a new one (moby's
    /// /proc/<pid>/ns/user of the `container:X` whose network, IPC or PID namespace the
    /// container shares: "to share a net namespace, they must also share a user namespace").
    pub userns_path: Option<PathBuf>,
    /// The daemon remaps (`userns-remap`), whether or not this container opted out with
    /// `--userns=host`: its cgroup mount is not read-only, as moby's WithMounts clears `ro`
    /// on cgroup mounts whenever the daemon has id maps ("until a kernel/mount solution
    /// exists for handling remount in a user namespace").
    pub daemon_remapped: bool,
}

/// `--blkio-weight`, `--blkio-weight-device` and the throttles, devices by path.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BlkioInput {
    pub weight: u16,
    pub weight_device: Vec<(String, u16)>,
    pub read_bps: Vec<(String, u64)>,
    pub write_bps: Vec<(String, u64)>,
    pub read_iops: Vec<(String, u64)>,
    pub write_iops: Vec<(String, u64)>,
}

impl BlkioInput {
    pub fn is_empty(&self) -> bool {
        *self == BlkioInput::default()
    }
}

/// The `linux.cgroupsPath` of container `id`: `<parent>/<id>` for the cgroupfs driver
/// (default parent /berth), `<slice>:berth:<id>` for the systemd driver (default slice
/// system.slice), as dockerd builds them (with "docker" for "berth").
pub fn cgroups_path(systemd: bool, parent: Option<&str>, id: &str) -> String {
    let parent = parent.filter(|p| !p.is_empty());
    if systemd {
        return format!("{}:berth:{id}", parent.unwrap_or("system.slice"));
    }
    let parent = parent.unwrap_or("/berth");
    format!("/{}/{id}", parent.trim_matches('/')).replace("//", "/")
}

/// The major and minor numbers of the block device at `path`.
fn block_device(path: &str) -> Result<(i64, i64), SpecError> {
    use std::os::unix::fs::FileTypeExt;
    let md = std::fs::metadata(path).map_err(|e| SpecError::Device(format!("{path}: {e}")))?;
    if !md.file_type().is_block_device() {
        return Err(SpecError::Device(format!("{path} is not a block device")));
    }
    use std::os::unix::fs::MetadataExt;
    let rdev = md.rdev();
    Ok((
        i64::from(nix::sys::stat::major(rdev) as u32),
        i64::from(nix::sys::stat::minor(rdev) as u32),
    ))
}

fn block_io(b: &BlkioInput) -> Result<oci_spec::runtime::LinuxBlockIo, SpecError> {
    use oci_spec::runtime::{
        LinuxBlockIoBuilder, LinuxThrottleDeviceBuilder, LinuxWeightDeviceBuilder,
    };
    let throttles = |list: &[(String, u64)]| -> Result<Vec<_>, SpecError> {
        list.iter()
            .map(|(path, rate)| {
                let (major, minor) = block_device(path)?;
                Ok(LinuxThrottleDeviceBuilder::default()
                    .major(major)
                    .minor(minor)
                    .rate(*rate)
                    .build()?)
            })
            .collect()
    };
    let mut bb = LinuxBlockIoBuilder::default();
    if b.weight > 0 {
        bb = bb.weight(b.weight);
    }
    if !b.weight_device.is_empty() {
        let devs = b
            .weight_device
            .iter()
            .map(|(path, w)| {
                let (major, minor) = block_device(path)?;
                Ok(LinuxWeightDeviceBuilder::default()
                    .major(major)
                    .minor(minor)
                    .weight(*w)
                    .build()?)
            })
            .collect::<Result<Vec<_>, SpecError>>()?;
        bb = bb.weight_device(devs);
    }
    if !b.read_bps.is_empty() {
        bb = bb.throttle_read_bps_device(throttles(&b.read_bps)?);
    }
    if !b.write_bps.is_empty() {
        bb = bb.throttle_write_bps_device(throttles(&b.write_bps)?);
    }
    if !b.read_iops.is_empty() {
        bb = bb.throttle_read_iops_device(throttles(&b.read_iops)?);
    }
    if !b.write_iops.is_empty() {
        bb = bb.throttle_write_iops_device(throttles(&b.write_iops)?);
    }
    Ok(bb.build()?)
}

/// The spec of the container whose directory is `dir` (its `bundle/config.json`), read
/// whole and parsed from memory: serde_json's reader-based parser (what `Spec::load` uses)
/// costs several times more per byte, and the shim parses this file at every container start.
pub fn bundle_spec(dir: &Path) -> Result<Spec, String> {
    let path = dir.join("bundle/config.json");
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("{}: {e}", path.display()))
}

/// The annotation that asks berth's runtime for its init as PID 1 (`docker run --init`).
pub const INIT_ANNOTATION: &str = "org.berth.init";

/// True when /sys/fs/cgroup is a cgroup2 mount (unified hierarchy).
pub fn host_cgroup_v2() -> bool {
    nix::sys::statfs::statfs("/sys/fs/cgroup")
        .map(|s| s.filesystem_type() == nix::sys::statfs::CGROUP2_SUPER_MAGIC)
        .unwrap_or(false)
}

fn env_get<'a>(env: &'a [String], key: &str) -> Option<&'a str> {
    env.iter()
        .find_map(|e| e.split_once('=').and_then(|(k, v)| (k == key).then_some(v)))
}

/// Docker's ReplaceOrAppendEnvValues: later values replace earlier ones in place.
fn merge_env(base: Vec<String>, over: &[String]) -> Vec<String> {
    let mut out = base;
    for e in over {
        let key = e.split_once('=').map(|(k, _)| k).unwrap_or(e);
        match out
            .iter_mut()
            .find(|o| o.split_once('=').map(|(k, _)| k).unwrap_or(o) == key)
        {
            Some(slot) => *slot = e.clone(),
            None => out.push(e.clone()),
        }
    }
    out
}

/// Finds `cmd` the way runc's exec (Go's exec.LookPath) would inside the container, without
/// leaving the rootfs. Errors carry the strings the docker CLI maps to exit codes 127/126.
pub fn lookup_exec(rootfs: &Path, cmd: &str, path_env: &str, cwd: &str) -> Result<(), SpecError> {
    // Looked up inside the rootfs through descriptors (the image's symlinks never lead to
    // the host's files).
    let root = berth_inroot::Root::at(rootfs);
    let check = |p: &Path| -> Result<(), std::io::Error> {
        let root = root
            .as_ref()
            .map_err(|e| std::io::Error::new(e.kind(), e.to_string()))?;
        let st = root.stat(p, berth_inroot::Follow::All)?;
        let is_dir = st.st_mode & libc::S_IFMT == libc::S_IFDIR;
        if is_dir || st.st_mode & 0o111 == 0 {
            return Err(std::io::Error::from(std::io::ErrorKind::PermissionDenied));
        }
        Ok(())
    };
    if cmd.is_empty() {
        return Err(SpecError::Exec(StartError::new(
            StartErrorKind::NotFound,
            "exec: \"\": executable file not found in $PATH",
        )));
    }
    if cmd.contains('/') {
        let p = if cmd.starts_with('/') {
            PathBuf::from(cmd)
        } else {
            Path::new(if cwd.is_empty() { "/" } else { cwd }).join(cmd)
        };
        return check(&p).map_err(|e| match e.kind() {
            std::io::ErrorKind::PermissionDenied => SpecError::Exec(StartError::new(
                StartErrorKind::PermissionDenied,
                format!("exec: \"{cmd}\": permission denied"),
            )),
            std::io::ErrorKind::NotFound => SpecError::Exec(StartError::new(
                StartErrorKind::NotFound,
                format!("exec: \"{cmd}\": stat {cmd}: no such file or directory"),
            )),
            // Any other error is known only by its text.
            _ => SpecError::Exec(StartError::classify(format!(
                "exec: \"{cmd}\": stat {cmd}: {e}"
            ))),
        });
    }
    let mut denied = false;
    for dir in path_env.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let p = Path::new(if cwd.is_empty() { "/" } else { cwd })
            .join(dir)
            .join(cmd);
        match check(&p) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => denied = true,
            Err(_) => {}
        }
    }
    // Go's LookPath reports "not found" even when a match lacked the x bit; the exec of a
    // found-but-not-executable file is what says "permission denied".
    let _ = denied;
    Err(SpecError::Exec(StartError::new(
        StartErrorKind::NotFound,
        format!("exec: \"{cmd}\": executable file not found in $PATH"),
    )))
}

/// A capability's name as profiles and the OCI spec write it ("CAP_CHOWN").
fn cap_name(c: &Capability) -> String {
    serde_json::to_value(c)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn parse_cap(name: &str) -> Result<Capability, SpecError> {
    let upper = name.to_ascii_uppercase();
    let bare = upper.strip_prefix("CAP_").unwrap_or(&upper);
    Capability::from_str(bare).map_err(|_| SpecError::Capability(name.to_string()))
}

/// Docker's TweakCapabilities: defaults (or all when privileged), then add, then drop;
/// "ALL" in add means every capability, in drop means start from none.
pub fn capabilities(
    privileged: bool,
    cap_add: &[String],
    cap_drop: &[String],
) -> Result<Vec<Capability>, SpecError> {
    let is_all = |s: &String| {
        let u = s.to_ascii_uppercase();
        u == "ALL" || u == "CAP_ALL"
    };
    let base: &[&str] = if privileged || cap_add.iter().any(is_all) {
        ALL_CAPS
    } else {
        DEFAULT_CAPS
    };
    let mut caps: Vec<Capability> = Vec::new();
    if privileged {
        for n in ALL_CAPS {
            caps.push(parse_cap(n)?);
        }
        return Ok(caps);
    }
    let drop_all = cap_drop.iter().any(is_all);
    let mut drops = HashSet::new();
    for d in cap_drop.iter().filter(|d| !is_all(d)) {
        drops.insert(parse_cap(d)?);
    }
    if !drop_all {
        for n in base {
            let c = parse_cap(n)?;
            if !drops.contains(&c) && !caps.contains(&c) {
                caps.push(c);
            }
        }
    }
    for a in cap_add.iter().filter(|a| !is_all(a)) {
        let c = parse_cap(a)?;
        // An explicit add wins over a drop of the same capability only with drop ALL
        // (Docker: "--cap-drop ALL --cap-add X" keeps X).
        if !caps.contains(&c) && (drop_all || !drops.contains(&c)) {
            caps.push(c);
        }
    }
    if drop_all && cap_add.iter().any(is_all) {
        for n in ALL_CAPS {
            let c = parse_cap(n)?;
            if !caps.contains(&c) {
                caps.push(c);
            }
        }
    }
    Ok(caps)
}

fn mount(dest: &str, typ: &str, src: &str, opts: &[&str]) -> Result<Mount, SpecError> {
    Ok(MountBuilder::default()
        .destination(dest)
        .typ(typ)
        .source(src)
        .options(opts.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        .build()?)
}

fn default_mounts(input: &SpecInput) -> Result<Vec<Mount>, SpecError> {
    let shm = if input.shm_size > 0 {
        input.shm_size
    } else {
        64 * 1024 * 1024
    };
    let shm_opt = format!("size={shm}");
    let sys_ro = if input.privileged { "rw" } else { "ro" };
    let cgroup_ro = if input.privileged || input.daemon_remapped {
        "rw"
    } else {
        "ro"
    };
    let mut m = vec![
        mount("/proc", "proc", "proc", &["nosuid", "noexec", "nodev"])?,
        mount(
            "/dev",
            "tmpfs",
            "tmpfs",
            &["nosuid", "strictatime", "mode=755", "size=65536k"],
        )?,
        mount(
            "/dev/pts",
            "devpts",
            "devpts",
            &[
                "nosuid",
                "noexec",
                "newinstance",
                "ptmxmode=0666",
                "mode=0620",
                "gid=5",
            ],
        )?,
        mount(
            "/sys",
            "sysfs",
            "sysfs",
            &["nosuid", "noexec", "nodev", sys_ro],
        )?,
        mount(
            "/sys/fs/cgroup",
            "cgroup",
            "cgroup",
            &["nosuid", "noexec", "nodev", "relatime", cgroup_ro],
        )?,
        mount(
            "/dev/mqueue",
            "mqueue",
            "mqueue",
            &["nosuid", "noexec", "nodev"],
        )?,
    ];
    match &input.shm {
        Shm::Tmpfs => m.push(mount(
            "/dev/shm",
            "tmpfs",
            "shm",
            &["nosuid", "noexec", "nodev", "mode=1777", &shm_opt],
        )?),
        Shm::Bind(src) => m.push(mount(
            "/dev/shm",
            "bind",
            &src.to_string_lossy(),
            &["rbind", "rprivate"],
        )?),
        Shm::None => {}
    }
    Ok(m)
}

fn default_device_rules() -> Result<Vec<LinuxDeviceCgroup>, SpecError> {
    let mut v = vec![LinuxDeviceCgroupBuilder::default()
        .allow(false)
        .access("rwm")
        .build()?];
    for (allow, maj, min) in [
        (true, 1, 5),
        (true, 1, 3),
        (true, 1, 9),
        (true, 1, 8),
        (true, 5, 0),
        (true, 5, 1),
        (false, 10, 229),
    ] {
        v.push(
            LinuxDeviceCgroupBuilder::default()
                .allow(allow)
                .typ(LinuxDeviceType::C)
                .major(maj)
                .minor(min)
                .access("rwm")
                .build()?,
        );
    }
    Ok(v)
}

/// Parses a `--device-cgroup-rule` like "c 1:3 rwm" or "a *:* rwm".
fn parse_cgroup_rule(rule: &str) -> Result<LinuxDeviceCgroup, SpecError> {
    let bad = || SpecError::Device(format!("invalid device cgroup rule {rule:?}"));
    let f: Vec<&str> = rule.split_whitespace().collect();
    if f.len() != 3 {
        return Err(bad());
    }
    let typ = match f[0] {
        "a" => LinuxDeviceType::A,
        "b" => LinuxDeviceType::B,
        "c" => LinuxDeviceType::C,
        _ => return Err(bad()),
    };
    let (maj, min) = f[1].split_once(':').ok_or_else(bad)?;
    let num = |s: &str| -> Result<Option<i64>, SpecError> {
        if s == "*" {
            Ok(None)
        } else {
            s.parse().map(Some).map_err(|_| bad())
        }
    };
    if !f[2].chars().all(|c| "rwm".contains(c)) {
        return Err(bad());
    }
    let mut b = LinuxDeviceCgroupBuilder::default()
        .allow(true)
        .typ(typ)
        .access(f[2]);
    if let Some(m) = num(maj)? {
        b = b.major(m);
    }
    if let Some(m) = num(min)? {
        b = b.minor(m);
    }
    Ok(b.build()?)
}

fn device_from_host(
    host: &Path,
    in_container: &str,
    perms: &str,
) -> Result<(LinuxDevice, LinuxDeviceCgroup), SpecError> {
    let gather = |what: String| {
        SpecError::Device(format!(
            "error gathering device information while adding custom device {:?}: {what}",
            host
        ))
    };
    let md = std::fs::metadata(host).map_err(|e| gather(go_error(&e)))?;
    let ft = md.file_type();
    let typ = if ft.is_char_device() {
        LinuxDeviceType::C
    } else if ft.is_block_device() {
        LinuxDeviceType::B
    } else {
        return Err(gather("not a device node".into()));
    };
    let rdev = md.rdev();
    let (maj, min) = (libc::major(rdev) as i64, libc::minor(rdev) as i64);
    let dev = LinuxDeviceBuilder::default()
        .path(in_container)
        .typ(typ)
        .major(maj)
        .minor(min)
        .file_mode(md.permissions().mode() & 0o777)
        .uid(md.uid())
        .gid(md.gid())
        .build()?;
    let rule = LinuxDeviceCgroupBuilder::default()
        .allow(true)
        .typ(typ)
        .major(maj)
        .minor(min)
        .access(if perms.is_empty() { "rwm" } else { perms })
        .build()?;
    Ok((dev, rule))
}

/// An OS error as Go words it ("no such file or directory"), for Docker's messages.
fn go_error(e: &std::io::Error) -> String {
    let text = e.to_string();
    let text = text.split(" (os error").next().unwrap_or(&text);
    let mut c = text.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

/// All host devices for --privileged (Docker skips these pseudo-filesystems).
fn host_devices(dir: &Path, out: &mut Vec<LinuxDevice>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        let name = p.to_string_lossy().to_string();
        if [
            "/dev/pts",
            "/dev/shm",
            "/dev/fd",
            "/dev/mqueue",
            "/dev/.lxc",
            "/dev/.udev",
            "/dev/console",
        ]
        .contains(&name.as_str())
        {
            continue;
        }
        let Ok(ft) = e.file_type() else { continue };
        if ft.is_dir() {
            host_devices(&p, out);
        } else if ft.is_char_device() || ft.is_block_device() {
            if let Ok((d, _)) = device_from_host(&p, &name, "rwm") {
                out.push(d);
            }
        }
    }
}

/// The rlimit a ulimit name ("nofile") stands for.
pub fn rlimit_type(name: &str) -> Result<PosixRlimitType, SpecError> {
    PosixRlimitType::from_str(&format!("RLIMIT_{}", name.to_ascii_uppercase()))
        .map_err(|_| SpecError::Ulimit(name.to_string()))
}

fn rlimit(u: &Ulimit) -> Result<PosixRlimit, SpecError> {
    let typ = rlimit_type(&u.name)?;
    // Docker/Go treat -1 as unlimited (RLIM_INFINITY).
    let v = |x: i64| if x < 0 { u64::MAX } else { x as u64 };
    Ok(PosixRlimitBuilder::default()
        .typ(typ)
        .soft(v(u.soft))
        .hard(v(u.hard))
        .build()?)
}

fn namespace(typ: LinuxNamespaceType, path: Option<&Path>) -> Result<LinuxNamespace, SpecError> {
    let mut b = LinuxNamespaceBuilder::default().typ(typ);
    if let Some(p) = path {
        b = b.path(p);
    }
    Ok(b.build()?)
}

/// Builds the OCI runtime spec for a container.
pub fn generate(input: &SpecInput) -> Result<Spec, SpecError> {
    let cgroup_v2 = input.cgroup_v2.unwrap_or_else(host_cgroup_v2);
    let user = resolve_exec_user(&input.rootfs, &input.user)?;
    let mut sgids = user.sgids.clone();
    for g in resolve_groups(&input.rootfs, &input.group_add)? {
        if !sgids.contains(&g) {
            sgids.push(g);
        }
    }

    // Environment: Docker's CreateDaemonEnvironment order, then the container's values.
    let mut base = vec![format!("PATH={DEFAULT_PATH}")];
    if !input.hostname.is_empty() {
        base.push(format!("HOSTNAME={}", input.hostname));
    }
    if input.tty {
        base.push("TERM=xterm".to_string());
    }
    let mut env = merge_env(base, &input.env);
    if env_get(&env, "HOME").is_none() {
        env.push(format!("HOME={}", user.home));
    }

    let cwd = if input.cwd.is_empty() {
        "/".to_string()
    } else {
        input.cwd.clone()
    };
    if !input.skip_exec_check {
        let path = env_get(&env, "PATH").unwrap_or(DEFAULT_PATH);
        lookup_exec(
            &input.rootfs,
            input.args.first().map(String::as_str).unwrap_or(""),
            path,
            &cwd,
        )?;
    }

    let caps: HashSet<Capability> =
        capabilities(input.privileged, &input.cap_add, &input.cap_drop)?
            .into_iter()
            .collect();
    let cap_names: Vec<String> = caps.iter().map(cap_name).collect();
    let seccomp = crate::seccomp::linux_seccomp(&input.seccomp, input.privileged, &cap_names)
        .map_err(|e| SpecError::Seccomp(e.to_string()))?;
    let capabilities = LinuxCapabilitiesBuilder::default()
        .bounding(caps.clone())
        .effective(caps.clone())
        .permitted(caps)
        // Docker grants no inheritable or ambient capabilities (CVE-2022-24769); the
        // builder's defaults would.
        .inheritable(HashSet::<Capability>::new())
        .ambient(HashSet::<Capability>::new())
        .build()?;

    let mut rlimits = Vec::new();
    for u in &input.ulimits {
        rlimits.push(rlimit(u)?);
    }

    let mut ub = UserBuilder::default().uid(user.uid).gid(user.gid);
    if !sgids.is_empty() {
        ub = ub.additional_gids(sgids);
    }
    let process = ProcessBuilder::default()
        .terminal(input.tty)
        .user(ub.build()?)
        .args(input.args.clone())
        .env(env)
        .cwd(cwd)
        .capabilities(capabilities)
        .rlimits(rlimits)
        .no_new_privileges(input.no_new_privileges)
        .oom_score_adj(input.oom_score_adj)
        .build()?;

    // Mounts: defaults, minus any destination the caller overrides, then the caller's
    // sorted by depth so parents are mounted before children (Docker's sortMounts).
    let mut mounts: Vec<Mount> = default_mounts(input)?
        .into_iter()
        .filter(|m| {
            let d = m.destination().to_string_lossy();
            !input
                .mounts
                .iter()
                .any(|u| u.destination.trim_end_matches('/') == d)
        })
        .collect();
    let mut extra: Vec<&MountSpec> = input.mounts.iter().collect();
    extra.sort_by_key(|m| Path::new(&m.destination).components().count());
    for m in extra {
        let opts: Vec<&str> = m.options.iter().map(String::as_str).collect();
        mounts.push(mount(&m.destination, &m.typ, &m.source, &opts)?);
    }

    let mut namespaces = Vec::new();
    if input.userns.is_some() {
        namespaces.push(namespace(
            LinuxNamespaceType::User,
            input.userns_path.as_deref(),
        )?);
    }
    let own_or_joined = |ns: &Namespace, typ| -> Result<Option<LinuxNamespace>, SpecError> {
        Ok(match ns {
            Namespace::New => Some(namespace(typ, None)?),
            Namespace::Host => None,
            Namespace::Path(p) => Some(namespace(typ, Some(p))?),
        })
    };
    namespaces.extend(own_or_joined(&input.pid, LinuxNamespaceType::Pid)?);
    match &input.network {
        NetworkNs::New => namespaces.push(namespace(LinuxNamespaceType::Network, None)?),
        NetworkNs::Host => {}
        NetworkNs::Path(p) => namespaces.push(namespace(LinuxNamespaceType::Network, Some(p))?),
    }
    namespaces.extend(own_or_joined(&input.ipc, LinuxNamespaceType::Ipc)?);
    if !input.uts_host {
        namespaces.push(namespace(LinuxNamespaceType::Uts, None)?);
    }
    namespaces.push(namespace(LinuxNamespaceType::Mount, None)?);
    if input.cgroupns_private.unwrap_or(cgroup_v2) {
        namespaces.push(namespace(LinuxNamespaceType::Cgroup, None)?);
    }

    // Devices and the device cgroup.
    let mut devices = Vec::new();
    let mut rules = default_device_rules()?;
    if input.privileged {
        host_devices(Path::new("/dev"), &mut devices);
        rules = vec![LinuxDeviceCgroupBuilder::default()
            .allow(true)
            .access("rwm")
            .build()?];
    } else {
        for d in &input.devices {
            let dest = if d.path_in_container.is_empty() {
                &d.path_on_host
            } else {
                &d.path_in_container
            };
            let (dev, rule) =
                device_from_host(Path::new(&d.path_on_host), dest, &d.cgroup_permissions)?;
            devices.push(dev);
            rules.push(rule);
        }
        for r in &input.device_cgroup_rules {
            rules.push(parse_cgroup_rule(r)?);
        }
    }

    // Resources.
    let mut mem = LinuxMemoryBuilder::default();
    let mut mem_set = false;
    if input.memory > 0 {
        mem = mem.limit(input.memory);
        mem_set = true;
        let swap = match input.memory_swap {
            0 => input.memory * 2,
            s => s,
        };
        mem = mem.swap(swap);
    } else if input.memory_swap != 0 {
        mem = mem.swap(input.memory_swap);
        mem_set = true;
    }
    if input.memory_reservation > 0 {
        mem = mem.reservation(input.memory_reservation);
        mem_set = true;
    }
    if let Some(sw) = input.memory_swappiness {
        mem = mem.swappiness(sw);
        mem_set = true;
    }
    if input.oom_kill_disable {
        mem = mem.disable_oom_killer(true);
        mem_set = true;
    }
    let mut cpu = LinuxCpuBuilder::default();
    let mut cpu_set = false;
    if input.nano_cpus > 0 {
        cpu = cpu
            .period(100_000u64)
            .quota(input.nano_cpus * 100_000 / 1_000_000_000);
        cpu_set = true;
    } else {
        if input.cpu_quota != 0 {
            cpu = cpu.quota(input.cpu_quota);
            cpu_set = true;
        }
        if input.cpu_period > 0 {
            cpu = cpu.period(input.cpu_period as u64);
            cpu_set = true;
        }
    }
    if input.cpu_shares > 0 {
        cpu = cpu.shares(input.cpu_shares as u64);
        cpu_set = true;
    }
    if input.cpu_rt_period > 0 {
        cpu = cpu.realtime_period(input.cpu_rt_period as u64);
        cpu_set = true;
    }
    if input.cpu_rt_runtime != 0 {
        cpu = cpu.realtime_runtime(input.cpu_rt_runtime);
        cpu_set = true;
    }
    if !input.cpuset_cpus.is_empty() {
        cpu = cpu.cpus(input.cpuset_cpus.clone());
        cpu_set = true;
    }
    if !input.cpuset_mems.is_empty() {
        cpu = cpu.mems(input.cpuset_mems.clone());
        cpu_set = true;
    }
    let mut res = LinuxResourcesBuilder::default().devices(rules);
    if mem_set {
        res = res.memory(mem.build()?);
    }
    if cpu_set {
        res = res.cpu(cpu.build()?);
    }
    if !input.blkio.is_empty() {
        res = res.block_io(block_io(&input.blkio)?);
    }
    if let Some(p) = input.pids_limit.filter(|p| *p != 0) {
        res = res.pids(
            LinuxPidsBuilder::default()
                .limit(if p < 0 { -1 } else { p })
                .build()?,
        );
    }

    let cgroups_path = cgroups_path(
        input.systemd_cgroup,
        input.cgroup_parent.as_deref(),
        &input.id,
    );

    let mut lb = LinuxBuilder::default()
        .resources(res.build()?)
        .cgroups_path(cgroups_path)
        .namespaces(namespaces)
        .devices(devices);
    if let Some(ids) = &input.userns {
        let maps = |m: &[berth_api::idmap::IdMap]| {
            m.iter()
                .map(|m| {
                    oci_spec::runtime::LinuxIdMappingBuilder::default()
                        .container_id(m.container_id)
                        .host_id(m.host_id)
                        .size(m.size)
                        .build()
                })
                .collect::<Result<Vec<_>, _>>()
        };
        lb = lb
            .uid_mappings(maps(&ids.uids)?)
            .gid_mappings(maps(&ids.gids)?);
    }
    if input.privileged || input.systempaths_unconfined {
        lb = lb
            .masked_paths(Vec::<String>::new())
            .readonly_paths(Vec::<String>::new());
    } else {
        let defaults = |d: &[&str]| d.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        lb = lb
            .masked_paths(
                input
                    .masked_paths
                    .clone()
                    .unwrap_or_else(default_masked_paths),
            )
            .readonly_paths(
                input
                    .readonly_paths
                    .clone()
                    .unwrap_or_else(|| defaults(DEFAULT_READONLY_PATHS)),
            );
    }
    if !input.sysctls.is_empty() {
        lb = lb.sysctl(input.sysctls.clone());
    }
    if let Some(p) = &input.rootfs_propagation {
        lb = lb.rootfs_propagation(p.clone());
    }
    if let Some(s) = seccomp {
        lb = lb.seccomp(s);
    }

    let mut sb = SpecBuilder::default()
        .version("1.0.2")
        .root(
            RootBuilder::default()
                .path(&input.rootfs)
                .readonly(input.readonly_rootfs)
                .build()?,
        )
        .process(process)
        .mounts(mounts)
        .linux(lb.build()?);
    if !input.uts_host && !input.hostname.is_empty() {
        sb = sb.hostname(input.hostname.clone());
    }
    if !input.uts_host && !input.domainname.is_empty() {
        sb = sb.domainname(input.domainname.clone());
    }
    let mut spec = sb.build()?;
    let mut annotations = input.annotations.clone();
    if input.init {
        annotations.insert(INIT_ANNOTATION.to_string(), "true".to_string());
    }
    if !annotations.is_empty() {
        spec.set_annotations(Some(annotations));
    }
    // The builder starts from oci-spec's defaults, which carry a "youki" hostname.
    if input.uts_host || input.hostname.is_empty() {
        spec.set_hostname(None);
    }
    Ok(spec)
}

/// What `docker exec` changes in the container's process.
#[derive(Debug, Clone, Default)]
pub struct ExecInput {
    pub args: Vec<String>,
    /// The full environment (the engine merges the container's and the exec's).
    pub env: Vec<String>,
    /// Empty: the container's working directory.
    pub cwd: String,
    /// Empty: the container's user. Resolved in `rootfs`'s /etc/passwd and /etc/group.
    pub user: String,
    pub tty: bool,
    pub privileged: bool,
}

/// Sets the terminal size the process starts with (OCI `consoleSize`), so a program that
/// asks for it first thing never sees 0x0 before the client's resize arrives.
pub fn set_console_size(process: &mut Process, height: u16, width: u16) {
    if height == 0 || width == 0 {
        return;
    }
    let size = oci_spec::runtime::BoxBuilder::default()
        .height(u64::from(height))
        .width(u64::from(width))
        .build()
        .ok();
    process.set_console_size(size);
}

/// The size a process's terminal starts with, when one was given.
pub fn console_size(process: &Process) -> Option<(u16, u16)> {
    let b = process.console_size()?;
    let h = u16::try_from(b.height()).ok()?;
    let w = u16::try_from(b.width()).ok()?;
    (h > 0 && w > 0).then_some((h, w))
}

/// The process of a `docker exec`: the container's own (capabilities, rlimits,
/// no_new_privileges) with the exec's command, environment, directory, user and terminal,
/// as Docker derives an exec's process from the container's spec.
pub fn exec_process(
    base: &Process,
    rootfs: &Path,
    input: &ExecInput,
) -> Result<Process, SpecError> {
    let mut p = base.clone();
    if input.args.is_empty() {
        return Err(SpecError::Invalid("No exec command specified".into()));
    }
    p.set_args(Some(input.args.clone()));
    p.set_terminal(Some(input.tty));
    if !input.cwd.is_empty() {
        p.set_cwd(PathBuf::from(&input.cwd));
    }
    // The exec's user, or the container's (by uid): its HOME goes last when the environment
    // has none, as runc sets it.
    let user = if input.user.is_empty() {
        resolve_exec_user(rootfs, &base.user().uid().to_string()).ok()
    } else {
        let user = resolve_exec_user(rootfs, &input.user)?;
        let mut ub = UserBuilder::default().uid(user.uid).gid(user.gid);
        if !user.sgids.is_empty() {
            ub = ub.additional_gids(user.sgids.clone());
        }
        p.set_user(ub.build()?);
        Some(user)
    };
    let mut env = input.env.clone();
    if env_get(&env, "HOME").is_none() {
        let home = user.map_or_else(|| "/".to_string(), |u| u.home);
        env.push(format!("HOME={home}"));
    }
    p.set_env(Some(env));
    if input.privileged {
        let all: HashSet<Capability> = capabilities(true, &[], &[])?.into_iter().collect();
        let caps = LinuxCapabilitiesBuilder::default()
            .bounding(all.clone())
            .effective(all.clone())
            .permitted(all)
            .inheritable(HashSet::<Capability>::new())
            .ambient(HashSet::<Capability>::new())
            .build()?;
        p.set_capabilities(Some(caps));
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::os::unix::fs::symlink;

    fn rootfs() -> tempfile::TempDir {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        fs::create_dir_all(r.join("bin")).unwrap();
        fs::create_dir_all(r.join("etc")).unwrap();
        fs::write(r.join("bin/busybox"), b"#!").unwrap();
        fs::set_permissions(r.join("bin/busybox"), fs::Permissions::from_mode(0o755)).unwrap();
        symlink("busybox", r.join("bin/sh")).unwrap();
        symlink("/bin/busybox", r.join("bin/echo")).unwrap();
        fs::write(r.join("etc/noexec"), b"x").unwrap();
        fs::write(r.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
        d
    }

    #[test]
    fn annotations_reach_the_spec_beside_the_init_one() {
        let d = rootfs();
        let mut i = input(d.path());
        let none = generate(&i).unwrap();
        assert!(none.annotations().clone().unwrap_or_default().is_empty());
        i.annotations.insert("com.example.a".into(), "b".into());
        i.init = true;
        let spec = generate(&i).unwrap();
        let a = spec.annotations().clone().unwrap_or_default();
        assert_eq!(a.get("com.example.a").map(String::as_str), Some("b"));
        assert_eq!(a.get(INIT_ANNOTATION).map(String::as_str), Some("true"));
    }

    fn input(r: &Path) -> SpecInput {
        SpecInput {
            id: "abc".into(),
            rootfs: r.to_path_buf(),
            args: vec!["sh".into(), "-c".into(), "true".into()],
            hostname: "abc".into(),
            cgroup_v2: Some(false),
            ..Default::default()
        }
    }

    fn caps_of(s: &Spec) -> HashSet<Capability> {
        s.process()
            .as_ref()
            .unwrap()
            .capabilities()
            .as_ref()
            .unwrap()
            .bounding()
            .clone()
            .unwrap()
    }

    #[test]
    fn cgroups_paths_per_driver() {
        assert_eq!(cgroups_path(false, None, "abc"), "/berth/abc");
        assert_eq!(cgroups_path(false, Some("custom/"), "abc"), "/custom/abc");
        assert_eq!(cgroups_path(false, Some("/"), "abc"), "/abc");
        assert_eq!(cgroups_path(true, None, "abc"), "system.slice:berth:abc");
        assert_eq!(
            cgroups_path(true, Some("my.slice"), "abc"),
            "my.slice:berth:abc"
        );
    }

    #[test]
    fn defaults_like_docker() {
        let d = rootfs();
        let s = generate(&input(d.path())).unwrap();
        assert_eq!(caps_of(&s).len(), 14);
        let p = s.process().as_ref().unwrap();
        let c = p.capabilities().as_ref().unwrap();
        assert!(c.inheritable().as_ref().is_none_or(|i| i.is_empty()));
        assert!(c.ambient().as_ref().is_none_or(|a| a.is_empty()));
        let env = p.env().clone().unwrap();
        assert_eq!(env[0], format!("PATH={DEFAULT_PATH}"));
        assert!(env.contains(&"HOSTNAME=abc".to_string()));
        assert!(env.contains(&"HOME=/root".to_string()));
        let l = s.linux().as_ref().unwrap();
        assert_eq!(l.cgroups_path().as_deref(), Some(Path::new("/berth/abc")));
        assert_eq!(l.namespaces().as_ref().unwrap().len(), 5);
        assert!(l
            .masked_paths()
            .as_ref()
            .unwrap()
            .contains(&"/proc/kcore".into()));
        let dests: Vec<_> = s
            .mounts()
            .as_ref()
            .unwrap()
            .iter()
            .map(|m| m.destination().to_string_lossy().to_string())
            .collect();
        assert!(dests.contains(&"/dev/shm".to_string()));
        assert!(dests.contains(&"/sys/fs/cgroup".to_string()));
        assert_eq!(s.hostname().as_deref(), Some("abc"));
    }

    #[test]
    fn cap_add_drop() {
        let c = capabilities(false, &["NET_ADMIN".into()], &["cap_chown".into()]).unwrap();
        assert!(c.contains(&Capability::NetAdmin));
        assert!(!c.contains(&Capability::Chown));
        assert_eq!(c.len(), 14);
        let c = capabilities(false, &["CAP_KILL".into()], &["ALL".into()]).unwrap();
        assert_eq!(c, vec![Capability::Kill]);
        let c = capabilities(false, &["ALL".into()], &[]).unwrap();
        assert_eq!(c.len(), ALL_CAPS.len());
        let c = capabilities(true, &[], &["ALL".into()]).unwrap();
        assert_eq!(c.len(), ALL_CAPS.len());
        assert!(capabilities(false, &["BOGUS".into()], &[]).is_err());
    }

    #[test]
    fn privileged() {
        let d = rootfs();
        let mut i = input(d.path());
        i.privileged = true;
        let s = generate(&i).unwrap();
        let l = s.linux().as_ref().unwrap();
        assert!(l.masked_paths().as_ref().unwrap().is_empty());
        assert!(l.readonly_paths().as_ref().unwrap().is_empty());
        let rules = l.resources().as_ref().unwrap().devices().clone().unwrap();
        assert_eq!(rules.len(), 1);
        assert!(rules[0].allow());
        assert_eq!(caps_of(&s).len(), ALL_CAPS.len());
    }

    #[test]
    fn pid_ipc_modes_shm_and_custom_paths() {
        let d = rootfs();
        let mut i = input(d.path());
        i.pid = Namespace::Path("/proc/7/ns/pid".into());
        i.ipc = Namespace::Path("/proc/7/ns/ipc".into());
        i.shm = Shm::Bind("/data/containers/x/mounts/shm".into());
        i.masked_paths = Some(vec!["/etc/shadow".into()]);
        i.readonly_paths = Some(vec![]);
        let s = generate(&i).unwrap();
        let l = s.linux().as_ref().unwrap();
        let path_of = |t: LinuxNamespaceType| {
            l.namespaces()
                .as_ref()
                .unwrap()
                .iter()
                .find(|n| n.typ() == t)
                .map(|n| n.path().clone())
        };
        assert_eq!(
            path_of(LinuxNamespaceType::Pid),
            Some(Some("/proc/7/ns/pid".into()))
        );
        assert_eq!(
            path_of(LinuxNamespaceType::Ipc),
            Some(Some("/proc/7/ns/ipc".into()))
        );
        let shm: Vec<_> = s
            .mounts()
            .as_ref()
            .unwrap()
            .iter()
            .filter(|m| m.destination() == Path::new("/dev/shm"))
            .collect();
        assert_eq!(shm.len(), 1);
        assert_eq!(
            shm[0].source().as_deref(),
            Some(Path::new("/data/containers/x/mounts/shm"))
        );
        assert_eq!(
            l.masked_paths().as_deref(),
            Some(&["/etc/shadow".to_string()][..])
        );
        assert!(l.readonly_paths().as_ref().unwrap().is_empty());

        i.pid = Namespace::Host;
        i.ipc = Namespace::New;
        i.shm = Shm::None;
        let s = generate(&i).unwrap();
        let l = s.linux().as_ref().unwrap();
        let types: Vec<_> = l
            .namespaces()
            .as_ref()
            .unwrap()
            .iter()
            .map(|n| n.typ())
            .collect();
        assert!(!types.contains(&LinuxNamespaceType::Pid));
        assert!(types.contains(&LinuxNamespaceType::Ipc));
        assert!(!s
            .mounts()
            .as_ref()
            .unwrap()
            .iter()
            .any(|m| m.destination() == Path::new("/dev/shm")));
    }

    #[test]
    fn memory_swap_and_cpus() {
        let d = rootfs();
        let mut i = input(d.path());
        i.memory = 64 << 20;
        i.nano_cpus = 1_500_000_000;
        i.cpu_shares = 512;
        i.pids_limit = Some(100);
        let s = generate(&i).unwrap();
        let r = s.linux().as_ref().unwrap().resources().clone().unwrap();
        let m = r.memory().unwrap();
        assert_eq!(m.limit(), Some(64 << 20));
        assert_eq!(m.swap(), Some(128 << 20));
        let c = r.cpu().clone().unwrap();
        assert_eq!(c.period(), Some(100_000));
        assert_eq!(c.quota(), Some(150_000));
        assert_eq!(c.shares(), Some(512));
        assert_eq!(r.pids().unwrap().limit(), 100);

        i.memory_swap = -1;
        let s = generate(&i).unwrap();
        let r = s.linux().as_ref().unwrap().resources().clone().unwrap();
        assert_eq!(r.memory().unwrap().swap(), Some(-1));
        i.memory_swap = 100 << 20;
        let s = generate(&i).unwrap();
        let r = s.linux().as_ref().unwrap().resources().clone().unwrap();
        assert_eq!(r.memory().unwrap().swap(), Some(100 << 20));

        i.memory = 0;
        i.memory_swap = 0;
        let s = generate(&i).unwrap();
        let r = s.linux().as_ref().unwrap().resources().clone().unwrap();
        assert!(r.memory().is_none());
    }

    #[test]
    fn network_modes_and_mount_override() {
        let d = rootfs();
        let mut i = input(d.path());
        i.network = NetworkNs::Host;
        i.cgroup_parent = Some("custom".into());
        i.mounts = vec![
            MountSpec::bind("/tmp/x", "/dev/shm", false),
            MountSpec::bind("/tmp/h", "/etc/hostname", true),
        ];
        i.ulimits = vec![Ulimit {
            name: "nofile".into(),
            soft: 100,
            hard: 200,
        }];
        let s = generate(&i).unwrap();
        let l = s.linux().as_ref().unwrap();
        assert!(!l
            .namespaces()
            .as_ref()
            .unwrap()
            .iter()
            .any(|n| n.typ() == LinuxNamespaceType::Network));
        assert_eq!(l.cgroups_path().as_deref(), Some(Path::new("/custom/abc")));
        let shm: Vec<_> = s
            .mounts()
            .as_ref()
            .unwrap()
            .iter()
            .filter(|m| m.destination() == Path::new("/dev/shm"))
            .collect();
        assert_eq!(shm.len(), 1);
        assert_eq!(shm[0].typ().as_deref(), Some("bind"));
        let rl = s.process().as_ref().unwrap().rlimits().clone().unwrap();
        assert_eq!(rl[0].typ(), PosixRlimitType::RlimitNofile);
        i.network = NetworkNs::Path("/proc/1/ns/net".into());
        let s = generate(&i).unwrap();
        let ns = s.linux().as_ref().unwrap().namespaces().clone().unwrap();
        let net = ns
            .iter()
            .find(|n| n.typ() == LinuxNamespaceType::Network)
            .unwrap();
        assert_eq!(net.path().as_deref(), Some(Path::new("/proc/1/ns/net")));
    }

    #[test]
    fn userns_new_or_joined_with_the_maps() {
        let d = rootfs();
        let mut i = input(d.path());
        let m = vec![berth_api::idmap::IdMap {
            container_id: 0,
            host_id: 300000,
            size: 65536,
        }];
        i.userns = Some(berth_api::idmap::IdMappings {
            uids: m.clone(),
            gids: m,
        });
        let user_ns = |s: &Spec| {
            let l = s.linux().clone().unwrap();
            let ns = l.namespaces().clone().unwrap();
            let u = ns
                .iter()
                .find(|n| n.typ() == LinuxNamespaceType::User)
                .cloned();
            (
                u.map(|n| n.path().clone()),
                l.uid_mappings().clone().unwrap().len(),
            )
        };
        assert_eq!(user_ns(&generate(&i).unwrap()), (Some(None), 1));
        // Joining another container's: its path, the maps kept (moby's spec).
        i.userns_path = Some("/proc/7/ns/user".into());
        assert_eq!(
            user_ns(&generate(&i).unwrap()),
            (Some(Some("/proc/7/ns/user".into())), 1)
        );
    }

    /// moby's WithMounts: a remapping daemon's containers (also `--userns=host` ones) get a
    /// writable cgroup mount; /sys stays read-only.
    #[test]
    fn cgroup_mount_not_read_only_when_the_daemon_remaps() {
        let d = rootfs();
        let mut i = input(d.path());
        let opts = |i: &SpecInput, dest: &str| {
            generate(i)
                .unwrap()
                .mounts()
                .clone()
                .unwrap()
                .into_iter()
                .find(|m| m.destination() == Path::new(dest))
                .and_then(|m| m.options().clone())
                .unwrap()
        };
        assert!(opts(&i, "/sys/fs/cgroup").contains(&"ro".to_string()));
        i.daemon_remapped = true;
        assert!(!opts(&i, "/sys/fs/cgroup").contains(&"ro".to_string()));
        assert!(opts(&i, "/sys").contains(&"ro".to_string()));
    }

    #[test]
    fn exec_lookup_errors() {
        let d = rootfs();
        let r = d.path();
        assert!(lookup_exec(r, "sh", "/usr/bin:/bin", "/").is_ok());
        assert!(lookup_exec(r, "echo", "/bin", "/").is_ok());
        assert!(lookup_exec(r, "/bin/sh", "", "/").is_ok());
        let e = lookup_exec(r, "foo", "/usr/bin:/bin", "/")
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("exec: \"foo\": executable file not found in $PATH"),
            "{e}"
        );
        let e = lookup_exec(r, "/x", "/bin", "/").unwrap_err().to_string();
        assert!(e.contains("stat /x: no such file or directory"), "{e}");
        let e = lookup_exec(r, "/etc/noexec", "/bin", "/")
            .unwrap_err()
            .to_string();
        assert!(e.contains("permission denied"), "{e}");
        let e = lookup_exec(r, "/etc", "/bin", "/").unwrap_err().to_string();
        assert!(e.contains("permission denied"), "{e}");
        let mut i = input(r);
        i.args = vec!["nope".into()];
        let e = generate(&i).unwrap_err().to_string();
        assert!(e.contains("executable file not found in $PATH"), "{e}");
    }
}
