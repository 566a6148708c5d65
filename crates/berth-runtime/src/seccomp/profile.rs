//! Docker's seccomp profile format (`--security-opt seccomp=PROFILE.json`, daemon.json
//! `seccomp-profile`, and berth's built-in profile) and its conversion into the OCI spec's
//! `linux.seccomp` for one container, as moby's `setupSeccomp` does: the host architecture's
//! `archMap` entry, and only the rules whose `includes`/`excludes` (capabilities in the
//! container's bounding set, architecture, minimum kernel) hold for this container.

use oci_spec::runtime::{
    Arch, LinuxSeccomp, LinuxSeccompAction, LinuxSeccompArgBuilder, LinuxSeccompBuilder,
    LinuxSeccompFilterFlag, LinuxSyscallBuilder,
};
use serde::Deserialize;

pub use oci_spec::runtime::LinuxSeccompAction as Action;
pub use oci_spec::runtime::LinuxSeccompOperator as Op;

/// A profile as Docker reads it (unknown fields are ignored, as Go's decoder does).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Profile {
    #[serde(default)]
    pub default_action: Action,
    #[serde(default)]
    pub default_errno_ret: Option<u32>,
    #[serde(default)]
    pub architectures: Vec<Arch>,
    #[serde(default)]
    pub arch_map: Vec<ArchMap>,
    #[serde(default)]
    pub syscalls: Vec<Rule>,
    #[serde(default)]
    pub flags: Vec<LinuxSeccompFilterFlag>,
    #[serde(default)]
    pub listener_path: Option<String>,
    #[serde(default)]
    pub listener_metadata: Option<String>,
    /// Set when the JSON had a `defaultAction` at all (a profile without one and without
    /// syscalls means "no filter", as in moby).
    #[serde(skip)]
    pub has_default_action: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ArchMap {
    pub architecture: String,
    #[serde(default)]
    pub sub_architectures: Vec<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub names: Vec<String>,
    pub action: Action,
    #[serde(default)]
    pub errno_ret: Option<u32>,
    #[serde(default)]
    pub args: Vec<Arg>,
    #[serde(default)]
    pub includes: Condition,
    #[serde(default)]
    pub excludes: Condition,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Arg {
    pub index: usize,
    pub value: u64,
    #[serde(default)]
    pub value_two: u64,
    pub op: Op,
}

/// When a rule applies (`includes`: all must hold) or does not (`excludes`: any excludes).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Condition {
    #[serde(default)]
    pub caps: Vec<String>,
    #[serde(default)]
    pub arches: Vec<String>,
    #[serde(default)]
    pub min_kernel: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    #[error("decoding seccomp profile failed: {0}")]
    Decode(String),
    #[error("{0}")]
    Invalid(String),
}

impl Profile {
    /// Parses a profile's JSON text (what the docker CLI sends as `seccomp=<json>`).
    pub fn parse(text: &str) -> Result<Profile, ProfileError> {
        let raw: serde_json::Value =
            serde_json::from_str(text).map_err(|e| ProfileError::Decode(e.to_string()))?;
        let has_default = raw
            .get("defaultAction")
            .and_then(|v| v.as_str())
            .is_some_and(|s| !s.is_empty());
        let mut p: Profile =
            serde_json::from_value(raw).map_err(|e| ProfileError::Decode(e.to_string()))?;
        p.has_default_action = has_default;
        Ok(p)
    }
}

/// The host as moby's conversion sees it: Go's architecture name ("amd64"), the kernel
/// release, and the capabilities in the container's bounding set ("CAP_CHOWN", ...).
#[derive(Debug, Clone)]
pub struct Target<'a> {
    pub arch: &'a str,
    pub kernel: (u32, u32),
    pub caps: &'a [String],
}

/// Go's name of the architecture this binary runs on (the names profiles use).
pub fn host_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "x86" => "x86",
        "aarch64" => "arm64",
        "arm" => "arm",
        "powerpc64" => "ppc64le",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        "mips64" => "mips64",
        "loongarch64" => "loong64",
        other => other,
    }
}

/// The seccomp name of a Go architecture, for picking the `archMap` entry.
fn seccomp_arch(arch: &str) -> Option<&'static str> {
    Some(match arch {
        "amd64" => "SCMP_ARCH_X86_64",
        "x86" => "SCMP_ARCH_X86",
        "x32" => "SCMP_ARCH_X32",
        "arm64" => "SCMP_ARCH_AARCH64",
        "arm" => "SCMP_ARCH_ARM",
        "ppc64le" => "SCMP_ARCH_PPC64LE",
        "s390x" => "SCMP_ARCH_S390X",
        "s390" => "SCMP_ARCH_S390",
        "riscv64" => "SCMP_ARCH_RISCV64",
        "mips64" => "SCMP_ARCH_MIPS64",
        "mips64le" => "SCMP_ARCH_MIPSEL64",
        "loong64" => "SCMP_ARCH_LOONGARCH64",
        _ => return None,
    })
}

/// The running kernel's "major.minor".
pub fn host_kernel() -> (u32, u32) {
    nix::sys::utsname::uname()
        .ok()
        .and_then(|u| parse_kernel(&u.release().to_string_lossy()))
        .unwrap_or((0, 0))
}

fn parse_kernel(release: &str) -> Option<(u32, u32)> {
    let mut it = release.split(|c: char| !c.is_ascii_digit());
    let major = it.next()?.parse().ok()?;
    let minor = it.next().and_then(|m| m.parse().ok()).unwrap_or(0);
    Some((major, minor))
}

fn arch_from_name(name: &str) -> Result<Arch, ProfileError> {
    serde_json::from_value(serde_json::Value::String(name.to_string()))
        .map_err(|_| ProfileError::Invalid(format!("unknown seccomp architecture {name:?}")))
}

fn holds(cond: &Condition, t: &Target, include: bool) -> Result<bool, ProfileError> {
    let has_cap = |c: &String| t.caps.iter().any(|x| x == c);
    let kernel_ok = |k: &str| -> Result<bool, ProfileError> {
        let want = parse_kernel(k)
            .ok_or_else(|| ProfileError::Invalid(format!("invalid kernel version {k:?}")))?;
        Ok(t.kernel >= want)
    };
    if include {
        if !cond.arches.is_empty() && !cond.arches.iter().any(|a| a == t.arch) {
            return Ok(false);
        }
        if !cond.caps.iter().all(has_cap) {
            return Ok(false);
        }
        if let Some(k) = &cond.min_kernel {
            return kernel_ok(k);
        }
        Ok(true)
    } else {
        // true = excluded
        if cond.arches.iter().any(|a| a == t.arch) || cond.caps.iter().any(has_cap) {
            return Ok(true);
        }
        if let Some(k) = &cond.min_kernel {
            return kernel_ok(k);
        }
        Ok(false)
    }
}

/// The OCI `linux.seccomp` of `profile` for one container, or None when the profile asks
/// for no filter (no default action and no rules).
pub fn to_oci(profile: &Profile, t: &Target) -> Result<Option<LinuxSeccomp>, ProfileError> {
    if !profile.has_default_action && profile.syscalls.is_empty() {
        return Ok(None);
    }
    if !profile.architectures.is_empty() && !profile.arch_map.is_empty() {
        return Err(ProfileError::Invalid(
            "both 'architectures' and 'archMap' are specified in the seccomp profile, use either 'architectures' or 'archMap'".into(),
        ));
    }
    let mut arches = profile.architectures.clone();
    if let Some(native) = seccomp_arch(t.arch) {
        if let Some(m) = profile.arch_map.iter().find(|m| m.architecture == native) {
            arches.push(arch_from_name(&m.architecture)?);
            for s in &m.sub_architectures {
                arches.push(arch_from_name(s)?);
            }
        }
    }
    let mut syscalls = Vec::new();
    for rule in &profile.syscalls {
        let names = match (rule.name.is_empty(), rule.names.is_empty()) {
            (false, false) => {
                return Err(ProfileError::Invalid(
                    "both 'name' and 'names' are specified in the seccomp profile, use either 'name' or 'names'".into(),
                ))
            }
            (false, true) => vec![rule.name.clone()],
            _ => rule.names.clone(),
        };
        if holds(&rule.excludes, t, false)? || !holds(&rule.includes, t, true)? {
            continue;
        }
        let mut b = LinuxSyscallBuilder::default()
            .names(names)
            .action(rule.action);
        if let Some(e) = rule.errno_ret {
            b = b.errno_ret(e);
        }
        if !rule.args.is_empty() {
            let mut args = Vec::new();
            for a in &rule.args {
                args.push(
                    LinuxSeccompArgBuilder::default()
                        .index(a.index)
                        .value(a.value)
                        .value_two(a.value_two)
                        .op(a.op)
                        .build()
                        .map_err(|e| ProfileError::Invalid(e.to_string()))?,
                );
            }
            b = b.args(args);
        }
        syscalls.push(
            b.build()
                .map_err(|e| ProfileError::Invalid(e.to_string()))?,
        );
    }
    let mut b = LinuxSeccompBuilder::default()
        .default_action(profile.default_action)
        .architectures(arches)
        .syscalls(syscalls);
    if let Some(e) = profile.default_errno_ret {
        b = b.default_errno_ret(e);
    }
    if !profile.flags.is_empty() {
        b = b.flags(profile.flags.clone());
    }
    if let Some(p) = &profile.listener_path {
        b = b.listener_path(p);
    }
    if let Some(m) = &profile.listener_metadata {
        b = b.listener_metadata(m.clone());
    }
    b.build()
        .map(Some)
        .map_err(|e| ProfileError::Invalid(e.to_string()))
}

/// Whether a rule of the converted filter allows `name` unconditionally (for tests and
/// diagnostics).
pub fn allows(seccomp: &LinuxSeccomp, name: &str) -> bool {
    seccomp.syscalls().iter().flatten().any(|s| {
        s.action() == LinuxSeccompAction::ScmpActAllow
            && s.args().as_ref().is_none_or(|a| a.is_empty())
            && s.names().iter().any(|n| n == name)
    })
}
