//! /etc/hostname, /etc/hosts and /etc/resolv.conf as Docker writes them for a container:
//! computed as one value from all their sources (the host's files, `--add-host`,
//! `--dns*`, the embedded resolver, `--link`, its own addresses, a shared namespace's
//! files), then written once per start (`EtcFiles::compose`, `write`). `network connect`
//! and `disconnect` change a running container's files as one value too (`EtcChange::
//! compute` from a [`Reconnect`], then `write` once): its sources are the files as they are
//! now, because Docker edits them in place (moby's sandbox adds and deletes its hosts
//! entries; the container's own edits and the lines start wrote stay), the endpoint's
//! addresses, the embedded resolver and the `--dns-*` flags. They are bind-mounted, so
//! they are rewritten, never replaced.

use crate::model::EndpointRecord;
use crate::network::config::BridgeConfig;
use crate::network::fixed_cidr;
use crate::network::mode::DEFAULT_NETWORK;
use std::collections::BTreeMap;
use std::path::Path;

const HOSTS_BASE: &str = "127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::\tip6-localnet\nff00::\tip6-mcastprefix\nff02::1\tip6-allnodes\nff02::2\tip6-allrouters\n";

/// The host's files a container's are made from, read once per start.
#[derive(Debug, Clone, Default)]
pub struct HostFiles {
    /// /etc/hosts (read only for a container on the host's network).
    pub hosts: Option<String>,
    pub resolv_conf: String,
}

impl HostFiles {
    pub fn read(host_network: bool) -> HostFiles {
        HostFiles {
            hosts: host_network
                .then(|| std::fs::read_to_string("/etc/hosts").ok())
                .flatten(),
            resolv_conf: std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default(),
        }
    }
}

/// Everything a container's /etc files are made of.
#[derive(Debug, Clone, Default)]
pub struct Sources<'a> {
    pub hostname: &'a str,
    /// The container shares the host's network: it gets the host's files.
    pub host_network: bool,
    /// `--add-host`, as the docker CLI sends it (`NAME:IP`, IP maybe `host-gateway`).
    pub extra_hosts: &'a [String],
    pub dns: &'a [String],
    pub dns_search: &'a [String],
    pub dns_options: &'a [String],
    pub host: HostFiles,
    /// `--network container:X`: X's hosts and resolv.conf (a file X lacks: the container's
    /// own is kept).
    pub shared: Option<(Option<String>, Option<String>)>,
    /// The embedded resolver serves the container (it is on a user-defined network).
    pub embedded_resolver: bool,
    /// `--link` hosts lines (`IP\tALIAS ID NAME\n`).
    pub links: &'a str,
    /// Its own addresses, each gets `IP\thostname` (v4 then v6, per network).
    pub own_addresses: Vec<String>,
    /// What `host-gateway` stands for (`host_gateway`).
    pub host_gateway: String,
}

/// The three files' contents.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EtcFiles {
    pub hostname: String,
    pub hosts: String,
    pub resolv_conf: String,
}

impl EtcFiles {
    /// The files as Docker makes them at start.
    pub fn compose(src: &Sources) -> EtcFiles {
        let mut hosts = match (&src.host.hosts, src.host_network) {
            (Some(h), true) => h.clone(),
            _ => HOSTS_BASE.to_string(),
        };
        for entry in src.extra_hosts {
            // "name:ip" as the docker CLI sends --add-host.
            if let Some((name, ip)) = entry.split_once(':') {
                hosts.push_str(&format!("{ip}\t{name}\n"));
            }
        }
        let mut resolv = if src.embedded_resolver {
            embedded_resolv_conf(&src.host.resolv_conf, src.dns_search, src.dns_options)
        } else {
            resolv_conf(
                &src.host.resolv_conf,
                src.host_network,
                src.dns,
                src.dns_search,
                src.dns_options,
            )
        };
        if let Some((shared_hosts, shared_resolv)) = &src.shared {
            if let Some(h) = shared_hosts {
                hosts = h.clone();
            }
            if let Some(r) = shared_resolv {
                resolv = r.clone();
            }
        }
        hosts.push_str(src.links);
        if hosts.lines().any(|l| l.starts_with("host-gateway\t")) {
            hosts = hosts
                .lines()
                .map(|l| match l.strip_prefix("host-gateway\t") {
                    Some(name) => format!("{}\t{name}\n", src.host_gateway),
                    None => format!("{l}\n"),
                })
                .collect();
        }
        for ip in &src.own_addresses {
            hosts.push_str(&format!("{ip}\t{}\n", src.hostname));
        }
        EtcFiles {
            hostname: format!("{}\n", src.hostname),
            hosts,
            resolv_conf: resolv,
        }
    }

    /// Writes the three files into the container directory.
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        std::fs::write(dir.join("hostname"), &self.hostname)?;
        std::fs::write(dir.join("hosts"), &self.hosts)?;
        std::fs::write(dir.join("resolv.conf"), &self.resolv_conf)
    }
}

/// A container's own addresses for its /etc/hosts: each attached endpoint's IPv4, then
/// IPv6 address (none for a built-in mode without networks of ours).
pub fn own_addresses(
    builtin_mode: bool,
    endpoints: &BTreeMap<String, EndpointRecord>,
) -> Vec<String> {
    if builtin_mode && endpoints.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for ep in endpoints.values().filter(|e| !e.ip.is_empty()) {
        out.push(ep.ip.clone());
        if !ep.ip6.is_empty() {
            out.push(ep.ip6.clone());
        }
    }
    out
}

/// What `--add-host NAME:host-gateway` stands for: the gateway of the container's first
/// user-defined network, else the default bridge's (see `fixed_cidr::host_gateway`).
pub fn host_gateway(
    cfg: &BridgeConfig,
    endpoints: &BTreeMap<String, EndpointRecord>,
    bridge_gateway: Option<&str>,
) -> String {
    let user = endpoints
        .iter()
        .filter(|(k, _)| k.as_str() != DEFAULT_NETWORK)
        .map(|(_, e)| e.gateway.as_str())
        .find(|g| !g.is_empty());
    fixed_cidr::host_gateway(cfg, user, bridge_gateway)
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
    let (mut search, mut options) = search_and_options(host);
    for line in host.lines() {
        let mut words = line.split_whitespace();
        if words.next() == Some("nameserver") {
            if let Some(ns) = words.next() {
                let local = ns.starts_with("127.") || ns == "::1";
                if host_network || !local {
                    nameservers.push(ns.to_string());
                }
            }
        }
    }
    if !dns.is_empty() {
        nameservers = dns.to_vec();
    }
    if nameservers.is_empty() {
        nameservers = vec!["8.8.8.8".into(), "8.8.4.4".into()];
    }
    apply_flags(&mut search, &mut options, dns_search, dns_options);
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

/// The container's resolv.conf on a user-defined network: the embedded resolver, the
/// search domains of the host or `--dns-search`, and `ndots:0` unless `--dns-option`
/// sets ndots, as Docker writes it.
pub fn embedded_resolv_conf(host: &str, dns_search: &[String], dns_options: &[String]) -> String {
    let (mut search, mut options) = search_and_options(host);
    apply_flags(&mut search, &mut options, dns_search, dns_options);
    if !options.iter().any(|o| o.starts_with("ndots:")) {
        options.push("ndots:0".into());
    }
    let mut out = String::new();
    if !search.is_empty() {
        out.push_str(&format!("search {}\n", search.join(" ")));
    }
    out.push_str(&format!("nameserver {}\n", berth_net::dns::RESOLVER_IP));
    out.push_str(&format!("options {}\n", options.join(" ")));
    out
}

/// What a running container's /etc files are made of when `network connect` or
/// `disconnect` changes its networks.
#[derive(Debug, Clone, Default)]
pub struct Reconnect<'a> {
    pub hostname: &'a str,
    /// Its /etc/hosts as it is now (`None`: it cannot be read, and is left alone).
    pub hosts: Option<String>,
    /// Its resolv.conf as it is now (empty when it cannot be read).
    pub resolv_conf: String,
    /// The endpoint's addresses (IPv4, IPv6; empty ones have no line).
    pub addresses: Vec<&'a str>,
    /// Connected (its lines added) or disconnected (its lines removed).
    pub connected: bool,
    /// The embedded resolver serves the container once connected.
    pub embedded_resolver: bool,
    /// The host's resolv.conf (its search domains and options).
    pub host_resolv_conf: String,
    pub dns_search: &'a [String],
    pub dns_options: &'a [String],
}

/// The files a connect or disconnect rewrites; `None` is left as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EtcChange {
    pub hosts: Option<String>,
    pub resolv_conf: Option<String>,
}

impl EtcChange {
    /// Docker's edit: connect adds `IP\thostname` for each address (after removing a line
    /// already there) and, when the embedded resolver serves the container only now, points
    /// its resolv.conf at it; disconnect removes the lines and leaves resolv.conf (moby
    /// does not take the resolver back).
    pub fn compute(src: &Reconnect) -> EtcChange {
        let hosts = match &src.hosts {
            Some(current) if src.addresses.iter().any(|ip| !ip.is_empty()) => Some(
                hosts_with_addresses(current, &src.addresses, src.hostname, src.connected),
            ),
            _ => None,
        };
        let resolv_conf = (src.connected && src.embedded_resolver)
            .then(|| {
                resolv_for_resolver(
                    &src.resolv_conf,
                    &src.host_resolv_conf,
                    src.dns_search,
                    src.dns_options,
                )
            })
            .flatten();
        EtcChange { hosts, resolv_conf }
    }

    /// Rewrites the changed files in the container directory, in place (the container
    /// sees them through bind mounts of these inodes).
    pub fn write(&self, dir: &Path) -> std::io::Result<()> {
        if let Some(r) = &self.resolv_conf {
            std::fs::write(dir.join("resolv.conf"), r)?;
        }
        if let Some(h) = &self.hosts {
            std::fs::write(dir.join("hosts"), h)?;
        }
        Ok(())
    }
}

/// `network connect` of a container that had no embedded resolver (the default bridge)
/// and is served one now: its resolv.conf with the resolver, as Docker rewrites it. None
/// when the current file has it already.
pub fn resolv_for_resolver(
    current: &str,
    host: &str,
    dns_search: &[String],
    dns_options: &[String],
) -> Option<String> {
    let ours = format!("nameserver {}", berth_net::dns::RESOLVER_IP);
    if current.lines().any(|l| l.trim() == ours) {
        return None;
    }
    Some(embedded_resolv_conf(host, dns_search, dns_options))
}

/// The running container's /etc/hosts after `network connect` (`add`) or `disconnect`:
/// each address's `IP\thostname` line removed, and appended again when added.
pub fn hosts_with_addresses(current: &str, ips: &[&str], hostname: &str, add: bool) -> String {
    let mut text = current.to_string();
    for ip in ips.iter().filter(|ip| !ip.is_empty()) {
        let line = format!("{ip}\t{hostname}");
        let mut out: String = text
            .lines()
            .filter(|l| *l != line)
            .map(|l| format!("{l}\n"))
            .collect();
        if add {
            out.push_str(&line);
            out.push('\n');
        }
        text = out;
    }
    text
}

/// The host's `search`/`domain` and `options` lines (the last of each wins).
fn search_and_options(host: &str) -> (Vec<String>, Vec<String>) {
    let mut search = Vec::new();
    let mut options = Vec::new();
    for line in host.lines() {
        let mut words = line.split_whitespace();
        match words.next() {
            Some("search") | Some("domain") => search = words.map(str::to_string).collect(),
            Some("options") => options = words.map(str::to_string).collect(),
            _ => {}
        }
    }
    (search, options)
}

/// `--dns-search` (`.` meaning none) and `--dns-option` replace the host's lines.
fn apply_flags(
    search: &mut Vec<String>,
    options: &mut Vec<String>,
    dns_search: &[String],
    dns_options: &[String],
) {
    if !dns_search.is_empty() {
        *search = dns_search
            .iter()
            .filter(|s| s.as_str() != ".")
            .cloned()
            .collect();
    }
    if !dns_options.is_empty() {
        *options = dns_options.to_vec();
    }
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

    fn host() -> HostFiles {
        HostFiles {
            hosts: None,
            resolv_conf: "nameserver 10.0.0.1\nsearch corp.example\noptions edns0\n".into(),
        }
    }

    #[test]
    fn one_value_from_every_source() {
        let extra = ["db:10.9.9.9".to_string(), "gw:host-gateway".to_string()];
        let files = EtcFiles::compose(&Sources {
            hostname: "abc123",
            extra_hosts: &extra,
            host: host(),
            embedded_resolver: true,
            links: "172.17.0.5\tweb 0123456789ab web\n",
            own_addresses: vec!["10.1.0.2".into(), "fd00::2".into()],
            host_gateway: "10.1.0.1".into(),
            ..Default::default()
        });
        assert_eq!(files.hostname, "abc123\n");
        assert_eq!(
            files.hosts,
            format!(
                "{HOSTS_BASE}10.9.9.9\tdb\n10.1.0.1\tgw\n172.17.0.5\tweb 0123456789ab web\n\
                 10.1.0.2\tabc123\nfd00::2\tabc123\n"
            )
        );
        assert_eq!(
            files.resolv_conf,
            "search corp.example\nnameserver 127.0.0.11\noptions edns0 ndots:0\n"
        );
        // Without the resolver: the host's servers; a shared namespace's files win.
        let files = EtcFiles::compose(&Sources {
            hostname: "abc123",
            host: host(),
            shared: Some((Some("1.2.3.4\tother\n".into()), None)),
            ..Default::default()
        });
        assert_eq!(files.hosts, "1.2.3.4\tother\n");
        assert_eq!(
            files.resolv_conf,
            "search corp.example\nnameserver 10.0.0.1\noptions edns0\n"
        );
    }

    #[test]
    fn connect_and_disconnect_are_one_value_from_their_sources() {
        let search = ["corp.example".to_string()];
        // The default bridge's files as start wrote them, with a line the user added.
        let hosts = format!("{HOSTS_BASE}172.17.0.2\tc1\n10.0.0.9\tmine\n");
        let connect = Reconnect {
            hostname: "c1",
            hosts: Some(hosts.clone()),
            resolv_conf: "nameserver 10.0.0.1\n".into(),
            addresses: vec!["10.2.0.2", "fd00::2"],
            connected: true,
            embedded_resolver: true,
            host_resolv_conf: "nameserver 10.0.0.1\noptions edns0\n".into(),
            dns_search: &search,
            dns_options: &[],
        };
        let change = EtcChange::compute(&connect);
        assert_eq!(
            change,
            EtcChange {
                hosts: Some(format!("{hosts}10.2.0.2\tc1\nfd00::2\tc1\n")),
                resolv_conf: Some(
                    "search corp.example\nnameserver 127.0.0.11\noptions edns0 ndots:0\n".into()
                ),
            }
        );
        // A second network: the resolver is there already, resolv.conf stays.
        let again = Reconnect {
            hosts: change.hosts.clone(),
            resolv_conf: change.resolv_conf.clone().unwrap_or_default(),
            addresses: vec!["10.3.0.2", ""],
            ..connect.clone()
        };
        let second = EtcChange::compute(&again);
        assert_eq!(second.resolv_conf, None);
        assert_eq!(
            second.hosts.as_deref(),
            Some(format!("{hosts}10.2.0.2\tc1\nfd00::2\tc1\n10.3.0.2\tc1\n").as_str())
        );
        // Disconnect: the lines go, the user's line and resolv.conf stay.
        let gone = EtcChange::compute(&Reconnect {
            hosts: second.hosts.clone(),
            addresses: vec!["10.2.0.2", "fd00::2"],
            connected: false,
            ..again.clone()
        });
        assert_eq!(
            gone,
            EtcChange {
                hosts: Some(format!("{hosts}10.3.0.2\tc1\n")),
                resolv_conf: None,
            }
        );
        // No address (a network without IPv4), or a hosts file that cannot be read:
        // nothing to write.
        let none = EtcChange::compute(&Reconnect {
            addresses: vec!["", ""],
            embedded_resolver: false,
            ..connect.clone()
        });
        assert_eq!(none, EtcChange::default());
        let unreadable = EtcChange::compute(&Reconnect {
            hosts: None,
            embedded_resolver: false,
            ..connect
        });
        assert_eq!(unreadable, EtcChange::default());
        // Written once, in place: the same inodes (bind-mounted into the container).
        let dir = tempfile::tempdir().expect("tempdir");
        std::fs::write(dir.path().join("hosts"), &hosts).expect("hosts");
        std::fs::write(dir.path().join("resolv.conf"), "x\n").expect("resolv");
        let ino = |f: &str| {
            use std::os::unix::fs::MetadataExt;
            std::fs::metadata(dir.path().join(f)).expect("stat").ino()
        };
        let before = (ino("hosts"), ino("resolv.conf"));
        change.write(dir.path()).expect("write");
        assert_eq!((ino("hosts"), ino("resolv.conf")), before);
        assert_eq!(
            std::fs::read_to_string(dir.path().join("hosts")).ok(),
            change.hosts
        );
        assert_eq!(
            std::fs::read_to_string(dir.path().join("resolv.conf")).ok(),
            change.resolv_conf
        );
    }

    #[test]
    fn connect_and_disconnect_edit_in_place() {
        let base = "127.0.0.1\tlocalhost\n10.1.0.2\tc1\n";
        let added = hosts_with_addresses(base, &["10.2.0.2", "", "fd00::3"], "c1", true);
        assert_eq!(added, format!("{base}10.2.0.2\tc1\nfd00::3\tc1\n"));
        let removed = hosts_with_addresses(&added, &["10.2.0.2", "fd00::3"], "c1", false);
        assert_eq!(removed, base);
        let host = "search a\n";
        assert_eq!(
            resolv_for_resolver("nameserver 8.8.8.8\n", host, &[], &[]).as_deref(),
            Some("search a\nnameserver 127.0.0.11\noptions ndots:0\n")
        );
        assert_eq!(
            resolv_for_resolver("nameserver 127.0.0.11\n", host, &[], &[]),
            None
        );
    }
}
