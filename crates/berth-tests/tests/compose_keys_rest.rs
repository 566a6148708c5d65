//! The service keys of issue 17 that no other test sends to the daemon (prefix
//! `compose_keys_rest_`): `healthcheck.start_interval` and `disable`, a volume's `subpath`,
//! `deploy.restart_policy`, and `build` with `args`, `target`, `labels` and `tags`. One
//! project per tool (berth compose, docker compose 2.40.3) against the same berth daemon,
//! `create` only; the containers and images read back through `docker inspect`, compared
//! with the project names made equal.
//!
//! Safety: every project's network gets a bridge named by the test (removed by the guard);
//! nothing is published or started.

use berth_tests::compose::{
    named_bridged_project, project_left, run_compose, write_project, TOOLS,
};
use berth_tests::nettest::watched_daemon;
use berth_tests::NetGuard;

#[test]
fn compose_keys_rest_reach_the_daemon_as_docker_compose() {
    let mut g = NetGuard::new("bt-kr1");
    let d = watched_daemon(&mut g);
    let mut seen: Vec<Vec<String>> = Vec::new();
    for tool in TOOLS {
        let proj = tool.project("krest");
        let services = format!(
            "  hc:\n    image: busybox\n    command: sleep 600\n    healthcheck:\n      test: [\"CMD\", \"true\"]\n      interval: 30s\n      start_period: 10s\n      start_interval: 2s\n    volumes:\n      - type: volume\n        source: data\n        target: /sub\n        volume: {{subpath: inner/dir}}\n    deploy:\n      restart_policy:\n        condition: on-failure\n        max_attempts: 3\n  off:\n    image: busybox\n    command: sleep 600\n    healthcheck:\n      disable: true\n  built:\n    build:\n      context: .\n      target: second\n      args:\n        WORD: hello\n      labels:\n        x.built: \"yes\"\n      tags:\n        - {proj}-extra:7\n    image: {proj}-img:1\n    command: cat /word\n"
        );
        let dir = named_bridged_project(&d, &mut g, &proj, &services);
        let yaml = std::fs::read_to_string(dir.join("compose.yaml")).expect("yaml");
        std::fs::write(
            dir.join("compose.yaml"),
            format!("{yaml}volumes:\n  data: {{}}\n"),
        )
        .expect("yaml");
        write_project(
            &d,
            &proj,
            &[(
                "Dockerfile",
                "FROM busybox AS first\nRUN echo first > /word\nFROM busybox AS second\nARG WORD\nRUN echo \"$WORD\" > /word\nFROM busybox AS third\nRUN echo third > /word\n",
            )],
        );
        let o = run_compose(&d, tool, &dir, &["create"]);
        assert_eq!(o.code, 0, "{tool:?}: {}", o.stderr);
        let c = |svc: &str, f: &str| {
            d.docker(["inspect", "-f", f, &format!("{proj}-{svc}-1")])
                .run()
                .out()
                .trim()
                .replace(&proj, "PROJ")
        };
        let img = |name: &str, f: &str| {
            let o = d.docker(["image", "inspect", "-f", f, name]).run();
            format!("{} {}", o.code, o.out().trim())
        };
        let mut got = vec![
            format!("hc health: {}", c("hc", "{{json .Config.Healthcheck}}")),
            format!("hc mounts: {}", c("hc", "{{json .HostConfig.Mounts}}")),
            format!(
                "hc restart: {}",
                c("hc", "{{json .HostConfig.RestartPolicy}}")
            ),
            format!("off health: {}", c("off", "{{json .Config.Healthcheck}}")),
            format!(
                "built label: {}",
                img(
                    &format!("{proj}-img:1"),
                    "{{index .Config.Labels \"x.built\"}}"
                )
            ),
            format!(
                "built tag: {}",
                img(
                    &format!("{proj}-extra:7"),
                    "{{index .Config.Labels \"x.built\"}}"
                )
            ),
        ];
        // The target stage with the argument: run the created container.
        let run = d.docker(["start", "-a", &format!("{proj}-built-1")]).run();
        got.push(format!("built runs: {} {}", run.code, run.out().trim()));
        // `--rmi all` would remove busybox too, which the next tool needs.
        run_compose(&d, tool, &dir, &["down", "-v"]).success();
        for i in [format!("{proj}-img:1"), format!("{proj}-extra:7")] {
            d.docker(["rmi", &i]).run().success();
        }
        assert!(project_left(&d, &proj).is_empty(), "{tool:?}");
        seen.push(got);
    }
    assert_eq!(seen[0], seen[1], "berth (left) and docker compose (right)");
    let b = &seen[0];
    assert!(b[0].contains("\"StartInterval\":2000000000"), "{b:#?}");
    assert!(b[1].contains("\"Subpath\":\"inner/dir\""), "{b:#?}");
    assert!(b[2].contains("on-failure") && b[2].contains('3'), "{b:#?}");
    assert!(b[3].contains("NONE"), "{b:#?}");
    assert_eq!(b[4], "built label: 0 yes", "{b:#?}");
    assert_eq!(b[5], "built tag: 0 yes", "{b:#?}");
    assert_eq!(b[6], "built runs: 0 hello", "{b:#?}");
}
