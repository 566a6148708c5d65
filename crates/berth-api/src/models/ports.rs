//! Published and exposed ports, one shape from `-p` to inspect: a port key `"80/tcp"`, the
//! [`PortMap`] of [`PortBinding`]s a create body asks for (`HostConfig.PortBindings`) and
//! inspect answers (`NetworkSettings.Ports`), [`PortSet`] (`ExposedPorts`), and the
//! [`PortSummary`] entries of `docker ps`. [`parse_publish`] reads `-p` (and Compose's
//! short `ports:` syntax) exactly as the docker CLI's nat.ParsePortSpec does.

use super::Empty;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// One host side of a published port. An empty `host_ip` means the daemon's default
/// address; an empty `host_port` an ephemeral port.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PortBinding {
    #[serde(rename = "HostIp", default)]
    pub host_ip: String,
    #[serde(rename = "HostPort", default)]
    pub host_port: String,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl PortBinding {
    pub fn new(host_ip: impl Into<String>, host_port: impl Into<String>) -> PortBinding {
        PortBinding {
            host_ip: host_ip.into(),
            host_port: host_port.into(),
            extra: Map::new(),
        }
    }
}

/// Port key (`"80/tcp"`) → its bindings (`null`: exposed, not published).
pub type PortMap = BTreeMap<String, Option<Vec<PortBinding>>>;

/// `ExposedPorts`: port keys, each `{}`.
pub type PortSet = BTreeMap<String, Empty>;

/// One entry of `docker ps`'s `Ports`: a published port with its host side, or an exposed
/// one alone.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PortSummary {
    #[serde(rename = "IP", default, skip_serializing_if = "Option::is_none")]
    pub ip: Option<String>,
    #[serde(rename = "PrivatePort")]
    pub private_port: u16,
    #[serde(
        rename = "PublicPort",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub public_port: Option<u16>,
    #[serde(rename = "Type")]
    pub kind: String,
}

/// A port key as the daemon accepts it: `port[/proto]` with a port of 1..65535 and a proto
/// of tcp or udp (tcp when absent) → (port, lower-case proto). Errors are Docker's words.
pub fn parse_port_key(key: &str) -> Result<(u16, String), String> {
    let (port, proto) = key.split_once('/').unwrap_or((key, "tcp"));
    let proto = proto.to_ascii_lowercase();
    if proto != "tcp" && proto != "udp" {
        return Err(format!("invalid proto: {proto}"));
    }
    // Port 0 is accepted, as Docker does (`-p 127.0.0.1::0`).
    let port: u16 = port
        .parse()
        .ok()
        .ok_or_else(|| format!("invalid port: {key}"))?;
    Ok((port, proto))
}

/// What one `-p` value asks for: the port keys to expose, each with its binding, in the
/// order the docker CLI makes them.
pub type Published = Vec<(String, PortBinding)>;

/// `-p [ip:][hostPort:]containerPort[/proto]` (ranges allowed on both ports) as the docker
/// CLI's nat.ParsePortSpec reads it, with its error messages.
pub fn parse_publish(spec: &str) -> Result<Published, String> {
    let (ip, hport, cport_proto) = split_parts(spec);
    let (cport, proto) = split_proto_port(cport_proto);
    let ip = host_ip(&ip)?;
    if cport.is_empty() {
        return Err(format!("no port specified: {spec}<empty>"));
    }
    if !matches!(proto.to_ascii_lowercase().as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!("invalid proto: {proto}"));
    }
    let cports = expand_range(cport)?;
    let hports = expand_range(hport).map_err(|_| format!("invalid hostPort: {hport}"))?;
    let bad = |v: &[String]| v.iter().any(|p| p.parse::<u32>().is_ok_and(|n| n > 65535));
    if bad(&cports) {
        return Err(format!("invalid containerPort: {cport}"));
    }
    if bad(&hports) {
        return Err(format!("invalid hostPort: {hport}"));
    }
    Ok(cports
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let h = if hports.len() == cports.len() {
                hports[i].clone()
            } else {
                hport.to_string()
            };
            (format!("{c}/{proto}"), PortBinding::new(ip.clone(), h))
        })
        .collect())
}

/// `--expose port[-port][/proto]` → port keys.
pub fn parse_expose(spec: &str) -> Result<Vec<String>, String> {
    let (port, proto) = spec.split_once('/').unwrap_or((spec, "tcp"));
    Ok(expand_range(port)?
        .into_iter()
        .map(|c| format!("{c}/{proto}"))
        .collect())
}

/// `a-b` → every port of it, `a` → itself, `""` → `[""]` (no host port).
fn expand_range(s: &str) -> Result<Vec<String>, String> {
    if s.is_empty() {
        return Ok(vec![String::new()]);
    }
    match s.split_once('-') {
        Some((a, b)) => {
            let a: u32 = a
                .parse()
                .map_err(|_| format!("invalid range format for --publish: {s}"))?;
            let b: u32 = b
                .parse()
                .map_err(|_| format!("invalid range format for --publish: {s}"))?;
            Ok((a..=b).map(|p| p.to_string()).collect())
        }
        None => {
            s.parse::<u32>()
                .map_err(|_| format!("invalid containerPort: {s}"))?;
            Ok(vec![s.to_string()])
        }
    }
}

/// `(host ip, host port, container port[/proto])`, as nat's splitParts: the spec is split
/// at every `:`, the last two fields are the ports and everything before them the address,
/// so `::1:8080:80` and `[::1]:8080:80` both mean `::1`.
fn split_parts(raw: &str) -> (String, &str, &str) {
    let parts: Vec<&str> = raw.split(':').collect();
    match parts.as_slice() {
        [c] => (String::new(), "", c),
        [h, c] => (String::new(), h, c),
        [i, h, c] => (i.to_string(), h, c),
        _ => {
            let n = parts.len();
            (parts[..n - 2].join(":"), parts[n - 2], parts[n - 1])
        }
    }
}

/// `(port, proto)` of the container part, as nat.SplitProtoPort ("80/" is tcp).
fn split_proto_port(raw: &str) -> (&str, &str) {
    let mut parts = raw.split('/');
    let port = parts.next().unwrap_or_default();
    if port.is_empty() {
        return ("", "");
    }
    match parts.next() {
        None | Some("") => (port, "tcp"),
        Some(proto) => (port, proto),
    }
}

/// The address without brackets, checked as docker does; "" when none was given.
fn host_ip(ip: &str) -> Result<String, String> {
    if ip.is_empty() {
        return Ok(String::new());
    }
    let plain = if ip.starts_with('[') {
        strip_brackets(ip).map_err(|why| format!("invalid IP address {ip}: {why}"))?
    } else {
        ip.to_string()
    };
    // Go's net.ParseIP takes no zone and no brackets.
    if plain.parse::<std::net::IpAddr>().is_err() {
        return Err(format!("invalid IP address: {plain}"));
    }
    Ok(plain)
}

/// Go's `net.SplitHostPort(ip + ":")` host part, with its error text.
fn strip_brackets(ip: &str) -> Result<String, String> {
    let hostport = format!("{ip}:");
    let err = |why: &str| format!("address {hostport}: {why}");
    let last = hostport.len() - 1;
    let Some(end) = hostport.find(']') else {
        return Err(err("missing ']' in address"));
    };
    if end + 1 != last {
        return Err(if hostport.as_bytes()[end + 1] == b':' {
            err("too many colons in address")
        } else {
            err("missing port in address")
        });
    }
    let host = &hostport[1..end];
    if hostport[1..].contains('[') {
        return Err(err("unexpected '[' in address"));
    }
    if hostport[end + 1..].contains(']') {
        return Err(err("unexpected ']' in address"));
    }
    Ok(host.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip_of(spec: &str) -> Result<String, String> {
        host_ip(&split_parts(spec).0)
    }

    #[test]
    fn docker_forms() {
        // Each checked against the docker 28 CLI (PortBindings it sends, or its error).
        assert_eq!(ip_of("[::1]:8080:80").as_deref(), Ok("::1"));
        assert_eq!(ip_of("::1:8080:80").as_deref(), Ok("::1"));
        assert_eq!(ip_of("fd42::1:8080:80").as_deref(), Ok("fd42::1"));
        assert_eq!(ip_of("[fd42::1]:8080:80").as_deref(), Ok("fd42::1"));
        assert_eq!(ip_of("[::]:8080:80").as_deref(), Ok("::"));
        assert_eq!(ip_of("[1.2.3.4]:80:80").as_deref(), Ok("1.2.3.4"));
        assert_eq!(ip_of("127.0.0.1:80:80").as_deref(), Ok("127.0.0.1"));
        assert_eq!(ip_of("8080:80").as_deref(), Ok(""));
        assert_eq!(split_parts("[::1]::80/udp"), ("[::1]".into(), "", "80/udp"));
        assert_eq!(
            ip_of("[::1:80"),
            Err("invalid IP address [:: address [::: missing ']' in address".into())
        );
        assert_eq!(
            ip_of("[::1]:80"),
            Err("invalid IP address [:: address [::: missing ']' in address".into())
        );
        assert_eq!(
            ip_of("[::1]:80:80:80"),
            Err(
                "invalid IP address [::1]:80: address [::1]:80:: too many colons in address".into()
            )
        );
        assert_eq!(ip_of("::1]:80:80"), Err("invalid IP address: ::1]".into()));
        assert_eq!(ip_of("::8080:80"), Err("invalid IP address: :".into()));
        assert_eq!(split_proto_port("80/udp"), ("80", "udp"));
        assert_eq!(split_proto_port("80/"), ("80", "tcp"));
        assert_eq!(split_proto_port("/udp"), ("", ""));
        assert_eq!(ip_of("[zz]:80:80"), Err("invalid IP address: zz".into()));
    }

    #[test]
    fn ranges_and_keys() {
        let p = parse_publish("127.0.0.1:8000-8001:80-81/udp").expect("parses");
        assert_eq!(
            p,
            vec![
                ("80/udp".to_string(), PortBinding::new("127.0.0.1", "8000")),
                ("81/udp".to_string(), PortBinding::new("127.0.0.1", "8001")),
            ]
        );
        // A host range for one container port stays a range (the daemon picks one).
        assert_eq!(
            parse_publish("7000-7002:7000").expect("parses"),
            vec![("7000/tcp".to_string(), PortBinding::new("", "7000-7002"))]
        );
        assert_eq!(
            parse_publish("70000:80"),
            Err("invalid hostPort: 70000".into())
        );
        assert_eq!(parse_publish("80/foo"), Err("invalid proto: foo".into()));
        assert_eq!(
            parse_expose("7000-7001").expect("ok"),
            ["7000/tcp", "7001/tcp"]
        );
        assert_eq!(parse_port_key("80"), Ok((80, "tcp".into())));
        assert_eq!(parse_port_key("53/UDP"), Ok((53, "udp".into())));
        // Port 0 is accepted, as moby does (`-p 127.0.0.1::0`).
        assert_eq!(parse_port_key("0/tcp"), Ok((0, "tcp".into())));
        assert_eq!(parse_port_key("x/tcp"), Err("invalid port: x/tcp".into()));
        assert_eq!(parse_port_key("80/sctp"), Err("invalid proto: sctp".into()));
    }

    #[test]
    fn bindings_round_trip() {
        let m: PortMap = serde_json::from_str(
            r#"{"80/tcp":null,"53/udp":[{"HostIp":"::1","HostPort":"","X":1}]}"#,
        )
        .expect("parses");
        assert_eq!(
            serde_json::to_string(&m).expect("writes"),
            r#"{"53/udp":[{"HostIp":"::1","HostPort":"","X":1}],"80/tcp":null}"#
        );
        let s = PortSummary {
            private_port: 80,
            kind: "tcp".into(),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&s).expect("writes"),
            r#"{"PrivatePort":80,"Type":"tcp"}"#
        );
    }
}
