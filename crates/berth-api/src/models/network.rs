//! A container's networks: the [`NetworkingConfig`] of a create body, the
//! [`EndpointSettings`] of one network (asked for at create or `network connect`, answered
//! by inspect), and the addresses asked for ([`EndpointIpamConfig`]).

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

/// `POST /networks/{id}/connect`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct NetworkConnectBody {
    #[serde(rename = "Container", default)]
    pub container: String,
    #[serde(rename = "EndpointConfig", default)]
    pub endpoint_config: Option<EndpointSettings>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
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
