//! `.env` files (and `env_file:`): `KEY=value` lines, `export` prefixes, comments, single
//! quotes (literal), double quotes (escapes, interpolation), unquoted values (trimmed,
//! ` #` comments, interpolation), a bare `KEY` taking the caller's value.

use crate::interpolate::{substitute, TemplateError};
use indexmap::IndexMap;

/// Parses `text`; `outer` supplies variables not (yet) defined in the file.
pub fn parse(
    text: &str,
    outer: &dyn Fn(&str) -> Option<String>,
) -> Result<IndexMap<String, String>, String> {
    let mut vars: IndexMap<String, String> = IndexMap::new();
    let mut rest = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut lineno = 0;
    while !rest.is_empty() {
        lineno += 1;
        let (line, after) = match rest.find('\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, ""),
        };
        rest = after;
        let l = line.trim();
        if l.is_empty() || l.starts_with('#') {
            continue;
        }
        let l = l.strip_prefix("export ").map(str::trim_start).unwrap_or(l);
        let sep = l.find(['=', ':']);
        let (key, val) = match sep {
            Some(i) => (l[..i].trim(), l[i + 1..].trim_start()),
            None => {
                let key = l;
                if let Some(v) = outer(key) {
                    vars.insert(key.to_string(), v);
                }
                continue;
            }
        };
        if key.is_empty() || key.contains(char::is_whitespace) {
            return Err(format!(
                "line {lineno}: unexpected character in variable name {key:?}"
            ));
        }
        let lookup = |k: &str| vars.get(k).cloned().or_else(|| outer(k));
        let value = if let Some(q) = val.strip_prefix('\'') {
            // Single quotes: literal, may span lines.
            let (body, consumed) = quoted(q, rest, '\'')
                .ok_or_else(|| format!("line {lineno}: unterminated quoted value"))?;
            rest = consumed;
            body
        } else if let Some(q) = val.strip_prefix('"') {
            let (body, consumed) = quoted(q, rest, '"')
                .ok_or_else(|| format!("line {lineno}: unterminated quoted value"))?;
            rest = consumed;
            let unescaped = unescape(&body);
            substitute(&unescaped, &lookup, &mut |_| {})
                .map_err(|e: TemplateError| e.to_string())?
        } else {
            let v = match val.find(" #") {
                Some(i) => &val[..i],
                None => val,
            };
            substitute(v.trim(), &lookup, &mut |_| {}).map_err(|e| e.to_string())?
        };
        vars.insert(key.to_string(), value);
    }
    Ok(vars)
}

/// The body of a quoted value starting after its opening quote in `first` (the rest of
/// the line), continuing over `more` lines; returns the body and the unconsumed text.
fn quoted<'a>(first: &str, more: &'a str, q: char) -> Option<(String, &'a str)> {
    let find_end = |s: &str| -> Option<usize> {
        let mut esc = false;
        for (i, c) in s.char_indices() {
            if q == '"' && c == '\\' && !esc {
                esc = true;
                continue;
            }
            if c == q && !esc {
                return Some(i);
            }
            esc = false;
        }
        None
    };
    if let Some(i) = find_end(first) {
        return Some((first[..i].to_string(), more));
    }
    let mut body = first.to_string();
    let mut rest = more;
    while !rest.is_empty() {
        let (line, after) = match rest.find('\n') {
            Some(i) => (&rest[..i], &rest[i + 1..]),
            None => (rest, ""),
        };
        body.push('\n');
        if let Some(i) = find_end(line) {
            body.push_str(&line[..i]);
            return Some((body, after));
        }
        body.push_str(line);
        rest = after;
    }
    None
}

fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('"') => out.push('"'),
            Some('\\') => out.push('\\'),
            Some('$') => out.push_str("$$"),
            Some(o) => {
                out.push('\\');
                out.push(o);
            }
            None => out.push('\\'),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let outer = |k: &str| (k == "HOME").then(|| "/root".to_string());
        let text = "# c\nexport A=1\nB = two words # comment\nC='lit $A'\nD=\"q $A\\n\"\nE=${A}x\nHOME\nNOPE\nF=\"multi\nline\"\n";
        let v = parse(text, &outer).unwrap();
        assert_eq!(v["A"], "1");
        assert_eq!(v["B"], "two words");
        assert_eq!(v["C"], "lit $A");
        assert_eq!(v["D"], "q 1\n");
        assert_eq!(v["E"], "1x");
        assert_eq!(v["HOME"], "/root");
        assert!(!v.contains_key("NOPE"));
        assert_eq!(v["F"], "multi\nline");
    }
}
