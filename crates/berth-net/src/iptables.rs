//! berth's bridges beside Docker: dockerd sets the iptables FORWARD policy to DROP, and with
//! `br_netfilter` bridged traffic goes through that chain too, so berth's containers could
//! no longer reach each other or the outside. Accepting a packet in berth's own nftables
//! table does not help (every base chain on a hook must accept it), so berth adds the few
//! accept rules its bridges need where Docker documents rules for other interfaces: the
//! `DOCKER-USER` chain (moby's "Docker on a router"), or the end of `FORWARD` when there is
//! no DOCKER-USER (and, being after Docker's own jumps, they keep working if dockerd starts
//! later). Every rule carries the comment `berth:<table>` (the daemon's nftables table
//! name), so a sync touches only its own daemon's rules and finds them after a crash.
//!
//! Per bridge: traffic from it (`-i BR`), replies to it (`-o BR ... RELATED,ESTABLISHED`)
//! and published-port traffic DNAT'ed to it (`-o BR ... --ctstate DNAT`). Isolation stays
//! with berth's nftables table: its drops win whatever iptables accepts.
//!
//! Cost: every iptables exec takes 10-40 ms, and a network's create or removal used to make
//! up to five per family (two listings, three rule changes). A sync now makes at most two
//! per family: one `iptables-save -t filter` (the current rules) and, only when something
//! must change, one `iptables-restore --noflush -w` carrying every delete and insert in one
//! transaction; the two families run in parallel (`sync_both`). What to change is the pure
//! function `plan` (saved rules text + wanted bridges → restore script), unit-tested like
//! the nftables table renderer. Should the restore fail (the rules changed between the
//! save and the restore, e.g. another daemon removed one), the sync reads and plans once more.

use crate::{NetError, Result};
use std::io::Write;
use std::process::{Command, Stdio};

/// Docker's chain for the user's own rules, consulted first from FORWARD.
const DOCKER_USER: &str = "DOCKER-USER";
const FORWARD: &str = "FORWARD";

/// iptables (IPv4) or ip6tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Family {
    V4,
    V6,
}

impl Family {
    fn binary(self) -> &'static str {
        match self {
            Family::V4 => "iptables",
            Family::V6 => "ip6tables",
        }
    }

    fn save_binary(self) -> &'static str {
        match self {
            Family::V4 => "iptables-save",
            Family::V6 => "ip6tables-save",
        }
    }

    fn restore_binary(self) -> &'static str {
        match self {
            Family::V4 => "iptables-restore",
            Family::V6 => "ip6tables-restore",
        }
    }
}

/// How the rules reach the kernel: the real binaries, or a fake in tests. Each call gives
/// None when the binary is not installed, Err(stderr) when it failed.
pub trait Runner {
    /// `<family>-save -t filter`: the filter table's chains and rules.
    fn save(&mut self, family: Family) -> Option<std::result::Result<String, String>>;
    /// `<family>-restore --noflush -w` fed with `script` (one transaction).
    fn restore(&mut self, family: Family, script: &str) -> Option<std::result::Result<(), String>>;
}

/// The host's iptables-save/iptables-restore (and ip6tables-*) commands.
pub struct HostRunner;

/// Runs `cmd` with `input` on its stdin (none: /dev/null): None when not installed.
fn exec(mut cmd: Command, input: Option<&str>) -> Option<std::result::Result<String, String>> {
    cmd.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = match cmd.spawn() {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => return Some(Err(e.to_string())),
        Ok(c) => c,
    };
    if let (Some(text), Some(mut stdin)) = (input, child.stdin.take()) {
        // The script is small (a few rules): it fits the pipe; a write error shows as the
        // command's failure below.
        let _ = stdin.write_all(text.as_bytes());
    }
    match child.wait_with_output() {
        Err(e) => Some(Err(e.to_string())),
        Ok(o) if o.status.success() => Some(Ok(String::from_utf8_lossy(&o.stdout).into_owned())),
        Ok(o) => Some(Err(String::from_utf8_lossy(&o.stderr).trim().to_string())),
    }
}

impl Runner for HostRunner {
    fn save(&mut self, family: Family) -> Option<std::result::Result<String, String>> {
        let mut cmd = Command::new(family.save_binary());
        cmd.args(["-t", "filter"]);
        exec(cmd, None)
    }

    fn restore(&mut self, family: Family, script: &str) -> Option<std::result::Result<(), String>> {
        let mut cmd = Command::new(family.restore_binary());
        cmd.args(["--noflush", "-w"]);
        exec(cmd, Some(script)).map(|r| r.map(|_| ()))
    }
}

/// The comment that marks the rules of the daemon owning nftables table `table`.
pub fn tag(table: &str) -> String {
    format!("berth:{table}")
}

/// The rule specs (without chain) one bridge needs.
fn bridge_rules(bridge: &str, tag: &str) -> Vec<Vec<String>> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<String>>();
    vec![
        s(&[
            "-i",
            bridge,
            "-m",
            "comment",
            "--comment",
            tag,
            "-j",
            "ACCEPT",
        ]),
        s(&[
            "-o",
            bridge,
            "-m",
            "conntrack",
            "--ctstate",
            "RELATED,ESTABLISHED",
            "-m",
            "comment",
            "--comment",
            tag,
            "-j",
            "ACCEPT",
        ]),
        s(&[
            "-o",
            bridge,
            "-m",
            "conntrack",
            "--ctstate",
            "DNAT",
            "-m",
            "comment",
            "--comment",
            tag,
            "-j",
            "ACCEPT",
        ]),
    ]
}

/// One `-A CHAIN ...` line of `iptables-save` (or `iptables -S`) as (chain, spec): quotes
/// around the comment are dropped (berth's tags have no spaces).
fn parse_rule(line: &str) -> Option<(String, Vec<String>)> {
    let mut words = line
        .split_whitespace()
        .map(|w| w.trim_matches('"').to_string());
    if words.next()? != "-A" {
        return None;
    }
    let chain = words.next()?;
    Some((chain, words.collect()))
}

/// Whether a rule spec carries `tag` as its comment.
fn has_tag(spec: &[String], tag: &str) -> bool {
    spec.windows(2).any(|w| w[0] == "--comment" && w[1] == tag)
}

/// `iptables-save` puts `-m conntrack --ctstate` as given but may order matches
/// differently from the insert; compare rules as sets of their words.
fn same_rule(a: &[String], b: &[String]) -> bool {
    let mut a: Vec<&String> = a.iter().collect();
    let mut b: Vec<&String> = b.iter().collect();
    a.sort();
    b.sort();
    a == b
}

/// What a sync does in one family: the chain berth's rules belong in, and the
/// `iptables-restore --noflush` script that gets them there (None: nothing to change).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub chain: &'static str,
    pub script: Option<String>,
}

/// The pure part of a sync: from `iptables-save -t filter`'s text and the bridges this
/// daemon (`table`) has, the chain to use (DOCKER-USER when it exists, else FORWARD) and the
/// restore script making this daemon's rules exactly those the bridges need: stale ones
/// (bridges gone, or left in FORWARD now that DOCKER-USER exists) deleted, missing ones
/// added (DOCKER-USER: inserted at its top, before Docker's RETURN; FORWARD: appended).
/// Other daemons' and other programs' rules are never named.
pub fn plan(saved: &str, table: &str, bridges: &[String]) -> Plan {
    let tag = tag(table);
    // Only the filter table's lines (the text may hold others if -t was not honoured).
    let mut in_filter = false;
    let mut docker_user = false;
    let mut ours: Vec<(String, Vec<String>)> = Vec::new();
    for line in saved.lines() {
        let line = line.trim();
        if let Some(name) = line.strip_prefix('*') {
            in_filter = name == "filter";
            continue;
        }
        if !in_filter {
            continue;
        }
        if let Some(decl) = line.strip_prefix(':') {
            if decl.split_whitespace().next() == Some(DOCKER_USER) {
                docker_user = true;
            }
            continue;
        }
        if let Some((chain, spec)) = parse_rule(line) {
            if has_tag(&spec, &tag) {
                ours.push((chain, spec));
            }
        }
    }
    let chain = if docker_user { DOCKER_USER } else { FORWARD };
    let wanted: Vec<Vec<String>> = bridges.iter().flat_map(|b| bridge_rules(b, &tag)).collect();
    let mut lines: Vec<String> = Vec::new();
    let mut kept: Vec<Vec<String>> = Vec::new();
    for (c, spec) in ours {
        // A duplicate of a kept rule is stale too (one copy is enough).
        if c == chain
            && wanted.iter().any(|w| same_rule(w, &spec))
            && !kept.iter().any(|k| same_rule(k, &spec))
        {
            kept.push(spec);
            continue;
        }
        lines.push(format!("-D {c} {}", spec.join(" ")));
    }
    for w in wanted.iter().rev() {
        if kept.iter().any(|k| same_rule(k, w)) {
            continue;
        }
        kept.push(w.clone());
        lines.push(if chain == DOCKER_USER {
            format!("-I {chain} 1 {}", w.join(" "))
        } else {
            format!("-A {chain} {}", w.join(" "))
        });
    }
    let script = (!lines.is_empty()).then(|| {
        let mut s = String::from("*filter\n");
        for l in lines {
            s.push_str(&l);
            s.push('\n');
        }
        s.push_str("COMMIT\n");
        s
    });
    Plan { chain, script }
}

/// Makes this daemon's rules in `family`'s FORWARD path exactly those `bridges` need (see
/// `plan`): one save, and one restore when something changes. Nothing happens without the
/// binaries. Returns the chain used (None: no iptables).
pub fn sync(
    runner: &mut dyn Runner,
    family: Family,
    table: &str,
    bridges: &[String],
) -> Result<Option<&'static str>> {
    let err =
        |what: &str, e: String| NetError::Firewall(format!("{}-{what}: {e}", family.binary()));
    let mut attempt = 0;
    loop {
        attempt += 1;
        let saved = match runner.save(family) {
            None => return Ok(None),
            Some(Ok(text)) => text,
            Some(Err(e)) => return Err(err("save -t filter", e)),
        };
        let p = plan(&saved, table, bridges);
        let Some(script) = p.script else {
            return Ok(Some(p.chain));
        };
        match runner.restore(family, &script) {
            None => return Ok(None),
            Some(Ok(())) => return Ok(Some(p.chain)),
            // The rules changed since the save (a rule to delete went away): read again.
            Some(Err(_)) if attempt < 2 => continue,
            Some(Err(e)) => return Err(err("restore --noflush", e)),
        }
    }
}

/// `sync` for both families at once (each exec waits on the kernel and the xtables lock,
/// not on the CPU): IPv4 with `v4`'s bridges, IPv6 with `v6`'s.
pub fn sync_both<R: Runner + Send>(
    runners: [&mut R; 2],
    table: &str,
    v4: &[String],
    v6: &[String],
) -> [Result<Option<&'static str>>; 2] {
    let [r4, r6] = runners;
    std::thread::scope(|s| {
        let h6 = s.spawn(|| sync(r6, Family::V6, table, v6));
        let done4 = sync(r4, Family::V4, table, v4);
        let done6 = h6.join().unwrap_or_else(|_| {
            Err(NetError::Firewall(
                "the ip6tables sync thread panicked".into(),
            ))
        });
        [done4, done6]
    })
}

/// Removes every rule of this daemon (daemon shutdown, last network gone).
pub fn remove(runner: &mut dyn Runner, family: Family, table: &str) -> Result<()> {
    sync(runner, family, table, &[]).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `iptables-save -t filter` text with these chains (name, rules).
    fn save_text(chains: &[(&str, &[&str])]) -> String {
        let mut t = String::from("# Generated by iptables-save\n*filter\n");
        for (c, _) in chains {
            let policy = if ["INPUT", "FORWARD", "OUTPUT"].contains(c) {
                "DROP"
            } else {
                "-"
            };
            t.push_str(&format!(":{c} {policy} [0:0]\n"));
        }
        for (c, rules) in chains {
            for r in *rules {
                t.push_str(&format!("-A {c} {r}\n"));
            }
        }
        t.push_str("COMMIT\n# Completed\n");
        t
    }

    /// A fake iptables holding chains of rule lines; restore applies -I/-A/-D all or
    /// nothing, as the real one does.
    #[derive(Default)]
    struct Fake {
        docker_user: Option<Vec<String>>,
        forward: Vec<String>,
        calls: Vec<String>,
        missing: bool,
        /// Restores that fail before applying (a concurrent change).
        fail_restores: usize,
    }

    /// A rule as the real tool prints it: the comment quoted.
    fn quoted(rule: &str) -> String {
        let mut out = Vec::new();
        let mut prev = "";
        for w in rule.split_whitespace() {
            out.push(if prev == "--comment" {
                format!("\"{w}\"")
            } else {
                w.to_string()
            });
            prev = w;
        }
        out.join(" ")
    }

    impl Fake {
        fn text(&self) -> String {
            let fwd: Vec<String> = self.forward.iter().map(|r| quoted(r)).collect();
            let du: Vec<String> = self
                .docker_user
                .iter()
                .flatten()
                .map(|r| quoted(r))
                .collect();
            let fwd: Vec<&str> = fwd.iter().map(String::as_str).collect();
            let du: Vec<&str> = du.iter().map(String::as_str).collect();
            let mut chains: Vec<(&str, &[&str])> = vec![("INPUT", &[]), ("FORWARD", &fwd)];
            if self.docker_user.is_some() {
                chains.push(("DOCKER-USER", &du));
            }
            save_text(&chains)
        }
    }

    impl Runner for Fake {
        fn save(&mut self, _f: Family) -> Option<std::result::Result<String, String>> {
            if self.missing {
                return None;
            }
            self.calls.push("save".into());
            Some(Ok(self.text()))
        }

        fn restore(&mut self, _f: Family, script: &str) -> Option<std::result::Result<(), String>> {
            if self.missing {
                return None;
            }
            self.calls.push("restore".into());
            if self.fail_restores > 0 {
                self.fail_restores -= 1;
                return Some(Err("iptables-restore: line 2 failed".into()));
            }
            let (mut fwd, mut du) = (self.forward.clone(), self.docker_user.clone());
            let lines: Vec<&str> = script.lines().collect();
            assert_eq!(lines.first(), Some(&"*filter"), "{script}");
            assert_eq!(lines.last(), Some(&"COMMIT"), "{script}");
            for l in &lines[1..lines.len() - 1] {
                let words: Vec<&str> = l.split_whitespace().collect();
                let (op, chain) = (words[0], words[1]);
                let rule = words[if op == "-I" { 3 } else { 2 }..].join(" ");
                let list = if chain == "FORWARD" {
                    &mut fwd
                } else {
                    match du.as_mut() {
                        Some(d) => d,
                        None => return Some(Err("No chain/target/match by that name.".into())),
                    }
                };
                match op {
                    "-I" => list.insert(0, rule),
                    "-A" => list.push(rule),
                    "-D" => match list.iter().position(|r| *r == rule) {
                        Some(i) => {
                            list.remove(i);
                        }
                        None => return Some(Err("Bad rule".into())),
                    },
                    _ => return Some(Err("bad op".into())),
                }
            }
            self.forward = fwd;
            self.docker_user = du;
            Some(Ok(()))
        }
    }

    #[test]
    fn rules_go_to_docker_user_when_it_exists() {
        let mut f = Fake {
            docker_user: Some(vec!["-j RETURN".into()]),
            forward: vec!["-j DOCKER-USER".into()],
            ..Default::default()
        };
        let chain = sync(&mut f, Family::V4, "berth_x", &["br1".into()]).expect("sync");
        assert_eq!(chain, Some("DOCKER-USER"));
        assert_eq!(f.calls, ["save", "restore"], "one save, one restore");
        let du = f.docker_user.clone().expect("chain");
        assert_eq!(du.len(), 4, "{du:?}");
        assert_eq!(du[0], "-i br1 -m comment --comment berth:berth_x -j ACCEPT");
        assert_eq!(du[3], "-j RETURN", "inserted before Docker's RETURN");
        assert_eq!(f.forward, vec!["-j DOCKER-USER".to_string()]);
        // A second sync only reads.
        f.calls.clear();
        sync(&mut f, Family::V4, "berth_x", &["br1".into()]).expect("sync");
        assert_eq!(f.calls, ["save"]);
    }

    #[test]
    fn without_docker_user_rules_are_appended_to_forward_and_move_later() {
        let mut f = Fake {
            forward: vec!["-i other -j DROP".into()],
            ..Default::default()
        };
        assert_eq!(
            sync(&mut f, Family::V4, "t", &["br1".into()]).expect("sync"),
            Some("FORWARD")
        );
        assert_eq!(f.forward.len(), 4);
        assert_eq!(f.forward[0], "-i other -j DROP");
        // dockerd started meanwhile: the next sync moves them into DOCKER-USER, in one
        // restore.
        f.docker_user = Some(vec![]);
        f.calls.clear();
        sync(&mut f, Family::V4, "t", &["br1".into()]).expect("sync");
        assert_eq!(f.calls, ["save", "restore"]);
        assert_eq!(f.forward, vec!["-i other -j DROP".to_string()]);
        assert_eq!(f.docker_user.as_ref().map(Vec::len), Some(3));
    }

    #[test]
    fn only_this_daemons_stale_rules_go() {
        let other = "-i br9 -m comment --comment berth:other -j ACCEPT".to_string();
        let mut f = Fake {
            docker_user: Some(vec![other.clone()]),
            ..Default::default()
        };
        sync(&mut f, Family::V4, "t", &["br1".into(), "br2".into()]).expect("sync");
        assert_eq!(f.docker_user.as_ref().map(Vec::len), Some(7));
        sync(&mut f, Family::V4, "t", &["br2".into()]).expect("sync");
        let du = f.docker_user.clone().expect("chain");
        assert_eq!(du.len(), 4, "{du:?}");
        assert!(du.iter().all(|r| !r.contains("br1")), "{du:?}");
        remove(&mut f, Family::V4, "t").expect("remove");
        assert_eq!(f.docker_user, Some(vec![other]));
        // Nothing of ours left: a remove only reads.
        f.calls.clear();
        remove(&mut f, Family::V4, "t").expect("remove");
        assert_eq!(f.calls, ["save"]);
    }

    #[test]
    fn no_binary_no_rules() {
        let mut f = Fake {
            missing: true,
            ..Default::default()
        };
        assert_eq!(
            sync(&mut f, Family::V6, "t", &["br1".into()]).expect("sync"),
            None
        );
    }

    #[test]
    fn a_failed_restore_is_planned_again_once() {
        let mut f = Fake {
            fail_restores: 1,
            ..Default::default()
        };
        sync(&mut f, Family::V4, "t", &["br1".into()]).expect("sync");
        assert_eq!(f.calls, ["save", "restore", "save", "restore"]);
        assert_eq!(f.forward.len(), 3);
        let mut f = Fake {
            fail_restores: 2,
            ..Default::default()
        };
        let e = sync(&mut f, Family::V4, "t", &["br1".into()]).expect_err("fails");
        assert!(e.to_string().contains("line 2 failed"), "{e}");
    }

    #[test]
    fn plan_renders_one_restore_script() {
        let saved = save_text(&[
            (
                "FORWARD",
                &[
                    "-j DOCKER-USER",
                    "-i old -m comment --comment \"berth:t\" -j ACCEPT",
                    "-i x -m comment --comment \"berth:u\" -j ACCEPT",
                ],
            ),
            (
                "DOCKER-USER",
                &[
                    "-o br1 -m conntrack --ctstate DNAT -m comment --comment \"berth:t\" -j ACCEPT",
                    "-j RETURN",
                ],
            ),
        ]);
        let p = plan(&saved, "t", &["br1".into()]);
        assert_eq!(p.chain, "DOCKER-USER");
        assert_eq!(
            p.script.as_deref(),
            Some(
                "*filter\n\
                 -D FORWARD -i old -m comment --comment berth:t -j ACCEPT\n\
                 -I DOCKER-USER 1 -o br1 -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment berth:t -j ACCEPT\n\
                 -I DOCKER-USER 1 -i br1 -m comment --comment berth:t -j ACCEPT\n\
                 COMMIT\n"
            )
        );
        // Everything in place: no script.
        let saved = save_text(&[(
            "FORWARD",
            &[
                "-o b -m conntrack --ctstate DNAT -m comment --comment \"berth:t\" -j ACCEPT",
                "-o b -m conntrack --ctstate RELATED,ESTABLISHED -m comment --comment \"berth:t\" -j ACCEPT",
                "-i b -m comment --comment \"berth:t\" -j ACCEPT",
            ],
        )]);
        assert_eq!(
            plan(&saved, "t", &["b".into()]),
            Plan {
                chain: "FORWARD",
                script: None
            }
        );
        // A duplicate of a wanted rule goes; IPv6 (or an empty table) with nothing wanted:
        // nothing.
        let dup = "-i b -m comment --comment \"berth:t\" -j ACCEPT";
        let saved = save_text(&[("FORWARD", &[dup, dup])]);
        let s = plan(&saved, "t", &[]).script.expect("script");
        assert_eq!(s.matches("-D FORWARD -i b").count(), 2, "{s}");
        assert_eq!(plan("", "t", &[]).script, None);
        // Rules in another table's section are not ours to touch.
        let nat = "*nat\n:POSTROUTING ACCEPT [0:0]\n-A POSTROUTING -m comment --comment \"berth:t\" -j ACCEPT\nCOMMIT\n";
        assert_eq!(plan(nat, "t", &[]).script, None);
    }

    #[test]
    fn both_families_sync_in_parallel() {
        let mut a = Fake::default();
        let mut b = Fake::default();
        let [r4, r6] = sync_both([&mut a, &mut b], "t", &["b1".into(), "b2".into()], &[]);
        assert_eq!(r4.expect("v4"), Some("FORWARD"));
        assert_eq!(r6.expect("v6"), Some("FORWARD"));
        assert_eq!(a.forward.len(), 6);
        assert_eq!(b.calls, ["save"], "nothing to do in IPv6: no restore");
    }

    #[test]
    fn parses_iptables_save_lines() {
        let (chain, spec) =
            parse_rule("-A DOCKER-USER -i b -m comment --comment \"berth:t\" -j ACCEPT")
                .expect("rule");
        assert_eq!(chain, "DOCKER-USER");
        assert!(has_tag(&spec, "berth:t"));
        assert_eq!(parse_rule("-P FORWARD DROP"), None);
    }
}
