//! The meaning of each instruction: typed [`Instr`]s grouped into [`Stage`]s, with the
//! argument and flag checks BuildKit's `instructions.Parse` makes (messages and line numbers
//! as docker prints them), and the stage graph (`--target`, the stages a target needs).

use crate::error::{BuildError, Result};
use crate::parser::{self, Dockerfile, Heredoc, Node};

/// Shell or exec form of RUN/CMD/ENTRYPOINT.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CmdForm {
    Exec(Vec<String>),
    Shell(String),
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CopySpec {
    /// Sources and destination, unexpanded (the last word is the destination).
    pub srcs: Vec<String>,
    pub dest: String,
    pub from: Option<String>,
    pub chown: Option<String>,
    pub chmod: Option<String>,
    pub link: bool,
    pub heredocs: Vec<Heredoc>,
    /// ADD --checksum=sha256:... (URL sources).
    pub checksum: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HealthSpec {
    pub test: Vec<String>,
    pub interval: i64,
    pub timeout: i64,
    pub start_period: i64,
    pub start_interval: i64,
    pub retries: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Instr {
    Arg(Vec<(String, Option<String>)>),
    Run {
        cmd: CmdForm,
        heredocs: Vec<Heredoc>,
        network: Option<String>,
        mounts: Vec<String>,
    },
    Cmd(CmdForm),
    Entrypoint(CmdForm),
    Shell(Vec<String>),
    /// `k=v` pairs, values still to be expanded.
    Env(Vec<(String, String)>),
    Label(Vec<(String, String)>),
    Copy(CopySpec),
    Add(CopySpec),
    Workdir(String),
    User(String),
    /// Unexpanded port list.
    Expose(String),
    Volume(Vec<String>),
    StopSignal(String),
    Maintainer(String),
    /// `None` is `HEALTHCHECK NONE`.
    Healthcheck(Option<HealthSpec>),
    /// The trigger instruction's text (`RUN echo hi`).
    Onbuild(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    pub line: usize,
    pub original: String,
    pub instr: Instr,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    pub index: usize,
    pub line: usize,
    pub original: String,
    /// Unexpanded base (`busybox`, `${IMG}`, `scratch`, a stage name).
    pub base: String,
    pub name: Option<String>,
    pub platform: Option<String>,
    pub instructions: Vec<Instruction>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parsed {
    pub escape: char,
    /// ARGs before the first FROM, with their lines (for FROM expansion).
    pub meta_args: Vec<(String, Option<String>)>,
    pub meta_nodes: Vec<Instruction>,
    pub stages: Vec<Stage>,
    pub warnings: Vec<String>,
}

fn allowed_flags(kw: &str) -> &'static [&'static str] {
    match kw {
        "FROM" => &["platform"],
        "RUN" => &["mount", "network", "security"],
        "COPY" => &["from", "chown", "chmod", "link", "parents", "exclude"],
        "ADD" => &[
            "chown",
            "chmod",
            "link",
            "checksum",
            "keep-git-dir",
            "exclude",
        ],
        "HEALTHCHECK" => &[
            "interval",
            "timeout",
            "start-period",
            "start-interval",
            "retries",
        ],
        _ => &[],
    }
}

fn perr(n: &Node, msg: impl Into<String>) -> BuildError {
    BuildError::parse(n.line, msg)
}

fn cmd_form(n: &Node) -> CmdForm {
    match n.json() {
        Some(v) => CmdForm::Exec(v),
        None => CmdForm::Shell(n.args.clone()),
    }
}

/// `k=v k2="v 2"` (or the legacy `k v` form) for ENV and LABEL.
fn name_vals(n: &Node, escape: char, what: &str) -> Result<Vec<(String, String)>> {
    let words = parser::split_words(&n.args, escape);
    if words.is_empty() {
        return Err(perr(n, format!("{what} requires at least one argument")));
    }
    if !words[0].contains('=') {
        // Legacy form: `ENV name value with spaces`.
        let rest = n.args.trim_start()[words[0].len()..].trim().to_string();
        if rest.is_empty() {
            return Err(perr(n, format!("{what} must have two arguments")));
        }
        return Ok(vec![(words[0].clone(), rest)]);
    }
    let mut out = Vec::new();
    for w in words {
        let Some((k, v)) = w.split_once('=') else {
            return Err(perr(
                n,
                format!("Syntax error - can't find = in \"{w}\". Must be of the form: name=value"),
            ));
        };
        if k.is_empty() {
            return Err(perr(n, format!("{what} names can not be blank")));
        }
        out.push((k.to_string(), v.to_string()));
    }
    Ok(out)
}

/// Go's time.ParseDuration for the healthcheck flags, in nanoseconds.
pub fn parse_duration(s: &str) -> Option<i64> {
    if s == "0" {
        return Some(0);
    }
    let mut total: f64 = 0.0;
    let mut rest = s;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let num: f64 = rest[..num_end].parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let mult = match &rest[..unit_end] {
            "ns" => 1.0,
            "us" | "µs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[unit_end..];
        total += num * mult;
    }
    Some(total as i64)
}

fn healthcheck(n: &Node) -> Result<Option<HealthSpec>> {
    let args = n.args.trim();
    let (kw, rest) = match args.find(char::is_whitespace) {
        Some(p) => (&args[..p], args[p..].trim()),
        None => (args, ""),
    };
    match kw.to_ascii_uppercase().as_str() {
        "NONE" => {
            if !rest.is_empty() || !n.flags.is_empty() {
                return Err(perr(n, "HEALTHCHECK NONE takes no arguments"));
            }
            Ok(None)
        }
        "CMD" => {
            if rest.is_empty() {
                return Err(perr(n, "Missing command after HEALTHCHECK CMD"));
            }
            let test = match serde_json::from_str::<Vec<String>>(rest) {
                Ok(v) if rest.starts_with('[') => {
                    let mut t = vec!["CMD".to_string()];
                    t.extend(v);
                    t
                }
                _ => vec!["CMD-SHELL".to_string(), rest.to_string()],
            };
            let dur = |name: &str| -> Result<i64> {
                match n.flag(name) {
                    Some(Some(v)) => {
                        let d = parse_duration(v)
                            .ok_or_else(|| perr(n, format!("time: invalid duration \"{v}\"")))?;
                        if d != 0 && d < 1_000_000 {
                            return Err(perr(
                                n,
                                format!("Interval \"{name}\" cannot be less than 1ms"),
                            ));
                        }
                        Ok(d)
                    }
                    _ => Ok(0),
                }
            };
            let retries = match n.flag("retries") {
                Some(Some(v)) => {
                    let r: i64 = v.parse().map_err(|_| {
                        perr(
                            n,
                            format!("strconv.ParseInt: parsing \"{v}\": invalid syntax"),
                        )
                    })?;
                    if r < 0 {
                        return Err(perr(n, "--retries cannot be negative"));
                    }
                    r
                }
                _ => 0,
            };
            Ok(Some(HealthSpec {
                test,
                interval: dur("interval")?,
                timeout: dur("timeout")?,
                start_period: dur("start-period")?,
                start_interval: dur("start-interval")?,
                retries,
            }))
        }
        _ => Err(perr(
            n,
            format!("Unknown type \"{kw}\" in HEALTHCHECK (try CMD)"),
        )),
    }
}

fn copy_spec(n: &Node, escape: char) -> Result<CopySpec> {
    let words = match n.json() {
        Some(v) => v,
        None => parser::split_words(&n.args, escape),
    };
    let heredocs = n.heredocs.clone();
    let min = if heredocs.is_empty() { 2 } else { 1 };
    if words.len() < min {
        return Err(perr(
            n,
            format!(
                "{} requires at least two arguments, but only one was provided. Destination could not be determined.",
                n.keyword
            ),
        ));
    }
    let mut srcs = words;
    let dest = srcs.pop().unwrap_or_default();
    // Heredoc markers are sources by content, not paths.
    srcs.retain(|w| {
        let m = parser::heredoc_markers(w);
        !(w.starts_with("<<") && m.len() == 1 && heredocs.iter().any(|h| h.name == m[0].0))
    });
    let fl = |k: &str| n.flag(k).and_then(|v| v.clone());
    if n.keyword == "ADD" && n.flag("from").is_some() {
        return Err(perr(n, "unknown flag: from"));
    }
    Ok(CopySpec {
        srcs,
        dest,
        from: fl("from"),
        chown: fl("chown"),
        chmod: fl("chmod"),
        link: match n.flag("link") {
            None => false,
            Some(None) => true,
            Some(Some(v)) => v == "true",
        },
        heredocs,
        checksum: fl("checksum"),
    })
}

/// One instruction's meaning; `n` is never FROM.
fn instr(n: &Node, escape: char) -> Result<Instr> {
    let allowed = allowed_flags(&n.keyword);
    for (k, _) in &n.flags {
        if !allowed.contains(&k.as_str()) {
            return Err(perr(n, format!("unknown flag: {k}")));
        }
    }
    let args = n.args.trim();
    let need = |what: &str| -> Result<()> {
        if args.is_empty() && n.heredocs.is_empty() {
            Err(perr(n, format!("{what} requires at least one argument")))
        } else {
            Ok(())
        }
    };
    // moby reads these as one string: `WORKDIR a b` is the directory "a b".
    let one = |what: &str| -> Result<String> {
        if args.is_empty() {
            return Err(perr(n, format!("{what} requires exactly one argument")));
        }
        Ok(args.to_string())
    };
    Ok(match n.keyword.as_str() {
        "ARG" => {
            need("ARG")?;
            let mut out = Vec::new();
            for w in parser::split_words(args, escape) {
                match w.split_once('=') {
                    Some((k, v)) => {
                        if k.is_empty() {
                            return Err(perr(n, "ARG names can not be blank"));
                        }
                        let v = crate::shell::process_word(v, &Vec::new(), escape)
                            .map(|_| v.to_string())
                            .map_err(|e| perr(n, e.0))?;
                        out.push((k.to_string(), Some(v)));
                    }
                    None => out.push((w, None)),
                }
            }
            Instr::Arg(out)
        }
        "RUN" => {
            need("RUN")?;
            let mut mounts = Vec::new();
            let mut network = None;
            for (k, v) in &n.flags {
                match (k.as_str(), v) {
                    ("mount", Some(v)) => {
                        // Checked now (as BuildKit does) unless variables make it depend on
                        // the build; then when the step runs.
                        if !v.contains('$') {
                            crate::run_mounts::parse(v).map_err(|e| perr(n, e.to_string()))?;
                        }
                        mounts.push(v.clone())
                    }
                    ("network", Some(v)) => {
                        if !matches!(v.as_str(), "default" | "none" | "host") {
                            return Err(perr(n, format!("unsupported network mode \"{v}\"")));
                        }
                        network = Some(v.clone());
                    }
                    ("security", Some(v)) if v == "sandbox" || v == "insecure" => {}
                    (k, _) => return Err(perr(n, format!("invalid value for flag {k}"))),
                }
            }
            Instr::Run {
                cmd: cmd_form(n),
                heredocs: n.heredocs.clone(),
                network,
                mounts,
            }
        }
        "CMD" => {
            need("CMD")?;
            Instr::Cmd(cmd_form(n))
        }
        "ENTRYPOINT" => {
            need("ENTRYPOINT")?;
            Instr::Entrypoint(cmd_form(n))
        }
        "SHELL" => match n.json() {
            Some(v) if !v.is_empty() => Instr::Shell(v),
            Some(_) => return Err(perr(n, "SHELL requires at least one argument")),
            None => return Err(perr(n, "SHELL requires the arguments to be in JSON form")),
        },
        "ENV" => Instr::Env(name_vals(n, escape, "ENV")?),
        "LABEL" => Instr::Label(name_vals(n, escape, "LABEL")?),
        "COPY" => Instr::Copy(copy_spec(n, escape)?),
        "ADD" => Instr::Add(copy_spec(n, escape)?),
        "WORKDIR" => Instr::Workdir(one("WORKDIR")?),
        "USER" => Instr::User(one("USER")?),
        "STOPSIGNAL" => Instr::StopSignal(one("STOPSIGNAL")?),
        "MAINTAINER" => {
            need("MAINTAINER")?;
            Instr::Maintainer(args.to_string())
        }
        "EXPOSE" => {
            need("EXPOSE")?;
            Instr::Expose(args.to_string())
        }
        "VOLUME" => {
            need("VOLUME")?;
            let v = match n.json() {
                Some(v) => v,
                None => parser::split_words(args, escape),
            };
            if v.iter().any(|s| s.trim().is_empty()) {
                return Err(perr(n, "VOLUME specified can not be an empty string"));
            }
            Instr::Volume(v)
        }
        "HEALTHCHECK" => {
            need("HEALTHCHECK")?;
            Instr::Healthcheck(healthcheck(n)?)
        }
        "ONBUILD" => {
            need("ONBUILD")?;
            let sub = args
                .split_whitespace()
                .next()
                .unwrap_or("")
                .to_ascii_uppercase();
            match sub.as_str() {
                "ONBUILD" => {
                    return Err(perr(
                        n,
                        "Chaining ONBUILD via `ONBUILD ONBUILD` isn't allowed",
                    ))
                }
                "FROM" | "MAINTAINER" => {
                    return Err(perr(
                        n,
                        format!("{sub} isn't allowed as an ONBUILD trigger"),
                    ))
                }
                s if !parser::is_keyword(s) => {
                    return Err(perr(n, format!("unknown instruction: {sub}")))
                }
                _ => {}
            }
            // Validate the trigger now, as docker does, so a bad one fails this build.
            let sub_node = parse_trigger(args, n.line)?;
            instr(&sub_node, escape)?;
            Instr::Onbuild(args.to_string())
        }
        other => return Err(perr(n, format!("unknown instruction: {other}"))),
    })
}

/// Parses an ONBUILD trigger (one instruction's text) as a node at `line`.
pub fn parse_trigger(text: &str, line: usize) -> Result<Node> {
    let df = parser::parse(text).map_err(|e| match e {
        BuildError::Parse { msg, .. } => BuildError::parse(line, msg),
        e => e,
    })?;
    let mut n = df
        .nodes
        .into_iter()
        .next()
        .ok_or_else(|| BuildError::parse(line, "ONBUILD requires at least one argument"))?;
    n.line = line;
    Ok(n)
}

/// Turns a trigger into an instruction (for running a base image's ONBUILD list).
pub fn trigger_instruction(text: &str, line: usize, escape: char) -> Result<Instruction> {
    let n = parse_trigger(text, line)?;
    Ok(Instruction {
        line,
        original: n.original.clone(),
        instr: instr(&n, escape)?,
    })
}

fn from_stage(n: &Node, index: usize) -> Result<Stage> {
    for (k, _) in &n.flags {
        if k != "platform" {
            return Err(perr(n, format!("unknown flag: {k}")));
        }
    }
    let w: Vec<&str> = n.args.split_whitespace().collect();
    let (base, name) = match w.as_slice() {
        [b] => (b.to_string(), None),
        [b, kw, name] if kw.eq_ignore_ascii_case("as") => {
            let name = name.to_ascii_lowercase();
            let ok = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_.-".contains(c));
            if !ok {
                return Err(perr(
                    n,
                    format!("invalid name for build stage: \"{name}\", name can't start with a number or contain symbols"),
                ));
            }
            (b.to_string(), Some(name))
        }
        _ => return Err(perr(n, "FROM requires either one or three arguments")),
    };
    Ok(Stage {
        index,
        line: n.line,
        original: n.original.clone(),
        base,
        name,
        platform: n.flag("platform").and_then(|v| v.clone()),
        instructions: Vec::new(),
    })
}

/// Groups a parsed Dockerfile into stages, checking every instruction.
pub fn stages(df: &Dockerfile) -> Result<Parsed> {
    let mut meta_args = Vec::new();
    let mut meta_nodes = Vec::new();
    let mut stages: Vec<Stage> = Vec::new();
    for n in &df.nodes {
        if n.keyword == "FROM" {
            let s = from_stage(n, stages.len())?;
            if let Some(name) = &s.name {
                if stages.iter().any(|o| o.name.as_ref() == Some(name)) {
                    return Err(perr(n, format!("duplicate stage name \"{name}\"")));
                }
            }
            stages.push(s);
            continue;
        }
        let i = instr(n, df.escape)?;
        match stages.last_mut() {
            Some(s) => s.instructions.push(Instruction {
                line: n.line,
                original: n.original.clone(),
                instr: i,
            }),
            None => match i {
                Instr::Arg(a) => {
                    meta_args.extend(a.clone());
                    meta_nodes.push(Instruction {
                        line: n.line,
                        original: n.original.clone(),
                        instr: Instr::Arg(a),
                    });
                }
                _ => {
                    return Err(BuildError::parse(
                        n.line,
                        "no build stage in current context",
                    ))
                }
            },
        }
    }
    if stages.is_empty() {
        return Err(BuildError::invalid(
            "the Dockerfile has no build stage: it needs at least one FROM instruction",
        ));
    }
    Ok(Parsed {
        escape: df.escape,
        meta_args,
        meta_nodes,
        stages,
        warnings: df.warnings.clone(),
    })
}

impl Parsed {
    /// The stage `--target` names (the last one without a target).
    pub fn target(&self, target: Option<&str>) -> Result<usize> {
        match target.filter(|t| !t.is_empty()) {
            None => Ok(self.stages.len() - 1),
            Some(t) => self.stage_index(t).ok_or_else(|| {
                BuildError::invalid(format!("failed to reach build target {t} in Dockerfile"))
            }),
        }
    }

    /// A stage by name (case-insensitive) or by index.
    pub fn stage_index(&self, r: &str) -> Option<usize> {
        let l = r.to_ascii_lowercase();
        self.stages
            .iter()
            .position(|s| s.name.as_deref() == Some(l.as_str()))
            .or_else(|| r.parse::<usize>().ok().filter(|i| *i < self.stages.len()))
    }

    /// The stages one stage depends on directly: its FROM and COPY --from / RUN --mount from=
    /// that name an earlier stage. `expand` resolves variables in those references.
    pub fn deps(&self, idx: usize, expand: &dyn Fn(&str) -> String) -> Vec<usize> {
        let s = &self.stages[idx];
        let mut out = Vec::new();
        let by_name = |r: &str| {
            let l = r.to_ascii_lowercase();
            self.stages[..idx]
                .iter()
                .position(|o| o.name.as_deref() == Some(l.as_str()))
        };
        if let Some(i) = by_name(&expand(&s.base)) {
            out.push(i);
        }
        for ins in &s.instructions {
            let mut refs = Vec::new();
            match &ins.instr {
                Instr::Copy(c) => refs.extend(c.from.clone()),
                Instr::Run { mounts, .. } => {
                    for m in mounts {
                        for kv in m.split(',') {
                            if let Some(v) = kv.strip_prefix("from=") {
                                refs.push(v.to_string());
                            }
                        }
                    }
                }
                _ => {}
            }
            for r in refs {
                let r = expand(&r);
                if let Some(i) =
                    by_name(&r).or_else(|| r.parse::<usize>().ok().filter(|i| *i < idx))
                {
                    out.push(i);
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Every stage `target` needs, itself included, in build order.
    pub fn needed(&self, target: usize, expand: &dyn Fn(&str) -> String) -> Vec<usize> {
        let mut need = vec![false; self.stages.len()];
        let mut todo = vec![target];
        while let Some(i) = todo.pop() {
            if need[i] {
                continue;
            }
            need[i] = true;
            todo.extend(self.deps(i, expand));
        }
        (0..self.stages.len()).filter(|i| need[*i]).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(src: &str) -> Result<Parsed> {
        stages(&parser::parse(src)?)
    }

    fn err(src: &str) -> String {
        p(src).unwrap_err().to_string()
    }

    #[test]
    fn stages_and_meta_args() {
        let x =
            p("ARG V=1\nFROM busybox:${V} AS Base\nRUN true\nFROM base\nCMD [\"a\"]\n").unwrap();
        assert_eq!(x.meta_args, vec![("V".to_string(), Some("1".to_string()))]);
        assert_eq!(x.stages.len(), 2);
        assert_eq!(x.stages[0].name.as_deref(), Some("base"));
        assert_eq!(x.stages[0].base, "busybox:${V}");
        assert_eq!(
            x.stages[1].instructions[0].instr,
            Instr::Cmd(CmdForm::Exec(vec!["a".into()]))
        );
    }

    #[test]
    fn missing_from() {
        assert_eq!(
            err("RUN echo hi\n"),
            "dockerfile parse error line 1: no build stage in current context"
        );
        assert!(err("# only a comment\n").contains("needs at least one FROM"));
    }

    #[test]
    fn from_arguments() {
        assert_eq!(
            err("FROM a b\n"),
            "dockerfile parse error line 1: FROM requires either one or three arguments"
        );
        assert!(err("FROM a AS 1x\n").contains("invalid name for build stage"));
        assert!(err("FROM a AS x\nFROM b AS X\n").contains("line 2: duplicate stage name"));
        assert_eq!(
            err("FROM --foo=1 a\n"),
            "dockerfile parse error line 1: unknown flag: foo"
        );
        let x = p("FROM --platform=linux/amd64 busybox\n").unwrap();
        assert_eq!(x.stages[0].platform.as_deref(), Some("linux/amd64"));
    }

    #[test]
    fn env_and_label_forms() {
        let x = p("FROM a\nENV A=1 B=\"x y\"\nENV C d e\nLABEL k=v\n").unwrap();
        let i = &x.stages[0].instructions;
        assert_eq!(
            i[0].instr,
            Instr::Env(vec![
                ("A".into(), "1".into()),
                ("B".into(), "\"x y\"".into())
            ])
        );
        assert_eq!(i[1].instr, Instr::Env(vec![("C".into(), "d e".into())]));
        assert!(err("FROM a\nENV A=1 B\n").contains("line 2: Syntax error - can't find = in \"B\""));
        assert!(err("FROM a\nENV\n").contains("line 2: ENV requires at least one argument"));
        assert!(err("FROM a\nENV =x\n").contains("ENV names can not be blank"));
        assert!(err("FROM a\nENV ONLY\n").contains("ENV must have two arguments"));
    }

    #[test]
    fn arguments_required() {
        assert!(err("FROM a\nRUN\n").contains("line 2: RUN requires at least one argument"));
        assert!(err("FROM a\nCMD\n").contains("CMD requires at least one argument"));
        assert!(err("FROM a\nWORKDIR\n").contains("WORKDIR requires exactly one argument"));
        assert!(err("FROM a\nUSER\n").contains("USER requires exactly one argument"));
        assert!(err("FROM a\n\nCOPY x\n")
            .contains("line 3: COPY requires at least two arguments, but only one was provided"));
        assert!(err("FROM a\nEXPOSE\n").contains("EXPOSE requires at least one argument"));
        assert!(err("FROM a\nSHELL sh -c\n")
            .contains("SHELL requires the arguments to be in JSON form"));
        assert!(err("FROM a\nRUN --foo echo\n").contains("line 2: unknown flag: foo"));
        assert!(err("FROM a\nRUN --network=bridge2 echo\n").contains("unsupported network mode"));
        assert!(err("FROM a\nADD --from=x a b\n").contains("unknown flag: from"));
    }

    #[test]
    fn copy_spec_parsing() {
        let x = p("FROM a\nCOPY --from=b --chown=1:2 --chmod=600 x y /d/\nCOPY [\"a b\", \"/c\"]\nCOPY <<EOF /f\nhi\nEOF\n").unwrap();
        let i = &x.stages[0].instructions;
        let Instr::Copy(c) = &i[0].instr else {
            panic!()
        };
        assert_eq!(
            (c.srcs.clone(), c.dest.as_str()),
            (vec!["x".into(), "y".into()], "/d/")
        );
        assert_eq!(c.from.as_deref(), Some("b"));
        assert_eq!(c.chmod.as_deref(), Some("600"));
        let Instr::Copy(c) = &i[1].instr else {
            panic!()
        };
        assert_eq!(c.srcs, vec!["a b".to_string()]);
        let Instr::Copy(c) = &i[2].instr else {
            panic!()
        };
        assert_eq!(c.heredocs[0].content, "hi\n");
        assert_eq!(c.dest, "/f");
    }

    #[test]
    fn healthcheck_forms() {
        let x = p("FROM a\nHEALTHCHECK --interval=5s --retries=3 CMD curl -f x\nHEALTHCHECK NONE\nHEALTHCHECK CMD [\"a\",\"b\"]\n").unwrap();
        let i = &x.stages[0].instructions;
        let Instr::Healthcheck(Some(h)) = &i[0].instr else {
            panic!()
        };
        assert_eq!(h.test, vec!["CMD-SHELL", "curl -f x"]);
        assert_eq!((h.interval, h.retries), (5_000_000_000, 3));
        assert_eq!(i[1].instr, Instr::Healthcheck(None));
        let Instr::Healthcheck(Some(h)) = &i[2].instr else {
            panic!()
        };
        assert_eq!(h.test, vec!["CMD", "a", "b"]);
        assert!(err("FROM a\nHEALTHCHECK FOO x\n").contains("Unknown type \"FOO\" in HEALTHCHECK"));
        assert!(err("FROM a\nHEALTHCHECK --interval=xs CMD a\n").contains("invalid duration"));
        assert_eq!(parse_duration("1m30s"), Some(90_000_000_000));
        assert_eq!(parse_duration("1.5s"), Some(1_500_000_000));
        assert_eq!(parse_duration("5"), None);
    }

    #[test]
    fn onbuild_rules() {
        let x = p("FROM a\nONBUILD RUN echo hi\n").unwrap();
        assert_eq!(
            x.stages[0].instructions[0].instr,
            Instr::Onbuild("RUN echo hi".into())
        );
        assert!(err("FROM a\nONBUILD ONBUILD RUN x\n").contains("Chaining ONBUILD"));
        assert!(
            err("FROM a\nONBUILD FROM x\n").contains("FROM isn't allowed as an ONBUILD trigger")
        );
        assert!(err("FROM a\nONBUILD BLAH x\n").contains("line 2: unknown instruction: BLAH"));
        assert!(err("FROM a\nONBUILD WORKDIR\n")
            .contains("line 2: WORKDIR requires exactly one argument"));
    }

    #[test]
    fn target_and_needed_stages() {
        let src = "FROM busybox AS a\nRUN x\nFROM busybox AS b\nRUN y\nFROM a AS c\nCOPY --from=b /x /y\nFROM busybox AS unused\nFROM c\n";
        let x = p(src).unwrap();
        let id = |s: &str| s.to_string();
        assert_eq!(x.target(None).unwrap(), 4);
        assert_eq!(x.needed(4, &id), vec![0, 1, 2, 4]);
        assert_eq!(x.needed(x.target(Some("b")).unwrap(), &id), vec![1]);
        assert_eq!(x.needed(x.target(Some("C")).unwrap(), &id), vec![0, 1, 2]);
        assert_eq!(
            x.target(Some("nope")).unwrap_err().to_string(),
            "failed to reach build target nope in Dockerfile"
        );
        let y = p("FROM busybox\nRUN x\nFROM busybox\nCOPY --from=0 /a /b\n").unwrap();
        assert_eq!(y.needed(1, &id), vec![0, 1]);
    }
}
