//! The docker CLI's service flags with a syntax of their own: `-p/--publish` (short and
//! long forms, ranges), `--network` (name or `name=,alias=,driver-opt=`), `--mount`,
//! the health check flags, and the `*-add`/`*-rm` edits of `service update`.

use berth_api::swarm as sw;

/// `-p 8080:80[/udp]`, `-p 80` (a port from the swarm's range), `-p 8080-8081:80-81`,
/// `-p published=8080,target=80,protocol=udp,mode=host` (cli/opts.PortOpt).
pub fn parse_publish(v: &str) -> Result<Vec<sw::PortConfig>, String> {
    let bad = |why: &str| format!("invalid argument \"{v}\" for \"-p, --publish\" flag: {why}");
    if v.contains('=') {
        let mut p = sw::PortConfig {
            protocol: "tcp".into(),
            publish_mode: "ingress".into(),
            ..Default::default()
        };
        for part in v.split(',') {
            let (k, val) = part
                .split_once('=')
                .ok_or_else(|| bad(&format!("invalid field {part}")))?;
            match k.trim().to_ascii_lowercase().as_str() {
                "name" => p.name = val.into(),
                "protocol" => {
                    if !matches!(val, "tcp" | "udp" | "sctp") {
                        return Err(bad(&format!("invalid protocol value '{val}'")));
                    }
                    p.protocol = val.into()
                }
                "mode" => {
                    if !matches!(val, "ingress" | "host") {
                        return Err(bad(&format!("invalid publish mode value ({val})")));
                    }
                    p.publish_mode = val.into()
                }
                "target" => {
                    p.target_port = val
                        .parse()
                        .map_err(|_| bad(&format!("invalid target port ({val})")))?
                }
                "published" => {
                    p.published_port = val
                        .parse()
                        .map_err(|_| bad(&format!("invalid published port ({val})")))?
                }
                other => return Err(bad(&format!("invalid field key {other}"))),
            }
        }
        if p.target_port == 0 {
            return Err(bad("missing mandatory field \"target\""));
        }
        return Ok(vec![p]);
    }
    let (ports, proto) = match v.rsplit_once('/') {
        Some((p, proto)) => (p, proto.to_ascii_lowercase()),
        None => (v, "tcp".to_string()),
    };
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(bad(&format!("invalid proto: {proto}")));
    }
    let (published, target) = match ports.rsplit_once(':') {
        Some((pb, t)) => {
            if pb.contains(':') {
                return Err(bad("hostip is not supported"));
            }
            (Some(pb), t)
        }
        None => (None, ports),
    };
    let range = |r: &str| -> Result<(u32, u32), String> {
        let (a, b) = r.split_once('-').unwrap_or((r, r));
        let a: u32 = a
            .parse()
            .ok()
            .filter(|n| (1..=65535).contains(n))
            .ok_or_else(|| bad(&format!("invalid containerPort: {r}")))?;
        let b: u32 = b
            .parse()
            .ok()
            .filter(|n| *n >= a && *n <= 65535)
            .ok_or_else(|| bad(&format!("invalid containerPort: {r}")))?;
        Ok((a, b))
    };
    let (t0, t1) = range(target)?;
    let pub_range = match published {
        Some(pb) if !pb.is_empty() => {
            Some(range(pb).map_err(|_| bad(&format!("invalid hostPort: {pb}")))?)
        }
        _ => None,
    };
    if let Some((p0, p1)) = pub_range {
        if p1 - p0 != t1 - t0 {
            return Err(bad(&format!(
                "invalid ranges specified for container and host Ports: {target} and {}",
                published.unwrap_or("")
            )));
        }
    }
    Ok((0..=t1 - t0)
        .map(|i| sw::PortConfig {
            protocol: proto.clone(),
            target_port: t0 + i,
            published_port: pub_range.map(|(p0, _)| p0 + i).unwrap_or(0),
            publish_mode: "ingress".into(),
            ..Default::default()
        })
        .collect())
}

/// `--network NAME` or `--network name=NAME,alias=A,driver-opt=K=V`.
pub fn parse_network(v: &str) -> Result<sw::NetworkAttachmentConfig, String> {
    let mut n = sw::NetworkAttachmentConfig::default();
    if !v.contains('=') {
        n.target = v.to_string();
        return Ok(n);
    }
    for part in v.split(',') {
        let (k, val) = part
            .split_once('=')
            .ok_or_else(|| format!("invalid field '{part}' must be a key=value pair"))?;
        match k.trim().to_ascii_lowercase().as_str() {
            "name" | "target" => n.target = val.to_string(),
            "alias" => n.aliases.push(val.to_string()),
            "driver-opt" => {
                let (dk, dv) = val
                    .split_once('=')
                    .ok_or_else(|| format!("invalid driver-opt '{val}'"))?;
                n.driver_opts
                    .get_or_insert_with(Default::default)
                    .insert(dk.to_string(), dv.to_string());
            }
            other => return Err(format!("invalid field key {other}")),
        }
    }
    if n.target.is_empty() {
        return Err(format!("network name/id is not specified in {v}"));
    }
    Ok(n)
}

/// `--mount type=bind|volume|tmpfs,source=,target=,readonly` (the service's mount shape).
pub fn parse_mount(v: &str) -> Result<sw::Mount, String> {
    let mut m = sw::Mount {
        r#type: "volume".into(),
        ..Default::default()
    };
    let mut volume = serde_json::Map::new();
    let mut tmpfs = serde_json::Map::new();
    let mut bind = serde_json::Map::new();
    for part in v.split(',') {
        let (k, val) = match part.split_once('=') {
            Some((k, v)) => (k.trim().to_ascii_lowercase(), v.to_string()),
            None => (part.trim().to_ascii_lowercase(), "true".to_string()),
        };
        let truth = || match val.as_str() {
            "true" | "1" => Ok(true),
            "false" | "0" => Ok(false),
            _ => Err(format!("invalid value for {k}: {val}")),
        };
        match k.as_str() {
            "type" => {
                if !matches!(val.as_str(), "bind" | "volume" | "tmpfs") {
                    return Err(format!("invalid mount type: {val}"));
                }
                m.r#type = val
            }
            "source" | "src" => m.source = val,
            "target" | "dst" | "destination" => m.target = val,
            "readonly" | "ro" => m.read_only = truth()?,
            "consistency" => m.consistency = val,
            "bind-propagation" => {
                bind.insert("Propagation".into(), serde_json::json!(val));
            }
            "volume-nocopy" => {
                volume.insert("NoCopy".into(), serde_json::json!(truth()?));
            }
            "volume-label" => {
                let (lk, lv) = val.split_once('=').unwrap_or((&val, ""));
                let labels = volume
                    .entry("Labels")
                    .or_insert_with(|| serde_json::json!({}));
                labels[lk] = serde_json::json!(lv);
            }
            "tmpfs-size" => {
                let n = crate::units::ram_in_bytes(&val)?;
                tmpfs.insert("SizeBytes".into(), serde_json::json!(n));
            }
            "tmpfs-mode" => {
                let n = u32::from_str_radix(&val, 8)
                    .map_err(|_| format!("invalid tmpfs-mode {val}"))?;
                tmpfs.insert("Mode".into(), serde_json::json!(n));
            }
            other => return Err(format!("unexpected key '{other}' in '{v}'")),
        }
    }
    if m.target.is_empty() {
        return Err("target is required".into());
    }
    if !volume.is_empty() {
        m.volume_options = Some(serde_json::Value::Object(volume));
    }
    if !tmpfs.is_empty() {
        m.tmpfs_options = Some(serde_json::Value::Object(tmpfs));
    }
    if !bind.is_empty() {
        m.bind_options = Some(serde_json::Value::Object(bind));
    }
    Ok(m)
}

/// Removes the entries `rm` names from `list` (by their key), as `--*-rm` does.
pub fn remove_by<T>(list: &mut Vec<T>, rm: &[String], key: impl Fn(&T) -> Vec<String>) {
    if rm.is_empty() {
        return;
    }
    list.retain(|x| !key(x).iter().any(|k| rm.contains(k)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publish_forms() {
        let p = parse_publish("8080:80").unwrap();
        assert_eq!((p[0].published_port, p[0].target_port), (8080, 80));
        assert_eq!(p[0].protocol, "tcp");
        assert_eq!(p[0].publish_mode, "ingress");
        let p = parse_publish("80/udp").unwrap();
        assert_eq!((p[0].published_port, p[0].target_port), (0, 80));
        assert_eq!(p[0].protocol, "udp");
        let p = parse_publish("published=9090,target=90,mode=host").unwrap();
        assert_eq!((p[0].published_port, p[0].target_port), (9090, 90));
        assert_eq!(p[0].publish_mode, "host");
        assert_eq!(parse_publish("8000-8001:80-81").unwrap().len(), 2);
        assert!(parse_publish("x:80").is_err());
        assert!(parse_publish("published=1").is_err());
        assert!(parse_publish("mode=weird,target=1").is_err());
    }

    #[test]
    fn network_and_mount_forms() {
        let n = parse_network("name=front,alias=www,alias=web").unwrap();
        assert_eq!(n.target, "front");
        assert_eq!(n.aliases, vec!["www", "web"]);
        assert_eq!(parse_network("back").unwrap().target, "back");
        assert!(parse_network("alias=x").is_err());
        let m = parse_mount("type=tmpfs,target=/cache,tmpfs-size=1m").unwrap();
        assert_eq!(m.r#type, "tmpfs");
        assert_eq!(m.tmpfs_options.unwrap()["SizeBytes"], 1 << 20);
        let m = parse_mount("type=bind,source=/srv,target=/data,readonly").unwrap();
        assert!(m.read_only);
        assert!(parse_mount("type=bind,source=/srv").is_err());
    }
}
