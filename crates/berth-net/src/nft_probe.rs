//! Whether an nftables table exists, asked of the kernel directly (one nfnetlink
//! NFT_MSG_GETTABLE request, tens of microseconds) rather than through an `nft` process:
//! the engine checks its table at every container start, to put it back when something
//! (a firewall reload, `nft flush ruleset`) removed it.

use std::io;

const NETLINK_NETFILTER: libc::c_int = 12;
const NFNL_SUBSYS_NFTABLES: u16 = 10;
const NFT_MSG_GETTABLE: u16 = 1;
const NFTA_TABLE_NAME: u16 = 1;
const NFPROTO_IPV4: u8 = 2;
const NLMSG_ERROR: u16 = 2;

/// The request: nlmsghdr, nfgenmsg, and the table name attribute.
fn request(table: &str, seq: u32) -> Vec<u8> {
    let name_len = table.len() + 1;
    let attr_len = 4 + name_len;
    let attr_padded = attr_len.div_ceil(4) * 4;
    let total = 16 + 4 + attr_padded;
    let mut m = Vec::with_capacity(total);
    m.extend_from_slice(&(total as u32).to_ne_bytes());
    m.extend_from_slice(&((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETTABLE).to_ne_bytes());
    let flags = (libc::NLM_F_REQUEST | libc::NLM_F_ACK) as u16;
    m.extend_from_slice(&flags.to_ne_bytes());
    m.extend_from_slice(&seq.to_ne_bytes());
    m.extend_from_slice(&0u32.to_ne_bytes());
    // nfgenmsg: family, version 0, resource id 0 (big-endian).
    m.extend_from_slice(&[NFPROTO_IPV4, 0, 0, 0]);
    m.extend_from_slice(&(attr_len as u16).to_ne_bytes());
    m.extend_from_slice(&NFTA_TABLE_NAME.to_ne_bytes());
    m.extend_from_slice(table.as_bytes());
    m.push(0);
    m.resize(total, 0);
    m
}

/// Reads replies until the one that ends the request: Some(true) for the table's message,
/// Some(false) for ENOENT; other errors are returned.
fn verdict(buf: &[u8]) -> io::Result<Option<bool>> {
    let mut off = 0;
    while off + 16 <= buf.len() {
        let len = u32::from_ne_bytes([buf[off], buf[off + 1], buf[off + 2], buf[off + 3]]) as usize;
        let typ = u16::from_ne_bytes([buf[off + 4], buf[off + 5]]);
        if len < 16 || off + len > buf.len() {
            break;
        }
        if typ == NLMSG_ERROR {
            let err =
                i32::from_ne_bytes([buf[off + 16], buf[off + 17], buf[off + 18], buf[off + 19]]);
            return match -err {
                0 => Ok(Some(true)),
                libc::ENOENT => Ok(Some(false)),
                e => Err(io::Error::from_raw_os_error(e)),
            };
        }
        if typ == NFNL_SUBSYS_NFTABLES << 8 {
            // NFT_MSG_NEWTABLE: it exists; the ack follows.
            return Ok(Some(true));
        }
        off += len.div_ceil(4) * 4;
    }
    Ok(None)
}

/// Whether the `ip` family table `table` exists in this network namespace.
pub fn table_exists(table: &str) -> io::Result<bool> {
    // SAFETY: plain socket(2); the fd is owned right below.
    let fd = unsafe {
        libc::socket(
            libc::AF_NETLINK,
            libc::SOCK_RAW | libc::SOCK_CLOEXEC,
            NETLINK_NETFILTER,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    // SAFETY: fd is a new descriptor nothing else owns.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let tv = libc::timeval {
        tv_sec: 2,
        tv_usec: 0,
    };
    // SAFETY: setsockopt with a valid timeval of the right size.
    unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&tv as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as libc::socklen_t,
        );
    }
    let req = request(table, 1);
    // SAFETY: a zeroed sockaddr_nl addresses the kernel (pid 0).
    let mut addr: libc::sockaddr_nl = unsafe { std::mem::zeroed() };
    addr.nl_family = libc::AF_NETLINK as libc::sa_family_t;
    // SAFETY: req is a valid buffer; addr a valid sockaddr_nl.
    let n = unsafe {
        libc::sendto(
            fd.as_raw_fd(),
            req.as_ptr().cast(),
            req.len(),
            0,
            (&addr as *const libc::sockaddr_nl).cast(),
            std::mem::size_of::<libc::sockaddr_nl>() as libc::socklen_t,
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let mut buf = vec![0u8; 8192];
    loop {
        // SAFETY: buf is valid for its length.
        let n = unsafe { libc::recv(fd.as_raw_fd(), buf.as_mut_ptr().cast(), buf.len(), 0) };
        if n < 0 {
            return Err(io::Error::last_os_error());
        }
        if let Some(v) = verdict(&buf[..n as usize])? {
            return Ok(v);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_layout() {
        let r = request("berth_x", 7);
        assert_eq!(r.len(), 16 + 4 + 12);
        assert_eq!(
            u32::from_ne_bytes([r[0], r[1], r[2], r[3]]) as usize,
            r.len()
        );
        assert_eq!(u16::from_ne_bytes([r[4], r[5]]), (10 << 8) | 1);
        assert_eq!(&r[16..20], &[2, 0, 0, 0]);
        assert_eq!(u16::from_ne_bytes([r[20], r[21]]), 12);
        assert_eq!(&r[24..32], b"berth_x\0");
    }

    #[test]
    fn verdicts() {
        let mut err = vec![0u8; 36];
        err[..4].copy_from_slice(&36u32.to_ne_bytes());
        err[4..6].copy_from_slice(&NLMSG_ERROR.to_ne_bytes());
        err[16..20].copy_from_slice(&(-libc::ENOENT).to_ne_bytes());
        assert_eq!(verdict(&err).ok(), Some(Some(false)));
        err[16..20].copy_from_slice(&0i32.to_ne_bytes());
        assert_eq!(verdict(&err).ok(), Some(Some(true)));
        err[16..20].copy_from_slice(&(-libc::EPERM).to_ne_bytes());
        assert!(verdict(&err).is_err());
    }
}
