//! berth beside a real dockerd without touching the host's network: the test makes a network
//! namespace of its own (`ip netns add`), runs a private dockerd in it (`nsenter --net`, with its iptables
//! rules: FORWARD policy DROP, DOCKER-USER, ... all inside that namespace) and the berth
//! daemon there too (`TestDaemon::start_in_netns`), plus a second namespace standing for
//! the outside world (a veth link and an HTTP server), so containers' outbound traffic is
//! forwarded and masqueraded as on a real host. Everything goes with the namespaces on drop.

use crate::{run_command, Output};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

static SEQ: AtomicU32 = AtomicU32::new(0);

fn cmd(prog: &str, args: &[&str]) -> Output {
    let mut c = Command::new(prog);
    c.args(args);
    run_command(c, None, Duration::from_secs(60))
}

/// A named network namespace (`/run/netns/NAME`), deleted on drop.
pub struct Netns {
    pub name: String,
}

impl Netns {
    pub fn new(tag: &str) -> Netns {
        let name = format!(
            "bt{tag}{}x{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        );
        cmd("ip", &["netns", "add", &name]).success();
        let ns = Netns { name };
        ns.exec(&["ip", "link", "set", "lo", "up"]).success();
        ns
    }

    pub fn path(&self) -> PathBuf {
        Path::new("/run/netns").join(&self.name)
    }

    /// Runs a command inside the namespace.
    pub fn exec(&self, args: &[&str]) -> Output {
        let mut a = vec!["netns", "exec", &self.name];
        a.extend_from_slice(args);
        cmd("ip", &a)
    }

    /// `iptables-save` of the namespace without counters and comments: what the rules are.
    pub fn iptables_rules(&self) -> String {
        let out = self.exec(&["iptables-save"]);
        out.stdout
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| {
                // ":CHAIN POLICY [packets:bytes]" -> ":CHAIN POLICY"
                match l.rsplit_once(" [") {
                    Some((head, _)) if l.starts_with(':') => head.to_string(),
                    _ => l.to_string(),
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = cmd("ip", &["netns", "del", &self.name]);
    }
}

/// "The internet": a namespace linked to `inner` by a veth pair, serving HTTP on its end.
pub struct Outside {
    pub ns: Netns,
    server: Option<Child>,
    /// The server's address and port, reachable from `inner` (and its containers).
    pub addr: String,
    pub port: u16,
    _dir: tempfile::TempDir,
}

impl Outside {
    /// `net` picks the /30 (10.250.NET.0/30): distinct per test in one process.
    pub fn start(inner: &Netns, net: u8, body: &str) -> Outside {
        let ns = Netns::new("o");
        let (a, b) = (format!("10.250.{net}.1"), format!("10.250.{net}.2"));
        inner
            .exec(&[
                "ip", "link", "add", "bto0", "type", "veth", "peer", "name", "bto1", "netns",
                &ns.name,
            ])
            .success();
        inner
            .exec(&["ip", "addr", "add", &format!("{a}/30"), "dev", "bto0"])
            .success();
        inner.exec(&["ip", "link", "set", "bto0", "up"]).success();
        ns.exec(&["ip", "addr", "add", &format!("{b}/30"), "dev", "bto1"])
            .success();
        ns.exec(&["ip", "link", "set", "bto1", "up"]).success();
        // The engines' namespace routes everything out through the link, as a host does.
        inner
            .exec(&["ip", "route", "add", "default", "via", &b])
            .success();
        let dir = tempfile::tempdir().expect("tmp");
        std::fs::write(dir.path().join("hello.txt"), body).expect("body");
        let port = 18080;
        let server = Command::new("ip")
            .args(["netns", "exec", &ns.name, "python3", "-m", "http.server"])
            .arg(port.to_string())
            .args(["--bind", &b, "--directory"])
            .arg(dir.path())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 http.server");
        let o = Outside {
            ns,
            server: Some(server),
            addr: b.clone(),
            port,
            _dir: dir,
        };
        let url = format!("http://{b}:{port}/hello.txt");
        let deadline = Instant::now() + Duration::from_secs(20);
        while !inner
            .exec(&["curl", "-sf", "--max-time", "2", &url])
            .stdout
            .contains(body)
        {
            assert!(
                Instant::now() < deadline,
                "the outside server did not come up"
            );
            thread::sleep(Duration::from_millis(200));
        }
        o
    }

    pub fn url(&self) -> String {
        format!("http://{}:{}/hello.txt", self.addr, self.port)
    }
}

impl Drop for Outside {
    fn drop(&mut self) {
        if let Some(mut s) = self.server.take() {
            let _ = s.kill();
            let _ = s.wait();
        }
    }
}

/// A private dockerd (own data root, exec root, socket) in `ns`'s network, with its iptables
/// rules in that namespace; stopped by its pid and cleaned up on drop.
pub struct DockerdIn {
    child: Child,
    pub dir: tempfile::TempDir,
}

impl DockerdIn {
    pub fn start(ns: &Netns) -> DockerdIn {
        let dir = tempfile::Builder::new()
            .prefix("bdk")
            .tempdir()
            .expect("tmp");
        let p = dir.path();
        let log = std::fs::File::create(p.join("log")).expect("log");
        // Forwarding off, as on a host where nothing routes yet: dockerd then turns it on
        // and sets the FORWARD policy to DROP, the situation berth must cope with.
        ns.exec(&["sysctl", "-qw", "net.ipv4.ip_forward=0"])
            .success();
        // Only the network namespace is dockerd's own (`ip netns exec` would hide the
        // cgroup mounts under a fresh /sys); its mounts are unmounted on drop.
        let child = Command::new("nsenter")
            .arg(format!("--net={}", ns.path().display()))
            .arg("--")
            .arg("dockerd")
            .arg("--data-root")
            .arg(p.join("root"))
            .arg("--exec-root")
            .arg(p.join("exec"))
            .arg("--pidfile")
            .arg(p.join("pid"))
            .arg("-H")
            .arg(format!("unix://{}", p.join("docker.sock").display()))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("dockerd (scripts/install-deps.sh installs docker.io)");
        let d = DockerdIn { child, dir };
        let deadline = Instant::now() + Duration::from_secs(90);
        while d.docker(&["version"]).code != 0 {
            assert!(
                Instant::now() < deadline,
                "dockerd did not come up: {}",
                d.log()
            );
            thread::sleep(Duration::from_millis(250));
        }
        d
    }

    pub fn host(&self) -> String {
        format!("unix://{}", self.dir.path().join("docker.sock").display())
    }

    /// The docker CLI against this dockerd.
    pub fn docker(&self, args: &[&str]) -> Output {
        let mut c = Command::new("docker");
        c.env("DOCKER_CONFIG", self.dir.path().join("config"))
            .env_remove("DOCKER_HOST")
            .arg("-H")
            .arg(self.host())
            .args(args);
        run_command(c, None, Duration::from_secs(120))
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("log")).unwrap_or_default()
    }
}

impl Drop for DockerdIn {
    fn drop(&mut self) {
        let _ = self.docker(&["rm", "-f", "-v", "dsweb", "dsclient", "dspub"]);
        // SAFETY: signalling our own child.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        crate::unmount_under(self.dir.path());
    }
}
