//! The engine's side of the runtime: turns a container record into an OCI bundle and the
//! shim's options; the shim itself is reached through the runtime adapter (`Seams`).

use crate::config::EngineConfig;
use crate::error::{EngineError, Result};
use crate::model::ContainerRecord;
use berth_runtime::spec::{self, MountSpec, NetworkNs, SpecInput, Ulimit};
use berth_runtime::SpawnOptions;
use std::path::Path;

const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// A shim that could not be reached or refused a request.
pub fn rt_err(e: impl std::fmt::Display) -> EngineError {
    EngineError::Internal(e.to_string())
}

/// The environment Docker gives a container: PATH, HOSTNAME, TERM with a tty, then the
/// container's own variables (which replace those in place).
fn container_env(rec: &ContainerRecord) -> Vec<String> {
    exec_env(rec, rec.config.tty, &[])
}

/// An exec's environment, as Docker builds it: the container's (with TERM when the exec
/// has a terminal), then the exec's own variables, each replacing one of the same name.
pub fn exec_env(rec: &ContainerRecord, tty: bool, extra: &[String]) -> Vec<String> {
    // moby's CreateDaemonEnvironment: PATH, HOSTNAME, TERM (tty) first, each replaced in
    // place by the container's own value, the rest appended; then the exec's the same way.
    let mut env = vec![
        format!("PATH={DEFAULT_PATH}"),
        format!("HOSTNAME={}", rec.config.hostname),
    ];
    if tty {
        env.push("TERM=xterm".into());
    }
    for e in rec.config.env().iter().chain(extra) {
        let Some((key, _)) = e.split_once('=') else {
            // A name without `=` unsets it (moby's ReplaceOrAppendEnvValues).
            env.retain(|x| x.split('=').next() != Some(e.as_str()));
            continue;
        };
        match env.iter_mut().find(|x| x.split('=').next() == Some(key)) {
            Some(slot) => *slot = e.clone(),
            None => env.push(e.clone()),
        }
    }
    env
}

/// The container's sysctls: Docker's defaults for a container with a network namespace of
/// its own (unprivileged users bind low ports and ping, as moby sets them since 20.10),
/// then `--sysctl`, which overrides them. Only namespaced keys are accepted, and not for a
/// namespace shared with the host (runc's checks and messages): berth's init writes them in
/// the container's namespaces, so anything else would change the host.
fn sysctls(
    rec: &ContainerRecord,
    userns: bool,
) -> Result<std::collections::HashMap<String, String>> {
    let mut out = std::collections::HashMap::new();
    let hc = &rec.host_config;
    let mode = hc.network_mode.as_str();
    // moby adds them only where the kernel has them (ip_unprivileged_port_start: 4.11).
    // The running kernel's set does not change: looked up once (a /proc/sys lookup is a
    // visible share of a start).
    let known = |k: &str| {
        static HAS: std::sync::Mutex<Vec<(String, bool)>> = std::sync::Mutex::new(Vec::new());
        let mut has = HAS.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((_, v)) = has.iter().find(|(n, _)| n == k) {
            return *v;
        }
        let v = Path::new("/proc/sys").join(k.replace('.', "/")).exists();
        has.push((k.to_string(), v));
        v
    };
    // moby: "We cannot set up ping socket support in a user namespace" (the range's gids
    // are not all mapped there).
    if mode != "host"
        && !mode.starts_with("container:")
        && !userns
        && known("net.ipv4.ping_group_range")
    {
        out.insert("net.ipv4.ping_group_range".into(), "0 2147483647".into());
    }
    if mode != "host"
        && !mode.starts_with("container:")
        && known("net.ipv4.ip_unprivileged_port_start")
    {
        out.insert("net.ipv4.ip_unprivileged_port_start".into(), "0".into());
    }
    let bad = |m: String| Err(EngineError::InvalidParameter(m));
    for (k, v) in hc.sysctls.iter().flatten() {
        if berth_api::sysctl::is_ipc(k) {
            if hc.ipc_mode == "host" {
                return bad(format!("sysctl {k:?} not allowed in host IPC namespace"));
            }
        } else if berth_api::sysctl::is_net(k) {
            if mode == "host" {
                return bad(format!(
                    "sysctl {k:?} not allowed in host network namespace"
                ));
            }
        } else if k == "kernel.domainname" || k == "kernel.hostname" {
            if hc.u_t_s_mode == "host" {
                return bad(format!("sysctl {k:?} not allowed in host UTS namespace"));
            }
        } else {
            return bad(format!(
                "sysctl {k:?} is not in a separate kernel namespace"
            ));
        }
        if k.contains('/') || k.contains("..") {
            return bad(format!(
                "sysctl {k:?} is not in a separate kernel namespace"
            ));
        }
        out.insert(k.clone(), v.clone());
    }
    Ok(out)
}

/// The container's cgroup parent: its own `--cgroup-parent`, else daemon.json's.
pub fn cgroup_parent(cfg: &EngineConfig, rec: &ContainerRecord) -> Option<String> {
    Some(rec.host_config.cgroup_parent.clone())
        .filter(|p| !p.is_empty())
        .or_else(|| cfg.cgroup.parent.clone())
}

/// The container's cgroup below the hierarchy's root (either driver), as its spec names it:
/// where stats, pause, update and top find it.
pub fn cgroup_rel(cfg: &EngineConfig, rec: &ContainerRecord) -> String {
    let path = spec::cgroups_path(
        cfg.cgroup.systemd,
        cgroup_parent(cfg, rec).as_deref(),
        &rec.id,
    );
    berth_runtime::systemd_cgroup::cgroup_of(&path)
}

/// Whether the container gets its own cgroup namespace: `--cgroupns`, else the daemon's
/// default-cgroupns-mode.
pub fn cgroupns_private(cfg: &EngineConfig, rec: &ContainerRecord) -> bool {
    match rec.host_config.cgroupns_mode.as_str() {
        "private" => true,
        "host" => false,
        _ => cfg.cgroup.ns_private,
    }
}

/// Writes `bundle/config.json` for the record, with `rootfs` already mounted; `mounts` are
/// the container's volumes, binds and tmpfs (`container/mounts.rs`).
pub fn write_bundle(
    cfg: &EngineConfig,
    rec: &ContainerRecord,
    dir: &Path,
    rootfs: &Path,
    mounts: crate::container::mounts::RunMounts,
    namespaces: &crate::container::namespaces::RunNamespaces,
    security: (
        &crate::security::SecurityConfig,
        &berth_runtime::seccomp::BpfCache,
    ),
) -> Result<()> {
    let hc = &rec.host_config;
    let etc_writable = !hc.readonly_rootfs;
    let mut args = vec![rec.path.clone()];
    args.extend(rec.args.iter().cloned());
    let bad = EngineError::InvalidParameter;
    let opts =
        crate::security::parse(hc.security_opt.as_deref().unwrap_or_default()).map_err(bad)?;
    let (seccomp, no_new_privileges) = opts.resolve(security.0);
    crate::devices::check_requests(hc).map_err(bad)?;
    let own_ulimits: Vec<Ulimit> = hc
        .ulimits
        .iter()
        .map(|u| Ulimit {
            name: u.name.clone(),
            soft: u.soft,
            hard: u.hard,
        })
        .collect();
    let input = SpecInput {
        id: rec.id.clone(),
        rootfs: rootfs.to_path_buf(),
        readonly_rootfs: hc.readonly_rootfs,
        args,
        env: container_env(rec),
        cwd: rec.config.working_dir.clone(),
        user: rec.config.user.clone(),
        group_add: hc.group_add.clone().unwrap_or_default(),
        tty: rec.config.tty,
        hostname: rec.config.hostname.clone(),
        domainname: rec.config.domainname.clone(),
        privileged: hc.privileged,
        cap_add: hc.cap_add.clone().unwrap_or_default(),
        cap_drop: hc.cap_drop.clone().unwrap_or_default(),
        no_new_privileges,
        network: match namespaces.net.as_deref() {
            Some(p) => NetworkNs::Path(p.to_path_buf()),
            None if hc.network_mode == "host" => NetworkNs::Host,
            None => NetworkNs::New,
        },
        pid: namespaces.pid.clone(),
        ipc: namespaces.ipc.clone(),
        shm: namespaces.shm.clone(),
        sysctls: sysctls(rec, crate::userns::for_container(cfg, hc).is_some())?,
        annotations: hc
            .annotations
            .iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        uts_host: hc.u_t_s_mode == "host",
        memory: hc.memory,
        memory_swap: hc.memory_swap,
        memory_reservation: hc.memory_reservation,
        // -1 (the CLI's default) and none leave the kernel's value.
        memory_swappiness: hc
            .memory_swappiness
            .and_then(|s| u64::try_from(s).ok())
            .filter(|s| *s <= 100),
        oom_kill_disable: hc.oom_kill_disable.unwrap_or(false),
        oom_score_adj: hc.oom_score_adj.clamp(-1000, 1000) as i32,
        nano_cpus: hc.nano_cpus,
        cpu_shares: hc.cpu_shares,
        cpu_quota: hc.cpu_quota,
        cpu_period: hc.cpu_period,
        cpu_rt_period: hc.cpu_realtime_period,
        cpu_rt_runtime: hc.cpu_realtime_runtime,
        cpuset_cpus: hc.cpuset_cpus.clone(),
        cpuset_mems: hc.cpuset_mems.clone(),
        pids_limit: hc.pids_limit,
        ulimits: crate::security::merge_ulimits(&own_ulimits, &security.0.default_ulimits),
        devices: crate::devices::mappings(hc).map_err(bad)?,
        device_cgroup_rules: crate::devices::cgroup_rules(hc),
        seccomp,
        systempaths_unconfined: opts.systempaths_unconfined,
        masked_paths: hc.masked_paths.clone(),
        readonly_paths: hc.readonly_paths.clone(),
        shm_size: hc.shm_size,
        cgroup_parent: cgroup_parent(cfg, rec),
        systemd_cgroup: cfg.cgroup.systemd,
        cgroupns_private: Some(cgroupns_private(cfg, rec)),
        blkio: crate::blkio::from_host_config(hc)
            .map_err(EngineError::InvalidParameter)?
            .into_input(),
        mounts: ["hostname", "hosts", "resolv.conf"]
            .iter()
            .map(|f| {
                MountSpec::bind(
                    dir.join(f).to_string_lossy().into_owned(),
                    format!("/etc/{f}"),
                    !etc_writable,
                )
            })
            .chain(mounts.mounts)
            .collect(),
        rootfs_propagation: mounts.rootfs_propagation,
        init: hc.init.unwrap_or(false),
        userns: crate::userns::for_container(cfg, hc),
        userns_path: namespaces.user.clone(),
        daemon_remapped: cfg.id_map.is_some(),
        ..Default::default()
    };
    let mut spec = spec::generate(&input).map_err(|e| match e {
        spec::SpecError::Exec(e) => EngineError::Start(e),
        other => EngineError::InvalidParameter(other.to_string()),
    })?;
    // `run -t`: the terminal starts at the client's size (HostConfig.ConsoleSize), so
    // `stty size` as the first command already sees it, as with moby.
    if let (true, Some([h, w]), Some(process)) =
        (rec.config.tty, hc.console_size, spec.process().clone())
    {
        let mut process = process;
        spec::set_console_size(
            &mut process,
            u16::try_from(h).unwrap_or(u16::MAX),
            u16::try_from(w).unwrap_or(u16::MAX),
        );
        spec.set_process(Some(process));
    }
    security
        .1
        .attach(&mut spec)
        .map_err(|e| EngineError::InvalidParameter(e.to_string()))?;
    let bundle = dir.join("bundle");
    std::fs::create_dir_all(&bundle)?;
    let data = serde_json::to_vec(&spec).map_err(rt_err)?;
    berth_api::atomic::write_file_volatile(&bundle.join("config.json"), &data)?;
    Ok(())
}

/// The container's logging driver and options, resolved for the shim (tag template,
/// journal fields, attributes); checked as dockerd checks them.
pub fn log_spec(rec: &ContainerRecord) -> Result<berth_runtime::logdriver::LogSpec> {
    let lc = &rec.host_config.log_config;
    let driver = if lc.kind.is_empty() {
        berth_runtime::logdriver::JSON_FILE
    } else {
        lc.kind.as_str()
    };
    log_spec_for(driver, &lc.config, rec)
}

/// [`log_spec`] for a given driver and options (create checks the request's before
/// storing it).
pub fn log_spec_for(
    driver: &str,
    opts: &std::collections::BTreeMap<String, String>,
    rec: &ContainerRecord,
) -> Result<berth_runtime::logdriver::LogSpec> {
    let info = berth_runtime::logdriver::ContainerInfo {
        id: rec.id.clone(),
        name: rec.name.clone(),
        image_id: rec.image_id.clone(),
        image_name: rec.config.image.clone(),
        labels: rec.config.labels().clone(),
        env: rec.config.env().to_vec(),
        daemon_name: "berth".into(),
    };
    berth_runtime::logdriver::LogSpec::resolve(driver, opts, &info)
        .map_err(EngineError::InvalidParameter)
}

/// The shim's options for the container: its logging driver and options (checked as
/// dockerd checks them), stdio and runtime.
pub fn spawn_options(
    cfg: &EngineConfig,
    rec: &ContainerRecord,
    dir: &Path,
) -> Result<SpawnOptions> {
    let log = log_spec(rec)?;
    Ok(SpawnOptions {
        exe: cfg.exe.clone(),
        id: rec.id.clone(),
        dir: dir.to_path_buf(),
        log,
        stdin: rec.config.open_stdin,
        stdin_once: rec.config.stdin_once,
        tty: rec.config.tty,
        runtime: rec.host_config.runtime.clone(),
    })
}

/// Checks a runtime name (`--runtime`, daemon.json `default-runtime`): the built-in one or
/// an OCI runtime binary on PATH.
pub fn validate_runtime(name: &str) -> Result<()> {
    if name == berth_runtime::shim::BUILTIN || name == berth_runtime::shim::LIBCONTAINER {
        return Ok(());
    }
    berth_runtime::shim::find_binary(name)
        .map(|_| ())
        .map_err(EngineError::InvalidParameter)
}

/// Gets the kernel's cgroup-migration lock warm for a container (or exec) about to start,
/// and keeps it warm for a while (`crate::cgroup_warm`): the grace period is paid in the
/// background, overlapping the rootfs mount and the shim's start, once per burst of starts.
pub fn prime_cgroup_migration() {
    crate::cgroup_warm::touch();
}
