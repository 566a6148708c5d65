//! Variable interpolation in compose files and env files: `$VAR`, `${VAR}`, `${VAR:-d}`,
//! `${VAR-d}`, `${VAR:?err}`, `${VAR?err}`, `${VAR:+alt}`, `${VAR+alt}`, `$$`, with nested
//! templates in defaults, as compose-go's template package does.

/// What interpolation needs from the environment.
pub trait Lookup {
    fn get(&self, name: &str) -> Option<String>;
}

impl<F: Fn(&str) -> Option<String>> Lookup for F {
    fn get(&self, name: &str) -> Option<String> {
        self(name)
    }
}

/// An interpolation failure (the caller adds where it happened).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TemplateError {
    Invalid(String),
    Required { name: String, message: String },
}

impl std::fmt::Display for TemplateError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TemplateError::Invalid(t) => write!(f, "Invalid template: {t:?}"),
            TemplateError::Required { name, message } => {
                write!(f, "required variable {name} is missing a value")?;
                if !message.is_empty() {
                    write!(f, ": {message}")?;
                }
                Ok(())
            }
        }
    }
}

fn name_start(c: u8) -> bool {
    c == b'_' || c.is_ascii_alphabetic()
}
fn name_char(c: u8) -> bool {
    c == b'_' || c.is_ascii_alphanumeric()
}

/// Substitutes `s`. `unset` is called with each variable that was used without a value
/// and without a default (compose warns about those).
pub fn substitute(
    s: &str,
    env: &dyn Lookup,
    unset: &mut dyn FnMut(&str),
) -> Result<String, TemplateError> {
    if !s.contains('$') {
        return Ok(s.to_string());
    }
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    let mut lit_start = 0;
    while i < b.len() {
        if b[i] != b'$' {
            i += 1;
            continue;
        }
        out.push_str(&s[lit_start..i]);
        match b.get(i + 1) {
            Some(b'$') => {
                out.push('$');
                i += 2;
            }
            Some(b'{') => {
                let end =
                    closing_brace(b, i + 2).ok_or_else(|| TemplateError::Invalid(s.to_string()))?;
                let inner = &s[i + 2..end];
                out.push_str(&braced(inner, s, env, unset)?);
                i = end + 1;
            }
            Some(c) if name_start(*c) => {
                let mut j = i + 1;
                while j < b.len() && name_char(b[j]) {
                    j += 1;
                }
                let name = &s[i + 1..j];
                match env.get(name) {
                    Some(v) => out.push_str(&v),
                    None => unset(name),
                }
                i = j;
            }
            _ => {
                out.push('$');
                i += 1;
            }
        }
        lit_start = i;
    }
    out.push_str(&s[lit_start..]);
    Ok(out)
}

/// Index of the `}` closing a `${` whose body starts at `from` (nested `${...}` allowed).
fn closing_brace(b: &[u8], from: usize) -> Option<usize> {
    let mut depth = 0;
    let mut i = from;
    while i < b.len() {
        match b[i] {
            b'$' if b.get(i + 1) == Some(&b'{') => {
                depth += 1;
                i += 2;
                continue;
            }
            b'}' => {
                if depth == 0 {
                    return Some(i);
                }
                depth -= 1;
            }
            _ => {}
        }
        i += 1;
    }
    None
}

fn braced(
    inner: &str,
    whole: &str,
    env: &dyn Lookup,
    unset: &mut dyn FnMut(&str),
) -> Result<String, TemplateError> {
    let b = inner.as_bytes();
    if b.is_empty() || !name_start(b[0]) {
        return Err(TemplateError::Invalid(whole.to_string()));
    }
    let mut j = 1;
    while j < b.len() && name_char(b[j]) {
        j += 1;
    }
    let name = &inner[..j];
    let rest = &inner[j..];
    let value = env.get(name);
    if rest.is_empty() {
        return Ok(match value {
            Some(v) => v,
            None => {
                unset(name);
                String::new()
            }
        });
    }
    let (op, arg) = if let Some(a) = rest.strip_prefix(":-") {
        (":-", a)
    } else if let Some(a) = rest.strip_prefix(":?") {
        (":?", a)
    } else if let Some(a) = rest.strip_prefix(":+") {
        (":+", a)
    } else if let Some(a) = rest.strip_prefix('-') {
        ("-", a)
    } else if let Some(a) = rest.strip_prefix('?') {
        ("?", a)
    } else if let Some(a) = rest.strip_prefix('+') {
        ("+", a)
    } else {
        return Err(TemplateError::Invalid(whole.to_string()));
    };
    let set_nonempty = value.as_deref().is_some_and(|v| !v.is_empty());
    let mut sub = |t: &str| substitute(t, env, unset);
    match op {
        ":-" => match value {
            Some(v) if !v.is_empty() => Ok(v),
            _ => sub(arg),
        },
        "-" => match value {
            Some(v) => Ok(v),
            None => sub(arg),
        },
        ":?" => match value {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(TemplateError::Required {
                name: name.into(),
                message: sub(arg)?,
            }),
        },
        "?" => match value {
            Some(v) => Ok(v),
            None => Err(TemplateError::Required {
                name: name.into(),
                message: sub(arg)?,
            }),
        },
        ":+" => {
            if set_nonempty {
                sub(arg)
            } else {
                Ok(String::new())
            }
        }
        _ => {
            if value.is_some() {
                sub(arg)
            } else {
                Ok(String::new())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(s: &str) -> Result<String, TemplateError> {
        let env = |k: &str| match k {
            "A" => Some("a".to_string()),
            "EMPTY" => Some(String::new()),
            _ => None,
        };
        substitute(s, &env, &mut |_| {})
    }

    #[test]
    fn syntax() {
        assert_eq!(run("$A-${A}").unwrap(), "a-a");
        assert_eq!(run("$$A").unwrap(), "$A");
        assert_eq!(
            run("${X:-d}|${EMPTY:-d}|${EMPTY-d}|${X-d}").unwrap(),
            "d|d||d"
        );
        assert_eq!(
            run("${A:+alt}|${EMPTY:+alt}|${EMPTY+alt}|${X+alt}").unwrap(),
            "alt||alt|"
        );
        assert_eq!(run("${X:-${Y:-deep}}").unwrap(), "deep");
        assert_eq!(run("${X:-$A}").unwrap(), "a");
        assert_eq!(run("cost $5").unwrap(), "cost $5");
        assert_eq!(
            run("${X:?need X}").unwrap_err().to_string(),
            "required variable X is missing a value: need X"
        );
        assert!(run("${EMPTY?x}").is_ok());
        assert!(run("${EMPTY:?x}").is_err());
        assert!(matches!(run("${A"), Err(TemplateError::Invalid(_))));
        assert!(matches!(run("${}"), Err(TemplateError::Invalid(_))));
    }
}
