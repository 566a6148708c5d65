//! Where the daemon's binary is. The CLI (`berth`) and the daemon (`berthd`) are two
//! binaries, as `docker` and `dockerd` are: every CLI call then maps only the client's code,
//! a third of the daemon's size, which is most of a short command's own cost. `berth daemon`
//! and the CLI's autostart run `berthd` from beside the `berth` being run, else from PATH.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

/// The daemon binary's file name.
pub const DAEMON_BINARY: &str = "berthd";

/// `berthd` beside `exe` (the running `berth`, symlinks resolved), else the first on `path`.
pub fn locate(exe: Option<&Path>, path: Option<&OsStr>) -> Result<PathBuf, String> {
    let beside = exe.and_then(Path::parent).map(|d| d.join(DAEMON_BINARY));
    if let Some(p) = beside.as_ref().filter(|p| is_executable(p)) {
        return Ok(p.clone());
    }
    if let Some(found) = path
        .into_iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join(DAEMON_BINARY))
        .find(|p| is_executable(p))
    {
        return Ok(found);
    }
    Err(match beside {
        Some(b) => format!(
            "the daemon binary {DAEMON_BINARY} is neither at {} nor on PATH",
            b.display()
        ),
        None => format!("the daemon binary {DAEMON_BINARY} is not on PATH"),
    })
}

/// [`locate`] for this process.
pub fn daemon_binary() -> Result<PathBuf, String> {
    let exe = std::env::current_exe().ok();
    locate(exe.as_deref(), std::env::var_os("PATH").as_deref())
}

/// `berth daemon ARGS`: replaces this process with `berthd ARGS` (same PID, so whoever
/// started `berth daemon` supervises the daemon itself). Returns only on failure.
pub fn exec_daemon(args: &[OsString]) -> i32 {
    use std::os::unix::process::CommandExt;
    let bin = match daemon_binary() {
        Ok(b) => b,
        Err(e) => {
            eprintln!("berth daemon: {e}");
            return 127;
        }
    };
    let err = std::process::Command::new(&bin).args(args).exec();
    eprintln!("berth daemon: cannot run {}: {err}", bin.display());
    126
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn exe_file(p: &Path) {
        std::fs::write(p, "#!/bin/sh\n").unwrap();
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    #[test]
    fn beside_the_cli_first_then_path() {
        let t = tempfile::tempdir().unwrap();
        let (bin, other) = (t.path().join("bin"), t.path().join("other"));
        std::fs::create_dir_all(&bin).unwrap();
        std::fs::create_dir_all(&other).unwrap();
        exe_file(&other.join("berthd"));
        let cli = bin.join("berth");
        let path = std::env::join_paths([&other]).unwrap();
        assert_eq!(
            locate(Some(&cli), Some(&path)).unwrap(),
            other.join("berthd")
        );
        exe_file(&bin.join("berthd"));
        assert_eq!(locate(Some(&cli), Some(&path)).unwrap(), bin.join("berthd"));
    }

    #[test]
    fn missing_or_not_executable_names_where_it_looked() {
        let t = tempfile::tempdir().unwrap();
        std::fs::write(t.path().join("berthd"), "").unwrap();
        let cli = t.path().join("berth");
        let e = locate(Some(&cli), None).unwrap_err();
        assert!(
            e.contains("berthd") && e.contains(&t.path().display().to_string()),
            "{e}"
        );
        let e = locate(None, Some(OsStr::new(""))).unwrap_err();
        assert!(e.contains("not on PATH"), "{e}");
    }
}
