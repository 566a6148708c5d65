//! `host:port` strings as Go and the docker CLI handle them: `net.SplitHostPort`,
//! `net.JoinHostPort`, and docker's `opts.ParseTCPAddr` (the `--listen-addr` flag's
//! parser, which the daemon applies again to what it receives).

/// Go's `net.SplitHostPort`: `host:port` or `[host]:port` (either part may be empty).
pub fn split_host_port(a: &str) -> Option<(String, String)> {
    if let Some(rest) = a.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = after.strip_prefix(':')?;
        if port.contains(':') {
            return None;
        }
        return Some((host.to_string(), port.to_string()));
    }
    let (host, port) = a.rsplit_once(':')?;
    if host.contains([':', '[', ']']) || port.contains(']') {
        return None;
    }
    Some((host.to_string(), port.to_string()))
}

/// Go's `net.JoinHostPort`: an IPv6 host bracketed.
pub fn join_host_port(host: &str, port: &str) -> String {
    if host.contains(':') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// docker's `opts.ParseTCPAddr(try, default)`: `tcp://HOST:PORT[/PATH]`, the host or port
/// taken from `default` (`host:port`, with or without `tcp://`) when `try` leaves it out.
pub fn parse_tcp_addr(try_addr: &str, default_addr: &str) -> Result<String, String> {
    if try_addr.is_empty() || try_addr == "tcp://" {
        return Ok(default_addr.to_string());
    }
    let addr = try_addr.strip_prefix("tcp://").unwrap_or(try_addr);
    if addr.contains("://") || addr.is_empty() {
        return Err(format!("invalid proto, expected tcp: {try_addr}"));
    }
    let default = default_addr.strip_prefix("tcp://").unwrap_or(default_addr);
    let (dhost, dport) =
        split_host_port(default).ok_or_else(|| format!("missing port in address {default}"))?;
    let mut addr = addr.to_string();
    if addr.ends_with("]:") {
        addr.push_str(&dport);
    }
    // What Go's url.Parse("tcp://" + addr) checks: the authority ends at '/', '?' or '#',
    // and a port after the host is digits.
    let end = addr.find(['/', '?', '#']).unwrap_or(addr.len());
    let (authority, rest) = addr.split_at(end);
    let path = match rest.strip_prefix('/') {
        Some(_) => &rest[..rest.find(['?', '#']).unwrap_or(rest.len())],
        None => "",
    };
    let host = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let after_host = if host.starts_with('[') {
        match host.find(']') {
            Some(i) => &host[i + 1..],
            None => return Err(format!("parse \"tcp://{addr}\": missing ']' in host")),
        }
    } else {
        host.rfind(':').map_or("", |i| &host[i..])
    };
    let port_ok = after_host.is_empty()
        || after_host
            .strip_prefix(':')
            .is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()));
    if !port_ok {
        return Err(format!(
            "parse \"tcp://{addr}\": invalid port \"{after_host}\" after host"
        ));
    }
    let (h, p) = split_host_port(host)
        .or_else(|| split_host_port(&join_host_port(host, &dport)))
        .ok_or_else(|| format!("invalid bind address format: {try_addr}"))?;
    let h = if h.is_empty() { dhost } else { h };
    let p = if p.is_empty() { dport } else { p };
    Ok(format!("tcp://{}{path}", join_host_port(&h, &p)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_and_join_as_go() {
        assert_eq!(
            split_host_port("1.2.3.4:5"),
            Some(("1.2.3.4".into(), "5".into()))
        );
        assert_eq!(split_host_port("[::1]:5"), Some(("::1".into(), "5".into())));
        assert_eq!(split_host_port(":5"), Some(("".into(), "5".into())));
        assert_eq!(split_host_port("1.2.3.4"), None);
        assert_eq!(split_host_port("::1"), None);
        assert_eq!(join_host_port("::1", "5"), "[::1]:5");
        assert_eq!(join_host_port("h", "5"), "h:5");
    }

    #[test]
    fn tcp_addresses_as_the_docker_cli_parses_them() {
        let p = |a: &str| parse_tcp_addr(a, "0.0.0.0:2377");
        assert_eq!(p(""), Ok("0.0.0.0:2377".into()));
        assert_eq!(p("127.0.0.1:4567"), Ok("tcp://127.0.0.1:4567".into()));
        assert_eq!(p("tcp://1.2.3.4:5"), Ok("tcp://1.2.3.4:5".into()));
        assert_eq!(p(":4000"), Ok("tcp://0.0.0.0:4000".into()));
        assert_eq!(p("127.0.0.1"), Ok("tcp://127.0.0.1:2377".into()));
        assert_eq!(p("lo:4000"), Ok("tcp://lo:4000".into()));
        assert_eq!(p("[::1]:4000"), Ok("tcp://[::1]:4000".into()));
        assert_eq!(p("[::1]:"), Ok("tcp://[::1]:2377".into()));
        assert_eq!(p("::1"), Ok("tcp://[::1]:2377".into()));
        assert_eq!(p("1.2.3.4:5/path"), Ok("tcp://1.2.3.4:5/path".into()));
        assert_eq!(
            p("foo:bar"),
            Err("parse \"tcp://foo:bar\": invalid port \":bar\" after host".into())
        );
        assert_eq!(
            p("unix:///x"),
            Err("invalid proto, expected tcp: unix:///x".into())
        );
        assert_eq!(p("tcp://"), Ok("0.0.0.0:2377".into()));
    }
}
