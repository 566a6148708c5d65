//! The `filters` query parameter: `{"name":["a","b"]}` or the old `{"name":{"a":true}}`.

use std::collections::BTreeMap;

pub type Filters = BTreeMap<String, Vec<String>>;

/// Parses the JSON filters parameter; an empty string means no filters.
pub fn parse(raw: &str) -> Result<Filters, String> {
    if raw.trim().is_empty() {
        return Ok(Filters::new());
    }
    let v: serde_json::Value =
        serde_json::from_str(raw).map_err(|e| format!("invalid filter: {e}"))?;
    let obj = v
        .as_object()
        .ok_or_else(|| "invalid filter: not an object".to_string())?;
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
            _ => return Err(format!("invalid filter: value of {k} is malformed")),
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
        assert!(parse("[1]").is_err());
        assert!(parse("").expect("empty").is_empty());
    }
}
