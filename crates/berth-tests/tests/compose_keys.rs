//! The compose keys and flags berth compose once refused (prefix `compose_keys_`):
//! `build.dockerfile_inline`, `up --always-recreate-deps` and `-V`/`--renew-anon-volumes`,
//! the `post_start`/`pre_stop` hooks, `storage_opt`, `isolation`, `use_api_socket`,
//! `volume_driver` (which docker compose 2.40's schema refuses), and `cp --all`. Each
//! scenario runs once with `berth compose` and once with the real `docker compose` against
//! the same berth daemon (projects of their own), and what each one leaves is observed the
//! same way; where the output is the point (errors), the two are compared.
//!
//! Safety: every project's network gets a bridge named by the test (removed by the
//! guard); nothing is published.

use berth_tests::compose::{bridged_project, project_left, run_compose, Tool, TOOLS};
use berth_tests::nettest::watched_daemon;
use berth_tests::{eventually, NetGuard, TestDaemon};
use std::path::Path;

fn inspect(d: &TestDaemon, c: &str, format: &str) -> String {
    d.docker(["inspect", "-f", format, c]).run().out()
}

fn exec_out(d: &TestDaemon, c: &str, cmd: &[&str]) -> String {
    let mut args = vec!["exec", c];
    args.extend_from_slice(cmd);
    let out = d.docker(args).run();
    if out.code == 0 {
        out.stdout
    } else {
        format!("<exit {}>", out.code)
    }
}

/// `build.dockerfile_inline`: berth builds the image from the inline text with the
/// context's files (the text sent inside the context as a `.dockerfile.*` entry, as
/// `docker build -f -` and buildx do). docker compose 2.40 passes the text only to
/// buildx/Bake: its classic builder (the one it has here, with neither buildx nor
/// BuildKit) ignores it and looks for the context's Dockerfile, which this asserts
/// too; the image berth built is compared with `docker build` of the same text instead.
#[test]
fn compose_keys_dockerfile_inline_builds_with_the_context() {
    let mut g = NetGuard::new("bt-ck1");
    let d = watched_daemon(&mut g);
    let inline = "FROM busybox\nCOPY ctx.txt /ctx.txt\nRUN echo inline-$((6*7)) > /built.txt\n";
    let services = "  app:\n    build:\n      context: .\n      dockerfile_inline: |\n        FROM busybox\n        COPY ctx.txt /ctx.txt\n        RUN echo inline-$$((6*7)) > /built.txt\n    command: sleep 600\n    stop_grace_period: 1s\n";
    let name = "inl";
    let dir = bridged_project(&d, &mut g, name, services);
    std::fs::write(dir.join("ctx.txt"), "from-context\n").expect("ctx");
    // The reference's classic builder: no inline support.
    let out = run_compose(&d, Tool::DockerCompose, &dir, &["build"]);
    out.failure();
    assert!(
        out.stderr
            .contains("unable to evaluate symlinks in Dockerfile path")
            && out
                .stderr
                .contains("/Dockerfile: no such file or directory"),
        "{}",
        out.stderr
    );
    run_compose(&d, Tool::Berth, &dir, &["up", "-d"]).success();
    let c = "inl-app-1";
    assert_eq!(
        exec_out(&d, c, &["cat", "/ctx.txt", "/built.txt"]),
        "from-context\ninline-42\n"
    );
    // The same text as a Dockerfile beside a copy of the context, built by `docker
    // build`: the same files in the image. (`docker build -f -` with the text on stdin
    // would do too — berth's daemon reads the docker CLI's rewritten context tar, see
    // compat_build_stdin — but a Dockerfile beside the context keeps this about compose.)
    let reference = d.dir().join("inl-ref");
    std::fs::create_dir_all(&reference).expect("mkdir");
    std::fs::write(reference.join("Dockerfile"), inline).expect("Dockerfile");
    std::fs::copy(dir.join("ctx.txt"), reference.join("ctx.txt")).expect("copy");
    d.docker(["build", "-q", "-t", "inl-ref", &reference.to_string_lossy()])
        .run()
        .success();
    let cat = |image: &str| {
        d.docker(["run", "--rm", image, "cat", "/ctx.txt", "/built.txt"])
            .run()
            .success()
            .stdout
            .clone()
    };
    assert_eq!(cat("inl-app"), cat("inl-ref"));
    // Nothing was written into the project for it.
    let entries: Vec<String> = std::fs::read_dir(&dir)
        .expect("dir")
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        !entries
            .iter()
            .any(|e| e.starts_with(".dockerfile") || e == "Dockerfile"),
        "{entries:?}"
    );
    run_compose(&d, Tool::Berth, &dir, &["down", "--rmi", "local"]).success();
    assert!(project_left(&d, name).is_empty());
    assert!(
        d.docker(["image", "inspect", "inl-app"]).run().code != 0,
        "removed by --rmi local"
    );
}

/// `--force-recreate SERVICE` leaves its dependencies alone unless
/// `--always-recreate-deps`; a recreated container keeps its anonymous volumes unless
/// `-V`; `--always-recreate-deps` with `--no-recreate` is refused with compose's words.
#[test]
fn compose_keys_always_recreate_deps_and_renew_anon_volumes() {
    let mut g = NetGuard::new("bt-ck2");
    let d = watched_daemon(&mut g);
    let services = "  db:\n    image: busybox\n    command: sleep 600\n    stop_grace_period: 1s\n    volumes:\n      - /data\n  web:\n    image: busybox\n    command: sleep 600\n    stop_grace_period: 1s\n    depends_on: [db]\n";
    let mut errors = Vec::new();
    for tool in TOOLS {
        let name = tool.project("rec");
        let dir = bridged_project(&d, &mut g, &name, services);
        let run = |args: &[&str]| run_compose(&d, tool, &dir, args);
        let (db, web) = (format!("{name}-db-1"), format!("{name}-web-1"));
        let id = |c: &str| inspect(&d, c, "{{.Id}}");
        run(&["up", "-d"]).success();
        d.docker(["exec", &db, "sh", "-c", "echo kept > /data/f"])
            .run()
            .success();
        let (db0, web0) = (id(&db), id(&web));
        // --force-recreate web: web only.
        run(&["up", "-d", "--force-recreate", "web"]).success();
        let (db1, web1) = (id(&db), id(&web));
        assert_eq!(db0, db1, "{tool:?}: the dependency was left alone");
        assert_ne!(web0, web1, "{tool:?}: web recreated");
        // --always-recreate-deps: db too, with its anonymous volume inherited.
        run(&[
            "up",
            "-d",
            "--force-recreate",
            "--always-recreate-deps",
            "web",
        ])
        .success();
        let db2 = id(&db);
        assert_ne!(db1, db2, "{tool:?}: the dependency recreated");
        assert_ne!(web1, id(&web), "{tool:?}: web recreated");
        assert_eq!(
            exec_out(&d, &db, &["cat", "/data/f"]),
            "kept\n",
            "{tool:?}: the anonymous volume followed the recreated container"
        );
        // -V: a new anonymous volume.
        run(&["up", "-d", "--force-recreate", "-V", "db"]).success();
        assert_ne!(db2, id(&db), "{tool:?}: recreated");
        assert_eq!(
            exec_out(&d, &db, &["cat", "/data/f"]),
            "<exit 1>",
            "{tool:?}: -V gave db a fresh volume"
        );
        // The renewed volume's predecessor is left (compose removes the old container
        // without its volumes): down -v removes what the current containers have.
        let bad = run(&["up", "-d", "--always-recreate-deps", "--no-recreate"]);
        bad.failure();
        errors.push(bad.stderr.trim().to_string());
        run(&["down", "-v"]).success();
        assert!(project_left(&d, &name).is_empty(), "{tool:?}");
    }
    assert_eq!(errors[0], errors[1]);
    assert!(
        errors[0].contains("--always-recreate-deps and --no-recreate are incompatible"),
        "{}",
        errors[0]
    );
}

/// `post_start` runs after each start (`up`, `start`, `restart`; with its user,
/// working_dir and environment) and a failing one fails `up` with compose's message;
/// `pre_stop` runs before `stop`, `restart` and `down` stop the container (seen in a
/// bind-mounted directory).
#[test]
fn compose_keys_post_start_and_pre_stop_hooks() {
    let mut g = NetGuard::new("bt-ck3");
    let d = watched_daemon(&mut g);
    let mut failures = Vec::new();
    for tool in TOOLS {
        let name = tool.project("hk");
        let dir = bridged_project(
            &d,
            &mut g,
            &name,
            "  app:\n    image: busybox\n    command: sleep 600\n    stop_grace_period: 1s\n    volumes:\n      - ./out:/out\n    post_start:\n      - command: sh -c 'echo \"$$(id -u) $$(pwd) $$GREETING\" > /out/post'\n        user: \"1000\"\n        working_dir: /tmp\n        environment:\n          GREETING: hello\n    pre_stop:\n      - command: [\"sh\", \"-c\", \"echo stopping >> /out/pre\"]\n",
        );
        std::fs::create_dir_all(dir.join("out")).expect("out");
        // The hook runs as uid 1000, which must be able to write there.
        std::fs::set_permissions(
            dir.join("out"),
            std::os::unix::fs::PermissionsExt::from_mode(0o777),
        )
        .expect("chmod");
        let run = |args: &[&str]| run_compose(&d, tool, &dir, args);
        run(&["up", "-d"]).success();
        let read = |f: &str| std::fs::read_to_string(dir.join("out").join(f)).unwrap_or_default();
        assert_eq!(read("post"), "1000 /tmp hello\n", "{tool:?}");
        assert_eq!(read("pre"), "", "{tool:?}");
        run(&["stop"]).success();
        assert_eq!(read("pre"), "stopping\n", "{tool:?}: pre_stop ran on stop");
        // start runs post_start again.
        std::fs::remove_file(dir.join("out/post")).expect("rm");
        run(&["start"]).success();
        assert!(
            eventually(10, || read("post") == "1000 /tmp hello\n"),
            "{tool:?}"
        );
        // restart: pre_stop before it, post_start after it.
        std::fs::remove_file(dir.join("out/post")).expect("rm");
        run(&["restart"]).success();
        assert!(
            eventually(10, || read("post") == "1000 /tmp hello\n"),
            "{tool:?}"
        );
        assert_eq!(
            read("pre"),
            "stopping\nstopping\n",
            "{tool:?}: pre_stop on restart"
        );
        run(&["down"]).success();
        assert_eq!(
            read("pre"),
            "stopping\nstopping\nstopping\n",
            "{tool:?}: pre_stop ran on down"
        );
        assert!(project_left(&d, &name).is_empty(), "{tool:?}");
        // A failing post_start fails `up`.
        let bad_name = tool.project("hkbad");
        let bad = bridged_project(
            &d,
            &mut g,
            &bad_name,
            "  app:\n    image: busybox\n    command: sleep 600\n    stop_grace_period: 1s\n    post_start:\n      - command: sh -c 'exit 3'\n",
        );
        let out = run_compose(&d, tool, &bad, &["up", "-d"]);
        failures.push((
            out.code,
            out.stderr.lines().last().unwrap_or("").to_string(),
        ));
        run_compose(&d, tool, &bad, &["down"]).success();
    }
    assert_eq!(failures[0], failures[1]);
    assert_eq!(failures[0].1, "app hook exited with status 3");
}

/// `isolation` and `storage_opt` reach the daemon as docker compose sends them (the
/// daemon's answer the same for both tools); `volume_driver` is refused by both with
/// compose's schema error.
#[test]
fn compose_keys_engine_keys_reach_the_daemon() {
    let mut g = NetGuard::new("bt-ck4");
    let d = watched_daemon(&mut g);
    let mut seen: Vec<Vec<String>> = Vec::new();
    for tool in TOOLS {
        let mut got = Vec::new();
        let name = tool.project("eng");
        let dir = bridged_project(
            &d,
            &mut g,
            &name,
            "  iso:\n    image: busybox\n    command: sleep 600\n    stop_grace_period: 1s\n    isolation: default\n",
        );
        run_compose(&d, tool, &dir, &["up", "-d"]).success();
        got.push(inspect(
            &d,
            &format!("{name}-iso-1"),
            "{{.HostConfig.Isolation}}",
        ));
        run_compose(&d, tool, &dir, &["down"]).success();
        // A non-default isolation and a storage size: the daemon refuses both here (Linux;
        // no xfs pquota); what each tool says about it.
        for (key, svc) in [
            ("isolation: process", "bad"),
            ("storage_opt:\n      size: 1G", "sz"),
        ] {
            let pname = tool.project(&format!("eng{svc}"));
            let dir = bridged_project(
                &d,
                &mut g,
                &pname,
                &format!("  {svc}:\n    image: busybox\n    command: sleep 600\n    stop_grace_period: 1s\n    {key}\n"),
            );
            let out = run_compose(&d, tool, &dir, &["up", "-d"]);
            got.push(out.code.to_string());
            got.push(
                out.stderr
                    .replace(&pname, "PROJECT")
                    .lines()
                    .filter(|l| !l.contains("Network") && !l.trim().is_empty())
                    .map(|l| l.trim().to_string())
                    .collect::<Vec<_>>()
                    .join("\n"),
            );
            run_compose(&d, tool, &dir, &["down"]).success();
            assert!(project_left(&d, &pname).is_empty(), "{tool:?}");
        }
        let vname = tool.project("engvd");
        let vd = bridged_project(
            &d,
            &mut g,
            &vname,
            "  a:\n    image: busybox\n    volume_driver: local\n",
        );
        let out = run_compose(&d, tool, &vd, &["config"]);
        out.failure();
        got.push(out.stderr.trim().replace(&vname, "PROJECT"));
        seen.push(got);
    }
    assert_eq!(seen[0], seen[1]);
    assert_eq!(seen[0][0], "default");
    assert!(
        seen[0][2].contains("linux only supports 'default'"),
        "{}",
        seen[0][2]
    );
    assert!(
        seen[0][5].contains("additional properties 'volume_driver' not allowed"),
        "{}",
        seen[0][5]
    );
}

/// `use_api_socket`: the service gets the engine's socket at /var/run/docker.sock (the
/// socket of the daemon berth talks to: see `use_api_socket` in berth-compose), the
/// client's stored credentials at /run/secrets/docker/config.json and DOCKER_CONFIG
/// pointing there.
/// Run by berth only: docker compose 2.40 binds the host's /var/run/docker.sock whatever
/// DOCKER_HOST says, which would hand the test container the host's engine (or make the
/// daemon create a directory there).
#[test]
fn compose_keys_use_api_socket_mounts_the_engine_socket() {
    let mut g = NetGuard::new("bt-ck7");
    let d = watched_daemon(&mut g);
    let name = "sock";
    let dir = bridged_project(
        &d,
        &mut g,
        name,
        "  sock:\n    image: busybox\n    command: sleep 600\n    stop_grace_period: 1s\n    use_api_socket: true\n  other:\n    image: busybox\n    command: sleep 600\n    stop_grace_period: 1s\n",
    );
    // A client config of the test's own with one stored credential.
    let cfg = dir.join("cfg");
    std::fs::create_dir_all(&cfg).expect("cfg");
    std::fs::write(
        cfg.join("config.json"),
        r#"{"auths": {"127.0.0.1:5999": {"auth": "dTpw"}}}"#,
    )
    .expect("config.json");
    d.berth_compose(&dir, ["up", "-d"])
        .env("DOCKER_CONFIG", &cfg)
        .run()
        .success();
    let c = "sock-sock-1";
    assert_eq!(
        exec_out(
            &d,
            c,
            &["sh", "-c", "test -S /var/run/docker.sock && echo socket"]
        ),
        "socket\n"
    );
    // The docker CLI's SaveToWriter of the credentials: Go's MarshalIndent with tabs.
    assert_eq!(
        exec_out(&d, c, &["cat", "/run/secrets/docker/config.json"]),
        "{\n\t\"auths\": {\n\t\t\"127.0.0.1:5999\": {\n\t\t\t\"auth\": \"dTpw\"\n\t\t}\n\t}\n}"
    );
    assert_eq!(
        exec_out(&d, c, &["sh", "-c", "echo $DOCKER_CONFIG"]),
        "/run/secrets/docker\n"
    );
    // Only the service asking for it.
    assert_eq!(
        exec_out(&d, "sock-other-1", &["test", "-e", "/var/run/docker.sock"]),
        "<exit 1>"
    );
    run_compose(&d, Tool::Berth, &dir, &["down"]).success();
    assert!(project_left(&d, name).is_empty());
}

/// `cp` to a service copies into every replica, `--all` into its one-off containers too;
/// `cp` from a service reads one container; `--index` picks a replica.
#[test]
fn compose_keys_cp_all_and_replicas() {
    let mut g = NetGuard::new("bt-ck5");
    let d = watched_daemon(&mut g);
    for tool in TOOLS {
        let name = tool.project("cp");
        let dir = bridged_project(
            &d,
            &mut g,
            &name,
            "  w:\n    image: busybox\n    command: sleep 600\n    stop_grace_period: 1s\n",
        );
        let run = |args: &[&str]| run_compose(&d, tool, &dir, args);
        run(&["up", "-d", "--scale", "w=2"]).success();
        run(&[
            "run",
            "-d",
            "--name",
            &format!("{name}-oneoff"),
            "w",
            "sleep",
            "600",
        ])
        .success();
        let src = dir.join("f.txt");
        std::fs::write(&src, "one\n").expect("write");
        let src = src.to_string_lossy().into_owned();
        let oneoff = format!("{name}-oneoff");
        let (w1, w2) = (format!("{name}-w-1"), format!("{name}-w-2"));
        run(&["cp", &src, "w:/tmp/f.txt"]).success();
        let cat = |c: &str| exec_out(&d, c, &["cat", "/tmp/f.txt"]);
        assert_eq!(cat(&w1), "one\n", "{tool:?}");
        assert_eq!(cat(&w2), "one\n", "{tool:?}");
        assert_eq!(cat(&oneoff), "<exit 1>", "{tool:?}: not the one-off");
        std::fs::write(dir.join("f.txt"), "two\n").expect("write");
        run(&["cp", "--all", &src, "w:/tmp/f.txt"]).success();
        assert_eq!(cat(&w1), "two\n", "{tool:?}");
        assert_eq!(cat(&oneoff), "two\n", "{tool:?}: --all reached the one-off");
        std::fs::write(dir.join("f.txt"), "three\n").expect("write");
        run(&["cp", "--index", "2", &src, "w:/tmp/f.txt"]).success();
        assert_eq!(cat(&w1), "two\n", "{tool:?}");
        assert_eq!(cat(&w2), "three\n", "{tool:?}");
        let back = dir.join("back.txt");
        run(&[
            "cp",
            "--index",
            "2",
            "w:/tmp/f.txt",
            &back.to_string_lossy(),
        ])
        .success();
        assert_eq!(
            std::fs::read_to_string(&back).unwrap_or_default(),
            "three\n",
            "{tool:?}"
        );
        let out = run(&["cp", "w:/tmp/f.txt", "w:/tmp/g.txt"]);
        out.failure();
        assert!(
            out.stderr
                .contains("copying between services is not supported"),
            "{tool:?}: {}",
            out.stderr
        );
        d.docker(["rm", "-f", &oneoff]).run().success();
        run(&["down"]).success();
        assert!(project_left(&d, &name).is_empty(), "{tool:?}");
    }
}

/// Services sharing an image pull it once: `pull` says "Skipped - Image is already being
/// pulled by ..." for the others (as docker compose), `up --pull always` pulls it once;
/// counted by the daemon's pull events, from a private registry on 127.0.0.1.
#[test]
fn compose_keys_a_shared_image_is_pulled_once() {
    let reg = berth_tests::registry::LocalRegistry::start();
    let mut g = NetGuard::new("bt-ck6");
    let d = watched_daemon(&mut g);
    let image = format!("{}/ck/bb:1", reg.host());
    d.docker(["tag", "busybox", &image]).run().success();
    d.docker(["push", &image]).run().success();
    let pulls = |since: &str| {
        let until = chrono_now();
        d.docker([
            "events",
            "--since",
            since,
            "--until",
            &until,
            "--filter",
            "type=image",
            "--filter",
            "event=pull",
            "--format",
            "{{.Actor.ID}}",
        ])
        .run()
        .out()
        .lines()
        .filter(|l| !l.is_empty())
        .count()
    };
    let mut skipped = Vec::new();
    for tool in TOOLS {
        let name = tool.project("pl");
        let dir = bridged_project(
            &d,
            &mut g,
            &name,
            &format!("  a:\n    image: {image}\n    command: sleep 600\n    stop_grace_period: 1s\n  b:\n    image: {image}\n    command: sleep 600\n    stop_grace_period: 1s\n"),
        );
        d.docker(["rmi", &image]).run().success();
        let since = chrono_now();
        let out = run_compose(&d, tool, &dir, &["pull"]);
        out.success();
        assert_eq!(pulls(&since), 1, "{tool:?}: {}", out.stderr);
        skipped.push(
            out.stderr
                .lines()
                .filter(|l| l.contains("Skipped"))
                .map(|l| l.trim().to_string())
                .collect::<Vec<_>>(),
        );
        // `up --pull always`: berth pulls the shared image once; docker compose 2.40's up
        // (pullRequiredImages, by service, not by image) pulls it once per service.
        let since = chrono_now();
        run_compose(&d, tool, &dir, &["up", "-d", "--pull", "always"]).success();
        let want = match tool {
            Tool::Berth => 1,
            Tool::DockerCompose => 2,
        };
        assert_eq!(pulls(&since), want, "{tool:?}: up --pull always");
        run_compose(&d, tool, &dir, &["down"]).success();
        assert!(project_left(&d, &name).is_empty(), "{tool:?}");
    }
    // berth goes through the services by name; docker compose in Go map order, so the
    // service that pulls is either one.
    assert_eq!(
        skipped[0],
        vec!["b Skipped - Image is already being pulled by a".to_string()]
    );
    assert!(
        skipped[1] == skipped[0]
            || skipped[1] == vec!["a Skipped - Image is already being pulled by b".to_string()],
        "{:?}",
        skipped[1]
    );
}

/// Now as unix seconds with nanoseconds (an events `--since`/`--until` value), a moment
/// later than the last one asked for so that two never fall in the same instant.
fn chrono_now() -> String {
    std::thread::sleep(std::time::Duration::from_millis(1100));
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    format!("{}.{:09}", t.as_secs(), t.subsec_nanos())
}

/// `config --resolve-image-digests`: each image pinned to the digest its registry has
/// (a private registry on 127.0.0.1), the reference normalised; the same text as docker
/// compose's for the same files, and the same failure for an image no registry serves.
/// Against berth's daemon too: the same digests, the same failure.
#[test]
fn compose_keys_config_resolve_image_digests() {
    let reg = berth_tests::registry::LocalRegistry::start();
    let oracle = berth_tests::dockerd::Dockerd::start();
    let image = format!("{}/ck/bb:1", reg.host());
    oracle.docker(["tag", "busybox", &image]).run().success();
    let pushed = oracle.docker(["push", &image]).run();
    pushed.success();
    let digest = berth_tests::registry::pushed_digest(&pushed.stdout);
    let write = |name: &str, services: &str| {
        let dir = oracle.dir.join(name);
        std::fs::create_dir_all(&dir).expect("dir");
        std::fs::write(dir.join("compose.yaml"), format!("services:\n{services}"))
            .expect("compose.yaml");
        dir
    };
    let dir = write(
        "dig",
        &format!(
            "  a:\n    image: {image}\n  b:\n    image: {}/ck/bb@{digest}\n  c:\n    build: .\n",
            reg.host()
        ),
    );
    let both = |host: &str, dir: &Path, args: &[&str]| {
        let b = std::process::Command::new(berth_tests::berth_bin())
            .arg("-H")
            .arg(host)
            .arg("compose")
            .args(args)
            .env("DOCKER_CONFIG", oracle.docker_config())
            .env_remove("COMPOSE_PROJECT_NAME")
            .env_remove("COMPOSE_FILE")
            .current_dir(dir)
            .output()
            .expect("berth");
        let c = std::process::Command::new(berth_tests::compose_bin())
            .args(args)
            .env("DOCKER_HOST", host)
            .env("DOCKER_CONFIG", oracle.docker_config())
            .env_remove("DOCKER_CONTEXT")
            .env_remove("COMPOSE_PROJECT_NAME")
            .env_remove("COMPOSE_FILE")
            .current_dir(dir)
            .output()
            .expect("docker compose");
        let text = |o: &std::process::Output| {
            (
                o.status.code(),
                String::from_utf8_lossy(&o.stdout).into_owned(),
                String::from_utf8_lossy(&o.stderr).trim().to_string(),
            )
        };
        (text(&b), text(&c))
    };
    for args in [
        &["config", "--resolve-image-digests"][..],
        &["config", "--resolve-image-digests", "--format", "json"][..],
        &["config", "--resolve-image-digests", "--images"][..],
    ] {
        let (b, c) = both(&oracle.host(), &dir, args);
        assert_eq!(b.0, Some(0), "{args:?}: {}", b.2);
        let sorted = |s: &str| {
            let mut v: Vec<String> = s.lines().map(String::from).collect();
            if args.contains(&"--images") {
                v.sort();
            }
            v
        };
        assert_eq!((b.0, sorted(&b.1)), (c.0, sorted(&c.1)), "{args:?}");
        // The printed model is pinned; `--images` lists the images as written (compose
        // lists them from the project before the resolution).
        let pinned = b.1.contains(&format!("{image}@{digest}"));
        assert_eq!(pinned, !args.contains(&"--images"), "{args:?}: {}", b.1);
    }
    let bad = write("digbad", "  a:\n    image: 127.0.0.1:9/nope:1\n");
    let (b, c) = both(&oracle.host(), &bad, &["config", "--resolve-image-digests"]);
    assert_eq!(b, c);
    assert_ne!(b.0, Some(0));
    assert!(
        b.2.contains("failed to resolve digest for 127.0.0.1:9/nope:1"),
        "{}",
        b.2
    );
    // berth's daemon (its `GET /distribution/NAME/json`): both tools pin the same digest
    // as against the dockerd, and fail alike for an image no registry serves.
    let d = TestDaemon::start();
    let (b, c) = both(&d.host(), &dir, &["config", "--resolve-image-digests"]);
    assert_eq!(b, c);
    assert_eq!(b.0, Some(0), "{}", b.2);
    let (o, _) = both(&oracle.host(), &dir, &["config", "--resolve-image-digests"]);
    assert_eq!(b.1, o.1);
    assert!(b.1.contains(&format!("{image}@{digest}")), "{}", b.1);
    let (b, c) = both(&d.host(), &bad, &["config", "--resolve-image-digests"]);
    assert_eq!(b, c);
    assert_ne!(b.0, Some(0));
    assert!(
        b.2.contains("failed to resolve digest for 127.0.0.1:9/nope:1"),
        "{}",
        b.2
    );
}
