//! The builder's side of `RUN --mount` (the mounts themselves are in [`crate::run_mounts`]):
//! expanding and parsing the specs with the line number, the part of the step's cache key
//! they add (the spec, the content of a bound context path, the id of a `from=` image;
//! never a secret's or a cache mount's content), and mounting `from=` sources for the RUN.

use super::{Builder, StageState};
use crate::copy;
use crate::error::{BuildError, Result};
use crate::instructions::{Instruction, Parsed};
use crate::run_mounts::{self, Active, Kind, RunMount, Sources};
use berth_image::ImageView;

#[derive(Default)]
pub(super) struct StepMounts {
    mounts: Vec<RunMount>,
    /// Per mount: the image id of its `from=` stage or image.
    from_images: Vec<Option<String>>,
    pub(super) key: String,
}

/// The mounts while the RUN runs; unmounts `from=` sources when dropped.
pub(super) struct Activated {
    active: Active,
    /// Views of the `from=` images, each in its scratch dir (dropped after the view).
    images: Vec<(ImageView, tempfile::TempDir)>,
}

impl std::ops::Deref for Activated {
    type Target = Active;
    fn deref(&self) -> &Active {
        &self.active
    }
}

impl Drop for Activated {
    fn drop(&mut self) {
        for (view, guard) in self.images.drain(..) {
            drop(view);
            drop(guard);
        }
    }
}

impl Builder {
    pub(super) async fn run_mounts(
        &self,
        parsed: &Parsed,
        st: &StageState,
        ins: &Instruction,
        specs: &[String],
    ) -> Result<StepMounts> {
        let mut out = StepMounts::default();
        for spec in specs {
            let expanded = self.word(st, ins, spec)?;
            let m = run_mounts::parse(&expanded).map_err(|e| match e {
                BuildError::Invalid(msg) => BuildError::parse(ins.line, msg),
                e => e,
            })?;
            let mut part = format!("\0mount\0{expanded}");
            let from = match &m.from {
                Some(f) => Some(match parsed.stage_index(f) {
                    Some(i) => self
                        .done
                        .get(i)
                        .and_then(|d| d.as_ref())
                        .map(|d| d.image.clone())
                        .ok_or_else(|| {
                            BuildError::parse(
                                ins.line,
                                format!("invalid from flag value {f}: refers to a stage that is not built before this one"),
                            )
                        })?,
                    None => self.engine.images.get(f).await.map(|i| i.id).map_err(|e| {
                        BuildError::parse(ins.line, format!("invalid from flag value {f}: {e}"))
                    })?,
                }),
                None => None,
            };
            match (&from, m.kind) {
                (Some(id), _) => part.push_str(&format!("\0from\0{id}")),
                (None, Kind::Bind) => {
                    // What the RUN reads from the context is part of its input.
                    let src = if m.source.is_empty() {
                        ".".to_string()
                    } else {
                        m.source.clone()
                    };
                    let ctx = berth_inroot::Root::at(&self.context)
                        .map_err(|e| BuildError::internal("opening the context", e))?;
                    let found = copy::resolve(&ctx, &[src], None, "RUN --mount")
                        .map_err(|e| BuildError::parse(ins.line, e.to_string()))?;
                    part.push_str(&copy::digest(&ctx, &found, None)?);
                }
                _ => {}
            }
            out.key.push_str(&part);
            out.mounts.push(m);
            out.from_images.push(from);
        }
        Ok(out)
    }

    pub(super) async fn activate_mounts(
        &self,
        st: &StageState,
        m: &StepMounts,
    ) -> Result<Activated> {
        let mut images = Vec::new();
        let mut roots = Vec::new();
        for from in &m.from_images {
            match from.as_deref().filter(|i| !i.is_empty()) {
                Some(id) => {
                    let (view, guard) = self.mount_image(id).await?;
                    roots.push(Some(view.root().to_path_buf()));
                    images.push((view, guard));
                }
                None => roots.push(None),
            }
        }
        // Unmounts what is mounted so far if preparing fails.
        let mut act = Activated {
            active: Active::default(),
            images,
        };
        let src = Sources {
            context: &self.context,
            data_root: &self.engine.cfg.data_root,
            secrets: &self.opts.secrets,
            workdir: &st.cfg.working_dir,
            from_roots: &roots,
            id_map: self.engine.cfg.id_map.as_ref(),
        };
        act.active = run_mounts::prepare(&m.mounts, &src).await?;
        Ok(act)
    }

    /// Drops the mount points the runtime created from the RUN container's changes.
    pub(super) async fn remove_mount_stubs(&self, st: &StageState, cid: &str, targets: &[String]) {
        if targets.is_empty() {
            return;
        }
        let lower = match self.engine.images.files(&st.image).await {
            Ok(files) => files,
            Err(_) => berth_image::ImageFiles::over(Vec::new()),
        };
        let upper = match self.engine.container_changes(cid) {
            Ok(root) => root,
            Err(e) => {
                tracing::debug!(id = %cid, error = %e, "opening a RUN container's changes");
                return;
            }
        };
        let targets = targets.to_vec();
        let _ =
            tokio::task::spawn_blocking(move || run_mounts::remove_stubs(&upper, &lower, &targets))
                .await;
    }
}
