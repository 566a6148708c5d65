//! What berth's own CLI prints for swarm objects, compared byte for byte with the docker
//! CLI on the same berth daemon (prefix `swarm_cli_`): `service logs` with each of its
//! options (the `NAME.SLOT.TASKID@NODE    | ` prefix, its padding to the replica count,
//! `--raw`, `-f`), `node inspect --pretty`, and the errors for unknown services and nodes.

use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::time::Duration;

use berth_tests::swarm;
use berth_tests::{eventually, Client, Output, TestDaemon};

fn run(d: &TestDaemon, c: Client, args: &[&str]) -> Output {
    d.run(c, args)
}

/// The lines of a stream sorted: the tasks' logs are merged as they come, so two calls
/// may interleave the tasks differently.
fn sorted(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.lines().map(str::to_string).collect();
    v.sort();
    v
}

/// Runs `args` through both CLIs and asserts the same exit code and output.
fn same(d: &TestDaemon, args: &[&str], sort: bool) -> Output {
    let docker = run(d, Client::Docker, args);
    let berth = run(d, Client::Berth, args);
    let view = |o: &Output| {
        if sort {
            (o.code, sorted(&o.stdout), sorted(&o.stderr))
        } else {
            (
                o.code,
                o.stdout.lines().map(str::to_string).collect(),
                o.stderr.lines().map(str::to_string).collect(),
            )
        }
    };
    assert_eq!(view(&berth), view(&docker), "{args:?}");
    assert_eq!(berth.stdout.len(), docker.stdout.len(), "{args:?}");
    berth
}

/// The running task of `service`'s slot `slot`: its full id.
fn task_of(d: &TestDaemon, service: &str, slot: u32) -> String {
    run(
        d,
        Client::Docker,
        &[
            "service",
            "ps",
            "--no-trunc",
            "--filter",
            "desired-state=running",
            "--format",
            "{{.ID}} {{.Name}}",
            service,
        ],
    )
    .success()
    .lines()
    .iter()
    .find_map(|l| {
        let (id, name) = l.split_once(' ')?;
        (name == format!("{service}.{slot}")).then(|| id.to_string())
    })
    .unwrap_or_else(|| panic!("no running task {service}.{slot}"))
}

#[test]
fn swarm_cli_service_logs_print_what_docker_prints() {
    let d = TestDaemon::start();
    swarm::init(&d, Client::Berth);
    let script = "echo out-line; echo err-line >&2; exec sleep 100000";
    for (name, replicas) in [("lg", "2"), ("lg10", "10")] {
        run(
            &d,
            Client::Berth,
            &[
                "service",
                "create",
                "-d",
                "--name",
                name,
                "--replicas",
                replicas,
                "busybox",
                "sh",
                "-c",
                script,
            ],
        )
        .success();
    }
    run(
        &d,
        Client::Berth,
        &[
            "service",
            "create",
            "-d",
            "-t",
            "--name",
            "tt",
            "busybox",
            "sh",
            "-c",
            "echo tty-line; exec sleep 100000",
        ],
    )
    .success();
    let raw_count = |service: &str| {
        run(&d, Client::Docker, &["service", "logs", "--raw", service])
            .stdout
            .matches("out-line")
            .count()
    };
    assert!(eventually(90, || raw_count("lg") == 2 && raw_count("lg10") == 10));
    assert!(eventually(30, || run(
        &d,
        Client::Docker,
        &["service", "logs", "--raw", "tt"]
    )
    .stdout
    .contains("tty-line")));

    // The prefix, as docker prints it: NAME.SLOT.TASKID@NODE, the slot padded to the
    // width of the replica count, then "    | ".
    let host = run(
        &d,
        Client::Docker,
        &[
            "node",
            "inspect",
            "--format",
            "{{.Description.Hostname}}",
            "self",
        ],
    )
    .success()
    .out();
    let t1 = task_of(&d, "lg", 1);
    let out = run(&d, Client::Berth, &["service", "logs", "lg"])
        .success()
        .stdout
        .clone();
    assert!(
        out.lines()
            .any(|l| l == format!("lg.1.{}@{host}    | out-line", &t1[..12])),
        "{out}"
    );
    let t10 = task_of(&d, "lg10", 1);
    let out = run(&d, Client::Berth, &["service", "logs", "lg10"])
        .success()
        .stdout
        .clone();
    assert!(
        out.lines()
            .any(|l| l == format!("lg10.1.{}@{host}     | out-line", &t10[..12])),
        "{out}"
    );
    // --raw: the lines alone, each on its stream.
    let raw = run(&d, Client::Berth, &["service", "logs", "--raw", "lg"])
        .success()
        .clone();
    assert_eq!(sorted(&raw.stdout), ["out-line", "out-line"]);
    assert_eq!(sorted(&raw.stderr), ["err-line", "err-line"]);

    // Both CLIs print the same bytes for every option.
    let variants: Vec<Vec<&str>> = vec![
        vec!["lg"],
        vec!["lg10"],
        vec!["--raw", "lg"],
        vec!["--no-task-ids", "lg"],
        vec!["--no-trunc", "lg"],
        vec!["--no-resolve", "lg"],
        vec!["--no-resolve", "--no-trunc", "--no-task-ids", "lg10"],
        vec!["-t", "lg"],
        vec!["--timestamps", "--raw", "lg"],
        vec!["--details", "lg"],
        vec!["--raw", "--details", "lg"],
        vec!["--tail", "1", "lg"],
        vec!["-n", "0", "lg"],
        vec!["--since", "1h", "lg"],
        vec!["--since", "2000-01-01T00:00:00Z", "lg10"],
        vec![&t1],
        vec!["--raw", "tt"],
    ];
    for v in variants {
        let mut args = vec!["service", "logs"];
        args.extend(v);
        let o = same(&d, &args, true);
        assert_eq!(o.code, 0, "{args:?}: {}", o.stderr);
    }
    // A task's logs: only that task's lines.
    let o = run(&d, Client::Berth, &["service", "logs", &t1])
        .success()
        .clone();
    assert_eq!(o.stdout.lines().count(), 1, "{}", o.stdout);
    // --tail 1 of a service: the last line of each task.
    let o = run(
        &d,
        Client::Berth,
        &["service", "logs", "--tail", "1", "lg10"],
    )
    .clone();
    assert_eq!(o.stdout.lines().count() + o.stderr.lines().count(), 10);
    // -t: an RFC 3339 timestamp before the prefix.
    let o = run(&d, Client::Berth, &["service", "logs", "-t", "lg"]).clone();
    assert!(
        o.stdout
            .lines()
            .all(|l| l.as_bytes().get(4) == Some(&b'-') && l.contains(" lg.") && l.contains('T')),
        "{}",
        o.stdout
    );

    // Errors, with docker's words and code.
    for args in [
        vec!["service", "logs", "nope"],
        vec!["service", "logs", "tt"],
        vec!["service", "logs", "--since", "bad", "lg"],
    ] {
        let o = same(&d, &args, false);
        assert_eq!(o.code, 1, "{args:?}");
    }
    run(&d, Client::Berth, &["service", "logs", "nope"])
        .failure()
        .stderr_contains("no such task or service: nope");
    run(&d, Client::Berth, &["service", "logs", "tt"])
        .failure()
        .stderr_contains("tty service logs only supported with --raw");
    run(&d, Client::Berth, &["service", "logs"])
        .failure()
        .stderr_contains("'berth service logs' requires 1 argument");

    // -f: a line written after the call appears; the process is then ended.
    let container = run(
        &d,
        Client::Docker,
        &[
            "ps",
            "-q",
            "--filter",
            "label=com.docker.swarm.service.name=lg",
            "--filter",
            &format!("label=com.docker.swarm.task.id={t1}"),
        ],
    )
    .success()
    .out();
    assert!(!container.is_empty());
    for c in Client::BOTH {
        let mut child = d.cli(c, ["service", "logs", "-f", "lg"]).spawn();
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        // The old lines come first.
        let first = rx
            .recv_timeout(Duration::from_secs(30))
            .expect("first line");
        assert!(first.ends_with("| out-line"), "{c:?}: {first}");
        let late = format!("late-{}", c.name());
        run(
            &d,
            Client::Docker,
            &[
                "exec",
                &container,
                "sh",
                "-c",
                &format!("echo {late} > /proc/1/fd/1"),
            ],
        )
        .success();
        let want = format!("lg.1.{}@{host}    | {late}", &t1[..12]);
        let deadline = std::time::Instant::now() + Duration::from_secs(30);
        let mut seen = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            match rx.recv_timeout(left) {
                Ok(l) if l == want => break,
                Ok(l) => seen.push(l),
                Err(_) => panic!("{c:?}: {want:?} not followed; saw {seen:?}"),
            }
        }
        // Still following: the process has not ended by itself.
        assert!(child.try_wait().expect("try_wait").is_none(), "{c:?}");
        let _ = child.kill();
        let _ = child.wait();
    }

    run(&d, Client::Docker, &["service", "rm", "lg", "lg10", "tt"]).success();
    run(&d, Client::Docker, &["swarm", "leave", "--force"]).success();
}

#[test]
fn swarm_cli_node_inspect_pretty_and_unknown_objects_as_docker() {
    let d = TestDaemon::start();
    swarm::init(&d, Client::Berth);
    let node = run(&d, Client::Docker, &["node", "ls", "-q"])
        .success()
        .out();
    // Labels (one without a value) and the node's own fields.
    run(
        &d,
        Client::Berth,
        &[
            "node",
            "update",
            "--label-add",
            "zone=a",
            "--label-add",
            "flag",
            &node,
        ],
    )
    .success();
    for (args, nodes) in [
        (vec!["node", "inspect", "--pretty", "self"], 1),
        (vec!["node", "inspect", "--pretty", &node, "self"], 2),
        // --pretty wins over --format, as docker's.
        (
            vec!["node", "inspect", "--pretty", "--format", "{{.ID}}", "self"],
            1,
        ),
    ] {
        let o = same(&d, &args, false);
        assert_eq!(o.code, 0, "{args:?}: {}", o.stderr);
        assert_eq!(
            o.stdout.matches("Manager Status:").count(),
            nodes,
            "{args:?}"
        );
    }
    let pretty = run(&d, Client::Berth, &["node", "inspect", "--pretty", "self"])
        .success()
        .stdout
        .clone();
    for want in [
        format!("ID:\t\t\t{node}\n"),
        "Labels:\n - flag\n - zone=a\n".to_string(),
        " State:\t\t\tReady\n".to_string(),
        " Address:\t\t127.0.0.1:2377\n".to_string(),
        " Leader:\t\tYes\n".to_string(),
        "TLS Info:\n TrustRoot:\n-----BEGIN CERTIFICATE-----\n".to_string(),
        " +0000 utc\n".to_string(),
    ] {
        assert!(pretty.contains(&want), "{want:?} in\n{pretty}");
    }
    assert!(!pretty.trim_start().starts_with('['), "{pretty}");

    // Unknown objects: the same words and code from both CLIs (nothing printed when one
    // of several is missing in the pretty forms).
    run(
        &d,
        Client::Berth,
        &[
            "service", "create", "-d", "--name", "web", "busybox", "sleep", "100000",
        ],
    )
    .success();
    run(
        &d,
        Client::Berth,
        &[
            "service", "create", "-d", "--name", "gl", "--mode", "global", "busybox", "sleep",
            "100000",
        ],
    )
    .success();
    for args in [
        vec!["service", "inspect", "nope"],
        vec!["service", "inspect", "web", "nope"],
        vec!["service", "inspect", "--pretty", "nope"],
        vec!["service", "inspect", "--pretty", "web", "nope"],
        vec!["service", "ps", "nope"],
        vec!["service", "rm", "nope"],
        vec!["service", "update", "-d", "--replicas", "2", "nope"],
        vec!["service", "rollback", "-d", "nope"],
        vec!["service", "scale", "-d", "nope=2"],
        vec!["service", "scale", "-d", "web=x", "nope=1", "gl=2"],
        vec!["node", "inspect", "nope"],
        vec!["node", "inspect", "--pretty", "nope"],
        vec!["node", "inspect", "--pretty", "self", "nope"],
        vec!["node", "ps", "nope"],
        vec!["node", "update", "--availability", "drain", "nope"],
    ] {
        let o = same(&d, &args, false);
        assert_eq!(o.code, 1, "{args:?}");
        assert!(
            !o.stderr.starts_with("Error: Error"),
            "{args:?}: {}",
            o.stderr
        );
    }
    run(&d, Client::Berth, &["service", "inspect", "nope"])
        .failure()
        .stderr_contains("Error: no such service: nope");
    run(
        &d,
        Client::Berth,
        &["service", "update", "-d", "--replicas", "2", "nope"],
    )
    .failure()
    .stderr_contains("Error response from daemon: service nope not found");

    run(&d, Client::Docker, &["service", "rm", "web", "gl"]).success();
    run(&d, Client::Docker, &["swarm", "leave", "--force"]).success();
}

#[test]
fn swarm_cli_init_listen_and_advertise_addresses_as_docker() {
    let d = TestDaemon::start_empty();
    let addr_of = |c: Client| {
        let status = run(
            &d,
            c,
            &[
                "node",
                "inspect",
                "self",
                "--format",
                "{{.ManagerStatus.Addr}}",
            ],
        )
        .success()
        .out();
        let info = run(
            &d,
            c,
            &[
                "info",
                "--format",
                "{{.Swarm.NodeAddr}} {{range .Swarm.RemoteManagers}}{{.Addr}}{{end}}",
            ],
        )
        .success()
        .out();
        (status, info)
    };
    for c in Client::BOTH {
        // The advertised address: its host (an IP or an interface's address), its port or
        // else the listen port; the listen address's host from 0.0.0.0 when left out.
        for (listen, advertise, want) in [
            ("127.0.0.1:4567", "127.0.0.1", "127.0.0.1:4567"),
            ("lo:4000", "lo", "127.0.0.1:4000"),
            ("0.0.0.0:4567", "127.0.0.1:4000", "127.0.0.1:4000"),
            (":4001", "127.0.0.1", "127.0.0.1:4001"),
            ("tcp://127.0.0.1:4002", "127.0.0.1", "127.0.0.1:4002"),
        ] {
            run(
                &d,
                c,
                &[
                    "swarm",
                    "init",
                    "--listen-addr",
                    listen,
                    "--advertise-addr",
                    advertise,
                ],
            )
            .success()
            .stdout_contains(&format!(" {want}\n"));
            assert_eq!(
                addr_of(c),
                (want.to_string(), format!("127.0.0.1 {want}")),
                "{c:?} {listen} {advertise}"
            );
            run(&d, c, &["swarm", "join-token", "worker"])
                .success()
                .stdout_contains(&format!(" {want}\n"));
            run(&d, c, &["swarm", "leave", "--force"]).success();
        }
    }
    // Bad values: the flag's own parse errors (docker's words, exit code 125) ...
    for bad in ["foo:bar", "unix:///x", "[::1"] {
        let args = [
            "swarm",
            "init",
            "--listen-addr",
            bad,
            "--advertise-addr",
            "127.0.0.1",
        ];
        let docker = run(&d, Client::Docker, &args);
        let berth = run(&d, Client::Berth, &args);
        assert_eq!(docker.code, 125, "{bad}: {}", docker.stderr);
        assert_eq!(
            (berth.code, berth.stderr.lines().next()),
            (docker.code, docker.stderr.lines().next()),
            "{bad}"
        );
        assert!(
            berth.stderr.starts_with(&format!(
                "invalid argument \"{bad}\" for \"--listen-addr\" flag: "
            )),
            "{}",
            berth.stderr
        );
    }
    // ... and the daemon's refusals (moby's words), the node still outside a swarm.
    for (listen, advertise, want) in [
        (
            "nosuchif0:2377",
            "127.0.0.1",
            "listen address must be an IP address or network interface (with optional port number)",
        ),
        (
            "0.0.0.0:2377",
            "0.0.0.0",
            "advertise address must be a non-zero IP address or network interface (with optional port number)",
        ),
        (
            "0.0.0.0:2377",
            "nosuchif0",
            "advertise address must be a non-zero IP address or network interface (with optional port number)",
        ),
    ] {
        let args = ["swarm", "init", "--listen-addr", listen, "--advertise-addr", advertise];
        for c in Client::BOTH {
            run(&d, c, &args)
                .failure()
                .stderr_contains(&format!("Error response from daemon: {want}"));
        }
        same(&d, &args, false);
        run(&d, Client::Docker, &["info", "--format", "{{.Swarm.LocalNodeState}}"])
            .success()
            .stdout_is("inactive\n");
    }
}

#[test]
fn swarm_cli_configs_file_options_labels_rollback_and_registry_auth() {
    let d = TestDaemon::start();
    swarm::init(&d, Client::Berth);
    // config create/ls/inspect through both CLIs, then the same listing from each.
    for c in Client::BOTH {
        let name = format!("{}-conf", c.name());
        d.cli(c, ["config", "create", "--label", "k=v", &name, "-"])
            .stdin("level=debug\n")
            .run()
            .success();
    }
    let ls = same(&d, &["config", "ls", "--format", "{{.Name}}"], true);
    assert_eq!(sorted(&ls.stdout), ["berth-conf", "docker-conf"]);
    same(
        &d,
        &[
            "config",
            "inspect",
            "--format",
            "{{.Spec.Name}} {{index .Spec.Labels \"k\"}}",
            "berth-conf",
            "docker-conf",
        ],
        false,
    )
    .success()
    .stdout_is("berth-conf v\ndocker-conf v\n");
    same(&d, &["config", "inspect", "nope"], false).failure();
    d.cli(Client::Berth, ["secret", "create", "sec", "-"])
        .stdin("pw")
        .run()
        .success();
    // Long syntax: target, uid, gid and mode of a config and a secret in the task.
    run(
        &d,
        Client::Berth,
        &[
            "service",
            "create",
            "-d",
            "--name",
            "files",
            "--config",
            "source=berth-conf,target=/etc/c.conf,uid=1000,gid=1001,mode=0400",
            "--secret",
            "source=sec,target=s1,uid=123,gid=456,mode=0440",
            "busybox",
            "sleep",
            "100000",
        ],
    )
    .success();
    let container = || {
        run(
            &d,
            Client::Docker,
            &[
                "ps",
                "-q",
                "--filter",
                "label=com.docker.swarm.service.name=files",
            ],
        )
        .out()
    };
    assert!(eventually(60, || !container().is_empty()));
    let id = container();
    run(
        &d,
        Client::Docker,
        &[
            "exec",
            &id,
            "stat",
            "-c",
            "%u %g %a",
            "/etc/c.conf",
            "/run/secrets/s1",
        ],
    )
    .success()
    .stdout_is("1000 1001 400\n123 456 440\n");
    run(
        &d,
        Client::Docker,
        &["exec", &id, "cat", "/etc/c.conf", "/run/secrets/s1"],
    )
    .success()
    .stdout_is("level=debug\npw");
    // A config in use is refused (same words from both CLIs); unused, it goes.
    same(&d, &["config", "rm", "berth-conf"], false)
        .failure()
        .stderr_contains("is in use by the following service: files");
    run(&d, Client::Berth, &["service", "rm", "files"]).success();
    assert!(eventually(30, || container().is_empty()));
    run(&d, Client::Berth, &["config", "rm", "berth-conf"])
        .success()
        .stdout_is("berth-conf\n");
    run(&d, Client::Docker, &["config", "rm", "docker-conf"]).success();
    run(&d, Client::Berth, &["config", "ls", "-q"])
        .success()
        .stdout_is("");

    // node update --label-rm: the label goes; a missing one is refused alike.
    let node = run(&d, Client::Docker, &["node", "ls", "-q"])
        .success()
        .out();
    for c in Client::BOTH {
        run(&d, c, &["node", "update", "--label-add", "zone=a", &node]).success();
        run(&d, c, &["node", "update", "--label-rm", "zone", &node]).success();
        run(
            &d,
            c,
            &[
                "node",
                "inspect",
                "--format",
                "{{len .Spec.Labels}}",
                "self",
            ],
        )
        .success()
        .stdout_is("0\n");
    }
    same(&d, &["node", "update", "--label-rm", "nope", &node], false)
        .failure()
        .stderr_contains("key nope doesn't exist in node's labels");

    // service update --rollback returns to the previous spec.
    for c in Client::BOTH {
        let name = format!("{}-rb", c.name());
        run(
            &d,
            c,
            &[
                "service", "create", "-d", "--name", &name, "--env", "A=1", "busybox", "sleep",
                "100000",
            ],
        )
        .success();
        run(
            &d,
            c,
            &["service", "update", "-d", "--env-add", "A=2", &name],
        )
        .success();
        let env = || {
            run(
                &d,
                c,
                &[
                    "service",
                    "inspect",
                    "--format",
                    "{{.Spec.TaskTemplate.ContainerSpec.Env}}",
                    &name,
                ],
            )
            .success()
            .out()
        };
        assert_eq!(env(), "[A=2]");
        run(&d, c, &["service", "update", "-d", "--rollback", &name]).success();
        assert_eq!(env(), "[A=1]", "{c:?}");
        run(&d, c, &["service", "rm", &name]).success();
    }

    // stack deploy --with-registry-auth (the CLI sends its registry credentials along).
    let file = d.dir.join("stack.yml");
    std::fs::write(
        &file,
        "services:\n  app:\n    image: busybox\n    command: sleep 100000\n",
    )
    .expect("write stack file");
    for c in Client::BOTH {
        let stack = format!("{}st", c.name());
        run(
            &d,
            c,
            &[
                "stack",
                "deploy",
                "--with-registry-auth",
                "-c",
                &file.to_string_lossy(),
                &stack,
            ],
        )
        .success();
        run(
            &d,
            c,
            &["stack", "services", "--format", "{{.Name}}", &stack],
        )
        .success()
        .stdout_is(&format!("{stack}_app\n"));
        run(&d, c, &["stack", "rm", &stack]).success();
    }
    run(&d, Client::Docker, &["swarm", "leave", "--force"]).success();
}

/// The "Swarm:" section of `info`'s text, up to the next top-level line.
fn swarm_section(info: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for l in info.lines() {
        if l.starts_with(" Swarm:") {
            inside = true;
        } else if inside && !l.starts_with("  ") {
            break;
        }
        if inside {
            out.push(l.to_string());
        }
    }
    out
}

#[test]
fn swarm_cli_info_shows_the_swarm_as_docker() {
    let d = TestDaemon::start_empty();
    run(
        &d,
        Client::Berth,
        &[
            "swarm",
            "init",
            "--advertise-addr",
            "127.0.0.1",
            "--task-history-limit",
            "3",
        ],
    )
    .success();
    let node = run(&d, Client::Docker, &["node", "ls", "-q"])
        .success()
        .out();
    let docker = swarm_section(&run(&d, Client::Docker, &["info"]).success().stdout);
    for want in [
        " Swarm: active".to_string(),
        format!("  NodeID: {node}"),
        "  Is Manager: true".to_string(),
        "  Managers: 1".to_string(),
        "  Nodes: 1".to_string(),
        "   Task History Retention Limit: 3".to_string(),
        "  Node Address: 127.0.0.1".to_string(),
        "   127.0.0.1:2377".to_string(),
    ] {
        assert!(docker.contains(&want), "{want:?} in {docker:#?}");
    }
    let berth = swarm_section(&run(&d, Client::Berth, &["info"]).success().stdout);
    assert_eq!(berth, docker);
    run(&d, Client::Docker, &["swarm", "leave", "--force"]).success();
}
