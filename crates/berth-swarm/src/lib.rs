//! Swarm mode: the cluster state in a replicated log (openraft, one manager today), the
//! orchestrator (services → tasks), the scheduler (tasks → nodes) and the node agent
//! (tasks → containers through an [`agent::Executor`]).
//!
//! No HTTP here: berth-daemon's `routes/swarm` serves the Engine API on top of
//! [`cluster::Cluster`]. The orchestrator and scheduler are pure functions over the
//! [`store::State`] that return the changes to commit, so they are tested without a kernel;
//! the agent drives containers only through its executor trait. The allocator hands out
//! swarm networks' subnets, VIPs, ports and addresses; `netplan` turns the state into what
//! one node's networking needs (its networks, the services' records and balancing).

pub mod agent;
pub mod allocator;
pub mod ca;
pub mod cluster;
pub mod crypto;
pub mod error;
pub mod executor;
pub mod ids;
pub mod listen_addr;
pub mod netplan;
pub mod orchestrator;
pub mod predefined;
pub mod raft;
pub mod scheduler;
pub mod store;

pub use cluster::Cluster;
pub use error::{Result, SwarmError};
