//! The command catalog: every `berth` command's place, usage line, description, aliases,
//! flags and handler, as static data. Dispatch, help, argument errors and shell completion
//! all read it, so a command registered here is complete everywhere at once.
//!
//! A command lives at one canonical path ("container ls") and answers to its aliases, which
//! are full paths too ("container list", "container ps", "ps"), in the order docker lists them
//! under "Aliases:". Its flags are the clap command of the struct its handler parses, whose
//! `help` strings are docker's descriptions and whose `value_name`s are pflag's type names.
//! Each command family module exports a `COMMANDS` slice; [`FAMILIES`] lists them.

use crate::commands::{self, Handler};

/// One command of the catalog.
pub struct Command {
    /// Canonical path, names separated by one space: "container exec", "search".
    pub path: &'static str,
    /// Other full paths it answers to, in docker's order: ["exec"].
    pub aliases: &'static [&'static str],
    /// The usage line after the command path: "[OPTIONS] CONTAINER COMMAND [ARG...]".
    pub usage: &'static str,
    /// One line for command lists.
    pub short: &'static str,
    /// The description `--help` shows, when it is more than `short` ("" otherwise).
    pub long: &'static str,
    /// The flags: the clap command of the struct the handler parses.
    pub flags: fn() -> clap::Command,
    pub run: Handler,
    /// Left out of command lists and completion (still runs).
    pub hidden: bool,
}

impl Command {
    pub const fn new(
        path: &'static str,
        usage: &'static str,
        short: &'static str,
        flags: fn() -> clap::Command,
        run: Handler,
    ) -> Command {
        Command {
            path,
            aliases: &[],
            usage,
            short,
            long: "",
            flags,
            run,
            hidden: false,
        }
    }
    pub const fn aliases(mut self, aliases: &'static [&'static str]) -> Command {
        self.aliases = aliases;
        self
    }
    pub const fn long(mut self, long: &'static str) -> Command {
        self.long = long;
        self
    }
    pub const fn hidden(mut self) -> Command {
        self.hidden = true;
        self
    }

    /// The usage line after "Usage:  ", for the path shown.
    pub fn usage_line(&self, shown: &str) -> String {
        if self.usage.is_empty() {
            format!("berth {shown}")
        } else {
            format!("berth {shown} {}", self.usage)
        }
    }

    /// The description its help shows.
    pub fn description(&self) -> &'static str {
        if self.long.is_empty() {
            self.short
        } else {
            self.long
        }
    }

    /// Every path it answers to, canonical first.
    pub fn paths(&self) -> impl Iterator<Item = &'static str> + '_ {
        std::iter::once(self.path).chain(self.aliases.iter().copied())
    }

    /// The path usage lines and error hints name when invoked as `invoked`: the canonical
    /// path for its local aliases ("container ps" → "container ls"), else the path typed
    /// ("ps", "builder build"), as cobra does.
    pub fn shown_path(&self, invoked: &str) -> &'static str {
        let parent = |p: &str| p.rsplit_once(' ').map(|(a, _)| a.to_string());
        if parent(invoked) == parent(self.path) {
            return self.path;
        }
        self.paths().find(|p| *p == invoked).unwrap_or(self.path)
    }
}

/// A management command: a name that only groups subcommands ("container", "network").
pub struct Group {
    pub name: &'static str,
    pub short: &'static str,
    /// The description its help shows, when it is more than `short`.
    pub long: &'static str,
    /// Listed under "Swarm Commands" rather than "Management Commands".
    pub swarm: bool,
    pub hidden: bool,
    /// What follows the name in the usage line of its errors (cobra's `Use` after the
    /// name: "COMMAND" for manifest and volume, nothing for most).
    pub use_suffix: &'static str,
}

impl Group {
    pub const fn new(name: &'static str, short: &'static str) -> Group {
        Group {
            name,
            short,
            long: "",
            swarm: false,
            hidden: false,
            use_suffix: "",
        }
    }
    pub const fn use_suffix(mut self, suffix: &'static str) -> Group {
        self.use_suffix = suffix;
        self
    }
    /// "manifest COMMAND", "container": the usage line of the group's errors.
    pub fn use_line(&self) -> String {
        if self.use_suffix.is_empty() {
            self.name.to_string()
        } else {
            format!("{} {}", self.name, self.use_suffix)
        }
    }
    pub const fn long(mut self, long: &'static str) -> Group {
        self.long = long;
        self
    }
    pub const fn swarm(mut self) -> Group {
        self.swarm = true;
        self
    }
    pub const fn hidden(mut self) -> Group {
        self.hidden = true;
        self
    }
    pub fn description(&self) -> &'static str {
        if self.long.is_empty() {
            self.short
        } else {
            self.long
        }
    }
}

/// Every management command, in no particular order (lists are sorted by name).
pub static GROUPS: &[Group] = &[
    Group::new("builder", "Manage builds"),
    Group::new("buildx", "Docker Buildx (berth's builder)"),
    Group::new("completion", "Generate the autocompletion script for the specified shell")
        .long("Generate the autocompletion script for berth for the specified shell.\nSee each sub-command's help for details on how to use the generated script.")
        .hidden(),
    Group::new("container", "Manage containers"),
    Group::new("context", "Manage contexts"),
    Group::new("image", "Manage images"),
    Group::new("manifest", "Manage Docker image manifests and manifest lists").long(
        "The **berth manifest** command has subcommands for managing image manifests and\nmanifest lists. A manifest list allows you to use one name to refer to the same image\nbuilt for multiple architectures.\n\nTo see help for a subcommand, use:\n\n    berth manifest CMD --help\n\nFor full details on using berth manifest lists, see the registry v2 specification.",
    )
    .use_suffix("COMMAND"),
    Group::new("network", "Manage networks"),
    Group::new("system", "Manage berth"),
    Group::new("trust", "Manage trust on Docker images").hidden(),
    Group::new("volume", "Manage volumes").use_suffix("COMMAND"),
    Group::new("config", "Manage Swarm configs").swarm(),
    Group::new("node", "Manage Swarm nodes").swarm(),
    Group::new("secret", "Manage Swarm secrets").swarm(),
    Group::new("service", "Manage Swarm services").swarm(),
    Group::new("stack", "Manage Swarm stacks")
        .swarm()
        .use_suffix("[OPTIONS]"),
    Group::new("swarm", "Manage Swarm").swarm(),
];

/// Management commands implemented by other crates (registered by the binary through
/// `register_external`), listed with the groups when registered.
pub static EXTERNAL_GROUPS: &[(&str, &str)] = &[("compose", "Docker Compose")];

/// The external management commands that are registered, with their descriptions.
pub fn external_groups() -> Vec<(&'static str, &'static str)> {
    EXTERNAL_GROUPS
        .iter()
        .filter(|(n, _)| crate::external(n).is_some())
        .copied()
        .collect()
}

/// The top-level commands docker lists first, under "Common Commands", in its order.
pub static COMMON: &[&str] = &[
    "run", "exec", "ps", "build", "pull", "push", "images", "login", "logout", "search", "version",
    "info",
];

/// Every command family's commands.
pub static FAMILIES: &[&[Command]] = &[
    commands::containers::COMMANDS,
    commands::context::COMMANDS,
    commands::create::COMMANDS,
    commands::exec::COMMANDS,
    commands::files::COMMANDS,
    commands::images::COMMANDS,
    commands::manifest::COMMANDS,
    commands::build::COMMANDS,
    commands::builder::COMMANDS,
    commands::buildx::COMMANDS,
    commands::registry::COMMANDS,
    commands::search::COMMANDS,
    commands::network::COMMANDS,
    commands::network_connect::COMMANDS,
    commands::observe::COMMANDS,
    commands::system::COMMANDS,
    commands::volume::COMMANDS,
    commands::trust::COMMANDS,
    commands::swarm::COMMANDS,
    commands::stack::COMMANDS,
    crate::completion::COMMANDS,
];

/// Every command of the catalog.
pub fn all() -> impl Iterator<Item = &'static Command> {
    FAMILIES.iter().flat_map(|f| f.iter())
}

/// The command answering to `path` ("container ls", "ps").
pub fn find(path: &str) -> Option<&'static Command> {
    all().find(|c| c.paths().any(|p| p == path))
}

pub fn group(name: &str) -> Option<&'static Group> {
    GROUPS.iter().find(|g| g.name == name)
}

/// The names listed under `parent` ("" for the top level) with their command: canonical
/// paths, and aliases that live under another parent than their command ("ps" at the top,
/// "build" under "builder"), sorted by name. Local aliases ("container list") are not listed.
pub fn children(parent: &str) -> Vec<(&'static str, &'static Command)> {
    fn parent_of(p: &str) -> &str {
        p.rsplit_once(' ').map(|(a, _)| a).unwrap_or("")
    }
    let mut out: Vec<(&'static str, &'static Command)> = Vec::new();
    for c in all() {
        for p in c.paths() {
            let listed = p == c.path || parent_of(p) != parent_of(c.path);
            if listed && parent_of(p) == parent {
                let name = p.rsplit(' ').next().unwrap_or(p);
                if !out.iter().any(|(n, _)| *n == name) {
                    out.push((name, c));
                }
            }
        }
    }
    out.sort_by(|a, b| a.0.cmp(b.0));
    out
}

/// True when `name` is a management command that has at least one subcommand.
pub fn is_group(name: &str) -> bool {
    group(name).is_some()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_path_is_unique_and_every_parent_is_a_group() {
        let mut seen = std::collections::HashSet::new();
        for c in all() {
            for p in c.paths() {
                assert!(seen.insert(p), "{p} registered twice");
                if let Some((parent, _)) = p.split_once(' ') {
                    assert!(is_group(parent), "{p}: no group {parent}");
                }
                assert!(!is_group(p), "{p} is a group name");
            }
        }
    }

    #[test]
    fn every_flag_has_a_description_and_a_type() {
        let mut missing = Vec::new();
        for c in all() {
            let cmd = (c.flags)();
            for a in cmd.get_arguments() {
                if a.is_positional() || a.is_hide_set() {
                    continue;
                }
                let name = a.get_long().unwrap_or("?");
                if a.get_help().is_none() {
                    missing.push(format!("{}: --{name} has no help", c.path));
                }
                if a.get_action().takes_values() {
                    let ty = a
                        .get_value_names()
                        .and_then(|v| v.first())
                        .map(|s| s.to_string())
                        .unwrap_or_default();
                    if !ty.chars().next().is_some_and(|ch| ch.is_ascii_lowercase()) {
                        missing.push(format!(
                            "{}: --{name} needs a pflag type as value_name (got {ty:?})",
                            c.path
                        ));
                    }
                }
            }
        }
        assert!(missing.is_empty(), "{}", missing.join("\n"));
    }

    #[test]
    fn shown_path_follows_cobra() {
        let ls = find("container ps").expect("container ls");
        assert_eq!(ls.shown_path("container ps"), "container ls");
        assert_eq!(ls.shown_path("ps"), "ps");
        let names: Vec<&str> = children("container").iter().map(|c| c.0).collect();
        assert!(names.contains(&"ls") && !names.contains(&"list"));
        let top: Vec<&str> = children("").iter().map(|c| c.0).collect();
        assert!(top.contains(&"ps") && top.contains(&"exec"));
    }
}
