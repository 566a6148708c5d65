//! The client side of `-v` and `--mount`, as the docker CLI parses them (opts/mount.go):
//! `--mount` errors are the CLI's own ("invalid argument ... for \"--mount\" flag: ...");
//! the daemon checks the rest.

use berth_api::models::{BindOptions, Empty, Mount, TmpfsOptions, VolumeOptions};
use std::collections::BTreeMap;

fn bool_val(key: &str, val: &str) -> Result<bool, String> {
    match val {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Ok(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Ok(false),
        _ => Err(format!("invalid value for {key}: {val}")),
    }
}

fn abs_if_dot(p: &str) -> String {
    if p == "." || p.starts_with("./") || p == ".." || p.starts_with("../") {
        if let Ok(cwd) = std::env::current_dir() {
            let joined = cwd.join(p);
            let mut out = std::path::PathBuf::new();
            for c in joined.components() {
                match c {
                    std::path::Component::CurDir => {}
                    std::path::Component::ParentDir => {
                        out.pop();
                    }
                    c => out.push(c),
                }
            }
            return out.to_string_lossy().into_owned();
        }
    }
    p.to_string()
}

/// Splits a CSV record as Go's encoding/csv does for one line (quotes allowed).
fn csv_fields(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// One `--mount` value -> a HostConfig.Mounts entry.
pub fn parse_mount(value: &str) -> Result<Mount, String> {
    let mut m = Mount {
        kind: "volume".into(),
        ..Default::default()
    };
    let mut bind = BindOptions::default();
    let mut vol = VolumeOptions::default();
    let mut tmpfs = TmpfsOptions::default();
    let (mut has_bind, mut has_vol, mut has_tmpfs) = (false, false, false);
    let mut has_target = false;
    for field in csv_fields(value) {
        let (key, val) = match field.split_once('=') {
            Some((k, v)) => (k.to_lowercase(), v.to_string()),
            None => {
                let k = field.to_lowercase();
                match k.as_str() {
                    "readonly" | "ro" | "volume-nocopy" | "bind-nonrecursive" => {
                        (k, "true".to_string())
                    }
                    _ => return Err(format!("invalid field '{field}' must be a key=value pair")),
                }
            }
        };
        match key.as_str() {
            "type" => m.kind = val.to_lowercase(),
            "source" | "src" => m.source = abs_if_dot(&val),
            "target" | "dst" | "destination" => {
                m.target = val;
                has_target = true;
            }
            "readonly" | "ro" => m.read_only = bool_val(&key, &val)?,
            "consistency" => m.consistency = val.to_lowercase(),
            "bind-propagation" => {
                has_bind = true;
                bind.propagation = val.to_lowercase();
            }
            "bind-nonrecursive" => {
                has_bind = true;
                bind.non_recursive = bool_val(&key, &val)?;
            }
            "volume-nocopy" => {
                has_vol = true;
                vol.no_copy = bool_val(&key, &val)?;
            }
            "volume-subpath" => {
                has_vol = true;
                vol.subpath = val;
            }
            "volume-label" => {
                has_vol = true;
                let (k, v) = val.split_once('=').unwrap_or((&val, ""));
                vol.labels
                    .get_or_insert_with(Default::default)
                    .insert(k.to_string(), v.to_string());
            }
            "volume-driver" => {
                has_vol = true;
                vol.driver_config.get_or_insert_with(Default::default).name = val;
            }
            "volume-opt" => {
                has_vol = true;
                let (k, v) = val
                    .split_once('=')
                    .ok_or_else(|| format!("invalid volume-opt '{val}'"))?;
                vol.driver_config
                    .get_or_insert_with(Default::default)
                    .options
                    .get_or_insert_with(Default::default)
                    .insert(k.to_string(), v.to_string());
            }
            "tmpfs-size" => {
                has_tmpfs = true;
                tmpfs.size_bytes = crate::units::ram_in_bytes(&val)
                    .map_err(|_| format!("invalid value for {key}: {val}"))?;
            }
            "tmpfs-mode" => {
                has_tmpfs = true;
                tmpfs.mode = u32::from_str_radix(&val, 8)
                    .map_err(|_| format!("invalid value for {key}: {val}"))?;
            }
            _ => return Err(format!("unexpected key '{key}' in '{field}'")),
        }
    }
    let typ = m.kind.clone();
    if typ.is_empty() {
        return Err("type is required".into());
    }
    if !has_target {
        return Err("target is required".into());
    }
    if has_vol && typ != "volume" {
        return Err(format!(
            "cannot mix 'volume-*' options with mount type '{typ}'"
        ));
    }
    if has_bind && typ != "bind" {
        return Err(format!(
            "cannot mix 'bind-*' options with mount type '{typ}'"
        ));
    }
    if has_tmpfs && typ != "tmpfs" {
        return Err(format!(
            "cannot mix 'tmpfs-*' options with mount type '{typ}'"
        ));
    }
    if has_bind {
        m.bind_options = Some(bind);
    }
    if has_vol {
        vol.driver_config.get_or_insert_with(Default::default);
        m.volume_options = Some(vol);
    }
    if has_tmpfs {
        m.tmpfs_options = Some(tmpfs);
    }
    Ok(m)
}

/// Every `--mount`, with the flag error wording of the docker CLI.
pub fn parse_mounts(list: &[String]) -> Result<Vec<Mount>, String> {
    list.iter()
        .map(|v| {
            parse_mount(v)
                .map_err(|e| format!("invalid argument \"{v}\" for \"--mount\" flag: {e}"))
        })
        .collect()
}

/// `-v` values: binds (with a relative `./` host path made absolute, as the docker CLI
/// does) and anonymous volumes for Config.Volumes.
pub fn split_volumes(list: &[String]) -> (Vec<String>, BTreeMap<String, Empty>) {
    let mut binds = Vec::new();
    let mut volumes = BTreeMap::new();
    for v in list {
        match v.split_once(':') {
            Some((host, rest)) => {
                let host = if host.starts_with('.') {
                    abs_if_dot(host)
                } else {
                    host.to_string()
                };
                binds.push(format!("{host}:{rest}"));
            }
            None => {
                volumes.insert(v.clone(), Empty);
            }
        }
    }
    (binds, volumes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn mount_flags_as_docker() {
        let j = |m: Mount| serde_json::to_value(m).unwrap();
        let m = parse_mount("type=volume,src=mv,dst=/m,volume-nocopy").unwrap();
        assert_eq!(
            j(m),
            json!({"Type":"volume","Source":"mv","Target":"/m","VolumeOptions":{"NoCopy":true,"DriverConfig":{}}})
        );
        let m = parse_mount("type=tmpfs,dst=/t,tmpfs-size=1m,tmpfs-mode=1770").unwrap();
        assert_eq!(
            j(m)["TmpfsOptions"],
            json!({"SizeBytes":1048576,"Mode":0o1770})
        );
        let m = parse_mount("type=bind,source=/tmp,target=/h,readonly,bind-propagation=rslave")
            .unwrap();
        let m = j(m);
        assert_eq!(m["ReadOnly"], json!(true));
        assert_eq!(m["BindOptions"]["Propagation"], json!("rslave"));
        let e = |s: &str| parse_mount(s).unwrap_err();
        assert_eq!(e("type=bind,source=/tmp"), "target is required");
        assert_eq!(
            e("type=volume,src=v1,dst=/x,foo=bar"),
            "unexpected key 'foo' in 'foo=bar'"
        );
        assert_eq!(e("foo"), "invalid field 'foo' must be a key=value pair");
        assert_eq!(
            e("type=bind,src=/a,dst=/b,volume-nocopy"),
            "cannot mix 'volume-*' options with mount type 'bind'"
        );
        assert_eq!(
            e("type=tmpfs,dst=/t,tmpfs-mode=9"),
            "invalid value for tmpfs-mode: 9"
        );
    }

    #[test]
    fn volumes_split_into_binds() {
        let (b, v) = split_volumes(&["/anon".into(), "data:/d".into(), "/h:/c:ro".into()]);
        assert_eq!(b, vec!["data:/d", "/h:/c:ro"]);
        assert!(v.contains_key("/anon"));
    }
}
