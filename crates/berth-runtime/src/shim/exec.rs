//! `docker exec`: a new process in a running container, started by the shim.
//!
//! The shim forks; the child joins the container's cgroup and namespaces (mount last, which
//! also moves it to the container's root), then forks again so the grandchild is inside the
//! container's pid namespace. The grandchild takes the exec's user, capabilities, rlimits,
//! terminal and working directory from the OCI process the engine sent, and execs. It is
//! re-parented to the shim (child subreaper), which reaps it like the init. This works
//! whatever runtime created the container: it needs only the init's pid and the cgroup.
//!
//! Messages back to the shim on a SOCK_SEQPACKET pair, one per packet: `P<pid>` (from the
//! child, the grandchild's host pid), `T` with the pty master attached (`-t`), `L` with the
//! seccomp filter's listener attached (the shim holds it so that the filter is freed off
//! the exec's exit path: `crate::seccomp`, "Who frees an exec's filter"), `E<code>
//! <message>` if it could not exec. The pair closes on exec (close-on-exec): success.
//!
//! In a container with a user namespace the exec joins it last, after the others, with its
//! rlimits set before.

use super::backend::Stdio3;
use super::native::{finish_privileges, set_rlimit};
use crate::seccomp::Program;
use oci_spec::runtime::Process;
use std::fs;
use std::io::Write;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

/// A started exec process.
pub(super) struct Spawned {
    pub pid: nix::unistd::Pid,
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

fn fail(message: impl Into<String>) -> ExecError {
    ExecError {
        message: message.into(),
        exit_code: 126,
    }
}

/// The namespaces a process joins to enter the container, in the order runc uses (mount
/// last: joining it changes the root, after which /proc/<init> paths are the container's).
const NAMESPACES: &[(&str, nix::sched::CloneFlags)] = &[
    ("ipc", nix::sched::CloneFlags::CLONE_NEWIPC),
    ("uts", nix::sched::CloneFlags::CLONE_NEWUTS),
    ("net", nix::sched::CloneFlags::CLONE_NEWNET),
    ("pid", nix::sched::CloneFlags::CLONE_NEWPID),
    ("cgroup", nix::sched::CloneFlags::CLONE_NEWCGROUP),
    ("mnt", nix::sched::CloneFlags::CLONE_NEWNS),
    // Last: joined as the host's root, the others need no privilege in the container's
    // user namespace (its network namespace may be the host's user namespace's); once in
    // it, the process has the container root's capabilities only.
    ("user", nix::sched::CloneFlags::CLONE_NEWUSER),
];

/// Starts `process` inside the container whose init is `init`. `io` is the exec's stdio
/// (ignored with a terminal). Blocking, briefly: until the process has exec'd or failed.
pub(super) fn spawn(
    init: nix::unistd::Pid,
    cgroup_dirs: &[PathBuf],
    process: &Process,
    io: Stdio3,
    seccomp: Option<&Program>,
) -> Result<Spawned, ExecError> {
    use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
    // Only the namespaces that differ from ours (a --network host container shares the
    // host's); opened before forking so a vanished init is reported here.
    let mut joins: Vec<(fs::File, nix::sched::CloneFlags)> = Vec::new();
    for (name, flag) in NAMESPACES {
        let theirs = format!("/proc/{}/ns/{name}", init.as_raw());
        let same = match (
            fs::read_link(&theirs),
            fs::read_link(format!("/proc/self/ns/{name}")),
        ) {
            (Ok(a), Ok(b)) => a == b,
            _ => false,
        };
        if same {
            continue;
        }
        let f = fs::File::open(&theirs).map_err(|e| fail(format!("open {theirs}: {e}")))?;
        joins.push((f, *flag));
    }
    let (ours, theirs) = socketpair(
        AddressFamily::Unix,
        SockType::SeqPacket,
        None,
        SockFlag::SOCK_CLOEXEC,
    )
    .map_err(|e| fail(format!("socketpair: {e}")))?;
    let ours = UnixStream::from(ours);
    let theirs = UnixStream::from(theirs);
    let terminal = process.terminal() == Some(true);

    // SAFETY: the shim is single-threaded; the child only runs `enter` and then exits.
    let child = match unsafe { nix::unistd::fork() } {
        Err(e) => return Err(fail(format!("fork: {e}"))),
        Ok(nix::unistd::ForkResult::Child) => {
            drop(ours);
            // The runtime binary, about to enter the container: not dumpable until it execs.
            super::harden::set_non_dumpable();
            let code = match enter(
                cgroup_dirs,
                &joins,
                process,
                terminal,
                &io,
                &theirs,
                seccomp,
            ) {
                Ok(()) => 0,
                Err(e) => {
                    let _ =
                        (&theirs).write_all(format!("E{} {}", e.exit_code, e.message).as_bytes());
                    e.exit_code
                }
            };
            // SAFETY: leaving the forked child without running the shim's destructors.
            unsafe { libc::_exit(code) }
        }
        Ok(nix::unistd::ForkResult::Parent { child }) => child,
    };
    drop(theirs);
    drop(io);
    drop(joins);
    let _ = ours.set_read_timeout(Some(Duration::from_secs(30)));
    let mut pid = None;
    let mut console = None;
    let mut seccomp_hold = None;
    let mut error = None;
    loop {
        match super::pty::recv_fd(&ours) {
            Ok((msg, _)) if msg.is_empty() => break,
            Ok((msg, fd)) => {
                let text = String::from_utf8_lossy(&msg).into_owned();
                if let Some(p) = text.strip_prefix('P') {
                    pid = p.trim().parse::<i32>().ok().map(nix::unistd::Pid::from_raw);
                } else if text.starts_with('T') {
                    console = fd;
                } else if text.starts_with('L') {
                    seccomp_hold = fd;
                } else if let Some(e) = text.strip_prefix('E') {
                    let (code, msg) = e.split_once(' ').unwrap_or(("126", e));
                    error = Some(ExecError {
                        message: msg.to_string(),
                        exit_code: code.parse().unwrap_or(126),
                    });
                }
            }
            Err(e) => {
                error.get_or_insert_with(|| fail(e));
                break;
            }
        }
    }
    // The intermediate child exits at once; reap it so it is no zombie.
    let _ = nix::sys::wait::waitpid(child, None);
    if let Some(e) = error {
        if let Some(p) = pid {
            // The grandchild failed before exec: it exits on its own; reap it too.
            let _ = nix::sys::wait::waitpid(p, None);
        }
        return Err(e);
    }
    let pid = pid.ok_or_else(|| fail("exec process did not start"))?;
    if terminal && console.is_none() {
        return Err(fail("exec process sent no terminal"));
    }
    Ok(Spawned {
        pid,
        console,
        seccomp_hold,
    })
}

/// In the forked child: cgroup, namespaces, then the second fork.
fn enter(
    cgroup_dirs: &[PathBuf],
    joins: &[(fs::File, nix::sched::CloneFlags)],
    process: &Process,
    terminal: bool,
    io: &Stdio3,
    sock: &UnixStream,
    seccomp: Option<&Program>,
) -> Result<(), ExecError> {
    let me = std::process::id().to_string();
    for d in cgroup_dirs {
        fs::write(d.join("cgroup.procs"), &me)
            .map_err(|e| fail(format!("join cgroup {}: {e}", d.display())))?;
    }
    // Before the user namespace: its root may not raise limits.
    for r in process.rlimits().iter().flatten() {
        set_rlimit(r).map_err(fail)?;
    }
    for (f, flag) in joins {
        nix::sched::setns(f, *flag).map_err(|e| fail(format!("join namespace {flag:?}: {e}")))?;
    }
    // SAFETY: still single-threaded (a fork of the single-threaded shim).
    match unsafe { nix::unistd::fork() } {
        Err(e) => Err(fail(format!("fork: {e}"))),
        Ok(nix::unistd::ForkResult::Parent { child }) => {
            let _ = (&*sock).write_all(format!("P{}", child.as_raw()).as_bytes());
            Ok(())
        }
        Ok(nix::unistd::ForkResult::Child) => {
            let e = match run(process, terminal, io, sock, seccomp) {
                Ok(never) => match never {},
                Err(e) => e,
            };
            let _ = (&*sock).write_all(format!("E{} {}", e.exit_code, e.message).as_bytes());
            // SAFETY: leaving the grandchild after a failed setup.
            unsafe { libc::_exit(e.exit_code) }
        }
    }
}

enum Never {}

/// In the grandchild, inside the container: stdio or terminal, limits, user, exec.
fn run(
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
