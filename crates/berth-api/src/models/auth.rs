//! Registry credentials as the Engine API carries them (moby's `registry.AuthConfig`): the
//! `POST /auth` body and, base64url-encoded, the `X-Registry-Auth` header of pull, push,
//! search and `service create --with-registry-auth`.

use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// moby's `registry.AuthConfig`: every field `omitempty`, written in moby's order (the
/// bytes the docker CLI sends). Go's decoder matches names case-insensitively, so the
/// Go field names are read too.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthConfig {
    #[serde(default, alias = "Username", skip_serializing_if = "String::is_empty")]
    pub username: String,
    #[serde(default, alias = "Password", skip_serializing_if = "String::is_empty")]
    pub password: String,
    /// base64 of `user:password` (config.json's form).
    #[serde(default, alias = "Auth", skip_serializing_if = "String::is_empty")]
    pub auth: String,
    #[serde(default, alias = "Email", skip_serializing_if = "String::is_empty")]
    pub email: String,
    #[serde(
        default,
        alias = "ServerAddress",
        skip_serializing_if = "String::is_empty"
    )]
    pub serveraddress: String,
    #[serde(
        default,
        alias = "IdentityToken",
        skip_serializing_if = "String::is_empty"
    )]
    pub identitytoken: String,
    #[serde(
        default,
        alias = "RegistryToken",
        skip_serializing_if = "String::is_empty"
    )]
    pub registrytoken: String,
}

/// moby's `base64.URLEncoding` (RFC 4648 §5, padded); Go's decoder accepts non-zero
/// trailing bits, as this one does.
const URL_ENCODING: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::URL_SAFE,
    base64::engine::GeneralPurposeConfig::new().with_decode_allow_trailing_bits(true),
);

impl AuthConfig {
    /// Decodes `X-Registry-Auth` as moby's `DecodeAuthConfig`: base64url (padded; the line
    /// breaks Go's decoder skips are skipped) of JSON, of which the first value is read.
    /// An empty or undecodable header is anonymous: moby's routes ignore the error.
    pub fn from_header(h: &str) -> AuthConfig {
        let h: String = h
            .trim()
            .chars()
            .filter(|c| !matches!(c, '\r' | '\n'))
            .collect();
        if h.is_empty() {
            return AuthConfig::default();
        }
        let Ok(json) = URL_ENCODING.decode(h) else {
            return AuthConfig::default();
        };
        serde_json::Deserializer::from_slice(&json)
            .into_iter::<AuthConfig>()
            .next()
            .and_then(Result::ok)
            .map(AuthConfig::normalized)
            .unwrap_or_default()
    }

    /// Encodes for `X-Registry-Auth` (moby's `EncodeAuthConfig`).
    pub fn to_header(&self) -> String {
        let j = serde_json::to_vec(self).unwrap_or_default();
        URL_ENCODING.encode(j)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_decodes_as_moby() {
        let a = AuthConfig {
            username: "u".into(),
            password: "p:w?>".into(),
            serveraddress: "127.0.0.1:5000".into(),
            ..Default::default()
        };
        // moby's field names and order, empty fields left out.
        assert_eq!(
            serde_json::to_string(&a).unwrap(),
            r#"{"username":"u","password":"p:w?>","serveraddress":"127.0.0.1:5000"}"#
        );
        let h = a.to_header();
        assert!(h.ends_with('=') && h.contains('-'), "{h}");
        assert_eq!(AuthConfig::from_header(&h), a);
        // Go's decoder skips line breaks; a second JSON value is not read.
        let folded = format!("{}\r\n{}", &h[..8], &h[8..]);
        assert_eq!(AuthConfig::from_header(&folded), a);
        let two = URL_ENCODING.encode(r#"{"username":"u"} {"username":"x"}"#);
        assert_eq!(AuthConfig::from_header(&two).username, "u");
        // Go's names (its decoder ignores case).
        let go = URL_ENCODING.encode(r#"{"Username":"u","ServerAddress":"r"}"#);
        assert_eq!(AuthConfig::from_header(&go).serveraddress, "r");
        // What moby's base64url decoder refuses is anonymous: the standard alphabet's
        // `+`/`/`, a missing padding.
        let std = base64::engine::general_purpose::STANDARD.encode(serde_json::to_vec(&a).unwrap());
        assert_ne!(std, h);
        assert!(AuthConfig::from_header(&std).is_anonymous());
        assert!(AuthConfig::from_header(h.trim_end_matches('=')).is_anonymous());
        assert!(AuthConfig::from_header("not base64!").is_anonymous());
        assert!(AuthConfig::from_header("").is_anonymous());
        // config.json's `auth` fills the user and password.
        let b = AuthConfig::from_header(&URL_ENCODING.encode(r#"{"auth":"dTpwOnc="}"#));
        assert_eq!((b.username.as_str(), b.password.as_str()), ("u", "p:w"));
    }
}
