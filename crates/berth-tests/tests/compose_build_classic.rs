//! `build` keys under the classic builder, berth compose against docker compose 2.40.3
//! (DOCKER_BUILDKIT=0: neither buildx nor BuildKit is installed here), both against the
//! same berth daemon (prefix `compose_build_classic_`):
//! - the keys only BuildKit can do (`secrets`, `ssh`, `additional_contexts`, `privileged`,
//!   two `platforms`) fail `build` and `up` with compose's words
//!   (`the classic builder doesn't support secrets, set DOCKER_BUILDKIT=1 to use
//!   BuildKit`), exit 1, and nothing is built or created;
//! - `network: none` / `host` change what a RUN step sees: the interfaces of
//!   `/proc/net/dev` written into the image are `lo` alone with `none`, the host's with
//!   `host` (its `ifb0` among them), the build container's (`eth0`, `lo`) by default.
//!
//! `cache_from` is not here: compose's classic builder does not send it (its build
//! request has no `cachefrom`, seen on the wire with compose 2.40.3), and berth compose
//! leaves it out the same way (see `buildkit_only` in berth-compose's ops.rs).
//!
//! Safety: every project's network gets a bridge named by the test (removed by the guard);
//! nothing is published; `network: host` only reads the host's interface names.

use berth_tests::compose::{
    named_bridged_project, project_left, run_compose, write_project, Tool, TOOLS,
};
use berth_tests::nettest::watched_daemon;
use berth_tests::{NetGuard, TestDaemon};

/// stderr without compose's COMPOSE_BAKE deprecation warning, the project named `P` (the
/// build's progress lines, ` Service app  Building` and the rest, are compared too).
fn stderr_lines(s: &str, proj: &str) -> Vec<String> {
    s.replace(proj, "P")
        .lines()
        .filter(|l| !l.contains("COMPOSE_BAKE=false is deprecated"))
        .map(|l| l.trim_end().to_string())
        .collect()
}

fn image_exists(d: &TestDaemon, name: &str) -> bool {
    d.docker(["image", "inspect", name]).run().code == 0
}

#[test]
fn compose_build_classic_buildkit_only_keys_refused_as_docker_compose() {
    let mut g = NetGuard::new("bt-bc1");
    let d = watched_daemon(&mut g);
    let cases = [
        ("secrets", "      secrets: [tok]\n", "secrets"),
        ("ssh", "      ssh: [default]\n", "SSH keys"),
        (
            "contexts",
            "      additional_contexts:\n        extra: .\n",
            "additional contexts",
        ),
        ("privileged", "      privileged: true\n", "privileged mode"),
        (
            "platforms",
            "      platforms: [linux/amd64, linux/arm64]\n",
            "multi-arch build",
        ),
    ];
    let mut seen: Vec<Vec<String>> = Vec::new();
    for tool in TOOLS {
        let mut got = Vec::new();
        for (case, key, _) in cases {
            let proj = tool.project(&format!("bc{case}"));
            let services =
                format!("  app:\n    build:\n      context: .\n{key}    command: sleep 600\n");
            let dir = named_bridged_project(&d, &mut g, &proj, &services);
            let yaml = std::fs::read_to_string(dir.join("compose.yaml")).expect("yaml");
            std::fs::write(
                dir.join("compose.yaml"),
                format!("{yaml}secrets:\n  tok:\n    file: ./Dockerfile\n"),
            )
            .expect("yaml");
            write_project(&d, &proj, &[("Dockerfile", "FROM busybox\nRUN true\n")]);
            for args in [&["build"][..], &["up", "-d"]] {
                let o = run_compose(&d, tool, &dir, args);
                got.push(format!(
                    "{case} {args:?}: exit {} {:?} image built: {} containers: {}",
                    o.code,
                    stderr_lines(&o.stderr, &proj),
                    image_exists(&d, &format!("{proj}-app")),
                    !project_left(&d, &proj).is_empty(),
                ));
            }
            run_compose(&d, tool, &dir, &["down", "--rmi", "local"]).success();
        }
        seen.push(got);
    }
    assert_eq!(seen[0], seen[1], "berth (left) and docker compose (right)");
    // `build` refuses every one; `up` too, but with two platforms (it builds for the
    // engine's one only, in compose as in berth).
    for (i, (case, _, what)) in cases.iter().enumerate() {
        for line in &seen[0][2 * i..2 * i + 2] {
            if *case == "platforms" && line.contains("\"up\"") {
                continue;
            }
            assert!(
                line.contains(": exit 1 ")
                    && line.contains(&format!(
                        "the classic builder doesn't support {what}, set DOCKER_BUILDKIT=1 to use BuildKit"
                    ))
                    && line.ends_with("image built: false containers: false"),
                "{case}: {line}"
            );
        }
    }
}

/// The interface names a RUN step saw, built with `network` (None: not set) by `tool`.
fn interfaces_seen(
    d: &TestDaemon,
    g: &mut NetGuard,
    tool: Tool,
    case: &str,
    network: Option<&str>,
) -> Vec<String> {
    let proj = tool.project(&format!("bcnet{case}"));
    let net = network
        .map(|n| format!("      network: {n}\n"))
        .unwrap_or_default();
    let services = format!("  app:\n    build:\n      context: .\n{net}    command: cat /ifs\n");
    let dir = named_bridged_project(d, g, &proj, &services);
    write_project(
        d,
        &proj,
        &[(
            "Dockerfile",
            "FROM busybox\nRUN tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort > /ifs\n",
        )],
    );
    // --no-cache: the classic builder's cache does not key on the network mode.
    let o = run_compose(d, tool, &dir, &["build", "--no-cache"]);
    assert_eq!(o.code, 0, "{tool:?} {case}: {}", o.stderr);
    let image = format!("{proj}-app");
    let o = d
        .docker(["run", "--rm", "--network", "none", &image, "cat", "/ifs"])
        .run();
    assert_eq!(o.code, 0, "{tool:?} {case}: {}", o.stderr);
    run_compose(d, tool, &dir, &["down", "--rmi", "local"]).success();
    assert!(!image_exists(d, &image), "{tool:?} {case}: image left");
    assert!(project_left(d, &proj).is_empty(), "{tool:?} {case}");
    o.out().lines().map(str::to_string).collect()
}

#[test]
fn compose_build_classic_network_changes_what_run_sees() {
    let mut g = NetGuard::new("bt-bc2");
    let d = watched_daemon(&mut g);
    let mut seen = Vec::new();
    for tool in TOOLS {
        let none = interfaces_seen(&d, &mut g, tool, "none", Some("none"));
        let default = interfaces_seen(&d, &mut g, tool, "default", None);
        let host = interfaces_seen(&d, &mut g, tool, "host", Some("host"));
        // The host's own interfaces, without the ones daemons and tests come and go with.
        let host: Vec<String> = host
            .into_iter()
            .filter(|i| ["lo", "eth0"].contains(&i.as_str()) || i.starts_with("ifb"))
            .collect();
        seen.push((none, default, host));
    }
    assert_eq!(seen[0], seen[1], "berth (left) and docker compose (right)");
    let (none, default, host) = &seen[0];
    assert_eq!(none, &["lo"], "{seen:?}");
    assert_eq!(default, &["eth0", "lo"], "{seen:?}");
    assert!(
        host.contains(&"lo".to_string()) && host.iter().any(|i| i.starts_with("ifb")),
        "network: host sees the host's interfaces (ifb0 among them): {seen:?}"
    );
}
