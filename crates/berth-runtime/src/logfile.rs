//! Docker's json-file log format: the shim writes it (`LogWriter`), the engine reads it for
//! `GET /containers/{id}/logs` (`read_logs`, `LogReader` for follow).
//!
//! One JSON object per line: `{"log":"hi\n","stream":"stdout","time":"...Z"}`. Output lines
//! longer than 16 KiB, and a trailing line without newline at EOF, are written as partial
//! entries (no `\n` at the end of "log"), like Docker. Rotation: `<name>` is the live file,
//! `<name>.1` the newest rotated one, up to `<name>.<max_file-1>`.

use std::collections::VecDeque;
use std::fs::{self, File, OpenOptions};
use std::future::Future;
use std::io::{self, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::Duration;

use crate::logdriver::FileLimits;
use chrono::{DateTime, SecondsFormat, Utc};
use serde::Deserialize;

/// Docker's line buffer size: longer lines become several partial entries.
const MAX_LINE: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stream {
    Stdout,
    Stderr,
}

impl Stream {
    pub fn as_str(self) -> &'static str {
        match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        }
    }
    fn idx(self) -> usize {
        match self {
            Stream::Stdout => 0,
            Stream::Stderr => 1,
        }
    }
}

#[derive(Deserialize)]
struct EntryIn {
    log: String,
    stream: String,
    time: DateTime<Utc>,
}

/// Formats a timestamp as Docker does in logs (RFC3339, 9 fractional digits, Z).
pub fn format_time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Nanos, true)
}

/// How records are laid out in a log file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// json-file: one JSON object per line.
    Json,
    /// Docker's `local` records (`crate::log_local`).
    Local,
}

/// A log file with size-based rotation: `<name>` is the live file, `<name>.1` (or
/// `<name>.1.gz` with compression) the newest rotated one, up to `<name>.<max_file-1>`.
pub struct RotatingFile {
    path: PathBuf,
    limits: FileLimits,
    file: File,
    size: u64,
}

impl RotatingFile {
    pub fn open(path: &Path, limits: &FileLimits) -> io::Result<RotatingFile> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir)?;
        }
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let size = file.metadata()?.len();
        Ok(RotatingFile {
            path: path.to_path_buf(),
            limits: FileLimits {
                max_file: limits.max_file.max(1),
                ..limits.clone()
            },
            file,
            size,
        })
    }

    /// Appends one whole record, rotating first when it would pass max-size.
    pub fn write_record(&mut self, rec: &[u8]) -> io::Result<()> {
        if self.limits.max_size > 0
            && self.size > 0
            && self.size + rec.len() as u64 > self.limits.max_size
        {
            self.rotate()?;
        }
        self.file.write_all(rec)?;
        self.size += rec.len() as u64;
        Ok(())
    }

    fn rotated(&self, i: u32) -> PathBuf {
        let gz = if self.limits.compress { ".gz" } else { "" };
        PathBuf::from(format!("{}.{i}{gz}", self.path.display()))
    }

    fn rotated_plain(&self, i: u32) -> PathBuf {
        PathBuf::from(format!("{}.{i}", self.path.display()))
    }

    fn rotate(&mut self) -> io::Result<()> {
        let max = self.limits.max_file;
        if max > 1 {
            let _ = fs::remove_file(self.rotated(max - 1));
            for i in (1..max - 1).rev() {
                match fs::rename(self.rotated(i), self.rotated(i + 1)) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
            fs::rename(&self.path, self.rotated_plain(1))?;
            self.file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?;
            if self.limits.compress {
                // `.1` becomes `.1.gz` (synchronously: the shim has no other thread);
                // readers use the plain `.1` until the `.gz` is complete.
                let plain = self.rotated_plain(1);
                let tmp = PathBuf::from(format!("{}.1.gz.tmp", self.path.display()));
                {
                    let mut src = File::open(&plain)?;
                    let out = File::create(&tmp)?;
                    let mut gz = flate2::write::GzEncoder::new(out, flate2::Compression::fast());
                    io::copy(&mut src, &mut gz)?;
                    gz.finish()?;
                }
                fs::rename(&tmp, self.rotated(1))?;
                fs::remove_file(&plain)?;
            }
        } else {
            self.file.set_len(0)?;
        }
        self.size = 0;
        Ok(())
    }
}

/// A piece of output ready for a driver: one line (or one piece of a long one), without
/// its newline.
pub struct Piece<'a> {
    pub stream: Stream,
    pub time: &'a DateTime<Utc>,
    pub line: &'a [u8],
    /// The line ended here (json-file writes the newline back).
    pub newline: bool,
    /// Set for the pieces of a line split at 16 KiB (and a last line without newline).
    pub partial: Option<&'a crate::log_local::Partial>,
}

/// Cuts raw output into lines and 16 KiB pieces, per stream, as Docker's copier does.
#[derive(Default)]
pub struct Splitter {
    partial: [Vec<u8>; 2],
    /// The split line in progress: its id and the ordinal of its last piece.
    split: [Option<crate::log_local::Partial>; 2],
    seq: u64,
}

impl Splitter {
    /// Feeds raw output; calls `emit` for each complete line or full piece.
    pub fn feed(
        &mut self,
        stream: Stream,
        mut data: &[u8],
        emit: &mut dyn FnMut(Piece) -> io::Result<()>,
    ) -> io::Result<()> {
        let now = Utc::now();
        let i = stream.idx();
        while !data.is_empty() {
            let buf_len = self.partial[i].len();
            match data.iter().position(|b| *b == b'\n') {
                Some(at) if buf_len + at < MAX_LINE => {
                    self.partial[i].extend_from_slice(&data[..at]);
                    data = &data[at + 1..];
                    self.emit(stream, &now, true, emit)?;
                }
                _ => {
                    let room = MAX_LINE - buf_len;
                    let take = room.min(data.len());
                    self.partial[i].extend_from_slice(&data[..take]);
                    data = &data[take..];
                    if self.partial[i].len() >= MAX_LINE {
                        self.emit(stream, &now, false, emit)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Emits a pending partial line (at EOF of the stream).
    pub fn flush(
        &mut self,
        stream: Stream,
        emit: &mut dyn FnMut(Piece) -> io::Result<()>,
    ) -> io::Result<()> {
        if !self.partial[stream.idx()].is_empty() {
            self.emit(stream, &Utc::now(), false, emit)?;
        }
        Ok(())
    }

    fn emit(
        &mut self,
        stream: Stream,
        now: &DateTime<Utc>,
        newline: bool,
        emit: &mut dyn FnMut(Piece) -> io::Result<()>,
    ) -> io::Result<()> {
        let i = stream.idx();
        let line = std::mem::take(&mut self.partial[i]);
        // A line that had pieces before, or is itself incomplete, is partial (moby's
        // PartialLogMetaData): numbered pieces of one id, the last one marked.
        let partial = if newline && self.split[i].is_none() {
            None
        } else {
            let p = self.split[i].get_or_insert_with(|| {
                self.seq += 1;
                crate::log_local::Partial {
                    last: false,
                    id: format!("{:x}{:x}", std::process::id(), self.seq),
                    ordinal: 0,
                }
            });
            p.ordinal += 1;
            p.last = newline;
            Some(p.clone())
        };
        if newline {
            self.split[i] = None;
        }
        let r = emit(Piece {
            stream,
            time: now,
            line: &line,
            newline,
            partial: partial.as_ref(),
        });
        // Give the buffer back (keeping its capacity small) for the next line.
        let mut line = line;
        line.clear();
        line.shrink_to(256);
        self.partial[i] = line;
        r
    }
}

/// Appends json-file entries, rotating by size.
pub struct LogWriter {
    splitter: Splitter,
    out: RotatingFile,
    /// Pre-rendered `"attrs":{...},` (empty without attributes).
    attrs: String,
    scratch: Vec<u8>,
}

impl LogWriter {
    /// Opens (appending to) the log at `path`. `max_size` 0 disables rotation;
    /// `max_file` is the total number of files kept (at least 1).
    pub fn open(path: &Path, max_size: u64, max_file: u32) -> io::Result<Self> {
        Self::open_with(
            path,
            &FileLimits {
                max_size,
                max_file,
                compress: false,
            },
            &std::collections::BTreeMap::new(),
        )
    }

    /// As [`LogWriter::open`], with compression of rotated files and Docker's extra
    /// attributes (`attrs` of every entry: tag, labels, env).
    pub fn open_with(
        path: &Path,
        limits: &FileLimits,
        attrs: &std::collections::BTreeMap<String, String>,
    ) -> io::Result<Self> {
        let attrs = if attrs.is_empty() {
            String::new()
        } else {
            format!(
                "\"attrs\":{},",
                serde_json::to_string(attrs).map_err(io::Error::other)?
            )
        };
        Ok(LogWriter {
            splitter: Splitter::default(),
            out: RotatingFile::open(path, limits)?,
            attrs,
            scratch: Vec::new(),
        })
    }

    /// Feeds raw output of `stream`; complete lines are written at once.
    pub fn write(&mut self, stream: Stream, data: &[u8]) -> io::Result<()> {
        let (out, attrs, scratch) = (&mut self.out, &self.attrs, &mut self.scratch);
        self.splitter
            .feed(stream, data, &mut |p| write_json(out, attrs, scratch, &p))
    }

    /// Writes out a pending partial line (at EOF of the stream).
    pub fn flush_partial(&mut self, stream: Stream) -> io::Result<()> {
        let (out, attrs, scratch) = (&mut self.out, &self.attrs, &mut self.scratch);
        self.splitter
            .flush(stream, &mut |p| write_json(out, attrs, scratch, &p))
    }
}

/// One json-file entry: `{"log":...,"stream":...,["attrs":{...},]"time":...}`.
pub fn write_json(
    out: &mut RotatingFile,
    attrs: &str,
    scratch: &mut Vec<u8>,
    p: &Piece,
) -> io::Result<()> {
    let mut text = String::from_utf8_lossy(p.line).into_owned();
    if p.newline {
        text.push('\n');
    }
    scratch.clear();
    scratch.extend_from_slice(b"{\"log\":");
    serde_json::to_writer(&mut *scratch, &text).map_err(io::Error::other)?;
    scratch.extend_from_slice(b",\"stream\":\"");
    scratch.extend_from_slice(p.stream.as_str().as_bytes());
    scratch.extend_from_slice(b"\",");
    scratch.extend_from_slice(attrs.as_bytes());
    scratch.extend_from_slice(b"\"time\":\"");
    scratch.extend_from_slice(format_time(p.time).as_bytes());
    scratch.extend_from_slice(b"\"}\n");
    out.write_record(scratch)?;
    if scratch.capacity() > 4 * MAX_LINE {
        *scratch = Vec::new();
    }
    Ok(())
}

/// One log record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    pub stream: Stream,
    pub time: DateTime<Utc>,
    /// The output bytes, including the trailing newline unless this is a partial entry.
    pub line: Vec<u8>,
}

impl LogEntry {
    /// The line as `docker logs` prints it, with `--timestamps` prefix when asked.
    pub fn render(&self, timestamps: bool) -> Vec<u8> {
        if !timestamps {
            return self.line.clone();
        }
        let mut v = format_time(&self.time).into_bytes();
        v.push(b' ');
        v.extend_from_slice(&self.line);
        v
    }
}

/// Options of `docker logs`.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// Last N entries only (None = all).
    pub tail: Option<usize>,
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub stdout: bool,
    pub stderr: bool,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            tail: None,
            since: None,
            until: None,
            stdout: true,
            stderr: true,
        }
    }
}

/// Parses Docker's `since`/`until` query value: unix seconds with optional `.nanos`.
pub fn parse_unix_time(s: &str) -> Option<DateTime<Utc>> {
    let (secs, frac) = s.split_once('.').unwrap_or((s, ""));
    let secs: i64 = secs.parse().ok()?;
    let nanos: u32 = if frac.is_empty() {
        0
    } else {
        let f: String = frac.chars().chain(std::iter::repeat('0')).take(9).collect();
        f.parse().ok()?
    };
    DateTime::from_timestamp(secs, nanos)
}

fn parse_line(line: &[u8]) -> Option<LogEntry> {
    let e: EntryIn = serde_json::from_slice(line).ok()?;
    let stream = match e.stream.as_str() {
        "stderr" => Stream::Stderr,
        _ => Stream::Stdout,
    };
    Some(LogEntry {
        stream,
        time: e.time,
        line: e.log.into_bytes(),
    })
}

fn keep(e: &LogEntry, o: &ReadOptions) -> bool {
    (match e.stream {
        Stream::Stdout => o.stdout,
        Stream::Stderr => o.stderr,
    }) && o.since.is_none_or(|s| e.time >= s)
        && o.until.is_none_or(|u| e.time <= u)
}

/// The log files of `path` from oldest to newest: rotated `.N` or `.N.gz`, then the live
/// one.
fn log_files(path: &Path) -> Vec<PathBuf> {
    let mut rotated = Vec::new();
    for i in 1.. {
        let plain = PathBuf::from(format!("{}.{i}", path.display()));
        let gz = PathBuf::from(format!("{}.{i}.gz", path.display()));
        if plain.exists() {
            rotated.push(plain);
        } else if gz.exists() {
            rotated.push(gz);
        } else {
            break;
        }
    }
    rotated.reverse();
    rotated.push(path.to_path_buf());
    rotated
}

/// Decodes the complete records at the front of `buf` in `format`, removing them; what
/// is left is a record still being written. A corrupt `local` frame is skipped by
/// dropping the rest of the buffer (a torn write after a crash), as moby's reader gives up
/// on it.
fn decode_records(format: Format, buf: &mut Vec<u8>, out: &mut dyn FnMut(LogEntry)) {
    match format {
        Format::Json => {
            let mut start = 0;
            while let Some(i) = buf[start..].iter().position(|b| *b == b'\n') {
                if let Some(e) = parse_line(&buf[start..start + i + 1]) {
                    out(e);
                }
                start += i + 1;
            }
            buf.drain(..start);
        }
        Format::Local => match crate::log_local::split_frames(buf) {
            Ok((recs, used)) => {
                for r in recs {
                    out(r.into_entry());
                }
                buf.drain(..used);
            }
            Err(at) => {
                if let Ok((recs, _)) = crate::log_local::split_frames(&buf[..at]) {
                    for r in recs {
                        out(r.into_entry());
                    }
                }
                buf.clear();
            }
        },
    }
}

/// The whole content of one log file, decompressed when it is a `.gz`.
fn read_file(path: &Path) -> io::Result<Vec<u8>> {
    let mut data = Vec::new();
    let f = File::open(path)?;
    if path.extension().is_some_and(|e| e == "gz") {
        flate2::read::GzDecoder::new(f).read_to_end(&mut data)?;
    } else {
        BufReader::new(f).read_to_end(&mut data)?;
    }
    Ok(data)
}

/// Reads the existing log (all rotated files, oldest first) once. Also returns the byte
/// offset reached in the live file, so a follower can continue from there.
fn read_existing(
    path: &Path,
    format: Format,
    o: &ReadOptions,
) -> io::Result<(VecDeque<LogEntry>, u64)> {
    let mut out = VecDeque::new();
    let mut live_offset = 0;
    // Docker applies tail to the raw records, then the since/stream filters.
    for f in log_files(path) {
        let mut data = match read_file(&f) {
            Ok(d) => d,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let total = data.len() as u64;
        decode_records(format, &mut data, &mut |e| {
            out.push_back(e);
            if let Some(t) = o.tail {
                while out.len() > t {
                    out.pop_front();
                }
            }
        });
        if f == path {
            // A record still being written is picked up by the follower.
            live_offset = total - data.len() as u64;
        }
    }
    out.retain(|e| keep(e, o));
    Ok((out, live_offset))
}

/// Reads the json-file log once (no follow).
pub fn read_logs(path: &Path, o: &ReadOptions) -> io::Result<Vec<LogEntry>> {
    read_logs_as(path, Format::Json, o)
}

/// Reads a log of `format` once (no follow).
pub fn read_logs_as(path: &Path, format: Format, o: &ReadOptions) -> io::Result<Vec<LogEntry>> {
    Ok(read_existing(path, format, o)?.0.into())
}

/// Future that ends following (typically: the container exited).
pub type StopFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// `docker logs --follow`: yields existing entries, then new ones until `stop` completes
/// (after which what is already written is drained) or `until` is passed.
pub struct LogReader {
    path: PathBuf,
    format: Format,
    opts: ReadOptions,
    pending: VecDeque<LogEntry>,
    offset: u64,
    ino: u64,
    partial: Vec<u8>,
    stop: Option<StopFuture>,
    stopped: bool,
    poll: Duration,
}

impl LogReader {
    /// A json-file log. `stop`: None to stop at the end of the existing log (plain
    /// `docker logs`).
    pub fn open(path: &Path, opts: ReadOptions, stop: Option<StopFuture>) -> io::Result<Self> {
        Self::open_as(path, Format::Json, opts, stop)
    }

    /// A log of `format`.
    pub fn open_as(
        path: &Path,
        format: Format,
        opts: ReadOptions,
        stop: Option<StopFuture>,
    ) -> io::Result<Self> {
        use std::os::unix::fs::MetadataExt;
        let (pending, offset) = read_existing(path, format, &opts)?;
        let ino = fs::metadata(path).map(|m| m.ino()).unwrap_or(0);
        let stopped = stop.is_none();
        Ok(LogReader {
            path: path.to_path_buf(),
            format,
            opts,
            pending,
            offset,
            ino,
            partial: Vec::new(),
            stop,
            stopped,
            poll: Duration::from_millis(100),
        })
    }

    /// Reads whatever was appended to the live file since the last call.
    fn read_new(&mut self) -> io::Result<()> {
        use std::os::unix::fs::MetadataExt;
        let mut file = match File::open(&self.path) {
            Ok(f) => f,
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(e),
        };
        let md = file.metadata()?;
        if md.ino() != self.ino || md.len() < self.offset {
            // Rotated (maybe several times): finish our old file where it went, then every
            // newer rotated file, then start the live one at 0.
            let files = log_files(&self.path);
            let rotated = &files[..files.len() - 1];
            let pos = rotated
                .iter()
                .position(|p| fs::metadata(p).map(|m| m.ino()).ok() == Some(self.ino));
            match pos {
                Some(pos) => {
                    for (i, p) in rotated.iter().enumerate().skip(pos) {
                        let mut data = read_file(p)?;
                        if i == pos {
                            data.drain(..(self.offset as usize).min(data.len()));
                        }
                        self.partial.clear();
                        self.consume_bytes(data);
                    }
                }
                None => {
                    // Compressed rotation: the file we were reading is now `.1.gz`.
                    let gz = PathBuf::from(format!("{}.1.gz", self.path.display()));
                    if let Ok(mut data) = read_file(&gz) {
                        data.drain(..(self.offset as usize).min(data.len()));
                        self.partial.clear();
                        self.consume_bytes(data);
                    }
                }
            }
            self.ino = md.ino();
            self.offset = 0;
            self.partial.clear();
        }
        file.seek(SeekFrom::Start(self.offset))?;
        self.consume(&mut file)
    }

    fn consume(&mut self, f: &mut File) -> io::Result<()> {
        let mut buf = [0u8; 8192];
        loop {
            let n = f.read(&mut buf)?;
            if n == 0 {
                return Ok(());
            }
            self.offset += n as u64;
            self.partial.extend_from_slice(&buf[..n]);
            self.decode_partial();
        }
    }

    /// Records from a rotated file's bytes (not counted in the live file's offset).
    fn consume_bytes(&mut self, data: Vec<u8>) {
        self.partial.extend_from_slice(&data);
        self.decode_partial();
        self.partial.clear();
    }

    fn decode_partial(&mut self) {
        let (opts, pending) = (&self.opts, &mut self.pending);
        decode_records(self.format, &mut self.partial, &mut |e| {
            if keep(&e, opts) {
                pending.push_back(e);
            }
        });
    }

    /// The next entry; None at the end (end of log without follow, or after stop).
    pub async fn next(&mut self) -> Option<io::Result<LogEntry>> {
        loop {
            if let Some(e) = self.pending.pop_front() {
                if self.opts.until.is_some_and(|u| e.time > u) {
                    return None;
                }
                return Some(Ok(e));
            }
            if self.stopped {
                return None;
            }
            if let Err(e) = self.read_new() {
                return Some(Err(e));
            }
            if !self.pending.is_empty() {
                continue;
            }
            if self.opts.until.is_some_and(|u| Utc::now() > u) {
                return None;
            }
            let stop = self.stop.as_mut()?;
            tokio::select! {
                _ = stop => {
                    // Drain what the writer produced before it finished.
                    self.stopped = true;
                    self.stop = None;
                    if let Err(e) = self.read_new() {
                        return Some(Err(e));
                    }
                }
                _ = tokio::time::sleep(self.poll) => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(v: &[LogEntry]) -> Vec<String> {
        v.iter()
            .map(|e| String::from_utf8_lossy(&e.line).to_string())
            .collect()
    }

    #[test]
    fn write_read_rotate_tail_since() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("c-json.log");
        let mut w = LogWriter::open(&p, 300, 3).unwrap();
        for i in 0..20 {
            w.write(Stream::Stdout, format!("line {i}\n").as_bytes())
                .unwrap();
        }
        w.write(Stream::Stderr, b"err1\nerr").unwrap();
        w.flush_partial(Stream::Stderr).unwrap();
        assert!(p.exists());
        assert!(d.path().join("c-json.log.1").exists());
        assert!(d.path().join("c-json.log.2").exists());
        assert!(!d.path().join("c-json.log.3").exists());
        let raw = fs::read_to_string(&p).unwrap();
        let first = raw.lines().next().unwrap();
        assert!(first.starts_with("{\"log\":\""), "{first}");
        assert!(first.contains("\"stream\":\""), "{first}");

        let all = read_logs(&p, &ReadOptions::default()).unwrap();
        let l = lines(&all);
        // Old lines were rotated away; what remains is in order and ends with the partial.
        assert_eq!(l.last().unwrap(), "err");
        assert_eq!(l[l.len() - 2], "err1\n");
        let nums: Vec<usize> = l
            .iter()
            .filter_map(|s| s.strip_prefix("line ")?.trim().parse().ok())
            .collect();
        assert!(nums.windows(2).all(|w| w[1] == w[0] + 1), "{nums:?}");
        assert_eq!(*nums.last().unwrap(), 19);

        let tail = read_logs(
            &p,
            &ReadOptions {
                tail: Some(3),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(lines(&tail), vec!["line 19\n", "err1\n", "err"]);
        let only_out = read_logs(
            &p,
            &ReadOptions {
                tail: Some(3),
                stderr: false,
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(lines(&only_out), vec!["line 19\n"]);

        let future = read_logs(
            &p,
            &ReadOptions {
                since: Some(Utc::now() + chrono::Duration::seconds(10)),
                ..Default::default()
            },
        )
        .unwrap();
        assert!(future.is_empty());
        let past = read_logs(
            &p,
            &ReadOptions {
                since: parse_unix_time("1000.5"),
                until: Some(Utc::now()),
                ..Default::default()
            },
        )
        .unwrap();
        assert_eq!(past.len(), all.len());
        assert_eq!(
            parse_unix_time("1.25").unwrap().timestamp_subsec_nanos(),
            250_000_000
        );
    }

    #[test]
    fn long_lines_are_split() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("l.log");
        let mut w = LogWriter::open(&p, 0, 1).unwrap();
        let big = vec![b'a'; MAX_LINE + 10];
        w.write(Stream::Stdout, &big).unwrap();
        w.write(Stream::Stdout, b"\n").unwrap();
        let all = read_logs(&p, &ReadOptions::default()).unwrap();
        assert_eq!(all.len(), 2);
        assert_eq!(all[0].line.len(), MAX_LINE);
        assert_eq!(all[1].line.len(), 11);
    }

    #[tokio::test]
    async fn follow_until_stop() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("f.log");
        let mut w = LogWriter::open(&p, 200, 20).unwrap();
        w.write(Stream::Stdout, b"before\n").unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let stop: StopFuture = Box::pin(async move {
            let _ = rx.await;
        });
        let mut r = LogReader::open(&p, ReadOptions::default(), Some(stop)).unwrap();
        assert_eq!(r.next().await.unwrap().unwrap().line, b"before\n");
        let writer = tokio::spawn(async move {
            for i in 0..10 {
                w.write(Stream::Stdout, format!("after {i}\n").as_bytes())
                    .unwrap();
                tokio::time::sleep(Duration::from_millis(30)).await;
            }
            let _ = tx.send(());
        });
        let mut got = Vec::new();
        while let Some(e) = r.next().await {
            got.push(String::from_utf8(e.unwrap().line).unwrap());
        }
        writer.await.unwrap();
        let want: Vec<String> = (0..10).map(|i| format!("after {i}\n")).collect();
        assert_eq!(got, want);
    }
}
