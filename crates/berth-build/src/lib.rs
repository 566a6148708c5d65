//! berth's Dockerfile builder: the parser ([`parser`], [`instructions`]), variable expansion
//! ([`shell`]), `.dockerignore` ([`ignore`]), and the builder that runs a build through the
//! engine ([`builder`]) with its cache.

pub mod error;
pub mod ignore;
pub mod instructions;
pub mod parser;
pub mod run_mounts;
pub mod secrets;
pub mod shell;

pub use error::{BuildError, Result};

/// The builder's scratch space in the data root (`builder/tmp`): contexts being unpacked,
/// COPY/ADD views, downloads, RUN mount stubs. The builder owns it; the daemon asks here.
pub fn scratch_root(data_root: &std::path::Path) -> std::path::PathBuf {
    data_root.join("builder").join("tmp")
}
#[cfg(feature = "engine")]
pub mod builder;
#[cfg(feature = "engine")]
pub mod cache;
#[cfg(feature = "engine")]
pub mod copy;

#[cfg(feature = "engine")]
pub use builder::{BuildOptions, Builder};
