//! The embedded resolver on user-defined networks. Each container on one gets its own UDP
//! and TCP listener on 127.0.0.11:53, bound inside its namespace (berth-net `dns`), served
//! by tasks of the daemon. The listener a query arrives on tells which container asks, so
//! it sees only the names of the networks it shares: container names, aliases and short
//! ids. Other names are forwarded from the host's namespace to the container's `--dns`
//! servers, else the host's resolvers (`BERTH_DNS_UPSTREAM`, `ip[:port],...`, replaces
//! those, for tests); a container only on internal networks gets no outside names.
//!
//! resolv.conf gets `nameserver 127.0.0.11` plus the host's or `--dns-search` domains and
//! `options ndots:0` unless `--dns-option` sets ndots, as Docker writes it. Names are
//! case-insensitive; an alias several containers share answers all their addresses; AAAA
//! gives a name's IPv6 addresses on IPv6 networks (an empty answer otherwise); PTR answers
//! `NAME.NETWORK` (libnetwork's `ResolveIP`, `Entry::ptr`) under in-addr.arpa and ip6.arpa.
//! Forwarding happens from the host's namespace, so a 127.0.0.53 stub works; TCP queries go
//! out over TCP (`dns/tcp.rs`). A `--link` on a user network is a per-asker alias. The
//! daemon's restart binds the listeners of running containers again.

mod tcp;

use berth_net::dns::{self, Query};
use berth_net::plane::DataPlane;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener, UdpSocket};
use std::path::Path;
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::task::AbortHandle;
use tracing::{debug, warn};

const TTL: u32 = 600;
/// The table key of the swarm services' records (no container id looks like it).
const SWARM_RECORDS: &str = "swarm:records";
const UPSTREAM_TIMEOUT: Duration = Duration::from_secs(3);

/// A container's presence on one network, as the resolver sees it.
#[derive(Debug, Clone)]
pub struct Entry {
    pub network_id: String,
    pub internal: bool,
    pub ip: Ipv4Addr,
    /// Its IPv6 address on an IPv6 network (AAAA).
    pub ip6: Option<std::net::Ipv6Addr>,
    /// Lower case: name, aliases, short id.
    pub names: Vec<String>,
    /// A swarm service's record (its VIP or tasks), not a container: no PTR answer.
    pub record: bool,
    /// The reverse lookup's answer, `NAME.NETWORK` as libnetwork's `ResolveIP` (the
    /// container's name and the network's, as written); empty: the first name.
    pub ptr: String,
}

impl Entry {
    /// The names a container answers to on a network: its name, aliases and short id.
    pub fn of(
        container_id: &str,
        name: &str,
        net: &crate::model::NetworkRecord,
        ip: Ipv4Addr,
        aliases: &[String],
    ) -> Entry {
        let name = name.trim_start_matches('/');
        let mut names = vec![name.to_ascii_lowercase()];
        names.extend(aliases.iter().map(|a| a.to_ascii_lowercase()));
        names.push(container_id[..12.min(container_id.len())].to_string());
        Entry {
            network_id: net.id.clone(),
            internal: net.internal,
            ip,
            ip6: None,
            names,
            record: false,
            ptr: format!("{name}.{}", net.name),
        }
    }
}

#[derive(Default)]
struct Table {
    /// container id -> its entries
    entries: HashMap<String, Vec<Entry>>,
    /// container id -> `--link` alias -> target name (for that container only)
    links: HashMap<String, HashMap<String, String>>,
}

impl Table {
    /// The container's own name replaced on each of its networks (aliases kept).
    fn rename(&mut self, container_id: &str, old: &str, new: &str) {
        let (old_l, new_l) = (old.to_ascii_lowercase(), new.to_ascii_lowercase());
        for e in self.entries.get_mut(container_id).into_iter().flatten() {
            if let Some(n) = e.names.iter_mut().find(|n| **n == old_l) {
                n.clone_from(&new_l);
            }
            if let Some(net) = e.ptr.strip_prefix(&format!("{old}.")) {
                e.ptr = format!("{new}.{net}");
            }
        }
    }

    /// The entries of `name` on the networks the asker is on (a `--link` alias of the
    /// asker's stands for its target's name); None for an asker the table does not know.
    fn visible<'a>(&'a self, asker: &str, name: &str) -> Option<Vec<&'a Entry>> {
        let name = self
            .links
            .get(asker)
            .and_then(|l| l.get(name))
            .map_or(name, String::as_str);
        let mine = self.entries.get(asker)?;
        Some(
            self.entries
                .values()
                .flatten()
                .filter(|e| {
                    mine.iter().any(|m| m.network_id == e.network_id)
                        && e.names.iter().any(|n| n == name)
                })
                .collect(),
        )
    }

    fn lookup(&self, asker: &str, name: &str) -> Option<Vec<Ipv4Addr>> {
        let mut ips: Vec<Ipv4Addr> = self.visible(asker, name)?.iter().map(|e| e.ip).collect();
        ips.sort();
        ips.dedup();
        (!ips.is_empty()).then_some(ips)
    }

    /// The IPv6 addresses of a name the asker can see (those on IPv6 networks).
    fn lookup6(&self, asker: &str, name: &str) -> Vec<std::net::Ipv6Addr> {
        let mut ips: Vec<std::net::Ipv6Addr> = self
            .visible(asker, name)
            .unwrap_or_default()
            .iter()
            .filter_map(|e| e.ip6)
            .collect();
        ips.sort();
        ips.dedup();
        ips
    }

    /// The name of the first entry `is_it` picks on a network the asker is on (PTR).
    fn reverse_by(&self, asker: &str, is_it: impl Fn(&Entry) -> bool) -> Option<String> {
        let mine = self.entries.get(asker)?;
        self.entries.values().flatten().find_map(|e| {
            (is_it(e) && !e.record && mine.iter().any(|m| m.network_id == e.network_id))
                .then(|| {
                    if e.ptr.is_empty() {
                        e.names.first().cloned()
                    } else {
                        Some(e.ptr.clone())
                    }
                })
                .flatten()
        })
    }

    fn reverse6(&self, asker: &str, ip: std::net::Ipv6Addr) -> Option<String> {
        self.reverse_by(asker, |e| e.ip6 == Some(ip))
    }

    fn reverse(&self, asker: &str, ip: Ipv4Addr) -> Option<String> {
        self.reverse_by(asker, |e| e.ip == ip)
    }

    fn only_internal(&self, asker: &str) -> bool {
        self.entries
            .get(asker)
            .is_some_and(|v| !v.is_empty() && v.iter().all(|e| e.internal))
    }
}

pub struct Resolver {
    /// Binds each container's listeners in its namespace.
    plane: Arc<dyn DataPlane>,
    table: Arc<RwLock<Table>>,
    tasks: Mutex<HashMap<String, Vec<AbortHandle>>>,
    host_upstreams: Vec<SocketAddr>,
}

impl Resolver {
    pub fn new(plane: Arc<dyn DataPlane>) -> Resolver {
        let host_upstreams = match std::env::var("BERTH_DNS_UPSTREAM") {
            Ok(v) => v.split(',').filter_map(dns::parse_upstream).collect(),
            // The daemon forwards from the host's namespace, so local resolvers (a
            // systemd-resolved stub) work too.
            Err(_) => {
                dns::nameservers(&std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default())
            }
        };
        Resolver {
            plane,
            table: Arc::default(),
            tasks: Mutex::default(),
            host_upstreams,
        }
    }

    /// Registers a container's names on its networks and serves its resolver in the
    /// namespace at `netns`. `dns`: the container's `--dns` servers.
    pub fn add(
        &self,
        container_id: &str,
        entries: Vec<Entry>,
        netns: &Path,
        dns_servers: &[String],
    ) -> crate::error::Result<()> {
        let (udp, tcp) = self
            .plane
            .listen_resolver(netns)
            .map_err(|e| crate::error::EngineError::Internal(format!("embedded DNS: {e}")))?;
        let upstreams: Vec<SocketAddr> = if dns_servers.is_empty() {
            self.host_upstreams.clone()
        } else {
            dns_servers
                .iter()
                .filter_map(|s| dns::parse_upstream(s))
                .collect()
        };
        self.remove(container_id);
        self.table
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .entries
            .insert(container_id.to_string(), entries);
        let ctx = Arc::new(Ctx {
            table: self.table.clone(),
            asker: container_id.to_string(),
            upstreams,
        });
        let handles = serve(ctx, udp, tcp)
            .map_err(|e| crate::error::EngineError::internal("embedded DNS", e))?;
        self.tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(container_id.to_string(), handles);
        Ok(())
    }

    /// Replaces the swarm services' records (their names on their networks: the VIP, or
    /// the tasks' addresses); every container on those networks sees them.
    pub fn set_records(&self, entries: Vec<Entry>) {
        let mut t = self.table.write().unwrap_or_else(|e| e.into_inner());
        if entries.is_empty() {
            t.entries.remove(SWARM_RECORDS);
        } else {
            t.entries.insert(SWARM_RECORDS.to_string(), entries);
        }
    }

    /// Whether the container's resolver is served.
    pub fn serving(&self, container_id: &str) -> bool {
        self.tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains_key(container_id)
    }

    /// Adds a network's names to a served container (`network connect`).
    pub fn add_entry(&self, container_id: &str, entry: Entry) {
        let mut t = self.table.write().unwrap_or_else(|e| e.into_inner());
        let v = t.entries.entry(container_id.to_string()).or_default();
        v.retain(|e| e.network_id != entry.network_id);
        v.push(entry);
    }

    /// Drops a network's names of a container (`network disconnect`).
    pub fn remove_network(&self, container_id: &str, network_id: &str) {
        let mut t = self.table.write().unwrap_or_else(|e| e.into_inner());
        if let Some(v) = t.entries.get_mut(container_id) {
            v.retain(|e| e.network_id != network_id);
        }
    }

    /// `--link` aliases the container's own queries resolve (alias -> target name).
    pub fn set_links(&self, container_id: &str, links: HashMap<String, String>) {
        self.table
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .links
            .insert(container_id.to_string(), links);
    }

    /// A running container renamed: its name (and its reverse lookup's `NAME.NETWORK`)
    /// answer under the new name at once, as libnetwork's endpoint rename.
    pub fn rename(&self, container_id: &str, old: &str, new: &str) {
        self.table
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .rename(container_id, old, new);
    }

    /// Forgets the container's names and stops its listeners.
    pub fn remove(&self, container_id: &str) {
        {
            let mut t = self.table.write().unwrap_or_else(|e| e.into_inner());
            t.entries.remove(container_id);
            t.links.remove(container_id);
        }
        if let Some(hs) = self
            .tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(container_id)
        {
            for h in hs {
                h.abort();
            }
        }
    }
}

struct Ctx {
    table: Arc<RwLock<Table>>,
    asker: String,
    upstreams: Vec<SocketAddr>,
}

fn serve(ctx: Arc<Ctx>, udp: UdpSocket, tcp: TcpListener) -> std::io::Result<Vec<AbortHandle>> {
    let udp = Arc::new(tokio::net::UdpSocket::from_std(udp)?);
    let tcp = tokio::net::TcpListener::from_std(tcp)?;
    let c = ctx.clone();
    let u = tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        loop {
            let (n, peer) = match udp.recv_from(&mut buf).await {
                Ok(x) => x,
                Err(e) => {
                    debug!(error = %e, "embedded DNS receive");
                    continue;
                }
            };
            let pkt = buf[..n].to_vec();
            let (c, udp) = (c.clone(), udp.clone());
            tokio::spawn(async move {
                if let Some(reply) = c.handle(&pkt).await {
                    let _ = udp.send_to(&reply, peer).await;
                }
            });
        }
    });
    let c = ctx;
    let t = tokio::spawn(async move {
        loop {
            let Ok((mut s, _)) = tcp.accept().await else {
                continue;
            };
            let c = c.clone();
            tokio::spawn(async move {
                // Length-prefixed messages until the client closes.
                loop {
                    let mut len = [0u8; 2];
                    if s.read_exact(&mut len).await.is_err() {
                        return;
                    }
                    let mut pkt = vec![0u8; u16::from_be_bytes(len) as usize];
                    if s.read_exact(&mut pkt).await.is_err() {
                        return;
                    }
                    let Some(reply) = c.handle_tcp(&pkt).await else {
                        return;
                    };
                    let mut out = (reply.len() as u16).to_be_bytes().to_vec();
                    out.extend_from_slice(&reply);
                    if s.write_all(&out).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    Ok(vec![u.abort_handle(), t.abort_handle()])
}

enum Local {
    Answer(Vec<u8>),
    Forward,
}

impl Ctx {
    fn local(&self, pkt: &[u8], q: &Query) -> Local {
        let table = self.table.read().unwrap_or_else(|e| e.into_inner());
        if q.qclass != 1 {
            return Local::Forward;
        }
        if q.qtype == dns::TYPE_PTR {
            if let Some(ip) = dns::reverse_v4(&q.name) {
                if let Some(name) = table.reverse(&self.asker, ip) {
                    return Local::Answer(dns::answer_ptr(pkt, q, &[name], TTL));
                }
            }
            if let Some(ip) = berth_net::dns6::reverse_v6(&q.name) {
                if let Some(name) = table.reverse6(&self.asker, ip) {
                    return Local::Answer(dns::answer_ptr(pkt, q, &[name], TTL));
                }
            }
            return Local::Forward;
        }
        match table.lookup(&self.asker, &q.name) {
            Some(ips) if q.qtype == dns::TYPE_A => Local::Answer(dns::answer_a(pkt, q, &ips, TTL)),
            // Its IPv6 addresses (none off IPv6 networks: an empty answer).
            Some(_) if q.qtype == dns::TYPE_AAAA => Local::Answer(berth_net::dns6::answer_aaaa(
                pkt,
                q,
                &table.lookup6(&self.asker, &q.name),
                TTL,
            )),
            // A container name has no other records: an empty answer, so the client does
            // not go on to the search domains.
            Some(_) => Local::Answer(dns::answer_a(pkt, q, &[], TTL)),
            None if table.only_internal(&self.asker) => {
                Local::Answer(dns::answer_error(pkt, q, dns::RCODE_SERVFAIL))
            }
            None => Local::Forward,
        }
    }

    async fn handle(&self, pkt: &[u8]) -> Option<Vec<u8>> {
        let q = dns::parse_query(pkt)?;
        match self.local(pkt, &q) {
            Local::Answer(a) => Some(a),
            Local::Forward => Some(match self.forward(pkt, q.id).await {
                Some(r) => r,
                None => dns::answer_error(pkt, &q, dns::RCODE_SERVFAIL),
            }),
        }
    }

    /// Asks each upstream in turn over UDP; the first answer with the query's id wins.
    async fn forward(&self, pkt: &[u8], id: u16) -> Option<Vec<u8>> {
        for up in &self.upstreams {
            let bind: SocketAddr = match up.ip() {
                IpAddr::V4(_) => (Ipv4Addr::UNSPECIFIED, 0).into(),
                IpAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
            };
            let Ok(sock) = tokio::net::UdpSocket::bind(bind).await else {
                continue;
            };
            if sock.connect(up).await.is_err() || sock.send(pkt).await.is_err() {
                continue;
            }
            let mut buf = vec![0u8; 4096];
            let got = tokio::time::timeout(UPSTREAM_TIMEOUT, async {
                loop {
                    let n = sock.recv(&mut buf).await.ok()?;
                    if n >= 2 && u16::from_be_bytes([buf[0], buf[1]]) == id {
                        return Some(buf[..n].to_vec());
                    }
                }
            })
            .await;
            match got {
                Ok(Some(r)) => return Some(r),
                _ => warn!(upstream = %up, "no answer from the upstream resolver"),
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(net: &str, ip: [u8; 4], names: &[&str]) -> Entry {
        Entry {
            network_id: net.into(),
            internal: false,
            ip: ip.into(),
            ip6: None,
            names: names.iter().map(|s| s.to_string()).collect(),
            record: false,
            ptr: String::new(),
        }
    }

    #[test]
    fn lookup_within_shared_networks() {
        let mut t = Table::default();
        t.entries.insert(
            "a".into(),
            vec![entry("n1", [10, 0, 0, 2], &["web", "svc"])],
        );
        t.entries
            .insert("b".into(), vec![entry("n1", [10, 0, 0, 3], &["db", "svc"])]);
        t.entries
            .insert("c".into(), vec![entry("n2", [10, 0, 1, 2], &["other"])]);
        assert_eq!(t.lookup("a", "db"), Some(vec![Ipv4Addr::new(10, 0, 0, 3)]));
        assert_eq!(
            t.lookup("a", "svc"),
            Some(vec![Ipv4Addr::new(10, 0, 0, 2), Ipv4Addr::new(10, 0, 0, 3)])
        );
        assert_eq!(t.lookup("a", "other"), None);
        assert_eq!(t.lookup("c", "web"), None);
        assert_eq!(
            t.reverse("b", Ipv4Addr::new(10, 0, 0, 2)).as_deref(),
            Some("web")
        );
        assert_eq!(t.reverse("c", Ipv4Addr::new(10, 0, 0, 2)), None);
        // IPv6: only entries with an address, only on shared networks.
        let v6: std::net::Ipv6Addr = "fd42:be:1::3".parse().unwrap();
        if let Some(v) = t.entries.get_mut("b") {
            v[0].ip6 = Some(v6);
        }
        assert_eq!(t.lookup6("a", "svc"), vec![v6]);
        assert_eq!(t.lookup6("a", "web"), Vec::<std::net::Ipv6Addr>::new());
        assert!(t.lookup6("c", "db").is_empty());
        assert_eq!(t.reverse6("a", v6).as_deref(), Some("db"));
        assert_eq!(t.reverse6("c", v6), None);
        // A `--link` alias of the asker's stands for its target in AAAA answers too.
        t.links
            .insert("a".into(), HashMap::from([("dbalias".into(), "db".into())]));
        assert_eq!(t.lookup6("a", "dbalias"), vec![v6]);
        assert!(t.lookup("a", "dbalias").is_some());
    }

    #[test]
    fn a_rename_answers_under_the_new_name() {
        let mut t = Table::default();
        let mut web = entry("n1", [10, 0, 0, 2], &["web", "alias"]);
        web.ptr = "Web.net".into();
        t.entries.insert("a".into(), vec![web]);
        t.entries
            .insert("b".into(), vec![entry("n1", [10, 0, 0, 3], &["db"])]);
        t.rename("a", "Web", "Front");
        assert_eq!(t.lookup("b", "web"), None);
        assert_eq!(
            t.lookup("b", "front"),
            Some(vec![Ipv4Addr::new(10, 0, 0, 2)])
        );
        assert!(t.lookup("b", "alias").is_some());
        assert_eq!(
            t.reverse("b", Ipv4Addr::new(10, 0, 0, 2)).as_deref(),
            Some("Front.net")
        );
    }

    #[test]
    fn reverse_lookup_answers_name_dot_network() {
        let mut t = Table::default();
        let mut web = entry("n1", [10, 0, 0, 2], &["web", "alias"]);
        web.ptr = "Web.MonReseau0".into();
        t.entries.insert("a".into(), vec![web]);
        t.entries
            .insert("b".into(), vec![entry("n1", [10, 0, 0, 3], &["db"])]);
        assert_eq!(
            t.reverse("b", Ipv4Addr::new(10, 0, 0, 2)).as_deref(),
            Some("Web.MonReseau0")
        );
    }

    #[test]
    fn swarm_records_answer_on_their_network_without_ptr() {
        let mut t = Table::default();
        t.entries
            .insert("a".into(), vec![entry("ov", [10, 0, 1, 5], &["web.1.x"])]);
        t.entries
            .insert("z".into(), vec![entry("other", [10, 0, 2, 5], &["z"])]);
        let mut vip = entry("ov", [10, 0, 1, 2], &["web"]);
        vip.record = true;
        let mut task = entry("ov", [10, 0, 1, 5], &["tasks.web"]);
        task.record = true;
        t.entries.insert(SWARM_RECORDS.into(), vec![vip, task]);
        assert_eq!(t.lookup("a", "web"), Some(vec![Ipv4Addr::new(10, 0, 1, 2)]));
        assert_eq!(
            t.lookup("a", "tasks.web"),
            Some(vec![Ipv4Addr::new(10, 0, 1, 5)])
        );
        assert_eq!(t.lookup("z", "web"), None, "not on the service's network");
        assert_eq!(
            t.reverse("a", Ipv4Addr::new(10, 0, 1, 5)).as_deref(),
            Some("web.1.x")
        );
        assert_eq!(t.reverse("a", Ipv4Addr::new(10, 0, 1, 2)), None);
    }
}
