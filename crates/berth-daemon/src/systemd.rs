//! The daemon under systemd: `-H fd://` takes the listening sockets systemd passes
//! (socket activation: `LISTEN_PID`, `LISTEN_FDS`, descriptors from 3, as sd_listen_fds),
//! and `sd_notify` tells systemd when the daemon is ready, reloading or stopping
//! (`Type=notify` in berth.service).

use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::net::UnixDatagram;

/// The first descriptor systemd passes (SD_LISTEN_FDS_START).
const LISTEN_FDS_START: i32 = 3;

/// Takes the sockets systemd passed to this process, once (the variables are removed so
/// children do not see them). `fd://` means all of them, `fd://N` descriptor N only.
pub fn listen_fds(host: &str) -> Result<Vec<OwnedFd>, String> {
    let pid_ok = std::env::var("LISTEN_PID")
        .ok()
        .and_then(|p| p.parse::<u32>().ok())
        .is_some_and(|p| p == std::process::id());
    let n: i32 = std::env::var("LISTEN_FDS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    if !pid_ok || n <= 0 {
        return Err(format!(
            "{host}: no sockets passed by systemd (LISTEN_FDS); fd:// needs socket activation (berth.socket)"
        ));
    }
    std::env::remove_var("LISTEN_PID");
    std::env::remove_var("LISTEN_FDS");
    std::env::remove_var("LISTEN_FDNAMES");
    let wanted: Option<i32> = match host.trim_start_matches("fd://") {
        "" => None,
        s => Some(
            s.parse()
                .map_err(|_| format!("invalid host {host}: fd://N wants a descriptor number"))?,
        ),
    };
    let mut out = Vec::new();
    for fd in LISTEN_FDS_START..LISTEN_FDS_START + n {
        if wanted.is_some_and(|w| w != fd) {
            continue;
        }
        // Close-on-exec: shims and containers must not inherit the API socket.
        let _ = nix::fcntl::fcntl(
            fd,
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
        );
        // SAFETY: systemd passed this descriptor to us and nothing else owns it.
        out.push(unsafe { OwnedFd::from_raw_fd(fd) });
    }
    if out.is_empty() {
        return Err(format!("{host}: systemd passed no such socket"));
    }
    Ok(out)
}

/// Sends `state` (e.g. "READY=1") to systemd's notification socket, if there is one.
pub fn notify(state: &str) {
    let Some(path) = std::env::var_os("NOTIFY_SOCKET") else {
        return;
    };
    let Ok(sock) = UnixDatagram::unbound() else {
        return;
    };
    let bytes = path.as_encoded_bytes();
    let sent = if let Some(abstract_name) = bytes.strip_prefix(b"@") {
        use std::os::linux::net::SocketAddrExt;
        std::os::unix::net::SocketAddr::from_abstract_name(abstract_name)
            .and_then(|a| sock.send_to_addr(state.as_bytes(), &a))
    } else {
        sock.send_to(state.as_bytes(), &path)
    };
    if let Err(e) = sent {
        tracing::debug!("sd_notify {state}: {e}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notify_reaches_the_socket() {
        let dir = tempfile::tempdir().expect("tmp");
        let p = dir.path().join("notify");
        let server = UnixDatagram::bind(&p).expect("bind");
        std::env::set_var("NOTIFY_SOCKET", &p);
        notify("READY=1");
        std::env::remove_var("NOTIFY_SOCKET");
        let mut buf = [0u8; 32];
        let n = server.recv(&mut buf).expect("recv");
        assert_eq!(&buf[..n], b"READY=1");
    }

    #[test]
    fn fd_hosts_need_socket_activation() {
        let e = listen_fds("fd://").expect_err("no LISTEN_FDS here");
        assert!(e.contains("socket activation"), "{e}");
    }
}
