//! The engine's network operations that need the containers: inspect's member list,
//! removal refused while in use, prune.

use super::Engine;
use crate::error::{EngineError, Result};
use crate::model::NetworkRecord;
use crate::network::api::{self, CreateRequest, Member};
use crate::network::mode::builtin_id;
use crate::network::swarm::{Attacher, SwarmLb, SwarmNetwork};
use berth_api::filters::Filters;
use berth_api::models::NetworkInspect;
use std::collections::{BTreeMap, HashMap};

const BUILTINS: [&str; 2] = ["host", "none"];

impl Engine {
    async fn members(&self, net: &NetworkRecord) -> Vec<Member> {
        let mut out = Vec::new();
        for c in self.all() {
            let rec = c.snapshot().await;
            for ep in rec.endpoints.values() {
                if ep.network_id == net.id && !ep.ip.is_empty() {
                    out.push(Member {
                        id: rec.id.clone(),
                        name: rec.name.clone(),
                        endpoint: ep.clone(),
                    });
                }
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    async fn container_names(&self) -> HashMap<String, String> {
        let mut names = HashMap::new();
        for c in self.all() {
            let rec = c.snapshot().await;
            names.insert(rec.id, rec.name);
        }
        names
    }

    pub async fn network_create(&self, req: CreateRequest) -> Result<NetworkRecord> {
        let rec = self.networks.create(req).await?;
        self.network_event("create", &rec, None);
        Ok(rec)
    }

    /// `GET /networks/{id}`.
    pub async fn network_inspect(&self, name_or_id: &str) -> Result<NetworkInspect> {
        if let Some(b) = BUILTINS
            .iter()
            .find(|b| **b == name_or_id || builtin_id(b).starts_with(name_or_id))
        {
            if !name_or_id.is_empty() && self.networks.find(name_or_id).is_err() {
                return Ok(api::builtin(b));
            }
        }
        let rec = self.networks.find(name_or_id)?;
        let members = self.members(&rec).await;
        Ok(api::inspect(&rec, &members))
    }

    /// `GET /networks`: built-ins first, then the user's networks, filtered.
    pub async fn network_list(&self, filters: &Filters) -> Result<Vec<NetworkInspect>> {
        let mut out = Vec::new();
        if let Some(rec) = self.networks.default_bridge() {
            let v = api::inspect(&rec, &self.members(&rec).await);
            if api::matches(&v, filters, true)? {
                out.push(v);
            }
        }
        for b in BUILTINS {
            let v = api::builtin(b);
            if api::matches(&v, filters, true)? {
                out.push(v);
            }
        }
        for rec in self.networks.list() {
            let in_use = !self.networks.users(&rec.id).is_empty();
            let v = api::inspect(&rec, &self.members(&rec).await);
            if api::matches(&v, filters, in_use)? {
                out.push(v);
            }
        }
        Ok(out)
    }

    pub async fn network_remove(&self, name_or_id: &str) -> Result<()> {
        if BUILTINS.contains(&name_or_id) || name_or_id == "bridge" {
            return Err(EngineError::Forbidden(format!(
                "{name_or_id} is a pre-defined network and cannot be removed"
            )));
        }
        let names = self.container_names().await;
        let rec = self.networks.remove(name_or_id, &names).await?;
        // moby logs no destroy event for a configuration-only network.
        if !rec.config_only {
            self.network_event("destroy", &rec, None);
        }
        Ok(())
    }

    /// `POST /networks/prune`: every user network without containers (filters: label,
    /// until are Docker's; label only here).
    pub async fn network_prune(&self, filters: &Filters) -> Result<Vec<String>> {
        for k in filters.keys() {
            if k != "label" && k != "label!" && k != "until" {
                return Err(EngineError::InvalidParameter(format!(
                    "invalid filter '{k}'"
                )));
            }
        }
        let mut deleted = Vec::new();
        for rec in self.networks.list() {
            // Swarm networks are the swarm's to remove; configuration-only networks stay
            // (moby's localNetworksPrune skips them).
            if rec.is_swarm() || rec.config_only || !self.networks.users(&rec.id).is_empty() {
                continue;
            }
            if let Some(l) = filters.get("label") {
                if !berth_api::filters::labels_match(&rec.labels, l) {
                    continue;
                }
            }
            if let Some(l) = filters.get("label!") {
                if berth_api::filters::labels_match(&rec.labels, l) {
                    continue;
                }
            }
            if self.networks.remove(&rec.id, &HashMap::new()).await.is_ok() {
                self.network_event("destroy", &rec, None);
                deleted.push(rec.name);
            }
        }
        Ok(deleted)
    }

    fn network_event(&self, action: &str, rec: &NetworkRecord, container: Option<&str>) {
        let mut attrs = BTreeMap::new();
        attrs.insert("name".to_string(), rec.name.clone());
        attrs.insert("type".to_string(), rec.driver.clone());
        if let Some(c) = container {
            attrs.insert("container".to_string(), c.to_string());
        }
        self.events.publish("network", action, &rec.id, attrs);
    }

    /// Makes this node's copy of a swarm network (see `network::swarm`).
    pub async fn swarm_network_ensure(&self, n: &SwarmNetwork) -> Result<()> {
        let had = self.networks.find(&n.id).is_ok();
        self.networks.ensure_swarm(n).await?;
        if !had {
            if let Ok(rec) = self.networks.find(&n.id) {
                self.network_event("create", &rec, None);
            }
        }
        Ok(())
    }

    /// Removes this node's copy of a swarm network (refused while containers use it).
    pub async fn swarm_network_remove(&self, id: &str) -> Result<()> {
        let rec = self.networks.find(id)?;
        self.networks.remove_swarm(&rec.id).await?;
        self.network_event("destroy", &rec, None);
        Ok(())
    }

    /// Whether `name_or_id` is a local (not swarm) network, the built-ins included.
    pub fn is_local_network(&self, name_or_id: &str) -> bool {
        BUILTINS.contains(&name_or_id)
            || name_or_id == "bridge"
            || self.networks.find(name_or_id).is_ok_and(|r| !r.is_swarm())
    }

    /// The name of the local (not swarm) network with this name or id.
    pub fn local_network_name(&self, name_or_id: &str) -> Option<String> {
        if BUILTINS.contains(&name_or_id) || name_or_id == "bridge" {
            return Some(name_or_id.to_string());
        }
        // A built-in by its id (the docker CLI sends the id it inspected).
        if let Some(b) = BUILTINS.iter().find(|b| builtin_id(b) == name_or_id) {
            return Some(b.to_string());
        }
        self.networks
            .find(name_or_id)
            .ok()
            .filter(|r| !r.is_swarm())
            .map(|r| {
                if r.name.is_empty() {
                    name_or_id.to_string()
                } else {
                    r.name
                }
            })
    }

    /// The swarm networks this node has a copy of.
    pub fn swarm_network_ids(&self) -> Vec<String> {
        self.networks.swarm_ids()
    }

    /// The local networks' subnets (a swarm network must not overlap them).
    pub fn network_subnets(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .networks
            .list()
            .into_iter()
            .filter(|r| !r.config_only)
            .map(|r| r.subnet)
            .collect();
        if let Some(b) = self.networks.default_bridge() {
            v.push(b.subnet);
        }
        v
    }

    pub fn set_swarm_attacher(&self, a: Option<std::sync::Arc<dyn Attacher>>) {
        self.networks.set_attacher(a);
    }

    pub async fn set_swarm_lb(&self, lb: SwarmLb) {
        self.networks.set_swarm_lb(lb).await;
    }

    /// Daemon shutdown: berth's bridges and rules go when nothing uses them.
    pub fn network_shutdown(&self) {
        self.networks.shutdown();
    }
}
