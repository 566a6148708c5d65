//! An endpoint's `com.docker.network.endpoint.sysctls` driver option (moby 26+): per-interface
//! sysctls written as `net.X.Y.IFNAME.Z=V` (comma separated), checked at create/connect with
//! moby's message and applied by the data plane once the interface exists
//! (`berth_net::netns::Endpoint::sysctls`).

use crate::error::{EngineError, Result};
use std::collections::BTreeMap;

pub const ENDPOINT_SYSCTLS: &str = "com.docker.network.endpoint.sysctls";

/// The sysctls an endpoint's driver options ask for, as `(["net", X, Y, Z...], value)`
/// (the interface's name goes between Y and Z); moby's validation.
pub fn parse(driver_opts: &BTreeMap<String, String>) -> Result<Vec<(Vec<String>, String)>> {
    let Some(all) = driver_opts.get(ENDPOINT_SYSCTLS) else {
        return Ok(Vec::new());
    };
    let mut out = Vec::new();
    let mut errs = Vec::new();
    for sc in all.split(',').filter(|s| !s.is_empty()) {
        let (k, v) = sc.split_once('=').unwrap_or((sc, ""));
        let parts: Vec<&str> = k.splitn(5, '.').collect();
        let ok = parts.len() == 5
            && parts[0] == "net"
            && matches!(parts[1], "ipv4" | "ipv6" | "mpls")
            && matches!(parts[3], "IFNAME" | "ifname")
            && sc.contains('=')
            && !parts[4].split('.').any(|p| p.is_empty() || p == "..");
        if !ok {
            errs.push(format!(
                "unrecognised network interface sysctl '{sc}'; represent 'net.X.Y.ethN.Z=V' as 'net.X.Y.IFNAME.Z=V', 'X' must be 'ipv4', 'ipv6' or 'mpls'"
            ));
            continue;
        }
        let mut path = vec![
            parts[0].to_string(),
            parts[1].to_string(),
            parts[2].to_string(),
        ];
        path.extend(parts[4].split('.').map(str::to_string));
        out.push((path, v.to_string()));
    }
    if !errs.is_empty() {
        return Err(EngineError::InvalidParameter(format!(
            "invalid endpoint settings:\n{}",
            errs.join("\n")
        )));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysctls_are_checked_as_moby() {
        let o = |v: &str| -> BTreeMap<String, String> {
            [(ENDPOINT_SYSCTLS.to_string(), v.to_string())]
                .into_iter()
                .collect()
        };
        let got = parse(&o(
            "net.ipv4.conf.IFNAME.log_martians=1,net.ipv6.conf.ifname.accept_ra=2",
        ))
        .expect("ok");
        assert_eq!(got[0].0, ["net", "ipv4", "conf", "log_martians"]);
        assert_eq!(got[0].1, "1");
        assert_eq!(got[1].0, ["net", "ipv6", "conf", "accept_ra"]);
        let e = parse(&o("net.ipv4.conf.eth0.forwarding=1")).expect_err("no IFNAME");
        assert!(e
            .to_string()
            .contains("unrecognised network interface sysctl 'net.ipv4.conf.eth0.forwarding=1'"));
        assert!(parse(&o("kernel.x.y.IFNAME.z=1")).is_err());
        assert!(parse(&BTreeMap::new()).expect("none").is_empty());
    }
}
