//! The docker CLI's template inspector runs an inspect template on the typed Go object
//! first; when that fails (a field the Go struct lacks, a field of a nil pointer, a field
//! of a string), it runs the template again on the raw JSON with `missingkey=error` and
//! reports that run's error as `template parsing error: ...` (`map has no entry for key
//! "X"`). A key missing from a Go map (labels, options) is no failure: it prints `<no
//! value>`. gotmpl has one missing-key mode per run and cannot tell a struct from a map, so
//! this module walks the template's field chains over the typed value itself, following
//! dot through `with` and `range` as the executor does, to find out whether the typed run
//! would fail, and then over the raw JSON to find the node and key docker names.

use super::go_types;
use super::Value;
use gotmpl::parse::{Expr, ListNode, Node, PipeNode};

/// What stops a walk: the chain (as written), its position (Go's: the chain's second
/// element when it has several) and the error's tail.
pub struct Failure {
    pub node: String,
    pub offset: usize,
    pub message: String,
}

#[derive(Clone, Copy)]
enum Mode {
    /// The typed object: Go maps give no value, structs fail on a missing field.
    Typed,
    /// The raw JSON with missingkey=error: every missing key fails.
    Raw,
    /// A Go struct the docker CLI runs a template on directly (`info`, `version`, the list
    /// formatters' contexts): a field its type lacks fails with Go's `can't evaluate field
    /// X in type T`, T from the table (see [`GoStruct`]).
    Struct(&'static GoStruct),
    /// Inside `with`/`range` of a [`Mode::Struct`] walk, where dot's Go type is not
    /// tracked: nothing fails (gotmpl's own run decides).
    Loose,
}

/// The Go types of a value the docker CLI templates directly: the root's type name, the
/// type names of fields by path (`Plugins`, `Server.Platform`), the paths that are Go maps
/// (a missing key prints `<no value>`), and the paths of fields a daemon may leave out
/// (omitempty: Go prints their zero value, so they never fail). A path not in the table
/// is named by its JSON kind (`string`, `bool`, `int`, `[]string`).
pub struct GoStruct {
    pub root: &'static str,
    pub types: &'static [(&'static str, &'static str)],
    pub maps: &'static [&'static str],
    pub optional: &'static [&'static str],
}

impl GoStruct {
    fn type_of(&self, path: &str, v: &Value) -> String {
        if path.is_empty() {
            return self.root.to_string();
        }
        if let Some((_, t)) = self.types.iter().find(|(p, _)| *p == path) {
            return t.to_string();
        }
        match v {
            Value::String(_) => "string",
            Value::Bool(_) => "bool",
            Value::Int(_) | Value::Uint(_) => "int",
            Value::Float(_) => "float64",
            Value::List(_) => "[]string",
            _ => "interface {}",
        }
        .to_string()
    }
}

/// The first failure of running `list` on the Go struct `root` typed by `types`.
pub fn first_struct_failure(
    list: &ListNode,
    root: &Value,
    types: &'static GoStruct,
) -> Option<Failure> {
    walk_list(list, root, root, Mode::Struct(types))
}

/// The first failure of running `list` on `root`, in execution order, if any.
pub fn first_failure(list: &ListNode, root: &Value, raw: bool) -> Option<Failure> {
    let mode = if raw { Mode::Raw } else { Mode::Typed };
    walk_list(list, root, root, mode)
}

fn walk_list(list: &ListNode, dot: &Value, root: &Value, mode: Mode) -> Option<Failure> {
    for node in &list.nodes {
        if let Some(f) = walk_node(node, dot, root, mode) {
            return Some(f);
        }
    }
    None
}

fn walk_node(node: &Node, dot: &Value, root: &Value, mode: Mode) -> Option<Failure> {
    match node {
        Node::List(l) => walk_list(l, dot, root, mode),
        Node::Action(a) => walk_pipe(&a.pipe, dot, root, mode),
        Node::If(b) => {
            if let Some(f) = walk_pipe(&b.pipe, dot, root, mode) {
                return Some(f);
            }
            // The branch taken, when the condition is one chain; else neither is known.
            let cond = single_value(&b.pipe, dot, root, mode)?;
            if truthy(&cond) {
                walk_list(&b.body, dot, root, mode)
            } else {
                b.else_body
                    .as_ref()
                    .and_then(|e| walk_list(e, dot, root, mode))
            }
        }
        Node::With(b) => {
            if let Some(f) = walk_pipe(&b.pipe, dot, root, mode) {
                return Some(f);
            }
            let v = single_value(&b.pipe, dot, root, mode)?;
            if truthy(&v) {
                walk_list(&b.body, &v, root, body_mode(mode))
            } else {
                b.else_body
                    .as_ref()
                    .and_then(|e| walk_list(e, dot, root, mode))
            }
        }
        Node::Range(b) => {
            if let Some(f) = walk_pipe(&b.pipe, dot, root, mode) {
                return Some(f);
            }
            let v = single_value(&b.pipe, dot, root, mode)?;
            let items: Vec<Value> = match &v {
                Value::List(l) => l.to_vec(),
                Value::Map(m) => m.values().cloned().collect(),
                _ => return None,
            };
            if items.is_empty() {
                return b
                    .else_body
                    .as_ref()
                    .and_then(|e| walk_list(e, dot, root, mode));
            }
            items
                .iter()
                .find_map(|item| walk_list(&b.body, item, root, body_mode(mode)))
        }
        _ => None,
    }
}

/// The mode for a body whose dot is a value of the walked one.
fn body_mode(mode: Mode) -> Mode {
    match mode {
        Mode::Struct(_) => Mode::Loose,
        m => m,
    }
}

fn walk_pipe(pipe: &PipeNode, dot: &Value, root: &Value, mode: Mode) -> Option<Failure> {
    for cmd in &pipe.commands {
        for arg in &cmd.args {
            if let Some(f) = walk_expr(arg, dot, root, mode) {
                return Some(f);
            }
        }
    }
    None
}

fn walk_expr(e: &Expr, dot: &Value, root: &Value, mode: Mode) -> Option<Failure> {
    match e {
        Expr::Field(pos, names) => walk_chain(dot, names, pos.offset, "", mode).err(),
        Expr::Variable(pos, var, names) if var.as_str() == "$" && !names.is_empty() => {
            walk_chain(root, names, pos.offset, "$", mode).err()
        }
        Expr::Pipe(_, p) => walk_pipe(p, dot, root, mode),
        _ => None,
    }
}

/// The value of a pipeline that is one field chain (of dot or `$`), if it is one.
fn single_value(pipe: &PipeNode, dot: &Value, root: &Value, mode: Mode) -> Option<Value> {
    if !pipe.decl.is_empty() || pipe.commands.len() != 1 || pipe.commands[0].args.len() != 1 {
        return None;
    }
    match &pipe.commands[0].args[0] {
        Expr::Field(pos, names) => walk_chain(dot, names, pos.offset, "", mode).ok(),
        Expr::Dot(_) => Some(dot.clone()),
        Expr::Variable(pos, var, names) if var.as_str() == "$" => {
            walk_chain(root, names, pos.offset, "$", mode).ok()
        }
        _ => None,
    }
}

/// Go's truth of a value (zero values, nil and empty collections are false).
fn truthy(v: &Value) -> bool {
    match v {
        Value::Nil => false,
        Value::Bool(b) => *b,
        Value::Int(i) => *i != 0,
        Value::Uint(u) => *u != 0,
        Value::Float(f) => *f != 0.0,
        Value::String(s) => !s.is_empty(),
        Value::List(l) => !l.is_empty(),
        Value::Map(m) => !m.is_empty(),
        _ => true,
    }
}

/// Follows `names` from `start`: the value reached (Nil after a Go map's missing key), or
/// the failure the typed or raw run has there.
fn walk_chain<N: AsRef<str>>(
    start: &Value,
    names: &[N],
    offset: usize,
    prefix: &str,
    mode: Mode,
) -> Result<Value, Failure> {
    let node = format!(
        "{prefix}{}",
        names
            .iter()
            .map(|n| format!(".{}", n.as_ref()))
            .collect::<String>()
    );
    // Go positions a chain of several fields at its second element, and a `$` chain
    // (`$.A.B`, parsed as a chain on the variable) at its first field, after the `$`.
    let at = if prefix == "$" {
        offset + 1
    } else if names.len() >= 2 {
        offset + prefix.len() + 1 + names[0].as_ref().len()
    } else {
        offset
    };
    let fail = |message: String| Failure {
        node: node.clone(),
        offset: at,
        message,
    };
    let mut cur = start.clone();
    if let Mode::Struct(types) = mode {
        // `$` is the root; dot is too outside `with`/`range` (see `body_mode`).
        return walk_struct(cur, names, types, &fail);
    }
    if matches!(mode, Mode::Loose) {
        return Ok(Value::Nil);
    }
    for name in names {
        let name = name.as_ref();
        let next = match &cur {
            Value::Map(m) => match m.get(name) {
                Some(v) => v.clone(),
                None if matches!(mode, Mode::Raw) => {
                    return Err(fail(format!("map has no entry for key \"{name}\"")))
                }
                None => {
                    // An object the types leave undescribed (swarm objects, say) may be a Go
                    // struct whose omitempty field the daemon left out (a dnsrr service's
                    // `Endpoint.VirtualIPs`): docker's typed run prints its zero value, so
                    // only a name no exported Go field can have fails there.
                    let maybe_omitted = !go_types::is_described(m)
                        && name.starts_with(|c: char| c.is_ascii_uppercase());
                    if matches!(go_types::nil_of(&cur), Some(go_types::Nil::Pointer))
                        || (!go_types::is_go_map(m) && !maybe_omitted)
                    {
                        // A field of a nil pointer or one the struct lacks: the typed
                        // run fails (the raw run says how).
                        return Err(fail(String::new()));
                    }
                    return Ok(Value::Nil);
                }
            },
            Value::Nil => return Ok(Value::Nil),
            _ if matches!(mode, Mode::Raw) => {
                return Err(fail(format!(
                    "can't evaluate field {name} in type interface {{}}"
                )))
            }
            _ => return Err(fail(String::new())),
        };
        cur = next;
    }
    Ok(cur)
}

/// [`walk_chain`] over a Go struct typed by `types` (see [`Mode::Struct`]).
fn walk_struct<N: AsRef<str>>(
    mut cur: Value,
    names: &[N],
    types: &GoStruct,
    fail: &dyn Fn(String) -> Failure,
) -> Result<Value, Failure> {
    let mut path = String::new();
    for name in names {
        let name = name.as_ref();
        let child = if path.is_empty() {
            name.to_string()
        } else {
            format!("{path}.{name}")
        };
        let missing = |cur: &Value| {
            fail(format!(
                "can't evaluate field {name} in type {}",
                types.type_of(&path, cur)
            ))
        };
        cur = match &cur {
            Value::Map(m) if types.maps.contains(&path.as_str()) => {
                m.get(name).cloned().unwrap_or(Value::Nil)
            }
            Value::Map(m) => match m.get(name) {
                Some(v) => v.clone(),
                None if types.optional.contains(&child.as_str()) => Value::Nil,
                None => return Err(missing(&cur)),
            },
            // A nil value: a typed nil pointer still fails on a field its type lacks
            // (Go checks the type first); anything else untyped gives no value.
            Value::Nil => {
                if types.types.iter().any(|(p, _)| *p == path)
                    && !types.optional.contains(&child.as_str())
                {
                    return Err(missing(&cur));
                }
                return Ok(Value::Nil);
            }
            other => return Err(missing(other)),
        };
        path = child;
    }
    Ok(cur)
}
