//! `ADD http(s)://...`: the file is downloaded (always, as moby's classic builder does, so
//! the cache can key on its content rather than on the URL), checked against
//! `--checksum=sha256:...`, named after the URL's last path segment, and committed as a
//! layer through the same path as a context COPY (mode 0600, as docker gives it).

use super::{Builder, StageState};
use crate::error::{BuildError, Result};
use crate::instructions::{CopySpec, Instruction};
use std::io::Read;
use std::os::unix::fs::PermissionsExt;

pub(super) fn is_url(s: &str) -> bool {
    s.starts_with("http://") || s.starts_with("https://")
}

/// The file name the URL gives (its path's last segment).
fn url_name(url: &str) -> String {
    let rest = url.split_once("://").map(|(_, r)| r).unwrap_or(url);
    let path = rest.split(['?', '#']).next().unwrap_or("");
    let path = path.split_once('/').map(|(_, p)| p).unwrap_or("");
    path.rsplit('/').next().unwrap_or("").to_string()
}

/// The body, and the `Last-Modified` time that becomes the file's mtime (as docker does).
fn download(url: &str) -> Result<(Vec<u8>, Option<std::time::SystemTime>)> {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .build()
        .into();
    let resp = agent
        .get(url)
        .call()
        .map_err(|e| BuildError::invalid(format!("ADD failed: failed to GET {url}: {e}")))?;
    let status = resp.status();
    if !status.is_success() {
        return Err(BuildError::invalid(format!(
            "ADD failed: failed to GET {url} with status {} {}",
            status.as_u16(),
            status.canonical_reason().unwrap_or("")
        )));
    }
    let modified = resp
        .headers()
        .get("last-modified")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| chrono::DateTime::parse_from_rfc2822(v).ok())
        .map(std::time::SystemTime::from);
    let mut data = Vec::new();
    resp.into_body()
        .into_reader()
        .read_to_end(&mut data)
        .map_err(|e| BuildError::invalid(format!("ADD failed: reading {url}: {e}")))?;
    Ok((data, modified))
}

impl Builder {
    pub(super) async fn add_urls(
        &mut self,
        st: &mut StageState,
        ins: &Instruction,
        c: &CopySpec,
        srcs: &[String],
        dest: &str,
    ) -> Result<()> {
        if srcs.iter().any(|s| !is_url(s)) {
            return Err(BuildError::parse(
                ins.line,
                "berth's ADD cannot mix URLs and local sources in one instruction",
            ));
        }
        let scratch = crate::scratch_root(&self.engine.cfg.data_root);
        std::fs::create_dir_all(&scratch).map_err(|e| BuildError::internal("builder tmp", e))?;
        let dl = tempfile::Builder::new()
            .prefix("url-")
            .tempdir_in(&scratch)
            .map_err(|e| BuildError::internal("builder tmp", e))?;
        let mut names = Vec::new();
        for url in srcs {
            let u = url.clone();
            let (data, modified) = tokio::task::spawn_blocking(move || download(&u))
                .await
                .map_err(|e| BuildError::internal("download task", e))??;
            if let Some(want) = &c.checksum {
                let want = self.word(st, ins, want)?;
                let Some(hex_want) = want.strip_prefix("sha256:") else {
                    return Err(BuildError::parse(
                        ins.line,
                        format!("invalid checksum {want:?}: only sha256: is supported"),
                    ));
                };
                use sha2::Digest;
                let got = hex::encode(sha2::Sha256::digest(&data));
                if got != hex_want {
                    return Err(BuildError::invalid(format!(
                        "ADD failed: digest mismatch {want}: sha256:{got}"
                    )));
                }
            }
            let name = url_name(url);
            let name = if name.is_empty() {
                if !dest.ends_with('/') {
                    // No name from the URL: the destination names the file.
                    "__berth_url".to_string()
                } else {
                    return Err(BuildError::invalid(format!(
                        "ADD failed: cannot determine filename from url: {url}"
                    )));
                }
            } else {
                name
            };
            let f = dl.path().join(&name);
            std::fs::write(&f, &data).map_err(|e| BuildError::internal("download", e))?;
            std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600))
                .map_err(|e| BuildError::internal("download", e))?;
            if let Some(t) = modified {
                std::fs::File::options()
                    .write(true)
                    .open(&f)
                    .and_then(|file| file.set_modified(t))
                    .map_err(|e| BuildError::internal("download mtime", e))?;
            }
            names.push(name);
        }
        if c.checksum.is_some() && srcs.len() > 1 {
            return Err(BuildError::parse(
                ins.line,
                "checksum can't be specified for multiple sources",
            ));
        }
        let spec = CopySpec {
            heredocs: Vec::new(),
            ..c.clone()
        };
        let root = dl.path().to_path_buf();
        let r = self
            .copy_from(st, ins, &spec, false, &names, dest, &root, None, true)
            .await;
        drop(dl);
        r
    }
}
