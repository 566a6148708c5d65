//! Following container logs with docker compose's prefixes: `name  | ` aligned to the
//! longest name, one colour per container, lines interleaved as they come; new containers
//! of the project are picked up while following.
//!
//! Status lines are compose's logConsumer.Status: `\r\x1b[K` (goterm's RESET_LINE), the
//! name, the message and the newline, the whole of it in the container's colour when
//! colours are on (`Printer::status`). `logs -f` prints `svc-1 exited with code N` for
//! each followed container that was running and stopped (`LogOpts::exits`), after its last
//! lines; a container already stopped when following began gets no such line, as in
//! compose 2.40 (whose `logs -f` then never returns: berth's ends when nothing of the
//! selection runs any more). The watch logger's lines (`up --watch`) are prefixed with
//! compose's `⦿` padded to the name width, green (`92`) unless `--no-color`: compose
//! colours that prefix even when stdout is not a terminal (`Printer::watch_line`).

use crate::api::{Api, ProjectContainer, Summary};
use berth_cli::client::q;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

const COLORS: &[&str] = &["36", "33", "32", "35", "34", "96", "93", "92", "95", "94"];

#[derive(Clone, Debug, Default)]
pub struct LogOpts {
    pub follow: bool,
    pub tail: Option<String>,
    pub timestamps: bool,
    pub since: Option<String>,
    pub until: Option<String>,
    pub color: bool,
    pub prefix: bool,
    /// Ids of the containers whose log stream ended (a foreground `up` reports an exit
    /// only after the container's last lines, as docker compose does).
    pub ended: Option<Arc<Mutex<BTreeSet<String>>>>,
    /// Lines of the `post_start` hooks a foreground `up` ran, printed before the
    /// containers' logs under their own name (`svc-1 ->`) in their container's colour.
    pub hooks: Vec<crate::runtime::HookLine>,
    /// `logs -f`: print compose's `svc-1 exited with code N` when a followed container
    /// that was running stops.
    pub exits: bool,
    /// The colour index given to each container id (filled while following), so that a
    /// foreground `up` prints its exit lines in the container's colour.
    pub palette: Arc<Mutex<BTreeMap<String, usize>>>,
    /// The watch logger (`up --watch`) is shown: its `⦿` prefix counts in the width as
    /// compose's presenter registration does.
    pub watch: bool,
    /// The watch logger's prefix is green: compose colours it unless `--no-color`, even
    /// when stdout is not a terminal.
    pub watch_color: bool,
    /// The name column's width (the longest name), shared with the watch logger.
    pub width: Arc<Mutex<usize>>,
}

/// compose's watch logger name (`api.WatchLogger`), which widens the prefixes.
pub const WATCH_LOGGER: &str = "#watch";

/// The prefix name compose shows: the container name without `<project>-`.
pub fn display_name(project: &str, c: &Summary) -> String {
    let n = c.name();
    match n.strip_prefix(&format!("{project}-")) {
        Some(rest) if !c.service().is_empty() => rest.to_string(),
        _ => n,
    }
}

/// Shared printer: aligns prefixes and keeps lines whole.
#[derive(Clone)]
pub struct Printer {
    width: Arc<Mutex<usize>>,
    out: Arc<Mutex<()>>,
    opts: LogOpts,
}

impl Printer {
    pub fn new(opts: LogOpts, names: &[String]) -> Printer {
        let mut w = names.iter().map(|n| n.len()).max().unwrap_or(0);
        if opts.watch {
            w = w.max(WATCH_LOGGER.len());
        }
        if let Ok(mut shared) = opts.width.lock() {
            *shared = (*shared).max(w);
        }
        Printer {
            width: opts.width.clone(),
            out: Arc::new(Mutex::new(())),
            opts,
        }
    }

    pub fn widen(&self, name: &str) {
        if let Ok(mut w) = self.width.lock() {
            *w = (*w).max(name.len());
        }
    }

    pub fn line(&self, name: &str, color: usize, text: &str) {
        // compose pads to the longest name plus one, then " | ".
        let width = self.width.lock().map(|w| *w + 1).unwrap_or(0);
        let _g = self.out.lock();
        let mut o = std::io::stdout().lock();
        if self.opts.prefix {
            let pfx = format!("{name:<width$} | ");
            if self.opts.color {
                let _ = write!(o, "\x1b[{}m{pfx}\x1b[0m", COLORS[color % COLORS.len()]);
            } else {
                let _ = write!(o, "{pfx}");
            }
        }
        let _ = writeln!(o, "{text}");
        let _ = o.flush();
    }

    /// compose's logConsumer.Status line (see the module doc).
    pub fn status(&self, name: &str, color: usize, msg: &str) {
        let _g = self.out.lock();
        let mut o = std::io::stdout().lock();
        let _ = o.write_all(status_line(self.opts.color, color, name, msg).as_bytes());
        let _ = o.flush();
    }
}

/// A line of compose's watch logger among the logs of `up --watch`: `⦿` right of the
/// name column (green unless `--no-color`), the bare text with `--no-log-prefix`.
pub fn watch_line(opts: &LogOpts, text: &str) -> String {
    let width = opts
        .width
        .lock()
        .map(|w| (*w).max(WATCH_LOGGER.len()) + 1)
        .unwrap_or(0);
    format!("{}{text}", watch_prefix(opts, width))
}

/// The watch logger's prefix for a name column `width` wide (compose pads to the
/// longest name plus one).
fn watch_prefix(opts: &LogOpts, width: usize) -> String {
    if !opts.prefix {
        return String::new();
    }
    let pfx = format!("{} ⦿ ", " ".repeat(width));
    if opts.watch_color {
        format!("\x1b[92m{pfx}\x1b[0m")
    } else {
        pfx
    }
}

/// compose's logConsumer.Status text: RESET_LINE, name, message, newline, all coloured.
pub fn status_line(color_on: bool, color: usize, name: &str, msg: &str) -> String {
    let s = format!("\r\x1b[K{name} {msg}\n");
    if color_on {
        format!("\x1b[{}m{s}\x1b[0m", COLORS[color % COLORS.len()])
    } else {
        s
    }
}

/// Streams one container's log into `printer` until it ends.
pub fn stream(api: &Api, c: &Summary, name: &str, color: usize, tty: bool, printer: &Printer) {
    let o = &printer.opts;
    let mut path = format!(
        "/containers/{}/logs?stdout=1&stderr=1&follow={}&timestamps={}",
        q(&c.id),
        o.follow,
        o.timestamps
    );
    if let Some(t) = &o.tail {
        path.push_str(&format!("&tail={}", q(t)));
    }
    if let Some(s) = &o.since {
        path.push_str(&format!("&since={}", q(s)));
    }
    if let Some(u) = &o.until {
        path.push_str(&format!("&until={}", q(u)));
    }
    let Ok(resp) = api.client.call("GET", &path, berth_cli::client::Body::None) else {
        return;
    };
    let mut body = resp.body;
    let mut pending: [Vec<u8>; 3] = [Vec::new(), Vec::new(), Vec::new()];
    let mut emit = |stream: usize, data: &[u8]| {
        let buf = &mut pending[stream.min(2)];
        buf.extend_from_slice(data);
        while let Some(i) = buf.iter().position(|b| *b == b'\n') {
            let line: Vec<u8> = buf.drain(..=i).collect();
            let text = String::from_utf8_lossy(&line[..line.len() - 1]);
            printer.line(name, color, text.trim_end_matches('\r'));
        }
    };
    if tty {
        let mut b = [0u8; 8192];
        while let Ok(n) = body.read(&mut b) {
            if n == 0 {
                break;
            }
            emit(1, &b[..n]);
        }
    } else {
        loop {
            let mut h = [0u8; 8];
            if body.read_exact(&mut h).is_err() {
                break;
            }
            let len = u32::from_be_bytes([h[4], h[5], h[6], h[7]]) as usize;
            let mut data = vec![0u8; len];
            if body.read_exact(&mut data).is_err() {
                break;
            }
            emit(h[0] as usize, &data);
        }
    }
    for (i, rest) in pending.iter().enumerate() {
        if !rest.is_empty() {
            let _ = i;
            printer.line(name, color, &String::from_utf8_lossy(rest));
        }
    }
}

/// Shows the logs of `containers`; with `follow`, also of the project's containers of
/// `services` that appear later, until every stream ended and `keep_going` says stop.
pub fn show(
    api: &Api,
    project: &str,
    containers: Vec<Summary>,
    services: Option<BTreeSet<String>>,
    opts: LogOpts,
    keep_going: &(dyn Fn() -> bool + Sync),
) {
    let names: Vec<String> = containers
        .iter()
        .map(|c| display_name(project, c))
        .collect();
    let printer = Printer::new(opts.clone(), &names);
    for h in &opts.hooks {
        // compose registers the hook's name as one more presenter: the prefixes widen.
        printer.widen(&h.source);
    }
    for h in &opts.hooks {
        let color = containers
            .iter()
            .position(|c| c.id == h.container)
            .unwrap_or(0);
        printer.line(&h.source, color, &h.text);
    }
    let seen = Arc::new(Mutex::new(BTreeSet::new()));
    std::thread::scope(|scope| {
        let spawn = |c: Summary, color: usize| {
            let printer = printer.clone();
            let api = api.clone();
            if let Ok(mut p) = printer.opts.palette.lock() {
                p.insert(c.id.clone(), color);
            }
            scope.spawn(move || {
                let name = display_name(project, &c);
                printer.widen(&name);
                let tty = api.inspect(&c.id).is_ok_and(|i| i.config.tty);
                stream(&api, &c, &name, color, tty, &printer);
                if printer.opts.exits && c.state == "running" {
                    // The stream ends when the container stops, or earlier at `--until`:
                    // the exit is reported when the container has stopped, as compose's
                    // event monitor reports it.
                    while let Ok(i) = api.inspect(&c.id) {
                        if !i.state.running {
                            let msg = format!("exited with code {}", i.state.exit_code);
                            printer.status(&name, color, &msg);
                            break;
                        }
                        std::thread::sleep(std::time::Duration::from_millis(200));
                    }
                }
                if let Some(ended) = &printer.opts.ended {
                    if let Ok(mut e) = ended.lock() {
                        e.insert(c.id.clone());
                    }
                }
            });
        };
        let mut n = 0;
        for c in containers {
            if let Ok(mut s) = seen.lock() {
                s.insert(c.id.clone());
            }
            spawn(c, n);
            n += 1;
        }
        if opts.follow {
            // New containers of the project (scale up, restarts by `up`) join the stream.
            while keep_going() {
                std::thread::sleep(std::time::Duration::from_millis(300));
                let Ok(now) = api.project_containers(project, false, false) else {
                    continue;
                };
                for c in now {
                    if let Some(svcs) = &services {
                        if !svcs.contains(c.service()) {
                            continue;
                        }
                    }
                    let fresh = seen
                        .lock()
                        .map(|mut s| s.insert(c.id.clone()))
                        .unwrap_or(false);
                    if fresh {
                        spawn(c, n);
                        n += 1;
                    }
                }
            }
        }
    });
}
