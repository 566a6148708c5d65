//! `--cache-from IMAGE`: a step missing from the local cache is served from an image whose
//! history continues the current one with this very step, as the classic builder does for
//! pulled images. The step's image is remade from the parent plus the source's next layer
//! (shared, not copied), so later builds find it in the local cache too.

use super::{Builder, StageState};
use berth_image::ContainerConfig;
use berth_image::Image;

/// Whether `src` continues `parent` with a step of `created_by`: `Some(adds a layer)`.
fn continues(parent: Option<&Image>, src: &Image, created_by: &str) -> Option<bool> {
    let (ph, pl): (&[_], &[String]) = match parent {
        Some(p) => (&p.history, &p.diff_ids),
        None => (&[], &[]),
    };
    if src.history.len() <= ph.len() || src.diff_ids.len() < pl.len() {
        return None;
    }
    let same_past = src.history[..ph.len()]
        .iter()
        .zip(ph)
        .all(|(a, b)| a.created_by == b.created_by && a.empty_layer == b.empty_layer)
        && src.diff_ids[..pl.len()] == *pl;
    let next = &src.history[ph.len()];
    if !same_past || next.created_by != created_by {
        return None;
    }
    let adds = !next.empty_layer;
    (!adds || src.diff_ids.len() > pl.len()).then_some(adds)
}

impl Builder {
    /// Tries the `--cache-from` images for this step; true (state moved on) on a hit.
    pub(super) fn cache_source_hit(
        &mut self,
        st: &mut StageState,
        key: &str,
        created_by: &str,
        cfg: &ContainerConfig,
    ) -> bool {
        if self.opts.cache_from.is_empty() {
            return false;
        }
        let store = self.engine.images.store().clone();
        let parent = if st.image.is_empty() {
            None
        } else {
            match store.get(&st.image) {
                Ok(p) => Some(p),
                Err(_) => return false,
            }
        };
        for name in &self.opts.cache_from {
            // A cache source that is not there is skipped, as docker does.
            let Ok(src) = store.get(name) else {
                continue;
            };
            let Some(adds) = continues(parent.as_ref(), &src, created_by) else {
                continue;
            };
            match store.commit_from_source(&st.image, &src.id, created_by, cfg, adds) {
                Ok(id) => {
                    self.say(" ---> Using cache\n");
                    self.say_id(&id);
                    st.image = id.clone();
                    st.cfg = cfg.clone();
                    self.remember(key.to_string(), &id);
                    return true;
                }
                Err(e) => tracing::debug!(source = %name, error = %e, "cache-from step not reused"),
            }
        }
        false
    }
}
