//! What `up` does with a project volume or network whose configuration changed (its
//! `com.docker.compose.config-hash` label is not the file's), compared with docker compose
//! 2.40.3 on the same files against the same berth daemon (prefix `compose_recreate_`):
//! - a volume: compose asks `Volume "P_data" exists but doesn't match configuration in
//!   compose file. Recreate (data will be lost)?` on stdout; no answer (stdin closed) or
//!   `n` keeps the volume and its data; `Y` (or `-y`) stops and removes the containers
//!   mounting it, recreates the volume empty, and creates those containers again;
//! - a network: recreated without asking; the containers on it are stopped, disconnected,
//!   connected to the new network and started again (the same containers).
//!
//! Safety: every project's networks get bridges named by the test (removed by the guard);
//! nothing is published.

use berth_tests::compose::{compose_yaml, project_left, run_compose, Tool, TOOLS};
use berth_tests::nettest::watched_daemon;
use berth_tests::{Cmd, NetGuard, Output, TestDaemon};
use std::path::Path;

/// compose 2.40 warns that COMPOSE_BAKE=false is deprecated (a logrus line on stderr):
/// not part of what is compared.
fn without_bake_warning(s: &str) -> String {
    s.lines()
        .filter(|l| !l.contains("COMPOSE_BAKE=false is deprecated"))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// `tool ARGS` in `dir` with `stdin` as its input (the answer to compose's question).
fn answering(d: &TestDaemon, tool: Tool, dir: &Path, args: &[&str], stdin: &str) -> Output {
    let mut c = tool.command(&d.host(), dir);
    c.args(args)
        .env("DOCKER_CONFIG", d.dir().join("docker-config"))
        .env("DOCKER_BUILDKIT", "0")
        .env("COMPOSE_BAKE", "false");
    Cmd::from_command(c).stdin(stdin).run()
}

/// What is compared of one command: its code, stdout, and stderr's lines in three parts,
/// the project name masked: before the convergence (the recreation), its container lines
/// as a set (compose stops and removes them in parallel) and its network and volume lines
/// in order; then the convergence's lines as a set (the services converge in parallel).
fn reading(o: &Output, proj: &str) -> String {
    let err = without_bake_warning(&o.stderr).replace(proj, "P");
    let lines: Vec<&str> = err.lines().collect();
    let cut = lines
        .iter()
        .position(|l| {
            l.ends_with(" Running")
                || l.ends_with(" Creating") && l.starts_with(" Container")
                || l.ends_with(" Starting")
        })
        .unwrap_or(lines.len());
    let (before, after) = lines.split_at(cut);
    let (mut containers, resources): (Vec<&str>, Vec<&str>) =
        before.iter().partition(|l| l.starts_with(" Container "));
    containers.sort_unstable();
    let mut rest = after.to_vec();
    rest.sort_unstable();
    format!(
        "{} {:?} {containers:?} {resources:?} {rest:?}",
        o.code,
        o.stdout.replace(proj, "P"),
    )
}

/// The lines of `o`'s stderr, the project name masked.
fn err_lines(o: &Output, proj: &str) -> Vec<String> {
    without_bake_warning(&o.stderr)
        .replace(proj, "P")
        .lines()
        .map(str::to_string)
        .collect()
}

/// `docker inspect -f FORMAT NAME` on the daemon, trimmed ("" when it fails).
fn inspect(d: &TestDaemon, kind: &str, name: &str, format: &str) -> String {
    d.docker([kind, "inspect", "-f", format, name])
        .run()
        .out()
        .trim()
        .to_string()
}

/// The volume's data, as container web sees it ("" when there is none).
fn data(d: &TestDaemon, proj: &str) -> String {
    d.docker(["exec", &format!("{proj}-web-1"), "cat", "/data/f"])
        .run()
        .out()
        .trim()
        .to_string()
}

/// A volume whose labels changed. No answer and `n` keep it (its data, the containers);
/// `Y` and `-y` recreate it empty with the new labels, and the container mounting it
/// (only that one) is created again. Both tools alike, the question included.
#[test]
fn compose_recreate_volume_on_config_change() {
    let mut g = NetGuard::new("bt-rc1");
    let d = watched_daemon(&mut g);
    let mut seen = Vec::new();
    let mut berth_y = Vec::new();
    for tool in TOOLS {
        let proj = tool.project("rcvol");
        let br = g.bridge();
        let write = |label: &str| {
            compose_yaml(
                &d,
                &proj,
                &format!(
                    "name: {proj}\nservices:\n  web:\n    image: busybox\n    command: sleep 600\n    stop_signal: SIGKILL\n    volumes: [data:/data]\n  solo:\n    image: busybox\n    command: sleep 600\n    stop_signal: SIGKILL\nvolumes:\n  data:\n    labels:\n      v: \"{label}\"\nnetworks:\n  default:\n    driver_opts:\n      com.docker.network.bridge.name: {br}\n"
                ),
            )
        };
        let dir = write("1");
        let vol = format!("{proj}_data");
        let (web, solo) = (format!("{proj}-web-1"), format!("{proj}-solo-1"));
        let id = |c: &str| inspect(&d, "container", c, "{{.Id}}");
        let label = || inspect(&d, "volume", &vol, "{{index .Labels \"v\"}}");
        run_compose(&d, tool, &dir, &["up", "-d"]).success();
        d.docker(["exec", &web, "sh", "-c", "echo kept > /data/f"])
            .run()
            .success();
        let (web0, solo0) = (id(&web), id(&solo));
        let mut got = Vec::new();
        write("2");
        // No answer (stdin closed), then `n`: kept.
        for (what, answer) in [("no answer", None), ("n", Some("n\n"))] {
            let o = match answer {
                None => run_compose(&d, tool, &dir, &["up", "-d"]),
                Some(a) => answering(&d, tool, &dir, &["up", "-d"], a),
            };
            assert_eq!(o.code, 0, "{tool:?} {what}: {}", o.stderr);
            assert_eq!(
                (data(&d, &proj), label(), id(&web)),
                ("kept".to_string(), "1".to_string(), web0.clone()),
                "{tool:?} {what}: the volume and its container are kept"
            );
            got.push(format!("up -d, {what}: {}", reading(&o, &proj)));
        }
        // `Y`: recreated, empty, with the new label; web is a new container, solo is not.
        let o = answering(&d, tool, &dir, &["up", "-d"], "Y\n");
        assert_eq!(o.code, 0, "{tool:?} Y: {}", o.stderr);
        assert_eq!(
            (data(&d, &proj), label()),
            (String::new(), "2".to_string()),
            "{tool:?} Y: the volume is new"
        );
        assert_ne!(id(&web), web0, "{tool:?} Y: web is recreated");
        assert_eq!(id(&solo), solo0, "{tool:?} Y: solo is kept");
        got.push(format!("up -d, Y: {}", reading(&o, &proj)));
        if tool == Tool::Berth {
            berth_y = err_lines(&o, &proj);
        }
        // `-y`: recreated without a question.
        d.docker(["exec", &web, "sh", "-c", "echo again > /data/f"])
            .run()
            .success();
        write("3");
        let o = run_compose(&d, tool, &dir, &["up", "-d", "-y"]);
        assert_eq!(o.code, 0, "{tool:?} -y: {}", o.stderr);
        assert_eq!(
            (data(&d, &proj), label()),
            (String::new(), "3".to_string()),
            "{tool:?} -y: the volume is new"
        );
        got.push(format!("up -d -y: {}", reading(&o, &proj)));
        // Nothing changed: nothing asked.
        let o = answering(&d, tool, &dir, &["up", "-d"], "Y\n");
        got.push(format!("up -d, unchanged: {}", reading(&o, &proj)));
        run_compose(&d, tool, &dir, &["down", "-v"]).success();
        assert!(project_left(&d, &proj).is_empty(), "{tool:?}");
        assert_eq!(inspect(&d, "volume", &vol, "{{.Name}}"), "", "{tool:?}");
        seen.push(got);
    }
    for (b, c) in seen[0].iter().zip(&seen[1]) {
        assert_eq!(b, c, "berth (left) and docker compose (right)");
    }
    let b = &seen[0];
    let question = "Volume \\\"P_data\\\" exists but doesn't match configuration in compose file. Recreate (data will be lost)?";
    for (i, asked) in [(0, true), (1, true), (2, true), (3, false), (4, false)] {
        assert_eq!(b[i].contains(question), asked, "{i}: {b:#?}");
    }
    // The recreation in compose's order, before the convergence.
    assert_eq!(
        berth_y[..6],
        [
            " Container P-web-1  Stopping",
            " Container P-web-1  Stopped",
            " Container P-web-1  Removing",
            " Container P-web-1  Removed",
            " Volume P_data  Creating",
            " Volume P_data  Created",
        ],
        "{berth_y:#?}"
    );
}

/// A network whose labels changed is recreated without a question: the containers on it
/// are stopped, disconnected, connected to the new network and started again (the same
/// containers); one not on it is left running. Both tools alike. compose connects them
/// without aliases, so the service name no longer resolves on the new network; berth
/// gives them their aliases back (a deliberate difference, asserted apart).
#[test]
fn compose_recreate_network_on_config_change() {
    let mut g = NetGuard::new("bt-rc2");
    let d = watched_daemon(&mut g);
    let mut seen = Vec::new();
    let mut resolves = Vec::new();
    for tool in TOOLS {
        let proj = tool.project("rcnet");
        let (br, br2) = (g.bridge(), g.bridge());
        let write = |label: &str| {
            compose_yaml(
                &d,
                &proj,
                &format!(
                    "name: {proj}\nservices:\n  web:\n    image: busybox\n    command: sleep 600\n    stop_signal: SIGKILL\n    networks: [default, other]\n  side:\n    image: busybox\n    command: sleep 600\n    stop_signal: SIGKILL\n    networks: [other]\n  solo:\n    image: busybox\n    command: sleep 600\n    stop_signal: SIGKILL\nnetworks:\n  default:\n    driver_opts:\n      com.docker.network.bridge.name: {br}\n  other:\n    labels:\n      n: \"{label}\"\n    driver_opts:\n      com.docker.network.bridge.name: {br2}\n"
                ),
            )
        };
        let dir = write("1");
        let net = format!("{proj}_other");
        let id = |c: &str| inspect(&d, "container", &format!("{proj}-{c}-1"), "{{.Id}}");
        let started = |c: &str| {
            inspect(
                &d,
                "container",
                &format!("{proj}-{c}-1"),
                "{{.State.StartedAt}}",
            )
        };
        run_compose(&d, tool, &dir, &["up", "-d"]).success();
        let net0 = inspect(&d, "network", &net, "{{.Id}}");
        let ids0 = (id("web"), id("side"), id("solo"));
        let (web_started, solo_started) = (started("web"), started("solo"));
        write("2");
        let o = run_compose(&d, tool, &dir, &["up", "-d"]);
        assert_eq!(o.code, 0, "{tool:?}: {}", o.stderr);
        let net1 = inspect(&d, "network", &net, "{{.Id}} {{index .Labels \"n\"}}");
        assert!(
            !net1.starts_with(&net0) && net1.ends_with(" 2"),
            "{tool:?}: a new network: {net0} -> {net1}"
        );
        assert_eq!(
            (id("web"), id("side"), id("solo")),
            ids0,
            "{tool:?}: the same containers"
        );
        assert_ne!(started("web"), web_started, "{tool:?}: web restarted");
        assert_eq!(started("solo"), solo_started, "{tool:?}: solo untouched");
        let members = inspect(
            &d,
            "network",
            &net,
            "{{range .Containers}}{{.Name}} {{end}}",
        );
        let mut members: Vec<&str> = members.split_whitespace().collect();
        members.sort_unstable();
        assert_eq!(
            members,
            [format!("{proj}-side-1"), format!("{proj}-web-1")],
            "{tool:?}"
        );
        seen.push(reading(&o, &proj));
        // side is only on `other`: does web's service name resolve there?
        let look = d
            .docker([
                "exec",
                &format!("{proj}-side-1"),
                "nslookup",
                "web",
                "127.0.0.11",
            ])
            .run();
        resolves.push(look.code == 0);
        run_compose(&d, tool, &dir, &["down"]).success();
        assert!(project_left(&d, &proj).is_empty(), "{tool:?}");
    }
    assert_eq!(seen[0], seen[1], "berth (left) and docker compose (right)");
    assert!(
        seen[0].starts_with("0 \"\" [\" Container P-side-1  Stopped\", \" Container P-side-1  Stopping\", \" Container P-web-1  Stopped\", \" Container P-web-1  Stopping\"] [\" Network P_other  Removed\", \" Network P_other  Creating\", \" Network P_other  Created\"]"),
        "{:?}",
        seen[0]
    );
    assert_eq!(
        resolves,
        [true, false],
        "berth keeps the aliases, compose drops them"
    );
}
