//! The `com.docker.compose.config-hash` label: SHA-256 of the service's JSON as compose
//! marshals it (Go's encoding/json, struct order, no `x-` extensions) with the fields that
//! must not force a recreate cleared (build, pull_policy, scale, replicas, depends_on,
//! profiles). Same bytes, same hash: a project started by one tool is up to date for the
//! other. A named volume carries the label too (compose 2.40's VolumeHash: the volume's
//! JSON with the driver defaulted to `local`, its own labels only).

use crate::model::{Network, Service, Volume};
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

/// The `com.docker.compose.config-hash` label of a project volume, as compose 2.40's
/// VolumeHash: SHA-256 of compose-go's VolumeConfig JSON (name, driver, driver_opts,
/// external, labels, in struct order, empty ones left out; extensions are not marshalled),
/// with an empty driver made `local`. The labels are the file's, before compose adds its
/// own.
pub fn volume_hash(v: &Volume) -> String {
    let mut v = v.clone();
    if v.driver.is_empty() {
        v.driver = "local".into();
    }
    v.extensions.clear();
    let v = serde_norway::to_value(&v).unwrap_or(Value::Null);
    let mut text = String::new();
    compact(&mut text, &v);
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// The `com.docker.compose.config-hash` label of a project network, as compose 2.40's
/// NetworkHash: SHA-256 of compose-go's NetworkConfig JSON (name, driver, driver_opts,
/// ipam, external, internal, attachable, labels, enable_ipv4, enable_ipv6; empty ones
/// left out except `ipam`, a struct, which Go's omitempty keeps as `{}`; extensions are
/// not marshalled). The labels are the file's.
pub fn network_hash(n: &Network) -> String {
    let mut n = n.clone();
    n.extensions.clear();
    n.ipam.extensions.clear();
    for pool in &mut n.ipam.config {
        pool.extensions.clear();
    }
    let mut v = serde_norway::to_value(&n).unwrap_or(Value::Null);
    if let Value::Mapping(m) = &mut v {
        let mut out = serde_norway::Mapping::new();
        for k in [
            "name",
            "driver",
            "driver_opts",
            "ipam",
            "external",
            "internal",
            "attachable",
            "labels",
            "enable_ipv4",
            "enable_ipv6",
        ] {
            match m.remove(k) {
                Some(x) => {
                    out.insert(Value::String(k.into()), x);
                }
                None if k == "ipam" => {
                    out.insert(
                        Value::String(k.into()),
                        Value::Mapping(serde_norway::Mapping::new()),
                    );
                }
                None => {}
            }
        }
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The hash docker compose 2.40.3 gave this volume (read back from the daemon in
    /// compose_runtime_keys::compose_runtime_volume_driver_options_and_labels).
    #[test]
    fn volume_hash_is_compose_s() {
        let mut v = Volume {
            name: "rkvold_data".into(),
            ..Default::default()
        };
        for (k, x) in [
            ("type", "tmpfs"),
            ("device", "tmpfs"),
            ("o", "size=1m,mode=0750"),
        ] {
            v.driver_opts.insert(k.into(), x.into());
        }
        v.labels.insert("x.vol".into(), "one".into());
        v.labels.insert("x.other".into(), "two".into());
        v.extensions.insert(
            "x-note".into(),
            serde_norway::Value::String("ignored".into()),
        );
        assert_eq!(
            volume_hash(&v),
            "3d11ddd2cb73494777aaddd5c9775002f16f905ed1e4a5a0c9473a681121dad9"
        );
    }
}
