//! berth-runtime: OCI spec generation, the per-container shim, its client, json-file logs.

pub mod logfile;
pub mod rootpath;
pub mod spec;
pub mod user;
