//! Progress display as docker compose's: on a terminal, a `[+] Running done/total` header
//! and one live line per resource with a spinner and its elapsed time, ticked by a thread and redrawn in place; otherwise plain
//! ` Container x  Created` lines. Everything goes to stderr.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone)]
struct Line {
    id: String,
    text: String,
    done: bool,
    failed: bool,
    start: Instant,
    end: Option<Instant>,
}

struct State {
    lines: Vec<Line>,
    drawn: usize,
    stopped: bool,
}

/// A progress writer shared by the threads of one command.
#[derive(Clone)]
pub struct Progress {
    tty: bool,
    quiet: bool,
    state: Arc<Mutex<State>>,
}

const SPIN: &[&str] = &["⠋", "⠙", "⠹", "⠸", "⠼", "⠴", "⠦", "⠧", "⠇", "⠏"];

impl Progress {
    /// `mode` is compose's --progress (auto, tty, plain, quiet, json).
    pub fn new(mode: Option<&str>) -> Progress {
        let is_tty = nix::unistd::isatty(2).unwrap_or(false);
        // NO_COLOR means `--ansi never` to docker compose: plain lines unless tty is asked.
        let tty = match mode {
            Some("tty") => true,
            Some("plain") | Some("json") | Some("quiet") => false,
            _ => is_tty && !no_color(),
        };
        let p = Progress {
            tty,
            quiet: mode == Some("quiet"),
            state: Arc::new(Mutex::new(State {
                lines: Vec::new(),
                drawn: 0,
                stopped: false,
            })),
        };
        if tty {
            let t = p.clone();
            std::thread::spawn(move || loop {
                std::thread::sleep(Duration::from_millis(100));
                let Ok(mut st) = t.state.lock() else { return };
                if st.stopped {
                    return;
                }
                if st.lines.iter().any(|l| !l.done) {
                    redraw(&mut st);
                }
            });
        }
        p
    }

    /// A resource (`Container x`, `Network y`) moves to a new state; `done` ends its timer.
    pub fn event(&self, id: &str, text: &str, done: bool) {
        self.update(id, text, done, false);
    }

    /// An event whose words are compose's `Text` rather than its `StatusText` (`Skipped -
    /// ...`): plain output has one space after the id (and Go's Println's trailing one).
    pub fn event_text(&self, id: &str, text: &str, done: bool) {
        if !self.tty && !self.quiet {
            let dry = crate::api::DRY_RUN.load(std::sync::atomic::Ordering::Relaxed);
            let prefix = if dry { "DRY-RUN MODE - " } else { "" };
            eprintln!("{prefix} {id} {text} ");
            return;
        }
        self.update(id, text, done, false);
    }

    /// An event with compose's `Text` and `StatusText` both (a pull's `Error MESSAGE`, a
    /// layer's `Already exists`): plain output is Go's Println of the prefix, the id and
    /// the two, so an empty status text leaves a trailing space.
    pub fn event_status(&self, id: &str, text: &str, status_text: &str, done: bool) {
        if !self.tty && !self.quiet {
            let dry = crate::api::DRY_RUN.load(std::sync::atomic::Ordering::Relaxed);
            let prefix = if dry { "DRY-RUN MODE - " } else { "" };
            eprintln!("{prefix} {id} {text} {status_text}");
            return;
        }
        let text = if status_text.is_empty() {
            text.to_string()
        } else {
            format!("{text} {status_text}")
        };
        self.update(id, &text, done, false);
    }

    pub fn error(&self, id: &str, text: &str) {
        self.update(id, text, true, true);
    }

    fn update(&self, id: &str, text: &str, done: bool, failed: bool) {
        if self.quiet {
            return;
        }
        // A dry run's lines, as docker compose marks them.
        let shown;
        let id = if crate::api::DRY_RUN.load(std::sync::atomic::Ordering::Relaxed) {
            shown = format!("DRY-RUN MODE -  {id}");
            shown.as_str()
        } else {
            id
        };
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        if !self.tty {
            eprintln!(" {id}  {text}");
            return;
        }
        let now = Instant::now();
        match st.lines.iter_mut().find(|l| l.id == id) {
            Some(l) => {
                if l.done && !done {
                    l.start = now;
                    l.end = None;
                }
                l.text = text.to_string();
                l.done = done;
                l.failed = failed;
                if done {
                    l.end = Some(now);
                }
            }
            None => st.lines.push(Line {
                id: id.to_string(),
                text: text.to_string(),
                done,
                failed,
                start: now,
                end: done.then_some(now),
            }),
        }
        redraw(&mut st);
    }

    /// Prints a line outside the resource list (warnings, summaries).
    pub fn note(&self, msg: &str) {
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        if self.tty && st.drawn > 0 {
            let mut e = std::io::stderr().lock();
            let _ = write!(e, "\x1b[{}A\x1b[J", st.drawn);
            st.drawn = 0;
            let _ = writeln!(e, "{msg}");
            drop(e);
            redraw(&mut st);
        } else {
            eprintln!("{msg}");
        }
    }

    /// Final draw; stops the ticker.
    pub fn finish(&self) {
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        if self.tty && !st.lines.is_empty() {
            redraw(&mut st);
        }
        st.stopped = true;
    }
}

/// `NO_COLOR` set and not empty (no-color.org): no colours whatever the output.
fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// An SGR colour sequence, or nothing under `NO_COLOR`.
fn sgr(code: &'static str) -> &'static str {
    if no_color() {
        ""
    } else {
        code
    }
}

fn redraw(st: &mut State) {
    let mut e = std::io::stderr().lock();
    let (blue, red, green, reset) = (
        sgr("\x1b[34m"),
        sgr("\x1b[31m"),
        sgr("\x1b[32m"),
        sgr("\x1b[0m"),
    );
    let mut out = String::new();
    if st.drawn > 0 {
        out.push_str(&format!("\x1b[{}A\x1b[J", st.drawn));
    }
    // compose's header: resources done over resources shown.
    let done = st.lines.iter().filter(|l| l.done).count();
    out.push_str(&format!(
        "{blue}[+] Running {done}/{}{reset}\n",
        st.lines.len()
    ));
    let width = st.lines.iter().map(|l| l.id.len()).max().unwrap_or(0);
    let twidth = st.lines.iter().map(|l| l.text.len()).max().unwrap_or(0);
    let now = Instant::now();
    for l in &st.lines {
        let secs = l.end.unwrap_or(now).duration_since(l.start).as_secs_f64();
        let mark = if l.failed {
            format!("{red}✘{reset}")
        } else if l.done {
            format!("{green}✔{reset}")
        } else {
            let i = (now.elapsed().as_millis() / 100) as usize;
            let i = (l.start.elapsed().as_millis() / 100) as usize + i;
            SPIN[i % SPIN.len()].to_string()
        };
        out.push_str(&format!(
            " {mark} {:<width$} {:<twidth$} {blue}{secs:.1}s{reset}\n",
            l.id, l.text
        ));
    }
    let _ = e.write_all(out.as_bytes());
    let _ = e.flush();
    st.drawn = st.lines.len() + 1;
}
