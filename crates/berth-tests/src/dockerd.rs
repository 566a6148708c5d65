//! A private real dockerd (Debian's 20.10) for tests that compare berth with Docker: its
//! own data root, exec root, pid file and socket in a temp dir, and its own network
//! namespace (`unshare -n`), so its `--bridge=none` can never touch the host's docker0 and
//! nothing it does reaches the host's network. Stopped by its pid and cleaned up (mounts
//! under its dir, the dir) on drop, also when the test fails.

use crate::{busybox_tar, cmd_timeout, run_command, Cmd, Output};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A running private dockerd.
pub struct Dockerd {
    child: Child,
    pub dir: PathBuf,
}

impl Dockerd {
    /// Starts dockerd and waits until it answers (60 s at most).
    pub fn start() -> Dockerd {
        use std::sync::atomic::{AtomicU32, Ordering};
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let dir = std::env::temp_dir().join(format!(
            "berth-dockerd-{}-{}",
            std::process::id(),
            SEQ.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(dir.join("config")).expect("dockerd dir");
        let log = std::fs::File::create(dir.join("log")).expect("dockerd log");
        // `exec` keeps the pid: the one we kill is dockerd itself.
        let script = "ip link set lo up && exec dockerd \"$@\"";
        let child = Command::new("unshare")
            .args(["-n", "sh", "-c", script, "sh"])
            .arg("--data-root")
            .arg(dir.join("root"))
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("--pidfile")
            .arg(dir.join("pid"))
            .arg("-H")
            .arg(format!("unix://{}", dir.join("docker.sock").display()))
            .args(["--bridge=none", "--iptables=false", "--ip6tables=false"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("unshare + dockerd (scripts/install-deps.sh installs docker.io)");
        let d = Dockerd { child, dir };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !d.docker(["version"]).run().is_success() {
            assert!(
                Instant::now() < deadline,
                "dockerd did not come up: {}",
                d.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        d
    }

    /// Starts dockerd and loads the busybox fixture into it.
    pub fn with_busybox() -> Dockerd {
        let d = Dockerd::start();
        d.docker(["load", "-i"])
            .arg(busybox_tar())
            .run()
            .success()
            .stdout_contains("Loaded image: busybox:latest");
        d
    }

    /// `docker -H unix://<its socket> ARGS...` (the legacy builder: `DOCKER_BUILDKIT=0`).
    pub fn docker<I, S>(&self, args: I) -> Cmd
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        let mut c = Command::new("docker");
        c.arg("-H")
            .arg(format!("unix://{}", self.dir.join("docker.sock").display()))
            .args(args)
            .env("DOCKER_CONFIG", self.dir.join("config"))
            .env("DOCKER_BUILDKIT", "0")
            .env("DOCKER_CLI_HINTS", "false")
            .env_remove("DOCKER_HOST")
            .env_remove("DOCKER_CONTEXT")
            .env_remove("DOCKER_TLS_VERIFY")
            .env_remove("DOCKER_CERT_PATH");
        Cmd::from_command(c)
    }

    /// Its log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }
}

impl Output {
    /// Whether the command exited 0.
    pub fn is_success(&self) -> bool {
        self.code == 0
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        // SAFETY: signalling our own child, by its pid.
        unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        let deadline = Instant::now() + Duration::from_secs(20);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        unmount_under(&self.dir);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Lazily unmounts whatever is mounted under `dir`, deepest first.
pub fn unmount_under(dir: &Path) {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let prefix = dir.to_string_lossy().to_string();
    let mut points: Vec<String> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4).map(str::to_string))
        .filter(|m| m.starts_with(&prefix))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in points {
        let _ = run_command(
            {
                let mut c = Command::new("umount");
                c.args(["-l", &p]);
                c
            },
            None,
            cmd_timeout(),
        );
    }
}
