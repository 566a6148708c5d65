//! A local volume's record (`volumes/<name>/volume.json`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A volume's stored record.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct VolumeRecord {
    pub name: String,
    pub driver: String,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    pub created_at: DateTime<Utc>,
    /// Created for a container's `-v /path`, `--mount` without source or image VOLUME:
    /// `rm -v` and a plain `volume prune` remove only these.
    #[serde(default)]
    pub anonymous: bool,
}
