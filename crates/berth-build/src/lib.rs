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
#[cfg(feature = "engine")]
pub mod builder;
#[cfg(feature = "engine")]
pub mod cache;
#[cfg(feature = "engine")]
pub mod copy;

#[cfg(feature = "engine")]
pub use builder::{BuildOptions, Builder};
