//! An image config blob (the JSON whose sha256 is the image id) as berth reads it: the
//! platform, the container config, the layers' diff ids and the history. Read leniently,
//! as before it was typed: a field of an unexpected shape reads as absent, except the
//! container config, whose error is kept for the operations that need it.

use super::HistoryEntry;
use crate::changes::ContainerConfig;
use berth_api::models::LegacyContainerConfig;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

#[derive(Debug, Default, Deserialize)]
pub(crate) struct ImageConfigFile {
    #[serde(default, deserialize_with = "lenient")]
    pub architecture: String,
    #[serde(default, deserialize_with = "lenient")]
    pub author: String,
    #[serde(default, deserialize_with = "lenient")]
    pub comment: String,
    /// The `config` object as stored: read as a [`ContainerConfig`] by `container_config`,
    /// which keeps its error for the operations that need the config.
    #[serde(default)]
    pub config: Value,
    /// The legacy `container_config` (what the container of a commit or build step ran),
    /// empty if absent (or of another shape): image inspect shows it below API 1.45.
    #[serde(default, rename = "container_config", deserialize_with = "lenient")]
    pub legacy_container_config: LegacyContainerConfig,
    /// The legacy `container`: the id of that container, empty if absent.
    #[serde(default, deserialize_with = "lenient")]
    pub container: String,
    #[serde(default, deserialize_with = "lenient")]
    pub created: String,
    #[serde(default, deserialize_with = "lenient")]
    pub docker_version: String,
    #[serde(default, deserialize_with = "lenient")]
    pub history: Vec<HistoryEntry>,
    #[serde(default, deserialize_with = "lenient")]
    pub os: String,
    #[serde(default, deserialize_with = "lenient")]
    pub variant: Option<String>,
    #[serde(default, deserialize_with = "lenient")]
    pub rootfs: RootFs,
}

#[derive(Debug, Default, Deserialize)]
pub(crate) struct RootFs {
    #[serde(default, deserialize_with = "lenient")]
    pub diff_ids: Vec<String>,
}

impl ImageConfigFile {
    pub fn parse(raw: &[u8]) -> serde_json::Result<ImageConfigFile> {
        serde_json::from_slice(raw)
    }

    /// The typed container config (default when the image has none), or why the one it
    /// has cannot be read.
    pub fn container_config(&self) -> Result<ContainerConfig, String> {
        if self.config.is_null() {
            return Ok(ContainerConfig::default());
        }
        ContainerConfig::deserialize(&self.config).map_err(|e| e.to_string())
    }
}

/// The value, or its default when it has another shape.
fn lenient<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + serde::de::DeserializeOwned,
{
    let v = Value::deserialize(d)?;
    Ok(serde_json::from_value(v).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_like_the_value_it_replaced() {
        let f = ImageConfigFile::parse(
            br#"{"architecture":"amd64","config":{"Cmd":["sh"],"Env":["A=1"],"ArgsEscaped":true},"created":5,
                "history":"x","os":"linux","rootfs":{"type":"layers","diff_ids":["sha256:1"]}}"#,
        )
        .expect("parses");
        assert_eq!((f.architecture.as_str(), f.os.as_str()), ("amd64", "linux"));
        assert_eq!(f.created, "");
        assert!(f.history.is_empty());
        assert_eq!(f.rootfs.diff_ids, ["sha256:1"]);
        let c = f.container_config().expect("config");
        assert_eq!(c.cmd.as_deref(), Some(&["sh".to_string()][..]));
        assert_eq!(c.env(), ["A=1"]);
        let bad = ImageConfigFile::parse(br#"{"config":{"Env":5}}"#).expect("parses");
        assert!(bad.container_config().is_err());
    }
}
