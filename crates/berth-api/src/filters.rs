//! The `filters` query parameter: `{"name":{"a":true}}`, or the legacy `{"name":["a","b"]}`.

use std::collections::BTreeMap;

pub type Filters = BTreeMap<String, Vec<String>>;

/// moby's answer to a `filters` value it cannot read (api/types/filters `FromJSON`, whose
/// `invalidFilter{}` has no filter name): the words only, never the JSON parser's.
const INVALID: &str = "invalid filter";

/// Parses the JSON filters parameter as moby's `filters.FromJSON`: first the set form
/// `{"k":{"v":true}}` for every key (a value's bool is not looked at: moby's `Get` lists a
/// set's keys whatever they map to), else the legacy list form `{"k":["v"]}` for every key.
/// An empty string means no filters. Anything else (not JSON, not an object, a bare string
/// value, a list with a non-string, the two forms mixed) is moby's "invalid filter".
pub fn parse(raw: &str) -> Result<Filters, String> {
    if raw.trim().is_empty() {
        return Ok(Filters::new());
    }
    type SetForm = BTreeMap<String, Option<BTreeMap<String, bool>>>;
    type ListForm = BTreeMap<String, Option<Vec<String>>>;
    if let Ok(sets) = serde_json::from_str::<SetForm>(raw) {
        return Ok(sets
            .into_iter()
            .map(|(k, set)| (k, set.unwrap_or_default().into_keys().collect()))
            .collect());
    }
    let lists = serde_json::from_str::<ListForm>(raw).map_err(|_| INVALID.to_string())?;
    Ok(lists
        .into_iter()
        .map(|(k, list)| (k, list.unwrap_or_default()))
        .collect())
}

/// Docker's label filter: "key" (present) or "key=value"; every entry must match.
pub fn labels_match(labels: &BTreeMap<String, String>, wanted: &[String]) -> bool {
    wanted.iter().all(|w| match w.split_once('=') {
        Some((k, v)) => labels.get(k).is_some_and(|x| x == v),
        None => labels.contains_key(w.as_str()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_both_forms() {
        let f = parse(r#"{"name":["a"],"id":["b","c"]}"#).expect("list form");
        assert_eq!(f["name"], vec!["a"]);
        assert_eq!(f["id"], vec!["b", "c"]);
        let f = parse(r#"{"status":{"exited":true,"dead":false},"name":null}"#).expect("set form");
        // moby's Get lists a set's keys whatever their bool says.
        assert_eq!(f["status"], vec!["dead", "exited"]);
        assert!(f["name"].is_empty());
        assert!(parse("").expect("empty").is_empty());
    }

    #[test]
    fn refuses_what_moby_refuses() {
        for bad in [
            "[1]",
            "{nojson",
            r#"{"name":3}"#,
            r#"{"name":"x"}"#,
            r#"{"name":["a",1]}"#,
            r#"{"name":{"a":"yes"}}"#,
            // The two forms mixed: neither of moby's two attempts reads it.
            r#"{"name":["a"],"status":{"exited":true}}"#,
            r#"{"a":1} trailing"#,
        ] {
            assert_eq!(parse(bad), Err("invalid filter".to_string()), "{bad}");
        }
    }
}
