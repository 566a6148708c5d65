//! Engine settings, filled from daemon flags and daemon.json.

use std::collections::BTreeMap;
use std::path::PathBuf;

#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub data_root: PathBuf,
    /// The berth executable, re-run as `berth shim` for each container.
    pub exe: PathBuf,
    /// daemon.json `log-opts` for the json-file driver (max-size, max-file).
    pub log_opts: BTreeMap<String, String>,
    pub default_runtime: String,
    /// daemon.json's registry settings (insecure registries, mirrors, concurrency).
    pub registry: berth_registry::RegistryConfig,
    /// The default bridge network and address pools (daemon.json `bridge`, `bip`, `mtu`,
    /// `default-address-pools`).
    pub network: crate::network::config::BridgeConfig,
}
