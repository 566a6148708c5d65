//! The engine: containers, images and their supervision, below the HTTP layer.
//!
//! `Engine` is the single writer of the data root. The daemon calls it; it calls
//! `berth-image` for images and root filesystems and `berth-runtime` for shims.

mod blkio;
mod cgroup_warm;
pub mod config;
pub mod container;
mod devices;
mod distribution;
mod engine;
pub mod error;
mod etc_files;
pub mod events;
#[cfg(test)]
mod fakes;
pub mod images;
pub mod model;
pub mod network;
mod runtime;
pub mod seams;
pub mod security;
pub mod signal;
mod task;
#[cfg(test)]
mod tests;
mod userns;
pub mod volumes;

pub use berth_registry::proxy as registry_proxy;
pub use berth_registry::{
    host_platform, AuthConfig, DistributionInspect, Progress, RegistryConfig, SearchFilters,
    SearchResult,
};
pub use config::EngineConfig;
pub use distribution::PullMessage;
pub use engine::Engine;
pub use error::{EngineError, Result};
pub use seams::Seams;

/// The runtime a daemon uses when daemon.json names none: `berth`, berth's own init.
pub fn default_runtime() -> String {
    berth_runtime::shim::BUILTIN.into()
}

/// The runtimes `info` lists: the two built-in ones and the OCI runtime binaries found on
/// PATH, with their paths.
pub fn runtimes() -> Vec<(String, String)> {
    let mut out = vec![
        (
            berth_runtime::shim::BUILTIN.to_string(),
            "built-in".to_string(),
        ),
        (
            berth_runtime::shim::LIBCONTAINER.to_string(),
            "built-in".to_string(),
        ),
    ];
    for name in ["runc", "crun", "youki", "runsc"] {
        if let Ok(p) = berth_runtime::shim::find_binary(name) {
            out.push((name.to_string(), p.display().to_string()));
        }
    }
    out
}

/// The OCI runtime binary a runtime name runs (`runc` on PATH); None for berth's built-in
/// runtimes, which are the daemon's own code.
pub fn runtime_binary(name: &str) -> Option<std::path::PathBuf> {
    if name.is_empty()
        || name == berth_runtime::shim::BUILTIN
        || name == berth_runtime::shim::LIBCONTAINER
    {
        return None;
    }
    berth_runtime::shim::find_binary(name).ok()
}

/// Checks a runtime name: `berth` (built-in) or an OCI runtime binary on PATH.
pub fn validate_runtime(name: &str) -> Result<()> {
    runtime::validate_runtime(name)
}

/// Checks a logging driver and its options as dockerd does (daemon.json `log-driver`,
/// `log-opts`).
pub fn validate_log_config(
    driver: &str,
    opts: &std::collections::BTreeMap<String, String>,
) -> std::result::Result<(), String> {
    berth_runtime::logdriver::validate(driver, opts)
}

/// The default logging driver's name.
pub const DEFAULT_LOG_DRIVER: &str = berth_runtime::logdriver::JSON_FILE;

/// Checks a systemd slice name (`cgroup-parent` with the systemd driver), with Docker's
/// message.
pub fn validate_slice(name: &str) -> std::result::Result<(), String> {
    berth_runtime::systemd_cgroup::expand_slice(name).map(|_| ())
}

/// Whether the host runs the unified cgroup v2 hierarchy (`info` reports it).
pub fn host_cgroup_v2() -> bool {
    berth_runtime::spec::host_cgroup_v2()
}
