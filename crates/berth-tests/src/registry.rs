//! A private Debian `docker-registry` on 127.0.0.1 for registry tests, killed by PID and its
//! storage removed on drop (also when the test panics).

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// A TCP port nothing on the host uses right now (the kernel's choice, released at once).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

/// The manifest digest a `push` printed (`...: digest: sha256:... size: N`).
pub fn pushed_digest(out: &str) -> String {
    out.lines()
        .find_map(|l| l.split("digest: ").nth(1))
        .and_then(|r| r.split_whitespace().next())
        .unwrap_or_else(|| panic!("no digest line in push output:\n{out}"))
        .to_string()
}

/// A running docker-registry with its own storage directory.
pub struct LocalRegistry {
    child: Child,
    port: u16,
    dir: PathBuf,
}

impl LocalRegistry {
    /// No authentication.
    pub fn start() -> LocalRegistry {
        Self::start_in(Self::fresh_dir(), "")
    }

    /// Basic auth from an htpasswd file's content.
    pub fn start_htpasswd(htpasswd: &str) -> LocalRegistry {
        let dir = Self::fresh_dir();
        let p = dir.join("htpasswd");
        std::fs::write(&p, htpasswd).expect("write htpasswd");
        let auth = format!(
            "auth:\n  htpasswd:\n    realm: basic-realm\n    path: {}\n",
            p.display()
        );
        Self::start_in(dir, &auth)
    }

    /// Bearer-token auth: tokens from `realm`, signed by the key of `cert`. `dir` is removed
    /// on drop.
    pub fn start_token(
        dir: PathBuf,
        realm: &str,
        service: &str,
        issuer: &str,
        cert: &Path,
    ) -> LocalRegistry {
        let auth = format!(
            "auth:\n  token:\n    realm: {realm}\n    service: {service}\n    issuer: {issuer}\n    rootcertbundle: {}\n",
            cert.display()
        );
        Self::start_in(dir, &auth)
    }

    /// HTTPS with the given certificate and key. `dir` is removed on drop.
    pub fn start_tls(dir: PathBuf, cert: &Path, key: &Path) -> LocalRegistry {
        // Indented: these keys continue the `http:` section the config ends with.
        let tls = format!(
            "  tls:\n    certificate: {}\n    key: {}\n",
            cert.display(),
            key.display()
        );
        Self::start_in(dir, &tls)
    }

    fn fresh_dir() -> PathBuf {
        use std::sync::atomic::{AtomicUsize, Ordering};
        static N: AtomicUsize = AtomicUsize::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("berth-reg-{}-{n}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("mkdir registry dir");
        dir
    }

    fn start_in(dir: PathBuf, extra_yaml: &str) -> LocalRegistry {
        let port = free_port();
        std::fs::create_dir_all(dir.join("data")).expect("mkdir registry data");
        let cfg = format!(
            "version: 0.1\nlog:\n  level: error\nstorage:\n  filesystem:\n    rootdirectory: {}\nhttp:\n  addr: 127.0.0.1:{port}\n{extra_yaml}",
            dir.join("data").display()
        );
        let cfg_path = dir.join("config.yml");
        std::fs::write(&cfg_path, cfg).expect("write registry config");
        let child = Command::new("/usr/bin/docker-registry")
            .arg("serve")
            .arg(&cfg_path)
            // Its HTTP access log (one line per request, Apache's combined format).
            .stdout(std::fs::File::create(dir.join("access.log")).expect("registry access log"))
            .stderr(std::fs::File::create(dir.join("log")).expect("registry log"))
            .spawn()
            .expect("start docker-registry (scripts/install-deps.sh installs it)");
        let reg = LocalRegistry { child, port, dir };
        let deadline = Instant::now() + Duration::from_secs(15);
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "docker-registry did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
        reg
    }

    /// `127.0.0.1:PORT`, the registry part of an image reference.
    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The requests it answered so far (its access log: `... "GET /v2/... HTTP/1.1" 200 ...`).
    pub fn access_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("access.log")).unwrap_or_default()
    }

    /// GET on the registry (curl), the body's bytes; panics on an HTTP error.
    pub fn get(&self, path: &str, accept: &str) -> Vec<u8> {
        let out = Command::new("curl")
            .args(["-fsS", "-H", &format!("Accept: {accept}")])
            .arg(format!("http://{}{path}", self.host()))
            .output()
            .expect("curl");
        assert!(
            out.status.success(),
            "GET {path}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        out.stdout
    }

    /// The OCI manifest of `repo:tag`.
    pub fn manifest(&self, repo: &str, tag: &str) -> serde_json::Value {
        let body = self.get(
            &format!("/v2/{repo}/manifests/{tag}"),
            "application/vnd.oci.image.manifest.v1+json",
        );
        serde_json::from_slice(&body).expect("manifest json")
    }
}

impl Drop for LocalRegistry {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// One htpasswd line (bcrypt) for `user` with `pass`, for [`LocalRegistry::start_htpasswd`].
pub fn htpasswd_line(user: &str, pass: &str) -> String {
    let out = std::process::Command::new("htpasswd")
        .args(["-Bbn", user, pass])
        .output()
        .expect("htpasswd (apache2-utils)");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).to_string()
}
