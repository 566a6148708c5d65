//! OOM kills of a cgroup v2 container, as its shim sees them (`State.OOMKilled` and the
//! `oom` event).
//!
//! # The race with systemd
//! The kernel counts an OOM kill in the victim's `memory.events` (`oom_kill`, and in every
//! ancestor's, hierarchically) *before* it sends the SIGKILL, so a read of the container's
//! own file after the kill is exact. The trouble is reading it in time. Under the systemd
//! cgroup driver the container's cgroup is a transient scope, and systemd removes it as soon
//! as it empties. The cgroup empties in the dying init's `cgroup_exit`, which comes *before*
//! its parent (the shim) is told (`exit_notify`). Probed in the cgroup v2 test VM (Debian
//! 12, systemd 252, kernel 6.1, TCG; issue 19): in 4 runs of 6 the scope's cgroup was gone
//! already when the init's exit became visible (a pidfd), once 80 ms before. So a read at
//! reaping often finds nothing (ENOENT by path, ENODEV through a descriptor opened
//! earlier). systemd itself does not help: a scope has no `OOMPolicy` before systemd 253
//! (and for a delegated unit it defaults to `continue`), so the scope ends `Result=success`
//! and is collected. systemd only logs "A process of this unit has been killed by the OOM
//! killer".
//!
//! # What the watch does
//! - **Sees the kill while the cgroup is still there.** `memory.events` is held open from
//!   before the container runs anything (the native init waits in its scope; an OCI runtime's
//!   init waits between `create` and `start`) and polled for `POLLPRI`. kernfs wakes a
//!   file's pollers synchronously at the event. Its inotify notice goes through a workqueue,
//!   which is later; the earlier watch used inotify and a read by path, and lost the race
//!   more often. On a wakeup the file is read again with `pread` at offset 0, which also
//!   re-arms the poll. The kernel rate-limits these notices to one per 20 ms per file, and a
//!   notice still pending when the cgroup goes is dropped. An OOM kill follows a burst of
//!   `max` events, so the last notice the shim gets may still show `oom_kill 0`: the probe
//!   saw that in 2 runs of 6.
//! - **Falls back on the parent's counter (secondary, may be a false positive).** The
//!   parent's `memory.events` (the slice, e.g. `system.slice`) counts its descendants' kills
//!   and outlives the container. At every read the parent's counter is read *first*. When
//!   the container's own file then still says 0, that parent value becomes the baseline: a
//!   later kill in the container must raise the parent above it. When the init died of
//!   SIGKILL, its own file can no longer be read and never showed a kill, and the parent
//!   rose above the baseline, the container is taken as OOM-killed. That can be wrong: a
//!   *sibling* under the same parent may have been OOM-killed since the baseline, while this
//!   container was SIGKILLed by something else. To keep that window short, the baseline is
//!   refreshed at every notice of the container's own file (an OOM kill comes after `max`
//!   events, which notify) and before the shim sends the init any signal (`kill`/`stop`/
//!   `rm -f`). What is left is a `kill -9` from outside berth at the same time as a
//!   sibling's OOM kill since the container's last memory event. The fallback counts
//!   nothing when the parent has no `memory.events` (the root cgroup) or is mounted with
//!   `memory_localevents` (no hierarchical counts).
//!
//! Not used: `OOMPolicy=stop` (systemd would stop the whole container at any OOM kill of
//! one of its processes, which Docker does not do), and keeping the scope populated (a
//! helper process in the container's cgroup would count against its `pids.max` and show in
//! `top`).
//!
//! The cgroupfs driver has no race: berth removes the cgroup itself, after reading it.

use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::Path;

/// The `oom_kill N` count in a `memory.events` (v2) or `memory.oom_control` (v1) text.
pub fn oom_kill_of(text: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        l.strip_prefix("oom_kill ")
            .and_then(|v| v.trim().parse::<u64>().ok())
    })
}

/// The count of a held-open file, read from its start. None when the file cannot be read
/// (its cgroup was removed: ENODEV) or has no `oom_kill` line.
fn read_count(f: &File) -> Option<u64> {
    let mut buf = [0u8; 512];
    let n = f.read_at(&mut buf, 0).ok()?;
    oom_kill_of(std::str::from_utf8(&buf[..n]).ok()?)
}

/// What the reads of the container's and its parent's counters have shown so far. The
/// decision is kept apart from the files, so it can be tested with recorded counters.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Evidence {
    /// A read of the container's own counter showed a kill.
    pub seen: bool,
    /// The container's own counter could not be read any more (its cgroup was removed).
    pub gone: bool,
    /// The parent's counter read just before the latest own read that still said 0.
    pub parent_baseline: Option<u64>,
}

/// How an exit was judged.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The container's own counter showed the kill.
    Seen,
    /// Inferred from the parent's counter (the container's own was gone): see the module
    /// doc for when that can be a sibling's kill.
    FromParent,
    /// No OOM kill.
    No,
}

impl Verdict {
    pub fn oom_killed(self) -> bool {
        self != Verdict::No
    }
}

impl Evidence {
    /// One observation: `parent` is the parent's counter, read *before* `own`, the
    /// container's (None: unreadable).
    pub fn observe(&mut self, parent: Option<u64>, own: Option<u64>) {
        match own {
            Some(n) if n > 0 => self.seen = true,
            // Still 0 after the parent was read: any kill of the container comes later,
            // so it raises the parent above this value.
            Some(_) => self.parent_baseline = parent,
            None => self.gone = true,
        }
    }

    /// The verdict when the init has died: `sigkilled` says it died of SIGKILL (an OOM
    /// kill's signal), `parent_now` is the parent's counter now.
    pub fn verdict(&self, sigkilled: bool, parent_now: Option<u64>) -> Verdict {
        if self.seen {
            return Verdict::Seen;
        }
        if !self.gone || !sigkilled {
            // The container's own counter is readable and says 0, or the init was not
            // killed by a signal the OOM killer sends.
            return Verdict::No;
        }
        match (self.parent_baseline, parent_now) {
            (Some(before), Some(now)) if now > before => Verdict::FromParent,
            _ => Verdict::No,
        }
    }
}

/// The shim's watch of a cgroup v2 container's `memory.events` (see the module doc).
pub struct OomWatch {
    /// The container's file, held open; None once it could not be read (its cgroup is
    /// gone: kernfs then reports POLLERR for ever, so it must leave the poll set).
    own: Option<File>,
    /// The parent's file, when it has one.
    parent: Option<File>,
    evidence: Evidence,
}

impl OomWatch {
    /// Opens `dir/memory.events` (None when the cgroup has none: v1, or no memory
    /// controller) and its parent's, and reads them once, so a kill before the watch began
    /// counts too and the parent's baseline is set.
    pub fn new(dir: &Path) -> Option<OomWatch> {
        let own = File::open(dir.join("memory.events")).ok()?;
        let parent = dir
            .parent()
            .and_then(|p| File::open(p.join("memory.events")).ok());
        let mut w = OomWatch {
            own: Some(own),
            parent,
            evidence: Evidence::default(),
        };
        w.check();
        Some(w)
    }

    /// The descriptor to poll for `POLLPRI` (the file changed), while it can be read.
    pub fn poll_fd(&self) -> Option<std::os::fd::BorrowedFd<'_>> {
        self.own.as_ref().map(std::os::fd::AsFd::as_fd)
    }

    /// Reads the parent's counter, then the container's (which also re-arms the poll).
    pub fn check(&mut self) {
        let parent = self.parent.as_ref().and_then(read_count);
        let own = self.own.as_ref().and_then(read_count);
        if own.is_none() {
            self.own = None;
        }
        self.evidence.observe(parent, own);
    }

    /// Whether the container's own counter has shown a kill.
    pub fn seen(&self) -> bool {
        self.evidence.seen
    }

    /// The verdict when the init has died (`sigkilled`: of SIGKILL), after a last read.
    pub fn verdict(&mut self, sigkilled: bool) -> Verdict {
        self.check();
        let parent_now = self.parent.as_ref().and_then(read_count);
        let v = self.evidence.verdict(sigkilled, parent_now);
        if v == Verdict::FromParent {
            // The shim has no log subscriber: its stderr is the container's shim.log, where
            // a judgment that may be a sibling's kill stays visible.
            eprintln!(
                "berth shim: OOM kill inferred from the parent cgroup's oom_kill counter \
                 ({} -> {}): the container's cgroup was removed before its own counter \
                 showed the kill",
                self.evidence.parent_baseline.unwrap_or_default(),
                parent_now.unwrap_or_default()
            );
        }
        v
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Recorded sequences of (parent, own) reads, as the VM probe saw them.
    #[test]
    fn the_own_counter_answers_while_it_can_be_read() {
        // The kill was read before systemd removed the scope (probe runs 1 and 3).
        let mut e = Evidence::default();
        e.observe(Some(0), Some(0));
        e.observe(Some(1), Some(1));
        e.observe(None, None);
        assert_eq!(e.verdict(true, Some(1)), Verdict::Seen);
        assert_eq!(e.verdict(false, None), Verdict::Seen, "seen is latched");
        // Still there at exit and 0: no kill, whatever the parent did (a sibling).
        let mut e = Evidence::default();
        e.observe(Some(4), Some(0));
        e.observe(Some(9), Some(0));
        assert_eq!(e.verdict(true, Some(12)), Verdict::No);
    }

    #[test]
    fn a_gone_cgroup_is_judged_by_the_parent_counter_since_the_last_zero() {
        // The last notice showed `oom_kill 0` (`max` events before the kill), then the
        // scope was gone (probe runs 5 and 6, had their later notices been dropped).
        let mut e = Evidence::default();
        e.observe(Some(4), Some(0));
        e.observe(Some(4), Some(0));
        e.observe(Some(5), None);
        assert_eq!(e.parent_baseline, Some(4));
        assert!(e.gone);
        assert_eq!(e.verdict(true, Some(5)), Verdict::FromParent);
        assert!(e.verdict(true, Some(5)).oom_killed());
        // Not killed by SIGKILL (exited, or another signal): never inferred.
        assert_eq!(e.verdict(false, Some(5)), Verdict::No);
        // The parent did not move: no kill anywhere below it.
        assert_eq!(e.verdict(true, Some(4)), Verdict::No);
        // No parent counter (the root cgroup has no memory.events): nothing inferred.
        let mut e = Evidence::default();
        e.observe(None, Some(0));
        e.observe(None, None);
        assert_eq!(e.verdict(true, None), Verdict::No);
        // Gone before any read said 0: no baseline, nothing inferred.
        let mut e = Evidence::default();
        e.observe(Some(3), None);
        assert_eq!(e.verdict(true, Some(7)), Verdict::No);
    }

    #[test]
    fn the_baseline_is_the_parent_read_before_the_latest_zero() {
        // A sibling's kill before the container's latest read (parent 2 -> 3) is not
        // counted against it; only a rise after that read is.
        let mut e = Evidence::default();
        e.observe(Some(2), Some(0));
        e.observe(Some(3), Some(0));
        e.observe(Some(3), None);
        assert_eq!(e.verdict(true, Some(3)), Verdict::No);
        assert_eq!(e.verdict(true, Some(4)), Verdict::FromParent);
    }

    #[test]
    fn counts_are_parsed_from_either_file() {
        assert_eq!(
            oom_kill_of("low 0\nhigh 0\nmax 18\noom 1\noom_kill 1\noom_group_kill 0\n"),
            Some(1)
        );
        assert_eq!(
            oom_kill_of("oom_kill_disable 0\nunder_oom 0\noom_kill 3\n"),
            Some(3)
        );
        assert_eq!(oom_kill_of("low 0\nhigh 0\n"), None);
        assert_eq!(oom_kill_of("oom_kill x\n"), None);
    }

    /// The watch on fake files: reads through its held descriptors, takes the parent's
    /// baseline, latches what it saw.
    #[test]
    fn the_watch_reads_held_files_and_latches_the_kill() {
        let root = std::env::temp_dir().join(format!("berth-oomw-{}", std::process::id()));
        let dir = root.join("c.scope");
        std::fs::create_dir_all(&dir).expect("tmp dir");
        assert!(OomWatch::new(&dir).is_none(), "no memory.events, no watch");
        let own = dir.join("memory.events");
        let parent = root.join("memory.events");
        std::fs::write(&parent, "max 9\noom 2\noom_kill 2\n").expect("write");
        std::fs::write(&own, "low 0\nmax 0\noom 0\noom_kill 0\n").expect("write");
        let mut w = OomWatch::new(&dir).expect("watch");
        assert!(!w.seen());
        assert!(w.poll_fd().is_some());
        assert_eq!(w.evidence.parent_baseline, Some(2));
        // Rewritten in place (as kernfs shows a new value through the same descriptor).
        let rewrite = |p: &Path, s: &str| {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new()
                .write(true)
                .truncate(true)
                .open(p)
                .expect("open");
            f.write_all(s.as_bytes()).expect("write");
        };
        rewrite(&parent, "max 30\noom 3\noom_kill 3\n");
        rewrite(&own, "low 0\nmax 21\noom 1\noom_kill 1\n");
        w.check();
        assert!(w.seen());
        assert_eq!(w.verdict(true), Verdict::Seen);
        // Exited normally with a readable 0: no kill, even though the parent rose.
        rewrite(&own, "low 0\nmax 0\noom 0\noom_kill 0\n");
        let mut w = OomWatch::new(&dir).expect("watch");
        rewrite(&parent, "max 31\noom 4\noom_kill 4\n");
        assert_eq!(w.verdict(true), Verdict::No);
        // A kill recorded before the watch began counts as well.
        rewrite(&own, "oom 1\noom_kill 2\n");
        assert!(OomWatch::new(&dir).expect("watch").seen());
        let _ = std::fs::remove_dir_all(&root);
    }
}
