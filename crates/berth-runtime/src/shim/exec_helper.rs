//! The exec helper: one process per container, started after its first exec, that has
//! joined the container's namespaces and loaded its seccomp filter once, and forks each
//! later exec already inside them.
//!
//! Why: loading the filter is most of what seccomp costs an exec (the kernel checks,
//! converts and JITs the program and builds its per-syscall cache: about 0.1 ms of CPU,
//! and as much again to free it), and a process can share a filter only by inheriting it
//! across fork. A child of the helper inherits the filter and the namespaces; it joins the
//! cgroup through descriptors the helper opened, takes the exec's user, capabilities,
//! terminal and working directory, and execs (`exec::run`, as a child of the shim does).
//!
//! Where it is: in the shim's own pid namespace and cgroup, so the container's `ps`, `top`
//! and pids limit never count it (its children go to the container's pid namespace through
//! `pid_for_children`). It forks with `CLONE_PARENT`: the shim is the parent of every exec,
//! reaps it and gets its exit as before. Non-dumpable, and killed with the shim
//! (`PR_SET_PDEATHSIG`) or when the init exits (drop).
//!
//! When not: a container with a user namespace (an exec's rlimits are set before joining
//! it), or a filter that would refuse one of the child's own steps, which the per-exec way
//! takes before its filter is loaded (`eligible`). Then, or should the helper be gone,
//! execs go the per-exec way (`exec::spawn`).
//!
//! Protocol, on a SOCK_SEQPACKET pair: the shim sends the OCI process as JSON with the
//! exec's stdin, stdout, stderr and its report socket attached; the helper answers
//! `P<pid>` (then the child reports on its socket as in `exec`) or `E<code> <message>`.

use super::backend::Stdio3;
use super::exec::{fail, ExecError, Never, Target};
use crate::seccomp::Program;
use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};
use nix::unistd::Pid;
use oci_spec::runtime::Process;
use std::io::{IoSlice, IoSliceMut, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

/// The largest process description sent in one packet; a larger one (a huge environment)
/// goes the per-exec way.
const MAX_MESSAGE: usize = 64 * 1024;

/// The syscalls a helper's child makes under the container's filter before its execve,
/// besides those of `exec::run` that the per-exec way also makes under it (identity and
/// capabilities, execve): joining the cgroup (write), rlimits, the terminal, descriptors,
/// working directory, the report. With the clone the helper makes (`CLONE_FLAGS`).
const CHILD_SYSCALLS: &[libc::c_long] = &[
    libc::SYS_write,
    libc::SYS_prlimit64,
    libc::SYS_openat,
    libc::SYS_ioctl,
    libc::SYS_sendmsg,
    libc::SYS_recvmsg,
    libc::SYS_dup3,
    #[cfg(target_arch = "x86_64")]
    libc::SYS_dup2,
    libc::SYS_fcntl,
    libc::SYS_close,
    libc::SYS_close_range,
    libc::SYS_chdir,
    libc::SYS_getcwd,
    libc::SYS_newfstatat,
    libc::SYS_statx,
    libc::SYS_faccessat,
    libc::SYS_faccessat2,
    libc::SYS_setgroups,
    libc::SYS_setresgid,
    libc::SYS_setresuid,
    libc::SYS_capget,
    libc::SYS_capset,
    libc::SYS_prctl,
    libc::SYS_rt_sigaction,
    libc::SYS_rt_sigprocmask,
    libc::SYS_execve,
    libc::SYS_exit_group,
];

/// The helper's fork: the child's parent is the shim (the helper's parent), its exit
/// signal the helper's (SIGCHLD).
const CLONE_FLAGS: u64 = libc::CLONE_PARENT as u64;

/// Whether execs of a container with this filter may start from a helper.
pub(super) fn eligible(target: &Target, seccomp: Option<&Program>) -> bool {
    !target.has_user_namespace()
        && seccomp.is_none_or(|p| {
            p.allows(libc::SYS_clone, [CLONE_FLAGS, 0, 0, 0, 0, 0])
                && CHILD_SYSCALLS.iter().all(|nr| p.allows(*nr, [0; 6]))
        })
}

/// Why the helper did not start an exec.
pub(super) enum Attempt {
    /// The exec failed (as it would have the per-exec way).
    Failed(ExecError),
    /// The helper is not usable (gone, or it could not set up): go the per-exec way.
    Unavailable(String),
}

/// A running helper, owned by the shim.
pub(super) struct Helper {
    pid: Pid,
    control: UnixStream,
}

impl Helper {
    /// Forks the helper for `target` (whose cgroup is `cgroup_dirs`). It sets itself up on
    /// its own (a failure shows as `Unavailable` at the next exec).
    /// SAFETY: as `fork`: the caller is single-threaded.
    pub(super) unsafe fn start(
        target: &Target,
        cgroup_dirs: &[PathBuf],
        seccomp: Option<&Program>,
    ) -> Result<Helper, String> {
        let (ours, theirs) = super::exec::seqpacket_pair()?;
        // SAFETY: the caller's contract; the child runs `serve` and exits.
        match unsafe { nix::unistd::fork() }.map_err(|e| format!("fork: {e}"))? {
            nix::unistd::ForkResult::Child => {
                drop(ours);
                let code = match serve(target, cgroup_dirs, seccomp, UnixStream::from(theirs)) {
                    Ok(never) => match never {},
                    // The shim learns of it at the next exec (no answer), and logs it there.
                    Err(_) => 1,
                };
                // SAFETY: leaving the forked child without the shim's destructors.
                unsafe { libc::_exit(code) }
            }
            nix::unistd::ForkResult::Parent { child } => Ok(Helper {
                pid: child,
                control: UnixStream::from(ours),
            }),
        }
    }

    /// Starts `process` with stdio `io` from the helper.
    pub(super) fn spawn(
        &self,
        process: &Process,
        io: &Stdio3,
    ) -> Result<super::exec::Spawned, Attempt> {
        let unavailable = Attempt::Unavailable;
        let json = serde_json::to_vec(process).map_err(|e| unavailable(e.to_string()))?;
        if json.len() > MAX_MESSAGE {
            return Err(unavailable("process description too large".into()));
        }
        let (report, theirs) = super::exec::seqpacket_pair().map_err(unavailable)?;
        let fds = [
            io.stdin.as_raw_fd(),
            io.stdout.as_raw_fd(),
            io.stderr.as_raw_fd(),
            theirs.as_raw_fd(),
        ];
        sendmsg::<()>(
            self.control.as_raw_fd(),
            &[IoSlice::new(&json)],
            &[ControlMessage::ScmRights(&fds)],
            MsgFlags::MSG_NOSIGNAL,
            None,
        )
        .map_err(|e| unavailable(format!("send: {e}")))?;
        drop(theirs);
        let _ = self.control.set_read_timeout(Some(Duration::from_secs(30)));
        let mut answer = [0u8; 4096];
        let n = (&self.control)
            .read(&mut answer)
            .map_err(|e| unavailable(format!("answer: {e}")))?;
        let answer = String::from_utf8_lossy(&answer[..n]);
        if let Some(pid) = answer.strip_prefix('P').and_then(|p| p.parse().ok()) {
            let terminal = process.terminal() == Some(true);
            return super::exec::await_child(
                Pid::from_raw(pid),
                UnixStream::from(report),
                terminal,
            )
            .map_err(Attempt::Failed);
        }
        if let Some(e) = answer.strip_prefix('E') {
            return Err(Attempt::Failed(ExecError::from_report(e)));
        }
        Err(unavailable("no answer (set-up failed)".into()))
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        // It holds the container's namespaces: gone with the init (the shim reaps it).
        let _ = nix::sys::signal::kill(self.pid, nix::sys::signal::Signal::SIGKILL);
    }
}

/// In the helper: keep only what it needs, join, load the filter, then fork execs until
/// the shim closes the control socket.
fn serve(
    target: &Target,
    cgroup_dirs: &[PathBuf],
    seccomp: Option<&Program>,
    control: UnixStream,
) -> Result<Never, String> {
    super::harden::set_non_dumpable();
    // SAFETY: a plain prctl; the check after it covers a shim that died before it.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL, 0, 0, 0) };
    if nix::unistd::getppid().as_raw() == 1 {
        return Err("the shim is gone".into());
    }
    let mut cgroups = Vec::new();
    for d in cgroup_dirs {
        let p = d.join("cgroup.procs");
        let f = std::fs::OpenOptions::new()
            .write(true)
            .open(&p)
            .map_err(|e| format!("open {}: {e}", p.display()))?;
        cgroups.push(OwnedFd::from(f));
    }
    // Nothing of the shim's stays open here (other execs' pipes would never see EOF).
    let mut keep: Vec<RawFd> = cgroups.iter().map(AsRawFd::as_raw_fd).collect();
    keep.push(control.as_raw_fd());
    keep.extend(target.descriptors());
    close_all_but(&keep);
    target.join_pid_for_children().map_err(|e| e.message)?;
    target.join_others().map_err(|e| e.message)?;
    close_all_but(
        &cgroups
            .iter()
            .map(AsRawFd::as_raw_fd)
            .chain([control.as_raw_fd()])
            .collect::<Vec<_>>(),
    );
    if let Some(p) = seccomp {
        p.load()?;
    }
    let mut buf = vec![0u8; MAX_MESSAGE];
    loop {
        let (n, fds) = receive(&control, &mut buf)?;
        if n == 0 {
            // SAFETY: the shim closed the control socket: nothing left to do.
            unsafe { libc::_exit(0) }
        }
        let answer = match fork_exec(&buf[..n], fds, &cgroups) {
            Ok(pid) => format!("P{pid}"),
            Err(e) => e.report(),
        };
        let _ = (&control).write_all(answer.as_bytes());
    }
}

/// One message and its descriptors (close-on-exec).
fn receive(control: &UnixStream, buf: &mut [u8]) -> Result<(usize, Vec<OwnedFd>), String> {
    let mut space = nix::cmsg_space!([RawFd; 4]);
    let mut iov = [IoSliceMut::new(buf)];
    let msg = recvmsg::<()>(
        control.as_raw_fd(),
        &mut iov,
        Some(&mut space),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(|e| format!("receive: {e}"))?;
    let mut fds = Vec::new();
    for c in msg.cmsgs().map_err(|e| format!("receive: {e}"))? {
        if let ControlMessageOwned::ScmRights(got) = c {
            // SAFETY: the kernel installed these descriptors for us just now.
            fds.extend(got.into_iter().map(|f| unsafe { OwnedFd::from_raw_fd(f) }));
        }
    }
    Ok((msg.bytes, fds))
}

/// Forks one exec (the child never returns); the child's pid.
fn fork_exec(message: &[u8], fds: Vec<OwnedFd>, cgroups: &[OwnedFd]) -> Result<i32, ExecError> {
    let process: Process =
        serde_json::from_slice(message).map_err(|e| fail(format!("exec process: {e}")))?;
    let [stdin, stdout, stderr, report]: [OwnedFd; 4] = fds
        .try_into()
        .map_err(|_| fail("exec helper: expected 4 descriptors"))?;
    // SAFETY: a raw clone without a new stack behaves as fork; the helper is single-threaded.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_clone,
            CLONE_FLAGS | libc::SIGCHLD as u64,
            0,
            0,
            0,
            0,
        )
    };
    if rc < 0 {
        return Err(fail(format!("fork: {}", std::io::Error::last_os_error())));
    }
    if rc > 0 {
        return Ok(rc as i32);
    }
    let report = UnixStream::from(report);
    let io = Stdio3 {
        stdin,
        stdout,
        stderr,
    };
    let e = match child(&process, &io, &report, cgroups) {
        Ok(never) => match never {},
        Err(e) => e,
    };
    let _ = (&report).write_all(e.report().as_bytes());
    // SAFETY: leaving the forked child after a failed setup.
    unsafe { libc::_exit(e.exit_code) }
}

/// In the helper's child: the cgroup, rlimits, then the last steps every exec takes.
fn child(
    process: &Process,
    io: &Stdio3,
    report: &UnixStream,
    cgroups: &[OwnedFd],
) -> Result<Never, ExecError> {
    for f in cgroups {
        // "0": the writer itself.
        // SAFETY: writing one byte from a valid buffer to our own descriptor.
        if unsafe { libc::write(f.as_raw_fd(), b"0".as_ptr().cast(), 1) } != 1 {
            return Err(fail(format!(
                "join cgroup: {}",
                std::io::Error::last_os_error()
            )));
        }
    }
    super::exec::set_rlimits(process)?;
    let terminal = process.terminal() == Some(true);
    // The filter is the helper's, inherited: nothing to load.
    super::exec::run(process, terminal, io, report, None)
}

/// Closes every descriptor from 3 up but `keep` (best effort: before Linux 5.9 nothing).
fn close_all_but(keep: &[RawFd]) {
    let mut keep = keep.to_vec();
    keep.sort_unstable();
    let mut from = 3u32;
    for k in keep.into_iter().filter_map(|k| u32::try_from(k).ok()) {
        if k > from {
            close_range(from, k - 1);
        }
        from = from.max(k + 1);
    }
    close_range(from, u32::MAX);
}

fn close_range(first: u32, last: u32) {
    // SAFETY: closes descriptors of this process that nothing here uses any more.
    unsafe { libc::syscall(libc::SYS_close_range, first, last, 0u32) };
}
