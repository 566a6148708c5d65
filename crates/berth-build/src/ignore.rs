//! `.dockerignore` with Docker's rules (moby/patternmatcher): one pattern a line, `#`
//! comments, `!` exceptions, patterns cleaned like Go's filepath.Clean with a leading `/`
//! dropped, `*` and `?` within a path segment, `**` across any number of segments, `[...]`
//! classes, `\` escapes. A path is excluded when the last pattern matching it or one of its
//! parent directories is not an exception.

use crate::shell::class_match;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Tok {
    Lit(char),
    /// `*`: anything but `/`.
    Star,
    /// `?`: one character but `/`.
    One,
    /// `**/` or `**` in the middle: any number of whole segments (maybe none).
    Segments,
    /// `**` at the end: anything.
    Rest,
    /// `[...]` (the text after `[`, up to and including `]`).
    Class(Vec<char>),
}

#[derive(Debug, Clone)]
pub struct Pattern {
    pub text: String,
    pub exclusion: bool,
    toks: Vec<Tok>,
    /// The number of segments: a parent dir matches when it has as many.
    dirs: usize,
}

/// Go's path.Clean for slash-separated paths.
pub fn clean(p: &str) -> String {
    let rooted = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|l| *l != "..") {
                    out.pop();
                } else if !rooted {
                    out.push("..");
                }
            }
            s => out.push(s),
        }
    }
    let j = out.join("/");
    match (rooted, j.is_empty()) {
        (true, _) => format!("/{j}"),
        (false, true) => ".".to_string(),
        (false, false) => j,
    }
}

fn compile(p: &str) -> Vec<Tok> {
    let cs: Vec<char> = p.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        match c {
            '*' if cs.get(i + 1) == Some(&'*') => {
                i += 2;
                if cs.get(i) == Some(&'/') {
                    i += 1;
                }
                toks.push(if i >= cs.len() {
                    Tok::Rest
                } else {
                    Tok::Segments
                });
                continue;
            }
            '*' => toks.push(Tok::Star),
            '?' => toks.push(Tok::One),
            '\\' if i + 1 < cs.len() => {
                i += 1;
                toks.push(Tok::Lit(cs[i]));
            }
            '[' => {
                if class_match(&cs[i + 1..], None).is_some() {
                    let end = (i + 1..cs.len())
                        .find(|&j| cs[j] == ']' && j > i + 1)
                        .unwrap_or(cs.len() - 1);
                    toks.push(Tok::Class(cs[i + 1..=end].to_vec()));
                    i = end + 1;
                    continue;
                }
                toks.push(Tok::Lit('['));
            }
            c => toks.push(Tok::Lit(c)),
        }
        i += 1;
    }
    toks
}

/// Whether the tokens match the whole of `s`. Dynamic programming over (token, position)
/// rows, so a pattern of many `*`/`**` costs O(tokens × length) instead of backtracking
/// exponentially (a `.dockerignore` is untrusted input to a build).
fn matches(t: &[Tok], s: &[char]) -> bool {
    let n = s.len();
    // next[i]: whether t[k+1..] matches s[i..]; starts as the empty token list.
    let mut next: Vec<bool> = (0..=n).map(|i| i == n).collect();
    let mut cur = vec![false; n + 1];
    for tok in t.iter().rev() {
        match tok {
            Tok::Rest => cur.iter_mut().for_each(|c| *c = true),
            Tok::Star => {
                // `*` consumes zero characters, or one non-`/` and stays.
                cur[n] = next[n];
                for i in (0..n).rev() {
                    cur[i] = next[i] || (s[i] != '/' && cur[i + 1]);
                }
            }
            Tok::Segments => {
                // Nothing, or any prefix ending at a `/`.
                let mut later_slash = false;
                cur[n] = next[n];
                for i in (0..n).rev() {
                    later_slash |= s[i] == '/' && next[i + 1];
                    cur[i] = next[i] || later_slash;
                }
            }
            Tok::Lit(_) | Tok::One | Tok::Class(_) => {
                cur[n] = false;
                for i in 0..n {
                    let one = match tok {
                        Tok::Lit(c) => s[i] == *c,
                        Tok::One => s[i] != '/',
                        Tok::Class(cl) => {
                            s[i] != '/' && matches!(class_match(cl, Some(s[i])), Some((true, _)))
                        }
                        _ => false,
                    };
                    cur[i] = one && next[i + 1];
                }
            }
        }
        std::mem::swap(&mut cur, &mut next);
    }
    next[0]
}

impl Pattern {
    pub fn new(line: &str) -> Option<Pattern> {
        let mut p = line.trim();
        if p.is_empty() || p.starts_with('#') {
            return None;
        }
        let exclusion = p.starts_with('!');
        if exclusion {
            p = p[1..].trim();
            if p.is_empty() {
                return None;
            }
        }
        let mut c = clean(p);
        if let Some(s) = c.strip_prefix('/') {
            c = if s.is_empty() {
                ".".into()
            } else {
                s.to_string()
            };
        }
        let dirs = c.split('/').count();
        Some(Pattern {
            toks: compile(&c),
            text: c,
            exclusion,
            dirs,
        })
    }

    fn is_match(&self, path: &str) -> bool {
        let s: Vec<char> = path.chars().collect();
        matches(&self.toks, &s)
    }
}

/// A parsed `.dockerignore`.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    pub patterns: Vec<Pattern>,
}

impl Matcher {
    pub fn parse(content: &str) -> Matcher {
        Matcher {
            patterns: content.lines().filter_map(Pattern::new).collect(),
        }
    }

    pub fn has_exclusions(&self) -> bool {
        self.patterns.iter().any(|p| p.exclusion)
    }

    /// Whether the context-relative, slash-separated `path` is excluded.
    pub fn excluded(&self, path: &str) -> bool {
        let path = clean(path);
        let parents: Vec<&str> = path.split('/').collect();
        let mut excluded = false;
        for p in &self.patterns {
            let mut m = p.is_match(&path);
            if !m && parents.len() > 1 {
                // A pattern matching a parent directory excludes what is under it.
                for i in 1..parents.len() {
                    if i > p.dirs + 8 && !p.text.contains("**") {
                        break;
                    }
                    if p.is_match(&parents[..i].join("/")) {
                        m = true;
                        break;
                    }
                }
            }
            if m {
                excluded = !p.exclusion;
            }
        }
        excluded
    }

    /// Whether a directory excluded itself may still hold an exception (so the walk must
    /// descend into it).
    pub fn may_include_under(&self, dir: &str) -> bool {
        let dir = clean(dir);
        self.patterns.iter().any(|p| {
            p.exclusion
                && (p.text.contains('*')
                    || p.text.contains('?')
                    || p.text.contains('[')
                    || p.text.starts_with(&format!("{dir}/"))
                    || dir.starts_with(&format!("{}/", p.text))
                    || p.text == dir)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(s: &str) -> Matcher {
        Matcher::parse(s)
    }

    #[test]
    fn comments_blank_and_clean() {
        let x = m("# comment\n\n  /foo/../bar/  \n./baz\n");
        assert_eq!(
            x.patterns
                .iter()
                .map(|p| p.text.as_str())
                .collect::<Vec<_>>(),
            vec!["bar", "baz"]
        );
        assert!(x.excluded("bar"));
        assert!(x.excluded("bar/inner/file"));
        assert!(x.excluded("baz"));
        assert!(!x.excluded("foo"));
        assert!(!x.excluded("xbar"));
    }

    #[test]
    fn star_and_question_stay_in_a_segment() {
        let x = m("*.md\ndoc?/x\n");
        assert!(x.excluded("README.md"));
        assert!(!x.excluded("sub/README.md"));
        assert!(x.excluded("doc1/x"));
        assert!(!x.excluded("doc12/x"));
        assert!(!x.excluded("doc/x"));
    }

    #[test]
    fn double_star() {
        let x = m("**/*.log\n");
        assert!(x.excluded("a.log"));
        assert!(x.excluded("a/b/c.log"));
        assert!(!x.excluded("a/b/c.txt"));
        let y = m("a/**/z\n");
        assert!(y.excluded("a/z"));
        assert!(y.excluded("a/b/c/z"));
        assert!(!y.excluded("b/z"));
        let z = m("tmp/**\n");
        assert!(z.excluded("tmp/x/y"));
        assert!(!z.excluded("tmpx"));
        assert!(m("**\n").excluded("anything/at/all"));
    }

    #[test]
    fn exceptions_last_match_wins() {
        let x = m("*.md\n!README.md\n");
        assert!(x.excluded("CHANGES.md"));
        assert!(!x.excluded("README.md"));
        let y = m("!README.md\n*.md\n");
        assert!(y.excluded("README.md"));
        let z = m("docs\n!docs/keep.txt\n");
        assert!(z.excluded("docs/other"));
        assert!(!z.excluded("docs/keep.txt"));
        assert!(z.may_include_under("docs"));
        assert!(!m("docs\n").may_include_under("docs"));
    }

    #[test]
    fn classes_and_escapes() {
        let x = m("file[0-9].txt\nlit\\*\n");
        assert!(x.excluded("file3.txt"));
        assert!(!x.excluded("filex.txt"));
        assert!(x.excluded("lit*"));
        assert!(!x.excluded("litx"));
        let y = m("[!a]*\n");
        assert!(y.excluded("bcd"));
        assert!(!y.excluded("abc"));
    }

    #[test]
    fn go_clean() {
        assert_eq!(clean("a/./b/../c/"), "a/c");
        assert_eq!(clean("/../x"), "/x");
        assert_eq!(clean("../x"), "../x");
        assert_eq!(clean(""), ".");
    }

    #[test]
    fn many_stars_do_not_backtrack_exponentially() {
        // The fuzzer's timeout: a pattern of dozens of `*` against a long path.
        let pat = format!("b/{}d/{}x\n", "*".repeat(40), "**/".repeat(20));
        let path = format!("b/{}/c", "bc/".repeat(200));
        let t = std::time::Instant::now();
        let m = m(&pat);
        assert!(!m.excluded(&path));
        assert!(m.excluded("b/d/x"));
        assert!(t.elapsed() < std::time::Duration::from_secs(2));
    }
}
