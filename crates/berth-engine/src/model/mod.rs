//! The engine's persisted data: what it writes to and reads from the data root (container
//! records, their mount points and network endpoints, network and volume records). Plain
//! data and the small pure helpers on it; no module here reaches the kernel, the runtime
//! or the rest of the engine.

pub mod container;
pub mod mount;
pub mod network;
pub mod volume;

pub use container::{ContainerRecord, Health, HealthLog, State, Status};
pub use mount::MountPoint;
pub use network::{EndpointRecord, NetworkRecord, PortMapping};
pub use volume::VolumeRecord;

use chrono::{DateTime, SecondsFormat, Utc};

/// Go's zero time, as Docker prints unset timestamps.
pub const ZERO_TIME: &str = "0001-01-01T00:00:00Z";

/// RFC 3339 with nanoseconds, as Docker formats timestamps; Go's zero time when unset.
pub fn format_time(t: Option<DateTime<Utc>>) -> String {
    match t {
        Some(t) => t.to_rfc3339_opts(SecondsFormat::Nanos, true),
        None => ZERO_TIME.to_string(),
    }
}
