//! The compose commands that drive the daemon: up, down, create, start, stop, restart,
//! kill, rm, pause, unpause, ps, logs, exec, run, build, pull, push, images, port, top,
//! ls, scale, wait, cp, events, watch.
//!
//! Foreground `up` (`attach_and_wait`) prints as compose v2: creation progress only
//! (`Converge::quiet_start`), `Attaching to svc-1`, the logs since the `up` began, `svc-1
//! exited with code N` after each stream ended (`LogOpts::ended`); it returns when the
//! attached containers stopped. `--dry-run` prints compose's ` DRY-RUN MODE - ` steps for
//! the mutating commands and refuses the ones it cannot simulate (exec, run, cp, build,
//! pull, push, watch, a foreground `up`). `up --force-recreate` applies to the services
//! named (all when none); their dependencies are recreated only when changed or with
//! `--always-recreate-deps` (`Converge::named`); a recreated container inherits the old
//! one's anonymous volumes unless `-V`. `config --resolve-image-digests` pins images to the
//! digest `/distribution/NAME/json` reports (berth's daemon has no such endpoint yet:
//! dockerd only); `config --no-path-resolution` leaves paths as written (`Ctx::path`),
//! `--no-normalize` is refused. `cp` copies into every replica (one-off containers too with
//! `--all`), from the first or the `--index` one. An image several services share is pulled
//! once ("Skipped - Image is already being pulled by"; docker compose's `up` pulls it per
//! service). `pull`, `up`, `create` and `run` pull the missing images at once
//! (`pull_parallel`, compose's errgroup under `--parallel`); the first failure cancels the
//! others (` svc  Interrupted` for one not yet answered) unless `--ignore-pull-failures`. `images`, `top` and `ls` print as compose 2.40 (`table.rs`); CREATED follows
//! `Metadata.LastTagTime` (a loaded image never tagged keeps Go's zero time: "292 years
//! ago", as against dockerd).

use super::{image_name, table, Global};
use crate::api::*;
use crate::logs::{self, LogOpts};
use crate::model::Project;
use crate::progress::Progress;
use crate::runtime::{self, Converge, Images, OpError};
use berth_cli::commands::{parse, Invocation};
use berth_cli::{CmdResult, Ctx, Failure};
use clap::Parser;
use std::collections::{BTreeMap, BTreeSet};
use std::result::Result;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

fn fail(e: OpError) -> Failure {
    Failure::new(e.0, 1)
}

fn api(ctx: &mut Ctx) -> Result<Api, Failure> {
    Ok(Api {
        client: ctx.client()?.clone(),
        dry_run: DRY_RUN.load(Ordering::Relaxed),
    })
}

/// The services named on the command line (all when none), checked against the model.
fn selected(p: &Project, names: &[String]) -> Result<Vec<String>, Failure> {
    if names.is_empty() {
        return Ok(p.services.keys().cloned().collect());
    }
    for n in names {
        if !p.services.contains_key(n) {
            return Err(Failure::new(format!("no such service: {n}"), 1));
        }
    }
    Ok(names.to_vec())
}

/// [`selected`], with their dependencies added when `include_deps` (`pull`/`push
/// --include-deps`).
fn selected_with_deps(
    p: &Project,
    names: &[String],
    include_deps: bool,
) -> Result<Vec<String>, Failure> {
    let names = selected(p, names)?;
    Ok(if include_deps {
        crate::graph::with_dependencies(p, &names)
            .into_iter()
            .collect()
    } else {
        names
    })
}

fn load_for(g: &Global, services: &[String]) -> Result<Project, Failure> {
    let mut lo = g.load_options();
    lo.wanted_services = services.to_vec();
    Ok(g.load_with(lo)?.project)
}

/// The project name without loading the files when they are absent (`down`, `ps` ... work
/// from labels, as compose's do with `-p`).
fn project_or_name(g: &Global, services: &[String]) -> Result<(Option<Project>, String), Failure> {
    match load_for(g, services) {
        Ok(p) => {
            let n = p.name.clone();
            Ok((Some(p), n))
        }
        Err(e) => match &g.project_name {
            Some(n) if g.files.is_empty() => Ok((None, n.clone())),
            _ => Err(e),
        },
    }
}

/// compose loads the project with the named services selected: a name the model does not
/// have (in any profile) is "no such service" (ps, logs, down, start, stop, restart, kill,
/// rm, pause, unpause; exec, port, top, images and the like do not check).
fn check_named(p: &Option<Project>, services: &[String]) -> Result<(), Failure> {
    let Some(p) = p else { return Ok(()) };
    match services
        .iter()
        .find(|n| !p.services.contains_key(*n) && !p.disabled.contains_key(*n))
    {
        Some(n) => Err(Failure::new(format!("no such service: {n}"), 1)),
        None => Ok(()),
    }
}

fn containers_of(
    api: &Api,
    project: &str,
    services: &[String],
    all: bool,
) -> Result<Vec<Summary>, Failure> {
    let mut v = api.project_containers(project, all, false)?;
    if !services.is_empty() {
        v.retain(|c| services.iter().any(|s| s == c.service()));
    }
    Ok(v)
}

/// Builds or pulls what the services need; returns their image ids.
/// `--build` (Some(true)) / `--no-build` (Some(false)) and `--pull`.
struct ImagePolicy<'a> {
    build: Option<bool>,
    pull: Option<&'a str>,
    /// `--quiet-pull`: no pull progress.
    quiet: bool,
    /// `--quiet-build`: no build output.
    quiet_build: bool,
    /// The global `--parallel`: how many pulls at once.
    parallel: Option<i64>,
}

fn prepare_images(
    ctx: &mut Ctx,
    api: &Api,
    p: &Project,
    services: &BTreeSet<String>,
    policy: ImagePolicy,
    progress: &Progress,
) -> Result<Images, Failure> {
    let (build, pull) = (policy.build, policy.pull);
    let policy_quiet_build = policy.quiet_build;
    let mut images = Images::new();
    // What each service needs, decided first: compose pulls every missing image at once
    // (pullRequiredImages), then builds, then creates.
    let mut jobs: Vec<PullJob> = Vec::new();
    let mut to_build: Vec<String> = Vec::new();
    let mut to_resolve: Vec<(String, String)> = Vec::new();
    // An image several services share is pulled once (compose's pull: "Skipped - Image
    // is already being pulled by ...").
    let mut pulled: BTreeSet<String> = BTreeSet::new();
    for name in services {
        let s = &p.services[name];
        let image = image_name(&p.name, name, s);
        let present = api.image(&image)?;
        let policy = pull
            .map(str::to_string)
            .unwrap_or_else(|| s.pull_policy.clone());
        let must_build = s.build.is_some()
            && (build == Some(true)
                || policy == "build"
                || (present.is_none() && build != Some(false)));
        // The branches below, in their order.
        let no_build_refused = s.build.is_some() && present.is_none() && build == Some(false);
        let must_pull = !must_build
            && !no_build_refused
            && !pulled.contains(&image)
            && (policy == "always" || (present.is_none() && policy != "never"));
        if api.dry_run && must_pull {
            // Pulling changes the engine: a dry run does not pretend to.
            return Err(Failure::new(
                format!("berth compose --dry-run: the image {image:?} of service {name:?} would have to be pulled, which a dry run does not do"),
                1,
            ));
        }
        if api.dry_run && must_build {
            dry_run_build(Some(progress), name, &image);
            // Nothing is built: the containers keep the image they have (the dry run's
            // creations name compose's fake id when there is none).
            let id = present.map(|i| i.id).unwrap_or_else(|| "dryRunID".into());
            images.insert(name.clone(), id);
            continue;
        }
        if must_build {
            to_build.push(name.clone());
        } else if no_build_refused {
            return Err(Failure::new(
                format!("service {name:?} has no image {image:?} and --no-build was given"),
                1,
            ));
        } else if must_pull {
            pulled.insert(image.clone());
            jobs.push(PullJob {
                service: name.clone(),
                image: image.clone(),
                // compose's isServiceImageToBuild: this service or another one builds
                // the image, so a failed pull is no failure.
                buildable: p
                    .services
                    .iter()
                    .any(|(n, o)| o.build.is_some() && image_name(&p.name, n, o) == image),
            });
        } else if present.is_none() {
            return Err(Failure::new(
                format!("Error response from daemon: No such image: {image}"),
                1,
            ));
        }
        to_resolve.push((name.clone(), image));
    }
    if !jobs.is_empty() {
        // `--quiet-pull` leaves out the layers only: compose still names the services.
        let (_, first) = pull_parallel(
            &api.client,
            &jobs,
            progress,
            !policy.quiet,
            true,
            policy.parallel,
        );
        if let Some(e) = first {
            return Err(Failure::new(e, 1));
        }
    }
    for name in &to_build {
        let o = BuildOpts {
            quiet: policy_quiet_build,
            for_the_engine: true,
            ..Default::default()
        };
        build_service(ctx, p, name, &o, progress)?;
    }
    for (name, image) in to_resolve {
        let id = api.image(&image)?.map(|i| i.id).ok_or_else(|| {
            Failure::new(
                format!("Error response from daemon: No such image: {image}"),
                1,
            )
        })?;
        images.insert(name, id);
    }
    Ok(images)
}

/// A build under `--dry-run`, shown as compose 2.40's classic builder shows it against
/// its dry-run client (nothing is sent to the engine): the service's Building/Built
/// progress lines around the fake build output on stdout, with the same control
/// characters (`ESC[2K` and carriage returns) and compose's fake image id.
fn dry_run_build(progress: Option<&Progress>, service: &str, image: &str) {
    use std::io::Write;
    let id = format!("Service {service}");
    if let Some(p) = progress {
        p.event(&id, "Building", false);
    }
    let mut out = std::io::stdout().lock();
    let _ = write!(
        out,
        "\x1b[2K\r DRY-RUN MODE - Successfully built: dryRunID\n DRY-RUN MODE - Successfully tagged: {image}\n \r"
    );
    let _ = out.flush();
    drop(out);
    if let Some(p) = progress {
        p.event(&id, "Built", true);
    }
}

#[derive(Default, Clone)]
struct BuildOpts {
    no_cache: bool,
    pull: bool,
    quiet: bool,
    args: Vec<String>,
    /// Built for `up`/`create`/`run`: for the engine's platform only, so several
    /// `build.platforms` are no multi-arch build (compose 2.40 builds them there).
    for_the_engine: bool,
}

/// A service's `dockerfile_inline` written to a file of its own in a fresh private
/// directory under the temporary directory (outside any build context but /tmp itself),
/// removed with it when dropped.
struct InlineDockerfile {
    dir: std::path::PathBuf,
    path: std::path::PathBuf,
}

impl InlineDockerfile {
    fn write(text: &str) -> std::io::Result<InlineDockerfile> {
        use std::os::unix::fs::DirBuilderExt;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir = std::env::temp_dir().join(format!(
            "berth-compose-inline-{}-{nanos:x}",
            std::process::id()
        ));
        std::fs::DirBuilder::new().mode(0o700).create(&dir)?;
        let path = dir.join("Dockerfile");
        std::fs::write(&path, text)?;
        Ok(InlineDockerfile { dir, path })
    }
}

impl Drop for InlineDockerfile {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// What of `b` only BuildKit can do, named as compose 2.40's classic builder refuses it
/// (the first in its order), or `None`. berth's builder is the classic one (as dockerd's
/// `version=1` builds), and docker compose without buildx refuses these before sending
/// anything: `build.secrets`, `ssh`, `additional_contexts`, `privileged` and more than
/// one platform (in `build`; `up` builds for the engine's alone) fail the build (exit 1)
/// rather than being dropped. `cache_from`,
/// `cache_to`, `ulimits`, `shm_size` (and the rest it does not send) the classic builder
/// leaves out without a word, as compose's does: its build request carries no
/// `cachefrom` (seen on the wire with compose 2.40.3, DOCKER_BUILDKIT=0).
fn buildkit_only(b: &crate::model::Build, for_the_engine: bool) -> Option<&'static str> {
    let ssh = match &b.ssh {
        None => false,
        Some(v) => {
            !(v.is_null()
                || v.as_sequence().is_some_and(|s| s.is_empty())
                || v.as_mapping().is_some_and(|m| m.is_empty()))
        }
    };
    [
        (b.platforms.len() > 1 && !for_the_engine, "multi-arch build"),
        (b.privileged, "privileged mode"),
        (!b.additional_contexts.is_empty(), "additional contexts"),
        (ssh, "SSH keys"),
        (!b.secrets.is_empty(), "secrets"),
    ]
    .into_iter()
    .find_map(|(set, what)| set.then_some(what))
}

/// Builds one service's image through berth's builder (`berth build`), between compose
/// 2.40's progress events for a classic build: `Service NAME  Building` before it,
/// `Service NAME  Built` and `NAME  Built` after it (on stderr, the build's own output on
/// stdout), as `build` and the builds of `up`/`create`/`run` show them (`--quiet-build`
/// keeps them; `build -q` passes a quiet `progress`).
fn build_service(
    ctx: &mut Ctx,
    p: &Project,
    name: &str,
    o: &BuildOpts,
    progress: &Progress,
) -> Result<(), Failure> {
    let s = &p.services[name];
    let Some(b) = &s.build else { return Ok(()) };
    let id = format!("Service {name}");
    progress.event(&id, "Building", false);
    build_image(ctx, p, name, b, o)?;
    progress.event(&id, "Built", true);
    progress.event(name, "Built", true);
    Ok(())
}

/// The build itself of `build_service`.
fn build_image(
    ctx: &mut Ctx,
    p: &Project,
    name: &str,
    b: &crate::model::Build,
    o: &BuildOpts,
) -> Result<(), Failure> {
    let s = &p.services[name];
    if let Some(what) = buildkit_only(b, o.for_the_engine) {
        return Err(Failure::new(
            format!(
                "the classic builder doesn't support {what}, set DOCKER_BUILDKIT=1 to use BuildKit"
            ),
            1,
        ));
    }
    if !std::path::Path::new(&b.context).is_dir() {
        return Err(Failure::new(
            format!("unable to prepare context: path {:?} not found", b.context),
            1,
        ));
    }
    let mut args: Vec<String> = vec!["-t".into(), image_name(&p.name, name, s)];
    for t in &b.tags {
        args.extend(["-t".into(), t.clone()]);
    }
    // `dockerfile_inline`: as compose's classic build, the text is sent inside the build
    // context under a `.dockerfile.<random>` name (berth build does that for a Dockerfile
    // outside the context), from a private temporary file removed after the build.
    let inline = if b.dockerfile_inline.is_empty() {
        None
    } else {
        Some(InlineDockerfile::write(&b.dockerfile_inline).map_err(|e| {
            Failure::new(
                format!("service {name:?}: writing build.dockerfile_inline: {e}"),
                1,
            )
        })?)
    };
    let df = match &inline {
        Some(f) => f.path.clone(),
        None => std::path::Path::new(&b.context).join(&b.dockerfile),
    };
    args.extend(["-f".into(), df.to_string_lossy().into_owned()]);
    for (k, v) in &b.args {
        if let Some(v) = v {
            args.extend(["--build-arg".into(), format!("{k}={v}")]);
        }
    }
    for a in &o.args {
        args.extend(["--build-arg".into(), a.clone()]);
    }
    // compose's classic build labels the image with the builder it used (its request's
    // `labels` carries `com.docker.compose.image.builder=classic`, seen on the wire with
    // compose 2.40.3), beside the service's own labels.
    args.extend([
        "--label".into(),
        "com.docker.compose.image.builder=classic".into(),
    ]);
    for (k, v) in &b.labels {
        args.extend(["--label".into(), format!("{k}={v}")]);
    }
    if !b.target.is_empty() {
        args.extend(["--target".into(), b.target.clone()]);
    }
    if !b.network.is_empty() {
        args.extend(["--network".into(), b.network.clone()]);
    }
    for h in &b.extra_hosts {
        args.extend(["--add-host".into(), h.replacen('=', ":", 1)]);
    }
    if o.no_cache || b.no_cache {
        args.push("--no-cache".into());
    }
    if o.pull || b.pull {
        args.push("--pull".into());
    }
    if o.quiet {
        args.push("-q".into());
    }
    args.push(b.context.clone());
    let inv = Invocation {
        path: "build".into(),
        usage: "[OPTIONS] PATH | URL | -",
    };
    // compose's quiet build prints nothing (no image id, unlike `docker build -q`).
    let run = if o.quiet {
        berth_cli::commands::build::cmd_build_silent
    } else {
        berth_cli::commands::build::cmd_build
    };
    match run(ctx, &inv, &args)? {
        0 => Ok(()),
        c => Err(Failure::new(format!("failed to build service {name:?}"), c)),
    }
}

/// The networks and named volumes `services` use.
fn resources(p: &Project, services: &BTreeSet<String>) -> (BTreeSet<String>, BTreeSet<String>) {
    let mut nets = BTreeSet::new();
    let mut vols = BTreeSet::new();
    for n in services {
        let s = &p.services[n];
        nets.extend(s.networks.keys().cloned());
        for v in &s.volumes {
            if v.kind == "volume" && !v.source.is_empty() {
                vols.insert(v.source.clone());
            }
        }
    }
    (nets, vols)
}

fn orphans(api: &Api, p: &Project) -> Result<Vec<Summary>, Failure> {
    let known: BTreeSet<&String> = p.services.keys().chain(p.disabled.keys()).collect();
    Ok(api
        .project_containers(&p.name, true, false)?
        .into_iter()
        .filter(|c| !known.contains(&c.service().to_string()))
        .collect())
}

fn parse_scale(v: &[String]) -> Result<BTreeMap<String, i64>, Failure> {
    let mut m = BTreeMap::new();
    for s in v {
        let (k, n) = s.split_once('=').ok_or_else(|| {
            Failure::new(
                format!("invalid --scale option {s:?}. Should be SERVICE=NUM"),
                1,
            )
        })?;
        let n: i64 = n.parse().map_err(|_| {
            Failure::new(
                format!("invalid --scale option {s:?}. Should be SERVICE=NUM"),
                1,
            )
        })?;
        m.insert(k.to_string(), n);
    }
    Ok(m)
}

#[derive(Parser, Debug, Clone)]
#[command(name = "up", disable_help_flag = true)]
struct UpOpts {
    #[arg(short = 'd', long)]
    detach: bool,
    /// When this `up` began (API `since`: unix seconds.nanoseconds), set by cmd_up.
    #[arg(skip)]
    began: String,
    #[arg(long)]
    build: bool,
    #[arg(long = "no-build")]
    no_build: bool,
    #[arg(long, num_args = 0..=1, default_missing_value = "always")]
    pull: Option<String>,
    #[arg(long = "force-recreate")]
    force_recreate: bool,
    #[arg(long = "no-recreate")]
    no_recreate: bool,
    #[arg(long = "no-deps")]
    no_deps: bool,
    #[arg(long = "remove-orphans")]
    remove_orphans: bool,
    #[arg(long)]
    scale: Vec<String>,
    #[arg(long)]
    wait: bool,
    #[arg(long = "wait-timeout")]
    wait_timeout: Option<u64>,
    #[arg(long = "abort-on-container-exit")]
    abort_on_exit: bool,
    #[arg(long = "abort-on-container-failure")]
    abort_on_failure: bool,
    #[arg(long = "exit-code-from")]
    exit_code_from: Option<String>,
    #[arg(long)]
    attach: Vec<String>,
    #[arg(long = "no-attach")]
    no_attach: Vec<String>,
    #[arg(long = "attach-dependencies")]
    attach_dependencies: bool,
    #[arg(short = 't', long)]
    timeout: Option<i64>,
    #[arg(long = "no-start")]
    no_start: bool,
    #[arg(long = "quiet-pull")]
    quiet_pull: bool,
    #[arg(long = "quiet-build")]
    quiet_build: bool,
    #[arg(long = "no-color")]
    no_color: bool,
    #[arg(long = "no-log-prefix")]
    no_log_prefix: bool,
    #[arg(short = 'y', long)]
    yes: bool,
    #[arg(long = "always-recreate-deps")]
    always_recreate_deps: bool,
    #[arg(short = 'V', long = "renew-anon-volumes")]
    renew_anon_volumes: bool,
    /// A Go bool flag (`--menu`, `--menu=false`); see `menu_refused`.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    menu: Option<String>,
    #[arg(short = 'w', long)]
    watch: bool,
    services: Vec<String>,
    /// The logs are coloured (`--ansi`, the terminal, `--no-color`), set by cmd_up.
    #[arg(skip)]
    color: bool,
    /// The logs' name column width, shared by the containers' prefixes and the watch
    /// logger's `⦿` lines.
    #[arg(skip)]
    log_width: Arc<std::sync::Mutex<usize>>,
}

/// A bool flag's value as pflag reads it (Go's strconv.ParseBool), with pflag's error (exit 1).
fn go_bool(flag: &str, v: &str) -> Result<bool, Failure> {
    berth_cli::commands::parse_go_bool(v).ok_or_else(|| {
        Failure::new(
            format!("invalid argument {v:?} for \"--{flag}\" flag: strconv.ParseBool: parsing {v:?}: invalid syntax"),
            1,
        )
    })
}

/// Whether the logs are coloured: compose's `--ansi` (`auto`: stdout is a terminal) and
/// the command's `--no-color`.
fn log_color(g: &Global, no_color: bool) -> bool {
    !no_color
        && match g.ansi.as_deref() {
            Some("always") => true,
            Some("never") => false,
            _ => nix::unistd::isatty(1).unwrap_or(false),
        }
}

/// `up --menu` / `COMPOSE_MENU`: compose's navigation menu (the shortcut bar under the
/// logs: `w` toggles watch, `v`/`o` open Docker Desktop). berth has no menu, so asking
/// for it where compose would draw it (an attached `up` on a terminal) is refused rather
/// than silently ignored. Where compose draws none, berth accepts the same values
/// (`--menu` with `-d`, stdout not a terminal); a bad `--menu` value gets pflag's error,
/// a bad `COMPOSE_MENU` counts as false (compose's utils.StringToBool).
fn menu_refused(o: &UpOpts) -> Result<(), Failure> {
    let wanted = match &o.menu {
        Some(v) => go_bool("menu", v)?,
        None => std::env::var("COMPOSE_MENU")
            .ok()
            .and_then(|v| go_bool("menu", &v.to_lowercase()).ok())
            .unwrap_or(false),
    };
    let terminal =
        nix::unistd::isatty(0).unwrap_or(false) && nix::unistd::isatty(1).unwrap_or(false);
    if wanted && !o.detach && terminal {
        return Err(Failure::new(
            "the navigation menu of an attached `up` (--menu or COMPOSE_MENU) is not supported by berth compose: run it with --menu=false (or COMPOSE_MENU=false), or detached with -d",
            1,
        ));
    }
    Ok(())
}

pub fn cmd_up(ctx: &mut Ctx, g: &Global, inv: &Invocation, args: &[String]) -> CmdResult {
    let mut o: UpOpts = parse(inv, args)?;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    o.began = format!("{}.{:09}", now.as_secs(), now.subsec_nanos());
    validate_up_flags(&mut o)?;
    menu_refused(&o)?;
    o.color = log_color(g, o.no_color);
    if let Some(p) = &o.pull {
        if !matches!(p.as_str(), "always" | "missing" | "never" | "build") {
            return Err(Failure::new(format!("invalid --pull option {p:?}"), 1));
        }
    }
    let mut p = load_for(g, &o.services)?;
    let api = api(ctx)?;
    use_api_socket(ctx, &mut p)?;
    let scale = parse_scale(&o.scale)?;
    for k in scale.keys() {
        if !p.services.contains_key(k) {
            return Err(Failure::new(format!("no such service: {k}"), 1));
        }
    }
    let chosen = selected(&p, &o.services)?;
    let services: BTreeSet<String> = if o.no_deps {
        chosen.iter().cloned().collect()
    } else {
        crate::graph::with_dependencies(&p, &chosen)
    };
    if let Some(e) = &o.exit_code_from {
        if !services.contains(e) {
            return Err(Failure::new(format!("no such service: {e}"), 1));
        }
    }
    for n in &services {
        runtime::check_supported(&p.services[n]).map_err(fail)?;
    }
    let progress = Progress::new(g.progress.as_deref());
    let orphan_list = orphans(&api, &p)?;
    if !orphan_list.is_empty() {
        if o.remove_orphans {
            runtime::stop_in_reverse(&api, &p, &orphan_list, o.timeout, true, false, &progress)
                .map_err(fail)?;
        } else {
            let names: Vec<String> = orphan_list.iter().map(|c| c.name()).collect();
            progress.note(&crate::cli::warn_line(&format!(
                "Found orphan containers ([{}]) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.",
                names.join(" ")
            )));
        }
    }
    let (nets, vols) = resources(&p, &services);
    runtime::check_externals(&api, &p, &nets, &vols).map_err(fail)?;
    // What the services need: images first (nothing is created if one is missing).
    let policy = ImagePolicy {
        build: if o.build {
            Some(true)
        } else if o.no_build {
            Some(false)
        } else {
            None
        },
        pull: o.pull.as_deref(),
        quiet: o.quiet_pull,
        quiet_build: o.quiet_build,
        parallel: g.parallel,
    };
    let images = prepare_images(ctx, &api, &p, &services, policy, &progress)?;
    // A foreground `up` shows the post_start hooks' output, as compose's does.
    let hook_lines = (!o.detach).then(runtime::HookLines::default);
    // compose asks before recreating a volume whose configuration changed (-y: yes).
    let confirm = |msg: &str| o.yes || crate::cli::confirm(msg);
    let r = runtime::ensure_networks(&api, &p, &nets, &services, &progress)
        .and_then(|_| runtime::ensure_volumes(&api, &p, &vols, &services, &confirm, &progress))
        .and_then(|_| {
            runtime::converge(
                &api,
                &p,
                &services,
                &images,
                &Converge {
                    force_recreate: o.force_recreate,
                    no_recreate: o.no_recreate,
                    no_start: o.no_start,
                    timeout: o.timeout,
                    scale,
                    wait_deps: true,
                    quiet_start: !o.detach,
                    // compose: no service named means all are.
                    named: (!o.services.is_empty()).then(|| chosen.iter().cloned().collect()),
                    always_recreate_deps: o.always_recreate_deps,
                    renew_anon_volumes: o.renew_anon_volumes,
                    hook_lines: hook_lines.clone(),
                },
                &progress,
            )
        });
    progress.finish();
    r.map_err(fail)?;
    if o.no_start {
        return Ok(0);
    }
    if api.dry_run && !o.detach {
        // What compose 2.40 prints (stdout, exit 0) instead of attaching or watching.
        println!("end of 'compose up' output, interactive run is not supported in dry-run mode");
        return Ok(0);
    }
    let hooks = hook_lines
        .map(|l| std::mem::take(&mut *l.lock().unwrap_or_else(|e| e.into_inner())))
        .unwrap_or_default();
    if o.watch {
        return up_and_watch(ctx, g, inv, &api, &p, &services, &chosen, &o, hooks);
    }
    if o.detach {
        if o.wait {
            return wait_ready(&api, &p, &services, o.wait_timeout, &progress);
        }
        return Ok(0);
    }
    attach_and_wait(&api, &p, &services, &chosen, &o, hooks)
}

/// compose 2.40's validateFlags for `up`, in its order and with its messages:
/// `--exit-code-from` implies `--abort-on-container-exit`, `--wait` implies `--detach`,
/// and the attach-mode flags (`--watch` among them) are refused with either.
fn validate_up_flags(o: &mut UpOpts) -> Result<(), Failure> {
    let refuse = |m: &str| Err(Failure::new(m, 1));
    if o.exit_code_from.is_some() && !o.abort_on_failure {
        o.abort_on_exit = true;
    }
    if o.abort_on_exit && o.abort_on_failure {
        return refuse(
            "--abort-on-container-failure cannot be combined with --abort-on-container-exit",
        );
    }
    if o.wait {
        if o.attach_dependencies || o.abort_on_exit || !o.attach.is_empty() {
            return refuse(
                "--wait cannot be combined with --abort-on-container-exit, --attach or --attach-dependencies",
            );
        }
        o.detach = true;
    }
    if o.build && o.no_build {
        return refuse("--build and --no-build are incompatible");
    }
    if o.detach
        && (o.attach_dependencies
            || o.abort_on_exit
            || o.abort_on_failure
            || !o.attach.is_empty()
            || o.watch)
    {
        let flag = if o.wait { "--wait" } else { "--detach" };
        return refuse(&format!("{flag} cannot be combined with --abort-on-container-exit, --abort-on-container-failure, --attach, --attach-dependencies or --watch"));
    }
    if o.force_recreate && o.no_recreate {
        return refuse("--force-recreate and --no-recreate are incompatible");
    }
    if o.always_recreate_deps && o.no_recreate {
        return refuse("--always-recreate-deps and --no-recreate are incompatible");
    }
    if o.no_build && o.watch {
        return refuse("--no-build and --watch are incompatible");
    }
    Ok(())
}

/// compose's useAPISocket: each service with `use_api_socket: true` gets the engine's
/// socket bind-mounted at /var/run/docker.sock, the client's stored credentials as a
/// config file at /run/secrets/docker/config.json (content written at start, as
/// compose's `#apisocket` config) and `DOCKER_CONFIG=/run/secrets/docker` unless the
/// service sets DOCKER_CONFIG itself.
///
/// The socket mounted: compose 2.40 always binds the daemon host's /var/run/docker.sock,
/// the default engine socket. berth's daemon listens elsewhere (/run/berth/berth.sock by
/// default, a test daemon anywhere), and /var/run/docker.sock may be another engine's or
/// absent (the daemon would then create an empty directory there), so when berth talks
/// to the daemon over a unix socket it mounts that socket, the one of the engine running
/// the container; over tcp/ssh it mounts /var/run/docker.sock as compose does.
fn use_api_socket(ctx: &Ctx, p: &mut Project) -> Result<(), Failure> {
    if !p.services.values().any(|s| s.use_api_socket) {
        return Ok(());
    }
    let host = ctx.endpoint()?.host;
    let socket = host
        .strip_prefix("unix://")
        .unwrap_or("/var/run/docker.sock");
    let creds = berth_cli::commands::registry::all_credentials()
        .map_err(|e| Failure::new(format!("resolving credentials failed: {e}"), 1))?;
    p.configs.insert(
        "#apisocket".into(),
        crate::model::FileObject {
            content: Some(api_socket_config(&creds)),
            ..Default::default()
        },
    );
    for s in p.services.values_mut().filter(|s| s.use_api_socket) {
        s.volumes.push(crate::model::ServiceVolume {
            kind: "bind".into(),
            source: socket.to_string(),
            target: "/var/run/docker.sock".into(),
            ..Default::default()
        });
        s.environment
            .entry("DOCKER_CONFIG".into())
            .or_insert_with(|| Some("/run/secrets/docker".into()));
        s.configs.push(crate::model::FileRef {
            source: "#apisocket".into(),
            target: "/run/secrets/docker/config.json".into(),
            ..Default::default()
        });
    }
    Ok(())
}

/// The config file compose writes for `use_api_socket`: the docker CLI's
/// ConfigFile.SaveToWriter of a file holding only the credentials (each reduced to its
/// `auth` string and the tokens; tab-indented JSON as Go's MarshalIndent).
fn api_socket_config(creds: &BTreeMap<String, berth_api::models::AuthConfig>) -> String {
    use base64::Engine as _;
    use serde::Serialize;
    let mut auths = serde_json::Map::new();
    for (k, a) in creds {
        let mut e = serde_json::Map::new();
        if !a.username.is_empty() || !a.password.is_empty() {
            let raw = format!("{}:{}", a.username, a.password);
            e.insert(
                "auth".into(),
                base64::engine::general_purpose::STANDARD.encode(raw).into(),
            );
        }
        for (key, v) in [
            ("email", &a.email),
            ("identitytoken", &a.identitytoken),
            ("registrytoken", &a.registrytoken),
        ] {
            if !v.is_empty() {
                e.insert(key.into(), v.clone().into());
            }
        }
        auths.insert(k.clone(), e.into());
    }
    let doc = serde_json::json!({ "auths": auths });
    let mut out = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(
        &mut out,
        serde_json::ser::PrettyFormatter::with_indent(b"\t"),
    );
    if doc.serialize(&mut ser).is_err() {
        return "{\n\t\"auths\": {}\n}".into();
    }
    String::from_utf8(out).unwrap_or_default()
}

/// `up --watch`: the services' logs (unless detached) while their watch rules run.
#[allow(clippy::too_many_arguments)]
fn up_and_watch(
    ctx: &mut Ctx,
    g: &Global,
    inv: &Invocation,
    api: &Api,
    p: &Project,
    services: &BTreeSet<String>,
    chosen: &[String],
    o: &UpOpts,
    hooks: Vec<runtime::HookLine>,
) -> CmdResult {
    let rules = crate::watch::rules(p, services).map_err(fail)?;
    let quiet = o.quiet_build;
    let mut rebuild = |svcs: &[String]| rebuild_services(ctx, g, inv, p, svcs, true, quiet);
    if o.detach {
        let say = |l: &str| println!("{l}");
        crate::watch::run(api, p, &rules, &mut rebuild, &|| true, &say).map_err(fail)?;
        return Ok(0);
    }
    // compose's watch logger among the logs: `⦿` in the name column. compose prints
    // "Watch enabled" before "Attaching to": the logs wait for it (a few seconds at most,
    // should the watch fail to start).
    let log_opts = up_log_opts(o, Vec::new(), None);
    let enabled = Arc::new(AtomicBool::new(false));
    let say = |l: &str| {
        println!("{}", logs::watch_line(&log_opts, l));
        enabled.store(true, Ordering::SeqCst);
    };
    let attached = {
        let (api, p, services, chosen, o) = (
            api.clone(),
            p.clone(),
            services.clone(),
            chosen.to_vec(),
            o.clone(),
        );
        let enabled = enabled.clone();
        std::thread::spawn(move || {
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
            while !enabled.load(Ordering::SeqCst) && std::time::Instant::now() < deadline {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            attach_and_wait(&api, &p, &services, &chosen, &o, hooks)
        })
    };
    let keep = || !attached.is_finished();
    crate::watch::run(api, p, &rules, &mut rebuild, &keep, &say).map_err(fail)?;
    match attached.join() {
        Ok(r) => r,
        Err(_) => Err(Failure::new("log streaming failed", 1)),
    }
}

/// A watch `rebuild`: the services' images rebuilt and their containers recreated (`up -d
/// --build --no-deps`), the images they replaced removed when nothing uses them any more
/// (compose's `--prune`).
fn rebuild_services(
    ctx: &mut Ctx,
    g: &Global,
    inv: &Invocation,
    p: &Project,
    svcs: &[String],
    prune: bool,
    quiet: bool,
) -> runtime::OpResult<()> {
    let api = api(ctx).map_err(|e| OpError(e.msg))?;
    if api.dry_run {
        // compose's dry-run rebuild shows the fake build output alone: no progress
        // lines, nothing of the recreation.
        for n in svcs {
            if let Some(s) = p.services.get(n) {
                dry_run_build(None, n, &super::image_name(&p.name, n, s));
            }
        }
        return Ok(());
    }
    let before: Vec<String> = svcs
        .iter()
        .filter_map(|n| p.services.get(n).map(|s| super::image_name(&p.name, n, s)))
        .filter_map(|img| api.image(&img).ok().flatten().map(|i| i.id))
        .collect();
    let mut args = vec!["-d".to_string(), "--build".into(), "--no-deps".into()];
    if quiet {
        args.push("--quiet-build".into());
    }
    args.extend(svcs.iter().cloned());
    let up = up_invocation(inv);
    match cmd_up(ctx, g, &up, &args) {
        Ok(0) => {}
        Ok(code) => return Err(OpError(format!("rebuild exited with code {code}"))),
        Err(e) => return Err(OpError(e.msg)),
    }
    if prune {
        for id in before {
            // Refused while tagged or in use: then it is not dangling, keep it.
            let _ = api.remove_image(&id);
        }
    }
    Ok(())
}

/// `up --wait`: every container running (healthy when it has a healthcheck).
fn wait_ready(
    api: &Api,
    p: &Project,
    services: &BTreeSet<String>,
    timeout: Option<u64>,
    progress: &Progress,
) -> CmdResult {
    let start = std::time::Instant::now();
    let list = containers_of(
        api,
        &p.name,
        &services.iter().cloned().collect::<Vec<_>>(),
        true,
    )?;
    for c in list {
        let id = format!("Container {}", c.name());
        progress.event(&id, "Waiting", false);
        if api.dry_run {
            // Nothing was started: nothing to wait for.
            progress.event(&id, "Healthy", true);
            continue;
        }
        loop {
            let i = api.inspect(&c.id)?;
            let healthy = match i.state.health.as_ref().map(|h| h.status.as_str()) {
                Some("healthy") | None => i.state.running,
                Some("unhealthy") => {
                    progress.error(&id, "Unhealthy");
                    return Err(Failure::new(
                        format!("container {} is unhealthy", c.name()),
                        1,
                    ));
                }
                _ => false,
            };
            if healthy {
                progress.event(&id, "Healthy", true);
                break;
            }
            if !i.state.running && i.state.status == "exited" {
                progress.error(&id, "Exited");
                return Err(Failure::new(
                    format!("container {} exited ({})", c.name(), i.state.exit_code),
                    1,
                ));
            }
            if timeout.is_some_and(|t| start.elapsed().as_secs() >= t) {
                return Err(Failure::new("application not healthy after timeout", 1));
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
    progress.finish();
    Ok(0)
}

/// What a foreground `up` stops on abort or Ctrl-C: compose stops the services named on
/// its command line (not their dependencies), or the whole project when none is named.
fn stop_scope(api: &Api, project: &str, named: &[String]) -> Vec<Summary> {
    containers_of(api, project, named, false).unwrap_or_default()
}

/// Foreground `up`: the attached services' logs until every container stopped (or, with
/// --abort-on-container-exit, the first one); Ctrl-C stops the project's containers.
/// `hooks`: the post_start hooks' output, shown first.
fn attach_and_wait(
    api: &Api,
    p: &Project,
    services: &BTreeSet<String>,
    chosen: &[String],
    o: &UpOpts,
    hooks: Vec<runtime::HookLine>,
) -> CmdResult {
    let mut attach: BTreeSet<String> = if !o.attach.is_empty() {
        o.attach.iter().cloned().collect()
    } else if o.attach_dependencies {
        services.clone()
    } else {
        chosen
            .iter()
            .filter(|n| p.services[*n].attach != Some(false))
            .cloned()
            .collect()
    };
    for n in &o.no_attach {
        attach.remove(n);
    }
    let list = containers_of(
        api,
        &p.name,
        &services.iter().cloned().collect::<Vec<_>>(),
        true,
    )?;
    let attached: Vec<Summary> = list
        .iter()
        .filter(|c| attach.contains(c.service()))
        .cloned()
        .collect();
    // On stdout and without the project prefix, as docker compose prints it.
    let names: Vec<String> = attached
        .iter()
        .map(|c| logs::display_name(&p.name, c))
        .collect();
    println!("Attaching to {}", names.join(", "));
    let stop = Arc::new(AtomicBool::new(false));
    let interrupted = Arc::new(AtomicBool::new(false));
    {
        let flag = interrupted.clone();
        let _ = ctrlc_flag(flag);
    }
    let exit_code = Arc::new(std::sync::Mutex::new(0i64));
    let ended: Arc<std::sync::Mutex<BTreeSet<String>>> = Arc::default();
    let opts = up_log_opts(o, hooks, Some(ended.clone()));
    let palette = opts.palette.clone();
    std::thread::scope(|scope| {
        // Watches the containers: ends when all stopped, or at the first with --abort-*.
        let watcher = {
            let stop = stop.clone();
            let interrupted = interrupted.clone();
            let exit_code = exit_code.clone();
            let list = list.clone();
            let attach = attach.clone();
            let ended = ended.clone();
            scope.spawn(move || {
                let mut reported = BTreeSet::new();
                loop {
                    if interrupted.load(Ordering::SeqCst) {
                        // compose 2.40's fmt.Println: on stdout, among the logs.
                        println!("Gracefully Stopping... press Ctrl+C again to force");
                        let progress = Progress::new(None);
                        let all = stop_scope(api, &p.name, &o.services);
                        let _ = runtime::stop_in_reverse(
                            api, p, &all, o.timeout, false, false, &progress,
                        );
                        progress.finish();
                        *exit_code.lock().unwrap_or_else(|e| e.into_inner()) = 130;
                        break;
                    }
                    let mut running = 0;
                    let mut aborted = false;
                    // Re-read: a watch rebuild replaces containers while attached.
                    let current = containers_of(
                        api,
                        &p.name,
                        &services.iter().cloned().collect::<Vec<_>>(),
                        true,
                    )
                    .unwrap_or_else(|_| list.clone());
                    for c in &current {
                        // Only the attached containers keep `up` in the foreground (the
                        // dependencies it started stay up after), as in docker compose.
                        let shown = attach.is_empty() || attach.contains(c.service());
                        if !shown {
                            continue;
                        }
                        let Ok(i) = api.inspect(&c.id) else { continue };
                        if i.state.running {
                            running += 1;
                        } else if reported.insert(c.id.clone()) {
                            // After the container's last lines (its stream ended).
                            let deadline =
                                std::time::Instant::now() + std::time::Duration::from_secs(3);
                            while std::time::Instant::now() < deadline
                                && !ended.lock().map(|e| e.contains(&c.id)).unwrap_or(true)
                            {
                                std::thread::sleep(std::time::Duration::from_millis(20));
                            }
                            let name = logs::display_name(&p.name, c);
                            let color = palette
                                .lock()
                                .ok()
                                .and_then(|m| m.get(&c.id).copied())
                                .unwrap_or(0);
                            let msg = format!("exited with code {}", i.state.exit_code);
                            print!("{}", logs::status_line(o.color, color, &name, &msg));
                            if o.exit_code_from.as_deref() == Some(c.service()) {
                                *exit_code.lock().unwrap_or_else(|e| e.into_inner()) =
                                    i.state.exit_code;
                            }
                            if o.abort_on_exit || (o.abort_on_failure && i.state.exit_code != 0) {
                                aborted = true;
                                if o.exit_code_from.is_none() {
                                    *exit_code.lock().unwrap_or_else(|e| e.into_inner()) =
                                        i.state.exit_code;
                                }
                            }
                        }
                    }
                    if aborted {
                        eprintln!("Aborting on container exit...");
                        let progress = Progress::new(None);
                        let all = stop_scope(api, &p.name, &o.services);
                        let _ = runtime::stop_in_reverse(
                            api, p, &all, o.timeout, false, false, &progress,
                        );
                        progress.finish();
                        break;
                    }
                    if running == 0 {
                        break;
                    }
                    std::thread::sleep(std::time::Duration::from_millis(200));
                }
                stop.store(true, Ordering::SeqCst);
            })
        };
        let keep = || !stop.load(Ordering::SeqCst);
        logs::show(api, &p.name, attached, Some(attach.clone()), opts, &keep);
        let _ = watcher.join();
    });
    let code = *exit_code.lock().unwrap_or_else(|e| e.into_inner());
    Ok(code as i32)
}

/// How a foreground `up` shows the logs: followed from when this `up` began (docker
/// compose attaches before starting, so earlier runs' output is not shown), with the
/// watch logger's width when watching.
fn up_log_opts(
    o: &UpOpts,
    hooks: Vec<runtime::HookLine>,
    ended: Option<Arc<std::sync::Mutex<BTreeSet<String>>>>,
) -> LogOpts {
    LogOpts {
        follow: true,
        color: o.color,
        prefix: !o.no_log_prefix,
        since: Some(o.began.clone()),
        ended,
        hooks,
        watch: o.watch,
        watch_color: !o.no_color,
        width: o.log_width.clone(),
        ..Default::default()
    }
}

/// SIGINT/SIGTERM set `flag` instead of killing the process (a second one exits).
fn ctrlc_flag(flag: Arc<AtomicBool>) -> std::io::Result<()> {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    static FLAG: std::sync::OnceLock<Arc<AtomicBool>> = std::sync::OnceLock::new();
    let _ = FLAG.set(flag);
    extern "C" fn on_signal(_: libc::c_int) {
        if let Some(f) = FLAG.get() {
            if f.swap(true, Ordering::SeqCst) {
                // SAFETY: _exit is async-signal-safe.
                unsafe { libc::_exit(130) };
            }
        }
    }
    let action = SigAction::new(
        SigHandler::Handler(on_signal),
        SaFlags::SA_RESTART,
        SigSet::empty(),
    );
    // SAFETY: the handler only touches an atomic and calls _exit.
    unsafe {
        let _ = sigaction(Signal::SIGINT, &action);
        let _ = sigaction(Signal::SIGTERM, &action);
    }
    Ok(())
}

#[derive(Parser, Debug)]
#[command(name = "down", disable_help_flag = true)]
struct DownOpts {
    #[arg(short = 'v', long)]
    volumes: bool,
    #[arg(long)]
    rmi: Option<String>,
    #[arg(long = "remove-orphans")]
    remove_orphans: bool,
    #[arg(short = 't', long)]
    timeout: Option<i64>,
    services: Vec<String>,
}

pub fn cmd_down(ctx: &mut Ctx, g: &Global, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: DownOpts = parse(inv, args)?;
    if let Some(r) = &o.rmi {
        if !matches!(r.as_str(), "local" | "all") {
            return Err(Failure::new(format!("invalid --rmi option {r:?}"), 1));
        }
    }
    let (p, name) = project_or_name(g, &[])?;
    check_named(&p, &o.services)?;
    let api = api(ctx)?;
    let p = p.unwrap_or_else(|| Project {
        name: name.clone(),
        ..Default::default()
    });
    let progress = Progress::new(g.progress.as_deref());
    let mut list = api.project_containers(&name, true, true)?;
    if !o.services.is_empty() {
        list.retain(|c| o.services.iter().any(|s| s == c.service()));
    }
    let known: BTreeSet<&String> = p.services.keys().chain(p.disabled.keys()).collect();
    // Services of profiles not enabled are left running (neither targets nor orphans), as
    // docker compose leaves them; their network then stays "still in use".
    list.retain(|c| !p.disabled.contains_key(c.service()));
    let (orph, mine): (Vec<Summary>, Vec<Summary>) = list.into_iter().partition(|c| {
        !known.contains(&c.service().to_string()) && !c.oneoff() && !p.services.is_empty()
    });
    if !orph.is_empty() && !o.remove_orphans {
        let names: Vec<String> = orph.iter().map(|c| c.name()).collect();
        progress.note(&crate::cli::warn_line(&format!(
            "Found orphan containers ([{}]) for this project. If you removed or renamed this service in your compose file, you can run this command with the --remove-orphans flag to clean it up.",
            names.join(" ")
        )));
    }
    let mut targets = mine;
    if o.remove_orphans {
        targets.extend(orph);
    }
    let r = runtime::stop_in_reverse(&api, &p, &targets, o.timeout, true, o.volumes, &progress);
    if let Err(e) = r {
        progress.finish();
        return Err(fail(e));
    }
    if o.services.is_empty() {
        // Networks of the project (by label), unless still in use.
        for n in api.networks_labelled(&format!("{LABEL_PROJECT}={name}"))? {
            let id = format!("Network {}", n.name);
            progress.event(&id, "Removing", false);
            if api
                .network(&n.id)
                .ok()
                .flatten()
                .is_some_and(|i| i.containers.as_ref().is_some_and(|c| !c.is_empty()))
            {
                progress.event(&id, "Resource is still in use", true);
                continue;
            }
            match api.remove_network(&n.id) {
                Ok(()) => progress.event(&id, "Removed", true),
                Err(e) => {
                    progress.error(&id, "Error");
                    progress.note(&crate::cli::warn_line(&e.message()));
                }
            }
        }
        if o.volumes {
            for v in api.volumes_labelled(&format!("{LABEL_PROJECT}={name}"))? {
                let id = format!("Volume {}", v.name);
                progress.event(&id, "Removing", false);
                match api.remove_volume(&v.name) {
                    Ok(()) => progress.event(&id, "Removed", true),
                    Err(e) => {
                        progress.error(&id, "Error");
                        progress.note(&crate::cli::warn_line(&e.message()));
                    }
                }
            }
        }
        if let Some(r) = &o.rmi {
            // compose names each image once, tagged (`busybox:latest`), and takes an image
            // still in use as a warning line.
            let mut seen = BTreeSet::new();
            for (n, s) in &p.services {
                if r == "local" && !s.image.is_empty() {
                    continue;
                }
                let image = with_default_tag(&image_name(&p.name, n, s));
                if !seen.insert(image.clone()) {
                    continue;
                }
                if api.image(&image)?.is_some() {
                    let id = format!("Image {image}");
                    progress.event(&id, "Removing", false);
                    match api.remove_image(&image) {
                        Ok(()) => progress.event(&id, "Removed", true),
                        Err(e) if e.status() == Some(409) => {
                            progress.event(&id, "Resource is still in use", true)
                        }
                        Err(e) => {
                            progress.error(&id, "Error");
                            progress.note(&crate::cli::warn_line(&e.message()));
                        }
                    }
                }
            }
        }
    }
    progress.finish();
    Ok(0)
}

/// `name` with `:latest` when it has neither tag nor digest, as compose prints it.
fn with_default_tag(name: &str) -> String {
    let last = name.rsplit('/').next().unwrap_or(name);
    if last.contains(':') || last.contains('@') {
        name.to_string()
    } else {
        format!("{name}:latest")
    }
}

#[derive(Parser, Debug)]
#[command(name = "create", disable_help_flag = true)]
struct CreateOpts {
    #[arg(long)]
    build: bool,
    #[arg(long = "no-build")]
    no_build: bool,
    #[arg(long, num_args = 0..=1, default_missing_value = "always")]
    pull: Option<String>,
    #[arg(long = "force-recreate")]
    force_recreate: bool,
    #[arg(long = "no-recreate")]
    no_recreate: bool,
    #[arg(long = "remove-orphans")]
    remove_orphans: bool,
    #[arg(long)]
    scale: Vec<String>,
    #[arg(long = "quiet-pull")]
    quiet_pull: bool,
    #[arg(short = 'y', long)]
    yes: bool,
    services: Vec<String>,
}

pub fn cmd_create(ctx: &mut Ctx, g: &Global, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: CreateOpts = parse(inv, args)?;
    let mut up_args: Vec<String> = vec!["--no-start".into()];
    if o.build {
        up_args.push("--build".into());
    }
    if o.no_build {
        up_args.push("--no-build".into());
    }
    if let Some(pl) = o.pull {
        up_args.push(format!("--pull={pl}"));
    }
    if o.force_recreate {
        up_args.push("--force-recreate".into());
    }
    if o.no_recreate {
        up_args.push("--no-recreate".into());
    }
    if o.remove_orphans {
        up_args.push("--remove-orphans".into());
    }
    if o.quiet_pull {
        up_args.push("--quiet-pull".into());
    }
    for s in o.scale {
        up_args.push(format!("--scale={s}"));
    }
    if o.yes {
        up_args.push("--yes".into());
    }
    up_args.extend(o.services);
    cmd_up(ctx, g, inv, &up_args)
}

#[derive(Parser, Debug)]
#[command(name = "start", disable_help_flag = true)]
struct ServicesOnly {
    #[arg(long)]
    wait: bool,
    #[arg(long = "wait-timeout")]
    wait_timeout: Option<u64>,
    services: Vec<String>,
}

pub fn cmd_start(ctx: &mut Ctx, g: &Global, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: ServicesOnly = parse(inv, args)?;
    let (p, name) = project_or_name(g, &o.services)?;
    check_named(&p, &o.services)?;
    let api = api(ctx)?;
    let progress = Progress::new(g.progress.as_deref());
    let list = containers_of(&api, &name, &o.services, true)?;
    if list.is_empty() {
        return Err(Failure::new(
            "service(s) not found or no containers to start",
            1,
        ));
    }
    // Dependencies first when the model is known.
    let order: Vec<String> = match &p {
        Some(p) => crate::graph::waves(p, &list.iter().map(|c| c.service().to_string()).collect())
            .into_iter()
            .flatten()
            .collect(),
        None => list.iter().map(|c| c.service().to_string()).collect(),
    };
    let mut done = BTreeSet::new();
    // compose starts a service's containers in the daemon's list order, newest first.
    let mut list = list;
    runtime::sort_newest_first(&api, &name, &mut list, |c| c.id.as_str()).map_err(fail)?;
    for svc in order {
        for c in list.iter().filter(|c| c.service() == svc) {
            if !done.insert(c.id.clone()) || c.running() {
                continue;
            }
            let id = format!("Container {}", c.name());
            progress.event(&id, "Starting", false);
            if let Some(s) = p
                .as_ref()
                .and_then(|p| p.services.get(&svc).map(|s| (p, s)))
            {
                crate::files::inject(&api, s.0, s.1, &c.id).map_err(fail)?;
            }
            api.start(&c.id)?;
            if let Some(s) = p.as_ref().and_then(|p| p.services.get(&svc)) {
                runtime::run_hooks(&api, s, &c.id, &s.post_start).map_err(|e| fail(e.into()))?;
            }
            progress.event(&id, "Started", true);
        }
    }
    progress.finish();
    if o.wait {
        if let Some(p) = &p {
            let s: BTreeSet<String> = list.iter().map(|c| c.service().to_string()).collect();
            return wait_ready(
                &api,
                p,
                &s,
                o.wait_timeout,
                &Progress::new(g.progress.as_deref()),
            );
        }
    }
    Ok(0)
}

#[derive(Parser, Debug)]
#[command(name = "stop", disable_help_flag = true)]
struct StopOpts {
    #[arg(short = 't', long)]
    timeout: Option<i64>,
    #[arg(long = "no-deps")]
    no_deps: bool,
    services: Vec<String>,
}

pub fn cmd_stop(ctx: &mut Ctx, g: &Global, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: StopOpts = parse(inv, args)?;
    let (p, name) = project_or_name(g, &o.services)?;
    check_named(&p, &o.services)?;
    let api = api(ctx)?;
    let p = p.unwrap_or_else(|| Project {
        name: name.clone(),
        ..Default::default()
    });
    let progress = Progress::new(g.progress.as_deref());
    let list: Vec<Summary> = containers_of(&api, &name, &o.services, false)?;
    let r = runtime::stop_in_reverse(&api, &p, &list, o.timeout, false, false, &progress);
    progress.finish();
    r.map_err(fail)?;
    Ok(0)
}

/// compose's restart: in dependency order (when the model is known), the containers of
/// the services whose dependencies are done restarted in parallel.
pub fn cmd_restart(ctx: &mut Ctx, g: &Global, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: StopOpts = parse(inv, args)?;
    let (p, name) = project_or_name(g, &o.services)?;
    check_named(&p, &o.services)?;
    let api = api(ctx)?;
    let progress = Progress::new(g.progress.as_deref());
    let mut list = containers_of(&api, &name, &o.services, true)?;
    runtime::sort_newest_first(&api, &name, &mut list, |c| c.id.as_str()).map_err(fail)?;
    let services: BTreeSet<String> = list.iter().map(|c| c.service().to_string()).collect();
    let mut waves: Vec<Vec<String>> = match &p {
        Some(p) => crate::graph::waves(p, &services),
        None => Vec::new(),
    };
    // Services the model does not know (or no model): after the others, one by one.
    let known: BTreeSet<&String> = waves.iter().flatten().collect();
    let rest: Vec<String> = services
        .iter()
        .filter(|s| !known.contains(s))
        .cloned()
        .collect();
    waves.extend(rest.into_iter().map(|s| vec![s]));
    let mut result = Ok(());
    for wave in waves {
        let batch: Vec<&Summary> = list
            .iter()
            .filter(|c| wave.iter().any(|w| w == c.service()))
            .collect();
        let results: Vec<Result<(), Failure>> = std::thread::scope(|scope| {
            let hs: Vec<_> = batch
                .iter()
                .map(|c| {
                    let (api, progress, p) = (&api, &progress, &p);
                    scope.spawn(move || -> Result<(), Failure> {
                        let id = format!("Container {}", c.name());
                        let svc = p.as_ref().and_then(|p| p.services.get(c.service()));
                        // compose's restart: the pre_stop hooks first (a container not
                        // running, which the exec answers with 409, has none to run) ...
                        if let Some(s) = svc {
                            match runtime::run_hooks(api, s, &c.id, &s.pre_stop) {
                                Ok(()) => {}
                                Err(runtime::HookError::Api(e))
                                    if matches!(e.status(), Some(404 | 409)) => {}
                                Err(e) => return Err(fail(e.into())),
                            }
                        }
                        progress.event(&id, "Restarting", false);
                        api.restart(&c.id, o.timeout)?;
                        progress.event(&id, "Started", true);
                        // ... and the post_start hooks after "Started".
                        if let Some(s) = svc {
                            runtime::run_hooks(api, s, &c.id, &s.post_start)
                                .map_err(|e| fail(e.into()))?;
                        }
                        Ok(())
                    })
                })
                .collect();
            hs.into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(Failure::new("internal error", 1)))
                })
                .collect()
        });
        if let Some(e) = results.into_iter().find_map(Result::err) {
            result = Err(e);
            break;
        }
    }
    progress.finish();
    result?;
    Ok(0)
}

#[derive(Parser, Debug)]
#[command(name = "kill", disable_help_flag = true)]
struct KillOpts {
    #[arg(short = 's', long, default_value = "SIGKILL")]
    signal: String,
    #[arg(long = "remove-orphans")]
    remove_orphans: bool,
    services: Vec<String>,
}

pub fn cmd_kill(ctx: &mut Ctx, g: &Global, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: KillOpts = parse(inv, args)?;
    let (p, name) = project_or_name(g, &o.services)?;
    check_named(&p, &o.services)?;
    let api = api(ctx)?;
    let progress = Progress::new(g.progress.as_deref());
    let list = containers_of(&api, &name, &o.services, false)?;
    if list.is_empty() {
        return Err(Failure::new("no container to kill", 1));
    }
    for c in list {
        let id = format!("Container {}", c.name());
        progress.event(&id, "Killing", false);
        api.kill(&c.id, &o.signal)?;
        progress.event(&id, "Killed", true);
    }
    progress.finish();
    Ok(0)
}

#[derive(Parser, Debug)]
#[command(name = "rm", disable_help_flag = true)]
struct RmOpts {
    #[arg(short = 'f', long)]
    force: bool,
    #[arg(short = 's', long)]
    stop: bool,
    #[arg(short = 'v', long)]
    volumes: bool,
    services: Vec<String>,
}

pub fn cmd_rm(ctx: &mut Ctx, g: &Global, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: RmOpts = parse(inv, args)?;
    let (p, name) = project_or_name(g, &o.services)?;
    check_named(&p, &o.services)?;
    let api = api(ctx)?;
    let p = p.unwrap_or_else(|| Project {
        name: name.clone(),
        ..Default::default()
    });
    let progress = Progress::new(g.progress.as_deref());
    let mut list = containers_of(&api, &name, &o.services, true)?;
    if o.stop {
        let running: Vec<Summary> = list.iter().filter(|c| c.running()).cloned().collect();
        runtime::stop_in_reverse(&api, &p, &running, None, false, false, &progress)
            .map_err(fail)?;
        if api.dry_run {
            // Nothing was stopped: the containers count as stopped, as they would be.
            for c in &mut list {
                c.state = "exited".into();
            }
        } else {
            list = containers_of(&api, &name, &o.services, true)?;
        }
    }
    let stopped: Vec<Summary> = list.into_iter().filter(|c| !c.running()).collect();
    if stopped.is_empty() {
        eprintln!("No stopped containers");
        return Ok(0);
    }
    let names: Vec<String> = stopped.iter().map(|c| c.name()).collect();
    let msg = format!("Going to remove {}", names.join(", "));
    if o.force {
        // compose 2.40 prints the list on stdout with -f too, without asking.
        println!("{msg}");
    } else if !berth_cli::commands::confirm(&msg) {
        return Ok(0);
    }
    for c in stopped {
        let id = format!("Container {}", c.name());
        progress.event(&id, "Removing", false);
        api.remove(&c.id, false, o.volumes)?;
        progress.event(&id, "Removed", true);
    }
    progress.finish();
    Ok(0)
}

fn pause_like(
    ctx: &mut Ctx,
    g: &Global,
    inv: &Invocation,
    args: &[String],
    pause: bool,
) -> CmdResult {
    let o: ServicesOnly = parse(inv, args)?;
    let (p, name) = project_or_name(g, &o.services)?;
    check_named(&p, &o.services)?;
    let api = api(ctx)?;
    let progress = Progress::new(g.progress.as_deref());
    for c in containers_of(&api, &name, &o.services, false)? {
        let id = format!("Container {}", c.name());
        // compose shows only the outcome, no "Pausing" step.
        api.pause(&c.id, pause)?;
        progress.event(&id, if pause { "Paused" } else { "Unpaused" }, true);
    }
    progress.finish();
    Ok(0)
}

pub fn cmd_pause(ctx: &mut Ctx, g: &Global, inv: &Invocation, args: &[String]) -> CmdResult {
    pause_like(ctx, g, inv, args, true)
}

pub fn cmd_unpause(ctx: &mut Ctx, g: &Global, inv: &Invocation, args: &[String]) -> CmdResult {
    pause_like(ctx, g, inv, args, false)
}

#[derive(Parser, Debug)]
#[command(name = "ps", disable_help_flag = true)]
struct PsOpts {
    #[arg(short = 'a', long)]
    all: bool,
    #[arg(short = 'q', long)]
    quiet: bool,
    #[arg(long)]
    services: bool,
    #[arg(long)]
    status: Vec<String>,
    #[arg(long)]
    filter: Vec<String>,
    #[arg(long, default_value = "table")]
    format: String,
    #[arg(long = "no-trunc")]
    no_trunc: bool,
    /// `--orphans=false`: leaves out containers of services the project does not declare.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    orphans: Option<bool>,
    services_args: Vec<String>,
}

/// compose's publishers: the list's ports sorted by container port (a stable sort, as
/// Go's for so few), as (URL, TargetPort, PublishedPort, Protocol).
fn publishers(c: &Summary) -> Vec<&PortSummary> {
    let mut ports: Vec<&PortSummary> = c.ports.iter().collect();
    ports.sort_by_key(|p| p.private_port);
    ports
}

/// compose ps's Ports column: the docker CLI's DisplayablePorts over the publishers.
fn ports_column(c: &Summary) -> String {
    let list: Vec<berth_api::models::PortSummary> = publishers(c)
        .iter()
        .map(|p| berth_api::models::PortSummary {
            ip: Some(p.ip.clone().unwrap_or_default()),
            public_port: Some(p.public_port.unwrap_or(0)),
            ..(*p).clone()
        })
        .collect();
    berth_cli::commands::containers::display_ports(&list)
}

/// One `compose ps --format json` line as compose 2.40 writes it: the docker CLI's
/// formatter marshals the row as a Go map (keys sorted) with json.Marshal, so `<`, `>`,
/// `&`, U+2028 and U+2029 are escaped; Publishers are structs (field order kept).
fn ps_json_line(row: &serde_json::Value, pubs: &[&PortSummary]) -> String {
    let mut sorted: BTreeMap<String, serde_json::Value> = row
        .as_object()
        .map(|o| o.iter().map(|(k, v)| (k.clone(), v.clone())).collect())
        .unwrap_or_default();
    let list: Vec<serde_json::Value> = pubs
        .iter()
        .map(|p| {
            let mut o = serde_json::Map::new();
            o.insert("URL".into(), p.ip.clone().unwrap_or_default().into());
            o.insert("TargetPort".into(), p.private_port.into());
            o.insert("PublishedPort".into(), p.public_port.unwrap_or(0).into());
            o.insert("Protocol".into(), p.kind.clone().into());
            serde_json::Value::Object(o)
        })
        .collect();
    sorted.insert("Publishers".into(), serde_json::Value::Array(list));
    // serde_json keeps insertion order here (preserve_order): the keys go in sorted.
    let m: serde_json::Map<String, serde_json::Value> = sorted.into_iter().collect();
    let s = serde_json::to_string(&serde_json::Value::Object(m)).unwrap_or_default();
    s.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// The row a `compose ps --format` template runs on, as compose's ContainerContext:
/// Publishers are Go structs (`{{.Publishers}}` prints `[{0.0.0.0 80 8080 tcp}]`) and
/// `{{json .}}` is the row's MarshalJSON, the `json` format's line.
fn ps_template_row(
    row: &serde_json::Value,
    pubs: &[&PortSummary],
    json: String,
) -> berth_cli::format::Value {
    use berth_cli::format::{go_struct, Value};
    let mut m = match berth_cli::format::from_json(row) {
        Value::Map(m) => (*m).clone(),
        _ => Default::default(),
    };
    let list: Vec<Value> = pubs
        .iter()
        .map(|p| {
            go_struct(&[
                ("URL", Value::String(p.ip.as_deref().unwrap_or("").into())),
                ("TargetPort", Value::Int(p.private_port.into())),
                (
                    "PublishedPort",
                    Value::Int(p.public_port.unwrap_or(0).into()),
                ),
                ("Protocol", Value::String(p.kind.as_str().into())),
            ])
        })
        .collect();
    m.insert("Publishers".into(), Value::List(list.into()));
    berth_cli::format::with_json(Value::Map(Arc::new(m)), json)
}

pub fn cmd_ps(ctx: &mut Ctx, g: &Global, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: PsOpts = parse(inv, args)?;
    let (p, name) = project_or_name(g, &o.services_args)?;
    check_named(&p, &o.services_args)?;
    let api = api(ctx)?;
    let mut list = containers_of(&api, &name, &o.services_args, true)?;
    if let (Some(false), Some(p)) = (o.orphans, &p) {
        list.retain(|c| p.services.contains_key(c.service()));
    }
    let mut status: Vec<String> = o.status.clone();
    for f in &o.filter {
        match f.split_once('=') {
            Some(("status", v)) => status.push(v.to_string()),
            _ => return Err(Failure::new(format!("invalid filter {f:?}"), 1)),
        }
    }
    if !status.is_empty() {
        list.retain(|c| status.iter().any(|s| s == &c.state));
    } else if !o.all {
        list.retain(|c| c.running());
    }
    if o.services {
        let mut s: Vec<String> = list.iter().map(|c| c.service().to_string()).collect();
        s.dedup();
        for n in s {
            println!("{n}");
        }
        return Ok(0);
    }
    if o.quiet {
        for c in &list {
            println!("{}", c.id);
        }
        return Ok(0);
    }
    let trunc = !o.no_trunc;
    let mut rows = Vec::new();
    let mut json_lines = Vec::new();
    for c in &list {
        // compose inspects every container: Health while running, ExitCode once exited.
        let (health, exit_code) = match api.inspect(&c.id) {
            Ok(i) => match i.state.status.as_str() {
                "running" => (i.state.health.map(|h| h.status).unwrap_or_default(), 0),
                "exited" | "dead" => (String::new(), i.state.exit_code),
                _ => (String::new(), 0),
            },
            Err(e) if e.status() == Some(404) => continue,
            Err(e) => return Err(Failure::new(e.message(), 1)),
        };
        let command = if trunc {
            berth_cli::commands::containers::ellipsis(&c.command, 20)
        } else {
            c.command.clone()
        };
        let mounts: Vec<String> = c
            .mounts
            .iter()
            .map(|m| {
                let name = match m.name.as_ref() {
                    Some(n) if !n.is_empty() => n,
                    _ => &m.source,
                };
                if trunc {
                    berth_cli::commands::containers::ellipsis(name, 15)
                } else {
                    name.clone()
                }
            })
            .collect();
        let local = c
            .mounts
            .iter()
            .filter(|m| m.driver.as_deref() == Some("local"))
            .count();
        let networks: Vec<&String> = c.network_settings.networks.keys().collect();
        let pubs = publishers(c);
        let v = serde_json::json!({
            "ID": if trunc { c.id.chars().take(12).collect::<String>() } else { c.id.clone() },
            "Name": c.name(),
            "Names": c.name(),
            "Image": c.image,
            "Command": berth_cli::commands::containers::go_quote(&command),
            "Project": c.labels.get(LABEL_PROJECT).cloned().unwrap_or_default(),
            "Service": c.service(),
            "CreatedAt": berth_cli::commands::containers::go_time_string(c.created),
            "RunningFor": chrono_ago(c.created),
            "State": c.state,
            "Status": c.status,
            "Health": health,
            "ExitCode": exit_code,
            "Ports": ports_column(c),
            "Labels": c.labels.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(","),
            "LocalVolumes": local.to_string(),
            "Mounts": mounts.join(","),
            "Networks": networks.iter().map(|n| n.as_str()).collect::<Vec<_>>().join(","),
            "Size": "0B",
        });
        let line = ps_json_line(&v, &pubs);
        rows.push(ps_template_row(&v, &pubs, line.clone()));
        json_lines.push(line);
    }
    // `json` is the docker CLI formatter's json.Marshal of the row, escaping as Go does.
    if o.format.trim() == "json" {
        for l in json_lines {
            println!("{l}");
        }
        return Ok(0);
    }
    let mut out = std::io::stdout().lock();
    berth_cli::format::render_list_go(
        &mut out,
        &o.format,
        "table {{.Name}}\t{{.Image}}\t{{.Command}}\t{{.Service}}\t{{.RunningFor}}\t{{.Status}}\t{{.Ports}}",
        &[
            ("Name", "NAME"),
            ("Image", "IMAGE"),
            ("Command", "COMMAND"),
            ("Service", "SERVICE"),
            ("RunningFor", "CREATED"),
            ("Status", "STATUS"),
            ("Ports", "PORTS"),
            ("ID", "CONTAINER ID"),
            ("State", "STATE"),
            ("Project", "PROJECT"),
            ("Labels", "LABELS"),
            ("Size", "SIZE"),
            ("CreatedAt", "CREATED AT"),
        ],
        &rows,
    )
    .map_err(|e| {
        // compose's formatter reports a field its ContainerContext lacks as a parse error,
        // naming the type.
        let msg = match e.0.strip_prefix("failed to execute template: ") {
            Some(rest) if rest.contains("can't evaluate field") => {
                format!("template parsing error: {rest} in type *formatter.ContainerContext")
            }
            _ => e.0,
        };
        Failure::new(msg, 1)
    })?;
    Ok(0)
}

fn chrono_ago(created: i64) -> String {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(created);
    let d = std::time::Duration::from_secs((now - created).max(0) as u64);
    format!("{} ago", berth_api::human::duration(d))
}

#[derive(Parser, Debug)]
#[command(name = "logs", disable_help_flag = true)]
struct LogsOpts {
    #[arg(short = 'f', long)]
    follow: bool,
    #[arg(short = 'n', long)]
    tail: Option<String>,
    #[arg(short = 't', long)]
    timestamps: bool,
    #[arg(long)]
    since: Option<String>,
    #[arg(long)]
    until: Option<String>,
    #[arg(long = "no-color")]
    no_color: bool,
    #[arg(long = "no-log-prefix")]
    no_log_prefix: bool,
    #[arg(long)]
    index: Option<i64>,
    services: Vec<String>,
}

pub fn cmd_logs(ctx: &mut Ctx, g: &Global, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: LogsOpts = parse(inv, args)?;
    let (p, name) = project_or_name(g, &o.services)?;
    check_named(&p, &o.services)?;
    let api = api(ctx)?;
    let mut list = containers_of(&api, &name, &o.services, true)?;
    if let Some(i) = o.index {
        list.retain(|c| c.number() == i);
    }
    // The docker client's GetTimestamp, as compose's ContainerLogs call sends them: an
    // RFC 3339 date or a duration ("10m": that long before now) as unix seconds, which is
    // all the Engine API takes.
    let now = chrono::Utc::now();
    let stamp = |flag: &str, v: &str| {
        berth_cli::units::get_timestamp(v, now)
            .map_err(|e| Failure::new(format!("invalid value for {flag:?}: {e}"), 1))
    };
    let window = o
        .since
        .as_deref()
        .map(|v| stamp("since", v))
        .transpose()
        .and_then(|s| {
            Ok((
                s,
                o.until.as_deref().map(|v| stamp("until", v)).transpose()?,
            ))
        });
    let (since, until) = match window {
        Ok(w) => w,
        // compose parses the values in each container's logs call: with no container,
        // nothing fails and nothing is printed.
        Err(_) if list.is_empty() => return Ok(0),
        Err(e) => return Err(e),
    };
    let opts = LogOpts {
        follow: o.follow,
        tail: o.tail.clone(),
        timestamps: o.timestamps,
        since,
        until,
        color: log_color(g, o.no_color),
        prefix: !o.no_log_prefix,
        // compose's `logs -f` reports each followed container's exit.
        exits: o.follow,
        ..Default::default()
    };
    let services: Option<BTreeSet<String>> = if o.services.is_empty() {
        None
    } else {
        Some(o.services.iter().cloned().collect())
    };
    // Following ends when no container of the selection runs any more.
    let keep = || {
        containers_of(&api, &name, &o.services, false)
            .map(|l| !l.is_empty())
            .unwrap_or(false)
    };
    logs::show(&api, &name, list, services, opts, &keep);
    Ok(0)
}

#[derive(Parser, Debug)]
#[command(name = "exec", disable_help_flag = true, trailing_var_arg = true)]
struct ExecOpts {
    #[arg(short = 'd', long)]
    detach: bool,
    #[arg(short = 'T', long = "no-TTY")]
    no_tty: bool,
    #[arg(short = 'e', long = "env")]
    env: Vec<String>,
    #[arg(short = 'w', long = "workdir")]
    workdir: Option<String>,
    #[arg(short = 'u', long)]
    user: Option<String>,
    #[arg(long)]
    privileged: bool,
    #[arg(long, default_value_t = 1)]
    index: i64,
    #[arg(short = 'i', long, default_value_t = true)]
    interactive: bool,
    #[arg(short = 't', long)]
    tty: bool,
    service: String,
    #[arg(allow_hyphen_values = true)]
    command: Vec<String>,
}

pub fn cmd_exec(ctx: &mut Ctx, g: &Global, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: ExecOpts = parse(inv, args)?;
    if o.command.is_empty() {
        return Err(inv.needs("at least", 2));
    }
    let (_p, name) = project_or_name(g, std::slice::from_ref(&o.service))?;
    let api = api(ctx)?;
    let list = containers_of(&api, &name, std::slice::from_ref(&o.service), false)?;
    let Some(c) = list.iter().find(|c| c.number() == o.index) else {
        return Err(Failure::new(
            format!("service {:?} is not running", o.service),
            1,
        ));
    };
    let mut eargs: Vec<String> = Vec::new();
    if o.detach {
        eargs.push("-d".into());
    } else {
        eargs.push("-i".into());
        if !o.no_tty && nix::unistd::isatty(0).unwrap_or(false) {
            eargs.push("-t".into());
        }
    }
    for e in &o.env {
        eargs.extend(["-e".into(), e.clone()]);
    }
    if let Some(w) = &o.workdir {
        eargs.extend(["-w".into(), w.clone()]);
    }
    if let Some(u) = &o.user {
        eargs.extend(["-u".into(), u.clone()]);
    }
    if o.privileged {
        eargs.push("--privileged".into());
    }
    eargs.push(c.id.clone());
    eargs.extend(o.command.iter().cloned());
    let inv = Invocation {
        path: "exec".into(),
        usage: "[OPTIONS] CONTAINER COMMAND [ARG...]",
    };
    berth_cli::commands::exec::cmd_exec(ctx, &inv, &eargs)
}

#[derive(Parser, Debug)]
#[command(name = "run", disable_help_flag = true, trailing_var_arg = true)]
struct RunOpts {
    #[arg(long)]
    rm: bool,
    #[arg(short = 'd', long)]
    detach: bool,
    #[arg(short = 'e', long = "env")]
    env: Vec<String>,
    #[arg(short = 'l', long = "label")]
    label: Vec<String>,
    #[arg(long)]
    name: Option<String>,
    #[arg(long = "no-deps")]
    no_deps: bool,
    #[arg(short = 'T', long = "no-TTY")]
    no_tty: bool,
    #[arg(long)]
    entrypoint: Option<String>,
    #[arg(short = 'p', long = "publish")]
    publish: Vec<String>,
    #[arg(long = "service-ports")]
    service_ports: bool,
    #[arg(long = "use-aliases")]
    use_aliases: bool,
    #[arg(short = 'v', long = "volume")]
    volume: Vec<String>,
    #[arg(short = 'w', long = "workdir")]
    workdir: Option<String>,
    #[arg(short = 'u', long)]
    user: Option<String>,
    #[arg(short = 'i', long, default_value_t = true)]
    interactive: bool,
    #[arg(long)]
    build: bool,
    #[arg(long = "quiet-pull")]
    quiet_pull: bool,
    #[arg(long = "quiet-build")]
    quiet_build: bool,
    /// Don't print anything to STDOUT (no progress; the container's output stays).
    #[arg(short = 'q', long)]
    quiet: bool,
    #[arg(long = "remove-orphans")]
    remove_orphans: bool,
    service: String,
    #[arg(allow_hyphen_values = true)]
    command: Vec<String>,
}

pub fn cmd_run(ctx: &mut Ctx, g: &Global, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: RunOpts = parse(inv, args)?;
    let mut p = load_for(g, std::slice::from_ref(&o.service))?;
    if !p.services.contains_key(&o.service) {
        return Err(Failure::new(format!("no such service: {}", o.service), 1));
    }
    let api = api(ctx)?;
    let progress = Progress::new(if o.quiet {
        Some("quiet")
    } else {
        g.progress.as_deref()
    });
    // Dependencies are brought up first (unless --no-deps).
    let deps: BTreeSet<String> = if o.no_deps {
        BTreeSet::new()
    } else {
        let mut d = crate::graph::with_dependencies(&p, std::slice::from_ref(&o.service));
        d.remove(&o.service);
        d
    };
    let mut needed = deps.clone();
    needed.insert(o.service.clone());
    for n in &needed {
        runtime::check_supported(&p.services[n]).map_err(fail)?;
    }
    let (nets, vols) = resources(&p, &needed);
    runtime::check_externals(&api, &p, &nets, &vols).map_err(fail)?;
    let policy = ImagePolicy {
        build: o.build.then_some(true),
        pull: None,
        quiet: o.quiet_pull || o.quiet,
        quiet_build: o.quiet_build || o.quiet,
        parallel: g.parallel,
    };
    // `run`'s pulls keep its earlier form: nothing at all when quiet.
    let silent = Progress::new(Some("quiet"));
    let pull_progress = if o.quiet_pull || o.quiet {
        &silent
    } else {
        &progress
    };
    let images = prepare_images(ctx, &api, &p, &needed, policy, pull_progress)?;
    runtime::ensure_networks(&api, &p, &nets, &needed, &progress).map_err(fail)?;
    // compose 2.40's `run` has no -y: it asks.
    runtime::ensure_volumes(&api, &p, &vols, &needed, &crate::cli::confirm, &progress)
        .map_err(fail)?;
    if !deps.is_empty() {
        runtime::converge(
            &api,
            &p,
            &deps,
            &images,
            &Converge {
                no_recreate: true,
                wait_deps: true,
                ..Default::default()
            },
            &progress,
        )
        .map_err(fail)?;
    }
    progress.finish();
    // The one-off container: the service with the command line's overrides.
    let Some(s) = p.services.get_mut(&o.service) else {
        return Err(Failure::new(format!("no such service: {}", o.service), 1));
    };
    if !o.command.is_empty() {
        s.command = Some(o.command.clone());
    }
    if let Some(e) = &o.entrypoint {
        s.entrypoint = Some(crate::normalize::shell_split(e).unwrap_or_default());
    }
    for e in &o.env {
        match e.split_once('=') {
            Some((k, v)) => s.environment.insert(k.to_string(), Some(v.to_string())),
            None => s.environment.insert(e.clone(), std::env::var(e).ok()),
        };
    }
    for l in &o.label {
        let (k, v) = l.split_once('=').unwrap_or((l.as_str(), ""));
        s.labels.insert(k.to_string(), v.to_string());
    }
    if let Some(w) = &o.workdir {
        s.working_dir = w.clone();
    }
    if let Some(u) = &o.user {
        s.user = u.clone();
    }
    if !o.service_ports {
        s.ports.clear();
    }
    for pspec in &o.publish {
        s.ports
            .extend(crate::normalize::parse_port(pspec).map_err(|e| Failure::new(e, 1))?);
    }
    for v in &o.volume {
        let parts: Vec<&str> = v.splitn(3, ':').collect();
        let (src, dst, mode) = match parts.as_slice() {
            [a, b] => (*a, *b, ""),
            [a, b, m] => (*a, *b, *m),
            _ => return Err(Failure::new(format!("invalid volume spec {v:?}"), 1)),
        };
        let bind = src.starts_with('/') || src.starts_with('.');
        s.volumes.push(crate::model::ServiceVolume {
            kind: if bind { "bind".into() } else { "volume".into() },
            source: if bind {
                crate::normalize::resolve_path(&std::env::current_dir().unwrap_or_default(), src)
            } else {
                src.to_string()
            },
            target: dst.to_string(),
            read_only: mode.split(',').any(|m| m == "ro"),
            bind: bind.then(|| crate::model::VolumeBind {
                create_host_path: true,
                ..Default::default()
            }),
            ..Default::default()
        });
    }
    let tty = !o.no_tty && !o.detach && nix::unistd::isatty(0).unwrap_or(false);
    s.tty = tty || (s.tty && !o.no_tty);
    s.stdin_open = !o.detach;
    s.restart.clear();
    let s = s.clone();
    let suffix: String = {
        use std::io::Read;
        let mut b = [0u8; 6];
        let _ = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut b));
        hex::encode(b)
    };
    let cname = o
        .name
        .clone()
        .unwrap_or_else(|| format!("{}-{}-run-{}", p.name, s.name, suffix));
    let image_id = images.get(&s.name).cloned().unwrap_or_default();
    let labels = runtime::container_labels(&p, &s, 1, true, &image_id);
    let peers = runtime::Peers {
        first_container: p
            .services
            .values()
            .map(|x| (x.name.clone(), runtime::container_name(&p, x, 1)))
            .collect(),
        first_id: api
            .project_containers(&p.name, true, false)?
            .into_iter()
            .map(|c| (c.service().to_string(), c.id.clone()))
            .collect(),
    };
    let mut body = runtime::container_body(
        &p,
        &s,
        &image_name(&p.name, &s.name, &s),
        labels,
        &cname,
        &peers,
        o.use_aliases,
    )
    .map_err(fail)?;
    body.config.attach_stdin = !o.detach;
    body.config.stdin_once = !o.detach;
    body.config.open_stdin = !o.detach;
    body.config.tty = s.tty;
    body.host_config.auto_remove = false;
    let id = api.create(&cname, &body)?;
    for key in runtime::networks_by_priority(&s).iter().skip(1) {
        if let Some(n) = p.networks.get(key) {
            api.connect(
                &n.name,
                &id,
                &runtime::endpoint(&s, key, &cname, o.use_aliases),
            )?;
        }
    }
    crate::files::inject(&api, &p, &s, &id).map_err(fail)?;
    if o.detach {
        api.start(&id)?;
        // compose 2.40 prints the container's id (not its name).
        println!("{id}");
        return Ok(0);
    }
    let inv = Invocation {
        path: "start".into(),
        usage: "[OPTIONS] CONTAINER [CONTAINER...]",
    };
    let code = berth_cli::commands::containers::cmd_start(
        ctx,
        &inv,
        &["-a".into(), "-i".into(), id.clone()],
    );
    if o.rm {
        let _ = api.remove(&id, true, true);
    }
    code
}

#[derive(Parser, Debug)]
#[command(name = "build", disable_help_flag = true)]
struct BuildCmd {
    #[arg(long = "no-cache")]
    no_cache: bool,
    #[arg(long)]
    pull: bool,
    #[arg(short = 'q', long)]
    quiet: bool,
    #[arg(long = "build-arg")]
    build_arg: Vec<String>,
    #[arg(long = "with-dependencies")]
    with_dependencies: bool,
    services: Vec<String>,
}

pub fn cmd_build(ctx: &mut Ctx, g: &Global, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: BuildCmd = parse(inv, args)?;
    let p = load_for(g, &o.services)?;
    let mut names = selected(&p, &o.services)?;
    if o.with_dependencies {
        names = crate::graph::with_dependencies(&p, &names)
            .into_iter()
            .collect();
    }
    let bo = BuildOpts {
        no_cache: o.no_cache,
        pull: o.pull,
        quiet: o.quiet,
        args: o.build_arg.clone(),
        for_the_engine: false,
    };
    // `build -q`: compose shows no progress at all.
    let progress = Progress::new(if o.quiet {
        Some("quiet")
    } else {
        g.progress.as_deref()
    });
    progress.set_title("Building");
    let mut r = Ok(());
    for n in names {
        if p.services[&n].build.is_some() {
            r = build_service(ctx, &p, &n, &bo, &progress);
            if r.is_err() {
                break;
            }
        }
    }
    progress.finish();
    r?;
    Ok(0)
}

#[derive(Parser, Debug)]
#[command(name = "pull", disable_help_flag = true)]
struct PullOpts {
    #[arg(long = "ignore-pull-failures")]
    ignore_failures: bool,
    #[arg(short = 'q', long)]
    quiet: bool,
    #[arg(long = "include-deps")]
    include_deps: bool,
    #[arg(long)]
    policy: Option<String>,
    #[arg(long = "ignore-buildable")]
    ignore_buildable: bool,
    services: Vec<String>,
}

/// `pull`, as compose 2.40's: one line per service (` a Pulling `, ` a Pulled `,
/// ` b Error MESSAGE`, the `Skipped` reasons), and one per layer message of the daemon's
/// stream that has progress details (` LAYER Already exists `); the services at once
/// ([`pull_parallel`]), so the lines interleave as compose's do. `-q` leaves out the
/// layers only: compose 2.40 still prints the services' lines then. A failure ends the
/// command with the daemon's error unless `--ignore-pull-failures` (then the error line
/// is all that is said); a service that can be built only warns.
pub fn cmd_pull(ctx: &mut Ctx, g: &Global, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: PullOpts = parse(inv, args)?;
    let p = load_for(g, &o.services)?;
    let api = api(ctx)?;
    let names = selected_with_deps(&p, &o.services, o.include_deps)?;
    let progress = Progress::new(if o.quiet {
        Some("plain")
    } else {
        g.progress.as_deref()
    });
    progress.set_title("Pulling");
    // Image -> the service pulling it: the others sharing it are skipped, as compose's.
    let mut being_pulled: BTreeMap<String, String> = BTreeMap::new();
    let mut jobs = Vec::new();
    for n in names {
        let s = &p.services[&n];
        if s.image.is_empty() {
            progress.event_text(&n, "Skipped - No image to be pulled", true);
            continue;
        }
        let policy = o.policy.clone().unwrap_or_else(|| s.pull_policy.clone());
        let skipped = match policy.as_str() {
            "never" | "build" => Some("Skipped"),
            "missing" | "if_not_present"
                if tagged_not_latest(&s.image) && api.image(&s.image)?.is_some() =>
            {
                Some("Skipped - Image is already present locally")
            }
            _ if o.ignore_buildable && s.build.is_some() => Some("Skipped - Image can be built"),
            _ => None,
        };
        if let Some(why) = skipped {
            progress.event_text(&n, why, true);
            continue;
        }
        if let Some(by) = being_pulled.get(&s.image) {
            progress.event_text(
                &n,
                &format!("Skipped - Image is already being pulled by {by}"),
                true,
            );
            continue;
        }
        being_pulled.insert(s.image.clone(), n.clone());
        jobs.push(PullJob {
            service: n.clone(),
            image: s.image.clone(),
            // A failure of an image that can be built only warns (compose's mustBuild).
            buildable: s.build.is_some(),
        });
    }
    let (outcomes, first) = pull_parallel(
        &api.client,
        &jobs,
        &progress,
        !o.quiet,
        !o.ignore_failures,
        g.parallel,
    );
    let must_build: Vec<String> = jobs
        .iter()
        .zip(&outcomes)
        .filter(|(j, o)| j.buildable && matches!(o, PullOutcome::Failed))
        .map(|(j, _)| j.service.clone())
        .collect();
    // The first failure (in time) is the command's error, as compose's errgroup returns
    // it; with --ignore-pull-failures the error lines are all that is said.
    let result = match first {
        Some(e) if !o.ignore_failures => Err(Failure::new(e, 1)),
        _ => Ok(0),
    };
    if !must_build.is_empty() {
        progress.note(&format!(
            "WARNING: Some service image(s) must be built from source by running:\n    docker compose build {}",
            must_build.join(" ")
        ));
    }
    progress.finish();
    result
}

/// compose's imageAlreadyPresent: only an image named with a tag other than `latest`
/// counts as present for the `missing` policy of `pull`.
fn tagged_not_latest(image: &str) -> bool {
    let last = image.rsplit('/').next().unwrap_or(image);
    !image.contains('@') && last.rsplit_once(':').is_some_and(|(_, t)| t != "latest")
}

/// A layer message of a pull or push stream: its id, status, progress text (Go's
/// JSONProgress.String(): empty without sizes; the daemon's rendering of the sizes
/// otherwise) and whether it has progress details at all.
struct LayerMessage<'a> {
    id: &'a str,
    status: &'a str,
    progress: &'a str,
    detail: bool,
    /// `progressDetail`'s sizes (0 when absent).
    current: i64,
    total: i64,
}

/// Reads a pull/push stream, handing each message with an id to `each`; the error the
/// stream ends with.
fn read_stream(
    r: &mut dyn std::io::Read,
    each: &mut dyn FnMut(&LayerMessage),
) -> Result<(), String> {
    read_stream_until(r, each, &|| false).map(|_| ())
}

/// [`read_stream`] that stops (returning `Ok(false)`) as soon as `stop` says so after a
/// message; `Ok(true)` when the stream ended.
fn read_stream_until(
    r: &mut dyn std::io::Read,
    each: &mut dyn FnMut(&LayerMessage),
    stop: &dyn Fn() -> bool,
) -> Result<bool, String> {
    use serde_json::Value;
    use std::io::BufRead;
    for line in std::io::BufReader::new(r).split(b'\n') {
        if stop() {
            return Ok(false);
        }
        let line = line.map_err(|e| e.to_string())?;
        let Ok(v) = serde_json::from_slice::<Value>(line.trim_ascii()) else {
            continue;
        };
        if let Some(e) = v.get("errorDetail").or_else(|| v.get("error")) {
            let m = e
                .get("message")
                .and_then(Value::as_str)
                .or_else(|| e.as_str())
                .or_else(|| v.get("error").and_then(Value::as_str))
                .unwrap_or("unknown error");
            return Err(m.to_string());
        }
        let id = v.get("id").and_then(Value::as_str).unwrap_or("");
        if id.is_empty() {
            continue;
        }
        let n = |k: &str| {
            v.pointer(&format!("/progressDetail/{k}"))
                .and_then(Value::as_i64)
                .unwrap_or(0)
        };
        let sized = n("current") > 0 || n("total") > 0;
        each(&LayerMessage {
            id,
            status: v.get("status").and_then(Value::as_str).unwrap_or(""),
            progress: if sized {
                v.get("progress").and_then(Value::as_str).unwrap_or("")
            } else {
                ""
            },
            detail: v.get("progressDetail").is_some(),
            current: n("current"),
            total: n("total"),
        });
    }
    Ok(!stop())
}

/// One service's image pull, run by [`pull_parallel`].
struct PullJob {
    service: String,
    image: String,
    /// The service can be built: its failure only warns and cancels nothing.
    buildable: bool,
}

/// How a [`PullJob`] ended.
#[derive(Debug, Clone, Copy, PartialEq)]
enum PullOutcome {
    Pulled,
    Failed,
    /// Cancelled by another pull's failure.
    Interrupted,
}

/// Pulls the jobs' images at once, as compose 2.40 does (an errgroup limited by
/// `--parallel`; -1 or none is no limit). Each prints ` svc Pulling `, the layer messages
/// with progress details when `layers` (compose's toPullProgressEvent), then ` svc Pulled `
/// or ` svc Error MESSAGE` (` svc Warning MESSAGE` when it can be built).
///
/// With `fail_fast`, the first failure of an image that cannot be built cancels the others,
/// as compose's errgroup context does: a pull whose request the daemon has not answered yet
/// (or that had not started) says ` svc  Interrupted` (compose's cancelled ImagePull); one
/// already streaming stops without a word, its connection closed (which ends the daemon's
/// pull, as moby ends a pull whose client went away). Which of the two a pull gets depends
/// on timing, in compose as here.
///
/// Returns each job's outcome and the first failure's error (the command's).
fn pull_parallel(
    client: &berth_cli::client::Client,
    jobs: &[PullJob],
    progress: &Progress,
    layers: bool,
    fail_fast: bool,
    limit: Option<i64>,
) -> (Vec<PullOutcome>, Option<String>) {
    use std::sync::atomic::AtomicUsize;
    use std::sync::Mutex;
    let workers = match limit {
        Some(n) if n > 0 => (n as usize).min(jobs.len()),
        _ => jobs.len(),
    };
    let next = AtomicUsize::new(0);
    let cancelled = AtomicBool::new(false);
    let first: Mutex<Option<String>> = Mutex::new(None);
    let outcomes: Vec<Mutex<PullOutcome>> = jobs
        .iter()
        .map(|_| Mutex::new(PullOutcome::Interrupted))
        .collect();
    let interrupted = |job: &PullJob| progress.event_status(&job.service, "", "Interrupted", true);
    std::thread::scope(|sc| {
        for _ in 0..workers {
            sc.spawn(|| loop {
                let k = next.fetch_add(1, Ordering::SeqCst);
                let Some(job) = jobs.get(k) else { return };
                progress.event_text(&job.service, "Pulling", false);
                if cancelled.load(Ordering::SeqCst) {
                    interrupted(job);
                    continue;
                }
                let stop = || cancelled.load(Ordering::SeqCst);
                let pulled =
                    match berth_cli::commands::registry::pull_stream(client, &job.image, None) {
                        Err(_) if stop() => {
                            interrupted(job);
                            continue;
                        }
                        Err(e) => Err((e.message(), e.to_string())),
                        Ok(mut body) => {
                            if stop() {
                                interrupted(job);
                                continue;
                            }
                            read_stream_until(
                                &mut body,
                                &mut |m| {
                                    if layers && m.detail {
                                        progress.layer(&crate::progress::LayerEvent {
                                            parent: &job.service,
                                            id: m.id,
                                            status: m.status,
                                            progress: m.progress,
                                            current: m.current,
                                            total: m.total,
                                        });
                                    }
                                },
                                &stop,
                            )
                            .map_err(|m| (m.clone(), m))
                        }
                    };
                let outcome = match pulled {
                    Ok(true) => {
                        progress.event_text(&job.service, "Pulled", true);
                        PullOutcome::Pulled
                    }
                    // Stopped mid-stream: compose's cancelled decode says nothing.
                    Ok(false) => PullOutcome::Interrupted,
                    Err(_) if stop() && !job.buildable => PullOutcome::Interrupted,
                    Err((line, full)) => {
                        let word = if job.buildable { "Warning" } else { "Error" };
                        progress.event_status(&job.service, word, &line, true);
                        if fail_fast && !job.buildable {
                            let mut f = first.lock().unwrap_or_else(|p| p.into_inner());
                            f.get_or_insert(full);
                            cancelled.store(true, Ordering::SeqCst);
                        }
                        PullOutcome::Failed
                    }
                };
                *outcomes[k].lock().unwrap_or_else(|p| p.into_inner()) = outcome;
            });
        }
    });
    let first = first.into_inner().unwrap_or_else(|p| p.into_inner());
    let outcomes = outcomes
        .into_iter()
        .map(|m| m.into_inner().unwrap_or_else(|p| p.into_inner()))
        .collect();
    (outcomes, first)
}

#[derive(Parser, Debug)]
#[command(name = "push", disable_help_flag = true)]
struct PushOpts {
    #[arg(long = "ignore-push-failures")]
    ignore_failures: bool,
    #[arg(short = 'q', long)]
    quiet: bool,
    #[arg(long = "include-deps")]
    include_deps: bool,
    services: Vec<String>,
}

/// `push`, as compose 2.40's: a service without `build` or `image` is ` svc Skipped `;
/// the others push their image and their `build.tags`, each layer message a line
/// ` Pushing TAG: LAYER STATUS [PROGRESS]`; `-q` prints nothing at all. A failure ends the
/// command with its error unless `--ignore-push-failures` (then `Pushing svc: ERROR` at
/// the end). `--include-deps` adds the services' dependencies.
pub fn cmd_push(ctx: &mut Ctx, g: &Global, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: PushOpts = parse(inv, args)?;
    let p = load_for(g, &o.services)?;
    let api = api(ctx)?;
    let names = selected_with_deps(&p, &o.services, o.include_deps)?;
    let progress = Progress::new(if o.quiet {
        Some("quiet")
    } else {
        g.progress.as_deref()
    });
    let mut tails = Vec::new();
    for n in names {
        let s = &p.services[&n];
        let Some(build) = s.build.as_ref().filter(|_| !s.image.is_empty()) else {
            progress.event_text(&n, "Skipped", true);
            continue;
        };
        let mut tags = vec![s.image.clone()];
        tags.extend(build.tags.iter().cloned());
        for tag in tags {
            let pushed = berth_cli::commands::registry::push_stream(&api.client, &tag)
                .map_err(|e| e.to_string())
                .and_then(|mut body| {
                    read_stream(&mut body, &mut |m| {
                        progress.event_status(
                            &format!("Pushing {tag}: {}", m.id),
                            m.status,
                            m.progress,
                            false,
                        );
                    })
                });
            if let Err(e) = pushed {
                if !o.ignore_failures {
                    progress.finish();
                    return Err(Failure::new(e, 1));
                }
                tails.push(format!("Pushing {n}: {e}"));
            }
        }
    }
    progress.finish();
    for t in tails {
        progress.note(&t);
    }
    Ok(0)
}

#[derive(Parser, Debug)]
#[command(name = "images", disable_help_flag = true)]
struct ImagesOpts {
    #[arg(short = 'q', long)]
    quiet: bool,
    #[arg(long, default_value = "table")]
    format: String,
    services: Vec<String>,
}

pub fn cmd_images(ctx: &mut Ctx, g: &Global, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: ImagesOpts = parse(inv, args)?;
    let format = table::parse(&o.format).map_err(|e| Failure::new(e, 1))?;
    let (_p, name) = project_or_name(g, &o.services)?;
    let api = api(ctx)?;
    let mut list = containers_of(&api, &name, &o.services, true)?;
    list.sort_by_key(|c| c.name());
    let mut rows: Vec<ImageRow> = Vec::new();
    let mut ids: Vec<String> = Vec::new();
    for c in &list {
        let Some(img) = api.image(&c.image_id)? else {
            continue;
        };
        // -q: each image once, without the digest algorithm, as compose prints them.
        let id = img
            .id
            .split_once(':')
            .map_or(img.id.as_str(), |(_, h)| h)
            .to_string();
        if o.quiet {
            if !ids.contains(&id) {
                ids.push(id);
            }
            continue;
        }
        let (repo, tag) = match c.image.rsplit_once(':').filter(|(_, t)| !t.contains('/')) {
            Some((r, t)) => (r.to_string(), t.to_string()),
            None => (c.image.clone(), "latest".to_string()),
        };
        rows.push(ImageRow {
            container_name: c.name(),
            repository: repo,
            tag,
            id: img.id.clone(),
            os: img.os.clone(),
            architecture: img.architecture.clone(),
            variant: img.variant.clone().unwrap_or_default(),
            size: img.size as i64,
            created: go_time(&img.created),
            last_tag_time: go_time(&img.metadata.last_tag_time),
        });
    }
    if o.quiet {
        for id in ids {
            println!("{id}");
        }
        return Ok(0);
    }
    // compose 2.40: exactly `json` is its own list (compose's order is map order: any), any
    // other spelling of json (`JSON`, `{{json.}}`) the summaries by container, indented;
    // both through a JSON encoder (its newline) and Println (another).
    if o.format == "json" {
        let items: Vec<ImageJson> = rows.iter().map(ImageRow::json).collect();
        let text = if items.is_empty() {
            "null".to_string()
        } else {
            serde_json::to_string(&items).unwrap_or_default()
        };
        println!("{text}\n");
        return Ok(0);
    }
    if format != table::Format::Table {
        let map: BTreeMap<String, ImageSummary> = rows
            .iter()
            .map(|r| (r.container_name.clone(), r.summary()))
            .collect();
        let text = indented_json(&map);
        println!("{text}\n");
        return Ok(0);
    }
    let mut t = vec![[
        "CONTAINER",
        "REPOSITORY",
        "TAG",
        "PLATFORM",
        "IMAGE ID",
        "SIZE",
        "CREATED",
    ]
    .map(String::from)
    .to_vec()];
    for r in &rows {
        // compose: HumanDuration(now - LastTagTime); a zero time saturates Go's Duration
        // (292 years).
        let since = chrono::DateTime::parse_from_rfc3339(&r.last_tag_time)
            .ok()
            .filter(|t| t.timestamp() > 0)
            .map(|t| (chrono::Utc::now().timestamp_millis() - t.timestamp_millis()) as f64 / 1e3)
            .unwrap_or(i64::MAX as f64 / 1e9);
        t.push(vec![
            r.container_name.clone(),
            r.repository.clone(),
            r.tag.clone(),
            r.platform(),
            r.id.split_once(':')
                .map_or(r.id.as_str(), |(_, h)| h)
                .chars()
                .take(12)
                .collect(),
            berth_cli::units::human_size_prec(r.size as f64, 3),
            format!("{} ago", berth_cli::units::human_duration(since)),
        ]);
    }
    print!("{}", table::render(&t, 20, 3));
    Ok(0)
}

/// Go's zero time, as a time.Time field marshals when unset.
const GO_ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// A daemon time string as Go re-marshals a time.Time it parsed: RFC3339Nano, the offset
/// kept (`Z` for UTC), trailing zeros of the fraction dropped; Go's zero time if unset.
fn go_time(s: &str) -> String {
    let Ok(t) = chrono::DateTime::parse_from_rfc3339(s) else {
        return GO_ZERO_TIME.to_string();
    };
    let full = t.to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    let Some((head, rest)) = full.split_once('.') else {
        return full;
    };
    let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
    let zone = &rest[digits.len()..];
    let frac = digits.trim_end_matches('0');
    if frac.is_empty() {
        format!("{head}{zone}")
    } else {
        format!("{head}.{frac}{zone}")
    }
}

/// `value` as compose's formatter prints JSON (an encoder indenting by 4 spaces, HTML
/// characters left alone).
fn indented_json<T: serde::Serialize>(value: &T) -> String {
    let mut buf = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut buf, fmt);
    if value.serialize(&mut ser).is_err() {
        return String::new();
    }
    String::from_utf8(buf).unwrap_or_default()
}

/// What `compose images` knows of one container's image.
struct ImageRow {
    container_name: String,
    repository: String,
    tag: String,
    /// `sha256:<hex>`.
    id: String,
    os: String,
    architecture: String,
    variant: String,
    size: i64,
    /// Go-formatted (`go_time`).
    created: String,
    /// Go-formatted, Go's zero time when never tagged.
    last_tag_time: String,
}

impl ImageRow {
    /// containerd's platforms.Format: os/arch[/variant].
    fn platform(&self) -> String {
        let mut p = format!("{}/{}", self.os, self.architecture);
        if !self.variant.is_empty() {
            p = format!("{p}/{}", self.variant);
        }
        p
    }

    /// compose 2.40's `--format json` item: LastTagTime falls back to Created when the
    /// image was never tagged.
    fn json(&self) -> ImageJson {
        ImageJson {
            id: self.id.clone(),
            container_name: self.container_name.clone(),
            repository: self.repository.clone(),
            tag: self.tag.clone(),
            platform: self.platform(),
            size: self.size,
            last_tag_time: if self.last_tag_time == GO_ZERO_TIME {
                self.created.clone()
            } else {
                self.last_tag_time.clone()
            },
        }
    }

    fn summary(&self) -> ImageSummary {
        ImageSummary {
            id: self.id.clone(),
            repository: self.repository.clone(),
            tag: self.tag.clone(),
            platform: OciPlatform {
                architecture: self.architecture.clone(),
                os: self.os.clone(),
                variant: self.variant.clone(),
            },
            size: self.size,
            created: self.created.clone(),
            last_tag_time: self.last_tag_time.clone(),
        }
    }
}

/// One item of `compose images --format json` (compose's field order).
#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct ImageJson {
    #[serde(rename = "ID")]
    id: String,
    container_name: String,
    repository: String,
    tag: String,
    platform: String,
    size: i64,
    last_tag_time: String,
}

/// compose's api.ImageSummary, printed for the other JSON spellings.
#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct ImageSummary {
    #[serde(rename = "ID")]
    id: String,
    repository: String,
    tag: String,
    platform: OciPlatform,
    size: i64,
    created: String,
    last_tag_time: String,
}

/// The OCI platform as Go marshals it.
#[derive(serde::Serialize)]
struct OciPlatform {
    architecture: String,
    os: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    variant: String,
}

#[derive(Parser, Debug)]
#[command(name = "port", disable_help_flag = true)]
struct PortOpts {
    #[arg(long, default_value_t = 1)]
    index: i64,
    #[arg(long, default_value = "tcp")]
    protocol: String,
    service: String,
    private_port: String,
}

pub fn cmd_port(ctx: &mut Ctx, g: &Global, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: PortOpts = parse(inv, args)?;
    let (_p, name) = project_or_name(g, std::slice::from_ref(&o.service))?;
    let api = api(ctx)?;
    let port: u32 = o
        .private_port
        .parse()
        .map_err(|_| Failure::new(format!("invalid port {:?}", o.private_port), 1))?;
    let list = containers_of(&api, &name, std::slice::from_ref(&o.service), false)?;
    let Some(c) = list.iter().find(|c| c.number() == o.index) else {
        return Err(Failure::new(
            format!("service {:?} is not running", o.service),
            1,
        ));
    };
    match c.ports.iter().find(|pt| {
        u32::from(pt.private_port) == port
            && pt.kind == o.protocol
            && pt.public_port.is_some_and(|p| p != 0)
    }) {
        Some(pt) => {
            println!(
                "{}:{}",
                pt.ip.as_deref().unwrap_or(""),
                pt.public_port.unwrap_or(0)
            );
            Ok(0)
        }
        // compose's portNotFoundError: the container's ports as "public/protocol".
        None => Err(Failure::new(
            format!(
                "no port {port}/{} for container {}: {}",
                o.protocol,
                c.name(),
                c.ports
                    .iter()
                    .map(|pt| format!("{}/{}", pt.public_port.unwrap_or(0), pt.kind))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            1,
        )),
    }
}

pub fn cmd_top(ctx: &mut Ctx, g: &Global, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: ServicesOnly = parse(inv, args)?;
    let (_p, name) = project_or_name(g, &o.services)?;
    let api = api(ctx)?;
    let mut list = containers_of(&api, &name, &o.services, false)?;
    list.sort_by_key(|c| c.name());
    // compose 2.40: one table, SERVICE and # (the container number) first, the ps titles
    // in the order met, CMD last; a missing value is "-".
    let mut titles: Vec<String> = vec!["SERVICE".into(), "#".into()];
    let mut entries: Vec<BTreeMap<String, String>> = Vec::new();
    for c in &list {
        let top = api.top(&c.id)?;
        for t in &top.titles {
            if !titles.contains(t) {
                titles.push(t.clone());
            }
        }
        for proc in &top.processes {
            let mut e = BTreeMap::new();
            e.insert("SERVICE".to_string(), c.service().to_string());
            e.insert("#".to_string(), c.number().to_string());
            for (t, v) in top.titles.iter().zip(proc) {
                e.insert(t.clone(), v.clone());
            }
            entries.push(e);
        }
    }
    if entries.is_empty() {
        return Ok(0);
    }
    if let Some(i) = titles.iter().position(|t| t == "CMD") {
        let cmd = titles.remove(i);
        titles.push(cmd);
    }
    let mut rows = vec![titles.clone()];
    for e in &entries {
        rows.push(
            titles
                .iter()
                .map(|t| e.get(t).cloned().unwrap_or_else(|| "-".into()))
                .collect(),
        );
    }
    print!("{}", table::render(&rows, 4, 2));
    Ok(0)
}

#[derive(Parser, Debug)]
#[command(name = "ls", disable_help_flag = true)]
struct LsOpts {
    #[arg(short = 'a', long)]
    all: bool,
    #[arg(short = 'q', long)]
    quiet: bool,
    #[arg(long, default_value = "table")]
    format: String,
    #[arg(long)]
    filter: Vec<String>,
}

pub fn cmd_ls(ctx: &mut Ctx, _g: &Global, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: LsOpts = parse(inv, args)?;
    let format = table::parse(&o.format).map_err(|e| Failure::new(e, 1))?;
    let api = api(ctx)?;
    let all = api.containers(&[LABEL_PROJECT.to_string()], true)?;
    let mut projects: BTreeMap<String, (BTreeMap<String, usize>, BTreeSet<String>)> =
        BTreeMap::new();
    for c in &all {
        let Some(p) = c.labels.get(LABEL_PROJECT) else {
            continue;
        };
        let e = projects.entry(p.clone()).or_default();
        *e.0.entry(c.state.clone()).or_default() += 1;
        if let Some(f) = c.labels.get(LABEL_FILES) {
            e.1.insert(f.clone());
        }
    }
    let mut rows = Vec::new();
    for (name, (states, files)) in &projects {
        let running = states.get("running").copied().unwrap_or(0);
        if !o.all && running == 0 {
            continue;
        }
        if let Some(f) = o.filter.iter().find_map(|f| f.strip_prefix("name=")) {
            if !name.contains(f) {
                continue;
            }
        }
        if o.quiet {
            println!("{name}");
            continue;
        }
        let status = states
            .iter()
            .map(|(s, n)| format!("{s}({n})"))
            .collect::<Vec<_>>()
            .join(", ");
        rows.push(LsRow {
            name: name.clone(),
            status,
            config_files: files.iter().cloned().collect::<Vec<_>>().join(","),
        });
    }
    if o.quiet {
        return Ok(0);
    }
    let text = table::print(&format, &rows, || {
        let mut t = vec![["NAME", "STATUS", "CONFIG FILES"]
            .map(String::from)
            .to_vec()];
        t.extend(
            rows.iter()
                .map(|r| vec![r.name.clone(), r.status.clone(), r.config_files.clone()]),
        );
        table::render(&t, 20, 3)
    });
    print!("{text}");
    Ok(0)
}

/// One `compose ls` row (JSON field order as compose's).
#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct LsRow {
    name: String,
    status: String,
    config_files: String,
}

#[derive(Parser, Debug)]
#[command(name = "scale", disable_help_flag = true)]
struct ScaleOpts {
    #[arg(long = "no-deps")]
    no_deps: bool,
    specs: Vec<String>,
}

pub fn cmd_scale(ctx: &mut Ctx, g: &Global, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: ScaleOpts = parse(inv, args)?;
    let mut up: Vec<String> = vec!["-d".into()];
    if o.no_deps {
        up.push("--no-deps".into());
    }
    let mut svcs = Vec::new();
    for s in &o.specs {
        up.push(format!("--scale={s}"));
        svcs.push(s.split('=').next().unwrap_or_default().to_string());
    }
    up.extend(svcs);
    let uinv = Invocation {
        path: "compose up".into(),
        usage: "[OPTIONS] [SERVICE...]",
    };
    cmd_up(ctx, g, &uinv, &up)
}

#[derive(Parser, Debug)]
#[command(name = "wait", disable_help_flag = true)]
struct WaitOpts {
    #[arg(long = "down-project")]
    down_project: bool,
    services: Vec<String>,
}

pub fn cmd_wait(ctx: &mut Ctx, g: &Global, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: WaitOpts = parse(inv, args)?;
    let (_p, name) = project_or_name(g, &o.services)?;
    let api = api(ctx)?;
    let list = containers_of(&api, &name, &o.services, true)?;
    let mut code = 0;
    for c in &list {
        let rc = api.wait(&c.id)?;
        if code == 0 {
            code = rc;
        }
    }
    if o.down_project {
        let dinv = Invocation {
            path: "compose down".into(),
            usage: "[OPTIONS] [SERVICES]",
        };
        cmd_down(ctx, g, &dinv, &[])?;
    }
    Ok(code as i32)
}

/// compose's cp: `SERVICE:PATH` on one side. With `--index N` that replica; otherwise
/// every container of the service when copying to it and the first one the daemon lists
/// when copying from it; one-off (`run`) containers only with `--all`. Each copy is
/// `docker cp`'s (`-a`, `-L` passed on).
pub fn cmd_cp(ctx: &mut Ctx, g: &Global, _inv: &Invocation, args: &[String]) -> CmdResult {
    let mut index = 0i64;
    let mut all = false;
    let mut flags = Vec::new();
    let mut rest = Vec::new();
    let bad_index = |v: &str| {
        Failure::new(
            format!("invalid argument {v:?} for \"--index\" flag: strconv.ParseInt: parsing {v:?}: invalid syntax"),
            1,
        )
    };
    let mut i = 0;
    while i < args.len() {
        let a = args[i].as_str();
        if a == "--index" {
            let v = args.get(i + 1).map(String::as_str).unwrap_or("");
            index = v.parse().map_err(|_| bad_index(v))?;
            i += 2;
            continue;
        }
        if let Some(v) = a.strip_prefix("--index=") {
            index = v.parse().map_err(|_| bad_index(v))?;
        } else if a == "--all" {
            all = true;
        } else if matches!(
            a,
            "-a" | "--archive" | "-L" | "--follow-link" | "-aL" | "-La"
        ) {
            flags.push(a.to_string());
        } else {
            rest.push(a.to_string());
        }
        i += 1;
    }
    if rest.len() != 2 {
        return Err(Failure::new(
            "\"compose cp\" requires exactly 2 arguments.\nSee 'docker compose cp --help'.\n\nUsage:  docker compose cp [OPTIONS] SERVICE:SRC_PATH DEST_PATH|-\n\tdocker compose cp [OPTIONS] SRC_PATH|- SERVICE:DEST_PATH\n\nCopy files/folders between a service container and the local filesystem",
            1,
        ));
    }
    // compose's splitCpArg: an absolute path, or one starting with "." before the ":",
    // is local.
    let split = |a: &str| -> Option<(String, String)> {
        if a.starts_with('/') {
            return None;
        }
        match a.split_once(':') {
            Some((c, p)) if !c.starts_with('.') => Some((c.to_string(), p.to_string())),
            _ => None,
        }
    };
    let (src, dst) = (split(&rest[0]), split(&rest[1]));
    let (from, svc) = match (&src, &dst) {
        (Some(_), Some(_)) => {
            return Err(Failure::new("copying between services is not supported", 1))
        }
        (Some((s, _)), None) => (true, s.clone()),
        (None, Some((s, _))) => (false, s.clone()),
        (None, None) => return Err(Failure::new("unknown copy direction", 1)),
    };
    let (_p, name) = project_or_name(g, &[])?;
    let api = api(ctx)?;
    let targets: Vec<Summary> = if index > 0 {
        let list = containers_of(&api, &name, std::slice::from_ref(&svc), true)?;
        let c = list
            .into_iter()
            .find(|c| c.number() == index)
            .ok_or_else(|| {
                Failure::new(
                    format!("service \"{svc}\" is not running container #{index}"),
                    1,
                )
            })?;
        vec![c]
    } else {
        // The daemon's list order (newest first), as compose takes the first of it.
        let mut list: Vec<Summary> = api
            .containers(&[format!("{LABEL_PROJECT}={name}")], true)?
            .into_iter()
            .filter(|c| c.service() == svc && (all || !c.oneoff()))
            .collect();
        if list.is_empty() {
            return Err(Failure::new(
                format!("no container found for service \"{svc}\""),
                1,
            ));
        }
        if from {
            list.truncate(1);
        }
        list
    };
    let cinv = Invocation {
        path: "cp".into(),
        usage: "[OPTIONS] CONTAINER:SRC_PATH DEST_PATH|-",
    };
    for c in &targets {
        let side = |x: &Option<(String, String)>, raw: &str| match x {
            Some((_, path)) => format!("{}:{path}", c.id),
            None => raw.to_string(),
        };
        let mut a = flags.clone();
        a.push(side(&src, &rest[0]));
        a.push(side(&dst, &rest[1]));
        let code = berth_cli::commands::files::cmd_cp(ctx, &cinv, &a)?;
        if code != 0 {
            return Ok(code);
        }
    }
    Ok(0)
}

#[derive(Parser, Debug)]
#[command(name = "events", disable_help_flag = true)]
struct EventsOpts {
    #[arg(long)]
    json: bool,
    #[arg(long)]
    since: Option<String>,
    #[arg(long)]
    until: Option<String>,
    services: Vec<String>,
}

pub fn cmd_events(ctx: &mut Ctx, g: &Global, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: EventsOpts = parse(inv, args)?;
    let (_p, name) = project_or_name(g, &o.services)?;
    let api = api(ctx)?;
    let f = format!(
        "{{\"label\":{{\"{LABEL_PROJECT}={name}\":true}},\"type\":{{\"container\":true}}}}"
    );
    let mut path = format!("/events?filters={}", berth_cli::client::q(&f));
    // As the docker CLI's GetTimestamp: a duration ("1s", "10m") is that long before now.
    let now = chrono::Utc::now();
    let stamp = |v: &str| berth_cli::units::get_timestamp(v, now).map_err(|e| Failure::new(e, 1));
    if let Some(s) = &o.since {
        path.push_str(&format!("&since={}", berth_cli::client::q(&stamp(s)?)));
    }
    if let Some(u) = &o.until {
        path.push_str(&format!("&until={}", berth_cli::client::q(&stamp(u)?)));
    }
    let resp = api
        .client
        .call("GET", &path, berth_cli::client::Body::None)?;
    let de = serde_json::Deserializer::from_reader(resp.body).into_iter::<serde_json::Value>();
    for ev in de {
        let Ok(ev) = ev else { break };
        let attrs = ev.pointer("/Actor/Attributes").cloned().unwrap_or_default();
        let service = attrs
            .get(LABEL_SERVICE)
            .and_then(|s| s.as_str())
            .unwrap_or("")
            .to_string();
        if !o.services.is_empty() && !o.services.contains(&service) {
            continue;
        }
        let id = ev.get("id").and_then(|s| s.as_str()).unwrap_or("");
        let action = ev
            .get("Action")
            .or_else(|| ev.get("status"))
            .and_then(|s| s.as_str())
            .unwrap_or("");
        let t = ev.get("timeNano").and_then(|s| s.as_i64()).unwrap_or(0);
        let time = berth_cli::commands::containers::go_time_string(t / 1_000_000_000);
        if o.json {
            println!(
                "{}",
                serde_json::json!({"time": time, "type": "container", "action": action, "id": id, "service": service, "attributes": attrs})
            );
        } else {
            let mut attr_list: Vec<String> = attrs
                .as_object()
                .map(|m| {
                    m.iter()
                        .filter(|(k, _)| !k.starts_with("com.docker.compose"))
                        .map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or("")))
                        .collect()
                })
                .unwrap_or_default();
            attr_list.sort();
            println!("{time} container {action} {id} ({})", attr_list.join(", "));
        }
    }
    Ok(0)
}

/// `up` run from another command (its usage line names `up`).
fn up_invocation(inv: &Invocation) -> Invocation {
    let base = inv.path.rsplit_once(' ').map_or("", |(b, _)| b);
    Invocation {
        path: format!("{base} up").trim().to_string(),
        usage: "[OPTIONS] [SERVICE...]",
    }
}

#[derive(Parser, Debug)]
#[command(name = "watch", disable_help_flag = true)]
struct WatchOpts {
    /// Do not build and start the services first.
    #[arg(long = "no-up")]
    no_up: bool,
    /// Remove the images a rebuild replaced (default true, as compose).
    #[arg(long, default_value = "true", num_args = 0..=1, default_missing_value = "true")]
    prune: String,
    /// Hide build output.
    #[arg(long)]
    quiet: bool,
    services: Vec<String>,
}

pub fn cmd_watch(ctx: &mut Ctx, g: &Global, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: WatchOpts = parse(inv, args)?;
    // pflag reads a bool flag with Go's strconv.ParseBool: every word it takes.
    let prune = go_bool("prune", &o.prune)?;
    let p = load_for(g, &o.services)?;
    let chosen = selected(&p, &o.services)?;
    let set: BTreeSet<String> = chosen.iter().cloned().collect();
    let rules = crate::watch::rules(&p, &set).map_err(fail)?;
    if !o.no_up {
        let mut args = vec!["-d".to_string()];
        // compose's `watch --quiet` hides the build output.
        if o.quiet {
            args.push("--quiet-build".into());
        }
        args.extend(o.services.iter().cloned());
        let up = up_invocation(inv);
        let code = cmd_up(ctx, g, &up, &args)?;
        if code != 0 {
            return Ok(code);
        }
    }
    let api = api(ctx)?;
    let quiet = o.quiet;
    let mut rebuild = |svcs: &[String]| rebuild_services(ctx, g, inv, &p, svcs, prune, quiet);
    let say = |l: &str| println!("{l}");
    crate::watch::run(&api, &p, &rules, &mut rebuild, &|| true, &say).map_err(fail)?;
    Ok(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_time_marshals_as_go_does() {
        assert_eq!(go_time("2024-01-01T00:00:00Z"), "2024-01-01T00:00:00Z");
        assert_eq!(
            go_time("2026-12-06T08:21:21.244508100Z"),
            "2026-12-06T08:21:21.2445081Z"
        );
        assert_eq!(
            go_time("2025-06-21T23:35:48.534108098+07:00"),
            "2025-06-21T23:35:48.534108098+07:00"
        );
        assert_eq!(go_time(""), GO_ZERO_TIME);
        assert_eq!(go_time(GO_ZERO_TIME), GO_ZERO_TIME);
    }
}
