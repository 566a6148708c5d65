//! Remote daemons for the CLI's tcp:// and ssh:// tests, all on 127.0.0.1 and all torn
//! down on drop (processes killed by pid, files removed):
//!
//! - [`TestCa`]: a CA made with openssl, a server certificate for 127.0.0.1/localhost and a
//!   client certificate, plus certificates from a second, untrusted CA for the bad cases;
//! - [`TlsListener`]: socat terminating TLS (client certificate required, verified against
//!   a CA) in front of a daemon's unix socket, as dockerd's `--tlsverify` listener does;
//! - [`PrivateSshd`]: an sshd of our own (own host key, config, authorized key, free port;
//!   the host's sshd is never touched) whose sessions see the test daemon as `BERTH_HOST`
//!   and `DOCKER_HOST`, and an `ssh` wrapper that uses our key and known-hosts file.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub use crate::nettest::ScratchDir;
use crate::registry::free_port;

fn run_ok(cmd: &mut Command) {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("spawn {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A test certificate authority and the certificates signed by it (PEM files in `dir`).
pub struct TestCa {
    pub dir: ScratchDir,
}

impl TestCa {
    /// Makes `ca.pem`, `server-{cert,key}.pem` (127.0.0.1, localhost), `cert.pem`/`key.pem`
    /// (a client), and from another CA `rogue-ca.pem`, `rogue-server-*.pem`, `rogue-cert.pem`,
    /// `rogue-key.pem`.
    pub fn new() -> TestCa {
        let dir = ScratchDir::new("ca");
        let d = dir.path().to_path_buf();
        for ca in ["ca", "rogue-ca"] {
            run_ok(
                Command::new("openssl")
                    .current_dir(&d)
                    .args([
                        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    ])
                    .args([
                        "-keyout",
                        &format!("{ca}-key.pem"),
                        "-out",
                        &format!("{ca}.pem"),
                    ])
                    .args(["-subj", &format!("/CN=berth test {ca}")]),
            );
        }
        let sign = |ca: &str, name: &str, cn: &str, ext: &str| {
            run_ok(
                Command::new("openssl")
                    .current_dir(&d)
                    .args([
                        "req",
                        "-newkey",
                        "rsa:2048",
                        "-nodes",
                        "-subj",
                        &format!("/CN={cn}"),
                    ])
                    .args([
                        "-keyout",
                        &format!("{name}-key.pem"),
                        "-out",
                        &format!("{name}.csr"),
                    ]),
            );
            std::fs::write(d.join(format!("{name}.ext")), ext).expect("ext file");
            run_ok(
                Command::new("openssl")
                    .current_dir(&d)
                    .args(["x509", "-req", "-days", "2", "-in", &format!("{name}.csr")])
                    .args([
                        "-CA",
                        &format!("{ca}.pem"),
                        "-CAkey",
                        &format!("{ca}-key.pem"),
                    ])
                    .args(["-CAcreateserial", "-out", &format!("{name}-cert.pem")])
                    .args(["-extfile", &format!("{name}.ext")]),
            );
        };
        let server = "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n";
        let client = "extendedKeyUsage=clientAuth\n";
        sign("ca", "server", "127.0.0.1", server);
        sign("ca", "client", "client", client);
        sign("rogue-ca", "rogue-server", "127.0.0.1", server);
        sign("rogue-ca", "rogue-client", "client", client);
        // docker's names for the client side.
        for (from, to) in [
            ("client-cert.pem", "cert.pem"),
            ("client-key.pem", "key.pem"),
            ("rogue-client-cert.pem", "rogue-cert.pem"),
            ("rogue-client-key.pem", "rogue-key.pem"),
        ] {
            std::fs::copy(d.join(from), d.join(to)).expect("copy cert");
        }
        TestCa { dir }
    }

    pub fn file(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A directory holding `ca.pem`, `cert.pem`, `key.pem` (docker's DOCKER_CERT_PATH).
    pub fn cert_path(&self) -> PathBuf {
        self.dir.path().to_path_buf()
    }
}

impl Default for TestCa {
    fn default() -> Self {
        Self::new()
    }
}

fn kill_child(c: &mut Child) {
    // SAFETY: signalling our own child by pid.
    unsafe { libc::kill(c.id() as i32, libc::SIGTERM) };
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Ok(Some(_)) = c.try_wait() {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = c.kill();
    let _ = c.wait();
}

fn wait_port(port: u16, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(Instant::now() < deadline, "{what} did not listen on {port}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// TLS on 127.0.0.1:`port` in front of `socket`, client certificates required.
pub struct TlsListener {
    pub port: u16,
    child: Child,
}

impl TlsListener {
    /// `server` is the certificate prefix ("server" or "rogue-server"); client certificates
    /// are verified against `client_ca` ("ca.pem").
    pub fn start(ca: &TestCa, server: &str, client_ca: &str, socket: &Path) -> TlsListener {
        let port = free_port();
        let listen = format!(
            "OPENSSL-LISTEN:{port},bind=127.0.0.1,reuseaddr,fork,cert={},key={},cafile={},verify=1",
            ca.file(&format!("{server}-cert.pem")).display(),
            ca.file(&format!("{server}-key.pem")).display(),
            ca.file(client_ca).display(),
        );
        let child = Command::new("socat")
            .args([&listen, &format!("UNIX-CONNECT:{}", socket.display())])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("socat (scripts/install-deps.sh installs it)");
        wait_port(port, "socat");
        TlsListener { port, child }
    }

    pub fn host(&self) -> String {
        format!("tcp://127.0.0.1:{}", self.port)
    }
}

impl Drop for TlsListener {
    fn drop(&mut self) {
        kill_child(&mut self.child);
    }
}

/// A private sshd on 127.0.0.1 whose sessions reach `socket` as their daemon.
pub struct PrivateSshd {
    pub port: u16,
    pub dir: ScratchDir,
    child: Child,
}

impl PrivateSshd {
    /// `berth` is the binary the far side runs as `berth` (on the sessions' PATH).
    pub fn start(socket: &Path, berth: &Path) -> PrivateSshd {
        let dir = ScratchDir::new("sshd");
        let d = dir.path().to_path_buf();
        for key in ["hostkey", "id"] {
            run_ok(
                Command::new("ssh-keygen")
                    .args(["-q", "-t", "ed25519", "-N", "", "-f"])
                    .arg(d.join(key)),
            );
        }
        std::fs::copy(d.join("id.pub"), d.join("authorized_keys")).expect("authorized_keys");
        let bin = d.join("bin");
        std::fs::create_dir_all(&bin).expect("bin dir");
        std::os::unix::fs::symlink(berth, bin.join("berth")).expect("berth link");
        let port = free_port();
        let host = format!("unix://{}", socket.display());
        let path = format!("{}:/usr/local/bin:/usr/bin:/bin", bin.display());
        let cfg = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {hk}\nPidFile {pid}\nAuthorizedKeysFile {ak}\nStrictModes no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\nPermitRootLogin prohibit-password\nAllowTcpForwarding no\nX11Forwarding no\nSetEnv BERTH_HOST={host} DOCKER_HOST={host} BERTH_NO_AUTOSTART=1 PATH={path}\n",
            hk = d.join("hostkey").display(),
            pid = d.join("sshd.pid").display(),
            ak = d.join("authorized_keys").display(),
        );
        std::fs::write(d.join("sshd_config"), cfg).expect("sshd_config");
        // sshd refuses to start without its privilege separation directory.
        let _ = std::fs::create_dir_all("/run/sshd");
        let child = Command::new("/usr/sbin/sshd")
            .arg("-D")
            .arg("-e")
            .arg("-f")
            .arg(d.join("sshd_config"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(d.join("sshd.log")).expect("sshd log"))
            .spawn()
            .expect("sshd (scripts/install-deps.sh installs openssh-server)");
        wait_port(port, "sshd");
        // The client side: an `ssh` first on PATH that uses our key and known hosts.
        let ssh_cfg = format!(
            "Host *\n  IdentityFile {id}\n  IdentitiesOnly yes\n  UserKnownHostsFile {kh}\n  StrictHostKeyChecking accept-new\n  BatchMode yes\n  LogLevel ERROR\n",
            id = d.join("id").display(),
            kh = d.join("known_hosts").display(),
        );
        std::fs::write(d.join("ssh_config"), ssh_cfg).expect("ssh_config");
        let wrap = d.join("client-bin");
        std::fs::create_dir_all(&wrap).expect("client bin");
        let script = format!(
            "#!/bin/sh\nexec /usr/bin/ssh -F {} \"$@\"\n",
            d.join("ssh_config").display()
        );
        std::fs::write(wrap.join("ssh"), script).expect("ssh wrapper");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(wrap.join("ssh"), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        PrivateSshd { port, dir, child }
    }

    /// `ssh://root@127.0.0.1:PORT`.
    pub fn host(&self) -> String {
        format!("ssh://root@127.0.0.1:{}", self.port)
    }

    /// The PATH for client processes: our `ssh` wrapper first.
    pub fn client_path(&self) -> String {
        format!(
            "{}:/usr/local/bin:/usr/bin:/bin",
            self.dir.path().join("client-bin").display()
        )
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("sshd.log")).unwrap_or_default()
    }
}

impl Drop for PrivateSshd {
    fn drop(&mut self) {
        kill_child(&mut self.child);
    }
}
