//! Each test daemon's own default bridge: a slot N (0..256) held with an flock on
//! `$TMPDIR/berth-test-slots/N.lock` for the daemon's life, so parallel test processes (and
//! worktrees) never share one. Slot N gives the bridge `bt-sN`, the bip `10.214.N.1/24` and
//! the address pool `10.215.N.0/24` cut in /26s — outside the 10.213.0.0/16 that the
//! network tests pick their subnets from.

use std::fs;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::thread;
use std::time::{Duration, Instant};

pub const SLOTS: u32 = 256;

/// A held slot; released (with its bridge removed) on drop.
pub struct NetSlot {
    pub n: u32,
    _lock: fs::File,
}

impl NetSlot {
    /// Takes the first free slot (waits when all are taken).
    pub fn acquire() -> NetSlot {
        let dir = std::env::temp_dir().join("berth-test-slots");
        let _ = fs::create_dir_all(&dir);
        let deadline = Instant::now() + Duration::from_secs(120);
        // Start at a pid-dependent slot: fewer collisions between processes starting at once.
        let start = std::process::id() % SLOTS;
        loop {
            for i in 0..SLOTS {
                let n = (start + i) % SLOTS;
                let path: PathBuf = dir.join(format!("{n}.lock"));
                let Ok(f) = fs::OpenOptions::new()
                    .create(true)
                    .truncate(false)
                    .write(true)
                    .open(&path)
                else {
                    continue;
                };
                // SAFETY: flock on a descriptor we own.
                let r = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
                if r == 0 {
                    let slot = NetSlot { n, _lock: f };
                    // A bridge left by a killed run of this slot would hold the same subnet.
                    slot.remove_leftovers();
                    return slot;
                }
            }
            assert!(Instant::now() < deadline, "no free test network slot");
            thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn bridge(&self) -> String {
        format!("bt-s{}", self.n)
    }

    /// `bip` of the daemon: the gateway of its default bridge.
    pub fn bip(&self) -> String {
        format!("10.214.{}.1/24", self.n)
    }

    pub fn subnet(&self) -> String {
        format!("10.214.{}.0/24", self.n)
    }

    pub fn pool_base(&self) -> String {
        format!("10.215.{}.0/24", self.n)
    }

    /// The harness's daemon.json keys, for those `extra` does not set. `@SLOT@` in `extra`
    /// stands for the slot number (a test's own bip inside 10.214.N.0/24, say).
    pub fn daemon_json(&self, extra: &str) -> String {
        let extra = extra.replace("@SLOT@", &self.n.to_string());
        let mut v: serde_json::Value = if extra.trim().is_empty() {
            serde_json::json!({})
        } else {
            serde_json::from_str(&extra).unwrap_or_else(|e| panic!("test daemon.json: {e}"))
        };
        let o = v.as_object_mut().expect("daemon.json is an object");
        o.entry("bridge").or_insert(self.bridge().into());
        o.entry("bip").or_insert(self.bip().into());
        o.entry("default-address-pools")
            .or_insert(serde_json::json!([{ "base": self.pool_base(), "size": 26 }]));
        v.to_string()
    }

    /// The slot's bridge, and the bridges of user networks that an earlier daemon of this
    /// slot drew from its pool and left behind (user networks outlive their daemon, as with
    /// dockerd): the next daemon's allocator would skip the subnets they still route.
    fn remove_leftovers(&self) {
        let _ = berth_net::netns::delete_host_link(&self.bridge());
        for (dev, net) in berth_net::ipam::host_routes_by_dev() {
            let is_bridge = std::path::Path::new("/sys/class/net")
                .join(&dev)
                .join("bridge")
                .exists();
            let o = net.network().octets();
            let in_pool = o[..3] == [10, 215, self.n as u8] && net.prefix_len() >= 24;
            if is_bridge && in_pool {
                let _ = berth_net::netns::delete_host_link(&dev);
            }
        }
    }
}

impl Drop for NetSlot {
    fn drop(&mut self) {
        self.remove_leftovers();
    }
}
