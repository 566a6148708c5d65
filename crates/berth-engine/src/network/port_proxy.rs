//! The userland proxy for published ports on IPv6 host addresses (`[::]:P`, `[::1]:P`, a
//! host's v6 address), as docker-proxy serves them for containers without IPv6: the v4
//! side goes through DNAT (berth-net firewall), the v6 side is accepted here, on the socket
//! `ports::reserve` bound, and copied to the container's address (its IPv6 one when the
//! endpoint has one, else IPv4).
//!
//! Each published v6 port is a daemon task; a container's tasks are held in a `ProxySet`
//! that aborts them (and every connection or UDP flow they serve) when dropped, that is
//! when the container's ports are unpublished at stop. The daemon's restart makes them
//! again for running containers (`Networks::restore`).
//!
//! A v6 port in use is refused as dockerd words it: `failed to bind host port for
//! :::P:IP:C/tcp: address already in use` (`ports.rs`). The CLI's errors for bad `-p` host
//! addresses are nat.ParsePortSpec's (`invalid IP address [::`, `address [::: missing ']'
//! in address`; berth-cli `commands/port_spec.rs`).
//!
//! TCP is copied with `copy_bidirectional` (64 KiB buffers, half-closes passed on); UDP
//! with one upstream socket per client address, ended after 90 s without a reply
//! (docker-proxy's timeout). Established v6 connections do not survive a daemon restart,
//! unlike docker-proxy processes.

use crate::model::PortMapping;
use berth_net::ports::Reservation;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::{JoinHandle, JoinSet};
use tracing::{debug, warn};

/// docker-proxy's UDPConnTrackTimeout: a UDP flow without a reply for this long ends.
const UDP_IDLE: Duration = Duration::from_secs(90);
/// Copy buffers per direction (the default 8 KiB halves bulk throughput).
const TCP_BUF: usize = 64 * 1024;
const UDP_BUF: usize = 65535;

/// A container's proxies; dropping it stops them all.
#[derive(Default)]
pub struct ProxySet {
    tasks: Vec<JoinHandle<()>>,
}

impl ProxySet {
    pub fn len(&self) -> usize {
        self.tasks.len()
    }

    pub fn is_empty(&self) -> bool {
        self.tasks.is_empty()
    }
}

impl Drop for ProxySet {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Starts a proxy for every published port on an IPv6 host address. `v6` is the
/// container's IPv6 address, if its endpoint has one.
pub fn start(ports: &[(PortMapping, Reservation)], v4: Ipv4Addr, v6: Option<Ipv6Addr>) -> ProxySet {
    let mut set = ProxySet::default();
    let Ok(rt) = tokio::runtime::Handle::try_current() else {
        warn!("no runtime for the userland proxy: IPv6 published ports will not answer");
        return set;
    };
    let dest = v6.map(IpAddr::V6).unwrap_or(IpAddr::V4(v4));
    for (m, r) in ports {
        if m.host_ip.parse::<Ipv6Addr>().is_err() {
            continue;
        }
        let target = SocketAddr::new(dest, m.container_port);
        // The reservation keeps its socket; the proxy serves a duplicate of it.
        let _guard = rt.enter();
        let task = match r {
            Reservation::Tcp(l) => l
                .try_clone()
                .and_then(|l| {
                    l.set_nonblocking(true)?;
                    TcpListener::from_std(l)
                })
                .map(|l| rt.spawn(tcp(l, target))),
            Reservation::Udp(s) => s
                .try_clone()
                .and_then(|s| {
                    s.set_nonblocking(true)?;
                    UdpSocket::from_std(s)
                })
                .map(|s| rt.spawn(udp(Arc::new(s), target))),
        };
        match task {
            Ok(t) => set.tasks.push(t),
            Err(e) => warn!(
                host_ip = %m.host_ip, port = m.host_port, error = %e,
                "cannot start the userland proxy"
            ),
        }
    }
    set
}

async fn tcp(listener: TcpListener, target: SocketAddr) {
    // Connections live in this set: aborting the accept loop drops them with it.
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            acc = listener.accept() => match acc {
                Ok((client, _)) => {
                    conns.spawn(splice_tcp(client, target));
                }
                Err(e) => {
                    // Out of descriptors or an aborted handshake: go on after a pause,
                    // as docker-proxy does.
                    debug!(error = %e, "proxy accept");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
        }
    }
}

async fn splice_tcp(mut client: TcpStream, target: SocketAddr) {
    let mut upstream = match TcpStream::connect(target).await {
        Ok(s) => s,
        Err(e) => {
            debug!(%target, error = %e, "proxy cannot reach the container");
            return;
        }
    };
    let _ = client.set_nodelay(true);
    let _ = upstream.set_nodelay(true);
    // Half-closes are passed on: each direction's EOF shuts the other side's write half.
    let _ = tokio::io::copy_bidirectional_with_sizes(&mut client, &mut upstream, TCP_BUF, TCP_BUF)
        .await;
}

type Flows = Arc<Mutex<HashMap<SocketAddr, Arc<UdpSocket>>>>;

/// One upstream socket per client address; its replies go back through the listener.
async fn udp(listener: Arc<UdpSocket>, target: SocketAddr) {
    let flows: Flows = Arc::new(Mutex::new(HashMap::new()));
    let mut replies = JoinSet::new();
    let mut buf = vec![0u8; UDP_BUF];
    loop {
        tokio::select! {
            got = listener.recv_from(&mut buf) => {
                let (n, client) = match got {
                    Ok(v) => v,
                    Err(e) => {
                        debug!(error = %e, "proxy recv");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let known = flows
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .get(&client)
                    .cloned();
                let up = match known {
                    Some(up) => up,
                    None => match connect_udp(target).await {
                        Ok(up) => {
                            let up = Arc::new(up);
                            flows
                                .lock()
                                .unwrap_or_else(|e| e.into_inner())
                                .insert(client, up.clone());
                            replies.spawn(reply_loop(
                                up.clone(),
                                listener.clone(),
                                client,
                                flows.clone(),
                            ));
                            up
                        }
                        Err(e) => {
                            debug!(%target, error = %e, "proxy cannot reach the container");
                            continue;
                        }
                    },
                };
                if let Err(e) = up.send(&buf[..n]).await {
                    debug!(%target, error = %e, "proxy send");
                }
            }
            Some(_) = replies.join_next(), if !replies.is_empty() => {}
        }
    }
}

async fn connect_udp(target: SocketAddr) -> std::io::Result<UdpSocket> {
    let local: SocketAddr = if target.is_ipv4() {
        (Ipv4Addr::UNSPECIFIED, 0).into()
    } else {
        (Ipv6Addr::UNSPECIFIED, 0).into()
    };
    let s = UdpSocket::bind(local).await?;
    s.connect(target).await?;
    Ok(s)
}

async fn reply_loop(
    up: Arc<UdpSocket>,
    listener: Arc<UdpSocket>,
    client: SocketAddr,
    flows: Flows,
) {
    let mut buf = vec![0u8; UDP_BUF];
    // Until idle, or the container refuses (ICMP unreachable): then the flow ends.
    while let Ok(Ok(n)) = tokio::time::timeout(UDP_IDLE, up.recv(&mut buf)).await {
        let _ = listener.send_to(&buf[..n], client).await;
    }
    flows
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .remove(&client);
}
