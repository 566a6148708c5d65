//! /etc/hostname, /etc/hosts and /etc/resolv.conf as Docker writes them for a container.

use crate::error::Result;
use crate::model::ContainerRecord;
use crate::network::config::BridgeConfig;
use crate::network::fixed_cidr;
use crate::network::mode::{is_builtin_mode, DEFAULT_NETWORK};
use std::io::Write;
use std::path::Path;

const HOSTS_BASE: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::\tip6-localnet\nff00::\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";

/// Writes the three files into the container directory.
/// `host_network`: the container shares the host's network, so it gets the host's files.
pub fn write(
    dir: &Path,
    hostname: &str,
    host_network: bool,
    extra_hosts: &[String],
    dns: &[String],
    dns_search: &[String],
    dns_options: &[String],
) -> std::io::Result<()> {
    std::fs::write(dir.join("hostname"), format!("{hostname}\n"))?;

    let mut hosts = if host_network {
        std::fs::read_to_string("/etc/hosts").unwrap_or_else(|_| HOSTS_BASE.to_string())
    } else {
        HOSTS_BASE.to_string()
    };
    for entry in extra_hosts {
        // "name:ip" as the docker CLI sends --add-host.
        if let Some((name, ip)) = entry.split_once(':') {
            hosts.push_str(&format!("{ip}\t{name}\n"));
        }
    }
    std::fs::write(dir.join("hosts"), hosts)?;

    let host_resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
    std::fs::write(
        dir.join("resolv.conf"),
        resolv_conf(&host_resolv, host_network, dns, dns_search, dns_options),
    )
}

/// Docker's rules: the host's resolv.conf, minus localhost nameservers when the container has
/// its own network namespace (they would not answer there); Google's servers if none remain;
/// `--dns*` flags replace the matching lines.
fn resolv_conf(
    host: &str,
    host_network: bool,
    dns: &[String],
    dns_search: &[String],
    dns_options: &[String],
) -> String {
    let mut nameservers = Vec::new();
    let mut search = Vec::new();
    let mut options = Vec::new();
    for line in host.lines() {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("nameserver") => {
                if let Some(ns) = words.next() {
                    let local = ns.starts_with("127.") || ns == "::1";
                    if host_network || !local {
                        nameservers.push(ns.to_string());
                    }
                }
            }
            Some("search") | Some("domain") => search = words.map(str::to_string).collect(),
            Some("options") => options = words.map(str::to_string).collect(),
            _ => {}
        }
    }
    if !dns.is_empty() {
        nameservers = dns.to_vec();
    }
    if nameservers.is_empty() {
        nameservers = vec!["8.8.8.8".into(), "8.8.4.4".into()];
    }
    if !dns_search.is_empty() {
        search = dns_search
            .iter()
            .filter(|s| s.as_str() != ".")
            .cloned()
            .collect();
    }
    if !dns_options.is_empty() {
        options = dns_options.to_vec();
    }
    let mut out = String::new();
    if !search.is_empty() {
        out.push_str(&format!("search {}\n", search.join(" ")));
    }
    for ns in nameservers {
        out.push_str(&format!("nameserver {ns}\n"));
    }
    if !options.is_empty() {
        out.push_str(&format!("options {}\n", options.join(" ")));
    }
    out
}

/// Appends the container's own addresses to its /etc/hosts, as Docker does
/// (`IP\thostname`), for each network it is on.
pub fn hosts_entries(
    dir: &Path,
    rec: &ContainerRecord,
    cfg: &BridgeConfig,
    bridge_gateway: Option<&str>,
) -> Result<()> {
    host_gateway(dir, rec, cfg, bridge_gateway)?;
    if is_builtin_mode(&rec.host_config.network_mode) && rec.endpoints.is_empty() {
        return Ok(());
    }
    let mut lines = String::new();
    for ep in rec.endpoints.values().filter(|e| !e.ip.is_empty()) {
        lines.push_str(&format!("{}\t{}\n", ep.ip, rec.config.hostname));
        if !ep.ip6.is_empty() {
            lines.push_str(&format!("{}\t{}\n", ep.ip6, rec.config.hostname));
        }
    }
    if lines.is_empty() {
        return Ok(());
    }
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(dir.join("hosts"))?;
    f.write_all(lines.as_bytes())?;
    Ok(())
}

/// `--add-host NAME:host-gateway` (see `fixed_cidr::host_gateway` for which address).
fn host_gateway(
    dir: &Path,
    rec: &ContainerRecord,
    cfg: &BridgeConfig,
    bridge_gateway: Option<&str>,
) -> Result<()> {
    let path = dir.join("hosts");
    let text = std::fs::read_to_string(&path)?;
    if !text.lines().any(|l| l.starts_with("host-gateway\t")) {
        return Ok(());
    }
    let user = rec
        .endpoints
        .iter()
        .filter(|(k, _)| k.as_str() != DEFAULT_NETWORK)
        .map(|(_, e)| e.gateway.as_str())
        .find(|g| !g.is_empty());
    let gw = fixed_cidr::host_gateway(cfg, user, bridge_gateway);
    let out: String = text
        .lines()
        .map(|l| match l.strip_prefix("host-gateway\t") {
            Some(name) => format!("{gw}\t{name}\n"),
            None => format!("{l}\n"),
        })
        .collect();
    std::fs::write(&path, out)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drops_local_nameservers_in_own_netns() {
        let host = "nameserver 127.0.0.53\nsearch example.org\noptions edns0\n";
        let out = resolv_conf(host, false, &[], &[], &[]);
        assert_eq!(
            out,
            "search example.org\nnameserver 8.8.8.8\nnameserver 8.8.4.4\noptions edns0\n"
        );
        let out = resolv_conf(host, true, &[], &[], &[]);
        assert!(out.contains("nameserver 127.0.0.53"));
    }

    #[test]
    fn dns_flags_replace_lines() {
        let out = resolv_conf(
            "nameserver 10.0.0.1\n",
            false,
            &["1.1.1.1".into()],
            &["a.b".into()],
            &["ndots:2".into()],
        );
        assert_eq!(out, "search a.b\nnameserver 1.1.1.1\noptions ndots:2\n");
    }
}
