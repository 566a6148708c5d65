//! `cp`, `export`, `diff` and `commit`: a container's files. `cp` follows the docker CLI
//! (cli/command/container/cp.go and moby's pkg/archive copy rules): the daemon stats and
//! tars the container side; the CLI decides where the archive lands and renames its top
//! entry so `cp a b` means what it means for `cp -a`.

use std::fs::{self, File};
use std::io::{self, IsTerminal, Read, Write};
use std::os::unix::fs::PermissionsExt;
use std::path::{Component, Path, PathBuf};

use berth_api::pathstat::{PathStat, HEADER, MODE_DEVICE, MODE_NAMED_PIPE, MODE_SOCKET};
use berth_api::tarfs::{go_base, go_clean, split_path_dir_entry, Markers, TarWriter};
use clap::{CommandFactory, Parser};

use super::images::split_tag;
use super::{parse, Invocation};
use crate::catalog::Command;
use crate::client::{q, query, Body, Client};
use crate::{CmdResult, Ctx, Failure};

fn fail(msg: impl Into<String>) -> Failure {
    Failure::new(msg, 1)
}

/// Go's text for an errno ("no such file or directory").
fn go_errno(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => {
            let s = nix::errno::Errno::from_raw(n).desc().to_string();
            let mut c = s.chars();
            match c.next() {
                Some(f) => f.to_lowercase().chain(c).collect(),
                None => s,
            }
        }
        None => e.to_string(),
    }
}

/// Go's `*PathError` text: "lstat /x: no such file or directory".
fn path_err(op: &str, p: &Path, e: &io::Error) -> String {
    format!("{op} {}: {}", p.display(), go_errno(e))
}

fn specifies_current_dir(p: &str) -> bool {
    go_base(p) == "."
}

fn has_trailing_sep(p: &str) -> bool {
    p.ends_with('/')
}

/// moby's PreserveTrailingDotOrSeparator.
fn preserve_trailing(cleaned: String, original: &str) -> String {
    let mut c = cleaned;
    if specifies_current_dir(original) && !specifies_current_dir(&c) {
        if !c.ends_with('/') {
            c.push('/');
        }
        c.push('.');
    } else if has_trailing_sep(original) && !has_trailing_sep(&c) {
        c.push('/');
    }
    c
}

/// The CLI's resolveLocalPath: absolute, trailing `/` or `/.` kept.
fn resolve_local_path(p: &str) -> Result<String, Failure> {
    let abs = if p.starts_with('/') {
        p.to_string()
    } else {
        let cwd = std::env::current_dir().map_err(|e| fail(e.to_string()))?;
        format!("{}/{p}", cwd.display())
    };
    Ok(preserve_trailing(go_clean(&abs), p))
}

/// docker's splitCpArg.
fn split_cp_arg(arg: &str) -> (String, String) {
    if arg.starts_with('/') {
        return (String::new(), arg.to_string());
    }
    match arg.split_once(':') {
        Some((c, p)) if !c.starts_with('.') => (c.to_string(), p.to_string()),
        _ => (String::new(), arg.to_string()),
    }
}

/// moby's GetRebaseName.
fn get_rebase_name(path: &str, resolved: &str) -> (String, String) {
    let mut r = resolved.to_string();
    if specifies_current_dir(path) && !specifies_current_dir(&r) {
        r.push_str("/.");
    }
    if has_trailing_sep(path) && !has_trailing_sep(&r) {
        r.push('/');
    }
    let rebase = if go_base(path) != go_base(&r) {
        go_base(path)
    } else {
        String::new()
    };
    (r, rebase)
}

fn join_parent(path: &str, target: &str) -> String {
    if target.starts_with('/') {
        return target.to_string();
    }
    let (parent, _) = split_path_dir_entry(path);
    go_clean(&format!("{parent}/{target}"))
}

#[derive(Debug, Clone, Default)]
struct CopyInfo {
    path: String,
    exists: bool,
    is_dir: bool,
}

/// moby's PrepareArchiveCopy, reduced to its decision: the directory to extract into and
/// the name the archive's top entry must get (None: keep the archive's names).
fn prepare_copy(src: &CopyInfo, dst: &CopyInfo) -> Result<(String, Option<String>), Failure> {
    let (dst_dir, dst_base) = split_path_dir_entry(&dst.path);
    if dst.exists && dst.is_dir {
        return Ok((dst.path.clone(), None));
    }
    if dst.exists && src.is_dir {
        return Err(fail("cannot copy directory"));
    }
    if !dst.exists && !src.is_dir && (dst.path.ends_with('/') || specifies_current_dir(&dst.path)) {
        return Err(fail("no such directory"));
    }
    Ok((dst_dir, Some(dst_base)))
}

#[derive(Parser)]
struct CpCmd {
    #[arg(
        short = 'a',
        long,
        help = "Archive mode (copy all uid/gid information)"
    )]
    archive: bool,
    #[arg(
        short = 'L',
        long = "follow-link",
        help = "Always follow symbol link in SRC_PATH"
    )]
    follow_link: bool,
    #[arg(
        short = 'q',
        long,
        help = "Suppress progress output during copy. Progress output is automatically suppressed if no terminal is attached"
    )]
    quiet: bool,
    args: Vec<String>,
}

pub fn cmd_cp(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: CpCmd = parse(inv, args)?;
    inv.exactly(&o.args, 2)?;
    let (src_c, src_p) = split_cp_arg(&o.args[0]);
    let (dst_c, dst_p) = split_cp_arg(&o.args[1]);
    match (src_c.is_empty(), dst_c.is_empty()) {
        (false, false) => return Err(fail("copying between containers is not supported")),
        (true, true) => return Err(fail("must specify at least one container source")),
        _ => {}
    }
    if src_p.is_empty() || dst_p.is_empty() {
        return Err(fail("filepath cannot be empty"));
    }
    let client = ctx.client()?;
    if !src_c.is_empty() {
        copy_from_container(client, &src_c, &src_p, &dst_p, o.follow_link)?;
    } else {
        copy_to_container(client, &src_p, &dst_c, &dst_p, o.follow_link, o.archive)?;
    }
    Ok(0)
}

fn archive_path(container: &str, path: &str) -> String {
    format!(
        "/containers/{}/archive{}",
        q(container),
        query(&[format!("path={}", q(path))])
    )
}

/// The container path's stat; None when it cannot be had (the copy may still work, as
/// the docker CLI assumes), an error only when the container itself does not exist.
fn stat_path(client: &Client, container: &str, path: &str) -> Result<Option<PathStat>, Failure> {
    match client.call("HEAD", &archive_path(container, path), Body::None) {
        Ok(resp) => Ok(resp.header(HEADER).and_then(PathStat::decode)),
        Err(_) => {
            // HEAD answers carry no message: ask for the container to tell a missing one.
            client.get_json(&format!("/containers/{}/json", q(container)))?;
            Ok(None)
        }
    }
}

/// The CLI's ValidateOutputPath for `cp`.
fn validate_output_path(p: &str) -> Result<(), Failure> {
    let clean = go_clean(p);
    let (dir, _) = split_path_dir_entry(&clean);
    if !dir.is_empty() && dir != "." && fs::metadata(&dir).is_err() {
        return Err(fail(format!(
            "invalid output path: directory {dir:?} does not exist"
        )));
    }
    if let Ok(md) = fs::metadata(p) {
        if !(md.is_dir() || md.is_file()) {
            return Err(fail(format!(
                "invalid output path: {p:?} must be a directory or a regular file"
            )));
        }
    }
    Ok(())
}

/// moby's CopyInfoDestinationPath.
fn destination_info(path: &str) -> Result<CopyInfo, Failure> {
    let mut path = path.to_string();
    let mut md = fs::symlink_metadata(&path);
    if let Ok(m) = &md {
        if !m.file_type().is_symlink() {
            return Ok(CopyInfo {
                exists: true,
                is_dir: m.is_dir(),
                path,
            });
        }
    }
    let mut n = 0;
    while let Ok(m) = &md {
        if !m.file_type().is_symlink() {
            break;
        }
        n += 1;
        if n > 10 {
            return Err(fail(format!("too many symlinks in {path}")));
        }
        let target =
            fs::read_link(&path).map_err(|e| fail(path_err("readlink", Path::new(&path), &e)))?;
        path = join_parent(&path, &target.to_string_lossy());
        md = fs::symlink_metadata(&path);
    }
    match md {
        Ok(m) => Ok(CopyInfo {
            path,
            exists: true,
            is_dir: m.is_dir(),
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let (parent, _) = split_path_dir_entry(&path);
            match fs::metadata(&parent) {
                Ok(m) if m.is_dir() => Ok(CopyInfo {
                    path,
                    ..Default::default()
                }),
                Ok(_) => Err(fail("not a directory")),
                Err(e) => Err(fail(path_err("stat", Path::new(&parent), &e))),
            }
        }
        Err(e) => Err(fail(path_err("lstat", Path::new(&path), &e))),
    }
}

fn copy_from_container(
    client: &Client,
    container: &str,
    src: &str,
    dst: &str,
    follow: bool,
) -> Result<(), Failure> {
    let dst_path = if dst == "-" {
        dst.to_string()
    } else {
        resolve_local_path(dst)?
    };
    if dst_path != "-" {
        validate_output_path(&dst_path)?;
    }
    let mut src_path = src.to_string();
    let mut rebase_name = String::new();
    if follow {
        if let Some(st) = stat_path(client, container, &src_path)? {
            if st.is_symlink() {
                let target = join_parent(&src_path, &st.link_target);
                let (t, r) = get_rebase_name(&src_path, &target);
                src_path = t;
                rebase_name = r;
            }
        }
    }
    let resp = client.call("GET", &archive_path(container, &src_path), Body::None)?;
    let stat = resp
        .header(HEADER)
        .and_then(PathStat::decode)
        .ok_or_else(|| fail("unable to get resource stat from response"))?;
    let mut body = resp.body;
    if dst_path == "-" {
        io::copy(&mut body, &mut io::stdout().lock()).map_err(|e| fail(e.to_string()))?;
        return Ok(());
    }
    let src_info = CopyInfo {
        path: src_path.clone(),
        exists: true,
        is_dir: stat.is_dir(),
    };
    // The archive's top entry is named after the source's base; a followed link renames
    // it to the link's name, and the destination may rename it again.
    let (_, top) = split_path_dir_entry(&src_path);
    let dst_info = destination_info(&dst_path)?;
    let (dst_dir, new_top) = prepare_copy(&src_info, &dst_info)?;
    let rebase = match (new_top, rebase_name.is_empty()) {
        (Some(n), _) => Some((top, n)),
        (None, false) => Some((top, rebase_name)),
        (None, true) => None,
    };
    untar(&mut body, Path::new(&dst_dir), rebase.as_ref())
}

fn copy_to_container(
    client: &Client,
    src: &str,
    container: &str,
    dst: &str,
    follow: bool,
    copy_uid_gid: bool,
) -> Result<(), Failure> {
    let src_path = if src == "-" {
        src.to_string()
    } else {
        resolve_local_path(src)?
    };
    let mut dst_info = CopyInfo {
        path: dst.to_string(),
        ..Default::default()
    };
    let mut dst_stat = stat_path(client, container, dst)?;
    if let Some(st) = dst_stat.clone().filter(|s| s.is_symlink()) {
        let target = join_parent(dst, &st.link_target);
        dst_info.path = target.clone();
        dst_stat = stat_path(client, container, &target)?;
    }
    if let Some(st) = &dst_stat {
        if st.mode & (MODE_DEVICE | MODE_NAMED_PIPE | MODE_SOCKET) != 0 {
            return Err(fail(format!(
                "destination \"{container}:{dst}\" must be a directory or a regular file"
            )));
        }
        dst_info.exists = true;
        dst_info.is_dir = st.is_dir();
    }
    let put = |dir: &str, r: &mut dyn Read| -> Result<(), Failure> {
        let mut qs = vec![
            format!("path={}", q(dir)),
            "noOverwriteDirNonDir=true".to_string(),
        ];
        if copy_uid_gid {
            qs.push("copyUIDGID=true".to_string());
        }
        let path = format!("/containers/{}/archive{}", q(container), query(&qs));
        client
            .call("PUT", &path, Body::Stream(r, "application/x-tar"))?
            .bytes()?;
        Ok(())
    };
    if src_path == "-" {
        if !dst_info.is_dir {
            return Err(fail(format!(
                "destination \"{container}:{dst}\" must be a directory"
            )));
        }
        let target = dst_info.path.clone();
        return put(&target, &mut io::stdin().lock());
    }
    // moby's CopyInfoSourcePath / ResolveHostSourcePath.
    let (resolved, rebase_name) = if follow {
        let r = fs::canonicalize(&src_path)
            .map_err(|e| fail(path_err("lstat", Path::new(&src_path), &e)))?;
        get_rebase_name(&src_path, &r.to_string_lossy())
    } else {
        let split = src_path.rfind('/').map_or(0, |i| i + 1);
        let (dir, base) = src_path.split_at(split);
        let rdir = fs::canonicalize(dir)
            .map_err(|e| fail(path_err("lstat", Path::new(dir.trim_end_matches('/')), &e)))?;
        let rdir = rdir.to_string_lossy();
        let resolved = format!("{}/{base}", rdir.trim_end_matches('/'));
        let rebase = if has_trailing_sep(&src_path) && go_base(&src_path) != go_base(&resolved) {
            go_base(&src_path)
        } else {
            String::new()
        };
        (resolved, rebase)
    };
    let md = fs::symlink_metadata(&resolved)
        .map_err(|e| fail(path_err("lstat", Path::new(&resolved), &e)))?;
    let src_info = CopyInfo {
        path: resolved.clone(),
        exists: true,
        is_dir: md.is_dir(),
    };
    let (_, base) = split_path_dir_entry(&resolved);
    let top = if rebase_name.is_empty() {
        base
    } else {
        rebase_name
    };
    let (dst_dir, new_top) = prepare_copy(&src_info, &dst_info)?;
    let name = new_top.unwrap_or(top);
    // The host path to archive: "src/." archives the directory itself under the name ".".
    let host = PathBuf::from(resolved.trim_end_matches("/."));
    let host = if host.as_os_str().is_empty() {
        PathBuf::from("/")
    } else {
        host
    };
    let (rfd, wfd) = nix::unistd::pipe().map_err(|e| fail(e.to_string()))?;
    let mut reader = File::from(rfd);
    let writer = File::from(wfd);
    let producer = std::thread::spawn(move || -> io::Result<()> {
        let mut tw = TarWriter::new(io::BufWriter::new(writer), Markers::Keep);
        tw.write_tree(&host, name.as_bytes())?;
        tw.finish()?.flush()
    });
    let res = put(&dst_dir, &mut reader);
    drop(reader);
    let produced = producer
        .join()
        .map_err(|_| fail("archive writer panicked"))?;
    res?;
    produced.map_err(|e| fail(e.to_string()))
}

/// Lexically cleans an archive name into components below the extraction dir.
fn clean_components(name: &str) -> Option<Vec<String>> {
    let mut out: Vec<String> = Vec::new();
    for c in Path::new(name).components() {
        match c {
            Component::Normal(p) => out.push(p.to_string_lossy().into_owned()),
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir => {
                out.pop()?;
            }
            Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// Refuses to write below a symlink: every existing ancestor must be a real directory.
fn check_parents(dest: &Path, comps: &[String]) -> Result<(), Failure> {
    let mut p = dest.to_path_buf();
    for c in comps.iter().take(comps.len().saturating_sub(1)) {
        p.push(c);
        match fs::symlink_metadata(&p) {
            Ok(m) if m.is_dir() => {}
            Ok(_) => {
                return Err(fail(format!(
                "error processing tar file: {} is not a directory (refusing to extract through it)",
                p.display()
            )))
            }
            Err(_) => {
                fs::create_dir_all(&p).map_err(|e| fail(path_err("mkdir", &p, &e)))?;
            }
        }
    }
    Ok(())
}

/// moby's RebaseArchiveEntries on one name; the root as old base means "no prefix".
fn rebase_name(name: &str, rebase: Option<&(String, String)>) -> String {
    match rebase {
        Some((old, new)) if old == "/" => format!("{new}/{name}"),
        Some((old, new)) => name.replacen(old.as_str(), new, 1),
        None => name.to_string(),
    }
}

/// moby's Untar with NoLchown and NoOverwriteDirNonDir, after RebaseArchiveEntries
/// (`strings.Replace(name, old, new, 1)`), never writing outside `dest`.
fn untar(r: &mut dyn Read, dest: &Path, rebase: Option<&(String, String)>) -> Result<(), Failure> {
    let mut ar = tar::Archive::new(r);
    let mut dirs: Vec<(PathBuf, u32, u64)> = Vec::new();
    let entries = ar
        .entries()
        .map_err(|e| fail(format!("error processing tar file: {e}")))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| fail(format!("error processing tar file: {e}")))?;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let name = rebase_name(&raw, rebase);
        let comps = clean_components(&name).ok_or_else(|| {
            fail(format!(
                "error processing tar file: {name:?} is outside of {:?}",
                dest.display().to_string()
            ))
        })?;
        let kind = entry.header().entry_type();
        let mode = entry.header().mode().unwrap_or(0o644) & 0o7777;
        let mtime = entry.header().mtime().unwrap_or(0);
        if comps.is_empty() {
            // "." itself: the destination directory stays as it is.
            continue;
        }
        check_parents(dest, &comps)?;
        let target = comps.iter().fold(dest.to_path_buf(), |p, c| p.join(c));
        if let Ok(m) = fs::symlink_metadata(&target) {
            let shown = target.display().to_string();
            let d = dest.display().to_string();
            if m.is_dir() && !kind.is_dir() {
                return Err(fail(format!(
                    "cannot overwrite directory {shown:?} with non-directory {d:?}"
                )));
            }
            if !m.is_dir() && kind.is_dir() {
                return Err(fail(format!(
                    "cannot overwrite non-directory {shown:?} with directory {d:?}"
                )));
            }
            if !(m.is_dir() && kind.is_dir()) {
                fs::remove_file(&target).map_err(|e| fail(path_err("remove", &target, &e)))?;
            }
        }
        match kind {
            tar::EntryType::Directory => {
                if !target.is_dir() {
                    fs::create_dir(&target).map_err(|e| fail(path_err("mkdir", &target, &e)))?;
                }
                dirs.push((target, mode, mtime));
            }
            tar::EntryType::Link => {
                let link = entry
                    .link_name_bytes()
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                let link = rebase_name(&link, rebase);
                let lc = clean_components(&link)
                    .filter(|c| !c.is_empty())
                    .ok_or_else(|| fail(format!("invalid hard link {name:?} -> {link:?}")))?;
                check_parents(dest, &lc)?;
                let src = lc.iter().fold(dest.to_path_buf(), |p, c| p.join(c));
                fs::hard_link(&src, &target).map_err(|e| fail(path_err("link", &src, &e)))?;
            }
            tar::EntryType::Symlink => {
                let link = entry
                    .link_name_bytes()
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
                // As moby: a relative target must stay inside the extraction dir.
                if !link.starts_with('/') {
                    let parent = &comps[..comps.len() - 1];
                    let joined = format!("{}/{link}", parent.join("/"));
                    if clean_components(&joined).is_none() {
                        return Err(fail(format!(
                            "error processing tar file: invalid symlink {:?} -> {link:?}",
                            target.display().to_string()
                        )));
                    }
                }
                std::os::unix::fs::symlink(&link, &target)
                    .map_err(|e| fail(path_err("symlink", &target, &e)))?;
            }
            tar::EntryType::Regular
            | tar::EntryType::Continuous
            | tar::EntryType::Fifo
            | tar::EntryType::Char
            | tar::EntryType::Block => {
                entry.set_preserve_permissions(true);
                entry.set_preserve_mtime(true);
                entry.set_unpack_xattrs(false);
                entry.unpack(&target).map_err(|e| {
                    let msg = e.to_string();
                    fail(
                        msg.replace(" (os error", "")
                            .trim_end_matches(')')
                            .to_string(),
                    )
                })?;
            }
            _ => {}
        }
    }
    for (d, mode, mtime) in dirs.iter().rev() {
        let _ = fs::set_permissions(d, fs::Permissions::from_mode(*mode));
        let t = nix::sys::time::TimeSpec::new(i64::try_from(*mtime).unwrap_or(0), 0);
        let _ = nix::sys::stat::utimensat(
            None,
            d,
            &t,
            &t,
            nix::sys::stat::UtimensatFlags::NoFollowSymlink,
        );
    }
    Ok(())
}

#[derive(Parser)]
struct ExportCmd {
    #[arg(
        short = 'o',
        long,
        help = "Write to a file, instead of STDOUT",
        value_name = "string"
    )]
    output: Option<String>,
    args: Vec<String>,
}

pub fn cmd_export(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: ExportCmd = parse(inv, args)?;
    inv.exactly(&o.args, 1)?;
    let fail_export = |m: String| fail(format!("failed to export container: {m}"));
    match &o.output {
        None if io::stdout().is_terminal() => {
            return Err(fail(
                "cowardly refusing to save to a terminal. Use the -o flag or redirect",
            ))
        }
        Some(p) => {
            let (dir, _) = split_path_dir_entry(&go_clean(p));
            if let Err(e) = fs::metadata(&dir) {
                return Err(fail_export(format!(
                    "invalid output path: {}",
                    path_err("stat", Path::new(&dir), &e)
                )));
            }
            if fs::metadata(p).is_ok_and(|m| m.is_dir()) {
                return Err(fail_export("cannot write to a directory".to_string()));
            }
        }
        None => {}
    }
    let resp = ctx.client()?.call(
        "GET",
        &format!("/containers/{}/export", q(&o.args[0])),
        Body::None,
    )?;
    let mut body = resp.body;
    match &o.output {
        Some(p) => {
            // Beside the target, then renamed: a failed export leaves no partial file.
            let (dir, base) = split_path_dir_entry(&go_clean(p));
            let tmp = Path::new(&dir).join(format!(".tmp-{base}{}", std::process::id()));
            let res = File::create(&tmp)
                .map_err(|e| path_err("open", &tmp, &e))
                .and_then(|mut f| {
                    io::copy(&mut body, &mut f)
                        .and_then(|_| f.sync_all())
                        .map_err(|e| e.to_string())
                })
                .and_then(|_| fs::rename(&tmp, p).map_err(|e| path_err("rename", &tmp, &e)));
            if res.is_err() {
                let _ = fs::remove_file(&tmp);
            }
            res.map_err(fail_export)?;
        }
        None => {
            io::copy(&mut body, &mut io::stdout().lock())
                .map_err(|e| fail_export(e.to_string()))?;
        }
    }
    Ok(0)
}

#[derive(Parser)]
struct DiffCmd {
    args: Vec<String>,
}

pub fn cmd_diff(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: DiffCmd = parse(inv, args)?;
    inv.exactly(&o.args, 1)?;
    let v = ctx
        .client()?
        .get_json(&format!("/containers/{}/changes", q(&o.args[0])))?;
    let mut out = String::new();
    for c in v.as_array().map(Vec::as_slice).unwrap_or_default() {
        let kind = match c.get("Kind").and_then(|k| k.as_i64()) {
            Some(0) => "C",
            Some(1) => "A",
            Some(2) => "D",
            _ => "?",
        };
        let path = c.get("Path").and_then(|p| p.as_str()).unwrap_or_default();
        out.push_str(&format!("{kind} {path}\n"));
    }
    io::stdout()
        .lock()
        .write_all(out.as_bytes())
        .map_err(|e| fail(e.to_string()))?;
    Ok(0)
}

#[derive(Parser)]
struct CommitCmd {
    #[arg(
        short = 'a',
        long,
        help = "Author (e.g., \"John Hannibal Smith <hannibal@a-team.com>\")",
        value_name = "string"
    )]
    author: Option<String>,
    #[arg(
        short = 'c',
        long,
        help = "Apply Dockerfile instruction to the created image",
        value_name = "list"
    )]
    change: Vec<String>,
    #[arg(short = 'm', long, help = "Commit message", value_name = "string")]
    message: Option<String>,
    #[arg(short = 'p', long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true, help = "Pause container during commit (default true)", value_name = "bool")]
    pause: bool,
    args: Vec<String>,
}

pub fn cmd_commit(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: CommitCmd = parse(inv, args)?;
    inv.range(&o.args, 1, 2)?;
    let mut qs = vec![format!("container={}", q(&o.args[0]))];
    if let Some(r) = o.args.get(1) {
        let (repo, tag) = split_tag(r);
        qs.push(format!("repo={}", q(&repo)));
        if !tag.is_empty() {
            qs.push(format!("tag={}", q(&tag)));
        }
    }
    if let Some(a) = &o.author {
        qs.push(format!("author={}", q(a)));
    }
    if let Some(m) = &o.message {
        qs.push(format!("comment={}", q(m)));
    }
    for c in &o.change {
        qs.push(format!("changes={}", q(c)));
    }
    qs.push(format!("pause={}", o.pause));
    let v = ctx
        .client()?
        .post_json(&format!("/commit{}", query(&qs)), Body::None)?;
    let id = v.get("Id").and_then(|i| i.as_str()).unwrap_or_default();
    println!("{id}");
    Ok(0)
}

/// The commands this module implements (see `catalog.rs`).
pub(crate) static COMMANDS: &[Command] = &[
    Command::new(
        "container cp",
        "[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-\n	berth cp [OPTIONS] SRC_PATH|- CONTAINER:DEST_PATH",
        "Copy files/folders between a container and the local filesystem",
        CpCmd::command,
        cmd_cp,
    )
    .aliases(&["cp"])
    .long("Copy files/folders between a container and the local filesystem\n\nUse '-' as the source to read a tar archive from stdin\nand extract it to a directory destination in a container.\nUse '-' as the destination to stream a tar archive of a\ncontainer source to stdout."),
    Command::new(
        "container export",
        "[OPTIONS] CONTAINER",
        "Export a container's filesystem as a tar archive",
        ExportCmd::command,
        cmd_export,
    )
    .aliases(&["export"]),
    Command::new(
        "container diff",
        "CONTAINER",
        "Inspect changes to files or directories on a container's filesystem",
        DiffCmd::command,
        cmd_diff,
    )
    .aliases(&["diff"]),
    Command::new(
        "container commit",
        "[OPTIONS] CONTAINER [REPOSITORY[:TAG]]",
        "Create a new image from a container's changes",
        CommitCmd::command,
        cmd_commit,
    )
    .aliases(&["commit"]),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cp_arguments_split_like_docker() {
        assert_eq!(split_cp_arg("c:/x"), ("c".into(), "/x".into()));
        assert_eq!(split_cp_arg("/a:b"), ("".into(), "/a:b".into()));
        assert_eq!(split_cp_arg("./a:b"), ("".into(), "./a:b".into()));
        assert_eq!(split_cp_arg("file"), ("".into(), "file".into()));
    }

    #[test]
    fn rebase_names() {
        assert_eq!(
            get_rebase_name("/d/link", "/d/a.txt"),
            ("/d/a.txt".to_string(), "link".to_string())
        );
        assert_eq!(get_rebase_name("/d/x/", "/e"), ("/e/".into(), "x".into()));
        assert_eq!(preserve_trailing("/a/b".into(), "a/b/."), "/a/b/.");
        assert_eq!(preserve_trailing("/a/b".into(), "a/b/"), "/a/b/");
    }

    #[test]
    fn copy_decisions_follow_moby() {
        let src_file = CopyInfo {
            path: "/s/f".into(),
            exists: true,
            ..Default::default()
        };
        let src_dir = CopyInfo {
            path: "/s/d".into(),
            exists: true,
            is_dir: true,
        };
        let dst_dir = CopyInfo {
            path: "/t".into(),
            exists: true,
            is_dir: true,
        };
        let dst_file = CopyInfo {
            path: "/t/f".into(),
            exists: true,
            ..Default::default()
        };
        let dst_new = CopyInfo {
            path: "/t/new".into(),
            ..Default::default()
        };
        let dst_new_dir = CopyInfo {
            path: "/t/new/".into(),
            ..Default::default()
        };
        assert_eq!(
            prepare_copy(&src_file, &dst_dir).unwrap(),
            ("/t".into(), None)
        );
        assert_eq!(
            prepare_copy(&src_dir, &dst_file).unwrap_err().msg,
            "cannot copy directory"
        );
        assert_eq!(
            prepare_copy(&src_file, &dst_new).unwrap(),
            ("/t".into(), Some("new".into()))
        );
        assert_eq!(
            prepare_copy(&src_file, &dst_new_dir).unwrap_err().msg,
            "no such directory"
        );
        assert_eq!(
            prepare_copy(&src_dir, &dst_new_dir).unwrap(),
            ("/t".into(), Some("new".into()))
        );
    }
}
