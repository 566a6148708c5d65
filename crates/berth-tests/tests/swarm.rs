//! Swarm mode (prefix `swarm_`): the swarm endpoints through the Engine API, the docker CLI
//! and berth's CLI. The expected answers were taken from a private dockerd in swarm mode
//! (20.10, whose answers here are moby 28's).

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
        assert_eq!(
            text,
            format!("{{\"message\":\"{NOT_MANAGER}\"}}"),
            "{method} {path}"
        );
    }
    let (code, text) = d.api("POST", "/v1.47/swarm/leave?force=1", None);
    assert_eq!(code, 503, "{text}");
    assert_eq!(text, r#"{"message":"This node is not part of a swarm"}"#);
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
