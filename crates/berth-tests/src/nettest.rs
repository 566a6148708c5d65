//! Helpers the network tests share: networks with a test's own bridge name and subnet,
//! reachability checks, and what a bridge holds.

use crate::{Client, TestDaemon};
use std::time::Duration;

/// `network create --subnet SUBNET -o com.docker.network.bridge.name=BRIDGE EXTRA NET`;
/// asserts the full id is printed.
pub fn create_net_with(
    d: &TestDaemon,
    c: Client,
    net: &str,
    bridge: &str,
    subnet: &str,
    extra: &[&str],
) {
    let opt = format!("com.docker.network.bridge.name={bridge}");
    let mut args = vec!["network", "create", "--subnet", subnet, "-o", &opt];
    args.extend_from_slice(extra);
    args.push(net);
    let out = d.run(c, &args).success().out();
    assert_eq!(out.trim().len(), 64, "the full id: {out}");
}

/// `create_net_with` without extra flags.
pub fn create_net(d: &TestDaemon, c: Client, net: &str, bridge: &str, subnet: &str) {
    create_net_with(d, c, net, bridge, subnet, &[]);
}

/// One ping from inside `from` to `to` answered within a second.
pub fn ping(d: &TestDaemon, c: Client, from: &str, to: &str) -> bool {
    d.run(c, &["exec", from, "ping", "-c", "1", "-W", "1", to])
        .code
        == 0
}

/// The interfaces enslaved to a bridge (none if it does not exist).
pub fn bridge_ports(bridge: &str) -> Vec<String> {
    std::fs::read_dir(format!("/sys/class/net/{bridge}/brif"))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Connects to 127.0.0.1:port and reads what the server sends ("" when nothing answers).
pub fn fetch(port: u16) -> String {
    use std::io::Read;
    let Ok(mut s) = std::net::TcpStream::connect_timeout(
        &std::net::SocketAddr::from(([127, 0, 0, 1], port)),
        Duration::from_secs(2),
    ) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(3)));
    let mut buf = String::new();
    let _ = s.read_to_string(&mut buf);
    buf
}
