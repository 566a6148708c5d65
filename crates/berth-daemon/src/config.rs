//! `berth daemon` flags and daemon.json, merged as dockerd does: a setting given both as a
//! flag and in the file is an error.

use clap::Parser;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

pub const DEFAULT_HOST: &str = "unix:///run/berth/berth.sock";
pub const DEFAULT_DATA_ROOT: &str = "/var/lib/berth";
pub const DEFAULT_CONFIG_FILE: &str = "/etc/berth/daemon.json";

#[derive(Debug, Clone, Parser)]
#[command(
    name = "berth daemon",
    version,
    about = "Run the berth daemon (Docker Engine API server)"
)]
pub struct Flags {
    /// Daemon socket(s) to listen on (unix://PATH, or tcp://HOST:PORT with --tlsverify);
    /// repeatable.
    #[arg(short = 'H', long = "host")]
    pub hosts: Vec<String>,
    /// Group of the unix socket(s) (default "docker").
    #[arg(short = 'G', long = "group")]
    pub group: Option<String>,
    /// Use TLS; implied by --tlsverify.
    #[arg(long = "tls", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub tls: Option<bool>,
    /// Use TLS and require a client certificate signed by --tlscacert (tcp:// needs it).
    #[arg(long = "tlsverify", num_args = 0..=1, require_equals = true, default_missing_value = "true")]
    pub tlsverify: Option<bool>,
    /// Trust client certificates signed only by this CA (default $DOCKER_CERT_PATH/ca.pem, else ~/.docker/ca.pem).
    #[arg(long = "tlscacert")]
    pub tlscacert: Option<PathBuf>,
    /// The daemon's TLS certificate (default .../cert.pem).
    #[arg(long = "tlscert")]
    pub tlscert: Option<PathBuf>,
    /// The daemon's TLS key (default .../key.pem).
    #[arg(long = "tlskey")]
    pub tlskey: Option<PathBuf>,
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
    /// Seccomp profile of containers that name none: a JSON file, "builtin" or "unconfined".
    #[arg(long = "seccomp-profile")]
    pub seccomp_profile: Option<String>,
    /// Set no_new_privileges for every container by default.
    #[arg(long = "no-new-privileges")]
    pub no_new_privileges: bool,
    /// Default ulimits of containers (`name=soft[:hard]`); repeatable.
    #[arg(long = "default-ulimit")]
    pub default_ulimits: Vec<String>,
    /// SELinux support (berth has none: only false is accepted).
    #[arg(long = "selinux-enabled", num_args = 0..=1, default_missing_value = "true")]
    pub selinux_enabled: Option<bool>,
    /// User namespace remapping: `default`, `USER[:GROUP]` or `UID[:GID]` (their ranges
    /// in /etc/subuid and /etc/subgid).
    #[arg(long = "userns-remap")]
    pub userns_remap: Option<String>,
    /// Inter-container communication on the default bridge (only true is supported).
    #[arg(long = "icc", num_args = 0..=1, default_missing_value = "true")]
    pub icc: Option<bool>,
    /// Runtime execution options (`native.cgroupdriver=systemd|cgroupfs`); repeatable.
    #[arg(long = "exec-opt")]
    pub exec_opts: Vec<String>,
    /// Parent cgroup of containers without --cgroup-parent (a slice with the systemd driver).
    #[arg(long = "cgroup-parent")]
    pub cgroup_parent: Option<String>,
    /// Default cgroup namespace mode of containers: "private" or "host".
    #[arg(long = "default-cgroupns-mode")]
    pub default_cgroupns_mode: Option<String>,
    /// Default logging driver of containers.
    #[arg(long = "log-driver")]
    pub log_driver: Option<String>,
    /// Default logging driver options (`key=value`); repeatable.
    #[arg(long = "log-opt")]
    pub log_opts: Vec<String>,
    /// Daemon labels (`key=value`); repeatable.
    #[arg(long = "label")]
    pub labels: Vec<String>,
    /// Debug mode (log level debug).
    #[arg(short = 'D', long = "debug")]
    pub debug: bool,
    /// HTTP proxy for registry access (over the environment's HTTP_PROXY).
    #[arg(long = "http-proxy")]
    pub http_proxy: Option<String>,
    /// HTTPS proxy for registry access (over the environment's HTTPS_PROXY).
    #[arg(long = "https-proxy")]
    pub https_proxy: Option<String>,
    /// Hosts registry access reaches without a proxy (over the environment's NO_PROXY).
    #[arg(long = "no-proxy")]
    pub no_proxy: Option<String>,
}

/// daemon.json's `proxies` (moby's `config.Proxies`); other keys inside are refused as
/// unknown directives, as moby flattens this object before its unknown-key check.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub struct ProxiesEntry {
    pub http_proxy: Option<String>,
    pub https_proxy: Option<String>,
    pub no_proxy: Option<String>,
    #[serde(flatten)]
    pub other: BTreeMap<String, serde_json::Value>,
}

/// One entry of daemon.json's `default-ulimits`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UlimitEntry {
    #[serde(default)]
    pub name: String,
    pub soft: i64,
    pub hard: i64,
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
    pub seccomp_profile: Option<String>,
    pub no_new_privileges: Option<bool>,
    pub default_ulimits: Option<BTreeMap<String, UlimitEntry>>,
    pub selinux_enabled: Option<bool>,
    pub userns_remap: Option<String>,
    pub icc: Option<bool>,
    pub group: Option<String>,
    pub tls: Option<bool>,
    pub tlsverify: Option<bool>,
    pub tlscacert: Option<PathBuf>,
    pub tlscert: Option<PathBuf>,
    pub tlskey: Option<PathBuf>,
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
    pub exec_opts: Option<Vec<String>>,
    pub cgroup_parent: Option<String>,
    pub default_cgroupns_mode: Option<String>,
    pub labels: Option<Vec<String>>,
    pub debug: Option<bool>,
    pub shutdown_timeout: Option<i64>,
    pub proxies: Option<ProxiesEntry>,
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
    "experimental",
    "iptables",
    "ip6tables",
    "ip-forward",
    "ip-masq",
    "pidfile",
    "exec-root",
    "containerd",
    "default-shm-size",
    "init",
    "init-path",
    "log-format",
    "dns-search",
];

#[derive(Debug, Clone)]
pub struct Settings {
    pub hosts: Vec<crate::listen::Host>,
    /// The unix sockets' group (`-G/--group`).
    pub group: String,
    pub tls: crate::listen::TlsSettings,
    pub data_root: PathBuf,
    pub log_level: String,
    /// Containers' default logging driver and options.
    pub log_driver: String,
    pub log_opts: BTreeMap<String, String>,
    pub cgroup: berth_engine::config::CgroupConfig,
    /// `docker info` Labels.
    pub labels: Vec<String>,
    pub debug: bool,
    /// Seconds the daemon gives containers to stop at shutdown (dockerd's 15 by default).
    pub shutdown_timeout: i64,
    pub default_runtime: String,
    pub registry: berth_engine::RegistryConfig,
    pub network: berth_engine::network::config::BridgeConfig,
    pub security: berth_engine::security::SecurityConfig,
    /// `userns-remap` as given (resolved at start by `crate::userns`); empty: off.
    pub userns_remap: String,
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
        .chain(file.proxies.iter().flat_map(|p| p.other.keys()))
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
    let proxies = proxies_config(&flags, file.proxies.as_ref())?;
    if flags.data_root.is_some() && file.data_root.is_some() {
        return Err(conflict("data-root"));
    }
    if flags.log_level.is_some() && file.log_level.is_some() {
        return Err(conflict("log-level"));
    }
    for (name, both) in [
        (
            "log-driver",
            flags.log_driver.is_some() && file.log_driver.is_some(),
        ),
        (
            "log-opts",
            !flags.log_opts.is_empty() && file.log_opts.is_some(),
        ),
        (
            "exec-opts",
            !flags.exec_opts.is_empty() && file.exec_opts.is_some(),
        ),
        (
            "cgroup-parent",
            flags.cgroup_parent.is_some() && file.cgroup_parent.is_some(),
        ),
        (
            "default-cgroupns-mode",
            flags.default_cgroupns_mode.is_some() && file.default_cgroupns_mode.is_some(),
        ),
        ("labels", !flags.labels.is_empty() && file.labels.is_some()),
        ("debug", flags.debug && file.debug.is_some()),
    ] {
        if both {
            return Err(conflict(name));
        }
    }
    let log_driver = flags
        .log_driver
        .clone()
        .or(file.log_driver.clone())
        .unwrap_or_else(|| berth_engine::DEFAULT_LOG_DRIVER.to_string());
    let log_opts: BTreeMap<String, String> = if flags.log_opts.is_empty() {
        file.log_opts.clone().unwrap_or_default()
    } else {
        key_values(&flags.log_opts, "log-opt")?
    };
    berth_engine::validate_log_config(&log_driver, &log_opts)
        .map_err(|e| format!("failed to set log opts: {e}"))?;
    let exec_opts = if flags.exec_opts.is_empty() {
        file.exec_opts.clone().unwrap_or_default()
    } else {
        flags.exec_opts.clone()
    };
    let cgroup = cgroup_config(
        &exec_opts,
        flags.cgroup_parent.clone().or(file.cgroup_parent.clone()),
        flags
            .default_cgroupns_mode
            .clone()
            .or(file.default_cgroupns_mode.clone()),
    )?;
    let labels = if flags.labels.is_empty() {
        file.labels.clone().unwrap_or_default()
    } else {
        flags.labels.clone()
    };
    for l in &labels {
        if !l.contains('=') {
            return Err(format!("bad attribute format: {l}"));
        }
    }
    let debug = flags.debug || file.debug.unwrap_or(false);
    let shutdown_timeout = file.shutdown_timeout.unwrap_or(15);
    let network = network_config(&flags, &file)?;
    let security = security_config(&flags, &file)?;
    let log_level = flags
        .log_level
        .clone()
        .or(file.log_level.clone())
        .unwrap_or_else(|| if debug { "debug".into() } else { "info".into() });
    if !["debug", "info", "warn", "error", "fatal", "trace"].contains(&log_level.as_str()) {
        return Err(format!("unable to parse logging level: {log_level}"));
    }
    for (name, both) in [
        ("group", flags.group.is_some() && file.group.is_some()),
        ("tls", flags.tls.is_some() && file.tls.is_some()),
        (
            "tlsverify",
            flags.tlsverify.is_some() && file.tlsverify.is_some(),
        ),
        (
            "tlscacert",
            flags.tlscacert.is_some() && file.tlscacert.is_some(),
        ),
        ("tlscert", flags.tlscert.is_some() && file.tlscert.is_some()),
        ("tlskey", flags.tlskey.is_some() && file.tlskey.is_some()),
    ] {
        if both {
            return Err(conflict(name));
        }
    }
    let tls = tls_settings(&flags, &file);
    let mut host_strings = if flags.hosts.is_empty() {
        file.hosts.clone().unwrap_or_default()
    } else {
        flags.hosts.clone()
    };
    if host_strings.is_empty() {
        host_strings.push(DEFAULT_HOST.into());
    }
    let default_unix = DEFAULT_HOST.trim_start_matches("unix://");
    let mut hosts = Vec::new();
    for h in &host_strings {
        let host = crate::listen::parse_host(h, tls.tls, default_unix)?;
        if matches!(host, crate::listen::Host::Tcp(_)) {
            crate::listen::check_tcp_allowed(h, &tls)?;
        }
        hosts.push(host);
    }
    let group = flags
        .group
        .clone()
        .or(file.group.clone())
        .unwrap_or_else(|| crate::listen::DEFAULT_GROUP.to_string());
    let default_runtime = file
        .default_runtime
        .unwrap_or_else(berth_engine::default_runtime);
    berth_engine::validate_runtime(&default_runtime)
        .map_err(|e| format!("default-runtime: {e}"))?;
    let bridge_given = flags.bridge.is_some() || file.bridge.is_some();
    let data_root: PathBuf = flags
        .data_root
        .or(file.data_root)
        .unwrap_or_else(|| DEFAULT_DATA_ROOT.into());
    let network = network.with_data_root(&data_root, bridge_given);
    Ok(Settings {
        hosts,
        group,
        tls,
        data_root,
        log_level,
        log_driver,
        log_opts,
        cgroup,
        labels,
        debug,
        shutdown_timeout,
        default_runtime,
        network,
        security,
        userns_remap: flags
            .userns_remap
            .clone()
            .or(file.userns_remap.clone())
            .unwrap_or_default(),
        registry: registry_config(
            file.insecure_registries,
            file.registry_mirrors,
            file.max_concurrent_downloads,
            file.max_concurrent_uploads,
            proxies,
        )?,
    })
}

/// The registry proxies: `--http-proxy`... or daemon.json `proxies` (not both, moby's
/// conflict text with the credentials masked), each written over the environment's value
/// as dockerd's `configureProxyEnv` does. Not validated here: moby starts with any value.
fn proxies_config(
    flags: &Flags,
    file: Option<&ProxiesEntry>,
) -> Result<berth_engine::registry_proxy::Proxies, String> {
    use berth_engine::registry_proxy::{mask_credentials, Proxies};
    let mut conflicts = Vec::new();
    let mut pick = |name: &str, flag: &Option<String>, file: Option<&String>| {
        if let (Some(f), Some(j)) = (flag, file) {
            let (f, j) = if name == "no-proxy" {
                (f.clone(), j.clone())
            } else {
                (mask_credentials(f), mask_credentials(j))
            };
            conflicts.push(format!("{name}: (from flag: {f}, from file: {j})"));
        }
        flag.clone().or(file.cloned()).unwrap_or_default()
    };
    let configured = Proxies {
        http: pick(
            "http-proxy",
            &flags.http_proxy,
            file.and_then(|p| p.http_proxy.as_ref()),
        ),
        https: pick(
            "https-proxy",
            &flags.https_proxy,
            file.and_then(|p| p.https_proxy.as_ref()),
        ),
        no_proxy: pick(
            "no-proxy",
            &flags.no_proxy,
            file.and_then(|p| p.no_proxy.as_ref()),
        ),
    };
    if !conflicts.is_empty() {
        return Err(format!(
            "the following directives are specified both as a flag and in the configuration file: {}",
            conflicts.join(", ")
        ));
    }
    Ok(Proxies::from_env().overridden_by(&configured))
}

/// Seccomp profile, no-new-privileges and default ulimits, from flags or daemon.json (not
/// both); the security settings berth cannot honour are refused, naming them.
fn security_config(
    flags: &Flags,
    file: &FileConfig,
) -> Result<berth_engine::security::SecurityConfig, String> {
    use berth_engine::security::{Choice, Profile, BUILTIN, UNCONFINED};
    let conflict = |name: &str| {
        format!(
            "the following directives are specified both as a flag and in the configuration file: {name}"
        )
    };
    if flags.seccomp_profile.is_some() && file.seccomp_profile.is_some() {
        return Err(conflict("seccomp-profile"));
    }
    if flags.no_new_privileges && file.no_new_privileges.is_some() {
        return Err(conflict("no-new-privileges"));
    }
    if !flags.default_ulimits.is_empty() && file.default_ulimits.is_some() {
        return Err(conflict("default-ulimits"));
    }
    if flags.selinux_enabled.or(file.selinux_enabled) == Some(true) {
        return Err(
            "selinux-enabled: SELinux is not supported by berth (containers run without SELinux labels)"
                .into(),
        );
    }
    if flags.userns_remap.is_some() && file.userns_remap.is_some() {
        return Err(conflict("userns-remap"));
    }
    if flags.icc.or(file.icc) == Some(false) {
        return Err(
            "icc: disabling inter-container communication is not supported by berth yet".into(),
        );
    }
    let name = flags
        .seccomp_profile
        .clone()
        .or(file.seccomp_profile.clone())
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| BUILTIN.to_string());
    let seccomp = match name.as_str() {
        BUILTIN => Choice::Builtin,
        UNCONFINED => Choice::Unconfined,
        path => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| format!("opening seccomp profile ({path}) failed: {e}"))?;
            Profile::parse(&text).map_err(|e| format!("seccomp profile ({path}): {e}"))?;
            Choice::Custom(text)
        }
    };
    let mut default_ulimits = Vec::new();
    for (name, u) in file.default_ulimits.iter().flatten() {
        default_ulimits.push(berth_engine::security::Ulimit {
            name: if u.name.is_empty() {
                name.clone()
            } else {
                u.name.clone()
            },
            soft: u.soft,
            hard: u.hard,
        });
    }
    for f in &flags.default_ulimits {
        default_ulimits.push(parse_ulimit(f)?);
    }
    for u in &default_ulimits {
        // The same check as a container's --ulimit.
        berth_engine::security::rlimit_type(&u.name)
            .map_err(|_| format!("default-ulimits: invalid ulimit type: {}", u.name))?;
        if u.soft > u.hard {
            return Err(format!(
                "default-ulimits: ulimit soft limit must be less than or equal to hard limit: {} > {}",
                u.soft, u.hard
            ));
        }
    }
    Ok(berth_engine::security::SecurityConfig {
        seccomp,
        seccomp_name: name,
        no_new_privileges: flags.no_new_privileges || file.no_new_privileges.unwrap_or(false),
        default_ulimits,
    })
}

/// `--default-ulimit name=soft[:hard]`.
fn parse_ulimit(s: &str) -> Result<berth_engine::security::Ulimit, String> {
    let bad = || format!("invalid default-ulimit {s:?}: want name=soft[:hard]");
    let (name, vals) = s.split_once('=').ok_or_else(bad)?;
    let (soft, hard) = vals.split_once(':').unwrap_or((vals, vals));
    Ok(berth_engine::security::Ulimit {
        name: name.to_string(),
        soft: soft.parse().map_err(|_| bad())?,
        hard: hard.parse().map_err(|_| bad())?,
    })
}

/// `--tls*` from flags or daemon.json, with dockerd's defaults for the files
/// (`$DOCKER_CERT_PATH`, else `~/.docker`: `ca.pem`, `cert.pem`, `key.pem`).
fn tls_settings(flags: &Flags, file: &FileConfig) -> crate::listen::TlsSettings {
    let dir = std::env::var_os("DOCKER_CERT_PATH")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".docker")))
        .unwrap_or_else(|| PathBuf::from(".docker"));
    let verify = flags.tlsverify.or(file.tlsverify).unwrap_or(false);
    crate::listen::TlsSettings {
        tls: verify || flags.tls.or(file.tls).unwrap_or(false),
        verify,
        ca: flags
            .tlscacert
            .clone()
            .or(file.tlscacert.clone())
            .unwrap_or_else(|| dir.join("ca.pem")),
        cert: flags
            .tlscert
            .clone()
            .or(file.tlscert.clone())
            .unwrap_or_else(|| dir.join("cert.pem")),
        key: flags
            .tlskey
            .clone()
            .or(file.tlskey.clone())
            .unwrap_or_else(|| dir.join("key.pem")),
    }
}

/// `key=value` flag values as a map.
fn key_values(list: &[String], flag: &str) -> Result<BTreeMap<String, String>, String> {
    list.iter()
        .map(|kv| {
            kv.split_once('=')
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .ok_or_else(|| format!("invalid {flag} {kv:?}: expected key=value"))
        })
        .collect()
}

/// The cgroup driver and defaults, checked with dockerd's messages.
fn cgroup_config(
    exec_opts: &[String],
    parent: Option<String>,
    ns_mode: Option<String>,
) -> Result<berth_engine::config::CgroupConfig, String> {
    let mut cfg = berth_engine::config::CgroupConfig::host_default();
    for opt in exec_opts {
        let Some((k, v)) = opt.split_once('=') else {
            return Err(format!(
                "invalid exec-opt ({opt}): must be formatted 'opt=value'"
            ));
        };
        if !k.trim().eq_ignore_ascii_case("native.cgroupdriver") {
            return Err(format!(
                "exec-opt {} is not supported by berth (native.cgroupdriver only)",
                k.trim()
            ));
        }
        match v.trim() {
            "" => {}
            "cgroupfs" => cfg.systemd = false,
            "systemd" => cfg.systemd = true,
            "none" => {
                return Err(
                    "native.cgroupdriver option none is internally used and cannot be specified manually"
                        .into(),
                )
            }
            other => return Err(format!("native.cgroupdriver option {other} not supported")),
        }
    }
    if let Some(p) = parent.filter(|p| !p.is_empty()) {
        if cfg.systemd {
            berth_engine::validate_slice(&p)?;
        }
        cfg.parent = Some(p);
    }
    match ns_mode.as_deref() {
        None | Some("") => {}
        Some("private") => cfg.ns_private = true,
        Some("host") => cfg.ns_private = false,
        Some(other) => {
            return Err(format!(
                "default cgroup namespace mode ({other}) is invalid; use \"host\" or \"private\""
            ))
        }
    }
    Ok(cfg)
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
    proxies: berth_engine::registry_proxy::Proxies,
) -> Result<berth_engine::RegistryConfig, String> {
    let mut c = berth_engine::RegistryConfig {
        insecure_registries: insecure.unwrap_or_default(),
        proxies,
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
        assert_eq!(
            s.hosts,
            vec![crate::listen::Host::Unix(PathBuf::from(
                "/run/berth/berth.sock"
            ))]
        );
        assert_eq!(s.group, "docker");
        let err = load(flags(&[
            "--config-file",
            p.to_str().unwrap_or_default(),
            "--data-root",
            "/y",
        ]))
        .expect_err("conflict");
        assert!(err.contains("data-root"), "{err}");
    }

    /// daemon.json `proxies` as moby reads them: written over the environment, a flag
    /// and the file both giving one is moby's conflict (credentials masked), another key
    /// inside is an unknown directive.
    #[test]
    fn proxies_settings() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("daemon.json");
        let path = p.to_str().unwrap_or_default();
        std::fs::write(
            &p,
            r#"{"proxies":{"http-proxy":"http://u:p@h:1","no-proxy":"a.example"}}"#,
        )
        .expect("write");
        let s = load(flags(&["--config-file", path])).expect("loads");
        assert_eq!(s.registry.proxies.http, "http://u:p@h:1");
        assert_eq!(s.registry.proxies.no_proxy, "a.example");
        let s = load(flags(&[
            "--config-file",
            path,
            "--https-proxy",
            "http://s:2",
        ]))
        .expect("loads");
        assert_eq!(s.registry.proxies.https, "http://s:2");
        let err = load(flags(&[
            "--config-file",
            path,
            "--http-proxy",
            "http://v:w@f:3",
        ]))
        .expect_err("both");
        assert_eq!(
            err,
            "the following directives are specified both as a flag and in the configuration file: http-proxy: (from flag: http://xxxxx:xxxxx@f:3, from file: http://xxxxx:xxxxx@h:1)"
        );
        std::fs::write(&p, r#"{"proxies":{"ftp-proxy":"x"}}"#).expect("write");
        let err = load(flags(&["--config-file", path])).expect_err("unknown");
        assert_eq!(
            err,
            "the following directives don't match any configuration option: ftp-proxy"
        );
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

    #[test]
    fn api_access_settings() {
        let dir = tempfile::tempdir().expect("tempdir");
        let p = dir.path().join("daemon.json");
        std::fs::write(&p, "{}").expect("write");
        let cf = p.to_str().unwrap_or_default().to_string();
        let e = load(flags(&["--config-file", &cf, "-H", "tcp://127.0.0.1:2375"]))
            .expect_err("plain tcp");
        assert!(
            e.contains("refusing to listen on tcp://127.0.0.1:2375 without --tlsverify"),
            "{e}"
        );
        let e = load(flags(&[
            "--config-file",
            &cf,
            "--tls",
            "-H",
            "tcp://127.0.0.1:2375",
        ]))
        .expect_err("tls without verify");
        assert!(e.contains("without --tlsverify"), "{e}");
        let s = load(flags(&[
            "--config-file",
            &cf,
            "--tlsverify",
            "--tlscacert=/c/ca.pem",
            "-H",
            "tcp://127.0.0.1:2999",
            "-G",
            "staff",
        ]))
        .expect("mutual TLS");
        assert_eq!(
            s.hosts,
            vec![crate::listen::Host::Tcp("127.0.0.1:2999".into())]
        );
        assert!(s.tls.verify && s.tls.tls);
        assert_eq!(s.tls.ca, PathBuf::from("/c/ca.pem"));
        assert_eq!(s.group, "staff");
        std::fs::write(
            &p,
            r#"{"group":"g","tlsverify":true,"hosts":["tcp://:2999"]}"#,
        )
        .expect("write");
        let s = load(flags(&["--config-file", &cf])).expect("file settings");
        assert_eq!(s.group, "g");
        assert_eq!(
            s.hosts,
            vec![crate::listen::Host::Tcp("0.0.0.0:2999".into())]
        );
        let e = load(flags(&["--config-file", &cf, "-G", "x"])).expect_err("conflict");
        assert!(
            e.contains("both as a flag and in the configuration file: group"),
            "{e}"
        );
    }
}
