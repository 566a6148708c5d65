//! Mount targets inside earlier mounts (prefix `compat_mount_targets`). The native init
//! resolves every mount destination and device node through one descriptor of the rootfs,
//! opened after the rootfs' self-bind: a walk from it must cross the mounts made before
//! (a tmpfs, a bind, the /dev tmpfs), or a nested target is made in the directory under
//! the mount, and a symlink on the way, which only the mounted tree has, is not seen: the
//! kernel then follows it from the host's root. As runc (mounts in destination order,
//! symlinks resolved in the rootfs): the nested binds are visible, and a symlink in a bind
//! leads to a target inside the container.

use berth_tests::{Client, TestDaemon};
use std::fs;

#[test]
fn compat_mount_targets_resolve_through_earlier_mounts() {
    let d = TestDaemon::start();
    let outer = d.dir().join("m-outer");
    let inner = d.dir().join("m-inner");
    fs::create_dir_all(outer.join("in")).unwrap();
    fs::create_dir_all(&inner).unwrap();
    fs::write(outer.join("f"), "outer\n").unwrap();
    fs::write(inner.join("g"), "inner\n").unwrap();
    // An absolute symlink that exists only in the bind: resolved in the container's root.
    let escape = "/berth-mount-targets-probe";
    std::os::unix::fs::symlink(escape, outer.join("lnk")).unwrap();
    // /data is a tmpfs; /data/sub (made inside the tmpfs) a read-only bind; /data/sub/in a
    // bind inside that bind, /data/sub/lnk one through its symlink; /dev's nodes and
    // /dev/shm inside the /dev tmpfs.
    let script = format!(
        "cat /data/sub/f /data/sub/in/g {escape}/g; ls /data; \
         grep -c ' /data/sub ' /proc/self/mountinfo; \
         grep -c ' {escape} ' /proc/self/mountinfo; \
         grep -c ' /dev/shm ' /proc/self/mountinfo; \
         echo x > /dev/null && test -c /dev/null && echo null-ok; \
         touch /data/sub/x 2>/dev/null || echo sub-ro"
    );
    for c in Client::BOTH {
        d.run(
            c,
            &[
                "run",
                "--rm",
                "--network",
                "none",
                "--tmpfs",
                "/data",
                "-v",
                &format!("{}:/data/sub:ro", outer.display()),
                "-v",
                &format!("{}:/data/sub/in", inner.display()),
                "-v",
                &format!("{}:/data/sub/lnk", inner.display()),
                "busybox",
                "sh",
                "-c",
                &script,
            ],
        )
        .success()
        .stdout_is("outer\ninner\ninner\nsub\n1\n1\n1\nnull-ok\nsub-ro\n");
        assert!(
            !std::path::Path::new(escape).exists(),
            "{escape} was made on the host"
        );
    }
}
