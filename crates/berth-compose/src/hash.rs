//! The `com.docker.compose.config-hash` label: SHA-256 of the service's JSON as compose
//! marshals it (Go's encoding/json, struct order, no `x-` extensions) with the fields that
//! must not force a recreate cleared (build, pull_policy, scale, replicas, depends_on,
//! profiles). Same bytes, same hash: a project started by one tool is up to date for the
//! other.

use crate::model::Service;
use serde_norway::Value;
use sha2::{Digest, Sha256};

pub fn config_hash(s: &Service) -> String {
    let mut s = s.clone();
    s.build = None;
    s.pull_policy.clear();
    s.scale = None;
    if let Some(d) = s.deploy.as_mut() {
        d.replicas = None;
    }
    s.depends_on.clear();
    s.profiles.clear();
    let mut v = serde_norway::to_value(&s).unwrap_or(Value::Null);
    crate::strip_extensions(&mut v);
    if let Value::Mapping(m) = &mut v {
        // `command` and `entrypoint` are not omitempty in JSON.
        let mut out = serde_norway::Mapping::new();
        let mut entries: Vec<(Value, Value)> = std::mem::take(m).into_iter().collect();
        for k in ["command", "entrypoint"] {
            if !entries.iter().any(|(e, _)| e.as_str() == Some(k)) {
                entries.push((Value::String(k.into()), Value::Null));
            }
        }
        entries.sort_by_key(|(k, _)| crate::json_order(k));
        out.extend(entries);
        *m = out;
    }
    let mut text = String::new();
    compact(&mut text, &v);
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Go's `json.Marshal` (compact, HTML-safe escapes).
pub fn compact(out: &mut String, v: &Value) {
    match v {
        Value::Sequence(s) => {
            out.push('[');
            for (i, x) in s.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                compact(out, x);
            }
            out.push(']');
        }
        Value::Mapping(m) => {
            out.push('{');
            for (i, (k, x)) in m.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                crate::emit::json_string(out, &crate::normalize::key_str(k));
                out.push(':');
                compact(out, x);
            }
            out.push('}');
        }
        other => out.push_str(&crate::emit::to_json(other)),
    }
}
