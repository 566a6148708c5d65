//! `ps --filter` and `container prune --filter`, with Docker's semantics: values of one key
//! are alternatives (OR), different keys must all match (AND).

use crate::error::{EngineError, Result};
use crate::model::{ContainerRecord, Status};
use berth_api::filters::labels_match;
pub use berth_api::filters::Filters;
use berth_api::models::ContainerSummary;
use regex::Regex;
use std::collections::HashSet;

/// The keys moby 28's `ps` accepts (acceptedPsFilterTags).
const LIST_KEYS: &[&str] = &[
    "ancestor",
    "before",
    "exited",
    "id",
    "isolation",
    "label",
    "name",
    "status",
    "health",
    "since",
    "volume",
    "network",
    "is-task",
    "publish",
    "expose",
];

/// The health values moby's `health` filter knows (container.IsValidHealthString).
const HEALTH: &[&str] = &["starting", "healthy", "unhealthy", "none"];

/// What the list does with one container (moby's iterationAction).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Include,
    Exclude,
    /// No later (older) container can be listed: `since` reached, or the limit.
    Stop,
}

/// `ps` filters checked and resolved once per listing, as moby's foldFilter does; then
/// [`ListFilter::verdict`] decides per container, newest first (includeContainerInList).
#[derive(Debug, Default)]
pub struct ListFilter {
    filters: Filters,
    /// `status` given: stopped containers are listed without `all`.
    pub shows_all: bool,
    exited: Vec<i64>,
    is_task: Option<bool>,
    /// Full ids: listing starts after this one / stops at this one.
    before: Option<String>,
    since: Option<String>,
    /// `ancestor` given: the image ids (and their descendants) it names.
    ancestors: Option<HashSet<String>>,
    /// `80/tcp` forms of the `publish` and `expose` values.
    publish: HashSet<String>,
    expose: HashSet<String>,
    /// `id` given: the ids their unique prefixes name.
    id_matches: Option<HashSet<String>>,
}

/// What `resolve` needs from the engine: a container by id, name or prefix (its full id,
/// or the error moby gives), every container id, and the image ids an `ancestor` value
/// stands for with their descendants.
pub trait Resolver {
    fn container_id(&self, name_or_id: &str) -> Result<String>;
    fn container_ids(&self) -> Vec<String>;
    fn image_family(&self, name: &str) -> Option<HashSet<String>>;
}

/// Checks filter keys and values before any container is looked at, in moby's order.
pub fn validate(f: &Filters) -> Result<()> {
    for k in f.keys() {
        if !LIST_KEYS.contains(&k.as_str()) {
            return Err(EngineError::InvalidParameter(format!(
                "invalid filter '{k}'"
            )));
        }
    }
    for v in values(f, "exited") {
        // moby's foldFilter returns strconv.Atoi's error as it is (a 500).
        if v.parse::<i64>().is_err() {
            return Err(EngineError::Internal(format!(
                "strconv.Atoi: parsing {v:?}: invalid syntax"
            )));
        }
    }
    for v in values(f, "status") {
        if Status::parse(v).is_none() {
            return Err(EngineError::InvalidParameter(format!(
                "invalid filter 'status={v}'"
            )));
        }
    }
    if let Some(vals) = f.get("is-task") {
        if !vals.iter().any(|v| v == "true" || v == "false") {
            return Err(EngineError::InvalidParameter(format!(
                "invalid filter 'is-task=[{}]'",
                vals.join(" ")
            )));
        }
    }
    for v in values(f, "health") {
        if !HEALTH.contains(&v.as_str()) {
            return Err(EngineError::InvalidParameter(format!(
                "Unrecognised filter value for health: {v}"
            )));
        }
    }
    Ok(())
}

fn values<'a>(f: &'a Filters, key: &str) -> impl Iterator<Item = &'a String> {
    f.get(key).into_iter().flatten()
}

/// moby's portOp: `80`, `80/udp`, `8000-8010/tcp` as `port/proto` keys.
fn port_keys(key: &str, value: &str, out: &mut HashSet<String>) -> Result<()> {
    let fail =
        |m: String| EngineError::Internal(format!("error while looking up for {key} {value}: {m}"));
    if value.contains(':') {
        return Err(EngineError::Internal(format!(
            "filter for '{key}' should not contain ':': {value}"
        )));
    }
    let (port, proto) = match value.split_once('/') {
        Some((p, proto)) => (p, proto),
        None => (value, "tcp"),
    };
    let num = |s: &str| {
        go_parse_u16(s).map_err(|e| fail(format!("strconv.ParseUint: parsing {s:?}: {e}")))
    };
    let (start, end) = if port.is_empty() {
        return Err(fail("empty string specified for ports".into()));
    } else if let Some((a, b)) = port.split_once('-') {
        let (a, b) = (num(a)?, num(b.split('-').next().unwrap_or_default())?);
        if b < a {
            return Err(fail(format!("invalid range specified for port: {port}")));
        }
        (a, b)
    } else {
        let p = num(port)?;
        (p, p)
    };
    for p in start..=end {
        out.insert(format!("{p}/{}", proto.to_ascii_lowercase()));
    }
    Ok(())
}

/// `strconv.ParseUint(s, 10, 16)`'s outcome, with Go's error words.
fn go_parse_u16(s: &str) -> std::result::Result<u16, &'static str> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err("invalid syntax");
    }
    s.parse::<u16>().map_err(|_| "value out of range")
}

impl ListFilter {
    /// [`validate`]s `f`, then resolves `before`/`since` (moby's idOrNameFilter: a missing
    /// container is an error), `ancestor` (unknown images are skipped), the port values and
    /// the `id` prefixes.
    pub fn resolve(f: Filters, r: &dyn Resolver) -> Result<ListFilter> {
        validate(&f)?;
        let mut lf = ListFilter {
            shows_all: f.contains_key("status"),
            exited: values(&f, "exited")
                .filter_map(|v| v.parse().ok())
                .collect(),
            ..Default::default()
        };
        if let Some(vals) = f.get("is-task") {
            lf.is_task = Some(vals.iter().any(|v| v == "true"));
        }
        for v in values(&f, "before") {
            lf.before = Some(r.container_id(v)?);
        }
        for v in values(&f, "since") {
            lf.since = Some(r.container_id(v)?);
        }
        if f.contains_key("ancestor") {
            let mut ids = HashSet::new();
            for a in values(&f, "ancestor") {
                ids.extend(r.image_family(a).unwrap_or_default());
            }
            lf.ancestors = Some(ids);
        }
        for v in values(&f, "publish") {
            port_keys("publish", v, &mut lf.publish)?;
        }
        for v in values(&f, "expose") {
            port_keys("expose", v, &mut lf.expose)?;
        }
        if f.get("id").is_some_and(|v| !v.is_empty()) {
            // moby's filterByNameIDMatches: each value names the one container its prefix
            // picks out (none when ambiguous).
            let all = r.container_ids();
            let mut hits = HashSet::new();
            for v in values(&f, "id") {
                let mut m = all
                    .iter()
                    .filter(|id| !v.is_empty() && id.starts_with(v.as_str()));
                if let (Some(one), None) = (m.next(), m.next()) {
                    hits.insert(one.clone());
                }
            }
            lf.id_matches = Some(hits);
        }
        lf.filters = f;
        Ok(lf)
    }

    /// Whether the listing needs each container's ports, mounts and networks.
    pub fn needs_summary(&self) -> bool {
        ["volume", "network"]
            .iter()
            .any(|k| self.filters.contains_key(*k))
            || !self.publish.is_empty()
            || !self.expose.is_empty()
    }

    /// moby's includeContainerInList for `rec` (with its summary when [`Self::needs_summary`]),
    /// `listed` containers already taken, `all` and `limit` as asked. Containers must come
    /// newest first: `before` skips until its container has gone by.
    pub fn verdict(
        &mut self,
        rec: &ContainerRecord,
        summary: Option<&ContainerSummary>,
        all: bool,
        limit: i64,
        listed: usize,
    ) -> Verdict {
        if let Some(b) = &self.before {
            if *b == rec.id {
                self.before = None;
            }
            return Verdict::Exclude;
        }
        if self.since.as_deref() == Some(rec.id.as_str()) {
            return Verdict::Stop;
        }
        if !(rec.state.status.is_running() || all || self.shows_all) && limit <= 0 {
            return Verdict::Exclude;
        }
        if let Some(ids) = &self.id_matches {
            if !ids.contains(&rec.id) {
                return Verdict::Exclude;
            }
        }
        let slash = format!("/{}", rec.name);
        if !self.matches("name", &rec.name) && !self.matches("name", &slash) {
            return Verdict::Exclude;
        }
        if !self.matches("id", &rec.id) {
            return Verdict::Exclude;
        }
        if let Some(want) = self.is_task {
            let task = rec.config.labels().contains_key("com.docker.swarm.task.id");
            if want != task {
                return Verdict::Exclude;
            }
        }
        if let Some(l) = self.filters.get("label").filter(|l| !l.is_empty()) {
            if !labels_match(rec.config.labels(), l) {
                return Verdict::Exclude;
            }
        }
        // `isolation` is accepted and ignored on Linux (moby's list_unix.go excludeByIsolation).
        if limit > 0 && listed as i64 >= limit {
            return Verdict::Stop;
        }
        if !self.exited.is_empty() {
            let exited = !rec.state.status.is_running() && rec.state.started_at.is_some();
            if !(exited && self.exited.contains(&rec.state.exit_code)) {
                return Verdict::Exclude;
            }
        }
        if !self.matches("status", rec.state.status.as_str()) {
            return Verdict::Exclude;
        }
        let health = rec
            .state
            .health
            .as_ref()
            .map_or("none", |h| h.status.as_str());
        if let Some(h) = self.filters.get("health").filter(|h| !h.is_empty()) {
            if !h.iter().any(|v| v == health) {
                return Verdict::Exclude;
            }
        }
        if let Some(wanted) = self.filters.get("volume").filter(|v| !v.is_empty()) {
            let mounts = summary.map(|s| s.mounts.as_slice()).unwrap_or_default();
            // A volume by its name, a bind by its host path, either by its destination.
            let hit = wanted.iter().any(|v| {
                mounts.iter().any(|m| {
                    m.destination == *v
                        || match m.name.as_deref().filter(|n| !n.is_empty()) {
                            Some(n) => n == v,
                            None => m.source == *v,
                        }
                })
            });
            if !hit {
                return Verdict::Exclude;
            }
        }
        if let Some(ids) = &self.ancestors {
            if !ids.contains(&rec.image_id) {
                return Verdict::Exclude;
            }
        }
        if let Some(wanted) = self.filters.get("network").filter(|v| !v.is_empty()) {
            let nets = summary.map(|s| &s.network_settings.networks);
            let hit = wanted.iter().any(|v| {
                nets.is_some_and(|n| {
                    n.contains_key(v)
                        || n.values().any(|e| {
                            !e.network_id.is_empty() && e.network_id.starts_with(v.as_str())
                        })
                })
            });
            if !hit {
                return Verdict::Exclude;
            }
        }
        if !self.publish.is_empty() || !self.expose.is_empty() {
            let ports = summary.map(|s| s.ports.as_slice()).unwrap_or_default();
            let hit = ports.iter().any(|p| {
                let kind = p.kind.to_ascii_lowercase();
                self.publish
                    .contains(&format!("{}/{kind}", p.public_port.unwrap_or(0)))
                    || self.expose.contains(&format!("{}/{kind}", p.private_port))
            });
            if !hit {
                return Verdict::Exclude;
            }
        }
        Verdict::Include
    }

    /// moby's `Args.Match`: no values, an equal value, or a value that is a regular
    /// expression matching `source` (values that do not compile never match).
    fn matches(&self, key: &str, source: &str) -> bool {
        let Some(vals) = self.filters.get(key).filter(|v| !v.is_empty()) else {
            return true;
        };
        vals.iter()
            .any(|v| v == source || Regex::new(v).is_ok_and(|re| re.is_match(source)))
    }
}

impl crate::engine::Engine {
    /// `ps` filters resolved against this engine's containers and images
    /// ([`ListFilter::resolve`]); keys and values are checked before any lookup.
    pub async fn list_filter(&self, f: Filters) -> Result<ListFilter> {
        validate(&f)?;
        let mut families = std::collections::HashMap::new();
        if let Some(wanted) = f.get("ancestor").filter(|a| !a.is_empty()) {
            let images = self.images.list().await.unwrap_or_default();
            for name in wanted {
                if let Ok(img) = self.images.get(name).await {
                    families.insert(name.clone(), descendants(&images, &img.id));
                }
            }
        }
        struct EngineResolver<'a> {
            engine: &'a crate::engine::Engine,
            families: std::collections::HashMap<String, HashSet<String>>,
        }
        impl Resolver for EngineResolver<'_> {
            fn container_id(&self, name_or_id: &str) -> Result<String> {
                // moby's idOrNameFilter: a full id or an exact name, no prefixes.
                let name = name_or_id.strip_prefix('/').unwrap_or(name_or_id);
                let idx = self.engine.read_index();
                if idx.by_id.contains_key(name_or_id) {
                    return Ok(name_or_id.to_string());
                }
                idx.names
                    .get(name)
                    .cloned()
                    .ok_or_else(|| EngineError::NotFound(format!("no such container {name_or_id}")))
            }
            fn container_ids(&self) -> Vec<String> {
                self.engine.all().iter().map(|c| c.id.clone()).collect()
            }
            fn image_family(&self, name: &str) -> Option<HashSet<String>> {
                self.families.get(name).cloned()
            }
        }
        ListFilter::resolve(
            f,
            &EngineResolver {
                engine: self,
                families,
            },
        )
    }
}

/// `id` and every image built on it (moby's populateImageFilterByParents).
fn descendants(images: &[crate::images::Image], id: &str) -> HashSet<String> {
    let mut out = HashSet::from([id.to_string()]);
    let mut todo = vec![id.to_string()];
    while let Some(parent) = todo.pop() {
        for img in images.iter().filter(|i| i.parent == parent) {
            if out.insert(img.id.clone()) {
                todo.push(img.id.clone());
            }
        }
    }
    out
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::State;
    use berth_api::models::{ContainerConfig, HostConfig, MountPoint, PortSummary};

    fn rec(id: &str, name: &str, status: Status) -> ContainerRecord {
        ContainerRecord {
            id: id.repeat(64 / id.len()),
            name: name.into(),
            created: chrono::Utc::now(),
            image_id: "sha256:img".into(),
            path: "true".into(),
            args: Vec::new(),
            config: ContainerConfig::default(),
            host_config: HostConfig::default(),
            state: State {
                status,
                started_at: (status != Status::Created).then(chrono::Utc::now),
                ..State::default()
            },
            restart_count: 0,
            mount_points: Vec::new(),
            endpoints: Default::default(),
        }
    }

    struct Fake(Vec<String>);
    impl Resolver for Fake {
        fn container_id(&self, n: &str) -> Result<String> {
            self.0
                .iter()
                .find(|id| id.starts_with(n))
                .cloned()
                .ok_or_else(|| EngineError::NotFound(format!("No such container: {n}")))
        }
        fn container_ids(&self) -> Vec<String> {
            self.0.clone()
        }
        fn image_family(&self, _: &str) -> Option<HashSet<String>> {
            None
        }
    }

    fn filter(json: &str, ids: &[&ContainerRecord]) -> Result<ListFilter> {
        let f = berth_api::filters::parse(json).expect("filters");
        ListFilter::resolve(f, &Fake(ids.iter().map(|r| r.id.clone()).collect()))
    }

    fn listed(json: &str, recs: &[ContainerRecord], all: bool) -> Vec<String> {
        let refs: Vec<&ContainerRecord> = recs.iter().collect();
        let mut lf = filter(json, &refs).expect("valid");
        let mut out = Vec::new();
        for r in recs {
            let s = crate::container::inspect::summary(r, "", None);
            match lf.verdict(r, Some(&s), all, -1, out.len()) {
                Verdict::Include => out.push(r.name.clone()),
                Verdict::Exclude => {}
                Verdict::Stop => break,
            }
        }
        out
    }

    #[test]
    fn keys_and_values_refused_in_mobys_words() {
        let err = |j: &str| filter(j, &[]).expect_err(j).to_string();
        assert_eq!(err(r#"{"bogus":["1"]}"#), "invalid filter 'bogus'");
        assert_eq!(err(r#"{"label!":["a"]}"#), "invalid filter 'label!'");
        assert_eq!(err(r#"{"status":["run"]}"#), "invalid filter 'status=run'");
        assert_eq!(
            err(r#"{"is-task":["maybe"]}"#),
            "invalid filter 'is-task=[maybe]'"
        );
        assert_eq!(
            err(r#"{"health":["bogus"]}"#),
            "Unrecognised filter value for health: bogus"
        );
        assert_eq!(
            err(r#"{"exited":["x"]}"#),
            "strconv.Atoi: parsing \"x\": invalid syntax"
        );
        assert_eq!(
            err(r#"{"publish":["1:2"]}"#),
            "filter for 'publish' should not contain ':': 1:2"
        );
        assert_eq!(
            err(r#"{"expose":["abc"]}"#),
            "error while looking up for expose abc: strconv.ParseUint: parsing \"abc\": invalid syntax"
        );
        assert_eq!(
            err(r#"{"expose":["9-1"]}"#),
            "error while looking up for expose 9-1: invalid range specified for port: 9-1"
        );
        assert_eq!(err(r#"{"before":["nosuch"]}"#), "No such container: nosuch");
    }

    #[test]
    fn before_since_exited_status_and_names() {
        // Newest first, as the list walks them.
        let recs = vec![
            rec("e", "e5", Status::Exited),
            rec("d", "d4", Status::Exited),
            rec("c", "c3", Status::Created),
            rec("b", "b2", Status::Running),
            rec("a", "a1", Status::Running),
        ];
        let j = |k: &str, v: &str| format!(r#"{{"{k}":["{v}"]}}"#);
        assert_eq!(listed(&j("before", "ccc"), &recs, true), ["b2", "a1"]);
        assert_eq!(listed(&j("since", "bbb"), &recs, true), ["e5", "d4", "c3"]);
        assert_eq!(
            listed(&j("since", "bbb"), &recs, false),
            Vec::<String>::new()
        );
        // exited does not list stopped containers by itself; status does.
        assert_eq!(
            listed(&j("exited", "0"), &recs, false),
            Vec::<String>::new()
        );
        assert_eq!(listed(&j("exited", "0"), &recs, true), ["e5", "d4"]);
        assert_eq!(listed(&j("status", "created"), &recs, false), ["c3"]);
        assert_eq!(listed(&j("name", "^[ab]"), &recs, true), ["b2", "a1"]);
        assert_eq!(listed(&j("name", "/e5"), &recs, true), ["e5"]);
        assert_eq!(listed(&j("id", "dd"), &recs, true), ["d4"]);
        assert_eq!(listed(&j("isolation", "default"), &recs, true).len(), 5);
        assert_eq!(listed(&j("isolation", "hyperv"), &recs, true).len(), 5);
        assert_eq!(listed(&j("is-task", "false"), &recs, true).len(), 5);
        assert_eq!(listed(&j("health", "none"), &recs, true).len(), 5);
    }

    #[test]
    fn volumes_networks_and_ports_come_from_the_summary() {
        let mut a = rec("a", "a1", Status::Running);
        a.mount_points.push(crate::model::MountPoint {
            typ: "volume".into(),
            name: "v1".into(),
            source: "/root/volumes/v1/_data".into(),
            destination: "/data".into(),
            ..Default::default()
        });
        let refs = [&a];
        let mut lf = filter(r#"{"volume":["v1"],"expose":["80-90/tcp"]}"#, &refs).expect("ok");
        let mut s = crate::container::inspect::summary(&a, "", None);
        assert_eq!(lf.verdict(&a, Some(&s), true, -1, 0), Verdict::Exclude);
        s.ports.push(PortSummary {
            ip: None,
            private_port: 85,
            public_port: None,
            kind: "tcp".into(),
        });
        assert_eq!(lf.verdict(&a, Some(&s), true, -1, 0), Verdict::Include);
        s.mounts = vec![MountPoint {
            destination: "/other".into(),
            ..Default::default()
        }];
        assert_eq!(lf.verdict(&a, Some(&s), true, -1, 0), Verdict::Exclude);
    }
}
