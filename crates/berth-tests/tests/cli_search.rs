//! `search` (prefix `clisearch_`): a stand-in for a registry's v1 search endpoint on
//! 127.0.0.1 answers the berth daemon (`GET /images/search`, the daemon asks the index as
//! dockerd does); berth's and the docker CLI 28's output through the berth daemon are
//! compared byte for byte (docker's table, `--no-trunc`, `--format`, `--limit`, the
//! filters), for a term naming the registry and for Docker Hub's index (pointed at the
//! stand-in with `BERTH_INDEX_HOST`), and every bad input fails as docker's does.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth_tests::{Client, TestDaemon};

/// What the stand-in answers to every search, and the query strings it was asked.
struct StandIn {
    port: u16,
    asked: Arc<Mutex<Vec<String>>>,
}

const RESULTS: &str = r#"{"num_results":3,"query":"busy","results":[
 {"star_count":12,"is_official":true,"name":"busybox","is_automated":false,
  "description":"Busybox base image, with a description well beyond forty-five characters"},
 {"star_count":3,"is_official":false,"name":"someone/busy","is_automated":true,
  "description":"line one\nline two"},
 {"star_count":0,"is_official":false,"name":"other/busyish","is_automated":false,
  "description":""}]}"#;

impl StandIn {
    fn start() -> StandIn {
        let l = TcpListener::bind("127.0.0.1:0").expect("bind the stand-in");
        let port = l.local_addr().expect("stand-in address").port();
        let asked = Arc::new(Mutex::new(Vec::new()));
        let seen = asked.clone();
        std::thread::spawn(move || {
            for conn in l.incoming() {
                let Ok(conn) = conn else { continue };
                let seen = seen.clone();
                std::thread::spawn(move || serve(conn, &seen));
            }
        });
        StandIn { port, asked }
    }
    fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }
    fn last(&self) -> Option<String> {
        self.asked.lock().unwrap().last().cloned()
    }
}

/// One HTTP/1.1 exchange; TLS handshakes (the daemon tries https first, as dockerd does)
/// are closed at once so the client falls back to plain http.
fn serve(mut c: TcpStream, seen: &Mutex<Vec<String>>) {
    let _ = c.set_read_timeout(Some(Duration::from_secs(10)));
    let mut head = Vec::new();
    let mut b = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        match c.read(&mut b) {
            Ok(1) => head.push(b[0]),
            _ => return,
        }
        if head.first() == Some(&0x16) || head.len() > 16384 {
            return;
        }
    }
    let head = String::from_utf8_lossy(&head).to_string();
    let path = head.split_whitespace().nth(1).unwrap_or("").to_string();
    let (status, body) = if path.starts_with("/v1/search?") {
        seen.lock().unwrap().push(path);
        ("200 OK", RESULTS.to_string())
    } else if path == "/v1/_ping" {
        ("200 OK", "true".to_string())
    } else {
        ("404 Not Found", "{}".to_string())
    };
    let _ = write!(
        c,
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
}

/// Runs `args` through both CLIs; asserts the same exit code and output, returns berth's
/// with the program's name as `PROG`.
fn both(d: &TestDaemon, args: &[&str]) -> (i32, String, String) {
    let b = d.cli(Client::Berth, args).run();
    let k = d.cli(Client::Docker, args).run();
    let neutral = |s: &str| s.replace("docker", "PROG").replace("berth", "PROG");
    assert_eq!(
        (b.code, neutral(&b.stdout), neutral(&b.stderr)),
        (k.code, neutral(&k.stdout), neutral(&k.stderr)),
        "berth (left) and docker (right) agree on `{}`",
        args.join(" ")
    );
    (b.code, neutral(&b.stdout), neutral(&b.stderr))
}

fn daemon_for(s: &StandIn) -> TestDaemon {
    TestDaemon::start_with_env(&[("BERTH_INDEX_HOST", &s.host())])
}

#[test]
fn clisearch_table_formats_and_filters_as_docker() {
    let s = StandIn::start();
    let d = daemon_for(&s);
    let term = format!("{}/busy", s.host());

    // docker's own table (both CLIs printed the same bytes): 45 columns of description.
    let (_, out, _) = both(&d, &["search", &term]);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 4, "{out}");
    assert_eq!(
        lines[0].split_whitespace().collect::<Vec<_>>(),
        ["NAME", "DESCRIPTION", "STARS", "OFFICIAL"]
    );
    assert!(
        lines[1].starts_with("busybox ") && lines[1].ends_with("12        [OK]"),
        "{out}"
    );
    assert!(lines[1].contains("with a description well …"), "{out}");
    assert!(lines[2].contains("line one line two"), "{out}");
    // The index is asked for the term without its registry, at moby's default limit.
    assert_eq!(s.last().as_deref(), Some("/v1/search?q=busy&n=25"));

    let (_, out, _) = both(&d, &["search", "--no-trunc", &term]);
    assert!(
        out.contains("with a description well beyond forty-five characters   12"),
        "{out}"
    );
    let (_, out, _) = both(&d, &["search", "--format", "json", &term]);
    // docker's JSON says "true"/"false" where its table says "[OK]"/"".
    assert!(
        out.starts_with(r#"{"Description":"Busybox base image"#),
        "{out}"
    );
    assert!(out.contains(r#""IsOfficial":"true","Name":"busybox","StarCount":"12"}"#));
    assert!(out.contains(r#""IsOfficial":"false","Name":"someone/busy""#));
    let (_, out, _) = both(
        &d,
        &["search", "--format", "{{.Name}}:{{.IsOfficial}}", &term],
    );
    assert_eq!(out, "busybox:[OK]\nsomeone/busy:\nother/busyish:\n");
    let (_, out, _) = both(
        &d,
        &[
            "search",
            "--format",
            "table {{.Name}}\t{{.StarCount}}",
            &term,
        ],
    );
    assert!(
        out.starts_with("NAME            STARS\nbusybox         12\n"),
        "{out}"
    );

    both(&d, &["search", "--limit", "2", &term]);
    assert_eq!(s.last().as_deref(), Some("/v1/search?q=busy&n=2"));
    // A limit that is not positive is not sent: the daemon's 25.
    both(&d, &["search", "--limit", "-3", &term]);
    assert_eq!(s.last().as_deref(), Some("/v1/search?q=busy&n=25"));

    // Filters are the daemon's: stars (the largest of several), is-official, is-automated
    // (moby 28 answers nothing for true: automated builds are gone; false selects nothing
    // out).
    let names = |args: &[&str]| -> Vec<String> {
        let mut a = vec!["search", "--format", "{{.Name}}"];
        a.extend_from_slice(args);
        a.push(&term);
        both(&d, &a).1.lines().map(str::to_string).collect()
    };
    assert_eq!(names(&["-f", "stars=3"]), ["busybox", "someone/busy"]);
    assert_eq!(names(&["-f", "stars=1", "-f", "stars=5"]), ["busybox"]);
    assert_eq!(names(&["--filter", "is-official=true"]), ["busybox"]);
    assert_eq!(
        names(&["-f", "is-official=false"]),
        ["someone/busy", "other/busyish"]
    );
    assert!(names(&["-f", "is-automated=true"]).is_empty());
    assert_eq!(names(&["-f", "is-automated=false"]).len(), 3);
}

#[test]
fn clisearch_docker_hub_terms_go_to_the_default_index() {
    let s = StandIn::start();
    let d = daemon_for(&s);
    // No registry in the term: Docker Hub's index (here the stand-in); official images are
    // searched without their `library/`, a term is query-escaped as Go escapes it.
    let (_, out, _) = both(&d, &["search", "--format", "{{.Name}}", "library/busybox"]);
    assert_eq!(out.lines().next(), Some("busybox"));
    assert_eq!(s.last().as_deref(), Some("/v1/search?q=busybox&n=25"));
    both(&d, &["search", "docker.io/some one/a_b"]);
    assert_eq!(
        s.last().as_deref(),
        Some("/v1/search?q=some+one%2Fa_b&n=25")
    );
}

#[test]
fn clisearch_bad_input_fails_as_docker() {
    let s = StandIn::start();
    let d = daemon_for(&s);
    let term = format!("{}/busy", s.host());

    let (code, _, err) = both(&d, &["search"]);
    assert_eq!(code, 1);
    assert!(err.contains("'PROG search' requires 1 argument"), "{err}");
    let (code, _, _) = both(&d, &["search", "a", "b"]);
    assert_eq!(code, 1);
    let (code, _, err) = both(&d, &["search", "-f", "stars", &term]);
    assert_eq!(code, 125);
    assert!(
        err.contains("bad format of filter (expected name=value)"),
        "{err}"
    );
    let (code, _, err) = both(&d, &["search", "--limit", "x", &term]);
    assert_eq!(code, 125);
    assert!(
        err.contains(r#"invalid argument "x" for "--limit" flag"#),
        "{err}"
    );
    let (code, _, err) = both(&d, &["search", "--limit", "101", &term]);
    assert_eq!(code, 1);
    assert!(
        err.contains("Error response from daemon: limit 101 is outside the range of [1, 100]"),
        "{err}"
    );
    let (code, _, err) = both(&d, &["search", "--nope", &term]);
    assert_eq!(code, 125);
    assert!(err.contains("unknown flag: --nope"), "{err}");
    let (_, _, err) = both(&d, &["search", "-f", "colour=red", &term]);
    assert!(err.contains("invalid filter 'colour'"), "{err}");
    let (_, _, err) = both(&d, &["search", "-f", "stars=many", &term]);
    assert!(err.contains("invalid filter 'stars=many'"), "{err}");
    let (_, _, err) = both(&d, &["search", "-f", "is-official=maybe", &term]);
    assert!(err.contains("invalid filter 'is-official=maybe'"), "{err}");
    let (_, _, err) = both(&d, &["search", "--format", "{{.Nope}}", &term]);
    assert!(err.contains("can't evaluate field Nope"), "{err}");
    // A registry that is not there: the daemon's error, exit 1.
    let gone = {
        let l = TcpListener::bind("127.0.0.1:0").expect("a free port");
        l.local_addr().expect("its address").port()
    };
    let (code, _, err) = both(&d, &["search", &format!("127.0.0.1:{gone}/busy")]);
    assert_eq!(code, 1);
    assert!(err.contains("Error response from daemon:"), "{err}");
    assert!(err.contains("connection refused"), "{err}");
}
