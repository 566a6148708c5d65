//! Container root filesystems: an overlayfs mount of the image layers (read-only lowers)
//! with `upper`/`work` in the container dir, or a plain copy ("vfs") when overlay fails.

use std::ffi::CString;
use std::fs;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::{ImageError, IoContext};
use crate::unpack::dir_size;

/// Marker telling `unmount_rootfs` that the rootfs is a copy, not a mount.
const VFS_MARKER: &str = "rootfs.vfs";
/// Mount options must fit in one page.
const MAX_OPTS: usize = 4095;

fn cpath(p: &Path) -> Result<CString, ImageError> {
    CString::new(p.as_os_str().as_bytes())
        .map_err(|_| ImageError::Internal(format!("path with NUL byte: {}", p.display())))
}

/// The shared init layer's directory under `layers/` (never an image layer: the store skips it).
pub const INIT_LAYER: &str = "init";

/// What Docker's init layer holds (moby's daemon/initlayer): the mount points every
/// container needs and the files Docker always shows. Empty files and dirs, mode 0755.
const INIT_DIRS: &[&str] = &["dev", "dev/pts", "dev/shm", "proc", "sys", "etc"];
const INIT_FILES: &[&str] = &[
    ".dockerenv",
    "etc/resolv.conf",
    "etc/hosts",
    "etc/hostname",
    "dev/console",
];

/// The init layer, shared read-only by every container of the data root and placed above
/// the image's layers, as Docker's per-container `-init` layer is. Because the mount
/// points already exist in a lower layer, starting a container creates nothing in its
/// upper dir (no copy-up of /etc): on ext4 each new inode costs a scan of recently freed
/// ones, which made inode creation the largest share of a container start.
/// Created once, atomically (built in a temp dir, then renamed).
pub fn ensure_init_layer(data_root: &Path) -> Result<PathBuf, ImageError> {
    let layer = data_root.join("layers").join(INIT_LAYER);
    let diff = layer.join("diff");
    let link = "INITLAYER";
    let lpath = data_root.join("l").join(link);
    if diff.is_dir() && lpath.exists() {
        return Ok(diff);
    }
    let stage = tempfile::Builder::new()
        .prefix(".init-")
        .tempdir_in(data_root.join("layers"))
        .ctx(|| "creating init layer".to_string())?;
    let sdiff = stage.path().join("diff");
    let mode = fs::Permissions::from_mode(0o755);
    for d in std::iter::once("").chain(INIT_DIRS.iter().copied()) {
        let p = sdiff.join(d);
        fs::create_dir_all(&p).ctx(|| format!("creating {}", p.display()))?;
        fs::set_permissions(&p, mode.clone()).ctx(|| format!("chmod {}", p.display()))?;
    }
    for f in INIT_FILES {
        let p = sdiff.join(f);
        fs::write(&p, b"").ctx(|| format!("creating {}", p.display()))?;
        fs::set_permissions(&p, mode.clone()).ctx(|| format!("chmod {}", p.display()))?;
    }
    std::os::unix::fs::symlink("/proc/mounts", sdiff.join("etc/mtab"))
        .ctx(|| "creating etc/mtab".to_string())?;
    fs::write(stage.path().join("link"), link).ctx(|| "writing init layer link".to_string())?;
    if !diff.is_dir() {
        let staged = stage.keep();
        if fs::rename(&staged, &layer).is_err() {
            // A concurrent daemon start made it first.
            let _ = fs::remove_dir_all(&staged);
        }
    }
    let _ = fs::remove_file(&lpath);
    let target = format!("../layers/{INIT_LAYER}/diff");
    if let Err(e) = std::os::unix::fs::symlink(&target, &lpath) {
        if fs::read_link(&lpath).map_or(true, |t| t != Path::new(&target)) {
            return Err(e).ctx(|| format!("creating {}", lpath.display()));
        }
    }
    Ok(diff)
}

/// Whether `p` is a mount point: on another device than its parent (as overlay and the
/// vfs copy's absence tell apart). Only when `p` cannot be examined (a broken mount) is
/// /proc/self/mountinfo read: it grows with every running container.
pub fn is_mounted(p: &Path) -> bool {
    if let (Ok(m), Some(Ok(parent))) = (fs::metadata(p), p.parent().map(fs::metadata)) {
        return m.dev() != parent.dev() || m.ino() == parent.ino();
    }
    let Ok(info) = fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    let want = p.to_string_lossy().replace(' ', "\\040");
    info.lines()
        .filter_map(|l| l.split(' ').nth(4))
        .any(|m| m == want)
}

/// The short `l/<id>` name of a layer diff dir (`layers/<chain>/diff`), if it has one.
fn short_link(lower: &Path) -> Option<(PathBuf, String)> {
    let layer = lower.parent()?;
    let data_root = layer.parent()?.parent()?;
    let link = fs::read_to_string(layer.join("link")).ok()?;
    let link = link.trim();
    let rel = format!("l/{link}");
    if data_root.join(&rel).exists() {
        Some((data_root.to_path_buf(), rel))
    } else {
        None
    }
}

fn mount_overlay(opts: &str, target: &Path, chdir: Option<&Path>) -> io::Result<()> {
    let src = CString::new("overlay").map_err(io::Error::other)?;
    let tgt = CString::new(target.as_os_str().as_bytes()).map_err(io::Error::other)?;
    let data = CString::new(opts).map_err(io::Error::other)?;
    match chdir {
        None => {
            // SAFETY: valid NUL-terminated strings.
            let r = unsafe {
                libc::mount(
                    src.as_ptr(),
                    tgt.as_ptr(),
                    src.as_ptr(),
                    0,
                    data.as_ptr().cast(),
                )
            };
            if r < 0 {
                return Err(io::Error::last_os_error());
            }
            Ok(())
        }
        Some(dir) => {
            // Relative lowerdirs need a cwd; chdir in a forked child so the (threaded)
            // daemon's cwd never changes. The child only makes async-signal-safe syscalls.
            let d = CString::new(dir.as_os_str().as_bytes()).map_err(io::Error::other)?;
            // SAFETY: fork; the child calls only chdir/mount/_exit.
            let pid = unsafe { libc::fork() };
            if pid < 0 {
                return Err(io::Error::last_os_error());
            }
            if pid == 0 {
                // SAFETY: in the child, raw syscalls only.
                unsafe {
                    if libc::chdir(d.as_ptr()) < 0 {
                        libc::_exit(*libc::__errno_location());
                    }
                    let r = libc::mount(
                        src.as_ptr(),
                        tgt.as_ptr(),
                        src.as_ptr(),
                        0,
                        data.as_ptr().cast(),
                    );
                    libc::_exit(if r < 0 { *libc::__errno_location() } else { 0 });
                }
            }
            let mut status = 0;
            // SAFETY: waiting for our own child.
            if unsafe { libc::waitpid(pid, &mut status, 0) } < 0 {
                return Err(io::Error::last_os_error());
            }
            if libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0 {
                Ok(())
            } else if libc::WIFEXITED(status) {
                Err(io::Error::from_raw_os_error(libc::WEXITSTATUS(status)))
            } else {
                Err(io::Error::other("mount helper child died"))
            }
        }
    }
}

/// Where a container's rootfs is mounted (the OCI bundle's `rootfs`).
pub fn rootfs_dir(container_dir: &Path) -> PathBuf {
    container_dir.join("bundle/rootfs")
}

/// The overlay upper dir: the files the container wrote (its writable layer).
pub fn upper_dir(container_dir: &Path) -> PathBuf {
    container_dir.join("upper")
}

/// The overlay work dir.
pub fn work_dir(container_dir: &Path) -> PathBuf {
    container_dir.join("work")
}

/// Mounts the container rootfs at `container_dir/bundle/rootfs` from `lower_dirs` (lowest
/// layer first). Idempotent: an existing mount is reused.
pub fn mount_rootfs(lower_dirs: &[PathBuf], container_dir: &Path) -> Result<PathBuf, ImageError> {
    let rootfs = rootfs_dir(container_dir);
    let upper = upper_dir(container_dir);
    let work = work_dir(container_dir);
    for d in [&rootfs, &upper, &work] {
        fs::create_dir_all(d).ctx(|| format!("creating {}", d.display()))?;
    }
    if is_mounted(&rootfs) || container_dir.join(VFS_MARKER).exists() {
        return Ok(rootfs);
    }
    let mut lowers: Vec<PathBuf> = lower_dirs.iter().rev().cloned().collect();
    if lowers.is_empty() {
        // overlayfs needs a lower dir; a scratch image gets an empty one.
        let empty = container_dir.join("empty");
        fs::create_dir_all(&empty).ctx(|| format!("creating {}", empty.display()))?;
        lowers.push(empty);
    }
    let tail = format!(",upperdir={},workdir={}", upper.display(), work.display());
    let shorts: Vec<Option<(PathBuf, String)>> = lowers.iter().map(|l| short_link(l)).collect();
    let abs: Vec<String> = lowers
        .iter()
        .zip(&shorts)
        .map(|(l, s)| match s {
            Some((root, rel)) => root.join(rel).display().to_string(),
            None => l.display().to_string(),
        })
        .collect();
    let opts = format!("lowerdir={}{tail}", abs.join(":"));
    let result = if opts.len() <= MAX_OPTS {
        mount_overlay(&opts, &rootfs, None)
    } else {
        let root = shorts
            .first()
            .and_then(|s| s.as_ref())
            .map(|(r, _)| r.clone());
        let all_short = shorts
            .iter()
            .all(|s| s.as_ref().is_some_and(|(r, _)| Some(r) == root.as_ref()));
        match (root, all_short) {
            (Some(root), true) => {
                let rel: Vec<&str> = shorts.iter().flatten().map(|(_, r)| r.as_str()).collect();
                let opts = format!("lowerdir={}{tail}", rel.join(":"));
                if opts.len() > MAX_OPTS {
                    Err(io::Error::other(format!(
                        "too many layers ({})",
                        lowers.len()
                    )))
                } else {
                    mount_overlay(&opts, &rootfs, Some(&root))
                }
            }
            _ => Err(io::Error::other("overlay options too long")),
        }
    };
    match result {
        Ok(()) => {
            tracing::debug!(rootfs = %rootfs.display(), layers = lower_dirs.len(), "overlay mounted");
            Ok(rootfs)
        }
        Err(e) => {
            tracing::warn!(error = %e, "overlay mount failed; copying layers (vfs)");
            vfs_copy(lower_dirs, &rootfs)?;
            fs::write(container_dir.join(VFS_MARKER), b"")
                .ctx(|| "writing vfs marker".to_string())?;
            Ok(rootfs)
        }
    }
}

/// Whether the rootfs in `container_dir` is a copy of the layers (vfs), not an overlay.
pub fn is_copied(container_dir: &Path) -> bool {
    container_dir.join(VFS_MARKER).exists()
}

/// Unmounts the rootfs; a no-op when not mounted; detaches lazily when busy.
pub fn unmount_rootfs(container_dir: &Path) -> Result<(), ImageError> {
    let rootfs = container_dir.join("bundle/rootfs");
    let c = cpath(&rootfs)?;
    for _ in 0..8 {
        if !is_mounted(&rootfs) {
            return Ok(());
        }
        // SAFETY: valid path string.
        if unsafe { libc::umount2(c.as_ptr(), 0) } == 0 {
            continue;
        }
        let e = io::Error::last_os_error();
        match e.raw_os_error() {
            Some(libc::EBUSY) => {
                // SAFETY: valid path string.
                if unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) } < 0 {
                    return Err(io::Error::last_os_error())
                        .ctx(|| format!("detaching {}", rootfs.display()));
                }
            }
            Some(libc::EINVAL) | Some(libc::ENOENT) => return Ok(()),
            _ => return Err(e).ctx(|| format!("unmounting {}", rootfs.display())),
        }
    }
    Ok(())
}

/// Bytes written by the container (its upper dir, or the whole copy for vfs): `ps -s`.
pub fn rootfs_size(container_dir: &Path) -> u64 {
    if container_dir.join(VFS_MARKER).exists() {
        return dir_size(&rootfs_dir(container_dir));
    }
    dir_size(&upper_dir(container_dir))
}

fn is_whiteout(md: &fs::Metadata) -> bool {
    md.file_type().is_char_device() && md.rdev() == 0
}

fn is_opaque(p: &Path) -> bool {
    let Ok(c) = cpath(p) else { return false };
    let key = c"trusted.overlay.opaque";
    let mut buf = [0u8; 4];
    // SAFETY: valid strings and buffer.
    let n =
        unsafe { libc::lgetxattr(c.as_ptr(), key.as_ptr(), buf.as_mut_ptr().cast(), buf.len()) };
    n == 1 && buf[0] == b'y'
}

fn remove_path(p: &Path) -> io::Result<()> {
    match fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(p),
        Ok(_) => fs::remove_file(p),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// Applies layers in order onto `dst` (whiteouts delete, opaque dirs replace).
fn vfs_copy(lowers: &[PathBuf], dst: &Path) -> Result<(), ImageError> {
    for l in lowers {
        copy_tree(l, dst).ctx(|| format!("copying layer {}", l.display()))?;
    }
    Ok(())
}

fn copy_tree(src: &Path, dst: &Path) -> io::Result<()> {
    for e in fs::read_dir(src)? {
        let e = e?;
        let s = e.path();
        let d = dst.join(e.file_name());
        let md = fs::symlink_metadata(&s)?;
        if is_whiteout(&md) {
            remove_path(&d)?;
            continue;
        }
        let ft = md.file_type();
        if ft.is_dir() {
            let existing_dir = fs::symlink_metadata(&d)
                .map(|m| m.is_dir())
                .unwrap_or(false);
            // An opaque dir replaces what lower layers had; a non-dir is replaced by the dir.
            if !existing_dir || is_opaque(&s) {
                remove_path(&d)?;
            }
            if !d.exists() {
                fs::create_dir(&d)?;
            }
            copy_tree(&s, &d)?;
            std::os::unix::fs::chown(&d, Some(md.uid()), Some(md.gid()))?;
            fs::set_permissions(&d, fs::Permissions::from_mode(md.mode() & 0o7777))?;
            continue;
        }
        remove_path(&d)?;
        if ft.is_symlink() {
            std::os::unix::fs::symlink(fs::read_link(&s)?, &d)?;
            std::os::unix::fs::lchown(&d, Some(md.uid()), Some(md.gid()))?;
        } else if ft.is_file() {
            fs::copy(&s, &d)?;
            std::os::unix::fs::chown(&d, Some(md.uid()), Some(md.gid()))?;
            fs::set_permissions(&d, fs::Permissions::from_mode(md.mode() & 0o7777))?;
        } else {
            let c = CString::new(d.as_os_str().as_bytes()).map_err(io::Error::other)?;
            // SAFETY: valid path; mode and dev from the source inode.
            if unsafe {
                libc::mknod(
                    c.as_ptr(),
                    md.mode() as libc::mode_t,
                    md.rdev() as libc::dev_t,
                )
            } < 0
            {
                return Err(io::Error::last_os_error());
            }
            std::os::unix::fs::lchown(&d, Some(md.uid()), Some(md.gid()))?;
        }
    }
    Ok(())
}
