//! The shim's event loop: poll(2) over the control socket, the clients, the container's
//! stdout/stderr pipes and a signalfd for SIGCHLD.
//!
//! Attach streams carry Docker's multiplexed format without a tty (an 8-byte header: stream
//! 1 or 2, three zero bytes, the length as u32 BE), raw bytes with one. A client's
//! half-close closes the container's stdin (Docker's StdinOnce), except with a tty, so a
//! detached `-it` session goes on. Only output produced while a client is attached reaches
//! it; a client that lets `MAX_CLIENT_BUF` of output queue up is dropped rather than
//! blocking the container, one gone in both directions at once.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::PermissionsExt;
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::backend::{Backend, Stdio3};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::{exit_path, socket_path, Args, ExitStatus, Request, Response};
use crate::logfile::{format_time, Stream};
use crate::logsink::LogSink;
use crate::oom::OomWatch;

/// How long the shim must have been idle before it frees the filters of ended execs
/// (`Shim::released`): longer than the gap between a client's back-to-back execs.
const RELEASE_QUIET_MS: u16 = 50;
/// Ended execs' filters kept at most (each a descriptor and a few KiB of kernel memory).
const RELEASE_MAX: usize = 64;

/// Output queued for one slow client before it is dropped.
const MAX_CLIENT_BUF: usize = 1 << 20;
/// How long to wait for the pipes to drain after init exited (orphans in a shared pid
/// namespace could keep them open forever).
const DRAIN_TIMEOUT: Duration = Duration::from_secs(2);

/// Writes the one-line message to the spawner and closes the pipe.
pub(super) fn report(ready: Option<OwnedFd>, msg: &str) {
    if let Some(fd) = ready {
        let mut f = File::from(fd);
        let _ = f.write_all(msg.as_bytes());
        let _ = f.write_all(b"\n");
    }
}

/// Reports a failed create to the spawner: `error ` and the structured `StartError`.
pub(super) fn report_failure(ready: Option<OwnedFd>, msg: &str) {
    let e = crate::start_error::StartError::classify(msg);
    match serde_json::to_string(&e) {
        Ok(line) => report(ready, &format!("error {line}")),
        Err(_) => report(ready, &format!("error {msg}")),
    }
}

#[derive(PartialEq, Eq)]
enum Mode {
    /// Reading the request line.
    Request,
    Wait,
    /// The stdio of the init (`exec: None`) or of an exec.
    Attach {
        exec: Option<String>,
        stdin: bool,
        stdout: bool,
        stderr: bool,
    },
    /// Waiting for an exec's exit code.
    ExecWait(String),
    /// Send what is queued, then close.
    Closing,
}

struct Client {
    sock: UnixStream,
    inbuf: Vec<u8>,
    out: Vec<u8>,
    mode: Mode,
    read_eof: bool,
    dead: bool,
}

impl Client {
    fn send_line<T: serde::Serialize>(&mut self, v: &T) {
        if serde_json::to_writer(&mut self.out, v).is_ok() {
            self.out.push(b'\n');
        }
    }

    fn attached_to(&self, exec: Option<&str>) -> bool {
        matches!(&self.mode, Mode::Attach { exec: e, .. } if e.as_deref() == exec)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Created,
    Running,
    Exited,
}

/// A process whose stdio the shim serves: the container's init (`exec_id: None`) or an
/// exec. With a terminal, stdout is the pty master and stdin a duplicate of it.
struct Proc {
    exec_id: Option<String>,
    pid: Pid,
    tty: bool,
    stdout: Option<File>,
    stderr: Option<File>,
    stdin: Option<File>,
    stdin_buf: Vec<u8>,
    stdin_close: bool,
    /// Whether a client closing its input closes this process's stdin (StdinOnce).
    stdin_once: bool,
    exit: Option<i32>,
    exited_at: Option<Instant>,
    /// An exec's seccomp listener (`exec::Spawned::seccomp_hold`).
    seccomp_hold: Option<OwnedFd>,
}

impl Proc {
    fn drained(&self) -> bool {
        self.exit.is_some()
            && ((self.stdout.is_none() && self.stderr.is_none())
                || self.exited_at.is_some_and(|t| t.elapsed() > DRAIN_TIMEOUT))
    }

    /// The pty master, for resizing.
    fn console(&self) -> Option<&File> {
        if self.tty {
            self.stdout.as_ref()
        } else {
            None
        }
    }

    fn exited(&mut self, code: i32) {
        self.exit = Some(code);
        self.exited_at = Some(Instant::now());
        // Nobody will read stdin any more.
        self.stdin = None;
        self.stdin_buf = Vec::new();
    }
}

struct Shim {
    container: Backend,
    status: Status,
    exit: Option<ExitStatus>,
    /// procs[0] is the init; execs follow while they run or drain.
    procs: Vec<Proc>,
    /// Exit codes of execs that ended (an exec_wait may come after the end).
    exec_exits: std::collections::HashMap<String, i32>,
    log: LogSink,
    clients: Vec<Client>,
    /// The container directory (the backend finds its cgroup from it).
    dir: PathBuf,
    /// cgroup v2: OOM kills seen while the container runs (its cgroup may be gone by the
    /// time the init is reaped: see `crate::oom`).
    oom: Option<OomWatch>,
    /// The seccomp program every exec loads, read at the first exec and kept: with an OCI
    /// runtime's backend it comes from the bundle (the spec and the compiled program's
    /// file), which does not change while the container runs.
    exec_seccomp: Option<Option<crate::seccomp::Program>>,
    /// The running init's namespaces, opened at the first exec (`exec::Target`), dropped
    /// when the init exits.
    exec_target: Option<super::exec::Target>,
    /// Listeners of ended execs' filters, still open. Closing the last reference frees the
    /// filter and wakes a kworker, which preempts the shim there (`crate::seccomp`, "Who
    /// frees an exec's filter"); on a busy CPU the shim then waits a time slice, which
    /// must not fall on the next request: so they are closed when the shim is idle.
    released: Vec<OwnedFd>,
}

fn err_resp(msg: impl Into<String>) -> Response {
    Response {
        ok: false,
        error: Some(msg.into()),
        ..Default::default()
    }
}

fn ok_resp() -> Response {
    Response {
        ok: true,
        ..Default::default()
    }
}

fn set_nonblock(fd: &impl AsRawFd) -> io::Result<()> {
    use nix::fcntl::{fcntl, FcntlArg, OFlag};
    let fl = fcntl(fd.as_raw_fd(), FcntlArg::F_GETFL).map_err(io::Error::from)?;
    fcntl(
        fd.as_raw_fd(),
        FcntlArg::F_SETFL(OFlag::from_bits_retain(fl) | OFlag::O_NONBLOCK),
    )
    .map_err(io::Error::from)?;
    Ok(())
}

fn pipe() -> io::Result<(File, OwnedFd)> {
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(io::Error::from)?;
    Ok((File::from(r), w))
}

fn null_fd() -> Result<OwnedFd, String> {
    File::open("/dev/null")
        .map(OwnedFd::from)
        .map_err(|e| format!("/dev/null: {e}"))
}

/// The stdio a process gets and the shim's ends of it: (child's fds, stdout, stderr, stdin).
type Plumbing = (Stdio3, Option<File>, Option<File>, Option<File>);

/// Pipes for a process without a terminal; /dev/null placeholders with one (the process
/// opens its own pty).
fn plumbing(tty: bool, stdin: bool) -> Result<Plumbing, String> {
    if tty {
        let io = Stdio3 {
            stdin: null_fd()?,
            stdout: null_fd()?,
            stderr: null_fd()?,
        };
        return Ok((io, None, None, None));
    }
    let (out_r, out_w) = pipe().map_err(|e| format!("pipe: {e}"))?;
    let (err_r, err_w) = pipe().map_err(|e| format!("pipe: {e}"))?;
    let (stdin_w, stdin_r): (Option<File>, OwnedFd) = if stdin {
        let (r, w) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| format!("pipe: {e}"))?;
        (Some(File::from(w)), r)
    } else {
        (None, null_fd()?)
    };
    let io = Stdio3 {
        stdin: stdin_r,
        stdout: out_w,
        stderr: err_w,
    };
    Ok((io, Some(out_r), Some(err_r), stdin_w))
}

/// The shim's side of a terminal: the master for output, a duplicate for input.
fn console_files(master: OwnedFd, stdin: bool) -> Result<(Option<File>, Option<File>), String> {
    let input = if stdin {
        Some(File::from(
            master.try_clone().map_err(|e| format!("dup pty: {e}"))?,
        ))
    } else {
        None
    };
    Ok((Some(File::from(master)), input))
}

pub(super) fn run(a: Args, ready: Option<OwnedFd>) -> i32 {
    if let Some(fd) = &ready {
        // Keep the ready pipe out of the container.
        let _ = nix::fcntl::fcntl(
            fd.as_raw_fd(),
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
        );
    }
    if a.tty && !(a.runtime.is_empty() || a.runtime == super::BUILTIN) {
        report_failure(
            ready,
            &format!(
                "a terminal (-t) is not supported with the {} runtime yet",
                a.runtime
            ),
        );
        return 1;
    }
    // Orphaned container processes (the init, once libcontainer's intermediate exits, and
    // every exec) are re-parented to us so we can reap them and learn their exit status.
    if let Err(e) = nix::sys::prctl::set_child_subreaper(true) {
        report_failure(ready, &format!("set child subreaper: {e}"));
        return 1;
    }
    let mut log = match LogSink::open(&a.log, &a.dir, &a.id) {
        Ok(l) => l,
        Err(e) => {
            report_failure(ready, &format!("open log: {e}"));
            return 1;
        }
    };
    let created = plumbing(a.tty, a.stdin).and_then(|(io, out, err, input)| {
        let c = Backend::create(&a.runtime, &a.id, &a.dir, io)?;
        // Our copies of the write ends are gone: EOF on the pipes now means every
        // container process closed them.
        Ok((c, out, err, input))
    });
    let (mut container, mut out_r, err_r, mut stdin_w) = match created {
        Ok(v) => v,
        Err(e) => {
            report_failure(ready, &e.to_string());
            return 1;
        }
    };
    // A non-blocking log's writer thread starts only now: the init was cloned (a clone
    // does not run fork's handlers, so no other thread may hold a lock at that moment).
    if let Err(e) = log.activate() {
        container.abandon();
        report(ready, &format!("error start log writer: {e}"));
        return 1;
    }
    if a.tty {
        let files = container
            .take_console()
            .ok_or_else(|| "container init sent no terminal".to_string())
            .and_then(|m| console_files(m, a.stdin));
        match files {
            Ok((o, i)) => {
                out_r = o;
                stdin_w = i;
            }
            Err(e) => {
                abandon(container);
                report_failure(ready, &e.to_string());
                return 1;
            }
        }
    }
    let Some(init) = container.pid().map(nix::unistd::Pid::from_raw) else {
        abandon(container);
        report_failure(ready, "container has no init pid");
        return 1;
    };
    let setup = || -> Result<(SignalFd, UnixListener, u32), String> {
        // SIGCHLD only after create: blocked signals are inherited by the container's processes.
        let mut mask = SigSet::empty();
        mask.add(Signal::SIGCHLD);
        let sigfd = mask
            .thread_block()
            .and_then(|_| {
                SignalFd::with_flags(&mask, SfdFlags::SFD_NONBLOCK | SfdFlags::SFD_CLOEXEC)
            })
            .map_err(|e| format!("signalfd: {e}"))?;
        super::harden::ignore(Signal::SIGPIPE);
        let sock = socket_path(&a.dir);
        if let Some(parent) = sock.parent() {
            private_dir(parent).map_err(|e| format!("create {parent:?}: {e}"))?;
        }
        let _ = std::fs::remove_file(&sock);
        let listener = UnixListener::bind(&sock).map_err(|e| format!("listen on {sock:?}: {e}"))?;
        // Only root (the daemon) may talk to a shim: the directory is 0700 already, the
        // socket too is its owner's alone.
        std::fs::set_permissions(&sock, std::fs::Permissions::from_mode(0o600))
            .map_err(|e| format!("chmod {sock:?}: {e}"))?;
        set_nonblock(&listener).map_err(|e| e.to_string())?;
        for f in [&out_r, &err_r, &stdin_w].into_iter().flatten() {
            set_nonblock(f).map_err(|e| e.to_string())?;
        }
        let me = std::process::id();
        berth_api::atomic::write_file_volatile(&a.dir.join("shim.pid"), me.to_string().as_bytes())
            .map_err(|e| format!("write shim.pid: {e}"))?;
        Ok((sigfd, listener, me))
    };
    let (sigfd, listener, me) = match setup() {
        Ok(v) => v,
        Err(e) => {
            // The container exists already: remove it (its init, cgroup and state) so a
            // failed start leaves nothing behind.
            abandon(container);
            report_failure(ready, &e.to_string());
            return 1;
        }
    };
    let sock = socket_path(&a.dir);
    // Watched from before start: nothing of the container has run yet (the native init
    // waits in its cgroup for the go; an OCI runtime's between create and start).
    // Only v2 has `memory.events` (one directory); on v1 the exit reads the memory
    // hierarchy's counter instead (`Cgroup::oom_killed`).
    let oom = if crate::spec::host_cgroup_v2() {
        container
            .cgroup_dirs(&a.dir)
            .iter()
            .find_map(|d| OomWatch::new(d))
    } else {
        None
    };
    let mut shim = Shim {
        container,
        status: Status::Created,
        exit: None,
        procs: vec![Proc {
            exec_id: None,
            pid: init,
            tty: a.tty,
            stdout: out_r,
            stderr: err_r,
            stdin: stdin_w,
            stdin_buf: Vec::new(),
            stdin_close: false,
            stdin_once: a.stdin_once,
            exit: None,
            exited_at: None,
            seccomp_hold: None,
        }],
        exec_exits: std::collections::HashMap::new(),
        log,
        clients: Vec::new(),
        dir: a.dir.clone(),
        oom,
        exec_seccomp: None,
        exec_target: None,
        released: Vec::new(),
    };
    report(ready, &format!("ready {me}"));
    // The init may have died before SIGCHLD was blocked; its signal would be lost.
    shim.reap();
    trim();
    shim.run_loop(&listener, &sigfd);
    shim.finish(&a.dir);
    let _ = std::fs::remove_file(&sock);
    let _ = std::fs::remove_file(a.dir.join("shim.pid"));
    0
}

/// Deletes a created container whose shim cannot serve it.
fn abandon(mut container: Backend) {
    container.abandon();
}

/// Returns memory we no longer use to the kernel: freed heap (libcontainer's create left a
/// lot behind) and the main stack pages below the current frame, which create touched once
/// (~170 KiB) and which would otherwise stay resident for the container's lifetime.
fn trim() {
    // SAFETY: malloc_trim has no preconditions.
    unsafe {
        libc::malloc_trim(0);
    }
    let marker = 0u8;
    let sp = std::hint::black_box(&marker) as *const u8 as usize;
    let Some(start) = stack_start() else {
        return;
    };
    // Keep a generous margin below the current frame for the calls that follow.
    let end = (sp.saturating_sub(24 * 1024)) & !4095;
    if end > start {
        // SAFETY: the range is below the live part of our own stack (it grows down), so no
        // frame refers to it; touching it again just faults in zero pages.
        unsafe {
            libc::madvise(start as *mut libc::c_void, end - start, libc::MADV_DONTNEED);
        }
    }
}

/// Where the main stack's mapping starts, from /proc/self/maps, read once: the zygote
/// reads it before it forks (`super::warm`), and its shims share the mapping. (Should a
/// shim's stack grow below it, the kernel moves the start down and `trim` releases a
/// little less than it could.)
pub(super) fn stack_start() -> Option<usize> {
    static START: std::sync::OnceLock<Option<usize>> = std::sync::OnceLock::new();
    *START.get_or_init(|| {
        let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
        maps.lines()
            .find(|l| l.ends_with("[stack]"))
            .and_then(|l| l.split('-').next())
            .and_then(|s| usize::from_str_radix(s, 16).ok())
    })
}

/// What a poll slot stands for.
#[derive(Clone, Copy)]
enum Slot {
    Oom,
    Signal,
    Listener,
    Stdout(usize),
    Stderr(usize),
    Stdin(usize),
    Client(usize),
}

impl Shim {
    fn init(&self) -> &Proc {
        &self.procs[0]
    }

    fn done(&self) -> bool {
        self.init().drained()
    }

    fn proc_index(&self, exec: Option<&str>) -> Option<usize> {
        self.procs.iter().position(|p| p.exec_id.as_deref() == exec)
    }

    fn run_loop(&mut self, listener: &UnixListener, sigfd: &SignalFd) {
        let mut buf = [0u8; 8192];
        while !self.done() {
            // Execs first: they may mark clients dead, which must go before we poll.
            self.reap_execs();
            self.clients.retain(|c| !c.dead);
            let (slots, revents) = {
                let mut fds: Vec<PollFd> = Vec::with_capacity(4 + self.clients.len());
                let mut slots: Vec<Slot> = Vec::with_capacity(fds.capacity());
                // Before the signal: an OOM notice and the init's SIGCHLD in the same poll
                // are read in that order.
                // kernfs wakes POLLPRI at the event itself (its inotify notice comes later,
                // from a workqueue); a kernfs file always polls readable, so not POLLIN.
                if let Some(fd) = self.oom.as_ref().and_then(|w| w.poll_fd()) {
                    fds.push(PollFd::new(fd, PollFlags::POLLPRI));
                    slots.push(Slot::Oom);
                }
                fds.push(PollFd::new(sigfd.as_fd(), PollFlags::POLLIN));
                slots.push(Slot::Signal);
                fds.push(PollFd::new(listener.as_fd(), PollFlags::POLLIN));
                slots.push(Slot::Listener);
                for (pi, p) in self.procs.iter().enumerate() {
                    if let Some(f) = &p.stdout {
                        fds.push(PollFd::new(f.as_fd(), PollFlags::POLLIN));
                        slots.push(Slot::Stdout(pi));
                    }
                    if let Some(f) = &p.stderr {
                        fds.push(PollFd::new(f.as_fd(), PollFlags::POLLIN));
                        slots.push(Slot::Stderr(pi));
                    }
                    if let Some(f) = &p.stdin {
                        if !p.stdin_buf.is_empty() {
                            fds.push(PollFd::new(f.as_fd(), PollFlags::POLLOUT));
                            slots.push(Slot::Stdin(pi));
                        }
                    }
                }
                for (ci, c) in self.clients.iter().enumerate() {
                    let mut ev = PollFlags::empty();
                    let wants_input = match &c.mode {
                        Mode::Request => true,
                        Mode::Attach {
                            stdin: true, exec, ..
                        } => self
                            .proc_index(exec.as_deref())
                            .is_some_and(|pi| self.procs[pi].stdin_buf.is_empty()),
                        Mode::Attach { .. } => false,
                        // Reading lets us notice a client that went away.
                        Mode::Wait | Mode::ExecWait(_) => true,
                        Mode::Closing => false,
                    };
                    if wants_input && !c.read_eof {
                        ev |= PollFlags::POLLIN;
                    }
                    if !c.out.is_empty() {
                        ev |= PollFlags::POLLOUT;
                    }
                    fds.push(PollFd::new(c.sock.as_fd(), ev));
                    slots.push(Slot::Client(ci));
                }
                // Ended execs' filters are freed once the shim had nothing to do for
                // RELEASE_QUIET (their listeners closed: `released`), or at once past
                // RELEASE_MAX of them.
                if self.released.len() > RELEASE_MAX {
                    self.released.clear();
                }
                let draining = self.procs.iter().any(|p| p.exit.is_some());
                let timeout = if draining {
                    PollTimeout::from(100u16)
                } else if !self.released.is_empty() {
                    PollTimeout::from(RELEASE_QUIET_MS)
                } else {
                    PollTimeout::NONE
                };
                match poll(&mut fds, timeout) {
                    Ok(0) => self.released.clear(),
                    Ok(_) => {}
                    Err(nix::errno::Errno::EINTR) => continue,
                    Err(e) => {
                        tracing::error!("poll: {e}");
                        return;
                    }
                }
                let revents: Vec<PollFlags> = fds
                    .iter()
                    .map(|f| f.revents().unwrap_or(PollFlags::empty()))
                    .collect();
                (slots, revents)
            };
            let readable = PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR;
            let mut accept = false;
            // Output before clients, so a new attach can't see later output than the log.
            for (slot, ev) in slots.iter().zip(&revents) {
                match *slot {
                    Slot::Oom if ev.intersects(readable | PollFlags::POLLPRI) => {
                        if let Some(w) = &mut self.oom {
                            w.check();
                        }
                    }
                    Slot::Signal if ev.intersects(readable) => {
                        while let Ok(Some(_)) = sigfd.read_signal() {}
                        self.reap();
                    }
                    Slot::Stdout(pi) if ev.intersects(readable) => {
                        self.read_output(pi, Stream::Stdout, &mut buf)
                    }
                    Slot::Stderr(pi) if ev.intersects(readable) => {
                        self.read_output(pi, Stream::Stderr, &mut buf)
                    }
                    Slot::Stdin(pi) if ev.intersects(PollFlags::POLLOUT | PollFlags::POLLERR) => {
                        self.flush_stdin(pi)
                    }
                    Slot::Listener if ev.contains(PollFlags::POLLIN) => accept = true,
                    _ => {}
                }
            }
            for (slot, ev) in slots.iter().zip(&revents) {
                let Slot::Client(ci) = *slot else { continue };
                if ci >= self.clients.len() {
                    continue;
                }
                if ev.contains(PollFlags::POLLHUP) && !ev.contains(PollFlags::POLLIN) {
                    // Gone in both directions (a half-close keeps reading): nothing more
                    // can be sent to it, and polling it again would spin.
                    self.client_readable(ci, &mut buf);
                    self.clients[ci].dead = true;
                    continue;
                }
                if ev.intersects(readable) && !self.clients[ci].read_eof {
                    self.client_readable(ci, &mut buf);
                }
                if ev.contains(PollFlags::POLLOUT) {
                    let c = &mut self.clients[ci];
                    match c.sock.write(&c.out) {
                        Ok(n) => {
                            c.out.drain(..n);
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                        Err(_) => c.dead = true,
                    }
                    if c.out.is_empty() {
                        c.out = Vec::new();
                        if c.mode == Mode::Closing {
                            c.dead = true;
                        }
                    }
                }
            }
            if accept {
                while let Ok((s, _)) = listener.accept() {
                    if set_nonblock(&s).is_ok() {
                        self.clients.push(Client {
                            sock: s,
                            inbuf: Vec::new(),
                            out: Vec::new(),
                            mode: Mode::Request,
                            read_eof: false,
                            dead: false,
                        });
                    }
                }
            }
        }
    }

    fn reap(&mut self) {
        loop {
            let (pid, code, sigkilled) = match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) => (pid, code, false),
                Ok(WaitStatus::Signaled(pid, sig, _)) => {
                    (pid, 128 + sig as i32, sig == Signal::SIGKILL)
                }
                Ok(WaitStatus::StillAlive) | Err(_) => return,
                Ok(_) => continue,
            };
            let Some(pi) = self.procs.iter().position(|p| p.pid == pid) else {
                continue;
            };
            if pi == 0 {
                self.init_exited(code, sigkilled);
            } else {
                self.procs[pi].exited(code);
            }
        }
    }

    /// `sigkilled`: the init died of SIGKILL, the OOM killer's signal.
    fn init_exited(&mut self, code: i32, sigkilled: bool) {
        // The watch first (a last read too, in case its notice is still queued), then the
        // cgroup's files as they are now (v1, or no watch).
        let watched = self
            .oom
            .as_mut()
            .is_some_and(|w| w.verdict(sigkilled).oom_killed());
        let oom = watched || self.container.oom_killed(&self.dir);
        self.exit = Some(ExitStatus {
            exit_code: code,
            finished_at: format_time(&chrono::Utc::now()),
            oom_killed: oom,
        });
        self.status = Status::Exited;
        self.procs[0].exited(code);
        self.exec_target = None;
    }

    /// Execs that ended and drained: their waiters get the code, their attaches close.
    fn reap_execs(&mut self) {
        let mut pi = 1;
        while pi < self.procs.len() {
            if !self.procs[pi].drained() {
                pi += 1;
                continue;
            }
            let mut p = self.procs.remove(pi);
            self.released.extend(p.seccomp_hold.take());
            let (Some(id), Some(code)) = (p.exec_id, p.exit) else {
                continue;
            };
            self.exec_exits.insert(id.clone(), code);
            for c in &mut self.clients {
                if c.attached_to(Some(&id)) {
                    c.mode = Mode::Closing;
                    if c.out.is_empty() {
                        c.dead = true;
                    }
                } else if c.mode == Mode::ExecWait(id.clone()) {
                    c.send_line(&Response {
                        ok: true,
                        exit_code: Some(code),
                        ..Default::default()
                    });
                    c.mode = Mode::Closing;
                }
            }
        }
    }

    fn read_output(&mut self, pi: usize, stream: Stream, buf: &mut [u8]) {
        loop {
            let p = &mut self.procs[pi];
            let f = match stream {
                Stream::Stdout => p.stdout.as_mut(),
                Stream::Stderr => p.stderr.as_mut(),
            };
            let Some(f) = f else { return };
            let eof = match f.read(buf) {
                Ok(0) => true,
                Ok(n) => {
                    let data = &buf[..n];
                    if pi == 0 {
                        if let Err(e) = self.log.write(stream, data) {
                            tracing::warn!("log: {e}");
                        }
                    }
                    self.broadcast(pi, stream, n, buf);
                    false
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => false,
                // A pty master reads EIO once every slave is closed: the end of output.
                Err(_) => true,
            };
            if eof {
                if pi == 0 {
                    if let Err(e) = self.log.flush_partial(stream) {
                        tracing::warn!("log: {e}");
                    }
                }
                let p = &mut self.procs[pi];
                match stream {
                    Stream::Stdout => {
                        p.stdout = None;
                        if p.tty {
                            p.stdin = None;
                        }
                    }
                    Stream::Stderr => p.stderr = None,
                }
                return;
            }
        }
    }

    /// Queues `buf[..n]` for every client attached to that stream of process `pi`: framed
    /// in Docker's multiplexed format, or raw with a terminal.
    fn broadcast(&mut self, pi: usize, stream: Stream, n: usize, buf: &[u8]) {
        let data = &buf[..n];
        let id = match stream {
            Stream::Stdout => 1u8,
            Stream::Stderr => 2u8,
        };
        let exec = self.procs[pi].exec_id.clone();
        let raw = self.procs[pi].tty;
        for c in &mut self.clients {
            let wanted = match &c.mode {
                Mode::Attach {
                    exec: e,
                    stdout,
                    stderr,
                    ..
                } if *e == exec => match stream {
                    Stream::Stdout => *stdout,
                    Stream::Stderr => *stderr,
                },
                _ => false,
            };
            if !wanted || c.dead {
                continue;
            }
            if c.out.len() + data.len() > MAX_CLIENT_BUF {
                // A client that does not read must not block the container or grow us.
                c.dead = true;
                continue;
            }
            if !raw {
                c.out.extend_from_slice(&[id, 0, 0, 0]);
                c.out.extend_from_slice(&(data.len() as u32).to_be_bytes());
            }
            c.out.extend_from_slice(data);
        }
    }

    fn flush_stdin(&mut self, pi: usize) {
        let p = &mut self.procs[pi];
        if let Some(f) = p.stdin.as_mut() {
            match f.write(&p.stdin_buf) {
                Ok(n) => {
                    p.stdin_buf.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => {
                    p.stdin = None;
                    p.stdin_buf = Vec::new();
                }
            }
        }
        if p.stdin_buf.is_empty() {
            p.stdin_buf = Vec::new();
            if p.stdin_close {
                p.stdin = None;
            }
        }
    }

    /// Bytes from an attached client for the stdin of `exec`'s process.
    fn feed_stdin(&mut self, exec: Option<&str>, data: &[u8]) {
        if let Some(pi) = self.proc_index(exec) {
            if self.procs[pi].stdin.is_some() {
                self.procs[pi].stdin_buf.extend_from_slice(data);
                self.flush_stdin(pi);
            }
        }
    }

    fn client_readable(&mut self, ci: usize, buf: &mut [u8]) {
        let n = {
            let c = &mut self.clients[ci];
            match c.sock.read(buf) {
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(_) => {
                    c.dead = true;
                    0
                }
            }
        };
        if n == 0 {
            let c = &mut self.clients[ci];
            c.read_eof = true;
            match &c.mode {
                Mode::Attach {
                    stdin: true, exec, ..
                } => {
                    // The client closed its input: close the process's stdin, as Docker
                    // does for `run -i` (StdinOnce). A terminal stays open (a detached
                    // `-it` session goes on), and so does a stdin opened without StdinOnce.
                    let exec = exec.clone();
                    if let Some(pi) = self.proc_index(exec.as_deref()) {
                        if !self.procs[pi].tty && self.procs[pi].stdin_once {
                            self.procs[pi].stdin_close = true;
                            self.flush_stdin(pi);
                        }
                    }
                }
                Mode::Request | Mode::Wait | Mode::ExecWait(_) => c.dead = true,
                _ => {}
            }
            return;
        }
        if self.clients[ci].mode == Mode::Request {
            let c = &mut self.clients[ci];
            c.inbuf.extend_from_slice(&buf[..n]);
            if let Some(nl) = c.inbuf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = c.inbuf.drain(..=nl).collect();
                let rest = std::mem::take(&mut c.inbuf);
                self.handle(ci, &line);
                // Bytes after an attach request line are already stdin.
                if !rest.is_empty() {
                    if let Mode::Attach {
                        stdin: true, exec, ..
                    } = &self.clients[ci].mode
                    {
                        let exec = exec.clone();
                        self.feed_stdin(exec.as_deref(), &rest);
                    }
                }
            } else if c.inbuf.len() > 1 << 20 {
                c.dead = true;
            }
            return;
        }
        if let Mode::Attach {
            stdin: true, exec, ..
        } = &self.clients[ci].mode
        {
            let exec = exec.clone();
            self.feed_stdin(exec.as_deref(), &buf[..n]);
        }
    }

    fn handle(&mut self, ci: usize, line: &[u8]) {
        let req: Request = match serde_json::from_slice(line) {
            Ok(r) => r,
            Err(e) => {
                let c = &mut self.clients[ci];
                c.send_line(&err_resp(format!("bad request: {e}")));
                c.mode = Mode::Closing;
                return;
            }
        };
        let (resp, mode) = match req {
            Request::Start => (self.start(), Mode::Closing),
            Request::State => (
                Response {
                    ok: true,
                    pid: Some(self.init().pid.as_raw()),
                    status: Some(
                        match self.status {
                            Status::Created => "created",
                            Status::Running => "running",
                            Status::Exited => "exited",
                        }
                        .to_string(),
                    ),
                    exit_code: self.exit.as_ref().map(|e| e.exit_code),
                    ..Default::default()
                },
                Mode::Closing,
            ),
            Request::Kill { signal } => (self.kill(signal), Mode::Closing),
            Request::Wait => (ok_resp(), Mode::Wait),
            Request::Attach {
                stdin,
                stdout,
                stderr,
            } => (
                ok_resp(),
                Mode::Attach {
                    exec: None,
                    stdin: stdin && self.init().stdin.is_some(),
                    stdout,
                    stderr,
                },
            ),
            Request::Resize {
                exec_id,
                height,
                width,
            } => (
                self.resize(exec_id.as_deref(), height, width),
                Mode::Closing,
            ),
            Request::Exec {
                exec_id,
                process,
                stdin,
                stdout,
                stderr,
            } => match self.exec(&exec_id, &process, stdin) {
                Ok(pid) => (
                    Response {
                        ok: true,
                        pid: Some(pid),
                        ..Default::default()
                    },
                    if stdin || stdout || stderr {
                        Mode::Attach {
                            exec: Some(exec_id),
                            stdin,
                            stdout,
                            stderr,
                        }
                    } else {
                        Mode::Closing
                    },
                ),
                Err(r) => (r, Mode::Closing),
            },
            Request::ExecWait { exec_id } => match self.exec_exits.get(&exec_id) {
                Some(code) => (
                    Response {
                        ok: true,
                        exit_code: Some(*code),
                        ..Default::default()
                    },
                    Mode::Closing,
                ),
                None if self.proc_index(Some(&exec_id)).is_some() => {
                    (ok_resp(), Mode::ExecWait(exec_id))
                }
                None => (err_resp(format!("no such exec: {exec_id}")), Mode::Closing),
            },
        };
        let c = &mut self.clients[ci];
        c.send_line(&resp);
        c.mode = mode;
    }

    fn start(&mut self) -> Response {
        if self.status != Status::Created {
            return err_resp("container already started");
        }
        match self.container.start() {
            Ok(()) => {
                self.status = Status::Running;
                trim();
                Response {
                    ok: true,
                    pid: Some(self.init().pid.as_raw()),
                    ..Default::default()
                }
            }
            Err(e) => {
                let e = crate::start_error::StartError::classify(e);
                Response {
                    ok: false,
                    error: Some(e.message),
                    exit_code: Some(e.exit_code),
                    kind: Some(e.kind),
                    ..Default::default()
                }
            }
        }
    }

    fn kill(&mut self, signal: i32) -> Response {
        if self.exit.is_some() {
            return err_resp(super::NOT_RUNNING);
        }
        let sig = match Signal::try_from(signal) {
            Ok(s) => s,
            Err(_) => return err_resp(format!("invalid signal {signal}")),
        };
        // A fresh baseline for the OOM watch's parent counter: a SIGKILL from here must
        // not be taken for an OOM kill because a sibling was OOM-killed meanwhile.
        if let Some(w) = &mut self.oom {
            w.check();
        }
        match nix::sys::signal::kill(self.init().pid, sig) {
            Ok(()) => ok_resp(),
            Err(e) => err_resp(format!("kill: {e}")),
        }
    }

    fn resize(&mut self, exec: Option<&str>, height: u16, width: u16) -> Response {
        let Some(pi) = self.proc_index(exec) else {
            return err_resp(format!("no such exec: {}", exec.unwrap_or_default()));
        };
        match self.procs[pi].console() {
            None => err_resp("the process has no terminal"),
            Some(m) => match super::pty::resize(m, height, width) {
                Ok(()) => ok_resp(),
                Err(e) => err_resp(e),
            },
        }
    }

    /// Starts an exec process; its exit is reported to `exec_wait` clients.
    fn exec(
        &mut self,
        exec_id: &str,
        process: &oci_spec::runtime::Process,
        stdin: bool,
    ) -> Result<i32, Response> {
        if self.status != Status::Running || self.exit.is_some() {
            return Err(err_resp(super::NOT_RUNNING));
        }
        if self.proc_index(Some(exec_id)).is_some() || self.exec_exits.contains_key(exec_id) {
            return Err(err_resp(format!("exec {exec_id} already started")));
        }
        let tty = process.terminal() == Some(true);
        let (io, out, err, input) = plumbing(tty, stdin).map_err(err_resp)?;
        let cgroups = self.container.cgroup_dirs(&self.dir);
        if self.exec_seccomp.is_none() {
            self.exec_seccomp = Some(self.container.seccomp(&self.dir).map_err(err_resp)?);
        }
        let spawned = match self.spawn_exec(&cgroups, process, io) {
            Ok(s) => s,
            Err(e) => {
                self.exec_exits.insert(exec_id.to_string(), e.exit_code);
                return Err(Response {
                    ok: false,
                    error: Some(e.message),
                    exit_code: Some(e.exit_code),
                    ..Default::default()
                });
            }
        };
        let (out, input) = match spawned.console {
            Some(m) => console_files(m, stdin).map_err(err_resp)?,
            None => (out, input),
        };
        for f in [&out, &err, &input].into_iter().flatten() {
            set_nonblock(f).map_err(|e| err_resp(e.to_string()))?;
        }
        self.procs.push(Proc {
            exec_id: Some(exec_id.to_string()),
            pid: spawned.pid,
            tty,
            stdout: out,
            stderr: err,
            stdin: input,
            stdin_buf: Vec::new(),
            stdin_close: false,
            // An exec's input ends with its client's (`echo x | docker exec -i c cat`).
            stdin_once: true,
            exit: None,
            exited_at: None,
            seccomp_hold: spawned.seccomp_hold,
        });
        // It may have exited already: its SIGCHLD is pending and the loop reaps it.
        Ok(spawned.pid.as_raw())
    }

    /// The exec's process started in the running init's namespaces (opened at the first
    /// exec: a vanished init fails here, as the exec would).
    fn spawn_exec(
        &mut self,
        cgroups: &[PathBuf],
        process: &oci_spec::runtime::Process,
        io: Stdio3,
    ) -> Result<super::exec::Spawned, super::exec::ExecError> {
        let init = self.init().pid;
        let target = match self.exec_target.take() {
            Some(t) if t.init() == init => t,
            _ => super::exec::Target::open(init)?,
        };
        let target = self.exec_target.insert(target);
        let seccomp = self.exec_seccomp.as_ref().and_then(Option::as_ref);
        super::exec::spawn(target, cgroups, process, io, seccomp)
    }

    /// After init exited and the output drained: log, exit.json, waiters, cleanup.
    fn finish(&mut self, dir: &Path) {
        let _ = self.log.flush_partial(Stream::Stdout);
        let _ = self.log.flush_partial(Stream::Stderr);
        // A non-blocking log's queue is written out before the exit is reported.
        self.log.finish(std::time::Duration::from_secs(2));
        let Some(exit) = self.exit.clone() else {
            return;
        };
        if let Err(e) = berth_api::atomic::write_json_volatile(&exit_path(dir), &exit) {
            tracing::error!("write exit.json: {e}");
        }
        // Execs die with the init (its pid namespace ends): report them as killed if they
        // were not reaped yet.
        for p in self.procs.iter().skip(1) {
            if let Some(id) = &p.exec_id {
                self.exec_exits
                    .insert(id.clone(), p.exit.unwrap_or(128 + libc::SIGKILL));
            }
        }
        // Anything a client started during the drain counts too; then everyone is told.
        for c in &mut self.clients {
            match &c.mode {
                Mode::Wait => c.send_line(&exit),
                Mode::ExecWait(id) => {
                    let code = self.exec_exits.get(id).copied();
                    c.send_line(&Response {
                        ok: true,
                        exit_code: code,
                        ..Default::default()
                    });
                }
                _ => {}
            }
        }
        let deadline = Instant::now() + Duration::from_secs(2);
        for c in &mut self.clients {
            if c.dead || c.out.is_empty() {
                continue;
            }
            let _ = c.sock.set_nonblocking(false);
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            let _ = c.sock.set_write_timeout(Some(left));
            let _ = c.sock.write_all(&c.out);
        }
        for c in &self.clients {
            let _ = c.sock.shutdown(std::net::Shutdown::Both);
        }
        self.clients.clear();
        // Removes the cgroup and the runtime's state.
        self.container.delete();
    }
}

/// Creates the shim socket directory (and its parents) readable by its owner alone, and
/// narrows an existing one to 0700: the control sockets in it start, stop and exec in
/// containers, so no other user may even reach them.
fn private_dir(dir: &std::path::Path) -> std::io::Result<()> {
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    if let Some(parent) = dir.parent() {
        std::fs::create_dir_all(parent)?;
    }
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
        Err(e) => return Err(e),
    }
    let md = std::fs::symlink_metadata(dir)?;
    if !md.is_dir() {
        return Err(std::io::Error::other("not a directory"));
    }
    if md.mode() & 0o077 != 0 && md.uid() == nix::unistd::getuid().as_raw() {
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700))?;
    }
    Ok(())
}
