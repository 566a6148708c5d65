//! The last steps of every container process before its execve (the init and each exec):
//! what keeps the runtime's state out of the container (the CVE-2019-5736 and
//! CVE-2024-21626 classes) and gives the command a clean process state.

use std::path::Path;

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

/// Every signal back to its default disposition and an empty mask: execve keeps ignored
/// signals ignored, and the daemon (or whoever started it) may ignore SIGHUP or SIGPIPE.
pub(super) fn reset_signals() {
    use nix::sys::signal::SigSet;
    // The raw syscall: glibc refuses to touch its own signals 32 and 33, which a parent
    // may have left ignored too. An all-zero kernel sigaction is SIG_DFL with no flags and
    // an empty mask, whatever the architecture's field order.
    let dfl = [0u64; 4];
    for sig in 1..=64 {
        if sig == libc::SIGKILL || sig == libc::SIGSTOP {
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
