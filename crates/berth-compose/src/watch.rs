//! `berth compose watch` and `up --watch`: the services' `develop.watch` rules. A file
//! watcher (notify: inotify) reports changes under each rule's `path`; changes are batched
//! until the tree is quiet for a moment, filtered as compose filters them (the build
//! context's `.dockerignore`, compose's list of editor temporary files, the rule's `ignore`
//! patterns relative to `path`, and `include`), then the rule's action runs on the
//! service's running containers: `sync` copies the changed files to `target` (a tar through
//! the archive endpoint with `copyUIDGID`, so they keep their owner as compose's do;
//! deleted files are removed with `rm -rf` in the container), `sync+restart` then restarts
//! them, `sync+exec` then runs the rule's `exec` command in them, `restart` restarts them,
//! `rebuild` rebuilds the image and recreates the service. `initial_sync` copies the whole
//! path once when watching starts.
//!
//! Changes are batched until quiet for `QUIET` (400 ms); `rebuild` runs `up -d --build
//! --no-deps SERVICE` and removes the replaced image (`--prune`); `initial_sync` copies the
//! files modified after the service's image was created (compose's rule). Attached `up
//! --watch` streams the logs in a thread (its state loop re-reads the containers, which a
//! rebuild replaces). Test `compose_watch` runs docker compose watch and berth's on the
//! same project and compares what the containers hold.
//! The progress lines ("Watch enabled", "Syncing service ...") go to stdout, where compose
//! 2.40's watch logger writes them, through `say`: bare for `watch`, among the logs with
//! compose's `⦿` prefix for an attached `up --watch` (`logs::watch_line`).

use crate::api::{Api, ProjectContainer};
use crate::model::{Project, Watch};
use crate::runtime::{OpError, OpResult};
use berth_build::ignore::Matcher;
use notify::{RecursiveMode, Watcher};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long the tree must stay quiet before a batch of changes is applied.
const QUIET: Duration = Duration::from_millis(400);

/// One `develop.watch` rule of one service.
pub struct Rule {
    pub service: String,
    pub watch: Watch,
    ignore: Matcher,
    include: Option<Matcher>,
    /// The service's build context and its `.dockerignore` (compose applies it to every
    /// rule of the service).
    context_ignore: Option<(PathBuf, Matcher)>,
}

/// compose's `EphemeralPathMatcher`: editor and tool temporary files (GoLand, Emacs, Vim,
/// Kate, Go's umask probes), matched on any path component (a match on a directory covers
/// what is under it).
fn ephemeral(rel: &str) -> bool {
    let parts: Vec<&str> = rel.split('/').collect();
    let n = parts.len();
    parts.iter().enumerate().any(|(i, base)| {
        let dotted = |suffix: &str| {
            base.starts_with('.') && base.ends_with(suffix) && base.len() > suffix.len()
        };
        (*base == ".idea" && i + 1 < n)
            || base.ends_with("___jb_old___")
            || base.ends_with("___jb_tmp___")
            || base.starts_with(".#")
            || (base.len() >= 2 && base.starts_with('#') && base.ends_with('#'))
            || *base == "4913"
            || base.ends_with('~')
            || dotted(".swp")
            || dotted(".swx")
            || dotted(".swo")
            || dotted(".swn")
            || dotted(".kate-swp")
            || base.ends_with("-go-tmp-umask")
    })
}

/// compose's `LoadDockerIgnore`: `<dockerfile>.dockerignore` next to the context's
/// Dockerfile, else the context's `.dockerignore`.
fn context_ignore(context: &str, dockerfile: &str) -> Option<(PathBuf, Matcher)> {
    let ctx = PathBuf::from(context);
    if !ctx.is_dir() {
        return None;
    }
    let df = if dockerfile.is_empty() {
        "Dockerfile"
    } else {
        dockerfile
    };
    let specific = ctx.join(format!("{df}.dockerignore"));
    let text = std::fs::read_to_string(&specific)
        .or_else(|_| std::fs::read_to_string(ctx.join(".dockerignore")))
        .ok()?;
    Some((ctx, Matcher::parse(&text)))
}

impl Rule {
    fn new(service: &str, w: &Watch) -> Rule {
        Rule {
            service: service.to_string(),
            watch: w.clone(),
            ignore: Matcher::parse(&w.ignore.join("\n")),
            include: (!w.include.is_empty()).then(|| Matcher::parse(&w.include.join("\n"))),
            context_ignore: None,
        }
    }

    /// Whether the build context's `.dockerignore` leaves out the host path `p`.
    fn context_ignored(&self, p: &Path) -> bool {
        self.context_ignore.as_ref().is_some_and(|(ctx, m)| {
            p.strip_prefix(ctx)
                .ok()
                .map(|r| r.to_string_lossy().into_owned())
                .is_some_and(|r| !r.is_empty() && m.excluded(&r))
        })
    }

    /// The path relative to the rule's `path` when the rule cares about it.
    fn relevant(&self, p: &Path) -> Option<String> {
        let root = Path::new(&self.watch.path);
        let rel = p.strip_prefix(root).ok()?.to_string_lossy().into_owned();
        if rel.is_empty() {
            return Some(rel);
        }
        if ephemeral(&rel) || self.ignore.excluded(&rel) || self.context_ignored(p) {
            return None;
        }
        if let Some(inc) = &self.include {
            if !inc.excluded(&rel) {
                return None;
            }
        }
        Some(rel)
    }

    /// Where `rel` lands in the container.
    fn container_path(&self, rel: &str) -> String {
        let t = self.watch.target.trim_end_matches('/');
        if rel.is_empty() {
            t.to_string()
        } else {
            format!("{t}/{rel}")
        }
    }
}

/// The watch rules of `services` (compose refuses to watch when none has any).
pub fn rules(p: &Project, services: &BTreeSet<String>) -> OpResult<Vec<Rule>> {
    let mut out = Vec::new();
    for name in services {
        let Some(s) = p.services.get(name) else {
            continue;
        };
        let Some(d) = &s.develop else { continue };
        for w in &d.watch {
            if w.action.starts_with("sync") && w.target.is_empty() {
                return Err(OpError(format!(
                    "services.{name}.develop.watch: target is required for non-rebuild actions"
                )));
            }
            if w.action == "rebuild" && s.build.is_none() {
                return Err(OpError(format!(
                    "service {name:?} uses a rebuild watch action but has no build section"
                )));
            }
            let mut r = Rule::new(name, w);
            r.context_ignore = s
                .build
                .as_ref()
                .and_then(|b| context_ignore(&b.context, &b.dockerfile));
            out.push(r);
        }
    }
    if out.is_empty() {
        return Err(OpError(
            "none of the selected services is configured for watch, consider setting a 'develop' section".into(),
        ));
    }
    Ok(out)
}

/// The tar of `rel` (a file, or a directory and what it holds that the rule keeps),
/// named by its container path.
fn add_to_tar(
    b: &mut tar::Builder<Vec<u8>>,
    rule: &Rule,
    host: &Path,
    rel: &str,
) -> std::io::Result<()> {
    let name = rule.container_path(rel);
    let name = name.trim_start_matches('/');
    let meta = std::fs::symlink_metadata(host)?;
    if meta.is_dir() {
        if !name.is_empty() {
            b.append_dir(name, host)?;
        }
        let mut entries: Vec<_> = std::fs::read_dir(host)?.flatten().collect();
        entries.sort_by_key(|e| e.file_name());
        for e in entries {
            let child_rel = if rel.is_empty() {
                e.file_name().to_string_lossy().into_owned()
            } else {
                format!("{rel}/{}", e.file_name().to_string_lossy())
            };
            if ephemeral(&child_rel)
                || rule.ignore.excluded(&child_rel)
                || rule.context_ignored(&e.path())
            {
                continue;
            }
            add_to_tar(b, rule, &e.path(), &child_rel)?;
        }
        Ok(())
    } else {
        b.append_path_with_name(host, name)
    }
}

fn containers(api: &Api, p: &Project, service: &str) -> OpResult<Vec<String>> {
    Ok(api
        .project_containers(&p.name, false, false)?
        .into_iter()
        .filter(|c| c.service() == service && c.running())
        .map(|c| c.id)
        .collect())
}

/// Copies the changed paths of `rule` into the service's containers (and removes the
/// deleted ones there).
fn sync(api: &Api, p: &Project, rule: &Rule, changed: &BTreeSet<String>) -> OpResult<()> {
    let root = Path::new(&rule.watch.path);
    let mut b = tar::Builder::new(Vec::new());
    b.follow_symlinks(false);
    let mut gone = Vec::new();
    let mut added = 0;
    for rel in changed {
        let host = if rel.is_empty() {
            root.to_path_buf()
        } else {
            root.join(rel)
        };
        if std::fs::symlink_metadata(&host).is_ok() {
            add_to_tar(&mut b, rule, &host, rel)
                .map_err(|e| OpError(format!("{}: {e}", host.display())))?;
            added += 1;
        } else {
            gone.push(rule.container_path(rel));
        }
    }
    let archive = b
        .into_inner()
        .map_err(|e| OpError(format!("sync archive: {e}")))?;
    for id in containers(api, p, &rule.service)? {
        if added > 0 {
            api.put_archive(&id, "/", true, &archive)?;
        }
        if !gone.is_empty() {
            let mut cmd = vec!["rm".to_string(), "-rf".into(), "--".into()];
            cmd.extend(gone.iter().cloned());
            api.exec_wait(&id, &cmd, &crate::api::ExecOpts::default())?;
        }
    }
    Ok(())
}

/// Runs the rule's action for one batch of changes. `rebuild` rebuilds and recreates the
/// services named.
fn apply(
    api: &Api,
    p: &Project,
    rule: &Rule,
    changed: &BTreeSet<String>,
    rebuild: &mut dyn FnMut(&[String]) -> OpResult<()>,
    say: &dyn Fn(&str),
) -> OpResult<()> {
    let svc = &rule.service;
    match rule.watch.action.as_str() {
        "rebuild" => {
            say(&format!(
                "Rebuilding service(s) [{svc:?}] after changes were detected..."
            ));
            rebuild(std::slice::from_ref(svc))?;
            say(&format!("service(s) [{svc:?}] successfully built"));
        }
        "restart" => {
            for id in containers(api, p, svc)? {
                api.restart(&id, None)?;
            }
            say(&format!("service(s) [{svc:?}] restarted"));
        }
        action => {
            say(&format!(
                "Syncing service {svc:?} after {} changes were detected",
                changed.len()
            ));
            sync(api, p, rule, changed)?;
            if action == "sync+restart" {
                for id in containers(api, p, svc)? {
                    api.restart(&id, None)?;
                }
                say(&format!("service(s) [{svc:?}] restarted"));
            }
            if action == "sync+exec" {
                if let Some(h) = &rule.watch.exec {
                    let o = crate::api::ExecOpts {
                        user: h.user.clone(),
                        privileged: h.privileged,
                        working_dir: h.working_dir.clone(),
                        env: h
                            .environment
                            .iter()
                            .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
                            .collect(),
                    };
                    for id in containers(api, p, svc)? {
                        api.exec_wait(&id, &h.command, &o)?;
                    }
                }
            }
        }
    }
    Ok(())
}

/// When the image of the service's first container was created (compose's
/// `imageCreatedTime`).
fn image_created(api: &Api, p: &Project, service: &str) -> OpResult<std::time::SystemTime> {
    let c = api
        .project_containers(&p.name, true, false)?
        .into_iter()
        .find(|c| c.service() == service)
        .ok_or_else(|| OpError("Could not get created time for service's image".into()))?;
    let img = api
        .image(&c.image_id)?
        .ok_or_else(|| OpError(format!("No such image: {}", c.image_id)))?;
    let t = chrono::DateTime::parse_from_rfc3339(&img.created)
        .map_err(|e| OpError(format!("image created time {:?}: {e}", img.created)))?;
    Ok(std::time::SystemTime::from(t))
}

/// `initial_sync`: the files under the rule's path (not ignored) modified after the
/// service's image was created, as compose's `initialSyncFiles` picks them.
fn initial_files(api: &Api, p: &Project, rule: &Rule) -> OpResult<BTreeSet<String>> {
    let since = image_created(api, p, &rule.service)?;
    let root = PathBuf::from(&rule.watch.path);
    let mut out = BTreeSet::new();
    let newer = |path: &Path| {
        std::fs::symlink_metadata(path)
            .and_then(|m| m.modified())
            .is_ok_and(|t| t > since)
    };
    if root.is_file() {
        if newer(&root) {
            out.insert(String::new());
        }
        return Ok(out);
    }
    let mut stack = vec![root.clone()];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for e in entries.flatten() {
            let path = e.path();
            let Some(rel) = rule.relevant(&path) else {
                continue;
            };
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(path);
            } else if newer(&path) {
                out.insert(rel);
            }
        }
    }
    Ok(out)
}

/// Watches until `keep` says to stop (or the watcher fails); `say` prints a progress line.
pub fn run(
    api: &Api,
    p: &Project,
    rules: &[Rule],
    rebuild: &mut dyn FnMut(&[String]) -> OpResult<()>,
    keep: &dyn Fn() -> bool,
    say: &dyn Fn(&str),
) -> OpResult<()> {
    let (tx, rx) = mpsc::channel();
    let mut watcher =
        notify::recommended_watcher(tx).map_err(|e| OpError(format!("file watcher: {e}")))?;
    let mut watched: BTreeSet<PathBuf> = BTreeSet::new();
    for r in rules {
        let path = PathBuf::from(&r.watch.path);
        if !path.exists() {
            return Err(OpError(format!(
                "{}: no such file or directory (develop.watch path of service {:?})",
                path.display(),
                r.service
            )));
        }
        if watched.insert(path.clone()) {
            watcher
                .watch(&path, RecursiveMode::Recursive)
                .map_err(|e| OpError(format!("watching {}: {e}", path.display())))?;
        }
    }
    for r in rules {
        if r.watch.initial_sync && r.watch.action.starts_with("sync") {
            let newer = initial_files(api, p, r)?;
            if !newer.is_empty() {
                sync(api, p, r, &newer)?;
            }
        }
    }
    say("Watch enabled");
    let mut pending: BTreeMap<usize, BTreeSet<String>> = BTreeMap::new();
    let mut last = Instant::now();
    while keep() {
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(Ok(ev)) => {
                if matches!(ev.kind, notify::EventKind::Access(_)) {
                    continue;
                }
                for path in &ev.paths {
                    for (i, r) in rules.iter().enumerate() {
                        if let Some(rel) = r.relevant(path) {
                            pending.entry(i).or_default().insert(rel);
                            last = Instant::now();
                        }
                    }
                }
            }
            Ok(Err(e)) => tracing::warn!("file watcher: {e}"),
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
        if pending.is_empty() || last.elapsed() < QUIET {
            continue;
        }
        // One rebuild per service per batch, whatever the number of rules that fired.
        let mut rebuilt = BTreeSet::new();
        for (i, changed) in std::mem::take(&mut pending) {
            let r = &rules[i];
            if r.watch.action == "rebuild" && !rebuilt.insert(r.service.clone()) {
                continue;
            }
            if let Err(e) = apply(api, p, r, &changed, rebuild, say) {
                eprintln!("{}", crate::cli::warn_line(&e.0));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rule(ignore: &[&str], include: &[&str]) -> Rule {
        Rule::new(
            "web",
            &Watch {
                path: "/src".into(),
                action: "sync".into(),
                target: "/app/".into(),
                ignore: ignore.iter().map(|s| s.to_string()).collect(),
                include: include.iter().map(|s| s.to_string()).collect(),
                ..Default::default()
            },
        )
    }

    #[test]
    fn ignore_include_and_editor_files() {
        let r = rule(&["node_modules", "*.log"], &[]);
        assert_eq!(r.relevant(Path::new("/src/a.js")), Some("a.js".into()));
        assert_eq!(r.relevant(Path::new("/src/node_modules/x/y.js")), None);
        assert_eq!(r.relevant(Path::new("/src/debug.log")), None);
        assert_eq!(r.relevant(Path::new("/src/.a.js.swp")), None);
        assert_eq!(r.relevant(Path::new("/src/d/#a.js#")), None);
        assert_eq!(r.relevant(Path::new("/src/.idea/w.xml")), None);
        assert_eq!(r.relevant(Path::new("/src/x-go-tmp-umask")), None);
        // compose's `.git/` pattern is rooted at `/`: a project's .git is watched.
        assert_eq!(
            r.relevant(Path::new("/src/.git/index")),
            Some(".git/index".into())
        );
        assert_eq!(r.relevant(Path::new("/src/.swp")), Some(".swp".into()));
        assert_eq!(r.relevant(Path::new("/elsewhere/a.js")), None);
        assert_eq!(r.container_path("d/a.js"), "/app/d/a.js");
        let only = rule(&[], &["*.txt"]);
        assert_eq!(only.relevant(Path::new("/src/a.txt")), Some("a.txt".into()));
        assert_eq!(only.relevant(Path::new("/src/a.js")), None);
    }
}
