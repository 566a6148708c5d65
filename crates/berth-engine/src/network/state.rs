//! A network's in-memory state: its record, its IPv4 pool (and IPv6 pool on an IPv6
//! network) and the addresses handed out, by container. A configuration-only network
//! (`--config-only`) has no pool: moby allocates nothing for it, so its subnet stays free
//! for the networks made `--config-from` it.

use crate::model::NetworkRecord;
use berth_net::ipam::Pool;
use std::collections::HashMap;
use std::net::Ipv4Addr;

pub(super) struct Net {
    pub(super) rec: NetworkRecord,
    /// None on a configuration-only network.
    pub(super) pool: Option<Pool>,
    /// container id -> address
    pub(super) users: HashMap<String, Ipv4Addr>,
    /// The IPv6 pool of an IPv6 network, and its addresses handed out.
    pub(super) pool6: Option<berth_net::ipam6::Pool>,
    pub(super) users6: HashMap<String, std::net::Ipv6Addr>,
}
