//! The event bus behind `GET /events`: a tokio broadcast for live subscribers plus a bounded
//! in-memory history so `since` can replay what already happened, as dockerd's `events`
//! package does (it keeps the last 256 events; we keep more, they are small).

use crate::error::{EngineError, Result};
use crate::model::ContainerRecord;
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use tokio::sync::broadcast;

/// How many past events `since` can reach.
const HISTORY: usize = 1024;

#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Actor {
    #[serde(rename = "ID")]
    pub id: String,
    #[serde(rename = "Attributes")]
    pub attributes: BTreeMap<String, String>,
}

/// One event, serialized exactly as Docker's `events.Message` (legacy `status`, `id`,
/// `from` filled for container and image events, as moby does).
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Event {
    #[serde(skip_serializing_if = "String::is_empty")]
    pub status: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub id: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub from: String,
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(rename = "Action")]
    pub action: String,
    #[serde(rename = "Actor")]
    pub actor: Actor,
    pub scope: String,
    pub time: i64,
    #[serde(rename = "timeNano")]
    pub time_nano: i64,
}

struct Inner {
    tx: broadcast::Sender<Event>,
    history: Mutex<VecDeque<Event>>,
}

/// Cheap to clone: every clone publishes to the same subscribers.
#[derive(Clone)]
pub struct Events {
    inner: Arc<Inner>,
}

impl Default for Events {
    fn default() -> Self {
        Self::new()
    }
}

impl Events {
    pub fn new() -> Events {
        let (tx, _) = broadcast::channel(4096);
        Events {
            inner: Arc::new(Inner {
                tx,
                history: Mutex::new(VecDeque::with_capacity(HISTORY)),
            }),
        }
    }

    /// Publishes an event of `kind` ("container", "image", ...) now. The lead's exec and
    /// health code call this too (exec_create, exec_start, exec_die, health_status).
    pub fn publish(
        &self,
        kind: &str,
        action: &str,
        actor_id: &str,
        attributes: BTreeMap<String, String>,
    ) {
        let now = chrono::Utc::now();
        let time_nano = now.timestamp_nanos_opt().unwrap_or(0);
        let legacy = kind == "container" || kind == "image";
        let from = if kind == "container" {
            attributes.get("image").cloned().unwrap_or_default()
        } else {
            String::new()
        };
        let ev = Event {
            status: if legacy {
                action.to_string()
            } else {
                String::new()
            },
            id: if legacy {
                actor_id.to_string()
            } else {
                String::new()
            },
            from,
            kind: kind.to_string(),
            action: action.to_string(),
            actor: Actor {
                id: actor_id.to_string(),
                attributes,
            },
            scope: "local".into(),
            time: now.timestamp(),
            time_nano,
        };
        // Under the history lock, so a subscriber sees each event either in its snapshot
        // or on its receiver, never both nor neither.
        let mut h = self.inner.history.lock().unwrap_or_else(|e| e.into_inner());
        if h.len() == HISTORY {
            h.pop_front();
        }
        h.push_back(ev.clone());
        let _ = self.inner.tx.send(ev);
    }

    /// The history (oldest first) and a receiver for everything published afterwards.
    pub fn subscribe(&self) -> (Vec<Event>, broadcast::Receiver<Event>) {
        let h = self.inner.history.lock().unwrap_or_else(|e| e.into_inner());
        let rx = self.inner.tx.subscribe();
        (h.iter().cloned().collect(), rx)
    }

    /// A container event with Docker's attributes: image (as the user named it), name,
    /// the container's labels, then `extra`.
    pub fn container(&self, rec: &ContainerRecord, action: &str, extra: &[(&str, String)]) {
        let mut attrs: BTreeMap<String, String> = rec
            .config
            .labels()
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        attrs.insert("image".into(), rec.config.image.clone());
        attrs.insert("name".into(), rec.name.clone());
        for (k, v) in extra {
            attrs.insert((*k).to_string(), v.clone());
        }
        self.publish("container", action, &rec.id, attrs);
    }

    /// An image event: actor is the image id, `name` the reference it concerns, after the
    /// image's labels (moby's LogImageEvent; none once the image is deleted).
    pub fn image(&self, action: &str, id: &str, name: &str, labels: &BTreeMap<String, String>) {
        let mut attrs = labels.clone();
        attrs.insert("name".to_string(), name.to_string());
        self.publish("image", action, id, attrs);
    }
}

/// The filter keys `GET /events` accepts (moby's router list).
const KEYS: &[&str] = &[
    "container",
    "daemon",
    "event",
    "image",
    "label",
    "network",
    "type",
    "volume",
    "plugin",
    "node",
    "service",
    "secret",
    "config",
    "scope",
];

const TYPES: &[&str] = &[
    "builder",
    "config",
    "container",
    "daemon",
    "image",
    "network",
    "node",
    "plugin",
    "secret",
    "service",
    "volume",
];

/// Moby's events filter: same key OR, different keys AND.
#[derive(Debug, Clone, Default)]
pub struct EventFilter {
    f: berth_api::filters::Filters,
}

impl EventFilter {
    /// Checks keys (and type/scope values) with moby's messages.
    pub fn new(f: berth_api::filters::Filters) -> Result<EventFilter> {
        for (k, vals) in &f {
            if !KEYS.contains(&k.as_str()) {
                return Err(EngineError::InvalidParameter(format!(
                    "invalid filter '{k}'"
                )));
            }
            for v in vals {
                let bad = match k.as_str() {
                    "type" => !TYPES.contains(&v.as_str()),
                    "scope" => !matches!(v.as_str(), "local" | "swarm"),
                    _ => false,
                };
                if bad {
                    return Err(EngineError::InvalidParameter(format!(
                        "invalid filter '{k}={v}'"
                    )));
                }
            }
        }
        Ok(EventFilter { f })
    }

    fn vals(&self, key: &str) -> Option<&Vec<String>> {
        self.f.get(key).filter(|v| !v.is_empty())
    }

    fn exact(&self, key: &str, source: &str) -> bool {
        self.vals(key).is_none_or(|v| v.iter().any(|x| x == source))
    }

    fn fuzzy(&self, key: &str, source: &str) -> bool {
        self.vals(key).is_none_or(|v| {
            v.iter()
                .any(|x| x == source || source.starts_with(x.as_str()))
        })
    }

    pub fn matches(&self, ev: &Event) -> bool {
        let attr = |k: &str| ev.actor.attributes.get(k).map(String::as_str).unwrap_or("");
        // exec_create/exec_start/health_status carry a suffix after ':'; moby matches those
        // filter values as prefixes.
        let fuzzy_event = self.vals("event").is_some_and(|v| {
            v.iter()
                .any(|x| matches!(x.as_str(), "health_status" | "exec_create" | "exec_start"))
        });
        let event_ok = if fuzzy_event {
            self.fuzzy("event", &ev.action)
        } else {
            self.exact("event", &ev.action)
        };
        let name_match = |kind: &str| {
            if self.vals(kind).is_none() {
                return true;
            }
            ev.kind == kind && (self.fuzzy(kind, &ev.actor.id) || self.fuzzy(kind, attr("name")))
        };
        let image_ok = self.vals("image").is_none() || {
            let name = if ev.kind == "image" {
                attr("name")
            } else {
                attr("image")
            };
            let id = if ev.kind == "image" { &ev.actor.id } else { "" };
            [id, name, strip_tag(id), strip_tag(name)]
                .iter()
                .any(|s| !s.is_empty() && self.exact("image", s))
        };
        let labels_ok = match self.vals("label") {
            None => true,
            Some(wanted) => wanted.iter().all(|w| match w.split_once('=') {
                Some((k, v)) => ev.actor.attributes.get(k).is_some_and(|x| x == v),
                None => ev.actor.attributes.contains_key(w.as_str()),
            }),
        };
        event_ok
            && self.exact("type", &ev.kind)
            && self.exact("scope", &ev.scope)
            && name_match("container")
            && name_match("network")
            && name_match("volume")
            && name_match("plugin")
            && image_ok
            && labels_ok
    }
}

/// "busybox:latest" -> "busybox" (a registry port is not a tag).
fn strip_tag(s: &str) -> &str {
    let s = s.split('@').next().unwrap_or(s);
    match s.rfind(':') {
        Some(i) if !s[i..].contains('/') => &s[..i],
        _ => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter(json: &str) -> Result<EventFilter> {
        EventFilter::new(berth_api::filters::parse(json).map_err(EngineError::InvalidParameter)?)
    }

    #[test]
    fn history_and_filters() {
        let bus = Events::new();
        let mut attrs = BTreeMap::new();
        attrs.insert("image".to_string(), "busybox:latest".to_string());
        attrs.insert("name".to_string(), "web".to_string());
        attrs.insert("tier".to_string(), "front".to_string());
        bus.publish("container", "start", "abcdef", attrs);
        bus.image("tag", "sha256:1234", "busybox:v2", &BTreeMap::new());
        let (hist, _rx) = bus.subscribe();
        assert_eq!(hist.len(), 2);
        assert_eq!(hist[0].status, "start");
        assert_eq!(hist[0].from, "busybox:latest");
        assert_eq!(hist[1].from, "");
        let ok = |j: &str| -> Vec<bool> {
            let f = filter(j).expect("valid filter");
            hist.iter().map(|e| f.matches(e)).collect()
        };
        assert_eq!(ok(r#"{"type":["container"]}"#), vec![true, false]);
        assert_eq!(ok(r#"{"container":["web"]}"#), vec![true, false]);
        assert_eq!(ok(r#"{"container":["abc"]}"#), vec![true, false]);
        assert_eq!(ok(r#"{"image":["busybox"]}"#), vec![true, true]);
        assert_eq!(ok(r#"{"label":["tier=front"]}"#), vec![true, false]);
        assert_eq!(ok(r#"{"event":["tag","start"]}"#), vec![true, true]);
        assert_eq!(ok(r#"{"event":["die"]}"#), vec![false, false]);
        let e = filter(r#"{"foo":["bar"]}"#).expect_err("bad key");
        assert_eq!(e.to_string(), "invalid filter 'foo'");
        assert!(filter(r#"{"type":["bogus"]}"#).is_err());
    }

    #[test]
    fn serializes_as_docker() {
        let bus = Events::new();
        bus.image("load", "sha256:1", "busybox:latest", &BTreeMap::new());
        let (h, _) = bus.subscribe();
        let v = serde_json::to_value(&h[0]).expect("json");
        assert_eq!(v["Type"], "image");
        assert_eq!(v["Actor"]["Attributes"]["name"], "busybox:latest");
        assert_eq!(v["scope"], "local");
        assert!(v.get("from").is_none());
        assert!(v["timeNano"].as_i64().unwrap_or(0) > v["time"].as_i64().unwrap_or(0));
    }
}
