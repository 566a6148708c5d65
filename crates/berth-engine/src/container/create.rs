//! `create`: the request checked (Docker's messages), the image's defaults merged in, the
//! mounts planned and their volumes made, a name and an id reserved, the record stored.

use super::{health, links, names, save_record, Container};
use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::model::{ContainerRecord, State};
use crate::runtime;
use berth_api::models::{ContainerConfig, ContainerCreateBody, ContainerCreateResponse};
use chrono::Utc;
use std::sync::Arc;
use tracing::info;

impl Engine {
    pub async fn create(
        &self,
        name: Option<&str>,
        mut body: ContainerCreateBody,
    ) -> Result<ContainerCreateResponse> {
        // A created container is usually started next: hide the kernel's wait now.
        runtime::prime_cgroup_migration();
        let name = match name.filter(|n| !n.is_empty()) {
            Some(n) => Some(
                names::validate(n)
                    .ok_or_else(|| {
                        EngineError::InvalidParameter(format!(
                            "Invalid container name ({n}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
                        ))
                    })?
                    .to_string(),
            ),
            None => None,
        };
        if body.config.image.is_empty() {
            return Err(EngineError::InvalidParameter(
                "config cannot be empty in order to create a container".into(),
            ));
        }
        // moby's verifyContainerSettings runs before the image is looked up.
        let rt_warnings = discard_unsupported_rt(&mut body.host_config);
        validate_host_config(&body)?;
        // Checked at create only (an update stores what it is given), and a plain error
        // (500), as dockerd answers it.
        let hc = &body.host_config;
        if hc.cpu_realtime_period != 0
            && hc.cpu_realtime_runtime != 0
            && hc.cpu_realtime_runtime > hc.cpu_realtime_period
        {
            return Err(EngineError::Internal(
                "cpu real-time runtime cannot be higher than cpu real-time period".into(),
            ));
        }
        let image = self.images.get(&body.config.image).await?;
        if let Some(e) = &image.config_error {
            return Err(EngineError::InvalidParameter(format!(
                "invalid image config of {}: {e}",
                image.id
            )));
        }
        crate::userns::check(&self.cfg, &body.host_config)?;
        super::namespaces::check_modes(&mut body.host_config)?;
        default_memory_swap(&mut body.host_config);
        // `--ipc` / `--pid container:X` name a container that must exist.
        for mode in [&body.host_config.ipc_mode, &body.host_config.pid_mode] {
            if let Some(other) = mode.strip_prefix("container:") {
                // 400, not 404: the docker CLI would take a 404 for a missing image.
                self.get(other).map_err(|e| match e {
                    EngineError::NotFound(m) => EngineError::InvalidParameter(m),
                    other => other,
                })?;
            }
        }
        let mut warnings = rt_warnings;
        self.check_cgroup_settings(&body.host_config)?;
        warnings.extend(
            crate::blkio::check(&mut body.host_config).map_err(EngineError::InvalidParameter)?,
        );

        // A container's Env and Labels are always written (`[]`, `{}`).
        let mut config = body.config.clone().for_container();
        merge_image_config(&mut config, &image.config);
        // Held until the record is indexed, so `volume rm` cannot remove a volume this
        // container is about to use.
        let volume_guard = if Self::needs_volume_lock(&body.host_config, &config) {
            Some(self.volumes.op_lock.lock().await)
        } else {
            None
        };
        check_storage_opt(&body.host_config)?;
        let mut mount_points = self.plan_mounts(&body.host_config, &config).await?;
        let mut cmdline: Vec<String> = config.entrypoint.clone().unwrap_or_default();
        cmdline.extend(config.cmd.clone().unwrap_or_default());
        if cmdline.is_empty() {
            return Err(EngineError::InvalidParameter("no command specified".into()));
        }

        let id = loop {
            let mut bytes = [0u8; 32];
            for b in bytes.iter_mut() {
                *b = rand::random();
            }
            let id = hex::encode(bytes);
            // Docker avoids ids that look like numbers (they would confuse short-id lookup).
            if id[..12].chars().all(|c| c.is_ascii_digit()) {
                continue;
            }
            if !self.read_index().by_id.contains_key(&id) {
                break id;
            }
        };
        if config.hostname.is_empty() {
            config.hostname = if body.host_config.network_mode == "host" {
                nix::unistd::gethostname()
                    .map(|h| h.to_string_lossy().into_owned())
                    .unwrap_or_else(|_| id[..12].to_string())
            } else {
                id[..12].to_string()
            };
        }
        if body.host_config.network_mode.is_empty() {
            body.host_config.network_mode = "default".into();
        }
        let endpoints = crate::network::endpoints_from_request(
            &body.host_config.network_mode,
            body.networking_config.as_ref(),
            body.config.mac_address.as_deref(),
        )?;
        self.networks.check_endpoint_addresses(&endpoints)?;
        let links = self.check_links(&body.host_config).await?;
        if body.host_config.runtime.is_empty() {
            body.host_config.runtime = self.live().default_runtime;
        }
        runtime::validate_runtime(&body.host_config.runtime)?;
        // berth's init is part of berth's runtime; other runtimes would need a binary inside
        // the container.
        if body.host_config.init == Some(true)
            && body.host_config.runtime != berth_runtime::shim::BUILTIN
        {
            return Err(EngineError::InvalidParameter(format!(
                "--init is supported with the {} runtime only, not {}",
                berth_runtime::shim::BUILTIN,
                body.host_config.runtime
            )));
        }
        // The default masked and read-only paths are stored (inspect shows them), unless
        // privileged or given (`[]` from `--security-opt systempaths=unconfined`): moby's
        // createContainerOSSpecificSettings.
        if !body.host_config.privileged {
            let defaults = |d: &[&str]| d.iter().map(|s| s.to_string()).collect::<Vec<_>>();
            let hc = &mut body.host_config;
            hc.masked_paths
                .get_or_insert_with(berth_runtime::spec::default_masked_paths);
            hc.readonly_paths
                .get_or_insert_with(|| defaults(berth_runtime::spec::DEFAULT_READONLY_PATHS));
        }
        // moby's generateSecurityOpt: a privileged container, or one sharing the host's IPC
        // or PID namespace, gets `label=disable` unless a label option was given.
        let hc = &mut body.host_config;
        if (hc.privileged || hc.ipc_mode == "host" || hc.pid_mode == "host")
            && !hc
                .security_opt
                .iter()
                .flatten()
                .any(|o| o.starts_with("label"))
        {
            hc.security_opt
                .get_or_insert_with(Vec::new)
                .push("label=disable".into());
        }
        // No driver: the daemon's, with its options (dockerd's default log config).
        if body.host_config.log_config.kind.is_empty() {
            body.host_config.log_config.kind = self.cfg.log_driver.clone();
            if body.host_config.log_config.config.is_empty() {
                body.host_config.log_config.config = self.cfg.log_opts.clone();
            }
        }

        let rec = ContainerRecord {
            id: id.clone(),
            name: name.clone().unwrap_or_default(),
            created: Utc::now(),
            image_id: image.id.clone(),
            path: cmdline[0].clone(),
            args: cmdline[1..].to_vec(),
            config,
            host_config: body.host_config,
            state: State::default(),
            restart_count: 0,
            mount_points: Vec::new(),
            endpoints,
        };

        // An unknown driver or option is refused now, as dockerd refuses it at create.
        runtime::log_spec(&rec)?;

        // Reserve the name and the id together so two creates cannot take one name.
        let c = {
            let mut idx = self.write_index();
            let final_name = match name {
                Some(n) => {
                    if let Some(other) = idx.names.get(&n) {
                        return Err(EngineError::Conflict(format!(
                            "Conflict. The container name \"/{n}\" is already in use by container \"{other}\". You have to remove (or rename) that container to be able to reuse that name."
                        )));
                    }
                    n
                }
                None => {
                    let mut retry = 0;
                    loop {
                        let n = names::generate(retry);
                        if !idx.names.contains_key(&n) {
                            break n;
                        }
                        retry += 1;
                    }
                }
            };
            let mut rec = rec;
            rec.name = final_name.clone();
            rec.host_config.links = links::stored(&links, &final_name);
            let c = Container::new(rec);
            idx.names.insert(final_name, id.clone());
            idx.by_id.insert(id.clone(), c.clone());
            c
        };

        if let Err(e) = self.create_mount_volumes(&mut mount_points) {
            self.forget(&c).await;
            return Err(e);
        }
        c.record.lock().await.mount_points = mount_points;
        let dir = self.dir(&id);
        let saved = async {
            let store = |e: EngineError| EngineError::internal("cannot store container", e);
            tokio::fs::create_dir_all(&dir)
                .await
                .map_err(|e| store(e.into()))?;
            self.populate_volumes(&c).await?;
            let r = c.record.lock().await;
            save_record(&dir, &r).await.map_err(store)
        }
        .await;
        if let Err(e) = saved {
            let gone = c.snapshot().await;
            self.forget(&c).await;
            let _ = tokio::fs::remove_dir_all(&dir).await;
            // remove_volume takes the volume lock itself.
            drop(volume_guard);
            self.remove_anonymous_volumes(&gone).await;
            return Err(e);
        }
        drop(volume_guard);
        info!(%id, "container created");
        self.events.container(&c.snapshot().await, "create", &[]);
        Ok(ContainerCreateResponse { id, warnings })
    }

    /// `--cgroupns` and `--cgroup-parent` as dockerd checks them for its cgroup driver.
    fn check_cgroup_settings(&self, hc: &berth_api::models::HostConfig) -> Result<()> {
        match hc.cgroupns_mode.as_str() {
            "" | "private" | "host" => {}
            other => {
                return Err(EngineError::InvalidParameter(format!(
                    "invalid cgroup namespace mode: {other}"
                )))
            }
        }
        if self.cfg.cgroup.systemd && !hc.cgroup_parent.is_empty() {
            berth_runtime::systemd_cgroup::expand_slice(&hc.cgroup_parent)
                .map_err(EngineError::InvalidParameter)?;
        }
        Ok(())
    }

    pub(super) async fn forget(&self, c: &Arc<Container>) {
        let name = c.record.lock().await.name.clone();
        let mut idx = self.write_index();
        idx.by_id.remove(&c.id);
        if idx.names.get(&name) == Some(&c.id) {
            idx.names.remove(&name);
        }
    }
}

/// Applies the image's defaults to the request's config, as Docker's `merge` does.
fn merge_image_config(cfg: &mut ContainerConfig, image: &ContainerConfig) {
    // `--entrypoint ""` arrives as [""] and means "no entrypoint".
    if cfg
        .entrypoint
        .as_ref()
        .is_some_and(|e| e.len() == 1 && e[0].is_empty())
    {
        cfg.entrypoint = Some(Vec::new());
    }
    if cfg.entrypoint.is_none() {
        cfg.entrypoint = image.entrypoint.clone();
        if cfg.cmd.is_none() {
            cfg.cmd = image.cmd.clone();
        }
    }
    if let Some(env) = &image.env {
        let mine = cfg.env.get_or_insert_with(Vec::new);
        let key = |e: &str| e.split('=').next().unwrap_or("").to_string();
        let user_keys: Vec<String> = mine.iter().map(|e| key(e)).collect();
        // moby's merge: the user's variables first, then the image's they do not override.
        mine.extend(env.iter().filter(|e| !user_keys.contains(&key(e))).cloned());
    }
    if cfg.working_dir.is_empty() {
        cfg.working_dir = image.working_dir.clone();
    }
    // moby cleans the working directory (`/tmp/` -> `/tmp`) before storing it.
    if cfg.working_dir.starts_with('/') {
        cfg.working_dir = super::mounts::clean(&cfg.working_dir);
    }
    if cfg.user.is_empty() {
        cfg.user = image.user.clone();
    }
    if let Some(labels) = &image.labels {
        let mine = cfg.labels.get_or_insert_with(Default::default);
        for (k, v) in labels {
            mine.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
    if let Some(ports) = &image.exposed_ports {
        let mine = cfg.exposed_ports.get_or_insert_with(Default::default);
        for (k, v) in ports {
            mine.entry(k.clone()).or_insert(*v);
        }
    }
    // moby's merge: an empty map (the docker CLI sends `{}`) takes the image's as it is,
    // so `Config.Volumes` stays null when neither names one.
    if cfg.volumes.as_ref().is_none_or(|v| v.is_empty()) {
        cfg.volumes = image.volumes.clone();
    } else if let (Some(mine), Some(vols)) = (cfg.volumes.as_mut(), &image.volumes) {
        for (k, v) in vols {
            mine.entry(k.clone()).or_insert(*v);
        }
    }
    if cfg.stop_signal.is_none() {
        cfg.stop_signal = image.stop_signal.clone();
    }
    // moby's merge: the image's check, with each field the container leaves unset taken
    // from it.
    match (&mut cfg.healthcheck, &image.healthcheck) {
        (None, img) => cfg.healthcheck = img.clone(),
        (Some(mine), Some(img)) => mine.inherit(img),
        (Some(_), None) => {}
    }
    if cfg.shell.is_none() {
        cfg.shell = image.shell.clone();
    }
}

/// A cpuset list (`0-3,5`) as its members; None when malformed.
fn parse_cpu_list(s: &str) -> Option<Vec<u32>> {
    let mut out = Vec::new();
    for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u32, u32) = (a.parse().ok()?, b.parse().ok()?);
                if b < a || b - a > 4096 {
                    return None;
                }
                out.extend(a..=b);
            }
            None => out.push(part.parse().ok()?),
        }
    }
    Some(out)
}

/// moby's adaptContainerSettings: memory+swap defaults to twice the memory when only the
/// memory is limited, and that is what inspect shows (`run -m 64m`: MemorySwap 128 MiB).
/// moby does so where the kernel accounts swap, which berth requires (`info`: SwapLimit);
/// the runtime spec already applied the same default.
fn default_memory_swap(hc: &mut berth_api::models::HostConfig) {
    if hc.memory > 0 && hc.memory_swap == 0 {
        hc.memory_swap = hc.memory.saturating_mul(2);
    }
}

/// Rejects settings Docker rejects at create time, with Docker's messages.
/// `StorageOpt`, as moby's overlay2 driver judges it when it makes the container's layer:
/// `size` needs project quotas (overlay over xfs mounted with `pquota`), which berth's
/// overlay layers do not have, so it is refused in overlay2's words; any other key is
/// overlay2's unknown option (its parseStorageOpt lower-cases the key).
fn check_storage_opt(hc: &berth_api::models::HostConfig) -> Result<()> {
    let Some(opts) = hc.storage_opt.as_ref().filter(|o| !o.is_empty()) else {
        return Ok(());
    };
    // `SIZE=...`: overlay2 reads it as size, and still has no quota to set it with.
    if opts.keys().any(|k| k.eq_ignore_ascii_case("size")) {
        return Err(EngineError::Internal(
            "--storage-opt is supported only for overlay over xfs with 'pquota' mount option"
                .into(),
        ));
    }
    match opts.keys().next() {
        Some(key) => Err(EngineError::Internal(format!(
            "Unknown option {}",
            key.to_lowercase()
        ))),
        None => Ok(()),
    }
}

/// moby's verifyPlatformContainerResources for the real-time knobs: without per-cgroup
/// real-time scheduling (cgroup v2, or a v1 kernel without CONFIG_RT_GROUP_SCHED) they are
/// dropped with a warning each.
pub(super) fn discard_unsupported_rt(hc: &mut berth_api::models::HostConfig) -> Vec<String> {
    let mut warnings = Vec::new();
    if hc.cpu_realtime_period <= 0 && hc.cpu_realtime_runtime <= 0 {
        return warnings;
    }
    if berth_runtime::cgroups::cpu_realtime_supported() {
        return warnings;
    }
    if hc.cpu_realtime_period > 0 {
        warnings.push(
            "Your kernel does not support cgroup cpu real-time period. Period discarded.".into(),
        );
        hc.cpu_realtime_period = 0;
    }
    if hc.cpu_realtime_runtime > 0 {
        warnings.push(
            "Your kernel does not support cgroup cpu real-time runtime. Runtime discarded.".into(),
        );
        hc.cpu_realtime_runtime = 0;
    }
    warnings
}

pub(super) fn validate_host_config(body: &ContainerCreateBody) -> Result<()> {
    let hc = &body.host_config;
    let bad = |m: String| Err(EngineError::InvalidParameter(m));
    let wd = &body.config.working_dir;
    if !wd.is_empty() && !wd.starts_with('/') {
        return bad(format!(
            "the working directory '{wd}' is invalid, it needs to be an absolute path"
        ));
    }
    // moby's validateContainerConfig (opts.ValidateEnv): every entry needs a name, so `=foo`
    // and an empty entry are refused; `NAME` alone is kept as given.
    for e in body.config.env.iter().flatten() {
        if e.split('=').next().unwrap_or_default().is_empty() {
            return bad(format!("invalid environment variable: {e}"));
        }
    }
    health::validate(body.config.healthcheck.as_ref()).map_err(EngineError::InvalidParameter)?;
    // moby's validateNetContainerMode: a container network shares the other's ports.
    if hc.network_mode.starts_with("container:") {
        if !hc.port_bindings.is_empty() || hc.publish_all_ports {
            return bad(
                "conflicting options: port publishing and the container type network mode".into(),
            );
        }
        if body
            .config
            .exposed_ports
            .as_ref()
            .is_some_and(|p| !p.is_empty())
        {
            return bad(
                "conflicting options: port exposing and the container type network mode".into(),
            );
        }
    }
    if !hc.isolation.is_empty() && !hc.isolation.eq_ignore_ascii_case("default") {
        return bad(format!(
            "Invalid isolation: {:?} - linux only supports 'default'",
            hc.isolation
        ));
    }
    if let Some(s) = hc
        .memory_swappiness
        .filter(|s| *s != -1 && !(0..=100).contains(s))
    {
        return bad(format!(
            "Invalid value: {s}, valid memory swappiness range is 0-100"
        ));
    }
    if !(-1000..=1000).contains(&hc.oom_score_adj) {
        return bad(format!(
            "Invalid value {}, range for oom score adj is [-1000, 1000]",
            hc.oom_score_adj
        ));
    }
    match hc.restart_policy.name.as_str() {
        "" | "no" | "always" | "unless-stopped" => {
            if hc.restart_policy.maximum_retry_count != 0 {
                return bad("invalid restart policy: maximum retry count can only be used with 'on-failure'".to_string());
            }
        }
        "on-failure" => {
            if hc.restart_policy.maximum_retry_count < 0 {
                return bad("invalid restart policy: maximum retry count cannot be negative".into());
            }
        }
        other => return bad(format!("invalid restart policy: unknown policy '{other}'; use one of 'no', 'always', 'on-failure', or 'unless-stopped'")),
    }
    if hc.auto_remove && !matches!(hc.restart_policy.name.as_str(), "" | "no") {
        return bad("can't create 'AutoRemove' container with restart policy".into());
    }
    if hc.memory != 0 && hc.memory < 6 * 1024 * 1024 {
        return bad("Minimum memory limit allowed is 6MB".into());
    }
    if hc.memory > 0 && hc.memory_swap > 0 && hc.memory_swap < hc.memory {
        return bad(
            "Minimum memoryswap limit should be larger than memory limit, see usage".into(),
        );
    }
    if hc.memory == 0 && hc.memory_swap > 0 {
        return bad(
            "You should always set the Memory limit when using Memoryswap limit, see usage".into(),
        );
    }
    if hc.nano_cpus != 0 {
        let ncpu = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1) as i64;
        if hc.nano_cpus < 10_000_000 || hc.nano_cpus > ncpu * 1_000_000_000 {
            return bad(format!(
                "Range of CPUs is from 0.01 to {ncpu}.00, as there are only {ncpu} CPUs available"
            ));
        }
        if hc.cpu_period > 0 {
            return bad("Conflicting options: Nano CPUs and CPU Period cannot both be set".into());
        }
        if hc.cpu_quota > 0 {
            return bad("Conflicting options: Nano CPUs and CPU Quota cannot both be set".into());
        }
    }
    for (given, what, online) in [
        (&hc.cpuset_cpus, "CPUs", "/sys/devices/system/cpu/online"),
        (
            &hc.cpuset_mems,
            "memory nodes",
            "/sys/devices/system/node/online",
        ),
    ] {
        if given.is_empty() {
            continue;
        }
        let Some(want) = parse_cpu_list(given) else {
            let kind = if what == "CPUs" { "cpus" } else { "mems" };
            return bad(format!("Invalid value {given} for cpuset {kind}"));
        };
        let avail_text = std::fs::read_to_string(online).unwrap_or_default();
        let avail_text = avail_text.trim();
        if let Some(avail) = parse_cpu_list(avail_text) {
            if !want.iter().all(|c| avail.contains(c)) {
                return bad(format!(
                    "Requested {what} are not available - requested {given}, available: {avail_text}"
                ));
            }
        }
    }
    if hc.cpu_shares < 0 {
        return bad("invalid CPU shares: must be positive".into());
    }
    for (field, list) in [("CapAdd", &hc.cap_add), ("CapDrop", &hc.cap_drop)] {
        for name in list.iter().flatten() {
            let upper = name.to_ascii_uppercase();
            if upper == "ALL" {
                continue;
            }
            let full = if upper.starts_with("CAP_") {
                upper
            } else {
                format!("CAP_{upper}")
            };
            if berth_runtime::spec::capabilities(false, std::slice::from_ref(&full), &[]).is_err() {
                return bad(format!("invalid {field}: unknown capability: \"{full}\""));
            }
        }
    }
    if let Some(sig) = body.config.stop_signal.as_deref().filter(|s| !s.is_empty()) {
        crate::signal::parse(sig)?;
    }
    // moby's parseSecurityOpt knows no `systempaths` (the docker CLI and compose turn
    // `systempaths=unconfined` into empty MaskedPaths/ReadonlyPaths): refused as moby
    // refuses it, a plain error (500). Stored records from before still start unconfined.
    if let Some(o) = hc
        .security_opt
        .iter()
        .flatten()
        .find(|o| o.starts_with("systempaths=") || o.starts_with("systempaths:"))
    {
        return Err(EngineError::Internal(format!(
            "invalid --security-opt 2: {o:?}"
        )));
    }
    if let Err(e) = crate::security::parse(hc.security_opt.as_deref().unwrap_or_default()) {
        return bad(e);
    }
    if let Err(e) = crate::devices::validate(hc) {
        return bad(e);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn image() -> ContainerConfig {
        serde_json::from_str(
            r#"{"Cmd": ["sh"], "Entrypoint": null, "Env": ["PATH=/bin", "A=1"],
               "WorkingDir": "/w", "Labels": {"l": "img", "m": "img"}, "StopSignal": "SIGQUIT"}"#,
        )
        .expect("image config")
    }

    #[test]
    fn image_defaults_fill_the_gaps() {
        let mut c = ContainerConfig {
            env: Some(vec!["A=2".into()]),
            labels: Some([("l".to_string(), "mine".to_string())].into()),
            ..Default::default()
        };
        merge_image_config(&mut c, &image());
        assert_eq!(c.cmd, Some(vec!["sh".to_string()]));
        assert_eq!(c.env(), ["A=2".to_string(), "PATH=/bin".to_string()]);
        assert_eq!(c.working_dir, "/w");
        assert_eq!(c.labels()["l"], "mine");
        assert_eq!(c.labels()["m"], "img");
        assert_eq!(c.stop_signal.as_deref(), Some("SIGQUIT"));
    }

    #[test]
    fn user_entrypoint_drops_image_cmd() {
        let mut c = ContainerConfig {
            entrypoint: Some(vec!["echo".into()]),
            ..Default::default()
        };
        merge_image_config(&mut c, &image());
        assert_eq!(c.cmd, None);
        let mut c = ContainerConfig {
            entrypoint: Some(vec!["".into()]),
            cmd: Some(vec!["ls".into()]),
            ..Default::default()
        };
        merge_image_config(&mut c, &image());
        assert_eq!(c.entrypoint, Some(vec![]));
        assert_eq!(c.cmd, Some(vec!["ls".to_string()]));
    }

    #[test]
    fn storage_opt_refused_as_overlay2_without_project_quotas() {
        let with = |pairs: &[(&str, &str)]| berth_api::models::HostConfig {
            storage_opt: Some(
                pairs
                    .iter()
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect(),
            ),
            ..Default::default()
        };
        let pquota =
            "--storage-opt is supported only for overlay over xfs with 'pquota' mount option";
        for opts in [&[("size", "1G")][..], &[("size", "abc")], &[("SIZE", "1G")]] {
            let e = check_storage_opt(&with(opts)).expect_err("size");
            assert!(matches!(e, EngineError::Internal(_)));
            assert_eq!(e.to_string(), pquota);
        }
        assert_eq!(
            check_storage_opt(&with(&[("Foo", "bar")]))
                .expect_err("unknown")
                .to_string(),
            "Unknown option foo"
        );
        assert!(check_storage_opt(&with(&[])).is_ok());
        assert!(check_storage_opt(&berth_api::models::HostConfig::default()).is_ok());
    }

    #[test]
    fn host_config_validation_uses_docker_messages() {
        let mut b = ContainerCreateBody::default();
        b.host_config.memory = 1024;
        let e = validate_host_config(&b).expect_err("too small");
        assert_eq!(e.to_string(), "Minimum memory limit allowed is 6MB");
        let mut b = ContainerCreateBody::default();
        b.host_config.restart_policy.name = "sometimes".into();
        assert!(validate_host_config(&b)
            .expect_err("bad policy")
            .to_string()
            .contains("sometimes"));
        let mut b = ContainerCreateBody::default();
        b.host_config.nano_cpus = 1_000_000_000_000;
        assert!(validate_host_config(&b)
            .expect_err("cpus")
            .to_string()
            .starts_with("Range of CPUs"));
        let mut b = ContainerCreateBody::default();
        b.host_config.cap_add = Some(vec!["bogus".into()]);
        assert_eq!(
            validate_host_config(&b).expect_err("cap").to_string(),
            "invalid CapAdd: unknown capability: \"CAP_BOGUS\""
        );
        let mut b = ContainerCreateBody::default();
        b.host_config.cap_drop = Some(vec!["net_raw".into(), "ALL".into()]);
        assert!(validate_host_config(&b).is_ok());
        for env in ["=foo", "", "="] {
            let mut b = ContainerCreateBody::default();
            b.config.env = Some(vec!["A=1".into(), env.into()]);
            assert_eq!(
                validate_host_config(&b).expect_err("env").to_string(),
                format!("invalid environment variable: {env}")
            );
        }
        let mut b = ContainerCreateBody::default();
        b.host_config.security_opt = Some(vec!["systempaths=unconfined".into()]);
        let e = validate_host_config(&b).expect_err("systempaths");
        assert!(matches!(e, EngineError::Internal(_)));
        assert_eq!(
            e.to_string(),
            "invalid --security-opt 2: \"systempaths=unconfined\""
        );
        let mut b = ContainerCreateBody::default();
        b.config.env = Some(vec!["NOVALUE".into(), "A==b".into()]);
        assert!(validate_host_config(&b).is_ok());
        let mut b = ContainerCreateBody::default();
        b.config.stop_signal = Some("BOGUS".into());
        assert_eq!(
            validate_host_config(&b).expect_err("sig").to_string(),
            "Invalid signal: BOGUS"
        );
    }
}
