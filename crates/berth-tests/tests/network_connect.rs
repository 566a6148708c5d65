//! Several networks per container: `network connect` (--alias, --ip) and `network
//! disconnect` on running and stopped containers, through the berth CLI and the real docker
//! CLI: the interface, address and names appear and go, inspect and network inspect show
//! every network, restart keeps them, rm removes them, and Docker's errors for bad input.
//!
//! Safety: own bridges `bt-c*`, own /24s in 10.213.230.0-10.213.249.0, a guard removing the
//! bridges and the daemon's nftables table on drop; the daemon's DNS upstream is a local
//! responder answering NXDOMAIN, so no query leaves the machine.

use berth_tests::fakedns::Upstream;
use berth_tests::nettest::{
    bridge_ports, create_net, inspect_f as inspect, ip_on, nslookup, ping, run_sleeper,
    watched_daemon_dns,
};
use berth_tests::{client_name as name, eventually, Client, NetGuard, TestDaemon};

/// The networks inspect lists for the container, sorted.
fn networks_of(d: &TestDaemon, c: Client, ctr: &str) -> Vec<String> {
    let out = inspect(
        d,
        c,
        ctr,
        "{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}",
    );
    let mut v: Vec<String> = out.split_whitespace().map(str::to_string).collect();
    v.sort();
    v
}

/// The IPv4 addresses inside the container (`ip -o -4 addr`), as "ifname addr/prefix".
fn addrs_in(d: &TestDaemon, c: Client, ctr: &str) -> Vec<String> {
    d.run(c, &["exec", ctr, "ip", "-o", "-4", "addr"])
        .success()
        .lines()
        .iter()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 4 && f[1] != "lo").then(|| format!("{} {}", f[1], f[3]))
        })
        .collect()
}

/// The addresses `nslookup NAME` gives in the container; empty when it fails.
fn lookup(d: &TestDaemon, c: Client, from: &str, what: &str) -> Vec<String> {
    let (addrs, code) = nslookup(d, c, from, &[what]);
    if code != 0 {
        return Vec::new();
    }
    addrs
}

#[test]
fn netconn_connect_and_disconnect_a_running_container() {
    let up = Upstream::nxdomain();
    let mut g = NetGuard::new("bt-c");
    let d = watched_daemon_dns(&mut g, &up.addr);
    for (i, c) in Client::BOTH.into_iter().enumerate() {
        let (na, nb) = (name(c, "ca"), name(c, "cb"));
        let (ba, bb) = (g.bridge(), g.bridge());
        let (sa, sb) = (230 + 2 * i, 231 + 2 * i);
        create_net(&d, c, &na, &ba, &format!("10.213.{sa}.0/24"));
        create_net(&d, c, &nb, &bb, &format!("10.213.{sb}.0/24"));
        let (x, y) = (name(c, "cx"), name(c, "cy"));
        run_sleeper(&d, c, &x, &na, &[]);
        run_sleeper(&d, c, &y, &nb, &[]);
        let y_ip = ip_on(&d, c, &y, &nb);
        assert!(!ping(&d, c, &x, &y_ip), "{c:?}: networks are isolated");
        assert!(lookup(&d, c, &x, &y).is_empty(), "{c:?}: y unknown on A");

        let fixed = format!("10.213.{sb}.50");
        d.run(
            c,
            &[
                "network", "connect", "--alias", "bee", "--ip", &fixed, &nb, &x,
            ],
        )
        .success()
        .stdout_is("");
        assert_eq!(networks_of(&d, c, &x), {
            let mut v = vec![na.clone(), nb.clone()];
            v.sort();
            v
        });
        assert_eq!(ip_on(&d, c, &x, &nb), fixed);
        let a_ip = ip_on(&d, c, &x, &na);
        let addrs = addrs_in(&d, c, &x);
        assert!(addrs.contains(&format!("eth0 {a_ip}/24")), "{addrs:?}");
        assert!(addrs.contains(&format!("eth1 {fixed}/24")), "{addrs:?}");
        assert_eq!(bridge_ports(&bb).len(), 2, "{c:?}: x's second veth on B");
        // Both ways on B, by address and by name (the alias too).
        assert!(ping(&d, c, &x, &y_ip), "{c:?}: x reaches y over B");
        assert_eq!(lookup(&d, c, &x, &y), vec![y_ip.clone()]);
        assert_eq!(lookup(&d, c, &y, "bee"), vec![fixed.clone()]);
        assert_eq!(lookup(&d, c, &y, &x), vec![fixed.clone()]);
        assert!(ping(&d, c, &y, "bee"));
        // The hosts file has the new address; inspect's and network inspect's views agree.
        d.run(c, &["exec", &x, "cat", "/etc/hosts"])
            .success()
            .stdout_contains(&format!("{fixed}\t"));
        let aliases = inspect(
            &d,
            c,
            &x,
            &format!("{{{{json (index .NetworkSettings.Networks \"{nb}\").Aliases}}}}"),
        );
        assert!(aliases.contains("\"bee\""), "{aliases}");
        d.run(
            c,
            &[
                "network",
                "inspect",
                "-f",
                "{{range .Containers}}{{.Name}}={{.IPv4Address}} {{end}}",
                &nb,
            ],
        )
        .success()
        .stdout_contains(&format!("{x}={fixed}/24"))
        .stdout_contains(&format!("{y}={y_ip}/24"));
        // Removal is refused while x is connected.
        d.run(c, &["network", "rm", &nb]).failure();

        d.run(c, &["network", "disconnect", &nb, &x])
            .success()
            .stdout_is("");
        assert_eq!(networks_of(&d, c, &x), vec![na.clone()]);
        let addrs = addrs_in(&d, c, &x);
        assert_eq!(addrs, vec![format!("eth0 {a_ip}/24")], "{c:?}");
        assert_eq!(bridge_ports(&bb).len(), 1, "{c:?}: x's veth on B is gone");
        assert!(lookup(&d, c, &y, "bee").is_empty(), "{c:?}: names gone");
        assert!(lookup(&d, c, &y, &x).is_empty());
        assert!(!ping(&d, c, &x, &y_ip));
        d.run(c, &["exec", &x, "cat", "/etc/hosts"])
            .success()
            .stdout_lacks(&format!("{fixed}\t"));
        // The freed address can be taken again, and x still has its first network.
        d.run(c, &["network", "connect", "--ip", &fixed, &nb, &x])
            .success();
        assert!(ping(&d, c, &x, &y_ip));
        d.run(c, &["network", "disconnect", "--force", &nb, &x])
            .success();
        assert!(ping(&d, c, &x, &format!("10.213.{sa}.1")), "gateway of A");
        d.run(c, &["rm", "-f", &x, &y]).success();
        d.run(c, &["network", "rm", &na, &nb]).success();
    }
}

#[test]
fn netconn_stopped_container_attaches_at_start_restart_keeps_all_rm_removes_all() {
    let up = Upstream::nxdomain();
    let mut g = NetGuard::new("bt-c");
    let d = watched_daemon_dns(&mut g, &up.addr);
    for (i, c) in Client::BOTH.into_iter().enumerate() {
        let (na, nb, nc) = (name(c, "sa"), name(c, "sb"), name(c, "sc"));
        let (ba, bb, bc) = (g.bridge(), g.bridge(), g.bridge());
        let (sa, sb, sc) = (234 + 3 * i, 235 + 3 * i, 236 + 3 * i);
        create_net(&d, c, &na, &ba, &format!("10.213.{sa}.0/24"));
        create_net(&d, c, &nb, &bb, &format!("10.213.{sb}.0/24"));
        create_net(&d, c, &nc, &bc, &format!("10.213.{sc}.0/24"));
        let x = name(c, "sx");
        d.run(
            c,
            &[
                "create",
                "--name",
                &x,
                "--network",
                &na,
                "busybox",
                "sleep",
                "600",
            ],
        )
        .success();
        d.run(c, &["network", "connect", "--alias", "web", &nb, &x])
            .success();
        // A second connect of a stopped container keeps the first request, as Docker.
        d.run(c, &["network", "connect", &nb, &x]).success();
        d.run(c, &["network", "connect", &nc, &x]).success();
        let mut all = vec![na.clone(), nb.clone(), nc.clone()];
        all.sort();
        assert_eq!(networks_of(&d, c, &x), all);
        assert_eq!(ip_on(&d, c, &x, &nb), "", "no address before start");
        // Disconnect while stopped: recorded only.
        d.run(c, &["network", "disconnect", &nc, &x]).success();
        d.run(c, &["network", "disconnect", &nc, &x])
            .failure()
            .stderr_contains("is not connected to the network");
        d.run(c, &["start", &x]).success();
        let b_ip = ip_on(&d, c, &x, &nb);
        assert!(b_ip.starts_with(&format!("10.213.{sb}.")), "{b_ip}");
        let mut ab = vec![na.clone(), nb.clone()];
        ab.sort();
        assert_eq!(
            networks_of(&d, c, &x),
            ab,
            "disconnected from C while stopped"
        );
        let addrs = addrs_in(&d, c, &x);
        assert_eq!(addrs.len(), 2, "{addrs:?}");
        assert!(addrs.contains(&format!("eth1 {b_ip}/24")), "{addrs:?}");
        assert_eq!(
            (
                bridge_ports(&ba).len(),
                bridge_ports(&bb).len(),
                bridge_ports(&bc).len()
            ),
            (1, 1, 0)
        );
        // Its alias answers on B to another container there.
        let z = name(c, "sz");
        run_sleeper(&d, c, &z, &nb, &[]);
        assert_eq!(lookup(&d, c, &z, "web"), vec![b_ip.clone()]);

        d.run(c, &["restart", "-t", "0", &x]).success();
        let addrs = addrs_in(&d, c, &x);
        assert_eq!(
            addrs.len(),
            2,
            "{c:?}: both networks after restart: {addrs:?}"
        );
        let b_ip2 = ip_on(&d, c, &x, &nb);
        assert!(addrs.contains(&format!("eth1 {b_ip2}/24")), "{addrs:?}");
        assert!(eventually(10, || lookup(&d, c, &z, "web") == vec![b_ip2.clone()]));
        assert_eq!((bridge_ports(&ba).len(), bridge_ports(&bb).len()), (1, 2));

        d.run(c, &["rm", "-f", &x]).success();
        assert!(eventually(10, || bridge_ports(&ba).is_empty()
            && bridge_ports(&bb).len() == 1));
        assert!(lookup(&d, c, &z, "web").is_empty());
        d.run(c, &["rm", "-f", &z]).success();
        d.run(c, &["network", "rm", &na, &nb, &nc]).success();
    }
}

#[test]
fn netconn_bad_inputs_get_dockers_errors_and_keep_state() {
    let up = Upstream::nxdomain();
    let mut g = NetGuard::new("bt-c");
    let d = watched_daemon_dns(&mut g, &up.addr);
    for (i, c) in Client::BOTH.into_iter().enumerate() {
        let (na, nb) = (name(c, "ea"), name(c, "eb"));
        let (ba, bb) = (g.bridge(), g.bridge());
        let (sa, sb) = (240 + 2 * i, 241 + 2 * i);
        create_net(&d, c, &na, &ba, &format!("10.213.{sa}.0/24"));
        create_net(&d, c, &nb, &bb, &format!("10.213.{sb}.0/24"));
        let x = name(c, "ex");
        run_sleeper(&d, c, &x, &na, &[]);
        let a_ip = ip_on(&d, c, &x, &na);
        let id = inspect(&d, c, &x, "{{.Id}}");

        d.run(c, &["network", "connect", "nope-net", &x])
            .code(1)
            .stderr_contains("network nope-net not found");
        d.run(c, &["network", "connect", &nb, "nope-ctr"])
            .code(1)
            .stderr_contains("No such container: nope-ctr");
        d.run(c, &["network", "connect", &na, &x])
            .code(1)
            .stderr_contains(&format!(
                "endpoint with name {x} already exists in network {na}"
            ));
        d.run(c, &["network", "disconnect", &nb, &x])
            .code(1)
            .stderr_contains(&format!("container {id} is not connected to network {nb}"));
        d.run(c, &["network", "disconnect", "nope-net", &x])
            .code(1)
            .stderr_contains("network nope-net not found");
        d.run(c, &["network", "connect", "--ip", "10.9.9.9", &nb, &x])
            .code(1)
            .stderr_contains("no configured subnet or ip-range contain the IP address 10.9.9.9");
        d.run(c, &["network", "connect", "--ip", "not-an-ip", &nb, &x])
            .failure();
        d.run(c, &["network", "connect", &nb])
            .code(1)
            .stderr_contains("requires 2 arguments");
        d.run(c, &["network", "connect", "host", &x]).failure();
        // Nothing changed: x is on A only, with its address; B's pool is whole.
        assert_eq!(networks_of(&d, c, &x), vec![na.clone()]);
        assert_eq!(ip_on(&d, c, &x, &na), a_ip);
        assert_eq!(bridge_ports(&bb).len(), 0);
        d.run(
            c,
            &[
                "network",
                "connect",
                "--ip",
                &format!("10.213.{sb}.9"),
                &nb,
                &x,
            ],
        )
        .success();
        assert_eq!(ip_on(&d, c, &x, &nb), format!("10.213.{sb}.9"));
        d.run(c, &["rm", "-f", &x]).success();
        d.run(c, &["network", "rm", &na, &nb]).success();
    }
    // The API's status codes.
    let (na, ba) = ("api-net", g.bridge());
    create_net(&d, Client::Berth, na, &ba, "10.213.244.0/24");
    run_sleeper(&d, Client::Berth, "api-x", na, &[]);
    let (code, body) = d.api(
        "POST",
        "/networks/nope/connect",
        Some(r#"{"Container":"api-x"}"#),
    );
    assert_eq!(code, 404, "{body}");
    let (code, body) = d.api(
        "POST",
        &format!("/networks/{na}/connect"),
        Some(r#"{"Container":"api-x"}"#),
    );
    assert_eq!(code, 403, "{body}");
    assert!(body.contains("already exists"), "{body}");
    let (code, body) = d.api(
        "POST",
        &format!("/networks/{na}/disconnect"),
        Some(r#"{"Container":"api-x","Force":false}"#),
    );
    assert_eq!(code, 200, "{body}");
    let (code, body) = d.api(
        "POST",
        &format!("/networks/{na}/disconnect"),
        Some(r#"{"Container":"api-x"}"#),
    );
    assert_eq!(code, 500, "{body}");
    assert!(body.contains("is not connected to network"), "{body}");
    d.run(Client::Berth, &["rm", "-f", "api-x"]).success();
}

#[test]
fn netconn_container_mode_shares_the_namespace() {
    let up = Upstream::nxdomain();
    let mut g = NetGuard::new("bt-c");
    let d = watched_daemon_dns(&mut g, &up.addr);
    for (i, c) in Client::BOTH.into_iter().enumerate() {
        let na = name(c, "ma");
        let ba = g.bridge();
        create_net(&d, c, &na, &ba, &format!("10.213.{}.0/24", 246 + i));
        let x = name(c, "mx");
        d.run(
            c,
            &[
                "run",
                "-d",
                "--name",
                &x,
                "--network",
                &na,
                "busybox",
                "sh",
                "-c",
                "while true; do echo hi-from-x | nc -l -p 7100; done",
            ],
        )
        .success();
        let x_ip = ip_on(&d, c, &x, &na);
        let mode = format!("container:{x}");
        // The same interface and address, and x's loopback.
        let out = d
            .run(
                c,
                &[
                    "run",
                    "--rm",
                    "--network",
                    &mode,
                    "busybox",
                    "ip",
                    "-o",
                    "-4",
                    "addr",
                ],
            )
            .success()
            .out();
        assert!(out.contains(&format!("{x_ip}/24")), "{c:?}: {out}");
        assert!(eventually(10, || {
            d.run(
                c,
                &[
                    "run",
                    "--rm",
                    "--network",
                    &mode,
                    "busybox",
                    "sh",
                    "-c",
                    "nc 127.0.0.1 7100 </dev/null",
                ],
            )
            .out()
            .contains("hi-from-x")
        }));
        // The sharer's end leaves x's networking alone.
        assert_eq!(bridge_ports(&ba).len(), 1);
        assert_eq!(ip_on(&d, c, &x, &na), x_ip);
        d.run(
            c,
            &[
                "run",
                "--rm",
                "--network",
                "container:nope-ctr",
                "busybox",
                "true",
            ],
        )
        .failure()
        .stderr_contains("No such container: nope-ctr");
        d.run(c, &["stop", "-t", "0", &x]).success();
        d.run(c, &["run", "--rm", "--network", &mode, "busybox", "true"])
            .failure()
            .stderr_contains("cannot join network namespace of a non running container");
        d.run(c, &["rm", "-f", &x]).success();
        d.run(c, &["network", "rm", &na]).success();
    }
}
