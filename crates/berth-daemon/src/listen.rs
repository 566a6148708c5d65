//! Who can reach the API, as dockerd's `-H`, `-G/--group` and `--tls*`:
//!
//! - `unix://PATH`: a socket owned by root and the socket group (default `docker`; a
//!   missing default group leaves the daemon's own group with a warning, a missing group
//!   that was asked for is an error, a number not in /etc/group is used as the gid), mode
//!   0660. The socket is bound in a private 0700 directory and renamed into place only
//!   once its owner and mode are set, so nobody else can ever connect to it half-made.
//! - `tcp://HOST[:PORT]`: only with mutual TLS (`--tlsverify` and the CA, certificate and
//!   key): a client must present a certificate signed by the CA (rustls). moby 28 still
//!   accepts unauthenticated TCP after a warning and a 1 s (15 s off loopback) delay,
//!   announcing it "will be a hard failure preventing the daemon from starting"; berth
//!   refuses it now, with Docker's warning as the reason.
//!
//! A missing group that was asked for fails with dockerd's `failed to load listeners: group
//! X not found`. TLS defaults come from `$DOCKER_CERT_PATH` or `~/.docker`; handshakes run
//! in tasks of their own (10 s at most). Shim control sockets (`/run/berth/s`, 0700; each
//! socket 0600) are root's alone.

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream, UnixListener};
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

/// dockerd's default socket group.
pub const DEFAULT_GROUP: &str = "docker";
/// dockerd's TCP ports without and with TLS.
const DEFAULT_TCP_PORT: u16 = 2375;
const DEFAULT_TLS_PORT: u16 = 2376;

/// The `--tls*` settings.
#[derive(Debug, Clone, Default)]
pub struct TlsSettings {
    /// `--tls` (implied by `--tlsverify`).
    pub tls: bool,
    /// `--tlsverify`: clients must present a certificate signed by `ca`.
    pub verify: bool,
    pub ca: PathBuf,
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// One `-H` address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Host {
    Unix(PathBuf),
    Tcp(String),
    /// `fd://` or `fd://NAME`, as given (the whole address): sockets systemd made and
    /// passed (socket activation).
    Fd(String),
}

impl std::fmt::Display for Host {
    /// The `-H` form the host was given in.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Host::Unix(p) => write!(f, "unix://{}", p.display()),
            Host::Tcp(a) => write!(f, "tcp://{a}"),
            // Fd holds the whole address already (the reload log once said `fd://fd://`).
            Host::Fd(a) => write!(f, "{a}"),
        }
    }
}

/// Parses `-H` (dockerd's forms: `unix://PATH`, `tcp://HOST:PORT`, `tcp://:PORT`,
/// `tcp://HOST`). `tls`: whether TLS is on (the default TCP port is 2376 then).
pub fn parse_host(h: &str, tls: bool, default_unix: &str) -> Result<Host, String> {
    if let Some(p) = h.strip_prefix("unix://") {
        let p = if p.is_empty() { default_unix } else { p };
        return Ok(Host::Unix(PathBuf::from(p)));
    }
    if let Some(a) = h.strip_prefix("tcp://") {
        let a = a.trim_end_matches('/');
        if a.contains('/') {
            return Err(format!("invalid bind address format: {h}"));
        }
        let default_port = if tls {
            DEFAULT_TLS_PORT
        } else {
            DEFAULT_TCP_PORT
        };
        let (host, port) = match a.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(':') || host.starts_with('[') => {
                let port: u16 = port
                    .parse()
                    .map_err(|_| format!("invalid bind address format: {h}"))?;
                (host, port)
            }
            _ => (a, default_port),
        };
        let host = match host {
            "" => "0.0.0.0",
            h => h,
        };
        return Ok(Host::Tcp(format!("{host}:{port}")));
    }
    if h.starts_with("fd://") {
        return Ok(Host::Fd(h.to_string()));
    }
    Err(format!("invalid bind address format: {h}"))
}

/// The refusal of a TCP address without mutual TLS: moby's own warning, made an error.
pub fn check_tcp_allowed(h: &str, tls: &TlsSettings) -> Result<(), String> {
    if tls.verify {
        return Ok(());
    }
    Err(format!(
        "refusing to listen on {h} without --tlsverify: Binding to IP address without --tlsverify is insecure and gives root access on this machine to everyone who has access to your network. \
         Use --tlsverify with --tlscacert, --tlscert and --tlskey (mutual TLS); learn more at https://docs.docker.com/go/api-security/"
    ))
}

/// A bound API listener.
pub enum Bound {
    /// The socket's path when berth made it (and removes it at shutdown); None for a
    /// socket systemd passed (`fd://`), which stays systemd's.
    Unix(Option<PathBuf>, UnixListener),
    Tls(TlsListener),
}

/// Binds every host. Fails (naming the address) before anything is served.
pub async fn bind_all(
    hosts: &[Host],
    group: &str,
    tls: &TlsSettings,
) -> Result<Vec<Bound>, String> {
    let mut out = Vec::new();
    let server_tls = if hosts.iter().any(|h| matches!(h, Host::Tcp(_))) {
        Some(Arc::new(server_config(tls)?))
    } else {
        None
    };
    for h in hosts {
        match h {
            Host::Unix(path) => {
                let gid = socket_gid(group, path)?;
                let l = bind_unix(path, gid)?;
                info!(socket = %path.display(), "API listen");
                out.push(Bound::Unix(Some(path.clone()), l));
            }
            Host::Fd(h) => {
                // Socket activation: systemd made and owns the socket (berth.socket), with
                // its own owner and mode.
                for fd in crate::systemd::listen_fds(h)? {
                    let std_l = std::os::unix::net::UnixListener::from(fd);
                    std_l
                        .set_nonblocking(true)
                        .map_err(|e| format!("{h}: {e}"))?;
                    let l = UnixListener::from_std(std_l).map_err(|e| format!("{h}: {e}"))?;
                    info!(host = %h, "API listen (socket activation)");
                    out.push(Bound::Unix(None, l));
                }
            }
            Host::Tcp(addr) => {
                let Some(cfg) = server_tls.clone() else {
                    continue;
                };
                let tcp = TcpListener::bind(addr.as_str())
                    .await
                    .map_err(|e| format!("failed to load listeners: listen tcp {addr}: {e}"))?;
                let local = tcp
                    .local_addr()
                    .map_err(|e| format!("failed to load listeners: {addr}: {e}"))?;
                info!(%local, "API listen (mutual TLS)");
                out.push(Bound::Tls(TlsListener::start(tcp, cfg, local)));
            }
        }
    }
    Ok(out)
}

/// moby's lookupGID: a group name or number from /etc/group, else a plain number.
fn lookup_gid(name: &str) -> Result<u32, String> {
    let groups = std::fs::read_to_string("/etc/group").unwrap_or_default();
    for line in groups.lines() {
        let f: Vec<&str> = line.split(':').collect();
        if f.len() < 3 {
            continue;
        }
        if f[0] == name || f[2] == name {
            if let Ok(gid) = f[2].parse() {
                return Ok(gid);
            }
        }
    }
    match name.parse::<u32>() {
        Ok(gid) => {
            warn!("Could not find GID {gid}");
            Ok(gid)
        }
        Err(_) => Err(format!("group {name} not found")),
    }
}

/// The socket's group: dockerd's rules for a missing one.
fn socket_gid(group: &str, path: &Path) -> Result<u32, String> {
    match lookup_gid(group) {
        Ok(gid) => Ok(gid),
        Err(e) if group.is_empty() || group == DEFAULT_GROUP => {
            if !group.is_empty() {
                warn!("could not change group {} to {group}: {e}", path.display());
            }
            Ok(nix::unistd::getgid().as_raw())
        }
        Err(e) => Err(format!("failed to load listeners: {e}")),
    }
}

/// Binds `path` with owner root (the daemon) and `gid`, mode 0660, atomically: made in a
/// private directory beside it, then renamed over the final name.
fn bind_unix(path: &Path, gid: u32) -> Result<UnixListener, String> {
    let parent = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent)
        .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
    // A socket that still answers belongs to a running daemon: never steal it.
    if std::os::unix::net::UnixStream::connect(path).is_ok() {
        return Err(format!(
            "another daemon is already listening on {}",
            path.display()
        ));
    }
    let private = tempfile::Builder::new()
        .prefix(".berth-sock-")
        .permissions(std::fs::Permissions::from_mode(0o700))
        .tempdir_in(parent)
        .map_err(|e| format!("cannot listen on {}: {e}", path.display()))?;
    let tmp = private.path().join("s");
    let l = std::os::unix::net::UnixListener::bind(&tmp)
        .map_err(|e| format!("cannot listen on {}: {e}", path.display()))?;
    std::os::unix::fs::chown(&tmp, Some(nix::unistd::getuid().as_raw()), Some(gid))
        .map_err(|e| format!("cannot set the group of {}: {e}", path.display()))?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o660))
        .map_err(|e| format!("cannot set the mode of {}: {e}", path.display()))?;
    std::fs::rename(&tmp, path).map_err(|e| format!("cannot listen on {}: {e}", path.display()))?;
    l.set_nonblocking(true)
        .map_err(|e| format!("cannot listen on {}: {e}", path.display()))?;
    UnixListener::from_std(l).map_err(|e| format!("cannot listen on {}: {e}", path.display()))
}

/// The rustls server configuration: the daemon's certificate and key, client
/// certificates required and verified against the CA.
fn server_config(tls: &TlsSettings) -> Result<rustls::ServerConfig, String> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let pair_err = |e: &dyn std::fmt::Display| {
        format!(
            "failed to create API server: Could not load X509 key pair (cert: {:?}, key: {:?}): {e}",
            tls.cert.display().to_string(),
            tls.key.display().to_string()
        )
    };
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(&tls.cert)
        .map_err(|e| pair_err(&e))?
        .collect::<Result<_, _>>()
        .map_err(|e| pair_err(&e))?;
    if certs.is_empty() {
        return Err(pair_err(&"no certificate in the file"));
    }
    let key = PrivateKeyDer::from_pem_file(&tls.key).map_err(|e| pair_err(&e))?;
    let ca_err = |e: &dyn std::fmt::Display| {
        format!(
            "failed to create API server: Could not read CA certificate {:?}: {e}",
            tls.ca.display().to_string()
        )
    };
    let mut roots = rustls::RootCertStore::empty();
    for c in CertificateDer::pem_file_iter(&tls.ca).map_err(|e| ca_err(&e))? {
        let c = c.map_err(|e| ca_err(&e))?;
        roots.add(c).map_err(|e| ca_err(&e))?;
    }
    if roots.is_empty() {
        return Err(ca_err(&"no certificate in the file"));
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    )
    .build()
    .map_err(|e| ca_err(&e))?;
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("failed to create API server: {e}"))?
        .with_client_cert_verifier(verifier)
        .with_single_cert(certs, key)
        .map_err(|e| pair_err(&e))?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(cfg)
}

/// A TCP listener whose connections are handed over only after a TLS handshake in which
/// the client proved a certificate of the CA. Handshakes run in their own tasks (10 s at
/// most), so a slow or hostile client never holds up the others.
pub struct TlsListener {
    rx: mpsc::Receiver<(tokio_rustls::server::TlsStream<TcpStream>, SocketAddr)>,
    local: SocketAddr,
    accept_task: tokio::task::JoinHandle<()>,
}

impl TlsListener {
    fn start(tcp: TcpListener, cfg: Arc<rustls::ServerConfig>, local: SocketAddr) -> TlsListener {
        let (tx, rx) = mpsc::channel(64);
        let acceptor = tokio_rustls::TlsAcceptor::from(cfg);
        let accept_task = tokio::spawn(async move {
            loop {
                let (sock, peer) = match tcp.accept().await {
                    Ok(c) => c,
                    Err(e) => {
                        debug!(error = %e, "accept");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let (acceptor, tx) = (acceptor.clone(), tx.clone());
                tokio::spawn(async move {
                    let hs = tokio::time::timeout(
                        std::time::Duration::from_secs(10),
                        acceptor.accept(sock),
                    )
                    .await;
                    match hs {
                        Ok(Ok(s)) => {
                            let _ = tx.send((s, peer)).await;
                        }
                        Ok(Err(e)) => debug!(%peer, error = %e, "TLS handshake refused"),
                        Err(_) => debug!(%peer, "TLS handshake timed out"),
                    }
                });
            }
        });
        TlsListener {
            rx,
            local,
            accept_task,
        }
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        self.accept_task.abort();
    }
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        match self.rx.recv().await {
            Some(c) => c,
            // The accept task ended (the daemon is stopping): accept nothing more.
            None => std::future::pending().await,
        }
    }

    fn local_addr(&self) -> std::io::Result<Self::Addr> {
        Ok(self.local)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_parse_as_dockerd_does() {
        let d = "/run/berth/berth.sock";
        assert_eq!(
            parse_host("unix:///x.sock", false, d).unwrap(),
            Host::Unix("/x.sock".into())
        );
        assert_eq!(
            parse_host("unix://", false, d).unwrap(),
            Host::Unix(d.into())
        );
        assert_eq!(
            parse_host("tcp://127.0.0.1:2999", true, d).unwrap(),
            Host::Tcp("127.0.0.1:2999".into())
        );
        assert_eq!(
            parse_host("tcp://:2999", true, d).unwrap(),
            Host::Tcp("0.0.0.0:2999".into())
        );
        assert_eq!(
            parse_host("tcp://localhost", true, d).unwrap(),
            Host::Tcp("localhost:2376".into())
        );
        assert_eq!(
            parse_host("tcp://[::1]:2999", true, d).unwrap(),
            Host::Tcp("[::1]:2999".into())
        );
        assert!(parse_host("tcp://h:x", true, d).is_err());
        assert_eq!(
            parse_host("fd://", true, d).unwrap(),
            Host::Fd("fd://".into())
        );
        // Displayed in the form it was given (the effective config lists the hosts).
        for h in [
            "fd://",
            "fd://3",
            "unix:///run/b.sock",
            "tcp://127.0.0.1:2375",
        ] {
            assert_eq!(parse_host(h, false, d).unwrap().to_string(), h);
        }
        assert_eq!(
            parse_host("http://x", true, d).unwrap_err(),
            "invalid bind address format: http://x"
        );
    }

    #[test]
    fn tcp_needs_mutual_tls() {
        let mut t = TlsSettings::default();
        let e = check_tcp_allowed("tcp://0.0.0.0:2375", &t).unwrap_err();
        assert!(e.contains("without --tlsverify"), "{e}");
        t.tls = true;
        assert!(check_tcp_allowed("tcp://0.0.0.0:2375", &t).is_err());
        t.verify = true;
        assert!(check_tcp_allowed("tcp://0.0.0.0:2375", &t).is_ok());
    }

    #[test]
    fn group_lookup_follows_moby() {
        assert_eq!(lookup_gid("root").unwrap(), 0);
        assert_eq!(lookup_gid("0").unwrap(), 0);
        assert_eq!(lookup_gid("424242").unwrap(), 424242);
        assert_eq!(
            lookup_gid("no-such-group-berth").unwrap_err(),
            "group no-such-group-berth not found"
        );
        let p = Path::new("/x.sock");
        assert!(socket_gid("no-such-group-berth", p)
            .unwrap_err()
            .starts_with("failed to load listeners: group no-such-group-berth not found"));
    }
}
