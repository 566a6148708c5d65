//! The local manifest-list store of `manifest create|annotate|push|rm`, laid out as the
//! docker CLI 28 lays out `~/.docker/manifests` (one directory per list, one JSON file per
//! image manifest, names with `:` → `-` and `/` → `_`), so both CLIs share the lists in
//! the same config directory.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// An OCI platform as the docker CLI writes it (`ocispec.Platform`): the registry client's.
pub use berth_registry::inspect::InspectPlatform as Platform;

/// An OCI descriptor of an image manifest (`ocispec.Descriptor`, the fields used here).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Descriptor {
    #[serde(rename = "mediaType", default)]
    pub media_type: String,
    #[serde(default)]
    pub digest: String,
    #[serde(default)]
    pub size: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<Platform>,
}

/// One image manifest of a list (the docker CLI's `types.ImageManifest`): the reference it
/// was taken from, its descriptor (with the platform `annotate` edits), its bytes as the
/// registry served them, and the parsed document under the key of its kind.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImageManifest {
    #[serde(rename = "Ref")]
    pub reference: String,
    #[serde(rename = "Descriptor")]
    pub descriptor: Descriptor,
    #[serde(rename = "Raw", with = "base64_bytes", default)]
    pub raw: Vec<u8>,
    #[serde(
        rename = "SchemaV2Manifest",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub schema_v2: Option<serde_json::Value>,
    #[serde(
        rename = "OCIManifest",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub oci: Option<serde_json::Value>,
}

impl ImageManifest {
    /// The manifest's bytes: as served, else the stored document.
    pub fn payload(&self) -> Vec<u8> {
        if !self.raw.is_empty() {
            return self.raw.clone();
        }
        self.schema_v2
            .as_ref()
            .or(self.oci.as_ref())
            .map(|v| v.to_string().into_bytes())
            .unwrap_or_default()
    }

    /// The digests of the blobs it references: config first, then the layers.
    pub fn blobs(&self) -> Vec<String> {
        let Some(doc) = self.schema_v2.as_ref().or(self.oci.as_ref()) else {
            return Vec::new();
        };
        let digest = |v: &serde_json::Value| v.get("digest")?.as_str().map(str::to_string);
        let mut out: Vec<String> = doc.get("config").and_then(digest).into_iter().collect();
        if let Some(layers) = doc.get("layers").and_then(|l| l.as_array()) {
            out.extend(layers.iter().filter_map(digest));
        }
        out
    }
}

mod base64_bytes {
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(b))
    }
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s: Option<String> = Option::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(s.unwrap_or_default())
            .map_err(serde::de::Error::custom)
    }
}

/// Why a store operation failed, in the docker CLI's words.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// "No such manifest: REF" (the store's not-found, capitalised as docker's).
    #[error("No such manifest: {0}")]
    NotFound(String),
    #[error("{0}")]
    Io(String),
}

/// The store under a config directory (`DIR/manifests`).
pub struct Store {
    root: PathBuf,
}

/// docker's makeFilesafeName.
fn file_safe(reference: &str) -> String {
    reference.replace(':', "-").replace('/', "_")
}

impl Store {
    pub fn new(config_dir: &Path) -> Store {
        Store {
            root: config_dir.join("manifests"),
        }
    }

    fn list_dir(&self, list: &str) -> PathBuf {
        self.root.join(file_safe(list))
    }

    fn read(&self, reference: &str, file: &Path) -> Result<ImageManifest, StoreError> {
        let bytes = match std::fs::read(file) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NotFound(reference.to_string()))
            }
            Err(e) => return Err(StoreError::Io(format!("{}: {e}", file.display()))),
        };
        serde_json::from_slice(&bytes)
            .map_err(|e| StoreError::Io(format!("invalid manifest file {}: {e}", file.display())))
    }

    /// One image manifest of a list.
    pub fn get(&self, list: &str, manifest: &str) -> Result<ImageManifest, StoreError> {
        self.read(manifest, &self.list_dir(list).join(file_safe(manifest)))
    }

    /// Every image manifest of a list, in file-name order (as docker reads them).
    pub fn get_list(&self, list: &str) -> Result<Vec<ImageManifest>, StoreError> {
        let dir = self.list_dir(list);
        let rd = match std::fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(StoreError::NotFound(list.to_string()))
            }
            Err(e) => return Err(StoreError::Io(format!("{}: {e}", dir.display()))),
        };
        let mut names: Vec<PathBuf> = rd.flatten().map(|e| e.path()).collect();
        names.sort();
        names.iter().map(|p| self.read(list, p)).collect()
    }

    /// Writes one image manifest of a list (creating the list).
    pub fn save(
        &self,
        list: &str,
        manifest: &str,
        image: &ImageManifest,
    ) -> Result<(), StoreError> {
        let dir = self.list_dir(list);
        std::fs::create_dir_all(&dir)
            .map_err(|e| StoreError::Io(format!("{}: {e}", dir.display())))?;
        let bytes = serde_json::to_vec(image).map_err(|e| StoreError::Io(e.to_string()))?;
        // Written aside and renamed, so an interrupted save never leaves half a file.
        let file = dir.join(file_safe(manifest));
        let tmp = self.root.join(format!(".{}.tmp", file_safe(manifest)));
        std::fs::write(&tmp, bytes)
            .and_then(|_| std::fs::rename(&tmp, &file))
            .map_err(|e| StoreError::Io(format!("{}: {e}", file.display())))
    }

    /// Removes a list and its manifests.
    pub fn remove(&self, list: &str) -> Result<(), StoreError> {
        match std::fs::remove_dir_all(self.list_dir(list)) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(StoreError::Io(e.to_string()))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_and_round_trip_are_dockers() {
        assert_eq!(
            file_safe("127.0.0.1:5000/m:latest"),
            "127.0.0.1-5000_m-latest"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Store::new(dir.path());
        let m = ImageManifest {
            reference: "127.0.0.1:5000/a:v1".into(),
            descriptor: Descriptor {
                media_type: "application/vnd.oci.image.manifest.v1+json".into(),
                digest: "sha256:00".into(),
                size: 2,
                platform: Some(Platform {
                    architecture: "amd64".into(),
                    os: "linux".into(),
                    ..Default::default()
                }),
            },
            raw: b"{}".to_vec(),
            schema_v2: None,
            oci: Some(serde_json::json!({})),
        };
        s.save("127.0.0.1:5000/m:latest", "127.0.0.1:5000/a:v1", &m)
            .expect("save");
        let text = std::fs::read_to_string(
            dir.path()
                .join("manifests/127.0.0.1-5000_m-latest/127.0.0.1-5000_a-v1"),
        )
        .expect("file");
        assert_eq!(
            text,
            r#"{"Ref":"127.0.0.1:5000/a:v1","Descriptor":{"mediaType":"application/vnd.oci.image.manifest.v1+json","digest":"sha256:00","size":2,"platform":{"architecture":"amd64","os":"linux"}},"Raw":"e30=","OCIManifest":{}}"#
        );
        let back = s.get_list("127.0.0.1:5000/m:latest").expect("list");
        assert_eq!(back.len(), 1);
        assert_eq!(back[0].descriptor, m.descriptor);
        assert!(matches!(
            s.get_list("127.0.0.1:5000/x:latest"),
            Err(StoreError::NotFound(_))
        ));
        s.remove("127.0.0.1:5000/m:latest").expect("rm");
        assert!(s
            .get("127.0.0.1:5000/m:latest", "127.0.0.1:5000/a:v1")
            .is_err());
    }
}
