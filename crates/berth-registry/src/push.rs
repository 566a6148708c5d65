//! `docker push`: every layer blob (HEAD first: the registry may have it), the config, then
//! the manifest per tag. Layers upload concurrently (`max_concurrent_uploads`); blobs up to
//! `MONOLITHIC_MAX` go in one PUT, larger ones in PATCH chunks, then a closing PUT.
//!
//! Monolithic up to 32 MiB, PATCH chunks of 64 MiB above; the manifest is an OCI one. A
//! layer stored uncompressed (loaded, committed) goes out gzip (level 1) as docker sends
//! it: the copy is made once per diff id and kept (`content/gzip/<diffid>` → blob digest,
//! `ImageStore::gzip_layer`; dropped with the last image holding the layer), so the pushed
//! digest stays the same from push to push. Before uploading a missing blob the push tries
//! a cross-repository mount (`POST blobs/uploads/?mount=&from=`) from each repository of
//! the same registry that the store's RepoDigests say holds the layer ("Mounted from
//! REPO"); a 202 answer becomes the upload.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use berth_image::{ImageStore, PushLayer, Reference, MT_OCI_LAYER_GZIP};

use crate::auth::AuthConfig;
use crate::client::{registry_host, status_error, RegistryConfig, Session};
use crate::documents::{self, MT_OCI_MANIFEST};
use crate::error::RegistryError;
use crate::progress::{self, Progress};
use crate::pull::sha256_digest;

const MONOLITHIC_MAX: u64 = 32 << 20;
const CHUNK: u64 = 64 << 20;

pub struct PushOutcome {
    /// (tag, manifest digest, manifest size).
    pub pushed: Vec<(String, String, usize)>,
}

/// Counts bytes read and reports "Pushing" progress; fails once the push is cancelled
/// (its client went away), which aborts the upload request it feeds.
struct Counting<'a, R> {
    inner: R,
    done: u64,
    total: u64,
    last: Instant,
    id: &'a str,
    progress: &'a Progress,
    cancel: &'a AtomicBool,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.cancel.load(Ordering::Relaxed) {
            return Err(std::io::Error::other("context canceled"));
        }
        let n = self.inner.read(buf)?;
        self.done += n as u64;
        if self.last.elapsed().as_millis() >= 100 {
            self.last = Instant::now();
            (self.progress)(progress::bar(self.id, "Pushing", self.done, self.total));
        }
        Ok(n)
    }
}

fn blob_exists(s: &Session, digest: &str) -> Result<bool, RegistryError> {
    let r = s.fetch("HEAD", &s.url(&format!("blobs/{digest}")), None)?;
    let code = r.status().as_u16();
    if code == 401 || code == 403 {
        return Err(denied(s, code));
    }
    Ok(code == 200)
}

/// A push refused: a 401 from a registry that asks for basic credentials nobody gave is
/// distribution's "no basic auth credentials" (what docker push prints), anything else
/// the registry's denial.
fn denied(s: &Session, code: u16) -> RegistryError {
    if code == 401 && s.lacks_basic_credentials() {
        return RegistryError::Unauthorized("no basic auth credentials".into());
    }
    RegistryError::Unauthorized(format!(
        "denied: requested access to the resource is denied ({})",
        s.repo
    ))
}

fn with_digest(url: &str, digest: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}digest={digest}")
}

fn location(s: &Session, r: &crate::client::Resp) -> Result<String, RegistryError> {
    r.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .map(|l| s.resolve(l))
        .ok_or_else(|| {
            RegistryError::Transport("registry answered an upload without Location".into())
        })
}

fn check(
    r: crate::client::Resp,
    what: &str,
    s: &Session,
) -> Result<crate::client::Resp, RegistryError> {
    let code = r.status().as_u16();
    if (200..300).contains(&code) {
        return Ok(r);
    }
    if code == 401 || code == 403 {
        return Err(denied(s, code));
    }
    let (_, text) = status_error(r);
    Err(RegistryError::Transport(format!("{what}: {text}")))
}

/// Uploads one blob from a reader of `size` bytes (into the upload at `started`, if a mount
/// attempt already opened one).
fn upload<'a>(
    s: &Session,
    digest: &str,
    size: u64,
    started: Option<String>,
    open: &mut dyn FnMut(u64) -> Result<Box<dyn Read + 'a>, RegistryError>,
) -> Result<(), RegistryError> {
    let mut loc = match started {
        Some(l) => l,
        None => {
            let start = s.send_bytes("POST", &s.url("blobs/uploads/"), &[], &[])?;
            let start = check(start, "starting upload", s)?;
            location(s, &start)?
        }
    };
    let octet = ("Content-Type", "application/octet-stream".to_string());
    if size <= MONOLITHIC_MAX {
        let mut body = open(0)?;
        let r = s.send(
            "PUT",
            &with_digest(&loc, digest),
            &[octet],
            Some((&mut body, size)),
        )?;
        check(r, "uploading blob", s)?;
        return Ok(());
    }
    let mut off = 0u64;
    while off < size {
        let n = CHUNK.min(size - off);
        let mut body = open(off)?;
        let mut limited = (&mut body).take(n);
        let range = ("Content-Range", format!("{off}-{}", off + n - 1));
        let r = s.send(
            "PATCH",
            &loc,
            &[octet.clone(), range],
            Some((&mut limited, n)),
        )?;
        let r = check(r, "uploading blob chunk", s)?;
        loc = location(s, &r)?;
        off += n;
    }
    let r = s.send("PUT", &with_digest(&loc, digest), &[octet], None)?;
    check(r, "completing upload", s)?;
    Ok(())
}

/// Is this an uncompressed layer media type (docker sends every layer compressed)?
fn is_uncompressed(media_type: &str) -> bool {
    media_type.ends_with(".tar")
}

/// The blob a layer goes out as: the stored one, or its gzip copy if it is stored plain.
fn wire_layer(store: &ImageStore, l: &PushLayer) -> Result<PushLayer, RegistryError> {
    if !is_uncompressed(&l.media_type) {
        return Ok(l.clone());
    }
    let c = store.gzip_layer(&l.diff_id, &l.path)?;
    Ok(PushLayer {
        diff_id: l.diff_id.clone(),
        digest: c.digest,
        media_type: MT_OCI_LAYER_GZIP.to_string(),
        size: c.size,
        path: c.path,
    })
}

/// Tries a cross-repository mount of `digest` from each of `sources` (repository paths of the
/// same registry). Ok(Ok(from)) when mounted; Ok(Err(location)) when the registry opened a
/// plain upload instead (it does when the blob is not there or `from` is not readable).
fn try_mount(
    s: &Session,
    digest: &str,
    sources: &[String],
) -> Result<Result<String, Option<String>>, RegistryError> {
    let mut started = None;
    for from in sources {
        let url = s.url(&format!(
            "blobs/uploads/?mount={digest}&from={}",
            percent_encoding::utf8_percent_encode(from, percent_encoding::NON_ALPHANUMERIC)
        ));
        let r = s.send_bytes("POST", &url, &[], &[])?;
        match r.status().as_u16() {
            201 => return Ok(Ok(from.clone())),
            202 => {
                let loc = location(s, &r)?;
                // A started upload that we do not use would linger until the registry
                // purges it: cancel it unless it becomes the one we upload into.
                if let Some(prev) = started.replace(loc) {
                    let _ = s.send_bytes("DELETE", &prev, &[], &[]);
                }
            }
            code => {
                tracing::debug!(%digest, %from, code, "blob mount refused");
            }
        }
    }
    Ok(Err(started))
}

fn push_layer(
    s: &Session,
    l: &PushLayer,
    mount_from: &[String],
    progress: &Progress,
    cancel: &AtomicBool,
) -> Result<(), RegistryError> {
    let id = progress::short(&l.diff_id);
    if blob_exists(s, &l.digest)? {
        progress(progress::status(Some(&id), "Layer already exists"));
        return Ok(());
    }
    let started = match try_mount(s, &l.digest, mount_from)? {
        Ok(from) => {
            progress(progress::status(Some(&id), &format!("Mounted from {from}")));
            return Ok(());
        }
        Err(started) => started,
    };
    let mut open = |off: u64| -> Result<Box<dyn Read + '_>, RegistryError> {
        let mut f = File::open(&l.path).map_err(|e| {
            RegistryError::Image(berth_image::ImageError::Io {
                context: format!("opening layer blob {}", l.digest),
                source: e,
            })
        })?;
        f.seek(SeekFrom::Start(off)).map_err(|e| {
            RegistryError::Transport(format!("reading layer blob {}: {e}", l.digest))
        })?;
        Ok(Box::new(Counting {
            inner: std::io::BufReader::with_capacity(256 * 1024, f),
            done: off,
            total: l.size,
            last: Instant::now(),
            id: &id,
            progress,
            cancel,
        }))
    };
    upload(s, &l.digest, l.size, started, &mut open)?;
    progress(progress::status(Some(&id), "Pushed"));
    Ok(())
}

/// Repository paths on the registry of `target` other than its own that hold the layer.
fn mount_sources(store: &ImageStore, target: &Reference, diff_id: &str) -> Vec<String> {
    let mut out: Vec<String> = store
        .layer_sources(diff_id)
        .into_iter()
        .filter(|r| r.domain() == target.domain() && r.path() != target.path())
        .map(|r| r.path().to_string())
        .collect();
    out.dedup();
    out
}

/// A push whose `cancel` was set (its client went away): moby's push follows the request
/// context, so no further blob is started or read, and no manifest is written.
fn cancelled(cancel: &AtomicBool) -> Result<(), RegistryError> {
    if cancel.load(Ordering::Relaxed) {
        return Err(RegistryError::Transport("context canceled".into()));
    }
    Ok(())
}

/// Pushes `reference` (every local tag of the repository when it is name-only). Once
/// `cancel` is set the push stops: the upload being sent fails at its next read, and no
/// other blob or manifest goes out (see [`cancelled`]).
pub fn push(
    store: &ImageStore,
    cfg: &RegistryConfig,
    reference: &Reference,
    auth: &AuthConfig,
    progress: &Progress,
    cancel: &AtomicBool,
) -> Result<PushOutcome, RegistryError> {
    let tags: Vec<Reference> = if reference.tag().is_none() {
        let t = store.repo_tags(reference);
        if t.is_empty() {
            return Err(RegistryError::NotFound(format!(
                "An image does not exist locally with the tag: {}",
                reference.familiar_name()
            )));
        }
        t
    } else {
        vec![reference.clone()]
    };
    // Resolve every image before talking to the registry.
    let mut images = Vec::new();
    for t in &tags {
        let img = store.push_image(&t.to_string()).map_err(|e| match e {
            berth_image::ImageError::NotFound(_) => RegistryError::NotFound(format!(
                "An image does not exist locally with the tag: {}",
                t.familiar_name()
            )),
            other => RegistryError::Image(other),
        })?;
        images.push((t.clone(), img));
    }
    progress(progress::status(
        None,
        &format!("The push refers to repository [{}]", reference.name()),
    ));
    let host = registry_host(reference.domain());
    let s = Session::open(cfg, &host, reference.path(), auth, "pull,push")?;
    let mut out = Vec::new();
    let max = cfg.max_concurrent_uploads.max(1);
    for (tag, img) in &images {
        // Top layer first, as docker lists them.
        let layers: Vec<&PushLayer> = img.layers.iter().rev().collect();
        for (n, l) in layers.iter().enumerate() {
            let id = progress::short(&l.diff_id);
            progress(progress::status(Some(&id), "Preparing"));
            if n >= max {
                progress(progress::status(Some(&id), "Waiting"));
            }
        }
        // What each layer went out as (its gzip copy if stored plain), by index.
        let sent: Vec<Mutex<Option<PushLayer>>> = layers.iter().map(|_| Mutex::new(None)).collect();
        let next = AtomicUsize::new(0);
        let failed = AtomicBool::new(false);
        let first_err: Mutex<Option<RegistryError>> = Mutex::new(None);
        std::thread::scope(|sc| {
            for _ in 0..max.min(layers.len()) {
                sc.spawn(|| loop {
                    if failed.load(Ordering::Relaxed) {
                        return;
                    }
                    let k = next.fetch_add(1, Ordering::Relaxed);
                    let Some(l) = layers.get(k) else {
                        return;
                    };
                    let r = cancelled(cancel)
                        .and_then(|()| wire_layer(store, l))
                        .and_then(|w| {
                            let from = mount_sources(store, reference, &w.diff_id);
                            cancelled(cancel)?;
                            push_layer(&s, &w, &from, progress, cancel)?;
                            Ok(w)
                        });
                    match r {
                        Ok(w) => {
                            *sent[k].lock().unwrap_or_else(|p| p.into_inner()) = Some(w);
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
        cancelled(cancel)?;
        if !blob_exists(&s, &img.id)? {
            let mut open = |_off: u64| -> Result<Box<dyn Read + '_>, RegistryError> {
                Ok(Box::new(&img.config[..]))
            };
            upload(&s, &img.id, img.config.len() as u64, None, &mut open)?;
        }
        // `sent` is in push order (top first); the manifest lists layers bottom first.
        let mut wire = Vec::with_capacity(sent.len());
        for m in sent.into_iter().rev() {
            let w = m.into_inner().unwrap_or_else(|p| p.into_inner());
            wire.push(w.ok_or_else(|| RegistryError::Transport("a layer was not pushed".into()))?);
        }
        let layers: Vec<(String, String, u64)> = wire
            .iter()
            .map(|l| (l.media_type.clone(), l.digest.clone(), l.size))
            .collect();
        let body = documents::image_manifest(&img.id, img.config.len() as u64, &layers)?;
        cancelled(cancel)?;
        let digest = sha256_digest(&body);
        let t = tag.tag().unwrap_or("latest");
        let r = s.send_bytes(
            "PUT",
            &s.url(&format!("manifests/{t}")),
            &[("Content-Type", MT_OCI_MANIFEST.to_string())],
            &body,
        )?;
        check(r, "pushing manifest", &s)?;
        let repo_digest = Reference::parse_normalized(&format!("{}@{digest}", tag.name()))?;
        store.add_repo_digest(&img.id, &repo_digest)?;
        progress(progress::status(
            None,
            &format!("{t}: digest: {digest} size: {}", body.len()),
        ));
        let aux = berth_api::models::PushResult {
            tag: t.to_string(),
            digest: digest.clone(),
            size: body.len() as u64,
        };
        progress(berth_api::models::JsonMessage {
            progress_detail: Some(Default::default()),
            aux: serde_json::to_value(aux).ok(),
            ..Default::default()
        });
        tracing::info!(reference = %tag, %digest, "image pushed");
        out.push((t.to_string(), digest, body.len()));
    }
    Ok(PushOutcome { pushed: out })
}
