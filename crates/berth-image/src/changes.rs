//! The image `config` object and the Dockerfile instructions `docker import -c` /
//! `docker commit -c` may apply to it.

use std::collections::BTreeMap;

use berth_api::models::{Empty, HealthConfig};

use crate::error::ImageError;

/// An image's `config` is berth-api's container config: one type from the create body to
/// the image config blob ([`ContainerConfig::for_image`] is what an image records of it).
pub use berth_api::models::ContainerConfig;

fn invalid(msg: impl Into<String>) -> ImageError {
    ImageError::InvalidArgument(msg.into())
}

/// Shell-like word splitting with quotes and backslash escapes (quotes removed).
fn words(s: &str) -> Result<Vec<String>, ImageError> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(x) => cur.push(x),
                        None => return Err(invalid(
                            "unexpected end of statement while looking for matching single-quote",
                        )),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(x) => cur.push(x),
                            None => return Err(invalid("unexpected end of statement")),
                        },
                        Some(x) => cur.push(x),
                        None => return Err(invalid(
                            "unexpected end of statement while looking for matching double-quote",
                        )),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(x) = chars.next() {
                    cur.push(x);
                }
            }
            c if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                cur.push(c);
            }
        }
    }
    if in_word {
        out.push(cur);
    }
    Ok(out)
}

/// `["a","b"]` JSON form, or `None` for shell form.
fn json_array(s: &str) -> Option<Vec<String>> {
    let t = s.trim();
    if !t.starts_with('[') {
        return None;
    }
    serde_json::from_str::<Vec<String>>(t).ok()
}

fn exec_or_shell(rest: &str, shell: &Option<Vec<String>>) -> Vec<String> {
    match json_array(rest) {
        Some(v) => v,
        None => {
            let mut v = shell
                .clone()
                .unwrap_or_else(|| vec!["/bin/sh".to_string(), "-c".to_string()]);
            v.push(rest.trim().to_string());
            v
        }
    }
}

/// `KEY=VALUE ...` pairs, or the legacy `KEY VALUE` form.
fn key_values(cmd: &str, rest: &str) -> Result<Vec<(String, String)>, ImageError> {
    let ws = words(rest)?;
    let first_has_eq = ws.first().is_some_and(|w| w.contains('='));
    if ws.is_empty() {
        return Err(invalid(format!("{cmd} requires at least one argument")));
    }
    if !first_has_eq {
        let t = rest.trim();
        let (k, v) = match t.split_once(char::is_whitespace) {
            Some((k, v)) => (k, v.trim()),
            None => return Err(invalid(format!("{cmd} must have two arguments"))),
        };
        let v = words(v)?.join(" ");
        return Ok(vec![(k.to_string(), v)]);
    }
    ws.into_iter()
        .map(|w| match w.split_once('=') {
            Some((k, v)) if !k.is_empty() => Ok((k.to_string(), v.to_string())),
            _ => Err(invalid(format!(
                "Syntax error - can't find = in {w:?}. Must be of the form: name=value"
            ))),
        })
        .collect()
}

fn expose_ports(rest: &str) -> Result<Vec<String>, ImageError> {
    let mut out = Vec::new();
    for w in words(rest)? {
        let (ports, proto) = match w.split_once('/') {
            Some((p, pr)) => (p.to_string(), pr.to_lowercase()),
            None => (w.clone(), "tcp".to_string()),
        };
        let (lo, hi) = match ports.split_once('-') {
            Some((a, b)) => (a.to_string(), b.to_string()),
            None => (ports.clone(), ports.clone()),
        };
        let parse = |p: &str| {
            p.parse::<u16>()
                .map_err(|_| invalid(format!("invalid containerPort: {ports}")))
        };
        let (lo, hi) = (parse(&lo)?, parse(&hi)?);
        if hi < lo {
            return Err(invalid(format!(
                "invalid range specified for container: {ports}"
            )));
        }
        for p in lo..=hi {
            out.push(format!("{p}/{proto}"));
        }
    }
    Ok(out)
}

/// Applies `changes` (one Dockerfile instruction each) to `cfg`, like docker's
/// `BuildFromConfig` for `import -c`/`commit -c`.
pub fn apply_changes(cfg: &mut ContainerConfig, changes: &[String]) -> Result<(), ImageError> {
    for change in changes {
        let line = change.trim();
        if line.is_empty() {
            continue;
        }
        let (cmd, rest) = match line.split_once(char::is_whitespace) {
            Some((c, r)) => (c.to_lowercase(), r.trim()),
            None => (line.to_lowercase(), ""),
        };
        match cmd.as_str() {
            "cmd" => cfg.cmd = Some(exec_or_shell(rest, &cfg.shell)),
            "entrypoint" => cfg.entrypoint = Some(exec_or_shell(rest, &cfg.shell)),
            "env" => {
                let env = cfg.env.get_or_insert_with(Vec::new);
                for (k, v) in key_values("ENV", rest)? {
                    let prefix = format!("{k}=");
                    let item = format!("{k}={v}");
                    match env.iter_mut().find(|e| e.starts_with(&prefix) || **e == k) {
                        Some(slot) => *slot = item,
                        None => env.push(item),
                    }
                }
            }
            "label" => {
                let labels = cfg.labels.get_or_insert_with(BTreeMap::new);
                for (k, v) in key_values("LABEL", rest)? {
                    labels.insert(k, v);
                }
            }
            "workdir" => {
                let w = words(rest)?.join(" ");
                if w.is_empty() {
                    return Err(invalid("WORKDIR requires exactly one argument"));
                }
                cfg.working_dir = if w.starts_with('/') {
                    w
                } else {
                    let base = if cfg.working_dir.is_empty() {
                        "/"
                    } else {
                        &cfg.working_dir
                    };
                    format!("{}/{}", base.trim_end_matches('/'), w)
                };
            }
            "user" => {
                let w = words(rest)?;
                if w.len() != 1 {
                    return Err(invalid("USER requires exactly one argument"));
                }
                cfg.user = w[0].clone();
            }
            "expose" => {
                let ports = cfg.exposed_ports.get_or_insert_with(BTreeMap::new);
                for p in expose_ports(rest)? {
                    ports.insert(p, Empty);
                }
            }
            "volume" => {
                let vols = match json_array(rest) {
                    Some(v) => v,
                    None => words(rest)?,
                };
                if vols.is_empty() {
                    return Err(invalid("VOLUME requires at least one argument"));
                }
                let map = cfg.volumes.get_or_insert_with(BTreeMap::new);
                for v in vols {
                    map.insert(v, Empty);
                }
            }
            "stopsignal" => {
                let w = words(rest)?;
                if w.len() != 1 {
                    return Err(invalid("STOPSIGNAL requires exactly one argument"));
                }
                cfg.stop_signal = Some(w[0].clone());
            }
            "onbuild" => {
                cfg.on_build
                    .get_or_insert_with(Vec::new)
                    .push(rest.to_string());
            }
            "healthcheck" => {
                // Options first, as in a Dockerfile: --interval=30s --retries=3 ... CMD ...
                let mut check = HealthConfig::default();
                let mut rest = rest.trim_start();
                while let Some(opt) = rest.strip_prefix("--") {
                    let end = opt.find(char::is_whitespace).unwrap_or(opt.len());
                    let (flag, tail) = opt.split_at(end);
                    rest = tail.trim_start();
                    let (key, value) = flag
                        .split_once('=')
                        .ok_or_else(|| invalid(format!("missing a value on flag: --{flag}")))?;
                    let duration = || {
                        berth_api::human::parse_go_duration(value)
                            .filter(|s| *s >= 0.0)
                            .map(|secs| (secs * 1e9).round() as i64)
                            .ok_or_else(|| {
                                invalid(format!("invalid duration for --{key}: {value}"))
                            })
                    };
                    match key {
                        "interval" => check.interval = Some(duration()?),
                        "timeout" => check.timeout = Some(duration()?),
                        "start-period" => check.start_period = Some(duration()?),
                        "start-interval" => check.start_interval = Some(duration()?),
                        "retries" => {
                            check.retries = Some(value.parse::<i64>().map_err(|_| {
                                invalid(format!("invalid --retries value: {value}"))
                            })?)
                        }
                        other => return Err(invalid(format!("Unknown flag: {other}"))),
                    }
                }
                let upper = rest.to_uppercase();
                let test = if upper == "NONE" {
                    vec!["NONE".to_string()]
                } else if let Some(c) = rest
                    .strip_prefix("CMD")
                    .or_else(|| rest.strip_prefix("cmd"))
                {
                    match json_array(c) {
                        Some(mut v) => {
                            v.insert(0, "CMD".to_string());
                            v
                        }
                        None => vec!["CMD-SHELL".to_string(), c.trim().to_string()],
                    }
                } else {
                    return Err(invalid(
                        "Unknown type for healthcheck (options are not supported here)",
                    ));
                };
                check.test = Some(test);
                cfg.healthcheck = Some(check);
            }
            other => return Err(invalid(format!("{other} is not a valid change command"))),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_like_docker() {
        let mut c = ContainerConfig::default();
        let ch: Vec<String> = [
            "CMD echo hi",
            "ENV A=b C=d",
            "ENV legacy some value",
            "EXPOSE 80/tcp 53/udp 8000-8001",
            "LABEL x=y \"a b\"=\"c d\"",
            "WORKDIR /w",
            "WORKDIR sub",
            "USER nobody",
            "VOLUME /data",
            "VOLUME [\"/v1\", \"/v2\"]",
            "STOPSIGNAL SIGTERM",
            "ENTRYPOINT [\"/bin/sh\"]",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        apply_changes(&mut c, &ch).unwrap();
        assert_eq!(c.cmd.as_deref().unwrap(), ["/bin/sh", "-c", "echo hi"]);
        assert_eq!(
            c.env.as_deref().unwrap(),
            ["A=b", "C=d", "legacy=some value"]
        );
        let ports: Vec<_> = c.exposed_ports.as_ref().unwrap().keys().cloned().collect();
        assert_eq!(ports, ["53/udp", "80/tcp", "8000/tcp", "8001/tcp"]);
        assert_eq!(c.labels.as_ref().unwrap()["a b"], "c d");
        assert_eq!(c.working_dir, "/w/sub");
        assert_eq!(c.user, "nobody");
        assert_eq!(c.volumes.as_ref().unwrap().len(), 3);
        assert_eq!(c.stop_signal.as_deref(), Some("SIGTERM"));
        assert_eq!(c.entrypoint.as_deref().unwrap(), ["/bin/sh"]);
        let e = apply_changes(&mut c, &["RUN true".to_string()]).unwrap_err();
        assert_eq!(e.to_string(), "run is not a valid change command");
        assert_eq!(e.status_code(), 400);
    }
}
