//! Networking details checked against dockerd: the default route (and published ports,
//! and resolv.conf) after `network disconnect bridge`, `ethN` numbering on connect,
//! `host-gateway` without a user network and daemon.json `host-gateway-ip`, `fixed-cidr`,
//! legacy `--link` (hosts, variables, inspect, errors; a resolver alias on user networks),
//! and forwarding of TCP queries over TCP. Through the berth CLI and the docker CLI.
//!
//! Safety: own bridges `bt-g*`, own /24s in 10.213.131.0-10.213.138.0, the harness's slot
//! for the default bridge, a guard removing bridges and the nftables table on drop; the
//! daemons' DNS upstream is a fake resolver on 127.0.0.1, so no query leaves the machine.

use berth_net::dns;
use berth_tests::fakedns::Upstream;
use berth_tests::nettest::{
    assert_daemon_refuses, create_net, exec_sh as exec, fetch, inspect_f as inspect, ip_on,
    replies, run_sleeper, run_web, watched_daemon, watched_daemon_dns, ScratchDir,
};
use berth_tests::{client_name as name, eventually, free_port, Client, NetGuard, TestDaemon};
use std::net::Ipv4Addr;

/// What the fake upstream answers for `outside.berth.test`, by transport.
const UDP_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 31);
const TCP_IP: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 32);

/// A resolver on 127.0.0.1 (UDP and TCP on one port) standing in for the host's:
/// `outside.berth.test` is UDP_IP over UDP and TCP_IP over TCP; other names NXDOMAIN.
fn upstream() -> Upstream {
    Upstream::udp_and_tcp(
        Box::new(|pkt| reply_to(pkt, UDP_IP)),
        Box::new(|pkt| reply_to(pkt, TCP_IP)),
    )
}

fn reply_to(pkt: &[u8], ip: Ipv4Addr) -> Option<Vec<u8>> {
    let q = dns::parse_query(pkt)?;
    Some(
        if q.name == "outside.berth.test" && q.qtype == dns::TYPE_A {
            dns::answer_a(pkt, &q, &[ip], 60)
        } else {
            dns::answer_error(pkt, &q, dns::RCODE_NXDOMAIN)
        },
    )
}

/// The seed's sequence: run on the default bridge, connect a user network, disconnect the
/// bridge. As on Docker the default route moves to the user network's gateway, the
/// published port follows, and resolv.conf names the embedded resolver from the connect on.
#[test]
fn netgap_disconnect_from_bridge_moves_default_route_and_ports() {
    let up = upstream();
    let mut g = NetGuard::new("bt-g");
    let d = watched_daemon_dns(&mut g, &up.addr);
    for (i, c) in Client::BOTH.into_iter().enumerate() {
        let (net, br) = (name(c, "myapp_network"), g.bridge());
        let sub = 131 + i;
        create_net(&d, c, &net, &br, &format!("10.213.{sub}.0/24"));
        let web = name(c, "web");
        let p = free_port();
        let spec = format!("127.0.0.1:{p}:80");
        run_web(&d, c, &web, &["-p", &spec]);
        assert!(replies(p, &web), "the port answers on the default bridge");
        let conf = exec(&d, c, &web, "cat /etc/resolv.conf");
        assert!(!conf.contains("127.0.0.11"), "{conf}");
        let bridge_gw = format!("10.214.{}.1", d.net.n);
        let route = exec(&d, c, &web, "ip route");
        assert!(
            route.contains(&format!("default via {bridge_gw} dev eth0")),
            "{route}"
        );

        d.run(c, &["network", "connect", &net, &web]).success();
        let conf = exec(&d, c, &web, "cat /etc/resolv.conf");
        assert!(
            conf.lines().any(|l| l == "nameserver 127.0.0.11"),
            "joining a user network brings the embedded resolver: {conf}"
        );
        // The first network keeps the default route while it is there.
        let route = exec(&d, c, &web, "ip route");
        assert!(
            route.contains(&format!("default via {bridge_gw}")),
            "{route}"
        );

        d.run(c, &["network", "disconnect", "bridge", &web])
            .success();
        let route = exec(&d, c, &web, "ip route");
        assert!(
            route.contains(&format!("default via 10.213.{sub}.1 dev eth1")),
            "the default route moved to the remaining network: {route}"
        );
        assert!(!route.contains(&bridge_gw), "{route}");
        let addrs = exec(&d, c, &web, "ip -o -4 addr");
        assert!(!addrs.contains(" eth0 "), "{addrs}");
        // The gateway is reachable through the new route.
        d.run(
            c,
            &[
                "exec",
                &web,
                "ping",
                "-c",
                "1",
                "-W",
                "2",
                &format!("10.213.{sub}.1"),
            ],
        )
        .success();
        assert!(
            replies(p, &web),
            "the published port follows the default gateway's network"
        );
        d.run(c, &["port", &web])
            .success()
            .stdout_is(&format!("80/tcp -> 127.0.0.1:{p}\n"));
        // Disconnecting a network that does not carry the route changes nothing.
        d.run(c, &["network", "disconnect", "bridge", &web])
            .failure()
            .stderr_contains("is not connected to network bridge");
        d.run(c, &["rm", "-f", &web]).success();
        assert!(eventually(5, || fetch(p).is_empty()), "the port is closed");
        d.run(c, &["network", "rm", &net]).success();
    }
}

/// Docker numbers connected interfaces on from the highest one given: after eth1 is
/// disconnected the next connect gets eth2's successor, never the freed name.
#[test]
fn netgap_interface_names_count_up_like_docker() {
    let up = upstream();
    let mut g = NetGuard::new("bt-g");
    let d = watched_daemon_dns(&mut g, &up.addr);
    for (i, c) in Client::BOTH.into_iter().enumerate() {
        let nets: Vec<String> = ["a", "b", "c"].iter().map(|n| name(c, n)).collect();
        for (k, n) in nets.iter().enumerate() {
            let sub = 133 + 3 * i + k;
            create_net(&d, c, n, &g.bridge(), &format!("10.213.{sub}.0/24"));
        }
        let x = name(c, "ifx");
        run_sleeper(&d, c, &x, &nets[0], &[]);
        d.run(c, &["network", "connect", &nets[1], &x]).success();
        d.run(c, &["network", "connect", &nets[2], &x]).success();
        let links = |d: &TestDaemon| {
            let mut v: Vec<String> = exec(d, c, &x, "ls /sys/class/net")
                .split_whitespace()
                .map(str::to_string)
                .collect();
            v.sort();
            v
        };
        assert_eq!(links(&d), ["eth0", "eth1", "eth2", "lo"]);
        d.run(c, &["network", "disconnect", &nets[1], &x]).success();
        assert_eq!(links(&d), ["eth0", "eth2", "lo"]);
        d.run(c, &["network", "connect", &nets[1], &x]).success();
        assert_eq!(links(&d), ["eth0", "eth2", "eth3", "lo"]);
        let b_sub = 133 + 3 * i + 1;
        let on3 = exec(&d, c, &x, "ip -o -4 addr show eth3");
        assert!(on3.contains(&format!("10.213.{b_sub}.")), "{on3}");
        // A restart numbers its interfaces from eth0 again, as Docker's new sandbox.
        d.run(c, &["restart", "-t", "0", &x]).success();
        assert_eq!(links(&d), ["eth0", "eth1", "eth2", "lo"]);
        d.run(c, &["rm", "-f", &x]).success();
        for n in &nets {
            d.run(c, &["network", "rm", n]).success();
        }
    }
}

/// /etc/hosts of a `run --rm --network MODE --add-host hg:host-gateway` container.
fn hosts_with_hg(d: &TestDaemon, c: Client, mode: &str) -> String {
    d.run(
        c,
        &[
            "run",
            "--rm",
            "--network",
            mode,
            "--add-host",
            "hg:host-gateway",
            "busybox",
            "cat",
            "/etc/hosts",
        ],
    )
    .success()
    .out()
}

/// `host-gateway` of a container without a user network is the default bridge's gateway
/// (dockerd's default host-gateway-ip), also with `--network none`.
#[test]
fn netgap_host_gateway_without_user_network_is_the_bridge_gateway() {
    let mut g = NetGuard::new("bt-g");
    let d = watched_daemon(&mut g);
    let gw = format!("10.214.{}.1\thg", d.net.n);
    for c in Client::BOTH {
        for mode in ["none", "bridge"] {
            let hosts = hosts_with_hg(&d, c, mode);
            assert!(hosts.lines().any(|l| l == gw), "{mode}: {hosts}");
            assert!(!hosts.contains("172.17.0.1"), "{hosts}");
        }
    }
}

/// daemon.json `host-gateway-ip` is what `host-gateway` stands for, on every network.
#[test]
fn netgap_host_gateway_ip_setting_wins() {
    let mut g = NetGuard::new("bt-g");
    let d = TestDaemon::start_with_config(r#"{"host-gateway-ip": "10.214.@SLOT@.77"}"#);
    g.watch(&d);
    let want = format!("10.214.{}.77\thg", d.net.n);
    let net = "gwnet";
    create_net(&d, Client::Berth, net, &g.bridge(), "10.213.138.0/24");
    for c in Client::BOTH {
        for mode in ["none", "bridge", net] {
            let hosts = hosts_with_hg(&d, c, mode);
            assert!(hosts.lines().any(|l| l == want), "{mode}: {hosts}");
        }
    }
}

/// `fixed-cidr`: the default bridge hands out addresses from that part of its subnet only,
/// and network inspect shows it as IPRange.
#[test]
fn netgap_fixed_cidr_limits_the_default_bridge() {
    let mut g = NetGuard::new("bt-g");
    let d = TestDaemon::start_with_config(
        r#"{"bip": "10.214.@SLOT@.1/24", "fixed-cidr": "10.214.@SLOT@.128/25"}"#,
    );
    g.watch(&d);
    let n = d.net.n;
    for c in Client::BOTH {
        let a = name(c, "fa");
        d.run(c, &["run", "-d", "--name", &a, "busybox", "sleep", "600"])
            .success();
        let ip = inspect(&d, c, &a, "{{.NetworkSettings.IPAddress}}");
        assert_eq!(ip, format!("10.214.{n}.128"));
        let out = d
            .run(
                c,
                &[
                    "run", "--rm", "busybox", "ip", "-o", "-4", "addr", "show", "eth0",
                ],
            )
            .success()
            .out();
        assert!(out.contains(&format!("10.214.{n}.129/24")), "{out}");
        let ipam = d
            .run(
                c,
                &[
                    "network",
                    "inspect",
                    "-f",
                    "{{json .IPAM.Config}}",
                    "bridge",
                ],
            )
            .success()
            .out();
        let v: serde_json::Value = serde_json::from_str(ipam.trim()).expect("json");
        assert_eq!(v[0]["Subnet"], format!("10.214.{n}.0/24"));
        assert_eq!(v[0]["IPRange"], format!("10.214.{n}.128/25"));
        assert_eq!(v[0]["Gateway"], format!("10.214.{n}.1"));
        d.run(c, &["rm", "-f", &a]).success();
    }
}

/// Bad `fixed-cidr` / `host-gateway-ip` settings stop the daemon with a message (checked
/// before any bridge is made).
#[test]
fn netgap_bad_fixed_cidr_and_host_gateway_ip_are_refused() {
    let scratch = ScratchDir::new("ngbad");
    let base = &scratch.0;
    for (args, msg) in [
        (vec!["--fixed-cidr", "nope"], "invalid fixed-cidr"),
        (
            vec!["--bip", "10.214.0.1/24", "--fixed-cidr", "10.214.1.0/25"],
            "not within the bip subnet",
        ),
        (vec!["--host-gateway-ip", "x.y"], "invalid host-gateway-ip"),
    ] {
        assert_daemon_refuses(base, &args, msg);
    }
}

/// Legacy links on the default bridge: the hosts line, Docker's variables, inspect's
/// HostConfig.Links, and Docker's errors.
#[test]
fn netgap_links_on_the_default_bridge() {
    let mut g = NetGuard::new("bt-g");
    let d = watched_daemon(&mut g);
    for c in Client::BOTH {
        let tgt = name(c, "tgt");
        d.run(
            c,
            &[
                "run", "-d", "--name", &tgt, "-e", "FOO=bar", "-e", "X=a b", "--expose", "80",
                "--expose", "53/udp", "busybox", "sleep", "600",
            ],
        )
        .success();
        let ip = inspect(&d, c, &tgt, "{{.NetworkSettings.IPAddress}}");
        let id12 = inspect(&d, c, &tgt, "{{.Id}}")[..12].to_string();
        let me = name(c, "me");
        d.run(
            c,
            &[
                "create",
                "--name",
                &me,
                "--link",
                &format!("{tgt}:al"),
                "busybox",
                "sh",
                "-c",
                "env; cat /etc/hosts",
            ],
        )
        .success();
        assert_eq!(
            inspect(&d, c, &me, "{{json .HostConfig.Links}}"),
            format!("[\"/{tgt}:/{me}/al\"]")
        );
        d.run(c, &["start", "-a", &me]).success();
        let out = d.run(c, &["logs", &me]).success().out();
        let lines: Vec<&str> = out.lines().collect();
        for want in [
            format!("AL_PORT=udp://{ip}:53"),
            format!("AL_PORT_80_TCP=tcp://{ip}:80"),
            format!("AL_PORT_80_TCP_ADDR={ip}"),
            "AL_PORT_80_TCP_PORT=80".to_string(),
            "AL_PORT_80_TCP_PROTO=tcp".to_string(),
            format!("AL_PORT_53_UDP=udp://{ip}:53"),
            "AL_PORT_53_UDP_PROTO=udp".to_string(),
            format!("AL_NAME=/{me}/al"),
            "AL_ENV_FOO=bar".to_string(),
            "AL_ENV_X=a b".to_string(),
            format!("{ip}\tal {id12} {tgt}"),
        ] {
            assert!(lines.contains(&want.as_str()), "{want:?} in {out}");
        }
        assert!(!out.contains("AL_ENV_PATH"), "{out}");
        // Without an alias the name is the alias (upper-cased, '-' as '_').
        let out = d
            .run(
                c,
                &[
                    "run",
                    "--rm",
                    "--link",
                    &tgt,
                    "busybox",
                    "sh",
                    "-c",
                    "env; cat /etc/hosts",
                ],
            )
            .success()
            .out();
        let var = tgt.to_uppercase().replace('-', "_");
        assert!(
            out.contains(&format!("{var}_PORT_80_TCP=tcp://{ip}:80")),
            "{out}"
        );
        assert!(
            out.lines().any(|l| l == format!("{ip}\t{tgt} {id12}")),
            "{out}"
        );

        // An exec sees the links' variables too, as on Docker.
        let lx = name(c, "lx");
        d.run(
            c,
            &[
                "run",
                "-d",
                "--name",
                &lx,
                "--link",
                &format!("{tgt}:al"),
                "busybox",
                "sleep",
                "600",
            ],
        )
        .success();
        let env = exec(&d, c, &lx, "env");
        assert!(
            env.lines()
                .any(|l| l == format!("AL_PORT_80_TCP=tcp://{ip}:80")),
            "{env}"
        );
        assert!(env.lines().any(|l| l == "AL_ENV_FOO=bar"), "{env}");
        d.run(c, &["rm", "-f", &lx]).success();

        // Errors, as dockerd words them.
        d.run(
            c,
            &["run", "--rm", "--link", "nonexist-x:x", "busybox", "true"],
        )
        .code(125)
        .stderr_contains("could not get container for nonexist-x: No such container: nonexist-x");
        d.run(c, &["create", "--link", "a:b:c", "busybox"])
            .failure()
            .stderr_contains("bad format for links: a:b:c");
        d.run(
            c,
            &["create", "--network", "host", "--link", &tgt, "busybox"],
        )
        .failure()
        .stderr_contains("conflicting options: host type networking can't be used with links");
        d.run(c, &["stop", "-t", "0", &tgt]).success();
        let me2 = name(c, "me2");
        d.run(
            c,
            &["run", "--name", &me2, "--link", &tgt, "busybox", "true"],
        )
        .code(125)
        .stderr_contains(&format!(
            "Cannot link to a non running container: /{tgt} AS /{me2}/{tgt}"
        ));
        // rm --link drops the link from the record.
        let link = format!("/{me}/al");
        d.run(c, &["rm", "--link", &link])
            .success()
            .stdout_is(&format!("{link}\n"));
        assert_eq!(inspect(&d, c, &me, "{{json .HostConfig.Links}}"), "null");
        d.run(c, &["rm", "--link", &link])
            .failure()
            .stderr_contains(&format!("No such container: {me}/al"));
        d.run(c, &["rm", "--link", &me])
            .failure()
            .stderr_contains("Conflict, cannot remove the default link name of the container");
        d.run(c, &["rm", "-f", &tgt, &me, &me2]).success();
    }
}

/// On a user-defined network `--link NAME:ALIAS` makes ALIAS resolve to NAME's address in
/// the embedded resolver, for the linking container only.
#[test]
fn netgap_links_on_a_user_network_are_resolver_aliases() {
    let up = upstream();
    let mut g = NetGuard::new("bt-g");
    let mut d = watched_daemon_dns(&mut g, &up.addr);
    for (i, c) in Client::BOTH.into_iter().enumerate() {
        let net = name(c, "lnet");
        create_net(
            &d,
            c,
            &net,
            &g.bridge(),
            &format!("10.213.{}.0/24", 139 + i),
        );
        let tgt = name(c, "ltgt");
        run_sleeper(&d, c, &tgt, &net, &[]);
        let ip = ip_on(&d, c, &tgt, &net);
        let linked = d
            .run(
                c,
                &[
                    "run",
                    "--rm",
                    "--network",
                    &net,
                    "--link",
                    &format!("{tgt}:db"),
                    "busybox",
                    "nslookup",
                    "db",
                ],
            )
            .success()
            .out();
        assert!(linked.contains(&format!("Address: {ip}")), "{linked}");
        let other = d.run(
            c,
            &[
                "run",
                "--rm",
                "--network",
                &net,
                "busybox",
                "nslookup",
                "db",
            ],
        );
        assert!(
            !other.out().contains(&ip),
            "only the linking container: {}",
            other.out()
        );
        // A daemon restart serves the alias again.
        let lk = name(c, "lk");
        let link = format!("{tgt}:db");
        run_sleeper(&d, c, &lk, &net, &["--link", &link]);
        d.restart_daemon();
        let again = d.run(c, &["exec", &lk, "nslookup", "db"]).out();
        assert!(again.contains(&format!("Address: {ip}")), "{again}");
        d.run(c, &["rm", "-f", &tgt, &lk]).success();
        d.run(c, &["network", "rm", &net]).success();
    }
}

/// A DNS query in DNS-over-TCP framing, as octal escapes for busybox's printf.
fn tcp_query_escapes(name: &str) -> String {
    let mut q = vec![0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0];
    for label in name.split('.') {
        q.push(label.len() as u8);
        q.extend_from_slice(label.as_bytes());
    }
    q.extend_from_slice(&[0, 0, 1, 0, 1]);
    let mut framed = (q.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&q);
    framed.iter().map(|b| format!("\\{b:03o}")).collect()
}

/// A query over TCP to 127.0.0.11 for an outside name is forwarded over TCP (the fake
/// upstream answers differently per transport); over UDP it stays UDP.
#[test]
fn netgap_dns_tcp_queries_are_forwarded_over_tcp() {
    let up = upstream();
    let mut g = NetGuard::new("bt-g");
    let d = watched_daemon_dns(&mut g, &up.addr);
    for (i, c) in Client::BOTH.into_iter().enumerate() {
        let net = name(c, "tnet");
        create_net(
            &d,
            c,
            &net,
            &g.bridge(),
            &format!("10.213.{}.0/24", 141 + i),
        );
        let x = name(c, "tq");
        run_sleeper(&d, c, &x, &net, &[]);
        // (nslookup fails on the AAAA question's NXDOMAIN; the A answer is what counts.)
        let udp = d
            .run(
                c,
                &["exec", &x, "nslookup", "outside.berth.test", "127.0.0.11"],
            )
            .out();
        assert!(udp.contains(&UDP_IP.to_string()), "{udp}");
        let cmd = format!(
            "(printf '{}'; sleep 1) | nc -w 2 127.0.0.11 53 | od -An -tu1",
            tcp_query_escapes("outside.berth.test")
        );
        let bytes: Vec<u8> = exec(&d, c, &x, &cmd)
            .split_whitespace()
            .filter_map(|b| b.parse().ok())
            .collect();
        assert!(bytes.len() > 14, "a TCP answer: {bytes:?}");
        // Length prefix, our id, one answer whose address ends the message.
        assert_eq!(
            usize::from(u16::from_be_bytes([bytes[0], bytes[1]])),
            bytes.len() - 2
        );
        assert_eq!(&bytes[2..4], &[0x12, 0x34]);
        assert_eq!(&bytes[bytes.len() - 4..], &TCP_IP.octets(), "{bytes:?}");
        d.run(c, &["rm", "-f", &x]).success();
        d.run(c, &["network", "rm", &net]).success();
    }
}
