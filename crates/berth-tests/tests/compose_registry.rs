//! The registry commands of `berth compose` against a private registry on 127.0.0.1
//! (prefix `compose_registry_`): `push` (and `push -q`), `pull -q`,
//! `pull --ignore-pull-failures`, and `build --pull`. Each runs with `berth compose` and
//! with docker compose 2.40.3 against the same berth daemon; the exit codes and the
//! comparable output are compared, and the effect is asserted: the pushed tag is in the
//! registry and pulls back by digest, the pulled image is there, `build --pull` builds on
//! the registry's newer base while a plain `build` keeps the local one.
//!
//! Safety: the only registry is the harness's docker-registry on 127.0.0.1
//! ([`berth_tests::registry::LocalRegistry`]); every project's network gets a bridge named
//! by the test (removed by the guard); nothing is published.

use berth_tests::compose::{bridged_project, project_left, run_compose, write_project, TOOLS};
use berth_tests::nettest::watched_daemon;
use berth_tests::registry::LocalRegistry;
use berth_tests::{NetGuard, TestDaemon};

/// `docker inspect -f FORMAT NAME` on the berth daemon, trimmed.
fn inspect(d: &TestDaemon, name: &str, format: &str) -> String {
    d.docker(["inspect", "-f", format, name])
        .run()
        .success()
        .out()
        .trim()
        .to_string()
}

/// compose 2.40 warns that COMPOSE_BAKE=false is deprecated (a logrus line on stderr):
/// not part of what is compared.
fn without_bake_warning(s: &str) -> String {
    s.lines()
        .filter(|l| !l.contains("COMPOSE_BAKE=false is deprecated"))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// `s`'s lines sorted (compose pulls its services at once, so their lines interleave in
/// any order; berth pulls them one after the other).
fn sorted_lines(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s.lines().map(str::to_string).collect();
    v.sort();
    v
}

/// `s` with every 12-hex-digit word (a layer's short id) made `LAYER`: each tool pushes
/// an image of its own.
fn mask_layers(s: &str) -> String {
    s.split(' ')
        .map(|w| {
            let hex = w.trim_end_matches(':');
            if hex.len() == 12 && hex.chars().all(|c| c.is_ascii_hexdigit()) {
                w.replace(hex, "LAYER")
            } else {
                w.to_string()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The digest the registry serves for `repo:tag` (its Docker-Content-Digest header).
fn registry_digest(reg: &LocalRegistry, repo: &str, tag: &str) -> String {
    let out = std::process::Command::new("curl")
        .args([
            "-fsSI",
            "-H",
            "Accept: application/vnd.oci.image.manifest.v1+json",
            "-H",
            "Accept: application/vnd.docker.distribution.manifest.v2+json",
        ])
        .arg(format!("http://{}/v2/{repo}/manifests/{tag}", reg.host()))
        .output()
        .expect("curl");
    let head = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(out.status.success(), "HEAD {repo}:{tag}: {head}");
    head.lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("docker-content-digest")
                .then(|| v.trim().to_string())
        })
        .unwrap_or_else(|| panic!("no digest header: {head}"))
}

/// `push` sends the built image of each service with `build` and `image` to the
/// registry (the one without `build` is skipped); the tag is in the registry and the
/// image pulls back by its digest, the same image. `push -q` prints nothing. Exit codes
/// and stdout as docker compose's.
#[test]
fn compose_registry_push_and_pull_back_by_digest() {
    let reg = LocalRegistry::start();
    let mut g = NetGuard::new("bt-rg1");
    let d = watched_daemon(&mut g);
    let mut seen = Vec::new();
    for tool in TOOLS {
        let proj = tool.project("rgpush");
        let repo = format!("rg/{proj}");
        let image = format!("{}/{repo}:1", reg.host());
        let dir = bridged_project(
            &d,
            &mut g,
            &proj,
            &format!("  web:\n    image: {image}\n    build: .\n  plain:\n    image: busybox\n"),
        );
        write_project(
            &d,
            &proj,
            &[(
                "Dockerfile",
                &format!("FROM busybox\nRUN echo {proj} > /who\n"),
            )],
        );
        run_compose(&d, tool, &dir, &["build"]).success();
        let id = inspect(&d, &image, "{{.Id}}");
        let q = run_compose(&d, tool, &dir, &["push", "-q"]);
        assert_eq!(q.code, 0, "{tool:?}: {}", q.stderr);
        assert_eq!(
            (q.stdout.as_str(), without_bake_warning(&q.stderr).as_str()),
            ("", ""),
            "{tool:?}: push -q prints nothing"
        );
        let digest = registry_digest(&reg, &repo, "1");
        let p = run_compose(&d, tool, &dir, &["push"]);
        assert_eq!(p.code, 0, "{tool:?}: {}", p.stderr);
        // The same content, the same digest.
        assert_eq!(registry_digest(&reg, &repo, "1"), digest, "{tool:?}");
        d.docker(["rmi", &image]).run().success();
        let by_digest = format!("{}/{repo}@{digest}", reg.host());
        d.docker(["pull", &by_digest]).run().success();
        assert_eq!(inspect(&d, &by_digest, "{{.Id}}"), id, "{tool:?}");
        let who = d
            .docker(["run", "--rm", &by_digest, "cat", "/who"])
            .run()
            .success()
            .out();
        assert_eq!(who.trim(), proj, "{tool:?}");
        assert!(project_left(&d, &proj).is_empty(), "{tool:?}");
        let err = without_bake_warning(&p.stderr);
        assert!(
            err.contains(&format!(" Pushing {image}: "))
                && err.contains(" Layer already exists \n"),
            "{tool:?}: {err}"
        );
        seen.push((
            p.code,
            p.stdout.replace(&proj, "PROJ"),
            mask_layers(&err.replace(&proj, "PROJ")),
        ));
    }
    assert_eq!(seen[0], seen[1], "berth (left) and docker compose (right)");
}

/// `pull` of a project where one image is missing from the registry fails in both tools
/// alike; `pull --ignore-pull-failures` pulls what it can and succeeds; `pull -q` pulls
/// silently.
#[test]
fn compose_registry_pull_quiet_and_ignore_failures() {
    let reg = LocalRegistry::start();
    let mut g = NetGuard::new("bt-rg2");
    let d = watched_daemon(&mut g);
    let image = format!("{}/rg/present:1", reg.host());
    let missing = format!("{}/rg/absent:1", reg.host());
    d.docker(["tag", "busybox", &image]).run().success();
    d.docker(["push", &image]).run().success();
    let mut seen = Vec::new();
    for tool in TOOLS {
        let proj = tool.project("rgpull");
        let dir = bridged_project(
            &d,
            &mut g,
            &proj,
            &format!("  a:\n    image: {image}\n  b:\n    image: {missing}\n"),
        );
        let mut got = Vec::new();
        d.docker(["rmi", &image]).run().success();
        let plain = run_compose(&d, tool, &dir, &["pull"]);
        assert_ne!(plain.code, 0, "{tool:?}: {}", plain.stderr);
        // compose pulls a and b at once: a's lines depend on when b failed (`a
        // Interrupted` or not); b's error line and the command's error are compared.
        let err = without_bake_warning(&plain.stderr);
        got.push(format!(
            "pull: {} {:?} {:?} {:?}",
            plain.code,
            plain.stdout,
            err.lines()
                .filter(|l| l.starts_with(" b "))
                .collect::<Vec<_>>(),
            err.lines().last()
        ));
        d.docker(["rmi", "-f", &image]).run();
        let ign = run_compose(&d, tool, &dir, &["pull", "--ignore-pull-failures"]);
        assert_eq!(ign.code, 0, "{tool:?}: {}", ign.stderr);
        assert!(
            ign.stderr.contains("absent"),
            "{tool:?}: the failure is reported: {}",
            ign.stderr
        );
        inspect(&d, &image, "{{.Id}}");
        got.push(format!(
            "pull --ignore-pull-failures: {:?} {:?}",
            ign.stdout,
            sorted_lines(&without_bake_warning(&ign.stderr))
        ));
        d.docker(["rmi", &image]).run().success();
        let q = run_compose(&d, tool, &dir, &["pull", "-q", "a"]);
        got.push(format!(
            "pull -q: {} {:?} {:?}",
            q.code,
            q.stdout,
            without_bake_warning(&q.stderr)
        ));
        inspect(&d, &image, "{{.Id}}");
        let qf = run_compose(&d, tool, &dir, &["pull", "-q", "--ignore-pull-failures"]);
        got.push(format!(
            "pull -q --ignore-pull-failures: {} {:?} {:?}",
            qf.code,
            qf.stdout,
            sorted_lines(&without_bake_warning(&qf.stderr))
        ));
        assert!(project_left(&d, &proj).is_empty(), "{tool:?}");
        seen.push(got);
    }
    for (b, c) in seen[0].iter().zip(&seen[1]) {
        assert_eq!(b, c, "berth (left) and docker compose (right)\n{seen:#?}");
    }
    // compose 2.40's `pull -q` still names the services (only the layers are left out).
    assert!(
        seen[0]
            .iter()
            .any(|l| l == r#"pull -q: 0 "" " a Pulling \n a Pulled \n""#),
        "{:#?}",
        seen[0]
    );
}

/// `build --pull` pulls the base image the registry has now (newer than the local one)
/// and builds on it; a plain `build` keeps building on the local base. Both tools alike.
#[test]
fn compose_registry_build_pull_takes_the_newer_base() {
    let reg = LocalRegistry::start();
    let mut g = NetGuard::new("bt-rg3");
    let d = watched_daemon(&mut g);
    let base = format!("{}/rg/base:1", reg.host());
    // The registry's base: busybox with /base-version; the local one: busybox itself.
    let maker = "rg-base-maker";
    d.docker([
        "run",
        "--name",
        maker,
        "--network",
        "none",
        "busybox",
        "sh",
        "-c",
        "echo two > /base-version",
    ])
    .run()
    .success();
    d.docker(["commit", maker, &base]).run().success();
    d.docker(["rm", maker]).run().success();
    d.docker(["push", &base]).run().success();
    let mut seen = Vec::new();
    for tool in TOOLS {
        d.docker(["tag", "busybox", &base]).run().success();
        let proj = tool.project("rgbuild");
        let image = format!("{proj}-img:1");
        let dir = bridged_project(
            &d,
            &mut g,
            &proj,
            &format!("  web:\n    image: {image}\n    build: .\n"),
        );
        write_project(
            &d,
            &proj,
            &[(
                "Dockerfile",
                &format!(
                    "FROM {base}\nRUN cat /base-version > /seen 2>/dev/null || echo none > /seen\n"
                ),
            )],
        );
        let seen_in = |d: &TestDaemon| {
            d.docker(["run", "--rm", "--network", "none", &image, "cat", "/seen"])
                .run()
                .success()
                .out()
                .trim()
                .to_string()
        };
        let b = run_compose(&d, tool, &dir, &["build"]);
        assert_eq!(b.code, 0, "{tool:?}: {}", b.stderr);
        assert_eq!(seen_in(&d), "none", "{tool:?}: plain build, local base");
        let bp = run_compose(&d, tool, &dir, &["build", "--pull"]);
        assert_eq!(bp.code, 0, "{tool:?}: {}", bp.stderr);
        assert_eq!(
            seen_in(&d),
            "two",
            "{tool:?}: build --pull, registry's base"
        );
        assert!(project_left(&d, &proj).is_empty(), "{tool:?}");
        d.docker(["rmi", &image]).run().success();
        seen.push((b.code, bp.code));
    }
    assert_eq!(seen[0], seen[1]);
}
