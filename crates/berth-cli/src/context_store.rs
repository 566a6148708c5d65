//! The docker CLI's context store, read and written in its own layout so that `berth` and
//! `docker` share contexts:
//!
//! ```text
//! <config>/contexts/meta/<sha256 hex of name>/meta.json   {"Name","Metadata","Endpoints"}
//! <config>/contexts/tls/<sha256 hex of name>/docker/      ca.pem, cert.pem, key.pem (0600)
//! ```
//!
//! `default` is not stored: it is the endpoint the flags and environment give.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The reserved name of the context made of flags and environment.
pub const DEFAULT: &str = "default";

/// A context's `Metadata`: its description, and whatever else another tool stored.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Metadata {
    #[serde(
        rename = "Description",
        default,
        skip_serializing_if = "String::is_empty"
    )]
    pub description: String,
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// The `docker` endpoint of a context.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct DockerEndpoint {
    #[serde(rename = "Host", default)]
    pub host: String,
    #[serde(rename = "SkipTLSVerify", default)]
    pub skip_tls_verify: bool,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Endpoints {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub docker: Option<DockerEndpoint>,
    /// Other endpoints (kubernetes, once), kept as they are.
    #[serde(flatten)]
    pub other: serde_json::Map<String, serde_json::Value>,
}

/// `meta.json`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Meta {
    #[serde(rename = "Name")]
    pub name: String,
    #[serde(rename = "Metadata", default)]
    pub metadata: Metadata,
    #[serde(rename = "Endpoints", default)]
    pub endpoints: Endpoints,
}

impl Meta {
    pub fn docker_host(&self) -> &str {
        self.endpoints
            .docker
            .as_ref()
            .map(|d| d.host.as_str())
            .unwrap_or("")
    }
}

/// The TLS files of a context's docker endpoint (PEM contents).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TlsFiles {
    pub ca: Option<Vec<u8>>,
    pub cert: Option<Vec<u8>>,
    pub key: Option<Vec<u8>>,
}

impl TlsFiles {
    pub fn is_empty(&self) -> bool {
        self.ca.is_none() && self.cert.is_none() && self.key.is_none()
    }
    /// The file names present, in docker's order.
    pub fn names(&self) -> Vec<&'static str> {
        let mut v = Vec::new();
        if self.ca.is_some() {
            v.push("ca.pem");
        }
        if self.cert.is_some() {
            v.push("cert.pem");
        }
        if self.key.is_some() {
            v.push("key.pem");
        }
        v
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("context {0:?}: context not found: open {1}: no such file or directory")]
    NotFound(String, String),
    #[error("context {0:?} already exists")]
    Exists(String),
    #[error("context name {0:?} is invalid, names are validated against regexp \"^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$\"")]
    InvalidName(String),
    #[error("\"default\" is a reserved context name")]
    Reserved,
    #[error("{0}")]
    Io(String),
}

/// The store under a configuration directory.
pub struct Store {
    root: PathBuf,
}

/// The directory name docker gives a context: the hex SHA-256 of its name.
pub fn context_id(name: &str) -> String {
    hex::encode(Sha256::digest(name.as_bytes()))
}

/// docker's name rule: `^[a-zA-Z0-9][a-zA-Z0-9_.+-]+$`, and not `default`.
pub fn validate_name(name: &str) -> Result<(), StoreError> {
    if name == DEFAULT {
        return Err(StoreError::Reserved);
    }
    let b = name.as_bytes();
    let ok = b.len() >= 2
        && b[0].is_ascii_alphanumeric()
        && b[1..]
            .iter()
            .all(|c| c.is_ascii_alphanumeric() || b"_.+-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(StoreError::InvalidName(name.to_string()))
    }
}

fn io(p: &Path, e: std::io::Error) -> StoreError {
    StoreError::Io(format!("{}: {e}", p.display()))
}

impl Store {
    pub fn new(config_dir: &Path) -> Store {
        Store {
            root: config_dir.join("contexts"),
        }
    }

    pub fn meta_dir(&self, name: &str) -> PathBuf {
        self.root.join("meta").join(context_id(name))
    }

    pub fn tls_dir(&self, name: &str) -> PathBuf {
        self.root.join("tls").join(context_id(name))
    }

    pub fn exists(&self, name: &str) -> bool {
        self.meta_dir(name).join("meta.json").is_file()
    }

    pub fn get(&self, name: &str) -> Result<Meta, StoreError> {
        let p = self.meta_dir(name).join("meta.json");
        let b = std::fs::read(&p).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => {
                StoreError::NotFound(name.to_string(), p.display().to_string())
            }
            _ => io(&p, e),
        })?;
        serde_json::from_slice(&b)
            .map_err(|e| StoreError::Io(format!("parsing {}: {e}", p.display())))
    }

    /// Every stored context, sorted by name.
    pub fn list(&self) -> Result<Vec<Meta>, StoreError> {
        let dir = self.root.join("meta");
        let rd = match std::fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io(&dir, e)),
        };
        let mut out = Vec::new();
        for ent in rd.flatten() {
            let p = ent.path().join("meta.json");
            if let Ok(b) = std::fs::read(&p) {
                if let Ok(m) = serde_json::from_slice::<Meta>(&b) {
                    out.push(m);
                }
            }
        }
        out.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(out)
    }

    /// The TLS files of a context's docker endpoint.
    pub fn tls(&self, name: &str) -> TlsFiles {
        let d = self.tls_dir(name).join("docker");
        let read = |f: &str| std::fs::read(d.join(f)).ok();
        TlsFiles {
            ca: read("ca.pem"),
            cert: read("cert.pem"),
            key: read("key.pem"),
        }
    }

    /// Writes meta.json (and replaces the TLS files when `tls` is given).
    pub fn save(&self, meta: &Meta, tls: Option<&TlsFiles>) -> Result<(), StoreError> {
        let dir = self.meta_dir(&meta.name);
        std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
        let data = serde_json::to_vec(meta).map_err(|e| StoreError::Io(e.to_string()))?;
        let p = dir.join("meta.json");
        write_file(&p, &data, 0o644)?;
        if let Some(t) = tls {
            self.save_tls(&meta.name, t)?;
        }
        Ok(())
    }

    fn save_tls(&self, name: &str, t: &TlsFiles) -> Result<(), StoreError> {
        let top = self.tls_dir(name);
        let _ = std::fs::remove_dir_all(&top);
        if t.is_empty() {
            return Ok(());
        }
        let d = top.join("docker");
        make_private_dirs(&d)?;
        for (f, v) in [
            ("ca.pem", &t.ca),
            ("cert.pem", &t.cert),
            ("key.pem", &t.key),
        ] {
            if let Some(v) = v {
                write_file(&d.join(f), v, 0o600)?;
            }
        }
        Ok(())
    }

    pub fn remove(&self, name: &str) -> Result<(), StoreError> {
        let m = self.meta_dir(name);
        if !m.join("meta.json").is_file() {
            return Err(StoreError::NotFound(
                name.to_string(),
                m.join("meta.json").display().to_string(),
            ));
        }
        std::fs::remove_dir_all(&m).map_err(|e| io(&m, e))?;
        let t = self.tls_dir(name);
        match std::fs::remove_dir_all(&t) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(io(&t, e)),
            _ => Ok(()),
        }
    }

    /// The context as docker's export tar: meta.json, then tls/docker/*.pem.
    pub fn export(&self, name: &str, out: &mut dyn Write) -> Result<(), StoreError> {
        let meta = self.get(name)?;
        let tls = self.tls(name);
        let data = serde_json::to_vec(&meta).map_err(|e| StoreError::Io(e.to_string()))?;
        let mut b = tar::Builder::new(out);
        let ioe = |e: std::io::Error| StoreError::Io(e.to_string());
        append(&mut b, "meta.json", &data, 0o644).map_err(ioe)?;
        if !tls.is_empty() {
            for d in ["tls/", "tls/docker/"] {
                let mut h = tar::Header::new_gnu();
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(0o700);
                h.set_size(0);
                h.set_mtime(0);
                h.set_cksum();
                b.append_data(&mut h, d, std::io::empty()).map_err(ioe)?;
            }
            for (f, v) in [
                ("ca.pem", &tls.ca),
                ("cert.pem", &tls.cert),
                ("key.pem", &tls.key),
            ] {
                if let Some(v) = v {
                    append(&mut b, &format!("tls/docker/{f}"), v, 0o600).map_err(ioe)?;
                }
            }
        }
        b.finish().map_err(ioe)
    }

    /// Imports an exported context under `name`.
    pub fn import(&self, name: &str, input: &mut dyn Read) -> Result<(), StoreError> {
        validate_name(name)?;
        if self.exists(name) {
            return Err(StoreError::Exists(name.to_string()));
        }
        let mut meta: Option<Meta> = None;
        let mut tls = TlsFiles::default();
        let mut a = tar::Archive::new(input);
        let bad = |e: std::io::Error| StoreError::Io(format!("invalid context archive: {e}"));
        for ent in a.entries().map_err(bad)? {
            let mut ent = ent.map_err(bad)?;
            let path = ent.path().map_err(bad)?.to_string_lossy().into_owned();
            if ent.header().entry_type().is_dir() {
                continue;
            }
            let mut data = Vec::new();
            ent.read_to_end(&mut data).map_err(bad)?;
            match path.trim_start_matches("./") {
                "meta.json" => {
                    meta = Some(serde_json::from_slice(&data).map_err(|e| {
                        StoreError::Io(format!("invalid context archive: meta.json: {e}"))
                    })?)
                }
                "tls/docker/ca.pem" => tls.ca = Some(data),
                "tls/docker/cert.pem" => tls.cert = Some(data),
                "tls/docker/key.pem" => tls.key = Some(data),
                _ => {}
            }
        }
        let mut meta =
            meta.ok_or_else(|| StoreError::Io("invalid context archive: no meta.json".into()))?;
        meta.name = name.to_string();
        self.save(&meta, Some(&tls))
    }
}

fn append<W: Write>(
    b: &mut tar::Builder<W>,
    path: &str,
    data: &[u8],
    mode: u32,
) -> std::io::Result<()> {
    let mut h = tar::Header::new_gnu();
    h.set_size(data.len() as u64);
    h.set_mode(mode);
    h.set_mtime(0);
    h.set_cksum();
    b.append_data(&mut h, path, data)
}

fn make_private_dirs(d: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::DirBuilderExt;
    std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(d)
        .map_err(|e| io(d, e))
}

fn write_file(p: &Path, data: &[u8], mode: u32) -> Result<(), StoreError> {
    use std::os::unix::fs::OpenOptionsExt;
    let tmp = p.with_extension(format!("tmp{}", std::process::id()));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode)
        .open(&tmp)
        .map_err(|e| io(&tmp, e))?;
    f.write_all(data)
        .and_then(|_| std::fs::rename(&tmp, p))
        .map_err(|e| io(p, e))
}

/// Context names and their docker hosts, for completion and `context ls`.
pub fn hosts(store: &Store) -> BTreeMap<String, String> {
    store
        .list()
        .unwrap_or_default()
        .into_iter()
        .map(|m| (m.name.clone(), m.docker_host().to_string()))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_and_names_as_docker() {
        // `docker context create remote` stores it under this directory.
        assert_eq!(
            context_id("remote"),
            "b71199ebd070b36beab7317920c2c2f1d777df8d05e5527d8458fda57cb17a7a"
        );
        assert!(validate_name("my-ctx.1").is_ok());
        assert!(validate_name("x").is_err());
        assert!(validate_name("bad name").is_err());
        assert!(matches!(
            validate_name("default"),
            Err(StoreError::Reserved)
        ));
    }

    #[test]
    fn meta_json_round_trips_byte_for_byte() {
        let src = r#"{"Name":"remote","Metadata":{"Description":"my remote"},"Endpoints":{"docker":{"Host":"tcp://127.0.0.1:2376","SkipTLSVerify":false}}}"#;
        let m: Meta = serde_json::from_str(src).expect("parses");
        assert_eq!(serde_json::to_string(&m).expect("serializes"), src);
        let plain = r#"{"Name":"plain","Metadata":{},"Endpoints":{"docker":{"Host":"unix:///run/x.sock","SkipTLSVerify":false}}}"#;
        let m: Meta = serde_json::from_str(plain).expect("parses");
        assert_eq!(serde_json::to_string(&m).expect("serializes"), plain);
    }

    #[test]
    fn export_import_keeps_tls() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = Store::new(dir.path());
        let meta = Meta {
            name: "one".into(),
            endpoints: Endpoints {
                docker: Some(DockerEndpoint {
                    host: "tcp://h:2376".into(),
                    skip_tls_verify: false,
                }),
                ..Default::default()
            },
            ..Default::default()
        };
        let tls = TlsFiles {
            ca: Some(b"CA".to_vec()),
            cert: None,
            key: Some(b"KEY".to_vec()),
        };
        s.save(&meta, Some(&tls)).expect("save");
        let mut tar = Vec::new();
        s.export("one", &mut tar).expect("export");
        s.import("two", &mut &tar[..]).expect("import");
        assert_eq!(s.get("two").expect("get").docker_host(), "tcp://h:2376");
        assert_eq!(s.tls("two"), tls);
        assert!(matches!(
            s.import("two", &mut &tar[..]),
            Err(StoreError::Exists(_))
        ));
        s.remove("one").expect("rm");
        assert!(!s.exists("one"));
        assert_eq!(s.list().expect("list").len(), 1);
    }
}
