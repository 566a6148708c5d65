//! A small blocking HTTP/1.1 client for the Engine API over any transport (unix socket,
//! TCP with or without TLS, ssh; see `transport.rs`).
//!
//! Blocking I/O keeps connection hijacking (attach) trivial: the socket simply becomes the
//! raw stream once the 101 answer has been read.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::os::unix::net::UnixStream;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use thiserror::Error;

use crate::endpoint::Endpoint;
use crate::transport::{DialError, Duplex, Transport};

/// Highest API version the client speaks.
pub const CLIENT_API: (u32, u32) = (1, 47);

#[derive(Debug, Error)]
pub enum ClientError {
    #[error("Cannot connect to the berth daemon at {0}. Is the berth daemon running?")]
    Connect(String),
    /// The connection failed after something answered (TLS, ssh): docker's wording.
    #[error("error during connect: {0}")]
    During(String),
    #[error("Error response from daemon: {message}")]
    Daemon { status: u16, message: String },
    #[error("{0}")]
    Io(#[from] io::Error),
    #[error("{0}")]
    Protocol(String),
}

impl ClientError {
    pub fn status(&self) -> Option<u16> {
        match self {
            ClientError::Daemon { status, .. } => Some(*status),
            _ => None,
        }
    }
    pub fn message(&self) -> String {
        match self {
            ClientError::Daemon { message, .. } => message.clone(),
            e => e.to_string(),
        }
    }
}

pub type Result<T> = std::result::Result<T, ClientError>;

/// Request body.
pub enum Body<'a> {
    None,
    Json(serde_json::Value),
    /// Streamed with chunked transfer encoding (load, import).
    Stream(&'a mut dyn Read, &'a str),
}

impl Body<'static> {
    /// A typed API body as JSON (its fields in the type's order).
    pub fn typed<T: serde::Serialize>(body: &T) -> std::result::Result<Self, ClientError> {
        serde_json::to_value(body)
            .map(Body::Json)
            .map_err(|e| ClientError::Protocol(format!("encoding the request body: {e}")))
    }
}

#[derive(Clone)]
pub struct Client {
    transport: Arc<Transport>,
    pub host: String,
    prefix: String,
    /// Extra request headers (X-Registry-Auth for pull/push).
    extra: Vec<(String, String)>,
    /// A unix connection whose last answer was read whole, kept for the next request.
    idle: Arc<Mutex<Option<Idle>>>,
}

/// Keep-alive on the unix socket: one CLI command makes several requests (`exec`: the
/// ping, the create, the start, the inspect), and a new connection costs the daemon an
/// accept and a connection task each, about 60 µs of a 5 ms `exec` per request. A
/// connection goes back to `idle` only after an answer framed by Content-Length was read
/// whole, and is reused only soon after; a reused connection that turns out closed before
/// any answer byte is replaced by a new one and the request sent again (the daemon closes
/// idle connections only between requests, so it had not read this one).
struct Idle {
    stream: UnixStream,
    since: Instant,
}

/// How long an idle connection is trusted (a CLI command's requests follow each other
/// within milliseconds; the daemon's own idle timeouts are far longer).
const IDLE_REUSE: Duration = Duration::from_secs(1);
/// The largest answer read eagerly so that its connection can be reused.
const POOLED_BODY_MAX: u64 = 1 << 20;

/// Response head plus a reader positioned at the (decoded) body.
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Box<dyn Read + Send>,
}

impl Response {
    pub fn header(&self, name: &str) -> Option<&str> {
        find_header(&self.headers, name)
    }
    pub fn bytes(mut self) -> Result<Vec<u8>> {
        let mut v = Vec::new();
        self.body.read_to_end(&mut v)?;
        Ok(v)
    }
    pub fn json(self) -> Result<serde_json::Value> {
        let b = self.bytes()?;
        if b.is_empty() {
            return Ok(serde_json::Value::Null);
        }
        serde_json::from_slice(&b).map_err(|e| ClientError::Protocol(format!("invalid JSON: {e}")))
    }
    /// The body as one of berth-api's typed answers.
    pub fn typed<T: serde::de::DeserializeOwned>(self) -> Result<T> {
        let b = self.bytes()?;
        serde_json::from_slice(&b).map_err(|e| ClientError::Protocol(format!("invalid JSON: {e}")))
    }
}

/// Go's spelling of a method in "error during connect: Get \"URL\"".
fn go_method(m: &str) -> String {
    let mut c = m.chars();
    match c.next() {
        Some(f) => f.to_string() + &c.as_str().to_lowercase(),
        None => String::new(),
    }
}

impl Client {
    pub fn new(ep: &Endpoint) -> std::result::Result<Client, String> {
        Ok(Client {
            transport: Arc::new(Transport::new(ep)?),
            host: ep.host.clone(),
            // Until negotiated: ours (what docker uses when the ping fails).
            prefix: format!("/v{}.{}", CLIENT_API.0, CLIENT_API.1),
            extra: Vec::new(),
            idle: Arc::default(),
        })
    }

    /// A client for a unix socket path (tests, dial-stdio).
    pub fn unix(path: &str) -> Client {
        Client {
            transport: Arc::new(Transport::Unix(path.into())),
            host: format!("unix://{path}"),
            prefix: String::new(),
            extra: Vec::new(),
            idle: Arc::default(),
        }
    }

    pub fn transport(&self) -> &Transport {
        &self.transport
    }

    fn dial_error(&self, e: DialError, method: &str, path: &str) -> ClientError {
        match e {
            DialError::Unreachable => ClientError::Connect(self.host.clone()),
            DialError::Failed(msg) => ClientError::During(format!(
                "{} \"{}\": {msg}",
                go_method(method),
                self.transport.url(path)
            )),
        }
    }

    /// An I/O error on a remote connection, worded as docker's ("error during connect").
    fn io_error(&self, e: io::Error, method: &str, path: &str) -> ClientError {
        if matches!(*self.transport, Transport::Unix(_)) {
            return e.into();
        }
        let msg = crate::transport::io_tls_message(&e).unwrap_or_else(|| e.to_string());
        self.dial_error(DialError::Failed(msg), method, path)
    }

    fn connect(&self, method: &str, path: &str) -> Result<Box<dyn Duplex>> {
        self.transport
            .dial()
            .map_err(|e| self.dial_error(e, method, path))
    }

    /// Fixes the API version without asking the daemon (`DOCKER_API_VERSION`).
    pub fn set_version(&mut self, v: &str) -> std::result::Result<(), String> {
        match parse_version(v) {
            Some((a, b)) => {
                self.prefix = format!("/v{a}.{b}");
                Ok(())
            }
            None => Err(format!("invalid API version {v:?} in DOCKER_API_VERSION")),
        }
    }

    /// Pings the daemon and fixes the API version prefix: min(server, client).
    pub fn negotiate(&mut self) -> Result<()> {
        let resp = self.raw("GET", "/_ping", &mut Body::None, false)?;
        let server = resp.header("Api-Version").and_then(parse_version);
        let _ = resp.bytes();
        let v = match server {
            Some(s) if s < CLIENT_API => s,
            _ => CLIENT_API,
        };
        self.prefix = format!("/v{}.{}", v.0, v.1);
        Ok(())
    }

    /// A copy of the client that sends one more header on every request.
    pub fn with_header(&self, name: &str, value: &str) -> Client {
        let mut c = self.clone();
        c.extra.push((name.to_string(), value.to_string()));
        c
    }

    pub fn api_version(&self) -> String {
        self.prefix.trim_start_matches("/v").to_string()
    }

    /// True when something answers /_ping on the socket.
    pub fn ping_ok(&self) -> bool {
        match self.raw("GET", "/_ping", &mut Body::None, false) {
            Ok(r) => r.status == 200,
            Err(_) => false,
        }
    }

    /// Waits up to `timeout` for the daemon to answer.
    pub fn wait_ready(&self, timeout: Duration) -> bool {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if self.ping_ok() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        false
    }

    /// Sends a request under the version prefix; non-2xx answers become `ClientError::Daemon`.
    pub fn call(&self, method: &str, path: &str, mut body: Body) -> Result<Response> {
        let full = format!("{}{}", self.prefix, path);
        let resp = self.raw(method, &full, &mut body, false)?;
        // A path that is not clean (`rm --link /NAME/ALIAS` makes `/containers//NAME/ALIAS`)
        // gets the router's 301 to the cleaned path, from moby as from berth; Go's client
        // follows it with the same method, so the docker CLI's request still arrives. Follow
        // it once, as that client does (a streamed body is spent: not resent).
        if matches!(resp.status, 301 | 308) && !matches!(body, Body::Stream(..)) {
            if let Some(to) = resp
                .header("Location")
                .filter(|l| l.starts_with('/'))
                .map(str::to_string)
            {
                return check(self.raw(method, &to, &mut body, false)?);
            }
        }
        check(resp)
    }

    pub fn get_json(&self, path: &str) -> Result<serde_json::Value> {
        self.call("GET", path, Body::None)?.json()
    }

    /// `GET path` read as a berth-api answer type (`ContainerSummary`s, `ImageSummary`s, ...).
    pub fn get_typed<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T> {
        self.call("GET", path, Body::None)?.typed()
    }

    pub fn post_json(&self, path: &str, body: Body) -> Result<serde_json::Value> {
        self.call("POST", path, body)?.json()
    }

    /// `POST path` with its answer read as a berth-api type.
    pub fn post_typed<T: serde::de::DeserializeOwned>(&self, path: &str, body: Body) -> Result<T> {
        self.call("POST", path, body)?.typed()
    }

    /// Hijacks the connection (attach): returns the raw stream after the 101/200 answer,
    /// with any bytes already buffered past the head.
    pub fn hijack(&self, path: &str) -> Result<(UnixStream, Vec<u8>)> {
        self.hijack_with(path, None)
    }

    /// A hijacked POST with a JSON body (`/exec/{id}/start`).
    pub fn hijack_json(
        &self,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<(UnixStream, Vec<u8>)> {
        let b = serde_json::to_vec(body).map_err(|e| ClientError::Protocol(e.to_string()))?;
        self.hijack_with(path, Some(&b))
    }

    fn hijack_with(&self, path: &str, body: Option<&[u8]>) -> Result<(UnixStream, Vec<u8>)> {
        let full = format!("{}{}", self.prefix, path);
        let (ct, len) = match body {
            Some(b) => ("application/json", b.len()),
            None => ("text/plain", 0),
        };
        let req = format!(
            "POST {full} HTTP/1.1\r\nHost: api.moby.localhost\r\nUser-Agent: berth-cli\r\nContent-Type: {ct}\r\nContent-Length: {len}\r\nConnection: Upgrade\r\nUpgrade: tcp\r\n\r\n"
        );
        let mut req = req.into_bytes();
        req.extend_from_slice(body.unwrap_or_default());
        let (s, mut reader) = self.exchange(&req, "POST", &full)?;
        let (status, headers) =
            read_head(&mut reader).map_err(|e| self.io_error_any(e, "POST", &full))?;
        if !(status == 101 || status == 200) {
            let body = body_reader(reader, &headers, status)?;
            return Err(check(Response {
                status,
                headers,
                body,
            })
            .err()
            .unwrap_or_else(|| ClientError::Protocol("attach failed".into())));
        }
        let leftover = reader.buffer().to_vec();
        Ok((s, leftover))
    }

    /// A protocol or I/O failure while reading an answer, worded for remote connections.
    fn io_error_any(&self, e: ClientError, method: &str, path: &str) -> ClientError {
        match e {
            ClientError::Io(e) => self.io_error(e, method, path),
            ClientError::Protocol(m) if !matches!(*self.transport, Transport::Unix(_)) => {
                self.dial_error(DialError::Failed(m), method, path)
            }
            e => e,
        }
    }

    fn raw(&self, method: &str, path: &str, body: &mut Body, _keep: bool) -> Result<Response> {
        // In-memory bodies on a unix socket are kept alive (see `Idle`); streamed ones not.
        let keep_alive = matches!(*self.transport, Transport::Unix(_)) && method != "HEAD";
        self.request_bytes(method, path, body, keep_alive)
            .and_then(|req| match req {
                Some(req) if keep_alive => self.raw_pooled(&req, method, path),
                req => self.raw_inner(method, path, body, req.as_deref()),
            })
            .map_err(|e| self.io_error_any(e, method, path))
    }

    /// The idle connection, if there is one recent enough to trust.
    fn take_idle(&self) -> Option<UnixStream> {
        let idle = self.idle.lock().ok()?.take()?;
        (idle.since.elapsed() < IDLE_REUSE).then_some(idle.stream)
    }

    /// Sends the whole request `req` on the idle connection, or on a new one when there is
    /// none or it turns out closed before answering; returns the connection and a reader at
    /// the answer.
    fn exchange(
        &self,
        req: &[u8],
        method: &str,
        path: &str,
    ) -> Result<(UnixStream, BufReader<UnixStream>)> {
        let send = |s: &UnixStream| -> io::Result<BufReader<UnixStream>> {
            (&*s).write_all(req)?;
            let mut reader = BufReader::new(s.try_clone()?);
            if reader.fill_buf()?.is_empty() {
                return Err(io::ErrorKind::UnexpectedEof.into());
            }
            Ok(reader)
        };
        if let Some(x) = self.take_idle().and_then(|s| send(&s).ok().map(|r| (s, r))) {
            return Ok(x);
        }
        let s = self
            .transport
            .dial_unix()
            .map_err(|e| self.dial_error(e, method, path))?;
        let r = match send(&s) {
            Ok(r) => r,
            // Closed without an answer: the head parser words it, as before.
            Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => BufReader::new(s.try_clone()?),
            Err(e) => return Err(e.into()),
        };
        Ok((s, r))
    }

    /// The whole request for an in-memory body (None for a streamed one): the head
    /// (`Connection: close` unless kept alive), the body's headers and the body.
    fn request_bytes(
        &self,
        method: &str,
        path: &str,
        body: &Body,
        keep_alive: bool,
    ) -> Result<Option<Vec<u8>>> {
        let mut req = self.head(method, path, keep_alive).into_bytes();
        match body {
            Body::None => {
                if method == "POST" {
                    req.extend_from_slice(b"Content-Length: 0\r\n");
                }
                req.extend_from_slice(b"\r\n");
            }
            Body::Json(v) => {
                let b = serde_json::to_vec(v).map_err(|e| ClientError::Protocol(e.to_string()))?;
                req.extend_from_slice(
                    format!(
                        "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                        b.len()
                    )
                    .as_bytes(),
                );
                req.extend_from_slice(&b);
            }
            Body::Stream(..) => return Ok(None),
        }
        Ok(Some(req))
    }

    /// The request head up to (not including) the body's headers.
    fn head(&self, method: &str, path: &str, keep_alive: bool) -> String {
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nHost: api.moby.localhost\r\nUser-Agent: berth-cli\r\n"
        );
        if !keep_alive {
            head.push_str("Connection: close\r\n");
        }
        for (k, v) in &self.extra {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head
    }

    /// `req` (a whole request, `request_bytes`) on a kept-alive unix connection: the idle one when
    /// there is one (a new one if it was closed before answering), back to idle when the
    /// answer is Content-Length framed and read whole.
    fn raw_pooled(&self, req: &[u8], method: &str, path: &str) -> Result<Response> {
        let (stream, mut reader) = self.exchange(req, method, path)?;
        let (status, headers) = read_head(&mut reader)?;
        let header = |n: &str| find_header(&headers, n);
        let length = header("Content-Length").and_then(|v| v.parse::<u64>().ok());
        let closing = header("Connection").is_some_and(|v| v.eq_ignore_ascii_case("close"));
        let chunked = header("Transfer-Encoding").is_some();
        // 204 and 304 have no body; other answers are whole when Content-Length says so.
        let whole = match length {
            _ if status == 204 || status == 304 => Some(0),
            Some(n) if n <= POOLED_BODY_MAX && !chunked && status != 101 => Some(n),
            _ => None,
        };
        match whole {
            Some(n) => {
                let mut b = Vec::with_capacity(n as usize);
                (&mut reader).take(n).read_to_end(&mut b)?;
                if b.len() as u64 == n && !closing && reader.buffer().is_empty() {
                    if let Ok(mut idle) = self.idle.lock() {
                        *idle = Some(Idle {
                            stream,
                            since: Instant::now(),
                        });
                    }
                }
                Ok(Response {
                    status,
                    headers,
                    body: Box::new(io::Cursor::new(b)),
                })
            }
            None => Ok(Response {
                body: body_reader(reader, &headers, status)?,
                status,
                headers,
            }),
        }
    }

    /// A request on a connection of its own: `req` when the body is in memory, else the
    /// streamed body sent chunked.
    fn raw_inner(
        &self,
        method: &str,
        path: &str,
        body: &mut Body,
        req: Option<&[u8]>,
    ) -> Result<Response> {
        let mut s = self.connect(method, path)?;
        if let Some(req) = req {
            s.write_all(req)?;
        } else if let Body::Stream(r, ctype) = body {
            let mut head = self.head(method, path, false);
            head.push_str(&format!(
                "Content-Type: {ctype}\r\nTransfer-Encoding: chunked\r\n\r\n"
            ));
            s.write_all(head.as_bytes())?;
            let mut buf = vec![0u8; 64 * 1024];
            let sent = (|| -> io::Result<()> {
                loop {
                    let n = r.read(&mut buf)?;
                    if n == 0 {
                        break;
                    }
                    s.write_all(format!("{n:x}\r\n").as_bytes())?;
                    s.write_all(&buf[..n])?;
                    s.write_all(b"\r\n")?;
                }
                s.write_all(b"0\r\n\r\n")
            })();
            if let Err(e) = sent {
                // The daemon may answer (an error) before reading the whole body and
                // close: its answer says more than the broken pipe.
                let mut reader = BufReader::new(s);
                return match read_head(&mut reader) {
                    Ok((status, headers)) => Ok(Response {
                        body: body_reader(reader, &headers, status)?,
                        status,
                        headers,
                    }),
                    Err(_) => Err(e.into()),
                };
            }
        }
        let mut reader = BufReader::new(s);
        let (status, headers) = read_head(&mut reader)?;
        let body = if method == "HEAD" {
            Box::new(io::empty()) as Box<dyn Read + Send>
        } else {
            body_reader(reader, &headers, status)?
        };
        Ok(Response {
            status,
            headers,
            body,
        })
    }
}

fn parse_version(s: &str) -> Option<(u32, u32)> {
    let (a, b) = s.trim().split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}

fn check(resp: Response) -> Result<Response> {
    // As docker's client: 3xx is not an error (304: already started/stopped).
    if (200..400).contains(&resp.status) {
        return Ok(resp);
    }
    let status = resp.status;
    let b = resp.bytes()?;
    let message = serde_json::from_slice::<serde_json::Value>(&b)
        .ok()
        .and_then(|v| v.get("message").and_then(|m| m.as_str()).map(String::from))
        .unwrap_or_else(|| String::from_utf8_lossy(&b).trim().to_string());
    Err(ClientError::Daemon { status, message })
}

fn read_head<R: BufRead>(r: &mut R) -> Result<(u16, Vec<(String, String)>)> {
    let mut line = String::new();
    r.read_line(&mut line)?;
    let status = line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| ClientError::Protocol(format!("bad status line: {line:?}")))?;
    let mut headers = Vec::new();
    loop {
        let mut h = String::new();
        if r.read_line(&mut h)? == 0 {
            break;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    Ok((status, headers))
}

/// A header's value (names compare case-insensitively).
fn find_header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

fn body_reader<R: BufRead + Send + 'static>(
    r: R,
    headers: &[(String, String)],
    status: u16,
) -> Result<Box<dyn Read + Send>> {
    let get = |n: &str| find_header(headers, n);
    if status == 204 || status == 304 {
        return Ok(Box::new(io::empty()));
    }
    if get("Transfer-Encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        return Ok(Box::new(Chunked {
            inner: r,
            remaining: 0,
            done: false,
        }));
    }
    if let Some(n) = get("Content-Length").and_then(|v| v.parse::<u64>().ok()) {
        return Ok(Box::new(r.take(n)));
    }
    Ok(Box::new(r))
}

/// Decodes a chunked transfer-encoded body as it arrives (logs -f, events).
struct Chunked<R: BufRead> {
    inner: R,
    remaining: usize,
    done: bool,
}

impl<R: BufRead> Read for Chunked<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        if self.remaining == 0 {
            let mut line = String::new();
            if self.inner.read_line(&mut line)? == 0 {
                self.done = true;
                return Ok(0);
            }
            let size_s = line.trim().split(';').next().unwrap_or("");
            let size = usize::from_str_radix(size_s, 16)
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidData, "bad chunk size"))?;
            if size == 0 {
                self.done = true;
                return Ok(0);
            }
            self.remaining = size;
        }
        let n = buf.len().min(self.remaining);
        let got = self.inner.read(&mut buf[..n])?;
        if got == 0 {
            self.done = true;
            return Ok(0);
        }
        self.remaining -= got;
        if self.remaining == 0 {
            let mut crlf = String::new();
            self.inner.read_line(&mut crlf)?;
        }
        Ok(got)
    }
}

/// Checks one `--filter` value while flags are parsed, as docker's FilterOpt does.
pub fn parse_filter(s: &str) -> std::result::Result<String, String> {
    if s.contains('=') {
        Ok(s.to_string())
    } else {
        Err("bad format of filter (expected name=value)".to_string())
    }
}

/// Builds docker's `filters` query value: {"key":{"value":true}}.
pub fn filters_json(filters: &[String]) -> std::result::Result<Option<String>, String> {
    let mut m: std::collections::BTreeMap<String, serde_json::Map<String, serde_json::Value>> =
        Default::default();
    for f in filters {
        let (k, v) = f
            .split_once('=')
            .ok_or_else(|| "bad format of filter (expected name=value)".to_string())?;
        m.entry(k.trim().to_lowercase())
            .or_default()
            .insert(v.to_string(), serde_json::Value::Bool(true));
    }
    if m.is_empty() {
        return Ok(None);
    }
    serde_json::to_string(&m)
        .map(Some)
        .map_err(|e| e.to_string())
}

/// Percent-encodes a query component.
pub fn q(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

/// A query string from `key=value` pairs (already encoded): "" without any, else "?a&b".
pub fn query<S: AsRef<str>>(params: &[S]) -> String {
    if params.is_empty() {
        return String::new();
    }
    let parts: Vec<&str> = params.iter().map(AsRef::as_ref).collect();
    format!("?{}", parts.join("&"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunked_decoding() {
        let data = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
        let mut c = Chunked {
            inner: io::Cursor::new(&data[..]),
            remaining: 0,
            done: false,
        };
        let mut s = String::new();
        c.read_to_string(&mut s).ok();
        assert_eq!(s, "hello world");
    }

    /// A daemon stand-in on a unix socket: answers each request by its path (`/chunked`:
    /// chunked, `/none`: 204, else "OK" with Content-Length); with `close_each` it closes
    /// every connection after one answer, without saying so. Returns the accept count.
    fn fake_daemon(
        close_each: bool,
    ) -> (
        tempfile::TempDir,
        String,
        Arc<std::sync::atomic::AtomicUsize>,
    ) {
        use std::os::unix::net::UnixListener;
        use std::sync::atomic::{AtomicUsize, Ordering};
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sock");
        let listener = UnixListener::bind(&path).unwrap();
        let accepts = Arc::new(AtomicUsize::new(0));
        let counter = accepts.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                counter.fetch_add(1, Ordering::SeqCst);
                std::thread::spawn(move || {
                    let mut r = BufReader::new(conn.try_clone().unwrap());
                    let mut w = conn;
                    loop {
                        let (mut line, mut length) = (String::new(), 0usize);
                        if r.read_line(&mut line).unwrap_or(0) == 0 {
                            return;
                        }
                        let target = line.split_whitespace().nth(1).unwrap_or("").to_string();
                        loop {
                            let mut h = String::new();
                            r.read_line(&mut h).unwrap();
                            if h.trim_end().is_empty() {
                                break;
                            }
                            if let Some(v) = h.to_ascii_lowercase().strip_prefix("content-length:")
                            {
                                length = v.trim().parse().unwrap();
                            }
                        }
                        let mut body = vec![0u8; length];
                        r.read_exact(&mut body).unwrap();
                        let answer = if target.ends_with("/chunked") {
                            "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nOK\r\n0\r\n\r\n"
                        } else if target.ends_with("/none") {
                            "HTTP/1.1 204 No Content\r\n\r\n"
                        } else {
                            "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nOK"
                        };
                        w.write_all(answer.as_bytes()).unwrap();
                        if close_each {
                            return;
                        }
                    }
                });
            }
        });
        let sock = path.display().to_string();
        (dir, sock, accepts)
    }

    fn answer(c: &Client, method: &str, path: &str, body: Body) -> Vec<u8> {
        c.call(method, path, body).unwrap().bytes().unwrap()
    }

    #[test]
    fn one_connection_for_a_commands_requests() {
        use std::sync::atomic::Ordering;
        let (_dir, sock, accepts) = fake_daemon(false);
        let c = Client::unix(&sock);
        assert_eq!(answer(&c, "GET", "/_ping", Body::None), b"OK");
        let json = Body::Json(serde_json::json!({"Cmd": ["true"]}));
        assert_eq!(answer(&c, "POST", "/containers/x/exec", json), b"OK");
        assert_eq!(answer(&c, "POST", "/containers/x/none", Body::None), b"");
        assert_eq!(answer(&c, "GET", "/x/json", Body::None), b"OK");
        assert_eq!(accepts.load(Ordering::SeqCst), 1);
        // A chunked answer (a stream: logs, wait) keeps its connection.
        assert_eq!(answer(&c, "GET", "/x/chunked", Body::None), b"OK");
        assert_eq!(answer(&c, "GET", "/x/json", Body::None), b"OK");
        assert_eq!(accepts.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn a_closed_idle_connection_is_replaced_and_the_request_sent_again() {
        use std::sync::atomic::Ordering;
        let (_dir, sock, accepts) = fake_daemon(true);
        let c = Client::unix(&sock);
        for _ in 0..3 {
            let json = Body::Json(serde_json::json!({}));
            assert_eq!(answer(&c, "POST", "/containers/create", json), b"OK");
        }
        assert_eq!(accepts.load(Ordering::SeqCst), 3);
        // The hijack takes the idle connection the same way.
        let (_s, leftover) = c
            .hijack_json("/exec/x/start", &serde_json::json!({}))
            .unwrap();
        assert_eq!(leftover, b"OK");
        assert_eq!(accepts.load(Ordering::SeqCst), 4);
    }

    #[test]
    fn filters() {
        let f = filters_json(&["name=x".into(), "status=exited".into()]);
        assert_eq!(
            f,
            Ok(Some(
                r#"{"name":{"x":true},"status":{"exited":true}}"#.into()
            ))
        );
        assert_eq!(filters_json(&[]), Ok(None));
    }
}
