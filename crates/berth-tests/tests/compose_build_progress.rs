//! The progress lines of a real build (not a dry run), berth compose against docker
//! compose 2.40.3 (classic builder: DOCKER_BUILDKIT=0, no buildx here), both against the
//! same berth daemon (prefix `compose_build_progress_`): `build` and `up -d --build` print
//! compose's ` Service app  Building` / ` Service app  Built` lines (and `up`'s container
//! lines) on stderr in the plain (not a terminal) form, with the build's own output on
//! stdout; the image carries compose's `com.docker.compose.image.builder=classic` label.
//!
//! Safety: the project's network gets a bridge named by the test (removed by the guard);
//! nothing is published.

use berth_tests::compose::{named_bridged_project, run_compose, write_project, TOOLS};
use berth_tests::nettest::watched_daemon;
use berth_tests::NetGuard;

/// stderr's lines without compose's COMPOSE_BAKE deprecation warning, the project
/// named `P`: the build's lines in their order, then the others (`up`'s networks and
/// containers, which compose handles in parallel goroutines: their order between
/// services varies) sorted.
fn stderr_lines(s: &str, proj: &str) -> Vec<String> {
    let lines: Vec<String> = s
        .replace(proj, "P")
        .lines()
        .filter(|l| !l.contains("COMPOSE_BAKE=false is deprecated"))
        .map(|l| l.trim_end().to_string())
        .collect();
    let is_build = |l: &String| l.starts_with(" Service app ") || l == " app  Built";
    // The build comes before anything is created.
    if let Some(last) = lines.iter().rposition(is_build) {
        assert!(lines[..last].iter().all(is_build), "{lines:?}");
    }
    let (mut build, mut rest): (Vec<String>, Vec<String>) = lines.into_iter().partition(is_build);
    rest.sort();
    build.extend(rest);
    build
}

#[test]
fn compose_build_progress_lines_as_docker_compose() {
    let mut g = NetGuard::new("bt-bp1");
    let d = watched_daemon(&mut g);
    let mut seen: Vec<Vec<String>> = Vec::new();
    for tool in TOOLS {
        let proj = tool.project("bprog");
        let services = "  app:\n    build: .\n    command: sleep 600\n  other:\n    image: busybox\n    command: sleep 600\n";
        let dir = named_bridged_project(&d, &mut g, &proj, services);
        write_project(&d, &proj, &[("Dockerfile", "FROM busybox\nRUN true\n")]);
        let mut got = Vec::new();
        for args in [
            &["build"][..],
            &["build", "-q"],
            &["build", "app"],
            &["up", "-d", "--build"],
            &["up", "-d", "--build", "--quiet-build"],
        ] {
            let o = run_compose(&d, tool, &dir, args);
            got.push(format!(
                "{args:?}: exit {} {:?}",
                o.code,
                stderr_lines(&o.stderr, &proj)
            ));
        }
        // compose's classic build labels the image with its builder.
        let label = d
            .docker([
                "image",
                "inspect",
                "-f",
                "{{index .Config.Labels \"com.docker.compose.image.builder\"}}",
                &format!("{proj}-app"),
            ])
            .run();
        got.push(format!("builder label: {}", label.out().trim()));
        run_compose(&d, tool, &dir, &["down", "--rmi", "local"]).success();
        seen.push(got);
    }
    assert_eq!(seen[0], seen[1], "berth (left) and docker compose (right)");
    assert_eq!(seen[0][5], "builder label: classic");
    // What compose shows, spelt out: the three lines around every build but `build -q`'s.
    let lines = [
        " Service app  Building",
        " Service app  Built",
        " app  Built",
    ];
    for (i, got) in seen[0][..5].iter().enumerate() {
        let quiet = i == 1;
        for l in lines {
            assert_eq!(got.contains(&format!("{l:?}")), !quiet, "{got}");
        }
    }
    assert!(
        seen[0][3].contains("Container P-app-1  Started"),
        "{}",
        seen[0][3]
    );
}
