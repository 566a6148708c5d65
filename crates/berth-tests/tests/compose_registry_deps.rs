//! `pull --include-deps` and `push --include-deps` of `berth compose` against a private
//! registry on 127.0.0.1 (prefix `compose_registry_deps_`), each run with `berth compose`
//! and with docker compose 2.40.3 against the same berth daemon. Without the flag only the
//! named service's image moves; with it, the images of every service it depends on too,
//! transitively and through implicit dependencies (`links`), and never an unrelated one.
//! What moved is read from the daemon (pull) and from the registry (push); the exit codes
//! and the progress lines (as sets: compose pulls and pushes at once) are compared.
//!
//! Safety: the only registry is the harness's docker-registry on 127.0.0.1
//! ([`berth_tests::registry::LocalRegistry`]); every project's network gets a bridge named
//! by the test (removed by the guard); nothing is published and no container is created.

use berth_tests::compose::{bridged_project, project_left, run_compose, write_project, TOOLS};
use berth_tests::nettest::watched_daemon;
use berth_tests::registry::LocalRegistry;
use berth_tests::{NetGuard, TestDaemon};

/// compose 2.40 warns that COMPOSE_BAKE=false is deprecated (a logrus line on stderr):
/// not part of what is compared.
fn without_bake_warning(s: &str) -> String {
    s.lines()
        .filter(|l| !l.contains("COMPOSE_BAKE=false is deprecated"))
        .map(|l| format!("{l}\n"))
        .collect()
}

/// `s`'s lines, sorted, with `proj` masked and every 12-hex-digit word (a layer's short
/// id) made `LAYER`.
fn comparable(s: &str, proj: &str) -> Vec<String> {
    let mut v: Vec<String> = without_bake_warning(s)
        .replace(proj, "PROJ")
        .lines()
        .map(|l| {
            l.split(' ')
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
        })
        .collect();
    v.sort();
    v
}

/// Whether the daemon has an image named `name`.
fn has_image(d: &TestDaemon, name: &str) -> bool {
    d.docker(["image", "inspect", "-f", "{{.Id}}", name])
        .run()
        .code
        == 0
}

/// Whether the registry serves `repo:tag` (HEAD of its manifest answers 200).
fn registry_has(reg: &LocalRegistry, repo: &str, tag: &str) -> bool {
    let out = std::process::Command::new("curl")
        .args(["-sSI", "-o", "/dev/null", "-w", "%{http_code}"])
        .args([
            "-H",
            "Accept: application/vnd.oci.image.manifest.v1+json",
            "-H",
            "Accept: application/vnd.docker.distribution.manifest.v2+json",
        ])
        .arg(format!("http://{}/v2/{repo}/manifests/{tag}", reg.host()))
        .output()
        .expect("curl");
    let code = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        code == "200" || code == "404",
        "HEAD {repo}:{tag}: {code} {}",
        String::from_utf8_lossy(&out.stderr)
    );
    code == "200"
}

/// `a` depends on `b` (depends_on), `b` on `c` (links: an implicit dependency); `x` is
/// unrelated. `pull a` pulls a's image only; `pull --include-deps a` pulls a's, b's and
/// c's, not x's. Both tools alike, each from a daemon without the four images.
#[test]
fn compose_registry_deps_pull_include_deps() {
    let reg = LocalRegistry::start();
    let mut g = NetGuard::new("bt-rd1");
    let d = watched_daemon(&mut g);
    let image = |s: &str| format!("{}/rd/pull-{s}:1", reg.host());
    for s in ["a", "b", "c", "x"] {
        d.docker(["tag", "busybox", &image(s)]).run().success();
        d.docker(["push", &image(s)]).run().success();
    }
    let drop_all = || {
        for s in ["a", "b", "c", "x"] {
            d.docker(["rmi", &image(s)]).run();
        }
    };
    // The daemon remembers the blob digests it pushed (moby's v2 metadata), so the busybox
    // layer is `Already exists` for every pull, by both tools alike.
    drop_all();
    let present = || -> Vec<&str> {
        ["a", "b", "c", "x"]
            .into_iter()
            .filter(|s| has_image(&d, &image(s)))
            .collect()
    };
    let mut seen = Vec::new();
    for tool in TOOLS {
        let proj = tool.project("rdpull");
        let dir = bridged_project(
            &d,
            &mut g,
            &proj,
            &format!(
                "  a:\n    image: {}\n    depends_on: [b]\n  b:\n    image: {}\n    links: [c]\n  c:\n    image: {}\n  x:\n    image: {}\n",
                image("a"),
                image("b"),
                image("c"),
                image("x")
            ),
        );
        let mut got = Vec::new();
        drop_all();
        let plain = run_compose(&d, tool, &dir, &["pull", "a"]);
        assert_eq!(plain.code, 0, "{tool:?}: {}", plain.stderr);
        assert_eq!(present(), ["a"], "{tool:?}: pull a");
        got.push(format!(
            "pull a: {:?} {:?}",
            plain.stdout,
            comparable(&plain.stderr, &proj)
        ));
        drop_all();
        let deps = run_compose(&d, tool, &dir, &["pull", "--include-deps", "a"]);
        assert_eq!(deps.code, 0, "{tool:?}: {}", deps.stderr);
        assert_eq!(
            present(),
            ["a", "b", "c"],
            "{tool:?}: pull --include-deps a"
        );
        got.push(format!(
            "pull --include-deps a: {:?} {:?}",
            deps.stdout,
            comparable(&deps.stderr, &proj)
        ));
        // -q: the services' lines only (compose 2.40's `pull -q` still names them).
        drop_all();
        let q = run_compose(&d, tool, &dir, &["pull", "-q", "--include-deps", "b"]);
        assert_eq!(q.code, 0, "{tool:?}: {}", q.stderr);
        assert_eq!(present(), ["b", "c"], "{tool:?}: pull -q --include-deps b");
        got.push(format!(
            "pull -q --include-deps b: {:?} {:?}",
            q.stdout,
            comparable(&q.stderr, &proj)
        ));
        assert!(project_left(&d, &proj).is_empty(), "{tool:?}");
        seen.push(got);
    }
    for (b, c) in seen[0].iter().zip(&seen[1]) {
        assert_eq!(b, c, "berth (left) and docker compose (right)\n{seen:#?}");
    }
    assert!(
        seen[0][1].contains(r#"" b Pulled ""#) && seen[0][1].contains(r#"" c Pulled ""#),
        "{:#?}",
        seen[0]
    );
}

/// `a` (built) depends on `b` (built); `x` (built) is unrelated. `push a` sends a's image
/// only; `push --include-deps a` sends b's too, never x's. Both tools alike, each with
/// repositories of its own.
#[test]
fn compose_registry_deps_push_include_deps() {
    let reg = LocalRegistry::start();
    let mut g = NetGuard::new("bt-rd2");
    let d = watched_daemon(&mut g);
    let mut seen = Vec::new();
    for tool in TOOLS {
        let proj = tool.project("rdpush");
        let repo = |s: &str| format!("rd/{proj}-{s}");
        let image = |s: &str| format!("{}/{}:1", reg.host(), repo(s));
        let dir = bridged_project(
            &d,
            &mut g,
            &proj,
            &format!(
                "  a:\n    image: {}\n    build: .\n    depends_on: [b]\n  b:\n    image: {}\n    build: .\n  x:\n    image: {}\n    build: .\n",
                image("a"),
                image("b"),
                image("x")
            ),
        );
        write_project(
            &d,
            &proj,
            &[(
                "Dockerfile",
                &format!("FROM busybox\nRUN echo {proj} > /who\n"),
            )],
        );
        let b = run_compose(&d, tool, &dir, &["build"]);
        assert_eq!(b.code, 0, "{tool:?}: {}", b.stderr);
        let in_registry = || -> Vec<&str> {
            ["a", "b", "x"]
                .into_iter()
                .filter(|s| registry_has(&reg, &repo(s), "1"))
                .collect()
        };
        let mut got = Vec::new();
        let plain = run_compose(&d, tool, &dir, &["push", "a"]);
        assert_eq!(plain.code, 0, "{tool:?}: {}", plain.stderr);
        assert_eq!(in_registry(), ["a"], "{tool:?}: push a");
        got.push(format!(
            "push a: {:?} {:?}",
            plain.stdout,
            comparable(&plain.stderr, &proj)
        ));
        let deps = run_compose(&d, tool, &dir, &["push", "--include-deps", "a"]);
        assert_eq!(deps.code, 0, "{tool:?}: {}", deps.stderr);
        assert_eq!(in_registry(), ["a", "b"], "{tool:?}: push --include-deps a");
        got.push(format!(
            "push --include-deps a: {:?} {:?}",
            deps.stdout,
            comparable(&deps.stderr, &proj)
        ));
        assert!(
            got[1].contains(&format!("Pushing {}: LAYER", image("b")).replace(&proj, "PROJ")),
            "{tool:?}: {got:#?}"
        );
        assert!(project_left(&d, &proj).is_empty(), "{tool:?}");
        for s in ["a", "b", "x"] {
            d.docker(["rmi", &image(s)]).run().success();
        }
        seen.push(got);
    }
    assert_eq!(seen[0], seen[1], "berth (left) and docker compose (right)");
}
