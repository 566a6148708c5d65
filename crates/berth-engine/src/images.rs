//! The engine's view of the image store: async wrappers over `berth_image::ImageStore`
//! (a synchronous library) and the mapping of its errors to API errors.

use crate::error::{EngineError, Result};
pub use berth_image::{DeleteItem, HistoryItem, Image, Loaded};
use berth_image::{ImageError, ImageStore};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Clone)]
pub struct Images {
    store: Arc<ImageStore>,
}

pub(crate) fn map_err(e: ImageError) -> EngineError {
    let msg = e.to_string();
    match e.status_code() {
        404 => EngineError::NotFound(msg),
        409 => EngineError::Conflict(msg),
        400 => EngineError::InvalidParameter(msg),
        _ => EngineError::Internal(msg),
    }
}

impl Images {
    pub fn open(data_root: &Path) -> Result<Images> {
        Ok(Images {
            store: Arc::new(ImageStore::open(data_root).map_err(map_err)?),
        })
    }

    /// The synchronous store, for engine code that drives it from its own blocking task.
    pub(crate) fn store(&self) -> &Arc<ImageStore> {
        &self.store
    }

    /// Runs a store call on the blocking pool.
    async fn blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&ImageStore) -> Result<T, ImageError> + Send + 'static,
    ) -> Result<T> {
        let store = self.store.clone();
        tokio::task::spawn_blocking(move || f(&store))
            .await
            .map_err(|e| EngineError::internal("image task", e))?
            .map_err(map_err)
    }

    pub async fn get(&self, name: &str) -> Result<Image> {
        let name = name.to_string();
        self.blocking(move |s| s.get(&name)).await
    }

    pub async fn list(&self) -> Result<Vec<Image>> {
        self.blocking(|s| s.list()).await
    }

    pub async fn layer_dirs(&self, image: &Image) -> Result<Vec<PathBuf>> {
        let image = image.clone();
        self.blocking(move |s| s.layer_dirs(&image)).await
    }

    pub async fn tag(&self, source: &str, target: &str) -> Result<()> {
        let (s, t) = (source.to_string(), target.to_string());
        self.blocking(move |st| st.tag(&s, &t)).await
    }

    pub async fn history(&self, name: &str) -> Result<Vec<HistoryItem>> {
        let name = name.to_string();
        self.blocking(move |s| s.history(&name)).await
    }

    /// `users` lists the containers using each image id: (container id, running).
    pub async fn remove(
        &self,
        name: &str,
        force: bool,
        users: std::collections::HashMap<String, Vec<(String, bool)>>,
    ) -> Result<Vec<DeleteItem>> {
        let name = name.to_string();
        self.blocking(move |s| {
            s.remove(&name, force, &|id: &str| {
                users.get(id).cloned().unwrap_or_default()
            })
        })
        .await
    }

    pub async fn prune(
        &self,
        all: bool,
        in_use: std::collections::HashSet<String>,
    ) -> Result<(Vec<DeleteItem>, u64)> {
        self.blocking(move |s| s.prune(all, &|id: &str| in_use.contains(id)))
            .await
    }

    pub async fn load(&self, r: impl Read + Send + 'static) -> Result<Vec<Loaded>> {
        self.blocking(move |s| s.load(r)).await
    }

    pub async fn save(&self, names: Vec<String>, w: impl Write + Send + 'static) -> Result<()> {
        self.blocking(move |s| s.save(&names, w)).await
    }

    pub async fn import(
        &self,
        r: impl Read + Send + 'static,
        reference: Option<String>,
        changes: Vec<String>,
        message: String,
    ) -> Result<String> {
        self.blocking(move |s| s.import(r, reference.as_deref(), &changes, &message))
            .await
    }

    /// Checks names before a save starts streaming, so a bad name is a clean 404.
    pub async fn check_exist(&self, names: &[String]) -> Result<()> {
        for n in names {
            self.get(n).await?;
        }
        Ok(())
    }
}
