//! Help text as the docker CLI prints it: cobra's usage template (usage line, description,
//! aliases, options, grouped command lists) and pflag's flag table, wrapped to the terminal
//! width of stdin (80 columns when it is not a terminal), from the static catalog.

use std::fmt::Write as _;

use crate::catalog::{self, Command, Group};

/// One line of an options table.
pub struct FlagLine {
    pub short: Option<char>,
    pub long: String,
    /// pflag's type name ("string", "list", ...); empty for booleans.
    pub ty: String,
    /// The description, defaults included ("... (default \"x\")").
    pub usage: String,
}

/// The flags of a clap command as docker lists them: sorted by name, hidden ones left out,
/// `--help` shown only when `-h` means something else (run, create).
pub fn flags_of(cmd: &clap::Command) -> Vec<FlagLine> {
    let mut out: Vec<FlagLine> = Vec::new();
    let mut h_taken = false;
    for a in cmd.get_arguments() {
        if a.is_positional() || a.is_hide_set() {
            continue;
        }
        let Some(long) = a.get_long() else { continue };
        if long == "help" {
            continue;
        }
        h_taken |= a.get_short() == Some('h');
        let ty = if a.get_action().takes_values() {
            a.get_value_names()
                .and_then(|v| v.first())
                .map(|s| s.to_string())
                .filter(|s| s != "bool")
                .unwrap_or_default()
        } else {
            String::new()
        };
        out.push(FlagLine {
            short: a.get_short(),
            long: long.to_string(),
            ty,
            usage: a.get_help().map(|s| s.to_string()).unwrap_or_default(),
        });
    }
    if h_taken {
        out.push(FlagLine {
            short: None,
            long: "help".into(),
            ty: String::new(),
            usage: "Print usage".into(),
        });
    }
    out.sort_by(|a, b| a.long.cmp(&b.long));
    out
}

/// The width help text is wrapped to: the terminal on stdin, else 80 columns (as docker).
pub fn columns() -> usize {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes one winsize through a valid pointer.
    let width = if unsafe { libc::ioctl(0, libc::TIOCGWINSZ, &mut ws) } == 0 {
        ws.ws_col as usize
    } else {
        80
    };
    width.saturating_sub(1)
}

/// pflag's FlagUsagesWrapped: names, types, and descriptions aligned and wrapped at `cols`.
pub fn flag_usages(flags: &[FlagLine], cols: usize) -> String {
    let heads: Vec<String> = flags
        .iter()
        .map(|f| {
            let mut h = match f.short {
                Some(c) => format!("  -{c}, --{}", f.long),
                None => format!("      --{}", f.long),
            };
            if !f.ty.is_empty() {
                h.push(' ');
                h.push_str(&f.ty);
            }
            h
        })
        .collect();
    // pflag measures the head with its marker byte, hence the +1s.
    let maxlen = heads.iter().map(|h| h.len() + 1).max().unwrap_or(0);
    let mut out = String::new();
    for (h, f) in heads.iter().zip(flags) {
        // Go's Fprintln puts a space between its operands: head, spacing, usage.
        let spacing = " ".repeat(maxlen - h.len());
        let _ = writeln!(out, "{h} {spacing} {}", wrap(maxlen + 2, cols, &f.usage));
    }
    out
}

/// pflag's wrap: `s` wrapped to `w` columns, continuation lines indented by `i`.
fn wrap(i: usize, w: usize, s: &str) -> String {
    let indent = |n: usize| format!("\n{}", " ".repeat(n));
    if w == 0 {
        return s.replace('\n', &indent(i));
    }
    let mut i = i;
    let mut width = w as isize - i as isize;
    let mut r = String::new();
    if width < 24 {
        i = 16;
        width = w as isize - i as isize;
        r.push_str(&indent(i));
    }
    if width < 24 {
        return s.replace('\n', &r);
    }
    let slop = 5usize;
    let width = width as usize - slop;
    let (l, mut rest) = wrap_n(width, slop, s);
    r.push_str(&l.replace('\n', &indent(i)));
    while !rest.is_empty() {
        let (t, next) = wrap_n(width, slop, rest);
        r.push_str(&indent(i));
        r.push_str(&t.replace('\n', &indent(i)));
        rest = next;
    }
    r
}

/// pflag's wrapN: the first up-to-`i` bytes of `s` split at whitespace, and the rest.
fn wrap_n(i: usize, slop: usize, s: &str) -> (&str, &str) {
    if i + slop > s.len() {
        return (s, "");
    }
    let mut cut = i;
    while !s.is_char_boundary(cut) {
        cut -= 1;
    }
    let head = &s[..cut];
    let Some(w) = head.rfind([' ', '\t', '\n']).filter(|w| *w > 0) else {
        return (s, "");
    };
    if let Some(nl) = head.rfind('\n').filter(|nl| *nl > 0 && *nl < w) {
        return (&s[..nl], &s[nl + 1..]);
    }
    (&s[..w], &s[w + 1..])
}

/// cobra's name column: at least 11, else the longest name among the siblings.
fn name_padding(names: &[&str]) -> usize {
    names.iter().map(|n| n.len()).max().unwrap_or(0).max(11)
}

fn command_list(out: &mut String, title: &str, items: &[(&str, &str)], pad: usize) {
    if items.is_empty() {
        return;
    }
    let _ = write!(out, "\n\n{title}:");
    for (name, short) in items {
        let _ = write!(out, "\n  {name:pad$} {short}");
    }
}

/// `berth PATH --help` for a command invoked as `invoked`.
pub fn command_help(cmd: &Command, invoked: &str) -> String {
    let shown = cmd.shown_path(invoked);
    let mut out = format!(
        "Usage:  {}\n\n{}",
        cmd.usage_line(shown),
        cmd.description().trim()
    );
    if !cmd.aliases.is_empty() {
        let all: Vec<String> = cmd.paths().map(|p| format!("berth {p}")).collect();
        let _ = write!(out, "\n\nAliases:\n  {}", all.join(", "));
    }
    let flags = flags_of(&(cmd.flags)());
    if !flags.is_empty() {
        let _ = write!(
            out,
            "\n\nOptions:\n{}",
            flag_usages(&flags, columns()).trim_end()
        );
    }
    out
}

/// Help for a command outside the catalog: its usage line, its clap `about`, its flags.
pub fn plain_help(usage_line: &str, flags: &clap::Command) -> String {
    let mut out = usage_line.to_string();
    if let Some(a) = flags.get_about() {
        let _ = write!(out, "\n\n{a}");
    }
    let lines = flags_of(flags);
    if !lines.is_empty() {
        let _ = write!(
            out,
            "\n\nOptions:\n{}",
            flag_usages(&lines, columns()).trim_end()
        );
    }
    out
}

/// `berth GROUP` / `berth GROUP --help`: the group's commands.
pub fn group_help(g: &Group) -> String {
    let mut out = format!(
        "Usage:  berth {} COMMAND\n\n{}",
        g.name,
        g.description().trim()
    );
    let children = catalog::children(g.name);
    let pad = name_padding(&children.iter().map(|c| c.0).collect::<Vec<_>>());
    let items: Vec<(&str, &str)> = children
        .iter()
        .filter(|(_, c)| !c.hidden)
        .map(|(n, c)| (*n, c.short))
        .collect();
    command_list(&mut out, "Commands", &items, pad);
    let _ = write!(
        out,
        "\n\nRun 'berth {} COMMAND --help' for more information on a command.",
        g.name
    );
    out
}

/// The global options table (`berth --help`), with defaults under `config_dir`.
pub fn global_flags(config_dir: &str) -> Vec<FlagLine> {
    let f = |short: Option<char>, long: &str, ty: &str, usage: String| FlagLine {
        short,
        long: long.into(),
        ty: ty.into(),
        usage,
    };
    vec![
        f(None, "config", "string", format!("Location of client config files (default \"{config_dir}\")")),
        f(Some('c'), "context", "string", "Name of the context to use to connect to the daemon (overrides DOCKER_HOST env var and default context set with \"berth context use\")".into()),
        f(Some('D'), "debug", "", "Enable debug mode".into()),
        f(Some('H'), "host", "list", "Daemon socket to connect to".into()),
        f(Some('l'), "log-level", "string", "Set the logging level (\"debug\", \"info\", \"warn\", \"error\", \"fatal\") (default \"info\")".into()),
        f(None, "tls", "", "Use TLS; implied by --tlsverify".into()),
        f(None, "tlscacert", "string", format!("Trust certs signed only by this CA (default \"{config_dir}/ca.pem\")")),
        f(None, "tlscert", "string", format!("Path to TLS certificate file (default \"{config_dir}/cert.pem\")")),
        f(None, "tlskey", "string", format!("Path to TLS key file (default \"{config_dir}/key.pem\")")),
        f(None, "tlsverify", "", "Use TLS and verify the remote".into()),
        f(Some('v'), "version", "", "Print version information and quit".into()),
    ]
}

/// `berth --help`: every command, grouped as docker groups them.
pub fn top_help(config_dir: &str) -> String {
    let mut out =
        String::from("Usage:  berth [OPTIONS] COMMAND\n\nA Docker-compatible container engine");
    let children = catalog::children("");
    let mut names: Vec<&str> = children.iter().map(|c| c.0).collect();
    names.extend(catalog::GROUPS.iter().map(|g| g.name));
    let pad = name_padding(&names);
    let common: Vec<(&str, &str)> = catalog::COMMON
        .iter()
        .filter_map(|n| children.iter().find(|(c, _)| c == n))
        .filter(|(_, c)| !c.hidden)
        .map(|(n, c)| (*n, c.short))
        .collect();
    command_list(&mut out, "Common Commands", &common, pad);
    let mut groups: Vec<&Group> = catalog::GROUPS
        .iter()
        .filter(|g| !g.hidden && catalog::children(g.name).iter().any(|(_, c)| !c.hidden))
        .collect();
    groups.sort_by(|a, b| a.name.cmp(b.name));
    let list = |swarm: bool| -> Vec<(&str, &str)> {
        groups
            .iter()
            .filter(|g| g.swarm == swarm)
            .map(|g| (g.name, g.short))
            .collect()
    };
    let mut management = list(false);
    management.extend(catalog::external_groups());
    management.sort();
    command_list(&mut out, "Management Commands", &management, pad);
    command_list(&mut out, "Swarm Commands", &list(true), pad);
    let others: Vec<(&str, &str)> = children
        .iter()
        .filter(|(n, c)| !c.hidden && !catalog::COMMON.contains(n))
        .map(|(n, c)| (*n, c.short))
        .collect();
    command_list(&mut out, "Commands", &others, pad);
    let _ = write!(
        out,
        "\n\nGlobal Options:\n{}\n\nRun 'berth COMMAND --help' for more information on a command.",
        flag_usages(&global_flags(config_dir), columns()).trim_end()
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(short: Option<char>, long: &str, ty: &str, usage: &str) -> FlagLine {
        FlagLine {
            short,
            long: long.into(),
            ty: ty.into(),
            usage: usage.into(),
        }
    }

    #[test]
    fn wraps_as_pflag() {
        // docker exec --help at 80 columns.
        let flags = vec![
            line(
                Some('d'),
                "detach",
                "",
                "Detached mode: run command in the background",
            ),
            line(
                None,
                "detach-keys",
                "string",
                "Override the key sequence for detaching a container",
            ),
            line(
                Some('u'),
                "user",
                "string",
                "Username or UID (format: \"<name|uid>[:<group|gid>]\")",
            ),
        ];
        let s = flag_usages(&flags, 79);
        assert_eq!(
            s,
            "  -d, --detach               Detached mode: run command in the background\n      --detach-keys string   Override the key sequence for detaching a\n                             container\n  -u, --user string          Username or UID (format:\n                             \"<name|uid>[:<group|gid>]\")\n"
        );
    }

    #[test]
    fn keeps_explicit_newlines() {
        let flags = vec![line(
            None,
            "format",
            "string",
            "Format output using a custom template:\n'json':             Print in JSON format",
        )];
        let s = flag_usages(&flags, 79);
        assert_eq!(
            s,
            "      --format string   Format output using a custom template:\n                        'json':             Print in JSON format\n"
        );
    }
}
