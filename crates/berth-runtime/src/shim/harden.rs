//! The last steps of every container process before its execve (the init and each exec):
//! what keeps the runtime's state out of the container (the CVE-2019-5736 and
//! CVE-2024-21626 classes) and gives the command a clean process state.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};

/// Marks every descriptor from 3 up close-on-exec, so nothing the shim holds (its log,
/// sockets, a directory of the host) survives into the container's command. Marked rather
/// than closed: the sync socket must stay usable until the exec itself.
pub(super) fn close_fds_on_exec() -> Result<(), String> {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    // SAFETY: close_range only changes descriptor flags of this process.
    let rc = unsafe { libc::syscall(libc::SYS_close_range, 3u32, u32::MAX, CLOSE_RANGE_CLOEXEC) };
    if rc == 0 {
        return Ok(());
    }
    // Kernels before 5.11: each open descriptor by hand.
    let fds: Vec<i32> = std::fs::read_dir("/proc/self/fd")
        .map_err(|e| format!("list descriptors: {e}"))?
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .filter(|fd| *fd >= 3)
        .collect();
    for fd in fds {
        // SAFETY: setting FD_CLOEXEC on a descriptor number (a stale one just fails).
        unsafe {
            libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
        }
    }
    Ok(())
}

/// After chdir: the working directory must be inside the container's root. A directory
/// reached through a leaked descriptor (`-w /proc/self/fd/N`) is outside it, and getcwd
/// says so ("(unreachable)" or ENOENT), as runc checks.
pub(super) fn verify_cwd(cwd: &Path) -> Result<(), String> {
    let outside = || {
        format!(
            "chdir to cwd (\"{}\") set in config.json failed: current working directory is outside of container mount namespace root -- possible container breakout detected",
            cwd.display()
        )
    };
    match nix::unistd::getcwd() {
        Ok(p) if p.is_absolute() => Ok(()),
        Ok(_) | Err(nix::errno::Errno::ENOENT) => Err(outside()),
        Err(e) => Err(format!("getcwd: {e}")),
    }
}

/// The signals this process may ignore (bit `sig - 1`): those it found ignored when it
/// started ([`note_ignored_signals`]: inherited through the daemon's execve, and Rust's own
/// SIGPIPE), plus every one the runtime set to SIG_IGN since ([`ignore`]). All ones until the
/// start-up snapshot is taken, so a process that never took it resets every signal.
/// Forked shims, inits and exec children inherit it with the rest of the memory.
static IGNORED: AtomicU64 = AtomicU64::new(u64::MAX);

fn bit(sig: i32) -> u64 {
    1u64 << (sig - 1)
}

/// The current disposition's handler of `sig`, by the raw syscall (glibc refuses its own
/// signals 32 and 33). The kernel's sigaction starts with the handler on the architectures
/// this is built for (x86_64, aarch64, riscv64: the generic and x86 layouts).
#[cfg(any(
    target_arch = "x86_64",
    target_arch = "aarch64",
    target_arch = "riscv64"
))]
fn handler_of(sig: i32) -> Option<usize> {
    let mut old = [0usize; 8];
    // SAFETY: rt_sigaction only reads the disposition into a buffer larger than the
    // kernel's sigaction (handler, flags, restorer, an 8-byte mask).
    let rc = unsafe {
        libc::syscall(
            libc::SYS_rt_sigaction,
            sig,
            std::ptr::null::<usize>(),
            old.as_mut_ptr(),
            8usize,
        )
    };
    (rc == 0).then_some(old[0])
}

/// Once, when a zygote or a directly started shim begins: which signals are ignored now
/// (64 queries once per daemon, instead of 62 resets in every container process).
pub(super) fn note_ignored_signals() {
    #[cfg(any(
        target_arch = "x86_64",
        target_arch = "aarch64",
        target_arch = "riscv64"
    ))]
    {
        let mut mask = 0u64;
        for sig in 1..=64 {
            match handler_of(sig) {
                Some(h) if h != libc::SIG_IGN => {}
                // Ignored, or unknown: reset it.
                _ => mask |= bit(sig),
            }
        }
        IGNORED.store(mask, Ordering::Relaxed);
    }
}

/// Sets `sig` to SIG_IGN and remembers it, so [`reset_signals`] puts it back.
pub(super) fn ignore(sig: nix::sys::signal::Signal) {
    use nix::sys::signal::{signal, SigHandler};
    IGNORED.fetch_or(bit(sig as i32), Ordering::Relaxed);
    // SAFETY: setting a signal disposition to ignore.
    unsafe {
        let _ = signal(sig, SigHandler::SigIgn);
    }
}

/// Every signal back to its default disposition and an empty mask: execve keeps ignored
/// signals ignored, and the daemon (or whoever started it) may ignore SIGHUP or SIGPIPE.
/// execve itself resets every caught signal (a handler) to SIG_DFL and clears every
/// disposition's flags, so only the ignored ones need a call: those [`IGNORED`] names.
pub(super) fn reset_signals() {
    use nix::sys::signal::SigSet;
    // The raw syscall: glibc refuses to touch its own signals 32 and 33, which a parent
    // may have left ignored too. An all-zero kernel sigaction is SIG_DFL with no flags and
    // an empty mask, whatever the architecture's field order.
    let dfl = [0u64; 4];
    let ignored = IGNORED.load(Ordering::Relaxed);
    for sig in 1..=64 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP || ignored & bit(sig) == 0 {
            continue;
        }
        // SAFETY: rt_sigaction with a valid zeroed action and the kernel's sigset size.
        unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                sig,
                dfl.as_ptr(),
                std::ptr::null_mut::<u64>(),
                8usize,
            );
        }
    }
    let _ = nix::sys::signal::sigprocmask(
        nix::sys::signal::SigmaskHow::SIG_SETMASK,
        Some(&SigSet::empty()),
        None,
    );
}

/// Makes this process non-dumpable until it execs: nothing in the container can open its
/// /proc/<pid>/exe (the runtime binary), mem or fds, nor ptrace it. execve makes the
/// container's command dumpable again.
pub(super) fn set_non_dumpable() {
    // SAFETY: a plain prctl on this process.
    unsafe {
        libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Sets `sig` to SIG_IGN behind the runtime's back (as a daemon's parent would).
    fn raw_ignore(sig: i32) {
        let ign = [libc::SIG_IGN as u64, 0, 0, 0];
        // SAFETY: rt_sigaction with a valid action (handler first on the tested arches).
        unsafe {
            libc::syscall(
                libc::SYS_rt_sigaction,
                sig,
                ign.as_ptr(),
                std::ptr::null_mut::<u64>(),
                8usize,
            );
        }
    }

    /// The child's checks; 0 when all hold, else the number of the one that failed.
    fn child() -> i32 {
        use nix::sys::signal::Signal;
        if IGNORED.load(Ordering::Relaxed) != u64::MAX {
            return 1;
        }
        // Inherited: SIGHUP, glibc's own 33, a real-time signal.
        for sig in [libc::SIGHUP, 33, 40] {
            raw_ignore(sig);
        }
        note_ignored_signals();
        let mask = IGNORED.load(Ordering::Relaxed);
        if [libc::SIGHUP, 33, 40].iter().any(|s| mask & bit(*s) == 0) {
            return 2;
        }
        // Selective: a default and a caught signal are not in it.
        if mask & bit(libc::SIGTERM) != 0 || mask & bit(libc::SIGUSR1) != 0 {
            return 3;
        }
        // Ignored later by the runtime itself.
        ignore(Signal::SIGUSR2);
        if IGNORED.load(Ordering::Relaxed) & bit(libc::SIGUSR2) == 0 {
            return 4;
        }
        reset_signals();
        for sig in 1..=64 {
            if sig == libc::SIGKILL || sig == libc::SIGSTOP {
                continue;
            }
            match handler_of(sig) {
                Some(h) if h == libc::SIG_IGN => return 100 + sig,
                None => return 5,
                Some(_) => {}
            }
        }
        0
    }

    /// Only the ignored signals are reset, and all of them are: those ignored when the
    /// snapshot was taken and those the runtime ignored since. In a forked child, since
    /// dispositions belong to the process.
    #[test]
    fn reset_puts_back_every_ignored_signal() {
        // SAFETY: the child runs only syscalls (no allocation, no locks) and _exits.
        match unsafe { libc::fork() } {
            0 => {
                let code = child();
                // SAFETY: leaving the forked child without running the harness's code.
                unsafe { libc::_exit(code) }
            }
            pid => {
                assert!(pid > 0, "fork failed");
                let mut status = 0;
                // SAFETY: waiting for our own child.
                let rc = unsafe { libc::waitpid(pid, &mut status, 0) };
                assert_eq!(rc, pid);
                assert!(libc::WIFEXITED(status), "child died: {status:#x}");
                assert_eq!(libc::WEXITSTATUS(status), 0, "failed check");
            }
        }
    }
}
