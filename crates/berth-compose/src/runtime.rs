//! The planner: from a service to its container create body (compose's labels, networks,
//! mounts, ports ...), and the convergence docker compose performs: networks and volumes
//! first, then services in dependency waves (each wave in parallel), each service scaled
//! to its replicas keeping the lowest numbers, recreated when its config hash changed,
//! started otherwise; `down` undoes it in reverse order.

use crate::api::*;
use crate::graph;
use crate::model::{Project, Service, ServiceVolume};
use crate::progress::Progress;
use berth_api::models::{ContainerCreateBody, LogConfig, RestartPolicy, Ulimit};
use serde_json::{json, Value};
use std::collections::{BTreeMap, BTreeSet};
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
pub fn check_supported(s: &Service) -> OpResult<()> {
    let unsupported: &[(&str, bool)] = &[
        ("blkio_config", s.blkio_config.is_some()),
        ("credential_spec", s.credential_spec.is_some()),
        ("gpus", s.gpus.is_some()),
        ("models", s.models.is_some()),
        ("provider", s.provider.is_some()),
        ("storage_opt", s.storage_opt.is_some()),
        ("post_start", s.post_start.is_some()),
        ("pre_stop", s.pre_stop.is_some()),
        ("use_api_socket", s.use_api_socket),
        ("cpu_count", s.cpu_count != 0),
        ("cpu_percent", s.cpu_percent.is_some()),
        ("isolation", !s.isolation.is_empty()),
        ("volume_driver", !s.volume_driver.is_empty()),
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
    c.env = s
        .environment
        .iter()
        .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
        .collect();
    c.labels = labels;
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
    let mut exposed: BTreeMap<String, Value> = BTreeMap::new();
    for port in &s.ports {
        exposed.insert(format!("{}/{}", port.target, port.protocol), json!({}));
    }
    for e in &s.expose {
        let k = if e.contains('/') {
            e.clone()
        } else {
            format!("{e}/tcp")
        };
        exposed.insert(k, json!({}));
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
        c.healthcheck = Some(json!({
            "Test": test,
            "Interval": ns(h.interval),
            "Timeout": ns(h.timeout),
            "Retries": h.retries.unwrap_or(0),
            "StartPeriod": ns(h.start_period),
            "StartInterval": ns(h.start_interval),
        }));
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
        if !mounts.iter().any(|v| v["Target"] == m["Target"]) {
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
        let e = hc.port_bindings.entry(key).or_insert_with(|| json!([]));
        if let Value::Array(a) = e {
            a.push(json!({"HostIp": port.host_ip, "HostPort": port.published}));
        }
    }
    hc.restart_policy = restart_policy(s);
    hc.privileged = s.privileged;
    hc.readonly_rootfs = s.read_only;
    if !s.cap_add.is_empty() {
        hc.cap_add = Some(s.cap_add.clone());
    }
    if !s.cap_drop.is_empty() {
        hc.cap_drop = Some(s.cap_drop.clone());
    }
    if !s.security_opt.is_empty() {
        hc.security_opt = Some(s.security_opt.clone());
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
        hc.extra.insert("Sysctls".into(), json!(s.sysctls));
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
        .map(|d| json!({"PathOnHost": d.source, "PathInContainer": d.target, "CgroupPermissions": d.permissions}))
        .collect();
    hc.dns = s.dns.clone();
    hc.dns_search = s.dns_search.clone();
    hc.dns_options = s.dns_opt.clone();
    if !s.extra_hosts.is_empty() {
        hc.extra_hosts = Some(
            s.extra_hosts
                .iter()
                .map(|h| match h.split_once('=') {
                    Some((n, ip)) => format!("{n}:{ip}"),
                    None => h.clone(),
                })
                .collect(),
        );
    }
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
        b.networking_config = Some(json!({"EndpointsConfig": {net: ep}}));
    }
    Ok(b)
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
pub fn endpoint(s: &Service, key: &str, container: &str, use_aliases: bool) -> Value {
    let cfg = s.networks.get(key).cloned().flatten();
    let mut aliases = vec![container.to_string()];
    if use_aliases {
        aliases.push(s.name.clone());
        if let Some(c) = &cfg {
            aliases.extend(c.aliases.iter().cloned());
        }
    }
    let mut ep = json!({"Aliases": aliases});
    if let Some(c) = cfg {
        let mut ipam = serde_json::Map::new();
        if !c.ipv4_address.is_empty() {
            ipam.insert("IPv4Address".into(), json!(c.ipv4_address));
        }
        if !c.ipv6_address.is_empty() {
            ipam.insert("IPv6Address".into(), json!(c.ipv6_address));
        }
        if !ipam.is_empty() {
            ep["IPAMConfig"] = Value::Object(ipam);
        }
        if !c.mac_address.is_empty() {
            ep["MacAddress"] = json!(c.mac_address);
        }
        if !c.driver_opts.is_empty() {
            ep["DriverOpts"] = json!(c.driver_opts);
        }
        if c.gw_priority != 0 {
            ep["GwPriority"] = json!(c.gw_priority);
        }
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

fn mount(
    p: &Project,
    v: &ServiceVolume,
    binds: &mut Vec<String>,
    mounts: &mut Vec<Value>,
) -> OpResult<()> {
    match v.kind.as_str() {
        "bind" => {
            if v.bind.as_ref().is_some_and(|b| b.create_host_path) {
                let mut opts = Vec::new();
                if v.read_only {
                    opts.push("ro".to_string());
                }
                if let Some(b) = &v.bind {
                    if !b.selinux.is_empty() {
                        opts.push(b.selinux.clone());
                    }
                    if !b.propagation.is_empty() {
                        opts.push(b.propagation.clone());
                    }
                }
                binds.push(if opts.is_empty() {
                    format!("{}:{}", v.source, v.target)
                } else {
                    format!("{}:{}:{}", v.source, v.target, opts.join(","))
                });
            } else {
                let mut m = json!({"Type": "bind", "Source": v.source, "Target": v.target, "ReadOnly": v.read_only});
                if let Some(pr) = v
                    .bind
                    .as_ref()
                    .map(|b| b.propagation.clone())
                    .filter(|x| !x.is_empty())
                {
                    m["BindOptions"] = json!({"Propagation": pr});
                }
                mounts.push(m);
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
            let mut m = json!({"Type": "volume", "Target": v.target, "ReadOnly": v.read_only});
            if !source.is_empty() {
                m["Source"] = json!(source);
            }
            if let Some(vv) = &v.volume {
                let mut o = serde_json::Map::new();
                if vv.nocopy {
                    o.insert("NoCopy".into(), json!(true));
                }
                if !vv.subpath.is_empty() {
                    o.insert("Subpath".into(), json!(vv.subpath));
                }
                if !vv.labels.is_empty() {
                    o.insert("Labels".into(), json!(vv.labels));
                }
                if !o.is_empty() {
                    m["VolumeOptions"] = Value::Object(o);
                }
            }
            mounts.push(m);
        }
        "tmpfs" => {
            let mut m = json!({"Type": "tmpfs", "Target": v.target});
            if let Some(t) = &v.tmpfs {
                let mut o = serde_json::Map::new();
                if let Some(sz) = t.size {
                    o.insert("SizeBytes".into(), json!(sz.0));
                }
                if t.mode != 0 {
                    o.insert("Mode".into(), json!(t.mode));
                }
                if !o.is_empty() {
                    m["TmpfsOptions"] = Value::Object(o);
                }
            }
            mounts.push(m);
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

/// Creates the project's networks that do not exist; checks the external ones.
pub fn ensure_networks(
    api: &Api,
    p: &Project,
    wanted: &BTreeSet<String>,
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
        if let Some(e) = existing {
            if e.labels.get(LABEL_PROJECT).is_none_or(|pr| pr != &p.name) {
                progress.note(&format!(
                    "WARN[0000] a network with name {} exists but was not created for project {:?}.\nSet `external: true` to use an existing network",
                    n.name, p.name
                ));
            }
            continue;
        }
        let id = format!("Network {}", n.name);
        progress.event(&id, "Creating", false);
        let mut labels = n.labels.clone();
        labels.insert(LABEL_PROJECT.into(), p.name.clone());
        labels.insert(LABEL_NETWORK.into(), key.clone());
        labels.insert(LABEL_VERSION.into(), COMPOSE_VERSION.into());
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
    }
    Ok(())
}

/// Creates the project's named volumes that do not exist; checks the external ones.
pub fn ensure_volumes(
    api: &Api,
    p: &Project,
    wanted: &BTreeSet<String>,
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
            let owned = e
                .labels
                .as_ref()
                .and_then(|l| l.get(LABEL_PROJECT))
                .is_some_and(|pr| pr == &p.name);
            if !owned {
                progress.note(&format!(
                    "WARN[0000] volume \"{}\" already exists but was not created by Docker Compose. Use `external: true` to use an existing volume",
                    v.name
                ));
            }
            continue;
        }
        let id = format!("Volume {}", v.name);
        progress.event(&id, "Creating", false);
        let mut labels = v.labels.clone();
        labels.insert(LABEL_PROJECT.into(), p.name.clone());
        labels.insert(LABEL_VOLUME.into(), key.clone());
        labels.insert(LABEL_VERSION.into(), COMPOSE_VERSION.into());
        let body = json!({
            "Name": v.name,
            "Driver": if v.driver.is_empty() { "local" } else { v.driver.as_str() },
            "DriverOpts": v.driver_opts,
            "Labels": labels,
        });
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
}

/// Service name -> image id, resolved before convergence.
pub type Images = BTreeMap<String, String>;

/// Converges the project's `services` (dependencies first, each wave in parallel).
pub fn converge(
    api: &Api,
    p: &Project,
    services: &BTreeSet<String>,
    images: &Images,
    opts: &Converge,
    progress: &Progress,
) -> OpResult<()> {
    for wave in graph::waves(p, services) {
        let results: Vec<OpResult<()>> = std::thread::scope(|scope| {
            let handles: Vec<_> = wave
                .iter()
                .map(|name| {
                    scope.spawn(move || {
                        let s = &p.services[name];
                        if opts.wait_deps && !opts.no_start {
                            wait_dependencies(api, p, s, services, progress)?;
                        }
                        converge_service(api, p, s, images, opts, progress)
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
            r?;
        }
    }
    Ok(())
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
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
    Ok(())
}

/// Creates and connects one container (not started).
fn create_container(
    api: &Api,
    p: &Project,
    s: &Service,
    number: i64,
    name: &str,
    image_id: &str,
    peers: &Peers,
) -> OpResult<String> {
    let image = crate::cli::image_name(&p.name, &s.name, s);
    let labels = container_labels(p, s, number, false, image_id);
    let final_name = container_name(p, s, number);
    let body = container_body(p, s, &image, labels, &final_name, peers, true)?;
    let id = api.create(name, &body)?;
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

fn converge_service(
    api: &Api,
    p: &Project,
    s: &Service,
    images: &Images,
    opts: &Converge,
    progress: &Progress,
) -> OpResult<()> {
    let want = opts
        .scale
        .get(&s.name)
        .copied()
        .unwrap_or_else(|| s.replicas());
    let image_id = images.get(&s.name).cloned().unwrap_or_default();
    let hash = crate::hash::config_hash(s);
    let existing: Vec<Summary> = api
        .project_containers(&p.name, true, false)?
        .into_iter()
        .filter(|c| c.service() == s.name)
        .collect();
    // Scale down: the highest numbers go.
    let mut keep = Vec::new();
    let mut extra = Vec::new();
    let mut sorted = existing.clone();
    sorted.sort_by_key(|c| c.number());
    for (i, c) in sorted.into_iter().enumerate() {
        if (i as i64) < want {
            keep.push(c);
        } else {
            extra.push(c);
        }
    }
    for c in extra.iter().rev() {
        let id = format!("Container {}", c.name());
        progress.event(&id, "Stopping", false);
        api.stop(&c.id, opts.timeout)?;
        progress.event(&id, "Stopped", true);
        progress.event(&id, "Removing", false);
        api.remove(&c.id, true, false)?;
        progress.event(&id, "Removed", true);
    }
    let peers = peers(api, p)?;
    let mut to_start: Vec<(String, String)> = Vec::new();
    for c in &keep {
        let name = c.name();
        let id = format!("Container {name}");
        let changed = c.labels.get(LABEL_HASH) != Some(&hash)
            || (!image_id.is_empty() && c.labels.get(LABEL_IMAGE) != Some(&image_id));
        if opts.force_recreate || (changed && !opts.no_recreate) {
            progress.event(&id, "Recreate", false);
            let tmp = format!("{}_{name}", &c.id[..12.min(c.id.len())]);
            let new_id = create_container(api, p, s, c.number(), &tmp, &image_id, &peers)?;
            api.stop(&c.id, opts.timeout)?;
            api.remove(&c.id, true, false)?;
            api.rename(&new_id, &name)?;
            progress.event(&id, "Recreated", true);
            to_start.push((new_id, name));
        } else if !c.running() {
            to_start.push((c.id.clone(), name));
        } else {
            progress.event(&id, "Running", true);
        }
    }
    let used: BTreeSet<i64> = keep.iter().map(|c| c.number()).collect();
    let mut n = 1;
    let mut missing = want - keep.len() as i64;
    while missing > 0 {
        if !used.contains(&n) {
            let name = container_name(p, s, n);
            let id = format!("Container {name}");
            progress.event(&id, "Creating", false);
            match create_container(api, p, s, n, &name, &image_id, &peers) {
                Ok(cid) => {
                    progress.event(&id, "Created", true);
                    to_start.push((cid, name));
                }
                Err(e) => {
                    progress.error(&id, "Error");
                    return Err(e);
                }
            }
            missing -= 1;
        }
        n += 1;
    }
    if opts.no_start {
        return Ok(());
    }
    for (cid, name) in to_start {
        let id = format!("Container {name}");
        progress.event(&id, "Starting", false);
        if let Err(e) = crate::files::inject(api, p, s, &cid) {
            progress.error(&id, "Error");
            return Err(e);
        }
        if let Err(e) = api.start(&cid) {
            progress.error(&id, "Error");
            return Err(OpError(format!(
                "Error response from daemon: {}",
                e.message()
            )));
        }
        progress.event(&id, "Started", true);
    }
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
                            api.stop(&c.id, timeout)?;
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
