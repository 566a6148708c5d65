//! Durations and byte counts as compose files write them and as compose-go prints them.

/// Parses a Go duration ("1m30s", "500ms", "1.5h"); a bare number is seconds.
pub fn parse_duration(s: &str) -> Option<i64> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(n) = s.parse::<f64>() {
        return Some((n * 1e9) as i64);
    }
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Some(0);
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_end = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        if num_end == 0 {
            return None;
        }
        let n: f64 = rest[..num_end].parse().ok()?;
        rest = &rest[num_end..];
        let unit_end = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_end];
        rest = &rest[unit_end..];
        let mult = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        total += n * mult;
    }
    let v = total.round() as i64;
    Some(if neg { -v } else { v })
}

/// Go's `time.Duration.String()`.
pub fn go_duration(ns: i64) -> String {
    if ns == 0 {
        return "0s".into();
    }
    let neg = ns < 0;
    let u = ns.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        // Sub-second: one unit with a fraction.
        let (unit, div) = if u < 1_000 {
            ("ns", 1)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        out.push_str(&frac(u, div));
        out.push_str(unit);
    } else {
        let secs_ns = u % 60_000_000_000;
        let mins = u / 60_000_000_000;
        let (h, m) = (mins / 60, mins % 60);
        if h > 0 {
            out.push_str(&format!("{h}h"));
        }
        if h > 0 || m > 0 {
            out.push_str(&format!("{m}m"));
        }
        out.push_str(&frac(secs_ns, 1_000_000_000));
        out.push('s');
    }
    if neg {
        format!("-{out}")
    } else {
        out
    }
}

fn frac(v: u64, div: u64) -> String {
    let whole = v / div;
    let rem = v % div;
    if rem == 0 {
        return whole.to_string();
    }
    let width = div.to_string().len() - 1;
    let f = format!("{rem:0width$}");
    format!("{whole}.{}", f.trim_end_matches('0'))
}

/// docker's `units.RAMInBytes`: "512m", "1g", "64M", "1024", "1.5GB" (binary multiples).
pub fn parse_bytes(s: &str) -> Option<i64> {
    let t = s.trim();
    let lower = t.to_ascii_lowercase();
    let num_end = lower
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(lower.len());
    if num_end == 0 {
        return None;
    }
    let n: f64 = lower[..num_end].parse().ok()?;
    let suffix = lower[num_end..].trim();
    let mult: f64 = match suffix {
        "" | "b" => 1.0,
        "k" | "kb" | "kib" => 1024.0,
        "m" | "mb" | "mib" => 1024.0 * 1024.0,
        "g" | "gb" | "gib" => 1024.0 * 1024.0 * 1024.0,
        "t" | "tb" | "tib" => 1024f64.powi(4),
        "p" | "pb" | "pib" => 1024f64.powi(5),
        _ => return None,
    };
    Some((n * mult) as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_print_as_go() {
        assert_eq!(go_duration(parse_duration("1m").unwrap()), "1m0s");
        assert_eq!(go_duration(parse_duration("1m30s").unwrap()), "1m30s");
        assert_eq!(go_duration(parse_duration("10s").unwrap()), "10s");
        assert_eq!(go_duration(parse_duration("1h").unwrap()), "1h0m0s");
        assert_eq!(go_duration(parse_duration("500ms").unwrap()), "500ms");
        assert_eq!(go_duration(parse_duration("1.5s").unwrap()), "1.5s");
        assert_eq!(parse_duration("x"), None);
    }

    #[test]
    fn bytes() {
        assert_eq!(parse_bytes("512M"), Some(536870912));
        assert_eq!(parse_bytes("10m"), Some(10485760));
        assert_eq!(parse_bytes("1024"), Some(1024));
        assert_eq!(parse_bytes("1gb"), Some(1073741824));
        assert_eq!(parse_bytes("lots"), None);
    }
}
