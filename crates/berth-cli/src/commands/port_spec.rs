//! The host-IP part of `-p` as the docker CLI reads it (go-connections nat.ParsePortSpec):
//! the spec is split at every `:`, the last two fields are the ports and everything before
//! them the address, so `::1:8080:80` and `[::1]:8080:80` both mean `::1`; brackets are
//! taken off with Go's net.SplitHostPort rules, whose errors docker prints as they are.

/// `(host ip, host port, container port[/proto])`, as nat's splitParts.
pub fn split_parts(raw: &str) -> (String, &str, &str) {
    let parts: Vec<&str> = raw.split(':').collect();
    match parts.as_slice() {
        [c] => (String::new(), "", c),
        [h, c] => (String::new(), h, c),
        [i, h, c] => (i.to_string(), h, c),
        _ => {
            let n = parts.len();
            (parts[..n - 2].join(":"), parts[n - 2], parts[n - 1])
        }
    }
}

/// `(port, proto)` of the container part, as nat.SplitProtoPort ("80/" is tcp).
pub fn split_proto_port(raw: &str) -> (&str, &str) {
    let mut parts = raw.split('/');
    let port = parts.next().unwrap_or_default();
    if port.is_empty() {
        return ("", "");
    }
    match parts.next() {
        None | Some("") => (port, "tcp"),
        Some(proto) => (port, proto),
    }
}

/// The address without brackets, checked as docker does; "" when none was given.
pub fn host_ip(ip: &str) -> Result<String, String> {
    if ip.is_empty() {
        return Ok(String::new());
    }
    let plain = if ip.starts_with('[') {
        strip_brackets(ip).map_err(|why| format!("invalid IP address {ip}: {why}"))?
    } else {
        ip.to_string()
    };
    // Go's net.ParseIP takes no zone and no brackets.
    if plain.parse::<std::net::IpAddr>().is_err() {
        return Err(format!("invalid IP address: {plain}"));
    }
    Ok(plain)
}

/// Go's `net.SplitHostPort(ip + ":")` host part, with its error text.
fn strip_brackets(ip: &str) -> Result<String, String> {
    let hostport = format!("{ip}:");
    let err = |why: &str| format!("address {hostport}: {why}");
    let last = hostport.len() - 1;
    let Some(end) = hostport.find(']') else {
        return Err(err("missing ']' in address"));
    };
    if end + 1 != last {
        return Err(if hostport.as_bytes()[end + 1] == b':' {
            err("too many colons in address")
        } else {
            err("missing port in address")
        });
    }
    let host = &hostport[1..end];
    if hostport[1..].contains('[') {
        return Err(err("unexpected '[' in address"));
    }
    if hostport[end + 1..].contains(']') {
        return Err(err("unexpected ']' in address"));
    }
    Ok(host.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip_of(spec: &str) -> Result<String, String> {
        host_ip(&split_parts(spec).0)
    }

    #[test]
    fn docker_forms() {
        // Each checked against the docker 28 CLI (PortBindings it sends, or its error).
        assert_eq!(ip_of("[::1]:8080:80").as_deref(), Ok("::1"));
        assert_eq!(ip_of("::1:8080:80").as_deref(), Ok("::1"));
        assert_eq!(ip_of("fd42::1:8080:80").as_deref(), Ok("fd42::1"));
        assert_eq!(ip_of("[fd42::1]:8080:80").as_deref(), Ok("fd42::1"));
        assert_eq!(ip_of("[::]:8080:80").as_deref(), Ok("::"));
        assert_eq!(ip_of("[1.2.3.4]:80:80").as_deref(), Ok("1.2.3.4"));
        assert_eq!(ip_of("127.0.0.1:80:80").as_deref(), Ok("127.0.0.1"));
        assert_eq!(ip_of("8080:80").as_deref(), Ok(""));
        assert_eq!(split_parts("[::1]::80/udp"), ("[::1]".into(), "", "80/udp"));
        assert_eq!(
            ip_of("[::1:80"),
            Err("invalid IP address [:: address [::: missing ']' in address".into())
        );
        assert_eq!(
            ip_of("[::1]:80"),
            Err("invalid IP address [:: address [::: missing ']' in address".into())
        );
        assert_eq!(
            ip_of("[::1]:80:80:80"),
            Err(
                "invalid IP address [::1]:80: address [::1]:80:: too many colons in address".into()
            )
        );
        assert_eq!(ip_of("::1]:80:80"), Err("invalid IP address: ::1]".into()));
        assert_eq!(ip_of("::8080:80"), Err("invalid IP address: :".into()));
        assert_eq!(split_proto_port("80/udp"), ("80", "udp"));
        assert_eq!(split_proto_port("80/"), ("80", "tcp"));
        assert_eq!(split_proto_port("/udp"), ("", ""));
        assert_eq!(ip_of("[zz]:80:80"), Err("invalid IP address: zz".into()));
    }
}
