//! Volumes: the body of `POST /volumes/create` ([`VolumeCreateBody`]) and the answers
//! that show volumes ([`Volume`], [`VolumeListResponse`]).

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// `POST /volumes/create` (moby's `volume.CreateOptions`), in the order the berth CLI and
/// Compose write it. `null` or absent maps read as empty; an empty name asks for a
/// generated one.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct VolumeCreateBody {
    #[serde(rename = "Name", default, deserialize_with = "super::null_as_default")]
    pub name: String,
    #[serde(
        rename = "Driver",
        default,
        deserialize_with = "super::null_as_default"
    )]
    pub driver: String,
    #[serde(rename = "DriverOpts", default, deserialize_with = "string_map")]
    pub driver_opts: BTreeMap<String, String>,
    #[serde(rename = "Labels", default, deserialize_with = "string_map")]
    pub labels: BTreeMap<String, String>,
    /// A cluster (CSI) volume's spec (API 1.42+): such a create goes to the swarm.
    #[serde(
        rename = "ClusterVolumeSpec",
        default,
        skip_serializing_if = "Option::is_none"
    )]
    pub cluster_volume_spec: Option<ClusterVolumeSpec>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// moby's `volume.ClusterVolumeSpec`, as the docker CLI's `volume create` fills it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ClusterVolumeSpec {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub group: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_mode: Option<VolumeAccessMode>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub secrets: Vec<VolumeSecret>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub accessibility_requirements: Option<TopologyRequirement>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub capacity_range: Option<CapacityRange>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub availability: String,
}

/// How a cluster volume is used: scope, sharing, and mount (`{}`) or block (`{}`) access.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VolumeAccessMode {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scope: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub sharing: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mount_volume: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_volume: Option<Map<String, Value>>,
}

/// A secret handed to the CSI plugin: `--secret KEY=SECRET`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VolumeSecret {
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub secret: String,
}

/// `--topology-required` / `--topology-preferred`: lists of segment maps.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TopologyRequirement {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requisite: Vec<VolumeTopology>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub preferred: Vec<VolumeTopology>,
}

/// One topology: `segment=value` pairs.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VolumeTopology {
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub segments: BTreeMap<String, String>,
}

/// `--required-bytes` / `--limit-bytes`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CapacityRange {
    #[serde(default)]
    pub required_bytes: i64,
    #[serde(default)]
    pub limit_bytes: i64,
}

/// A string-to-string map, with the daemon's messages for a value that is not a string
/// (`value of KEY is not a string`) or a map that is not an object (`expected an object`).
fn string_map<'de, D>(d: D) -> Result<BTreeMap<String, String>, D::Error>
where
    D: Deserializer<'de>,
{
    use serde::de::Error;
    match Option::<Value>::deserialize(d)? {
        None => Ok(BTreeMap::new()),
        Some(Value::Object(o)) => o
            .into_iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k, s)),
                _ => Err(D::Error::custom(format!("value of {k} is not a string"))),
            })
            .collect(),
        Some(_) => Err(D::Error::custom("expected an object")),
    }
}

/// A volume as `GET /volumes/{name}`, `GET /volumes` and `POST /volumes/create` answer it
/// (moby's `volume.Volume`, the fields berth fills, in berth's order); `UsageData` only in
/// `GET /system/df`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Volume {
    /// RFC 3339, seconds.
    #[serde(rename = "CreatedAt")]
    pub created_at: String,
    #[serde(rename = "Driver")]
    pub driver: String,
    /// `null` when the volume has none.
    #[serde(rename = "Labels")]
    pub labels: Option<BTreeMap<String, String>>,
    #[serde(rename = "Mountpoint")]
    pub mountpoint: String,
    #[serde(rename = "Name")]
    pub name: String,
    /// `null` when the volume has none.
    #[serde(rename = "Options")]
    pub options: Option<BTreeMap<String, String>>,
    #[serde(rename = "Scope")]
    pub scope: String,
    #[serde(rename = "UsageData", skip_serializing_if = "Option::is_none")]
    pub usage_data: Option<VolumeUsageData>,
}

/// How many containers use a volume and the bytes in it (`system df`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VolumeUsageData {
    #[serde(rename = "RefCount")]
    pub ref_count: i64,
    /// -1 when the daemon did not measure it (moby's value for "not available").
    #[serde(rename = "Size")]
    pub size: i64,
}

/// `GET /volumes` (moby's `volume.ListResponse`); berth has no warnings (`null`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VolumeListResponse {
    #[serde(rename = "Volumes", deserialize_with = "super::null_as_default")]
    pub volumes: Vec<Volume>,
    #[serde(rename = "Warnings")]
    pub warnings: Option<Vec<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn create_body_reads_nulls_unknown_fields_and_refuses_non_strings() {
        let b: VolumeCreateBody = serde_json::from_value(serde_json::json!({
            "Name": null, "Driver": "local", "DriverOpts": null, "Labels": {"a": "1"},
            "ClusterVolumeSpec": {"Group": "g"},
        }))
        .expect("parses");
        assert_eq!((b.name.as_str(), b.driver.as_str()), ("", "local"));
        assert!(b.driver_opts.is_empty());
        assert_eq!(b.labels.get("a").map(String::as_str), Some("1"));
        assert_eq!(b.cluster_volume_spec.map(|c| c.group).as_deref(), Some("g"));
        let e = serde_json::from_value::<VolumeCreateBody>(serde_json::json!({"Labels": {"a": 1}}))
            .unwrap_err();
        assert_eq!(e.to_string(), "value of a is not a string");
        let e = serde_json::from_value::<VolumeCreateBody>(serde_json::json!({"DriverOpts": []}))
            .unwrap_err();
        assert_eq!(e.to_string(), "expected an object");
    }
}
