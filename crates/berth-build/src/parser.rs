//! The Dockerfile's syntax: parser directives, comments, line continuations, heredocs and
//! leading `--flags`, as BuildKit's `frontend/dockerfile/parser` reads them. The result is a
//! list of [`Node`]s (one per instruction, with its first line number); `instructions.rs`
//! gives them their meaning.

use crate::error::{BuildError, Result};

/// One here-document of a RUN, COPY or ADD.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Heredoc {
    pub name: String,
    pub content: String,
    /// False when the delimiter was quoted (`<<"EOF"`): no variable expansion.
    pub expand: bool,
    /// `<<-EOF`: leading tabs were stripped.
    pub chomp: bool,
}

/// One instruction as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// 1-based line of the instruction's first line.
    pub line: usize,
    /// Upper-case keyword (`RUN`).
    pub keyword: String,
    /// The logical line (continuations joined), as docker prints it in `Step N/M : ...`.
    pub original: String,
    /// Leading `--name[=value]` flags.
    pub flags: Vec<(String, Option<String>)>,
    /// The arguments after the flags.
    pub args: String,
    pub heredocs: Vec<Heredoc>,
}

impl Node {
    /// The exec form (`["a", "b"]`), when the arguments are a JSON array of strings.
    pub fn json(&self) -> Option<Vec<String>> {
        let t = self.args.trim();
        if !t.starts_with('[') {
            return None;
        }
        serde_json::from_str::<Vec<String>>(t).ok()
    }

    pub fn flag(&self, name: &str) -> Option<&Option<String>> {
        self.flags
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dockerfile {
    pub escape: char,
    pub syntax: Option<String>,
    pub nodes: Vec<Node>,
    /// Warnings docker prints (empty continuation lines).
    pub warnings: Vec<String>,
}

const KEYWORDS: &[&str] = &[
    "ADD",
    "ARG",
    "CMD",
    "COPY",
    "ENTRYPOINT",
    "ENV",
    "EXPOSE",
    "FROM",
    "HEALTHCHECK",
    "LABEL",
    "MAINTAINER",
    "ONBUILD",
    "RUN",
    "SHELL",
    "STOPSIGNAL",
    "USER",
    "VOLUME",
    "WORKDIR",
];

pub fn is_keyword(k: &str) -> bool {
    KEYWORDS.contains(&k)
}

/// Parses `# name=value` directives at the top of the file; returns (escape, syntax, first
/// line index after them).
fn directives(lines: &[&str]) -> Result<(char, Option<String>, usize)> {
    let mut escape = None;
    let mut syntax = None;
    let mut i = 0;
    while i < lines.len() {
        let l = lines[i].trim();
        let Some(body) = l.strip_prefix('#') else {
            break;
        };
        let Some((k, v)) = body.split_once('=') else {
            break;
        };
        let k = k.trim().to_ascii_lowercase();
        if k.is_empty() || !k.chars().all(|c| c.is_ascii_alphanumeric()) || k.contains(' ') {
            break;
        }
        let v = v.trim().to_string();
        match k.as_str() {
            "escape" => {
                if escape.is_some() {
                    return Err(BuildError::parse(
                        i + 1,
                        "only one escape parser directive can be used",
                    ));
                }
                escape = Some(match v.as_str() {
                    "\\" => '\\',
                    "`" => '`',
                    _ => {
                        return Err(BuildError::parse(
                            i + 1,
                            format!("invalid escape token '{v}' does not match ` or \\"),
                        ))
                    }
                });
            }
            "syntax" => {
                if syntax.is_some() {
                    return Err(BuildError::parse(
                        i + 1,
                        "only one syntax parser directive can be used",
                    ));
                }
                syntax = Some(v);
            }
            // Unknown directives (check=...) are comments for this builder.
            _ => {}
        }
        i += 1;
    }
    Ok((escape.unwrap_or('\\'), syntax, i))
}

/// Removes a trailing escape (and whitespace after it): (line, continues).
fn trim_continuation(l: &str, escape: char) -> (String, bool) {
    let t = l.trim_end_matches([' ', '\t']);
    match t.strip_suffix(escape) {
        Some(rest) => (rest.to_string(), true),
        None => (l.to_string(), false),
    }
}

fn is_comment(l: &str) -> bool {
    l.trim_start().starts_with('#')
}

/// Splits leading `--flag[=value]` words off `rest`.
fn split_flags(rest: &str) -> (Vec<(String, Option<String>)>, String) {
    let mut flags = Vec::new();
    let mut s = rest.trim_start();
    while let Some(f) = s.strip_prefix("--") {
        let end = f.find(char::is_whitespace).unwrap_or(f.len());
        let word = &f[..end];
        s = f[end..].trim_start();
        if word.is_empty() {
            break;
        }
        match word.split_once('=') {
            Some((k, v)) => flags.push((k.to_ascii_lowercase(), Some(unquote(v)))),
            None => flags.push((word.to_ascii_lowercase(), None)),
        }
    }
    (flags, s.to_string())
}

fn unquote(v: &str) -> String {
    let b = v.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        v[1..v.len() - 1].to_string()
    } else {
        v.to_string()
    }
}

/// The heredoc markers (`<<EOF`, `<<-EOF`, `<<"EOF"`) in a RUN/COPY/ADD argument string.
pub(crate) fn heredoc_markers(args: &str) -> Vec<(String, bool, bool)> {
    let mut out = Vec::new();
    let mut quote: Option<char> = None;
    let cs: Vec<char> = args.chars().collect();
    let mut i = 0;
    while i < cs.len() {
        let c = cs[i];
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            i += 1;
            continue;
        }
        if c == '\'' || c == '"' {
            quote = Some(c);
            i += 1;
            continue;
        }
        if c == '<' && cs.get(i + 1) == Some(&'<') && cs.get(i + 2) == Some(&'<') {
            // `<<<` is a here-string: skip the whole run of `<`.
            while cs.get(i) == Some(&'<') {
                i += 1;
            }
            continue;
        }
        if c == '<' && cs.get(i + 1) == Some(&'<') {
            let mut j = i + 2;
            let chomp = cs.get(j) == Some(&'-');
            if chomp {
                j += 1;
            }
            let q = cs.get(j).copied().filter(|c| *c == '"' || *c == '\'');
            if q.is_some() {
                j += 1;
            }
            let start = j;
            while j < cs.len() && (cs[j].is_ascii_alphanumeric() || cs[j] == '_' || cs[j] == '-') {
                j += 1;
            }
            let name: String = cs[start..j].iter().collect();
            if let Some(q) = q {
                if cs.get(j) != Some(&q) {
                    i = j;
                    continue;
                }
                j += 1;
            }
            if !name.is_empty() {
                out.push((name, q.is_none(), chomp));
            }
            i = j;
            continue;
        }
        i += 1;
    }
    out
}

/// Parses a whole Dockerfile.
pub fn parse(src: &str) -> Result<Dockerfile> {
    let src = src.strip_prefix('\u{feff}').unwrap_or(src);
    let lines: Vec<&str> = src
        .split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect();
    let (escape, syntax, mut i) = directives(&lines)?;
    let mut nodes = Vec::new();
    let mut warnings = Vec::new();
    while i < lines.len() {
        let first = lines[i].trim_start();
        i += 1;
        if first.trim().is_empty() || is_comment(first) {
            continue;
        }
        let line_no = i;
        let (mut logical, mut cont) = trim_continuation(first, escape);
        while cont {
            if i >= lines.len() {
                break;
            }
            let l = lines[i];
            i += 1;
            if is_comment(l) {
                continue;
            }
            if l.trim().is_empty() {
                warnings.push(format!(
                    "[WARNING]: Empty continuation line found in:\n    {}",
                    logical.trim_end()
                ));
                continue;
            }
            let (t, c) = trim_continuation(l, escape);
            logical.push_str(&t);
            cont = c;
        }
        let logical = logical.trim_end().to_string();
        let (kw, rest) = match logical.find(char::is_whitespace) {
            Some(p) => (&logical[..p], logical[p..].trim_start()),
            None => (logical.as_str(), ""),
        };
        let keyword = kw.to_ascii_uppercase();
        if !is_keyword(&keyword) {
            return Err(BuildError::parse(
                line_no,
                format!("unknown instruction: {kw}"),
            ));
        }
        let (flags, args) = split_flags(rest);
        let mut heredocs = Vec::new();
        let heredoc_kw = if keyword == "ONBUILD" {
            args.split_whitespace()
                .next()
                .map(str::to_ascii_uppercase)
                .unwrap_or_default()
        } else {
            keyword.clone()
        };
        if matches!(heredoc_kw.as_str(), "RUN" | "COPY" | "ADD") {
            for (name, expand, chomp) in heredoc_markers(&args) {
                let mut content = String::new();
                let mut closed = false;
                while i < lines.len() {
                    let l = lines[i];
                    i += 1;
                    let l = if chomp { l.trim_start_matches('\t') } else { l };
                    if l == name {
                        closed = true;
                        break;
                    }
                    content.push_str(l);
                    content.push('\n');
                }
                if !closed {
                    return Err(BuildError::parse(
                        line_no,
                        format!("unterminated heredoc {name}"),
                    ));
                }
                heredocs.push(Heredoc {
                    name,
                    content,
                    expand,
                    chomp,
                });
            }
        }
        nodes.push(Node {
            line: line_no,
            keyword,
            original: logical.clone(),
            flags,
            args,
            heredocs,
        });
    }
    Ok(Dockerfile {
        escape,
        syntax,
        nodes,
        warnings,
    })
}

/// Splits on unquoted whitespace keeping quotes and escapes (BuildKit's parseWords), for
/// `ENV`/`LABEL` `k=v` lists whose values are expanded afterwards.
pub fn split_words(s: &str, escape: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quote: Option<char> = None;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if quote.is_none() && c.is_whitespace() {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            continue;
        }
        cur.push(c);
        if c == escape && quote != Some('\'') {
            if let Some(n) = chars.next() {
                cur.push(n);
            }
            continue;
        }
        match quote {
            Some(q) if c == q => quote = None,
            None if c == '"' || c == '\'' => quote = Some(c),
            _ => {}
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kw(df: &Dockerfile) -> Vec<(usize, &str)> {
        df.nodes
            .iter()
            .map(|n| (n.line, n.keyword.as_str()))
            .collect()
    }

    #[test]
    fn instructions_comments_and_lines() {
        let df = parse("# a comment\nFROM busybox\n\n  run echo hi\n# x\nCMD [\"sh\"]\n").unwrap();
        assert_eq!(kw(&df), vec![(2, "FROM"), (4, "RUN"), (6, "CMD")]);
        assert_eq!(df.nodes[1].original, "run echo hi");
        assert_eq!(df.nodes[2].json(), Some(vec!["sh".to_string()]));
        assert_eq!(df.nodes[1].json(), None);
    }

    #[test]
    fn continuations_skip_comments_and_warn_on_empty_lines() {
        let df =
            parse("FROM busybox\nRUN echo a \\\n# inner comment\n  b \\\n\n  c\nENV X=1").unwrap();
        assert_eq!(df.nodes[1].args, "echo a   b   c");
        assert_eq!(df.nodes[1].line, 2);
        assert_eq!(df.nodes[2].line, 7);
        assert_eq!(df.warnings.len(), 1);
    }

    #[test]
    fn crlf_and_bom() {
        let df = parse("\u{feff}FROM busybox\r\nRUN echo \\\r\n  hi\r\n").unwrap();
        assert_eq!(df.nodes[1].args, "echo   hi");
    }

    #[test]
    fn escape_directive() {
        let df = parse("# escape=`\nFROM busybox\nRUN dir c:\\ `\n  x\n").unwrap();
        assert_eq!(df.escape, '`');
        assert_eq!(df.nodes[1].args, "dir c:\\   x");
        let e = parse("# escape=x\nFROM busybox").unwrap_err();
        assert_eq!(
            e.to_string(),
            "dockerfile parse error line 1: invalid escape token 'x' does not match ` or \\"
        );
        let e = parse("# escape=`\n# escape=\\\nFROM busybox").unwrap_err();
        assert!(e.to_string().contains("line 2: only one escape"), "{e}");
    }

    #[test]
    fn directives_stop_at_first_other_line() {
        let df = parse(
            "# syntax=docker/dockerfile:1\n# comment\n# escape=`\nFROM busybox\nRUN a \\\n b",
        )
        .unwrap();
        assert_eq!(df.syntax.as_deref(), Some("docker/dockerfile:1"));
        assert_eq!(df.escape, '\\');
        assert_eq!(df.nodes[1].args, "a  b");
    }

    #[test]
    fn flags_are_split() {
        let df = parse("FROM busybox\nCOPY --from=build --chown=1:2 --link a b\n").unwrap();
        let n = &df.nodes[1];
        assert_eq!(n.flags.len(), 3);
        assert_eq!(n.flag("from"), Some(&Some("build".to_string())));
        assert_eq!(n.flag("link"), Some(&None));
        assert_eq!(n.args, "a b");
    }

    #[test]
    fn unknown_instruction_has_line() {
        let e = parse("FROM busybox\n\nFOO bar\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "dockerfile parse error line 3: unknown instruction: FOO"
        );
    }

    #[test]
    fn heredocs() {
        let src = "FROM busybox\nRUN <<EOF\necho a\necho b\nEOF\nCOPY <<-\"X\" /f\n\thello $A\n\tX\nRUN cat <<A <<B\n1\nA\n2\nB\n";
        let df = parse(src).unwrap();
        assert_eq!(
            kw(&df),
            vec![(1, "FROM"), (2, "RUN"), (6, "COPY"), (9, "RUN")]
        );
        assert_eq!(df.nodes[1].heredocs[0].content, "echo a\necho b\n");
        let h = &df.nodes[2].heredocs[0];
        assert_eq!(
            (h.content.as_str(), h.expand, h.chomp),
            ("hello $A\n", false, true)
        );
        assert_eq!(df.nodes[3].heredocs.len(), 2);
        assert_eq!(df.nodes[3].heredocs[1].content, "2\n");
    }

    #[test]
    fn unterminated_heredoc() {
        let e = parse("FROM busybox\nRUN <<EOF\necho a\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "dockerfile parse error line 2: unterminated heredoc EOF"
        );
    }

    #[test]
    fn quoted_heredoc_like_text_is_not_one() {
        assert!(heredoc_markers("echo '<<EOF'").is_empty());
        assert!(heredoc_markers("echo a<<<b").is_empty());
    }

    #[test]
    fn word_splitting_keeps_quotes() {
        assert_eq!(
            split_words("a=\"x y\" b=c\\ d 'e f'=g", '\\'),
            vec!["a=\"x y\"", "b=c\\ d", "'e f'=g"]
        );
    }
}
