//! API versions berth speaks.

/// The version berth advertises (Docker 27.x's).
pub const API_VERSION: &str = "1.47";
/// The oldest version a client may ask for.
pub const MIN_API_VERSION: &str = "1.24";
/// berth's own release version, reported by `/version`.
pub const BERTH_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Parses "1.41" into (1, 41).
pub fn parse(v: &str) -> Option<(u32, u32)> {
    let (a, b) = v.split_once('.')?;
    Some((a.parse().ok()?, b.parse().ok()?))
}
