//! The berth daemon: serves the Docker Engine API (unix sockets; TCP with mutual TLS, see
//! [`listen`]) and drives the engine.
#![recursion_limit = "256"]

mod accept;
mod config;
mod error;
mod listen;
mod query;
mod reload;
mod root_propagation;
mod routes;
mod systemd;
mod userns;

use berth_engine::{Engine, EngineConfig};
use clap::Parser;
use std::ffi::OsString;
use tower::Layer;
use tracing::{error, info};

/// `berthd ...` (what `berth daemon ...` runs); returns the process exit code.
pub fn run(args: Vec<OsString>) -> i32 {
    close_inherited_fds_on_exec();
    let flags = match config::Flags::try_parse_from(args) {
        Ok(f) => f,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 125 } else { 0 };
        }
    };
    let settings = match config::load(flags.clone()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("berth daemon: {e}");
            return 1;
        }
    };
    // The filter sits in a reload layer: SIGHUP can change the log level.
    use tracing_subscriber::layer::SubscriberExt;
    use tracing_subscriber::util::SubscriberInitExt;
    let (filter, log_filter) = tracing_subscriber::reload::Layer::new(
        tracing_subscriber::EnvFilter::new(level_filter(&settings.log_level)),
    );
    let _ = tracing_subscriber::registry()
        .with(filter)
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .try_init();
    // Two workers: the daemon mostly waits on sockets; blocking work has its own pool.
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("berth daemon: cannot start the runtime: {e}");
            return 1;
        }
    };
    match rt.block_on(serve(settings, flags, log_filter)) {
        Ok(()) => 0,
        Err(e) => {
            error!("{e}");
            eprintln!("berth daemon: {e}");
            1
        }
    }
}

/// The tracing filter of a daemon log level ("fatal" is "error" for tracing).
fn level_filter(level: &str) -> String {
    match level {
        "fatal" => "error".to_string(),
        l => l.to_string(),
    }
}

/// Changes the log level of the running daemon.
type LogFilter =
    tracing_subscriber::reload::Handle<tracing_subscriber::EnvFilter, tracing_subscriber::Registry>;

async fn serve(
    mut settings: config::Settings,
    flags: config::Flags,
    log_filter: LogFilter,
) -> Result<(), String> {
    // Before anything slow: a SIGHUP during start must not kill the daemon.
    let mut signals = Signals::new();
    let exe = std::env::current_exe().map_err(|e| format!("cannot find own executable: {e}"))?;
    // userns-remap: everything (images, containers, volumes, swarm) lives under the
    // remapped root's own `<data-root>/<uid>.<gid>`, as moby's setupDaemonRoot.
    let remap = userns::resolve(&userns::HostUsers, &settings.userns_remap)?;
    let configured_root = settings.data_root.clone();
    if let Some(r) = &remap {
        settings.data_root = userns::remapped_data_root(&settings.data_root, &r.maps)?;
    }
    std::fs::create_dir_all(&settings.data_root).map_err(|e| {
        format!(
            "cannot create data root {}: {e}",
            settings.data_root.display()
        )
    })?;
    // Binds of the data root need a shared source mount (moby does the same at start).
    let propagation_root = std::fs::canonicalize(&settings.data_root)
        .map_err(|e| format!("data root {}: {e}", settings.data_root.display()))?;
    root_propagation::setup(&propagation_root)?;
    // What fails from here on leaves the host as a stopping daemon does: no propagation
    // mount, and (once the engine has set them up) no bridge, nftables table or iptables
    // rules.
    let opened = async {
        let engine = Engine::open(EngineConfig {
            data_root: settings.data_root.clone(),
            exe,
            log_driver: settings.log_driver.clone(),
            log_opts: settings.log_opts.clone(),
            cgroup: settings.cgroup.clone(),
            labels: settings.labels.clone(),
            debug: settings.debug,
            shutdown_timeout: settings.shutdown_timeout,
            default_runtime: settings.default_runtime.clone(),
            registry: settings.registry.clone(),
            network: settings.network.clone(),
            security: settings.security.clone(),
            id_map: remap.map(|r| r.maps),
        })
        .await
        .map_err(|e| format!("cannot open the engine: {e}"))?;
        match listen::bind_all(&settings.hosts, &settings.group, &settings.tls).await {
            Ok(l) => Ok((engine, l)),
            Err(e) => {
                engine.network_shutdown();
                Err(e)
            }
        }
    }
    .await;
    let (engine, listeners) = match opened {
        Ok(v) => v,
        Err(e) => {
            root_propagation::teardown(&propagation_root);
            return Err(e);
        }
    };

    let cluster = open_swarm(&settings, &engine).await;
    let swarm = routes::swarm::SwarmState {
        cluster: cluster.clone(),
        engine: engine.clone(),
    };
    let app = axum::middleware::from_fn(routes::version_layer)
        .layer(routes::router(engine.clone(), swarm));
    let mut tasks = Vec::new();
    let mut sockets = Vec::new();
    for l in listeners {
        let app = app.clone();
        tasks.push(match l {
            listen::Bound::Unix(path, l) => {
                sockets.extend(path);
                tokio::spawn(accept::serve(l, app))
            }
            listen::Bound::Tls(l) => tokio::spawn(accept::serve(l, app)),
        });
    }
    info!(version = berth_api::version::BERTH_VERSION, "daemon ready");
    systemd::notify("READY=1");
    let mut current = settings.clone();
    // Reloads compare daemon.json's value, not the remapped subdirectory.
    current.data_root = configured_root;
    loop {
        match signals.next().await {
            Signal::Stop => break,
            Signal::Reload => {
                systemd::notify("RELOADING=1");
                reload::reload(&flags, &mut current, &engine, &log_filter);
                systemd::notify("READY=1");
            }
        }
    }
    systemd::notify("STOPPING=1");
    info!("shutting down; containers keep running (live restore)");
    for t in tasks {
        t.abort();
    }
    cluster.shutdown().await;
    engine.network_shutdown();
    root_propagation::teardown(&propagation_root);
    for p in &sockets {
        let _ = std::fs::remove_file(p);
    }
    Ok(())
}

/// The swarm state of the data root: inactive, locked, or resumed (tasks reconciled).
async fn open_swarm(
    settings: &config::Settings,
    engine: &std::sync::Arc<Engine>,
) -> std::sync::Arc<routes::swarm::SwarmCluster> {
    let facts = berth_swarm::cluster::NodeFacts {
        hostname: nix::unistd::gethostname()
            .ok()
            .and_then(|h| h.into_string().ok())
            .unwrap_or_default(),
        engine_version: berth_api::version::BERTH_VERSION.to_string(),
        nano_cpus: std::thread::available_parallelism()
            .map(|n| n.get() as i64)
            .unwrap_or(1)
            * 1_000_000_000,
        memory_bytes: routes::mem_total() as i64,
    };
    let exec = std::sync::Arc::new(berth_swarm::executor::EngineExecutor::new(
        engine.clone(),
        settings.data_root.join("swarm"),
    ));
    let cluster = berth_swarm::Cluster::open(&settings.data_root, facts, exec).await;
    engine.set_swarm_attacher(Some(std::sync::Arc::new(routes::swarm::ClusterAttacher(
        std::sync::Arc::downgrade(&cluster),
    ))));
    cluster
}

enum Signal {
    Stop,
    Reload,
}

/// SIGTERM/SIGINT stop the daemon, SIGHUP reloads daemon.json, as with dockerd.
struct Signals {
    term: Option<tokio::signal::unix::Signal>,
    int: Option<tokio::signal::unix::Signal>,
    hup: Option<tokio::signal::unix::Signal>,
}

impl Signals {
    fn new() -> Signals {
        use tokio::signal::unix::{signal, SignalKind};
        Signals {
            term: signal(SignalKind::terminate()).ok(),
            int: signal(SignalKind::interrupt()).ok(),
            hup: signal(SignalKind::hangup()).ok(),
        }
    }

    async fn next(&mut self) -> Signal {
        async fn recv(s: &mut Option<tokio::signal::unix::Signal>) {
            match s {
                Some(s) => {
                    s.recv().await;
                }
                None => std::future::pending().await,
            }
        }
        tokio::select! {
            _ = recv(&mut self.term) => Signal::Stop,
            _ = recv(&mut self.int) => Signal::Stop,
            _ = recv(&mut self.hup) => Signal::Reload,
        }
    }
}

/// Descriptors the daemon inherited from whoever started it (beyond stdio) must not reach
/// shims and containers: mark them close-on-exec before anything is spawned.
fn close_inherited_fds_on_exec() {
    let Ok(dir) = std::fs::read_dir("/proc/self/fd") else {
        return;
    };
    let fds: Vec<i32> = dir
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter(|fd| *fd > 2)
        .collect();
    for fd in fds {
        let _ = nix::fcntl::fcntl(
            fd,
            nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
        );
    }
}
