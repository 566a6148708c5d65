//! The cluster state replicated by the raft log: one map per object kind, and the
//! commands that change it. A command is a batch of operations applied atomically at one
//! log index, which becomes the `Version.Index` of every object it writes (as swarmkit's
//! store versions objects by raft index). An update that names a version checks it first,
//! so concurrent writers get "update out of sequence" instead of losing a change.

use berth_api::swarm::{ClusterInfo, Config, Network, Node, Secret, Service, Task};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The cluster object: its public info plus what only managers see.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ClusterObject {
    pub info: ClusterInfo,
    pub worker_token: String,
    pub manager_token: String,
    /// The manager unlock key (`SWMKEY-1-...`), set while autolock is on.
    #[serde(default)]
    pub unlock_key: String,
    /// The root CA's private key (PEM); its certificate is `info.tls_info.trust_root`.
    #[serde(default)]
    pub root_ca_key: String,
}

/// The whole replicated state. Readers take it from [`crate::raft::Shared`].
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct State {
    pub cluster: Option<ClusterObject>,
    pub nodes: BTreeMap<String, Node>,
    pub services: BTreeMap<String, Service>,
    pub tasks: BTreeMap<String, Task>,
    pub secrets: BTreeMap<String, Secret>,
    pub configs: BTreeMap<String, Config>,
    /// Swarm-scoped networks (overlay, and the ingress network).
    #[serde(default)]
    pub networks: BTreeMap<String, Network>,
    /// The registry credentials a service's tasks pull with (`--with-registry-auth`: the
    /// client's encoded `X-Registry-Auth`), by service id. Not part of any API answer.
    #[serde(default)]
    pub registry_auth: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Kind {
    Node,
    Service,
    Task,
    Secret,
    Config,
    Network,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Node => "node",
            Kind::Service => "service",
            Kind::Task => "task",
            Kind::Secret => "secret",
            Kind::Config => "config",
            Kind::Network => "network",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Object {
    Node(Box<Node>),
    Service(Box<Service>),
    Task(Box<Task>),
    Secret(Secret),
    Config(Config),
    Network(Box<Network>),
}

impl Object {
    fn kind(&self) -> Kind {
        match self {
            Object::Node(_) => Kind::Node,
            Object::Service(_) => Kind::Service,
            Object::Task(_) => Kind::Task,
            Object::Secret(_) => Kind::Secret,
            Object::Config(_) => Kind::Config,
            Object::Network(_) => Kind::Network,
        }
    }
    fn id(&self) -> &str {
        match self {
            Object::Node(o) => &o.id,
            Object::Service(o) => &o.id,
            Object::Task(o) => &o.id,
            Object::Secret(o) => &o.id,
            Object::Config(o) => &o.id,
            Object::Network(o) => &o.id,
        }
    }
    /// Names unique per kind (services, secrets, configs).
    fn unique_name(&self) -> Option<&str> {
        match self {
            Object::Service(o) => Some(&o.spec.name),
            Object::Secret(o) => Some(&o.spec.name),
            Object::Config(o) => Some(&o.spec.name),
            Object::Network(o) => Some(&o.spec.name),
            _ => None,
        }
    }
    fn meta_mut(&mut self) -> &mut berth_api::swarm::Meta {
        match self {
            Object::Node(o) => &mut o.meta,
            Object::Service(o) => &mut o.meta,
            Object::Task(o) => &mut o.meta,
            Object::Secret(o) => &mut o.meta,
            Object::Config(o) => &mut o.meta,
            Object::Network(o) => &mut o.meta,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Op {
    /// Replaces the cluster object (init, update, token rotation).
    PutCluster(Box<ClusterObject>),
    /// Fails if the id exists or a unique name is taken.
    Create(Object),
    /// Fails if the object is gone, or (with `expect`) if its version moved on.
    Update { object: Object, expect: Option<u64> },
    /// Deleting a missing object is not an error (the reaper and a user may race).
    Delete { kind: Kind, id: String },
    /// A service's registry credentials (empty: none).
    SetRegistryAuth { service_id: String, auth: String },
}

/// One log entry's payload. `at` is the proposer's clock, so applying is deterministic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Command {
    pub at: String,
    pub ops: Vec<Op>,
}

/// What applying a command answered (kept in the log's responses, so serializable).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Applied {
    Ok {
        index: u64,
    },
    OutOfSequence,
    NameConflict {
        kind: Kind,
        name: String,
    },
    Exists {
        kind: Kind,
        id: String,
    },
    NotFound {
        kind: Kind,
        id: String,
    },
    /// Blank and membership entries.
    Nothing,
}

impl State {
    fn stored_version(&self, kind: Kind, id: &str) -> Option<u64> {
        match kind {
            Kind::Node => self.nodes.get(id).map(|o| o.meta.version.index),
            Kind::Service => self.services.get(id).map(|o| o.meta.version.index),
            Kind::Task => self.tasks.get(id).map(|o| o.meta.version.index),
            Kind::Secret => self.secrets.get(id).map(|o| o.meta.version.index),
            Kind::Config => self.configs.get(id).map(|o| o.meta.version.index),
            Kind::Network => self.networks.get(id).map(|o| o.meta.version.index),
        }
    }

    fn stored_created(&self, kind: Kind, id: &str) -> Option<String> {
        match kind {
            Kind::Node => self.nodes.get(id).map(|o| o.meta.created_at.clone()),
            Kind::Service => self.services.get(id).map(|o| o.meta.created_at.clone()),
            Kind::Task => self.tasks.get(id).map(|o| o.meta.created_at.clone()),
            Kind::Secret => self.secrets.get(id).map(|o| o.meta.created_at.clone()),
            Kind::Config => self.configs.get(id).map(|o| o.meta.created_at.clone()),
            Kind::Network => self.networks.get(id).map(|o| o.meta.created_at.clone()),
        }
    }

    fn name_taken(&self, kind: Kind, name: &str, except: &str) -> bool {
        match kind {
            Kind::Service => self
                .services
                .values()
                .any(|s| s.spec.name == name && s.id != except),
            Kind::Secret => self
                .secrets
                .values()
                .any(|s| s.spec.name == name && s.id != except),
            Kind::Config => self
                .configs
                .values()
                .any(|s| s.spec.name == name && s.id != except),
            Kind::Network => self
                .networks
                .values()
                .any(|s| s.spec.name == name && s.id != except),
            _ => false,
        }
    }

    /// Checks every operation against the state as it will be when the ones before it
    /// are applied (creates of the same batch count as taken names).
    fn check(&self, ops: &[Op]) -> Option<Applied> {
        let mut created: Vec<(Kind, String, Option<String>)> = Vec::new();
        for op in ops {
            match op {
                Op::PutCluster(_) | Op::Delete { .. } | Op::SetRegistryAuth { .. } => {}
                Op::Create(o) => {
                    let kind = o.kind();
                    if self.stored_version(kind, o.id()).is_some()
                        || created.iter().any(|(k, id, _)| *k == kind && id == o.id())
                    {
                        return Some(Applied::Exists {
                            kind,
                            id: o.id().to_string(),
                        });
                    }
                    if let Some(name) = o.unique_name() {
                        if self.name_taken(kind, name, "")
                            || created
                                .iter()
                                .any(|(k, _, n)| *k == kind && n.as_deref() == Some(name))
                        {
                            return Some(Applied::NameConflict {
                                kind,
                                name: name.to_string(),
                            });
                        }
                    }
                    created.push((kind, o.id().to_string(), o.unique_name().map(String::from)));
                }
                Op::Update { object, expect } => {
                    let kind = object.kind();
                    match self.stored_version(kind, object.id()) {
                        None => {
                            return Some(Applied::NotFound {
                                kind,
                                id: object.id().to_string(),
                            })
                        }
                        Some(v) => {
                            if expect.is_some_and(|e| e != v) {
                                return Some(Applied::OutOfSequence);
                            }
                        }
                    }
                    if let Some(name) = object.unique_name() {
                        if self.name_taken(kind, name, object.id()) {
                            return Some(Applied::NameConflict {
                                kind,
                                name: name.to_string(),
                            });
                        }
                    }
                }
            }
        }
        None
    }

    /// Applies a command at log index `index`: all of it, or (when a check fails) none.
    pub fn apply(&mut self, index: u64, cmd: &Command) -> Applied {
        if let Some(refused) = self.check(&cmd.ops) {
            return refused;
        }
        for op in &cmd.ops {
            match op {
                Op::PutCluster(c) => {
                    let mut c: ClusterObject = (**c).clone();
                    c.info.meta.version.index = index;
                    if c.info.meta.created_at.is_empty() {
                        c.info.meta.created_at = cmd.at.clone();
                    }
                    c.info.meta.updated_at = cmd.at.clone();
                    self.cluster = Some(c);
                }
                Op::Create(o) | Op::Update { object: o, .. } => {
                    let mut o = o.clone();
                    let kind = o.kind();
                    let created = self
                        .stored_created(kind, o.id())
                        .unwrap_or_else(|| cmd.at.clone());
                    let meta = o.meta_mut();
                    meta.version.index = index;
                    meta.created_at = created;
                    meta.updated_at = cmd.at.clone();
                    self.put(o);
                }
                Op::Delete { kind, id } => {
                    match kind {
                        Kind::Node => self.nodes.remove(id).map(|_| ()),
                        Kind::Service => {
                            self.registry_auth.remove(id);
                            self.services.remove(id).map(|_| ())
                        }
                        Kind::Task => self.tasks.remove(id).map(|_| ()),
                        Kind::Secret => self.secrets.remove(id).map(|_| ()),
                        Kind::Config => self.configs.remove(id).map(|_| ()),
                        Kind::Network => self.networks.remove(id).map(|_| ()),
                    };
                }
                Op::SetRegistryAuth { service_id, auth } => {
                    if auth.is_empty() {
                        self.registry_auth.remove(service_id);
                    } else {
                        self.registry_auth.insert(service_id.clone(), auth.clone());
                    }
                }
            }
        }
        Applied::Ok { index }
    }

    fn put(&mut self, o: Object) {
        match o {
            Object::Node(n) => {
                self.nodes.insert(n.id.clone(), *n);
            }
            Object::Service(s) => {
                self.services.insert(s.id.clone(), *s);
            }
            Object::Task(t) => {
                self.tasks.insert(t.id.clone(), *t);
            }
            Object::Secret(s) => {
                self.secrets.insert(s.id.clone(), s);
            }
            Object::Config(c) => {
                self.configs.insert(c.id.clone(), c);
            }
            Object::Network(n) => {
                self.networks.insert(n.id.clone(), *n);
            }
        }
    }

    /// A service by full id, name, or unique id prefix (moby's lookup order).
    pub fn find_service(&self, key: &str) -> Option<&Service> {
        if let Some(s) = self.services.get(key) {
            return Some(s);
        }
        if let Some(s) = self.services.values().find(|s| s.spec.name == key) {
            return Some(s);
        }
        unique_prefix(self.services.iter(), key)
    }

    pub fn find_node(&self, key: &str) -> Option<&Node> {
        if key == "self" {
            return None;
        }
        if let Some(n) = self.nodes.get(key) {
            return Some(n);
        }
        if let Some(n) = self
            .nodes
            .values()
            .find(|n| n.description.hostname == key || n.spec.name == key)
        {
            return Some(n);
        }
        unique_prefix(self.nodes.iter(), key)
    }

    pub fn find_task(&self, key: &str) -> Option<&Task> {
        if let Some(t) = self.tasks.get(key) {
            return Some(t);
        }
        unique_prefix(self.tasks.iter(), key)
    }

    pub fn find_secret(&self, key: &str) -> Option<&Secret> {
        if let Some(s) = self.secrets.get(key) {
            return Some(s);
        }
        if let Some(s) = self.secrets.values().find(|s| s.spec.name == key) {
            return Some(s);
        }
        unique_prefix(self.secrets.iter(), key)
    }

    pub fn find_config(&self, key: &str) -> Option<&Config> {
        if let Some(s) = self.configs.get(key) {
            return Some(s);
        }
        if let Some(s) = self.configs.values().find(|s| s.spec.name == key) {
            return Some(s);
        }
        unique_prefix(self.configs.iter(), key)
    }

    pub fn find_network(&self, key: &str) -> Option<&Network> {
        if let Some(s) = self.networks.get(key) {
            return Some(s);
        }
        if let Some(s) = self.networks.values().find(|s| s.spec.name == key) {
            return Some(s);
        }
        unique_prefix(self.networks.iter(), key)
    }

    /// The ingress network (the routing mesh's), when the swarm has one.
    pub fn ingress(&self) -> Option<&Network> {
        self.networks.values().find(|n| n.spec.ingress)
    }

    pub fn tasks_of<'a>(&'a self, service_id: &'a str) -> impl Iterator<Item = &'a Task> + 'a {
        self.tasks
            .values()
            .filter(move |t| t.service_id == service_id)
    }
}

fn unique_prefix<'a, T>(
    items: impl Iterator<Item = (&'a String, &'a T)>,
    key: &str,
) -> Option<&'a T> {
    if key.is_empty() {
        return None;
    }
    let mut found = None;
    for (id, v) in items {
        if id.starts_with(key) {
            if found.is_some() {
                return None;
            }
            found = Some(v);
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_api::swarm::{SecretSpec, ServiceSpec};

    fn svc(id: &str, name: &str) -> Object {
        Object::Service(Box::new(Service {
            id: id.into(),
            spec: ServiceSpec {
                name: name.into(),
                ..Default::default()
            },
            ..Default::default()
        }))
    }

    fn cmd(ops: Vec<Op>) -> Command {
        Command {
            at: "2026-01-01T00:00:00Z".into(),
            ops,
        }
    }

    #[test]
    fn versions_follow_the_log_index_and_stale_updates_are_refused() {
        let mut st = State::default();
        assert_eq!(
            st.apply(3, &cmd(vec![Op::Create(svc("a", "web"))])),
            Applied::Ok { index: 3 }
        );
        assert_eq!(st.services["a"].meta.version.index, 3);
        let stale = Op::Update {
            object: svc("a", "web"),
            expect: Some(2),
        };
        assert_eq!(st.apply(4, &cmd(vec![stale])), Applied::OutOfSequence);
        let good = Op::Update {
            object: svc("a", "web2"),
            expect: Some(3),
        };
        assert_eq!(st.apply(5, &cmd(vec![good])), Applied::Ok { index: 5 });
        assert_eq!(st.services["a"].meta.version.index, 5);
        assert_eq!(st.services["a"].meta.created_at, "2026-01-01T00:00:00Z");
        assert_eq!(st.find_service("web2").map(|s| s.id.as_str()), Some("a"));
    }

    #[test]
    fn a_refused_batch_changes_nothing() {
        let mut st = State::default();
        st.apply(1, &cmd(vec![Op::Create(svc("a", "web"))]));
        let before = st.clone();
        let r = st.apply(
            2,
            &cmd(vec![
                Op::Create(Object::Secret(Secret {
                    id: "s".into(),
                    spec: SecretSpec {
                        name: "pw".into(),
                        ..Default::default()
                    },
                    ..Default::default()
                })),
                Op::Create(svc("b", "web")),
            ]),
        );
        assert_eq!(
            r,
            Applied::NameConflict {
                kind: Kind::Service,
                name: "web".into()
            }
        );
        assert_eq!(st, before);
    }

    #[test]
    fn lookups_by_id_name_and_prefix() {
        let mut st = State::default();
        st.apply(
            1,
            &cmd(vec![
                Op::Create(svc("abc1", "x")),
                Op::Create(svc("abd2", "y")),
            ]),
        );
        assert!(st.find_service("ab").is_none(), "ambiguous prefix");
        assert_eq!(st.find_service("abd").map(|s| s.id.as_str()), Some("abd2"));
        assert_eq!(st.find_service("x").map(|s| s.id.as_str()), Some("abc1"));
        assert!(st.find_service("zzz").is_none());
    }
}
