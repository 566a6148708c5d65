//! The IPv6 half of the daemon's rules: an `ip6` table of the same name, written in the
//! same `nft -f` transaction as the `ip` one, with the same isolation between berth's
//! bridges, no way in or out of internal networks, and masquerade for the IPv6 subnets of
//! the others (as moby 27 does with ip6tables). Routed IPv6 out of the host needs the
//! admin's `net.ipv6.conf.all.forwarding=1`, which berth never sets (as Docker requires).

use crate::firewall::{forward_rules, quote, NetRules};

/// The `ip6` table's text for these networks.
pub(crate) fn ruleset6(table: &str, nets: &[NetRules]) -> String {
    let mut fwd = String::from("\t\tct status dnat accept\n");
    let mut nat = String::new();
    for n in nets {
        fwd.push_str(&forward_rules(n, nets));
        if let (false, true, Some(s6)) = (n.internal, n.masquerade, n.subnet6.as_deref()) {
            let b = quote(&n.bridge);
            nat.push_str(&format!("\t\tip6 saddr {s6} oifname != {b} masquerade\n"));
        }
    }
    format!(
        "table ip6 {table} {{\n\tchain forward {{\n\t\ttype filter hook forward priority filter; policy accept;\n{fwd}\t}}\n\tchain postrouting {{\n\t\ttype nat hook postrouting priority srcnat; policy accept;\n{nat}\t}}\n}}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v6_rules_mirror_the_v4_ones() {
        let nets = vec![
            NetRules {
                bridge: "bt-a".into(),
                subnet: "10.213.1.0/24".into(),
                subnet6: Some("fd42:be:1::/64".into()),
                internal: false,
                masquerade: true,
                userland_proxy: true,
            },
            NetRules {
                bridge: "bt-b".into(),
                subnet: "10.213.2.0/24".into(),
                subnet6: Some("fd42:be:2::/64".into()),
                internal: true,
                masquerade: true,
                userland_proxy: true,
            },
        ];
        let r = ruleset6("berth_x", &nets);
        assert!(r.starts_with("table ip6 berth_x {"), "{r}");
        assert!(
            r.contains("iifname \"bt-a\" oifname { \"bt-b\" } drop"),
            "{r}"
        );
        assert!(
            r.contains("iifname \"bt-b\" oifname { \"bt-a\" } drop"),
            "{r}"
        );
        assert!(
            r.contains("ip6 saddr fd42:be:1::/64 oifname != \"bt-a\" masquerade"),
            "{r}"
        );
        assert!(
            !r.contains("fd42:be:2::/64"),
            "internal: no masquerade\n{r}"
        );
        assert!(
            r.contains("iifname \"bt-b\" drop\n\t\toifname \"bt-b\" drop"),
            "{r}"
        );
    }
}
