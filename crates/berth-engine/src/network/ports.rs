//! Published ports: what a container asks for (`PortBindings`, `-P` with `ExposedPorts`),
//! the host ports reserved for it, and their API shapes (inspect's `Ports`, ps's list).
//!
//! The traffic itself goes through DNAT rules in the daemon's nftables table (see
//! berth-net's firewall). The daemon also binds each host port, as dockerd does, without
//! accepting on it: so a port in use elsewhere is refused, an ephemeral port is chosen by
//! the kernel, and no other program can take a published port.

use crate::error::{EngineError, Result};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct PortMapping {
    pub proto: String,
    pub container_port: u16,
    /// "0.0.0.0" for every address of the host.
    pub host_ip: String,
    pub host_port: u16,
}

/// Keeps a published host port bound while the container runs.
pub enum Reservation {
    Tcp(TcpListener),
    Udp(UdpSocket),
}

struct Wanted {
    proto: String,
    container_port: u16,
    host_ip: Ipv4Addr,
    host_port: u16,
}

fn parse_key(key: &str) -> Result<(u16, String)> {
    let (port, proto) = key.split_once('/').unwrap_or((key, "tcp"));
    let proto = proto.to_ascii_lowercase();
    if proto != "tcp" && proto != "udp" {
        return Err(EngineError::InvalidParameter(format!(
            "invalid proto: {proto}"
        )));
    }
    let port: u16 = port
        .parse()
        .ok()
        .filter(|p| *p > 0)
        .ok_or_else(|| EngineError::InvalidParameter(format!("invalid port: {key}")))?;
    Ok((port, proto))
}

fn wanted(
    bindings: &BTreeMap<String, Value>,
    publish_all: bool,
    exposed: Option<&BTreeMap<String, Value>>,
) -> Result<Vec<Wanted>> {
    let mut out = Vec::new();
    for (key, list) in bindings {
        let (container_port, proto) = parse_key(key)?;
        let list = list.as_array().cloned().unwrap_or_default();
        for b in list {
            let ip = b.get("HostIp").and_then(|v| v.as_str()).unwrap_or("");
            let host_ip = if ip.is_empty() {
                Ipv4Addr::UNSPECIFIED
            } else {
                ip.parse().map_err(|_| {
                    EngineError::InvalidParameter(format!(
                        "berth publishes ports on IPv4 addresses only, not {ip}"
                    ))
                })?
            };
            let hp = b.get("HostPort").and_then(|v| v.as_str()).unwrap_or("");
            let host_port = if hp.is_empty() {
                0
            } else {
                hp.parse().map_err(|_| {
                    EngineError::InvalidParameter(format!("invalid port specification: \"{hp}\""))
                })?
            };
            out.push(Wanted {
                proto: proto.clone(),
                container_port,
                host_ip,
                host_port,
            });
        }
    }
    if publish_all {
        for key in exposed.into_iter().flat_map(|e| e.keys()) {
            if bindings.contains_key(key) {
                continue;
            }
            let (container_port, proto) = parse_key(key)?;
            out.push(Wanted {
                proto,
                container_port,
                host_ip: Ipv4Addr::UNSPECIFIED,
                host_port: 0,
            });
        }
    }
    Ok(out)
}

/// Binds every requested host port; on the first failure all are released (dropped).
pub fn reserve(
    bindings: &BTreeMap<String, Value>,
    publish_all: bool,
    exposed: Option<&BTreeMap<String, Value>>,
    container_ip: Ipv4Addr,
) -> Result<Vec<(PortMapping, Reservation)>> {
    let mut out = Vec::new();
    for w in wanted(bindings, publish_all, exposed)? {
        let addr = SocketAddr::new(IpAddr::V4(w.host_ip), w.host_port);
        let bound = if w.proto == "udp" {
            UdpSocket::bind(addr).and_then(|s| Ok((s.local_addr()?.port(), Reservation::Udp(s))))
        } else {
            TcpListener::bind(addr).and_then(|s| Ok((s.local_addr()?.port(), Reservation::Tcp(s))))
        };
        let (port, r) = bound.map_err(|e| {
            let why = if e.kind() == std::io::ErrorKind::AddrInUse {
                "address already in use".to_string()
            } else {
                e.to_string()
            };
            EngineError::Internal(format!(
                "failed to bind host port for {}:{}:{}:{}/{}: {why}",
                w.host_ip, w.host_port, container_ip, w.container_port, w.proto
            ))
        })?;
        out.push((
            PortMapping {
                proto: w.proto,
                container_port: w.container_port,
                host_ip: w.host_ip.to_string(),
                host_port: port,
            },
            r,
        ));
    }
    Ok(out)
}

/// inspect's `NetworkSettings.Ports`: every exposed port, with its bindings or null.
pub fn inspect_ports(mappings: &[PortMapping], exposed: Option<&BTreeMap<String, Value>>) -> Value {
    let mut m = Map::new();
    for key in exposed.into_iter().flat_map(|e| e.keys()) {
        m.insert(key.clone(), Value::Null);
    }
    for p in mappings {
        let key = format!("{}/{}", p.container_port, p.proto);
        let entry = m.entry(key).or_insert_with(|| json!([]));
        if entry.is_null() {
            *entry = json!([]);
        }
        if let Value::Array(a) = entry {
            a.push(json!({ "HostIp": p.host_ip, "HostPort": p.host_port.to_string() }));
        }
    }
    Value::Object(m)
}

/// ps's `Ports`: published ones with their host side, exposed ones alone.
pub fn summary_ports(mappings: &[PortMapping], exposed: Option<&BTreeMap<String, Value>>) -> Value {
    let mut out = Vec::new();
    for p in mappings {
        out.push(json!({
            "IP": p.host_ip,
            "PrivatePort": p.container_port,
            "PublicPort": p.host_port,
            "Type": p.proto,
        }));
    }
    for key in exposed.into_iter().flat_map(|e| e.keys()) {
        if let Ok((port, proto)) = parse_key(key) {
            if !mappings
                .iter()
                .any(|m| m.container_port == port && m.proto == proto)
            {
                out.push(json!({ "PrivatePort": port, "Type": proto }));
            }
        }
    }
    Value::Array(out)
}
