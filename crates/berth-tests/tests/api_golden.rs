//! Golden API outputs: the exact bytes the daemon answers for container inspect, the
//! container list, network inspect, image inspect/list/history, for containers made by the
//! berth CLI, the real docker CLI and raw API bodies (unknown fields, nulls, old shapes).
//! Captured before the typed API model replaced `serde_json::Value` in the create/inspect
//! path, they prove the refactor changed nothing on the wire, but for three things,
//! each now as moby answers (the goldens were re-captured once, every other byte equal):
//! `HostConfig.Mounts` entries in moby's field order (`Type`, `Source`, `Target`, ...)
//! whatever order the client's JSON had (the berth CLI's were sorted); an unknown
//! `HostConfig` key echoed after `ConsoleSize` instead of before it; no
//! `Healthcheck.Test` (was `null`) when only `--health-interval` and friends are given
//! (moby's `Test` is `omitempty`). Re-captured again with the API-version work (each
//! difference checked field by field, each as moby 28 answers): a container's `Env` has
//! the user's variables before the image's (moby's merge); image inspect's `Config` carries
//! moby's legacy empty fields (below API 1.50) and no `Variant` when the image has none;
//! the image list has moby's field order and no `VirtualSize` at the current version.
//! Re-captured with the bind-propagation work: `HostConfig.PidsLimit` is `null` when no
//! limit is set (moby's `*int64` without omitempty; create turns <=0 into none), and a
//! bind whose source is a parent of the data root shows `rslave` (moby's
//! validateBindDaemonRoot). Re-captured with the session-14 audit: no `HostConfig.Mounts`
//! or `Tmpfs` key when empty (moby's omitempty), `Config.Volumes` null when neither the
//! request nor the image names a volume (moby's merge takes the image's for an empty map);
//! nothing else changed.
//!
//! Only what differs from run to run is normalised (ids, digests, times, addresses, ports,
//! pids, the test directory); key order, every value, `null` vs `[]` vs absent stay as
//! sent. `BERTH_GOLDEN_UPDATE=1` rewrites `golden/api_*.txt` from this run.

use berth_tests::{Client, TestDaemon};
use regex::{Captures, Regex};
use std::fmt::Write as _;
use std::fs;
use std::path::PathBuf;

/// Replaces what legitimately changes between runs, keeping every byte around it.
fn normalize(d: &TestDaemon, s: &str) -> String {
    let s = s.replace(&d.dir.to_string_lossy().into_owned(), "<DIR>");
    let s = s.replace(&d.net.bridge(), "<BRIDGE>");
    let rules: &[(&str, &str)] = &[
        (r"[0-9a-f]{64}", "<HEX>"),
        (r#""[0-9a-f]{12}""#, r#""<SHORTID>""#),
        (
            r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)",
            "<TIME>",
        ),
        (r"([0-9a-f]{2}:){5}[0-9a-f]{2}", "<MAC>"),
        (r#""(Pid|Created|LastTagTime)":\d+"#, r#""$1":<N>"#),
        (r#""HostPort":"\d+""#, r#""HostPort":"<PORT>""#),
        (r#""PublicPort":\d+"#, r#""PublicPort":<PORT>"#),
        (r#""Status":"Up [^"]*""#, r#""Status":"Up <T>""#),
        (r#""Size(Rw|RootFs)?":\d+"#, r#""Size$1":<N>"#),
        (r#""/run/berth/s/[^"]*""#, r#""<SOCK>""#),
    ];
    let mut s = s;
    for (re, to) in rules {
        s = Regex::new(re)
            .expect("regex")
            .replace_all(&s, *to)
            .into_owned();
    }
    // Addresses come from the daemon's slot: keep the fixed ones.
    let ip4 = Regex::new(r"\b\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3}\b").expect("regex");
    let s = ip4.replace_all(&s, |c: &Captures| match &c[0] {
        "0.0.0.0" | "127.0.0.1" | "1.1.1.1" | "1.2.3.4" => c[0].to_string(),
        _ => "<IP4>".to_string(),
    });
    s.into_owned()
}

/// Compares `got` with the golden file `golden/api_<name>.txt` (or rewrites it).
fn check_golden(name: &str, got: &str) {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(format!("golden/api_{name}.txt"));
    if std::env::var_os("BERTH_GOLDEN_UPDATE").is_some() {
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir golden");
        fs::write(&path, got).expect("write golden");
        return;
    }
    let want = fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "read {}: {e} (BERTH_GOLDEN_UPDATE=1 writes it)",
            path.display()
        )
    });
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    for (i, (w, g)) in w.iter().zip(&g).enumerate() {
        if w != g {
            let at = w.bytes().zip(g.bytes()).take_while(|(a, b)| a == b).count();
            let from = at.saturating_sub(200);
            let near = |s: &str| {
                s.get(from..(at + 200).min(s.len()))
                    .unwrap_or(s)
                    .to_string()
            };
            panic!(
                "{name}: line {} differs from the golden output at byte {at}\n want: ...{}\n  got: ...{}",
                i + 1,
                near(w),
                near(g)
            );
        }
    }
    assert_eq!(
        g.len(),
        w.len(),
        "{name}: golden output has another number of lines"
    );
}

/// `GET path`, answer normalised, under a `== label` line.
fn get(d: &TestDaemon, out: &mut String, label: &str, path: &str) {
    let (code, body) = d.api("GET", path, None);
    let _ = writeln!(out, "== {label} {code}\n{}", normalize(d, &body));
}

fn id_of(d: &TestDaemon, name: &str) -> String {
    d.berth(["inspect", "-f", "{{.Id}}", name])
        .run()
        .success()
        .out()
        .trim()
        .to_string()
}

/// The containers both clients make, by `create` (not started) or `run -d`.
const CONTAINERS: &[(&str, bool, &[&str])] = &[
    ("plain", false, &["busybox"]),
    (
        "cmd",
        false,
        &[
            "-e", "A=1", "-w", "/tmp", "-u", "1000", "busybox", "echo", "hi",
        ],
    ),
    (
        "full",
        false,
        &[
            "-h",
            "hn",
            "--domainname",
            "example.com",
            "-l",
            "k=v",
            "-l",
            "a",
            "-m",
            "64m",
            "--memory-swap",
            "128m",
            "--memory-reservation",
            "32m",
            "--cpus",
            "1.5",
            "-c",
            "512",
            "--cpuset-cpus",
            "0",
            "--pids-limit",
            "10",
            "--ulimit",
            "nofile=1024:2048",
            "--cap-add",
            "NET_ADMIN",
            "--cap-drop",
            "mknod",
            "--read-only",
            "--security-opt",
            "no-new-privileges",
            "--stop-signal",
            "SIGINT",
            "--stop-timeout",
            "5",
            "--restart",
            "on-failure:3",
            "--log-driver",
            "json-file",
            "--log-opt",
            "max-size=1m",
            "--init",
            "-p",
            "127.0.0.1::80",
            "-p",
            "127.0.0.1:8081:81/udp",
            "--expose",
            "7000-7001",
            "-v",
            "/tmp:/data:ro",
            "--tmpfs",
            "/run:size=1m",
            "--dns",
            "1.1.1.1",
            "--dns-search",
            "example.org",
            "--dns-option",
            "ndots:1",
            "--add-host",
            "h:1.2.3.4",
            "--group-add",
            "10",
            "--oom-score-adj",
            "5",
            "--shm-size",
            "64m",
            "--entrypoint",
            "/bin/sh",
            "busybox",
            "-c",
            "echo hi",
        ],
    ),
    (
        "mounts",
        false,
        &[
            "--mount",
            "type=volume,src=gv1,dst=/m,volume-nocopy",
            "--mount",
            "type=bind,source=/tmp,target=/h,readonly,bind-propagation=rslave",
            "--mount",
            "type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770",
            "--mount",
            "type=volume,dst=/v,volume-label=a=b",
            "-v",
            "/anon",
            "-v",
            "gv2:/d",
            "busybox",
        ],
    ),
    (
        "health",
        false,
        &[
            "--health-cmd",
            "true",
            "--health-interval",
            "5s",
            "--health-timeout",
            "2s",
            "--health-start-period",
            "1m",
            "--health-start-interval",
            "500ms",
            "--health-retries",
            "3",
            "busybox",
        ],
    ),
    (
        "health-partial",
        false,
        &["--health-interval", "5s", "busybox"],
    ),
    ("no-health", false, &["--no-healthcheck", "busybox"]),
    ("host", false, &["--network", "host", "busybox"]),
    ("none", false, &["--network", "none", "busybox"]),
    (
        "ports",
        true,
        &[
            "-p",
            "127.0.0.1::80",
            "-p",
            "127.0.0.1::81/udp",
            "-p",
            "127.0.0.1::8000-8001",
            "--expose",
            "7000",
            "busybox",
            "sleep",
            "600",
        ],
    ),
    (
        "net",
        true,
        &[
            "--network",
            "gnet",
            "--network-alias",
            "a1",
            "busybox",
            "sleep",
            "600",
        ],
    ),
    ("bridge", true, &["busybox", "sleep", "600"]),
];

#[test]
fn containers_from_both_clients_inspect_as_before() {
    let d = TestDaemon::start();
    d.berth(["network", "create", "gnet"]).run().success();
    let mut out = String::new();
    for c in [Client::Berth, Client::Docker] {
        for (base, run, args) in CONTAINERS {
            let name = format!("g-{}-{base}", c.name());
            let mut argv: Vec<&str> = if *run {
                vec!["run", "-d"]
            } else {
                vec!["create"]
            };
            argv.extend(["--name", &name]);
            argv.extend(args.iter().copied());
            d.run(c, &argv).success();
            get(
                &d,
                &mut out,
                &format!("inspect {name}"),
                &format!("/containers/{name}/json"),
            );
            let filter = format!("%7B%22name%22%3A%5B%22%5E%2F{name}%24%22%5D%7D");
            get(
                &d,
                &mut out,
                &format!("list {name}"),
                &format!("/containers/json?all=1&filters={filter}"),
            );
        }
    }
    get(
        &d,
        &mut out,
        "size",
        "/containers/g-berth-plain/json?size=1",
    );
    get(&d, &mut out, "network gnet", "/networks/gnet");
    check_golden("containers", &out);
}

/// Raw bodies: fields berth does not know, nulls where collections go, a string `Cmd`,
/// `null` port binding lists, extra keys inside mounts, health and endpoint settings.
const BODIES: &[(&str, &str)] = &[
    ("minimal", r#"{"Image":"busybox"}"#),
    (
        "odd",
        r#"{"Image":"busybox","Cmd":"600","Entrypoint":"sleep","Env":null,"Labels":null,"Volumes":null,"OnBuild":null,"Foo":1,"ArgsEscaped":true,"MacAddress":"","NetworkDisabled":false,
           "Healthcheck":{"Test":["CMD","true"],"Interval":3600000000000,"X":1},
           "ExposedPorts":{"80/tcp":{},"53/udp":{}},
           "HostConfig":{"Memory":8388608,"Binds":null,"Bar":"x","Dns":null,"DnsOptions":null,"DnsSearch":null,"Ulimits":null,"Devices":null,"LogConfig":{"Type":"json-file","Config":null},
             "PortBindings":{"80/tcp":null,"53/udp":[{"HostIp":"127.0.0.1","HostPort":""}]},
             "Mounts":[{"Type":"volume","Target":"/v","Extra":1},{"Target":"/t","Type":"tmpfs","TmpfsOptions":{"Mode":448}}],
             "RestartPolicy":{"Name":"","MaximumRetryCount":0},"ConsoleSize":[0,0],"Annotations":{"a":"b"}},
           "NetworkingConfig":{"EndpointsConfig":{"gnet":{"Aliases":["x1"],"Unknown":"u","IPAMConfig":null}}}}"#,
    ),
    (
        "null-netconf",
        r#"{"Image":"busybox","HostConfig":{"PortBindings":null,"Mounts":null,"NetworkMode":"gnet"},"NetworkingConfig":null}"#,
    ),
    (
        "compose-like",
        r#"{"Hostname":"","Domainname":"","User":"","AttachStdin":false,"AttachStdout":false,"AttachStderr":false,"ExposedPorts":{"80/tcp":{}},"Tty":false,"OpenStdin":false,"StdinOnce":false,"Env":["A=1"],"Cmd":["sleep","1"],"Image":"busybox","Volumes":{"/data":{}},"WorkingDir":"","Entrypoint":null,"OnBuild":null,"Labels":{"com.docker.compose.project":"p","com.docker.compose.service":"s"},
           "HostConfig":{"Binds":["gv3:/data:rw"],"ContainerIDFile":"","LogConfig":{"Type":"","Config":null},"NetworkMode":"gnet","PortBindings":{"80/tcp":[{"HostIp":"127.0.0.1","HostPort":""}]},"RestartPolicy":{"Name":"","MaximumRetryCount":0},"AutoRemove":false,"VolumeDriver":"","VolumesFrom":null,"ConsoleSize":[0,0],"CapAdd":null,"CapDrop":null,"CgroupnsMode":"","Dns":null,"DnsOptions":null,"DnsSearch":null,"ExtraHosts":[],"GroupAdd":null,"IpcMode":"","Cgroup":"","Links":null,"OomScoreAdj":0,"PidMode":"","Privileged":false,"PublishAllPorts":false,"ReadonlyRootfs":false,"SecurityOpt":null,"UTSMode":"","UsernsMode":"","ShmSize":0,"Isolation":"","CpuShares":0,"Memory":0,"NanoCpus":0,"CgroupParent":"","BlkioWeight":0,"BlkioWeightDevice":null,"BlkioDeviceReadBps":null,"BlkioDeviceWriteBps":null,"BlkioDeviceReadIOps":null,"BlkioDeviceWriteIOps":null,"CpuPeriod":0,"CpuQuota":0,"CpuRealtimePeriod":0,"CpuRealtimeRuntime":0,"CpusetCpus":"","CpusetMems":"","Devices":null,"DeviceCgroupRules":null,"DeviceRequests":null,"MemoryReservation":0,"MemorySwap":0,"MemorySwappiness":null,"OomKillDisable":null,"PidsLimit":null,"Ulimits":null,"CpuCount":0,"CpuPercent":0,"IOMaximumIOps":0,"IOMaximumBandwidth":0,"Mounts":[{"Type":"tmpfs","Target":"/tmp2"}],"MaskedPaths":null,"ReadonlyPaths":null,"Init":null},
           "NetworkingConfig":{"EndpointsConfig":{"gnet":{"IPAMConfig":null,"Links":null,"Aliases":["s","web"],"MacAddress":"","DriverOpts":null,"GwPriority":0,"NetworkID":"","EndpointID":"","Gateway":"","IPAddress":"","IPPrefixLen":0,"IPv6Gateway":"","GlobalIPv6Address":"","GlobalIPv6PrefixLen":0,"DNSNames":null}}}}"#,
    ),
];

#[test]
fn raw_bodies_round_trip_as_before() {
    let d = TestDaemon::start();
    d.berth(["network", "create", "gnet"]).run().success();
    let mut out = String::new();
    for (name, body) in BODIES {
        let (code, resp) = d.api(
            "POST",
            &format!("/containers/create?name=r-{name}"),
            Some(body),
        );
        let _ = writeln!(out, "== create {name} {code}\n{}", normalize(&d, &resp));
        get(
            &d,
            &mut out,
            &format!("inspect {name}"),
            &format!("/containers/r-{name}/json"),
        );
    }
    // Started: the endpoint settings (aliases, DNS names) and published ports.
    for name in ["odd", "compose-like"] {
        let (code, _) = d.api("POST", &format!("/containers/r-{name}/start"), None);
        let _ = writeln!(out, "== start {name} {code}");
        get(
            &d,
            &mut out,
            &format!("inspect started {name}"),
            &format!("/containers/r-{name}/json"),
        );
        let filter = format!("%7B%22name%22%3A%5B%22%5E%2Fr-{name}%24%22%5D%7D");
        get(
            &d,
            &mut out,
            &format!("list {name}"),
            &format!("/containers/json?all=1&filters={filter}"),
        );
    }
    // network connect with endpoint settings (typed in the model too).
    d.berth(["create", "--name", "r-conn", "busybox", "sleep", "600"])
        .run()
        .success();
    let (code, resp) = d.api(
        "POST",
        "/networks/gnet/connect",
        Some(r#"{"Container":"r-conn","EndpointConfig":{"Aliases":["c1"],"IPAMConfig":{"IPv4Address":""},"DriverOpts":{"x":"y"},"Other":1}}"#),
    );
    let _ = writeln!(out, "== connect {code}\n{resp}");
    get(&d, &mut out, "inspect connected", "/containers/r-conn/json");
    // Bad bodies keep their messages.
    for (name, body) in [
        (
            "bad-ports",
            r#"{"Image":"busybox","HostConfig":{"PortBindings":{"80/tcp":[{"HostPort":"x"}]}}}"#,
        ),
        (
            "bad-port-key",
            r#"{"Image":"busybox","HostConfig":{"PortBindings":{"eighty":[{"HostPort":"80"}]}}}"#,
        ),
        (
            "bad-mount",
            r#"{"Image":"busybox","HostConfig":{"Mounts":[{"Type":"bind","Target":"/x"}]}}"#,
        ),
        (
            "bad-mount-type",
            r#"{"Image":"busybox","HostConfig":{"Mounts":[{"Type":"nope","Target":"/x"}]}}"#,
        ),
        (
            "bad-health",
            r#"{"Image":"busybox","Healthcheck":{"Interval":5}}"#,
        ),
        (
            "bad-json",
            r#"{"Image":"busybox","HostConfig":{"PortBindings":[]}}"#,
        ),
        (
            "bad-mounts-shape",
            r#"{"Image":"busybox","HostConfig":{"Mounts":{}}}"#,
        ),
        (
            "bad-netconf",
            r#"{"Image":"busybox","NetworkingConfig":{"EndpointsConfig":{"a":{},"b":{}}}}"#,
        ),
    ] {
        let (code, resp) = d.api(
            "POST",
            &format!("/containers/create?name=b-{name}"),
            Some(body),
        );
        let _ = writeln!(out, "== create {name} {code}\n{}", normalize(&d, &resp));
    }
    for name in ["bad-ports", "bad-port-key"] {
        let (code, resp) = d.api("POST", &format!("/containers/b-{name}/start"), None);
        let _ = writeln!(out, "== start {name} {code}\n{}", normalize(&d, &resp));
    }
    check_golden("bodies", &out);
}

#[test]
fn images_inspect_as_before() {
    let d = TestDaemon::start();
    let mut out = String::new();
    get(&d, &mut out, "busybox", "/images/busybox/json");
    get(&d, &mut out, "list", "/images/json");
    let ctx = berth_tests::build::build_context(
        &d,
        "gbuild",
        &[(
            "Dockerfile",
            "FROM busybox\nENV A=1 B=\"two words\"\nLABEL l=v other=\"x y\"\nEXPOSE 80/tcp 53/udp 7000-7001\n\
             VOLUME /data /d2\nWORKDIR /w\nRUN echo hi > /w/f\nUSER 1000:1000\n\
             HEALTHCHECK --interval=5s --timeout=2s --start-period=1s --retries=2 CMD true\n\
             STOPSIGNAL SIGTERM\nSHELL [\"/bin/sh\", \"-c\"]\nONBUILD RUN echo onbuild\n\
             ENTRYPOINT [\"sh\"]\nCMD [\"-c\", \"echo\"]\n",
        )],
    );
    berth_tests::build::classic_build(&d, Client::Berth, &ctx, &["-q", "-t", "gbuilt"])
        .run()
        .success();
    get(&d, &mut out, "built", "/images/gbuilt/json");
    get(&d, &mut out, "built history", "/images/gbuilt/history");
    // A container of the built image: its config merged from the image's.
    d.berth(["create", "--name", "from-built", "gbuilt"])
        .run()
        .success();
    get(&d, &mut out, "from built", "/containers/from-built/json");
    let ctx2 = berth_tests::build::build_context(
        &d,
        "gbuild2",
        &[(
            "Dockerfile",
            "FROM gbuilt\nHEALTHCHECK NONE\nCMD echo child\n",
        )],
    );
    berth_tests::build::classic_build(&d, Client::Berth, &ctx2, &["-q", "-t", "gchild"])
        .run()
        .success();
    get(&d, &mut out, "child", "/images/gchild/json");
    d.berth([
        "create",
        "--name",
        "to-commit",
        "-e",
        "C=3",
        "-l",
        "cl=1",
        "busybox",
        "sleep",
        "1",
    ])
    .run()
    .success();
    d.berth([
        "commit",
        "-c",
        "ENV X=1",
        "-c",
        "EXPOSE 9000",
        "-c",
        "LABEL cm=2",
        "-c",
        "CMD [\"true\"]",
        "to-commit",
        "gcommit",
    ])
    .run()
    .success();
    get(&d, &mut out, "committed", "/images/gcommit/json");
    let tar = d.dir.join("rootfs.tar");
    d.berth(["export", "-o"])
        .arg(&tar)
        .arg("to-commit")
        .run()
        .success();
    d.berth(["import", "-c", "CMD [\"sh\"]", "-c", "ENV I=1"])
        .arg(&tar)
        .arg("gimport")
        .run()
        .success();
    get(&d, &mut out, "imported", "/images/gimport/json");
    let id = id_of(&d, "gimport");
    assert!(id.starts_with("sha256:"), "{id}");
    check_golden("images", &out);
}
