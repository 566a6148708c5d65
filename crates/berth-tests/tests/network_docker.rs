//! berth beside Docker (`dockerside_`): a real dockerd sets the iptables FORWARD policy to
//! DROP (with br_netfilter, bridged traffic goes through it too); berth's containers must
//! keep working — DNS, container to container, published ports, outbound — and so must
//! Docker's. berth adds exactly the accept rules its bridges need, in DOCKER-USER where
//! Docker documents them, and takes them away when it stops. Both daemons run in a network
//! namespace the test makes (`berth_tests::dockerside`), never touching the host's
//! firewall; a second namespace plays the outside world.
//!
//! Also: a bridge or nftables table removed under a running daemon comes back at the next
//! container start, and the daemon logs it.

use berth_tests::dockerside::{DockerdIn, Netns, Outside};
use berth_tests::{eventually, Client, TestDaemon};

/// Host-side rules must not change at all: the test works in its own namespaces.
/// The host's FORWARD chain, without the accept rules other berth daemons in the host's
/// namespace (other tests running at the same time) add and remove for their bridges:
/// this test's daemons run in a namespace of their own and must change nothing else.
fn host_forward() -> String {
    let mut c = std::process::Command::new("iptables");
    c.args(["-S", "FORWARD"]);
    berth_tests::run_command(c, None, std::time::Duration::from_secs(30))
        .stdout
        .lines()
        .filter(|l| !l.contains("--comment \"berth:"))
        .map(|l| format!("{l}\n"))
        .collect()
}

#[test]
fn dockerside_both_engines_work_with_docker_forward_drop() {
    let host_before = host_forward();
    let ns = Netns::new("e");
    let outside = Outside::start(&ns, 1, "remote-ok");
    let dockerd = DockerdIn::start(&ns);
    // dockerd's policy, in our namespace only.
    let fwd = ns.exec(&["iptables", "-S", "FORWARD"]).stdout;
    assert!(
        fwd.contains("-P FORWARD DROP"),
        "dockerd set no DROP policy: {fwd}"
    );
    assert!(
        ns.exec(&["sysctl", "-n", "net.bridge.bridge-nf-call-iptables"])
            .stdout
            .trim()
            == "1",
        "br_netfilter must be active in the namespace for this test to mean anything"
    );
    let before_berth = ns.iptables_rules();

    let mut d = TestDaemon::start_in_netns(&ns.path(), "");
    let bridge = d.net.bridge();
    // berth's rules: in DOCKER-USER, tagged with its table, for its bridge.
    let du = ns.exec(&["iptables", "-S", "DOCKER-USER"]).stdout;
    assert!(
        du.contains(&format!("-i {bridge} ")) && du.contains("berth:"),
        "no accept rules for {bridge} in DOCKER-USER: {du}"
    );

    // berth: a user network (embedded DNS) and the default bridge.
    d.run(Client::Berth, &["network", "create", "bnet"])
        .success();
    berth_tests::nettest::run_web(&d, Client::Berth, "bweb", &["--network", "bnet"]);
    let got = d
        .run(
            Client::Docker,
            &[
                "run",
                "--rm",
                "--network",
                "bnet",
                "busybox",
                "sh",
                "-c",
                "nslookup bweb >/dev/null && nc bweb 80 </dev/null",
            ],
        )
        .success()
        .out();
    assert!(got.contains("reply-bweb"), "berth c2c by name: {got}");
    // Without berth's rules Docker's DROP policy stops it (what this test is about): take
    // them out by hand, and a network change puts them back.
    let rules = ns.exec(&["iptables", "-S", "DOCKER-USER"]).stdout;
    for r in rules.lines().filter(|l| l.contains("berth:")) {
        let del = r.replacen("-A ", "-D ", 1).replace('"', "");
        let mut args = vec!["iptables"];
        args.extend(del.split_whitespace());
        ns.exec(&args).success();
    }
    let c2c = "nc -w 3 bweb 80 </dev/null";
    d.run(
        Client::Berth,
        &[
            "run",
            "--rm",
            "--network",
            "bnet",
            "busybox",
            "sh",
            "-c",
            c2c,
        ],
    )
    .failure();
    d.run(Client::Berth, &["network", "create", "bnet2"])
        .success();
    let got = d
        .run(
            Client::Berth,
            &[
                "run",
                "--rm",
                "--network",
                "bnet",
                "busybox",
                "sh",
                "-c",
                c2c,
            ],
        )
        .success()
        .out();
    assert!(
        got.contains("reply-bweb"),
        "rules back after a network change: {got}"
    );
    d.run(Client::Berth, &["network", "rm", "bnet2"]).success();
    // Published port, reached from the host (the namespace) and from a Docker container.
    berth_tests::nettest::run_web(&d, Client::Berth, "bpub", &["-p", "18181:80"]);
    assert!(
        eventually(10, || ns
            .exec(&[
                "curl",
                "-s",
                "--http0.9",
                "--max-time",
                "2",
                "http://127.0.0.1:18181/"
            ])
            .stdout
            .contains("reply-bpub")),
        "berth's published port from the host"
    );
    // Outbound (forwarded and masqueraded) from both of berth's networks.
    for net in ["bnet", "bridge"] {
        let out = d
            .run(
                Client::Berth,
                &[
                    "run",
                    "--rm",
                    "--network",
                    net,
                    "busybox",
                    "wget",
                    "-qO-",
                    &outside.url(),
                ],
            )
            .success()
            .out();
        assert_eq!(out, "remote-ok", "berth outbound on {net}");
    }

    // Docker keeps working beside berth.
    let tar = berth_tests::busybox_tar().display().to_string();
    dockerd.docker(&["load", "-i", &tar]).success();
    dockerd.docker(&["network", "create", "dnet"]).success();
    dockerd
        .docker(&[
            "run",
            "-d",
            "--name",
            "dsweb",
            "--hostname",
            "dsweb",
            "--network",
            "dnet",
            "busybox",
            "sh",
            "-c",
            berth_tests::nettest::SERVE_REPLY,
        ])
        .success();
    let got = dockerd
        .docker(&[
            "run",
            "--rm",
            "--network",
            "dnet",
            "busybox",
            "sh",
            "-c",
            "nslookup dsweb >/dev/null && nc dsweb 80 </dev/null",
        ])
        .success()
        .out();
    assert!(got.contains("reply-dsweb"), "docker c2c by name: {got}");
    dockerd
        .docker(&[
            "run",
            "-d",
            "--name",
            "dspub",
            "--hostname",
            "dspub",
            "-p",
            "18182:80",
            "busybox",
            "sh",
            "-c",
            berth_tests::nettest::SERVE_REPLY,
        ])
        .success();
    assert!(
        eventually(10, || ns
            .exec(&[
                "curl",
                "-s",
                "--http0.9",
                "--max-time",
                "2",
                "http://127.0.0.1:18182/"
            ])
            .stdout
            .contains("reply-dspub")),
        "docker's published port from the host"
    );
    let out = dockerd
        .docker(&["run", "--rm", "busybox", "wget", "-qO-", &outside.url()])
        .success()
        .out();
    assert_eq!(out, "remote-ok", "docker outbound");
    // Across engines, through published ports: a berth container reaches Docker's, and a
    // Docker container berth's, by the namespace's outside address.
    let got = d
        .run(
            Client::Berth,
            &[
                "run",
                "--rm",
                "busybox",
                "sh",
                "-c",
                "nc 10.250.1.1 18182 </dev/null",
            ],
        )
        .success()
        .out();
    assert!(got.contains("reply-dspub"), "berth to docker's port: {got}");
    let got = dockerd
        .docker(&[
            "run",
            "--rm",
            "busybox",
            "sh",
            "-c",
            "nc 10.250.1.1 18181 </dev/null",
        ])
        .success()
        .out();
    assert!(got.contains("reply-bpub"), "docker to berth's port: {got}");

    // A removed network takes its rules along at once.
    let bnet_bridge = d
        .run(
            Client::Berth,
            &[
                "network",
                "inspect",
                "-f",
                "{{index .Options \"com.docker.network.bridge.name\"}}",
                "bnet",
            ],
        )
        .success()
        .out();
    d.run(Client::Berth, &["rm", "-f", "bweb", "bpub"])
        .success();
    d.run(Client::Berth, &["network", "rm", "bnet"]).success();
    let du = ns.exec(&["iptables", "-S", "DOCKER-USER"]).stdout;
    assert!(
        !du.contains(&format!("-i {bnet_bridge} ")) && du.contains(&format!("-i {bridge} ")),
        "rules after network rm: {du}"
    );
    // Docker's own objects go too, so its rules are back to what they were.
    dockerd.docker(&["rm", "-f", "dsweb", "dspub"]).success();
    dockerd.docker(&["network", "rm", "dnet"]).success();
    // berth stops with no container left: its rules go, nothing else of the firewall
    // changed.
    d.stop_daemon();
    assert!(
        !ns.exec(&["iptables", "-S", "DOCKER-USER"])
            .stdout
            .contains("berth:"),
        "berth's rules after its shutdown"
    );
    assert_eq!(
        ns.iptables_rules(),
        before_berth,
        "berth left or changed iptables rules"
    );
    drop(d);
    drop(dockerd);
    drop(outside);
    drop(ns);
    assert_eq!(
        host_forward(),
        host_before,
        "the host's FORWARD chain changed"
    );
}

#[test]
fn dockerside_bridge_and_table_come_back_at_the_next_start() {
    let ns = Netns::new("r");
    let d = TestDaemon::start_in_netns(&ns.path(), "");
    let bridge = d.net.bridge();
    d.run(Client::Berth, &["run", "--rm", "busybox", "true"])
        .success();
    // Someone deletes the bridge: the next run recreates it, and says so.
    ns.exec(&["ip", "link", "del", &bridge]).success();
    d.run(Client::Berth, &["run", "--rm", "busybox", "true"])
        .success();
    assert!(
        ns.exec(&["ip", "link", "show", &bridge]).code == 0,
        "bridge back"
    );
    assert!(
        d.log_tail().contains("bridge was removed: recreating it"),
        "{}",
        d.log_tail()
    );
    // Someone flushes the ruleset: the table comes back at the next start.
    ns.exec(&["nft", "flush", "ruleset"]).success();
    d.run(Client::Docker, &["run", "--rm", "busybox", "true"])
        .success();
    let tables = ns.exec(&["nft", "list", "tables"]).stdout;
    assert!(tables.contains("berth"), "table back: {tables}");
    assert!(
        d.log_tail()
            .contains("nftables table was removed: restoring it"),
        "{}",
        d.log_tail()
    );
    // And published ports work again through it.
    berth_tests::nettest::run_web(&d, Client::Berth, "rweb", &["-p", "18183:80"]);
    assert!(eventually(10, || ns
        .exec(&[
            "curl",
            "-s",
            "--http0.9",
            "--max-time",
            "2",
            "http://127.0.0.1:18183/"
        ])
        .stdout
        .contains("reply-rweb")));
    drop(d);
    drop(ns);
}
