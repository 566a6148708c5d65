//! `--format` handling: Go templates (gotmpl) with docker's extra functions, `table` and
//! `json` formats, and tab-aligned output like docker's formatter.

use std::io::Write;
use std::sync::Arc;

pub use gotmpl::Value;
use gotmpl::{Template, ValueFunc};
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
    // A Go nil pointer, slice or map marshals as null.
    if go_types::nil_of(v).is_some() {
        return J::Null;
    }
    match v {
        Value::Nil => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::Uint(u) => J::from(*u),
        // encoding/json writes an integral float without a fraction (`0`, not `0.0`).
        Value::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => J::from(*f as i64),
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

mod fallback;
pub use fallback::GoStruct;
mod operands;

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

    /// Notes `keys` as the keys `m`'s JSON has, in this order, whatever they look like
    /// (a typed struct: the fields added for printing stay out of its JSON).
    pub fn note_always(m: &Arc<Fields>, keys: Vec<Arc<str>>) {
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

/// The Go types behind `inspect` results, where a JSON null or a missing key prints
/// otherwise than gotmpl's `<no value>`. The docker CLI runs an inspect template on the
/// typed response first (its template inspector falls back to the raw JSON map only when
/// that fails), so a null or omitted field prints as its Go zero value: a nil pointer
/// `<nil>`, a nil slice `[]`, a nil map `map[]`, an omitted string "" (and is false in
/// `if`); `json` still marshals nil pointers, slices and maps as `null`, and omitted
/// (`omitempty`) fields stay out of a struct's JSON. Only the fields that are null or
/// omitted in practice are described; every other value is taken as the JSON has it.
mod go_types {
    use super::Value;
    use std::cell::RefCell;
    use std::collections::{BTreeMap, HashMap};
    use std::sync::{Arc, Weak};

    /// A Go type, as much of it as printing needs.
    #[derive(Clone, Copy)]
    pub enum Ty {
        /// Taken as the JSON has it.
        Any,
        Str,
        Bool,
        /// A pointer (to a struct when present).
        Ptr(&'static Ty),
        Slice,
        Map,
        /// A map whose values are of this type.
        MapOf(&'static Ty),
        Struct(&'static [(&'static str, Ty)]),
    }

    type Fields = BTreeMap<Arc<str>, Value>;

    /// What a value made by [`typed`] stands for.
    #[derive(Clone, Copy, PartialEq, Eq)]
    pub enum Nil {
        /// A nil pointer: an empty map here, printed `<nil>` (see `wrap_prints`).
        Pointer,
        /// A nil slice or map: an empty list or map, marshalled as `null`.
        Collection,
    }

    thread_local! {
        static NILS: RefCell<HashMap<usize, (Nil, Weak<Fields>)>> = RefCell::new(HashMap::new());
        static NIL_LISTS: RefCell<HashMap<usize, Weak<[Value]>>> = RefCell::new(HashMap::new());
        /// The maps that stand for Go maps (a missing key is Go's invalid value, printed
        /// `<no value>`), as opposed to structs (a missing field fails the typed run).
        static GO_MAPS: RefCell<HashMap<usize, Weak<Fields>>> = RefCell::new(HashMap::new());
        /// The maps made from a described struct ([`Ty::Struct`]): their missing fields are
        /// known to be missing from the Go struct too.
        static DESCRIBED: RefCell<HashMap<usize, Weak<Fields>>> = RefCell::new(HashMap::new());
    }

    type Marks = std::thread::LocalKey<RefCell<HashMap<usize, Weak<Fields>>>>;

    /// Puts `m` in the set `marks` (kept by address, weakly).
    fn mark(marks: &'static Marks, m: &Arc<Fields>) {
        let addr = Arc::as_ptr(m) as usize;
        marks.with(|n| n.borrow_mut().insert(addr, Arc::downgrade(m)));
    }

    /// Whether `m` itself (not a later map at the same address) is in `marks`.
    fn marked(marks: &'static Marks, m: &Arc<Fields>) -> bool {
        let addr = Arc::as_ptr(m) as usize;
        marks.with(|n| {
            n.borrow()
                .get(&addr)
                .and_then(|w| w.upgrade())
                .is_some_and(|a| Arc::ptr_eq(&a, m))
        })
    }

    /// Whether `m` was made from a described struct (see [`Ty::Struct`]).
    pub fn is_described(m: &Arc<Fields>) -> bool {
        marked(&DESCRIBED, m)
    }

    fn mark_go_map(v: Value) -> Value {
        if let Value::Map(m) = &v {
            mark(&GO_MAPS, m);
        }
        v
    }

    /// Whether `m` stands for a Go map of the typed object: described as one, or an
    /// object the types leave open whose keys are no struct fields (empty, or a key not
    /// starting with a capital letter: labels, ids, ports, options).
    pub fn is_go_map(m: &Arc<Fields>) -> bool {
        if marked(&GO_MAPS, m) || matches!(nil_of(&Value::Map(m.clone())), Some(Nil::Collection)) {
            return true;
        }
        if super::field_order::of(m).is_some() {
            // A typed struct (or an object whose daemon order was noted: struct-like).
            return false;
        }
        m.is_empty()
            || m.keys()
                .any(|k| !k.chars().next().is_some_and(|c| c.is_ascii_uppercase()))
    }

    fn nil_map(kind: Nil) -> Value {
        let m: Arc<Fields> = Arc::new(BTreeMap::new());
        let addr = Arc::as_ptr(&m) as usize;
        NILS.with(|n| n.borrow_mut().insert(addr, (kind, Arc::downgrade(&m))));
        Value::Map(m)
    }

    fn nil_list() -> Value {
        let l: Arc<[Value]> = Arc::from(Vec::<Value>::new());
        let addr = Arc::as_ptr(&l) as *const Value as usize;
        NIL_LISTS.with(|n| n.borrow_mut().insert(addr, Arc::downgrade(&l)));
        Value::List(l)
    }

    /// What `v` stands for when [`typed`] made it for a Go nil.
    pub fn nil_of(v: &Value) -> Option<Nil> {
        match v {
            Value::Map(m) => {
                let addr = Arc::as_ptr(m) as usize;
                NILS.with(|n| {
                    n.borrow()
                        .get(&addr)
                        .and_then(|(k, w)| w.upgrade().filter(|a| Arc::ptr_eq(a, m)).map(|_| *k))
                })
            }
            Value::List(l) => {
                let addr = Arc::as_ptr(l) as *const Value as usize;
                NIL_LISTS.with(|n| {
                    n.borrow()
                        .get(&addr)
                        .and_then(|w| w.upgrade())
                        .filter(|a| Arc::ptr_eq(a, l))
                        .map(|_| Nil::Collection)
                })
            }
            _ => None,
        }
    }

    /// Forgets every nil made so far.
    pub fn clear() {
        NILS.with(|n| n.borrow_mut().clear());
        NIL_LISTS.with(|n| n.borrow_mut().clear());
        GO_MAPS.with(|n| n.borrow_mut().clear());
        DESCRIBED.with(|n| n.borrow_mut().clear());
    }

    /// `v` (None: the key is missing) as a value of type `ty`; `conv` converts what the
    /// types do not describe.
    pub fn typed(
        v: Option<&serde_json::Value>,
        ty: Ty,
        conv: &dyn Fn(&serde_json::Value) -> Value,
    ) -> Value {
        use serde_json::Value as J;
        let v = v.filter(|v| !v.is_null());
        match (ty, v) {
            (Ty::Any, None) => Value::Nil,
            (Ty::Any, Some(v)) => conv(v),
            (Ty::Str, None) => Value::String("".into()),
            (Ty::Bool, None) => Value::Bool(false),
            (Ty::Str | Ty::Bool, Some(v)) => conv(v),
            (Ty::Ptr(_), None) => nil_map(Nil::Pointer),
            // A struct value the daemon left out: its fields' zero values.
            (Ty::Struct(_), None) => typed(Some(&J::Object(Default::default())), ty, conv),
            (Ty::Ptr(inner), Some(v)) => typed(Some(v), *inner, conv),
            (Ty::Slice, None) => nil_list(),
            (Ty::Map | Ty::MapOf(_), None) => nil_map(Nil::Collection),
            (Ty::MapOf(elem), Some(J::Object(o))) => mark_go_map(Value::Map(Arc::new(
                o.iter()
                    .map(|(k, v)| (Arc::<str>::from(k.as_str()), typed(Some(v), *elem, conv)))
                    .collect(),
            ))),
            (Ty::Map, Some(v @ J::Object(_))) => mark_go_map(conv(v)),
            (Ty::Struct(fields), Some(J::Object(o))) => {
                let mut m: Fields = o
                    .iter()
                    .map(|(k, v)| {
                        let val = match fields.iter().find(|(n, _)| *n == k.as_str()) {
                            Some((_, t)) => typed(Some(v), *t, conv),
                            None => conv(v),
                        };
                        (Arc::<str>::from(k.as_str()), val)
                    })
                    .collect();
                for (name, t) in fields.iter().filter(|(n, _)| !o.contains_key(*n)) {
                    m.insert(Arc::from(*name), typed(None, *t, conv));
                }
                let m = Arc::new(m);
                mark(&DESCRIBED, &m);
                // The JSON of the struct keeps the daemon's fields only (omitempty).
                super::field_order::note_always(
                    &m,
                    o.keys().map(|k| Arc::<str>::from(k.as_str())).collect(),
                );
                Value::Map(m)
            }
            (Ty::Struct(_) | Ty::Slice | Ty::Map | Ty::MapOf(_), Some(v)) => conv(v),
        }
    }

    use Ty::*;

    const PTR: Ty = Ptr(&Any);

    const HEALTHCHECK: Ty = Struct(&[("Test", Slice)]);

    /// container.Config (and the image config, which has its fields).
    pub const CONFIG: Ty = Struct(&[
        ("Domainname", Str),
        ("ExposedPorts", Map),
        ("Env", Slice),
        ("Cmd", Slice),
        ("Healthcheck", Ptr(&HEALTHCHECK)),
        ("ArgsEscaped", Bool),
        ("Volumes", Map),
        ("WorkingDir", Str),
        ("Entrypoint", Slice),
        ("NetworkDisabled", Bool),
        ("MacAddress", Str),
        ("OnBuild", Slice),
        ("Labels", Map),
        ("StopSignal", Str),
        ("StopTimeout", PTR),
        ("Shell", Slice),
    ]);

    const LOG_CONFIG: Ty = Struct(&[("Config", Map)]);

    const HOST_CONFIG: Ty = Struct(&[
        ("Binds", Slice),
        ("LogConfig", LOG_CONFIG),
        ("PortBindings", MapOf(&Slice)),
        ("VolumesFrom", Slice),
        ("Annotations", Map),
        ("CapAdd", Slice),
        ("CapDrop", Slice),
        ("Dns", Slice),
        ("DnsOptions", Slice),
        ("DnsSearch", Slice),
        ("ExtraHosts", Slice),
        ("GroupAdd", Slice),
        ("Links", Slice),
        ("SecurityOpt", Slice),
        ("StorageOpt", Map),
        ("Tmpfs", Map),
        ("Sysctls", Map),
        ("BlkioWeightDevice", Slice),
        ("BlkioDeviceReadBps", Slice),
        ("BlkioDeviceWriteBps", Slice),
        ("BlkioDeviceReadIOps", Slice),
        ("BlkioDeviceWriteIOps", Slice),
        ("Devices", Slice),
        ("DeviceCgroupRules", Slice),
        ("DeviceRequests", Slice),
        ("MemorySwappiness", PTR),
        ("OomKillDisable", PTR),
        ("PidsLimit", PTR),
        ("Ulimits", Slice),
        ("Mounts", Slice),
        ("MaskedPaths", Slice),
        ("ReadonlyPaths", Slice),
        ("Init", PTR),
    ]);

    const ENDPOINT: Ty = Struct(&[
        ("IPAMConfig", PTR),
        ("Links", Slice),
        ("Aliases", Slice),
        ("DriverOpts", Map),
        ("DNSNames", Slice),
    ]);

    const NETWORK_SETTINGS: Ty = Struct(&[
        ("Ports", MapOf(&Slice)),
        ("SecondaryIPAddresses", Slice),
        ("SecondaryIPv6Addresses", Slice),
        ("Networks", MapOf(&Ptr(&ENDPOINT))),
    ]);

    const STATE: Ty = Struct(&[("Health", PTR)]);

    const GRAPH_DRIVER: Ty = Struct(&[("Data", Map)]);

    /// container.InspectResponse.
    pub const CONTAINER: Ty = Struct(&[
        ("Args", Slice),
        ("State", Ptr(&STATE)),
        ("Node", PTR),
        ("ExecIDs", Slice),
        ("HostConfig", Ptr(&HOST_CONFIG)),
        ("GraphDriver", GRAPH_DRIVER),
        ("SizeRw", PTR),
        ("SizeRootFs", PTR),
        ("Mounts", Slice),
        ("Config", Ptr(&CONFIG)),
        ("NetworkSettings", Ptr(&NETWORK_SETTINGS)),
        ("ImageManifestDescriptor", PTR),
    ]);

    /// image.InspectResponse.
    pub const IMAGE: Ty = Struct(&[
        ("RepoTags", Slice),
        ("RepoDigests", Slice),
        ("Config", Ptr(&CONFIG)),
        ("Variant", Str),
        ("OsVersion", Str),
        ("GraphDriver", GRAPH_DRIVER),
        ("RootFS", Struct(&[("Layers", Slice)])),
        ("Descriptor", PTR),
        ("Manifests", Slice),
    ]);

    /// network.Inspect.
    pub const NETWORK: Ty = Struct(&[
        ("IPAM", Struct(&[("Options", Map), ("Config", Slice)])),
        ("Containers", Map),
        ("Options", Map),
        ("Labels", Map),
        ("Peers", Slice),
        ("Services", Map),
    ]);

    /// volume.Volume.
    pub const VOLUME: Ty = Struct(&[
        ("Labels", Map),
        ("Options", Map),
        ("Status", Map),
        ("UsageData", PTR),
        ("ClusterVolume", PTR),
    ]);

    /// The type of an inspect result, told by its fields (`docker inspect` mixes kinds).
    pub fn of(v: &serde_json::Value) -> Ty {
        let has = |k: &str| v.get(k).is_some();
        if has("State") && has("HostConfig") {
            CONTAINER
        } else if has("RootFS") {
            IMAGE
        } else if has("IPAM") {
            NETWORK
        } else if has("Mountpoint") {
            VOLUME
        } else {
            Any
        }
    }
}

/// Maps that stand for Go values other than maps: structs, which fmt prints as `{v1 v2}`
/// in field order (a map prints `map[k:v]`), and values with their own `MarshalJSON`
/// (compose's ps row: a sorted map, HTML-escaped by json.Marshal), whose JSON text is
/// kept. Notes are per thread, weak, and last until [`forget_go_values`].
mod go_values {
    use super::Value;
    use std::cell::RefCell;
    use std::collections::{BTreeMap, HashMap};
    use std::sync::{Arc, Weak};

    type Fields = BTreeMap<Arc<str>, Value>;

    thread_local! {
        static STRUCTS: RefCell<HashMap<usize, Weak<Fields>>> = RefCell::new(HashMap::new());
        static MARSHALED: RefCell<HashMap<usize, (Weak<Fields>, String)>> =
            RefCell::new(HashMap::new());
    }

    pub fn mark_struct(m: &Arc<Fields>) {
        let addr = Arc::as_ptr(m) as usize;
        STRUCTS.with(|n| n.borrow_mut().insert(addr, Arc::downgrade(m)));
    }

    pub fn is_struct(m: &Arc<Fields>) -> bool {
        let addr = Arc::as_ptr(m) as usize;
        STRUCTS.with(|n| {
            n.borrow()
                .get(&addr)
                .and_then(|w| w.upgrade())
                .is_some_and(|a| Arc::ptr_eq(&a, m))
        })
    }

    pub fn set_json(m: &Arc<Fields>, json: String) {
        let addr = Arc::as_ptr(m) as usize;
        MARSHALED.with(|n| n.borrow_mut().insert(addr, (Arc::downgrade(m), json)));
    }

    pub fn json_of(m: &Arc<Fields>) -> Option<String> {
        let addr = Arc::as_ptr(m) as usize;
        MARSHALED.with(|n| {
            n.borrow()
                .get(&addr)
                .and_then(|(w, j)| w.upgrade().filter(|a| Arc::ptr_eq(a, m)).map(|_| j.clone()))
        })
    }

    pub fn clear() {
        STRUCTS.with(|n| n.borrow_mut().clear());
        MARSHALED.with(|n| n.borrow_mut().clear());
    }
}

/// A Go struct value: its fields in declaration order. A template prints it as fmt does
/// (`{127.0.0.1 80 8080 tcp}`, through [`render_list_go`]) and `json` marshals its fields
/// in that order.
pub fn go_struct(fields: &[(&str, Value)]) -> Value {
    let m: Arc<std::collections::BTreeMap<Arc<str>, Value>> = Arc::new(
        fields
            .iter()
            .map(|(k, v)| (Arc::<str>::from(*k), v.clone()))
            .collect(),
    );
    field_order::note_always(
        &m,
        fields.iter().map(|(k, _)| Arc::<str>::from(*k)).collect(),
    );
    go_values::mark_struct(&m);
    Value::Map(m)
}

/// `v` (a map) with its own JSON text: the template's `json` function prints `json` for it,
/// as Go's encoder calls a value's MarshalJSON.
pub fn with_json(v: Value, json: String) -> Value {
    if let Value::Map(m) = &v {
        go_values::set_json(m, json);
    }
    v
}

/// Forgets the notes [`go_struct`] and [`with_json`] took (and the field orders).
pub fn forget_go_values() {
    go_values::clear();
    field_order::clear();
}

/// fmt's `%v` of a value holding Go structs: a struct `{v1 v2}` in field order, a map
/// `map[k:v]`, a slice `[a b]`.
fn go_sprint(v: &Value) -> String {
    match v {
        Value::Map(m) if go_values::is_struct(m) => {
            let keys = field_order::of(m).unwrap_or_else(|| m.keys().cloned().collect());
            let parts: Vec<String> = keys
                .iter()
                .filter_map(|k| m.get(k))
                .map(go_sprint)
                .collect();
            format!("{{{}}}", parts.join(" "))
        }
        Value::Map(m) => {
            let parts: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{k}:{}", go_sprint(v)))
                .collect();
            format!("map[{}]", parts.join(" "))
        }
        Value::List(l) => {
            let parts: Vec<String> = l.iter().map(go_sprint).collect();
            format!("[{}]", parts.join(" "))
        }
        other => other.to_string(),
    }
}

/// True when `v` is or holds a [`go_struct`].
fn holds_struct(v: &Value) -> bool {
    match v {
        Value::Map(m) => go_values::is_struct(m) || m.values().any(holds_struct),
        Value::List(l) => l.iter().any(holds_struct),
        _ => false,
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
///
/// The object is typed as the docker CLI's Go struct where that changes what prints (see
/// [`go_types`]); with a template from [`parse_inspect`], a nil pointer prints `<nil>`.
pub fn execute_api(t: &Template, v: &serde_json::Value) -> Result<String, FormatError> {
    let typed = go_types::typed(Some(v), go_types::of(v), &from_api_json);
    let r = execute(t, &typed);
    drop(typed);
    field_order::clear();
    go_types::clear();
    r
}

/// [`execute_api`] as the docker CLI's template inspector runs an inspect template:
/// when the run on the typed Go object would fail (a field its struct lacks, a field of a
/// nil pointer; see the `fallback` module), the template runs again on the raw JSON
/// with `missingkey=error`, and that run's failure is docker's `template parsing error:`
/// naming the node and the missing key. `src` is the template as the user wrote it.
pub fn execute_inspect(
    t: &Template,
    src: &str,
    v: &serde_json::Value,
) -> Result<String, FormatError> {
    let Ok((tree, _)) = gotmpl::parse::Parser::new(src, "{{", "}}").and_then(|p| p.parse()) else {
        return execute_api(t, v);
    };
    let typed = go_types::typed(Some(v), go_types::of(v), &from_api_json);
    let typed_fails = fallback::first_failure(&tree, &typed, false).is_some();
    drop(typed);
    field_order::clear();
    go_types::clear();
    if !typed_fails {
        return execute_api(t, v);
    }
    let raw = from_json(v);
    if let Some(f) = fallback::first_failure(&tree, &raw, true) {
        let before = &src[..f.offset.min(src.len())];
        let line = 1 + before.matches('\n').count();
        let col = match before.rfind('\n') {
            Some(i) => f.offset - (i + 1),
            None => f.offset,
        };
        return Err(FormatError(format!(
            "template parsing error: template: :{line}:{col}: executing \"\" at <{}>: {}",
            f.node, f.message
        )));
    }
    // The raw JSON has what the typed run lacked: docker prints the raw run.
    let t = parse_with(src, false, gotmpl::MissingKey::Error)?;
    t.execute_to_string(&raw)
        .map_err(|e| FormatError(format!("template parsing error: template: {e}")))
}

/// The function [`parse_inspect`] ends every printing action with: a Go nil pointer (see
/// [`go_types`]) prints as fmt prints it, `<nil>`; anything else passes through.
const GO_PRINT: &str = "__go_print";

fn go_print(a: &[Value]) -> gotmpl::Result<Value> {
    let v = a.last().cloned().unwrap_or(Value::Nil);
    Ok(match go_types::nil_of(&v) {
        Some(go_types::Nil::Pointer) => Value::String("<nil>".into()),
        _ if holds_struct(&v) => Value::String(go_sprint(&v).into()),
        _ => v,
    })
}

/// Ends every printing action of `list` (those that declare no variable), at any depth,
/// with `| __go_print`.
fn wrap_prints(list: &mut gotmpl::parse::ListNode) {
    use gotmpl::parse::{CommandNode, Expr, Node};
    for node in &mut list.nodes {
        match node {
            Node::Action(a) if a.pipe.decl.is_empty() => {
                let pos = a.pipe.pos;
                a.pipe.commands.push(CommandNode {
                    pos,
                    args: vec![Expr::Identifier(pos, GO_PRINT.into())],
                });
            }
            Node::If(b) | Node::Range(b) | Node::With(b) => {
                wrap_prints(&mut b.body);
                if let Some(e) = &mut b.else_body {
                    wrap_prints(e);
                }
            }
            Node::List(l) => wrap_prints(l),
            _ => {}
        }
    }
}

/// Parses an `inspect` template: as [`parse`] (the same errors), then runs as the same
/// template with every printing action ending in [`GO_PRINT`], so that a nil pointer of the
/// typed object prints `<nil>` while staying false in `if`. gotmpl keeps a template's own
/// tree private: the wrapped tree is defined as template "" and run by `{{template "" .}}`.
pub fn parse_inspect(src: &str) -> Result<Template, FormatError> {
    parse_wrapped(src, gotmpl::MissingKey::Invalid)
}

/// [`parse_inspect`] with the missing-key mode `mk`.
fn parse_wrapped(src: &str, mk: gotmpl::MissingKey) -> Result<Template, FormatError> {
    let plain = parse_with(src, false, mk)?;
    let src = rewrite_methods(src);
    let parsed = gotmpl::parse::Parser::new(&src, "{{", "}}").and_then(|p| p.parse());
    let Ok((mut tree, defines)) = parsed else {
        return Ok(plain);
    };
    wrap_prints(&mut tree);
    let funcs: gotmpl::FuncMap = docker_funcs(false)
        .into_iter()
        .map(|(k, f)| (k.to_string(), f))
        .collect();
    let Ok(mut t) = Template::new("")
        .missing_key(mk)
        .funcs(funcs)
        .parse("{{template \"\" .}}")
    else {
        return Ok(plain);
    };
    t = t.add_parse_tree("", tree);
    for d in defines {
        let mut body = d.body;
        wrap_prints(&mut body);
        t = t.add_parse_tree(&d.name, body);
    }
    Ok(t)
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
    if let Value::Map(m) = v {
        if let Some(j) = go_values::json_of(m) {
            return j;
        }
    }
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
        (GO_PRINT, func(go_print)),
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
    let t = Template::new("")
        .missing_key(mk)
        .funcs(funcs)
        .parse(&rewrite_methods(src))
        .map_err(|e| FormatError(format!("template parsing error: {e}")))?;
    // Go's parser also wants operands apart (`{{json.}}` is an error), gotmpl's does not.
    if let Some(e) = operands::check("", src) {
        return Err(FormatError(format!("template parsing error: {e}")));
    }
    Ok(t)
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
    render_list_with(out, format, default_table, headers, rows, false, None)
}

/// How the docker CLI reports a list template's failure: the prefix its formatter gives
/// the error (`ps` says `failed to execute template`, the others `template parsing error`)
/// and the Go type of its rows (the formatter context, `*formatter.ContainerContext`).
pub struct ListContext {
    pub prefix: &'static str,
    pub row: &'static GoStruct,
}

/// [`render_list`] with docker's failure for a field the row's Go context lacks:
/// `PREFIX: template: :1:2: executing "" at <.nokey>: can't evaluate field nokey in type
/// *formatter.ContainerContext`.
pub fn render_list_in(
    out: &mut dyn Write,
    format: &str,
    default_table: &str,
    headers: &[(&str, &str)],
    rows: &[Value],
    ctx: &ListContext,
) -> Result<(), FormatError> {
    render_list_with(out, format, default_table, headers, rows, false, Some(ctx))
}

/// The docker CLI's `ps` (buildContainerListOptions) runs the whole `--format` once on an
/// empty `ContainerContext` before it lists anything (to see whether `.Size` is used),
/// unless `--quiet` or `--size` is given: the text as given, `table ` included and `\t`
/// not expanded, so a failure there is reported at its column in the whole string, and
/// with no container at all. `empty` is a row of that context's zero values.
pub fn list_precheck(format: &str, empty: &Value, ctx: &ListContext) -> Result<(), FormatError> {
    let Ok(t) = parse_with(format, false, gotmpl::MissingKey::Error) else {
        // Parse errors are reported by the list's own run, as before.
        return Ok(());
    };
    if t.execute_to_string(empty).is_ok() {
        return Ok(());
    }
    match struct_failure(format, "", empty, ctx.row) {
        Some(e) => Err(FormatError(format!("{}: {e}", ctx.prefix))),
        None => Ok(()),
    }
}

/// Where running `src` on the Go struct `v` (typed by `types`) fails as Go's executor
/// does, as `:LINE:COL: executing "NAME" at <NODE>: MESSAGE` (after `template: NAME`).
pub fn struct_failure(
    src: &str,
    name: &str,
    v: &Value,
    types: &'static GoStruct,
) -> Option<String> {
    let (tree, _) = gotmpl::parse::Parser::new(src, "{{", "}}")
        .and_then(|p| p.parse())
        .ok()?;
    let f = fallback::first_struct_failure(&tree, v, types)?;
    Some(struct_failure_text(src, name, &f))
}

/// What Go's executor writes before it stops at a [`struct_failure`], as far as it can be
/// told: the output of the template's text before the failing action, when that text is a
/// template of its own (not inside an unfinished `if`/`range`/`with`); else nothing.
pub fn struct_failure_partial(src: &str, v: &Value, types: &'static GoStruct) -> String {
    let partial = || -> Option<String> {
        let (tree, _) = gotmpl::parse::Parser::new(src, "{{", "}}")
            .and_then(|p| p.parse())
            .ok()?;
        let f = fallback::first_struct_failure(&tree, v, types)?;
        let start = src[..f.offset.min(src.len())].rfind("{{")?;
        let t = parse(&src[..start], false).ok()?;
        execute(&t, v).ok()
    };
    partial().unwrap_or_default()
}

fn struct_failure_text(src: &str, name: &str, f: &fallback::Failure) -> String {
    let before = &src[..f.offset.min(src.len())];
    let line = 1 + before.matches('\n').count();
    let col = match before.rfind('\n') {
        Some(i) => f.offset - (i + 1),
        None => f.offset,
    };
    format!(
        "template: {name}:{line}:{col}: executing \"{name}\" at <{}>: {}",
        f.node, f.message
    )
}

/// [`render_list`] for rows holding [`go_struct`] values: every printing action prints
/// them as Go's fmt does. Forgets the rows' notes ([`forget_go_values`]) when done.
pub fn render_list_go(
    out: &mut dyn Write,
    format: &str,
    default_table: &str,
    headers: &[(&str, &str)],
    rows: &[Value],
) -> Result<(), FormatError> {
    let r = render_list_with(out, format, default_table, headers, rows, true, None);
    forget_go_values();
    r
}

fn render_list_with(
    out: &mut dyn Write,
    format: &str,
    default_table: &str,
    headers: &[(&str, &str)],
    rows: &[Value],
    go_values: bool,
    ctx: Option<&ListContext>,
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
    let t = if go_values {
        parse_wrapped(&body, gotmpl::MissingKey::Error)?
    } else {
        parse_with(&body, false, gotmpl::MissingKey::Error)?
    };
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
        // Only a run that fails can fail in Go: every field gotmpl found, the Go context
        // has (the rows are its fields).
        let run = t.execute_to_string(r);
        if let (Err(_), Some(ctx)) = (&run, ctx) {
            if let Some(e) = struct_failure(&body, "", r, ctx.row) {
                return Err(FormatError(format!("{}: {e}", ctx.prefix)));
            }
        }
        let line = run.map_err(|e| match e {
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

    static INFO: GoStruct = GoStruct {
        root: "system.dockerInfo",
        types: &[
            ("Plugins", "system.PluginsInfo"),
            ("Swarm.Cluster", "*swarm.ClusterInfo"),
        ],
        maps: &["Runtimes"],
        optional: &["Swarm.Cluster", "ID"],
    };

    /// `ps`'s pre-run: the whole format, `table ` included, on an empty context.
    #[test]
    fn list_precheck_positions_in_the_whole_format() {
        static CTX: ListContext = ListContext {
            prefix: "failed to execute template",
            row: &GoStruct {
                root: "*formatter.ContainerContext",
                types: &[],
                maps: &[],
                optional: &[],
            },
        };
        let empty = from_json(&json!({"ID": "", "Labels": "", "Names": ""}));
        let e = list_precheck("table {{.ID}} {{.nokey}}", &empty, &CTX).unwrap_err();
        assert_eq!(
            e.0,
            "failed to execute template: template: :1:16: executing \"\" at <.nokey>: can't evaluate field nokey in type *formatter.ContainerContext"
        );
        let e = list_precheck("{{.Labels.x}}", &empty, &CTX).unwrap_err();
        assert!(
            e.0.ends_with("can't evaluate field x in type string"),
            "{}",
            e.0
        );
        for ok in [
            "table {{.ID}}\t{{.Names}}",
            "json",
            "{{.Label \"a\"}}",
            "{{json .}}",
        ] {
            assert!(list_precheck(ok, &empty, &CTX).is_ok(), "{ok}");
        }
    }

    /// A Go struct run directly (`info -f`): a field its type lacks fails with Go's
    /// message at Go's position; a Go map's missing key, a known field the JSON left out,
    /// and `with`/`range` bodies do not; a field of a scalar names its kind.
    #[test]
    fn struct_fields_fail_as_go() {
        let v = from_json(&json!({
            "Name": "h", "Debug": false, "NCPU": 2, "Labels": ["a"],
            "Plugins": {"Volume": ["local"]}, "Swarm": {"LocalNodeState": "inactive"},
            "Runtimes": {"runc": {}},
        }));
        let f = |src: &str| struct_failure(src, "", &v, &INFO);
        let at = |col: usize, node: &str, msg: &str| {
            Some(format!(
                "template: :1:{col}: executing \"\" at <{node}>: {msg}"
            ))
        };
        assert_eq!(
            f("{{.NoSuch}}"),
            at(
                2,
                ".NoSuch",
                "can't evaluate field NoSuch in type system.dockerInfo"
            )
        );
        // A `$` chain is positioned at its first field, after the `$`.
        assert_eq!(
            f("{{$.NoSuch}}"),
            at(
                3,
                "$.NoSuch",
                "can't evaluate field NoSuch in type system.dockerInfo"
            )
        );
        assert_eq!(
            f("{{$.Plugins.nokey}}"),
            at(
                3,
                "$.Plugins.nokey",
                "can't evaluate field nokey in type system.PluginsInfo"
            )
        );
        assert_eq!(
            f("{{.Plugins.nokey}}"),
            at(
                10,
                ".Plugins.nokey",
                "can't evaluate field nokey in type system.PluginsInfo"
            )
        );
        assert_eq!(
            f("{{.Name.x}}"),
            at(7, ".Name.x", "can't evaluate field x in type string")
        );
        assert_eq!(
            f("{{.Labels.x}}"),
            at(9, ".Labels.x", "can't evaluate field x in type []string")
        );
        assert_eq!(
            f("{{.Swarm.Cluster.x}}"),
            at(
                8,
                ".Swarm.Cluster.x",
                "can't evaluate field x in type *swarm.ClusterInfo"
            )
        );
        assert_eq!(
            f("a\n{{.Debug}}{{.NoSuch}}"),
            Some("template: :2:12: executing \"\" at <.NoSuch>: can't evaluate field NoSuch in type system.dockerInfo".into())
        );
        for ok in [
            "{{.Runtimes.nokey}}",
            "{{.Swarm.Cluster}}",
            "{{.ID}}",
            "{{.Name}} {{.Plugins.Volume}}",
            "{{with .Plugins}}{{.nokey}}{{end}}",
            "{{range .Labels}}{{.}}{{end}}",
        ] {
            assert_eq!(f(ok), None, "{ok}");
        }
    }

    /// docker's template inspector: a Go map's missing key prints `<no value>`, a
    /// struct's missing field (or a nil pointer's) fails with the raw run's error, at
    /// Go's position of the chain, through `with` and `range` too (outputs of the docker
    /// CLI 28 against a container).
    #[test]
    fn inspect_missing_fields_fail_as_docker() {
        let c = json!({
            "Id": "x", "Name": "/t",
            "State": {"Status": "created"},
            "HostConfig": {"NetworkMode": "bridge"},
            "Config": {"Labels": {"a": "1"}},
            "Mounts": [{"Type": "volume"}],
            "NetworkSettings": {"Networks": {"bridge": {"IPAddress": ""}}},
        });
        let run = |src: &str| {
            let t = parse_inspect(src).expect("parse");
            execute_inspect(&t, src, &c).map_err(|e| e.0)
        };
        let fail = |col: usize, node: &str, msg: &str| {
            Err(format!(
                "template parsing error: template: :1:{col}: executing \"\" at <{node}>: {msg}"
            ))
        };
        assert_eq!(run("{{.Config.Labels.nokey}}"), Ok("<no value>".into()));
        assert_eq!(run("{{.Config.Labels.nokey.x}}"), Ok("<no value>".into()));
        assert_eq!(
            run("{{.NetworkSettings.Networks.nonet.IPAddress}}"),
            Ok("<no value>".into())
        );
        assert_eq!(run("{{.State.Health}}"), Ok("<nil>".into()));
        assert_eq!(run("{{.Config.Labels.a}}"), Ok("1".into()));
        let missing = |k: &str| format!("map has no entry for key \"{k}\"");
        assert_eq!(
            run("{{.State.nokey}}"),
            fail(8, ".State.nokey", &missing("nokey"))
        );
        assert_eq!(
            run("{{.HostConfig.nokey}}"),
            fail(13, ".HostConfig.nokey", &missing("nokey"))
        );
        assert_eq!(
            run("{{.NoSuch.x}}"),
            fail(9, ".NoSuch.x", &missing("NoSuch"))
        );
        assert_eq!(
            run("{{.State.Health.Status}}"),
            fail(8, ".State.Health.Status", &missing("Health"))
        );
        assert_eq!(
            run("x{{.Config.Healthcheck.Test}}"),
            fail(10, ".Config.Healthcheck.Test", &missing("Healthcheck"))
        );
        assert_eq!(
            run("{{with .State}}{{.nokey}}{{end}}"),
            fail(17, ".nokey", &missing("nokey"))
        );
        assert_eq!(
            run("{{.Name}} {{.State.nokey}}"),
            fail(18, ".State.nokey", &missing("nokey"))
        );
        assert_eq!(
            run("{{if .State.nokey}}y{{end}}"),
            fail(11, ".State.nokey", &missing("nokey"))
        );
        assert_eq!(
            run("{{range .Mounts}}{{.nokey}}{{end}}"),
            fail(19, ".nokey", &missing("nokey"))
        );
        assert_eq!(
            run("{{.NetworkSettings.Networks.bridge.nokey}}"),
            fail(
                18,
                ".NetworkSettings.Networks.bridge.nokey",
                &missing("nokey")
            )
        );
        assert_eq!(
            run("{{.Config.Labels.a.b}}"),
            fail(
                9,
                ".Config.Labels.a.b",
                "can't evaluate field b in type interface {}"
            )
        );
    }

    /// An object the types do not describe (a swarm service) may be a Go struct whose
    /// omitempty field the daemon left out: docker's typed run prints the zero value
    /// (`{{json .Endpoint.VirtualIPs}}` of a dnsrr service is `null`); a name no exported
    /// Go field can have still fails.
    #[test]
    fn inspect_of_an_undescribed_struct_keeps_omitted_fields_printable() {
        let svc =
            json!({"ID": "x", "Spec": {"Name": "db"}, "Endpoint": {"Spec": {"Mode": "dnsrr"}}});
        let run = |src: &str| {
            let t = parse_inspect(src).expect("parse");
            execute_inspect(&t, src, &svc).map_err(|e| e.0)
        };
        assert_eq!(run("{{json .Endpoint.VirtualIPs}}"), Ok("null".into()));
        assert_eq!(
            run("{{.Endpoint.nokey}}"),
            Err("template parsing error: template: :1:11: executing \"\" at <.Endpoint.nokey>: map has no entry for key \"nokey\"".into())
        );
    }

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
    fn json_writes_floats_as_go() {
        // A float the daemon sends as 0.0 (MaxFailureRatio) is `0` in Go's JSON.
        assert_eq!(
            run("{{json .}}", json!({"M": 0.0, "N": 0.3, "O": 2.0})),
            r#"{"M":0,"N":0.3,"O":2}"#
        );
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
    fn inspect_nulls_print_as_the_docker_clis_typed_structs() {
        let c = json!({
            "Id": "abc",
            "State": {"Status": "running"},
            "HostConfig": {"Binds": null, "PidsLimit": null, "Dns": []},
            "Config": {"Volumes": null, "Cmd": ["sh"], "Labels": {}},
            "NetworkSettings": {"Networks": {"bridge": {"IPAMConfig": null, "Aliases": null}}},
        });
        let run_api = |src: &str| {
            let t = parse_inspect(src).map_err(|e| e.0).expect("template");
            execute_api(&t, &c).map_err(|e| e.0).expect("run")
        };
        // A nil pointer: <nil>, false, null; absent or null alike.
        assert_eq!(
            run_api("{{.State.Health}} {{.HostConfig.PidsLimit}} {{.NetworkSettings.Networks.bridge.IPAMConfig}}"),
            "<nil> <nil> <nil>"
        );
        assert_eq!(
            run_api("{{if .State.Health}}y{{else}}n{{end}} {{with .HostConfig.PidsLimit}}y{{end}}"),
            "n "
        );
        assert_eq!(
            run_api("{{json .State.Health}} {{json .HostConfig.PidsLimit}}"),
            "null null"
        );
        // Nil slices and maps: [] and map[], false, empty to range and len, null in JSON.
        assert_eq!(
            run_api("{{.HostConfig.Binds}} {{.Config.Volumes}} {{.NetworkSettings.Networks.bridge.Aliases}} {{.Config.Env}}"),
            "[] map[] [] []"
        );
        assert_eq!(
            run_api("{{json .HostConfig.Binds}} {{json .Config.Volumes}} {{json .HostConfig.Dns}} {{len .HostConfig.Binds}}{{range .HostConfig.Binds}}x{{end}}"),
            "null null [] 0"
        );
        // Omitted strings print empty; the struct's JSON keeps the daemon's fields only.
        assert_eq!(run_api("[{{.Config.StopSignal}}]"), "[]");
        assert_eq!(
            run_api("{{json .Config}}"),
            r#"{"Volumes":null,"Cmd":["sh"],"Labels":{}}"#
        );
        assert_eq!(run_api("{{json .State}}"), r#"{"Status":"running"}"#);
        // What the types do not describe stays gotmpl's (the raw JSON fallback's) answer;
        // declarations and nested templates work as before.
        assert_eq!(
            run_api("{{.Nope}} {{$h := .State.Health}}{{$h}}"),
            "<no value> <nil>"
        );
        assert_eq!(
            run_api(r#"{{define "h"}}{{.Health}}{{end}}{{template "h" .State}}|{{.Id}}"#),
            "<nil>|abc"
        );
        // An image and a volume.
        let v = json!({"Name": "v", "Mountpoint": "/x", "Labels": null, "Options": null});
        let t =
            parse_inspect("{{.Labels}} {{.UsageData}} {{json .Options}} {{.Status}}").expect("t");
        assert_eq!(
            execute_api(&t, &v).map_err(|e| e.0).expect("run"),
            "map[] <nil> null map[]"
        );
        let i =
            json!({"Id": "sha256:1", "RootFS": {"Type": "layers"}, "Config": {"Entrypoint": null}});
        let t = parse_inspect("{{.Config.Entrypoint}} {{.RepoDigests}} {{.Config.Healthcheck}}")
            .expect("t");
        assert_eq!(
            execute_api(&t, &i).map_err(|e| e.0).expect("run"),
            "[] [] <nil>"
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
