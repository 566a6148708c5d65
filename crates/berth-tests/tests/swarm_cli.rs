//! What berth's own CLI prints for swarm objects, compared byte for byte with the docker
//! CLI on the same berth daemon (prefix `swarm_cli_`): `service logs` with each of its
//! options (the `NAME.SLOT.TASKID@NODE    | ` prefix, its padding to the replica count,
//! `--raw`, `-f`), `node inspect --pretty`, and the errors for unknown services and nodes.

use std::io::{BufRead, BufReader};
use std::sync::mpsc;
use std::time::Duration;

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
    run(
        &d,
        Client::Berth,
        &["swarm", "init", "--advertise-addr", "127.0.0.1"],
    )
    .success();
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
    run(
        &d,
        Client::Berth,
        &["swarm", "init", "--advertise-addr", "127.0.0.1"],
    )
    .success();
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
