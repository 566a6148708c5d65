//! A fake DNS upstream on 127.0.0.1 for the daemons' `BERTH_DNS_UPSTREAM`, so that no
//! test query leaves the machine.

use berth_net::dns;
use std::io::{Read, Write};
use std::net::{TcpListener, UdpSocket};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// What a fake upstream sends back for one query packet (`None`: no reply).
pub type Answer = Box<dyn Fn(&[u8]) -> Option<Vec<u8>> + Send + 'static>;

/// A resolver serving until dropped; `addr` is what `BERTH_DNS_UPSTREAM` takes.
pub struct Upstream {
    pub addr: String,
    stop: Arc<AtomicBool>,
}

impl Upstream {
    /// UDP on `bind` ("127.0.0.1:0" for any port), each query answered by `answer`.
    pub fn udp(bind: &str, answer: Answer) -> Upstream {
        let sock = UdpSocket::bind(bind).expect("bind fake upstream");
        let addr = sock.local_addr().expect("addr").to_string();
        let up = Upstream {
            addr,
            stop: Arc::new(AtomicBool::new(false)),
        };
        serve_udp(sock, answer, up.stop.clone());
        up
    }

    /// UDP and TCP (length-prefixed, RFC 1035 4.2.2) on one port of 127.0.0.1, each with
    /// its own answers, so a test can tell which transport a query came over.
    pub fn udp_and_tcp(udp_answer: Answer, tcp_answer: Answer) -> Upstream {
        let tcp = TcpListener::bind("127.0.0.1:0").expect("bind tcp upstream");
        let addr = tcp.local_addr().expect("addr");
        let udp = UdpSocket::bind(addr).expect("bind udp upstream");
        let up = Upstream {
            addr: addr.to_string(),
            stop: Arc::new(AtomicBool::new(false)),
        };
        serve_udp(udp, udp_answer, up.stop.clone());
        serve_tcp(tcp, tcp_answer, up.stop.clone());
        up
    }

    /// UDP on a free port answering NXDOMAIN to everything (names the embedded resolver
    /// does not know end here quickly).
    pub fn nxdomain() -> Upstream {
        Upstream::udp(
            "127.0.0.1:0",
            Box::new(|pkt| {
                let q = dns::parse_query(pkt)?;
                Some(dns::answer_error(pkt, &q, dns::RCODE_NXDOMAIN))
            }),
        )
    }
}

impl Drop for Upstream {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

// The short read timeout lets the thread see `stop` soon after the drop.
fn serve_udp(sock: UdpSocket, answer: Answer, stop: Arc<AtomicBool>) {
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .expect("timeout");
    std::thread::spawn(move || {
        let mut buf = [0u8; 1500];
        while !stop.load(Ordering::Relaxed) {
            let Ok((n, peer)) = sock.recv_from(&mut buf) else {
                continue;
            };
            if let Some(r) = answer(&buf[..n]) {
                let _ = sock.send_to(&r, peer);
            }
        }
    });
}

// Non-blocking accept, polled, for the same reason as the UDP read timeout.
fn serve_tcp(tcp: TcpListener, answer: Answer, stop: Arc<AtomicBool>) {
    tcp.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        while !stop.load(Ordering::Relaxed) {
            let Ok((mut c, _)) = tcp.accept() else {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            };
            let _ = c.set_nonblocking(false);
            let _ = c.set_read_timeout(Some(Duration::from_secs(3)));
            let mut len = [0u8; 2];
            if c.read_exact(&mut len).is_err() {
                continue;
            }
            let mut pkt = vec![0u8; u16::from_be_bytes(len) as usize];
            if c.read_exact(&mut pkt).is_err() {
                continue;
            }
            if let Some(r) = answer(&pkt) {
                let mut out = (r.len() as u16).to_be_bytes().to_vec();
                out.extend_from_slice(&r);
                let _ = c.write_all(&out);
            }
        }
    });
}
