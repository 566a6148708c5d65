//! Published ports on IPv6 host addresses, through both CLIs: `-p P:80` publishes on
//! 0.0.0.0 and `::` (inspect, `port`, ps, /containers/json show both, as dockerd does),
//! the userland proxy answers on [::1] for TCP and UDP, v6 host-IP forms and their bad
//! spellings (docker's messages), restart and daemon restart keep it, rm frees the ports,
//! daemon.json `ip` and `userland-proxy`.
//!
//! Safety: containers are on each daemon's own default bridge (the harness's slot bridge
//! and subnet, removed by the harness); the host side only talks to 127.0.0.1 and [::1].

use berth_tests::nettest::{inspect_ports, ps_ports, run_web};
use berth_tests::{client_name as name, eventually, Client, TestDaemon};
use std::io::Read;
use std::net::{Ipv6Addr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// A port free on 127.0.0.1 and [::] alike (TCP and UDP).
fn free_port() -> u16 {
    loop {
        let p = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("bind")
            .port();
        // (Dual-stack binds: [::]:p also checks 0.0.0.0:p.)
        let free6 = TcpListener::bind(("::", p)).is_ok()
            && UdpSocket::bind(("::", p)).is_ok()
            && UdpSocket::bind(("127.0.0.1", p)).is_ok();
        if free6 {
            return p;
        }
    }
}

/// What a TCP server at `addr` sends ("" when nothing answers).
fn fetch_at(addr: SocketAddr) -> String {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_secs(2)) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(3)));
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    buf
}

fn v4(p: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], p))
}

fn v6(p: u16) -> SocketAddr {
    SocketAddr::from((Ipv6Addr::LOCALHOST, p))
}

/// Nothing accepts on `addr` (refused, not just silent).
fn refused(addr: SocketAddr) -> bool {
    TcpStream::connect_timeout(&addr, Duration::from_secs(2)).is_err()
}

/// The `SERVE_REPLY` container `n`, with `-p` for each of `publish`.
fn run_server(d: &TestDaemon, c: Client, n: &str, publish: &[&str]) {
    let extra: Vec<&str> = publish.iter().flat_map(|p| ["-p", p]).collect();
    run_web(d, c, n, &extra);
}

fn port_lines(d: &TestDaemon, c: Client, n: &str) -> String {
    d.run(c, &["port", n]).success().stdout.clone()
}

#[test]
fn netport6_unspecified_host_ip_publishes_on_v4_and_v6() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        let web = name(c, "web");
        let p = free_port();
        run_server(&d, c, &web, &[&format!("{p}:80")]);
        let want = format!("reply-{web}");
        assert!(
            eventually(10, || fetch_at(v4(p)).contains(&want)),
            "127.0.0.1:{p} answers"
        );
        assert!(
            eventually(10, || fetch_at(v6(p)).contains(&want)),
            "[::1]:{p} answers through the proxy"
        );
        // Several connections in a row (the server's loop re-listens in between).
        for _ in 0..3 {
            assert!(eventually(10, || fetch_at(v6(p)).contains(&want)));
        }
        // Docker's shapes: both bindings everywhere (checked on dockerd 20.10 / docker 28).
        assert_eq!(
            port_lines(&d, c, &web),
            format!("80/tcp -> 0.0.0.0:{p}\n80/tcp -> [::]:{p}\n")
        );
        d.run(c, &["port", &web, "80"])
            .success()
            .stdout_is(&format!("0.0.0.0:{p}\n[::]:{p}\n"));
        let ps = ps_ports(&d, c, &web);
        assert_eq!(ps.trim(), format!("0.0.0.0:{p}->80/tcp, [::]:{p}->80/tcp"));
        let insp = inspect_ports(&d, c, &web);
        assert_eq!(
            insp.trim(),
            format!(
                "{{\"80/tcp\":[{{\"HostIp\":\"0.0.0.0\",\"HostPort\":\"{p}\"}},{{\"HostIp\":\"::\",\"HostPort\":\"{p}\"}}]}}"
            )
        );
        let (code, body) = d.api(
            "GET",
            &format!("/containers/json?filters=%7B%22name%22%3A%5B%22{web}%22%5D%7D"),
            None,
        );
        assert_eq!(code, 200, "{body}");
        let list: serde_json::Value = serde_json::from_str(&body).expect("json");
        let ports = &list[0]["Ports"];
        assert_eq!(
            ports,
            &serde_json::json!([
                {"IP": "0.0.0.0", "PrivatePort": 80, "PublicPort": p, "Type": "tcp"},
                {"IP": "::", "PrivatePort": 80, "PublicPort": p, "Type": "tcp"}
            ]),
            "{body}"
        );
        // An ephemeral port is the same number on v4 and v6, and both answer.
        let any = name(c, "any");
        run_server(&d, c, &any, &["80"]);
        let out = port_lines(&d, c, &any);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 2, "{out}");
        let eph: u16 = lines[0]
            .strip_prefix("80/tcp -> 0.0.0.0:")
            .and_then(|x| x.parse().ok())
            .unwrap_or_else(|| panic!("{out}"));
        assert_eq!(lines[1], format!("80/tcp -> [::]:{eph}"));
        let want = format!("reply-{any}");
        assert!(eventually(10, || fetch_at(v6(eph)).contains(&want)));
        assert!(eventually(10, || fetch_at(v4(eph)).contains(&want)));
        // rm: the proxies stop and the ports are free again on both families.
        d.run(c, &["rm", "-f", &web, &any]).success();
        for port in [p, eph] {
            assert!(refused(v6(port)), "no proxy left on [::1]:{port}");
            TcpListener::bind(("::", port)).expect("[::] port free again");
            TcpListener::bind(("0.0.0.0", port)).expect("0.0.0.0 port free again");
        }
    }
}

/// A UDP echo server inside the container's network namespace, on a thread of the test
/// (busybox has no UDP server): it replies `echo:` + the datagram until `stop` is set.
fn udp_echo_in(pid: u32, port: u16, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<()> {
    let (tx, rx) = std::sync::mpsc::channel();
    let h = std::thread::spawn(move || {
        let ns = std::fs::File::open(format!("/proc/{pid}/ns/net")).expect("netns");
        let rc = unsafe { libc::setns(std::os::fd::AsRawFd::as_raw_fd(&ns), libc::CLONE_NEWNET) };
        assert_eq!(rc, 0, "setns: {}", std::io::Error::last_os_error());
        let s = UdpSocket::bind(("0.0.0.0", port)).expect("bind in the container");
        s.set_read_timeout(Some(Duration::from_millis(200)))
            .expect("timeout");
        let _ = tx.send(());
        let mut buf = [0u8; 2048];
        while !stop.load(Ordering::Relaxed) {
            if let Ok((n, from)) = s.recv_from(&mut buf) {
                let mut reply = b"echo:".to_vec();
                reply.extend_from_slice(&buf[..n]);
                let _ = s.send_to(&reply, from);
            }
        }
    });
    rx.recv_timeout(Duration::from_secs(5))
        .expect("echo server ready");
    h
}

fn udp_ask(to: SocketAddr, msg: &str) -> Option<String> {
    let s = UdpSocket::bind(("::1", 0)).ok()?;
    s.set_read_timeout(Some(Duration::from_millis(500))).ok()?;
    for _ in 0..6 {
        s.send_to(msg.as_bytes(), to).ok()?;
        let mut buf = [0u8; 2048];
        if let Ok((n, _)) = s.recv_from(&mut buf) {
            return Some(String::from_utf8_lossy(&buf[..n]).into_owned());
        }
    }
    None
}

#[test]
fn netport6_udp_echo_over_v6_loopback() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        let n = name(c, "udp");
        let p = free_port();
        d.run(
            c,
            &[
                "run",
                "-d",
                "--name",
                &n,
                "-p",
                &format!("{p}:9000/udp"),
                "busybox",
                "sleep",
                "600",
            ],
        )
        .success();
        assert_eq!(
            port_lines(&d, c, &n),
            format!("9000/udp -> 0.0.0.0:{p}\n9000/udp -> [::]:{p}\n")
        );
        let pid: u32 = d
            .run(c, &["inspect", "-f", "{{.State.Pid}}", &n])
            .success()
            .out()
            .trim()
            .parse()
            .expect("pid");
        let stop = Arc::new(AtomicBool::new(false));
        let server = udp_echo_in(pid, 9000, stop.clone());
        assert_eq!(udp_ask(v6(p), "one").as_deref(), Some("echo:one"));
        // Two clients: two flows, each gets its own replies.
        assert_eq!(udp_ask(v6(p), "two").as_deref(), Some("echo:two"));
        let s = UdpSocket::bind(("::1", 0)).expect("bind");
        s.set_read_timeout(Some(Duration::from_secs(2)))
            .expect("timeout");
        for i in 0..5 {
            let msg = format!("seq{i}");
            s.send_to(msg.as_bytes(), v6(p)).expect("send");
            let mut buf = [0u8; 64];
            let (k, from) = s.recv_from(&mut buf).expect("a reply per datagram");
            assert_eq!(&buf[..k], format!("echo:{msg}").as_bytes());
            assert_eq!(from, v6(p), "replies come from the published address");
        }
        stop.store(true, Ordering::Relaxed);
        server.join().expect("echo thread");
        d.run(c, &["rm", "-f", &n]).success();
        UdpSocket::bind(("::", p)).expect("the v6 UDP port is free again");
    }
}

#[test]
fn netport6_v6_host_ip_forms_and_bad_specs() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        // `[::1]:P:80` and docker's unbracketed `::1:P:80`: only ::1, through the proxy.
        let (a, b, four) = (name(c, "br"), name(c, "plain"), name(c, "four"));
        let (pa, pb, p4) = (free_port(), free_port(), free_port());
        run_server(&d, c, &a, &[&format!("[::1]:{pa}:80")]);
        run_server(&d, c, &b, &[&format!("::1:{pb}:80")]);
        run_server(&d, c, &four, &[&format!("127.0.0.1:{p4}:80")]);
        for (n, p) in [(&a, pa), (&b, pb)] {
            assert_eq!(port_lines(&d, c, n), format!("80/tcp -> [::1]:{p}\n"));
            let insp = d
                .run(
                    c,
                    &["inspect", "-f", "{{json .HostConfig.PortBindings}}", n],
                )
                .success()
                .out();
            assert_eq!(
                insp.trim(),
                format!("{{\"80/tcp\":[{{\"HostIp\":\"::1\",\"HostPort\":\"{p}\"}}]}}")
            );
            let want = format!("reply-{n}");
            assert!(eventually(10, || fetch_at(v6(p)).contains(&want)));
            assert!(refused(v4(p)), "127.0.0.1:{p} is not published");
        }
        let ps = ps_ports(&d, c, &a);
        assert_eq!(ps.trim(), format!("[::1]:{pa}->80/tcp"));
        // `127.0.0.1:P:80` stays v4-only.
        assert_eq!(
            port_lines(&d, c, &four),
            format!("80/tcp -> 127.0.0.1:{p4}\n")
        );
        let want = format!("reply-{four}");
        assert!(eventually(10, || fetch_at(v4(p4)).contains(&want)));
        assert!(refused(v6(p4)), "[::1]:{p4} is not published");
        // Bad forms: the docker CLI's messages (docker 28), exit 125, nothing created.
        for (spec, msg) in [
            (
                "[::1:80",
                "invalid IP address [:: address [::: missing ']' in address",
            ),
            (
                "[::1]:80",
                "invalid IP address [:: address [::: missing ']' in address",
            ),
            (
                "[::1]:80:80:80",
                "invalid IP address [::1]:80: address [::1]:80:: too many colons in address",
            ),
            ("::1]:80:80", "invalid IP address: ::1]"),
            ("::8080:80", "invalid IP address: :"),
            ("[zz]:80:80", "invalid IP address: zz"),
            ("8080:", "no port specified: 8080:<empty>"),
        ] {
            d.run(c, &["create", "-p", spec, "busybox", "true"])
                .code(125)
                .stderr_contains(msg);
        }
        // A v6 port in use: docker's bind message, and the v4 side is released too.
        let holder = TcpListener::bind(("::1", 0)).expect("bind");
        let held = holder.local_addr().expect("addr").port();
        d.run(
            c,
            &[
                "run",
                "--rm",
                "-p",
                &format!("{held}:80"),
                "busybox",
                "true",
            ],
        )
        .failure()
        .stderr_contains(&format!("failed to bind host port for :::{held}:"))
        .stderr_contains("address already in use");
        drop(holder);
        TcpListener::bind(("0.0.0.0", held)).expect("the v4 side was released");
        d.run(c, &["rm", "-f", &a, &b, &four]).success();
        assert!(refused(v6(pa)) && refused(v6(pb)));
    }
    let (code, _) = d.api("GET", "/containers/json?all=1", None);
    assert_eq!(code, 200);
    assert_eq!(d.container_ids().len(), 0, "bad specs created nothing");
}

#[test]
fn netport6_restart_and_daemon_restart_keep_the_proxy() {
    let mut d = TestDaemon::start();
    let c = Client::Docker;
    let n = "keep6";
    let p = free_port();
    run_server(&d, c, n, &[&format!("{p}:80")]);
    let want = format!("reply-{n}");
    assert!(eventually(10, || fetch_at(v6(p)).contains(&want)));
    d.run(c, &["restart", "-t", "1", n]).success();
    assert!(
        eventually(10, || fetch_at(v6(p)).contains(&want)),
        "the proxy comes back with the container"
    );
    d.run(c, &["stop", "-t", "1", n]).success();
    assert!(refused(v6(p)), "no proxy while stopped");
    TcpListener::bind(("::", p)).expect("port free while stopped");
    d.run(c, &["start", n]).success();
    assert!(eventually(10, || fetch_at(v6(p)).contains(&want)));
    d.restart_daemon();
    assert!(
        eventually(10, || fetch_at(v6(p)).contains(&want)),
        "the restarted daemon serves [::1] again"
    );
    assert!(eventually(10, || fetch_at(v4(p)).contains(&want)));
    assert_eq!(
        port_lines(&d, c, n),
        format!("80/tcp -> 0.0.0.0:{p}\n80/tcp -> [::]:{p}\n")
    );
    d.run(c, &["rm", "-f", n]).success();
    assert!(refused(v6(p)));
    TcpListener::bind(("::", p)).expect("port free after rm");
}

#[test]
fn netport6_daemon_json_ip_and_userland_proxy() {
    for (cfg, want) in [
        (r#"{"ip": "127.0.0.1"}"#, vec!["127.0.0.1"]),
        (r#"{"ip": "::1"}"#, vec!["[::1]"]),
        (r#"{"userland-proxy": false}"#, vec!["0.0.0.0"]),
    ] {
        let d = TestDaemon::start_with_config(cfg);
        let n = "dflt";
        let p = free_port();
        run_server(&d, Client::Docker, n, &[&format!("{p}:80")]);
        let lines: String = want
            .iter()
            .map(|ip| format!("80/tcp -> {ip}:{p}\n"))
            .collect();
        assert_eq!(port_lines(&d, Client::Berth, n), lines, "{cfg}");
        let reply = format!("reply-{n}");
        if want[0] == "[::1]" {
            assert!(eventually(10, || fetch_at(v6(p)).contains(&reply)), "{cfg}");
            assert!(refused(v4(p)), "{cfg}");
        } else {
            assert!(eventually(10, || fetch_at(v4(p)).contains(&reply)), "{cfg}");
            assert!(refused(v6(p)), "{cfg}: no v6 binding");
        }
        d.run(Client::Docker, &["rm", "-f", n]).success();
    }
}
