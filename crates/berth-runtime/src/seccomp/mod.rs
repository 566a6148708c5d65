//! Seccomp for containers: the profile (Docker's format, berth's built-in default equal to
//! Docker's), its conversion into the OCI spec's `linux.seccomp` for one container
//! (`profile.rs`), compilation into a classic BPF program with libseccomp, and loading that
//! program in a container's init or exec process.
//!
//! Compiling the default profile costs milliseconds, so the daemon compiles each distinct
//! `linux.seccomp` once and keeps the program in a cache directory named by the digest of its
//! JSON (`BpfCache`); the spec names that file in the `org.berth.seccomp.bpf` annotation.
//! The shim reads the file (a few KiB) and its processes load it with one `seccomp(2)` call
//! just before they exec. OCI runtimes (runc, libcontainer) read `linux.seccomp` itself.
//!
//! What loading costs, per process (every container init and every exec, as with runc): the
//! kernel checks the classic program, converts it to eBPF, JITs it, and then emulates it
//! once for every syscall number of each architecture to build its per-syscall allow cache.
//! With libseccomp's default linear chain (983 instructions for Docker's profile over
//! x86_64, x86 and x32) that emulation walks hundreds of instructions per syscall number, so
//! `compile` asks for libseccomp's binary tree (1227 instructions, a few dozen per walk):
//! measured here, seccomp(2) of the builtin profile took 0.7-1.5 ms with the chain and
//! 0.3-0.35 ms with the tree (forked children loading the cached program, 2 loaded cores).
//! What is left is nearly proportional to the program's length, so `compile` then rewrites
//! the tree into a shorter program with the same decisions (`compact.rs`: 316 instructions,
//! one binary search over runs of syscall numbers per architecture, returns shared): the
//! load costs about 0.1 ms of CPU instead of 0.23 ms (forked children, beyond the fork).
//!
//! The program is loaded before the capabilities are dropped, or as late as possible when
//! the spec sets no_new_privs, as runc does (`shim/native.rs` `finish_privileges`).
//!
//! Who frees an exec's filter: since Linux 6.11 a process drops its filter at the start of
//! its exit (`do_exit`), before it closes its descriptors and becomes a zombie, and the
//! last reference frees the BPF program through a workqueue item. Queuing it wakes a
//! kworker on the exiting process's CPU, which preempts it; with any other runnable task on
//! that CPU (a build, a VM) the exiting process then waits out that task's time slice
//! (~2-3 ms measured here) before its parent learns of the exit. Every exec loads a filter
//! of its own, so every `docker exec` paid that, on the path of its reply. So an exec loads
//! its filter with a user-notification listener (`load_held`; the program never returns
//! SECCOMP_RET_USER_NOTIF, so it never notifies) and hands the listener to the shim, which
//! closes it once the exec's exit is reported and the shim is about to wait: the free and
//! the kworker happen there, off the exec's path. A container's init does not (see
//! `load_held`'s one side effect: while the listener is open, a process under that filter
//! cannot install a filter with a listener of its own, EBUSY; for an exec that lasts as
//! long as the exec's own process, for an init it would be the container's whole life).

mod compact;
mod default;
mod eval;
pub mod profile;

use oci_spec::runtime::{LinuxSeccomp, LinuxSeccompAction, LinuxSeccompOperator, Spec};
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

pub use profile::{Profile, ProfileError, Target};

/// The annotation naming the compiled program of the spec's `linux.seccomp`.
pub const BPF_ANNOTATION: &str = "org.berth.seccomp.bpf";

/// What `docker info` calls the built-in profile, and daemon.json `seccomp-profile` accepts.
pub const BUILTIN: &str = "builtin";
/// `--security-opt seccomp=unconfined`, daemon.json `seccomp-profile: unconfined`.
pub const UNCONFINED: &str = "unconfined";

/// The profile a container runs with.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Choice {
    /// berth's built-in profile (Docker's default).
    #[default]
    Builtin,
    /// No filter.
    Unconfined,
    /// A profile in Docker's JSON format (the content, as the docker CLI sends it).
    Custom(String),
}

#[derive(Debug, thiserror::Error)]
pub enum SeccompError {
    #[error(transparent)]
    Profile(#[from] ProfileError),
    #[error("seccomp: {0}")]
    Compile(String),
    #[error("seccomp program cache {path}: {source}")]
    Cache {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// berth's built-in profile, built once.
pub fn builtin() -> &'static Profile {
    static P: OnceLock<Profile> = OnceLock::new();
    P.get_or_init(default::profile)
}

/// The `linux.seccomp` of a container with bounding capabilities `caps` ("CAP_CHOWN", ...),
/// or None for no filter (privileged, unconfined, or a profile without rules).
pub fn linux_seccomp(
    choice: &Choice,
    privileged: bool,
    caps: &[String],
) -> Result<Option<LinuxSeccomp>, ProfileError> {
    if privileged {
        return Ok(None);
    }
    let kernel = host_kernel();
    let target = Target {
        arch: profile::host_arch(),
        kernel,
        caps,
    };
    match choice {
        Choice::Unconfined => Ok(None),
        Choice::Builtin => builtin_for(caps, &target),
        Choice::Custom(text) => profile::to_oci(&Profile::parse(text)?, &target),
    }
}

/// The builtin profile for a capability set, converted once per set (the conversion costs
/// about 40 µs of every container start; nearly all containers have the default set).
fn builtin_for(caps: &[String], target: &Target) -> Result<Option<LinuxSeccomp>, ProfileError> {
    static DONE: Recent<Vec<String>, Option<LinuxSeccomp>> = Recent::new();
    let key = caps_key(caps);
    if let Some(s) = DONE.get(&*key) {
        return Ok(s);
    }
    let s = profile::to_oci(builtin(), target)?;
    DONE.put(key.into_owned(), s.clone());
    Ok(s)
}

/// `builtin_for`'s memo key: the capabilities sorted. The caller's list comes from a
/// HashSet, whose order differs from one set to the next, so the unsorted list missed the
/// memo at nearly every container start.
fn caps_key(caps: &[String]) -> std::borrow::Cow<'_, [String]> {
    if caps.is_sorted() {
        std::borrow::Cow::Borrowed(caps)
    } else {
        let mut v = caps.to_vec();
        v.sort_unstable();
        std::borrow::Cow::Owned(v)
    }
}

/// The last `KNOWN_FILTERS` values computed, by key: the memo of the builtin profile's
/// conversion and of `BpfCache`'s file names (the same few keys come back at every start).
#[derive(Debug)]
struct Recent<K, V>(Mutex<Vec<(K, V)>>);

impl<K: PartialEq, V: Clone> Recent<K, V> {
    const fn new() -> Self {
        Recent(Mutex::new(Vec::new()))
    }

    fn get<Q: PartialEq<K> + ?Sized>(&self, key: &Q) -> Option<V> {
        let items = self.0.lock().ok()?;
        items
            .iter()
            .rev()
            .find(|(k, _)| *key == *k)
            .map(|(_, v)| v.clone())
    }

    /// Remembers `value`, forgetting the oldest one past `KNOWN_FILTERS`.
    fn put(&self, key: K, value: V) {
        if let Ok(mut items) = self.0.lock() {
            if items.len() >= KNOWN_FILTERS {
                items.remove(0);
            }
            items.push((key, value));
        }
    }
}

fn host_kernel() -> (u32, u32) {
    static K: OnceLock<(u32, u32)> = OnceLock::new();
    *K.get_or_init(profile::host_kernel)
}

/// Compiles `linux.seccomp` into a classic BPF program (the bytes `seccomp(2)` takes), with
/// runc's semantics: unknown syscall names are skipped, rules with the default action are
/// redundant, several comparisons of one argument become separate rules, and the filter
/// never sets no_new_privs by itself. The program is libseccomp's, made smaller with the
/// same decisions (`compact`): it is what every container process and exec loads.
pub fn compile(seccomp: &LinuxSeccomp) -> Result<Vec<u8>, SeccompError> {
    let bpf = compile_libseccomp(seccomp)?;
    let prog = Program::from_bytes(&bpf).map_err(SeccompError::Compile)?;
    Ok(match compact::compact(&prog.0) {
        Some(small) => Program(small).to_bytes(),
        None => bpf,
    })
}

/// libseccomp's program for `seccomp` (`compile`'s rules).
fn compile_libseccomp(seccomp: &LinuxSeccomp) -> Result<Vec<u8>, SeccompError> {
    use libseccomp::{ScmpAction, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall};
    use std::io::{Read, Seek};
    let err = |what: &str, e: libseccomp::error::SeccompError| {
        SeccompError::Compile(format!("{what}: {e}"))
    };
    let action = |a: LinuxSeccompAction, errno: Option<u32>| -> Result<ScmpAction, SeccompError> {
        let errno = errno.map(|e| e as i32).unwrap_or(libc::EPERM);
        Ok(match a {
            LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
                ScmpAction::KillThread
            }
            LinuxSeccompAction::ScmpActKillProcess => ScmpAction::KillProcess,
            LinuxSeccompAction::ScmpActTrap => ScmpAction::Trap,
            LinuxSeccompAction::ScmpActErrno => ScmpAction::Errno(errno),
            LinuxSeccompAction::ScmpActTrace => ScmpAction::Trace(errno as u16),
            LinuxSeccompAction::ScmpActAllow => ScmpAction::Allow,
            LinuxSeccompAction::ScmpActLog => ScmpAction::Log,
            LinuxSeccompAction::ScmpActNotify => {
                return Err(SeccompError::Compile(
                    "SCMP_ACT_NOTIFY is not supported by berth".into(),
                ))
            }
        })
    };
    let default = action(seccomp.default_action(), seccomp.default_errno_ret())?;
    let mut ctx = ScmpFilterContext::new(default).map_err(|e| err("new filter", e))?;
    ctx.set_ctl_nnp(false).map_err(|e| err("nnp", e))?;
    // A binary tree on the syscall number instead of libseccomp's default linear chain: the
    // same decisions, but what every exec pays to load Docker's profile (983 linear
    // instructions for its three architectures) is mostly the kernel emulating the filter
    // once per syscall number to build its allow cache, which a chain makes quadratic: the
    // seccomp(2) call costs about a third with the tree (module doc). A libseccomp
    // without the attribute (before 2.5) keeps the chain: same filter, slower load.
    if let Err(e) = ctx.set_ctl_optimize(2) {
        tracing::debug!("seccomp: no binary-tree optimization in this libseccomp: {e}");
    }
    for a in seccomp.architectures().iter().flatten() {
        let arch: libseccomp::ScmpArch = serde_json::to_value(a)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| SeccompError::Compile(format!("unknown architecture {a:?}")))?;
        ctx.add_arch(arch).map_err(|e| err("add architecture", e))?;
    }
    for rule in seccomp.syscalls().iter().flatten() {
        let act = action(rule.action(), rule.errno_ret())?;
        if act == default {
            continue;
        }
        let conds: Vec<ScmpArgCompare> = rule
            .args()
            .iter()
            .flatten()
            .map(|a| {
                let op = match a.op() {
                    LinuxSeccompOperator::ScmpCmpNe => ScmpCompareOp::NotEqual,
                    LinuxSeccompOperator::ScmpCmpLt => ScmpCompareOp::Less,
                    LinuxSeccompOperator::ScmpCmpLe => ScmpCompareOp::LessOrEqual,
                    LinuxSeccompOperator::ScmpCmpEq => ScmpCompareOp::Equal,
                    LinuxSeccompOperator::ScmpCmpGe => ScmpCompareOp::GreaterEqual,
                    LinuxSeccompOperator::ScmpCmpGt => ScmpCompareOp::Greater,
                    // OCI (as runc): `value` is the mask, `valueTwo` what the masked
                    // argument must equal.
                    LinuxSeccompOperator::ScmpCmpMaskedEq => {
                        return ScmpArgCompare::new(
                            a.index() as u32,
                            ScmpCompareOp::MaskedEqual(a.value()),
                            a.value_two().unwrap_or(0),
                        )
                    }
                };
                ScmpArgCompare::new(a.index() as u32, op, a.value())
            })
            .collect();
        let mut indexes = HashSet::new();
        let repeated = !rule
            .args()
            .iter()
            .flatten()
            .all(|a| indexes.insert(a.index()));
        for name in rule.names() {
            let Ok(sc) = ScmpSyscall::from_name(name) else {
                // A syscall this libseccomp does not know: skipped, as runc does.
                continue;
            };
            if conds.is_empty() {
                ctx.add_rule(act, sc)
                    .map_err(|e| err(&format!("rule {name}"), e))?;
            } else if repeated {
                for c in &conds {
                    ctx.add_rule_conditional(act, sc, std::slice::from_ref(c))
                        .map_err(|e| err(&format!("rule {name}"), e))?;
                }
            } else {
                ctx.add_rule_conditional(act, sc, &conds)
                    .map_err(|e| err(&format!("rule {name}"), e))?;
            }
        }
    }
    // libseccomp 2.5 exports to a descriptor only.
    let name = c"berth-seccomp";
    // SAFETY: memfd_create with a valid C string; the fd is owned below.
    let fd = unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) };
    if fd < 0 {
        return Err(SeccompError::Compile(format!(
            "memfd: {}",
            std::io::Error::last_os_error()
        )));
    }
    // SAFETY: a fresh descriptor nothing else owns.
    let mut f = unsafe { <std::fs::File as std::os::fd::FromRawFd>::from_raw_fd(fd) };
    ctx.export_bpf(&f).map_err(|e| err("export", e))?;
    let mut bpf = Vec::new();
    f.rewind()
        .and_then(|_| f.read_to_end(&mut bpf))
        .map_err(|e| SeccompError::Compile(format!("read program: {e}")))?;
    if bpf.is_empty() || !bpf.len().is_multiple_of(8) {
        return Err(SeccompError::Compile("bad program size".into()));
    }
    Ok(bpf)
}

/// What `compile` produces, mixed into the cache key. "tree": libseccomp's binary tree
/// (before it, the unversioned key held its linear chain);
/// "compact": the tree made smaller by `compact`.
const PROGRAM_FORMAT: &[u8] = b"berth-seccomp-bpf tree compact\n";

/// The daemon's compiled programs, one file per distinct `linux.seccomp`.
#[derive(Debug)]
pub struct BpfCache {
    dir: PathBuf,
    /// The filters this daemon has named a file for, most recent last: a container whose
    /// filter equals one of them (nearly all: the builtin profile with the default
    /// capabilities) gets that file without its filter being serialized and hashed again,
    /// which cost about 0.13 ms of every container start.
    known: Recent<LinuxSeccomp, PathBuf>,
}

/// How many distinct filters `BpfCache` remembers (each is a few KiB).
const KNOWN_FILTERS: usize = 16;

impl BpfCache {
    pub fn new(dir: impl Into<PathBuf>) -> BpfCache {
        BpfCache {
            dir: dir.into(),
            known: Recent::new(),
        }
    }

    /// Compiles the spec's `linux.seccomp` unless this program is cached already, and
    /// names the program's file in the spec's annotations.
    pub fn attach(&self, spec: &mut Spec) -> Result<(), SeccompError> {
        let Some(seccomp) = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) else {
            if let Some(a) = spec.annotations_mut() {
                a.remove(BPF_ANNOTATION);
            }
            return Ok(());
        };
        let path = match self.known.get(seccomp) {
            Some(p) => p,
            None => {
                let path = self.file_for(seccomp)?;
                self.known.put(seccomp.clone(), path.clone());
                path
            }
        };
        let mut annotations = spec.annotations().clone().unwrap_or_default();
        annotations.insert(
            BPF_ANNOTATION.to_string(),
            path.to_string_lossy().into_owned(),
        );
        spec.set_annotations(Some(annotations));
        Ok(())
    }

    /// The cache file of `seccomp`'s program (named by the digest of its JSON), compiled
    /// and written unless it exists.
    fn file_for(&self, seccomp: &LinuxSeccomp) -> Result<PathBuf, SeccompError> {
        use sha2::Digest;
        let json = serde_json::to_vec(seccomp).map_err(|e| SeccompError::Compile(e.to_string()))?;
        // The compiler's version is part of the key: a cache written by an older berth (the
        // linear program) is not reused for the same rules.
        let mut h = sha2::Sha256::new();
        h.update(PROGRAM_FORMAT);
        h.update(&json);
        let key = hex::encode(&h.finalize()[..20]);
        let path = self.dir.join(format!("{key}.bpf"));
        if !path.is_file() {
            let bpf = compile(seccomp)?;
            let cache = |source| SeccompError::Cache {
                path: path.clone(),
                source,
            };
            std::fs::create_dir_all(&self.dir).map_err(cache)?;
            // Unique per call: two containers starting at once compile the same
            // program, and a shared temp name would lose one of the renames.
            static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
            let seq = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let tmp = self
                .dir
                .join(format!(".{key}.{}.{seq}", std::process::id()));
            std::fs::write(&tmp, &bpf)
                .and_then(|_| std::fs::rename(&tmp, &path))
                .map_err(cache)?;
        }
        Ok(path)
    }
}

/// A compiled filter, ready to load.
#[derive(Debug, Clone)]
pub struct Program(Vec<libc::sock_filter>);

impl Program {
    fn from_bytes(bpf: &[u8]) -> Result<Program, String> {
        if bpf.is_empty() || !bpf.len().is_multiple_of(8) || bpf.len() / 8 > u16::MAX as usize {
            return Err("invalid seccomp program".into());
        }
        Ok(Program(
            bpf.chunks_exact(8)
                .map(|c| libc::sock_filter {
                    code: u16::from_ne_bytes([c[0], c[1]]),
                    jt: c[2],
                    jf: c[3],
                    k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
                })
                .collect(),
        ))
    }

    fn to_bytes(&self) -> Vec<u8> {
        self.0
            .iter()
            .flat_map(|i| {
                let mut b = [0u8; 8];
                b[..2].copy_from_slice(&i.code.to_ne_bytes());
                b[2] = i.jt;
                b[3] = i.jf;
                b[4..].copy_from_slice(&i.k.to_ne_bytes());
                b
            })
            .collect()
    }

    /// The program a container's processes load: the cached one the annotation names, or
    /// (a spec written by someone else) `linux.seccomp` compiled now; None without a filter.
    pub fn for_spec(spec: &Spec) -> Result<Option<Program>, String> {
        let Some(seccomp) = spec.linux().as_ref().and_then(|l| l.seccomp().as_ref()) else {
            return Ok(None);
        };
        let cached = spec
            .annotations()
            .as_ref()
            .and_then(|a| a.get(BPF_ANNOTATION))
            .map(Path::new);
        let bpf = match cached {
            Some(p) => std::fs::read(p).map_err(|e| format!("read {}: {e}", p.display()))?,
            None => compile(seccomp).map_err(|e| e.to_string())?,
        };
        Program::from_bytes(&bpf).map(Some)
    }

    /// Installs the filter on the calling thread (needs CAP_SYS_ADMIN or no_new_privs).
    pub fn load(&self) -> Result<(), String> {
        self.install(0).map(|_| ())
    }

    /// Installs the filter as `load` does, and returns a reference to it that outlives this
    /// process: the filter's user-notification listener (close-on-exec), whose holder keeps
    /// the kernel from freeing the filter when the process exits. See "Who frees an exec's
    /// filter" above. `None` when the kernel refuses a listener (before 5.0; EBUSY if the
    /// process's filter chain has one already): the filter is then installed without it.
    pub fn load_held(&self) -> Result<Option<std::os::fd::OwnedFd>, String> {
        use std::os::fd::FromRawFd;
        const SECCOMP_FILTER_FLAG_NEW_LISTENER: libc::c_ulong = 1 << 3;
        match self.install(SECCOMP_FILTER_FLAG_NEW_LISTENER) {
            // SAFETY: the listener descriptor the kernel just created, owned by nobody else.
            Ok(fd) if fd >= 0 => Ok(Some(unsafe { std::os::fd::OwnedFd::from_raw_fd(fd) })),
            Ok(_) | Err(_) => self.load().map(|()| None),
        }
    }

    /// seccomp(SECCOMP_SET_MODE_FILTER, flags): the syscall's result (a descriptor with
    /// NEW_LISTENER, 0 otherwise).
    fn install(&self, flags: libc::c_ulong) -> Result<i32, String> {
        let prog = libc::sock_fprog {
            len: self.0.len() as u16,
            filter: self.0.as_ptr() as *mut libc::sock_filter,
        };
        // SAFETY: seccomp(SECCOMP_SET_MODE_FILTER) with a valid program that outlives the call.
        let rc = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                flags,
                &prog as *const libc::sock_fprog,
            )
        };
        if rc < 0 {
            return Err(format!(
                "load seccomp filter: {}",
                std::io::Error::last_os_error()
            ));
        }
        Ok(rc as i32)
    }

    /// Whether the filter lets syscall `nr` of the host's architecture, with arguments
    /// `args`, run (SECCOMP_RET_ALLOW or SECCOMP_RET_LOG). False for an architecture this
    /// build does not know and for a program the kernel would refuse.
    pub fn allows(&self, nr: libc::c_long, args: [u64; 6]) -> bool {
        const SECCOMP_RET_ACTION_FULL: u32 = 0xffff_0000;
        const SECCOMP_RET_ALLOW: u32 = 0x7fff_0000;
        const SECCOMP_RET_LOG: u32 = 0x7ffc_0000;
        #[cfg(target_arch = "x86_64")]
        const ARCH: Option<u32> = Some(0xc000_003e);
        #[cfg(target_arch = "aarch64")]
        const ARCH: Option<u32> = Some(0xc000_00b7);
        #[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
        const ARCH: Option<u32> = None;
        let (Some(arch), Ok(nr)) = (ARCH, u32::try_from(nr)) else {
            return false;
        };
        matches!(
            eval::run(&self.0, &eval::data(arch, nr, args)),
            Some((ret, _)) if matches!(ret & SECCOMP_RET_ACTION_FULL, SECCOMP_RET_ALLOW | SECCOMP_RET_LOG)
        )
    }

    /// Number of BPF instructions.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

#[cfg(test)]
mod tests;
