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
                    "Invalid container name ({new_name}), only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed"
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
        let old = std::mem::replace(&mut rec.name, new);
        write_record(&self.dir(&rec.id), &rec)?;
        self.events
            .container(&rec, "rename", &[("oldName", format!("/{old}"))]);
        Ok(())
    }
}
