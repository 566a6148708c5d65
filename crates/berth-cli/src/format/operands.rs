//! One parse rule of Go's text/template that gotmpl does not enforce: the operands of a
//! command are separated by spaces. Go's parser reads an operand (a term and the fields
//! chained to it) and then wants a space, `}}`, `)` or `|`; anything else is "unexpected X
//! in operand" (`{{json.}}`, `{{.ID.}}`, `{{"a""b"}}`), where gotmpl reads two operands.
//! [`check`] lexes the actions as Go's lexer does and reports that error, with Go's text;
//! whatever it does not follow (a lexing error, a malformed action) it leaves to gotmpl.

/// A token of an action, as Go's lexer emits it (only the kinds the rule needs).
#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Space,
    RightDelim,
    Pipe,
    LeftParen,
    RightParen,
    Declare,
    Assign,
    Comma,
    /// A keyword (`if`, `nil`, `.` ...): Go prints it as `<val>`.
    Keyword(String),
    /// Any other token (identifier, field, variable, string, number, char, bool).
    Other(String, Kind),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Identifier,
    Field,
    Variable,
    Literal,
}

/// Go's `item.String()` of a token, as `unexpected %s in operand` prints it.
fn describe(t: &(Tok, usize)) -> String {
    let val = match &t.0 {
        Tok::Keyword(k) => return format!("<{k}>"),
        Tok::Other(v, _) => v.clone(),
        Tok::Pipe => "|".into(),
        Tok::LeftParen => "(".into(),
        Tok::RightParen => ")".into(),
        Tok::Declare => ":=".into(),
        Tok::Assign => "=".into(),
        Tok::Comma => ",".into(),
        Tok::Space => " ".into(),
        Tok::RightDelim => "}}".into(),
    };
    // `%.10q...` past 10 characters: the first 10, quoted.
    if val.chars().count() > 10 {
        let head: String = val.chars().take(10).collect();
        format!("{}...", crate::commands::containers::go_quote(&head))
    } else {
        crate::commands::containers::go_quote(&val)
    }
}

const KEYWORDS: &[&str] = &[
    "block", "break", "continue", "define", "else", "end", "if", "nil", "range", "template", "with",
];

/// An action's tokens with their lines, the text after its right delimiter, and the line
/// that text starts on.
type Lexed<'a> = (Vec<(Tok, usize)>, &'a str, usize);

/// Lexes one action's inside from `s` (just after `{{` and its trim marker); returns the
/// tokens with their lines, through the right delimiter, and the rest of the text. None
/// where Go's lexer would fail or this lexer does not follow the text.
fn lex_action(s: &str, mut line: usize) -> Option<Lexed<'_>> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    let ident = |c: u8| c == b'_' || c.is_ascii_alphanumeric() || c >= 0x80;
    loop {
        let rest = &s[i..];
        if rest.starts_with(" -}}") {
            out.push((Tok::RightDelim, line));
            return Some((out, &s[i + 4..], line));
        }
        if rest.starts_with("}}") {
            out.push((Tok::RightDelim, line));
            return Some((out, &s[i + 2..], line));
        }
        let c = *b.get(i)?;
        let start = i;
        match c {
            b' ' | b'\t' | b'\r' | b'\n' => {
                while i < b.len() && matches!(b[i], b' ' | b'\t' | b'\r' | b'\n') {
                    if s[i..].starts_with(" -}}") {
                        break;
                    }
                    if b[i] == b'\n' {
                        line += 1;
                    }
                    i += 1;
                }
                if i == start {
                    // " -}}" right away: the delimiter, next turn.
                    continue;
                }
                out.push((Tok::Space, line));
                continue;
            }
            b'"' | b'\'' => {
                i += 1;
                loop {
                    match *b.get(i)? {
                        b'\\' => i += 2,
                        b'\n' => return None,
                        x if x == c => {
                            i += 1;
                            break;
                        }
                        _ => i += 1,
                    }
                }
                out.push((Tok::Other(s[start..i].into(), Kind::Literal), line));
            }
            b'`' => {
                i += 1 + s[i + 1..].find('`')? + 1;
                let text = &s[start..i];
                out.push((Tok::Other(text.into(), Kind::Literal), line));
                line += text.matches('\n').count();
            }
            b'$' => {
                i += 1;
                while i < b.len() && ident(b[i]) {
                    i += 1;
                }
                if !at_terminator(&s[i..]) {
                    return None;
                }
                out.push((Tok::Other(s[start..i].into(), Kind::Variable), line));
            }
            b'.' if b.get(i + 1).is_some_and(|d| d.is_ascii_digit()) => {
                i = number_end(b, i);
                out.push((Tok::Other(s[start..i].into(), Kind::Literal), line));
            }
            b'.' => {
                i += 1;
                while i < b.len() && ident(b[i]) {
                    i += 1;
                }
                if i == start + 1 {
                    out.push((Tok::Keyword(".".into()), line));
                } else if !at_terminator(&s[i..]) {
                    return None;
                } else {
                    out.push((Tok::Other(s[start..i].into(), Kind::Field), line));
                }
            }
            b'+' | b'-' | b'0'..=b'9' => {
                i = number_end(b, i);
                out.push((Tok::Other(s[start..i].into(), Kind::Literal), line));
            }
            b'|' => {
                i += 1;
                out.push((Tok::Pipe, line));
            }
            b'(' => {
                i += 1;
                out.push((Tok::LeftParen, line));
            }
            b')' => {
                i += 1;
                out.push((Tok::RightParen, line));
            }
            b',' => {
                i += 1;
                out.push((Tok::Comma, line));
            }
            b':' if b.get(i + 1) == Some(&b'=') => {
                i += 2;
                out.push((Tok::Declare, line));
            }
            b'=' => {
                i += 1;
                out.push((Tok::Assign, line));
            }
            c if ident(c) => {
                while i < b.len() && ident(b[i]) {
                    i += 1;
                }
                if !at_terminator(&s[i..]) {
                    return None;
                }
                let w = &s[start..i];
                let t = if KEYWORDS.contains(&w) {
                    Tok::Keyword(w.into())
                } else {
                    Tok::Other(w.into(), Kind::Identifier)
                };
                out.push((t, line));
            }
            _ => return None,
        }
    }
}

/// Go's lexer wants a word (identifier, field, variable) followed by a space, one of
/// `.,|:()`, the right delimiter or the end; anything else is its "bad character" error.
fn at_terminator(rest: &str) -> bool {
    match rest.as_bytes().first() {
        None => true,
        Some(c) => {
            matches!(
                c,
                b' ' | b'\t' | b'\r' | b'\n' | b'.' | b',' | b'|' | b':' | b')' | b'('
            ) || rest.starts_with("}}")
        }
    }
}

/// The end of a number token starting at `i` (Go's scanNumber, loosely: sign, digits,
/// letters, `.`, `_`, and a sign after an exponent).
fn number_end(b: &[u8], mut i: usize) -> usize {
    if matches!(b.get(i), Some(b'+') | Some(b'-')) {
        i += 1;
    }
    while i < b.len() {
        let c = b[i];
        let exponent_sign =
            (c == b'+' || c == b'-') && matches!(b[i - 1], b'e' | b'E' | b'p' | b'P');
        if c.is_ascii_alphanumeric() || c == b'.' || c == b'_' || exponent_sign {
            i += 1;
        } else {
            break;
        }
    }
    i
}

/// Walks one action's tokens as Go's parser does for the operand rule.
struct Walk<'a> {
    toks: &'a [(Tok, usize)],
    at: usize,
}

/// The outcome of a walk: Go's error, or a shape this check leaves to gotmpl.
enum Stop {
    Unexpected(String, usize),
    Unfollowed,
}

impl Walk<'_> {
    fn peek(&self) -> Option<&(Tok, usize)> {
        self.toks.get(self.at)
    }

    fn skip_space(&mut self) {
        while matches!(self.peek(), Some((Tok::Space, _))) {
            self.at += 1;
        }
    }

    /// A whole action: a control keyword and its pipeline, or a pipeline.
    fn action(&mut self) -> Result<(), Stop> {
        self.skip_space();
        match self.peek() {
            Some((Tok::Keyword(k), _)) => match k.as_str() {
                "if" | "range" | "with" => {
                    self.at += 1;
                    self.pipeline(false)
                }
                "else" => {
                    self.at += 1;
                    self.skip_space();
                    if let Some((Tok::Keyword(k), _)) = self.peek() {
                        if k == "if" || k == "with" {
                            self.at += 1;
                            return self.pipeline(false);
                        }
                    }
                    Ok(())
                }
                "end" | "break" | "continue" | "define" | "template" | "block" => {
                    Err(Stop::Unfollowed)
                }
                _ => self.pipeline(false),
            },
            _ => self.pipeline(false),
        }
    }

    /// A pipeline: an optional declaration, then commands joined by `|`, up to `}}` (or
    /// `)` when `paren`).
    fn pipeline(&mut self, paren: bool) -> Result<(), Stop> {
        self.skip_space();
        if let Some((Tok::Other(_, Kind::Variable), _)) = self.peek() {
            let save = self.at;
            self.at += 1;
            self.skip_space();
            match self.peek() {
                Some((Tok::Declare | Tok::Assign, _)) => self.at += 1,
                Some((Tok::Comma, _)) => {
                    self.at += 1;
                    self.skip_space();
                    if !matches!(self.peek(), Some((Tok::Other(_, Kind::Variable), _))) {
                        return Err(Stop::Unfollowed);
                    }
                    self.at += 1;
                    self.skip_space();
                    if !matches!(self.peek(), Some((Tok::Declare | Tok::Assign, _))) {
                        return Err(Stop::Unfollowed);
                    }
                    self.at += 1;
                }
                _ => self.at = save,
            }
        }
        loop {
            self.command()?;
            match self.peek() {
                Some((Tok::Pipe, _)) => self.at += 1,
                Some((Tok::RightParen, _)) if paren => {
                    self.at += 1;
                    return Ok(());
                }
                Some((Tok::RightDelim, _)) if !paren => return Ok(()),
                _ => return Err(Stop::Unfollowed),
            }
        }
    }

    /// A command: operands separated by spaces. Stops before `|`, `}}` or `)`.
    fn command(&mut self) -> Result<(), Stop> {
        let mut operands = 0;
        loop {
            self.skip_space();
            if matches!(
                self.peek(),
                Some((Tok::Pipe | Tok::RightDelim | Tok::RightParen, _))
            ) {
                return if operands > 0 {
                    Ok(())
                } else {
                    Err(Stop::Unfollowed)
                };
            }
            self.operand()?;
            operands += 1;
            match self.peek() {
                Some((Tok::Space, _)) => continue,
                Some((Tok::Pipe | Tok::RightDelim | Tok::RightParen, _)) => return Ok(()),
                Some(t) => return Err(Stop::Unexpected(describe(t), t.1)),
                None => return Err(Stop::Unfollowed),
            }
        }
    }

    /// A term and the fields chained to it.
    fn operand(&mut self) -> Result<(), Stop> {
        let literal = match self.peek().cloned() {
            Some((Tok::LeftParen, _)) => {
                self.at += 1;
                self.pipeline(true)?;
                false
            }
            Some((Tok::Other(v, kind), _)) => {
                self.at += 1;
                kind == Kind::Literal || v == "true" || v == "false"
            }
            Some((Tok::Keyword(k), _)) if k == "." || k == "nil" => {
                self.at += 1;
                true
            }
            _ => return Err(Stop::Unfollowed),
        };
        if literal && matches!(self.peek(), Some((Tok::Other(_, Kind::Field), _))) {
            // Go: "unexpected . after term"; left to gotmpl.
            return Err(Stop::Unfollowed);
        }
        while let Some((Tok::Other(_, Kind::Field), _)) = self.peek() {
            self.at += 1;
        }
        Ok(())
    }
}

/// Go's parse error for the first action whose operands are not separated, as
/// `template: NAME:LINE: unexpected X in operand`; None when there is none (or where this
/// check does not follow the template, which gotmpl then judges alone).
pub fn check(name: &str, src: &str) -> Option<String> {
    let mut rest = src;
    let mut line = 1;
    while let Some(open) = rest.find("{{") {
        line += rest[..open].matches('\n').count();
        let mut inner = &rest[open + 2..];
        if let Some(t) = inner.strip_prefix("- ") {
            inner = t;
        }
        if inner.trim_start().starts_with("/*") {
            // A comment: to its `*/` and the delimiter after it.
            let end = inner.find("*/")?;
            line += inner[..end].matches('\n').count();
            let after = &inner[end + 2..];
            let close = after.find("}}")?;
            rest = &after[close + 2..];
            continue;
        }
        let (toks, after, end_line) = lex_action(inner, line)?;
        let mut w = Walk { toks: &toks, at: 0 };
        match w.action() {
            Err(Stop::Unexpected(t, l)) => {
                return Some(format!("template: {name}:{l}: unexpected {t} in operand"));
            }
            Err(Stop::Unfollowed) | Ok(()) => {}
        }
        line = end_line;
        rest = after;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::check;

    #[test]
    fn adjacent_operands_are_gos_parse_error() {
        let cases = [
            ("{{json.}}", "unexpected <.> in operand"),
            ("{{.ID.}}", "unexpected <.> in operand"),
            ("{{\"a\"\"b\"}}", "unexpected \"\\\"b\\\"\" in operand"),
            (
                "x {{.A}}\n{{json .}}{{.B ($x)$x}}",
                "unexpected \"$x\" in operand",
            ),
            ("{{.A(.B)}}", "unexpected \"(\" in operand"),
            (
                "{{.A \"0123456789abc\"\"x\"}}",
                "unexpected \"\\\"x\\\"\" in operand",
            ),
            (
                "{{len \"a\"\"0123456789abc\"}}",
                "unexpected \"\\\"012345678\"... in operand",
            ),
            (
                "{{if .A}}{{else if .B.}}{{end}}",
                "unexpected <.> in operand",
            ),
            (
                "{{range $i, $e := .L}}{{$e.}}{{end}}",
                "unexpected <.> in operand",
            ),
            ("{{- \"a\"\"x\" -}}", "unexpected \"\\\"x\\\"\" in operand"),
        ];
        for (src, want) in cases {
            let got = check("", src).unwrap_or_else(|| panic!("{src}: no error"));
            assert!(got.ends_with(want), "{src}: {got}");
        }
        assert_eq!(
            check("", "x {{.A}}\n\n{{.B.}}").as_deref(),
            Some("template: :3: unexpected <.> in operand")
        );
    }

    #[test]
    fn well_formed_templates_pass() {
        for src in [
            "{{json .}}",
            "{{.ID}}\t{{.Names}}",
            "{{(index .Ports 0).URL}}",
            "{{range $i, $e := .L}}{{$i}}={{$e.Name}}{{end}}",
            "{{$x := .A}}{{$x}}",
            "{{if and .A (eq .B \"x\")}}y{{else}}n{{end}}",
            "{{- .A -}} {{/* c }} */}} {{\"}}\"}}",
            "{{printf \"%s|%d\" .A 3 | printf \"%q\"}}",
            "{{template \"x\" .}}{{define \"x\"}}{{.}}{{end}}",
            "{{.A | json}}{{ .B.C }}{{-1}}{{ `raw}}` }}",
            // Go's lexer fails on these ("bad character"): left to gotmpl.
            "{{.B$x}}",
            "{{- .A\"x\" -}}",
            "{{json$}}",
        ] {
            assert_eq!(check("", src), None, "{src}");
        }
    }
}
