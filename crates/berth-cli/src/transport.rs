//! Connections to a daemon: a unix socket, TCP (TLS with client certificates when asked),
//! or `ssh` running `system dial-stdio` on the far side, as the docker CLI connects.
//!
//! Every request opens its own connection. A hijacked connection (attach, exec) must be a
//! `UnixStream` for the session code (clone, half-close): other transports are bridged to
//! one end of a socketpair by a pump thread.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::os::fd::AsRawFd;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use rustls::ClientConnection;

use crate::endpoint::{self, Endpoint, SshAddr, TlsSettings};

/// A connection: bytes both ways, and a way to say "no more input" (stdin EOF).
pub trait Duplex: Read + Write + Send {
    fn close_write(&mut self) -> io::Result<()>;
}

impl Duplex for UnixStream {
    fn close_write(&mut self) -> io::Result<()> {
        self.shutdown(std::net::Shutdown::Write)
    }
}

impl Duplex for TcpStream {
    fn close_write(&mut self) -> io::Result<()> {
        self.shutdown(std::net::Shutdown::Write)
    }
}

/// Why a connection could not be made.
#[derive(Debug)]
pub enum DialError {
    /// Nothing answered: docker's "Cannot connect to the Docker daemon at ...".
    Unreachable,
    /// Something answered but the connection failed (TLS, ssh): the message after
    /// docker's "error during connect: GET \"URL\": ".
    Failed(String),
}

/// How to reach the daemon.
pub enum Transport {
    Unix(PathBuf),
    Tcp {
        addr: String,
        tls: Option<(Arc<rustls::ClientConfig>, ServerName<'static>)>,
    },
    Ssh(SshAddr),
}

impl Transport {
    pub fn new(ep: &Endpoint) -> Result<Transport, String> {
        if let Some(p) = ep.host.strip_prefix("unix://") {
            return Ok(Transport::Unix(PathBuf::from(p)));
        }
        if let Some(addr) = ep.host.strip_prefix("tcp://") {
            let tls = match &ep.tls {
                Some(t) => {
                    let (host, _) = endpoint::split_host_port(addr);
                    let name = ServerName::try_from(host.to_string())
                        .map_err(|e| format!("invalid server name {host:?}: {e}"))?;
                    Some((Arc::new(tls_config(t)?), name))
                }
                None => None,
            };
            return Ok(Transport::Tcp {
                addr: addr.to_string(),
                tls,
            });
        }
        if ep.host.starts_with("ssh://") {
            return endpoint::parse_ssh(&ep.host)
                .map(Transport::Ssh)
                .map_err(|e| format!("invalid SSH URL: {e}"));
        }
        Err(format!("unsupported daemon address: {}", ep.host))
    }

    /// The URL docker shows in "error during connect" for `path`.
    pub fn url(&self, path: &str) -> String {
        match self {
            Transport::Unix(p) => format!(
                "http://{}{path}",
                percent_encoding::utf8_percent_encode(
                    &p.to_string_lossy(),
                    percent_encoding::NON_ALPHANUMERIC
                )
            ),
            Transport::Tcp { addr, tls } => {
                let scheme = if tls.is_some() { "https" } else { "http" };
                format!("{scheme}://{addr}{path}")
            }
            Transport::Ssh(_) => format!("http://docker.example.com{path}"),
        }
    }

    pub fn dial(&self) -> Result<Box<dyn Duplex>, DialError> {
        match self {
            Transport::Unix(p) => UnixStream::connect(p)
                .map(|s| Box::new(s) as Box<dyn Duplex>)
                .map_err(|_| DialError::Unreachable),
            Transport::Tcp { addr, tls } => {
                let tcp = connect_tcp(addr)?;
                match tls {
                    None => Ok(Box::new(tcp)),
                    Some((cfg, name)) => Ok(Box::new(TlsStream::handshake(
                        cfg.clone(),
                        name.clone(),
                        tcp,
                    )?)),
                }
            }
            Transport::Ssh(a) => Ok(Box::new(SshStream::spawn(a)?)),
        }
    }

    /// A connection as a `UnixStream`: the socket itself, or one end of a socketpair whose
    /// other end a thread pumps to and from the real connection.
    pub fn dial_unix(&self) -> Result<UnixStream, DialError> {
        match self {
            Transport::Unix(p) => UnixStream::connect(p).map_err(|_| DialError::Unreachable),
            Transport::Tcp { addr, tls: None } => {
                let tcp = connect_tcp(addr)?;
                bridge_split(tcp.try_clone().map_err(io_failed)?, tcp)
            }
            Transport::Tcp {
                addr,
                tls: Some((cfg, name)),
            } => {
                let tls = TlsStream::handshake(cfg.clone(), name.clone(), connect_tcp(addr)?)?;
                let (ours, theirs) = UnixStream::pair().map_err(io_failed)?;
                std::thread::spawn(move || tls.pump(theirs));
                Ok(ours)
            }
            Transport::Ssh(a) => {
                let mut s = SshStream::spawn(a)?;
                let stdin = s.stdin.take();
                let stdout = s.stdout.take();
                match (stdout, stdin) {
                    (Some(o), Some(i)) => {
                        let w = SshWriter {
                            stdin: Some(i),
                            _process: s,
                        };
                        bridge_split(o, w)
                    }
                    _ => Err(DialError::Failed("ssh: no pipes".into())),
                }
            }
        }
    }
}

fn io_failed(e: io::Error) -> DialError {
    DialError::Failed(e.to_string())
}

fn connect_tcp(addr: &str) -> Result<TcpStream, DialError> {
    use std::net::ToSocketAddrs;
    let addrs = addr.to_socket_addrs().map_err(|_| DialError::Unreachable)?;
    for a in addrs {
        if let Ok(s) = TcpStream::connect_timeout(&a, Duration::from_secs(30)) {
            let _ = s.set_nodelay(true);
            return Ok(s);
        }
    }
    Err(DialError::Unreachable)
}

/// The write half of an ssh connection; it owns the process, which ends when it is dropped.
struct SshWriter {
    stdin: Option<ChildStdin>,
    _process: SshStream,
}

impl Write for SshWriter {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        match &mut self.stdin {
            Some(w) => w.write(b),
            None => Err(io::ErrorKind::BrokenPipe.into()),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.stdin {
            Some(w) => w.flush(),
            None => Ok(()),
        }
    }
}

trait HalfClose: Write + Send + 'static {
    fn half_close(&mut self);
}
impl HalfClose for TcpStream {
    fn half_close(&mut self) {
        let _ = self.shutdown(std::net::Shutdown::Write);
    }
}
impl HalfClose for SshWriter {
    fn half_close(&mut self) {
        self.stdin = None;
    }
}

/// Bridges a connection with separate read and write halves to a socketpair: one thread
/// per direction; EOF on either side is passed on as a half-close.
fn bridge_split<R, W>(mut r: R, mut w: W) -> Result<UnixStream, DialError>
where
    R: Read + Send + 'static,
    W: HalfClose,
{
    let (ours, theirs) = UnixStream::pair().map_err(io_failed)?;
    let mut to_us = theirs.try_clone().map_err(io_failed)?;
    let mut from_us = theirs;
    std::thread::spawn(move || {
        let _ = io::copy(&mut r, &mut to_us);
        let _ = to_us.shutdown(std::net::Shutdown::Write);
    });
    std::thread::spawn(move || {
        let _ = io::copy(&mut from_us, &mut w);
        w.half_close();
        // Keeps the writer (and with ssh the process) until the read side is done too.
        let mut sink = [0u8; 1];
        let _ = from_us.read(&mut sink);
    });
    Ok(ours)
}

/// Reads the PEM certificates and key named by `t` into a rustls client configuration:
/// the CA (or the system roots) to verify the daemon unless verification is off, and the
/// client certificate when both certificate and key are given.
pub fn tls_config(t: &TlsSettings) -> Result<rustls::ClientConfig, String> {
    use rustls::pki_types::pem::PemObject;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?;
    // Read even when not verifying: a missing CA file is an error, as with docker.
    let ca_pem = match &t.ca {
        Some(ca) => Some(ca.read()?),
        None => None,
    };
    let builder = if t.verify {
        let mut roots = rustls::RootCertStore::empty();
        let pem = match ca_pem {
            Some(p) => p,
            None => std::fs::read("/etc/ssl/certs/ca-certificates.crt").unwrap_or_default(),
        };
        for c in CertificateDer::pem_slice_iter(&pem) {
            let c = c.map_err(|e| format!("failed to parse CA certificate: {e}"))?;
            roots
                .add(c)
                .map_err(|e| format!("failed to add CA certificate: {e}"))?;
        }
        if roots.is_empty() {
            return Err(
                "failed to append certificates from PEM file: no certificates found".into(),
            );
        }
        builder.with_root_certificates(roots)
    } else {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(NoVerify(provider)))
    };
    let mut cfg = match (&t.cert, &t.key) {
        (Some(c), Some(k)) => {
            let cert_pem = c
                .read()
                .map_err(|e| format!("Could not load X509 key pair: {e}"))?;
            let key_pem = k
                .read()
                .map_err(|e| format!("Could not load X509 key pair: {e}"))?;
            let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&cert_pem)
                .collect::<Result<_, _>>()
                .map_err(|e| format!("Could not load X509 key pair: {e}"))?;
            let key = PrivateKeyDer::from_pem_slice(&key_pem)
                .map_err(|e| format!("Could not load X509 key pair: {e}"))?;
            builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| format!("Could not load X509 key pair: {e}"))?
        }
        _ => builder.with_no_client_auth(),
    };
    // Each request is its own connection; like Go's client (docker's) we do not resume
    // sessions, which some TLS servers refuse when they verify client certificates.
    cfg.resumption = rustls::client::Resumption::disabled();
    Ok(cfg)
}

/// `--tls` without `--tlsverify`: any certificate is accepted (docker's InsecureSkipVerify);
/// signatures are still checked.
#[derive(Debug)]
struct NoVerify(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for NoVerify {
    fn verify_server_cert(
        &self,
        _end: &CertificateDer<'_>,
        _inter: &[CertificateDer<'_>],
        _name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: rustls::pki_types::UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }
    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

/// Go's wording for a TLS failure (what the docker CLI prints after "error during connect").
pub fn tls_message(e: &rustls::Error) -> String {
    use rustls::{AlertDescription as A, CertificateError as C, Error as E};
    match e {
        E::InvalidCertificate(C::UnknownIssuer) => {
            "tls: failed to verify certificate: x509: certificate signed by unknown authority"
                .into()
        }
        E::InvalidCertificate(C::NotValidForName)
        | E::InvalidCertificate(C::NotValidForNameContext { .. }) => {
            "tls: failed to verify certificate: x509: certificate is not valid for the daemon's host name"
                .into()
        }
        E::InvalidCertificate(C::Expired) | E::InvalidCertificate(C::ExpiredContext { .. }) => {
            "tls: failed to verify certificate: x509: certificate has expired or is not yet valid"
                .into()
        }
        E::InvalidCertificate(c) => format!("tls: failed to verify certificate: {c:?}"),
        E::AlertReceived(A::CertificateRequired) => "remote error: tls: certificate required".into(),
        E::AlertReceived(A::BadCertificate) => "remote error: tls: bad certificate".into(),
        E::AlertReceived(A::UnknownCA) => "remote error: tls: unknown certificate authority".into(),
        E::AlertReceived(a) => format!("remote error: tls: {a:?}"),
        e => format!("tls: {e}"),
    }
}

/// The TLS failure inside an I/O error, in Go's words.
pub fn io_tls_message(e: &io::Error) -> Option<String> {
    e.get_ref()
        .and_then(|i| i.downcast_ref::<rustls::Error>())
        .map(tls_message)
}

struct TlsStream {
    conn: ClientConnection,
    tcp: TcpStream,
}

impl TlsStream {
    fn handshake(
        cfg: Arc<rustls::ClientConfig>,
        name: ServerName<'static>,
        mut tcp: TcpStream,
    ) -> Result<TlsStream, DialError> {
        let mut conn =
            ClientConnection::new(cfg, name).map_err(|e| DialError::Failed(tls_message(&e)))?;
        while conn.is_handshaking() {
            if let Err(e) = conn.complete_io(&mut tcp) {
                return Err(DialError::Failed(
                    io_tls_message(&e).unwrap_or_else(|| e.to_string()),
                ));
            }
        }
        Ok(TlsStream { conn, tcp })
    }

    /// Copies between the TLS connection and `local` until both directions ended.
    fn pump(mut self, mut local: UnixStream) {
        use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
        use std::os::fd::BorrowedFd;
        let mut local_open = true;
        let mut buf = vec![0u8; 32 * 1024];
        loop {
            while self.conn.wants_write() {
                if self.conn.write_tls(&mut self.tcp).is_err() {
                    return;
                }
            }
            let (tfd, lfd) = (self.tcp.as_raw_fd(), local.as_raw_fd());
            // SAFETY: both fds stay open for the duration of the poll call.
            let (tb, lb) = unsafe { (BorrowedFd::borrow_raw(tfd), BorrowedFd::borrow_raw(lfd)) };
            let mut fds = vec![PollFd::new(tb, PollFlags::POLLIN)];
            if local_open {
                fds.push(PollFd::new(lb, PollFlags::POLLIN));
            }
            if poll(&mut fds, PollTimeout::NONE).is_err() {
                return;
            }
            let ready = |f: &PollFd| {
                f.revents().is_some_and(|r| {
                    r.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR)
                })
            };
            let remote_ready = ready(&fds[0]);
            let local_ready = local_open && fds.get(1).is_some_and(ready);
            if remote_ready {
                match self.conn.read_tls(&mut self.tcp) {
                    Ok(0) | Err(_) => {
                        let _ = local.shutdown(std::net::Shutdown::Write);
                        return;
                    }
                    Ok(_) => {}
                }
                if self.conn.process_new_packets().is_err() {
                    let _ = local.shutdown(std::net::Shutdown::Both);
                    return;
                }
                loop {
                    match self.conn.reader().read(&mut buf) {
                        Ok(0) => {
                            let _ = local.shutdown(std::net::Shutdown::Write);
                            return;
                        }
                        Ok(n) => {
                            if local.write_all(&buf[..n]).is_err() {
                                return;
                            }
                        }
                        Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                        Err(_) => return,
                    }
                }
            }
            if local_ready {
                match local.read(&mut buf) {
                    Ok(0) | Err(_) => {
                        local_open = false;
                        self.conn.send_close_notify();
                    }
                    Ok(n) => {
                        if self.conn.writer().write_all(&buf[..n]).is_err() {
                            return;
                        }
                    }
                }
            }
        }
    }
}

impl Read for TlsStream {
    fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
        match rustls::Stream::new(&mut self.conn, &mut self.tcp).read(b) {
            // A daemon closing without close_notify still ends the body.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Ok(0),
            r => r,
        }
    }
}

impl Write for TlsStream {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        rustls::Stream::new(&mut self.conn, &mut self.tcp).write(b)
    }
    fn flush(&mut self) -> io::Result<()> {
        rustls::Stream::new(&mut self.conn, &mut self.tcp).flush()
    }
}

impl Duplex for TlsStream {
    fn close_write(&mut self) -> io::Result<()> {
        self.conn.send_close_notify();
        self.flush()
    }
}

/// `ssh [-l user] [-p port] -- host <dial-stdio>`: the remote end of the pipes is the
/// daemon's socket.
pub struct SshStream {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: Option<ChildStdout>,
    stderr: Arc<Mutex<Vec<u8>>>,
    argv: Vec<String>,
}

/// What berth runs on the far side: berth's dial-stdio where berth is installed, docker's
/// otherwise (the daemon behind either answers the same API).
pub const REMOTE_DIAL: &str = "command -v berth >/dev/null 2>&1 && exec berth system dial-stdio || exec docker system dial-stdio";

impl SshStream {
    pub fn args(a: &SshAddr) -> Vec<String> {
        let mut v = vec![
            "-o".to_string(),
            "ConnectTimeout=30".to_string(),
            "-T".to_string(),
        ];
        if let Some(u) = &a.user {
            v.extend(["-l".to_string(), u.clone()]);
        }
        if let Some(p) = a.port {
            v.extend(["-p".to_string(), p.to_string()]);
        }
        v.extend(["--".to_string(), a.host.clone(), REMOTE_DIAL.to_string()]);
        v
    }

    fn spawn(a: &SshAddr) -> Result<SshStream, DialError> {
        let args = Self::args(a);
        let mut child = Command::new("ssh")
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| DialError::Failed(format!("ssh: {e}")))?;
        let stderr = Arc::new(Mutex::new(Vec::new()));
        if let Some(mut e) = child.stderr.take() {
            let buf = stderr.clone();
            std::thread::spawn(move || {
                let mut b = [0u8; 4096];
                while let Ok(n) = e.read(&mut b) {
                    if n == 0 {
                        break;
                    }
                    if let Ok(mut g) = buf.lock() {
                        g.extend_from_slice(&b[..n]);
                    }
                }
            });
        }
        let mut argv = vec!["ssh".to_string()];
        argv.extend(args);
        Ok(SshStream {
            stdin: child.stdin.take(),
            stdout: child.stdout.take(),
            child,
            stderr,
            argv,
        })
    }

    /// docker's message when ssh ended without an answer.
    fn exited(&mut self) -> io::Error {
        let status = self.child.wait().ok();
        std::thread::sleep(Duration::from_millis(20));
        let stderr = self
            .stderr
            .lock()
            .map(|g| String::from_utf8_lossy(&g).trim().to_string())
            .unwrap_or_default();
        let code = status
            .and_then(|s| s.code())
            .map(|c| format!("exit status {c}"))
            .unwrap_or_else(|| "a signal".into());
        io::Error::other(format!(
            "command [{}] has exited with {code}, make sure the URL is valid, and berth (or Docker 18.09 or later) is installed on the remote host: stderr={stderr}",
            self.argv.join(" ")
        ))
    }
}

impl Read for SshStream {
    fn read(&mut self, b: &mut [u8]) -> io::Result<usize> {
        let n = match &mut self.stdout {
            Some(o) => o.read(b)?,
            None => 0,
        };
        if n == 0 && !b.is_empty() {
            // ssh closed its stdout: it is exiting; a failure (255: could not connect)
            // becomes docker's message. Its exit follows the EOF closely.
            let deadline = std::time::Instant::now() + Duration::from_secs(5);
            loop {
                match self.child.try_wait() {
                    Ok(Some(st)) if !st.success() => return Err(self.exited()),
                    Ok(Some(_)) | Err(_) => break,
                    Ok(None) if std::time::Instant::now() >= deadline => break,
                    Ok(None) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        }
        Ok(n)
    }
}

impl Write for SshStream {
    fn write(&mut self, b: &[u8]) -> io::Result<usize> {
        match &mut self.stdin {
            Some(w) => w.write(b).map_err(|e| {
                if e.kind() == io::ErrorKind::BrokenPipe {
                    self.exited()
                } else {
                    e
                }
            }),
            None => Err(io::ErrorKind::BrokenPipe.into()),
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        match &mut self.stdin {
            Some(w) => w.flush(),
            None => Ok(()),
        }
    }
}

impl Duplex for SshStream {
    fn close_write(&mut self) -> io::Result<()> {
        self.stdin = None;
        Ok(())
    }
}

impl Drop for SshStream {
    fn drop(&mut self) {
        self.stdin = None;
        self.stdout = None;
        if !matches!(self.child.try_wait(), Ok(Some(_))) {
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

/// `system dial-stdio`: copies stdin to a fresh connection to the daemon and the daemon's
/// answers to stdout, until both sides are done (what `ssh` runs on the far side).
pub fn dial_stdio(t: &Transport) -> Result<(), DialError> {
    let conn = t.dial_unix()?;
    let mut to_daemon = conn.try_clone().map_err(io_failed)?;
    let mut from_daemon = conn;
    let up = std::thread::spawn(move || {
        let mut stdin = io::stdin().lock();
        let _ = io::copy(&mut stdin, &mut to_daemon);
        let _ = to_daemon.shutdown(std::net::Shutdown::Write);
    });
    let mut stdout = io::stdout().lock();
    let mut buf = vec![0u8; 32 * 1024];
    loop {
        match from_daemon.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if stdout
                    .write_all(&buf[..n])
                    .and_then(|_| stdout.flush())
                    .is_err()
                {
                    break;
                }
            }
        }
    }
    drop(stdout);
    // The daemon closed: stdin no longer matters (ssh closes it when its session ends).
    drop(up);
    Ok(())
}
