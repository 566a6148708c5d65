//! Reaching a daemon as the docker CLI does (prefix `cliremote_`): contexts stored where the
//! docker CLI stores them and shared by both CLIs, tcp:// with TLS and client certificates
//! (socat in front of the test daemon's socket stands in for dockerd's `--tlsverify`
//! listener), ssh:// through a private sshd on 127.0.0.1 running `system dial-stdio` on the
//! far side, `system dial-stdio` itself, and the errors for each bad input.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use berth_tests::remote::{PrivateSshd, ScratchDir, TestCa, TlsListener};
use berth_tests::{berth_bin, run_command, Output, TestDaemon};

/// A CLI run with a private config dir, no daemon from the environment, and `env`.
fn cli(prog: &str, config: &Path, args: &[&str], env: &[(&str, String)]) -> Output {
    let bin: PathBuf = if prog == "berth" {
        berth_bin()
    } else {
        PathBuf::from("docker")
    };
    let mut c = Command::new(bin);
    c.args(args)
        .env("DOCKER_CONFIG", config)
        .env("BERTH_NO_AUTOSTART", "1")
        .env("DOCKER_CLI_HINTS", "false")
        .env_remove("BERTH_HOST")
        .env_remove("DOCKER_HOST")
        .env_remove("DOCKER_CONTEXT")
        .env_remove("DOCKER_TLS_VERIFY")
        .env_remove("DOCKER_CERT_PATH")
        .env_remove("DOCKER_API_VERSION");
    for (k, v) in env {
        c.env(k, v);
    }
    run_command(c, None, Duration::from_secs(60))
}

/// Program names and API versions made neutral for comparing messages.
fn neutral(s: &str) -> String {
    let mut out = s
        .replace("berth", "PROG")
        .replace("docker", "PROG")
        .replace("Docker", "PROG");
    // "/v1.47/" vs "/v1.51/": each CLI names its own API version in URLs.
    while let Some(i) = out.find("/v1.") {
        let end = out[i + 4..]
            .find(|c: char| !c.is_ascii_digit())
            .map(|e| i + 4 + e)
            .unwrap_or(out.len());
        out.replace_range(i..end, "/vX");
    }
    out.trim().to_string()
}

#[test]
fn cliremote_contexts_are_shared_with_docker() {
    let d = TestDaemon::start();
    let cfg = ScratchDir::new("ctx");
    let c = cfg.path();
    let host = d.host();
    // berth creates, docker uses.
    cli(
        "berth",
        c,
        &[
            "context",
            "create",
            "from-berth",
            "--description",
            "made by berth",
            "--docker",
            &format!("host={host}"),
        ],
        &[],
    )
    .success()
    .stdout_is("from-berth\n")
    .stderr_contains("Successfully created context \"from-berth\"");
    let meta = c
        .join("contexts/meta")
        .join(sha256_hex("from-berth"))
        .join("meta.json");
    let text = std::fs::read_to_string(&meta).expect("meta.json where docker keeps it");
    assert_eq!(
        text,
        format!("{{\"Name\":\"from-berth\",\"Metadata\":{{\"Description\":\"made by berth\"}},\"Endpoints\":{{\"docker\":{{\"Host\":\"{host}\",\"SkipTLSVerify\":false}}}}}}")
    );
    cli(
        "docker",
        c,
        &[
            "--context",
            "from-berth",
            "ps",
            "-a",
            "--format",
            "{{.Names}}",
        ],
        &[],
    )
    .success();
    d.berth(["run", "-d", "--name", "ctx-probe", "busybox", "sleep", "30"])
        .run()
        .success();
    cli(
        "docker",
        c,
        &["--context", "from-berth", "ps", "--format", "{{.Names}}"],
        &[],
    )
    .success()
    .stdout_contains("ctx-probe");
    // docker creates, berth uses.
    cli(
        "docker",
        c,
        &[
            "context",
            "create",
            "from-docker",
            "--docker",
            &format!("host={host}"),
        ],
        &[],
    )
    .success();
    cli(
        "berth",
        c,
        &["--context", "from-docker", "ps", "--format", "{{.Names}}"],
        &[],
    )
    .success()
    .stdout_contains("ctx-probe");
    cli("berth", c, &["-c", "from-docker", "ps", "-q"], &[]).success();
    // DOCKER_CONTEXT and currentContext pick it too.
    cli(
        "berth",
        c,
        &["ps", "--format", "{{.Names}}"],
        &[("DOCKER_CONTEXT", "from-docker".into())],
    )
    .success()
    .stdout_contains("ctx-probe");
    cli("berth", c, &["context", "use", "from-docker"], &[])
        .success()
        .stdout_is("from-docker\n")
        .stderr_contains("Current context is now \"from-docker\"");
    cli("docker", c, &["context", "show"], &[])
        .success()
        .stdout_is("from-docker\n");
    cli("berth", c, &["ps", "--format", "{{.Names}}"], &[])
        .success()
        .stdout_contains("ctx-probe");
    // -H wins over the current context; both together are refused.
    cli("berth", c, &["-H", "unix:///nonexistent.sock", "ps"], &[])
        .code(1)
        .stderr_contains("Cannot connect to the berth daemon at unix:///nonexistent.sock");
    let both = cli(
        "berth",
        c,
        &["-H", &host, "--context", "from-docker", "ps"],
        &[],
    );
    both.code(1);
    let docker_both = cli(
        "docker",
        c,
        &["-H", &host, "--context", "from-docker", "ps"],
        &[],
    );
    assert_eq!(neutral(&both.stderr), neutral(&docker_both.stderr));
    // ls and inspect agree (the default context's endpoint aside: each CLI has its own).
    let bl = cli(
        "berth",
        c,
        &[
            "context",
            "ls",
            "--format",
            "{{.Name}}|{{.Current}}|{{.Description}}|{{.DockerEndpoint}}",
        ],
        &[],
    );
    let dl = cli(
        "docker",
        c,
        &[
            "context",
            "ls",
            "--format",
            "{{.Name}}|{{.Current}}|{{.Description}}|{{.DockerEndpoint}}",
        ],
        &[],
    );
    bl.success();
    let rows = |o: &Output| -> Vec<String> {
        o.stdout
            .lines()
            .filter(|l| !l.starts_with("default|"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(rows(&bl), rows(&dl));
    assert!(bl.stdout.contains("from-docker|true|"), "{}", bl.stdout);
    cli("berth", c, &["context", "ls"], &[])
        .success()
        .stdout_contains("from-docker *")
        .stdout_contains("NAME");
    cli("berth", c, &["context", "ls", "-q"], &[])
        .success()
        .stdout_is("default\nfrom-berth\nfrom-docker\n");
    let bi = cli("berth", c, &["context", "inspect", "from-berth"], &[]);
    let di = cli("docker", c, &["context", "inspect", "from-berth"], &[]);
    bi.success();
    assert_eq!(bi.stdout, di.stdout);
    let fmt = [
        "context",
        "inspect",
        "default",
        "--format",
        "{{json .Storage}}",
    ];
    let bd = cli("berth", c, &fmt, &[]);
    bd.success().stdout_contains("<IN MEMORY>");
    assert_eq!(bd.stdout, cli("docker", c, &fmt, &[]).stdout);
    // export by one, import by the other, both ways.
    let tar = cfg.path().join("b.dockercontext");
    cli(
        "berth",
        c,
        &[
            "context",
            "export",
            "from-berth",
            tar.to_str().expect("path"),
        ],
        &[],
    )
    .success()
    .stderr_contains("Written file");
    cli(
        "docker",
        c,
        &[
            "context",
            "import",
            "imported-by-docker",
            tar.to_str().expect("path"),
        ],
        &[],
    )
    .success();
    cli(
        "docker",
        c,
        &["--context", "imported-by-docker", "ps", "-q"],
        &[],
    )
    .success();
    let dtar = cfg.path().join("d.dockercontext");
    cli(
        "docker",
        c,
        &[
            "context",
            "export",
            "from-docker",
            dtar.to_str().expect("path"),
        ],
        &[],
    )
    .success();
    cli(
        "berth",
        c,
        &[
            "context",
            "import",
            "imported-by-berth",
            dtar.to_str().expect("path"),
        ],
        &[],
    )
    .success()
    .stdout_is("imported-by-berth\n");
    cli(
        "berth",
        c,
        &["--context", "imported-by-berth", "ps", "-q"],
        &[],
    )
    .success();
    // update, then rm (the current one needs -f; -f also resets the current context).
    cli(
        "berth",
        c,
        &[
            "context",
            "update",
            "from-berth",
            "--description",
            "changed",
        ],
        &[],
    )
    .success()
    .stderr_contains("Successfully updated context \"from-berth\"");
    let desc = [
        "context",
        "inspect",
        "from-berth",
        "--format",
        "{{json .Metadata}}",
    ];
    let bdesc = cli("berth", c, &desc, &[]);
    bdesc
        .success()
        .stdout_contains("\"Description\":\"changed\"");
    // The same object (berth's template maps order keys by name).
    let parsed = |s: &str| serde_json::from_str::<serde_json::Value>(s).expect("json");
    assert_eq!(
        parsed(&bdesc.stdout),
        parsed(&cli("docker", c, &desc, &[]).stdout)
    );
    // Bad input, each against docker's answer.
    for args in [
        vec!["context", "rm", "from-docker"],
        vec!["context", "use", "no-such"],
        vec!["context", "rm", "no-such"],
        vec!["context", "rm", "default"],
        vec!["context", "create", "from-berth"],
        vec!["context", "create", "x"],
        vec!["context", "create", "bad name"],
        vec!["context", "inspect", "no-such"],
        vec!["context", "import", "from-berth", "/nonexistent.tar"],
        vec!["--context", "no-such", "ps"],
    ] {
        let b = cli("berth", c, &args, &[]);
        let dk = cli("docker", c, &args, &[]);
        assert_eq!(
            (b.code, neutral(&b.stderr), b.stdout.clone()),
            (dk.code, neutral(&dk.stderr), dk.stdout.clone()),
            "{args:?}"
        );
        assert_ne!(b.code, 0, "{args:?}");
    }
    cli(
        "berth",
        c,
        &["context", "rm", "-f", "from-docker", "imported-by-docker"],
        &[],
    )
    .success()
    .stdout_is("from-docker\nimported-by-docker\n");
    cli("docker", c, &["context", "show"], &[])
        .success()
        .stdout_is("default\n");
    let _ = d.berth(["rm", "-f", "ctx-probe"]).run();
}

fn sha256_hex(s: &str) -> String {
    let out = Command::new("sha256sum")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            use std::io::Write;
            if let Some(mut i) = c.stdin.take() {
                i.write_all(s.as_bytes())?;
            }
            c.wait_with_output()
        })
        .expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or("")
        .to_string()
}

#[test]
fn cliremote_tls_with_client_certificates() {
    let d = TestDaemon::start();
    let ca = TestCa::new();
    let cfg = ScratchDir::new("tls");
    let c = cfg.path();
    let tls = TlsListener::start(&ca, "server", "ca.pem", &d.socket);
    let host = tls.host();
    let f = |n: &str| ca.file(n).display().to_string();
    let good = [
        "--tlsverify".to_string(),
        format!("--tlscacert={}", f("ca.pem")),
        format!("--tlscert={}", f("cert.pem")),
        format!("--tlskey={}", f("key.pem")),
        "-H".to_string(),
        host.clone(),
    ];
    let with = |extra: &[&str]| -> Vec<String> {
        good.iter()
            .cloned()
            .chain(extra.iter().map(|s| s.to_string()))
            .collect()
    };
    let run = |prog: &str, args: &[String], env: &[(&str, String)]| {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        cli(prog, c, &a, env)
    };
    run(
        "berth",
        &with(&["version", "--format", "{{.Server.Version}}"]),
        &[],
    )
    .success();
    // A whole interactive-style session over TLS (attach is a hijacked connection).
    run(
        "berth",
        &with(&["run", "--rm", "busybox", "echo", "over tls"]),
        &[],
    )
    .success()
    .stdout_is("over tls\n");
    run(
        "berth",
        &with(&["run", "-d", "--name", "tls-c", "busybox", "sleep", "30"]),
        &[],
    )
    .success();
    run(
        "berth",
        &with(&["exec", "tls-c", "sh", "-c", "echo in; cat"]),
        &[],
    )
    .success()
    .stdout_is("in\n");
    // docker's environment: DOCKER_HOST, DOCKER_TLS_VERIFY, DOCKER_CERT_PATH.
    let env = [
        ("DOCKER_HOST", host.clone()),
        ("DOCKER_TLS_VERIFY", "1".to_string()),
        ("DOCKER_CERT_PATH", ca.cert_path().display().to_string()),
    ];
    run(
        "berth",
        &["ps".to_string(), "--format".into(), "{{.Names}}".into()],
        &env,
    )
    .success()
    .stdout_contains("tls-c");
    run(
        "docker",
        &["ps".to_string(), "--format".into(), "{{.Names}}".into()],
        &env,
    )
    .success()
    .stdout_contains("tls-c");
    // A context with TLS material, made by berth, used by both.
    run(
        "berth",
        &[
            "context".into(),
            "create".into(),
            "tlsctx".into(),
            "--docker".into(),
            format!(
                "host={host},ca={},cert={},key={}",
                f("ca.pem"),
                f("cert.pem"),
                f("key.pem")
            ),
        ],
        &[],
    )
    .success();
    for prog in ["berth", "docker"] {
        run(
            prog,
            &[
                "--context".into(),
                "tlsctx".into(),
                "ps".into(),
                "-q".into(),
            ],
            &[],
        )
        .success();
    }
    // Bad: no client certificate, a client certificate of another CA, a daemon certificate
    // the CA did not sign (verified and not), an unreachable port, a missing CA file.
    let no_cert = vec![
        "--tlsverify".to_string(),
        format!("--tlscacert={}", f("ca.pem")),
        "-H".into(),
        host.clone(),
        "ps".into(),
    ];
    let rogue_client = vec![
        "--tlsverify".to_string(),
        format!("--tlscacert={}", f("ca.pem")),
        format!("--tlscert={}", f("rogue-cert.pem")),
        format!("--tlskey={}", f("rogue-key.pem")),
        "-H".into(),
        host.clone(),
        "ps".into(),
    ];
    for args in [&no_cert, &rogue_client] {
        let b = run("berth", args, &[]);
        b.code(1).stderr_contains("error during connect");
        assert!(b.stderr.contains("tls"), "{}", b.stderr);
        run("docker", args, &[]).code(1);
    }
    let rogue = TlsListener::start(&ca, "rogue-server", "ca.pem", &d.socket);
    let mismatch = vec![
        "--tlsverify".to_string(),
        format!("--tlscacert={}", f("ca.pem")),
        format!("--tlscert={}", f("cert.pem")),
        format!("--tlskey={}", f("key.pem")),
        "-H".into(),
        rogue.host(),
        "ps".into(),
    ];
    let b = run("berth", &mismatch, &[]);
    let dk = run("docker", &mismatch, &[]);
    b.code(1).stderr_contains(
        "tls: failed to verify certificate: x509: certificate signed by unknown authority",
    );
    assert_eq!(neutral(&b.stderr), neutral(&dk.stderr));
    // --tls without --tlsverify does not check the daemon's certificate.
    let insecure = vec![
        "--tls".to_string(),
        // docker reads the CA file even when it does not verify: name an existing one.
        format!("--tlscacert={}", f("ca.pem")),
        format!("--tlscert={}", f("cert.pem")),
        format!("--tlskey={}", f("key.pem")),
        "-H".into(),
        rogue.host(),
        "ps".into(),
        "-q".into(),
    ];
    run("berth", &insecure, &[]).success();
    run("docker", &insecure, &[]).success();
    let unreachable = vec![
        "--tlsverify".to_string(),
        format!("--tlscacert={}", f("ca.pem")),
        "-H".into(),
        "tcp://127.0.0.1:1".into(),
        "ps".into(),
    ];
    let b = run("berth", &unreachable, &[]);
    let dk = run("docker", &unreachable, &[]);
    b.code(1).stderr_contains(
        "Cannot connect to the berth daemon at tcp://127.0.0.1:1. Is the berth daemon running?",
    );
    assert_eq!(neutral(&b.stderr), neutral(&dk.stderr));
    let plain_unreachable = cli("berth", c, &["-H", "tcp://127.0.0.1:1", "version"], &[]);
    plain_unreachable.code(1);
    assert!(plain_unreachable.stderr.contains(
        "Cannot connect to the berth daemon at tcp://127.0.0.1:1. Is the berth daemon running?"
    ));
    // Without --tlscacert the default ca.pem (config dir) must exist, verified or not.
    for flag in ["--tls", "--tlsverify"] {
        let args = [flag, "-H", &host, "ps"];
        let b = cli("berth", c, &args, &[]);
        let dk = cli("docker", c, &args, &[]);
        b.code(1);
        assert_eq!(neutral(&b.stderr), neutral(&dk.stderr), "{flag}");
    }
    let missing_ca = cli(
        "berth",
        c,
        &[
            "--tlsverify",
            "--tlscacert=/nonexistent/ca.pem",
            "-H",
            &host,
            "ps",
        ],
        &[],
    );
    missing_ca.code(1).stderr_contains("/nonexistent/ca.pem");
    let _ = d.berth(["rm", "-f", "tls-c"]).run();
}

#[test]
fn cliremote_ssh_through_dial_stdio() {
    let d = TestDaemon::start();
    let sshd = PrivateSshd::start(&d.socket, &berth_bin());
    let cfg = ScratchDir::new("ssh");
    let c = cfg.path();
    let path = ("PATH", sshd.client_path());
    let host = sshd.host();
    let v = cli(
        "berth",
        c,
        &["-H", &host, "version", "--format", "{{.Server.Version}}"],
        std::slice::from_ref(&path),
    );
    assert!(
        v.code == 0,
        "ssh version failed: {v:?}\nsshd log:\n{}",
        sshd.log()
    );
    cli(
        "berth",
        c,
        &["-H", &host, "run", "--rm", "busybox", "echo", "over ssh"],
        std::slice::from_ref(&path),
    )
    .success()
    .stdout_is("over ssh\n");
    cli(
        "berth",
        c,
        &[
            "-H", &host, "run", "-d", "--name", "ssh-c", "busybox", "sleep", "30",
        ],
        std::slice::from_ref(&path),
    )
    .success();
    // The docker CLI over the same sshd runs docker's dial-stdio on the far side.
    cli(
        "docker",
        c,
        &["-H", &host, "ps", "--format", "{{.Names}}"],
        std::slice::from_ref(&path),
    )
    .success()
    .stdout_contains("ssh-c");
    // A context made by docker with an ssh host, used by berth.
    cli(
        "docker",
        c,
        &[
            "context",
            "create",
            "viassh",
            "--docker",
            &format!("host={host}"),
        ],
        std::slice::from_ref(&path),
    )
    .success();
    cli(
        "berth",
        c,
        &["--context", "viassh", "ps", "--format", "{{.Names}}"],
        std::slice::from_ref(&path),
    )
    .success()
    .stdout_contains("ssh-c");
    // Nothing listens: ssh exits 255, reported as docker reports it.
    let bad = "ssh://root@127.0.0.1:1";
    let b = cli("berth", c, &["-H", bad, "ps"], std::slice::from_ref(&path));
    b.code(1)
        .stderr_contains("error during connect")
        .stderr_contains("has exited with exit status 255")
        .stderr_contains("Connection refused");
    cli(
        "berth",
        c,
        &["-H", "ssh://root@127.0.0.1:1/some/path", "ps"],
        std::slice::from_ref(&path),
    )
    .code(1)
    .stderr_contains("extra path after the host");
    let _ = d.berth(["rm", "-f", "ssh-c"]).run();
}

#[test]
fn cliremote_dial_stdio_speaks_for_the_daemon() {
    let d = TestDaemon::start();
    // What ssh feeds it: an HTTP request on stdin; the answer comes back on stdout. stdin
    // ends right after the request: dial-stdio half-closes the connection, and the daemon
    // must still answer (as dockerd does; a server that drops half-closed connections
    // loses the last answer of every ssh client).
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(r#"printf 'GET /_ping HTTP/1.1\r\nHost: d\r\nConnection: close\r\n\r\n' | "$0" -H "unix://$1" system dial-stdio"#)
        .arg(berth_tests::berth_bin())
        .arg(&d.socket)
        .env_remove("BERTH_HOST")
        .env_remove("DOCKER_HOST")
        .env("BERTH_NO_AUTOSTART", "1")
        .output()
        .expect("run dial-stdio");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{out:?}");
    assert!(
        stdout.contains("HTTP/1.1 200") && stdout.contains("OK"),
        "{stdout}"
    );
    let none = cli(
        "berth",
        Path::new("/nonexistent"),
        &["-H", "unix:///nonexistent.sock", "system", "dial-stdio"],
        &[],
    );
    none.code(1)
        .stderr_contains("Cannot connect to the berth daemon at unix:///nonexistent.sock");
}
