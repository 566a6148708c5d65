//! Loading a project: finding the compose files, the env files, the project name; parsing
//! (anchors, aliases, `<<` merge keys), interpolation, `include`, `extends`, merging the
//! files in order, and the project-wide normalisation docker compose applies (default
//! network, implicit dependencies, resource names, env_file and profile resolution).
//!
//! Files: `compose.yaml` and its siblings (and the override file) found up the directory
//! tree, `-f` (several, `-`), `COMPOSE_FILE`; the project name from `-p`,
//! `COMPOSE_PROJECT_NAME`, `name:` or the directory, normalised as compose does; `.env` or
//! `--env-file` (`dotenv.rs`); YAML through serde_norway with `<<` merge keys at every
//! level; `extends` of the same or other files, paths relative to the file that declares
//! them; unused resources left out.

use crate::error::{Error, Result};
use crate::interpolate::{substitute, TemplateError};
use crate::merge::merge;
use crate::model::*;
use crate::normalize::{self as norm, key_str, Ctx};
use crate::rawmodel;
use indexmap::IndexMap;
use serde_norway::{Mapping as YMap, Value};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// What the command line says about the project.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// `-f` values, in order (`-` is stdin).
    pub files: Vec<String>,
    pub project_directory: Option<PathBuf>,
    pub project_name: Option<String>,
    /// `--env-file` values.
    pub env_files: Vec<String>,
    /// `--profile` values.
    pub profiles: Vec<String>,
    /// False for `--no-interpolate`.
    pub interpolate: bool,
    /// The process environment (None: read it).
    pub os_env: Option<IndexMap<String, String>>,
    /// The working directory (None: the current one).
    pub cwd: Option<PathBuf>,
    /// Text of `-f -` (None: read stdin when asked).
    pub stdin: Option<String>,
    /// Keep services of disabled profiles when they are named here (`up SVC`).
    pub wanted_services: Vec<String>,
    /// Build compose-go's generic model instead of the typed project (`config
    /// --no-interpolate`): `Loaded::model`.
    pub model: bool,
    /// False for `config --no-path-resolution`: relative paths stay as written.
    pub resolve_paths: bool,
    /// False for `config --no-normalize`: compose-go's Normalize step is skipped (no
    /// implicit `default` network, dependencies, resource names, Dockerfile default, nor
    /// environment and build args looked up in the environment).
    pub normalize: bool,
    /// False for `config --no-consistency`: references to undefined services,
    /// networks, volumes, secrets and configs, services without image or build, and
    /// dependency cycles are let through (compose-go's checkConsistency skipped).
    pub consistency: bool,
}

impl Default for LoadOptions {
    fn default() -> Self {
        LoadOptions {
            files: Vec::new(),
            project_directory: None,
            project_name: None,
            env_files: Vec::new(),
            profiles: Vec::new(),
            interpolate: true,
            os_env: None,
            cwd: None,
            stdin: None,
            wanted_services: Vec::new(),
            model: false,
            resolve_paths: true,
            normalize: true,
            consistency: true,
        }
    }
}

/// A loaded project and the warnings loading it produced.
#[derive(Debug, Clone)]
pub struct Loaded {
    pub project: Project,
    pub warnings: Vec<String>,
    /// The interpolation environment (.env overlaid by the process environment).
    pub environment: IndexMap<String, String>,
    /// The profiles in effect.
    pub profiles: Vec<String>,
    /// With `LoadOptions::model`: the generic model (keys sorted), and `project` holds
    /// only the name.
    pub model: Option<Value>,
}

const CANDIDATES: &[&str] = &[
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];
const OVERRIDES: &[&str] = &[
    "compose.override.yaml",
    "compose.override.yml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
];

/// Finds the compose file in `dir` or its parents, with its override file.
fn discover(dir: &Path, warnings: &mut Vec<String>) -> Option<Vec<PathBuf>> {
    let mut d = Some(dir);
    while let Some(cur) = d {
        let found: Vec<PathBuf> = CANDIDATES
            .iter()
            .map(|c| cur.join(c))
            .filter(|p| p.is_file())
            .collect();
        if let Some(first) = found.first() {
            if found.len() > 1 {
                warnings.push(format!(
                    "Found multiple config files with supported names: {}\nUsing {}",
                    found
                        .iter()
                        .map(|p| p.to_string_lossy())
                        .collect::<Vec<_>>()
                        .join(", "),
                    first.to_string_lossy()
                ));
            }
            let mut files = vec![first.clone()];
            if let Some(o) = OVERRIDES.iter().map(|c| cur.join(c)).find(|p| p.is_file()) {
                files.push(o);
            }
            return Some(files);
        }
        d = cur.parent();
    }
    None
}

/// docker compose's project name normalisation of a directory name.
pub fn normalize_name(s: &str) -> String {
    let lower = s.to_lowercase();
    let kept: String = lower
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
        .collect();
    kept.trim_start_matches(['_', '-']).to_string()
}

fn check_name(name: &str) -> Result<()> {
    let ok = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-');
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "invalid project name {name:?}: must consist only of lowercase alphanumeric characters, hyphens, and underscores as well as start with a letter or number"
        )))
    }
}

/// Parses YAML text (anchors, aliases, merge keys) into a tree, plain scalars resolved as
/// compose-go's yaml.v3 resolves them (`crate::yaml`).
pub fn parse_yaml(file: &str, text: &str) -> Result<Value> {
    let mut v: Value = crate::yaml::from_str(text).map_err(|e| {
        let (line, column) = e
            .location()
            .map(|l| (l.line(), l.column()))
            .unwrap_or((0, 0));
        let msg = e.to_string();
        // serde_norway appends " at line L column C"; keep the message itself.
        let message = msg.split(" at line ").next().unwrap_or(&msg).to_string();
        Error::Yaml {
            file: file.to_string(),
            line,
            column,
            message,
        }
    })?;
    apply_merge_keys(&mut v).map_err(|message| Error::Yaml {
        file: file.to_string(),
        line: 0,
        column: 0,
        message,
    })?;
    Ok(v)
}

/// YAML `<<` merge keys, at every level (keys written next to `<<` win).
fn apply_merge_keys(v: &mut Value) -> std::result::Result<(), String> {
    match v {
        Value::Mapping(m) => {
            if let Some(merged) = m.remove("<<") {
                let sources = match merged {
                    Value::Mapping(src) => vec![src],
                    Value::Sequence(seq) => {
                        let mut out = Vec::new();
                        for s in seq {
                            match s {
                                Value::Mapping(src) => out.push(src),
                                _ => {
                                    return Err(
                                        "map merge requires map or sequence of maps as the value"
                                            .into(),
                                    )
                                }
                            }
                        }
                        out
                    }
                    _ => {
                        return Err("map merge requires map or sequence of maps as the value".into())
                    }
                };
                for mut src in sources {
                    let mut sv = Value::Mapping(std::mem::take(&mut src));
                    apply_merge_keys(&mut sv)?;
                    if let Value::Mapping(src) = sv {
                        for (k, x) in src {
                            if !m.contains_key(&k) {
                                m.insert(k, x);
                            }
                        }
                    }
                }
            }
            for (_, x) in m.iter_mut() {
                apply_merge_keys(x)?;
            }
        }
        Value::Sequence(s) => {
            for x in s {
                apply_merge_keys(x)?;
            }
        }
        Value::Tagged(t) => apply_merge_keys(&mut t.value)?,
        _ => {}
    }
    Ok(())
}

/// Interpolates every string value of `v` in place.
fn interpolate(
    v: &mut Value,
    path: &mut Vec<String>,
    env: &dyn Fn(&str) -> Option<String>,
    unset: &mut BTreeSet<String>,
) -> Result<()> {
    match v {
        Value::String(s) if s.contains('$') => {
            let mut note = |n: &str| {
                unset.insert(n.to_string());
            };
            *s = substitute(s, &env, &mut note).map_err(|e| match e {
                    TemplateError::Invalid(t) => Error::Invalid(format!(
                        "invalid interpolation format for {}.\nYou may need to escape any $ with another $.\n{t}",
                        path.join(".")
                    )),
                    TemplateError::Required { .. } => Error::Interpolation {
                        path: path.join("."),
                        message: e.to_string(),
                    },
                })?;
        }
        Value::Mapping(m) => {
            for (k, x) in m.iter_mut() {
                path.push(key_str(k));
                interpolate(x, path, env, unset)?;
                path.pop();
            }
        }
        Value::Sequence(s) => {
            for (i, x) in s.iter_mut().enumerate() {
                path.push(format!("[{i}]"));
                interpolate(x, path, env, unset)?;
                path.pop();
            }
        }
        _ => {}
    }
    Ok(())
}

/// Everything one load needs while it reads files.
struct Loader {
    env: IndexMap<String, String>,
    interpolate: bool,
    project_dir: PathBuf,
    warnings: Vec<String>,
    unset: BTreeSet<String>,
    stdin: Option<String>,
    /// compose-go's generic model (`rawmodel`) instead of the typed canonical form.
    raw: bool,
    /// False for `config --no-path-resolution`.
    resolve_paths: bool,
}

impl Loader {
    /// Reads, parses and interpolates one file.
    fn read(&mut self, file: &str) -> Result<Value> {
        let text = if file == "-" {
            match self.stdin.take() {
                Some(t) => t,
                None => {
                    let mut t = String::new();
                    std::io::Read::read_to_string(&mut std::io::stdin(), &mut t)
                        .map_err(|e| Error::Io(format!("reading stdin: {e}")))?;
                    t
                }
            }
        } else {
            std::fs::read_to_string(file)
                .map_err(|e| Error::Io(format!("open {file}: {}", crate::io_reason(&e))))?
        };
        let mut v = parse_yaml(file, &text)?;
        match &v {
            Value::Mapping(_) => {}
            Value::Null => v = Value::Mapping(YMap::new()),
            _ => {
                return Err(Error::Validation {
                    file: file.to_string(),
                    message: "Top-level object must be a mapping".into(),
                })
            }
        }
        if self.interpolate {
            let env = self.env.clone();
            let look = |k: &str| env.get(k).cloned();
            let mut unset = std::mem::take(&mut self.unset);
            let r = interpolate(&mut v, &mut Vec::new(), &look, &mut unset);
            self.unset = unset;
            r?;
        }
        Ok(v)
    }

    /// Loads one compose file into canonical form (includes and extends resolved).
    fn load_file(&mut self, file: &str, base: &Path, chain: &mut Vec<String>) -> Result<Value> {
        if chain.contains(&file.to_string()) {
            return Err(Error::Invalid(format!(
                "include cycle detected: {} -> {file}",
                chain.join(" -> ")
            )));
        }
        chain.push(file.to_string());
        let raw = self.read(file)?;
        let Value::Mapping(m) = raw else {
            return Ok(Value::Mapping(YMap::new()));
        };
        let ctx = Ctx {
            file,
            base,
            resolve: self.resolve_paths,
            rebase: norm::rebase_of(&self.project_dir, base),
        };
        for (k, _) in &m {
            let k = key_str(k);
            if !k.starts_with("x-")
                && !matches!(
                    k.as_str(),
                    "version"
                        | "name"
                        | "include"
                        | "services"
                        | "networks"
                        | "volumes"
                        | "secrets"
                        | "configs"
                        | "models"
                )
            {
                return Err(Error::Validation {
                    file: file.to_string(),
                    message: format!(" additional properties '{k}' not allowed"),
                });
            }
        }
        if m.contains_key("version") {
            self.warnings.push(format!(
                "{file}: the attribute `version` is obsolete, it will be ignored, please remove it to avoid potential confusion"
            ));
        }
        let mut out = YMap::new();
        if let Some(n) = m.get("name") {
            match n {
                Value::String(_) => {
                    out.insert("name".into(), n.clone());
                }
                _ => {
                    return Err(Error::Validation {
                        file: file.to_string(),
                        message: "name must be a string".into(),
                    })
                }
            }
        }
        // Services, with extends resolved.
        let services_raw = match m.get("services") {
            None | Some(Value::Null) => YMap::new(),
            Some(Value::Mapping(s)) => s.clone(),
            Some(_) => {
                return Err(Error::Validation {
                    file: file.to_string(),
                    message: "services must be a object".into(),
                })
            }
        };
        let mut services = YMap::new();
        for (k, _) in &services_raw {
            let name = key_str(k);
            let v = if self.raw {
                self.resolve_service_raw(&ctx, &services_raw, &name, &mut Vec::new())?
            } else {
                self.resolve_service(&ctx, &services_raw, &name, &mut Vec::new())?
            };
            services.insert(Value::String(name), v);
        }
        out.insert("services".into(), Value::Mapping(services));
        for kind in ["networks", "volumes", "secrets", "configs"] {
            let Some(section) = m.get(kind) else { continue };
            let sm = match section {
                Value::Mapping(sm) => sm,
                Value::Null => continue,
                _ => {
                    return Err(Error::Validation {
                        file: file.to_string(),
                        message: format!("{kind} must be a object"),
                    })
                }
            };
            let mut canon = YMap::new();
            for (k, v) in sm {
                let key = key_str(k);
                if self.raw {
                    canon.insert(Value::String(key), rawmodel::resource(&ctx, kind, v));
                    continue;
                }
                let typed = match kind {
                    "networks" => to_value(&norm::network(&ctx, &key, v)?),
                    "volumes" => to_value(&norm::volume(&ctx, &key, v)?),
                    _ => to_value(&norm::file_object(&ctx, kind, &key, v)?),
                };
                canon.insert(Value::String(key), typed);
            }
            out.insert(kind.into(), Value::Mapping(canon));
        }
        if let Some(models) = m.get("models") {
            out.insert("models".into(), models.clone());
        }
        for (k, v) in &m {
            if key_str(k).starts_with("x-") {
                out.insert(k.clone(), v.clone());
            }
        }
        // include: other projects' resources, which must not clash with ours.
        if let Some(inc) = m.get("include") {
            let included = self.includes(&ctx, inc, chain)?;
            let mut outv = Value::Mapping(out);
            for (inc_file, incv) in included {
                outv = add_included(file, outv, incv, &inc_file)?;
            }
            chain.pop();
            return Ok(outv);
        }
        chain.pop();
        Ok(Value::Mapping(out))
    }

    fn includes(
        &mut self,
        ctx: &Ctx,
        inc: &Value,
        chain: &mut Vec<String>,
    ) -> Result<Vec<(String, Value)>> {
        let Value::Sequence(items) = inc else {
            return Err(ctx_err(ctx, "include must be a array"));
        };
        let mut out = Vec::new();
        for (i, it) in items.iter().enumerate() {
            let (paths, pdir, env_files) = match it {
                Value::String(s) => (vec![s.clone()], None, Vec::new()),
                Value::Mapping(m) => {
                    let paths = match m.get("path") {
                        Some(Value::String(s)) => vec![s.clone()],
                        Some(Value::Sequence(s)) => s
                            .iter()
                            .filter_map(|x| x.as_str().map(str::to_string))
                            .collect(),
                        _ => {
                            return Err(ctx_err(
                                ctx,
                                &format!("include.{i}.path must be a string or array"),
                            ))
                        }
                    };
                    let pdir = m
                        .get("project_directory")
                        .and_then(Value::as_str)
                        .map(|s| PathBuf::from(ctx.abs(s)));
                    let envs = match m.get("env_file") {
                        Some(Value::String(s)) => vec![ctx.abs(s)],
                        Some(Value::Sequence(s)) => s
                            .iter()
                            .filter_map(|x| x.as_str().map(|p| ctx.abs(p)))
                            .collect(),
                        _ => Vec::new(),
                    };
                    (paths, pdir, envs)
                }
                _ => {
                    return Err(ctx_err(
                        ctx,
                        &format!("include.{i} must be a string or object"),
                    ))
                }
            };
            let files: Vec<String> = paths.iter().map(|p| ctx.abs(p)).collect();
            let Some(first) = files.first() else { continue };
            let dir = pdir.unwrap_or_else(|| {
                Path::new(first)
                    .parent()
                    .map(Path::to_path_buf)
                    .unwrap_or_else(|| ctx.base.to_path_buf())
            });
            // The included project's own .env (or env_file) adds to the environment.
            let saved_env = self.env.clone();
            let env_list = if env_files.is_empty() {
                let d = dir.join(".env");
                if d.is_file() {
                    vec![d.to_string_lossy().into_owned()]
                } else {
                    Vec::new()
                }
            } else {
                env_files
            };
            for ef in &env_list {
                let vars = read_env_file(ef, &|k: &str| saved_env.get(k).cloned())?;
                for (k, v) in vars {
                    self.env.entry(k).or_insert(v);
                }
            }
            let mut merged: Option<Value> = None;
            for f in &files {
                let v = self.load_file(f, &dir, chain)?;
                merged = Some(match merged {
                    None => v,
                    Some(b) => merge(b, v, &[]),
                });
            }
            self.env = saved_env;
            if let Some(v) = merged {
                out.push((first.clone(), v));
            }
        }
        Ok(out)
    }

    /// A service in canonical form with its `extends` chain applied.
    fn resolve_service(
        &mut self,
        ctx: &Ctx,
        services: &YMap,
        name: &str,
        seen: &mut Vec<String>,
    ) -> Result<Value> {
        let key = format!("{}#{name}", ctx.file);
        if seen.contains(&key) {
            return Err(Error::Invalid(format!(
                "circular reference with extends {}",
                seen.iter()
                    .chain(std::iter::once(&key))
                    .map(|s| s.rsplit('#').next().unwrap_or(s).to_string())
                    .collect::<Vec<_>>()
                    .join(" -> ")
            )));
        }
        let Some(raw) = services.get(name) else {
            return Err(Error::Invalid(format!(
                "cannot extend service {name:?} in {}: service not found",
                ctx.file
            )));
        };
        let svc = norm::service(ctx, name, raw)?;
        let Some(ext) = svc.extends.clone() else {
            return Ok(to_value(&svc));
        };
        seen.push(key);
        let base = if ext.file.is_empty() {
            self.resolve_service(ctx, services, &ext.service, seen)?
        } else {
            let other = ctx.abs(&ext.file);
            let other_dir = Path::new(&other)
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default();
            let raw = self.read(&other)?;
            let other_services = match raw.get("services") {
                Some(Value::Mapping(s)) => s.clone(),
                _ => YMap::new(),
            };
            let octx = Ctx {
                file: &other,
                base: &other_dir,
                resolve: self.resolve_paths,
                rebase: norm::rebase_of(&self.project_dir, &other_dir),
            };
            self.resolve_service(&octx, &other_services, &ext.service, seen)?
        };
        seen.pop();
        let mut this = svc;
        this.extends = None;
        let mut merged = merge(base, to_value(&this), &["services", name]);
        if let Value::Mapping(m) = &mut merged {
            m.remove("extends");
        }
        Ok(merged)
    }
}

impl Loader {
    /// `resolve_service` for the generic model: compose-go's canonical transforms and
    /// override merge on the tree as written.
    fn resolve_service_raw(
        &mut self,
        ctx: &Ctx,
        services: &YMap,
        name: &str,
        seen: &mut Vec<String>,
    ) -> Result<Value> {
        let key = format!("{}#{name}", ctx.file);
        if seen.contains(&key) {
            return Err(Error::Invalid(format!(
                "circular reference with extends {}",
                seen.iter()
                    .chain(std::iter::once(&key))
                    .map(|s| s.rsplit('#').next().unwrap_or(s).to_string())
                    .collect::<Vec<_>>()
                    .join(" -> ")
            )));
        }
        let Some(raw) = services.get(name) else {
            return Err(Error::Invalid(format!(
                "cannot extend service {name:?} in {}: service not found",
                ctx.file
            )));
        };
        let mut svc = rawmodel::service(ctx, raw)?;
        let ext = match &mut svc {
            Value::Mapping(m) => m.remove("extends"),
            _ => None,
        };
        let Some(Value::Mapping(ext)) = ext else {
            return Ok(svc);
        };
        let base_name = ext
            .get("service")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let file = ext
            .get("file")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        seen.push(key);
        let base = if file.is_empty() {
            self.resolve_service_raw(ctx, services, &base_name, seen)?
        } else {
            let other = ctx.abs(&file);
            let other_dir = Path::new(&other)
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_default();
            let raw = self.read(&other)?;
            let other_services = match raw.get("services") {
                Some(Value::Mapping(s)) => s.clone(),
                _ => YMap::new(),
            };
            let octx = Ctx {
                file: &other,
                base: &other_dir,
                resolve: self.resolve_paths,
                rebase: norm::rebase_of(&self.project_dir, &other_dir),
            };
            self.resolve_service_raw(&octx, &other_services, &base_name, seen)?
        };
        seen.pop();
        let mut merged = rawmodel::merge(base, svc, &["services", name]);
        rawmodel::unicity(&mut merged);
        Ok(merged)
    }
}

fn ctx_err(ctx: &Ctx, msg: &str) -> Error {
    Error::Validation {
        file: ctx.file.to_string(),
        message: msg.to_string(),
    }
}

fn add_included(file: &str, base: Value, inc: Value, inc_file: &str) -> Result<Value> {
    let (Value::Mapping(mut b), Value::Mapping(i)) = (base, inc) else {
        return Err(Error::Invalid(format!("cannot include {inc_file}")));
    };
    for kind in ["services", "networks", "volumes", "secrets", "configs"] {
        let Some(Value::Mapping(src)) = i.get(kind) else {
            continue;
        };
        let dst = b
            .entry(kind.into())
            .or_insert_with(|| Value::Mapping(YMap::new()));
        let Value::Mapping(dst) = dst else { continue };
        for (k, v) in src {
            if let Some(existing) = dst.get(k) {
                if existing != v {
                    return Err(Error::Invalid(format!(
                        "{kind}.{} conflicts with imported resource",
                        key_str(k)
                    )));
                }
                let _ = file;
            }
            dst.insert(k.clone(), v.clone());
        }
    }
    Ok(Value::Mapping(b))
}

fn to_value<T: serde::Serialize>(t: &T) -> Value {
    serde_norway::to_value(t).unwrap_or(Value::Null)
}

/// Reads an env file (`required` ones must exist).
pub fn read_env_file(
    path: &str,
    outer: &dyn Fn(&str) -> Option<String>,
) -> Result<IndexMap<String, String>> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        Error::Io(format!(
            "couldn't find env file: {path}: {}",
            crate::io_reason(&e)
        ))
    })?;
    crate::dotenv::parse(&text, outer)
        .map_err(|e| Error::Invalid(format!("failed to read {path}: {e}")))
}

/// Loads the project the options describe.
pub fn load(opts: &LoadOptions) -> Result<Loaded> {
    let cwd = match &opts.cwd {
        Some(c) => c.clone(),
        None => std::env::current_dir().map_err(|e| Error::Io(e.to_string()))?,
    };
    let os_env: IndexMap<String, String> = match &opts.os_env {
        Some(e) => e.clone(),
        None => std::env::vars().collect(),
    };
    let mut warnings = Vec::new();
    // Files: -f, else COMPOSE_FILE, else discovery.
    let mut files: Vec<String> = opts
        .files
        .iter()
        .map(|f| {
            if f == "-" {
                f.clone()
            } else {
                norm::resolve_path(&cwd, f)
            }
        })
        .collect();
    let pdir_opt = opts
        .project_directory
        .as_ref()
        .map(|p| PathBuf::from(norm::resolve_path(&cwd, &p.to_string_lossy())));
    if files.is_empty() {
        if let Some(cf) = os_env.get("COMPOSE_FILE").filter(|s| !s.is_empty()) {
            let sep = os_env
                .get("COMPOSE_PATH_SEPARATOR")
                .cloned()
                .unwrap_or_else(|| ":".into());
            let base = pdir_opt.clone().unwrap_or_else(|| cwd.clone());
            files = cf
                .split(sep.as_str())
                .filter(|s| !s.is_empty())
                .map(|f| norm::resolve_path(&base, f))
                .collect();
        } else {
            let start = pdir_opt.clone().unwrap_or_else(|| cwd.clone());
            match discover(&start, &mut warnings) {
                Some(found) => {
                    files = found
                        .into_iter()
                        .map(|p| p.to_string_lossy().into_owned())
                        .collect()
                }
                None => {
                    return Err(Error::Invalid(
                        "no configuration file provided: not found".into(),
                    ))
                }
            }
        }
    }
    for f in &files {
        if f != "-" && !Path::new(f).exists() {
            return Err(Error::Io(format!("open {f}: no such file or directory")));
        }
    }
    let project_dir = match &pdir_opt {
        Some(p) => p.clone(),
        None => match files.first() {
            Some(f) if f != "-" => Path::new(f)
                .parent()
                .map(Path::to_path_buf)
                .unwrap_or_else(|| cwd.clone()),
            _ => cwd.clone(),
        },
    };
    // Interpolation environment: env files, then the process environment on top.
    let env_files: Vec<String> = if opts.env_files.is_empty() {
        let d = project_dir.join(".env");
        if d.is_file() {
            vec![d.to_string_lossy().into_owned()]
        } else {
            Vec::new()
        }
    } else {
        opts.env_files
            .iter()
            .map(|f| norm::resolve_path(&cwd, f))
            .collect()
    };
    let mut env: IndexMap<String, String> = IndexMap::new();
    for ef in &env_files {
        let so_far = env.clone();
        let outer = |k: &str| os_env.get(k).cloned().or_else(|| so_far.get(k).cloned());
        let vars = read_env_file(ef, &outer)?;
        env.extend(vars);
    }
    for (k, v) in &os_env {
        env.insert(k.clone(), v.clone());
    }
    let mut loader = Loader {
        env,
        interpolate: opts.interpolate,
        project_dir: project_dir.clone(),
        warnings,
        unset: BTreeSet::new(),
        stdin: opts.stdin.clone(),
        raw: opts.model,
        resolve_paths: opts.resolve_paths,
    };
    let mut merged: Option<Value> = None;
    for f in &files {
        let pd = loader.project_dir.clone();
        let v = loader.load_file(f, &pd, &mut Vec::new())?;
        merged = Some(match merged {
            None => v,
            Some(b) if opts.model => rawmodel::merge(b, v, &[]),
            Some(b) => merge(b, v, &[]),
        });
        if opts.model {
            if let Some(m) = merged.as_mut() {
                rawmodel::unicity(m);
            }
        }
    }
    let merged = merged.unwrap_or(Value::Mapping(YMap::new()));
    for name in &loader.unset {
        loader.warnings.push(format!(
            "The \"{name}\" variable is not set. Defaulting to a blank string."
        ));
    }
    let env = loader.env.clone();
    // Project name.
    let yaml_name = merged
        .get("name")
        .and_then(Value::as_str)
        .map(str::to_string);
    let name = if let Some(n) = opts.project_name.clone().filter(|n| !n.is_empty()) {
        check_name(&n)?;
        n
    } else if let Some(n) = env.get("COMPOSE_PROJECT_NAME").filter(|n| !n.is_empty()) {
        // Checked as `-p` is (compose-go takes both as the user's own name).
        check_name(n)?;
        n.clone()
    } else if let Some(n) = yaml_name.filter(|n| !n.is_empty()) {
        normalize_name(&n)
    } else {
        let base = project_dir
            .file_name()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let n = normalize_name(&base);
        if n.is_empty() {
            return Err(Error::Invalid("project name must not be empty".into()));
        }
        n
    };
    let profiles: Vec<String> = if !opts.profiles.is_empty() {
        opts.profiles
            .iter()
            .flat_map(|p| p.split(','))
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .map(str::to_string)
            .collect()
    } else {
        env.get("COMPOSE_PROFILES")
            .map(|p| {
                p.split(',')
                    .map(str::trim)
                    .filter(|p| !p.is_empty())
                    .map(str::to_string)
                    .collect()
            })
            .unwrap_or_default()
    };
    if opts.model {
        let model = rawmodel::sorted(&rawmodel::finish(merged, &name, opts.normalize));
        return Ok(Loaded {
            project: Project {
                name,
                working_dir: project_dir,
                ..Default::default()
            },
            warnings: loader.warnings,
            environment: env,
            profiles,
            model: Some(model),
        });
    }
    let file0 = files.first().cloned().unwrap_or_default();
    let ctx = Ctx {
        file: &file0,
        base: &project_dir,
        resolve: opts.resolve_paths,
        rebase: None,
    };
    let mut project = Project {
        name,
        working_dir: project_dir.clone(),
        config_files: files.clone(),
        env_files: env_files.clone(),
        environment: env.clone(),
        ..Default::default()
    };
    if let Value::Mapping(m) = &merged {
        for (k, v) in m {
            let k = key_str(k);
            match k.as_str() {
                "services" => {
                    if let Value::Mapping(sm) = v {
                        for (sk, sv) in sm {
                            let sname = key_str(sk);
                            let s = norm::service(&ctx, &sname, sv)?;
                            project.services.insert(sname, s);
                        }
                    }
                }
                "networks" | "volumes" | "secrets" | "configs" => {
                    let Value::Mapping(sm) = v else { continue };
                    for (rk, rv) in sm {
                        let rname = key_str(rk);
                        match k.as_str() {
                            "networks" => {
                                project
                                    .networks
                                    .insert(rname.clone(), norm::network(&ctx, &rname, rv)?);
                            }
                            "volumes" => {
                                project
                                    .volumes
                                    .insert(rname.clone(), norm::volume(&ctx, &rname, rv)?);
                            }
                            kind => {
                                let o = norm::file_object(&ctx, kind, &rname, rv)?;
                                if kind == "secrets" {
                                    project.secrets.insert(rname, o);
                                } else {
                                    project.configs.insert(rname, o);
                                }
                            }
                        }
                    }
                }
                x if x.starts_with("x-") => {
                    project.extensions.insert(k.clone(), norm::sorted(v));
                }
                _ => {}
            }
        }
    }
    finish(
        &mut project,
        &env,
        &profiles,
        &opts.wanted_services,
        opts.normalize,
        opts.consistency,
    )?;
    Ok(Loaded {
        project,
        warnings: loader.warnings,
        environment: env,
        profiles,
        model: None,
    })
}

/// Project-wide normalisation and checks, after the files are merged. Without
/// `normalize` (`config --no-normalize`) what compose-go's Normalize does is left out:
/// the implicit `default` network, `if_not_present` as `missing`, the default
/// Dockerfile, values of environment entries and build args looked up in the
/// environment, implicit dependencies (links, `service:` namespaces, volumes_from) and
/// resource names from their keys.
fn finish(
    p: &mut Project,
    env: &IndexMap<String, String>,
    profiles: &[String],
    wanted: &[String],
    normalize: bool,
    consistency: bool,
) -> Result<()> {
    // Profiles: services of inactive profiles step aside.
    let all = profiles.iter().any(|x| x == "*");
    let names: Vec<String> = p.services.keys().cloned().collect();
    for n in &names {
        let s = &p.services[n];
        let active = s.profiles.is_empty()
            || all
            || s.profiles.iter().any(|x| profiles.contains(x))
            || wanted.contains(n);
        if !active {
            if let Some(s) = p.services.remove(n) {
                p.disabled.insert(n.clone(), s);
            }
        }
    }
    for (name, s) in p.services.iter_mut() {
        s.name = name.clone();
        resolve_files(s, env)?;
        if !s.log_driver.is_empty() {
            let d = std::mem::take(&mut s.log_driver);
            s.logging.get_or_insert_with(Default::default).driver = d;
        }
        if normalize {
            normalize_service(s, env);
        }
        if s.replicas() > 1 && !s.container_name.is_empty() {
            return Err(Error::Invalid(format!(
                "services.deploy.replicas: can't set container_name and {name} as container name must be unique: invalid compose project"
            )));
        }
    }
    // Resources used by the enabled services; the others are left out, as compose does.
    let mut used_nets = BTreeSet::new();
    let mut used_vols = BTreeSet::new();
    let mut used_secrets = BTreeSet::new();
    let mut used_configs = BTreeSet::new();
    for s in p.services.values() {
        used_nets.extend(s.networks.keys().cloned());
        for v in &s.volumes {
            if v.kind == "volume" && !v.source.is_empty() {
                used_vols.insert(v.source.clone());
            }
        }
        used_secrets.extend(s.secrets.iter().map(|r| r.source.clone()));
        used_configs.extend(s.configs.iter().map(|r| r.source.clone()));
        if let Some(b) = &s.build {
            used_secrets.extend(b.secrets.iter().map(|r| r.source.clone()));
        }
    }
    // Checks: references to undefined things, in compose-go's order (checkConsistency:
    // the first one found is the one reported).
    for (name, s) in p.services.iter().filter(|_| consistency) {
        if s.image.is_empty() && s.build.is_none() {
            return Err(Error::Invalid(format!(
                "service {name:?} has neither an image nor a build context specified: invalid compose project"
            )));
        }
        for n in s.networks.keys() {
            if n != "default" && !p.networks.contains_key(n) {
                return Err(Error::Invalid(format!(
                    "service {name:?} refers to undefined network {n}: invalid compose project"
                )));
            }
        }
        for dep in s.depends_on.keys() {
            if !p.services.contains_key(dep) {
                let dep_disabled = p.disabled.contains_key(dep);
                if dep_disabled && !s.depends_on[dep].required {
                    continue;
                }
                if dep_disabled {
                    return Err(Error::Invalid(format!(
                        "service {dep:?} is required by {name:?} but is disabled. Can be enabled by profiles {:?}",
                        p.disabled[dep].profiles
                    )));
                }
                return Err(Error::Invalid(format!(
                    "service {name:?} depends on undefined service {dep:?}: invalid compose project"
                )));
            }
        }
        for v in &s.volumes {
            if v.kind == "volume" && !v.source.is_empty() && !p.volumes.contains_key(&v.source) {
                return Err(Error::Invalid(format!(
                    "service {name:?} refers to undefined volume {}: invalid compose project",
                    v.source
                )));
            }
        }
        if let Some(b) = &s.build {
            for r in &b.secrets {
                if !p.secrets.contains_key(&r.source) {
                    return Err(Error::Invalid(format!(
                        "service {name:?} refers to undefined build secret {}: invalid compose project",
                        r.source
                    )));
                }
            }
        }
        for r in &s.configs {
            if !p.configs.contains_key(&r.source) {
                return Err(Error::Invalid(format!(
                    "service {name:?} refers to undefined config {}: invalid compose project",
                    r.source
                )));
            }
        }
        for r in &s.secrets {
            if !p.secrets.contains_key(&r.source) {
                return Err(Error::Invalid(format!(
                    "service {name:?} refers to undefined secret {}: invalid compose project",
                    r.source
                )));
            }
        }
    }
    if consistency {
        crate::graph::check_cycles(p)?;
    }
    if normalize && used_nets.contains("default") && !p.networks.contains_key("default") {
        p.networks.insert("default".into(), Network::default());
    }
    p.networks.retain(|k, _| used_nets.contains(k));
    p.volumes.retain(|k, _| used_vols.contains(k));
    p.secrets.retain(|k, _| used_secrets.contains(k));
    p.configs.retain(|k, _| used_configs.contains(k));
    if !normalize {
        return Ok(());
    }
    let project = p.name.clone();
    for (k, n) in p.networks.iter_mut() {
        if n.name.is_empty() {
            n.name = if n.external {
                k.clone()
            } else {
                format!("{project}_{k}")
            };
        }
    }
    for (k, v) in p.volumes.iter_mut() {
        if v.name.is_empty() {
            v.name = if v.external {
                k.clone()
            } else {
                format!("{project}_{k}")
            };
        }
    }
    for (k, o) in p.secrets.iter_mut().chain(p.configs.iter_mut()) {
        if o.name.is_empty() {
            o.name = if o.external {
                k.clone()
            } else {
                format!("{project}_{k}")
            };
        }
    }
    Ok(())
}

/// compose-go's Normalize for one service (after its files are read): the implicit
/// `default` network, `if_not_present` as `missing`, the default Dockerfile, build args
/// looked up in the environment (dropped when unset) and the implicit dependencies.
fn normalize_service(s: &mut crate::model::Service, env: &IndexMap<String, String>) {
    if s.networks.is_empty() && s.network_mode.is_empty() {
        s.networks.insert("default".into(), None);
    }
    if s.pull_policy == "if_not_present" {
        s.pull_policy = "missing".into();
    }
    if let Some(b) = s.build.as_mut() {
        if b.dockerfile.is_empty() && b.dockerfile_inline.is_empty() {
            b.dockerfile = "Dockerfile".into();
        }
        b.args = std::mem::take(&mut b.args)
            .into_iter()
            .filter_map(|(k, v)| match v {
                Some(v) => Some((k, Some(v))),
                None => env.get(&k).map(|v| (k, Some(v.clone()))),
            })
            .collect();
    }
    let implicit = |deps: &mut BTreeMap<String, Dependency>, n: &str, restart: bool| {
        deps.entry(n.to_string()).or_insert(Dependency {
            condition: "service_started".into(),
            restart,
            extensions: Extensions::new(),
            required: true,
        });
    };
    for link in s.links.clone() {
        let n = link.split(':').next().unwrap_or("").to_string();
        implicit(&mut s.depends_on, &n, true);
    }
    for ns in [&s.network_mode, &s.ipc, &s.pid, &s.uts, &s.cgroup].map(|x| x.clone()) {
        if let Some(n) = ns.strip_prefix("service:") {
            implicit(&mut s.depends_on, n, true);
        }
    }
    for vf in s.volumes_from.clone() {
        if !vf.starts_with("container:") {
            let n = vf.split(':').next().unwrap_or("").to_string();
            implicit(&mut s.depends_on, &n, false);
        }
    }
}

/// A service's env_file entries read under its `environment` (which wins) and its
/// label_file entries under its `labels`; an environment entry without a value takes the
/// variable's value (compose-go does this with or without its Normalize step).
fn resolve_files(s: &mut crate::model::Service, env: &IndexMap<String, String>) -> Result<()> {
    // env_file values first, `environment` on top.
    let mut environment: BTreeMap<String, Option<String>> = BTreeMap::new();
    for ef in std::mem::take(&mut s.env_file) {
        if !Path::new(&ef.path).exists() {
            if ef.required {
                return Err(Error::Io(format!(
                    "env file {} not found: stat {}: no such file or directory",
                    ef.path, ef.path
                )));
            }
            continue;
        }
        let so_far = environment.clone();
        let outer = |k: &str| {
            so_far
                .get(k)
                .cloned()
                .flatten()
                .or_else(|| env.get(k).cloned())
        };
        for (k, v) in read_env_file(&ef.path, &outer)? {
            environment.insert(k, Some(v));
        }
    }
    for (k, v) in std::mem::take(&mut s.environment) {
        let v = match v {
            None => env.get(&k).cloned(),
            v => v,
        };
        environment.insert(k, v);
    }
    s.environment = environment;
    // label_file entries (a later file over an earlier one) under `labels`, which win;
    // read at load as compose-go does, so `config` shows them under labels only.
    let mut from_files = Mapping::new();
    for lf in std::mem::take(&mut s.label_file) {
        if !Path::new(&lf).exists() {
            return Err(Error::Io(format!(
                "label file {lf} not found: stat {lf}: no such file or directory"
            )));
        }
        from_files.extend(read_env_file(&lf, &|k: &str| env.get(k).cloned())?);
    }
    for (k, v) in from_files {
        s.labels.entry(k).or_insert(v);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load_error(yaml: &str) -> String {
        let opts = LoadOptions {
            files: vec!["-".into()],
            stdin: Some(yaml.into()),
            cwd: Some(std::env::temp_dir()),
            os_env: Some(IndexMap::new()),
            project_name: Some("t".into()),
            ..Default::default()
        };
        match load(&opts) {
            Ok(_) => "loaded".into(),
            Err(e) => e.to_string(),
        }
    }

    #[test]
    fn undefined_references_reported_in_compose_go_order() {
        // 003's frontend: an undefined config and secret; compose-go reports the config.
        let both = "services:\n  web:\n    image: a\n    configs: [c]\n    secrets: [s]\n";
        assert!(
            load_error(both).contains("service \"web\" refers to undefined config c"),
            "{}",
            load_error(both)
        );
        let vol_and_net =
            "services:\n  web:\n    image: a\n    networks: [n]\n    volumes: [v:/v]\n    depends_on: [x]\n";
        assert!(load_error(vol_and_net).contains("refers to undefined network n"));
        let dep_and_vol =
            "services:\n  web:\n    image: a\n    volumes: [v:/v]\n    depends_on: [x]\n";
        assert!(load_error(dep_and_vol).contains("depends on undefined service \"x\""));
        let build_secret = "services:\n  web:\n    build:\n      context: .\n      secrets: [b]\n    configs: [c]\n";
        assert!(
            load_error(build_secret).contains("refers to undefined build secret b"),
            "{}",
            load_error(build_secret)
        );
    }
}
