//! IPv6 on bridge networks (`network create --ipv6`): v6 subnets (given or from the
//! daemon's ULA /48), the containers' v6 addresses (`--ip6`, `network connect --ip6`),
//! reachability by v6 address and by name (AAAA), inspect fields, /etc/hosts, restart of
//! container and daemon, the `ip6` nftables table, the default bridge with
//! `"ipv6": true` + `fixed-cidr-v6`, and Docker's errors for bad input.
//!
//! Safety: own bridges `bt-6*`, IPv4 subnets from the daemon's slot pool (no `--subnet`
//! for v4), IPv6 /64s in fd42:be:<per-process>::/48 (never the host's fd00::/64), a guard
//! removing bridges and both nftables tables on drop. No traffic leaves the machine: only
//! container-to-container traffic on one bridge, no host-wide sysctl is touched.

use berth_tests::nettest::{nft_table, nslookup, run_sleeper as run_d, watched_daemon};
use berth_tests::{client_name as name, Client, NetGuard, Output, TestDaemon};
use serde_json::Value;
use std::net::Ipv6Addr;

/// This process's fd42:be:X::/48: test processes running at once never share a /64.
fn v6_base() -> u16 {
    (std::process::id() & 0xffff) as u16
}

/// The /64 number `k` of this process (`fd42:be:X:k::/64`).
fn v6_net(k: u16) -> String {
    format!("fd42:be:{:x}:{k:x}::/64", v6_base())
}

/// Address `host` of /64 number `k`.
fn v6_addr(k: u16, host: u16) -> String {
    format!("fd42:be:{:x}:{k:x}::{host:x}", v6_base())
}

fn create_v6(d: &TestDaemon, c: Client, net: &str, bridge: &str, extra: &[&str]) -> Value {
    let opt = format!("com.docker.network.bridge.name={bridge}");
    let mut args = vec!["network", "create", "--ipv6", "-o", &opt];
    args.extend_from_slice(extra);
    args.push(net);
    let out = d.run(c, &args).success().out();
    assert_eq!(out.trim().len(), 64, "the full id: {out}");
    inspect_net(d, c, net)
}

fn inspect_net(d: &TestDaemon, c: Client, net: &str) -> Value {
    let out = d.run(c, &["network", "inspect", net]).success().out();
    let v: Value = serde_json::from_str(&out).expect("network inspect JSON");
    v[0].clone()
}

/// `run --rm --network NET --ip6 IP6 busybox true`, which must fail.
fn run_ip6(d: &TestDaemon, c: Client, net: &str, ip6: &str) -> Output {
    let o = d.run(
        c,
        &[
            "run",
            "--rm",
            "--network",
            net,
            "--ip6",
            ip6,
            "busybox",
            "true",
        ],
    );
    o.failure();
    o
}

fn endpoint(d: &TestDaemon, c: Client, ctr: &str, net: &str) -> Value {
    let out = d.run(c, &["inspect", ctr]).success().out();
    let v: Value = serde_json::from_str(&out).expect("inspect JSON");
    v[0]["NetworkSettings"]["Networks"][net].clone()
}

fn ip6_of(d: &TestDaemon, c: Client, ctr: &str, net: &str) -> String {
    let ep = endpoint(d, c, ctr, net);
    let ip = ep["GlobalIPv6Address"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        ip.parse::<Ipv6Addr>().is_ok(),
        "{ctr} has a v6 address: {ep}"
    );
    ip
}

fn ping6(d: &TestDaemon, c: Client, from: &str, to: &str) -> bool {
    d.run(c, &["exec", from, "ping", "-6", "-c", "1", "-W", "2", to])
        .code
        == 0
}

/// The v6 addresses of `nslookup -type=aaaa NAME` in the container.
fn aaaa(d: &TestDaemon, c: Client, from: &str, what: &str) -> Vec<String> {
    let (addrs, _) = nslookup(d, c, from, &["-type=aaaa", what]);
    addrs
        .into_iter()
        .filter(|a| a.parse::<Ipv6Addr>().is_ok())
        .collect()
}

/// The v6 addresses (not link-local) a host interface has, from /proc/net/if_inet6.
fn host_v6_addrs(dev: &str) -> Vec<Ipv6Addr> {
    std::fs::read_to_string("/proc/net/if_inet6")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.get(5) == Some(&dev))
                .then(|| u128::from_str_radix(f[0], 16).ok())
                .flatten()
                .map(Ipv6Addr::from)
        })
        .filter(|a| a.segments()[0] != 0xfe80)
        .collect()
}

#[test]
fn net6_two_containers_reach_each_other_by_v6_address_and_name() {
    let mut g = NetGuard::new("bt-6a");
    let d = watched_daemon(&mut g);
    for (i, c) in Client::BOTH.into_iter().enumerate() {
        let k = 1 + i as u16;
        let (n, br) = (name(c, "v6net"), g.bridge());
        let v = create_v6(&d, c, &n, &br, &["--subnet", &v6_net(k)]);
        assert_eq!(v["EnableIPv6"], true, "{v}");
        let cfg = v["IPAM"]["Config"].as_array().expect("IPAM.Config").clone();
        assert_eq!(cfg.len(), 2, "a v4 and a v6 entry: {v}");
        assert!(!cfg[0]["Subnet"].as_str().unwrap_or_default().contains(':'));
        assert_eq!(cfg[1]["Subnet"], v6_net(k), "{v}");
        // As moby: IPAM.Config shows a gateway only when one was given; the implicit one
        // is the subnet's first address, which the endpoints show as IPv6Gateway below.
        assert_eq!(cfg[1].get("Gateway"), None, "{v}");
        // The bridge holds the gateway.
        let gw: Ipv6Addr = v6_addr(k, 1).parse().unwrap();
        assert!(
            host_v6_addrs(&br).contains(&gw),
            "{br}: {:?}",
            host_v6_addrs(&br)
        );

        let (a, b) = (name(c, "v6a"), name(c, "v6b"));
        run_d(&d, c, &a, &n, &[]);
        run_d(&d, c, &b, &n, &[]);
        let (ipa, ipb) = (ip6_of(&d, c, &a, &n), ip6_of(&d, c, &b, &n));
        assert_eq!(ipa, v6_addr(k, 2), "lowest free after the gateway");
        assert_eq!(ipb, v6_addr(k, 3));
        let ep = endpoint(&d, c, &a, &n);
        assert_eq!(ep["GlobalIPv6PrefixLen"], 64, "{ep}");
        assert_eq!(ep["IPv6Gateway"], v6_addr(k, 1), "{ep}");
        assert!(
            ep["IPAddress"].as_str().is_some_and(|s| !s.is_empty()),
            "{ep}"
        );
        // The network lists them with their v6 addresses.
        let v = inspect_net(&d, c, &n);
        let members: Vec<String> = v["Containers"]
            .as_object()
            .expect("Containers")
            .values()
            .map(|m| m["IPv6Address"].as_str().unwrap_or_default().to_string())
            .collect();
        assert!(members.contains(&format!("{ipa}/64")), "{v}");
        assert!(members.contains(&format!("{ipb}/64")), "{v}");

        // Reachable by address and by name (AAAA from the embedded resolver).
        assert!(ping6(&d, c, &b, &ipa), "{b} -> {ipa}");
        assert!(ping6(&d, c, &a, &b), "{a} -> {b} by name");
        assert_eq!(aaaa(&d, c, &b, &a), vec![ipa.clone()], "AAAA of {a}");
        // And the reverse name (ip6.arpa) gives the container's name.
        let rev = d.run(c, &["exec", &b, "nslookup", &ipa]).out();
        assert!(rev.contains(&format!("name = {a}")), "PTR of {ipa}: {rev}");
        // A TCP service over v6.
        d.run(
            c,
            &[
                "exec",
                "-d",
                &a,
                "sh",
                "-c",
                "while true; do echo hello-v6 | nc -l -p 7000; done",
            ],
        )
        .success();
        let url = format!("[{ipa}]:7000");
        let got = (0..20).find_map(|_| {
            let o = d.run(
                c,
                &[
                    "exec",
                    &b,
                    "sh",
                    "-c",
                    &format!("nc {} 7000 </dev/null", ipa),
                ],
            );
            if o.out().contains("hello-v6") {
                return Some(o.out());
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
            None
        });
        assert!(got.is_some(), "nc to {url} got no answer");
        // /etc/hosts has the v6 line.
        let hosts = d.run(c, &["exec", &a, "cat", "/etc/hosts"]).success().out();
        assert!(
            hosts.lines().any(|l| l.starts_with(&format!("{ipa}\t"))),
            "{hosts}"
        );

        // Addresses go back to the pool.
        d.run(c, &["rm", "-f", &a]).success();
        let a2 = name(c, "v6a2");
        run_d(&d, c, &a2, &n, &[]);
        assert_eq!(
            ip6_of(&d, c, &a2, &n),
            ipa,
            "the freed address is handed out again"
        );
        d.run(c, &["rm", "-f", &a2, &b]).success();
        d.run(c, &["network", "rm", &n]).success();
        assert!(
            host_v6_addrs(&br).is_empty(),
            "bridge {br} gone with its address"
        );
    }
}

#[test]
fn net6_ip6_connect_ip6_and_restarts_keep_addresses() {
    let mut g = NetGuard::new("bt-6b");
    let mut d = watched_daemon(&mut g);
    let c = Client::Docker;
    let (n1, n2) = (name(c, "v6one"), name(c, "v6two"));
    create_v6(&d, c, &n1, &g.bridge(), &["--subnet", &v6_net(0x11)]);
    create_v6(&d, c, &n2, &g.bridge(), &["--subnet", &v6_net(0x12)]);
    let (a, peer) = (name(c, "v6fixed"), name(c, "v6peer"));
    let fixed = v6_addr(0x11, 0x42);
    run_d(&d, c, &a, &n1, &["--ip6", &fixed]);
    let ep = endpoint(&d, c, &a, &n1);
    assert_eq!(ep["GlobalIPv6Address"], fixed.as_str(), "{ep}");
    assert_eq!(ep["IPAMConfig"]["IPv6Address"], fixed.as_str(), "{ep}");
    // Connect with --ip6 (berth's CLI here, the docker CLI above).
    let second = v6_addr(0x12, 0x99);
    d.run(
        Client::Berth,
        &["network", "connect", "--ip6", &second, &n2, &a],
    )
    .success();
    let ep2 = endpoint(&d, c, &a, &n2);
    assert_eq!(ep2["GlobalIPv6Address"], second.as_str(), "{ep2}");
    assert_eq!(ep2["IPAMConfig"]["IPv6Address"], second.as_str(), "{ep2}");
    run_d(&d, c, &peer, &n2, &[]);
    assert!(ping6(&d, c, &peer, &second), "{peer} -> {second}");
    // Taken addresses are refused.
    // (moby's words, without the address: compat.rs's "address in use" scenario.)
    run_ip6(&d, c, &n1, &fixed)
        .stderr_contains("Error response from daemon: Address already in use\n");

    // A stopped container keeps a connect's --ip6 for its start.
    let st = name(c, "v6stopped");
    d.run(
        c,
        &[
            "create",
            "--name",
            &st,
            "--network",
            &n1,
            "busybox",
            "sleep",
            "600",
        ],
    )
    .success();
    let third = v6_addr(0x12, 0x77);
    d.run(c, &["network", "connect", "--ip6", &third, &n2, &st])
        .success();
    d.run(c, &["start", &st]).success();
    assert_eq!(ip6_of(&d, c, &st, &n2), third);
    assert!(ping6(&d, c, &peer, &third), "{peer} -> {third}");
    d.run(c, &["rm", "-f", &st]).success();

    // A container restart keeps both.
    d.run(c, &["restart", "-t", "0", &a]).success();
    assert_eq!(ip6_of(&d, c, &a, &n1), fixed);
    assert_eq!(ip6_of(&d, c, &a, &n2), second);
    assert!(ping6(&d, c, &peer, &second), "after restart");

    // A daemon restart keeps the running containers' v6 networking, and their addresses
    // stay taken.
    d.restart_daemon();
    assert_eq!(ip6_of(&d, c, &a, &n1), fixed);
    assert!(ping6(&d, c, &peer, &second), "after the daemon's restart");
    assert!(
        ping6(&d, c, &peer, &a),
        "by name after the daemon's restart"
    );
    let late = name(c, "v6late");
    run_d(&d, c, &late, &n2, &[]);
    let ip_late = ip6_of(&d, c, &late, &n2);
    let ip_peer = ip6_of(&d, c, &peer, &n2);
    assert_ne!(
        ip_late, ip_peer,
        "restored addresses are not handed out twice"
    );
    assert_ne!(ip_late, second);
    d.run(c, &["rm", "-f", &a, &peer, &late]).success();
    d.run(c, &["network", "rm", &n1, &n2]).success();
}

#[test]
fn net6_default_ula_subnet_and_docker_errors() {
    let mut g = NetGuard::new("bt-6c");
    let d = watched_daemon(&mut g);
    for (i, c) in Client::BOTH.into_iter().enumerate() {
        let k = 0x21 + 4 * i as u16;
        // No v6 subnet: a /64 of a ULA /48 (fd00::/8), never the host's fd00::/64.
        let auto = name(c, "v6auto");
        let v = create_v6(&d, c, &auto, &g.bridge(), &[]);
        let s6 = v["IPAM"]["Config"][1]["Subnet"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        let (addr, prefix) = s6
            .split_once('/')
            .unwrap_or_else(|| panic!("a v6 subnet: {v}"));
        let addr: Ipv6Addr = addr.parse().unwrap_or_else(|_| panic!("a v6 subnet: {v}"));
        assert_eq!(prefix, "64", "{s6}");
        assert_eq!(addr.segments()[0] >> 8, 0xfd, "ULA: {s6}");
        assert_ne!(s6, "fd00::/64");
        // The next one gets another /64.
        let auto2 = name(c, "v6auto2");
        let v2 = create_v6(&d, c, &auto2, &g.bridge(), &[]);
        assert_ne!(v2["IPAM"]["Config"][1]["Subnet"], s6.as_str());
        // (The slot's IPv4 pool holds four networks.)
        d.run(c, &["network", "rm", &auto, &auto2]).success();

        // Overlapping v6 subnets.
        let (o1, o2) = (name(c, "v6ov1"), name(c, "v6ov2"));
        create_v6(&d, c, &o1, &g.bridge(), &["--subnet", &v6_net(k)]);
        let inner = format!("fd42:be:{:x}:{k:x}::/80", v6_base());
        d.run(c, &["network", "create", "--ipv6", "--subnet", &inner, &o2])
            .failure()
            .stderr_contains("Pool overlaps with other one on this address space");
        // Bad CIDR, gateway outside the subnet, range outside it.
        d.run(
            c,
            &[
                "network",
                "create",
                "--ipv6",
                "--subnet",
                "fd42:be:zz::/64",
                &o2,
            ],
        )
        .failure()
        .stderr_contains("invalid subnet fd42:be:zz::/64: invalid CIDR block notation");
        let other_gw = v6_addr(k + 1, 1);
        d.run(
            c,
            &[
                "network",
                "create",
                "--ipv6",
                "--subnet",
                &v6_net(k + 2),
                "--gateway",
                &other_gw,
                &o2,
            ],
        )
        .failure()
        .stderr_contains(&format!("no matching subnet for gateway {other_gw}"));
        let bad = format!("fd42:be:{:x}:{:x}::5/64", v6_base(), k + 2);
        d.run(c, &["network", "create", "--ipv6", "--subnet", &bad, &o2])
            .failure()
            .stderr_contains(&format!("it should be {}", v6_net(k + 2)));
        // Nothing was left by the refusals.
        d.run(c, &["network", "inspect", &o2]).failure();

        // --ip6 outside the subnet, not an address, on a network without v6.
        let outside = v6_addr(k + 3, 5);
        run_ip6(&d, c, &o1, &outside).stderr_contains(&format!(
            "no configured subnet or ip-range contain the IP address {outside}"
        ));
        run_ip6(&d, c, &o1, "bogus").stderr_contains("bogus");
        let v4only = name(c, "v4only");
        d.run(c, &["network", "create", &v4only]).success();
        run_ip6(&d, c, &v4only, &v6_addr(k, 9)).stderr_contains(
            "user specified IP address is supported only when connecting to networks with user configured subnets",
        );
        // Without --ipv6 a v6 subnet is listed but no v6 address is handed out (Docker).
        let nov6 = name(c, "v6off");
        d.run(c, &["network", "create", "--subnet", &v6_net(k + 3), &nov6])
            .success();
        let v = inspect_net(&d, c, &nov6);
        assert_eq!(v["EnableIPv6"], false, "{v}");
        assert!(v.to_string().contains(&v6_net(k + 3)), "{v}");
        let x = name(c, "v6none");
        run_d(&d, c, &x, &nov6, &[]);
        assert_eq!(endpoint(&d, c, &x, &nov6)["GlobalIPv6Address"], "");
        d.run(c, &["rm", "-f", &x]).success();
        d.run(c, &["network", "rm", &o1, &v4only, &nov6]).success();
    }
}

#[test]
fn net6_firewall_has_v6_isolation_internal_and_masquerade() {
    let mut g = NetGuard::new("bt-6d");
    let d = watched_daemon(&mut g);
    let c = Client::Berth;
    let (n1, n2) = (name(c, "v6fw1"), name(c, "v6fw2"));
    let (b1, b2) = (g.bridge(), g.bridge());
    create_v6(&d, c, &n1, &b1, &["--subnet", &v6_net(0x31)]);
    create_v6(&d, c, &n2, &b2, &["--subnet", &v6_net(0x32), "--internal"]);
    let rules = nft_table("ip6", g.table());
    assert!(rules.is_some(), "the ip6 table exists");
    let rules = rules.unwrap_or_default();
    // Isolation both ways: each bridge's drop set holds the other one.
    for (from, to) in [(&b1, &b2), (&b2, &b1)] {
        let head = format!("iifname \"{from}\" oifname {{");
        assert!(
            rules.lines().any(|l| l.trim().starts_with(&head)
                && l.contains(&format!("\"{to}\""))
                && l.trim_end().ends_with("drop")),
            "isolation {from} -> {to}: {rules}"
        );
    }
    assert!(
        rules.contains(&format!("iifname \"{b2}\" drop")),
        "internal: {rules}"
    );
    assert!(
        rules.contains(&format!(
            "ip6 saddr {} oifname != \"{b1}\" masquerade",
            v6_net(0x31)
        )),
        "masquerade: {rules}"
    );
    assert!(
        !rules.contains(&v6_net(0x32)),
        "no masquerade off internal: {rules}"
    );
    // The internal network's containers have no v6 route out; the other's go through
    // their gateway.
    let (x, y) = (name(c, "v6in"), name(c, "v6out"));
    run_d(&d, c, &x, &n2, &[]);
    run_d(&d, c, &y, &n1, &[]);
    let r = d.run(c, &["exec", &x, "ip", "-6", "route"]).success().out();
    assert!(!r.contains("default"), "{r}");
    let r = d.run(c, &["exec", &y, "ip", "-6", "route"]).success().out();
    assert!(
        r.contains(&format!("default via {}", v6_addr(0x31, 1))),
        "{r}"
    );
    // Across networks: nothing.
    let ipx = ip6_of(&d, c, &x, &n2);
    assert!(
        !ping6(&d, c, &y, &ipx),
        "{y} reached {ipx} on another network"
    );
    d.run(c, &["rm", "-f", &x, &y]).success();
    d.run(c, &["network", "rm", &n1, &n2]).success();
    let text = nft_table("ip6", g.table()).unwrap_or_default();
    assert!(
        !text.contains(&b1) && !text.contains(&b2),
        "rules of removed networks: {text}"
    );
}

#[test]
fn net6_default_bridge_with_ipv6_and_fixed_cidr_v6() {
    let mut g = NetGuard::new("bt-6e");
    let cfg = format!(r#"{{"ipv6": true, "fixed-cidr-v6": "{}"}}"#, v6_net(0x41));
    let d = TestDaemon::start_with_config(&cfg);
    g.watch(&d);
    for c in Client::BOTH {
        let v = inspect_net(&d, c, "bridge");
        assert_eq!(v["EnableIPv6"], true, "{v}");
        let cfgs = v["IPAM"]["Config"].as_array().expect("Config").clone();
        assert_eq!(cfgs.len(), 2, "{v}");
        assert_eq!(cfgs[1]["Subnet"], v6_net(0x41), "{v}");
    }
    let c = Client::Docker;
    let (a, b) = (name(c, "v6dfa"), name(c, "v6dfb"));
    for x in [&a, &b] {
        d.run(c, &["run", "-d", "--name", x, "busybox", "sleep", "600"])
            .success();
    }
    let ipa = ip6_of(&d, c, &a, "bridge");
    assert_eq!(ipa, v6_addr(0x41, 2));
    let out = d.run(c, &["inspect", &a]).success().out();
    let v: Value = serde_json::from_str(&out).expect("inspect JSON");
    let ns = &v[0]["NetworkSettings"];
    assert_eq!(ns["GlobalIPv6Address"], ipa.as_str(), "legacy field: {ns}");
    assert_eq!(ns["GlobalIPv6PrefixLen"], 64, "{ns}");
    assert_eq!(ns["IPv6Gateway"], v6_addr(0x41, 1), "{ns}");
    assert!(ping6(&d, c, &b, &ipa), "{b} -> {ipa} on the default bridge");
    d.run(c, &["rm", "-f", &a, &b]).success();
}

/// `network disconnect` of the network carrying the IPv6 default route gives it to the
/// remaining IPv6 network, as the IPv4 one moves.
#[test]
fn net6_disconnect_moves_the_v6_default_route() {
    let mut g = NetGuard::new("bt-6r");
    let d = watched_daemon(&mut g);
    let c = Client::Docker;
    let (n1, n2) = (name(c, "v6ra"), name(c, "v6rb"));
    // Gateways given, so IPAM.Config shows them (moby shows only given ones).
    let (gw1, gw2) = (v6_addr(0x31, 1), v6_addr(0x32, 1));
    let v1 = create_v6(
        &d,
        c,
        &n1,
        &g.bridge(),
        &["--subnet", &v6_net(0x31), "--gateway", &gw1],
    );
    let v2 = create_v6(
        &d,
        c,
        &n2,
        &g.bridge(),
        &["--subnet", &v6_net(0x32), "--gateway", &gw2],
    );
    let shown = |v: &Value| -> String {
        v["IPAM"]["Config"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|e| e["Gateway"].as_str())
            .find(|g| g.contains(':'))
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(
        (shown(&v1), shown(&v2)),
        (gw1.clone(), gw2.clone()),
        "{v1}\n{v2}"
    );
    let ctr = name(c, "v6route");
    run_d(&d, c, &ctr, &n1, &[]);
    d.run(c, &["network", "connect", &n2, &ctr]).success();
    let routes = |d: &TestDaemon| {
        d.run(c, &["exec", &ctr, "ip", "-6", "route"])
            .success()
            .out()
    };
    let before = routes(&d);
    assert!(
        before.contains(&format!("default via {gw1}")),
        "the first network carries it:\n{before}"
    );
    assert!(
        !before.contains(&format!("default via {gw2}")),
        "only one default route:\n{before}"
    );
    d.run(c, &["network", "disconnect", &n1, &ctr]).success();
    let after = routes(&d);
    assert!(
        after.contains(&format!("default via {gw2} dev eth1")),
        "moved to the remaining network:\n{after}"
    );
    assert!(!after.contains(&gw1), "{after}");
    // The route works: the new gateway (the host's address on that bridge) answers.
    assert!(ping6(&d, c, &ctr, &gw2), "{ctr} -> {gw2}");
    d.run(c, &["rm", "-f", &ctr]).success();
}
