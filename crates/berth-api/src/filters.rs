//! The `filters` query parameter: `{"name":["a","b"]}` or the old `{"name":{"a":true}}`.

use std::collections::BTreeMap;

pub type Filters = BTreeMap<String, Vec<String>>;

/// moby's answer to a `filters` value it cannot read (api/types/filters `FromJSON`, whose
/// `invalidFilter{}` has no filter name): the words only, never the JSON parser's.
const INVALID: &str = "invalid filter";

/// Parses the JSON filters parameter; an empty string means no filters. What is not JSON,
/// not an object, or has a value that is neither a list nor a set gets moby's
/// "invalid filter". (berth also takes a bare string value, which moby refuses.)
pub fn parse(raw: &str) -> Result<Filters, String> {
    if raw.trim().is_empty() {
        return Ok(Filters::new());
    }
    let v: serde_json::Value = serde_json::from_str(raw).map_err(|_| INVALID.to_string())?;
    let obj = v.as_object().ok_or_else(|| INVALID.to_string())?;
    let mut out = Filters::new();
    for (k, v) in obj {
        let vals: Vec<String> = match v {
            serde_json::Value::Array(a) => a
                .iter()
                .filter_map(|x| x.as_str().map(str::to_string))
                .collect(),
            serde_json::Value::Object(m) => m
                .iter()
                .filter(|(_, on)| on.as_bool().unwrap_or(false))
                .map(|(k, _)| k.clone())
                .collect(),
            serde_json::Value::String(s) => vec![s.clone()],
            _ => return Err(INVALID.to_string()),
        };
        out.insert(k.clone(), vals);
    }
    Ok(out)
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
        let f = parse(r#"{"name":["a"],"status":{"exited":true}}"#).expect("parses");
        assert_eq!(f["name"], vec!["a"]);
        assert_eq!(f["status"], vec!["exited"]);
        assert_eq!(parse("[1]"), Err("invalid filter".to_string()));
        assert_eq!(parse("{nojson"), Err("invalid filter".to_string()));
        assert_eq!(parse(r#"{"name":3}"#), Err("invalid filter".to_string()));
        assert!(parse("").expect("empty").is_empty());
    }
}
