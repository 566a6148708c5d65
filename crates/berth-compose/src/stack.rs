//! `stack deploy/ls/services/ps/rm`: a compose project on the swarm, as the docker CLI
//! does it (cli/command/stack/swarm and cli/compose/convert): the files are loaded with
//! berth-compose (the project named after the stack), then networks, secrets, configs and
//! services are created or updated through the Engine API, each named `STACK_NAME` and
//! labelled `com.docker.stack.namespace=STACK`; the other commands find them by label.

use serde_json::{json, Value};
use std::collections::BTreeMap;

use crate::model::{self as cm, Project};
use berth_api::models::{
    BindOptions, DriverConfig, NetworkCreateBody, NetworkCreateResponse, NetworkInspect,
    NetworkIpam, NetworkIpamConfig, TmpfsOptions, VolumeOptions,
};
use berth_api::swarm as sw;
use berth_cli::client::{filters_json, q, query, Body};
use berth_cli::commands::stack::{ConfigCmd, DeployCmd, LsCmd, PsCmd, RmCmd, ServicesCmd};
use berth_cli::commands::{join_errors, parse, service_progress, swarm, Invocation};
use berth_cli::{CmdResult, Ctx, Failure};

type Handler = fn(&mut Ctx, &Invocation, &[String]) -> CmdResult;

const NS_LABEL: &str = "com.docker.stack.namespace";
const IMAGE_LABEL: &str = "com.docker.stack.image";

/// The compose keys a stack leaves out, as the docker CLI lists them.
const UNSUPPORTED: &[&str] = &[
    "build",
    "cgroupns_mode",
    "cgroup_parent",
    "devices",
    "domainname",
    "external_links",
    "ipc",
    "links",
    "mac_address",
    "network_mode",
    "pid",
    "privileged",
    "restart",
    "security_opt",
    "shm_size",
    "userns_mode",
];

const USAGE: &str = "\nUsage:  berth stack [OPTIONS] COMMAND\n\nManage Swarm stacks\n\nCommands:\n  config      Outputs the final config file, after doing merges and interpolations\n  deploy      Deploy a new stack or update an existing stack\n  ls          List stacks\n  ps          List the tasks in the stack\n  rm          Remove one or more stacks\n  services    List the services in the stack\n\nRun 'berth stack COMMAND --help' for more information on a command.\n";

/// `berth stack ...` (registered by the binary as an external command of berth-cli).
pub fn main(ctx: &mut Ctx, args: &[String]) -> i32 {
    let Some(name) = args.first() else {
        print!("{USAGE}");
        return 0;
    };
    if name == "--help" || name == "-h" {
        print!("{USAGE}");
        return 0;
    }
    let Some((usage, h)) = lookup(name) else {
        eprintln!(
            "berth: unknown command: berth stack {name}\n\nUsage:  berth stack\n\nRun 'berth stack --help' for more information"
        );
        return 1;
    };
    let inv = Invocation {
        path: format!("stack {name}"),
        usage,
    };
    match h(ctx, &inv, &args[1..]) {
        Ok(code) => code,
        Err(f) => {
            if !f.msg.is_empty() {
                eprintln!("{}", f.msg);
            }
            f.code
        }
    }
}

pub fn lookup(name: &str) -> Option<(&'static str, Handler)> {
    Some(match name {
        "deploy" | "up" => ("[OPTIONS] STACK", deploy),
        "ls" | "list" => ("[OPTIONS]", ls),
        "services" => ("[OPTIONS] STACK", services),
        "ps" => ("[OPTIONS] STACK", ps),
        "rm" | "remove" | "down" => ("[OPTIONS] STACK [STACK...]", rm),
        "config" => ("[OPTIONS]", config),
        _ => return None,
    })
}

fn fail(m: impl Into<String>) -> Failure {
    Failure::new(m.into(), 1)
}

/// docker's check: a name that is empty once quotes and white space are trimmed is
/// refused here; the daemon checks the services' names made from it.
fn check_name(n: &str) -> Result<(), Failure> {
    if n.trim_matches(|c: char| c.is_whitespace() || c == '"' || c == '\'')
        .is_empty()
    {
        Err(fail(format!("invalid stack name: {n:?}")))
    } else {
        Ok(())
    }
}

fn ns_filter(ns: &str) -> Result<String, Failure> {
    let f = filters_json(&[format!("label={NS_LABEL}={ns}")])
        .map_err(fail)?
        .unwrap_or_default();
    Ok(query(&[format!("filters={}", q(&f))]))
}

fn load(files: &[String], ns: &str) -> Result<Project, Failure> {
    if files.is_empty() {
        return Err(fail(
            "Please specify only one compose file (with --compose-file).",
        ));
    }
    let opts = crate::LoadOptions {
        files: files.to_vec(),
        project_name: Some(ns.to_string()),
        ..Default::default()
    };
    let loaded = crate::load(&opts).map_err(|e| fail(e.to_string()))?;
    for w in &loaded.warnings {
        eprintln!("{w}");
    }
    Ok(loaded.project)
}

/// A stack's secret or config: its name, the stack's label, the file's bytes.
fn object_spec(name: &str, ns: &str, labels: &cm::Mapping, data: Vec<u8>) -> sw::SecretSpec {
    sw::SecretSpec {
        name: name.to_string(),
        labels: ns_labels(ns, labels),
        data,
        ..Default::default()
    }
}

fn ns_labels(ns: &str, labels: &cm::Mapping) -> sw::Labels {
    let mut l: sw::Labels = labels.clone();
    l.insert(NS_LABEL.into(), ns.into());
    l
}

/// The data of a file-based secret or config (`file`, `environment` or `content`).
fn file_data(kind: &str, key: &str, o: &cm::FileObject) -> Result<Vec<u8>, Failure> {
    if let Some(c) = &o.content {
        return Ok(c.clone().into_bytes());
    }
    if !o.environment.is_empty() {
        return std::env::var(&o.environment)
            .map(String::into_bytes)
            .map_err(|_| {
                fail(format!(
                    "environment variable {} of {kind} {key} is not set",
                    o.environment
                ))
            });
    }
    std::fs::read(&o.file).map_err(|e| fail(format!("open {}: {}", o.file, crate::io_reason(&e))))
}

/// Unsupported keys present in the project's services (the docker CLI's warning).
fn unsupported(p: &Project) -> Vec<&'static str> {
    let mut out = Vec::new();
    for s in p.services.values() {
        let set = [
            ("build", s.build.is_some()),
            ("cgroupns_mode", !s.cgroup.is_empty()),
            ("cgroup_parent", !s.cgroup_parent.is_empty()),
            ("devices", !s.devices.is_empty()),
            ("domainname", !s.domainname.is_empty()),
            ("external_links", !s.external_links.is_empty()),
            ("ipc", !s.ipc.is_empty()),
            ("links", !s.links.is_empty()),
            ("mac_address", !s.mac_address.is_empty()),
            ("network_mode", !s.network_mode.is_empty()),
            ("pid", !s.pid.is_empty()),
            ("privileged", s.privileged),
            ("restart", !s.restart.is_empty()),
            ("security_opt", !s.security_opt.is_empty()),
            ("shm_size", s.shm_size.is_some()),
            ("userns_mode", !s.userns_mode.is_empty()),
        ];
        for (k, on) in set {
            if on && !out.contains(&k) {
                out.push(k);
            }
        }
    }
    out.sort_by_key(|k| UNSUPPORTED.iter().position(|u| u == k));
    out
}

/// compose's duration (ns) to the API's.
fn dur(d: Option<cm::Duration>) -> Option<i64> {
    d.map(|d| d.0)
}

fn update_config(u: &Option<cm::UpdateConfig>) -> Option<sw::UpdateConfig> {
    u.as_ref().map(|u| sw::UpdateConfig {
        parallelism: u.parallelism.unwrap_or(1),
        delay: dur(u.delay).unwrap_or(0),
        failure_action: u.failure_action.clone(),
        monitor: dur(u.monitor).unwrap_or(0),
        max_failure_ratio: u.max_failure_ratio.unwrap_or(0.0) as f32,
        order: u.order.clone(),
    })
}

/// `restart:` when `deploy.restart_policy` is absent (docker's convertRestartPolicy).
fn restart_policy(s: &cm::Service) -> Result<Option<sw::RestartPolicy>, Failure> {
    let d = s.deploy.clone().unwrap_or_default();
    if let Some(r) = &d.restart_policy {
        return Ok(Some(sw::RestartPolicy {
            condition: r.condition.clone(),
            delay: dur(r.delay),
            max_attempts: r.max_attempts,
            window: dur(r.window),
        }));
    }
    let (name, n) = s.restart.split_once(':').unwrap_or((&s.restart, ""));
    Ok(match name {
        "" | "no" => None,
        "always" | "unless-stopped" => Some(sw::RestartPolicy {
            condition: "any".into(),
            ..Default::default()
        }),
        "on-failure" => Some(sw::RestartPolicy {
            condition: "on-failure".into(),
            max_attempts: if n.is_empty() {
                None
            } else {
                Some(n.parse().map_err(|_| {
                    fail(format!(
                        "invalid restart policy: maximum retry count must be a number: {n}"
                    ))
                })?)
            },
            ..Default::default()
        }),
        other => {
            return Err(fail(format!(
                "invalid restart policy: unknown policy '{other}'"
            )))
        }
    })
}

/// The ids of the swarm secrets or configs a project's services use, by name.
struct Refs {
    secrets: BTreeMap<String, String>,
    configs: BTreeMap<String, String>,
}

fn file_refs(
    kind: &str,
    refs: &[cm::FileRef],
    top: &BTreeMap<String, cm::FileObject>,
    ids: &BTreeMap<String, String>,
    svc: &str,
) -> Result<Vec<(String, String, sw::SecretReferenceFileTarget)>, Failure> {
    let mut out = Vec::new();
    for r in refs {
        let o = top.get(&r.source).ok_or_else(|| {
            fail(format!(
                "service {svc} refers to undefined {kind} {}",
                r.source
            ))
        })?;
        let name = if o.name.is_empty() {
            r.source.clone()
        } else {
            o.name.clone()
        };
        let id = ids
            .get(&name)
            .cloned()
            .ok_or_else(|| fail(format!("{kind} not found: {name}")))?;
        let target = if r.target.is_empty() {
            r.source.clone()
        } else {
            r.target.clone()
        };
        out.push((
            id,
            name,
            sw::SecretReferenceFileTarget {
                name: target,
                uid: if r.uid.is_empty() {
                    "0".into()
                } else {
                    r.uid.clone()
                },
                gid: if r.gid.is_empty() {
                    "0".into()
                } else {
                    r.gid.clone()
                },
                mode: r.mode.map(|m| m.0).unwrap_or(0o444),
            },
        ));
    }
    Ok(out)
}

/// One volume of a service as the swarm's mount: a stack volume's name, labels and driver,
/// `nocopy`, a bind's propagation, a tmpfs's size and mode.
fn service_mount(
    ns: &str,
    key: &str,
    v: &cm::ServiceVolume,
    p: &Project,
) -> Result<sw::Mount, Failure> {
    let mut m = sw::Mount {
        r#type: if v.kind.is_empty() {
            "volume".into()
        } else {
            v.kind.clone()
        },
        source: v.source.clone(),
        target: v.target.clone(),
        read_only: v.read_only,
        consistency: v.consistency.clone(),
        ..Default::default()
    };
    match m.r#type.as_str() {
        "volume" => {
            let mut opts = VolumeOptions::default();
            // A stack volume's labels (even none but the stack's) or nocopy: the options
            // object is sent.
            let mut any = false;
            if let Some(top) = p.volumes.get(&v.source) {
                m.source = if top.name.is_empty() {
                    format!("{ns}_{}", v.source)
                } else {
                    top.name.clone()
                };
                if !top.external {
                    opts.labels = Some(ns_labels(ns, &top.labels));
                    any = true;
                    if !top.driver.is_empty() {
                        opts.driver_config = Some(DriverConfig {
                            name: top.driver.clone(),
                            options: Some(top.driver_opts.clone()),
                            ..Default::default()
                        });
                    }
                }
            }
            if v.volume.as_ref().is_some_and(|o| o.nocopy) {
                opts.no_copy = true;
                any = true;
            }
            if any {
                m.volume_options = Some(opts);
            }
        }
        "bind" => {
            if let Some(b) = &v.bind {
                if !b.propagation.is_empty() {
                    m.bind_options = Some(BindOptions {
                        propagation: b.propagation.clone(),
                        ..Default::default()
                    });
                }
            }
        }
        "tmpfs" => {
            if let Some(t) = &v.tmpfs {
                if t.size.is_some() || t.mode != 0 {
                    m.tmpfs_options = Some(TmpfsOptions {
                        size_bytes: t.size.map_or(0, |sz| sz.0),
                        mode: t.mode,
                        ..Default::default()
                    });
                }
            }
        }
        other => {
            return Err(fail(format!(
                "service {key}: volume type {other} is not supported in a stack"
            )))
        }
    }
    Ok(m)
}

/// One compose service as a swarm service spec (docker's convert.Service).
fn convert_service(
    ns: &str,
    key: &str,
    s: &cm::Service,
    p: &Project,
    refs: &Refs,
) -> Result<sw::ServiceSpec, Failure> {
    if s.image.is_empty() {
        return Err(fail(format!(
            "invalid image reference for service {key}: no image specified"
        )));
    }
    let d = s.deploy.clone().unwrap_or_default();
    let mut env: Vec<String> = s
        .environment
        .iter()
        .map(|(k, v)| match v {
            Some(v) => format!("{k}={v}"),
            None => k.clone(),
        })
        .collect();
    env.sort();
    let mut mounts = Vec::new();
    for v in &s.volumes {
        mounts.push(service_mount(ns, key, v, p)?);
    }
    let secrets = file_refs("secret", &s.secrets, &p.secrets, &refs.secrets, key)?
        .into_iter()
        .map(|(id, name, f)| sw::SecretReference {
            file: Some(f),
            secret_id: id,
            secret_name: name,
        })
        .collect();
    let configs = file_refs("config", &s.configs, &p.configs, &refs.configs, key)?
        .into_iter()
        .map(|(id, name, f)| sw::ConfigReference {
            file: Some(f),
            runtime: None,
            config_id: id,
            config_name: name,
        })
        .collect();
    let healthcheck = s.healthcheck.as_ref().map(|h| {
        if h.disable {
            sw::HealthConfig {
                test: Some(vec!["NONE".into()]),
                ..Default::default()
            }
        } else {
            sw::HealthConfig {
                test: (!h.test.is_empty()).then(|| h.test.clone()),
                interval: dur(h.interval).unwrap_or(0),
                timeout: dur(h.timeout).unwrap_or(0),
                start_period: dur(h.start_period).unwrap_or(0),
                start_interval: dur(h.start_interval).unwrap_or(0),
                retries: h.retries.unwrap_or(0) as i64,
            }
        }
    });
    let hosts = s
        .extra_hosts
        .iter()
        .map(|h| match h.split_once(['=', ':']) {
            Some((host, ip)) => format!("{ip} {host}"),
            None => h.clone(),
        })
        .collect();
    let container = sw::ContainerSpec {
        image: s.image.clone(),
        labels: ns_labels(ns, &s.labels),
        command: s.entrypoint.clone().unwrap_or_default(),
        args: s.command.clone().unwrap_or_default(),
        hostname: s.hostname.clone(),
        env,
        dir: s.working_dir.clone(),
        user: s.user.clone(),
        groups: s.group_add.clone(),
        init: s.init,
        stop_signal: s.stop_signal.clone(),
        tty: s.tty,
        open_stdin: s.stdin_open,
        read_only: s.read_only,
        mounts,
        stop_grace_period: dur(s.stop_grace_period),
        healthcheck,
        hosts,
        dns_config: if s.dns.is_empty() && s.dns_search.is_empty() && s.dns_opt.is_empty() {
            None
        } else {
            Some(sw::DnsConfig {
                nameservers: s.dns.clone(),
                search: s.dns_search.clone(),
                options: s.dns_opt.clone(),
            })
        },
        secrets,
        configs,
        isolation: s.isolation.clone(),
        sysctls: s.sysctls.clone(),
        capability_add: s.cap_add.clone(),
        capability_drop: s.cap_drop.clone(),
        oom_score_adj: s.oom_score_adj,
        ..Default::default()
    };
    // Networks: the stack's (or external) by name, with the service's short name as alias.
    let mut networks: Vec<sw::NetworkAttachmentConfig> = Vec::new();
    for (nk, sn) in &s.networks {
        let top = p.networks.get(nk);
        let name = match top {
            Some(t) if !t.name.is_empty() => t.name.clone(),
            _ => format!("{ns}_{nk}"),
        };
        let mut aliases = vec![key.to_string()];
        if let Some(sn) = sn {
            aliases.extend(sn.aliases.iter().cloned());
        }
        networks.push(sw::NetworkAttachmentConfig {
            target: name,
            aliases,
            driver_opts: None,
        });
    }
    networks.sort_by(|a, b| a.target.cmp(&b.target));
    let mut ports = Vec::new();
    for pt in &s.ports {
        let (lo, hi) = match pt.published.split_once('-') {
            Some((a, b)) => (a.parse::<u32>().ok(), b.parse::<u32>().ok()),
            None => (pt.published.parse().ok(), pt.published.parse().ok()),
        };
        let count = match (lo, hi) {
            (Some(a), Some(b)) if b >= a => b - a + 1,
            _ => 1,
        };
        for i in 0..count {
            ports.push(sw::PortConfig {
                name: pt.name.clone(),
                protocol: if pt.protocol.is_empty() {
                    "tcp".into()
                } else {
                    pt.protocol.clone()
                },
                target_port: pt.target + if count > 1 { i } else { 0 },
                published_port: lo.map(|l| l + i).unwrap_or(0),
                publish_mode: if pt.mode.is_empty() {
                    "ingress".into()
                } else {
                    pt.mode.clone()
                },
            });
        }
    }
    let replicas = d.replicas.or(s.scale).unwrap_or(1).max(0) as u64;
    let mode = match d.mode.as_str() {
        "" | "replicated" => sw::ServiceMode {
            replicated: Some(sw::ReplicatedService {
                replicas: Some(replicas),
            }),
            ..Default::default()
        },
        "global" => sw::ServiceMode {
            global: Some(sw::GlobalService {}),
            ..Default::default()
        },
        "replicated-job" => sw::ServiceMode {
            replicated_job: Some(sw::ReplicatedJob {
                max_concurrent: Some(replicas.max(1)),
                total_completions: Some(replicas.max(1)),
            }),
            ..Default::default()
        },
        "global-job" => sw::ServiceMode {
            global_job: Some(sw::GlobalService {}),
            ..Default::default()
        },
        other => return Err(fail(format!("unknown mode: {other}"))),
    };
    let res = &d.resources;
    let limits = res.limits.as_ref().map(|l| sw::Limit {
        nano_cpus: l.cpus.map(|c| (c * 1e9) as i64).unwrap_or(0),
        memory_bytes: l.memory.map(|m| m.0).unwrap_or(0),
        pids: l.pids,
    });
    let reservations = res.reservations.as_ref().map(|r| sw::Resources {
        nano_cpus: r.cpus.map(|c| (c * 1e9) as i64).unwrap_or(0),
        memory_bytes: r.memory.map(|m| m.0).unwrap_or(0),
        generic_resources: None,
    });
    let placement = sw::Placement {
        constraints: d.placement.constraints.clone(),
        preferences: d
            .placement
            .preferences
            .iter()
            .filter_map(|m| m.get("spread"))
            .map(|sp| sw::PlacementPreference {
                spread: Some(sw::SpreadOver {
                    spread_descriptor: sp.clone(),
                }),
            })
            .collect(),
        max_replicas: d.placement.max_replicas.unwrap_or(0),
        ..Default::default()
    };
    let mut labels = ns_labels(ns, &d.labels);
    labels.insert(IMAGE_LABEL.into(), s.image.clone());
    Ok(sw::ServiceSpec {
        name: format!("{ns}_{key}"),
        labels,
        task_template: sw::TaskSpec {
            container_spec: Some(container),
            resources: Some(sw::ResourceRequirements {
                limits,
                reservations,
            }),
            restart_policy: restart_policy(s)?,
            placement: Some(placement),
            networks,
            log_driver: s
                .logging
                .as_ref()
                .filter(|l| !l.driver.is_empty())
                .map(|l| sw::Driver {
                    name: l.driver.clone(),
                    options: Some(l.options.clone()),
                }),
            ..Default::default()
        },
        mode,
        update_config: update_config(&d.update_config),
        rollback_config: update_config(&d.rollback_config),
        networks: Vec::new(),
        endpoint_spec: Some(sw::EndpointSpec {
            mode: d.endpoint_mode.clone(),
            ports,
        }),
    })
}

fn deploy(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: DeployCmd = parse(inv, args)?;
    inv.exactly(&o.args, 1)?;
    let ns = o.args[0].clone();
    check_name(&ns)?;
    if !matches!(o.resolve_image.as_str(), "always" | "changed" | "never") {
        return Err(fail(format!(
            "Invalid option {} for flag --resolve-image",
            o.resolve_image
        )));
    }
    let p = load(&o.compose_file, &ns)?;
    let c = ctx.client()?.clone();
    if !swarm::swarm_info(&c)?.control_available {
        return Err(fail("this node is not a swarm manager. Use \"docker swarm init\" or \"docker swarm join\" to connect this node to swarm and try again"));
    }
    let skipped = unsupported(&p);
    if !skipped.is_empty() {
        eprintln!("Ignoring unsupported options: {}\n", skipped.join(", "));
    }
    // Refused before anything is made: an external network that is not there.
    let mut needed: Vec<String> = p
        .services
        .values()
        .flat_map(|s| s.networks.keys().cloned())
        .collect();
    needed.sort();
    needed.dedup();
    for nk in &needed {
        let Some(n) = p.networks.get(nk) else {
            continue;
        };
        if n.external {
            let name = if n.name.is_empty() { nk } else { &n.name };
            match c.get_typed::<NetworkInspect>(&format!("/networks/{}", q(name))) {
                Ok(v) if v.scope == "swarm" => {}
                Ok(_) => {
                    return Err(fail(format!(
                        "network \"{name}\" is declared as external, but it is not in the right scope: \"local\" instead of \"swarm\""
                    )))
                }
                Err(_) => {
                    return Err(fail(format!(
                        "network \"{name}\" is declared as external, but could not be found. You need to create a swarm-scoped network before the stack is deployed"
                    )))
                }
            }
        }
    }
    // Services of the stack no longer in the files.
    let existing: Vec<sw::Service> = c.get_typed(&format!("/services{}", ns_filter(&ns)?))?;
    if o.prune {
        let wanted: Vec<String> = p.services.keys().map(|k| format!("{ns}_{k}")).collect();
        for svc in &existing {
            let name = &svc.spec.name;
            if !wanted.contains(name) {
                println!("Removing service {name}");
                c.call("DELETE", &format!("/services/{}", q(&svc.id)), Body::None)?
                    .bytes()?;
            }
        }
    }
    // Networks.
    let have: Vec<NetworkInspect> = c.get_typed(&format!("/networks{}", ns_filter(&ns)?))?;
    let have: Vec<String> = have.into_iter().map(|n| n.name).collect();
    for nk in &needed {
        let n = p.networks.get(nk).cloned().unwrap_or_default();
        if n.external {
            continue;
        }
        let name = if n.name.is_empty() {
            format!("{ns}_{nk}")
        } else {
            n.name.clone()
        };
        if have.contains(&name) {
            continue;
        }
        let body = network_create_body(&ns, &name, &n);
        println!("Creating network {name}");
        c.post_typed::<NetworkCreateResponse>("/networks/create", Body::typed(&body)?)
            .map_err(|e| fail(format!("failed to create network {name}: {}", e.message())))?;
    }
    // Secrets and configs: created, or updated when they exist (labels only).
    let mut refs = Refs {
        secrets: BTreeMap::new(),
        configs: BTreeMap::new(),
    };
    for (kind, top, ids) in [
        ("secret", &p.secrets, &mut refs.secrets),
        ("config", &p.configs, &mut refs.configs),
    ] {
        let path = format!("/{kind}s");
        for (key, obj) in top {
            let name = if obj.name.is_empty() {
                if obj.external {
                    key.clone()
                } else {
                    format!("{ns}_{key}")
                }
            } else {
                obj.name.clone()
            };
            if obj.external {
                match c.get_typed::<sw::Secret>(&format!("{path}/{}", q(&name))) {
                    Ok(v) => {
                        ids.insert(name, v.id);
                    }
                    Err(_) => {
                        return Err(fail(format!("{kind} not found: {name}")));
                    }
                }
                continue;
            }
            if !obj.driver.is_empty() || !obj.template_driver.is_empty() {
                return Err(fail(format!(
                    "{kind} {key}: drivers and templates are not supported by berth"
                )));
            }
            let data = file_data(kind, key, obj)?;
            let spec = serde_json::to_value(object_spec(&name, &ns, &obj.labels, data))
                .map_err(|e| fail(e.to_string()))?;
            // A config has a secret's shape (berth-api's `Config` is `Secret`).
            match c.get_typed::<sw::Secret>(&format!("{path}/{}", q(&name))) {
                Ok(v) => {
                    println!("Updating {kind} {name}");
                    let ver = v.meta.version.index;
                    let id = v.id;
                    c.call(
                        "POST",
                        &format!("{path}/{}/update?version={ver}", q(&id)),
                        Body::Json(spec),
                    )
                    .and_then(|r| r.bytes())
                    .map_err(|e| {
                        fail(format!("failed to update {kind} {name}: {}", e.message()))
                    })?;
                    ids.insert(name, id);
                }
                Err(_) => {
                    println!("Creating {kind} {name}");
                    let v: sw::IdResponse = c
                        .post_typed(&format!("{path}/create"), Body::Json(spec))
                        .map_err(|e| {
                            fail(format!("failed to create {kind} {name}: {}", e.message()))
                        })?;
                    ids.insert(name, v.id);
                }
            }
        }
    }
    // Services.
    let auth_client = |image: &str| {
        if o.with_registry_auth {
            berth_cli::commands::registry::authed(&c, image)
        } else {
            c.clone()
        }
    };
    let mut ids = Vec::new();
    for (key, svc) in &p.services {
        let spec = convert_service(&ns, key, svc, &p, &refs)?;
        let name = spec.name.clone();
        let body = serde_json::to_value(&spec).map_err(|e| fail(e.to_string()))?;
        let cl = auth_client(&svc.image);
        if o.resolve_image != "never" {
            let img = &svc.image;
            // Only whether the registry answered matters here, not what.
            if cl
                .get_typed::<serde::de::IgnoredAny>(&format!("/distribution/{}/json", q(img)))
                .is_err()
            {
                eprintln!("image {img} could not be accessed on a registry to record\nits digest. Each node will access {img} independently,\npossibly leading to different nodes running different\nversions of the image.\n");
            }
        }
        match existing.iter().find(|e| e.spec.name == name) {
            Some(cur) => {
                let id = cur.id.clone();
                println!("Updating service {name} (id: {id})");
                let ver = cur.meta.version.index;
                cl.call(
                    "POST",
                    &format!("/services/{}/update?version={ver}", q(&id)),
                    Body::Json(body),
                )
                .and_then(|r| r.bytes())
                .map_err(|e| fail(format!("failed to update service {name}: {}", e.message())))?;
                ids.push(id);
            }
            None => {
                println!("Creating service {name}");
                let v: sw::ServiceCreateResponse = cl
                    .post_typed("/services/create", Body::Json(body))
                    .map_err(|e| {
                        fail(format!("failed to create service {name}: {}", e.message()))
                    })?;
                ids.push(v.id);
            }
        }
    }
    if o.detach == Some(false) {
        for id in &ids {
            service_progress::follow(&c, id, o.quiet)?;
        }
    }
    Ok(0)
}

/// `stack config`: the merged compose files as YAML.
fn config(_ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: ConfigCmd = parse(inv, args)?;
    inv.none(&o.args)?;
    let opts = crate::LoadOptions {
        files: o.compose_file.clone(),
        interpolate: !o.skip_interpolation,
        ..Default::default()
    };
    let loaded = crate::load(&opts).map_err(|e| fail(e.to_string()))?;
    print!("{}", crate::config_yaml(&loaded.project, false));
    Ok(0)
}

/// `stack ls`: the stacks, from their services' labels.
fn ls(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: LsCmd = parse(inv, args)?;
    inv.none(&o.args)?;
    let c = ctx.client()?;
    let f = filters_json(&[NS_LABEL.to_string()].map(|l| format!("label={l}")))
        .map_err(fail)?
        .unwrap_or_default();
    let svcs: Vec<sw::Service> = c.get_typed(&format!(
        "/services{}",
        query(&[format!("filters={}", q(&f))])
    ))?;
    let mut stacks: BTreeMap<String, usize> = BTreeMap::new();
    for svc in svcs {
        let ns = svc.spec.labels.get(NS_LABEL).cloned().unwrap_or_default();
        *stacks.entry(ns).or_default() += 1;
    }
    let rows: Vec<Value> = stacks
        .iter()
        .map(|(n, c)| json!({"Name": n, "Services": c.to_string(), "Orchestrator": "Swarm"}))
        .collect();
    let fmt = o.format.as_deref().unwrap_or("table");
    berth_cli::format::render_list(
        &mut std::io::stdout(),
        fmt,
        "table {{.Name}}\t{{.Services}}",
        &[("Name", "NAME"), ("Services", "SERVICES")],
        &rows
            .iter()
            .map(berth_cli::format::from_json)
            .collect::<Vec<_>>(),
    )
    .map_err(|e| fail(e.to_string()))?;
    Ok(0)
}

fn has_services(ctx: &mut Ctx, ns: &str) -> Result<bool, Failure> {
    let v: Vec<sw::Service> = ctx
        .client()?
        .get_typed(&format!("/services{}", ns_filter(ns)?))?;
    Ok(!v.is_empty())
}

/// `stack services`: `service ls` of the stack's services.
fn services(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: ServicesCmd = parse(inv, args)?;
    inv.exactly(&o.args, 1)?;
    let ns = &o.args[0];
    if !has_services(ctx, ns)? {
        eprintln!("Nothing found in stack: {ns}");
        return Ok(0);
    }
    let mut a = vec!["--filter".to_string(), format!("label={NS_LABEL}={ns}")];
    for f in &o.filter {
        a.extend(["--filter".to_string(), f.clone()]);
    }
    if o.quiet {
        a.push("-q".into());
    }
    if let Some(f) = &o.format {
        a.extend(["--format".to_string(), f.clone()]);
    }
    swarm::run("service", "ls", ctx, &a)
}

/// `stack ps`: `service ps` of the stack's tasks.
fn ps(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: PsCmd = parse(inv, args)?;
    inv.exactly(&o.args, 1)?;
    let ns = &o.args[0];
    let c = ctx.client()?;
    let svcs: Vec<sw::Service> = c.get_typed(&format!("/services{}", ns_filter(ns)?))?;
    let names: Vec<String> = svcs.into_iter().map(|v| v.spec.name).collect();
    if names.is_empty() {
        return Err(fail(format!("nothing found in stack: {ns}")));
    }
    let mut a = Vec::new();
    for f in &o.filter {
        a.extend(["--filter".to_string(), f.clone()]);
    }
    if o.quiet {
        a.push("-q".into());
    }
    if o.no_trunc {
        a.push("--no-trunc".into());
    }
    if let Some(f) = &o.format {
        a.extend(["--format".to_string(), f.clone()]);
    }
    a.extend(names);
    swarm::run("service", "ps", ctx, &a)
}

/// `stack rm`: services, secrets, configs, then networks of each stack.
fn rm(ctx: &mut Ctx, inv: &Invocation, args: &[String]) -> CmdResult {
    let o: RmCmd = parse(inv, args)?;
    inv.at_least(&o.args, 1)?;
    let c = ctx.client()?.clone();
    let mut errs = Vec::new();
    for ns in &o.args {
        let f = ns_filter(ns)?;
        let mut svcs: Vec<sw::Service> = c.get_typed(&format!("/services{f}"))?;
        let secrets: Vec<sw::Secret> = c.get_typed(&format!("/secrets{f}"))?;
        let configs: Vec<sw::Config> = c.get_typed(&format!("/configs{f}"))?;
        let mut nets: Vec<NetworkInspect> = c.get_typed(&format!("/networks{f}"))?;
        if svcs.is_empty() && secrets.is_empty() && configs.is_empty() && nets.is_empty() {
            eprintln!("Nothing found in stack: {ns}");
            continue;
        }
        svcs.sort_by(|a, b| a.spec.name.cmp(&b.spec.name));
        for v in &svcs {
            let name = &v.spec.name;
            println!("Removing service {name}");
            if let Err(e) = c
                .call("DELETE", &format!("/services/{}", q(&v.id)), Body::None)
                .and_then(|r| r.bytes())
            {
                errs.push(format!("Failed to remove service {name}: {}", e.message()));
            }
        }
        for (kind, objs) in [("secret", &secrets), ("config", &configs)] {
            let mut objs: Vec<&sw::Secret> = objs.iter().collect();
            objs.sort_by(|a, b| a.spec.name.cmp(&b.spec.name));
            for v in objs {
                let name = &v.spec.name;
                println!("Removing {kind} {name}");
                if let Err(e) = c
                    .call("DELETE", &format!("/{kind}s/{}", q(&v.id)), Body::None)
                    .and_then(|r| r.bytes())
                {
                    errs.push(format!("Failed to remove {kind} {name}: {}", e.message()));
                }
            }
        }
        nets.sort_by(|a, b| a.name.cmp(&b.name));
        for v in &nets {
            let name = &v.name;
            println!("Removing network {name}");
            if let Err(e) = c
                .call("DELETE", &format!("/networks/{}", q(&v.id)), Body::None)
                .and_then(|r| r.bytes())
            {
                errs.push(format!("Failed to remove network {name}: {}", e.message()));
            }
        }
        if o.detach == Some(false) {
            // Until the stack's tasks are gone.
            let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
            loop {
                let t: Vec<sw::Task> = c.get_typed(&format!("/tasks{f}"))?;
                if t.is_empty() {
                    break;
                }
                if std::time::Instant::now() > deadline {
                    errs.push(format!(
                        "timed out waiting for the tasks of stack {ns} to go"
                    ));
                    break;
                }
                std::thread::sleep(std::time::Duration::from_millis(200));
            }
        }
    }
    join_errors(errs)
}

/// A stack network's create body: swarm scope, overlay by default, every IPAM pool
/// field written (empty or not).
fn network_create_body(ns: &str, name: &str, n: &cm::Network) -> NetworkCreateBody {
    NetworkCreateBody {
        name: name.to_string(),
        driver: if n.driver.is_empty() {
            "overlay".to_string()
        } else {
            n.driver.clone()
        },
        options: n.driver_opts.clone(),
        labels: ns_labels(ns, &n.labels),
        internal: n.internal,
        attachable: n.attachable,
        scope: Some("swarm".into()),
        ipam: (!n.ipam.is_empty()).then(|| NetworkIpam {
            driver: if n.ipam.driver.is_empty() {
                "default".to_string()
            } else {
                n.ipam.driver.clone()
            },
            config: n
                .ipam
                .config
                .iter()
                .map(|c| NetworkIpamConfig {
                    subnet: Some(c.subnet.clone()),
                    gateway: Some(c.gateway.clone()),
                    ip_range: Some(c.ip_range.clone()),
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }),
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Same keys and values as the json! body it replaces; the key order is the model's.
    #[test]
    fn typed_network_body_sends_the_same_values() {
        let mut n = cm::Network::default();
        for with_ipam in [false, true] {
            if with_ipam {
                n.driver_opts.insert("o".into(), "1".into());
                n.labels.insert("l".into(), "2".into());
                n.internal = true;
                n.ipam.config.push(cm::IpamPool {
                    subnet: "10.9.0.0/24".into(),
                    ..Default::default()
                });
            }
            let (ns, name) = ("st", "st_net");
            let driver = if n.driver.is_empty() {
                "overlay".to_string()
            } else {
                n.driver.clone()
            };
            let mut old = json!({
                "Name": name,
                "Driver": driver,
                "Options": n.driver_opts,
                "Labels": ns_labels(ns, &n.labels),
                "Internal": n.internal,
                "Attachable": n.attachable,
                "Scope": "swarm",
            });
            if !n.ipam.is_empty() {
                old["IPAM"] = json!({
                    "Driver": if n.ipam.driver.is_empty() { "default" } else { &n.ipam.driver },
                    "Config": n.ipam.config.iter().map(|c| json!({
                        "Subnet": c.subnet, "Gateway": c.gateway, "IPRange": c.ip_range,
                    })).collect::<Vec<_>>(),
                });
            }
            let typed = serde_json::to_value(network_create_body(ns, name, &n)).unwrap();
            assert_eq!(typed, old, "ipam: {with_ipam}");
        }
    }

    #[test]
    fn names_and_restart_policies() {
        assert!(check_name("my_app").is_ok());
        assert!(check_name("-x").is_ok(), "docker checks emptiness only");
        assert!(check_name(" ").is_err());
        assert!(check_name("\"'\"").is_err());
        let mut s = cm::Service {
            restart: "on-failure:3".into(),
            ..Default::default()
        };
        let r = restart_policy(&s).unwrap().unwrap();
        assert_eq!(
            (r.condition.as_str(), r.max_attempts),
            ("on-failure", Some(3))
        );
        s.restart = "unless-stopped".into();
        assert_eq!(restart_policy(&s).unwrap().unwrap().condition, "any");
        s.restart = "no".into();
        assert!(restart_policy(&s).unwrap().is_none());
        s.restart = "sometimes".into();
        assert!(restart_policy(&s).is_err());
    }

    /// A service's mounts as `convert_service` built their options with json! maps: the
    /// typed options hold the same values (in moby's field order, as docker stack deploy
    /// writes them), and an options object is sent exactly when one was before.
    #[test]
    fn typed_mount_options_hold_the_same_values() {
        let mut p = Project::default();
        let mut top = cm::Volume {
            driver: "local".into(),
            ..Default::default()
        };
        top.labels.insert("l".into(), "1".into());
        top.driver_opts.insert("type".into(), "tmpfs".into());
        p.volumes.insert("data".into(), top);
        p.volumes.insert(
            "ext".into(),
            cm::Volume {
                external: true,
                name: "outside".into(),
                ..Default::default()
            },
        );
        let vol = |kind: &str, source: &str| cm::ServiceVolume {
            kind: kind.into(),
            source: source.into(),
            target: "/t".into(),
            ..Default::default()
        };
        let mut nocopy = vol("volume", "data");
        nocopy.volume = Some(cm::VolumeVolume {
            nocopy: true,
            ..Default::default()
        });
        let mut bind = vol("bind", "/srv");
        bind.bind = Some(cm::VolumeBind {
            propagation: "rslave".into(),
            ..Default::default()
        });
        let mut tmpfs = vol("tmpfs", "");
        tmpfs.tmpfs = Some(cm::VolumeTmpfs {
            size: Some(cm::Bytes(0)),
            mode: 0o700,
            ..Default::default()
        });
        let cases = [
            (
                vol("volume", "data"),
                json!({"Type":"volume","Source":"st_data","Target":"/t","VolumeOptions":{"Labels":{"l":"1","com.docker.stack.namespace":"st"},"DriverConfig":{"Name":"local","Options":{"type":"tmpfs"}}}}),
            ),
            (
                nocopy,
                json!({"Type":"volume","Source":"st_data","Target":"/t","VolumeOptions":{"Labels":{"l":"1","com.docker.stack.namespace":"st"},"DriverConfig":{"Name":"local","Options":{"type":"tmpfs"}},"NoCopy":true}}),
            ),
            (
                vol("volume", "ext"),
                json!({"Type":"volume","Source":"outside","Target":"/t"}),
            ),
            (
                vol("", "anon"),
                json!({"Type":"volume","Source":"anon","Target":"/t"}),
            ),
            (
                bind,
                json!({"Type":"bind","Source":"/srv","Target":"/t","BindOptions":{"Propagation":"rslave"}}),
            ),
            (
                tmpfs,
                json!({"Type":"tmpfs","Target":"/t","TmpfsOptions":{"SizeBytes":0,"Mode":0o700}}),
            ),
            (vol("tmpfs", ""), json!({"Type":"tmpfs","Target":"/t"})),
        ];
        for (v, before) in cases {
            let m = service_mount("st", "svc", &v, &p).unwrap();
            let read: sw::Mount = serde_json::from_value(before.clone()).unwrap();
            assert_eq!(m, read, "{before}");
            assert_eq!(
                m.volume_options.is_some(),
                before.get("VolumeOptions").is_some()
            );
            assert_eq!(
                m.tmpfs_options.is_some(),
                before.get("TmpfsOptions").is_some()
            );
        }
        assert!(service_mount("st", "svc", &vol("npipe", "x"), &p).is_err());
    }

    /// A stack's secret/config spec: the same bytes as the json! body (Data in base64).
    #[test]
    fn typed_object_spec_sends_the_same_bytes() {
        let mut labels = cm::Mapping::new();
        labels.insert("a".into(), "1".into());
        let data = b"s3cret\n".to_vec();
        let before = json!({
            "Name": "st_pw",
            "Labels": ns_labels("st", &labels),
            "Data": base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &data),
        });
        let typed = serde_json::to_value(object_spec("st_pw", "st", &labels, data)).unwrap();
        assert_eq!(
            serde_json::to_string(&typed).unwrap(),
            serde_json::to_string(&before).unwrap()
        );
    }
}
