//! The predefined `bridge` network (Docker's docker0), through both the berth CLI and the
//! real docker CLI: listed and inspected as Docker shows it, never removable, the default
//! of `run`, containers on it reaching each other by address but not by name, published
//! ports on it, daemon.json `bip`/`mtu`/`default-address-pools`/`bridge: none`, bad
//! settings refused, and nothing left behind after many `run --rm`.
//!
//! Safety: each test daemon has its own bridge (`bt-sN`), bip (10.214.N.0/24) and address
//! pool (10.215.N.0/24) from the harness's [`berth_tests::NetSlot`]; networks a test makes
//! use NetGuard bridge names. Traffic stays between the test's containers and this host.

use berth_tests::nettest::{
    assert_daemon_refuses, bridge_ports, fetch, nft_table, replies, run_web, watched_daemon,
    ScratchDir,
};
use berth_tests::{
    client_name as name, eventually, free_port, run_command, Client, NetGuard, TestDaemon,
};
use std::process::Command;
use std::time::Duration;

fn inspect_bridge(d: &TestDaemon, c: Client) -> serde_json::Value {
    let out = d.run(c, &["network", "inspect", "bridge"]).success().out();
    let v: serde_json::Value = serde_json::from_str(&out).expect("inspect json");
    v[0].clone()
}

fn host_addrs(dev: &str) -> String {
    let out = Command::new("ip")
        .args(["-o", "-4", "addr", "show", "dev", dev])
        .output()
        .expect("ip");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn netbr_default_network_listed_inspected_and_not_removable() {
    let mut g = NetGuard::new("bt-b");
    let d = watched_daemon(&mut g);
    let bridge = d.net.bridge();
    let gw = format!("10.214.{}.1", d.net.n);
    for c in Client::BOTH {
        let ls = d.run(c, &["network", "ls"]).success().out();
        let rows: Vec<Vec<&str>> = ls
            .lines()
            .skip(1)
            .map(|l| l.split_whitespace().collect())
            .collect();
        let names: Vec<&str> = rows.iter().map(|r| r[1]).collect();
        assert_eq!(names, vec!["bridge", "host", "none"], "{ls}");
        assert_eq!(&rows[0][2..], &["bridge", "local"], "{ls}");
        assert_eq!(&rows[2][2..], &["null", "local"], "{ls}");

        let net = inspect_bridge(&d, c);
        assert_eq!(net["Name"], "bridge");
        assert_eq!(net["Driver"], "bridge");
        assert_eq!(net["Scope"], "local");
        assert_eq!(net["Internal"], false);
        assert_eq!(net["IPAM"]["Config"][0]["Subnet"], d.net.subnet().as_str());
        assert_eq!(net["IPAM"]["Config"][0]["Gateway"], gw.as_str());
        let o = &net["Options"];
        assert_eq!(o["com.docker.network.bridge.default_bridge"], "true");
        assert_eq!(o["com.docker.network.bridge.enable_icc"], "true");
        assert_eq!(o["com.docker.network.bridge.enable_ip_masquerade"], "true");
        assert_eq!(o["com.docker.network.bridge.host_binding_ipv4"], "0.0.0.0");
        assert_eq!(o["com.docker.network.bridge.name"], bridge.as_str());
        assert_eq!(o["com.docker.network.driver.mtu"], "1500");
        let id = net["Id"].as_str().expect("id").to_string();
        assert_eq!(id.len(), 64);

        // The Linux bridge holds the gateway address.
        assert!(
            host_addrs(&bridge).contains(&format!("{gw}/24")),
            "{}",
            host_addrs(&bridge)
        );

        // Filters see it as a built-in.
        let builtin = d
            .run(
                c,
                &[
                    "network",
                    "ls",
                    "--filter",
                    "type=builtin",
                    "--format",
                    "{{.Name}}",
                ],
            )
            .success()
            .out();
        assert!(builtin.lines().any(|l| l == "bridge"), "{builtin}");
        let custom = d
            .run(
                c,
                &[
                    "network",
                    "ls",
                    "--filter",
                    "type=custom",
                    "--format",
                    "{{.Name}}",
                ],
            )
            .success()
            .out();
        assert!(!custom.contains("bridge"), "{custom}");

        // Never removable, by name or id; not creatable; prune keeps it.
        for target in ["bridge", &id[..12]] {
            d.run(c, &["network", "rm", target])
                .failure()
                .stderr_contains("bridge is a pre-defined network and cannot be removed");
        }
        d.run(c, &["network", "create", "bridge"])
            .failure()
            .stderr_contains("bridge is a pre-defined network and cannot be created");
        d.run(c, &["network", "prune", "-f"]).success();
        assert_eq!(inspect_bridge(&d, c)["Id"], id.as_str());
    }
}

#[test]
fn netbr_run_defaults_to_the_bridge_reaching_by_ip_not_by_name() {
    let mut g = NetGuard::new("bt-b");
    let d = watched_daemon(&mut g);
    let gw = format!("10.214.{}.1", d.net.n);
    let prefix = format!("10.214.{}.", d.net.n);
    for c in Client::BOTH {
        let (a, b) = (name(c, "a"), name(c, "b"));
        for n in [&a, &b] {
            d.run(c, &["run", "-d", "--name", n, "busybox", "sleep", "300"])
                .success();
        }
        let ip = |n: &str| {
            d.run(c, &["inspect", "-f", "{{.NetworkSettings.IPAddress}}", n])
                .success()
                .out()
        };
        let (ip_a, ip_b) = (ip(&a), ip(&b));
        assert!(
            ip_a.starts_with(&prefix) && ip_b.starts_with(&prefix),
            "{ip_a} {ip_b}"
        );
        assert_ne!(ip_a, ip_b);
        let f = "{{.HostConfig.NetworkMode}} {{(index .NetworkSettings.Networks \"bridge\").IPAddress}} {{.NetworkSettings.Gateway}} {{.NetworkSettings.MacAddress}}";
        let shown = d.run(c, &["inspect", "-f", f, &a]).success().out();
        let mac_tail: Vec<String> = ip_a
            .split('.')
            .map(|o| format!("{:02x}", o.parse::<u8>().unwrap_or(0)))
            .collect();
        assert_eq!(
            shown,
            format!("default {ip_a} {gw} 02:42:{}", mac_tail.join(":"))
        );
        // Both veths are on the daemon's bridge.
        assert!(bridge_ports(&d.net.bridge()).len() >= 2);
        // network inspect lists them.
        let members = inspect_bridge(&d, c)["Containers"].clone();
        let listed: Vec<&str> = members
            .as_object()
            .map(|m| m.values().filter_map(|v| v["Name"].as_str()).collect())
            .unwrap_or_default();
        assert!(
            listed.contains(&a.as_str()) && listed.contains(&b.as_str()),
            "{members}"
        );

        // By address: yes.
        d.run(c, &["exec", &a, "ping", "-c", "1", "-W", "2", &ip_b])
            .success();
        // By name: no (no resolver on the default bridge).
        d.run(c, &["exec", &a, "ping", "-c", "1", "-W", "1", &b])
            .failure();
        // Host's resolv.conf minus localhost servers; own address in /etc/hosts; route.
        let resolv = d
            .run(c, &["exec", &a, "cat", "/etc/resolv.conf"])
            .success()
            .out();
        assert!(!resolv.contains("127.0.0.11"), "{resolv}");
        let host_resolv = std::fs::read_to_string("/etc/resolv.conf").unwrap_or_default();
        for ns in host_resolv
            .lines()
            .filter(|l| l.starts_with("nameserver") && !l.contains("127."))
        {
            assert!(resolv.contains(ns), "{resolv}");
        }
        let hosts = d.run(c, &["exec", &a, "cat", "/etc/hosts"]).success().out();
        let short = d
            .run(c, &["inspect", "-f", "{{.Config.Hostname}}", &a])
            .success()
            .out();
        assert!(
            hosts.lines().any(|l| l == format!("{ip_a}\t{short}")),
            "{hosts}"
        );
        d.run(c, &["exec", &a, "ip", "route"])
            .success()
            .stdout_contains(&format!("default via {gw} dev eth0"));
        d.run(c, &["exec", &a, "ls", "/sys/class/net"])
            .success()
            .stdout_is("eth0\nlo\n");
        // --network bridge is the same network; --network none keeps loopback only.
        d.run(
            c,
            &[
                "run",
                "--rm",
                "--network",
                "bridge",
                "busybox",
                "ping",
                "-c",
                "1",
                "-W",
                "2",
                &ip_a,
            ],
        )
        .success();
        d.run(
            c,
            &[
                "run",
                "--rm",
                "--network",
                "none",
                "busybox",
                "ls",
                "/sys/class/net",
            ],
        )
        .success()
        .stdout_is("lo\n");
        // ... and that loopback is up, as Docker's: a server on 127.0.0.1 answers.
        d.run(
            c,
            &[
                "run",
                "--rm",
                "--network",
                "none",
                "busybox",
                "sh",
                "-c",
                "(echo pong | nc -l -p 7000 &) ; sleep 0.3; nc 127.0.0.1 7000 </dev/null",
            ],
        )
        .success()
        .stdout_is("pong\n");
        // Aliases and --ip are for user-defined networks only, as in docker.
        d.run(
            c,
            &["run", "--rm", "--network-alias", "x", "busybox", "true"],
        )
        .failure()
        .stderr_contains("network-scoped alias");
        d.run(c, &["rm", "-f", &a, &b]).success();
    }
    assert!(
        eventually(5, || bridge_ports(&d.net.bridge()).is_empty()),
        "veths left: {:?}",
        bridge_ports(&d.net.bridge())
    );
}

#[test]
fn netbr_published_port_on_the_default_bridge_answers_on_loopback() {
    let mut g = NetGuard::new("bt-b");
    let d = watched_daemon(&mut g);
    for c in Client::BOTH {
        let web = name(c, "web");
        let p = free_port();
        let spec = format!("127.0.0.1:{p}:80");
        run_web(&d, c, &web, &["-p", &spec]);
        assert!(
            replies(p, &web),
            "127.0.0.1:{p} answers with the container's reply"
        );
        d.run(c, &["port", &web])
            .success()
            .stdout_is(&format!("80/tcp -> 127.0.0.1:{p}\n"));
        d.run(c, &["rm", "-f", &web]).success();
        assert!(
            eventually(5, || fetch(p).is_empty()),
            "the port is closed with the container"
        );
    }
}

#[test]
fn netbr_daemon_json_bip_mtu_and_pools_are_honoured() {
    let mut g = NetGuard::new("bt-b");
    let d = TestDaemon::start_with_config(r#"{"bip": "10.214.@SLOT@.129/25", "mtu": 1400}"#);
    g.watch(&d);
    let n = d.net.n;
    let bridge = d.net.bridge();
    for c in Client::BOTH {
        let net = inspect_bridge(&d, c);
        assert_eq!(
            net["IPAM"]["Config"][0]["Subnet"],
            format!("10.214.{n}.128/25").as_str()
        );
        assert_eq!(
            net["IPAM"]["Config"][0]["Gateway"],
            format!("10.214.{n}.129").as_str()
        );
        assert_eq!(net["Options"]["com.docker.network.driver.mtu"], "1400");
        let out = d
            .run(
                c,
                &[
                    "run",
                    "--rm",
                    "busybox",
                    "sh",
                    "-c",
                    "ip -o -4 addr show eth0; cat /sys/class/net/eth0/mtu",
                ],
            )
            .success()
            .out();
        assert!(out.contains(&format!("10.214.{n}.130/25")), "{out}");
        assert!(out.ends_with("\n1400"), "{out}");
    }
    assert!(host_addrs(&bridge).contains(&format!("10.214.{n}.129/25")));
    // Networks without --subnet come from default-address-pools (the harness's /26s).
    let (b1, b2) = (g.bridge(), g.bridge());
    for (c, (net, b)) in Client::BOTH.into_iter().zip([("p1", &b1), ("p2", &b2)]) {
        let opt = format!("com.docker.network.bridge.name={b}");
        d.run(c, &["network", "create", "-o", &opt, net]).success();
    }
    let subnet = |net: &str| {
        d.run(
            Client::Docker,
            &[
                "network",
                "inspect",
                "-f",
                "{{(index .IPAM.Config 0).Subnet}}",
                net,
            ],
        )
        .success()
        .out()
    };
    assert_eq!(subnet("p1"), format!("10.215.{n}.0/26"));
    assert_eq!(subnet("p2"), format!("10.215.{n}.64/26"));
    d.run(Client::Berth, &["network", "rm", "p1", "p2"])
        .success();
}

#[test]
fn netbr_bridge_none_makes_none_the_default() {
    let d = TestDaemon::start_with_config(r#"{"bridge": "none"}"#);
    for c in Client::BOTH {
        let ls = d
            .run(c, &["network", "ls", "--format", "{{.Name}}"])
            .success()
            .out();
        assert_eq!(ls, "host\nnone", "{ls}");
        d.run(c, &["network", "inspect", "bridge"])
            .failure()
            .stderr_contains("network bridge not found");
        d.run(c, &["run", "--rm", "busybox", "ls", "/sys/class/net"])
            .success()
            .stdout_is("lo\n");
        let n = name(c, "c");
        d.run(c, &["create", "--name", &n, "busybox"]).success();
        d.run(
            c,
            &[
                "inspect",
                "-f",
                "{{range $k, $v := .NetworkSettings.Networks}}{{$k}}{{end}}",
                &n,
            ],
        )
        .success()
        .stdout_is("none\n");
        d.run(c, &["rm", &n]).success();
    }
    assert!(!std::path::Path::new(&format!("/sys/class/net/{}", d.net.bridge())).exists());
}

#[test]
fn netbr_bad_bridge_settings_are_refused() {
    let scratch = ScratchDir::new("nbbad");
    let base = &scratch.0;
    let sock = base.join("s.sock");
    for (args, msg) in [
        (vec!["--bip", "10.214.0.300/24"], "invalid bip"),
        (vec!["--bip", "10.214.0.0/24"], "not a host address"),
        (vec!["--mtu", "10"], "invalid MTU 10"),
        (
            vec!["--default-address-pool", "base=10.215.0.0/24"],
            "base and size are required",
        ),
        (
            vec!["--default-address-pool", "base=10.215.0.0/24,size=8"],
            "invalid pools configuration",
        ),
        (vec!["-b", "no/slash"], "invalid bridge name"),
    ] {
        assert_daemon_refuses(base, &args, msg);
    }
    // Flag and daemon.json together: dockerd's conflict message.
    let cfg = base.join("daemon.json");
    std::fs::write(&cfg, r#"{"bip": "10.214.0.1/24"}"#).expect("write");
    let mut cmd = Command::new(berth_tests::berth_bin());
    cmd.arg("daemon")
        .arg("--config-file")
        .arg(&cfg)
        .args(["--bip", "10.214.1.1/24"])
        .arg("-H")
        .arg(format!("unix://{}", sock.display()));
    let out = run_command(cmd, None, Duration::from_secs(20));
    assert!(out.code != 0, "{out:?}");
    assert!(
        out.stderr
            .contains("specified both as a flag and in the configuration file: bip"),
        "{}",
        out.stderr
    );
}

#[test]
fn netbr_many_run_rm_leave_nothing_behind() {
    let mut g = NetGuard::new("bt-b");
    let d = watched_daemon(&mut g);
    let bridge = d.net.bridge();
    let table = g.table().to_string();
    for i in 0..40 {
        let mut args = vec!["run", "--rm"];
        let spec;
        if i % 4 == 0 {
            spec = format!("127.0.0.1:{}:80", free_port());
            args.extend(["-p", spec.as_str()]);
        }
        args.extend(["busybox", "true"]);
        d.run(Client::Berth, &args).success();
    }
    d.run(Client::Docker, &["run", "--rm", "busybox", "true"])
        .success();
    assert!(
        eventually(10, || bridge_ports(&bridge).is_empty()),
        "veths left on {bridge}: {:?}",
        bridge_ports(&bridge)
    );
    // No namespace mounts left, no DNAT rule, no container directory.
    let ns_mounts: Vec<_> = berth_tests::mounts_under(&d.data_root)
        .into_iter()
        .filter(|p| p.ends_with("netns"))
        .collect();
    assert!(ns_mounts.is_empty(), "{ns_mounts:?}");
    let rules = nft_table("ip", &table).unwrap_or_default();
    assert!(rules.contains(&bridge), "the bridge's rules stay: {rules}");
    assert!(!rules.contains("dnat to"), "{rules}");
    assert!(d.container_ids().is_empty(), "{:?}", d.container_ids());
    // Every address went back: the next container gets the first one again.
    let out = d
        .run(
            Client::Berth,
            &[
                "run", "--rm", "busybox", "ip", "-o", "-4", "addr", "show", "eth0",
            ],
        )
        .success()
        .out();
    assert!(out.contains(&format!("10.214.{}.2/24", d.net.n)), "{out}");
    // Only the bridge's own address is on the host for the subnet.
    assert_eq!(
        host_addrs(&bridge).lines().count(),
        1,
        "{}",
        host_addrs(&bridge)
    );
}
