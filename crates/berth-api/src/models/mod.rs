//! The Docker Engine API's bodies as typed Rust values, field for field and in Docker's
//! field order: what the CLI sends, what the daemon parses and answers, what the engine
//! stores and the builder, Compose and swarm build. One type per API concept:
//!
//! - [`ContainerCreateBody`] = [`ContainerConfig`] + [`HostConfig`] + [`NetworkingConfig`]
//!   (`POST /containers/create`); `ContainerConfig` is also an image's `config`.
//! - ports: [`PortMap`] of [`PortBinding`]s (`-p`), [`PortSet`] (`ExposedPorts`),
//!   [`PortSummary`] (`docker ps`); [`parse_port_key`] reads `"80/tcp"`.
//! - mounts: [`Mount`] (`--mount`, `HostConfig.Mounts`), [`MountPoint`] (inspect's `Mounts`).
//! - networks: [`NetworkingConfig`], [`EndpointSettings`] (create, connect, inspect).
//! - [`HealthConfig`] (`--health-*`, `HEALTHCHECK`).
//! - build cache: [`BuildCacheRecord`] (`system df`), [`BuildPruneResponse`].
//! - answers: [`ContainerInspect`], [`ContainerSummary`], [`ImageInspect`], [`ImageSummary`].
//!
//! Request types keep the fields berth does not know in an `extra` map (serde flatten), so
//! a create → inspect round trip returns what the client sent (compose compares them).
//! Fields Docker omits when empty (`omitempty`) are `Option`s skipped when `None`; others
//! are always written, as Docker writes them. Every type is `Default`: build one with
//! `..Default::default()` and set what you need.

mod build;
mod container;
mod exec;
mod health;
mod inspect;
mod mounts;
mod network;
mod ports;

pub use build::*;
pub use container::*;
pub use exec::*;
pub use health::*;
pub use inspect::*;
pub use mounts::*;
pub use network::*;
pub use ports::*;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// `{"message": "..."}`, the body of every error response.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ErrorResponse {
    pub message: String,
}

/// Go's `struct{}` as a map value (`ExposedPorts`, `Volumes`): written `{}`, and anything
/// read (Docker ignores the value too).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Empty;

impl Serialize for Empty {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        s.serialize_map(Some(0))?.end()
    }
}

impl<'de> Deserialize<'de> for Empty {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde::de::IgnoredAny::deserialize(d).map(|_| Empty)
    }
}

/// Accepts `null` where a collection is expected (Go clients send `null` for nil slices/maps).
pub(crate) fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// `Cmd`/`Entrypoint`/`Shell` may be a string (old API versions, Go's strslice) or a list.
pub(crate) fn string_or_vec<'de, D>(d: D) -> Result<Option<Vec<String>>, D::Error>
where
    D: Deserializer<'de>,
{
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        One(String),
        Many(Vec<String>),
    }
    Ok(match Option::<Either>::deserialize(d)? {
        None => None,
        Some(Either::One(s)) => Some(vec![s]),
        Some(Either::Many(v)) => Some(v),
    })
}

/// `skip_serializing_if` for Go's `omitempty` on a bool.
pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}

/// `skip_serializing_if` for Go's `omitempty` on a number.
pub(crate) fn is_zero<T: Default + PartialEq>(n: &T) -> bool {
    *n == T::default()
}
