//! A smaller program with the same decisions as libseccomp's: what every container process
//! and every exec pays to load its filter is mostly proportional to the program's length
//! (the kernel converts the classic program to eBPF and JITs it, in several passes), and
//! libseccomp spends one comparison per allowed syscall number and architecture (1227
//! instructions for Docker's profile over x86_64, x86 and x32).
//!
//! How: libseccomp's program is executed symbolically, once per architecture value it
//! compares the `arch` field with (plus one value it compares with nothing: every other
//! architecture), over the whole 32-bit range of syscall numbers. Each comparison of the
//! number with a constant splits the range, so each architecture ends as a list of number
//! intervals, each with what the program does for it:
//! - it returns a constant (allow, an errno, kill...) without looking at anything else,
//! - or it reaches an instruction this walk does not follow (a load of an argument, an
//!   ALU operation, the X register...): from there on the decision depends on more than the
//!   architecture and the number, and the program continues with libseccomp's own
//!   instructions from that point, copied verbatim (the "residue", with the accumulator
//!   holding what it held there: zero, the number or the architecture; the walk never
//!   follows an instruction that writes X or the scratch memory, so they are untouched).
//!
//! Adjacent intervals with the same outcome merge (Docker's allowed syscalls come in runs),
//! and each architecture becomes a balanced binary search over its intervals' bounds
//! (`jge`), whose leaves are the returns or jumps into the residue; leaves share their
//! returns where a jump reaches one (`Back`). For Docker's profile that is 316 instructions
//! instead of 1227. The program uses only loads of `nr`/`arch`,
//! `jeq`/`jge`/`ja` and constant returns up to any argument check, so the kernel's
//! per-syscall allow cache (`seccomp_cache_prepare`, which emulates exactly those) still
//! covers every syscall it covered before.
//!
//! Exactness: the walk evaluates each comparison on the interval it splits, so every
//! (architecture, number) pair reaches the same outcome as in libseccomp's program, and the
//! residue is the same code run from the same state. `tests` checks it by running both
//! programs in a classic-BPF interpreter over every syscall number of each architecture
//! (and the x32 range), every constant the programs compare with and its neighbours, and
//! the argument values the rules name. Anything the walk cannot represent (a comparison
//! of the architecture other than `jeq`, a program that is too branchy) keeps
//! libseccomp's program unchanged.

use libc::sock_filter;

const LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
const LD_IMM: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_IMM) as u16;
const JA: u16 = (libc::BPF_JMP | libc::BPF_JA) as u16;
const JEQ_K: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
const JGT_K: u16 = (libc::BPF_JMP | libc::BPF_JGT | libc::BPF_K) as u16;
const JGE_K: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
const JSET_K: u16 = (libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K) as u16;
const RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;

/// Offsets in `struct seccomp_data`.
const NR: u32 = 0;
const ARCH: u32 = 4;

/// The walk gives up past this many steps (a long linear chain walked interval by
/// interval is quadratic); the original program is then kept.
const MAX_STEPS: usize = 2_000_000;

/// What the accumulator holds at a point of the walk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Acc {
    /// Its initial value, 0.
    Zero,
    Nr,
    Arch,
}

/// What the program does for one interval of syscall numbers of one architecture.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Ret(u32),
    /// Continue with the original instruction at `pc`, the accumulator holding `acc`.
    Residue {
        pc: usize,
        acc: Acc,
    },
}

struct Walk<'a> {
    prog: &'a [sock_filter],
    arch: u32,
    steps: usize,
    /// (first number, outcome), numbers up to the next entry's first.
    out: Vec<(u64, Outcome)>,
    /// The constants compared with the architecture on the paths walked.
    arch_consts: Vec<u32>,
    /// Whether the architecture was compared other than for equality.
    arch_inequality: bool,
}

impl Walk<'_> {
    /// Follows the program from `pc` for the numbers `lo..hi` (hi exclusive, up to 2^32).
    fn run(&mut self, mut pc: usize, mut acc: Acc, lo: u64, hi: u64) -> Option<()> {
        loop {
            self.steps += 1;
            if self.steps > MAX_STEPS {
                return None;
            }
            let i = self.prog.get(pc)?;
            let k = i.k;
            let residue = Outcome::Residue { pc, acc };
            match i.code {
                LD_W_ABS if k == NR => acc = Acc::Nr,
                LD_W_ABS if k == ARCH => acc = Acc::Arch,
                RET_K => {
                    self.out.push((lo, Outcome::Ret(k)));
                    return Some(());
                }
                JA => {
                    pc = pc.checked_add(1 + k as usize)?;
                    continue;
                }
                JEQ_K | JGT_K | JGE_K | JSET_K if acc != Acc::Nr => {
                    let a = if acc == Acc::Arch {
                        if i.code == JEQ_K {
                            self.arch_consts.push(k);
                        } else {
                            self.arch_inequality = true;
                        }
                        self.arch
                    } else {
                        0
                    };
                    let taken = match i.code {
                        JEQ_K => a == k,
                        JGT_K => a > k,
                        JGE_K => a >= k,
                        _ => a & k != 0,
                    };
                    pc += 1 + usize::from(if taken { i.jt } else { i.jf });
                    continue;
                }
                JEQ_K => {
                    let (t, f) = (pc + 1 + usize::from(i.jt), pc + 1 + usize::from(i.jf));
                    let k = u64::from(k);
                    if k < lo || k >= hi {
                        pc = f;
                        continue;
                    }
                    if lo < k {
                        self.run(f, acc, lo, k)?;
                    }
                    self.run(t, acc, k, k + 1)?;
                    if k + 1 < hi {
                        self.run(f, acc, k + 1, hi)?;
                    }
                    return Some(());
                }
                JGT_K | JGE_K => {
                    let (t, f) = (pc + 1 + usize::from(i.jt), pc + 1 + usize::from(i.jf));
                    // Taken for numbers >= b.
                    let b = u64::from(k) + u64::from(i.code == JGT_K);
                    if b <= lo {
                        pc = t;
                        continue;
                    }
                    if b >= hi {
                        pc = f;
                        continue;
                    }
                    self.run(f, acc, lo, b)?;
                    self.run(t, acc, b, hi)?;
                    return Some(());
                }
                _ => {
                    self.out.push((lo, residue));
                    return Some(());
                }
            }
            pc += 1;
        }
    }
}

/// An instruction of the new program, before jumps to labels are resolved.
#[derive(Clone, Copy)]
enum Item {
    Insn(sock_filter),
    /// `ja` to the start of architecture section `n` (the `n`th compared architecture).
    JaSection(usize),
    /// `ja` to the copy of original instruction `pc`.
    JaResidue(usize),
}

fn insn(code: u16, jt: u8, jf: u8, k: u32) -> Item {
    Item::Insn(sock_filter { code, jt, jf, k })
}

/// A section's code, written backwards from its end: a position is the distance from the
/// section's last instruction, so when a jump is written its targets (later instructions)
/// are there already and its offsets are known. That lets the leaves of the search share
/// their returns: a comparison jumps straight to a `ret k` written for another leaf when
/// it is within a jump's reach (255 instructions), instead of each leaf having its own.
/// The kernel turns each `ret k` into two eBPF instructions, so this about halves what
/// it converts and JITs again.
struct Back {
    code: Vec<Item>,
    /// The nearest `ret k` written so far (its position), per k.
    rets: Vec<(u32, usize)>,
}

/// What a subtree of the search starts with: an instruction, or just a return of k (any
/// `ret k` will do; none is written for it yet).
#[derive(Clone, Copy)]
enum Entry {
    At(usize),
    Ret(u32),
}

impl Back {
    fn push(&mut self, item: Item) -> usize {
        self.code.push(item);
        self.code.len() - 1
    }

    /// A position the next-but-`later` instruction to be written can jump to, for `e`.
    fn resolve(&mut self, e: Entry, later: usize) -> usize {
        // The jump will be at `self.code.len() + later` at most.
        let reach = |at: usize, len: usize| len + later - at - 1 <= usize::from(u8::MAX);
        match e {
            Entry::At(at) if reach(at, self.code.len()) => at,
            Entry::At(at) => {
                let from = self.code.len();
                self.push(insn(JA, 0, 0, (from - at - 1) as u32))
            }
            Entry::Ret(k) => {
                let len = self.code.len();
                match self.rets.iter().find(|(r, _)| *r == k) {
                    Some((_, at)) if reach(*at, len) => *at,
                    _ => {
                        let at = self.push(insn(RET_K, 0, 0, k));
                        self.rets.retain(|(r, _)| *r != k);
                        self.rets.push((k, at));
                        at
                    }
                }
            }
        }
    }

    /// A binary search over `iv` (sorted intervals covering 0..2^32, as (first, outcome)),
    /// the accumulator holding the number.
    fn search(&mut self, iv: &[(u64, Outcome)]) -> Entry {
        if iv.len() == 1 {
            return match iv[0].1 {
                Outcome::Ret(k) => Entry::Ret(k),
                Outcome::Residue { pc, acc } => {
                    let mut at = self.push(Item::JaResidue(pc));
                    match acc {
                        Acc::Nr => {}
                        Acc::Zero => at = self.push(insn(LD_IMM, 0, 0, 0)),
                        Acc::Arch => at = self.push(insn(LD_W_ABS, 0, 0, ARCH)),
                    }
                    Entry::At(at)
                }
            };
        }
        let mid = iv.len() / 2;
        // The first interval starts at 0, so every other start fits in u32.
        let split = iv[mid].0 as u32;
        // Written backwards: the left half (below `split`) comes right after the jump.
        let right = self.search(&iv[mid..]);
        let left = self.search(&iv[..mid]);
        let jt = self.resolve(right, 1);
        let jf = self.resolve(left, 0);
        let at = self.code.len();
        let off = |to: usize| (at - to - 1) as u8;
        self.push(insn(JGE_K, off(jt), off(jf), split));
        Entry::At(at)
    }

    /// The section for `iv`, in program order: loads the number (the accumulator holds the
    /// architecture on entry) when the search needs it, then searches.
    fn section(iv: &[(u64, Outcome)]) -> Vec<Item> {
        let mut b = Back {
            code: Vec::new(),
            rets: Vec::new(),
        };
        match b.search(iv) {
            // A single return.
            Entry::Ret(k) => {
                b.push(insn(RET_K, 0, 0, k));
            }
            Entry::At(_) => {
                let nr = iv.len() > 1 || matches!(iv[0].1, Outcome::Residue { acc: Acc::Nr, .. });
                if nr {
                    b.push(insn(LD_W_ABS, 0, 0, NR));
                }
            }
        }
        b.code.reverse();
        b.code
    }
}

/// The equivalent compact program, or None when this walk cannot represent `prog` or the
/// result is not shorter (a handful of rules).
pub(super) fn compact(prog: &[sock_filter]) -> Option<Vec<sock_filter>> {
    rewrite(prog).filter(|small| small.len() < prog.len())
}

/// The walk's program for `prog`, whatever its length.
fn rewrite(prog: &[sock_filter]) -> Option<Vec<sock_filter>> {
    // The values the program compares the architecture with, found by walking it: each
    // walk may meet comparisons the others did not, so walk again until the set is stable.
    let mut known: Vec<u32> = Vec::new();
    let mut steps = 0;
    let (other, sections) = loop {
        // One value no comparison names stands for every other architecture.
        let other = (0..=u32::MAX).find(|v| !known.contains(v))?;
        let mut grew = false;
        let mut walks = Vec::with_capacity(known.len() + 1);
        for arch in std::iter::once(other).chain(known.clone()) {
            let mut w = Walk {
                prog,
                arch,
                steps,
                out: Vec::new(),
                arch_consts: Vec::new(),
                arch_inequality: false,
            };
            w.run(0, Acc::Zero, 0, 1 << 32)?;
            if w.arch_inequality {
                return None;
            }
            steps = w.steps;
            for k in w.arch_consts {
                if !known.contains(&k) {
                    known.push(k);
                    grew = true;
                }
            }
            walks.push((arch, merge(w.out)));
        }
        if !grew {
            let other = walks.remove(0).1;
            break (other, walks);
        }
    };
    let mut items = vec![insn(LD_W_ABS, 0, 0, ARCH)];
    for (n, (a, _)) in sections.iter().enumerate() {
        items.push(insn(JEQ_K, 0, 1, *a));
        items.push(Item::JaSection(n));
    }
    items.extend(Back::section(&other));
    let mut starts = Vec::new();
    for (_, s) in &sections {
        starts.push(items.len());
        items.extend(Back::section(s));
    }
    // The residue: every original instruction reachable from an entry, in original order
    // (so jumps stay forward and no longer than they were).
    let mut reach = vec![false; prog.len()];
    let mut stack: Vec<usize> = items
        .iter()
        .filter_map(|i| match i {
            Item::JaResidue(pc) => Some(*pc),
            _ => None,
        })
        .collect();
    while let Some(pc) = stack.pop() {
        if pc >= prog.len() || reach[pc] {
            continue;
        }
        reach[pc] = true;
        let i = prog[pc];
        let class = u32::from(i.code) & 0x07;
        if class == libc::BPF_RET {
            continue;
        }
        if class == libc::BPF_JMP {
            if i.code == JA {
                stack.push(pc + 1 + i.k as usize);
            } else {
                stack.push(pc + 1 + usize::from(i.jt));
                stack.push(pc + 1 + usize::from(i.jf));
            }
        } else {
            stack.push(pc + 1);
        }
    }
    let base = items.len();
    let mut new_pc = vec![usize::MAX; prog.len()];
    let mut n = base;
    for (pc, r) in reach.iter().enumerate() {
        if *r {
            new_pc[pc] = n;
            n += 1;
        }
    }
    if n > usize::from(u16::MAX) {
        return None;
    }
    let mut out = Vec::with_capacity(n);
    for (at, item) in items.iter().enumerate() {
        let target = match item {
            Item::Insn(i) => {
                out.push(*i);
                continue;
            }
            Item::JaSection(s) => starts[*s],
            Item::JaResidue(pc) => new_pc[*pc],
        };
        out.push(sock_filter {
            code: JA,
            jt: 0,
            jf: 0,
            k: u32::try_from(target.checked_sub(at + 1)?).ok()?,
        });
    }
    for (pc, i) in prog.iter().enumerate() {
        if !reach[pc] {
            continue;
        }
        let mut i = *i;
        let here = new_pc[pc];
        let rel = |t: usize| new_pc.get(t).and_then(|n| n.checked_sub(here + 1));
        if u32::from(i.code) & 0x07 == libc::BPF_JMP {
            if i.code == JA {
                i.k = u32::try_from(rel(pc + 1 + i.k as usize)?).ok()?;
            } else {
                i.jt = u8::try_from(rel(pc + 1 + usize::from(i.jt))?).ok()?;
                i.jf = u8::try_from(rel(pc + 1 + usize::from(i.jf))?).ok()?;
            }
        }
        out.push(i);
    }
    Some(out)
}

/// Merges adjacent intervals with the same outcome.
fn merge(mut iv: Vec<(u64, Outcome)>) -> Vec<(u64, Outcome)> {
    iv.sort_by_key(|(lo, _)| *lo);
    let mut m: Vec<(u64, Outcome)> = Vec::with_capacity(iv.len());
    for (lo, o) in iv {
        if m.last().is_some_and(|(_, last)| *last == o) {
            continue;
        }
        m.push((lo, o));
    }
    m
}

#[cfg(test)]
#[path = "compact_tests.rs"]
mod tests;
