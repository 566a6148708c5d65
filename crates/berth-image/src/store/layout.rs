//! The JSON files of a `docker save` archive, typed: the OCI image layout's `index.json`
//! and `oci-layout`, each image's OCI manifest and its descriptors, and docker's
//! `manifest.json` items. `save` writes them (fields in the order docker 25+ writes them,
//! so the manifest bytes, and with them their digests, are docker's); `load` reads them
//! leniently (an absent field is empty), as it read the JSON before it was typed.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub(super) const MANIFEST_MEDIA_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";
pub(super) const INDEX_MEDIA_TYPE: &str = "application/vnd.oci.image.index.v1+json";
pub(super) const CONFIG_MEDIA_TYPE: &str = "application/vnd.oci.image.config.v1+json";

/// An OCI content descriptor: a blob's media type, digest and size; `annotations` (the
/// image's name in an index) and `platform` (in a multi-platform index) when there.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct Descriptor {
    pub media_type: String,
    pub digest: String,
    pub size: u64,
    /// Sorted keys: `io.containerd.image.name` before `org.opencontainers.image.ref.name`,
    /// the order `save` has always written them in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
}

impl Descriptor {
    /// One annotation, if the descriptor has it.
    pub fn annotation(&self, key: &str) -> Option<&str> {
        self.annotations.as_ref()?.get(key).map(String::as_str)
    }
}

/// The platform of an index entry (what `load` picks by).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub(super) struct Platform {
    pub architecture: String,
    pub os: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

/// An image manifest (`save` writes one per image).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct Manifest {
    pub schema_version: u32,
    pub media_type: String,
    pub config: Descriptor,
    pub layers: Vec<Descriptor>,
}

/// An image index: the layout's `index.json`, or a multi-platform image's index blob.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct Index {
    pub schema_version: u32,
    pub media_type: String,
    pub manifests: Vec<Descriptor>,
}

/// A blob an index entry points to, before `load` knows which it is: a manifest (with a
/// config) or a nested index (with manifests).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub(super) struct ManifestOrIndex {
    pub config: Option<Descriptor>,
    pub layers: Vec<Descriptor>,
    pub manifests: Option<Vec<Descriptor>>,
}

/// `oci-layout`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(super) struct OciLayout {
    pub image_layout_version: String,
}

/// One image of docker's `manifest.json`: its config and layer paths in the archive, its
/// tags (`null` when saved by id).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(super) struct ManifestItem {
    pub config: String,
    #[serde(default)]
    pub repo_tags: Option<Vec<String>>,
    pub layers: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Value};

    /// serde_json's map keeps insertion order only with `preserve_order`, which the berth
    /// binary has (feature unification) and this crate's tests may not: the bytes `save`
    /// wrote before these types are spelt out here in the binary's order.
    fn s<T: Serialize>(v: &T) -> String {
        serde_json::to_string(v).expect("writes")
    }

    #[test]
    fn save_writes_the_bytes_it_wrote_as_json_values() {
        let layer = Descriptor {
            media_type: "application/vnd.oci.image.layer.v1.tar".into(),
            digest: "sha256:aa".into(),
            size: 10,
            ..Default::default()
        };
        let manifest = Manifest {
            schema_version: 2,
            media_type: MANIFEST_MEDIA_TYPE.into(),
            config: Descriptor {
                media_type: CONFIG_MEDIA_TYPE.into(),
                digest: "sha256:cc".into(),
                size: 7,
                ..Default::default()
            },
            layers: vec![layer],
        };
        assert_eq!(
            s(&manifest),
            r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","config":{"mediaType":"application/vnd.oci.image.config.v1+json","digest":"sha256:cc","size":7},"layers":[{"mediaType":"application/vnd.oci.image.layer.v1.tar","digest":"sha256:aa","size":10}]}"#
        );
        let tagged = Descriptor {
            media_type: MANIFEST_MEDIA_TYPE.into(),
            digest: "sha256:mm".into(),
            size: 300,
            annotations: Some(BTreeMap::from([
                (
                    "org.opencontainers.image.ref.name".to_string(),
                    "1".to_string(),
                ),
                (
                    "io.containerd.image.name".to_string(),
                    "docker.io/library/a:1".to_string(),
                ),
            ])),
            platform: None,
        };
        let untagged = Descriptor {
            annotations: None,
            ..tagged.clone()
        };
        let index = Index {
            schema_version: 2,
            media_type: INDEX_MEDIA_TYPE.into(),
            manifests: vec![tagged, untagged],
        };
        assert_eq!(
            s(&index),
            r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:mm","size":300,"annotations":{"io.containerd.image.name":"docker.io/library/a:1","org.opencontainers.image.ref.name":"1"}},{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:mm","size":300}]}"#
        );
        let items = vec![
            ManifestItem {
                config: "blobs/sha256/cc".into(),
                repo_tags: Some(vec!["a:1".into()]),
                layers: vec!["blobs/sha256/aa".into()],
            },
            ManifestItem {
                config: "blobs/sha256/cc".into(),
                repo_tags: None,
                layers: vec![],
            },
        ];
        assert_eq!(
            s(&items),
            r#"[{"Config":"blobs/sha256/cc","RepoTags":["a:1"],"Layers":["blobs/sha256/aa"]},{"Config":"blobs/sha256/cc","RepoTags":null,"Layers":[]}]"#
        );
        assert_eq!(
            s(&OciLayout {
                image_layout_version: "1.0.0".into()
            }),
            r#"{"imageLayoutVersion":"1.0.0"}"#
        );
    }

    #[test]
    fn load_reads_what_it_read_as_json_values() {
        // A docker 25+ index entry, a nested multi-platform index, a bare manifest.
        let index: Index = serde_json::from_value(json!({"schemaVersion": 2, "manifests": [
            {"mediaType": MANIFEST_MEDIA_TYPE, "digest": "sha256:m", "size": 1,
             "annotations": {"io.containerd.image.name": "docker.io/library/a:1"}},
            {"digest": "sha256:n"}
        ]}))
        .expect("index");
        assert_eq!(index.manifests.len(), 2);
        assert_eq!(
            index.manifests[0].annotation("io.containerd.image.name"),
            Some("docker.io/library/a:1")
        );
        assert_eq!(index.manifests[1].media_type, "");
        let nested: ManifestOrIndex = serde_json::from_value(json!({"manifests": [
            {"digest": "sha256:x", "platform": {"architecture": "arm64", "os": "linux", "variant": "v8"}}
        ]}))
        .expect("nested index");
        let subs = nested.manifests.expect("manifests");
        assert_eq!(
            subs[0].platform.as_ref().map(|p| p.architecture.as_str()),
            Some("arm64")
        );
        let m: ManifestOrIndex = serde_json::from_value(json!({
            "schemaVersion": 2, "config": {"digest": "sha256:c"},
            "layers": [{"digest": "sha256:l1"}, {"digest": "sha256:l2"}], "extra": true
        }))
        .expect("manifest");
        assert!(m.manifests.is_none());
        assert_eq!(m.config.map(|c| c.digest).as_deref(), Some("sha256:c"));
        let layers: Vec<&str> = m.layers.iter().map(|l| l.digest.as_str()).collect();
        assert_eq!(layers, ["sha256:l1", "sha256:l2"]);
        // docker's manifest.json as load has always read it.
        let items: Vec<ManifestItem> = serde_json::from_value(Value::Array(vec![
            json!({"Config": "c.json", "RepoTags": null, "Layers": ["l/layer.tar"]}),
        ]))
        .expect("items");
        assert_eq!(items[0].repo_tags, None);
    }
}
