//! berth-registry: a distribution (OCI / Docker registry v2) client.
//!
//! Synchronous by design, like berth-image: the engine calls it from `spawn_blocking`, and
//! each layer streams on its own thread from the socket through digest verification,
//! decompression and unpacking into the image store (`ImageStore::ingest_layer`). Progress is
//! reported as Docker's JSON messages (`progress`), which the daemon forwards as they come.

pub mod auth;
mod client;
mod documents;
pub mod error;
pub mod inspect;
pub mod manifests;
pub mod progress;
pub mod proxy;
mod pull;
mod push;
pub mod search;

pub use auth::AuthConfig;
pub use client::{login, RegistryConfig};
pub use error::RegistryError;
pub use inspect::{inspect, DistributionInspect};
pub use progress::Progress;
pub use pull::{pull, PullOptions, PullOutcome};
pub use push::{push, PushOutcome};
pub use search::{search, SearchFilters, SearchResult};

/// A `--platform` value (`os[/arch[/variant]]` or `arch`) as (os, architecture, variant),
/// refused with containerd's message when malformed.
pub fn parse_platform(s: &str) -> Result<(String, String, Option<String>), RegistryError> {
    let (p, _) = pull::parse_platform(Some(s))?;
    Ok((p.os, p.arch, p.variant))
}

/// Whether an image of platform `got` (os, architecture, variant) serves the `want`ed one
/// (arm64's variant defaults to v8; no variant wanted matches any).
pub fn platform_matches(
    want: &(String, String, Option<String>),
    got: (&str, &str, Option<&str>),
) -> bool {
    pull::matches(
        &pull::Platform {
            os: want.0.clone(),
            arch: want.1.clone(),
            variant: want.2.clone(),
        },
        got,
    )
}

/// The host's platform as the OCI image spec names it: (os, architecture, variant).
pub fn host_platform() -> (String, String, Option<String>) {
    let arch = match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        "arm" => "arm",
        other => other,
    };
    let variant = match arch {
        "arm64" => Some("v8".to_string()),
        "arm" => Some("v7".to_string()),
        _ => None,
    };
    ("linux".to_string(), arch.to_string(), variant)
}
