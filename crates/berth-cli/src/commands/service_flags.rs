//! The docker CLI's service flags with a syntax of their own: `-p/--publish` (short and
//! long forms, ranges), `--network` (name or `name=,alias=,driver-opt=`), `--mount`,
//! the health check flags, and the `*-add`/`*-rm` edits of `service update`.

use berth_api::models::{BindOptions, TmpfsOptions, VolumeOptions};
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
    // Each options object is there once one of its keys is given (the docker CLI's
    // pointers), even with a zero value.
    let mut volume: Option<VolumeOptions> = None;
    let mut tmpfs: Option<TmpfsOptions> = None;
    let mut bind: Option<BindOptions> = None;
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
            "bind-propagation" => bind.get_or_insert_with(Default::default).propagation = val,
            "volume-nocopy" => volume.get_or_insert_with(Default::default).no_copy = truth()?,
            "volume-label" => {
                let (lk, lv) = val.split_once('=').unwrap_or((&val, ""));
                volume
                    .get_or_insert_with(Default::default)
                    .labels
                    .get_or_insert_with(Default::default)
                    .insert(lk.to_string(), lv.to_string());
            }
            "tmpfs-size" => {
                tmpfs.get_or_insert_with(Default::default).size_bytes =
                    crate::units::ram_in_bytes(&val)?
            }
            "tmpfs-mode" => {
                tmpfs.get_or_insert_with(Default::default).mode = u32::from_str_radix(&val, 8)
                    .map_err(|_| format!("invalid tmpfs-mode {val}"))?;
            }
            other => return Err(format!("unexpected key '{other}' in '{v}'")),
        }
    }
    if m.target.is_empty() {
        return Err("target is required".into());
    }
    m.volume_options = volume;
    m.tmpfs_options = tmpfs;
    m.bind_options = bind;
    Ok(m)
}

/// Removes the entries `rm` names from `list` (by their key), as `--*-rm` does.
pub fn remove_by<T>(list: &mut Vec<T>, rm: &[String], key: impl Fn(&T) -> Vec<String>) {
    if rm.is_empty() {
        return;
    }
    list.retain(|x| !key(x).iter().any(|k| rm.contains(k)));
}

/// `--dns`/`--dns-add`: docker's `opts.ValidateIPAddress` (the address as Go prints it).
pub fn parse_dns(v: &str) -> Result<String, String> {
    match v.trim().parse::<std::net::IpAddr>() {
        Ok(std::net::IpAddr::V6(a)) => Ok(match a.to_ipv4_mapped() {
            Some(v4) => v4.to_string(),
            None => a.to_string(),
        }),
        Ok(a) => Ok(a.to_string()),
        Err(_) => Err(format!("IP address is not correctly formatted: {v}")),
    }
}

/// `--dns-search`/`--dns-search-add`: docker's `opts.ValidateDNSSearch` (a domain name,
/// kept without its trailing dot, or `.`).
pub fn parse_dns_search(v: &str) -> Result<String, String> {
    let v = v.trim_matches(' ');
    if v == "." {
        return Ok(v.to_string());
    }
    let bad = || format!("{v} is not a valid domain");
    if !v.chars().any(|c| c.is_ascii_alphabetic()) {
        return Err(bad());
    }
    let body = v.trim_end_matches(char::is_whitespace);
    let body = body.strip_suffix('.').unwrap_or(body);
    let label_ok = |l: &str| {
        let b = l.as_bytes();
        !b.is_empty()
            && b[0].is_ascii_alphanumeric()
            && b[b.len() - 1].is_ascii_alphanumeric()
            && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
    };
    // docker's pattern lets a `:` stand before the first label and before each dot.
    let ok = body.split('.').enumerate().all(|(i, part)| {
        let last = i + 1 == body.split('.').count();
        let part = if i == 0 {
            part.strip_prefix(':').unwrap_or(part)
        } else {
            part
        };
        let part = if last {
            part
        } else {
            part.strip_suffix(':').unwrap_or(part)
        };
        label_ok(part)
    });
    if ok && body.len() < 255 {
        Ok(body.to_string())
    } else {
        Err(bad())
    }
}

/// `--log-opt`: docker's `opts.ValidateEnv` (a name is needed; a bare name takes its value
/// from the client's environment when it is set there).
pub fn parse_log_opt(v: &str) -> Result<String, String> {
    let (k, has_value) = match v.split_once('=') {
        Some((k, _)) => (k, true),
        None => (v, false),
    };
    if k.is_empty() {
        return Err(format!("invalid environment variable: {v}"));
    }
    if !has_value {
        if let Ok(val) = std::env::var(k) {
            return Ok(format!("{k}={val}"));
        }
    }
    Ok(v.to_string())
}

/// docker's `opts.ConvertKVStringsToMap`: `k=v`, a bare `k` meaning an empty value.
pub fn kv_map(list: &[String]) -> std::collections::BTreeMap<String, String> {
    list.iter()
        .map(|e| match e.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (e.clone(), String::new()),
        })
        .collect()
}

/// docker's `opts.NormalizeCapability`: upper case with a `CAP_` prefix (`ALL` and
/// `RESET` as they are).
fn norm_cap(c: &str) -> String {
    let c = c.trim().to_uppercase();
    if c == "ALL" || c == "RESET" || c.starts_with("CAP_") {
        c
    } else {
        format!("CAP_{c}")
    }
}

fn cap_set(list: &[String]) -> std::collections::BTreeSet<String> {
    list.iter().map(|c| norm_cap(c)).collect()
}

/// A capability list as the docker CLI sends it: sorted, `ALL` alone when present.
fn cap_list(set: std::collections::BTreeSet<String>) -> Vec<String> {
    if set.contains("ALL") {
        vec!["ALL".into()]
    } else {
        set.into_iter().collect()
    }
}

/// `service create --cap-add/--cap-drop`: docker's `opts.EffectiveCapAddCapDrop` (adding
/// wins over dropping the same capability; `ALL` trumps the rest; `RESET` is dropped).
pub fn effective_caps(add: &[String], drop: &[String]) -> (Vec<String>, Vec<String>) {
    let mut a = cap_set(add);
    let mut d = cap_set(drop);
    if a.contains("ALL") {
        a = ["ALL".to_string()].into();
    }
    if d.contains("ALL") {
        d = ["ALL".to_string()].into();
    }
    let drop: std::collections::BTreeSet<String> = d
        .into_iter()
        .filter(|c| !a.contains(c) && c != "RESET")
        .collect();
    a.remove("RESET");
    (a.into_iter().collect(), drop.into_iter().collect())
}

/// `service update --cap-add/--cap-drop` (docker's updateCapabilities): `RESET` empties
/// the list first; dropping a capability the service added removes it from the added
/// ones (and the reverse), adding wins over dropping.
pub fn update_caps(c: &mut sw::ContainerSpec, add: &[String], drop: &[String]) {
    if add.is_empty() && drop.is_empty() {
        return;
    }
    let mut cur_add = cap_set(&c.capability_add);
    let mut cur_drop = cap_set(&c.capability_drop);
    let mut to_add = cap_set(add);
    let mut to_drop = cap_set(drop);
    if to_add.remove("RESET") {
        cur_add.clear();
    }
    if to_drop.remove("RESET") {
        cur_drop.clear();
    }
    for cap in &to_drop {
        if !to_add.contains(cap) && !cur_add.remove(cap) {
            cur_drop.insert(cap.clone());
        }
    }
    for cap in to_add {
        if !cur_drop.remove(&cap) {
            cur_add.insert(cap);
        }
    }
    c.capability_add = cap_list(cur_add);
    c.capability_drop = cap_list(cur_drop);
}

/// One ulimit as the service spec holds it (moby's `container.Ulimit`, in its field order).
fn ulimit_value(u: &berth_api::models::Ulimit) -> serde_json::Value {
    serde_json::json!({"Name": u.name, "Hard": u.hard, "Soft": u.soft})
}

/// `--ulimit`, `--ulimit-add` and `--ulimit-rm` on the spec's list: keyed by name (a later
/// one replaces), removals by name, sorted by name as the docker CLI sends them.
pub fn update_ulimits(
    cur: &mut Vec<serde_json::Value>,
    add: &[String],
    rm: &[String],
) -> Result<(), String> {
    if add.is_empty() && rm.is_empty() {
        return Ok(());
    }
    let mut by_name: std::collections::BTreeMap<String, serde_json::Value> = cur
        .drain(..)
        .map(|v| (v["Name"].as_str().unwrap_or_default().to_string(), v))
        .collect();
    for k in kv_map(rm).keys() {
        by_name.remove(k);
    }
    for u in super::create::ulimits(add)? {
        by_name.insert(u.name.clone(), ulimit_value(&u));
    }
    *cur = by_name.into_values().collect();
    Ok(())
}

/// `service update --dns-*-add/--dns-*-rm` on one list (docker's updateDNSConfig): the
/// additions appended, duplicates dropped, removals taken out, sorted.
pub fn update_list(cur: &mut Vec<String>, add: &[String], rm: &[String]) {
    let mut out: Vec<String> = Vec::new();
    for v in cur.iter().chain(add) {
        if !out.contains(v) && !rm.contains(v) {
            out.push(v.clone());
        }
    }
    out.sort();
    *cur = out;
}

/// `--placement-pref`, `--placement-pref-add`/`-rm`: docker's placementPrefOpts (only the
/// `spread` strategy); the descriptor is returned.
pub fn parse_placement_pref(v: &str) -> Result<String, String> {
    match v.split_once('=') {
        Some(("spread", arg)) => Ok(arg.to_string()),
        Some((strategy, _)) if !strategy.is_empty() => Err(format!(
            "unsupported placement preference {strategy} (only spread is supported)"
        )),
        _ => Err("placement preference must be of the format \"<strategy>=<arg>\"".into()),
    }
}

/// `--placement-pref-rm` then `--placement-pref-add` on the spec's preferences (docker's
/// updatePlacementPreferences: removal by spread descriptor, additions appended).
pub fn update_placement_prefs(p: &mut sw::Placement, add: &[String], rm: &[String]) {
    p.preferences.retain(|pref| {
        !pref
            .spread
            .as_ref()
            .is_some_and(|s| rm.contains(&s.spread_descriptor))
    });
    p.preferences
        .extend(add.iter().map(|d| sw::PlacementPreference {
            spread: Some(sw::SpreadOver {
                spread_descriptor: d.clone(),
            }),
        }));
}

/// `--host`/`--host-add`: docker's `opts.ValidateExtraHost` (as `run --add-host`),
/// normalised to `host:ip`.
pub fn parse_host(v: &str) -> Result<String, String> {
    super::create::extra_host(v)
}

/// `host:ip` as swarmkit holds it: `ip host` (docker's convertExtraHostsToSwarmHosts).
fn swarm_host(v: &str) -> String {
    match v.split_once(':') {
        Some((host, ip)) => format!("{ip} {host}"),
        None => v.to_string(),
    }
}

/// `service create --host`: the entries in swarmkit's form, in the order given.
pub fn swarm_hosts(list: &[String]) -> Vec<String> {
    list.iter().map(|h| swarm_host(h)).collect()
}

/// `service update --host-rm/--host-add` (docker's updateHosts): `host` alone removes the
/// name from every entry, `host:ip` only from entries of that address; an entry left
/// without names goes; additions are appended; duplicates dropped, order kept.
pub fn update_hosts(cur: &mut Vec<String>, add: &[String], rm: &[String]) {
    let rm: Vec<(&str, &str)> = rm
        .iter()
        .map(|r| r.split_once(':').unwrap_or((r.as_str(), "")))
        .collect();
    let mut out: Vec<String> = Vec::new();
    for entry in cur.iter() {
        let mut parts = entry.split_whitespace();
        let Some(ip) = parts.next() else { continue };
        let names: Vec<&str> = parts
            .filter(|h| !rm.iter().any(|(n, i)| n == h && (i.is_empty() || *i == ip)))
            .collect();
        if !names.is_empty() {
            out.push(format!("{ip} {}", names.join(" ")));
        }
    }
    out.extend(swarm_hosts(add));
    let mut seen = std::collections::BTreeSet::new();
    out.retain(|h| seen.insert(h.clone()));
    *cur = out;
}

/// `service update --group-add/--group-rm` (docker's updateGroups): appended, removed,
/// sorted.
pub fn update_groups(cur: &mut Vec<String>, add: &[String], rm: &[String]) {
    cur.extend(add.iter().cloned());
    cur.retain(|g| !rm.contains(g));
    cur.sort();
}

/// `--credential-spec`: docker's credentialSpecOpt (`config://`, `file://` or
/// `registry://`; empty removes it on update).
pub fn parse_credential_spec(v: &str) -> Result<String, String> {
    if v.is_empty()
        || ["config://", "file://", "registry://"]
            .iter()
            .any(|p| v.starts_with(p))
    {
        Ok(v.to_string())
    } else {
        Err(
            "invalid credential spec: value must be prefixed with \"config://\", \"file://\", or \"registry://\""
                .into(),
        )
    }
}

/// A credential spec as the docker CLI sends it in `Privileges` (every field of moby's
/// `swarm.Privileges` without omitempty present); `config` is the config's id.
pub fn credential_privileges(v: &str, config_id: &str) -> serde_json::Value {
    let field = |p: &str| v.strip_prefix(p).unwrap_or_default();
    serde_json::json!({
        "CredentialSpec": {
            "Config": if v.starts_with("config://") { config_id } else { "" },
            "File": field("file://"),
            "Registry": field("registry://"),
        },
        "SELinuxContext": null,
        "NoNewPrivileges": false,
    })
}

/// `--generic-resource`/`--generic-resource-add`: docker's ValidateSingleGenericResource.
pub fn parse_generic_resource(v: &str) -> Result<String, String> {
    if v.contains('=') {
        Ok(v.to_string())
    } else {
        Err(format!(
            "invalid generic-resource format `{v}` expected `name=value`"
        ))
    }
}

/// docker's ParseGenericResources (swarmkit's genericresource.Parse): `kind=count` terms;
/// a kind given twice, a negative count or a named resource (a non-number) is refused
/// with the docker CLI's message. Kinds keep the order of their first term.
pub fn generic_resources(list: &[String]) -> Result<Vec<serde_json::Value>, String> {
    let pre = "invalid generic resource specification: could not parse GenericResource: ";
    let mut kinds: Vec<(String, Vec<String>)> = Vec::new();
    for term in list {
        let kv: Vec<&str> = term.split('=').collect();
        if kv.len() != 2 {
            return Err(format!(
                "{pre}incorrect term {term}, missing '=' or malformed expression"
            ));
        }
        let (k, v) = (kv[0].trim().to_string(), kv[1].trim().to_string());
        match kinds.iter_mut().find(|(x, _)| *x == k) {
            Some((_, vals)) => vals.push(v),
            None => kinds.push((k, vec![v])),
        }
    }
    let mut out = Vec::new();
    for (k, vals) in kinds {
        let nums: Vec<Option<i64>> = vals.iter().map(|v| v.parse().ok()).collect();
        match nums.as_slice() {
            [Some(n)] if *n < 0 => {
                return Err(format!("{pre}cannot ask for negative resource {k}"))
            }
            [Some(n)] => out.push(serde_json::json!({
                "DiscreteResourceSpec": {"Kind": k, "Value": n}
            })),
            _ if nums.iter().all(Option::is_none) => {
                return Err(format!(
                    "invalid generic-resource request `{k}={}`, Named Generic Resources is not supported for service create or update",
                    vals[0]
                ))
            }
            _ => {
                return Err(format!(
                    "{pre}mixed discrete and named resources in expression '{k}=[{}]'",
                    vals.join(" ")
                ))
            }
        }
    }
    Ok(out)
}

/// `service update --generic-resource-add/-rm` (docker's add/removeGenericResources):
/// keyed by kind, an addition replaces; removing a kind the service lacks is an error.
pub fn update_generic_resources(
    cur: &mut Option<Vec<serde_json::Value>>,
    add: &[String],
    rm: &[String],
) -> Result<(), String> {
    if add.is_empty() && rm.is_empty() {
        return Ok(());
    }
    let kind = |v: &serde_json::Value| {
        v["DiscreteResourceSpec"]["Kind"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let mut list = cur.take().unwrap_or_default();
    for new in generic_resources(add)? {
        list.retain(|v| kind(v) != kind(&new));
        list.push(new);
    }
    for r in rm {
        if !list.iter().any(|v| kind(v) == *r) {
            return Err(format!(
                "could not find generic-resource `{r}` to remove it"
            ));
        }
        list.retain(|v| kind(v) != *r);
    }
    *cur = Some(list);
    Ok(())
}

/// docker's parseKeyValueFile for `--env-file`: leading blanks trimmed, `#` lines and
/// empty lines skipped, a bare name taken from the client's environment (dropped when
/// unset there); names with blanks, lines without a name and invalid UTF-8 are refused
/// with the docker CLI's messages.
pub fn read_env_files(files: &[String]) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    for f in files {
        let bytes =
            std::fs::read(f).map_err(|e| format!("open {f}: {}", super::create::io_msg(&e)))?;
        let bad = |why: String| format!("invalid env file ({f}): {why}");
        for (n, raw) in bytes.split(|b| *b == b'\n').enumerate() {
            let raw = if n == 0 {
                raw.strip_prefix(b"\xef\xbb\xbf".as_slice()).unwrap_or(raw)
            } else {
                raw
            };
            let line = std::str::from_utf8(raw).map_err(|_| {
                bad(format!("invalid utf8 bytes at line {}: {:?}", n + 1, raw).replace(',', ""))
            })?;
            let line = line.trim_end_matches('\r').trim_start();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (name, value) = match line.split_once('=') {
                Some((k, v)) => (k, Some(v)),
                None => (line, None),
            };
            if name.contains(char::is_whitespace) {
                return Err(bad(format!("variable '{name}' contains whitespaces")));
            }
            if name.is_empty() {
                return Err(bad(format!("no variable name on line '{line}'")));
            }
            match value {
                Some(v) => out.push(format!("{name}={v}")),
                None => {
                    if let Ok(v) = std::env::var(name) {
                        out.push(format!("{name}={v}"));
                    }
                }
            }
        }
    }
    Ok(out)
}

/// docker's makeEnv for `service create`: the env files' entries then `--env`'s, each
/// replacing the earlier entries of its name with another value (an identical entry
/// stays, as the docker CLI keeps it).
pub fn make_env(list: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for e in list {
        let k = e.split_once('=').map_or(e.as_str(), |(k, _)| k);
        let prefix = format!("{k}=");
        out.retain(|cur| *cur == e || !cur.starts_with(&prefix));
        out.push(e);
    }
    out
}

/// `--args` and `--entrypoint`: the value split into words as google/shlex splits it
/// (blanks separate; `'...'` literal; `"..."` and a bare `\` escape the next character;
/// a `#` starting a word comments out the rest).
pub fn shlex_split(v: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut cur: Option<String> = None;
    let mut chars = v.chars();
    while let Some(ch) = chars.next() {
        match ch {
            c if c.is_whitespace() => {
                if let Some(w) = cur.take() {
                    words.push(w);
                }
            }
            '#' if cur.is_none() => break,
            '\\' => {
                let next = chars.next().ok_or("EOF found after escape character")?;
                cur.get_or_insert_with(String::new).push(next);
            }
            '\'' => {
                let w = cur.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => w.push(c),
                        None => return Err("EOF found when expecting closing quote".into()),
                    }
                }
            }
            '"' => {
                let w = cur.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c) => w.push(c),
                            None => return Err("EOF found after escape character".into()),
                        },
                        Some(c) => w.push(c),
                        None => return Err("EOF found when expecting closing quote".into()),
                    }
                }
            }
            c => cur.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(cur);
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shlex_words() {
        assert_eq!(
            shlex_split(r#"sh -c 'echo a  b' "x \"y\"" z\ w # rest"#).unwrap(),
            ["sh", "-c", "echo a  b", "x \"y\"", "z w"]
        );
        assert!(shlex_split("a 'b").is_err());
    }

    #[test]
    fn env_as_the_docker_cli_merges_it() {
        let v = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // The docker CLI 28's result for these (checked against it): an identical entry
        // stays, another value of a name replaces all earlier ones.
        assert_eq!(
            make_env(v(&[
                "A=1", "B=x", "D=sp  ", "A=2", "A=1", "B=x", "C=f", "U", "B=x", "A=3"
            ])),
            v(&["B=x", "D=sp  ", "B=x", "C=f", "U", "B=x", "A=3"])
        );
    }

    #[test]
    fn hosts_groups_and_generic_resources_as_the_docker_cli() {
        let v = |l: &[&str]| l.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        // docker's updateHosts example.
        let mut h = v(&[
            "127.0.0.2 host3 host1 host2 host4",
            "127.0.0.1 host1 host4",
            "127.0.0.3 host1",
            "127.0.0.1 host1",
        ]);
        update_hosts(&mut h, &[], &v(&["host1:127.0.0.1"]));
        assert_eq!(
            h,
            v(&[
                "127.0.0.2 host3 host1 host2 host4",
                "127.0.0.1 host4",
                "127.0.0.3 host1"
            ])
        );
        update_hosts(&mut h, &v(&["h5:10.0.0.5"]), &v(&["host1"]));
        assert_eq!(
            h,
            v(&[
                "127.0.0.2 host3 host2 host4",
                "127.0.0.1 host4",
                "10.0.0.5 h5"
            ])
        );
        let mut g = v(&["b", "a"]);
        update_groups(&mut g, &v(&["c"]), &v(&["b"]));
        assert_eq!(g, v(&["a", "c"]));
        assert_eq!(
            generic_resources(&v(&["gpu=2", "fpga=1"])).unwrap(),
            [
                serde_json::json!({"DiscreteResourceSpec": {"Kind": "gpu", "Value": 2}}),
                serde_json::json!({"DiscreteResourceSpec": {"Kind": "fpga", "Value": 1}}),
            ]
        );
        for (bad, why) in [
            (
                "gpu=1=2",
                "incorrect term gpu=1=2, missing '=' or malformed expression",
            ),
            ("gpu=-1", "cannot ask for negative resource gpu"),
            ("gpu=abc", "Named Generic Resources is not supported"),
        ] {
            let e = generic_resources(&v(&[bad])).unwrap_err();
            assert!(e.contains(why), "{e}");
        }
        let e = generic_resources(&v(&["gpu=1", "gpu=2"])).unwrap_err();
        assert!(
            e.ends_with("mixed discrete and named resources in expression 'gpu=[1 2]'"),
            "{e}"
        );
        let mut cur = Some(generic_resources(&v(&["gpu=2"])).unwrap());
        update_generic_resources(&mut cur, &v(&["gpu=3", "fpga=1"]), &[]).unwrap();
        update_generic_resources(&mut cur, &[], &v(&["fpga"])).unwrap();
        assert_eq!(cur, Some(generic_resources(&v(&["gpu=3"])).unwrap()));
        let e = update_generic_resources(&mut cur, &[], &v(&["nope"])).unwrap_err();
        assert_eq!(e, "could not find generic-resource `nope` to remove it");
    }

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
        assert_eq!(m.tmpfs_options.unwrap().size_bytes, 1 << 20);
        let m = parse_mount("type=bind,source=/srv,target=/data,readonly").unwrap();
        assert!(m.read_only);
        assert!(parse_mount("type=bind,source=/srv").is_err());
    }

    /// The mount options as `parse_mount` built them with json! maps, in the order the
    /// keys were given: the typed options hold the same values (written in moby's field
    /// order, as the docker CLI writes them), an options object present whenever one of
    /// its keys was given, zero values included.
    #[test]
    fn typed_mount_options_hold_the_same_values() {
        use serde_json::{json, Value};
        let cases: &[(&str, Value)] = &[
            (
                "type=volume,source=v,target=/d,volume-label=b=2,volume-nocopy,volume-label=a=1",
                json!({"Type":"volume","Source":"v","Target":"/d","VolumeOptions":{"Labels":{"b":"2","a":"1"},"NoCopy":true}}),
            ),
            (
                "type=volume,target=/d,volume-nocopy=false",
                json!({"Type":"volume","Target":"/d","VolumeOptions":{"NoCopy":false}}),
            ),
            (
                "type=tmpfs,target=/t,tmpfs-mode=700,tmpfs-size=0",
                json!({"Type":"tmpfs","Target":"/t","TmpfsOptions":{"Mode":0o700,"SizeBytes":0}}),
            ),
            (
                "type=bind,source=/s,target=/b,bind-propagation=rslave,ro",
                json!({"Type":"bind","Source":"/s","Target":"/b","ReadOnly":true,"BindOptions":{"Propagation":"rslave"}}),
            ),
        ];
        for (flag, before) in cases {
            let m = parse_mount(flag).unwrap();
            let read: sw::Mount = serde_json::from_value(before.clone()).unwrap();
            assert_eq!(m, read, "{flag}");
            for (k, opts) in [
                ("VolumeOptions", m.volume_options.is_some()),
                ("TmpfsOptions", m.tmpfs_options.is_some()),
                ("BindOptions", m.bind_options.is_some()),
            ] {
                assert_eq!(opts, before.get(k).is_some(), "{flag}: {k}");
            }
        }
    }

    #[test]
    fn dns_values_as_docker_validates_them() {
        assert_eq!(parse_dns(" 10.0.0.1 ").unwrap(), "10.0.0.1");
        assert_eq!(parse_dns("::ffff:10.0.0.2").unwrap(), "10.0.0.2");
        assert_eq!(parse_dns("2001:db8:0::1").unwrap(), "2001:db8::1");
        assert_eq!(
            parse_dns("x").unwrap_err(),
            "IP address is not correctly formatted: x"
        );
        assert_eq!(parse_dns_search("example.com.").unwrap(), "example.com");
        assert_eq!(parse_dns_search(".").unwrap(), ".");
        assert_eq!(parse_dns_search("a-b.c1").unwrap(), "a-b.c1");
        for bad in ["123", "bad_domain.com", "-a.com", "a..b"] {
            assert_eq!(
                parse_dns_search(bad).unwrap_err(),
                format!("{bad} is not a valid domain")
            );
        }
        assert_eq!(
            parse_log_opt("=x").unwrap_err(),
            "invalid environment variable: =x"
        );
    }

    fn strings(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn capabilities_as_the_docker_cli_computes_them() {
        assert_eq!(
            effective_caps(
                &strings(&["net_admin", " sys_time", "CAP_CHOWN"]),
                &strings(&["chown", "MKNOD", "RESET"])
            ),
            (
                strings(&["CAP_CHOWN", "CAP_NET_ADMIN", "CAP_SYS_TIME"]),
                strings(&["CAP_MKNOD"])
            )
        );
        assert_eq!(
            effective_caps(&strings(&["ALL", "chown"]), &strings(&["all"])),
            (strings(&["ALL"]), vec![])
        );
        // update: a capability the service added is only taken out of its added ones
        // when dropped (and the reverse); RESET empties a list first.
        let mut c = sw::ContainerSpec {
            capability_add: strings(&["CAP_NET_ADMIN"]),
            capability_drop: strings(&["CAP_CHOWN"]),
            ..Default::default()
        };
        update_caps(&mut c, &strings(&["chown"]), &strings(&["net_admin"]));
        assert!(c.capability_add.is_empty() && c.capability_drop.is_empty());
        update_caps(&mut c, &strings(&["chown"]), &strings(&["net_admin"]));
        assert_eq!(c.capability_add, strings(&["CAP_CHOWN"]));
        assert_eq!(c.capability_drop, strings(&["CAP_NET_ADMIN"]));
        update_caps(&mut c, &strings(&["RESET", "sys_time"]), &[]);
        assert_eq!(c.capability_add, strings(&["CAP_SYS_TIME"]));
        assert_eq!(c.capability_drop, strings(&["CAP_NET_ADMIN"]));
    }

    #[test]
    fn list_and_ulimit_edits_as_service_update() {
        let mut l = strings(&["b", "a"]);
        update_list(&mut l, &strings(&["c", "a"]), &strings(&["b"]));
        assert_eq!(l, strings(&["a", "c"]));
        let mut u = Vec::new();
        update_ulimits(
            &mut u,
            &strings(&["nproc=5", "nofile=1:2", "nofile=3:4"]),
            &[],
        )
        .unwrap();
        assert_eq!(
            serde_json::to_string(&u).unwrap(),
            r#"[{"Name":"nofile","Hard":4,"Soft":3},{"Name":"nproc","Hard":5,"Soft":5}]"#
        );
        update_ulimits(&mut u, &strings(&["core=0"]), &strings(&["nproc"])).unwrap();
        assert_eq!(
            serde_json::to_string(&u).unwrap(),
            r#"[{"Name":"core","Hard":0,"Soft":0},{"Name":"nofile","Hard":4,"Soft":3}]"#
        );
        assert!(update_ulimits(&mut u, &strings(&["nofile"]), &[]).is_err());
    }
}
