//! The Docker Engine API's bodies as typed Rust values, field for field and in Docker's
//! field order: what the CLI sends, what the daemon parses and answers, what the engine
//! stores and the builder, Compose and swarm build. One type per API concept:
//!
//! - [`ContainerCreateBody`] = [`ContainerConfig`] + [`HostConfig`] + [`NetworkingConfig`]
//!   (`POST /containers/create`); `ContainerConfig` is also an image's `config`;
//!   [`ProcessCreateBody`] is a create body of the image and process alone.
//! - ports: [`PortMap`] of [`PortBinding`]s (`-p`), [`PortSet`] (`ExposedPorts`),
//!   [`PortSummary`] (`docker ps`); [`parse_port_key`] reads `"80/tcp"`.
//! - mounts: [`Mount`] (`--mount`, `HostConfig.Mounts`), [`MountPoint`] (inspect's `Mounts`).
//! - networks: [`NetworkingConfig`], [`EndpointSettings`] (create, connect, inspect).
//! - [`HealthConfig`] (`--health-*`, `HEALTHCHECK`).
//! - bodies of other requests: [`NetworkCreateBody`], [`NetworkConnectBody`],
//!   [`NetworkDisconnectBody`], [`VolumeCreateBody`], [`ExecCreateBody`], [`ExecStartBody`].
//! - build cache: [`BuildCacheRecord`] (`system df`), [`BuildPruneResponse`].
//! - registry credentials: [`AuthConfig`] (`POST /auth`, `X-Registry-Auth`).
//! - the JSON message stream of pull, push, load and build: [`JsonMessage`].
//! - answers: [`ContainerInspect`], [`ContainerSummary`], [`ImageInspect`], [`ImageSummary`],
//!   [`NetworkInspect`], [`Volume`], [`VolumeListResponse`], the prune answers
//!   ([`ContainerPruneResponse`], [`ImagePruneResponse`], [`NetworkPruneResponse`],
//!   [`VolumePruneResponse`]), [`ContainerUpdateResponse`], [`TopResponse`],
//!   [`StatsResponse`], [`SystemVersion`] (`/version`), [`SystemInfo`] (`/info`),
//!   [`SystemDfResponse`].
//!
//! Request types keep the fields berth does not know in an `extra` map (serde flatten), so
//! a create → inspect round trip returns what the client sent (compose compares them).
//! Fields Docker omits when empty (`omitempty`) are `Option`s skipped when `None`; others
//! are always written, as Docker writes them. Every type is `Default`: build one with
//! `..Default::default()` and set what you need.

mod answers;
mod auth;
mod build;
mod container;
mod exec;
mod health;
mod inspect;
mod message;
mod mounts;
mod network;
mod ports;
mod stats;
mod system;
mod volume;

pub use answers::*;
pub use auth::*;
pub use build::*;
pub use container::*;
pub use exec::*;
pub use health::*;
pub use inspect::*;
pub use message::*;
pub use mounts::*;
pub use network::*;
pub use ports::*;
pub use stats::*;
pub use system::*;
pub use volume::*;

/// The map of the answers whose keys keep the daemon's order (a network's containers,
/// `/info`'s runtimes and registries), for callers that build one.
pub use indexmap::IndexMap;
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

/// For a field kept as the client sent it: absent stays absent (`None`, not written),
/// `null` stays `null` (`Some(None)`), a value is `Some(Some(v))`. Used where inspect has
/// always echoed the request's bytes (moby's nil slice `null` vs empty `[]`).
pub(crate) fn as_given<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Ok(Some(Option::<T>::deserialize(d)?))
}

/// The list in an [`as_given`] field, empty when absent or `null`.
pub fn given<T>(field: &Option<Option<Vec<T>>>) -> &[T] {
    field
        .as_ref()
        .and_then(Option::as_ref)
        .map_or(&[], Vec::as_slice)
}

/// An [`as_given`] field for a list built by a client: left out when empty.
pub fn given_if_any<T>(list: Vec<T>) -> Option<Option<Vec<T>>> {
    (!list.is_empty()).then_some(Some(list))
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

/// Reads a present value (`null` included) as `Some`, so `Option<Option<T>>` tells
/// absent from `null`.
pub(crate) fn some_option<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// `skip_serializing_if` for Go's `omitempty` on a bool.
pub(crate) fn is_false(b: &bool) -> bool {
    !*b
}

/// `skip_serializing_if` for Go's `omitempty` on a number.
pub(crate) fn is_zero<T: Default + PartialEq>(n: &T) -> bool {
    *n == T::default()
}
