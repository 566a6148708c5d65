//! `docker exec`: a new process in a running container, started by the shim.
//!
//! The container's namespaces are opened once, at its first exec ([`Target`]), not per
//! exec. For each exec the shim points its own children's pid namespace at the container's
//! (`setns` changes only where the shim's children go, never the shim itself), forks, and
//! points it back at once: one fork puts the child inside the container's pid namespace,
//! where runc's nsexec needs a second (its stage-2 child). The child joins the container's
//! cgroup and its other namespaces (mount last but user, which also moves it to the
//! container's root), takes the exec's user, capabilities, rlimits, terminal and working
//! directory from the OCI process the engine sent, and execs. The shim reaps it like the
//! init. This works whatever runtime created the container: it needs only the init's pid
//! and the cgroup.
//!
//! Messages back to the shim on a SOCK_SEQPACKET pair, one per packet: `T` with the pty
//! master attached (`-t`), `L` with the seccomp filter's listener attached (the shim holds it
//! so that the filter is freed off the exec's exit path: `crate::seccomp`, "Who frees an
//! exec's filter"), `E<code> <message>` if it could not exec. The pair closes on exec
//! (close-on-exec): success.
//!
//! In a container with a user namespace the exec joins it last, after the others, with its
//! rlimits set before.

use super::backend::Stdio3;
use super::exec_helper::{Attempt, Helper};
use super::native::{finish_privileges, set_rlimit};
use crate::seccomp::Program;
use nix::sched::CloneFlags;
use nix::unistd::Pid;
use oci_spec::runtime::Process;
use std::fs;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

/// A started exec process.
pub(super) struct Spawned {
    pub pid: Pid,
    /// The pty master with `-t`.
    pub console: Option<OwnedFd>,
    /// The listener of the exec's seccomp filter: closing it (after the exec's exit is
    /// reported) frees the filter, in the closer's context.
    pub seccomp_hold: Option<OwnedFd>,
}

/// Why an exec did not start, and the exit code Docker reports for it (126, 127).
pub(super) struct ExecError {
    pub message: String,
    pub exit_code: i32,
}

pub(super) fn fail(message: impl Into<String>) -> ExecError {
    ExecError {
        message: message.into(),
        exit_code: 126,
    }
}

impl ExecError {
    /// The child's (or the helper's) report of it: `E<code> <message>`.
    pub(super) fn report(&self) -> String {
        format!("E{} {}", self.exit_code, self.message)
    }

    /// The error a report names (the text after its `E`).
    pub(super) fn from_report(e: &str) -> ExecError {
        let (code, msg) = e.split_once(' ').unwrap_or(("126", e));
        ExecError {
            message: msg.to_string(),
            exit_code: code.parse().unwrap_or(126),
        }
    }
}

/// The exec's rlimits (before any user namespace: its root may not raise them).
pub(super) fn set_rlimits(process: &Process) -> Result<(), ExecError> {
    for r in process.rlimits().iter().flatten() {
        set_rlimit(r).map_err(fail)?;
    }
    Ok(())
}

/// The namespaces a process joins to enter the container, in the order runc uses (mount
/// last: joining it changes the root, after which /proc/<init> paths are the container's).
const NAMESPACES: &[(&str, CloneFlags)] = &[
    ("ipc", CloneFlags::CLONE_NEWIPC),
    ("uts", CloneFlags::CLONE_NEWUTS),
    ("net", CloneFlags::CLONE_NEWNET),
    ("pid", CloneFlags::CLONE_NEWPID),
    ("cgroup", CloneFlags::CLONE_NEWCGROUP),
    ("mnt", CloneFlags::CLONE_NEWNS),
    // Last: joined as the host's root, the others need no privilege in the container's
    // user namespace (its network namespace may be the host's user namespace's); once in
    // it, the process has the container root's capabilities only.
    ("user", CloneFlags::CLONE_NEWUSER),
];

/// The namespaces of a running container that differ from the shim's, opened at its first
/// exec and kept while its init runs: every exec after the first saves a dozen /proc
/// lookups. Held descriptors keep the namespaces alive, so the shim drops this when the
/// init exits (an exec is refused from then on).
pub(super) struct Target {
    init: Pid,
    /// The init's pid namespace and the shim's own (to point its children back at), when
    /// they differ (not with `--pid host`).
    pid: Option<(fs::File, fs::File)>,
    /// The other namespaces that differ, in [`NAMESPACES`]' order (user last).
    joins: Vec<(fs::File, CloneFlags)>,
    /// The exec helper, started after the first exec where it can be (`exec_helper`).
    helper: Option<Helper>,
    /// Whether a helper was started (or found ineligible) already: one try per init.
    helper_tried: bool,
}

impl Target {
    /// Opens the namespaces of `init` that are not the shim's; fails if `init` is gone.
    pub(super) fn open(init: Pid) -> Result<Self, ExecError> {
        let mut pid = None;
        let mut joins = Vec::new();
        for (name, flag) in NAMESPACES {
            let theirs = format!("/proc/{}/ns/{name}", init.as_raw());
            let ours = format!("/proc/self/ns/{name}");
            let same = match (fs::read_link(&theirs), fs::read_link(&ours)) {
                (Ok(a), Ok(b)) => a == b,
                _ => false,
            };
            if same {
                continue;
            }
            let f = fs::File::open(&theirs).map_err(|e| fail(format!("open {theirs}: {e}")))?;
            if *flag == CloneFlags::CLONE_NEWPID {
                let own = fs::File::open(&ours).map_err(|e| fail(format!("open {ours}: {e}")))?;
                pid = Some((f, own));
            } else {
                joins.push((f, *flag));
            }
        }
        Ok(Target {
            init,
            pid,
            joins,
            helper: None,
            helper_tried: false,
        })
    }

    /// The init whose namespaces these are.
    pub(super) fn init(&self) -> Pid {
        self.init
    }

    /// Whether the container has a user namespace of its own.
    pub(super) fn has_user_namespace(&self) -> bool {
        self.joins
            .iter()
            .any(|(_, f)| *f == CloneFlags::CLONE_NEWUSER)
    }

    /// The namespace descriptors held.
    pub(super) fn descriptors(&self) -> impl Iterator<Item = RawFd> + '_ {
        let pid = self
            .pid
            .iter()
            .flat_map(|(a, b)| [a.as_raw_fd(), b.as_raw_fd()]);
        pid.chain(self.joins.iter().map(|(f, _)| f.as_raw_fd()))
    }

    /// Points this process's future children at the container's pid namespace (for good).
    pub(super) fn join_pid_for_children(&self) -> Result<(), ExecError> {
        match &self.pid {
            Some((theirs, _)) => nix::sched::setns(theirs, CloneFlags::CLONE_NEWPID)
                .map_err(|e| fail(format!("join namespace CLONE_NEWPID: {e}"))),
            None => Ok(()),
        }
    }

    /// Joins the container's other namespaces, in order (mount, then user, last).
    pub(super) fn join_others(&self) -> Result<(), ExecError> {
        for (f, flag) in &self.joins {
            nix::sched::setns(f, *flag)
                .map_err(|e| fail(format!("join namespace {flag:?}: {e}")))?;
        }
        Ok(())
    }
}

/// Forks with the shim's children pointed at the container's pid namespace (when it has
/// its own), and points them back before returning, in the parent, whatever the outcome.
/// SAFETY: as `fork`: the caller is single-threaded.
unsafe fn fork_into(target: &Target) -> Result<nix::unistd::ForkResult, ExecError> {
    if let Some((theirs, _)) = &target.pid {
        nix::sched::setns(theirs, CloneFlags::CLONE_NEWPID)
            .map_err(|e| fail(format!("join namespace CLONE_NEWPID: {e}")))?;
    }
    // SAFETY: the caller's contract.
    let forked = unsafe { nix::unistd::fork() };
    if let (Some((_, own)), Ok(nix::unistd::ForkResult::Parent { .. }) | Err(_)) =
        (&target.pid, &forked)
    {
        // Back to the shim's own pid namespace (its active one, always allowed). Should
        // this fail, the shim's later children would start in the container: say so loudly.
        if let Err(e) = nix::sched::setns(own, CloneFlags::CLONE_NEWPID) {
            tracing::error!("exec: back to the shim's pid namespace: {e}");
        }
    }
    forked.map_err(|e| fail(format!("fork: {e}")))
}

/// Starts `process` inside the container `target` (whose cgroup is `cgroup_dirs`). `io` is
/// the exec's stdio (ignored with a terminal). Blocking, briefly: until the process has
/// exec'd or failed. From the helper when there is one (started after the first exec
/// where the container allows it), else forked by the shim.
pub(super) fn spawn(
    target: &mut Target,
    cgroup_dirs: &[PathBuf],
    process: &Process,
    io: Stdio3,
    seccomp: Option<&Program>,
) -> Result<Spawned, ExecError> {
    if let Some(helper) = &target.helper {
        match helper.spawn(process, &io) {
            Ok(s) => return Ok(s),
            Err(Attempt::Failed(e)) => return Err(e),
            Err(Attempt::Unavailable(why)) => {
                tracing::warn!("exec helper of {}: {why}", target.init);
                target.helper = None;
            }
        }
    }
    let spawned = spawn_forked(target, cgroup_dirs, process, io, seccomp)?;
    if !target.helper_tried {
        target.helper_tried = true;
        if super::exec_helper::eligible(target, seccomp) {
            // SAFETY: the shim is single-threaded.
            match unsafe { Helper::start(target, cgroup_dirs, seccomp) } {
                Ok(h) => target.helper = Some(h),
                Err(e) => tracing::warn!("exec helper of {}: {e}", target.init),
            }
        }
    }
    Ok(spawned)
}

/// The exec forked by the shim itself: it joins the cgroup and namespaces and loads the
/// filter on its own.
fn spawn_forked(
    target: &Target,
    cgroup_dirs: &[PathBuf],
    process: &Process,
    io: Stdio3,
    seccomp: Option<&Program>,
) -> Result<Spawned, ExecError> {
    let (ours, theirs) = seqpacket_pair().map_err(fail)?;
    let ours = UnixStream::from(ours);
    let theirs = UnixStream::from(theirs);
    let terminal = process.terminal() == Some(true);

    // SAFETY: the shim is single-threaded; the child only runs `enter` and then exits.
    let child = match unsafe { fork_into(target) }? {
        nix::unistd::ForkResult::Child => {
            drop(ours);
            // The runtime binary, about to enter the container: not dumpable until it execs.
            super::harden::set_non_dumpable();
            let e = match enter(
                target,
                cgroup_dirs,
                process,
                terminal,
                &io,
                &theirs,
                seccomp,
            ) {
                Ok(never) => match never {},
                Err(e) => e,
            };
            let _ = (&theirs).write_all(e.report().as_bytes());
            // SAFETY: leaving the forked child after a failed setup, without running the
            // shim's destructors.
            unsafe { libc::_exit(e.exit_code) }
        }
        nix::unistd::ForkResult::Parent { child } => child,
    };
    drop(theirs);
    drop(io);
    await_child(child, ours, terminal)
}

/// A close-on-exec SOCK_SEQPACKET pair: an exec's report socket, the helper's control.
pub(super) fn seqpacket_pair() -> Result<(OwnedFd, OwnedFd), String> {
    use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
    socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(|e| format!("socketpair: {e}"))
}

/// In the shim: the child's reports until it exec'd (the socket closes) or failed (then it
/// is reaped here).
pub(super) fn await_child(
    child: Pid,
    ours: UnixStream,
    terminal: bool,
) -> Result<Spawned, ExecError> {
    let _ = ours.set_read_timeout(Some(Duration::from_secs(30)));
    let mut console = None;
    let mut seccomp_hold = None;
    let mut error = None;
    loop {
        match super::pty::recv_fd(&ours) {
            Ok((msg, _)) if msg.is_empty() => break,
            Ok((msg, fd)) => {
                let text = String::from_utf8_lossy(&msg).into_owned();
                if text.starts_with('T') {
                    console = fd;
                } else if text.starts_with('L') {
                    seccomp_hold = fd;
                } else if let Some(e) = text.strip_prefix('E') {
                    error = Some(ExecError::from_report(e));
                }
            }
            Err(e) => {
                error.get_or_insert_with(|| fail(e));
                break;
            }
        }
    }
    if let Some(e) = error {
        // The child failed before exec: it exits on its own; reap it.
        let _ = nix::sys::wait::waitpid(child, None);
        return Err(e);
    }
    if terminal && console.is_none() {
        return Err(fail("exec process sent no terminal"));
    }
    Ok(Spawned {
        pid: child,
        console,
        seccomp_hold,
    })
}

/// In the forked child (already in the container's pid namespace): cgroup, rlimits, the
/// other namespaces, then the exec.
fn enter(
    target: &Target,
    cgroup_dirs: &[PathBuf],
    process: &Process,
    terminal: bool,
    io: &Stdio3,
    sock: &UnixStream,
    seccomp: Option<&Program>,
) -> Result<Never, ExecError> {
    // "0": the writer itself (its pid in the host's numbering is not its own any more).
    for d in cgroup_dirs {
        fs::write(d.join("cgroup.procs"), "0")
            .map_err(|e| fail(format!("join cgroup {}: {e}", d.display())))?;
    }
    set_rlimits(process)?;
    target.join_others()?;
    run(process, terminal, io, sock, seccomp)
}

pub(super) enum Never {}

/// In the child, inside the container: stdio or terminal, working directory, user, exec.
pub(super) fn run(
    process: &Process,
    terminal: bool,
    io: &Stdio3,
    sock: &UnixStream,
    seccomp: Option<&Program>,
) -> Result<Never, ExecError> {
    if terminal {
        let (master, slave, _) = super::pty::open().map_err(fail)?;
        if let Some((h, w)) = crate::spec::console_size(process) {
            super::pty::resize(&master, h, w).map_err(fail)?;
        }
        super::pty::make_controlling(&slave).map_err(fail)?;
        super::pty::send_fd(sock, b"T", master.as_raw_fd()).map_err(fail)?;
    } else {
        for (fd, target) in [(&io.stdin, 0), (&io.stdout, 1), (&io.stderr, 2)] {
            nix::unistd::dup2(fd.as_raw_fd(), target).map_err(|e| fail(format!("dup2: {e}")))?;
        }
    }
    super::harden::close_fds_on_exec().map_err(fail)?;
    let cwd = process.cwd();
    nix::unistd::chdir(cwd).map_err(|e| {
        fail(format!(
            "chdir to cwd (\"{}\") set in config.json failed: {}",
            cwd.display(),
            std::io::Error::from(e)
        ))
    })?;
    super::harden::verify_cwd(cwd).map_err(fail)?;
    if let Some(listener) = finish_privileges(process, seccomp, true).map_err(fail)? {
        // Under the filter already; if it forbids sendmsg, the exec goes on without the
        // hold (the listener closes on exec) and its exit frees the filter itself.
        let _ = super::pty::send_fd(sock, b"L", listener.as_raw_fd());
    }
    let cmd = super::native::command_of(process).map_err(|m| ExecError {
        exit_code: if m.contains("not found") { 127 } else { 126 },
        message: m,
    })?;
    super::harden::reset_signals();
    let e = nix::unistd::execve(&cmd.exe, &cmd.args, &cmd.env).unwrap_err();
    Err(ExecError {
        exit_code: if e == nix::errno::Errno::ENOENT {
            127
        } else {
            126
        },
        message: super::native::exec_failure(&cmd.arg0, e),
    })
}
