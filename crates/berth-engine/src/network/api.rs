//! Networks as the Engine API shows them: the create body, inspect JSON, list filters.
//!
//! `check_create` runs before anything is made, in libnetwork's order and words:
//! `--aux-address` (per subnet, as the docker CLI pairs them) is kept in the record, shown
//! in inspect and reserved in the pools at create and at daemon start (`reserve_aux`:
//! `--ip` of one is "Address already in use"); `DefaultGatewayIPv4` is the containers'
//! default route and inspect's Gateway (`NetworkRecord::container_gateway`); `--scope
//! local` is a local network, `swarm` outside a swarm moby's 403, `global` or any other
//! word a local network showing that scope (moby 24+'s single local store; dockerd 20.10
//! answered a 500 "not a swarm manager"); `--ingress` is for overlay only. berth has no
//! configuration-only and no IPv6-only networks: after moby's checks of their misuse,
//! `ConfigOnly` and `EnableIPv4=false` are refused naming the flag (moby below API 1.48
//! ignores `EnableIPv4`; berth does not do that silently), and `ConfigFrom` finds no
//! configuration network (moby's 404).

use super::mode::{builtin_id, is_builtin_mode};
use crate::error::{EngineError, Result};
use crate::model::{format_time, ContainerRecord, EndpointRecord, NetworkRecord};
use berth_api::filters::Filters;
use berth_api::models::{
    ConfigReference, EndpointIpamConfig, EndpointSettings, NetworkContainer, NetworkCreateBody,
    NetworkInspect, NetworkIpamConfig, NetworkIpamInfo,
};
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
    /// `AuxiliaryAddresses` of the IPv4 and the IPv6 pool: reserved, never handed out.
    pub aux: BTreeMap<String, String>,
    pub aux6: BTreeMap<String, String>,
    /// `ConfigOnly`: keep the configuration only (no bridge, no pool, not attachable).
    pub config_only: bool,
    /// `ConfigFrom.Network`: take the IPAM configuration, options and labels from this
    /// configuration-only network.
    pub config_from: Option<String>,
    /// `Scope` other than `local` (or none) for a local network: moby 24+ keeps every
    /// network in one local store, so `--scope global` (or any other word) on a bridge
    /// makes a local network that shows that scope.
    pub scope: String,
}

/// moby's checks of `ConfigOnly`, `ConfigFrom`, `Scope`, `Ingress` and `EnableIPv4`, in
/// moby's order (libnetwork's `validateConfiguration`, then `NewNetwork`), before anything
/// is made. A configuration-only network skips the driver's checks, as libnetwork's does;
/// whether the `ConfigFrom` network exists is `Networks::create`'s to say (under its
/// lock). `swarm_active`: this node is in a swarm (a swarm scope goes to the swarm then).
pub fn check_create(body: &NetworkCreateBody, swarm_active: bool) -> Result<()> {
    let config_only = body.config_only.unwrap_or(false);
    let ingress = body.ingress.unwrap_or(false);
    let scope = body.scope.as_deref().unwrap_or("");
    let config_from = body
        .config_from
        .as_ref()
        .map(|c| c.network.as_str())
        .filter(|n| !n.is_empty());
    let overlay = body.driver == "overlay";
    if config_only && (ingress || body.internal || body.attachable || !scope.is_empty()) {
        return Err(EngineError::Forbidden(
            "configuration network can only contain network specific fields. Network operator fields like [ ingress | internal | attachable | scope ] are not supported."
                .into(),
        ));
    }
    if config_from.is_some() {
        if config_only {
            return Err(EngineError::Forbidden(
                "a configuration network cannot depend on another configuration network".into(),
            ));
        }
        let ipam = body.ipam.as_ref();
        let ipam_driver = ipam.map(|i| i.driver.as_str()).unwrap_or("");
        if !matches!(ipam_driver, "" | "default")
            || body.enable_ipv4 == Some(false)
            || body.ipv6()
            || !body.labels.is_empty()
            || ipam.is_some_and(|i| i.options.as_ref().is_some_and(|o| !o.is_empty()))
            || !body.pools().is_empty()
        {
            return Err(EngineError::Forbidden(
                "user specified configurations are not supported if the network depends on a configuration network".into(),
            ));
        }
        if !body.options.is_empty() {
            return Err(EngineError::Forbidden(
                "network driver options are not supported if the network depends on a configuration network".into(),
            ));
        }
    }
    if config_only {
        // libnetwork skips the driver's checks for a configuration network (its driver
        // becomes "null"); the daemon's own IPv4/IPv6 check still applies.
        return check_ipv4(body, false);
    }
    if scope == "local" && overlay {
        return Err(EngineError::Forbidden(
            "cannot downgrade network scope for overlay networks".into(),
        ));
    }
    if ingress && !overlay {
        return Err(EngineError::Forbidden(
            "Ingress network can only be global scope network".into(),
        ));
    }
    if !overlay {
        match scope {
            "" | "local" => {}
            "swarm" if !swarm_active => {
                return Err(EngineError::Forbidden(
                    "cannot create a swarm scoped network when swarm is not active".into(),
                ))
            }
            "swarm" => {
                return Err(EngineError::InvalidParameter(format!(
                    "berth has swarm-scoped networks with the overlay driver only, not \"{}\"",
                    body.driver
                )))
            }
            // moby 28's libnetwork NewNetwork: a local driver with any other scope
            // (`global`, or a word it does not know) is no multi-host network and goes to
            // its one local store: created, showing that scope. (dockerd 20.10 had a
            // global store it lacked outside a swarm: a 500 "This node is not a swarm
            // manager".)
            _ => {}
        }
    }
    check_ipv4(body, overlay)
}

/// `EnableIPv4: false`: moby's errors, then berth's refusal of an IPv6-only network.
fn check_ipv4(body: &NetworkCreateBody, overlay: bool) -> Result<()> {
    if body.enable_ipv4 == Some(false) {
        if overlay {
            return Err(EngineError::InvalidParameter(
                "IPv4 cannot be disabled in a Swarm scoped network".into(),
            ));
        }
        if !body.ipv6() {
            return Err(EngineError::InvalidParameter(
                "IPv4 or IPv6 must be enabled".into(),
            ));
        }
        // moby 28 makes an IPv6-only network (API 1.48+); berth's networks always have an
        // IPv4 pool, so the request is refused rather than given an IPv4 network.
        return Err(EngineError::InvalidParameter(
            "berth has no IPv6-only networks: EnableIPv4=false (--ipv4=false) is not supported"
                .into(),
        ));
    }
    Ok(())
}

/// moby 28's checks of a create request that come before libnetwork's: the pre-defined
/// name (403), then `network.ValidateIPAM` (400). ValidateIPAM looks at every pool of
/// `IPAM.Config` in the order given (IPv6 ones only with `EnableIPv6`) and collects every
/// error of every pool — a subnet that is no CIDR (that pool's other checks skipped) or
/// not its network address, each ip-range error, the gateway's, each auxiliary
/// address's — and answers them together: `invalid network config:` then the one error,
/// or Go's errors.Join list (`* ` before each, one a line). (moby lists aux addresses in
/// Go's random map order; berth sorts them by name.)
pub fn validate_create(body: &NetworkCreateBody) -> Result<()> {
    refuse_predefined(&body.name)?;
    invalid_network_config(&ipam_errors(body.pools(), body.ipv6()))
}

/// moby's 403 for creating a network under a pre-defined name (the engine's own store
/// keeps these names for its built-in networks).
pub(crate) fn refuse_predefined(name: &str) -> Result<()> {
    if is_builtin_mode(name) || name == "ingress" {
        return Err(EngineError::Forbidden(format!(
            "{name} is a pre-defined network and cannot be created"
        )));
    }
    Ok(())
}

fn family(v6: bool) -> &'static str {
    if v6 {
        "IPv6"
    } else {
        "IPv4"
    }
}

/// The errors of moby's `ValidateIPAM`, in its order.
fn ipam_errors(pools: &[NetworkIpamConfig], enable_ipv6: bool) -> Vec<String> {
    use ipnet::IpNet;
    use std::net::IpAddr;
    let mut errs = Vec::new();
    for cfg in pools {
        let raw = cfg.subnet.as_deref().unwrap_or("");
        let Ok(subnet) = raw.parse::<IpNet>() else {
            errs.push(format!("invalid subnet {raw}: invalid CIDR block notation"));
            continue;
        };
        let v6 = matches!(subnet, IpNet::V6(_));
        if v6 && !enable_ipv6 {
            continue;
        }
        if subnet != subnet.trunc() {
            errs.push(format!(
                "invalid subnet {subnet}: it should be {}",
                subnet.trunc()
            ));
        }
        if let Some(r) = cfg.ip_range.as_deref().filter(|r| !r.is_empty()) {
            match r.parse::<IpNet>() {
                Err(_) => errs.push(format!("invalid ip-range {r}: invalid CIDR block notation")),
                Ok(range) if matches!(range, IpNet::V6(_)) != v6 => errs.push(format!(
                    "invalid ip-range {r}: parent subnet is an {} block",
                    family(v6)
                )),
                Ok(range) => {
                    if range.prefix_len() < subnet.prefix_len() {
                        errs.push(format!(
                            "invalid ip-range {r}: CIDR block is bigger than its parent subnet {subnet}"
                        ));
                    }
                    if range != range.trunc() {
                        errs.push(format!(
                            "invalid ip-range {range}: it should be {}",
                            range.trunc()
                        ));
                    }
                    let overlaps =
                        subnet.contains(&range.network()) || range.contains(&subnet.network());
                    if !overlaps {
                        errs.push(format!(
                            "invalid ip-range {r}: parent subnet {subnet} doesn't contain ip-range"
                        ));
                    }
                }
            }
        }
        let address = |a: &str| -> Option<String> {
            if a.is_empty() {
                return None;
            }
            let Ok(ip) = a.parse::<IpAddr>() else {
                return Some("invalid address".into());
            };
            if ip.is_ipv6() != v6 {
                return Some(format!("parent subnet is an {} block", family(v6)));
            }
            (!subnet.contains(&ip))
                .then(|| format!("parent subnet {subnet} doesn't contain this address"))
        };
        let gw = cfg.gateway.as_deref().unwrap_or("");
        if let Some(why) = address(gw) {
            errs.push(format!("invalid gateway {gw}: {why}"));
        }
        for (name, a) in cfg.aux_addresses.iter().flatten() {
            if let Some(why) = address(a) {
                errs.push(format!("invalid auxiliary address {name}: {why}"));
            }
        }
    }
    errs
}

/// `POST /networks/create`'s body.
pub fn parse_create(body: &NetworkCreateBody) -> Result<CreateRequest> {
    let mut req = CreateRequest {
        name: body.name.clone(),
        driver: body.driver.clone(),
        internal: body.internal,
        attachable: body.attachable,
        enable_ipv6: body.ipv6(),
        labels: body.labels.clone(),
        options: body.options.clone(),
        config_only: body.config_only.unwrap_or(false),
        scope: body
            .scope
            .clone()
            .filter(|s| !s.is_empty() && s != "local")
            .unwrap_or_default(),
        config_from: body
            .config_from
            .as_ref()
            .map(|c| c.network.clone())
            .filter(|n| !n.is_empty()),
        ..Default::default()
    };
    if let Some(ipam) = &body.ipam {
        let driver = ipam.driver.as_str();
        if !driver.is_empty() && driver != "default" {
            return Err(EngineError::NotFound(format!(
                "plugin \"{driver}\" not found"
            )));
        }
        req.ipam_options = ipam.options.clone().unwrap_or_default();
        let configs = &ipam.config;
        let is_v6 = |c: &NetworkIpamConfig| c.subnet.as_deref().unwrap_or("").contains(':');
        let v4: Vec<&NetworkIpamConfig> = configs.iter().filter(|c| !is_v6(c)).collect();
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
        let get = |f: &Option<String>| f.clone().filter(|s| !s.is_empty());
        if let Some(c) = configs.iter().find(|c| is_v6(c)) {
            req.v6 = super::ipv6::Request6 {
                subnet: get(&c.subnet),
                gateway: get(&c.gateway),
                ip_range: get(&c.ip_range),
            };
            req.aux6 = c.aux_addresses.clone().unwrap_or_default();
        }
        if let Some(c) = v4.first() {
            req.subnet = get(&c.subnet);
            req.gateway = get(&c.gateway);
            req.ip_range = get(&c.ip_range);
            req.aux = c.aux_addresses.clone().unwrap_or_default();
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

/// `GET /networks/{id}` (and each entry of the list).
pub fn inspect(rec: &NetworkRecord, members: &[Member]) -> NetworkInspect {
    let containers = members
        .iter()
        .map(|m| {
            let c = NetworkContainer {
                name: m.name.clone(),
                endpoint_id: m.endpoint.endpoint_id.clone(),
                mac_address: m.endpoint.mac.clone(),
                ipv4_address: format!("{}/{}", m.endpoint.ip, m.endpoint.prefix),
                ipv6_address: if m.endpoint.ip6.is_empty() {
                    String::new()
                } else {
                    format!("{}/{}", m.endpoint.ip6, m.endpoint.prefix6)
                },
            };
            (m.id.clone(), c)
        })
        .collect();
    // moby's IPAMConfig (Subnet, IPRange, Gateway): no gateway when the daemon chose it.
    // A configuration-only network shows what was given: no entry when nothing was.
    let cfg = NetworkIpamConfig {
        subnet: Some(rec.subnet.clone()),
        ip_range: rec.ip_range.clone(),
        gateway: Some(rec.gateway.clone()).filter(|g| !rec.gateway_implicit && !g.is_empty()),
        aux_addresses: (!rec.aux_addresses.is_empty()).then(|| rec.aux_addresses.clone()),
        ..Default::default()
    };
    let v4_given = !rec.config_only
        || !rec.subnet.is_empty()
        || rec.ip_range.is_some()
        || !rec.gateway.is_empty()
        || !rec.aux_addresses.is_empty();
    NetworkInspect {
        name: rec.name.clone(),
        id: rec.id.clone(),
        created: format_time(Some(rec.created)),
        scope: if rec.scope.is_empty() {
            "local".to_string()
        } else {
            rec.scope.clone()
        },
        driver: rec.driver.clone(),
        enable_ipv4: true,
        enable_ipv6: rec.enable_ipv6,
        ipam: NetworkIpamInfo {
            driver: "default".into(),
            options: Some(rec.ipam_options.clone()),
            config: Some(
                v4_given
                    .then_some(cfg)
                    .into_iter()
                    .chain(super::ipv6::ipam_config(rec))
                    .collect(),
            ),
        },
        internal: rec.internal,
        attachable: rec.attachable,
        ingress: rec.ingress,
        config_from: ConfigReference {
            network: rec.config_from.clone(),
        },
        config_only: rec.config_only,
        containers: Some(containers),
        options: rec.options.clone(),
        labels: rec.labels.clone(),
    }
}

/// The built-in networks Docker always lists (host and none; berth has no default bridge
/// network yet).
pub fn builtin(name: &str) -> NetworkInspect {
    NetworkInspect {
        name: name.into(),
        id: builtin_id(name),
        created: "0001-01-01T00:00:00Z".into(),
        scope: "local".into(),
        driver: if name == "host" { "host" } else { "null" }.into(),
        enable_ipv4: true,
        ipam: NetworkIpamInfo {
            driver: "default".into(),
            options: None,
            config: None,
        },
        containers: Some(Default::default()),
        ..Default::default()
    }
}

/// `GET /networks?filters=`: Docker's keys (same key OR, different keys AND).
pub fn matches(net: &NetworkInspect, filters: &Filters, in_use: bool) -> Result<bool> {
    for (key, wanted) in filters {
        if wanted.is_empty() {
            continue;
        }
        let ok = match key.as_str() {
            "name" => wanted.iter().any(|w| net.name.contains(w.as_str())),
            "id" => wanted.iter().any(|w| net.id.starts_with(w.as_str())),
            "driver" => wanted.contains(&net.driver),
            "scope" => wanted.contains(&net.scope),
            "type" => {
                let builtin = is_builtin_mode(&net.name);
                wanted.iter().try_fold(false, |acc, w| match w.as_str() {
                    "custom" => Ok(acc || !builtin),
                    "builtin" => Ok(acc || builtin),
                    other => Err(EngineError::InvalidParameter(format!(
                        "invalid filter: 'type'='{other}'"
                    ))),
                })?
            }
            "label" => berth_api::filters::labels_match(&net.labels, wanted),
            "dangling" => wanted.iter().any(|w| match w.as_str() {
                "true" | "1" => !in_use && !is_builtin_mode(&net.name),
                _ => in_use || is_builtin_mode(&net.name),
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

/// moby's `invalid network config:` error for `errs` (none: Ok).
pub(crate) fn invalid_network_config(errs: &[String]) -> Result<()> {
    if errs.is_empty() {
        return Ok(());
    }
    Err(EngineError::InvalidParameter(format!(
        "invalid network config:\n{}",
        multierror_join(errs)
    )))
}

/// Several errors as Go's `multierror.Join` prints them: one as it is, several as a list
/// (`* ` each, one per line).
pub(crate) fn multierror_join(errs: &[String]) -> String {
    match errs {
        [one] => one.clone(),
        _ => format!("* {}", errs.join("\n* ")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Map, Value};

    fn create_body(v: Value) -> NetworkCreateBody {
        serde_json::from_value(v).expect("body")
    }

    fn create_error(v: Value) -> String {
        validate_create(&create_body(v))
            .expect_err("refused")
            .to_string()
    }

    #[test]
    fn validate_ipam_joins_every_error_in_moby_order() {
        let got = create_error(json!({"Name": "n", "IPAM": {"Config": [
            {"Subnet": "10.1.0.1/24", "IPRange": "10.2.0.0/16", "Gateway": "10.9.9.9",
             "AuxiliaryAddresses": {"a": "bad"}},
            {"Subnet": "nope"},
            {"Subnet": "fd00::/64", "Gateway": "bad"}
        ]}}));
        assert_eq!(
            got,
            "invalid network config:\n\
             * invalid subnet 10.1.0.1/24: it should be 10.1.0.0/24\n\
             * invalid ip-range 10.2.0.0/16: CIDR block is bigger than its parent subnet 10.1.0.1/24\n\
             * invalid ip-range 10.2.0.0/16: parent subnet 10.1.0.1/24 doesn't contain ip-range\n\
             * invalid gateway 10.9.9.9: parent subnet 10.1.0.1/24 doesn't contain this address\n\
             * invalid auxiliary address a: invalid address\n\
             * invalid subnet nope: invalid CIDR block notation"
        );
        let one = create_error(json!({"Name": "n", "EnableIPv6": true, "IPAM": {"Config": [
            {"Subnet": "fd00::/64", "IPRange": "10.0.0.0/24"}
        ]}}));
        assert_eq!(
            one,
            "invalid network config:\ninvalid ip-range 10.0.0.0/24: parent subnet is an IPv6 block"
        );
        let pre = create_error(json!({"Name": "host", "IPAM": {"Config": [{"Subnet": "x"}]}}));
        assert_eq!(pre, "host is a pre-defined network and cannot be created");
        assert!(
            validate_create(&create_body(json!({"Name": "n", "IPAM": {"Config": [
                {"Subnet": "10.1.0.0/24", "IPRange": "10.1.0.128/25", "Gateway": "10.1.0.1"}
            ]}})))
            .is_ok()
        );
    }

    /// Network inspect as `inspect` built it before the typed model (json!).
    fn inspect_before(rec: &NetworkRecord, members: &[Member]) -> Value {
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
        let mut cfg = json!({ "Subnet": rec.subnet });
        if let Some(r) = &rec.ip_range {
            cfg["IPRange"] = json!(r);
        }
        if !rec.gateway_implicit {
            cfg["Gateway"] = json!(rec.gateway);
        }
        let v6 = rec.subnet6.as_ref().map(|s| {
            let mut cfg = json!({ "Subnet": s });
            if let Some(r) = rec.ip_range6.as_ref() {
                cfg["IPRange"] = json!(r);
            }
            if let Some(g) = rec.gateway6.as_ref().filter(|_| !rec.gateway6_implicit) {
                cfg["Gateway"] = json!(g);
            }
            cfg
        });
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
                "Config": std::iter::once(cfg).chain(v6).collect::<Vec<_>>(),
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

    /// A built-in network as `builtin` built it before the typed model.
    fn builtin_before(name: &str) -> Value {
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

    fn record(extra: Value) -> NetworkRecord {
        let mut v = json!({
            "id": "4f".repeat(32), "name": "net1", "created": "2026-12-06T08:00:00.123456789Z",
            "driver": "bridge", "subnet": "172.30.0.0/24", "gateway": "172.30.0.1",
            "internal": false, "bridge": "br-x",
        });
        for (k, x) in extra.as_object().expect("object") {
            v[k] = x.clone();
        }
        serde_json::from_value(v).expect("record")
    }

    fn member(id: &str, name: &str, ip6: &str) -> Member {
        Member {
            id: id.repeat(64),
            name: name.into(),
            endpoint: EndpointRecord {
                endpoint_id: "e".repeat(64),
                mac: "02:42:ac:1e:00:02".into(),
                ip: "172.30.0.2".into(),
                prefix: 24,
                ip6: ip6.into(),
                prefix6: if ip6.is_empty() { 0 } else { 64 },
                ..Default::default()
            },
        }
    }

    #[test]
    fn typed_network_inspect_is_the_same_bytes() {
        let plain = record(json!({}));
        let full = record(json!({
            "gateway_implicit": true, "ip_range": "172.30.0.128/25", "attachable": true,
            "internal": true, "enable_ipv6": true, "subnet6": "fd00:1::/64",
            "gateway6": "fd00:1::1", "ip_range6": "fd00:1::/80",
            "labels": {"z": "1", "a": "2"}, "options": {"com.docker.network.bridge.name": "b"},
            "ipam_options": {"o": "v"}, "scope": "swarm", "ingress": true,
        }));
        let v6_implicit = record(json!({
            "enable_ipv6": true, "subnet6": "fd00:2::/64", "gateway6": "fd00:2::1",
            "gateway6_implicit": true,
        }));
        // Members by name, their ids out of order: the map keeps the order given.
        let members = [member("b", "alpha", ""), member("a", "beta", "fd00:1::2")];
        for rec in [&plain, &full, &v6_implicit] {
            for m in [&members[..], &[]] {
                assert_eq!(
                    serde_json::to_string(&inspect(rec, m)).unwrap(),
                    serde_json::to_string(&inspect_before(rec, m)).unwrap(),
                    "{}",
                    rec.name
                );
            }
        }
        for name in ["host", "none"] {
            assert_eq!(
                serde_json::to_string(&builtin(name)).unwrap(),
                serde_json::to_string(&builtin_before(name)).unwrap()
            );
        }
    }

    #[test]
    fn list_filters_read_the_typed_network() {
        let f = |k: &str, v: &str| -> Filters { [(k.to_string(), vec![v.to_string()])].into() };
        let rec = record(json!({"labels": {"tier": "db"}}));
        let net = inspect(&rec, &[]);
        assert!(matches(&net, &f("name", "et1"), true).unwrap());
        assert!(matches(&net, &f("id", "4f4f"), true).unwrap());
        assert!(!matches(&net, &f("driver", "host"), true).unwrap());
        assert!(matches(&net, &f("scope", "local"), true).unwrap());
        assert!(matches(&net, &f("label", "tier=db"), true).unwrap());
        assert!(!matches(&net, &f("label", "tier=web"), true).unwrap());
        assert!(matches(&net, &f("dangling", "true"), false).unwrap());
        assert!(!matches(&net, &f("dangling", "true"), true).unwrap());
        assert!(matches(&builtin("host"), &f("type", "builtin"), true).unwrap());
        assert!(!matches(&builtin("host"), &f("type", "custom"), true).unwrap());
        assert!(matches(&net, &f("type", "bogus"), true).is_err());
    }
}
