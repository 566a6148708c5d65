//! Who can reach the daemon (issue 14): the API socket belongs to root and the socket group
//! (`-G`, default `docker`) with mode 0660, as dockerd's; `-H tcp://` is served only with
//! mutual TLS (a client certificate signed by `--tlscacert`), checked with the real docker
//! CLI, curl and openssl; unauthenticated TCP is refused at start (moby 28 still allows it
//! after a deprecation warning and a delay; berth makes the announced hard failure now);
//! shim control sockets are reachable by root alone. Tests are prefixed `apiaccess_`.

use berth_tests::{berth_bin, free_port, run_command, NetSlot, Output, TestDaemon};
use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

/// A throwaway CA with a server certificate for 127.0.0.1/localhost and a client
/// certificate, plus a second CA's client certificate (which must be refused).
struct Pki {
    dir: PathBuf,
}

impl Pki {
    fn new(dir: &Path) -> Pki {
        let dir = dir.join("pki");
        fs::create_dir_all(&dir).expect("pki dir");
        let sh = r#"set -e
ca() { openssl req -x509 -newkey rsa:2048 -nodes -keyout "$1-key.pem" -out "$1.pem" -days 2 -subj "/CN=$1" 2>/dev/null; }
leaf() { # leaf NAME CA EXT
  openssl req -newkey rsa:2048 -nodes -keyout "$1-key.pem" -out "$1.csr" -subj "/CN=$1" 2>/dev/null
  printf '%s\n' "$3" > "$1.ext"
  openssl x509 -req -in "$1.csr" -CA "$2.pem" -CAkey "$2-key.pem" -CAcreateserial -out "$1-cert.pem" -days 2 -extfile "$1.ext" 2>/dev/null
}
ca ca; ca otherca
leaf server ca "subjectAltName=DNS:localhost,IP:127.0.0.1
extendedKeyUsage=serverAuth"
leaf client ca "extendedKeyUsage=clientAuth"
leaf rogue otherca "extendedKeyUsage=clientAuth"
"#;
        let mut c = Command::new("sh");
        c.args(["-c", sh]).current_dir(&dir);
        run_command(c, None, Duration::from_secs(60)).success();
        Pki { dir }
    }

    fn p(&self, name: &str) -> String {
        self.dir.join(name).to_string_lossy().into_owned()
    }
}

/// `docker -H tcp://127.0.0.1:PORT ARGS` with its own config dir and no TLS environment.
fn docker_tcp(d: &TestDaemon, port: u16, args: &[&str]) -> Output {
    let mut c = Command::new("docker");
    c.arg("-H")
        .arg(format!("tcp://127.0.0.1:{port}"))
        .args(args)
        .env("DOCKER_CONFIG", d.dir.join("docker-config"))
        .env("DOCKER_CLI_HINTS", "false")
        .env_remove("DOCKER_HOST")
        .env_remove("DOCKER_TLS_VERIFY")
        .env_remove("DOCKER_CERT_PATH")
        .env_remove("DOCKER_CONTEXT");
    run_command(c, None, Duration::from_secs(30))
}

fn curl(args: &[&str]) -> Output {
    let mut c = Command::new("curl");
    c.args(["-sS", "--max-time", "10"]).args(args);
    run_command(c, None, Duration::from_secs(20))
}

/// An HTTP/1.0 `GET /_ping` through `openssl s_client` (with or without a client cert).
fn openssl_ping(port: u16, ca: &str, cert: Option<(&str, &str)>) -> Output {
    let mut c = Command::new("openssl");
    c.args(["s_client", "-quiet", "-connect"])
        .arg(format!("127.0.0.1:{port}"))
        .args(["-CAfile", ca, "-verify_return_error"]);
    if let Some((cert, key)) = cert {
        c.args(["-cert", cert, "-key", key]);
    }
    run_command(
        c,
        Some(b"GET /_ping HTTP/1.0\r\nHost: localhost\r\n\r\n"),
        Duration::from_secs(20),
    )
}

/// The issue's test: the TCP socket refuses clients without a valid certificate (plain
/// HTTP, TLS without a certificate, a certificate of another CA) and serves one with, the
/// docker CLI's `--tlsverify` included, hijacked streams (`run` attaches) too.
#[test]
fn apiaccess_tcp_serves_only_clients_with_a_certificate_of_the_ca() {
    let port = free_port();
    let tmp = tempfile_dir("tls");
    let pki = Pki::new(&tmp);
    let host = format!("tcp://127.0.0.1:{port}");
    let (ca, cert, key) = (
        pki.p("ca.pem"),
        pki.p("server-cert.pem"),
        pki.p("server-key.pem"),
    );
    let d = TestDaemon::start_with_args(&[
        "-H",
        &host,
        "--tlsverify",
        "--tlscacert",
        &ca,
        "--tlscert",
        &cert,
        "--tlskey",
        &key,
    ]);
    d.berth(["load", "-i"])
        .arg(berth_tests::busybox_tar())
        .run()
        .success();
    let client = [
        "--tlsverify",
        "--tlscacert",
        &ca,
        "--tlscert",
        &pki.p("client-cert.pem"),
        "--tlskey",
        &pki.p("client-key.pem"),
    ];
    // The real docker CLI with a client certificate: served, streams included.
    let mut args = client.to_vec();
    args.extend(["version", "--format", "{{.Server.Version}}"]);
    let v = docker_tcp(&d, port, &args);
    v.success();
    assert!(!v.stdout.trim().is_empty(), "{v:?}");
    let mut args = client.to_vec();
    args.extend(["run", "--rm", "busybox", "echo", "over mutual TLS"]);
    docker_tcp(&d, port, &args)
        .success()
        .stdout_is("over mutual TLS\n");
    // Without TLS, with TLS but no certificate, with another CA's certificate: refused.
    docker_tcp(&d, port, &["version"]).failure();
    docker_tcp(&d, port, &["--tls", "--tlscacert", &ca, "version"]).failure();
    docker_tcp(
        &d,
        port,
        &[
            "--tlsverify",
            "--tlscacert",
            &ca,
            "--tlscert",
            &pki.p("rogue-cert.pem"),
            "--tlskey",
            &pki.p("rogue-key.pem"),
            "ps",
        ],
    )
    .failure();
    // curl: the same three refusals and the one acceptance.
    let url = format!("https://127.0.0.1:{port}/_ping");
    curl(&[
        "--cacert",
        &ca,
        "--cert",
        &pki.p("client-cert.pem"),
        "--key",
        &pki.p("client-key.pem"),
        &url,
    ])
    .success()
    .stdout_is("OK");
    curl(&[&format!("http://127.0.0.1:{port}/_ping")]).failure();
    let o = curl(&["--cacert", &ca, &url]);
    assert!(
        o.code != 0 || o.stdout != "OK",
        "served without a certificate: {o:?}"
    );
    let o = curl(&[
        "--cacert",
        &ca,
        "--cert",
        &pki.p("rogue-cert.pem"),
        "--key",
        &pki.p("rogue-key.pem"),
        &url,
    ]);
    assert!(
        o.code != 0 || o.stdout != "OK",
        "served another CA's client: {o:?}"
    );
    // openssl s_client: only the handshake with the client certificate gets an answer.
    let o = openssl_ping(
        port,
        &ca,
        Some((&pki.p("client-cert.pem"), &pki.p("client-key.pem"))),
    );
    assert!(o.stdout.contains("OK"), "{o:?}");
    let o = openssl_ping(port, &ca, None);
    assert!(
        !o.stdout.contains("OK"),
        "served without a certificate: {o:?}"
    );
    let o = openssl_ping(
        port,
        &ca,
        Some((&pki.p("rogue-cert.pem"), &pki.p("rogue-key.pem"))),
    );
    assert!(
        !o.stdout.contains("OK"),
        "served another CA's client: {o:?}"
    );
    let _ = fs::remove_dir_all(&tmp);
}

fn tempfile_dir(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("berth-api-{tag}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&d);
    fs::create_dir_all(&d).expect("temp dir");
    d
}

/// `berth daemon ARGS` that must refuse to start: its exit code and stderr. It gets a
/// private data root, socket and network slot, so a daemon that started anyway would
/// touch nothing shared (and is killed by the timeout).
fn daemon_refusal(tag: &str, args: &[&str]) -> Output {
    let dir = tempfile_dir(tag);
    let net = NetSlot::acquire();
    fs::write(dir.join("daemon.json"), net.daemon_json("")).expect("daemon.json");
    let mut c = Command::new(berth_bin());
    c.arg("daemon")
        .arg("--data-root")
        .arg(dir.join("data"))
        .arg("--config-file")
        .arg(dir.join("daemon.json"))
        .arg("-H")
        .arg(format!("unix://{}", dir.join("s.sock").display()))
        .args(args)
        .env("BERTH_NO_AUTOSTART", "1");
    let o = run_command(c, None, Duration::from_secs(15));
    // A daemon that stops at start leaves no firewall state behind (it used to leave its
    // nftables table and iptables FORWARD rules when the listeners failed).
    let table = berth_net::firewall::table_name(&dir.join("data"));
    let left = berth_tests::nettest::nft_table("ip", &table);
    let _ = berth_net::firewall::remove(&table);
    for family in [
        berth_net::iptables::Family::V4,
        berth_net::iptables::Family::V6,
    ] {
        let _ = berth_net::iptables::remove(&mut berth_net::iptables::HostRunner, family, &table);
    }
    assert!(
        left.is_none(),
        "{tag}: the refused daemon left its table: {left:?}"
    );
    berth_tests::unmount_under(&dir);
    let _ = fs::remove_dir_all(&dir);
    o
}

/// Plain TCP, or TLS without client verification, is refused with Docker's warning as the
/// reason (moby 28 warns "In future versions this will be a hard failure preventing the
/// daemon from starting"); missing certificate files are named as dockerd names them.
#[test]
fn apiaccess_unauthenticated_tcp_is_refused_at_start() {
    let port = free_port();
    let host = format!("tcp://127.0.0.1:{port}");
    let o = daemon_refusal("plain", &["-H", &host]);
    o.code(1);
    assert!(
        o.stderr.contains(&format!(
            "refusing to listen on {host} without --tlsverify: Binding to IP address without --tlsverify is insecure"
        )),
        "{o:?}"
    );
    let o = daemon_refusal("tlsonly", &["-H", &host, "--tls"]);
    o.code(1);
    assert!(o.stderr.contains("without --tlsverify"), "{o:?}");
    let o = daemon_refusal(
        "nocert",
        &[
            "-H",
            &host,
            "--tlsverify",
            "--tlscacert=/nonexistent/ca.pem",
            "--tlscert=/nonexistent/cert.pem",
            "--tlskey=/nonexistent/key.pem",
        ],
    );
    o.code(1);
    assert!(
        o.stderr.contains(
            "Could not load X509 key pair (cert: \"/nonexistent/cert.pem\", key: \"/nonexistent/key.pem\")"
        ),
        "{o:?}"
    );
    // Nothing listens on the port afterwards.
    curl(&[&format!("http://127.0.0.1:{port}/_ping")]).failure();
}

/// As uid/gid 65534 with `groups` as its only supplementary groups: `connect(2)` to the
/// unix socket `path` (Debian's python3, not a pyenv shim under /root), printing
/// `connected` or the errno's name; with `ping`, curl's `GET /_ping` through it instead.
fn as_nobody(path: &Path, groups: &str, ping: bool) -> Output {
    let mut c = Command::new("setpriv");
    c.args(["--reuid=65534", "--regid=65534"]);
    if groups.is_empty() {
        c.arg("--clear-groups");
    } else {
        c.arg(format!("--groups={groups}"));
    }
    if ping {
        c.args(["curl", "-sS", "--max-time", "5", "--unix-socket"])
            .arg(path)
            .arg("http://localhost/_ping");
    } else {
        c.args([
            "/usr/bin/python3",
            "-c",
            "import errno,socket,sys\ns=socket.socket(socket.AF_UNIX)\ntry:\n s.connect(sys.argv[1]); print('connected')\nexcept OSError as e:\n print(errno.errorcode[e.errno])",
        ])
        .arg(path);
    }
    run_command(c, None, Duration::from_secs(15))
}

/// The socket's group and mode, as dockerd's: `-G 4242` (not in /etc/group: used as a
/// gid, as moby's lookupGID does) gives root:4242 0660; a member of the group connects,
/// anybody else gets EACCES; the default group is `docker` when it exists; a missing
/// group that was asked for stops the daemon with dockerd's message.
#[test]
fn apiaccess_socket_belongs_to_root_and_the_socket_group() {
    let d = TestDaemon::start_with_args(&["-G", "4242"]);
    let md = fs::metadata(&d.socket).expect("socket");
    assert!(md.file_type().is_socket());
    assert_eq!((md.uid(), md.gid(), md.mode() & 0o7777), (0, 4242, 0o660));
    // Members of the group reach the API; nobody else does.
    as_nobody(&d.socket, "4242", true).success().stdout_is("OK");
    as_nobody(&d.socket, "", false)
        .success()
        .stdout_is("EACCES\n");
    drop(d);

    let d = TestDaemon::start_empty();
    let md = fs::metadata(&d.socket).expect("socket");
    let docker_gid = fs::read_to_string("/etc/group")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            let f: Vec<&str> = l.split(':').collect();
            (f.first() == Some(&"docker")).then(|| f.get(2)?.parse::<u32>().ok())?
        });
    // dockerd: a missing default group leaves the daemon's own group, with a warning.
    assert_eq!(md.gid(), docker_gid.unwrap_or(0));
    assert_eq!(md.mode() & 0o7777, 0o660);
    drop(d);

    let o = daemon_refusal("nogroup", &["-G", "no-such-group-berth"]);
    o.code(1);
    assert!(
        o.stderr
            .contains("failed to load listeners: group no-such-group-berth not found"),
        "{o:?}"
    );
}

/// The shims' control sockets: their directory is 0700 and each socket 0600, so no other
/// user can start, stop or exec in a container through them.
#[test]
fn apiaccess_shim_sockets_are_root_only() {
    let d = TestDaemon::start();
    let id = d
        .berth(["run", "-d", "busybox", "sleep", "300"])
        .run()
        .success()
        .out();
    let cdir = d.data_root.join("containers").join(id.trim());
    let sock = berth_runtime::shim::socket_path(&cdir);
    let md = fs::metadata(&sock).expect("shim socket");
    assert!(md.file_type().is_socket());
    assert_eq!(md.mode() & 0o777, 0o600);
    let dir = sock.parent().expect("socket dir");
    assert_eq!(fs::metadata(dir).expect("dir").mode() & 0o777, 0o700);
    as_nobody(&sock, "", false).success().stdout_is("EACCES\n");
    // Root (the daemon) still talks to it: the container stops through its shim.
    d.berth(["rm", "-f", id.trim()]).run().success();
}
