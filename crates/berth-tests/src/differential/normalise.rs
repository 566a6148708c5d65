//! The differential harness's normaliser: what may legitimately differ between two daemons
//! running the same commands, replaced by placeholders before outputs are compared. The
//! whole list is here, in order; anything else that differs is a difference.
//!
//! 1. Object ids: every 64-hex id and every 12-hex word, numbered by first appearance in
//!    the scenario's output (a short id and its full id get the same number): `<ID1>`,
//!    `<id1>` (short). The same id twice stays the same placeholder, so "this is the id
//!    printed above" is still checked. Ids go first: a random id may contain a daemon
//!    literal's digits (its port, `40016`), which rule 2 would otherwise cut out of it.
//! 2. The daemon's own strings (its directory, socket, bridge, subnet prefixes, ports),
//!    given as `(value, placeholder)` pairs by the harness, longest first: `<DIR>`,
//!    `<SOCK>`, `<BRIDGE>`, `<NET>`, `<POOL>`, `<SUBA>`, `<SUBB>`, `<PORT>`. None of them
//!    contains a 12-hex word, so rule 1 leaves them whole.
//! 3. Times: RFC 3339 timestamps, Go's `2006-01-02 15:04:05.999 -0700 MST` form, and the
//!    docker CLI's relative times (`3 seconds ago`, `Up 2 seconds`, `Less than a second`).
//! 4. Sizes as go-units prints them (`4.26MB`, `0B`, `1.2kB`).
//! 5. MAC addresses (`02:42:...`, derived from the address).
//! 6. The berth CLI's program name: `berth` in its messages stands for `docker`.

use regex::Regex;
use std::collections::HashMap;
use std::sync::OnceLock;

/// One output normaliser for a scenario run (ids are numbered across its streams).
pub struct Normaliser<'a> {
    literals: &'a [(String, String)],
    ids: HashMap<String, usize>,
    berth_cli: bool,
}

struct Patterns {
    id: Regex,
    rfc3339: Regex,
    go_time: Regex,
    ago: Regex,
    up: Regex,
    size: Regex,
    mac: Regex,
    berth: Regex,
}

fn patterns() -> &'static Patterns {
    static P: OnceLock<Patterns> = OnceLock::new();
    P.get_or_init(|| {
        let re = |s: &str| Regex::new(s).unwrap_or_else(|e| panic!("normaliser regex {s}: {e}"));
        Patterns {
            id: re(r"\b[0-9a-f]{64}\b|\b[0-9a-f]{12}\b"),
            rfc3339: re(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})"),
            go_time: re(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}(\.\d+)? [+-]\d{4} [A-Z]{2,5}"),
            ago: re(
                r"(About an? \w+|Less than a second|\d+ (seconds?|minutes?|hours?|days?|weeks?|months?|years?)) ago",
            ),
            up: re(
                r"\bUp (About an? \w+|Less than a second|\d+ (seconds?|minutes?|hours?|days?|weeks?|months?|years?))",
            ),
            size: re(r"\b\d+(\.\d+)?(B|kB|MB|GB|TB)\b"),
            mac: re(r"\b02:42(:[0-9a-f]{2}){4}\b"),
            berth: re(r"\bberth\b"),
        }
    })
}

impl<'a> Normaliser<'a> {
    /// `literals`: the daemon's `(value, placeholder)` pairs; `berth_cli`: the output came
    /// from the berth CLI (rule 6).
    pub fn new(literals: &'a [(String, String)], berth_cli: bool) -> Normaliser<'a> {
        Normaliser {
            literals,
            ids: HashMap::new(),
            berth_cli,
        }
    }

    /// Normalises one stream; call it for stdout, then stderr, of one run.
    pub fn apply(&mut self, text: &str) -> String {
        let p = patterns();
        let ids = &mut self.ids;
        let mut s =
            p.id.replace_all(text.trim_end(), |c: &regex::Captures| {
                let m = &c[0];
                let next = ids.len() + 1;
                let n = *ids.entry(m[..12].to_string()).or_insert(next);
                if m.len() == 64 {
                    format!("<ID{n}>")
                } else {
                    format!("<id{n}>")
                }
            })
            .into_owned();
        let mut lits: Vec<&(String, String)> = self.literals.iter().collect();
        lits.sort_by_key(|(v, _)| std::cmp::Reverse(v.len()));
        for (value, placeholder) in lits {
            if value.bytes().all(|b| b.is_ascii_digit()) {
                s = replace_number(&s, value, placeholder);
            } else if !value.is_empty() {
                s = s.replace(value.as_str(), placeholder);
            }
        }
        s = p.rfc3339.replace_all(&s, "<TIME>").into_owned();
        s = p.go_time.replace_all(&s, "<TIME>").into_owned();
        s = p.ago.replace_all(&s, "<AGO>").into_owned();
        s = p.up.replace_all(&s, "Up <DURATION>").into_owned();
        s = p.size.replace_all(&s, "<SIZE>").into_owned();
        s = p.mac.replace_all(&s, "<MAC>").into_owned();
        if self.berth_cli {
            s = p.berth.replace_all(&s, "docker").into_owned();
        }
        s
    }
}

/// Replaces `value` (digits) where it stands as a whole number: the daemon's port 40000
/// must not cut the middle of a remapped id range's `400000`.
fn replace_number(s: &str, value: &str, placeholder: &str) -> String {
    if value.is_empty() {
        return s.to_string();
    }
    let digit = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit());
    let mut out = String::with_capacity(s.len());
    let mut last = 0;
    for (i, _) in s.match_indices(value) {
        if i < last
            || digit(s[..i].chars().next_back())
            || digit(s[i + value.len()..].chars().next())
        {
            continue;
        }
        out.push_str(&s[last..i]);
        out.push_str(placeholder);
        last = i + value.len();
    }
    out.push_str(&s[last..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_numbered_and_short_ids_match_their_full_id() {
        let lits = vec![];
        let mut n = Normaliser::new(&lits, false);
        let full = "a".repeat(64);
        let other = "b".repeat(64);
        let out = n.apply(&format!("{full} {} {other} sha256:{full}", &full[..12]));
        assert_eq!(out, "<ID1> <id1> <ID2> sha256:<ID1>");
    }

    #[test]
    fn a_port_literal_replaces_whole_numbers_only() {
        let lits = vec![("40000".to_string(), "<PORT>".to_string())];
        let mut n = Normaliser::new(&lits, false);
        assert_eq!(
            n.apply("0 400000 65536\n127.0.0.1:40000->80/tcp 40000"),
            "0 400000 65536\n127.0.0.1:<PORT>->80/tcp <PORT>"
        );
    }

    #[test]
    fn an_id_holding_a_daemon_literal_stays_an_id() {
        // The port 40016 inside a random id: the id is still recognised, and the same id
        // later in the output gets the same number.
        let lits = vec![("40016".to_string(), "<PORT>".to_string())];
        let mut n = Normaliser::new(&lits, false);
        let id = format!("ab{}", &"40016".repeat(13)[..62]);
        assert_eq!(id.len(), 64);
        let out = n.apply(&format!("{id} :40016 {}", &id[..12]));
        assert_eq!(out, "<ID1> :<PORT> <id1>");
    }

    #[test]
    fn daemon_literals_times_sizes_and_program_name() {
        let lits = vec![
            ("/tmp/x".to_string(), "<DIR>".to_string()),
            ("10.214.3".to_string(), "<NET>".to_string()),
        ];
        let mut n = Normaliser::new(&lits, true);
        assert_eq!(
            n.apply("berth: /tmp/x/s 10.214.3.2 2024-01-02T03:04:05.123456789Z 4.2MB 02:42:0a:d6:03:02 Up 3 seconds, 5 minutes ago\n"),
            "docker: <DIR>/s <NET>.2 <TIME> <SIZE> <MAC> Up <DURATION>, <AGO>"
        );
    }
}
