//! Docker's JSON message stream (moby's `jsonmessage.JSONMessage`): the lines of
//! `POST /images/create` (pull), `/images/{name}/push`, `/images/load` and `/build`, each
//! field written only when set, in moby's field order.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One line of a JSON message stream.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct JsonMessage {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stream: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(rename = "progressDetail", skip_serializing_if = "Option::is_none")]
    pub progress_detail: Option<ProgressDetail>,
    /// The rendered bar (`[==>   ] 1.2MB/4.5MB`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub progress: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(rename = "errorDetail", skip_serializing_if = "Option::is_none")]
    pub error_detail: Option<JsonError>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// A request's own result (push: [`PushResult`]), raw as in moby.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub aux: Option<Value>,
}

/// `progressDetail`: `{}` for a status line, current and total bytes for a bar.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ProgressDetail {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub current: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub total: Option<u64>,
}

/// `errorDetail`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct JsonError {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub code: Option<i64>,
    pub message: String,
}

/// The `aux` of a push's last line per tag (moby's `types.PushResult`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PushResult {
    #[serde(rename = "Tag")]
    pub tag: String,
    #[serde(rename = "Digest")]
    pub digest: String,
    #[serde(rename = "Size")]
    pub size: u64,
}

/// The `aux` of a build's line per built stage and image (moby's `types.BuildResult`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BuildResult {
    #[serde(rename = "ID")]
    pub id: String,
}

impl JsonMessage {
    /// An error line: `{"errorDetail": {"message": ...}, "error": ...}` (with the code
    /// when there is one).
    pub fn error(message: impl Into<String>, code: Option<i64>) -> JsonMessage {
        let message = message.into();
        JsonMessage {
            error_detail: Some(JsonError {
                code,
                message: message.clone(),
            }),
            error: Some(message),
            ..Default::default()
        }
    }

    /// `{"stream": ...}`.
    pub fn stream(text: impl Into<String>) -> JsonMessage {
        JsonMessage {
            stream: Some(text.into()),
            ..Default::default()
        }
    }

    /// `{"aux": {"ID": ...}}`: a build's image (or stage) id.
    pub fn build_result(id: impl Into<String>) -> JsonMessage {
        JsonMessage {
            aux: serde_json::to_value(BuildResult { id: id.into() }).ok(),
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_are_written_as_moby_writes_them() {
        let s = |m: &JsonMessage| serde_json::to_string(m).expect("writes");
        assert_eq!(
            s(&JsonMessage::error("boom", Some(1))),
            r#"{"errorDetail":{"code":1,"message":"boom"},"error":"boom"}"#
        );
        assert_eq!(
            s(&JsonMessage::error("boom", None)),
            r#"{"errorDetail":{"message":"boom"},"error":"boom"}"#
        );
        assert_eq!(s(&JsonMessage::stream("x\n")), r#"{"stream":"x\n"}"#);
        // The builder's lines as it wrote them with json! before.
        let id = "sha256:0123";
        assert_eq!(
            s(&JsonMessage::build_result(id)),
            serde_json::json!({ "aux": { "ID": id } }).to_string()
        );
        assert_eq!(
            s(&JsonMessage::stream(" ---> 0123\n")),
            serde_json::json!({ "stream": " ---> 0123\n" }).to_string()
        );
        let push = JsonMessage {
            progress_detail: Some(ProgressDetail::default()),
            aux: Some(
                serde_json::to_value(PushResult {
                    tag: "v1".into(),
                    digest: "sha256:ab".into(),
                    size: 528,
                })
                .expect("value"),
            ),
            ..Default::default()
        };
        assert_eq!(
            s(&push),
            r#"{"progressDetail":{},"aux":{"Tag":"v1","Digest":"sha256:ab","Size":528}}"#
        );
    }
}
