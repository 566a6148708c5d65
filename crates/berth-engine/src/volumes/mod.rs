//! Local volumes: `volumes/<name>/_data` holds the data, `volumes/<name>/volume.json` the
//! record (written atomically, after `_data` exists, so a crash never leaves a record
//! without its data). The local driver's `-o type=... -o device=... -o o=...` volumes are
//! mounted on `_data` when a container needs them (tmpfs, bind, any filesystem).
//!
//! Which containers use a volume is not stored here: the engine counts it from container
//! records, so a crash can never leave a stale reference count.

pub mod copyup;

use crate::error::{EngineError, Result};
use crate::model::VolumeRecord;
use berth_api::models::Volume;
use berth_image::mounter::{Mounter, VolumeFs};
use chrono::{DateTime, SecondsFormat, Utc};
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use tracing::{info, warn};

const RECORD: &str = "volume.json";
const DATA: &str = "_data";
/// The label moby gives anonymous volumes.
pub const ANONYMOUS_LABEL: &str = "com.docker.volume.anonymous";

/// What `volume create` asks for.
#[derive(Debug, Clone, Default)]
pub struct CreateOptions {
    pub name: Option<String>,
    pub driver: String,
    pub labels: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
    pub anonymous: bool,
}

pub struct VolumeStore {
    dir: PathBuf,
    vols: Mutex<HashMap<String, VolumeRecord>>,
    /// Serialises create/remove against the engine's in-use checks (see `Engine`).
    pub op_lock: tokio::sync::Mutex<()>,
    /// Mounts `-o type=` volumes' filesystems.
    mounter: Arc<dyn Mounter>,
    /// A `userns-remap` daemon's remapped root: new volumes' `_data` belong to it.
    owner: Option<(u32, u32)>,
    /// Where `create` and `destroy` are published (none in the store's own tests).
    events: Option<crate::events::Events>,
}

/// Docker's rule for local volume names (and its messages).
pub fn validate_name(name: &str) -> Result<()> {
    let bad = |m: String| Err(EngineError::InvalidParameter(format!("create {name}: {m}")));
    let mut chars = name.chars();
    let valid = chars.next().is_some_and(|c| c.is_ascii_alphanumeric())
        && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !valid {
        return bad(format!(
            "\"{name}\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path"
        ));
    }
    if name.len() < 2 {
        return bad(
            "volume name is too short, names should be at least two alphanumeric characters".into(),
        );
    }
    Ok(())
}

/// moby's local driver validateOpts (its messages; mandatory options checked in a fixed order).
fn validate_options(name: &str, opts: &BTreeMap<String, String>) -> Result<()> {
    let bad = |m: String| Err(EngineError::InvalidParameter(format!("create {name}: {m}")));
    for k in opts.keys() {
        if !matches!(k.as_str(), "type" | "device" | "o" | "size") {
            return bad(format!("invalid option: \"{k}\""));
        }
    }
    let mandatory: [(&str, &[&str]); 3] = [
        ("device", &["type"]),
        ("type", &["device"]),
        ("o", &["device", "type"]),
    ];
    for (opt, reqs) in mandatory {
        if opts.contains_key(opt) {
            if let Some(r) = reqs.iter().find(|r| !opts.contains_key(**r)) {
                return bad(format!("missing required option: \"{r}\""));
            }
        }
    }
    Ok(())
}

fn random_name() -> String {
    let b: [u8; 32] = rand::random();
    hex::encode(b)
}

impl VolumeStore {
    /// The store of a `userns-remap` daemon: volumes it creates belong to `owner`.
    pub fn with_owner(mut self, owner: Option<(u32, u32)>) -> VolumeStore {
        self.owner = owner;
        self
    }

    /// Loads every volume under `<root>/volumes`. A directory whose record is missing or
    /// unreadable (a crash between mkdir and the record) is kept as a plain local volume:
    /// its data must not disappear.
    pub fn open(root: &Path, mounter: Arc<dyn Mounter>) -> Result<VolumeStore> {
        let dir = root.join("volumes");
        std::fs::create_dir_all(&dir)?;
        let mut vols = HashMap::new();
        for entry in std::fs::read_dir(&dir)? {
            let entry = entry?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || !entry.path().join(DATA).is_dir() {
                continue;
            }
            let rec = std::fs::read(entry.path().join(RECORD))
                .ok()
                .and_then(|d| serde_json::from_slice::<VolumeRecord>(&d).ok())
                .unwrap_or_else(|| {
                    warn!(volume = %name, "volume without a readable record; keeping it");
                    VolumeRecord {
                        name: name.clone(),
                        driver: "local".into(),
                        labels: BTreeMap::new(),
                        options: BTreeMap::new(),
                        created_at: entry
                            .metadata()
                            .and_then(|m| m.modified())
                            .map(DateTime::<Utc>::from)
                            .unwrap_or_else(|_| Utc::now()),
                        anonymous: false,
                    }
                });
            vols.insert(name, rec);
        }
        Ok(VolumeStore {
            dir,
            vols: Mutex::new(vols),
            op_lock: tokio::sync::Mutex::new(()),
            mounter,
            owner: None,
            events: None,
        })
    }

    /// The store publishing moby's volume events (`create`, `destroy`) on `events`.
    pub fn with_events(mut self, events: crate::events::Events) -> VolumeStore {
        self.events = Some(events);
        self
    }

    /// A volume event as moby's (actor: the volume's name; `driver` among the attributes).
    pub(crate) fn event(&self, action: &str, name: &str, attrs: &[(&str, &str)]) {
        if let Some(ev) = &self.events {
            ev.publish(
                "volume",
                action,
                name,
                attrs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            );
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, VolumeRecord>> {
        self.vols.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Host path of a volume's data.
    pub fn data_path(&self, name: &str) -> PathBuf {
        self.dir.join(name).join(DATA)
    }

    /// Creates a volume, or returns the existing one of that name (as Docker does).
    pub fn create(&self, opts: CreateOptions) -> Result<VolumeRecord> {
        let name = match opts.name.filter(|n| !n.is_empty()) {
            Some(n) => {
                validate_name(&n)?;
                n
            }
            None => random_name(),
        };
        let driver = if opts.driver.is_empty() {
            "local".to_string()
        } else {
            opts.driver
        };
        if let Some(existing) = self.lock().get(&name) {
            if existing.driver != driver {
                return Err(EngineError::Conflict(format!(
                    "create {name}: volume name {name} already in use by driver {}",
                    existing.driver
                )));
            }
            return Ok(existing.clone());
        }
        if driver != "local" {
            return Err(EngineError::NotFound(format!(
                "create {name}: error looking up volume plugin {driver}: plugin \"{driver}\" not found"
            )));
        }
        validate_options(&name, &opts.options)?;
        let mut labels = opts.labels;
        if opts.anonymous {
            // moby 23+ marks the volumes a container makes for itself.
            labels.insert(ANONYMOUS_LABEL.into(), String::new());
        }
        let rec = VolumeRecord {
            name: name.clone(),
            driver,
            labels,
            options: opts.options,
            created_at: Utc::now(),
            anonymous: opts.anonymous,
        };
        let vdir = self.dir.join(&name);
        std::fs::create_dir_all(vdir.join(DATA))
            .map_err(|e| EngineError::internal(&format!("create {name}"), e))?;
        if let Some(owner) = self.owner {
            crate::userns::chown(&vdir.join(DATA), owner)
                .map_err(|e| EngineError::internal(&format!("create {name}"), e))?;
        }
        if let Err(e) = berth_api::atomic::write_json(&vdir.join(RECORD), &rec) {
            let _ = std::fs::remove_dir_all(&vdir);
            return Err(EngineError::internal(&format!("create {name}"), e));
        }
        self.lock().insert(name.clone(), rec.clone());
        info!(volume = %name, "volume created");
        self.event("create", &name, &[("driver", &rec.driver)]);
        Ok(rec)
    }

    pub fn get(&self, name: &str) -> Result<VolumeRecord> {
        self.lock()
            .get(name)
            .cloned()
            .ok_or_else(|| EngineError::NotFound(format!("get {name}: no such volume")))
    }

    pub fn list(&self) -> Vec<VolumeRecord> {
        let mut v: Vec<VolumeRecord> = self.lock().values().cloned().collect();
        v.sort_by(|a, b| a.name.cmp(&b.name));
        v
    }

    /// Removes a volume and its data (the caller checked that no container uses it).
    pub fn remove(&self, name: &str) -> Result<()> {
        let Some(driver) = self.lock().get(name).map(|v| v.driver.clone()) else {
            return Err(EngineError::NotFound(format!("get {name}: no such volume")));
        };
        let vdir = self.dir.join(name);
        self.unmount(name);
        // The record goes first: a crash mid-way leaves a directory that `open` keeps as
        // a volume rather than a record pointing at half-deleted data.
        let _ = std::fs::remove_file(vdir.join(RECORD));
        match std::fs::remove_dir_all(&vdir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                return Err(EngineError::internal(&format!("remove {name}"), e));
            }
            _ => {}
        }
        self.lock().remove(name);
        info!(volume = %name, "volume removed");
        self.event("destroy", name, &[("driver", &driver)]);
        Ok(())
    }

    /// Bytes used by a volume's data.
    pub fn size(&self, name: &str) -> u64 {
        dir_size(&self.data_path(name))
    }

    /// Makes the volume's data ready for a container: mounts a local-driver volume created
    /// with `-o type=...` on `_data` if it is not mounted yet. Returns the host path.
    pub fn mount(&self, name: &str) -> Result<PathBuf> {
        let rec = self.get(name)?;
        let data = self.data_path(name);
        let (Some(typ), Some(device)) = (rec.options.get("type"), rec.options.get("device")) else {
            return Ok(data);
        };
        if self.mounter.is_mount_point(&data) {
            return Ok(data);
        }
        let fs = VolumeFs {
            fs_type: typ.clone(),
            device: device.clone(),
            options: rec.options.get("o").cloned().unwrap_or_default(),
        };
        self.mounter.mount_volume(&fs, &data).map_err(|e| {
            EngineError::Internal(format!(
                "error while mounting volume '{}': failed to mount local volume: {e}",
                data.display()
            ))
        })?;
        Ok(data)
    }

    /// Whether the volume's data directory is a mount point (a mounted `-o type=` volume).
    pub fn is_mounted(&self, name: &str) -> bool {
        self.mounter.is_mount_point(&self.data_path(name))
    }

    /// Unmounts a local-driver volume's filesystem (no-op for plain volumes).
    pub fn unmount(&self, name: &str) {
        let data = self.data_path(name);
        if self.mounter.is_mount_point(&data) {
            if let Err(e) = self.mounter.unmount_volume(&data) {
                warn!(volume = %name, error = %e, "cannot unmount volume");
            }
        }
    }

    /// A volume as the API shows it (`volume inspect`, `GET /volumes`); empty maps are
    /// `null`, as moby's nil maps.
    pub fn json(&self, rec: &VolumeRecord) -> Volume {
        let map_or_null = |m: &BTreeMap<String, String>| (!m.is_empty()).then(|| m.clone());
        Volume {
            created_at: rec.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            driver: rec.driver.clone(),
            labels: map_or_null(&rec.labels),
            mountpoint: self.data_path(&rec.name).to_string_lossy().into_owned(),
            name: rec.name.clone(),
            options: map_or_null(&rec.options),
            scope: "local".into(),
            usage_data: None,
        }
    }
}

/// Bytes used below `path`, as moby's directory.Size: every non-directory's own size
/// (symlinks included, not followed), a hard-linked inode once.
pub fn dir_size(path: &Path) -> u64 {
    fn walk(p: &Path, seen: &mut std::collections::HashSet<(u64, u64)>) -> u64 {
        use std::os::unix::fs::MetadataExt;
        let Ok(rd) = std::fs::read_dir(p) else {
            return 0;
        };
        let mut total = 0;
        for e in rd.flatten() {
            // DirEntry::metadata does not follow symlinks.
            let Ok(m) = e.metadata() else { continue };
            if m.is_dir() {
                total += walk(&e.path(), seen);
            } else if m.len() > 0 && seen.insert((m.dev(), m.ino())) {
                total += m.len();
            }
        }
        total
    }
    walk(path, &mut std::collections::HashSet::new())
}

/// `label=key` or `label=key=value` against a label map.
pub fn label_matches(labels: &BTreeMap<String, String>, filter: &str) -> bool {
    match filter.split_once('=') {
        Some((k, v)) => labels.get(k).is_some_and(|x| x == v),
        None => labels.contains_key(filter),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_docker() {
        assert!(validate_name("data-1_x.y").is_ok());
        let e = validate_name("bad name!").unwrap_err().to_string();
        assert!(e.contains("includes invalid characters"), "{e}");
        let e = validate_name("a").unwrap_err().to_string();
        assert!(e.contains("too short"), "{e}");
        assert!(validate_name("-x").is_err());
    }

    /// A volume's JSON as `json()` built it before the typed model (json!).
    fn volume_before(s: &VolumeStore, rec: &VolumeRecord) -> serde_json::Value {
        use serde_json::{json, Value};
        let map_or_null = |m: &BTreeMap<String, String>| {
            if m.is_empty() {
                Value::Null
            } else {
                json!(m)
            }
        };
        json!({
            "CreatedAt": rec.created_at.to_rfc3339_opts(SecondsFormat::Secs, true),
            "Driver": rec.driver,
            "Labels": map_or_null(&rec.labels),
            "Mountpoint": s.data_path(&rec.name).to_string_lossy(),
            "Name": rec.name,
            "Options": map_or_null(&rec.options),
            "Scope": "local",
        })
    }

    #[test]
    fn typed_volume_json_is_the_same_bytes() {
        let t = tempfile::tempdir().unwrap();
        let s = VolumeStore::open(t.path(), Arc::new(berth_image::mounter::HostMounter)).unwrap();
        let plain = s
            .create(CreateOptions {
                name: Some("plain".into()),
                ..Default::default()
            })
            .unwrap();
        let full = s
            .create(CreateOptions {
                name: Some("full".into()),
                labels: [("b", "2"), ("a", "1")]
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .into(),
                options: [("type", "tmpfs"), ("device", "tmpfs"), ("o", "size=1m")]
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .into(),
                ..Default::default()
            })
            .unwrap();
        for rec in [&plain, &full] {
            assert_eq!(
                serde_json::to_string(&s.json(rec)).unwrap(),
                serde_json::to_string(&volume_before(&s, rec)).unwrap()
            );
        }
        // `system df` adds UsageData last, as the daemon inserted it.
        let mut with_usage = s.json(&full);
        with_usage.usage_data = Some(berth_api::models::VolumeUsageData {
            ref_count: 2,
            size: 4096,
        });
        let mut before = volume_before(&s, &full);
        before["UsageData"] = serde_json::json!({ "RefCount": 2usize, "Size": 4096u64 });
        assert_eq!(
            serde_json::to_string(&with_usage).unwrap(),
            serde_json::to_string(&before).unwrap()
        );
    }

    #[test]
    fn store_round_trip_and_keeps_orphans() {
        let t = tempfile::tempdir().unwrap();
        let s = VolumeStore::open(t.path(), Arc::new(berth_image::mounter::HostMounter)).unwrap();
        let v = s
            .create(CreateOptions {
                name: Some("db".into()),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(v.driver, "local");
        std::fs::write(s.data_path("db").join("f"), b"abc").unwrap();
        assert_eq!(s.size("db"), 3);
        // moby's sizes: a symlink counts its own length, a hard link once.
        std::fs::hard_link(s.data_path("db").join("f"), s.data_path("db").join("h")).unwrap();
        std::os::unix::fs::symlink("/proc/mounts", s.data_path("db").join("l")).unwrap();
        assert_eq!(s.size("db"), 3 + 12);
        std::fs::remove_file(s.data_path("db").join("h")).unwrap();
        std::fs::remove_file(s.data_path("db").join("l")).unwrap();
        // A crash that lost the record keeps the data as a volume.
        std::fs::remove_file(t.path().join("volumes/db/volume.json")).unwrap();
        let s = VolumeStore::open(t.path(), Arc::new(berth_image::mounter::HostMounter)).unwrap();
        assert_eq!(s.get("db").unwrap().name, "db");
        s.remove("db").unwrap();
        assert!(!t.path().join("volumes/db").exists());
        assert!(s.get("db").is_err());
        let e = s
            .create(CreateOptions {
                name: Some("x1".into()),
                options: [("foo".to_string(), "1".to_string())].into(),
                ..Default::default()
            })
            .unwrap_err();
        assert_eq!(e.to_string(), "create x1: invalid option: \"foo\"");
    }
}
