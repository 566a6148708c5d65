//! Networks as stored (`networks/<id>.json`) and a container's endpoints on them, kept in
//! its record: what was asked for at create/connect and, while it runs, what it got.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A network as stored.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct NetworkRecord {
    pub id: String,
    pub name: String,
    pub created: DateTime<Utc>,
    pub driver: String,
    pub subnet: String,
    pub gateway: String,
    /// The subnet was given without a gateway: inspect's `IPAM.Config` shows no gateway,
    /// as Docker shows the pool's configuration as given.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub gateway_implicit: bool,
    #[serde(default)]
    pub ip_range: Option<String>,
    pub internal: bool,
    #[serde(default)]
    pub attachable: bool,
    #[serde(default)]
    pub enable_ipv6: bool,
    /// The IPv6 subnet, gateway and range (`--ipv6`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subnet6: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gateway6: Option<String>,
    /// The IPv6 subnet was given without a gateway: inspect shows none (as for IPv4).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub gateway6_implicit: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ip_range6: Option<String>,
    /// The IPv4 (`subnet_auto`) or IPv6 (`subnet6_auto`) subnet was picked by the daemon
    /// from its pools, not given by the user: moby refuses a static address on such a
    /// network ("user specified IP address is supported only when connecting to networks
    /// with user configured subnets", its IpamConf.IsStatic). A record written before these
    /// fields existed reads as user-configured (false): it keeps accepting the static
    /// addresses it accepted when it was made, so an existing project does not start
    /// failing after an upgrade; a network made since records what it was given.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub subnet_auto: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub subnet6_auto: bool,
    /// `--aux-address` of the IPv4 and the IPv6 pool (`IPAM.Config[].AuxiliaryAddresses`):
    /// reserved in the pools, never given to a container. `DefaultGatewayIPv4`/`IPv6`
    /// is the containers' default gateway instead of the bridge's address (moby's bridge
    /// driver).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub aux_addresses: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub aux_addresses6: BTreeMap<String, String>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    #[serde(default)]
    pub ipam_options: BTreeMap<String, String>,
    /// The Linux bridge ("" for a macvlan/ipvlan network, which has none).
    pub bridge: String,
    #[serde(default)]
    pub mtu: Option<u32>,
    /// "swarm" for this node's copy of a swarm-scoped (overlay) network, whose addresses
    /// the swarm hands out; empty for a local network, or the scope it was created with
    /// (`--scope global`: moby 28 keeps such a network local and shows that word).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scope: String,
    /// The swarm's ingress network (the routing mesh's).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub ingress: bool,
    /// A macvlan/ipvlan network's parent interface (`-o parent`, or its dummy link).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub parent: String,
    /// The parent was made for this network (its dummy link or an `IF.VLAN`
    /// sub-interface): it goes with the network's last user of it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub parent_created: bool,
    /// A configuration-only network (`--config-only`): it holds the IPAM configuration,
    /// driver options and labels as given, for networks made `--config-from` it. No
    /// bridge, no pool, driver "null", nothing can attach to it (moby's libnetwork).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub config_only: bool,
    /// The configuration-only network this one took its configuration from
    /// (`--config-from`, by name as moby keeps it); it cannot be removed while this exists.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub config_from: String,
}

impl NetworkRecord {
    /// A record with only its identity: created now, no addresses, options or flags
    /// (the base of `NetworkRecord { .., ..NetworkRecord::new(..) }` where most fields
    /// are empty, e.g. a configuration-only network).
    pub fn new(id: impl Into<String>, name: impl Into<String>, driver: impl Into<String>) -> Self {
        NetworkRecord {
            id: id.into(),
            name: name.into(),
            created: Utc::now(),
            driver: driver.into(),
            subnet: String::new(),
            gateway: String::new(),
            gateway_implicit: false,
            ip_range: None,
            internal: false,
            attachable: false,
            enable_ipv6: false,
            subnet6: None,
            gateway6: None,
            gateway6_implicit: false,
            ip_range6: None,
            subnet_auto: false,
            subnet6_auto: false,
            aux_addresses: BTreeMap::new(),
            aux_addresses6: BTreeMap::new(),
            labels: BTreeMap::new(),
            options: BTreeMap::new(),
            ipam_options: BTreeMap::new(),
            bridge: String::new(),
            mtu: None,
            scope: String::new(),
            ingress: false,
            parent: String::new(),
            parent_created: false,
            config_only: false,
            config_from: String::new(),
        }
    }

    /// The containers' default gateway: the `DefaultGatewayIPv4` auxiliary address when
    /// given (moby's bridge driver), else the network's gateway.
    pub fn container_gateway(&self) -> std::net::Ipv4Addr {
        self.aux_addresses
            .get("DefaultGatewayIPv4")
            .unwrap_or(&self.gateway)
            .parse()
            .unwrap_or(std::net::Ipv4Addr::UNSPECIFIED)
    }

    /// The containers' IPv6 default gateway: the `DefaultGatewayIPv6` auxiliary address
    /// when given (moby's bridge driver), else the network's IPv6 gateway.
    pub fn container_gateway6(&self) -> Option<&str> {
        self.aux_addresses6
            .get("DefaultGatewayIPv6")
            .or(self.gateway6.as_ref())
            .map(String::as_str)
    }

    pub fn is_swarm(&self) -> bool {
        self.scope == "swarm"
    }

    /// Whether the network is a Linux bridge of berth's (not a macvlan/ipvlan network).
    pub fn has_bridge(&self) -> bool {
        !self.bridge.is_empty()
    }
}

/// A container's endpoint on one network, kept in the container's record.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct EndpointRecord {
    /// Requested at create: `--network-alias`.
    #[serde(default)]
    pub aliases: Vec<String>,
    /// Requested at create: `--ip`.
    #[serde(default)]
    pub ipv4_request: Option<String>,
    /// Requested at create: `--ip6`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ipv6_request: Option<String>,
    /// Requested at create or connect: `--link-local-ip`, extra addresses of the
    /// interface (link-local only).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub link_local_ips: Vec<String>,
    /// Requested: `driver-opt=` (shown in inspect as given).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub driver_opts: BTreeMap<String, String>,
    /// Requested: the interface's MAC address (`--mac-address`), else one from its IPv4
    /// address.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mac_request: Option<String>,
    /// Requested: `--link` on this user-defined network (`NAME:ALIAS`, as given).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub links: Vec<String>,
    /// Filled while the container runs.
    #[serde(default)]
    pub network_id: String,
    #[serde(default)]
    pub endpoint_id: String,
    #[serde(default)]
    pub ip: String,
    #[serde(default)]
    pub prefix: u8,
    #[serde(default)]
    pub gateway: String,
    #[serde(default)]
    pub mac: String,
    #[serde(default)]
    pub host_veth: String,
    /// The IPv6 address, prefix and gateway on an IPv6 network (while it runs).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ip6: String,
    #[serde(default, skip_serializing_if = "is_zero")]
    pub prefix6: u8,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub gateway6: String,
    /// The interface in the container ("" for the first network's, eth0).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub ifname: String,
    /// Published ports (on the container's first network).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ports: Vec<PortMapping>,
    /// On a macvlan/ipvlan network (while it runs): its driver programs no port mapping
    /// nor exposure, so inspect and ps show none for it (libnetwork's macvlan and ipvlan
    /// drivers report no port information).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub no_port_mapping: bool,
}

/// A published port of a running container: its host side and its container side.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PortMapping {
    pub proto: String,
    pub container_port: u16,
    /// "0.0.0.0" for every address of the host.
    pub host_ip: String,
    pub host_port: u16,
}

fn is_zero(v: &u8) -> bool {
    *v == 0
}
