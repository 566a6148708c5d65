//! `ps --filter` and `container prune --filter`, with Docker's semantics: values of one key
//! are alternatives (OR), different keys must all match (AND).

use crate::error::{EngineError, Result};
use crate::model::{ContainerRecord, Status};
use berth_api::filters::labels_match;
pub use berth_api::filters::Filters;

const LIST_KEYS: &[&str] = &[
    "id", "name", "label", "status", "ancestor", "exited", "before", "since", "health", "network",
    "volume", "publish", "expose", "is-task",
];

/// Checks filter keys and values before any container is looked at.
pub fn validate(f: &Filters) -> Result<()> {
    for (k, vals) in f {
        if !LIST_KEYS.contains(&k.as_str()) {
            return Err(EngineError::InvalidParameter(format!(
                "invalid filter '{k}'"
            )));
        }
        if k == "status" {
            for v in vals {
                if Status::parse(v).is_none() {
                    return Err(EngineError::InvalidParameter(format!(
                        "invalid filter 'status={v}'"
                    )));
                }
            }
        }
        if k == "exited" {
            for v in vals {
                if v.parse::<i64>().is_err() {
                    return Err(EngineError::InvalidParameter(format!(
                        "invalid filter 'exited={v}'"
                    )));
                }
            }
        }
    }
    Ok(())
}

/// Whether the container passes the `ps` filters. `ancestor_ids` are the image ids the
/// `ancestor` values resolve to.
pub fn matches(rec: &ContainerRecord, f: &Filters, ancestor_ids: &[String]) -> bool {
    for (k, vals) in f {
        if vals.is_empty() {
            continue;
        }
        let ok = match k.as_str() {
            "id" => vals.iter().any(|v| rec.id.starts_with(v.as_str())),
            // Docker matches names as regular expressions; a substring covers the common use.
            "name" => vals.iter().any(|v| {
                let v = v.strip_prefix('/').unwrap_or(v);
                match (v.strip_prefix('^'), v.strip_suffix('$')) {
                    _ if v.starts_with('^') && v.ends_with('$') => rec.name == v[1..v.len() - 1],
                    (Some(p), _) => rec.name.starts_with(p),
                    (_, Some(s)) => rec.name.ends_with(s),
                    _ => rec.name.contains(v),
                }
            }),
            "label" => labels_match(rec.config.labels(), vals),
            "status" => vals.iter().any(|v| v == rec.state.status.as_str()),
            "exited" => {
                rec.state.status == Status::Exited
                    && vals
                        .iter()
                        .any(|v| v.parse::<i64>().ok() == Some(rec.state.exit_code))
            }
            "ancestor" => ancestor_ids.contains(&rec.image_id),
            _ => true,
        };
        if !ok {
            return false;
        }
    }
    true
}

/// `container prune` filters: `until` (timestamp or duration) and `label` / `label!`.
pub fn matches_prune(rec: &ContainerRecord, f: &Filters) -> Result<bool> {
    for (k, vals) in f {
        match k.as_str() {
            "label" => {
                if !labels_match(rec.config.labels(), vals) {
                    return Ok(false);
                }
            }
            "label!" => {
                if vals
                    .iter()
                    .any(|v| labels_match(rec.config.labels(), std::slice::from_ref(v)))
                {
                    return Ok(false);
                }
            }
            "until" => {
                for v in vals {
                    let cutoff = parse_until(v)?;
                    if rec.created.timestamp() >= cutoff {
                        return Ok(false);
                    }
                }
            }
            other => {
                return Err(EngineError::InvalidParameter(format!(
                    "invalid filter '{other}'"
                )))
            }
        }
    }
    Ok(true)
}

/// "10m", "2h30m", unix seconds, or an RFC 3339 timestamp → unix seconds.
/// A `until` filter's cutoff in Unix seconds: a timestamp (Unix or RFC 3339) or a
/// duration before now (`10m`, `1h30m`).
pub fn parse_until(v: &str) -> Result<i64> {
    let bad = || EngineError::InvalidParameter(format!("invalid filter 'until={v}'"));
    if let Ok(secs) = v.split('.').next().unwrap_or("").parse::<i64>() {
        if !v.ends_with(|c: char| c.is_ascii_alphabetic()) {
            return Ok(secs);
        }
    }
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(v) {
        return Ok(t.timestamp());
    }
    let mut total = 0f64;
    let mut num = String::new();
    for ch in v.chars() {
        if ch.is_ascii_digit() || ch == '.' {
            num.push(ch);
            continue;
        }
        let n: f64 = num.parse().map_err(|_| bad())?;
        num.clear();
        total += n * match ch {
            'h' => 3600.0,
            'm' => 60.0,
            's' => 1.0,
            _ => return Err(bad()),
        };
    }
    if !num.is_empty() {
        return Err(bad());
    }
    Ok(chrono::Utc::now().timestamp() - total as i64)
}
