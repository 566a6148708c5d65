//! A minimal, synchronous D-Bus client for the calls the systemd cgroup driver makes to
//! systemd's manager: `StartTransientUnit`, `SetUnitProperties`, `StopUnit`,
//! `ResetFailedUnit`. (A scope's `Result` is no OOM signal: on systemd 252 an OOM-killed
//! scope ends `success`; the shim reads the kernel's counters, `crate::oom`.)
//!
//! Hand-written rather than a crate: it runs in the shim, which must stay single-threaded
//! and small (zbus brings an executor and threads), and libcgroups' native client leaks its
//! socket (never closed, not close-on-exec), which the daemon cannot afford on every
//! `update`. The wire format is the D-Bus specification's, little-endian only (systemd
//! answers in the host's byte order; berth runs on little-endian hosts).
//!
//! Connection: the system bus (`DBUS_SYSTEM_BUS_ADDRESS`, else
//! /run/dbus/system_bus_socket; AUTH EXTERNAL, then `Hello`), or systemd's private socket
//! /run/systemd/private when there is no bus (root only; no `Hello` there), as runc does.

use std::io::{self, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::Duration;

const SYSTEM_BUS: &str = "/run/dbus/system_bus_socket";
const SYSTEMD_PRIVATE: &str = "/run/systemd/private";
const SYSTEMD_DEST: &str = "org.freedesktop.systemd1";
const SYSTEMD_PATH: &str = "/org/freedesktop/systemd1";
const MANAGER: &str = "org.freedesktop.systemd1.Manager";
/// How long one call may wait for its reply (systemd answers in milliseconds).
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

#[derive(Debug, thiserror::Error)]
pub enum DbusError {
    #[error("{0}")]
    Io(#[from] io::Error),
    /// An error reply: its D-Bus error name and message.
    #[error("{name}: {message}")]
    Call { name: String, message: String },
    #[error("D-Bus protocol error: {0}")]
    Protocol(String),
}

impl DbusError {
    /// The error reply's D-Bus name (`org.freedesktop.systemd1.UnitExists`, ...), if any.
    pub fn call_name(&self) -> Option<&str> {
        match self {
            DbusError::Call { name, .. } => Some(name),
            _ => None,
        }
    }
}

/// A value of a unit property (the `v` of systemd's `a(sv)` property arrays).
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Bool(bool),
    U64(u64),
    Str(String),
    /// `au` (PIDs).
    U32s(Vec<u32>),
    /// `ay` (AllowedCPUs, AllowedMemoryNodes bit masks).
    Bytes(Vec<u8>),
    /// `a(st)` (IOReadBandwidthMax and friends: device path, value).
    PathU64s(Vec<(String, u64)>),
}

impl Value {
    fn signature(&self) -> &'static str {
        match self {
            Value::Bool(_) => "b",
            Value::U64(_) => "t",
            Value::Str(_) => "s",
            Value::U32s(_) => "au",
            Value::Bytes(_) => "ay",
            Value::PathU64s(_) => "a(st)",
        }
    }
}

/// One argument of a method call.
#[derive(Debug, Clone)]
pub enum Arg<'a> {
    Str(&'a str),
    Bool(bool),
    /// `a(sv)`: unit properties.
    Props(&'a [(&'a str, Value)]),
    /// `a(sa(sv))`: auxiliary units (always empty here).
    NoAux,
}

impl Arg<'_> {
    fn signature(&self) -> &'static str {
        match self {
            Arg::Str(_) => "s",
            Arg::Bool(_) => "b",
            Arg::Props(_) => "a(sv)",
            Arg::NoAux => "a(sa(sv))",
        }
    }
}

/// Little-endian marshalling with D-Bus alignment (relative to the message start).
#[derive(Default)]
struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    fn pad(&mut self, align: usize) {
        while !self.buf.len().is_multiple_of(align) {
            self.buf.push(0);
        }
    }
    fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }
    fn u32(&mut self, v: u32) {
        self.pad(4);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn u64(&mut self, v: u64) {
        self.pad(8);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    fn str(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
    }
    fn sig(&mut self, s: &str) {
        self.u8(s.len() as u8);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
    }
    /// An array: its length (u32), padding to the elements' alignment, the elements; the
    /// length counts the elements' bytes only.
    fn array(&mut self, elem_align: usize, body: impl FnOnce(&mut Writer)) {
        self.pad(4);
        let len_at = self.buf.len();
        self.buf.extend_from_slice(&[0; 4]);
        self.pad(elem_align);
        let start = self.buf.len();
        body(self);
        let len = (self.buf.len() - start) as u32;
        self.buf[len_at..len_at + 4].copy_from_slice(&len.to_le_bytes());
    }
    fn value(&mut self, v: &Value) {
        match v {
            Value::Bool(b) => self.u32(u32::from(*b)),
            Value::U64(n) => self.u64(*n),
            Value::Str(s) => self.str(s),
            Value::U32s(list) => self.array(4, |w| list.iter().for_each(|n| w.u32(*n))),
            Value::Bytes(list) => self.array(1, |w| list.iter().for_each(|b| w.u8(*b))),
            Value::PathU64s(list) => self.array(8, |w| {
                for (path, n) in list {
                    w.pad(8);
                    w.str(path);
                    w.u64(*n);
                }
            }),
        }
    }
    fn arg(&mut self, a: &Arg) {
        match a {
            Arg::Str(s) => self.str(s),
            Arg::Bool(b) => self.u32(u32::from(*b)),
            Arg::Props(props) => self.array(8, |w| {
                for (name, v) in props.iter() {
                    w.pad(8);
                    w.str(name);
                    w.sig(v.signature());
                    w.value(v);
                }
            }),
            Arg::NoAux => self.array(8, |_| {}),
        }
    }
}

/// A method call message: header fields and body, ready to send.
fn method_call(
    serial: u32,
    dest: &str,
    path: &str,
    iface: &str,
    member: &str,
    args: &[Arg],
) -> Vec<u8> {
    let mut body = Writer::default();
    for a in args {
        body.arg(a);
    }
    let signature: String = args.iter().map(Arg::signature).collect();
    let mut w = Writer::default();
    w.u8(b'l');
    w.u8(1); // METHOD_CALL
    w.u8(0);
    w.u8(1); // protocol version
    w.u32(body.buf.len() as u32);
    w.u32(serial);
    w.array(8, |w| {
        let field = |w: &mut Writer, code: u8, sig: &str, val: &str| {
            w.pad(8);
            w.u8(code);
            w.sig(sig);
            if sig == "g" {
                w.sig(val);
            } else {
                w.str(val);
            }
        };
        field(w, 1, "o", path);
        field(w, 2, "s", iface);
        field(w, 3, "s", member);
        field(w, 6, "s", dest);
        if !signature.is_empty() {
            field(w, 8, "g", &signature);
        }
    });
    w.pad(8);
    w.buf.extend_from_slice(&body.buf);
    w.buf
}

/// What a received message says about the call it answers.
#[derive(Debug, PartialEq)]
struct Reply {
    kind: u8,
    reply_serial: Option<u32>,
    error_name: Option<String>,
    /// The first string argument (an error's message).
    first_string: Option<String>,
}

/// Little-endian reading with D-Bus alignment.
struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn bad(what: &str) -> DbusError {
        DbusError::Protocol(format!("truncated or malformed message ({what})"))
    }
    fn align(&mut self, n: usize) {
        self.pos = self.pos.div_ceil(n) * n;
    }
    fn u8(&mut self) -> Result<u8, DbusError> {
        let v = *self.buf.get(self.pos).ok_or_else(|| Self::bad("byte"))?;
        self.pos += 1;
        Ok(v)
    }
    fn u32(&mut self) -> Result<u32, DbusError> {
        self.align(4);
        let b = self
            .buf
            .get(self.pos..self.pos + 4)
            .ok_or_else(|| Self::bad("u32"))?;
        self.pos += 4;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    fn str(&mut self) -> Result<String, DbusError> {
        let len = self.u32()? as usize;
        let b = self
            .buf
            .get(self.pos..self.pos + len)
            .ok_or_else(|| Self::bad("string"))?;
        self.pos += len + 1;
        Ok(String::from_utf8_lossy(b).into_owned())
    }
    fn sig(&mut self) -> Result<String, DbusError> {
        let len = usize::from(self.u8()?);
        let b = self
            .buf
            .get(self.pos..self.pos + len)
            .ok_or_else(|| Self::bad("signature"))?;
        self.pos += len + 1;
        Ok(String::from_utf8_lossy(b).into_owned())
    }
}

/// Parses a whole message (header and body).
fn parse_reply(msg: &[u8]) -> Result<Reply, DbusError> {
    if msg.first() != Some(&b'l') {
        return Err(DbusError::Protocol(
            "big-endian messages are not supported".into(),
        ));
    }
    let mut r = Reader { buf: msg, pos: 1 };
    let kind = r.u8()?;
    r.pos = 12;
    let fields_len = r.u32()? as usize;
    let fields_end = 16 + fields_len;
    let mut reply = Reply {
        kind,
        reply_serial: None,
        error_name: None,
        first_string: None,
    };
    let mut signature = String::new();
    while r.pos < fields_end {
        r.align(8);
        if r.pos >= fields_end {
            break;
        }
        let code = r.u8()?;
        let sig = r.sig()?;
        match (code, sig.as_str()) {
            (4, "s") => reply.error_name = Some(r.str()?),
            (5, "u") => reply.reply_serial = Some(r.u32()?),
            (8, "g") => signature = r.sig()?,
            (_, "s") | (_, "o") => {
                r.str()?;
            }
            (_, "g") => {
                r.sig()?;
            }
            (_, "u") => {
                r.u32()?;
            }
            (_, other) => {
                return Err(DbusError::Protocol(format!(
                    "unexpected header field type {other}"
                )))
            }
        }
    }
    r.pos = fields_end;
    r.align(8);
    // The first argument when it is a string or an object path (an error's message,
    // GetUnit's path), or a variant holding one (Properties.Get of a string property).
    if signature.starts_with('s') || signature.starts_with('o') {
        reply.first_string = Some(r.str()?);
    } else if signature == "v" {
        let inner = r.sig()?;
        if inner == "s" || inner == "o" {
            reply.first_string = Some(r.str()?);
        }
    }
    Ok(reply)
}

/// A connection to systemd's manager.
pub struct Systemd {
    stream: UnixStream,
    serial: u32,
}

/// Whether systemd is the init system (runc's and sd_booted()'s check).
pub fn systemd_booted() -> bool {
    Path::new("/run/systemd/system").is_dir()
}

/// The system bus socket path from `DBUS_SYSTEM_BUS_ADDRESS` (`unix:path=...`), else the
/// well-known one.
fn system_bus_path() -> PathBuf {
    std::env::var("DBUS_SYSTEM_BUS_ADDRESS")
        .ok()
        .and_then(|a| unix_path_of(&a))
        .unwrap_or_else(|| PathBuf::from(SYSTEM_BUS))
}

/// The first `unix:path=` of a D-Bus address list.
fn unix_path_of(address: &str) -> Option<PathBuf> {
    address.split(';').find_map(|one| {
        one.strip_prefix("unix:")?
            .split(',')
            .find_map(|kv| kv.strip_prefix("path=").map(PathBuf::from))
    })
}

impl Systemd {
    /// Connects and authenticates (AUTH EXTERNAL as our uid).
    pub fn connect() -> Result<Systemd, DbusError> {
        match Self::open(&system_bus_path(), true) {
            Ok(c) => Ok(c),
            Err(bus_err) => {
                if Path::new(SYSTEMD_PRIVATE).exists() {
                    Self::open(Path::new(SYSTEMD_PRIVATE), false).map_err(|e| {
                        DbusError::Protocol(format!(
                            "cannot reach systemd: system bus: {bus_err}; {SYSTEMD_PRIVATE}: {e}"
                        ))
                    })
                } else {
                    Err(bus_err)
                }
            }
        }
    }

    fn open(path: &Path, bus: bool) -> Result<Systemd, DbusError> {
        let stream = UnixStream::connect(path).map_err(|e| {
            DbusError::Io(io::Error::new(
                e.kind(),
                format!("connect {}: {e}", path.display()),
            ))
        })?;
        stream.set_read_timeout(Some(CALL_TIMEOUT))?;
        stream.set_write_timeout(Some(CALL_TIMEOUT))?;
        let mut c = Systemd { stream, serial: 0 };
        let uid = nix::unistd::getuid().as_raw().to_string();
        let hex: String = uid.bytes().map(|b| format!("{b:02x}")).collect();
        c.stream
            .write_all(format!("\0AUTH EXTERNAL {hex}\r\n").as_bytes())?;
        let line = c.read_line()?;
        if !line.starts_with("OK ") {
            return Err(DbusError::Protocol(format!(
                "authentication refused: {line}"
            )));
        }
        c.stream.write_all(b"BEGIN\r\n")?;
        if bus {
            c.call(
                "org.freedesktop.DBus",
                "/org/freedesktop/DBus",
                "org.freedesktop.DBus",
                "Hello",
                &[],
            )?;
        }
        Ok(c)
    }

    fn read_line(&mut self) -> Result<String, DbusError> {
        let mut line = Vec::new();
        let mut b = [0u8; 1];
        while !line.ends_with(b"\r\n") {
            if line.len() > 4096 {
                return Err(DbusError::Protocol("authentication line too long".into()));
            }
            self.stream.read_exact(&mut b)?;
            line.push(b[0]);
        }
        Ok(String::from_utf8_lossy(&line).trim_end().to_string())
    }

    fn read_message(&mut self) -> Result<Vec<u8>, DbusError> {
        let mut head = [0u8; 16];
        self.stream.read_exact(&mut head)?;
        if head[0] != b'l' {
            return Err(DbusError::Protocol(
                "big-endian messages are not supported".into(),
            ));
        }
        let body_len = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
        let fields_len = u32::from_le_bytes([head[12], head[13], head[14], head[15]]) as usize;
        let total = (16 + fields_len).div_ceil(8) * 8 + body_len;
        if total > 64 << 20 {
            return Err(DbusError::Protocol("message too large".into()));
        }
        let mut msg = head.to_vec();
        msg.resize(total, 0);
        self.stream.read_exact(&mut msg[16..])?;
        Ok(msg)
    }

    /// Sends a method call and waits for its reply, skipping signals and other traffic.
    /// Returns the reply's first argument when it is a string (see `parse_reply`).
    fn call(
        &mut self,
        dest: &str,
        path: &str,
        iface: &str,
        member: &str,
        args: &[Arg],
    ) -> Result<Option<String>, DbusError> {
        self.serial += 1;
        let serial = self.serial;
        let msg = method_call(serial, dest, path, iface, member, args);
        self.stream.write_all(&msg)?;
        loop {
            let reply = parse_reply(&self.read_message()?)?;
            if reply.reply_serial != Some(serial) {
                continue;
            }
            return match reply.kind {
                2 => Ok(reply.first_string),
                3 => Err(DbusError::Call {
                    name: reply.error_name.unwrap_or_default(),
                    message: reply.first_string.unwrap_or_default(),
                }),
                k => Err(DbusError::Protocol(format!(
                    "unexpected message type {k} in reply"
                ))),
            };
        }
    }

    fn manager(&mut self, member: &str, args: &[Arg]) -> Result<(), DbusError> {
        self.call(SYSTEMD_DEST, SYSTEMD_PATH, MANAGER, member, args)
            .map(|_| ())
    }

    /// Creates and starts a transient unit (mode "replace") with these properties. The
    /// start job runs after the call returns: wait for its effect (a scope's PIDs in its
    /// cgroup) before relying on it.
    pub fn start_transient_unit(
        &mut self,
        name: &str,
        props: &[(&str, Value)],
    ) -> Result<(), DbusError> {
        self.manager(
            "StartTransientUnit",
            &[
                Arg::Str(name),
                Arg::Str("replace"),
                Arg::Props(props),
                Arg::NoAux,
            ],
        )
    }

    /// Resets a unit's "failed" state, so systemd unloads a failed unit it keeps around
    /// (a scope whose processes all died stays loaded as failed until then).
    pub fn reset_failed_unit(&mut self, name: &str) -> Result<(), DbusError> {
        self.manager("ResetFailedUnit", &[Arg::Str(name)])
    }

    /// Changes properties of a running unit (runtime only: nothing written to /etc).
    pub fn set_unit_properties(
        &mut self,
        name: &str,
        props: &[(&str, Value)],
    ) -> Result<(), DbusError> {
        self.manager(
            "SetUnitProperties",
            &[Arg::Str(name), Arg::Bool(true), Arg::Props(props)],
        )
    }

    /// Stops a unit (mode "replace"); a unit that does not exist (any more) is not an error.
    pub fn stop_unit(&mut self, name: &str) -> Result<(), DbusError> {
        match self.manager("StopUnit", &[Arg::Str(name), Arg::Str("replace")]) {
            Err(DbusError::Call { name: err, .. })
                if err == "org.freedesktop.systemd1.NoSuchUnit" =>
            {
                Ok(())
            }
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn method_call_layout_matches_the_specification() {
        let msg = method_call(
            7,
            SYSTEMD_DEST,
            SYSTEMD_PATH,
            MANAGER,
            "StopUnit",
            &[Arg::Str("a.scope"), Arg::Str("replace")],
        );
        assert_eq!(&msg[..4], b"l\x01\x00\x01");
        let body_len = u32::from_le_bytes([msg[4], msg[5], msg[6], msg[7]]) as usize;
        // "a.scope": 4 + 7 + 1 = 12, "replace": 4 + 7 + 1 = 12.
        assert_eq!(body_len, 24);
        assert_eq!(u32::from_le_bytes([msg[8], msg[9], msg[10], msg[11]]), 7);
        let fields_len = u32::from_le_bytes([msg[12], msg[13], msg[14], msg[15]]) as usize;
        let body_at = (16 + fields_len).div_ceil(8) * 8;
        assert_eq!(msg.len(), body_at + body_len);
        assert_eq!(&msg[body_at..body_at + 4], &7u32.to_le_bytes());
        assert_eq!(&msg[body_at + 4..body_at + 12], b"a.scope\0");
        // The header carries the signature "ss".
        let text = String::from_utf8_lossy(&msg[..body_at]);
        assert!(text.contains("StopUnit") && text.contains("ss"), "{text}");
    }

    #[test]
    fn properties_are_aligned_structs_with_variants() {
        let props = [
            ("Delegate", Value::Bool(true)),
            ("MemoryMax", Value::U64(1 << 20)),
            ("PIDs", Value::U32s(vec![42])),
        ];
        let mut w = Writer::default();
        w.arg(&Arg::Props(&props));
        let b = &w.buf;
        // Array length, then (8-aligned) the first struct: "Delegate", "b", true.
        let len = u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize;
        assert_eq!(b.len(), 8 + len);
        assert_eq!(&b[8..12], &8u32.to_le_bytes());
        assert_eq!(&b[12..21], b"Delegate\0");
        assert_eq!(&b[21..24], b"\x01b\0");
        assert_eq!(&b[24..28], &1u32.to_le_bytes());
        // Second struct at 32 (8-aligned): "MemoryMax", "t", then the u64 8-aligned.
        assert_eq!(&b[32..36], &9u32.to_le_bytes());
        assert_eq!(&b[36..46], b"MemoryMax\0");
        assert_eq!(&b[46..49], b"\x01t\0");
        assert_eq!(&b[56..64], &(1u64 << 20).to_le_bytes());
        // Third: "PIDs", "au", [42].
        assert_eq!(&b[64..68], &4u32.to_le_bytes());
        assert_eq!(&b[68..73], b"PIDs\0");
        assert_eq!(&b[73..77], b"\x02au\0");
        assert_eq!(&b[80..84], &4u32.to_le_bytes());
        assert_eq!(&b[84..88], &42u32.to_le_bytes());
    }

    #[test]
    fn struct_arrays_and_byte_arrays_marshal() {
        let mut w = Writer::default();
        w.value(&Value::PathU64s(vec![("/dev/vda".into(), 1024)]));
        let b = &w.buf;
        assert_eq!(u32::from_le_bytes([b[0], b[1], b[2], b[3]]), 24);
        assert_eq!(&b[8..12], &8u32.to_le_bytes());
        assert_eq!(&b[12..21], b"/dev/vda\0");
        assert_eq!(&b[24..32], &1024u64.to_le_bytes());
        let mut w = Writer::default();
        w.value(&Value::Bytes(vec![0b11]));
        assert_eq!(w.buf, [1, 0, 0, 0, 3]);
    }

    #[test]
    fn error_replies_are_parsed() {
        // An error reply built with the same writer: type 3, ERROR_NAME, REPLY_SERIAL,
        // SIGNATURE "s", body one string.
        let mut body = Writer::default();
        body.str("Unit x.scope not loaded.");
        let msg = reply_message(3, Some("org.freedesktop.systemd1.NoSuchUnit"), "s", &body);
        let r = parse_reply(&msg).expect("parse");
        assert_eq!(
            r,
            Reply {
                kind: 3,
                reply_serial: Some(7),
                error_name: Some("org.freedesktop.systemd1.NoSuchUnit".into()),
                first_string: Some("Unit x.scope not loaded.".into()),
            }
        );
        assert!(parse_reply(&msg[..20]).is_err());
        assert!(parse_reply(b"B\x02").is_err());
    }

    /// A reply to serial 7 of this type (2: method return, 3: error, then with its error
    /// name), built with the same writer, with this signature and body.
    fn reply_message(
        kind: u8,
        error_name: Option<&str>,
        signature: &str,
        body: &Writer,
    ) -> Vec<u8> {
        let mut w = Writer::default();
        w.u8(b'l');
        w.u8(kind);
        w.u8(1);
        w.u8(1);
        w.u32(body.buf.len() as u32);
        w.u32(99);
        w.array(8, |w| {
            if let Some(name) = error_name {
                w.pad(8);
                w.u8(4);
                w.sig("s");
                w.str(name);
            }
            w.pad(8);
            w.u8(5);
            w.sig("u");
            w.u32(7);
            w.pad(8);
            w.u8(8);
            w.sig("g");
            w.sig(signature);
        });
        w.pad(8);
        w.buf.extend_from_slice(&body.buf);
        w.buf
    }

    #[test]
    fn object_paths_and_string_variants_are_read() {
        // GetUnit's answer: an object path.
        let mut body = Writer::default();
        body.str("/org/freedesktop/systemd1/unit/berth_2dabc_2escope");
        let r = parse_reply(&reply_message(2, None, "o", &body)).expect("parse");
        assert_eq!((r.kind, r.reply_serial), (2, Some(7)));
        assert_eq!(
            r.first_string.as_deref(),
            Some("/org/freedesktop/systemd1/unit/berth_2dabc_2escope")
        );
        // Properties.Get of a scope's Result: a variant holding a string.
        let mut body = Writer::default();
        body.sig("s");
        body.str("oom-kill");
        let r = parse_reply(&reply_message(2, None, "v", &body)).expect("parse");
        assert_eq!(r.first_string.as_deref(), Some("oom-kill"));
        // A variant of another type is not taken for a string.
        let mut body = Writer::default();
        body.sig("t");
        body.u64(3);
        let r = parse_reply(&reply_message(2, None, "v", &body)).expect("parse");
        assert_eq!(r.first_string, None);
    }

    #[test]
    fn bus_address_unix_path() {
        assert_eq!(
            unix_path_of("unix:path=/run/x/bus,guid=1"),
            Some(PathBuf::from("/run/x/bus"))
        );
        assert_eq!(
            unix_path_of("tcp:host=a;unix:path=/b"),
            Some(PathBuf::from("/b"))
        );
        assert_eq!(unix_path_of("tcp:host=a"), None);
    }
}
