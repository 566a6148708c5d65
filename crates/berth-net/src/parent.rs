//! The parent interface of a macvlan/ipvlan network, as moby's drivers make it when it is
//! missing: no `-o parent` gives a dummy link named after the network (`dm-` and 12 hex
//! digits), a missing `IF.VLAN` an 802.1q sub-interface of `IF`; either is set up, and is
//! deleted with the network (only such links: never an interface the admin made).
//! Errors carry moby's wording.

use crate::netlink::{link_index, Netlink};
use crate::{NetError, Result};

/// What a parent name asks for when the link does not exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Missing {
    /// The network's own dummy link.
    Dummy,
    /// An 802.1q sub-interface of `base` with this VLAN id.
    Vlan { base: String, id: u16 },
}

/// moby's parseVlan and createVlanLink checks of `IF.VLAN`; `base_exists` answers whether
/// a link of that name exists.
pub fn parse_vlan(name: &str, base_exists: impl Fn(&str) -> bool) -> Result<Missing> {
    if !name.contains('.') {
        return Err(NetError::Invalid(format!(
            "invalid subinterface vlan name {name}, example formatting is eth0.10"
        )));
    }
    let parts: Vec<&str> = name.split('.').collect();
    if parts.len() != 2 {
        return Err(NetError::Invalid(format!(
            "required interface name format is: name.vlan_id, ex. eth0.10 for vlan 10, instead received {name}"
        )));
    }
    let (base, vid) = (parts[0], parts[1]);
    let id: i64 = vid.parse().map_err(|_| {
        NetError::Invalid(format!(
            "unable to parse a valid vlan id from: {vid} (ex. eth0.10 for vlan 10)"
        ))
    })?;
    if !base_exists(base) {
        return Err(NetError::Invalid(format!(
            "-o parent interface was not found on the host: {base}"
        )));
    }
    if !(1..=4094).contains(&id) {
        return Err(NetError::Invalid(format!(
            "vlan id must be between 1-4094, received: {id}"
        )));
    }
    Ok(Missing::Vlan {
        base: base.to_string(),
        id: id as u16,
    })
}

/// Makes the parent `name` if it is missing (`dummy`: the network's dummy link, else an
/// `IF.VLAN` sub-interface); true when it was made here (the network then owns it).
pub fn ensure(name: &str, dummy: bool) -> Result<bool> {
    if link_index(name).is_some() {
        return Ok(false);
    }
    crate::bridge::validate_name(name)
        .map_err(|_| NetError::Invalid(format!("invalid parent interface name {name:?}")))?;
    let nl = Netlink::open()?;
    if dummy {
        // moby returns the kernel's error as is.
        nl.add_dummy(name)
            .map_err(|e| NetError::Invalid(go_errno(&e)))?;
    } else {
        let Missing::Vlan { base, id } = parse_vlan(name, |b| link_index(b).is_some())? else {
            return Err(NetError::Invalid(format!("bad parent {name}")));
        };
        let base_idx = link_index(&base).ok_or_else(|| {
            NetError::Invalid(format!(
                "failed to find master interface {base} on the Docker host"
            ))
        })?;
        nl.add_vlan(name, base_idx, id).map_err(|e| {
            NetError::Invalid(format!(
                "failed to create {name} vlan link: {}",
                go_errno(&e)
            ))
        })?;
    }
    let idx = link_index(name)
        .ok_or_else(|| NetError::Invalid(format!("link {name} vanished after creation")))?;
    if let Err(e) = nl.set_up(idx) {
        let _ = nl.del_link(idx);
        return Err(e);
    }
    Ok(true)
}

/// A netlink error as Go's syscall.Errno prints it (`operation not supported`), the words
/// moby's messages carry.
fn go_errno(e: &NetError) -> String {
    match e {
        NetError::Netlink { source, .. } => {
            let text = source.to_string();
            let text = text.split(" (os error").next().unwrap_or(&text);
            let mut c = text.chars();
            match c.next() {
                Some(f) => f.to_lowercase().chain(c).collect(),
                None => String::new(),
            }
        }
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn msg(r: Result<Missing>) -> String {
        match r {
            Err(e) => e.to_string(),
            Ok(m) => format!("{m:?}"),
        }
    }

    #[test]
    fn kernel_errors_read_as_go_prints_them() {
        let e = NetError::Netlink {
            op: "create dummy link x".into(),
            source: std::io::Error::from_raw_os_error(libc::EOPNOTSUPP),
        };
        assert_eq!(go_errno(&e), "operation not supported");
    }

    #[test]
    fn vlan_names_are_checked_as_moby() {
        let exists = |b: &str| b == "eth9";
        assert_eq!(
            parse_vlan("eth9.10", exists).expect("ok"),
            Missing::Vlan {
                base: "eth9".into(),
                id: 10
            }
        );
        assert_eq!(
            msg(parse_vlan("nosuch", exists)),
            "invalid subinterface vlan name nosuch, example formatting is eth0.10"
        );
        assert!(msg(parse_vlan("a.b.c", exists)).starts_with("required interface name format"));
        assert_eq!(
            msg(parse_vlan("eth9.x", exists)),
            "unable to parse a valid vlan id from: x (ex. eth0.10 for vlan 10)"
        );
        assert_eq!(
            msg(parse_vlan("eth8.10", exists)),
            "-o parent interface was not found on the host: eth8"
        );
        assert_eq!(
            msg(parse_vlan("eth9.4095", exists)),
            "vlan id must be between 1-4094, received: 4095"
        );
    }
}
