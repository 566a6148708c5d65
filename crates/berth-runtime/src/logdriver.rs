//! Logging drivers, as Docker names and configures them (`--log-driver`, `--log-opt`,
//! daemon.json `log-driver`/`log-opts`): which drivers and options exist, their checks with
//! moby's messages, and the [`LogSpec`] the engine resolves for a container and hands to the
//! shim (one JSON argument), which writes through the driver (`crate::logsink`).
//!
//! Drivers: `json-file` (the default; `crate::logfile`), `local` (Docker's protobuf
//! records, rotated and compressed; `crate::log_local`), `none`, `syslog` (to a local or
//! loopback syslog; `crate::log_syslog`) and `journald` (the native journal protocol;
//! `crate::log_journald`). `mode=non-blocking` with `max-buffer-size` applies to all.
//! `syslog` keeps Docker's "dual logging" cache (a `local`-format file read by `logs`)
//! unless `cache-disabled=true`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const JSON_FILE: &str = "json-file";
pub const LOCAL: &str = "local";
pub const NONE: &str = "none";
pub const SYSLOG: &str = "syslog";
pub const JOURNALD: &str = "journald";

/// moby's message for `logs` on a driver that keeps nothing to read.
pub const NOT_READABLE: &str = "configured logging driver does not support reading";

/// The drivers berth has. Docker's others (fluentd, gelf, awslogs, splunk, ...) are
/// refused as dockerd refuses an unregistered one.
pub const DRIVERS: &[&str] = &[JSON_FILE, LOCAL, NONE, SYSLOG, JOURNALD];

/// Options every driver takes (moby's `builtInLogOpts`), and the dual-logging cache's.
const BUILTIN_OPTS: &[&str] = &["mode", "max-buffer-size"];
const CACHE_OPTS: &[&str] = &[
    "cache-disabled",
    "cache-max-size",
    "cache-max-file",
    "cache-compress",
];
/// The attribute options (moby's `ExtraAttributes`, `ParseLogTag`).
const ATTR_OPTS: &[&str] = &["labels", "labels-regex", "env", "env-regex", "tag"];

/// Each driver's own options, as its moby validator lists them.
fn driver_opts(driver: &str) -> &'static [&'static str] {
    match driver {
        JSON_FILE => &[
            "max-file",
            "max-size",
            "compress",
            "labels",
            "labels-regex",
            "env",
            "env-regex",
            "tag",
        ],
        LOCAL => &["max-file", "max-size", "compress"],
        SYSLOG => &[
            "syslog-address",
            "syslog-facility",
            "syslog-tls-ca-cert",
            "syslog-tls-cert",
            "syslog-tls-key",
            "syslog-tls-skip-verify",
            "tag",
            "syslog-format",
            "labels",
            "labels-regex",
            "env",
            "env-regex",
        ],
        JOURNALD => ATTR_OPTS,
        _ => &[],
    }
}

/// moby's wording of an unknown option, per driver.
fn unknown_opt(driver: &str, key: &str) -> String {
    match driver {
        JSON_FILE => format!("unknown log opt '{key}' for json-file log driver"),
        LOCAL => format!("unknown log opt '{key}' for log driver local"),
        SYSLOG => format!("unknown log opt '{key}' for syslog log driver"),
        JOURNALD => format!("unknown log opt '{key}' for journald log driver"),
        _ => format!("unknown log opt '{key}' for {driver} log driver"),
    }
}

/// Docker's size strings (go-units RAMInBytes: binary units, "1m" = 1 MiB).
pub fn parse_ram_size(s: &str) -> Option<u64> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let num: f64 = num.parse().ok()?;
    let mult: u64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1,
        "k" | "kb" | "kib" => 1 << 10,
        "m" | "mb" | "mib" => 1 << 20,
        "g" | "gb" | "gib" => 1 << 30,
        "t" | "tb" | "tib" => 1 << 40,
        _ => return None,
    };
    (num >= 0.0).then_some((num * mult as f64) as u64)
}

/// Go's strconv.ParseBool.
fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// Checks a driver and its options as dockerd does at create (and at daemon start for
/// daemon.json's), with moby's messages.
pub fn validate(driver: &str, opts: &BTreeMap<String, String>) -> Result<(), String> {
    if driver == NONE {
        return Ok(());
    }
    match opts.get("mode").map(String::as_str) {
        None | Some("") | Some("blocking") | Some("non-blocking") => {}
        Some(m) => return Err(format!("logger: logging mode not supported: {m}")),
    }
    if let Some(s) = opts.get("max-buffer-size") {
        if opts.get("mode").map(String::as_str) != Some("non-blocking") {
            return Err(
                "logger: max-buffer-size option is only supported with 'mode=non-blocking'".into(),
            );
        }
        if parse_ram_size(s).is_none() {
            return Err(format!(
                "error parsing option max-buffer-size: invalid size: '{s}'"
            ));
        }
    }
    for k in CACHE_OPTS {
        if let Some(v) = opts.get(*k) {
            let ok = match *k {
                "cache-disabled" | "cache-compress" => parse_bool(v).is_some(),
                "cache-max-size" => parse_ram_size(v).is_some(),
                _ => v.parse::<u32>().is_ok_and(|n| n > 0),
            };
            if !ok {
                return Err(format!("invalid value for {k}: {v}"));
            }
        }
    }
    if !DRIVERS.contains(&driver) {
        return Err(format!(
            "logger: no log driver named '{driver}' is registered"
        ));
    }
    let own = driver_opts(driver);
    for k in opts.keys() {
        if BUILTIN_OPTS.contains(&k.as_str()) || CACHE_OPTS.contains(&k.as_str()) {
            continue;
        }
        if !own.contains(&k.as_str()) {
            return Err(unknown_opt(driver, k));
        }
    }
    if let Some(v) = opts.get("max-size") {
        if v != "-1" && parse_ram_size(v).is_none() {
            return Err(format!("invalid value for max-size: {v}"));
        }
    }
    if let Some(v) = opts.get("max-file") {
        match v.parse::<i64>() {
            Ok(n) if n >= 1 => {}
            Ok(_) => return Err("max-file cannot be less than 1".into()),
            Err(_) => return Err(format!("invalid value for max-file: {v}")),
        }
        if opts.get("max-size").is_none() && driver == JSON_FILE {
            return Err("max-file can only be set if max-size is set".into());
        }
    }
    if let Some(v) = opts.get("compress") {
        let Some(on) = parse_bool(v) else {
            return Err(format!(
                "error reading compress log option: invalid syntax: {v}"
            ));
        };
        if on && driver == JSON_FILE && opts.get("max-size").is_none() {
            return Err("compress cannot be true when max-size is not set".into());
        }
    }
    if driver == SYSLOG {
        if let Some(a) = opts.get("syslog-address") {
            SyslogAddress::parse(a)?;
        }
        if let Some(f) = opts.get("syslog-facility") {
            syslog_facility(f)?;
        }
        if let Some(f) = opts.get("syslog-format") {
            SyslogFormat::parse(f)?;
        }
        for k in [
            "syslog-tls-ca-cert",
            "syslog-tls-cert",
            "syslog-tls-key",
            "syslog-tls-skip-verify",
        ] {
            if opts.contains_key(k) {
                return Err(format!(
                    "{k}: syslog over TLS is not supported by berth (use a local or loopback syslog address)"
                ));
            }
        }
    }
    Ok(())
}

/// Where syslog messages go.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyslogAddress {
    /// The host's local syslog (/dev/log, then /var/run/syslog, /var/run/log: datagrams).
    Local,
    Unix(String),
    Unixgram(String),
    Tcp(String),
    Udp(String),
}

impl SyslogAddress {
    /// moby's `parseAddress`: `proto://address`; unix paths must exist; tcp and udp get
    /// port 514 when none is given.
    pub fn parse(a: &str) -> Result<SyslogAddress, String> {
        if a.is_empty() {
            return Ok(SyslogAddress::Local);
        }
        let Some((proto, rest)) = a.split_once("://") else {
            return Err(format!(
                "syslog-address should be in form proto://address, got {a:?}"
            ));
        };
        match proto {
            "unix" | "unixgram" => {
                if let Err(e) = std::fs::metadata(rest) {
                    return Err(format!("stat {rest}: {e}"));
                }
                Ok(if proto == "unix" {
                    SyslogAddress::Unix(rest.to_string())
                } else {
                    SyslogAddress::Unixgram(rest.to_string())
                })
            }
            "tcp" | "udp" => {
                let host = rest.trim_end_matches('/');
                let with_port = if host
                    .rsplit_once(':')
                    .is_some_and(|(_, p)| p.parse::<u16>().is_ok())
                {
                    host.to_string()
                } else {
                    format!("{host}:514")
                };
                Ok(if proto == "tcp" {
                    SyslogAddress::Tcp(with_port)
                } else {
                    SyslogAddress::Udp(with_port)
                })
            }
            "tcp+tls" => {
                Err("syslog-address tcp+tls: syslog over TLS is not supported by berth".into())
            }
            other => Err(format!("unsupported scheme: '{other}'")),
        }
    }
}

/// syslog's facility numbers by name (moby's list, from log/syslog).
pub fn syslog_facility(name: &str) -> Result<u8, String> {
    const NAMES: &[&str] = &[
        "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news", "uucp", "cron",
        "authpriv", "ftp", "", "", "", "", "local0", "local1", "local2", "local3", "local4",
        "local5", "local6", "local7",
    ];
    if name.is_empty() {
        return Ok(3);
    }
    if let Some(i) = NAMES.iter().position(|n| !n.is_empty() && *n == name) {
        return Ok(i as u8);
    }
    match name.parse::<u8>() {
        Ok(n) if n <= 23 => Ok(n),
        _ => Err("invalid syslog facility".into()),
    }
}

/// `syslog-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum SyslogFormat {
    /// Go's local-syslog form: `<PRI>Mmm dd hh:mm:ss TAG[PID]: MSG`.
    Unix,
    Rfc3164,
    Rfc5424,
    Rfc5424Micro,
}

impl SyslogFormat {
    pub fn parse(s: &str) -> Result<SyslogFormat, String> {
        match s {
            "" => Ok(SyslogFormat::Unix),
            "rfc3164" => Ok(SyslogFormat::Rfc3164),
            "rfc5424" => Ok(SyslogFormat::Rfc5424),
            "rfc5424micro" => Ok(SyslogFormat::Rfc5424Micro),
            other => Err(format!("Invalid syslog format: {other}")),
        }
    }
}

/// A rotated file's limits (json-file, local, the syslog cache).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileLimits {
    /// Bytes; 0: never rotate.
    pub max_size: u64,
    /// Files kept, the live one included (>= 1).
    pub max_file: u32,
    /// gzip the rotated files.
    pub compress: bool,
}

impl FileLimits {
    fn from_opts(
        opts: &BTreeMap<String, String>,
        prefix: &str,
        defaults: FileLimits,
    ) -> FileLimits {
        let get = |k: &str| opts.get(&format!("{prefix}{k}"));
        let max_size = get("max-size")
            .map(|v| {
                if v == "-1" {
                    0
                } else {
                    parse_ram_size(v).unwrap_or(0)
                }
            })
            .unwrap_or(defaults.max_size);
        let max_file = get("max-file")
            .and_then(|v| v.parse().ok())
            .unwrap_or(defaults.max_file)
            .max(1);
        let compress = get("compress")
            .and_then(|v| parse_bool(v))
            .unwrap_or(defaults.compress);
        FileLimits {
            max_size,
            max_file,
            compress: compress && max_file > 1 && max_size > 0,
        }
    }
}

/// Docker's defaults for the `local` driver and for the dual-logging cache.
const LOCAL_DEFAULTS: FileLimits = FileLimits {
    max_size: 20 << 20,
    max_file: 5,
    compress: true,
};

/// What the container's log is written to, fully resolved by the engine.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "driver", rename_all = "kebab-case")]
pub enum Sink {
    JsonFile {
        limits: FileLimits,
        /// `attrs` of every entry (tag, labels, env), Docker's extra attributes.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        attrs: BTreeMap<String, String>,
    },
    Local {
        limits: FileLimits,
    },
    None,
    Syslog {
        address: SyslogAddress,
        facility: u8,
        format: SyslogFormat,
        tag: String,
        /// The dual-logging cache (local format) `logs` reads; None with cache-disabled.
        cache: Option<FileLimits>,
    },
    Journald {
        /// CONTAINER_ID, CONTAINER_ID_FULL, CONTAINER_NAME, CONTAINER_TAG, IMAGE_NAME,
        /// SYSLOG_IDENTIFIER and the extra attributes, as journal fields.
        fields: BTreeMap<String, String>,
    },
}

/// The shim's log configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogSpec {
    pub sink: Sink,
    /// `mode=non-blocking`: output goes through a queue of this many bytes, dropped when
    /// full, so a slow log never blocks the container.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub non_blocking: Option<usize>,
}

impl Default for LogSpec {
    fn default() -> Self {
        LogSpec {
            sink: Sink::JsonFile {
                limits: FileLimits {
                    max_size: 0,
                    max_file: 1,
                    compress: false,
                },
                attrs: BTreeMap::new(),
            },
            non_blocking: None,
        }
    }
}

/// The container facts a log tag template and the journal fields use (moby's
/// `logger.Info`).
#[derive(Debug, Clone, Default)]
pub struct ContainerInfo {
    pub id: String,
    /// Without the leading slash.
    pub name: String,
    /// "sha256:<hex>".
    pub image_id: String,
    /// As the user named it.
    pub image_name: String,
    pub labels: BTreeMap<String, String>,
    /// `KEY=VALUE`.
    pub env: Vec<String>,
    pub daemon_name: String,
}

/// moby's `ParseLogTag`: the `tag` option as a template over the container (default
/// `{{.ID}}`), with the fields `.ID` (12 characters), `.FullID`, `.Name`, `.ImageID`,
/// `.ImageFullID`, `.ImageName`, `.DaemonName`.
pub fn render_tag(template: Option<&str>, info: &ContainerInfo) -> Result<String, String> {
    let t = template.unwrap_or("{{.ID}}");
    let image_hex = info.image_id.trim_start_matches("sha256:");
    let mut out = String::new();
    let mut rest = t;
    while let Some(start) = rest.find("{{") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find("}}") else {
            return Err(format!("template: log-tag:1: unclosed action in {t:?}"));
        };
        let field = after[..end].trim();
        let value = match field {
            ".ID" => info.id.chars().take(12).collect(),
            ".FullID" => info.id.clone(),
            ".Name" => info.name.clone(),
            ".ImageID" => image_hex.chars().take(12).collect(),
            ".ImageFullID" => info.image_id.clone(),
            ".ImageName" => info.image_name.clone(),
            ".DaemonName" => info.daemon_name.clone(),
            other => {
                return Err(format!(
                    "template: log-tag:1: can't evaluate field {} in the container's log tag",
                    other.trim_start_matches('.')
                ))
            }
        };
        out.push_str(&value);
        rest = &after[end + 2..];
    }
    out.push_str(rest);
    Ok(out)
}

/// moby's `ExtraAttributes`: the labels and env vars named by `labels`/`env` (comma lists)
/// or matched by `labels-regex`/`env-regex`, keys passed through `key`.
fn extra_attrs(
    opts: &BTreeMap<String, String>,
    info: &ContainerInfo,
    key: impl Fn(&str) -> String,
) -> Result<BTreeMap<String, String>, String> {
    let mut out = BTreeMap::new();
    let list = |k: &str| -> Vec<String> {
        opts.get(k)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default()
    };
    for l in list("labels") {
        if let Some(v) = info.labels.get(&l) {
            out.insert(key(&l), v.clone());
        }
    }
    let env: BTreeMap<&str, &str> = info.env.iter().filter_map(|e| e.split_once('=')).collect();
    for e in list("env") {
        if let Some(v) = env.get(e.as_str()) {
            out.insert(key(&e), v.to_string());
        }
    }
    if let Some(re) = opts.get("labels-regex") {
        let re = regex::Regex::new(re).map_err(|e| e.to_string())?;
        for (k, v) in &info.labels {
            if re.is_match(k) {
                out.insert(key(k), v.clone());
            }
        }
    }
    if let Some(re) = opts.get("env-regex") {
        let re = regex::Regex::new(re).map_err(|e| e.to_string())?;
        for (k, v) in &env {
            if re.is_match(k) {
                out.insert(key(k), v.to_string());
            }
        }
    }
    Ok(out)
}

/// moby's journald key sanitising: upper case, `_` for anything else, no leading `_`.
fn journal_key(s: &str) -> String {
    let mut n = String::new();
    for c in s.chars() {
        let c = if c.is_ascii_lowercase() {
            c.to_ascii_uppercase()
        } else if c.is_ascii_uppercase() || c.is_ascii_digit() {
            c
        } else {
            '_'
        };
        if !(n.is_empty() && c == '_') {
            n.push(c);
        }
    }
    n
}

impl LogSpec {
    /// Resolves a validated driver and options for a container.
    pub fn resolve(
        driver: &str,
        opts: &BTreeMap<String, String>,
        info: &ContainerInfo,
    ) -> Result<LogSpec, String> {
        validate(driver, opts)?;
        let non_blocking =
            (opts.get("mode").map(String::as_str) == Some("non-blocking")).then(|| {
                opts.get("max-buffer-size")
                    .and_then(|s| parse_ram_size(s))
                    .unwrap_or(1 << 20) as usize
            });
        let tag = || render_tag(opts.get("tag").map(String::as_str), info);
        let sink = match driver {
            JSON_FILE => {
                let mut attrs = extra_attrs(opts, info, str::to_string)?;
                if opts.contains_key("tag") {
                    attrs.insert("tag".into(), tag()?);
                }
                Sink::JsonFile {
                    limits: FileLimits::from_opts(
                        opts,
                        "",
                        FileLimits {
                            max_size: 0,
                            max_file: 1,
                            compress: false,
                        },
                    ),
                    attrs,
                }
            }
            LOCAL => Sink::Local {
                limits: FileLimits::from_opts(opts, "", LOCAL_DEFAULTS),
            },
            NONE => Sink::None,
            SYSLOG => {
                let disabled = opts
                    .get("cache-disabled")
                    .and_then(|v| parse_bool(v))
                    .unwrap_or(false);
                Sink::Syslog {
                    address: SyslogAddress::parse(
                        opts.get("syslog-address").map(String::as_str).unwrap_or(""),
                    )?,
                    facility: syslog_facility(
                        opts.get("syslog-facility")
                            .map(String::as_str)
                            .unwrap_or(""),
                    )?,
                    format: SyslogFormat::parse(
                        opts.get("syslog-format").map(String::as_str).unwrap_or(""),
                    )?,
                    tag: tag()?,
                    cache: (!disabled)
                        .then(|| FileLimits::from_opts(opts, "cache-", LOCAL_DEFAULTS)),
                }
            }
            JOURNALD => {
                let tag = tag()?;
                let mut fields = extra_attrs(opts, info, journal_key)?;
                for (k, v) in [
                    ("CONTAINER_ID", info.id.chars().take(12).collect()),
                    ("CONTAINER_ID_FULL", info.id.clone()),
                    ("CONTAINER_NAME", info.name.clone()),
                    ("CONTAINER_TAG", tag.clone()),
                    ("IMAGE_NAME", info.image_name.clone()),
                    ("SYSLOG_IDENTIFIER", tag),
                ] {
                    fields.insert(k.to_string(), v);
                }
                Sink::Journald { fields }
            }
            other => {
                return Err(format!(
                    "logger: no log driver named '{other}' is registered"
                ))
            }
        };
        Ok(LogSpec { sink, non_blocking })
    }

    /// Whether `logs` can read this container's output back, and from what.
    pub fn readable(&self) -> Readable {
        match &self.sink {
            Sink::JsonFile { .. } => Readable::JsonFile,
            Sink::Local { .. } => Readable::Local,
            Sink::Syslog { cache: Some(_), .. } => Readable::Cache,
            Sink::Journald { .. } => Readable::Journal,
            Sink::None | Sink::Syslog { cache: None, .. } => Readable::No,
        }
    }
}

/// Where `logs` finds a container's output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Readable {
    JsonFile,
    Local,
    /// The dual-logging cache (local format).
    Cache,
    Journal,
    No,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn unknown_drivers_and_options_get_mobys_messages() {
        assert_eq!(
            validate("fluentd-nope", &opts(&[])),
            Err("logger: no log driver named 'fluentd-nope' is registered".into())
        );
        assert_eq!(
            validate(JSON_FILE, &opts(&[("bogus", "1")])),
            Err("unknown log opt 'bogus' for json-file log driver".into())
        );
        assert_eq!(
            validate(LOCAL, &opts(&[("tag", "x")])),
            Err("unknown log opt 'tag' for log driver local".into())
        );
        assert_eq!(
            validate(JOURNALD, &opts(&[("max-size", "1m")])),
            Err("unknown log opt 'max-size' for journald log driver".into())
        );
        assert_eq!(
            validate(JSON_FILE, &opts(&[("mode", "fast")])),
            Err("logger: logging mode not supported: fast".into())
        );
        assert_eq!(
            validate(JSON_FILE, &opts(&[("max-buffer-size", "1m")])),
            Err("logger: max-buffer-size option is only supported with 'mode=non-blocking'".into())
        );
        assert!(validate(NONE, &opts(&[("anything", "goes")])).is_ok());
        assert!(validate(
            JSON_FILE,
            &opts(&[
                ("mode", "non-blocking"),
                ("max-buffer-size", "4m"),
                ("max-size", "1k"),
                ("max-file", "3"),
                ("compress", "true")
            ])
        )
        .is_ok());
        assert_eq!(
            validate(JSON_FILE, &opts(&[("max-file", "3")])),
            Err("max-file can only be set if max-size is set".into())
        );
        assert!(validate(SYSLOG, &opts(&[("syslog-address", "bogus")]))
            .is_err_and(|e| e.contains("proto://address")));
        assert!(validate(SYSLOG, &opts(&[("syslog-tls-cert", "/x")]))
            .is_err_and(|e| e.contains("not supported")));
    }

    #[test]
    fn sizes_are_go_units_ram_sizes() {
        assert_eq!(parse_ram_size("1m"), Some(1 << 20));
        assert_eq!(parse_ram_size("10k"), Some(10 << 10));
        assert_eq!(parse_ram_size("1.5k"), Some(1536));
        assert_eq!(parse_ram_size("12"), Some(12));
        assert_eq!(parse_ram_size("x"), None);
    }

    #[test]
    fn tags_render_like_parse_log_tag() {
        let info = ContainerInfo {
            id: "0123456789abcdef0123".into(),
            name: "web".into(),
            image_id: "sha256:fedcba9876543210".into(),
            image_name: "busybox".into(),
            daemon_name: "berth".into(),
            ..Default::default()
        };
        assert_eq!(render_tag(None, &info).as_deref(), Ok("0123456789ab"));
        assert_eq!(
            render_tag(Some("{{.Name}}/{{.ImageName}}/{{.ImageID}}"), &info).as_deref(),
            Ok("web/busybox/fedcba987654")
        );
        assert!(render_tag(Some("{{.Nope}}"), &info).is_err());
        assert!(render_tag(Some("{{.Name"), &info).is_err());
    }

    #[test]
    fn specs_resolve_with_dockers_defaults() {
        let info = ContainerInfo {
            id: "a".repeat(64),
            name: "n".into(),
            labels: [("app".to_string(), "web".to_string())].into(),
            env: vec!["TIER=front".into()],
            ..Default::default()
        };
        let s = LogSpec::resolve(LOCAL, &opts(&[]), &info).expect("local");
        assert_eq!(
            s.sink,
            Sink::Local {
                limits: LOCAL_DEFAULTS
            }
        );
        assert_eq!(s.readable(), Readable::Local);
        let s = LogSpec::resolve(
            JOURNALD,
            &opts(&[("labels", "app"), ("env", "TIER"), ("tag", "{{.Name}}")]),
            &info,
        )
        .expect("journald");
        let Sink::Journald { fields } = &s.sink else {
            panic!("journald sink")
        };
        assert_eq!(fields.get("CONTAINER_NAME").map(String::as_str), Some("n"));
        assert_eq!(
            fields.get("SYSLOG_IDENTIFIER").map(String::as_str),
            Some("n")
        );
        assert_eq!(fields.get("APP").map(String::as_str), Some("web"));
        assert_eq!(fields.get("TIER").map(String::as_str), Some("front"));
        let s =
            LogSpec::resolve(SYSLOG, &opts(&[("cache-disabled", "true")]), &info).expect("syslog");
        assert_eq!(s.readable(), Readable::No);
        let s = LogSpec::resolve(
            JSON_FILE,
            &opts(&[("mode", "non-blocking"), ("tag", "t-{{.Name}}")]),
            &info,
        )
        .expect("json");
        assert_eq!(s.non_blocking, Some(1 << 20));
        let Sink::JsonFile { attrs, .. } = &s.sink else {
            panic!("json sink")
        };
        assert_eq!(attrs.get("tag").map(String::as_str), Some("t-n"));
        assert_eq!(journal_key("com.example-x"), "COM_EXAMPLE_X");
        assert_eq!(journal_key("_a"), "A");
    }
}
