//! Docker's JSON progress messages (`jsonmessage.JSONMessage`), as the Engine API streams
//! them for pull and push.

use berth_api::models::{JsonMessage, ProgressDetail};
use std::sync::Arc;

/// Receives each message as it happens (the daemon writes it to the response).
pub type Progress = Arc<dyn Fn(JsonMessage) + Send + Sync>;

/// `{"status": ...}` or `{"status": ..., "progressDetail": {}, "id": ...}`.
pub fn status(id: Option<&str>, status: &str) -> JsonMessage {
    JsonMessage {
        status: Some(status.to_string()),
        progress_detail: id.map(|_| ProgressDetail::default()),
        id: id.map(str::to_string),
        ..Default::default()
    }
}

/// `{"status": ..., "id": ...}`: moby's `progress.Message` (no `progressDetail`, so docker
/// compose, which shows only the messages that have one, leaves it out: `Pulling from`).
pub fn message(id: &str, status: &str) -> JsonMessage {
    JsonMessage {
        status: Some(status.to_string()),
        id: Some(id.to_string()),
        ..Default::default()
    }
}

/// A progress line with Docker's bar: `[=====>    ]  1.2MB/4.5MB`.
pub fn bar(id: &str, status: &str, current: u64, total: u64) -> JsonMessage {
    JsonMessage {
        status: Some(status.to_string()),
        progress_detail: Some(ProgressDetail {
            current: Some(current),
            total: Some(total),
        }),
        progress: Some(bar_text(current, total)),
        id: Some(id.to_string()),
        ..Default::default()
    }
}

/// jsonmessage.JSONProgress.String for a known total, 110 columns wide terminals aside.
pub fn bar_text(current: u64, total: u64) -> String {
    let width = 50u64;
    let size = format!("{:>8}/{}", human(current), human(total));
    if total == 0 {
        return size;
    }
    let pct = (current.min(total) * width) / total;
    let mut s = String::from("[");
    s.push_str(&"=".repeat(pct as usize));
    if pct < width {
        s.push('>');
        s.push_str(&" ".repeat((width - pct - 1) as usize));
    } else {
        s.push('>');
    }
    s.push_str("] ");
    s.push_str(&size);
    s
}

/// go-units HumanSize: decimal units, 4 significant digits.
pub fn human(n: u64) -> String {
    let units = ["B", "kB", "MB", "GB", "TB", "PB"];
    let mut v = n as f64;
    let mut i = 0;
    while v >= 1000.0 && i < units.len() - 1 {
        v /= 1000.0;
        i += 1;
    }
    let s = format!("{v:.4}");
    let s = if s.contains('.') {
        // %.4g: four significant digits.
        let digits = if v >= 100.0 {
            1
        } else if v >= 10.0 {
            2
        } else {
            3
        };
        let t = format!("{v:.digits$}");
        t.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s
    };
    format!("{s}{}", units[i])
}

/// The 12-hex short id of a digest, as progress lines name layers.
pub fn short(digest: &str) -> String {
    let hex = digest.split_once(':').map(|(_, h)| h).unwrap_or(digest);
    hex.chars().take(12).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_sizes_like_go_units() {
        assert_eq!(human(0), "0B");
        assert_eq!(human(999), "999B");
        assert_eq!(human(1234), "1.234kB");
        assert_eq!(human(2_150_000), "2.15MB");
        assert_eq!(human(150_000_000), "150MB");
    }

    #[test]
    fn typed_lines_are_the_same_bytes() {
        use serde_json::json;
        let w = |m: &JsonMessage| serde_json::to_string(m).unwrap();
        // The lines as status() and bar() built them before the typed model (json!).
        assert_eq!(
            w(&status(Some("abc"), "Waiting")),
            json!({ "status": "Waiting", "progressDetail": {}, "id": "abc" }).to_string()
        );
        assert_eq!(
            w(&status(None, "Digest: sha256:x")),
            json!({ "status": "Digest: sha256:x" }).to_string()
        );
        assert_eq!(
            w(&bar("abc", "Downloading", 5, 10)),
            json!({
                "status": "Downloading",
                "progressDetail": { "current": 5u64, "total": 10u64 },
                "progress": bar_text(5, 10),
                "id": "abc",
            })
            .to_string()
        );
    }

    #[test]
    fn bar_is_fifty_wide() {
        let b = bar_text(50, 100);
        assert!(b.starts_with("[=========================>"));
        assert_eq!(b.find(']'), Some(51));
    }
}
