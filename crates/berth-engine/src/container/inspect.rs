//! The JSON of `GET /containers/{id}/json` and of each `GET /containers/json` entry,
//! with every field Docker returns (clients parse them).

use crate::model::{format_time, ContainerRecord, Status};
use berth_api::models::{
    ContainerInspect, ContainerState, ContainerSummary, EndpointSettings, GraphDriver,
    NetworkSettings, PortMap, SummaryHostConfig, SummaryNetworkSettings,
};
use berth_image::snapshot;
use chrono::Utc;
use std::collections::BTreeMap;
use std::path::Path;

/// `docker inspect` of a container.
pub fn inspect(rec: &ContainerRecord, dir: &Path, sizes: Option<(u64, u64)>) -> ContainerInspect {
    let st = &rec.state;
    let d = |name: &str| dir.join(name).to_string_lossy().into_owned();
    let started = st.started_at.is_some() || st.status.is_running();
    let if_started = |name: &str| if started { d(name) } else { String::new() };
    ContainerInspect {
        id: rec.id.clone(),
        created: format_time(Some(rec.created)),
        path: rec.path.clone(),
        args: rec.args.clone(),
        state: ContainerState {
            status: st.status.as_str().to_string(),
            running: st.status.is_running(),
            paused: st.status == Status::Paused,
            restarting: st.status == Status::Restarting,
            oom_killed: st.oom_killed,
            dead: st.status == Status::Dead,
            pid: st.pid,
            exit_code: st.exit_code,
            error: st.error.clone(),
            started_at: format_time(st.started_at),
            finished_at: format_time(st.finished_at),
            health: st.health.clone(),
        },
        image: rec.image_id.clone(),
        resolv_conf_path: if_started("resolv.conf"),
        hostname_path: if_started("hostname"),
        hosts_path: if_started("hosts"),
        // Docker's: the file of a file driver (json-file, local), empty for the others.
        log_path: match rec.host_config.log_config.kind.as_str() {
            _ if !started => String::new(),
            "" | "json-file" => d(&format!("{}-json.log", rec.id)),
            "local" => d("local-logs/container.log"),
            _ => String::new(),
        },
        name: format!("/{}", rec.name),
        restart_count: rec.restart_count,
        driver: "overlay2".into(),
        platform: "linux".into(),
        mount_label: String::new(),
        process_label: String::new(),
        app_armor_profile: String::new(),
        exec_ids: None,
        host_config: {
            // moby rebuilds Links from its link graph, which holds only the default
            // bridge's legacy links: on a user network they are endpoint links, and
            // HostConfig.Links is null.
            let mut hc = rec.host_config.clone();
            if !crate::network::mode::is_builtin_mode(&hc.network_mode) {
                hc.links = None;
            }
            hc
        },
        graph_driver: GraphDriver {
            data: Some(
                [
                    ("MergedDir", snapshot::rootfs_dir(dir)),
                    ("UpperDir", snapshot::upper_dir(dir)),
                    ("WorkDir", snapshot::work_dir(dir)),
                ]
                .map(|(k, v)| (k.to_string(), v.to_string_lossy().into_owned()))
                .into(),
            ),
            name: "overlay2".into(),
        },
        mounts: super::mounts::mounts_json(rec),
        config: rec.config.clone(),
        network_settings: network_settings(rec),
        size_rw: sizes.map(|s| s.0),
        size_root_fs: sizes.map(|s| s.1),
    }
}

/// One entry of `GET /containers/json`.
pub fn summary(
    rec: &ContainerRecord,
    image_name: &str,
    sizes: Option<(u64, u64)>,
) -> ContainerSummary {
    ContainerSummary {
        id: rec.id.clone(),
        names: vec![format!("/{}", rec.name)],
        image: image_name.to_string(),
        image_id: rec.image_id.clone(),
        command: rec.command_line(),
        created: rec.created.timestamp(),
        ports: if rec.state.status.is_running() {
            crate::network::ports::summary_ports(&published(rec), shown_exposed(rec))
        } else {
            Vec::new()
        },
        labels: rec.config.labels().clone(),
        state: rec.state.status.as_str().to_string(),
        status: status_text(rec),
        host_config: SummaryHostConfig {
            network_mode: rec.host_config.network_mode.clone(),
        },
        network_settings: SummaryNetworkSettings {
            networks: network_settings(rec).networks,
        },
        mounts: super::mounts::mounts_json(rec),
        size_rw: sizes.map(|s| s.0),
        size_root_fs: sizes.map(|s| s.1),
        image_manifest_descriptor: None,
    }
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

fn network_settings(rec: &ContainerRecord) -> NetworkSettings {
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
    let mut networks = BTreeMap::new();
    if !mode.is_empty() {
        networks.insert(mode.to_string(), EndpointSettings::default());
    }
    for (name, ep) in &rec.endpoints {
        let mut v = crate::network::api::container_endpoint(rec, ep);
        if name == crate::network::mode::DEFAULT_NETWORK {
            // No names on the default bridge (no resolver there).
            v.dns_names = None;
        }
        networks.insert(name.clone(), v);
    }
    // Docker still fills the old top-level fields for the default bridge.
    let legacy = rec
        .endpoints
        .get(crate::network::mode::DEFAULT_NETWORK)
        .filter(|e| !e.ip.is_empty());
    let legacy_s = |f: fn(&crate::model::EndpointRecord) -> &str| legacy.map_or("", f);
    NetworkSettings {
        ports: if rec.state.status.is_running() {
            crate::network::ports::inspect_ports(&published(rec), shown_exposed(rec))
        } else {
            PortMap::new()
        },
        endpoint_id: legacy_s(|e| &e.endpoint_id).to_string(),
        gateway: legacy_s(|e| &e.gateway).to_string(),
        global_ipv6_address: legacy_s(|e| &e.ip6).to_string(),
        global_ipv6_prefix_len: legacy.map_or(0, |e| e.prefix6.into()),
        ip_address: legacy_s(|e| &e.ip).to_string(),
        ip_prefix_len: legacy.map_or(0, |e| e.prefix.into()),
        ipv6_gateway: legacy_s(|e| &e.gateway6).to_string(),
        mac_address: legacy_s(|e| &e.mac).to_string(),
        networks,
        ..Default::default()
    }
}

/// The exposed ports inspect and ps show: none when every network the container is on is
/// a macvlan/ipvlan one (moby shows the ports its endpoints' drivers report, and those two
/// report none).
fn shown_exposed(rec: &ContainerRecord) -> Option<&berth_api::models::PortSet> {
    let mut attached = rec.endpoints.values().filter(|e| !e.network_id.is_empty());
    match attached.next() {
        Some(first) if first.no_port_mapping && attached.all(|e| e.no_port_mapping) => None,
        _ => rec.config.exposed_ports.as_ref(),
    }
}

/// The container's published ports while it runs.
fn published(rec: &ContainerRecord) -> Vec<crate::model::PortMapping> {
    rec.endpoints
        .values()
        .flat_map(|e| e.ports.iter().cloned())
        .collect()
}
