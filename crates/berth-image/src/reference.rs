//! Docker image references, parsed and normalised like docker's distribution/reference
//! (`ParseNormalizedNamed`, `ParseAnyReference`, `FamiliarString`, `TagNameOnly`).

use std::fmt;

use crate::error::ImageError;

pub const DEFAULT_DOMAIN: &str = "docker.io";
const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
const OFFICIAL_REPO_PREFIX: &str = "library/";
const NAME_TOTAL_LENGTH_MAX: usize = 255;
const INVALID_FORMAT: &str = "invalid reference format";

/// A normalised named reference: `docker.io/library/busybox:latest`, optionally with a digest.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Reference {
    domain: String,
    path: String,
    tag: Option<String>,
    digest: Option<String>,
}

/// What `ParseAnyReference` yields: an image id (`sha256:<hex>`) or a name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AnyReference {
    Id(String),
    Named(Reference),
}

fn invalid(msg: impl Into<String>) -> ImageError {
    ImageError::InvalidReference(msg.into())
}

fn is_lower_alnum(c: char) -> bool {
    c.is_ascii_lowercase() || c.is_ascii_digit()
}

/// `path-component := [a-z0-9]+ (?:(?:[._]|__|[-]+)[a-z0-9]+)*`
fn valid_path_component(s: &str) -> bool {
    let b: Vec<char> = s.chars().collect();
    if b.is_empty() || !is_lower_alnum(b[0]) || !is_lower_alnum(b[b.len() - 1]) {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        if is_lower_alnum(b[i]) {
            i += 1;
            continue;
        }
        // A separator run between two alphanumerics.
        let start = i;
        while i < b.len() && !is_lower_alnum(b[i]) {
            i += 1;
        }
        let sep: String = b[start..i].iter().collect();
        let ok = sep == "." || sep == "_" || sep == "__" || sep.chars().all(|c| c == '-');
        if !ok {
            return false;
        }
    }
    true
}

fn valid_domain_component(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b[0].is_ascii_alphanumeric()
        && b[b.len() - 1].is_ascii_alphanumeric()
        && b.iter().all(|c| c.is_ascii_alphanumeric() || *c == b'-')
}

/// `domain := host [':' port]`, host a dotted name, or a bracketed IPv6 address.
fn valid_domain(s: &str) -> bool {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let Some(end) = rest.find(']') else {
            return false;
        };
        let ip = &rest[..end];
        if ip.is_empty() || !ip.chars().all(|c| c.is_ascii_hexdigit() || c == ':') {
            return false;
        }
        let after = &rest[end + 1..];
        if after.is_empty() {
            return true;
        }
        match after.strip_prefix(':') {
            Some(p) => ("x", Some(p)),
            None => return false,
        }
    } else {
        match s.split_once(':') {
            Some((h, p)) => (h, Some(p)),
            None => (s, None),
        }
    };
    if let Some(p) = port {
        if p.is_empty() || !p.bytes().all(|c| c.is_ascii_digit()) {
            return false;
        }
    }
    host.split('.').all(valid_domain_component)
}

/// `tag := [\w][\w.-]{0,127}`
fn valid_tag(s: &str) -> bool {
    let b = s.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && (b[0].is_ascii_alphanumeric() || b[0] == b'_')
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-'))
}

/// `digest := algorithm ':' hex{32,}`; only sha256 (64 lowercase hex) is accepted in full,
/// like go-digest's Validate.
fn valid_digest(s: &str) -> Result<(), ImageError> {
    let Some((alg, hex)) = s.split_once(':') else {
        return Err(invalid(INVALID_FORMAT));
    };
    let alg_ok = !alg.is_empty()
        && alg.split(['-', '_', '+', '.']).all(|p| {
            let b = p.as_bytes();
            !b.is_empty()
                && b[0].is_ascii_alphabetic()
                && b.iter().all(|c| c.is_ascii_alphanumeric())
        });
    if !alg_ok || hex.len() < 32 || !hex.bytes().all(|c| c.is_ascii_hexdigit()) {
        return Err(invalid(INVALID_FORMAT));
    }
    if alg == "sha256"
        && (hex.len() != 64
            || !hex
                .bytes()
                .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c)))
    {
        return Err(invalid("invalid checksum digest format"));
    }
    if alg != "sha256" && alg != "sha384" && alg != "sha512" {
        return Err(invalid("unsupported digest algorithm"));
    }
    Ok(())
}

/// True for a bare 64-char lowercase hex string (an image id without `sha256:`).
pub fn is_full_hex_id(s: &str) -> bool {
    s.len() == 64
        && s.bytes()
            .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
}

fn split_docker_domain(name: &str) -> (String, String) {
    let (mut domain, mut remainder) = match name.find('/') {
        Some(i) => {
            let first = &name[..i];
            if !first.contains(['.', ':']) && first != "localhost" && first.to_lowercase() == first
            {
                (DEFAULT_DOMAIN.to_string(), name.to_string())
            } else {
                (first.to_string(), name[i + 1..].to_string())
            }
        }
        None => (DEFAULT_DOMAIN.to_string(), name.to_string()),
    };
    if domain == LEGACY_DEFAULT_DOMAIN {
        domain = DEFAULT_DOMAIN.to_string();
    }
    if domain == DEFAULT_DOMAIN && !remainder.contains('/') {
        remainder = format!("{OFFICIAL_REPO_PREFIX}{remainder}");
    }
    (domain, remainder)
}

/// Grammar check of `domain/remainder` (what `reference.Parse` does on the joined string).
fn parse_joined(domain: &str, remainder: &str) -> Result<Reference, ImageError> {
    let (name_tag, digest) = match remainder.split_once('@') {
        Some((l, d)) => (l, Some(d)),
        None => (remainder, None),
    };
    let (path, tag) = match name_tag.rfind(':') {
        Some(i) if !name_tag[i..].contains('/') => (&name_tag[..i], Some(&name_tag[i + 1..])),
        _ => (name_tag, None),
    };
    let grammar_ok = |p: &str, d: &str| {
        (valid_domain(d) || valid_path_component(d)) && p.split('/').all(valid_path_component)
    };
    if !grammar_ok(path, domain) || tag.is_some_and(|t| !valid_tag(t)) {
        if domain.is_empty() && path.is_empty() {
            return Err(invalid("repository name must have at least one component"));
        }
        let lower_ok =
            grammar_ok(&path.to_lowercase(), &domain.to_lowercase()) && tag.is_none_or(valid_tag);
        if lower_ok {
            return Err(invalid("repository name must be lowercase"));
        }
        return Err(invalid(INVALID_FORMAT));
    }
    if let Some(d) = digest {
        valid_digest(d)?;
    }
    if domain.len() + 1 + path.len() > NAME_TOTAL_LENGTH_MAX {
        return Err(invalid(format!(
            "repository name must not be more than {NAME_TOTAL_LENGTH_MAX} characters"
        )));
    }
    Ok(Reference {
        domain: domain.to_string(),
        path: path.to_string(),
        tag: tag.map(str::to_string),
        digest: digest.map(str::to_string),
    })
}

impl Reference {
    /// `reference.ParseNormalizedNamed`: "busybox" -> docker.io/library/busybox (no tag added).
    pub fn parse_normalized(s: &str) -> Result<Reference, ImageError> {
        if is_full_hex_id(s) {
            return Err(invalid(format!(
                "invalid repository name ({s}), cannot specify 64-byte hexadecimal strings"
            )));
        }
        if s.is_empty() {
            return Err(invalid(INVALID_FORMAT));
        }
        let (domain, remainder) = split_docker_domain(s);
        let remote = match remainder.find(':') {
            Some(i) => &remainder[..i],
            None => remainder.as_str(),
        };
        if remote.to_lowercase() != remote {
            return Err(invalid(format!(
                "{INVALID_FORMAT}: repository name ({remote}) must be lowercase"
            )));
        }
        parse_joined(&domain, &remainder)
    }

    /// Parses and adds `:latest` when neither tag nor digest is given (`TagNameOnly`).
    pub fn parse_tagged(s: &str) -> Result<Reference, ImageError> {
        Ok(Self::parse_normalized(s)?.with_default_tag())
    }

    pub fn with_default_tag(mut self) -> Reference {
        if self.tag.is_none() && self.digest.is_none() {
            self.tag = Some("latest".to_string());
        }
        self
    }

    /// Full repository name: `docker.io/library/busybox`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.domain, self.path)
    }
    pub fn domain(&self) -> &str {
        &self.domain
    }
    pub fn path(&self) -> &str {
        &self.path
    }
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }
    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    /// Short repository name as docker displays it: `busybox`, `user/app`, `localhost:5000/x`.
    pub fn familiar_name(&self) -> String {
        if self.domain == DEFAULT_DOMAIN {
            match self.path.strip_prefix(OFFICIAL_REPO_PREFIX) {
                Some(rest) if !rest.contains('/') => rest.to_string(),
                _ => self.path.clone(),
            }
        } else {
            self.name()
        }
    }

    /// `reference.FamiliarString`: `busybox:latest`, `localhost:5000/x@sha256:...`.
    pub fn familiar_string(&self) -> String {
        let mut s = self.familiar_name();
        if let Some(t) = &self.tag {
            s.push(':');
            s.push_str(t);
        }
        if let Some(d) = &self.digest {
            s.push('@');
            s.push_str(d);
        }
        s
    }

    /// The same repository with another tag (and no digest).
    pub fn with_tag(&self, tag: &str) -> Reference {
        Reference {
            domain: self.domain.clone(),
            path: self.path.clone(),
            tag: Some(tag.to_string()),
            digest: None,
        }
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name())?;
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// `reference.ParseAnyReference`: a 64-hex id or `sha256:<hex>` is an id, anything else a name.
pub fn parse_any(s: &str) -> Result<AnyReference, ImageError> {
    if is_full_hex_id(s) {
        return Ok(AnyReference::Id(format!("sha256:{s}")));
    }
    if let Some(hex) = s.strip_prefix("sha256:") {
        if is_full_hex_id(hex) {
            return Ok(AnyReference::Id(s.to_string()));
        }
    }
    Reference::parse_normalized(s).map(AnyReference::Named)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn norm(s: &str) -> String {
        Reference::parse_tagged(s)
            .map(|r| r.to_string())
            .unwrap_or_else(|e| e.to_string())
    }

    #[test]
    fn normalises() {
        assert_eq!(norm("busybox"), "docker.io/library/busybox:latest");
        assert_eq!(norm("user/app:1"), "docker.io/user/app:1");
        assert_eq!(norm("localhost:5000/x"), "localhost:5000/x:latest");
        assert_eq!(norm("localhost/x:y"), "localhost/x:y");
        assert_eq!(
            norm("index.docker.io/busybox"),
            "docker.io/library/busybox:latest"
        );
        assert_eq!(
            norm("docker.io/library/busybox:1.36"),
            "docker.io/library/busybox:1.36"
        );
        assert_eq!(norm("Example.com/foo/bar"), "Example.com/foo/bar:latest");
        assert_eq!(norm("a_b/c--d/e__f.g"), "docker.io/a_b/c--d/e__f.g:latest");
        assert_eq!(norm("[::1]:5000/x:t"), "[::1]:5000/x:t");
        let d = format!("sha256:{}", "a".repeat(64));
        assert_eq!(
            norm(&format!("busybox@{d}")),
            format!("docker.io/library/busybox@{d}")
        );
        assert_eq!(
            norm(&format!("busybox:1@{d}")),
            format!("docker.io/library/busybox:1@{d}")
        );
    }

    #[test]
    fn familiar() {
        let f = |s: &str| Reference::parse_tagged(s).map(|r| r.familiar_string()).ok();
        assert_eq!(f("busybox").as_deref(), Some("busybox:latest"));
        assert_eq!(
            f("docker.io/library/busybox:1").as_deref(),
            Some("busybox:1")
        );
        assert_eq!(f("user/app:1").as_deref(), Some("user/app:1"));
        assert_eq!(
            f("localhost:5000/x:tag").as_deref(),
            Some("localhost:5000/x:tag")
        );
        assert_eq!(
            f("docker.io/library/a/b").as_deref(),
            Some("library/a/b:latest")
        );
    }

    #[test]
    fn errors() {
        assert_eq!(
            norm("BusyBox"),
            "invalid reference format: repository name (library/BusyBox) must be lowercase"
        );
        assert_eq!(norm("busybox:"), "invalid reference format");
        assert_eq!(norm("-busybox"), "invalid reference format");
        assert_eq!(norm("bu sy"), "invalid reference format");
        assert_eq!(norm(""), "invalid reference format");
        assert_eq!(norm("a//b"), "invalid reference format");
        assert_eq!(norm("busybox:-x"), "invalid reference format");
        assert_eq!(
            norm(&"a".repeat(64)),
            format!(
                "invalid repository name ({}), cannot specify 64-byte hexadecimal strings",
                "a".repeat(64)
            )
        );
        assert!(norm(&"a".repeat(300)).contains("must not be more than 255"));
        assert_eq!(norm("busybox@sha256:abc"), "invalid reference format");
    }

    #[test]
    fn any() {
        let h = "b".repeat(64);
        assert_eq!(
            parse_any(&h).ok(),
            Some(AnyReference::Id(format!("sha256:{h}")))
        );
        assert_eq!(
            parse_any(&format!("sha256:{h}")).ok(),
            Some(AnyReference::Id(format!("sha256:{h}")))
        );
        assert!(matches!(parse_any("abc123"), Ok(AnyReference::Named(_))));
    }
}
