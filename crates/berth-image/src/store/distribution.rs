//! What the registry client needs from the store: layers ingested from a stream (blob digest
//! and diff id verified before anything is installed), pulled images committed with their
//! repo digest, and the parts of a local image for a push.
//!
//! A layer streams once: the blob bytes are hashed and written to a temp file while they are
//! decompressed, hashed again and unpacked into a staging dir under `layers/.tmp-*`. Only when
//! both digests match is the staging dir renamed into place and the blob stored; anything
//! left by an interrupted pull is a temp name that `ImageStore::open` removes.

use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::PathBuf;

use super::{chain_id, rand_suffix, ImageRecord, ImageStore, LayerRef};
use crate::archive::{self, HashReader};
use crate::error::{ImageError, IoContext};
use crate::reference::Reference;
use crate::unpack;

/// A layer as stored after a pull (the image record keeps it).
#[derive(Debug, Clone)]
pub struct IngestedLayer {
    pub diff_id: String,
    pub chain_id: String,
    /// Digest of the blob as received.
    pub blob: String,
    pub media_type: String,
}

/// A layer of a local image, as a push sends it.
#[derive(Debug, Clone)]
pub struct PushLayer {
    pub diff_id: String,
    /// Digest of the stored blob.
    pub digest: String,
    pub media_type: String,
    pub size: u64,
    pub path: PathBuf,
}

/// A local image, as a push sends it.
#[derive(Debug, Clone)]
pub struct PushImage {
    pub id: String,
    pub config: Vec<u8>,
    pub layers: Vec<PushLayer>,
}

/// Writes everything read through it to a file.
struct Tee<R> {
    inner: R,
    out: BufWriter<File>,
    progress: Box<dyn FnMut(u64) + Send>,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.out.write_all(&buf[..n])?;
        (self.progress)(n as u64);
        Ok(n)
    }
}

/// The chain ids of a config's diff ids, in order.
pub fn chain_ids(diff_ids: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(diff_ids.len());
    for d in diff_ids {
        let c = chain_id(out.last().map(String::as_str), d);
        out.push(c);
    }
    out
}

impl ImageStore {
    /// True when the blob is stored.
    pub fn has_blob(&self, digest: &str) -> bool {
        self.blob_path(digest).is_file()
    }

    /// Reads a stored blob (configs, manifests).
    pub fn read_blob(&self, digest: &str) -> Result<Vec<u8>, ImageError> {
        fs::read(self.blob_path(digest)).ctx(|| format!("reading blob {digest}"))
    }

    /// Stores a small blob (config, manifest) and returns its digest.
    pub fn put_blob(&self, data: &[u8]) -> Result<String, ImageError> {
        self.put_blob_bytes(data)
    }

    /// The stored layer with this chain id whose blob is `blob`, if both are present: a
    /// pull skips it ("Already exists").
    ///
    /// The blob digests the store knows for a layer are moby's "v2 metadata" (compressed
    /// digest ↔ diff id): the blobs of the images holding it (pulled, or stored as loaded),
    /// and the gzip copy a push sent (`content/gzip/<diffid>`, kept with the layer). So a
    /// pull right after a push of the same image finds its layers, as moby's does;
    /// `media_type` (the manifest's) is then what the pulled image records. Stores from
    /// before keep working: the gzip map has been written by every push.
    pub fn existing_layer(
        &self,
        chain: &str,
        blob: &str,
        media_type: &str,
    ) -> Option<IngestedLayer> {
        let meta = self.read_layer_meta(chain)?;
        if !self.has_blob(blob) {
            return None;
        }
        let recorded = {
            let st = self.lock();
            st.images
                .values()
                .flat_map(|r| r.layers.iter())
                .find(|l| l.blob == blob)
                .map(|l| l.media_type.clone())
        };
        let media_type = match recorded {
            Some(mt) => mt,
            None if self.pushed_blob(&meta.diff_id).as_deref() == Some(blob) => {
                media_type.to_string()
            }
            None => return None,
        };
        Some(IngestedLayer {
            diff_id: meta.diff_id,
            chain_id: chain.to_string(),
            blob: blob.to_string(),
            media_type,
        })
    }

    /// Streams one layer blob in: verifies its digest (`blob`) and its uncompressed digest
    /// (`diff_id`), then installs the layer under its chain id and stores the blob.
    /// `progress` is called with the number of blob bytes read so far, per read.
    pub fn ingest_layer(
        &self,
        r: impl Read,
        blob: &str,
        diff_id: &str,
        parent_chain: Option<&str>,
        progress: Box<dyn FnMut(u64) + Send>,
    ) -> Result<IngestedLayer, ImageError> {
        let chain = chain_id(parent_chain, diff_id);
        let dst = self.blob_path(blob);
        let tmp = dst.with_extension(format!("tmp{}", rand_suffix()));
        let result = self.ingest_inner(r, blob, diff_id, &chain, parent_chain, &tmp, progress);
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    #[allow(clippy::too_many_arguments)]
    fn ingest_inner(
        &self,
        r: impl Read,
        blob: &str,
        diff_id: &str,
        chain: &str,
        parent_chain: Option<&str>,
        tmp: &std::path::Path,
        progress: Box<dyn FnMut(u64) + Send>,
    ) -> Result<IngestedLayer, ImageError> {
        let file = File::create(tmp).ctx(|| format!("creating {}", tmp.display()))?;
        let mut blob_reader = HashReader::new(Tee {
            inner: r,
            out: BufWriter::with_capacity(256 * 1024, file),
            progress,
        });
        let stage = tempfile::Builder::new()
            .prefix(".tmp-")
            .tempdir_in(self.root.join("layers"))
            .ctx(|| "creating layer temp dir".to_string())?;
        let unpacked = (|| {
            let (plain, comp) = archive::decompress(&mut blob_reader)
                .map_err(|e| ImageError::InvalidArchive(format!("error reading layer: {e}")))?;
            let mut diff_reader = HashReader::new(plain);
            let diff_dir = stage.path().join("diff");
            fs::create_dir(&diff_dir).ctx(|| "creating diff dir".to_string())?;
            let mut rest =
                unpack::unpack_layer(diff_reader.by_ref(), &diff_dir, self.id_map.as_ref())?;
            io::copy(&mut rest, &mut io::sink())
                .map_err(|e| ImageError::InvalidArchive(format!("error reading layer: {e}")))?;
            Ok::<_, ImageError>((diff_reader.finish().0, comp))
        })();
        // The compressed stream may end after the decompressor stopped reading. After a
        // failed unpack the rest is read too: bytes that do not match their digest are the
        // better explanation of a broken tar.
        let drained = blob_reader.drain();
        let (got_blob, _, tee) = blob_reader.finish_with_inner();
        if drained.is_ok() && got_blob != blob {
            return Err(ImageError::InvalidArchive(format!(
                "filesystem layer verification failed for digest {blob}"
            )));
        }
        let (diff, comp) = unpacked?;
        drained.map_err(|e| ImageError::InvalidArchive(format!("error reading layer: {e}")))?;
        let staged = stage;
        let file = tee.out.into_inner().map_err(|e| ImageError::Io {
            context: "writing blob".to_string(),
            source: e.into_error(),
        })?;
        file.sync_all().ctx(|| "syncing blob".to_string())?;
        if got_blob != blob {
            return Err(ImageError::InvalidArchive(format!(
                "filesystem layer verification failed for digest {blob}"
            )));
        }
        if diff != diff_id {
            return Err(ImageError::InvalidArchive(format!(
                "layer content does not match the image config: expected diff id {diff_id}, got {diff}"
            )));
        }
        if self.read_layer_meta(chain).is_none() {
            self.install_layer(staged, chain, &diff, parent_chain)?;
        }
        let dst = self.blob_path(blob);
        fs::rename(tmp, &dst).ctx(|| format!("storing blob {blob}"))?;
        Ok(IngestedLayer {
            diff_id: diff,
            chain_id: chain.to_string(),
            blob: blob.to_string(),
            media_type: comp.layer_media_type().to_string(),
        })
    }

    /// Commits a pulled image: stores its config, records it, points `tag` (if any) and
    /// `name@manifest_digest` at it. Returns the image id.
    pub fn commit_pulled(
        &self,
        config: &[u8],
        layers: Vec<IngestedLayer>,
        tag: Option<&Reference>,
        repo_digest: &Reference,
    ) -> Result<String, ImageError> {
        let id = self.put_blob_bytes(config)?;
        let rec = ImageRecord {
            id: id.clone(),
            layers: layers
                .into_iter()
                .map(|l| LayerRef {
                    diff_id: l.diff_id,
                    chain_id: l.chain_id,
                    blob: l.blob,
                    media_type: l.media_type,
                })
                .collect(),
            parent: String::new(),
            last_tag_time: String::new(),
        };
        let mut tags: Vec<Reference> = tag.into_iter().cloned().collect();
        tags.push(repo_digest.clone());
        self.commit_image(rec, &tags)?;
        Ok(id)
    }

    /// Points `name@digest` at the image (after a push, as docker records it).
    pub fn add_repo_digest(&self, id: &str, repo_digest: &Reference) -> Result<(), ImageError> {
        let mut st = self.lock();
        if !st.images.contains_key(id) {
            return Err(ImageError::NotFound(format!("No such image: {id}")));
        }
        st.refs.insert(repo_digest.to_string(), id.to_string());
        self.save_refs(&st)
    }

    /// The tags of a repository (`docker push -a`): full references, sorted.
    pub fn repo_tags(&self, repo: &Reference) -> Vec<Reference> {
        let st = self.lock();
        st.refs
            .keys()
            .filter_map(|k| Reference::parse_normalized(k).ok())
            .filter(|r| r.name() == repo.name() && r.tag().is_some() && r.digest().is_none())
            .collect()
    }

    /// The config and layer blobs of a local image, for a push.
    pub fn push_image(&self, name: &str) -> Result<PushImage, ImageError> {
        let rec = {
            let st = self.lock();
            let id = self.resolve(&st, name)?;
            st.images
                .get(&id)
                .cloned()
                .ok_or_else(|| ImageError::NotFound(format!("No such image: {id}")))?
        };
        let config = self.read_blob(&rec.id)?;
        let mut layers = Vec::new();
        for l in &rec.layers {
            let path = self.blob_path(&l.blob);
            let size = fs::metadata(&path)
                .ctx(|| format!("layer blob {} of {}", l.blob, rec.id))?
                .len();
            layers.push(PushLayer {
                diff_id: l.diff_id.clone(),
                digest: l.blob.clone(),
                media_type: l.media_type.clone(),
                size,
                path,
            });
        }
        Ok(PushImage {
            id: rec.id,
            config,
            layers,
        })
    }
}
