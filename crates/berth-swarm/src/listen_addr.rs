//! The addresses `swarm init` resolves from its listen and advertise addresses, as moby's
//! `daemon/cluster/listen_addr.go`: each host part is an interface name (its one IPv4
//! address, else its one IPv6 address) or an IP; the advertise port defaults to the listen
//! port; no advertise address means the system's address. The interface table is a seam
//! ([`Interfaces`]) so the rules are tested without the host's interfaces.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use berth_api::hostport::{join_host_port, parse_tcp_addr, split_host_port};

pub const ERR_BAD_LISTEN: &str =
    "listen address must be an IP address or network interface (with optional port number)";
pub const ERR_BAD_ADVERTISE: &str = "advertise address must be a non-zero IP address or network interface (with optional port number)";

/// The addresses of the host's interfaces.
pub trait Interfaces {
    /// The addresses of interface `name`; `None` when there is no such interface.
    fn addrs(&self, name: &str) -> Option<Vec<IpAddr>>;
}

/// What `swarm init` keeps: where it listens and what it advertises.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// `host:port` (IPv6 hosts bracketed).
    pub listen: String,
    pub advertise_host: String,
    pub advertise_port: u16,
}

impl Resolved {
    /// The manager address other nodes reach (`ManagerStatus.Addr`): `host:port`.
    pub fn advertise(&self) -> String {
        join_host_port(&self.advertise_host, &self.advertise_port.to_string())
    }
}

enum InputError {
    /// Neither an interface nor a usable IP.
    BadIdentifier,
    /// An interface whose addresses do not name one IP.
    Interface(String),
}

/// moby's `resolveInterfaceAddr`: `Ok(None)` when there is no such interface.
fn interface_addr(ifaces: &dyn Interfaces, name: &str) -> Result<Option<IpAddr>, String> {
    let Some(addrs) = ifaces.addrs(name) else {
        return Ok(None);
    };
    let (mut v4, mut v6): (Option<IpAddr>, Option<IpAddr>) = (None, None);
    for ip in addrs {
        let (slot, family) = if ip.is_ipv4() {
            (&mut v4, "IPv4")
        } else {
            (&mut v6, "IPv6")
        };
        if let Some(first) = slot {
            return Err(format!(
                "interface {name} has more than one {family} address ({first} and {ip})"
            ));
        }
        *slot = Some(ip);
    }
    match v4.or(v6) {
        Some(ip) => Ok(Some(ip)),
        None => Err(format!(
            "interface {name} has no usable IPv4 or IPv6 address"
        )),
    }
}

/// moby's `resolveInputIPAddr`: an interface name first, then an IP.
fn input_ip(
    ifaces: &dyn Interfaces,
    input: &str,
    unspecified_ok: bool,
) -> Result<IpAddr, InputError> {
    match interface_addr(ifaces, input) {
        Ok(Some(ip)) => return Ok(ip),
        Err(e) => return Err(InputError::Interface(e)),
        Ok(None) => {}
    }
    match input.parse::<IpAddr>() {
        Ok(ip) if unspecified_ok || !ip.is_unspecified() => Ok(ip),
        _ => Err(InputError::BadIdentifier),
    }
}

fn port(p: &str, what: &str, addr: &str) -> Result<u16, String> {
    p.parse::<u16>()
        .map_err(|_| format!("invalid {what} address {addr}: invalid port \"{p}\""))
}

/// Resolves `listen` (`host:port`) and `advertise` (`host[:port]`, may be empty: then the
/// system's address from `system`, with the listen port).
pub fn resolve(
    ifaces: &dyn Interfaces,
    listen: &str,
    advertise: &str,
    system: impl FnOnce() -> Result<IpAddr, String>,
) -> Result<Resolved, String> {
    // The daemon normalises the address as the docker CLI does (moby's validateAddr: a
    // missing host or port from 0.0.0.0:2377, `tcp://` dropped; a bad one kept as is).
    let normal = parse_tcp_addr(listen, "0.0.0.0:2377")
        .map(|a| a.trim_start_matches("tcp://").to_string())
        .unwrap_or_else(|_| listen.to_string());
    let listen = normal.as_str();
    let (lhost, lport) = split_host_port(listen)
        .ok_or_else(|| format!("could not parse listen address {listen}"))?;
    let lip = input_ip(ifaces, &lhost, true).map_err(|e| match e {
        InputError::BadIdentifier => ERR_BAD_LISTEN.to_string(),
        InputError::Interface(m) => m,
    })?;
    let lport = port(&lport, "listen", listen)?;
    let (ahost, aport) = if advertise.is_empty() {
        (system()?, lport)
    } else {
        let (h, p) = match split_host_port(advertise) {
            Some((h, p)) => (h, port(&p, "advertise", advertise)?),
            None => (advertise.to_string(), lport),
        };
        let ip = input_ip(ifaces, &h, false).map_err(|e| match e {
            InputError::BadIdentifier => ERR_BAD_ADVERTISE.to_string(),
            InputError::Interface(m) => m,
        })?;
        (ip, p)
    };
    Ok(Resolved {
        listen: join_host_port(&lip.to_string(), &lport.to_string()),
        advertise_host: ahost.to_string(),
        advertise_port: aport,
    })
}

/// The host's interfaces, read with getifaddrs(3).
pub struct SystemInterfaces;

impl Interfaces for SystemInterfaces {
    fn addrs(&self, name: &str) -> Option<Vec<IpAddr>> {
        let mut head: *mut libc::ifaddrs = std::ptr::null_mut();
        // SAFETY: getifaddrs fills `head` with a list that freeifaddrs releases below.
        if unsafe { libc::getifaddrs(&mut head) } != 0 {
            return None;
        }
        let mut found = false;
        let mut out = Vec::new();
        let mut cur = head;
        while !cur.is_null() {
            // SAFETY: `cur` is a node of the list getifaddrs returned, not yet freed.
            let ifa = unsafe { &*cur };
            // SAFETY: ifa_name is a NUL-terminated string owned by the list.
            let n = unsafe { std::ffi::CStr::from_ptr(ifa.ifa_name) };
            if n.to_bytes() == name.as_bytes() {
                // Every interface has an AF_PACKET entry, so one with no IP is found too.
                found = true;
                if !ifa.ifa_addr.is_null() {
                    // SAFETY: ifa_addr points at a sockaddr whose family says its type.
                    let family = i32::from(unsafe { (*ifa.ifa_addr).sa_family });
                    if family == libc::AF_INET {
                        // SAFETY: an AF_INET address is a sockaddr_in.
                        let sin = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in) };
                        out.push(IpAddr::V4(Ipv4Addr::from(u32::from_be(
                            sin.sin_addr.s_addr,
                        ))));
                    } else if family == libc::AF_INET6 {
                        // SAFETY: an AF_INET6 address is a sockaddr_in6.
                        let sin6 = unsafe { &*(ifa.ifa_addr as *const libc::sockaddr_in6) };
                        out.push(IpAddr::V6(Ipv6Addr::from(sin6.sin6_addr.s6_addr)));
                    }
                }
            }
            cur = ifa.ifa_next;
        }
        // SAFETY: `head` came from getifaddrs and is freed once.
        unsafe { libc::freeifaddrs(head) };
        found.then_some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    struct Fake(HashMap<&'static str, Vec<IpAddr>>);
    impl Interfaces for Fake {
        fn addrs(&self, name: &str) -> Option<Vec<IpAddr>> {
            self.0.get(name).cloned()
        }
    }

    fn ifaces() -> Fake {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        Fake(HashMap::from([
            ("lo", vec![ip("127.0.0.1"), ip("::1")]),
            ("eth0", vec![ip("10.0.0.5"), ip("10.0.0.6")]),
            ("v6only", vec![ip("fd00::1")]),
            ("empty", vec![]),
        ]))
    }

    fn sys() -> Result<IpAddr, String> {
        Ok("192.0.2.10".parse().unwrap())
    }

    fn ok(listen: &str, adv: &str) -> (String, String) {
        let r = resolve(&ifaces(), listen, adv, sys).unwrap();
        (r.listen.clone(), r.advertise())
    }

    fn err(listen: &str, adv: &str) -> String {
        resolve(&ifaces(), listen, adv, sys).unwrap_err()
    }

    #[test]
    fn addresses_resolve_as_moby() {
        assert_eq!(
            ok("0.0.0.0:2377", "127.0.0.1"),
            ("0.0.0.0:2377".into(), "127.0.0.1:2377".into())
        );
        // The advertise port defaults to the listen port; its own port wins.
        assert_eq!(
            ok("127.0.0.1:4567", "127.0.0.1"),
            ("127.0.0.1:4567".into(), "127.0.0.1:4567".into())
        );
        assert_eq!(ok("0.0.0.0:4567", "127.0.0.1:4000").1, "127.0.0.1:4000");
        // Interface names: the one IPv4 address, else the one IPv6 address.
        assert_eq!(
            ok("lo:4000", "lo"),
            ("127.0.0.1:4000".into(), "127.0.0.1:4000".into())
        );
        assert_eq!(ok("v6only:1", "v6only").1, "[fd00::1]:1");
        assert_eq!(ok("[::1]:4000", "127.0.0.1").0, "[::1]:4000");
        // No advertise address: the system's, with the listen port.
        assert_eq!(ok("127.0.0.1:4567", "").1, "192.0.2.10:4567");
    }

    #[test]
    fn bad_addresses_are_refused_with_mobys_words() {
        assert_eq!(err("nope:2377", "127.0.0.1"), ERR_BAD_LISTEN);
        assert_eq!(err("999.1.1.1:2377", "127.0.0.1"), ERR_BAD_LISTEN);
        // Normalised first, as moby's validateAddr does.
        assert_eq!(ok("1.2.3.4", "127.0.0.1").0, "1.2.3.4:2377");
        assert_eq!(ok("tcp://:4000", "127.0.0.1").0, "0.0.0.0:4000");
        assert_eq!(err("0.0.0.0:2377", "0.0.0.0"), ERR_BAD_ADVERTISE);
        assert_eq!(err("0.0.0.0:2377", "nosuchif"), ERR_BAD_ADVERTISE);
        assert_eq!(
            err("eth0:2377", "127.0.0.1"),
            "interface eth0 has more than one IPv4 address (10.0.0.5 and 10.0.0.6)"
        );
        assert_eq!(
            err("0.0.0.0:2377", "empty"),
            "interface empty has no usable IPv4 or IPv6 address"
        );
        assert_eq!(
            err("1.2.3.4:99999", "127.0.0.1"),
            "invalid listen address 1.2.3.4:99999: invalid port \"99999\""
        );
    }

    #[test]
    fn the_loopback_interface_is_found() {
        let lo = SystemInterfaces.addrs("lo").expect("lo exists");
        assert!(lo.contains(&IpAddr::V4(Ipv4Addr::LOCALHOST)), "{lo:?}");
        assert!(SystemInterfaces.addrs("no-such-if0").is_none());
    }
}
