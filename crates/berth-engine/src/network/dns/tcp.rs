//! Queries that came in over TCP are forwarded over TCP, as Docker's resolver does: a
//! client asks over TCP for answers too large for UDP (or after a truncated UDP answer),
//! and a UDP upstream would truncate them again.

use super::{dns, Ctx, Local, UPSTREAM_TIMEOUT};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tracing::warn;

impl Ctx {
    /// `handle` for a query read from the TCP listener.
    pub(super) async fn handle_tcp(&self, pkt: &[u8]) -> Option<Vec<u8>> {
        let q = dns::parse_query(pkt)?;
        match self.local(pkt, &q) {
            Local::Answer(a) => Some(a),
            Local::Forward => Some(match self.forward_tcp(pkt, q.id).await {
                Some(r) => r,
                None => dns::answer_error(pkt, &q, dns::RCODE_SERVFAIL),
            }),
        }
    }

    /// Asks each upstream in turn over TCP (length-prefixed, one query per connection);
    /// the first answer with the query's id wins.
    async fn forward_tcp(&self, pkt: &[u8], id: u16) -> Option<Vec<u8>> {
        let len = u16::try_from(pkt.len()).ok()?;
        for up in &self.upstreams {
            let asked = tokio::time::timeout(UPSTREAM_TIMEOUT, async {
                let mut s = TcpStream::connect(up).await.ok()?;
                let mut msg = len.to_be_bytes().to_vec();
                msg.extend_from_slice(pkt);
                s.write_all(&msg).await.ok()?;
                let mut l = [0u8; 2];
                s.read_exact(&mut l).await.ok()?;
                let mut reply = vec![0u8; u16::from_be_bytes(l) as usize];
                s.read_exact(&mut reply).await.ok()?;
                (reply.len() >= 2 && u16::from_be_bytes([reply[0], reply[1]]) == id)
                    .then_some(reply)
            })
            .await;
            match asked {
                Ok(Some(r)) => return Some(r),
                _ => warn!(upstream = %up, "no answer over TCP from the upstream resolver"),
            }
        }
        None
    }
}
