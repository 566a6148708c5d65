//! Merging compose trees (override files, `extends`): mappings merge key by key, the later
//! value wins for scalars, and sequences follow compose's rules: `command`, `entrypoint` and
//! `healthcheck.test` are replaced; `volumes` are keyed by target, `secrets`/`configs` by
//! target or source, `ports` deduplicated; list-like options (dns, cap_add ...) keep one of
//! each item; other sequences append.

use serde_norway::Value;

/// Merges `over` into `base` at `path` (dot-separated, `*` for any service).
pub fn merge(base: Value, over: Value, path: &[&str]) -> Value {
    match rule(path) {
        Rule::Replace => return over,
        Rule::Default => {}
    }
    match (base, over) {
        (Value::Mapping(mut b), Value::Mapping(o)) => {
            for (k, v) in o {
                let ks = crate::normalize::key_str(&k);
                match b.remove(&k) {
                    Some(existing) if !ks.starts_with("x-") => {
                        let mut p = path.to_vec();
                        p.push(&ks);
                        let merged = merge(existing, v, &p);
                        b.insert(k, merged);
                    }
                    _ => {
                        b.insert(k, v);
                    }
                }
            }
            Value::Mapping(b)
        }
        (Value::Sequence(b), Value::Sequence(o)) => Value::Sequence(merge_sequence(b, o, path)),
        (_, Value::Null) if is_service_level(path) => Value::Null,
        (_, over) => over,
    }
}

fn is_service_level(path: &[&str]) -> bool {
    path.len() == 2 && path[0] == "services"
}

enum Rule {
    Replace,
    Default,
}

fn rule(path: &[&str]) -> Rule {
    match path {
        ["services", _, "command" | "entrypoint"] => Rule::Replace,
        ["services", _, "healthcheck", "test"] => Rule::Replace,
        _ => Rule::Default,
    }
}

fn key_of(v: &Value, field: &str) -> Option<String> {
    v.get(field).and_then(Value::as_str).map(str::to_string)
}

fn merge_sequence(mut base: Vec<Value>, over: Vec<Value>, path: &[&str]) -> Vec<Value> {
    let field = match path {
        ["services", _, f] => *f,
        ["services", _, "build", f] => *f,
        _ => "",
    };
    match field {
        "volumes" => keyed(base, over, |v| key_of(v, "target")),
        "secrets" | "configs" => keyed(base, over, |v| {
            key_of(v, "target").or_else(|| key_of(v, "source"))
        }),
        "dns"
        | "dns_opt"
        | "dns_search"
        | "cap_add"
        | "cap_drop"
        | "expose"
        | "security_opt"
        | "tmpfs"
        | "devices"
        | "links"
        | "external_links"
        | "extra_hosts"
        | "volumes_from"
        | "profiles"
        | "group_add"
        | "device_cgroup_rules"
        | "env_file"
        | "ports"
        | "cache_from"
        | "tags"
        | "label_file" => {
            for v in over {
                if !base.contains(&v) {
                    base.push(v);
                }
            }
            base
        }
        _ => {
            base.extend(over);
            base
        }
    }
}

/// Items with the same key: the later one replaces the earlier one in place.
fn keyed(
    mut base: Vec<Value>,
    over: Vec<Value>,
    key: impl Fn(&Value) -> Option<String>,
) -> Vec<Value> {
    for v in over {
        let k = key(&v);
        match k
            .as_ref()
            .and_then(|k| base.iter().position(|b| key(b).as_ref() == Some(k)))
        {
            Some(i) => base[i] = v,
            None => base.push(v),
        }
    }
    base
}
