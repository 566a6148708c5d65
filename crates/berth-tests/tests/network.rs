//! User-defined bridge networks through both the berth CLI and the real docker CLI:
//! create/ls/inspect/rm/prune, containers with addresses from the pool reaching each other,
//! isolation between networks, internal networks, clean-up after `run --rm`, and a daemon
//! restart. Messages are docker 28's.
//!
//! Safety: every test uses its own bridge names (`bt-<pid><n>`) and its own /24s inside
//! 10.213.0.0/16, and a guard removes its bridges and the daemon's nftables table even
//! when the test fails. Traffic goes only between the test's own containers and their
//! gateway (this host).

use berth_tests::nettest::{
    bridge_ports, create_net_with, fetch, inspect_ports, ip_on as ip_of, link_exists, nft_table,
    ping, ps_ports, replies, run_sleeper, run_web, watched_daemon,
};
use berth_tests::{client_name as name, eventually, free_port, Client, NetGuard};
use std::process::Command;

fn table_rules(table: &str) -> String {
    nft_table("ip", table).unwrap_or_default()
}

#[test]
fn net_containers_on_a_network_reach_each_other_and_not_others() {
    let mut g = NetGuard::new("bt-");
    let d = watched_daemon(&mut g);
    for (i, c) in Client::BOTH.into_iter().enumerate() {
        let (n1, n2) = (name(c, "front"), name(c, "back"));
        let (b1, b2) = (g.bridge(), g.bridge());
        let s1 = format!("10.213.{}.0/24", 10 + 2 * i);
        let s2 = format!("10.213.{}.0/24", 11 + 2 * i);
        create_net_with(&d, c, &n1, &b1, &s1, &[]);
        create_net_with(&d, c, &n2, &b2, &s2, &[]);
        assert!(link_exists(&b1) && link_exists(&b2));
        let (a, b, x) = (name(c, "a1"), name(c, "b1"), name(c, "x1"));
        run_sleeper(&d, c, &a, &n1, &[]);
        // A TCP server answering with its hostname, on a fixed address.
        let fixed = format!("10.213.{}.77", 10 + 2 * i);
        d.run(
            c,
            &[
                "run",
                "-d",
                "--name",
                &b,
                "--network",
                &n1,
                "--ip",
                &fixed,
                "busybox",
                "sh",
                "-c",
                "while true; do echo hello-from-b | nc -l -p 7000; done",
            ],
        )
        .success();
        run_sleeper(&d, c, &x, &n2, &[]);
        let ip_a = ip_of(&d, c, &a, &n1);
        assert_eq!(
            ip_a,
            format!("10.213.{}.2", 10 + 2 * i),
            "first free address"
        );
        assert_eq!(ip_of(&d, c, &b, &n1), fixed);
        let ip_x = ip_of(&d, c, &x, &n2);
        assert_eq!(ip_x, format!("10.213.{}.2", 11 + 2 * i));
        // eth0 inside has the address, the MAC Docker derives, and a route via the gateway.
        let addr = d
            .run(c, &["exec", &a, "ip", "-o", "-4", "addr", "show", "eth0"])
            .success()
            .out();
        assert!(addr.contains(&format!("{ip_a}/24")), "{addr}");
        let route = d.run(c, &["exec", &a, "ip", "route"]).success().out();
        assert!(
            route.contains(&format!("default via 10.213.{}.1 dev eth0", 10 + 2 * i)),
            "{route}"
        );
        let hosts = d.run(c, &["exec", &a, "cat", "/etc/hosts"]).success().out();
        assert!(
            hosts.lines().any(|l| l.starts_with(&format!("{ip_a}\t"))),
            "{hosts}"
        );
        // Same network: TCP and ICMP go through.
        assert!(
            eventually(10, || d
                .run(
                    c,
                    &[
                        "exec",
                        &a,
                        "sh",
                        "-c",
                        &format!("nc -w 2 {fixed} 7000 </dev/null")
                    ]
                )
                .out()
                .contains("hello-from-b")),
            "TCP between containers on one network"
        );
        assert!(ping(&d, c, &a, &fixed));
        // Other network: nothing, either way.
        assert!(!ping(&d, c, &x, &fixed), "isolation between networks");
        assert!(!ping(&d, c, &a, &ip_x), "isolation between networks");
        let out = d
            .run(
                c,
                &[
                    "exec",
                    &x,
                    "sh",
                    "-c",
                    &format!("nc -w 2 {fixed} 7000 </dev/null"),
                ],
            )
            .out();
        assert!(!out.contains("hello-from-b"), "{out}");
        // The bridge has the two veths of n1's containers.
        assert_eq!(bridge_ports(&b1).len(), 2, "{:?}", bridge_ports(&b1));
        // inspect lists both containers with their addresses.
        let members = d
            .run(
                c,
                &[
                    "network",
                    "inspect",
                    "-f",
                    "{{range .Containers}}{{.Name}}={{.IPv4Address}} {{end}}",
                    &n1,
                ],
            )
            .success()
            .out();
        assert!(members.contains(&format!("{a}={ip_a}/24")), "{members}");
        assert!(members.contains(&format!("{b}={fixed}/24")), "{members}");
        // Masquerade for non-internal networks: checked by the rule's presence only.
        let rules = table_rules(g.table());
        assert!(
            rules.contains(&format!("ip saddr {s1} oifname != \"{b1}\" masquerade")),
            "{rules}"
        );
    }
}

#[test]
fn net_create_ls_inspect_rm_prune() {
    let mut g = NetGuard::new("bt-");
    let d = watched_daemon(&mut g);
    for (i, c) in Client::BOTH.into_iter().enumerate() {
        let n = name(c, "misc");
        let b = g.bridge();
        let subnet = format!("10.213.{}.0/24", 20 + i);
        let gw = format!("10.213.{}.254", 20 + i);
        let range = format!("10.213.{}.128/25", 20 + i);
        create_net_with(
            &d,
            c,
            &n,
            &b,
            &subnet,
            &[
                "--gateway",
                &gw,
                "--ip-range",
                &range,
                "--label",
                "team=net",
            ],
        );
        let v: serde_json::Value =
            serde_json::from_str(&d.run(c, &["network", "inspect", &n]).success().out())
                .expect("inspect JSON");
        let net = &v[0];
        assert_eq!(net["Name"], n.as_str());
        assert_eq!(net["Driver"], "bridge");
        assert_eq!(net["Scope"], "local");
        assert_eq!(net["Internal"], false);
        assert_eq!(net["IPAM"]["Driver"], "default");
        assert_eq!(net["IPAM"]["Config"][0]["Subnet"], subnet.as_str());
        assert_eq!(net["IPAM"]["Config"][0]["Gateway"], gw.as_str());
        assert_eq!(net["IPAM"]["Config"][0]["IPRange"], range.as_str());
        assert_eq!(net["Labels"]["team"], "net");
        assert_eq!(net["Options"]["com.docker.network.bridge.name"], b.as_str());
        assert!(net["Containers"].as_object().is_some_and(|o| o.is_empty()));
        let id = net["Id"].as_str().unwrap_or_default().to_string();
        // The address comes from the range; the bridge holds the gateway.
        let ctr = name(c, "inrange");
        run_sleeper(&d, c, &ctr, &n, &[]);
        assert_eq!(ip_of(&d, c, &ctr, &n), format!("10.213.{}.128", 20 + i));
        let gw_addr = Command::new("ip")
            .args(["-o", "-4", "addr", "show", &b])
            .output()
            .expect("ip");
        assert!(String::from_utf8_lossy(&gw_addr.stdout).contains(&format!("{gw}/24")));

        // ls: docker's table, sorted by name, with the built-ins; -q; filters; --format.
        let ls = d.run(c, &["network", "ls"]).success().out();
        let lines: Vec<&str> = ls.lines().collect();
        assert!(
            lines[0].starts_with("NETWORK ID")
                && lines[0].contains("NAME")
                && lines[0].contains("DRIVER")
                && lines[0].contains("SCOPE"),
            "{ls}"
        );
        let row = lines
            .iter()
            .find(|l| l.contains(&n))
            .expect("our network listed");
        let f: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(f, vec![&id[..12], n.as_str(), "bridge", "local"], "{ls}");
        assert!(ls.contains(" host ") && ls.contains(" none "), "{ls}");
        let q = d
            .run(
                c,
                &["network", "ls", "-q", "--filter", &format!("name={n}")],
            )
            .success()
            .out();
        assert_eq!(q.trim(), &id[..12]);
        let q = d
            .run(c, &["network", "ls", "-q", "--filter", "label=team=nobody"])
            .success()
            .out();
        assert_eq!(q.trim(), "");
        let custom = d
            .run(
                c,
                &[
                    "network",
                    "ls",
                    "--filter",
                    "type=custom",
                    "--format",
                    "{{.Name}} {{.Driver}} {{.Internal}}",
                ],
            )
            .success()
            .out();
        assert!(
            custom.lines().any(|l| l == format!("{n} bridge false")),
            "{custom}"
        );
        assert!(!custom.contains("host"), "{custom}");

        // Bad input, with docker's messages.
        let overlap = format!("10.213.{}.0/25", 20 + i);
        d.run(
            c,
            &[
                "network",
                "create",
                "--subnet",
                &overlap,
                &name(c, "overlap"),
            ],
        )
        .failure()
        .stderr_contains(
            "invalid pool request: Pool overlaps with other one on this address space",
        );
        d.run(c, &["network", "create", "--subnet", "10.213.99.0/24", &n])
            .failure()
            .stderr_contains(&format!("network with name {n} already exists"));
        d.run(
            c,
            &[
                "network",
                "create",
                "--subnet",
                "10.213.98.0/24",
                "--gateway",
                "10.9.9.1",
                &name(c, "badgw"),
            ],
        )
        .failure()
        .stderr_contains("no matching subnet for gateway 10.9.9.1");
        d.run(
            c,
            &[
                "network",
                "create",
                "--subnet",
                "10.213.300.0/24",
                &name(c, "badnet"),
            ],
        )
        .failure()
        // moby 25+ validates IPAM configs up front (ValidateIPAM).
        .stderr_contains("invalid subnet 10.213.300.0/24: invalid CIDR block notation");
        d.run(
            c,
            &[
                "network",
                "create",
                "-d",
                "nosuchdriver",
                &name(c, "baddrv"),
            ],
        )
        .failure()
        .stderr_contains("plugin \"nosuchdriver\" not found");
        d.run(c, &["network", "inspect", "nosuchnet"])
            .failure()
            .stderr_contains("network nosuchnet not found");
        d.run(
            c,
            &["run", "--rm", "--network", "nosuchnet", "busybox", "true"],
        )
        .failure()
        .stderr_contains("network nosuchnet not found");
        d.run(
            c,
            &["run", "--rm", "--ip", "10.213.20.9", "busybox", "true"],
        )
        .failure()
        .stderr_contains("user specified IP address is supported on user defined networks only");
        // An address outside the subnet, and one already taken.
        d.run(
            c,
            &[
                "run",
                "--rm",
                "--network",
                &n,
                "--ip",
                "10.213.97.5",
                "busybox",
                "true",
            ],
        )
        .failure()
        .stderr_contains("no configured subnet or ip-range contain the IP address 10.213.97.5");
        let taken = format!("10.213.{}.128", 20 + i);
        d.run(
            c,
            &[
                "run",
                "--rm",
                "--network",
                &n,
                "--ip",
                &taken,
                "busybox",
                "true",
            ],
        )
        .failure()
        .stderr_contains("Error response from daemon: Address already in use\n");
        // The failed starts left no port on the bridge.
        assert_eq!(bridge_ports(&b).len(), 1, "{:?}", bridge_ports(&b));

        // rm is refused while a container is attached; then works and removes the bridge.
        d.run(c, &["network", "rm", &n])
            .failure()
            .stderr_contains(&format!(
                "error while removing network: network {n} has active endpoints"
            ));
        d.run(c, &["rm", "-f", &ctr]).success();
        d.run(c, &["network", "rm", &n])
            .success()
            .stdout_is(&format!("{n}\n"));
        assert!(!link_exists(&b), "bridge {b} removed with the network");
        d.run(c, &["network", "rm", &n])
            .failure()
            .stderr_contains(&format!("network {n} not found"));

        // prune removes unused networks only.
        let (keep, drop) = (name(c, "keep"), name(c, "drop"));
        let (bk, bd) = (g.bridge(), g.bridge());
        create_net_with(
            &d,
            c,
            &keep,
            &bk,
            &format!("10.213.{}.0/24", 24 + 2 * i),
            &[],
        );
        create_net_with(
            &d,
            c,
            &drop,
            &bd,
            &format!("10.213.{}.0/24", 25 + 2 * i),
            &[],
        );
        let user = name(c, "user");
        run_sleeper(&d, c, &user, &keep, &[]);
        let out = d.run(c, &["network", "prune", "-f"]).success().out();
        let lines: Vec<&str> = out.lines().filter(|l| !l.is_empty()).collect();
        assert_eq!(lines, vec!["Deleted Networks:", drop.as_str()], "{out:?}");
        assert!(link_exists(&bk) && !link_exists(&bd));
        d.run(c, &["network", "inspect", &keep]).success();
        d.run(c, &["rm", "-f", &user]).success();
        d.run(c, &["network", "rm", &keep]).success();
    }
}

#[test]
fn net_internal_network_has_no_way_out() {
    let mut g = NetGuard::new("bt-");
    let d = watched_daemon(&mut g);
    let c = Client::Docker;
    let (inner, outer) = (g.bridge(), g.bridge());
    create_net_with(&d, c, "inner", &inner, "10.213.40.0/24", &["--internal"]);
    create_net_with(&d, Client::Berth, "outer", &outer, "10.213.41.0/24", &[]);
    assert_eq!(
        d.run(c, &["network", "inspect", "-f", "{{.Internal}}", "inner"])
            .success()
            .out()
            .trim(),
        "true"
    );
    run_sleeper(&d, c, "in1", "inner", &[]);
    run_sleeper(&d, c, "in2", "inner", &[]);
    run_sleeper(&d, c, "out1", "outer", &[]);
    // No default route at all: nothing can leave the network.
    let route = d.run(c, &["exec", "in1", "ip", "route"]).success().out();
    assert!(!route.contains("default"), "{route}");
    assert!(route.contains("10.213.40.0/24 dev eth0"), "{route}");
    // Containers on the internal network still reach each other.
    assert!(ping(&d, c, "in1", &ip_of(&d, c, "in2", "inner")));
    // The other network's container cannot reach in (the host routes, the rules drop).
    assert!(!ping(&d, c, "out1", &ip_of(&d, c, "in1", "inner")));
    let rules = table_rules(g.table());
    assert!(
        rules.contains(&format!("iifname \"{inner}\" drop")),
        "{rules}"
    );
    assert!(
        !rules.contains("10.213.40.0/24 oifname"),
        "no masquerade for internal: {rules}"
    );
}

#[test]
fn net_run_rm_leaves_nothing_behind() {
    let mut g = NetGuard::new("bt-");
    let d = watched_daemon(&mut g);
    let b = g.bridge();
    create_net_with(&d, Client::Berth, "churn", &b, "10.213.50.0/24", &[]);
    for c in Client::BOTH {
        for _ in 0..5 {
            let out = d
                .run(
                    c,
                    &[
                        "run",
                        "--rm",
                        "--network",
                        "churn",
                        "busybox",
                        "ip",
                        "-o",
                        "-4",
                        "addr",
                        "show",
                        "eth0",
                    ],
                )
                .success()
                .out();
            // Each run gets the pool's first address again: the last one was released.
            assert!(out.contains("10.213.50.2/24"), "{out}");
        }
    }
    assert!(
        eventually(5, || bridge_ports(&b).is_empty()),
        "{:?}",
        bridge_ports(&b)
    );
    assert!(d.container_ids().is_empty());
    // A stopped container gives its address back and gets one again at start.
    run_sleeper(&d, Client::Berth, "stopper", "churn", &[]);
    d.run(Client::Berth, &["stop", "-t", "0", "stopper"])
        .success();
    assert!(eventually(5, || bridge_ports(&b).is_empty()));
    assert_eq!(ip_of(&d, Client::Berth, "stopper", "churn"), "");
    let id = d
        .run(Client::Berth, &["inspect", "-f", "{{.Id}}", "stopper"])
        .success()
        .out();
    assert!(!d
        .data_root
        .join("containers")
        .join(id.trim())
        .join("netns")
        .exists());
    d.run(Client::Berth, &["start", "stopper"]).success();
    assert_eq!(ip_of(&d, Client::Berth, "stopper", "churn"), "10.213.50.2");
    assert_eq!(bridge_ports(&b).len(), 1);
}

#[test]
fn net_daemon_restart_keeps_running_containers_networking() {
    let mut g = NetGuard::new("bt-");
    let mut d = watched_daemon(&mut g);
    let b = g.bridge();
    create_net_with(&d, Client::Berth, "keep", &b, "10.213.60.0/24", &[]);
    let c = Client::Berth;
    let p = free_port();
    let spec = format!("127.0.0.1:{p}:80");
    let serve = "while true; do echo kept | nc -l -p 80; done";
    d.run(
        c,
        &[
            "run",
            "-d",
            "--name",
            "k1",
            "--network",
            "keep",
            "-p",
            &spec,
            "busybox",
            "sh",
            "-c",
            serve,
        ],
    )
    .success();
    assert!(eventually(10, || fetch(p).contains("kept")));
    run_sleeper(&d, c, "k2", "keep", &[]);
    let ip2 = ip_of(&d, c, "k2", "keep");
    d.restart_daemon();
    assert!(link_exists(&b), "the bridge stays while containers use it");
    assert_eq!(ip_of(&d, c, "k2", "keep"), ip2);
    assert!(
        ping(&d, c, "k1", &ip2),
        "traffic still flows after the restart"
    );
    assert!(
        eventually(10, || fetch(p).contains("kept")),
        "the published port too"
    );
    d.run(c, &["port", "k1"])
        .success()
        .stdout_is(&format!("80/tcp -> 127.0.0.1:{p}\n"));
    // The restarted daemon holds the port again.
    assert!(std::net::TcpListener::bind(("127.0.0.1", p)).is_err());
    // The pool knows the running containers' addresses: a new one gets the next.
    run_sleeper(&d, c, "k3", "keep", &[]);
    assert_eq!(ip_of(&d, c, "k3", "keep"), "10.213.60.4");
    d.run(c, &["network", "rm", "keep"])
        .failure()
        .stderr_contains("has active endpoints");
    // With nothing left running, stopping the daemon removes its bridges and table.
    d.run(c, &["rm", "-f", "k1", "k2", "k3"]).success();
    d.stop_daemon();
    assert!(!link_exists(&b));
    let out = Command::new("nft")
        .args(["list", "tables"])
        .output()
        .expect("nft");
    let table = g.table().to_string();
    assert!(!String::from_utf8_lossy(&out.stdout).contains(&table));
}

#[test]
fn net_published_ports_answer_on_loopback() {
    let mut g = NetGuard::new("bt-");
    let d = watched_daemon(&mut g);
    let b = g.bridge();
    create_net_with(&d, Client::Berth, "pub", &b, "10.213.70.0/24", &[]);
    for c in Client::BOTH {
        let (fixed, any) = (name(c, "fixed"), name(c, "any"));
        let p = free_port();
        let spec = format!("127.0.0.1:{p}:80");
        run_web(&d, c, &fixed, &["--network", "pub", "-p", &spec]);
        assert!(
            replies(p, &fixed),
            "127.0.0.1:{p} answers with the container's reply"
        );
        d.run(c, &["port", &fixed])
            .success()
            .stdout_is(&format!("80/tcp -> 127.0.0.1:{p}\n"));
        d.run(c, &["port", &fixed, "80"])
            .success()
            .stdout_is(&format!("127.0.0.1:{p}\n"));
        d.run(c, &["port", &fixed, "81/tcp"])
            .failure()
            .stderr_contains(&format!("No public port '81/tcp' published for {fixed}"));
        let ports = ps_ports(&d, c, &fixed);
        assert_eq!(ports.trim(), format!("127.0.0.1:{p}->80/tcp"));
        let insp = inspect_ports(&d, c, &fixed);
        assert_eq!(
            insp.trim(),
            format!("{{\"80/tcp\":[{{\"HostIp\":\"127.0.0.1\",\"HostPort\":\"{p}\"}}]}}")
        );
        // An ephemeral host port on every address; 127.0.0.1 answers too. -P publishes
        // the exposed port.
        run_web(
            &d,
            c,
            &any,
            &["--network", "pub", "-p", "80", "--expose", "90", "-P"],
        );
        // Each on 0.0.0.0 and [::] (dockerd 20.10 with docker 28 prints the four lines).
        let out = d.run(c, &["port", &any]).success().out();
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 4, "{out}");
        assert!(
            lines[0].starts_with("80/tcp -> 0.0.0.0:")
                && lines[1].starts_with("80/tcp -> [::]:")
                && lines[2].starts_with("90/tcp -> 0.0.0.0:")
                && lines[3].starts_with("90/tcp -> [::]:"),
            "{out}"
        );
        let eph: u16 = lines[0]
            .rsplit(':')
            .next()
            .and_then(|x| x.parse().ok())
            .expect("a port");
        assert!(replies(eph, &any));
        // A port in use is refused with docker's message, and nothing stays behind.
        let holder = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let held = holder.local_addr().expect("addr").port();
        d.run(c, &["run", "--rm", "--network", "pub", "-p", &format!("127.0.0.1:{held}:80"), "busybox", "true"])
            .failure()
            .stderr_contains(&format!("failed to bind host port for 127.0.0.1:{held}:10.213.70.4:80/tcp: address already in use"));
        drop(holder);
        assert_eq!(bridge_ports(&b).len(), 2, "{:?}", bridge_ports(&b));
        // Bad -p specs: docker's messages, exit 125.
        for (spec, msg) in [
            ("70000:80", "invalid hostPort: 70000"),
            ("abc", "invalid containerPort: abc"),
            ("80:80/sctpx", "invalid proto: sctpx"),
            ("1.2.3:80:80", "invalid IP address: 1.2.3"),
        ] {
            d.run(c, &["run", "--rm", "-p", spec, "busybox", "true"])
                .code(125)
                .stderr_contains(msg);
        }
        let rules = table_rules(g.table());
        assert!(
            rules.contains(&format!(
                "ip daddr 127.0.0.1 tcp dport {p} dnat to 10.213.70.2:80"
            )),
            "{rules}"
        );
        d.run(c, &["rm", "-f", &fixed, &any]).success();
        // The rules and the host ports go with the containers.
        let rules = table_rules(g.table());
        assert!(!rules.contains("dnat to"), "{rules}");
        std::net::TcpListener::bind(("127.0.0.1", p)).expect("the host port is free again");
    }
}
