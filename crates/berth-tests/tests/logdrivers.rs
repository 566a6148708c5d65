//! Logging drivers (`logdrv_`) through both CLIs: `--log-driver`/`--log-opt` and
//! daemon.json `log-driver`/`log-opts` for json-file (rotation, compression, tag
//! attributes), local (Docker's record format, rotated and gzipped), none, syslog (to a
//! unix socket the test listens on; tag templates; the dual-logging cache `logs` reads)
//! and journald (the native protocol: to the VM's journald and back through `logs`, or on
//! a host without journald to a socket of the test's), mode=non-blocking, and the refusals
//! with dockerd's messages.

use berth_tests::{eventually, Client, TestDaemon};
use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::time::Duration;

fn inspect(d: &TestDaemon, c: Client, fmt: &str, obj: &str) -> String {
    d.run(c, &["inspect", "-f", fmt, obj]).success().out()
}

/// Prints `n` numbered lines on stdout and, for every tenth, one on stderr.
const COUNT: &str = "i=0; while [ $i -lt $N ]; do echo \"out $i\"; [ $((i % 10)) = 0 ] && echo \"err $i\" >&2; i=$((i+1)); done";

fn run_counter(d: &TestDaemon, c: Client, name: &str, n: u32, log: &[&str]) {
    let env = format!("N={n}");
    let mut args = vec!["run", "--name", name, "-e", &env];
    args.extend_from_slice(log);
    args.extend_from_slice(&["busybox", "sh", "-c", COUNT]);
    d.run(c, &args).success();
}

fn assert_counted(out: &str, n: u32) {
    let nums: Vec<u32> = out
        .lines()
        .filter_map(|l| l.strip_prefix("out ")?.parse().ok())
        .collect();
    assert_eq!(nums.len() as u32, n, "all {n} lines back: {out:.300}");
    assert!(nums.windows(2).all(|w| w[1] == w[0] + 1), "in order");
}

#[test]
fn logdrv_local_rotates_compresses_and_reads_back() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        let n = format!("{}-local", c.name());
        run_counter(
            &d,
            c,
            &n,
            400,
            &[
                "--log-driver",
                "local",
                "--log-opt",
                "max-size=4k",
                "--log-opt",
                "max-file=10",
            ],
        );
        let id = inspect(&d, c, "{{.Id}}", &n);
        let dir = d.data_root.join("containers").join(&id).join("local-logs");
        assert!(dir.join("container.log").is_file());
        assert!(
            dir.join("container.log.1.gz").is_file(),
            "rotated and compressed"
        );
        assert_eq!(
            inspect(&d, c, "{{.HostConfig.LogConfig.Type}} {{.LogPath}}", &n),
            format!("local {}", dir.join("container.log").display())
        );
        let out = d.run(c, &["logs", &n]);
        out.success();
        assert_counted(&out.stdout, 400);
        assert!(out.stderr.contains("err 390\n"), "stderr kept apart");
        // The last two records, whichever streams they came on.
        let t = d.run(c, &["logs", "--tail", "2", &n]);
        t.success();
        assert_eq!(
            t.stdout.lines().count() + t.stderr.lines().count(),
            2,
            "{t:?}"
        );
        // --timestamps and --since work on local records too.
        // (The last record may be stdout's or stderr's: the shim drains two pipes, as
        // dockerd does, so their relative order is the order they were read in.)
        let t = d.run(c, &["logs", "-t", "--tail", "1", &n]);
        t.success();
        let ts = format!("{}{}", t.stdout, t.stderr);
        let ts = ts.trim_end();
        assert!(
            ts.lines().count() == 1
                && ts.starts_with("20")
                && (ts.ends_with(" out 399") || ts.ends_with(" err 390")),
            "{ts}"
        );
    }
}

#[test]
fn logdrv_json_file_compress_and_tag_attributes() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        let n = format!("{}-jc", c.name());
        run_counter(
            &d,
            c,
            &n,
            300,
            &[
                "--log-opt",
                "max-size=2k",
                "--log-opt",
                "max-file=30",
                "--log-opt",
                "compress=true",
                "--log-opt",
                "tag={{.Name}}/{{.ImageName}}",
            ],
        );
        let id = inspect(&d, c, "{{.Id}}", &n);
        let log = d
            .data_root
            .join("containers")
            .join(&id)
            .join(format!("{id}-json.log"));
        assert!(Path::new(&format!("{}.1.gz", log.display())).is_file());
        let live = std::fs::read_to_string(&log).expect("live log");
        assert!(
            live.contains(&format!("\"attrs\":{{\"tag\":\"{n}/busybox\"}}")),
            "{live:.300}"
        );
        assert_counted(&d.run(c, &["logs", &n]).success().stdout, 300);
    }
}

#[test]
fn logdrv_none_keeps_nothing_and_logs_says_so() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        let n = format!("{}-none", c.name());
        d.run(
            c,
            &[
                "run",
                "--name",
                &n,
                "--log-driver",
                "none",
                "busybox",
                "echo",
                "hi",
            ],
        )
        .success();
        d.run(c, &["logs", &n]).code(1).stderr_contains(
            "Error response from daemon: configured logging driver does not support reading",
        );
        let id = inspect(&d, c, "{{.Id}}", &n);
        assert!(!d
            .data_root
            .join("containers")
            .join(&id)
            .join(format!("{id}-json.log"))
            .exists());
        assert_eq!(inspect(&d, c, "{{.LogPath}}", &n), "");
    }
}

#[test]
fn logdrv_unknown_drivers_and_options_are_refused() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        d.run(
            c,
            &[
                "run",
                "--rm",
                "--log-driver",
                "fluentd-nope",
                "busybox",
                "true",
            ],
        )
        .failure()
        .stderr_contains("logger: no log driver named 'fluentd-nope' is registered");
        d.run(
            c,
            &["run", "--rm", "--log-opt", "bogus=1", "busybox", "true"],
        )
        .failure()
        .stderr_contains("unknown log opt 'bogus' for json-file log driver");
        d.run(
            c,
            &[
                "run",
                "--rm",
                "--log-driver",
                "local",
                "--log-opt",
                "tag=x",
                "busybox",
                "true",
            ],
        )
        .failure()
        .stderr_contains("unknown log opt 'tag' for log driver local");
        d.run(
            c,
            &[
                "run",
                "--rm",
                "--log-opt",
                "mode=sometimes",
                "busybox",
                "true",
            ],
        )
        .failure()
        .stderr_contains("logger: logging mode not supported: sometimes");
        d.run(
            c,
            &[
                "run",
                "--rm",
                "--log-opt",
                "max-buffer-size=1m",
                "busybox",
                "true",
            ],
        )
        .failure()
        .stderr_contains("max-buffer-size option is only supported with 'mode=non-blocking'");
    }
    // Nothing was created by the refused runs.
    assert_eq!(d.run(Client::Berth, &["ps", "-aq"]).success().out(), "");
}

#[test]
fn logdrv_non_blocking_mode_delivers_and_does_not_block() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        let n = format!("{}-nb", c.name());
        run_counter(
            &d,
            c,
            &n,
            200,
            &[
                "--log-opt",
                "mode=non-blocking",
                "--log-opt",
                "max-buffer-size=4m",
            ],
        );
        assert_eq!(
            inspect(&d, c, "{{index .HostConfig.LogConfig.Config \"mode\"}}", &n),
            "non-blocking"
        );
        // A 4 MiB buffer holds this output whole: every line arrives.
        assert_counted(&d.run(c, &["logs", &n]).success().stdout, 200);
    }
}

/// A unix datagram socket standing for the syslog.
struct Syslog {
    sock: UnixDatagram,
    path: std::path::PathBuf,
}

impl Syslog {
    fn new(dir: &Path) -> Syslog {
        let path = dir.join("syslog.sock");
        let sock = UnixDatagram::bind(&path).expect("bind syslog socket");
        sock.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        Syslog { sock, path }
    }

    fn messages(&self, n: usize) -> Vec<String> {
        let mut out = Vec::new();
        let mut buf = vec![0u8; 65536];
        while out.len() < n {
            match self.sock.recv(&mut buf) {
                Ok(k) => out.push(String::from_utf8_lossy(&buf[..k]).into_owned()),
                Err(_) => break,
            }
        }
        out
    }
}

#[test]
fn logdrv_syslog_sends_tagged_messages_and_keeps_a_readable_cache() {
    let d = TestDaemon::start();
    let s = Syslog::new(d.dir());
    let addr = format!("syslog-address=unixgram://{}", s.path.display());
    for c in Client::BOTH {
        let n = format!("{}-sys", c.name());
        d.run(
            c,
            &[
                "run",
                "--name",
                &n,
                "--log-driver",
                "syslog",
                "--log-opt",
                &addr,
                "--log-opt",
                "tag=app-{{.Name}}",
                "busybox",
                "sh",
                "-c",
                "echo hello; echo oops >&2",
            ],
        )
        .success();
        let msgs = s.messages(2);
        assert_eq!(msgs.len(), 2, "{msgs:?}");
        let out = msgs
            .iter()
            .find(|m| m.contains("hello"))
            .expect("stdout message");
        let err = msgs
            .iter()
            .find(|m| m.contains("oops"))
            .expect("stderr message");
        // daemon.info and daemon.err, Go's local format: "<PRI>Mmm dd hh:mm:ss TAG[PID]: MSG".
        assert!(
            out.starts_with("<30>")
                && out.contains(&format!(" app-{n}["))
                && out.ends_with("]: hello\n"),
            "{out:?}"
        );
        assert!(
            err.starts_with("<27>") && err.ends_with("]: oops\n"),
            "{err:?}"
        );
        // Dual logging: `logs` reads the local cache.
        let l = d.run(c, &["logs", &n]);
        l.success();
        assert_eq!(
            (l.stdout.as_str(), l.stderr.as_str()),
            ("hello\n", "oops\n")
        );
        // Without the cache there is nothing to read.
        let n2 = format!("{}-sys-nocache", c.name());
        d.run(
            c,
            &[
                "run",
                "--name",
                &n2,
                "--log-driver",
                "syslog",
                "--log-opt",
                &addr,
                "--log-opt",
                "cache-disabled=true",
                "--log-opt",
                "syslog-format=rfc5424",
                "busybox",
                "echo",
                "x",
            ],
        )
        .success();
        let m = s.messages(1);
        assert!(
            m.first()
                .is_some_and(|m| m.starts_with("<30>1 ") && m.ends_with(" - x\n")),
            "{m:?}"
        );
        d.run(c, &["logs", &n2])
            .code(1)
            .stderr_contains("configured logging driver does not support reading");
    }
    // A syslog that is not there fails the start (as with dockerd), clearly.
    let gone = format!("syslog-address=unixgram://{}/nope.sock", d.dir().display());
    d.run(
        Client::Berth,
        &[
            "run",
            "--rm",
            "--log-driver",
            "syslog",
            "--log-opt",
            &gone,
            "busybox",
            "true",
        ],
    )
    .failure()
    .stderr_contains("nope.sock");
}

#[test]
fn logdrv_journald_fields_and_reading_back() {
    let journal = Path::new("/run/systemd/journal/socket").exists() && {
        let mut v = std::process::Command::new("journalctl");
        v.arg("--version");
        berth_tests::run_command(v, None, Duration::from_secs(10)).code == 0
    };
    if journal {
        // A host with journald (the cgroup v2 VM): into the journal and back via `logs`.
        let d = TestDaemon::start();
        for c in Client::BOTH {
            let n = format!("{}-jd", c.name());
            run_counter(&d, c, &n, 50, &["--log-driver", "journald"]);
            let id = inspect(&d, c, "{{.Id}}", &n);
            assert!(
                eventually(20, || {
                    let out = d.run(c, &["logs", &n]).stdout;
                    out.lines().filter(|l| l.starts_with("out ")).count() == 50
                }),
                "journal entries back through logs"
            );
            assert_counted(&d.run(c, &["logs", &n]).success().stdout, 50);
            let j = berth_tests::run_command(
                {
                    let mut cmd = std::process::Command::new("journalctl");
                    cmd.args(["-o", "json", "--no-pager", "-n", "1"])
                        .arg(format!("CONTAINER_ID_FULL={id}"));
                    cmd
                },
                None,
                Duration::from_secs(20),
            );
            for f in [
                format!("\"CONTAINER_NAME\":\"{n}\""),
                format!("\"CONTAINER_ID\":\"{}\"", &id[..12]),
                "\"IMAGE_NAME\":\"busybox\"".to_string(),
                format!("\"SYSLOG_IDENTIFIER\":\"{}\"", &id[..12]),
            ] {
                assert!(j.stdout.contains(&f), "{f} in {}", j.stdout);
            }
        }
    } else {
        // No journald here: the daemon's shims send to a socket of the test's.
        let dir = tempfile_dir();
        let path = dir.join("journal.sock");
        let sock = UnixDatagram::bind(&path).expect("bind");
        sock.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        let p = path.display().to_string();
        let d = TestDaemon::start_with_env(&[("BERTH_JOURNAL_SOCKET", &p)]);
        for c in Client::BOTH {
            let n = format!("{}-jd", c.name());
            d.run(
                c,
                &[
                    "run",
                    "--name",
                    &n,
                    "--log-driver",
                    "journald",
                    "busybox",
                    "sh",
                    "-c",
                    "echo hi; echo ho >&2",
                ],
            )
            .success();
            let id = inspect(&d, c, "{{.Id}}", &n);
            let mut got = Vec::new();
            let mut buf = vec![0u8; 65536];
            while got.len() < 2 {
                let k = sock.recv(&mut buf).expect("journal datagram");
                got.push(String::from_utf8_lossy(&buf[..k]).into_owned());
            }
            let hi = got
                .iter()
                .find(|m| m.contains("MESSAGE=hi\n"))
                .expect("stdout entry");
            let ho = got
                .iter()
                .find(|m| m.contains("MESSAGE=ho\n"))
                .expect("stderr entry");
            for f in [
                "PRIORITY=6\n".to_string(),
                format!("CONTAINER_NAME={n}\n"),
                format!("CONTAINER_ID_FULL={id}\n"),
                format!("CONTAINER_ID={}\n", &id[..12]),
                "IMAGE_NAME=busybox\n".to_string(),
            ] {
                assert!(hi.contains(&f), "{f} in {hi:?}");
            }
            assert!(ho.contains("PRIORITY=3\n"), "{ho:?}");
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
}

fn tempfile_dir() -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("berth-journal-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).expect("tmp dir");
    d
}

#[test]
fn logdrv_daemon_default_driver_and_options() {
    let d = TestDaemon::start_with_config(
        r#"{"log-driver": "local", "log-opts": {"max-size": "8k", "max-file": "2"}}"#,
    );
    for c in Client::BOTH {
        let n = format!("{}-dflt", c.name());
        run_counter(&d, c, &n, 20, &[]);
        assert_eq!(
            inspect(&d, c, "{{.HostConfig.LogConfig.Type}} {{index .HostConfig.LogConfig.Config \"max-size\"}}", &n),
            "local 8k"
        );
        assert_counted(&d.run(c, &["logs", &n]).success().stdout, 20);
        d.run(c, &["info", "--format", "{{.LoggingDriver}}"])
            .success()
            .stdout_is("local\n");
    }
    // A driver of the container's own replaces the daemon's, options and all.
    d.run(
        Client::Docker,
        &[
            "run",
            "--name",
            "own",
            "--log-driver",
            "json-file",
            "busybox",
            "echo",
            "x",
        ],
    )
    .success();
    assert_eq!(
        inspect(
            &d,
            Client::Docker,
            "{{.HostConfig.LogConfig.Type}} {{len .HostConfig.LogConfig.Config}}",
            "own"
        ),
        "json-file 0"
    );
    // A bad daemon default refuses to start, naming it.
    let base = std::env::temp_dir().join(format!("berth-logcfg-{}", std::process::id()));
    std::fs::create_dir_all(&base).expect("dir");
    berth_tests::nettest::assert_daemon_refuses(
        &base,
        &["--log-driver", "nope"],
        "logger: no log driver named 'nope' is registered",
    );
    let _ = std::fs::remove_dir_all(&base);
}
