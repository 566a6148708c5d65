//! `service logs SERVICE|TASK`: the logs of a service's tasks (or of one task) as the docker
//! CLI prints them. Unless `--raw`, the CLI asks the daemon for the log details (node,
//! service and task ids after the timestamp) and prints each line behind a
//! `NAME.SLOT.TASKID@NODE    | ` prefix, the slot padded to the width of the replica count,
//! names resolved through the API (cached) unless `--no-resolve`.

use std::collections::HashMap;
use std::io::{Read, Write};

use clap::Parser;
use serde_json::Value;

use super::{parse, Invocation};
use crate::client::{q, Body, Client};
use crate::{CmdResult, Ctx, Failure};

#[derive(Parser)]
pub(crate) struct ServiceLogsCmd {
    #[arg(long, help = "Show extra details provided to logs")]
    details: bool,
    #[arg(short = 'f', long, help = "Follow log output")]
    follow: bool,
    #[arg(long, help = "Do not map IDs to Names in output")]
    no_resolve: bool,
    #[arg(long, help = "Do not include task IDs in output")]
    no_task_ids: bool,
    #[arg(long, help = "Do not truncate output")]
    no_trunc: bool,
    #[arg(long, help = "Do not neatly format logs")]
    raw: bool,
    #[arg(
        long,
        help = "Show logs since timestamp (e.g. \"2013-01-02T13:23:37Z\") or relative (e.g. \"42m\" for 42 minutes)",
        value_name = "string"
    )]
    since: Option<String>,
    #[arg(
        short = 'n',
        long,
        default_value = "all",
        help = "Number of lines to show from the end of the logs (default \"all\")",
        value_name = "string"
    )]
    tail: String,
    #[arg(short = 't', long, help = "Show timestamps")]
    timestamps: bool,
    args: Vec<String>,
}

fn fail(msg: impl Into<String>) -> Failure {
    Failure::new(msg.into(), 1)
}

/// The number of decimal digits of `n` (the docker CLI's `getMaxLength`).
fn digits(n: u64) -> usize {
    n.to_string().len()
}

pub(crate) fn service_logs(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: ServiceLogsCmd = parse(inv, args)?;
    inv.exactly(&o.args, 1)?;
    let target = &o.args[0];
    let c = ctx.client()?.clone();
    // A service first, then a task, as the docker CLI looks them up.
    let (kind, tty, width) = match c.get_json(&format!("/services/{}", q(target))) {
        Ok(svc) => {
            let spec = &svc["Spec"];
            let width = spec["Mode"]["Replicated"]["Replicas"]
                .as_u64()
                .map(digits)
                .unwrap_or(1);
            let tty = spec["TaskTemplate"]["ContainerSpec"]["TTY"] == Value::Bool(true);
            ("services", tty, width)
        }
        Err(e) if e.status() == Some(404) => match c.get_json(&format!("/tasks/{}", q(target))) {
            Ok(task) => {
                let tty = task["Spec"]["ContainerSpec"]["TTY"] == Value::Bool(true);
                ("tasks", tty, digits(task["Slot"].as_u64().unwrap_or(0)))
            }
            Err(e) if e.status() == Some(404) => {
                return Err(fail(format!("no such task or service: {target}")))
            }
            Err(e) => return Err(e.into()),
        },
        Err(e) => return Err(e.into()),
    };
    if tty && !o.raw {
        return Err(fail("tty service logs only supported with --raw"));
    }
    // The docker client's query, in its order.
    let mut qs = vec!["stdout=1".to_string(), "stderr=1".to_string()];
    if let Some(since) = &o.since {
        let t = crate::units::get_timestamp(since, chrono::Utc::now())
            .map_err(|e| fail(format!("invalid value for \"since\": {e}")))?;
        qs.push(format!("since={}", q(&t)));
    }
    if o.timestamps {
        qs.push("timestamps=1".into());
    }
    // The prefix is made from the details, so the CLI asks for them unless `--raw`.
    if o.details || !o.raw {
        qs.push("details=1".into());
    }
    if o.follow {
        qs.push("follow=1".into());
    }
    qs.push(format!("tail={}", q(&o.tail)));
    let resp = c.call(
        "GET",
        &format!("/{kind}/{}/logs?{}", q(target), qs.join("&")),
        Body::None,
    )?;
    let mut body = resp.body;
    let (mut out, mut err) = (std::io::stdout(), std::io::stderr());
    if tty {
        std::io::copy(&mut body, &mut out).map_err(|e| fail(e.to_string()))?;
        return Ok(0);
    }
    let mut prefixer = (!o.raw).then(|| Prefixer::new(&c, &o, width));
    while let Some((stream, payload)) = read_frame(&mut body).map_err(|e| fail(e.to_string()))? {
        let line = match prefixer.as_mut() {
            Some(p) => p.line(&payload).map_err(fail)?,
            None => payload,
        };
        let w: &mut dyn Write = match stream {
            0 | 1 => &mut out,
            2 => &mut err,
            // moby's system-error stream: the daemon's error, ending the copy.
            3 => return Err(fail(String::from_utf8_lossy(&line).into_owned())),
            s => return Err(fail(format!("Unrecognized input header: {s}"))),
        };
        w.write_all(&line)
            .and_then(|_| w.flush())
            .map_err(|e| fail(e.to_string()))?;
    }
    Ok(0)
}

/// One frame of the multiplexed stream (`None` at the end).
fn read_frame(r: &mut impl Read) -> std::io::Result<Option<(u8, Vec<u8>)>> {
    let mut header = [0u8; 8];
    let mut got = 0;
    while got < header.len() {
        match r.read(&mut header[got..]) {
            Ok(0) if got == 0 => return Ok(None),
            Ok(0) => {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "unexpected EOF",
                ))
            }
            Ok(n) => got += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    let len = u32::from_be_bytes([header[4], header[5], header[6], header[7]]) as usize;
    let mut payload = vec![0u8; len];
    r.read_exact(&mut payload)?;
    Ok(Some((header[0], payload)))
}

/// The ids a log line's details name.
#[derive(Clone, PartialEq, Eq, Hash)]
struct LogContext {
    node: String,
    service: String,
    task: String,
}

/// Puts the docker CLI's task prefix in front of each line (its `logWriter`/`taskFormatter`).
struct Prefixer<'a> {
    client: &'a Client,
    timestamps: bool,
    details: bool,
    no_resolve: bool,
    no_task_ids: bool,
    no_trunc: bool,
    width: usize,
    names: HashMap<String, String>,
    prefixes: HashMap<LogContext, String>,
}

impl<'a> Prefixer<'a> {
    fn new(client: &'a Client, o: &ServiceLogsCmd, width: usize) -> Prefixer<'a> {
        Prefixer {
            client,
            timestamps: o.timestamps,
            details: o.details,
            no_resolve: o.no_resolve,
            no_task_ids: o.no_task_ids,
            no_trunc: o.no_trunc,
            width,
            names: HashMap::new(),
            prefixes: HashMap::new(),
        }
    }

    /// `[TIMESTAMP ]PREFIX    | [DETAILS ]MESSAGE` for `TIMESTAMP DETAILS MESSAGE`.
    fn line(&mut self, buf: &[u8]) -> Result<Vec<u8>, String> {
        let parts_wanted = if self.timestamps { 3 } else { 2 };
        let parts: Vec<&[u8]> = buf.splitn(parts_wanted, |b| *b == b' ').collect();
        if parts.len() != parts_wanted {
            return Err(format!(
                "invalid context in log message: {}",
                String::from_utf8_lossy(buf)
            ));
        }
        let details_at = parts_wanted - 2;
        let mut details = parse_details(&String::from_utf8_lossy(parts[details_at]))?;
        let mut take = |key: &str, what: &str| {
            details
                .remove(key)
                .ok_or_else(|| format!("missing {what} id in details"))
        };
        let ctx = LogContext {
            node: take("com.docker.swarm.node.id", "node")?,
            service: take("com.docker.swarm.service.id", "service")?,
            task: take("com.docker.swarm.task.id", "task")?,
        };
        let mut out = Vec::with_capacity(buf.len() + 64);
        if self.timestamps {
            out.extend_from_slice(parts[0]);
            out.push(b' ');
        }
        let prefix = self.prefix(&ctx)?;
        out.extend_from_slice(prefix.as_bytes());
        out.extend_from_slice(b"    | ");
        if self.details {
            let mut pairs: Vec<String> = details.iter().map(|(k, v)| format!("{k}={v}")).collect();
            pairs.sort();
            out.extend_from_slice(pairs.join(",").as_bytes());
            out.push(b' ');
        }
        out.extend_from_slice(parts[details_at + 1]);
        Ok(out)
    }

    /// `SERVICE.SLOT[.TASKID]@NODE` and the padding, made once per context.
    fn prefix(&mut self, ctx: &LogContext) -> Result<String, String> {
        if let Some(p) = self.prefixes.get(ctx) {
            return Ok(p.clone());
        }
        let node = self.resolve("nodes", &ctx.node);
        let service = self.resolve("services", &ctx.service);
        let task = self
            .client
            .get_json(&format!("/tasks/{}", q(&ctx.task)))
            .map_err(|e| e.to_string())?;
        let slot = task["Slot"].as_u64().unwrap_or(0);
        let id = task["ID"].as_str().unwrap_or_default();
        let mut name = format!("{service}.{slot}");
        if !self.no_task_ids {
            if self.no_trunc {
                name = format!("{name}.{id}");
            } else {
                name = format!("{name}.{}", id.chars().take(12).collect::<String>());
            }
        }
        let pad = " ".repeat(self.width.saturating_sub(digits(slot)));
        let p = format!("{name}@{node}{pad}");
        self.prefixes.insert(ctx.clone(), p.clone());
        Ok(p)
    }

    /// A node's or service's name (the docker CLI's idresolver: the id itself when it
    /// cannot be looked up, or with `--no-resolve`).
    fn resolve(&mut self, kind: &str, id: &str) -> String {
        if self.no_resolve {
            return id.to_string();
        }
        if let Some(n) = self.names.get(id) {
            return n.clone();
        }
        let name = match self.client.get_json(&format!("/{kind}/{}", q(id))) {
            Ok(v) if kind == "nodes" => [&v["Spec"]["Name"], &v["Description"]["Hostname"]]
                .iter()
                .filter_map(|x| x.as_str())
                .find(|x| !x.is_empty())
                .unwrap_or(id)
                .to_string(),
            Ok(v) => v["Spec"]["Name"].as_str().unwrap_or_default().to_string(),
            Err(_) => id.to_string(),
        };
        self.names.insert(id.to_string(), name.clone());
        name
    }
}

/// moby's log details: `k=v,k=v`, each side URL-escaped.
fn parse_details(s: &str) -> Result<HashMap<String, String>, String> {
    if s.is_empty() {
        return Err("details string cannot be empty".into());
    }
    let mut out = HashMap::new();
    for pair in s.split(',') {
        let (k, v) = pair
            .split_once('=')
            .ok_or_else(|| "invalid details format".to_string())?;
        out.insert(unescape(k)?, unescape(v)?);
    }
    Ok(out)
}

/// Go's `url.QueryUnescape`: `+` is a space, `%XX` a byte.
fn unescape(s: &str) -> Result<String, String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s
                    .get(i + 1..i + 3)
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| {
                        format!(
                            "invalid URL escape \"{}\"",
                            s.get(i..(i + 3).min(s.len())).unwrap_or("%")
                        )
                    })?;
                out.push(hex);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    Ok(String::from_utf8_lossy(&out).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn details_parse_and_unescape() {
        let d = parse_details("a=1,b%3Dc=x+y%2Cz").unwrap();
        assert_eq!(d["a"], "1");
        assert_eq!(d["b=c"], "x y,z");
        assert!(parse_details("").is_err());
        assert!(parse_details("novalue").is_err());
        assert!(parse_details("a=%zz").is_err());
    }

    #[test]
    fn frames_are_read_whole() {
        let mut buf = crate::stream::frame(1, b"one\n");
        buf.extend(crate::stream::frame(2, b"two\n"));
        let mut r = &buf[..];
        assert_eq!(read_frame(&mut r).unwrap(), Some((1, b"one\n".to_vec())));
        assert_eq!(read_frame(&mut r).unwrap(), Some((2, b"two\n".to_vec())));
        assert_eq!(read_frame(&mut r).unwrap(), None);
        let mut short = &buf[..3];
        assert!(read_frame(&mut short).is_err());
    }

    #[test]
    fn digits_as_docker() {
        assert_eq!(digits(0), 1);
        assert_eq!(digits(9), 1);
        assert_eq!(digits(10), 2);
    }
}
