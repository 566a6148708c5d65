//! `berth daemon` flags and daemon.json, merged as dockerd does: a setting given both as a
//! flag and in the file is an error.

use clap::Parser;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

pub const DEFAULT_HOST: &str = "unix:///run/berth/berth.sock";
pub const DEFAULT_DATA_ROOT: &str = "/var/lib/berth";
pub const DEFAULT_CONFIG_FILE: &str = "/etc/berth/daemon.json";

#[derive(Debug, Parser)]
#[command(
    name = "berth daemon",
    about = "Run the berth daemon (Docker Engine API server)"
)]
pub struct Flags {
    /// Daemon socket(s) to listen on (unix://PATH); repeatable.
    #[arg(short = 'H', long = "host")]
    pub hosts: Vec<String>,
    /// Root directory of persistent state.
    #[arg(long = "data-root")]
    pub data_root: Option<PathBuf>,
    /// daemon.json location.
    #[arg(long = "config-file")]
    pub config_file: Option<PathBuf>,
    /// debug, info, warn, error, fatal.
    #[arg(short = 'l', long = "log-level")]
    pub log_level: Option<String>,
    /// Linux bridge of the default `bridge` network ("none": no default bridge).
    #[arg(short = 'b', long = "bridge")]
    pub bridge: Option<String>,
    /// The default bridge's gateway address and prefix (CIDR).
    #[arg(long = "bip")]
    pub bip: Option<String>,
    /// MTU of the default bridge network's interfaces.
    #[arg(long = "mtu")]
    pub mtu: Option<u32>,
    /// Address pool for networks without --subnet: `base=CIDR,size=N`; repeatable.
    #[arg(long = "default-address-pool")]
    pub default_address_pools: Vec<String>,
    /// IPv6 on the default bridge network.
    #[arg(long = "ipv6")]
    pub ipv6: bool,
    /// The default bridge network's IPv6 subnet (CIDR).
    #[arg(long = "fixed-cidr-v6")]
    pub fixed_cidr_v6: Option<String>,
    /// Default address for published ports without a host IP (dockerd's --ip).
    #[arg(long = "ip")]
    pub ip: Option<String>,
    /// Serve published ports on IPv6 host addresses with the userland proxy.
    #[arg(long = "userland-proxy", num_args = 0..=1, default_missing_value = "true")]
    pub userland_proxy: Option<bool>,
    /// The part of the default bridge's subnet containers get addresses from (CIDR).
    #[arg(long = "fixed-cidr")]
    pub fixed_cidr: Option<String>,
    /// The address `--add-host NAME:host-gateway` becomes.
    #[arg(long = "host-gateway-ip")]
    pub host_gateway_ip: Option<String>,
}

/// One entry of daemon.json's `default-address-pools`.
#[derive(Debug, Deserialize)]
pub struct PoolEntry {
    pub base: String,
    pub size: u8,
}

/// The daemon.json keys berth reads; other keys of Docker's schema are accepted and
/// ignored until the issue that needs them, unknown keys are refused.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct FileConfig {
    pub data_root: Option<PathBuf>,
    pub hosts: Option<Vec<String>>,
    pub log_level: Option<String>,
    pub log_driver: Option<String>,
    pub log_opts: Option<BTreeMap<String, String>>,
    pub default_runtime: Option<String>,
    pub insecure_registries: Option<Vec<String>>,
    pub registry_mirrors: Option<Vec<String>>,
    pub max_concurrent_downloads: Option<usize>,
    pub max_concurrent_uploads: Option<usize>,
    pub bridge: Option<String>,
    pub bip: Option<String>,
    pub mtu: Option<u32>,
    pub default_address_pools: Option<Vec<PoolEntry>>,
    pub ipv6: Option<bool>,
    pub fixed_cidr_v6: Option<String>,
    pub ip: Option<String>,
    pub userland_proxy: Option<bool>,
    pub fixed_cidr: Option<String>,
    pub host_gateway_ip: Option<String>,
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

const DOCKER_KEYS_LATER: &[&str] = &[
    "dns",
    "dns-opts",
    "dns-search",
    "live-restore",
    "storage-driver",
    "storage-opts",
    "runtimes",
    "features",
    "builder",
    "debug",
    "experimental",
    "iptables",
    "ip6tables",
    "default-ulimits",
    "exec-opts",
    "labels",
    "icc",
    "ip-forward",
    "ip-masq",
    "default-cgroupns-mode",
    "cgroup-parent",
    "shutdown-timeout",
    "pidfile",
    "exec-root",
    "group",
    "tls",
    "tlsverify",
    "tlscacert",
    "tlscert",
    "tlskey",
    "containerd",
    "default-shm-size",
    "init",
    "init-path",
    "no-new-privileges",
    "seccomp-profile",
    "selinux-enabled",
    "userns-remap",
    "log-format",
    "proxies",
    "dns-search",
];

#[derive(Debug, Clone)]
pub struct Settings {
    pub hosts: Vec<String>,
    pub data_root: PathBuf,
    pub log_level: String,
    pub log_opts: BTreeMap<String, String>,
    pub default_runtime: String,
    pub registry: berth_engine::RegistryConfig,
    pub network: berth_engine::network::config::BridgeConfig,
}

/// Reads daemon.json (the flag's file must exist; the default one may be absent) and
/// merges it with the flags.
pub fn load(flags: Flags) -> Result<Settings, String> {
    let (path, required) = match &flags.config_file {
        Some(p) => (p.clone(), true),
        None => (PathBuf::from(DEFAULT_CONFIG_FILE), false),
    };
    let file: FileConfig = match std::fs::read(&path) {
        Ok(data) => serde_json::from_slice(&data).map_err(|e| {
            format!(
                "unable to configure the berth daemon with file {}: {e}",
                path.display()
            )
        })?,
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => FileConfig::default(),
        Err(e) => {
            return Err(format!(
                "unable to configure the berth daemon with file {}: {e}",
                path.display()
            ))
        }
    };
    let unknown: Vec<&String> = file
        .other
        .keys()
        .filter(|k| !DOCKER_KEYS_LATER.contains(&k.as_str()))
        .collect();
    if !unknown.is_empty() {
        let list: Vec<&str> = unknown.iter().map(|s| s.as_str()).collect();
        return Err(format!(
            "the following directives don't match any configuration option: {}",
            list.join(", ")
        ));
    }
    let conflict = |name: &str| {
        format!(
            "the following directives are specified both as a flag and in the configuration file: {name}"
        )
    };
    if !flags.hosts.is_empty() && file.hosts.is_some() {
        return Err(conflict("hosts"));
    }
    if flags.data_root.is_some() && file.data_root.is_some() {
        return Err(conflict("data-root"));
    }
    if flags.log_level.is_some() && file.log_level.is_some() {
        return Err(conflict("log-level"));
    }
    if let Some(d) = &file.log_driver {
        if d != "json-file" {
            return Err(format!(
                "log driver {d} is not supported by berth (json-file only)"
            ));
        }
    }
    let network = network_config(&flags, &file)?;
    let log_level = flags
        .log_level
        .or(file.log_level)
        .unwrap_or_else(|| "info".into());
    if !["debug", "info", "warn", "error", "fatal", "trace"].contains(&log_level.as_str()) {
        return Err(format!("unable to parse logging level: {log_level}"));
    }
    let mut hosts = if flags.hosts.is_empty() {
        file.hosts.unwrap_or_default()
    } else {
        flags.hosts
    };
    if hosts.is_empty() {
        hosts.push(DEFAULT_HOST.into());
    }
    for h in &hosts {
        if !h.starts_with("unix://") && !h.starts_with("fd://") {
            return Err(format!(
                "invalid host {h}: berth listens on unix:// sockets (or fd:// under systemd socket activation)"
            ));
        }
    }
    let default_runtime = file
        .default_runtime
        .unwrap_or_else(berth_engine::default_runtime);
    berth_engine::validate_runtime(&default_runtime)
        .map_err(|e| format!("default-runtime: {e}"))?;
    Ok(Settings {
        hosts,
        data_root: flags
            .data_root
            .or(file.data_root)
            .unwrap_or_else(|| DEFAULT_DATA_ROOT.into()),
        log_level,
        log_opts: file.log_opts.unwrap_or_default(),
        default_runtime,
        network,
        registry: registry_config(
            file.insecure_registries,
            file.registry_mirrors,
            file.max_concurrent_downloads,
            file.max_concurrent_uploads,
        )?,
    })
}

/// The default bridge and address pools, from flags or daemon.json (not both).
fn network_config(
    flags: &Flags,
    file: &FileConfig,
) -> Result<berth_engine::network::config::BridgeConfig, String> {
    let conflict = |name: &str| {
        format!(
            "the following directives are specified both as a flag and in the configuration file: {name}"
        )
    };
    if flags.bridge.is_some() && file.bridge.is_some() {
        return Err(conflict("bridge"));
    }
    if flags.bip.is_some() && file.bip.is_some() {
        return Err(conflict("bip"));
    }
    if flags.mtu.is_some() && file.mtu.is_some() {
        return Err(conflict("mtu"));
    }
    if flags.ipv6 && file.ipv6.is_some() {
        return Err(conflict("ipv6"));
    }
    if flags.fixed_cidr_v6.is_some() && file.fixed_cidr_v6.is_some() {
        return Err(conflict("fixed-cidr-v6"));
    }
    if !flags.default_address_pools.is_empty() && file.default_address_pools.is_some() {
        return Err(conflict("default-address-pools"));
    }
    let mut pools = Vec::new();
    for p in &flags.default_address_pools {
        let (mut base, mut size) = (None, None);
        for kv in p.split(',') {
            match kv.split_once('=') {
                Some(("base", v)) => base = Some(v.to_string()),
                Some(("size", v)) => {
                    size = Some(v.parse::<u8>().map_err(|_| {
                        format!("invalid default-address-pool {p}: invalid size {v}")
                    })?)
                }
                _ => {
                    return Err(format!(
                        "invalid default-address-pool {p}: unexpected field {kv}"
                    ))
                }
            }
        }
        match (base, size) {
            (Some(b), Some(s)) => pools.push((b, s)),
            _ => {
                return Err(format!(
                    "invalid default-address-pool {p}: base and size are required"
                ))
            }
        }
    }
    for p in file.default_address_pools.iter().flatten() {
        pools.push((p.base.clone(), p.size));
    }
    if flags.fixed_cidr.is_some() && file.fixed_cidr.is_some() {
        return Err(conflict("fixed-cidr"));
    }
    if flags.host_gateway_ip.is_some() && file.host_gateway_ip.is_some() {
        return Err(conflict("host-gateway-ip"));
    }
    let mut cfg = berth_engine::network::config::BridgeConfig::parse(
        flags.bridge.as_deref().or(file.bridge.as_deref()),
        flags.bip.as_deref().or(file.bip.as_deref()),
        flags.mtu.or(file.mtu),
        &pools,
    )?
    .with_fixed_cidr_and_host_gateway(
        flags.fixed_cidr.as_deref().or(file.fixed_cidr.as_deref()),
        flags
            .host_gateway_ip
            .as_deref()
            .or(file.host_gateway_ip.as_deref()),
    )?
    .with_ipv6(
        flags.ipv6 || file.ipv6.unwrap_or(false),
        flags
            .fixed_cidr_v6
            .as_deref()
            .or(file.fixed_cidr_v6.as_deref()),
    )?;
    if flags.ip.is_some() && file.ip.is_some() {
        return Err(conflict("ip"));
    }
    if flags.userland_proxy.is_some() && file.userland_proxy.is_some() {
        return Err(conflict("userland-proxy"));
    }
    if let Some(ip) = flags.ip.as_deref().or(file.ip.as_deref()) {
        // dockerd's words for a bad --ip.
        cfg.ports.default_ip = ip
            .parse()
            .map_err(|_| format!("invalid IP address: {ip}"))?;
    }
    if let Some(u) = flags.userland_proxy.or(file.userland_proxy) {
        cfg.ports.userland_proxy = u;
    }
    Ok(cfg)
}

/// daemon.json's registry keys. `BERTH_CERTS_DIR` adds a certs.d directory searched before
/// `/etc/berth/certs.d` and `/etc/docker/certs.d` (tests use it: they may not write /etc).
fn registry_config(
    insecure: Option<Vec<String>>,
    mirrors: Option<Vec<String>>,
    downloads: Option<usize>,
    uploads: Option<usize>,
) -> Result<berth_engine::RegistryConfig, String> {
    let mut c = berth_engine::RegistryConfig {
        insecure_registries: insecure.unwrap_or_default(),
        ..Default::default()
    };
    for m in mirrors.unwrap_or_default() {
        if !m.starts_with("http://") && !m.starts_with("https://") {
            return Err(format!(
                "invalid mirror: unsupported scheme \"{}\" in \"{m}\": must use either 'https://' or 'http://'",
                m.split("://").next().unwrap_or("")
            ));
        }
        c.registry_mirrors.push(m.trim_end_matches('/').to_string());
    }
    for (name, v) in [
        ("max-concurrent-downloads", downloads),
        ("max-concurrent-uploads", uploads),
    ] {
        if v == Some(0) {
            return Err(format!("invalid {name}: must be greater than 0"));
        }
    }
    if let Some(n) = downloads {
        c.max_concurrent_downloads = n;
    }
    if let Some(n) = uploads {
        c.max_concurrent_uploads = n;
    }
    if let Some(d) = std::env::var_os("BERTH_CERTS_DIR") {
        c.certs_dirs.insert(0, PathBuf::from(d));
    }
    if std::env::var_os("BERTH_LOOPBACK_REGISTRY_SECURE").is_some() {
        c.loopback_insecure = false;
    }
    Ok(c)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flags(args: &[&str]) -> Flags {
        Flags::parse_from(std::iter::once("daemon").chain(args.iter().copied()))
    }

    #[test]
    fn file_and_flags_merge() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("daemon.json");
        std::fs::write(
            &p,
            r#"{"data-root":"/x","log-opts":{"max-size":"1m"},"bip":"10.0.0.1/24"}"#,
        )
        .expect("write");
        let s = load(flags(&["--config-file", p.to_str().unwrap_or_default()])).expect("loads");
        assert_eq!(s.data_root, PathBuf::from("/x"));
        assert_eq!(s.log_opts["max-size"], "1m");
        assert_eq!(s.hosts, vec![DEFAULT_HOST.to_string()]);
        let err = load(flags(&[
            "--config-file",
            p.to_str().unwrap_or_default(),
            "--data-root",
            "/y",
        ]))
        .expect_err("conflict");
        assert!(err.contains("data-root"), "{err}");
    }

    #[test]
    fn published_port_settings() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("daemon.json");
        let path = p.to_str().unwrap_or_default();
        std::fs::write(&p, r#"{"ip":"127.0.0.1","userland-proxy":false}"#).expect("write");
        let s = load(flags(&["--config-file", path])).expect("loads");
        assert_eq!(s.network.ports.default_ip.to_string(), "127.0.0.1");
        assert!(!s.network.ports.userland_proxy);
        let err = load(flags(&["--config-file", path, "--ip", "::1"])).expect_err("both");
        assert!(err.contains("ip"), "{err}");
        std::fs::write(&p, r#"{"ip":"nope"}"#).expect("write");
        let err = load(flags(&["--config-file", path])).expect_err("bad ip");
        assert_eq!(err, "invalid IP address: nope");
        std::fs::write(&p, "{}").expect("write");
        let s = load(flags(&[
            "--config-file",
            path,
            "--ip",
            "::1",
            "--userland-proxy=false",
        ]))
        .expect("flags");
        assert_eq!(s.network.ports.default_ip.to_string(), "::1");
        assert!(!s.network.ports.userland_proxy);
        let s = load(flags(&["--config-file", path])).expect("defaults");
        assert_eq!(s.network.ports.default_ip.to_string(), "0.0.0.0");
        assert!(s.network.ports.userland_proxy);
    }

    #[test]
    fn bridge_settings() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("daemon.json");
        std::fs::write(
            &p,
            r#"{"bridge":"bt-q","bip":"10.214.7.1/24","mtu":1400,"default-address-pools":[{"base":"10.215.7.0/24","size":26}]}"#,
        )
        .expect("write");
        let path = p.to_str().unwrap_or_default();
        let s = load(flags(&["--config-file", path])).expect("loads");
        assert_eq!(s.network.bridge.as_deref(), Some("bt-q"));
        assert_eq!(
            s.network.bip.map(|b| b.to_string()).as_deref(),
            Some("10.214.7.1/24")
        );
        assert_eq!(s.network.mtu, Some(1400));
        assert_eq!(s.network.pools.len(), 1);
        let err = load(flags(&["--config-file", path, "--bip", "10.1.0.1/24"])).expect_err("both");
        assert!(err.contains("bip"), "{err}");
        let s = load(flags(&[
            "--config-file",
            "/nonexistent-but-default",
            "-b",
            "none",
        ]));
        assert!(s.is_err(), "a named config file must exist");
        let s = load(flags(&[
            "-b",
            "none",
            "--default-address-pool",
            "base=10.215.8.0/24,size=26",
        ]))
        .expect("flags");
        assert!(s.network.bridge.is_none());
        assert_eq!(s.network.pools.len(), 1);
        assert!(load(flags(&["--default-address-pool", "base=10.0.0.0/16"])).is_err());
        assert!(load(flags(&["--bip", "bogus"])).is_err());
    }

    #[test]
    fn ipv6_settings() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("daemon.json");
        std::fs::write(&p, r#"{"ipv6":true,"fixed-cidr-v6":"fd42:be:7::/64"}"#).expect("write");
        let path = p.to_str().unwrap_or_default();
        let s = load(flags(&["--config-file", path])).expect("loads");
        assert!(s.network.ipv6);
        assert_eq!(
            s.network.fixed_cidr_v6.map(|n| n.to_string()).as_deref(),
            Some("fd42:be:7::/64")
        );
        let err = load(flags(&["--config-file", path, "--ipv6"])).expect_err("both");
        assert!(err.contains("ipv6"), "{err}");
        let s = load(flags(&["--ipv6", "--fixed-cidr-v6", "fd42:be:8::/64"])).expect("flags");
        assert!(s.network.ipv6 && s.network.fixed_cidr_v6.is_some());
        let err = load(flags(&["--fixed-cidr-v6", "fd42:be::zz/64"])).expect_err("bad");
        assert!(err.contains("fixed-cidr-v6"), "{err}");
        assert!(!load(flags(&[])).expect("defaults").network.ipv6);
    }

    #[test]
    fn unknown_keys_and_bad_json_are_refused() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("daemon.json");
        std::fs::write(&p, r#"{"nope":1}"#).expect("write");
        let err =
            load(flags(&["--config-file", p.to_str().unwrap_or_default()])).expect_err("unknown");
        assert!(err.contains("nope"), "{err}");
        std::fs::write(&p, "{").expect("write");
        assert!(load(flags(&["--config-file", p.to_str().unwrap_or_default()])).is_err());
        assert!(load(flags(&["--config-file", "/nonexistent/daemon.json"])).is_err());
    }
}
