//! Keeps the kernel's cgroup-migration lock warm while containers are starting.
//!
//! Every migration (a write to `cgroup.procs`: the shim moving a container's init into its
//! cgroups, an exec joining one) takes the kernel's global threadgroup rwsem for write. The
//! first writer after a quiet spell waits a whole RCU grace period (8–28 ms measured here on
//! cgroup v1) before it gets it; a writer that comes within about one grace period of the
//! previous one gets it at once (~0.1 ms: the rcu_sync stays out of its idle state). One
//! no-op migration at create/start (what this replaced) hid the wait for one start, but in a
//! burst of starts from several clients each start came more than a grace period after the
//! previous writer and paid it again, and since the lock is host-wide, they serialized on it.
//!
//! So `touch` opens a window (`WINDOW` after the last call): a dedicated thread writes the
//! daemon into the cgroup it already is in every `PERIOD`, well under a grace period, until
//! the window closes. The first of those writes pays the grace period in the background;
//! every container migration during the window then finds the lock warm. The cost is one
//! short syscall every few milliseconds while containers are being started, nothing when
//! idle.
//!
//! Measured under strace, 20 parallel `run -d` from 4 clients spent 63 ms in `cgroup.procs`
//! writes with one priming per start, 13 ms with the window. Overlapping the migration with
//! the init's mount work instead made runs slower (31 ms against 21 ms median), as those
//! mounts wait on grace periods too.
//!
//! Where the time of `run --rm true` went before this (2 cores, cgroup v1): CLI and create
//! ~4 ms; attach, wait, start requests and the overlay mount ~2 ms; shim, cgroup, clone and
//! init setup ~5 ms; moving the init into its v1 cgroups ~12 ms; exit, unmount, remove ~3
//! ms. cgroup v2 could avoid the migration with `clone3(CLONE_INTO_CGROUP)`.

use std::path::PathBuf;
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::{Duration, Instant};

/// How long the lock is kept warm after the last create/start/exec asked for it: covers
/// the rootfs mount, the shim's spawn and its cgroup set-up even on a loaded machine.
const WINDOW: Duration = Duration::from_millis(300);
/// Interval between no-op migrations: under the shortest grace period measured (~8 ms).
const PERIOD: Duration = Duration::from_millis(3);

struct Warmer {
    /// The window's end; `None` when no window is open.
    until: Mutex<Option<Instant>>,
    wake: Condvar,
}

fn warmer() -> Option<&'static Warmer> {
    static W: OnceLock<Option<&'static Warmer>> = OnceLock::new();
    *W.get_or_init(|| {
        let w: &'static Warmer = Box::leak(Box::new(Warmer {
            until: Mutex::new(None),
            wake: Condvar::new(),
        }));
        let spawned = std::thread::Builder::new()
            .name("cgroup-warm".into())
            .spawn(move || run(w));
        match spawned {
            Ok(_) => Some(w),
            Err(e) => {
                tracing::debug!("cannot start the cgroup warm-keeper: {e}");
                None
            }
        }
    })
}

/// Opens (or extends) the warm window. Cheap and non-blocking: callable from async code.
pub fn touch() {
    let Some(w) = warmer() else {
        return;
    };
    let mut until = w.until.lock().unwrap_or_else(|e| e.into_inner());
    let was_open = until.is_some();
    *until = Some(Instant::now() + WINDOW);
    drop(until);
    if !was_open {
        w.wake.notify_one();
    }
}

fn run(w: &'static Warmer) {
    let pid = std::process::id().to_string();
    let mut target: Option<PathBuf> = None;
    loop {
        {
            let mut until = w.until.lock().unwrap_or_else(|e| e.into_inner());
            if until.is_none() {
                while until.is_none() {
                    until = w.wake.wait(until).unwrap_or_else(|e| e.into_inner());
                }
                // Looked up afresh for each window: writing our pid into a cgroup we were
                // moved out of meanwhile would move us back.
                target = berth_runtime::cgroups::migration_target();
            }
            if until.is_some_and(|t| Instant::now() >= t) {
                *until = None;
                continue;
            }
        }
        let Some(procs) = &target else {
            std::thread::sleep(PERIOD);
            continue;
        };
        // A failure only costs the wait we tried to hide.
        if let Err(e) = std::fs::write(procs, &pid) {
            tracing::debug!("cgroup warm-keeping in {}: {e}", procs.display());
        }
        std::thread::sleep(PERIOD);
    }
}
