//! `create`: the request checked (Docker's messages), the image's defaults merged in, the
//! mounts planned and their volumes made, a name and an id reserved, the record stored.

use super::{health, links, names, save_record, Container};
use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::model::{ContainerRecord, State};
use crate::runtime;
use berth_api::models::{ContainerCreateBody, ContainerCreateResponse};
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
        let image = self.images.get(&body.config.image).await?;
        validate_host_config(&body)?;
        let warnings = Vec::new();

        let mut config = body.config.clone();
        merge_image_config(&mut config, &image.config);
        // Held until the record is indexed, so `volume rm` cannot remove a volume this
        // container is about to use.
        let volume_guard = if Self::needs_volume_lock(&body.host_config, &config) {
            Some(self.volumes.op_lock.lock().await)
        } else {
            None
        };
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
        )?;
        let links = self.check_links(&body.host_config).await?;
        if body.host_config.runtime.is_empty() {
            body.host_config.runtime = self.cfg.default_runtime.clone();
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
        if body.host_config.log_config.kind.is_empty() {
            body.host_config.log_config.kind = "json-file".into();
        }
        if body.host_config.log_config.config.is_empty() {
            body.host_config.log_config.config = self
                .cfg
                .log_opts
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
        }

        let rec = ContainerRecord {
            id: id.clone(),
            name: String::new(),
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
fn merge_image_config(cfg: &mut berth_api::models::ContainerConfig, image: &serde_json::Value) {
    let get_strs = |key: &str| -> Option<Vec<String>> {
        image.get(key)?.as_array().map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
    };
    // `--entrypoint ""` arrives as [""] and means "no entrypoint".
    if cfg
        .entrypoint
        .as_ref()
        .is_some_and(|e| e.len() == 1 && e[0].is_empty())
    {
        cfg.entrypoint = Some(Vec::new());
    }
    if cfg.entrypoint.is_none() {
        cfg.entrypoint = get_strs("Entrypoint");
        if cfg.cmd.is_none() {
            cfg.cmd = get_strs("Cmd");
        }
    }
    if let Some(env) = get_strs("Env") {
        let user_keys: Vec<String> = cfg
            .env
            .iter()
            .map(|e| e.split('=').next().unwrap_or("").to_string())
            .collect();
        let mut merged: Vec<String> = env
            .into_iter()
            .filter(|e| {
                !user_keys
                    .iter()
                    .any(|k| k == e.split('=').next().unwrap_or(""))
            })
            .collect();
        merged.append(&mut cfg.env);
        cfg.env = merged;
    }
    let get_str = |key: &str| {
        image
            .get(key)
            .and_then(|v| v.as_str())
            .unwrap_or("")
            .to_string()
    };
    if cfg.working_dir.is_empty() {
        cfg.working_dir = get_str("WorkingDir");
    }
    if cfg.user.is_empty() {
        cfg.user = get_str("User");
    }
    if let Some(labels) = image.get("Labels").and_then(|l| l.as_object()) {
        for (k, v) in labels {
            if let Some(v) = v.as_str() {
                cfg.labels.entry(k.clone()).or_insert_with(|| v.to_string());
            }
        }
    }
    if let Some(ports) = image.get("ExposedPorts").and_then(|p| p.as_object()) {
        let mine = cfg.exposed_ports.get_or_insert_with(Default::default);
        for (k, v) in ports {
            mine.entry(k.clone()).or_insert(v.clone());
        }
    }
    if let Some(vols) = image.get("Volumes").and_then(|p| p.as_object()) {
        let mine = cfg.volumes.get_or_insert_with(Default::default);
        for (k, v) in vols {
            mine.entry(k.clone()).or_insert(v.clone());
        }
    }
    if cfg.stop_signal.is_none() {
        cfg.stop_signal = image
            .get("StopSignal")
            .and_then(|v| v.as_str())
            .map(str::to_string);
    }
    // moby's merge: the image's check, with each field the container leaves unset
    // (an empty Test, a zero duration or retry count) taken from it.
    let image_check = image.get("Healthcheck").filter(|v| !v.is_null()).cloned();
    match (&mut cfg.healthcheck, image_check) {
        (None, img) => cfg.healthcheck = img,
        (Some(mine), Some(img)) => {
            if let (Some(m), Some(i)) = (mine.as_object_mut(), img.as_object()) {
                let unset = |v: Option<&serde_json::Value>| match v {
                    None | Some(serde_json::Value::Null) => true,
                    Some(serde_json::Value::Array(a)) => a.is_empty(),
                    Some(serde_json::Value::Number(n)) => n.as_i64() == Some(0),
                    _ => false,
                };
                for (k, v) in i {
                    if unset(m.get(k)) {
                        m.insert(k.clone(), v.clone());
                    }
                }
            }
        }
        (Some(_), None) => {}
    }
    if cfg.shell.is_none() {
        cfg.shell = get_strs("Shell");
    }
}

/// Rejects settings Docker rejects at create time, with Docker's messages.
pub(super) fn validate_host_config(body: &ContainerCreateBody) -> Result<()> {
    let hc = &body.host_config;
    let bad = |m: String| Err(EngineError::InvalidParameter(m));
    health::validate(body.config.healthcheck.as_ref()).map_err(EngineError::InvalidParameter)?;
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
        if hc.cpu_quota > 0 || hc.cpu_period > 0 {
            return bad("Conflicting options: Nano CPUs and CPU Period cannot both be set".into());
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
    for opt in hc.security_opt.iter().flatten() {
        let known = opt == "no-new-privileges"
            || opt.starts_with("no-new-privileges:")
            || opt.starts_with("no-new-privileges=")
            || opt.starts_with("seccomp")
            || opt.starts_with("apparmor")
            || opt.starts_with("label");
        if !known {
            return bad(format!("invalid --security-opt 2: \"{opt}\""));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_api::models::ContainerConfig;
    use serde_json::json;

    fn image() -> serde_json::Value {
        json!({"Cmd": ["sh"], "Entrypoint": null, "Env": ["PATH=/bin", "A=1"],
               "WorkingDir": "/w", "Labels": {"l": "img", "m": "img"}, "StopSignal": "SIGQUIT"})
    }

    #[test]
    fn image_defaults_fill_the_gaps() {
        let mut c = ContainerConfig {
            env: vec!["A=2".into()],
            ..Default::default()
        };
        c.labels.insert("l".into(), "mine".into());
        merge_image_config(&mut c, &image());
        assert_eq!(c.cmd, Some(vec!["sh".to_string()]));
        assert_eq!(c.env, vec!["PATH=/bin".to_string(), "A=2".to_string()]);
        assert_eq!(c.working_dir, "/w");
        assert_eq!(c.labels["l"], "mine");
        assert_eq!(c.labels["m"], "img");
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
        let mut b = ContainerCreateBody::default();
        b.config.stop_signal = Some("BOGUS".into());
        assert_eq!(
            validate_host_config(&b).expect_err("sig").to_string(),
            "Invalid signal: BOGUS"
        );
    }
}
