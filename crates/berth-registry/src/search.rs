//! `docker search`'s registry side, as moby 28's registry/search.go: the term names the index
//! (a first component with a dot or a colon, or `localhost`; Docker Hub's otherwise), the
//! v1 index answers `GET /v1/search?q=TERM&n=LIMIT`, and the daemon's filters (`stars`,
//! `is-official`, `is-automated`) apply to what it answers.

use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};
use serde::{Deserialize, Serialize};

use crate::client::{build_agents, read_small, transport_text};
use crate::{AuthConfig, RegistryConfig, RegistryError};

/// Docker Hub's index, searched for terms that name no registry.
pub const DEFAULT_INDEX: &str = "index.docker.io";
/// moby's limit when the client gives none, and its upper bound.
pub const DEFAULT_LIMIT: i64 = 25;
const MAX_LIMIT: i64 = 100;

/// What Go's `url.QueryEscape` escapes: everything but `A-Za-z0-9-_.~` (space is `+`,
/// handled apart).
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// One result, as the index and the Engine API name its fields.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct SearchResult {
    #[serde(default)]
    pub star_count: i64,
    #[serde(default)]
    pub is_official: bool,
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub is_automated: bool,
    #[serde(default)]
    pub description: String,
}

#[derive(Deserialize)]
struct IndexAnswer {
    #[serde(default)]
    results: Vec<SearchResult>,
}

/// The daemon's filters over the results.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SearchFilters {
    pub min_stars: Option<i64>,
    pub official: Option<bool>,
    /// `is-automated=true`: moby 28 answers nothing (automated builds are gone);
    /// `is-automated=false` selects nothing out.
    pub automated: bool,
}

/// moby's `filters.Args.GetBoolOrDefault`: exactly one of `1`/`true` or `0`/`false`.
fn bool_filter(key: &str, vals: &[String]) -> Result<bool, RegistryError> {
    let is_false = vals.iter().any(|v| v == "0" || v == "false");
    let is_true = vals.iter().any(|v| v == "1" || v == "true");
    if is_false == is_true {
        let shown = if vals.is_empty() {
            key.to_string()
        } else {
            format!("{key}={}", vals.join(","))
        };
        return Err(RegistryError::InvalidArgument(format!(
            "invalid filter '{shown}'"
        )));
    }
    Ok(is_true)
}

impl SearchFilters {
    /// From the `filters` parameter's entries, checked in moby's order and with its messages.
    pub fn parse<'a>(
        entries: impl IntoIterator<Item = (&'a str, &'a [String])> + Clone,
    ) -> Result<SearchFilters, RegistryError> {
        for (k, _) in entries.clone() {
            if !matches!(k, "stars" | "is-official" | "is-automated") {
                return Err(RegistryError::InvalidArgument(format!(
                    "invalid filter '{k}'"
                )));
            }
        }
        let mut f = SearchFilters::default();
        let get = |key: &str| entries.clone().into_iter().find(|(k, _)| *k == key);
        if let Some((k, vals)) = get("is-automated") {
            f.automated = bool_filter(k, vals)?;
        }
        if let Some((k, vals)) = get("is-official") {
            f.official = Some(bool_filter(k, vals)?);
        }
        if let Some((_, vals)) = get("stars") {
            let mut min = 0;
            for v in vals {
                let n: i64 = v.parse().map_err(|_| {
                    RegistryError::InvalidArgument(format!(
                        "invalid filter 'stars={v}': strconv.Atoi: parsing \"{v}\": invalid syntax"
                    ))
                })?;
                // moby keeps the largest of several.
                min = min.max(n);
            }
            f.min_stars = Some(min);
        }
        Ok(f)
    }

    /// The results that pass, `is_automated` cleared as moby 28 clears it (Docker Hub's
    /// value is not to be trusted).
    pub fn apply(&self, found: Vec<SearchResult>) -> Vec<SearchResult> {
        found
            .into_iter()
            .filter(|r| self.min_stars.is_none_or(|m| r.star_count >= m))
            .filter(|r| self.official.is_none_or(|o| r.is_official == o))
            .map(|r| SearchResult {
                is_automated: false,
                ..r
            })
            .collect()
    }
}

/// The host Docker Hub's index is asked at: `BERTH_INDEX_HOST`, else `BERTH_HUB_HOST` (the
/// test harness points it at a closed loopback port so no test reaches Docker Hub), else
/// `index.docker.io`.
fn hub_index_host() -> String {
    ["BERTH_INDEX_HOST", "BERTH_HUB_HOST"]
        .iter()
        .filter_map(|k| std::env::var(k).ok())
        .find(|h| !h.is_empty())
        .unwrap_or_else(|| DEFAULT_INDEX.to_string())
}

/// Splits a term into the index and the query, as moby's splitReposSearchTerm; Docker
/// Hub's official images are searched without their `library/`. `None`: Docker Hub's index.
pub fn split_term(term: &str) -> (Option<&str>, &str) {
    fn hub(q: &str) -> &str {
        q.strip_prefix("library/").unwrap_or(q)
    }
    match term.split_once('/') {
        Some((host, rest)) if host.contains('.') || host.contains(':') || host == "localhost" => {
            if matches!(
                host,
                "docker.io" | "index.docker.io" | "registry-1.docker.io"
            ) {
                (None, hub(rest))
            } else {
                (Some(host), rest)
            }
        }
        _ => (None, hub(term)),
    }
}

/// Searches the index `term` names for at most `limit` results (0: moby's 25; else 1 to
/// 100): verified https, then for insecure registries (loopback ones among them) unverified
/// https and plain http, as moby does.
pub fn search(
    cfg: &RegistryConfig,
    term: &str,
    limit: i64,
    auth: &AuthConfig,
) -> Result<Vec<SearchResult>, RegistryError> {
    let limit = if limit == 0 { DEFAULT_LIMIT } else { limit };
    if !(1..=MAX_LIMIT).contains(&limit) {
        return Err(RegistryError::InvalidArgument(format!(
            "limit {limit} is outside the range of [1, {MAX_LIMIT}]"
        )));
    }
    let (index, query) = split_term(term);
    let host = index.map_or_else(hub_index_host, str::to_string);
    let (verified, insecure) = build_agents(cfg, &host)?;
    let mut candidates = vec![(verified, format!("https://{host}"))];
    if let Some((a, plain)) = insecure {
        candidates.push((a, format!("https://{host}")));
        candidates.push((plain, format!("http://{host}")));
    }
    let q = query
        .split(' ')
        .map(|w| utf8_percent_encode(w, QUERY).to_string())
        .collect::<Vec<_>>()
        .join("+");
    let mut last = String::new();
    for (agent, base) in candidates {
        let url = format!("{base}/v1/search?q={q}&n={limit}");
        let mut req = agent.get(&url).header("X-Docker-Token", "true");
        if let Some(b) = auth.basic() {
            req = req.header("Authorization", b);
        }
        match req.call() {
            Ok(r) => {
                let status = r.status().as_u16();
                if status != 200 {
                    return Err(RegistryError::Transport(format!(
                        "Unexpected status code {status}"
                    )));
                }
                let body = read_small(r, 16 << 20)?;
                let ans: IndexAnswer = serde_json::from_slice(&body).map_err(|e| {
                    RegistryError::Invalid(format!("invalid search answer from {host}: {e}"))
                })?;
                return Ok(ans.results);
            }
            Err(e) => {
                tracing::debug!(%url, "search failed: {e}");
                last = format!("Get \"{url}\": {}", transport_text(&e));
            }
        }
    }
    Err(RegistryError::Transport(last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_name_their_index_as_moby_splits_them() {
        assert_eq!(split_term("busybox"), (None, "busybox"));
        assert_eq!(split_term("library/busybox"), (None, "busybox"));
        assert_eq!(split_term("someone/tool"), (None, "someone/tool"));
        assert_eq!(split_term("docker.io/library/nginx"), (None, "nginx"));
        assert_eq!(
            split_term("127.0.0.1:5000/busy"),
            (Some("127.0.0.1:5000"), "busy")
        );
        assert_eq!(split_term("localhost/x/y"), (Some("localhost"), "x/y"));
        assert_eq!(split_term("reg.example/app"), (Some("reg.example"), "app"));
    }

    fn v(s: &[&str]) -> Vec<String> {
        s.iter().map(|x| x.to_string()).collect()
    }

    fn r(name: &str, stars: i64, official: bool) -> SearchResult {
        SearchResult {
            name: name.into(),
            star_count: stars,
            is_official: official,
            is_automated: true,
            ..Default::default()
        }
    }

    #[test]
    fn filters_parse_and_select_as_moby() {
        let stars = v(&["3", "10"]);
        let off = v(&["true"]);
        let f = SearchFilters::parse([("stars", &stars[..]), ("is-official", &off[..])]).unwrap();
        assert_eq!(f.min_stars, Some(10));
        let kept = f.apply(vec![r("a", 10, true), r("b", 9, true), r("c", 50, false)]);
        assert_eq!(
            kept.iter().map(|r| r.name.as_str()).collect::<Vec<_>>(),
            ["a"]
        );
        assert!(!kept[0].is_automated, "is_automated is cleared");
        let no = v(&["false"]);
        let f = SearchFilters::parse([("is-automated", &no[..])]).unwrap();
        assert!(!f.automated);
        assert_eq!(f.apply(vec![r("a", 1, false)]).len(), 1);
        let yes = v(&["1"]);
        assert!(
            SearchFilters::parse([("is-automated", &yes[..])])
                .unwrap()
                .automated
        );
    }

    #[test]
    fn bad_filters_fail_with_mobys_words() {
        let err = |k: &str, vals: &[&str]| {
            let vals = v(vals);
            SearchFilters::parse([(k, &vals[..])])
                .unwrap_err()
                .to_string()
        };
        assert_eq!(
            err("stars", &["many"]),
            "invalid filter 'stars=many': strconv.Atoi: parsing \"many\": invalid syntax"
        );
        assert_eq!(
            err("is-automated", &["maybe"]),
            "invalid filter 'is-automated=maybe'"
        );
        assert_eq!(
            err("is-official", &["True"]),
            "invalid filter 'is-official=True'"
        );
        assert_eq!(
            err("is-official", &["true", "false"]),
            "invalid filter 'is-official=true,false'"
        );
        assert_eq!(err("colour", &["red"]), "invalid filter 'colour'");
    }

    #[test]
    fn limits_outside_the_range_are_refused_before_any_request() {
        let cfg = RegistryConfig::default();
        let auth = AuthConfig::default();
        for l in [101, -1] {
            assert_eq!(
                search(&cfg, "127.0.0.1:9/x", l, &auth)
                    .unwrap_err()
                    .to_string(),
                format!("limit {l} is outside the range of [1, 100]")
            );
        }
    }
}
