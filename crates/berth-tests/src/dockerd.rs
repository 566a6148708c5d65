//! A private real dockerd (Debian's docker.io 20.10), the oracle the differential harness
//! compares berth with.
//!
//! Everything it uses is its own: data root, exec root (so its own containerd), socket,
//! pidfile, an empty daemon.json (the host's /etc/docker/daemon.json is never read), and a
//! default bridge `bd-sN` with the subnet `10.217.N.0/24` that this harness creates (N is a
//! [`NetSlot`] it holds: no other test daemon has it). It never runs with `--bridge=none` in
//! the host's network namespace (that deletes the host's docker0) and never touches docker0.
//! `--iptables=false`: no scenario needs rules yet. Networks it creates get /26s of
//! `10.218.N.0/24` (`--default-address-pool`).
//!
//! Dropping it (also while a test panics) removes its containers, stops it by its pid, kills
//! what its containerd left (processes naming its directory), removes the containers'
//! cgroups, unmounts everything under its directory, deletes the bridges it made and the
//! directory.

use crate::{
    busybox_tar, cmd_timeout, kill_and_wait, mounts_under, read_pid, remove_cgroup, run_command,
    signal, unmount_under, NetSlot, Output,
};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

/// The environment every harness dockerd (and berth daemon) gets so that it cannot reach
/// outside, checked with strace (no packet to a nameserver, no connection but loopback):
/// - `HTTP(S)_PROXY=http://127.0.0.1:9`: Go's `http.ProxyFromEnvironment` (and ureq, for
///   berth) sends every registry request for a host that is not loopback (Docker Hub's
///   `registry-1.docker.io` for a missing image, `docker search`'s index, any
///   `host/repo` reference) to that closed port: "proxyconnect tcp: dial tcp
///   127.0.0.1:9: connect: connection refused". Loopback registries (the harness's
///   [`crate::registry`] ones) are in `NO_PROXY` (Go never proxies loopback anyway).
///   Both spellings: Go reads the upper-case one first, then the lower-case one.
/// - `RES_OPTIONS=attempts:0`: the proxy alone is not enough, as dockerd still resolves a
///   registry's host itself (the registry package's insecure-CIDR check, `lookupIP`, for
///   `docker.io` and `quay.io` alike). With `RES_OPTIONS` set Go uses the cgo resolver
///   (Debian's dockerd is linked with glibc), and glibc with zero attempts sends no query:
///   the lookup fails at once and the registry code carries on as for an unresolvable
///   host. `/etc/hosts` still answers (`localhost`). Berth's daemon resolves through
///   glibc's getaddrinfo too. Containers do not inherit a daemon's environment.
pub const OFFLINE_ENV: [(&str, &str); 7] = [
    ("HTTP_PROXY", "http://127.0.0.1:9"),
    ("HTTPS_PROXY", "http://127.0.0.1:9"),
    ("NO_PROXY", "127.0.0.1,localhost,::1"),
    ("http_proxy", "http://127.0.0.1:9"),
    ("https_proxy", "http://127.0.0.1:9"),
    ("no_proxy", "127.0.0.1,localhost,::1"),
    ("RES_OPTIONS", "attempts:0"),
];

/// A running private dockerd.
pub struct Dockerd {
    /// Everything lives below it: data root, exec root, socket, log, docker config.
    pub dir: PathBuf,
    pub socket: PathBuf,
    docker_config: PathBuf,
    log: PathBuf,
    child: Option<Child>,
    /// `--userns-remap=USER` with the subordinate ranges it reads (see [`Remap`]).
    remap: Option<Remap>,
    /// Its bridge and subnets; declared last so the slot is released after the cleanup.
    pub net: NetSlot,
}

/// A dockerd's `--userns-remap=USER` and the lines of /etc/subuid and /etc/subgid it reads.
/// dockerd reads those two files by their fixed paths: it runs in a mount namespace of its
/// own (a slave of the host's) where private copies are bound over them, so the host's
/// files are never written. Its containerd, shims and containers inherit that namespace,
/// so their mounts go away with them.
#[derive(Debug, Clone)]
pub struct Remap {
    /// An existing user (`daemon`): dockerd looks it up in /etc/passwd.
    pub user: String,
    /// The private /etc/subuid's text, e.g. `daemon:400000:65536\n`.
    pub subuid: String,
    /// The private /etc/subgid's text.
    pub subgid: String,
    /// The whole of /etc (and /var/log) on private overlays ([`crate::private_etc`])
    /// instead of the two files bound: what `default` needs, as dockerd then adds the
    /// `dockremap` user and its ranges.
    pub whole_etc: bool,
}

impl Dockerd {
    /// The bridge this harness makes for the dockerd of slot `n`.
    pub fn bridge_name(n: u32) -> String {
        format!("bd-s{n}")
    }

    /// Starts a dockerd and loads the busybox fixture into it.
    pub fn start() -> Dockerd {
        let d = Self::start_empty();
        let load = d
            .docker(["load", "-i"])
            .arg(busybox_tar())
            .run_timeout(Duration::from_secs(120));
        assert!(
            load.code == 0 && load.stdout.contains("Loaded image"),
            "dockerd refused the busybox fixture: {load:?}\n{}",
            d.log_tail()
        );
        d
    }

    /// Starts a dockerd with no image.
    pub fn start_empty() -> Dockerd {
        Self::start_empty_opts(None)
    }

    /// Starts a dockerd with `--userns-remap` (see [`Remap`]) and loads the busybox fixture.
    pub fn start_remapped(remap: Remap) -> Dockerd {
        let d = Self::start_empty_opts(Some(remap));
        let load = d
            .docker(["load", "-i"])
            .arg(busybox_tar())
            .run_timeout(Duration::from_secs(120));
        assert!(
            load.code == 0 && load.stdout.contains("Loaded image"),
            "dockerd refused the busybox fixture: {load:?}\n{}",
            d.log_tail()
        );
        d
    }

    fn start_empty_opts(remap: Option<Remap>) -> Dockerd {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let net = NetSlot::acquire();
        // Short: containerd's socket lives below the exec root and sun_path has 108 bytes.
        let dir = std::env::temp_dir().join(format!(
            "bdk-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(dir.join("config"))
            .unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        fs::write(dir.join("daemon.json"), "{}\n").expect("write daemon.json");
        let mut d = Dockerd {
            socket: dir.join("docker.sock"),
            docker_config: dir.join("config"),
            log: dir.join("dockerd.log"),
            dir,
            child: None,
            remap,
            net,
        };
        // From here on Drop cleans up even if starting fails.
        d.make_bridge();
        d.spawn();
        d
    }

    /// The default bridge's name.
    pub fn bridge(&self) -> String {
        Self::bridge_name(self.net.n)
    }

    /// The default bridge's subnet prefix, e.g. `10.217.7` (containers get `10.217.7.2` ...).
    pub fn net_prefix(&self) -> String {
        format!("10.217.{}", self.net.n)
    }

    /// The prefix of the pool `network create` without `--subnet` draws from.
    pub fn pool_prefix(&self) -> String {
        format!("10.218.{}", self.net.n)
    }

    fn make_bridge(&self) {
        let br = self.bridge();
        let _ = Command::new("ip").args(["link", "del", &br]).output();
        for args in [
            vec!["link", "add", &br, "type", "bridge"],
            vec![
                "addr",
                "add",
                &format!("{}.1/24", self.net_prefix()),
                "dev",
                &br,
            ],
            vec!["link", "set", &br, "up"],
        ] {
            let out = Command::new("ip").args(&args).output().expect("ip");
            assert!(
                out.status.success(),
                "ip {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }

    fn spawn(&mut self) {
        let log = fs::File::create(&self.log).expect("dockerd log");
        let mut cmd = Command::new("dockerd");
        if let Some(r) = &self.remap {
            cmd.arg(format!("--userns-remap={}", r.user));
            if r.whole_etc {
                crate::private_etc(&mut cmd, &self.dir, &r.subuid, &r.subgid);
            } else {
                private_id_ranges(&mut cmd, &self.dir, r);
            }
        }
        let child = cmd
            .arg("--config-file")
            .arg(self.dir.join("daemon.json"))
            .arg("--data-root")
            .arg(self.dir.join("root"))
            .arg("--exec-root")
            .arg(self.dir.join("exec"))
            .arg("--pidfile")
            .arg(self.dir.join("dockerd.pid"))
            .arg("-H")
            .arg(format!("unix://{}", self.socket.display()))
            .arg(format!("--bridge={}", self.bridge()))
            .arg(format!(
                "--default-address-pool=base={}.0/24,size=26",
                self.pool_prefix()
            ))
            .args(["--iptables=false", "--ip6tables=false", "--log-level=warn"])
            .env_remove("DOCKER_HOST")
            .envs(OFFLINE_ENV.iter().copied())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup log"))
            .stderr(log)
            .spawn()
            .expect("dockerd (scripts/install-deps.sh installs docker.io)");
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(90);
        while !self.ping() {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(st)) = c.try_wait() {
                    self.child = None;
                    panic!("dockerd exited early ({st})\n{}", self.log_tail());
                }
            }
            assert!(
                Instant::now() < deadline,
                "dockerd not ready after 90s\n{}",
                self.log_tail()
            );
            thread::sleep(Duration::from_millis(100));
        }
    }

    /// True when `GET /_ping` answers 200.
    pub fn ping(&self) -> bool {
        crate::ping_socket(&self.socket)
    }

    /// dockerd's pid, while this harness runs it.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// `unix://SOCKET`.
    pub fn host(&self) -> String {
        format!("unix://{}", self.socket.display())
    }

    /// The docker CLI's config dir for this daemon (empty: no credentials, no contexts).
    pub fn docker_config(&self) -> &Path {
        &self.docker_config
    }

    /// A `docker ARGS` command against this dockerd (the classic builder: `DOCKER_BUILDKIT=0`,
    /// what berth's builder is compared with).
    pub fn docker<I, S>(&self, args: I) -> crate::Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        let mut c = Command::new("docker");
        c.args(args)
            .env("DOCKER_HOST", self.host())
            .env("DOCKER_CONFIG", &self.docker_config)
            .env("DOCKER_CLI_HINTS", "false")
            .env("DOCKER_BUILDKIT", "0")
            .env_remove("DOCKER_CONTEXT")
            .env_remove("DOCKER_API_VERSION")
            .current_dir(&self.dir);
        crate::Cmd {
            cmd: c,
            stdin: None,
        }
    }

    /// Shorthand: run `docker args` now.
    pub fn run(&self, args: &[&str]) -> Output {
        self.docker(args).run()
    }

    /// Last lines of dockerd's log.
    pub fn log_tail(&self) -> String {
        let s = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = s.lines().collect();
        let from = lines.len().saturating_sub(40);
        format!(
            "--- dockerd log ({}) ---\n{}",
            self.log.display(),
            lines[from..].join("\n")
        )
    }

    /// A raw API call: (status, body).
    fn api(&self, method: &str, path: &str) -> (u16, String) {
        let mut cmd = Command::new("curl");
        cmd.args(["-sS", "-X", method, "--unix-socket"])
            .arg(&self.socket)
            .args(["-w", "\n%{http_code}"])
            .arg(format!("http://localhost{path}"));
        let out = run_command(cmd, None, cmd_timeout());
        let text = out.stdout.trim_end().to_string();
        let (body, code) = text.rsplit_once('\n').unwrap_or(("", text.as_str()));
        (code.trim().parse().unwrap_or(0), body.to_string())
    }

    /// The Linux bridges of the user networks dockerd made (`br-<id12>` or the name the
    /// network's options gave).
    fn network_bridges(&self) -> Vec<String> {
        let (code, body) = self.api("GET", "/networks");
        if code != 200 {
            return Vec::new();
        }
        let nets: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
        let mut out = Vec::new();
        for n in nets.as_array().into_iter().flatten() {
            if n["Driver"] != "bridge" || n["Name"] == "bridge" {
                continue;
            }
            match n["Options"]["com.docker.network.bridge.name"].as_str() {
                Some(b) => out.push(b.to_string()),
                None => {
                    let id = n["Id"].as_str().unwrap_or_default();
                    out.push(format!("br-{}", &id[..id.len().min(12)]));
                }
            }
        }
        out
    }

    fn stop(&mut self) {
        let Some(mut c) = self.child.take() else {
            return;
        };
        signal(c.id(), libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            match c.try_wait() {
                Ok(Some(_)) | Err(_) => break,
                Ok(None) if Instant::now() >= deadline => {
                    signal(c.id(), libc::SIGKILL);
                    let _ = c.wait();
                    break;
                }
                Ok(None) => thread::sleep(Duration::from_millis(50)),
            }
        }
    }

    /// Container ids with a directory in dockerd's data root (or, remapped, in its
    /// `UID.GID` root below it).
    fn container_ids(&self) -> Vec<String> {
        let root = self.dir.join("root");
        let mut roots = vec![root.clone()];
        if let Ok(rd) = fs::read_dir(&root) {
            roots.extend(
                rd.flatten()
                    .filter(|e| e.file_name().to_string_lossy().contains('.'))
                    .map(|e| e.path()),
            );
        }
        roots
            .iter()
            .filter_map(|r| fs::read_dir(r.join("containers")).ok())
            .flat_map(|rd| {
                rd.flatten()
                    .filter_map(|e| e.file_name().to_str().map(str::to_string))
                    .filter(|n| n.len() == 64)
                    .collect::<Vec<_>>()
            })
            .collect()
    }

    /// Kills what outlived dockerd: its containerd and shims (their command lines name our
    /// directory) and container processes (in the containers' `docker/<id>` cgroups).
    fn kill_leftovers(&self) {
        let needle = self.dir.to_string_lossy().into_owned();
        let me = std::process::id();
        let mut victims: Vec<u32> = Vec::new();
        if let Ok(rd) = fs::read_dir("/proc") {
            for e in rd.flatten() {
                let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                    continue;
                };
                let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
                if pid != me && String::from_utf8_lossy(&cmdline).contains(&needle) {
                    victims.push(pid);
                }
            }
        }
        let ids = self.container_ids();
        for id in &ids {
            for d in docker_cgroup_dirs(id) {
                if let Ok(s) = fs::read_to_string(d.join("cgroup.procs")) {
                    victims.extend(s.lines().filter_map(|l| l.trim().parse::<u32>().ok()));
                }
            }
        }
        if let Some(pid) = read_pid(&self.dir.join("dockerd.pid")) {
            victims.push(pid);
        }
        victims.retain(|p| *p != me && *p > 1);
        kill_and_wait(&victims);
        for id in &ids {
            for d in docker_cgroup_dirs(id) {
                remove_cgroup(&d);
            }
        }
    }
}

/// Runs `cmd` in a new mount namespace (a slave of the host's: nothing it mounts reaches
/// the host) with `dir/subuid` and `dir/subgid`, written from `r`, bound over /etc/subuid
/// and /etc/subgid.
fn private_id_ranges(cmd: &mut Command, dir: &Path, r: &Remap) {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::process::CommandExt;
    let mut binds = Vec::new();
    for (name, text) in [("subuid", &r.subuid), ("subgid", &r.subgid)] {
        let src = dir.join(name);
        fs::write(&src, text).unwrap_or_else(|e| panic!("write {}: {e}", src.display()));
        let c = |p: &Path| std::ffi::CString::new(p.as_os_str().as_bytes()).expect("path");
        binds.push((c(&src), c(&Path::new("/etc").join(name))));
    }
    let root = std::ffi::CString::new("/").expect("path");
    // SAFETY: between fork and exec only unshare and mount, async-signal-safe syscalls, on
    // strings made before the fork.
    unsafe {
        cmd.pre_exec(move || {
            let fail = || Err(std::io::Error::last_os_error());
            if libc::unshare(libc::CLONE_NEWNS) != 0 {
                return fail();
            }
            let flags = libc::MS_REC | libc::MS_SLAVE;
            if libc::mount(
                std::ptr::null(),
                root.as_ptr(),
                std::ptr::null(),
                flags,
                std::ptr::null(),
            ) != 0
            {
                return fail();
            }
            for (src, dst) in &binds {
                if libc::mount(
                    src.as_ptr(),
                    dst.as_ptr(),
                    std::ptr::null(),
                    libc::MS_BIND,
                    std::ptr::null(),
                ) != 0
                {
                    return fail();
                }
            }
            Ok(())
        });
    }
}

/// A dockerd container's cgroup dirs (cgroupfs driver, parent `docker`): v2 and each v1
/// controller.
fn docker_cgroup_dirs(id: &str) -> Vec<PathBuf> {
    let root = Path::new("/sys/fs/cgroup");
    let mut dirs = Vec::new();
    let direct = root.join("docker").join(id);
    if direct.is_dir() {
        dirs.push(direct);
    }
    if let Ok(rd) = fs::read_dir(root) {
        for e in rd.flatten() {
            let d = e.path().join("docker").join(id);
            if d.is_dir() {
                dirs.push(d);
            }
        }
    }
    dirs
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        if thread::panicking() {
            eprintln!("{}", self.log_tail());
        }
        let mut bridges = Vec::new();
        if self.child.is_some() {
            bridges = self.network_bridges();
            // Containers removed through dockerd itself: it unmounts and deletes what it made.
            let (_, body) = self.api("GET", "/containers/json?all=1");
            let list: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
            for c in list.as_array().into_iter().flatten() {
                if let Some(id) = c["Id"].as_str() {
                    self.api("DELETE", &format!("/containers/{id}?force=1&v=1"));
                }
            }
        }
        self.stop();
        self.kill_leftovers();
        unmount_under(&self.dir);
        if !mounts_under(&self.dir).is_empty() {
            eprintln!("berth-tests: mounts left under {}", self.dir.display());
        }
        bridges.push(self.bridge());
        for b in bridges {
            let _ = Command::new("ip").args(["link", "del", &b]).output();
        }
        if let Err(e) = fs::remove_dir_all(&self.dir) {
            eprintln!("berth-tests: could not remove {}: {e}", self.dir.display());
        }
    }
}
