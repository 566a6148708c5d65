//! SIGHUP: daemon.json read again and its reloadable keys applied to the running daemon, as
//! dockerd does (labels, debug, log-level, registry-mirrors, insecure-registries,
//! max-concurrent-downloads/uploads, default-runtime, shutdown-timeout). A file that does
//! not load leaves everything as it was ("Error reconfiguring the daemon"); keys that need
//! a restart are named in the log and keep their running values. The effective
//! configuration is logged on success.

use crate::config::{Flags, Settings};
use berth_engine::config::Live;
use berth_engine::Engine;
use serde_json::json;
use tracing::{error, info, warn};

/// The keys a reload cannot change, with whether `new` differs from `old` there.
fn needs_restart(old: &Settings, new: &Settings) -> Vec<&'static str> {
    let mut v = Vec::new();
    let differs =
        |a: &dyn std::fmt::Debug, b: &dyn std::fmt::Debug| format!("{a:?}") != format!("{b:?}");
    if old.data_root != new.data_root {
        v.push("data-root");
    }
    if old.userns_remap != new.userns_remap {
        v.push("userns-remap");
    }
    if old.hosts != new.hosts {
        v.push("hosts");
    }
    if old.log_driver != new.log_driver || old.log_opts != new.log_opts {
        v.push("log-driver/log-opts");
    }
    if differs(&old.cgroup, &new.cgroup) {
        v.push("exec-opts/cgroup-parent/default-cgroupns-mode");
    }
    if differs(&old.network, &new.network) {
        v.push("bridge/bip/default-address-pools");
    }
    v
}

/// The configuration in effect, as the reload log line shows it.
fn effective(s: &Settings, live: &Live) -> serde_json::Value {
    json!({
        "data-root": s.data_root,
        "hosts": s.hosts.iter().map(ToString::to_string).collect::<Vec<_>>(),
        "log-level": s.log_level,
        "debug": live.debug,
        "labels": live.labels,
        "default-runtime": live.default_runtime,
        "registry-mirrors": live.registry.registry_mirrors,
        "insecure-registries": live.registry.insecure_registries,
        "max-concurrent-downloads": live.registry.max_concurrent_downloads,
        "max-concurrent-uploads": live.registry.max_concurrent_uploads,
        "shutdown-timeout": live.shutdown_timeout,
        "log-driver": s.log_driver,
        "log-opts": s.log_opts,
        "cgroup-driver": s.cgroup.driver_name(),
    })
}

/// Reloads daemon.json into the running daemon; `current` becomes the effective settings.
pub fn reload(
    flags: &Flags,
    current: &mut Settings,
    engine: &Engine,
    log_filter: &crate::LogFilter,
) {
    let new = match crate::config::load(flags.clone()) {
        Ok(n) => n,
        Err(e) => {
            error!("Error reconfiguring the daemon: {e}");
            return;
        }
    };
    for key in needs_restart(current, &new) {
        warn!("reload: {key} cannot change without a restart; the running value stays");
    }
    let live = Live {
        labels: new.labels.clone(),
        debug: new.debug,
        default_runtime: new.default_runtime.clone(),
        registry: new.registry.clone(),
        shutdown_timeout: new.shutdown_timeout,
    };
    if new.log_level != current.log_level {
        let f = tracing_subscriber::EnvFilter::new(crate::level_filter(&new.log_level));
        if let Err(e) = log_filter.modify(|old| *old = f) {
            warn!("reload: cannot change the log level: {e}");
        }
    }
    current.log_level = new.log_level.clone();
    current.labels = new.labels.clone();
    current.debug = new.debug;
    current.default_runtime = new.default_runtime.clone();
    current.registry = new.registry.clone();
    current.shutdown_timeout = new.shutdown_timeout;
    engine.reload(live.clone());
    info!(config = %effective(current, &live), "Reloaded configuration");
}
