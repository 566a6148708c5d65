//! `docker push`: every layer blob (HEAD first: the registry may have it), the config, then
//! the manifest per tag. Layers upload concurrently (`max_concurrent_uploads`); blobs up to
//! `MONOLITHIC_MAX` go in one PUT, larger ones in PATCH chunks, then a closing PUT.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Mutex;
use std::time::Instant;

use berth_image::{ImageStore, PushLayer, Reference};
use serde_json::json;

use crate::auth::AuthConfig;
use crate::client::{registry_host, status_error, RegistryConfig, Session};
use crate::error::RegistryError;
use crate::progress::{self, Progress};
use crate::pull::{sha256_digest, MT_OCI_MANIFEST};

const MT_OCI_CONFIG: &str = "application/vnd.oci.image.config.v1+json";
const MONOLITHIC_MAX: u64 = 32 << 20;
const CHUNK: u64 = 64 << 20;

pub struct PushOutcome {
    /// (tag, manifest digest, manifest size).
    pub pushed: Vec<(String, String, usize)>,
}

/// Counts bytes read and reports "Pushing" progress.
struct Counting<'a, R> {
    inner: R,
    done: u64,
    total: u64,
    last: Instant,
    id: &'a str,
    progress: &'a Progress,
}

impl<R: Read> Read for Counting<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
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
        return Err(denied(s));
    }
    Ok(code == 200)
}

fn denied(s: &Session) -> RegistryError {
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
        return Err(denied(s));
    }
    let (_, text) = status_error(r);
    Err(RegistryError::Transport(format!("{what}: {text}")))
}

/// Uploads one blob from a reader of `size` bytes.
fn upload<'a>(
    s: &Session,
    digest: &str,
    size: u64,
    open: &mut dyn FnMut(u64) -> Result<Box<dyn Read + 'a>, RegistryError>,
) -> Result<(), RegistryError> {
    let start = s.send_bytes("POST", &s.url("blobs/uploads/"), &[], &[])?;
    let start = check(start, "starting upload", s)?;
    let mut loc = location(s, &start)?;
    drop(start);
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

fn push_layer(s: &Session, l: &PushLayer, progress: &Progress) -> Result<(), RegistryError> {
    let id = progress::short(&l.diff_id);
    if blob_exists(s, &l.digest)? {
        progress(progress::status(Some(&id), "Layer already exists"));
        return Ok(());
    }
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
        }))
    };
    upload(s, &l.digest, l.size, &mut open)?;
    progress(progress::status(Some(&id), "Pushed"));
    Ok(())
}

/// Pushes `reference` (every local tag of the repository when it is name-only).
pub fn push(
    store: &ImageStore,
    cfg: &RegistryConfig,
    reference: &Reference,
    auth: &AuthConfig,
    progress: &Progress,
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
                    if let Err(e) = push_layer(&s, l, progress) {
                        failed.store(true, Ordering::Relaxed);
                        let mut fe = first_err.lock().unwrap_or_else(|p| p.into_inner());
                        if fe.is_none() {
                            *fe = Some(e);
                        }
                        return;
                    }
                });
            }
        });
        if let Some(e) = first_err.into_inner().unwrap_or_else(|p| p.into_inner()) {
            return Err(e);
        }
        if !blob_exists(&s, &img.id)? {
            let mut open = |_off: u64| -> Result<Box<dyn Read + '_>, RegistryError> {
                Ok(Box::new(&img.config[..]))
            };
            upload(&s, &img.id, img.config.len() as u64, &mut open)?;
        }
        let manifest = json!({
            "schemaVersion": 2,
            "mediaType": MT_OCI_MANIFEST,
            "config": { "mediaType": MT_OCI_CONFIG, "digest": img.id, "size": img.config.len() },
            "layers": img.layers.iter().map(|l| json!({
                "mediaType": l.media_type, "digest": l.digest, "size": l.size,
            })).collect::<Vec<_>>(),
        });
        let body = serde_json::to_vec(&manifest)
            .map_err(|e| RegistryError::Invalid(format!("encoding manifest: {e}")))?;
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
        progress(json!({
            "progressDetail": {},
            "aux": { "Tag": t, "Digest": digest, "Size": body.len() },
        }));
        tracing::info!(reference = %tag, %digest, "image pushed");
        out.push((t.to_string(), digest, body.len()));
    }
    Ok(PushOutcome { pushed: out })
}
