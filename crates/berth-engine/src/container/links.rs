//! Legacy `--link NAME[:ALIAS]` (`HostConfig.Links`), as Docker does it. On the default
//! bridge: checked at create (the target must exist and not use the host's network), and
//! at start the target must run on the default bridge; the container gets a hosts line
//! `IP\tALIAS ID NAME` and the target's variables (`ALIAS_PORT_80_TCP=tcp://IP:80`, ...,
//! `ALIAS_NAME=/me/alias`, `ALIAS_ENV_*`). On a user-defined network ALIAS is only a name
//! the embedded resolver answers with the target's addresses, for this container alone.
//! Stored as Docker shows them in inspect: `/target:/me/alias`.
//!
//! Docker's messages: at create `could not get container for X: No such container: X` (400)
//! and `conflicting options: host type networking can't be used with links...`; at start
//! `Cannot link to a non running container: /T AS /me/alias` and `Cannot link to /T, as it
//! does not belong to the default network`. The variables are moby's `ToEnv`: `ALIAS_PORT`
//! (lowest exposed port, tcp first), `ALIAS_PORT_N_PROTO{,_ADDR,_PORT,_PROTO}`,
//! `_START`/`_END` for runs of three or more ports, `ALIAS_NAME=/me/alias`, `ALIAS_ENV_*` of
//! the target's Config.Env without HOME and PATH.
//!
//! On the default bridge the hosts line comes after `--add-host` lines, before the
//! container's own, and the variables before the container's own, kept in
//! `containers/<id>/link-env.json` for the run so execs get them too. `DELETE
//! /containers/ME/ALIAS?link=1` is its own route (the docker CLI puts the name in the path
//! as is) and drops the link from ME's record; `GET /containers/ME/ALIAS/json` inspects the
//! target (moby's name index holds `/ME/ALIAS`: `Engine::linked`); `rename` rewrites the
//! links naming the container (`container/rename.rs` `relink`). Links are resolved at start
//! only.

use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::model::ContainerRecord;
use crate::network::mode;
use berth_api::models::HostConfig;
use std::collections::HashMap;
use std::path::Path;
use std::time::Duration;

const HOST_CONFLICT: &str =
    "conflicting options: host type networking can't be used with links. This would result in undefined behavior";

/// Docker's `opts.ParseLink`: `name`, `name:alias`, or the stored `/name:/me/alias`.
pub fn parse(link: &str) -> Result<(String, String)> {
    if link.is_empty() {
        return Err(EngineError::InvalidParameter(
            "empty string specified for links".into(),
        ));
    }
    let parts: Vec<&str> = link.split(':').collect();
    match parts.as_slice() {
        [n] => Ok((
            n.trim_start_matches('/').to_string(),
            n.trim_start_matches('/').to_string(),
        )),
        [n, a] if n.starts_with('/') => Ok((
            n[1..].to_string(),
            a.rsplit('/').next().unwrap_or(a).to_string(),
        )),
        [n, a] => Ok((n.to_string(), a.to_string())),
        _ => Err(EngineError::InvalidParameter(format!(
            "bad format for links: {link}"
        ))),
    }
}

/// The variables Docker's `links.Link.ToEnv` gives for one link.
pub fn env(
    alias: &str,
    link_name: &str,
    ip: &str,
    exposed: &[(u16, String)],
    child_env: &[String],
) -> Vec<String> {
    let a = alias.to_uppercase().replace('-', "_");
    let mut ports = exposed.to_vec();
    // By number, tcp first for equal numbers (the first is ALIAS_PORT).
    ports.sort_by_key(|(p, proto)| (*p, proto != "tcp"));
    let mut out = Vec::new();
    if let Some((p, proto)) = ports.first() {
        out.push(format!("{a}_PORT={proto}://{ip}:{p}"));
    }
    // Runs of consecutive numbers also get _START/_END variables.
    let mut i = 0;
    while i < ports.len() {
        // moby's nextContiguous: the count goes up by one per port, whatever its number.
        let (mut j, mut v) = (i, u32::from(ports[i].0));
        for (k, (p, _)) in ports.iter().enumerate().skip(i + 1) {
            if u32::from(*p) > v + 1 {
                break;
            }
            v += 1;
            j = k;
        }
        if j > i + 1 {
            let (p, proto) = &ports[i];
            let (q, qproto) = &ports[j];
            let up = proto.to_uppercase();
            out.push(format!("{a}_PORT_{p}_{up}_START={proto}://{ip}:{p}"));
            out.push(format!("{a}_PORT_{p}_{up}_ADDR={ip}"));
            out.push(format!("{a}_PORT_{p}_{up}_PROTO={proto}"));
            out.push(format!("{a}_PORT_{p}_{up}_PORT_START={p}"));
            out.push(format!(
                "{a}_PORT_{p}_{}_END={qproto}://{ip}:{q}",
                qproto.to_uppercase()
            ));
            out.push(format!(
                "{a}_PORT_{p}_{}_PORT_END={q}",
                qproto.to_uppercase()
            ));
            i = j + 1;
        } else {
            i += 1;
        }
    }
    for (p, proto) in &ports {
        let up = proto.to_uppercase();
        out.push(format!("{a}_PORT_{p}_{up}={proto}://{ip}:{p}"));
        out.push(format!("{a}_PORT_{p}_{up}_ADDR={ip}"));
        out.push(format!("{a}_PORT_{p}_{up}_PORT={p}"));
        out.push(format!("{a}_PORT_{p}_{up}_PROTO={proto}"));
    }
    out.push(format!("{a}_NAME={link_name}"));
    for v in child_env {
        let Some((k, val)) = v.split_once('=') else {
            continue;
        };
        // As Docker: variables every image has are not worth passing on.
        if k == "HOME" || k == "PATH" {
            continue;
        }
        out.push(format!("{a}_ENV_{k}={val}"));
    }
    out
}

/// What a start takes from the container's links: its /etc/hosts lines and the
/// variables of its process (and execs).
#[derive(Debug, Default)]
pub struct LinkSetup {
    pub hosts: String,
    pub vars: Vec<String>,
}

fn exposed_ports(rec: &ContainerRecord) -> Vec<(u16, String)> {
    rec.config
        .exposed_ports
        .iter()
        .flatten()
        .filter_map(|(k, _)| {
            let (p, proto) = k.split_once('/').unwrap_or((k.as_str(), "tcp"));
            Some((p.parse().ok()?, proto.to_lowercase()))
        })
        .collect()
}

impl Engine {
    /// Create: checks `HostConfig.Links` and returns them as (target name, alias).
    pub(super) async fn check_links(&self, hc: &HostConfig) -> Result<Vec<(String, String)>> {
        let Some(links) = hc.links.as_ref().filter(|l| !l.is_empty()) else {
            return Ok(Vec::new());
        };
        let mode = hc.network_mode.as_str();
        if mode == "host" {
            return Err(EngineError::InvalidParameter(HOST_CONFLICT.into()));
        }
        let mut out = Vec::new();
        for l in links {
            let (name, alias) = parse(l)?;
            if !crate::network::is_builtin_mode(mode) {
                // User networks: only a resolver alias, the target may come later.
                out.push((name, alias));
                continue;
            }
            let target = self.get(&name).map_err(|e| {
                EngineError::InvalidParameter(format!("could not get container for {name}: {e}"))
            })?;
            let t = target.snapshot().await;
            if t.host_config.network_mode == "host" {
                return Err(EngineError::InvalidParameter(HOST_CONFLICT.into()));
            }
            out.push((t.name, alias));
        }
        Ok(out)
    }

    /// Start: a default-bridge container's links become hosts lines and variables; a
    /// user-network container's become resolver aliases.
    pub(super) async fn setup_links(&self, rec: &ContainerRecord) -> Result<LinkSetup> {
        let links: Vec<(String, String)> = rec
            .host_config
            .links
            .iter()
            .flatten()
            .map(|l| parse(l))
            .collect::<Result<_>>()?;
        if links.is_empty() {
            return Ok(LinkSetup::default());
        }
        let mode = rec.host_config.network_mode.as_str();
        if !crate::network::is_builtin_mode(mode) {
            restore_aliases(self, rec);
            return Ok(LinkSetup::default());
        }
        if !mode::is_default_mode(mode) {
            return Ok(LinkSetup::default());
        }
        let mut hosts = String::new();
        let mut vars = Vec::new();
        for (name, alias) in links {
            let link_name = format!("/{}/{alias}", rec.name);
            let target = self.get(&name).map_err(|e| {
                EngineError::InvalidParameter(format!("could not get container for {name}: {e}"))
            })?;
            if target.id == rec.id {
                return Err(EngineError::InvalidParameter(
                    "cannot link a container to itself".into(),
                ));
            }
            // A target starting at this moment holds its record: treat it as not running
            // rather than wait (two containers linking each other would wait forever).
            let t = tokio::time::timeout(Duration::from_secs(2), target.snapshot())
                .await
                .ok();
            let running = t.as_ref().is_some_and(|t| t.state.status.is_running());
            let Some(t) = t.filter(|_| running) else {
                return Err(EngineError::Conflict(format!(
                    "Cannot link to a non running container: /{name} AS {link_name}"
                )));
            };
            let ip = t
                .endpoints
                .get(mode::DEFAULT_NETWORK)
                .map(|e| e.ip.clone())
                .filter(|ip| !ip.is_empty());
            let Some(ip) = ip else {
                return Err(EngineError::InvalidParameter(format!(
                    "Cannot link to /{}, as it does not belong to the default network",
                    t.name
                )));
            };
            let mut names = vec![alias.clone()];
            for n in [t.id[..12].to_string(), t.name.clone()] {
                if !names.contains(&n) {
                    names.push(n);
                }
            }
            hosts.push_str(&format!("{ip}\t{}\n", names.join(" ")));
            vars.extend(env(
                &alias,
                &link_name,
                &ip,
                &exposed_ports(&t),
                t.config.env(),
            ));
        }
        Ok(LinkSetup { hosts, vars })
    }
}

impl Engine {
    /// `rm --link /me/alias`: drops the link from `me` (its next start has no such link).
    pub async fn remove_link(&self, link: &str) -> Result<()> {
        let full = format!("/{}", link.trim_start_matches('/'));
        let (parent, alias) = full.rsplit_once('/').unwrap_or(("", &full));
        if parent.is_empty() {
            return Err(EngineError::Internal(
                "Conflict, cannot remove the default link name of the container".into(),
            ));
        }
        let no_such = || EngineError::NotFound(format!("No such container: {}", &full[1..]));
        let c = self.get(parent).map_err(|_| no_such())?;
        let mut rec = c.record.lock().await;
        let before = rec.host_config.links.clone().unwrap_or_default();
        let kept: Vec<String> = before
            .iter()
            .filter(|l| parse(l).map_or(true, |(_, a)| a != alias))
            .cloned()
            .collect();
        if kept.len() == before.len() {
            return Err(no_such());
        }
        rec.host_config.links = (!kept.is_empty()).then_some(kept);
        let dir = self.dir(&rec.id);
        super::write_record(&dir, &rec)
    }
}

/// Where a started container's link variables are kept, for its execs (Docker gives an
/// exec the links' variables too).
fn env_file(dir: &Path) -> std::path::PathBuf {
    dir.join("link-env.json")
}

/// Keeps this run's link variables, for its execs.
pub(super) fn save_env(dir: &Path, vars: &[String]) -> Result<()> {
    let data = serde_json::to_vec(vars).map_err(|e| EngineError::internal("link variables", e))?;
    std::fs::write(env_file(dir), data)
        .map_err(|e| EngineError::internal("cannot keep the link variables", e))
}

/// The record with these link variables before its own (Docker's order), for the process
/// spec of the container or of an exec.
pub(super) fn with_vars(rec: &ContainerRecord, mut vars: Vec<String>) -> ContainerRecord {
    let mut r = rec.clone();
    vars.extend(r.config.env().iter().cloned());
    r.config.env = Some(vars);
    r
}

/// An exec's record: with the variables its container's run was given, when it has links
/// (a container without links reads no file).
pub(super) fn with_env(rec: &ContainerRecord, dir: &Path) -> Option<ContainerRecord> {
    rec.host_config.links.as_ref().filter(|l| !l.is_empty())?;
    let data = std::fs::read(env_file(dir)).ok()?;
    let vars: Vec<String> = serde_json::from_slice(&data).ok()?;
    Some(with_vars(rec, vars))
}

/// A user-network container's resolver aliases again (daemon restart).
pub(super) fn restore_aliases(engine: &Engine, rec: &ContainerRecord) {
    if crate::network::is_builtin_mode(&rec.host_config.network_mode) {
        return;
    }
    let aliases: HashMap<String, String> = rec
        .host_config
        .links
        .iter()
        .flatten()
        .filter_map(|l| parse(l).ok())
        .filter(|(n, a)| n != a)
        .map(|(n, a)| (a.to_ascii_lowercase(), n.to_ascii_lowercase()))
        .collect();
    engine.networks.set_link_aliases(&rec.id, aliases);
}

/// `HostConfig.Links` as Docker stores and shows them.
pub fn stored(links: &[(String, String)], me: &str) -> Option<Vec<String>> {
    (!links.is_empty()).then(|| {
        links
            .iter()
            .map(|(n, a)| format!("/{n}:/{me}/{a}"))
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_parse_as_docker() {
        assert_eq!(parse("web").unwrap(), ("web".into(), "web".into()));
        assert_eq!(parse("web:al").unwrap(), ("web".into(), "al".into()));
        assert_eq!(parse("/web:/me/al").unwrap(), ("web".into(), "al".into()));
        assert!(parse("a:b:c").is_err());
        assert!(parse("").is_err());
        assert_eq!(
            stored(&[("web".into(), "al".into())], "me"),
            Some(vec!["/web:/me/al".to_string()])
        );
    }

    #[test]
    fn env_is_dockers() {
        let e = env(
            "my-db",
            "/me/my-db",
            "10.0.0.2",
            &[(80, "tcp".into()), (53, "udp".into()), (53, "tcp".into())],
            &["PATH=/bin".into(), "FOO=a=b".into(), "HOME=/root".into()],
        );
        assert_eq!(e[0], "MY_DB_PORT=tcp://10.0.0.2:53");
        assert!(e.contains(&"MY_DB_PORT_53_UDP=udp://10.0.0.2:53".to_string()));
        assert!(e.contains(&"MY_DB_PORT_80_TCP_ADDR=10.0.0.2".to_string()));
        assert!(e.contains(&"MY_DB_PORT_80_TCP_PORT=80".to_string()));
        assert!(e.contains(&"MY_DB_PORT_80_TCP_PROTO=tcp".to_string()));
        assert!(e.contains(&"MY_DB_NAME=/me/my-db".to_string()));
        assert!(e.contains(&"MY_DB_ENV_FOO=a=b".to_string()));
        assert!(!e
            .iter()
            .any(|v| v.contains("ENV_PATH") || v.contains("ENV_HOME")));
        assert!(!e.iter().any(|v| v.contains("_START")));
        let r = env(
            "r",
            "/me/r",
            "10.0.0.3",
            &[
                (8000, "tcp".into()),
                (8001, "tcp".into()),
                (8002, "tcp".into()),
            ],
            &[],
        );
        assert!(r.contains(&"R_PORT_8000_TCP_START=tcp://10.0.0.3:8000".to_string()));
        assert!(r.contains(&"R_PORT_8000_TCP_END=tcp://10.0.0.3:8002".to_string()));
        assert!(r.contains(&"R_PORT_8000_TCP_PORT_END=8002".to_string()));
    }
}
