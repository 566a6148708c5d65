//! Security options: a container's `--security-opt` list (as moby's `parseSecurityOpt`
//! reads it) merged with the daemon's defaults (daemon.json `seccomp-profile`,
//! `no-new-privileges`, `default-ulimits`), and what `docker info` lists under Security
//! Options. Options berth cannot honour are refused with an error naming them, never
//! accepted and ignored.

pub use berth_runtime::seccomp::{Choice, Profile, BUILTIN, UNCONFINED};
pub use berth_runtime::spec::{rlimit_type, Ulimit};

/// The daemon's security settings.
#[derive(Debug, Clone, Default)]
pub struct SecurityConfig {
    /// The profile of containers that name none.
    pub seccomp: Choice,
    /// What `docker info` shows as the profile: "builtin", "unconfined" or the file's path.
    pub seccomp_name: String,
    /// daemon.json `no-new-privileges`: the default of every container.
    pub no_new_privileges: bool,
    /// daemon.json `default-ulimits`: added to each container's ulimits it does not set.
    pub default_ulimits: Vec<Ulimit>,
}

impl SecurityConfig {
    /// Docker's `SecurityOptions` list of `docker info`.
    pub fn info_options(&self, cgroup_v2: bool) -> Vec<String> {
        let mut v = Vec::new();
        let name = if self.seccomp_name.is_empty() {
            BUILTIN
        } else {
            &self.seccomp_name
        };
        v.push(format!("name=seccomp,profile={name}"));
        if self.no_new_privileges {
            v.push("name=no-new-privileges".to_string());
        }
        if cgroup_v2 {
            v.push("name=cgroupns".to_string());
        }
        v
    }
}

/// A container's security options, parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SecurityOpts {
    pub seccomp: Option<Choice>,
    pub no_new_privileges: Option<bool>,
    /// `systempaths=unconfined`: no masked or read-only /proc and /sys paths.
    pub systempaths_unconfined: bool,
}

impl SecurityOpts {
    /// The effective seccomp choice and no_new_privileges under the daemon's defaults.
    pub fn resolve(&self, daemon: &SecurityConfig) -> (Choice, bool) {
        (
            self.seccomp
                .clone()
                .unwrap_or_else(|| daemon.seccomp.clone()),
            self.no_new_privileges.unwrap_or(daemon.no_new_privileges),
        )
    }
}

/// Parses `--security-opt` values with moby's syntax and messages (`key=value`, the
/// deprecated `key:value`, bare `no-new-privileges`).
pub fn parse(opts: &[String]) -> Result<SecurityOpts, String> {
    let mut out = SecurityOpts::default();
    for opt in opts {
        if opt == "no-new-privileges" {
            out.no_new_privileges = Some(true);
            continue;
        }
        if opt == "disable" {
            // label=disable: no SELinux labelling, which is what berth does anyway.
            continue;
        }
        let kv = if opt.contains('=') {
            opt.split_once('=')
        } else {
            opt.split_once(':')
        };
        let Some((key, value)) = kv else {
            return Err(format!("invalid --security-opt 1: {opt:?}"));
        };
        match key {
            "seccomp" => {
                out.seccomp = Some(match value {
                    UNCONFINED => Choice::Unconfined,
                    BUILTIN => Choice::Builtin,
                    json => {
                        // Checked now, so a bad profile fails the create, not each start.
                        berth_runtime::seccomp::Profile::parse(json).map_err(|e| e.to_string())?;
                        Choice::Custom(json.to_string())
                    }
                })
            }
            "no-new-privileges" => {
                out.no_new_privileges = Some(
                    parse_bool(value).ok_or_else(|| format!("invalid --security-opt 2: {opt:?}"))?,
                )
            }
            "label" if value == "disable" => {}
            "label" => {
                return Err(format!(
                    "invalid --security-opt {opt:?}: SELinux labels are not supported: berth runs containers without SELinux"
                ))
            }
            "apparmor" if value == "unconfined" => {}
            "apparmor" => {
                return Err(format!(
                    "invalid --security-opt {opt:?}: AppArmor profiles are not supported: berth runs containers without AppArmor"
                ))
            }
            "systempaths" if value == "unconfined" => out.systempaths_unconfined = true,
            "systempaths" => return Err(format!("invalid --security-opt 2: {opt:?}")),
            "writable-cgroups" => {
                let on = parse_bool(value)
                    .ok_or_else(|| format!("invalid --security-opt 2: {opt:?}"))?;
                if on {
                    return Err(format!(
                        "invalid --security-opt {opt:?}: writable cgroups are not supported by berth"
                    ));
                }
            }
            _ => return Err(format!("invalid --security-opt 2: {opt:?}")),
        }
    }
    Ok(out)
}

/// Go's strconv.ParseBool.
fn parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// moby's mergeUlimits: the daemon's defaults for every ulimit the container does not set.
pub fn merge_ulimits(own: &[Ulimit], defaults: &[Ulimit]) -> Vec<Ulimit> {
    let mut out = own.to_vec();
    for d in defaults {
        if !own.iter().any(|u| u.name == d.name) {
            out.push(d.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(list: &[&str]) -> Result<SecurityOpts, String> {
        parse(&list.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn parses_docker_syntax() {
        let o = p(&["no-new-privileges", "seccomp=unconfined"]).unwrap();
        assert_eq!(o.no_new_privileges, Some(true));
        assert_eq!(o.seccomp, Some(Choice::Unconfined));
        let o = p(&["no-new-privileges:false", "seccomp:builtin"]).unwrap();
        assert_eq!(o.no_new_privileges, Some(false));
        assert_eq!(o.seccomp, Some(Choice::Builtin));
        let json = r#"{"defaultAction":"SCMP_ACT_ALLOW"}"#;
        let o = p(&[&format!("seccomp={json}")]).unwrap();
        assert_eq!(o.seccomp, Some(Choice::Custom(json.into())));
        assert!(p(&["label=disable", "apparmor=unconfined", "disable"]).is_ok());
        assert!(
            p(&["systempaths=unconfined"])
                .unwrap()
                .systempaths_unconfined
        );
    }

    #[test]
    fn refuses_what_it_cannot_honour() {
        assert_eq!(
            p(&["bogus"]).unwrap_err(),
            "invalid --security-opt 1: \"bogus\""
        );
        assert_eq!(
            p(&["foo=bar"]).unwrap_err(),
            "invalid --security-opt 2: \"foo=bar\""
        );
        assert_eq!(
            p(&["no-new-privileges=maybe"]).unwrap_err(),
            "invalid --security-opt 2: \"no-new-privileges=maybe\""
        );
        assert!(p(&["apparmor=docker-default"])
            .unwrap_err()
            .contains("AppArmor profiles are not supported"));
        assert!(p(&["label=type:svirt_t"])
            .unwrap_err()
            .contains("SELinux labels are not supported"));
        assert!(p(&["writable-cgroups=true"]).is_err());
        assert!(p(&["seccomp=/some/path.json"])
            .unwrap_err()
            .starts_with("decoding seccomp profile failed"));
    }

    #[test]
    fn defaults_and_info() {
        let d = SecurityConfig {
            no_new_privileges: true,
            ..Default::default()
        };
        assert_eq!(SecurityOpts::default().resolve(&d), (Choice::Builtin, true));
        let o = p(&["no-new-privileges=false"]).unwrap();
        assert!(!o.resolve(&d).1);
        assert_eq!(
            d.info_options(false),
            vec!["name=seccomp,profile=builtin", "name=no-new-privileges"]
        );
        let u = |n: &str, v| Ulimit {
            name: n.into(),
            soft: v,
            hard: v,
        };
        let merged = merge_ulimits(&[u("nofile", 10)], &[u("nofile", 99), u("nproc", 5)]);
        assert_eq!(merged, vec![u("nofile", 10), u("nproc", 5)]);
    }
}
