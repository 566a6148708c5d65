//! `berth build`: sends the context (a directory filtered by its .dockerignore, a tar on
//! stdin, or a lone Dockerfile on stdin) to `POST /build` and prints the message stream as
//! the docker CLI's legacy builder does.

use super::{parse, Invocation};
use crate::catalog::Command;
use crate::client::{q, Body};
use crate::{CmdResult, Ctx, Failure};
use berth_build::ignore::Matcher;
use clap::{CommandFactory, Parser};
use serde_json::Value;
use std::collections::BTreeMap;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};

#[path = "build_output.rs"]
mod build_output;

#[derive(Parser)]
pub(crate) struct BuildCmd {
    #[arg(
        short = 't',
        long = "tag",
        help = "Name and optionally a tag in the \"name:tag\" format",
        value_name = "list"
    )]
    tag: Vec<String>,
    #[arg(
        short = 'f',
        long = "file",
        help = "Name of the Dockerfile (Default is \"PATH/Dockerfile\")",
        value_name = "string"
    )]
    file: Option<String>,
    #[arg(
        long = "build-arg",
        help = "Set build-time variables",
        value_name = "list"
    )]
    build_arg: Vec<String>,
    #[arg(
        long,
        help = "Set the target build stage to build.",
        value_name = "string"
    )]
    target: Option<String>,
    #[arg(long = "no-cache", help = "Do not use cache when building the image")]
    no_cache: bool,
    #[arg(
        short = 'q',
        long,
        help = "Suppress the build output and print image ID on success"
    )]
    quiet: bool,
    #[arg(long, help = "Write the image ID to the file", value_name = "string")]
    iidfile: Option<String>,
    #[arg(long, help = "Set metadata for an image", value_name = "list")]
    label: Vec<String>,
    #[arg(long, help = "Always attempt to pull a newer version of the image")]
    pull: bool,
    #[arg(long, default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true, help = "Remove intermediate containers after a successful build (default true)", value_name = "bool")]
    rm: bool,
    #[arg(long = "force-rm", help = "Always remove intermediate containers")]
    force_rm: bool,
    #[arg(
        long,
        help = "Set type of progress output (\"auto\", \"quiet\", \"plain\", \"tty\", \"rawjson\"). Use plain to show container output (default \"auto\")",
        value_name = "string"
    )]
    progress: Option<String>,
    #[arg(
        long,
        help = "Set the networking mode for the RUN instructions during build (default \"default\")",
        value_name = "string"
    )]
    network: Option<String>,
    #[arg(
        long = "add-host",
        help = "Add a custom host-to-IP mapping (\"host:ip\")",
        value_name = "list"
    )]
    add_host: Vec<String>,
    #[arg(
        long,
        help = "Set platform if server is multi-platform capable",
        value_name = "string"
    )]
    pub(crate) platform: Option<String>,
    #[arg(
        long,
        help = "Secret to expose to the build (format: \"id=mysecret[,src=/local/secret]\")",
        value_name = "stringArray"
    )]
    secret: Vec<String>,
    #[arg(
        short = 'o',
        long,
        help = "Output destination (format: \"type=local,dest=path\")",
        value_name = "stringArray"
    )]
    output: Vec<String>,
    #[arg(
        long = "cache-from",
        help = "Images to consider as cache sources",
        value_name = "strings"
    )]
    cache_from: Vec<String>,
    #[arg(
        long = "cgroup-parent",
        help = "Set the parent cgroup for the \"RUN\" instructions during build",
        value_name = "string"
    )]
    cgroup_parent: Option<String>,
    #[arg(
        long = "cpu-period",
        help = "Limit the CPU CFS (Completely Fair Scheduler) period",
        value_name = "int",
        allow_negative_numbers = true
    )]
    cpu_period: Option<i64>,
    #[arg(
        long = "cpu-quota",
        help = "Limit the CPU CFS (Completely Fair Scheduler) quota",
        value_name = "int",
        allow_negative_numbers = true
    )]
    cpu_quota: Option<i64>,
    #[arg(
        short = 'c',
        long = "cpu-shares",
        help = "CPU shares (relative weight)",
        value_name = "int",
        allow_negative_numbers = true
    )]
    cpu_shares: Option<i64>,
    #[arg(
        long = "cpuset-cpus",
        help = "CPUs in which to allow execution (0-3, 0,1)",
        value_name = "string"
    )]
    cpuset_cpus: Option<String>,
    #[arg(
        long = "cpuset-mems",
        help = "MEMs in which to allow execution (0-3, 0,1)",
        value_name = "string"
    )]
    cpuset_mems: Option<String>,
    #[arg(long, help = "Container isolation technology", value_name = "string")]
    isolation: Option<String>,
    #[arg(short = 'm', long, value_parser = parse_bytes, help = "Memory limit", value_name = "bytes")]
    memory: Option<i64>,
    #[arg(
        long = "memory-swap",
        value_parser = parse_swap,
        allow_negative_numbers = true,
        help = "Swap limit equal to memory plus swap: -1 to enable unlimited swap",
        value_name = "bytes"
    )]
    memory_swap: Option<i64>,
    #[arg(
        long = "security-opt",
        help = "Security options",
        value_name = "strings"
    )]
    security_opt: Vec<String>,
    #[arg(long = "shm-size", value_parser = parse_bytes, help = "Size of \"/dev/shm\"", value_name = "bytes")]
    shm_size: Option<i64>,
    #[arg(long, help = "Squash newly built layers into a single new layer")]
    squash: bool,
    #[arg(long, help = "Compress the build context using gzip")]
    compress: bool,
    // Off (the default) is what berth does; asking for verification is refused.
    #[arg(long = "disable-content-trust", default_value_t = true, action = clap::ArgAction::Set, num_args = 0..=1, default_missing_value = "true", require_equals = true, help = "Skip image verification (default true)", value_name = "bool")]
    disable_content_trust: bool,
    #[arg(long, value_parser = super::create::parse_ulimit, help = "Ulimit options (default [])", value_name = "ulimit")]
    ulimit: Vec<String>,
    pub(crate) args: Vec<String>,
}

/// docker's MemBytes flag value (`-m`, `--shm-size`): go-units RAMInBytes.
fn parse_bytes(s: &str) -> Result<i64, String> {
    crate::units::ram_in_bytes(s)
}

/// docker's MemSwapBytes: `-1` (unlimited) or a size.
fn parse_swap(s: &str) -> Result<i64, String> {
    if s == "-1" {
        return Ok(-1);
    }
    crate::units::ram_in_bytes(s)
}

fn fail(msg: impl Into<String>) -> Failure {
    Failure::new(msg, 1)
}

/// The context directory as a tar: .dockerignore applied, the Dockerfile and .dockerignore
/// always included (the daemon reads them).
fn tar_dir(dir: &Path, extra: Option<(&str, &[u8])>, keep: &[String]) -> Result<Vec<u8>, Failure> {
    let ignore = std::fs::read_to_string(dir.join(".dockerignore"))
        .map(|s| Matcher::parse(&s))
        .unwrap_or_default();
    let mut b = tar::Builder::new(Vec::new());
    b.follow_symlinks(false);
    // Modes matter (COPY keeps them, the cache hashes them), as the docker CLI sends them.
    b.mode(tar::HeaderMode::Complete);
    fn walk(
        b: &mut tar::Builder<Vec<u8>>,
        root: &Path,
        rel: &str,
        ignore: &Matcher,
        keep: &[String],
        skip_ignore_file: bool,
    ) -> Result<(), Failure> {
        let abs = if rel.is_empty() {
            root.to_path_buf()
        } else {
            root.join(rel)
        };
        let mut names: Vec<String> = std::fs::read_dir(&abs)
            .map_err(|e| fail(format!("error checking context: {e}")))?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        for n in names {
            let r = if rel.is_empty() {
                n.clone()
            } else {
                format!("{rel}/{n}")
            };
            if skip_ignore_file && r == ".dockerignore" {
                continue;
            }
            let p = root.join(&r);
            let m = std::fs::symlink_metadata(&p)
                .map_err(|e| fail(format!("error checking context: {e}")))?;
            let excluded = ignore.excluded(&r) && !keep.contains(&r);
            if m.is_dir() {
                if excluded && !ignore.may_include_under(&r) {
                    continue;
                }
                if !excluded {
                    b.append_dir(&r, &p)
                        .map_err(|e| fail(format!("error archiving {r}: {e}")))?;
                }
                walk(b, root, &r, ignore, keep, skip_ignore_file)?;
            } else if !excluded {
                b.append_path_with_name(&p, &r)
                    .map_err(|e| fail(format!("error archiving {r}: {e}")))?;
            }
        }
        Ok(())
    }
    walk(&mut b, dir, "", &ignore, keep, extra.is_some())?;
    if let Some((name, data)) = extra {
        // The docker CLI's AddDockerfileToBuildContext: the Dockerfile under its random
        // name, and the `.dockerignore` (the context's, else one naming itself) with that
        // name added, so that neither is part of what COPY sees.
        let own = std::fs::read(dir.join(".dockerignore")).ok();
        let mode = std::fs::metadata(dir.join(".dockerignore"))
            .map(|m| {
                use std::os::unix::fs::PermissionsExt;
                m.permissions().mode() & 0o7777
            })
            .unwrap_or(0o600);
        let mut ignore_file = own.unwrap_or_else(|| b".dockerignore".to_vec());
        ignore_file.extend_from_slice(format!("\n{name}\n").as_bytes());
        for (n, d, m) in [
            (name, data, 0o600),
            (".dockerignore", &ignore_file[..], mode),
        ] {
            let mut h = tar::Header::new_gnu();
            h.set_size(d.len() as u64);
            h.set_mode(m);
            h.set_cksum();
            b.append_data(&mut h, n, d)
                .map_err(|e| fail(e.to_string()))?;
        }
    }
    b.into_inner().map_err(|e| fail(e.to_string()))
}

/// `data` gzip-compressed (Go's default level, as the docker CLI's archive.CompressStream).
fn gzip(data: &[u8]) -> Result<Vec<u8>, Failure> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(data)
        .and_then(|_| e.finish())
        .map_err(|err| fail(format!("compressing the build context: {err}")))
}

fn random_name() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!(".dockerfile.{:x}{:x}", t, std::process::id())
}

fn is_tar(data: &[u8]) -> bool {
    data.starts_with(&[0x1f, 0x8b]) || (data.len() >= 262 && &data[257..262] == b"ustar")
}

pub fn cmd_build(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    build(ctx, inv, args, false)
}

/// `cmd_build` printing nothing on success (compose's `--quiet-build` and `build -q`,
/// which hide the build output and, unlike `docker build -q`, print no image id); a
/// failure still returns its error.
pub fn cmd_build_silent(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    build(ctx, inv, args, true)
}

fn build(ctx: &mut Ctx, inv: &Invocation, args: &[String], silent: bool) -> CmdResult {
    let o: BuildCmd = parse(inv, args)?;
    run_build(ctx, inv, o, silent)
}

/// A build with parsed flags (`build`, and `buildx build` once its own flags are checked);
/// `silent`: see `cmd_build_silent`.
pub(crate) fn run_build(ctx: &mut Ctx, inv: &Invocation, o: BuildCmd, silent: bool) -> CmdResult {
    inv.exactly(&o.args, 1)?;
    if o.output.len() > 1 {
        return Err(fail("multiple outputs are not supported"));
    }
    let output = o
        .output
        .first()
        .map(|s| build_output::parse(s))
        .transpose()?;
    if let Some(p) = o.progress.as_deref() {
        if !matches!(p, "auto" | "plain" | "tty" | "quiet" | "rawjson") {
            return Err(fail(format!(
                "invalid progress mode {p:?}: use auto, plain or tty"
            )));
        }
    }
    let mut secrets = berth_build::secrets::Secrets::default();
    for s in &o.secret {
        secrets.add_flag(s).map_err(fail)?;
    }
    if !o.disable_content_trust {
        // The docker CLI would resolve each FROM image through Notary first.
        return Err(fail(
            "--disable-content-trust=false: berth does not sign or verify images with Docker Content Trust (Notary)",
        ));
    }
    let src = &o.args[0];
    if src.starts_with("http://") || src.starts_with("https://") || src.starts_with("git@") {
        return Err(fail("remote build contexts are not supported by berth"));
    }
    let stdin_dockerfile = o.file.as_deref() == Some("-");
    if stdin_dockerfile && src == "-" {
        return Err(fail(
            "invalid argument: can't use stdin for both build context and dockerfile",
        ));
    }
    let mut dockerfile_param = String::new();
    let context: Vec<u8> = if src == "-" {
        let mut data = Vec::new();
        std::io::stdin()
            .read_to_end(&mut data)
            .map_err(|e| fail(e.to_string()))?;
        if is_tar(&data) {
            if let Some(f) = &o.file {
                dockerfile_param = f.clone();
            }
            data
        } else {
            // A lone Dockerfile: the context is empty.
            let name = random_name();
            dockerfile_param = name.clone();
            let mut b = tar::Builder::new(Vec::new());
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o600);
            h.set_cksum();
            b.append_data(&mut h, &name, &data[..])
                .map_err(|e| fail(e.to_string()))?;
            b.into_inner().map_err(|e| fail(e.to_string()))?
        }
    } else {
        let dir = PathBuf::from(src);
        if !dir.is_dir() {
            return Err(fail(format!(
                "unable to prepare context: path \"{src}\" not found"
            )));
        }
        let dir = dir.canonicalize().map_err(|e| fail(e.to_string()))?;
        let mut keep = vec![".dockerignore".to_string()];
        let extra: Option<(String, Vec<u8>)> = match o.file.as_deref() {
            Some("-") => {
                let mut data = Vec::new();
                std::io::stdin()
                    .read_to_end(&mut data)
                    .map_err(|e| fail(e.to_string()))?;
                let n = random_name();
                dockerfile_param = n.clone();
                Some((n, data))
            }
            Some(f) => {
                let p = PathBuf::from(f);
                let abs = if p.is_absolute() {
                    p
                } else {
                    std::env::current_dir()
                        .map_err(|e| fail(e.to_string()))?
                        .join(p)
                };
                let abs = abs.canonicalize().map_err(|_| {
                    fail(format!("unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat {}: no such file or directory", abs.display()))
                })?;
                match abs.strip_prefix(&dir) {
                    Ok(rel) => {
                        dockerfile_param = rel.to_string_lossy().into_owned();
                        keep.push(dockerfile_param.clone());
                        None
                    }
                    Err(_) => {
                        let data = std::fs::read(&abs).map_err(|e| fail(e.to_string()))?;
                        let n = random_name();
                        dockerfile_param = n.clone();
                        Some((n, data))
                    }
                }
            }
            None => {
                // The docker CLI checks the default Dockerfile before sending anything.
                let df = dir.join("Dockerfile");
                if !df.exists() && !dir.join("dockerfile").exists() {
                    return Err(fail(format!(
                        "unable to prepare context: unable to evaluate symlinks in Dockerfile path: lstat {}: no such file or directory",
                        df.display()
                    )));
                }
                keep.push("Dockerfile".to_string());
                None
            }
        };
        tar_dir(
            &dir,
            extra.as_ref().map(|(n, d)| (n.as_str(), d.as_slice())),
            &keep,
        )?
    };

    // As the docker CLI's build.Compress: the whole stream gzipped (the daemon detects the
    // compression), and the size it reports is the compressed one.
    let context = if o.compress { gzip(&context)? } else { context };
    let mut params: Vec<String> = Vec::new();
    for t in &o.tag {
        params.push(format!("t={}", q(t)));
    }
    if !dockerfile_param.is_empty() {
        params.push(format!("dockerfile={}", q(&dockerfile_param)));
    }
    let mut build_args: BTreeMap<String, Option<String>> = BTreeMap::new();
    for a in &o.build_arg {
        match a.split_once('=') {
            Some((k, v)) => build_args.insert(k.to_string(), Some(v.to_string())),
            None => build_args.insert(a.clone(), std::env::var(a).ok()),
        };
    }
    if !build_args.is_empty() {
        params.push(format!(
            "buildargs={}",
            q(&serde_json::to_string(&build_args).unwrap_or_default())
        ));
    }
    let mut labels: BTreeMap<String, String> = BTreeMap::new();
    for l in &o.label {
        let (k, v) = l.split_once('=').unwrap_or((l.as_str(), ""));
        labels.insert(k.to_string(), v.to_string());
    }
    if !labels.is_empty() {
        params.push(format!(
            "labels={}",
            q(&serde_json::to_string(&labels).unwrap_or_default())
        ));
    }
    if let Some(t) = &o.target {
        params.push(format!("target={}", q(t)));
    }
    if o.no_cache {
        params.push("nocache=1".into());
    }
    if o.quiet {
        params.push("q=1".into());
    }
    if o.pull {
        params.push("pull=1".into());
    }
    if !o.cache_from.is_empty() {
        let list = serde_json::to_string(&o.cache_from).unwrap_or_default();
        params.push(format!("cachefrom={}", q(&list)));
    }
    if o.force_rm {
        params.push("forcerm=1".into());
    }
    if let Some(n) = o.network.as_deref().filter(|n| !n.is_empty()) {
        params.push(format!("networkmode={}", q(n)));
    }
    for h in &o.add_host {
        let h = super::create::extra_host(h).map_err(|e| {
            fail(format!(
                "invalid argument \"{h}\" for \"--add-host\" flag: {e}"
            ))
        })?;
        params.push(format!("extrahosts={}", q(&h)));
    }
    // The legacy builder's resource and security options, as the docker CLI's
    // imageBuildOptionsToQuery sends them (each only when set); the daemon applies them to
    // every RUN container or refuses them with moby's words.
    for opt in &o.security_opt {
        params.push(format!("securityopt={}", q(opt)));
    }
    if o.squash {
        // The docker CLI refuses it itself when the daemon has no experimental features;
        // berth's never has.
        return Err(fail(
            "\"--squash\" is only supported on a Docker daemon with experimental features enabled",
        ));
    }
    if let Some(i) = o
        .isolation
        .as_deref()
        .filter(|i| !i.is_empty() && !i.eq_ignore_ascii_case("default"))
    {
        params.push(format!("isolation={}", q(i)));
    }
    let strings = [
        ("cpusetcpus", &o.cpuset_cpus),
        ("cpusetmems", &o.cpuset_mems),
        ("cgroupparent", &o.cgroup_parent),
    ];
    for (name, v) in strings {
        if let Some(v) = v.as_deref().filter(|v| !v.is_empty()) {
            params.push(format!("{name}={}", q(v)));
        }
    }
    let ints = [
        ("cpushares", o.cpu_shares),
        ("cpuquota", o.cpu_quota),
        ("cpuperiod", o.cpu_period),
        ("memory", o.memory),
        ("memswap", o.memory_swap),
        ("shmsize", o.shm_size),
    ];
    for (name, v) in ints {
        if let Some(v) = v.filter(|v| *v != 0) {
            params.push(format!("{name}={v}"));
        }
    }
    if !o.ulimit.is_empty() {
        let list = super::create::ulimits(&o.ulimit).map_err(fail)?;
        params.push(format!(
            "ulimits={}",
            q(&serde_json::to_string(&list).unwrap_or_default())
        ));
    }
    params.push(format!("rm={}", if o.rm { 1 } else { 0 }));
    let path = format!("/build?{}", params.join("&"));
    // With the result's tar on stdout, the progress goes to stderr (as buildx does it).
    let mut out: Box<dyn Write> = if silent {
        Box::new(std::io::sink())
    } else if output == Some(build_output::Output::Tar(None)) {
        Box::new(std::io::stderr().lock())
    } else {
        Box::new(std::io::stdout().lock())
    };
    let sending = format!(
        "Sending build context to Docker daemon  {}",
        crate::units::human_size_prec(context.len() as f64, 4)
    );
    // With -q the docker CLI keeps its progress in a buffer that it prints to stderr only
    // when the build fails.
    if !o.quiet && !silent {
        let _ = writeln!(out, "{sending}");
    }
    let mut cur = std::io::Cursor::new(context);
    let mut client = ctx.client()?.clone();
    if !secrets.is_empty() {
        client = client.with_header(berth_build::secrets::HEADER, &secrets.to_header());
    }
    let resp = client.call("POST", &path, Body::Stream(&mut cur, "application/x-tar"))?;
    let mut image_id = String::new();
    let tty = if silent {
        false
    } else if output == Some(build_output::Output::Tar(None)) {
        std::io::stderr().is_terminal()
    } else {
        std::io::stdout().is_terminal()
    };
    let mut body = resp.body;
    // With -q the docker CLI keeps the stream in a buffer: the image id it holds goes to
    // stdout on success; on failure the buffer (the build's steps, as the daemon sends
    // them then) goes to stderr after the line it held back.
    let mut held: Vec<u8> = Vec::new();
    let quiet = o.quiet && !silent;
    let result = {
        let sink: &mut dyn Write = if quiet { &mut held } else { &mut out };
        // A base image's pull shows its bars in place on a terminal, as docker's does.
        crate::jsonmessage::Display::new(sink, tty && !quiet).run(&mut body, &mut |aux| {
            if let Some(id) = aux.get("ID").and_then(Value::as_str) {
                image_id = id.to_string();
            }
        })
    };
    if let Err(e) = result {
        if quiet {
            eprint!("{sending}\n{}", String::from_utf8_lossy(&held));
        }
        let code = e.code.and_then(|c| i32::try_from(c).ok()).unwrap_or(1);
        return Err(Failure::new(e.message, code.max(1)));
    }
    if quiet {
        let _ = out.write_all(&held);
        if image_id.is_empty() {
            image_id = String::from_utf8_lossy(&held).trim().to_string();
        }
    }
    let _ = out.flush();
    drop(out);
    if let Some(dest) = &output {
        build_output::export(&client, &image_id, dest)?;
    }
    if let Some(f) = &o.iidfile {
        std::fs::write(f, &image_id)
            .map_err(|e| fail(format!("failed to write image ID to file: {e}")))?;
    }
    Ok(0)
}

/// The commands this module implements (see `catalog.rs`).
pub(crate) static COMMANDS: &[Command] = &[Command::new(
    "image build",
    "[OPTIONS] PATH | URL | -",
    "Build an image from a Dockerfile",
    BuildCmd::command,
    cmd_build,
)
.aliases(&["build", "builder build"])];
