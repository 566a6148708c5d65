//! Progress display as docker compose 2.40's: on a terminal, its tty writer (a `[+] TITLE
//! done/total` header and one line per resource with a spinner, its status text and its
//! elapsed time, ticked by a thread every 100 ms and redrawn in place; a pull's layers are
//! drawn indented under their service, whose line aggregates them as one braille
//! character per layer and the summed sizes); otherwise plain ` Container x  Created`
//! lines. Everything goes to stderr.
//!
//! The tty frame is compose's `ttyWriter.print`, byte for byte where it is deterministic:
//! the cursor goes up one line more than the last frame drew (down one the first time),
//! to column 0, hidden while drawing; the header is blue once every line is done; each
//! line is padded to `statusPadding` (with compose's quirks: it is the longest `ID TEXT`,
//! lowered by 2 after every child) and right-aligned to the terminal's width with its
//! timer; a status text too long is cut with `...`. Lengths are Go's `len`, in bytes
//! (colour codes and braille included), as compose computes them.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone)]
struct Line {
    id: String,
    /// The service a layer belongs to (compose's ParentID), or empty.
    parent: String,
    text: String,
    /// compose's StatusText (a layer's progress bar, an error's message).
    status_text: String,
    done: bool,
    failed: bool,
    current: i64,
    total: i64,
    percent: i64,
    start: Instant,
    end: Option<Instant>,
}

struct State {
    lines: Vec<Line>,
    /// Lines the last frame drew below its header (compose's numLines).
    num_lines: usize,
    /// A frame was drawn (compose's `repeated`).
    repeated: bool,
    /// Too many lines for the terminal: children are no longer drawn (compose's
    /// skipChildEvents, never reset).
    skip_children: bool,
    title: String,
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

/// compose's aggregated layer progress: one character per layer, by its percent.
const PERCENT_CHARS: &[&str] = &["⠀", "⡀", "⣀", "⣄", "⣤", "⣦", "⣶", "⣷", "⣿"];

/// A layer's state as compose's pull shows it under its service (see [`Progress::layer`]).
pub struct LayerEvent<'a> {
    pub parent: &'a str,
    pub id: &'a str,
    pub status: &'a str,
    pub progress: &'a str,
    pub current: i64,
    pub total: i64,
}

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
                num_lines: 0,
                repeated: false,
                skip_children: false,
                title: "Running".into(),
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
                if !st.lines.is_empty() {
                    redraw(&mut st);
                }
            });
        }
        p
    }

    /// The header's word on a terminal (compose's progress title: `Pulling` for `pull`).
    pub fn set_title(&self, title: &str) {
        if let Ok(mut st) = self.state.lock() {
            st.title = title.to_string();
        }
    }

    /// A resource (`Container x`, `Network y`) moves to a new state; `done` ends its timer.
    /// The state is compose's `StatusText` (its NewEvent leaves `Text` empty): on a
    /// terminal it stands after the padding, green once done.
    pub fn event(&self, id: &str, text: &str, done: bool) {
        self.update(id, "", text, done, false);
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
        self.update(id, text, "", done, false);
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
        self.update(id, text, status_text, done, false);
    }

    /// A layer message of a service's pull, as compose's toPullProgressEvent makes it: a
    /// child of the service, done at `Download complete`/`Already exists`/`Pull complete`
    /// (100%), its percent from the sizes while downloading or extracting. Plain output
    /// is [`Progress::event_status`]'s line.
    pub fn layer(&self, e: &LayerEvent) {
        if !self.tty {
            self.event_status(e.id, e.status, e.progress, false);
            return;
        }
        if self.quiet {
            return;
        }
        let done = matches!(
            e.status,
            "Download complete" | "Already exists" | "Pull complete"
        ) || e.status.contains("Image is up to date")
            || e.status.contains("Downloaded newer image");
        let sized = matches!(
            e.status,
            "Downloading" | "Extracting" | "Verifying Checksum"
        );
        let (current, total, percent) = if done {
            (0, 0, 100)
        } else if sized {
            let p = if e.total > 0 {
                e.current * 100 / e.total
            } else {
                0
            };
            (e.current, e.total, p)
        } else {
            (0, 0, 0)
        };
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        let l = upsert(&mut st, e.id, e.status, e.progress, done, false);
        // compose: the progress only goes up; the parent is set once.
        l.total = l.total.max(total);
        l.current = l.current.max(current);
        l.percent = l.percent.max(percent);
        if l.parent.is_empty() {
            l.parent = e.parent.to_string();
        }
    }

    pub fn error(&self, id: &str, text: &str) {
        self.update(id, "", text, true, true);
    }

    fn update(&self, id: &str, text: &str, status_text: &str, done: bool, failed: bool) {
        if self.quiet {
            return;
        }
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        if !self.tty {
            // A dry run's lines, as docker compose marks them.
            let dry = crate::api::DRY_RUN.load(std::sync::atomic::Ordering::Relaxed);
            let prefix = if dry { "DRY-RUN MODE -  " } else { "" };
            // Only `event`/`error` come here (the others print their own plain line).
            eprintln!(" {prefix}{id} {text} {status_text}");
            return;
        }
        upsert(&mut st, id, text, status_text, done, failed);
    }

    /// Prints a line outside the resource list (warnings, summaries): the frame drawn so
    /// far is cleared, the line printed, and the next frame starts below it.
    pub fn note(&self, msg: &str) {
        let Ok(mut st) = self.state.lock() else {
            return;
        };
        if self.tty && st.repeated {
            let mut e = std::io::stderr().lock();
            let _ = write!(e, "\x1b[{}A\x1b[0G\x1b[J", st.num_lines + 1);
            st.num_lines = 0;
            st.repeated = false;
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
        if self.tty && !st.lines.is_empty() && !st.stopped {
            redraw(&mut st);
        }
        st.stopped = true;
    }
}

/// compose's ttyWriter.event: a new line, or the line `id` moved to a new state. Its timer
/// runs from its first event and stops when it becomes done (a done line working again,
/// a layer extracting after `Download complete`, counts on from its first event).
fn upsert<'a>(
    st: &'a mut State,
    id: &str,
    text: &str,
    status_text: &str,
    done: bool,
    failed: bool,
) -> &'a mut Line {
    let now = Instant::now();
    let i = match st.lines.iter().position(|l| l.id == id) {
        Some(i) => {
            let l = &mut st.lines[i];
            if done && (!l.done || l.failed != failed) {
                l.end = Some(now);
            }
            l.text = text.to_string();
            l.status_text = status_text.to_string();
            l.done = done;
            l.failed = failed;
            i
        }
        None => {
            st.lines.push(Line {
                id: id.to_string(),
                parent: String::new(),
                text: text.to_string(),
                status_text: status_text.to_string(),
                done,
                failed,
                current: 0,
                total: 0,
                percent: 0,
                start: now,
                end: done.then_some(now),
            });
            st.lines.len() - 1
        }
    };
    &mut st.lines[i]
}

/// `NO_COLOR` set and not empty (no-color.org): no colours whatever the output.
fn no_color() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

/// compose's colour functions (aec's Apply: the code, the text, a reset), none under
/// `NO_COLOR`.
fn paint(code: &'static str, text: &str) -> String {
    if no_color() {
        text.to_string()
    } else {
        format!("{code}{text}\x1b[0m")
    }
}

const BLUE: &str = "\x1b[34m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const RED_BOLD: &str = "\x1b[31;1m";
const CYAN: &str = "\x1b[36m";

/// The terminal's (rows, columns) as goterm reads them (stdout), or -1 each.
fn terminal() -> (i64, i64) {
    berth_cli::session::terminal_size().map_or((-1, -1), |(r, c)| (r as i64, c as i64))
}

/// go-units' HumanSize: four significant digits, decimal units.
fn human_size(n: i64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1000.0 && i < units.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    format!("{}{}", go_g4(v), units[i])
}

/// Go's `%.4g` of a value below 1000 (no exponent needed): four significant digits,
/// trailing zeros dropped.
fn go_g4(v: f64) -> String {
    let digits_before = if v < 1.0 {
        1
    } else {
        (v.log10().floor() as i32 + 1).max(1)
    };
    let decimals = (4 - digits_before).max(0) as usize;
    let s = format!("{v:.decimals$}");
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    }
}

/// The characters a terminal shows of `s` (compose's lenAnsi: `ESC ... m` skipped).
fn len_ansi(s: &str) -> i64 {
    let mut n = 0;
    let mut code = false;
    for c in s.chars() {
        if c == '\x1b' {
            code = true;
            continue;
        }
        if code && c == 'm' {
            code = false;
            continue;
        }
        if !code {
            n += 1;
        }
    }
    n
}

/// One line of a frame (compose's lineText).
fn line_text(
    st: &State,
    l: &Line,
    pad: &str,
    width: i64,
    status_padding: i64,
    now: Instant,
) -> String {
    let working = !l.done;
    let end = if working {
        now
    } else {
        l.end.unwrap_or(l.start)
    };
    let elapsed = end.duration_since(l.start).as_secs_f64();
    let dry = crate::api::DRY_RUN.load(std::sync::atomic::Ordering::Relaxed);
    let prefix = if dry {
        paint(CYAN, " DRY-RUN MODE - ")
    } else {
        String::new()
    };
    // Only a working parent shows its children's aggregated progress.
    let (mut hide, mut total, mut current, mut completion) = (false, 0i64, 0i64, String::new());
    if working {
        for c in st.lines.iter().filter(|c| c.parent == l.id) {
            if !c.done && c.total == 0 {
                hide = true;
            }
            total += c.total;
            current += c.current;
            let k = ((PERCENT_CHARS.len() as i64 - 1) * c.percent / 100)
                .clamp(0, PERCENT_CHARS.len() as i64 - 1) as usize;
            completion.push_str(PERCENT_CHARS[k]);
        }
    }
    if total == 0 {
        hide = true;
    }
    let txt = if completion.is_empty() {
        format!("{} {}", l.id, l.text)
    } else {
        let details = if hide {
            String::new()
        } else {
            format!(" {:>7} / {:<7}", human_size(current), human_size(total))
        };
        format!(
            "{} [{}]{details} {}",
            l.id,
            paint(GREEN, &completion),
            l.text
        )
    };
    let text_len = txt.len() as i64;
    let padding = (status_padding - text_len).max(0) as usize;
    let max_status = width - text_len - status_padding - 15;
    let mut status = l.status_text.clone();
    if max_status > 0 && status.len() as i64 > max_status {
        let mut cut = max_status as usize;
        while !status.is_char_boundary(cut) {
            cut -= 1;
        }
        status = format!("{}...", &status[..cut]);
    }
    let (spinner, status) = if l.failed {
        (paint(RED_BOLD, "✘"), paint(RED_BOLD, &status))
    } else if l.done {
        (paint(GREEN, "✔"), paint(GREEN, &status))
    } else {
        let i = (l.start.elapsed().as_millis() / 100) as usize;
        (paint(YELLOW, SPIN[i % SPIN.len()]), status)
    };
    let text = format!(
        "{pad} {spinner}{prefix} {txt}{} {status}",
        " ".repeat(padding)
    );
    let timer = paint(BLUE, &format!("{elapsed:.1}s "));
    let fill = (width - len_ansi(&text) - len_ansi(&timer)).max(0) as usize;
    format!("{text}{}{timer}\n", " ".repeat(fill))
}

/// One frame (compose's ttyWriter.print).
fn redraw(st: &mut State) {
    let (height, width) = terminal();
    let mut out = String::new();
    for _ in 0..=st.num_lines {
        out.push_str("\x1b[1A");
    }
    if !st.repeated {
        out.push_str("\x1b[1B");
    }
    st.repeated = true;
    out.push_str("\x1b[0G\x1b[?25l");
    let done = st.lines.iter().filter(|l| l.done).count();
    let mut header = format!("[+] {} {done}/{}", st.title, st.lines.len());
    if st.num_lines != 0 && done == st.num_lines {
        header = paint(BLUE, &header);
    }
    out.push_str(&header);
    out.push('\n');
    let mut status_padding: i64 = 0;
    for l in &st.lines {
        status_padding = status_padding.max(format!("{} {}", l.id, l.text).len() as i64);
        if !l.parent.is_empty() {
            status_padding -= 2;
        }
    }
    if st.lines.len() as i64 > height - 2 {
        st.skip_children = true;
    }
    let now = Instant::now();
    let mut num_lines = 0usize;
    for l in st.lines.iter().filter(|l| l.parent.is_empty()) {
        out.push_str(&line_text(st, l, "", width, status_padding, now));
        num_lines += 1;
        if st.skip_children {
            continue;
        }
        for c in st.lines.iter().filter(|c| c.parent == l.id) {
            out.push_str(&line_text(st, c, "  ", width, status_padding, now));
            num_lines += 1;
        }
    }
    while num_lines < st.num_lines && (num_lines as i64) < height - 2 {
        out.push_str(&" ".repeat(width.max(0) as usize));
        out.push('\n');
        num_lines += 1;
    }
    st.num_lines = num_lines;
    out.push_str("\x1b[?25h");
    let mut e = std::io::stderr().lock();
    let _ = e.write_all(out.as_bytes());
    let _ = e.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_as_go_units_human_size() {
        // The values compose 2.40.3 drew in a captured pull (`7.39kB / 52.73MB`).
        assert_eq!(human_size(7390), "7.39kB");
        assert_eq!(human_size(52_730_000), "52.73MB");
        assert_eq!(human_size(52_736_000), "52.74MB");
        assert_eq!(human_size(0), "0B");
        assert_eq!(human_size(999), "999B");
        assert_eq!(human_size(3_695), "3.695kB");
        assert_eq!(human_size(21_000_000), "21MB");
    }

    #[test]
    fn ansi_length_skips_colour_codes() {
        assert_eq!(len_ansi("\x1b[32m⣿⣄\x1b[0m] 1"), 5);
        assert_eq!(len_ansi("plain"), 5);
    }
}
