//! The build cache: step key -> image id, in `<data-root>/builder/cache.json`. A key hashes
//! the parent image, the step (instruction, expanded arguments, build args it sees), the
//! config it produces and, for COPY/ADD, the content of the files (never their mtimes), so
//! a hit can only return the image that step would build. Entries whose image is gone are
//! ignored (and dropped on the next write).
//!
//! This file and the step images it names are berth's build cache: `describe` reports one
//! record per step (size = the bytes the step added; "shared" when a tagged or running
//! image builds on it) as `GET /system/df`'s `BuildCache` (moby's records); `POST
//! /build/prune` (`routes/observe.rs` → `prune`) drops the unshared records (all with
//! `all`; `until` and `keep-storage`/`reserved-space` hold records back; other filters
//! refused) and deletes the step images nothing needs any more (untagged, unused,
//! childless).

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

    /// Reads the file again: what other builds (or this build's other stages) recorded.
    pub fn refresh(&mut self) {
        let _g = WRITE.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(map) = std::fs::read(&self.path)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
        {
            self.map = map;
        }
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

/// What one image tells the cache's accounting.
#[derive(Debug, Clone)]
pub struct ImageFacts {
    pub id: String,
    pub parent: String,
    pub size: u64,
    /// Unix seconds of its creation.
    pub created: i64,
    /// It has a tag or digest reference.
    pub referenced: bool,
    /// A container uses it.
    pub in_use: bool,
}

/// One record of the build cache as `system df` and `builder prune` report it: a step
/// key and the image that step made.
#[derive(Debug, Clone, PartialEq)]
pub struct CacheRecord {
    pub id: String,
    pub image: String,
    /// The bytes the step added (its image's size less its parent's).
    pub size: u64,
    /// Unix seconds (the step image's creation).
    pub created: i64,
    /// A tagged image or a container's image builds on it: removing the record frees
    /// nothing (docker's "shared" build cache).
    pub shared: bool,
}

/// `builder prune`'s options.
#[derive(Debug, Clone, Default)]
pub struct PruneOptions {
    /// Every record, not only those no tagged image or container builds on.
    pub all: bool,
    /// Only records created before these unix seconds (`--filter until=`).
    pub until: Option<i64>,
    /// Keep the newest records up to this many bytes (`--keep-storage`); 0 keeps none.
    pub keep_storage: u64,
}

/// What a prune removed: the records' ids and the bytes their images freed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PruneReport {
    pub deleted: Vec<String>,
    pub reclaimed: u64,
}

/// The ids of `images` some referenced or in-use image builds on (itself included).
fn reachable(images: &[ImageFacts]) -> std::collections::HashSet<String> {
    let by_id: BTreeMap<&str, &ImageFacts> = images.iter().map(|i| (i.id.as_str(), i)).collect();
    let mut seen = std::collections::HashSet::new();
    for i in images.iter().filter(|i| i.referenced || i.in_use) {
        let mut cur = Some(i);
        while let Some(c) = cur {
            if !seen.insert(c.id.clone()) {
                break;
            }
            cur = by_id.get(c.parent.as_str()).copied();
        }
    }
    seen
}

/// The records of `map` (step key → image id) described with the images there are; a
/// record whose image is gone is no cache (the builder ignores it) and is left out.
pub fn describe(map: &BTreeMap<String, String>, images: &[ImageFacts]) -> Vec<CacheRecord> {
    let by_id: BTreeMap<&str, &ImageFacts> = images.iter().map(|i| (i.id.as_str(), i)).collect();
    let shared = reachable(images);
    map.iter()
        .filter_map(|(key, image)| {
            let me = by_id.get(image.as_str())?;
            let parent_size = by_id.get(me.parent.as_str()).map(|p| p.size).unwrap_or(0);
            Some(CacheRecord {
                id: key.clone(),
                image: image.clone(),
                size: me.size.saturating_sub(parent_size),
                created: me.created,
                shared: shared.contains(image),
            })
        })
        .collect()
}

/// The records a prune removes: the unshared ones (every one with `all`) created before
/// `until`, oldest first, until what stays fits `keep_storage`.
pub fn plan(records: &[CacheRecord], opts: &PruneOptions) -> Vec<String> {
    let mut candidates: Vec<&CacheRecord> = records
        .iter()
        .filter(|r| opts.all || !r.shared)
        .filter(|r| opts.until.is_none_or(|u| r.created < u))
        .collect();
    candidates.sort_by_key(|r| (r.created, r.id.clone()));
    if opts.keep_storage == 0 {
        return candidates.into_iter().map(|r| r.id.clone()).collect();
    }
    let mut total: u64 = records.iter().filter(|r| !r.shared).map(|r| r.size).sum();
    let mut out = Vec::new();
    for r in candidates {
        if total <= opts.keep_storage {
            break;
        }
        total = total.saturating_sub(if r.shared { 0 } else { r.size });
        out.push(r.id.clone());
    }
    out
}

impl Cache {
    /// The records as stored now (step key → image id).
    pub fn records(data_root: &Path) -> BTreeMap<String, String> {
        Cache::open(data_root).map
    }

    /// Drops the records `keys` (under the lock builds write with); returns the image ids
    /// they named.
    pub fn forget(data_root: &Path, keys: &[String]) -> Vec<String> {
        let _g = WRITE.lock().unwrap_or_else(|e| e.into_inner());
        let mut c = Cache::open(data_root);
        let images: Vec<String> = keys.iter().filter_map(|k| c.map.remove(k)).collect();
        if let Err(e) = berth_api::atomic::write_json(&c.path, &c.map) {
            tracing::warn!(error = %e, "writing the build cache");
        }
        images
    }
}

/// `builder prune` on the image store: drops the planned records, then deletes the step
/// images they named that nothing needs any more (untagged, unused, no child image, no
/// remaining record), leaves first.
pub fn prune(
    data_root: &Path,
    store: &berth_image::ImageStore,
    in_use: &std::collections::HashSet<String>,
    opts: &PruneOptions,
) -> std::result::Result<PruneReport, berth_image::ImageError> {
    let facts = image_facts(store, in_use)?;
    let map = Cache::records(data_root);
    let records = describe(&map, &facts);
    let keys = plan(&records, opts);
    let size_of: BTreeMap<String, u64> =
        records.iter().map(|r| (r.image.clone(), r.size)).collect();
    // Records whose image is gone go too, unreported: they were no cache any more.
    let mut dropped = keys.clone();
    dropped.extend(
        map.keys()
            .filter(|k| !records.iter().any(|r| &r.id == *k))
            .cloned(),
    );
    let mut doomed: Vec<String> = Cache::forget(data_root, &dropped);
    let kept: std::collections::HashSet<String> = Cache::records(data_root).into_values().collect();
    doomed.retain(|i| !kept.contains(i));
    doomed.sort();
    doomed.dedup();
    let mut reclaimed = 0;
    loop {
        let facts = image_facts(store, in_use)?;
        let parents: std::collections::HashSet<&str> =
            facts.iter().map(|f| f.parent.as_str()).collect();
        let removable: Vec<String> = doomed
            .iter()
            .filter(|id| {
                facts.iter().any(|f| {
                    &&f.id == id && !f.referenced && !f.in_use && !parents.contains(f.id.as_str())
                })
            })
            .cloned()
            .collect();
        if removable.is_empty() {
            break;
        }
        for id in &removable {
            // Only the planned images: a parent still recorded as cache stays.
            match store.remove(id, false, false, &|_| Vec::new()) {
                Ok(_) => reclaimed += size_of.get(id).copied().unwrap_or(0),
                Err(e) => tracing::debug!(image = %id, error = %e, "build cache image kept"),
            }
        }
        doomed.retain(|i| !removable.contains(i));
    }
    Ok(PruneReport {
        deleted: keys,
        reclaimed,
    })
}

/// The facts the cache's accounting needs about every image of the store.
pub fn image_facts(
    store: &berth_image::ImageStore,
    in_use: &std::collections::HashSet<String>,
) -> std::result::Result<Vec<ImageFacts>, berth_image::ImageError> {
    Ok(store
        .list()?
        .into_iter()
        .map(|i| ImageFacts {
            created: chrono::DateTime::parse_from_rfc3339(&i.created)
                .map(|t| t.timestamp())
                .unwrap_or(0),
            referenced: !i.repo_tags.is_empty() || !i.repo_digests.is_empty(),
            in_use: in_use.contains(&i.id),
            parent: i.parent,
            size: i.size,
            id: i.id,
        })
        .collect())
}

#[cfg(test)]
mod prune_tests {
    use super::*;

    fn img(id: &str, parent: &str, size: u64, created: i64, referenced: bool) -> ImageFacts {
        ImageFacts {
            id: id.into(),
            parent: parent.into(),
            size,
            created,
            referenced,
            in_use: false,
        }
    }

    #[test]
    fn shared_records_stay_unless_all_and_keep_storage_keeps_the_newest() {
        // base (tagged) <- s1 <- s2 <- final (tagged); base <- d1 <- d2 (a build whose
        // result was untagged since: dangling).
        let images = vec![
            img("base", "", 100, 1, true),
            img("s1", "base", 110, 10, false),
            img("s2", "s1", 130, 11, false),
            img("final", "s2", 130, 12, true),
            img("d1", "base", 150, 20, false),
            img("d2", "d1", 170, 21, false),
        ];
        let map: BTreeMap<String, String> = [
            ("k1", "s1"),
            ("k2", "s2"),
            ("k3", "final"),
            ("k4", "d1"),
            ("k5", "d2"),
            ("k6", "gone"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let recs = describe(&map, &images);
        let r = |k: &str| recs.iter().find(|r| r.id == k).cloned().expect("record");
        assert!(r("k1").shared && r("k2").shared && r("k3").shared);
        assert!(!r("k4").shared && !r("k5").shared);
        assert_eq!((r("k4").size, r("k5").size), (50, 20));
        assert!(
            recs.iter().all(|r| r.id != "k6"),
            "a record of a gone image is none"
        );
        let plan_of = |o: PruneOptions| plan(&recs, &o);
        assert_eq!(plan_of(PruneOptions::default()), ["k4", "k5"]);
        assert_eq!(
            plan_of(PruneOptions {
                all: true,
                ..Default::default()
            }),
            ["k1", "k2", "k3", "k4", "k5"]
        );
        assert_eq!(
            plan_of(PruneOptions {
                until: Some(21),
                ..Default::default()
            }),
            ["k4"]
        );
        // 70 unshared bytes; keeping 20 drops the oldest (k4, 50 bytes) only.
        assert_eq!(
            plan_of(PruneOptions {
                keep_storage: 20,
                ..Default::default()
            }),
            ["k4"]
        );
    }
}
