//! `--device`, `--device-cgroup-rule` and `--gpus` from a container's HostConfig: the host
//! devices to create in the container and the device cgroup rules beside Docker's defaults
//! (the runtime enforces them: the v1 devices controller, or an eBPF program on cgroup v2).
//! berth has no GPU runtime, so device requests (`--gpus`) fail as on a Docker host without
//! one.

use berth_api::models::{given, HostConfig};
use berth_runtime::spec::DeviceMapping;

/// The `Devices` entries (`{PathOnHost, PathInContainer, CgroupPermissions}`).
pub fn mappings(hc: &HostConfig) -> Result<Vec<DeviceMapping>, String> {
    let mut out = Vec::new();
    for d in &hc.devices {
        let m = DeviceMapping {
            path_on_host: d.path_on_host.clone(),
            path_in_container: d.path_in_container.clone(),
            cgroup_permissions: d.cgroup_permissions.clone(),
        };
        if m.path_on_host.is_empty() {
            let shown = serde_json::to_string(d).unwrap_or_default();
            return Err(format!("invalid device mapping: {shown}"));
        }
        if !m.cgroup_permissions.chars().all(|c| "rwm".contains(c)) {
            return Err(format!("invalid device mode: {}", m.cgroup_permissions));
        }
        out.push(m);
    }
    Ok(out)
}

/// The `DeviceCgroupRules` ("c 1:3 rwm").
pub fn cgroup_rules(hc: &HostConfig) -> Vec<String> {
    given(&hc.device_cgroup_rules).to_vec()
}

/// moby's check of a device cgroup rule: `TYPE MAJOR:MINOR ACCESS`.
fn valid_rule(rule: &str) -> bool {
    let f: Vec<&str> = rule.split(' ').collect();
    let num = |s: &str| s == "*" || (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()));
    f.len() == 3
        && matches!(f[0], "a" | "b" | "c")
        && f[1].split_once(':').is_some_and(|(a, b)| num(a) && num(b))
        && (1..=3).contains(&f[2].len())
        && f[2].chars().all(|c| "rwm".contains(c))
}

/// Create-time checks of the shapes (the devices themselves are looked up at start).
pub fn validate(hc: &HostConfig) -> Result<(), String> {
    mappings(hc)?;
    for r in cgroup_rules(hc) {
        if !valid_rule(&r) {
            return Err(format!("invalid device cgroup rule format: '{r}'"));
        }
    }
    Ok(())
}

/// `--gpus` and other device requests: berth has no device driver for them, so a start
/// fails with Docker's message for a host without the NVIDIA runtime.
pub fn check_requests(hc: &HostConfig) -> Result<(), String> {
    if let Some(r) = given(&hc.device_requests).first() {
        let caps = r
            .capabilities
            .iter()
            .flatten()
            .map(|c| format!("[{}]", c.join(" ")))
            .collect::<Vec<_>>()
            .join(" ");
        return Err(format!(
            "could not select device driver {:?} with capabilities: [{caps}]",
            r.driver
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rules_and_requests() {
        assert!(valid_rule("c 1:3 rwm"));
        assert!(valid_rule("b *:* m"));
        assert!(valid_rule("a 7:* r"));
        assert!(!valid_rule("c 1:3"));
        assert!(!valid_rule("x 1:3 r"));
        assert!(!valid_rule("c 1:3 rwmx"));
        let mut hc: HostConfig =
            serde_json::from_value(json!({"DeviceCgroupRules": ["c 1:3 rwm", "bogus"]})).unwrap();
        assert_eq!(
            validate(&hc).unwrap_err(),
            "invalid device cgroup rule format: 'bogus'"
        );
        hc.device_requests = serde_json::from_value::<HostConfig>(
            json!({"DeviceRequests": [{"Driver":"","Count":-1,"Capabilities":[["gpu"]]}]}),
        )
        .unwrap()
        .device_requests;
        assert_eq!(
            check_requests(&hc).unwrap_err(),
            "could not select device driver \"\" with capabilities: [[gpu]]"
        );
        hc.devices = vec![serde_json::from_value(
            json!({"PathOnHost":"/dev/null","PathInContainer":"/dev/n","CgroupPermissions":"rw"}),
        )
        .unwrap()];
        let m = mappings(&hc).unwrap();
        assert_eq!(m[0].path_in_container, "/dev/n");
    }
}
