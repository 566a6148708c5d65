//! Containers: create, start, stop, kill, wait, remove, rename, and exit monitoring.

pub mod exec;
pub mod files;
pub mod filters;
pub mod fsview;
pub mod health;
pub mod inspect;
pub mod links;
pub mod logs;
pub mod mounts;
pub mod names;
pub mod netconnect;
pub mod observe;
pub mod record;
pub mod restart;
mod volume_life;

use crate::config::EngineConfig;
use crate::error::{EngineError, Result};
use crate::etc_files;
use crate::images::Images;
use crate::runtime;
use berth_api::models::{ContainerCreateBody, ContainerCreateResponse};
use chrono::Utc;
use record::{ContainerRecord, State, Status};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex as StdMutex, RwLock};
use std::time::Duration;
use tokio::net::UnixStream;
use tokio::sync::{oneshot, watch, Mutex};
use tracing::{debug, info, warn};

/// What waiters observe: how many times the container exited, the last exit code, and
/// whether it has been removed.
#[derive(Debug, Clone, Copy, Default)]
pub struct Progress {
    pub exits: u64,
    pub exit_code: i64,
    pub removed: bool,
}

/// An attach that arrived before the container started (the docker CLI attaches, then
/// starts): it gets its shim stream when `start` has created the container.
struct PendingAttach {
    stdin: bool,
    stdout: bool,
    stderr: bool,
    tx: oneshot::Sender<Result<UnixStream>>,
}

pub struct Container {
    pub id: String,
    record: Mutex<ContainerRecord>,
    progress: watch::Sender<Progress>,
    pending: StdMutex<Vec<PendingAttach>>,
    /// The restart policy's current back-off (None: the next restart waits the minimum).
    restart_delay: StdMutex<Option<Duration>>,
}

impl Container {
    fn new(record: ContainerRecord) -> Arc<Self> {
        let (progress, _) = watch::channel(Progress {
            exit_code: record.state.exit_code,
            ..Default::default()
        });
        Arc::new(Container {
            id: record.id.clone(),
            record: Mutex::new(record),
            progress,
            pending: StdMutex::new(Vec::new()),
            restart_delay: StdMutex::new(None),
        })
    }

    pub async fn snapshot(&self) -> ContainerRecord {
        self.record.lock().await.clone()
    }
}

#[derive(Default)]
struct Index {
    by_id: HashMap<String, Arc<Container>>,
    /// name (no slash) -> id
    names: HashMap<String, String>,
}

/// Which exit `wait` waits for, as the API's `condition` parameter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitCondition {
    NotRunning,
    NextExit,
    Removed,
}

impl WaitCondition {
    pub fn parse(s: &str) -> Result<Self> {
        match s {
            "" | "not-running" => Ok(WaitCondition::NotRunning),
            "next-exit" => Ok(WaitCondition::NextExit),
            "removed" => Ok(WaitCondition::Removed),
            other => Err(EngineError::InvalidParameter(format!(
                "invalid condition: \"{other}\""
            ))),
        }
    }
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
    init_layer: PathBuf,
    index: RwLock<Index>,
    /// Exec instances by id (in memory, as Docker keeps them).
    execs: StdMutex<HashMap<String, Arc<exec::Exec>>>,
    /// User-defined networks and their pools.
    pub networks: crate::network::Networks,
    /// Compiled seccomp programs (`seccomp/` in the data root), one per distinct filter.
    seccomp_cache: berth_runtime::seccomp::BpfCache,
}

impl Engine {
    /// Opens the data root and reconnects to the shims of containers that were running.
    pub async fn open(cfg: EngineConfig) -> Result<Arc<Engine>> {
        std::fs::create_dir_all(cfg.data_root.join("containers"))?;
        spread_subdirs(&cfg.data_root.join("containers"));
        let events = crate::events::Events::new();
        let images = Images::open(&cfg.data_root, events.clone())?;
        let daemon_id = load_daemon_id(&cfg.data_root)?;
        let volumes = crate::volumes::VolumeStore::open(&cfg.data_root)?;
        let init_layer = berth_image::snapshot::ensure_init_layer(&cfg.data_root)
            .map_err(|e| EngineError::internal("cannot create the init layer", e))?;
        let networks = crate::network::Networks::open(&cfg.data_root, &cfg.network)?;
        let cfg_seccomp_dir = cfg.data_root.join("seccomp");
        let engine = Arc::new(Engine {
            cfg,
            daemon_id,
            images,
            volumes,
            events,
            init_layer,
            index: RwLock::new(Index::default()),
            execs: StdMutex::new(HashMap::new()),
            networks,
            seccomp_cache: berth_runtime::seccomp::BpfCache::new(cfg_seccomp_dir),
        });
        engine.restore().await?;
        Ok(engine)
    }

    /// The daemon's security defaults and compiled seccomp programs, for a bundle.
    fn security(
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

    fn containers_dir(&self) -> PathBuf {
        self.cfg.data_root.join("containers")
    }

    fn dir(&self, id: &str) -> PathBuf {
        self.containers_dir().join(id)
    }

    /// Loads every record; live shims get a new monitor, dead ones leave their exit status.
    async fn restore(self: &Arc<Self>) -> Result<()> {
        let mut entries = tokio::fs::read_dir(self.containers_dir()).await?;
        let mut not_running = Vec::new();
        while let Some(entry) = entries.next_entry().await? {
            let path = entry.path().join("config.json");
            let data = match tokio::fs::read(&path).await {
                Ok(d) => d,
                Err(_) => continue,
            };
            let mut rec: ContainerRecord = match serde_json::from_slice(&data) {
                Ok(r) => r,
                Err(e) => {
                    warn!(path = %path.display(), error = %e, "skipping unreadable container record");
                    continue;
                }
            };
            let was_running = rec.state.status.is_running();
            let dir = self.dir(&rec.id);
            let mut live = false;
            if was_running {
                live = runtime::connect(&dir).await.is_ok();
                if !live {
                    // No exit record: the shim died with the container (a reboot, a kill).
                    let (code, oom) = runtime::read_exit(&dir).unwrap_or((255, false));
                    mark_exited(&mut rec, code, oom);
                    let _ = berth_image::snapshot::unmount_rootfs(&dir);
                    let _ = berth_api::atomic::write_json(&path, &rec);
                }
            }
            if rec.state.status == Status::Removing {
                rec.state.status = Status::Dead;
            }
            if live {
                self.networks.restore(&rec, &dir);
                links::restore_aliases(self, &rec);
            } else if was_running {
                self.networks
                    .detach(&rec.id, &dir, &mut rec.endpoints)
                    .await;
                let _ = berth_api::atomic::write_json(&path, &rec);
            }
            let c = Container::new(rec.clone());
            {
                let mut idx = self.write_index();
                idx.names.insert(rec.name.clone(), rec.id.clone());
                idx.by_id.insert(rec.id.clone(), c.clone());
            }
            if !live {
                not_running.push(rec.id.clone());
            }
            if live {
                info!(id = %rec.id, "reconnected to running container");
                self.clone().monitor(c);
            } else if was_running && rec.host_config.auto_remove {
                // `--rm` containers that ended while the daemon was away go now, as Docker's.
                if let Err(e) = self.remove(&rec.id, true).await {
                    warn!(id = %rec.id, error = %e, "auto-remove after restart failed");
                }
            }
        }
        // Restart policies apply to containers whose processes are gone (a reboot, a crash
        // that took the shims): in the background, so the API is up meanwhile.
        self.restore_volumes().await;
        let engine = self.clone();
        tokio::spawn(async move { engine.restart_after_daemon_start(not_running).await });
        Ok(())
    }

    fn read_index(&self) -> std::sync::RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(|e| e.into_inner())
    }

    fn write_index(&self) -> std::sync::RwLockWriteGuard<'_, Index> {
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

    // ---- create ----------------------------------------------------------------------

    pub async fn create(
        &self,
        name: Option<&str>,
        mut body: ContainerCreateBody,
    ) -> Result<ContainerCreateResponse> {
        // A created container is usually started next: hide the kernel's wait now.
        runtime::prime_cgroup_migration();
        let name = match name.filter(|n| !n.is_empty()) {
            Some(n) => Some(
                names::validate(n)
                    .ok_or_else(|| {
                        EngineError::InvalidParameter(format!(
                            "Invalid container name ({n}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
                        ))
                    })?
                    .to_string(),
            ),
            None => None,
        };
        if body.config.image.is_empty() {
            return Err(EngineError::InvalidParameter(
                "config cannot be empty in order to create a container".into(),
            ));
        }
        let image = self.images.get(&body.config.image).await?;
        validate_host_config(&body)?;
        let warnings = Vec::new();

        let mut config = body.config.clone();
        merge_image_config(&mut config, &image.config);
        // Held until the record is indexed, so `volume rm` cannot remove a volume this
        // container is about to use.
        let volume_guard = if Self::needs_volume_lock(&body.host_config, &config) {
            Some(self.volumes.op_lock.lock().await)
        } else {
            None
        };
        let mut mount_points = self.plan_mounts(&body.host_config, &config).await?;
        let mut cmdline: Vec<String> = config.entrypoint.clone().unwrap_or_default();
        cmdline.extend(config.cmd.clone().unwrap_or_default());
        if cmdline.is_empty() {
            return Err(EngineError::InvalidParameter("no command specified".into()));
        }

        let id = loop {
            let mut bytes = [0u8; 32];
            for b in bytes.iter_mut() {
                *b = rand::random();
            }
            let id = hex::encode(bytes);
            // Docker avoids ids that look like numbers (they would confuse short-id lookup).
            if id[..12].chars().all(|c| c.is_ascii_digit()) {
                continue;
            }
            if !self.read_index().by_id.contains_key(&id) {
                break id;
            }
        };
        if config.hostname.is_empty() {
            config.hostname = if body.host_config.network_mode == "host" {
                nix::unistd::gethostname()
                    .map(|h| h.to_string_lossy().into_owned())
                    .unwrap_or_else(|_| id[..12].to_string())
            } else {
                id[..12].to_string()
            };
        }
        if body.host_config.network_mode.is_empty() {
            body.host_config.network_mode = "default".into();
        }
        let endpoints = crate::network::endpoints_from_request(
            &body.host_config.network_mode,
            body.networking_config.as_ref(),
        )?;
        let links = self.check_links(&body.host_config).await?;
        if body.host_config.runtime.is_empty() {
            body.host_config.runtime = self.cfg.default_runtime.clone();
        }
        runtime::validate_runtime(&body.host_config.runtime)?;
        // berth's init is part of berth's runtime; other runtimes would need a binary inside
        // the container.
        if body.host_config.init == Some(true)
            && body.host_config.runtime != berth_runtime::shim::BUILTIN
        {
            return Err(EngineError::InvalidParameter(format!(
                "--init is supported with the {} runtime only, not {}",
                berth_runtime::shim::BUILTIN,
                body.host_config.runtime
            )));
        }
        if body.host_config.log_config.kind.is_empty() {
            body.host_config.log_config.kind = "json-file".into();
        }
        if body.host_config.log_config.config.is_empty() {
            body.host_config.log_config.config = self
                .cfg
                .log_opts
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
        }

        let rec = ContainerRecord {
            id: id.clone(),
            name: String::new(),
            created: Utc::now(),
            image_id: image.id.clone(),
            path: cmdline[0].clone(),
            args: cmdline[1..].to_vec(),
            config,
            host_config: body.host_config,
            state: State::default(),
            restart_count: 0,
            mount_points: Vec::new(),
            endpoints,
        };

        // Reserve the name and the id together so two creates cannot take one name.
        let c = {
            let mut idx = self.write_index();
            let final_name = match name {
                Some(n) => {
                    if let Some(other) = idx.names.get(&n) {
                        return Err(EngineError::Conflict(format!(
                            "Conflict. The container name \"/{n}\" is already in use by container \"{other}\". You have to remove (or rename) that container to be able to reuse that name."
                        )));
                    }
                    n
                }
                None => {
                    let mut retry = 0;
                    loop {
                        let n = names::generate(retry);
                        if !idx.names.contains_key(&n) {
                            break n;
                        }
                        retry += 1;
                    }
                }
            };
            let mut rec = rec;
            rec.name = final_name.clone();
            rec.host_config.links = links::stored(&links, &final_name);
            let c = Container::new(rec);
            idx.names.insert(final_name, id.clone());
            idx.by_id.insert(id.clone(), c.clone());
            c
        };

        if let Err(e) = self.create_mount_volumes(&mut mount_points) {
            self.forget(&c).await;
            return Err(e);
        }
        c.record.lock().await.mount_points = mount_points;
        let dir = self.dir(&id);
        let saved = async {
            let store = |e: EngineError| EngineError::internal("cannot store container", e);
            tokio::fs::create_dir_all(&dir)
                .await
                .map_err(|e| store(e.into()))?;
            self.populate_volumes(&c).await?;
            let r = c.record.lock().await;
            save_record(&dir, &r).await.map_err(store)
        }
        .await;
        if let Err(e) = saved {
            let gone = c.snapshot().await;
            self.forget(&c).await;
            let _ = tokio::fs::remove_dir_all(&dir).await;
            // remove_volume takes the volume lock itself.
            drop(volume_guard);
            self.remove_anonymous_volumes(&gone).await;
            return Err(e);
        }
        drop(volume_guard);
        info!(%id, "container created");
        self.events.container(&c.snapshot().await, "create", &[]);
        Ok(ContainerCreateResponse { id, warnings })
    }

    async fn forget(&self, c: &Arc<Container>) {
        let name = c.record.lock().await.name.clone();
        let mut idx = self.write_index();
        idx.by_id.remove(&c.id);
        if idx.names.get(&name) == Some(&c.id) {
            idx.names.remove(&name);
        }
    }

    // ---- start -----------------------------------------------------------------------

    pub async fn start(self: &Arc<Self>, name_or_id: &str) -> Result<()> {
        let c = self.get(name_or_id)?;
        runtime::prime_cgroup_migration();
        let mut rec = c.record.lock().await;
        match rec.state.status {
            Status::Running | Status::Restarting => {
                return Err(EngineError::NotModified("container already started".into()))
            }
            Status::Paused => {
                return Err(EngineError::Conflict(
                    "cannot start a paused container, try unpause instead".to_string(),
                ))
            }
            Status::Removing | Status::Dead => {
                return Err(EngineError::Conflict(format!(
                    "container {} is marked for removal and cannot be started",
                    rec.id
                )))
            }
            Status::Created | Status::Exited => {}
        }
        // A manual start begins the policy's count and back-off afresh, as moby's.
        rec.restart_count = 0;
        *c.restart_delay.lock().unwrap_or_else(|e| e.into_inner()) = None;
        let dir = self.dir(&rec.id);
        match self.launch(&c, &mut rec, &dir).await {
            Ok(()) => {
                self.start_health_checks(&c, &mut rec);
                save_record(&dir, &rec).await?;
                self.events.container(&rec, "start", &[]);
                drop(rec);
                self.clone().monitor(c);
                Ok(())
            }
            Err(e) => {
                let msg = e.to_string();
                rec.state.error = msg.clone();
                rec.state.exit_code = start_error_exit_code(&msg);
                self.networks.detach(&c.id, &dir, &mut rec.endpoints).await;
                let _ = berth_image::snapshot::unmount_rootfs(&dir);
                let _ = write_record(&dir, &rec);
                let auto_remove = rec.host_config.auto_remove;
                drop(rec);
                self.fail_pending(&c, &msg);
                if auto_remove {
                    let _ = self.remove(&c.id, true).await;
                }
                Err(e)
            }
        }
    }

    /// Mounts the rootfs, writes the bundle, spawns the shim, connects early attaches, starts.
    async fn launch(
        &self,
        c: &Arc<Container>,
        rec: &mut ContainerRecord,
        dir: &Path,
    ) -> Result<()> {
        // Docker accepts an unknown network at create and refuses it at start (a 404 at
        // create would make the docker CLI try to pull the image).
        if !crate::network::is_builtin_mode(&rec.host_config.network_mode) {
            self.networks.find(&rec.host_config.network_mode)?;
        }
        let image = self.images.get(&rec.image_id).await?;
        let mut layers = self.images.layer_dirs(&image).await?;
        layers.push(self.init_layer.clone());
        let rootfs = {
            let dir = dir.to_path_buf();
            tokio::task::spawn_blocking(move || berth_image::snapshot::mount_rootfs(&layers, &dir))
                .await
                .map_err(|e| EngineError::internal("mount task", e))?
                .map_err(|e| EngineError::internal("cannot mount container rootfs", e))?
        };
        let host_network = rec.host_config.network_mode == "host";
        etc_files::write(
            dir,
            &rec.config.hostname,
            host_network,
            rec.host_config.extra_hosts.as_deref().unwrap_or_default(),
            &rec.host_config.dns,
            &rec.host_config.dns_search,
            &rec.host_config.dns_options,
        )?;
        let netns = match self.shared_netns(rec, dir).await? {
            Some(ns) => Some(ns),
            None => self.networks.attach(rec, dir).await?,
        };
        let link_env = self.setup_links(rec, dir).await?;
        let bridge_gw = self.networks.default_bridge().map(|b| b.gateway);
        crate::network::engine::hosts_entries(dir, rec, &self.cfg.network, bridge_gw.as_deref())?;
        // Docker creates a missing working directory, whatever the runtime.
        if !rec.config.working_dir.is_empty() {
            let cwd = berth_runtime::rootpath::resolve_in_root(
                &rootfs,
                Path::new(&rec.config.working_dir),
            )
            .map_err(|e| EngineError::internal("resolve working dir", e))?;
            std::fs::create_dir_all(&cwd).map_err(|e| {
                EngineError::internal(&format!("create working dir {}", rec.config.working_dir), e)
            })?;
        }
        let mounts = self.prepare_mounts(rec, &rootfs).await?;
        // Restarts come here without `start`: keep the migration lock warm for the shim.
        runtime::prime_cgroup_migration();
        let t0 = std::time::Instant::now();
        if link_env.is_empty() {
            runtime::write_bundle(rec, dir, &rootfs, mounts, netns.as_deref(), self.security())?;
        } else {
            links::save_env(dir, &link_env)?;
            let r = links::with_vars(rec, link_env);
            runtime::write_bundle(&r, dir, &rootfs, mounts, netns.as_deref(), self.security())?;
        }
        let t_bundle = t0.elapsed();
        let shim = runtime::spawn(&self.cfg, rec, dir).await?;
        let t_shim = t0.elapsed();
        // Early attaches get their streams before the process runs, so no output is lost.
        let pending: Vec<PendingAttach> =
            std::mem::take(&mut *c.pending.lock().unwrap_or_else(|e| e.into_inner()));
        for p in pending {
            let stream = runtime::attach(dir, p.stdin, p.stdout, p.stderr).await;
            let _ = p.tx.send(stream);
        }
        let pid = i64::from(
            shim.start()
                .await
                .map_err(|e| EngineError::InvalidParameter(e.to_string()))?,
        );
        debug!(
            bundle_ms = t_bundle.as_secs_f64() * 1e3,
            shim_ready_ms = t_shim.as_secs_f64() * 1e3,
            started_ms = t0.elapsed().as_secs_f64() * 1e3,
            "launch timings"
        );
        rec.state = State {
            status: Status::Running,
            pid,
            exit_code: 0,
            error: String::new(),
            oom_killed: false,
            started_at: Some(Utc::now()),
            finished_at: rec.state.finished_at,
            stopped_by_user: false,
            health: None,
        };
        info!(id = %rec.id, pid, "container started");
        Ok(())
    }

    fn fail_pending(&self, c: &Container, msg: &str) {
        let pending: Vec<PendingAttach> =
            std::mem::take(&mut *c.pending.lock().unwrap_or_else(|e| e.into_inner()));
        for p in pending {
            let _ = p.tx.send(Err(EngineError::Internal(msg.to_string())));
        }
    }

    /// Waits on the shim for the container's exit and records it.
    fn monitor(self: Arc<Self>, c: Arc<Container>) {
        tokio::spawn(async move {
            let dir = self.dir(&c.id);
            let exit = runtime::wait(&dir).await;
            let (code, oom) = match exit {
                Ok(e) => e,
                // A fast container's shim may be gone before we connect: its exit record
                // says how the container ended. Without one the shim died abnormally.
                Err(e) => match runtime::read_exit(&dir) {
                    Some(exit) => exit,
                    None => {
                        warn!(id = %c.id, error = %e, "shim gone without an exit record");
                        (255, false)
                    }
                },
            };
            let auto_remove = {
                let mut rec = c.record.lock().await;
                mark_exited(&mut rec, code, oom);
                self.networks.detach(&c.id, &dir, &mut rec.endpoints).await;
                let d = dir.clone();
                let _ =
                    tokio::task::spawn_blocking(move || berth_image::snapshot::unmount_rootfs(&d))
                        .await;
                if let Err(e) = save_record(&dir, &rec).await {
                    warn!(id = %c.id, error = %e, "cannot store exit status");
                }
                debug!(id = %c.id, code, "container exited");
                if oom {
                    self.events.container(&rec, "oom", &[]);
                }
                let ran = rec
                    .state
                    .started_at
                    .map_or(0, |t| (Utc::now() - t).num_seconds());
                self.events.container(
                    &rec,
                    "die",
                    &[
                        ("exitCode", code.to_string()),
                        ("execDuration", ran.to_string()),
                    ],
                );
                if !rec.host_config.auto_remove {
                    self.schedule_restart(&c, &mut rec, code);
                }
                rec.host_config.auto_remove
            };
            self.release_volumes(&c).await;
            c.progress.send_modify(|p| {
                p.exits += 1;
                p.exit_code = code;
            });
            if auto_remove {
                if let Err(e) = self.remove(&c.id, true).await {
                    warn!(id = %c.id, error = %e, "auto-remove failed");
                }
            }
        });
    }

    // ---- stop / kill -----------------------------------------------------------------

    pub async fn kill(&self, name_or_id: &str, signal: Option<&str>) -> Result<()> {
        // As moby's ContainerKill: a bad signal is refused before the container is looked up.
        let sig = match signal.filter(|s| !s.is_empty()) {
            Some(s) => crate::signal::parse(s)?,
            None => libc::SIGKILL,
        };
        let c = self.get(name_or_id)?;
        // Killing a container waiting to restart keeps it down, as docker kill does.
        if self.cancel_restart(&c).await {
            return Ok(());
        }
        let mut rec = c.record.lock().await;
        if !rec.state.status.is_running() {
            return Err(EngineError::Conflict(format!(
                "cannot kill container: {}: container {} is not running",
                name_or_id, rec.id
            )));
        }
        if sig == libc::SIGKILL || sig == libc::SIGTERM || sig == libc::SIGINT {
            rec.state.stopped_by_user = true;
        }
        let sent = runtime::kill(&self.dir(&rec.id), sig).await;
        drop(rec);
        if sent.is_ok() {
            self.signalled(&c, sig).await;
        }
        sent
    }

    /// Sends the stop signal, waits `timeout` seconds (None: the container's or 10), then SIGKILL.
    pub async fn stop(
        &self,
        name_or_id: &str,
        timeout: Option<i64>,
        signal: Option<&str>,
    ) -> Result<()> {
        let c = self.get(name_or_id)?;
        if self.cancel_restart(&c).await {
            self.events.container(&c.snapshot().await, "stop", &[]);
            return Ok(());
        }
        let (sig, secs, dir) = {
            let mut rec = c.record.lock().await;
            if !rec.state.status.is_running() {
                return Err(EngineError::NotModified("container already stopped".into()));
            }
            let sig_name = signal
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .or_else(|| rec.config.stop_signal.clone())
                .unwrap_or_else(|| "SIGTERM".into());
            let sig = crate::signal::parse(&sig_name)?;
            let secs = timeout.or(rec.config.stop_timeout).unwrap_or(10);
            rec.state.stopped_by_user = true;
            (sig, secs, self.dir(&rec.id))
        };
        let mut rx = c.progress.subscribe();
        let before = rx.borrow_and_update().exits;
        let exited = |rx: &mut watch::Receiver<Progress>| {
            let mut rx = rx.clone();
            async move { rx.wait_for(|p| p.exits > before).await.map(|_| ()) }
        };
        match runtime::kill(&dir, sig).await {
            Ok(()) => self.signalled(&c, sig).await,
            Err(e) => debug!(error = %e, "stop signal not delivered"),
        }
        let graceful = if secs < 0 {
            exited(&mut rx).await.is_ok()
        } else {
            tokio::time::timeout(Duration::from_secs(secs as u64), exited(&mut rx))
                .await
                .is_ok()
        };
        if !graceful {
            info!(id = %c.id, "container did not stop in time, killing it");
            if runtime::kill(&dir, libc::SIGKILL).await.is_ok() {
                self.signalled(&c, libc::SIGKILL).await;
            }
            let _ = tokio::time::timeout(Duration::from_secs(30), exited(&mut rx)).await;
        }
        self.events.container(&c.snapshot().await, "stop", &[]);
        Ok(())
    }

    pub async fn restart(
        self: &Arc<Self>,
        name_or_id: &str,
        timeout: Option<i64>,
        signal: Option<&str>,
    ) -> Result<()> {
        match self.stop(name_or_id, timeout, signal).await {
            Ok(()) | Err(EngineError::NotModified(_)) => {}
            Err(e) => return Err(e),
        }
        self.start(name_or_id).await?;
        if let Ok(c) = self.get(name_or_id) {
            self.events.container(&c.snapshot().await, "restart", &[]);
        }
        Ok(())
    }

    // ---- wait ------------------------------------------------------------------------

    /// Resolves when the condition holds; returns the exit code.
    pub async fn wait(&self, name_or_id: &str, condition: WaitCondition) -> Result<i64> {
        let c = self.get(name_or_id)?;
        let mut rx = c.progress.subscribe();
        let (status, code) = {
            let rec = c.record.lock().await;
            (rec.state.status, rec.state.exit_code)
        };
        let start = *rx.borrow_and_update();
        if condition == WaitCondition::NotRunning && !status.is_running() {
            return Ok(code);
        }
        let result = rx
            .wait_for(|p| match condition {
                WaitCondition::Removed => p.removed,
                _ => p.exits > start.exits || p.removed,
            })
            .await
            .map(|p| p.exit_code);
        match result {
            Ok(code) => Ok(code),
            // The sender is gone only when the container was removed and dropped.
            Err(_) => Ok(rx.borrow().exit_code),
        }
    }

    // ---- attach ----------------------------------------------------------------------

    /// A stream to the container's stdio (Docker's framing without a tty, raw with one).
    /// Before start, the stream is handed over when the container starts.
    pub async fn attach(
        &self,
        name_or_id: &str,
        stdin: bool,
        stdout: bool,
        stderr: bool,
    ) -> Result<AttachTarget> {
        let c = self.get(name_or_id)?;
        let rec = c.record.lock().await;
        let tty = rec.config.tty;
        self.events.container(&rec, "attach", &[]);
        match rec.state.status {
            Status::Running | Status::Paused | Status::Restarting => {
                let stream = runtime::attach(&self.dir(&rec.id), stdin, stdout, stderr).await?;
                Ok(AttachTarget {
                    tty,
                    stream: AttachStream::Ready(stream),
                })
            }
            Status::Created | Status::Exited => {
                let (tx, rx) = oneshot::channel();
                c.pending
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(PendingAttach {
                        stdin,
                        stdout,
                        stderr,
                        tx,
                    });
                Ok(AttachTarget {
                    tty,
                    stream: AttachStream::OnStart(rx),
                })
            }
            _ => Err(EngineError::Conflict(
                "You cannot attach to a stopped container, start it first".to_string(),
            )),
        }
    }

    /// `POST /containers/{id}/resize`: the terminal size of a `-t` container.
    pub async fn resize(&self, name_or_id: &str, height: u16, width: u16) -> Result<()> {
        let c = self.get(name_or_id)?;
        let rec = c.record.lock().await;
        if !rec.state.status.is_running() {
            return Err(EngineError::Conflict(format!(
                "Container {} is not running",
                rec.id
            )));
        }
        if !rec.config.tty {
            // Nothing to resize; Docker's clients only ask with a terminal.
            return Ok(());
        }
        let client = berth_runtime::client::ShimClient::new(&berth_runtime::shim::socket_path(
            &self.dir(&rec.id),
        ));
        client
            .resize(None, height, width)
            .await
            .map_err(|e| EngineError::Internal(e.to_string()))
    }

    // ---- remove / rename / prune -----------------------------------------------------

    pub async fn remove(&self, name_or_id: &str, force: bool) -> Result<()> {
        self.remove_with(name_or_id, force, false).await
    }

    /// `rm [-f] [-v]`: with `volumes` (or for a `--rm` container) its anonymous volumes go too.
    pub async fn remove_with(&self, name_or_id: &str, force: bool, volumes: bool) -> Result<()> {
        let c = self.get(name_or_id)?;
        let running = {
            let rec = c.record.lock().await;
            if rec.state.status == Status::Removing {
                return Err(EngineError::Conflict(format!(
                    "removal of container {} is already in progress",
                    rec.id
                )));
            }
            if rec.state.status == Status::Restarting && !force {
                return Err(EngineError::Conflict(format!(
                    "cannot remove container \"/{}\": container is restarting: stop the container before removing or force remove",
                    rec.name
                )));
            }
            rec.state.status.is_running()
        };
        let running = running && !self.cancel_restart(&c).await;
        if running {
            if !force {
                let name = c.record.lock().await.name.clone();
                return Err(EngineError::Conflict(format!(
                    "cannot remove container \"/{name}\": container is running: stop the container before removing or force remove"
                )));
            }
            let mut rx = c.progress.subscribe();
            let before = rx.borrow_and_update().exits;
            let dir = self.dir(&c.id);
            if runtime::kill(&dir, libc::SIGKILL).await.is_ok() {
                self.signalled(&c, libc::SIGKILL).await;
            }
            let _ =
                tokio::time::timeout(Duration::from_secs(30), rx.wait_for(|p| p.exits > before))
                    .await;
        }
        let dir = self.dir(&c.id);
        {
            let mut rec = c.record.lock().await;
            if rec.state.status == Status::Removing {
                return Ok(());
            }
            rec.state.status = Status::Removing;
        }
        self.fail_pending(&c, "container removed");
        self.drop_execs(&c.id);
        let d = dir.clone();
        let removed = tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let _ = berth_image::snapshot::unmount_rootfs(&d);
            // A shim that died without cleaning up leaves its socket behind.
            let _ = std::fs::remove_file(berth_runtime::shim::socket_path(&d));
            match std::fs::remove_dir_all(&d) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
                _ => Ok(()),
            }
        })
        .await
        .map_err(|e| EngineError::internal("remove task", e))?;
        if let Err(e) = removed {
            let mut rec = c.record.lock().await;
            rec.state.status = Status::Dead;
            let _ = write_record(&dir, &rec);
            return Err(EngineError::internal(
                &format!("unable to remove filesystem for {}", c.id),
                e,
            ));
        }
        let gone = c.snapshot().await;
        self.forget(&c).await;
        if volumes || gone.host_config.auto_remove {
            self.remove_anonymous_volumes(&gone).await;
        }
        self.events.container(&gone, "destroy", &[]);
        c.progress.send_modify(|p| p.removed = true);
        info!(id = %c.id, "container removed");
        Ok(())
    }

    pub async fn rename(&self, name_or_id: &str, new_name: &str) -> Result<()> {
        let c = self.get(name_or_id)?;
        let new = names::validate(new_name)
            .ok_or_else(|| {
                EngineError::InvalidParameter(format!(
                    "Invalid container name ({new_name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
                ))
            })?
            .to_string();
        let mut rec = c.record.lock().await;
        if rec.name == new {
            return Err(EngineError::InvalidParameter(
                "Renaming a container with the same name as its current name".into(),
            ));
        }
        {
            let mut idx = self.write_index();
            if let Some(other) = idx.names.get(&new) {
                return Err(EngineError::Conflict(format!(
                    "Error when allocating new name: Conflict. The container name \"/{new}\" is already in use by container \"{other}\". You have to remove (or rename) that container to be able to reuse that name."
                )));
            }
            idx.names.remove(&rec.name);
            idx.names.insert(new.clone(), rec.id.clone());
        }
        let old = std::mem::replace(&mut rec.name, new);
        write_record(&self.dir(&rec.id), &rec)?;
        self.events
            .container(&rec, "rename", &[("oldName", format!("/{old}"))]);
        Ok(())
    }

    /// Removes every stopped container matching the filters; returns ids and bytes freed.
    pub async fn prune(&self, filters: &filters::Filters) -> Result<(Vec<String>, u64)> {
        let mut deleted = Vec::new();
        let mut reclaimed = 0;
        for c in self.all() {
            let rec = c.snapshot().await;
            if rec.state.status.is_running() || !filters::matches_prune(&rec, filters)? {
                continue;
            }
            let size = dir_size(self.dir(&rec.id).join("upper")).await;
            if self.remove(&rec.id, false).await.is_ok() {
                deleted.push(rec.id);
                reclaimed += size;
            }
        }
        Ok((deleted, reclaimed))
    }

    /// Size of the container's writable layer (SizeRw).
    pub async fn size_rw(&self, id: &str) -> u64 {
        dir_size(self.dir(id).join("upper")).await
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

pub struct AttachTarget {
    pub tty: bool,
    pub stream: AttachStream,
}

pub enum AttachStream {
    Ready(UnixStream),
    OnStart(oneshot::Receiver<Result<UnixStream>>),
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

fn mark_exited(rec: &mut ContainerRecord, code: i64, oom: bool) {
    rec.state.status = Status::Exited;
    rec.state.pid = 0;
    rec.state.exit_code = code;
    rec.state.oom_killed = oom;
    rec.state.finished_at = Some(Utc::now());
}

fn write_record(dir: &Path, rec: &ContainerRecord) -> Result<()> {
    berth_api::atomic::write_json(&dir.join("config.json"), rec)
        .map_err(|e| EngineError::internal("cannot write container record", e))
}

/// `write_record` with its two fsyncs (milliseconds each) on the blocking pool rather than on
/// one of the daemon's two async workers, where they stalled every other request meanwhile.
/// Callers hold the record's lock across the await, so writes of one record stay in order.
async fn save_record(dir: &Path, rec: &ContainerRecord) -> Result<()> {
    let data = serde_json::to_vec(rec)
        .map_err(|e| EngineError::internal("cannot write container record", e))?;
    let path = dir.join("config.json");
    tokio::task::spawn_blocking(move || berth_api::atomic::write_file(&path, &data))
        .await
        .map_err(|e| EngineError::internal("record write task", e))?
        .map_err(|e| EngineError::internal("cannot write container record", e))
}

/// The exit code the docker CLI shows for a failed start, from the error text.
fn start_error_exit_code(msg: &str) -> i64 {
    if msg.contains("executable file not found") || msg.contains("no such file or directory") {
        127
    } else if msg.contains("permission denied") {
        126
    } else {
        128
    }
}

async fn dir_size(path: PathBuf) -> u64 {
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

/// Applies the image's defaults to the request's config, as Docker's `merge` does.
fn merge_image_config(cfg: &mut berth_api::models::ContainerConfig, image: &serde_json::Value) {
    let get_strs = |key: &str| -> Option<Vec<String>> {
        image.get(key)?.as_array().map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
    };
    // `--entrypoint ""` arrives as [""] and means "no entrypoint".
    if cfg
        .entrypoint
        .as_ref()
        .is_some_and(|e| e.len() == 1 && e[0].is_empty())
    {
        cfg.entrypoint = Some(Vec::new());
    }
    if cfg.entrypoint.is_none() {
        cfg.entrypoint = get_strs("Entrypoint");
        if cfg.cmd.is_none() {
            cfg.cmd = get_strs("Cmd");
        }
    }
    if let Some(env) = get_strs("Env") {
        let user_keys: Vec<String> = cfg
            .env
            .iter()
            .map(|e| e.split('=').next().unwrap_or("").to_string())
            .collect();
        let mut merged: Vec<String> = env
            .into_iter()
            .filter(|e| {
                !user_keys
                    .iter()
                    .any(|k| k == e.split('=').next().unwrap_or(""))
            })
            .collect();
        merged.append(&mut cfg.env);
        cfg.env = merged;
    }
    let get_str = |key: &str| {
        image
            .get(key)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    if cfg.working_dir.is_empty() {
        cfg.working_dir = get_str("WorkingDir");
    }
    if cfg.user.is_empty() {
        cfg.user = get_str("User");
    }
    if let Some(labels) = image.get("Labels").and_then(|l| l.as_object()) {
        for (k, v) in labels {
            if let Some(v) = v.as_str() {
                cfg.labels.entry(k.clone()).or_insert_with(|| v.to_string());
            }
        }
    }
    if let Some(ports) = image.get("ExposedPorts").and_then(|p| p.as_object()) {
        let mine = cfg.exposed_ports.get_or_insert_with(Default::default);
        for (k, v) in ports {
            mine.entry(k.clone()).or_insert(v.clone());
        }
    }
    if let Some(vols) = image.get("Volumes").and_then(|p| p.as_object()) {
        let mine = cfg.volumes.get_or_insert_with(Default::default);
        for (k, v) in vols {
            mine.entry(k.clone()).or_insert(v.clone());
        }
    }
    if cfg.stop_signal.is_none() {
        cfg.stop_signal = image
            .get("StopSignal")
            .and_then(|v| v.as_str())
            .map(str::to_string);
    }
    // moby's merge: the image's check, with each field the container leaves unset
    // (an empty Test, a zero duration or retry count) taken from it.
    let image_check = image.get("Healthcheck").filter(|v| !v.is_null()).cloned();
    match (&mut cfg.healthcheck, image_check) {
        (None, img) => cfg.healthcheck = img,
        (Some(mine), Some(img)) => {
            if let (Some(m), Some(i)) = (mine.as_object_mut(), img.as_object()) {
                let unset = |v: Option<&serde_json::Value>| match v {
                    None | Some(serde_json::Value::Null) => true,
                    Some(serde_json::Value::Array(a)) => a.is_empty(),
                    Some(serde_json::Value::Number(n)) => n.as_i64() == Some(0),
                    _ => false,
                };
                for (k, v) in i {
                    if unset(m.get(k)) {
                        m.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (Some(_), None) => {}
    }
    if cfg.shell.is_none() {
        cfg.shell = get_strs("Shell");
    }
}

/// Rejects settings Docker rejects at create time, with Docker's messages.
fn validate_host_config(body: &ContainerCreateBody) -> Result<()> {
    let hc = &body.host_config;
    let bad = |m: String| Err(EngineError::InvalidParameter(m));
    health::validate(body.config.healthcheck.as_ref()).map_err(EngineError::InvalidParameter)?;
    match hc.restart_policy.name.as_str() {
        "" | "no" | "always" | "unless-stopped" => {
            if hc.restart_policy.maximum_retry_count != 0 {
                return bad("invalid restart policy: maximum retry count can only be used with 'on-failure'".to_string());
            }
        }
        "on-failure" => {
            if hc.restart_policy.maximum_retry_count < 0 {
                return bad("invalid restart policy: maximum retry count cannot be negative".into());
            }
        }
        other => return bad(format!("invalid restart policy: unknown policy '{other}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'")),
    }
    if hc.auto_remove && !matches!(hc.restart_policy.name.as_str(), "" | "no") {
        return bad("can't create 'AutoRemove' container with restart policy".into());
    }
    if hc.memory != 0 && hc.memory < 6 * 1024 * 1024 {
        return bad("Minimum memory limit allowed is 6MB".into());
    }
    if hc.memory > 0 && hc.memory_swap > 0 && hc.memory_swap < hc.memory {
        return bad(
            "Minimum memoryswap limit should be larger than memory limit, see usage".into(),
        );
    }
    if hc.memory == 0 && hc.memory_swap > 0 {
        return bad(
            "You should always set the Memory limit when using Memoryswap limit, see usage".into(),
        );
    }
    if hc.nano_cpus != 0 {
        let ncpu = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1) as i64;
        if hc.nano_cpus < 10_000_000 || hc.nano_cpus > ncpu * 1_000_000_000 {
            return bad(format!(
                "Range of CPUs is from 0.01 to {ncpu}.00, as there are only {ncpu} CPUs available"
            ));
        }
        if hc.cpu_quota > 0 || hc.cpu_period > 0 {
            return bad("Conflicting options: Nano CPUs and CPU Period cannot both be set".into());
        }
    }
    if hc.cpu_shares < 0 {
        return bad("invalid CPU shares: must be positive".into());
    }
    for (field, list) in [("CapAdd", &hc.cap_add), ("CapDrop", &hc.cap_drop)] {
        for name in list.iter().flatten() {
            let upper = name.to_ascii_uppercase();
            if upper == "ALL" {
                continue;
            }
            let full = if upper.starts_with("CAP_") {
                upper
            } else {
                format!("CAP_{upper}")
            };
            if berth_runtime::spec::capabilities(false, std::slice::from_ref(&full), &[]).is_err() {
                return bad(format!("invalid {field}: unknown capability: \"{full}\""));
            }
        }
    }
    if let Some(sig) = body.config.stop_signal.as_deref().filter(|s| !s.is_empty()) {
        crate::signal::parse(sig)?;
    }
    if let Err(e) = crate::security::parse(hc.security_opt.as_deref().unwrap_or_default()) {
        return bad(e);
    }
    crate::devices::validate(hc).or_else(bad)?;
    Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;
    use berth_api::models::ContainerConfig;
    use serde_json::json;

    fn image() -> serde_json::Value {
        json!({"Cmd": ["sh"], "Entrypoint": null, "Env": ["PATH=/bin", "A=1"],
               "WorkingDir": "/w", "Labels": {"l": "img", "m": "img"}, "StopSignal": "SIGQUIT"})
    }

    #[test]
    fn image_defaults_fill_the_gaps() {
        let mut c = ContainerConfig {
            env: vec!["A=2".into()],
            ..Default::default()
        };
        c.labels.insert("l".into(), "mine".into());
        merge_image_config(&mut c, &image());
        assert_eq!(c.cmd, Some(vec!["sh".to_string()]));
        assert_eq!(c.env, vec!["PATH=/bin".to_string(), "A=2".to_string()]);
        assert_eq!(c.working_dir, "/w");
        assert_eq!(c.labels["l"], "mine");
        assert_eq!(c.labels["m"], "img");
        assert_eq!(c.stop_signal.as_deref(), Some("SIGQUIT"));
    }

    #[test]
    fn user_entrypoint_drops_image_cmd() {
        let mut c = ContainerConfig {
            entrypoint: Some(vec!["echo".into()]),
            ..Default::default()
        };
        merge_image_config(&mut c, &image());
        assert_eq!(c.cmd, None);
        let mut c = ContainerConfig {
            entrypoint: Some(vec!["".into()]),
            cmd: Some(vec!["ls".into()]),
            ..Default::default()
        };
        merge_image_config(&mut c, &image());
        assert_eq!(c.entrypoint, Some(vec![]));
        assert_eq!(c.cmd, Some(vec!["ls".to_string()]));
    }

    #[test]
    fn host_config_validation_uses_docker_messages() {
        let mut b = ContainerCreateBody::default();
        b.host_config.memory = 1024;
        let e = validate_host_config(&b).expect_err("too small");
        assert_eq!(e.to_string(), "Minimum memory limit allowed is 6MB");
        let mut b = ContainerCreateBody::default();
        b.host_config.restart_policy.name = "sometimes".into();
        assert!(validate_host_config(&b)
            .expect_err("bad policy")
            .to_string()
            .contains("sometimes"));
        let mut b = ContainerCreateBody::default();
        b.host_config.nano_cpus = 1_000_000_000_000;
        assert!(validate_host_config(&b)
            .expect_err("cpus")
            .to_string()
            .starts_with("Range of CPUs"));
        let mut b = ContainerCreateBody::default();
        b.host_config.cap_add = Some(vec!["bogus".into()]);
        assert_eq!(
            validate_host_config(&b).expect_err("cap").to_string(),
            "invalid CapAdd: unknown capability: \"CAP_BOGUS\""
        );
        let mut b = ContainerCreateBody::default();
        b.host_config.cap_drop = Some(vec!["net_raw".into(), "ALL".into()]);
        assert!(validate_host_config(&b).is_ok());
        let mut b = ContainerCreateBody::default();
        b.config.stop_signal = Some("BOGUS".into());
        assert_eq!(
            validate_host_config(&b).expect_err("sig").to_string(),
            "Invalid signal: BOGUS"
        );
    }

    #[test]
    fn start_errors_map_to_cli_exit_codes() {
        assert_eq!(
            start_error_exit_code("exec: \"nope\": executable file not found in $PATH"),
            127
        );
        assert_eq!(start_error_exit_code("exec /x: permission denied"), 126);
    }
}
