//! Build secrets (`berth build --secret id=x,src=FILE|env=VAR`). The classic `/build`
//! endpoint has no BuildKit session, so the CLI sends them in the berth-specific request
//! header [`HEADER`] (as the docker CLI sends registry credentials in `X-Registry-Config`):
//! a JSON object `{"id": "<hex of the content>"}`. They live in the daemon's memory for the
//! build only, are written to a private file for the RUN that mounts them, and never reach
//! a layer, the history or the cache key.

use crate::error::{BuildError, Result};
use std::collections::BTreeMap;

pub const HEADER: &str = "X-Berth-Build-Secrets";

/// Secret contents by id. Debug never shows the contents.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secrets(pub BTreeMap<String, Vec<u8>>);

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

fn hex_encode(b: &[u8]) -> String {
    const D: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for x in b {
        s.push(D[(x >> 4) as usize] as char);
        s.push(D[(x & 15) as usize] as char);
    }
    s
}

fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let v = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    s.as_bytes()
        .chunks(2)
        .map(|p| Some(v(p[0])? << 4 | v(p[1])?))
        .collect()
}

impl Secrets {
    pub fn get(&self, id: &str) -> Option<&[u8]> {
        self.0.get(id).map(Vec::as_slice)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The header value for these secrets.
    pub fn to_header(&self) -> String {
        let m: BTreeMap<&str, String> = self
            .0
            .iter()
            .map(|(k, v)| (k.as_str(), hex_encode(v)))
            .collect();
        serde_json::to_string(&m).unwrap_or_default()
    }

    pub fn from_header(v: &str) -> Result<Secrets> {
        let bad = || BuildError::invalid(format!("invalid {HEADER} header"));
        let m: BTreeMap<String, String> = serde_json::from_str(v).map_err(|_| bad())?;
        let mut out = BTreeMap::new();
        for (k, v) in m {
            out.insert(k, hex_decode(&v).ok_or_else(bad)?);
        }
        Ok(Secrets(out))
    }

    /// Adds one `--secret` value as the docker CLI reads it: `id=x[,src|source=FILE]`,
    /// `id=x,env=VAR`, optional `type=file|env`; a bare `id=x` reads the env var `x` when it
    /// is set, else the file `x`... as buildx does (id only: env first).
    pub fn add_flag(&mut self, spec: &str) -> std::result::Result<(), String> {
        let (mut id, mut src, mut env, mut typ) = (None, None, None, None);
        for field in spec.split(',') {
            let (k, v) = field
                .split_once('=')
                .ok_or_else(|| format!("invalid field '{field}' must be a key=value pair"))?;
            match k.to_ascii_lowercase().as_str() {
                "type" => {
                    if v != "file" && v != "env" {
                        return Err(format!("unsupported secret type {v:?}"));
                    }
                    typ = Some(v.to_string())
                }
                "id" => id = Some(v.to_string()),
                "source" | "src" => src = Some(v.to_string()),
                "env" => env = Some(v.to_string()),
                _ => return Err(format!("unexpected key '{k}' in '{field}'")),
            }
        }
        let id = id
            .or_else(|| src.clone())
            .or_else(|| env.clone())
            .ok_or_else(|| format!("invalid secret {spec:?}: id is required"))?;
        let from_env = |name: &str| std::env::var_os(name).map(|v| v.into_encoded_bytes());
        let data = match (typ.as_deref(), src, env) {
            (Some("env"), s, e) | (_, s @ None, e @ Some(_)) => {
                let name = e.or(s).unwrap_or_else(|| id.clone());
                from_env(&name)
                    .ok_or_else(|| format!("secret {id}: environment variable {name} is not set"))?
            }
            (_, Some(path), _) => std::fs::read(&path)
                .map_err(|e| format!("failed to read secret {id} from {path}: {e}"))?,
            (Some("file"), None, None) => std::fs::read(&id)
                .map_err(|e| format!("failed to read secret {id} from {id}: {e}"))?,
            (_, None, None) => match from_env(&id) {
                Some(v) => v,
                None => std::fs::read(&id)
                    .map_err(|e| format!("failed to read secret {id} from {id}: {e}"))?,
            },
        };
        self.0.insert(id, data);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trip_and_redacted_debug() {
        let mut s = Secrets::default();
        s.0.insert("tok".into(), b"s3cr\x00t\n".to_vec());
        let h = s.to_header();
        assert!(!h.contains("s3cr"));
        assert_eq!(Secrets::from_header(&h).unwrap(), s);
        assert_eq!(format!("{s:?}"), "[\"tok\"]");
        assert!(Secrets::from_header("{\"a\":\"zz\"}").is_err());
    }

    #[test]
    fn flag_forms() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("f");
        std::fs::write(&f, "filedata").unwrap();
        let mut s = Secrets::default();
        s.add_flag(&format!("id=a,src={}", f.display())).unwrap();
        assert_eq!(s.get("a"), Some(&b"filedata"[..]));
        std::env::set_var("BERTH_TEST_SECRET_ENV", "envdata");
        s.add_flag("id=b,env=BERTH_TEST_SECRET_ENV").unwrap();
        assert_eq!(s.get("b"), Some(&b"envdata"[..]));
        assert!(s
            .add_flag("id=c,env=BERTH_TEST_SECRET_UNSET_X")
            .unwrap_err()
            .contains("not set"));
        assert!(s
            .add_flag("id=c,foo=1")
            .unwrap_err()
            .contains("unexpected key"));
        assert!(s.add_flag("id=c,src=/nonexistent/x").is_err());
    }
}
