//! `berth build` and the classic `POST /build` through both the berth CLI and the real
//! docker CLI's legacy builder (DOCKER_BUILDKIT=0). Expected lines and messages were taken
//! from docker 28 against a real dockerd (classic builder).

use berth_tests::{
    build_context as context, classic_build, client_name as name, Client, Output, TestDaemon,
};
use std::fs;
use std::path::Path;

fn build(d: &TestDaemon, c: Client, dir: &Path, args: &[&str]) -> Output {
    classic_build(d, c, dir, args).run()
}

fn inspect(d: &TestDaemon, image: &str, fmt: &str) -> String {
    let o = d.berth(["image", "inspect", "--format", fmt, image]).run();
    o.success();
    o.stdout.trim().to_string()
}

/// The image ids the output's ` ---> <id>` lines name, in order.
fn step_ids(o: &Output) -> Vec<String> {
    o.stdout
        .lines()
        .filter_map(|l| l.strip_prefix(" ---> "))
        .filter(|l| {
            !l.starts_with("Running in")
                && !l.starts_with("Using cache")
                && !l.starts_with("Removed intermediate")
        })
        .map(str::to_string)
        .collect()
}

const BASIC: &str = "FROM busybox\nARG V=1\nENV A=1 B=\"x y\"\nWORKDIR /app\nRUN echo \"hi $V $A\" > /app/run.txt\nCOPY f.txt .\nLABEL k=v\nEXPOSE 80/tcp 443\nUSER 1000\nCMD [\"sh\", \"-c\", \"echo $A $B\"]\n";

#[test]
fn build_basic_instructions_through_both_clients() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        let dir = context(
            &d,
            &name(c, "basic"),
            &[("Dockerfile", BASIC), ("f.txt", "hello\n")],
        );
        let tag = name(c, "basic");
        // The second client would find every step in the first one's cache.
        let mut args = vec!["-t", tag.as_str()];
        if c == Client::Docker {
            args.push("--no-cache");
        }
        let o = build(&d, c, &dir, &args);
        o.success();
        o.stdout_contains("Sending build context to Docker daemon")
            .stdout_contains("Step 1/10 : FROM busybox\n ---> ")
            .stdout_contains("Step 2/10 : ARG V=1\n ---> Running in ")
            .stdout_contains("Step 5/10 : RUN echo \"hi $V $A\" > /app/run.txt\n ---> Running in ")
            .stdout_contains(" ---> Removed intermediate container ")
            .stdout_contains("Step 6/10 : COPY f.txt .\n ---> ")
            .stdout_contains("Step 10/10 : CMD [\"sh\", \"-c\", \"echo $A $B\"]")
            .stdout_contains(&format!("Successfully tagged {tag}:latest\n"));
        let last = step_ids(&o).last().cloned().expect("an image id");
        o.stdout_contains(&format!("Successfully built {last}\n"));
        assert_eq!(inspect(&d, &tag, "{{.Id}}")[7..19], last);
        assert_eq!(inspect(&d, &tag, "{{.Config.User}}"), "1000");
        assert_eq!(inspect(&d, &tag, "{{.Config.WorkingDir}}"), "/app");
        assert_eq!(
            inspect(&d, &tag, "{{json .Config.Cmd}}"),
            r#"["sh","-c","echo $A $B"]"#
        );
        assert_eq!(inspect(&d, &tag, "{{json .Config.Labels}}"), r#"{"k":"v"}"#);
        assert_eq!(
            inspect(&d, &tag, "{{json .Config.ExposedPorts}}"),
            r#"{"443/tcp":{},"80/tcp":{}}"#
        );
        let env = inspect(&d, &tag, "{{json .Config.Env}}");
        assert!(env.contains(r#""A=1","B=x y""#), "{env}");
        // The ARG is not persisted in the image's environment.
        assert!(!env.contains("V=1"), "{env}");
        d.run(c, &["run", "--rm", &tag])
            .success()
            .stdout_is("1 x y\n");
        d.run(
            c,
            &["run", "--rm", &tag, "cat", "/app/run.txt", "/app/f.txt"],
        )
        .success()
        .stdout_is("hi 1 1\nhello\n");
        let h = d
            .berth(["history", "--no-trunc", "--format", "{{.CreatedBy}}", &tag])
            .run();
        h.success()
            .stdout_contains("|1 V=1 /bin/sh -c echo \"hi $V $A\" > /app/run.txt\n")
            .stdout_contains("/bin/sh -c #(nop)  ENV A=1 B=x y\n")
            .stdout_contains("/bin/sh -c #(nop) WORKDIR /app\n")
            .stdout_contains("/bin/sh -c #(nop)  EXPOSE 443 80/tcp\n")
            .stdout_contains("/bin/sh -c #(nop) COPY file:");
        // No build container is left behind.
        d.run(c, &["ps", "-aq"]).success().stdout_is("");
    }
}

#[test]
fn build_rebuild_is_cached_and_content_changes_invalidate() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        // The first RUN differs per client: the second client must start from a cold cache.
        let df = format!(
            "FROM busybox\nRUN echo {} > /one\nCOPY data /data\nRUN cat /data > /copy\n",
            c.name()
        );
        let dir = context(
            &d,
            &name(c, "cache"),
            &[("Dockerfile", &df), ("data", "v1\n")],
        );
        let tag = name(c, "cache");
        let first = build(&d, c, &dir, &["-t", &tag]);
        first.success();
        first.stdout_lacks("Using cache");
        let again = build(&d, c, &dir, &["-t", &tag]);
        again.success();
        assert_eq!(
            again.stdout.matches(" ---> Using cache\n").count(),
            3,
            "{}",
            again.stdout
        );
        assert_eq!(step_ids(&first), step_ids(&again));
        again.stdout_lacks("Running in");

        // Same size and mtime, other content: the COPY and what follows rerun.
        let p = dir.join("data");
        let mtime = fs::metadata(&p).expect("stat").modified().expect("mtime");
        fs::write(&p, "v2\n").expect("write");
        fs::File::options()
            .write(true)
            .open(&p)
            .expect("open")
            .set_modified(mtime)
            .expect("set mtime");
        let changed = build(&d, c, &dir, &["-t", &tag]);
        changed.success();
        assert_eq!(
            changed.stdout.matches(" ---> Using cache\n").count(),
            1,
            "{}",
            changed.stdout
        );
        assert_ne!(step_ids(&changed).last(), step_ids(&first).last());
        d.run(c, &["run", "--rm", &tag, "cat", "/copy"])
            .success()
            .stdout_is("v2\n");

        let nocache = build(&d, c, &dir, &["--no-cache", "-t", &tag]);
        nocache.success();
        nocache.stdout_lacks("Using cache");
    }
}

#[test]
fn build_arg_change_invalidates_only_the_steps_using_it() {
    let d = TestDaemon::start();
    let df = "FROM busybox AS a\nRUN echo a > /a\nFROM busybox\nARG X=1\nRUN echo b > /b\nRUN echo \"$X\" > /x\n";
    let dir = context(&d, "args", &[("Dockerfile", df)]);
    // Other values per client: the second would find the first one's steps cached.
    for (c, x, y) in [(Client::Berth, "7", "8"), (Client::Docker, "17", "18")] {
        let first = build(
            &d,
            c,
            &dir,
            &["--build-arg", &format!("X={x}"), "-t", "args"],
        );
        first.success();
        d.run(c, &["run", "--rm", "args", "cat", "/x"])
            .success()
            .stdout_is(&format!("{x}\n"));
        let other = build(
            &d,
            c,
            &dir,
            &["--build-arg", &format!("X={y}"), "-t", "args"],
        );
        other.success();
        // ARG and both RUNs see X: the config-only ARG step is cached, the RUNs rerun.
        assert_eq!(
            other.stdout.matches("Using cache").count(),
            1,
            "{}",
            other.stdout
        );
        d.run(c, &["run", "--rm", "args", "cat", "/x"])
            .success()
            .stdout_is(&format!("{y}\n"));
        // The unused first stage is not built at all.
        other.stdout_lacks("echo a");
        let unused = build(&d, c, &dir, &["--build-arg", "NOPE=1", "-q"]);
        unused.success();
        let warn = build(&d, c, &dir, &["--build-arg", "NOPE=1"]);
        warn.success()
            .stdout_contains("[Warning] One or more build-args [NOPE] were not consumed");
    }
}

#[test]
fn build_failing_run_shows_output_and_exit_code() {
    let d = TestDaemon::start();
    let dir = context(
        &d,
        "fail",
        &[("Dockerfile", "FROM busybox\nRUN echo out; exit 3\n")],
    );
    for c in Client::BOTH {
        let o = build(&d, c, &dir, &["-t", "failed"]);
        o.code(3)
            .stdout_contains(" ---> Running in ")
            .stdout_contains("out\n")
            .stderr_contains(
                "The command '/bin/sh -c echo out; exit 3' returned a non-zero code: 3",
            );
        d.run(c, &["image", "inspect", "failed"]).failure();
        // The failed RUN's container stays for inspection (moby's default; `--force-rm`
        // removes it, see compat_build).
        d.run(c, &["ps", "-a", "--format", "{{.State}}"])
            .success()
            .stdout_is("exited\n");
        d.run(c, &["container", "prune", "-f"]).success();
    }
}

#[test]
fn build_malformed_dockerfiles_fail_with_line_and_message() {
    let d = TestDaemon::start();
    let cases: &[(&str, &str)] = &[
        ("FROM busybox\n\nFOO bar\n", "dockerfile parse error line 3: unknown instruction: FOO"),
        ("FROM busybox\nRUN <<EOF\necho a\n", "dockerfile parse error line 2: unterminated heredoc EOF"),
        ("RUN echo hi\n", "dockerfile parse error line 1: no build stage in current context"),
        ("FROM busybox\nCOPY --from=nosuchstage /x /x\n", "dockerfile parse error line 2: invalid from flag value nosuchstage: No such image: nosuchstage:latest"),
        ("FROM busybox\nCOPY ../x /x\n", "COPY failed: forbidden path outside the build context: ../x ()"),
        ("FROM busybox\nCOPY missing /x\n", "COPY failed: file not found in build context or excluded by .dockerignore: stat missing: file does not exist"),
        ("FROM busybox\nENV A=1 B\n", "dockerfile parse error line 2: Syntax error - can't find = in \"B\". Must be of the form: name=value"),
        ("FROM busybox\nWORKDIR ${NOPE:?must be set}\n", "dockerfile parse error line 2: NOPE: must be set"),
        // A missing base is pulled, as docker's classic builder does; the test daemon's
        // Docker Hub is 127.0.0.1:9, where nothing listens, and the pull's error ends it.
        ("FROM nosuchimage\n", "Get \"http://127.0.0.1:9/v2/\": dial tcp 127.0.0.1:9: connect: connection refused"),
        ("", "the Dockerfile (Dockerfile) cannot be empty"),
    ];
    for c in Client::BOTH {
        for (i, (df, msg)) in cases.iter().enumerate() {
            let dir = context(&d, &format!("bad{i}"), &[("Dockerfile", df)]);
            let o = build(&d, c, &dir, &[]);
            o.code(1).stderr_contains(msg);
        }
        let dir = context(&d, "nodf", &[("other", "x")]);
        build(&d, c, &dir, &[]).code(1).stderr_contains(
            "unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat ",
        );
        let dir = context(&d, "target", &[("Dockerfile", "FROM busybox\n")]);
        build(&d, c, &dir, &["--target", "nope"])
            .code(1)
            .stderr_contains("failed to reach build target nope in Dockerfile");
    }
    // Nothing was stored by the failed builds.
    d.run(Client::Berth, &["ps", "-aq"]).success().stdout_is("");
}

#[test]
fn build_multi_stage_target_and_needed_stages() {
    let d = TestDaemon::start();
    let df = "ARG BASE=busybox\nFROM ${BASE} AS builder\nWORKDIR /src\nCOPY src/ ./\nRUN cat main.txt > /out && echo built >> /out\nFROM busybox AS unused\nRUN echo SHOULD-NOT-RUN\nFROM $BASE\nCOPY --from=builder /out /app/out\nCOPY --from=0 /src/main.txt /app/\nENTRYPOINT [\"cat\"]\nCMD [\"/app/out\"]\n";
    let dir = context(
        &d,
        "multi",
        &[("Dockerfile", df), ("src/main.txt", "main\n")],
    );
    for c in Client::BOTH {
        let tag = name(c, "multi");
        let o = build(&d, c, &dir, &["-t", &tag]);
        o.success()
            // M as dockerd 28's classic builder counts: every stage up to the target, the
            // unused one included (berth does not build it, its numbers stay unprinted).
            .stdout_contains("Step 1/12 : ARG BASE=busybox\n")
            .stdout_lacks("SHOULD-NOT-RUN");
        d.run(c, &["run", "--rm", &tag])
            .success()
            .stdout_is("main\nbuilt\n");
        d.run(c, &["run", "--rm", &tag, "/app/main.txt"])
            .success()
            .stdout_is("main\n");
        let t = build(&d, c, &dir, &["--target", "unused", "-t", "only-unused"]);
        t.success()
            .stdout_contains("SHOULD-NOT-RUN")
            .stdout_lacks("echo built");
        let cmd = inspect(&d, "only-unused", "{{json .Config.Cmd}}");
        assert_eq!(cmd, r#"["sh"]"#);
    }
}

#[test]
fn build_dockerignore_copy_semantics_heredocs_and_add() {
    let d = TestDaemon::start();
    // A small tar for ADD's auto-extraction.
    let mut tb = tar::Builder::new(Vec::new());
    let mut h = tar::Header::new_gnu();
    h.set_size(3);
    h.set_uid(0);
    h.set_gid(0);
    h.set_mtime(0);
    h.set_mode(0o644);
    h.set_cksum();
    tb.append_data(&mut h, "inner/x.txt", &b"tar"[..])
        .expect("tar");
    let tar_bytes = tb.into_inner().expect("tar");
    let df = "FROM busybox\nCOPY . /ctx/\nCOPY --chown=1000:1000 --chmod=600 keep/ /owned/\nADD files.tar /extracted/\nCOPY <<EOF /etc/here.txt\nhere $HOME\nEOF\nRUN <<EOT\necho from-heredoc > /hd\nEOT\nRUN find /ctx | sort > /list && stat -c '%u:%g %a' /owned/a.txt > /stat\n";
    let dir = context(
        &d,
        "ignore",
        &[
            ("Dockerfile", df),
            (
                ".dockerignore",
                "# comment\n*.log\nsecret\n**/*.tmp\ndocs\n!docs/keep.md\n",
            ),
            ("a.log", "x"),
            ("secret", "x"),
            ("sub/deep/b.tmp", "x"),
            ("sub/c.txt", "c"),
            ("docs/drop.md", "x"),
            ("docs/keep.md", "k"),
            ("keep/a.txt", "a"),
        ],
    );
    fs::write(dir.join("files.tar"), tar_bytes).expect("write tar");
    for c in Client::BOTH {
        let tag = name(c, "ignore");
        build(&d, c, &dir, &["-t", &tag]).success();
        let list = d.run(c, &["run", "--rm", &tag, "cat", "/list"]);
        list.success()
            .stdout_contains("/ctx/Dockerfile\n")
            .stdout_contains("/ctx/.dockerignore\n")
            .stdout_contains("/ctx/sub/c.txt\n")
            .stdout_contains("/ctx/docs/keep.md\n")
            .stdout_lacks("a.log")
            .stdout_lacks("secret")
            .stdout_lacks("b.tmp")
            .stdout_lacks("drop.md");
        d.run(c, &["run", "--rm", &tag, "cat", "/stat"])
            .success()
            .stdout_is("1000:1000 600\n");
        d.run(
            c,
            &[
                "run",
                "--rm",
                &tag,
                "cat",
                "/extracted/inner/x.txt",
                "/etc/here.txt",
                "/hd",
            ],
        )
        .success()
        .stdout_is("tarhere \nfrom-heredoc\n");
    }
}

#[test]
fn build_image_config_instructions() {
    let d = TestDaemon::start();
    let df = "FROM busybox AS base\nONBUILD RUN echo triggered > /trig\nSHELL [\"/bin/sh\", \"-ec\"]\nSTOPSIGNAL SIGINT\nVOLUME /data\nHEALTHCHECK --interval=5s --retries=2 CMD true\nFROM base\nRUN test -f /trig\n";
    let dir = context(&d, "cfg", &[("Dockerfile", df)]);
    for c in Client::BOTH {
        build(&d, c, &dir, &["--target", "base", "-t", "cfg-base"]).success();
        assert_eq!(
            inspect(&d, "cfg-base", "{{json .Config.OnBuild}}"),
            // docker's template `json` does not escape '>' (docker 20.10 and 28 alike).
            r#"["RUN echo triggered > /trig"]"#
        );
        assert_eq!(inspect(&d, "cfg-base", "{{.Config.StopSignal}}"), "SIGINT");
        assert_eq!(
            inspect(&d, "cfg-base", "{{json .Config.Volumes}}"),
            r#"{"/data":{}}"#
        );
        assert_eq!(
            inspect(&d, "cfg-base", "{{json .Config.Shell}}"),
            r#"["/bin/sh","-ec"]"#
        );
        let hc: serde_json::Value =
            serde_json::from_str(&inspect(&d, "cfg-base", "{{json .Config.Healthcheck}}"))
                .expect("healthcheck json");
        assert_eq!(
            hc,
            serde_json::json!({"Test":["CMD-SHELL","true"],"Interval":5000000000_i64,"Retries":2})
        );
        let o = build(&d, c, &dir, &["-t", "cfg-child"]);
        o.success().stdout_contains("# Executing 1 build trigger\n");
        assert_eq!(inspect(&d, "cfg-child", "{{json .Config.OnBuild}}"), "null");
    }
}

#[test]
fn build_berth_cli_options() {
    let d = TestDaemon::start();
    let dir = context(
        &d,
        "opts",
        &[
            (
                "Dockerfile",
                "FROM busybox\nARG GREETING=hi\nRUN echo $GREETING > /g\n",
            ),
            ("alt.Dockerfile", "FROM busybox\nCMD [\"alt\"]\n"),
        ],
    );
    let iid = d.dir.join("iid");
    let o = d
        .berth([
            "build",
            "-q",
            "-t",
            "o1",
            "-t",
            "o2:v2",
            "--label",
            "a=b",
            "--build-arg",
            "GREETING=yo",
            "--iidfile",
        ])
        .arg(&iid)
        .arg(&dir)
        .run();
    o.success();
    let id = fs::read_to_string(&iid).expect("iidfile");
    assert!(id.starts_with("sha256:") && id.len() == 71, "{id}");
    assert_eq!(o.stdout.trim(), id);
    assert_eq!(inspect(&d, "o2:v2", "{{.Id}}"), id);
    assert_eq!(inspect(&d, "o1", "{{json .Config.Labels}}"), r#"{"a":"b"}"#);
    d.run(Client::Berth, &["run", "--rm", "o1", "cat", "/g"])
        .success()
        .stdout_is("yo\n");
    // -f outside the context, -f - and a Dockerfile on stdin.
    let alt = dir.join("alt.Dockerfile");
    d.berth(["build", "-t", "alt", "-f"])
        .arg(&alt)
        .arg(&dir)
        .run()
        .success();
    assert_eq!(inspect(&d, "alt", "{{json .Config.Cmd}}"), r#"["alt"]"#);
    d.berth(["build", "-t", "stdin-df", "-f", "-"])
        .arg(&dir)
        .stdin("FROM busybox\nCMD [\"stdin\"]\n")
        .run()
        .success();
    assert_eq!(
        inspect(&d, "stdin-df", "{{json .Config.Cmd}}"),
        r#"["stdin"]"#
    );
    d.berth(["build", "-t", "stdin-only", "-"])
        .stdin("FROM busybox\nCMD [\"only\"]\n")
        .run()
        .success();
    assert_eq!(
        inspect(&d, "stdin-only", "{{json .Config.Cmd}}"),
        r#"["only"]"#
    );
    d.berth(["build", "-t", "x"])
        .arg(d.dir.join("no-such-dir"))
        .run()
        .code(1)
        .stderr_contains("unable to prepare context: path");
}

#[test]
fn build_seed_nginx_dockerfile_with_fixture_base() {
    // The seed's nginx Dockerfile, its base image played by the busybox fixture.
    let d = TestDaemon::start();
    d.run(Client::Berth, &["tag", "busybox", "nginx:latest"])
        .success();
    let df = "FROM nginx:latest\nCOPY index.html /usr/share/nginx/html\nENTRYPOINT [\"nginx\"]\nCMD [\"-g\", \"daemon off;\"]\n";
    let dir = context(
        &d,
        "seed",
        &[("Dockerfile", df), ("index.html", "<h1>hi</h1>\n")],
    );
    for c in Client::BOTH {
        let tag = name(c, "seed-nginx");
        build(&d, c, &dir, &["-t", &tag])
            .success()
            .stdout_contains("Step 4/4 : CMD [\"-g\", \"daemon off;\"]");
        assert_eq!(
            inspect(&d, &tag, "{{json .Config.Entrypoint}}"),
            r#"["nginx"]"#
        );
        assert_eq!(
            inspect(&d, &tag, "{{json .Config.Cmd}}"),
            r#"["-g","daemon off;"]"#
        );
        d.run(
            c,
            &[
                "run",
                "--rm",
                "--entrypoint",
                "cat",
                &tag,
                "/usr/share/nginx/html",
            ],
        )
        .success()
        .stdout_is("<h1>hi</h1>\n");
    }
}
