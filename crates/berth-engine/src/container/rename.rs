//! `rename`: the new name checked and swapped in the index and the record.

use super::{names, write_record};
use crate::engine::Engine;
use crate::error::{EngineError, Result};

impl Engine {
    pub async fn rename(&self, name_or_id: &str, new_name: &str) -> Result<()> {
        let c = self.get(name_or_id)?;
        let new = names::validate(new_name)
            .ok_or_else(|| {
                EngineError::InvalidParameter(format!(
                    "Error when allocating new name: Invalid container name (/{}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed",
                    new_name.trim_start_matches('/')
                ))
            })?
            .to_string();
        let mut rec = c.record.lock().await;
        if rec.name == new {
            return Err(EngineError::InvalidParameter(
                "Renaming a container with the same name as its current name".into(),
            ));
        }
        {
            let mut idx = self.write_index();
            if let Some(other) = idx.names.get(&new) {
                return Err(EngineError::Conflict(format!(
                    "Error when allocating new name: Conflict. The container name \"/{new}\" is already in use by container \"{other}\". You have to remove (or rename) that container to be able to reuse that name."
                )));
            }
            idx.names.remove(&rec.name);
            idx.names.insert(new.clone(), rec.id.clone());
        }
        let old = std::mem::replace(&mut rec.name, new.clone());
        write_record(&self.dir(&rec.id), &rec)?;
        self.events
            .container(&rec, "rename", &[("oldName", format!("/{old}"))]);
        let me = rec.id.clone();
        drop(rec);
        self.networks.rename_in_resolver(&me, &old, &new);
        self.relink(&me, &old, &new).await;
        Ok(())
    }

    /// The links to a renamed container follow it (`/OLD:/PARENT/ALIAS` becomes
    /// `/NEW:/PARENT/ALIAS`), as moby's link graph is keyed by the container, not its name.
    async fn relink(&self, me: &str, old: &str, new: &str) {
        for c in self.all() {
            if c.id == me {
                continue;
            }
            let mut rec = c.record.lock().await;
            let Some(links) = rec.host_config.links.as_mut() else {
                continue;
            };
            let mut changed = false;
            for l in links.iter_mut() {
                if let Some(rest) = l.strip_prefix(&format!("/{old}:")) {
                    *l = format!("/{new}:{rest}");
                    changed = true;
                }
            }
            if changed {
                if let Err(e) = write_record(&self.dir(&rec.id), &rec) {
                    tracing::warn!(id = %rec.id, error = %e, "cannot store the renamed link");
                }
            }
        }
    }

    /// The container a link's name stands for (`PARENT/ALIAS`, moby's name for the link
    /// in its name index: `GET /containers/PARENT/ALIAS/json`).
    pub async fn linked(
        &self,
        parent: &str,
        alias: &str,
    ) -> Result<std::sync::Arc<super::Container>> {
        let no_such = || EngineError::NotFound(format!("No such container: {parent}/{alias}"));
        let p = self.get(parent).map_err(|_| no_such())?;
        let links = p
            .record
            .lock()
            .await
            .host_config
            .links
            .clone()
            .unwrap_or_default();
        let child = links
            .iter()
            .filter_map(|l| super::links::parse(l).ok())
            .find(|(_, a)| a == alias)
            .map(|(n, _)| n)
            .ok_or_else(no_such)?;
        self.get(&child).map_err(|_| no_such())
    }
}
