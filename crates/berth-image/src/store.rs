//! The image store under the daemon data root:
//!
//! ```text
//! content/blobs/sha256/<hex>       configs, layer blobs as received, manifests
//! image/repositories.json          {"docker.io/library/busybox:latest": "sha256:<id>"}
//! image/images/<id-hex>.json       ImageRecord (layers: diff id, chain id, blob, media type)
//! layers/<chain-hex>/diff          unpacked layer; meta.json; link (short name in l/)
//! l/<short>                        -> ../layers/<chain-hex>/diff
//! tmp/                             scratch (loads, imports); emptied on open
//! ```
//!
//! One mutex guards the in-memory reference map and image records; it is held while
//! records are committed and while images are removed, never while layers are unpacked.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::archive::{self, HashReader, SaveArchive};
use crate::changes::{apply_changes, ContainerConfig};
use crate::error::{ImageError, IoContext};
use crate::reference::{parse_any, AnyReference, Reference};
use crate::unpack;

mod commit;
mod compress;
mod config_file;
mod distribution;
mod layout;
pub use commit::CommitRequest;
pub use compress::{CompressedLayer, MT_OCI_LAYER_GZIP};
pub use distribution::{chain_ids, IngestedLayer, PushImage, PushLayer};
use layout::ManifestItem;

/// One `history` entry of the image config.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct HistoryEntry {
    #[serde(default)]
    pub created: String,
    #[serde(default)]
    pub created_by: String,
    #[serde(default)]
    pub author: String,
    #[serde(default)]
    pub comment: String,
    #[serde(default)]
    pub empty_layer: bool,
}

/// The platform `docker import` records (`--platform`, else the host's).
#[derive(Debug, Clone, Copy)]
pub struct ImportPlatform<'a> {
    pub os: &'a str,
    pub architecture: &'a str,
    pub variant: Option<&'a str>,
}

impl ImportPlatform<'static> {
    /// The host's (linux and the architecture Go would name).
    pub fn host() -> ImportPlatform<'static> {
        ImportPlatform {
            os: "linux",
            architecture: go_arch(),
            variant: None,
        }
    }
}

/// Everything `/images/json`, `/images/{name}/json` and `/images/{name}/history` need.
#[derive(Debug, Clone)]
pub struct Image {
    /// `sha256:<hex>` of the config bytes.
    pub id: String,
    /// Familiar form, `busybox:latest`, sorted like docker (by full reference).
    pub repo_tags: Vec<String>,
    /// Familiar form with digest, `busybox@sha256:...`.
    pub repo_digests: Vec<String>,
    pub parent: String,
    pub comment: String,
    /// RFC3339Nano string exactly as in the config.
    pub created: String,
    pub docker_version: String,
    pub author: String,
    pub architecture: String,
    pub os: String,
    pub variant: Option<String>,
    /// Sum of the layers' unpacked sizes (docker's Size).
    pub size: u64,
    /// The config's `config` (Cmd, Entrypoint, Env, ...), typed; default if absent.
    pub config: ContainerConfig,
    /// Why the config's `config` could not be read, if it could not (`config` is then
    /// the default): creating a container or building from the image is refused.
    pub config_error: Option<String>,
    /// The config's `container_config`, empty if absent.
    pub container_config: berth_api::models::LegacyContainerConfig,
    /// The config's `container` (the id of the container a commit or build step made it
    /// from), empty if absent.
    pub container: String,
    /// The config blob exactly as stored (its sha256 is the id).
    pub raw_config: Vec<u8>,
    pub diff_ids: Vec<String>,
    pub history: Vec<HistoryEntry>,
    /// inspect's `Metadata.LastTagTime` (RFC3339Nano), empty when no tag was ever made
    /// through `tag`/`build -t`/`commit`/`import` (loaded and pulled images).
    pub last_tag_time: String,
}

impl Image {
    /// `created` as unix seconds (0 if unparsable).
    pub fn created_unix(&self) -> i64 {
        parse_time(&self.created)
    }
}

/// What `docker load` prints per image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Loaded {
    /// Familiar reference: prints `Loaded image: busybox:latest`.
    Tagged(String),
    /// Untagged image: prints `Loaded image ID: sha256:...`.
    Id(String),
}

impl fmt::Display for Loaded {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Loaded::Tagged(r) => write!(f, "Loaded image: {r}"),
            Loaded::Id(id) => write!(f, "Loaded image ID: {id}"),
        }
    }
}

/// One item of `DELETE /images/{name}` / prune; serializes as `{"Untagged": "..."}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DeleteItem {
    Untagged(String),
    Deleted(String),
}

/// One item of `/images/{name}/history`: the API's type (the CLI reads the same).
pub use berth_api::models::HistoryResponseItem as HistoryItem;

#[derive(Debug, Clone, Serialize, Deserialize)]
struct LayerRef {
    diff_id: String,
    chain_id: String,
    /// `sha256:<hex>` of the blob as received (maybe compressed).
    blob: String,
    media_type: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct ImageRecord {
    id: String,
    layers: Vec<LayerRef>,
    #[serde(default)]
    parent: String,
    /// When a reference was last pointed at the image through moby's TagImage (`tag`,
    /// `build -t`, `commit`/`import` with a reference; loads and pulls do not): inspect's
    /// `Metadata.LastTagTime`, RFC3339Nano UTC, empty if never.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    last_tag_time: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct LayerMeta {
    diff_id: String,
    parent: String,
    size: u64,
    link: String,
}

#[derive(Default)]
struct State {
    /// Full reference string -> image id.
    refs: BTreeMap<String, String>,
    images: HashMap<String, ImageRecord>,
}

/// The image store. Cheap to share behind an `Arc`; all methods take `&self`.
pub struct ImageStore {
    root: PathBuf,
    state: Mutex<State>,
    docker_version: String,
    /// A `userns-remap` daemon's maps: layers are unpacked with owners shifted into the
    /// host range and committed with them shifted back.
    id_map: Option<berth_api::idmap::IdMappings>,
}

fn hex_of(id: &str) -> &str {
    id.strip_prefix("sha256:").unwrap_or(id)
}

fn short(id: &str) -> String {
    hex_of(id).chars().take(12).collect()
}

fn parse_time(s: &str) -> i64 {
    chrono::DateTime::parse_from_rfc3339(s)
        .map(|t| t.timestamp())
        .unwrap_or(0)
}

/// Go's RFC3339Nano: UTC, trailing zeros of the fraction trimmed.
fn now_rfc3339_nano() -> String {
    let s = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    match s.strip_suffix('Z').and_then(|b| b.split_once('.')) {
        Some((base, frac)) => {
            let f = frac.trim_end_matches('0');
            if f.is_empty() {
                format!("{base}Z")
            } else {
                format!("{base}.{f}Z")
            }
        }
        None => s,
    }
}

fn chain_id(parent: Option<&str>, diff_id: &str) -> String {
    match parent {
        None => diff_id.to_string(),
        Some(p) => format!(
            "sha256:{}",
            archive::sha256_hex(format!("{p} {diff_id}").as_bytes())
        ),
    }
}

fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        other => other,
    }
}

fn invalid_archive(msg: impl Into<String>) -> ImageError {
    ImageError::InvalidArchive(msg.into())
}

fn not_found_for(name: &str, parsed: Option<&Reference>) -> ImageError {
    let shown = match parsed {
        Some(r) => r.clone().with_default_tag().familiar_string(),
        None => name.to_string(),
    };
    ImageError::NotFound(format!("No such image: {shown}"))
}

impl ImageStore {
    /// Opens (creating if needed) the store rooted at the daemon data root.
    pub fn open(data_root: &Path) -> Result<ImageStore, ImageError> {
        let root = data_root.to_path_buf();
        for d in ["content/blobs/sha256", "image/images", "layers", "l", "tmp"] {
            let p = root.join(d);
            fs::create_dir_all(&p).ctx(|| format!("creating {}", p.display()))?;
        }
        // Leftovers of interrupted loads/imports are never trusted.
        let tmp = root.join("tmp");
        if let Ok(rd) = fs::read_dir(&tmp) {
            for e in rd.flatten() {
                let _ = remove_any(&e.path());
            }
        }
        if let Ok(rd) = fs::read_dir(root.join("layers")) {
            for e in rd.flatten() {
                let name = e.file_name();
                let n = name.to_string_lossy();
                if n == crate::snapshot::INIT_LAYER {
                    continue;
                }
                if n.starts_with('.') || !e.path().join("meta.json").is_file() {
                    tracing::warn!(layer = %n, "removing incomplete layer");
                    let _ = remove_any(&e.path());
                }
            }
        }
        let mut state = State::default();
        let refs_path = root.join("image/repositories.json");
        if refs_path.exists() {
            let data = fs::read(&refs_path).ctx(|| format!("reading {}", refs_path.display()))?;
            state.refs = serde_json::from_slice(&data).map_err(|e| {
                ImageError::Internal(format!("corrupt {}: {e}", refs_path.display()))
            })?;
        }
        let rd =
            fs::read_dir(root.join("image/images")).ctx(|| "reading image records".to_string())?;
        for e in rd.flatten() {
            let p = e.path();
            if p.extension().and_then(|x| x.to_str()) != Some("json") {
                continue;
            }
            match fs::read(&p)
                .ok()
                .and_then(|d| serde_json::from_slice::<ImageRecord>(&d).ok())
            {
                Some(rec) => {
                    state.images.insert(rec.id.clone(), rec);
                }
                None => tracing::warn!(path = %p.display(), "skipping unreadable image record"),
            }
        }
        let before = state.refs.len();
        let images = &state.images;
        state.refs.retain(|_, id| images.contains_key(id));
        if state.refs.len() != before {
            tracing::warn!("dropped references to missing images");
        }
        Ok(ImageStore {
            root,
            state: Mutex::new(state),
            docker_version: env!("CARGO_PKG_VERSION").to_string(),
            id_map: None,
        })
    }

    /// The store of a `userns-remap` daemon (its data root is already the remapped one).
    pub fn with_id_map(mut self, id_map: Option<berth_api::idmap::IdMappings>) -> ImageStore {
        self.id_map = id_map;
        self
    }

    /// The maps of a remapped daemon, none otherwise.
    pub fn id_map(&self) -> Option<&berth_api::idmap::IdMappings> {
        self.id_map.as_ref()
    }

    /// Sets the `docker_version` written into imported image configs.
    pub fn with_docker_version(mut self, v: &str) -> ImageStore {
        self.docker_version = v.to_string();
        self
    }

    pub fn data_root(&self) -> &Path {
        &self.root
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere must not wedge the daemon: the state is still consistent because
        // every mutation writes disk first, then memory.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn blob_path(&self, digest: &str) -> PathBuf {
        self.root.join("content/blobs/sha256").join(hex_of(digest))
    }

    fn layer_dir(&self, chain: &str) -> PathBuf {
        self.root.join("layers").join(hex_of(chain))
    }

    fn tempdir(&self, prefix: &str) -> Result<tempfile::TempDir, ImageError> {
        tempfile::Builder::new()
            .prefix(prefix)
            .tempdir_in(self.root.join("tmp"))
            .ctx(|| "creating temp dir".to_string())
    }

    /// Drops references, records each as `Untagged` (familiar form) and stores the map.
    fn untag(
        &self,
        st: &mut State,
        refs: &[String],
        records: &mut Vec<DeleteItem>,
    ) -> Result<(), ImageError> {
        for r in refs {
            st.refs.remove(r);
            if let Ok(x) = Reference::parse_normalized(r) {
                records.push(DeleteItem::Untagged(x.familiar_string()));
            }
        }
        self.save_refs(st)
    }

    fn save_refs(&self, st: &State) -> Result<(), ImageError> {
        let p = self.root.join("image/repositories.json");
        berth_api::atomic::write_json(&p, &st.refs).ctx(|| format!("writing {}", p.display()))
    }

    fn put_blob_bytes(&self, data: &[u8]) -> Result<String, ImageError> {
        let digest = format!("sha256:{}", archive::sha256_hex(data));
        let p = self.blob_path(&digest);
        if !p.exists() {
            // Unique temp name: several loads may store the same blob at once.
            let tmp = p.with_extension(format!("tmp{}", rand_suffix()));
            let res = File::create(&tmp)
                .and_then(|mut f| f.write_all(data).and_then(|_| f.sync_all()))
                .and_then(|_| fs::rename(&tmp, &p));
            if res.is_err() {
                let _ = fs::remove_file(&tmp);
            }
            res.ctx(|| format!("writing {}", p.display()))?;
        }
        Ok(digest)
    }

    /// Stores a blob file under its digest (hard link when possible, else copy).
    fn put_blob_file(&self, src: &Path, digest: &str) -> Result<(), ImageError> {
        let dst = self.blob_path(digest);
        if dst.exists() {
            return Ok(());
        }
        let tmp = dst.with_extension(format!("tmp{}", rand_suffix()));
        if fs::hard_link(src, &tmp).is_err() {
            fs::copy(src, &tmp).ctx(|| format!("copying blob {digest}"))?;
        }
        File::open(&tmp)
            .and_then(|f| f.sync_all())
            .ctx(|| "syncing blob".to_string())?;
        fs::rename(&tmp, &dst).ctx(|| format!("storing blob {digest}"))
    }

    fn read_layer_meta(&self, chain: &str) -> Option<LayerMeta> {
        let d = fs::read(self.layer_dir(chain).join("meta.json")).ok()?;
        serde_json::from_slice(&d).ok()
    }

    /// Makes the layer for `blob` available (unpacking it once per chain id) and stores the
    /// blob as received. `expected_diff` is checked when known.
    fn ensure_layer(
        &self,
        blob: &Path,
        expected_diff: Option<&str>,
        parent_chain: Option<&str>,
    ) -> Result<LayerRef, ImageError> {
        // Raw digest and compression of the blob as received.
        let mut f = File::open(blob).ctx(|| format!("opening {}", blob.display()))?;
        let mut hr = HashReader::new(&mut f);
        hr.drain().ctx(|| format!("reading {}", blob.display()))?;
        let (blob_digest, _) = hr.finish();
        let mut f = File::open(blob).ctx(|| format!("opening {}", blob.display()))?;
        let (plain, comp) = archive::decompress(&mut f).ctx(|| "reading layer".to_string())?;
        let mut diff_reader = HashReader::new(plain);

        let known_chain = expected_diff.map(|d| chain_id(parent_chain, d));
        let existing = known_chain
            .as_ref()
            .is_some_and(|c| self.read_layer_meta(c).is_some());
        let (diff_id, staged) = if existing {
            diff_reader
                .drain()
                .map_err(|e| invalid_archive(format!("error reading layer: {e}")))?;
            (diff_reader.finish().0, None)
        } else {
            let stage = tempfile::Builder::new()
                .prefix(".tmp-")
                .tempdir_in(self.root.join("layers"))
                .ctx(|| "creating layer temp dir".to_string())?;
            let diff_dir = stage.path().join("diff");
            fs::create_dir(&diff_dir).ctx(|| "creating diff dir".to_string())?;
            let mut rest = unpack::unpack_layer(diff_reader, &diff_dir, self.id_map.as_ref())?;
            rest.drain()
                .map_err(|e| invalid_archive(format!("error reading layer: {e}")))?;
            (rest.finish().0, Some(stage))
        };
        if let Some(exp) = expected_diff {
            if exp != diff_id {
                return Err(invalid_archive(format!(
                    "layer content does not match the image config: expected diff id {exp}, got {diff_id}"
                )));
            }
        }
        let chain = chain_id(parent_chain, &diff_id);
        if let Some(stage) = staged {
            if self.read_layer_meta(&chain).is_none() {
                self.install_layer(stage, &chain, &diff_id, parent_chain)?;
            }
        }
        self.put_blob_file(blob, &blob_digest)?;
        Ok(LayerRef {
            diff_id,
            chain_id: chain,
            blob: blob_digest,
            media_type: comp.layer_media_type().to_string(),
        })
    }

    fn install_layer(
        &self,
        stage: tempfile::TempDir,
        chain: &str,
        diff_id: &str,
        parent: Option<&str>,
    ) -> Result<(), ImageError> {
        let hex = hex_of(chain);
        let link: String = hex.chars().take(26).collect::<String>().to_uppercase();
        let meta = LayerMeta {
            diff_id: diff_id.to_string(),
            parent: parent.unwrap_or("").to_string(),
            size: unpack::dir_size(&stage.path().join("diff")),
            link: link.clone(),
        };
        fs::write(stage.path().join("link"), &link).ctx(|| "writing layer link".to_string())?;
        berth_api::atomic::write_json(&stage.path().join("meta.json"), &meta)
            .ctx(|| "writing layer meta".to_string())?;
        let lpath = self.root.join("l").join(&link);
        let target = format!("../layers/{hex}/diff");
        let _ = fs::remove_file(&lpath);
        if let Err(e) = std::os::unix::fs::symlink(&target, &lpath) {
            // A concurrent load of the same layer made the same link first.
            let same = fs::read_link(&lpath).is_ok_and(|t| t == Path::new(&target));
            if !(e.kind() == std::io::ErrorKind::AlreadyExists && same) {
                return Err(e).ctx(|| format!("creating {}", lpath.display()));
            }
        }
        let staged = stage.keep();
        let dst = self.layer_dir(chain);
        if let Err(e) = fs::rename(&staged, &dst) {
            // Another load installed the same layer first: keep theirs.
            let _ = remove_any(&staged);
            if self.read_layer_meta(chain).is_none() {
                return Err(ImageError::Io {
                    context: format!("installing layer {chain}"),
                    source: e,
                });
            }
        }
        tracing::debug!(chain, "layer installed");
        Ok(())
    }

    /// Commits an image (config already stored) and points `tags` at it.
    fn commit_image(&self, mut rec: ImageRecord, tags: &[Reference]) -> Result<(), ImageError> {
        let mut st = self.lock();
        // The same image stored again (a second load or pull) keeps its last tag time, as
        // moby's metadata does.
        if rec.last_tag_time.is_empty() {
            if let Some(old) = st.images.get(&rec.id) {
                rec.last_tag_time = old.last_tag_time.clone();
            }
        }
        for l in &rec.layers {
            if self.read_layer_meta(&l.chain_id).is_none() {
                return Err(ImageError::Internal(format!(
                    "layer {} was removed while the image was being loaded; retry",
                    l.chain_id
                )));
            }
        }
        let p = self
            .root
            .join("image/images")
            .join(format!("{}.json", hex_of(&rec.id)));
        berth_api::atomic::write_json(&p, &rec).ctx(|| format!("writing {}", p.display()))?;
        st.images.insert(rec.id.clone(), rec.clone());
        if !tags.is_empty() {
            for t in tags {
                st.refs.insert(t.to_string(), rec.id.clone());
            }
            self.save_refs(&st)?;
        }
        Ok(())
    }

    /// `docker load`: accepts the legacy layout and the OCI layout (docker 25+), plain or
    /// gzip/zstd compressed, with plain or compressed layer blobs.
    pub fn load(&self, r: impl Read) -> Result<Vec<Loaded>, ImageError> {
        self.load_with_progress(r, &mut |_, _, _| {})
    }

    /// [`Self::load`], reporting each layer new to the store as moby's "Loading layer" does:
    /// `progress(diff_id, bytes_done, blob_size)` before and after it is registered.
    pub fn load_with_progress(
        &self,
        r: impl Read,
        progress: &mut dyn FnMut(&str, u64, u64),
    ) -> Result<Vec<Loaded>, ImageError> {
        self.load_platform(r, None, progress)
    }

    /// [`Self::load_with_progress`] of the archive's images of one platform only
    /// (`load --platform`): `keep(os, architecture, variant)` says which; the others are
    /// skipped before any of their layers is read. An archive with none of that platform
    /// loads nothing and is no error, as moby 28's graphdriver tarexporter (`continue` on
    /// a platform mismatch); `wanted` names it in the log.
    pub fn load_platform(
        &self,
        r: impl Read,
        platform: Option<(&str, &PlatformFilter<'_>)>,
        progress: &mut dyn FnMut(&str, u64, u64),
    ) -> Result<Vec<Loaded>, ImageError> {
        let tmp = self.tempdir("load-")?;
        let ar = SaveArchive::unpack(r, tmp.path())?;
        let items: Vec<ManifestItem> = if ar.exists("manifest.json") {
            serde_json::from_slice(&ar.read("manifest.json")?)
                .map_err(|e| invalid_archive(format!("invalid manifest.json: {e}")))?
        } else if ar.exists("index.json") {
            oci_items(&ar)?
        } else {
            return Err(invalid_archive(
                "invalid archive: no manifest.json or index.json found (not a docker save archive?)",
            ));
        };
        let mut out = Vec::new();
        let mut skipped = 0;
        for item in items {
            let config = ar.read(&item.config)?;
            let id = format!("sha256:{}", archive::sha256_hex(&config));
            let cfg = config_file::ImageConfigFile::parse(&config).map_err(|e| {
                invalid_archive(format!("invalid image config {}: {e}", item.config))
            })?;
            if let Some((_, keep)) = &platform {
                if !keep(&cfg.os, &cfg.architecture, cfg.variant.as_deref()) {
                    tracing::debug!(%id, os = %cfg.os, arch = %cfg.architecture, "skipping an image of another platform");
                    skipped += 1;
                    continue;
                }
            }
            let diff_ids = cfg.rootfs.diff_ids;
            if diff_ids.len() != item.layers.len() {
                return Err(invalid_archive(format!(
                    "invalid manifest, layers length mismatch: expected {}, got {}",
                    diff_ids.len(),
                    item.layers.len()
                )));
            }
            let tags = item
                .repo_tags
                .unwrap_or_default()
                .iter()
                .map(|t| {
                    let r = Reference::parse_normalized(t)?;
                    if r.tag().is_none() {
                        return Err(invalid_archive(format!("invalid tag {t:?} in manifest")));
                    }
                    Ok(r)
                })
                .collect::<Result<Vec<_>, ImageError>>()?;
            let mut layers = Vec::new();
            let mut parent: Option<String> = None;
            for (lpath, diff) in item.layers.iter().zip(&diff_ids) {
                let file = ar.path(lpath)?;
                let new = self
                    .read_layer_meta(&chain_id(parent.as_deref(), diff))
                    .is_none();
                let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
                if new {
                    progress(diff, 0, size);
                }
                let l = self.ensure_layer(&file, Some(diff), parent.as_deref())?;
                if new {
                    progress(diff, size, size);
                }
                parent = Some(l.chain_id.clone());
                layers.push(l);
            }
            self.put_blob_bytes(&config)?;
            self.commit_image(
                ImageRecord {
                    id: id.clone(),
                    layers,
                    parent: String::new(),
                    last_tag_time: String::new(),
                },
                &tags,
            )?;
            tracing::info!(%id, "image loaded");
            if tags.is_empty() {
                out.push(Loaded::Id(id));
            } else {
                out.extend(tags.iter().map(|t| Loaded::Tagged(t.familiar_string())));
            }
        }
        if let Some((wanted, _)) = platform {
            if out.is_empty() && skipped > 0 {
                // moby 28's tarexporter skips every image of another platform and answers
                // an empty load (200, no message), with no error.
                tracing::info!(%wanted, skipped, "no image of the requested platform in the archive");
            }
        }
        Ok(out)
    }

    /// `docker import`: a (possibly compressed) rootfs tar becomes a one-layer image.
    pub fn import(
        &self,
        mut r: impl Read,
        reference: Option<&str>,
        changes: &[String],
        message: &str,
        platform: ImportPlatform<'_>,
    ) -> Result<String, ImageError> {
        let tag = match reference {
            Some(s) if !s.is_empty() => {
                let t = Reference::parse_tagged(s)?;
                if t.digest().is_some() {
                    return Err(ImageError::InvalidReference(
                        "cannot import digest reference".to_string(),
                    ));
                }
                Some(t)
            }
            _ => None,
        };
        let mut cfg = ContainerConfig::default();
        apply_changes(&mut cfg, changes)?;
        let tmp = self.tempdir("import-")?;
        let blob = tmp.path().join("layer");
        {
            let mut f = File::create(&blob).ctx(|| "creating import blob".to_string())?;
            io::copy(&mut r, &mut f).ctx(|| "reading import stream".to_string())?;
            f.sync_all().ctx(|| "syncing import blob".to_string())?;
        }
        let layer = self.ensure_layer(&blob, None, None)?;
        let created = now_rfc3339_nano();
        let comment = if message.is_empty() {
            "Imported from -".to_string()
        } else {
            message.to_string()
        };
        // moby sorts an image config's top-level keys; nested objects keep Go's field
        // order. Structs (not JSON maps) keep the bytes, and so the image id, the same
        // whatever serde_json features the build enables.
        #[derive(Serialize)]
        struct ImportConfig<'a> {
            architecture: &'a str,
            comment: &'a str,
            config: &'a ContainerConfig,
            created: &'a str,
            docker_version: &'a str,
            history: [History<'a>; 1],
            os: &'a str,
            rootfs: RootFs<'a>,
            #[serde(skip_serializing_if = "Option::is_none")]
            variant: Option<&'a str>,
        }
        #[derive(Serialize)]
        struct History<'a> {
            created: &'a str,
            comment: &'a str,
        }
        #[derive(Serialize)]
        struct RootFs<'a> {
            #[serde(rename = "type")]
            kind: &'a str,
            diff_ids: [&'a str; 1],
        }
        let config = serde_json::to_vec(&ImportConfig {
            architecture: platform.architecture,
            comment: &comment,
            config: &cfg,
            created: &created,
            docker_version: &self.docker_version,
            history: [History {
                created: &created,
                comment: &comment,
            }],
            os: platform.os,
            rootfs: RootFs {
                kind: "layers",
                diff_ids: [&layer.diff_id],
            },
            variant: platform.variant,
        })
        .map_err(|e| ImageError::Internal(format!("encoding config: {e}")))?;
        let id = self.put_blob_bytes(&config)?;
        let tags: Vec<Reference> = tag.into_iter().collect();
        self.commit_image(
            ImageRecord {
                id: id.clone(),
                layers: vec![layer],
                parent: String::new(),
                // moby's import tags through TagImage.
                last_tag_time: if tags.is_empty() {
                    String::new()
                } else {
                    now_rfc3339_nano()
                },
            },
            &tags,
        )?;
        tracing::info!(%id, "image imported");
        Ok(id)
    }

    /// Resolves a name or id like docker's GetImage (reference, `sha256:<hex>`, full hex,
    /// unique short id prefix).
    fn resolve(&self, st: &State, name: &str) -> Result<String, ImageError> {
        match parse_any(name)? {
            AnyReference::Id(id) => {
                if st.images.contains_key(&id) {
                    Ok(id)
                } else {
                    Err(ImageError::NotFound(format!("No such image: {id}")))
                }
            }
            AnyReference::Named(r) => {
                let full = r.clone().with_default_tag().to_string();
                if let Some(id) = st.refs.get(&full) {
                    return Ok(id.clone());
                }
                let prefix = hex_of(name);
                if !prefix.is_empty()
                    && prefix
                        .bytes()
                        .all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(&c))
                {
                    let mut hits = st.images.keys().filter(|id| hex_of(id).starts_with(prefix));
                    if let (Some(id), None) = (hits.next(), hits.next()) {
                        return Ok(id.clone());
                    }
                }
                Err(not_found_for(name, Some(&r)))
            }
        }
    }

    fn build_image(&self, st: &State, rec: &ImageRecord) -> Result<Image, ImageError> {
        let raw =
            fs::read(self.blob_path(&rec.id)).ctx(|| format!("reading config of {}", rec.id))?;
        let cfg = config_file::ImageConfigFile::parse(&raw)
            .map_err(|e| ImageError::Internal(format!("corrupt config of {}: {e}", rec.id)))?;
        let mut repo_tags = Vec::new();
        let mut repo_digests = Vec::new();
        for (r, id) in &st.refs {
            if id != &rec.id {
                continue;
            }
            if let Ok(parsed) = Reference::parse_normalized(r) {
                if parsed.digest().is_some() {
                    repo_digests.push(parsed.familiar_string());
                } else {
                    repo_tags.push(parsed.familiar_string());
                }
            }
        }
        let size = rec
            .layers
            .iter()
            .map(|l| {
                self.read_layer_meta(&l.chain_id)
                    .map(|m| m.size)
                    .unwrap_or(0)
            })
            .sum();
        let (config, config_error) = match cfg.container_config() {
            Ok(c) => (c, None),
            Err(e) => {
                tracing::warn!(image = %rec.id, error = %e, "unreadable container config in image");
                (ContainerConfig::default(), Some(e))
            }
        };
        Ok(Image {
            id: rec.id.clone(),
            repo_tags,
            repo_digests,
            parent: rec.parent.clone(),
            comment: cfg.comment,
            created: cfg.created,
            docker_version: cfg.docker_version,
            author: cfg.author,
            architecture: cfg.architecture,
            os: cfg.os,
            variant: cfg.variant,
            size,
            config,
            config_error,
            container_config: cfg.legacy_container_config,
            container: cfg.container,
            diff_ids: rec.layers.iter().map(|l| l.diff_id.clone()).collect(),
            history: cfg.history,
            raw_config: raw,
            last_tag_time: rec.last_tag_time.clone(),
        })
    }

    /// Whether the image `sha256:<hex>` (or the bare hex) is in the store.
    pub fn has_image(&self, id: &str) -> bool {
        let hex = id.strip_prefix("sha256:").unwrap_or(id);
        self.lock().images.contains_key(&format!("sha256:{hex}"))
    }

    /// Looks an image up by reference, `sha256:<hex>`, full hex or unique short id prefix.
    pub fn get(&self, name_or_id: &str) -> Result<Image, ImageError> {
        let st = self.lock();
        let id = self.resolve(&st, name_or_id)?;
        let rec = st
            .images
            .get(&id)
            .ok_or_else(|| ImageError::NotFound(format!("No such image: {id}")))?;
        self.build_image(&st, rec)
    }

    /// All images, dangling ones included, newest first.
    pub fn list(&self) -> Result<Vec<Image>, ImageError> {
        let st = self.lock();
        let mut out = st
            .images
            .values()
            .map(|rec| self.build_image(&st, rec))
            .collect::<Result<Vec<_>, _>>()?;
        out.sort_by(|a, b| b.created.cmp(&a.created).then(a.id.cmp(&b.id)));
        Ok(out)
    }

    /// `docker tag SOURCE TARGET`.
    pub fn tag(&self, source: &str, target: &str) -> Result<(), ImageError> {
        let target = Reference::parse_normalized(target)?;
        if target.digest().is_some() {
            return Err(ImageError::InvalidReference(
                "refusing to create a tag with a digest reference".to_string(),
            ));
        }
        let target = target.with_default_tag();
        let mut st = self.lock();
        let id = self.resolve(&st, source)?;
        st.refs.insert(target.to_string(), id.clone());
        self.save_refs(&st)?;
        self.stamp_last_tag(&mut st, &id)
    }

    /// Records now as the image's last tag time (moby's TagImage: SetLastUpdated).
    fn stamp_last_tag(&self, st: &mut State, id: &str) -> Result<(), ImageError> {
        let Some(old) = st.images.get(id) else {
            return Ok(());
        };
        let rec = ImageRecord {
            last_tag_time: now_rfc3339_nano(),
            ..old.clone()
        };
        let p = self
            .root
            .join("image/images")
            .join(format!("{}.json", hex_of(id)));
        berth_api::atomic::write_json(&p, &rec).ctx(|| format!("writing {}", p.display()))?;
        st.images.insert(id.to_string(), rec);
        Ok(())
    }

    /// `docker rmi`, with docker's semantics and conflict messages. `users` returns the
    /// containers using an image id: (container id, running). With `prune` (moby's default;
    /// `noprune` turns it off) the image's parents go too while they are dangling and
    /// unused, as moby's imageDeleteHelper prunes them.
    pub fn remove(
        &self,
        name_or_id: &str,
        force: bool,
        prune: bool,
        users: &dyn Fn(&str) -> Vec<(String, bool)>,
    ) -> Result<Vec<DeleteItem>, ImageError> {
        let mut st = self.lock();
        let id = self.resolve(&st, name_or_id)?;
        let containers = users(&id);
        let mut records = Vec::new();
        let mut repo_refs = refs_of(&st, &id);
        let is_id_prefix = id.starts_with(name_or_id) || hex_of(&id).starts_with(name_or_id);
        let mut quiet = false;
        if !is_id_prefix {
            if !force && is_single_reference(&repo_refs) {
                if let Some((cid, _)) = containers.first() {
                    return Err(ImageError::Conflict(format!(
                        "conflict: unable to remove repository reference {name_or_id:?} (must force) - container {} is using its referenced image {}",
                        short(cid),
                        short(&id)
                    )));
                }
            }
            let parsed = Reference::parse_normalized(name_or_id)?.with_default_tag();
            if st.refs.remove(&parsed.to_string()).is_none() {
                return Err(not_found_for(name_or_id, Some(&parsed)));
            }
            records.push(DeleteItem::Untagged(parsed.familiar_string()));
            repo_refs = refs_of(&st, &id);
            // A removed tag leaves digest references of the same repository behind: drop them.
            if parsed.digest().is_none() {
                let same_repo_tag = repo_refs.iter().any(|r| {
                    Reference::parse_normalized(r)
                        .is_ok_and(|x| x.digest().is_none() && x.name() == parsed.name())
                });
                if !same_repo_tag {
                    for r in repo_refs.clone() {
                        if let Ok(x) = Reference::parse_normalized(&r) {
                            if x.digest().is_some() && x.name() == parsed.name() {
                                st.refs.remove(&r);
                                records.push(DeleteItem::Untagged(x.familiar_string()));
                            }
                        }
                    }
                    repo_refs = refs_of(&st, &id);
                }
            }
            self.save_refs(&st)?;
            if !repo_refs.is_empty() {
                return Ok(records);
            }
            quiet = true;
        } else if is_single_reference(&repo_refs) {
            let children = has_children(&st, &id);
            if let Some(c) = delete_conflict(&id, &containers, &repo_refs, children, force, true) {
                return Err(c.into_error());
            }
            self.untag(&mut st, &repo_refs, &mut records)?;
        }

        // imageDeleteHelper; then, with `prune`, each parent in turn: unforced and quiet
        // (the first one still tagged, with other children, or used by a container stops
        // the walk without an error).
        let (mut id, mut containers, mut force) = (id, containers, force);
        loop {
            let repo_refs = refs_of(&st, &id);
            let children = has_children(&st, &id);
            if let Some(c) = delete_conflict(&id, &containers, &repo_refs, children, force, false) {
                let dangling = repo_refs.is_empty() && !children;
                if quiet && (!dangling || c.used) {
                    return Ok(records);
                }
                return Err(c.into_error());
            }
            let parent = self.delete_record(&mut st, &id, &containers, &mut records)?;
            match parent {
                Some(p) if prune => {
                    containers = users(&p);
                    id = p;
                    force = false;
                    quiet = true;
                }
                _ => return Ok(records),
            }
        }
    }

    /// Deletes image `id` (no conflict left): its references, its record, and the layers
    /// and blobs no other image uses (none while a container uses the image). Returns its
    /// parent when that is a stored image.
    fn delete_record(
        &self,
        st: &mut State,
        id: &str,
        containers: &[(String, bool)],
        records: &mut Vec<DeleteItem>,
    ) -> Result<Option<String>, ImageError> {
        let repo_refs = refs_of(st, id);
        self.untag(st, &repo_refs, records)?;
        let rec = st
            .images
            .remove(id)
            .ok_or_else(|| ImageError::NotFound(format!("No such image: {id}")))?;
        let p = self
            .root
            .join("image/images")
            .join(format!("{}.json", hex_of(id)));
        if let Err(e) = fs::remove_file(&p) {
            tracing::warn!(path = %p.display(), error = %e, "removing image record");
        }
        records.push(DeleteItem::Deleted(id.to_string()));
        // Layers and blobs nobody else references go too; a container still using the
        // (force-removed) image keeps its layers.
        let used_chains: HashSet<&str> = st
            .images
            .values()
            .flat_map(|r| r.layers.iter().map(|l| l.chain_id.as_str()))
            .collect();
        let used_blobs: HashSet<&str> = st
            .images
            .values()
            .flat_map(|r| {
                r.layers
                    .iter()
                    .map(|l| l.blob.as_str())
                    .chain([r.id.as_str()])
            })
            .collect();
        if containers.is_empty() {
            for l in rec.layers.iter().rev() {
                if used_chains.contains(l.chain_id.as_str()) {
                    continue;
                }
                if let Some(m) = self.read_layer_meta(&l.chain_id) {
                    let _ = fs::remove_file(self.root.join("l").join(&m.link));
                }
                if let Err(e) = remove_any(&self.layer_dir(&l.chain_id)) {
                    tracing::warn!(layer = %l.chain_id, error = %e, "removing layer");
                }
                records.push(DeleteItem::Deleted(l.chain_id.clone()));
            }
            let used_diffs: HashSet<&str> = st
                .images
                .values()
                .flat_map(|r| r.layers.iter().map(|l| l.diff_id.as_str()))
                .collect();
            // A layer's pushed gzip copy stays while an image holds the layer, even when
            // the image that recorded it (a pull that found it) goes: it is what the next
            // pull of that digest finds (`existing_layer`).
            let kept_copy = |b: &str| {
                rec.layers.iter().any(|l| {
                    l.blob == b
                        && used_diffs.contains(l.diff_id.as_str())
                        && self.pushed_blob(&l.diff_id).as_deref() == Some(b)
                })
            };
            for b in rec.layers.iter().map(|l| l.blob.as_str()).chain([id]) {
                if !used_blobs.contains(b) && !kept_copy(b) {
                    let _ = fs::remove_file(self.blob_path(b));
                }
            }
            for l in &rec.layers {
                if !used_diffs.contains(l.diff_id.as_str()) {
                    self.forget_gzip(&l.diff_id);
                }
            }
        }
        tracing::info!(%id, "image removed");
        Ok((!rec.parent.is_empty() && st.images.contains_key(&rec.parent)).then_some(rec.parent))
    }

    /// `/images/{name}/history`: newest first; entries below the top image are `<missing>`.
    pub fn history(&self, name: &str) -> Result<Vec<HistoryItem>, ImageError> {
        let st = self.lock();
        let id = self.resolve(&st, name)?;
        let rec = st
            .images
            .get(&id)
            .ok_or_else(|| ImageError::NotFound(format!("No such image: {id}")))?;
        let img = self.build_image(&st, rec)?;
        let mut out = Vec::new();
        let mut layer_i = 0;
        for h in &img.history {
            let mut size = 0i64;
            if !h.empty_layer {
                let l = rec.layers.get(layer_i).ok_or_else(|| {
                    ImageError::Internal("too many non-empty layers in History section".to_string())
                })?;
                size = self
                    .read_layer_meta(&l.chain_id)
                    .map(|m| m.size as i64)
                    .unwrap_or(0);
                layer_i += 1;
            }
            out.insert(
                0,
                HistoryItem {
                    id: "<missing>".to_string(),
                    created: parse_time(&h.created),
                    created_by: h.created_by.clone(),
                    tags: None,
                    size,
                    comment: h.comment.clone(),
                },
            );
        }
        // Walk the parent chain (only images built/committed locally have parents).
        let mut cur = Some(img);
        for item in out.iter_mut() {
            let Some(im) = cur.take() else { break };
            item.id = im.id.clone();
            item.tags = if im.repo_tags.is_empty() {
                None
            } else {
                Some(im.repo_tags.clone())
            };
            if im.parent.is_empty() {
                break;
            }
            cur = st
                .images
                .get(&im.parent)
                .and_then(|r| self.build_image(&st, r).ok());
        }
        Ok(out)
    }

    /// `docker image prune [-a]`: removes dangling (untagged) images, or with `all` every
    /// image no container uses. Returns the delete records and the bytes reclaimed.
    pub fn prune(
        &self,
        all: bool,
        in_use: &dyn Fn(&str) -> bool,
    ) -> Result<(Vec<DeleteItem>, u64), ImageError> {
        let (candidates, sizes) = {
            let st = self.lock();
            let parents: HashSet<&str> = st.images.values().map(|r| r.parent.as_str()).collect();
            let mut sizes = HashMap::new();
            for r in st.images.values() {
                for l in &r.layers {
                    if let Some(m) = self.read_layer_meta(&l.chain_id) {
                        sizes.insert(l.chain_id.clone(), m.size);
                    }
                }
            }
            let mut c = Vec::new();
            for id in st.images.keys() {
                let refs: Vec<&String> = st
                    .refs
                    .iter()
                    .filter(|(_, v)| *v == id)
                    .map(|(k, _)| k)
                    .collect();
                if refs.is_empty() && parents.contains(id.as_str()) {
                    continue; // intermediate image
                }
                if in_use(id) {
                    continue;
                }
                let has_tag = refs.iter().any(|r| !r.contains('@'));
                if refs.is_empty() {
                    c.push(vec![hex_of(id).to_string()]);
                } else if all || !has_tag {
                    c.push(refs.into_iter().cloned().collect());
                }
            }
            (c, sizes)
        };
        let mut records = Vec::new();
        for names in candidates {
            for n in names {
                // moby prunes with prune=true: the parents go too while unused.
                let users = |id: &str| {
                    if in_use(id) {
                        vec![(String::new(), false)]
                    } else {
                        Vec::new()
                    }
                };
                match self.remove(&n, false, true, &users) {
                    Ok(r) => records.extend(r),
                    Err(e) if e.is_not_found() || e.is_conflict() => {
                        tracing::debug!(name = %n, error = %e, "prune skipped image");
                    }
                    Err(e) => return Err(e),
                }
            }
        }
        let reclaimed = records
            .iter()
            .filter_map(|r| match r {
                DeleteItem::Deleted(d) => sizes.get(d).copied(),
                _ => None,
            })
            .sum();
        Ok((records, reclaimed))
    }

    /// The files of image `name` (id or reference), read without mounting it.
    pub fn files(&self, name: &str) -> Result<crate::ImageFiles, ImageError> {
        let mut layers = self.layer_dirs(&self.get(name)?)?;
        layers.reverse();
        Ok(crate::ImageFiles::over(layers))
    }

    /// A writable view of image `name` (`None`: an empty image, `FROM scratch`) mounted in
    /// `dir`, a scratch directory the caller owns and removes after the view is gone.
    pub fn view(&self, name: Option<&str>, dir: &Path) -> Result<crate::ImageView, ImageError> {
        let layers = match name {
            Some(n) => self.layer_dirs(&self.get(n)?)?,
            None => Vec::new(),
        };
        crate::ImageView::mount(&layers, dir)
    }

    /// Unpacked layer directories of `image`, lowest layer first (overlay wants them
    /// reversed: the engine/snapshot does that).
    pub fn layer_dirs(&self, image: &Image) -> Result<Vec<PathBuf>, ImageError> {
        let st = self.lock();
        let rec = st
            .images
            .get(&image.id)
            .ok_or_else(|| ImageError::NotFound(format!("No such image: {}", image.id)))?;
        rec.layers
            .iter()
            .map(|l| {
                let d = self.layer_dir(&l.chain_id).join("diff");
                if d.is_dir() {
                    Ok(d)
                } else {
                    Err(ImageError::Internal(format!(
                        "layer {} of image {} is missing",
                        l.chain_id, image.id
                    )))
                }
            })
            .collect()
    }

    /// `docker save`: docker 25+'s layout (OCI layout + manifest.json + repositories).
    /// A repository name without tag saves all its tags; an id saves the image untagged.
    pub fn save(&self, names: &[String], w: impl Write) -> Result<(), ImageError> {
        // (id, tags) in first-seen order.
        let mut order: Vec<(String, Vec<Reference>)> = Vec::new();
        let mut configs: HashMap<String, ImageRecord> = HashMap::new();
        {
            let st = self.lock();
            for name in names {
                let mut add = |id: String, tag: Option<Reference>| {
                    let pos = match order.iter().position(|(i, _)| *i == id) {
                        Some(p) => p,
                        None => {
                            order.push((id.clone(), Vec::new()));
                            order.len() - 1
                        }
                    };
                    if let Some(t) = tag {
                        if !order[pos].1.contains(&t) {
                            order[pos].1.push(t);
                        }
                    }
                };
                let parsed = match parse_any(name)? {
                    AnyReference::Named(r) => Some(r),
                    AnyReference::Id(_) => None,
                };
                match parsed {
                    Some(r) if r.tag().is_none() && r.digest().is_none() => {
                        let mut found = false;
                        for (k, id) in &st.refs {
                            if let Ok(x) = Reference::parse_normalized(k) {
                                if x.name() == r.name() && x.tag().is_some() && x.digest().is_none()
                                {
                                    add(id.clone(), Some(x));
                                    found = true;
                                }
                            }
                        }
                        if !found {
                            let id = self.resolve(&st, name)?;
                            add(id, None);
                        }
                    }
                    Some(r) => {
                        let id = self.resolve(&st, name)?;
                        let is_ref = st
                            .refs
                            .contains_key(&r.clone().with_default_tag().to_string());
                        add(
                            id,
                            if is_ref && r.digest().is_none() {
                                Some(r)
                            } else {
                                None
                            },
                        );
                    }
                    None => {
                        let id = self.resolve(&st, name)?;
                        add(id, None);
                    }
                }
            }
            for (id, _) in &order {
                if let Some(r) = st.images.get(id) {
                    configs.insert(id.clone(), r.clone());
                }
            }
        }

        let mut tw = tar::Builder::new(w);
        let mut written: HashSet<String> = HashSet::new();
        let mut manifest_json = Vec::new();
        let mut index_manifests = Vec::new();
        let mut repositories: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        append_dir(&mut tw, "blobs/")?;
        append_dir(&mut tw, "blobs/sha256/")?;
        for (id, tags) in &order {
            let rec = configs
                .get(id)
                .ok_or_else(|| ImageError::NotFound(format!("No such image: {id}")))?;
            let config = fs::read(self.blob_path(id)).ctx(|| format!("reading config of {id}"))?;
            // moby dates the image's layers and config with its created time.
            let mtime = created_secs(&config);
            let mut layer_descs = Vec::new();
            let mut layer_paths = Vec::new();
            for l in &rec.layers {
                let bp = self.blob_path(&l.blob);
                let size = fs::metadata(&bp)
                    .ctx(|| format!("layer blob {}", l.blob))?
                    .len();
                if written.insert(l.blob.clone()) {
                    let f = File::open(&bp).ctx(|| format!("opening blob {}", l.blob))?;
                    append_file_at(
                        &mut tw,
                        &format!("blobs/sha256/{}", hex_of(&l.blob)),
                        size,
                        f,
                        mtime,
                    )?;
                }
                layer_descs.push(layout::Descriptor {
                    media_type: l.media_type.clone(),
                    digest: l.blob.clone(),
                    size,
                    ..Default::default()
                });
                layer_paths.push(format!("blobs/sha256/{}", hex_of(&l.blob)));
            }
            if written.insert(id.clone()) {
                append_file_at(
                    &mut tw,
                    &format!("blobs/sha256/{}", hex_of(id)),
                    config.len() as u64,
                    &config[..],
                    mtime,
                )?;
            }
            let manifest = serde_json::to_vec(&layout::Manifest {
                schema_version: 2,
                media_type: layout::MANIFEST_MEDIA_TYPE.into(),
                config: layout::Descriptor {
                    media_type: layout::CONFIG_MEDIA_TYPE.into(),
                    digest: id.clone(),
                    size: config.len() as u64,
                    ..Default::default()
                },
                layers: layer_descs,
            })
            .map_err(|e| ImageError::Internal(e.to_string()))?;
            let mdigest = format!("sha256:{}", archive::sha256_hex(&manifest));
            if written.insert(mdigest.clone()) {
                append_file(
                    &mut tw,
                    &format!("blobs/sha256/{}", hex_of(&mdigest)),
                    manifest.len() as u64,
                    &manifest[..],
                )?;
            }
            let desc = |annotations: Option<BTreeMap<String, String>>| layout::Descriptor {
                media_type: layout::MANIFEST_MEDIA_TYPE.into(),
                digest: mdigest.clone(),
                size: manifest.len() as u64,
                annotations,
                platform: None,
            };
            if tags.is_empty() {
                index_manifests.push(desc(None));
            }
            for t in tags {
                index_manifests.push(desc(Some(BTreeMap::from([
                    ("io.containerd.image.name".to_string(), t.to_string()),
                    (
                        "org.opencontainers.image.ref.name".to_string(),
                        t.tag().unwrap_or("latest").to_string(),
                    ),
                ]))));
                let top = layer_paths
                    .last()
                    .map(|p| p.trim_start_matches("blobs/sha256/").to_string())
                    .unwrap_or_else(|| hex_of(id).to_string());
                repositories
                    .entry(t.familiar_name())
                    .or_default()
                    .insert(t.tag().unwrap_or("latest").to_string(), top);
            }
            manifest_json.push(ManifestItem {
                config: format!("blobs/sha256/{}", hex_of(id)),
                repo_tags: (!tags.is_empty())
                    .then(|| tags.iter().map(|t| t.familiar_string()).collect()),
                layers: layer_paths,
            });
        }
        let index = layout::Index {
            schema_version: 2,
            media_type: layout::INDEX_MEDIA_TYPE.into(),
            manifests: index_manifests,
        };
        let layout_file = layout::OciLayout {
            image_layout_version: "1.0.0".into(),
        };
        let encode =
            |r: serde_json::Result<Vec<u8>>| r.map_err(|e| ImageError::Internal(e.to_string()));
        for (name, data) in [
            ("index.json", encode(serde_json::to_vec(&index))?),
            ("manifest.json", encode(serde_json::to_vec(&manifest_json))?),
            ("oci-layout", encode(serde_json::to_vec(&layout_file))?),
        ] {
            append_file(&mut tw, name, data.len() as u64, &data[..])?;
        }
        if !repositories.is_empty() {
            let data = serde_json::to_vec(&repositories)
                .map_err(|e| ImageError::Internal(e.to_string()))?;
            append_file(&mut tw, "repositories", data.len() as u64, &data[..])?;
        }
        tw.into_inner()
            .and_then(|mut w| w.flush())
            .ctx(|| "writing save archive".to_string())?;
        Ok(())
    }
}

/// docker's isSingleReference: one tag (plus digest refs of that same repository).
fn is_single_reference(refs: &[String]) -> bool {
    if refs.len() <= 1 {
        return refs.len() == 1;
    }
    let parsed: Vec<Reference> = refs
        .iter()
        .filter_map(|r| Reference::parse_normalized(r).ok())
        .collect();
    let mut single: Option<&Reference> = None;
    let mut canonical = HashSet::new();
    for r in &parsed {
        if r.digest().is_some() {
            canonical.insert(r.name());
        } else if single.is_none() {
            single = Some(r);
        } else {
            return false;
        }
    }
    let single = match single.or(parsed.first()) {
        Some(s) => s,
        None => return false,
    };
    canonical.len() == 1 && canonical.contains(&single.name())
}

struct Conflict {
    id: String,
    hard: bool,
    used: bool,
    message: String,
}

impl Conflict {
    fn into_error(self) -> ImageError {
        let how = if self.hard {
            "cannot be forced"
        } else {
            "must be forced"
        };
        ImageError::Conflict(format!(
            "conflict: unable to delete {} ({how}) - {}",
            short(&self.id),
            self.message
        ))
    }
}

/// The references (tags, digests) naming image `id`.
fn refs_of(st: &State, id: &str) -> Vec<String> {
    st.refs
        .iter()
        .filter(|(_, v)| *v == id)
        .map(|(k, _)| k.clone())
        .collect()
}

/// Whether an image names `id` as its parent (moby's imageStore.Children).
fn has_children(st: &State, id: &str) -> bool {
    st.images.values().any(|r| r.parent == id)
}

/// docker's checkImageDeleteConflict. `id_path` is the "ID given with a single reference"
/// check, which ignores the active-reference conflict.
fn delete_conflict(
    id: &str,
    containers: &[(String, bool)],
    refs: &[String],
    has_children: bool,
    force: bool,
    id_path: bool,
) -> Option<Conflict> {
    if has_children {
        return Some(Conflict {
            id: id.to_string(),
            hard: true,
            used: false,
            message: "image has dependent child images".to_string(),
        });
    }
    if let Some((cid, _)) = containers.iter().find(|(_, running)| *running) {
        return Some(Conflict {
            id: id.to_string(),
            hard: true,
            used: true,
            message: format!("image is being used by running container {}", short(cid)),
        });
    }
    if force {
        return None;
    }
    if !id_path && !refs.is_empty() {
        return Some(Conflict {
            id: id.to_string(),
            hard: false,
            used: false,
            message: "image is referenced in multiple repositories".to_string(),
        });
    }
    if let Some((cid, _)) = containers.iter().find(|(_, running)| !*running) {
        return Some(Conflict {
            id: id.to_string(),
            hard: false,
            used: true,
            message: format!("image is being used by stopped container {}", short(cid)),
        });
    }
    None
}

/// Items of a pure OCI layout (no manifest.json): tags from the index annotations.
fn oci_items(ar: &SaveArchive) -> Result<Vec<ManifestItem>, ImageError> {
    let index: layout::Index = serde_json::from_slice(&ar.read("index.json")?)
        .map_err(|e| invalid_archive(format!("invalid index.json: {e}")))?;
    let blob = |d: &str| format!("blobs/{}", d.replacen(':', "/", 1));
    let mut items = Vec::new();
    let mut stack = index.manifests;
    stack.reverse();
    while let Some(desc) = stack.pop() {
        let digest = desc.digest.as_str();
        let mt = desc.media_type.as_str();
        let body: layout::ManifestOrIndex = serde_json::from_slice(&ar.read(&blob(digest))?)
            .map_err(|e| invalid_archive(format!("invalid manifest {digest}: {e}")))?;
        if mt.contains("index") || mt.contains("manifest.list") || body.manifests.is_some() {
            // Pick this platform's manifest from a nested index.
            let subs = body.manifests.unwrap_or_default();
            let pick = subs
                .iter()
                .find(|m| m.platform.as_ref().map(|p| p.architecture.as_str()) == Some(go_arch()))
                .or(subs.first())
                .cloned();
            if let Some(mut p) = pick {
                // The name is on the outer index's entry.
                if desc.annotations.is_some() {
                    p.annotations = desc.annotations.clone();
                }
                stack.push(p);
            }
            continue;
        }
        let name = desc
            .annotation("io.containerd.image.name")
            .map(str::to_string)
            .or_else(|| {
                desc.annotation("org.opencontainers.image.ref.name")
                    .filter(|n| Reference::parse_normalized(n).is_ok_and(|r| r.tag().is_some()))
                    .map(str::to_string)
            });
        let config = body
            .config
            .map(|c| c.digest)
            .filter(|d| !d.is_empty())
            .ok_or_else(|| invalid_archive(format!("manifest {digest} has no config")))?;
        let layers = body
            .layers
            .iter()
            .filter(|l| !l.digest.is_empty())
            .map(|l| blob(&l.digest))
            .collect();
        let tags = name
            .and_then(|n| Reference::parse_normalized(&n).ok())
            .map(|r| vec![r.familiar_string()]);
        items.push(ManifestItem {
            config: blob(&config),
            repo_tags: tags,
            layers,
        });
    }
    Ok(items)
}

/// The `created` time of an image config in Unix seconds (0 when absent or before 1970).
fn created_secs(config: &[u8]) -> u64 {
    #[derive(Deserialize)]
    struct Created {
        #[serde(default)]
        created: String,
    }
    serde_json::from_slice::<Created>(config)
        .ok()
        .and_then(|c| chrono::DateTime::parse_from_rfc3339(&c.created).ok())
        .map(|t| t.timestamp().max(0) as u64)
        .unwrap_or(0)
}

fn append_dir<W: Write>(tw: &mut tar::Builder<W>, name: &str) -> Result<(), ImageError> {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Directory);
    h.set_mode(0o755);
    h.set_size(0);
    h.set_mtime(0);
    tw.append_data(&mut h, name, io::empty())
        .ctx(|| format!("writing {name}"))
}

fn append_file<W: Write>(
    tw: &mut tar::Builder<W>,
    name: &str,
    size: u64,
    r: impl Read,
) -> Result<(), ImageError> {
    append_file_at(tw, name, size, r, 0)
}

/// [`append_file`] dated `mtime` (Unix seconds).
fn append_file_at<W: Write>(
    tw: &mut tar::Builder<W>,
    name: &str,
    size: u64,
    r: impl Read,
    mtime: u64,
) -> Result<(), ImageError> {
    let mut h = tar::Header::new_ustar();
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o644);
    h.set_size(size);
    h.set_mtime(mtime);
    tw.append_data(&mut h, name, r)
        .ctx(|| format!("writing {name}"))
}

fn rand_suffix() -> String {
    let mut h = Sha256::new();
    h.update(
        format!(
            "{:?}{:?}",
            std::time::SystemTime::now(),
            std::thread::current().id()
        )
        .as_bytes(),
    );
    hex::encode(&h.finalize()[..6])
}

/// Removes a file, symlink or directory tree; overlay whiteouts and immutable-free trees
/// only, so std's remove_dir_all (which does not follow symlinks) is enough.
fn remove_any(p: &Path) -> io::Result<()> {
    match fs::symlink_metadata(p) {
        Ok(m) if m.is_dir() => fs::remove_dir_all(p),
        Ok(_) => fs::remove_file(p),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(e),
    }
}

/// `keep(os, architecture, variant)`: whether `load --platform` loads an image of that
/// platform.
pub type PlatformFilter<'a> = dyn Fn(&str, &str, Option<&str>) -> bool + 'a;
