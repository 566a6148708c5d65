//! The build cache as the Engine API shows it: `GET /system/df`'s `BuildCache` records and
//! the answer of `POST /build/prune` (moby's `build.CacheRecord`, `build.CachePruneReport`).

use serde::{Deserialize, Serialize};

/// One build cache record (absent fields read as empty).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BuildCacheRecord {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Parents", default, skip_serializing_if = "Option::is_none")]
    pub parents: Option<Vec<String>>,
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(rename = "Description")]
    pub description: String,
    #[serde(rename = "InUse")]
    pub in_use: bool,
    #[serde(rename = "Shared")]
    pub shared: bool,
    #[serde(rename = "Size")]
    pub size: i64,
    /// RFC 3339.
    #[serde(rename = "CreatedAt")]
    pub created_at: String,
    #[serde(rename = "LastUsedAt", default)]
    pub last_used_at: Option<String>,
    #[serde(rename = "UsageCount")]
    pub usage_count: i64,
}

/// `POST /build/prune`'s answer.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BuildPruneResponse {
    #[serde(rename = "CachesDeleted", default)]
    pub caches_deleted: Option<Vec<String>>,
    #[serde(rename = "SpaceReclaimed")]
    pub space_reclaimed: u64,
}
