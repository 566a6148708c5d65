//! Which sysctls a container may set: the namespaced keys the docker CLI lets through
//! (`opts.ValidateSysctl`) and runc checks again against the container's namespaces. One
//! list, so the CLI's flag check (`run`/`create`, `service create`) and the engine's
//! spec agree.

/// The IPC-namespaced `kernel.*` keys (docker CLI's `validSysctlMap`, runc's `namespaces`).
pub const IPC_KEYS: &[&str] = &[
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// The IPC-namespaced prefix besides [`IPC_KEYS`].
pub const IPC_PREFIX: &str = "fs.mqueue.";

/// The network-namespaced prefix.
pub const NET_PREFIX: &str = "net.";

/// A key in the container's IPC namespace: one of [`IPC_KEYS`] or below [`IPC_PREFIX`].
pub fn is_ipc(key: &str) -> bool {
    IPC_KEYS.contains(&key) || key.starts_with(IPC_PREFIX)
}

/// A key in the container's network namespace.
pub fn is_net(key: &str) -> bool {
    key.starts_with(NET_PREFIX)
}

/// A key the docker CLI accepts for `--sysctl` (IPC or network; the UTS keys are left to
/// the daemon, as the CLI does).
pub fn is_namespaced(key: &str) -> bool {
    is_ipc(key) || is_net(key)
}

/// `--sysctl KEY=VALUE` as the docker CLI's `opts.ValidateSysctl`: a `=` and a key
/// [`is_namespaced`]; the whole option comes back unchanged.
pub fn validate(opt: &str) -> Result<String, String> {
    match opt.split_once('=') {
        Some((key, _)) if is_namespaced(key) => Ok(opt.to_string()),
        _ => Err(format!("sysctl '{opt}' is not allowed")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_docker_cli_list() {
        for ok in [
            "kernel.msgmax=1",
            "kernel.shm_rmid_forced=1",
            "fs.mqueue.msg_max=20",
            "net.ipv4.ip_forward=1",
            "net.core.somaxconn=1=2",
            "kernel.sem=",
        ] {
            assert_eq!(validate(ok).as_deref(), Ok(ok), "{ok}");
        }
        for bad in [
            "kernel.foo=1",
            "kernel.hostname=x",
            "net.ipv4.ip_forward",
            "vm.swappiness=1",
            "=1",
            "",
        ] {
            assert_eq!(
                validate(bad),
                Err(format!("sysctl '{bad}' is not allowed")),
                "{bad}"
            );
        }
        assert!(is_ipc("fs.mqueue.queues_max") && is_ipc("kernel.sem"));
        assert!(!is_ipc("net.ipv4.ping_group_range") && is_net("net.ipv4.ping_group_range"));
        assert!(!is_namespaced("kernel.domainname"));
    }
}
