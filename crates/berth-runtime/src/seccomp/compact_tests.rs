//! The compact program decides exactly as libseccomp's: both run in a classic-BPF
//! interpreter over every syscall number of each architecture the program names (and of
//! one it does not), the x32 range, every constant either program compares with and its
//! neighbours, and, for each syscall whose decision looks at its arguments, the argument
//! values the rules name (and neighbours), one argument at a time and in pseudo-random
//! combinations.

use super::*;
use crate::seccomp::{compile, profile, Profile, Target};

const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
const AUDIT_ARCH_I386: u32 = 0x4000_0003;
const AUDIT_ARCH_AARCH64: u32 = 0xc000_00b7;

/// The interpreter's verdict (`eval::run`) on a program these tests accept as valid.
fn run(prog: &[sock_filter], data: &[u32; 16]) -> (u32, bool) {
    crate::seccomp::eval::run(prog, data).expect("a valid program")
}

/// Every constant of `prog`, and its neighbours.
fn constants(progs: &[&[sock_filter]]) -> Vec<u32> {
    let mut v = vec![0, 1, 0x7fff_ffff, 0x8000_0000, u32::MAX, u32::MAX - 1];
    for p in progs {
        for i in p.iter() {
            v.extend([i.k.wrapping_sub(1), i.k, i.k.wrapping_add(1)]);
        }
    }
    v.sort_unstable();
    v.dedup();
    v
}

/// Checks that the walk represents `prog` and that its program decides as `prog` on the
/// cases of the module doc (even when it is not shorter, and `compact` keeps `prog`).
/// Returns the rewritten program.
fn assert_equivalent(prog: &[sock_filter]) -> Vec<sock_filter> {
    let small = rewrite(prog).expect("representable");
    assert_eq!(compact(prog).is_some(), small.len() < prog.len());
    let values = constants(&[prog, &small]);
    let mut nrs: Vec<u32> = (0..1200).chain(0x4000_0000..0x4000_0000 + 1200).collect();
    nrs.extend(values.iter().copied());
    nrs.sort_unstable();
    nrs.dedup();
    let mut seed = 0x9e37_79b9_7f4a_7c15u64;
    let mut rand = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let (mut cases, mut with_args) = (0u64, 0u64);
    for arch in [
        AUDIT_ARCH_X86_64,
        AUDIT_ARCH_I386,
        AUDIT_ARCH_AARCH64,
        0,
        u32::MAX,
    ] {
        for &nr in &nrs {
            let mut data = [0u32; 16];
            data[0] = nr;
            data[1] = arch;
            let (want, looked) = run(prog, &data);
            assert_eq!(run(&small, &data).0, want, "arch {arch:#x} nr {nr:#x}");
            cases += 1;
            if !looked {
                continue;
            }
            with_args += 1;
            // One word (ip and args, low and high halves) at a time...
            for w in 2..16 {
                for &v in &values {
                    let mut d = data;
                    d[w] = v;
                    assert_eq!(
                        run(&small, &d).0,
                        run(prog, &d).0,
                        "arch {arch:#x} nr {nr:#x} word {w} = {v:#x}"
                    );
                    cases += 1;
                }
            }
            // ...and all of them at once.
            for _ in 0..3000 {
                let mut d = data;
                for w in d.iter_mut().skip(2) {
                    *w = values[(rand() % values.len() as u64) as usize];
                }
                assert_eq!(run(&small, &d).0, run(prog, &d).0, "{d:x?}");
                cases += 1;
            }
        }
    }
    assert!(with_args > 0 || !prog.iter().any(|i| i.code == LD_W_ABS && i.k >= 16));
    assert!(cases > 5000, "{cases}");
    small
}

fn program(seccomp: &oci_spec::runtime::LinuxSeccomp) -> Vec<sock_filter> {
    let bpf = compile(seccomp).unwrap();
    crate::seccomp::Program::from_bytes(&bpf).unwrap().0
}

fn builtin_for(arch: &str, caps: &[&str]) -> oci_spec::runtime::LinuxSeccomp {
    let caps: Vec<String> = caps.iter().map(|s| s.to_string()).collect();
    profile::to_oci(
        crate::seccomp::builtin(),
        &Target {
            arch,
            kernel: (6, 1),
            caps: &caps,
        },
    )
    .unwrap()
    .unwrap()
}

/// Docker's profile, as every default container gets it (compile now returns the compact
/// program: the libseccomp one is rebuilt here), with all, none and the default
/// capabilities: the same decisions in about a quarter of the instructions.
#[test]
fn builtin_profile_compacts_to_the_same_decisions() {
    let all: Vec<&str> = [
        "CAP_SYS_ADMIN",
        "CAP_SYS_PTRACE",
        "CAP_SYS_BOOT",
        "CAP_SYS_MODULE",
        "CAP_SYS_TIME",
        "CAP_SYS_PACCT",
        "CAP_SYS_RAWIO",
        "CAP_SYS_NICE",
        "CAP_SYS_RESOURCE",
        "CAP_SYSLOG",
        "CAP_SYS_TTY_CONFIG",
        "CAP_BPF",
        "CAP_PERFMON",
        "CAP_DAC_READ_SEARCH",
        "CAP_LEASE",
        "CAP_WAKE_ALARM",
        "CAP_BLOCK_SUSPEND",
        "CAP_IPC_LOCK",
        "CAP_NET_ADMIN",
    ]
    .to_vec();
    for caps in [&[][..], super::super::tests::DOCKER_DEFAULT_CAPS, &all] {
        let big = libseccomp_program(&builtin_for("amd64", caps));
        let small = assert_equivalent(&big);
        assert!(
            small.len() * 3 < big.len(),
            "{} vs {}",
            small.len(),
            big.len()
        );
        // What compile itself returns is that compact program.
        assert_eq!(program(&builtin_for("amd64", caps)).len(), small.len());
    }
}

/// Custom profiles: default allow with denials (with and without argument conditions of
/// every operator, on one and several arguments), default kill with an allow list.
#[test]
fn custom_profiles_compact_to_the_same_decisions() {
    let profiles = [
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO"}]}"#,
        r#"{"defaultAction":"SCMP_ACT_ALLOW","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"],"syscalls":[
            {"names":["personality"],"action":"SCMP_ACT_ERRNO","errnoRet":22,"args":[{"index":0,"value":8,"op":"SCMP_CMP_EQ"}]},
            {"names":["socket"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":40,"op":"SCMP_CMP_GE"},{"index":1,"value":3,"op":"SCMP_CMP_NE"}]},
            {"names":["clone"],"action":"SCMP_ACT_KILL","args":[{"index":0,"value":2114060288,"valueTwo":0,"op":"SCMP_CMP_MASKED_EQ"}]},
            {"names":["kill"],"action":"SCMP_ACT_TRAP","args":[{"index":1,"value":9,"op":"SCMP_CMP_LT"}]},
            {"names":["tgkill"],"action":"SCMP_ACT_LOG","args":[{"index":2,"value":15,"op":"SCMP_CMP_GT"}]},
            {"names":["ioctl"],"action":"SCMP_ACT_ERRNO","args":[{"index":1,"value":21531,"op":"SCMP_CMP_LE"}]}]}"#,
        r#"{"defaultAction":"SCMP_ACT_KILL_PROCESS","architectures":["SCMP_ARCH_X86_64"],"syscalls":[
            {"names":["read","write","exit","exit_group","rt_sigreturn","brk","mmap","munmap","close","openat","fstat","newfstatat","execve"],"action":"SCMP_ACT_ALLOW"},
            {"names":["getpid"],"action":"SCMP_ACT_ERRNO","errnoRet":38}]}"#,
    ];
    for text in profiles {
        let caps: Vec<String> = Vec::new();
        let s = profile::to_oci(
            &Profile::parse(text).unwrap(),
            &Target {
                arch: "amd64",
                kernel: (6, 1),
                caps: &caps,
            },
        )
        .unwrap()
        .unwrap();
        let big = libseccomp_program(&s);
        // Equivalent, and used only when shorter: with argument rules on a few syscalls
        // on two architectures libseccomp's program is the shorter one.
        assert_equivalent(&big);
    }
}

/// Shapes libseccomp does not emit: a program comparing the architecture other than for
/// equality is left alone; an accumulator used by the residue as zero or as the
/// architecture is reloaded; the residue's jumps are moved.
#[test]
fn walk_limits_and_residue_states() {
    let f = |code: u32, jt: u8, jf: u8, k: u32| sock_filter {
        code: code as u16,
        jt,
        jf,
        k,
    };
    use libc::{
        BPF_A, BPF_ABS, BPF_ALU, BPF_AND, BPF_JEQ, BPF_JGT, BPF_JMP, BPF_K, BPF_LD, BPF_RET, BPF_W,
    };
    let ld = |k| f(BPF_LD | BPF_W | BPF_ABS, 0, 0, k);
    let ret = |k| f(BPF_RET | BPF_K, 0, 0, k);
    // arch > 5: not representable.
    let p = [ld(4), f(BPF_JMP | BPF_JGT | BPF_K, 0, 1, 5), ret(0), ret(1)];
    assert!(compact(&p).is_none());
    // A program that ANDs the architecture, then checks the number: residue with the
    // architecture in the accumulator; numbers 0..40 each allowed, others denied, so the
    // compact form is much shorter.
    let mut p = vec![
        ld(4),
        f(BPF_JMP | BPF_JEQ | BPF_K, 0, 43, AUDIT_ARCH_X86_64),
        ld(0),
    ];
    for n in 0..40 {
        p.push(f(BPF_JMP | BPF_JEQ | BPF_K, 40 - n as u8, 0, n));
    }
    p.push(ret(0x0005_0001)); // 43: errno
    p.push(ret(0x7fff_0000)); // 44: allow
    p.push(f(BPF_ALU | BPF_AND | BPF_K, 0, 0, 0xff)); // 45: other arches
    p.push(f(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 0xb7));
    p.push(ret(0x7fff_0000));
    p.push(f(BPF_RET | BPF_A, 0, 0, 0));
    assert_eq!(p[1].jf as usize + 2, 45);
    let small = assert_equivalent(&p);
    assert!(small.len() < 20, "{}", small.len());
    // The accumulator still zero where the residue starts.
    let p = [f(BPF_RET | BPF_A, 0, 0, 0), ret(1), ret(2)];
    assert_equivalent(&p);
    assert!(compact(&p).is_none(), "not shorter");
    let mut p = vec![f(BPF_JMP | libc::BPF_JA, 0, 0, 20)];
    p.extend((0..20).map(|_| ret(3)));
    p.push(f(BPF_RET | BPF_A, 0, 0, 0));
    let small = assert_equivalent(&p);
    assert_eq!(run(&small, &[0; 16]).0, 0);
    // A linear chain allowing every other number up to 1000 (and killing 1001): 1002
    // intervals, whose search has subtrees too long for one jump (the `ja` trampolines)
    // and returns out of reach (written again).
    let mut p = vec![ld(0)];
    for n in (0..1000).step_by(2) {
        p.push(f(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, n));
        p.push(ret(0x7fff_0000));
    }
    p.push(f(BPF_JMP | BPF_JEQ | BPF_K, 0, 1, 1001));
    p.push(ret(0));
    p.push(ret(0x0005_0001));
    let small = assert_equivalent(&p);
    assert!(small.iter().any(|i| i.code == JA), "trampolines");
    let rets = small.iter().filter(|i| i.code == RET_K).count();
    assert!(rets > 3 && rets < 500, "{rets} returns");
}

/// libseccomp's own program for `seccomp` (compile's, before compaction).
fn libseccomp_program(seccomp: &oci_spec::runtime::LinuxSeccomp) -> Vec<sock_filter> {
    let bpf = crate::seccomp::compile_libseccomp(seccomp).unwrap();
    crate::seccomp::Program::from_bytes(&bpf).unwrap().0
}
