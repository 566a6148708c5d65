//! `berth compose watch` against the real `docker compose watch` (prefix `compose_watch_`):
//! the same project, watched by each tool in turn against the same berth daemon, gets the
//! same edits; what each container then holds is compared (sync of new, changed, nested
//! and deleted files; the rule's `ignore`, the build context's `.dockerignore` and editor
//! temporary files left out; the synced files' owner; sync+restart; sync+exec; rebuild; a
//! service without a build section). `--quiet` of the build commands is compared too.
//!
//! Safety: the project's network gets a bridge named by the test (removed by the guard);
//! nothing is published.

use berth_tests::compose::{run_compose, Background, Tool, CLASSIC_BUILDER_ENV};
use berth_tests::nettest::watched_daemon;
use berth_tests::{eventually, NetGuard, TestDaemon};
use std::time::Duration;

fn exec(d: &TestDaemon, c: &str, cmd: &[&str]) -> String {
    let mut a = vec!["exec", c];
    a.extend_from_slice(cmd);
    let out = d.docker(a).run();
    if out.code == 0 {
        out.stdout.clone()
    } else {
        String::new()
    }
}

fn exists(d: &TestDaemon, c: &str, path: &str) -> bool {
    d.docker(["exec", c, "test", "-e", path]).run().code == 0
}

/// What a container holds after the walkthrough's edits.
#[derive(Debug, PartialEq, Default)]
struct Seen {
    /// initial_sync copies what changed after the image was built, not the rest.
    initial_sync_newer: bool,
    initial_sync_older: bool,
    synced: bool,
    rule_ignored_copied: bool,
    dockerignored_copied: bool,
    editor_file_copied: bool,
    owner: String,
    deleted_gone: bool,
    restarted: bool,
    exec_ran: bool,
    rebuilt: bool,
    image_only_service_synced: bool,
}

fn walkthrough(d: &TestDaemon, tool: Tool, name: &str, bridge: &str) -> (Seen, String) {
    let dir = d.dir().join(name);
    let w = |rel: &str, text: &str| {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    };
    w(
        "compose.yaml",
        &format!(
            r#"services:
  web:
    build: .
    command: sleep 600
    develop:
      watch:
        - path: ./src
          action: sync
          target: /app/src
          ignore: ["*.tmp"]
          initial_sync: true
        - path: ./conf
          action: sync+restart
          target: /etc/app
        - path: ./hook
          action: sync+exec
          target: /hook
          exec:
            command: sh -c 'cat /hook/h.txt > /hook-ran'
        - path: ./app.txt
          action: rebuild
  img:
    image: busybox
    command: sleep 600
    develop:
      watch:
        - path: ./img
          action: sync
          target: /img
networks:
  default:
    driver_opts:
      com.docker.network.bridge.name: {bridge}
"#
        ),
    );
    w("Dockerfile", "FROM busybox\nCOPY app.txt /app.txt\n");
    w(".dockerignore", "src/*.secret\n");
    w("app.txt", "build-1\n");
    w("src/index.txt", "v1\n");
    w("conf/app.conf", "c1\n");
    w("hook/h.txt", "h0\n");
    w("img/a.txt", "i0\n");
    // Make each project's image its own (no build cache shared between the two runs),
    // then date one file before the image and one after it.
    w(
        "Dockerfile",
        &format!("FROM busybox\nLABEL run={name}\nCOPY app.txt /app.txt\n"),
    );
    w("src/late.txt", "late\n");
    let set_mtime = |rel: &str, t: std::time::SystemTime| {
        std::fs::File::options()
            .write(true)
            .open(dir.join(rel))
            .and_then(|f| f.set_modified(t))
            .expect("mtime");
    };
    set_mtime(
        "src/index.txt",
        std::time::UNIX_EPOCH + Duration::from_secs(1_000_000_000),
    );
    set_mtime(
        "src/late.txt",
        std::time::SystemTime::now() + Duration::from_secs(3600),
    );
    let bg = Background::start(
        d,
        tool,
        &dir,
        &["watch"],
        if tool == Tool::DockerCompose {
            &CLASSIC_BUILDER_ENV
        } else {
            &[]
        },
    );
    assert!(
        eventually(240, || bg.output().contains("Watch enabled")),
        "{tool:?}: {}",
        bg.output()
    );
    let c = format!("{name}-web-1");
    let c = c.as_str();
    let mut seen = Seen {
        initial_sync_newer: eventually(20, || {
            exec(d, c, &["cat", "/app/src/late.txt"]) == "late\n"
        }),
        ..Default::default()
    };
    seen.initial_sync_older = exists(d, c, "/app/src/index.txt");
    // sync: changed, new and nested files; ignored ones.
    w("src/index.txt", "v2\n");
    w("src/new/deep.txt", "deep\n");
    w("src/skip.tmp", "no\n");
    w("src/key.secret", "no\n");
    w("src/.index.txt.swp", "no\n");
    w("src/own.txt", "mine\n");
    std::os::unix::fs::chown(dir.join("src/own.txt"), Some(1234), Some(1234)).expect("chown");
    w("src/index.txt", "v3\n");
    seen.synced = eventually(30, || {
        exec(d, c, &["cat", "/app/src/index.txt"]) == "v3\n"
            && exec(d, c, &["cat", "/app/src/new/deep.txt"]) == "deep\n"
            && exists(d, c, "/app/src/own.txt")
    });
    std::thread::sleep(Duration::from_secs(2));
    seen.rule_ignored_copied = exists(d, c, "/app/src/skip.tmp");
    seen.dockerignored_copied = exists(d, c, "/app/src/key.secret");
    seen.editor_file_copied = exists(d, c, "/app/src/.index.txt.swp");
    seen.owner = exec(d, c, &["stat", "-c", "%u:%g", "/app/src/own.txt"]);
    std::fs::remove_dir_all(dir.join("src/new")).expect("rm");
    seen.deleted_gone = eventually(20, || !exists(d, c, "/app/src/new"));
    // sync+restart.
    let started = || {
        d.docker(["inspect", "-f", "{{.State.StartedAt}}", c])
            .run()
            .out()
    };
    let before = started();
    w("conf/app.conf", "c2\n");
    seen.restarted = eventually(30, || {
        started() != before && exec(d, c, &["cat", "/etc/app/app.conf"]) == "c2\n"
    });
    // sync+exec.
    w("hook/h.txt", "hooked\n");
    seen.exec_ran = eventually(30, || exec(d, c, &["cat", "/hook-ran"]) == "hooked\n");
    // A service without a build section.
    w("img/a.txt", "i1\n");
    let ic = format!("{name}-img-1");
    seen.image_only_service_synced =
        eventually(15, || exec(d, &ic, &["cat", "/img/a.txt"]) == "i1\n");
    // rebuild.
    let id = || d.docker(["inspect", "-f", "{{.Id}}", c]).run().out();
    let old = id();
    w("app.txt", "build-2\n");
    seen.rebuilt = eventually(180, || {
        exec(d, c, &["cat", "/app.txt"]) == "build-2\n" && id() != old
    });
    let out = bg.output();
    drop(bg);
    run_compose(d, tool, &dir, &["down", "--rmi", "local"]);
    (seen, out)
}

#[test]
fn compose_watch_does_what_docker_compose_watch_does() {
    let mut g = NetGuard::new("bt-cw2");
    let d = watched_daemon(&mut g);
    let (docker, docker_out) = walkthrough(&d, Tool::DockerCompose, "wd", &g.bridge());
    let (berth, berth_out) = walkthrough(&d, Tool::Berth, "wb", &g.bridge());
    assert_eq!(
        berth, docker,
        "berth (left) vs docker compose (right)\n--- docker compose ---\n{docker_out}\n--- berth ---\n{berth_out}"
    );
    // The walkthrough did something: the changes landed.
    assert!(
        docker.synced && docker.restarted && docker.exec_ran && docker.rebuilt,
        "{docker:?}"
    );
}

/// `build -q` prints nothing, `up --quiet-build` hides the build output, `run -q` prints
/// only the container's output, as docker compose documents them. docker compose itself is
/// not the oracle here: against a daemon without BuildKit it can only use its deprecated
/// classic builder, which prints the build output whatever the flags (the test records it
/// to show the difference is that builder's).
#[test]
fn compose_watch_quiet_flags_print_what_docker_compose_prints() {
    let mut g = NetGuard::new("bt-cq");
    let d = watched_daemon(&mut g);
    let br = g.bridge();
    let mut outs = Vec::new();
    for (tool, name) in [(Tool::DockerCompose, "qd"), (Tool::Berth, "qb")] {
        let dir = d.dir().join(name);
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join("Dockerfile"), "FROM busybox\nRUN echo building\n").expect("df");
        std::fs::write(
            dir.join("compose.yaml"),
            format!(
                "services:\n  app:\n    build: .\n    command: echo ran\nnetworks:\n  default:\n    driver_opts:\n      com.docker.network.bridge.name: {br}\n"
            ),
        )
        .expect("compose");
        let build = run_compose(&d, tool, &dir, &["build", "-q"]);
        build.success();
        let up = run_compose(
            &d,
            tool,
            &dir,
            &[
                "--progress",
                "plain",
                "up",
                "-d",
                "--build",
                "--quiet-build",
                "--quiet-pull",
            ],
        );
        up.success();
        let run = run_compose(&d, tool, &dir, &["run", "--rm", "-q", "--build", "app"]);
        run.success();
        outs.push((
            build.stdout.clone(),
            up.stdout.contains("building"),
            up.stderr.contains("building"),
            run.stdout.clone(),
        ));
        run_compose(&d, tool, &dir, &["down", "--rmi", "local"]).success();
    }
    let classic = &outs[0];
    assert!(classic.0.contains("Successfully built"), "{classic:?}");
    assert_eq!(
        outs[1],
        (String::new(), false, false, "ran\n".to_string()),
        "berth; docker compose's classic builder printed {classic:?}"
    );
}
