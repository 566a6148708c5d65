//! Golden create bodies: the exact bytes `berth run`/`berth create` sends for a set of
//! representative command lines (`tests/golden/create_bodies.txt`, byte for byte), and the
//! same bodies as the `json!`-built code sent them before the typed API model
//! (`create_bodies_before_model.txt`, captured from that code), compared value for value.
//!
//! What the typed model changed in the body, and only that (the daemon reads both alike
//! and answers the same bytes, see berth-tests' api_golden): keys in the model's order;
//! every HostConfig field written, as the docker CLI does (`Runtime: ""`, the four CPU
//! period/quota fields 0; `Mounts` and `Tmpfs` left out when unset, as the docker CLI's
//! `omitempty` leaves them out); no `Healthcheck.Test`
//! without `--health-cmd` (the docker CLI sends none either, it was `null`).
//!
//! `BERTH_GOLDEN_UPDATE=1 cargo test -p berth-cli --lib create_golden` rewrites
//! `create_bodies.txt`.

use super::create::{create_body, CreateOpts};
use clap::Parser;
use serde_json::{Map, Value};

/// (detach, run arguments).
const CASES: &[(bool, &[&str])] = &[
    (true, &["busybox"]),
    (false, &["busybox"]),
    (true, &["--rm", "busybox", "echo", "hi"]),
    (false, &["-i", "busybox", "sh", "-i", "--rm"]),
    // No `-t`: its ConsoleSize comes from the terminal the test runs on.
    (false, &["-i", "-a", "stdin", "-a", "STDOUT", "busybox", "cat"]),
    (
        true,
        &[
            "--name",
            "x",
            "-e",
            "A=1",
            "-w",
            "/tmp",
            "-u",
            "1000",
            "--entrypoint",
            "/bin/sh",
            "-h",
            "hn",
            "-l",
            "k=v",
            "--network",
            "none",
            "-m",
            "64m",
            "--memory-swap",
            "128m",
            "--cpus",
            "1.5",
            "-c",
            "512",
            "--pids-limit",
            "10",
            "--ulimit",
            "nofile=1024:2048",
            "--ulimit",
            "nproc=5",
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
            "8080:80",
            "-v",
            "/tmp:/data:ro",
            "--tmpfs",
            "/run",
            "--dns",
            "1.1.1.1",
            "--add-host",
            "h:1.2.3.4",
            "busybox",
            "-c",
            "echo hi",
        ],
    ),
    (
        true,
        &[
            "-p",
            "8080:80",
            "-p",
            "127.0.0.1:8081:81/udp",
            "-p",
            "9000-9001:9000-9001",
            "-p",
            "[::1]:8443:443",
            "-p",
            "::1:8444:444/tcp",
            "-p",
            "53",
            "-p",
            "127.0.0.1::82",
            "-p",
            "7000-7002:7000",
            "-p",
            "8080:80/sctp",
            "-p",
            "8090:80",
            "--expose",
            "7000-7001",
            "--expose",
            "5000/udp",
            "-P",
            "busybox",
        ],
    ),
    (
        true,
        &[
            "--mount",
            "type=volume,src=mv,dst=/m,volume-nocopy",
            "--mount",
            "type=bind,source=/tmp,target=/h,readonly,bind-propagation=rslave",
            "--mount",
            "target=/b,type=bind,src=/tmp,bind-nonrecursive=true,consistency=cached",
            "--mount",
            "type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770",
            "--mount",
            "type=volume,dst=/v,volume-label=a=b,volume-label=c,volume-driver=local,volume-opt=o=x,volume-opt=p=y,volume-subpath=sub",
            "--mount",
            "dst=/anon2",
            "-v",
            "/anon",
            "-v",
            "data:/d",
            "-v",
            "/h:/c:ro,z",
            "busybox",
        ],
    ),
    (
        true,
        &[
            "--network",
            "n1",
            "--network-alias",
            "a1",
            "--net-alias",
            "a2",
            "--ip",
            "10.1.0.5",
            "--ip6",
            "fd00::5",
            "busybox",
        ],
    ),
    (true, &["--network", "n1", "--ip", "10.1.0.6", "busybox"]),
    (true, &["--network", "n1", "--ip6", "fd00::6", "busybox"]),
    (true, &["--network", "bridge", "busybox"]),
    (true, &["--network", "host", "busybox"]),
    (true, &["--net", "container:other", "busybox"]),
    (
        true,
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
    (true, &["--health-interval", "5s", "busybox"]),
    (true, &["--health-cmd", "exit 0", "busybox"]),
    (true, &["--no-healthcheck", "busybox"]),
    (
        true,
        &[
            "--tmpfs",
            "/run:size=1m,mode=1777",
            "--tmpfs",
            "/x",
            "--runtime",
            "runc",
            "--link",
            "a:b",
            "--link",
            "c",
            "--volumes-from",
            "v1:ro",
            "--group-add",
            "10",
            "--group-add",
            "audio",
            "--dns-search",
            "example.org",
            "--dns-option",
            "ndots:1",
            "--ipc",
            "host",
            "--pid",
            "host",
            "--uts",
            "host",
            "--userns",
            "host",
            "--oom-score-adj",
            "5",
            "--oom-kill-disable",
            "--shm-size",
            "64m",
            "--memory-reservation",
            "32m",
            "--cpuset-cpus",
            "0",
            "-l",
            "a",
            "-l",
            "b=c=d",
            "--domainname",
            "example.com",
            "--privileged",
            "--cidfile",
            "/tmp/cid",
            "--add-host",
            "gw:host-gateway",
            "--add-host",
            "v6=::1",
            "-P",
            "busybox",
        ],
    ),
    (true, &["--entrypoint", "", "busybox"]),
    (true, &["--restart", "always", "--memory-swap", "-1", "busybox"]),
    (true, &["--restart", "unless-stopped", "-m", "6m", "busybox"]),
    (true, &["--restart", "on-failure", "busybox"]),
    (
        true,
        &[
            "--log-driver",
            "none",
            "--log-opt",
            "a=b",
            "--log-opt",
            "c=",
            "busybox",
        ],
    ),
    (true, &["-e", "A=1", "-e", "B=", "-e", "C=x=y", "busybox"]),
    (true, &["--stop-timeout", "-1", "--stop-signal", "9", "busybox"]),
    // Bad input: the message is part of what must not change.
    (true, &["--rm", "--restart", "always", "busybox"]),
    (true, &["-p", "70000:80", "busybox"]),
    (true, &["-p", "80/foo", "busybox"]),
    (true, &["-p", "1.2.3:80:80", "busybox"]),
    (true, &["--mount", "type=bind,src=/a,dst=/b,volume-nocopy", "busybox"]),
    (true, &["--health-interval", "-1s", "busybox"]),
    (true, &["--no-healthcheck", "--health-retries", "1", "busybox"]),
    (true, &["--log-opt", "nokey", "busybox"]),
    (true, &["--restart", ":1", "busybox"]),
    (true, &["--link", "a:b:c", "busybox"]),
    (true, &["--add-host", "nohost", "busybox"]),
    (false, &["-a", "stdfoo", "busybox"]),
];

/// The golden file: one `$ run ARGS` line (with ` -d` for detached) then the body bytes
/// (or `error: ...`).
fn render() -> String {
    let mut out = String::new();
    for (detach, args) in CASES {
        let argv = std::iter::once("run").chain(args.iter().copied());
        let body = match CreateOpts::try_parse_from(argv) {
            Ok(o) => match create_body(&o, *detach) {
                Ok(b) => serde_json::to_string(&b).unwrap_or_else(|e| format!("error: {e}")),
                Err(e) => format!("error: {e}"),
            },
            Err(e) => format!("error: {e}"),
        };
        let d = if *detach { " -d" } else { "" };
        out.push_str(&format!("$ run{d} {:?}\n{body}\n", args));
    }
    out
}

fn golden_path(name: &str) -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(format!("tests/golden/{name}"))
}

#[test]
fn create_bodies_match_golden() {
    let path = golden_path("create_bodies.txt");
    let now = render();
    if std::env::var_os("BERTH_GOLDEN_UPDATE").is_some() {
        std::fs::write(&path, &now).expect("write golden");
        return;
    }
    let golden = std::fs::read_to_string(&path).expect("read golden file");
    for (g, n) in golden.lines().zip(now.lines()) {
        assert_eq!(n, g, "create body differs from the golden one");
    }
    assert_eq!(now.lines().count(), golden.lines().count());
}

/// Sorted keys at every level: the value, whatever order the writer used.
fn canonical(v: &Value) -> Value {
    match v {
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let mut out = Map::new();
            for k in keys {
                out.insert(k.clone(), canonical(&m[k]));
            }
            Value::Object(out)
        }
        Value::Array(a) => Value::Array(a.iter().map(canonical).collect()),
        v => v.clone(),
    }
}

/// A body as the old code sent it, with the model's documented changes applied.
fn as_the_model_writes_it(mut v: Value) -> Value {
    if let Some(h) = v.get_mut("HostConfig").and_then(Value::as_object_mut) {
        for (k, default) in [
            ("Runtime", Value::from("")),
            ("CpuPeriod", Value::from(0)),
            ("CpuQuota", Value::from(0)),
            ("CpuRealtimePeriod", Value::from(0)),
            ("CpuRealtimeRuntime", Value::from(0)),
        ] {
            h.entry(k).or_insert(default);
        }
    }
    if let Some(hc) = v.get_mut("Healthcheck").and_then(Value::as_object_mut) {
        if hc.get("Test") == Some(&Value::Null) {
            hc.remove("Test");
        }
    }
    v
}

#[test]
fn create_bodies_mean_what_they_meant_before_the_model() {
    let before = std::fs::read_to_string(golden_path("create_bodies_before_model.txt"))
        .expect("read golden file");
    let now = render();
    assert_eq!(now.lines().count(), before.lines().count());
    for (b, n) in before.lines().zip(now.lines()) {
        if b.starts_with("$ ") || b.starts_with("error: ") {
            assert_eq!(n, b, "command line or error message changed");
            continue;
        }
        let b: Value = serde_json::from_str(b).expect("old body");
        let n: Value = serde_json::from_str(n).expect("new body");
        assert_eq!(
            canonical(&n).to_string(),
            canonical(&as_the_model_writes_it(b)).to_string(),
            "create body means something else than before the typed model"
        );
    }
}
