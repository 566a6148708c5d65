//! One authenticated session with a registry repository: endpoint choice (https, then http
//! for insecure registries), `/v2/` ping, basic or bearer-token authorization (the token
//! realm flow), and the requests pull and push make.
//!
//! https is verified against the system CAs plus `certs.d/HOST:PORT/*.crt` from
//! `/etc/berth/certs.d`, `/etc/docker/certs.d` and the daemon's `$BERTH_CERTS_DIR` (tests).
//! Insecure registries (daemon.json `insecure-registries`, and loopback unless the daemon's
//! environment has `BERTH_LOOPBACK_REGISTRY_SECURE`, which tests set to show a certs.d CA
//! is verified) get unverified https, then http. The `/v2/` challenge decides basic or
//! bearer; a token is per repository scope and refreshed on a 401. Credentials stay
//! client-side as with docker: the CLI reads `$DOCKER_CONFIG/config.json` (auths or
//! credential helpers) and sends `X-Registry-Auth`.

use std::io::Read;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use ureq::tls::{Certificate, RootCerts, TlsConfig};

use crate::auth::{parse_challenge, AuthConfig, Challenge};
use crate::error::RegistryError;

/// daemon.json's registry settings.
#[derive(Debug, Clone)]
pub struct RegistryConfig {
    /// `insecure-registries`: `host[:port]` names or CIDRs (127.0.0.0/8 is always insecure).
    pub insecure_registries: Vec<String>,
    /// `registry-mirrors` (for docker.io): base URLs tried before Docker Hub.
    pub registry_mirrors: Vec<String>,
    pub max_concurrent_downloads: usize,
    pub max_concurrent_uploads: usize,
    /// Where `HOST:PORT/ca.crt` live: `/etc/berth/certs.d`, `/etc/docker/certs.d`.
    pub certs_dirs: Vec<PathBuf>,
    /// Docker treats loopback registries as insecure (unverified https, then http). Tests
    /// turn it off (`BERTH_LOOPBACK_REGISTRY_SECURE` in the daemon's environment) to show
    /// that a certs.d CA is really verified.
    pub loopback_insecure: bool,
    /// Whether insecure registries may be reached over plain http after https failed
    /// (docker's engine does; the docker CLI's `manifest` commands only with `--insecure`).
    pub plain_http: bool,
    /// The proxies registry requests go through (daemon.json `proxies` over the
    /// environment's; see `crate::proxy`).
    pub proxies: crate::proxy::Proxies,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        RegistryConfig {
            insecure_registries: Vec::new(),
            registry_mirrors: Vec::new(),
            max_concurrent_downloads: 3,
            max_concurrent_uploads: 5,
            certs_dirs: vec![
                PathBuf::from("/etc/berth/certs.d"),
                PathBuf::from("/etc/docker/certs.d"),
            ],
            loopback_insecure: true,
            plain_http: true,
            proxies: crate::proxy::Proxies::from_env(),
        }
    }
}

const DOCKER_HUB_HOST: &str = "registry-1.docker.io";

/// The host:port requests go to for a reference's domain.
/// `BERTH_HUB_HOST` (the daemon's environment) replaces Docker Hub: the test harness points
/// it at a closed loopback port so no test can reach an outside registry.
pub(crate) fn registry_host(domain: &str) -> String {
    if domain == berth_image::reference::DEFAULT_DOMAIN {
        std::env::var("BERTH_HUB_HOST")
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| DOCKER_HUB_HOST.to_string())
    } else {
        domain.to_string()
    }
}

fn parse_cidr(s: &str) -> Option<(IpAddr, u8)> {
    let (ip, bits) = s.split_once('/')?;
    Some((ip.parse().ok()?, bits.parse().ok()?))
}

fn in_cidr(ip: IpAddr, net: IpAddr, bits: u8) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(b)) if bits <= 32 => {
            let mask = if bits == 0 {
                0
            } else {
                u32::MAX << (32 - bits)
            };
            u32::from(a) & mask == u32::from(b) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(b)) if bits <= 128 => {
            let mask = if bits == 0 {
                0
            } else {
                u128::MAX << (128 - bits)
            };
            u128::from(a) & mask == u128::from(b) & mask
        }
        _ => false,
    }
}

fn host_part(host_port: &str) -> &str {
    if let Some(rest) = host_port.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    match host_port.rsplit_once(':') {
        Some((h, p)) if p.bytes().all(|c| c.is_ascii_digit()) => h,
        _ => host_port,
    }
}

impl RegistryConfig {
    /// Docker's rule: listed names, listed CIDRs, and loopback (127.0.0.0/8, ::1, localhost).
    pub fn is_insecure(&self, host_port: &str) -> bool {
        let host = host_part(host_port);
        let ip: Option<IpAddr> = if host == "localhost" {
            Some(IpAddr::from([127, 0, 0, 1]))
        } else {
            host.parse().ok()
        };
        if self.loopback_insecure && ip.is_some_and(|i| i.is_loopback()) {
            return true;
        }
        self.insecure_registries.iter().any(|e| {
            let e = e
                .trim_start_matches("http://")
                .trim_start_matches("https://")
                .trim_end_matches('/');
            if e == host_port || e == host {
                return true;
            }
            match (parse_cidr(e), ip) {
                (Some((net, bits)), Some(i)) => in_cidr(i, net, bits),
                _ => false,
            }
        })
    }

    fn extra_cas(&self, host_port: &str) -> Vec<Certificate<'static>> {
        let mut out = Vec::new();
        for d in &self.certs_dirs {
            let dir = d.join(host_port);
            let Ok(rd) = std::fs::read_dir(&dir) else {
                continue;
            };
            for e in rd.flatten() {
                let p = e.path();
                if p.extension().and_then(|x| x.to_str()) != Some("crt") {
                    continue;
                }
                match std::fs::read(&p) {
                    Ok(pem) => out.extend(pem_certs(&pem)),
                    Err(e) => tracing::warn!(path = %p.display(), "cannot read CA: {e}"),
                }
            }
        }
        out
    }
}

fn pem_certs(pem: &[u8]) -> Vec<Certificate<'static>> {
    ureq::tls::parse_pem(pem)
        .filter_map(|i| match i {
            Ok(ureq::tls::PemItem::Certificate(c)) => Some(c),
            _ => None,
        })
        .collect()
}

/// The system CA bundle (Debian's), parsed once.
fn system_cas() -> &'static [Certificate<'static>] {
    static CAS: OnceLock<Vec<Certificate<'static>>> = OnceLock::new();
    CAS.get_or_init(|| {
        for p in [
            "/etc/ssl/certs/ca-certificates.crt",
            "/etc/pki/tls/certs/ca-bundle.crt",
            "/etc/ssl/cert.pem",
        ] {
            if let Ok(pem) = std::fs::read(p) {
                let v = pem_certs(&pem);
                if !v.is_empty() {
                    return v;
                }
            }
        }
        Vec::new()
    })
}

/// A ureq agent and the daemon's proxies: each request it makes sets its own proxy from
/// its URL (Go's per-request `ProxyFromEnvironment`, [`Proxies::for_url`]), so a token
/// realm or a redirect target named in a `Location` is judged by its own host and port;
/// the agent's own proxy (with ureq's NO_PROXY entries) serves only the redirects ureq
/// follows inside one request. Its `get`/`head`/`post`/`put`/`patch` are ureq's.
pub(crate) struct Agent {
    inner: ureq::Agent,
    proxies: crate::proxy::Proxies,
}

macro_rules! per_request_proxy {
    ($($name:ident => $body:ty),*) => {$(
        pub fn $name(&self, url: &str) -> ureq::RequestBuilder<$body> {
            let req = self.inner.$name(url);
            match self.proxies.for_url(url) {
                Ok(p) => req.config().proxy(p).build(),
                // An unusable proxy was refused when the agent was made; a URL of the
                // other scheme keeps the agent's choice.
                Err(_) => req,
            }
        }
    )*};
}

impl Agent {
    per_request_proxy!(
        get => ureq::typestate::WithoutBody,
        head => ureq::typestate::WithoutBody,
        post => ureq::typestate::WithBody,
        put => ureq::typestate::WithBody,
        patch => ureq::typestate::WithBody
    );
}

/// An agent for one scheme's requests: its proxy is the one `cfg.proxies` gives that
/// scheme (an explicit `None` also keeps ureq from reading `ALL_PROXY`, which Go ignores).
/// An unusable proxy fails the first request to `host` (`/v2/`), as Go's transport does.
fn agent(
    cfg: &RegistryConfig,
    host: &str,
    tls: TlsConfig,
    https: bool,
) -> Result<Agent, RegistryError> {
    let scheme = if https { "https" } else { "http" };
    let proxy = cfg
        .proxies
        .for_scheme(https)
        .map_err(|e| RegistryError::Transport(format!("Get \"{scheme}://{host}/v2/\": {e}")))?;
    let inner = ureq::Agent::config_builder()
        .proxy(proxy)
        .http_status_as_error(false)
        .tls_config(tls)
        .timeout_connect(Some(Duration::from_secs(15)))
        .timeout_recv_response(Some(Duration::from_secs(120)))
        .max_redirects(10)
        .max_idle_connections_per_host(16)
        .user_agent(concat!("berth/", env!("CARGO_PKG_VERSION")))
        .build()
        .into();
    Ok(Agent {
        inner,
        proxies: cfg.proxies.clone(),
    })
}

/// Text of a transport failure, in Go's words where they differ.
pub(crate) fn transport_text(e: &ureq::Error) -> String {
    let text = match e {
        ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused => {
            "connect: connection refused".to_string()
        }
        ureq::Error::Io(io) => io.to_string(),
        ureq::Error::Tls(t) => format!("tls: {t}"),
        ureq::Error::Rustls(t) => format!("tls: failed to verify certificate: {t}"),
        other => other.to_string(),
    };
    // Go's words for an unknown CA (rustls: "invalid peer certificate: UnknownIssuer"),
    // whichever wrapper the TLS error arrives in.
    if text.contains("UnknownIssuer") {
        return "tls: failed to verify certificate: x509: certificate signed by unknown authority"
            .to_string();
    }
    text
}

/// [`transport_text`] of a failed connection to `base` as Go's dialer words it when the
/// host is an address: `dial tcp 127.0.0.1:1: connect: connection refused` (a name would
/// be resolved first, and Go names the address it tried; that is left as it is).
fn dial_text(base: &str, e: &ureq::Error) -> String {
    let text = transport_text(e);
    let Some(rest) = text.strip_prefix("connect: ") else {
        return text;
    };
    let host = base
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let host = host.split('/').next().unwrap_or(host);
    let addr = if host.parse::<std::net::SocketAddr>().is_ok() {
        host.to_string()
    } else if host.parse::<IpAddr>().is_ok() {
        let port = if base.starts_with("https://") {
            443
        } else {
            80
        };
        format!("{host}:{port}")
    } else {
        return text;
    };
    format!("dial tcp {addr}: connect: {rest}")
}

/// `code: message` per entry of a registry error body, as docker's errcode prints them.
pub(crate) fn error_text(body: &[u8]) -> Option<String> {
    let body: crate::documents::ErrorBody = serde_json::from_slice(body).ok()?;
    let parts: Vec<String> = body
        .errors
        .iter()
        .map(|e| {
            let code = e
                .code
                .as_deref()
                .unwrap_or("unknown")
                .replace('_', " ")
                .to_lowercase();
            let msg = e.message.as_deref().unwrap_or("");
            if msg.is_empty() {
                code
            } else {
                format!("{code}: {msg}")
            }
        })
        .collect();
    if parts.is_empty() {
        None
    } else {
        Some(parts.join(", "))
    }
}

pub(crate) type Resp = ureq::http::Response<ureq::Body>;

/// An authenticated session against one repository of one registry.
pub(crate) struct Session {
    agent: Agent,
    /// `https://host:port` or `http://host:port`.
    pub base: String,
    pub repo: String,
    auth: AuthConfig,
    challenge: Mutex<Option<Challenge>>,
    token: Mutex<Option<String>>,
    actions: String,
}

/// The verified https agent and, for an insecure registry, the unverified one (https)
/// and the plain http one.
pub(crate) type Agents = (Agent, Option<(Agent, Agent)>);

pub(crate) fn build_agents(cfg: &RegistryConfig, host: &str) -> Result<Agents, RegistryError> {
    let mut roots: Vec<Certificate<'static>> = system_cas().to_vec();
    roots.extend(cfg.extra_cas(host));
    let verified = if roots.is_empty() {
        TlsConfig::builder().root_certs(RootCerts::WebPki).build()
    } else {
        TlsConfig::builder()
            .root_certs(RootCerts::Specific(Arc::new(roots)))
            .build()
    };
    let insecure = if cfg.is_insecure(host) {
        let unverified = || TlsConfig::builder().disable_verification(true).build();
        Some((
            agent(cfg, host, unverified(), true)?,
            agent(cfg, host, unverified(), false)?,
        ))
    } else {
        None
    };
    Ok((agent(cfg, host, verified, true)?, insecure))
}

/// Pings `/v2/` over each candidate endpoint: verified https; for insecure registries
/// https without verification, then plain http (docker's order).
fn ping(
    cfg: &RegistryConfig,
    host: &str,
) -> Result<(Agent, String, Option<Challenge>), RegistryError> {
    let (verified, insecure) = build_agents(cfg, host)?;
    let mut candidates = vec![(verified, format!("https://{host}"))];
    if let Some((a, plain)) = insecure {
        candidates.push((a, format!("https://{host}")));
        if cfg.plain_http {
            candidates.push((plain, format!("http://{host}")));
        }
    }
    ping_candidates(candidates)
}

/// Pings a mirror given as a base URL (`registry-mirrors`): its scheme only (https
/// unverified too when the host is insecure).
fn ping_mirror(
    cfg: &RegistryConfig,
    base: &str,
) -> Result<(Agent, String, Option<Challenge>), RegistryError> {
    let base = base.trim_end_matches('/');
    let host = base
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let host = host.split('/').next().unwrap_or(host);
    let (verified, insecure) = build_agents(cfg, host)?;
    let candidates = if base.starts_with("http://") {
        let plain = match insecure {
            Some((_, plain)) => plain,
            None => agent(cfg, host, TlsConfig::default(), false)?,
        };
        vec![(plain, base.to_string())]
    } else {
        let mut c = vec![(verified, base.to_string())];
        if let Some((a, _)) = insecure {
            c.push((a, base.to_string()));
        }
        c
    };
    ping_candidates(candidates)
}

fn ping_candidates(
    candidates: Vec<(Agent, String)>,
) -> Result<(Agent, String, Option<Challenge>), RegistryError> {
    let mut last = String::new();
    for (a, base) in candidates {
        let url = format!("{base}/v2/");
        match a.get(&url).call() {
            Ok(r) => {
                let challenge = if r.status().as_u16() == 401 {
                    r.headers()
                        .get_all("www-authenticate")
                        .iter()
                        .filter_map(|v| v.to_str().ok())
                        .filter_map(parse_challenge)
                        .next()
                } else {
                    None
                };
                tracing::debug!(%base, ?challenge, "registry endpoint");
                return Ok((a, base, challenge));
            }
            Err(e) => {
                tracing::debug!(%url, "ping failed: {e}");
                last = format!("Get \"{url}\": {}", dial_text(&base, &e));
            }
        }
    }
    Err(RegistryError::Transport(last))
}

impl Session {
    /// `actions`: `pull` or `pull,push`.
    pub fn open(
        cfg: &RegistryConfig,
        host: &str,
        repo: &str,
        auth: &AuthConfig,
        actions: &str,
    ) -> Result<Session, RegistryError> {
        let (agent, base, challenge) = ping(cfg, host)?;
        Ok(Session {
            agent,
            base,
            repo: repo.to_string(),
            auth: auth.clone(),
            challenge: Mutex::new(challenge),
            token: Mutex::new(None),
            actions: actions.to_string(),
        })
    }

    /// A session against a Docker Hub mirror (`registry-mirrors` entry, a base URL).
    pub fn open_mirror(
        cfg: &RegistryConfig,
        base: &str,
        repo: &str,
        auth: &AuthConfig,
    ) -> Result<Session, RegistryError> {
        let (agent, base, challenge) = ping_mirror(cfg, base)?;
        Ok(Session {
            agent,
            base,
            repo: repo.to_string(),
            auth: auth.clone(),
            challenge: Mutex::new(challenge),
            token: Mutex::new(None),
            actions: "pull".to_string(),
        })
    }

    pub fn url(&self, tail: &str) -> String {
        format!("{}/v2/{}/{}", self.base, self.repo, tail)
    }

    /// Resolves a `Location` header against the endpoint.
    pub fn resolve(&self, loc: &str) -> String {
        if loc.starts_with("http://") || loc.starts_with("https://") {
            loc.to_string()
        } else if loc.starts_with('/') {
            format!("{}{loc}", self.base)
        } else {
            format!("{}/{loc}", self.base)
        }
    }

    fn scope(&self) -> String {
        format!("repository:{}:{}", self.repo, self.actions)
    }

    /// The registry asks for basic authorization and no credentials were given.
    pub(crate) fn lacks_basic_credentials(&self) -> bool {
        let ch = self.challenge.lock().unwrap_or_else(|p| p.into_inner());
        matches!(*ch, Some(Challenge::Basic)) && self.auth.basic().is_none()
    }

    /// The Authorization header value for the current challenge (fetching a token once).
    fn authorization(&self) -> Result<Option<String>, RegistryError> {
        let ch = self
            .challenge
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        match ch {
            None => Ok(None),
            Some(Challenge::Basic) => Ok(self.auth.basic()),
            Some(Challenge::Bearer { realm, service, .. }) => {
                let mut tok = self.token.lock().unwrap_or_else(|p| p.into_inner());
                if tok.is_none() {
                    let scope = self.scope();
                    *tok = Some(fetch_token(
                        &self.agent,
                        &self.auth,
                        &realm,
                        service.as_deref(),
                        Some(&scope),
                    )?);
                }
                Ok(tok.as_ref().map(|t| format!("Bearer {t}")))
            }
        }
    }

    /// Forgets the token and takes the response's challenge; true if a retry may help.
    fn reauth(&self, r: &Resp) -> bool {
        let ch = r
            .headers()
            .get_all("www-authenticate")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .filter_map(parse_challenge)
            .next();
        let Some(ch) = ch else {
            return false;
        };
        let had_token = self
            .token
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
            .is_some();
        let mut cur = self.challenge.lock().unwrap_or_else(|p| p.into_inner());
        let changed = cur.as_ref() != Some(&ch);
        *cur = Some(ch);
        changed || had_token
    }

    fn transport(&self, method: &str, url: &str, e: ureq::Error) -> RegistryError {
        let m = match method {
            "GET" => "Get",
            "HEAD" => "Head",
            "PUT" => "Put",
            "POST" => "Post",
            "PATCH" => "Patch",
            _ => method,
        };
        RegistryError::Transport(format!("{m} \"{url}\": {}", dial_text(url, &e)))
    }

    /// GET or HEAD with auth (retried once after a fresh challenge).
    pub fn fetch(
        &self,
        method: &str,
        url: &str,
        accept: Option<&str>,
    ) -> Result<Resp, RegistryError> {
        for attempt in 0..2 {
            let mut req = match method {
                "HEAD" => self.agent.head(url),
                _ => self.agent.get(url),
            };
            if let Some(a) = accept {
                req = req.header("Accept", a);
            }
            if let Some(h) = self.authorization()? {
                req = req.header("Authorization", &h);
            }
            let r = req.call().map_err(|e| self.transport(method, url, e))?;
            if r.status().as_u16() == 401 && attempt == 0 && self.reauth(&r) {
                continue;
            }
            return Ok(r);
        }
        Err(RegistryError::Unauthorized(
            "unauthorized: authentication required".into(),
        ))
    }

    /// A request with a body (POST/PUT/PATCH). `body` is `None` for an empty one.
    pub fn send(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, String)],
        body: Option<(&mut dyn Read, u64)>,
    ) -> Result<Resp, RegistryError> {
        let mut req = match method {
            "POST" => self.agent.post(url),
            "PATCH" => self.agent.patch(url),
            _ => self.agent.put(url),
        };
        for (k, v) in headers {
            req = req.header(*k, v);
        }
        if let Some(h) = self.authorization()? {
            req = req.header("Authorization", &h);
        }
        let r = match body {
            Some((reader, len)) => req
                .header("Content-Length", &len.to_string())
                .send(ureq::SendBody::from_reader(reader)),
            None => req.header("Content-Length", "0").send_empty(),
        };
        r.map_err(|e| self.transport(method, url, e))
    }

    /// A small body, retried once after a fresh challenge.
    pub fn send_bytes(
        &self,
        method: &str,
        url: &str,
        headers: &[(&str, String)],
        data: &[u8],
    ) -> Result<Resp, RegistryError> {
        for attempt in 0..2 {
            let mut slice = data;
            let r = self.send(method, url, headers, Some((&mut slice, data.len() as u64)))?;
            if r.status().as_u16() == 401 && attempt == 0 && self.reauth(&r) {
                continue;
            }
            return Ok(r);
        }
        Err(RegistryError::Unauthorized(
            "unauthorized: authentication required".into(),
        ))
    }
}

/// The media type an answer declares (its Content-Type without parameters; empty if none).
pub(crate) fn media_type(r: &Resp) -> String {
    r.headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_string()
}

/// Reads a small body (manifests, configs, errors), bounded.
pub(crate) fn read_small(r: Resp, limit: u64) -> Result<Vec<u8>, RegistryError> {
    let mut b = r.into_body();
    b.with_config()
        .limit(limit)
        .read_to_vec()
        .map_err(|e| RegistryError::Transport(format!("reading response: {e}")))
}

/// Docker's text for a failed registry answer: the error body's codes, else the status.
pub(crate) fn status_error(r: Resp) -> (u16, String) {
    let status = r.status();
    let code = status.as_u16();
    let body = read_small(r, 1 << 20).unwrap_or_default();
    let text = error_text(&body).unwrap_or_else(|| {
        format!(
            "unexpected status {} {}",
            code,
            status.canonical_reason().unwrap_or("")
        )
    });
    (code, text)
}

/// The token realm flow: GET realm?service=..&scope=.. with basic credentials if any
/// (identity tokens: POST the refresh-token grant).
fn fetch_token(
    agent: &Agent,
    auth: &AuthConfig,
    realm: &str,
    service: Option<&str>,
    scope: Option<&str>,
) -> Result<String, RegistryError> {
    use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
    let enc = |s: &str| utf8_percent_encode(s, NON_ALPHANUMERIC).to_string();
    if !auth.registrytoken.is_empty() {
        return Ok(auth.registrytoken.clone());
    }
    let resp = if !auth.identitytoken.is_empty() {
        let mut form = format!(
            "grant_type=refresh_token&client_id=docker&refresh_token={}",
            enc(&auth.identitytoken)
        );
        if let Some(s) = service {
            form.push_str(&format!("&service={}", enc(s)));
        }
        if let Some(s) = scope {
            form.push_str(&format!("&scope={}", enc(s)));
        }
        agent
            .post(realm)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .send(form.as_bytes())
    } else {
        let mut url = realm.to_string();
        let mut sep = if url.contains('?') { '&' } else { '?' };
        for (k, v) in [("service", service), ("scope", scope)] {
            if let Some(v) = v {
                url.push(sep);
                url.push_str(&format!("{k}={}", enc(v)));
                sep = '&';
            }
        }
        if scope.is_none() {
            url.push(sep);
            url.push_str("client_id=docker&offline_token=true");
        }
        let mut req = agent.get(&url);
        if let Some(b) = auth.basic() {
            req = req.header("Authorization", &b);
        }
        req.call()
    };
    let resp = resp.map_err(|e| {
        RegistryError::Transport(format!("Get \"{realm}\": {}", transport_text(&e)))
    })?;
    let code = resp.status().as_u16();
    if code == 401 || code == 403 {
        let (_, text) = status_error(resp);
        let text = if text.starts_with("unexpected status") {
            "unauthorized: incorrect username or password".to_string()
        } else {
            text
        };
        return Err(RegistryError::Unauthorized(text));
    }
    if !(200..300).contains(&code) {
        let (_, text) = status_error(resp);
        return Err(RegistryError::Transport(format!(
            "token server {realm}: {text}"
        )));
    }
    let body = read_small(resp, 1 << 20)?;
    let answer: crate::documents::TokenAnswer = serde_json::from_slice(&body).map_err(|e| {
        RegistryError::Transport(format!("token server {realm}: invalid answer: {e}"))
    })?;
    answer
        .token
        .or(answer.access_token)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| RegistryError::Transport(format!("token server {realm}: no token")))
}

/// `POST /auth`: checks the credentials against the registry. Returns the identity token
/// the registry issued, if any (none for basic auth).
pub fn login(cfg: &RegistryConfig, auth: &AuthConfig) -> Result<String, RegistryError> {
    let addr = auth
        .serveraddress
        .trim()
        .trim_start_matches("https://")
        .trim_start_matches("http://");
    let addr = addr.split('/').next().unwrap_or(addr);
    let host = match addr {
        "" | "index.docker.io" | "docker.io" | "registry-1.docker.io" => DOCKER_HUB_HOST,
        a => a,
    };
    let (agent, base, challenge) = ping(cfg, host)?;
    let url = format!("{base}/v2/");
    match challenge {
        None => Ok(String::new()),
        Some(Challenge::Basic) => {
            let mut req = agent.get(&url);
            if let Some(b) = auth.basic() {
                req = req.header("Authorization", &b);
            }
            let r = req.call().map_err(|e| {
                RegistryError::Transport(format!("Get \"{url}\": {}", transport_text(&e)))
            })?;
            let st = r.status();
            if st.is_success() {
                Ok(String::new())
            } else {
                Err(RegistryError::Unauthorized(format!(
                    "login attempt to {url} failed with status: {} {}",
                    st.as_u16(),
                    st.canonical_reason().unwrap_or("")
                )))
            }
        }
        Some(Challenge::Bearer { realm, service, .. }) => {
            match fetch_token(&agent, auth, &realm, service.as_deref(), None) {
                Ok(_) => Ok(String::new()),
                Err(RegistryError::Unauthorized(m)) => {
                    Err(RegistryError::Unauthorized(format!("Get \"{url}\": {m}")))
                }
                Err(e) => Err(e),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_and_listed_registries_are_insecure() {
        let mut c = RegistryConfig::default();
        assert!(c.is_insecure("127.0.0.1:5000"));
        assert!(c.is_insecure("127.8.0.1"));
        assert!(c.is_insecure("localhost:5000"));
        assert!(c.is_insecure("[::1]:5000"));
        assert!(!c.is_insecure("registry.example:5000"));
        assert!(!c.is_insecure("10.1.2.3:5000"));
        c.insecure_registries = vec!["registry.example:5000".into(), "10.0.0.0/8".into()];
        assert!(c.is_insecure("registry.example:5000"));
        assert!(c.is_insecure("10.1.2.3:5000"));
        assert!(!c.is_insecure("11.1.2.3:5000"));
    }

    #[test]
    fn registry_error_bodies() {
        let b =
            br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{}}]}"#;
        assert_eq!(
            error_text(b).as_deref(),
            Some("manifest unknown: manifest unknown")
        );
        assert_eq!(error_text(b"nope"), None);
    }
}
