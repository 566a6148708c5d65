//! `GET /containers/{id}/logs`: reads the json-file log the shim writes (with its rotated
//! files), filters and frames it, and follows it until the container exits.

use super::Engine;
use crate::error::Result;
use bytes::Bytes;
use serde::Deserialize;
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::Duration;
use tokio::sync::mpsc;

#[derive(Debug, Clone, Default)]
pub struct LogOptions {
    pub follow: bool,
    pub stdout: bool,
    pub stderr: bool,
    pub timestamps: bool,
    /// Unix seconds (with fraction); entries before are skipped.
    pub since: Option<f64>,
    /// Unix seconds; entries after are skipped.
    pub until: Option<f64>,
    /// Only the last N entries.
    pub tail: Option<usize>,
}

#[derive(Deserialize)]
struct Entry {
    log: String,
    stream: String,
    time: String,
}

/// Rotated files first (oldest = highest suffix), the live file last.
fn log_files(path: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for n in (1..100).rev() {
        let p = PathBuf::from(format!("{}.{n}", path.display()));
        if p.exists() {
            files.push(p);
        }
    }
    files.push(path.to_path_buf());
    files
}

/// Turns one log line into a frame, or None when filtered out.
fn frame(line: &str, opts: &LogOptions, tty: bool) -> Option<Bytes> {
    let e: Entry = serde_json::from_str(line).ok()?;
    let stream = match e.stream.as_str() {
        "stdout" if opts.stdout => 1u8,
        "stderr" if opts.stderr => 2u8,
        _ => return None,
    };
    if opts.since.is_some() || opts.until.is_some() {
        let t = chrono::DateTime::parse_from_rfc3339(&e.time).ok()?;
        let secs = t.timestamp() as f64 + f64::from(t.timestamp_subsec_nanos()) / 1e9;
        if opts.since.is_some_and(|s| secs < s) || opts.until.is_some_and(|u| secs > u) {
            return None;
        }
    }
    let mut payload = Vec::with_capacity(e.log.len() + 40);
    if opts.timestamps {
        payload.extend_from_slice(e.time.as_bytes());
        payload.push(b' ');
    }
    payload.extend_from_slice(e.log.as_bytes());
    if tty {
        return Some(Bytes::from(payload));
    }
    let mut out = Vec::with_capacity(payload.len() + 8);
    out.extend_from_slice(&[stream, 0, 0, 0]);
    out.extend_from_slice(&(payload.len() as u32).to_be_bytes());
    out.extend_from_slice(&payload);
    Some(Bytes::from(out))
}

impl Engine {
    /// Returns whether the container has a tty (raw stream) and the stream of frames.
    pub async fn logs(
        &self,
        name_or_id: &str,
        opts: LogOptions,
    ) -> Result<(bool, mpsc::Receiver<std::io::Result<Bytes>>)> {
        let c = self.get(name_or_id)?;
        let rec = c.snapshot().await;
        let tty = rec.config.tty;
        let path = self.log_path(&rec.id);
        let mut progress = self.subscribe(&c);
        let running = rec.state.status.is_running();
        let (tx, rx) = mpsc::channel::<std::io::Result<Bytes>>(64);
        tokio::spawn(async move {
            // The history, read on the blocking pool.
            let p = path.clone();
            let o = opts.clone();
            let history = tokio::task::spawn_blocking(move || -> (Vec<Bytes>, u64) {
                let mut frames = Vec::new();
                let mut live_len = 0;
                let files = log_files(&p);
                for f in &files {
                    let Ok(file) = std::fs::File::open(f) else {
                        continue;
                    };
                    for line in BufReader::new(file).lines().map_while(|l| l.ok()) {
                        if let Some(fr) = frame(&line, &o, tty) {
                            frames.push(fr);
                        }
                    }
                    if f == &p {
                        live_len = std::fs::metadata(f).map(|m| m.len()).unwrap_or(0);
                    }
                }
                if let Some(n) = o.tail {
                    let skip = frames.len().saturating_sub(n);
                    frames.drain(..skip);
                }
                (frames, live_len)
            })
            .await
            .unwrap_or_default();
            let (frames, mut offset) = history;
            for f in frames {
                if tx.send(Ok(f)).await.is_err() {
                    return;
                }
            }
            if !opts.follow || !running {
                return;
            }
            let start_exits = progress.borrow_and_update().exits;
            loop {
                let done = {
                    let p = progress.borrow();
                    p.exits > start_exits || p.removed
                };
                // Read whatever was appended since the last pass.
                let p = path.clone();
                let o = opts.clone();
                let (frames, new_offset) =
                    tokio::task::spawn_blocking(move || read_from(&p, offset, &o, tty))
                        .await
                        .unwrap_or((Vec::new(), offset));
                offset = new_offset;
                for f in frames {
                    if tx.send(Ok(f)).await.is_err() {
                        return;
                    }
                }
                if done || tx.is_closed() {
                    return;
                }
                tokio::select! {
                    _ = progress.changed() => {}
                    _ = tokio::time::sleep(Duration::from_millis(100)) => {}
                }
            }
        });
        Ok((tty, rx))
    }
}

/// New complete lines of the live file after `offset`; a file that shrank was rotated,
/// so reading restarts at its beginning.
fn read_from(path: &Path, offset: u64, opts: &LogOptions, tty: bool) -> (Vec<Bytes>, u64) {
    let Ok(mut file) = std::fs::File::open(path) else {
        return (Vec::new(), offset);
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let mut pos = if len < offset { 0 } else { offset };
    if file.seek(SeekFrom::Start(pos)).is_err() {
        return (Vec::new(), offset);
    }
    let mut frames = Vec::new();
    let mut reader = BufReader::new(file);
    let mut line = String::new();
    loop {
        line.clear();
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if !line.ends_with('\n') {
                    break; // a line still being written: read it next time
                }
                pos += n as u64;
                if let Some(f) = frame(line.trim_end(), opts, tty) {
                    frames.push(f);
                }
            }
        }
    }
    (frames, pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_with_header_and_filters() {
        let line = r#"{"log":"hi\n","stream":"stdout","time":"2024-01-02T03:04:05.000000001Z"}"#;
        let opts = LogOptions {
            stdout: true,
            stderr: true,
            ..Default::default()
        };
        let f = frame(line, &opts, false).expect("frame");
        assert_eq!(&f[..8], &[1, 0, 0, 0, 0, 0, 0, 3]);
        assert_eq!(&f[8..], b"hi\n");
        let only_err = LogOptions {
            stderr: true,
            ..Default::default()
        };
        assert!(frame(line, &only_err, false).is_none());
        let ts = LogOptions {
            stdout: true,
            timestamps: true,
            ..Default::default()
        };
        let f = frame(line, &ts, true).expect("frame");
        assert_eq!(&f[..], b"2024-01-02T03:04:05.000000001Z hi\n");
        let since = LogOptions {
            stdout: true,
            since: Some(1704164646.0),
            ..Default::default()
        };
        assert!(frame(line, &since, false).is_none());
    }
}
