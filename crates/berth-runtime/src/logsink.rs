//! The shim's end of the logging drivers: the container's output, cut into lines and
//! 16 KiB pieces (`logfile::Splitter`), goes to the driver of the container's
//! [`LogSpec`]; with `mode=non-blocking` through a bounded queue drained by one writer
//! thread, dropping output when the queue is full rather than blocking the container
//! (moby's ring buffer). Only that mode starts a thread; the shim stays single-threaded
//! otherwise.

use crate::log_journald::JournalWriter;
use crate::log_local::{self, Partial};
use crate::log_syslog::SyslogWriter;
use crate::logdriver::{LogSpec, Sink};
use crate::logfile::{write_json, Piece, RotatingFile, Splitter, Stream};
use std::collections::VecDeque;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

/// Where each driver's files live in the container directory (Docker's names).
pub fn json_log_path(dir: &Path, id: &str) -> PathBuf {
    dir.join(format!("{id}-json.log"))
}
pub fn local_log_path(dir: &Path) -> PathBuf {
    dir.join("local-logs").join("container.log")
}
pub fn cache_log_path(dir: &Path) -> PathBuf {
    dir.join("container-cached.log")
}

enum Driver {
    Json {
        out: RotatingFile,
        attrs: String,
        scratch: Vec<u8>,
    },
    Local {
        out: RotatingFile,
        scratch: Vec<u8>,
    },
    None,
    Syslog {
        w: SyslogWriter,
        cache: Option<RotatingFile>,
        scratch: Vec<u8>,
    },
    Journald(JournalWriter),
}

impl Driver {
    fn open(spec: &LogSpec, dir: &Path, id: &str) -> io::Result<Driver> {
        Ok(match &spec.sink {
            Sink::JsonFile { limits, attrs } => Driver::Json {
                out: RotatingFile::open(&json_log_path(dir, id), limits)?,
                attrs: if attrs.is_empty() {
                    String::new()
                } else {
                    format!(
                        "\"attrs\":{},",
                        serde_json::to_string(attrs).map_err(io::Error::other)?
                    )
                },
                scratch: Vec::new(),
            },
            Sink::Local { limits } => Driver::Local {
                out: RotatingFile::open(&local_log_path(dir), limits)?,
                scratch: Vec::new(),
            },
            Sink::None => Driver::None,
            Sink::Syslog {
                address,
                facility,
                format,
                tag,
                cache,
            } => Driver::Syslog {
                w: SyslogWriter::open(address, *facility, *format, tag)?,
                cache: match cache {
                    Some(l) => Some(RotatingFile::open(&cache_log_path(dir), l)?),
                    None => None,
                },
                scratch: Vec::new(),
            },
            Sink::Journald { fields } => Driver::Journald(JournalWriter::open(fields)?),
        })
    }

    fn put(&mut self, p: &Piece) -> io::Result<()> {
        match self {
            Driver::Json {
                out,
                attrs,
                scratch,
            } => write_json(out, attrs, scratch, p),
            Driver::Local { out, scratch } => write_local(out, scratch, p),
            Driver::None => Ok(()),
            Driver::Syslog { w, cache, scratch } => {
                if let Some(c) = cache {
                    write_local(c, scratch, p)?;
                }
                w.send(p.stream, p.time, p.line)
            }
            Driver::Journald(j) => j.send(
                p.stream,
                p.line,
                p.partial.map(|m| (m.id.as_str(), m.ordinal, m.last)),
            ),
        }
    }
}

fn write_local(out: &mut RotatingFile, scratch: &mut Vec<u8>, p: &Piece) -> io::Result<()> {
    scratch.clear();
    log_local::encode(scratch, p.stream, p.time, p.line, p.partial);
    out.write_record(scratch)?;
    if scratch.capacity() > 64 << 10 {
        *scratch = Vec::new();
    }
    Ok(())
}

/// The synchronous writer: splitter and driver.
struct Direct {
    splitter: Splitter,
    driver: Driver,
}

impl Direct {
    fn write(&mut self, stream: Stream, data: &[u8]) -> io::Result<()> {
        let driver = &mut self.driver;
        self.splitter.feed(stream, data, &mut |p| driver.put(&p))
    }
    fn flush(&mut self, stream: Stream) -> io::Result<()> {
        let driver = &mut self.driver;
        self.splitter.flush(stream, &mut |p| driver.put(&p))
    }
}

enum Item {
    Data(Stream, Vec<u8>),
    Flush(Stream),
}

#[derive(Default)]
struct Queue {
    items: VecDeque<Item>,
    bytes: usize,
    closed: bool,
    /// The writer has taken everything queued so far (for `finish`).
    idle: bool,
}

struct Shared {
    q: Mutex<Queue>,
    cv: Condvar,
}

/// The container's log, as its spec says.
pub struct LogSink {
    inner: Inner,
    /// Output dropped by a full non-blocking queue (bytes).
    pub dropped: u64,
}

// One per shim, never moved: boxing the common direct path would buy nothing.
#[allow(clippy::large_enum_variant)]
enum Inner {
    Direct(Direct),
    /// Non-blocking, before [`LogSink::activate`] (no thread yet).
    Pending(Option<Direct>, usize),
    Async {
        shared: Arc<Shared>,
        max: usize,
        thread: Option<std::thread::JoinHandle<()>>,
    },
}

impl LogSink {
    /// Opens the driver (a missing syslog or journald fails here, so the start fails).
    pub fn open(spec: &LogSpec, dir: &Path, id: &str) -> io::Result<LogSink> {
        let direct = Direct {
            splitter: Splitter::default(),
            driver: Driver::open(spec, dir, id)?,
        };
        let inner = match spec.non_blocking {
            None => Inner::Direct(direct),
            Some(max) => Inner::Pending(Some(direct), max.max(1)),
        };
        Ok(LogSink { inner, dropped: 0 })
    }

    /// Starts the writer thread of a non-blocking log (nothing for a blocking one). Call it
    /// once the container's processes are made: the shim must be single-threaded while it
    /// clones them. Output written before is written directly.
    pub fn activate(&mut self) -> io::Result<()> {
        let Inner::Pending(direct, max) = &mut self.inner else {
            return Ok(());
        };
        let (Some(direct), max) = (direct.take(), *max) else {
            return Ok(());
        };
        let shared = Arc::new(Shared {
            q: Mutex::new(Queue::default()),
            cv: Condvar::new(),
        });
        let s2 = shared.clone();
        let thread = std::thread::Builder::new()
            .name("log".into())
            .stack_size(64 << 10)
            .spawn(move || drain(s2, direct))?;
        self.inner = Inner::Async {
            shared,
            max,
            thread: Some(thread),
        };
        Ok(())
    }

    /// Feeds raw output of `stream`.
    pub fn write(&mut self, stream: Stream, data: &[u8]) -> io::Result<()> {
        match &mut self.inner {
            Inner::Direct(d) | Inner::Pending(Some(d), _) => d.write(stream, data),
            Inner::Pending(None, _) => Ok(()),
            Inner::Async { shared, max, .. } => {
                let Ok(mut q) = shared.q.lock() else {
                    return Ok(());
                };
                if q.bytes + data.len() > *max {
                    self.dropped += data.len() as u64;
                    return Ok(());
                }
                q.bytes += data.len();
                q.idle = false;
                q.items.push_back(Item::Data(stream, data.to_vec()));
                shared.cv.notify_all();
                Ok(())
            }
        }
    }

    /// Writes out a pending partial line of `stream` (its EOF).
    pub fn flush_partial(&mut self, stream: Stream) -> io::Result<()> {
        match &mut self.inner {
            Inner::Direct(d) | Inner::Pending(Some(d), _) => d.flush(stream),
            Inner::Pending(None, _) => Ok(()),
            Inner::Async { shared, .. } => {
                if let Ok(mut q) = shared.q.lock() {
                    q.idle = false;
                    q.items.push_back(Item::Flush(stream));
                    shared.cv.notify_all();
                }
                Ok(())
            }
        }
    }

    /// Waits (at most `limit`) until a non-blocking queue is written out and stops its
    /// thread; nothing to do for the direct writer.
    pub fn finish(&mut self, limit: Duration) {
        if let Inner::Async { shared, thread, .. } = &mut self.inner {
            let deadline = Instant::now() + limit;
            if let Ok(mut q) = shared.q.lock() {
                q.closed = true;
                shared.cv.notify_all();
                while !(q.idle && q.items.is_empty()) {
                    let left = deadline.saturating_duration_since(Instant::now());
                    if left.is_zero() {
                        break;
                    }
                    match shared.cv.wait_timeout(q, left) {
                        Ok((g, _)) => q = g,
                        Err(_) => return,
                    }
                }
            }
            if let Some(t) = thread.take() {
                if t.is_finished() {
                    let _ = t.join();
                }
            }
        }
    }
}

/// The non-blocking writer thread: takes queued output and writes it; errors are logged
/// (there is no one to return them to).
fn drain(shared: Arc<Shared>, mut direct: Direct) {
    // Every signal is the shim's main thread's: a SIGCHLD taken here (its default is to
    // ignore it) would never reach the shim's signalfd, and the container's exit would go
    // unnoticed.
    let _ = nix::sys::signal::SigSet::all().thread_block();
    loop {
        let item = {
            let Ok(mut q) = shared.q.lock() else {
                return;
            };
            loop {
                if let Some(it) = q.items.pop_front() {
                    if let Item::Data(_, d) = &it {
                        q.bytes -= d.len();
                    }
                    break it;
                }
                q.idle = true;
                shared.cv.notify_all();
                if q.closed {
                    return;
                }
                q = match shared.cv.wait(q) {
                    Ok(g) => g,
                    Err(_) => return,
                };
            }
        };
        let r = match item {
            Item::Data(s, d) => direct.write(s, &d),
            Item::Flush(s) => direct.flush(s),
        };
        if let Err(e) = r {
            tracing::warn!("log: {e}");
        }
    }
}

/// A partial piece's metadata, re-exported for the readers.
pub type PartialMeta = Partial;

#[cfg(test)]
mod tests {
    use super::*;
    use crate::logdriver::{ContainerInfo, FileLimits};
    use crate::logfile::{read_logs_as, Format, ReadOptions};
    use std::collections::BTreeMap;

    fn spec(driver: &str, kv: &[(&str, &str)]) -> LogSpec {
        let opts: BTreeMap<String, String> = kv
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        LogSpec::resolve(
            driver,
            &opts,
            &ContainerInfo {
                id: "c".repeat(64),
                name: "n".into(),
                ..Default::default()
            },
        )
        .expect("spec")
    }

    fn text(entries: &[crate::logfile::LogEntry]) -> String {
        entries
            .iter()
            .map(|e| String::from_utf8_lossy(&e.line).into_owned())
            .collect()
    }

    #[test]
    fn local_driver_rotates_compresses_and_reads_back() {
        let d = tempfile::tempdir().expect("tmp");
        let s = spec("local", &[("max-size", "1k"), ("max-file", "3")]);
        let mut sink = LogSink::open(&s, d.path(), "c").expect("open");
        for i in 0..100 {
            sink.write(Stream::Stdout, format!("line {i}\n").as_bytes())
                .expect("write");
        }
        let path = local_log_path(d.path());
        assert!(PathBuf::from(format!("{}.1.gz", path.display())).exists());
        assert!(PathBuf::from(format!("{}.2.gz", path.display())).exists());
        assert!(!PathBuf::from(format!("{}.3.gz", path.display())).exists());
        assert!(!PathBuf::from(format!("{}.1", path.display())).exists());
        let all = read_logs_as(&path, Format::Local, &ReadOptions::default()).expect("read");
        let nums: Vec<usize> = all
            .iter()
            .filter_map(|e| {
                String::from_utf8_lossy(&e.line)
                    .trim()
                    .strip_prefix("line ")?
                    .parse()
                    .ok()
            })
            .collect();
        assert_eq!(nums.last(), Some(&99));
        assert!(
            nums.len() > 30 && nums.windows(2).all(|w| w[1] == w[0] + 1),
            "{nums:?}"
        );

        // A long line comes back whole from its 16 KiB pieces; an unterminated last line
        // stays without its newline.
        let d = tempfile::tempdir().expect("tmp");
        let mut sink = LogSink::open(&spec("local", &[]), d.path(), "c").expect("open");
        sink.write(Stream::Stderr, &vec![b'x'; 40_000])
            .expect("big");
        sink.write(Stream::Stderr, b"\nlast").expect("write");
        sink.flush_partial(Stream::Stderr).expect("flush");
        let all = read_logs_as(
            &local_log_path(d.path()),
            Format::Local,
            &ReadOptions::default(),
        )
        .expect("read");
        let sizes: Vec<usize> = all.iter().map(|e| e.line.len()).collect();
        assert_eq!(sizes, vec![16_384, 16_384, 40_000 - 2 * 16_384 + 1, 4]);
        assert_eq!(text(&all), format!("{}\nlast", "x".repeat(40_000)));
    }

    #[test]
    fn json_file_compress_keeps_every_rotated_line_readable() {
        let d = tempfile::tempdir().expect("tmp");
        let s = spec(
            "json-file",
            &[
                ("max-size", "2k"),
                ("max-file", "4"),
                ("compress", "true"),
                ("tag", "{{.Name}}"),
            ],
        );
        let mut sink = LogSink::open(&s, d.path(), "c").expect("open");
        for i in 0..60 {
            sink.write(Stream::Stdout, format!("n {i}\n").as_bytes())
                .expect("write");
        }
        let path = json_log_path(d.path(), "c");
        let all = read_logs_as(&path, Format::Json, &ReadOptions::default()).expect("read");
        let nums: Vec<usize> = all
            .iter()
            .filter_map(|e| {
                String::from_utf8_lossy(&e.line)
                    .trim()
                    .strip_prefix("n ")?
                    .parse()
                    .ok()
            })
            .collect();
        assert_eq!(nums.last(), Some(&59));
        assert!(nums.windows(2).all(|w| w[1] == w[0] + 1), "{nums:?}");
        let live = std::fs::read_to_string(&path).expect("live");
        assert!(live.contains("\"attrs\":{\"tag\":\"n\"}"), "{live}");
    }

    #[test]
    fn none_writes_nothing_and_non_blocking_drops_when_full() {
        let d = tempfile::tempdir().expect("tmp");
        let mut sink = LogSink::open(&spec("none", &[]), d.path(), "c").expect("open");
        sink.write(Stream::Stdout, b"x\n").expect("write");
        assert_eq!(
            std::fs::read_dir(d.path()).map(|r| r.count()).unwrap_or(1),
            0
        );

        let mut s = spec(
            "json-file",
            &[("mode", "non-blocking"), ("max-buffer-size", "64")],
        );
        s.sink = Sink::JsonFile {
            limits: FileLimits {
                max_size: 0,
                max_file: 1,
                compress: false,
            },
            attrs: BTreeMap::new(),
        };
        let mut sink = LogSink::open(&s, d.path(), "c").expect("open");
        sink.activate().expect("writer thread");
        for _ in 0..1000 {
            sink.write(Stream::Stdout, b"0123456789012345678901234567890\n")
                .expect("write");
        }
        sink.finish(Duration::from_secs(5));
        let all = read_logs_as(
            &json_log_path(d.path(), "c"),
            Format::Json,
            &ReadOptions::default(),
        )
        .expect("read");
        assert!(
            !all.is_empty() && all.len() < 1000,
            "{} lines kept",
            all.len()
        );
        assert!(sink.dropped > 0);
        assert!(all
            .iter()
            .all(|e| e.line == b"0123456789012345678901234567890\n"));
    }
}
