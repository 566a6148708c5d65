//! A container's mount points as stored in its record (`mount_points`): resolved at create
//! (`container/mounts.rs`), turned into runtime mounts at start.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One mount of a container, as moby's MountPoint.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountPoint {
    /// "volume", "bind" or "tmpfs".
    #[serde(rename = "type")]
    pub typ: String,
    /// The volume's name (volumes only; empty until the volume exists).
    #[serde(default)]
    pub name: String,
    /// Host path: the bind source, or the volume's data directory.
    #[serde(default)]
    pub source: String,
    pub destination: String,
    #[serde(default)]
    pub driver: String,
    /// The mode string as inspect shows it ("z", "ro", "").
    #[serde(default)]
    pub mode: String,
    pub rw: bool,
    #[serde(default)]
    pub propagation: String,
    /// The propagation was given by the client (`-v ...:rslave`, `bind-propagation=`), not
    /// Docker's default nor the rslave a bind of the data root gets: a source mount that
    /// cannot honour it fails the start, as moby's setMounts.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub propagation_given: bool,
    /// Copy the image's files into the volume at first start (Docker's copy-up).
    #[serde(default)]
    pub copy_data: bool,
    /// Named by the user (`-v name:/p`, `--mount src=name`): `rm -v` keeps it.
    #[serde(default)]
    pub named: bool,
    /// `-v` creates a missing bind source; `--mount` refuses it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub create_source: bool,
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub non_recursive: bool,
    /// tmpfs data options (size=, mode=).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tmpfs_options: Vec<String>,
    /// Volume driver options and labels from `--mount volume-opt=`/`volume-label=`, used
    /// when the mount creates its volume.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub volume_options: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub volume_labels: BTreeMap<String, String>,
    /// `--mount volume-subpath=`: the directory or file inside the volume that is mounted
    /// instead of the volume's root (relative, checked at create, resolved at start).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub subpath: String,
}
