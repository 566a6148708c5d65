//! `docker cp` against a container that races it (issue 14, CVE-2018-15664): while a
//! program in the container swaps a directory and a symlink to a host path with
//! `renameat2(RENAME_EXCHANGE)` in a loop, in its rootfs and in a volume, 500 copies out
//! and 500 copies in never read or write the host directory the link names. berth performs
//! both directions chrooted in the container's filesystem view, so the link can only lead
//! to the same path inside the container. Tests are prefixed `cprace_`.

use berth_tests::{run_command, Client, TestDaemon};
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// The exchange loop, a static binary (built with the host's C compiler).
const SWAP_C: &str = r#"
#include <fcntl.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(int argc, char **argv) {
    if (argc != 3) return 2;
    for (;;) syscall(SYS_renameat2, AT_FDCWD, argv[1], AT_FDCWD, argv[2], 2 /* RENAME_EXCHANGE */);
}
"#;

fn build_swap(dir: &Path) -> PathBuf {
    let src = dir.join("swap.c");
    fs::write(&src, SWAP_C).expect("write swap.c");
    let bin = dir.join("swap");
    let mut c = Command::new("cc");
    c.args(["-static", "-O2", "-o"]).arg(&bin).arg(&src);
    run_command(c, None, Duration::from_secs(120)).success();
    bin
}

/// Removes the host probe directory, also when the test fails.
struct Cleanup(PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = fs::remove_dir_all(&self.0);
    }
}

#[test]
fn cprace_exchange_loop_never_reaches_the_host() {
    let d = TestDaemon::start();
    let probe = std::env::temp_dir().join(format!("berth-cpprobe-{}", std::process::id()));
    let _ = fs::remove_dir_all(&probe);
    let _cleanup = Cleanup(probe.clone());
    fs::create_dir_all(&probe).expect("probe");
    fs::write(probe.join("secret"), "host secret\n").expect("probe file");
    fs::set_permissions(&probe, fs::Permissions::from_mode(0o700)).expect("chmod probe");
    let host = probe.to_string_lossy().into_owned();
    let swap = build_swap(&d.dir);
    let ctr = "racer";
    d.run(
        Client::Docker,
        &[
            "run",
            "-d",
            "--name",
            ctr,
            "-v",
            "racevol:/vol",
            "busybox",
            "sleep",
            "600",
        ],
    )
    .success();
    d.run(
        Client::Docker,
        &["cp", &swap.to_string_lossy(), &format!("{ctr}:/swap")],
    )
    .success();
    // In the rootfs and in the volume: `dir` (a directory with `f`) and `link` (a symlink to
    // the host directory's path), exchanged as fast as the container can.
    let setup = format!(
        "for b in /w /vol; do mkdir -p $b/dir && echo inside > $b/dir/f && ln -s {host} $b/link; done"
    );
    d.run(Client::Docker, &["exec", ctr, "sh", "-c", &setup])
        .success();
    for b in ["/w", "/vol"] {
        d.run(
            Client::Docker,
            &[
                "exec",
                "-d",
                ctr,
                "/swap",
                &format!("{b}/dir"),
                &format!("{b}/link"),
            ],
        )
        .success();
    }
    let out = d.dir.join("out");
    fs::create_dir_all(&out).expect("out dir");
    let payload = d.dir.join("payload");
    fs::write(&payload, "from the host\n").expect("payload");
    let (mut outs, mut ins) = (0, 0);
    for i in 0..500 {
        let base = if i % 2 == 0 { "/w" } else { "/vol" };
        // Out: the file through the racing directory.
        let dst = out.join(format!("f{i}"));
        let o = d
            .docker(["cp", &format!("{ctr}:{base}/dir/f"), &dst.to_string_lossy()])
            .run();
        if o.code == 0 {
            outs += 1;
            let got = fs::read_to_string(&dst).unwrap_or_default();
            assert_ne!(
                got, "host secret\n",
                "copy {i} out of {base} read the host file"
            );
        }
        // In: a file into the racing directory.
        let o = d
            .docker([
                "cp",
                &payload.to_string_lossy(),
                &format!("{ctr}:{base}/dir/p{i}"),
            ])
            .run();
        if o.code == 0 {
            ins += 1;
        }
    }
    // The host directory: untouched, whatever the race did.
    let mut names: Vec<String> = fs::read_dir(&probe)
        .expect("read probe")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec!["secret".to_string()],
        "cp wrote into the host directory"
    );
    assert_eq!(
        fs::read_to_string(probe.join("secret")).expect("secret"),
        "host secret\n"
    );
    assert_eq!(
        fs::metadata(&probe).expect("probe").permissions().mode() & 0o7777,
        0o700
    );
    // The race was real: copies went through both ways (a lookup that met the link fails).
    assert!(
        outs > 50 && ins > 50,
        "too few copies succeeded: {outs} out, {ins} in"
    );
    d.run(Client::Docker, &["rm", "-f", ctr]).success();
}
