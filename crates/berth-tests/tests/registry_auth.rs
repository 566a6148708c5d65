//! Registries, bearer-token auth (issue 6): docker-registry with `auth: token` and a small
//! token server started by the test (RS256 tokens signed with a key and self-signed
//! certificate made by openssl, the certificate being the registry's rootcertbundle). Login,
//! push and pull with berth and with the docker CLI; a wrong password gives docker's message.

use berth_tests::{busybox_image_id, eventually, LocalRegistry, TestDaemon};
use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const USER: &str = "alice";
const PASS: &str = "s3cret";
const SERVICE: &str = "berth-test-registry";
const ISSUER: &str = "berth-test-issuer";

fn b64(data: &[u8], url: bool) -> String {
    let t: &[u8; 64] = if url {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    } else {
        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    };
    let mut out = String::new();
    for c in data.chunks(3) {
        let n = (c[0] as u32) << 16
            | (*c.get(1).unwrap_or(&0) as u32) << 8
            | *c.get(2).unwrap_or(&0) as u32;
        for i in 0..=c.len() {
            out.push(t[(n >> (18 - 6 * i) & 63) as usize] as char);
        }
        if !url {
            for _ in c.len()..3 {
                out.push('=');
            }
        }
    }
    out
}

fn b64_decode(s: &str) -> Vec<u8> {
    let val = |c: u8| match c {
        b'A'..=b'Z' => c - b'A',
        b'a'..=b'z' => c - b'a' + 26,
        b'0'..=b'9' => c - b'0' + 52,
        b'+' | b'-' => 62,
        _ => 63,
    };
    let s: Vec<u8> = s.bytes().filter(|&c| c != b'=').collect();
    let mut out = Vec::new();
    for c in s.chunks(4) {
        let mut n = 0u32;
        for (i, &ch) in c.iter().enumerate() {
            n |= (val(ch) as u32) << (18 - 6 * i);
        }
        for i in 0..c.len().saturating_sub(1) {
            out.push((n >> (16 - 8 * i)) as u8);
        }
    }
    out
}

fn openssl(args: &[&str], stdin: Option<&[u8]>) -> Vec<u8> {
    let mut c = Command::new("openssl")
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("openssl");
    if let Some(data) = stdin {
        c.stdin
            .take()
            .expect("stdin")
            .write_all(data)
            .expect("write");
    } else {
        drop(c.stdin.take());
    }
    let out = c.wait_with_output().expect("openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The token server's signing key and certificate (PEM files in `dir`) and the cert's DER.
fn signing_key(dir: &Path) -> (PathBuf, PathBuf, Vec<u8>) {
    let key = dir.join("token.key");
    let cert = dir.join("token.crt");
    openssl(
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=berth-test-token-issuer",
            "-keyout",
            key.to_str().expect("utf8"),
            "-out",
            cert.to_str().expect("utf8"),
        ],
        None,
    );
    let der = openssl(
        &[
            "x509",
            "-in",
            cert.to_str().expect("utf8"),
            "-outform",
            "DER",
        ],
        None,
    );
    (key, cert, der)
}

/// A token server: GET /token?service=..&scope=.. with basic credentials. Good credentials
/// get every action they ask for; none get an empty grant; wrong ones a 401 with the body
/// Docker Hub's token server sends.
struct TokenServer {
    port: u16,
    stop: Arc<AtomicBool>,
    issued: Arc<AtomicUsize>,
    handle: Option<std::thread::JoinHandle<()>>,
}

fn query_params(q: &str) -> Vec<(String, String)> {
    q.split('&')
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| {
            let mut out = Vec::new();
            let b = v.as_bytes();
            let mut i = 0;
            while i < b.len() {
                if b[i] == b'%' && i + 2 < b.len() {
                    let h = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("00");
                    out.push(u8::from_str_radix(h, 16).unwrap_or(b'?'));
                    i += 3;
                } else {
                    out.push(if b[i] == b'+' { b' ' } else { b[i] });
                    i += 1;
                }
            }
            (k.to_string(), String::from_utf8_lossy(&out).to_string())
        })
        .collect()
}

impl TokenServer {
    fn start(key: PathBuf, cert_der: Vec<u8>) -> TokenServer {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind");
        let port = l.local_addr().expect("addr").port();
        l.set_nonblocking(true).expect("nonblocking");
        let stop = Arc::new(AtomicBool::new(false));
        let issued = Arc::new(AtomicUsize::new(0));
        let (stop2, issued2) = (stop.clone(), issued.clone());
        let good = format!("Basic {}", b64(format!("{USER}:{PASS}").as_bytes(), false));
        let handle = std::thread::spawn(move || {
            while !stop2.load(Ordering::Relaxed) {
                let (mut s, _) = match l.accept() {
                    Ok(x) => x,
                    Err(_) => {
                        std::thread::sleep(Duration::from_millis(5));
                        continue;
                    }
                };
                let _ = s.set_nonblocking(false);
                let mut r = BufReader::new(s.try_clone().expect("clone"));
                let mut first = String::new();
                if r.read_line(&mut first).is_err() {
                    continue;
                }
                let mut authz = None;
                loop {
                    let mut h = String::new();
                    if r.read_line(&mut h).is_err() || h.trim().is_empty() {
                        break;
                    }
                    if let Some((k, v)) = h.split_once(':') {
                        if k.eq_ignore_ascii_case("authorization") {
                            authz = Some(v.trim().to_string());
                        }
                    }
                }
                let target = first.split_whitespace().nth(1).unwrap_or("").to_string();
                let query = target.split_once('?').map(|x| x.1).unwrap_or("");
                let params = query_params(query);
                let reply = |s: &mut TcpStream, status: &str, body: &str| {
                    let _ = write!(
                        s,
                        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                        body.len()
                    );
                };
                let subject = match authz.as_deref() {
                    Some(a) if a == good => USER,
                    None => "",
                    Some(_) => {
                        reply(
                            &mut s,
                            "401 Unauthorized",
                            r#"{"details":"incorrect username or password"}"#,
                        );
                        continue;
                    }
                };
                let access: Vec<String> = params
                    .iter()
                    .filter(|(k, _)| k == "scope")
                    .flat_map(|(_, v)| v.split(' ').map(str::to_string).collect::<Vec<_>>())
                    .filter(|_| !subject.is_empty())
                    .filter_map(|sc| {
                        let mut p = sc.splitn(3, ':');
                        let (t, n, a) = (p.next()?, p.next()?, p.next()?);
                        let actions: Vec<String> =
                            a.split(',').map(|x| format!("\"{x}\"")).collect();
                        Some(format!(
                            r#"{{"type":"{t}","name":"{n}","actions":[{}]}}"#,
                            actions.join(",")
                        ))
                    })
                    .collect();
                let now = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .expect("clock")
                    .as_secs();
                let n = issued2.fetch_add(1, Ordering::Relaxed);
                let header = format!(
                    r#"{{"typ":"JWT","alg":"RS256","x5c":["{}"]}}"#,
                    b64(&cert_der, false)
                );
                let claims = format!(
                    r#"{{"iss":"{ISSUER}","sub":"{subject}","aud":"{SERVICE}","exp":{},"nbf":{},"iat":{now},"jti":"t{n}","access":[{}]}}"#,
                    now + 300,
                    now - 10,
                    access.join(",")
                );
                let signing_input = format!(
                    "{}.{}",
                    b64(header.as_bytes(), true),
                    b64(claims.as_bytes(), true)
                );
                let sig = openssl(
                    &["dgst", "-sha256", "-sign", key.to_str().unwrap_or("")],
                    Some(signing_input.as_bytes()),
                );
                let token = format!("{signing_input}.{}", b64(&sig, true));
                reply(
                    &mut s,
                    "200 OK",
                    &format!(r#"{{"token":"{token}","expires_in":300}}"#),
                );
            }
        });
        TokenServer {
            port,
            stop,
            issued,
            handle: Some(handle),
        }
    }
}

impl Drop for TokenServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

#[test]
fn registry_token_auth_login_push_pull_berth_and_docker() {
    let dir = std::env::temp_dir().join(format!("berth-regtok-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let (key, cert, der) = signing_key(&dir);
    // The certificate round-trips through our base64 (the x5c header carries it).
    assert_eq!(b64_decode(&b64(&der, false)), der);
    let ts = TokenServer::start(key, der);
    let realm = format!("http://127.0.0.1:{}/token", ts.port);
    let reg = LocalRegistry::start_token(dir.join("registry"), &realm, SERVICE, ISSUER, &cert);

    let d = TestDaemon::start();
    let cfg = d.dir().join("docker-config-token");
    let berth = |args: &[&str]| d.berth(args).env("DOCKER_CONFIG", &cfg);
    let docker = |args: &[&str]| d.docker(args).env("DOCKER_CONFIG", &cfg);
    let name = format!("{}/secure/busybox:v1", reg.host());
    berth(&["tag", "busybox", &name]).run().success();

    // Anonymous: the token grants nothing, the registry refuses.
    berth(&["push", &name])
        .run()
        .code(1)
        .stderr_contains("denied");
    let before = ts.issued.load(Ordering::Relaxed);
    assert!(before >= 1, "the token server was not asked");

    let wrong = format!(
        "Get \"http://{}/v2/\": unauthorized: incorrect username or password",
        reg.host()
    );
    berth(&["login", "-u", USER, "-p", "nope", &reg.host()])
        .run()
        .code(1)
        .stderr_contains(&wrong);
    docker(&["login", "-u", USER, "--password-stdin", &reg.host()])
        .stdin("nope\n")
        .run()
        .code(1)
        .stderr_contains(&wrong);
    assert!(
        !std::fs::read_to_string(cfg.join("config.json"))
            .unwrap_or_default()
            .contains(&reg.host()),
        "a failed login stored credentials"
    );

    berth(&["login", "-u", USER, "--password-stdin", &reg.host()])
        .stdin(format!("{PASS}\n"))
        .run()
        .success()
        .stdout_contains("Login Succeeded");
    berth(&["push", &name])
        .run()
        .success()
        .stdout_contains(": Pushed")
        .stdout_contains("v1: digest: sha256:");
    berth(&["rmi", &name]).run().success();
    berth(&["pull", &name])
        .run()
        .success()
        .stdout_contains(&format!("Status: Downloaded newer image for {name}"));

    // service create --with-registry-auth: the swarm's task pulls with the CLI's stored
    // credentials; without the flag the same pull is refused (the image is not local).
    berth(&["rmi", &name]).run().success();
    berth(&["swarm", "init", "--advertise-addr", "127.0.0.1"])
        .run()
        .success();
    let task_field = |svc: &str, field: &str| {
        berth(&["service", "ps", "--no-trunc", "--format", field, svc])
            .run()
            .out()
    };
    berth(&[
        "service", "create", "-d", "--name", "anon", &name, "sleep", "100000",
    ])
    .run()
    .success();
    assert!(
        eventually(60, || {
            task_field("anon", "{{.CurrentState}} {{.Error}}").starts_with("Rejected")
        }),
        "anonymous task: {}",
        task_field("anon", "{{.CurrentState}} {{.Error}}")
    );
    berth(&["service", "rm", "anon"]).run().success();
    berth(&[
        "service",
        "create",
        "-d",
        "--with-registry-auth",
        "--name",
        "authed",
        &name,
        "sleep",
        "100000",
    ])
    .run()
    .success();
    assert!(
        eventually(60, || task_field("authed", "{{.CurrentState}}")
            .starts_with("Running")),
        "task with the credentials: {}",
        task_field("authed", "{{.CurrentState}} {{.Error}}")
    );
    berth(&["service", "rm", "authed"]).run().success();
    assert!(eventually(30, || berth(&["ps", "-aq"])
        .run()
        .out()
        .is_empty()));
    berth(&["swarm", "leave", "--force"]).run().success();

    // The docker CLI, logged in on its own, against another daemon.
    let q = TestDaemon::start_empty();
    let qcfg = q.dir().join("docker-config-token");
    let qd = |args: &[&str]| q.docker(args).env("DOCKER_CONFIG", &qcfg);
    // (Not logged in, the docker CLI's pull would prompt for a login: berth's anonymous
    // refusal is checked above.)
    qd(&["login", "-u", USER, "--password-stdin", &reg.host()])
        .stdin(format!("{PASS}\n"))
        .run()
        .success()
        .stdout_contains("Login Succeeded");
    qd(&["pull", &name]).run().success();
    assert_eq!(
        q.berth(["image", "inspect", "--format", "{{.Id}}", &name])
            .run()
            .success()
            .out()
            .trim(),
        busybox_image_id()
    );
    let other = format!("{}/secure/copy:v2", reg.host());
    qd(&["tag", &name, &other]).run().success();
    qd(&["push", &other])
        .run()
        .success()
        .stdout_contains("v2: digest: sha256:");
    assert!(ts.issued.load(Ordering::Relaxed) > before + 2);

    berth(&["logout", &reg.host()]).run().success();
    // The task pulled the pinned `NAME@sha256:…` (service create records the digest the
    // distribution endpoint reports), which leaves no `v1` tag, as on dockerd: by id.
    berth(&["rmi", "-f", &busybox_image_id()]).run().success();
    berth(&["pull", &name]).run().code(1);
    let _ = std::fs::remove_dir_all(&dir);
}

/// A test CA and a server certificate for 127.0.0.1 signed by it, as PEM files in `dir`:
/// (ca.crt, server.crt, server.key).
fn test_ca(dir: &Path) -> (PathBuf, PathBuf, PathBuf) {
    let p = |n: &str| dir.join(n).to_str().expect("utf8").to_string();
    openssl(
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=berth test CA",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
            "-keyout",
            &p("ca.key"),
            "-out",
            &p("ca.crt"),
        ],
        None,
    );
    openssl(
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            &p("server.key"),
            "-out",
            &p("server.csr"),
        ],
        None,
    );
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .expect("write ext");
    openssl(
        &[
            "x509",
            "-req",
            "-in",
            &p("server.csr"),
            "-CA",
            &p("ca.crt"),
            "-CAkey",
            &p("ca.key"),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &p("server.ext"),
            "-out",
            &p("server.crt"),
        ],
        None,
    );
    (
        dir.join("ca.crt"),
        dir.join("server.crt"),
        dir.join("server.key"),
    )
}

#[test]
fn registry_tls_test_ca_from_certs_d_is_verified() {
    let dir = std::env::temp_dir().join(format!("berth-regtls-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("mkdir");
    let (ca, cert, key) = test_ca(&dir);
    let reg = LocalRegistry::start_tls(dir.join("registry"), &cert, &key);
    let certs = dir.join("certs.d");
    std::fs::create_dir_all(certs.join(reg.host())).expect("mkdir");
    std::fs::copy(&ca, certs.join(reg.host()).join("ca.crt")).expect("copy ca");
    let empty = dir.join("certs-empty");
    std::fs::create_dir_all(&empty).expect("mkdir");
    let name = format!("{}/tls/busybox:v1", reg.host());

    // The daemons inherit this test process's environment (nextest runs one test per
    // process): loopback is not insecure here, so only verified https is tried.
    std::env::set_var("BERTH_LOOPBACK_REGISTRY_SECURE", "1");
    std::env::set_var("BERTH_CERTS_DIR", &certs);
    let d = TestDaemon::start();
    d.berth(["tag", "busybox", &name]).run().success();
    d.berth(["push", &name])
        .run()
        .success()
        .stdout_contains(": Pushed");
    d.berth(["rmi", &name]).run().success();
    d.docker(["pull", &name])
        .run()
        .success()
        .stdout_contains(&format!("Status: Downloaded newer image for {name}"));

    // Without the CA the certificate is refused, by berth and by the docker CLI alike.
    std::env::set_var("BERTH_CERTS_DIR", &empty);
    let u = TestDaemon::start_empty();
    for out in [
        u.berth(["pull", &name]).run(),
        u.docker(["pull", &name]).run(),
    ] {
        out.code(1);
        assert!(
            out.stderr
                .contains(&format!("Get \"https://{}/v2/\"", reg.host()))
                && out.stderr.contains(
                    "tls: failed to verify certificate: x509: certificate signed by unknown authority"
                ),
            "{}",
            out.stderr
        );
    }
    assert!(u
        .berth(["images", "-q"])
        .run()
        .success()
        .out()
        .trim()
        .is_empty());

    // Docker's default: a loopback registry is insecure, its certificate is not checked.
    std::env::remove_var("BERTH_LOOPBACK_REGISTRY_SECURE");
    let i = TestDaemon::start_empty();
    i.berth(["pull", &name]).run().success();
    assert_eq!(
        i.berth(["image", "inspect", "--format", "{{.Id}}", &name])
            .run()
            .success()
            .out()
            .trim(),
        busybox_image_id()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
