//! Helpers the network tests share: networks with a test's own bridge name and subnet,
//! reachability checks, what a bridge holds, daemons under a guard, and the containers
//! they run.

use crate::{berth_bin, eventually, run_command, Client, NetGuard, TestDaemon};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A container's shell loop answering each connection to its port 80 with
/// `reply-$HOSTNAME` (see `run_web`, `replies`).
pub const SERVE_REPLY: &str = "while true; do echo reply-$HOSTNAME | nc -l -p 80; done";

/// A private daemon whose bridges and nftables table `g` removes on drop.
pub fn watched_daemon(g: &mut NetGuard) -> TestDaemon {
    let d = TestDaemon::start();
    g.watch(&d);
    d
}

/// `watched_daemon` whose DNS upstream (`BERTH_DNS_UPSTREAM`) is `upstream`, e.g. a
/// `fakedns::Upstream`'s addr.
pub fn watched_daemon_dns(g: &mut NetGuard, upstream: &str) -> TestDaemon {
    let d = TestDaemon::start_with_env(&[("BERTH_DNS_UPSTREAM", upstream)]);
    g.watch(&d);
    d
}

/// `run -d --name WEB --hostname WEB EXTRA busybox sh -c SERVE_REPLY`, succeeding.
pub fn run_web(d: &TestDaemon, c: Client, web: &str, extra: &[&str]) {
    let mut args = vec!["run", "-d", "--name", web, "--hostname", web];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["busybox", "sh", "-c", SERVE_REPLY]);
    d.run(c, &args).success();
}

/// Within 10 s, 127.0.0.1:port answers with the `SERVE_REPLY` of container `web`.
pub fn replies(port: u16, web: &str) -> bool {
    let want = format!("reply-{web}");
    eventually(10, || fetch(port).contains(&want))
}

/// `run -d --name CTR --network NET EXTRA busybox sleep 600`, succeeding.
pub fn run_sleeper(d: &TestDaemon, c: Client, ctr: &str, net: &str, extra: &[&str]) {
    let mut args = vec!["run", "-d", "--name", ctr, "--network", net];
    args.extend_from_slice(extra);
    args.extend_from_slice(&["busybox", "sleep", "600"]);
    d.run(c, &args).success();
}

/// `inspect -f TMPL CTR`, succeeding, trimmed.
pub fn inspect_f(d: &TestDaemon, c: Client, ctr: &str, tmpl: &str) -> String {
    d.run(c, &["inspect", "-f", tmpl, ctr])
        .success()
        .out()
        .trim()
        .to_string()
}

/// The Ports column `ps --filter name=CTR --format {{.Ports}}` prints, trimmed.
pub fn ps_ports(d: &TestDaemon, c: Client, ctr: &str) -> String {
    let filter = format!("name={ctr}");
    d.run(c, &["ps", "--filter", &filter, "--format", "{{.Ports}}"])
        .success()
        .out()
        .trim()
        .to_string()
}

/// What a container's inspect says under NetworkSettings.Ports, as JSON.
pub fn inspect_ports(d: &TestDaemon, c: Client, ctr: &str) -> String {
    inspect_f(d, c, ctr, "{{json .NetworkSettings.Ports}}")
}

/// The IPv4 address inspect gives `ctr` on network `net` ("" when it has none).
pub fn ip_on(d: &TestDaemon, c: Client, ctr: &str, net: &str) -> String {
    let f = format!("{{{{(index .NetworkSettings.Networks \"{net}\").IPAddress}}}}");
    inspect_f(d, c, ctr, &f)
}

/// `exec FROM nslookup ARGS`: the addresses it prints after the server's own block, and
/// its exit code.
pub fn nslookup(d: &TestDaemon, c: Client, from: &str, args: &[&str]) -> (Vec<String>, i32) {
    let mut cmd = vec!["exec", from, "nslookup"];
    cmd.extend_from_slice(args);
    let o = d.run(c, &cmd);
    let addrs = o
        .out()
        .split("\n\n")
        .skip(1)
        .flat_map(|block| block.lines())
        .filter_map(|l| l.strip_prefix("Address:"))
        .map(|a| a.trim().to_string())
        .collect();
    (addrs, o.code)
}

/// What `exec CTR sh -c CMD` prints, succeeding.
pub fn exec_sh(d: &TestDaemon, c: Client, ctr: &str, cmd: &str) -> String {
    d.run(c, &["exec", ctr, "sh", "-c", cmd]).success().out()
}

/// `network create --subnet SUBNET -o com.docker.network.bridge.name=BRIDGE EXTRA NET`;
/// asserts the full id is printed.
pub fn create_net_with(
    d: &TestDaemon,
    c: Client,
    net: &str,
    bridge: &str,
    subnet: &str,
    extra: &[&str],
) {
    let opt = format!("com.docker.network.bridge.name={bridge}");
    let mut args = vec!["network", "create", "--subnet", subnet, "-o", &opt];
    args.extend_from_slice(extra);
    args.push(net);
    let out = d.run(c, &args).success().out();
    assert_eq!(out.trim().len(), 64, "the full id: {out}");
}

/// `create_net_with` without extra flags.
pub fn create_net(d: &TestDaemon, c: Client, net: &str, bridge: &str, subnet: &str) {
    create_net_with(d, c, net, bridge, subnet, &[]);
}

/// One ping from inside `from` to `to` answered within a second.
pub fn ping(d: &TestDaemon, c: Client, from: &str, to: &str) -> bool {
    d.run(c, &["exec", from, "ping", "-c", "1", "-W", "1", to])
        .code
        == 0
}

/// Whether the host has a link of this name.
pub fn link_exists(name: &str) -> bool {
    Path::new(&format!("/sys/class/net/{name}")).exists()
}

/// `nft list table FAMILY TABLE`'s text; None when nft fails (no such table).
pub fn nft_table(family: &str, table: &str) -> Option<String> {
    let out = Command::new("nft")
        .args(["list", "table", family, table])
        .output()
        .expect("run nft");
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

/// The interfaces enslaved to a bridge (none if it does not exist).
pub fn bridge_ports(bridge: &str) -> Vec<String> {
    std::fs::read_dir(format!("/sys/class/net/{bridge}/brif"))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Connects to 127.0.0.1:port and reads what the server sends ("" when nothing answers).
pub fn fetch(port: u16) -> String {
    use std::io::Read;
    let Ok(mut s) = std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(2),
    ) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(3)));
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    buf
}

/// A scratch directory `$TMPDIR/berth-TAG-PID`, removed on drop.
pub struct ScratchDir(pub PathBuf);

impl ScratchDir {
    /// A fresh directory (unique per call, also within one test process).
    pub fn new(tag: &str) -> ScratchDir {
        static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let base = std::env::temp_dir().join(format!("berth-{tag}-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&base).expect("mkdir");
        ScratchDir(base)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }
}

impl Drop for ScratchDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `berth daemon --data-root BASE/data -H unix://BASE/s.sock ARGS` stops by itself
/// (within 20 s) with an error naming `msg`.
pub fn assert_daemon_refuses(base: &Path, args: &[&str], msg: &str) {
    let mut cmd = Command::new(berth_bin());
    cmd.arg("daemon")
        .arg("--data-root")
        .arg(base.join("data"))
        .arg("-H")
        .arg(format!("unix://{}", base.join("s.sock").display()))
        .args(args)
        .env("BERTH_NO_AUTOSTART", "1");
    let out = run_command(cmd, None, Duration::from_secs(20));
    assert!(out.code != 0 && !out.timed_out, "{args:?}: {out:?}");
    assert!(out.stderr.contains(msg), "{args:?}: {}", out.stderr);
}
