//! Swarm mode (prefix `swarm_`): the swarm endpoints through the Engine API, the docker CLI
//! and berth's CLI. The expected answers were taken from a private dockerd in swarm mode
//! (20.10, whose answers here are moby 28's).

use berth_tests::swarm::{self, running_of};
use berth_tests::{Client, TestDaemon};

const NOT_MANAGER: &str = "This node is not a swarm manager. Use \\\"docker swarm init\\\" or \\\"docker swarm join\\\" to connect this node to swarm and try again.";

/// Outside a swarm every swarm endpoint answers moby's 503, and `/swarm/leave` says the
/// node is not part of a swarm (clients call it while cleaning up and expect exactly that).
#[test]
fn swarm_endpoints_answer_503_outside_a_swarm() {
    let d = TestDaemon::start_empty();
    let calls: &[(&str, &str, Option<&str>)] = &[
        ("GET", "/v1.47/swarm", None),
        ("GET", "/v1.47/swarm/unlockkey", None),
        ("POST", "/v1.47/swarm/update?version=1", Some("{}")),
        ("POST", "/v1.47/swarm/unlock", Some(r#"{"UnlockKey":"x"}"#)),
        ("GET", "/v1.47/nodes", None),
        ("GET", "/v1.47/nodes/x", None),
        ("DELETE", "/v1.47/nodes/x", None),
        ("POST", "/v1.47/nodes/x/update?version=1", Some("{}")),
        ("GET", "/v1.47/services", None),
        ("POST", "/v1.47/services/create", Some("{}")),
        ("GET", "/v1.47/services/x", None),
        ("DELETE", "/v1.47/services/x", None),
        ("POST", "/v1.47/services/x/update?version=1", Some("{}")),
        ("GET", "/v1.47/services/x/logs?stdout=1", None),
        ("GET", "/v1.47/tasks", None),
        ("GET", "/v1.47/tasks/x", None),
        ("GET", "/v1.47/tasks/x/logs?stderr=1", None),
        ("GET", "/v1.47/secrets", None),
        ("POST", "/v1.47/secrets/create", Some("{}")),
        ("GET", "/v1.47/secrets/x", None),
        ("DELETE", "/v1.47/secrets/x", None),
        ("POST", "/v1.47/secrets/x/update?version=1", Some("{}")),
        ("GET", "/v1.47/configs", None),
        ("POST", "/v1.47/configs/create", Some("{}")),
        ("GET", "/configs/x", None),
        ("DELETE", "/configs/x", None),
        ("POST", "/configs/x/update?version=1", Some("{}")),
    ];
    for (method, path, body) in calls {
        let (code, text) = d.api(method, path, *body);
        assert_eq!(code, 503, "{method} {path}: {text}");
        // moby's WriteJSON ends the body with a newline.
        assert_eq!(
            text,
            format!("{{\"message\":\"{NOT_MANAGER}\"}}\n"),
            "{method} {path}"
        );
    }
    let (code, text) = d.api("POST", "/v1.47/swarm/leave?force=1", None);
    assert_eq!(code, 503, "{text}");
    assert_eq!(text, "{\"message\":\"This node is not part of a swarm\"}\n");
    // Logs check their streams first, as moby does (a plain 500).
    let (code, text) = d.api("GET", "/v1.47/services/x/logs", None);
    assert_eq!(code, 500, "{text}");
    assert!(
        text.contains("you must choose at least one stream"),
        "{text}"
    );
}

/// The docker CLI prints the daemon's message and fails, as against dockerd.
#[test]
fn swarm_docker_cli_outside_a_swarm() {
    let d = TestDaemon::start_empty();
    d.run(Client::Docker, &["service", "ls"])
        .failure()
        .stderr_contains("This node is not a swarm manager. Use \"docker swarm init\"");
    d.run(Client::Docker, &["node", "ls"])
        .failure()
        .stderr_contains("This node is not a swarm manager.");
    d.run(Client::Docker, &["swarm", "leave", "--force"])
        .failure()
        .stderr_contains("This node is not part of a swarm");
    d.run(
        Client::Docker,
        &["info", "--format", "{{.Swarm.LocalNodeState}}"],
    )
    .success()
    .stdout_is("inactive\n");
}

fn docker(d: &TestDaemon, args: &[&str]) -> berth_tests::Output {
    d.run(Client::Docker, args)
}

fn replicas(d: &TestDaemon, service: &str) -> String {
    swarm::replicas(d, Client::Docker, service)
}

fn init(d: &TestDaemon) {
    swarm::init(d, Client::Docker)
        .stdout_contains("Swarm initialized: current node (")
        .stdout_contains("docker swarm join --token SWMTKN-1-");
}

/// The seeds' walkthrough through the real docker CLI: init, node ls, create, scale,
/// update --image, a stale version refused, rm, leave.
#[test]
fn swarm_walkthrough_with_the_docker_cli() {
    let d = TestDaemon::start();
    init(&d);
    docker(&d, &["info", "--format", "{{.Swarm.LocalNodeState}} {{.Swarm.ControlAvailable}} {{.Swarm.Nodes}} {{.Swarm.Managers}}"])
        .success()
        .stdout_is("active true 1 1\n");
    docker(&d, &["swarm", "init", "--advertise-addr", "127.0.0.1"])
        .failure()
        .stderr_contains("This node is already part of a swarm. Use \"docker swarm leave\" to leave this swarm and join another one.");
    docker(
        &d,
        &[
            "node",
            "ls",
            "--format",
            "{{.Self}} {{.Status}} {{.Availability}} {{.ManagerStatus}}",
        ],
    )
    .success()
    .stdout_is("true Ready Active Leader\n");
    docker(&d, &["swarm", "join-token", "-q", "worker"])
        .success()
        .stdout_contains("SWMTKN-1-");

    docker(
        &d,
        &[
            "service",
            "create",
            "--name",
            "web",
            "--replicas",
            "3",
            "-d",
            "busybox",
            "sleep",
            "1000",
        ],
    )
    .success();
    assert!(
        berth_tests::eventually(60, || replicas(&d, "web") == "3/3"),
        "{}",
        replicas(&d, "web")
    );
    assert_eq!(running_of(&d, "web").len(), 3);
    let names = docker(
        &d,
        &[
            "ps",
            "--format",
            "{{.Names}}",
            "--filter",
            "label=com.docker.swarm.service.name=web",
        ],
    )
    .lines();
    assert!(names.iter().all(|n| n.starts_with("web.")), "{names:?}");
    docker(
        &d,
        &[
            "service",
            "ps",
            "web",
            "--format",
            "{{.Name}} {{.DesiredState}} {{.CurrentState}}",
        ],
    )
    .success()
    .stdout_contains("web.1 Running Running");

    docker(&d, &["service", "scale", "web=1", "-d"]).success();
    assert!(berth_tests::eventually(60, || running_of(&d, "web").len() == 1));
    assert!(berth_tests::eventually(30, || replicas(&d, "web") == "1/1"));

    // update --image rolls the task to the new image.
    docker(&d, &["tag", "busybox", "busybox:v2"]).success();
    docker(
        &d,
        &["service", "update", "-d", "--image", "busybox:v2", "web"],
    )
    .success();
    assert!(berth_tests::eventually(60, || {
        let ids = running_of(&d, "web");
        ids.len() == 1
            && docker(&d, &["inspect", "-f", "{{.Config.Image}}", &ids[0]]).out() == "busybox:v2"
    }));
    // A stale version: moby's out-of-sequence error.
    let (code, text) = d.api("GET", "/v1.47/services/web", None);
    assert_eq!(code, 200, "{text}");
    let (code, text) = d.api(
        "POST",
        "/v1.47/services/web/update?version=1",
        Some(r#"{"Name":"web","TaskTemplate":{"ContainerSpec":{"Image":"busybox"}}}"#),
    );
    assert_eq!(
        (code, text.as_str()),
        (
            500,
            "{\"message\":\"rpc error: code = Unknown desc = update out of sequence\"}\n"
        )
    );
    let (code, text) = d.api(
        "POST",
        "/v1.47/services/create",
        Some(r#"{"Name":"web","TaskTemplate":{"ContainerSpec":{"Image":"busybox"}}}"#),
    );
    assert_eq!(code, 409, "{text}");
    assert!(
        text.contains("name conflicts with an existing object: service web already exists"),
        "{text}"
    );
    docker(&d, &["service", "inspect", "nope"])
        .failure()
        .stderr_contains("no such service: nope");

    docker(&d, &["service", "rm", "web"]).success();
    assert!(berth_tests::eventually(60, || {
        docker(
            &d,
            &[
                "ps",
                "-aq",
                "--filter",
                "label=com.docker.swarm.service.name=web",
            ],
        )
        .lines()
        .is_empty()
    }));
    docker(&d, &["swarm", "leave"])
        .failure()
        .stderr_contains("Use `--force` to ignore this message.");
    docker(&d, &["swarm", "leave", "--force"]).success();
    docker(&d, &["info", "--format", "{{.Swarm.LocalNodeState}}"])
        .success()
        .stdout_is("inactive\n");
}

/// A secret reaches the task at /run/secrets/NAME on a tmpfs, is never on disk in the
/// clear, and cannot be removed while a service uses it; configs land at their target.
#[test]
fn swarm_secrets_and_configs() {
    let d = TestDaemon::start();
    init(&d);
    let secret = "s3cr3t-value-for-the-test";
    d.cli(Client::Docker, ["secret", "create", "db_password", "-"])
        .stdin(secret)
        .run()
        .success();
    d.cli(Client::Docker, ["config", "create", "app_conf", "-"])
        .stdin("level=debug\n")
        .run()
        .success();
    d.cli(Client::Docker, ["secret", "create", "db_password", "-"])
        .stdin("x")
        .run()
        .failure()
        .stderr_contains("secret db_password already exists");
    docker(&d, &["secret", "ls", "--format", "{{.Name}}"])
        .success()
        .stdout_is("db_password\n");
    docker(
        &d,
        &[
            "service",
            "create",
            "--name",
            "db",
            "-d",
            "--secret",
            "db_password",
            "--config",
            "source=app_conf,target=/etc/app.conf,mode=0440",
            "busybox",
            "sleep",
            "1000",
        ],
    )
    .success();
    assert!(berth_tests::eventually(60, || running_of(&d, "db").len() == 1));
    let id = running_of(&d, "db").remove(0);
    docker(&d, &["exec", &id, "cat", "/run/secrets/db_password"])
        .success()
        .stdout_is(secret);
    docker(&d, &["exec", &id, "cat", "/etc/app.conf"])
        .success()
        .stdout_is("level=debug\n");
    docker(&d, &["exec", &id, "stat", "-c", "%a", "/etc/app.conf"])
        .success()
        .stdout_is("440\n");
    docker(&d, &["secret", "rm", "db_password"])
        .failure()
        .stderr_contains("secret 'db_password' is in use by the following service: db");
    // Nothing under the data root holds the secret in the clear (the raft log is sealed,
    // the task's copy is on a tmpfs, which a grep of the disk does not see).
    let out = std::process::Command::new("grep")
        .args(["-r", "-l", "--exclude-dir=files", secret])
        .arg(&d.data_root)
        .output()
        .unwrap();
    assert!(
        out.stdout.is_empty(),
        "secret in clear at {}",
        String::from_utf8_lossy(&out.stdout)
    );
    docker(&d, &["service", "rm", "db"]).success();
    docker(&d, &["secret", "rm", "db_password"]).success();
    docker(&d, &["secret", "inspect", "db_password"])
        .failure()
        .stderr_contains("secret db_password not found");
}

/// A constraint no node satisfies leaves the task pending with Docker's explanation; a
/// crashing task is restarted per its restart policy; the swarm survives kill -9 of the
/// daemon with its running tasks adopted, not duplicated.
#[test]
fn swarm_pending_restarts_and_daemon_kill() {
    let mut d = TestDaemon::start();
    init(&d);
    docker(
        &d,
        &[
            "service",
            "create",
            "--name",
            "picky",
            "-d",
            "--constraint",
            "node.labels.disk==ssd",
            "busybox",
            "sleep",
            "100",
        ],
    )
    .success();
    assert!(berth_tests::eventually(30, || {
        docker(
            &d,
            &[
                "service",
                "ps",
                "picky",
                "--format",
                "{{.CurrentState}} {{.Error}}",
                "--no-trunc",
            ],
        )
        .out()
        .contains("no suitable node (scheduling constraints not satisfied on 1 node)")
    }));
    docker(
        &d,
        &[
            "service",
            "create",
            "--name",
            "bad",
            "-d",
            "--constraint",
            "node.colour==red",
            "busybox",
        ],
    )
    .failure()
    .stderr_contains("invalid constraint");
    // A node label makes it schedulable.
    docker(
        &d,
        &[
            "node",
            "update",
            "--label-add",
            "disk=ssd",
            &docker(&d, &["node", "ls", "-q"]).out(),
        ],
    )
    .success();
    assert!(berth_tests::eventually(60, || running_of(&d, "picky")
        .len()
        == 1));

    docker(
        &d,
        &[
            "service",
            "create",
            "--name",
            "crash",
            "-d",
            "--restart-delay",
            "200ms",
            "--restart-max-attempts",
            "2",
            "busybox",
            "sh",
            "-c",
            "exit 3",
        ],
    )
    .success();
    assert!(berth_tests::eventually(60, || {
        docker(&d, &["service", "ps", "crash", "-q"]).lines().len() == 3
    }));
    std::thread::sleep(std::time::Duration::from_secs(2));
    assert_eq!(
        docker(&d, &["service", "ps", "crash", "-q"]).lines().len(),
        3,
        "max attempts 2: three tasks in all"
    );
    docker(&d, &["service", "ps", "crash", "--format", "{{.Error}}"])
        .success()
        .stdout_contains("task: non-zero exit (3)");

    docker(
        &d,
        &[
            "service",
            "create",
            "--name",
            "keep",
            "--replicas",
            "2",
            "-d",
            "busybox",
            "sleep",
            "1000",
        ],
    )
    .success();
    assert!(berth_tests::eventually(60, || running_of(&d, "keep").len() == 2));
    let before = {
        let mut v = running_of(&d, "keep");
        v.sort();
        v
    };
    d.kill_daemon();
    d.restart_daemon();
    assert!(
        berth_tests::eventually(30, || replicas(&d, "keep") == "2/2"),
        "{}",
        replicas(&d, "keep")
    );
    std::thread::sleep(std::time::Duration::from_secs(1));
    let mut after = running_of(&d, "keep");
    after.sort();
    assert_eq!(before, after, "the same containers, none duplicated");
    docker(&d, &["info", "--format", "{{.Swarm.LocalNodeState}}"])
        .success()
        .stdout_is("active\n");
}

/// Autolock: after a restart the swarm is locked (503 with moby's message) until
/// `swarm unlock` gets the key.
#[test]
fn swarm_autolock_and_unlock() {
    let mut d = TestDaemon::start();
    let out = docker(
        &d,
        &[
            "swarm",
            "init",
            "--advertise-addr",
            "127.0.0.1",
            "--autolock",
        ],
    )
    .success()
    .out();
    assert!(out.contains("SWMKEY-1-"), "{out}");
    let key = docker(&d, &["swarm", "unlock-key", "-q"]).success().out();
    assert!(key.starts_with("SWMKEY-1-"), "{key}");
    d.restart_daemon();
    docker(&d, &["info", "--format", "{{.Swarm.LocalNodeState}}"])
        .success()
        .stdout_is("locked\n");
    docker(&d, &["service", "ls"])
        .failure()
        .stderr_contains("Swarm is encrypted and needs to be unlocked");
    d.cli(Client::Docker, ["swarm", "unlock"])
        .stdin("SWMKEY-1-AAAA\n")
        .run()
        .failure()
        .stderr_contains("invalid key");
    d.cli(Client::Docker, ["swarm", "unlock"])
        .stdin(format!("{key}\n"))
        .run()
        .success();
    docker(&d, &["service", "ls"]).success();
    docker(&d, &["swarm", "update", "--autolock=false"]).success();
    d.restart_daemon();
    docker(&d, &["info", "--format", "{{.Swarm.LocalNodeState}}"])
        .success()
        .stdout_is("active\n");
}

/// The same walkthrough through berth's own CLI: its tables, `--format` and messages.
#[test]
fn swarm_walkthrough_with_the_berth_cli() {
    let d = TestDaemon::start();
    let b = |args: &[&str]| d.run(Client::Berth, args);
    swarm::init(&d, Client::Berth)
        .stdout_contains("Swarm initialized: current node (")
        .stdout_contains("berth swarm join --token SWMTKN-1-");
    b(&["node", "ls"])
        .success()
        .stdout_contains("MANAGER STATUS")
        .stdout_contains("Leader");
    b(&["swarm", "join-token", "-q", "manager"])
        .success()
        .stdout_contains("SWMTKN-1-");
    b(&["swarm", "unlock-key"])
        .failure()
        .stderr_contains("no unlock key is set");
    b(&[
        "service",
        "create",
        "-d",
        "--name",
        "web",
        "--replicas",
        "2",
        "busybox",
        "sleep",
        "1000",
    ])
    .success();
    assert!(berth_tests::eventually(60, || replicas(&d, "web") == "2/2"));
    b(&["service", "ls"])
        .success()
        .stdout_contains("MODE")
        .stdout_contains("replicated   2/2");
    b(&["service", "ls", "--format", "{{.Name}} {{.Replicas}}"])
        .success()
        .stdout_is("web 2/2\n");
    b(&[
        "service",
        "ps",
        "web",
        "--format",
        "{{.Name}} {{.DesiredState}}",
    ])
    .success()
    .stdout_is("web.1 Running\nweb.2 Running\n");
    b(&["service", "scale", "-d", "web=1"])
        .success()
        .stdout_is("web scaled to 1\n");
    assert!(berth_tests::eventually(60, || running_of(&d, "web").len() == 1));
    b(&["tag", "busybox", "busybox:v2"]).success();
    b(&["service", "update", "--image", "busybox:v2", "web"])
        .success()
        .stdout_contains("converged");
    b(&["service", "inspect", "-f", "{{.Spec.TaskTemplate.ContainerSpec.Image}} {{.PreviousSpec.TaskTemplate.ContainerSpec.Image}}", "web"])
        .success()
        .stdout_is("busybox:v2 busybox:latest\n");
    b(&["service", "rollback", "web"]).success();
    b(&[
        "service",
        "inspect",
        "-f",
        "{{.Spec.TaskTemplate.ContainerSpec.Image}}",
        "web",
    ])
    .success()
    .stdout_is("busybox:latest\n");
    b(&["service", "inspect", "nope"])
        .failure()
        .stderr_contains("no such service: nope");
    d.cli(Client::Berth, ["secret", "create", "pw", "-"])
        .stdin("x")
        .run()
        .success();
    b(&["secret", "ls", "--format", "{{.Name}}"])
        .success()
        .stdout_is("pw\n");
    b(&["secret", "rm", "pw"]).success().stdout_is("pw\n");
    b(&["service", "rm", "web"]).success().stdout_is("web\n");
    b(&["swarm", "leave", "--force"])
        .success()
        .stdout_is("Node left the swarm.\n");
    b(&["service", "ls"])
        .failure()
        .stderr_contains("This node is not a swarm manager.");
}
