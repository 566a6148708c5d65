//! The build cache: step key -> image id, in `<data-root>/builder/cache.json`. A key hashes
//! the parent image, the step (instruction, expanded arguments, build args it sees), the
//! config it produces and, for COPY/ADD, the content of the files (never their mtimes), so
//! a hit can only return the image that step would build. Entries whose image is gone are
//! ignored (and dropped on the next write).

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

static WRITE: Mutex<()> = Mutex::new(());

#[derive(Clone)]
pub struct Cache {
    path: PathBuf,
    map: BTreeMap<String, String>,
}

pub fn key(parts: &[&str]) -> String {
    let mut h = Sha256::new();
    for p in parts {
        h.update((p.len() as u64).to_le_bytes());
        h.update(p.as_bytes());
    }
    hex::encode(h.finalize())
}

impl Cache {
    pub fn open(data_root: &Path) -> Cache {
        let path = data_root.join("builder").join("cache.json");
        let map = std::fs::read(&path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        Cache { path, map }
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.map.get(key).map(String::as_str)
    }

    /// Records a step; merges with what other builds wrote meanwhile.
    pub fn put(&mut self, key: String, id: String, exists: impl Fn(&str) -> bool) {
        let _g = WRITE.lock().unwrap_or_else(|e| e.into_inner());
        let mut on_disk: BTreeMap<String, String> = std::fs::read(&self.path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        on_disk.insert(key.clone(), id.clone());
        on_disk.retain(|_, v| exists(v));
        self.map = on_disk;
        if let Some(dir) = self.path.parent() {
            let _ = std::fs::create_dir_all(dir);
        }
        if let Err(e) = berth_api::atomic::write_json(&self.path, &self.map) {
            tracing::warn!(error = %e, "writing the build cache");
        }
    }
}
