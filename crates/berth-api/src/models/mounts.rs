//! Mounts: what a client asks for ([`Mount`], `HostConfig.Mounts`, from `--mount` or
//! Compose's long volume syntax) and what inspect and `docker ps` answer ([`MountPoint`]).
//! Every request field is Go's `omitempty`: absent when empty, as the docker CLI sends it.

use super::{is_false, is_zero};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// One `HostConfig.Mounts` entry (moby's mount.Mount).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Mount {
    /// "bind", "volume", "tmpfs" (others are refused by the daemon).
    #[serde(rename = "Type", default, skip_serializing_if = "String::is_empty")]
    pub kind: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub source: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub target: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub read_only: bool,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub consistency: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bind_options: Option<BindOptions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub volume_options: Option<VolumeOptions>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tmpfs_options: Option<TmpfsOptions>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BindOptions {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub propagation: String,
    #[serde(default, skip_serializing_if = "is_false")]
    pub non_recursive: bool,
    /// Create a missing source directory (as `-v` does) instead of refusing it.
    #[serde(default, skip_serializing_if = "is_false")]
    pub create_mountpoint: bool,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VolumeOptions {
    #[serde(default, skip_serializing_if = "is_false")]
    pub no_copy: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub subpath: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver_config: Option<DriverConfig>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A volume driver and its options.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DriverConfig {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub options: Option<BTreeMap<String, String>>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TmpfsOptions {
    /// Size in bytes (0: the kernel's default).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub size_bytes: i64,
    /// Permission bits of the tmpfs root (0: 1777).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub mode: u32,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// One entry of inspect's (and `docker ps`'s) `Mounts`; absent fields read as empty.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase", default)]
pub struct MountPoint {
    #[serde(rename = "Type")]
    pub kind: String,
    pub source: String,
    pub destination: String,
    pub mode: String,
    #[serde(rename = "RW")]
    pub rw: bool,
    pub propagation: String,
    /// Volumes only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Volumes only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub driver: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounts_as_the_docker_cli_sends_them() {
        let m = Mount {
            kind: "volume".into(),
            source: "mv".into(),
            target: "/m".into(),
            volume_options: Some(VolumeOptions {
                no_copy: true,
                driver_config: Some(DriverConfig::default()),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&m).expect("writes"),
            r#"{"Type":"volume","Source":"mv","Target":"/m","VolumeOptions":{"NoCopy":true,"DriverConfig":{}}}"#
        );
        let back: Mount = serde_json::from_str(
            r#"{"Target":"/t","Type":"tmpfs","TmpfsOptions":{"Mode":448,"Options":[["x"]]},"Extra":1}"#,
        )
        .expect("parses");
        assert_eq!(
            serde_json::to_string(&back).expect("writes"),
            r#"{"Type":"tmpfs","Target":"/t","TmpfsOptions":{"Mode":448,"Options":[["x"]]},"Extra":1}"#
        );
    }
}
