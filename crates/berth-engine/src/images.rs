//! The engine's view of the image store: async wrappers over `berth_image::ImageStore`
//! (a synchronous library) and the mapping of its errors to API errors.

use crate::error::{EngineError, Result};
pub use berth_image::{DeleteItem, HistoryItem, Image, Loaded};
use berth_image::{ImageError, ImageStore};
use std::collections::{BTreeMap, HashSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

#[derive(Clone)]
pub struct Images {
    store: Arc<ImageStore>,
    events: crate::events::Events,
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

/// A `--platform` value, refused with containerd's message (400) when malformed.
fn parse_platform(p: &str) -> Result<(String, String, Option<String>)> {
    berth_registry::parse_platform(p).map_err(|e| EngineError::InvalidParameter(e.to_string()))
}

impl Images {
    pub fn open(
        data_root: &Path,
        id_map: Option<berth_api::idmap::IdMappings>,
        events: crate::events::Events,
    ) -> Result<Images> {
        Ok(Images {
            store: Arc::new(
                ImageStore::open(data_root)
                    .map_err(map_err)?
                    .with_id_map(id_map),
            ),
            events,
        })
    }

    /// The synchronous store, for engine code that drives it from its own blocking task.
    pub fn store(&self) -> &Arc<ImageStore> {
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

    /// The files of image `name`, read without mounting it (`berth_image::ImageFiles`).
    pub async fn files(&self, name: &str) -> Result<berth_image::ImageFiles> {
        let name = name.to_string();
        self.blocking(move |s| s.files(&name)).await
    }

    /// A writable view of image `name` (`None`: scratch) mounted in the caller's scratch
    /// directory `dir` (`berth_image::ImageView`).
    pub async fn view(&self, name: Option<&str>, dir: PathBuf) -> Result<berth_image::ImageView> {
        let name = name.map(str::to_string);
        self.blocking(move |s| s.view(name.as_deref(), &dir)).await
    }

    pub async fn tag(&self, source: &str, target: &str) -> Result<()> {
        let (s, t) = (source.to_string(), target.to_string());
        self.blocking(move |st| st.tag(&s, &t)).await?;
        if let Ok(img) = self.get(source).await {
            let name = berth_image::Reference::parse_normalized(target)
                .map_or_else(|_| target.to_string(), |r| r.familiar_string());
            self.events
                .image("tag", &img.id, &name, img.config.labels());
        }
        Ok(())
    }

    pub async fn history(&self, name: &str) -> Result<Vec<HistoryItem>> {
        let name = name.to_string();
        self.blocking(move |s| s.history(&name)).await
    }

    /// `users` lists the containers using each image id: (container id, running); `prune`:
    /// the untagged parents go too (moby's default, `noprune` turns it off).
    pub async fn remove(
        &self,
        name: &str,
        force: bool,
        prune: bool,
        users: std::collections::HashMap<String, Vec<(String, bool)>>,
    ) -> Result<Vec<DeleteItem>> {
        // The untag events carry the image's labels, read before it goes.
        let (id, labels) = self
            .get(name)
            .await
            .map(|i| (i.id.clone(), i.config.labels().clone()))
            .unwrap_or_default();
        let images = self.image_ids().await;
        let name = name.to_string();
        let items = self
            .blocking(move |s| {
                s.remove(&name, force, prune, &|id: &str| {
                    users.get(id).cloned().unwrap_or_default()
                })
            })
            .await?;
        self.removal_events(&id, &labels, &images, &items);
        Ok(items)
    }

    /// The ids of every stored image: a `Deleted` item that is not one of them is a layer,
    /// which `rmi` lists but moby logs no event for.
    async fn image_ids(&self) -> HashSet<String> {
        self.list()
            .await
            .map(|l| l.into_iter().map(|i| i.id).collect())
            .unwrap_or_default()
    }

    /// untag/delete events, as moby names them (actor and name: the image id); an untag
    /// carries the image's labels, a delete none (moby looks the image up once it is gone);
    /// deleted layers (not in `images`) have no event.
    fn removal_events(
        &self,
        id: &str,
        labels: &BTreeMap<String, String>,
        images: &HashSet<String>,
        items: &[DeleteItem],
    ) {
        for it in items {
            match it {
                DeleteItem::Untagged(_) if !id.is_empty() => {
                    self.events.image("untag", id, id, labels)
                }
                DeleteItem::Deleted(d) if images.contains(d) => {
                    self.events.image("delete", d, d, &BTreeMap::new())
                }
                DeleteItem::Untagged(_) | DeleteItem::Deleted(_) => {}
            }
        }
    }

    /// An image event named `name` with the labels of image `id` when it (still) exists,
    /// as moby's LogImageEvent.
    pub async fn event(&self, action: &str, id: &str, name: &str) {
        let labels = match self.get(id).await {
            Ok(img) => img.config.labels().clone(),
            Err(_) => BTreeMap::new(),
        };
        self.events.image(action, id, name, &labels);
    }

    pub async fn prune(
        &self,
        all: bool,
        in_use: std::collections::HashSet<String>,
    ) -> Result<(Vec<DeleteItem>, u64)> {
        let images = self.image_ids().await;
        let (items, size) = self
            .blocking(move |s| s.prune(all, &|id: &str| in_use.contains(id)))
            .await?;
        for it in &items {
            match it {
                DeleteItem::Deleted(d) if images.contains(d) => {
                    self.events.image("delete", d, d, &BTreeMap::new())
                }
                _ => {}
            }
        }
        Ok((items, size))
    }

    pub async fn load(&self, r: impl Read + Send + 'static) -> Result<Vec<Loaded>> {
        self.load_with_progress(r, None, None).await
    }

    /// `docker load`: with `progress`, each new layer's "Loading layer" bar as moby sends
    /// it (`quiet=0`), named by its short diff id; with `platform` (`os/arch[/variant]`),
    /// only the archive's images of that platform.
    pub async fn load_with_progress(
        &self,
        r: impl Read + Send + 'static,
        progress: Option<berth_registry::Progress>,
        platform: Option<String>,
    ) -> Result<Vec<Loaded>> {
        let want = platform.as_deref().map(parse_platform).transpose()?;
        let loaded = self
            .blocking(move |s| {
                let keep = |os: &str, arch: &str, variant: Option<&str>| {
                    want.as_ref()
                        .is_some_and(|w| berth_registry::platform_matches(w, (os, arch, variant)))
                };
                let filter = platform
                    .as_deref()
                    .map(|p| (p, &keep as &berth_image::store::PlatformFilter<'_>));
                s.load_platform(r, filter, &mut |diff, cur, total| {
                    if let Some(p) = &progress {
                        let id = berth_registry::progress::short(diff);
                        p(berth_registry::progress::bar(
                            &id,
                            "Loading layer",
                            cur,
                            total,
                        ));
                    }
                })
            })
            .await?;
        // moby's tarexporter: one `load` per image of the archive, named by its id
        // (however many tags it brought).
        let mut seen = std::collections::HashSet::new();
        for l in &loaded {
            let name = match l {
                Loaded::Tagged(n) | Loaded::Id(n) => n.clone(),
            };
            if let Ok(img) = self.get(&name).await {
                if seen.insert(img.id.clone()) {
                    self.events
                        .image("load", &img.id, &img.id, img.config.labels());
                }
            }
        }
        Ok(loaded)
    }

    pub async fn save(&self, names: Vec<String>, w: impl Write + Send + 'static) -> Result<()> {
        let named = names.clone();
        self.blocking(move |s| s.save(&names, w)).await?;
        // moby's tarexporter: one `save` per image written, named by its id.
        let mut seen = std::collections::HashSet::new();
        for n in &named {
            if let Ok(img) = self.get(n).await {
                if seen.insert(img.id.clone()) {
                    self.events
                        .image("save", &img.id, &img.id, img.config.labels());
                }
            }
        }
        Ok(())
    }

    pub async fn import(
        &self,
        r: impl Read + Send + 'static,
        reference: Option<String>,
        changes: Vec<String>,
        message: String,
        platform: Option<&str>,
    ) -> Result<String> {
        let platform = match platform.filter(|p| !p.is_empty()) {
            Some(p) => parse_platform(p)?,
            None => berth_registry::host_platform(),
        };
        let tag = reference.clone();
        let id = self
            .blocking(move |s| {
                let p = berth_image::ImportPlatform {
                    os: &platform.0,
                    architecture: &platform.1,
                    variant: platform.2.as_deref(),
                };
                s.import(r, reference.as_deref(), &changes, &message, p)
            })
            .await?;
        // moby's ImportImage tags the new image (a `tag` event) before logging `import`.
        if let Some(t) = tag.filter(|t| !t.is_empty()) {
            let name = berth_image::Reference::parse_tagged(&t)
                .map_or_else(|_| t.clone(), |r| r.familiar_string());
            self.event("tag", &id, &name).await;
        }
        self.event("import", &id, &id).await;
        Ok(id)
    }

    /// `create --platform`: the image must be of that platform (moby's 404 otherwise).
    pub async fn check_platform(&self, name: &str, platform: &str) -> Result<()> {
        self.check_platform_as(name, name, platform).await
    }

    /// [`Self::check_platform`], naming the image `shown` in the error (`push` names the
    /// full reference, as moby's PushImage asks GetImage with `ref.String()`).
    pub async fn check_platform_as(&self, name: &str, shown: &str, platform: &str) -> Result<()> {
        let want = parse_platform(platform)?;
        let img = self.get(name).await?;
        let name = shown;
        if berth_registry::platform_matches(
            &want,
            (&img.os, &img.architecture, img.variant.as_deref()),
        ) {
            return Ok(());
        }
        let fmt = |os: &str, arch: &str, v: Option<&str>| match v {
            Some(v) if !v.is_empty() => format!("{os}/{arch}/{v}"),
            _ => format!("{os}/{arch}"),
        };
        Err(EngineError::NotFound(format!(
            "image with reference {name} was found but does not match the specified platform: wanted {}, actual: {}",
            fmt(&want.0, &want.1, want.2.as_deref()),
            fmt(&img.os, &img.architecture, img.variant.as_deref())
        )))
    }

    /// Checks names before a save starts streaming, so a bad name is a clean 404.
    pub async fn check_exist(&self, names: &[String]) -> Result<()> {
        for n in names {
            self.get(n).await?;
        }
        Ok(())
    }
}
