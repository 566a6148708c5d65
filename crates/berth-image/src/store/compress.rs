//! Gzip copies of uncompressed layer blobs, for a push: docker sends every layer compressed,
//! and so do we. The copy is made once per diff id and kept (blob in the content store, the
//! diff id → digest mapping under `content/gzip/`), so every later push of the layer sends
//! the same bytes under the same digest (and the registry's HEAD skips it).
//!
//! Also the repositories a layer is known to be in (from the RepoDigests of the images that
//! hold it), for a cross-repository blob mount.

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::{hex_of, rand_suffix, ImageStore};
use crate::error::{ImageError, IoContext};
use crate::reference::Reference;

/// The media type of a pushed gzip layer.
pub const MT_OCI_LAYER_GZIP: &str = "application/vnd.oci.image.layer.v1.tar+gzip";

/// A layer blob ready to push.
#[derive(Debug, Clone)]
pub struct CompressedLayer {
    pub digest: String,
    pub size: u64,
    pub path: PathBuf,
}

/// Hashes and counts what goes through it.
struct HashWriter<W> {
    inner: W,
    hasher: Sha256,
    count: u64,
}

impl<W: Write> Write for HashWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

impl ImageStore {
    fn gzip_map_path(&self, diff_id: &str) -> PathBuf {
        self.root.join("content/gzip").join(hex_of(diff_id))
    }

    /// The cached gzip copy of the layer `diff_id`, if its mapping and blob are both there.
    fn cached_gzip(&self, diff_id: &str) -> Option<CompressedLayer> {
        let digest = fs::read_to_string(self.gzip_map_path(diff_id)).ok()?;
        let digest = digest.trim().to_string();
        let path = self.blob_path(&digest);
        let size = fs::metadata(&path).ok()?.len();
        Some(CompressedLayer { digest, size, path })
    }

    /// The digest of the gzip copy of the layer `diff_id` that a push sent, if it is still
    /// stored (a pull of that digest finds the layer: [`ImageStore::existing_layer`]).
    pub(super) fn pushed_blob(&self, diff_id: &str) -> Option<String> {
        self.cached_gzip(diff_id).map(|c| c.digest)
    }

    /// The gzip blob of an uncompressed layer blob at `src` (diff id `diff_id`): the cached
    /// one, or made now (level 1: on a fast link the compressor is the bottleneck, and
    /// random-ish data does not shrink at higher levels anyway).
    pub fn gzip_layer(&self, diff_id: &str, src: &Path) -> Result<CompressedLayer, ImageError> {
        if let Some(c) = self.cached_gzip(diff_id) {
            return Ok(c);
        }
        let tmp = self
            .root
            .join("tmp")
            .join(format!("gzip-{}", rand_suffix()));
        let result = (|| {
            let mut input = BufReader::with_capacity(
                256 * 1024,
                File::open(src).ctx(|| format!("opening layer blob {}", src.display()))?,
            );
            let out = File::create(&tmp).ctx(|| format!("creating {}", tmp.display()))?;
            let hw = HashWriter {
                inner: BufWriter::with_capacity(256 * 1024, out),
                hasher: Sha256::new(),
                count: 0,
            };
            // No file name and mtime 0 in the header: the same input gives the same bytes.
            let mut gz = flate2::GzBuilder::new().write(hw, flate2::Compression::new(1));
            io::copy(&mut input, &mut gz).ctx(|| format!("compressing layer {diff_id}"))?;
            let hw = gz.finish().ctx(|| format!("compressing layer {diff_id}"))?;
            let digest = format!("sha256:{}", hex::encode(hw.hasher.finalize()));
            let size = hw.count;
            hw.inner
                .into_inner()
                .map_err(|e| ImageError::Io {
                    context: "writing gzip blob".to_string(),
                    source: e.into_error(),
                })?
                .sync_all()
                .ctx(|| "syncing gzip blob".to_string())?;
            let path = self.blob_path(&digest);
            fs::rename(&tmp, &path).ctx(|| format!("storing blob {digest}"))?;
            let map = self.gzip_map_path(diff_id);
            let dir = self.root.join("content/gzip");
            fs::create_dir_all(&dir).ctx(|| format!("creating {}", dir.display()))?;
            let map_tmp = map.with_extension(format!("tmp{}", rand_suffix()));
            fs::write(&map_tmp, &digest).ctx(|| format!("writing {}", map_tmp.display()))?;
            fs::rename(&map_tmp, &map).ctx(|| format!("writing {}", map.display()))?;
            tracing::debug!(%diff_id, %digest, size, "layer compressed for push");
            Ok(CompressedLayer { digest, size, path })
        })();
        if result.is_err() {
            let _ = fs::remove_file(&tmp);
        }
        result
    }

    /// Drops the gzip copy of a layer no image holds any more (called by image removal).
    pub(super) fn forget_gzip(&self, diff_id: &str) {
        if let Some(c) = self.cached_gzip(diff_id) {
            let _ = fs::remove_file(&c.path);
        }
        let _ = fs::remove_file(self.gzip_map_path(diff_id));
    }

    /// Repositories (`name@digest` references, as RepoDigests) of the images holding the
    /// layer `diff_id`: where a push may mount the blob from.
    pub fn layer_sources(&self, diff_id: &str) -> Vec<Reference> {
        let st = self.lock();
        st.refs
            .iter()
            .filter(|(k, _)| k.contains('@'))
            .filter(|(_, id)| {
                st.images
                    .get(*id)
                    .is_some_and(|r| r.layers.iter().any(|l| l.diff_id == diff_id))
            })
            .filter_map(|(k, _)| Reference::parse_normalized(k).ok())
            .collect()
    }
}
