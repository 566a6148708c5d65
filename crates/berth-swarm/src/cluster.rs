//! The daemon's swarm: inactive, locked (autolock, after a restart) or active with this
//! node as the single manager. Active means a raft log ([`crate::raft`]), the manager loop
//! (orchestrator then scheduler, on every applied change or timer) and the agent.
//! The Engine API operations (`/swarm`, `/nodes`, `/services`, `/tasks`, `/secrets`,
//! `/configs`) are methods here with moby's validation and messages.
//!
//! Node-local state lives in `<data-root>/swarm/node.json`: this node's id and address,
//! and the data encryption key — in the clear, or sealed with the unlock key (autolock).

use crate::agent::{Agent, Executor};
use crate::allocator::{self, Pools};
use crate::crypto::Key;
use crate::error::{Result, SwarmError, ALREADY_IN_SWARM, LOCKED, NOT_IN_SWARM};
use crate::ids::{join_token, new_id, parse_unlock_key, random_bytes, unlock_key};
use crate::orchestrator::{format_time, reconcile};
use crate::predefined;
use crate::raft::Replicated;
use crate::scheduler::{parse_constraint, schedule};
use crate::store::{Applied, ClusterObject, Command, Kind, Object, Op, State};
use base64::Engine as _;
use berth_api::swarm::*;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Mutex;

/// What this node knows about itself, outside the log.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
struct NodeFile {
    node_id: String,
    addr: String,
    listen_addr: String,
    /// The advertised port (0 in files written before it was kept: the listen port).
    #[serde(default)]
    advertise_port: u16,
    /// base64 of the DEK (no autolock).
    #[serde(default)]
    dek: String,
    /// base64 of the DEK sealed with the unlock key (autolock).
    #[serde(default)]
    dek_sealed: String,
}

impl NodeFile {
    /// `ManagerStatus.Addr`: the advertised address and port.
    fn manager_addr(&self) -> String {
        let port = match self.advertise_port {
            0 => split_addr(&self.listen_addr, 2377).1,
            p => p,
        };
        berth_api::hostport::join_host_port(&self.addr, &port.to_string())
    }
}

/// How this node describes itself (engine version, resources, hostname).
#[derive(Debug, Clone, Default)]
pub struct NodeFacts {
    pub hostname: String,
    pub engine_version: String,
    pub nano_cpus: i64,
    pub memory_bytes: i64,
}

struct Active {
    store: Arc<Replicated>,
    /// The data encryption key the log was opened with (resealed on autolock changes).
    dek: Key,
    node_id: String,
    addr: String,
    stop: tokio::sync::watch::Sender<bool>,
    loops: Vec<tokio::task::JoinHandle<()>>,
}

enum Phase {
    Inactive,
    Locked(NodeFile),
    Active(Active),
}

pub struct Cluster<E: Executor> {
    dir: PathBuf,
    facts: NodeFacts,
    exec: Arc<E>,
    phase: Mutex<Phase>,
    /// Held by whoever hands out network addresses (the manager loop's allocator, a
    /// container attaching by hand), so two never give the same one.
    alloc: Arc<Mutex<()>>,
}

fn now() -> String {
    format_time(chrono::Utc::now())
}

fn b64(b: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(b)
}
fn unb64(s: &str) -> Option<Vec<u8>> {
    base64::engine::general_purpose::STANDARD.decode(s).ok()
}

fn write_node_file(dir: &Path, f: &NodeFile) -> Result<()> {
    std::fs::create_dir_all(dir).map_err(SwarmError::internal)?;
    berth_api::atomic::write_json(&dir.join("node.json"), f).map_err(SwarmError::internal)
}

/// Go's `strings.Title`-free default spec of a new swarm (moby + swarmkit defaults).
fn default_spec() -> Spec {
    Spec {
        name: "default".into(),
        labels: Default::default(),
        orchestration: OrchestrationConfig {
            task_history_retention_limit: Some(5),
        },
        raft: RaftConfig {
            snapshot_interval: 10000,
            keep_old_snapshots: Some(0),
            log_entries_for_slow_followers: 500,
            election_tick: 10,
            heartbeat_tick: 1,
        },
        dispatcher: DispatcherConfig {
            heartbeat_period: 5_000_000_000,
        },
        ca_config: CaConfig {
            node_cert_expiry: 7_776_000_000_000_000,
            ..Default::default()
        },
        task_defaults: TaskDefaults::default(),
        encryption_config: EncryptionConfig::default(),
    }
}

/// The request's non-zero fields over the defaults (moby's `initClusterSpec`).
fn merge_spec(base: &Spec, req: &Spec) -> Spec {
    let mut s = base.clone();
    if !req.labels.is_empty() {
        s.labels = req.labels.clone();
    }
    if let Some(l) = req.orchestration.task_history_retention_limit {
        s.orchestration.task_history_retention_limit = Some(l);
    }
    if req.raft.snapshot_interval != 0 {
        s.raft.snapshot_interval = req.raft.snapshot_interval;
    }
    if req.raft.keep_old_snapshots.is_some() {
        s.raft.keep_old_snapshots = req.raft.keep_old_snapshots;
    }
    if req.raft.log_entries_for_slow_followers != 0 {
        s.raft.log_entries_for_slow_followers = req.raft.log_entries_for_slow_followers;
    }
    if req.raft.election_tick != 0 {
        s.raft.election_tick = req.raft.election_tick;
    }
    if req.raft.heartbeat_tick != 0 {
        s.raft.heartbeat_tick = req.raft.heartbeat_tick;
    }
    if req.dispatcher.heartbeat_period != 0 {
        s.dispatcher.heartbeat_period = req.dispatcher.heartbeat_period;
    }
    if req.ca_config.node_cert_expiry != 0 {
        s.ca_config.node_cert_expiry = req.ca_config.node_cert_expiry;
    }
    if req.ca_config.external_cas.is_some() {
        s.ca_config.external_cas = req.ca_config.external_cas.clone();
    }
    s.ca_config.force_rotate = req.ca_config.force_rotate;
    if req.task_defaults.log_driver.is_some() {
        s.task_defaults = req.task_defaults.clone();
    }
    s.encryption_config = req.encryption_config.clone();
    s
}

/// The host part of an address, and the port (default `port`).
fn split_addr(a: &str, port: u16) -> (String, u16) {
    if let Ok(sa) = a.parse::<std::net::SocketAddr>() {
        return (sa.ip().to_string(), sa.port());
    }
    if let Ok(ip) = a.parse::<std::net::IpAddr>() {
        return (ip.to_string(), port);
    }
    match a.rsplit_once(':') {
        Some((h, p)) => (h.to_string(), p.parse().unwrap_or(port)),
        None => (a.to_string(), port),
    }
}

/// The system's address, advertised when `swarm init` names none: the source address of
/// the default route (a UDP "connect" sends nothing). moby takes the one global address of
/// the host's interfaces instead, which a host with bridges of other daemons rarely has.
fn system_addr() -> std::result::Result<std::net::IpAddr, String> {
    let err = || "could not find the system's IP address - specify one with --advertise-addr";
    let sock = std::net::UdpSocket::bind("0.0.0.0:0").map_err(|_| err().to_string())?;
    sock.connect("192.0.2.1:9").map_err(|_| err().to_string())?;
    sock.local_addr()
        .map(|a| a.ip())
        .map_err(|_| err().to_string())
}

fn applied_ok(a: Applied) -> Result<u64> {
    match a {
        Applied::Ok { index } => Ok(index),
        Applied::Nothing => Ok(0),
        Applied::OutOfSequence => Err(SwarmError::Internal(
            "rpc error: code = Unknown desc = update out of sequence".into(),
        )),
        Applied::NameConflict { kind, name } => Err(SwarmError::Conflict(match kind {
            Kind::Service => format!(
                "rpc error: code = AlreadyExists desc = name conflicts with an existing object: service {name} already exists"
            ),
            k => format!("rpc error: code = AlreadyExists desc = {} {name} already exists", k.name()),
        })),
        Applied::Exists { kind, id } => Err(SwarmError::Conflict(format!(
            "rpc error: code = AlreadyExists desc = {} {id} already exists",
            kind.name()
        ))),
        Applied::NotFound { kind, id } => {
            Err(SwarmError::NotFound(format!("{} {id} not found", kind.name())))
        }
    }
}

/// Docker's network names: `[a-zA-Z0-9][a-zA-Z0-9_.-]*`.
fn valid_network_name(n: &str) -> bool {
    let mut c = n.chars();
    c.next().is_some_and(|f| f.is_ascii_alphanumeric())
        && c.all(|x| x.is_ascii_alphanumeric() || matches!(x, '_' | '.' | '-'))
}

/// DNS-label check on service names (swarmkit's `validateAnnotations`).
/// swarmkit's `^[a-zA-Z0-9](?:[-_]*[A-Za-z0-9]+)*$`, at most 63 characters: alphanumeric
/// at both ends, `-` and `_` inside (stack services are `STACK_NAME`).
fn valid_dns_name(n: &str) -> bool {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    n.len() <= 63
        && edge(n.chars().next())
        && edge(n.chars().last())
        && n.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
}

impl<E: Executor> Cluster<E> {
    /// Opens the swarm state of a data root: inactive, locked, or active again.
    pub async fn open(data_root: &Path, facts: NodeFacts, exec: Arc<E>) -> Arc<Self> {
        let dir = data_root.join("swarm");
        let c = Arc::new(Cluster {
            dir: dir.clone(),
            facts,
            exec,
            phase: Mutex::new(Phase::Inactive),
            alloc: Arc::new(Mutex::new(())),
        });
        let nf: Option<NodeFile> = std::fs::read(dir.join("node.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        if let Some(nf) = nf {
            if !nf.dek_sealed.is_empty() {
                *c.phase.lock().await = Phase::Locked(nf);
            } else if let Some(k) = unb64(&nf.dek).and_then(|v| <[u8; 32]>::try_from(v).ok()) {
                match c.start(&nf, Key::new(k), None).await {
                    Ok(a) => *c.phase.lock().await = Phase::Active(a),
                    Err(e) => tracing::error!("swarm: cannot resume: {e}"),
                }
            }
        }
        c
    }

    /// Opens the log, makes sure this node is in it, and starts the loops.
    async fn start(
        self: &Arc<Self>,
        nf: &NodeFile,
        dek: Key,
        init: Option<&InitRequest>,
    ) -> Result<Active> {
        let dek_kept = dek.clone();
        let store = Arc::new(
            Replicated::open(&self.dir.join("raft"), &dek_kept)
                .await
                .map_err(SwarmError::Internal)?,
        );
        if init.is_some() {
            store
                .initialize(&nf.addr)
                .await
                .map_err(SwarmError::Internal)?;
        }
        store
            .wait_ready(Duration::from_secs(30))
            .await
            .map_err(SwarmError::Internal)?;
        // A new swarm's root CA.
        let root_ca = match init {
            Some(_) => {
                let ca = crate::ca::generate().map_err(SwarmError::Internal)?;
                let tls = crate::ca::tls_info(&ca.cert_pem).map_err(SwarmError::Internal)?;
                Some((ca, tls))
            }
            None => None,
        };
        // This node's description, refreshed at every start.
        let existing = store.shared.read(|s| s.nodes.get(&nf.node_id).cloned());
        let mut node = existing.clone().unwrap_or_else(|| Node {
            id: nf.node_id.clone(),
            spec: NodeSpec {
                role: "manager".into(),
                availability: init
                    .map(|r| r.availability.clone())
                    .filter(|a| !a.is_empty())
                    .unwrap_or_else(|| "active".into()),
                ..Default::default()
            },
            ..Default::default()
        });
        node.description = NodeDescription {
            hostname: self.facts.hostname.clone(),
            platform: Platform {
                architecture: std::env::consts::ARCH.into(),
                os: "linux".into(),
            },
            resources: Resources {
                nano_cpus: self.facts.nano_cpus,
                memory_bytes: self.facts.memory_bytes,
                generic_resources: None,
            },
            engine: EngineDescription {
                engine_version: self.facts.engine_version.clone(),
                labels: Default::default(),
                plugins: [
                    "Log:json-file",
                    "Network:bridge",
                    "Network:host",
                    "Network:null",
                    "Network:overlay",
                    "Volume:local",
                ]
                .iter()
                .filter_map(|p| p.split_once(':'))
                .map(|(t, n)| PluginDescription {
                    r#type: t.into(),
                    name: n.into(),
                })
                .collect(),
            },
            tls_info: match &root_ca {
                Some((_, tls)) => tls.clone(),
                None => store
                    .shared
                    .read(|s| s.cluster.as_ref().map(|c| c.info.tls_info.clone()))
                    .unwrap_or_default(),
            },
        };
        node.status = NodeStatus {
            state: "ready".into(),
            message: String::new(),
            addr: nf.addr.clone(),
        };
        node.manager_status = Some(ManagerStatus {
            leader: true,
            reachability: "reachable".into(),
            addr: nf.manager_addr(),
        });
        let mut ops = Vec::new();
        if let Some(req) = init {
            let spec = merge_spec(&default_spec(), &req.spec);
            let digest: [u8; 32] = random_bytes::<32>();
            let mut info = ClusterInfo {
                id: new_id(),
                spec,
                default_addr_pool: req.default_addr_pool.clone().filter(|p| !p.is_empty()),
                subnet_size: if req.subnet_size == 0 {
                    24
                } else {
                    req.subnet_size
                },
                data_path_port: if req.data_path_port == 0 {
                    4789
                } else {
                    req.data_path_port
                },
                ..Default::default()
            };
            info.spec.encryption_config.auto_lock_managers = req.auto_lock_managers;
            let mut root_ca_key = String::new();
            if let Some((ca, tls)) = &root_ca {
                info.tls_info = tls.clone();
                root_ca_key = ca.key_pem.clone();
            }
            let uk = if req.auto_lock_managers {
                unlock_key(&random_bytes::<32>())
            } else {
                String::new()
            };
            let pools = info
                .default_addr_pool
                .clone()
                .unwrap_or_else(|| vec![DEFAULT_POOL.to_string()]);
            let size = info.subnet_size;
            ops.push(Op::PutCluster(Box::new(ClusterObject {
                info,
                worker_token: join_token(&digest),
                manager_token: join_token(&digest),
                unlock_key: uk,
                root_ca_key,
            })));
            // The routing mesh's network, as swarmkit makes it at init.
            let taken = self.taken_subnets(&State::default());
            match allocator::pick_subnet(&pools, size, &taken) {
                Some(subnet) => ops.push(Op::Create(Object::Network(Box::new(swarm_network(
                    new_id(),
                    NetworkSpec {
                        name: allocator::INGRESS.into(),
                        ingress: true,
                        driver_configuration: Some(Driver {
                            name: "overlay".into(),
                            options: None,
                        }),
                        ipam_options: Some(IpamOptions {
                            driver: Driver {
                                name: "default".into(),
                                options: None,
                            },
                            configs: Vec::new(),
                        }),
                        scope: "swarm".into(),
                        ..Default::default()
                    },
                    subnet,
                    None,
                    allocator::INGRESS_VNI,
                ))))),
                None => tracing::warn!("swarm: no free subnet for the ingress network"),
            }
        }
        ops.push(if existing.is_some() {
            Op::Update {
                object: Object::Node(Box::new(node)),
                expect: None,
            }
        } else {
            Op::Create(Object::Node(Box::new(node)))
        });
        applied_ok(
            store
                .propose(Command { at: now(), ops })
                .await
                .map_err(SwarmError::Internal)?,
        )?;
        let (stop, stop_rx) = tokio::sync::watch::channel(false);
        let mut loops = Vec::new();
        loops.push(tokio::spawn(manager_loop(
            store.clone(),
            self.alloc.clone(),
            stop_rx.clone(),
        )));
        let agent = Arc::new(Agent::new(
            self.exec.clone(),
            store.clone(),
            nf.node_id.clone(),
            self.facts.hostname.clone(),
        ));
        loops.push(tokio::spawn(agent.run(stop_rx)));
        Ok(Active {
            store,
            dek,
            node_id: nf.node_id.clone(),
            addr: nf.addr.clone(),
            stop,
            loops,
        })
    }

    /// The active manager's store, or moby's 503 for this phase.
    async fn store(&self) -> Result<Arc<Replicated>> {
        match &*self.phase.lock().await {
            Phase::Active(a) => Ok(a.store.clone()),
            Phase::Locked(_) => Err(SwarmError::Unavailable(LOCKED.into())),
            Phase::Inactive => Err(SwarmError::not_manager()),
        }
    }

    async fn read<T>(&self, f: impl FnOnce(&State) -> T) -> Result<T> {
        Ok(self.store().await?.shared.read(f))
    }

    async fn commit(&self, ops: Vec<Op>) -> Result<u64> {
        let store = self.store().await?;
        applied_ok(
            store
                .propose(Command { at: now(), ops })
                .await
                .map_err(SwarmError::Internal)?,
        )
    }

    // ---- /swarm ---------------------------------------------------------------------------

    pub async fn init(self: &Arc<Self>, req: InitRequest) -> Result<String> {
        let mut phase = self.phase.lock().await;
        if !matches!(*phase, Phase::Inactive) {
            return Err(SwarmError::Unavailable(ALREADY_IN_SWARM.into()));
        }
        if req.listen_addr.is_empty() {
            return Err(SwarmError::InvalidArgument(
                "invalid ListenAddr \"\": invalid empty address".into(),
            ));
        }
        if !req.spec.name.is_empty() && req.spec.name != "default" {
            return Err(SwarmError::InvalidArgument(
                "swarm spec must be named \"default\"".into(),
            ));
        }
        if req
            .spec
            .ca_config
            .external_cas
            .as_ref()
            .is_some_and(|e| !e.is_empty())
        {
            return Err(SwarmError::InvalidArgument(
                "external CAs are not supported by berth".into(),
            ));
        }
        if !matches!(req.availability.as_str(), "" | "active" | "pause" | "drain") {
            return Err(SwarmError::InvalidArgument(format!(
                "invalid Availability \"{}\"",
                req.availability
            )));
        }
        let addrs = crate::listen_addr::resolve(
            &crate::listen_addr::SystemInterfaces,
            &req.listen_addr,
            &req.advertise_addr,
            system_addr,
        )
        .map_err(SwarmError::InvalidArgument)?;
        let dek = Key::generate();
        let nf = NodeFile {
            node_id: new_id(),
            addr: addrs.advertise_host.clone(),
            advertise_port: addrs.advertise_port,
            listen_addr: addrs.listen.clone(),
            dek: b64(dek.raw()),
            dek_sealed: String::new(),
        };
        let _ = std::fs::remove_dir_all(&self.dir);
        write_node_file(&self.dir, &nf)?;
        let active = match self.start(&nf, dek.clone(), Some(&req)).await {
            Ok(a) => a,
            Err(e) => {
                let _ = std::fs::remove_dir_all(&self.dir);
                return Err(e);
            }
        };
        // Autolock: the DEK is kept sealed with the unlock key from now on.
        let uk = active
            .store
            .shared
            .read(|s| s.cluster.as_ref().map(|c| c.unlock_key.clone()))
            .unwrap_or_default();
        self.reseal(&nf, &dek, &uk)?;
        let id = nf.node_id.clone();
        *phase = Phase::Active(active);
        Ok(id)
    }

    fn reseal(&self, nf: &NodeFile, dek: &Key, unlock: &str) -> Result<()> {
        let mut nf = nf.clone();
        match parse_unlock_key(unlock) {
            Some(kek) => {
                nf.dek = String::new();
                nf.dek_sealed = b64(&Key::new(kek).seal(dek.raw()));
            }
            None => {
                nf.dek = b64(dek.raw());
                nf.dek_sealed = String::new();
            }
        }
        write_node_file(&self.dir, &nf)
    }

    pub async fn join(&self, _req: JoinRequest) -> Result<()> {
        let phase = self.phase.lock().await;
        if !matches!(*phase, Phase::Inactive) {
            return Err(SwarmError::Unavailable(ALREADY_IN_SWARM.into()));
        }
        Err(SwarmError::InvalidArgument(
            "joining another swarm is not supported by berth yet (single-node swarm): use \"swarm init\"".into(),
        ))
    }

    pub async fn leave(&self, force: bool) -> Result<()> {
        let mut phase = self.phase.lock().await;
        match &*phase {
            Phase::Inactive => return Err(SwarmError::Unavailable(NOT_IN_SWARM.into())),
            _ if !force => {
                return Err(SwarmError::Unavailable(
                    "You are attempting to leave the swarm on a node that is participating as a manager. Removing the last manager erases all current state of the swarm. Use `--force` to ignore this message. ".into(),
                ))
            }
            _ => {}
        }
        if let Phase::Active(a) = std::mem::replace(&mut *phase, Phase::Inactive) {
            let _ = a.stop.send(true);
            for l in a.loops {
                let _ = l.await;
            }
            a.store.shutdown().await;
        }
        // The tasks' containers go with the swarm, as on docker, and so do this node's
        // copies of its networks and the services' records and balancing.
        for f in self.exec.existing().await {
            self.exec.remove(&f.container_id, &f.task_id).await;
        }
        self.exec.set_lb(Default::default()).await;
        for id in self.exec.local_networks() {
            self.exec.remove_network(&id).await;
        }
        let _ = std::fs::remove_dir_all(&self.dir);
        Ok(())
    }

    /// Stops the loops (daemon shutdown); tasks keep running.
    pub async fn shutdown(&self) {
        if let Phase::Active(a) = &*self.phase.lock().await {
            let _ = a.stop.send(true);
            a.store.shutdown().await;
        }
    }

    pub async fn inspect(&self) -> Result<Swarm> {
        self.read(|s| {
            s.cluster.as_ref().map(|c| Swarm {
                cluster: c.info.clone(),
                join_tokens: JoinTokens {
                    worker: c.worker_token.clone(),
                    manager: c.manager_token.clone(),
                },
            })
        })
        .await?
        .ok_or_else(SwarmError::not_manager)
    }

    pub async fn update(
        &self,
        version: u64,
        spec: Spec,
        rotate_worker: bool,
        rotate_manager: bool,
        rotate_unlock: bool,
    ) -> Result<()> {
        let store = self.store().await?;
        let mut c = store
            .shared
            .read(|s| s.cluster.clone())
            .ok_or_else(SwarmError::not_manager)?;
        if c.info.meta.version.index != version {
            return Err(SwarmError::Internal(
                "rpc error: code = Unknown desc = update out of sequence".into(),
            ));
        }
        if !spec.name.is_empty() && spec.name != "default" {
            return Err(SwarmError::InvalidArgument(
                "swarm spec must be named \"default\"".into(),
            ));
        }
        let was_locked = c.info.spec.encryption_config.auto_lock_managers;
        if !spec.ca_config.signing_ca_cert.is_empty() || !spec.ca_config.signing_ca_key.is_empty() {
            return Err(SwarmError::InvalidArgument(
                "rotating to a given root CA certificate and key is not supported by berth: use `swarm ca --rotate` without them".into(),
            ));
        }
        if spec
            .ca_config
            .external_cas
            .as_ref()
            .is_some_and(|e| !e.is_empty())
        {
            return Err(SwarmError::InvalidArgument(
                "external CAs are not supported by berth".into(),
            ));
        }
        let rotate = spec.ca_config.force_rotate != c.info.spec.ca_config.force_rotate;
        c.info.spec = merge_spec(&c.info.spec, &spec);
        // `swarm ca --rotate`: a new root CA; on one node every certificate follows at once.
        let mut node_ops = Vec::new();
        if rotate {
            let ca = crate::ca::generate().map_err(SwarmError::Internal)?;
            let tls = crate::ca::tls_info(&ca.cert_pem).map_err(SwarmError::Internal)?;
            c.info.tls_info = tls.clone();
            c.root_ca_key = ca.key_pem;
            for n in store
                .shared
                .read(|s| s.nodes.values().cloned().collect::<Vec<_>>())
            {
                let mut n = n;
                n.description.tls_info = tls.clone();
                node_ops.push(Op::Update {
                    object: Object::Node(Box::new(n)),
                    expect: None,
                });
            }
        }
        let digest = random_bytes::<32>();
        if rotate_worker {
            c.worker_token = join_token(&digest);
        }
        if rotate_manager {
            c.manager_token = join_token(&digest);
        }
        let locked = c.info.spec.encryption_config.auto_lock_managers;
        if locked && (!was_locked || rotate_unlock || c.unlock_key.is_empty()) {
            c.unlock_key = unlock_key(&random_bytes::<32>());
        } else if !locked {
            c.unlock_key.clear();
        }
        let uk = c.unlock_key.clone();
        let mut ops = vec![Op::PutCluster(Box::new(c))];
        ops.extend(node_ops);
        applied_ok(
            store
                .propose(Command { at: now(), ops })
                .await
                .map_err(SwarmError::Internal)?,
        )?;
        // Seal (or unseal) the DEK for the next start.
        let nf: NodeFile = std::fs::read(self.dir.join("node.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or_else(|| SwarmError::Internal("swarm node file unreadable".into()))?;
        let dek = match &*self.phase.lock().await {
            Phase::Active(a) => a.dek.clone(),
            _ => return Err(SwarmError::not_manager()),
        };
        self.reseal(&nf, &dek, &uk)
    }

    pub async fn unlock_key(&self) -> Result<String> {
        self.read(|s| {
            s.cluster
                .as_ref()
                .map(|c| c.unlock_key.clone())
                .unwrap_or_default()
        })
        .await
    }

    pub async fn unlock(self: &Arc<Self>, key: &str) -> Result<()> {
        let mut phase = self.phase.lock().await;
        let nf = match &*phase {
            Phase::Locked(nf) => nf.clone(),
            Phase::Active(_) => return Err(SwarmError::Unavailable("swarm is not locked".into())),
            Phase::Inactive => return Err(SwarmError::not_manager()),
        };
        let bad = || {
            SwarmError::InvalidArgument("swarm could not be unlocked: invalid key provided".into())
        };
        let kek = parse_unlock_key(key).ok_or_else(bad)?;
        let sealed = unb64(&nf.dek_sealed).ok_or_else(bad)?;
        let dek = Key::new(kek).open(&sealed).map_err(|_| bad())?;
        let dek: [u8; 32] = dek.try_into().map_err(|_| bad())?;
        let active = self.start(&nf, Key::new(dek), None).await?;
        *phase = Phase::Active(active);
        Ok(())
    }

    /// `info`'s Swarm section.
    pub async fn info(&self) -> Info {
        let phase = self.phase.lock().await;
        match &*phase {
            Phase::Inactive => Info {
                local_node_state: "inactive".into(),
                ..Default::default()
            },
            Phase::Locked(nf) => Info {
                node_id: String::new(),
                node_addr: nf.addr.clone(),
                local_node_state: "locked".into(),
                ..Default::default()
            },
            Phase::Active(a) => a.store.shared.read(|s| Info {
                node_id: a.node_id.clone(),
                node_addr: a.addr.clone(),
                local_node_state: "active".into(),
                control_available: true,
                error: String::new(),
                remote_managers: Some(vec![Peer {
                    node_id: a.node_id.clone(),
                    addr: s
                        .nodes
                        .get(&a.node_id)
                        .and_then(|n| n.manager_status.as_ref().map(|m| m.addr.clone()))
                        .unwrap_or_default(),
                }]),
                nodes: s.nodes.len() as i64,
                managers: s
                    .nodes
                    .values()
                    .filter(|n| n.spec.role == "manager")
                    .count() as i64,
                cluster: s.cluster.as_ref().map(|c| c.info.clone()),
            }),
        }
    }

    // ---- nodes -----------------------------------------------------------------------------

    pub async fn nodes(&self) -> Result<Vec<Node>> {
        self.read(|s| s.nodes.values().cloned().collect()).await
    }

    pub async fn node(&self, key: &str) -> Result<Node> {
        self.read(|s| s.find_node(key).cloned())
            .await?
            .ok_or_else(|| SwarmError::NotFound(format!("node {key} not found")))
    }

    pub async fn update_node(&self, key: &str, version: u64, spec: NodeSpec) -> Result<()> {
        let mut n = self.node(key).await?;
        if !matches!(spec.availability.as_str(), "active" | "pause" | "drain") {
            return Err(SwarmError::InvalidArgument(format!(
                "invalid Availability: \"{}\"",
                spec.availability
            )));
        }
        if !matches!(spec.role.as_str(), "manager" | "worker") {
            return Err(SwarmError::InvalidArgument(format!(
                "invalid Role: \"{}\"",
                spec.role
            )));
        }
        if spec.role == "worker" {
            return Err(SwarmError::InvalidArgument(
                "rpc error: code = FailedPrecondition desc = attempting to demote the last manager of the swarm".into(),
            ));
        }
        n.spec = spec;
        self.commit(vec![Op::Update {
            object: Object::Node(Box::new(n)),
            expect: Some(version),
        }])
        .await
        .map(|_| ())
    }

    pub async fn remove_node(&self, key: &str, _force: bool) -> Result<()> {
        let n = self.node(key).await?;
        Err(SwarmError::InvalidArgument(format!(
            "rpc error: code = FailedPrecondition desc = node {} is a cluster manager and is a member of the raft cluster. It must be demoted to worker before removal",
            n.id
        )))
    }

    // ---- services ----------------------------------------------------------------------

    /// swarmkit's controlapi checks, with its messages.
    fn validate_service(&self, st: &State, spec: &mut ServiceSpec) -> Result<()> {
        let inv = |m: &str| {
            SwarmError::InvalidArgument(format!("rpc error: code = InvalidArgument desc = {m}"))
        };
        if spec.name.is_empty() {
            spec.name = String::new();
        }
        if !spec.name.is_empty() && !valid_dns_name(&spec.name) {
            return Err(inv("name must be valid as a DNS name component"));
        }
        let tt = &mut spec.task_template;
        let Some(c) = tt.container_spec.as_mut() else {
            return Err(SwarmError::InvalidArgument(
                "mismatched Runtime and *Spec fields".into(),
            ));
        };
        if c.image.is_empty() {
            return Err(inv("ContainerSpec: image reference must be provided"));
        }
        // moby's isolationToGRPC: "process" and "hyperv" (any case) are kept, anything
        // else is the default (a Linux node then refuses the first two at task start).
        c.isolation = match c.isolation.to_ascii_lowercase().as_str() {
            i @ ("process" | "hyperv") => i.to_string(),
            _ => "default".into(),
        };
        if let Some(p) = c.privileges.as_mut() {
            *p = privileges_shape(p);
        }
        if c.init.is_none() {
            c.init = Some(false);
        }
        if c.dns_config.is_none() {
            c.dns_config = Some(DnsConfig::default());
        }
        for m in &c.mounts {
            if m.target.is_empty() {
                return Err(inv("ContainerSpec: mount target must be provided"));
            }
        }
        if tt.resources.is_none() {
            tt.resources = Some(ResourceRequirements {
                limits: Some(Limit::default()),
                reservations: Some(Resources::default()),
            });
        }
        if tt.placement.is_none() {
            tt.placement = Some(Placement::default());
        }
        if let Some(p) = &tt.placement {
            for c in &p.constraints {
                parse_constraint(c).map_err(|e| inv(&e))?;
            }
        }
        if tt.runtime.is_empty() {
            tt.runtime = "container".into();
        }
        // A log driver's empty options are none in swarmkit's store (moby shows no key).
        if let Some(d) = tt.log_driver.as_mut() {
            if d.options.as_ref().is_some_and(|o| o.is_empty()) {
                d.options = None;
            }
        }
        if let Some(r) = &tt.restart_policy {
            if !matches!(r.condition.as_str(), "" | "none" | "on-failure" | "any") {
                return Err(inv(&format!(
                    "invalid RestartCondition: \"{}\"",
                    r.condition
                )));
            }
            if r.delay.is_some_and(|d| d < 0) {
                return Err(inv("TaskSpec: restart-delay cannot be negative"));
            }
            if r.window.is_some_and(|d| d < 0) {
                return Err(inv("TaskSpec: restart-window cannot be negative"));
            }
        }
        for (what, u) in [
            ("update", &spec.update_config),
            ("rollback", &spec.rollback_config),
        ] {
            if let Some(u) = u {
                if u.delay < 0 {
                    return Err(inv(&format!("TaskSpec: {what}-delay cannot be negative")));
                }
                if u.monitor < 0 {
                    return Err(inv(&format!("{what}-monitor cannot be negative")));
                }
                if !(0.0..=1.0).contains(&u.max_failure_ratio) {
                    return Err(inv(&format!(
                        "{what}-maxfailureratio cannot be less than 0 or bigger than 1"
                    )));
                }
                if !matches!(
                    u.failure_action.as_str(),
                    "" | "pause" | "continue" | "rollback"
                ) {
                    return Err(inv(&format!(
                        "invalid FailureAction: \"{}\"",
                        u.failure_action
                    )));
                }
                if what == "rollback" && u.failure_action == "rollback" {
                    return Err(inv("rollback-failure-action cannot be rollback"));
                }
                if !matches!(u.order.as_str(), "" | "stop-first" | "start-first") {
                    return Err(inv(&format!("invalid Order: \"{}\"", u.order)));
                }
            }
        }
        let modes = [
            spec.mode.replicated.is_some(),
            spec.mode.global.is_some(),
            spec.mode.replicated_job.is_some(),
            spec.mode.global_job.is_some(),
        ]
        .iter()
        .filter(|m| **m)
        .count();
        if modes == 0 {
            spec.mode.replicated = Some(ReplicatedService { replicas: Some(1) });
        } else if modes > 1 {
            return Err(inv("service can only have one mode"));
        }
        // moby's conversion: unset replicas are 1, and so are a job's unset concurrency
        // and completions.
        if let Some(r) = spec.mode.replicated.as_mut() {
            r.replicas.get_or_insert(1);
        }
        if let Some(j) = spec.mode.replicated_job.as_mut() {
            j.max_concurrent.get_or_insert(1);
            j.total_completions.get_or_insert(1);
        }
        let ep = spec.endpoint_spec.get_or_insert_with(EndpointSpec::default);
        if ep.mode.is_empty() {
            ep.mode = "vip".into();
        }
        if !matches!(ep.mode.as_str(), "vip" | "dnsrr") {
            return Err(inv(&format!("invalid EndpointSpec mode: {}", ep.mode)));
        }
        let mut published = std::collections::BTreeSet::new();
        for p in &ep.ports {
            if !matches!(p.protocol.as_str(), "" | "tcp" | "udp") {
                return Err(SwarmError::InvalidArgument(format!(
                    "invalid protocol \"{}\": berth publishes tcp and udp ports",
                    p.protocol
                )));
            }
            if !matches!(p.publish_mode.as_str(), "" | "ingress" | "host") {
                return Err(inv(&format!(
                    "EndpointSpec: invalid publish mode \"{}\"",
                    p.publish_mode
                )));
            }
            if p.target_port == 0 || p.target_port > 65535 || p.published_port > 65535 {
                return Err(inv("EndpointSpec: invalid port"));
            }
            let ingress = p.publish_mode != "host";
            if ingress && ep.mode == "dnsrr" {
                return Err(inv(
                    "EndpointSpec: port published with ingress mode can't be used with dnsrr mode",
                ));
            }
            if p.published_port != 0 {
                let proto = if p.protocol.is_empty() {
                    "tcp"
                } else {
                    &p.protocol
                };
                if !published.insert((proto.to_string(), p.published_port, ingress)) {
                    return Err(inv("EndpointSpec: duplicate published ports provided"));
                }
            }
        }
        // Networks: by name or id, stored as ids; swarm-scoped only.
        let resolve = |list: &mut Vec<NetworkAttachmentConfig>| -> Result<()> {
            for a in list.iter_mut() {
                match st.find_network(&a.target) {
                    Some(n) if n.spec.ingress => {
                        return Err(inv(&format!(
                            "Service cannot be explicitly attached to the ingress network \"{}\"",
                            n.spec.name
                        )))
                    }
                    Some(n) => a.target = n.id.clone(),
                    None => {
                        // `host` and `bridge` (by name, by the swarm id, or by the local
                        // network's id): moby's predefined swarm networks.
                        let local = self.exec.local_network_name(&a.target);
                        let key = local.as_deref().unwrap_or(&a.target);
                        if let Some(name) =
                            predefined::find(st, key).or_else(|| predefined::find(st, &a.target))
                        {
                            a.target = predefined::id(
                                st.cluster
                                    .as_ref()
                                    .map(|c| c.info.id.as_str())
                                    .unwrap_or(""),
                                name,
                            );
                            continue;
                        }
                        if local.as_deref() == Some("none") {
                            return Err(SwarmError::NotFound(
                                "could not find the corresponding predefined swarm network: network none not found".into(),
                            ));
                        }
                        if let Some(name) = local {
                            return Err(SwarmError::InvalidArgument(format!(
                                "The network {name} cannot be used with services. Only networks scoped to the swarm can be used, such as those created with the overlay driver."
                            )));
                        }
                        return Err(SwarmError::NotFound(format!(
                            "network {} not found",
                            a.target
                        )));
                    }
                }
            }
            let mut seen = std::collections::BTreeSet::new();
            for a in list.iter() {
                if !seen.insert(a.target.clone()) {
                    return Err(inv(&format!(
                        "Service cannot be attached to the same network twice: {}",
                        a.target
                    )));
                }
            }
            Ok(())
        };
        resolve(&mut spec.task_template.networks)?;
        resolve(&mut spec.networks)?;
        // moby moves the deprecated service-level list into the task template.
        if spec.task_template.networks.is_empty() && !spec.networks.is_empty() {
            spec.task_template.networks = std::mem::take(&mut spec.networks);
        }
        // A task on a predefined network runs in that network mode: it cannot join
        // other networks too, nor the routing mesh (moby would start it on the ingress
        // network instead, or fail to connect it at start).
        let targets: Vec<String> = spec
            .task_template
            .networks
            .iter()
            .map(|a| a.target.clone())
            .collect();
        if let Some(name) = targets.iter().find_map(|t| predefined::find(st, t)) {
            if targets.len() > 1 {
                return Err(SwarmError::InvalidArgument(format!(
                    "a service on the predefined network \"{name}\" cannot be attached to other networks"
                )));
            }
            if allocator::publishes_ingress(spec) {
                return Err(SwarmError::InvalidArgument(format!(
                    "a service on the predefined network \"{name}\" cannot publish ports in ingress mode (use mode=host)"
                )));
            }
        }
        if allocator::publishes_ingress(spec) && st.ingress().is_none() {
            return Err(inv(
                "service needs ingress network, but no ingress network is present",
            ));
        }
        // Secret and config references: by name or id, resolved to both.
        let c = spec
            .task_template
            .container_spec
            .as_mut()
            .ok_or_else(|| inv("no container spec"))?;
        for r in c.secrets.iter_mut() {
            let key = if r.secret_id.is_empty() {
                &r.secret_name
            } else {
                &r.secret_id
            };
            let s = st
                .find_secret(key)
                .ok_or_else(|| inv(&format!("secret not found: {key}")))?;
            r.secret_id = s.id.clone();
            r.secret_name = s.spec.name.clone();
        }
        for r in c.configs.iter_mut() {
            let key = if r.config_id.is_empty() {
                &r.config_name
            } else {
                &r.config_id
            };
            let s = st
                .find_config(key)
                .ok_or_else(|| inv(&format!("config not found: {key}")))?;
            r.config_id = s.id.clone();
            r.config_name = s.spec.name.clone();
        }
        Ok(())
    }

    /// `auth`: the client's `X-Registry-Auth` (`--with-registry-auth`), kept for the
    /// tasks' image pulls.
    pub async fn create_service(
        &self,
        mut spec: ServiceSpec,
        auth: Option<String>,
    ) -> Result<String> {
        let store = self.store().await?;
        let _held = self.alloc.lock().await;
        let st = store.shared.snapshot();
        self.validate_service(&st, &mut spec)?;
        let id = new_id();
        check_port_conflicts(&st, &spec, &id)?;
        let mut svc = Service {
            id: id.clone(),
            spec,
            ..Default::default()
        };
        // Its VIPs and published ports at once, as inspect shows them after create.
        svc.endpoint = allocator::endpoint_for(&st, &svc, &mut Pools::of(&st));
        let mut ops = vec![Op::Create(Object::Service(Box::new(svc)))];
        if let Some(a) = auth.filter(|a| !a.is_empty()) {
            ops.push(Op::SetRegistryAuth {
                service_id: id.clone(),
                auth: a,
            });
        }
        self.commit(ops).await?;
        Ok(id)
    }

    pub async fn services(&self, with_status: bool) -> Result<Vec<Service>> {
        self.read(|s| {
            s.services
                .values()
                .map(|svc| {
                    let mut svc = svc.clone();
                    if with_status {
                        svc.service_status = Some(service_status(s, &svc));
                    }
                    svc
                })
                .collect()
        })
        .await
    }

    pub async fn service(&self, key: &str) -> Result<Service> {
        self.read(|s| s.find_service(key).cloned())
            .await?
            .ok_or_else(|| SwarmError::NotFound(format!("service {key} not found")))
    }

    /// `rollback` is "previous" for `docker service rollback` (and `update --rollback`).
    pub async fn update_service(
        &self,
        key: &str,
        version: u64,
        mut spec: ServiceSpec,
        rollback: bool,
        auth: Option<String>,
    ) -> Result<()> {
        let store = self.store().await?;
        let _held = self.alloc.lock().await;
        let st = store.shared.snapshot();
        let cur = st
            .find_service(key)
            .cloned()
            .ok_or_else(|| SwarmError::NotFound(format!("service {key} not found")))?;
        if cur.meta.version.index != version {
            return Err(SwarmError::Internal(
                "rpc error: code = Unknown desc = update out of sequence".into(),
            ));
        }
        let mut svc = cur.clone();
        if rollback {
            let prev = cur.previous_spec.clone().ok_or_else(|| {
                SwarmError::InvalidArgument(format!(
                    "rpc error: code = FailedPrecondition desc = service {} does not have a previous spec",
                    cur.id
                ))
            })?;
            svc.previous_spec = Some(cur.spec.clone());
            svc.spec = prev;
            svc.update_status = Some(UpdateStatus {
                state: "rollback_started".into(),
                started_at: Some(now()),
                completed_at: None,
                message: "manually requested rollback".into(),
            });
        } else {
            self.validate_service(&st, &mut spec)?;
            if spec.name != cur.spec.name {
                return Err(SwarmError::InvalidArgument(
                    "rpc error: code = Unimplemented desc = renaming services is not supported"
                        .into(),
                ));
            }
            check_port_conflicts(&st, &spec, &cur.id)?;
            svc.previous_spec = Some(cur.spec.clone());
            let template_changed = spec.task_template != cur.spec.task_template;
            svc.spec = spec;
            if template_changed {
                svc.update_status = Some(UpdateStatus {
                    state: "updating".into(),
                    started_at: Some(now()),
                    completed_at: None,
                    message: "update in progress".into(),
                });
            }
        }
        svc.endpoint = allocator::endpoint_for(&st, &svc, &mut Pools::of(&st));
        let id = svc.id.clone();
        let mut ops = vec![Op::Update {
            object: Object::Service(Box::new(svc)),
            expect: Some(version),
        }];
        // New credentials replace the old; none given keeps them (as moby does).
        if let Some(a) = auth.filter(|a| !a.is_empty()) {
            ops.push(Op::SetRegistryAuth {
                service_id: id,
                auth: a,
            });
        }
        self.commit(ops).await.map(|_| ())
    }

    pub async fn remove_service(&self, key: &str) -> Result<()> {
        let s = self.service(key).await?;
        self.commit(vec![Op::Delete {
            kind: Kind::Service,
            id: s.id,
        }])
        .await
        .map(|_| ())
    }

    // ---- networks --------------------------------------------------------------------------

    /// Subnets a new swarm network must not overlap: the swarm's own, this node's
    /// networks and routes.
    fn taken_subnets(&self, st: &State) -> Vec<ipnet::Ipv4Net> {
        let mut v: Vec<ipnet::Ipv4Net> = st
            .networks
            .values()
            .filter_map(|n| allocator::subnet_of(n).map(|(s, _)| s))
            .collect();
        v.extend(
            self.exec
                .local_subnets()
                .iter()
                .filter_map(|s| s.parse::<ipnet::Ipv4Net>().ok()),
        );
        v
    }

    /// `POST /networks/create` with the overlay driver: a swarm-scoped network, its subnet
    /// (the request's or the next free one of the swarm's pools) and VXLAN id.
    pub async fn create_network(&self, mut spec: NetworkSpec) -> Result<String> {
        let store = self.store().await?;
        let inv = |m: String| {
            SwarmError::InvalidArgument(format!("rpc error: code = InvalidArgument desc = {m}"))
        };
        let st = store.shared.snapshot();
        if matches!(spec.name.as_str(), "bridge" | "host" | "none")
            || (spec.name == allocator::INGRESS && !spec.ingress)
        {
            return Err(SwarmError::Forbidden(format!(
                "{} is a pre-defined network and cannot be created",
                spec.name
            )));
        }
        if !valid_network_name(&spec.name) {
            return Err(inv(format!(
                "invalid network name \"{}\", only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                spec.name
            )));
        }
        if st.networks.values().any(|n| n.spec.name == spec.name)
            || self.exec.local_network_name(&spec.name).is_some()
        {
            return Err(SwarmError::Conflict(format!(
                "network with name {} already exists",
                spec.name
            )));
        }
        if spec.ingress {
            if let Some(i) = st.ingress() {
                return Err(SwarmError::Forbidden(format!(
                    "ingress network ({}) is already present",
                    i.id
                )));
            }
        }
        if spec.ipv6_enabled {
            return Err(SwarmError::InvalidArgument(
                "IPv6 on overlay networks is not supported by berth".into(),
            ));
        }
        if spec.config_from.is_some() {
            return Err(SwarmError::InvalidArgument(
                "config-from networks are not supported by berth".into(),
            ));
        }
        let ipam = spec.ipam_options.clone().unwrap_or_default();
        if !ipam.driver.name.is_empty() && ipam.driver.name != "default" {
            return Err(inv("invalid IPAM specified".into()));
        }
        if ipam.configs.len() > 1 {
            return Err(SwarmError::InvalidArgument(
                "berth supports one IPv4 subnet per network".into(),
            ));
        }
        let taken = self.taken_subnets(&st);
        let (subnet, gateway) = match ipam.configs.first() {
            Some(c) if !c.subnet.is_empty() => {
                let subnet: ipnet::Ipv4Net = c
                    .subnet
                    .parse()
                    .map_err(|_| inv(format!("ipam configuration: invalid subnet {}", c.subnet)))?;
                if !c.range.is_empty() {
                    return Err(SwarmError::InvalidArgument(
                        "an IP range on overlay networks is not supported by berth".into(),
                    ));
                }
                let gw = if c.gateway.is_empty() {
                    None
                } else {
                    let g: std::net::Ipv4Addr = c.gateway.parse().map_err(|_| {
                        inv(format!("ipam configuration: invalid gateway {}", c.gateway))
                    })?;
                    if !subnet.contains(&g) {
                        return Err(inv(format!(
                            "ipam configuration: subnet {} does not contain gateway {}",
                            c.subnet, c.gateway
                        )));
                    }
                    Some(g)
                };
                if taken
                    .iter()
                    .any(|t| t.contains(&subnet.network()) || subnet.contains(&t.network()))
                {
                    return Err(SwarmError::Forbidden(
                        "invalid pool request: Pool overlaps with other one on this address space"
                            .into(),
                    ));
                }
                (subnet.trunc(), gw)
            }
            _ => {
                let (pools, size) = st
                    .cluster
                    .as_ref()
                    .map(|c| {
                        (
                            c.info
                                .default_addr_pool
                                .clone()
                                .unwrap_or_else(|| vec![DEFAULT_POOL.to_string()]),
                            c.info.subnet_size,
                        )
                    })
                    .unwrap_or_else(|| (vec![DEFAULT_POOL.to_string()], 24));
                let s = allocator::pick_subnet(&pools, size, &taken).ok_or_else(|| {
                    SwarmError::Forbidden(
                        "could not find an available, non-overlapping IPv4 address pool among the defaults to assign to the network".into(),
                    )
                })?;
                (s, None)
            }
        };
        let vni = if spec.ingress {
            allocator::INGRESS_VNI
        } else {
            allocator::next_vni(&st)
        };
        spec.scope = "swarm".into();
        if spec.driver_configuration.is_none() {
            spec.driver_configuration = Some(Driver {
                name: "overlay".into(),
                options: None,
            });
        }
        let id = new_id();
        let net = swarm_network(id.clone(), spec, subnet, gateway, vni);
        self.commit(vec![Op::Create(Object::Network(Box::new(net.clone())))])
            .await?;
        // An attachable network is there at once for `docker run --network`.
        if net.spec.attachable {
            if let Some(l) = crate::netplan::local_network(&net) {
                if let Err(e) = self.exec.ensure_network(l).await {
                    tracing::warn!("swarm network {}: {e}", net.spec.name);
                }
            }
        }
        Ok(id)
    }

    pub async fn networks(&self) -> Result<Vec<Network>> {
        self.read(|s| s.networks.values().cloned().collect()).await
    }

    /// A swarm network by id, name or id prefix; also the predefined `bridge`/`host`
    /// networks by their swarm id (what a service's `Networks` target shows).
    pub async fn network(&self, key: &str) -> Result<Network> {
        self.read(|s| {
            s.find_network(key)
                .cloned()
                .or_else(|| predefined::view(s, key).filter(|n| n.id == key))
        })
        .await?
        .ok_or_else(|| SwarmError::NotFound(format!("network {key} not found")))
    }

    pub async fn remove_network(&self, key: &str) -> Result<()> {
        let n = self.network(key).await?;
        if n.spec.labels.contains_key(predefined::LABEL) {
            return Err(SwarmError::Forbidden(format!(
                "{} is a pre-defined network and cannot be removed",
                n.spec.name
            )));
        }
        let st = self.store().await?.shared.snapshot();
        for s in st.services.values() {
            let uses = s
                .spec
                .task_template
                .networks
                .iter()
                .chain(s.spec.networks.iter())
                .any(|a| a.target == n.id);
            if uses {
                return Err(SwarmError::InvalidArgument(format!(
                    "rpc error: code = FailedPrecondition desc = network {} is in use by service {}",
                    n.id, s.id
                )));
            }
            if n.spec.ingress && allocator::publishes_ingress(&s.spec) {
                return Err(SwarmError::Forbidden(format!(
                    "ingress network cannot be removed because service {} depends on it",
                    s.id
                )));
            }
        }
        if let Some(t) = st.tasks.values().find(|t| {
            t.spec.network_attachment_spec.is_some()
                && t.networks_attachments.iter().any(|a| a.network.id == n.id)
        }) {
            return Err(SwarmError::InvalidArgument(format!(
                "rpc error: code = FailedPrecondition desc = network {} is in use by task {}",
                n.id, t.id
            )));
        }
        self.commit(vec![Op::Delete {
            kind: Kind::Network,
            id: n.id.clone(),
        }])
        .await?;
        if self.exec.local_networks().contains(&n.id) {
            self.exec.remove_network(&n.id).await;
        }
        Ok(())
    }

    /// A container started by hand on an attachable network: its address, recorded as a
    /// network attachment task of this node (moby's).
    pub async fn attach_container(
        &self,
        network: &str,
        container_id: &str,
    ) -> Result<std::net::Ipv4Addr> {
        let store = self.store().await?;
        let node_id = match &*self.phase.lock().await {
            Phase::Active(a) => a.node_id.clone(),
            _ => return Err(SwarmError::not_manager()),
        };
        let _held = self.alloc.lock().await;
        let st = store.shared.snapshot();
        let n = st
            .find_network(network)
            .cloned()
            .ok_or_else(|| SwarmError::NotFound(format!("network {network} not found")))?;
        if !n.spec.attachable {
            return Err(SwarmError::Forbidden(format!(
                "Could not attach to network {}: rpc error: code = PermissionDenied desc = network {} not manually attachable",
                n.spec.name, n.spec.name
            )));
        }
        let existing = st.tasks.values().find_map(|t| {
            let a = t.spec.network_attachment_spec.as_ref()?;
            (a.container_id == container_id)
                .then(|| allocator::task_address(t, &n.id))
                .flatten()
        });
        if let Some(ip) = existing {
            return Ok(ip);
        }
        let addr = Pools::of(&st).take(&n).ok_or_else(|| {
            SwarmError::Unavailable(format!(
                "could not attach to network {}: no free address",
                n.spec.name
            ))
        })?;
        let ip: std::net::Ipv4Addr = addr
            .split('/')
            .next()
            .and_then(|a| a.parse().ok())
            .ok_or_else(|| SwarmError::Internal(format!("bad address {addr}")))?;
        let t = Task {
            id: new_id(),
            node_id,
            desired_state: "running".into(),
            spec: TaskSpec {
                network_attachment_spec: Some(NetworkAttachmentSpec {
                    container_id: container_id.to_string(),
                }),
                ..Default::default()
            },
            status: TaskStatus {
                timestamp: now(),
                state: "running".into(),
                message: "network attachment".into(),
                ..Default::default()
            },
            networks_attachments: vec![NetworkAttachment {
                network: n.clone(),
                addresses: vec![addr],
            }],
            ..Default::default()
        };
        applied_ok(
            store
                .propose(Command {
                    at: now(),
                    ops: vec![Op::Create(Object::Task(Box::new(t)))],
                })
                .await
                .map_err(SwarmError::Internal)?,
        )?;
        Ok(ip)
    }

    /// The container left the network: its attachment goes (nothing if it had none).
    pub async fn detach_container(&self, network_id: &str, container_id: &str) {
        let Ok(st) = self.store().await.map(|s| s.shared.snapshot()) else {
            return;
        };
        let ops: Vec<Op> = st
            .tasks
            .values()
            .filter(|t| {
                t.spec
                    .network_attachment_spec
                    .as_ref()
                    .is_some_and(|a| a.container_id == container_id)
                    && t.networks_attachments
                        .iter()
                        .any(|a| a.network.id == network_id)
            })
            .map(|t| Op::Delete {
                kind: Kind::Task,
                id: t.id.clone(),
            })
            .collect();
        if !ops.is_empty() {
            if let Err(e) = self.commit(ops).await {
                tracing::warn!("swarm: cannot drop a network attachment: {e}");
            }
        }
    }

    // ---- tasks -------------------------------------------------------------------------------

    /// Container tasks (moby lists no network attachments).
    pub async fn tasks(&self) -> Result<Vec<Task>> {
        self.read(|s| {
            s.tasks
                .values()
                .filter(|t| t.spec.network_attachment_spec.is_none())
                .cloned()
                .collect()
        })
        .await
    }

    pub async fn task(&self, key: &str) -> Result<Task> {
        self.read(|s| {
            s.find_task(key)
                .filter(|t| t.spec.network_attachment_spec.is_none())
                .cloned()
        })
        .await?
        .ok_or_else(|| SwarmError::NotFound(format!("task {key} not found")))
    }

    /// The services' tasks' container ids (for logs), oldest first.
    pub async fn containers_of(
        &self,
        service_key: Option<&str>,
        task_key: Option<&str>,
    ) -> Result<Vec<Task>> {
        let st = self.store().await?.shared.snapshot();
        let mut out: Vec<Task> = match (service_key, task_key) {
            (Some(k), _) => {
                let s = st
                    .find_service(k)
                    .ok_or_else(|| SwarmError::NotFound(format!("service {k} not found")))?;
                st.tasks_of(&s.id).cloned().collect()
            }
            (None, Some(k)) => vec![st
                .find_task(k)
                .cloned()
                .ok_or_else(|| SwarmError::NotFound(format!("task {k} not found")))?],
            _ => Vec::new(),
        };
        out.sort_by(|a, b| a.meta.created_at.cmp(&b.meta.created_at));
        Ok(out)
    }

    // ---- secrets and configs -------------------------------------------------------------

    pub async fn create_secret(&self, spec: SecretSpec, config: bool) -> Result<String> {
        // Outside a swarm, moby answers 503 before it looks at the spec.
        self.store().await?;
        let inv = |m: String| {
            SwarmError::InvalidArgument(format!("rpc error: code = InvalidArgument desc = {m}"))
        };
        let what = if config { "config" } else { "secret" };
        if spec.data.is_empty() || spec.data.len() >= 500 * 1024 {
            return Err(inv(format!(
                "{what} data must be larger than 0 and less than 512000 bytes"
            )));
        }
        if spec.name.is_empty()
            || spec.name.len() > 64
            || !spec
                .name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            return Err(inv("invalid name, only 64 [a-zA-Z0-9-_.] characters allowed, and the start and end character must be [a-zA-Z0-9]".into()));
        }
        if spec.driver.is_some() {
            return Err(SwarmError::InvalidArgument(
                "secret drivers are not supported by berth".into(),
            ));
        }
        if spec.templating.is_some() {
            return Err(SwarmError::InvalidArgument(
                "templated secrets and configs are not supported by berth".into(),
            ));
        }
        let id = new_id();
        let obj = Secret {
            id: id.clone(),
            spec,
            ..Default::default()
        };
        let op = Op::Create(if config {
            Object::Config(obj)
        } else {
            Object::Secret(obj)
        });
        self.commit(vec![op]).await.map(|_| id)
    }

    pub async fn secrets(&self, config: bool) -> Result<Vec<Secret>> {
        self.read(|s| {
            if config {
                s.configs.values().cloned().collect()
            } else {
                s.secrets
                    .values()
                    .map(|x| {
                        let mut x = x.clone();
                        x.spec.data.clear();
                        x
                    })
                    .collect()
            }
        })
        .await
    }

    pub async fn secret(&self, key: &str, config: bool) -> Result<Secret> {
        let what = if config { "config" } else { "secret" };
        let found = self
            .read(|s| {
                if config {
                    s.find_config(key).cloned()
                } else {
                    s.find_secret(key).cloned().map(|mut x| {
                        x.spec.data.clear();
                        x
                    })
                }
            })
            .await?;
        found.ok_or_else(|| SwarmError::NotFound(format!("{what} {key} not found")))
    }

    pub async fn remove_secret(&self, key: &str, config: bool) -> Result<()> {
        let what = if config { "config" } else { "secret" };
        let s = self.secret(key, config).await?;
        let users: Vec<String> = self
            .read(|st| {
                st.services
                    .values()
                    .filter(|svc| {
                        svc.spec
                            .task_template
                            .container_spec
                            .as_ref()
                            .is_some_and(|c| {
                                if config {
                                    c.configs.iter().any(|r| r.config_id == s.id)
                                } else {
                                    c.secrets.iter().any(|r| r.secret_id == s.id)
                                }
                            })
                    })
                    .map(|svc| svc.spec.name.clone())
                    .collect()
            })
            .await?;
        if !users.is_empty() {
            return Err(SwarmError::InvalidArgument(format!(
                "rpc error: code = InvalidArgument desc = {what} '{}' is in use by the following service: {}",
                s.spec.name,
                users.join(", ")
            )));
        }
        let kind = if config { Kind::Config } else { Kind::Secret };
        self.commit(vec![Op::Delete { kind, id: s.id }])
            .await
            .map(|_| ())
    }

    /// Only labels may change (swarmkit refuses data changes).
    pub async fn update_secret(
        &self,
        key: &str,
        version: u64,
        spec: SecretSpec,
        config: bool,
    ) -> Result<()> {
        let what = if config { "config" } else { "secret" };
        let mut s = self
            .read(|st| {
                if config {
                    st.find_config(key).cloned()
                } else {
                    st.find_secret(key).cloned()
                }
            })
            .await?
            .ok_or_else(|| SwarmError::NotFound(format!("{what} {key} not found")))?;
        if spec.name != s.spec.name || (!spec.data.is_empty() && spec.data != s.spec.data) {
            return Err(SwarmError::InvalidArgument(
                "rpc error: code = InvalidArgument desc = only updates to Labels are allowed"
                    .into(),
            ));
        }
        s.spec.labels = spec.labels;
        let obj = if config {
            Object::Config(s)
        } else {
            Object::Secret(s)
        };
        self.commit(vec![Op::Update {
            object: obj,
            expect: Some(version),
        }])
        .await
        .map(|_| ())
    }
}

/// swarmkit's refusal of a published ingress port another service has.
fn check_port_conflicts(st: &State, spec: &ServiceSpec, id: &str) -> Result<()> {
    let used = allocator::ingress_ports_in_use(st, id);
    for p in allocator::spec_ports(spec) {
        if p.publish_mode != "ingress" || p.published_port == 0 {
            continue;
        }
        if let Some(other) = used.get(&(p.protocol.clone(), p.published_port)) {
            let name = st
                .services
                .get(other)
                .map(|s| s.spec.name.clone())
                .unwrap_or_default();
            return Err(SwarmError::InvalidArgument(format!(
                "rpc error: code = InvalidArgument desc = port '{}' is already in use by service '{name}' ({other}) as an ingress port",
                p.published_port
            )));
        }
    }
    Ok(())
}

/// `service ls`'s counts: running tasks and desired tasks.
pub fn service_status(st: &State, svc: &Service) -> ServiceStatus {
    let tasks: Vec<&Task> = st.tasks_of(&svc.id).collect();
    let running = tasks
        .iter()
        .filter(|t| t.status.state == "running" && t.desired_state == "running")
        .count() as u64;
    let completed = tasks
        .iter()
        .filter(|t| t.status.state == "complete")
        .count() as u64;
    let desired = match crate::orchestrator::mode_of(svc) {
        crate::orchestrator::ModeKind::Replicated(n) => n,
        crate::orchestrator::ModeKind::ReplicatedJob {
            max_concurrent,
            total,
        } => total.saturating_sub(completed).min(max_concurrent),
        // A global job's desired tasks are those not completed yet (the docker CLI adds
        // the completed ones to show the total).
        crate::orchestrator::ModeKind::GlobalJob => tasks
            .iter()
            .filter(|t| t.desired_state == "running" && t.status.state != "complete")
            .count() as u64,
        _ => tasks
            .iter()
            .filter(|t| t.desired_state == "running")
            .count() as u64,
    };
    ServiceStatus {
        running_tasks: running,
        desired_tasks: desired,
        completed_tasks: completed,
    }
}

/// Orchestrator, then allocator and scheduler, after every applied change and at their
/// timers. The allocation lock is held from reading the state to committing.
async fn manager_loop(
    store: Arc<Replicated>,
    alloc: Arc<Mutex<()>>,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let mut applied = store.shared.applied.subscribe();
    loop {
        let now_t = chrono::Utc::now();
        let held = alloc.lock().await;
        let (ops, wake) = store.shared.read(|st| {
            let plan = reconcile(st, now_t);
            let mut ops = plan.ops;
            if ops.is_empty() {
                ops = allocate_and_schedule(st, &format_time(now_t));
            }
            (ops, plan.wake_at)
        });
        if !ops.is_empty() {
            let r = store
                .propose(Command {
                    at: format_time(now_t),
                    ops,
                })
                .await;
            drop(held);
            match r {
                Ok(Applied::Ok { .. }) => continue,
                Ok(other) => {
                    // A user's change raced this pass: look again shortly.
                    tracing::debug!("swarm manager: {other:?}");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
                Err(e) => {
                    tracing::warn!("swarm manager: {e}");
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
            }
        } else {
            drop(held);
        }
        let sleep = wake
            .and_then(|w| (w - chrono::Utc::now()).to_std().ok())
            .unwrap_or(Duration::from_secs(3600));
        tokio::select! {
            _ = stop.changed() => break,
            _ = applied.changed() => {}
            _ = tokio::time::sleep(sleep) => {}
        }
        if *stop.borrow() {
            break;
        }
    }
}

/// The allocator's pass, and the scheduler's over what it allocated (one commit for both:
/// the scheduler's update of a task carries the allocator's addresses).
fn allocate_and_schedule(st: &State, now: &str) -> Vec<Op> {
    let alloc = allocator::allocate(st);
    if alloc.is_empty() {
        return schedule(st, now);
    }
    if alloc.iter().any(|o| {
        matches!(
            o,
            Op::Update {
                object: Object::Service(_),
                ..
            }
        )
    }) {
        return alloc;
    }
    let mut next = st.clone();
    let probe = Command {
        at: now.to_string(),
        ops: alloc.clone(),
    };
    if !matches!(next.apply(u64::MAX, &probe), Applied::Ok { .. }) {
        return alloc;
    }
    let scheduled = schedule(&next, now);
    let placed: std::collections::HashSet<String> = scheduled
        .iter()
        .filter_map(|o| match o {
            Op::Update {
                object: Object::Task(t),
                ..
            } => Some(t.id.clone()),
            _ => None,
        })
        .collect();
    let mut ops: Vec<Op> = alloc
        .into_iter()
        .filter(|o| match o {
            Op::Update {
                object: Object::Task(t),
                ..
            } => !placed.contains(&t.id),
            _ => true,
        })
        .collect();
    ops.extend(scheduled);
    ops
}

/// The default address pool of swarm networks (moby's).
const DEFAULT_POOL: &str = "10.0.0.0/8";

/// A swarm network object with its subnet and VXLAN id allocated.
fn swarm_network(
    id: String,
    spec: NetworkSpec,
    subnet: ipnet::Ipv4Net,
    gateway: Option<std::net::Ipv4Addr>,
    vni: u32,
) -> Network {
    let gw = gateway.unwrap_or_else(|| std::net::Ipv4Addr::from(u32::from(subnet.network()) + 1));
    Network {
        id,
        spec,
        driver_state: Driver {
            name: "overlay".into(),
            options: Some(
                [(allocator::VXLAN_OPTION.to_string(), vni.to_string())]
                    .into_iter()
                    .collect(),
            ),
        },
        ipam_options: Some(IpamOptions {
            driver: Driver {
                name: "default".into(),
                options: None,
            },
            configs: vec![IpamConfig {
                subnet: subnet.to_string(),
                range: String::new(),
                gateway: gw.to_string(),
            }],
        }),
        ..Default::default()
    }
}

/// `Privileges` as moby returns it (its Go struct's fields in order; those without
/// omitempty always there, the credential spec's three strings too): the daemon strips a
/// client's nulls, so they are put back here.
fn privileges_shape(p: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    let mut out = serde_json::Map::new();
    let cs = match &p["CredentialSpec"] {
        Value::Object(cs) => {
            let mut m = serde_json::Map::new();
            for k in ["Config", "File", "Registry"] {
                m.insert(k.into(), cs.get(k).cloned().unwrap_or_else(|| "".into()));
            }
            Value::Object(m)
        }
        _ => Value::Null,
    };
    out.insert("CredentialSpec".into(), cs);
    out.insert(
        "SELinuxContext".into(),
        p.get("SELinuxContext").cloned().unwrap_or(Value::Null),
    );
    for k in ["Seccomp", "AppArmor"] {
        if let Some(v) = p.get(k) {
            out.insert(k.into(), v.clone());
        }
    }
    out.insert(
        "NoNewPrivileges".into(),
        p.get("NoNewPrivileges")
            .cloned()
            .unwrap_or(Value::Bool(false)),
    );
    if let Value::Object(rest) = p {
        for (k, v) in rest {
            out.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    Value::Object(out)
}

/// swarmkit's `defaults.InterpolateService`, for `GET /services/ID?insertDefaults=true`
/// (what `docker service inspect` asks for): the spec with what it leaves unset shown
/// as the values the orchestrator uses. The stored spec is unchanged.
pub fn insert_defaults(spec: &mut ServiceSpec) {
    const SECOND: i64 = 1_000_000_000;
    let tt = &mut spec.task_template;
    if let Some(c) = tt.container_spec.as_mut() {
        c.stop_grace_period.get_or_insert(10 * SECOND);
        c.dns_config.get_or_insert_with(DnsConfig::default);
    }
    tt.resources
        .get_or_insert_with(ResourceRequirements::default);
    let r = tt.restart_policy.get_or_insert_with(|| RestartPolicy {
        condition: "any".into(),
        ..Default::default()
    });
    r.delay.get_or_insert(5 * SECOND);
    // moby's conversion always shows MaxAttempts.
    r.max_attempts.get_or_insert(0);
    tt.placement.get_or_insert_with(Placement::default);
    let update = || UpdateConfig {
        parallelism: 1,
        failure_action: "pause".into(),
        monitor: 5 * SECOND,
        order: "stop-first".into(),
        ..Default::default()
    };
    spec.update_config.get_or_insert_with(update);
    spec.rollback_config.get_or_insert_with(update);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_inserted_as_dockerd_shows_them() {
        let mut spec = ServiceSpec::default();
        spec.task_template.container_spec = Some(ContainerSpec::default());
        insert_defaults(&mut spec);
        let v = serde_json::to_value(&spec).unwrap();
        // What dockerd 20.10 shows for a service the docker CLI created without flags.
        let pol = serde_json::json!({"Parallelism": 1, "FailureAction": "pause",
            "Monitor": 5_000_000_000u64, "MaxFailureRatio": 0.0, "Order": "stop-first"});
        assert_eq!(v["UpdateConfig"], pol);
        assert_eq!(v["RollbackConfig"], pol);
        assert_eq!(
            v["TaskTemplate"]["RestartPolicy"],
            serde_json::json!({"Condition": "any", "Delay": 5_000_000_000u64, "MaxAttempts": 0})
        );
        assert_eq!(
            v["TaskTemplate"]["ContainerSpec"]["StopGracePeriod"],
            10_000_000_000u64
        );
        // What the user set stays.
        let mut spec = ServiceSpec {
            update_config: Some(UpdateConfig {
                parallelism: 3,
                ..Default::default()
            }),
            ..Default::default()
        };
        spec.task_template.restart_policy = Some(RestartPolicy {
            condition: "none".into(),
            ..Default::default()
        });
        insert_defaults(&mut spec);
        assert_eq!(spec.update_config.map(|u| u.parallelism), Some(3));
        let r = spec.task_template.restart_policy.unwrap_or_default();
        assert_eq!(
            (r.condition.as_str(), r.delay),
            ("none", Some(5_000_000_000))
        );
    }
}
