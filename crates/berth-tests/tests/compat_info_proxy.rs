//! The daemon's registry proxies (prefix `compat_proxy_`): `/info`'s `HttpProxy`,
//! `HttpsProxy` and `NoProxy` as moby 28 fills them (daemon.json `proxies` over the
//! daemon's environment, the userinfo masked `xxxxx:xxxxx`), shown by `docker info`, and
//! used for registry access (loopback never proxied).
//!
//! Differential where dockerd 20.10 can be compared: both harness daemons run with the dead
//! proxy of `dockerd::OFFLINE_ENV` in their environment. daemon.json `proxies` came with
//! moby 23, so those checks are berth's against moby 28's source (`daemon/info.go`,
//! `config.MaskCredentials`, cmd/dockerd `configureProxyEnv`). The proxy here is a loopback
//! listener of the test's that records what it is sent and answers nothing: no request
//! leaves the host (registry names end in `.invalid`, and the harness's `RES_OPTIONS`
//! keeps any lookup from being sent).

use berth_tests::differential::{Differ, Scenario};
use berth_tests::{Client, TestDaemon};
use std::io::Read;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const S: Scenario = Scenario::DEFAULT;

/// The environment's proxies: `/info` and `docker info` as dockerd shows them.
#[test]
fn compat_proxy_info_from_environment() {
    Differ::start().check(&[
        Scenario {
            name: "info shows the environment's proxies",
            run: "docker info 2>/dev/null | grep -E '^ (HTTP|HTTPS|No) Proxy:'\n\
                  api GET /v1.41/info | jq -c '[.HttpProxy, .HttpsProxy, .NoProxy]'",
            ..S
        },
        Scenario {
            name: "info proxies through a template",
            run: "docker info -f '{{.HTTPProxy}}|{{.HTTPSProxy}}|{{.NoProxy}}'",
            ..S
        },
    ]);
}

/// A loopback "proxy" that keeps the first bytes of every connection.
struct Recorder {
    port: u16,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Recorder {
    fn start() -> Recorder {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let s = Arc::clone(&seen);
        std::thread::spawn(move || {
            for conn in l.incoming() {
                let Ok(mut c) = conn else { break };
                let _ = c.set_read_timeout(Some(Duration::from_secs(5)));
                let mut buf = vec![0u8; 4096];
                let mut got = Vec::new();
                // Up to the end of the request head; then the connection is dropped.
                while !got.windows(4).any(|w| w == b"\r\n\r\n") {
                    match c.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => got.extend_from_slice(&buf[..n]),
                    }
                }
                s.lock()
                    .expect("lock")
                    .push(String::from_utf8_lossy(&got).into_owned());
            }
        });
        Recorder { port, seen }
    }

    fn requests(&self) -> Vec<String> {
        self.seen.lock().expect("lock").clone()
    }
}

/// daemon.json `proxies` over the environment: shown masked, used for a remote registry
/// (CONNECT with the credentials), not for a loopback one; `docker info` prints them.
#[test]
fn compat_proxy_daemon_json_used_and_masked() {
    let proxy = Recorder::start();
    let p = proxy.port;
    let d = TestDaemon::start_with_config(&format!(
        r#"{{"proxies":{{"http-proxy":"http://joe:s3cret@127.0.0.1:{p}","https-proxy":"http://joe:s3cret@127.0.0.1:{p}","no-proxy":"internal.invalid,.corp.invalid"}}}}"#
    ));
    let (code, body) = d.api("GET", "/v1.47/info", None);
    assert_eq!(code, 200, "{body}");
    let info: serde_json::Value = serde_json::from_str(&body).expect("json");
    let masked = format!("http://xxxxx:xxxxx@127.0.0.1:{p}");
    assert_eq!(info["HttpProxy"], masked.as_str(), "{body}");
    assert_eq!(info["HttpsProxy"], masked.as_str(), "{body}");
    assert_eq!(info["NoProxy"], "internal.invalid,.corp.invalid", "{body}");
    assert!(!body.contains("s3cret"), "{body}");
    for client in [Client::Docker, Client::Berth] {
        let out = d.run(client, &["info"]);
        out.success()
            .stdout_contains(&format!(" HTTP Proxy: {masked}\n"))
            .stdout_contains(&format!(" HTTPS Proxy: {masked}\n"))
            .stdout_contains(" No Proxy: internal.invalid,.corp.invalid\n")
            .stdout_lacks("s3cret");
    }

    // A remote registry goes through the proxy (the name is never resolved here).
    d.berth(["pull", "registry.invalid:5000/team/app:1"])
        .run()
        .failure();
    let seen = proxy.requests();
    let connect = seen
        .iter()
        .find(|r| r.starts_with("CONNECT registry.invalid:5000 "))
        .unwrap_or_else(|| panic!("no CONNECT through the proxy: {seen:?}"));
    // Basic joe:s3cret.
    assert!(
        connect
            .to_ascii_lowercase()
            .contains("proxy-authorization: basic am9lonmzy3jldaa=")
            || connect.contains("am9lOnMzY3JldA=="),
        "{connect}"
    );

    // Loopback is never proxied: a closed loopback port is refused directly.
    let closed = TcpListener::bind("127.0.0.1:0").expect("bind");
    let cp = closed.local_addr().expect("addr").port();
    drop(closed);
    let before = proxy.requests().len();
    d.berth(["pull", &format!("127.0.0.1:{cp}/team/app:1")])
        .run()
        .failure()
        .stderr_contains("connection refused");
    assert_eq!(proxy.requests().len(), before, "{:?}", proxy.requests());
}

/// moby starts with any proxy value (it validates none); the request that needs an
/// unusable one fails naming it.
#[test]
fn compat_proxy_unusable_value_fails_the_pull() {
    let d = TestDaemon::start_with_config(r#"{"proxies":{"https-proxy":"bogus://proxy.invalid"}}"#);
    let (code, body) = d.api("GET", "/v1.47/info", None);
    assert_eq!(code, 200, "{body}");
    assert!(
        body.contains(r#""HttpsProxy":"bogus://proxy.invalid""#),
        "{body}"
    );
    d.berth(["pull", "registry.invalid/team/app:1"])
        .run()
        .failure()
        .stderr_contains("invalid proxy address \"bogus://proxy.invalid\"");
}
