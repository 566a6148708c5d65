//! Helpers for build tests: a context directory, a `build` through either CLI with the
//! docker CLI's legacy builder (the classic `POST /build`), and the node/python base-image
//! fixtures the seed tests load.

use crate::{workspace_root, Client, Cmd, TestDaemon};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Writes a context directory `d.dir/<sub>` with `files` (path, content), fresh each time.
pub fn build_context(d: &TestDaemon, sub: &str, files: &[(&str, &str)]) -> PathBuf {
    let dir = d.dir.join(sub);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("mkdir context");
    for (p, content) in files {
        let f = dir.join(p);
        std::fs::create_dir_all(f.parent().expect("parent")).expect("mkdir");
        std::fs::write(&f, content).expect("write");
    }
    dir
}

/// `build ARGS DIR` through `c`, with `DOCKER_BUILDKIT=0` (the classic builder).
pub fn classic_build(d: &TestDaemon, c: Client, dir: &Path, args: &[&str]) -> Cmd {
    let mut all = vec!["build"];
    all.extend_from_slice(args);
    let ctx = dir.to_string_lossy().into_owned();
    all.push(&ctx);
    d.cli(c, all).env("DOCKER_BUILDKIT", "0")
}

/// The node/python base-image fixture directory (`BERTH_BASE_IMAGES`, else made once by
/// scripts/make-base-images.sh).
pub fn base_images() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        if let Some(p) = std::env::var_os("BERTH_BASE_IMAGES") {
            return PathBuf::from(p);
        }
        let script = workspace_root().join("scripts/make-base-images.sh");
        let o = Command::new("bash")
            .arg(&script)
            .output()
            .unwrap_or_else(|e| panic!("running {}: {e}", script.display()));
        assert!(
            o.status.success(),
            "{} failed: {}",
            script.display(),
            String::from_utf8_lossy(&o.stderr)
        );
        PathBuf::from(String::from_utf8_lossy(&o.stdout).trim())
    })
    .clone()
}

/// Loads base-image fixture `file` into `d` and tags it with the other names the seeds use.
pub fn load_base_image(d: &TestDaemon, file: &str, aliases: &[&str]) {
    let tar = base_images().join(file);
    let o = d.berth(["load", "-i"]).arg(&tar).run();
    o.success();
    let loaded = o
        .stdout
        .lines()
        .find_map(|l| l.strip_prefix("Loaded image: "))
        .map(str::to_string)
        .unwrap_or_else(|| panic!("no image loaded from {}: {}", tar.display(), o.out()));
    for a in aliases {
        d.berth(["tag", loaded.as_str(), a]).run().success();
    }
}
