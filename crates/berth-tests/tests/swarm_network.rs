//! Swarm networking (prefix `swarm_net_`): overlay networks, VIPs and `tasks.NAME` in the
//! embedded DNS, VIP balancing seen from a client container, dnsrr, the ingress routing
//! mesh answering on 127.0.0.1, host-mode ports, attachable networks, and the refusals —
//! through the docker CLI and berth's. Each daemon's swarm gets its own address pool
//! (10.216.SLOT.0/24 in /26s), so parallel tests never share a subnet.

use berth_tests::nettest::{fetch, SERVE_REPLY};
use berth_tests::swarm::{init_pooled as init, wait_running};
use berth_tests::{eventually, Client, TestDaemon};
use std::collections::BTreeSet;

fn run(d: &TestDaemon, c: Client, args: &[&str]) -> berth_tests::Output {
    d.run(c, args)
}

/// A host port of the test's own: 21000 + 20 per slot, plus `i`.
fn port(d: &TestDaemon, i: u16) -> u16 {
    21000 + 20 * d.net.n as u16 + i
}

/// `reply-HOST` answers of `n` connections from a client container on `net` to `target`.
fn replies_from_client(
    d: &TestDaemon,
    c: Client,
    net: &str,
    target: &str,
    n: usize,
) -> Vec<String> {
    let script = format!("for i in $(seq {n}); do nc -w 2 {target} 80 </dev/null; sleep 0.1; done");
    run(
        d,
        c,
        &[
            "run",
            "--rm",
            "--network",
            net,
            "busybox",
            "sh",
            "-c",
            &script,
        ],
    )
    .success()
    .lines()
    .into_iter()
    .filter(|l| l.starts_with("reply-"))
    .collect()
}

/// The addresses `nslookup NAME` gives in a fresh client container on `net`.
fn lookup(d: &TestDaemon, c: Client, net: &str, name: &str) -> BTreeSet<String> {
    run(
        d,
        c,
        &["run", "--rm", "--network", net, "busybox", "nslookup", name],
    )
    .out()
    .split("\n\n")
    .skip(1)
    .flat_map(|b| b.lines().map(str::to_string).collect::<Vec<_>>())
    .filter_map(|l| l.strip_prefix("Address:").map(|a| a.trim().to_string()))
    .collect()
}

fn web_service(d: &TestDaemon, c: Client, name: &str, replicas: &str, extra: &[&str]) {
    let hostname = format!("{name}-{{{{.Task.Slot}}}}");
    let mut args = vec![
        "service",
        "create",
        "-d",
        "--name",
        name,
        "--replicas",
        replicas,
        "--hostname",
        &hostname,
        "--stop-grace-period",
        "1s",
    ];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["busybox", "sh", "-c", SERVE_REPLY]);
    run(d, c, &args).success();
}

fn overlay_vip_dns_and_balancing(c: Client) {
    let d = TestDaemon::start();
    init(&d, c);
    let n = d.net.n;
    run(
        &d,
        c,
        &[
            "network",
            "create",
            "-d",
            "overlay",
            "--attachable",
            "front",
        ],
    )
    .success();
    run(
        &d,
        c,
        &[
            "network",
            "ls",
            "--filter",
            "name=front",
            "--format",
            "{{.Name}} {{.Driver}} {{.Scope}}",
        ],
    )
    .success()
    .stdout_is("front overlay swarm\n");
    // The ingress network took the pool's first /26.
    run(
        &d,
        c,
        &[
            "network",
            "inspect",
            "ingress",
            "--format",
            "{{.Ingress}} {{(index .IPAM.Config 0).Subnet}}",
        ],
    )
    .success()
    .stdout_is(&format!("true 10.216.{n}.0/26\n"));
    run(
        &d,
        c,
        &[
            "network",
            "inspect",
            "front",
            "--format",
            "{{.Attachable}} {{(index .IPAM.Config 0).Subnet}}",
        ],
    )
    .success()
    .stdout_is(&format!("true 10.216.{n}.64/26\n"));

    web_service(&d, c, "web", "3", &["--network", "front"]);
    wait_running(&d, "web", 3);
    let vip = run(
        &d,
        c,
        &[
            "service",
            "inspect",
            "web",
            "--format",
            "{{(index .Endpoint.VirtualIPs 0).Addr}}",
        ],
    )
    .success()
    .out();
    assert!(vip.starts_with(&format!("10.216.{n}.")), "{vip}");
    let vip = vip.split('/').next().unwrap_or_default().to_string();
    // The name is the VIP; tasks.NAME the three tasks' addresses.
    assert_eq!(lookup(&d, c, "front", "web"), BTreeSet::from([vip.clone()]));
    let tasks = lookup(&d, c, "front", "tasks.web");
    assert_eq!(tasks.len(), 3, "{tasks:?}");
    assert!(!tasks.contains(&vip));
    // Connections to the VIP go round the three tasks.
    assert!(
        eventually(60, || {
            let seen: BTreeSet<String> = replies_from_client(&d, c, "front", "web", 9)
                .into_iter()
                .collect();
            seen == BTreeSet::from([
                "reply-web-1".into(),
                "reply-web-2".into(),
                "reply-web-3".into(),
            ])
        }),
        "VIP balancing"
    );
    // A scaled-down service's VIP leads to the remaining task only.
    run(&d, c, &["service", "scale", "-d", "web=1"]).success();
    wait_running(&d, "web", 1);
    assert!(eventually(30, || {
        let r = replies_from_client(&d, c, "front", "web", 3);
        !r.is_empty() && r.iter().all(|x| x == "reply-web-1")
    }));
    assert!(eventually(30, || lookup(&d, c, "front", "tasks.web").len() == 1));

    // dnsrr: the name gives the tasks' addresses, and there is no VIP.
    web_service(
        &d,
        c,
        "db",
        "2",
        &["--network", "front", "--endpoint-mode", "dnsrr"],
    );
    wait_running(&d, "db", 2);
    run(
        &d,
        c,
        &[
            "service",
            "inspect",
            "db",
            "--format",
            "{{json .Endpoint.VirtualIPs}}",
        ],
    )
    .success()
    .stdout_is("null\n");
    assert!(eventually(30, || lookup(&d, c, "front", "db").len() == 2));
    assert_eq!(
        lookup(&d, c, "front", "db"),
        lookup(&d, c, "front", "tasks.db")
    );

    // Refusals, with moby's messages.
    run(&d, c, &["network", "create", "-d", "overlay", "back"]).success();
    run(&d, c, &["run", "--rm", "--network", "back", "busybox", "true"])
        .failure()
        .stderr_contains("Could not attach to network back: rpc error: code = PermissionDenied desc = network back not manually attachable");
    run(
        &d,
        c,
        &[
            "service",
            "create",
            "-d",
            "--network",
            "nosuch",
            "busybox",
            "sleep",
            "1",
        ],
    )
    .failure()
    .stderr_contains("network nosuch not found");
    run(&d, c, &["network", "create", "localnet"]).success();
    run(&d, c, &["service", "create", "-d", "--network", "localnet", "busybox", "sleep", "1"])
        .failure()
        .stderr_contains("The network localnet cannot be used with services. Only networks scoped to the swarm can be used, such as those created with the overlay driver.");
    run(
        &d,
        c,
        &[
            "service",
            "create",
            "-d",
            "--endpoint-mode",
            "dnsrr",
            "-p",
            "8080:80",
            "busybox",
            "sleep",
            "1",
        ],
    )
    .failure()
    .stderr_contains("port published with ingress mode can't be used with dnsrr mode");
    run(&d, c, &["network", "rm", "front"])
        .failure()
        .stderr_contains("is in use by service");
    run(&d, c, &["network", "create", "-d", "overlay", "front"])
        .failure()
        .stderr_contains("network with name front already exists");

    run(&d, c, &["service", "rm", "web", "db"]).success();
    run(&d, c, &["network", "rm", "front", "back"]).success();
    // This node's copy of `front` goes once its last task stopped.
    assert!(eventually(30, || run(
        &d,
        c,
        &[
            "network",
            "ls",
            "--filter",
            "driver=overlay",
            "--format",
            "{{.Name}}"
        ]
    )
    .out()
        == "ingress"));
    run(&d, c, &["swarm", "leave", "--force"]).success();
    run(
        &d,
        c,
        &["network", "ls", "--filter", "driver=overlay", "-q"],
    )
    .success()
    .stdout_is("");
}

#[test]
fn swarm_net_overlay_vip_dns_and_balancing_docker_cli() {
    overlay_vip_dns_and_balancing(Client::Docker);
}

#[test]
fn swarm_net_overlay_vip_dns_and_balancing_berth_cli() {
    overlay_vip_dns_and_balancing(Client::Berth);
}

/// The replies of `n` connections from the host to 127.0.0.1:`p`.
fn host_replies(p: u16, n: usize) -> BTreeSet<String> {
    (0..n)
        .map(|_| fetch(p).trim().to_string())
        .filter(|r| r.starts_with("reply-"))
        .collect()
}

fn routing_mesh(c: Client) {
    let d = TestDaemon::start();
    init(&d, c);
    let (p1, p2) = (port(&d, 1), port(&d, 2));
    web_service(&d, c, "web", "2", &["-p", &format!("{p1}:80")]);
    wait_running(&d, "web", 2);
    run(
        &d,
        c,
        &["service", "inspect", "web", "--format", "{{range .Endpoint.Ports}}{{.PublishMode}} {{.PublishedPort}}->{{.TargetPort}}/{{.Protocol}}{{end}}"],
    )
    .success()
    .stdout_is(&format!("ingress {p1}->80/tcp\n"));
    // The routing mesh reaches every task from the host, on 127.0.0.1 too.
    assert!(
        eventually(60, || host_replies(p1, 6)
            == BTreeSet::from(["reply-web-1".into(), "reply-web-2".into()])),
        "{:?}",
        host_replies(p1, 6)
    );
    // A port already published by another service, with swarmkit's message.
    run(
        &d,
        c,
        &[
            "service",
            "create",
            "-d",
            "--name",
            "other",
            "-p",
            &format!("{p1}:81"),
            "busybox",
            "sleep",
            "1",
        ],
    )
    .failure()
    .stderr_contains(&format!("port '{p1}' is already in use by service 'web'"));
    // Without a published port the swarm picks one from 30000-32767.
    web_service(&d, c, "auto", "1", &["-p", "80"]);
    wait_running(&d, "auto", 1);
    let dynamic: u16 = run(
        &d,
        c,
        &[
            "service",
            "inspect",
            "auto",
            "--format",
            "{{(index .Endpoint.Ports 0).PublishedPort}}",
        ],
    )
    .success()
    .out()
    .parse()
    .unwrap_or(0);
    assert!((30000..=32767).contains(&dynamic), "{dynamic}");
    assert!(eventually(30, || host_replies(dynamic, 2).contains("reply-auto-1")));
    // mode=host: the task's container publishes the port itself.
    web_service(
        &d,
        c,
        "hosted",
        "1",
        &["--publish", &format!("published={p2},target=80,mode=host")],
    );
    wait_running(&d, "hosted", 1);
    assert!(eventually(30, || host_replies(p2, 2).contains("reply-hosted-1")));
    // Unpublished by an update, the port stops answering.
    run(
        &d,
        c,
        &["service", "update", "-d", "--publish-rm", "80", "web"],
    )
    .success();
    assert!(eventually(60, || host_replies(p1, 2).is_empty()));
    run(&d, c, &["service", "rm", "web", "auto", "hosted"]).success();
    assert!(eventually(60, || host_replies(p2, 1).is_empty()
        && host_replies(dynamic, 1).is_empty()));
    run(&d, c, &["swarm", "leave", "--force"]).success();
}

#[test]
fn swarm_net_routing_mesh_docker_cli() {
    routing_mesh(Client::Docker);
}

#[test]
fn swarm_net_routing_mesh_berth_cli() {
    routing_mesh(Client::Berth);
}

/// `--network host|bridge`: moby's predefined swarm networks. A task on `host` runs in
/// the node's network namespace (its listener answers on the host's loopback), one on
/// `bridge` on the default bridge with its host-mode port; `none`, other networks beside
/// a predefined one, and the routing mesh are refused.
fn predefined_networks(c: Client) {
    let d = TestDaemon::start();
    init(&d, c);
    let (p3, p4) = (port(&d, 3), port(&d, 4));
    let listen = format!("while true; do echo reply-hostnet | nc -l -p {p3}; done");
    run(
        &d,
        c,
        &[
            "service",
            "create",
            "-d",
            "--name",
            "hostnet",
            "--network",
            "host",
            "--stop-grace-period",
            "1s",
            "busybox",
            "sh",
            "-c",
            &listen,
        ],
    )
    .success();
    web_service(
        &d,
        c,
        "bridged",
        "1",
        &[
            "--network",
            "bridge",
            "--publish",
            &format!("published={p4},target=80,mode=host"),
        ],
    );
    wait_running(&d, "hostnet", 1);
    wait_running(&d, "bridged", 1);
    let mode_of = |svc: &str| {
        let id = d
            .run(
                Client::Docker,
                &[
                    "ps",
                    "-q",
                    "--filter",
                    &format!("label=com.docker.swarm.service.name={svc}"),
                ],
            )
            .out();
        run(
            &d,
            c,
            &["inspect", "--format", "{{.HostConfig.NetworkMode}}", &id],
        )
        .success()
        .out()
    };
    assert_eq!(mode_of("hostnet"), "host");
    assert_eq!(mode_of("bridged"), "bridge");
    // The host network's listener is the node's own; the bridged task's port is published.
    assert!(eventually(30, || fetch(p3).contains("reply-hostnet")));
    assert!(eventually(30, || fetch(p4).contains("reply-bridged-1")));
    // The spec names the predefined swarm network by its id; inspecting it shows moby's
    // label, and it cannot be removed.
    let target = run(
        &d,
        c,
        &[
            "service",
            "inspect",
            "hostnet",
            "--format",
            "{{(index .Spec.TaskTemplate.Networks 0).Target}}",
        ],
    )
    .success()
    .out();
    assert_eq!(target.len(), 25, "{target}");
    run(
        &d,
        c,
        &[
            "network",
            "inspect",
            &target,
            "--format",
            "{{.Name}} {{.Scope}} {{index .Labels \"com.docker.swarm.predefined\"}}",
        ],
    )
    .success()
    .stdout_is("host swarm true\n");
    run(&d, c, &["network", "rm", &target])
        .failure()
        .stderr_contains("host is a pre-defined network and cannot be removed");
    // The refusals.
    let create = |extra: &[&str]| {
        let mut a = vec!["service", "create", "-d", "--name", "bad"];
        a.extend_from_slice(extra);
        a.extend_from_slice(&["busybox", "sleep", "60"]);
        let out = run(&d, c, &a);
        out.failure();
        out
    };
    create(&["--network", "none"])
        .stderr_contains("could not find the corresponding predefined swarm network");
    create(&["--network", "host", "-p", &format!("{}:80", port(&d, 5))])
        .stderr_contains("cannot publish ports in ingress mode");
    run(&d, c, &["network", "create", "-d", "overlay", "ov"]).success();
    create(&["--network", "host", "--network", "ov"])
        .stderr_contains("cannot be attached to other networks");
    run(&d, c, &["service", "rm", "hostnet", "bridged"]).success();
    assert!(eventually(60, || fetch(p3).is_empty() && fetch(p4).is_empty()));
    run(&d, c, &["swarm", "leave", "--force"]).success();
}

#[test]
fn swarm_net_predefined_networks_docker_cli() {
    predefined_networks(Client::Docker);
}

#[test]
fn swarm_net_predefined_networks_berth_cli() {
    predefined_networks(Client::Berth);
}
