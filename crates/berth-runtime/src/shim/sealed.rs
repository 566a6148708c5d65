//! The berth binary the shims run from: a sealed view of it, made once per daemon, as runc
//! runs from one (CVE-2019-5736). A container process that reaches a shim's or an exec's
//! /proc/<pid>/exe (say, through `#!/proc/self/exe` in an image) gets this view, which
//! nobody can write, never the host's file.
//!
//! The view is, as runc 1.2's `exeseal` prefers, the binary seen through a detached,
//! read-only overlayfs (`fsopen`/`fsmount`, never attached to any mount tree, so no path
//! reaches it and it cannot be remounted writable; lower-only overlayfs refuses every
//! write). It costs no copy, and its pages fault in from the page cache with fault-around as
//! the file's do: children forked from a sealed memfd (shmem, one page per fault) paid about
//! twice the page-fault time per shim, init and exec (perf17, /work/notes/s15). Where the
//! kernel or the binary's filesystem cannot make that mount, a sealed memfd copy is used.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

struct Sealed {
    source: PathBuf,
    fd: OwnedFd,
}

static SEALED: Mutex<Option<Sealed>> = Mutex::new(None);

/// The binary through a detached lower-only overlayfs whose top layer is the binary's
/// directory and whose second (required: overlayfs needs two lower layers when it has no
/// upper one) is an empty directory made for the purpose and removed once mounted.
fn overlay_view(exe: &Path) -> std::io::Result<OwnedFd> {
    use rustix::mount::{
        fsconfig_create, fsconfig_set_string, fsmount, fsopen, FsMountFlags, FsOpenFlags,
        MountAttrFlags,
    };
    use std::os::unix::ffi::OsStrExt;
    let invalid =
        |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidInput, what.to_string());
    let (dir, name) = match (exe.parent(), exe.file_name()) {
        (Some(d), Some(n)) if d.is_absolute() => (d, n),
        _ => return Err(invalid("not an absolute file path")),
    };
    let ctx = fsopen("overlay", FsOpenFlags::FSOPEN_CLOEXEC)?;
    static N: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let empty = std::env::temp_dir().join(format!("berth-exe-{}-{n}", std::process::id()));
    std::fs::create_dir(&empty)?;
    let made = (|| {
        let lower = format!(
            "{}:{}",
            escape_lowerdir(dir.as_os_str().as_bytes())?,
            escape_lowerdir(empty.as_os_str().as_bytes())?
        );
        fsconfig_set_string(&ctx, "lowerdir", lower.as_str())?;
        // xino is irrelevant here; turning it off avoids dmesg noise across filesystems.
        let _ = fsconfig_set_string(&ctx, "xino", "off");
        fsconfig_create(&ctx)?;
        fsmount(
            &ctx,
            FsMountFlags::FSMOUNT_CLOEXEC,
            MountAttrFlags::MOUNT_ATTR_RDONLY
                | MountAttrFlags::MOUNT_ATTR_NODEV
                | MountAttrFlags::MOUNT_ATTR_NOSUID,
        )
        .map_err(std::io::Error::from)
    })();
    // The mounted overlay holds the empty layer itself; its name is no longer needed.
    let _ = std::fs::remove_dir(&empty);
    let mnt = made?;
    let file = rustix::fs::openat(
        &mnt,
        Path::new(name),
        rustix::fs::OFlags::RDONLY | rustix::fs::OFlags::NOFOLLOW | rustix::fs::OFlags::CLOEXEC,
        rustix::fs::Mode::empty(),
    )?;
    // A view that would take a write is no view: check, never assume.
    if rustix::fs::fstatfs(&file)?.f_type as i64 != OVERLAYFS_SUPER_MAGIC {
        return Err(invalid("not on overlayfs"));
    }
    Ok(file)
}

const OVERLAYFS_SUPER_MAGIC: i64 = 0x794c_7630;

/// overlayfs's `lowerdir` list syntax: `:` separates layers, `\` escapes (as runc's
/// escapeOverlayLowerDir). fsconfig takes the string whole, so a comma needs nothing; a
/// path that is not UTF-8 is refused (the memfd copy serves it).
fn escape_lowerdir(path: &[u8]) -> std::io::Result<String> {
    let s = std::str::from_utf8(path)
        .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "path not UTF-8"))?;
    Ok(s.replace('\\', "\\\\").replace(':', "\\:"))
}

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
        let view = overlay_view(exe).or_else(|e| {
            tracing::debug!(error = %e, "no overlayfs view of {}; using a sealed copy", exe.display());
            seal_copy(exe)
        });
        match view {
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

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    #[test]
    fn lowerdir_paths_are_escaped_as_overlayfs_reads_them() {
        assert_eq!(escape_lowerdir(b"/usr/bin").unwrap(), "/usr/bin");
        assert_eq!(escape_lowerdir(b"/a:b\\c").unwrap(), "/a\\:b\\\\c");
        assert!(escape_lowerdir(b"/\xff").is_err());
    }

    /// The view runs, reads as the binary, and refuses every write (the tests run as root,
    /// as the daemon does; a kernel without overlayfs or fsopen fails here, not silently).
    #[test]
    fn the_overlay_view_is_the_binary_and_takes_no_write() {
        let dir = std::env::temp_dir().join(format!("berth-sealed-test-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let bin = dir.join("tool");
        std::fs::copy("/bin/true", &bin).unwrap();
        std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755)).unwrap();
        let view = overlay_view(&bin).expect("overlayfs view (root, overlayfs, fsopen)");
        let path = format!("/proc/self/fd/{}", view.as_raw_fd());
        assert_eq!(std::fs::read(&path).unwrap(), std::fs::read(&bin).unwrap());
        let err = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap_err();
        assert_eq!(err.raw_os_error(), Some(libc::EROFS), "{err}");
        assert!(std::process::Command::new(&path)
            .status()
            .unwrap()
            .success());
        // The host file stays writable to its owner: the view, not the file, is sealed.
        std::fs::OpenOptions::new().write(true).open(&bin).unwrap();
        // No empty layer directory is left behind.
        let left: Vec<_> = std::fs::read_dir(std::env::temp_dir())
            .unwrap()
            .filter_map(|e| e.ok())
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with(&format!("berth-exe-{}-", std::process::id()))
            })
            .collect();
        assert!(left.is_empty(), "{left:?}");
        drop(view);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
