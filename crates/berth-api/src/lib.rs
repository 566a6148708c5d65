//! Docker Engine API models shared by the daemon and the CLI, and small shared helpers.

pub mod atomic;
pub mod detach;
pub mod filters;
pub mod hostport;
pub mod human;
pub mod idmap;
pub mod models;
pub mod pathstat;
pub mod swarm;
pub mod sysctl;
pub mod tarfs;
pub mod version;
