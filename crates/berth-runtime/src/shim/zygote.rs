//! The shim zygote: one small single-threaded `berthd shim-zygote` process per daemon that
//! forks shims on request, so a container start pays a fork of a small process instead of
//! an exec of the whole berth binary (dynamic loading, page faults, Rust's start-up).
//!
//! The daemon talks to it over a SOCK_SEQPACKET pair (the zygote's stdin): one message per
//! shim, a JSON list of `berthd shim` arguments plus the shim.log path, with the shim's ready
//! pipe attached (SCM_RIGHTS). The forked child is exactly what `berthd shim` would have
//! become after its own fork: a session leader whose parent is not the daemon. When the
//! daemon goes away the socket closes and the zygote exits; its shims are re-parented to
//! init and go on, as before.

use serde::{Deserialize, Serialize};
use std::io;
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;

#[derive(Serialize, Deserialize)]
struct Request {
    /// `berthd shim` arguments without `--ready-fd` (the zygote adds the received fd).
    args: Vec<String>,
    /// Where the shim's own diagnostics go (its stderr).
    log: PathBuf,
}

struct Handle {
    sock: UnixStream,
    child: Child,
    exe: PathBuf,
}

static ZYGOTE: Mutex<Option<Handle>> = Mutex::new(None);

/// Bytes of argv the zygote carries so its shims can rewrite their command line.
const ARGV_ROOM: usize = 512;

impl Handle {
    fn start(exe: &Path) -> io::Result<Handle> {
        use nix::sys::socket::{socketpair, AddressFamily, SockFlag, SockType};
        let (ours, theirs) = socketpair(
            AddressFamily::Unix,
            SockType::SeqPacket,
            None,
            SockFlag::SOCK_CLOEXEC,
        )
        .map_err(io::Error::from)?;
        let mut cmd = Command::new(super::sealed::exe_path(exe));
        // ps shows the binary's real path, not the sealed copy's /proc/self/fd/N.
        std::os::unix::process::CommandExt::arg0(&mut cmd, exe);
        let child = cmd
            .arg("shim-zygote")
            // Room in the argv area for each forked shim to name its container in ps
            // (`berthd shim --id ID --dir DIR`), as an exec'd shim's arguments did.
            .arg(" ".repeat(ARGV_ROOM))
            .stdin(Stdio::from(theirs))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()?;
        Ok(Handle {
            sock: UnixStream::from(ours),
            child,
            exe: exe.to_path_buf(),
        })
    }
}

/// Whether the zygote process still runs.
pub(super) fn alive() -> bool {
    let mut guard = ZYGOTE.lock().unwrap_or_else(|e| e.into_inner());
    guard
        .as_mut()
        .is_some_and(|h| matches!(h.child.try_wait(), Ok(None)))
}

/// Asks the zygote (started on first use) to fork a shim with `args`, handing it
/// `ready_w`. On failure the pipe comes back so the caller can start the shim itself.
pub(super) fn spawn(
    exe: &Path,
    args: &[String],
    log: &Path,
    ready_w: OwnedFd,
) -> Result<(), (io::Error, OwnedFd)> {
    let msg = match serde_json::to_vec(&Request {
        args: args.to_vec(),
        log: log.to_path_buf(),
    }) {
        Ok(m) => m,
        Err(e) => return Err((io::Error::other(e), ready_w)),
    };
    let mut guard = ZYGOTE.lock().unwrap_or_else(|e| e.into_inner());
    // A zygote that died (or runs another binary) is replaced, once per call.
    for attempt in 0..2 {
        let alive = guard
            .as_mut()
            .is_some_and(|h| h.exe == exe && matches!(h.child.try_wait(), Ok(None)));
        if !alive {
            if let Some(mut old) = guard.take() {
                let _ = old.child.try_wait();
            }
            match Handle::start(exe) {
                Ok(h) => *guard = Some(h),
                Err(e) => return Err((e, ready_w)),
            }
        }
        let Some(h) = guard.as_ref() else { break };
        match super::pty::send_fd(&h.sock, &msg, ready_w.as_raw_fd()) {
            Ok(()) => return Ok(()),
            Err(e) if attempt == 1 => return Err((io::Error::other(e), ready_w)),
            Err(_) => {
                *guard = None;
            }
        }
    }
    Err((io::Error::other("zygote unavailable"), ready_w))
}

/// `berthd shim-zygote`: serves fork requests on stdin until the daemon closes it.
pub fn main() -> i32 {
    use nix::sys::signal::Signal;
    // SAFETY: stdin is the daemon's end of the request socket; nothing else owns fd 0.
    let sock = UnixStream::from(unsafe { <OwnedFd as std::os::fd::FromRawFd>::from_raw_fd(0) });
    // What the daemon left ignored, before this process changes anything.
    super::harden::note_ignored_signals();
    // Shims are our children until we exit: let the kernel reap them.
    super::harden::ignore(Signal::SIGCHLD);
    super::warm();
    loop {
        let (msg, fd) = match super::pty::recv_fd(&sock) {
            Ok(v) => v,
            Err(_) => return 1,
        };
        if msg.is_empty() {
            // The daemon is gone.
            return 0;
        }
        let (Ok(req), Some(ready)) = (serde_json::from_slice::<Request>(&msg), fd) else {
            continue;
        };
        // SAFETY: single-threaded; the child becomes the shim and never returns here.
        match unsafe { nix::unistd::fork() } {
            Ok(nix::unistd::ForkResult::Child) => {
                let code = become_shim(&sock, req, ready);
                std::process::exit(code);
            }
            Ok(nix::unistd::ForkResult::Parent { .. }) => drop(ready),
            // The daemon reads EOF on the ready pipe (dropped here) and reports it.
            Err(_) => drop(ready),
        }
    }
}

/// In the forked child: the process `berthd shim` would have been after its own fork.
fn become_shim(sock: &UnixStream, req: Request, ready: OwnedFd) -> i32 {
    use nix::sys::signal::{signal, SigHandler, Signal};
    // SAFETY: restoring the default disposition (the shim reaps its own children).
    unsafe {
        let _ = signal(Signal::SIGCHLD, SigHandler::SigDfl);
    }
    // The request socket is the zygote's, not the shim's.
    if let Ok(null) = std::fs::File::open("/dev/null") {
        let _ = nix::unistd::dup2(null.as_raw_fd(), 0);
    }
    let _ = sock;
    if let Ok(log) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&req.log)
    {
        let _ = nix::unistd::dup2(log.as_raw_fd(), 2);
    }
    if nix::unistd::setsid().is_err() {
        super::server::report(Some(ready), "error setsid failed");
        return 1;
    }
    let mut a = match super::parse_args(&req.args) {
        Ok(a) => a,
        Err(e) => {
            super::server::report(Some(ready), &format!("error {e}"));
            return 2;
        }
    };
    a.ready_fd = None;
    let exe = std::env::args().next().unwrap_or_else(|| "berth".into());
    let shown: Vec<String> = [exe, "shim".to_string()]
        .into_iter()
        .chain(req.args.iter().cloned())
        .collect();
    super::set_cmdline(&shown);
    super::server::run(a, Some(ready))
}
