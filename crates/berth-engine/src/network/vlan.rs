//! macvlan and ipvlan networks (moby's drivers): no bridge, each container gets a
//! macvlan/ipvlan link of the network's parent interface (berth-net `netns::LinkKind`).
//! Here: the `-o` options (`parent`, `macvlan_mode`, `ipvlan_mode`, `ipvlan_flag`) checked
//! with moby's words, the parent a network gets (no parent: its own dummy link `dm-<id12>` or `di-<id12>`,
//! which also leaves its containers without a default route, as moby treats such a
//! network as internal), and the parents two networks may not share.
//!
//! `-o parent=IF`: a missing `IF.VLAN` is made as an 802.1q sub-interface of IF; a parent
//! made for networks (`parent_created`) is set up again at daemon start and deleted with
//! the last network using it. Modes: `macvlan_mode` bridge/private/vepa/passthru,
//! `ipvlan_mode` l2/l3/l3s (l3: default route `dev ethN`, no gateway), `ipvlan_flag`
//! bridge/private/vepa; unknown ones and `lo` are refused. ipvlan networks never share a
//! parent, macvlan ones do unless one is passthru (moby 28). A macvlan link gets MAC
//! 02:42+IP (or the one asked for); an ipvlan link has the parent's (a custom one is
//! refused, as moby). Links are made straight into the container's namespace, so nothing is
//! left on the host; `network disconnect` deletes one inside (`DataPlane::delete_link_in`).

use crate::error::{EngineError, Result};
use crate::model::NetworkRecord;
use berth_net::netns::{IpvlanFlag, IpvlanMode, LinkKind, MacvlanMode};
use std::collections::BTreeMap;

/// Whether `driver` is one of these.
pub fn is_vlan_driver(driver: &str) -> bool {
    matches!(driver, "macvlan" | "ipvlan")
}

/// A macvlan/ipvlan network's link: its parent and the kind of its containers' links.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VlanSpec {
    /// The parent interface (the network's dummy link when no `-o parent` was given).
    pub parent: String,
    /// The parent is the network's dummy link.
    pub dummy: bool,
    pub link: LinkKind,
}

/// The network's dummy parent: `dm-` (macvlan) or `di-` (ipvlan) and the id's first 12
/// digits (moby's getDummyName, one prefix per driver).
pub fn dummy_name(driver: &str, id: &str) -> String {
    let prefix = if driver == "ipvlan" { "di" } else { "dm" };
    format!("{prefix}-{}", &id[..12.min(id.len())])
}

fn invalid(msg: String) -> EngineError {
    EngineError::InvalidParameter(msg)
}

/// Parses and checks a create's `-o` options for `driver` (macvlan or ipvlan).
pub fn spec(driver: &str, id: &str, options: &BTreeMap<String, String>) -> Result<VlanSpec> {
    let opt = |k: &str| options.get(k).map(String::as_str).unwrap_or("");
    let link = if driver == "macvlan" {
        let mode = match opt("macvlan_mode") {
            "" | "bridge" => MacvlanMode::Bridge,
            "private" => MacvlanMode::Private,
            "vepa" => MacvlanMode::Vepa,
            "passthru" => MacvlanMode::Passthru,
            other => {
                return Err(invalid(format!(
                    "requested macvlan mode '{other}' is not valid, 'bridge' mode is the macvlan driver default"
                )))
            }
        };
        LinkKind::Macvlan(mode)
    } else {
        let mode = match opt("ipvlan_mode") {
            "" | "l2" => IpvlanMode::L2,
            "l3" => IpvlanMode::L3,
            "l3s" => IpvlanMode::L3s,
            other => {
                return Err(invalid(format!(
                    "requested ipvlan mode '{other}' is not valid, 'l2' mode is the ipvlan driver default"
                )))
            }
        };
        let flag = match opt("ipvlan_flag") {
            "" | "bridge" => IpvlanFlag::Bridge,
            "private" => IpvlanFlag::Private,
            "vepa" => IpvlanFlag::Vepa,
            other => {
                return Err(invalid(format!(
                    "requested ipvlan flag '{other}' is not valid, 'bridge' is the ipvlan driver default"
                )))
            }
        };
        LinkKind::Ipvlan(mode, flag)
    };
    let parent = opt("parent");
    if parent == "lo" {
        return Err(invalid(format!(
            "loopback interface is not a valid {driver} parent link"
        )));
    }
    Ok(if parent.is_empty() {
        VlanSpec {
            parent: dummy_name(driver, id),
            dummy: true,
            link,
        }
    } else {
        VlanSpec {
            parent: parent.to_string(),
            dummy: false,
            link,
        }
    })
}

/// The spec of a stored macvlan/ipvlan network (its options were checked at create).
pub fn spec_of(rec: &NetworkRecord) -> Option<VlanSpec> {
    if !is_vlan_driver(&rec.driver) {
        return None;
    }
    spec(&rec.driver, &rec.id, &rec.options).ok()
}

/// The MAC inspect shows for an endpoint on `rec`: none on an ipvlan network (its links
/// carry the parent's MAC, and moby assigns none), else the interface's.
pub fn shown_mac(rec: &NetworkRecord, mac: [u8; 6]) -> String {
    if rec.driver == "ipvlan" {
        String::new()
    } else {
        berth_net::netns::mac_string(mac)
    }
}

/// moby 28's refusals of a parent another network of the same driver uses: ipvlan never
/// shares one; macvlan does, except with a passthru network on either side.
pub fn check_parent<'a>(
    driver: &str,
    new: &VlanSpec,
    others: impl Iterator<Item = &'a NetworkRecord>,
) -> Result<()> {
    for other in others.filter(|o| o.driver == driver) {
        let Some(theirs) = spec_of(other) else {
            continue;
        };
        if theirs.parent != new.parent {
            continue;
        }
        let passthru = |s: &VlanSpec| s.link == LinkKind::Macvlan(MacvlanMode::Passthru);
        let msg = if driver == "ipvlan" {
            format!(
                "network {} is already using parent interface {}",
                dummy_name(driver, &other.id),
                new.parent
            )
        } else if passthru(new) {
            format!(
                "cannot use mode passthru, macvlan network {} is already using parent interface {}",
                other.id, new.parent
            )
        } else if passthru(&theirs) {
            format!(
                "macvlan network {} is already using parent interface {} in mode passthru",
                other.id, new.parent
            )
        } else {
            continue;
        };
        return Err(EngineError::Forbidden(msg));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const ID: &str = "0123456789abcdef0123";

    #[test]
    fn options_are_checked_with_mobys_words() {
        let s = spec("macvlan", ID, &opts(&[("parent", "eth9")])).expect("spec");
        assert_eq!(s.parent, "eth9");
        assert_eq!(s.link, LinkKind::Macvlan(MacvlanMode::Bridge));
        let s = spec("macvlan", ID, &opts(&[])).expect("spec");
        assert_eq!((s.parent.as_str(), s.dummy), ("dm-0123456789ab", true));
        let s = spec(
            "ipvlan",
            ID,
            &opts(&[
                ("parent", "eth9"),
                ("ipvlan_mode", "l3"),
                ("ipvlan_flag", "vepa"),
            ]),
        )
        .expect("spec");
        assert_eq!(s.link, LinkKind::Ipvlan(IpvlanMode::L3, IpvlanFlag::Vepa));
        let e =
            |d: &str, kv: &[(&str, &str)]| spec(d, ID, &opts(kv)).expect_err("refused").to_string();
        assert_eq!(
            e("macvlan", &[("macvlan_mode", "x")]),
            "requested macvlan mode 'x' is not valid, 'bridge' mode is the macvlan driver default"
        );
        assert_eq!(
            e("ipvlan", &[("ipvlan_mode", "l4")]),
            "requested ipvlan mode 'l4' is not valid, 'l2' mode is the ipvlan driver default"
        );
        assert_eq!(
            e("ipvlan", &[("ipvlan_flag", "y")]),
            "requested ipvlan flag 'y' is not valid, 'bridge' is the ipvlan driver default"
        );
        assert_eq!(
            e("ipvlan", &[("parent", "lo")]),
            "loopback interface is not a valid ipvlan parent link"
        );
    }

    fn rec(id: &str, driver: &str, kv: &[(&str, &str)]) -> NetworkRecord {
        NetworkRecord {
            subnet: "10.0.0.0/24".into(),
            gateway: "10.0.0.1".into(),
            options: opts(kv),
            ..NetworkRecord::new(id, id, driver)
        }
    }

    #[test]
    fn shared_parents_as_moby_28() {
        let mac = rec("aaaaaaaaaaaaaaaa", "macvlan", &[("parent", "eth9")]);
        let pass = rec(
            "bbbbbbbbbbbbbbbb",
            "macvlan",
            &[("parent", "eth8"), ("macvlan_mode", "passthru")],
        );
        let ipv = rec("cccccccccccccccc", "ipvlan", &[("parent", "eth9")]);
        let all = [mac.clone(), pass.clone(), ipv.clone()];
        let new =
            |d: &str, kv: &[(&str, &str)]| spec(d, "dddddddddddddddd", &opts(kv)).expect("spec");
        // Two macvlan networks on one parent: fine; a macvlan beside an ipvlan too.
        check_parent(
            "macvlan",
            &new("macvlan", &[("parent", "eth9")]),
            all.iter(),
        )
        .expect("shared");
        let e = check_parent(
            "macvlan",
            &new(
                "macvlan",
                &[("parent", "eth9"), ("macvlan_mode", "passthru")],
            ),
            all.iter(),
        )
        .expect_err("passthru");
        assert_eq!(
            e.to_string(),
            "cannot use mode passthru, macvlan network aaaaaaaaaaaaaaaa is already using parent interface eth9"
        );
        let e = check_parent(
            "macvlan",
            &new("macvlan", &[("parent", "eth8")]),
            all.iter(),
        )
        .expect_err("their passthru");
        assert!(e.to_string().ends_with("eth8 in mode passthru"), "{e}");
        let e = check_parent("ipvlan", &new("ipvlan", &[("parent", "eth9")]), all.iter())
            .expect_err("ipvlan");
        assert_eq!(
            e.to_string(),
            "network di-cccccccccccc is already using parent interface eth9"
        );
    }
}
