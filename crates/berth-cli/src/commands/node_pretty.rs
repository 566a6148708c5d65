//! `node inspect --pretty`: the docker CLI's `nodeInspectPrettyTemplate` written out in
//! Rust, byte for byte (its literal tabs, Go's `time.Time` string for "Joined at", map
//! entries sorted by key as Go templates range over maps), so both CLIs print the same text
//! for the same node.

use crate::units::bytes_size;
use serde_json::Value;
use std::fmt::Write as _;

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

/// The docker CLI's `formatter.PrettyPrint` of a string: the first letter upper case, the
/// rest lower case ("+0000 utc" in a time).
fn pretty(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        // A one-letter string is lowercased whole.
        Some(f) if s.len() == 1 => f.to_lowercase().collect(),
        Some(f) => f
            .to_uppercase()
            .chain(c.flat_map(char::to_lowercase))
            .collect(),
        None => String::new(),
    }
}

fn sorted_map(v: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = v
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), text(v))).collect())
        .unwrap_or_default();
    out.sort();
    out
}

/// Go's `time.Time.String()` ("2006-01-02 15:04:05.999999999 -0700 MST") of an RFC 3339
/// timestamp (which `PrettyPrint` then lowercases after the first letter).
pub fn go_time(ts: &str) -> String {
    let Ok(t) = chrono::DateTime::parse_from_rfc3339(ts) else {
        return ts.to_string();
    };
    let nanos = t.timestamp_subsec_nanos();
    let frac = if nanos == 0 {
        String::new()
    } else {
        format!(".{}", format!("{nanos:09}").trim_end_matches('0'))
    };
    let off = t.offset().local_minus_utc();
    let zone = format!(
        "{}{:02}{:02}",
        if off < 0 { '-' } else { '+' },
        off.abs() / 3600,
        off.abs() % 3600 / 60
    );
    // Go names a UTC time's zone "UTC" and an unnamed fixed offset by the offset itself.
    let name = if off == 0 && ts.ends_with('Z') {
        "UTC".to_string()
    } else {
        zone.clone()
    };
    format!("{}{frac} {zone} {name}", t.format("%Y-%m-%d %H:%M:%S"))
}

/// Lines of `{{range $k, $v := MAP}}\n - {{$k}}{{if $v}}={{$v}}{{end}}{{end}}`.
fn label_lines(out: &mut String, v: &Value) {
    for (k, val) in sorted_map(v) {
        out.push_str("\n - ");
        out.push_str(&k);
        if !val.is_empty() {
            let _ = write!(out, "={val}");
        }
    }
}

/// One node as the template renders it (without the newline the CLI adds after each).
pub fn render(n: &Value) -> String {
    let d = &n["Description"];
    let mut o = String::new();
    let _ = write!(o, "ID:\t\t\t{}", text(&n["ID"]));
    let name = text(&n["Spec"]["Name"]);
    if !name.is_empty() {
        let _ = write!(o, "\nName:\t\t\t{name}");
    }
    if n["Spec"]["Labels"]
        .as_object()
        .is_some_and(|m| !m.is_empty())
    {
        o.push_str("\nLabels:");
        label_lines(&mut o, &n["Spec"]["Labels"]);
    }
    let _ = write!(o, "\nHostname:              \t{}", text(&d["Hostname"]));
    let _ = write!(
        o,
        "\nJoined at:             \t{}",
        pretty(&go_time(&text(&n["CreatedAt"])))
    );
    let _ = write!(
        o,
        "\nStatus:\n State:\t\t\t{}",
        pretty(&text(&n["Status"]["State"]))
    );
    let message = text(&n["Status"]["Message"]);
    if !message.is_empty() {
        let _ = write!(o, "\n Message:              \t{}", pretty(&message));
    }
    let _ = write!(
        o,
        "\n Availability:         \t{}",
        pretty(&text(&n["Spec"]["Availability"]))
    );
    let addr = text(&n["Status"]["Addr"]);
    if !addr.is_empty() {
        let _ = write!(o, "\n Address:\t\t{addr}");
    }
    let ms = &n["ManagerStatus"];
    if ms.is_object() {
        let _ = write!(
            o,
            "\nManager Status:\n Address:\t\t{}\n Raft Status:\t\t{}",
            text(&ms["Addr"]),
            pretty(&text(&ms["Reachability"]))
        );
        let leader = if ms["Leader"] == Value::Bool(true) {
            "Yes"
        } else {
            "No"
        };
        let _ = write!(o, "\n Leader:\t\t{leader}");
    }
    let _ = write!(
        o,
        "\nPlatform:\n Operating System:\t{}\n Architecture:\t\t{}",
        text(&d["Platform"]["OS"]),
        text(&d["Platform"]["Architecture"])
    );
    let cpus = d["Resources"]["NanoCPUs"].as_i64().unwrap_or(0) / 1_000_000_000;
    let memory = match d["Resources"]["MemoryBytes"].as_i64().unwrap_or(0) {
        0 => String::new(),
        m => bytes_size(m as f64),
    };
    let _ = write!(o, "\nResources:\n CPUs:\t\t\t{cpus}\n Memory:\t\t{memory}");
    // Plugin names grouped by type, joined with ", " in the order the node lists them.
    let mut by_type: Vec<(String, Vec<String>)> = Vec::new();
    for p in d["Engine"]["Plugins"].as_array().into_iter().flatten() {
        let (t, name) = (text(&p["Type"]), text(&p["Name"]));
        match by_type.iter_mut().find(|(k, _)| *k == t) {
            Some((_, names)) => names.push(name),
            None => by_type.push((t, vec![name])),
        }
    }
    if !by_type.is_empty() {
        by_type.sort();
        o.push_str("\nPlugins:");
        for (t, names) in by_type {
            let joined = names.join(", ");
            let _ = write!(o, "\n {t}:");
            if !joined.is_empty() {
                let _ = write!(o, "\t\t{joined}");
            }
        }
    }
    let _ = write!(
        o,
        "\nEngine Version:\t\t{}",
        text(&d["Engine"]["EngineVersion"])
    );
    if d["Engine"]["Labels"]
        .as_object()
        .is_some_and(|m| !m.is_empty())
    {
        o.push_str("\nEngine Labels:");
        label_lines(&mut o, &d["Engine"]["Labels"]);
    }
    let tls = &d["TLSInfo"];
    let (root, subject, key) = (
        text(&tls["TrustRoot"]),
        text(&tls["CertIssuerSubject"]),
        text(&tls["CertIssuerPublicKey"]),
    );
    if !(root.is_empty() && subject.is_empty() && key.is_empty()) {
        let _ = write!(
            o,
            "\nTLS Info:\n TrustRoot:\n{root}\n Issuer Subject:\t{subject}\n Issuer Public Key:\t{key}"
        );
    }
    o
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn go_time_strings() {
        assert_eq!(
            go_time("2026-12-06T03:01:02.123400000Z"),
            "2026-12-06 03:01:02.1234 +0000 UTC"
        );
        assert_eq!(
            go_time("2026-12-06T03:01:02Z"),
            "2026-12-06 03:01:02 +0000 UTC"
        );
        assert_eq!(
            go_time("2026-12-06T03:01:02+01:30"),
            "2026-12-06 03:01:02 +0130 +0130"
        );
    }

    #[test]
    fn a_manager_node_as_the_docker_cli_prints_it() {
        let n = json!({
            "ID": "abc",
            "CreatedAt": "2026-12-06T03:01:02.5Z",
            "Spec": {"Labels": {"zone": "a", "flag": ""}, "Role": "manager", "Availability": "active"},
            "Description": {
                "Hostname": "host1",
                "Platform": {"Architecture": "x86_64", "OS": "linux"},
                "Resources": {"NanoCPUs": 2000000000i64, "MemoryBytes": 25769803776i64},
                "Engine": {"EngineVersion": "28.0.0", "Labels": {"tier": "hot"},
                    "Plugins": [{"Type": "Network", "Name": "bridge"}, {"Type": "Log", "Name": "json-file"}, {"Type": "Network", "Name": "overlay"}]},
                "TLSInfo": {"TrustRoot": "-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n", "CertIssuerSubject": "c3Vi", "CertIssuerPublicKey": "a2V5"}
            },
            "Status": {"State": "ready", "Addr": "127.0.0.1"},
            "ManagerStatus": {"Leader": true, "Reachability": "reachable", "Addr": "127.0.0.1:2377"}
        });
        assert_eq!(
            render(&n),
            "ID:\t\t\tabc\nLabels:\n - flag\n - zone=a\nHostname:              \thost1\n\
             Joined at:             \t2026-12-06 03:01:02.5 +0000 utc\nStatus:\n State:\t\t\tReady\n\
             \x20Availability:         \tActive\n Address:\t\t127.0.0.1\nManager Status:\n\
             \x20Address:\t\t127.0.0.1:2377\n Raft Status:\t\tReachable\n Leader:\t\tYes\n\
             Platform:\n Operating System:\tlinux\n Architecture:\t\tx86_64\nResources:\n\
             \x20CPUs:\t\t\t2\n Memory:\t\t24GiB\nPlugins:\n Log:\t\tjson-file\n\
             \x20Network:\t\tbridge, overlay\nEngine Version:\t\t28.0.0\nEngine Labels:\n - tier=hot\n\
             TLS Info:\n TrustRoot:\n-----BEGIN CERTIFICATE-----\nX\n-----END CERTIFICATE-----\n\n\
             \x20Issuer Subject:\tc3Vi\n Issuer Public Key:\ta2V5"
        );
    }
}
