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
//! and published-port traffic DNAT'ed to it (`-o BR ... --ctstatus DNAT`). Isolation stays
//! with berth's nftables table: its drops win whatever iptables accepts.

use crate::{NetError, Result};
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
}

/// How the rules reach the kernel: the real binaries, or a fake in tests.
pub trait Runner {
    /// Runs `<binary> -w ARGS`; Ok(stdout) on success, Err(stderr) on failure, None when
    /// the binary is not installed.
    fn run(
        &mut self,
        family: Family,
        args: &[String],
    ) -> Option<std::result::Result<String, String>>;
}

/// The host's iptables/ip6tables commands.
pub struct HostRunner;

impl Runner for HostRunner {
    fn run(
        &mut self,
        family: Family,
        args: &[String],
    ) -> Option<std::result::Result<String, String>> {
        let out = Command::new(family.binary())
            .arg("-w")
            .args(args)
            .stdin(Stdio::null())
            .output();
        match out {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => Some(Err(e.to_string())),
            Ok(o) if o.status.success() => {
                Some(Ok(String::from_utf8_lossy(&o.stdout).into_owned()))
            }
            Ok(o) => Some(Err(String::from_utf8_lossy(&o.stderr).trim().to_string())),
        }
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
            "--ctstatus",
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

/// One `-A CHAIN ...` line of `iptables -S` as (chain, spec): quotes around the comment
/// are dropped (berth's tags have no spaces).
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

/// `iptables -S` puts `-m conntrack --ctstate` as given but may order matches
/// differently from the insert; compare rules as sets of their words.
fn same_rule(a: &[String], b: &[String]) -> bool {
    let mut a: Vec<&String> = a.iter().collect();
    let mut b: Vec<&String> = b.iter().collect();
    a.sort();
    b.sort();
    a == b
}

/// Makes this daemon's rules in `family`'s FORWARD path exactly those `bridges` need:
/// missing ones added (DOCKER-USER: inserted at its top; FORWARD: appended), stale ones
/// (bridges gone, or left in FORWARD now that DOCKER-USER exists) removed. Nothing
/// happens without the binary. Returns the chain used (None: no iptables).
pub fn sync(
    runner: &mut dyn Runner,
    family: Family,
    table: &str,
    bridges: &[String],
) -> Result<Option<&'static str>> {
    let tag = tag(table);
    let err =
        |what: &str, e: String| NetError::Firewall(format!("{} {what}: {e}", family.binary()));
    let docker_user = match runner.run(family, &["-S".into(), DOCKER_USER.into()]) {
        None => return Ok(None),
        Some(Ok(text)) => Some(text),
        Some(Err(_)) => None,
    };
    let chain = if docker_user.is_some() {
        DOCKER_USER
    } else {
        FORWARD
    };
    let forward = match runner.run(family, &["-S".into(), FORWARD.into()]) {
        None => return Ok(None),
        Some(Ok(text)) => text,
        Some(Err(e)) => return Err(err("-S FORWARD", e)),
    };
    let mut ours: Vec<(String, Vec<String>)> = forward
        .lines()
        .chain(docker_user.as_deref().unwrap_or("").lines())
        .filter_map(parse_rule)
        .filter(|(_, spec)| has_tag(spec, &tag))
        .collect();
    let wanted: Vec<Vec<String>> = bridges.iter().flat_map(|b| bridge_rules(b, &tag)).collect();
    // Stale: in the wrong chain or no longer wanted.
    let mut kept = Vec::new();
    for (c, spec) in ours.drain(..) {
        if c == chain && wanted.iter().any(|w| same_rule(w, &spec)) {
            kept.push(spec);
            continue;
        }
        let mut args = vec!["-D".to_string(), c.clone()];
        args.extend(spec.iter().cloned());
        if let Some(Err(e)) = runner.run(family, &args) {
            return Err(err(&format!("-D {c}"), e));
        }
    }
    for w in wanted.iter().rev() {
        if kept.iter().any(|k| same_rule(k, w)) {
            continue;
        }
        let mut args = if chain == DOCKER_USER {
            vec!["-I".to_string(), chain.to_string(), "1".to_string()]
        } else {
            vec!["-A".to_string(), chain.to_string()]
        };
        args.extend(w.iter().cloned());
        if let Some(Err(e)) = runner.run(family, &args) {
            return Err(err(&format!("add to {chain}"), e));
        }
    }
    Ok(Some(chain))
}

/// Removes every rule of this daemon (daemon shutdown, last network gone).
pub fn remove(runner: &mut dyn Runner, family: Family, table: &str) -> Result<()> {
    sync(runner, family, table, &[]).map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A fake iptables holding chains of rule lines.
    #[derive(Default)]
    struct Fake {
        docker_user: Option<Vec<String>>,
        forward: Vec<String>,
        calls: Vec<String>,
        missing: bool,
    }

    impl Runner for Fake {
        fn run(
            &mut self,
            _f: Family,
            args: &[String],
        ) -> Option<std::result::Result<String, String>> {
            if self.missing {
                return None;
            }
            self.calls.push(args.join(" "));
            let text = |chain: &str, rules: &[String]| {
                let mut t = format!("-N {chain}\n");
                for r in rules {
                    t.push_str(&format!("-A {chain} {r}\n"));
                }
                t
            };
            match (args[0].as_str(), args[1].as_str()) {
                ("-S", "FORWARD") => Some(Ok(text("FORWARD", &self.forward))),
                ("-S", "DOCKER-USER") => Some(match &self.docker_user {
                    Some(r) => Ok(text("DOCKER-USER", r)),
                    None => Err("No chain/target/match by that name.".into()),
                }),
                (op, chain) => {
                    let rule = args[if op == "-I" { 3 } else { 2 }..].join(" ");
                    let list = if chain == "FORWARD" {
                        &mut self.forward
                    } else {
                        self.docker_user.get_or_insert_with(Vec::new)
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
                    Some(Ok(String::new()))
                }
            }
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
        let du = f.docker_user.clone().expect("chain");
        assert_eq!(du.len(), 4, "{du:?}");
        assert_eq!(du[0], "-i br1 -m comment --comment berth:berth_x -j ACCEPT");
        assert_eq!(du[3], "-j RETURN", "inserted before Docker's RETURN");
        assert_eq!(f.forward, vec!["-j DOCKER-USER".to_string()]);
        // A second sync changes nothing.
        f.calls.clear();
        sync(&mut f, Family::V4, "berth_x", &["br1".into()]).expect("sync");
        assert!(f.calls.iter().all(|c| c.starts_with("-S")), "{:?}", f.calls);
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
        // dockerd started meanwhile: the next sync moves them into DOCKER-USER.
        f.docker_user = Some(vec![]);
        sync(&mut f, Family::V4, "t", &["br1".into()]).expect("sync");
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
    fn parses_iptables_s_lines() {
        let (chain, spec) =
            parse_rule("-A DOCKER-USER -i b -m comment --comment \"berth:t\" -j ACCEPT")
                .expect("rule");
        assert_eq!(chain, "DOCKER-USER");
        assert!(has_tag(&spec, "berth:t"));
        assert_eq!(parse_rule("-P FORWARD DROP"), None);
    }
}
