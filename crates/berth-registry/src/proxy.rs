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
//! ureq has one proxy per agent and its own NO_PROXY rules, so berth builds the proxy
//! itself and translates Go's rules into ureq's entries (exact host plus `.suffix`;
//! loopback as the `127.` prefix, `localhost` and `::1`). CIDR entries of NO_PROXY other
//! than whole octets are not expressible there and are not applied (logged).

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
        for e in ureq_no_proxy(&self.no_proxy) {
            b = b.no_proxy(&e);
        }
        b.build().map(Some).map_err(|_| invalid())
    }
}

/// Go's NO_PROXY list (plus its fixed loopback exemption) as ureq's entries.
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
