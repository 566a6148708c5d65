//! Prints a model as `docker compose config` does: YAML as Go's yaml.v3 encoder writes it
//! (two-space indent, its quoting rules), or JSON as Go's `json.MarshalIndent` writes it.
//!
//! The input is a `serde_norway::Value` made from the typed model (mappings keep the
//! model's field order, which follows compose-go's struct order).

use serde_norway::Value;

/// YAML text of `v` (a mapping at the top), ending with a newline.
pub fn to_yaml(v: &Value) -> String {
    let mut out = String::new();
    match v {
        Value::Mapping(m) if !m.is_empty() => block_mapping(&mut out, m, 0),
        other => {
            inline(&mut out, other, 0);
            out.push('\n');
        }
    }
    out
}

fn pad(out: &mut String, n: usize) {
    for _ in 0..n {
        out.push(' ');
    }
}

fn key_text(k: &Value) -> String {
    match k {
        Value::String(s) => scalar(s, 0),
        Value::Number(n) => n.to_string(),
        Value::Bool(b) => b.to_string(),
        _ => "null".into(),
    }
}

/// yaml.v3's keyList.Less for two string keys: letters by code point, a letter after a
/// non-letter (before it after a digit), runs of digits by their value.
fn yaml_key_less(a: &str, b: &str) -> bool {
    let (ar, br): (Vec<char>, Vec<char>) = (a.chars().collect(), b.chars().collect());
    let mut digits = false;
    for i in 0..ar.len().min(br.len()) {
        if ar[i] == br[i] {
            digits = ar[i].is_ascii_digit();
            continue;
        }
        let (al, bl) = (ar[i].is_alphabetic(), br[i].is_alphabetic());
        if al && bl {
            return ar[i] < br[i];
        }
        if al || bl {
            return if digits { al } else { bl };
        }
        let (mut an, mut bn) = (0i64, 0i64);
        if ar[i] == '0' || br[i] == '0' {
            for j in (0..i).rev() {
                if !ar[j].is_ascii_digit() {
                    break;
                }
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let run = |r: &[char], n: &mut i64| {
            let mut k = i;
            while k < r.len() && r[k].is_ascii_digit() {
                *n = n
                    .wrapping_mul(10)
                    .wrapping_add(i64::from(r[k] as u8 - b'0'));
                k += 1;
            }
            k
        };
        let (ai, bi) = (run(&ar, &mut an), run(&br, &mut bn));
        if an != bn {
            return an < bn;
        }
        if ai != bi {
            return ai < bi;
        }
        return ar[i] < br[i];
    }
    ar.len() < br.len()
}

/// The entries of `m` in the order yaml.v3 prints them. A mapping whose string keys are in
/// byte order came from a Go map (sorted): yaml.v3 sorts those by [`yaml_key_less`]. Other
/// mappings are structs, kept in field order. (Field names are lower-case words, where
/// both orders agree, so a struct that happens to be sorted is not reordered.)
fn ordered(m: &serde_norway::Mapping) -> Vec<(&Value, &Value)> {
    let mut entries: Vec<(&Value, &Value)> = m.iter().collect();
    let keys: Option<Vec<&str>> = entries.iter().map(|(k, _)| k.as_str()).collect();
    let Some(keys) = keys else {
        return entries;
    };
    if !keys.windows(2).all(|w| w[0] <= w[1]) {
        return entries;
    }
    // An insertion sort: yaml_key_less is not always a total order, which sort_by
    // may reject; maps here are small.
    for i in 1..entries.len() {
        let mut j = i;
        while j > 0 {
            let (a, b) = (entries[j - 1].0.as_str(), entries[j].0.as_str());
            match (a, b) {
                (Some(a), Some(b)) if yaml_key_less(b, a) => entries.swap(j - 1, j),
                _ => break,
            }
            j -= 1;
        }
    }
    entries
}

/// True when libyaml cannot write `k` as a simple key (`k: v`): it spans lines or is
/// longer than 128 bytes; it is then written `? k` / `: v`.
fn complex_key(k: &Value) -> bool {
    match k {
        Value::String(s) => s.len() > 128 || s.contains(['\n', '\u{85}', '\u{2028}', '\u{2029}']),
        _ => false,
    }
}

fn block_mapping(out: &mut String, m: &serde_norway::Mapping, indent: usize) {
    for (k, v) in ordered(m) {
        pad(out, indent);
        match k {
            Value::String(s) if complex_key(k) => {
                out.push_str("? ");
                out.push_str(&scalar(s, indent + 2));
                out.push('\n');
                pad(out, indent);
            }
            _ => out.push_str(&key_text(k)),
        }
        out.push(':');
        match v {
            Value::Mapping(c) if !c.is_empty() => {
                out.push('\n');
                block_mapping(out, c, indent + 2);
            }
            Value::Sequence(s) if !s.is_empty() => {
                out.push('\n');
                block_sequence(out, s, indent + 2);
            }
            other => {
                out.push(' ');
                inline(out, other, indent + 2);
                out.push('\n');
            }
        }
    }
}

fn block_sequence(out: &mut String, s: &[Value], indent: usize) {
    for v in s {
        pad(out, indent);
        out.push_str("- ");
        match v {
            Value::Mapping(c) if !c.is_empty() => {
                // The first key goes on the dash line, the others under it.
                let mut first = String::new();
                block_mapping(&mut first, c, indent + 2);
                out.push_str(first.trim_start_matches(' '));
            }
            Value::Sequence(c) if !c.is_empty() => {
                let mut inner = String::new();
                block_sequence(&mut inner, c, indent + 2);
                out.push_str(inner.trim_start_matches(' '));
            }
            other => {
                inline(out, other, indent + 2);
                out.push('\n');
            }
        }
    }
}

/// A value that fits after `key: ` or `- ` (scalars, empty collections, literal blocks).
fn inline(out: &mut String, v: &Value, indent: usize) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number(n)),
        Value::String(s) => out.push_str(&scalar(s, indent)),
        Value::Sequence(_) => out.push_str("[]"),
        Value::Mapping(_) => out.push_str("{}"),
        Value::Tagged(t) => inline(out, &t.value, indent),
    }
}

fn number(n: &serde_norway::Number) -> String {
    if let Some(i) = n.as_i64() {
        return i.to_string();
    }
    if let Some(u) = n.as_u64() {
        return u.to_string();
    }
    go_float(n.as_f64().unwrap_or(0.0))
}

/// Go's `strconv.FormatFloat(f, 'g', -1, 64)` for the values a compose file holds.
pub fn go_float(f: f64) -> String {
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        };
    }
    let exp = if f == 0.0 {
        0
    } else {
        f.abs().log10().floor() as i32
    };
    if (-4..21).contains(&exp) {
        let s = format!("{f}");
        s
    } else {
        let s = format!("{f:e}");
        // Rust writes 1e21, Go 1e+21.
        match s.split_once('e') {
            Some((m, e)) if !e.starts_with('-') => format!("{m}e+{e:0>2}"),
            Some((m, e)) => format!("{m}e-{:0>2}", &e[1..]),
            None => s,
        }
    }
}

/// A string scalar as yaml.v3 writes it: plain when it reads back as the same string,
/// double-quoted when it would read as another type, single-quoted when plain style is
/// not allowed, a literal block when it has line breaks.
pub fn scalar(s: &str, indent: usize) -> String {
    // yaml.v3 (libyaml) writes no block scalar where a space ends a line.
    let space_break = s.contains(" \n") || s.ends_with(' ');
    if s.contains('\n') {
        // yaml.v3 writes tabs inside a literal block (not in other plain or quoted forms).
        if !space_break && s.chars().all(|c| c == '\n' || c == '\t' || printable(c)) {
            return literal(s, indent);
        }
        return double_quoted(s);
    }
    if resolves_non_string(s) || s.chars().any(|c| !printable(c)) {
        return double_quoted(s);
    }
    if s.contains(['\u{2028}', '\u{2029}']) {
        return with_line_separators(s, indent);
    }
    if plain_allowed(s) {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', "''"))
}

/// A string holding U+2028/U+2029 (line breaks for libyaml) and no `\n`: no plain style;
/// double-quoted when a space touches a break, else single-quoted as go-yaml's
/// write_single_quoted writes it: each break as it is, then the indent before the next
/// character.
fn with_line_separators(s: &str, indent: usize) -> String {
    let is_break = |c: char| matches!(c, '\u{2028}' | '\u{2029}');
    let chars: Vec<char> = s.chars().collect();
    let touches = chars
        .windows(2)
        .any(|w| (w[0] == ' ' && is_break(w[1])) || (is_break(w[0]) && w[1] == ' '));
    if touches {
        return double_quoted(s);
    }
    let mut out = String::from("'");
    let mut breaks = false;
    for c in chars {
        if is_break(c) {
            out.push(c);
            breaks = true;
            continue;
        }
        if breaks {
            pad(&mut out, indent);
            breaks = false;
        }
        if c == '\'' {
            out.push('\'');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

fn literal(s: &str, indent: usize) -> String {
    let chomp = if !s.ends_with('\n') {
        "-"
    } else if s.ends_with("\n\n") {
        "+"
    } else {
        ""
    };
    let lead = if s.starts_with(' ') { "2" } else { "" };
    let mut out = format!("|{lead}{chomp}");
    let body = s.strip_suffix('\n').unwrap_or(s);
    for line in body.split('\n') {
        out.push('\n');
        if !line.is_empty() {
            pad(&mut out, indent);
            // U+2028/U+2029 are breaks for libyaml: written as they are, then the indent.
            let mut brk = false;
            for c in line.chars() {
                if matches!(c, '\u{2028}' | '\u{2029}') {
                    brk = true;
                } else if brk {
                    pad(&mut out, indent);
                    brk = false;
                }
                out.push(c);
            }
        }
    }
    out
}

/// go-yaml's is_printable (narrower than libyaml's: neither NEL nor the characters beyond
/// the BMP, which it writes escaped).
fn printable(c: char) -> bool {
    matches!(c, '\n' | '\u{20}'..='\u{7e}' | '\u{a0}'..='\u{d7ff}' | '\u{e000}'..='\u{fffd}')
        && c != '\u{feff}'
}

fn double_quoted(s: &str) -> String {
    let mut o = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\t' => o.push_str("\\t"),
            '\r' => o.push_str("\\r"),
            '\0' => o.push_str("\\0"),
            // libyaml's short escapes (go-yaml's emitter writes these, not \xNN).
            '\u{07}' => o.push_str("\\a"),
            '\u{08}' => o.push_str("\\b"),
            '\u{0b}' => o.push_str("\\v"),
            '\u{0c}' => o.push_str("\\f"),
            '\u{1b}' => o.push_str("\\e"),
            '\u{85}' => o.push_str("\\N"),
            '\u{2028}' => o.push_str("\\L"),
            '\u{2029}' => o.push_str("\\P"),
            c if !printable(c) => {
                let n = c as u32;
                if n <= 0xff {
                    o.push_str(&format!("\\x{n:02X}"));
                } else if n <= 0xffff {
                    o.push_str(&format!("\\u{n:04X}"));
                } else {
                    o.push_str(&format!("\\U{n:08X}"));
                }
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

/// libyaml's analysis of whether a block-context plain scalar is allowed.
fn plain_allowed(s: &str) -> bool {
    if s.is_empty() || s.starts_with(' ') || s.ends_with(' ') {
        return false;
    }
    if s.starts_with("---") || s.starts_with("...") {
        return false;
    }
    let b = s.as_bytes();
    let first = b[0];
    let next_is_blank = |i: usize| b.get(i + 1).is_none_or(|c| *c == b' ' || *c == b'\t');
    if matches!(
        first,
        b'#' | b','
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'&'
            | b'*'
            | b'!'
            | b'|'
            | b'>'
            | b'\''
            | b'"'
            | b'%'
            | b'@'
            | b'`'
    ) {
        return false;
    }
    if matches!(first, b'-' | b'?' | b':') && next_is_blank(0) {
        return false;
    }
    for i in 0..b.len() {
        match b[i] {
            b':' if next_is_blank(i) => return false,
            b'#' if i > 0 && (b[i - 1] == b' ' || b[i - 1] == b'\t') => return false,
            _ => {}
        }
    }
    true
}

/// True when yaml.v3 would read the plain scalar `s` as something other than a string.
pub fn resolves_non_string(s: &str) -> bool {
    const WORDS: &[&str] = &[
        "", "~", "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE", "y",
        "Y", "yes", "Yes", "YES", "n", "N", "no", "No", "NO", "on", "On", "ON", "off", "Off",
        "OFF", ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF", "-.inf", "-.Inf", "-.INF",
        ".nan", ".NaN", ".NAN",
    ];
    if WORDS.contains(&s) {
        return true;
    }
    yaml_number(s) || base60(s) || timestamp(s)
}

/// yaml.v3's resolve for numbers: after a `.` the text must parse as a Go float; after a
/// digit or sign every `_` is dropped first, then an int (base prefixes) or a YAML float.
fn yaml_number(s: &str) -> bool {
    match s.as_bytes().first() {
        Some(b'.') => yaml_float(s),
        Some(c) if c.is_ascii_digit() || *c == b'+' || *c == b'-' => {
            let plain = s.replace('_', "");
            go_int(&plain) || yaml_float(&plain)
        }
        _ => false,
    }
}

/// Go's `strconv.ParseInt(s, 0, 64)` syntax (sign, 0x/0o/0b/0 prefixes, underscores).
fn go_int(s: &str) -> bool {
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if body.is_empty() {
        return false;
    }
    let (digits, radix, prefixed) =
        if let Some(r) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
            (r, 16, true)
        } else if let Some(r) = body.strip_prefix("0o").or_else(|| body.strip_prefix("0O")) {
            (r, 8, true)
        } else if let Some(r) = body.strip_prefix("0b").or_else(|| body.strip_prefix("0B")) {
            (r, 2, true)
        } else if body.len() > 1 && body.starts_with('0') {
            (&body[1..], 8, true)
        } else {
            (body, 10, false)
        };
    if digits.is_empty() {
        return false;
    }
    // Underscores only between digits (or after a base prefix).
    let clean: String = digits.chars().filter(|c| *c != '_').collect();
    if clean.is_empty() || digits.ends_with('_') || digits.contains("__") {
        return false;
    }
    if digits.starts_with('_') && !prefixed {
        return false;
    }
    if radix == 10 && s.contains('_') && !prefixed {
        // base 0 accepts underscores in decimal too
    }
    i64::from_str_radix(&clean, radix).is_ok() || u64::from_str_radix(&clean, radix).is_ok()
}

fn yaml_float(s: &str) -> bool {
    // ^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$
    let b = s.strip_prefix(['+', '-']).unwrap_or(s).as_bytes();
    let mut i = 0;
    let digits = |i: &mut usize| {
        let st = *i;
        while *i < b.len() && b[*i].is_ascii_digit() {
            *i += 1;
        }
        *i - st
    };
    if b.first() == Some(&b'.') {
        i = 1;
        if digits(&mut i) == 0 {
            return false;
        }
    } else {
        if digits(&mut i) == 0 {
            return false;
        }
        if b.get(i) == Some(&b'.') {
            i += 1;
            digits(&mut i);
        }
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return false;
        }
    }
    i == b.len()
}

fn base60(s: &str) -> bool {
    // ^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    let (main, frac) = match body.split_once('.') {
        Some((m, f)) => (m, Some(f)),
        None => (body, None),
    };
    if let Some(f) = frac {
        if !f.chars().all(|c| c.is_ascii_digit() || c == '_') {
            return false;
        }
    }
    let mut parts = main.split(':');
    let Some(head) = parts.next() else {
        return false;
    };
    if !head.starts_with(|c: char| c.is_ascii_digit())
        || !head.chars().all(|c| c.is_ascii_digit() || c == '_')
    {
        return false;
    }
    let mut n = 0;
    for p in parts {
        n += 1;
        let ok = match p.len() {
            1 => p.as_bytes()[0].is_ascii_digit(),
            2 => (b'0'..=b'5').contains(&p.as_bytes()[0]) && p.as_bytes()[1].is_ascii_digit(),
            _ => false,
        };
        if !ok {
            return false;
        }
    }
    n > 0
}

fn timestamp(s: &str) -> bool {
    // yaml.v3 tries 2006-1-2 (and with a time after T, t or space) on strings that start
    // with a digit.
    let b = s.as_bytes();
    let mut i = 0;
    let num = |i: &mut usize, min: usize, max: usize| {
        let st = *i;
        while *i < b.len() && b[*i].is_ascii_digit() && *i - st < max {
            *i += 1;
        }
        (*i - st) >= min
    };
    if !num(&mut i, 4, 4) || b.get(i) != Some(&b'-') {
        return false;
    }
    i += 1;
    if !num(&mut i, 1, 2) || b.get(i) != Some(&b'-') {
        return false;
    }
    i += 1;
    if !num(&mut i, 1, 2) {
        return false;
    }
    if i == b.len() {
        return true;
    }
    if !matches!(b[i], b'T' | b't' | b' ') {
        return false;
    }
    i += 1;
    num(&mut i, 1, 2)
        && b.get(i) == Some(&b':')
        && {
            i += 1;
            num(&mut i, 1, 2)
        }
        && b.get(i) == Some(&b':')
        && {
            i += 1;
            num(&mut i, 1, 2)
        }
}

/// JSON text of `v` as Go's `json.MarshalIndent(v, "", "  ")` writes it (HTML-safe escapes).
pub fn to_json(v: &Value) -> String {
    let mut out = String::new();
    json(&mut out, v, 0);
    out
}

fn json(out: &mut String, v: &Value, indent: usize) {
    match v {
        Value::Null => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Number(n) => out.push_str(&number(n)),
        Value::String(s) => json_string(out, s),
        Value::Sequence(s) if s.is_empty() => out.push_str("[]"),
        Value::Sequence(s) => {
            out.push_str("[\n");
            for (i, x) in s.iter().enumerate() {
                pad(out, indent + 2);
                json(out, x, indent + 2);
                if i + 1 < s.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            pad(out, indent);
            out.push(']');
        }
        Value::Mapping(m) if m.is_empty() => out.push_str("{}"),
        Value::Mapping(m) => {
            out.push_str("{\n");
            for (i, (k, x)) in m.iter().enumerate() {
                pad(out, indent + 2);
                let key = match k {
                    Value::String(s) => s.clone(),
                    other => key_text(other),
                };
                json_string(out, &key);
                out.push_str(": ");
                json(out, x, indent + 2);
                if i + 1 < m.len() {
                    out.push(',');
                }
                out.push('\n');
            }
            pad(out, indent);
            out.push('}');
        }
        Value::Tagged(t) => json(out, &t.value, indent),
    }
}

pub fn json_string(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            // Go 1.22+ encoding/json's short forms.
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                out.push_str(&format!("\\u{:04x}", c as u32))
            }
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_follows_yaml_v3() {
        let cases = [
            ("a$$b", "a$$b"),
            ("*", "'*'"),
            ("-x", "-x"),
            ("a: b", "'a: b'"),
            ("#c", "'#c'"),
            ("yes", "\"yes\""),
            ("1.5", "\"1.5\""),
            ("0x1F", "\"0x1F\""),
            ("", "\"\""),
            (" lead", "' lead'"),
            ("a #b", "'a #b'"),
            ("~", "\"~\""),
            ("2001-01-01", "\"2001-01-01\""),
            ("1e3", "\"1e3\""),
            ("'q'", "'''q'''"),
            ("\"dq\"", "'\"dq\"'"),
            ("é", "é"),
            ("a\tb", "\"a\\tb\""),
            (":x", ":x"),
            ("x:", "'x:'"),
            ("-", "'-'"),
            ("1_000", "\"1_000\""),
            ("0o17", "\"0o17\""),
            ("+1", "\"+1\""),
            (".5", "\".5\""),
            ("0777", "\"0777\""),
            ("False", "\"False\""),
            ("off", "\"off\""),
            ("1000:1000", "1000:1000"),
            ("02:42:ac:11:00:02", "02:42:ac:11:00:02"),
            ("12:30", "\"12:30\""),
            ("::1", "::1"),
            // libyaml's short escapes.
            (
                "bell\u{7}bs\u{8}vt\u{b}ff\u{c}esc\u{1b}",
                "\"bell\\abs\\bvt\\vff\\fesc\\e\"",
            ),
            ("nel\u{85}ls\u{2028}ps\u{2029}", "\"nel\\Nls\\Lps\\P\""),
            ("smile \u{1F600}", "\"smile \\U0001F600\""),
            // yaml.v3 drops every `_` after a digit or sign before parsing a number.
            ("1__0", "\"1__0\""),
            ("1_", "\"1_\""),
            ("+_1", "\"+_1\""),
            ("1_.5", "\"1_.5\""),
            ("._5", "._5"),
            ("_1", "_1"),
        ];
        for (input, want) in cases {
            assert_eq!(scalar(input, 0), want, "{input:?}");
        }
    }

    #[test]
    fn line_separators_single_quoted_with_the_indent() {
        assert_eq!(scalar("a\u{2028}b", 4), "'a\u{2028}    b'");
        assert_eq!(scalar("a\u{2028}\u{2029}b", 2), "'a\u{2028}\u{2029}  b'");
        assert_eq!(scalar("a\u{2028}", 4), "'a\u{2028}'");
        assert_eq!(scalar("it's\u{2029}x", 2), "'it''s\u{2029}  x'");
        assert_eq!(scalar("a \u{2028}b", 4), "\"a \\Lb\"");
    }

    #[test]
    fn map_keys_in_yaml_v3_order() {
        let mut keys = vec![
            "A10", "A9", "A2", "A_B", "AB", "a1", "B", "_z", "A~", "x01", "x1",
        ];
        let mut sorted = keys.clone();
        sorted.sort();
        let m: serde_norway::Mapping = sorted
            .iter()
            .map(|k| (Value::String(k.to_string()), Value::Null))
            .collect();
        keys = ordered(&m).iter().filter_map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            keys,
            ["_z", "A_B", "A~", "A2", "A9", "A10", "AB", "B", "a1", "x1", "x01"]
        );
    }

    #[test]
    fn literal_blocks() {
        assert_eq!(scalar("multi\nline", 4), "|-\n    multi\n    line");
        assert_eq!(scalar("multi\nline\n", 4), "|\n    multi\n    line");
    }
}
