//! Published host ports held while a container runs: the daemon binds each host port, as
//! dockerd does, without accepting on it, so a port in use elsewhere is refused, an
//! ephemeral port is chosen by the kernel, and no other program can take it. IPv6 sockets
//! are v6-only, so `[::]:P` and `0.0.0.0:P` coexist.

use std::net::{SocketAddr, TcpListener, UdpSocket};

/// Keeps a published host port bound while the container runs.
pub enum Reservation {
    Tcp(TcpListener),
    Udp(UdpSocket),
}

/// Binds one host port; v6 sockets are v6-only so that they never take the v4 port.
pub fn bind(proto: &str, addr: SocketAddr) -> std::io::Result<(u16, Reservation)> {
    if addr.is_ipv4() {
        return if proto == "udp" {
            UdpSocket::bind(addr).and_then(|s| Ok((s.local_addr()?.port(), Reservation::Udp(s))))
        } else {
            TcpListener::bind(addr).and_then(|s| Ok((s.local_addr()?.port(), Reservation::Tcp(s))))
        };
    }
    use nix::sys::socket::{self as sock, sockopt, AddressFamily, SockFlag, SockType};
    let ty = if proto == "udp" {
        SockType::Datagram
    } else {
        SockType::Stream
    };
    let fd = sock::socket(AddressFamily::Inet6, ty, SockFlag::SOCK_CLOEXEC, None)?;
    sock::setsockopt(&fd, sockopt::Ipv6V6Only, &true)?;
    if proto != "udp" {
        // As std's TcpListener: a port in TIME_WAIT can be bound again.
        sock::setsockopt(&fd, sockopt::ReuseAddr, &true)?;
    }
    let SocketAddr::V6(v6) = addr else {
        return Err(std::io::ErrorKind::InvalidInput.into());
    };
    sock::bind(
        std::os::fd::AsRawFd::as_raw_fd(&fd),
        &sock::SockaddrIn6::from(v6),
    )?;
    if proto == "udp" {
        let s = UdpSocket::from(fd);
        Ok((s.local_addr()?.port(), Reservation::Udp(s)))
    } else {
        sock::listen(
            &fd,
            sock::Backlog::new(1024).unwrap_or(sock::Backlog::MAXCONN),
        )?;
        let s = TcpListener::from(fd);
        Ok((s.local_addr()?.port(), Reservation::Tcp(s)))
    }
}

/// The host has no usable IPv6 (disabled, or no such address family): the `::` twin is
/// left out, as dockerd does.
pub fn no_ipv6(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EAFNOSUPPORT) | Some(libc::EADDRNOTAVAIL) | Some(libc::EPROTONOSUPPORT)
    )
}
