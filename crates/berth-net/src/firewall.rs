//! The daemon's own nftables table: isolation between its bridge networks, no way out of
//! internal ones, masquerade for the others. The whole table is rewritten in one batch
//! (`nft -f`: one atomic transaction) whenever the set of networks changes, so it always
//! matches the networks berth has, and nothing outside the table is touched.
//!
//! One table per daemon: `berth` for /var/lib/berth, `berth_<hash of the data root>`
//! otherwise, so test daemons never share one. It holds isolation, internal drops,
//! masquerade and the DNAT of published ports (prerouting for traffic from other hosts and
//! containers, output for the host itself; `route_localnet` on berth's bridges plus a
//! masquerade of 127.0.0.0/8 let 127.0.0.1 work without a userland proxy). Daemon shutdown
//! removes the table (and bridges) only when no container uses them: with running
//! containers everything stays (live restore) and the restarted daemon rewrites the rules.

use crate::{NetError, Result};
use sha2::{Digest, Sha256};
use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

/// The table of the daemon owning `data_root`: `berth` for the default data root, else
/// `berth_<hash>` so that several daemons (tests) never share one.
pub fn table_name(data_root: &Path) -> String {
    if data_root == Path::new("/var/lib/berth") {
        return "berth".into();
    }
    let h = Sha256::digest(data_root.as_os_str().as_encoded_bytes());
    format!("berth_{}", &hex::encode(h)[..10])
}

/// What the rules need to know of one bridge network.
#[derive(Debug, Clone)]
pub struct NetRules {
    pub bridge: String,
    pub subnet: String,
    /// The IPv6 subnet of an IPv6 network (masqueraded in the `ip6` table).
    pub subnet6: Option<String>,
    pub internal: bool,
    /// Masquerade traffic leaving the host (daemon/network option, default on).
    pub masquerade: bool,
    /// dockerd's `userland-proxy` (default on), which decides what a connection from a
    /// container to a port published on a host address gets when it goes back into the
    /// bridge it came from (see [`hairpin_rules`]).
    pub userland_proxy: bool,
}

/// One published port: host address and port to a container's address and port.
#[derive(Debug, Clone)]
pub struct PortRule {
    /// "tcp" or "udp".
    pub proto: String,
    /// 0.0.0.0: every local address of the host.
    pub host_ip: std::net::Ipv4Addr,
    pub host_port: u16,
    pub dest_ip: std::net::Ipv4Addr,
    pub dest_port: u16,
}

/// The table's text for these networks, published ports and routing-mesh ports.
pub fn ruleset(
    table: &str,
    nets: &[NetRules],
    ports: &[PortRule],
    mesh: &[crate::lb::MeshPort],
) -> String {
    // Published ports go through DNAT (traffic from other containers and hosts in
    // prerouting, from the host itself in output); DNAT'ed connections may cross networks.
    let mut fwd = String::from("\t\tct status dnat accept\n");
    let mut nat = String::new();
    let mut dnat = String::new();
    // The output hook's fib lookup does not class loopback destinations as local for
    // locally generated packets: 0.0.0.0 bindings get an explicit loopback rule there.
    let mut out_dnat = String::new();
    for p in ports {
        let dst = if p.host_ip.is_unspecified() {
            "fib daddr type local".to_string()
        } else {
            format!("ip daddr {}", p.host_ip)
        };
        let proto = if p.proto == "udp" { "udp" } else { "tcp" };
        let rule = format!(
            "{proto} dport {} dnat to {}:{}\n",
            p.host_port, p.dest_ip, p.dest_port
        );
        if p.host_ip.is_unspecified() {
            out_dnat.push_str(&format!("\t\tip daddr 127.0.0.0/8 {rule}"));
        }
        out_dnat.push_str(&format!("\t\t{dst} {rule}"));
        dnat.push_str(&format!("\t\t{dst} {rule}"));
    }
    // The routing mesh: a published port of every local address goes to one of the
    // service's tasks on the ingress network (none: nothing answers, as without a task).
    for m in mesh.iter().filter(|m| !m.backends.is_empty()) {
        let proto = if m.proto == "udp" { "udp" } else { "tcp" };
        let rule = format!(
            "{proto} dport {} dnat to {}:{}\n",
            m.published,
            crate::lb::spread(&m.backends),
            m.target
        );
        out_dnat.push_str(&format!("\t\tip daddr 127.0.0.0/8 {rule}"));
        out_dnat.push_str(&format!("\t\tfib daddr type local {rule}"));
        dnat.push_str(&format!("\t\tfib daddr type local {rule}"));
    }
    for n in nets {
        let b = quote(&n.bridge);
        fwd.push_str(&forward_rules(n, nets));
        nat.push_str(&hairpin_rules(n, ports));
        if !n.internal && n.masquerade {
            nat.push_str(&format!(
                "\t\tip saddr {} oifname != {b} masquerade\n",
                n.subnet
            ));
        }
    }
    format!(
        "table ip {table} {{\n\tchain forward {{\n\t\ttype filter hook forward priority filter; policy accept;\n{fwd}\t}}\n\tchain prerouting {{\n\t\ttype nat hook prerouting priority dstnat; policy accept;\n{dnat}\t}}\n\tchain output {{\n\t\ttype nat hook output priority -100; policy accept;\n{out_dnat}\t}}\n\tchain postrouting {{\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n{nat}\t}}\n}}\n"
    )
}

/// One network's postrouting rules for connections DNAT sends back into its bridge.
///
/// With the userland proxy (dockerd's default), a container that connects to a published
/// port through a host address (the gateway's, the host's) reaches dockerd's proxy, which
/// connects to the target from the bridge's own address. berth DNATs those connections
/// instead (bridge ports are in hairpin mode, so the target may even be the client), and
/// masquerades the ones from the bridge's own subnet: the target sees the gateway as the
/// client, as with the proxy, and its replies go back through the NAT (answered directly,
/// the client would drop them). Connections from 127.0.0.0/8 (route_localnet is on for the
/// bridge) need a source the container can answer too.
///
/// Without the proxy, moby 28's rules: every connection from a host address is masqueraded
/// ("MASQUERADE FROM HOST"), and so is a container's connection to its own published port
/// ("MASQ TO OWN PORT"); one from another container keeps its source.
fn hairpin_rules(n: &NetRules, ports: &[PortRule]) -> String {
    let b = quote(&n.bridge);
    if n.userland_proxy && n.internal {
        // No published port reaches an internal network.
        return format!("\t\tip saddr 127.0.0.0/8 oifname {b} masquerade\n");
    }
    if n.userland_proxy {
        return format!(
            "\t\tip saddr 127.0.0.0/8 oifname {b} masquerade\n\t\tip saddr {} oifname {b} ct status dnat masquerade\n",
            n.subnet
        );
    }
    let mut r = format!("\t\tfib saddr type local oifname {b} masquerade\n");
    let subnet: Option<ipnet::Ipv4Net> = n.subnet.parse().ok();
    for p in ports
        .iter()
        .filter(|p| subnet.is_some_and(|s| s.contains(&p.dest_ip)))
    {
        let proto = if p.proto == "udp" { "udp" } else { "tcp" };
        r.push_str(&format!(
            "\t\tip saddr {d} ip daddr {d} {proto} dport {} masquerade\n",
            p.dest_port,
            d = p.dest_ip
        ));
    }
    r
}

/// One network's forward chain rules, the same in the `ip` and `ip6` tables: traffic
/// within its bridge passes, to berth's other bridges it is dropped, and an internal
/// network has no way in or out; the others may go out and get replies back.
pub(crate) fn forward_rules(n: &NetRules, nets: &[NetRules]) -> String {
    let b = quote(&n.bridge);
    let mut fwd = format!("\t\tiifname {b} oifname {b} accept\n");
    let others: Vec<String> = nets
        .iter()
        .filter(|o| o.bridge != n.bridge)
        .map(|o| quote(&o.bridge))
        .collect();
    if !others.is_empty() {
        fwd.push_str(&format!(
            "\t\tiifname {b} oifname {{ {} }} drop\n",
            others.join(", ")
        ));
    }
    if n.internal {
        fwd.push_str(&format!("\t\tiifname {b} drop\n\t\toifname {b} drop\n"));
    } else {
        fwd.push_str(&format!(
            "\t\tiifname {b} accept\n\t\toifname {b} ct state established,related accept\n"
        ));
    }
    fwd
}

pub(crate) fn quote(name: &str) -> String {
    format!("\"{}\"", name.replace('"', ""))
}

/// Replaces the table with the rules for `nets` in one transaction (removes it when empty).
pub fn apply(
    table: &str,
    nets: &[NetRules],
    ports: &[PortRule],
    mesh: &[crate::lb::MeshPort],
) -> Result<()> {
    // "add" then "delete" makes the delete succeed whether or not the table existed.
    let mut script = format!(
        "add table ip {table}\ndelete table ip {table}\nadd table ip6 {table}\ndelete table ip6 {table}\n"
    );
    if !nets.is_empty() {
        script.push_str(&ruleset(table, nets, ports, mesh));
        script.push_str(&crate::firewall6::ruleset6(table, nets));
    }
    nft(&script)
}

/// Deletes the table (daemon shutdown with no networks in use).
pub fn remove(table: &str) -> Result<()> {
    nft(&format!(
        "add table ip {table}\ndelete table ip {table}\nadd table ip6 {table}\ndelete table ip6 {table}\n"
    ))
}

pub(crate) fn nft(script: &str) -> Result<()> {
    let mut child = Command::new("nft")
        .args(["-f", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| NetError::Firewall(format!("cannot run nft: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin
            .write_all(script.as_bytes())
            .map_err(|e| NetError::Firewall(format!("writing to nft: {e}")))?;
    }
    let out = child
        .wait_with_output()
        .map_err(|e| NetError::Firewall(format!("waiting for nft: {e}")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(NetError::Firewall(
            String::from_utf8_lossy(&out.stderr).trim().to_string(),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rules_isolate_and_masquerade() {
        let nets = vec![
            NetRules {
                bridge: "bt-a".into(),
                subnet: "10.213.1.0/24".into(),
                subnet6: None,
                internal: false,
                masquerade: true,
                userland_proxy: true,
            },
            NetRules {
                bridge: "bt-b".into(),
                subnet: "10.213.2.0/24".into(),
                subnet6: None,
                internal: true,
                masquerade: true,
                userland_proxy: true,
            },
        ];
        let ports = vec![PortRule {
            proto: "tcp".into(),
            host_ip: "127.0.0.1".parse().unwrap(),
            host_port: 8080,
            dest_ip: "10.213.1.2".parse().unwrap(),
            dest_port: 80,
        }];
        let mesh = vec![crate::lb::MeshPort {
            proto: "tcp".into(),
            published: 8081,
            target: 80,
            backends: vec!["10.0.0.3".parse().unwrap(), "10.0.0.4".parse().unwrap()],
        }];
        let r = ruleset("berth_x", &nets, &ports, &mesh);
        assert!(
            r.contains("fib daddr type local tcp dport 8081 dnat to numgen inc mod 2 map { 0 : 10.0.0.3, 1 : 10.0.0.4 }:80"),
            "{r}"
        );
        assert!(
            r.contains("ip daddr 127.0.0.0/8 tcp dport 8081 dnat to numgen"),
            "{r}"
        );
        assert!(
            r.contains("ip daddr 127.0.0.1 tcp dport 8080 dnat to 10.213.1.2:80"),
            "{r}"
        );
        assert!(
            r.contains("iifname \"bt-a\" oifname { \"bt-b\" } drop"),
            "{r}"
        );
        assert!(
            r.contains("iifname \"bt-b\" oifname { \"bt-a\" } drop"),
            "{r}"
        );
        assert!(r.contains("ip saddr 10.213.1.0/24 oifname != \"bt-a\" masquerade"));
        assert!(
            !r.contains("10.213.2.0/24 oifname"),
            "internal: no masquerade\n{r}"
        );
        assert!(r.contains("iifname \"bt-b\" drop"));
        assert_ne!(
            table_name(Path::new("/tmp/a")),
            table_name(Path::new("/tmp/b"))
        );
        assert_eq!(table_name(Path::new("/var/lib/berth")), "berth");
    }

    #[test]
    fn hairpin_connections_are_masqueraded_as_dockerd_has_them() {
        let net = |userland_proxy| NetRules {
            bridge: "bt-a".into(),
            subnet: "10.213.1.0/24".into(),
            subnet6: None,
            internal: false,
            masquerade: true,
            userland_proxy,
        };
        let ports = vec![
            PortRule {
                proto: "tcp".into(),
                host_ip: "10.213.1.1".parse().unwrap(),
                host_port: 8080,
                dest_ip: "10.213.1.2".parse().unwrap(),
                dest_port: 80,
            },
            PortRule {
                proto: "udp".into(),
                host_ip: std::net::Ipv4Addr::UNSPECIFIED,
                host_port: 5353,
                dest_ip: "10.99.0.2".parse().unwrap(),
                dest_port: 53,
            },
        ];
        // With the proxy: what DNAT sends back into the bridge from its own subnet gets
        // the gateway's address, as the proxy's connection would have.
        let r = ruleset("t", &[net(true)], &ports, &[]);
        assert!(
            r.contains("ip saddr 10.213.1.0/24 oifname \"bt-a\" ct status dnat masquerade"),
            "{r}"
        );
        assert!(
            r.contains("ip saddr 127.0.0.0/8 oifname \"bt-a\" masquerade"),
            "{r}"
        );
        assert!(!r.contains("fib saddr type local"), "{r}");
        // Without it: moby 28's MASQUERADE FROM HOST and MASQ TO OWN PORT, for this
        // network's containers only.
        let r = ruleset("t", &[net(false)], &ports, &[]);
        assert!(
            r.contains("fib saddr type local oifname \"bt-a\" masquerade"),
            "{r}"
        );
        assert!(
            r.contains("ip saddr 10.213.1.2 ip daddr 10.213.1.2 tcp dport 80 masquerade"),
            "{r}"
        );
        assert!(
            !r.contains("10.99.0.2 ip daddr"),
            "another network's port\n{r}"
        );
        assert!(!r.contains("ct status dnat masquerade"), "{r}");
    }
}
