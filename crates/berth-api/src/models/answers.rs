//! Small answers: the prune requests' (`POST /containers/prune`, `/images/prune`,
//! `/networks/prune`, `/volumes/prune`; moby's `PruneReport`s), `DELETE /images/{name}`'s
//! (`image.DeleteResponse`), the warnings of `POST /containers/{id}/update` and the
//! processes of `GET /containers/{id}/top`, `GET /containers/{id}/changes`'s entries,
//! `GET /images/{name}/history`'s entries and `POST /auth`'s answer. A list with nothing
//! in it is written `null`, as moby's nil slice.

use serde::{Deserialize, Serialize};

/// `POST /containers/prune`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContainerPruneResponse {
    #[serde(rename = "ContainersDeleted")]
    pub containers_deleted: Option<Vec<String>>,
    #[serde(rename = "SpaceReclaimed")]
    pub space_reclaimed: u64,
}

/// One entry of `DELETE /images/{name}` and of `ImagesDeleted`: a reference untagged or
/// an image deleted (moby writes only the one that is set).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ImageDeleteResponseItem {
    #[serde(rename = "Untagged", skip_serializing_if = "Option::is_none")]
    pub untagged: Option<String>,
    #[serde(rename = "Deleted", skip_serializing_if = "Option::is_none")]
    pub deleted: Option<String>,
}

/// `POST /images/prune`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ImagePruneResponse {
    #[serde(rename = "ImagesDeleted")]
    pub images_deleted: Option<Vec<ImageDeleteResponseItem>>,
    #[serde(rename = "SpaceReclaimed")]
    pub space_reclaimed: u64,
}

/// `POST /networks/prune` (networks free no space: no `SpaceReclaimed`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct NetworkPruneResponse {
    #[serde(rename = "NetworksDeleted")]
    pub networks_deleted: Option<Vec<String>>,
}

/// `POST /volumes/prune`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct VolumePruneResponse {
    #[serde(rename = "VolumesDeleted")]
    pub volumes_deleted: Option<Vec<String>>,
    #[serde(rename = "SpaceReclaimed")]
    pub space_reclaimed: u64,
}

/// `POST /containers/{id}/update`'s answer (moby's `container.UpdateResponse`): the
/// warnings, `null` when none.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ContainerUpdateResponse {
    #[serde(rename = "Warnings")]
    pub warnings: Option<Vec<String>>,
}

/// `GET /containers/{id}/top` (moby's `container.TopResponse`): `ps`'s column titles and
/// one row of fields per process.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct TopResponse {
    #[serde(rename = "Titles")]
    pub titles: Vec<String>,
    #[serde(rename = "Processes")]
    pub processes: Vec<Vec<String>>,
}

/// One entry of `GET /containers/{id}/changes` (moby's `container.FilesystemChange`):
/// the path and its kind (0 modified, 1 added, 2 deleted).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FilesystemChange {
    #[serde(rename = "Path")]
    pub path: String,
    #[serde(rename = "Kind")]
    pub kind: u8,
}

/// `POST /auth`'s answer (moby's `registry.AuthenticateOKBody`), in berth's field order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct AuthResponse {
    #[serde(rename = "Status")]
    pub status: String,
    #[serde(rename = "IdentityToken")]
    pub identity_token: String,
}

/// One entry of `GET /images/{name}/history` (moby's `image.HistoryResponseItem`):
/// `<missing>` for a layer whose image is not stored, `Tags` `null` when it has none.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct HistoryResponseItem {
    #[serde(rename = "Id")]
    pub id: String,
    /// Unix seconds.
    #[serde(rename = "Created")]
    pub created: i64,
    #[serde(rename = "CreatedBy")]
    pub created_by: String,
    #[serde(rename = "Tags")]
    pub tags: Option<Vec<String>>,
    #[serde(rename = "Size")]
    pub size: i64,
    #[serde(rename = "Comment")]
    pub comment: String,
}

/// `Some(list)`, or `None` (written `null`) for an empty one, as moby's nil slice.
pub fn non_empty<T>(v: Vec<T>) -> Option<Vec<T>> {
    (!v.is_empty()).then_some(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s<T: Serialize>(v: &T) -> String {
        serde_json::to_string(v).expect("writes")
    }

    #[test]
    fn prune_answers_are_written_as_moby_writes_them() {
        assert_eq!(
            s(&ContainerPruneResponse::default()),
            r#"{"ContainersDeleted":null,"SpaceReclaimed":0}"#
        );
        assert_eq!(
            s(&ImagePruneResponse {
                images_deleted: non_empty(vec![
                    ImageDeleteResponseItem {
                        untagged: Some("a:latest".into()),
                        ..Default::default()
                    },
                    ImageDeleteResponseItem {
                        deleted: Some("sha256:x".into()),
                        ..Default::default()
                    },
                ]),
                space_reclaimed: 7,
            }),
            r#"{"ImagesDeleted":[{"Untagged":"a:latest"},{"Deleted":"sha256:x"}],"SpaceReclaimed":7}"#
        );
        assert_eq!(
            s(&NetworkPruneResponse {
                networks_deleted: non_empty(vec!["n".to_string()])
            }),
            r#"{"NetworksDeleted":["n"]}"#
        );
        assert_eq!(
            s(&VolumePruneResponse::default()),
            r#"{"VolumesDeleted":null,"SpaceReclaimed":0}"#
        );
    }
}
