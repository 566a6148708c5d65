//! What berth writes, a real dockerd reads: `berth save` output loads into Debian's dockerd
//! (a private instance: own data root, exec root, socket; no bridge, no iptables) with the
//! same image id and tags.

use berth_tests::{Client, TestDaemon};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A private dockerd, stopped (by its pid) and cleaned up on drop.
struct Dockerd {
    child: Child,
    dir: PathBuf,
}

impl Dockerd {
    fn start() -> Dockerd {
        let dir = std::env::temp_dir().join(format!("berth-oracle-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("oracle dir");
        let child = Command::new("dockerd")
            .arg("--data-root")
            .arg(dir.join("root"))
            .arg("--exec-root")
            .arg(dir.join("exec"))
            .arg("--pidfile")
            .arg(dir.join("pid"))
            .arg("-H")
            .arg(format!("unix://{}", dir.join("docker.sock").display()))
            .args(["--bridge=none", "--iptables=false", "--ip6tables=false"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("log")).expect("log"))
            .spawn()
            .expect("dockerd (scripts/install-deps.sh installs docker.io)");
        let d = Dockerd { child, dir };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !d.docker(&["version"]).status.success() {
            assert!(
                Instant::now() < deadline,
                "dockerd did not come up: {}",
                d.log()
            );
            std::thread::sleep(Duration::from_millis(200));
        }
        d
    }

    fn docker(&self, args: &[&str]) -> std::process::Output {
        Command::new("docker")
            .env("DOCKER_CONFIG", self.dir.join("config"))
            .arg("-H")
            .arg(format!("unix://{}", self.dir.join("docker.sock").display()))
            .args(args)
            .output()
            .expect("docker CLI")
    }

    fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("log")).unwrap_or_default()
    }
}

impl Drop for Dockerd {
    fn drop(&mut self) {
        // SAFETY: signalling our own child.
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

/// Lazily unmounts whatever dockerd left mounted under `dir`, deepest first.
fn unmount_under(dir: &Path) {
    let info = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let prefix = dir.to_string_lossy().to_string();
    let mut points: Vec<String> = info
        .lines()
        .filter_map(|l| l.split(' ').nth(4).map(str::to_string))
        .filter(|m| m.starts_with(&prefix))
        .collect();
    points.sort_by_key(|p| std::cmp::Reverse(p.len()));
    for p in points {
        if let Ok(c) = std::ffi::CString::new(p) {
            // SAFETY: valid path string.
            unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
        }
    }
}

#[test]
fn berth_save_loads_into_a_real_dockerd_with_the_same_id() {
    let d = TestDaemon::start();
    d.run(
        Client::Berth,
        &["tag", "busybox", "example.org/team/tool:1.2"],
    )
    .success();
    let id = d
        .run(
            Client::Berth,
            &["image", "inspect", "-f", "{{.Id}}", "busybox"],
        )
        .success()
        .out();
    let tar = d.dir.join("saved.tar");
    let tar_s = tar.to_string_lossy().to_string();
    d.run(
        Client::Berth,
        &[
            "save",
            "-o",
            &tar_s,
            "busybox:latest",
            "example.org/team/tool:1.2",
        ],
    )
    .success();

    let oracle = Dockerd::start();
    let load = oracle.docker(&["load", "-i", &tar_s]);
    assert!(
        load.status.success(),
        "docker load refused berth's archive: {}",
        String::from_utf8_lossy(&load.stderr)
    );
    for tag in ["busybox:latest", "example.org/team/tool:1.2"] {
        let out = oracle.docker(&["image", "inspect", "-f", "{{.Id}}", tag]);
        assert!(out.status.success(), "{tag} missing in dockerd after load");
        assert_eq!(
            String::from_utf8_lossy(&out.stdout).trim(),
            id.trim(),
            "{tag}"
        );
    }
}
