//! A container's networks: the [`NetworkingConfig`] of a create body, the
//! [`EndpointSettings`] of one network (asked for at create or `network connect`, answered
//! by inspect), and the addresses asked for ([`EndpointIpamConfig`]); the bodies of
//! network create/connect/disconnect and the network itself as inspect and list answer it
//! ([`NetworkInspect`]).

use super::IndexMap;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// `NetworkingConfig` of a create body: the endpoint settings per network name.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkingConfig {
    #[serde(default, deserialize_with = "super::null_as_default")]
    pub endpoints_config: BTreeMap<String, EndpointSettings>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One network of a container (moby's network.EndpointSettings): the configuration part
/// (IPAM config, links, aliases, MAC, driver options, gateway priority) a client sends,
/// and the operational part inspect fills in.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EndpointSettings {
    #[serde(rename = "IPAMConfig", default)]
    pub ipam_config: Option<EndpointIpamConfig>,
    #[serde(rename = "Links", default)]
    pub links: Option<Vec<String>>,
    #[serde(rename = "Aliases", default)]
    pub aliases: Option<Vec<String>>,
    #[serde(rename = "MacAddress", default)]
    pub mac_address: String,
    #[serde(rename = "DriverOpts", default)]
    pub driver_opts: Option<BTreeMap<String, String>>,
    #[serde(rename = "GwPriority", default)]
    pub gw_priority: i64,
    #[serde(rename = "NetworkID", default)]
    pub network_id: String,
    #[serde(rename = "EndpointID", default)]
    pub endpoint_id: String,
    #[serde(rename = "Gateway", default)]
    pub gateway: String,
    #[serde(rename = "IPAddress", default)]
    pub ip_address: String,
    #[serde(rename = "IPPrefixLen", default)]
    pub ip_prefix_len: i64,
    #[serde(rename = "IPv6Gateway", default)]
    pub ipv6_gateway: String,
    #[serde(rename = "GlobalIPv6Address", default)]
    pub global_ipv6_address: String,
    #[serde(rename = "GlobalIPv6PrefixLen", default)]
    pub global_ipv6_prefix_len: i64,
    #[serde(rename = "DNSNames", default)]
    pub dns_names: Option<Vec<String>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The addresses an endpoint asks for (`--ip`, `--ip6`, `--link-local-ip`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EndpointIpamConfig {
    #[serde(
        rename = "IPv4Address",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub ipv4_address: Option<String>,
    #[serde(
        rename = "IPv6Address",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub ipv6_address: Option<String>,
    #[serde(
        rename = "LinkLocalIPs",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub link_local_ips: Option<Vec<String>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `POST /networks/{id}/connect`. The daemon reads the whole [`EndpointSettings`] (as
/// moby's `ConnectOptions` carries it; Compose sends it so); `berth network connect`
/// sends only the configuration part it sets ([`EndpointConfig`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NetworkConnectBody<E = EndpointSettings> {
    #[serde(
        rename = "Container",
        default,
        deserialize_with = "super::null_as_default"
    )]
    pub container: String,
    #[serde(rename = "EndpointConfig", default)]
    pub endpoint_config: Option<E>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The configuration part of [`EndpointSettings`] that `berth network connect` sets, in
/// the same field order; the daemon reads it as an `EndpointSettings` whose other fields
/// are empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct EndpointConfig {
    #[serde(rename = "IPAMConfig", default)]
    pub ipam_config: Option<EndpointIpamConfig>,
    #[serde(rename = "Links", default, deserialize_with = "super::null_as_default")]
    pub links: Vec<String>,
    #[serde(
        rename = "Aliases",
        default,
        deserialize_with = "super::null_as_default"
    )]
    pub aliases: Vec<String>,
    #[serde(
        rename = "DriverOpts",
        default,
        deserialize_with = "super::null_as_default"
    )]
    pub driver_opts: BTreeMap<String, String>,
    #[serde(rename = "GwPriority", default)]
    pub gw_priority: i64,
}

/// `POST /networks/{id}/disconnect` (moby's `DisconnectOptions`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NetworkDisconnectBody {
    #[serde(
        rename = "Container",
        default,
        deserialize_with = "super::null_as_default"
    )]
    pub container: String,
    #[serde(rename = "Force", default, deserialize_with = "super::null_as_default")]
    pub force: bool,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `POST /networks/create` (moby's `network.CreateRequest`). Senders differ in what they
/// write (the berth CLI writes every field as the docker CLI's struct does, Compose and
/// `stack deploy` a subset), so the fields not every sender writes are `Option`s skipped
/// when `None`; `null` reads as absent throughout (Go and Python clients send it).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NetworkCreateBody {
    #[serde(rename = "Name", default, deserialize_with = "super::null_as_default")]
    pub name: String,
    #[serde(
        rename = "Driver",
        default,
        deserialize_with = "super::null_as_default"
    )]
    pub driver: String,
    #[serde(rename = "Scope", default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// `Some(None)` is written `null` (the berth CLI without `--ipv6`).
    #[serde(
        rename = "EnableIPv6",
        default,
        deserialize_with = "super::some_option",
        skip_serializing_if = "Option::is_none"
    )]
    pub enable_ipv6: Option<Option<bool>>,
    /// API 1.48+ (docker CLI 28 `--ipv4`): written only when the flag was given.
    #[serde(
        rename = "EnableIPv4",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub enable_ipv4: Option<bool>,
    #[serde(rename = "IPAM", default, skip_serializing_if = "Option::is_none")]
    pub ipam: Option<NetworkIpam>,
    #[serde(
        rename = "Internal",
        default,
        deserialize_with = "super::null_as_default"
    )]
    pub internal: bool,
    #[serde(
        rename = "Attachable",
        default,
        deserialize_with = "super::null_as_default"
    )]
    pub attachable: bool,
    #[serde(rename = "Ingress", default, skip_serializing_if = "Option::is_none")]
    pub ingress: Option<bool>,
    #[serde(
        rename = "ConfigOnly",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub config_only: Option<bool>,
    #[serde(
        rename = "ConfigFrom",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub config_from: Option<ConfigReference>,
    #[serde(
        rename = "Options",
        default,
        deserialize_with = "super::null_as_default"
    )]
    pub options: BTreeMap<String, String>,
    #[serde(
        rename = "Labels",
        default,
        deserialize_with = "super::null_as_default"
    )]
    pub labels: BTreeMap<String, String>,
    /// Deprecated since API 1.44; Compose still sends `true`.
    #[serde(
        rename = "CheckDuplicate",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub check_duplicate: Option<bool>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `IPAM` of a network create body (moby's `network.IPAM`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NetworkIpam {
    #[serde(
        rename = "Driver",
        default,
        deserialize_with = "super::null_as_default"
    )]
    pub driver: String,
    /// The berth CLI writes it (`--ipam-opt`), Compose does not.
    #[serde(rename = "Options", default, skip_serializing_if = "Option::is_none")]
    pub options: Option<BTreeMap<String, String>>,
    #[serde(
        rename = "Config",
        default,
        deserialize_with = "super::null_as_default"
    )]
    pub config: Vec<NetworkIpamConfig>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One pool of `IPAM.Config` (moby's `network.IPAMConfig`, its field order); each field is
/// written when set (the berth CLI sets all three, empty or not; Compose the non-empty ones).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NetworkIpamConfig {
    #[serde(rename = "Subnet", default, skip_serializing_if = "Option::is_none")]
    pub subnet: Option<String>,
    #[serde(rename = "IPRange", default, skip_serializing_if = "Option::is_none")]
    pub ip_range: Option<String>,
    #[serde(rename = "Gateway", default, skip_serializing_if = "Option::is_none")]
    pub gateway: Option<String>,
    #[serde(
        rename = "AuxiliaryAddresses",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub aux_addresses: Option<BTreeMap<String, String>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `ConfigFrom` of a network create body: the config-only network this one takes its
/// configuration from.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ConfigReference {
    #[serde(
        rename = "Network",
        default,
        deserialize_with = "super::null_as_default"
    )]
    pub network: String,
}

/// `{"Id", "Warning"}`: the answer to `POST /networks/create`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NetworkCreateResponse {
    #[serde(rename = "Id", default)]
    pub id: String,
    #[serde(rename = "Warning", default)]
    pub warning: String,
}

/// A network as `GET /networks/{id}` and each entry of `GET /networks` answer it (moby's
/// `network.Inspect`, the fields berth fills, in its order).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkInspect {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Id")]
    pub id: String,
    /// RFC 3339 with nanoseconds (`0001-01-01T00:00:00Z` for the built-in ones).
    #[serde(rename = "Created")]
    pub created: String,
    /// `local` or `swarm`.
    #[serde(rename = "Scope")]
    pub scope: String,
    #[serde(rename = "Driver")]
    pub driver: String,
    #[serde(rename = "EnableIPv4")]
    pub enable_ipv4: bool,
    #[serde(rename = "EnableIPv6")]
    pub enable_ipv6: bool,
    #[serde(rename = "IPAM")]
    pub ipam: NetworkIpamInfo,
    #[serde(rename = "Internal")]
    pub internal: bool,
    #[serde(rename = "Attachable")]
    pub attachable: bool,
    #[serde(rename = "Ingress")]
    pub ingress: bool,
    #[serde(rename = "ConfigFrom")]
    pub config_from: ConfigReference,
    #[serde(rename = "ConfigOnly")]
    pub config_only: bool,
    /// By container id, in the order of the containers' names; `null` for a swarm network
    /// this node has no copy of.
    #[serde(rename = "Containers")]
    pub containers: Option<IndexMap<String, NetworkContainer>>,
    #[serde(rename = "Options", deserialize_with = "super::null_as_default")]
    pub options: BTreeMap<String, String>,
    #[serde(rename = "Labels", deserialize_with = "super::null_as_default")]
    pub labels: BTreeMap<String, String>,
}

/// `IPAM` of a network's inspect: unlike the create body's [`NetworkIpam`], `Options` and
/// `Config` are always written (`null` for the built-in networks).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkIpamInfo {
    #[serde(rename = "Driver")]
    pub driver: String,
    #[serde(rename = "Options")]
    pub options: Option<BTreeMap<String, String>>,
    #[serde(rename = "Config")]
    pub config: Option<Vec<NetworkIpamConfig>>,
}

/// One container of a network's `Containers` (moby's `network.EndpointResource`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkContainer {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "EndpointID")]
    pub endpoint_id: String,
    #[serde(rename = "MacAddress")]
    pub mac_address: String,
    /// `address/prefix`.
    #[serde(rename = "IPv4Address")]
    pub ipv4_address: String,
    /// `address/prefix`, or "" without IPv6.
    #[serde(rename = "IPv6Address")]
    pub ipv6_address: String,
}

impl NetworkCreateBody {
    /// `EnableIPv6`, false when absent or null.
    pub fn ipv6(&self) -> bool {
        self.enable_ipv6.flatten().unwrap_or(false)
    }

    /// The `IPAM.Config` pools, none when `IPAM` is absent.
    pub fn pools(&self) -> &[NetworkIpamConfig] {
        self.ipam.as_ref().map(|i| &i.config[..]).unwrap_or(&[])
    }
}

impl EndpointSettings {
    /// The IPv4 address asked for (`IPAMConfig.IPv4Address`), if any and not empty.
    pub fn requested_ipv4(&self) -> Option<&str> {
        let ipam = self.ipam_config.as_ref()?;
        ipam.ipv4_address.as_deref().filter(|s| !s.is_empty())
    }

    /// The IPv6 address asked for (`IPAMConfig.IPv6Address`), if any and not empty.
    pub fn requested_ipv6(&self) -> Option<&str> {
        let ipam = self.ipam_config.as_ref()?;
        ipam.ipv6_address.as_deref().filter(|s| !s.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_empty_endpoint_is_written_as_docker_writes_it() {
        assert_eq!(
            serde_json::to_string(&EndpointSettings::default()).expect("writes"),
            r#"{"IPAMConfig":null,"Links":null,"Aliases":null,"MacAddress":"","DriverOpts":null,"GwPriority":0,"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":null}"#
        );
        let e: EndpointSettings =
            serde_json::from_str(r#"{"Aliases":["a"],"IPAMConfig":{"IPv4Address":""},"X":1}"#)
                .expect("parses");
        assert_eq!(e.aliases.as_deref(), Some(&["a".to_string()][..]));
        assert_eq!(
            e.ipam_config.and_then(|i| i.ipv4_address).as_deref(),
            Some("")
        );
        assert_eq!(e.extra.get("X"), Some(&Value::from(1)));
    }
}
