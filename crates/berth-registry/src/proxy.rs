//! The daemon's HTTP proxies for registry access, as dockerd uses them.
//!
//! dockerd takes `proxies.http-proxy`/`https-proxy`/`no-proxy` from daemon.json (or
//! `--http-proxy`...) and writes them over its own `HTTP_PROXY`/`http_proxy`... environment
//! (cmd/dockerd `configureProxyEnv`); Go's `http.ProxyFromEnvironment` then picks the
//! proxy per request: `HTTPS_PROXY` for https URLs, `HTTP_PROXY` for http ones, none for
//! `localhost` and loopback addresses, none for a host `NO_PROXY` names (`foo.com` names
//! it and its subdomains, `.foo.com` and `*.foo.com` only subdomains, `*` every host).
//! `/info` shows the values with the userinfo masked (`config.MaskCredentials`:
//! `http://xxxxx:xxxxx@host`). moby validates none of them at start: an unusable proxy
//! fails the request that needs it, which berth does too.
//!
//! The choice is made per request, by Go's own rules ([`NoProxy`], a port of
//! golang.org/x/net/http/httpproxy's `useProxy`: IP and CIDR entries of any prefix, v4 and
//! v6, `[v6]:port` and `v4:port`, domains with and without a leading dot or `*.`, with a
//! port, and `*`), against the request's host and port (80/443 when the URL has none):
//! every registry request sets its own proxy ([`Proxies::for_url`]), so a token realm or
//! a mirror on another host is judged on its own. ureq still follows a redirect inside
//! one request itself; such a hop to another host is judged by ureq's NO_PROXY entries,
//! translated from Go's where they can be (exact host plus `.suffix`, whole-octet CIDRs).

use std::net::IpAddr;

/// The proxies the daemon uses for registries (empty: none).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Proxies {
    pub http: String,
    pub https: String,
    pub no_proxy: String,
}

fn env_any(names: &[&str]) -> String {
    names
        .iter()
        .filter_map(|n| std::env::var(n).ok())
        .find(|v| !v.is_empty())
        .unwrap_or_default()
}

impl Proxies {
    /// The process environment's proxies (Go's `getEnvAny`: the upper-case name first).
    pub fn from_env() -> Self {
        Proxies {
            http: env_any(&["HTTP_PROXY", "http_proxy"]),
            https: env_any(&["HTTPS_PROXY", "https_proxy"]),
            no_proxy: env_any(&["NO_PROXY", "no_proxy"]),
        }
    }

    /// `self` (the environment) with each value the configuration sets written over it.
    pub fn overridden_by(self, config: &Proxies) -> Self {
        let pick = |c: &str, e: String| if c.is_empty() { e } else { c.to_string() };
        Proxies {
            http: pick(&config.http, self.http),
            https: pick(&config.https, self.https),
            no_proxy: pick(&config.no_proxy, self.no_proxy),
        }
    }

    /// The ureq proxy for requests of one scheme, or none. An unusable value is the
    /// error Go's transport gives (`invalid proxy address "X"`).
    pub(crate) fn for_scheme(&self, https: bool) -> Result<Option<ureq::Proxy>, String> {
        self.proxy(https, true)
    }

    /// The scheme's proxy; with `exemptions`, ureq's translation of NO_PROXY in it (for the
    /// hops ureq decides itself), else none (the request's URL was judged already).
    fn proxy(&self, https: bool, exemptions: bool) -> Result<Option<ureq::Proxy>, String> {
        let raw = if https { &self.https } else { &self.http };
        if raw.is_empty() {
            return Ok(None);
        }
        let invalid = || format!("invalid proxy address {raw:?}");
        let parsed = ureq::Proxy::new(raw).map_err(|_| invalid())?;
        let mut b = ureq::Proxy::builder(parsed.protocol())
            .host(parsed.host())
            .port(parsed.port())
            .resolve_target(parsed.resolve_target());
        if let Some(u) = parsed.username() {
            b = b.username(u);
        }
        if let Some(p) = parsed.password() {
            b = b.password(p);
        }
        if exemptions {
            for e in ureq_no_proxy(&self.no_proxy) {
                b = b.no_proxy(&e);
            }
        }
        b.build().map(Some).map_err(|_| invalid())
    }
}

/// Go's NO_PROXY list, parsed as golang.org/x/net/http/httpproxy's `config.init` parses it,
/// and its `useProxy` decision.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NoProxy {
    /// `*`: no request uses the proxy.
    all: bool,
    ips: Vec<IpEntry>,
    domains: Vec<DomainEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum IpEntry {
    /// `10.0.0.0/30`, `2002:db8:a::45/64`: any address in the network (any port).
    Cidr(IpAddr, u8),
    /// `192.168.1.1`, `192.168.1.3:80`, `[2001:db8::1]:80`: that address (and port).
    Ip(IpAddr, String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct DomainEntry {
    /// Always with a leading dot: `.foo.com`.
    suffix: String,
    port: String,
    /// The entry had no leading dot (`foo.com`): the host itself matches too.
    match_host: bool,
}

/// Go's `net.SplitHostPort` for what NO_PROXY entries and URL authorities hold:
/// `host:port` or `[v6]:port`; None when there is no port part.
fn split_host_port(s: &str) -> Option<(&str, &str)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest.split_once(']')?;
        let port = after.strip_prefix(':')?;
        return Some((h, port));
    }
    let (h, port) = s.rsplit_once(':')?;
    // A bare v6 address has several colons and no brackets: not host:port.
    if h.contains(':') {
        return None;
    }
    Some((h, port))
}

fn in_cidr(net: IpAddr, bits: u8, ip: IpAddr) -> bool {
    match (net, ip) {
        (IpAddr::V4(n), IpAddr::V4(a)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(bits)).unwrap_or(0);
            u32::from(n) & mask == u32::from(a) & mask
        }
        (IpAddr::V6(n), IpAddr::V6(a)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(bits)).unwrap_or(0);
            u128::from(n) & mask == u128::from(a) & mask
        }
        _ => false,
    }
}

/// An address as Go's net.ParseIP reads it (a v4-mapped v6 address is its v4 address).
fn parse_ip(s: &str) -> Option<IpAddr> {
    match s.parse::<IpAddr>().ok()? {
        IpAddr::V6(v6) => Some(v6.to_ipv4_mapped().map_or(IpAddr::V6(v6), IpAddr::V4)),
        v4 => Some(v4),
    }
}

impl NoProxy {
    /// Parses a NO_PROXY value (entries separated by commas, case and spaces ignored;
    /// malformed entries are skipped, as Go skips them).
    pub fn parse(list: &str) -> NoProxy {
        let mut out = NoProxy::default();
        for p in list.split(',').map(|e| e.trim().to_ascii_lowercase()) {
            if p.is_empty() {
                continue;
            }
            if p == "*" {
                return NoProxy {
                    all: true,
                    ..NoProxy::default()
                };
            }
            if let Some((a, bits)) = p.split_once('/') {
                if let (Ok(ip), Ok(n)) = (a.parse::<IpAddr>(), bits.parse::<u8>()) {
                    let max = if ip.is_ipv4() { 32 } else { 128 };
                    if n <= max {
                        out.ips.push(IpEntry::Cidr(ip, n));
                        continue;
                    }
                }
            }
            let (mut host, port) = match split_host_port(&p) {
                Some(("", _)) => continue,
                Some((h, port)) => (h.to_string(), port.to_string()),
                None => (p.clone(), String::new()),
            };
            if let Some(ip) = parse_ip(&host) {
                out.ips.push(IpEntry::Ip(ip, port));
                continue;
            }
            if host.is_empty() {
                continue;
            }
            if let Some(rest) = host.strip_prefix("*.") {
                host = format!(".{rest}");
            }
            let match_host = !host.starts_with('.');
            if match_host {
                host = format!(".{host}");
            }
            out.domains.push(DomainEntry {
                suffix: host,
                port,
                match_host,
            });
        }
        out
    }

    /// Go's `useProxy(canonicalAddr(url))`: false for localhost, loopback addresses and
    /// whatever an entry matches.
    pub fn use_proxy(&self, host: &str, port: u16) -> bool {
        let host = host
            .trim()
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_ascii_lowercase();
        if host == "localhost" {
            return false;
        }
        let ip = parse_ip(&host);
        if ip.is_some_and(|i| i.is_loopback()) {
            return false;
        }
        if self.all {
            return false;
        }
        let port = port.to_string();
        if let Some(ip) = ip {
            let hit = self.ips.iter().any(|e| match e {
                IpEntry::Cidr(net, bits) => in_cidr(*net, *bits, ip),
                IpEntry::Ip(a, p) => *a == ip && (p.is_empty() || *p == port),
            });
            if hit {
                return false;
            }
        }
        let hit = self.domains.iter().any(|d| {
            (host.ends_with(&d.suffix) || (d.match_host && host == d.suffix[1..]))
                && (d.port.is_empty() || d.port == port)
        });
        !hit
    }
}

impl Proxies {
    /// The proxy for one request URL (Go's `ProxyFunc`: the scheme's proxy unless
    /// NO_PROXY or loopback exempts the URL's host and port), or none.
    pub fn for_url(&self, url: &str) -> Result<Option<ureq::Proxy>, String> {
        let https = url.starts_with("https://");
        let rest = url
            .trim_start_matches("https://")
            .trim_start_matches("http://");
        let authority = rest.split(['/', '?', '#']).next().unwrap_or(rest);
        let authority = authority.rsplit('@').next().unwrap_or(authority);
        let default = if https { 443 } else { 80 };
        let (host, port) = match split_host_port(authority) {
            Some((h, p)) => (h, p.parse::<u16>().unwrap_or(default)),
            None => (authority, default),
        };
        if !NoProxy::parse(&self.no_proxy).use_proxy(host, port) {
            return Ok(None);
        }
        // Without ureq's own exemptions: they know no ports or CIDRs and would send a
        // request Go proxies (`host:OTHERPORT` under a `host:PORT` entry) direct.
        self.proxy(https, false)
    }
}

/// Go's NO_PROXY list (plus its fixed loopback exemption) as ureq's entries: only for a
/// redirect that ureq follows to another host inside one request (see the module doc).
fn ureq_no_proxy(list: &str) -> Vec<String> {
    let mut out: Vec<String> = ["localhost", "127.", "::1", "[::1]"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for entry in list.split(',').map(|e| e.trim().to_ascii_lowercase()) {
        if entry.is_empty() {
            continue;
        }
        if entry == "*" {
            out.push(entry);
            continue;
        }
        if let Some((addr, bits)) = entry.split_once('/') {
            match (addr.parse::<IpAddr>(), bits.parse::<u8>()) {
                (Ok(IpAddr::V4(a)), Ok(n)) if n % 8 == 0 && n <= 32 => {
                    let octets = a.octets();
                    let kept: Vec<String> = octets[..usize::from(n / 8)]
                        .iter()
                        .map(u8::to_string)
                        .collect();
                    if n == 0 {
                        out.push("*".into());
                    } else if n == 32 {
                        out.push(kept.join("."));
                    } else {
                        out.push(format!("{}.", kept.join(".")));
                    }
                }
                _ => tracing::warn!(%entry, "NO_PROXY entry not applied to registry access"),
            }
            continue;
        }
        // A port in the entry (`host:5000`) narrows Go's match; ureq matches hosts only.
        let host = match entry.rsplit_once(':') {
            Some((h, p)) if p.parse::<u16>().is_ok() && !h.contains(':') => h.to_string(),
            _ => entry.clone(),
        };
        let host = host.trim_start_matches('*');
        if let Some(sub) = host.strip_prefix('.') {
            out.push(format!(".{sub}"));
        } else if host.parse::<IpAddr>().is_ok() {
            out.push(host.to_string());
            if host.contains(':') {
                out.push(format!("[{host}]"));
            }
        } else {
            out.push(host.to_string());
            out.push(format!(".{host}"));
        }
    }
    out
}

/// moby's `config.MaskCredentials`: a URL with userinfo shows `xxxxx:xxxxx` instead;
/// anything else (no userinfo, not `scheme://...`) is returned as given.
pub fn mask_credentials(raw: &str) -> String {
    let Some(scheme_end) = raw.find("://") else {
        return raw.to_string();
    };
    let rest = &raw[scheme_end + 3..];
    let auth_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let Some(at) = rest[..auth_end].rfind('@') else {
        return raw.to_string();
    };
    format!("{}xxxxx:xxxxx@{}", &raw[..scheme_end + 3], &rest[at + 1..])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masks_userinfo_only() {
        assert_eq!(
            mask_credentials("http://user:secret@proxy.example:3128"),
            "http://xxxxx:xxxxx@proxy.example:3128"
        );
        assert_eq!(
            mask_credentials("http://user@proxy.example:3128/p@th"),
            "http://xxxxx:xxxxx@proxy.example:3128/p@th"
        );
        assert_eq!(
            mask_credentials("http://proxy.example:3128"),
            "http://proxy.example:3128"
        );
        assert_eq!(mask_credentials("proxy:3128"), "proxy:3128");
    }

    #[test]
    fn config_overrides_environment_per_value() {
        let env = Proxies {
            http: "http://e:1".into(),
            https: "http://e:2".into(),
            no_proxy: "a".into(),
        };
        let cfg = Proxies {
            https: "http://c:3".into(),
            ..Default::default()
        };
        let got = env.overridden_by(&cfg);
        assert_eq!(got.http, "http://e:1");
        assert_eq!(got.https, "http://c:3");
        assert_eq!(got.no_proxy, "a");
    }

    #[test]
    fn no_proxy_as_go_matches_it() {
        let e = ureq_no_proxy("foo.com, .bar.org,*.baz.net,10.0.0.0/8,192.168.1.7,reg:5000,*");
        for want in [
            "localhost",
            "127.",
            "foo.com",
            ".foo.com",
            ".bar.org",
            ".baz.net",
            "10.",
            "192.168.1.7",
            "reg",
            "*",
        ] {
            assert!(e.iter().any(|x| x == want), "{want} missing from {e:?}");
        }
        assert!(!e.iter().any(|x| x == "bar.org"), "{e:?}");
    }

    /// golang.org/x/net/http/httpproxy's proxy_test.go `TestUseProxy`: its NO_PROXY and
    /// its table (http URLs, so port 80), plus its other cases: `*`, ports on domains,
    /// IPv6 CIDRs, a malformed entry.
    #[test]
    fn no_proxy_follows_gos_httpproxy_table() {
        let np = NoProxy::parse(
            "foobar.com, .barbaz.net, *.wildcard.io, 192.168.1.1, 192.168.1.2:81, 192.168.1.3:80, \
             10.0.0.0/30, 2001:db8::52:0:1, [2001:db8::52:0:2]:443, [2001:db8::52:0:3]:80, \
             2002:db8:a::45/64",
        );
        let table: &[(&str, bool)] = &[
            ("localhost", false),
            ("127.0.0.1", false),
            ("127.0.0.2", false),
            ("[::1]", false),
            ("[::2]", true),
            ("192.168.1.1", false),
            ("192.168.1.2", true),
            ("192.168.1.3", false),
            ("192.168.1.4", true),
            ("10.0.0.2", false),
            ("[2001:db8::52:0:1]", false),
            ("[2001:db8::52:0:2]", true),
            ("[2001:db8::52:0:3]", false),
            ("[2002:db8:a::123]", false),
            ("[fe80::424b:c8be:1643:a1b6]", true),
            ("barbaz.net", true),
            ("www.barbaz.net", false),
            ("foobar.com", false),
            ("www.foobar.com", false),
            ("foofoobar.com", true),
            ("baz.com", true),
            ("localhost.net", true),
            ("local.localhost", true),
            ("barbarbaz.net", true),
            ("wildcard.io", true),
            ("nested.wildcard.io", false),
            ("awildcard.io", true),
        ];
        for (host, want) in table {
            assert_eq!(np.use_proxy(host, 80), *want, "{host}");
        }
        // 10.0.0.0/30 covers .0 to .3 only.
        assert!(!np.use_proxy("10.0.0.3", 80));
        assert!(np.use_proxy("10.0.0.4", 80));
        // `*` exempts everything; entries are case- and space-insensitive.
        let all = NoProxy::parse(" * ");
        assert!(!all.use_proxy("example.com", 443));
        assert!(!NoProxy::parse(" FOO.com ").use_proxy("a.foo.COM", 80));
        // A port narrows a domain or an address entry to that port.
        let ports = NoProxy::parse("example.com:5000,10.1.2.3:443,[fd00::1]:5000");
        assert!(!ports.use_proxy("example.com", 5000));
        assert!(!ports.use_proxy("reg.example.com", 5000));
        assert!(ports.use_proxy("example.com", 443));
        assert!(!ports.use_proxy("10.1.2.3", 443));
        assert!(ports.use_proxy("10.1.2.3", 80));
        assert!(!ports.use_proxy("fd00::1", 5000));
        assert!(ports.use_proxy("fd00::1", 443));
        // CIDRs of any prefix, both families; an address outside stays proxied.
        let cidrs = NoProxy::parse("172.16.0.0/12,192.168.7.128/25,fd00:ab::/33,0.0.0.0/0");
        assert!(!cidrs.use_proxy("172.31.255.1", 80));
        assert!(!cidrs.use_proxy("192.168.7.200", 80));
        assert!(!cidrs.use_proxy("fd00:ab:7fff::1", 80));
        assert!(cidrs.use_proxy("fd00:ab:8000::1", 80));
        assert!(
            !cidrs.use_proxy("8.8.8.8", 80),
            "0.0.0.0/0 takes every v4 address"
        );
        assert!(
            cidrs.use_proxy("registry.example", 80),
            "a name is no address"
        );
        // Malformed entries are skipped (Go's TestInvalidNoProxy: ":1").
        let bad = NoProxy::parse(":1,/24,foo.com");
        assert!(bad.use_proxy("example.com", 80));
        assert!(!bad.use_proxy("foo.com", 80));
    }

    #[test]
    fn proxy_chosen_per_url() {
        let p = Proxies {
            http: "http://h:1".into(),
            https: "http://s:2".into(),
            no_proxy: "reg.internal:5000,10.0.0.0/8".into(),
        };
        let host = |u: &str| p.for_url(u).expect("url").map(|x| x.host().to_string());
        assert_eq!(host("https://registry.example/v2/").as_deref(), Some("s"));
        assert_eq!(host("http://registry.example/v2/").as_deref(), Some("h"));
        assert_eq!(host("https://reg.internal:5000/v2/"), None);
        assert_eq!(host("https://reg.internal/v2/").as_deref(), Some("s"));
        // ureq's translated entries (no ports) would exempt reg.internal at any port: the
        // per-request proxy carries none of them.
        let via = p
            .for_url("https://reg.internal/v2/")
            .expect("url")
            .expect("proxy");
        let uri: ureq::http::Uri = "https://reg.internal/v2/".parse().expect("uri");
        assert!(!via.is_no_proxy(&uri));
        assert_eq!(host("https://10.9.8.7:5000/v2/x/blobs/y"), None);
        assert_eq!(host("http://127.0.0.1:5000/v2/"), None);
        assert_eq!(host("https://[::1]:5000/v2/"), None);
    }

    #[test]
    fn per_scheme_proxy_and_bad_address() {
        let p = Proxies {
            http: "http://h:1".into(),
            https: String::new(),
            no_proxy: String::new(),
        };
        assert!(p.for_scheme(true).expect("https").is_none());
        let got = p.for_scheme(false).expect("http").expect("some");
        assert_eq!((got.host(), got.port()), ("h", 1));
        let bad = Proxies {
            https: "bogus://x".into(),
            ..Default::default()
        };
        assert_eq!(
            bad.for_scheme(true).expect_err("bad"),
            "invalid proxy address \"bogus://x\""
        );
    }
}
