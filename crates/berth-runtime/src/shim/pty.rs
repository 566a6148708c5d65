//! Terminals for `-t` containers and execs: the pty is opened by the process that will use
//! it, inside the container's mount namespace (its own devpts instance, so `tty` inside shows
//! /dev/pts/0), and the master is handed to the shim over a unix socket (SCM_RIGHTS), as
//! runc's console socket does.

use nix::fcntl::OFlag;
use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;

/// A new pty from the current namespace's /dev/ptmx: (master, slave, slave's path).
pub fn open() -> Result<(OwnedFd, OwnedFd, String), String> {
    let master = nix::pty::posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC)
        .map_err(|e| format!("open /dev/ptmx: {e}"))?;
    nix::pty::grantpt(&master).map_err(|e| format!("grantpt: {e}"))?;
    nix::pty::unlockpt(&master).map_err(|e| format!("unlockpt: {e}"))?;
    let name = nix::pty::ptsname_r(&master).map_err(|e| format!("ptsname: {e}"))?;
    let slave = nix::fcntl::open(
        name.as_str(),
        OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| format!("open {name}: {e}"))?;
    // SAFETY: `open` returned a new fd that nothing else owns; the master's fd moves out of
    // the PtyMaster wrapper (which would close it) into an OwnedFd.
    let slave = unsafe { OwnedFd::from_raw_fd(slave) };
    let master = unsafe { OwnedFd::from_raw_fd(master_into_raw(master)) };
    Ok((master, slave, name))
}

fn master_into_raw(m: nix::pty::PtyMaster) -> RawFd {
    use std::os::fd::IntoRawFd;
    m.into_raw_fd()
}

/// Makes `slave` the calling process's controlling terminal and its stdio (a new session).
pub fn make_controlling(slave: &OwnedFd) -> Result<(), String> {
    nix::unistd::setsid().map_err(|e| format!("setsid: {e}"))?;
    // SAFETY: TIOCSCTTY on a valid tty fd, argument 0 (do not steal).
    if unsafe { libc::ioctl(slave.as_raw_fd(), libc::TIOCSCTTY, 0) } != 0 {
        return Err(format!(
            "set controlling terminal: {}",
            std::io::Error::last_os_error()
        ));
    }
    for fd in 0..3 {
        nix::unistd::dup2(slave.as_raw_fd(), fd).map_err(|e| format!("dup2 tty: {e}"))?;
    }
    Ok(())
}

/// Sets the terminal size (rows, columns), as `docker resize` / SIGWINCH forwarding do.
pub fn resize(master: &impl AsRawFd, height: u16, width: u16) -> Result<(), String> {
    let ws = libc::winsize {
        ws_row: height,
        ws_col: width,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads one winsize through a valid pointer.
    if unsafe { libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &ws) } != 0 {
        return Err(format!("resize tty: {}", std::io::Error::last_os_error()));
    }
    Ok(())
}

/// Sends `msg` with `fd` attached.
pub fn send_fd(sock: &UnixStream, msg: &[u8], fd: RawFd) -> Result<(), String> {
    let fds = [fd];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    sendmsg::<()>(
        sock.as_raw_fd(),
        &[IoSlice::new(msg)],
        &cmsg,
        MsgFlags::empty(),
        None,
    )
    .map(|_| ())
    .map_err(|e| format!("send tty: {e}"))
}

/// Receives one message and the fd attached to it, if any.
pub fn recv_fd(sock: &UnixStream) -> Result<(Vec<u8>, Option<OwnedFd>), String> {
    let mut buf = vec![0u8; 4096];
    let mut space = nix::cmsg_space!([RawFd; 1]);
    let (n, fd) = {
        let mut iov = [IoSliceMut::new(&mut buf)];
        let msg = recvmsg::<()>(
            sock.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::MSG_CMSG_CLOEXEC,
        )
        .map_err(|e| format!("receive tty: {e}"))?;
        let mut fd = None;
        if let Ok(cmsgs) = msg.cmsgs() {
            for c in cmsgs {
                if let ControlMessageOwned::ScmRights(fds) = c {
                    for f in fds {
                        // SAFETY: the kernel installed this fd for us just now.
                        let owned = unsafe { OwnedFd::from_raw_fd(f) };
                        if fd.is_none() {
                            fd = Some(owned);
                        }
                    }
                }
            }
        }
        (msg.bytes, fd)
    };
    buf.truncate(n);
    Ok((buf, fd))
}
