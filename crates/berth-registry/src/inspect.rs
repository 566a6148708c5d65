//! `GET /distribution/{name}/json` (moby's `getDistributionInfo` / `fetchManifest`): what
//! a registry serves for a reference, without pulling it.
//!
//! As moby 28: a tag is resolved to its descriptor by a `HEAD` of the manifest (the
//! `Docker-Content-Digest`, `Content-Type` and `Content-Length` headers), with a `GET` when
//! the answer lacks the digest or is an error (the registry's error text then comes from
//! its body); a digest reference is taken as given. The manifest is then fetched by digest
//! and verified; its own media type replaces the one the registry declared, and its length
//! is the size when none was known. Platforms: every entry of a manifest list or OCI index
//! (distribution's manifestlist package reads both), the config's platform for a Docker
//! schema 2 manifest, none (`null`) for an OCI image manifest (moby's type switch has no
//! case for it). Schema 1 is refused with moby's deprecation error. Docker Hub names try
//! the configured mirrors first, falling back to the next endpoint on any failure.

use serde::{Deserialize, Serialize};

use crate::auth::AuthConfig;
use crate::client::{read_small, registry_host, status_error, RegistryConfig, Resp, Session};
use crate::documents::{MT_DOCKER_LIST, MT_DOCKER_MANIFEST, MT_OCI_INDEX};
use crate::error::RegistryError;
use berth_image::Reference;

const ACCEPT: &str = "application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json";

/// Manifests are small; a larger answer is refused rather than read.
const MAX_DOCUMENT: u64 = 8 << 20;

/// moby's `registry.DistributionInspect`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DistributionInspect {
    #[serde(rename = "Descriptor")]
    pub descriptor: ManifestDescriptor,
    /// `null` when the manifest names none (moby's nil slice).
    #[serde(rename = "Platforms")]
    pub platforms: Option<Vec<InspectPlatform>>,
}

/// The manifest's OCI descriptor (the fields moby fills).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct ManifestDescriptor {
    #[serde(rename = "mediaType")]
    pub media_type: String,
    pub digest: String,
    pub size: u64,
}

/// An OCI platform with ocispec's JSON names (optional fields omitted when empty).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct InspectPlatform {
    #[serde(default)]
    pub architecture: String,
    #[serde(default)]
    pub os: String,
    #[serde(
        rename = "os.version",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub os_version: String,
    #[serde(rename = "os.features", default, skip_serializing_if = "Vec::is_empty")]
    pub os_features: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub variant: String,
}

/// What the registry serving `r` has for it (see the module doc).
pub fn inspect(
    cfg: &RegistryConfig,
    r: &Reference,
    auth: &AuthConfig,
) -> Result<DistributionInspect, RegistryError> {
    if r.domain() == berth_image::reference::DEFAULT_DOMAIN {
        for m in &cfg.registry_mirrors {
            let tried =
                Session::open_mirror(cfg, m, r.path(), auth).and_then(|s| inspect_on(&s, r));
            match tried {
                Ok(v) => return Ok(v),
                Err(e) => tracing::warn!(mirror = %m, error = %e, "mirror failed, trying the next"),
            }
        }
    }
    let host = registry_host(r.domain());
    let session = Session::open(cfg, &host, r.path(), auth, "pull")?;
    inspect_on(&session, r)
}

/// An error answer as distribution's client reports it: the registry's own error text
/// (`manifest unknown: manifest unknown`), its status kept (moby's
/// statusCodeFromDistributionError: 404 unknown, 401 unauthorized, 403 denied); a
/// registry asking for basic credentials that were not given fails before the request as
/// distribution's basic handler does.
fn answer_error(s: &Session, method: &str, url: &str, r: Resp) -> RegistryError {
    let (code, text) = status_error(r);
    if code == 401 && s.lacks_basic_credentials() {
        let m = if method == "HEAD" { "Head" } else { "Get" };
        return RegistryError::Transport(format!("{m} \"{url}\": no basic auth credentials"));
    }
    match code {
        404 => RegistryError::NotFound(text),
        401 => RegistryError::Unauthorized(text),
        403 => RegistryError::Denied(text),
        400 => RegistryError::InvalidArgument(text),
        _ => RegistryError::Transport(text),
    }
}

fn header(r: &Resp, name: &str) -> String {
    r.headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_string()
}

fn inspect_on(s: &Session, r: &Reference) -> Result<DistributionInspect, RegistryError> {
    let (mut desc, digest) = match r.digest() {
        Some(d) => (
            ManifestDescriptor {
                media_type: String::new(),
                digest: d.to_string(),
                size: 0,
            },
            d.to_string(),
        ),
        None => {
            let tag = r.tag().unwrap_or("latest");
            let d = tag_descriptor(s, tag)?;
            let digest = d.digest.clone();
            (d, digest)
        }
    };
    let url = s.url(&format!("manifests/{digest}"));
    let resp = s.fetch("GET", &url, Some(ACCEPT))?;
    if !resp.status().is_success() {
        return Err(answer_error(s, "GET", &url, resp));
    }
    let content_type = crate::client::media_type(&resp);
    let body = read_small(resp, MAX_DOCUMENT)?;
    if crate::pull::sha256_digest(&body) != digest {
        return Err(RegistryError::Invalid(format!(
            "manifest verification failed for digest {digest}"
        )));
    }
    let media_type = crate::documents::media_type(&body, &content_type)?;
    if media_type == crate::documents::MT_SCHEMA1
        || media_type == crate::documents::MT_SCHEMA1_PLAIN
    {
        return Err(crate::pull::schema1_error(r));
    }
    desc.media_type = media_type.clone();
    if desc.size == 0 {
        desc.size = body.len() as u64;
    }
    let platforms = if media_type == MT_DOCKER_LIST || media_type == MT_OCI_INDEX {
        #[derive(Deserialize)]
        struct Entry {
            #[serde(default)]
            platform: Option<InspectPlatform>,
        }
        #[derive(Deserialize)]
        struct List {
            #[serde(default)]
            manifests: Vec<Entry>,
        }
        let l: List = serde_json::from_slice(&body)
            .map_err(|e| RegistryError::Invalid(format!("invalid manifest list: {e}")))?;
        let v: Vec<InspectPlatform> = l
            .manifests
            .into_iter()
            .map(|e| e.platform.unwrap_or_default())
            .collect();
        (!v.is_empty()).then_some(v)
    } else if media_type == MT_DOCKER_MANIFEST {
        config_platform(s, &body)
    } else {
        None
    };
    Ok(DistributionInspect {
        descriptor: desc,
        platforms,
    })
}

/// distribution's `tags.Get`: HEAD, and GET when HEAD gives no digest or fails.
fn tag_descriptor(s: &Session, tag: &str) -> Result<ManifestDescriptor, RegistryError> {
    let url = s.url(&format!("manifests/{tag}"));
    let head = s.fetch("HEAD", &url, Some(ACCEPT))?;
    let code = head.status().as_u16();
    if (200..400).contains(&code) && !header(&head, "docker-content-digest").is_empty() {
        return Ok(ManifestDescriptor {
            media_type: header(&head, "content-type"),
            digest: header(&head, "docker-content-digest"),
            size: header(&head, "content-length").parse().unwrap_or(0),
        });
    }
    if code == 401 && s.lacks_basic_credentials() {
        return Err(RegistryError::Transport(format!(
            "Head \"{url}\": no basic auth credentials"
        )));
    }
    let get = s.fetch("GET", &url, Some(ACCEPT))?;
    if !(200..400).contains(&get.status().as_u16()) {
        return Err(answer_error(s, "GET", &url, get));
    }
    let media_type = header(&get, "content-type");
    let digest = header(&get, "docker-content-digest");
    let len: u64 = header(&get, "content-length").parse().unwrap_or(0);
    let (digest, size) = if digest.is_empty() {
        // No digest header: the body's own (what distribution's client verifies against).
        let body = read_small(get, MAX_DOCUMENT)?;
        (crate::pull::sha256_digest(&body), body.len() as u64)
    } else {
        (digest, len)
    };
    Ok(ManifestDescriptor {
        media_type,
        digest,
        size,
    })
}

/// The platform a schema 2 manifest's config names; none when the config cannot be
/// fetched or names neither OS nor architecture (moby ignores those errors).
fn config_platform(s: &Session, manifest: &[u8]) -> Option<Vec<InspectPlatform>> {
    #[derive(Deserialize)]
    struct Config {
        digest: String,
    }
    #[derive(Deserialize)]
    struct Manifest {
        config: Config,
    }
    let m: Manifest = serde_json::from_slice(manifest).ok()?;
    let url = s.url(&format!("blobs/{}", m.config.digest));
    let resp = s.fetch("GET", &url, None).ok()?;
    if !resp.status().is_success() {
        return None;
    }
    let body = read_small(resp, 32 << 20).ok()?;
    let p: InspectPlatform = serde_json::from_slice(&body).ok()?;
    (!p.os.is_empty() || !p.architecture.is_empty()).then(|| vec![p])
}
