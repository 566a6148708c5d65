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
use std::io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::pin::Pin;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

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

#[derive(Serialize)]
struct EntryOut<'a> {
    log: &'a str,
    stream: &'a str,
    time: &'a str,
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

/// Appends json-file entries, rotating by size.
pub struct LogWriter {
    path: PathBuf,
    /// 0 = no rotation.
    max_size: u64,
    max_file: u32,
    file: File,
    size: u64,
    partial: [Vec<u8>; 2],
    scratch: Vec<u8>,
}

impl LogWriter {
    /// Opens (appending to) the log at `path`. `max_size` 0 disables rotation;
    /// `max_file` is the total number of files kept (at least 1).
    pub fn open(path: &Path, max_size: u64, max_file: u32) -> io::Result<Self> {
        let file = OpenOptions::new().create(true).append(true).open(path)?;
        let size = file.metadata()?.len();
        Ok(LogWriter {
            path: path.to_path_buf(),
            max_size,
            max_file: max_file.max(1),
            file,
            size,
            partial: [Vec::new(), Vec::new()],
            scratch: Vec::new(),
        })
    }

    /// Feeds raw output of `stream`; complete lines are written at once.
    pub fn write(&mut self, stream: Stream, mut data: &[u8]) -> io::Result<()> {
        let now = Utc::now();
        while !data.is_empty() {
            let buf_len = self.partial[stream.idx()].len();
            match data.iter().position(|b| *b == b'\n') {
                Some(i) if buf_len + i < MAX_LINE => {
                    self.partial[stream.idx()].extend_from_slice(&data[..=i]);
                    data = &data[i + 1..];
                    self.emit(stream, &now)?;
                }
                _ => {
                    let room = MAX_LINE - buf_len;
                    let take = room.min(data.len());
                    self.partial[stream.idx()].extend_from_slice(&data[..take]);
                    data = &data[take..];
                    if self.partial[stream.idx()].len() >= MAX_LINE {
                        self.emit(stream, &now)?;
                    }
                }
            }
        }
        Ok(())
    }

    /// Writes out a pending partial line (at EOF of the stream).
    pub fn flush_partial(&mut self, stream: Stream) -> io::Result<()> {
        if !self.partial[stream.idx()].is_empty() {
            self.emit(stream, &Utc::now())?;
        }
        Ok(())
    }

    fn emit(&mut self, stream: Stream, now: &DateTime<Utc>) -> io::Result<()> {
        let line = std::mem::take(&mut self.partial[stream.idx()]);
        let text = String::from_utf8_lossy(&line);
        let time = format_time(now);
        self.scratch.clear();
        serde_json::to_writer(
            &mut self.scratch,
            &EntryOut {
                log: &text,
                stream: stream.as_str(),
                time: &time,
            },
        )
        .map_err(io::Error::other)?;
        self.scratch.push(b'\n');
        // Give the buffer back (keeping its capacity small) for the next line.
        let mut line = line;
        line.clear();
        line.shrink_to(256);
        self.partial[stream.idx()] = line;
        if self.max_size > 0
            && self.size > 0
            && self.size + self.scratch.len() as u64 > self.max_size
        {
            self.rotate()?;
        }
        self.file.write_all(&self.scratch)?;
        self.size += self.scratch.len() as u64;
        if self.scratch.capacity() > 4 * MAX_LINE {
            self.scratch = Vec::new();
        }
        Ok(())
    }

    fn rotate(&mut self) -> io::Result<()> {
        if self.max_file > 1 {
            let name = |i: u32| PathBuf::from(format!("{}.{i}", self.path.display()));
            let _ = fs::remove_file(name(self.max_file - 1));
            for i in (1..self.max_file - 1).rev() {
                match fs::rename(name(i), name(i + 1)) {
                    Ok(()) => {}
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
            fs::rename(&self.path, name(1))?;
            self.file = OpenOptions::new()
                .create(true)
                .append(true)
                .open(&self.path)?;
        } else {
            self.file.set_len(0)?;
        }
        self.size = 0;
        Ok(())
    }
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

/// The log files of `path` from oldest to newest.
fn log_files(path: &Path) -> Vec<PathBuf> {
    let mut rotated = Vec::new();
    for i in 1.. {
        let p = PathBuf::from(format!("{}.{i}", path.display()));
        if !p.exists() {
            break;
        }
        rotated.push(p);
    }
    rotated.reverse();
    rotated.push(path.to_path_buf());
    rotated
}

/// Reads the existing log (all rotated files, oldest first) once. Also returns the byte
/// offset reached in the live file, so a follower can continue from there.
fn read_existing(path: &Path, o: &ReadOptions) -> io::Result<(VecDeque<LogEntry>, u64)> {
    let mut out = VecDeque::new();
    let mut live_offset = 0;
    // Docker applies tail to the raw lines, then the since/stream filters.
    for f in log_files(path) {
        let file = match File::open(&f) {
            Ok(file) => file,
            Err(e) if e.kind() == io::ErrorKind::NotFound => continue,
            Err(e) => return Err(e),
        };
        let mut r = BufReader::new(file);
        let mut line = Vec::new();
        let mut offset = 0u64;
        loop {
            line.clear();
            let n = r.read_until(b'\n', &mut line)?;
            if n == 0 || line.last() != Some(&b'\n') {
                break; // EOF or a line still being written: the follower picks it up
            }
            offset += n as u64;
            if let Some(e) = parse_line(&line) {
                out.push_back(e);
                if let Some(t) = o.tail {
                    while out.len() > t {
                        out.pop_front();
                    }
                }
            }
        }
        if f == path {
            live_offset = offset;
        }
    }
    out.retain(|e| keep(e, o));
    Ok((out, live_offset))
}

/// Reads the log once (no follow).
pub fn read_logs(path: &Path, o: &ReadOptions) -> io::Result<Vec<LogEntry>> {
    Ok(read_existing(path, o)?.0.into())
}

/// Future that ends following (typically: the container exited).
pub type StopFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// `docker logs --follow`: yields existing entries, then new ones until `stop` completes
/// (after which what is already written is drained) or `until` is passed.
pub struct LogReader {
    path: PathBuf,
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
    /// `stop`: None to stop at the end of the existing log (plain `docker logs`).
    pub fn open(path: &Path, opts: ReadOptions, stop: Option<StopFuture>) -> io::Result<Self> {
        use std::os::unix::fs::MetadataExt;
        let (pending, offset) = read_existing(path, &opts)?;
        let ino = fs::metadata(path).map(|m| m.ino()).unwrap_or(0);
        let stopped = stop.is_none();
        Ok(LogReader {
            path: path.to_path_buf(),
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
            if md.ino() != self.ino {
                let files = log_files(&self.path);
                let rotated = &files[..files.len() - 1];
                let pos = rotated
                    .iter()
                    .position(|p| fs::metadata(p).map(|m| m.ino()).ok() == Some(self.ino));
                if let Some(pos) = pos {
                    for (i, p) in rotated.iter().enumerate().skip(pos) {
                        if let Ok(mut f) = File::open(p) {
                            let start = if i == pos { self.offset } else { 0 };
                            f.seek(SeekFrom::Start(start))?;
                            self.partial.clear();
                            self.consume(&mut f)?;
                        }
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
            let mut data = &buf[..n];
            while let Some(i) = data.iter().position(|b| *b == b'\n') {
                self.partial.extend_from_slice(&data[..=i]);
                data = &data[i + 1..];
                if let Some(e) = parse_line(&self.partial) {
                    if keep(&e, &self.opts) {
                        self.pending.push_back(e);
                    }
                }
                self.partial.clear();
            }
            self.partial.extend_from_slice(data);
        }
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
