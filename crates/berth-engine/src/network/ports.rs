//! Published ports: what a container asks for (`PortBindings`, `-P` with `ExposedPorts`),
//! the host ports reserved for it, and their API shapes (inspect's `Ports`, ps's list).
//!
//! The traffic itself goes through DNAT rules in the daemon's nftables table (see
//! berth-net's firewall). The daemon also binds each host port, as dockerd does, without
//! accepting on it: so a port in use elsewhere is refused, an ephemeral port is chosen by
//! the kernel, and no other program can take a published port.
//!
//! IPv6 host addresses (a binding without host IP gets `::` too, as dockerd does when the
//! host has IPv6) are served by the userland proxy (`port_proxy.rs`) accepting on the
//! socket reserved here; the v6 sockets are v6-only, so `[::]:P` and `0.0.0.0:P` coexist.

use crate::error::{EngineError, Result};
use crate::model::PortMapping;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, UdpSocket};

/// Keeps a published host port bound while the container runs.
pub enum Reservation {
    Tcp(TcpListener),
    Udp(UdpSocket),
}

/// Where bindings without a host IP go (daemon.json `ip`, `userland-proxy`).
#[derive(Debug, Clone)]
pub struct PortConfig {
    /// dockerd's `--ip`: 0.0.0.0 (every address, v4 and v6) unless set.
    pub default_ip: IpAddr,
    /// dockerd's `userland-proxy`: without it a binding without host IP gets no `::` twin
    /// (the container has no IPv6 address for a DNAT to reach).
    pub userland_proxy: bool,
}

impl Default for PortConfig {
    fn default() -> Self {
        PortConfig {
            default_ip: IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            userland_proxy: true,
        }
    }
}

struct Wanted {
    proto: String,
    container_port: u16,
    host_ip: IpAddr,
    host_port: u16,
    /// The `::` twin of a binding without host IP: skipped when the host has no IPv6,
    /// and it takes the same port as its v4 binding.
    twin: bool,
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
    cfg: &PortConfig,
) -> Result<Vec<Wanted>> {
    let mut out = Vec::new();
    // A binding without host IP: the default address, and `::` too when that is 0.0.0.0
    // (libnetwork's validatePortBindingIPv4/IPv6).
    let defaults = |out: &mut Vec<Wanted>, proto: &str, container_port: u16, host_port: u16| {
        out.push(Wanted {
            proto: proto.to_string(),
            container_port,
            host_ip: cfg.default_ip,
            host_port,
            twin: false,
        });
        if cfg.userland_proxy && cfg.default_ip == IpAddr::V4(Ipv4Addr::UNSPECIFIED) {
            out.push(Wanted {
                proto: proto.to_string(),
                container_port,
                host_ip: IpAddr::V6(Ipv6Addr::UNSPECIFIED),
                host_port,
                twin: true,
            });
        }
    };
    for (key, list) in bindings {
        let (container_port, proto) = parse_key(key)?;
        let list = list.as_array().cloned().unwrap_or_default();
        for b in list {
            let ip = b.get("HostIp").and_then(|v| v.as_str()).unwrap_or("");
            let host_ip: Option<IpAddr> = if ip.is_empty() {
                None
            } else {
                // The API carries plain addresses; a bracketed one is accepted as the CLI
                // strips them.
                let plain = ip
                    .strip_prefix('[')
                    .and_then(|i| i.strip_suffix(']'))
                    .unwrap_or(ip);
                Some(plain.parse().map_err(|_| {
                    EngineError::InvalidParameter(format!("invalid IP address: {ip}"))
                })?)
            };
            let hp = b.get("HostPort").and_then(|v| v.as_str()).unwrap_or("");
            let host_port = if hp.is_empty() {
                0
            } else {
                hp.parse().map_err(|_| {
                    EngineError::InvalidParameter(format!("invalid port specification: \"{hp}\""))
                })?
            };
            match host_ip {
                Some(host_ip) => out.push(Wanted {
                    proto: proto.clone(),
                    container_port,
                    host_ip,
                    host_port,
                    twin: false,
                }),
                None => defaults(&mut out, &proto, container_port, host_port),
            }
        }
    }
    if publish_all {
        for key in exposed.into_iter().flat_map(|e| e.keys()) {
            if bindings.contains_key(key) {
                continue;
            }
            let (container_port, proto) = parse_key(key)?;
            defaults(&mut out, &proto, container_port, 0);
        }
    }
    Ok(out)
}

/// Binds one host port; v6 sockets are v6-only so that they never take the v4 port.
fn bind(proto: &str, addr: SocketAddr) -> std::io::Result<(u16, Reservation)> {
    if addr.is_ipv4() {
        return if proto == "udp" {
            UdpSocket::bind(addr).and_then(|s| Ok((s.local_addr()?.port(), Reservation::Udp(s))))
        } else {
            TcpListener::bind(addr).and_then(|s| Ok((s.local_addr()?.port(), Reservation::Tcp(s))))
        };
    }
    use nix::sys::socket::{self as sock, sockopt, AddressFamily, SockFlag, SockType};
    let ty = if proto == "udp" {
        SockType::Datagram
    } else {
        SockType::Stream
    };
    let fd = sock::socket(AddressFamily::Inet6, ty, SockFlag::SOCK_CLOEXEC, None)?;
    sock::setsockopt(&fd, sockopt::Ipv6V6Only, &true)?;
    if proto != "udp" {
        // As std's TcpListener: a port in TIME_WAIT can be bound again.
        sock::setsockopt(&fd, sockopt::ReuseAddr, &true)?;
    }
    let SocketAddr::V6(v6) = addr else {
        return Err(std::io::ErrorKind::InvalidInput.into());
    };
    sock::bind(
        std::os::fd::AsRawFd::as_raw_fd(&fd),
        &sock::SockaddrIn6::from(v6),
    )?;
    if proto == "udp" {
        let s = UdpSocket::from(fd);
        Ok((s.local_addr()?.port(), Reservation::Udp(s)))
    } else {
        sock::listen(
            &fd,
            sock::Backlog::new(1024).unwrap_or(sock::Backlog::MAXCONN),
        )?;
        let s = TcpListener::from(fd);
        Ok((s.local_addr()?.port(), Reservation::Tcp(s)))
    }
}

/// The host has no usable IPv6 (disabled, or no such address family): the `::` twin is
/// left out, as dockerd does.
fn no_ipv6(e: &std::io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::EAFNOSUPPORT) | Some(libc::EADDRNOTAVAIL) | Some(libc::EPROTONOSUPPORT)
    )
}

/// Binds every requested host port; on the first failure all are released (dropped).
pub fn reserve(
    bindings: &BTreeMap<String, Value>,
    publish_all: bool,
    exposed: Option<&BTreeMap<String, Value>>,
    container_ip: Ipv4Addr,
    cfg: &PortConfig,
) -> Result<Vec<(PortMapping, Reservation)>> {
    let wanted = wanted(bindings, publish_all, exposed, cfg)?;
    let mut out: Vec<(PortMapping, Reservation)> = Vec::new();
    let mut i = 0;
    while i < wanted.len() {
        let w = &wanted[i];
        let twin = wanted.get(i + 1).filter(|t| t.twin);
        // An ephemeral port with a `::` twin: both get the same port (as dockerd); when
        // the v6 one is taken, try another.
        let mut attempts = if twin.is_some() && w.host_port == 0 {
            20
        } else {
            1
        };
        loop {
            attempts -= 1;
            let (port, r) = bind(&w.proto, SocketAddr::new(w.host_ip, w.host_port))
                .map_err(|e| bind_error(w, w.host_port, container_ip, &e))?;
            let first = (mapping(w, port), r);
            let Some(t) = twin else {
                out.push(first);
                break;
            };
            match bind(&t.proto, SocketAddr::new(t.host_ip, port)) {
                Ok((_, r6)) => {
                    out.push(first);
                    out.push((mapping(t, port), r6));
                    break;
                }
                Err(e) if no_ipv6(&e) => {
                    out.push(first);
                    break;
                }
                Err(e) if attempts > 0 && e.kind() == std::io::ErrorKind::AddrInUse => continue,
                Err(e) => return Err(bind_error(t, port, container_ip, &e)),
            }
        }
        i += if twin.is_some() { 2 } else { 1 };
    }
    Ok(out)
}

fn mapping(w: &Wanted, port: u16) -> PortMapping {
    PortMapping {
        proto: w.proto.clone(),
        container_port: w.container_port,
        host_ip: w.host_ip.to_string(),
        host_port: port,
    }
}

/// Docker's message (the binding as `hostIP:hostPort:containerIP:port/proto`).
fn bind_error(w: &Wanted, port: u16, container_ip: Ipv4Addr, e: &std::io::Error) -> EngineError {
    let why = if e.kind() == std::io::ErrorKind::AddrInUse {
        "address already in use".to_string()
    } else if e.raw_os_error() == Some(libc::EADDRNOTAVAIL) {
        "cannot assign requested address".to_string()
    } else {
        e.to_string()
    };
    EngineError::Internal(format!(
        "failed to bind host port for {}:{}:{}:{}/{}: {why}",
        w.host_ip, port, container_ip, w.container_port, w.proto
    ))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn bindings(ip: &str, port: &str) -> BTreeMap<String, Value> {
        let mut b = BTreeMap::new();
        b.insert(
            "80/tcp".to_string(),
            json!([{ "HostIp": ip, "HostPort": port }]),
        );
        b
    }

    #[test]
    fn unspecified_host_ip_gets_a_v6_twin_on_the_same_port() {
        let c = Ipv4Addr::new(10, 0, 0, 2);
        let got =
            reserve(&bindings("", ""), false, None, c, &PortConfig::default()).expect("reserve");
        let hosts: Vec<&str> = got.iter().map(|(m, _)| m.host_ip.as_str()).collect();
        assert_eq!(hosts, ["0.0.0.0", "::"]);
        assert_eq!(got[0].0.host_port, got[1].0.host_port);
        assert_ne!(got[0].0.host_port, 0);
        // An explicit v6 address is v6 only; with `ip` set the default is that address.
        let got = reserve(
            &bindings("[::1]", ""),
            false,
            None,
            c,
            &PortConfig::default(),
        )
        .expect("reserve");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0.host_ip, "::1");
        let cfg = PortConfig {
            default_ip: "127.0.0.1".parse().expect("ip"),
            userland_proxy: true,
        };
        let got = reserve(&bindings("", ""), false, None, c, &cfg).expect("reserve");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0.host_ip, "127.0.0.1");
        let cfg = PortConfig {
            userland_proxy: false,
            ..Default::default()
        };
        let got = reserve(&bindings("", ""), false, None, c, &cfg).expect("reserve");
        assert_eq!(got.len(), 1);
        assert!(matches!(
            reserve(&bindings("zz", ""), false, None, c, &cfg),
            Err(EngineError::InvalidParameter(m)) if m == "invalid IP address: zz"
        ));
    }
}
