//! Crash-safe record writes: a reader sees the old file or the new one, never half of one.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Writes `data` to `path` through a temp file, fsync and rename, and a directory fsync
/// when `path` is new. Replacing a file needs none: its data is on disk before the rename, so
/// after a crash the name holds the old file or the new one, both whole (moby's
/// AtomicWriteFile never syncs the directory). A new name is synced so that a record, once
/// written, survives a crash; one fsync fewer on every later write (container start and
/// stop each rewrite the record).
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
    let replacing = fs::symlink_metadata(path).is_ok_and(|m| m.is_file());
    fs::rename(&tmp, path)?;
    if replacing {
        return Ok(());
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// A new file and a replaced one both read whole, and no temp file is left beside them.
    #[test]
    fn writes_new_and_replaced_files_whole() {
        let dir = std::env::temp_dir().join(format!("berth-atomic-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config.json");
        write_file(&path, b"first").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"first");
        write_file(&path, b"second, longer").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"second, longer");
        write_json(&path, &vec![1, 2]).unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"[1,2]");
        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("config.json")]);
        fs::remove_dir_all(&dir).unwrap();
    }
}
