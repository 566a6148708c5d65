//! API versions berth speaks, and the version a request asked for ([`ApiVersion`]): moby
//! shapes some answers per version (fields added, removed or defaulted at a given version),
//! and berth follows it for every version from [`MIN_API_VERSION`] to [`API_VERSION`].

use std::fmt;

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

/// An Engine API version, `1.NN`: the `/v1.NN` prefix of a request, or [`ApiVersion::CURRENT`]
/// when the path has none (as moby: an unversioned request gets the newest behaviour).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ApiVersion {
    pub major: u32,
    pub minor: u32,
}

impl ApiVersion {
    /// [`API_VERSION`].
    pub const CURRENT: ApiVersion = ApiVersion::new(1, 47);
    /// [`MIN_API_VERSION`].
    pub const MIN: ApiVersion = ApiVersion::new(1, 24);

    pub const fn new(major: u32, minor: u32) -> ApiVersion {
        ApiVersion { major, minor }
    }

    /// `"1.41"` -> 1.41; None when it is not `N.N`.
    pub fn parse(v: &str) -> Option<ApiVersion> {
        parse(v).map(|(major, minor)| ApiVersion { major, minor })
    }

    /// True when this version is older than `1.minor` (moby's `versions.LessThan(v, "1.NN")`).
    pub fn below(self, minor: u32) -> bool {
        self < ApiVersion::new(1, minor)
    }
}

impl Default for ApiVersion {
    fn default() -> Self {
        ApiVersion::CURRENT
    }
}

impl fmt::Display for ApiVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}.{}", self.major, self.minor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constants_agree_and_versions_order_numerically() {
        assert_eq!(ApiVersion::CURRENT.to_string(), API_VERSION);
        assert_eq!(ApiVersion::MIN.to_string(), MIN_API_VERSION);
        let v = ApiVersion::parse("1.9").unwrap();
        assert!(v < ApiVersion::parse("1.10").unwrap());
        assert!(ApiVersion::parse("1.44").unwrap().below(45));
        assert!(!ApiVersion::parse("1.45").unwrap().below(45));
        assert_eq!(ApiVersion::parse("x.1"), None);
    }
}
