//! The docker CLI's configuration directory and `config.json`, shared with the docker CLI:
//! `--config DIR`, else `$DOCKER_CONFIG`, else `~/.docker`. The keys berth reads are typed
//! here; everything else in the file is kept as it is when berth writes it back.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

static DIR: OnceLock<PathBuf> = OnceLock::new();
static FILE: OnceLock<ConfigFile> = OnceLock::new();

/// The default directory: `$DOCKER_CONFIG`, else `$HOME/.docker`.
pub fn default_dir() -> PathBuf {
    match std::env::var_os("DOCKER_CONFIG") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => home().join(".docker"),
    }
}

/// The user's home directory (`$HOME`, else the password database's).
pub fn home() -> PathBuf {
    if let Some(h) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        return PathBuf::from(h);
    }
    nix::unistd::User::from_uid(nix::unistd::getuid())
        .ok()
        .flatten()
        .map(|u| u.dir)
        .unwrap_or_else(|| PathBuf::from("/root"))
}

/// Sets the directory for this process (`--config`); the first call wins.
pub fn set_dir(dir: PathBuf) {
    let _ = DIR.set(dir);
}

/// The configuration directory in use.
pub fn dir() -> &'static Path {
    DIR.get_or_init(default_dir)
}

pub fn path() -> PathBuf {
    dir().join("config.json")
}

/// The proxy settings of one daemon host (`proxies.default` or `proxies["tcp://h:p"]`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct ProxyConfig {
    #[serde(
        rename = "httpProxy",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub http_proxy: String,
    #[serde(
        rename = "httpsProxy",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub https_proxy: String,
    #[serde(rename = "noProxy", default, skip_serializing_if = "String::is_empty")]
    pub no_proxy: String,
    #[serde(rename = "ftpProxy", default, skip_serializing_if = "String::is_empty")]
    pub ftp_proxy: String,
    #[serde(rename = "allProxy", default, skip_serializing_if = "String::is_empty")]
    pub all_proxy: String,
}

/// config.json, as far as berth reads it.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ConfigFile {
    #[serde(rename = "psFormat", default, skip_serializing_if = "String::is_empty")]
    pub ps_format: String,
    #[serde(
        rename = "imagesFormat",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub images_format: String,
    #[serde(
        rename = "detachKeys",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub detach_keys: String,
    #[serde(
        rename = "currentContext",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub current_context: String,
    #[serde(
        rename = "credsStore",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub creds_store: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub proxies: BTreeMap<String, ProxyConfig>,
    /// Everything else, written back untouched.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

impl ConfigFile {
    /// The environment docker adds to containers and builds for `host`: the proxies of that
    /// host, else `default`, as `HTTP_PROXY=...` and `http_proxy=...` pairs.
    pub fn proxy_env(&self, host: &str) -> Vec<String> {
        let Some(p) = self
            .proxies
            .get(host)
            .or_else(|| self.proxies.get("default"))
        else {
            return Vec::new();
        };
        let mut out = Vec::new();
        for (name, v) in [
            ("HTTP_PROXY", &p.http_proxy),
            ("HTTPS_PROXY", &p.https_proxy),
            ("NO_PROXY", &p.no_proxy),
            ("FTP_PROXY", &p.ftp_proxy),
            ("ALL_PROXY", &p.all_proxy),
        ] {
            if !v.is_empty() {
                out.push(format!("{name}={v}"));
                out.push(format!("{}={v}", name.to_lowercase()));
            }
        }
        out
    }
}

/// Reads config.json (a missing file is an empty config). A file that does not parse is
/// an error, as with docker ("loading config file: ...").
pub fn load_from(path: &Path) -> Result<ConfigFile, String> {
    match std::fs::read(path) {
        Ok(b) if b.iter().all(u8::is_ascii_whitespace) => Ok(ConfigFile::default()),
        Ok(b) => serde_json::from_slice(&b)
            .map_err(|e| format!("loading config file: {}: {e}", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(ConfigFile::default()),
        Err(e) => Err(format!("loading config file: {}: {e}", path.display())),
    }
}

/// The configuration of this process, read once. A broken file reads as empty, with the
/// docker CLI's warning on stderr.
pub fn get() -> &'static ConfigFile {
    FILE.get_or_init(|| match load_from(&path()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("WARNING: Error {e}");
            ConfigFile::default()
        }
    })
}

/// Rewrites config.json atomically (0600), keeping the keys berth does not know.
pub fn save(cfg: &ConfigFile) -> Result<(), String> {
    let p = path();
    if let Some(d) = p.parent() {
        std::fs::create_dir_all(d).map_err(|e| e.to_string())?;
    }
    let data = serde_json::to_vec_pretty(cfg).map_err(|e| e.to_string())?;
    write_private(&p, &data)
}

/// Writes `data` to `path` through a temporary file and a rename, mode 0600.
pub fn write_private(path: &Path, data: &[u8]) -> Result<(), String> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = path.with_extension(format!("tmp{}", std::process::id()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(|e| format!("{}: {e}", tmp.display()))?;
    f.write_all(data)
        .and_then(|_| f.sync_all())
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|e| {
            let _ = std::fs::remove_file(&tmp);
            format!("{}: {e}", path.display())
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_unknown_keys_and_reads_proxies() {
        let src = r#"{"auths":{"x":{"auth":"YTpi"}},"psFormat":"{{.ID}}","proxies":{"default":{"httpProxy":"http://p:3128","noProxy":"localhost"}}}"#;
        let c: ConfigFile = serde_json::from_str(src).expect("parses");
        assert_eq!(c.ps_format, "{{.ID}}");
        assert_eq!(
            c.proxy_env("unix:///x"),
            vec![
                "HTTP_PROXY=http://p:3128",
                "http_proxy=http://p:3128",
                "NO_PROXY=localhost",
                "no_proxy=localhost"
            ]
        );
        let back = serde_json::to_value(&c).expect("serializes");
        assert_eq!(back["auths"]["x"]["auth"], "YTpi");
    }
}
