//! `pull` on a terminal, berth compose against docker compose 2.40.3, both against the
//! same berth daemon pulling the same image (busybox's layer, present, and two random
//! ones) from a private registry on 127.0.0.1 (prefix `compose_pull_tty_`). compose
//! draws its tty writer's frames: `[+] Pulling N/4`, the service's line aggregating its
//! layers (`a [⣿⣄⡀] 34.91MB / 52.73MB Pulling`: one braille character per layer, the summed
//! sizes), and the layers indented under it with their own status and progress bar.
//! - The last frame is compared byte for byte, the timers (and the spaces aligning them)
//!   masked.
//! - Every frame of both tools has the same grammar: a header, the service's line, three
//!   layer lines under it, each line as wide as the terminal; both show the aggregated
//!   bar with its sizes at least once. Which frames there are depends on timing.
//!
//! Safety: the only registry is the harness's docker-registry on 127.0.0.1; the project
//! network gets a bridge named by the test (removed by the guard).

use berth_tests::compose::{bridged_project, write_project, TOOLS};
use berth_tests::nettest::watched_daemon;
use berth_tests::registry::LocalRegistry;
use berth_tests::NetGuard;

#[path = "support/pty.rs"]
mod pty;
use pty::{frames, on_pty, without_timers};

/// The characters a terminal shows of a line (SGR sequences left out).
fn width(l: &str) -> usize {
    let mut n = 0;
    let mut code = false;
    for c in l.chars() {
        match c {
            '\x1b' => code = true,
            'm' if code => code = false,
            _ if code => {}
            _ => n += 1,
        }
    }
    n
}

const SPIN: &str = "⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏";

/// `s` after a yellow spinner character.
fn yellow_spinner(s: &str) -> Option<&str> {
    let r = s.strip_prefix("\x1b[33m")?;
    let c = r.chars().next().filter(|c| SPIN.contains(*c))?;
    r[c.len_utf8()..].strip_prefix("\x1b[0m")
}

/// `s` after a green check mark.
fn green_mark(s: &str) -> Option<&str> {
    s.strip_prefix("\x1b[32m✔\x1b[0m")
}

/// What kind of line `l` (a frame's, timers masked) is, or None when it fits no form
/// compose draws for this pull.
fn form(l: &str) -> Option<&'static str> {
    const PCT: &str = "⠀⡀⣀⣄⣤⣦⣶⣷⣿";
    if l.starts_with("[+] Pulling ") || l.starts_with("\x1b[34m[+] Pulling ") {
        return Some("header");
    }
    if let Some(r) = l.strip_prefix(" ").and_then(yellow_spinner) {
        let r = r.strip_prefix(" a [\x1b[32m")?;
        let (bar, r) = r.split_once("\x1b[0m]")?;
        if bar.chars().count() != 3 || !bar.chars().all(|c| PCT.contains(c)) {
            return None;
        }
        return if r.starts_with(" Pulling ") {
            Some("service working")
        } else if r.contains(" / ") && r.contains(" Pulling ") {
            Some("service working, sizes")
        } else {
            None
        };
    }
    if let Some(r) = l.strip_prefix(" ").and_then(green_mark) {
        return r.starts_with(" a Pulled ").then_some("service done");
    }
    if let Some(r) = l.strip_prefix("   ").and_then(yellow_spinner) {
        let id = r.get(1..13)?;
        return id
            .chars()
            .all(|c| c.is_ascii_hexdigit())
            .then_some("layer working");
    }
    if let Some(r) = l.strip_prefix("   ").and_then(green_mark) {
        let id = r.get(1..13)?;
        return (id.chars().all(|c| c.is_ascii_hexdigit())
            && ["Already exists", "Download complete", "Pull complete"]
                .iter()
                .any(|w| r[13..].starts_with(&format!(" {w} "))))
        .then_some("layer done");
    }
    None
}

#[test]
fn compose_pull_tty_frames_as_docker_compose() {
    let reg = LocalRegistry::start();
    let mut g = NetGuard::new("bt-pt1");
    let d = watched_daemon(&mut g);
    let img = format!("{}/pt/two:1", reg.host());
    let dir = write_project(
        &d,
        "ptimg",
        &[(
            "Dockerfile",
            "FROM busybox\nRUN head -c 30000000 /dev/urandom > /a\nRUN head -c 20000000 /dev/urandom > /b\n",
        )],
    );
    let b = d
        .docker(["build", "-q", "-t", &img, dir.to_str().expect("utf-8")])
        .run();
    assert_eq!(b.code, 0, "{}", b.stderr);
    d.docker(["push", &img]).run().success();
    let mut seen = Vec::new();
    for tool in TOOLS {
        d.docker(["rmi", &img]).run();
        let proj = tool.project("pt");
        let dir = bridged_project(&d, &mut g, &proj, &format!("  a:\n    image: {img}\n"));
        let out = on_pty(&d, tool, &dir, &["pull"], &[]);
        assert!(out.ends_with("\n<exit 0>\n"), "{tool:?}: {out:?}");
        let frames = frames(&out);
        assert!(frames.len() >= 2, "{tool:?}: {out:?}");
        let mut forms = std::collections::BTreeSet::new();
        for f in &frames {
            let lines: Vec<&str> = f.split("\r\n").filter(|l| !l.is_empty()).collect();
            assert_eq!(
                lines.len(),
                5,
                "{tool:?}: a header, a service, 3 layers: {f:?}"
            );
            for l in &lines[1..] {
                assert_eq!(width(l), 120, "{tool:?}: as wide as the terminal: {l:?}");
            }
            for l in without_timers(f).iter().filter(|l| !l.is_empty()) {
                let k = form(l)
                    .unwrap_or_else(|| panic!("{tool:?}: a line compose does not draw: {l:?}"));
                forms.insert(k);
            }
        }
        assert!(
            forms.contains("service working, sizes") && forms.contains("layer working"),
            "{tool:?}: {forms:?}"
        );
        seen.push(without_timers(frames.last().expect("a frame")));
    }
    assert_eq!(
        seen[0], seen[1],
        "last frame: berth (left), docker compose (right)"
    );
    assert_eq!(
        seen[0][0], "\x1b[34m[+] Pulling 4/4\x1b[0m",
        "the header, blue once all is done"
    );
}
