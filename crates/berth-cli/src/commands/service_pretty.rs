//! `service inspect --pretty`: the docker CLI's `serviceInspectPrettyTemplate` written out
//! in Rust, byte for byte (its whitespace trimming included: trailing spaces after args,
//! env and port lists, the blank line after a log driver), so both CLIs print the same
//! text for the same service.

use crate::units::bytes_size;
use serde_json::Value;
use std::fmt::Write as _;

/// Go's `time.Duration.String()` for `ns` nanoseconds.
pub fn go_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    let sign = if ns < 0 { "-" } else { "" };
    let u = ns.unsigned_abs();
    let frac = |v: u64, div: u64| -> String {
        let whole = v / div;
        let rest = v % div;
        if rest == 0 {
            return whole.to_string();
        }
        let width = div.ilog10() as usize;
        let digits = format!("{rest:0width$}");
        format!("{whole}.{}", digits.trim_end_matches('0'))
    };
    let body = if u < 1_000 {
        format!("{u}ns")
    } else if u < 1_000_000 {
        format!("{}µs", frac(u, 1_000))
    } else if u < 1_000_000_000 {
        format!("{}ms", frac(u, 1_000_000))
    } else {
        let h = u / 3_600_000_000_000;
        let m = (u % 3_600_000_000_000) / 60_000_000_000;
        let secs = format!("{}s", frac(u % 60_000_000_000, 1_000_000_000));
        if h > 0 {
            format!("{h}h{m}m{secs}")
        } else if m > 0 {
            format!("{m}m{secs}")
        } else {
            secs
        }
    };
    format!("{sign}{body}")
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

fn strings(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| a.iter().map(text).collect())
        .unwrap_or_default()
}

fn sorted_map(v: &Value) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = v
        .as_object()
        .map(|m| m.iter().map(|(k, v)| (k.clone(), text(v))).collect())
        .unwrap_or_default();
    out.sort();
    out
}

/// A Go `float32`/`float64` printed with `%v`.
fn go_float(f: f64) -> String {
    crate::units::go_g(f, 7)
}

fn ns(v: &Value) -> i64 {
    v.as_i64().unwrap_or(0)
}

/// A Go `[]string` printed with `%v`: `[a b]`.
fn go_list(items: &[String]) -> String {
    format!("[{}]", items.join(" "))
}

/// The pretty text of one service (`GET /services/ID`); `network_name` resolves a network
/// id to its name as the docker CLI does (falling back to the id).
/// What docker's template cannot render: a config reference without a file target (a
/// credential spec's runtime config) stops it with this error, and nothing is printed.
pub fn unrenderable(v: &Value) -> Option<String> {
    let configs = v["Spec"]["TaskTemplate"]["ContainerSpec"]["Configs"].as_array()?;
    configs.iter().any(|c| c["File"].is_null()).then(|| {
        "template parsing error: template: :110:18: executing \"\" at <$config.File.Name>: nil pointer evaluating *swarm.ConfigReferenceFileTarget.Name".to_string()
    })
}

pub fn render(v: &Value, network_name: &dyn Fn(&str) -> Option<String>) -> String {
    let spec = &v["Spec"];
    let tt = &spec["TaskTemplate"];
    let c = &tt["ContainerSpec"];
    let mut o = String::new();
    let _ = write!(
        o,
        "\nID:\t\t{}\nName:\t\t{}",
        text(&v["ID"]),
        text(&spec["Name"])
    );
    let labels = sorted_map(&spec["Labels"]);
    if !labels.is_empty() {
        o.push_str("\nLabels:");
        for (k, val) in labels {
            let _ = write!(o, "\n {k}");
            if !val.is_empty() {
                let _ = write!(o, "={val}");
            }
        }
    }
    o.push_str("\nService Mode:");
    let mode = &spec["Mode"];
    if mode.get("Global").is_some_and(|g| !g.is_null()) {
        o.push_str("\tGlobal");
    } else if let Some(r) = mode.get("Replicated").filter(|r| !r.is_null()) {
        o.push_str("\tReplicated");
        if let Some(n) = r.get("Replicas").and_then(Value::as_u64) {
            let _ = write!(o, "\n Replicas:\t{n}");
        }
    }
    let us = &v["UpdateStatus"];
    if !text(&us["State"]).is_empty() {
        let _ = write!(o, "\nUpdateStatus:\n State:\t\t{}", text(&us["State"]));
        let ago = |t: &Value| {
            chrono::DateTime::parse_from_rfc3339(&text(t))
                .map(|d| {
                    let secs = (chrono::Utc::now() - d.with_timezone(&chrono::Utc))
                        .num_milliseconds() as f64
                        / 1000.0;
                    format!("{} ago", crate::units::human_duration(secs))
                })
                .unwrap_or_default()
        };
        if !us["StartedAt"].is_null() {
            let _ = write!(o, "\n Started:\t{}", ago(&us["StartedAt"]));
        }
        if text(&us["State"]) == "completed" && !us["CompletedAt"].is_null() {
            let _ = write!(o, "\n Completed:\t{}", ago(&us["CompletedAt"]));
        }
        let _ = write!(o, "\n Message:\t{}", text(&us["Message"]));
    }
    o.push_str("\nPlacement:");
    let p = &tt["Placement"];
    let constraints = strings(&p["Constraints"]);
    if !constraints.is_empty() {
        let _ = write!(o, "\n Constraints:\t{}", go_list(&constraints));
    }
    let prefs: Vec<String> = p["Preferences"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter(|x| !x["Spread"].is_null())
                .map(|x| format!("spread={}", text(&x["Spread"]["SpreadDescriptor"])))
                .collect()
        })
        .unwrap_or_default();
    if !prefs.is_empty() {
        let _ = write!(o, "\n Preferences:   {}", go_list(&prefs));
    }
    let max = p["MaxReplicas"].as_u64().unwrap_or(0);
    if max > 0 {
        let _ = write!(o, "\n Max Replicas Per Node:   {max}");
    }
    for (key, title, order) in [
        ("UpdateConfig", "UpdateConfig", "Update order:      "),
        ("RollbackConfig", "RollbackConfig", "Rollback order:    "),
    ] {
        let u = &spec[key];
        if u.is_null() {
            continue;
        }
        let _ = write!(
            o,
            "\n{title}:\n Parallelism:\t{}",
            u["Parallelism"].as_u64().unwrap_or(0)
        );
        if ns(&u["Delay"]) > 0 {
            let _ = write!(o, "\n Delay:\t\t{}", go_duration(ns(&u["Delay"])));
        }
        let _ = write!(o, "\n On failure:\t{}", text(&u["FailureAction"]));
        if ns(&u["Monitor"]) > 0 {
            let _ = write!(
                o,
                "\n Monitoring Period: {}",
                go_duration(ns(&u["Monitor"]))
            );
        }
        let _ = write!(
            o,
            "\n Max failure ratio: {}\n {order}{}",
            go_float(u["MaxFailureRatio"].as_f64().unwrap_or(0.0)),
            text(&u["Order"])
        );
    }
    let _ = write!(o, "\nContainerSpec:\n Image:\t\t{}", text(&c["Image"]));
    let args = strings(&c["Args"]);
    if !args.is_empty() {
        o.push_str("\n Args:\t\t");
        for a in args {
            let _ = write!(o, "{a} ");
        }
    }
    let env = strings(&c["Env"]);
    if !env.is_empty() {
        o.push_str("\n Env:\t\t");
        for e in env {
            let _ = write!(o, "{e} ");
        }
    }
    let dir = text(&c["Dir"]);
    if !dir.is_empty() {
        let _ = write!(o, "\n Dir:\t\t{dir}");
    }
    if let Some(i) = c["Init"].as_bool() {
        let _ = write!(o, "\n Init:\t\t{i}");
    }
    let user = text(&c["User"]);
    if !user.is_empty() {
        let _ = write!(o, "\n User: {user}");
    }
    let (add, drop) = (strings(&c["CapabilityAdd"]), strings(&c["CapabilityDrop"]));
    if !add.is_empty() || !drop.is_empty() {
        o.push_str("\nCapabilities:");
        if !add.is_empty() {
            let _ = write!(o, "\n Add: {}", add.join(", "));
        }
        if !drop.is_empty() {
            let _ = write!(o, "\n Drop: {}", drop.join(", "));
        }
    }
    let sysctls = sorted_map(&c["Sysctls"]);
    if !sysctls.is_empty() {
        o.push_str("\nSysCtls:");
        for (k, val) in sysctls {
            let _ = write!(o, "\n {k}");
            if !val.is_empty() {
                let _ = write!(o, ": {val}");
            }
        }
    }
    let mut ulimits: Vec<(String, String)> = c["Ulimits"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|u| {
                    (
                        text(&u["Name"]),
                        format!("{}:{}", ns(&u["Soft"]), ns(&u["Hard"])),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    ulimits.sort();
    if !ulimits.is_empty() {
        o.push_str("\nUlimits:");
        for (k, val) in ulimits {
            let _ = write!(o, "\n {k}: {val}");
        }
    }
    let mounts = c["Mounts"].as_array().cloned().unwrap_or_default();
    if !mounts.is_empty() {
        o.push_str("\nMounts:");
    }
    for m in &mounts {
        let _ = write!(
            o,
            "\n Target:\t{}\n  Source:\t{}\n  ReadOnly:\t{}\n  Type:\t\t{}",
            text(&m["Target"]),
            text(&m["Source"]),
            m["ReadOnly"].as_bool().unwrap_or(false),
            text(&m["Type"])
        );
    }
    for (key, title, name) in [
        ("Configs", "Configs", "ConfigName"),
        ("Secrets", "Secrets", "SecretName"),
    ] {
        let refs = c[key].as_array().cloned().unwrap_or_default();
        if refs.is_empty() {
            continue;
        }
        let _ = write!(o, "\n{title}:");
        for r in refs {
            let _ = write!(
                o,
                "\n Target:\t{}\n  Source:\t{}",
                text(&r["File"]["Name"]),
                text(&r[name])
            );
        }
    }
    let ld = &tt["LogDriver"];
    if !ld.is_null() {
        o.push_str("\nLog Driver:");
        let name = text(&ld["Name"]);
        if !name.is_empty() {
            let _ = write!(o, "\n Name:\t\t{name}");
        }
        let opts = sorted_map(&ld["Options"]);
        if !opts.is_empty() {
            o.push_str("\n LogOpts:");
            for (k, val) in opts {
                let _ = write!(o, "\n  {k}");
                if !val.is_empty() {
                    let _ = write!(o, ":       {val}");
                }
            }
        }
        o.push('\n');
    }
    let res = &tt["Resources"];
    if !res.is_null() {
        o.push_str("\nResources:");
        for (key, title) in [("Reservations", "Reservations"), ("Limits", "Limits")] {
            let r = &res[key];
            let cpu = ns(&r["NanoCPUs"]);
            let mem = ns(&r["MemoryBytes"]);
            let pids = if key == "Limits" { ns(&r["Pids"]) } else { 0 };
            if r.is_null() || (cpu <= 0 && mem <= 0 && pids <= 0) {
                continue;
            }
            let _ = write!(o, "\n {title}:");
            if cpu > 0 {
                let _ = write!(o, "\n  CPU:\t\t{}", go_float(cpu as f64 / 1e9));
            }
            if mem > 0 {
                let _ = write!(o, "\n  Memory:\t{}", bytes_size(mem as f64));
            }
        }
    }
    let pids = ns(&res["Limits"]["Pids"]);
    if pids > 0 {
        let _ = write!(o, "\n  PIDs:\t\t{pids}");
    }
    let nets: Vec<String> = tt["Networks"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|n| {
                    let t = text(&n["Target"]);
                    network_name(&t).unwrap_or(t)
                })
                .collect()
        })
        .unwrap_or_default();
    if !nets.is_empty() {
        o.push_str("\nNetworks:");
        for n in nets {
            let _ = write!(o, " {n}");
        }
        o.push(' ');
    }
    let _ = write!(
        o,
        "\nEndpoint Mode:\t{}",
        text(&spec["EndpointSpec"]["Mode"])
    );
    let ports = v["Endpoint"]["Ports"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    if !ports.is_empty() {
        o.push_str("\nPorts:");
        for p in ports {
            let _ = write!(
                o,
                "\n PublishedPort = {}\n  Protocol = {}\n  TargetPort = {}\n  PublishMode = {}",
                p["PublishedPort"].as_u64().unwrap_or(0),
                text(&p["Protocol"]),
                p["TargetPort"].as_u64().unwrap_or(0),
                text(&p["PublishMode"])
            );
        }
        o.push(' ');
    }
    let h = &c["Healthcheck"];
    if !h.is_null() {
        let _ = write!(
            o,
            "\n Healthcheck:\n  Interval = {}\n  Retries = {}\n  StartPeriod =\t{}\n  Timeout =\t{}",
            go_duration(ns(&h["Interval"])),
            ns(&h["Retries"]),
            go_duration(ns(&h["StartPeriod"])),
            go_duration(ns(&h["Timeout"]))
        );
        let tests = strings(&h["Test"]);
        if !tests.is_empty() {
            o.push_str("\n  Tests:");
            for t in tests {
                let _ = write!(o, "\n\t Test = {t}");
            }
            o.push(' ');
        }
    }
    o.push('\n');
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(1_000_000_000), "1s");
        assert_eq!(go_duration(1_500_000_000), "1.5s");
        assert_eq!(go_duration(90_000_000_000), "1m30s");
        assert_eq!(go_duration(3_600_000_000_000), "1h0m0s");
        assert_eq!(go_duration(500_000_000), "500ms");
        assert_eq!(go_duration(1_500), "1.5µs");
    }

    #[test]
    fn a_minimal_service_as_the_docker_cli_prints_it() {
        let v: Value = serde_json::from_str(
            r#"{"ID":"abc","Spec":{"Name":"web","Mode":{"Replicated":{"Replicas":2}},
            "TaskTemplate":{"ContainerSpec":{"Image":"busybox","Args":["sleep","1"],"Init":false},
            "Resources":{"Limits":{},"Reservations":{}}},"EndpointSpec":{"Mode":"vip"}},
            "Endpoint":{"Ports":[{"Protocol":"tcp","TargetPort":80,"PublishedPort":8080,"PublishMode":"ingress"}]}}"#,
        )
        .unwrap();
        assert_eq!(
            render(&v, &|_| None),
            "\nID:\t\tabc\nName:\t\tweb\nService Mode:\tReplicated\n Replicas:\t2\nPlacement:\nContainerSpec:\n Image:\t\tbusybox\n Args:\t\tsleep 1 \n Init:\t\tfalse\nResources:\nEndpoint Mode:\tvip\nPorts:\n PublishedPort = 8080\n  Protocol = tcp\n  TargetPort = 80\n  PublishMode = ingress \n"
        );
    }
}
