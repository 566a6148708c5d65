//! The `journald` log driver: each line is one journal entry sent over the journal's native
//! protocol (a datagram of `KEY=value` fields to /run/systemd/journal/socket), with
//! MESSAGE, PRIORITY (6 stdout, 3 stderr) and the container's fields (CONTAINER_ID,
//! CONTAINER_ID_FULL, CONTAINER_NAME, CONTAINER_TAG, IMAGE_NAME, SYSLOG_IDENTIFIER, extra
//! attributes); pieces of a split line carry moby's CONTAINER_PARTIAL_* fields. `logs`
//! reads the entries back through `journalctl -o json` matched on CONTAINER_ID_FULL, as
//! dockerd reads them through sd-journal.
//!
//! `BERTH_JOURNAL_SOCKET` (the shim's environment, from the daemon's) names another socket:
//! tests use a socket of their own where the host has no journald.

use crate::logfile::{LogEntry, ReadOptions, Stream};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::io::{self, BufRead, BufReader};
use std::os::unix::net::UnixDatagram;
use std::process::{Child, ChildStdout, Command, Stdio};

pub const JOURNAL_SOCKET: &str = "/run/systemd/journal/socket";

fn socket_path() -> String {
    std::env::var("BERTH_JOURNAL_SOCKET").unwrap_or_else(|_| JOURNAL_SOCKET.to_string())
}

/// Appends one field in the native protocol: `KEY=value\n`, or for a value with a newline
/// `KEY\n<u64 LE length><value>\n`.
pub fn push_field(out: &mut Vec<u8>, key: &str, value: &[u8]) {
    out.extend_from_slice(key.as_bytes());
    if value.contains(&b'\n') {
        out.push(b'\n');
        out.extend_from_slice(&(value.len() as u64).to_le_bytes());
    } else {
        out.push(b'=');
    }
    out.extend_from_slice(value);
    out.push(b'\n');
}

/// A sender with the container's fields.
pub struct JournalWriter {
    sock: UnixDatagram,
    fields: Vec<u8>,
    buf: Vec<u8>,
}

impl JournalWriter {
    /// Connects now: a host without journald fails the start, as with dockerd ("journald
    /// is not enabled on this host").
    pub fn open(fields: &BTreeMap<String, String>) -> io::Result<JournalWriter> {
        let path = socket_path();
        let sock = UnixDatagram::unbound()?;
        sock.connect(&path).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("failed to initialize logging driver: journald is not enabled on this host ({path}: {e})"),
            )
        })?;
        let mut pre = Vec::new();
        for (k, v) in fields {
            push_field(&mut pre, k, v.as_bytes());
        }
        Ok(JournalWriter {
            sock,
            fields: pre,
            buf: Vec::new(),
        })
    }

    /// Sends one line (without its newline); `partial`: (id, ordinal, last) of a piece.
    pub fn send(
        &mut self,
        stream: Stream,
        line: &[u8],
        partial: Option<(&str, i32, bool)>,
    ) -> io::Result<()> {
        self.buf.clear();
        push_field(&mut self.buf, "MESSAGE", line);
        let prio: &[u8] = match stream {
            Stream::Stdout => b"6",
            Stream::Stderr => b"3",
        };
        push_field(&mut self.buf, "PRIORITY", prio);
        self.buf.extend_from_slice(&self.fields);
        if let Some((id, ordinal, last)) = partial {
            push_field(&mut self.buf, "CONTAINER_PARTIAL_ID", id.as_bytes());
            push_field(
                &mut self.buf,
                "CONTAINER_PARTIAL_ORDINAL",
                ordinal.to_string().as_bytes(),
            );
            push_field(
                &mut self.buf,
                "CONTAINER_PARTIAL_LAST",
                if last { b"true" } else { b"false" },
            );
            if !last {
                push_field(&mut self.buf, "CONTAINER_PARTIAL_MESSAGE", b"true");
            }
        }
        self.sock.send(&self.buf).map(|_| ())
    }
}

/// One `journalctl -o json` line as a log entry. MESSAGE is a string, or an array of
/// bytes when it is not UTF-8.
fn parse_json_entry(line: &str) -> Option<LogEntry> {
    let v: serde_json::Value = serde_json::from_str(line).ok()?;
    let mut msg: Vec<u8> = match &v["MESSAGE"] {
        serde_json::Value::String(s) => s.clone().into_bytes(),
        serde_json::Value::Array(a) => a
            .iter()
            .filter_map(|b| b.as_u64().map(|b| b as u8))
            .collect(),
        _ => Vec::new(),
    };
    let stream = if v["PRIORITY"].as_str() == Some("3") {
        Stream::Stderr
    } else {
        Stream::Stdout
    };
    let micros: i64 = v["__REALTIME_TIMESTAMP"].as_str()?.parse().ok()?;
    if v["CONTAINER_PARTIAL_MESSAGE"].as_str() != Some("true") {
        msg.push(b'\n');
    }
    Some(LogEntry {
        stream,
        time: DateTime::<Utc>::from_timestamp_micros(micros)?,
        line: msg,
    })
}

fn journalctl(id: &str, o: &ReadOptions, follow: bool) -> Command {
    let mut c = Command::new("journalctl");
    c.args(["--no-pager", "--all", "-o", "json"]);
    c.arg("--output-fields=MESSAGE,PRIORITY,CONTAINER_PARTIAL_MESSAGE");
    if let Some(s) = o.since {
        c.arg(format!("--since=@{}", s.timestamp()));
    }
    if let Some(u) = o.until {
        c.arg(format!("--until=@{}", u.timestamp() + 1));
    }
    if let Some(n) = o.tail {
        c.arg(format!("--lines={n}"));
    }
    if follow {
        c.arg("--follow");
    }
    c.arg(format!("CONTAINER_ID_FULL={id}"));
    c.stdin(Stdio::null()).stderr(Stdio::piped());
    c
}

fn keep(e: &LogEntry, o: &ReadOptions) -> bool {
    (match e.stream {
        Stream::Stdout => o.stdout,
        Stream::Stderr => o.stderr,
    }) && o.since.is_none_or(|s| e.time >= s)
        && o.until.is_none_or(|u| e.time <= u)
}

/// The container's entries in the journal (no follow).
pub fn read(id: &str, o: &ReadOptions) -> io::Result<Vec<LogEntry>> {
    let out = journalctl(id, o, false).output().map_err(|e| {
        io::Error::new(
            e.kind(),
            format!("cannot read the journal (journalctl): {e}"),
        )
    })?;
    if !out.status.success() {
        return Err(io::Error::other(format!(
            "journalctl: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        )));
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(parse_json_entry)
        .filter(|e| keep(e, o))
        .collect())
}

/// `logs --follow` from the journal: a `journalctl --follow` child whose lines are the
/// entries; killed when dropped.
pub struct JournalFollower {
    child: Child,
    lines: io::Lines<BufReader<ChildStdout>>,
    opts: ReadOptions,
}

impl JournalFollower {
    pub fn start(id: &str, o: &ReadOptions) -> io::Result<JournalFollower> {
        let mut child = journalctl(id, o, true).stdout(Stdio::piped()).spawn()?;
        let stdout = child
            .stdout
            .take()
            .ok_or_else(|| io::Error::other("journalctl without stdout"))?;
        Ok(JournalFollower {
            child,
            lines: BufReader::new(stdout).lines(),
            opts: o.clone(),
        })
    }

    /// The next entry (blocking); None when journalctl ended.
    pub fn next_entry(&mut self) -> Option<io::Result<LogEntry>> {
        loop {
            match self.lines.next()? {
                Err(e) => return Some(Err(e)),
                Ok(l) => {
                    if let Some(e) = parse_json_entry(&l).filter(|e| keep(e, &self.opts)) {
                        return Some(Ok(e));
                    }
                }
            }
        }
    }

    /// The child's pid, to stop it from another thread (`kill`) when following ends.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for JournalFollower {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_protocol_fields() {
        let mut b = Vec::new();
        push_field(&mut b, "MESSAGE", b"hi");
        push_field(&mut b, "MESSAGE", b"a\nb");
        let mut want = b"MESSAGE=hi\nMESSAGE\n".to_vec();
        want.extend_from_slice(&3u64.to_le_bytes());
        want.extend_from_slice(b"a\nb\n");
        assert_eq!(b, want);
    }

    #[test]
    fn sends_entries_with_the_containers_fields() {
        let dir = tempfile::tempdir().expect("tmp");
        let path = dir.path().join("journal");
        let server = UnixDatagram::bind(&path).expect("bind");
        // The variable is read at open: set, open, unset (this test is alone in using it).
        std::env::set_var("BERTH_JOURNAL_SOCKET", &path);
        let fields: BTreeMap<String, String> =
            [("CONTAINER_NAME".to_string(), "web".to_string())].into();
        let w = JournalWriter::open(&fields);
        std::env::remove_var("BERTH_JOURNAL_SOCKET");
        let mut w = w.expect("open");
        w.send(Stream::Stderr, b"boom", Some(("p1", 1, false)))
            .expect("send");
        let mut buf = [0u8; 512];
        let n = server.recv(&mut buf).expect("recv");
        let s = String::from_utf8_lossy(&buf[..n]);
        for f in [
            "MESSAGE=boom\n",
            "PRIORITY=3\n",
            "CONTAINER_NAME=web\n",
            "CONTAINER_PARTIAL_MESSAGE=true\n",
            "CONTAINER_PARTIAL_ORDINAL=1\n",
        ] {
            assert!(s.contains(f), "{f} in {s}");
        }
    }

    #[test]
    fn journalctl_json_lines_become_entries() {
        let e = parse_json_entry(
            r#"{"MESSAGE":"hello","PRIORITY":"6","__REALTIME_TIMESTAMP":"1704164645000001"}"#,
        )
        .expect("entry");
        assert_eq!(e.line, b"hello\n");
        assert_eq!(e.stream, Stream::Stdout);
        assert_eq!(e.time.timestamp_subsec_micros(), 1);
        let e = parse_json_entry(
            r#"{"MESSAGE":[104,255],"PRIORITY":"3","CONTAINER_PARTIAL_MESSAGE":"true","__REALTIME_TIMESTAMP":"1"}"#,
        )
        .expect("entry");
        assert_eq!(
            (e.stream, e.line.as_slice()),
            (Stream::Stderr, &[104u8, 255][..])
        );
        assert!(parse_json_entry("{}").is_none());
    }
}
