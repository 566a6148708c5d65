//! The `service create`/`service update` flags for a task's container and scheduling
//! (prefix `swarm_flags_`): capabilities, DNS, `--init`, logging, sysctls, ulimits,
//! `--read-only`, `--limit-pids`, `--oom-score-adj`, `--max-concurrent`,
//! `--replicas-max-per-node` and `--no-resolve-image`. berth's CLI must send the spec the
//! docker CLI 28 sends (both drive one berth daemon and the stored specs are compared),
//! refuse bad values with the docker CLI's messages, and the daemon must apply each field
//! to the task's container (checked from inside it).

use berth_tests::swarm::{self, task_container, task_spec as spec};
use berth_tests::{cgroup_file, eventually, Client, Output, TestDaemon};
use serde_json::Value;

fn run(d: &TestDaemon, c: Client, args: &[&str]) -> Output {
    d.run(c, args)
}

/// The docker CLI's words made berth's, so both clients' messages compare.
fn as_berth(s: &str) -> String {
    s.replace("'docker ", "'berth ")
        .replace("  docker ", "  berth ")
}

/// What each client does with `args` (`NAME` stands for a service name of its own):
/// exit code, stderr (docker's words made berth's) and, when created, the stored spec.
fn both(d: &TestDaemon, n: usize, args: &[&str]) -> [(i32, String, Option<Value>); 2] {
    Client::BOTH.map(|c| {
        let name = format!("{}{n}", c.name());
        let argv: Vec<&str> = args
            .iter()
            .map(|a| if *a == "NAME" { name.as_str() } else { a })
            .collect();
        let o = run(d, c, &argv);
        let created = o.code == 0 && args.get(1) == Some(&"create");
        let spec = created.then(|| spec(d, &name));
        (o.code, as_berth(&o.stderr), spec)
    })
}

fn create_args<'a>(flags: &[&'a str], cmd: &[&'a str]) -> Vec<&'a str> {
    let mut v = vec!["service", "create", "-d", "--name", "NAME"];
    v.extend_from_slice(flags);
    v.push("busybox");
    v.extend_from_slice(cmd);
    v
}

#[test]
fn swarm_flags_specs_and_errors_as_the_docker_cli() {
    let d = TestDaemon::start();
    swarm::init(&d, Client::Berth);
    // Both CLIs run in the daemon's directory: `--env-file svc.env` is this file.
    std::fs::write(
        d.dir().join("svc.env"),
        "A=1\n# a comment\n\n  D=spaced  \nA=2\nUNSET_SVC15K_Y\nC=file\n",
    )
    .unwrap_or_else(|e| panic!("write svc.env: {e}"));
    std::fs::write(d.dir().join("bad.env"), "=x\n").unwrap_or_else(|e| panic!("{e}"));
    d.berth(["config", "create", "credspec", "-"])
        .stdin("{}")
        .run()
        .success();
    let sleep: &[&str] = &["sleep", "100000"];
    let scenarios: Vec<(Vec<&str>, &[&str])> = vec![
        // Groups, hosts (both separators), env files merged with --env as docker merges
        // them (a later value replaces, an unset bare name from a file is dropped, one
        // given to --env kept), isolation, a generic resource and placement preferences.
        (
            vec![
                "--group",
                "123",
                "--group",
                "audio",
                "--host",
                "h1:10.1.2.3",
                "--host",
                "h2=10.1.2.4",
                "--host",
                "h6:[::1]",
                "--env-file",
                "svc.env",
                "-e",
                "C=cli",
                "-e",
                "UNSET_SVC15K_X",
                "-e",
                "E=1",
                "-e",
                "E=2",
                "--isolation",
                "process",
                "--generic-resource",
                "gpu=2",
                "--placement-pref",
                "spread=node.labels.rack",
                "--placement-pref",
                "spread=node.labels.zone",
            ],
            sleep,
        ),
        // Not one of Linux's isolations: kept by the CLI, the daemon's default.
        (vec!["--isolation", "bogus"], sleep),
        (vec!["--isolation", "HyperV"], sleep),
        (vec!["--credential-spec", "file://spec.json"], sleep),
        (vec!["--credential-spec", "registry://reg-value"], sleep),
        // A config's credential spec: named by id, the config added as a runtime target.
        (vec!["--credential-spec", "config://credspec"], sleep),
        // Update and rollback flags: the docker CLI's defaults for the rest of each.
        (
            vec![
                "--update-parallelism",
                "3",
                "--rollback-order",
                "start-first",
            ],
            sleep,
        ),
        (
            vec![
                "--restart-condition",
                "on-failure",
                "--update-monitor",
                "2s",
            ],
            sleep,
        ),
        // Refused with the docker CLI's messages and exit codes.
        (vec!["--generic-resource", "gpu"], sleep),
        (vec!["--generic-resource", "gpu=1=2"], sleep),
        (vec!["--generic-resource", "gpu=-1"], sleep),
        (vec!["--generic-resource", "gpu=abc"], sleep),
        (
            vec!["--generic-resource", "gpu=1", "--generic-resource", "gpu=2"],
            sleep,
        ),
        (vec!["--host", "nohost"], sleep),
        (vec!["--host", "h:notip"], sleep),
        (vec!["--credential-spec", "bad"], sleep),
        (vec!["--credential-spec", "config://nosuch"], sleep),
        (vec!["--placement-pref", "nostrategy"], sleep),
        (vec!["--placement-pref", "pack=node.id"], sleep),
        (vec!["--env-file", "nosuch.env"], sleep),
        (vec!["--secret", "nosuch"], sleep),
        (vec!["--config", "nosuch"], sleep),
        (vec!["--env-file", "bad.env"], sleep),
        (vec!["-e", "=x"], sleep),
        (
            vec!["--mode", "replicated-job", "--update-parallelism", "2"],
            &["true"],
        ),
        (
            vec!["--mode", "global-job", "--rollback-delay", "1s"],
            &["true"],
        ),
        // `service update`'s edits are not create's flags.
        (vec!["--group-add", "1"], sleep),
        (vec!["--host-add", "h:10.0.0.1"], sleep),
        (vec!["--generic-resource-add", "gpu=1"], sleep),
        (vec!["--placement-pref-add", "spread=node.id"], sleep),
        (vec!["--args", "x"], sleep),
        // Adding wins over dropping the same capability; names are normalised and sorted.
        (
            vec![
                "--cap-add",
                "net_admin",
                "--cap-add",
                "SYS_TIME",
                "--cap-drop",
                "chown",
                "--cap-drop",
                "NET_ADMIN",
            ],
            sleep,
        ),
        (vec!["--cap-add", "ALL", "--cap-drop", "mknod"], sleep),
        (
            vec![
                "--dns",
                "10.0.0.53",
                "--dns",
                "::ffff:10.0.0.54",
                "--dns-option",
                "ndots:2",
                "--dns-search",
                "example.com.",
                "--dns-search",
                "b.example",
            ],
            sleep,
        ),
        (
            vec![
                "--init",
                "--read-only",
                "--limit-pids",
                "40",
                "--oom-score-adj",
                "-321",
            ],
            sleep,
        ),
        (
            vec![
                "--sysctl",
                "net.ipv4.tcp_keepalive_time=600",
                "--sysctl",
                "net.core.somaxconn",
                "--ulimit",
                "nofile=1024:2048",
                "--ulimit",
                "nproc=300",
                "--ulimit",
                "nofile=512:1024",
            ],
            sleep,
        ),
        (
            vec![
                "--log-driver",
                "json-file",
                "--log-opt",
                "max-size=1m",
                "--log-opt",
                "max-file=2",
            ],
            sleep,
        ),
        (vec!["--log-driver", "none"], sleep),
        (
            vec![
                "--mode",
                "replicated-job",
                "--replicas",
                "2",
                "--max-concurrent",
                "1",
            ],
            &["true"],
        ),
        (vec!["--mode", "replicated-job"], &["true"]),
        (
            vec!["--replicas", "2", "--replicas-max-per-node", "2"],
            sleep,
        ),
        (vec!["--no-resolve-image"], sleep),
        // Bad values: the docker CLI's messages and exit codes.
        (vec!["--dns", "notanip"], sleep),
        (vec!["--dns-search", "123"], sleep),
        (vec!["--dns-search", "bad_domain.com"], sleep),
        (vec!["--ulimit", "nofile"], sleep),
        (vec!["--ulimit", "nosuch=1"], sleep),
        (vec!["--ulimit", "nofile=2:1"], sleep),
        (vec!["--log-opt", "=x"], sleep),
        (vec!["--limit-pids", "many"], sleep),
        (vec!["--oom-score-adj", "x"], sleep),
        (vec!["--max-concurrent", "-1"], sleep),
        (vec!["--max-concurrent", "2"], sleep),
        (
            vec!["--mode", "global", "--replicas-max-per-node", "2"],
            sleep,
        ),
        (vec!["--mode", "global", "--max-concurrent", "2"], sleep),
        (
            vec!["--mode", "global-job", "--max-concurrent", "2"],
            &["true"],
        ),
        (
            vec!["--mode", "global-job", "--replicas-max-per-node", "1"],
            &["true"],
        ),
        // `service update`'s edits are not create's flags.
        (vec!["--dns-add", "10.0.0.1"], sleep),
        (vec!["--sysctl-add", "net.core.somaxconn=1"], sleep),
        (vec!["--ulimit-add=nofile=1"], sleep),
    ];
    for (i, (flags, cmd)) in scenarios.iter().enumerate() {
        let args = create_args(flags, cmd);
        let [b, dk] = both(&d, i, &args);
        assert_eq!(b, dk, "berth (left) and docker (right) for {flags:?}");
        if b.0 == 0 {
            // Both CLIs show the service alike, `--pretty` included.
            let name = format!("docker{i}");
            for form in [&["--pretty"][..], &[]] {
                let mut argv = vec!["service", "inspect"];
                argv.extend_from_slice(form);
                argv.push(&name);
                let [bo, dko] = Client::BOTH.map(|c| {
                    let o = run(&d, c, &argv);
                    (o.code, o.stdout.clone(), o.stderr.clone())
                });
                assert_eq!(bo, dko, "{argv:?}");
                // docker's --pretty template cannot show a config without a file target
                // (a credential spec's): both fail alike there, and only there.
                let runtime_config = flags.contains(&"config://credspec") && !form.is_empty();
                assert_eq!(bo.0 != 0, runtime_config, "{argv:?}: {bo:?}");
            }
            for c in Client::BOTH {
                run(&d, c, &["service", "rm", &format!("{}{i}", c.name())]).success();
            }
        }
    }
    // The registry is asked for the image's digest: berth's daemon cannot tell, so both
    // warn (on stderr, before the id); `--no-resolve-image` asks nothing and warns nothing.
    let warned = run(
        &d,
        Client::Berth,
        &[
            "service", "create", "-d", "--name", "w", "busybox", "sleep", "1000",
        ],
    )
    .success()
    .stderr
    .clone();
    assert!(
        warned.starts_with("image busybox:latest could not be accessed on a registry"),
        "{warned}"
    );
    run(
        &d,
        Client::Berth,
        &[
            "service",
            "create",
            "-d",
            "--no-resolve-image",
            "--name",
            "nw",
            "busybox",
            "sleep",
            "1000",
        ],
    )
    .success()
    .stderr_is_empty();

    // ... nor are create's lists update's flags.
    for flag in [
        "--dns=10.0.0.1",
        "--sysctl=net.core.somaxconn=1",
        "--ulimit=nofile=1",
    ] {
        let [b, dk] = both(&d, 0, &["service", "update", "-d", flag, "w"]);
        assert_eq!(b, dk, "update {flag}");
        assert_eq!(b.0, 125, "{b:?}");
    }

    // `service update` on a job: docker's error for --replicas; berth applies
    // `--max-concurrent` (docker's update leaves it unapplied) and refuses it elsewhere.
    run(
        &d,
        Client::Berth,
        &[
            "service",
            "create",
            "-d",
            "--no-resolve-image",
            "--name",
            "job",
            "--mode",
            "replicated-job",
            "--replicas",
            "3",
            "busybox",
            "sleep",
            "1",
        ],
    )
    .success();
    let [b, dk] = both(
        &d,
        0,
        &["service", "update", "-d", "--replicas", "4", "job"],
    );
    assert_eq!(
        (b.0, b.1.clone()),
        (dk.0, dk.1),
        "update --replicas on a job"
    );
    assert!(
        b.1.contains("replicas can only be used with replicated mode"),
        "{b:?}"
    );
    run(
        &d,
        Client::Berth,
        &["service", "update", "-d", "--max-concurrent", "2", "job"],
    )
    .success();
    assert_eq!(spec(&d, "job")["Mode"]["ReplicatedJob"]["MaxConcurrent"], 2);
    run(
        &d,
        Client::Berth,
        &["service", "update", "-d", "--max-concurrent", "2", "w"],
    )
    .code(1)
    .stderr_contains("max-concurrent can only be used with replicated-job mode");
    // `--log-opt` without a driver is refused rather than dropped.
    run(
        &d,
        Client::Berth,
        &["service", "update", "-d", "--log-opt", "max-size=1m", "w"],
    )
    .code(1)
    .stderr_contains("--log-opt needs --log-driver");

    // At most 2 tasks per node: on this one node the third replica waits, as swarmkit says.
    run(
        &d,
        Client::Berth,
        &[
            "service",
            "create",
            "-d",
            "--no-resolve-image",
            "--name",
            "per",
            "--replicas",
            "3",
            "--replicas-max-per-node",
            "2",
            "busybox",
            "sleep",
            "100000",
        ],
    )
    .success();
    let states = || swarm::task_states(&d, "per");
    assert!(
        eventually(60, || {
            let s = states();
            s.iter().filter(|l| l.starts_with("Running")).count() == 2
                && s.iter().any(|l| {
                    l.starts_with("Pending") && l.contains("max replicas per node limit exceed")
                })
        }),
        "{:?}",
        states()
    );
}

fn exec(d: &TestDaemon, id: &str, script: &str) -> Output {
    run(d, Client::Docker, &["exec", id, "sh", "-c", script])
}

/// Effective capabilities of the container's pid 1 as a bit set.
fn cap_eff(d: &TestDaemon, id: &str) -> u64 {
    let line = exec(d, id, "grep CapEff /proc/1/status").success().out();
    let hex = line.split_whitespace().last().unwrap_or_default();
    u64::from_str_radix(hex, 16).unwrap_or_else(|e| panic!("{e}: {line}"))
}

/// `Max open files` (etc.) of pid 1: (soft, hard).
fn limit(d: &TestDaemon, id: &str, what: &str) -> (String, String) {
    let text = exec(d, id, "cat /proc/1/limits").success().out();
    let line = text
        .lines()
        .find(|l| l.starts_with(what))
        .unwrap_or_else(|| panic!("{what} in {text}"));
    let f: Vec<&str> = line[what.len()..].split_whitespace().collect();
    (f[0].to_string(), f[1].to_string())
}

fn container_field(d: &TestDaemon, id: &str, tmpl: &str) -> String {
    run(d, Client::Docker, &["inspect", "-f", tmpl, id])
        .success()
        .out()
}

/// The supplementary groups of the container's pid 1.
fn groups(d: &TestDaemon, id: &str) -> Vec<String> {
    let line = exec(d, id, "grep Groups: /proc/1/status").success().out();
    line.split_whitespace()
        .skip(1)
        .map(str::to_string)
        .collect()
}

/// The container's /etc/hosts, each line's words joined by one space.
fn hosts(d: &TestDaemon, id: &str) -> Vec<String> {
    exec(d, id, "cat /etc/hosts")
        .success()
        .lines()
        .iter()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect()
}

/// The container's environment, as an exec sees it (it gets the container's; pid 1's
/// /proc environ was refused to the exec here).
fn environ(d: &TestDaemon, id: &str) -> Vec<String> {
    exec(d, id, "env").success().lines()
}

const CAP_CHOWN: u64 = 1 << 0;
const CAP_NET_ADMIN: u64 = 1 << 12;

/// Creates a service with every container flag through `c`, checks each inside the task's
/// container, updates each through `c` and checks again; returns the final spec.
fn applied(c: Client) -> Value {
    let d = TestDaemon::start();
    swarm::init(&d, Client::Berth);
    std::fs::write(d.dir().join("app.env"), "FROMFILE=yes\nFROMCLI=file\n")
        .unwrap_or_else(|e| panic!("write app.env: {e}"));
    run(
        &d,
        c,
        &[
            "service",
            "create",
            "-d",
            "--no-resolve-image",
            "--name",
            "app",
            "--stop-grace-period",
            "1s",
            "--cap-add",
            "NET_ADMIN",
            "--cap-drop",
            "CHOWN",
            "--dns",
            "10.0.0.53",
            "--dns-search",
            "example.com",
            "--dns-option",
            "ndots:3",
            "--init",
            "--read-only",
            "--limit-pids",
            "40",
            "--oom-score-adj",
            "321",
            "--sysctl",
            "net.ipv4.tcp_keepalive_time=321",
            "--ulimit",
            "nofile=1000:2000",
            "--log-driver",
            "json-file",
            "--log-opt",
            "max-size=1m",
            "--group",
            "123",
            "--host",
            "hostone:10.1.2.3",
            "--env-file",
            "app.env",
            "-e",
            "FROMCLI=1",
            "busybox",
            "sleep",
            "100000",
        ],
    )
    .success();
    let id = task_container(&d, "app", "");
    // The image user's own groups (root: 0 and 10 in busybox) and the added one.
    assert!(groups(&d, &id).contains(&"123".to_string()));
    assert!(hosts(&d, &id).contains(&"10.1.2.3 hostone".to_string()));
    let env = environ(&d, &id);
    for want in ["FROMFILE=yes", "FROMCLI=1"] {
        assert!(env.iter().any(|e| e == want), "{want} in {env:?}");
    }
    let caps = cap_eff(&d, &id);
    assert!(
        caps & CAP_NET_ADMIN != 0 && caps & CAP_CHOWN == 0,
        "{caps:x}"
    );
    let resolv = exec(&d, &id, "cat /etc/resolv.conf").success().out();
    for want in [
        "nameserver 10.0.0.53",
        "search example.com",
        "options ndots:3",
    ] {
        assert!(resolv.lines().any(|l| l == want), "{want:?} in {resolv}");
    }
    // pid 1 is the init, not the service's command.
    let comm = exec(&d, &id, "cat /proc/1/comm").success().out();
    assert!(!matches!(comm.as_str(), "sleep" | "sh"), "pid 1 is {comm}");
    exec(&d, &id, "touch /probe")
        .failure()
        .stderr_contains("Read-only file system");
    assert_eq!(
        cgroup_file(&id, "pids", "pids.max", "pids.max").as_deref(),
        Some("40")
    );
    assert_eq!(
        exec(&d, &id, "cat /proc/1/oom_score_adj").success().out(),
        "321"
    );
    assert_eq!(
        exec(&d, &id, "cat /proc/sys/net/ipv4/tcp_keepalive_time")
            .success()
            .out(),
        "321"
    );
    assert_eq!(
        limit(&d, &id, "Max open files"),
        ("1000".into(), "2000".into())
    );
    assert_eq!(
        container_field(&d, &id, "{{json .HostConfig.LogConfig}}"),
        r#"{"Type":"json-file","Config":{"max-size":"1m"}}"#
    );

    // Each flag's update form, then the new task's container.
    run(
        &d,
        c,
        &[
            "service",
            "update",
            "-d",
            "--cap-drop",
            "NET_ADMIN",
            "--cap-add",
            "CHOWN",
            "--dns-rm",
            "10.0.0.53",
            "--dns-add",
            "10.0.0.99",
            "--dns-search-rm",
            "example.com",
            "--dns-search-add",
            "other.example",
            "--dns-option-rm",
            "ndots:3",
            "--dns-option-add",
            "ndots:4",
            "--sysctl-rm",
            "net.ipv4.tcp_keepalive_time",
            "--sysctl-add",
            "net.ipv4.tcp_keepalive_time=123",
            "--ulimit-rm",
            "nofile",
            "--ulimit-add",
            "nproc=77:88",
            "--init=false",
            "--read-only=false",
            "--limit-pids",
            "50",
            "--oom-score-adj",
            "123",
            "--log-driver",
            "json-file",
            "--log-opt",
            "max-size=2m",
            "--log-opt",
            "max-file=3",
            "--group-add",
            "456",
            "--group-rm",
            "123",
            "--host-add",
            "hosttwo:10.1.2.4",
            "--host-rm",
            "hostone",
            "--env-add",
            "FROMCLI=2",
            "app",
        ],
    )
    .success();
    let id2 = task_container(&d, "app", &id);
    let g = groups(&d, &id2);
    assert!(
        g.contains(&"456".to_string()) && !g.contains(&"123".to_string()),
        "{g:?}"
    );
    let h = hosts(&d, &id2);
    assert!(h.contains(&"10.1.2.4 hosttwo".to_string()), "{h:?}");
    assert!(!h.iter().any(|l| l.contains("hostone")), "{h:?}");
    assert!(environ(&d, &id2).contains(&"FROMCLI=2".to_string()));
    let caps = cap_eff(&d, &id2);
    // Dropping the added NET_ADMIN and adding the dropped CHOWN is back to the defaults.
    assert!(
        caps & CAP_NET_ADMIN == 0 && caps & CAP_CHOWN != 0,
        "{caps:x}"
    );
    let resolv = exec(&d, &id2, "cat /etc/resolv.conf").success().out();
    for want in [
        "nameserver 10.0.0.99",
        "search other.example",
        "options ndots:4",
    ] {
        assert!(resolv.lines().any(|l| l == want), "{want:?} in {resolv}");
    }
    assert!(!resolv.contains("10.0.0.53"), "{resolv}");
    assert_eq!(
        exec(&d, &id2, "cat /proc/1/comm").success().out(),
        "sleep",
        "no init after --init=false"
    );
    exec(&d, &id2, "touch /probe").success();
    assert_eq!(
        cgroup_file(&id2, "pids", "pids.max", "pids.max").as_deref(),
        Some("50")
    );
    assert_eq!(
        exec(&d, &id2, "cat /proc/1/oom_score_adj").success().out(),
        "123"
    );
    assert_eq!(
        exec(&d, &id2, "cat /proc/sys/net/ipv4/tcp_keepalive_time")
            .success()
            .out(),
        "123"
    );
    assert_eq!(limit(&d, &id2, "Max processes"), ("77".into(), "88".into()));
    assert_ne!(limit(&d, &id2, "Max open files").1, "2000");
    assert_eq!(
        container_field(&d, &id2, "{{json .HostConfig.LogConfig}}"),
        r#"{"Type":"json-file","Config":{"max-file":"3","max-size":"2m"}}"#
    );
    spec(&d, "app")
}

#[test]
fn swarm_flags_applied_in_the_task_container() {
    // Through either client: the same spec, and the same container.
    // The docker CLI's `--env-add` rebuilds Env from a Go map (updateEnvironment), so its
    // order is random there: Env is compared as a set.
    let sorted_env = |mut v: Value| {
        if let Some(env) = v
            .pointer_mut("/TaskTemplate/ContainerSpec/Env")
            .and_then(|e| e.as_array_mut())
        {
            env.sort_by_key(|e| e.as_str().unwrap_or_default().to_string());
        }
        v
    };
    let docker = sorted_env(applied(Client::Docker));
    let berth = sorted_env(applied(Client::Berth));
    assert_eq!(berth, docker);
}

/// What a client sent for a service: its stored spec (`GET /services/NAME`, no defaults
/// inserted), the name left out so two clients' services compare.
fn stored_spec(d: &TestDaemon, name: &str) -> Value {
    let (code, body) = d.api("GET", &format!("/services/{name}"), None);
    assert_eq!(code, 200, "{name}: {body}");
    let v: Value = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    let mut spec = v["Spec"].clone();
    if let Some(o) = spec.as_object_mut() {
        o.remove("Name");
    }
    spec
}

/// `service inspect`'s `.Spec` through `c` (the daemon's defaults inserted), without the
/// name.
fn shown_spec(d: &TestDaemon, c: Client, name: &str) -> Value {
    let out = run(
        d,
        c,
        &["service", "inspect", "--format", "{{json .Spec}}", name],
    )
    .success()
    .out();
    let mut v: Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    if let Some(o) = v.as_object_mut() {
        o.remove("Name");
    }
    v
}

/// The update and rollback policy `service inspect` shows when a spec has none: what a
/// dockerd (20.10, moby 28's here) in swarm mode shows for a service the docker CLI
/// created without update flags.
const DEFAULT_POLICY: &str = r#"{"Parallelism":1,"FailureAction":"pause","Monitor":5000000000,"MaxFailureRatio":0,"Order":"stop-first"}"#;

/// `service create` and then `service update` send the same bodies through both CLIs: the
/// stored specs (no UpdateConfig/RollbackConfig unless their flags are given) and what
/// `service inspect` shows (the daemon's defaults inserted) are the same, step by step.
#[test]
fn swarm_flags_create_and_update_bodies_as_the_docker_cli() {
    let d = TestDaemon::start();
    swarm::init(&d, Client::Berth);
    let sleep = ["sleep", "100000"];
    let cases: Vec<(Vec<&str>, Vec<Vec<&str>>)> = vec![
        (
            vec![],
            vec![
                vec!["--env-add", "X=1"],
                vec!["--update-delay", "3s"],
                vec!["--rollback-parallelism", "2", "--rollback-monitor", "1s"],
            ],
        ),
        (
            vec!["--update-failure-action", "continue"],
            vec![vec!["--args", "sh -c 'exec sleep 1000'"]],
        ),
        (
            vec![
                "--group",
                "7",
                "--group",
                "9",
                "--host",
                "h1:10.1.2.3",
                "--host",
                "h3:10.1.2.3",
                "--generic-resource",
                "gpu=1",
                "--placement-pref",
                "spread=node.labels.a",
                "--credential-spec",
                "registry://r",
                "--isolation",
                "process",
            ],
            vec![
                vec![
                    "--group-add",
                    "8",
                    "--group-rm",
                    "7",
                    "--host-add",
                    "h2:10.1.2.4",
                    "--host-rm",
                    "h1",
                    "--generic-resource-add",
                    "fpga=2",
                    "--generic-resource-rm",
                    "gpu",
                    "--placement-pref-rm",
                    "spread=node.labels.a",
                    "--placement-pref-add",
                    "spread=node.labels.b",
                    "--isolation",
                    "default",
                ],
                vec!["--credential-spec", "", "--host-rm", "h3:10.9.9.9"],
                vec![
                    "--host-rm",
                    "h3:10.1.2.3",
                    "--credential-spec",
                    "file://x.json",
                ],
            ],
        ),
    ];
    for (i, (flags, updates)) in cases.iter().enumerate() {
        let names = Client::BOTH.map(|c| format!("{}{i}", c.name()));
        for (c, name) in Client::BOTH.iter().zip(&names) {
            let mut argv = vec!["service", "create", "-d", "--no-resolve-image", "--name"];
            argv.push(name);
            argv.extend(flags.iter().copied());
            argv.push("busybox");
            argv.extend(sleep);
            run(&d, *c, &argv).success();
        }
        let compare = |step: &str| {
            let [b, dk] = names.clone().map(|n| stored_spec(&d, &n));
            assert_eq!(
                b, dk,
                "stored specs after {step}: berth (left), docker (right)"
            );
            for viewer in Client::BOTH {
                let [b, dk] = names.clone().map(|n| shown_spec(&d, viewer, &n));
                assert_eq!(b, dk, "{viewer:?}'s service inspect after {step}");
            }
            b
        };
        let created = compare(&format!("create {flags:?}"));
        if flags
            .iter()
            .all(|f| !f.starts_with("--update") && !f.starts_with("--rollback"))
        {
            // Nothing sent for them; `service inspect` shows the daemon's defaults.
            assert!(created.get("UpdateConfig").is_none(), "{created}");
            assert!(created.get("RollbackConfig").is_none(), "{created}");
            for c in Client::BOTH {
                run(
                    &d,
                    c,
                    &[
                        "service",
                        "inspect",
                        "--format",
                        "{{json .Spec.UpdateConfig}}|{{json .Spec.RollbackConfig}}",
                        &names[0],
                    ],
                )
                .success()
                .stdout_is(&format!("{DEFAULT_POLICY}|{DEFAULT_POLICY}\n"));
            }
        }
        for u in updates {
            for (c, name) in Client::BOTH.iter().zip(&names) {
                let mut argv = vec!["service", "update", "-d"];
                argv.extend(u.iter().copied());
                argv.push(name);
                run(&d, *c, &argv).success();
            }
            let after = compare(&format!("update {u:?}"));
            if u[0] == "--env-add" {
                assert!(after.get("UpdateConfig").is_none(), "{after}");
            }
        }
    }
    // The edits reached the spec (the comparison above would pass if neither client
    // applied them).
    let v = stored_spec(&d, "docker2");
    let c = &v["TaskTemplate"]["ContainerSpec"];
    assert_eq!(c["Groups"], serde_json::json!(["8", "9"]));
    assert_eq!(c["Hosts"], serde_json::json!(["10.1.2.4 h2"]));
    assert_eq!(c["Privileges"]["CredentialSpec"]["File"], "x.json");
    assert_eq!(c["Isolation"], "default");
    assert_eq!(
        v["TaskTemplate"]["Resources"]["Reservations"]["GenericResources"],
        serde_json::json!([{"DiscreteResourceSpec": {"Kind": "fpga", "Value": 2}}])
    );
    assert_eq!(
        v["TaskTemplate"]["Placement"]["Preferences"],
        serde_json::json!([{"Spread": {"SpreadDescriptor": "node.labels.b"}}])
    );
    let v = stored_spec(&d, "berth0");
    assert_eq!(v["UpdateConfig"]["Delay"], 3_000_000_000u64);
    assert_eq!(v["RollbackConfig"]["Parallelism"], 2);
    assert_eq!(
        stored_spec(&d, "berth1")["TaskTemplate"]["ContainerSpec"]["Args"],
        serde_json::json!(["sh", "-c", "exec sleep 1000"])
    );
}

/// What a Linux node cannot honour is refused on the task with moby's words (taken from a
/// dockerd 20.10 in swarm mode; moby 28 has the same): an isolation other than the
/// default and a credential spec reject the task; a generic resource no node advertises
/// leaves it pending. An unknown isolation is the default and runs.
#[test]
fn swarm_flags_windows_only_and_generic_resources_on_the_task() {
    let d = TestDaemon::start();
    swarm::init(&d, Client::Berth);
    let cases: [(Client, &str, &[&str], &str); 5] = [
        (
            Client::Berth,
            "iso",
            &["--isolation", "process"],
            "Rejected|\"invalid isolation 'process' on linux\"",
        ),
        (
            Client::Docker,
            "cred",
            &["--credential-spec", "file://spec.json"],
            "Rejected|\"invalid --security-opt 2: \"credentialspec=file://spec.json\"\"",
        ),
        (
            Client::Berth,
            "reg",
            &["--credential-spec", "registry://r"],
            "Rejected|\"invalid --security-opt 2: \"credentialspec=registry://r\"\"",
        ),
        (
            Client::Docker,
            "gpu",
            &["--generic-resource", "gpu=1"],
            "Pending|\"no suitable node (insufficient resources on 1 node)\"",
        ),
        (
            Client::Berth,
            "other",
            &["--isolation", "bogus"],
            "Running|",
        ),
    ];
    for (c, name, flags, _) in &cases {
        let mut argv = vec![
            "service",
            "create",
            "-d",
            "--no-resolve-image",
            "--name",
            name,
        ];
        argv.extend(flags.iter().copied());
        argv.extend(["busybox", "sleep", "100000"]);
        run(&d, *c, &argv).success();
    }
    for (_, name, _, want) in &cases {
        let (state, err) = want.split_once('|').unwrap_or_default();
        let matches = || {
            swarm::task_states(&d, name).iter().any(|l| {
                let (s, e) = l.split_once('|').unwrap_or_default();
                s.starts_with(state) && e == err
            })
        };
        assert!(
            eventually(60, matches),
            "{name}: want {want}, have {:?}",
            swarm::task_states(&d, name)
        );
    }
    // The refused tasks never made a container; the other one runs.
    assert!(swarm::running_of(&d, "iso").is_empty());
    assert!(swarm::running_of(&d, "gpu").is_empty());
    assert_eq!(swarm::running_of(&d, "other").len(), 1);
}
