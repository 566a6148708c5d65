//! The volume API operations that need the containers: which containers use a volume,
//! removal refused while one does (Docker's 409), and `volume prune`.

use super::Engine;
use crate::error::{EngineError, Result};
use crate::volumes::label_matches;

impl Engine {
    /// Names of containers (ids) whose records mount the volume.
    pub async fn volume_users(&self, name: &str) -> Vec<String> {
        let mut out = Vec::new();
        for c in self.all() {
            let r = c.record.lock().await;
            if r.mount_points
                .iter()
                .any(|m| m.typ == "volume" && m.name == name)
            {
                out.push(r.id.clone());
            }
        }
        out.sort();
        out
    }

    /// Removes a volume unless a container uses it (Docker's 409 and message); `force`
    /// only makes a missing volume no error.
    pub async fn remove_volume(&self, name: &str, force: bool) -> Result<()> {
        let _g = self.volumes.op_lock.lock().await;
        let users = self.volume_users(name).await;
        if !users.is_empty() {
            return Err(EngineError::Conflict(format!(
                "remove {name}: volume is in use - [{}]",
                users.join(", ")
            )));
        }
        match self.volumes.remove(name) {
            Err(EngineError::NotFound(_)) if force => Ok(()),
            Err(EngineError::NotFound(_)) => {
                Err(EngineError::NotFound(format!("get {name}: no such volume")))
            }
            r => r,
        }
    }

    /// `volume prune`: unused volumes matching the filters (`all`: named ones too, else
    /// only anonymous ones; `label`, `label!`). Returns names and bytes freed.
    pub async fn prune_volumes(
        &self,
        all: bool,
        labels: &[String],
        not_labels: &[String],
    ) -> Result<(Vec<String>, u64)> {
        let mut deleted = Vec::new();
        let mut reclaimed = 0;
        for v in self.volumes.list() {
            if !all && !v.anonymous {
                continue;
            }
            if !labels.iter().all(|l| label_matches(&v.labels, l))
                || not_labels.iter().any(|l| label_matches(&v.labels, l))
            {
                continue;
            }
            let size = self.volumes.size(&v.name);
            let _g = self.volumes.op_lock.lock().await;
            if !self.volume_users(&v.name).await.is_empty() {
                continue;
            }
            if self.volumes.remove(&v.name).is_ok() {
                deleted.push(v.name);
                reclaimed += size;
            }
        }
        Ok((deleted, reclaimed))
    }
}
