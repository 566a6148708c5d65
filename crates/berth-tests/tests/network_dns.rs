//! The embedded resolver on user-defined networks (127.0.0.11 in the container's own
//! namespace): container names, aliases, short ids, one alias for several containers,
//! names visible only within shared networks, other names forwarded upstream, the default
//! network without it, resolv.conf as Docker writes it, and a daemon restart.
//!
//! Safety: the daemons' upstream is a fake resolver this test runs on 127.0.0.1
//! (`BERTH_DNS_UPSTREAM`), so no query leaves the machine. Own bridges `bt-*`, own /24s in
//! 10.213.160.0-10.213.179.0, and a guard removing bridges and the nftables table on drop.

use berth_net::dns;
use berth_tests::fakedns::Upstream;
use berth_tests::nettest::{create_net, ip_on, nslookup, run_sleeper as run_d, watched_daemon_dns};
use berth_tests::{client_name as name, eventually, Client, NetGuard, TestDaemon};
use std::net::Ipv4Addr;
use std::sync::{Arc, Mutex};

/// The address the fake upstream gives `outside.berth.test`.
const OUTSIDE_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 7);

/// A resolver on 127.0.0.1 standing in for the host's: `outside.berth.test` has an
/// address, every other name is NXDOMAIN. Records the names it was asked.
struct FakeUpstream {
    addr: String,
    asked: Arc<Mutex<Vec<String>>>,
    _server: Upstream,
}

impl FakeUpstream {
    fn start() -> FakeUpstream {
        Self::start_on("127.0.0.1:0")
    }

    fn start_on(addr: &str) -> FakeUpstream {
        let asked = Arc::new(Mutex::new(Vec::new()));
        let a = asked.clone();
        let server = Upstream::udp(
            addr,
            Box::new(move |pkt| {
                let q = dns::parse_query(pkt)?;
                a.lock().unwrap().push(q.name.clone());
                Some(if q.name == "outside.berth.test" {
                    let ips = if q.qtype == dns::TYPE_A {
                        vec![OUTSIDE_IP]
                    } else {
                        vec![]
                    };
                    dns::answer_a(pkt, &q, &ips, 60)
                } else {
                    dns::answer_error(pkt, &q, dns::RCODE_NXDOMAIN)
                })
            }),
        );
        FakeUpstream {
            addr: server.addr.clone(),
            asked,
            _server: server,
        }
    }

    fn was_asked(&self, name: &str) -> bool {
        self.asked.lock().unwrap().iter().any(|n| n == name)
    }
}

fn ip_of(d: &TestDaemon, c: Client, ctr: &str, net: &str) -> String {
    let ip = ip_on(d, c, ctr, net);
    assert!(
        ip.parse::<Ipv4Addr>().is_ok(),
        "{ctr} has an address: {ip:?}"
    );
    ip
}

/// The addresses `nslookup NAME` prints in the container (after the server's own lines),
/// and its exit code.
fn lookup(d: &TestDaemon, c: Client, from: &str, what: &str) -> (Vec<String>, i32) {
    nslookup(d, c, from, &[what])
}

#[test]
fn netdns_names_aliases_and_short_ids_resolve_within_shared_networks() {
    let up = FakeUpstream::start();
    let mut g = NetGuard::new("bt-d");
    let d = watched_daemon_dns(&mut g, &up.addr);
    for (i, c) in Client::BOTH.into_iter().enumerate() {
        let (n1, n2) = (name(c, "dns1"), name(c, "dns2"));
        let (b1, b2) = (g.bridge(), g.bridge());
        create_net(&d, c, &n1, &b1, &format!("10.213.{}.0/24", 160 + 2 * i));
        create_net(&d, c, &n2, &b2, &format!("10.213.{}.0/24", 161 + 2 * i));
        let (a, b, x) = (name(c, "dnsa"), name(c, "dnsb"), name(c, "dnsx"));
        let alias = format!("svc{i}");
        run_d(&d, c, &a, &n1, &["--network-alias", &alias]);
        run_d(&d, c, &b, &n1, &["--network-alias", &alias]);
        run_d(&d, c, &x, &n2, &[]);
        let (ipa, ipb) = (ip_of(&d, c, &a, &n1), ip_of(&d, c, &b, &n1));

        // resolv.conf points at the embedded resolver, as Docker writes it.
        let conf = d
            .run(c, &["exec", &b, "cat", "/etc/resolv.conf"])
            .success()
            .out();
        assert!(conf.lines().any(|l| l == "nameserver 127.0.0.11"), "{conf}");
        assert!(conf.contains("ndots:0"), "{conf}");
        assert_eq!(conf.matches("nameserver").count(), 1, "{conf}");

        // By name, and reachable by it.
        let (addrs, code) = lookup(&d, c, &b, &a);
        assert_eq!((addrs, code), (vec![ipa.clone()], 0), "{c:?} {a}");
        d.run(c, &["exec", &b, "ping", "-c", "1", "-W", "2", &a])
            .success();
        // Names are case-insensitive.
        let (addrs, _) = lookup(&d, c, &a, &b.to_uppercase());
        assert_eq!(addrs, vec![ipb.clone()]);
        // An alias shared by two containers resolves to both.
        let (mut addrs, _) = lookup(&d, c, &a, &alias);
        addrs.sort();
        let mut both = vec![ipa.clone(), ipb.clone()];
        both.sort();
        assert_eq!(addrs, both, "alias {alias}");
        // The short id.
        let id = d
            .run(c, &["inspect", "-f", "{{.Id}}", &a])
            .success()
            .out()
            .trim()
            .to_string();
        let (addrs, _) = lookup(&d, c, &b, &id[..12]);
        assert_eq!(addrs, vec![ipa.clone()], "short id {}", &id[..12]);
        // A container on another network sees none of them: the name goes upstream,
        // which does not know it.
        let (addrs, code) = lookup(&d, c, &x, &a);
        assert!(addrs.is_empty() && code != 0, "{x} resolved {a}: {addrs:?}");
        assert!(up.was_asked(&a), "{a} was forwarded upstream");
        let (addrs, code) = lookup(&d, c, &x, &alias);
        assert!(
            addrs.is_empty() && code != 0,
            "{x} resolved {alias}: {addrs:?}"
        );
        // Its own name it resolves.
        let ipx = ip_of(&d, c, &x, &n2);
        assert_eq!(lookup(&d, c, &x, &x).0, vec![ipx]);

        // A removed container's name goes away.
        d.run(c, &["rm", "-f", &a]).success();
        let (addrs, _) = lookup(&d, c, &b, &a);
        assert!(addrs.is_empty(), "{a} still resolves: {addrs:?}");
        assert_eq!(lookup(&d, c, &b, &alias).0, vec![ipb.clone()]);
        d.run(c, &["rm", "-f", &b, &x]).success();
        d.run(c, &["network", "rm", &n1, &n2]).success();
    }
}

#[test]
fn netdns_other_names_are_forwarded_and_the_default_network_has_no_resolver() {
    let up = FakeUpstream::start();
    let mut g = NetGuard::new("bt-d");
    let d = watched_daemon_dns(&mut g, &up.addr);
    for (i, c) in Client::BOTH.into_iter().enumerate() {
        let n = name(c, "fwd");
        let b = g.bridge();
        create_net(&d, c, &n, &b, &format!("10.213.{}.0/24", 170 + i));
        let a = name(c, "fwda");
        run_d(&d, c, &a, &n, &[]);
        let (addrs, code) = lookup(&d, c, &a, "outside.berth.test");
        assert_eq!(code, 0);
        assert_eq!(addrs, vec![OUTSIDE_IP.to_string()]);
        assert!(up.was_asked("outside.berth.test"));
        let (addrs, code) = lookup(&d, c, &a, "missing.berth.test");
        assert!(addrs.is_empty() && code != 0, "{addrs:?}");

        // --dns-search and --dns-option on a user network: still the embedded resolver.
        let conf = d
            .run(
                c,
                &[
                    "run",
                    "--rm",
                    "--network",
                    &n,
                    "--dns-search",
                    "example.internal",
                    "--dns-option",
                    "ndots:2",
                    "busybox",
                    "cat",
                    "/etc/resolv.conf",
                ],
            )
            .success()
            .out();
        assert!(
            conf.lines().any(|l| l == "search example.internal"),
            "{conf}"
        );
        assert!(conf.lines().any(|l| l == "nameserver 127.0.0.11"), "{conf}");
        assert!(conf.lines().any(|l| l == "options ndots:2"), "{conf}");
        assert!(!conf.contains("ndots:0"), "{conf}");

        // The default network resolves no names: nothing listens on 127.0.0.11 there.
        let conf = d
            .run(c, &["run", "--rm", "busybox", "cat", "/etc/resolv.conf"])
            .success()
            .out();
        assert!(!conf.contains("127.0.0.11"), "{conf}");
        let o = d.run(c, &["run", "--rm", "busybox", "nslookup", &a, "127.0.0.11"]);
        assert_ne!(o.code, 0, "{}", o.out());
        assert!(!o.out().contains("10.213."), "{}", o.out());
        d.run(c, &["rm", "-f", &a]).success();
    }

    // An internal network resolves its own names but sends nothing outside.
    let c = Client::Berth;
    let n = name(c, "dnsint");
    let b = g.bridge();
    create_net_internal(&d, c, &n, &b, "10.213.173.0/24");
    let (p, q) = (name(c, "inta"), name(c, "intb"));
    run_d(&d, c, &p, &n, &[]);
    run_d(&d, c, &q, &n, &[]);
    let ipq = ip_of(&d, c, &q, &n);
    assert_eq!(lookup(&d, c, &p, &q).0, vec![ipq]);
    let (addrs, code) = lookup(&d, c, &p, "internal-only.berth.test");
    assert!(addrs.is_empty() && code != 0, "{addrs:?}");
    assert!(!up.was_asked("internal-only.berth.test"));
    d.run(c, &["rm", "-f", &p, &q]).success();
}

fn create_net_internal(d: &TestDaemon, c: Client, net: &str, bridge: &str, subnet: &str) {
    let opt = format!("com.docker.network.bridge.name={bridge}");
    d.run(
        c,
        &[
            "network",
            "create",
            "--internal",
            "--subnet",
            subnet,
            "-o",
            &opt,
            net,
        ],
    )
    .success();
}

#[test]
fn netdns_resolver_comes_back_after_a_daemon_restart() {
    let up = FakeUpstream::start();
    let mut g = NetGuard::new("bt-d");
    let mut d = watched_daemon_dns(&mut g, &up.addr);
    let c = Client::Berth;
    let n = name(c, "rst");
    let b = g.bridge();
    create_net(&d, c, &n, &b, "10.213.175.0/24");
    let (a, z) = (name(c, "rsta"), name(c, "rstb"));
    run_d(&d, c, &a, &n, &["--network-alias", "keep"]);
    run_d(&d, c, &z, &n, &[]);
    let ipa = ip_of(&d, c, &a, &n);
    assert_eq!(lookup(&d, c, &z, "keep").0, vec![ipa.clone()]);
    d.kill_daemon();
    d.restart_daemon();
    assert!(
        eventually(10, || lookup(&d, c, &z, "keep").0 == vec![ipa.clone()]),
        "{}",
        d.log_tail()
    );
    assert_eq!(lookup(&d, c, &z, &a).0, vec![ipa]);
    assert_eq!(
        lookup(&d, c, &a, "outside.berth.test").0,
        vec![OUTSIDE_IP.to_string()]
    );
    d.run(c, &["rm", "-f", &a, &z]).success();
}

#[test]
fn netdns_dns_flags_and_add_host_end_to_end() {
    let up = FakeUpstream::start();
    // `--dns` takes an address only (port 53): a loopback address of this test's own.
    let dns_ip = format!(
        "127.213.{}.{}",
        std::process::id() % 250,
        10 + std::process::id() % 200
    );
    let own = FakeUpstream::start_on(&format!("{dns_ip}:53"));
    let mut g = NetGuard::new("bt-d");
    let d = watched_daemon_dns(&mut g, &up.addr);
    for (i, c) in Client::BOTH.into_iter().enumerate() {
        let n = name(c, "flags");
        let b = g.bridge();
        let subnet = format!("10.213.{}.0/24", 176 + i);
        create_net(&d, c, &n, &b, &subnet);
        let gw = format!("10.213.{}.1", 176 + i);
        let a = name(c, "flagsa");
        run_d(
            &d,
            c,
            &a,
            &n,
            &[
                "--dns",
                &dns_ip,
                "--add-host",
                "db.local:10.213.99.50",
                "--add-host",
                "gw.local:host-gateway",
            ],
        );
        // Outside names go to the container's --dns server, not the host's.
        let (addrs, code) = lookup(&d, c, &a, "outside.berth.test");
        assert_eq!((addrs, code), (vec![OUTSIDE_IP.to_string()], 0));
        assert!(own.was_asked("outside.berth.test"));
        assert!(!up.was_asked("outside.berth.test"));
        // resolv.conf still names the embedded resolver only.
        let conf = d
            .run(c, &["exec", &a, "cat", "/etc/resolv.conf"])
            .success()
            .out();
        assert!(conf.lines().any(|l| l == "nameserver 127.0.0.11"), "{conf}");
        assert!(!conf.contains(&dns_ip), "{conf}");
        // --add-host, with host-gateway as the host's address on the network.
        let hosts = d.run(c, &["exec", &a, "cat", "/etc/hosts"]).success().out();
        assert!(
            hosts.lines().any(|l| l == "10.213.99.50\tdb.local"),
            "{hosts}"
        );
        assert!(
            hosts.lines().any(|l| l == format!("{gw}\tgw.local")),
            "{hosts}"
        );
        assert!(!hosts.contains("host-gateway"), "{hosts}");
        d.run(c, &["exec", &a, "ping", "-c", "1", "-W", "2", "gw.local"])
            .success();
        d.run(c, &["rm", "-f", &a]).success();

        // On the default network the flags become the resolv.conf lines themselves.
        let conf = d
            .run(
                c,
                &[
                    "run",
                    "--rm",
                    "--dns",
                    &dns_ip,
                    "--dns-search",
                    "a.test",
                    "--dns-option",
                    "ndots:3",
                    "--add-host",
                    "gw.local:host-gateway",
                    "busybox",
                    "sh",
                    "-c",
                    "cat /etc/resolv.conf /etc/hosts",
                ],
            )
            .success()
            .out();
        assert!(
            conf.lines().any(|l| l == format!("nameserver {dns_ip}")),
            "{conf}"
        );
        assert!(conf.lines().any(|l| l == "search a.test"), "{conf}");
        assert!(conf.lines().any(|l| l == "options ndots:3"), "{conf}");
        assert!(!conf.contains("127.0.0.11"), "{conf}");
        // host-gateway is the default bridge's gateway (docker0's 172.17.0.1 on Docker; the
        // harness gives each daemon its own bip).
        let gw = format!("10.214.{}.1\tgw.local", d.net.n);
        assert!(conf.lines().any(|l| l == gw), "{conf}");
    }
}
