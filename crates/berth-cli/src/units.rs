//! Ports of the small go-units / docker time helpers whose output users see.

use chrono::{DateTime, Local, NaiveDate, NaiveDateTime, TimeZone, Utc};

/// go-units `HumanDuration`.
pub fn human_duration(secs_f: f64) -> String {
    // One implementation of go-units' HumanDuration serves the daemon and the CLI.
    berth_api::human::duration(std::time::Duration::from_secs_f64(secs_f.max(0.0)))
}

/// Seconds elapsed since a unix timestamp, "ago" style, as docker's formatter does.
pub fn since_unix(ts: i64) -> String {
    let now = Utc::now().timestamp_millis() as f64 / 1000.0;
    human_duration(now - ts as f64)
}

/// Go's `%.*g` (strconv 'g' format, trailing zeros removed).
pub fn go_g(v: f64, prec: usize) -> String {
    if v == 0.0 {
        return "0".into();
    }
    let prec = prec.max(1);
    // Round to `prec` significant digits through the exponent form, then pick the layout Go picks.
    let e = format!("{:.*e}", prec - 1, v);
    let (mant, exp) = match e.split_once('e') {
        Some((m, x)) => (m.to_string(), x.parse::<i32>().unwrap_or(0)),
        None => return e,
    };
    if exp < -4 || exp >= prec as i32 {
        let mant = trim_zeros(&mant);
        let sign = if exp < 0 { '-' } else { '+' };
        return format!("{mant}e{sign}{:02}", exp.abs());
    }
    let decimals = (prec as i32 - 1 - exp).max(0) as usize;
    trim_zeros(&format!("{:.*}", decimals, v))
}

fn trim_zeros(s: &str) -> String {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        s.to_string()
    }
}

const DECIMAL: [&str; 9] = ["B", "kB", "MB", "GB", "TB", "PB", "EB", "ZB", "YB"];
const BINARY: [&str; 9] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"];

/// go-units `HumanSizeWithPrecision`.
pub fn human_size_prec(size: f64, prec: usize) -> String {
    let mut size = size;
    let mut i = 0;
    while size >= 1000.0 && i < DECIMAL.len() - 1 {
        size /= 1000.0;
        i += 1;
    }
    format!("{}{}", go_g(size, prec), DECIMAL[i])
}

/// go-units `HumanSize` (precision 4).
pub fn human_size(size: f64) -> String {
    human_size_prec(size, 4)
}

/// go-units `BytesSize` (binary units, "%.4g").
pub fn bytes_size(size: f64) -> String {
    let mut size = size;
    let mut i = 0;
    while size >= 1024.0 && i < BINARY.len() - 1 {
        size /= 1024.0;
        i += 1;
    }
    format!("{}{}", go_g(size, 4), BINARY[i])
}

/// go-units `RAMInBytes`: "64m", "1g", "512" (bytes), binary multiples, with go-units'
/// errors word for word (`invalid size: '...'`, `invalid suffix: '...'`, strconv's).
pub fn ram_in_bytes(s: &str) -> Result<i64, String> {
    // parseSize: the number runs to the last digit, dot or space; a space there separates.
    let Some(sep) = s.rfind(|c: char| c.is_ascii_digit() || c == '.' || c == ' ') else {
        return Err(format!("invalid size: '{s}'"));
    };
    let (num, sfx) = if s.as_bytes()[sep] == b' ' {
        (&s[..sep], &s[sep + 1..])
    } else {
        (&s[..=sep], &s[sep + 1..])
    };
    let size: f64 = num
        .parse()
        .ok()
        .filter(|_| !num.contains(|c: char| c.is_ascii_alphabetic() && c != 'e' && c != 'E'))
        .ok_or_else(|| format!("strconv.ParseFloat: parsing {num:?}: invalid syntax"))?;
    if size < 0.0 {
        return Err(format!("invalid size: '{s}'"));
    }
    if sfx.is_empty() {
        return Ok(size as i64);
    }
    let bad = |sfx: &str| Err(format!("invalid suffix: '{sfx}'"));
    if sfx.len() > 3 {
        return bad(sfx);
    }
    let sfx = sfx.to_ascii_lowercase();
    let b = sfx.as_bytes();
    if b[0] == b'b' {
        return if b.len() > 1 {
            bad(&sfx)
        } else {
            Ok(size as i64)
        };
    }
    let mul: f64 = match b[0] {
        b'k' => 1024.0,
        b'm' => 1024f64.powi(2),
        b'g' => 1024f64.powi(3),
        b't' => 1024f64.powi(4),
        b'p' => 1024f64.powi(5),
        _ => return bad(&sfx),
    };
    if (b.len() == 2 && b[1] != b'b') || (b.len() == 3 && &sfx[1..] != "ib") {
        return bad(&sfx);
    }
    Ok((size * mul) as i64)
}

pub use berth_api::human::parse_go_duration;

/// docker's `timetypes.GetTimestamp`: the value sent as `since`/`until`/`until` filters.
pub fn get_timestamp(value: &str, reference: DateTime<Utc>) -> Result<String, String> {
    if value != "0" {
        if let Some(d) = parse_go_duration(value) {
            let t = reference.timestamp_millis() as f64 / 1000.0 - d;
            return Ok(format!("{}", t.floor() as i64));
        }
    }
    if value.contains('-') {
        return parse_rfc3339ish(value)
            .map(|t| format!("{}.{:09}", t.timestamp(), t.timestamp_subsec_nanos()))
            .ok_or_else(|| {
                format!("parsing time \"{value}\" as \"2006-01-02T15:04:05Z07:00\": cannot parse")
            });
    }
    // Plain unix seconds, optionally with a fractional part.
    let valid = {
        let mut parts = value.splitn(2, '.');
        let a = parts.next().unwrap_or("");
        let b = parts.next();
        !a.is_empty()
            && a.chars().all(|c| c.is_ascii_digit())
            && b.is_none_or(|b| !b.is_empty() && b.chars().all(|c| c.is_ascii_digit()))
    };
    if valid {
        Ok(value.to_string())
    } else {
        Err(format!(
            "failed to parse value as time or duration: \"{value}\""
        ))
    }
}

fn parse_rfc3339ish(value: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(value) {
        return Some(t.with_timezone(&Utc));
    }
    for f in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M", "%Y-%m-%dT%H"] {
        if let Ok(n) = NaiveDateTime::parse_from_str(value, f) {
            return Local
                .from_local_datetime(&n)
                .single()
                .map(|t| t.with_timezone(&Utc));
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(value, "%Y-%m-%d") {
        let n = d.and_hms_opt(0, 0, 0)?;
        return Local
            .from_local_datetime(&n)
            .single()
            .map(|t| t.with_timezone(&Utc));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(human_duration(0.3), "Less than a second");
        assert_eq!(human_duration(1.0), "1 second");
        assert_eq!(human_duration(59.0), "59 seconds");
        assert_eq!(human_duration(61.0), "About a minute");
        assert_eq!(human_duration(60.0 * 45.0), "45 minutes");
        assert_eq!(human_duration(3600.0 * 1.2), "About an hour");
        assert_eq!(human_duration(3600.0 * 30.0), "30 hours");
        assert_eq!(human_duration(3600.0 * 24.0 * 5.0), "5 days");
        assert_eq!(human_duration(3600.0 * 24.0 * 20.0), "2 weeks");
        assert_eq!(human_duration(3600.0 * 24.0 * 100.0), "3 months");
        assert_eq!(human_duration(3600.0 * 24.0 * 800.0), "2 years");
    }

    #[test]
    fn sizes() {
        assert_eq!(human_size_prec(1_981_234.0, 3), "1.98MB");
        assert_eq!(human_size_prec(4_261_000.0, 3), "4.26MB");
        assert_eq!(human_size_prec(0.0, 3), "0B");
        assert_eq!(human_size_prec(999.0, 3), "999B");
        assert_eq!(human_size_prec(2_000.0, 3), "2kB");
        assert_eq!(human_size_prec(123_456_789.0, 3), "123MB");
        assert_eq!(human_size(1_234_567.0), "1.235MB");
        assert_eq!(bytes_size(1024.0 * 1024.0 * 64.0), "64MiB");
        assert_eq!(go_g(1234.0, 3), "1.23e+03");
    }

    #[test]
    fn ram() {
        assert_eq!(ram_in_bytes("64m"), Ok(67_108_864));
        assert_eq!(ram_in_bytes("1g"), Ok(1_073_741_824));
        assert_eq!(ram_in_bytes("512"), Ok(512));
        assert_eq!(ram_in_bytes("x"), Err("invalid size: 'x'".to_string()));
        assert_eq!(ram_in_bytes("1x"), Err("invalid suffix: 'x'".to_string()));
        assert_eq!(
            ram_in_bytes("10MBB"),
            // go-units lower-cases the suffix (docker CLI 28: `invalid suffix: 'mbb'`).
            Err("invalid suffix: 'mbb'".to_string())
        );
        assert_eq!(
            ram_in_bytes("10mbb"),
            Err("invalid suffix: 'mbb'".to_string())
        );
        assert_eq!(
            ram_in_bytes("10xb"),
            Err("invalid suffix: 'xb'".to_string())
        );
        assert_eq!(
            ram_in_bytes("10kx"),
            Err("invalid suffix: 'kx'".to_string())
        );
        assert_eq!(ram_in_bytes("-5"), Err("invalid size: '-5'".to_string()));
        assert_eq!(ram_in_bytes(""), Err("invalid size: ''".to_string()));
        assert_eq!(
            ram_in_bytes("1.2.3"),
            Err("strconv.ParseFloat: parsing \"1.2.3\": invalid syntax".to_string())
        );
        assert_eq!(ram_in_bytes("4kib"), Ok(4096));
        assert_eq!(ram_in_bytes("1KiB"), Ok(1024));
        assert_eq!(ram_in_bytes("3b"), Ok(3));
        assert_eq!(ram_in_bytes("2 m"), Ok(2 * 1024 * 1024));
        assert_eq!(ram_in_bytes("1.5k"), Ok(1536));
    }

    #[test]
    fn timestamps() {
        let r = DateTime::parse_from_rfc3339("2024-01-01T00:10:00Z")
            .map(|t| t.with_timezone(&Utc))
            .ok();
        let r = r.unwrap_or_else(Utc::now);
        assert_eq!(get_timestamp("10m", r).as_deref(), Ok("1704067200"));
        assert_eq!(get_timestamp("1h30m", r).as_deref(), Ok("1704062400"));
        assert_eq!(get_timestamp("1704067200", r).as_deref(), Ok("1704067200"));
        assert_eq!(
            get_timestamp("1704067200.5", r).as_deref(),
            Ok("1704067200.5")
        );
        assert_eq!(
            get_timestamp("2024-01-01T00:00:00Z", r).as_deref(),
            Ok("1704067200.000000000")
        );
        assert_eq!(
            get_timestamp("2024-01-01T00:00:00.5+01:00", r).as_deref(),
            Ok("1704063600.500000000")
        );
        assert!(get_timestamp("abc", r).is_err());
    }
}
