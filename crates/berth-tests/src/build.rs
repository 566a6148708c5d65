//! Helpers for build tests: a context directory, and a `build` through either CLI with the
//! docker CLI's legacy builder (the classic `POST /build`).

use crate::{Client, Cmd, TestDaemon};
use std::path::{Path, PathBuf};

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
