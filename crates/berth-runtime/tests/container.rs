//! Runs real containers (needs root and /bin/busybox): spawn the shim, attach, start, wait,
//! kill, logs, memory limit in the cgroup. This binary doubles as the shim: when invoked as
//! `<test-binary> shim ...` it runs `berth_runtime::shim::main`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use berth_runtime::logfile::{read_logs, ReadOptions};
use berth_runtime::shim::{log_path, spawn, SpawnOptions};
use berth_runtime::spec::{generate, NetworkNs, SpecInput};
use berth_runtime::{read_exit, ShimClient};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.get(1).map(String::as_str) == Some("shim") {
        std::process::exit(berth_runtime::shim::main(&args[2..]));
    }
    if args.get(1).map(String::as_str) == Some("shim-zygote") {
        std::process::exit(berth_runtime::shim::zygote_main());
    }
    let tests: &[(&str, fn())] = &[
        ("output_exit_code_and_log", output_exit_code_and_log),
        ("memory_limit_kill_and_rss", memory_limit_kill_and_rss),
        ("stdin_roundtrip", stdin_roundtrip),
        ("create_error_reported", create_error_reported),
    ];
    // Every test runs on berth's own init, on libcontainer, and on runc (the OCI
    // runtime CLI path).
    let runtimes = ["berth", "libcontainer", "runc"];
    let cases: Vec<(String, &str, fn())> = runtimes
        .iter()
        .flat_map(|rt| {
            tests
                .iter()
                .map(move |(n, f)| (format!("{n}_{rt}"), *rt, *f))
        })
        .collect();
    // libtest's protocol, which cargo-nextest speaks: `--list` names the tests
    // (`--ignored` lists none: nothing here is ignored), `--exact NAME` runs one.
    if args.iter().any(|a| a == "--list") {
        if !args.iter().any(|a| a == "--ignored") {
            for (name, _, _) in &cases {
                println!("{name}: test");
            }
        }
        return;
    }
    if !nix::unistd::geteuid().is_root() || !Path::new("/bin/busybox").exists() {
        eprintln!("container tests need root and /bin/busybox (scripts/install-deps.sh)");
        std::process::exit(1);
    }
    let exact = args.iter().any(|a| a == "--exact");
    let filter = args.iter().skip(1).find(|a| !a.starts_with('-')).cloned();
    let mut failed = 0;
    for (name, runtime, f) in &cases {
        let selected = match &filter {
            None => true,
            Some(flt) if exact => name == flt,
            Some(flt) => name.contains(flt.as_str()),
        };
        if !selected {
            continue;
        }
        set_runtime(runtime);
        let r = std::panic::catch_unwind(*f);
        println!(
            "test {name} ... {}",
            if r.is_ok() { "ok" } else { "FAILED" }
        );
        if r.is_err() {
            failed += 1;
        }
    }
    if failed > 0 {
        println!("{failed} container test(s) failed");
        std::process::exit(1);
    }
}

static RUNTIME: std::sync::Mutex<String> = std::sync::Mutex::new(String::new());

fn set_runtime(name: &str) {
    *RUNTIME.lock().unwrap() = name.to_string();
}

fn runtime() -> String {
    RUNTIME.lock().unwrap().clone()
}

/// A container directory with a busybox rootfs; cleans cgroups/mounts on drop.
struct Ctr {
    id: String,
    dir: PathBuf,
    _tmp: tempfile::TempDir,
}

impl Ctr {
    fn new(name: &str) -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let id = format!("berthtest-{name}-{}-{}", runtime(), std::process::id());
        let dir = tmp.path().join(&id);
        let rootfs = dir.join("bundle/rootfs");
        for d in ["bin", "etc", "tmp", "proc", "sys", "dev"] {
            std::fs::create_dir_all(rootfs.join(d)).unwrap();
        }
        std::fs::copy("/bin/busybox", rootfs.join("bin/busybox")).unwrap();
        for l in ["sh", "echo", "sleep", "cat", "true", "ls"] {
            std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(l)).unwrap();
        }
        std::fs::write(rootfs.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
        std::fs::write(rootfs.join("etc/group"), "root:x:0:\n").unwrap();
        Ctr { id, dir, _tmp: tmp }
    }

    fn input(&self, args: &[&str]) -> SpecInput {
        SpecInput {
            id: self.id.clone(),
            rootfs: self.dir.join("bundle/rootfs"),
            args: args.iter().map(|s| s.to_string()).collect(),
            hostname: "berthtest".into(),
            ..Default::default()
        }
    }

    fn write_spec(&self, input: &SpecInput) {
        let spec = generate(input).unwrap();
        std::fs::write(
            self.dir.join("bundle/config.json"),
            serde_json::to_vec_pretty(&spec).unwrap(),
        )
        .unwrap();
    }

    fn spawn(&self, stdin: bool) -> berth_runtime::ShimInfo {
        spawn(&SpawnOptions {
            exe: std::env::current_exe().unwrap(),
            id: self.id.clone(),
            dir: self.dir.clone(),
            log: Default::default(),
            stdin,
            stdin_once: stdin,
            tty: false,
            runtime: runtime(),
        })
        .unwrap()
    }

    fn memory_cgroup(&self) -> PathBuf {
        PathBuf::from(format!("/sys/fs/cgroup/memory/berth/{}", self.id))
    }
}

impl Drop for Ctr {
    fn drop(&mut self) {
        // A failed test may leave the shim or container around: kill by pid, drop cgroups.
        if let Ok(pid) = std::fs::read_to_string(self.dir.join("shim.pid")) {
            if let Ok(pid) = pid.trim().parse::<i32>() {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
        }
        if let Ok(rd) = std::fs::read_dir("/sys/fs/cgroup") {
            for c in rd.flatten() {
                let cg = c.path().join("berth").join(&self.id);
                if cg.exists() {
                    if let Ok(procs) = std::fs::read_to_string(cg.join("cgroup.procs")) {
                        for p in procs.lines().filter_map(|p| p.parse::<i32>().ok()) {
                            let _ = nix::sys::signal::kill(
                                nix::unistd::Pid::from_raw(p),
                                nix::sys::signal::Signal::SIGKILL,
                            );
                        }
                    }
                    std::thread::sleep(Duration::from_millis(100));
                    let _ = std::fs::remove_dir(&cg);
                }
            }
        }
        let rootfs = self.dir.join("bundle/rootfs");
        let _ = nix::mount::umount2(&rootfs, nix::mount::MntFlags::MNT_DETACH);
    }
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Splits a multiplexed attach stream into (stdout, stderr).
fn demux(mut data: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let (mut out, mut err) = (Vec::new(), Vec::new());
    while data.len() >= 8 {
        let len = u32::from_be_bytes([data[4], data[5], data[6], data[7]]) as usize;
        let payload = &data[8..8 + len];
        match data[0] {
            1 => out.extend_from_slice(payload),
            2 => err.extend_from_slice(payload),
            s => panic!("bad stream id {s}"),
        }
        data = &data[8 + len..];
    }
    assert!(data.is_empty(), "trailing partial frame");
    (out, err)
}

fn wait_gone(pid: i32) {
    for _ in 0..100 {
        if !Path::new(&format!("/proc/{pid}")).exists() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("shim {pid} did not exit");
}

fn output_exit_code_and_log() {
    let c = Ctr::new("out");
    let mut input = c.input(&["sh", "-c", "echo hi; echo err >&2; printf partial; exit 3"]);
    input.network = NetworkNs::New;
    c.write_spec(&input);
    let info = c.spawn(false);
    rt().block_on(async {
        let client = ShimClient::connect(&info.socket).await.unwrap();
        let st = client.state().await.unwrap();
        assert_eq!(st.status, "created");
        let mut att = client.attach(false, true, true).await.unwrap();
        let waiter = {
            let client = client.clone();
            tokio::spawn(async move { client.wait().await })
        };
        // Let the wait request register before starting.
        tokio::time::sleep(Duration::from_millis(100)).await;
        let pid = client.start().await.unwrap();
        assert!(pid > 0);
        let mut data = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), att.read_to_end(&mut data))
            .await
            .unwrap()
            .unwrap();
        let (out, err) = demux(&data);
        assert_eq!(String::from_utf8_lossy(&out), "hi\npartial");
        assert_eq!(String::from_utf8_lossy(&err), "err\n");
        let exit = waiter.await.unwrap().unwrap();
        assert_eq!(exit.exit_code, 3);
        assert!(!exit.oom_killed);
    });
    wait_gone(info.pid);
    assert_eq!(read_exit(&c.dir).unwrap().unwrap().exit_code, 3);
    let logs = read_logs(&log_path(&c.dir, &c.id), &ReadOptions::default()).unwrap();
    let text: Vec<String> = logs
        .iter()
        .map(|e| format!("{}:{}", e.stream.as_str(), String::from_utf8_lossy(&e.line)))
        .collect();
    assert!(text.contains(&"stdout:hi\n".to_string()), "{text:?}");
    assert!(text.contains(&"stderr:err\n".to_string()), "{text:?}");
    assert!(text.contains(&"stdout:partial".to_string()), "{text:?}");
    assert!(!c.dir.join("shim.sock").exists());
    assert!(!c.dir.join(format!("runtime/{}", c.id)).exists());
    assert!(!c.memory_cgroup().exists());
}

fn rss_anon(pid: i32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    s.lines()
        .find_map(|l| l.strip_prefix("RssAnon:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap()
}

fn memory_limit_kill_and_rss() {
    let c = Ctr::new("mem");
    let mut input = c.input(&["sleep", "60"]);
    input.network = NetworkNs::Host;
    input.memory = 64 << 20;
    c.write_spec(&input);
    let info = c.spawn(false);
    rt().block_on(async {
        let client = ShimClient::connect(&info.socket).await.unwrap();
        client.start().await.unwrap();
        let limit =
            std::fs::read_to_string(c.memory_cgroup().join("memory.limit_in_bytes")).unwrap();
        assert_eq!(limit.trim(), (64u64 << 20).to_string());
        assert_eq!(client.state().await.unwrap().status, "running");
        tokio::time::sleep(Duration::from_millis(200)).await;
        let rss = rss_anon(info.pid);
        println!("shim RssAnon while running: {rss} kB");
        if std::env::var_os("BERTH_SMAPS").is_some() {
            let sm = std::fs::read_to_string(format!("/proc/{}/smaps", info.pid)).unwrap();
            let mut head = String::new();
            for l in sm.lines() {
                if l.split_whitespace()
                    .next()
                    .is_some_and(|w| w.contains('-') && !w.ends_with(':'))
                {
                    head = l.to_string();
                } else if let Some(v) = l.strip_prefix("Anonymous:") {
                    if v.trim() != "0 kB" {
                        println!("{v:>10}  {head}");
                    }
                }
            }
        }
        let waiter = {
            let client = client.clone();
            tokio::spawn(async move { client.wait().await })
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        client.kill(9).await.unwrap();
        let exit = tokio::time::timeout(Duration::from_secs(10), waiter)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(exit.exit_code, 137);
    });
    wait_gone(info.pid);
    assert!(!c.memory_cgroup().exists(), "cgroup not removed");
}

fn stdin_roundtrip() {
    let c = Ctr::new("stdin");
    let input = c.input(&["cat"]);
    c.write_spec(&input);
    let info = c.spawn(true);
    rt().block_on(async {
        let client = ShimClient::connect(&info.socket).await.unwrap();
        let mut att = client.attach(true, true, true).await.unwrap();
        client.start().await.unwrap();
        att.write_all(b"hello\n").await.unwrap();
        att.shutdown().await.unwrap();
        let mut data = Vec::new();
        tokio::time::timeout(Duration::from_secs(10), att.read_to_end(&mut data))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(demux(&data).0, b"hello\n");
    });
    wait_gone(info.pid);
    assert_eq!(read_exit(&c.dir).unwrap().unwrap().exit_code, 0);
}

fn create_error_reported() {
    let c = Ctr::new("bad");
    let mut input = c.input(&["true"]);
    input.network = NetworkNs::Path("/nonexistent/netns".into());
    c.write_spec(&input);
    let err = spawn(&SpawnOptions {
        exe: std::env::current_exe().unwrap(),
        id: c.id.clone(),
        dir: c.dir.clone(),
        log: Default::default(),
        stdin: false,
        stdin_once: false,
        tty: false,
        runtime: runtime(),
    })
    .unwrap_err();
    println!("create error: {err}");
    assert!(!err.to_string().is_empty());
}
