//! berth-runtime: OCI spec generation, the per-container shim, its client, json-file logs.

pub mod adapter;
pub mod cgroups;
pub mod client;
pub mod dbus;
pub mod devices_bpf;
pub mod log_journald;
pub mod log_local;
pub mod log_syslog;
pub mod logdriver;
pub mod logfile;
pub mod logsink;
pub mod oom;
pub mod rootpath;
pub mod seccomp;
pub mod shim;
pub mod spec;
pub mod start_error;
pub mod systemd_cgroup;
pub mod user;

pub use client::{read_exit, ShimClient};
pub use shim::{spawn, ExitStatus, ShimInfo, SpawnOptions};
pub use start_error::{StartError, StartErrorKind};
