//! Differential scenarios of published ports reached from containers through the host's
//! own addresses (prefix `compat_net_hairpin_`): the same commands against a private dockerd
//! and a private berth daemon (`berth_tests::differential`). dockerd (userland-proxy on, its
//! default) answers such connections with its proxy, which connects to the target from the
//! bridge's address; berth DNATs them and masquerades the ones that go back into the
//! bridge they came from, so the target sees the same source. The ports are published on
//! the test network's gateway address only, and traffic goes only to the containers the
//! scenarios create and to that address.
//!
//! The same with `userland-proxy: false` (moby 28's hairpin mode on the bridge ports and its
//! masquerade of a container's connection to its own port) cannot be compared: the harness's
//! dockerd runs without iptables, so without its proxy nothing answers there. It is checked
//! on berth alone (`hairpin_without_userland_proxy`).
//!
//! (busybox's wget is run under `timeout`: its own `-T` crashes it on some hosts.)

use berth_tests::differential::{Differ, Scenario};
use berth_tests::{eventually, Client, TestDaemon};

const S: Scenario = Scenario::DEFAULT;

/// A web server on network `hp` ($SUBA.0/24) publishing port 80 on the gateway address;
/// busybox httpd -v logs each client's address on stderr (`[::ffff:IP]:PORT: response:200`).
const WEB: &str = "docker network create --subnet $SUBA.0/24 hp >/dev/null && \
                   docker run -d --name web --network hp -p $SUBA.1:$PORT:80 busybox \
                   sh -c 'echo hi > /i; exec httpd -f -v -p 80 -h /' >/dev/null && sleep 1";

#[test]
fn compat_net_hairpin() {
    Differ::start().check(&[
        Scenario {
            name: "a container reaches a port another container of its network published on the gateway",
            setup: WEB,
            run: "docker run --rm --network hp busybox timeout 5 wget -qO- http://$SUBA.1:$PORT/i; echo $?\n\
                  docker logs web 2>&1 | grep -o 'ffff:[0-9.]*' | sort -u",
            ..S
        },
        Scenario {
            name: "a container reaches its own published port through the gateway address",
            setup: WEB,
            run: "docker exec web timeout 5 wget -qO- http://$SUBA.1:$PORT/i; echo $?\n\
                  docker logs web 2>&1 | grep -o 'ffff:[0-9.]*' | sort -u",
            ..S
        },
        Scenario {
            name: "a container of another network and the host reach it through that address",
            setup: WEB,
            run: "docker run --rm busybox timeout 5 wget -qO- http://$SUBA.1:$PORT/i; echo $?\n\
                  curl -s -m 5 http://$SUBA.1:$PORT/i; echo $?",
            ..S
        },
    ]);
}

/// `userland-proxy: false`, as moby 28 sets it up: every container's bridge port is in
/// hairpin mode and a container's connection to its own published port is masqueraded,
/// so it reaches itself through the gateway address; a connection from another container
/// of the network keeps its source (no proxy in between), one from the host gets the
/// gateway's ("MASQUERADE FROM HOST").
#[test]
fn compat_net_hairpin_without_userland_proxy() {
    let d = TestDaemon::start_with_config(r#"{"userland-proxy": false}"#);
    let sub = format!("10.220.{}", d.net.n);
    let port = 40000 + d.net.n * 8;
    let gw = format!("{sub}.1");
    let run = |args: &[&str]| d.run(Client::Docker, args);
    run(&[
        "network",
        "create",
        "--subnet",
        &format!("{sub}.0/24"),
        "hp",
    ])
    .success();
    run(&[
        "run",
        "-d",
        "--name",
        "web",
        "--network",
        "hp",
        "--ip",
        &format!("{sub}.2"),
        "-p",
        &format!("{gw}:{port}:80"),
        "busybox",
        "sh",
        "-c",
        "echo hi > /i; exec httpd -f -v -p 80 -h /",
    ])
    .success();
    let url = format!("http://{gw}:{port}/i");
    assert!(
        eventually(10, || run(&[
            "exec", "web", "timeout", "5", "wget", "-qO-", &url
        ])
        .stdout
        .contains("hi")),
        "a container reaches its own port through the gateway"
    );
    run(&[
        "run",
        "--rm",
        "--network",
        "hp",
        "--ip",
        &format!("{sub}.3"),
        "busybox",
        "timeout",
        "5",
        "wget",
        "-qO-",
        &url,
    ])
    .success()
    .stdout_is("hi\n");
    let logs = run(&["logs", "web"]);
    let clients: std::collections::BTreeSet<String> = logs
        .stderr
        .lines()
        .chain(logs.stdout.lines())
        // `[::ffff:10.220.N.1]:45678: response:200`
        .filter_map(|l| l.split("ffff:").nth(1)?.split(']').next())
        .filter(|a| a.starts_with(&sub))
        .map(str::to_string)
        .collect();
    assert_eq!(
        clients,
        [gw.clone(), format!("{sub}.3")].into_iter().collect(),
        "its own connection masqueraded, the other container's not\n{logs:?}"
    );
    let id = run(&["network", "inspect", "-f", "{{.Id}}", "hp"]);
    let brif = format!("/sys/class/net/br-{}/brif", &id.stdout.trim()[..12]);
    let modes: Vec<String> = std::fs::read_dir(&brif)
        .unwrap_or_else(|e| panic!("{brif}: {e}"))
        .filter_map(|e| e.ok())
        .map(|e| std::fs::read_to_string(e.path().join("hairpin_mode")).unwrap_or_default())
        .collect();
    assert!(!modes.is_empty(), "{brif} lists the container's port");
    assert!(
        modes.iter().all(|m| m.trim() == "1"),
        "hairpin mode on: {modes:?}"
    );
    run(&["rm", "-f", "web"]).success();
    run(&["network", "rm", "hp"]).success();
}
