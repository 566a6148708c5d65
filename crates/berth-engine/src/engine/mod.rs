//! The `Engine` facade: the single writer of the data root. It owns the image store, the
//! volumes, the networks, the event bus and the index of containers; the container
//! operations (`crate::container`) and the network and volume API operations that need
//! the containers (`networks.rs`, `volumes.rs`) are its methods.

mod networks;
mod volumes;

use crate::config::EngineConfig;
use crate::container::{exec, Container, Progress};
use crate::error::{EngineError, Result};
use crate::images::Images;
use crate::seams::Seams;
use berth_image::mounter::Mounter;
use berth_runtime::adapter::RuntimeAdapter;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex as StdMutex, RwLock, RwLock as StdRwLock};
use tokio::sync::watch;
use tracing::debug;

#[derive(Default)]
pub(crate) struct Index {
    pub(crate) by_id: HashMap<String, Arc<Container>>,
    /// name (no slash) -> id
    pub(crate) names: HashMap<String, String>,
}

pub struct Engine {
    pub cfg: EngineConfig,
    /// This daemon's persistent identity (`docker info` ID).
    daemon_id: String,
    pub images: Images,
    /// Local volumes (`volumes/`); containers' use of them is in their records.
    pub volumes: crate::volumes::VolumeStore,
    /// The event bus (`GET /events`).
    pub events: crate::events::Events,
    /// The read-only layer every container gets above its image (mount points, /.dockerenv).
    pub(crate) init_layer: PathBuf,
    index: RwLock<Index>,
    /// Exec instances by id (in memory, as Docker keeps them).
    pub(crate) execs: StdMutex<HashMap<String, Arc<exec::Exec>>>,
    /// User-defined networks and their pools.
    pub networks: crate::network::Networks,
    /// Compiled seccomp programs (`seccomp/` in the data root), one per distinct filter.
    seccomp_cache: berth_runtime::seccomp::BpfCache,
    /// Containers' processes: their shims.
    pub(crate) runtime: Arc<dyn RuntimeAdapter>,
    /// Containers' rootfs mounts.
    pub(crate) mounter: Arc<dyn Mounter>,
    /// The settings a SIGHUP reloads (`crate::config::Live`).
    live: StdRwLock<crate::config::Live>,
}

impl Engine {
    /// Opens the data root and reconnects to the shims of containers that were running.
    pub async fn open(cfg: EngineConfig) -> Result<Arc<Engine>> {
        Engine::open_with(cfg, Seams::host()).await
    }

    /// `open` with the given seams (the unit tests' fakes).
    pub async fn open_with(cfg: EngineConfig, seams: Seams) -> Result<Arc<Engine>> {
        std::fs::create_dir_all(cfg.data_root.join("containers"))?;
        spread_subdirs(&cfg.data_root.join("containers"));
        let events = crate::events::Events::new();
        let images = Images::open(&cfg.data_root, cfg.id_map.clone(), events.clone())?;
        let daemon_id = load_daemon_id(&cfg.data_root)?;
        let volumes = crate::volumes::VolumeStore::open(&cfg.data_root, seams.mounter.clone())?
            .with_owner(cfg.id_map.as_ref().map(|m| m.root_pair()))
            .with_events(events.clone());
        let init_layer = berth_image::snapshot::ensure_init_layer(&cfg.data_root)
            .map_err(|e| EngineError::internal("cannot create the init layer", e))?;
        if let Some(ids) = &cfg.id_map {
            // Its mount points and /.dockerenv belong to the remapped root, as moby's.
            crate::userns::chown_tree(&init_layer, ids.root_pair())
                .map_err(|e| EngineError::internal("cannot chown the init layer", e))?;
        }
        let networks =
            crate::network::Networks::open(&cfg.data_root, &cfg.network, seams.plane.clone())?;
        let seccomp_dir = cfg.data_root.join("seccomp");
        let live = StdRwLock::new(crate::config::Live::from_config(&cfg));
        let engine = Arc::new(Engine {
            live,
            cfg,
            daemon_id,
            images,
            volumes,
            events,
            init_layer,
            index: RwLock::new(Index::default()),
            execs: StdMutex::new(HashMap::new()),
            networks,
            seccomp_cache: berth_runtime::seccomp::BpfCache::new(seccomp_dir),
            runtime: seams.runtime,
            mounter: seams.mounter,
        });
        engine.restore().await?;
        Ok(engine)
    }

    /// The daemon's security defaults and compiled seccomp programs, for a bundle.
    pub(crate) fn security(
        &self,
    ) -> (
        &crate::security::SecurityConfig,
        &berth_runtime::seccomp::BpfCache,
    ) {
        (&self.cfg.security, &self.seccomp_cache)
    }

    pub fn daemon_id(&self) -> &str {
        &self.daemon_id
    }

    /// The reloadable settings as they are now.
    pub fn live(&self) -> crate::config::Live {
        self.live.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Takes new reloadable settings (the daemon's SIGHUP): later creates, pulls and pushes
    /// use them; running containers are not touched.
    pub fn reload(&self, live: crate::config::Live) {
        *self.live.write().unwrap_or_else(|e| e.into_inner()) = live;
    }

    pub(crate) fn containers_dir(&self) -> PathBuf {
        self.cfg.data_root.join("containers")
    }

    pub(crate) fn dir(&self, id: &str) -> PathBuf {
        self.containers_dir().join(id)
    }

    /// Loads every record; live shims get a new monitor, dead ones leave their exit status.
    pub(crate) fn read_index(&self) -> std::sync::RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn write_index(&self) -> std::sync::RwLockWriteGuard<'_, Index> {
        self.index.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Finds a container by full id, name, or unique id prefix, as Docker does.
    pub fn get(&self, name_or_id: &str) -> Result<Arc<Container>> {
        let idx = self.read_index();
        let not_found = || EngineError::NotFound(format!("No such container: {name_or_id}"));
        if name_or_id.is_empty() {
            return Err(not_found());
        }
        if let Some(c) = idx.by_id.get(name_or_id) {
            return Ok(c.clone());
        }
        let name = name_or_id.strip_prefix('/').unwrap_or(name_or_id);
        if let Some(id) = idx.names.get(name) {
            if let Some(c) = idx.by_id.get(id) {
                return Ok(c.clone());
            }
        }
        let mut found: Option<&Arc<Container>> = None;
        for (id, c) in &idx.by_id {
            if id.starts_with(name_or_id) {
                if found.is_some() {
                    return Err(EngineError::NotFound(format!(
                        "multiple IDs found with provided prefix: {name_or_id}"
                    )));
                }
                found = Some(c);
            }
        }
        found.cloned().ok_or_else(not_found)
    }

    pub fn all(&self) -> Vec<Arc<Container>> {
        self.read_index().by_id.values().cloned().collect()
    }

    /// Image ids used by any container, with whether that container runs.
    pub async fn image_users(&self, image_id: &str) -> Vec<(String, bool)> {
        let mut out = Vec::new();
        for c in self.all() {
            let r = c.record.lock().await;
            if r.image_id == image_id {
                out.push((r.id.clone(), r.state.status.is_running()));
            }
        }
        out
    }
    pub async fn size_rw(&self, id: &str) -> u64 {
        dir_size(self.container_upper_dir(id)).await
    }

    /// The files container `id` wrote (its overlay upper dir): what a commit archives.
    pub fn container_upper_dir(&self, id: &str) -> PathBuf {
        berth_image::snapshot::upper_dir(&self.dir(id))
    }

    pub fn log_path(&self, id: &str) -> PathBuf {
        self.dir(id).join(format!("{id}-json.log"))
    }

    pub fn container_dir(&self, id: &str) -> PathBuf {
        self.dir(id)
    }

    /// Progress updates of a container (exits, removal), for log following.
    pub fn subscribe(&self, c: &Container) -> watch::Receiver<Progress> {
        c.progress.subscribe()
    }
}

/// Reads `engine-id`, creating it (a UUID, as dockerd's) on first start.
fn load_daemon_id(root: &Path) -> Result<String> {
    let path = root.join("engine-id");
    if let Ok(id) = std::fs::read_to_string(&path) {
        if !id.trim().is_empty() {
            return Ok(id.trim().to_string());
        }
    }
    let b: [u8; 16] = rand::random();
    let h = hex::encode(b);
    let id = format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    );
    berth_api::atomic::write_file(&path, id.as_bytes())?;
    Ok(id)
}

pub(crate) async fn dir_size(path: PathBuf) -> u64 {
    tokio::task::spawn_blocking(move || {
        fn walk(p: &Path) -> u64 {
            let mut total = 0;
            if let Ok(rd) = std::fs::read_dir(p) {
                for e in rd.flatten() {
                    if let Ok(md) = e.metadata() {
                        if md.is_dir() {
                            total += walk(&e.path());
                        } else {
                            total += md.len();
                        }
                    }
                }
            }
            total
        }
        walk(&path)
    })
    .await
    .unwrap_or(0)
}

/// Asks ext4 to place each container directory in its own block group (the "top of
/// directory hierarchies" attribute, `chattr +T`), as it does for directories at the root.
/// Without it every container's files share one group, and on a journal-less ext4 each new
/// inode is found by skipping every inode freed there in the last minutes: with containers
/// coming and going, inode creation became the largest cost of starting one. Filesystems
/// without the attribute refuse the ioctl, which is fine.
fn spread_subdirs(dir: &Path) {
    use std::os::fd::AsRawFd;
    const FS_TOPDIR_FL: libc::c_long = 0x0002_0000;
    let Ok(f) = std::fs::File::open(dir) else {
        return;
    };
    let mut flags: libc::c_long = 0;
    // SAFETY: FS_IOC_GETFLAGS/SETFLAGS read and write one long through a valid pointer.
    unsafe {
        if libc::ioctl(f.as_raw_fd(), libc::FS_IOC_GETFLAGS, &mut flags) != 0 {
            return;
        }
        if flags & FS_TOPDIR_FL == 0 {
            flags |= FS_TOPDIR_FL;
            if libc::ioctl(f.as_raw_fd(), libc::FS_IOC_SETFLAGS, &flags) != 0 {
                debug!(dir = %dir.display(), "cannot set the topdir attribute");
            }
        }
    }
}
