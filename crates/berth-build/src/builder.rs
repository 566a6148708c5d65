//! Runs a build through the engine as moby's classic builder does: one image per step (RUN
//! in an engine container whose changes the engine commits; COPY/ADD as a layer made from the
//! copied files; the other instructions as config-only images), the cache consulted before
//! each step, and docker's progress lines (`Step N/M : ...`, ` ---> id`, `Successfully
//! built ...`) sent as the JSON message stream `/build` answers with.
//!
//! A FROM image missing locally is pulled (`pull_base`, anonymously: the classic endpoint's
//! `X-Registry-Config` credentials are not read yet), `--pull` pulls every base again; the
//! pull's status lines show in the build output. Every step's image names the previous one
//! as its parent, as moby's, so `rmi` prunes the chain (berth-image `ImageStore::remove`).
//! Not yet: BuildKit-style plain progress lines, `RUN --mount=type=ssh`, cache mounts with
//! `from=`, ADD mixing URLs and local files in one instruction.

use crate::cache::{self, Cache};
use crate::copy::{self, Placement};
use crate::error::{BuildError, Result};
use crate::ignore::Matcher;
use crate::instructions::{self, CmdForm, CopySpec, HealthSpec, Instr, Instruction, Parsed};
use crate::parser;
use crate::shell;
use berth_api::models::{ContainerConfig, ContainerCreateBody, Empty, HealthConfig, JsonMessage};
use berth_engine::container::{AttachStream, WaitCondition};
use berth_engine::Engine;
use berth_image::ImageView;
use berth_inroot::Root;
use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use tokio::io::AsyncReadExt;
use tokio::sync::mpsc;

mod add_url;
mod cache_from;
mod inflight;
mod parallel;
mod step_mounts;
use step_mounts::StepMounts;

/// The PATH a stage gets when its base image sets none (moby's `oci.DefaultPathEnv`).
const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// Build args docker accepts without an ARG instruction.
const PREDEFINED_ARGS: &[&str] = &[
    "HTTP_PROXY",
    "http_proxy",
    "HTTPS_PROXY",
    "https_proxy",
    "FTP_PROXY",
    "ftp_proxy",
    "NO_PROXY",
    "no_proxy",
    "ALL_PROXY",
    "all_proxy",
];

#[derive(Debug, Clone, Default)]
pub struct BuildOptions {
    /// Path of the Dockerfile in the context (default `Dockerfile`).
    pub dockerfile: String,
    pub tags: Vec<String>,
    /// `--build-arg K=V` (value) or `--build-arg K` (None: from the client's env, unset).
    pub build_args: BTreeMap<String, Option<String>>,
    pub target: Option<String>,
    pub no_cache: bool,
    pub labels: BTreeMap<String, String>,
    /// `--secret`s for `RUN --mount=type=secret` (never in a layer or a cache key).
    pub secrets: crate::secrets::Secrets,
    /// `--pull`: fetch every base image from its registry even when it is present.
    pub pull: bool,
    /// `--cache-from`: images whose history may serve steps the local cache lacks.
    pub cache_from: Vec<String>,
    /// `rm`: a step's container is removed once the step succeeded (the API's default is
    /// true; with false every step's container stays, as moby keeps them).
    pub remove: bool,
    /// `forcerm`: a step's container is removed even when the step failed (otherwise a
    /// failed RUN's container stays for inspection, as moby leaves it).
    pub force_remove: bool,
    /// The step containers' host settings from the build's parameters (`networkmode`,
    /// `extrahosts`, `shmsize`, `ulimits`, the cgroup resources), as moby's
    /// `hostConfigFromOptions`.
    pub run_host: berth_api::models::HostConfig,
}

/// A message of the `/build` stream, as docker's JSON lines.
pub type Out = mpsc::UnboundedSender<JsonMessage>;

fn short(id: &str) -> String {
    id.strip_prefix("sha256:")
        .unwrap_or(id)
        .chars()
        .take(12)
        .collect()
}

fn go_quote_list(v: &[String]) -> String {
    let q: Vec<String> = v
        .iter()
        .map(|s| serde_json::to_string(s).unwrap_or_default())
        .collect();
    format!("[{}]", q.join(" "))
}

/// The state of the stage being built.
#[derive(Clone)]
struct StageState {
    image: String,
    cfg: ContainerConfig,
    /// ARGs in scope: name, value (None: declared without a value).
    args: Vec<(String, Option<String>)>,
    shell: Vec<String>,
    cmd_set: bool,
    /// `MAINTAINER`'s name: the Author of this stage's next images (a stage starts with none,
    /// as moby's dispatch state does).
    author: String,
}

impl StageState {
    fn env_pairs(&self) -> Vec<(String, String)> {
        self.cfg
            .env
            .iter()
            .flatten()
            .filter_map(|e| {
                e.split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
            })
            .collect()
    }

    /// What expansion sees: ARG values, then ENV (ENV wins).
    fn expand_env(&self) -> Vec<(String, String)> {
        let mut v: Vec<(String, String)> = self
            .args
            .iter()
            .filter_map(|(k, v)| v.clone().map(|v| (k.clone(), v)))
            .collect();
        v.extend(self.env_pairs());
        v
    }

    /// The build args a RUN sees as environment (those not shadowed by ENV), sorted.
    fn run_args(&self) -> Vec<String> {
        let env: HashSet<String> = self.env_pairs().into_iter().map(|(k, _)| k).collect();
        let mut v: Vec<String> = self
            .args
            .iter()
            .filter(|(k, _)| !env.contains(k))
            .filter_map(|(k, v)| v.as_ref().map(|v| format!("{k}={v}")))
            .collect();
        v.sort();
        v.dedup();
        v
    }

    fn set_env(&mut self, k: &str, v: &str) {
        let env = self.cfg.env.get_or_insert_with(Vec::new);
        let entry = format!("{k}={v}");
        match env
            .iter_mut()
            .find(|e| e.split_once('=').map(|(a, _)| a) == Some(k))
        {
            Some(e) => *e = entry,
            None => env.push(entry),
        }
    }
}

#[derive(Clone)]
pub struct Builder {
    engine: Arc<Engine>,
    context: PathBuf,
    ignore: Matcher,
    opts: BuildOptions,
    out: Out,
    cache: Cache,
    escape: char,
    /// Built stages: (image id, state) by index.
    done: Vec<Option<StageState>>,
    step: usize,
    total: usize,
    used_args: HashSet<String>,
    meta_args: Vec<(String, Option<String>)>,
    /// Dispatching a base image's ONBUILD triggers (their steps print no ` ---> id`).
    in_triggers: bool,
    /// The step keys the build's concurrent stages are building (shared by the forks).
    inflight: inflight::InFlight,
}

fn expand_err(ins: &Instruction, e: shell::ExpandError) -> BuildError {
    BuildError::parse(ins.line, e.0)
}

impl Builder {
    pub fn new(engine: Arc<Engine>, context: PathBuf, opts: BuildOptions, out: Out) -> Builder {
        let ignore = copy::read_in(&context, ".dockerignore")
            .map(|s| Matcher::parse(&String::from_utf8_lossy(&s)))
            .unwrap_or_default();
        let cache = Cache::open(&engine.cfg.data_root);
        Builder {
            engine,
            context,
            ignore,
            opts,
            out,
            cache,
            escape: '\\',
            done: Vec::new(),
            step: 0,
            total: 0,
            used_args: HashSet::new(),
            meta_args: Vec::new(),
            in_triggers: false,
            inflight: Default::default(),
        }
    }

    fn say(&self, s: impl Into<String>) {
        let _ = self.out.send(JsonMessage::stream(s));
    }

    /// A step's ` ---> id` line (none inside ONBUILD triggers: see `build_stage`).
    fn say_id(&self, id: &str) {
        if !self.in_triggers {
            self.say(format!(" ---> {}\n", short(id)));
        }
    }

    fn step_line(&mut self, original: &str) {
        self.step += 1;
        self.say(format!("Step {}/{} : {}", self.step, self.total, original));
        self.say("\n");
    }

    /// Reads and parses the Dockerfile from the context.
    fn dockerfile(&self) -> Result<Parsed> {
        let name = if self.opts.dockerfile.is_empty() {
            "Dockerfile"
        } else {
            self.opts.dockerfile.as_str()
        };
        let rel = crate::ignore::clean(name.trim_start_matches('/'));
        if rel.starts_with("..") {
            return Err(BuildError::invalid(format!(
                "Cannot locate specified Dockerfile: {name}"
            )));
        }
        // Read inside the context: a Dockerfile that is a symlink leads to a file of the
        // context, never of the host.
        let src = copy::read_in(&self.context, &rel)
            .or_else(|e| match name {
                "Dockerfile" => copy::read_in(&self.context, "dockerfile"),
                _ => Err(e),
            })
            .map_err(|_| {
                BuildError::invalid(format!("Cannot locate specified Dockerfile: {name}"))
            })?;
        let src = String::from_utf8_lossy(&src);
        let df = parser::parse(&src)?;
        if df.nodes.is_empty() {
            return Err(BuildError::invalid(format!(
                "the Dockerfile ({name}) cannot be empty"
            )));
        }
        instructions::stages(&df)
    }

    fn meta_env(&self) -> Vec<(String, String)> {
        self.meta_args
            .iter()
            .filter_map(|(k, v)| {
                let v = match self.opts.build_args.get(k) {
                    Some(Some(b)) => Some(b.clone()),
                    _ => v.clone(),
                };
                v.map(|v| (k.clone(), v))
            })
            .collect()
    }

    /// Runs the whole build; returns the final image id.
    pub async fn build(mut self) -> Result<String> {
        let mut parsed = self.dockerfile()?;
        self.escape = parsed.escape;
        for w in &parsed.warnings {
            self.say(format!("{w}\n"));
        }
        self.meta_args = parsed.meta_args.clone();
        let target = parsed.target(self.opts.target.as_deref())?;
        if !self.opts.labels.is_empty() {
            let pairs: Vec<(String, String)> = self
                .opts
                .labels
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect();
            let text = pairs
                .iter()
                .map(|(k, v)| format!("{k}={v}"))
                .collect::<Vec<_>>()
                .join(" ");
            let line = parsed.stages[target]
                .instructions
                .last()
                .map(|i| i.line)
                .unwrap_or(parsed.stages[target].line);
            parsed.stages[target].instructions.push(Instruction {
                line,
                original: format!("LABEL {text}"),
                instr: Instr::Label(
                    pairs
                        .into_iter()
                        .map(|(k, v)| {
                            (
                                serde_json::to_string(&k).unwrap_or_default(),
                                serde_json::to_string(&v).unwrap_or_default(),
                            )
                        })
                        .collect(),
                ),
            });
        }
        let meta = self.meta_env();
        let escape = self.escape;
        let expand =
            |s: &str| shell::process_word(s, &meta, escape).unwrap_or_else(|_| s.to_string());
        let needed = parsed.needed(target, &expand);
        let deps = parallel::stage_deps(&parsed, &needed, &expand);
        self.total = parallel::total_steps(&parsed, target);
        for n in parsed.meta_nodes.clone() {
            self.step_line(&n.original);
        }
        for (k, _) in &parsed.meta_args {
            // ARGs before FROM consume build args only when a FROM uses them; docker still
            // counts them as declared.
            self.used_args.insert(k.clone());
        }
        self.done = vec![None; parsed.stages.len()];
        let last = self.build_stages(&parsed, &needed, deps).await?;
        let unused: Vec<&String> = self
            .opts
            .build_args
            .keys()
            .filter(|k| !self.used_args.contains(*k) && !PREDEFINED_ARGS.contains(&k.as_str()))
            .collect();
        if !unused.is_empty() {
            let list: Vec<&str> = unused.iter().map(|s| s.as_str()).collect();
            self.say(format!(
                "[Warning] One or more build-args [{}] were not consumed\n",
                list.join(" ")
            ));
        }
        if last.is_empty() {
            return Err(BuildError::invalid(
                "No image was generated. Is your Dockerfile empty?",
            ));
        }
        self.say(format!("Successfully built {}\n", short(&last)));
        let store = self.engine.images.store().clone();
        for t in &self.opts.tags {
            let r = berth_image::Reference::parse_normalized(t)
                .map_err(|e| BuildError::invalid(e.to_string()))?
                .with_default_tag();
            let (store, id, t2) = (store.clone(), last.clone(), r.to_string());
            tokio::task::spawn_blocking(move || store.tag(&id, &t2))
                .await
                .map_err(|e| BuildError::internal("tag task", e))?
                .map_err(|e| BuildError::invalid(e.to_string()))?;
            // moby's TagImage logs the `tag` image event (with the image's labels).
            self.engine
                .images
                .event("tag", &last, &r.familiar_string())
                .await;
            self.say(format!("Successfully tagged {}\n", r.familiar_string()));
        }
        Ok(last)
    }

    async fn base_state(&mut self, parsed: &Parsed, idx: usize) -> Result<StageState> {
        let s = &parsed.stages[idx];
        let meta = self.meta_env();
        let (base, used) = shell::process_word_used(&s.base, &meta, self.escape)
            .map_err(|e| BuildError::parse(s.line, e.0))?;
        self.used_args.extend(used);
        let lower = base.to_ascii_lowercase();
        let prev = parsed.stages[..idx]
            .iter()
            .position(|o| o.name.as_deref() == Some(lower.as_str()));
        if let Some(p) = prev {
            let st = self.done[p].clone().ok_or_else(|| {
                BuildError::internal("stage order", format!("stage {p} not built"))
            })?;
            return Ok(StageState {
                args: Vec::new(),
                cmd_set: false,
                author: String::new(),
                ..st
            });
        }
        if lower == "scratch" {
            return Ok(StageState {
                image: String::new(),
                cfg: ContainerConfig {
                    env: Some(vec![format!("PATH={DEFAULT_PATH}")]),
                    ..Default::default()
                },
                args: Vec::new(),
                shell: vec!["/bin/sh".into(), "-c".into()],
                cmd_set: false,
                author: String::new(),
            });
        }
        let local = self.engine.images.get(&base).await;
        let img = match local {
            Ok(img) if !self.opts.pull => img,
            // Docker's classic builder pulls a base it does not have, and with --pull always.
            _ => {
                self.pull_base(&base).await?;
                self.engine
                    .images
                    .get(&base)
                    .await
                    .map_err(|e| BuildError::NotFound(e.to_string()))?
            }
        };
        if let Some(e) = &img.config_error {
            return Err(BuildError::internal("image config", e));
        }
        // What the image records (container-only and unknown fields left out), so step
        // keys and the images built stay what they were.
        let mut cfg: ContainerConfig = img.config.clone().for_image();
        // moby's setDefaultPath: a base image without PATH gets the default Linux one.
        let env = cfg.env.get_or_insert_with(Vec::new);
        if !env.iter().any(|e| e.starts_with("PATH=")) {
            env.push(format!("PATH={DEFAULT_PATH}"));
        }
        let shell = cfg
            .shell
            .clone()
            .unwrap_or_else(|| vec!["/bin/sh".into(), "-c".into()]);
        Ok(StageState {
            image: img.id.clone(),
            cfg,
            args: Vec::new(),
            shell,
            cmd_set: false,
            author: String::new(),
        })
    }

    /// Pulls a base image (anonymously), its progress going into the build's stream as
    /// docker's JSON messages; the pull's error fails the step.
    async fn pull_base(&self, base: &str) -> Result<()> {
        let (tx, mut rx) = mpsc::channel(64);
        let engine = self.engine.clone();
        let image = base.to_string();
        let pull =
            tokio::spawn(
                async move { engine.pull(&image, "", None, Default::default(), tx).await },
            );
        while let Some(m) = rx.recv().await {
            match m {
                Ok(m) => {
                    let _ = self.out.send(m);
                }
                Err(e) => {
                    let _ = pull.await;
                    return Err(BuildError::NotFound(e.to_string()));
                }
            }
        }
        pull.await
            .map_err(|e| BuildError::internal("pull task", e))?;
        Ok(())
    }

    async fn build_stage(&mut self, parsed: &Parsed, idx: usize) -> Result<StageState> {
        let s = parsed.stages[idx].clone();
        self.step_line(&s.original);
        let mut st = self.base_state(parsed, idx).await?;
        // The base image's ONBUILD triggers run first, and are not inherited. As moby's
        // initializeStage, their steps print no ` ---> id` of their own: the FROM's line
        // comes after them, naming the image they made.
        if let Some(triggers) = st.cfg.on_build.take().filter(|t| !t.is_empty()) {
            self.say(format!(
                "# Executing {} build trigger{}\n",
                triggers.len(),
                if triggers.len() == 1 { "" } else { "s" }
            ));
            self.in_triggers = true;
            for t in triggers {
                let r = match instructions::trigger_instruction(&t, s.line, self.escape) {
                    Ok(ins) => self.dispatch(parsed, &mut st, &ins).await,
                    Err(e) => Err(e),
                };
                if let Err(e) = r {
                    self.in_triggers = false;
                    return Err(e);
                }
            }
            self.in_triggers = false;
        }
        self.say(format!(" ---> {}\n", short(&st.image)));
        for ins in &s.instructions {
            self.step_line(&ins.original);
            self.dispatch(parsed, &mut st, ins).await?;
        }
        Ok(st)
    }

    /// Cache lookup: returns true (and moves the state on) on a hit.
    /// `created_by` (the history entry the step writes) lets `--cache-from` images serve it.
    fn cached(
        &mut self,
        st: &mut StageState,
        key: &str,
        cfg: &ContainerConfig,
        created_by: Option<&str>,
    ) -> bool {
        if self.opts.no_cache {
            return false;
        }
        let local = self.cache.get(key).map(str::to_string);
        let Some(id) = local
            .filter(|id| self.image_exists(id))
            .filter(|id| self.local_hit_allowed(id))
        else {
            return created_by.is_some_and(|cb| self.cache_source_hit(st, key, cb, cfg));
        };
        self.say(" ---> Using cache\n");
        self.say_id(&id);
        st.image = id;
        st.cfg = cfg.clone();
        true
    }

    /// moby's ImageCache with `--cache-from`: a local cache hit counts only when it is an
    /// ancestor (through `Parent`) of one of the sources; else only the sources serve.
    fn local_hit_allowed(&self, id: &str) -> bool {
        if self.opts.cache_from.is_empty() {
            return true;
        }
        let store = self.engine.images.store();
        self.opts.cache_from.iter().any(|name| {
            let Ok(src) = store.get(name) else {
                return false;
            };
            let mut parent = src.parent;
            // A parent chain is short; the bound guards against a cycle in a damaged store.
            for _ in 0..10_000 {
                if parent.is_empty() {
                    return false;
                }
                if parent == id {
                    return true;
                }
                parent = match store.get(&parent) {
                    Ok(p) => p.parent,
                    Err(_) => return false,
                };
            }
            false
        })
    }

    fn image_exists(&self, id: &str) -> bool {
        self.engine.images.store().has_image(id)
    }

    fn remember(&mut self, key: String, id: &str) {
        let store = self.engine.images.store().clone();
        self.cache.put(key, id.to_string(), |v| store.has_image(v));
    }

    fn step_key(&self, st: &StageState, what: &str, cfg: &ContainerConfig) -> String {
        let cfg_json = serde_json::to_string(cfg).unwrap_or_default();
        cache::key(&[&st.image, what, &cfg_json])
    }

    /// Commits `upper` (or nothing) on the current image with `cfg`.
    async fn commit(
        &self,
        st: &StageState,
        upper: Option<PathBuf>,
        cfg: &ContainerConfig,
        created_by: &str,
        container_id: &str,
    ) -> Result<String> {
        let store = self.engine.images.store().clone();
        let author = st.author.clone();
        let (parent, cfg, created_by, cid) = (
            st.image.clone(),
            cfg.clone(),
            created_by.to_string(),
            container_id.to_string(),
        );
        let scratch = crate::scratch_root(&self.engine.cfg.data_root);
        tokio::task::spawn_blocking(move || {
            let empty;
            let upper = match upper {
                Some(u) => u,
                None => {
                    std::fs::create_dir_all(&scratch)
                        .map_err(|e| BuildError::internal("builder tmp", e))?;
                    empty = tempfile::Builder::new()
                        .prefix("empty-")
                        .tempdir_in(&scratch)
                        .map_err(|e| BuildError::internal("builder tmp", e))?;
                    empty.path().to_path_buf()
                }
            };
            store
                .commit(&berth_image::CommitRequest {
                    parent: &parent,
                    upper: &upper,
                    config: &cfg,
                    container_id: &cid,
                    author: &author,
                    comment: "",
                    created_by: &created_by,
                    reference: None,
                })
                .map_err(|e| BuildError::internal("commit", e))
        })
        .await
        .map_err(|e| BuildError::internal("commit task", e))?
    }

    /// A config-only step: cache, then an image with an empty layer.
    async fn meta_step(
        &mut self,
        st: &mut StageState,
        cfg: ContainerConfig,
        created_by: String,
    ) -> Result<()> {
        let key = self.step_key(st, &created_by, &cfg);
        let _claim = self.claim_step(&key).await;
        if self.cached(st, &key, &cfg, Some(&created_by)) {
            return Ok(());
        }
        // With `rm=false` the step's container stays, as moby's does: a real (never
        // started) one then; otherwise an id only, as nothing runs.
        let kept = if self.opts.remove || st.image.is_empty() {
            None
        } else {
            Some(
                self.create_step_container(st, meta_cmd(&created_by))
                    .await?,
            )
        };
        let cid = kept.clone().unwrap_or_else(|| hex::encode(rand_bytes()));
        self.say(format!(" ---> Running in {}\n", &cid[..12]));
        let id = self.commit(st, None, &cfg, &created_by, &cid).await?;
        if kept.is_none() {
            self.say(format!(
                " ---> Removed intermediate container {}\n",
                &cid[..12]
            ));
        }
        self.say_id(&id);
        self.remember(key, &id);
        st.image = id;
        st.cfg = cfg;
        Ok(())
    }

    fn word(&self, st: &StageState, ins: &Instruction, s: &str) -> Result<String> {
        shell::process_word(s, &st.expand_env(), self.escape).map_err(|e| expand_err(ins, e))
    }

    fn words(&self, st: &StageState, ins: &Instruction, s: &str) -> Result<Vec<String>> {
        shell::process_words(s, &st.expand_env(), self.escape).map_err(|e| expand_err(ins, e))
    }

    fn cmd_vec(st: &StageState, c: &CmdForm) -> Vec<String> {
        match c {
            CmdForm::Exec(v) => v.clone(),
            CmdForm::Shell(s) => {
                let mut v = st.shell.clone();
                v.push(s.clone());
                v
            }
        }
    }

    async fn dispatch(
        &mut self,
        parsed: &Parsed,
        st: &mut StageState,
        ins: &Instruction,
    ) -> Result<()> {
        let nop = |s: String| format!("/bin/sh -c #(nop)  {s}");
        match &ins.instr {
            Instr::Arg(list) => {
                let mut parts = Vec::new();
                for (k, default) in list {
                    self.used_args.insert(k.clone());
                    let v = match self.opts.build_args.get(k) {
                        Some(Some(v)) => Some(v.clone()),
                        _ => match default {
                            Some(d) => Some(self.word(st, ins, d)?),
                            None => self
                                .meta_env()
                                .into_iter()
                                .find(|(mk, _)| mk == k)
                                .map(|(_, v)| v),
                        },
                    };
                    parts.push(match default {
                        Some(d) => format!("{k}={d}"),
                        None => k.clone(),
                    });
                    st.args.retain(|(a, _)| a != k);
                    st.args.push((k.clone(), v));
                }
                let cfg = st.cfg.clone();
                self.meta_step(st, cfg, nop(format!("ARG {}", parts.join(" "))))
                    .await
            }
            Instr::Env(pairs) => {
                let mut shown = Vec::new();
                let mut next = st.clone();
                for (k, v) in pairs {
                    let k = self.word(&next, ins, k)?;
                    let v = self.word(&next, ins, v)?;
                    next.set_env(&k, &v);
                    shown.push(format!("{k}={v}"));
                }
                let cfg = next.cfg.clone();
                self.meta_step(st, cfg, nop(format!("ENV {}", shown.join(" "))))
                    .await
            }
            Instr::Label(pairs) => {
                let mut cfg = st.cfg.clone();
                let mut shown = Vec::new();
                for (k, v) in pairs {
                    let k = self.word(st, ins, k)?;
                    let v = self.word(st, ins, v)?;
                    shown.push(format!("{k}={v}"));
                    cfg.labels.get_or_insert_with(BTreeMap::new).insert(k, v);
                }
                self.meta_step(st, cfg, nop(format!("LABEL {}", shown.join(" "))))
                    .await
            }
            Instr::Workdir(w) => {
                let w = self.word(st, ins, w)?;
                let abs = if w.starts_with('/') {
                    w.clone()
                } else {
                    let base = if st.cfg.working_dir.is_empty() {
                        "/"
                    } else {
                        st.cfg.working_dir.as_str()
                    };
                    format!("{base}/{w}")
                };
                let mut cfg = st.cfg.clone();
                cfg.working_dir = crate::ignore::clean(&abs);
                let by = format!("/bin/sh -c #(nop) WORKDIR {}", cfg.working_dir);
                self.meta_step(st, cfg, by).await
            }
            Instr::User(u) => {
                let u = self.word(st, ins, u)?;
                let mut cfg = st.cfg.clone();
                cfg.user = u.clone();
                self.meta_step(st, cfg, nop(format!("USER {u}"))).await
            }
            Instr::Expose(p) => {
                let mut ports = self.words(st, ins, p)?;
                let mut cfg = st.cfg.clone();
                for p in &ports {
                    let (num, proto) = p.split_once('/').unwrap_or((p.as_str(), "tcp"));
                    let valid = |n: &str| n.parse::<u16>().is_ok();
                    let ok = match num.split_once('-') {
                        Some((a, b)) => valid(a) && valid(b),
                        None => valid(num),
                    };
                    if !ok || !matches!(proto.to_ascii_lowercase().as_str(), "tcp" | "udp" | "sctp")
                    {
                        return Err(BuildError::parse(
                            ins.line,
                            format!("Invalid containerPort: {num}"),
                        ));
                    }
                    cfg.exposed_ports
                        .get_or_insert_with(BTreeMap::new)
                        .insert(format!("{num}/{}", proto.to_ascii_lowercase()), Empty);
                }
                ports.sort();
                self.meta_step(st, cfg, nop(format!("EXPOSE {}", ports.join(" "))))
                    .await
            }
            Instr::Cmd(c) => {
                let mut cfg = st.cfg.clone();
                let v = Self::cmd_vec(st, c);
                cfg.cmd = Some(v.clone());
                st.cmd_set = true;
                self.meta_step(st, cfg, nop(format!("CMD {}", go_quote_list(&v))))
                    .await
            }
            Instr::Entrypoint(c) => {
                let mut cfg = st.cfg.clone();
                let v = Self::cmd_vec(st, c);
                cfg.entrypoint = Some(v.clone());
                // An inherited CMD does not apply to a new ENTRYPOINT.
                if !st.cmd_set {
                    cfg.cmd = None;
                }
                self.meta_step(st, cfg, nop(format!("ENTRYPOINT {}", go_quote_list(&v))))
                    .await
            }
            Instr::Shell(v) => {
                let mut cfg = st.cfg.clone();
                cfg.shell = Some(v.clone());
                st.shell = v.clone();
                self.meta_step(st, cfg, nop(format!("SHELL {}", go_quote_list(v))))
                    .await
            }
            Instr::Volume(v) => {
                let mut cfg = st.cfg.clone();
                let mut shown = Vec::new();
                for p in v {
                    let p = self.word(st, ins, p)?;
                    if p.trim().is_empty() {
                        return Err(BuildError::parse(
                            ins.line,
                            "VOLUME specified can not be an empty string",
                        ));
                    }
                    cfg.volumes
                        .get_or_insert_with(BTreeMap::new)
                        .insert(p.clone(), Empty);
                    shown.push(p);
                }
                self.meta_step(st, cfg, nop(format!("VOLUME [{}]", shown.join(" "))))
                    .await
            }
            Instr::StopSignal(s) => {
                let s = self.word(st, ins, s)?;
                let mut cfg = st.cfg.clone();
                cfg.stop_signal = Some(s.clone());
                self.meta_step(st, cfg, nop(format!("STOPSIGNAL {s}")))
                    .await
            }
            Instr::Maintainer(m) => {
                st.author = m.clone();
                let cfg = st.cfg.clone();
                self.meta_step(st, cfg, nop(format!("MAINTAINER {m}")))
                    .await
            }
            Instr::Healthcheck(h) => {
                let mut cfg = st.cfg.clone();
                cfg.healthcheck = Some(health_config(h.as_ref()));
                let shown = match h {
                    None => "HEALTHCHECK NONE".to_string(),
                    Some(h) => format!("HEALTHCHECK &{{{}}}", go_quote_list(&h.test)),
                };
                self.meta_step(st, cfg, nop(shown)).await
            }
            Instr::Onbuild(t) => {
                let mut cfg = st.cfg.clone();
                cfg.on_build.get_or_insert_with(Vec::new).push(t.clone());
                self.meta_step(st, cfg, nop(format!("ONBUILD {t}"))).await
            }
            Instr::Run {
                cmd,
                heredocs,
                network,
                mounts,
            } => {
                let mounts = self.run_mounts(parsed, st, ins, mounts).await?;
                self.run(st, ins, cmd, heredocs, network.as_deref(), &mounts)
                    .await
            }
            Instr::Copy(c) => self.copy(parsed, st, ins, c, false).await,
            Instr::Add(c) => self.copy(parsed, st, ins, c, true).await,
        }
    }

    async fn run(
        &mut self,
        st: &mut StageState,
        _ins: &Instruction,
        cmd: &CmdForm,
        heredocs: &[parser::Heredoc],
        network: Option<&str>,
        mounts: &StepMounts,
    ) -> Result<()> {
        let argv = match (cmd, heredocs) {
            (CmdForm::Shell(s), [h])
                if s.trim().starts_with("<<") && s.split_whitespace().count() == 1 =>
            {
                let mut v = st.shell.clone();
                v.push(h.content.clone());
                v
            }
            (CmdForm::Shell(s), hs) if !hs.is_empty() => {
                let mut script = s.clone();
                for h in hs {
                    script.push('\n');
                    script.push_str(&h.content);
                    script.push_str(&h.name);
                }
                let mut v = st.shell.clone();
                v.push(script);
                v
            }
            _ => Self::cmd_vec(st, cmd),
        };
        let run_args = st.run_args();
        for a in &run_args {
            if let Some((k, _)) = a.split_once('=') {
                self.used_args.insert(k.to_string());
            }
        }
        let created_by = if run_args.is_empty() {
            argv.join(" ")
        } else {
            format!(
                "|{} {} {}",
                run_args.len(),
                run_args.join(" "),
                argv.join(" ")
            )
        };
        let cfg = st.cfg.clone();
        let key = self.step_key(
            st,
            &format!("RUN\0{created_by}\0{}{}", network.unwrap_or(""), mounts.key),
            &cfg,
        );
        let _claim = self.claim_step(&key).await;
        if self.cached(st, &key, &cfg, Some(&created_by)) {
            return Ok(());
        }
        let active = self.activate_mounts(st, mounts).await?;
        let mut env = st.cfg.env.clone().unwrap_or_default();
        env.extend(run_args.iter().cloned());
        env.extend(active.env.iter().cloned());
        if st.image.is_empty() {
            return Err(BuildError::invalid(format!(
                "The command '{}' cannot run in an empty (scratch) image",
                argv.join(" ")
            )));
        }
        let mut host = self.opts.run_host.clone();
        // `RUN --network=MODE` wins over the build's `networkmode`.
        match network {
            Some(m @ ("none" | "host")) => host.network_mode = m.to_string(),
            Some(_) => host.network_mode = String::new(),
            None => {}
        }
        host.mounts = (!active.mounts.is_empty()).then(|| active.mounts.clone());
        let body = ContainerCreateBody {
            config: ContainerConfig {
                image: st.image.clone(),
                cmd: Some(argv.clone()),
                entrypoint: Some(Vec::new()),
                env: Some(env),
                working_dir: st.cfg.working_dir.clone(),
                user: st.cfg.user.clone(),
                attach_stdout: true,
                attach_stderr: true,
                ..Default::default()
            },
            host_config: host,
            networking_config: None,
        };
        let engine = self.engine.clone();
        // The engine's own words (an unknown network, a bad resource value), as moby's
        // builder returns its create error.
        let created = engine.create(None, body).await.map_err(step_engine_error)?;
        let cid = created.id.clone();
        self.say(format!(" ---> Running in {}\n", short(&cid)));
        let result = self.run_container(&cid).await;
        let outcome = match result {
            Ok(0) => {
                self.remove_mount_stubs(st, &cid, &active.targets).await;
                engine
                    .commit_changes(&cid, cfg.clone(), &created_by, &st.author)
                    .await
                    .map(Some)
                    .map_err(|e| BuildError::internal("commit", e))
            }
            Ok(code) => Err(BuildError::RunFailed {
                cmd: argv.join(" "),
                code,
            }),
            Err(e) => Err(e),
        };
        // moby's dispatch: `forcerm` removes the step's container whatever happened, `rm`
        // only after a step that succeeded; a failed RUN's container otherwise stays.
        let remove = if outcome.is_ok() {
            self.opts.remove
        } else {
            self.opts.force_remove
        };
        if remove {
            match engine.remove(&cid, true).await {
                // moby 28's wording (containerbackend.go RemoveAll); 20.10 printed
                // "Removing intermediate container ID".
                Ok(()) => self.say(format!(
                    " ---> Removed intermediate container {}\n",
                    short(&cid)
                )),
                Err(e) => {
                    tracing::warn!(id = %cid, error = %e, "removing a build container");
                    self.say(format!(
                        "Removing intermediate container {}: {e}\n",
                        short(&cid)
                    ));
                }
            }
        }
        drop(active);
        let id = outcome?.unwrap_or_default();
        self.say_id(&id);
        self.remember(key, &id);
        st.image = id;
        Ok(())
    }

    /// A container for a config-only step, kept with `rm=false` as moby keeps it: the
    /// stage's image, the step's `#(nop)` command, the build's host settings. Never started.
    async fn create_step_container(&self, st: &StageState, cmd: Vec<String>) -> Result<String> {
        let body = ContainerCreateBody {
            config: ContainerConfig {
                image: st.image.clone(),
                cmd: Some(cmd),
                entrypoint: Some(Vec::new()),
                env: st.cfg.env.clone(),
                working_dir: st.cfg.working_dir.clone(),
                user: st.cfg.user.clone(),
                ..Default::default()
            },
            host_config: self.opts.run_host.clone(),
            networking_config: None,
        };
        let created = self
            .engine
            .create(None, body)
            .await
            .map_err(step_engine_error)?;
        Ok(created.id)
    }

    /// Starts the container, streams its output, returns its exit code.
    async fn run_container(&self, cid: &str) -> Result<i64> {
        let engine = &self.engine;
        let target = engine
            .attach(cid, false, true, true)
            .await
            .map_err(|e| BuildError::internal("attach", e))?;
        engine.start(cid).await.map_err(step_engine_error)?;
        let stream = match target.stream {
            AttachStream::Ready(s) => Some(s),
            AttachStream::OnStart(rx) => rx.await.ok().and_then(|r| r.ok()),
        };
        if let Some(mut s) = stream {
            let mut hdr = [0u8; 8];
            loop {
                if s.read_exact(&mut hdr).await.is_err() {
                    break;
                }
                let len = u32::from_be_bytes([hdr[4], hdr[5], hdr[6], hdr[7]]) as usize;
                let mut buf = vec![0u8; len];
                if s.read_exact(&mut buf).await.is_err() {
                    break;
                }
                let text = String::from_utf8_lossy(&buf);
                // stderr as moby's StderrFormatter sends it: the text in bright red.
                if hdr[0] == 2 {
                    self.say(format!("\u{1b}[91m{text}\u{1b}[0m"));
                } else {
                    self.say(text.into_owned());
                }
            }
        }
        engine
            .wait(cid, WaitCondition::NotRunning)
            .await
            .map_err(|e| BuildError::internal("wait", e))
    }

    async fn copy(
        &mut self,
        parsed: &Parsed,
        st: &mut StageState,
        ins: &Instruction,
        c: &CopySpec,
        add: bool,
    ) -> Result<()> {
        let what = if add { "ADD" } else { "COPY" };
        let srcs: Vec<String> = c
            .srcs
            .iter()
            .map(|s| self.word(st, ins, s))
            .collect::<Result<_>>()?;
        let dest_raw = self.word(st, ins, &c.dest)?;
        let base = if st.cfg.working_dir.is_empty() {
            "/".to_string()
        } else {
            st.cfg.working_dir.clone()
        };
        let dest = if dest_raw.starts_with('/') {
            dest_raw.clone()
        } else {
            let trail = dest_raw.ends_with('/') || dest_raw == "." || dest_raw.ends_with("/.");
            let mut d = crate::ignore::clean(&format!("{base}/{dest_raw}"));
            if trail && !d.ends_with('/') {
                d.push('/');
            }
            d
        };
        if add && srcs.iter().any(|s| add_url::is_url(s)) {
            return self.add_urls(st, ins, c, &srcs, &dest).await;
        }
        // Where the sources come from: the context, a stage, or an image (mounted read-only).
        let from = match &c.from {
            Some(f) => Some(self.word(st, ins, f)?),
            None => None,
        };
        let mut mounted: Option<(ImageView, tempfile::TempDir)> = None;
        let mut from_key: Option<String> = None;
        let (root, matcher): (PathBuf, Option<Matcher>) = match &from {
            None => (self.context.clone(), Some(self.ignore.clone())),
            Some(f) => {
                let image = match parsed.stage_index(f) {
                    Some(i) if self.done.get(i).is_some_and(|d| d.is_some()) => self.done[i]
                        .as_ref()
                        .map(|d| d.image.clone())
                        .unwrap_or_default(),
                    Some(_) => {
                        return Err(BuildError::parse(ins.line, format!("invalid from flag value {f}: refers to a stage that is not built before this one")));
                    }
                    None => self.engine.images.get(f).await.map(|i| i.id).map_err(|e| {
                        BuildError::parse(ins.line, format!("invalid from flag value {f}: {e}"))
                    })?,
                };
                // The source image's id fixes what it holds: look the step up before
                // paying for a mount and a walk of its files.
                let chown = match &c.chown {
                    Some(o) => Some(self.word(st, ins, o)?),
                    None => None,
                };
                let pre = self.step_key(
                    st,
                    &format!(
                        "{what}-from\0{image}\0{srcs:?}\0{dest}\0{chown:?}\0{:?}\0{}",
                        c.chmod, c.dest
                    ),
                    &st.cfg,
                );
                let cfg = st.cfg.clone();
                let _claim = self.claim_step(&pre).await;
                if self.cached(st, &pre, &cfg, None) {
                    return Ok(());
                }
                from_key = Some(pre);
                let (view, guard) = self.mount_image(&image).await?;
                let root = view.root().to_path_buf();
                mounted = Some((view, guard));
                (root, None)
            }
        };
        let result = self
            .copy_from(
                st,
                ins,
                c,
                add,
                &srcs,
                &dest,
                &root,
                matcher.as_ref(),
                from.is_some(),
            )
            .await;
        if let (Ok(()), Some(k)) = (&result, from_key) {
            let id = st.image.clone();
            self.remember(k, &id);
        }
        if let Some((view, guard)) = mounted {
            let _ = tokio::task::spawn_blocking(move || {
                drop(view);
                drop(guard);
            })
            .await;
        }
        result
    }

    /// Image `image` mounted (through the image store's [`ImageView`]) in a scratch dir of
    /// the builder's, for reading its files; dropping the view unmounts it.
    async fn mount_image(&self, image: &str) -> Result<(ImageView, tempfile::TempDir)> {
        let img = self
            .engine
            .images
            .get(image)
            .await
            .map_err(|e| BuildError::NotFound(e.to_string()))?;
        let dir = self.scratch_dir("from-")?;
        let view = self
            .engine
            .images
            .view(Some(&img.id), dir.path().to_path_buf())
            .await
            .map_err(|e| BuildError::internal("mounting the source image", e))?;
        Ok((view, dir))
    }

    /// A fresh directory under the builder's own scratch space (`builder/tmp` in the data
    /// root), removed when the guard drops.
    fn scratch_dir(&self, prefix: &str) -> Result<tempfile::TempDir> {
        let scratch = crate::scratch_root(&self.engine.cfg.data_root);
        std::fs::create_dir_all(&scratch).map_err(|e| BuildError::internal("builder tmp", e))?;
        tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in(&scratch)
            .map_err(|e| BuildError::internal("builder tmp", e))
    }

    #[allow(clippy::too_many_arguments)]
    async fn copy_from(
        &mut self,
        st: &mut StageState,
        ins: &Instruction,
        c: &CopySpec,
        add: bool,
        srcs: &[String],
        dest: &str,
        root: &Path,
        matcher: Option<&Matcher>,
        from_image: bool,
    ) -> Result<()> {
        let what = if add { "ADD" } else { "COPY" };
        let src_root =
            Root::at(root).map_err(|e| BuildError::internal("opening the sources", e))?;
        let sources = copy::resolve(&src_root, srcs, matcher, what).map_err(|e| match e {
            BuildError::Invalid(m) if from_image => {
                BuildError::invalid(m.replace(" in build context or excluded by .dockerignore", ""))
            }
            e => e,
        })?;
        let mut digest = copy::digest(&src_root, &sources, matcher)?;
        for h in &c.heredocs {
            let content = if h.expand {
                self.word(st, ins, &h.content)?
            } else {
                h.content.clone()
            };
            digest.push_str(&cache::key(&[&h.name, &content]));
        }
        let parent = (!st.image.is_empty()).then(|| st.image.clone());
        let owner = match &c.chown {
            Some(o) => {
                let spec = self.word(st, ins, o)?;
                let lower = match &parent {
                    Some(p) => self.engine.images.files(p).await.map_err(|e| match e {
                        berth_engine::EngineError::NotFound(m) => BuildError::NotFound(m),
                        e => BuildError::internal("layers", e),
                    })?,
                    None => berth_image::ImageFiles::over(Vec::new()),
                };
                copy::parse_chown(&spec, &lower)?
            }
            None => (0, 0),
        };
        let chmod = c.chmod.as_deref().map(copy::parse_chmod).transpose()?;
        let kind = if sources.len() == 1 && c.heredocs.is_empty() {
            if sources[0].is_dir {
                "dir"
            } else {
                "file"
            }
        } else {
            "multi"
        };
        let created_by = format!("/bin/sh -c #(nop) {what} {kind}:{digest} in {} ", c.dest);
        let cfg = st.cfg.clone();
        let key = self.step_key(
            st,
            &format!("{created_by}\0{dest}\0{:?}\0{:?}\0{add}", owner, chmod),
            &cfg,
        );
        let _claim = self.claim_step(&key).await;
        if self.cached(st, &key, &cfg, Some(&created_by)) {
            return Ok(());
        }
        let up = self.scratch_dir("copy-")?;
        let heredocs: Vec<(String, Vec<u8>)> = c
            .heredocs
            .iter()
            .map(|h| {
                let content = if h.expand {
                    self.word(st, ins, &h.content)?
                } else {
                    h.content.clone()
                };
                Ok((h.name.clone(), content.into_bytes()))
            })
            .collect::<Result<_>>()?;
        // The image being built: the parent's layers under the step's upper dir, so the
        // destination resolves (symlinks included) as it will in the image.
        let merged = self
            .engine
            .images
            .view(parent.as_deref(), up.path().to_path_buf())
            .await
            .map_err(|e| BuildError::internal("mounting the image for COPY", e))?;
        if merged.is_copy() {
            // A copy of the layers instead of a mount: the step's changes would not be
            // apart from the image's files. Refuse rather than commit an empty layer.
            return Err(BuildError::Internal(
                "COPY needs an overlay mount of the parent image, and overlay is not available here".into(),
            ));
        }
        let (dest2, matcher2) = (dest.to_string(), matcher.cloned());
        // A userns-remap daemon's layers hold host ids in its range (moby's builder chowns
        // through the daemon's IdentityMapping); the commit shifts them back.
        let id_map = self.engine.cfg.id_map.clone();
        let owner = match &id_map {
            Some(ids) => ids
                .to_host(owner.0, owner.1)
                .map_err(|e| BuildError::invalid(e.to_string()))?,
            None => owner,
        };
        let placed = tokio::task::spawn_blocking(move || -> Result<PathBuf> {
            let image_root =
                Root::at(merged.root()).map_err(|e| BuildError::internal("opening the image", e))?;
            let p = Placement { root: &image_root, owner, chmod };
            let mut plain = Vec::new();
            for s in sources {
                if add && copy::is_archive(&src_root, &s) {
                    p.extract(&src_root, &s, &dest2, id_map.clone())?;
                } else {
                    plain.push(s);
                }
            }
            if !plain.is_empty() {
                if plain.len() > 1 && !dest2.ends_with('/') {
                    // Several sources need a directory destination (docker's rule).
                    return Err(BuildError::invalid(format!(
                        "When using {} with more than one source file, the destination must be a directory and end with a /",
                        if add { "ADD" } else { "COPY" }
                    )));
                }
                p.copy(&src_root, &plain, &dest2, matcher2.as_ref())?;
            }
            for (name, content) in heredocs {
                p.write_heredoc(&dest2, &name, &content)?;
            }
            merged
                .into_changes()
                .map_err(|e| BuildError::internal("unmounting the COPY view", e))
        })
        .await
        .map_err(|e| BuildError::internal("copy task", e))?
        .map_err(|e| match e {
            BuildError::Invalid(m) if !m.starts_with(what) => BuildError::invalid(format!("{what} failed: {m}")),
            e => e,
        })?;
        let id = self.commit(st, Some(placed), &cfg, &created_by, "").await?;
        drop(up);
        self.say_id(&id);
        self.remember(key, &id);
        st.image = id;
        Ok(())
    }
}

/// `HEALTHCHECK` as the image config records it (zero durations and retries left out).
fn health_config(h: Option<&HealthSpec>) -> HealthConfig {
    let set = |v: i64| (v != 0).then_some(v);
    match h {
        None => HealthConfig {
            test: Some(vec!["NONE".into()]),
            ..Default::default()
        },
        Some(h) => HealthConfig {
            test: Some(h.test.clone()),
            interval: set(h.interval),
            timeout: set(h.timeout),
            start_period: set(h.start_period),
            start_interval: set(h.start_interval),
            retries: set(h.retries),
            ..Default::default()
        },
    }
}

/// The command of a config-only step's container, from the history line it writes:
/// `/bin/sh -c #(nop)  ENV a=b` is `["/bin/sh", "-c", "#(nop) ", "ENV a=b"]` (moby's
/// `withCmdComment`), `/bin/sh -c #(nop) WORKDIR /x` is `["/bin/sh", "-c", "#(nop) WORKDIR /x"]`.
fn meta_cmd(created_by: &str) -> Vec<String> {
    let rest = created_by.strip_prefix("/bin/sh -c ").unwrap_or(created_by);
    let mut v = vec!["/bin/sh".to_string(), "-c".to_string()];
    match rest.strip_prefix("#(nop)  ") {
        Some(comment) => {
            v.push("#(nop) ".to_string());
            v.push(comment.to_string());
        }
        None => v.push(rest.to_string()),
    }
    v
}

/// A step container the engine refused to create or start: its own words (moby's builder
/// returns those errors as they are), still the client's fault when the engine says so.
fn step_engine_error(e: berth_engine::EngineError) -> BuildError {
    use berth_engine::EngineError as E;
    match e {
        E::NotFound(m) => BuildError::NotFound(m),
        E::InvalidParameter(m) => BuildError::Invalid(m),
        e => BuildError::Internal(e.to_string()),
    }
}

fn rand_bytes() -> [u8; 32] {
    use sha2::{Digest, Sha256};
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    static N: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    Sha256::digest(format!("{t}-{n}-{}", std::process::id()).as_bytes()).into()
}

/// Unpacks a build context tar (maybe gzip-compressed) into `dir`.
pub fn unpack_context(r: impl std::io::Read, dir: &Path) -> Result<()> {
    let mut r = std::io::BufReader::new(r);
    let gz = {
        use std::io::BufRead;
        let b = r
            .fill_buf()
            .map_err(|e| BuildError::internal("reading the context", e))?;
        b.starts_with(&[0x1f, 0x8b])
    };
    let reader: Box<dyn std::io::Read> = if gz {
        Box::new(flate2::read::GzDecoder::new(r))
    } else {
        Box::new(r)
    };
    // The hardened writer of layers: a context whose entries climb out (`../x`, or a
    // symlink followed by an entry through it) is refused, never written outside `dir`.
    // Files belong to root, as the context's owner never matters to the image.
    let opts = berth_image::UnpackOptions {
        chown: Some((0, 0)),
        ..Default::default()
    };
    let mut rest = berth_image::unpack_with(reader, dir, &opts)
        .map_err(|e| BuildError::invalid(format!("invalid build context: {e}")))?;
    // Read the archive's trailing padding too: a client still writing it when the answer
    // comes would see a broken pipe.
    std::io::copy(&mut rest, &mut std::io::sink())
        .map_err(|e| BuildError::internal("reading the context", e))?;
    Ok(())
}
