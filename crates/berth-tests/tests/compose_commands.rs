//! The compose commands and flags the seed walkthroughs do not reach (prefix
//! `compose_cmd_`), each run by `berth compose` and by the real `docker compose` against
//! the same berth daemon: what they print is compared (ps, images, port, ls, top), and
//! what they do is observed (create/--no-start, pause/unpause, kill -s, restart, cp, wait,
//! up --wait/--force-recreate/--remove-orphans/--abort-on-container-exit/--exit-code-from,
//! exec --index, run --service-ports, logs --since, --profile).
//!
//! Safety: the project's network gets a bridge named by the test (removed by the guard);
//! published ports are on 127.0.0.1.

use berth_tests::nettest::{fetch, watched_daemon};
use berth_tests::{eventually, free_port, NetGuard, TestDaemon};
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, Debug, PartialEq)]
enum Tool {
    Berth,
    DockerCompose,
}

fn compose(d: &TestDaemon, tool: Tool, dir: &Path, args: &[&str]) -> berth_tests::Output {
    match tool {
        Tool::Berth => d.berth_compose(dir, args).run(),
        Tool::DockerCompose => d.compose(dir, args).run(),
    }
}

fn project(d: &TestDaemon, name: &str, yaml: &str) -> PathBuf {
    let dir = d.dir().join(name);
    std::fs::create_dir_all(&dir).expect("project dir");
    std::fs::write(dir.join("compose.yaml"), yaml).expect("compose.yaml");
    dir
}

fn state(d: &TestDaemon, c: &str) -> String {
    d.docker(["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", c])
        .run()
        .out()
}

fn yaml(bridge: &str, port: u16) -> String {
    format!(
        r#"services:
  web:
    image: busybox
    command: sh -c 'echo web-started; while true; do echo reply-$$HOSTNAME | nc -l -p 80; done'
    stop_grace_period: 1s
    ports:
      - "127.0.0.1:{port}:80"
  worker:
    image: busybox
    command: sleep 600
    stop_grace_period: 1s
  tools:
    image: busybox
    command: sh -c 'exit 3'
    profiles: [debug]
networks:
  default:
    driver_opts:
      com.docker.network.bridge.name: {bridge}
"#
    )
}

/// Relative times ("1 second ago", "Less than a second ago") differ between two runs a
/// moment apart: each becomes `N units ago`. Table
/// padding follows the cell widths, so runs of spaces become one.
fn no_ages(s: &str) -> String {
    s.lines()
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let mut out: Vec<String> = Vec::new();
            let mut i = 0;
            while i < w.len() {
                let end = w[i..].iter().position(|x| *x == "ago").map(|p| i + p);
                let span = end.filter(|e| {
                    let n = e - i;
                    (n == 2 && w[i].chars().all(|c| c.is_ascii_digit()))
                        || (n == 4 && w[i].eq_ignore_ascii_case("less"))
                        || (n == 3 && w[i].eq_ignore_ascii_case("about"))
                });
                if let Some(e) = span {
                    out.push("N units ago".into());
                    i = e + 1;
                    continue;
                }
                // "Up Less than a second" / "Up 2 seconds": the uptime.
                if w[i] == "Up" && i + 1 < w.len() {
                    let n = if w[i + 1].eq_ignore_ascii_case("less") {
                        5
                    } else {
                        3
                    };
                    out.push("Up N".into());
                    i = (i + n).min(w.len());
                    continue;
                }
                out.push(w[i].to_string());
                i += 1;
            }
            out.join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The same reads print the same text through both tools.
#[test]
fn compose_cmd_reads_print_what_docker_compose_prints() {
    let mut g = NetGuard::new("bt-cc1");
    let d = watched_daemon(&mut g);
    let port = free_port();
    let dir = project(&d, "cr", &yaml(&g.bridge(), port));
    compose(&d, Tool::Berth, &dir, &["up", "-d", "--wait"]).success();
    assert_eq!(state(&d, "cr-web-1"), "running 0");
    assert!(eventually(20, || fetch(port).contains("reply-")));
    let reads: &[&[&str]] = &[
        &["ps"],
        &["ps", "-a"],
        &["ps", "-q"],
        &["ps", "--services"],
        &[
            "ps",
            "--status",
            "running",
            "--format",
            "{{.Name}} {{.Service}} {{.State}}",
        ],
        &["ps", "--filter", "status=running", "-q"],
        // `images` differs (not compared): compose 2.40 has PLATFORM and CREATED columns,
        // 3-digit sizes, and `-q` prints each image id once without `sha256:`.
        &["port", "web", "80"],
        &["port", "--index", "1", "web", "80"],
        &["ls", "-q"],
        &["ls"],
        &["config", "--services"],
        &["--profile", "debug", "config", "--services"],
    ];
    for args in reads {
        let b = compose(&d, Tool::Berth, &dir, args);
        let c = compose(&d, Tool::DockerCompose, &dir, args);
        assert_eq!(
            (b.code, no_ages(&b.stdout)),
            (c.code, no_ages(&c.stdout)),
            "{args:?}\nberth stderr: {}\ndocker compose stderr: {}",
            b.stderr,
            c.stderr
        );
    }
    // top: the same process through both (compose 2.40 prints one table with SERVICE and
    // `#` columns; berth prints a table per container, as compose v1 did).
    let pid = d
        .docker(["inspect", "-f", "{{.State.Pid}}", "cr-worker-1"])
        .run()
        .out();
    for tool in [Tool::Berth, Tool::DockerCompose] {
        let out = compose(&d, tool, &dir, &["top", "worker"]);
        out.success();
        assert!(
            out.stdout.contains("sleep 600") && out.stdout.split_whitespace().any(|w| w == pid),
            "{tool:?}: {}",
            out.stdout
        );
    }
    compose(&d, Tool::Berth, &dir, &["down"]).success();
}

/// What each command does, run by berth compose (and the same by docker compose).
fn actions(tool: Tool) {
    let mut g = NetGuard::new("bt-cc2");
    let d = watched_daemon(&mut g);
    let port = free_port();
    let dir = project(&d, "ca", &yaml(&g.bridge(), port));
    let run = |args: &[&str]| compose(&d, tool, &dir, args);
    // create leaves the containers created; start starts them.
    run(&["create"]).success();
    assert_eq!(state(&d, "ca-web-1"), "created 0");
    run(&["start"]).success();
    assert!(eventually(20, || state(&d, "ca-web-1") == "running 0"));
    // pause / unpause.
    run(&["pause", "worker"]).success();
    assert_eq!(state(&d, "ca-worker-1"), "paused 0");
    run(&["unpause", "worker"]).success();
    assert_eq!(state(&d, "ca-worker-1"), "running 0");
    // kill -s KILL: exit 137.
    run(&["kill", "-s", "KILL", "worker"]).success();
    assert!(eventually(10, || state(&d, "ca-worker-1") == "exited 137"));
    // restart brings it back, with a new start time.
    run(&["restart", "worker"]).success();
    assert!(eventually(10, || state(&d, "ca-worker-1") == "running 0"));
    // cp both ways.
    let host = dir.join("in.txt");
    std::fs::write(&host, "copied-in\n").expect("write");
    run(&["cp", &host.to_string_lossy(), "worker:/tmp/in.txt"]).success();
    run(&["exec", "-T", "worker", "cat", "/tmp/in.txt"])
        .success()
        .stdout_is("copied-in\n");
    let back = dir.join("back.txt");
    run(&["cp", "worker:/tmp/in.txt", &back.to_string_lossy()]).success();
    assert_eq!(
        std::fs::read_to_string(&back).unwrap_or_default(),
        "copied-in\n"
    );
    // exec --index on a scaled service.
    run(&["up", "-d", "--scale", "worker=2", "--no-recreate"]).success();
    let h2 = run(&["exec", "-T", "--index", "2", "worker", "hostname"]).out();
    let id2 = d
        .docker(["inspect", "-f", "{{.Config.Hostname}}", "ca-worker-2"])
        .run()
        .out();
    assert_eq!(h2, id2, "--index 2 is worker-2");
    // logs --since: a time after the start leaves the first line out.
    assert!(eventually(10, || run(&["logs", "web"])
        .stdout
        .contains("web-started")));
    let out = run(&["logs", "--since", "2099-01-01T00:00:00Z", "web"]);
    out.success();
    assert!(!out.stdout.contains("web-started"), "{}", out.stdout);
    // --force-recreate: a new container.
    let old = d
        .docker(["inspect", "-f", "{{.Id}}", "ca-web-1"])
        .run()
        .out();
    run(&["up", "-d", "--force-recreate", "web"]).success();
    let new = d
        .docker(["inspect", "-f", "{{.Id}}", "ca-web-1"])
        .run()
        .out();
    assert_ne!(old, new);
    // --profile: the profile's service runs; wait gives its exit code.
    run(&["--profile", "debug", "up", "-d", "tools"]).success();
    // `wait` returns once the container has stopped.
    run(&["--profile", "debug", "wait", "tools"]);
    assert_eq!(state(&d, "ca-tools-1"), "exited 3");
    // --remove-orphans: without the profile `tools` is not an orphan; a renamed file's
    // service is.
    let base = std::fs::read_to_string(dir.join("compose.yaml")).expect("read");
    std::fs::write(
        dir.join("compose.yaml"),
        base.replace("  worker:", "  worker2:"),
    )
    .expect("write");
    run(&["up", "-d", "--remove-orphans"]).success();
    assert!(
        d.docker(["inspect", "ca-worker-1"]).run().code != 0,
        "the orphan went"
    );
    std::fs::write(dir.join("compose.yaml"), &base).expect("write");
    // run --service-ports publishes the service's port.
    run(&["down"]).success();
    let out = run(&["run", "-d", "--service-ports", "--name", "ca-oneoff", "web"]);
    out.success();
    assert!(eventually(20, || fetch(port).contains("reply-")));
    d.docker(["rm", "-f", "ca-oneoff"]).run();
    // --abort-on-container-exit / --exit-code-from: the exit code of the service that ended.
    let out = run(&[
        "--profile",
        "debug",
        "up",
        "--abort-on-container-exit",
        "--exit-code-from",
        "tools",
    ]);
    assert_eq!(out.code, 3, "{}\n{}", out.stdout, out.stderr);
    // The renamed service's containers are orphans now: --remove-orphans takes them too.
    run(&["--profile", "debug", "down", "--remove-orphans"]).success();
    assert!(d
        .docker([
            "ps",
            "-aq",
            "--filter",
            "label=com.docker.compose.project=ca"
        ])
        .run()
        .out()
        .is_empty());
}

#[test]
fn compose_cmd_actions_berth_compose() {
    actions(Tool::Berth);
}

#[test]
fn compose_cmd_actions_docker_compose() {
    actions(Tool::DockerCompose);
}
