//! The systemd cgroup driver (daemon.json `exec-opts: ["native.cgroupdriver=systemd"]`):
//! a container's cgroup is a transient scope unit `<prefix>-<id>.scope` in a slice
//! (`system.slice` unless `--cgroup-parent` names another), created by systemd around the
//! container's init with `Delegate=yes`, and its limits are unit properties, so systemd
//! keeps them when it re-applies its units' cgroup attributes (`daemon-reload`).
//!
//! The OCI spec carries the choice as runc's form of `linux.cgroupsPath`,
//! `<slice>:<prefix>:<name>` (e.g. `system.slice:berth:<id>`); a path starting with `/` is
//! the cgroupfs driver's. After the unit is started, berth also writes the same limits
//! into the scope's cgroup files (as runc's systemd manager does), and reads, freezes and
//! joins the scope through cgroupfs like any v2 cgroup.

use crate::dbus::{DbusError, Systemd, Value};
use oci_spec::runtime::LinuxResources;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A systemd `cgroupsPath`, `<slice>:<prefix>:<name>`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScopePath {
    pub slice: String,
    pub prefix: String,
    pub name: String,
}

impl ScopePath {
    /// Parses runc's systemd form; None for a cgroupfs path.
    pub fn parse(cgroups_path: &str) -> Option<ScopePath> {
        if cgroups_path.starts_with('/') {
            return None;
        }
        let parts: Vec<&str> = cgroups_path.split(':').collect();
        let [slice, prefix, name] = parts.as_slice() else {
            return None;
        };
        Some(ScopePath {
            slice: if slice.is_empty() {
                "system.slice".to_string()
            } else {
                slice.to_string()
            },
            prefix: prefix.to_string(),
            name: name.to_string(),
        })
    }

    /// The unit's name, `<prefix>-<name>.scope`.
    pub fn unit(&self) -> String {
        format!("{}-{}.scope", self.prefix, self.name)
    }

    /// The scope's cgroup below the hierarchy's root, e.g. `/system.slice/berth-<id>.scope`
    /// (systemd's own root being the hierarchy's root, as on any host it manages).
    pub fn cgroup(&self) -> Result<String, String> {
        Ok(format!("{}/{}", expand_slice(&self.slice)?, self.unit()))
    }
}

/// A slice's cgroup: `a-b.slice` is `/a.slice/a-b.slice` (systemd's naming), `-.slice` the
/// root. Docker's check: the name must end in `.slice`.
pub fn expand_slice(slice: &str) -> Result<String, String> {
    let bad = || {
        "cgroup-parent for systemd cgroup should be a valid slice named as \"xxx.slice\""
            .to_string()
    };
    let Some(stem) = slice.strip_suffix(".slice") else {
        return Err(bad());
    };
    if stem.is_empty() || slice.contains('/') {
        return Err(bad());
    }
    if stem == "-" {
        return Ok(String::new());
    }
    let mut path = String::new();
    let mut prefix = String::new();
    for part in stem.split('-') {
        if part.is_empty() {
            return Err(bad());
        }
        path.push_str(&format!("/{prefix}{part}.slice"));
        prefix.push_str(&format!("{part}-"));
    }
    Ok(path)
}

/// Maps any `cgroupsPath` (either driver's form) to the cgroup below the hierarchy's root.
pub fn cgroup_of(cgroups_path: &str) -> String {
    match ScopePath::parse(cgroups_path) {
        Some(scope) => scope
            .cgroup()
            .unwrap_or_else(|_| format!("/{}", scope.unit())),
        None => cgroups_path.to_string(),
    }
}

/// runc's (>= 1.3.2) conversion of v1 cpu shares [2, 262144] to a v2 weight [1, 10000]:
/// a quadratic fit in log2 space that maps the default 1024 to the default 100.
pub fn shares_to_weight(shares: u64) -> u64 {
    if shares == 0 {
        return 0;
    }
    if shares <= 2 {
        return 1;
    }
    if shares >= 262_144 {
        return 10_000;
    }
    let l = (shares as f64).log2();
    let exponent = (l * l + 125.0 * l) / 612.0 - 7.0 / 34.0;
    10f64.powf(exponent).ceil() as u64
}

/// runc's conversion of a blkio weight [10, 1000] to an io weight [1, 10000].
pub fn blkio_to_io_weight(weight: u16) -> u64 {
    if weight == 0 {
        return 0;
    }
    1 + (u64::from(weight).saturating_sub(10)) * 9999 / 990
}

/// A cpuset list ("0-2,4") as systemd's bit mask bytes (lowest cpu in the first byte's
/// lowest bit).
pub fn cpuset_mask(list: &str) -> Result<Vec<u8>, String> {
    let bad = || format!("invalid cpuset {list:?}");
    let mut bytes: Vec<u8> = Vec::new();
    for part in list.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (a, b) = match part.split_once('-') {
            Some((a, b)) => (a, b),
            None => (part, part),
        };
        let a: usize = a.trim().parse().map_err(|_| bad())?;
        let b: usize = b.trim().parse().map_err(|_| bad())?;
        if a > b || b > 8191 {
            return Err(bad());
        }
        for cpu in a..=b {
            if bytes.len() <= cpu / 8 {
                bytes.resize(cpu / 8 + 1, 0);
            }
            bytes[cpu / 8] |= 1 << (cpu % 8);
        }
    }
    Ok(bytes)
}

/// The block device node of `major:minor` (/sys/dev/block names it), for systemd's
/// IO*Max properties, which take paths.
fn block_device_path(major: i64, minor: i64) -> Option<String> {
    let link = std::fs::read_link(format!("/sys/dev/block/{major}:{minor}")).ok()?;
    let name = link.file_name()?.to_string_lossy().into_owned();
    Some(format!("/dev/{name}"))
}

/// "No limit" for systemd's u64 properties.
const INFINITY: u64 = u64::MAX;

/// The unit properties that carry the spec's resources (systemd >= 244).
pub fn resource_properties(r: &LinuxResources) -> Vec<(&'static str, Value)> {
    let mut p = Vec::new();
    if let Some(m) = r.memory() {
        if let Some(limit) = m.limit() {
            p.push((
                "MemoryMax",
                Value::U64(if limit < 0 { INFINITY } else { limit as u64 }),
            ));
            if let Some(swap) = m.swap() {
                // OCI's swap is memory+swap; systemd's MemorySwapMax is swap alone.
                let v = if swap < 0 || limit < 0 {
                    INFINITY
                } else {
                    (swap - limit).max(0) as u64
                };
                p.push(("MemorySwapMax", Value::U64(v)));
            }
        }
        if let Some(res) = m.reservation().filter(|r| *r > 0) {
            p.push(("MemoryLow", Value::U64(res as u64)));
        }
    }
    if let Some(c) = r.cpu() {
        if let Some(shares) = c.shares().filter(|s| *s > 0) {
            p.push(("CPUWeight", Value::U64(shares_to_weight(shares))));
        }
        let period = c.period().filter(|p| *p > 0).unwrap_or(100_000);
        if let Some(quota) = c.quota().filter(|q| *q > 0) {
            // systemd keeps CPUQuota as a whole percentage: round up to 10 ms per second
            // so the kernel's quota is never below what was asked (runc does the same).
            let mut per_sec = quota as u64 * 1_000_000 / period;
            if !per_sec.is_multiple_of(10_000) {
                per_sec = (per_sec / 10_000 + 1) * 10_000;
            }
            p.push(("CPUQuotaPerSecUSec", Value::U64(per_sec)));
            p.push(("CPUQuotaPeriodUSec", Value::U64(period)));
        }
        if let Some(mask) = c
            .cpus()
            .as_deref()
            .filter(|s| !s.is_empty())
            .and_then(|s| cpuset_mask(s).ok())
        {
            p.push(("AllowedCPUs", Value::Bytes(mask)));
        }
        if let Some(mask) = c
            .mems()
            .as_deref()
            .filter(|s| !s.is_empty())
            .and_then(|s| cpuset_mask(s).ok())
        {
            p.push(("AllowedMemoryNodes", Value::Bytes(mask)));
        }
    }
    if let Some(pids) = r.pids() {
        let v = if pids.limit() > 0 {
            pids.limit() as u64
        } else {
            INFINITY
        };
        p.push(("TasksMax", Value::U64(v)));
    }
    if let Some(b) = r.block_io() {
        if let Some(w) = b.weight().filter(|w| *w > 0) {
            p.push(("IOWeight", Value::U64(blkio_to_io_weight(w))));
        }
        let throttles = [
            ("IOReadBandwidthMax", b.throttle_read_bps_device()),
            ("IOWriteBandwidthMax", b.throttle_write_bps_device()),
            ("IOReadIOPSMax", b.throttle_read_iops_device()),
            ("IOWriteIOPSMax", b.throttle_write_iops_device()),
        ];
        for (name, devs) in throttles {
            let list: Vec<(String, u64)> = devs
                .iter()
                .flatten()
                .filter_map(|d| Some((block_device_path(d.major(), d.minor())?, d.rate())))
                .collect();
            if !list.is_empty() {
                p.push((name, Value::PathU64s(list)));
            }
        }
    }
    p
}

/// Starts the scope around `pid` (the container's init, waiting before it runs anything)
/// with the resources as properties, and waits until systemd has moved it there. Returns
/// the scope's cgroup directory.
pub fn start_scope(
    scope: &ScopePath,
    pid: i32,
    resources: Option<&LinuxResources>,
) -> Result<PathBuf, String> {
    let cgroup = scope.cgroup()?;
    let unit = scope.unit();
    let mut props: Vec<(&str, Value)> = vec![
        (
            "Description",
            Value::Str(format!("berth container {}", scope.name)),
        ),
        ("Slice", Value::Str(scope.slice.clone())),
        ("Delegate", Value::Bool(true)),
        ("DefaultDependencies", Value::Bool(false)),
        ("MemoryAccounting", Value::Bool(true)),
        ("CPUAccounting", Value::Bool(true)),
        ("IOAccounting", Value::Bool(true)),
        ("TasksAccounting", Value::Bool(true)),
        ("PIDs", Value::U32s(vec![pid as u32])),
    ];
    if let Some(r) = resources {
        props.extend(resource_properties(r));
    }
    let bus = Systemd::connect().map_err(|e| format!("connect to systemd: {e}"))?;
    let bus = std::cell::RefCell::new(bus);
    let deadline = Instant::now() + PREVIOUS_SCOPE_WAIT;
    start_replacing_previous(
        || bus.borrow_mut().start_transient_unit(&unit, &props),
        || bus.borrow_mut().reset_failed_unit(&unit),
        || bus.borrow_mut().stop_unit(&unit),
        || {
            std::thread::sleep(Duration::from_millis(50));
            Instant::now() < deadline
        },
    )
    .map_err(|e| format!("start unit {unit}: {e}"))?;
    drop(bus);
    // The start job runs after the call returned: wait for the init to be in the scope.
    let want = format!("0::{cgroup}");
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let now = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap_or_default();
        if now.lines().any(|l| l == want) {
            return Ok(Path::new("/sys/fs/cgroup").join(cgroup.trim_start_matches('/')));
        }
        if Instant::now() >= deadline {
            return Err(format!(
                "systemd did not move pid {pid} into {unit} within 10s (now in {})",
                now.trim()
            ));
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// How long a start waits for the container's previous scope to go.
const PREVIOUS_SCOPE_WAIT: Duration = Duration::from_secs(10);

/// Starts a unit with `start`. When systemd answers that the unit exists, it is the scope
/// of the container's previous run (the name is the container's; a start only happens
/// when the container is not running):
/// - failed (its processes were killed: systemd keeps failed units): `reset` unloads it
///   and the next start succeeds, as runc's startUnit does;
/// - still active: its last process has exited but systemd has not yet handled the
///   emptied cgroup (a restart policy restarts within 100 ms; the cgroup v2 VM's
///   supervision test saw UnitExists even after the reset). It is stopped (once: what is
///   left of the previous run goes, as when runc destroys a container's scope) and the
///   start retried (reset again: a stop may leave it failed) while `wait` (a short sleep;
///   false once the time is up) allows.
fn start_replacing_previous(
    mut start: impl FnMut() -> Result<(), DbusError>,
    mut reset: impl FnMut() -> Result<(), DbusError>,
    stop: impl FnOnce() -> Result<(), DbusError>,
    mut wait: impl FnMut() -> bool,
) -> Result<(), DbusError> {
    let mut stop = Some(stop);
    let mut tries = 0;
    loop {
        match start() {
            Err(e) if e.call_name() == Some("org.freedesktop.systemd1.UnitExists") => {
                tries += 1;
                tracing::debug!("{e}: resetting the previous scope and starting once more");
                // Fails harmlessly for a unit that is not failed.
                let _ = reset();
                if tries >= 2 {
                    if let Some(stop) = stop.take() {
                        if let Err(e) = stop() {
                            tracing::debug!("stop the previous scope: {e}");
                        }
                    }
                    if !wait() {
                        return Err(e);
                    }
                }
            }
            other => return other,
        }
    }
}

/// The unit properties of an `update` (`memory_now`: the scope's current memory.max, for
/// a swap change that comes without a memory one).
pub fn update_properties(
    u: &crate::cgroups::Update,
    memory_now: Option<u64>,
) -> Vec<(&'static str, Value)> {
    let mut p = Vec::new();
    let lim = |v: i64| if v < 0 { INFINITY } else { v as u64 };
    if let Some(m) = u.memory {
        p.push(("MemoryMax", Value::U64(lim(m))));
    }
    if let Some(sw) = u.memory_swap {
        let mem = u.memory.or(memory_now.map(|m| m as i64));
        let v = match mem {
            Some(m) if sw >= 0 && m >= 0 => (sw - m).max(0) as u64,
            _ => INFINITY,
        };
        p.push(("MemorySwapMax", Value::U64(v)));
    }
    if let Some(r) = u.memory_reservation {
        p.push(("MemoryLow", Value::U64(lim(r))));
    }
    if let Some(sh) = u.cpu_shares.filter(|s| *s > 0) {
        p.push(("CPUWeight", Value::U64(shares_to_weight(sh))));
    }
    if u.cpu_quota.is_some() || u.cpu_period.is_some() {
        let period = u.cpu_period.filter(|p| *p > 0).unwrap_or(100_000);
        match u.cpu_quota {
            Some(q) if q > 0 => {
                let mut per_sec = q as u64 * 1_000_000 / period;
                if !per_sec.is_multiple_of(10_000) {
                    per_sec = (per_sec / 10_000 + 1) * 10_000;
                }
                p.push(("CPUQuotaPerSecUSec", Value::U64(per_sec)));
            }
            _ => p.push(("CPUQuotaPerSecUSec", Value::U64(INFINITY))),
        }
        p.push(("CPUQuotaPeriodUSec", Value::U64(period)));
    }
    if let Some(pids) = u.pids_limit {
        p.push((
            "TasksMax",
            Value::U64(if pids > 0 { pids as u64 } else { INFINITY }),
        ));
    }
    p
}

/// Changes a running scope's limits (`update`).
pub fn set_properties(unit: &str, props: &[(&str, Value)]) -> Result<(), DbusError> {
    if props.is_empty() {
        return Ok(());
    }
    Systemd::connect()?.set_unit_properties(unit, props)
}

/// Stops a scope that is left with processes (an abandoned create); an empty scope is
/// stopped and collected by systemd itself.
pub fn stop_scope(unit: &str) -> Result<(), DbusError> {
    Systemd::connect()?.stop_unit(unit)
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::{
        LinuxBlockIoBuilder, LinuxCpuBuilder, LinuxMemoryBuilder, LinuxPidsBuilder,
        LinuxResourcesBuilder,
    };

    #[test]
    fn cgroups_paths_of_both_drivers() {
        let s = ScopePath::parse("system.slice:berth:abc").expect("systemd form");
        assert_eq!(s.unit(), "berth-abc.scope");
        assert_eq!(s.cgroup().as_deref(), Ok("/system.slice/berth-abc.scope"));
        assert_eq!(ScopePath::parse("/berth/abc"), None);
        assert_eq!(ScopePath::parse("a:b"), None);
        let s = ScopePath::parse(":berth:abc").expect("default slice");
        assert_eq!(s.slice, "system.slice");
        assert_eq!(
            cgroup_of("my-app.slice:berth:x"),
            "/my.slice/my-app.slice/berth-x.scope"
        );
        assert_eq!(cgroup_of("/berth/x"), "/berth/x");
        assert_eq!(cgroup_of("-.slice:berth:x"), "/berth-x.scope");
    }

    #[test]
    fn slice_names_are_checked_as_docker_does() {
        assert_eq!(
            expand_slice("a-b-c.slice").as_deref(),
            Ok("/a.slice/a-b.slice/a-b-c.slice")
        );
        for bad in ["foo", "/foo.slice", "a--b.slice", ".slice", "a/b.slice"] {
            let e = expand_slice(bad).expect_err(bad);
            assert!(
                e.contains("should be a valid slice named as \"xxx.slice\""),
                "{e}"
            );
        }
    }

    #[test]
    fn conversions_match_runc() {
        assert_eq!(shares_to_weight(1024), 100);
        assert_eq!(shares_to_weight(2), 1);
        assert_eq!(shares_to_weight(262_144), 10_000);
        assert!(shares_to_weight(512) < 100 && shares_to_weight(512) > 1);
        assert_eq!(blkio_to_io_weight(10), 1);
        assert_eq!(blkio_to_io_weight(1000), 10_000);
        assert_eq!(blkio_to_io_weight(500), 4950);
        assert_eq!(cpuset_mask("0").as_deref(), Ok(&[1u8][..]));
        assert_eq!(cpuset_mask("0-2,9").as_deref(), Ok(&[0b111u8, 0b10][..]));
        assert!(cpuset_mask("3-1").is_err());
        assert!(cpuset_mask("x").is_err());
    }

    #[test]
    fn resources_become_unit_properties() {
        let r = LinuxResourcesBuilder::default()
            .memory(
                LinuxMemoryBuilder::default()
                    .limit(64 << 20)
                    .swap(96 << 20)
                    .reservation(32 << 20)
                    .build()
                    .expect("memory"),
            )
            .cpu(
                LinuxCpuBuilder::default()
                    .shares(1024u64)
                    .quota(50_000i64)
                    .period(100_000u64)
                    .cpus("0")
                    .build()
                    .expect("cpu"),
            )
            .pids(LinuxPidsBuilder::default().limit(42).build().expect("pids"))
            .block_io(
                LinuxBlockIoBuilder::default()
                    .weight(500u16)
                    .build()
                    .expect("io"),
            )
            .build()
            .expect("resources");
        let p = resource_properties(&r);
        let get = |k: &str| p.iter().find(|(n, _)| *n == k).map(|(_, v)| v.clone());
        assert_eq!(get("MemoryMax"), Some(Value::U64(64 << 20)));
        assert_eq!(get("MemorySwapMax"), Some(Value::U64(32 << 20)));
        assert_eq!(get("MemoryLow"), Some(Value::U64(32 << 20)));
        assert_eq!(get("CPUWeight"), Some(Value::U64(100)));
        assert_eq!(get("CPUQuotaPerSecUSec"), Some(Value::U64(500_000)));
        assert_eq!(get("CPUQuotaPeriodUSec"), Some(Value::U64(100_000)));
        assert_eq!(get("AllowedCPUs"), Some(Value::Bytes(vec![1])));
        assert_eq!(get("TasksMax"), Some(Value::U64(42)));
        assert_eq!(get("IOWeight"), Some(Value::U64(4950)));
        // A quota of 1/3 cpu rounds up to the next 10 ms per second.
        let r = LinuxResourcesBuilder::default()
            .cpu(
                LinuxCpuBuilder::default()
                    .quota(33_333i64)
                    .period(100_000u64)
                    .build()
                    .expect("cpu"),
            )
            .build()
            .expect("resources");
        let p = resource_properties(&r);
        assert!(p.contains(&("CPUQuotaPerSecUSec", Value::U64(340_000))));
    }

    fn call_error(name: &str) -> DbusError {
        DbusError::Call {
            name: name.into(),
            message: "m".into(),
        }
    }

    #[test]
    fn a_previous_scope_is_reset_or_stopped_and_the_start_retried() {
        let exists = || Err(call_error("org.freedesktop.systemd1.UnitExists"));
        let calls = std::cell::RefCell::new(Vec::new());
        let log = |what: &'static str| calls.borrow_mut().push(what);
        // Failed: reset, then the second start succeeds; nothing stopped, no wait.
        let mut answers = vec![Ok(()), exists()];
        let r = start_replacing_previous(
            || {
                log("start");
                answers.pop().expect("two starts")
            },
            || {
                log("reset");
                Ok(())
            },
            || -> Result<(), DbusError> { panic!("no stop for a failed scope") },
            || panic!("no wait for a failed scope"),
        );
        assert!(r.is_ok());
        assert_eq!(*calls.borrow(), ["start", "reset", "start"]);
        // Still active (systemd has not handled its emptied cgroup yet): reset does
        // nothing, so it is stopped once and the start retried until it is gone.
        calls.borrow_mut().clear();
        let mut answers = vec![Ok(()), exists(), exists(), exists()];
        let r = start_replacing_previous(
            || {
                log("start");
                answers.pop().expect("four starts")
            },
            || {
                log("reset");
                Err(call_error("org.freedesktop.systemd1.NoSuchUnit"))
            },
            || {
                log("stop");
                Ok(())
            },
            || {
                log("wait");
                true
            },
        );
        assert!(r.is_ok());
        assert_eq!(
            *calls.borrow(),
            [
                "start", "reset", "start", "reset", "stop", "wait", "start", "reset", "wait",
                "start"
            ]
        );
        // It never goes: UnitExists once the time is up.
        let waits = std::cell::Cell::new(0);
        let r = start_replacing_previous(
            exists,
            || Ok(()),
            || Ok(()),
            || {
                waits.set(waits.get() + 1);
                waits.get() < 3
            },
        );
        assert_eq!(
            r.unwrap_err().call_name(),
            Some("org.freedesktop.systemd1.UnitExists")
        );
        assert_eq!(waits.get(), 3);
        // Any other error: no reset, no second start.
        let starts = std::cell::Cell::new(0);
        let r = start_replacing_previous(
            || {
                starts.set(starts.get() + 1);
                Err(call_error("org.freedesktop.DBus.Error.AccessDenied"))
            },
            || panic!("no reset for other errors"),
            || panic!("no stop for other errors"),
            || panic!("no wait for other errors"),
        );
        assert!(r.is_err());
        assert_eq!(starts.get(), 1);
    }
}
