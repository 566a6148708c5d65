//! Manifest-level access to one repository, for client tools that talk to a registry
//! themselves (the CLI's `manifest inspect|create|push`, as the docker CLI does): fetch a
//! manifest or a small blob as bytes, put a manifest, mount a blob from another
//! repository of the same registry.

use crate::client::{read_small, registry_host, status_error, RegistryConfig, Session};
use crate::documents::{
    MT_DOCKER_LIST, MT_DOCKER_MANIFEST, MT_OCI_INDEX, MT_OCI_MANIFEST, MT_SCHEMA1, MT_SCHEMA1_PLAIN,
};
use crate::error::RegistryError;
use crate::AuthConfig;

const ACCEPT: &[&str] = &[
    MT_OCI_INDEX,
    MT_DOCKER_LIST,
    MT_OCI_MANIFEST,
    MT_DOCKER_MANIFEST,
    MT_SCHEMA1,
    MT_SCHEMA1_PLAIN,
];

/// Manifests and configs are small; anything larger is refused rather than read.
const MAX_DOCUMENT: u64 = 4 << 20;

/// True for the media types of manifest lists / image indexes.
pub fn is_list_type(media_type: &str) -> bool {
    media_type == MT_DOCKER_LIST || media_type == MT_OCI_INDEX
}

/// A fetched manifest: its bytes exactly as served, and its media type (the document's
/// `mediaType`, else the response's Content-Type).
#[derive(Debug, Clone)]
pub struct RawManifest {
    pub media_type: String,
    pub bytes: Vec<u8>,
}

/// An authenticated session with one repository (`domain`/`path` of a reference).
pub struct Repository {
    session: Session,
}

impl Repository {
    /// Pings the registry serving `domain` and opens `path` for pull (and push when `push`).
    pub fn open(
        cfg: &RegistryConfig,
        domain: &str,
        path: &str,
        auth: &AuthConfig,
        push: bool,
    ) -> Result<Repository, RegistryError> {
        let host = registry_host(domain);
        let actions = if push { "pull,push" } else { "pull" };
        Ok(Repository {
            session: Session::open(cfg, &host, path, auth, actions)?,
        })
    }

    /// `GET /v2/<repo>/manifests/<tag or digest>`; `None` when the registry does not have it.
    pub fn manifest(&self, reference: &str) -> Result<Option<RawManifest>, RegistryError> {
        let url = self.session.url(&format!("manifests/{reference}"));
        let r = self.session.fetch("GET", &url, Some(&ACCEPT.join(", ")))?;
        let code = r.status().as_u16();
        if code == 404 {
            return Ok(None);
        }
        if !(200..300).contains(&code) {
            let (code, text) = status_error(r);
            return Err(if code == 401 || code == 403 {
                RegistryError::Unauthorized(text)
            } else {
                RegistryError::Transport(text)
            });
        }
        let content_type = crate::client::media_type(&r);
        let bytes = read_small(r, MAX_DOCUMENT)?;
        #[derive(serde::Deserialize)]
        struct Head {
            #[serde(rename = "mediaType", default)]
            media_type: String,
        }
        let declared = serde_json::from_slice::<Head>(&bytes)
            .map(|h| h.media_type)
            .unwrap_or_default();
        let media_type = if declared.is_empty() {
            content_type
        } else {
            declared
        };
        Ok(Some(RawManifest { media_type, bytes }))
    }

    /// A small blob (an image config), verified against its digest.
    pub fn blob(&self, digest: &str) -> Result<Vec<u8>, RegistryError> {
        let url = self.session.url(&format!("blobs/{digest}"));
        let r = self.session.fetch("GET", &url, None)?;
        let code = r.status().as_u16();
        if !(200..300).contains(&code) {
            let (_, text) = status_error(r);
            return Err(if code == 404 {
                RegistryError::NotFound(text)
            } else {
                RegistryError::Transport(text)
            });
        }
        let bytes = read_small(r, MAX_DOCUMENT)?;
        if crate::pull::sha256_digest(&bytes) != digest {
            return Err(RegistryError::Invalid(format!(
                "image config verification failed for digest {digest}"
            )));
        }
        Ok(bytes)
    }

    /// `PUT /v2/<repo>/manifests/<reference>`: the digest the registry answers with.
    pub fn put_manifest(
        &self,
        reference: &str,
        media_type: &str,
        bytes: &[u8],
    ) -> Result<String, RegistryError> {
        let url = self.session.url(&format!("manifests/{reference}"));
        let r = self.session.send_bytes(
            "PUT",
            &url,
            &[("Content-Type", media_type.to_string())],
            bytes,
        )?;
        let code = r.status().as_u16();
        if !(200..300).contains(&code) {
            let (_, text) = status_error(r);
            return Err(RegistryError::Transport(text));
        }
        Ok(r.headers()
            .get("docker-content-digest")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string)
            .unwrap_or_else(|| crate::pull::sha256_digest(bytes)))
    }

    /// Cross-repository mount of `digest` from `from` (a path in the same registry): true
    /// when the registry mounted it (201), false when it started an upload instead.
    pub fn mount_blob(&self, digest: &str, from: &str) -> Result<bool, RegistryError> {
        use percent_encoding::{utf8_percent_encode, NON_ALPHANUMERIC};
        let url = self.session.url(&format!(
            "blobs/uploads/?mount={}&from={}",
            digest,
            utf8_percent_encode(from, NON_ALPHANUMERIC)
        ));
        let r = self.session.send_bytes("POST", &url, &[], &[])?;
        match r.status().as_u16() {
            201 => Ok(true),
            202 => Ok(false),
            _ => {
                let (_, text) = status_error(r);
                Err(RegistryError::Transport(text))
            }
        }
    }
}
