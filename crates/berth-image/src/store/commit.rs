//! `docker commit`: a new image made of the container's image and one layer built from its
//! overlay upper dir (whiteouts as `.wh.` entries), as moby's CreateImageFromContainer.

use std::fs::File;
use std::io::BufWriter;
use std::path::Path;

use serde_json::{Map, Value};

use super::{chain_id, go_arch, now_rfc3339_nano, ImageRecord, ImageStore};
use crate::changes::ContainerConfig;
use crate::error::{ImageError, IoContext};
use crate::reference::Reference;
use berth_api::tarfs::{Markers, TarWriter};

/// What a commit is made of.
pub struct CommitRequest<'a> {
    /// The container's image id (`sha256:...`): the new image's parent.
    pub parent: &'a str,
    /// The container's overlay upper dir.
    pub upper: &'a Path,
    /// The new image's `config` (the container's, changes applied).
    pub config: &'a ContainerConfig,
    pub container_id: &'a str,
    pub author: &'a str,
    pub comment: &'a str,
    /// The history entry's `created_by`: the container's command line.
    pub created_by: &'a str,
    /// `repo[:tag]` to tag the image with.
    pub reference: Option<&'a str>,
}

impl ImageStore {
    /// Stores the image and returns its id.
    pub fn commit(&self, req: &CommitRequest<'_>) -> Result<String, ImageError> {
        let tag = match req.reference.filter(|r| !r.is_empty()) {
            Some(r) => {
                let t = Reference::parse_tagged(r)?;
                if t.digest().is_some() {
                    return Err(ImageError::InvalidReference(
                        "refusing to create a tag with a digest reference".to_string(),
                    ));
                }
                Some(t)
            }
            None => None,
        };
        let (parent_rec, parent_cfg) = self.commit_parent(req.parent)?;

        let tmp = self.tempdir("commit-")?;
        let blob = tmp.path().join("layer.tar");
        let entries = {
            let f = File::create(&blob).ctx(|| "creating commit layer".to_string())?;
            let mut tw = TarWriter::new(BufWriter::new(f), Markers::Whiteouts)
                .with_id_map(self.id_map.clone());
            tw.write_tree(req.upper, b"")
                .ctx(|| format!("archiving {}", req.upper.display()))?;
            for line in tw.take_skipped() {
                tracing::error!(container = req.container_id, "{line}");
            }
            let n = tw.entries();
            let w = tw.finish().ctx(|| "writing commit layer".to_string())?;
            w.into_inner()
                .map_err(|e| ImageError::Io {
                    context: "writing commit layer".to_string(),
                    source: e.into_error(),
                })?
                .sync_all()
                .ctx(|| "syncing commit layer".to_string())?;
            n
        };
        let mut layers = parent_rec.layers.clone();
        // Like moby's layer.IsEmpty: an unchanged container adds no layer.
        let empty_layer = entries == 0;
        if !empty_layer {
            let top = layers.last().map(|l| l.chain_id.clone());
            let l = self.ensure_layer(&blob, None, top.as_deref())?;
            debug_assert_eq!(l.chain_id, chain_id(top.as_deref(), &l.diff_id));
            layers.push(l);
        }

        let id = self.finish_commit(req, tag, &parent_rec, &parent_cfg, layers, empty_layer)?;
        tracing::info!(%id, container = req.container_id, "container committed");
        Ok(id)
    }

    /// The parent's record and config (`FROM scratch`: an empty parent).
    fn commit_parent(&self, parent: &str) -> Result<(ImageRecord, Value), ImageError> {
        // An empty parent is `FROM scratch` (the builder's first layer).
        Ok(if parent.is_empty() {
            let rec = ImageRecord {
                id: String::new(),
                layers: Vec::new(),
                parent: String::new(),
                last_tag_time: String::new(),
            };
            (rec, Value::Object(Map::new()))
        } else {
            let rec = {
                let st = self.lock();
                st.images
                    .get(parent)
                    .cloned()
                    .ok_or_else(|| ImageError::NotFound(format!("No such image: {}", parent)))?
            };
            let raw = std::fs::read(self.blob_path(&rec.id))
                .ctx(|| format!("reading config of {}", rec.id))?;
            let cfg: Value = serde_json::from_slice(&raw)
                .map_err(|e| ImageError::Internal(format!("corrupt config of {}: {e}", parent)))?;
            (rec, cfg)
        })
    }

    /// Writes the image config (parent's history plus one entry for `req`) and stores the
    /// image with `layers`.
    fn finish_commit(
        &self,
        req: &CommitRequest<'_>,
        tag: Option<Reference>,
        parent_rec: &ImageRecord,
        parent_cfg: &Value,
        layers: Vec<super::LayerRef>,
        empty_layer: bool,
    ) -> Result<String, ImageError> {
        let created = now_rfc3339_nano();
        let mut history: Vec<Value> = parent_cfg
            .get("history")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut h = Map::new();
        h.insert("created".into(), created.clone().into());
        if !req.author.is_empty() {
            h.insert("author".into(), req.author.into());
        }
        if !req.created_by.is_empty() {
            h.insert("created_by".into(), req.created_by.into());
        }
        if !req.comment.is_empty() {
            h.insert("comment".into(), req.comment.into());
        }
        if empty_layer {
            h.insert("empty_layer".into(), true.into());
        }
        history.push(Value::Object(h));
        let diff_ids: Vec<Value> = layers.iter().map(|l| l.diff_id.clone().into()).collect();
        let s = |k: &str| {
            parent_cfg
                .get(k)
                .and_then(Value::as_str)
                .map(str::to_string)
        };

        // Keys in sorted order (moby's), whether or not serde_json preserves insertion order.
        let mut cfg = Map::new();
        cfg.insert(
            "architecture".into(),
            s("architecture")
                .unwrap_or_else(|| go_arch().to_string())
                .into(),
        );
        if !req.author.is_empty() {
            cfg.insert("author".into(), req.author.into());
        }
        if !req.comment.is_empty() {
            cfg.insert("comment".into(), req.comment.into());
        }
        cfg.insert(
            "config".into(),
            // What an image records of a container config (berth's image configs have
            // never carried the container-only and unknown fields).
            serde_json::to_value(req.config.clone().for_image())
                .map_err(|e| ImageError::Internal(e.to_string()))?,
        );
        cfg.insert("container".into(), req.container_id.into());
        cfg.insert("created".into(), created.into());
        cfg.insert("docker_version".into(), self.docker_version.clone().into());
        cfg.insert("history".into(), Value::Array(history));
        cfg.insert(
            "os".into(),
            s("os").unwrap_or_else(|| "linux".to_string()).into(),
        );
        let mut rootfs = Map::new();
        rootfs.insert("type".into(), "layers".into());
        rootfs.insert("diff_ids".into(), Value::Array(diff_ids));
        cfg.insert("rootfs".into(), Value::Object(rootfs));
        if let Some(v) = s("variant") {
            cfg.insert("variant".into(), v.into());
        }
        let bytes = serde_json::to_vec(&Value::Object(cfg))
            .map_err(|e| ImageError::Internal(format!("encoding config: {e}")))?;
        let id = self.put_blob_bytes(&bytes)?;
        let tags: Vec<Reference> = tag.into_iter().collect();
        self.commit_image(
            ImageRecord {
                id: id.clone(),
                layers,
                parent: parent_rec.id.clone(),
                // moby's commit tags through TagImage.
                last_tag_time: if tags.is_empty() {
                    String::new()
                } else {
                    now_rfc3339_nano()
                },
            },
            &tags,
        )?;
        Ok(id)
    }

    /// A build step served by `--cache-from`: an image made of `parent` plus, unless the
    /// step made no layer, the next layer of `source` (whose layers extend the parent's),
    /// with `created_by` and `config`. No layer is written: the source's is shared.
    pub fn commit_from_source(
        &self,
        parent: &str,
        source: &str,
        created_by: &str,
        config: &ContainerConfig,
        add_layer: bool,
    ) -> Result<String, ImageError> {
        let (parent_rec, parent_cfg) = self.commit_parent(parent)?;
        let mut layers = parent_rec.layers.clone();
        if add_layer {
            let src = {
                let st = self.lock();
                let id = self.resolve(&st, source)?;
                st.images
                    .get(&id)
                    .cloned()
                    .ok_or_else(|| ImageError::NotFound(format!("No such image: {id}")))?
            };
            let next = src.layers.get(layers.len()).cloned().ok_or_else(|| {
                ImageError::Internal(format!(
                    "cache source {source} has no layer {}",
                    layers.len()
                ))
            })?;
            // The source's layer must sit on exactly the parent's chain.
            let top = layers.last().map(|l| l.chain_id.clone());
            if next.chain_id != chain_id(top.as_deref(), &next.diff_id) {
                return Err(ImageError::Internal(format!(
                    "cache source {source} does not extend {parent}"
                )));
            }
            layers.push(next);
        }
        let req = CommitRequest {
            parent,
            upper: Path::new(""),
            config,
            container_id: "",
            author: "",
            comment: "",
            created_by,
            reference: None,
        };
        self.finish_commit(&req, None, &parent_rec, &parent_cfg, layers, !add_layer)
    }
}
