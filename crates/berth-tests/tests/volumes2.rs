//! Volumes, part 2 (issue 5): `cp` through volumes and bind mounts (running and stopped
//! containers, read-only mounts refused with moby's message), copy-up at create, and local
//! driver volumes unmounted at daemon start when their users ended while it was down.
//! Both the berth CLI and the real docker CLI run against a private berth daemon.

use berth_tests::{client_name as name, eventually, Client, TestDaemon};
use std::fs;

/// Mount points of the test's (host) mount namespace.
fn host_mounts() -> Vec<String> {
    fs::read_to_string("/proc/self/mountinfo")
        .expect("mountinfo")
        .lines()
        .filter_map(|l| l.split(' ').nth(4).map(str::to_string))
        .collect()
}

fn inspect(d: &TestDaemon, c: Client, what: &str, fmt: &str) -> String {
    d.run(c, &["inspect", "-f", fmt, what])
        .success()
        .out()
        .trim()
        .to_string()
}

#[test]
fn volume2_cp_sees_volumes_and_binds() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        let n = name(c, "cpv");
        let (vol, rovol) = (name(c, "cpdata"), name(c, "cpro"));
        let bind = d.dir().join(format!("{n} bind"));
        fs::create_dir_all(&bind).unwrap();
        fs::write(bind.join("hostfile"), "from host\n").unwrap();
        let src = d.dir().join(format!("{n}-in.txt"));
        fs::write(&src, "copied in\n").unwrap();
        d.run(
            c,
            &[
                "create",
                "--name",
                &n,
                "-v",
                &format!("{vol}:/data"),
                "-v",
                &format!("{rovol}:/ro:ro"),
                "-v",
                &format!("{}:/hb", bind.display()),
                "busybox",
                "sleep",
                "1000",
            ],
        )
        .success();
        let vdata = d.data_root.join("volumes").join(&vol).join("_data");
        let rodata = d.data_root.join("volumes").join(&rovol).join("_data");
        // A created (never started) container: into the volume, out of the bind.
        d.run(
            c,
            &["cp", &src.to_string_lossy(), &format!("{n}:/data/in.txt")],
        )
        .success();
        assert_eq!(
            fs::read_to_string(vdata.join("in.txt")).unwrap(),
            "copied in\n"
        );
        let out = d.dir().join(format!("{n}-out1"));
        d.run(
            c,
            &["cp", &format!("{n}:/hb/hostfile"), &out.to_string_lossy()],
        )
        .success();
        assert_eq!(fs::read_to_string(&out).unwrap(), "from host\n");
        // Writes to a read-only mount are refused; nothing lands in the volume.
        d.run(c, &["cp", &src.to_string_lossy(), &format!("{n}:/ro/")])
            .failure()
            .stderr_contains("mounted volume is marked read-only");
        assert!(fs::read_dir(&rodata).unwrap().next().is_none());
        // A path outside the mounts still goes to the container's own filesystem.
        d.run(
            c,
            &["cp", &src.to_string_lossy(), &format!("{n}:/root.txt")],
        )
        .success();
        assert!(!vdata.join("root.txt").exists());

        d.run(c, &["start", &n]).success();
        d.run(c, &["exec", &n, "cat", "/data/in.txt"])
            .success()
            .stdout_is("copied in\n");
        d.run(c, &["exec", &n, "cat", "/root.txt"])
            .success()
            .stdout_is("copied in\n");
        // A running container: into the bind, out of the volume, through the container's view.
        d.run(c, &["exec", &n, "sh", "-c", "echo live > /data/live.txt"])
            .success();
        d.run(c, &["cp", &src.to_string_lossy(), &format!("{n}:/hb/")])
            .success();
        assert_eq!(
            fs::read_to_string(bind.join(format!("{n}-in.txt"))).unwrap(),
            "copied in\n"
        );
        let out2 = d.dir().join(format!("{n}-out2"));
        d.run(
            c,
            &[
                "cp",
                &format!("{n}:/data/live.txt"),
                &out2.to_string_lossy(),
            ],
        )
        .success();
        assert_eq!(fs::read_to_string(&out2).unwrap(), "live\n");
        // The whole mount point as a directory.
        let out3 = d.dir().join(format!("{n}-out3"));
        d.run(c, &["cp", &format!("{n}:/data"), &out3.to_string_lossy()])
            .success();
        assert_eq!(fs::read_to_string(out3.join("live.txt")).unwrap(), "live\n");
        d.run(c, &["cp", &src.to_string_lossy(), &format!("{n}:/ro/x")])
            .failure()
            .stderr_contains("mounted volume is marked read-only");
        d.run(c, &["cp", &format!("{n}:/data/nope"), "-"])
            .failure()
            .stderr_contains(&format!(
                "Could not find the file /data/nope in container {n}"
            ));
        // The copies mounted nothing in the daemon's namespace.
        let leaked: Vec<String> = host_mounts()
            .into_iter()
            .filter(|m| {
                m.ends_with("/rootfs/data")
                    || m.ends_with("/rootfs/hb")
                    || m.ends_with("/rootfs/ro")
            })
            .collect();
        assert!(leaked.is_empty(), "mounts left behind: {leaked:?}");
        d.run(c, &["rm", "-f", &n]).success();
    }
}

#[test]
fn volume2_cp_read_only_rootfs_but_writable_volume() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        let n = name(c, "rorootfs");
        let src = d.dir().join(format!("{n}.txt"));
        fs::write(&src, "x\n").unwrap();
        d.run(
            c,
            &[
                "create",
                "--name",
                &n,
                "--read-only",
                "-v",
                "/scratch",
                "busybox",
                "true",
            ],
        )
        .success();
        d.run(c, &["cp", &src.to_string_lossy(), &format!("{n}:/")])
            .failure()
            .stderr_contains("container rootfs is marked read-only");
        // moby's rule: a read-only rootfs still takes copies into a writable volume.
        d.run(
            c,
            &["cp", &src.to_string_lossy(), &format!("{n}:/scratch/")],
        )
        .success();
        let source = inspect(&d, c, &n, "{{range .Mounts}}{{.Source}}{{end}}");
        assert_eq!(
            fs::read_to_string(std::path::Path::new(&source).join(format!("{n}.txt"))).unwrap(),
            "x\n"
        );
        d.run(c, &["rm", "-v", &n]).success();
    }
}

#[test]
fn volume2_copy_up_happens_at_create() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        let (n, vol) = (name(c, "cu"), name(c, "cuvol"));
        d.run(
            c,
            &[
                "create",
                "--name",
                &n,
                "-v",
                &format!("{vol}:/etc"),
                "busybox",
                "true",
            ],
        )
        .success();
        // Before any start, the volume holds the image's files (as docker's).
        let mp = d
            .run(c, &["volume", "inspect", "-f", "{{.Mountpoint}}", &vol])
            .success()
            .out()
            .trim()
            .to_string();
        let passwd = fs::read_to_string(std::path::Path::new(&mp).join("passwd")).unwrap();
        assert!(passwd.starts_with("root:"), "{passwd}");
        // The first start does not copy again over what the user changed meanwhile.
        fs::write(std::path::Path::new(&mp).join("passwd"), "changed\n").unwrap();
        d.run(c, &["start", "-a", &n]).success();
        assert_eq!(
            fs::read_to_string(std::path::Path::new(&mp).join("passwd")).unwrap(),
            "changed\n"
        );
        // Anonymous (image-path) volumes too; nocopy stays empty.
        let anon = name(c, "cuanon");
        d.run(
            c,
            &["create", "--name", &anon, "-v", "/etc", "busybox", "true"],
        )
        .success();
        let src = inspect(&d, c, &anon, "{{range .Mounts}}{{.Source}}{{end}}");
        assert!(std::path::Path::new(&src).join("group").is_file(), "{src}");
        let nc = name(c, "cunocopy");
        let ncvol = name(c, "cuncvol");
        d.run(
            c,
            &[
                "create",
                "--name",
                &nc,
                "-v",
                &format!("{ncvol}:/etc:nocopy"),
                "busybox",
                "true",
            ],
        )
        .success();
        let ncdata = d.data_root.join("volumes").join(&ncvol).join("_data");
        assert!(fs::read_dir(&ncdata).unwrap().next().is_none());
        // No temporary rootfs mount stays behind after create.
        let id = inspect(&d, c, &n, "{{.Id}}");
        assert!(
            !host_mounts().iter().any(|m| m.contains(&id)),
            "rootfs of {n} still mounted"
        );
        d.run(c, &["rm", "-v", &n, &anon, &nc]).success();
    }
}

#[test]
fn volume2_local_volume_unmounted_at_daemon_start() {
    let mut d = TestDaemon::start();
    let c = Client::Berth;
    let tv = name(c, "tmpv");
    d.run(
        c,
        &[
            "volume",
            "create",
            "-o",
            "type=tmpfs",
            "-o",
            "device=tmpfs",
            "-o",
            "o=size=1m",
            &tv,
        ],
    )
    .success();
    let n = name(c, "tmpuser");
    d.run(
        c,
        &[
            "run",
            "-d",
            "--name",
            &n,
            "-v",
            &format!("{tv}:/x"),
            "busybox",
            "sleep",
            "1000",
        ],
    )
    .success();
    let data = d.data_root.join("volumes").join(&tv).join("_data");
    let data_s = data.to_string_lossy().to_string();
    assert!(host_mounts().contains(&data_s), "tmpfs volume not mounted");
    let pid: i32 = inspect(&d, c, &n, "{{.State.Pid}}").parse().unwrap();
    // The daemon goes down, then the volume's only user ends.
    d.kill_daemon();
    unsafe {
        libc::kill(pid, libc::SIGKILL);
    }
    assert!(eventually(10, || unsafe { libc::kill(pid, 0) } != 0));
    d.restart_daemon();
    assert!(
        eventually(10, || !host_mounts().contains(&data_s)),
        "tmpfs volume still mounted after restart"
    );
    assert_ne!(inspect(&d, c, &n, "{{.State.Status}}"), "running");
    // It was the daemon's start that unmounted it (the user was gone before).
    assert!(
        d.log_tail()
            .contains("unmounting volume without running users"),
        "{}",
        d.log_tail()
    );
    // The volume itself stays, and works again for a new user.
    d.run(
        c,
        &[
            "run",
            "--rm",
            "-v",
            &format!("{tv}:/x"),
            "busybox",
            "sh",
            "-c",
            "grep ' /x ' /proc/mounts",
        ],
    )
    .success()
    .stdout_contains("tmpfs");
    d.run(c, &["rm", &n]).success();
}

#[test]
fn volume2_system_df_sizes_count_as_docker() {
    let d = TestDaemon::start();
    // The image's /etc (with its /etc/mtab symlink and the empty mount-point files) copied
    // up at create: docker 28 reports 804B for this volume with this busybox.
    d.run(
        Client::Berth,
        &[
            "create",
            "--name",
            "dfsz",
            "-v",
            "etcvol:/etc",
            "busybox",
            "true",
        ],
    )
    .success();
    let mp = d.data_root.join("volumes/etcvol/_data");
    fs::hard_link(mp.join("passwd"), mp.join("passwd.link")).unwrap();
    for c in Client::BOTH {
        let o = d.run(c, &["system", "df", "-v"]);
        o.success();
        let row: Vec<String> = o
            .lines()
            .iter()
            .find(|l| l.split_whitespace().next() == Some("etcvol"))
            .unwrap_or_else(|| panic!("no etcvol row:\n{}", o.out()))
            .split_whitespace()
            .map(str::to_string)
            .collect();
        assert_eq!(row, ["etcvol", "1", "804B"]);
    }
    let (code, body) = d.api("GET", "/system/df", None);
    assert_eq!(code, 200);
    let v: serde_json::Value = serde_json::from_str(&body).expect("df JSON");
    let vol = v["Volumes"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["Name"] == "etcvol"))
        .unwrap_or_else(|| panic!("no etcvol in {body}"))
        .clone();
    assert_eq!(vol["UsageData"]["Size"], 804, "{vol}");
    assert_eq!(vol["UsageData"]["RefCount"], 1);
    assert_eq!(vol["Mountpoint"], mp.to_string_lossy().as_ref());
}

#[test]
fn volume2_mount_volume_opt_and_bind_propagation() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        // volume-opt: the local driver's options create a tmpfs-backed volume on first use.
        let ov = name(c, "optv");
        d.run(
            c,
            &[
                "run",
                "--rm",
                "--mount",
                &format!("type=volume,src={ov},dst=/o,volume-opt=type=tmpfs,volume-opt=device=tmpfs,\"volume-opt=o=size=1m\""),
                "busybox",
                "sh",
                "-c",
                "grep ' /o ' /proc/mounts",
            ],
        )
        .success()
        .stdout_contains("tmpfs /o tmpfs")
        .stdout_contains("size=1024k");
        d.run(c, &["volume", "inspect", "-f", "{{json .Options}}", &ov])
            .success()
            .stdout_is("{\"device\":\"tmpfs\",\"o\":\"size=1m\",\"type\":\"tmpfs\"}\n");
        // The local driver's refusals, in moby's words; nothing is created.
        let bad = name(c, "optbad");
        d.run(
            c,
            &[
                "run",
                "--rm",
                "--mount",
                &format!("type=volume,src={bad},dst=/o,volume-opt=foo=bar"),
                "busybox",
                "true",
            ],
        )
        .code(125)
        .stderr_contains(&format!("create {bad}: invalid option: \"foo\""));
        d.run(c, &["volume", "create", "-o", "o=size=1m", &bad])
            .code(1)
            .stderr_contains(&format!(
                "create {bad}: missing required option: \"device\""
            ));
        d.run(c, &["volume", "ls", "-q"])
            .success()
            .stdout_lacks(&bad);
        // bind-propagation shows in Mounts; a bad one is refused as moby does.
        let src = d.dir().join(format!("{}-prop", c.name()));
        fs::create_dir_all(&src).unwrap();
        let n = name(c, "prop");
        d.run(
            c,
            &[
                "create",
                "--name",
                &n,
                "--mount",
                &format!(
                    "type=bind,src={},dst=/b,bind-propagation=rslave",
                    src.display()
                ),
                "busybox",
                "true",
            ],
        )
        .success();
        assert_eq!(
            inspect(
                &d,
                c,
                &n,
                "{{range .Mounts}}{{.Type}} {{.Propagation}} {{.RW}}{{end}}"
            ),
            "bind rslave true"
        );
        d.run(
            c,
            &[
                "run",
                "--rm",
                "--mount",
                &format!(
                    "type=bind,src={},dst=/b,bind-propagation=foo",
                    src.display()
                ),
                "busybox",
                "true",
            ],
        )
        .code(125)
        .stderr_contains("invalid mount config for type \"bind\": invalid propagation mode: foo");
        d.run(c, &["rm", &n]).success();
    }
}

/// `--mount volume-subpath=`: a directory or file inside a volume is mounted instead of its
/// root; symlinks inside the volume are followed but may not lead out of it; absolute or
/// `..` subpaths are refused at create, missing ones at start (moby's messages); copy-up
/// fills the subpath directory.
#[test]
fn volume2_mount_volume_subpath() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        let vol = name(c, "subvol");
        let setup =
            "echo foo > /v/bar.txt && mkdir /v/bin /v/subdir && echo world > /v/subdir/hello.txt \
                     && mkdir /v/hack && ln -s / /v/hack/root && ln -s ../subdir /v/hack/good \
                     && ln -s root /v/hack/bad";
        d.run(
            c,
            &[
                "run",
                "--rm",
                "--network",
                "none",
                "-v",
                &format!("{vol}:/v"),
                "busybox",
                "sh",
                "-c",
                setup,
            ],
        )
        .success();
        let mount = |sub: &str, target: &str| {
            format!("type=volume,src={vol},dst={target},volume-subpath={sub}")
        };
        let run = |sub: &str, target: &str, cmd: &[&str]| {
            let m = mount(sub, target);
            let mut args = vec!["run", "--rm", "--network", "none", "--mount", &m, "busybox"];
            args.extend_from_slice(cmd);
            d.run(c, &args)
        };
        run("subdir", "/volume", &["ls", "/volume"])
            .success()
            .stdout_is("hello.txt\n");
        run("hack/good", "/volume", &["ls", "/volume"])
            .success()
            .stdout_is("hello.txt\n");
        run("bar.txt", "/volume", &["cat", "/volume"])
            .success()
            .stdout_is("foo\n");
        // A subpath mount is read-write into the volume: the file shows at the volume's root.
        run(
            "subdir",
            "/volume",
            &["sh", "-c", "echo new > /volume/w.txt"],
        )
        .success();
        d.run(
            c,
            &[
                "run",
                "--rm",
                "--network",
                "none",
                "-v",
                &format!("{vol}:/v"),
                "busybox",
                "cat",
                "/v/subdir/w.txt",
            ],
        )
        .success()
        .stdout_is("new\n");
        // Copy-up goes into the (empty) subpath directory.
        run("bin", "/bin", &["ls", "/bin/busybox"])
            .success()
            .stdout_is("/bin/busybox\n");
        for bad in ["../../../../../../etc/passwd", "/etc"] {
            run(bad, "/volume", &["true"])
                .code(125)
                .stderr_contains("subpath must be a relative path within the volume");
        }
        run("not-existing-path", "/volume", &["true"])
            .code(127)
            .stderr_contains("cannot access path");
        for esc in ["hack/root", "hack/bad"] {
            run(esc, "/volume", &["ls", "/volume"])
                .code(125)
                .stderr_contains("path concatenation escapes the base directory");
        }
        d.run(c, &["volume", "rm", &vol]).success();
    }
}
