//! berth-runtime: OCI spec generation, the per-container shim, its client, json-file logs.

pub mod cgroups;
pub mod client;
pub mod dbus;
pub mod log_journald;
pub mod log_local;
pub mod log_syslog;
pub mod logdriver;
pub mod logfile;
pub mod logsink;
pub mod rootpath;
pub mod shim;
pub mod spec;
pub mod systemd_cgroup;
pub mod user;

pub use client::{read_exit, ShimClient};
pub use shim::{spawn, ExitStatus, ShimInfo, SpawnOptions};
