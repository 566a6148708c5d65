//! A health check as a container or image config carries it (`Config.Healthcheck`, from
//! `--health-*` or `HEALTHCHECK`). Durations are nanoseconds; a field left out (or 0) means
//! "the image's, else the default", so each is kept as sent: `None` is not written.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HealthConfig {
    /// `[]` inherit, `["NONE"]` disabled, `["CMD", args...]`, `["CMD-SHELL", command]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub test: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub interval: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_period: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_interval: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retries: Option<i64>,
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl HealthConfig {
    /// The probe's command line, or None (no test, `NONE`, or nothing after the kind).
    pub fn probe(&self) -> Option<Vec<String>> {
        let test = self.test.as_deref()?;
        match test.first().map(String::as_str) {
            Some("CMD") if test.len() > 1 => Some(test[1..].to_vec()),
            Some("CMD-SHELL") if test.len() > 1 => {
                Some(vec!["/bin/sh".into(), "-c".into(), test[1..].join(" ")])
            }
            _ => None,
        }
    }

    /// moby's merge with the image's check: each field the container leaves unset (no or
    /// an empty Test, a zero or absent duration or retry count) is taken from `image`.
    pub fn inherit(&mut self, image: &HealthConfig) {
        if self.test.as_ref().is_none_or(|t| t.is_empty()) && image.test.is_some() {
            self.test = image.test.clone();
        }
        let unset = |v: Option<i64>| v.is_none_or(|n| n == 0);
        for (mine, theirs) in [
            (&mut self.interval, image.interval),
            (&mut self.timeout, image.timeout),
            (&mut self.start_period, image.start_period),
            (&mut self.start_interval, image.start_interval),
            (&mut self.retries, image.retries),
        ] {
            if unset(*mine) && theirs.is_some() {
                *mine = theirs;
            }
        }
        for (k, v) in &image.extra {
            let unset = match self.extra.get(k) {
                None | Some(Value::Null) => true,
                Some(Value::Array(a)) => a.is_empty(),
                Some(Value::Number(n)) => n.as_i64() == Some(0),
                _ => false,
            };
            if unset {
                self.extra.insert(k.clone(), v.clone());
            }
        }
    }
}

/// `State.Health` of inspect: the check's current view (absent fields read as empty).
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", default)]
pub struct Health {
    /// "starting", "healthy" or "unhealthy".
    pub status: String,
    pub failing_streak: i64,
    /// The last probes, oldest first (at most five).
    pub log: Vec<HealthLog>,
}

/// One probe's result.
#[derive(Debug, Clone, Serialize, Deserialize, Default, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct HealthLog {
    pub start: String,
    pub end: String,
    pub exit_code: i64,
    pub output: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probe_and_inherit() {
        let mut mine: HealthConfig =
            serde_json::from_str(r#"{"Interval":5000000000,"Retries":0}"#).expect("parses");
        let image: HealthConfig = serde_json::from_str(
            r#"{"Test":["CMD-SHELL","true"],"Interval":1,"Timeout":2,"Retries":3}"#,
        )
        .expect("parses");
        mine.inherit(&image);
        assert_eq!(
            serde_json::to_string(&mine).expect("writes"),
            r#"{"Test":["CMD-SHELL","true"],"Interval":5000000000,"Timeout":2,"Retries":3}"#
        );
        assert_eq!(
            mine.probe(),
            Some(vec!["/bin/sh".into(), "-c".into(), "true".into()])
        );
        let none = HealthConfig {
            test: Some(vec!["NONE".into()]),
            ..Default::default()
        };
        assert_eq!(none.probe(), None);
    }
}
