//! The seams through which the engine reaches the kernel and other processes: a runtime
//! adapter (shims: spawn, start, signal, wait, attach, exec), a network data plane
//! (namespaces, links, addresses, routes, firewall rules, resolver sockets, port
//! reservations) and a rootfs/volume mounter. The real implementations live in the crates
//! that own those effects (berth-runtime, berth-net, berth-image); the unit tests build an
//! `Engine` over a temporary directory with recording fakes (`crate::fakes`).

use berth_image::mounter::{HostMounter, Mounter};
use berth_net::plane::{DataPlane, HostDataPlane};
use berth_runtime::adapter::{RuntimeAdapter, ShimRuntime};
use std::sync::Arc;

#[derive(Clone)]
pub struct Seams {
    pub runtime: Arc<dyn RuntimeAdapter>,
    pub plane: Arc<dyn DataPlane>,
    pub mounter: Arc<dyn Mounter>,
}

impl Seams {
    /// The host's: `berthd shim` processes, netlink and nftables, overlay mounts.
    pub fn host() -> Seams {
        Seams {
            runtime: Arc::new(ShimRuntime),
            plane: Arc::new(HostDataPlane),
            mounter: Arc::new(HostMounter),
        }
    }
}
