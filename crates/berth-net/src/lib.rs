//! Container networking for berth: Linux bridges, IP address management, network
//! namespaces with veth pairs or macvlan/ipvlan links and their parents (configured over netlink, no `ip` processes), and the
//! daemon's own nftables table (isolation, masquerade), published ports' reservations, and
//! the `plane::DataPlane` seam through which the engine reaches all of it.
//!
//! Everything here is synchronous and may block briefly: call it from `spawn_blocking`.

pub mod bridge;
pub mod dns;
pub mod dns6;
pub mod firewall;
mod firewall6;
pub mod ipam;
pub mod ipam6;
pub mod iptables;
pub mod lb;
pub mod netlink;
pub mod netns;
pub mod nft_probe;
pub mod parent;
pub mod plane;
pub mod ports;
pub mod route;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum NetError {
    #[error("netlink: {op}: {source}")]
    Netlink {
        op: String,
        #[source]
        source: std::io::Error,
    },
    #[error("network namespace {path}: {source}")]
    Netns {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("nftables: {0}")]
    Firewall(String),
    #[error("{0}")]
    Invalid(String),
}

pub type Result<T, E = NetError> = std::result::Result<T, E>;
