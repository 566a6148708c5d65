//! `network connect` and `network disconnect` (`POST /networks/{id}/connect|disconnect`):
//! a running container gets or loses an interface at once; a stopped one has the endpoint
//! recorded (or dropped) for its next start. Messages are Docker's.
//!
//! Docker's errors: `endpoint with name X already exists in network Y` (403),
//! `container ID is not connected to network Y` (500; `... to the network Y` when stopped),
//! an unknown network or container 404, `--ip` outside the subnet 400; host and none modes
//! and shared namespaces refused (403, `SHARED`, `NONE`, `HOST` below); a second connect of a
//! stopped container keeps the first request. `--network container:NAME` needs NAME running
//! (`cannot join network namespace of a non running container: container NAME is STATUS`).
//!
//! A running container's new interface is the next `ethN` (numbered on from the highest
//! this run gave, `network/gateway.rs`; made from a thread that `setns`es into its
//! namespace), with its address from that network's pool (or `--ip`) and no second default
//! route; its names go into the resolver and an `IP\thostname` line into /etc/hosts, edited
//! in place (Docker edits it too, so the container's own edits stay: `update_etc_files`
//! writes one `EtcChange`). Disconnect deletes the host veth (the peer goes with it),
//! releases the address and drops that network's names and line (Docker 20.10 leaves the
//! line). On a stopped container only the record changes; start attaches every recorded
//! endpoint. A container of the default mode connected to a user network gets its own
//! namespace file at start.

use super::write_record;
use crate::engine::Engine;
use crate::error::{EngineError, Result};
use crate::etc_files;
use crate::model::ContainerRecord;
use crate::model::{EndpointRecord, NetworkRecord};
use crate::network::attach::{endpoint_key, Attachment};
use crate::network::gateway;
use berth_api::models::EndpointSettings;
use berth_net::netns;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use tracing::{info, warn};

/// What `EndpointConfig` asks for: aliases, addresses, MAC, driver options, links.
#[derive(Debug, Default)]
pub struct ConnectRequest {
    pub endpoint: EndpointRecord,
}

/// Reads the connect body's `EndpointConfig`.
pub fn parse_endpoint_config(cfg: Option<&EndpointSettings>) -> Result<ConnectRequest> {
    let Some(cfg) = cfg else {
        return Ok(ConnectRequest::default());
    };
    Ok(ConnectRequest {
        endpoint: crate::network::endpoint_request(cfg)?,
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
        // moby 28's updateNetworkConfig checks the static addresses before anything else,
        // running or not; connect's text has no "invalid config for network" prefix.
        crate::network::endpoint_address_check(&net, &req.endpoint)
            .map_err(EngineError::InvalidParameter)?;
        let dir = self.dir(&rec.id);
        let existing = endpoint_key(&rec.endpoints, &net);
        let running = matches!(
            rec.state.status,
            super::Status::Running | super::Status::Paused
        );
        if !running {
            // As Docker: a second connect of a stopped container keeps the first request.
            if existing.is_none() {
                rec.endpoints.insert(net.name.clone(), req.endpoint);
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
            let mut ep = req.endpoint;
            let ifname = gateway::connect_ifname(&rec.id, rec.state.pid, &rec.endpoints);
            self.networks
                .add_endpoint(&Attachment::of(&rec), &net, &mut ep, &ns, &ifname)
                .await?;
            let resolver = self.networks.serving_resolver(&rec.id);
            update_etc_files(&rec, &dir, &ep, true, resolver);
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
                let ns = netns_of(&dir, rec.state.pid);
                self.networks.remove_endpoint(&rec.id, &ep, &ns).await;
                let r = &mut *rec;
                self.networks
                    .after_disconnect(&r.id, &ns, &ep, &mut r.endpoints)
                    .await;
                update_etc_files(&rec, &dir, &ep, false, false);
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
    #[allow(clippy::type_complexity)]
    pub(super) async fn shared_netns(
        &self,
        rec: &ContainerRecord,
    ) -> Result<Option<(PathBuf, (Option<String>, Option<String>))>> {
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
        let read = |f: &str| {
            std::fs::read_to_string(odir.join(f))
                .map_err(|e| warn!(file = f, error = %e, "cannot read the shared network's file"))
                .ok()
        };
        let files = (read("hosts"), read("resolv.conf"));
        Ok(Some((netns_of(&odir, o.state.pid), files)))
    }

    /// moby's network events around a run: `connect` for each network a start attached the
    /// container to, `disconnect` for each one its stop (or failed start) releases.
    pub(super) fn endpoint_events(&self, action: &str, rec: &ContainerRecord) {
        for ep in rec.endpoints.values().filter(|e| !e.network_id.is_empty()) {
            if let Ok(net) = self.networks.find(&ep.network_id) {
                self.connect_event(action, &net, &rec.id);
            }
        }
    }

    fn connect_event(&self, action: &str, net: &NetworkRecord, container_id: &str) {
        let mut attrs = BTreeMap::new();
        attrs.insert("name".to_string(), net.name.clone());
        attrs.insert("type".to_string(), net.driver.clone());
        attrs.insert("container".to_string(), container_id.to_string());
        self.events.publish("network", action, &net.id, attrs);
    }
}

fn removal_check(rec: &ContainerRecord) -> Result<()> {
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

/// The running container's /etc/hosts and resolv.conf after `network connect`
/// (`connected`) or `disconnect` of endpoint `ep`: one value from all their sources
/// (`etc_files::EtcChange`), written once, in place (the files are bind-mounted).
fn update_etc_files(
    rec: &ContainerRecord,
    dir: &Path,
    ep: &EndpointRecord,
    connected: bool,
    embedded_resolver: bool,
) {
    let hc = &rec.host_config;
    let change = etc_files::EtcChange::compute(&etc_files::Reconnect {
        hostname: &rec.config.hostname,
        hosts: std::fs::read_to_string(dir.join("hosts"))
            .inspect_err(|e| warn!(id = %rec.id, error = %e, "cannot read /etc/hosts"))
            .ok(),
        resolv_conf: std::fs::read_to_string(dir.join("resolv.conf")).unwrap_or_default(),
        addresses: vec![&ep.ip, &ep.ip6],
        connected,
        embedded_resolver,
        host_resolv_conf: etc_files::HostFiles::read(false).resolv_conf,
        dns_search: &hc.dns_search,
        dns_options: &hc.dns_options,
    });
    if let Err(e) = change.write(dir) {
        let what = if connected { "connect" } else { "disconnect" };
        warn!(id = %rec.id, error = %e, "cannot update /etc/hosts or resolv.conf on {what}");
    }
}
