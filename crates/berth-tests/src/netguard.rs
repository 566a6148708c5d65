//! Removes what a networking test's daemon created on the host (bridges, the daemon's
//! nftables table) on drop, also when the test fails.

use crate::TestDaemon;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

/// Declare it before the daemon so that the daemon (and its containers) go first.
pub struct NetGuard {
    prefix: &'static str,
    bridges: Vec<String>,
    table: Option<String>,
}

impl NetGuard {
    /// `prefix` (`bt-...`) keeps the bridge names of different test files apart.
    pub fn new(prefix: &'static str) -> NetGuard {
        NetGuard {
            prefix,
            bridges: Vec::new(),
            table: None,
        }
    }

    /// A fresh bridge name for this test, removed on drop.
    pub fn bridge(&mut self) -> String {
        static SEQ: AtomicU32 = AtomicU32::new(0);
        let n = SEQ.fetch_add(1, Ordering::Relaxed);
        let b = format!("{}{:x}{n}", self.prefix, std::process::id() & 0xffffff);
        self.bridges.push(b.clone());
        b
    }

    /// The watched daemon's nftables table ("" before `watch`).
    pub fn table(&self) -> &str {
        self.table.as_deref().unwrap_or_default()
    }

    /// Removes `d`'s nftables table on drop.
    pub fn watch(&mut self, d: &TestDaemon) {
        self.table = Some(berth_net::firewall::table_name(&d.data_root));
    }
}

impl Drop for NetGuard {
    fn drop(&mut self) {
        for b in &self.bridges {
            let _ = Command::new("ip").args(["link", "del", b]).output();
        }
        if let Some(t) = &self.table {
            for family in ["ip", "ip6"] {
                let _ = Command::new("nft")
                    .args(["delete", "table", family, t])
                    .output();
            }
        }
    }
}
