//! Engine settings, filled from daemon flags and daemon.json.

use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub data_root: PathBuf,
    /// The daemon's executable (`berthd`), re-run as `berthd shim` for each container.
    pub exe: PathBuf,
    /// daemon.json `log-driver` (default json-file) and `log-opts`: a container without a
    /// LogConfig of its own gets both.
    pub log_driver: String,
    pub log_opts: BTreeMap<String, String>,
    /// daemon.json `labels` and `debug` (`docker info`), `shutdown-timeout`: initial values
    /// of [`Live`].
    pub labels: Vec<String>,
    pub debug: bool,
    pub shutdown_timeout: i64,
    /// How containers' cgroups are made (daemon.json `exec-opts`, `cgroup-parent`,
    /// `default-cgroupns-mode`).
    pub cgroup: CgroupConfig,
    /// The initial value of [`Live::default_runtime`] (reloadable: read it from
    /// `Engine::live`).
    pub default_runtime: String,
    /// The initial value of [`Live::registry`]; daemon.json's registry settings (insecure registries, mirrors, concurrency).
    pub registry: berth_registry::RegistryConfig,
    /// The default bridge network and address pools (daemon.json `bridge`, `bip`, `mtu`,
    /// `default-address-pools`).
    pub network: crate::network::config::BridgeConfig,
    /// daemon.json `seccomp-profile`, `no-new-privileges`, `default-ulimits`.
    pub security: crate::security::SecurityConfig,
    /// `userns-remap`: the subordinate id maps every container (but `--userns=host` ones)
    /// runs with; `data_root` is then already the remapped `<root>/<uid>.<gid>`.
    pub id_map: Option<berth_api::idmap::IdMappings>,
}

/// The daemon's cgroup settings.
#[derive(Debug, Clone, Default)]
pub struct CgroupConfig {
    /// `native.cgroupdriver=systemd`: containers' cgroups are systemd scopes.
    pub systemd: bool,
    /// daemon.json `cgroup-parent`: the parent of containers without `--cgroup-parent`.
    pub parent: Option<String>,
    /// daemon.json `default-cgroupns-mode` is `private` (Docker's default on cgroup v2).
    pub ns_private: bool,
}

impl CgroupConfig {
    /// dockerd's defaults: the systemd driver on a cgroup v2 host booted with systemd,
    /// cgroupfs otherwise; a private cgroup namespace on v2, the host's on v1.
    pub fn host_default() -> CgroupConfig {
        let v2 = berth_runtime::spec::host_cgroup_v2();
        CgroupConfig {
            systemd: v2 && berth_runtime::dbus::systemd_booted(),
            parent: None,
            ns_private: v2,
        }
    }

    /// "systemd" or "cgroupfs", as `docker info` names it.
    pub fn driver_name(&self) -> &'static str {
        if self.systemd {
            "systemd"
        } else {
            "cgroupfs"
        }
    }
}

/// The settings a SIGHUP reloads from daemon.json, as dockerd reloads them: labels, debug,
/// the default runtime, registry mirrors and insecure registries, max-concurrent-*,
/// shutdown-timeout. (The log level is the daemon's own.)
#[derive(Debug, Clone, Default)]
pub struct Live {
    pub labels: Vec<String>,
    pub debug: bool,
    pub default_runtime: String,
    pub registry: berth_registry::RegistryConfig,
    /// Seconds containers get to stop when the daemon shuts down without live restore.
    pub shutdown_timeout: i64,
}

impl Live {
    /// The values the engine was opened with.
    pub fn from_config(cfg: &EngineConfig) -> Live {
        Live {
            labels: cfg.labels.clone(),
            debug: cfg.debug,
            default_runtime: cfg.default_runtime.clone(),
            registry: cfg.registry.clone(),
            shutdown_timeout: cfg.shutdown_timeout,
        }
    }
}
