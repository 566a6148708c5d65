//! Which daemon a command talks to, decided as the docker CLI decides it: `-H`, else
//! `--context`, else `BERTH_HOST`/`DOCKER_HOST`, else `DOCKER_CONTEXT`, else config.json's
//! `currentContext`, else the default (berth's socket). TLS comes from `--tls*` flags and
//! `DOCKER_TLS*`/`DOCKER_CERT_PATH` for the default context, from the context's stored TLS
//! files otherwise.

use std::path::{Path, PathBuf};

use crate::context_store::{self, Store, TlsFiles};
use crate::Failure;

/// Default daemon address.
pub const DEFAULT_HOST: &str = "unix:///run/berth/berth.sock";
/// Default address with TLS and no host, as docker's.
pub const DEFAULT_TLS_HOST: &str = "tcp://localhost:2376";

/// TLS settings of a connection.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TlsSettings {
    /// Verify the daemon's certificate (against `ca`, else the system roots).
    pub verify: bool,
    pub ca: Option<TlsSource>,
    pub cert: Option<TlsSource>,
    pub key: Option<TlsSource>,
}

/// A PEM file, or its contents (contexts' TLS material).
#[derive(Debug, Clone, PartialEq)]
pub enum TlsSource {
    File(PathBuf),
    Pem(Vec<u8>),
}

impl TlsSource {
    pub fn read(&self) -> Result<Vec<u8>, String> {
        match self {
            TlsSource::Pem(b) => Ok(b.clone()),
            TlsSource::File(p) => std::fs::read(p).map_err(|e| {
                format!(
                    "open {}: {}",
                    p.display(),
                    crate::commands::create::io_msg(&e)
                )
            }),
        }
    }
}

/// Where to connect.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    /// The address as given: `unix:///path`, `tcp://host:port`, `ssh://user@host:port`.
    pub host: String,
    pub tls: Option<TlsSettings>,
    /// The context it came from.
    pub context: String,
    /// berth's own default socket: the CLI may start the daemon.
    pub default_socket: bool,
}

/// The global options that pick the endpoint.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    pub hosts: Vec<String>,
    pub context: Option<String>,
    pub tls: bool,
    /// `Some` when `--tlsverify` was given (true or false).
    pub tlsverify: Option<bool>,
    pub tlscacert: Option<String>,
    pub tlscert: Option<String>,
    pub tlskey: Option<String>,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

/// The name of the context in use (docker's resolveContextName).
pub fn context_name(sel: &Selection, current: &str) -> Result<String, Failure> {
    if sel.context.is_some() && !sel.hosts.is_empty() {
        return Err(Failure::new(
            "conflicting options: cannot specify both --host and --context",
            1,
        ));
    }
    if let Some(c) = &sel.context {
        return Ok(c.clone());
    }
    if !sel.hosts.is_empty() || env("BERTH_HOST").is_some() || env("DOCKER_HOST").is_some() {
        return Ok(context_store::DEFAULT.into());
    }
    if let Some(c) = env("DOCKER_CONTEXT") {
        return Ok(c);
    }
    if !current.is_empty() {
        return Ok(current.to_string());
    }
    Ok(context_store::DEFAULT.into())
}

/// The default context's TLS settings, from the flags and the environment.
fn default_tls(sel: &Selection, config_dir: &Path) -> Option<TlsSettings> {
    let verify = sel
        .tlsverify
        .unwrap_or_else(|| env("DOCKER_TLS_VERIFY").is_some());
    let tls = sel.tls || sel.tlsverify.is_some() || verify || env("DOCKER_TLS").is_some();
    if !tls {
        return None;
    }
    let cert_dir = env("DOCKER_CERT_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| config_dir.to_path_buf());
    // Default files that do not exist are left out, as docker does; a named one must exist.
    let pick = |given: &Option<String>, name: &str| match given {
        Some(p) => Some(TlsSource::File(PathBuf::from(p))),
        None => {
            let p = cert_dir.join(name);
            p.exists().then_some(TlsSource::File(p))
        }
    };
    // docker resets only the certificate and key to nothing when their default files are
    // missing: the CA file is read (and must exist) even when it is not used to verify.
    let ca = sel
        .tlscacert
        .as_ref()
        .map(PathBuf::from)
        .unwrap_or_else(|| cert_dir.join("ca.pem"));
    Some(TlsSettings {
        verify,
        ca: Some(TlsSource::File(ca)),
        cert: pick(&sel.tlscert, "cert.pem"),
        key: pick(&sel.tlskey, "key.pem"),
    })
}

/// The default context's endpoint: `-H`, `BERTH_HOST`, `DOCKER_HOST`, else berth's socket.
pub fn default_endpoint(sel: &Selection, config_dir: &Path) -> Result<Endpoint, Failure> {
    if sel.hosts.len() > 1 {
        return Err(Failure::new("Specify only one -H", 1));
    }
    let tls = default_tls(sel, config_dir);
    let given = sel
        .hosts
        .first()
        .cloned()
        .or_else(|| env("BERTH_HOST"))
        .or_else(|| env("DOCKER_HOST"));
    let (host, default_socket) = match given {
        Some(h) => {
            let h = normalize_host(&h, tls.is_some())?;
            let def = h == DEFAULT_HOST;
            (h, def)
        }
        None if tls.is_some() => (DEFAULT_TLS_HOST.to_string(), false),
        None => (DEFAULT_HOST.to_string(), true),
    };
    Ok(Endpoint {
        host,
        tls,
        context: context_store::DEFAULT.into(),
        default_socket,
    })
}

/// A stored context's endpoint.
pub fn context_endpoint(store: &Store, name: &str) -> Result<Endpoint, Failure> {
    let meta = store.get(name).map_err(|e| {
        Failure::new(
            format!("Failed to initialize: unable to resolve docker endpoint: {e}"),
            1,
        )
    })?;
    let ep = meta.endpoints.docker.clone().unwrap_or_default();
    let files: TlsFiles = store.tls(name);
    let tls = if files.is_empty() && !ep.skip_tls_verify {
        None
    } else {
        Some(TlsSettings {
            verify: !ep.skip_tls_verify,
            ca: files.ca.map(TlsSource::Pem),
            cert: files.cert.map(TlsSource::Pem),
            key: files.key.map(TlsSource::Pem),
        })
    };
    let host = if ep.host.is_empty() {
        DEFAULT_HOST.to_string()
    } else {
        normalize_host(&ep.host, tls.is_some())?
    };
    Ok(Endpoint {
        default_socket: host == DEFAULT_HOST,
        host,
        tls,
        context: name.to_string(),
    })
}

/// The endpoint of this invocation.
pub fn resolve(sel: &Selection, config_dir: &Path, current: &str) -> Result<Endpoint, Failure> {
    let name = context_name(sel, current)?;
    if name == context_store::DEFAULT {
        return default_endpoint(sel, config_dir);
    }
    context_endpoint(&Store::new(config_dir), &name)
}

/// Checks and completes a daemon address as docker's ParseHost does: `tcp://` gets a port
/// (2375, or 2376 with TLS) and `localhost` when the host is empty; a bare `host:port`
/// means tcp; `unix://` alone is the default socket.
pub fn normalize_host(h: &str, tls: bool) -> Result<String, Failure> {
    let bad = || Failure::new(format!("Invalid bind address format: {h}"), 1);
    let h = h.trim();
    let (proto, rest) = match h.split_once("://") {
        Some((p, r)) => (p.to_ascii_lowercase(), r.to_string()),
        None if h.is_empty() => return Ok(DEFAULT_HOST.to_string()),
        None => ("tcp".to_string(), h.to_string()),
    };
    match proto.as_str() {
        "unix" => Ok(if rest.is_empty() {
            DEFAULT_HOST.to_string()
        } else {
            format!("unix://{rest}")
        }),
        "tcp" | "http" | "https" => {
            let port = if tls { 2376 } else { 2375 };
            let hostport = rest.split('/').next().unwrap_or("");
            let (host, p) = split_host_port(hostport);
            let host = if host.is_empty() { "localhost" } else { host };
            let p = match p {
                None | Some("") => port,
                Some(p) => p.parse::<u16>().map_err(|_| bad())?,
            };
            let host = if host.contains(':') && !host.starts_with('[') {
                format!("[{host}]")
            } else {
                host.to_string()
            };
            Ok(format!("tcp://{host}:{p}"))
        }
        "ssh" => {
            if rest.is_empty() {
                return Err(bad());
            }
            Ok(format!("ssh://{rest}"))
        }
        "fd" | "npipe" => Err(Failure::new(
            format!("{proto}:// is not supported by the berth CLI: {h}"),
            1,
        )),
        _ => Err(bad()),
    }
}

/// "host:port", "[v6]:port", "host" → (host, port).
pub fn split_host_port(s: &str) -> (&str, Option<&str>) {
    if let Some(rest) = s.strip_prefix('[') {
        if let Some((h, after)) = rest.split_once(']') {
            return (h, after.strip_prefix(':'));
        }
    }
    match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => (h, Some(p)),
        _ => (s, None),
    }
}

/// An `ssh://[user@]host[:port]` address.
#[derive(Debug, Clone, PartialEq)]
pub struct SshAddr {
    pub user: Option<String>,
    pub host: String,
    pub port: Option<u16>,
    /// A path after the host: docker refuses it ("extra path after the host").
    pub path: String,
}

pub fn parse_ssh(host: &str) -> Result<SshAddr, String> {
    let rest = host
        .strip_prefix("ssh://")
        .ok_or_else(|| format!("not an ssh URL: {host}"))?;
    let (auth, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, ""),
    };
    let (user, hp) = match auth.rsplit_once('@') {
        Some((u, h)) => (Some(u.to_string()), h),
        None => (None, auth),
    };
    let (h, p) = split_host_port(hp);
    if h.is_empty() {
        return Err("no host specified".into());
    }
    let port = match p {
        None | Some("") => None,
        Some(p) => Some(
            p.parse::<u16>()
                .map_err(|_| format!("invalid port {p:?}"))?,
        ),
    };
    if !path.is_empty() && path != "/" {
        return Err(format!("extra path after the host: {path:?}"));
    }
    Ok(SshAddr {
        user,
        host: h.to_string(),
        port,
        path: path.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_completed_as_docker() {
        let n = |h: &str, tls: bool| normalize_host(h, tls).map_err(|f| f.msg);
        assert_eq!(n("tcp://1.2.3.4", false), Ok("tcp://1.2.3.4:2375".into()));
        assert_eq!(n("tcp://1.2.3.4", true), Ok("tcp://1.2.3.4:2376".into()));
        assert_eq!(n("tcp://:99", false), Ok("tcp://localhost:99".into()));
        assert_eq!(n("127.0.0.1:5", false), Ok("tcp://127.0.0.1:5".into()));
        assert_eq!(n("unix://", false), Ok(DEFAULT_HOST.into()));
        assert_eq!(n("unix:///x.sock", false), Ok("unix:///x.sock".into()));
        assert_eq!(n("ssh://me@h:22", false), Ok("ssh://me@h:22".into()));
        assert!(n("ftp://x", false).is_err());
        assert!(n("tcp://h:notaport", false).is_err());
    }

    #[test]
    fn ssh_urls() {
        let a = parse_ssh("ssh://me@127.0.0.1:2222").expect("parses");
        assert_eq!(a.user.as_deref(), Some("me"));
        assert_eq!(a.host, "127.0.0.1");
        assert_eq!(a.port, Some(2222));
        assert!(parse_ssh("ssh://h/path").is_err());
        assert_eq!(parse_ssh("ssh://h").expect("parses").port, None);
    }

    #[test]
    fn flags_beat_contexts() {
        let sel = Selection {
            hosts: vec!["tcp://h:1".into()],
            context: Some("x".into()),
            ..Default::default()
        };
        assert!(context_name(&sel, "").is_err());
        let sel = Selection {
            context: Some("x".into()),
            ..Default::default()
        };
        assert_eq!(context_name(&sel, "y").map_err(|f| f.msg), Ok("x".into()));
    }
}
