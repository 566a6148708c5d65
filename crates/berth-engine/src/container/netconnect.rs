//! `network connect` and `network disconnect` (`POST /networks/{id}/connect|disconnect`):
//! a running container gets or loses an interface at once; a stopped one has the endpoint
//! recorded (or dropped) for its next start. Messages are Docker's.

use super::write_record;
use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::model::{EndpointRecord, NetworkRecord};
use crate::network::attach::endpoint_key;
use crate::network::gateway;
use berth_net::netns;
use serde_json::Value;
use std::collections::BTreeMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use tracing::{info, warn};

/// What `EndpointConfig` asks for: aliases and a static IPv4 address.
#[derive(Debug, Default)]
pub struct ConnectRequest {
    pub aliases: Vec<String>,
    pub ipv4: Option<String>,
    pub ipv6: Option<String>,
}

/// Parses the connect body's `EndpointConfig`.
pub fn parse_endpoint_config(cfg: Option<&Value>) -> Result<ConnectRequest> {
    let Some(cfg) = cfg.filter(|v| !v.is_null()) else {
        return Ok(ConnectRequest::default());
    };
    let aliases = cfg
        .get("Aliases")
        .and_then(|a| a.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .filter(|s| !s.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let ipv4 = cfg
        .get("IPAMConfig")
        .and_then(|c| c.get("IPv4Address"))
        .and_then(|v| v.as_str())
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    if let Some(ip) = &ipv4 {
        if ip.parse::<Ipv4Addr>().is_err() {
            return Err(EngineError::InvalidParameter(format!(
                "invalid IPv4 address: {ip}"
            )));
        }
    }
    let ipv6 = crate::network::ipv6::requested_address(cfg.get("IPAMConfig"))?;
    Ok(ConnectRequest {
        aliases,
        ipv4,
        ipv6,
    })
}

const SHARED: &str =
    "container sharing network namespace with another container or host cannot be connected to any other network";
const NONE: &str =
    "container cannot be connected to multiple networks with one of the networks in private (none) mode";
const HOST: &str =
    "container cannot be disconnected from host network or connected to host network";

impl Engine {
    /// `POST /networks/{id}/connect`.
    pub async fn network_connect(
        &self,
        network: &str,
        container: &str,
        req: ConnectRequest,
    ) -> Result<()> {
        match network {
            "host" => return Err(EngineError::Forbidden(HOST.into())),
            "none" => return Err(EngineError::Forbidden(NONE.into())),
            _ => {}
        }
        let net = self.networks.find(network)?;
        let c = self.get(container)?;
        let mut rec = c.record.lock().await;
        let mode = rec.host_config.network_mode.clone();
        if mode == "host" || mode.starts_with("container:") {
            return Err(EngineError::Forbidden(SHARED.into()));
        }
        if mode == "none" {
            return Err(EngineError::Forbidden(NONE.into()));
        }
        removal_check(&rec)?;
        let dir = self.dir(&rec.id);
        let existing = endpoint_key(&rec.endpoints, &net);
        let running = matches!(
            rec.state.status,
            super::Status::Running | super::Status::Paused
        );
        if !running {
            // As Docker: a second connect of a stopped container keeps the first request.
            if existing.is_none() {
                rec.endpoints.insert(
                    net.name.clone(),
                    EndpointRecord {
                        aliases: req.aliases,
                        ipv4_request: req.ipv4,
                        ipv6_request: req.ipv6,
                        ..Default::default()
                    },
                );
                write_record(&dir, &rec)?;
            }
        } else {
            if existing
                .as_ref()
                .and_then(|k| rec.endpoints.get(k))
                .is_some_and(|e| !e.network_id.is_empty())
            {
                return Err(EngineError::Forbidden(format!(
                    "endpoint with name {} already exists in network {}",
                    rec.name, net.name
                )));
            }
            if let Some(k) = existing {
                rec.endpoints.remove(&k);
            }
            let ns = netns_of(&dir, rec.state.pid);
            let mut ep = EndpointRecord {
                aliases: req.aliases,
                ipv4_request: req.ipv4,
                ipv6_request: req.ipv6,
                ..Default::default()
            };
            let ifname = gateway::connect_ifname(&rec.id, rec.state.pid, &rec.endpoints);
            self.networks
                .add_endpoint(&rec, &net, &mut ep, &ns, &ifname)
                .await?;
            let hc = &rec.host_config;
            if let Err(e) =
                self.networks
                    .resolver_conf(&rec.id, &dir, &hc.dns_search, &hc.dns_options)
            {
                warn!(id = %rec.id, error = %e, "cannot write resolv.conf");
            }
            for ip in [&ep.ip, &ep.ip6] {
                if let Err(e) = hosts_line(&dir, ip, &rec.config.hostname, true) {
                    warn!(id = %rec.id, error = %e, "cannot add the address to /etc/hosts");
                }
            }
            rec.endpoints.insert(net.name.clone(), ep);
            write_record(&dir, &rec)?;
        }
        info!(id = %rec.id, network = %net.name, "container connected");
        self.connect_event("connect", &net, &rec.id);
        Ok(())
    }

    /// `POST /networks/{id}/disconnect`.
    pub async fn network_disconnect(
        &self,
        network: &str,
        container: &str,
        _force: bool,
    ) -> Result<()> {
        if network == "host" {
            return Err(EngineError::Forbidden(HOST.into()));
        }
        let net = self.networks.find(network)?;
        let c = self.get(container)?;
        let mut rec = c.record.lock().await;
        if rec.host_config.network_mode == "host" {
            return Err(EngineError::Forbidden(HOST.into()));
        }
        removal_check(&rec)?;
        let dir = self.dir(&rec.id);
        let key = endpoint_key(&rec.endpoints, &net);
        let running = matches!(
            rec.state.status,
            super::Status::Running | super::Status::Paused
        );
        if running {
            let attached = key.filter(|k| {
                rec.endpoints
                    .get(k)
                    .is_some_and(|e| !e.network_id.is_empty())
            });
            let Some(k) = attached else {
                return Err(EngineError::Internal(format!(
                    "container {} is not connected to network {}",
                    rec.id, net.name
                )));
            };
            if let Some(ep) = rec.endpoints.remove(&k) {
                self.networks.remove_endpoint(&rec.id, &ep).await;
                let ns = netns_of(&dir, rec.state.pid);
                let r = &mut *rec;
                self.networks
                    .after_disconnect(&r.id, &ns, &ep, &mut r.endpoints)
                    .await;
                for ip in [&ep.ip, &ep.ip6] {
                    if let Err(e) = hosts_line(&dir, ip, &rec.config.hostname, false) {
                        warn!(id = %rec.id, error = %e, "cannot remove the address from /etc/hosts");
                    }
                }
            }
        } else {
            let Some(k) = key else {
                return Err(EngineError::Internal(format!(
                    "container {} is not connected to the network {}",
                    rec.id, net.name
                )));
            };
            rec.endpoints.remove(&k);
        }
        write_record(&dir, &rec)?;
        info!(id = %rec.id, network = %net.name, "container disconnected");
        self.connect_event("disconnect", &net, &rec.id);
        Ok(())
    }

    /// `--network container:NAME`: NAME's namespace (it must run), and its /etc/hosts and
    /// resolv.conf, as Docker shares them.
    pub(super) async fn shared_netns(
        &self,
        rec: &super::ContainerRecord,
        dir: &Path,
    ) -> Result<Option<PathBuf>> {
        let Some(target) = rec.host_config.network_mode.strip_prefix("container:") else {
            return Ok(None);
        };
        let other = self.get(target)?;
        if other.id == rec.id {
            return Err(EngineError::InvalidParameter(
                "cannot join own network namespace".into(),
            ));
        }
        let o = other.snapshot().await;
        if !matches!(
            o.state.status,
            super::Status::Running | super::Status::Paused
        ) {
            return Err(EngineError::Conflict(format!(
                "cannot join network namespace of a non running container: container {} is {}",
                o.name,
                o.state.status.as_str()
            )));
        }
        let odir = self.dir(&o.id);
        for f in ["hosts", "resolv.conf"] {
            if let Err(e) = std::fs::copy(odir.join(f), dir.join(f)) {
                warn!(file = f, error = %e, "cannot copy the shared network's file");
            }
        }
        Ok(Some(netns_of(&odir, o.state.pid)))
    }

    fn connect_event(&self, action: &str, net: &NetworkRecord, container_id: &str) {
        let mut attrs = BTreeMap::new();
        attrs.insert("name".to_string(), net.name.clone());
        attrs.insert("type".to_string(), net.driver.clone());
        attrs.insert("container".to_string(), container_id.to_string());
        self.events.publish("network", action, &net.id, attrs);
    }
}

fn removal_check(rec: &super::ContainerRecord) -> Result<()> {
    if matches!(
        rec.state.status,
        super::Status::Removing | super::Status::Dead
    ) {
        return Err(EngineError::Conflict(format!(
            "Container {} is marked for removal and cannot be connected or disconnected to the network",
            rec.id
        )));
    }
    Ok(())
}

/// The running container's network namespace: berth's bind mount, else (a namespace the
/// runtime made, for the built-in modes) the init process's.
fn netns_of(dir: &Path, pid: i64) -> PathBuf {
    let p = netns::path_in(dir);
    if p.exists() || pid <= 0 {
        return p;
    }
    PathBuf::from(format!("/proc/{pid}/ns/net"))
}

/// Adds or removes `IP\thostname` in the container's /etc/hosts (in place: the file is
/// bind-mounted).
fn hosts_line(dir: &Path, ip: &str, hostname: &str, add: bool) -> std::io::Result<()> {
    if ip.is_empty() {
        return Ok(());
    }
    let path = dir.join("hosts");
    let text = std::fs::read_to_string(&path)?;
    let line = format!("{ip}\t{hostname}");
    let mut out: String = text
        .lines()
        .filter(|l| *l != line)
        .map(|l| format!("{l}\n"))
        .collect();
    if add {
        out.push_str(&line);
        out.push('\n');
    }
    std::fs::write(&path, out)
}
