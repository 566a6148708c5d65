//! Query-string helpers with Docker's parsing rules.

use crate::error::ApiError;
use std::collections::HashMap;

/// All query parameters; repeated keys (`names=a&names=b`) keep every value.
#[derive(Debug, Default)]
pub struct Query(pub HashMap<String, Vec<String>>);

impl Query {
    pub fn parse(raw: Option<&str>) -> Query {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        if let Some(raw) = raw {
            for (k, v) in url::form_urlencoded::parse(raw.as_bytes()) {
                map.entry(k.into_owned()).or_default().push(v.into_owned());
            }
        }
        Query(map)
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.first()).map(String::as_str)
    }

    pub fn all(&self, key: &str) -> Vec<String> {
        self.0.get(key).cloned().unwrap_or_default()
    }

    pub fn str(&self, key: &str) -> &str {
        self.get(key).unwrap_or("")
    }

    /// Docker's `httputils.BoolValue`: anything but "", "0", "no", "false", "none" is true.
    pub fn bool(&self, key: &str) -> bool {
        match self.get(key) {
            None => false,
            Some(v) => !matches!(
                v.trim().to_ascii_lowercase().as_str(),
                "" | "0" | "no" | "false" | "none"
            ),
        }
    }

    pub fn int(&self, key: &str) -> Result<Option<i64>, ApiError> {
        match self.get(key) {
            None | Some("") => Ok(None),
            Some(v) => v
                .parse()
                .map(Some)
                .map_err(|_| ApiError::bad_request(format!("invalid value for {key}: {v}"))),
        }
    }

    pub fn filters(&self) -> Result<berth_api::filters::Filters, ApiError> {
        berth_api::filters::parse(self.str("filters")).map_err(ApiError::bad_request)
    }
}
