//! Variable expansion in instruction arguments, as BuildKit's `shell.Lex` does it:
//! `$VAR`, `${VAR}`, `${VAR:-x}`, `${VAR-x}`, `${VAR:+x}`, `${VAR+x}`, `${VAR:?x}`,
//! `${VAR?x}`, `${VAR#p}` `${VAR##p}` `${VAR%p}` `${VAR%%p}`, `${VAR/p/r}`; single quotes
//! literal, double quotes expand, the escape character quotes the next one. Unset variables
//! expand to nothing. Unquoted expansions split into words (for `process_words`).

use std::collections::HashSet;

/// Variables visible to one instruction, with a lookup that records which were used
/// (the build cache and the unused-build-arg warning need that).
pub trait Env {
    fn var(&self, name: &str) -> Option<String>;
}

impl Env for [(String, String)] {
    fn var(&self, name: &str) -> Option<String> {
        // Later definitions win.
        self.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
    }
}

impl Env for Vec<(String, String)> {
    fn var(&self, name: &str) -> Option<String> {
        self.as_slice().var(name)
    }
}

struct Lexer<'a> {
    chars: Vec<char>,
    pos: usize,
    escape: char,
    env: &'a dyn Env,
    used: HashSet<String>,
}

/// Words under construction: `split` separates on unquoted whitespace.
#[derive(Default)]
struct Words {
    words: Vec<String>,
    cur: String,
    in_word: bool,
}

impl Words {
    fn add_char(&mut self, c: char) {
        if c.is_whitespace() {
            if self.in_word {
                self.words.push(std::mem::take(&mut self.cur));
                self.in_word = false;
            }
        } else {
            self.add_raw_char(c);
        }
    }
    fn add_raw_char(&mut self, c: char) {
        self.cur.push(c);
        self.in_word = true;
    }
    fn add_string(&mut self, s: &str) {
        s.chars().for_each(|c| self.add_char(c));
    }
    fn add_raw_string(&mut self, s: &str) {
        self.cur.push_str(s);
        self.in_word = true;
    }
    fn finish(mut self) -> Vec<String> {
        if self.in_word {
            self.words.push(std::mem::take(&mut self.cur));
        }
        self.words
    }
}

/// An expansion error, in BuildKit's words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpandError(pub String);

impl std::fmt::Display for ExpandError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

type R<T> = Result<T, ExpandError>;

impl Lexer<'_> {
    fn peek(&self) -> Option<char> {
        self.chars.get(self.pos).copied()
    }
    fn next(&mut self) -> Option<char> {
        let c = self.peek();
        if c.is_some() {
            self.pos += 1;
        }
        c
    }

    /// Processes until `stop` (consumed) or the end; returns the text and its words.
    fn process_until(&mut self, stop: Option<char>) -> R<(String, Vec<String>)> {
        let mut result = String::new();
        let mut words = Words::default();
        while let Some(c) = self.peek() {
            if Some(c) == stop {
                self.next();
                return Ok((result, words.finish()));
            }
            match c {
                '\'' => {
                    let s = self.single_quote()?;
                    result.push_str(&s);
                    words.add_raw_string(&s);
                }
                '"' => {
                    let s = self.double_quote()?;
                    result.push_str(&s);
                    words.add_raw_string(&s);
                }
                '$' => {
                    let s = self.dollar()?;
                    result.push_str(&s);
                    words.add_string(&s);
                }
                _ => {
                    self.next();
                    if c == self.escape {
                        match self.next() {
                            Some(n) => {
                                result.push(n);
                                words.add_raw_char(n);
                            }
                            // A trailing escape stays as it is.
                            None => {
                                result.push(c);
                                words.add_raw_char(c);
                            }
                        }
                    } else {
                        result.push(c);
                        words.add_char(c);
                    }
                }
            }
        }
        if let Some(s) = stop {
            return Err(ExpandError(format!(
                "unexpected end of statement while looking for matching {}",
                if s == '}' { "}" } else { "quote" }
            )));
        }
        Ok((result, words.finish()))
    }

    fn single_quote(&mut self) -> R<String> {
        self.next();
        let mut s = String::new();
        loop {
            match self.next() {
                Some('\'') => return Ok(s),
                Some(c) => s.push(c),
                None => {
                    return Err(ExpandError(
                        "unexpected end of statement while looking for matching single-quote"
                            .into(),
                    ))
                }
            }
        }
    }

    fn double_quote(&mut self) -> R<String> {
        self.next();
        let mut s = String::new();
        loop {
            match self.peek() {
                None => {
                    return Err(ExpandError(
                        "unexpected end of statement while looking for matching double-quote"
                            .into(),
                    ))
                }
                Some('"') => {
                    self.next();
                    return Ok(s);
                }
                Some('$') => s.push_str(&self.dollar()?),
                Some(c) => {
                    self.next();
                    if c == self.escape {
                        match self.next() {
                            Some(n @ ('"' | '$')) => s.push(n),
                            Some(n) if n == self.escape => s.push(n),
                            Some(n) => {
                                s.push(c);
                                s.push(n);
                            }
                            None => s.push(c),
                        }
                    } else {
                        s.push(c);
                    }
                }
            }
        }
    }

    fn name(&mut self) -> String {
        let mut n = String::new();
        // Positional and special parameters are single characters.
        if let Some(c) = self.peek() {
            if c.is_ascii_digit() || "*#@!?-$".contains(c) {
                self.next();
                n.push(c);
                return n;
            }
        }
        while let Some(c) = self.peek() {
            if c.is_ascii_alphanumeric() || c == '_' {
                n.push(c);
                self.next();
            } else {
                break;
            }
        }
        n
    }

    fn lookup(&mut self, name: &str) -> Option<String> {
        self.used.insert(name.to_string());
        self.env.var(name)
    }

    fn dollar(&mut self) -> R<String> {
        self.next();
        match self.peek() {
            Some('{') => {
                self.next();
                let name = self.name();
                if name.is_empty() {
                    return Err(ExpandError("bad substitution".into()));
                }
                let value = self.lookup(&name);
                match self.next() {
                    Some('}') => Ok(value.unwrap_or_default()),
                    Some(':') => {
                        let op = self.next();
                        let (word, _) = self.process_until(Some('}'))?;
                        let set = value.as_deref().is_some_and(|v| !v.is_empty());
                        self.modifier(&name, op, &word, value, set)
                    }
                    Some(op @ ('-' | '+' | '?')) => {
                        let (word, _) = self.process_until(Some('}'))?;
                        let set = value.is_some();
                        self.modifier(&name, Some(op), &word, value, set)
                    }
                    Some(op @ ('#' | '%')) => {
                        let greedy = self.peek() == Some(op);
                        if greedy {
                            self.next();
                        }
                        let (pat, _) = self.process_until(Some('}'))?;
                        let v = value.unwrap_or_default();
                        Ok(trim_pattern(&v, &pat, op == '#', greedy))
                    }
                    Some('/') => {
                        let all = self.peek() == Some('/');
                        if all {
                            self.next();
                        }
                        let (pat, _) = self.process_until(Some('/'))?;
                        let (rep, _) = self.process_until(Some('}'))?;
                        let v = value.unwrap_or_default();
                        Ok(replace_pattern(&v, &pat, &rep, all))
                    }
                    Some(c) => Err(ExpandError(format!(
                        "unsupported modifier ({c}) in substitution"
                    ))),
                    None => Err(ExpandError("missing '}'".into())),
                }
            }
            Some(c) if c.is_ascii_alphanumeric() || c == '_' || "*#@!?-$".contains(c) => {
                let name = self.name();
                Ok(self.lookup(&name).unwrap_or_default())
            }
            _ => Ok("$".to_string()),
        }
    }

    fn modifier(
        &self,
        name: &str,
        op: Option<char>,
        word: &str,
        value: Option<String>,
        set: bool,
    ) -> R<String> {
        match op {
            Some('-') => Ok(if set {
                value.unwrap_or_default()
            } else {
                word.to_string()
            }),
            Some('+') => Ok(if set { word.to_string() } else { String::new() }),
            Some('?') => {
                if set {
                    Ok(value.unwrap_or_default())
                } else if word.is_empty() {
                    Err(ExpandError(format!("{name}: is not allowed to be unset")))
                } else {
                    Err(ExpandError(format!("{name}: {word}")))
                }
            }
            Some(c) => Err(ExpandError(format!(
                "unsupported modifier ({c}) in substitution"
            ))),
            None => Err(ExpandError("missing '}'".into())),
        }
    }
}

/// Shell glob (`*`, `?`, `[...]`) match of a whole string.
pub(crate) fn glob_match(pat: &[char], s: &[char]) -> bool {
    match pat.first() {
        None => s.is_empty(),
        Some('*') => (0..=s.len()).any(|i| glob_match(&pat[1..], &s[i..])),
        Some('?') => !s.is_empty() && glob_match(&pat[1..], &s[1..]),
        Some('[') => match (class_match(&pat[1..], s.first().copied()), s.is_empty()) {
            (Some((true, used)), false) => glob_match(&pat[1 + used..], &s[1..]),
            (None, false) => s[0] == '[' && glob_match(&pat[1..], &s[1..]),
            _ => false,
        },
        Some('\\') if pat.len() > 1 => {
            !s.is_empty() && s[0] == pat[1] && glob_match(&pat[2..], &s[1..])
        }
        Some(c) => !s.is_empty() && s[0] == *c && glob_match(&pat[1..], &s[1..]),
    }
}

/// Matches a `[...]` class (after the `[`): Some((matched, chars consumed incl. `]`)),
/// None when the class is not terminated (then `[` is literal).
pub(crate) fn class_match(pat: &[char], c: Option<char>) -> Option<(bool, usize)> {
    let mut i = 0;
    let negate = matches!(pat.first(), Some('!' | '^'));
    if negate {
        i += 1;
    }
    let mut matched = false;
    let mut first = true;
    while i < pat.len() {
        let p = pat[i];
        if p == ']' && !first {
            return Some((matched != negate, i + 1));
        }
        first = false;
        let (lo, adv) = if p == '\\' && i + 1 < pat.len() {
            (pat[i + 1], 2)
        } else {
            (p, 1)
        };
        i += adv;
        if i + 1 < pat.len() && pat[i] == '-' && pat[i + 1] != ']' {
            let hi = pat[i + 1];
            i += 2;
            if c.is_some_and(|c| lo <= c && c <= hi) {
                matched = true;
            }
        } else if c == Some(lo) {
            matched = true;
        }
    }
    None
}

fn trim_pattern(v: &str, pat: &str, prefix: bool, greedy: bool) -> String {
    let p: Vec<char> = pat.chars().collect();
    let s: Vec<char> = v.chars().collect();
    let n = s.len();
    let cuts: Vec<usize> = if greedy {
        (0..=n).rev().collect()
    } else {
        (0..=n).collect()
    };
    for k in cuts {
        if prefix && glob_match(&p, &s[..k]) {
            return s[k..].iter().collect();
        }
        if !prefix && glob_match(&p, &s[n - k..]) {
            return s[..n - k].iter().collect();
        }
    }
    v.to_string()
}

fn replace_pattern(v: &str, pat: &str, rep: &str, all: bool) -> String {
    let p: Vec<char> = pat.chars().collect();
    let s: Vec<char> = v.chars().collect();
    if p.is_empty() {
        return v.to_string();
    }
    let mut out = String::new();
    let mut i = 0;
    let mut done = false;
    while i < s.len() {
        if !done {
            // Longest match starting at i.
            if let Some(end) = (i + 1..=s.len()).rev().find(|&e| glob_match(&p, &s[i..e])) {
                out.push_str(rep);
                i = end;
                done = !all;
                continue;
            }
        }
        out.push(s[i]);
        i += 1;
    }
    out
}

/// Expands `word` as one word (quotes removed, whitespace kept); also returns the names used.
pub fn process_word_used(
    word: &str,
    env: &dyn Env,
    escape: char,
) -> Result<(String, HashSet<String>), ExpandError> {
    let mut lx = Lexer {
        chars: word.chars().collect(),
        pos: 0,
        escape,
        env,
        used: HashSet::new(),
    };
    let (s, _) = lx.process_until(None)?;
    Ok((s, lx.used))
}

/// Expands `word` as one word (quotes removed, whitespace kept).
pub fn process_word(word: &str, env: &dyn Env, escape: char) -> Result<String, ExpandError> {
    process_word_used(word, env, escape).map(|(s, _)| s)
}

/// Expands and splits into words on unquoted whitespace (EXPOSE, VOLUME, shell-form lists).
pub fn process_words(word: &str, env: &dyn Env, escape: char) -> Result<Vec<String>, ExpandError> {
    let mut lx = Lexer {
        chars: word.chars().collect(),
        pos: 0,
        escape,
        env,
        used: HashSet::new(),
    };
    lx.process_until(None).map(|(_, w)| w)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env() -> Vec<(String, String)> {
        [
            ("A", "apple"),
            ("E", ""),
            ("P", "/usr/local/bin"),
            ("S", "a b"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    fn w(s: &str) -> String {
        process_word(s, &env(), '\\').expect(s)
    }

    #[test]
    fn plain_and_braced() {
        assert_eq!(w("$A"), "apple");
        assert_eq!(w("${A}s"), "apples");
        assert_eq!(w("x$NOPE.y"), "x.y");
        assert_eq!(w("$"), "$");
        assert_eq!(w("a$ b"), "a$ b");
    }

    #[test]
    fn default_and_alternative() {
        assert_eq!(w("${NOPE:-dflt}"), "dflt");
        assert_eq!(w("${E:-dflt}"), "dflt");
        assert_eq!(w("${E-dflt}"), "");
        assert_eq!(w("${A:-dflt}"), "apple");
        assert_eq!(w("${A:+alt}"), "alt");
        assert_eq!(w("${E:+alt}"), "");
        assert_eq!(w("${E+alt}"), "alt");
        assert_eq!(w("${NOPE+alt}"), "");
        assert_eq!(w("${NOPE:-${A}x}"), "applex");
    }

    #[test]
    fn required() {
        let e = process_word("${NOPE:?need it}", &env(), '\\').unwrap_err();
        assert_eq!(e.0, "NOPE: need it");
        let e = process_word("${E:?}", &env(), '\\').unwrap_err();
        assert_eq!(e.0, "E: is not allowed to be unset");
        assert_eq!(w("${A:?x}"), "apple");
    }

    #[test]
    fn patterns() {
        assert_eq!(w("${P#*/}"), "usr/local/bin");
        assert_eq!(w("${P##*/}"), "bin");
        assert_eq!(w("${P%/*}"), "/usr/local");
        assert_eq!(w("${P%%/l*}"), "/usr");
        assert_eq!(w("${A/p/P}"), "aPple");
        assert_eq!(w("${A//p/P}"), "aPPle");
    }

    #[test]
    fn quotes_and_escapes() {
        assert_eq!(w("'$A'"), "$A");
        assert_eq!(w("\"$A b\""), "apple b");
        assert_eq!(w("\\$A"), "$A");
        assert_eq!(w("\"\\$A\""), "$A");
        assert_eq!(w("\"a\\nb\""), "a\\nb");
        assert_eq!(process_word("`$A", &env(), '`').unwrap(), "$A");
        assert!(process_word("'open", &env(), '\\').is_err());
        assert!(process_word("\"open", &env(), '\\').is_err());
        assert!(process_word("${A", &env(), '\\').is_err());
        assert!(process_word("${}", &env(), '\\').is_err());
    }

    #[test]
    fn words_split_unquoted_expansions() {
        assert_eq!(
            process_words("x $S \"$S\" 'c d'", &env(), '\\').unwrap(),
            vec!["x", "a", "b", "a b", "c d"]
        );
        assert_eq!(
            process_words("80/tcp  443", &env(), '\\').unwrap(),
            vec!["80/tcp", "443"]
        );
    }

    #[test]
    fn records_used_names() {
        let (_, used) = process_word_used("$A ${B:-x} $$", &env(), '\\').unwrap();
        assert!(used.contains("A") && used.contains("B"));
    }
}
