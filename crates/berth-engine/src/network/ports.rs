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
//!
//! A binding without host IP is published on `0.0.0.0` and `::` with the same port (an
//! ephemeral port is retried until both families have it; no host IPv6: the `::` binding is
//! left out); inspect, `port`, ps and `/containers/json` show both. `-p [::1]:P:C`, `-p
//! ::1:P:C` (the docker CLI splits at the last two colons) and `-p '[fd42::1]:P:C'` publish
//! on that address only. A host port range (`-p 8000-8002:80`, `HostPort` `"8000-8002"`)
//! takes the first port that binds, with its `::` twin on the same port (`reserve` →
//! `reserve_one`); a full range fails with the last port's error. daemon.json `ip` / `--ip`
//! is the default host address (`127.0.0.1` makes `-p P:C` v4-only, `::1` v6-only);
//! `userland-proxy: false` drops the `::` twin (explicit v6 host addresses are still
//! proxied, where dockerd would drop them). On macvlan/ipvlan networks `-p` programs
//! nothing, as moby's drivers (`attach.rs`: the endpoint is `no_port_mapping`; a container
//! only on such networks shows no ports in inspect, `port` and ps).

use crate::error::{EngineError, Result};
use crate::model::PortMapping;
use berth_api::models::{PortBinding, PortMap, PortSet, PortSummary};
use berth_net::plane::DataPlane;
use berth_net::ports::{no_ipv6, Reservation};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

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

/// What a container asks to publish: `PortBindings`, and `-P` with its exposed ports.
#[derive(Debug, Clone, Copy)]
pub struct PortRequest<'a> {
    pub bindings: &'a PortMap,
    pub publish_all: bool,
    pub exposed: Option<&'a PortSet>,
}

/// One host port of a container's plan, to be bound.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Wanted {
    pub proto: String,
    pub container_port: u16,
    pub host_ip: IpAddr,
    /// 0: an ephemeral port.
    pub host_port: u16,
    /// The last port of a host port range (`-p 8000-8002:80`: the first free one of
    /// `host_port..=host_port_end` is taken); equal to `host_port` for one port.
    pub host_port_end: u16,
    /// The `::` twin of a binding without host IP: skipped when the host has no IPv6,
    /// and it takes the same port as its v4 binding.
    pub twin: bool,
}

fn parse_key(key: &str) -> Result<(u16, String)> {
    berth_api::models::parse_port_key(key).map_err(EngineError::InvalidParameter)
}

/// The host ports a request asks for, in order, with Docker's defaults for bindings
/// without host IP (checked: a bad key, address or port is refused with Docker's words).
pub fn plan(req: &PortRequest, cfg: &PortConfig) -> Result<Vec<Wanted>> {
    let (bindings, publish_all, exposed) = (req.bindings, req.publish_all, req.exposed);
    let mut out = Vec::new();
    // A binding without host IP: the default address, and `::` too when that is 0.0.0.0
    // (libnetwork's validatePortBindingIPv4/IPv6).
    let defaults = |out: &mut Vec<Wanted>,
                    proto: &str,
                    container_port: u16,
                    (host_port, host_port_end): (u16, u16)| {
        out.push(Wanted {
            proto: proto.to_string(),
            container_port,
            host_ip: cfg.default_ip,
            host_port,
            host_port_end,
            twin: false,
        });
        if cfg.userland_proxy && cfg.default_ip == IpAddr::V4(Ipv4Addr::UNSPECIFIED) {
            out.push(Wanted {
                proto: proto.to_string(),
                container_port,
                host_ip: IpAddr::V6(Ipv6Addr::UNSPECIFIED),
                host_port,
                host_port_end,
                twin: true,
            });
        }
    };
    for (key, list) in bindings {
        let (container_port, proto) = parse_key(key)?;
        for b in list.iter().flatten() {
            let ip = b.host_ip.as_str();
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
            let (host_port, host_port_end) = host_port_range(b.host_port.as_str())?;
            match host_ip {
                Some(host_ip) => out.push(Wanted {
                    proto: proto.clone(),
                    container_port,
                    host_ip,
                    host_port,
                    host_port_end,
                    twin: false,
                }),
                None => defaults(&mut out, &proto, container_port, (host_port, host_port_end)),
            }
        }
    }
    if publish_all {
        for key in exposed.into_iter().flat_map(|e| e.keys()) {
            if bindings.contains_key(key) {
                continue;
            }
            let (container_port, proto) = parse_key(key)?;
            defaults(&mut out, &proto, container_port, (0, 0));
        }
    }
    Ok(out)
}

/// The plan that binds recorded mappings again exactly (daemon start: each has its host
/// address and port; no defaults apply).
pub fn exact_plan(mappings: &[PortMapping]) -> Vec<Wanted> {
    mappings
        .iter()
        .filter_map(|m| {
            Some(Wanted {
                proto: m.proto.clone(),
                container_port: m.container_port,
                host_ip: m.host_ip.parse().ok()?,
                host_port: m.host_port,
                host_port_end: m.host_port,
                twin: false,
            })
        })
        .collect()
}

/// A binding's `HostPort`: empty (an ephemeral port), `P`, or a range `A-B` (nat's
/// ParsePortRangeToInt), as `(first, last)`.
fn host_port_range(hp: &str) -> Result<(u16, u16)> {
    let bad = || EngineError::InvalidParameter(format!("invalid port specification: \"{hp}\""));
    if hp.is_empty() {
        return Ok((0, 0));
    }
    match hp.split_once('-') {
        Some((a, b)) => {
            let a: u16 = a.parse().map_err(|_| bad())?;
            let b: u16 = b.parse().map_err(|_| bad())?;
            if b < a {
                return Err(EngineError::InvalidParameter(format!(
                    "invalid range specified for port: {hp}"
                )));
            }
            Ok((a, b))
        }
        None => {
            let p: u16 = hp.parse().map_err(|_| bad())?;
            Ok((p, p))
        }
    }
}

/// Binds every planned host port; on the first failure all are released (dropped). A
/// range takes its first port that binds (with its `::` twin, when it has one), as
/// libnetwork's port allocator.
pub fn reserve(
    wanted: &[Wanted],
    container_ip: Ipv4Addr,
    plane: &dyn DataPlane,
    held: &[Held],
) -> Result<Vec<(PortMapping, Reservation)>> {
    let mut out: Vec<(PortMapping, Reservation)> = Vec::new();
    let mut i = 0;
    while i < wanted.len() {
        let w = &wanted[i];
        let twin = wanted.get(i + 1).filter(|t| t.twin);
        let last = w.host_port_end.max(w.host_port);
        let mut port = w.host_port;
        loop {
            match reserve_one(w, twin, port, container_ip, plane, held) {
                Ok(got) => {
                    out.extend(got);
                    break;
                }
                Err(e) if port < last => {
                    tracing::debug!(port, error = %e, "host port of the range taken: next");
                    port += 1;
                }
                // The last port's error, as moby's port mapper reports an exhausted range.
                Err(e) => return Err(e),
            }
        }
        i += if twin.is_some() { 2 } else { 1 };
    }
    Ok(out)
}

/// Binds one host port (`port`, 0: ephemeral) and its `::` twin on the same port.
fn reserve_one(
    w: &Wanted,
    twin: Option<&Wanted>,
    port: u16,
    container_ip: Ipv4Addr,
    plane: &dyn DataPlane,
    held: &[Held],
) -> Result<Vec<(PortMapping, Reservation)>> {
    let bind = |proto: &str, addr| plane.reserve_port(proto, addr);
    // An ephemeral port with a `::` twin: both get the same port (as dockerd); when the
    // v6 one is taken, try another.
    let mut attempts = if twin.is_some() && port == 0 { 20 } else { 1 };
    loop {
        attempts -= 1;
        let (got, r) = bind(&w.proto, SocketAddr::new(w.host_ip, port))
            .map_err(|e| bind_error(w, port, container_ip, &e, held))?;
        let first = (mapping(w, got), r);
        let Some(t) = twin else {
            return Ok(vec![first]);
        };
        match bind(&t.proto, SocketAddr::new(t.host_ip, got)) {
            Ok((_, r6)) => return Ok(vec![first, (mapping(t, got), r6)]),
            Err(e) if no_ipv6(&e) => return Ok(vec![first]),
            Err(e) if attempts > 0 && e.kind() == std::io::ErrorKind::AddrInUse => continue,
            Err(e) => return Err(bind_error(t, got, container_ip, &e, held)),
        }
    }
}

fn mapping(w: &Wanted, port: u16) -> PortMapping {
    PortMapping {
        proto: w.proto.clone(),
        container_port: w.container_port,
        host_ip: w.host_ip.to_string(),
        host_port: port,
    }
}

/// A host port another container of this daemon publishes: its protocol, host address
/// and port (what moby's port allocator records).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Held {
    pub proto: String,
    pub ip: IpAddr,
    pub port: u16,
}

impl Held {
    /// Every host port of `mappings`.
    pub fn of<'a>(mappings: impl IntoIterator<Item = &'a PortMapping>) -> Vec<Held> {
        mappings
            .into_iter()
            .filter_map(|m| {
                Some(Held {
                    proto: m.proto.clone(),
                    ip: m.host_ip.parse().ok()?,
                    port: m.host_port,
                })
            })
            .collect()
    }

    /// Whether a binding of `proto` on `ip:port` collides with this one: same family
    /// (the v6 sockets are v6-only), and the same address or either the wildcard.
    fn covers(&self, proto: &str, ip: IpAddr, port: u16) -> bool {
        self.proto == proto
            && self.port == port
            && self.ip.is_ipv4() == ip.is_ipv4()
            && (self.ip == ip || self.ip.is_unspecified() || ip.is_unspecified())
    }
}

/// Docker's message (the binding as `hostIP:hostPort:containerIP:port/proto`); a port
/// another container of this daemon holds is moby's port allocator's
/// `Bind for IP:PORT failed: port is already allocated`.
fn bind_error(
    w: &Wanted,
    port: u16,
    container_ip: Ipv4Addr,
    e: &std::io::Error,
    held: &[Held],
) -> EngineError {
    if e.kind() == std::io::ErrorKind::AddrInUse
        && held.iter().any(|h| h.covers(&w.proto, w.host_ip, port))
    {
        return EngineError::Internal(format!(
            "Bind for {}:{port} failed: port is already allocated",
            w.host_ip
        ));
    }
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
pub fn inspect_ports(mappings: &[PortMapping], exposed: Option<&PortSet>) -> PortMap {
    let mut m: PortMap = exposed
        .into_iter()
        .flat_map(|e| e.keys())
        .map(|k| (k.clone(), None))
        .collect();
    for p in mappings {
        let key = format!("{}/{}", p.container_port, p.proto);
        m.entry(key)
            .or_default()
            .get_or_insert_with(Vec::new)
            .push(PortBinding::new(p.host_ip.clone(), p.host_port.to_string()));
    }
    m
}

/// ps's `Ports`: published ones with their host side, exposed ones alone.
pub fn summary_ports(mappings: &[PortMapping], exposed: Option<&PortSet>) -> Vec<PortSummary> {
    let mut out: Vec<PortSummary> = mappings
        .iter()
        .map(|p| PortSummary {
            ip: Some(p.host_ip.clone()),
            private_port: p.container_port,
            public_port: Some(p.host_port),
            kind: p.proto.clone(),
        })
        .collect();
    for key in exposed.into_iter().flat_map(|e| e.keys()) {
        if let Ok((port, proto)) = parse_key(key) {
            if !mappings
                .iter()
                .any(|m| m.container_port == port && m.proto == proto)
            {
                out.push(PortSummary {
                    private_port: port,
                    kind: proto,
                    ..Default::default()
                });
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_net::plane::HostDataPlane;

    /// Plans and binds `80/tcp` published on `ip:port`, on the host.
    fn publish(ip: &str, port: &str, cfg: &PortConfig) -> Result<Vec<(PortMapping, Reservation)>> {
        let b = bindings(ip, port);
        let req = PortRequest {
            bindings: &b,
            publish_all: false,
            exposed: None,
        };
        reserve(
            &plan(&req, cfg)?,
            Ipv4Addr::new(10, 0, 0, 2),
            &HostDataPlane,
            &[],
        )
    }

    fn bindings(ip: &str, port: &str) -> PortMap {
        [("80/tcp".to_string(), Some(vec![PortBinding::new(ip, port)]))].into()
    }

    #[test]
    fn unspecified_host_ip_gets_a_v6_twin_on_the_same_port() {
        let got = publish("", "", &PortConfig::default()).expect("reserve");
        let hosts: Vec<&str> = got.iter().map(|(m, _)| m.host_ip.as_str()).collect();
        assert_eq!(hosts, ["0.0.0.0", "::"]);
        assert_eq!(got[0].0.host_port, got[1].0.host_port);
        assert_ne!(got[0].0.host_port, 0);
        // An explicit v6 address is v6 only; with `ip` set the default is that address.
        let got = publish("[::1]", "", &PortConfig::default()).expect("reserve");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0.host_ip, "::1");
        let cfg = PortConfig {
            default_ip: "127.0.0.1".parse().expect("ip"),
            userland_proxy: true,
        };
        let got = publish("", "", &cfg).expect("reserve");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0.host_ip, "127.0.0.1");
        let cfg = PortConfig {
            userland_proxy: false,
            ..Default::default()
        };
        let got = publish("", "", &cfg).expect("reserve");
        assert_eq!(got.len(), 1);
        assert!(matches!(
            publish("zz", "", &cfg),
            Err(EngineError::InvalidParameter(m)) if m == "invalid IP address: zz"
        ));
    }

    #[test]
    fn a_host_port_range_takes_its_first_free_port() {
        let plane = crate::fakes::FakePlane::default();
        *plane.busy_port.lock().expect("lock") = Some(8000);
        let b = bindings("127.0.0.1", "8000-8002");
        let req = PortRequest {
            bindings: &b,
            publish_all: false,
            exposed: None,
        };
        let wanted = plan(&req, &PortConfig::default()).expect("plan");
        assert_eq!((wanted[0].host_port, wanted[0].host_port_end), (8000, 8002));
        let got = reserve(&wanted, Ipv4Addr::new(10, 0, 0, 2), &plane, &[]).expect("reserve");
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].0.host_port, 8001, "8000 is busy: the next one");
        // Without a host IP the `::` twin takes the same port of the range.
        let b = bindings("", "8000-8002");
        let req = PortRequest {
            bindings: &b,
            ..req
        };
        let got = reserve(
            &plan(&req, &PortConfig::default()).expect("plan"),
            Ipv4Addr::new(10, 0, 0, 2),
            &plane,
            &[],
        )
        .expect("reserve");
        let ports: Vec<(&str, u16)> = got
            .iter()
            .map(|(m, _)| (m.host_ip.as_str(), m.host_port))
            .collect();
        assert_eq!(ports, [("0.0.0.0", 8001), ("::", 8001)]);
        // A one-port "range" that is busy fails with that port's error.
        let b = bindings("127.0.0.1", "8000-8000");
        let req = PortRequest {
            bindings: &b,
            ..req
        };
        let err = reserve(
            &plan(&req, &PortConfig::default()).expect("plan"),
            Ipv4Addr::new(10, 0, 0, 2),
            &plane,
            &[],
        )
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(
            err.contains("127.0.0.1:8000:10.0.0.2:80/tcp: address already in use"),
            "{err}"
        );
        // Held by another container of this daemon (on that address or the wildcard):
        // moby's port allocator's words; a v6 or udp holder is no collision.
        let one = plan(&req, &PortConfig::default()).expect("plan");
        for (holder, allocated) in [
            ("127.0.0.1", true),
            ("0.0.0.0", true),
            ("::", false),
            ("127.0.0.2", false),
        ] {
            let held = [Held {
                proto: "tcp".into(),
                ip: holder.parse().expect("ip"),
                port: 8000,
            }];
            let err = reserve(&one, Ipv4Addr::new(10, 0, 0, 2), &plane, &held)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert_eq!(
                err.contains("Bind for 127.0.0.1:8000 failed: port is already allocated"),
                allocated,
                "{holder}: {err}"
            );
        }
        for bad in ["8002-8000", "x-1", "70000"] {
            let b = bindings("127.0.0.1", bad);
            let req = PortRequest {
                bindings: &b,
                ..req
            };
            assert!(
                matches!(
                    plan(&req, &PortConfig::default()),
                    Err(EngineError::InvalidParameter(_))
                ),
                "{bad}"
            );
        }
    }
}
