//! The `syslog` log driver's sender: one message per line (each piece of a split line),
//! `daemon.info` for stdout and `daemon.err` for stderr by default, in moby's formats:
//! Go's local-syslog form `<PRI>Mmm dd hh:mm:ss TAG[PID]: MSG` (the default), RFC 3164
//! with the hostname, or RFC 5424 (`rfc5424`, `rfc5424micro`), over a local unix socket
//! (datagram or stream) or to a loopback TCP/UDP syslog.

use crate::logdriver::{SyslogAddress, SyslogFormat};
use crate::logfile::Stream;
use chrono::{DateTime, Local, Utc};
use std::io::{self, Write};
use std::net::{TcpStream, UdpSocket};
use std::os::unix::net::{UnixDatagram, UnixStream};

/// The host's local syslog sockets, as Go's log/syslog looks for them.
const LOCAL_SOCKETS: &[&str] = &["/dev/log", "/var/run/syslog", "/var/run/log"];

enum Conn {
    Unixgram(UnixDatagram),
    Unix(UnixStream),
    Udp(UdpSocket),
    Tcp(TcpStream),
}

impl Conn {
    fn open(addr: &SyslogAddress) -> io::Result<Conn> {
        match addr {
            SyslogAddress::Local => {
                let mut last = io::Error::new(io::ErrorKind::NotFound, "no local syslog socket");
                for path in LOCAL_SOCKETS {
                    let s = UnixDatagram::unbound()?;
                    if s.connect(path).is_ok() {
                        return Ok(Conn::Unixgram(s));
                    }
                    match UnixStream::connect(path) {
                        Ok(s) => return Ok(Conn::Unix(s)),
                        Err(e) => last = e,
                    }
                }
                Err(last)
            }
            SyslogAddress::Unixgram(p) => {
                let s = UnixDatagram::unbound()?;
                s.connect(p)?;
                Ok(Conn::Unixgram(s))
            }
            SyslogAddress::Unix(p) => Ok(Conn::Unix(UnixStream::connect(p)?)),
            SyslogAddress::Udp(a) => {
                let s = UdpSocket::bind("0.0.0.0:0")?;
                s.connect(a)?;
                Ok(Conn::Udp(s))
            }
            SyslogAddress::Tcp(a) => Ok(Conn::Tcp(TcpStream::connect(a)?)),
        }
    }

    fn send(&mut self, msg: &[u8]) -> io::Result<()> {
        match self {
            Conn::Unixgram(s) => s.send(msg).map(|_| ()),
            Conn::Udp(s) => s.send(msg).map(|_| ()),
            Conn::Unix(s) => s.write_all(msg),
            Conn::Tcp(s) => s.write_all(msg),
        }
    }
}

/// A connection to the syslog, reopened once when a send fails (the syslog restarted).
pub struct SyslogWriter {
    address: SyslogAddress,
    conn: Option<Conn>,
    facility: u8,
    format: SyslogFormat,
    tag: String,
    hostname: String,
    pid: u32,
    buf: Vec<u8>,
}

impl SyslogWriter {
    /// Connects now, so a missing syslog fails the container's start (as with dockerd).
    pub fn open(
        address: &SyslogAddress,
        facility: u8,
        format: SyslogFormat,
        tag: &str,
    ) -> io::Result<SyslogWriter> {
        let conn = Conn::open(address).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("failed to initialize logging driver: {e}"),
            )
        })?;
        let hostname = nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_default();
        Ok(SyslogWriter {
            address: address.clone(),
            conn: Some(conn),
            facility,
            format,
            tag: tag.to_string(),
            hostname,
            pid: std::process::id(),
            buf: Vec::new(),
        })
    }

    /// Sends one line (without its newline).
    pub fn send(&mut self, stream: Stream, time: &DateTime<Utc>, line: &[u8]) -> io::Result<()> {
        let severity = match stream {
            Stream::Stdout => 6,
            Stream::Stderr => 3,
        };
        self.buf.clear();
        format_message(
            &mut self.buf,
            self.format,
            self.facility * 8 + severity,
            time,
            &self.hostname,
            &self.tag,
            self.pid,
            line,
        );
        // srslog ends every message with a newline (a stream socket's framing).
        if self.buf.last() != Some(&b'\n') {
            self.buf.push(b'\n');
        }
        for attempt in 0..2 {
            if self.conn.is_none() {
                self.conn = Some(Conn::open(&self.address)?);
            }
            let Some(conn) = self.conn.as_mut() else {
                continue;
            };
            match conn.send(&self.buf) {
                Ok(()) => return Ok(()),
                Err(e) if attempt == 1 => return Err(e),
                Err(_) => self.conn = None,
            }
        }
        Ok(())
    }
}

/// One message in `format`.
#[allow(clippy::too_many_arguments)]
pub fn format_message(
    out: &mut Vec<u8>,
    format: SyslogFormat,
    pri: u8,
    time: &DateTime<Utc>,
    hostname: &str,
    tag: &str,
    pid: u32,
    line: &[u8],
) {
    let local = time.with_timezone(&Local);
    let head = match format {
        // Go's time.Stamp: "Jan _2 15:04:05".
        SyslogFormat::Unix => format!("<{pri}>{} {tag}[{pid}]: ", local.format("%b %e %H:%M:%S")),
        SyslogFormat::Rfc3164 => format!(
            "<{pri}>{} {hostname} {tag}[{pid}]: ",
            local.format("%b %e %H:%M:%S")
        ),
        SyslogFormat::Rfc5424 => format!(
            "<{pri}>1 {} {hostname} {tag} {pid} {tag} - ",
            local.format("%Y-%m-%dT%H:%M:%S%:z")
        ),
        SyslogFormat::Rfc5424Micro => format!(
            "<{pri}>1 {} {hostname} {tag} {pid} {tag} - ",
            local.format("%Y-%m-%dT%H:%M:%S%.6f%:z")
        ),
    };
    out.extend_from_slice(head.as_bytes());
    out.extend_from_slice(line);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_srslog() {
        let t = Utc::now();
        let mut b = Vec::new();
        format_message(&mut b, SyslogFormat::Unix, 30, &t, "h", "web", 7, b"hi");
        let s = String::from_utf8_lossy(&b);
        assert!(s.starts_with("<30>") && s.ends_with(" web[7]: hi"), "{s}");
        b.clear();
        format_message(
            &mut b,
            SyslogFormat::Rfc5424,
            27,
            &t,
            "h",
            "web",
            7,
            b"oops",
        );
        let s = String::from_utf8_lossy(&b);
        assert!(
            s.starts_with("<27>1 ") && s.ends_with(" h web 7 web - oops"),
            "{s}"
        );
        b.clear();
        format_message(&mut b, SyslogFormat::Rfc3164, 30, &t, "h", "web", 7, b"x");
        assert!(String::from_utf8_lossy(&b).ends_with(" h web[7]: x"));
    }

    #[test]
    fn sends_datagrams_to_a_unix_socket() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("log");
        let server = UnixDatagram::bind(&path).expect("bind");
        let addr = SyslogAddress::Unixgram(path.to_string_lossy().into_owned());
        let mut w = SyslogWriter::open(&addr, 3, SyslogFormat::Unix, "t").expect("open");
        w.send(Stream::Stderr, &Utc::now(), b"boom").expect("send");
        let mut buf = [0u8; 256];
        let n = server.recv(&mut buf).expect("recv");
        let s = String::from_utf8_lossy(&buf[..n]);
        assert!(s.starts_with("<27>") && s.ends_with("]: boom\n"), "{s}");
        let gone = SyslogAddress::Unixgram(dir.path().join("nope").to_string_lossy().into_owned());
        assert!(SyslogWriter::open(&gone, 3, SyslogFormat::Unix, "t").is_err());
    }
}
