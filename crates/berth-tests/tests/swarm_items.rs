//! Swarm items of the issue not covered by the walkthroughs (prefix `swarm_items_`):
//! the service flags (mounts, resources, health, entrypoint/user/workdir, hostname
//! templates, restart/update/rollback policies, placement) give the same spec whether
//! berth's CLI or the docker CLI sends them, and what the two CLIs print for the same
//! objects (`service inspect --pretty`, `service ls/ps`, `service logs` and its options,
//! `node ls/inspect --pretty`) is the same text; the service modes (global, jobs); node
//! availability drain/pause/active; secret rotation by `service update --secret-rm
//! --secret-add`; an invalid update config; `swarm update --task-history-limit`.

use berth_tests::swarm::{init, replicas, running_of};
use berth_tests::{eventually, Client, TestDaemon};

fn run(d: &TestDaemon, c: Client, args: &[&str]) -> berth_tests::Output {
    d.run(c, args)
}

/// Relative times ("5 seconds ago") differ between two runs a moment apart.
fn no_ages(s: &str) -> String {
    s.lines()
        .map(|l| {
            let mut out = Vec::new();
            let words: Vec<&str> = l.split(' ').collect();
            let mut i = 0;
            while i < words.len() {
                if i + 2 < words.len()
                    && words[i + 2] == "ago"
                    && words[i].chars().all(|c| c.is_ascii_digit())
                {
                    out.push("N");
                    out.push("units");
                    out.push("ago");
                    i += 3;
                    continue;
                }
                if i + 2 < words.len() && words[i] == "About" && words[i + 2] == "ago" {
                    out.push("N");
                    out.push("units");
                    out.push("ago");
                    i += 3;
                    continue;
                }
                out.push(words[i]);
                i += 1;
            }
            out.join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The flags of the issue's `service create` list that the other tests do not send.
fn option_flags(hostname: &str) -> Vec<String> {
    [
        "--replicas",
        "1",
        "--env",
        "A=1",
        "--label",
        "sl=1",
        "--container-label",
        "cl=2",
        "--mount",
        "type=volume,source=optvol,target=/data",
        "--mount",
        "type=tmpfs,target=/scratch",
        "--limit-memory",
        "64M",
        "--reserve-memory",
        "16M",
        "--limit-cpu",
        "0.5",
        "--reserve-cpu",
        "0.1",
        "--health-cmd",
        "true",
        "--health-interval",
        "1s",
        "--health-retries",
        "2",
        "--health-timeout",
        "2s",
        "--health-start-period",
        "1s",
        "--entrypoint",
        "sh",
        "--user",
        "1000:1000",
        "--workdir",
        "/tmp",
        "--hostname",
        hostname,
        "--restart-condition",
        "on-failure",
        "--restart-delay",
        "1s",
        "--restart-max-attempts",
        "3",
        "--restart-window",
        "10s",
        "--update-parallelism",
        "2",
        "--update-delay",
        "1s",
        "--update-order",
        "start-first",
        "--update-monitor",
        "2s",
        "--update-max-failure-ratio",
        "0.5",
        "--update-failure-action",
        "continue",
        "--rollback-parallelism",
        "2",
        "--rollback-delay",
        "1s",
        "--rollback-order",
        "start-first",
        "--rollback-monitor",
        "1s",
        "--rollback-max-failure-ratio",
        "0.2",
        "--rollback-failure-action",
        "continue",
        "--placement-pref",
        "spread=node.labels.zone",
        "--constraint",
        "node.role==manager",
        "--stop-grace-period",
        "1s",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect()
}

fn create_opts(d: &TestDaemon, c: Client, name: &str) {
    let hostname = format!("{name}-{{{{.Task.Slot}}}}");
    let mut args: Vec<String> = vec![
        "service".into(),
        "create".into(),
        "-d".into(),
        "--name".into(),
        name.into(),
    ];
    args.extend(option_flags(&hostname));
    args.extend(
        [
            "busybox",
            "-c",
            "echo first-line; echo hello-from-opts; exec sleep 100000",
        ]
        .iter()
        .map(|s| s.to_string()),
    );
    let a: Vec<&str> = args.iter().map(String::as_str).collect();
    run(d, c, &a).success();
}

#[test]
fn swarm_items_service_options_and_both_clis_agree() {
    let d = TestDaemon::start();
    init(&d, Client::Docker);
    create_opts(&d, Client::Docker, "optd");
    create_opts(&d, Client::Berth, "optb");
    // The same flags give the same spec through either CLI.
    let spec = |name: &str| {
        run(
            &d,
            Client::Docker,
            &["service", "inspect", "--format", "{{json .Spec}}", name],
        )
        .success()
        .out()
        .replace(name, "NAME")
    };
    assert_eq!(spec("optd"), spec("optb"));
    assert!(eventually(60, || running_of(&d, "optd").len() == 1
        && running_of(&d, "optb").len() == 1));
    // What the task's container got.
    let cid = running_of(&d, "optd").remove(0);
    run(
        &d,
        Client::Docker,
        &[
            "inspect",
            "--format",
            "{{json .Config.Entrypoint}} {{.Config.User}} {{.Config.WorkingDir}} {{.Config.Hostname}} {{index .Config.Labels \"cl\"}} {{.HostConfig.Memory}} {{.HostConfig.NanoCpus}} {{json .Config.Healthcheck.Test}}",
            &cid,
        ],
    )
    .success()
    .stdout_is("[\"sh\"] 1000:1000 /tmp optd-1 2 67108864 500000000 [\"CMD-SHELL\",\"true\"]\n");
    run(&d, Client::Docker, &["exec", &cid, "env"])
        .success()
        .stdout_contains("A=1");
    run(&d, Client::Docker, &["exec", &cid, "cat", "/proc/mounts"])
        .success()
        .stdout_contains("tmpfs /scratch tmpfs");
    run(
        &d,
        Client::Docker,
        &["volume", "ls", "--format", "{{.Name}}"],
    )
    .success()
    .stdout_contains("optvol");
    assert!(
        eventually(30, || run(
            &d,
            Client::Docker,
            &["inspect", "--format", "{{.State.Health.Status}}", &cid]
        )
        .out()
            == "healthy"),
        "health"
    );
    run(
        &d,
        Client::Docker,
        &[
            "service",
            "inspect",
            "optd",
            "--format",
            "{{.Spec.UpdateConfig.Order}} {{.Spec.UpdateConfig.FailureAction}} {{.Spec.RollbackConfig.Parallelism}} {{.Spec.RollbackConfig.Order}} {{.Spec.TaskTemplate.RestartPolicy.Condition}} {{.Spec.TaskTemplate.Resources.Reservations.MemoryBytes}} {{(index .Spec.TaskTemplate.Placement.Preferences 0).Spread.SpreadDescriptor}} {{index .Spec.Labels \"sl\"}}",
        ],
    )
    .success()
    .stdout_is("start-first continue 2 start-first on-failure 16777216 node.labels.zone 1\n");
    // The task's output reaches `service logs`.
    assert!(eventually(30, || run(
        &d,
        Client::Docker,
        &["service", "logs", "--raw", "optd"]
    )
    .out()
    .contains("hello-from-opts")));
    // Both CLIs print the same text for the same objects (`service logs` and
    // `node inspect --pretty` through both CLIs: swarm_cli.rs).
    let node = run(&d, Client::Docker, &["node", "ls", "-q"])
        .success()
        .out();
    let reads: Vec<Vec<&str>> = vec![
        vec!["service", "inspect", "--pretty", "optd"],
        vec!["service", "ls"],
        vec!["service", "ps", "--no-trunc", "optd"],
        vec![
            "service",
            "ps",
            "optd",
            "--format",
            "{{.Name}} {{.Node}} {{.DesiredState}}",
        ],
        vec!["node", "ls"],
        vec!["node", "ps", &node],
    ];
    for args in reads {
        let docker = run(&d, Client::Docker, &args);
        let berth = run(&d, Client::Berth, &args);
        assert_eq!(
            (docker.code, no_ages(&docker.stdout)),
            (berth.code, no_ages(&berth.stdout)),
            "{args:?}\ndocker stderr: {}\nberth stderr: {}",
            docker.stderr,
            berth.stderr
        );
    }
    // Unknown objects: both CLIs fail with the same words (compared byte for byte in
    // swarm_cli.rs).
    for args in [
        vec!["node", "inspect", "nope"],
        vec!["service", "inspect", "nope"],
        vec!["service", "ps", "nope"],
        vec!["node", "update", "--availability", "drain", "nope"],
    ] {
        let docker = run(&d, Client::Docker, &args);
        let berth = run(&d, Client::Berth, &args);
        docker.failure();
        assert_eq!(
            (
                berth.code,
                berth.stderr.trim().trim_start_matches("Error: ")
            ),
            (
                docker.code,
                docker.stderr.trim().trim_start_matches("Error: ")
            ),
            "{args:?}"
        );
    }
    // The other constraint kinds: node.id, node.hostname, engine.labels.
    let hostname = run(
        &d,
        Client::Docker,
        &[
            "node",
            "inspect",
            "--format",
            "{{.Description.Hostname}}",
            &node,
        ],
    )
    .success()
    .out();
    run(
        &d,
        Client::Berth,
        &[
            "service",
            "create",
            "-d",
            "--name",
            "cons",
            "--constraint",
            &format!("node.id=={node}"),
            "--constraint",
            &format!("node.hostname=={hostname}"),
            "--constraint",
            "engine.labels.tier!=cold",
            "busybox",
            "sleep",
            "100000",
        ],
    )
    .success();
    assert!(eventually(60, || running_of(&d, "cons").len() == 1));
    // join-token --rotate gives a new token, which is the one shown afterwards.
    for c in [Client::Docker, Client::Berth] {
        let before = run(&d, c, &["swarm", "join-token", "-q", "worker"])
            .success()
            .out();
        run(&d, c, &["swarm", "join-token", "--rotate", "worker"]).success();
        let after = run(&d, c, &["swarm", "join-token", "-q", "worker"])
            .success()
            .out();
        assert_ne!(before, after);
        assert!(after.starts_with("SWMTKN-1-"), "{after}");
    }
    // `--tail` and `--timestamps` do what they say.
    let tail = run(
        &d,
        Client::Docker,
        &["service", "logs", "--raw", "--tail", "1", "optd"],
    )
    .success()
    .out();
    assert_eq!(tail, "hello-from-opts");
    let stamped = run(
        &d,
        Client::Docker,
        &["service", "logs", "--timestamps", "--raw", "optd"],
    )
    .success()
    .out();
    assert!(
        stamped
            .lines()
            .all(|l| l.len() > 20 && l.as_bytes()[4] == b'-' && l.contains('T')),
        "{stamped}"
    );
    run(&d, Client::Docker, &["service", "logs", "nope"])
        .failure()
        .stderr_contains("no such task or service: nope");
    // An invalid update config, refused with swarmkit's words, the spec unchanged.
    for c in [Client::Docker, Client::Berth] {
        run(
            &d,
            c,
            &[
                "service",
                "update",
                "-d",
                "--update-max-failure-ratio",
                "2",
                "optd",
            ],
        )
        .failure()
        .stderr_contains("update-maxfailureratio cannot be less than 0 or bigger than 1");
    }
    run(
        &d,
        Client::Docker,
        &["service", "rm", "optd", "optb", "cons"],
    )
    .success();
    run(&d, Client::Docker, &["swarm", "leave", "--force"]).success();
}

/// Global and job modes, and node availability: drain stops the node's tasks, pause
/// keeps them but places no new one, active lets them run again.
fn modes_and_availability(c: Client) {
    let d = TestDaemon::start();
    init(&d, c);
    let sleep = ["busybox", "sleep", "100000"];
    let create = |name: &str, extra: &[&str], cmd: &[&str]| {
        let mut a = vec![
            "service",
            "create",
            "-d",
            "--name",
            name,
            "--stop-grace-period",
            "1s",
        ];
        a.extend_from_slice(extra);
        a.extend_from_slice(cmd);
        run(&d, c, &a).success();
    };
    create("glob", &["--mode", "global"], &sleep);
    create("rep", &["--replicas", "2"], &sleep);
    create(
        "job",
        &["--mode", "replicated-job", "--replicas", "2"],
        &["busybox", "true"],
    );
    create("gjob", &["--mode", "global-job"], &["busybox", "true"]);
    assert!(
        eventually(60, || replicas(&d, c, "glob") == "1/1"
            && replicas(&d, c, "rep") == "2/2"
            && replicas(&d, c, "job") == "0/0 (2/2 completed)"
            && replicas(&d, c, "gjob") == "0/0 (1/1 completed)"),
        "{}",
        run(&d, c, &["service", "ls"]).out()
    );
    // Both CLIs show the modes and counts alike.
    assert_eq!(
        run(&d, Client::Docker, &["service", "ls"]).success().stdout,
        run(&d, Client::Berth, &["service", "ls"]).success().stdout
    );
    run(
        &d,
        c,
        &["service", "ps", "job", "--format", "{{.CurrentState}}"],
    )
    .success()
    .stdout_contains("Complete");
    run(
        &d,
        c,
        &[
            "service",
            "ls",
            "--filter",
            "name=glob",
            "--format",
            "{{.Mode}}",
        ],
    )
    .success()
    .stdout_is("global\n");
    let node = run(&d, c, &["node", "ls", "-q"]).success().out();
    let avail = |a: &str| {
        run(&d, c, &["node", "update", "--availability", a, &node]).success();
        run(
            &d,
            c,
            &[
                "node",
                "inspect",
                "--format",
                "{{.Spec.Availability}}",
                &node,
            ],
        )
        .success()
        .stdout_is(&format!("{a}\n"));
    };
    avail("drain");
    assert!(
        eventually(60, || running_of(&d, "glob").is_empty()
            && running_of(&d, "rep").is_empty()),
        "drain"
    );
    run(&d, c, &["node", "ls", "--format", "{{.Availability}}"])
        .success()
        .stdout_is("Drain\n");
    avail("active");
    assert!(
        eventually(60, || running_of(&d, "glob").len() == 1
            && running_of(&d, "rep").len() == 2),
        "active"
    );
    // pause: running tasks stay, a new one is not placed.
    avail("pause");
    run(&d, c, &["service", "scale", "-d", "rep=3"]).success();
    std::thread::sleep(std::time::Duration::from_secs(3));
    assert_eq!(running_of(&d, "rep").len(), 2, "paused node: no new task");
    assert_eq!(running_of(&d, "glob").len(), 1, "paused node: tasks stay");
    avail("active");
    assert!(eventually(60, || running_of(&d, "rep").len() == 3));
    run(&d, c, &["swarm", "leave", "--force"]).success();
}

#[test]
fn swarm_items_modes_and_availability_docker_cli() {
    modes_and_availability(Client::Docker);
}

#[test]
fn swarm_items_modes_and_availability_berth_cli() {
    modes_and_availability(Client::Berth);
}

/// Rotating a secret: `service update --secret-rm OLD --secret-add source=NEW,target=T`
/// replaces the task, which then reads the new value at the same path; the old secret can
/// then be removed. `swarm update --task-history-limit` keeps that many old tasks.
fn secret_rotation(c: Client) {
    let d = TestDaemon::start();
    init(&d, c);
    for (name, value) in [("pw_v1", "one"), ("pw_v2", "two")] {
        d.cli(c, ["secret", "create", name, "-"])
            .stdin(value)
            .run()
            .success();
    }
    run(
        &d,
        c,
        &[
            "service",
            "create",
            "-d",
            "--name",
            "app",
            "--stop-grace-period",
            "1s",
            "--secret",
            "source=pw_v1,target=app_pw",
            "busybox",
            "sleep",
            "100000",
        ],
    )
    .success();
    let read = || {
        running_of(&d, "app")
            .first()
            .map(|id| {
                run(
                    &d,
                    Client::Docker,
                    &["exec", id, "cat", "/run/secrets/app_pw"],
                )
                .out()
            })
            .unwrap_or_default()
    };
    assert!(eventually(60, || read() == "one"), "{}", read());
    run(&d, c, &["secret", "rm", "pw_v1"])
        .failure()
        .stderr_contains("is in use by the following service: app");
    run(
        &d,
        c,
        &[
            "service",
            "update",
            "-d",
            "--secret-rm",
            "pw_v1",
            "--secret-add",
            "source=pw_v2,target=app_pw",
            "app",
        ],
    )
    .success();
    assert!(
        eventually(60, || read() == "two" && running_of(&d, "app").len() == 1),
        "{}",
        read()
    );
    run(&d, c, &["secret", "rm", "pw_v1"]).success();
    // Task history: with a limit of 2, at most two tasks per slot are kept.
    run(&d, c, &["swarm", "update", "--task-history-limit", "2"]).success();
    run(
        &d,
        c,
        &[
            "info",
            "--format",
            "{{.Swarm.Cluster.Spec.Orchestration.TaskHistoryRetentionLimit}}",
        ],
    )
    .success()
    .stdout_is("2\n");
    for i in 0..3 {
        run(
            &d,
            c,
            &[
                "service",
                "update",
                "-d",
                "--env-add",
                &format!("N={i}"),
                "app",
            ],
        )
        .success();
        assert!(eventually(60, || running_of(&d, "app").len() == 1));
    }
    assert!(
        eventually(30, || run(&d, c, &["service", "ps", "-q", "app"])
            .lines()
            .len()
            <= 2),
        "{}",
        run(&d, c, &["service", "ps", "app"]).out()
    );
    run(&d, c, &["swarm", "leave", "--force"]).success();
}

#[test]
fn swarm_items_secret_rotation_docker_cli() {
    secret_rotation(Client::Docker);
}

#[test]
fn swarm_items_secret_rotation_berth_cli() {
    secret_rotation(Client::Berth);
}
