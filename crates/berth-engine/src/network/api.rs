//! Networks as the Engine API shows them: the create body, inspect JSON, list filters.

use super::mode::{builtin_id, is_builtin_mode};
use crate::error::{EngineError, Result};
use crate::model::{format_time, ContainerRecord, EndpointRecord, NetworkRecord};
use berth_api::filters::Filters;
use berth_api::models::{EndpointIpamConfig, EndpointSettings};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// What `POST /networks/create` asks for, parsed.
#[derive(Debug, Default)]
pub struct CreateRequest {
    pub name: String,
    pub driver: String,
    pub subnet: Option<String>,
    pub gateway: Option<String>,
    pub ip_range: Option<String>,
    pub internal: bool,
    pub attachable: bool,
    pub enable_ipv6: bool,
    pub v6: super::ipv6::Request6,
    pub labels: BTreeMap<String, String>,
    pub options: BTreeMap<String, String>,
    pub ipam_options: BTreeMap<String, String>,
}

fn str_map(v: Option<&Value>) -> BTreeMap<String, String> {
    v.and_then(|v| v.as_object())
        .map(|o| {
            o.iter()
                .map(|(k, v)| (k.clone(), v.as_str().unwrap_or_default().to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// `POST /networks/create`'s body.
pub fn parse_create(body: &Value) -> Result<CreateRequest> {
    let s = |k: &str| body.get(k).and_then(|v| v.as_str()).unwrap_or_default();
    let b = |k: &str| body.get(k).and_then(|v| v.as_bool()).unwrap_or(false);
    let mut req = CreateRequest {
        name: s("Name").to_string(),
        driver: s("Driver").to_string(),
        internal: b("Internal"),
        attachable: b("Attachable"),
        enable_ipv6: b("EnableIPv6"),
        labels: str_map(body.get("Labels")),
        options: str_map(body.get("Options")),
        ..Default::default()
    };
    if let Some(ipam) = body.get("IPAM").filter(|v| !v.is_null()) {
        let driver = ipam.get("Driver").and_then(|v| v.as_str()).unwrap_or("");
        if !driver.is_empty() && driver != "default" {
            return Err(EngineError::NotFound(format!(
                "plugin \"{driver}\" not found"
            )));
        }
        req.ipam_options = str_map(ipam.get("Options"));
        let configs = ipam
            .get("Config")
            .and_then(|c| c.as_array())
            .cloned()
            .unwrap_or_default();
        let v4: Vec<&Value> = configs
            .iter()
            .filter(|c| {
                !c.get("Subnet")
                    .and_then(|s| s.as_str())
                    .unwrap_or("")
                    .contains(':')
            })
            .collect();
        if v4.len() > 1 {
            return Err(EngineError::InvalidParameter(
                "berth supports one IPv4 subnet per network".into(),
            ));
        }
        if configs.len() - v4.len() > 1 {
            return Err(EngineError::InvalidParameter(
                "berth supports one IPv6 subnet per network".into(),
            ));
        }
        if let Some(c) = configs.iter().find(|c| !v4.contains(c)) {
            let get = |k: &str| {
                c.get(k)
                    .and_then(|v| v.as_str())
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
            };
            req.v6 = super::ipv6::Request6 {
                subnet: get("Subnet"),
                gateway: get("Gateway"),
                ip_range: get("IPRange"),
            };
        }
        if let Some(c) = v4.first() {
            let get = |k: &str| {
                c.get(k)
                    .and_then(|v| v.as_str())
                    .filter(|s| !s.is_empty())
                    .map(str::to_string)
            };
            req.subnet = get("Subnet");
            req.gateway = get("Gateway");
            req.ip_range = get("IPRange");
        }
    }
    Ok(req)
}

/// One container's entry of `Containers` in network inspect.
pub struct Member {
    pub id: String,
    pub name: String,
    pub endpoint: EndpointRecord,
}

/// `GET /networks/{id}` (and each entry of the list, with `members` empty).
pub fn inspect(rec: &NetworkRecord, members: &[Member]) -> Value {
    let mut containers = Map::new();
    for m in members {
        containers.insert(
            m.id.clone(),
            json!({
                "Name": m.name,
                "EndpointID": m.endpoint.endpoint_id,
                "MacAddress": m.endpoint.mac,
                "IPv4Address": format!("{}/{}", m.endpoint.ip, m.endpoint.prefix),
                "IPv6Address": if m.endpoint.ip6.is_empty() {
                    String::new()
                } else {
                    format!("{}/{}", m.endpoint.ip6, m.endpoint.prefix6)
                },
            }),
        );
    }
    // Fields in the order of moby's IPAMConfig (Subnet, IPRange, Gateway): clients that
    // keep the order (berth's `json` template function) print them as docker does.
    let mut cfg = json!({ "Subnet": rec.subnet });
    if let Some(r) = &rec.ip_range {
        cfg["IPRange"] = json!(r);
    }
    if !rec.gateway_implicit {
        cfg["Gateway"] = json!(rec.gateway);
    }
    json!({
        "Name": rec.name,
        "Id": rec.id,
        "Created": format_time(Some(rec.created)),
        "Scope": if rec.is_swarm() { "swarm" } else { "local" },
        "Driver": rec.driver,
        "EnableIPv4": true,
        "EnableIPv6": rec.enable_ipv6,
        "IPAM": {
            "Driver": "default",
            "Options": rec.ipam_options,
            "Config": std::iter::once(cfg).chain(super::ipv6::ipam_config(rec)).collect::<Vec<_>>(),
        },
        "Internal": rec.internal,
        "Attachable": rec.attachable,
        "Ingress": rec.ingress,
        "ConfigFrom": { "Network": "" },
        "ConfigOnly": false,
        "Containers": containers,
        "Options": rec.options,
        "Labels": rec.labels,
    })
}

/// The built-in networks Docker always lists (host and none; berth has no default bridge
/// network yet).
pub fn builtin(name: &str) -> Value {
    json!({
        "Name": name,
        "Id": builtin_id(name),
        "Created": "0001-01-01T00:00:00Z",
        "Scope": "local",
        "Driver": if name == "host" { "host" } else { "null" },
        "EnableIPv4": true,
        "EnableIPv6": false,
        "IPAM": { "Driver": "default", "Options": null, "Config": null },
        "Internal": false,
        "Attachable": false,
        "Ingress": false,
        "ConfigFrom": { "Network": "" },
        "ConfigOnly": false,
        "Containers": {},
        "Options": {},
        "Labels": {},
    })
}

/// `GET /networks?filters=`: Docker's keys (same key OR, different keys AND).
pub fn matches(net: &Value, filters: &Filters, in_use: bool) -> Result<bool> {
    for (key, wanted) in filters {
        if wanted.is_empty() {
            continue;
        }
        let s = |k: &str| {
            net.get(k)
                .and_then(|v| v.as_str())
                .unwrap_or("")
                .to_string()
        };
        let ok = match key.as_str() {
            "name" => wanted.iter().any(|w| s("Name").contains(w.as_str())),
            "id" => wanted.iter().any(|w| s("Id").starts_with(w.as_str())),
            "driver" => wanted.iter().any(|w| *w == s("Driver")),
            "scope" => wanted.iter().any(|w| *w == s("Scope")),
            "type" => {
                let builtin = is_builtin_mode(&s("Name"));
                wanted.iter().try_fold(false, |acc, w| match w.as_str() {
                    "custom" => Ok(acc || !builtin),
                    "builtin" => Ok(acc || builtin),
                    other => Err(EngineError::InvalidParameter(format!(
                        "invalid filter: 'type'='{other}'"
                    ))),
                })?
            }
            "label" => {
                let labels: BTreeMap<String, String> = str_map(net.get("Labels"));
                berth_api::filters::labels_match(&labels, wanted)
            }
            "dangling" => wanted.iter().any(|w| match w.as_str() {
                "true" | "1" => !in_use && !is_builtin_mode(&s("Name")),
                _ => in_use || is_builtin_mode(&s("Name")),
            }),
            other => {
                return Err(EngineError::InvalidParameter(format!(
                    "invalid filter '{other}'"
                )))
            }
        };
        if !ok {
            return Ok(false);
        }
    }
    Ok(true)
}

/// A container's entry under `NetworkSettings.Networks` for a user-defined network.
pub fn container_endpoint(rec: &ContainerRecord, ep: &EndpointRecord) -> EndpointSettings {
    let running = !ep.ip.is_empty();
    let mut dns_names = vec![rec.name.clone()];
    dns_names.extend(ep.aliases.iter().cloned());
    dns_names.push(rec.id[..12.min(rec.id.len())].to_string());
    EndpointSettings {
        ipam_config: ipam_config(ep),
        aliases: (!ep.aliases.is_empty()).then(|| ep.aliases.clone()),
        links: (!ep.links.is_empty()).then(|| ep.links.clone()),
        driver_opts: (!ep.driver_opts.is_empty()).then(|| ep.driver_opts.clone()),
        mac_address: if ep.mac.is_empty() {
            ep.mac_request.clone().unwrap_or_default()
        } else {
            ep.mac.clone()
        },
        network_id: ep.network_id.clone(),
        endpoint_id: ep.endpoint_id.clone(),
        gateway: ep.gateway.clone(),
        ip_address: ep.ip.clone(),
        ip_prefix_len: if running { ep.prefix.into() } else { 0 },
        ipv6_gateway: ep.gateway6.clone(),
        global_ipv6_address: ep.ip6.clone(),
        global_ipv6_prefix_len: ep.prefix6.into(),
        dns_names: running.then_some(dns_names),
        ..Default::default()
    }
}

/// An endpoint's `IPAMConfig`: the addresses asked for (null when none).
fn ipam_config(ep: &EndpointRecord) -> Option<EndpointIpamConfig> {
    if ep.ipv4_request.is_none() && ep.ipv6_request.is_none() && ep.link_local_ips.is_empty() {
        return None;
    }
    Some(EndpointIpamConfig {
        ipv4_address: ep.ipv4_request.clone(),
        ipv6_address: ep.ipv6_request.clone(),
        link_local_ips: (!ep.link_local_ips.is_empty()).then(|| ep.link_local_ips.clone()),
        ..Default::default()
    })
}
