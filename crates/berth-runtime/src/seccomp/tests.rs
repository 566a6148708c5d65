//! Unit tests of the profile conversion, the compiler and the loader.

use super::*;
use oci_spec::runtime::Arch;

fn caps(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| s.to_string()).collect()
}

pub(super) const DOCKER_DEFAULT_CAPS: &[&str] = &[
    "CAP_CHOWN",
    "CAP_DAC_OVERRIDE",
    "CAP_FSETID",
    "CAP_FOWNER",
    "CAP_MKNOD",
    "CAP_NET_RAW",
    "CAP_SETGID",
    "CAP_SETUID",
    "CAP_SETFCAP",
    "CAP_SETPCAP",
    "CAP_NET_BIND_SERVICE",
    "CAP_SYS_CHROOT",
    "CAP_KILL",
    "CAP_AUDIT_WRITE",
];

fn convert(arch: &str, c: &[&str]) -> LinuxSeccomp {
    let c = caps(c);
    profile::to_oci(
        builtin(),
        &Target {
            arch,
            kernel: (6, 1),
            caps: &c,
        },
    )
    .unwrap()
    .unwrap()
}

fn rules_for<'a>(s: &'a LinuxSeccomp, name: &str) -> Vec<&'a oci_spec::runtime::LinuxSyscall> {
    s.syscalls()
        .iter()
        .flatten()
        .filter(|r| r.names().iter().any(|n| n == name))
        .collect()
}

#[test]
fn builtin_default_caps_on_amd64() {
    let s = convert("amd64", DOCKER_DEFAULT_CAPS);
    assert_eq!(s.default_action(), LinuxSeccompAction::ScmpActErrno);
    assert_eq!(s.default_errno_ret(), Some(1));
    assert_eq!(
        s.architectures().clone().unwrap(),
        vec![Arch::ScmpArchX86_64, Arch::ScmpArchX86, Arch::ScmpArchX32]
    );
    for name in [
        "read",
        "execve",
        "mkdir",
        "arch_prctl",
        "chroot",
        "ptrace",
        "io_uring_setup",
    ] {
        assert!(profile::allows(&s, name), "{name} should be allowed");
    }
    // CAP_SYS_ADMIN, CAP_SYS_TIME, CAP_SYS_MODULE ... syscalls are not.
    for name in [
        "mount",
        "unshare",
        "setns",
        "reboot",
        "init_module",
        "settimeofday",
        "bpf",
        "keyctl",
        "add_key",
    ] {
        assert!(!profile::allows(&s, name), "{name} should be denied");
        assert!(rules_for(&s, name).is_empty(), "{name} has a rule");
    }
    // clone: only without namespace flags; clone3: ENOSYS; socket: not AF_VSOCK.
    let clone = rules_for(&s, "clone");
    assert_eq!(clone.len(), 1);
    let arg = clone[0].args().clone().unwrap()[0];
    assert_eq!(arg.index(), 0);
    assert_eq!(arg.value(), 0x7E02_0000);
    assert_eq!(arg.op(), LinuxSeccompOperator::ScmpCmpMaskedEq);
    let clone3 = rules_for(&s, "clone3");
    assert_eq!(clone3.len(), 1);
    assert_eq!(clone3[0].action(), LinuxSeccompAction::ScmpActErrno);
    assert_eq!(clone3[0].errno_ret(), Some(38));
    let socket = rules_for(&s, "socket");
    assert_eq!(socket[0].args().clone().unwrap()[0].value(), 40);
    assert_eq!(rules_for(&s, "personality").len(), 5);
    // Architecture rules of other families are left out.
    assert!(rules_for(&s, "s390_runtime_instr").is_empty());
    assert!(rules_for(&s, "set_tls").is_empty());
}

#[test]
fn capabilities_unlock_their_syscalls() {
    let mut c: Vec<&str> = DOCKER_DEFAULT_CAPS.to_vec();
    c.extend(["CAP_SYS_ADMIN", "CAP_SYS_TIME", "CAP_SYS_PTRACE"]);
    let s = convert("amd64", &c);
    for name in [
        "mount",
        "unshare",
        "setns",
        "clone",
        "clone3",
        "settimeofday",
        "kcmp",
    ] {
        assert!(profile::allows(&s, name), "{name} should be allowed");
    }
    // With CAP_SYS_ADMIN neither clone restriction applies.
    assert!(rules_for(&s, "clone3")
        .iter()
        .all(|r| r.action() == LinuxSeccompAction::ScmpActAllow));
    assert!(rules_for(&s, "clone").iter().all(|r| r.args().is_none()));
    // Without CAP_SYS_CHROOT, no chroot.
    let s = convert("amd64", &["CAP_CHOWN"]);
    assert!(!profile::allows(&s, "chroot"));
}

#[test]
fn other_architectures() {
    let s = convert("s390x", DOCKER_DEFAULT_CAPS);
    assert_eq!(
        s.architectures().clone().unwrap(),
        vec![Arch::ScmpArchS390x, Arch::ScmpArchS390]
    );
    let clone = rules_for(&s, "clone");
    assert_eq!(clone.len(), 1);
    assert_eq!(clone[0].args().clone().unwrap()[0].index(), 1);
    assert!(profile::allows(&s, "s390_runtime_instr"));
    assert!(!profile::allows(&s, "arch_prctl"));
    let s = convert("arm64", DOCKER_DEFAULT_CAPS);
    assert_eq!(
        s.architectures().clone().unwrap(),
        vec![Arch::ScmpArchAarch64, Arch::ScmpArchArm]
    );
    assert!(profile::allows(&s, "set_tls"));
}

#[test]
fn min_kernel() {
    let c = caps(DOCKER_DEFAULT_CAPS);
    let old = profile::to_oci(
        builtin(),
        &Target {
            arch: "amd64",
            kernel: (4, 4),
            caps: &c,
        },
    )
    .unwrap()
    .unwrap();
    assert!(!profile::allows(&old, "ptrace"));
}

#[test]
fn custom_profiles() {
    let text = r#"{"defaultAction":"SCMP_ACT_ALLOW","unknownField":1,
        "syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","comment":"x"},
                    {"name":"chmod","action":"SCMP_ACT_ERRNO","errnoRet":13,
                     "includes":{"caps":["CAP_SYS_ADMIN"]}}]}"#;
    let p = Profile::parse(text).unwrap();
    let c = caps(DOCKER_DEFAULT_CAPS);
    let t = Target {
        arch: "amd64",
        kernel: (6, 1),
        caps: &c,
    };
    let s = profile::to_oci(&p, &t).unwrap().unwrap();
    assert_eq!(s.default_action(), LinuxSeccompAction::ScmpActAllow);
    assert_eq!(s.syscalls().as_ref().unwrap().len(), 1);
    assert!(s.architectures().as_ref().unwrap().is_empty());
    // No default action and no rules: no filter at all.
    assert!(profile::to_oci(&Profile::parse("{}").unwrap(), &t)
        .unwrap()
        .is_none());
    let e = Profile::parse("{").unwrap_err().to_string();
    assert!(e.starts_with("decoding seccomp profile failed"), "{e}");
    let e = Profile::parse(r#"{"defaultAction":"SCMP_ACT_BOGUS"}"#)
        .unwrap_err()
        .to_string();
    assert!(e.starts_with("decoding seccomp profile failed"), "{e}");
    let both = r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"name":"a","names":["b"],"action":"SCMP_ACT_ERRNO"}]}"#;
    let e = profile::to_oci(&Profile::parse(both).unwrap(), &t)
        .unwrap_err()
        .to_string();
    assert!(e.contains("both 'name' and 'names'"), "{e}");
    let both = r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64"],"archMap":[{"architecture":"SCMP_ARCH_X86_64"}]}"#;
    let e = profile::to_oci(&Profile::parse(both).unwrap(), &t)
        .unwrap_err()
        .to_string();
    assert!(e.contains("both 'architectures' and 'archMap'"), "{e}");
}

#[test]
fn choices() {
    let c = caps(DOCKER_DEFAULT_CAPS);
    assert!(linux_seccomp(&Choice::Builtin, true, &c).unwrap().is_none());
    assert!(linux_seccomp(&Choice::Unconfined, false, &c)
        .unwrap()
        .is_none());
    assert!(linux_seccomp(&Choice::Builtin, false, &c)
        .unwrap()
        .is_some());
}

#[test]
fn compiles_and_caches() {
    let s = convert(profile::host_arch(), DOCKER_DEFAULT_CAPS);
    let bpf = compile(&s).unwrap();
    assert!(bpf.len() > 8 * 100, "{}", bpf.len());
    let dir = tempfile::tempdir().unwrap();
    let cache = BpfCache::new(dir.path().join("seccomp"));
    let mut spec = Spec::default();
    let mut linux = spec.linux().clone().unwrap_or_default();
    linux.set_seccomp(Some(s));
    spec.set_linux(Some(linux));
    cache.attach(&mut spec).unwrap();
    let path = spec.annotations().as_ref().unwrap()[BPF_ANNOTATION].clone();
    assert_eq!(std::fs::read(&path).unwrap(), bpf);
    // A second container with the same filter reuses the file.
    let mut again = spec.clone();
    again.set_annotations(None);
    cache.attach(&mut again).unwrap();
    assert_eq!(again.annotations().as_ref().unwrap()[BPF_ANNOTATION], path);
    assert_eq!(
        std::fs::read_dir(dir.path().join("seccomp"))
            .unwrap()
            .count(),
        1
    );
    let prog = Program::for_spec(&spec).unwrap().unwrap();
    assert_eq!(prog.len() * 8, bpf.len());
}

/// The daemon remembers the filters it named a file for: an equal filter (the next
/// container with the same capabilities) gets the same file without being serialized and
/// hashed again, so even a file removed meanwhile is not looked for (as before, when the
/// digest was remembered); a different filter (other capabilities) gets a file of its own.
/// The builtin profile converted for a capability set is remembered too, and equal to a
/// fresh conversion.
#[test]
fn cache_remembers_the_filters_it_named() {
    let dir = tempfile::tempdir().unwrap();
    let cache = BpfCache::new(dir.path().join("seccomp"));
    let attach = |s: &LinuxSeccomp| {
        let mut spec = Spec::default();
        let mut linux = spec.linux().clone().unwrap_or_default();
        linux.set_seccomp(Some(s.clone()));
        spec.set_linux(Some(linux));
        cache.attach(&mut spec).unwrap();
        PathBuf::from(&spec.annotations().as_ref().unwrap()[BPF_ANNOTATION])
    };
    let default = convert(profile::host_arch(), DOCKER_DEFAULT_CAPS);
    let admin = convert(profile::host_arch(), &["CAP_SYS_ADMIN"]);
    let a = attach(&default);
    let b = attach(&admin);
    assert_ne!(a, b);
    assert!(a.is_file() && b.is_file());
    std::fs::remove_file(&a).unwrap();
    assert_eq!(attach(&default.clone()), a);
    assert!(!a.exists(), "named from memory, not compiled again");
    // A new cache (a restarted daemon) knows nothing: it compiles the file again.
    let fresh = BpfCache::new(dir.path().join("seccomp"));
    let mut spec = Spec::default();
    let mut linux = spec.linux().clone().unwrap_or_default();
    linux.set_seccomp(Some(default.clone()));
    spec.set_linux(Some(linux));
    fresh.attach(&mut spec).unwrap();
    assert!(a.is_file());

    let c = caps(DOCKER_DEFAULT_CAPS);
    let once = linux_seccomp(&Choice::Builtin, false, &c).unwrap().unwrap();
    let again = linux_seccomp(&Choice::Builtin, false, &c).unwrap().unwrap();
    let target = Target {
        arch: profile::host_arch(),
        kernel: host_kernel(),
        caps: &c,
    };
    assert_eq!(once, again);
    assert_eq!(Some(once), profile::to_oci(builtin(), &target).unwrap());
    let other = linux_seccomp(&Choice::Builtin, false, &caps(&["CAP_SYS_ADMIN"]))
        .unwrap()
        .unwrap();
    assert!(profile::allows(&other, "mount"));
    assert!(!profile::allows(&again, "mount"));
}

/// Loads a filter denying mkdir in a forked child: mkdir fails with EPERM, rmdir works.
#[test]
fn loaded_filter_denies() {
    let p = Profile::parse(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}"#,
    )
    .unwrap();
    let c = caps(&[]);
    let s = profile::to_oci(
        &p,
        &Target {
            arch: profile::host_arch(),
            kernel: (6, 1),
            caps: &c,
        },
    )
    .unwrap()
    .unwrap();
    let prog = Program::from_bytes(&compile(&s).unwrap()).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let target = std::ffi::CString::new(dir.path().join("x").to_str().unwrap()).unwrap();
    // SAFETY: raw syscalls only, in the forked child.
    assert_child_with_filter_passes(&prog, || unsafe {
        let r = libc::mkdir(target.as_ptr(), 0o755);
        let errno = *libc::__errno_location();
        if r == 0 {
            11
        } else if errno == libc::EPERM {
            0
        } else {
            12
        }
    });
    assert!(!dir.path().join("x").exists());
}

/// The builtin profile compiles to a binary search on the syscall number (libseccomp's
/// binary tree, made smaller by `compact`), which keeps each exec's seccomp(2) cheap
/// (module doc): a linear chain has no "greater or equal" jumps on the number and 983
/// instructions, this has over a hundred of them and under 400 instructions in all. And it
/// still decides as Docker's profile: in a forked child with it loaded, getppid works,
/// personality(0xffffffff) (an argument rule) works, mount (CAP_SYS_ADMIN only) fails with
/// EPERM where the host would say ENOENT, and personality(1) (not in the argument rule)
/// fails with EPERM.
#[test]
fn builtin_program_is_a_tree_and_enforces() {
    let s = convert(profile::host_arch(), DOCKER_DEFAULT_CAPS);
    let prog = Program::from_bytes(&compile(&s).unwrap()).unwrap();
    const JGE_K: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
    let jge = prog.0.iter().filter(|i| i.code == JGE_K).count();
    assert!(jge > 100, "{jge} JGE in {} instructions", prog.len());
    assert!(prog.len() < 400, "{} instructions", prog.len());

    let target = std::ffi::CString::new("/nonexistent-berth-seccomp-probe").unwrap();
    // SAFETY: raw syscalls only, in the forked child.
    assert_child_with_filter_passes(&prog, || unsafe {
        let errno = || *libc::__errno_location();
        if libc::getppid() <= 0 {
            return 11;
        }
        if libc::personality(0xffff_ffff) < 0 {
            return 12;
        }
        let r = libc::mount(
            std::ptr::null(),
            target.as_ptr(),
            std::ptr::null(),
            libc::MS_REMOUNT,
            std::ptr::null(),
        );
        if r == 0 || errno() != libc::EPERM {
            return 13;
        }
        if libc::personality(1) >= 0 || errno() != libc::EPERM {
            return 14;
        }
        0
    });
}

/// Forks a child that sets no_new_privs, loads `prog` (exit 10 if it cannot) and exits
/// with what `probe` returns; asserts that the child exited 0.
fn assert_child_with_filter_passes(prog: &Program, probe: impl FnOnce() -> i32) {
    // SAFETY: the child only makes raw syscalls (the probe's) and _exits.
    match unsafe { nix::unistd::fork() }.unwrap() {
        nix::unistd::ForkResult::Child => {
            let code = unsafe {
                libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
                if prog.load().is_err() {
                    10
                } else {
                    probe()
                }
            };
            unsafe { libc::_exit(code) }
        }
        nix::unistd::ForkResult::Parent { child } => {
            let st = nix::sys::wait::waitpid(child, None).unwrap();
            assert_eq!(st, nix::sys::wait::WaitStatus::Exited(child, 0));
        }
    }
}

/// An exec's filter loaded with `load_held` (module doc, "Who frees an exec's filter"): the
/// child gets a seccomp listener and the filter still decides as without it (mount EPERM,
/// getppid allowed); the listener, passed to the parent, keeps referring to the filter
/// after the child exited: polling it reports the hang-up of a filter with no task left.
#[test]
fn held_filter_enforces_and_its_listener_outlives_the_process() {
    use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};
    use std::io::{IoSlice, IoSliceMut};
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    let s = convert(profile::host_arch(), DOCKER_DEFAULT_CAPS);
    let prog = Program::from_bytes(&compile(&s).unwrap()).unwrap();
    let (ours, theirs) = std::os::unix::net::UnixStream::pair().unwrap();
    let target = std::ffi::CString::new("/nonexistent-berth-seccomp-probe").unwrap();
    // SAFETY: the child makes raw syscalls and _exits.
    match unsafe { nix::unistd::fork() }.unwrap() {
        nix::unistd::ForkResult::Child => {
            let code = unsafe {
                libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
                match prog.load_held() {
                    Err(_) => 10,
                    Ok(None) => 11,
                    Ok(Some(listener)) => {
                        let r = libc::mount(
                            std::ptr::null(),
                            target.as_ptr(),
                            std::ptr::null(),
                            libc::MS_REMOUNT,
                            std::ptr::null(),
                        );
                        let fds = [listener.as_raw_fd()];
                        if r == 0 || *libc::__errno_location() != libc::EPERM {
                            12
                        } else if libc::getppid() <= 0 {
                            13
                        } else if sendmsg::<()>(
                            theirs.as_raw_fd(),
                            &[IoSlice::new(b"L")],
                            &[ControlMessage::ScmRights(&fds)],
                            MsgFlags::empty(),
                            None,
                        )
                        .is_err()
                        {
                            14
                        } else {
                            0
                        }
                    }
                }
            };
            unsafe { libc::_exit(code) }
        }
        nix::unistd::ForkResult::Parent { child } => {
            drop(theirs);
            let st = nix::sys::wait::waitpid(child, None).unwrap();
            assert_eq!(st, nix::sys::wait::WaitStatus::Exited(child, 0));
            let mut buf = [0u8; 8];
            let mut space = nix::cmsg_space!([std::os::fd::RawFd; 1]);
            let mut iov = [IoSliceMut::new(&mut buf)];
            let msg = recvmsg::<()>(
                ours.as_raw_fd(),
                &mut iov,
                Some(&mut space),
                MsgFlags::empty(),
            )
            .unwrap();
            let fd = msg
                .cmsgs()
                .unwrap()
                .find_map(|c| match c {
                    ControlMessageOwned::ScmRights(f) => f.first().copied(),
                    _ => None,
                })
                .expect("the listener");
            // SAFETY: the descriptor just received, ours alone.
            let listener = unsafe { OwnedFd::from_raw_fd(fd) };
            let link =
                std::fs::read_link(format!("/proc/self/fd/{}", listener.as_raw_fd())).unwrap();
            assert_eq!(link.to_str(), Some("anon_inode:seccomp notify"));
            let mut pfd = [libc::pollfd {
                fd: listener.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            }];
            // SAFETY: poll on one valid descriptor.
            let n = unsafe { libc::poll(pfd.as_mut_ptr(), 1, 1000) };
            assert_eq!(n, 1);
            assert_ne!(
                pfd[0].revents & libc::POLLHUP,
                0,
                "revents {:#x}",
                pfd[0].revents
            );
        }
    }
}

#[test]
fn builtin_memo_key_ignores_capability_order() {
    let a = caps(&["CAP_SETUID", "CAP_CHOWN", "CAP_KILL"]);
    let b = caps(&["CAP_KILL", "CAP_SETUID", "CAP_CHOWN"]);
    assert_eq!(caps_key(&a), caps_key(&b));
    assert_eq!(
        &*caps_key(&a),
        &caps(&["CAP_CHOWN", "CAP_KILL", "CAP_SETUID"])[..]
    );
    // Any order converts to the same filter.
    let target = |c| Target {
        arch: "amd64",
        kernel: (6, 1),
        caps: c,
    };
    assert_eq!(
        builtin_for(&a, &target(&a)).expect("a"),
        builtin_for(&b, &target(&b)).expect("b")
    );
}

/// `Program::allows` decides as the loaded filter does (the exec helper asks it whether
/// its children's own steps may run under a container's filter): the builtin program
/// allows chdir, write and a plain clone, and refuses a clone with CLONE_NEWUSER (an
/// argument rule: CAP_SYS_ADMIN only) and mount; a profile denying chdir refuses chdir
/// and allows the rest.
#[test]
fn allows_decides_as_the_filter() {
    let s = convert(profile::host_arch(), DOCKER_DEFAULT_CAPS);
    let builtin = Program::from_bytes(&compile(&s).unwrap()).unwrap();
    assert!(builtin.allows(libc::SYS_chdir, [0; 6]));
    assert!(builtin.allows(libc::SYS_write, [0; 6]));
    let parent = libc::CLONE_PARENT as u64 | libc::SIGCHLD as u64;
    assert!(builtin.allows(libc::SYS_clone, [parent, 0, 0, 0, 0, 0]));
    let newuser = parent | libc::CLONE_NEWUSER as u64;
    assert!(!builtin.allows(libc::SYS_clone, [newuser, 0, 0, 0, 0, 0]));
    assert!(!builtin.allows(libc::SYS_mount, [0; 6]));
    assert!(!builtin.allows(-1, [0; 6]));

    let p = Profile::parse(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["chdir"],"action":"SCMP_ACT_ERRNO"}]}"#,
    )
    .unwrap();
    let c = caps(&[]);
    let target = Target {
        arch: profile::host_arch(),
        kernel: (6, 1),
        caps: &c,
    };
    let s = profile::to_oci(&p, &target).unwrap().unwrap();
    let no_chdir = Program::from_bytes(&compile(&s).unwrap()).unwrap();
    assert!(!no_chdir.allows(libc::SYS_chdir, [0; 6]));
    assert!(no_chdir.allows(libc::SYS_fchdir, [0; 6]));
    assert!(no_chdir.allows(libc::SYS_clone, [parent, 0, 0, 0, 0, 0]));
}
