//! The JSON of `GET /containers/{id}/json` and of each `GET /containers/json` entry,
//! with every field Docker returns (clients parse them).

use crate::model::{format_time, ContainerRecord, Status};
use chrono::Utc;
use serde_json::{json, Value};
use std::path::Path;

/// `docker inspect` of a container.
pub fn inspect(rec: &ContainerRecord, dir: &Path, sizes: Option<(u64, u64)>) -> Value {
    let st = &rec.state;
    let d = |name: &str| dir.join(name).to_string_lossy().into_owned();
    let started = st.started_at.is_some() || st.status.is_running();
    let mut v = json!({
        "Id": rec.id,
        "Created": format_time(Some(rec.created)),
        "Path": rec.path,
        "Args": rec.args,
        "State": {
            "Status": st.status.as_str(),
            "Running": st.status.is_running(),
            "Paused": st.status == Status::Paused,
            "Restarting": st.status == Status::Restarting,
            "OOMKilled": st.oom_killed,
            "Dead": st.status == Status::Dead,
            "Pid": st.pid,
            "ExitCode": st.exit_code,
            "Error": st.error,
            "StartedAt": format_time(st.started_at),
            "FinishedAt": format_time(st.finished_at),
        },
        "Image": rec.image_id,
        "ResolvConfPath": if started { d("resolv.conf") } else { String::new() },
        "HostnamePath": if started { d("hostname") } else { String::new() },
        "HostsPath": if started { d("hosts") } else { String::new() },
        "LogPath": if started { d(&format!("{}-json.log", rec.id)) } else { String::new() },
        "Name": format!("/{}", rec.name),
        "RestartCount": rec.restart_count,
        "Driver": "overlay2",
        "Platform": "linux",
        "MountLabel": "",
        "ProcessLabel": "",
        "AppArmorProfile": "",
        "ExecIDs": Value::Null,
        "HostConfig": rec.host_config,
        "GraphDriver": {
            "Data": {
                "MergedDir": d("bundle/rootfs"),
                "UpperDir": d("upper"),
                "WorkDir": d("work"),
            },
            "Name": "overlay2",
        },
        "Mounts": super::mounts::mounts_json(rec),
        "Config": rec.config,
        "NetworkSettings": network_settings(rec),
    });
    if let Some((rw, rootfs)) = sizes {
        v["SizeRw"] = json!(rw);
        v["SizeRootFs"] = json!(rootfs);
    }
    if let Some(h) = &st.health {
        v["State"]["Health"] = json!(h);
    }
    v
}

/// One entry of `GET /containers/json`.
pub fn summary(rec: &ContainerRecord, image_name: &str, sizes: Option<(u64, u64)>) -> Value {
    let mut v = json!({
        "Id": rec.id,
        "Names": [format!("/{}", rec.name)],
        "Image": image_name,
        "ImageID": rec.image_id,
        "Command": rec.command_line(),
        "Created": rec.created.timestamp(),
        "Ports": if rec.state.status.is_running() {
            crate::network::ports::summary_ports(&published(rec), rec.config.exposed_ports.as_ref())
        } else {
            json!([])
        },
        "Labels": rec.config.labels,
        "State": rec.state.status.as_str(),
        "Status": status_text(rec),
        "HostConfig": { "NetworkMode": rec.host_config.network_mode },
        "NetworkSettings": { "Networks": network_settings(rec)["Networks"].clone() },
        "Mounts": super::mounts::mounts_json(rec),
    });
    if let Some((rw, rootfs)) = sizes {
        v["SizeRw"] = json!(rw);
        v["SizeRootFs"] = json!(rootfs);
    }
    v
}

/// The STATUS column: "Up 3 seconds", "Exited (0) 2 minutes ago", "Created".
pub fn status_text(rec: &ContainerRecord) -> String {
    let now = Utc::now();
    let since = |t: Option<chrono::DateTime<Utc>>| {
        let t = t.unwrap_or(now);
        berth_api::human::duration((now - t).to_std().unwrap_or_default())
    };
    let st = &rec.state;
    match st.status {
        Status::Running => format!(
            "Up {}{}",
            since(st.started_at),
            match st.health.as_ref().map(|h| h.status.as_str()) {
                Some("starting") => " (health: starting)",
                Some("healthy") => " (healthy)",
                Some("unhealthy") => " (unhealthy)",
                _ => "",
            }
        ),
        Status::Paused => format!("Up {} (Paused)", since(st.started_at)),
        Status::Restarting => {
            format!(
                "Restarting ({}) {} ago",
                st.exit_code,
                since(st.finished_at)
            )
        }
        Status::Removing => "Removal In Progress".into(),
        Status::Dead => "Dead".into(),
        Status::Created => "Created".into(),
        Status::Exited => {
            if st.finished_at.is_none() {
                "Created".into()
            } else {
                format!("Exited ({}) {} ago", st.exit_code, since(st.finished_at))
            }
        }
    }
}

fn network_settings(rec: &ContainerRecord) -> Value {
    let mode = match rec.host_config.network_mode.as_str() {
        "host" => "host",
        m if crate::network::mode::is_default_mode(m)
            && crate::network::default_bridge::enabled() =>
        {
            "bridge"
        }
        // Without a default bridge (daemon.json `"bridge": "none"`) such a container has its
        // own namespace with loopback only.
        m if crate::network::is_builtin_mode(m) => "none",
        _ => "",
    };
    let empty_endpoint = json!({
        "IPAMConfig": Value::Null,
        "Links": Value::Null,
        "Aliases": Value::Null,
        "MacAddress": "",
        "DriverOpts": Value::Null,
        "GwPriority": 0,
        "NetworkID": "",
        "EndpointID": "",
        "Gateway": "",
        "IPAddress": "",
        "IPPrefixLen": 0,
        "IPv6Gateway": "",
        "GlobalIPv6Address": "",
        "GlobalIPv6PrefixLen": 0,
        "DNSNames": Value::Null,
    });
    let mut networks = serde_json::Map::new();
    if !mode.is_empty() {
        networks.insert(mode.to_string(), empty_endpoint);
    }
    for (name, ep) in &rec.endpoints {
        let mut v = crate::network::api::container_endpoint(rec, ep);
        if name == crate::network::mode::DEFAULT_NETWORK {
            // No names on the default bridge (no resolver there).
            v["DNSNames"] = Value::Null;
        }
        networks.insert(name.clone(), v);
    }
    // Docker still fills the old top-level fields for the default bridge.
    let legacy = rec
        .endpoints
        .get(crate::network::mode::DEFAULT_NETWORK)
        .filter(|e| !e.ip.is_empty());
    let legacy_s = |f: fn(&crate::model::EndpointRecord) -> &str| legacy.map_or("", f);
    json!({
        "Bridge": "",
        "SandboxID": "",
        "SandboxKey": "",
        "Ports": if rec.state.status.is_running() {
            crate::network::ports::inspect_ports(&published(rec), rec.config.exposed_ports.as_ref())
        } else {
            json!({})
        },
        "HairpinMode": false,
        "LinkLocalIPv6Address": "",
        "LinkLocalIPv6PrefixLen": 0,
        "SecondaryIPAddresses": Value::Null,
        "SecondaryIPv6Addresses": Value::Null,
        "EndpointID": legacy_s(|e| &e.endpoint_id),
        "Gateway": legacy_s(|e| &e.gateway),
        "GlobalIPv6Address": legacy_s(|e| &e.ip6),
        "GlobalIPv6PrefixLen": legacy.map_or(0, |e| e.prefix6),
        "IPAddress": legacy_s(|e| &e.ip),
        "IPPrefixLen": legacy.map_or(0, |e| e.prefix),
        "IPv6Gateway": legacy_s(|e| &e.gateway6),
        "MacAddress": legacy_s(|e| &e.mac),
        "Networks": networks,
    })
}

/// The container's published ports while it runs.
fn published(rec: &ContainerRecord) -> Vec<crate::model::PortMapping> {
    rec.endpoints
        .values()
        .flat_map(|e| e.ports.iter().cloned())
        .collect()
}
