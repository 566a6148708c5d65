//! `docker pull`: manifest (or index, then the platform's manifest), config, then every
//! missing layer on its own thread (at most `max_concurrent_downloads`), each streamed
//! through the store's verified ingest. Nothing is referenced until every digest matched.
//!
//! The blob and the unpacked layer are written under temp names (`*.tmp*`, `layers/.tmp-*`,
//! removed at open) and renamed into place only after both digests matched; a layer whose
//! bytes do not match is discarded, and a blob stream that ends before its Content-Length
//! fails as "unexpected EOF". Schema 1 manifests are refused with Docker's notice;
//! RepoDigests record the digest the tag resolved to. Docker Hub pulls try daemon.json's
//! `registry-mirrors` in order (any failure falls to the next, then to Hub). An error
//! before the first progress message is a plain HTTP error (404 for an unknown tag).

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use berth_image::{ImageStore, IngestedLayer, Reference};
use sha2::{Digest, Sha256};

use crate::auth::AuthConfig;
use crate::client::{read_small, registry_host, status_error, RegistryConfig, Session};
use crate::documents::{
    self, ConfigHead, TagList, MT_DOCKER_LIST, MT_DOCKER_MANIFEST, MT_OCI_INDEX, MT_OCI_MANIFEST,
    MT_SCHEMA1, MT_SCHEMA1_PLAIN,
};
use crate::error::RegistryError;
use crate::progress::{self, Progress};

const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.v1+prettyjws";

const LAYER_TYPES: &[&str] = &[
    "application/vnd.docker.image.rootfs.diff.tar.gzip",
    "application/vnd.docker.image.rootfs.diff.tar",
    "application/vnd.oci.image.layer.v1.tar",
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar+zstd",
    "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
    "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
];

pub struct PullOptions {
    /// Name-only means every tag (`pull -a`).
    pub reference: Reference,
    /// `os[/arch[/variant]]`; the host's when absent.
    pub platform: Option<String>,
    pub auth: AuthConfig,
    /// Set when the client went away: the pull stops (moby's pull follows the request's
    /// context), nothing is committed.
    pub cancel: Arc<AtomicBool>,
}

pub struct PullOutcome {
    /// (reference pulled, image id) per tag.
    pub images: Vec<(Reference, String)>,
}

pub(crate) fn sha256_digest(b: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(b)))
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Platform {
    pub(crate) os: String,
    pub(crate) arch: String,
    pub(crate) variant: Option<String>,
}

fn normalize_arch(a: &str) -> &str {
    match a {
        "x86_64" | "x86-64" => "amd64",
        "aarch64" => "arm64",
        "i386" => "386",
        other => other,
    }
}

pub(crate) fn parse_platform(s: Option<&str>) -> Result<(Platform, bool), RegistryError> {
    let Some(s) = s.filter(|s| !s.is_empty()) else {
        let (os, arch, variant) = crate::host_platform();
        return Ok((Platform { os, arch, variant }, false));
    };
    let parts: Vec<&str> = s.split('/').collect();
    let bad = || {
        RegistryError::InvalidArgument(format!(
            "\"{s}\": unknown operating system or architecture: invalid argument"
        ))
    };
    if parts.iter().any(|p| p.is_empty()) || parts.len() > 3 {
        return Err(bad());
    }
    let (os, arch, variant) = match parts.as_slice() {
        [os] if *os == "linux" => (os.to_string(), crate::host_platform().1, None),
        [arch] => ("linux".to_string(), normalize_arch(arch).to_string(), None),
        [os, arch] => (os.to_string(), normalize_arch(arch).to_string(), None),
        [os, arch, v] => (
            os.to_string(),
            normalize_arch(arch).to_string(),
            Some(v.to_string()),
        ),
        _ => return Err(bad()),
    };
    if !["linux", "windows", "darwin", "freebsd"].contains(&os.as_str()) {
        return Err(bad());
    }
    Ok((Platform { os, arch, variant }, true))
}

fn platform_string(p: &Platform) -> String {
    match &p.variant {
        Some(v) => format!("{}/{}/{v}", p.os, p.arch),
        None => format!("{}/{}", p.os, p.arch),
    }
}

/// Whether a platform `(os, architecture, variant)` is the one wanted (arm64's variant
/// defaults to v8; no variant wanted matches any).
pub(crate) fn matches(want: &Platform, (os, arch, variant): (&str, &str, Option<&str>)) -> bool {
    if os != want.os || normalize_arch(arch) != want.arch {
        return false;
    }
    let got = match variant.unwrap_or("") {
        "" if want.arch == "arm64" => "v8",
        x => x,
    };
    match &want.variant {
        Some(w) => got == w,
        None => true,
    }
}

pub(crate) fn schema1_error(r: &Reference) -> RegistryError {
    RegistryError::Invalid(format!(
        "[DEPRECATION NOTICE] Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has been removed. Suggest the author of {} to upgrade the image to the OCI Format or Docker Image manifest v2, schema 2. More information at https://docs.docker.com/go/deprecated-image-specs/",
        r.familiar_string()
    ))
}

/// Fetches a manifest by tag or digest; returns (media type, bytes, digest).
fn get_manifest(
    s: &Session,
    r: &Reference,
    by: &str,
) -> Result<(String, Vec<u8>, String), RegistryError> {
    let url = s.url(&format!("manifests/{by}"));
    let resp = s.fetch("GET", &url, Some(ACCEPT))?;
    let code = resp.status().as_u16();
    if code == 404 {
        let (_, text) = status_error(resp);
        return Err(RegistryError::NotFound(format!(
            "manifest for {} not found: {text}",
            r.familiar_string()
        )));
    }
    if code == 401 || code == 403 {
        let (_, text) = status_error(resp);
        return Err(RegistryError::Unauthorized(format!(
            "pull access denied for {}, repository does not exist or may require 'docker login': {text}",
            r.familiar_name()
        )));
    }
    if !(200..300).contains(&code) {
        let (_, text) = status_error(resp);
        return Err(RegistryError::Transport(format!(
            "error fetching manifest for {}: {text}",
            r.familiar_string()
        )));
    }
    let ct = crate::client::media_type(&resp);
    let body = read_small(resp, 8 << 20)?;
    let digest = sha256_digest(&body);
    if by.starts_with("sha256:") && digest != by {
        return Err(RegistryError::Invalid(format!(
            "manifest verification failed for digest {by}"
        )));
    }
    let mt = documents::media_type(&body, &ct)?;
    if mt == MT_SCHEMA1 || mt == MT_SCHEMA1_PLAIN {
        return Err(schema1_error(r));
    }
    Ok((mt, body, digest))
}

fn get_blob_small(s: &Session, digest: &str) -> Result<Vec<u8>, RegistryError> {
    let url = s.url(&format!("blobs/{digest}"));
    let resp = s.fetch("GET", &url, None)?;
    if !resp.status().is_success() {
        let (_, text) = status_error(resp);
        return Err(RegistryError::Transport(format!(
            "error fetching blob {digest}: {text}"
        )));
    }
    let body = read_small(resp, 32 << 20)?;
    if sha256_digest(&body) != digest {
        return Err(RegistryError::Invalid(format!(
            "blob verification failed for digest {digest}"
        )));
    }
    Ok(body)
}

/// Pulls the reference (every tag when it is name-only).
pub fn pull(
    store: &ImageStore,
    cfg: &RegistryConfig,
    opts: &PullOptions,
    progress: &Progress,
) -> Result<PullOutcome, RegistryError> {
    let r = &opts.reference;
    let (platform, explicit) = parse_platform(opts.platform.as_deref())?;
    // Docker Hub images come from the mirrors first, in order; any failure there falls
    // back to the next one, then to Docker Hub itself (docker's order).
    if r.domain() == berth_image::reference::DEFAULT_DOMAIN {
        for m in &cfg.registry_mirrors {
            let tried = Session::open_mirror(cfg, m, r.path(), &opts.auth)
                .and_then(|s| pull_from(store, cfg, opts, &s, &platform, explicit, progress));
            match tried {
                Ok(out) => return Ok(out),
                Err(e) => tracing::warn!(mirror = %m, error = %e, "mirror failed, trying the next"),
            }
        }
    }
    let host = registry_host(r.domain());
    let session = Session::open(cfg, &host, r.path(), &opts.auth, "pull")?;
    pull_from(store, cfg, opts, &session, &platform, explicit, progress)
}

fn pull_from(
    store: &ImageStore,
    cfg: &RegistryConfig,
    opts: &PullOptions,
    session: &Session,
    platform: &Platform,
    explicit: bool,
    progress: &Progress,
) -> Result<PullOutcome, RegistryError> {
    let r = &opts.reference;
    let refs: Vec<Reference> = if r.tag().is_none() && r.digest().is_none() {
        let url = session.url("tags/list");
        let resp = session.fetch("GET", &url, None)?;
        if !resp.status().is_success() {
            let (_, text) = status_error(resp);
            return Err(RegistryError::NotFound(format!(
                "repository {} not found: {text}",
                r.familiar_name()
            )));
        }
        let list: TagList = serde_json::from_slice(&read_small(resp, 8 << 20)?)
            .map_err(|e| RegistryError::Invalid(format!("invalid tag list: {e}")))?;
        let mut tags = list.tags.unwrap_or_default();
        tags.sort();
        tags.into_iter().map(|t| r.with_tag(&t)).collect()
    } else {
        vec![r.clone()]
    };
    let mut out = Vec::new();
    let mut updated = false;
    for one in &refs {
        let (id, new) = pull_one(
            store,
            cfg,
            session,
            one,
            platform,
            explicit,
            progress,
            &opts.cancel,
        )?;
        updated |= new;
        out.push((one.clone(), id));
    }
    let shown = if refs.len() == 1 && (r.tag().is_some() || r.digest().is_some()) {
        r.familiar_string()
    } else {
        r.familiar_name()
    };
    progress(progress::status(
        None,
        &if updated {
            format!("Status: Downloaded newer image for {shown}")
        } else {
            format!("Status: Image is up to date for {shown}")
        },
    ));
    Ok(PullOutcome { images: out })
}

#[allow(clippy::too_many_arguments)]
fn pull_one(
    store: &ImageStore,
    cfg: &RegistryConfig,
    s: &Session,
    r: &Reference,
    platform: &Platform,
    explicit: bool,
    progress: &Progress,
    cancel: &AtomicBool,
) -> Result<(String, bool), RegistryError> {
    let by = r.digest().or(r.tag()).unwrap_or("latest").to_string();
    let (mt, body, top_digest) = get_manifest(s, r, &by)?;
    progress(progress::message(
        &by,
        &format!("Pulling from {}", r.path()),
    ));
    let (mt, body) = if mt == MT_OCI_INDEX || mt == MT_DOCKER_LIST {
        let index = documents::parse_index(&body)?;
        let pick = index
            .manifests()
            .iter()
            .filter_map(|m| {
                let p = documents::platform_strings(m.platform().as_ref()?);
                let wanted = matches(platform, (&p.0, &p.1, p.2.as_deref()));
                wanted.then_some((m, p.2))
            })
            // An exact variant match first (a missing one matches any).
            .max_by_key(|(_, variant)| variant.as_deref() == platform.variant.as_deref())
            .ok_or_else(|| {
                RegistryError::NotFound(format!(
                    "no matching manifest for {} in the manifest list entries",
                    platform_string(platform)
                ))
            })?;
        let d = pick.0.digest().to_string();
        let (mt2, body2, _) = get_manifest(s, r, &d)?;
        (mt2, body2)
    } else {
        (mt, body)
    };
    if mt != MT_OCI_MANIFEST && mt != MT_DOCKER_MANIFEST {
        return Err(RegistryError::Invalid(format!(
            "unsupported manifest media type {mt} for {}",
            r.familiar_string()
        )));
    }
    let m = documents::parse_manifest(&body)?;
    let config_digest = m.config().digest().to_string();
    let config = if store.has_blob(&config_digest) {
        store.read_blob(&config_digest)?
    } else {
        get_blob_small(s, &config_digest)?
    };
    let cfgv: ConfigHead = serde_json::from_slice(&config)
        .map_err(|e| RegistryError::Invalid(format!("invalid image config: {e}")))?;
    if explicit {
        let got = Platform {
            os: cfgv.os.clone().unwrap_or_default(),
            arch: cfgv.architecture.clone().unwrap_or_default(),
            variant: cfgv.variant.clone(),
        };
        if !matches(platform, (&got.os, &got.arch, got.variant.as_deref())) {
            return Err(RegistryError::NotFound(format!(
                "image with reference {} was found but does not match the specified platform: wanted {}, actual: {}",
                r.familiar_string(),
                platform_string(platform),
                platform_string(&got)
            )));
        }
    }
    let diff_ids: Vec<String> = cfgv.rootfs.and_then(|r| r.diff_ids).unwrap_or_default();
    let layers = m.layers();
    if layers.len() != diff_ids.len() {
        return Err(RegistryError::Invalid(format!(
            "invalid manifest, layers length mismatch: expected {}, got {}",
            diff_ids.len(),
            layers.len()
        )));
    }
    let mut descs = Vec::new();
    for l in layers {
        let mt = l.media_type().to_string();
        if !LAYER_TYPES.contains(&mt.as_str()) {
            return Err(RegistryError::Invalid(format!(
                "unsupported layer media type {mt}"
            )));
        }
        let d = l.digest().to_string();
        if !(d.starts_with("sha256:") && d.len() == 71) {
            return Err(RegistryError::Invalid(
                "invalid layer digest in manifest".into(),
            ));
        }
        descs.push((d, l.size(), mt));
    }
    let chains = berth_image::store::chain_ids(&diff_ids);

    // Layers already here are skipped; the rest download concurrently.
    let results: Vec<Mutex<Option<IngestedLayer>>> =
        (0..descs.len()).map(|_| Mutex::new(None)).collect();
    let mut todo = Vec::new();
    for (i, (d, _, mt)) in descs.iter().enumerate() {
        if let Some(l) = store.existing_layer(&chains[i], d, mt) {
            progress(progress::status(
                Some(&progress::short(d)),
                "Already exists",
            ));
            *results[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(l);
        } else {
            todo.push(i);
        }
    }
    let max = cfg.max_concurrent_downloads.max(1);
    for (n, i) in todo.iter().enumerate() {
        let id = progress::short(&descs[*i].0);
        progress(progress::status(Some(&id), "Pulling fs layer"));
        if n >= max {
            progress(progress::status(Some(&id), "Waiting"));
        }
    }
    let next = AtomicUsize::new(0);
    let failed = AtomicBool::new(false);
    let first_err: Mutex<Option<RegistryError>> = Mutex::new(None);
    std::thread::scope(|sc| {
        for _ in 0..max.min(todo.len()) {
            sc.spawn(|| loop {
                if failed.load(Ordering::Relaxed) {
                    return;
                }
                if cancel.load(Ordering::Relaxed) {
                    failed.store(true, Ordering::Relaxed);
                    let mut fe = first_err.lock().unwrap_or_else(|p| p.into_inner());
                    fe.get_or_insert(RegistryError::Transport("context canceled".into()));
                    return;
                }
                let k = next.fetch_add(1, Ordering::Relaxed);
                let Some(&i) = todo.get(k) else {
                    return;
                };
                let parent = if i == 0 {
                    None
                } else {
                    Some(chains[i - 1].as_str())
                };
                match fetch_layer(
                    store,
                    s,
                    &descs[i].0,
                    descs[i].1,
                    &diff_ids[i],
                    parent,
                    progress,
                    cancel,
                ) {
                    Ok(l) => {
                        *results[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(l);
                    }
                    Err(e) => {
                        failed.store(true, Ordering::Relaxed);
                        let mut fe = first_err.lock().unwrap_or_else(|p| p.into_inner());
                        if fe.is_none() {
                            *fe = Some(e);
                        }
                        return;
                    }
                }
            });
        }
    });
    if let Some(e) = first_err.into_inner().unwrap_or_else(|p| p.into_inner()) {
        return Err(e);
    }
    let ingested: Vec<IngestedLayer> = results
        .into_iter()
        .map(|m| m.into_inner().unwrap_or_else(|p| p.into_inner()))
        .collect::<Option<Vec<_>>>()
        .ok_or_else(|| RegistryError::Invalid("a layer was not pulled".into()))?;

    let id = sha256_digest(&config);
    let tag_ref = r.tag().map(|_| r.clone());
    let before = tag_ref
        .as_ref()
        .and_then(|t| store.get(&t.to_string()).ok())
        .map(|i| i.id);
    let had_digest = store.get(&format!("{}@{top_digest}", r.name())).is_ok();
    let repo_digest = Reference::parse_normalized(&format!("{}@{top_digest}", r.name()))?;
    let id2 = store.commit_pulled(&config, ingested, tag_ref.as_ref(), &repo_digest)?;
    debug_assert_eq!(id, id2);
    progress(progress::status(None, &format!("Digest: {top_digest}")));
    let new = !todo.is_empty()
        || match tag_ref {
            Some(_) => before.as_deref() != Some(id2.as_str()),
            None => !had_digest,
        };
    tracing::info!(reference = %r, id = %id2, "image pulled");
    Ok((id2, new))
}

/// A blob stream that fails once the pull is cancelled (its client went away).
struct Cancellable<'a, R> {
    inner: R,
    cancel: &'a AtomicBool,
}

impl<R: std::io::Read> std::io::Read for Cancellable<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.cancel.load(Ordering::Relaxed) {
            return Err(std::io::Error::other("context canceled"));
        }
        self.inner.read(buf)
    }
}

/// Notes a blob stream that broke or ended before its Content-Length.
struct EofWatch<R> {
    inner: R,
    got: u64,
    want: u64,
    cut: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl<R: std::io::Read> std::io::Read for EofWatch<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        match self.inner.read(buf) {
            Ok(0) if !buf.is_empty() && self.got < self.want => {
                self.cut.store(true, std::sync::atomic::Ordering::Relaxed);
                Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "unexpected EOF",
                ))
            }
            Ok(n) => {
                self.got += n as u64;
                Ok(n)
            }
            Err(e) => {
                self.cut.store(true, std::sync::atomic::Ordering::Relaxed);
                Err(e)
            }
        }
    }
}

/// Wraps a blob stream to report "Downloading" progress (at most every 100 ms).
#[allow(clippy::too_many_arguments)]
fn fetch_layer(
    store: &ImageStore,
    s: &Session,
    digest: &str,
    size: u64,
    diff_id: &str,
    parent: Option<&str>,
    progress: &Progress,
    cancel: &AtomicBool,
) -> Result<IngestedLayer, RegistryError> {
    let id = progress::short(digest);
    let url = s.url(&format!("blobs/{digest}"));
    let resp = s.fetch("GET", &url, None)?;
    if !resp.status().is_success() {
        let (_, text) = status_error(resp);
        return Err(RegistryError::Transport(format!(
            "error pulling layer {digest}: {text}"
        )));
    }
    let total = resp
        .headers()
        .get("content-length")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .unwrap_or(size);
    let cut = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = Cancellable {
        inner: EofWatch {
            inner: resp.into_body().into_reader(),
            got: 0,
            want: total,
            cut: cut.clone(),
        },
        cancel,
    };
    let p = progress.clone();
    let pid = id.clone();
    let mut done = 0u64;
    // moby's progress reader: the first update at once (its rate limiter starts with a
    // token), then at most every 100 ms; the last one when the layer is complete.
    let mut last: Option<Instant> = None;
    let cb = Box::new(move |n: u64| {
        done += n;
        if n > 0 && (done >= total || last.is_none_or(|t| t.elapsed().as_millis() >= 100)) {
            last = Some(Instant::now());
            p(progress::bar(&pid, "Downloading", done, total));
        }
    });
    let l = store
        .ingest_layer(reader, digest, diff_id, parent, cb)
        .map_err(|e| {
            // A connection that ended early is what failed, whatever the unpacker made of
            // the short stream: docker's words for it.
            if cancel.load(Ordering::Relaxed) {
                return RegistryError::Transport("context canceled".to_string());
            }
            if cut.load(std::sync::atomic::Ordering::Relaxed) {
                return RegistryError::Transport("unexpected EOF".to_string());
            }
            match e {
                berth_image::ImageError::InvalidArchive(m) => RegistryError::Invalid(m),
                other => RegistryError::Image(other),
            }
        })?;
    progress(progress::status(Some(&id), "Verifying Checksum"));
    progress(progress::status(Some(&id), "Download complete"));
    // berth unpacks while it downloads, so the extraction is whole by now: moby's last
    // "Extracting" bar (the blob's bytes, all read), which docker compose renders.
    progress(progress::bar(&id, "Extracting", total, total));
    progress(progress::status(Some(&id), "Pull complete"));
    Ok(l)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platforms() {
        let (p, explicit) = parse_platform(Some("linux/arm64")).unwrap_or_else(|e| panic!("{e}"));
        assert!(explicit);
        assert_eq!((p.os.as_str(), p.arch.as_str()), ("linux", "arm64"));
        assert!(matches(&p, ("linux", "arm64", Some("v8"))));
        assert!(matches(&p, ("linux", "aarch64", None)));
        assert!(!matches(&p, ("linux", "amd64", None)));
        assert!(parse_platform(Some("linux//x")).is_err());
        assert!(parse_platform(Some("plan9/amd64")).is_err());
        let (v, _) = parse_platform(Some("linux/arm/v7")).unwrap_or_else(|e| panic!("{e}"));
        assert!(!matches(&v, ("linux", "arm", Some("v6"))));
        assert!(matches(&v, ("linux", "arm", Some("v7"))));
    }
}
