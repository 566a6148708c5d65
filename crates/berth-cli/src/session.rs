//! An interactive session on a hijacked connection (run/start -a/attach/exec): the terminal
//! in raw mode, stdin copied in (watching for the detach keys), output copied out (raw with
//! a terminal, demultiplexed without), and the terminal size sent at start and on SIGWINCH.

use crate::client::{Body, Client};
use berth_api::detach::{Escape, Scan};
use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc;

/// How a session ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// The process's output ended (it exited).
    Output,
    /// The user typed the detach keys; the process goes on.
    Detached,
}

pub struct Session<'a> {
    pub client: &'a Client,
    pub tty: bool,
    pub stdin: bool,
    pub detach_keys: Vec<u8>,
    /// Where the terminal size goes: `/containers/ID/resize` or `/exec/ID/resize`.
    pub resize_path: Option<String>,
}

/// Restores the terminal on drop.
pub struct RawMode(nix::sys::termios::Termios);

impl RawMode {
    pub fn enable() -> Option<RawMode> {
        use nix::sys::termios::{cfmakeraw, tcgetattr, tcsetattr, SetArg};
        let stdin = std::io::stdin();
        let orig = tcgetattr(&stdin).ok()?;
        let mut raw = orig.clone();
        cfmakeraw(&mut raw);
        tcsetattr(&stdin, SetArg::TCSANOW, &raw).ok()?;
        Some(RawMode(orig))
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        use nix::sys::termios::{tcsetattr, SetArg};
        let _ = tcsetattr(std::io::stdin(), SetArg::TCSANOW, &self.0);
    }
}

/// The size of the terminal on stdout (or stdin), as (rows, columns).
pub fn terminal_size() -> Option<(u16, u16)> {
    for fd in [1, 0, 2] {
        let mut ws = libc::winsize {
            ws_row: 0,
            ws_col: 0,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCGWINSZ writes one winsize through a valid pointer.
        if unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut ws) } == 0 && ws.ws_row > 0 {
            return Some((ws.ws_row, ws.ws_col));
        }
    }
    None
}

/// The write end of the SIGWINCH self-pipe (-1: none).
static WINCH_FD: AtomicI32 = AtomicI32::new(-1);

extern "C" fn on_winch(_: libc::c_int) {
    let fd = WINCH_FD.load(Ordering::Relaxed);
    if fd >= 0 {
        // SAFETY: write(2) is async-signal-safe; a full pipe just drops the wakeup.
        unsafe {
            libc::write(fd, b"w".as_ptr().cast(), 1);
        }
    }
}

impl Session<'_> {
    fn send_size(&self) {
        if let (Some(path), Some((h, w))) = (&self.resize_path, terminal_size()) {
            let _ = self
                .client
                .call("POST", &format!("{path}?h={h}&w={w}"), Body::None);
        }
    }

    /// Sends the size now and whenever the window changes (a thread reading a pipe that a
    /// SIGWINCH handler writes to).
    fn watch_size(&self) {
        if !self.tty || self.resize_path.is_none() {
            return;
        }
        self.send_size();
        let Ok((r, w)) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC) else {
            return;
        };
        use std::os::fd::IntoRawFd;
        WINCH_FD.store(w.into_raw_fd(), Ordering::Relaxed);
        let action = nix::sys::signal::SigAction::new(
            nix::sys::signal::SigHandler::Handler(on_winch),
            nix::sys::signal::SaFlags::SA_RESTART,
            nix::sys::signal::SigSet::empty(),
        );
        // SAFETY: the handler only calls write(2).
        unsafe {
            let _ = nix::sys::signal::sigaction(nix::sys::signal::Signal::SIGWINCH, &action);
        }
        let client = self.client.clone();
        let path = self.resize_path.clone();
        std::thread::spawn(move || {
            let mut r = std::fs::File::from(r);
            let mut b = [0u8; 64];
            while let Ok(n) = r.read(&mut b) {
                if n == 0 {
                    break;
                }
                if let (Some(path), Some((h, w))) = (&path, terminal_size()) {
                    let _ = client.call("POST", &format!("{path}?h={h}&w={w}"), Body::None);
                }
            }
        });
    }

    /// Runs the session until the output ends or the user detaches.
    pub fn run(&self, sock: UnixStream, leftover: Vec<u8>) -> Ended {
        let raw = if self.tty && self.stdin && nix::unistd::isatty(0).unwrap_or(false) {
            RawMode::enable()
        } else {
            None
        };
        self.watch_size();
        let (detach_tx, detach_rx) = mpsc::channel::<()>();
        if self.stdin {
            if let Ok(mut w) = sock.try_clone() {
                let keys = self.detach_keys.clone();
                let watch = self.tty && !keys.is_empty();
                std::thread::spawn(move || {
                    let mut escape = Escape::new(keys);
                    let mut input = std::io::stdin().lock();
                    let mut buf = [0u8; 8192];
                    loop {
                        let n = match input.read(&mut buf) {
                            Ok(0) | Err(_) => break,
                            Ok(n) => n,
                        };
                        let data = if watch {
                            match escape.scan(&buf[..n]) {
                                Scan::Pass(d) => d,
                                Scan::Detach(d) => {
                                    let _ = w.write_all(&d);
                                    let _ = detach_tx.send(());
                                    // Unblocks the output copy; the daemon sees us go.
                                    let _ = w.shutdown(std::net::Shutdown::Both);
                                    return;
                                }
                            }
                        } else {
                            buf[..n].to_vec()
                        };
                        if w.write_all(&data).is_err() {
                            break;
                        }
                    }
                    // Half-close: the process sees EOF on its stdin.
                    let _ = w.shutdown(std::net::Shutdown::Write);
                });
            }
        }
        let reader = std::io::Cursor::new(leftover).chain(sock);
        let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
        if self.tty {
            let mut r = reader;
            let _ = std::io::copy(&mut r, &mut out);
        } else {
            let _ = crate::stream::demux(reader, &mut out, &mut err);
        }
        let _ = out.flush();
        drop(raw);
        if detach_rx.try_recv().is_ok() {
            Ended::Detached
        } else {
            Ended::Output
        }
    }
}
