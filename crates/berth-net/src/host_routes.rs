//! The IPv4 subnets the host already routes, which a new bridge network must not take
//! (dockerd's `CheckRouteOverlaps` for docker0 and its address pools): read from
//! /proc/net/route (the main table of the calling thread's network namespace), which
//! needs no netlink dump and no privileges.

use ipnet::Ipv4Net;
use std::net::Ipv4Addr;

/// One routed destination and the interface it leaves by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostRoute {
    pub dest: Ipv4Net,
    pub iface: String,
}

/// The host's routes other than default routes.
pub fn host_routes() -> Vec<HostRoute> {
    std::fs::read_to_string("/proc/net/route")
        .map(|t| parse_proc_net_route(&t))
        .unwrap_or_default()
}

/// The destinations routed through interfaces other than `own` (the daemon's own
/// bridges, whose routes are its networks', not someone else's).
pub fn routed_elsewhere(own: &[String]) -> Vec<Ipv4Net> {
    host_routes()
        .into_iter()
        .filter(|r| !own.iter().any(|o| *o == r.iface))
        .map(|r| r.dest)
        .collect()
}

/// /proc/net/route: a header line, then `Iface Destination Gateway Flags RefCnt Use Metric
/// Mask ...` with addresses as host-order (little-endian) hex.
fn parse_proc_net_route(text: &str) -> Vec<HostRoute> {
    text.lines()
        .skip(1)
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            if f.len() < 8 {
                return None;
            }
            let dest = u32::from_str_radix(f[1], 16).ok()?;
            let mask = u32::from_str_radix(f[7], 16).ok()?;
            let prefix = mask.swap_bytes().leading_ones() as u8;
            if prefix == 0 {
                return None;
            }
            let addr = Ipv4Addr::from(dest.swap_bytes());
            let net = Ipv4Net::new(addr, prefix).ok()?.trunc();
            Some(HostRoute {
                dest: net,
                iface: f[0].to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_net_route() {
        let text =
            "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n\
eth0\t00000000\t0102A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n\
eth0\t0002A8C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n\
docker0\t000011AC\t00000000\t0001\t0\t0\t0\t0000FFFF\t0\t0\t0\n";
        let r = parse_proc_net_route(text);
        assert_eq!(
            r,
            vec![
                HostRoute {
                    dest: "192.168.2.0/24".parse().expect("net"),
                    iface: "eth0".into()
                },
                HostRoute {
                    dest: "172.17.0.0/16".parse().expect("net"),
                    iface: "docker0".into()
                },
            ]
        );
    }
}
