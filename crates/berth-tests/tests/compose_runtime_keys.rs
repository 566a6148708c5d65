//! The compose keys that only the `config` comparison covered, now run (prefix
//! `compose_runtime_`): a network's `enable_ipv6` with a service's `ipv6_address`,
//! `network_mode: host` and `network_mode: container:NAME`, `attach: false`,
//! `pull_policy: build`, and a named volume's `driver`/`driver_opts`/`labels`.
//! Each scenario runs with `berth compose` and with docker compose 2.40.3 against the same
//! berth daemon (a project of each tool's own), compares what the daemon then holds
//! (`docker inspect`, `docker network inspect`, `docker volume inspect`) or what the
//! command printed, and asserts the effect itself.
//!
//! Safety: every network a project creates gets a bridge named by the test (removed by the
//! guard); the IPv4 subnet is the test daemon's own pool slot, the IPv6 /64 is in
//! fd42:be:<this process>::/48 (as network_ipv6.rs); nothing is published. The
//! `network_mode: host` container only sleeps (it sends nothing).

use berth_tests::compose::{compose_yaml, project_left, run_compose, write_project, Tool, TOOLS};
use berth_tests::nettest::watched_daemon;
use berth_tests::{NetGuard, TestDaemon};

/// `docker inspect -f FORMAT NAME` on the berth daemon, trimmed.
fn inspect(d: &TestDaemon, name: &str, format: &str) -> String {
    d.docker(["inspect", "-f", format, name])
        .run()
        .success()
        .out()
        .trim()
        .to_string()
}

/// What the two tools left, line by line, with each one's project name made `PROJ`; equal.
fn assert_same(seen: &[Vec<String>]) {
    assert_eq!(seen.len(), 2);
    assert_eq!(seen[0], seen[1], "berth (left) and docker compose (right)");
}

/// The network namespace of a container's process 1 (`net:[INODE]`).
fn netns(d: &TestDaemon, name: &str) -> String {
    d.docker(["exec", name, "readlink", "/proc/1/ns/net"])
        .run()
        .success()
        .out()
        .trim()
        .to_string()
}

/// `enable_ipv6: true` on a network with a v4 and a v6 subnet, and `ipv6_address` on the
/// service's endpoint: the network has IPv6 on and both subnets, the container holds the
/// requested v6 address (inspect, and `ip -6 addr` inside it), as docker compose's.
#[test]
fn compose_runtime_ipv6_address_and_enable_ipv6() {
    let mut g = NetGuard::new("bt-rk1");
    let d = watched_daemon(&mut g);
    let subnet = d.net.pool_base().replace(".0/24", ".192/26");
    let v6 = format!("fd42:be:{:x}:71", std::process::id() & 0xffff);
    let mut seen = Vec::new();
    // One project name and bridge for both tools, one after the other: the network's
    // config-hash label (compose's NetworkHash of the file's network) is compared too.
    let (br, br2) = (g.bridge(), g.bridge());
    for tool in TOOLS {
        let proj = "rk6".to_string();
        let yaml = format!(
            "name: {proj}\nservices:\n  web:\n    image: busybox\n    command: sleep 600\n    stop_signal: SIGKILL\n    networks:\n      v6net:\n        ipv6_address: {v6}::20\n      plain:\nnetworks:\n  plain:\n    driver_opts:\n      com.docker.network.bridge.name: {br2}\n  v6net:\n    enable_ipv6: true\n    driver_opts:\n      com.docker.network.bridge.name: {br}\n    ipam:\n      config:\n        - subnet: {subnet}\n        - subnet: {v6}::/64\n"
        );
        let dir = compose_yaml(&d, &format!("{proj}-{tool:?}"), &yaml);
        let up = run_compose(&d, tool, &dir, &["up", "-d"]);
        assert_eq!(up.code, 0, "{tool:?}: {}", up.stderr);
        let net = format!("{proj}_v6net");
        let ctr = format!("{proj}-web-1");
        let mut got = vec![format!(
            "network: {}",
            d.docker([
                "network",
                "inspect",
                "-f",
                "{{.EnableIPv6}} {{json .IPAM.Config}} {{json .Labels}}",
                &net
            ])
            .run()
            .success()
            .out()
            .trim()
        )];
        // A network with no ipam and nothing else: its hash has compose's `"ipam":{}`.
        got.push(format!(
            "plain network: {}",
            d.docker([
                "network",
                "inspect",
                "-f",
                "{{.EnableIPv6}} {{json .Labels}}",
                &format!("{proj}_plain")
            ])
            .run()
            .success()
            .out()
            .trim()
        ));
        let ep = inspect(
            &d,
            &ctr,
            &format!("{{{{with index .NetworkSettings.Networks \"{net}\"}}}}{{{{json .IPAMConfig}}}} {{{{.GlobalIPv6Address}}}}/{{{{.GlobalIPv6PrefixLen}}}}{{{{end}}}}"),
        );
        assert!(ep.ends_with(&format!(" {v6}::20/64")), "{tool:?}: {ep}");
        got.push(format!("endpoint: {ep}"));
        let addrs = d
            .docker(["exec", &ctr, "ip", "-6", "addr", "show"])
            .run()
            .success()
            .out();
        assert!(
            addrs.contains(&format!("inet6 {v6}::20/64")),
            "{tool:?}: {addrs}"
        );
        assert!(got[0].starts_with("network: true "), "{tool:?}: {got:?}");
        run_compose(&d, tool, &dir, &["down", "-t", "0"]).success();
        assert!(project_left(&d, &proj).is_empty(), "{tool:?}");
        seen.push(
            got.iter()
                .map(|l| l.replace(&proj, "PROJ"))
                .collect::<Vec<_>>(),
        );
    }
    assert_same(&seen);
    assert!(
        seen[0][0].contains("com.docker.compose.config-hash")
            && seen[0][1].contains("com.docker.compose.config-hash"),
        "{:?}",
        seen[0]
    );
}

/// `network_mode: host` runs the service in the host's network namespace, and
/// `network_mode: container:NAME` in the named container's; NetworkMode and the
/// endpoints the daemon reports are docker compose's.
#[test]
fn compose_runtime_network_mode_host_and_container() {
    let mut g = NetGuard::new("bt-rk2");
    let d = watched_daemon(&mut g);
    let host_ns = std::fs::read_link("/proc/self/ns/net")
        .expect("own netns")
        .display()
        .to_string();
    let mut seen = Vec::new();
    for tool in TOOLS {
        let proj = tool.project("rkmode");
        let target = format!("{proj}-target");
        d.docker([
            "run",
            "-d",
            "--name",
            &target,
            "--network",
            "none",
            "busybox",
            "sleep",
            "600",
        ])
        .run()
        .success();
        let target_id = inspect(&d, &target, "{{.Id}}");
        let yaml = format!(
            "name: {proj}\nservices:\n  h:\n    image: busybox\n    command: sleep 600\n    stop_signal: SIGKILL\n    network_mode: host\n  t:\n    image: busybox\n    command: sleep 600\n    stop_signal: SIGKILL\n    network_mode: container:{target}\n"
        );
        let dir = compose_yaml(&d, &proj, &yaml);
        let up = run_compose(&d, tool, &dir, &["up", "-d"]);
        assert_eq!(up.code, 0, "{tool:?}: {}", up.stderr);
        let mut got = Vec::new();
        for svc in ["h", "t"] {
            let ctr = format!("{proj}-{svc}-1");
            got.push(format!(
                "{svc}: {}",
                inspect(
                    &d,
                    &ctr,
                    "{{.HostConfig.NetworkMode}} [{{range $k, $v := .NetworkSettings.Networks}}{{$k}} {{end}}]"
                )
            ));
        }
        assert_eq!(
            netns(&d, &format!("{proj}-h-1")),
            host_ns,
            "{tool:?}: host mode"
        );
        assert_eq!(
            netns(&d, &format!("{proj}-t-1")),
            netns(&d, &target),
            "{tool:?}: container mode"
        );
        run_compose(&d, tool, &dir, &["down", "-t", "0"]).success();
        assert!(project_left(&d, &proj).is_empty(), "{tool:?}");
        d.docker(["rm", "-f", &target]).run().success();
        seen.push(
            got.iter()
                .map(|l| {
                    l.replace(&target_id, "TARGET_ID")
                        .replace(&target, "TARGET")
                        .replace(&proj, "PROJ")
                })
                .collect::<Vec<_>>(),
        );
    }
    assert_same(&seen);
    assert_eq!(seen[0][0], "h: host [host ]", "{:?}", seen[0]);
}

/// `attach: false`: a foreground `up` does not print the service's lines (nor attach to
/// it); the other service's lines and exit are printed as docker compose prints them.
#[test]
fn compose_runtime_attach_false() {
    let mut g = NetGuard::new("bt-rk3");
    let d = watched_daemon(&mut g);
    let mut seen = Vec::new();
    for tool in TOOLS {
        let proj = tool.project("rkatt");
        let dir = berth_tests::compose::named_bridged_project(
            &d,
            &mut g,
            &proj,
            "  quiet:\n    image: busybox\n    attach: false\n    command: sh -c 'echo quiet-line; sleep 1'\n  loud:\n    image: busybox\n    command: sh -c 'sleep 3; echo loud-line'\n",
        );
        let up = run_compose(&d, tool, &dir, &["up", "--no-color"]);
        assert_eq!(up.code, 0, "{tool:?}: {}", up.stderr);
        assert!(!up.stdout.contains("quiet-line"), "{tool:?}: {}", up.stdout);
        assert!(
            up.stdout.contains("loud-1  | loud-line\n"),
            "{tool:?}: {}",
            up.stdout
        );
        // The service ran all the same.
        let logs = d
            .docker(["logs", &format!("{proj}-quiet-1")])
            .run()
            .success()
            .out();
        assert_eq!(logs.trim(), "quiet-line", "{tool:?}");
        run_compose(&d, tool, &dir, &["down"]).success();
        assert!(project_left(&d, &proj).is_empty(), "{tool:?}");
        seen.push(
            up.stdout
                .replace(&proj, "PROJ")
                .lines()
                .map(str::to_string)
                .collect::<Vec<_>>(),
        );
    }
    assert_same(&seen);
}

/// `pull_policy: build`: `up` builds the image every time, even when an image of that
/// name is already there, and never pulls; a changed Dockerfile reaches the recreated
/// container on the next `up`, as with docker compose.
#[test]
fn compose_runtime_pull_policy_build() {
    let mut g = NetGuard::new("bt-rk4");
    let d = watched_daemon(&mut g);
    let busybox_id = inspect(&d, "busybox", "{{.Id}}");
    for tool in TOOLS {
        let proj = tool.project("rkpb");
        let image = format!("{proj}-img:1");
        // An image of that name exists: `missing` would use it, `build` must not.
        d.docker(["tag", "busybox", &image]).run().success();
        let dockerfile = |stamp: &str| format!("FROM busybox\nRUN echo {stamp} > /stamp\n");
        let br = g.bridge();
        let yaml = format!(
            "name: {proj}\nservices:\n  web:\n    image: {image}\n    pull_policy: build\n    build: .\n    command: sleep 600\n    stop_signal: SIGKILL\nnetworks:\n  default:\n    driver_opts:\n      com.docker.network.bridge.name: {br}\n"
        );
        let dir = write_project(
            &d,
            &proj,
            &[
                ("compose.yaml", &yaml),
                ("Dockerfile", &dockerfile("stamp-1")),
            ],
        );
        let ctr = format!("{proj}-web-1");
        let since = now();
        for stamp in ["stamp-1", "stamp-2"] {
            write_project(&d, &proj, &[("Dockerfile", &dockerfile(stamp))]);
            let up = run_compose(&d, tool, &dir, &["up", "-d"]);
            assert_eq!(up.code, 0, "{tool:?}: {}", up.stderr);
            assert_ne!(inspect(&d, &image, "{{.Id}}"), busybox_id, "{tool:?}");
            let got = d
                .docker(["exec", &ctr, "cat", "/stamp"])
                .run()
                .success()
                .out();
            assert_eq!(got.trim(), stamp, "{tool:?}: {}", up.stderr);
        }
        let pulls = d
            .docker([
                "events",
                "--since",
                &since,
                "--until",
                &now(),
                "--filter",
                "event=pull",
                "--format",
                "{{.Actor.ID}}",
            ])
            .run()
            .success()
            .out();
        assert_eq!(pulls.trim(), "", "{tool:?}: nothing pulled");
        run_compose(&d, tool, &dir, &["down", "-t", "0", "--rmi", "all"]).success();
        assert!(project_left(&d, &proj).is_empty(), "{tool:?}");
    }
}

/// Now as unix seconds with nanoseconds (an events `--since`/`--until` value), a moment
/// after the last one.
fn now() -> String {
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("{}.{:09}", t.as_secs(), t.subsec_nanos())
}

/// A named volume's `driver`, `driver_opts` and `labels` reach the daemon as docker
/// compose sends them (`docker volume inspect`), and the local driver's options take
/// effect: the volume is a 1 MiB tmpfs inside the container.
#[test]
fn compose_runtime_volume_driver_options_and_labels() {
    let mut g = NetGuard::new("bt-rk5");
    let d = watched_daemon(&mut g);
    let mut seen = Vec::new();
    // One project name and bridge for both tools, one after the other: the volume's
    // config-hash label (compose's VolumeHash, of the volume's name among the rest) is
    // compared too.
    let br = g.bridge();
    for tool in TOOLS {
        let proj = "rkvol".to_string();
        let yaml = format!(
            "name: {proj}\nservices:\n  web:\n    image: busybox\n    command: sleep 600\n    stop_signal: SIGKILL\n    volumes:\n      - data:/data\nvolumes:\n  data:\n    driver: local\n    driver_opts:\n      type: tmpfs\n      device: tmpfs\n      o: size=1m,mode=0750\n    labels:\n      x.vol: one\n      x.other: two\nnetworks:\n  default:\n    driver_opts:\n      com.docker.network.bridge.name: {br}\n"
        );
        let dir = compose_yaml(&d, &format!("{proj}-{tool:?}"), &yaml);
        let up = run_compose(&d, tool, &dir, &["up", "-d"]);
        assert_eq!(up.code, 0, "{tool:?}: {}", up.stderr);
        let vol = format!("{proj}_data");
        let info = d
            .docker([
                "volume",
                "inspect",
                "-f",
                "{{.Driver}} {{json .Options}} {{json .Labels}}",
                &vol,
            ])
            .run()
            .success()
            .out();
        let ctr = format!("{proj}-web-1");
        let mounts = d
            .docker(["exec", &ctr, "cat", "/proc/mounts"])
            .run()
            .success()
            .out();
        let line = mounts
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some("/data"))
            .unwrap_or_else(|| panic!("{tool:?}: no /data mount:\n{mounts}"))
            .to_string();
        assert!(
            line.starts_with("tmpfs /data tmpfs ")
                && line.contains("size=1024k")
                && line.contains("mode=750"),
            "{tool:?}: {line}"
        );
        run_compose(&d, tool, &dir, &["down", "-v", "-t", "0"]).success();
        assert!(project_left(&d, &proj).is_empty(), "{tool:?}");
        let gone = d.docker(["volume", "inspect", &vol]).run();
        assert_ne!(gone.code, 0, "{tool:?}: down -v removes the volume");
        seen.push(vec![
            format!("volume: {}", info.trim().replace(&proj, "PROJ")),
            format!("mount: {line}"),
        ]);
    }
    assert_same(&seen);
    assert!(seen[0][0].contains("com.docker.compose.config-hash"));
    assert!(
        seen[0][0].contains("\"x.vol\":\"one\"")
            && seen[0][0].contains("\"o\":\"size=1m,mode=0750\""),
        "{:?}",
        seen[0]
    );
}

/// `watch --prune=WORD` takes every word of Go's strconv.ParseBool, as compose's pflag
/// flag does (before, berth took only true/1/false/0); a bad word gets pflag's error and
/// exit 1. The project has no `develop` section, so an accepted value goes on to compose's
/// "none of the selected services is configured for watch" error: output and code equal.
#[test]
fn compose_runtime_watch_prune_takes_go_bool_words() {
    let mut g = NetGuard::new("bt-rk6");
    let d = watched_daemon(&mut g);
    let dir = compose_yaml(
        &d,
        "rkprune",
        "services:\n  a:\n    image: busybox\n    command: sleep 600\n",
    );
    for v in [
        "t", "T", "TRUE", "True", "true", "1", "f", "F", "FALSE", "False", "false", "0", "yes",
        "bogus", "",
    ] {
        let flag = format!("--prune={v}");
        let args = ["watch", "--no-up", flag.as_str()];
        let b = run_compose(&d, Tool::Berth, &dir, &args);
        let c = run_compose(&d, Tool::DockerCompose, &dir, &args);
        let strip = |s: &str| -> String {
            s.lines()
                .filter(|l| !l.contains("COMPOSE_BAKE=false is deprecated"))
                .map(|l| format!("{l}\n"))
                .collect()
        };
        assert_eq!(
            (b.code, b.stdout.as_str(), strip(&b.stderr)),
            (c.code, c.stdout.as_str(), strip(&c.stderr)),
            "{flag}"
        );
        let bad = !matches!(
            v,
            "t" | "T"
                | "TRUE"
                | "True"
                | "true"
                | "1"
                | "f"
                | "F"
                | "FALSE"
                | "False"
                | "false"
                | "0"
        );
        assert_eq!(
            b.stderr.contains("strconv.ParseBool"),
            bad,
            "{flag}: {}",
            b.stderr
        );
        assert_eq!(b.code, 1, "{flag}");
    }
    assert!(project_left(&d, "rkprune").is_empty());
}
