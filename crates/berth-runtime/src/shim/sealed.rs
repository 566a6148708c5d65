//! The berth binary the shims run from: a sealed in-memory copy, made once per daemon, as
//! runc runs from a sealed memfd (CVE-2019-5736). A container process that reaches a shim's
//! or an exec's /proc/<pid>/exe (say, through `#!/proc/self/exe` in an image) gets this
//! copy, which nobody can write, never the host's file.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

struct Sealed {
    source: PathBuf,
    fd: OwnedFd,
}

static SEALED: Mutex<Option<Sealed>> = Mutex::new(None);

fn seal_copy(exe: &Path) -> std::io::Result<OwnedFd> {
    const MFD_EXEC: libc::c_uint = 0x10;
    let name = c"berth";
    let flags = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    // SAFETY: memfd_create with a valid name; kernels before 6.3 refuse MFD_EXEC (EINVAL).
    let mut fd = unsafe { libc::memfd_create(name.as_ptr(), flags | MFD_EXEC) };
    if fd < 0 {
        // SAFETY: as above.
        fd = unsafe { libc::memfd_create(name.as_ptr(), flags) };
    }
    if fd < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: a fresh descriptor nothing else owns.
    let mut out = unsafe { std::fs::File::from_raw_fd(fd) };
    let mut src = std::fs::File::open(exe)?;
    std::io::copy(&mut src, &mut out)?;
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    // SAFETY: fcntl on our own descriptor.
    if unsafe { libc::fcntl(out.as_raw_fd(), libc::F_ADD_SEALS, seals) } != 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(OwnedFd::from(out))
}

/// The path to exec instead of `exe`: `/proc/self/fd/N` of the sealed copy (valid in this
/// process and in a child spawned from it, until its exec), or `exe` itself when no copy
/// can be made.
pub(super) fn exe_path(exe: &Path) -> PathBuf {
    let mut guard = SEALED.lock().unwrap_or_else(|e| e.into_inner());
    if guard.as_ref().is_none_or(|s| s.source != exe) {
        match seal_copy(exe) {
            Ok(fd) => {
                *guard = Some(Sealed {
                    source: exe.to_path_buf(),
                    fd,
                })
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot make a sealed copy of {}; shims run from it directly", exe.display());
                return exe.to_path_buf();
            }
        }
    }
    match guard.as_ref() {
        Some(s) => PathBuf::from(format!("/proc/self/fd/{}", s.fd.as_raw_fd())),
        None => exe.to_path_buf(),
    }
}
