//! Stream helpers: compression sniffing, hashing readers, and unpacking of `docker save`
//! archives (the outer tar, not layers) into a scratch directory.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, BufRead, BufReader, Read};
use std::path::{Component, Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{ImageError, IoContext};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Compression {
    None,
    Gzip,
    Zstd,
}

impl Compression {
    /// OCI layer media type for a blob with this compression.
    pub fn layer_media_type(self) -> &'static str {
        match self {
            Compression::None => "application/vnd.oci.image.layer.v1.tar",
            Compression::Gzip => "application/vnd.oci.image.layer.v1.tar+gzip",
            Compression::Zstd => "application/vnd.oci.image.layer.v1.tar+zstd",
        }
    }
}

/// Sniffs the magic bytes without consuming them.
pub fn detect<R: BufRead>(r: &mut R) -> io::Result<Compression> {
    let buf = r.fill_buf()?;
    Ok(if buf.starts_with(&[0x1f, 0x8b]) {
        Compression::Gzip
    } else if buf.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        Compression::Zstd
    } else {
        Compression::None
    })
}

/// Wraps `r` in the decompressor its magic bytes call for.
pub fn decompress<'a, R: Read + 'a>(r: R) -> io::Result<(Box<dyn Read + 'a>, Compression)> {
    let mut br = BufReader::new(r);
    let c = detect(&mut br)?;
    let out: Box<dyn Read + 'a> = match c {
        Compression::None => Box::new(br),
        Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(br)),
        Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(br)?),
    };
    Ok((out, c))
}

/// Counts and sha256-hashes everything read through it.
pub struct HashReader<R> {
    inner: R,
    hasher: Sha256,
    count: u64,
}

impl<R: Read> HashReader<R> {
    pub fn new(inner: R) -> Self {
        HashReader {
            inner,
            hasher: Sha256::new(),
            count: 0,
        }
    }
    /// Reads the rest of the stream (tar padding after the end blocks counts too).
    pub fn drain(&mut self) -> io::Result<()> {
        io::copy(self, &mut io::sink()).map(|_| ())
    }
    /// `sha256:<hex>`, byte count and the wrapped reader.
    pub fn finish_with_inner(self) -> (String, u64, R) {
        (
            format!("sha256:{}", hex::encode(self.hasher.finalize())),
            self.count,
            self.inner,
        )
    }
    /// `sha256:<hex>` and byte count.
    pub fn finish(self) -> (String, u64) {
        (
            format!("sha256:{}", hex::encode(self.hasher.finalize())),
            self.count,
        )
    }
}

impl<R: Read> Read for HashReader<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

pub fn sha256_hex(data: &[u8]) -> String {
    hex::encode(Sha256::digest(data))
}

/// Normalises an archive member name to a relative path inside the scratch dir.
fn clean_rel(name: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for c in name.components() {
        match c {
            Component::Normal(p) => out.push(p),
            Component::CurDir | Component::RootDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

/// The contents of a `docker save` archive unpacked into a scratch directory. Only regular
/// files and directories are written; symlinks (docker writes `<id>/layer.tar` links to
/// shared layers) are remembered and resolved lexically inside the archive.
pub struct SaveArchive {
    root: PathBuf,
    links: HashMap<PathBuf, PathBuf>,
}

/// A tar read error as moby 24+ words it: a short archive is "unexpected EOF" (never the
/// tar crate's own wording); anything else keeps `what` and the cause.
pub(crate) fn tar_read_error(what: &str, e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::UnexpectedEof
        || e.to_string().contains("failed to read entire block")
    {
        "unexpected EOF".to_string()
    } else {
        format!("{what}: {e}")
    }
}

impl SaveArchive {
    pub fn unpack<R: Read>(r: R, root: &Path) -> Result<SaveArchive, ImageError> {
        let (plain, _) = decompress(r).ctx(|| "reading archive".to_string())?;
        let mut ar = tar::Archive::new(plain);
        let mut links = HashMap::new();
        let entries = ar
            .entries()
            .map_err(|e| ImageError::InvalidArchive(tar_read_error("invalid tar archive", &e)))?;
        for entry in entries {
            let mut entry = entry.map_err(|e| {
                ImageError::InvalidArchive(tar_read_error("invalid tar archive", &e))
            })?;
            let raw = entry
                .path()
                .map_err(|e| ImageError::InvalidArchive(format!("invalid tar entry: {e}")))?
                .into_owned();
            let Some(rel) = clean_rel(&raw) else {
                return Err(ImageError::InvalidArchive(format!(
                    "invalid archive entry {}: path escapes the archive",
                    raw.display()
                )));
            };
            if rel.as_os_str().is_empty() {
                continue;
            }
            let dest = root.join(&rel);
            match entry.header().entry_type() {
                tar::EntryType::Directory => {
                    fs::create_dir_all(&dest).ctx(|| format!("creating {}", dest.display()))?;
                }
                tar::EntryType::Regular | tar::EntryType::Continuous => {
                    if let Some(p) = dest.parent() {
                        fs::create_dir_all(p).ctx(|| format!("creating {}", p.display()))?;
                    }
                    let want = entry.size();
                    let mut f =
                        File::create(&dest).ctx(|| format!("creating {}", dest.display()))?;
                    let n = io::copy(&mut entry, &mut f).map_err(|e| {
                        ImageError::InvalidArchive(format!(
                            "error reading {} from archive: {e}",
                            rel.display()
                        ))
                    })?;
                    if n != want {
                        return Err(ImageError::InvalidArchive(format!(
                            "unexpected EOF: archive truncated in {}",
                            rel.display()
                        )));
                    }
                }
                tar::EntryType::Symlink | tar::EntryType::Link => {
                    let target = entry
                        .link_name()
                        .map_err(|e| ImageError::InvalidArchive(format!("invalid link: {e}")))?
                        .map(|t| t.into_owned())
                        .unwrap_or_default();
                    let resolved = if entry.header().entry_type() == tar::EntryType::Symlink {
                        rel.parent().unwrap_or(Path::new("")).join(target)
                    } else {
                        target
                    };
                    links.insert(rel, resolved);
                }
                _ => {}
            }
        }
        Ok(SaveArchive {
            root: root.to_path_buf(),
            links,
        })
    }

    /// Resolves an archive-relative name (following remembered links) to a file on disk.
    pub fn path(&self, name: &str) -> Result<PathBuf, ImageError> {
        let mut rel = clean_rel(Path::new(name)).ok_or_else(|| {
            ImageError::InvalidArchive(format!("invalid path in manifest: {name}"))
        })?;
        for _ in 0..16 {
            match self.links.get(&rel) {
                Some(t) => {
                    rel = clean_rel(t).ok_or_else(|| {
                        ImageError::InvalidArchive(format!("invalid link in archive: {name}"))
                    })?;
                }
                None => break,
            }
        }
        let p = self.root.join(&rel);
        if p.is_file() {
            Ok(p)
        } else {
            Err(ImageError::InvalidArchive(format!(
                "invalid archive: {name} is missing"
            )))
        }
    }

    pub fn exists(&self, name: &str) -> bool {
        self.path(name).is_ok()
    }

    pub fn read(&self, name: &str) -> Result<Vec<u8>, ImageError> {
        let p = self.path(name)?;
        fs::read(&p).ctx(|| format!("reading {name}"))
    }
}
