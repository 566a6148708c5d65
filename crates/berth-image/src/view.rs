//! A writable view of an image for a client outside the engine's container path (the
//! builder): an overlay mount of the image's layers over a fresh upper dir in a scratch
//! directory the client owns, or the bare upper dir for an image without layers (`FROM
//! scratch`). What is written through [`ImageView::root`] lands in the upper dir, which
//! [`ImageView::into_changes`] hands back for [`crate::ImageStore::commit`]; a view used
//! only for reading (COPY --from, RUN --mount from=) is dropped, which unmounts it.
//! Made by [`crate::ImageStore::view`]; the client never sees the store's layer paths.

use crate::error::{ImageError, IoContext};
use crate::snapshot;
use std::path::{Path, PathBuf};

pub struct ImageView {
    dir: PathBuf,
    root: PathBuf,
    mounted: bool,
}

impl ImageView {
    /// Mounts `layers` (lowest first) over `dir/upper`; none: the bare upper dir.
    pub(crate) fn mount(layers: &[PathBuf], dir: &Path) -> Result<ImageView, ImageError> {
        if layers.is_empty() {
            let upper = snapshot::upper_dir(dir);
            std::fs::create_dir_all(&upper).ctx(|| format!("creating {}", upper.display()))?;
            return Ok(ImageView {
                dir: dir.to_path_buf(),
                root: upper,
                mounted: false,
            });
        }
        let root = snapshot::mount_rootfs(layers, dir)?;
        Ok(ImageView {
            dir: dir.to_path_buf(),
            root,
            mounted: true,
        })
    }

    /// Where the image's files are seen (and written).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// True when overlay was not available and the layers were copied instead: writes are
    /// then not separated from the image's files, so they cannot be committed as a layer.
    pub fn is_copy(&self) -> bool {
        snapshot::is_copied(&self.dir)
    }

    /// Unmounts and returns the upper dir holding what was written through the view.
    pub fn into_changes(mut self) -> Result<PathBuf, ImageError> {
        if self.mounted {
            self.mounted = false;
            snapshot::unmount_rootfs(&self.dir)?;
        }
        Ok(snapshot::upper_dir(&self.dir))
    }
}

impl Drop for ImageView {
    fn drop(&mut self) {
        if self.mounted {
            let _ = snapshot::unmount_rootfs(&self.dir);
        }
    }
}
