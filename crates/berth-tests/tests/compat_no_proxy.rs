//! The daemon's NO_PROXY as Go's golang.org/x/net/http/httpproxy applies it (prefix
//! `compat_no_proxy_`), end to end: a daemon whose daemon.json `proxies` name a forward
//! proxy of the test's on 127.0.0.1, and a local registry. Each pull names the registry by
//! another host or port; the proxy records the first request line of every connection and
//! forwards it (CONNECT tunnels, absolute-form requests as they are) to the registry
//! whatever host it names, so a proxied pull succeeds and shows in the record, while a
//! pull NO_PROXY exempts goes direct: its `.invalid` name does not resolve (the harness's
//! `RES_OPTIONS=attempts:0` sends no query) and it fails without reaching the proxy.
//! The rule table itself is unit-tested in berth-registry (proxy.rs, from httpproxy's
//! own tests). Safety: only loopback connections are made; the `10.255.255.1` pull goes
//! to the proxy, never to that address.

use berth_tests::registry::LocalRegistry;
use berth_tests::TestDaemon;
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A forward proxy on 127.0.0.1 that sends everything to one upstream port.
struct Forwarder {
    port: u16,
    seen: Arc<Mutex<Vec<String>>>,
}

fn pump(mut from: TcpStream, mut to: TcpStream) {
    let mut buf = [0u8; 16384];
    loop {
        match from.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(n) => {
                if to.write_all(&buf[..n]).is_err() {
                    break;
                }
            }
        }
    }
    let _ = to.shutdown(Shutdown::Write);
}

impl Forwarder {
    fn start(upstream: u16) -> Forwarder {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = Arc::clone(&seen);
        std::thread::spawn(move || {
            for conn in l.incoming() {
                let Ok(mut c) = conn else { break };
                let s = Arc::clone(&s);
                std::thread::spawn(move || {
                    let _ = c.set_read_timeout(Some(Duration::from_secs(30)));
                    let mut head = Vec::new();
                    let mut b = [0u8; 1];
                    while !head.ends_with(b"\r\n\r\n") && head.len() < 65536 {
                        match c.read(&mut b) {
                            Ok(1) => head.push(b[0]),
                            _ => return,
                        }
                    }
                    let text = String::from_utf8_lossy(&head).into_owned();
                    let first = text.lines().next().unwrap_or_default().to_string();
                    s.lock().expect("lock").push(first.clone());
                    let Ok(up) = TcpStream::connect(("127.0.0.1", upstream)) else {
                        return;
                    };
                    if first.starts_with("CONNECT ") {
                        if c.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
                            .is_err()
                        {
                            return;
                        }
                    } else if (&up).write_all(&head).is_err() {
                        return;
                    }
                    let _ = c.set_read_timeout(None);
                    let (c2, up2) = match (c.try_clone(), up.try_clone()) {
                        (Ok(a), Ok(b)) => (a, b),
                        _ => return,
                    };
                    let t = std::thread::spawn(move || pump(c2, up2));
                    pump(up, c);
                    let _ = t.join();
                });
            }
        });
        Forwarder { port, seen }
    }

    /// The recorded request lines that name `host_port`.
    fn naming(&self, host_port: &str) -> Vec<String> {
        self.seen
            .lock()
            .expect("lock")
            .iter()
            .filter(|l| l.contains(host_port))
            .cloned()
            .collect()
    }
}

#[test]
fn compat_no_proxy_rules_per_registry_request() {
    let reg = LocalRegistry::start();
    let p: u16 = reg
        .host()
        .rsplit(':')
        .next()
        .and_then(|x| x.parse().ok())
        .expect("registry port");
    // A second port for the same registry name: the proxy forwards it to the registry too.
    let q = berth_tests::registry::free_port();
    let fwd = Forwarder::start(p);
    let fp = fwd.port;
    let insecure: Vec<String> = [
        format!("via.invalid:{p}"),
        format!("direct.invalid:{p}"),
        format!("direct.invalid:{q}"),
        format!("x.corp.invalid:{p}"),
        format!("corp.invalid:{p}"),
        format!("10.255.255.1:{p}"),
    ]
    .iter()
    .map(|s| format!("\"{s}\""))
    .collect();
    let d = TestDaemon::start_with_config(&format!(
        r#"{{"proxies":{{"http-proxy":"http://127.0.0.1:{fp}","https-proxy":"http://127.0.0.1:{fp}","no-proxy":"direct.invalid:{p}, .corp.invalid,10.0.0.0/30"}},"insecure-registries":[{}]}}"#,
        insecure.join(",")
    ));
    // Loopback is never proxied: the push goes straight to the registry.
    let local = format!("127.0.0.1:{p}/bb:1");
    d.berth(["tag", "busybox", &local]).run().success();
    d.berth(["push", &local]).run().success();
    assert!(fwd.naming(&format!("127.0.0.1:{p}")).is_empty());

    let pull = |r: &str| d.berth(["pull", &format!("{r}/bb:1")]).run();
    // Not exempt: through the proxy (which reaches the registry).
    for r in [
        format!("via.invalid:{p}"),
        // The entry `direct.invalid:P` names one port only.
        format!("direct.invalid:{q}"),
        // `.corp.invalid` (leading dot) takes subdomains, not the name itself.
        format!("corp.invalid:{p}"),
        // An address outside every CIDR entry.
        format!("10.255.255.1:{p}"),
    ] {
        let out = pull(&r);
        assert!(
            out.code == 0,
            "pull of {r} through the proxy failed: {}\n{}",
            out.stdout,
            out.stderr
        );
        assert!(
            !fwd.naming(&r).is_empty(),
            "{r} did not go through the proxy: {:?}",
            fwd.seen.lock().expect("lock")
        );
    }
    // Exempt: direct (the name does not resolve), never through the proxy.
    for r in [format!("direct.invalid:{p}"), format!("x.corp.invalid:{p}")] {
        let out = pull(&r);
        assert!(
            out.code != 0,
            "{r} should have failed direct: {}",
            out.stdout
        );
        assert!(
            fwd.naming(&r).is_empty(),
            "{r} went through the proxy: {:?}",
            fwd.naming(&r)
        );
    }
}
