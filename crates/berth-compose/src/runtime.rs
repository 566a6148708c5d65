//! The planner: from a service to its container create body (compose's labels, networks,
//! mounts, ports ...), and the convergence docker compose performs: networks and volumes
//! first, then every service's containers created in dependency order (a service as soon
//! as its dependencies are, its replicas in parallel), scaled keeping the lowest numbers,
//! recreated when the config hash changed; then started in dependency order, each service
//! once its dependencies' conditions hold; `down` undoes it in reverse order.
//! A project network or volume whose `com.docker.compose.config-hash` label is not the
//! file's is recreated first, as compose 2.40 does (`ensure_networks`, `ensure_volumes`):
//! a network at once, its containers disconnected and connected again; a volume only when
//! the user says yes (`-y`, or the answer to compose's question), its containers removed.
//!
//! A recreate stops the dependents declared with `depends_on: {X: {restart: true}}` first,
//! labels the replacement `com.docker.compose.replace=<service>-<n>` and starts them again
//! afterwards (compose 2.40). `post_start` hooks run after each start and `pre_stop` hooks
//! before each stop, as execs (`run_hooks`); `storage_opt`, `isolation`, `annotations` and
//! `device_cgroup_rules` go to HostConfig for the daemon to judge; `use_api_socket` adds
//! the socket bind, the credentials config and DOCKER_CONFIG as compose does, but mounts
//! the socket berth talks to rather than a fixed /var/run/docker.sock.
//! `build.dockerfile_inline` is written to a private temporary file built with `-f`. Still
//! refused (`check_supported`): `models`, `provider`, `gpus`, `blkio_config`,
//! `credential_spec`, `cpu_count`, `cpu_percent`; `volume_driver` is refused at load as
//! compose-go's schema does; `label_file` is read at load.

use crate::api::*;
use crate::graph;
use crate::model::{Network, Project, Service, ServiceVolume, Volume};
use crate::progress::Progress;
use berth_api::models::{
    BindOptions, ContainerCreateBody, DeviceMapping, Empty, EndpointIpamConfig, EndpointSettings,
    HealthConfig, LogConfig, Mount, NetworkCreateBody, NetworkIpam, NetworkIpamConfig,
    NetworkingConfig, PortBinding, PortSet, RestartPolicy, TmpfsOptions, Ulimit, VolumeCreateBody,
    VolumeOptions,
};
use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Condvar, Mutex};
use std::time::Duration;

/// A failure of a compose operation, printed as is.
#[derive(Debug)]
pub struct OpError(pub String);

impl From<berth_cli::client::ClientError> for OpError {
    fn from(e: berth_cli::client::ClientError) -> OpError {
        OpError(e.message())
    }
}

pub type OpResult<T> = std::result::Result<T, OpError>;

/// Keys berth compose does not apply to containers: refused rather than ignored.
/// (`models` and `provider` need Docker Model Runner and provider plugins; `gpus` and
/// `blkio_config` devices berth does not manage; `credential_spec`, `cpu_count` and
/// `cpu_percent` are Windows-only in Docker.)
pub fn check_supported(s: &Service) -> OpResult<()> {
    let unsupported: &[(&str, bool)] = &[
        ("blkio_config", s.blkio_config.is_some()),
        ("credential_spec", s.credential_spec.is_some()),
        ("gpus", s.gpus.is_some()),
        ("models", s.models.is_some()),
        ("provider", s.provider.is_some()),
        ("cpu_count", s.cpu_count != 0),
        ("cpu_percent", s.cpu_percent.is_some()),
    ];
    for (k, set) in unsupported {
        if *set {
            return Err(OpError(format!(
                "service {:?}: `{k}` is not supported by berth compose",
                s.name
            )));
        }
    }
    Ok(())
}

/// The name of replica `n` of a service.
pub fn container_name(p: &Project, s: &Service, n: i64) -> String {
    if !s.container_name.is_empty() {
        return s.container_name.clone();
    }
    format!("{}-{}-{n}", p.name, s.name)
}

/// The service's networks, highest priority first, then by name.
pub fn networks_by_priority(s: &Service) -> Vec<String> {
    let mut v: Vec<(i64, String)> = s
        .networks
        .iter()
        .map(|(k, n)| (n.as_ref().map(|n| n.priority).unwrap_or(0), k.clone()))
        .collect();
    v.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    v.into_iter().map(|(_, k)| k).collect()
}

/// compose's `depends_on` label: `svc:condition:restart,...`.
fn depends_label(s: &Service) -> String {
    s.depends_on
        .iter()
        .map(|(k, d)| format!("{k}:{}:{}", d.condition, d.restart))
        .collect::<Vec<_>>()
        .join(",")
}

/// The labels compose puts on a service container.
pub fn container_labels(
    p: &Project,
    s: &Service,
    number: i64,
    oneoff: bool,
    image_id: &str,
) -> BTreeMap<String, String> {
    let mut l = s.labels.clone();
    l.insert(LABEL_PROJECT.into(), p.name.clone());
    l.insert(LABEL_SERVICE.into(), s.name.clone());
    l.insert(LABEL_NUMBER.into(), number.to_string());
    l.insert(
        LABEL_ONEOFF.into(),
        if oneoff { "True" } else { "False" }.into(),
    );
    l.insert(LABEL_HASH.into(), crate::hash::config_hash(s));
    l.insert(LABEL_DEPENDS.into(), depends_label(s));
    l.insert(LABEL_IMAGE.into(), image_id.to_string());
    l.insert(LABEL_VERSION.into(), COMPOSE_VERSION.into());
    l.insert(
        LABEL_WORKDIR.into(),
        p.working_dir.to_string_lossy().into_owned(),
    );
    l.insert(LABEL_FILES.into(), p.config_files.join(","));
    if !p.env_files.is_empty() {
        l.insert(LABEL_ENVFILE.into(), p.env_files.join(","));
    }
    l
}

fn ns(d: Option<crate::model::Duration>) -> i64 {
    d.map(|d| d.0).unwrap_or(0)
}

/// What the body needs to know about the rest of the project when it is built.
pub struct Peers {
    /// Service name -> its first container's name (links, volumes_from).
    pub first_container: BTreeMap<String, String>,
    /// Service name -> its first container's id (network_mode service:).
    pub first_id: BTreeMap<String, String>,
}

/// The create body of one container of `s`. `primary_only`: the networking config holds
/// the first network; the others are connected before start.
pub fn container_body(
    p: &Project,
    s: &Service,
    image: &str,
    labels: BTreeMap<String, String>,
    name: &str,
    peers: &Peers,
    use_aliases: bool,
) -> OpResult<ContainerCreateBody> {
    let mut b = ContainerCreateBody::default();
    let c = &mut b.config;
    c.image = image.to_string();
    c.cmd = s.command.clone();
    c.entrypoint = s.entrypoint.clone();
    c.env = Some(
        s.environment
            .iter()
            .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
            .collect(),
    );
    c.labels = Some(labels);
    c.user = s.user.clone();
    c.working_dir = s.working_dir.clone();
    c.hostname = s.hostname.clone();
    c.domainname = s.domainname.clone();
    c.tty = s.tty;
    c.open_stdin = s.stdin_open;
    c.attach_stdout = true;
    c.attach_stderr = true;
    if !s.stop_signal.is_empty() {
        c.stop_signal = Some(s.stop_signal.clone());
    }
    if let Some(g) = s.stop_grace_period {
        c.stop_timeout = Some(g.0 / 1_000_000_000);
    }
    if !s.mac_address.is_empty() {
        c.mac_address = Some(s.mac_address.clone());
    }
    let mut exposed = PortSet::new();
    for port in &s.ports {
        exposed.insert(format!("{}/{}", port.target, port.protocol), Empty);
    }
    // compose sends `expose` entries as written (`nat.Port(s)`): "8080" stays "8080"
    // (the engine reads a port without protocol as tcp).
    for e in &s.expose {
        exposed.insert(e.clone(), Empty);
    }
    if !exposed.is_empty() {
        c.exposed_ports = Some(exposed);
    }
    if let Some(h) = &s.healthcheck {
        let test = if h.disable {
            vec!["NONE".to_string()]
        } else {
            h.test.clone()
        };
        c.healthcheck = Some(HealthConfig {
            test: Some(test),
            interval: Some(ns(h.interval)),
            timeout: Some(ns(h.timeout)),
            start_period: Some(ns(h.start_period)),
            start_interval: Some(ns(h.start_interval)),
            retries: Some(i64::try_from(h.retries.unwrap_or(0)).unwrap_or(i64::MAX)),
            ..Default::default()
        });
    }
    let hc = &mut b.host_config;
    // Mounts: short-syntax binds (which create their source) as Binds, the rest as Mounts.
    let mut binds = Vec::new();
    let mut mounts = Vec::new();
    for v in &s.volumes {
        mount(p, v, &mut binds, &mut mounts)?;
    }
    for m in crate::files::bind_mounts(p, s)? {
        // A volume already mounted at the target wins, as in compose's fillBindMounts.
        if !mounts.iter().any(|v| v.target == m.target) {
            mounts.push(m);
        }
    }
    if !binds.is_empty() {
        hc.binds = Some(binds);
    }
    if !mounts.is_empty() {
        hc.mounts = Some(mounts);
    }
    if !s.tmpfs.is_empty() {
        hc.tmpfs = Some(
            s.tmpfs
                .iter()
                .map(|t| match t.split_once(':') {
                    Some((p, o)) => (p.to_string(), o.to_string()),
                    None => (t.clone(), String::new()),
                })
                .collect(),
        );
    }
    for port in &s.ports {
        let key = format!("{}/{}", port.target, port.protocol);
        hc.port_bindings
            .entry(key)
            .or_default()
            .get_or_insert_with(Vec::new)
            .push(PortBinding::new(
                port.host_ip.clone(),
                port.published.clone(),
            ));
    }
    hc.restart_policy = restart_policy(s);
    hc.privileged = s.privileged;
    hc.readonly_rootfs = s.read_only;
    if !s.cap_add.is_empty() {
        hc.cap_add = Some(capabilities(&s.cap_add));
    }
    if !s.cap_drop.is_empty() {
        hc.cap_drop = Some(capabilities(&s.cap_drop));
    }
    // docker compose's parseSecurityOpts: `systempaths=unconfined` is the client's, sent as
    // empty masked and read-only path lists (the daemon knows no such option).
    let (opts, unconfined): (Vec<String>, Vec<String>) = s
        .security_opt
        .iter()
        .cloned()
        .partition(|o| o != "systempaths=unconfined");
    if !opts.is_empty() {
        hc.security_opt = Some(opts);
    }
    if !unconfined.is_empty() {
        hc.masked_paths = Some(Vec::new());
        hc.readonly_paths = Some(Vec::new());
    }
    hc.ulimits = s
        .ulimits
        .iter()
        .map(|(k, u)| {
            let (soft, hard) = u.soft_hard();
            Ulimit {
                name: k.clone(),
                soft,
                hard,
            }
        })
        .collect();
    if !s.sysctls.is_empty() {
        hc.sysctls = Some(s.sysctls.clone());
    }
    if let Some(sz) = s.shm_size {
        hc.shm_size = sz.0;
    }
    hc.pid_mode = resolve_ns(&s.pid, peers);
    hc.ipc_mode = resolve_ns(&s.ipc, peers);
    hc.u_t_s_mode = s.uts.clone();
    hc.cgroup = s.cgroup.clone();
    hc.devices = s
        .devices
        .iter()
        .map(|d| DeviceMapping {
            path_on_host: d.source.clone(),
            path_in_container: d.target.clone(),
            cgroup_permissions: d.permissions.clone(),
            ..Default::default()
        })
        .collect();
    // `device_cgroup_rules`, as docker compose passes them (DeviceCgroupRules).
    hc.device_cgroup_rules = berth_api::models::given_if_any(s.device_cgroup_rules.clone());
    // `annotations`, as docker compose passes them (HostConfig.Annotations, API 1.43).
    hc.annotations = (!s.annotations.is_empty()).then(|| s.annotations.clone());
    hc.dns = s.dns.clone();
    hc.dns_search = s.dns_search.clone();
    hc.dns_options = s.dns_opt.clone();
    // compose sends the list even when empty (`ExtraHosts.AsList`: `[]`, not null).
    hc.extra_hosts = Some(
        s.extra_hosts
            .iter()
            .map(|h| match h.split_once('=') {
                Some((n, ip)) => format!("{n}:{ip}"),
                None => h.clone(),
            })
            .collect(),
    );
    if let Some(l) = &s.logging {
        hc.log_config = LogConfig {
            kind: l.driver.clone(),
            config: l.options.clone(),
        };
    }
    hc.init = s.init;
    if !s.volumes_from.is_empty() {
        let mut vf = Vec::new();
        for v in &s.volumes_from {
            let (src, mode) = match v.rsplit_once(':') {
                Some((a, m)) if m == "ro" || m == "rw" => (a, Some(m)),
                _ => (v.as_str(), None),
            };
            let target = match src.strip_prefix("container:") {
                Some(c) => c.to_string(),
                None => peers.first_container.get(src).cloned().ok_or_else(|| {
                    OpError(format!(
                        "service {:?}: no container of service {src:?} for volumes_from",
                        s.name
                    ))
                })?,
            };
            vf.push(match mode {
                Some(m) => format!("{target}:{m}"),
                None => target,
            });
        }
        hc.volumes_from = Some(vf);
    }
    if !s.links.is_empty() {
        let mut links = Vec::new();
        for l in &s.links {
            let (svc, alias) = match l.split_once(':') {
                Some((a, b)) => (a, b),
                None => (l.as_str(), l.as_str()),
            };
            if let Some(cn) = peers.first_container.get(svc) {
                links.push(format!("{cn}:{alias}"));
            }
        }
        hc.links = Some(links);
    }
    if !s.external_links.is_empty() {
        let mut links = hc.links.take().unwrap_or_default();
        for l in &s.external_links {
            links.push(if l.contains(':') {
                l.clone()
            } else {
                format!("{l}:{l}")
            });
        }
        hc.links = Some(links);
    }
    let limits = s.deploy.as_ref().and_then(|d| d.resources.limits.as_ref());
    let reservations = s
        .deploy
        .as_ref()
        .and_then(|d| d.resources.reservations.as_ref());
    hc.memory = s
        .mem_limit
        .map(|b| b.0)
        .or(limits.and_then(|l| l.memory).map(|b| b.0))
        .unwrap_or(0);
    hc.memory_reservation = s
        .mem_reservation
        .map(|b| b.0)
        .or(reservations.and_then(|l| l.memory).map(|b| b.0))
        .unwrap_or(0);
    if let Some(m) = s.memswap_limit {
        hc.memory_swap = m.0;
    }
    if let Some(m) = s.mem_swappiness {
        hc.memory_swappiness = Some(m.0);
    }
    hc.nano_cpus = s
        .cpus
        .or(limits.and_then(|l| l.cpus))
        .map(|c| (c * 1e9) as i64)
        .unwrap_or(0);
    hc.cpu_shares = s.cpu_shares;
    hc.cpu_period = s.cpu_period;
    hc.cpu_quota = s.cpu_quota;
    hc.cpu_realtime_period = s.cpu_rt_period;
    hc.cpu_realtime_runtime = s.cpu_rt_runtime;
    hc.cpuset_cpus = s.cpuset.clone();
    let pids = if s.pids_limit != 0 {
        s.pids_limit
    } else {
        limits.map(|l| l.pids).unwrap_or(0)
    };
    if pids != 0 {
        hc.pids_limit = Some(pids);
    }
    if s.oom_kill_disable {
        hc.oom_kill_disable = Some(true);
    }
    hc.oom_score_adj = s.oom_score_adj;
    if !s.group_add.is_empty() {
        hc.group_add = Some(s.group_add.clone());
    }
    hc.runtime = s.runtime.clone();
    // `storage_opt` and `isolation` go to the daemon as compose sends them (HostConfig
    // StorageOpt, Isolation): the daemon accepts or refuses them (on Linux only the
    // `default` isolation; a size only where the storage driver can enforce one).
    if let Some(v) = &s.storage_opt {
        hc.storage_opt = Some(
            storage_opt(v)
                .map_err(|e| OpError(format!("service {:?}: storage_opt: {e}", s.name)))?,
        );
    }
    hc.isolation = s.isolation.clone();
    hc.cgroup_parent = s.cgroup_parent.clone();
    hc.userns_mode = s.userns_mode.clone();
    // Networking.
    if !s.network_mode.is_empty() {
        hc.network_mode = match s.network_mode.strip_prefix("service:") {
            Some(svc) => format!(
                "container:{}",
                peers.first_id.get(svc).ok_or_else(|| OpError(format!(
                    "service {:?} depends on service {svc:?} which has no container",
                    s.name
                )))?
            ),
            None => s.network_mode.clone(),
        };
    } else if let Some(first) = networks_by_priority(s).first() {
        let net = p
            .networks
            .get(first)
            .map(|n| n.name.clone())
            .unwrap_or_else(|| format!("{}_{first}", p.name));
        hc.network_mode = net.clone();
        let ep = endpoint(s, first, name, use_aliases);
        b.networking_config = Some(NetworkingConfig {
            endpoints_config: [(net, ep)].into(),
            ..Default::default()
        });
    }
    Ok(b)
}

/// `storage_opt` as compose-go reads it: a map of strings (numbers and booleans written
/// as YAML scalars become their text).
fn storage_opt(v: &serde_norway::Value) -> std::result::Result<BTreeMap<String, String>, String> {
    use serde_norway::Value;
    let Value::Mapping(m) = v else {
        return Err("must be a mapping".into());
    };
    let mut out = BTreeMap::new();
    for (k, v) in m {
        let scalar = |v: &Value| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        };
        match (scalar(k), scalar(v)) {
            (Some(k), Some(v)) => {
                out.insert(k, v);
            }
            _ => return Err("keys and values must be strings".into()),
        }
    }
    Ok(out)
}

fn resolve_ns(mode: &str, peers: &Peers) -> String {
    match mode.strip_prefix("service:") {
        Some(svc) => peers
            .first_id
            .get(svc)
            .map(|id| format!("container:{id}"))
            .unwrap_or_else(|| mode.to_string()),
        None => mode.to_string(),
    }
}

/// The endpoint settings of the service on network `key`: aliases (the container name,
/// the service name, the configured ones), static addresses.
pub fn endpoint(s: &Service, key: &str, container: &str, use_aliases: bool) -> EndpointSettings {
    let cfg = s.networks.get(key).cloned().flatten();
    let mut aliases = vec![container.to_string()];
    if use_aliases {
        aliases.push(s.name.clone());
        if let Some(c) = &cfg {
            aliases.extend(c.aliases.iter().cloned());
        }
    }
    let mut ep = EndpointSettings {
        aliases: Some(aliases),
        ..Default::default()
    };
    if let Some(c) = cfg {
        let some = |v: &String| (!v.is_empty()).then(|| v.clone());
        if !c.ipv4_address.is_empty() || !c.ipv6_address.is_empty() {
            ep.ipam_config = Some(EndpointIpamConfig {
                ipv4_address: some(&c.ipv4_address),
                ipv6_address: some(&c.ipv6_address),
                ..Default::default()
            });
        }
        ep.mac_address = c.mac_address.clone();
        if !c.driver_opts.is_empty() {
            ep.driver_opts = Some(c.driver_opts.clone().into_iter().collect());
        }
        ep.gw_priority = c.gw_priority;
    }
    ep
}

fn restart_policy(s: &Service) -> RestartPolicy {
    let (name, max) = if !s.restart.is_empty() {
        match s.restart.split_once(':') {
            Some((n, m)) => (n.to_string(), m.parse().unwrap_or(0)),
            None => (s.restart.clone(), 0),
        }
    } else if let Some(rp) = s.deploy.as_ref().and_then(|d| d.restart_policy.as_ref()) {
        match rp.condition.as_str() {
            "none" => ("no".to_string(), 0),
            "on-failure" => (
                "on-failure".to_string(),
                rp.max_attempts.unwrap_or(0) as i64,
            ),
            "any" | "" => ("always".to_string(), 0),
            other => (other.to_string(), 0),
        }
    } else {
        (String::new(), 0)
    };
    RestartPolicy {
        name: if name == "no" { String::new() } else { name },
        maximum_retry_count: max,
    }
}

/// Capabilities as docker compose sends them: upper case with the `CAP_` prefix
/// (`NET_ADMIN` becomes `CAP_NET_ADMIN`), `ALL` as it is.
fn capabilities(caps: &[String]) -> Vec<String> {
    caps.iter()
        .map(|c| {
            let c = c.to_uppercase();
            if c == "ALL" || c.starts_with("CAP_") {
                c
            } else {
                format!("CAP_{c}")
            }
        })
        .collect()
}

fn mount(
    p: &Project,
    v: &ServiceVolume,
    binds: &mut Vec<String>,
    mounts: &mut Vec<Mount>,
) -> OpResult<()> {
    match v.kind.as_str() {
        "bind" => {
            if v.bind.as_ref().is_some_and(|b| b.create_host_path) {
                // compose's toBindString: the access mode always first (`rw`/`ro`).
                let mut opts = vec![if v.read_only { "ro" } else { "rw" }.to_string()];
                if let Some(b) = &v.bind {
                    if !b.selinux.is_empty() {
                        opts.push(b.selinux.clone());
                    }
                    if !b.propagation.is_empty() {
                        opts.push(b.propagation.clone());
                    }
                }
                binds.push(format!("{}:{}:{}", v.source, v.target, opts.join(",")));
            } else {
                let propagation = v
                    .bind
                    .as_ref()
                    .map(|b| b.propagation.clone())
                    .filter(|x| !x.is_empty());
                mounts.push(Mount {
                    kind: "bind".into(),
                    source: v.source.clone(),
                    target: v.target.clone(),
                    read_only: v.read_only,
                    bind_options: propagation.map(|propagation| BindOptions {
                        propagation,
                        ..Default::default()
                    }),
                    ..Default::default()
                });
            }
        }
        "volume" => {
            let source = if v.source.is_empty() {
                String::new()
            } else {
                p.volumes
                    .get(&v.source)
                    .map(|x| x.name.clone())
                    .unwrap_or_else(|| v.source.clone())
            };
            let options = v.volume.as_ref().and_then(|vv| {
                let o = VolumeOptions {
                    no_copy: vv.nocopy,
                    subpath: vv.subpath.clone(),
                    labels: (!vv.labels.is_empty())
                        .then(|| vv.labels.clone().into_iter().collect()),
                    ..Default::default()
                };
                (o != VolumeOptions::default()).then_some(o)
            });
            mounts.push(Mount {
                kind: "volume".into(),
                source,
                target: v.target.clone(),
                read_only: v.read_only,
                volume_options: options,
                ..Default::default()
            });
        }
        "tmpfs" => {
            let options = v.tmpfs.as_ref().and_then(|t| {
                let o = TmpfsOptions {
                    size_bytes: t.size.map_or(0, |sz| sz.0),
                    mode: t.mode,
                    ..Default::default()
                };
                (o != TmpfsOptions::default()).then_some(o)
            });
            mounts.push(Mount {
                kind: "tmpfs".into(),
                target: v.target.clone(),
                tmpfs_options: options,
                ..Default::default()
            });
        }
        other => {
            return Err(OpError(format!(
                "volume type {other:?} is not supported by berth compose"
            )))
        }
    }
    Ok(())
}

/// Fails when an external network or volume the services use does not exist (before
/// anything is created, so a failed `up` leaves nothing behind).
pub fn check_externals(
    api: &Api,
    p: &Project,
    nets: &BTreeSet<String>,
    vols: &BTreeSet<String>,
) -> OpResult<()> {
    for (key, n) in &p.networks {
        if nets.contains(key) && n.external && api.network(&n.name)?.is_none() {
            return Err(OpError(format!(
                "network {} declared as external, but could not be found",
                n.name
            )));
        }
    }
    for (key, v) in &p.volumes {
        if vols.contains(key) && v.external && api.volume(&v.name)?.is_none() {
            return Err(OpError(format!("external volume \"{}\" not found", v.name)));
        }
    }
    Ok(())
}

/// The create body of the project's network `key`: compose's labels, `CheckDuplicate`,
/// `EnableIPv6` and `IPAM` only when set, an IPAM pool's fields only when not empty.
fn network_create_body(p: &Project, key: &str, n: &Network) -> NetworkCreateBody {
    let mut labels = n.labels.clone();
    labels.insert(LABEL_PROJECT.into(), p.name.clone());
    labels.insert(LABEL_NETWORK.into(), key.to_string());
    labels.insert(LABEL_VERSION.into(), COMPOSE_VERSION.into());
    labels.insert(LABEL_HASH.into(), crate::hash::network_hash(n));
    let set = |s: &String| (!s.is_empty()).then(|| s.clone());
    NetworkCreateBody {
        name: n.name.clone(),
        driver: if n.driver.is_empty() {
            "bridge"
        } else {
            n.driver.as_str()
        }
        .to_string(),
        options: n.driver_opts.clone(),
        internal: n.internal,
        attachable: n.attachable,
        labels,
        check_duplicate: Some(true),
        enable_ipv6: n.enable_ipv6.map(Some),
        ipam: (!n.ipam.is_empty()).then(|| NetworkIpam {
            driver: if n.ipam.driver.is_empty() {
                "default"
            } else {
                n.ipam.driver.as_str()
            }
            .to_string(),
            config: n
                .ipam
                .config
                .iter()
                .map(|c| NetworkIpamConfig {
                    subnet: set(&c.subnet),
                    gateway: set(&c.gateway),
                    ip_range: set(&c.ip_range),
                    aux_addresses: (!c.aux_addresses.is_empty()).then(|| c.aux_addresses.clone()),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// The create body of the project's volume `key`, with compose's labels.
fn volume_create_body(p: &Project, key: &str, v: &Volume) -> VolumeCreateBody {
    let mut labels = v.labels.clone();
    labels.insert(LABEL_PROJECT.into(), p.name.clone());
    labels.insert(LABEL_VOLUME.into(), key.to_string());
    labels.insert(LABEL_VERSION.into(), COMPOSE_VERSION.into());
    labels.insert(LABEL_HASH.into(), crate::hash::volume_hash(v));
    VolumeCreateBody {
        name: v.name.clone(),
        driver: if v.driver.is_empty() {
            "local"
        } else {
            v.driver.as_str()
        }
        .to_string(),
        driver_opts: v.driver_opts.clone(),
        labels,
        ..Default::default()
    }
}

/// The project's containers (not one-off ones) of `services`, stopped ones too.
fn containers_of_services(api: &Api, p: &Project, services: &[String]) -> OpResult<Vec<Summary>> {
    Ok(api
        .project_containers(&p.name, true, false)?
        .into_iter()
        .filter(|c| services.iter().any(|s| s == c.service()))
        .collect())
}

/// Stops the running ones of `containers` as compose's `stop` does (reverse dependency
/// order, `Stopping`/`Stopped` lines).
fn stop_running(
    api: &Api,
    p: &Project,
    containers: &[Summary],
    progress: &Progress,
) -> OpResult<()> {
    let running: Vec<Summary> = containers.iter().filter(|c| c.running()).cloned().collect();
    stop_in_reverse(api, p, &running, None, false, false, progress)
}

/// compose's warning for a network or volume of the file that exists but was not made for
/// this project: without the project label, or with another project's.
fn foreign_warning(
    kind: Foreign,
    name: &str,
    owner: Option<&String>,
    project: &str,
) -> Option<String> {
    let msg = match (kind, owner) {
        (_, Some(o)) if o == project => return None,
        (Foreign::Network, None) => format!(
            "a network with name {name} exists but was not created by compose.\nSet `external: true` to use an existing network"
        ),
        (Foreign::Network, Some(_)) => format!(
            "a network with name {name} exists but was not created for project {project:?}.\nSet `external: true` to use an existing network"
        ),
        (Foreign::Volume, None) => format!(
            "volume {name:?} already exists but was not created by Docker Compose. Use `external: true` to use an existing volume"
        ),
        (Foreign::Volume, Some(o)) => format!(
            "volume {name:?} already exists but was created for project {o:?} (expected {project:?}). Use `external: true` to use an existing volume"
        ),
    };
    Some(crate::cli::warn_line(&msg))
}

#[derive(Clone, Copy)]
enum Foreign {
    Network,
    Volume,
}

/// Creates the project's networks that do not exist; checks the external ones. A network
/// whose `com.docker.compose.config-hash` label is not the file's (its configuration
/// changed) is recreated as compose 2.40 does, without asking: the containers of
/// `services` on it are stopped and disconnected, the network removed and created again,
/// and those containers connected to the new one (the convergence then starts them).
/// compose connects them without endpoint settings, so they lose their aliases (the
/// service name no longer resolves there until they are recreated); berth gives them the
/// endpoint a new container would get (`endpoint`).
pub fn ensure_networks(
    api: &Api,
    p: &Project,
    wanted: &BTreeSet<String>,
    services: &BTreeSet<String>,
    progress: &Progress,
) -> OpResult<()> {
    for (key, n) in &p.networks {
        if !wanted.contains(key) {
            continue;
        }
        let existing = api.network(&n.name)?;
        if n.external {
            if existing.is_none() {
                return Err(OpError(format!(
                    "network {} declared as external, but could not be found",
                    n.name
                )));
            }
            continue;
        }
        let mut dangled = Vec::new();
        if let Some(e) = existing {
            if let Some(w) = foreign_warning(
                Foreign::Network,
                &n.name,
                e.labels.get(LABEL_PROJECT),
                &p.name,
            ) {
                progress.note(&w);
            }
            match e.labels.get(LABEL_HASH) {
                Some(h) if !h.is_empty() && *h != crate::hash::network_hash(n) => {
                    dangled = remove_diverged_network(api, p, key, n, services, progress)?;
                    // compose's dry-run client removes nothing, so its next look finds the
                    // network still there: no Creating/Created lines, nothing reconnected.
                    if api.dry_run {
                        continue;
                    }
                }
                _ => continue,
            }
        }
        let id = format!("Network {}", n.name);
        progress.event(&id, "Creating", false);
        let body = network_create_body(p, key, n);
        match api.create_network(&body) {
            Ok(_) => progress.event(&id, "Created", true),
            Err(e) => {
                progress.error(&id, "Error");
                return Err(OpError(format!(
                    "failed to create network {}: {}",
                    n.name,
                    e.message()
                )));
            }
        }
        for c in &dangled {
            if let Some(s) = p.services.get(c.service()) {
                api.connect(&n.name, &c.id, &endpoint(s, key, &c.name(), true))?;
            }
        }
    }
    Ok(())
}

/// compose's removeDivergedNetwork: the containers of the services (among `services`) on
/// network `key` stopped and disconnected, the network removed (a `Removed` line, no
/// `Removing`); those containers, to connect to the new network.
fn remove_diverged_network(
    api: &Api,
    p: &Project,
    key: &str,
    n: &Network,
    services: &BTreeSet<String>,
    progress: &Progress,
) -> OpResult<Vec<Summary>> {
    let on: Vec<String> = services
        .iter()
        .filter(|s| {
            p.services
                .get(*s)
                .is_some_and(|s| s.networks.contains_key(key))
        })
        .cloned()
        .collect();
    // Listed once: what follows the stop needs only their ids, names and services.
    let list = containers_of_services(api, p, &on)?;
    stop_running(api, p, &list, progress)?;
    for c in &list {
        api.disconnect(&n.name, &c.id)?;
    }
    let removed = api.remove_network(&n.name);
    progress.event(&format!("Network {}", n.name), "Removed", true);
    removed?;
    Ok(list)
}

/// Creates the project's named volumes that do not exist; checks the external ones. A
/// volume whose `com.docker.compose.config-hash` label is not the file's is recreated when
/// `confirm` says yes to compose's question (`-y`, or the user's answer; no by default):
/// the containers of `services` mounting it are stopped and removed, the volume removed
/// and created again (its data is lost); the convergence then creates those containers.
pub fn ensure_volumes(
    api: &Api,
    p: &Project,
    wanted: &BTreeSet<String>,
    services: &BTreeSet<String>,
    confirm: &dyn Fn(&str) -> bool,
    progress: &Progress,
) -> OpResult<()> {
    for (key, v) in &p.volumes {
        if !wanted.contains(key) {
            continue;
        }
        let existing = api.volume(&v.name)?;
        if v.external {
            if existing.is_none() {
                return Err(OpError(format!("external volume \"{}\" not found", v.name)));
            }
            continue;
        }
        if let Some(e) = existing {
            let labels = e.labels.unwrap_or_default();
            if let Some(w) =
                foreign_warning(Foreign::Volume, &v.name, labels.get(LABEL_PROJECT), &p.name)
            {
                progress.note(&w);
            }
            let diverged = labels
                .get(LABEL_HASH)
                .is_some_and(|h| *h != crate::hash::volume_hash(v));
            if !diverged
                || !confirm(&format!(
                    "Volume {:?} exists but doesn't match configuration in compose file. Recreate (data will be lost)?",
                    v.name
                ))
            {
                continue;
            }
            remove_diverged_volume(api, p, key, v, services, progress)?;
        }
        let id = format!("Volume {}", v.name);
        progress.event(&id, "Creating", false);
        let body = volume_create_body(p, key, v);
        match api.create_volume(&body) {
            Ok(()) => progress.event(&id, "Created", true),
            Err(e) => {
                progress.error(&id, "Error");
                return Err(OpError(format!(
                    "failed to create volume {}: {}",
                    v.name,
                    e.message()
                )));
            }
        }
    }
    Ok(())
}

/// compose's removeDivergedVolume: the containers of the services (among `services`)
/// mounting volume `key` stopped, then removed (their anonymous volumes are not inherited),
/// then the volume removed, forced, without a progress line.
fn remove_diverged_volume(
    api: &Api,
    p: &Project,
    key: &str,
    v: &Volume,
    services: &BTreeSet<String>,
    progress: &Progress,
) -> OpResult<()> {
    let mounting: Vec<String> = services
        .iter()
        .filter(|s| {
            p.services.get(*s).is_some_and(|s| {
                s.volumes
                    .iter()
                    .any(|m| m.kind == "volume" && m.source == key)
            })
        })
        .cloned()
        .collect();
    // Under --dry-run nothing stops, so the removal below would stop the same containers
    // again: compose's dry run shows one Stopping/Stopped pair.
    if !api.dry_run {
        stop_running(
            api,
            p,
            &containers_of_services(api, p, &mounting)?,
            progress,
        )?;
    }
    let list = containers_of_services(api, p, &mounting)?;
    stop_in_reverse(api, p, &list, None, true, false, progress)?;
    api.remove_volume_forced(&v.name)?;
    Ok(())
}

/// How `up`/`create` converge.
#[derive(Debug, Clone, Default)]
pub struct Converge {
    pub force_recreate: bool,
    pub no_recreate: bool,
    pub no_start: bool,
    pub timeout: Option<i64>,
    /// Replicas per service overriding the model (`--scale`).
    pub scale: BTreeMap<String, i64>,
    /// Services whose dependency conditions are waited for (the ones being started).
    pub wait_deps: bool,
    /// Starts without "Starting"/"Started" lines: a foreground `up`, where docker compose
    /// shows only the creation before attaching.
    pub quiet_start: bool,
    /// The services named on the command line (`None`: all of them). `force_recreate` is
    /// for these; the others (their dependencies) are recreated only when changed, or
    /// always with `always_recreate_deps` (compose's Recreate/RecreateDependencies).
    pub named: Option<BTreeSet<String>>,
    /// `--always-recreate-deps`.
    pub always_recreate_deps: bool,
    /// `-V`/`--renew-anon-volumes`: a recreated container gets new anonymous volumes
    /// instead of the previous container's (compose's Inherit, false).
    pub renew_anon_volumes: bool,
    /// A foreground `up`: the `post_start` hooks run attached and their output is kept
    /// here for the log printer (see [`HookLines`]).
    pub hook_lines: Option<HookLines>,
}

/// The output of the `post_start` hooks of a foreground `up`, line by line, each with its
/// container (id) and the name docker compose shows for it: the container's name without
/// the project, then ` ->` (compose's runHook gives its log listener `svc-1 ->` as the
/// source, and its printer lines up that name with the containers' and gives it the
/// container's colour). Collected while the containers start, before `up` attaches, so the
/// printer shows them first.
pub type HookLines = std::sync::Arc<Mutex<Vec<HookLine>>>;

/// One line of a hook's output (stdout and stderr alike, as compose's single writer).
#[derive(Debug, Clone)]
pub struct HookLine {
    pub container: String,
    pub source: String,
    pub text: String,
}

/// Service name -> image id, resolved before convergence.
pub type Images = BTreeMap<String, String>;

/// Services name -> the containers of that service to start (id, name), numbers ascending.
type ToStart = BTreeMap<String, Vec<(String, String)>>;

/// Runs `f` for each of `names` as soon as the services it depends on (among `names`) are
/// done, independent services concurrently: compose's InDependencyOrder. After a failure
/// nothing new begins; the first failure is returned.
pub fn in_dependency_order<F>(p: &Project, names: &BTreeSet<String>, f: F) -> OpResult<()>
where
    F: Fn(&str) -> OpResult<()> + Sync,
{
    #[derive(Default)]
    struct Shared {
        done: BTreeSet<String>,
        failed: Option<OpError>,
    }
    let shared = Mutex::new(Shared::default());
    let changed = Condvar::new();
    let lock = || shared.lock().unwrap_or_else(|e| e.into_inner());
    std::thread::scope(|scope| {
        for name in names {
            let (f, lock, changed) = (&f, &lock, &changed);
            // Cycles were refused when the model was loaded, so every wait ends.
            let deps: Vec<&String> = p
                .services
                .get(name)
                .map(|s| {
                    s.depends_on
                        .keys()
                        .filter(|d| *d != name && names.contains(*d))
                        .collect()
                })
                .unwrap_or_default();
            scope.spawn(move || {
                let mut g = lock();
                while g.failed.is_none() && !deps.iter().all(|d| g.done.contains(*d)) {
                    g = changed.wait(g).unwrap_or_else(|e| e.into_inner());
                }
                if g.failed.is_some() {
                    return;
                }
                drop(g);
                let r = f(name);
                let mut g = lock();
                match r {
                    Ok(()) => {
                        g.done.insert(name.clone());
                    }
                    Err(e) => {
                        g.failed.get_or_insert(e);
                    }
                }
                changed.notify_all();
            });
        }
    });
    match shared
        .into_inner()
        .unwrap_or_else(|e| e.into_inner())
        .failed
    {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Converges the project's `services` as docker compose's `up` does: first every
/// container is created (or recreated, or kept), service after service in dependency
/// order, the replicas of a service in parallel; then they are started in dependency
/// order, each service once its dependencies' conditions hold.
pub fn converge(
    api: &Api,
    p: &Project,
    services: &BTreeSet<String>,
    images: &Images,
    opts: &Converge,
    progress: &Progress,
) -> OpResult<()> {
    let to_start = Mutex::new(ToStart::new());
    in_dependency_order(p, services, |name| {
        let s = &p.services[name];
        let list = create_service(api, p, s, services, images, opts, progress)?;
        to_start
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string(), list);
        Ok(())
    })?;
    if opts.no_start {
        return Ok(());
    }
    let to_start = to_start.into_inner().unwrap_or_else(|e| e.into_inner());
    in_dependency_order(p, services, |name| {
        let s = &p.services[name];
        if opts.wait_deps {
            wait_dependencies(api, p, s, services, progress)?;
        }
        let list = to_start.get(name).map(Vec::as_slice).unwrap_or_default();
        start_service(api, p, s, list, opts, progress)
    })
}

fn peers(api: &Api, p: &Project) -> OpResult<Peers> {
    let mut first_container = BTreeMap::new();
    let mut first_id = BTreeMap::new();
    for s in p.services.values() {
        first_container.insert(s.name.clone(), container_name(p, s, 1));
    }
    for c in api.project_containers(&p.name, true, false)? {
        let svc = c.service().to_string();
        if !first_id.contains_key(&svc) {
            first_id.insert(svc.clone(), c.id.clone());
            first_container.insert(svc, c.name());
        }
    }
    Ok(Peers {
        first_container,
        first_id,
    })
}

/// Waits for `s`'s dependencies' conditions (started, healthy, completed successfully).
fn wait_dependencies(
    api: &Api,
    p: &Project,
    s: &Service,
    starting: &BTreeSet<String>,
    progress: &Progress,
) -> OpResult<()> {
    for (dep, d) in &s.depends_on {
        if !starting.contains(dep) || d.condition == "service_started" {
            continue;
        }
        let containers: Vec<Summary> = api
            .project_containers(&p.name, true, false)?
            .into_iter()
            .filter(|c| c.service() == dep)
            .collect();
        for c in containers {
            let id = format!("Container {}", c.name());
            progress.event(&id, "Waiting", false);
            if api.dry_run {
                // Nothing was started: the condition is taken as met, as compose shows it.
                let met = if d.condition == "service_healthy" {
                    "Healthy"
                } else {
                    "Exited"
                };
                progress.event(&id, met, true);
                continue;
            }
            loop {
                let i = api.inspect(&c.id)?;
                match d.condition.as_str() {
                    "service_healthy" => match i.state.health.as_ref().map(|h| h.status.as_str()) {
                        Some("healthy") => {
                            progress.event(&id, "Healthy", true);
                            break;
                        }
                        Some("unhealthy") => {
                            progress.error(&id, "Error");
                            return Err(OpError(format!(
                                "dependency failed to start: container {} is unhealthy",
                                c.name()
                            )));
                        }
                        None => {
                            progress.error(&id, "Error");
                            return Err(OpError(format!(
                                "dependency failed to start: container {} has no healthcheck configured",
                                c.name()
                            )));
                        }
                        _ if !i.state.running => {
                            progress.error(&id, "Error");
                            return Err(OpError(format!(
                                "dependency failed to start: container {} exited ({})",
                                c.name(),
                                i.state.exit_code
                            )));
                        }
                        _ => {}
                    },
                    _ => {
                        if !i.state.running && i.state.status != "created" {
                            if i.state.exit_code == 0 {
                                progress.event(&id, "Exited", true);
                                break;
                            }
                            progress.error(&id, "Error");
                            return Err(OpError(format!(
                                "service {dep:?} didn't complete successfully: exit {}",
                                i.state.exit_code
                            )));
                        }
                    }
                }
                // An inspect over the local socket costs ~1 ms: polling every 10 ms starts
                // the dependent service at most 10 ms after the condition holds (docker
                // compose polls every 500 ms).
                std::thread::sleep(Duration::from_millis(10));
            }
        }
    }
    Ok(())
}

/// Creates and connects one container (not started). `replaces`: the value of the
/// `com.docker.compose.replace` label a recreated container carries.
#[allow(clippy::too_many_arguments)]
fn create_container(
    api: &Api,
    p: &Project,
    s: &Service,
    number: i64,
    name: &str,
    image_id: &str,
    peers: &Peers,
    replaces: Option<String>,
    inherit: Option<&str>,
) -> OpResult<String> {
    let image = crate::cli::image_name(&p.name, &s.name, s);
    let mut labels = container_labels(p, s, number, false, image_id);
    if let Some(r) = replaces {
        labels.insert(LABEL_REPLACE.into(), r);
    }
    let final_name = container_name(p, s, number);
    let body = match inherit {
        Some(old) => {
            let (s2, kept) = inherited_volumes(api, s, &image, old)?;
            let mut body = container_body(p, &s2, &image, labels, &final_name, peers, true)?;
            let hc = &mut body.host_config;
            let taken: BTreeSet<String> = hc
                .mounts
                .iter()
                .flatten()
                .map(|m| m.target.clone())
                .chain(
                    hc.binds
                        .iter()
                        .flatten()
                        .filter_map(|b| b.split(':').nth(1).map(str::to_string)),
                )
                .collect();
            let extra: Vec<Mount> = kept
                .into_iter()
                .filter(|m| !taken.contains(&m.target))
                .collect();
            if !extra.is_empty() {
                hc.mounts.get_or_insert_with(Vec::new).extend(extra);
            }
            body
        }
        None => container_body(p, s, &image, labels, &final_name, peers, true)?,
    };
    // The daemon's refusal as compose shows it (its error's text, Go's client prefix).
    let id = api.create(name, &body).map_err(|e| match e.status() {
        Some(_) => OpError(format!("Error response from daemon: {}", e.message())),
        None => e.into(),
    })?;
    if s.network_mode.is_empty() {
        for key in networks_by_priority(s).iter().skip(1) {
            let net = p
                .networks
                .get(key)
                .map(|n| n.name.clone())
                .unwrap_or_else(|| format!("{}_{key}", p.name));
            api.connect(&net, &id, &endpoint(s, key, &final_name, true))?;
        }
    }
    Ok(id)
}

/// compose's inheritance of anonymous volumes on recreate (buildContainerMountOptions
/// with `inherit`): each mount of the old container (but tmpfs) at a path the image
/// declares a VOLUME for, or where the service mounts a volume without a source, is
/// mounted again (by volume name, or bind source) in the replacement; those source-less
/// service volumes are dropped from the service the body is built from.
fn inherited_volumes(
    api: &Api,
    s: &Service,
    image: &str,
    old: &str,
) -> OpResult<(Service, Vec<Mount>)> {
    let old = api.inspect(old)?;
    let image_volumes: BTreeSet<String> = api
        .image(image)?
        .and_then(|i| i.config.volumes)
        .map(|v| v.into_keys().collect())
        .unwrap_or_default();
    let mut s2 = s.clone();
    let mut kept: BTreeMap<String, Mount> = BTreeMap::new();
    for m in old.mounts.iter().filter(|m| m.kind != "tmpfs") {
        let source = if m.kind == "volume" {
            m.name.clone().unwrap_or_default()
        } else {
            m.source.clone()
        };
        let again = Mount {
            kind: m.kind.clone(),
            source,
            target: m.destination.clone(),
            read_only: !m.rw,
            ..Default::default()
        };
        if image_volumes.contains(&m.destination) {
            kept.insert(m.destination.clone(), again.clone());
        }
        let before = s2.volumes.len();
        s2.volumes
            .retain(|v| v.target != m.destination || !v.source.is_empty());
        if s2.volumes.len() != before {
            kept.insert(m.destination.clone(), again);
        }
    }
    Ok((s2, kept.into_values().collect()))
}

/// One piece of a service's create half, run in parallel with the service's others.
enum Job<'a> {
    /// A replica beyond the wanted number: stopped and removed.
    Remove(&'a Summary),
    /// A replica whose configuration or image changed.
    Recreate(&'a Summary),
    /// A missing replica, with its number.
    Create(i64),
}

/// The create half of a service's convergence: replicas beyond the wanted number stopped
/// and removed (the highest numbers), changed ones recreated, missing ones created (the
/// lowest free numbers), all in parallel. Returns the containers the start half starts
/// (id, name), by number.
fn create_service(
    api: &Api,
    p: &Project,
    s: &Service,
    services: &BTreeSet<String>,
    images: &Images,
    opts: &Converge,
    progress: &Progress,
) -> OpResult<Vec<(String, String)>> {
    let want = opts
        .scale
        .get(&s.name)
        .copied()
        .unwrap_or_else(|| s.replicas());
    let image_id = images.get(&s.name).cloned().unwrap_or_default();
    let hash = crate::hash::config_hash(s);
    let mut existing: Vec<Summary> = api
        .project_containers(&p.name, true, false)?
        .into_iter()
        .filter(|c| c.service() == s.name)
        .collect();
    existing.sort_by_key(|c| c.number());
    let keep_n = (want.max(0) as usize).min(existing.len());
    let (keep, extra) = existing.split_at(keep_n);
    let mut jobs: Vec<Job> = extra.iter().rev().map(Job::Remove).collect();
    let mut out: Vec<(i64, String, String)> = Vec::new();
    for c in keep {
        let changed = c.labels.get(LABEL_HASH) != Some(&hash)
            || (!image_id.is_empty() && c.labels.get(LABEL_IMAGE) != Some(&image_id));
        let named = opts.named.as_ref().is_none_or(|n| n.contains(&s.name));
        let force = if named {
            opts.force_recreate
        } else {
            opts.always_recreate_deps
        };
        if !opts.no_recreate && (force || changed) {
            jobs.push(Job::Recreate(c));
        } else if c.running() {
            progress.event(&format!("Container {}", c.name()), "Running", true);
        } else {
            out.push((c.number(), c.id.clone(), c.name()));
        }
    }
    let used: BTreeSet<i64> = keep.iter().map(|c| c.number()).collect();
    let mut missing = want - keep.len() as i64;
    let mut n = 1;
    while missing > 0 {
        if !used.contains(&n) {
            jobs.push(Job::Create(n));
            missing -= 1;
        }
        n += 1;
    }
    if jobs.is_empty() {
        out.sort_by_key(|x| x.0);
        return Ok(out.into_iter().map(|(_, id, name)| (id, name)).collect());
    }
    // compose's ensureService stops the dependents (with `restart: true`) once per
    // container it recreates, before that recreation; the start half starts them again.
    for job in &jobs {
        if matches!(job, Job::Recreate(_)) {
            stop_dependents(api, p, s, services, progress)?;
        }
    }
    let peers = peers(api, p)?;
    let (peers, image_id) = (&peers, image_id.as_str());
    let results: Vec<OpResult<Option<(i64, String, String)>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = jobs
            .iter()
            .map(|job| {
                scope.spawn(move || match job {
                    Job::Remove(c) => {
                        let id = format!("Container {}", c.name());
                        progress.event(&id, "Stopping", false);
                        stop_container(api, p, c, opts.timeout)?;
                        progress.event(&id, "Stopped", true);
                        progress.event(&id, "Removing", false);
                        api.remove(&c.id, true, false)?;
                        progress.event(&id, "Removed", true);
                        Ok(None)
                    }
                    Job::Recreate(c) => {
                        // As compose's recreateContainer: the replacement is created under
                        // `<old id12>_<new name>` with the replace label (the container
                        // name, or `<service>-<n>`), the old one stopped and removed, the
                        // replacement renamed to the name the model gives now.
                        let id = format!("Container {}", c.name());
                        progress.event(&id, "Recreate", false);
                        let n = c.number();
                        let name = container_name(p, s, n);
                        let tmp = format!("{}_{name}", &c.id[..12.min(c.id.len())]);
                        let replaces = if s.container_name.is_empty() {
                            format!("{}-{n}", s.name)
                        } else {
                            s.container_name.clone()
                        };
                        let inherit = (!opts.renew_anon_volumes).then_some(c.id.as_str());
                        let new_id = create_container(
                            api,
                            p,
                            s,
                            n,
                            &tmp,
                            image_id,
                            peers,
                            Some(replaces),
                            inherit,
                        )?;
                        api.stop(&c.id, opts.timeout)?;
                        api.remove(&c.id, true, false)?;
                        api.rename(&new_id, &name)?;
                        progress.event(&id, "Recreated", true);
                        Ok(Some((n, new_id, name)))
                    }
                    Job::Create(n) => {
                        let name = container_name(p, s, *n);
                        let id = format!("Container {name}");
                        progress.event(&id, "Creating", false);
                        match create_container(api, p, s, *n, &name, image_id, peers, None, None) {
                            Ok(cid) => {
                                progress.event(&id, "Created", true);
                                Ok(Some((*n, cid, name)))
                            }
                            Err(e) => {
                                // compose's createContainer: the error's text on the line.
                                progress.error(&id, &e.0);
                                Err(e)
                            }
                        }
                    }
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(OpError("internal error".into())))
            })
            .collect()
    });
    for r in results {
        if let Some(x) = r? {
            out.push(x);
        }
    }
    out.sort_by_key(|x| x.0);
    Ok(out.into_iter().map(|(_, id, name)| (id, name)).collect())
}

/// compose's stopDependentContainers: the containers of the services among `services`
/// that depend on `s` with `restart: true` are stopped (every one, running or not, with
/// its Stopping/Stopped lines), in reverse dependency order, before `s` is recreated.
fn stop_dependents(
    api: &Api,
    p: &Project,
    s: &Service,
    services: &BTreeSet<String>,
    progress: &Progress,
) -> OpResult<()> {
    let dependents: BTreeSet<String> = p
        .services
        .values()
        .filter(|d| services.contains(&d.name))
        .filter(|d| d.depends_on.get(&s.name).is_some_and(|dep| dep.restart))
        .map(|d| d.name.clone())
        .collect();
    if dependents.is_empty() {
        return Ok(());
    }
    let containers: Vec<Summary> = api
        .project_containers(&p.name, true, false)?
        .into_iter()
        .filter(|c| dependents.contains(c.service()))
        .collect();
    let mut waves = graph::waves(p, &dependents);
    waves.reverse();
    for wave in waves {
        let results: Vec<OpResult<()>> = std::thread::scope(|scope| {
            let hs: Vec<_> = containers
                .iter()
                .filter(|c| wave.iter().any(|w| w == c.service()))
                .map(|c| {
                    scope.spawn(move || -> OpResult<()> {
                        let id = format!("Container {}", c.name());
                        progress.event(&id, "Stopping", false);
                        if let Err(e) = api.stop(&c.id, None) {
                            progress.error(&id, "Error while Stopping");
                            return Err(e.into());
                        }
                        progress.event(&id, "Stopped", true);
                        Ok(())
                    })
                })
                .collect();
            hs.into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(OpError("internal error".into())))
                })
                .collect()
        });
        for r in results {
            r?;
        }
    }
    Ok(())
}

/// Sorts `items` (each with a container id) in the daemon's list order, newest first, as
/// compose walks a service's containers to start or restart them. Ids the daemon does not
/// list (a dry run's) keep their place at the front.
pub fn sort_newest_first<T>(
    api: &Api,
    project: &str,
    items: &mut [T],
    id: impl Fn(&T) -> &str,
) -> OpResult<()> {
    if items.len() < 2 {
        return Ok(());
    }
    let order = api.newest_first(project)?;
    items.sort_by_key(|x| order.iter().position(|o| o == id(x)));
    Ok(())
}

/// The start half of a service's convergence: its containers started one after the other,
/// as compose's startService does, in the daemon's list order (the newest container first:
/// for replicas created or recreated in parallel, whichever creation finished last).
fn start_service(
    api: &Api,
    p: &Project,
    s: &Service,
    list: &[(String, String)],
    opts: &Converge,
    progress: &Progress,
) -> OpResult<()> {
    let mut list = list.to_vec();
    sort_newest_first(api, &p.name, &mut list, |(id, _)| id.as_str())?;
    for (cid, name) in &list {
        let id = format!("Container {name}");
        if !opts.quiet_start {
            progress.event(&id, "Starting", false);
        }
        if let Err(e) = crate::files::inject(api, p, s, cid) {
            progress.error(&id, "Error");
            return Err(e);
        }
        if let Err(e) = api.start(cid) {
            // No "Error" line: compose returns the daemon's error after "Starting".
            return Err(OpError(format!(
                "Error response from daemon: {}",
                e.message()
            )));
        }
        // compose's startService runs the post_start hooks before "Started".
        let out = opts.hook_lines.as_ref().map(|l| {
            let shown = name
                .strip_prefix(&format!("{}-", p.name))
                .unwrap_or(name.as_str());
            (format!("{shown} ->"), l)
        });
        let out = out.as_ref().map(|(src, l)| (src.as_str(), *l));
        run_hooks_shown(api, s, cid, &s.post_start, out)?;
        if !opts.quiet_start {
            progress.event(&id, "Started", true);
        }
    }
    Ok(())
}

/// Runs `hooks` (a service's `post_start` or `pre_stop`) in container `cid` one after the
/// other, each an exec with the hook's user, privileged, working_dir and environment, as
/// compose's runHook; a hook ending with a non-zero status fails the operation with
/// compose's message. The hooks' output is not shown: compose shows it only in a
/// foreground `up` ([`run_hooks_shown`]).
pub fn run_hooks(
    api: &Api,
    s: &Service,
    cid: &str,
    hooks: &[crate::model::Hook],
) -> std::result::Result<(), HookError> {
    run_hooks_shown(api, s, cid, hooks, None)
}

/// [`run_hooks`], with `out` (the name shown and where the lines go) each hook run
/// attached and its output kept, as compose's runHook does when it has a log listener.
/// The stream is demultiplexed unless the exec has a terminal (never: compose creates
/// the exec without one). compose 2.40 copies it raw when the *service* has `tty: true`,
/// which prints the stream's 8-byte frame headers into the lines; berth does not copy
/// that defect.
pub fn run_hooks_shown(
    api: &Api,
    s: &Service,
    cid: &str,
    hooks: &[crate::model::Hook],
    out: Option<(&str, &HookLines)>,
) -> std::result::Result<(), HookError> {
    for h in hooks {
        if api.dry_run {
            continue;
        }
        let o = ExecOpts {
            user: h.user.clone(),
            privileged: h.privileged,
            working_dir: h.working_dir.clone(),
            env: h
                .environment
                .iter()
                .map(|(k, v)| match v {
                    Some(v) => format!("{k}={v}"),
                    None => k.clone(),
                })
                .collect(),
        };
        let code = match out {
            Some((source, lines)) => exec_attached(api, cid, &h.command, &o, &mut |text| {
                if let Ok(mut l) = lines.lock() {
                    l.push(HookLine {
                        container: cid.to_string(),
                        source: source.to_string(),
                        text,
                    });
                }
            })
            .map_err(HookError::Api)?,
            None => api.exec_wait(cid, &h.command, &o).map_err(HookError::Api)?,
        };
        if code != 0 {
            return Err(HookError::Status(format!(
                "{} hook exited with status {code}",
                s.name
            )));
        }
    }
    Ok(())
}

/// Runs `cmd` in container `id` with its stdout and stderr attached (no terminal), each
/// complete line given to `line`; its exit code once the exec ended.
fn exec_attached(
    api: &Api,
    id: &str,
    cmd: &[String],
    o: &ExecOpts,
    line: &mut dyn FnMut(String),
) -> berth_cli::client::Result<i64> {
    use std::io::Read;
    let body = berth_api::models::ExecCreateBody {
        user: o.user.clone(),
        privileged: o.privileged,
        env: o.env.clone(),
        working_dir: o.working_dir.clone(),
        cmd: cmd.to_vec(),
        attach_stdout: true,
        attach_stderr: true,
        ..Default::default()
    };
    let created = api.client.post_json(
        &format!("/containers/{}/exec", berth_cli::client::q(id)),
        berth_cli::client::Body::typed(&body)?,
    )?;
    let exec = created
        .get("Id")
        .and_then(|v| v.as_str())
        .unwrap_or_default()
        .to_string();
    let (sock, leftover) = api.client.hijack_json(
        &format!("/exec/{}/start", berth_cli::client::q(&exec)),
        &serde_json::json!({ "Detach": false, "Tty": false }),
    )?;
    let mut r = std::io::Cursor::new(leftover).chain(sock);
    // One pending partial line per stream (stdout, stderr), as the log printer keeps them.
    let mut pending: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
    loop {
        let mut h = [0u8; 8];
        if r.read_exact(&mut h).is_err() {
            break;
        }
        let len = u32::from_be_bytes([h[4], h[5], h[6], h[7]]) as usize;
        let mut data = vec![0u8; len];
        if r.read_exact(&mut data).is_err() {
            break;
        }
        let buf = &mut pending[usize::from(h[0] == 2)];
        buf.extend_from_slice(&data);
        while let Some(i) = buf.iter().position(|b| *b == b'\n') {
            let l: Vec<u8> = buf.drain(..=i).collect();
            let text = String::from_utf8_lossy(&l[..l.len() - 1]);
            line(text.trim_end_matches('\r').to_string());
        }
    }
    for rest in pending.iter().filter(|b| !b.is_empty()) {
        line(String::from_utf8_lossy(rest).into_owned());
    }
    // The exit code is known once the runtime reported the end, shortly after the output.
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let v = api
            .client
            .get_json(&format!("/exec/{}/json", berth_cli::client::q(&exec)))?;
        if v.get("Running").and_then(|r| r.as_bool()) != Some(true) {
            return Ok(v.get("ExitCode").and_then(|c| c.as_i64()).unwrap_or(0));
        }
        if std::time::Instant::now() > deadline {
            return Err(berth_cli::client::ClientError::Protocol(format!(
                "exec {cmd:?} in {id} still running after its output ended"
            )));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Why a hook failed: the exec could not run (the daemon's answer), or it ran and
/// exited non-zero.
#[derive(Debug)]
pub enum HookError {
    Api(berth_cli::client::ClientError),
    Status(String),
}

impl From<HookError> for OpError {
    fn from(e: HookError) -> OpError {
        match e {
            HookError::Api(e) => e.into(),
            HookError::Status(m) => OpError(m),
        }
    }
}

/// Stops one container as compose's stopContainer: the service's `pre_stop` hooks first
/// (a container already stopped or gone, which the exec answers with 404/409, is left as
/// it is), then the stop.
pub fn stop_container(api: &Api, p: &Project, c: &Summary, timeout: Option<i64>) -> OpResult<()> {
    if let Some(s) = p.services.get(c.service()) {
        match run_hooks(api, s, &c.id, &s.pre_stop) {
            Ok(()) => {}
            Err(HookError::Api(e)) if matches!(e.status(), Some(404 | 409)) => return Ok(()),
            Err(e) => return Err(e.into()),
        }
    }
    api.stop(&c.id, timeout)?;
    Ok(())
}

/// Stops (and removes when `remove`) containers in reverse dependency order.
pub fn stop_in_reverse(
    api: &Api,
    p: &Project,
    containers: &[Summary],
    timeout: Option<i64>,
    remove: bool,
    volumes: bool,
    progress: &Progress,
) -> OpResult<()> {
    let names: BTreeSet<String> = containers.iter().map(|c| c.service().to_string()).collect();
    let known: BTreeSet<String> = names
        .iter()
        .filter(|n| p.services.contains_key(*n))
        .cloned()
        .collect();
    let mut waves = graph::waves(p, &known);
    waves.reverse();
    // Containers of services the model does not know (orphans, one-offs) go first.
    let unknown: Vec<String> = names.difference(&known).cloned().collect();
    if !unknown.is_empty() {
        waves.insert(0, unknown);
    }
    for wave in waves {
        let batch: Vec<&Summary> = containers
            .iter()
            .filter(|c| wave.iter().any(|w| w == c.service()))
            .collect();
        let results: Vec<OpResult<()>> = std::thread::scope(|scope| {
            let hs: Vec<_> = batch
                .iter()
                .map(|c| {
                    scope.spawn(move || -> OpResult<()> {
                        let id = format!("Container {}", c.name());
                        if c.running() {
                            progress.event(&id, "Stopping", false);
                            stop_container(api, p, c, timeout)?;
                            progress.event(&id, "Stopped", true);
                        }
                        if remove {
                            progress.event(&id, "Removing", false);
                            api.remove(&c.id, true, volumes)?;
                            progress.event(&id, "Removed", true);
                        }
                        Ok(())
                    })
                })
                .collect();
            hs.into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(OpError("internal error".into())))
                })
                .collect()
        });
        for r in results {
            r?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::IpamPool;
    use serde_json::{json, Value};

    /// The network create body as compose built it before the typed model (json!).
    fn network_before(p: &Project, key: &str, n: &Network) -> Value {
        let mut labels = n.labels.clone();
        labels.insert(LABEL_PROJECT.into(), p.name.clone());
        labels.insert(LABEL_NETWORK.into(), key.to_string());
        labels.insert(LABEL_VERSION.into(), COMPOSE_VERSION.into());
        labels.insert(LABEL_HASH.into(), crate::hash::network_hash(n));
        let mut body = json!({
            "Name": n.name,
            "Driver": if n.driver.is_empty() { "bridge" } else { n.driver.as_str() },
            "Options": n.driver_opts,
            "Internal": n.internal,
            "Attachable": n.attachable,
            "Labels": labels,
            "CheckDuplicate": true,
        });
        if let Some(v6) = n.enable_ipv6 {
            body["EnableIPv6"] = json!(v6);
        }
        if !n.ipam.is_empty() {
            body["IPAM"] = json!({
                "Driver": if n.ipam.driver.is_empty() { "default" } else { n.ipam.driver.as_str() },
                "Config": n.ipam.config.iter().map(|c| {
                    let mut o = serde_json::Map::new();
                    if !c.subnet.is_empty() { o.insert("Subnet".into(), json!(c.subnet)); }
                    if !c.gateway.is_empty() { o.insert("Gateway".into(), json!(c.gateway)); }
                    if !c.ip_range.is_empty() { o.insert("IPRange".into(), json!(c.ip_range)); }
                    if !c.aux_addresses.is_empty() { o.insert("AuxiliaryAddresses".into(), json!(c.aux_addresses)); }
                    Value::Object(o)
                }).collect::<Vec<_>>(),
            });
        }
        body
    }

    #[test]
    fn systempaths_unconfined_becomes_empty_path_lists() {
        let p = Project {
            name: "proj".into(),
            ..Default::default()
        };
        let peers = Peers {
            first_container: BTreeMap::new(),
            first_id: BTreeMap::new(),
        };
        let mut s = Service {
            name: "web".into(),
            security_opt: vec!["systempaths=unconfined".into()],
            ..Default::default()
        };
        let b =
            container_body(&p, &s, "busybox", BTreeMap::new(), "c", &peers, true).expect("body");
        assert_eq!(b.host_config.security_opt, None);
        assert_eq!(b.host_config.masked_paths, Some(Vec::new()));
        assert_eq!(b.host_config.readonly_paths, Some(Vec::new()));
        s.security_opt.push("no-new-privileges".into());
        let b =
            container_body(&p, &s, "busybox", BTreeMap::new(), "c", &peers, true).expect("body");
        assert_eq!(
            b.host_config.security_opt,
            Some(vec!["no-new-privileges".to_string()])
        );
        s.security_opt = vec!["label=disable".into()];
        let b =
            container_body(&p, &s, "busybox", BTreeMap::new(), "c", &peers, true).expect("body");
        assert_eq!(b.host_config.masked_paths, None);
    }

    #[test]
    fn typed_volume_body_sends_the_same_bytes() {
        let p = Project {
            name: "proj".into(),
            ..Default::default()
        };
        let mut v = Volume {
            name: "proj_data".into(),
            ..Default::default()
        };
        for driver in ["", "local"] {
            v.driver = driver.into();
            let mut labels = v.labels.clone();
            labels.insert(LABEL_PROJECT.into(), p.name.clone());
            labels.insert(LABEL_VOLUME.into(), "data".to_string());
            labels.insert(LABEL_VERSION.into(), COMPOSE_VERSION.into());
            labels.insert(LABEL_HASH.into(), crate::hash::volume_hash(&v));
            let old = json!({
                "Name": v.name,
                "Driver": if v.driver.is_empty() { "local" } else { v.driver.as_str() },
                "DriverOpts": v.driver_opts,
                "Labels": labels,
            });
            let typed = serde_json::to_value(volume_create_body(&p, "data", &v)).unwrap();
            assert_eq!(
                serde_json::to_string(&typed).unwrap(),
                serde_json::to_string(&old).unwrap()
            );
            v.driver_opts.insert("type".into(), "tmpfs".into());
            v.labels.insert("x".into(), "y".into());
        }
    }

    /// Same keys and values as before; the key order is now the model's (moby's struct
    /// order, Name first), not the order the json! literal happened to have.
    #[test]
    fn typed_network_body_sends_the_same_values() {
        let p = Project {
            name: "proj".into(),
            ..Default::default()
        };
        let plain = Network {
            name: "proj_default".into(),
            ..Default::default()
        };
        let mut full = Network {
            name: "proj_back".into(),
            driver: "bridge".into(),
            internal: true,
            attachable: true,
            enable_ipv6: Some(false),
            ..Default::default()
        };
        full.driver_opts
            .insert("com.docker.network.driver.mtu".into(), "1400".into());
        full.labels.insert("x".into(), "y".into());
        full.ipam.config.push(IpamPool {
            subnet: "10.5.0.0/16".into(),
            gateway: "10.5.0.1".into(),
            ..Default::default()
        });
        let mut pool = IpamPool {
            subnet: "fd00:5::/64".into(),
            ip_range: "fd00:5::/80".into(),
            ..Default::default()
        };
        pool.aux_addresses.insert("h".into(), "fd00:5::9".into());
        full.ipam.config.push(pool);
        let mut ipv6_only = plain.clone();
        ipv6_only.enable_ipv6 = Some(true);
        ipv6_only.ipam.driver = "default".into();
        for n in [&plain, &full, &ipv6_only] {
            let typed = serde_json::to_value(network_create_body(&p, "k", n)).unwrap();
            assert_eq!(typed, network_before(&p, "k", n), "{}", n.name);
        }
    }

    /// Sysctls (once in the body's unknown-field map) and devices (once json! values) reach
    /// the daemon as the same HostConfig: the daemon reads both bodies to the same value.
    #[test]
    fn typed_sysctls_and_devices_read_as_before() {
        let p = Project {
            name: "proj".into(),
            ..Default::default()
        };
        let mut s = Service {
            name: "web".into(),
            ..Default::default()
        };
        s.sysctls.insert("net.core.somaxconn".into(), "1024".into());
        s.sysctls.insert("kernel.msgmax".into(), "65536".into());
        s.devices.push(crate::model::Device {
            source: "/dev/null".into(),
            target: "/dev/n".into(),
            permissions: "rw".into(),
            ..Default::default()
        });
        let b = container_body(
            &p,
            &s,
            "busybox",
            BTreeMap::new(),
            "proj-web-1",
            &Peers {
                first_container: BTreeMap::new(),
                first_id: BTreeMap::new(),
            },
            false,
        )
        .unwrap();
        // The body as compose sent it before the typed fields.
        let mut old = b.clone();
        old.host_config.sysctls = None;
        old.host_config
            .extra
            .insert("Sysctls".into(), json!(s.sysctls));
        let mut old = serde_json::to_value(&old).unwrap();
        old["HostConfig"]["Devices"] = s
            .devices
            .iter()
            .map(|d| json!({"PathOnHost": d.source, "PathInContainer": d.target, "CgroupPermissions": d.permissions}))
            .collect();
        let read = |v: Value| {
            let b: ContainerCreateBody = serde_json::from_value(v).unwrap();
            (serde_json::to_string(&b).unwrap(), b)
        };
        let (new_text, new) = read(serde_json::to_value(&b).unwrap());
        let (old_text, _) = read(old);
        assert_eq!(new_text, old_text);
        assert_eq!(new.host_config.sysctls.as_ref(), Some(&s.sysctls));
        assert_eq!(new.host_config.devices[0].path_in_container, "/dev/n");
        assert!(new.host_config.extra.is_empty());
    }

    #[test]
    fn device_cgroup_rules_and_annotations_reach_the_host_config() {
        let p = Project {
            name: "proj".into(),
            ..Default::default()
        };
        let mut s = Service {
            name: "web".into(),
            ..Default::default()
        };
        let peers = Peers {
            first_container: BTreeMap::new(),
            first_id: BTreeMap::new(),
        };
        let body = |s: &Service| {
            container_body(
                &p,
                s,
                "busybox",
                BTreeMap::new(),
                "proj-web-1",
                &peers,
                false,
            )
            .unwrap()
        };
        // None given: left out of the body, as docker compose leaves it.
        let none = serde_json::to_value(body(&s)).unwrap();
        assert!(none["HostConfig"].get("DeviceCgroupRules").is_none());
        assert!(none["HostConfig"].get("Annotations").is_none());
        s.device_cgroup_rules = vec!["c 1:3 rwm".into(), "b 7:* rmw".into()];
        s.annotations.insert("com.example.a".into(), "b".into());
        let v = serde_json::to_value(body(&s)).unwrap();
        assert_eq!(
            v["HostConfig"]["DeviceCgroupRules"],
            json!(["c 1:3 rwm", "b 7:* rmw"])
        );
        assert_eq!(
            v["HostConfig"]["Annotations"],
            json!({"com.example.a": "b"})
        );
    }
}
