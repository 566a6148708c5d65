//! How the shim creates, starts and deletes its container: with berth's own init
//! (`berth`, the default: `native.rs`), youki's libcontainer in process (`libcontainer`),
//! or an OCI runtime binary (crun, runc, youki) through the OCI runtime CLI, as
//! containerd's shim drives runc. Either way the container's init ends up a child of the
//! shim (child subreaper), which reaps it, forwards its stdio and signals it directly.
//!
//! An OCI runtime keeps its state under `/run/berth/runtime/<name>` and owns the cgroup
//! (`--systemd-cgroup` for runc under the systemd driver); its errors come from its JSON
//! log. crun refuses hybrid cgroup hosts whatever its cgroup manager (crun 1.8.1's
//! libcrun_cgroup_enter: "cgroups in hybrid mode not supported, drop all controllers from
//! cgroupv2" whenever /sys/fs/cgroup/unified/cgroup.controllers is not empty, as on the
//! development VM, where `hugetlb` sits there); runc works. libcontainer is ~20 ms slower
//! per start than the native init.

use libcontainer::container::builder::ContainerBuilder;
use libcontainer::container::Container;
use libcontainer::syscall::syscall::SyscallType;
use std::os::fd::OwnedFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::native::Native;

/// Where OCI runtime binaries keep their state: outside the container directory, so the
/// daemon removing a container never races the runtime's own cleanup.
pub const OCI_STATE_ROOT: &str = "/run/berth/runtime";

/// The name that selects the built-in runtime (berth's own init).
pub const BUILTIN: &str = "berth";
/// The name that selects youki's libcontainer, in process.
pub const LIBCONTAINER: &str = "libcontainer";

pub(super) enum Backend {
    /// berth's own init (the default).
    Native(Native),
    /// youki's libcontainer, in process.
    Libcontainer(Container),
    Oci(OciRuntime),
}

pub(super) struct OciRuntime {
    binary: PathBuf,
    root: PathBuf,
    log: PathBuf,
    id: String,
    pid: i32,
    /// `--systemd-cgroup`: the runtime creates the container's scope through systemd.
    systemd: bool,
}

pub(super) struct Stdio3 {
    pub stdin: OwnedFd,
    pub stdout: OwnedFd,
    pub stderr: OwnedFd,
}

impl Backend {
    /// Creates the container (its init waits to exec until `start`).
    pub fn create(runtime: &str, id: &str, dir: &Path, io: Stdio3) -> Result<Backend, String> {
        if runtime == BUILTIN || runtime.is_empty() {
            return Native::create(id, dir, io).map(Backend::Native);
        }
        // The systemd cgroup driver shows in the spec's cgroupsPath (runc's form).
        let systemd = spec_cgroups_path(dir).is_some_and(|p| {
            crate::systemd_cgroup::ScopePath::parse(&p.to_string_lossy()).is_some()
        });
        if runtime == LIBCONTAINER {
            libcontainer_seccomp(dir)?;
            let state = dir.join("runtime");
            std::fs::create_dir_all(&state).map_err(|e| format!("create {state:?}: {e}"))?;
            let container = ContainerBuilder::new(id.to_string(), SyscallType::default())
                .with_root_path(&state)
                .map_err(|e| e.to_string())?
                .with_stdin(io.stdin)
                .with_stdout(io.stdout)
                .with_stderr(io.stderr)
                .as_init(dir.join("bundle"))
                .with_systemd(systemd)
                .with_detach(true)
                .build()
                .map_err(|e| e.to_string())?;
            let mut backend = Backend::Libcontainer(container);
            // libcontainer as built has no cgroup v2 device program: attach berth's before
            // the container's process runs (the init waits for start), or fail the create.
            if crate::spec::host_cgroup_v2() {
                if let Err(e) = super::native::attach_v2_devices(dir) {
                    backend.abandon();
                    return Err(e);
                }
            }
            return Ok(backend);
        }
        let binary = find_binary(runtime)?;
        let name = binary
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| runtime.to_string());
        let root = Path::new(OCI_STATE_ROOT).join(&name);
        std::fs::create_dir_all(&root).map_err(|e| format!("create {root:?}: {e}"))?;
        let mut rt = OciRuntime {
            binary,
            root,
            log: dir.join("runtime.log"),
            id: id.to_string(),
            pid: 0,
            systemd,
        };
        let pid_file = dir.join("init.pid");
        let bundle = dir.join("bundle");
        // The runtime hands its own stdio to the container's init; it manages the cgroup.
        let status = rt
            .command()
            .arg("create")
            .arg("--bundle")
            .arg(&bundle)
            .arg("--pid-file")
            .arg(&pid_file)
            .arg(&rt.id)
            .stdin(Stdio::from(io.stdin))
            .stdout(Stdio::from(io.stdout))
            .stderr(Stdio::from(io.stderr))
            .status()
            .map_err(|e| format!("run {}: {e}", rt.binary.display()))?;
        if !status.success() {
            return Err(rt.last_error("create"));
        }
        rt.pid = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| format!("{} create wrote no pid file", rt.binary.display()))?;
        Ok(Backend::Oci(rt))
    }

    pub fn pid(&self) -> Option<i32> {
        match self {
            Backend::Native(n) => Some(n.pid),
            Backend::Libcontainer(c) => c.pid().map(|p| p.as_raw()),
            Backend::Oci(rt) => Some(rt.pid),
        }
    }

    pub fn start(&mut self) -> Result<(), String> {
        match self {
            Backend::Native(n) => n.start(),
            Backend::Libcontainer(c) => c.start().map_err(|e| e.to_string()),
            Backend::Oci(rt) => {
                let status = rt
                    .command()
                    .arg("start")
                    .arg(&rt.id)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .map_err(|e| format!("run {}: {e}", rt.binary.display()))?;
                if status.success() {
                    Ok(())
                } else {
                    Err(rt.last_error("start"))
                }
            }
        }
    }

    /// Whether the kernel OOM-killed a process of the container (read at exit).
    pub fn oom_killed(&self, dir: &Path) -> bool {
        match self {
            Backend::Native(n) => n.cgroup.oom_killed(),
            // The runtime owns the cgroup: its path is in the spec.
            _ => spec_cgroups_path(dir)
                .is_some_and(|p| crate::cgroups::oom_killed_at(&p.to_string_lossy())),
        }
    }

    /// The pty master of a `-t` container, once (only berth's own init opens one so far).
    pub fn take_console(&mut self) -> Option<OwnedFd> {
        match self {
            Backend::Native(n) => n.console.take(),
            _ => None,
        }
    }

    /// The container's seccomp filter, which every exec loads before its execve (OCI
    /// runtimes load it for the init themselves; execs are berth's own everywhere).
    pub fn seccomp(&self, dir: &Path) -> Result<Option<crate::seccomp::Program>, String> {
        match self {
            Backend::Native(n) => Ok(n.seccomp.clone()),
            _ => {
                let spec =
                    crate::spec::bundle_spec(dir).map_err(|e| format!("read bundle spec: {e}"))?;
                crate::seccomp::Program::for_spec(&spec)
            }
        }
    }

    /// The container's cgroup directories (one per v1 hierarchy, or the v2 one), which an
    /// exec'd process joins.
    pub fn cgroup_dirs(&self, dir: &Path) -> Vec<PathBuf> {
        match self {
            Backend::Native(n) => n.cgroup.dirs().to_vec(),
            _ => spec_cgroups_path(dir)
                .map(|p| crate::cgroups::Cgroup::existing(&p.to_string_lossy()))
                .map(|c| c.dirs().to_vec())
                .unwrap_or_default(),
        }
    }

    /// Tears down a container that never ran or whose shim cannot serve it: kills its
    /// init (not yet reaped, so its pid is still ours), then deletes it.
    pub fn abandon(&mut self) {
        match self {
            Backend::Native(n) => n.destroy(),
            other => other.delete(),
        }
    }

    /// Removes the runtime's state and the container's cgroup after the init exited and
    /// was reaped (best effort).
    pub fn delete(&mut self) {
        match self {
            Backend::Native(n) => n.cgroup.remove(),
            Backend::Libcontainer(c) => {
                if let Err(e) = c.delete(true) {
                    tracing::warn!("delete container: {e}");
                }
            }
            Backend::Oci(rt) => {
                // The daemon may be removing the container's directory right now (`run
                // --rm`: the waiters were told of the exit): the runtime's log of the delete
                // goes next to its state, as a log file made in that directory would keep
                // it from being removed.
                let log = rt.root.join(format!("{}.delete.log", rt.id));
                let ok = rt
                    .command_logging_to(&log)
                    .args(["delete", "--force"])
                    .arg(&rt.id)
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .status()
                    .map(|s| s.success())
                    .unwrap_or(false);
                if !ok {
                    tracing::warn!("{}", rt.error_in(&log, "delete"));
                }
                let _ = std::fs::remove_file(&log);
            }
        }
    }
}

impl OciRuntime {
    fn command(&self) -> Command {
        self.command_logging_to(&self.log)
    }

    fn command_logging_to(&self, log: &Path) -> Command {
        let mut cmd = Command::new(&self.binary);
        cmd.arg("--root")
            .arg(&self.root)
            .arg("--log")
            .arg(log)
            .arg("--log-format")
            .arg("json");
        if self.systemd {
            cmd.arg("--systemd-cgroup");
        }
        cmd
    }

    /// The runtime's last error message from its JSON log, for the API error.
    fn last_error(&self, op: &str) -> String {
        self.error_in(&self.log, op)
    }

    /// The last error message in the JSON log `log`.
    fn error_in(&self, log: &Path, op: &str) -> String {
        let text = std::fs::read_to_string(log).unwrap_or_default();
        let msg = text
            .lines()
            .rev()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .find(|v| v.get("level").and_then(|l| l.as_str()) == Some("error"))
            .and_then(|v| v.get("msg").and_then(|m| m.as_str()).map(str::to_string))
            .unwrap_or_else(|| format!("{op} failed"));
        let name = self
            .binary
            .file_name()
            .map(|n| n.to_string_lossy().into_owned());
        format!(
            "OCI runtime {op} failed: {}: {msg}",
            name.unwrap_or_default()
        )
    }
}

/// The cgroupsPath of the container's bundle spec (None if unreadable or unset).
fn spec_cgroups_path(dir: &Path) -> Option<PathBuf> {
    crate::spec::bundle_spec(dir)
        .ok()?
        .linux()
        .as_ref()?
        .cgroups_path()
        .clone()
}

/// libcontainer 0.7 as built here cannot load a seccomp filter in its init ("failed to
/// load seccomp context"): say so, and how to run the container, rather than fail obscurely
/// or run it without its filter.
fn libcontainer_seccomp(dir: &Path) -> Result<(), String> {
    let spec = crate::spec::bundle_spec(dir).map_err(|e| format!("read bundle spec: {e}"))?;
    if spec.linux().as_ref().is_some_and(|l| l.seccomp().is_some()) {
        return Err("the libcontainer runtime cannot apply seccomp profiles: use the berth or runc runtime, or --security-opt seccomp=unconfined".into());
    }
    Ok(())
}

/// A runtime name ("crun") looked up on PATH, or an absolute path.
pub fn find_binary(runtime: &str) -> Result<PathBuf, String> {
    if runtime.contains('/') {
        let p = PathBuf::from(runtime);
        return if p.is_file() {
            Ok(p)
        } else {
            Err(format!("runtime {runtime} not found"))
        };
    }
    let path = std::env::var_os("PATH")
        .unwrap_or_else(|| "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into());
    std::env::split_paths(&path)
        .map(|d| d.join(runtime))
        .find(|p| p.is_file())
        .ok_or_else(|| format!("unknown or invalid runtime name: {runtime}"))
}
