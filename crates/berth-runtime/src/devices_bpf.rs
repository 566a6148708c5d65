//! The device cgroup on cgroup v2: an eBPF program (BPF_PROG_TYPE_CGROUP_DEVICE) built from
//! the spec's device rules (Docker's default list, runc's always-allowed nodes, `--device`,
//! `--device-cgroup-rule`) and attached to the container's cgroup before its process runs,
//! as runc does. v1 hierarchies take the same rules through devices.allow/deny.
//!
//! The rules are first reduced as the v1 controller would see them (a rule for every device
//! resets the list; later rules are exceptions to that default), then each exception
//! becomes one block of the program: type, access, major, minor checked in turn, and a
//! match returns the opposite of the default.

use oci_spec::runtime::{LinuxDeviceCgroup, LinuxDeviceType};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

/// BPF_DEVCG_DEV_* and BPF_DEVCG_ACC_* of the kernel's bpf_cgroup_dev_ctx.
const DEV_BLOCK: i32 = 1;
const DEV_CHAR: i32 = 2;
const ACC_MKNOD: i32 = 1;
const ACC_READ: i32 = 2;
const ACC_WRITE: i32 = 4;

/// One reduced rule: a device pattern whose answer differs from the default.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Exception {
    typ: Option<i32>,
    major: Option<i64>,
    minor: Option<i64>,
    access: i32,
}

fn access_bits(access: Option<&str>) -> i32 {
    let a = access.unwrap_or("rwm");
    let mut bits = 0;
    for c in a.chars() {
        bits |= match c {
            'r' => ACC_READ,
            'w' => ACC_WRITE,
            'm' => ACC_MKNOD,
            _ => 0,
        };
    }
    bits
}

/// The default answer and its exceptions, from rules in order.
fn reduce(rules: &[LinuxDeviceCgroup]) -> (bool, Vec<Exception>) {
    let mut default_allow = false;
    let mut exceptions: Vec<Exception> = Vec::new();
    for r in rules {
        let typ = match r.typ() {
            None | Some(LinuxDeviceType::A) => None,
            Some(LinuxDeviceType::B) => Some(DEV_BLOCK),
            Some(LinuxDeviceType::C) | Some(LinuxDeviceType::U) => Some(DEV_CHAR),
            // Pipes have no device cgroup check.
            Some(LinuxDeviceType::P) => continue,
        };
        let access = access_bits(r.access().as_deref());
        if typ.is_none() && r.major().is_none() && r.minor().is_none() && access == 7 {
            default_allow = r.allow();
            exceptions.clear();
            continue;
        }
        let e = Exception {
            typ,
            major: r.major(),
            minor: r.minor(),
            access,
        };
        if r.allow() != default_allow {
            exceptions.push(e);
        } else {
            // Same answer as the default: it takes back earlier exceptions for this device.
            exceptions.retain(|x| !(x.typ == e.typ && x.major == e.major && x.minor == e.minor));
        }
    }
    (default_allow, exceptions)
}

/// One eBPF instruction (struct bpf_insn).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    pub dst: u8,
    pub src: u8,
    pub off: i16,
    pub imm: i32,
}

impl Insn {
    const fn new(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
        Insn {
            code,
            dst,
            src,
            off,
            imm,
        }
    }
    fn bytes(&self) -> [u8; 8] {
        let mut b = [0u8; 8];
        b[0] = self.code;
        b[1] = (self.dst & 0x0f) | (self.src << 4);
        b[2..4].copy_from_slice(&self.off.to_le_bytes());
        b[4..8].copy_from_slice(&self.imm.to_le_bytes());
        b
    }
}

// Opcodes used (BPF_CLASS | BPF_OP | BPF_SRC / BPF_SIZE | BPF_MODE).
pub const LDX_W: u8 = 0x61; // r_dst = *(u32 *)(r_src + off)
pub const AND_K: u8 = 0x54; // w_dst &= imm
pub const RSH_K: u8 = 0x74; // w_dst >>= imm
pub const MOV_K: u8 = 0xb4; // w_dst = imm
pub const MOV_X: u8 = 0xbc; // w_dst = w_src
pub const JNE_K: u8 = 0x55; // if r_dst != imm goto +off
pub const JEQ_K: u8 = 0x15; // if r_dst == imm goto +off
pub const EXIT: u8 = 0x95;

/// The program for `rules`: r2 = device type, r3 = access, r4 = major, r5 = minor.
pub fn program(rules: &[LinuxDeviceCgroup]) -> Vec<Insn> {
    let (default_allow, exceptions) = reduce(rules);
    let mut p = vec![
        Insn::new(LDX_W, 2, 1, 0, 0),
        Insn::new(AND_K, 2, 0, 0, 0xffff),
        Insn::new(LDX_W, 3, 1, 0, 0),
        Insn::new(RSH_K, 3, 0, 0, 16),
        Insn::new(LDX_W, 4, 1, 4, 0),
        Insn::new(LDX_W, 5, 1, 8, 0),
    ];
    for e in &exceptions {
        // Jumps are filled with the distance to the block's end once it is complete.
        let mut block: Vec<(Insn, bool)> = Vec::new();
        if let Some(t) = e.typ {
            block.push((Insn::new(JNE_K, 2, 0, 0, t), true));
        }
        if default_allow {
            // A deny exception matches when any requested access is in its set.
            block.push((Insn::new(MOV_X, 1, 3, 0, 0), false));
            block.push((Insn::new(AND_K, 1, 0, 0, e.access), false));
            block.push((Insn::new(JEQ_K, 1, 0, 0, 0), true));
        } else if e.access != 7 {
            // An allow exception matches when every requested access is in its set.
            block.push((Insn::new(MOV_X, 1, 3, 0, 0), false));
            block.push((Insn::new(AND_K, 1, 0, 0, !e.access & 7), false));
            block.push((Insn::new(JNE_K, 1, 0, 0, 0), true));
        }
        if let Some(m) = e.major {
            block.push((Insn::new(JNE_K, 4, 0, 0, m as i32), true));
        }
        if let Some(m) = e.minor {
            block.push((Insn::new(JNE_K, 5, 0, 0, m as i32), true));
        }
        block.push((Insn::new(MOV_K, 0, 0, 0, i32::from(!default_allow)), false));
        block.push((Insn::new(EXIT, 0, 0, 0, 0), false));
        let len = block.len();
        for (i, (mut insn, jump)) in block.into_iter().enumerate() {
            if jump {
                insn.off = (len - i - 1) as i16;
            }
            p.push(insn);
        }
    }
    p.push(Insn::new(MOV_K, 0, 0, 0, i32::from(default_allow)));
    p.push(Insn::new(EXIT, 0, 0, 0, 0));
    p
}

fn bpf(cmd: libc::c_long, attr: &mut [u64; 16]) -> std::io::Result<i64> {
    // SAFETY: bpf(2) with an attribute buffer larger than the fields the command reads.
    let rc = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr.as_mut_ptr(),
            std::mem::size_of_val(attr),
        )
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(rc)
}

/// Loads the program for `rules` (the kernel's verifier checks it here).
pub fn load(rules: &[LinuxDeviceCgroup]) -> std::io::Result<OwnedFd> {
    const BPF_PROG_LOAD: libc::c_long = 5;
    const BPF_PROG_TYPE_CGROUP_DEVICE: u64 = 15;
    let code: Vec<u8> = program(rules).iter().flat_map(|i| i.bytes()).collect();
    let license = c"Apache";
    let mut attr = [0u64; 16];
    // prog_type (u32) | insn_cnt (u32), insns, license.
    attr[0] = BPF_PROG_TYPE_CGROUP_DEVICE | (((code.len() / 8) as u64) << 32);
    attr[1] = code.as_ptr() as u64;
    attr[2] = license.as_ptr() as u64;
    let prog = bpf(BPF_PROG_LOAD, &mut attr)
        .map_err(|e| std::io::Error::new(e.kind(), format!("load device program: {e}")))?;
    // SAFETY: the kernel returned a new program descriptor that nothing else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(prog as i32) })
}

/// Loads the program for `rules` and attaches it to the cgroup directory `dir`.
pub fn attach(dir: &Path, rules: &[LinuxDeviceCgroup]) -> std::io::Result<()> {
    const BPF_PROG_ATTACH: libc::c_long = 8;
    const BPF_CGROUP_DEVICE: u64 = 6;
    const BPF_F_ALLOW_MULTI: u64 = 2;
    let prog = load(rules)?;
    let cg = std::fs::File::open(dir)?;
    let mut attr = [0u64; 16];
    // target_fd | attach_bpf_fd, attach_type | attach_flags.
    attr[0] = (cg.as_raw_fd() as u64) | ((prog.as_raw_fd() as u64) << 32);
    attr[1] = BPF_CGROUP_DEVICE | (BPF_F_ALLOW_MULTI << 32);
    bpf(BPF_PROG_ATTACH, &mut attr).map_err(|e| {
        std::io::Error::new(
            e.kind(),
            format!("attach device program to {}: {e}", dir.display()),
        )
    })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use oci_spec::runtime::LinuxDeviceCgroupBuilder;

    /// Runs the program on one request, interpreting the few opcodes it uses.
    fn run(p: &[Insn], typ: i32, access: i32, major: u32, minor: u32) -> u32 {
        let ctx = [((access as u32) << 16) | typ as u32, major, minor];
        let mut r = [0u64; 11];
        let mut pc = 0usize;
        loop {
            let i = p[pc];
            let (d, s) = (i.dst as usize, i.src as usize);
            pc += 1;
            match i.code {
                LDX_W => {
                    assert_eq!(s, 1, "loads only from the context");
                    r[d] = u64::from(ctx[(i.off / 4) as usize]);
                }
                AND_K => r[d] = (r[d] as u32 & i.imm as u32) as u64,
                RSH_K => r[d] = ((r[d] as u32) >> i.imm) as u64,
                MOV_K => r[d] = i.imm as u32 as u64,
                MOV_X => r[d] = r[s] as u32 as u64,
                JNE_K if r[d] != i.imm as i64 as u64 => pc += i.off as usize,
                JEQ_K if r[d] == i.imm as i64 as u64 => pc += i.off as usize,
                JNE_K | JEQ_K => {}
                EXIT => return r[0] as u32,
                other => panic!("opcode {other:#x}"),
            }
        }
    }

    fn rule(
        allow: bool,
        t: Option<LinuxDeviceType>,
        maj: Option<i64>,
        min: Option<i64>,
        acc: &str,
    ) -> LinuxDeviceCgroup {
        let mut b = LinuxDeviceCgroupBuilder::default().allow(allow).access(acc);
        if let Some(t) = t {
            b = b.typ(t);
        }
        if let Some(m) = maj {
            b = b.major(m);
        }
        if let Some(m) = min {
            b = b.minor(m);
        }
        b.build().unwrap()
    }

    /// Docker's default rules plus runc's always-allowed ones, as berth's spec and init
    /// hand them to the cgroup.
    fn docker_rules() -> Vec<LinuxDeviceCgroup> {
        use LinuxDeviceType::{B, C};
        let mut v = vec![rule(false, None, None, None, "rwm")];
        for (maj, min) in [(1, 5), (1, 3), (1, 9), (1, 8), (5, 0), (5, 1)] {
            v.push(rule(true, Some(C), Some(maj), Some(min), "rwm"));
        }
        v.push(rule(false, Some(C), Some(10), Some(229), "rwm"));
        v.push(rule(true, Some(C), None, None, "m"));
        v.push(rule(true, Some(B), None, None, "m"));
        v.push(rule(true, Some(C), Some(136), None, "rwm"));
        v.push(rule(true, Some(C), Some(10), Some(200), "rwm"));
        v
    }

    const R: i32 = ACC_READ;
    const W: i32 = ACC_WRITE;
    const M: i32 = ACC_MKNOD;

    #[test]
    fn docker_defaults() {
        let p = program(&docker_rules());
        // /dev/null, /dev/zero, /dev/urandom, /dev/tty, ptys, tun: read and write.
        for (maj, min) in [(1, 3), (1, 5), (1, 9), (5, 0), (136, 4), (10, 200)] {
            assert_eq!(run(&p, DEV_CHAR, R | W, maj, min), 1, "c {maj}:{min}");
        }
        // Any node may be created, but a disk cannot be opened.
        assert_eq!(run(&p, DEV_BLOCK, M, 8, 0), 1);
        assert_eq!(run(&p, DEV_BLOCK, R, 8, 0), 0);
        assert_eq!(run(&p, DEV_BLOCK, R | W, 8, 0), 0);
        // Nor /dev/mem, /dev/kmsg, fuse, or a block device of the same numbers as null.
        assert_eq!(run(&p, DEV_CHAR, R, 1, 1), 0);
        assert_eq!(run(&p, DEV_CHAR, R | W, 1, 11), 0);
        assert_eq!(run(&p, DEV_CHAR, R, 10, 229), 0);
        assert_eq!(run(&p, DEV_BLOCK, R, 1, 3), 0);
    }

    #[test]
    fn device_rules_and_access_subsets() {
        let mut rules = docker_rules();
        // --device /dev/sda:/dev/xvda:r, --device-cgroup-rule 'c 42:* rw'.
        rules.push(rule(true, Some(LinuxDeviceType::B), Some(8), Some(0), "r"));
        rules.push(rule(true, Some(LinuxDeviceType::C), Some(42), None, "rw"));
        let p = program(&rules);
        assert_eq!(run(&p, DEV_BLOCK, R, 8, 0), 1);
        assert_eq!(run(&p, DEV_BLOCK, W, 8, 0), 0);
        assert_eq!(run(&p, DEV_BLOCK, R | W, 8, 0), 0);
        assert_eq!(run(&p, DEV_BLOCK, R, 8, 1), 0);
        assert_eq!(run(&p, DEV_CHAR, R | W, 42, 7), 1);
        assert_eq!(run(&p, DEV_CHAR, R, 43, 7), 0);
    }

    #[test]
    fn allow_all_and_denials() {
        // --privileged: everything.
        let p = program(&[rule(true, None, None, None, "rwm")]);
        assert_eq!(run(&p, DEV_BLOCK, R | W, 8, 0), 1);
        // Allow all, then deny writes to one device.
        let p = program(&[
            rule(true, None, None, None, "rwm"),
            rule(false, Some(LinuxDeviceType::C), Some(1), Some(3), "w"),
        ]);
        assert_eq!(run(&p, DEV_CHAR, R, 1, 3), 1);
        assert_eq!(run(&p, DEV_CHAR, R | W, 1, 3), 0);
        assert_eq!(run(&p, DEV_CHAR, W, 1, 5), 1);
        // A rule for all devices resets what came before.
        let p = program(&[
            rule(true, Some(LinuxDeviceType::C), Some(1), Some(3), "rwm"),
            rule(false, None, None, None, "rwm"),
        ]);
        assert_eq!(run(&p, DEV_CHAR, R, 1, 3), 0);
    }

    #[test]
    fn encoding() {
        let i = Insn::new(JNE_K, 4, 0, 3, 136).bytes();
        assert_eq!(i, [0x55, 0x04, 3, 0, 136, 0, 0, 0]);
        let i = Insn::new(LDX_W, 5, 1, 8, 0).bytes();
        assert_eq!(i, [0x61, 0x15, 8, 0, 0, 0, 0, 0]);
    }

    /// The kernel's verifier accepts the programs (loading needs no cgroup v2; attaching
    /// is tested on a cgroup v2 host by the integration tests there).
    #[test]
    fn kernel_verifier_accepts_the_programs() {
        let mut rules = docker_rules();
        rules.push(rule(true, Some(LinuxDeviceType::B), Some(8), Some(0), "r"));
        load(&rules).unwrap();
        load(&[rule(true, None, None, None, "rwm")]).unwrap();
    }
}
