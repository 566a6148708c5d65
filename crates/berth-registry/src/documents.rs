//! The registry's JSON documents, typed: manifests and indexes as oci-spec's image types
//! (Docker's schema 2 manifest and manifest list have the same shape), the tag list, error
//! and token answers, and the few fields of an image config a pull checks.

use oci_spec::image::{
    Descriptor, ImageIndex, ImageManifest, ImageManifestBuilder, MediaType, Platform,
};
use serde::Deserialize;

use crate::error::RegistryError;

pub(crate) const MT_OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
pub(crate) const MT_DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
pub(crate) const MT_OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
pub(crate) const MT_DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
pub(crate) const MT_SCHEMA1: &str = "application/vnd.docker.distribution.manifest.v1+prettyjws";
pub(crate) const MT_SCHEMA1_PLAIN: &str = "application/vnd.docker.distribution.manifest.v1+json";

/// What a manifest document says it is, read before choosing its type (schema 1, which
/// oci-spec cannot read, is recognised here and refused by the caller).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Head {
    #[serde(default)]
    media_type: Option<String>,
    #[serde(default)]
    schema_version: Option<serde_json::Number>,
    #[serde(default)]
    manifests: Option<serde::de::IgnoredAny>,
}

/// The media type of a manifest body: its own `mediaType`, else guessed as the
/// distribution spec says (schema 1, an index when it lists manifests, the response's
/// content type, an OCI manifest when that says nothing).
pub(crate) fn media_type(body: &[u8], content_type: &str) -> Result<String, RegistryError> {
    let h: Head = serde_json::from_slice(body)
        .map_err(|e| RegistryError::Invalid(format!("invalid manifest: {e}")))?;
    Ok(match h.media_type {
        Some(m) if !m.is_empty() => m,
        _ if h.schema_version.and_then(|v| v.as_i64()) == Some(1) => MT_SCHEMA1.to_string(),
        _ if h.manifests.is_some() => MT_OCI_INDEX.to_string(),
        _ if content_type.is_empty() || content_type == "application/json" => {
            MT_OCI_MANIFEST.to_string()
        }
        _ => content_type.to_string(),
    })
}

pub(crate) fn parse_index(body: &[u8]) -> Result<ImageIndex, RegistryError> {
    serde_json::from_slice(body)
        .map_err(|e| RegistryError::Invalid(format!("invalid manifest list: {e}")))
}

pub(crate) fn parse_manifest(body: &[u8]) -> Result<ImageManifest, RegistryError> {
    serde_json::from_slice(body)
        .map_err(|e| RegistryError::Invalid(format!("invalid manifest: {e}")))
}

/// An OCI image manifest for a pushed image: the config and the layers bottom first, as
/// `(media type, digest, size)`. Field order (schemaVersion, mediaType, config, layers;
/// mediaType, digest, size) is the one berth has always pushed: the bytes, and so the
/// manifest digest, stay the same.
pub(crate) fn image_manifest(
    config_digest: &str,
    config_size: u64,
    layers: &[(String, String, u64)],
) -> Result<Vec<u8>, RegistryError> {
    let digest = |d: &str| {
        d.parse::<oci_spec::image::Digest>()
            .map_err(|e| RegistryError::Invalid(format!("invalid digest {d}: {e}")))
    };
    let layers = layers
        .iter()
        .map(|(mt, d, size)| {
            Ok(Descriptor::new(
                MediaType::from(mt.as_str()),
                *size,
                digest(d)?,
            ))
        })
        .collect::<Result<Vec<_>, RegistryError>>()?;
    let manifest = ImageManifestBuilder::default()
        .schema_version(2u32)
        .media_type(MediaType::ImageManifest)
        .config(Descriptor::new(
            MediaType::ImageConfig,
            config_size,
            digest(config_digest)?,
        ))
        .layers(layers)
        .build()
        .map_err(|e| RegistryError::Invalid(format!("encoding manifest: {e}")))?;
    serde_json::to_vec(&manifest)
        .map_err(|e| RegistryError::Invalid(format!("encoding manifest: {e}")))
}

/// `GET /v2/<name>/tags/list`.
#[derive(Deserialize)]
pub(crate) struct TagList {
    #[serde(default)]
    pub tags: Option<Vec<String>>,
}

/// The fields of an image config a pull checks: the platform and the layers' diff ids.
#[derive(Deserialize)]
pub(crate) struct ConfigHead {
    #[serde(default)]
    pub os: Option<String>,
    #[serde(default)]
    pub architecture: Option<String>,
    #[serde(default)]
    pub variant: Option<String>,
    #[serde(default)]
    pub rootfs: Option<RootFs>,
}

#[derive(Deserialize)]
pub(crate) struct RootFs {
    #[serde(default)]
    pub diff_ids: Option<Vec<String>>,
}

/// A registry's error body: `{"errors": [{"code": ..., "message": ...}]}`.
#[derive(Deserialize)]
pub(crate) struct ErrorBody {
    pub errors: Vec<ErrorEntry>,
}

#[derive(Deserialize)]
pub(crate) struct ErrorEntry {
    #[serde(default)]
    pub code: Option<String>,
    #[serde(default)]
    pub message: Option<String>,
}

/// A token server's answer (`token`, or OAuth2's `access_token`).
#[derive(Deserialize)]
pub(crate) struct TokenAnswer {
    #[serde(default)]
    pub token: Option<String>,
    #[serde(default)]
    pub access_token: Option<String>,
}

/// `(os, architecture, variant)` of an index entry's platform, as strings.
pub(crate) fn platform_strings(p: &Platform) -> (String, String, Option<String>) {
    (
        p.os().to_string(),
        p.architecture().to_string(),
        p.variant().clone(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pushed_manifest_bytes_are_unchanged() {
        let d = |c: char| format!("sha256:{}", c.to_string().repeat(64));
        let body = image_manifest(
            &d('a'),
            1234,
            &[
                (
                    "application/vnd.oci.image.layer.v1.tar+gzip".into(),
                    d('b'),
                    10,
                ),
                (
                    "application/vnd.oci.image.layer.v1.tar+gzip".into(),
                    d('c'),
                    20,
                ),
            ],
        )
        .expect("encodes");
        // What berth's `json!` manifest serialised to (preserve_order, as in the binary).
        let want = format!(
            r#"{{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"{}","size":1234}},"layers":[{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{}","size":10}},{{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{}","size":20}}]}}"#,
            d('a'),
            d('b'),
            d('c')
        );
        assert_eq!(String::from_utf8_lossy(&body), want);
    }

    #[test]
    fn media_types_are_guessed_as_before() {
        let mt = |b: &str, ct: &str| media_type(b.as_bytes(), ct).unwrap_or_else(|e| e.to_string());
        assert_eq!(mt(r#"{"mediaType":"x/y"}"#, ""), "x/y");
        assert_eq!(mt(r#"{"schemaVersion":1}"#, ""), MT_SCHEMA1);
        assert_eq!(
            mt(r#"{"schemaVersion":2,"manifests":[]}"#, ""),
            MT_OCI_INDEX
        );
        assert_eq!(
            mt(r#"{"schemaVersion":2}"#, "application/json"),
            MT_OCI_MANIFEST
        );
        assert_eq!(mt(r#"{"schemaVersion":2}"#, "a/b"), "a/b");
        assert!(mt("[", "").starts_with("invalid manifest: "));
    }

    #[test]
    fn docker_documents_parse() {
        let list = br#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.list.v2+json","manifests":[
            {"mediaType":"application/vnd.docker.distribution.manifest.v2+json","size":528,"digest":"sha256:1111111111111111111111111111111111111111111111111111111111111111","platform":{"architecture":"arm","os":"linux","variant":"v7"}},
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","size":566,"digest":"sha256:2222222222222222222222222222222222222222222222222222222222222222","platform":{"architecture":"unknown","os":"unknown"}},
            {"mediaType":"application/vnd.oci.image.manifest.v1+json","size":566,"digest":"sha256:3333333333333333333333333333333333333333333333333333333333333333"}]}"#;
        let idx = parse_index(list).expect("index");
        let p: Vec<_> = idx
            .manifests()
            .iter()
            .map(|m| m.platform().as_ref().map(platform_strings))
            .collect();
        assert_eq!(
            p,
            vec![
                Some(("linux".into(), "arm".into(), Some("v7".into()))),
                Some(("unknown".into(), "unknown".into(), None)),
                None
            ]
        );
        let m = br#"{"schemaVersion":2,"mediaType":"application/vnd.docker.distribution.manifest.v2+json",
            "config":{"mediaType":"application/vnd.docker.container.image.v1+json","size":1469,"digest":"sha256:4444444444444444444444444444444444444444444444444444444444444444"},
            "layers":[{"mediaType":"application/vnd.docker.image.rootfs.diff.tar.gzip","size":2,"digest":"sha256:5555555555555555555555555555555555555555555555555555555555555555"}]}"#;
        let m = parse_manifest(m).expect("manifest");
        assert_eq!(
            m.layers()[0].media_type().to_string(),
            "application/vnd.docker.image.rootfs.diff.tar.gzip"
        );
        assert_eq!(m.layers()[0].size(), 2);
        assert!(parse_manifest(br#"{"schemaVersion":2}"#).is_err());
    }
}
