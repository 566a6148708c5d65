//! Registry credentials (the Engine API's `X-Registry-Auth` / `/auth` body) and the
//! `WWW-Authenticate` challenges of the distribution auth spec (basic, bearer token realm).

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// `types/registry.AuthConfig` as clients send it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthConfig {
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub username: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub password: String,
    /// base64 of `user:password` (config.json's form).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub auth: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub email: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub serveraddress: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub identitytoken: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub registrytoken: String,
}

impl AuthConfig {
    /// Decodes `X-Registry-Auth`: base64url (padded or not, std alphabet accepted too) JSON.
    /// An empty or undecodable header means anonymous, as in moby.
    pub fn from_header(h: &str) -> AuthConfig {
        let h = h.trim();
        if h.is_empty() {
            return AuthConfig::default();
        }
        let engines = [
            base64::engine::general_purpose::URL_SAFE,
            base64::engine::general_purpose::URL_SAFE_NO_PAD,
            base64::engine::general_purpose::STANDARD,
            base64::engine::general_purpose::STANDARD_NO_PAD,
        ];
        for e in engines {
            if let Ok(b) = e.decode(h) {
                if let Ok(a) = serde_json::from_slice::<AuthConfig>(&b) {
                    return a.normalized();
                }
            }
        }
        AuthConfig::default()
    }

    /// Encodes for `X-Registry-Auth`.
    pub fn to_header(&self) -> String {
        let j = serde_json::to_vec(self).unwrap_or_default();
        base64::engine::general_purpose::URL_SAFE.encode(j)
    }

    /// Fills username/password from `auth` when only that is given.
    pub fn normalized(mut self) -> AuthConfig {
        if self.username.is_empty() && !self.auth.is_empty() {
            if let Ok(b) = base64::engine::general_purpose::STANDARD.decode(self.auth.trim()) {
                if let Ok(s) = String::from_utf8(b) {
                    if let Some((u, p)) = s.split_once(':') {
                        self.username = u.to_string();
                        self.password = p.to_string();
                    }
                }
            }
        }
        self
    }

    pub fn is_anonymous(&self) -> bool {
        self.username.is_empty() && self.identitytoken.is_empty() && self.registrytoken.is_empty()
    }

    /// `Basic base64(user:password)`.
    pub fn basic(&self) -> Option<String> {
        if self.username.is_empty() {
            return None;
        }
        let raw = format!("{}:{}", self.username, self.password);
        Some(format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        ))
    }
}

/// One `WWW-Authenticate` challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
        /// The scope the registry asked for, if it named one.
        scope: Option<String>,
    },
}

/// Parses `Bearer realm="...",service="...",scope="..."` or `Basic realm="..."`.
pub fn parse_challenge(h: &str) -> Option<Challenge> {
    let h = h.trim();
    let (scheme, rest) = h.split_once(' ').unwrap_or((h, ""));
    let params = parse_params(rest);
    match scheme.to_ascii_lowercase().as_str() {
        "basic" => Some(Challenge::Basic),
        "bearer" => Some(Challenge::Bearer {
            realm: params.get("realm")?.clone(),
            service: params.get("service").cloned(),
            scope: params.get("scope").cloned(),
        }),
        _ => None,
    }
}

fn parse_params(s: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let b: Vec<char> = s.chars().collect();
    let mut i = 0;
    while i < b.len() {
        while i < b.len() && (b[i] == ',' || b[i].is_whitespace()) {
            i += 1;
        }
        let ks = i;
        while i < b.len() && b[i] != '=' {
            i += 1;
        }
        let key: String = b[ks..i].iter().collect::<String>().trim().to_lowercase();
        i += 1;
        let mut val = String::new();
        if i < b.len() && b[i] == '"' {
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' && i + 1 < b.len() {
                    i += 1;
                }
                val.push(b[i]);
                i += 1;
            }
            i += 1;
        } else {
            while i < b.len() && b[i] != ',' {
                val.push(b[i]);
                i += 1;
            }
            val = val.trim().to_string();
        }
        if !key.is_empty() {
            out.insert(key, val);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_challenge() {
        let c = parse_challenge(
            r#"Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull""#,
        );
        assert_eq!(
            c,
            Some(Challenge::Bearer {
                realm: "https://auth.example/token".into(),
                service: Some("registry.example".into()),
                scope: Some("repository:a/b:pull".into()),
            })
        );
        assert_eq!(
            parse_challenge(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(parse_challenge("Bearer service=x"), None);
    }

    #[test]
    fn header_round_trip_and_auth_field() {
        let a = AuthConfig {
            username: "u".into(),
            password: "p:w".into(),
            serveraddress: "127.0.0.1:5000".into(),
            ..Default::default()
        };
        assert_eq!(AuthConfig::from_header(&a.to_header()), a);
        let b = AuthConfig::from_header(
            &base64::engine::general_purpose::STANDARD.encode(r#"{"auth":"dTpwOnc="}"#),
        );
        assert_eq!((b.username.as_str(), b.password.as_str()), ("u", "p:w"));
        assert!(AuthConfig::from_header("not base64!").is_anonymous());
    }
}
