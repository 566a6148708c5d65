//! The shim's event loop: poll(2) over the control socket, the clients, the container's
//! stdout/stderr pipes and a signalfd for SIGCHLD.

use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::net::{UnixListener, UnixStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::backend::{Backend, Stdio3};
use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::{exit_path, log_path, socket_path, Args, ExitStatus, Request, Response};
use crate::logfile::{format_time, LogWriter, Stream};

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

#[derive(PartialEq, Eq)]
enum Mode {
    /// Reading the request line.
    Request,
    Wait,
    Attach {
        stdin: bool,
        stdout: bool,
        stderr: bool,
    },
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
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Status {
    Created,
    Running,
    Exited,
}

struct Shim {
    container: Backend,
    init: Pid,
    status: Status,
    exit: Option<ExitStatus>,
    exited_at: Option<Instant>,
    stdout: Option<File>,
    stderr: Option<File>,
    stdin: Option<File>,
    stdin_buf: Vec<u8>,
    stdin_close: bool,
    log: LogWriter,
    clients: Vec<Client>,
    /// The container directory (the backend finds its cgroup from it).
    dir: PathBuf,
}

fn err_resp(msg: impl Into<String>) -> Response {
    Response {
        ok: false,
        error: Some(msg.into()),
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

fn create(a: &Args) -> Result<(Backend, File, File, Option<File>), String> {
    let (out_r, out_w) = pipe().map_err(|e| format!("pipe: {e}"))?;
    let (err_r, err_w) = pipe().map_err(|e| format!("pipe: {e}"))?;
    let (stdin_w, stdin_r): (Option<File>, OwnedFd) = if a.stdin {
        let (r, w) =
            nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(|e| format!("pipe: {e}"))?;
        (Some(File::from(w)), r)
    } else {
        let null = File::open("/dev/null").map_err(|e| format!("/dev/null: {e}"))?;
        (None, OwnedFd::from(null))
    };
    let io = Stdio3 {
        stdin: stdin_r,
        stdout: out_w,
        stderr: err_w,
    };
    let container = Backend::create(&a.runtime, &a.id, &a.dir, io)?;
    // Our copies of the write ends are gone: EOF on the pipes now means every container
    // process closed them.
    Ok((container, out_r, err_r, stdin_w))
}

pub(super) fn run(a: Args, ready: Option<OwnedFd>) -> i32 {
    if let Some(fd) = &ready {
        // Keep the ready pipe out of the container.
        let _ = nix::fcntl::fcntl(
            fd.as_raw_fd(),
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
        );
    }
    if a.tty {
        // TODO(tty): console socket + pty master forwarding.
        report(ready, "error tty not supported yet");
        return 1;
    }
    // Orphaned container processes (the init, once libcontainer's intermediate exits) are
    // re-parented to us so we can reap them and learn the exit status.
    if let Err(e) = nix::sys::prctl::set_child_subreaper(true) {
        report(ready, &format!("error set child subreaper: {e}"));
        return 1;
    }
    let log = match LogWriter::open(&log_path(&a.dir, &a.id), a.log_max_size, a.log_max_file) {
        Ok(l) => l,
        Err(e) => {
            report(ready, &format!("error open log: {e}"));
            return 1;
        }
    };
    let (container, out_r, err_r, stdin_w) = match create(&a) {
        Ok(v) => v,
        Err(e) => {
            report(ready, &format!("error {e}"));
            return 1;
        }
    };
    let Some(init) = container.pid().map(nix::unistd::Pid::from_raw) else {
        abandon(container);
        report(ready, "error container has no init pid");
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
        // SAFETY: setting a signal disposition to ignore.
        unsafe {
            let _ = nix::sys::signal::signal(Signal::SIGPIPE, nix::sys::signal::SigHandler::SigIgn);
        }
        let sock = socket_path(&a.dir);
        if let Some(parent) = sock.parent() {
            std::fs::create_dir_all(parent).map_err(|e| format!("create {parent:?}: {e}"))?;
        }
        let _ = std::fs::remove_file(&sock);
        let listener = UnixListener::bind(&sock).map_err(|e| format!("listen on {sock:?}: {e}"))?;
        set_nonblock(&listener)
            .and_then(|_| set_nonblock(&out_r))
            .and_then(|_| set_nonblock(&err_r))
            .and_then(|_| stdin_w.as_ref().map_or(Ok(()), set_nonblock))
            .map_err(|e| e.to_string())?;
        let me = std::process::id();
        berth_api::atomic::write_file(&a.dir.join("shim.pid"), me.to_string().as_bytes())
            .map_err(|e| format!("write shim.pid: {e}"))?;
        Ok((sigfd, listener, me))
    };
    let (sigfd, listener, me) = match setup() {
        Ok(v) => v,
        Err(e) => {
            // The container exists already: remove it (its init, cgroup and state) so a
            // failed start leaves nothing behind.
            abandon(container);
            report(ready, &format!("error {e}"));
            return 1;
        }
    };
    let sock = socket_path(&a.dir);
    let mut shim = Shim {
        container,
        init,
        status: Status::Created,
        exit: None,
        exited_at: None,
        stdout: Some(out_r),
        stderr: Some(err_r),
        stdin: stdin_w,
        stdin_buf: Vec::new(),
        stdin_close: false,
        log,
        clients: Vec::new(),
        dir: a.dir.clone(),
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
    let Ok(maps) = std::fs::read_to_string("/proc/self/maps") else {
        return;
    };
    let Some(start) = maps
        .lines()
        .find(|l| l.ends_with("[stack]"))
        .and_then(|l| l.split('-').next())
        .and_then(|s| usize::from_str_radix(s, 16).ok())
    else {
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

impl Shim {
    fn done(&self) -> bool {
        self.exit.is_some()
            && ((self.stdout.is_none() && self.stderr.is_none())
                || self.exited_at.is_some_and(|t| t.elapsed() > DRAIN_TIMEOUT))
    }

    fn run_loop(&mut self, listener: &UnixListener, sigfd: &SignalFd) {
        let mut buf = [0u8; 8192];
        while !self.done() {
            self.clients.retain(|c| !c.dead);
            let (rev, revents) = {
                let mut fds: Vec<PollFd> = Vec::with_capacity(4 + self.clients.len());
                fds.push(PollFd::new(sigfd.as_fd(), PollFlags::POLLIN));
                fds.push(PollFd::new(listener.as_fd(), PollFlags::POLLIN));
                let out_idx = self.stdout.as_ref().map(|f| {
                    fds.push(PollFd::new(f.as_fd(), PollFlags::POLLIN));
                    fds.len() - 1
                });
                let err_idx = self.stderr.as_ref().map(|f| {
                    fds.push(PollFd::new(f.as_fd(), PollFlags::POLLIN));
                    fds.len() - 1
                });
                let stdin_idx = match &self.stdin {
                    Some(f) if !self.stdin_buf.is_empty() => {
                        fds.push(PollFd::new(f.as_fd(), PollFlags::POLLOUT));
                        Some(fds.len() - 1)
                    }
                    _ => None,
                };
                let first_client = fds.len();
                for c in &self.clients {
                    let mut ev = PollFlags::empty();
                    let wants_input = match c.mode {
                        Mode::Request => true,
                        Mode::Attach { stdin, .. } => stdin && self.stdin_buf.is_empty(),
                        // Reading lets us notice a client that went away.
                        Mode::Wait => true,
                        Mode::Closing => false,
                    };
                    if wants_input && !c.read_eof {
                        ev |= PollFlags::POLLIN;
                    }
                    if !c.out.is_empty() {
                        ev |= PollFlags::POLLOUT;
                    }
                    fds.push(PollFd::new(c.sock.as_fd(), ev));
                }
                let timeout = if self.exit.is_some() {
                    PollTimeout::from(100u16)
                } else {
                    PollTimeout::NONE
                };
                match poll(&mut fds, timeout) {
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
                ((out_idx, err_idx, stdin_idx, first_client), revents)
            };
            let (out_idx, err_idx, stdin_idx, first_client) = rev;
            let readable = PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR;

            if revents[0].intersects(readable) {
                while let Ok(Some(_)) = sigfd.read_signal() {}
                self.reap();
            }
            // Output before clients, so a new attach can't see later output than the log.
            if let Some(i) = out_idx {
                if revents[i].intersects(readable) {
                    self.read_output(Stream::Stdout, &mut buf);
                }
            }
            if let Some(i) = err_idx {
                if revents[i].intersects(readable) {
                    self.read_output(Stream::Stderr, &mut buf);
                }
            }
            if let Some(i) = stdin_idx {
                if revents[i].intersects(PollFlags::POLLOUT | PollFlags::POLLERR) {
                    self.flush_stdin();
                }
            }
            let nclients = self.clients.len();
            for ci in 0..nclients {
                let ev = revents[first_client + ci];
                if ev.intersects(readable) {
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
            if revents[1].contains(PollFlags::POLLIN) {
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
            match waitpid(None, Some(WaitPidFlag::WNOHANG)) {
                Ok(WaitStatus::Exited(pid, code)) if pid == self.init => self.init_exited(code),
                Ok(WaitStatus::Signaled(pid, sig, _)) if pid == self.init => {
                    self.init_exited(128 + sig as i32)
                }
                Ok(WaitStatus::StillAlive) | Err(_) => return,
                Ok(_) => {}
            }
        }
    }

    fn init_exited(&mut self, code: i32) {
        let oom = self.container.oom_killed(&self.dir);
        self.exit = Some(ExitStatus {
            exit_code: code,
            finished_at: format_time(&chrono::Utc::now()),
            oom_killed: oom,
        });
        self.exited_at = Some(Instant::now());
        self.status = Status::Exited;
        // Nobody will read stdin any more.
        self.stdin = None;
        self.stdin_buf = Vec::new();
    }

    fn read_output(&mut self, stream: Stream, buf: &mut [u8]) {
        loop {
            let f = match stream {
                Stream::Stdout => self.stdout.as_mut(),
                Stream::Stderr => self.stderr.as_mut(),
            };
            let Some(f) = f else { return };
            match f.read(buf) {
                Ok(0) => {
                    if let Err(e) = self.log.flush_partial(stream) {
                        tracing::warn!("log: {e}");
                    }
                    match stream {
                        Stream::Stdout => self.stdout = None,
                        Stream::Stderr => self.stderr = None,
                    }
                    return;
                }
                Ok(n) => {
                    let data = &buf[..n];
                    if let Err(e) = self.log.write(stream, data) {
                        tracing::warn!("log: {e}");
                    }
                    self.broadcast(stream, data);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => {
                    match stream {
                        Stream::Stdout => self.stdout = None,
                        Stream::Stderr => self.stderr = None,
                    }
                    return;
                }
            }
        }
    }

    /// Queues a multiplexed-stream frame for every attached client of `stream`.
    fn broadcast(&mut self, stream: Stream, data: &[u8]) {
        let id = match stream {
            Stream::Stdout => 1u8,
            Stream::Stderr => 2u8,
        };
        for c in &mut self.clients {
            let wanted = match c.mode {
                Mode::Attach { stdout, stderr, .. } => match stream {
                    Stream::Stdout => stdout,
                    Stream::Stderr => stderr,
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
            c.out.extend_from_slice(&[id, 0, 0, 0]);
            c.out.extend_from_slice(&(data.len() as u32).to_be_bytes());
            c.out.extend_from_slice(data);
        }
    }

    fn flush_stdin(&mut self) {
        if let Some(f) = self.stdin.as_mut() {
            match f.write(&self.stdin_buf) {
                Ok(n) => {
                    self.stdin_buf.drain(..n);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {}
                Err(_) => {
                    self.stdin = None;
                    self.stdin_buf = Vec::new();
                }
            }
        }
        if self.stdin_buf.is_empty() {
            self.stdin_buf = Vec::new();
            if self.stdin_close {
                self.stdin = None;
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
        let mode_is_request = self.clients[ci].mode == Mode::Request;
        if n == 0 {
            let c = &mut self.clients[ci];
            c.read_eof = true;
            match c.mode {
                Mode::Attach { stdin: true, .. } => {
                    // The client closed its input: close the container's stdin, as Docker
                    // does for `run -i` (StdinOnce).
                    self.stdin_close = true;
                    self.flush_stdin();
                }
                Mode::Request | Mode::Wait => c.dead = true,
                _ => {}
            }
            return;
        }
        if mode_is_request {
            let c = &mut self.clients[ci];
            c.inbuf.extend_from_slice(&buf[..n]);
            if let Some(nl) = c.inbuf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = c.inbuf.drain(..=nl).collect();
                let rest = std::mem::take(&mut c.inbuf);
                self.handle(ci, &line);
                // Bytes after an attach request line are already stdin.
                if !rest.is_empty() {
                    if let Mode::Attach { stdin: true, .. } = self.clients[ci].mode {
                        self.stdin_buf.extend_from_slice(&rest);
                        self.flush_stdin();
                    }
                }
            } else if c.inbuf.len() > 4096 {
                c.dead = true;
            }
            return;
        }
        if let Mode::Attach { stdin: true, .. } = self.clients[ci].mode {
            if self.stdin.is_some() {
                self.stdin_buf.extend_from_slice(&buf[..n]);
                self.flush_stdin();
            }
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
                    pid: Some(self.init.as_raw()),
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
            Request::Wait => (
                Response {
                    ok: true,
                    ..Default::default()
                },
                Mode::Wait,
            ),
            Request::Attach {
                stdin,
                stdout,
                stderr,
            } => (
                Response {
                    ok: true,
                    ..Default::default()
                },
                Mode::Attach {
                    stdin: stdin && self.stdin.is_some(),
                    stdout,
                    stderr,
                },
            ),
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
                    pid: Some(self.init.as_raw()),
                    ..Default::default()
                }
            }
            Err(e) => err_resp(e),
        }
    }

    fn kill(&mut self, signal: i32) -> Response {
        if self.exit.is_some() {
            return err_resp("container is not running");
        }
        let sig = match Signal::try_from(signal) {
            Ok(s) => s,
            Err(_) => return err_resp(format!("invalid signal {signal}")),
        };
        match nix::sys::signal::kill(self.init, sig) {
            Ok(()) => Response {
                ok: true,
                ..Default::default()
            },
            Err(e) => err_resp(format!("kill: {e}")),
        }
    }

    /// After init exited and the output drained: log, exit.json, waiters, cleanup.
    fn finish(&mut self, dir: &Path) {
        let _ = self.log.flush_partial(Stream::Stdout);
        let _ = self.log.flush_partial(Stream::Stderr);
        let Some(exit) = self.exit.clone() else {
            return;
        };
        if let Err(e) = berth_api::atomic::write_json(&exit_path(dir), &exit) {
            tracing::error!("write exit.json: {e}");
        }
        // Anything a client started during the drain counts too; then everyone is told.
        for c in &mut self.clients {
            if c.mode == Mode::Wait {
                c.send_line(&exit);
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
