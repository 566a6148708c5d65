//! The node-local networks a service may name: swarmkit's predefined networks on Linux,
//! `bridge` and `host`. moby resolves `--network host|bridge` to them, and its executor
//! runs a task whose first network is one of them in that network mode (`host`: the
//! node's own network namespace; `bridge`: the default bridge). They have no subnet, no
//! VIP and no addresses, so they are not in the store: each has a fixed id per cluster
//! (derived from the cluster id, so every node agrees) and a view for `network inspect`.
//!
//! The agent passes the name as the task's network mode (`agent::TaskRun::network_mode`; with
//! `host` the service's host-mode ports are dropped, as moby does). `none`, another network
//! beside a predefined one, or an ingress port on one are refused; `network inspect ID`
//! shows it with moby's `com.docker.swarm.predefined` label and `network rm` refuses it.

use crate::store::State;
use berth_api::swarm::{Driver, Network, NetworkSpec};
use std::collections::BTreeMap;

/// The label moby's predefined swarm networks carry.
pub const LABEL: &str = "com.docker.swarm.predefined";
/// The predefined networks of a Linux node.
pub const NAMES: [&str; 2] = ["bridge", "host"];

/// The id of predefined network `name` in the cluster `cluster_id` (25 base-36
/// characters, like every swarm id).
pub fn id(cluster_id: &str, name: &str) -> String {
    let d = ring::digest::digest(
        &ring::digest::SHA256,
        format!("{cluster_id}/predefined/{name}").as_bytes(),
    );
    let mut b = [0u8; 16];
    b.copy_from_slice(&d.as_ref()[..16]);
    crate::ids::base36(u128::from_be_bytes(b), 25)
}

fn cluster_id(st: &State) -> &str {
    st.cluster
        .as_ref()
        .map(|c| c.info.id.as_str())
        .unwrap_or("")
}

/// The predefined network `key` names (its name or its id), if it is one.
pub fn find(st: &State, key: &str) -> Option<&'static str> {
    let cid = cluster_id(st);
    NAMES.into_iter().find(|n| *n == key || id(cid, n) == key)
}

/// The predefined network a service spec's task runs in (its first network), if any.
pub fn mode_of(st: &State, targets: &[String]) -> Option<&'static str> {
    targets.first().and_then(|t| find(st, t))
}

/// The predefined network as `GET /networks/{id}` shows it (scope swarm, moby's label).
pub fn view(st: &State, key: &str) -> Option<Network> {
    let name = find(st, key)?;
    let mut labels = BTreeMap::new();
    labels.insert(LABEL.to_string(), "true".to_string());
    // Made with the cluster (docker's CLI parses `Created`).
    let created = st
        .cluster
        .as_ref()
        .map(|c| c.info.meta.created_at.clone())
        .unwrap_or_default();
    Some(Network {
        id: id(cluster_id(st), name),
        meta: berth_api::swarm::Meta {
            created_at: created,
            ..Default::default()
        },
        spec: NetworkSpec {
            name: name.into(),
            labels,
            driver_configuration: Some(Driver {
                name: name.into(),
                options: None,
            }),
            scope: "swarm".into(),
            ..Default::default()
        },
        driver_state: Driver {
            name: name.into(),
            options: None,
        },
        ..Default::default()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_per_cluster_and_stable() {
        let a = id("c1", "host");
        assert_eq!(a.len(), 25);
        assert_eq!(a, id("c1", "host"));
        assert_ne!(a, id("c2", "host"));
        assert_ne!(a, id("c1", "bridge"));
        let st = State::default();
        assert_eq!(find(&st, "host"), Some("host"));
        assert_eq!(find(&st, &id("", "bridge")), Some("bridge"));
        assert_eq!(find(&st, "none"), None);
        assert_eq!(mode_of(&st, &[id("", "host"), "x".into()]), Some("host"));
        let v = view(&st, "bridge").map(|n| (n.spec.name, n.spec.labels.get(LABEL).cloned()));
        assert_eq!(v, Some(("bridge".into(), Some("true".into()))));
    }
}
