//! The `service create`/`service update` flags for a task's container and scheduling
//! (prefix `swarm_flags_`): capabilities, DNS, `--init`, logging, sysctls, ulimits,
//! `--read-only`, `--limit-pids`, `--oom-score-adj`, `--max-concurrent`,
//! `--replicas-max-per-node` and `--no-resolve-image`. berth's CLI must send the spec the
//! docker CLI 28 sends (both drive one berth daemon and the stored specs are compared),
//! refuse bad values with the docker CLI's messages, and the daemon must apply each field
//! to the task's container (checked from inside it).

use berth_tests::{cgroup_file, eventually, Client, Output, TestDaemon};
use serde_json::Value;

fn run(d: &TestDaemon, c: Client, args: &[&str]) -> Output {
    d.run(c, args)
}

fn init(d: &TestDaemon) {
    run(
        d,
        Client::Berth,
        &["swarm", "init", "--advertise-addr", "127.0.0.1"],
    )
    .success();
}

/// The parts of a service's stored spec these flags set: its task template and mode.
fn spec(d: &TestDaemon, name: &str) -> Value {
    let out = run(
        d,
        Client::Docker,
        &[
            "service",
            "inspect",
            "--format",
            "{{json .Spec.TaskTemplate}}|{{json .Spec.Mode}}",
            name,
        ],
    )
    .success()
    .out();
    let (tt, mode) = out.split_once('|').unwrap_or_else(|| panic!("{out}"));
    let parse =
        |s: &str| -> Value { serde_json::from_str(s).unwrap_or_else(|e| panic!("{e}: {s}")) };
    serde_json::json!({"TaskTemplate": parse(tt), "Mode": parse(mode)})
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
    init(&d);
    let sleep: &[&str] = &["sleep", "100000"];
    let scenarios: Vec<(Vec<&str>, &[&str])> = vec![
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
                let [bo, dko] = Client::BOTH.map(|c| run(&d, c, &argv).success().out());
                assert_eq!(bo, dko, "{argv:?}");
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
    let states = || {
        run(
            &d,
            Client::Docker,
            &[
                "service",
                "ps",
                "--no-trunc",
                "--format",
                "{{.CurrentState}}|{{.Error}}",
                "per",
            ],
        )
        .lines()
    };
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

/// The running container of `service`'s task other than `not`.
fn task_container(d: &TestDaemon, service: &str, not: &str) -> String {
    let mut found = String::new();
    let ok = eventually(90, || {
        let ids = run(
            d,
            Client::Docker,
            &[
                "ps",
                "-q",
                "--no-trunc",
                "--filter",
                &format!("label=com.docker.swarm.service.name={service}"),
            ],
        )
        .lines();
        match ids.iter().find(|i| i.as_str() != not) {
            Some(i) if ids.len() == 1 => {
                found = i.clone();
                true
            }
            _ => false,
        }
    });
    assert!(
        ok,
        "no new running task container for {service}: {}",
        run(
            d,
            Client::Docker,
            &[
                "service",
                "ps",
                "--no-trunc",
                "--format",
                "{{.CurrentState}} {{.Error}}",
                service
            ]
        )
        .out()
    );
    found
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

const CAP_CHOWN: u64 = 1 << 0;
const CAP_NET_ADMIN: u64 = 1 << 12;

/// Creates a service with every container flag through `c`, checks each inside the task's
/// container, updates each through `c` and checks again; returns the final spec.
fn applied(c: Client) -> Value {
    let d = TestDaemon::start();
    init(&d);
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
            "busybox",
            "sleep",
            "100000",
        ],
    )
    .success();
    let id = task_container(&d, "app", "");
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
            "app",
        ],
    )
    .success();
    let id2 = task_container(&d, "app", &id);
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
    let docker = applied(Client::Docker);
    let berth = applied(Client::Berth);
    assert_eq!(berth, docker);
}
