//! The engine: containers, images and their supervision, below the HTTP layer.
//!
//! `Engine` is the single writer of the data root. The daemon calls it; it calls
//! `berth-image` for images and root filesystems and `berth-runtime` for shims.

mod cgroup_warm;
pub mod config;
pub mod container;
mod distribution;
mod engine;
pub mod error;
mod etc_files;
pub mod events;
pub mod images;
pub mod model;
pub mod network;
mod runtime;
pub mod signal;
mod task;
pub mod volumes;

pub use berth_registry::{AuthConfig, RegistryConfig};
pub use config::EngineConfig;
pub use distribution::PullMessage;
pub use engine::Engine;
pub use error::{EngineError, Result};

/// The runtime a daemon uses when daemon.json names none: the built-in libcontainer one.
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

/// Checks a runtime name: `berth` (built-in) or an OCI runtime binary on PATH.
pub fn validate_runtime(name: &str) -> Result<()> {
    runtime::validate_runtime(name)
}

/// Whether the host runs the unified cgroup v2 hierarchy (`info` reports it).
pub fn host_cgroup_v2() -> bool {
    berth_runtime::spec::host_cgroup_v2()
}
