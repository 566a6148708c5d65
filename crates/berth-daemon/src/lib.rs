//! The berth daemon: serves the Docker Engine API on unix sockets and drives the engine.
#![recursion_limit = "256"]

mod config;
mod error;
mod query;
mod routes;

use berth_engine::{Engine, EngineConfig};
use clap::Parser;
use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use tower::Layer;
use tracing::{error, info};

/// `berth daemon ...`; returns the process exit code.
pub fn run(args: Vec<OsString>) -> i32 {
    close_inherited_fds_on_exec();
    let flags = match config::Flags::try_parse_from(args) {
        Ok(f) => f,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() { 125 } else { 0 };
        }
    };
    let settings = match config::load(flags) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("berth daemon: {e}");
            return 1;
        }
    };
    let filter = match settings.log_level.as_str() {
        "fatal" => "error".to_string(),
        l => l.to_string(),
    };
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
        .with_writer(std::io::stderr)
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
    match rt.block_on(serve(settings)) {
        Ok(()) => 0,
        Err(e) => {
            error!("{e}");
            eprintln!("berth daemon: {e}");
            1
        }
    }
}

async fn serve(settings: config::Settings) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find own executable: {e}"))?;
    std::fs::create_dir_all(&settings.data_root).map_err(|e| {
        format!(
            "cannot create data root {}: {e}",
            settings.data_root.display()
        )
    })?;
    let engine = Engine::open(EngineConfig {
        data_root: settings.data_root.clone(),
        exe,
        log_opts: settings.log_opts.clone(),
        default_runtime: settings.default_runtime.clone(),
        registry: settings.registry.clone(),
        network: settings.network.clone(),
    })
    .await
    .map_err(|e| format!("cannot open the engine: {e}"))?;

    let mut listeners = Vec::new();
    for host in &settings.hosts {
        let path = PathBuf::from(host.trim_start_matches("unix://"));
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| format!("cannot create {}: {e}", parent.display()))?;
        }
        // A socket that still answers belongs to a running daemon: never steal it.
        if std::os::unix::net::UnixStream::connect(&path).is_ok() {
            return Err(format!(
                "another daemon is already listening on {}",
                path.display()
            ));
        }
        let _ = std::fs::remove_file(&path);
        let l = tokio::net::UnixListener::bind(&path)
            .map_err(|e| format!("cannot listen on {}: {e}", path.display()))?;
        let _ = std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o660));
        info!(socket = %path.display(), "API listen");
        listeners.push((path, l));
    }

    let cluster = open_swarm(&settings, &engine).await;
    let swarm = routes::swarm::SwarmState {
        cluster: cluster.clone(),
        engine: engine.clone(),
    };
    let app = axum::middleware::from_fn(routes::version_layer)
        .layer(routes::router(engine.clone(), swarm));
    let mut tasks = Vec::new();
    for (_, l) in listeners {
        let app = app.clone();
        tasks.push(tokio::spawn(async move {
            axum::serve(
                l,
                axum::ServiceExt::<axum::extract::Request>::into_make_service_with_connect_info::<
                    routes::ConnFd,
                >(app),
            )
            .await
        }));
    }
    info!(version = berth_api::version::BERTH_VERSION, "daemon ready");
    shutdown_signal().await;
    info!("shutting down; containers keep running (live restore)");
    for t in tasks {
        t.abort();
    }
    cluster.shutdown().await;
    engine.network_shutdown();
    for h in &settings.hosts {
        let _ = std::fs::remove_file(h.trim_start_matches("unix://"));
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

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = match signal(SignalKind::terminate()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    let mut int = match signal(SignalKind::interrupt()) {
        Ok(s) => s,
        Err(_) => return std::future::pending().await,
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = int.recv() => {}
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
