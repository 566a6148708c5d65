//! Crash-safe record writes: a reader sees the old file or the new one, never half of one.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Writes `data` to `path` through a temp file, fsync, rename and a directory fsync.
pub fn write_file(path: &Path, data: &[u8]) -> io::Result<()> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no parent"))?;
    // Unique per process and per call: threads writing the same record never share a temp file.
    let tmp = temp_name(path)?;
    {
        let mut f = File::create(&tmp)?;
        f.write_all(data)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    File::open(dir)?.sync_all()
}

/// Runtime state that cannot outlive the machine's uptime (a bundle spec regenerated at each
/// start, a shim's pid, an exit status whose processes die with the machine anyway): the
/// same temp-and-rename, so readers never see half a file, without the fsyncs (~0.5 ms
/// each on this kind of disk, on every container start) that only protect from power loss.
pub fn write_file_volatile(path: &Path, data: &[u8]) -> io::Result<()> {
    let tmp = temp_name(path)?;
    fs::write(&tmp, data)?;
    fs::rename(&tmp, path)
}

/// `write_file_volatile` of `value` as JSON.
pub fn write_json_volatile<T: serde::Serialize>(path: &Path, value: &T) -> io::Result<()> {
    let data = serde_json::to_vec(value).map_err(io::Error::other)?;
    write_file_volatile(path, &data)
}

fn temp_name(path: &Path) -> io::Result<std::path::PathBuf> {
    let dir = path
        .parent()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no parent"))?;
    let name = path
        .file_name()
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "path has no file name"))?;
    static SEQ: AtomicU64 = AtomicU64::new(0);
    Ok(dir.join(format!(
        ".{}.tmp{}-{}",
        name.to_string_lossy(),
        std::process::id(),
        SEQ.fetch_add(1, Ordering::Relaxed)
    )))
}

/// Serializes `value` as JSON and writes it atomically to `path`.
pub fn write_json<T: serde::Serialize>(path: &Path, value: &T) -> io::Result<()> {
    let data = serde_json::to_vec(value).map_err(io::Error::other)?;
    write_file(path, &data)
}
