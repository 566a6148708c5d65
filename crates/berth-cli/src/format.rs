//! `--format` handling: Go templates (gotmpl) with docker's extra functions, `table` and
//! `json` formats, and tab-aligned output like docker's formatter.

use std::io::Write;
use std::sync::Arc;

use gotmpl::{Template, Value, ValueFunc};
use thiserror::Error;

#[derive(Debug, Error)]
#[error("{0}")]
pub struct FormatError(pub String);

fn err(e: impl std::fmt::Display) -> gotmpl::TemplateError {
    gotmpl::TemplateError::Exec(e.to_string())
}

/// gotmpl Value -> serde_json, for the `json` function.
pub fn to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Nil => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::Uint(u) => J::from(*u),
        Value::Float(f) => serde_json::Number::from_f64(*f)
            .map(J::Number)
            .unwrap_or(J::Null),
        Value::String(s) => J::String(s.to_string()),
        Value::List(l) => J::Array(l.iter().map(to_json).collect()),
        Value::Map(m) => match field_order::of(m) {
            Some(keys) => J::Object(
                keys.iter()
                    .filter_map(|k| m.get(k).map(|v| (k.to_string(), to_json(v))))
                    .collect(),
            ),
            None => J::Object(m.iter().map(|(k, v)| (k.to_string(), to_json(v))).collect()),
        },
        _ => J::Null,
    }
}

/// The field order of the API objects an `inspect` template runs on. gotmpl's maps are
/// sorted (Go's map order), but docker's `{{json .IPAM.Config}}` marshals Go structs in
/// field order (`{"Subnet":..,"Gateway":..}`). [`from_api_json`] notes the daemon's key
/// order of every object that looks like a struct (all keys PascalCase, as the Engine
/// API's fields; map keys such as ids, labels, options and ports are not) and whose order
/// is not already sorted; [`to_json`] marshals those objects in that order. The notes
/// hold weak references, so an address is never mistaken for another map's, and they
/// last for one [`execute_api`].
mod field_order {
    use super::Value;
    use std::cell::RefCell;
    use std::collections::{BTreeMap, HashMap};
    use std::sync::{Arc, Weak};

    type Fields = BTreeMap<Arc<str>, Value>;
    /// One object's note: the object (weakly) and its keys in the daemon's order.
    type Note = (Weak<Fields>, Vec<Arc<str>>);

    thread_local! {
        static NOTES: RefCell<HashMap<usize, Note>> = RefCell::new(HashMap::new());
    }

    /// Notes `keys` as the order of `m` when they look like struct fields out of order.
    pub fn note(m: &Arc<Fields>, keys: Vec<Arc<str>>) {
        let struct_like = keys
            .iter()
            .all(|k| k.chars().next().is_some_and(|c| c.is_ascii_uppercase()));
        if !struct_like || keys.windows(2).all(|w| w[0] <= w[1]) {
            return;
        }
        let addr = Arc::as_ptr(m) as usize;
        NOTES.with(|n| n.borrow_mut().insert(addr, (Arc::downgrade(m), keys)));
    }

    /// The noted order of `m`, if any.
    pub fn of(m: &Arc<Fields>) -> Option<Vec<Arc<str>>> {
        let addr = Arc::as_ptr(m) as usize;
        NOTES.with(|n| {
            n.borrow().get(&addr).and_then(|(w, keys)| {
                w.upgrade()
                    .filter(|a| Arc::ptr_eq(a, m))
                    .map(|_| keys.clone())
            })
        })
    }

    /// Forgets every note.
    pub fn clear() {
        NOTES.with(|n| n.borrow_mut().clear());
    }
}

/// serde_json -> gotmpl Value, noting the field order of struct-like objects for the
/// `json` function (see [`field_order`]). Only for [`execute_api`].
fn from_api_json(v: &serde_json::Value) -> Value {
    use serde_json::Value as J;
    match v {
        J::Array(a) => Value::List(a.iter().map(from_api_json).collect::<Vec<_>>().into()),
        J::Object(o) => {
            let m = Arc::new(
                o.iter()
                    .map(|(k, v)| (Arc::<str>::from(k.as_str()), from_api_json(v)))
                    .collect(),
            );
            field_order::note(&m, o.keys().map(|k| Arc::<str>::from(k.as_str())).collect());
            Value::Map(m)
        }
        other => from_json(other),
    }
}

/// Runs `t` on an API object (an inspect result) as docker's CLI does on its Go struct:
/// `{{json .X}}` of a struct keeps the daemon's field order.
pub fn execute_api(t: &Template, v: &serde_json::Value) -> Result<String, FormatError> {
    let r = execute(t, &from_api_json(v));
    field_order::clear();
    r
}

/// serde_json -> gotmpl Value.
pub fn from_json(v: &serde_json::Value) -> Value {
    use serde_json::Value as J;
    match v {
        J::Null => Value::Nil,
        J::Bool(b) => Value::Bool(*b),
        J::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Value::Int(i),
            (None, Some(u)) => Value::Uint(u),
            _ => Value::Float(n.as_f64().unwrap_or(0.0)),
        },
        J::String(s) => Value::String(s.as_str().into()),
        J::Array(a) => Value::List(a.iter().map(from_json).collect::<Vec<_>>().into()),
        J::Object(m) => Value::Map(std::sync::Arc::new(
            m.iter()
                .map(|(k, v)| (std::sync::Arc::<str>::from(k.as_str()), from_json(v)))
                .collect(),
        )),
    }
}

fn as_string(v: &Value) -> String {
    match v {
        Value::String(s) => s.to_string(),
        Value::Nil => String::new(),
        other => other.to_string(),
    }
}

fn go_title(s: &str) -> String {
    // strings.Title: upper-case the first letter of each word.
    let mut out = String::with_capacity(s.len());
    let mut prev_letter = false;
    for c in s.chars() {
        if !prev_letter && c.is_alphanumeric() {
            out.extend(c.to_uppercase());
        } else {
            out.push(c);
        }
        prev_letter = c.is_alphanumeric() || c == '_' || c == '\'';
    }
    out
}

fn func(f: impl Fn(&[Value]) -> gotmpl::Result<Value> + Send + Sync + 'static) -> ValueFunc {
    Arc::new(f)
}

fn need(args: &[Value], n: usize, name: &str) -> gotmpl::Result<()> {
    if args.len() != n {
        return Err(err(format!(
            "wrong number of args for {name}: want {n} got {}",
            args.len()
        )));
    }
    Ok(())
}

/// Marshals like docker's `json` template function (Go's encoding/json without HTML escape).
/// The template's `json` function: docker's encoder does not escape HTML characters
/// (`{{json "a>b"}}` prints `"a>b"`, with docker 20.10 and 28 alike).
pub fn json_string(v: &Value) -> String {
    serde_json::to_string(&to_json(v)).unwrap_or_default()
}

/// Go's `index`, with docker's typing: the maps a user indexes (labels, event attributes,
/// driver options) are `map[string]string`, where a missing key is the zero value `""`,
/// not "<no value>" as for an untyped JSON map. A map holding only strings (or nothing)
/// is taken for such a map.
fn docker_index(a: &[Value]) -> gotmpl::Result<Value> {
    if a.len() < 2 {
        return Err(err(format!(
            "wrong number of args for index: want at least 1 got {}",
            a.len().saturating_sub(1)
        )));
    }
    let mut val = a[0].clone();
    for idx in &a[1..] {
        val = match (&val, idx) {
            (Value::Map(m), Value::String(k))
                if !m.contains_key(&**k) && m.values().all(|v| matches!(v, Value::String(_))) =>
            {
                Value::String("".into())
            }
            _ => val.index(idx)?,
        };
    }
    Ok(val)
}

fn docker_funcs(header: bool) -> Vec<(&'static str, ValueFunc)> {
    if header {
        // docker's HeaderFunctions: the header row passes values through untouched.
        let pass =
            || func(|a: &[Value]| Ok(a.first().cloned().unwrap_or(Value::String("".into()))));
        return vec![
            ("json", pass()),
            ("split", pass()),
            ("join", pass()),
            ("title", pass()),
            ("lower", pass()),
            ("upper", pass()),
            ("pad", pass()),
            ("truncate", pass()),
            ("__label", func(|_| Ok(Value::String("".into())))),
        ];
    }
    vec![
        (
            "json",
            func(|a: &[Value]| {
                need(a, 1, "json")?;
                Ok(Value::String(json_string(&a[0]).into()))
            }),
        ),
        ("index", func(docker_index)),
        (
            "split",
            func(|a: &[Value]| {
                need(a, 2, "split")?;
                let s = as_string(&a[0]);
                let sep = as_string(&a[1]);
                let parts: Vec<Value> = if sep.is_empty() {
                    s.chars()
                        .map(|c| Value::String(c.to_string().into()))
                        .collect()
                } else {
                    s.split(sep.as_str())
                        .map(|p| Value::String(p.into()))
                        .collect()
                };
                Ok(Value::List(parts.into()))
            }),
        ),
        (
            "join",
            func(|a: &[Value]| {
                need(a, 2, "join")?;
                let sep = as_string(&a[1]);
                match &a[0] {
                    Value::List(l) => Ok(Value::String(
                        l.iter()
                            .map(as_string)
                            .collect::<Vec<_>>()
                            .join(&sep)
                            .into(),
                    )),
                    Value::Nil => Ok(Value::String("".into())),
                    other => Err(err(format!(
                        "wrong type for value; expected []string; got {}",
                        other.type_name()
                    ))),
                }
            }),
        ),
        (
            "title",
            func(|a: &[Value]| {
                need(a, 1, "title")?;
                Ok(Value::String(go_title(&as_string(&a[0])).into()))
            }),
        ),
        (
            "lower",
            func(|a: &[Value]| {
                need(a, 1, "lower")?;
                Ok(Value::String(as_string(&a[0]).to_lowercase().into()))
            }),
        ),
        (
            "upper",
            func(|a: &[Value]| {
                need(a, 1, "upper")?;
                Ok(Value::String(as_string(&a[0]).to_uppercase().into()))
            }),
        ),
        (
            "pad",
            func(|a: &[Value]| {
                need(a, 3, "pad")?;
                let pre = a[1].as_int().unwrap_or(0).max(0) as usize;
                let suf = a[2].as_int().unwrap_or(0).max(0) as usize;
                Ok(Value::String(
                    format!("{}{}{}", " ".repeat(pre), as_string(&a[0]), " ".repeat(suf)).into(),
                ))
            }),
        ),
        (
            "truncate",
            func(|a: &[Value]| {
                need(a, 2, "truncate")?;
                let s = as_string(&a[0]);
                let n = a[1].as_int().unwrap_or(0).max(0) as usize;
                if s.len() < n {
                    return Ok(Value::String(s.into()));
                }
                // Go slices bytes; stay on a char boundary so we never split UTF-8.
                let mut end = n.min(s.len());
                while !s.is_char_boundary(end) {
                    end -= 1;
                }
                Ok(Value::String(s[..end].to_string().into()))
            }),
        ),
        (
            "__label",
            func(|a: &[Value]| {
                need(a, 2, "Label")?;
                let key = as_string(&a[1]);
                match a[0].field("Labels") {
                    Some(Value::Map(m)) => Ok(m
                        .get(key.as_str())
                        .cloned()
                        .unwrap_or(Value::String("".into()))),
                    // ps/images contexts carry labels as "k=v,k2=v2".
                    Some(Value::String(s)) => Ok(Value::String(
                        s.split(',')
                            .filter_map(|kv| kv.split_once('='))
                            .find(|(k, _)| *k == key)
                            .map(|(_, v)| v.to_string())
                            .unwrap_or_default()
                            .into(),
                    )),
                    _ => Ok(Value::String("".into())),
                }
            }),
        ),
    ]
}

/// Rewrites `.Label "k"` (a Go method call with an argument, which gotmpl cannot call on a
/// map) into `__label . "k"`.
fn rewrite_methods(src: &str) -> String {
    let mut out = String::with_capacity(src.len());
    let mut rest = src;
    while let Some(i) = rest.find("{{") {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        let end = after.find("}}").map(|e| e + 2).unwrap_or(after.len());
        let action = &after[..end];
        let mut a = String::with_capacity(action.len());
        let bytes: Vec<char> = action.chars().collect();
        let mut k = 0;
        while k < bytes.len() {
            let tail: String = bytes[k..].iter().take(7).collect();
            let prev_ok = k == 0 || !(bytes[k - 1].is_alphanumeric() || bytes[k - 1] == '_');
            if tail == ".Label " && prev_ok {
                a.push_str("__label . ");
                k += 7;
            } else {
                a.push(bytes[k]);
                k += 1;
            }
        }
        out.push_str(&a);
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

/// Parses a template with docker's function set.
pub fn parse(src: &str, header: bool) -> Result<Template, FormatError> {
    parse_with(src, header, gotmpl::MissingKey::Invalid)
}

fn parse_with(src: &str, header: bool, mk: gotmpl::MissingKey) -> Result<Template, FormatError> {
    let funcs: gotmpl::FuncMap = docker_funcs(header)
        .into_iter()
        .map(|(k, f)| (k.to_string(), f))
        .collect();
    Template::new("")
        .missing_key(mk)
        .funcs(funcs)
        .parse(&rewrite_methods(src))
        .map_err(|e| FormatError(format!("template parsing error: {e}")))
}

pub fn execute(t: &Template, v: &Value) -> Result<String, FormatError> {
    t.execute_to_string(v)
        .map_err(|e| FormatError(format!("template: {e}")))
}

/// Formats a list (ps, images, history): `table ...`, `json`, or a plain template.
/// `headers` maps a field name to its column title.
pub fn render_list(
    out: &mut dyn Write,
    format: &str,
    default_table: &str,
    headers: &[(&str, &str)],
    rows: &[Value],
) -> Result<(), FormatError> {
    let format = if format.is_empty() || format == "table" {
        default_table.to_string()
    } else if format == "json" {
        "{{json .}}".to_string()
    } else {
        format.to_string()
    };
    let is_table = format.starts_with("table");
    let mut body = if is_table {
        format["table".len()..].to_string()
    } else {
        format.clone()
    };
    body = body
        .trim_matches(' ')
        .replace("\\t", "\t")
        .replace("\\n", "\n");
    // Docker renders list rows from Go structs: an unknown field is an error, not
    // "<no value>" as with inspect's maps.
    let t = parse_with(&body, false, gotmpl::MissingKey::Error)?;
    let mut buf = String::new();
    if is_table {
        let ht = parse(&body, true)?;
        let hmap: serde_json::Map<String, serde_json::Value> = headers
            .iter()
            .map(|(k, v)| (k.to_string(), serde_json::Value::String(v.to_string())))
            .collect();
        let hv = from_json(&serde_json::Value::Object(hmap));
        buf.push_str(&execute(&ht, &hv)?);
        buf.push('\n');
    }
    for r in rows {
        let line = t.execute_to_string(r).map_err(|e| match e {
            gotmpl::TemplateError::MissingKey { key } => {
                let col = body.find(&format!(".{key}")).unwrap_or(0);
                FormatError(format!(
                    "failed to execute template: template: :1:{col}: executing \"\" at <.{key}>: can't evaluate field {key}"
                ))
            }
            e => FormatError(format!("template: {e}")),
        })?;
        buf.push_str(&line);
        buf.push('\n');
    }
    if is_table {
        write_tabbed(out, &buf);
    } else {
        let _ = out.write_all(buf.as_bytes());
    }
    Ok(())
}

/// Writes through a tab writer with docker's settings (minwidth 10, padding 3).
pub fn write_tabbed(out: &mut dyn Write, s: &str) {
    let mut tw = tabwriter::TabWriter::new(Vec::new()).minwidth(7).padding(3);
    let _ = tw.write_all(s.as_bytes());
    let _ = tw.flush();
    if let Ok(v) = tw.into_inner() {
        let _ = out.write_all(&v);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(src: &str, v: serde_json::Value) -> String {
        let t = parse(src, false).map_err(|e| e.0);
        match t {
            Ok(t) => execute(&t, &from_json(&v)).unwrap_or_else(|e| e.0),
            Err(e) => e,
        }
    }

    #[test]
    fn docker_functions() {
        let v = json!({"Names":"web","State":{"Running":true,"Pid":42},
            "Labels":"k=v,x=y","Config":{"Labels":{"k":"v"},"Env":["A=1","B=2"]}});
        assert_eq!(run("{{.Names}}", v.clone()), "web");
        assert_eq!(
            run("{{.State.Running}} {{.State.Pid}}", v.clone()),
            "true 42"
        );
        assert_eq!(run(r#"{{index .Config.Labels "k"}}"#, v.clone()), "v");
        // A missing key of a string map is Go's zero value "", as docker's typed maps.
        assert_eq!(run(r#"[{{index .Config.Labels "nope"}}]"#, v.clone()), "[]");
        assert_eq!(
            run(r#"[{{index .State "nope"}}]"#, v.clone()),
            "[<no value>]"
        );
        assert_eq!(run(r#"{{index .Config.Env 1}}"#, v.clone()), "B=2");
        assert_eq!(run(r#"{{join .Config.Env ","}}"#, v.clone()), "A=1,B=2");
        assert_eq!(
            run("{{range .Config.Env}}[{{.}}]{{end}}", v.clone()),
            "[A=1][B=2]"
        );
        assert_eq!(
            run("{{upper .Names}} {{title .Names}}", v.clone()),
            "WEB Web"
        );
        assert_eq!(run("{{lower \"AB\"}}", v.clone()), "ab");
        assert_eq!(
            run("{{json .State}}", v.clone()),
            r#"{"Pid":42,"Running":true}"#
        );
        assert_eq!(run(r#"{{.Label "k"}}"#, v.clone()), "v");
        assert_eq!(
            run("{{truncate .Names 2}}|{{pad .Names 1 2}}|", v.clone()),
            "we| web  |"
        );
        assert_eq!(run(r#"{{split "a:b" ":"}}"#, v.clone()), "[a b]");
        assert_eq!(run("{{println .Names}}", v), "web\n");
    }

    #[test]
    fn json_of_an_api_struct_keeps_its_field_order() {
        let t = parse(
            "{{json .IPAM.Config}} {{json .Options}} {{.IPAM.Config}}",
            false,
        );
        let t = t.map_err(|e| e.0).expect("template");
        let v = json!({"IPAM": {"Config": [{"Subnet": "10.1.0.0/24", "Gateway": "10.1.0.1"}]},
            "Options": {"z": "1", "parent": "eth0"}});
        assert_eq!(
            execute_api(&t, &v).map_err(|e| e.0).expect("run"),
            r#"[{"Subnet":"10.1.0.0/24","Gateway":"10.1.0.1"}] {"parent":"eth0","z":"1"} [map[Gateway:10.1.0.1 Subnet:10.1.0.0/24]]"#
        );
        // Without the API's order (plain from_json), Go's sorted map order.
        assert_eq!(
            run("{{json .IPAM.Config}}", v),
            r#"[{"Gateway":"10.1.0.1","Subnet":"10.1.0.0/24"}]"#
        );
    }

    #[test]
    fn table_output() {
        let rows = vec![
            from_json(&json!({"ID":"abc","Names":"n1"})),
            from_json(&json!({"ID":"defghi","Names":"n2"})),
        ];
        let mut out = Vec::new();
        let r = render_list(
            &mut out,
            "",
            "table {{.ID}}\t{{.Names}}",
            &[("ID", "CONTAINER ID"), ("Names", "NAMES")],
            &rows,
        );
        assert!(r.is_ok());
        assert_eq!(
            String::from_utf8_lossy(&out),
            "CONTAINER ID   NAMES\nabc            n1\ndefghi         n2\n"
        );
        let mut out = Vec::new();
        let _ = render_list(&mut out, "json", "", &[], &rows[..1]);
        assert_eq!(
            String::from_utf8_lossy(&out),
            "{\"ID\":\"abc\",\"Names\":\"n1\"}\n"
        );
    }
}
