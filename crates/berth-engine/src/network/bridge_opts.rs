//! A bridge network's driver options (`-o com.docker.network.bridge.*`), parsed and checked
//! as moby's bridge driver does (`failed to parse LABEL value: V (why)`), so that none is
//! accepted and then ignored: `name`, `enable_ip_masquerade` and `host_binding_ipv4` are
//! applied (the bridge, the masquerade rule, the default host address of published
//! ports), `enable_icc=false` is refused (berth has no per-bridge inter-container filter).

use crate::error::{EngineError, Result};
use std::collections::BTreeMap;
use std::net::IpAddr;

pub const ENABLE_ICC: &str = "com.docker.network.bridge.enable_icc";
pub const ENABLE_IP_MASQUERADE: &str = "com.docker.network.bridge.enable_ip_masquerade";
pub const HOST_BINDING_IPV4: &str = "com.docker.network.bridge.host_binding_ipv4";

fn parse_err(label: &str, value: &str, why: &str) -> EngineError {
    EngineError::InvalidParameter(format!("failed to parse {label} value: {value} ({why})"))
}

/// Go's strconv.ParseBool.
pub fn parse_bool(label: &str, value: &str) -> Result<bool> {
    match value {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(parse_err(
            label,
            value,
            &format!("strconv.ParseBool: parsing \"{value}\": invalid syntax"),
        )),
    }
}

/// Checks a bridge network's options at create.
pub fn check(options: &BTreeMap<String, String>) -> Result<()> {
    if let Some(v) = options.get(ENABLE_IP_MASQUERADE) {
        parse_bool(ENABLE_IP_MASQUERADE, v)?;
    }
    if let Some(v) = options.get(ENABLE_ICC) {
        if !parse_bool(ENABLE_ICC, v)? {
            return Err(EngineError::InvalidParameter(format!(
                "{ENABLE_ICC}=false is not supported by berth: containers of a bridge network always reach each other"
            )));
        }
    }
    host_binding(options)?;
    Ok(())
}

/// Whether the network masquerades its traffic out (default yes).
pub fn masquerade(options: &BTreeMap<String, String>) -> bool {
    options
        .get(ENABLE_IP_MASQUERADE)
        .is_none_or(|v| parse_bool(ENABLE_IP_MASQUERADE, v).unwrap_or(true))
}

/// `host_binding_ipv4`: the host address of the network's published ports without one.
pub fn host_binding(options: &BTreeMap<String, String>) -> Result<Option<IpAddr>> {
    options
        .get(HOST_BINDING_IPV4)
        .map(|v| {
            v.parse::<IpAddr>()
                .map_err(|_| parse_err(HOST_BINDING_IPV4, v, "nil ip"))
        })
        .transpose()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn o(k: &str, v: &str) -> BTreeMap<String, String> {
        [(k.to_string(), v.to_string())].into_iter().collect()
    }

    #[test]
    fn options_are_parsed_as_moby_and_none_ignored() {
        check(&o(ENABLE_ICC, "true")).expect("icc on");
        assert!(check(&o(ENABLE_ICC, "false"))
            .expect_err("icc off")
            .to_string()
            .contains("not supported"));
        assert_eq!(
            check(&o(ENABLE_IP_MASQUERADE, "x")).expect_err("bad").to_string(),
            "failed to parse com.docker.network.bridge.enable_ip_masquerade value: x (strconv.ParseBool: parsing \"x\": invalid syntax)"
        );
        assert_eq!(
            check(&o(HOST_BINDING_IPV4, "nope"))
                .expect_err("bad")
                .to_string(),
            "failed to parse com.docker.network.bridge.host_binding_ipv4 value: nope (nil ip)"
        );
        assert!(!masquerade(&o(ENABLE_IP_MASQUERADE, "0")));
        assert!(masquerade(&BTreeMap::new()));
        assert_eq!(
            host_binding(&o(HOST_BINDING_IPV4, "127.0.0.1")).expect("ip"),
            Some("127.0.0.1".parse().expect("ip"))
        );
    }
}
