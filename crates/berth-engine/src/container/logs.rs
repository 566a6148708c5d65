//! `GET /containers/{id}/logs`: the json-file log the shim writes, read (with its rotated
//! files, and followed until the container exits) by `berth_runtime::logfile::LogReader`,
//! framed as Docker frames it.

use crate::engine::Engine;
use crate::error::{EngineError, Result};
use berth_runtime::logdriver::Readable;
use berth_runtime::logfile::{Format, LogEntry, LogReader, ReadOptions, StopFuture, Stream};
use bytes::Bytes;
use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    pub follow: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub timestamps: bool,
    /// Entries before are skipped.
    pub since: Option<DateTime<Utc>>,
    /// Entries after are skipped (the bound itself is included).
    pub until: Option<DateTime<Utc>>,
    /// Only the last N entries.
    pub tail: Option<usize>,
}

/// The API's `since`/`until`: unix seconds with an optional `.nanoseconds` part, exact
/// (a float would lose the nanoseconds of a bound taken from a log timestamp).
pub fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    berth_runtime::logfile::parse_unix_time(s)
}

/// Docker's multiplexed frame (8-byte header) without a tty, the raw bytes with one.
fn frame(e: &LogEntry, timestamps: bool, tty: bool) -> Bytes {
    let payload = e.render(timestamps);
    if tty {
        return Bytes::from(payload);
    }
    let stream = match e.stream {
        Stream::Stdout => 1u8,
        Stream::Stderr => 2u8,
    };
    let mut out = Vec::with_capacity(payload.len() + 8);
    out.extend_from_slice(&[stream, 0, 0, 0]);
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(&payload);
    Bytes::from(out)
}

fn read_options(opts: &LogOptions) -> ReadOptions {
    ReadOptions {
        tail: opts.tail,
        since: opts.since,
        until: opts.until,
        stdout: opts.stdout,
        stderr: opts.stderr,
    }
}

impl Engine {
    /// `logs` of a journald container: its entries from the journal (`journalctl`), and
    /// with `follow` the new ones until the container exits.
    async fn journal_logs(
        &self,
        id: &str,
        tty: bool,
        opts: &LogOptions,
        c: &std::sync::Arc<super::Container>,
    ) -> Result<(bool, mpsc::Receiver<std::io::Result<Bytes>>)> {
        use berth_runtime::log_journald;
        let (tx, rx) = mpsc::channel::<std::io::Result<Bytes>>(64);
        let read = read_options(opts);
        let timestamps = opts.timestamps;
        let id = id.to_string();
        // Subscribed before the state is read: an exit after that read is counted after
        // `start` (the monitor marks the record exited before it counts the exit), so the
        // follow cannot miss it and hang.
        let mut progress = self.subscribe(c);
        let start = progress.borrow_and_update().ended;
        let running = c.view().await.state.status.is_running();
        if !(opts.follow && running) {
            let entries = tokio::task::spawn_blocking(move || log_journald::read(&id, &read))
                .await
                .map_err(|e| EngineError::internal("journal reader", e))?
                .map_err(|e| EngineError::internal("cannot read the journal", e))?;
            tokio::spawn(async move {
                for e in entries {
                    if tx.send(Ok(frame(&e, timestamps, tty))).await.is_err() {
                        return;
                    }
                }
            });
            return Ok((tty, rx));
        }
        let follower = tokio::task::spawn_blocking({
            let id = id.clone();
            move || log_journald::JournalFollower::start(&id, &read)
        })
        .await
        .map_err(|e| EngineError::internal("journal reader", e))?
        .map_err(|e| EngineError::internal("cannot read the journal", e))?;
        // The container's exit ends the follow: journalctl is killed, its output drains.
        let pid = follower.pid();
        tokio::spawn(async move {
            let _ = progress.wait_for(|p| p.ended > start || p.removed).await;
            // Let the journal take the last lines in.
            tokio::time::sleep(std::time::Duration::from_millis(300)).await;
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid as i32),
                nix::sys::signal::Signal::SIGTERM,
            );
        });
        tokio::task::spawn_blocking(move || {
            let mut follower = follower;
            while let Some(e) = follower.next_entry() {
                let item = e.map(|e| frame(&e, timestamps, tty));
                if tx.blocking_send(item).is_err() {
                    return;
                }
            }
        });
        Ok((tty, rx))
    }

    /// Returns whether the container has a tty (raw stream) and the stream of frames.
    pub async fn logs(
        &self,
        name_or_id: &str,
        opts: LogOptions,
    ) -> Result<(bool, mpsc::Receiver<std::io::Result<Bytes>>)> {
        let c = self.get(name_or_id)?;
        // Subscribed before the snapshot, as in journal_logs: a container that exits
        // between the two is either seen stopped or counted after `start`.
        let mut progress = self.subscribe(&c);
        let start = progress.borrow_and_update().ended;
        let rec = c.view().await;
        let tty = rec.config.tty;
        let spec = crate::runtime::log_spec(&rec)?;
        let dir = self.dir(&rec.id);
        let (path, format) = match spec.readable() {
            Readable::JsonFile => (self.log_path(&rec.id), Format::Json),
            Readable::Local => (berth_runtime::logsink::local_log_path(&dir), Format::Local),
            Readable::Cache => (berth_runtime::logsink::cache_log_path(&dir), Format::Local),
            Readable::Journal => {
                return self.journal_logs(&rec.id, tty, &opts, &c).await;
            }
            Readable::No => {
                return Err(EngineError::NotImplemented(
                    berth_runtime::logdriver::NOT_READABLE.into(),
                ))
            }
        };
        // Following ends when the container's output ends (or it is removed), before the
        // exit's teardown and `die`, as moby's (see Progress::ended).
        let stop: Option<StopFuture> = if opts.follow && rec.state.status.is_running() {
            Some(Box::pin(async move {
                let _ = progress.wait_for(|p| p.ended > start || p.removed).await;
            }))
        } else {
            None
        };
        let read = read_options(&opts);
        let mut reader =
            tokio::task::spawn_blocking(move || LogReader::open_as(&path, format, read, stop))
                .await
                .map_err(|e| EngineError::internal("log reader", e))?
                .map_err(|e| EngineError::internal("cannot read the container log", e))?;
        let (tx, rx) = mpsc::channel::<std::io::Result<Bytes>>(64);
        let timestamps = opts.timestamps;
        tokio::spawn(async move {
            while let Some(entry) = reader.next().await {
                let item = entry.map(|e| frame(&e, timestamps, tty));
                if tx.send(item).await.is_err() {
                    return;
                }
            }
        });
        Ok((tty, rx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_with_header_or_raw() {
        let e = LogEntry {
            stream: Stream::Stderr,
            time: parse_time("1704164645.000000001").unwrap_or_default(),
            line: b"hi\n".to_vec(),
        };
        let f = frame(&e, false, false);
        assert_eq!(&f[..8], &[2, 0, 0, 0, 0, 0, 0, 3]);
        assert_eq!(&f[8..], b"hi\n");
        let raw = frame(&e, true, true);
        assert!(raw.starts_with(b"2024-01-02T03:04:05."), "{raw:?}");
        assert!(raw.ends_with(b" hi\n"));
    }

    #[test]
    fn unix_times_keep_nanoseconds() {
        let t = parse_time("1763787537.111420261").expect("time");
        assert_eq!(t.timestamp(), 1_763_787_537);
        assert_eq!(t.timestamp_subsec_nanos(), 111_420_261);
        assert!(parse_time("soon").is_none());
    }
}
