//! Network modes (`HostConfig.NetworkMode`) and the built-in networks: which modes name no
//! user-defined network, which mean the default bridge, and the built-in networks' ids.
//!
//! `--network container:NAME` joins NAME's namespace (its berth netns file, else
//! /proc/PID/ns/net; NAME must run) and gets NAME's /etc/hosts and resolv.conf as they are
//! at its start; its exit leaves NAME's networking alone.

use crate::model::NetworkRecord;

/// The default bridge network's name, as Docker's.
pub const DEFAULT_NETWORK: &str = "bridge";

/// Network modes that are not user-defined networks.
pub fn is_builtin_mode(mode: &str) -> bool {
    matches!(mode, "" | "default" | "bridge" | "none" | "host") || mode.starts_with("container:")
}

/// The modes that mean "the default network" (`HostConfig.NetworkMode`).
pub fn is_default_mode(mode: &str) -> bool {
    matches!(mode, "" | "default" | DEFAULT_NETWORK)
}

/// Whether a record is the default bridge network (no user network can be named so).
pub fn is_default(rec: &NetworkRecord) -> bool {
    rec.name == DEFAULT_NETWORK
}

/// Stable ids for the built-in networks (a hash of the name).
pub fn builtin_id(name: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(format!("berth-builtin-network/{name}")))
}
