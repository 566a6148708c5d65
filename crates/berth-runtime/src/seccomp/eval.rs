//! A classic-BPF machine over a `struct seccomp_data`: what the kernel decides for one
//! syscall under a program. The shim asks it whether a container's filter lets the exec
//! helper's children do their last steps under the filter (`Program::allows`); the tests
//! use it to compare programs decision by decision.

use libc::sock_filter;

/// Runs `prog` over `data` (16 native-endian words: nr, arch, ip lo/hi, args[0..6] lo/hi).
/// Returns the return value and whether an argument (or the instruction pointer) was
/// loaded; None for a program the kernel would not accept (an unknown instruction, a jump
/// or load out of range, falling off the end).
pub(crate) fn run(prog: &[sock_filter], data: &[u32; 16]) -> Option<(u32, bool)> {
    let (mut a, mut x, mut mem) = (0u32, 0u32, [0u32; 16]);
    let mut pc = 0usize;
    let mut looked = false;
    loop {
        let i = *prog.get(pc)?;
        let k = i.k;
        let code = u32::from(i.code);
        pc += 1;
        let src = if code & libc::BPF_X != 0 { x } else { k };
        match code & 0x07 {
            libc::BPF_LD => match code & 0xe0 {
                libc::BPF_ABS if code & 0x18 == libc::BPF_W && k.is_multiple_of(4) && k < 64 => {
                    looked |= k >= 8;
                    a = data[(k / 4) as usize];
                }
                libc::BPF_IMM => a = k,
                libc::BPF_MEM => a = *mem.get(k as usize)?,
                _ => return None,
            },
            libc::BPF_LDX => match code & 0xe0 {
                libc::BPF_IMM => x = k,
                libc::BPF_MEM => x = *mem.get(k as usize)?,
                _ => return None,
            },
            libc::BPF_ST => *mem.get_mut(k as usize)? = a,
            libc::BPF_STX => *mem.get_mut(k as usize)? = x,
            libc::BPF_ALU => {
                a = match code & 0xf0 {
                    libc::BPF_ADD => a.wrapping_add(src),
                    libc::BPF_SUB => a.wrapping_sub(src),
                    libc::BPF_MUL => a.wrapping_mul(src),
                    libc::BPF_DIV => a.checked_div(src).unwrap_or(0),
                    libc::BPF_MOD => a.checked_rem(src).unwrap_or(0),
                    libc::BPF_OR => a | src,
                    libc::BPF_AND => a & src,
                    libc::BPF_XOR => a ^ src,
                    libc::BPF_LSH => a.checked_shl(src).unwrap_or(0),
                    libc::BPF_RSH => a.checked_shr(src).unwrap_or(0),
                    libc::BPF_NEG => a.wrapping_neg(),
                    _ => return None,
                }
            }
            libc::BPF_JMP => {
                let op = code & 0xf0;
                if op == libc::BPF_JA {
                    pc += k as usize;
                    continue;
                }
                let taken = match op {
                    libc::BPF_JEQ => a == src,
                    libc::BPF_JGT => a > src,
                    libc::BPF_JGE => a >= src,
                    libc::BPF_JSET => a & src != 0,
                    _ => return None,
                };
                pc += usize::from(if taken { i.jt } else { i.jf });
            }
            libc::BPF_RET => return Some((if code & 0x18 == libc::BPF_A { a } else { k }, looked)),
            libc::BPF_MISC => {
                if code & 0xf8 == libc::BPF_TAX {
                    x = a
                } else {
                    a = x
                }
            }
            _ => return None,
        }
    }
}

/// The `seccomp_data` words of syscall `nr` on `arch` with arguments `args`.
pub(crate) fn data(arch: u32, nr: u32, args: [u64; 6]) -> [u32; 16] {
    let mut d = [0u32; 16];
    d[0] = nr;
    d[1] = arch;
    for (i, v) in args.iter().enumerate() {
        d[4 + 2 * i] = *v as u32;
        d[5 + 2 * i] = (*v >> 32) as u32;
    }
    d
}
