//! Docker's JSON message streams (pull, push, load, import, build) shown as the docker CLI's
//! `jsonmessage.DisplayJSONMessagesStream` shows them: on a terminal, one line per layer id
//! redrawn in place with its progress bar; elsewhere plain lines, progress bars left out.
//! `stream` text is written as it comes, `aux` goes to the caller, and an error message
//! ends the stream as the command's error.

use std::io::{BufRead, Read, Write};

use serde_json::Value;

/// The error a stream ended with: its message and, for builds, the exit code it names.
#[derive(Debug, PartialEq)]
pub struct StreamError {
    pub message: String,
    pub code: Option<i64>,
}

/// Renders messages to `out`; `tty` chooses in-place redraws.
pub struct Display<'a> {
    out: &'a mut dyn Write,
    tty: bool,
    /// Terminal only: the line each id was given, counted from the first of the block.
    ids: Vec<String>,
    /// The terminal's columns: jsonmessage draws the `[==>  ]` box only beyond 110.
    width: u16,
}

/// Whether a message carries a progress bar (jsonmessage's `JSONProgress.String() != ""`).
fn has_bar(v: &Value) -> bool {
    let n = |k: &str| {
        v.pointer(&format!("/progressDetail/{k}"))
            .and_then(Value::as_i64)
    };
    n("current").unwrap_or(0) > 0 || n("total").unwrap_or(0) > 0
}

impl<'a> Display<'a> {
    pub fn new(out: &'a mut dyn Write, tty: bool) -> Display<'a> {
        let width = if tty {
            crate::session::terminal_size().map_or(80, |(_, w)| w)
        } else {
            0
        };
        Display {
            out,
            tty,
            ids: Vec::new(),
            width,
        }
    }

    /// Reads and shows every message of `r`; `aux` sees each `aux` value.
    pub fn run(
        &mut self,
        r: &mut dyn Read,
        aux: &mut dyn FnMut(&Value),
    ) -> Result<(), StreamError> {
        let br = std::io::BufReader::new(r);
        for line in br.split(b'\n') {
            let line = line.map_err(|e| StreamError {
                message: e.to_string(),
                code: None,
            })?;
            let Ok(v) = serde_json::from_slice::<Value>(line.trim_ascii()) else {
                continue;
            };
            self.show(&v, aux)?;
        }
        let _ = self.out.flush();
        Ok(())
    }

    /// One message.
    pub fn show(&mut self, v: &Value, aux: &mut dyn FnMut(&Value)) -> Result<(), StreamError> {
        if let Some(e) = v.get("errorDetail").or_else(|| v.get("error")) {
            let message = e
                .get("message")
                .and_then(Value::as_str)
                .or_else(|| e.as_str())
                .or_else(|| v.get("error").and_then(Value::as_str))
                .unwrap_or("unknown error")
                .to_string();
            let _ = self.out.flush();
            return Err(StreamError {
                message,
                code: e.get("code").and_then(Value::as_i64),
            });
        }
        if let Some(a) = v.get("aux") {
            aux(a);
            return Ok(());
        }
        let id = v.get("id").and_then(Value::as_str).unwrap_or("");
        let status = v.get("status").and_then(Value::as_str).unwrap_or("");
        let stream = v.get("stream").and_then(Value::as_str).unwrap_or("");
        let progress = v.get("progressDetail").is_some();
        if self.tty && !id.is_empty() && progress && stream.is_empty() {
            let mut bar = v.get("progress").and_then(Value::as_str).unwrap_or("");
            if self.width <= 110 {
                // The daemon's text has the box; a narrow terminal shows the sizes only.
                bar = bar.split_once("] ").map_or(bar, |(_, sizes)| sizes);
            }
            self.redraw(id, &format!("{id}: {status} {bar}"));
            return Ok(());
        }
        // Anything that is not a layer's progress ends the block of redrawn lines.
        self.ids.clear();
        if !self.tty && has_bar(v) {
            return Ok(());
        }
        let prefix = if id.is_empty() {
            String::new()
        } else {
            format!("{id}: ")
        };
        let _ = if !stream.is_empty() {
            write!(self.out, "{prefix}{stream}")
        } else if v.get("status").is_some() {
            writeln!(self.out, "{prefix}{status}")
        } else {
            Ok(())
        };
        if self.tty {
            let _ = self.out.flush();
        }
        Ok(())
    }

    /// Writes a layer's line in place: a new id gets a new line at the bottom; a known one
    /// moves the cursor up to its line, clears and rewrites it, and moves back down.
    fn redraw(&mut self, id: &str, text: &str) {
        let line = match self.ids.iter().position(|i| i == id) {
            Some(l) => l,
            None => {
                self.ids.push(id.to_string());
                let _ = writeln!(self.out);
                self.ids.len() - 1
            }
        };
        let diff = self.ids.len() - line;
        let _ = write!(self.out, "\x1b[{diff}A\x1b[2K\r{text}\r\x1b[{diff}B");
        let _ = self.out.flush();
    }
}

/// The docker CLI's `tui.Output.PrintNote` on stdout: a blank line, the ` Info -> `
/// header, each further line of `text` indented under it (a terminal gets the coloured
/// header, italic lines and a bold `--platform`).
pub fn print_note(text: &str) {
    use std::io::{IsTerminal, Write};
    let tty = std::io::stdout().is_terminal();
    const RESET: &str = "\x1b[0m";
    let header = if tty {
        format!("\x1b[1m\x1b[106m\x1b[30mi{RESET}{RESET} \x1b[96mInfo \u{2192} {RESET}{RESET}")
    } else {
        " Info -> ".to_string()
    };
    let mut out = String::from("\n");
    out.push_str(&header);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push_str(&" ".repeat(9));
        }
        if tty {
            let l = line.replace("--platform", &format!("\x1b[1m--platform{RESET}"));
            out.push_str(&format!("\x1b[3m{l}{RESET}"));
        } else {
            out.push_str(line);
        }
        out.push('\n');
    }
    let mut so = std::io::stdout().lock();
    let _ = so.write_all(out.as_bytes());
    let _ = so.flush();
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(tty: bool, lines: &str) -> (String, Result<(), StreamError>) {
        let mut out = Vec::new();
        let mut d = Display::new(&mut out, tty);
        d.width = 120;
        let res = d.run(&mut lines.as_bytes(), &mut |_| {});
        (String::from_utf8(out).unwrap_or_default(), res)
    }

    const LOAD: &str = r#"{"status":"Loading layer","progressDetail":{"current":0,"total":3},"progress":"[>  ] 0B/3B","id":"a"}
{"status":"Waiting","progressDetail":{},"id":"b"}
{"status":"Loading layer","progressDetail":{"current":3,"total":3},"progress":"[==>] 3B/3B","id":"a"}
{"stream":"Loaded image: busybox:latest\n"}
"#;

    #[test]
    fn terminal_progress_redraws_each_layer_in_place() {
        let (s, res) = render(true, LOAD);
        assert_eq!(res, Ok(()));
        assert_eq!(
            s,
            "\n\x1b[1A\x1b[2K\ra: Loading layer [>  ] 0B/3B\r\x1b[1B\
             \n\x1b[1A\x1b[2K\rb: Waiting \r\x1b[1B\
             \x1b[2A\x1b[2K\ra: Loading layer [==>] 3B/3B\r\x1b[2B\
             Loaded image: busybox:latest\n"
        );
    }

    #[test]
    fn narrow_terminals_show_the_sizes_without_the_box() {
        let mut out = Vec::new();
        let mut d = Display::new(&mut out, true);
        d.width = 80;
        let _ = d.run(&mut LOAD.as_bytes(), &mut |_| {});
        let s = String::from_utf8(out).unwrap_or_default();
        assert!(s.contains("\ra: Loading layer 0B/3B\r"), "{s:?}");
        assert!(!s.contains("[>"), "{s:?}");
    }

    #[test]
    fn elsewhere_plain_lines_without_bars() {
        let (s, _) = render(false, LOAD);
        assert_eq!(s, "b: Waiting\nLoaded image: busybox:latest\n");
    }

    #[test]
    fn errors_end_the_stream_and_aux_goes_to_the_caller() {
        let mut out = Vec::new();
        let mut seen = Vec::new();
        let res = Display::new(&mut out, false).run(
            &mut &br#"{"aux":{"ID":"sha256:1"}}
{"stream":"Step 1/1\n"}
{"errorDetail":{"code":3,"message":"boom"},"error":"boom"}
{"stream":"never\n"}
"#[..],
            &mut |a| seen.push(a.clone()),
        );
        assert_eq!(
            res,
            Err(StreamError {
                message: "boom".into(),
                code: Some(3)
            })
        );
        assert_eq!(seen, [serde_json::json!({"ID": "sha256:1"})]);
        assert_eq!(String::from_utf8(out).unwrap_or_default(), "Step 1/1\n");
    }
}
