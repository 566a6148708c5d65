//! Volumes and mounts (issue 5) through the berth CLI and the real docker CLI against a
//! private berth daemon: named and anonymous volumes, binds, tmpfs, --mount, --volumes-from,
//! image VOLUME and copy-up, the volume commands and API, persistence across rm and a
//! daemon kill -9, and the bad inputs. Messages were taken from docker 28 against dockerd.

use berth_tests::{client_name as name, eventually, Client, TestDaemon};
use serde_json::Value;
use std::fs;
use std::os::unix::fs::MetadataExt;

fn json(s: &str) -> Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("bad JSON ({e}): {s}"))
}

/// Waits until `path` exists inside container `n` (a detached container got going).
fn wait_file(d: &TestDaemon, n: &str, path: &str) {
    assert!(
        eventually(10, || d
            .run(Client::Berth, &["exec", n, "test", "-e", path])
            .code
            == 0),
        "{path} never appeared in {n}"
    );
}

#[test]
fn volume_named_data_survives_rm_and_daemon_kill() {
    let mut d = TestDaemon::start();
    for c in Client::BOTH {
        let vol = name(c, "db");
        let w = name(c, "writer");
        // A database-like writer: it creates the volume on first use.
        d.run(
            c,
            &[
                "run",
                "--name",
                &w,
                "-v",
                &format!("{vol}:/var/lib/db"),
                "busybox",
                "sh",
                "-c",
                "echo row1 > /var/lib/db/table && sync",
            ],
        )
        .success();
        d.run(c, &["rm", &w]).success();
        d.run(c, &["volume", "ls", "-q"])
            .success()
            .stdout_contains(&vol);
        d.run(
            c,
            &[
                "run",
                "--rm",
                "-v",
                &format!("{vol}:/data"),
                "busybox",
                "cat",
                "/data/table",
            ],
        )
        .success()
        .stdout_is("row1\n");
        // The data is a plain directory on the host.
        let host = d.data_root.join("volumes").join(&vol).join("_data/table");
        assert_eq!(
            fs::read_to_string(&host).expect("volume data on host"),
            "row1\n"
        );
    }
    // A running container keeps writing through a daemon crash.
    d.run(
        Client::Berth,
        &[
            "run",
            "-d",
            "--name",
            "live",
            "-v",
            "livevol:/d",
            "busybox",
            "sh",
            "-c",
            "echo before > /d/f; sleep 1000",
        ],
    )
    .success();
    wait_file(&d, "live", "/d/f");
    d.kill_daemon();
    d.restart_daemon();
    for c in Client::BOTH {
        let vol = name(c, "db");
        d.run(
            c,
            &[
                "run",
                "--rm",
                "-v",
                &format!("{vol}:/data"),
                "busybox",
                "cat",
                "/data/table",
            ],
        )
        .success()
        .stdout_is("row1\n");
        d.run(
            c,
            &["volume", "inspect", "-f", "{{.Name}} {{.Driver}}", &vol],
        )
        .success()
        .stdout_is(&format!("{vol} local\n"));
    }
    d.run(
        Client::Berth,
        &["exec", "live", "sh", "-c", "echo after >> /d/f"],
    )
    .success();
    d.run(
        Client::Docker,
        &["run", "--rm", "-v", "livevol:/x", "busybox", "cat", "/x/f"],
    )
    .success()
    .stdout_is("before\nafter\n");
    // The volume is still counted as in use by the restored container.
    d.run(Client::Docker, &["volume", "rm", "livevol"])
        .code(1)
        .stderr_contains("volume is in use");
    d.run(Client::Berth, &["rm", "-f", "live"]).success();
}

#[test]
fn volume_shared_by_running_containers_and_read_only() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        let vol = name(c, "shared");
        let a = name(c, "a");
        let b = name(c, "b");
        for n in [&a, &b] {
            d.run(
                c,
                &[
                    "run",
                    "-d",
                    "--name",
                    n,
                    "-v",
                    &format!("{vol}:/s"),
                    "busybox",
                    "sleep",
                    "1000",
                ],
            )
            .success();
        }
        d.run(c, &["exec", &a, "sh", "-c", "echo from-a > /s/msg"])
            .success();
        d.run(c, &["exec", &b, "cat", "/s/msg"])
            .success()
            .stdout_is("from-a\n");
        // Read-only: reads work, writes are refused by the kernel.
        let o = d.run(
            c,
            &[
                "run",
                "--rm",
                "-v",
                &format!("{vol}:/s:ro"),
                "busybox",
                "sh",
                "-c",
                "cat /s/msg; echo x > /s/other",
            ],
        );
        o.code(1)
            .stdout_is("from-a\n")
            .stderr_contains("Read-only file system");
        let o = d.run(
            c,
            &[
                "run",
                "--rm",
                "--mount",
                &format!("type=volume,src={vol},dst=/s,readonly"),
                "busybox",
                "touch",
                "/s/t",
            ],
        );
        o.code(1).stderr_contains("Read-only file system");
        assert!(!d
            .data_root
            .join("volumes")
            .join(&vol)
            .join("_data/other")
            .exists());
        d.run(c, &["rm", "-f", &a, &b]).success();
    }
}

#[test]
fn volume_in_use_is_not_removed() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        let vol = name(c, "busy");
        let n = name(c, "user");
        d.run(c, &["volume", "create", &vol])
            .success()
            .stdout_is(&format!("{vol}\n"));
        d.run(
            c,
            &[
                "create",
                "--name",
                &n,
                "-v",
                &format!("{vol}:/d"),
                "busybox",
                "true",
            ],
        )
        .success();
        let data = d.data_root.join("volumes").join(&vol).join("_data/keep");
        fs::write(&data, "precious").expect("write into the volume");
        let id = d.run(c, &["inspect", "-f", "{{.Id}}", &n]).success().out();
        for args in [vec!["volume", "rm", &vol], vec!["volume", "rm", "-f", &vol]] {
            d.run(c, &args)
                .code(1)
                .stderr_contains(&format!("remove {vol}: volume is in use - [{id}]"));
        }
        let (status, body) = d.api("DELETE", &format!("/volumes/{vol}?force=1"), None);
        assert_eq!(status, 409, "{body}");
        assert!(body.contains("volume is in use"), "{body}");
        assert_eq!(fs::read_to_string(&data).expect("data kept"), "precious");
        // dangling=false lists it, dangling=true does not.
        d.run(c, &["volume", "ls", "-q", "--filter", "dangling=false"])
            .success()
            .stdout_contains(&vol);
        d.run(c, &["volume", "ls", "-q", "--filter", "dangling=true"])
            .success()
            .stdout_lacks(&vol);
        // A plain rm keeps named volumes, even with -v.
        d.run(c, &["rm", "-v", &n]).success();
        d.run(c, &["volume", "rm", &vol])
            .success()
            .stdout_is(&format!("{vol}\n"));
        assert!(!d.data_root.join("volumes").join(&vol).exists());
        d.run(c, &["volume", "rm", &vol])
            .code(1)
            .stderr_contains(&format!("get {vol}: no such volume"));
        d.run(c, &["volume", "rm", "-f", &vol]).success();
        d.run(c, &["volume", "inspect", &vol])
            .code(1)
            .stderr_contains(&format!("get {vol}: no such volume"));
    }
}

#[test]
fn volume_anonymous_removed_by_rm_v_and_run_rm() {
    let d = TestDaemon::start();
    let anon = |c: Client, n: &str| -> String {
        d.run(
            c,
            &["inspect", "-f", "{{range .Mounts}}{{.Name}}{{end}}", n],
        )
        .success()
        .out()
    };
    for c in Client::BOTH {
        let n = name(c, "anon");
        d.run(
            c,
            &["create", "--name", &n, "-v", "/scratch", "busybox", "true"],
        )
        .success();
        let v = anon(c, &n);
        assert_eq!(v.len(), 64, "anonymous volume name: {v:?}");
        d.run(c, &["volume", "ls", "-q"])
            .success()
            .stdout_contains(&v);
        d.run(c, &["rm", "-v", &n]).success();
        d.run(c, &["volume", "ls", "-q"]).success().stdout_lacks(&v);
        // Without -v it stays (dangling), and a plain prune removes it.
        d.run(
            c,
            &["create", "--name", &n, "-v", "/scratch", "busybox", "true"],
        )
        .success();
        let v = anon(c, &n);
        d.run(c, &["rm", &n]).success();
        d.run(c, &["volume", "ls", "-q", "-f", "dangling=true"])
            .success()
            .stdout_contains(&v);
        d.run(c, &["volume", "prune", "-f"])
            .success()
            .stdout_contains(&format!("Deleted Volumes:\n{v}\n"));
        // run --rm takes its anonymous volumes along.
        let before = d.run(c, &["volume", "ls", "-q"]).success().lines().len();
        d.run(
            c,
            &[
                "run",
                "--rm",
                "-v",
                "/tmpdata",
                "busybox",
                "sh",
                "-c",
                "echo x > /tmpdata/x",
            ],
        )
        .success();
        let gone = eventually(10, || {
            d.run(c, &["volume", "ls", "-q"]).success().lines().len() == before
        });
        assert!(gone, "run --rm left its anonymous volume");
    }
}

#[test]
fn volume_image_volume_and_copy_up() {
    let d = TestDaemon::start();
    // An image whose config declares VOLUME /data over files it ships.
    d.run(
        Client::Berth,
        &["run", "--name", "base", "busybox", "sh", "-c", "mkdir -p /data/sub && echo seed > /data/sub/s && chmod 0750 /data/sub && chown 1000:1000 /data/sub/s"],
    )
    .success();
    d.run(
        Client::Berth,
        &["commit", "-c", "VOLUME /data", "base", "withvol"],
    )
    .success();
    d.run(Client::Berth, &["rm", "base"]).success();
    for c in Client::BOTH {
        let n = name(c, "img");
        d.run(
            c,
            &[
                "run",
                "--name",
                &n,
                "withvol",
                "sh",
                "-c",
                "cat /data/sub/s; stat -c '%a %u' /data/sub /data/sub/s",
            ],
        )
        .success()
        .stdout_is("seed\n750 0\n644 1000\n");
        let m = json(
            &d.run(c, &["inspect", "-f", "{{json .Mounts}}", &n])
                .success()
                .out(),
        );
        assert_eq!(m[0]["Type"], "volume");
        assert_eq!(m[0]["Destination"], "/data");
        let vol = m[0]["Name"].as_str().expect("volume name").to_string();
        let src = d.data_root.join("volumes").join(&vol).join("_data/sub/s");
        assert_eq!(fs::read_to_string(&src).expect("copied up"), "seed\n");
        assert_eq!(fs::metadata(&src).expect("stat").uid(), 1000);
        d.run(c, &["rm", "-v", &n]).success();
        d.run(c, &["volume", "ls", "-q"])
            .success()
            .stdout_lacks(&vol);

        // A named volume over /etc receives the image's /etc, once.
        let vol = name(c, "etc");
        d.run(
            c,
            &[
                "run",
                "--rm",
                "-v",
                &format!("{vol}:/etc"),
                "busybox",
                "sh",
                "-c",
                "grep -c root /etc/passwd; echo mine > /etc/added",
            ],
        )
        .success()
        .stdout_is("1\n");
        d.run(
            c,
            &[
                "run",
                "--rm",
                "-v",
                &format!("{vol}:/etc"),
                "busybox",
                "cat",
                "/etc/added",
            ],
        )
        .success()
        .stdout_is("mine\n");
        // nocopy: the volume stays empty.
        let vol = name(c, "nocopy");
        d.run(
            c,
            &[
                "run",
                "--rm",
                "--mount",
                &format!("type=volume,src={vol},dst=/data,volume-nocopy"),
                "withvol",
                "ls",
                "-A",
                "/data",
            ],
        )
        .success()
        .stdout_is("");
        let vol = name(c, "nocopy2");
        d.run(
            c,
            &[
                "run",
                "--rm",
                "-v",
                &format!("{vol}:/data:nocopy"),
                "withvol",
                "ls",
                "-A",
                "/data",
            ],
        )
        .success()
        .stdout_is("");
    }
}

#[test]
fn volume_bind_mounts() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        let dir = d.dir().join(format!("{}-bind dir with spaces", c.name()));
        // -v creates a missing host directory, as docker does.
        d.run(
            c,
            &[
                "run",
                "--rm",
                "-v",
                &format!("{}:/h", dir.display()),
                "busybox",
                "sh",
                "-c",
                "echo hi > '/h/a file'",
            ],
        )
        .success();
        assert_eq!(
            fs::read_to_string(dir.join("a file")).expect("written through the bind"),
            "hi\n"
        );
        // Read-only bind.
        d.run(
            c,
            &[
                "run",
                "--rm",
                "-v",
                &format!("{}:/h:ro", dir.display()),
                "busybox",
                "sh",
                "-c",
                "cat '/h/a file'; touch /h/x",
            ],
        )
        .code(1)
        .stdout_is("hi\n")
        .stderr_contains("Read-only file system");
        // A file as the bind source.
        let file = d.dir().join(format!("{}-file.txt", c.name()));
        fs::write(&file, "file content\n").expect("write");
        d.run(
            c,
            &[
                "run",
                "--rm",
                "-v",
                &format!("{}:/etc/conf.txt", file.display()),
                "busybox",
                "cat",
                "/etc/conf.txt",
            ],
        )
        .success()
        .stdout_is("file content\n");
        d.run(
            c,
            &[
                "run",
                "--rm",
                "--mount",
                &format!("type=bind,source={},target=/f,readonly", file.display()),
                "busybox",
                "cat",
                "/f",
            ],
        )
        .success()
        .stdout_is("file content\n");
        // --mount does not create a missing source.
        let missing = d.dir().join(format!("{}-missing", c.name()));
        d.run(
            c,
            &[
                "run",
                "--rm",
                "--mount",
                &format!("type=bind,src={},dst=/x", missing.display()),
                "busybox",
                "true",
            ],
        )
        .code(125)
        .stderr_contains(&format!(
            "invalid mount config for type \"bind\": bind source path does not exist: {}",
            missing.display()
        ));
        assert!(!missing.exists());
        let n = name(c, "bindinspect");
        d.run(
            c,
            &[
                "create",
                "--name",
                &n,
                "-v",
                &format!("{}:/h:ro", dir.display()),
                "busybox",
                "true",
            ],
        )
        .success();
        let m = json(
            &d.run(c, &["inspect", "-f", "{{json .Mounts}}", &n])
                .success()
                .out(),
        );
        assert_eq!(m[0]["Type"], "bind");
        assert_eq!(m[0]["Source"], dir.to_string_lossy().as_ref());
        assert_eq!(m[0]["Destination"], "/h");
        assert_eq!(m[0]["Mode"], "ro");
        assert_eq!(m[0]["RW"], false);
        assert_eq!(m[0]["Propagation"], "rprivate");
        d.run(c, &["rm", &n]).success();
    }
}

#[test]
fn volume_bad_specs_are_refused() {
    let d = TestDaemon::start();
    let before = d.container_ids().len();
    for c in Client::BOTH {
        let p = c.name();
        let run = |args: &[&str]| {
            let mut all = vec!["run", "--rm"];
            all.extend_from_slice(args);
            all.extend_from_slice(&["busybox", "true"]);
            d.run(c, &all)
        };
        run(&["-v", "foo/bar:/x"]).code(125).stderr_contains(
            "create foo/bar: \"foo/bar\" includes invalid characters for a local volume name, only \"[a-zA-Z0-9][a-zA-Z0-9_.-]\" are allowed. If you intended to pass a host directory, use absolute path",
        );
        run(&["-v", "vol:rel"]).code(125).stderr_contains(
            "invalid volume specification: 'vol:rel': invalid mount config for type \"volume\": invalid mount path: 'rel' mount path must be absolute",
        );
        run(&["-v", "a:b:c:d"])
            .code(125)
            .stderr_contains("invalid volume specification: 'a:b:c:d'");
        run(&["-v", "vol:/x:xyz"])
            .code(125)
            .stderr_contains("invalid mode: xyz");
        run(&["-v", "v1x:/x", "-v", "v2x:/x"])
            .code(125)
            .stderr_contains("Duplicate mount point: /x");
        run(&["--mount", "type=bind,src=rel,dst=/x"]).code(125).stderr_contains(
            "invalid mount config for type \"bind\": invalid mount path: 'rel' mount path must be absolute",
        );
        run(&["--mount", "type=weird,dst=/x"])
            .code(125)
            .stderr_contains("invalid mount config for type \"weird\": mount type unknown");
        run(&["--tmpfs", "rel"])
            .code(125)
            .stderr_contains("invalid mount path: 'rel' mount path must be absolute");
        run(&["--volumes-from", "nope"])
            .code(125)
            .stderr_contains("No such container: nope");
        // The CLI's own --mount checks (no request is sent).
        run(&["--mount", "type=bind,source=/tmp"])
            .code(125)
            .stderr_contains(
            "invalid argument \"type=bind,source=/tmp\" for \"--mount\" flag: target is required",
        );
        run(&["--mount", "type=volume,src=v1,dst=/x,foo=bar"]).code(125).stderr_contains(
            "invalid argument \"type=volume,src=v1,dst=/x,foo=bar\" for \"--mount\" flag: unexpected key 'foo' in 'foo=bar'",
        );
        run(&["--mount", "foo"]).code(125).stderr_contains(
            "invalid argument \"foo\" for \"--mount\" flag: invalid field 'foo' must be a key=value pair",
        );
        d.run(c, &["volume", "create", "bad name!"])
            .code(1)
            .stderr_contains(
            "create bad name!: \"bad name!\" includes invalid characters for a local volume name",
        );
        d.run(c, &["volume", "create", "a"]).code(1).stderr_contains(
            "create a: volume name is too short, names should be at least two alphanumeric characters",
        );
        d.run(
            c,
            &["volume", "create", "-o", "bogus=1", &format!("{p}-opts")],
        )
        .code(1)
        .stderr_contains("invalid option key: \"bogus\"");
        d.run(c, &["volume", "ls", "-f", "foo=bar"])
            .code(1)
            .stderr_contains("Invalid filter 'foo'");
    }
    // Nothing half-made stays behind: no containers, no volumes (the valid names in the
    // duplicate check were not created either).
    assert_eq!(d.container_ids().len(), before);
    d.run(Client::Berth, &["volume", "ls", "-q"])
        .success()
        .stdout_is("");
}

#[test]
fn volume_ls_filters_format_inspect_prune() {
    let d = TestDaemon::start();
    let c = Client::Docker;
    d.run(
        c,
        &[
            "volume", "create", "--label", "tier=db", "--label", "keep", "vdb",
        ],
    )
    .success();
    d.run(c, &["volume", "create", "vweb"]).success();
    d.run(
        Client::Berth,
        &["volume", "create", "--label", "tier=web", "vweb2"],
    )
    .success();
    d.run(
        c,
        &[
            "create", "--name", "user1", "-v", "vweb:/w", "busybox", "true",
        ],
    )
    .success();
    for c in Client::BOTH {
        d.run(c, &["volume", "ls"])
            .success()
            .stdout_is("DRIVER    VOLUME NAME\nlocal     vdb\nlocal     vweb\nlocal     vweb2\n");
        d.run(c, &["volume", "ls", "-q", "--filter", "label=tier=db"])
            .success()
            .stdout_is("vdb\n");
        d.run(c, &["volume", "ls", "-q", "--filter", "label=tier"])
            .success()
            .stdout_is("vdb\nvweb2\n");
        d.run(c, &["volume", "ls", "-q", "--filter", "name=web"])
            .success()
            .stdout_is("vweb\nvweb2\n");
        d.run(c, &["volume", "ls", "-q", "--filter", "dangling=true"])
            .success()
            .stdout_is("vdb\nvweb2\n");
        d.run(
            c,
            &[
                "volume",
                "ls",
                "-q",
                "--filter",
                "driver=local",
                "--filter",
                "name=vdb",
            ],
        )
        .success()
        .stdout_is("vdb\n");
        let out = d
            .run(
                c,
                &[
                    "volume",
                    "ls",
                    "--format",
                    "{{.Name}}|{{.Driver}}|{{.Scope}}|{{.Labels}}",
                    "-f",
                    "name=vdb",
                ],
            )
            .success()
            .out();
        // The docker CLI joins labels in Go's map order, which is random: compare them as a set.
        let (head, labels) = out.rsplit_once('|').unwrap_or((&out, ""));
        let mut labels: Vec<&str> = labels.split(',').collect();
        labels.sort_unstable();
        assert_eq!(
            (head, labels),
            ("vdb|local|local", vec!["keep=", "tier=db"])
        );
        let v = json(&d.run(c, &["volume", "inspect", "vdb"]).success().stdout);
        let v = &v[0];
        assert_eq!(v["Name"], "vdb");
        assert_eq!(v["Driver"], "local");
        assert_eq!(v["Scope"], "local");
        assert_eq!(v["Labels"]["tier"], "db");
        assert!(v["Options"].is_null(), "{v}");
        let mp = d.data_root.join("volumes/vdb/_data");
        assert_eq!(v["Mountpoint"], mp.to_string_lossy().as_ref());
        let created = v["CreatedAt"].as_str().expect("CreatedAt");
        assert!(created.ends_with('Z') && created.len() == 20, "{created}");
    }
    // The API's shapes.
    let (status, body) = d.api(
        "POST",
        "/volumes/create",
        Some(r#"{"Name":"apivol","Labels":{"x":"1"}}"#),
    );
    assert_eq!(status, 201, "{body}");
    assert_eq!(json(&body)["Name"], "apivol");
    let (status, body) = d.api("GET", "/volumes", None);
    assert_eq!(status, 200);
    let v = json(&body);
    assert!(v["Warnings"].is_null());
    assert_eq!(v["Volumes"].as_array().map(|a| a.len()), Some(4));
    let (status, _) = d.api("GET", "/volumes/nope", None);
    assert_eq!(status, 404);
    // Plain prune: only anonymous volumes; named ones need -a; label filters narrow it.
    d.run(Client::Berth, &["volume", "prune", "-f"])
        .success()
        .stdout_is("Total reclaimed space: 0B\n");
    fs::write(d.data_root.join("volumes/vdb/_data/f"), vec![b'x'; 2000]).expect("write");
    d.run(
        Client::Docker,
        &["volume", "prune", "-af", "--filter", "label=tier=db"],
    )
    .success()
    .stdout_is("Deleted Volumes:\nvdb\n\nTotal reclaimed space: 2kB\n");
    let o = d.run(Client::Berth, &["volume", "prune", "-a", "-f"]);
    o.success()
        .stdout_contains("apivol\n")
        .stdout_contains("vweb2\n")
        .stdout_lacks("vweb\n");
    d.run(Client::Docker, &["volume", "ls", "-q"])
        .success()
        .stdout_is("vweb\n");
}

#[test]
fn volume_tmpfs_and_local_driver_options() {
    let d = TestDaemon::start();
    let hostdir = d.dir().join("driver-bind");
    fs::create_dir_all(&hostdir).expect("mkdir");
    fs::write(hostdir.join("h"), "from host\n").expect("write");
    for c in Client::BOTH {
        let p = c.name();
        d.run(
            c,
            &[
                "run",
                "--rm",
                "--tmpfs",
                "/run:size=1m,mode=1777",
                "busybox",
                "sh",
                "-c",
                "grep ' /run ' /proc/mounts; stat -c %a /run",
            ],
        )
        .success()
        .stdout_contains("tmpfs /run tmpfs rw,nosuid,nodev,noexec,relatime,size=1024k")
        .stdout_contains("1777\n");
        d.run(
            c,
            &[
                "run",
                "--rm",
                "--mount",
                "type=tmpfs,dst=/t,tmpfs-size=2m,tmpfs-mode=700",
                "busybox",
                "sh",
                "-c",
                "grep ' /t ' /proc/mounts; stat -c %a /t",
            ],
        )
        .success()
        .stdout_contains("size=2048k")
        .stdout_contains("700\n");
        // The local driver's tmpfs volume: mounted for its users, gone when unused.
        let tv = format!("{p}-tmpvol");
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
        d.run(
            c,
            &[
                "volume",
                "inspect",
                "-f",
                "{{.Options.type}} {{.Options.o}}",
                &tv,
            ],
        )
        .success()
        .stdout_is("tmpfs size=1m\n");
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
                "grep ' /x ' /proc/mounts; echo t > /x/t",
            ],
        )
        .success()
        .stdout_contains("tmpfs /x tmpfs rw,relatime,size=1024k");
        let data = d.data_root.join("volumes").join(&tv).join("_data");
        assert!(
            eventually(10, || !data.join("t").exists()),
            "the tmpfs volume stayed mounted after its last user"
        );
        d.run(c, &["volume", "rm", &tv]).success();
        // A bind through the local driver.
        let bv = format!("{p}-bindvol");
        d.run(
            c,
            &[
                "volume",
                "create",
                "-o",
                "type=none",
                "-o",
                "o=bind",
                "-o",
                &format!("device={}", hostdir.display()),
                &bv,
            ],
        )
        .success();
        d.run(
            c,
            &[
                "run",
                "--rm",
                "-v",
                &format!("{bv}:/b"),
                "busybox",
                "cat",
                "/b/h",
            ],
        )
        .success()
        .stdout_is("from host\n");
        d.run(c, &["volume", "rm", &bv]).success();
        assert!(
            hostdir.join("h").exists(),
            "removing a bind volume must not touch its device"
        );
    }
    assert!(
        berth_tests::mounts_under(&d.data_root.join("volumes")).is_empty(),
        "volume mounts left behind"
    );
}

#[test]
fn volume_volumes_from_and_mounts_in_ps() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        let src = name(c, "datasrc");
        let vol = name(c, "fromvol");
        d.run(
            c,
            &[
                "create",
                "--name",
                &src,
                "-v",
                &format!("{vol}:/shared"),
                "-v",
                "/anon",
                "busybox",
                "true",
            ],
        )
        .success();
        d.run(
            c,
            &[
                "run",
                "--rm",
                "--volumes-from",
                &src,
                "busybox",
                "sh",
                "-c",
                "echo v > /shared/v && test -d /anon",
            ],
        )
        .success();
        d.run(
            c,
            &[
                "run",
                "--rm",
                "--volumes-from",
                &format!("{src}:ro"),
                "busybox",
                "touch",
                "/shared/w",
            ],
        )
        .code(1)
        .stderr_contains("Read-only file system");
        d.run(
            c,
            &[
                "run",
                "--rm",
                "-v",
                &format!("{vol}:/x"),
                "busybox",
                "cat",
                "/x/v",
            ],
        )
        .success()
        .stdout_is("v\n");
        d.run(
            c,
            &[
                "ps",
                "-a",
                "--filter",
                &format!("name={src}"),
                "--format",
                "{{.Mounts}}|{{.LocalVolumes}}",
            ],
        )
        .success()
        .stdout_contains(&vol)
        .stdout_contains("|2\n");
        // The anonymous volume of the source survived the --rm of the container that
        // only borrowed it.
        let anon = d
            .run(
                c,
                &[
                    "inspect",
                    "-f",
                    "{{range .Mounts}}{{if eq .Destination \"/anon\"}}{{.Name}}{{end}}{{end}}",
                    &src,
                ],
            )
            .success()
            .out();
        d.run(c, &["volume", "inspect", &anon]).success();
        d.run(c, &["rm", "-v", &src]).success();
        d.run(c, &["volume", "ls", "-q"])
            .success()
            .stdout_lacks(&anon)
            .stdout_contains(&vol);
    }
    let (status, body) = d.api("POST", "/containers/create?name=api", Some(r#"{"Image":"busybox","Cmd":["true"],"HostConfig":{"Binds":["apiv:/d:ro"],"Mounts":[{"Type":"tmpfs","Target":"/t"}]}}"#));
    assert_eq!(status, 201, "{body}");
    let (_, body) = d.api(
        "GET",
        "/containers/json?all=1&filters=%7B%22name%22%3A%5B%22api%22%5D%7D",
        None,
    );
    let list = json(&body);
    let mounts = list[0]["Mounts"].as_array().expect("Mounts").clone();
    let vol = mounts
        .iter()
        .find(|m| m["Type"] == "volume")
        .expect("volume mount");
    assert_eq!(vol["Name"], "apiv");
    assert_eq!(vol["Driver"], "local");
    assert_eq!(vol["Mode"], "ro");
    assert_eq!(vol["RW"], false);
    assert_eq!(vol["Destination"], "/d");
    let tmp = mounts
        .iter()
        .find(|m| m["Type"] == "tmpfs")
        .expect("tmpfs mount");
    assert_eq!(tmp["Source"], "");
    assert_eq!(tmp["RW"], true);
}

#[test]
fn volume_sizes_in_system_df() {
    let d = TestDaemon::start();
    d.run(
        Client::Berth,
        &[
            "run",
            "--rm",
            "-v",
            "sized:/d",
            "busybox",
            "sh",
            "-c",
            "dd if=/dev/zero of=/d/blob bs=1024 count=300 2>/dev/null",
        ],
    )
    .success();
    d.run(
        Client::Berth,
        &[
            "create", "--name", "holder", "-v", "held:/h", "busybox", "true",
        ],
    )
    .success();
    for c in Client::BOTH {
        let o = d.run(c, &["system", "df", "-v"]);
        o.success().stdout_contains("Local Volumes space usage:");
        let lines = o.lines();
        let row = |v: &str| {
            lines
                .iter()
                .find(|l| l.split_whitespace().next() == Some(v))
                .unwrap_or_else(|| panic!("no row for {v}:\n{}", o.stdout))
                .split_whitespace()
                .map(str::to_string)
                .collect::<Vec<_>>()
        };
        assert_eq!(row("sized")[1..], ["0".to_string(), "307.2kB".to_string()]);
        assert_eq!(row("held")[1..], ["1".to_string(), "0B".to_string()]);
        let o = d.run(
            c,
            &[
                "system",
                "df",
                "--format",
                "{{.Type}} {{.TotalCount}} {{.Active}} {{.Size}}",
            ],
        );
        o.success().stdout_contains("Local Volumes 2 1 307.2kB\n");
    }
    let (_, body) = d.api("GET", "/system/df", None);
    let v = json(&body);
    let sized = v["Volumes"]
        .as_array()
        .and_then(|a| a.iter().find(|x| x["Name"] == "sized"))
        .expect("sized volume in df")
        .clone();
    assert_eq!(sized["UsageData"]["Size"], 307200);
    assert_eq!(sized["UsageData"]["RefCount"], 0);
}
