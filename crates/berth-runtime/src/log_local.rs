//! Docker's `local` log format (moby daemon/logger/local): each record is a protobuf
//! `LogEntry` framed by its length as a big-endian u32 before and after (the trailing copy
//! lets a reader walk backwards). Used by the `local` driver (`local-logs/container.log`)
//! and by the dual-logging cache of drivers that cannot be read (`container-cached.log`).
//!
//! ```text
//! message LogEntry {
//!   string source = 1; int64 time_nano = 2; bytes line = 3; bool partial = 4;
//!   PartialLogEntryMetadata partial_log_metadata = 5;   // { bool last = 1; string id = 2; int32 ordinal = 3; }
//! }
//! ```
//! Hand-encoded (five fields): the shim stays free of a protobuf runtime.

use crate::logfile::{LogEntry, Stream};
use chrono::{DateTime, Utc};

/// A partial line's place in its sequence (moby's PartialLogMetaData).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Partial {
    pub last: bool,
    pub id: String,
    pub ordinal: i32,
}

/// One decoded record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    pub source: String,
    pub time_nano: i64,
    /// Without the line's newline.
    pub line: Vec<u8>,
    pub partial: Option<Partial>,
}

impl Record {
    /// As `logs` serves it: the newline back unless the line continues in a later record.
    pub fn into_entry(self) -> LogEntry {
        let mut line = self.line;
        if self.partial.as_ref().is_none_or(|p| p.last) {
            line.push(b'\n');
        }
        LogEntry {
            stream: if self.source == "stderr" {
                Stream::Stderr
            } else {
                Stream::Stdout
            },
            time: DateTime::<Utc>::from_timestamp_nanos(self.time_nano),
            line,
        }
    }
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn bytes_field(out: &mut Vec<u8>, field: u8, b: &[u8]) {
    out.push(field << 3 | 2);
    varint(out, b.len() as u64);
    out.extend_from_slice(b);
}

/// Appends one framed record to `out`. Zero values are left out, as proto3 does.
pub fn encode(
    out: &mut Vec<u8>,
    stream: Stream,
    time: &DateTime<Utc>,
    line: &[u8],
    partial: Option<&Partial>,
) {
    let mut msg = Vec::with_capacity(line.len() + 48);
    bytes_field(&mut msg, 1, stream.as_str().as_bytes());
    let nanos = time.timestamp_nanos_opt().unwrap_or(0);
    if nanos != 0 {
        msg.push(2 << 3);
        varint(&mut msg, nanos as u64);
    }
    if !line.is_empty() {
        bytes_field(&mut msg, 3, line);
    }
    if let Some(p) = partial {
        msg.push(4 << 3);
        msg.push(1);
        let mut md = Vec::new();
        if p.last {
            md.push(1 << 3);
            md.push(1);
        }
        if !p.id.is_empty() {
            bytes_field(&mut md, 2, p.id.as_bytes());
        }
        if p.ordinal != 0 {
            md.push(3 << 3);
            varint(&mut md, p.ordinal as i64 as u64);
        }
        bytes_field(&mut msg, 5, &md);
    }
    let len = (msg.len() as u32).to_be_bytes();
    out.extend_from_slice(&len);
    out.extend_from_slice(&msg);
    out.extend_from_slice(&len);
}

struct Pb<'a> {
    b: &'a [u8],
    pos: usize,
}

impl Pb<'_> {
    fn varint(&mut self) -> Option<u64> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let byte = *self.b.get(self.pos)?;
            self.pos += 1;
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Some(v);
            }
        }
        None
    }
    fn bytes(&mut self) -> Option<&[u8]> {
        let n = self.varint()? as usize;
        let s = self.b.get(self.pos..self.pos.checked_add(n)?)?;
        self.pos += n;
        Some(s)
    }
    /// Skips an unknown field of `wire` type.
    fn skip(&mut self, wire: u64) -> Option<()> {
        match wire {
            0 => self.varint().map(|_| ()),
            1 => {
                self.pos += 8;
                (self.pos <= self.b.len()).then_some(())
            }
            2 => self.bytes().map(|_| ()),
            5 => {
                self.pos += 4;
                (self.pos <= self.b.len()).then_some(())
            }
            _ => None,
        }
    }
}

fn decode_partial(b: &[u8]) -> Option<Partial> {
    let mut r = Pb { b, pos: 0 };
    let mut p = Partial::default();
    while r.pos < b.len() {
        let key = r.varint()?;
        match (key >> 3, key & 7) {
            (1, 0) => p.last = r.varint()? != 0,
            (2, 2) => p.id = String::from_utf8_lossy(r.bytes()?).into_owned(),
            (3, 0) => p.ordinal = r.varint()? as i64 as i32,
            (_, w) => r.skip(w)?,
        }
    }
    Some(p)
}

/// Decodes one protobuf `LogEntry` (without its framing).
pub fn decode(b: &[u8]) -> Option<Record> {
    let mut r = Pb { b, pos: 0 };
    let mut rec = Record {
        source: String::new(),
        time_nano: 0,
        line: Vec::new(),
        partial: None,
    };
    let mut partial = false;
    let mut md = None;
    while r.pos < b.len() {
        let key = r.varint()?;
        match (key >> 3, key & 7) {
            (1, 2) => rec.source = String::from_utf8_lossy(r.bytes()?).into_owned(),
            (2, 0) => rec.time_nano = r.varint()? as i64,
            (3, 2) => rec.line = r.bytes()?.to_vec(),
            (4, 0) => partial = r.varint()? != 0,
            (5, 2) => md = decode_partial(r.bytes()?),
            (_, w) => r.skip(w)?,
        }
    }
    if partial {
        rec.partial = Some(md.unwrap_or_default());
    }
    Some(rec)
}

/// Splits framed records off the front of `buf`: the records complete so far, and how
/// many bytes they took (the rest is a record still being written). A frame whose two
/// lengths disagree ends the scan as corrupt (Err with its offset).
pub fn split_frames(buf: &[u8]) -> Result<(Vec<Record>, usize), usize> {
    let mut out = Vec::new();
    let mut pos = 0;
    while buf.len() - pos >= 8 {
        let len = u32::from_be_bytes([buf[pos], buf[pos + 1], buf[pos + 2], buf[pos + 3]]) as usize;
        let end = pos + 4 + len + 4;
        if end > buf.len() {
            break;
        }
        let trailer =
            u32::from_be_bytes([buf[end - 4], buf[end - 3], buf[end - 2], buf[end - 1]]) as usize;
        if trailer != len {
            return Err(pos);
        }
        match decode(&buf[pos + 4..end - 4]) {
            Some(r) => out.push(r),
            None => return Err(pos),
        }
        pos = end;
    }
    Ok((out, pos))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_with_and_without_partial_metadata() {
        let t = DateTime::<Utc>::from_timestamp_nanos(1_704_164_645_000_000_001);
        let mut buf = Vec::new();
        encode(&mut buf, Stream::Stdout, &t, b"hello", None);
        let p = Partial {
            last: false,
            id: "abc".into(),
            ordinal: 1,
        };
        encode(&mut buf, Stream::Stderr, &t, b"part", Some(&p));
        // A frame still being written is left for later.
        let mut more = buf.clone();
        encode(&mut more, Stream::Stdout, &t, b"tail", None);
        more.truncate(more.len() - 3);
        let (recs, used) = split_frames(&more).expect("frames");
        assert_eq!(used, buf.len());
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].source, "stdout");
        assert_eq!(recs[0].time_nano, 1_704_164_645_000_000_001);
        assert_eq!(recs[0].line, b"hello");
        assert_eq!(recs[0].partial, None);
        assert_eq!(recs[1].partial.as_ref(), Some(&p));
        let e = recs[0].clone().into_entry();
        assert_eq!(e.line, b"hello\n");
        let e = recs[1].clone().into_entry();
        assert_eq!(
            (e.stream, e.line.as_slice()),
            (Stream::Stderr, &b"part"[..])
        );
    }

    #[test]
    fn matches_gogo_protobufs_bytes() {
        // moby's marshaller for {Source:"stdout", TimeNano:1, Line:"a"}: fields in order.
        let t = DateTime::<Utc>::from_timestamp_nanos(1);
        let mut buf = Vec::new();
        encode(&mut buf, Stream::Stdout, &t, b"a", None);
        let body = [
            0x0a, 6, b's', b't', b'd', b'o', b'u', b't', 0x10, 1, 0x1a, 1, b'a',
        ];
        assert_eq!(&buf[..4], &(body.len() as u32).to_be_bytes());
        assert_eq!(&buf[4..4 + body.len()], &body);
        assert_eq!(&buf[4 + body.len()..], &(body.len() as u32).to_be_bytes());
    }

    #[test]
    fn corrupt_frames_are_reported() {
        let t = Utc::now();
        let mut buf = Vec::new();
        encode(&mut buf, Stream::Stdout, &t, b"x", None);
        let n = buf.len();
        buf[n - 1] ^= 0xff;
        assert_eq!(split_frames(&buf), Err(0));
        assert!(decode(&[0x0a, 0x50]).is_none());
    }
}
