//! The setup and probes the swarm test files (`tests/swarm*.rs`) share: a one-node swarm
//! on a test daemon (with or without an address pool of the daemon's own slot), the
//! running containers of a service, its `REPLICAS` column, waiting for its tasks, its
//! stored spec, and the container of its current task.

use crate::{eventually, Client, Output, TestDaemon};
use serde_json::Value;

/// `swarm init --advertise-addr 127.0.0.1` through `c`, which must succeed; its output.
pub fn init(d: &TestDaemon, c: Client) -> Output {
    let o = d.run(c, &["swarm", "init", "--advertise-addr", "127.0.0.1"]);
    o.success();
    o
}

/// [`init`] with the swarm's address pool in the daemon's own slot (10.216.SLOT.0/24 in
/// /26s): overlay networks of tests that run in parallel never share a subnet.
pub fn init_pooled(d: &TestDaemon, c: Client) {
    let pool = format!("10.216.{}.0/24", d.net.n);
    d.run(
        c,
        &[
            "swarm",
            "init",
            "--advertise-addr",
            "127.0.0.1",
            "--default-addr-pool",
            &pool,
            "--default-addr-pool-mask-length",
            "26",
        ],
    )
    .success();
}

/// The running containers of `service` (by the label swarm puts on them), short ids.
pub fn running_of(d: &TestDaemon, service: &str) -> Vec<String> {
    d.run(
        Client::Docker,
        &[
            "ps",
            "-q",
            "--filter",
            &format!("label=com.docker.swarm.service.name={service}"),
        ],
    )
    .success()
    .lines()
}

/// `service ls`'s REPLICAS column for `service`, through `c`.
pub fn replicas(d: &TestDaemon, c: Client, service: &str) -> String {
    d.run(
        c,
        &[
            "service",
            "ls",
            "--filter",
            &format!("name={service}"),
            "--format",
            "{{.Replicas}}",
        ],
    )
    .out()
}

/// Waits (60 s) until `service` runs `n` containers and shows `n/n` replicas.
pub fn wait_running(d: &TestDaemon, service: &str, n: usize) {
    assert!(
        eventually(60, || running_of(d, service).len() == n
            && replicas(d, Client::Docker, service) == format!("{n}/{n}")),
        "{service}: {} running\n{}",
        running_of(d, service).len(),
        d.run(Client::Docker, &["service", "ps", "--no-trunc", service])
            .out()
    );
}

/// The parts of a service's stored spec the flag tests compare: its task template and
/// mode (as the docker CLI shows them).
pub fn task_spec(d: &TestDaemon, name: &str) -> Value {
    let out = d
        .run(
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

/// The one running container of `service`'s task other than `not` (a full id), waited
/// for up to 90 s; the tasks' states in the panic message when none comes.
pub fn task_container(d: &TestDaemon, service: &str, not: &str) -> String {
    let mut found = String::new();
    let ok = eventually(90, || {
        let ids = d
            .run(
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
        d.run(
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

/// The `CurrentState|Error` lines of `service`'s tasks (`service ps --no-trunc`).
pub fn task_states(d: &TestDaemon, service: &str) -> Vec<String> {
    d.run(
        Client::Docker,
        &[
            "service",
            "ps",
            "--no-trunc",
            "--format",
            "{{.CurrentState}}|{{.Error}}",
            service,
        ],
    )
    .lines()
}
