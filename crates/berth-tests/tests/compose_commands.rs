//! The compose commands and flags the seed walkthroughs do not reach (prefix
//! `compose_cmd_`), each run by `berth compose` and by the real `docker compose` against
//! the same berth daemon: what they print is compared (ps, images, port, ls, top), and
//! what they do is observed (create/--no-start, pause/unpause, kill -s, restart, cp, wait,
//! up --wait/--force-recreate/--remove-orphans/--abort-on-container-exit/--exit-code-from,
//! exec --index, run --service-ports, logs --since, --profile), and what `--dry-run`
//! prints and leaves unchanged.
//!
//! Safety: the project's network gets a bridge named by the test (removed by the guard);
//! published ports are on 127.0.0.1.

use berth_tests::compose::compose_yaml;
use berth_tests::nettest::{fetch, watched_daemon};
use berth_tests::{eventually, free_port, NetGuard, TestDaemon};
use std::path::Path;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Tool {
    Berth,
    DockerCompose,
}

fn compose(d: &TestDaemon, tool: Tool, dir: &Path, args: &[&str]) -> berth_tests::Output {
    match tool {
        Tool::Berth => d.berth_compose(dir, args).run(),
        Tool::DockerCompose => d.compose(dir, args).run(),
    }
}

fn state(d: &TestDaemon, c: &str) -> String {
    d.docker(["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", c])
        .run()
        .out()
}

fn yaml(bridge: &str, port: u16) -> String {
    format!(
        r#"services:
  web:
    image: busybox
    command: sh -c 'echo web-started; while true; do echo reply-$$HOSTNAME | nc -l -p 80; done'
    stop_grace_period: 1s
    ports:
      - "127.0.0.1:{port}:80"
  worker:
    image: busybox
    command: sleep 600
    stop_grace_period: 1s
  tools:
    image: busybox
    command: sh -c 'exit 3'
    profiles: [debug]
networks:
  default:
    driver_opts:
      com.docker.network.bridge.name: {bridge}
"#
    )
}

/// Relative times ("1 second ago", "Less than a second ago") differ between two runs a
/// moment apart: each becomes `N units ago`. Table
/// padding follows the cell widths, so runs of spaces become one.
fn no_ages(s: &str) -> String {
    s.lines()
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let mut out: Vec<String> = Vec::new();
            let mut i = 0;
            while i < w.len() {
                let end = w[i..].iter().position(|x| *x == "ago").map(|p| i + p);
                let span = end.filter(|e| {
                    let n = e - i;
                    (n == 2 && w[i].chars().all(|c| c.is_ascii_digit()))
                        || (n == 4 && w[i].eq_ignore_ascii_case("less"))
                        || (n == 3 && w[i].eq_ignore_ascii_case("about"))
                });
                if let Some(e) = span {
                    out.push("N units ago".into());
                    i = e + 1;
                    continue;
                }
                // "Up Less than a second" / "Up 2 seconds": the uptime.
                if w[i] == "Up" && i + 1 < w.len() {
                    let n = if w[i + 1].eq_ignore_ascii_case("less") {
                        5
                    } else {
                        3
                    };
                    out.push("Up N".into());
                    i = (i + n).min(w.len());
                    continue;
                }
                out.push(w[i].to_string());
                i += 1;
            }
            out.join(" ")
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The same reads print the same text through both tools.
#[test]
fn compose_cmd_reads_print_what_docker_compose_prints() {
    let mut g = NetGuard::new("bt-cc1");
    let d = watched_daemon(&mut g);
    let port = free_port();
    let dir = compose_yaml(&d, "cr", &yaml(&g.bridge(), port));
    compose(&d, Tool::Berth, &dir, &["up", "-d", "--wait"]).success();
    assert_eq!(state(&d, "cr-web-1"), "running 0");
    assert!(eventually(20, || fetch(port).contains("reply-")));
    let reads: &[&[&str]] = &[
        &["ps"],
        &["ps", "-a"],
        &["ps", "-q"],
        &["ps", "--services"],
        &[
            "ps",
            "--status",
            "running",
            "--format",
            "{{.Name}} {{.Service}} {{.State}}",
        ],
        &["ps", "--filter", "status=running", "-q"],
        &["images", "-q"],
        &["port", "web", "80"],
        &["port", "--index", "1", "web", "80"],
        &["ls", "-q"],
        &["ls"],
        &["config", "--services"],
        &["--profile", "debug", "config", "--services"],
    ];
    // docker compose prints `config --services` in Go map order (compose-go's
    // ForEachService: a service after its dependencies, otherwise random from run to run),
    // so those lines are compared as sets.
    let lines = |args: &[&str], out: &str| {
        let out = no_ages(out);
        let mut v: Vec<String> = out.lines().map(String::from).collect();
        if args.contains(&"config") {
            v.sort();
        }
        v
    };
    for args in reads {
        let b = compose(&d, Tool::Berth, &dir, args);
        let c = compose(&d, Tool::DockerCompose, &dir, args);
        assert_eq!(
            (b.code, lines(args, &b.stdout)),
            (c.code, lines(args, &c.stdout)),
            "{args:?}\nberth stderr: {}\ndocker compose stderr: {}",
            b.stderr,
            c.stderr
        );
    }
    // images: once the image was tagged, CREATED is the tag's age (Go's zero time, 292
    // years, before); `--format json` lists in map order, so items are compared sorted.
    d.docker(["tag", "busybox", "cr-tagged:1"]).run().success();
    for args in [&["images"][..], &["images", "worker"][..]] {
        let b = compose(&d, Tool::Berth, &dir, args);
        let c = compose(&d, Tool::DockerCompose, &dir, args);
        assert_eq!(no_ages(&b.stdout), no_ages(&c.stdout), "{args:?}");
        assert!(!b.stdout.contains("292 years"), "{args:?}: {}", b.stdout);
        assert!(!c.stdout.contains("292 years"), "{args:?}: {}", c.stdout);
    }
    let items = |out: &str| {
        let v: serde_json::Value = serde_json::from_str(out).expect("json");
        let mut items: Vec<String> = v
            .as_array()
            .into_iter()
            .flatten()
            .map(|i| i.to_string())
            .collect();
        items.sort();
        items
    };
    let b = compose(&d, Tool::Berth, &dir, &["images", "--format", "json"]);
    let c = compose(
        &d,
        Tool::DockerCompose,
        &dir,
        &["images", "--format", "json"],
    );
    assert!(b.stdout.ends_with("]\n\n"), "{:?}", b.stdout);
    assert_eq!(items(&b.stdout), items(&c.stdout));
    assert_eq!(items(&b.stdout).len(), 2);
    for format in ["JSON", "{{json.}}"] {
        let args = ["images", "--format", format];
        let b = compose(&d, Tool::Berth, &dir, &args);
        let c = compose(&d, Tool::DockerCompose, &dir, &args);
        assert_eq!((b.code, &b.stdout), (c.code, &c.stdout), "{args:?}");
    }
    // top: the same process through both (compose 2.40 prints one table with SERVICE and
    // `#` columns; berth prints a table per container, as compose v1 did).
    let pid = d
        .docker(["inspect", "-f", "{{.State.Pid}}", "cr-worker-1"])
        .run()
        .out();
    for tool in [Tool::Berth, Tool::DockerCompose] {
        let out = compose(&d, tool, &dir, &["top", "worker"]);
        out.success();
        assert!(
            out.stdout.contains("sleep 600") && out.stdout.split_whitespace().any(|w| w == pid),
            "{tool:?}: {}",
            out.stdout
        );
    }
    compose(&d, Tool::Berth, &dir, &["down"]).success();
}

/// `line` with the string value of `"key":` replaced by `*` (a JSON line as Go writes it).
fn mask(line: &str, key: &str) -> String {
    let pat = format!("\"{key}\":\"");
    let Some(start) = line.find(&pat).map(|i| i + pat.len()) else {
        return line.to_string();
    };
    let b = line.as_bytes();
    let mut end = start;
    while end < b.len() && b[end] != b'"' {
        end += if b[end] == b'\\' { 2 } else { 1 };
    }
    format!("{}*{}", &line[..start], &line[end.min(b.len())..])
}

/// `compose ps` as docker compose prints it: COMMAND quoted by Go's strconv.Quote (after
/// the 20-character truncation, and whole with --no-trunc: `\"`, `\t`, `\a`, `\u00a0`),
/// PORTS as the docker CLI's DisplayablePorts, and `--format json` with compose's fields:
/// Health, ExitCode, Mounts, LocalVolumes, Networks, Publishers in struct order, Go's HTML
/// escapes.
#[test]
fn compose_cmd_ps_quotes_commands_and_writes_json_as_docker_compose() {
    let mut g = NetGuard::new("bt-cc4");
    let d = watched_daemon(&mut g);
    let port = free_port();
    let yaml = format!(
        r#"services:
  db:
    image: busybox
    command: ["sh", "-c", "trap \"exit 0\" TERM; sleep 600 & wait"]
    stop_grace_period: 1s
    ports:
      - "127.0.0.1:{port}:80"
    expose: ["91"]
    labels:
      a: "x<y>&z"
    volumes:
      - data:/data
      - ./bind:/bind
    healthcheck:
      test: ["CMD", "true"]
      interval: 200ms
  web:
    image: busybox
    entrypoint: ["/bin/sh", "-c", "exec \"$$0\" \"$$@\"", "sleep"]
    command: ["600"]
    stop_grace_period: 1s
    depends_on: [db]
    networks: [default, back]
  once:
    image: busybox
    command: ["sh", "-c", "echo 'tab\there\_nb\a'; exit 3"]
volumes:
  data:
networks:
  default:
    driver_opts:
      com.docker.network.bridge.name: {br}
  back:
    driver_opts:
      com.docker.network.bridge.name: {br2}
"#,
        br = g.bridge(),
        br2 = g.bridge()
    );
    let dir = compose_yaml(&d, "cp", &yaml);
    std::fs::create_dir_all(dir.join("bind")).expect("bind dir");
    compose(&d, Tool::Berth, &dir, &["up", "-d", "--wait", "db", "web"]).success();
    compose(&d, Tool::Berth, &dir, &["up", "-d", "once"]).success();
    assert!(eventually(20, || state(&d, "cp-once-1") == "exited 3"));
    for args in [
        &["ps"][..],
        &["ps", "-a"][..],
        &["ps", "-a", "--no-trunc"][..],
    ] {
        let b = compose(&d, Tool::Berth, &dir, args);
        let c = compose(&d, Tool::DockerCompose, &dir, args);
        assert_eq!(
            (b.code, no_ages(&b.stdout)),
            (c.code, no_ages(&c.stdout)),
            "{args:?}"
        );
    }
    let b = compose(&d, Tool::Berth, &dir, &["ps"]);
    assert!(
        b.stdout.contains(r#""sh -c 'trap \"exit 0…""#),
        "{}",
        b.stdout
    );
    // JSON: byte for byte once the times and the map-ordered strings are masked; those
    // (Labels, Networks, Mounts: Go map or daemon order) compared as sets.
    let volatile = ["RunningFor", "Status", "Labels", "Networks", "Mounts"];
    let b = compose(&d, Tool::Berth, &dir, &["ps", "-a", "--format", "json"]);
    let c = compose(
        &d,
        Tool::DockerCompose,
        &dir,
        &["ps", "-a", "--format", "json"],
    );
    b.success();
    c.success();
    let masked = |out: &str| -> Vec<String> {
        out.lines()
            .map(|l| volatile.iter().fold(l.to_string(), |l, k| mask(&l, k)))
            .collect()
    };
    assert_eq!(masked(&b.stdout), masked(&c.stdout));
    let sets = |out: &str| -> Vec<Vec<Vec<String>>> {
        out.lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("json line");
                ["Labels", "Networks", "Mounts"]
                    .iter()
                    .map(|k| {
                        let mut parts: Vec<String> = v[*k]
                            .as_str()
                            .unwrap_or_default()
                            .split(',')
                            .map(String::from)
                            .collect();
                        parts.sort();
                        parts
                    })
                    .collect()
            })
            .collect()
    };
    assert_eq!(sets(&b.stdout), sets(&c.stdout));
    // What the masks hide was there to compare.
    assert!(b.stdout.contains(r#""Health":"healthy""#), "{}", b.stdout);
    assert!(b.stdout.contains(r#""ExitCode":3"#), "{}", b.stdout);
    assert!(
        b.stdout.contains(r#"a=x\u003cy\u003e\u0026z"#),
        "{}",
        b.stdout
    );
    assert!(b.stdout.contains(r#""LocalVolumes":"1""#), "{}", b.stdout);
    assert!(b.stdout.contains(r#"cp_back"#), "{}", b.stdout);
    assert!(
        b.stdout.contains(&format!(
            r#""Publishers":[{{"URL":"127.0.0.1","TargetPort":80,"PublishedPort":{port},"Protocol":"tcp"}}"#
        )),
        "{}",
        b.stdout
    );
    compose(&d, Tool::Berth, &dir, &["down", "-v"]).success();
}

/// `compose ps --format` templates over compose's row (a Go struct, ContainerContext):
/// `{{.Publishers}}` prints Go structs (`[{127.0.0.1 80 P tcp}]`), `{{json .Publishers}}`
/// keeps their field order, `{{json .}}` inside a longer template is the `json` format's
/// line, fields compose's table has no title for print `<no value>` in the header, and
/// operands written together (`{{json.}}`) are Go's parse error. Each through both tools.
#[test]
fn compose_cmd_ps_templates_print_go_values_as_docker_compose() {
    let mut g = NetGuard::new("bt-cc5");
    let d = watched_daemon(&mut g);
    let (p1, p2) = (free_port(), free_port());
    let yaml = format!(
        r#"services:
  web:
    image: busybox
    command: sleep 600
    stop_grace_period: 1s
    labels:
      a: "x<y>&z"
    ports:
      - "127.0.0.1:{p1}:80"
      - "127.0.0.1:{p2}:81/udp"
  w2:
    image: busybox
    command: sleep 600
    stop_grace_period: 1s
networks:
  default:
    driver_opts:
      com.docker.network.bridge.name: {br}
"#,
        br = g.bridge()
    );
    let dir = compose_yaml(&d, "pt", &yaml);
    compose(&d, Tool::Berth, &dir, &["up", "-d"]).success();
    for format in [
        "{{.Name}} {{.Publishers}}",
        "{{json .Publishers}}",
        "{{range .Publishers}}{{.URL}}:{{.PublishedPort}}/{{.Protocol}} {{end}}",
        "table {{.Name}}\t{{.Publishers}}\t{{.Size}}\t{{.Health}}\t{{.CreatedAt}}",
        "{{.Name}} {{.ExitCode}} {{.Size}} {{.LocalVolumes}} {{.Label \"a\"}}",
        "{{json.}}",
        "{{.ID.}}",
        "{{.Name}}\n{{\"a\"\"b\"}}",
        "{{.Nope}}",
    ] {
        let args = ["ps", "-a", "--format", format];
        let b = compose(&d, Tool::Berth, &dir, &args);
        let c = compose(&d, Tool::DockerCompose, &dir, &args);
        assert_eq!(
            (b.code, &b.stdout, &b.stderr),
            (c.code, &c.stdout, &c.stderr),
            "{format}"
        );
    }
    let b = compose(
        &d,
        Tool::Berth,
        &dir,
        &["ps", "--format", "{{.Publishers}}"],
    );
    assert!(
        b.stdout.contains(&format!(
            "[{{127.0.0.1 80 {p1} tcp}} {{127.0.0.1 81 {p2} udp}}]"
        )),
        "{}",
        b.stdout
    );
    let b = compose(&d, Tool::Berth, &dir, &["ps", "--format", "{{json.}}"]);
    assert_eq!(
        (b.code, b.stderr.trim()),
        (
            1,
            "template parsing error: template: :1: unexpected <.> in operand"
        )
    );
    // `{{json .}}` in a longer template: the json line, then the text after it.
    let volatile = ["RunningFor", "Status", "Labels"];
    let lines = |tool: Tool| -> Vec<String> {
        let o = compose(&d, tool, &dir, &["ps", "-a", "--format", "{{json .}} x"]);
        o.success();
        o.stdout
            .lines()
            .map(|l| volatile.iter().fold(l.to_string(), |l, k| mask(&l, k)))
            .collect()
    };
    let (b, c) = (lines(Tool::Berth), lines(Tool::DockerCompose));
    assert_eq!(b, c);
    assert_eq!(b.len(), 2);
    assert!(
        b.iter().all(|l| l.starts_with('{') && l.ends_with("} x")),
        "{b:?}"
    );
    let json = compose(&d, Tool::Berth, &dir, &["ps", "-a", "--format", "json"]).out();
    let templated = compose(
        &d,
        Tool::Berth,
        &dir,
        &["ps", "-a", "--format", "{{json .}} x"],
    );
    let strip = |s: &str| -> Vec<String> {
        s.lines()
            .map(|l| mask(&mask(l.trim_end_matches(" x"), "RunningFor"), "Status"))
            .collect()
    };
    assert_eq!(strip(&templated.stdout), strip(&json));
    assert!(json.contains(r#"a=x\u003cy\u003e\u0026z"#), "{json}");
    compose(&d, Tool::Berth, &dir, &["down"]).success();
}

/// Edges where berth compose answered otherwise than docker compose, each run through
/// both tools against the same daemon: `-d` with an attach flag, service names the model
/// lacks, `port` of a port not published, `push` of services that build nothing,
/// `--exit-code-from` (it implies --abort-on-container-exit, which stops only the services
/// named), `events --since 1s` (a duration, taken as before now), `down --rmi all` of an
/// image another container uses.
#[test]
fn compose_cmd_edges_answer_as_docker_compose() {
    let mut g = NetGuard::new("bt-cc6");
    let d = watched_daemon(&mut g);
    let port = free_port();
    let yaml = format!(
        r#"services:
  web:
    image: busybox
    command: sleep 600
    stop_grace_period: 1s
    ports:
      - "127.0.0.1:{port}:80"
    depends_on: [db]
  db:
    image: busybox
    command: sleep 600
    stop_grace_period: 1s
  once:
    image: busybox
    command: ["sh", "-c", "sleep 1; exit 3"]
    profiles: [once]
networks:
  default:
    driver_opts:
      com.docker.network.bridge.name: {br}
"#,
        br = g.bridge()
    );
    let dir = compose_yaml(&d, "ed", &yaml);
    let both = |args: &[&str]| {
        let b = compose(&d, Tool::Berth, &dir, args);
        let c = compose(&d, Tool::DockerCompose, &dir, args);
        (b, c)
    };
    compose(&d, Tool::Berth, &dir, &["up", "-d"]).success();
    let mut checked = Vec::new();
    for args in [
        &["up", "-d", "--attach", "web"][..],
        &["up", "-d", "--abort-on-container-failure"][..],
        &["up", "-d", "--exit-code-from", "web"][..],
        &["ps", "nope"][..],
        &["logs", "nope"][..],
        &["down", "nope"][..],
        &["start", "nope"][..],
        &["stop", "nope"][..],
        &["restart", "nope"][..],
        &["kill", "nope"][..],
        &["rm", "-f", "nope"][..],
        &["pause", "nope"][..],
        &["unpause", "nope"][..],
        &["port", "web", "81"][..],
    ] {
        let (b, c) = both(args);
        assert_eq!(
            (b.code, &b.stdout, &b.stderr),
            (c.code, &c.stdout, &c.stderr),
            "{args:?}"
        );
        checked.push(b.code);
    }
    // The refusals refused.
    assert_eq!(checked, [1; 14], "{checked:?}");
    // push: nothing builds, every service skipped (compose walks a Go map: any order).
    let (b, c) = both(&["--progress", "plain", "push"]);
    let sorted = |s: &str| {
        let mut v: Vec<String> = s.lines().map(String::from).collect();
        v.sort();
        v
    };
    assert_eq!((b.code, sorted(&b.stderr)), (c.code, sorted(&c.stderr)));
    assert_eq!(sorted(&b.stderr), [" db Skipped ", " web Skipped "]);
    let (b, c) = both(&["events", "--json", "--since", "1s", "--until", "2s"]);
    assert_eq!((b.code, c.code), (1, 1), "{}\n{}", b.stderr, c.stderr);
    assert!(b.stderr.contains("after"), "{}", b.stderr);
    // `--until 1s` ends a second ago: the project's create events must be older than that.
    std::thread::sleep(std::time::Duration::from_millis(1500));
    let (b, _) = both(&["events", "--json", "--since", "10m", "--until", "1s"]);
    b.success();
    assert!(b.stdout.contains(r#""action":"create""#), "{}", b.stdout);
    // --exit-code-from: the code, the abort, and only the named service stopped.
    for tool in [Tool::Berth, Tool::DockerCompose] {
        let o = compose(
            &d,
            tool,
            &dir,
            &[
                "--progress",
                "plain",
                "up",
                "--exit-code-from",
                "once",
                "once",
            ],
        );
        assert_eq!(o.code, 3, "{tool:?}: {}", o.stderr);
        assert!(
            o.stderr.contains("Aborting on container exit..."),
            "{tool:?}: {}",
            o.stderr
        );
        assert_eq!(state(&d, "ed-web-1"), "running 0", "{tool:?}");
        assert_eq!(state(&d, "ed-db-1"), "running 0", "{tool:?}");
        compose(&d, Tool::Berth, &dir, &["rm", "-f", "once"]).success();
    }
    // down --rmi all while another container uses the image: a warning line, once.
    d.docker([
        "run",
        "-d",
        "--name",
        "ed-holder",
        "busybox",
        "sleep",
        "600",
    ])
    .run()
    .success();
    let mut seen = Vec::new();
    for tool in [Tool::Berth, Tool::DockerCompose] {
        compose(&d, Tool::Berth, &dir, &["up", "-d"]).success();
        let o = compose(
            &d,
            tool,
            &dir,
            &["--progress", "plain", "down", "-t", "1", "--rmi", "all"],
        );
        o.success();
        let images: Vec<String> = o
            .stderr
            .lines()
            .filter(|l| l.trim_start().starts_with("Image "))
            .map(String::from)
            .collect();
        seen.push(images);
    }
    assert_eq!(seen[0], seen[1]);
    assert_eq!(
        seen[0],
        [
            " Image busybox:latest  Removing",
            " Image busybox:latest  Resource is still in use"
        ]
    );
    d.docker(["rm", "-f", "ed-holder"]).run().success();
}

/// What each command does, run by berth compose (and the same by docker compose).
fn actions(tool: Tool) {
    let mut g = NetGuard::new("bt-cc2");
    let d = watched_daemon(&mut g);
    let port = free_port();
    let dir = compose_yaml(&d, "ca", &yaml(&g.bridge(), port));
    let run = |args: &[&str]| compose(&d, tool, &dir, args);
    // create leaves the containers created; start starts them.
    run(&["create"]).success();
    assert_eq!(state(&d, "ca-web-1"), "created 0");
    run(&["start"]).success();
    assert!(eventually(20, || state(&d, "ca-web-1") == "running 0"));
    // pause / unpause.
    run(&["pause", "worker"]).success();
    assert_eq!(state(&d, "ca-worker-1"), "paused 0");
    run(&["unpause", "worker"]).success();
    assert_eq!(state(&d, "ca-worker-1"), "running 0");
    // kill -s KILL: exit 137.
    run(&["kill", "-s", "KILL", "worker"]).success();
    assert!(eventually(10, || state(&d, "ca-worker-1") == "exited 137"));
    // restart brings it back, with a new start time.
    run(&["restart", "worker"]).success();
    assert!(eventually(10, || state(&d, "ca-worker-1") == "running 0"));
    // cp both ways.
    let host = dir.join("in.txt");
    std::fs::write(&host, "copied-in\n").expect("write");
    run(&["cp", &host.to_string_lossy(), "worker:/tmp/in.txt"]).success();
    run(&["exec", "-T", "worker", "cat", "/tmp/in.txt"])
        .success()
        .stdout_is("copied-in\n");
    let back = dir.join("back.txt");
    run(&["cp", "worker:/tmp/in.txt", &back.to_string_lossy()]).success();
    assert_eq!(
        std::fs::read_to_string(&back).unwrap_or_default(),
        "copied-in\n"
    );
    // exec --index on a scaled service.
    run(&["up", "-d", "--scale", "worker=2", "--no-recreate"]).success();
    let h2 = run(&["exec", "-T", "--index", "2", "worker", "hostname"]).out();
    let id2 = d
        .docker(["inspect", "-f", "{{.Config.Hostname}}", "ca-worker-2"])
        .run()
        .out();
    assert_eq!(h2, id2, "--index 2 is worker-2");
    // logs --since: a time after the start leaves the first line out.
    assert!(eventually(10, || run(&["logs", "web"])
        .stdout
        .contains("web-started")));
    let out = run(&["logs", "--since", "2099-01-01T00:00:00Z", "web"]);
    out.success();
    assert!(!out.stdout.contains("web-started"), "{}", out.stdout);
    // --force-recreate: a new container.
    let old = d
        .docker(["inspect", "-f", "{{.Id}}", "ca-web-1"])
        .run()
        .out();
    run(&["up", "-d", "--force-recreate", "web"]).success();
    let new = d
        .docker(["inspect", "-f", "{{.Id}}", "ca-web-1"])
        .run()
        .out();
    assert_ne!(old, new);
    // --profile: the profile's service runs; wait gives its exit code.
    run(&["--profile", "debug", "up", "-d", "tools"]).success();
    // `wait` returns once the container has stopped.
    run(&["--profile", "debug", "wait", "tools"]);
    assert_eq!(state(&d, "ca-tools-1"), "exited 3");
    // --remove-orphans: without the profile `tools` is not an orphan; a renamed file's
    // service is.
    let base = std::fs::read_to_string(dir.join("compose.yaml")).expect("read");
    std::fs::write(
        dir.join("compose.yaml"),
        base.replace("  worker:", "  worker2:"),
    )
    .expect("write");
    run(&["up", "-d", "--remove-orphans"]).success();
    assert!(
        d.docker(["inspect", "ca-worker-1"]).run().code != 0,
        "the orphan went"
    );
    std::fs::write(dir.join("compose.yaml"), &base).expect("write");
    // run --service-ports publishes the service's port.
    run(&["down"]).success();
    let out = run(&["run", "-d", "--service-ports", "--name", "ca-oneoff", "web"]);
    out.success();
    assert!(eventually(20, || fetch(port).contains("reply-")));
    d.docker(["rm", "-f", "ca-oneoff"]).run();
    // --abort-on-container-exit / --exit-code-from: the exit code of the service that ended.
    let out = run(&[
        "--profile",
        "debug",
        "up",
        "--abort-on-container-exit",
        "--exit-code-from",
        "tools",
    ]);
    assert_eq!(out.code, 3, "{}\n{}", out.stdout, out.stderr);
    // The renamed service's containers are orphans now: --remove-orphans takes them too.
    run(&["--profile", "debug", "down", "--remove-orphans"]).success();
    assert!(d
        .docker([
            "ps",
            "-aq",
            "--filter",
            "label=com.docker.compose.project=ca"
        ])
        .run()
        .out()
        .is_empty());
}

#[test]
fn compose_cmd_actions_berth_compose() {
    actions(Tool::Berth);
}

#[test]
fn compose_cmd_actions_docker_compose() {
    actions(Tool::DockerCompose);
}

/// The containers, networks and volumes of the daemon, to see that a dry run changed none.
fn engine_state(d: &TestDaemon) -> (String, String, String) {
    let ps = d
        .docker(["ps", "-a", "--format", "{{.Names}} {{.State}}"])
        .run()
        .success()
        .out();
    let nets = d
        .docker(["network", "ls", "--format", "{{.Name}}"])
        .run()
        .success()
        .out();
    let vols = d.docker(["volume", "ls", "-q"]).run().success().out();
    (ps, nets, vols)
}

/// A dry run's progress lines (stderr), sorted: the order of parallel steps varies.
fn dry_lines(stderr: &str) -> Vec<String> {
    let mut v: Vec<String> = stderr
        .lines()
        .filter(|l| l.starts_with(" DRY-RUN MODE -  "))
        .map(String::from)
        .collect();
    v.sort();
    v
}

/// `--dry-run`, before or after the subcommand: the progress docker compose prints, each
/// line prefixed `DRY-RUN MODE - `, and nothing changed in the engine; what a dry run
/// cannot show (exec, a foreground up) is refused, not run.
#[test]
fn compose_cmd_dry_run_shows_the_steps_and_changes_nothing() {
    let mut g = NetGuard::new("bt-cc3");
    let d = watched_daemon(&mut g);
    let port = free_port();
    let dir = compose_yaml(&d, "cd", &yaml(&g.bridge(), port));
    let before = engine_state(&d);
    let mut seen = Vec::new();
    for tool in [Tool::Berth, Tool::DockerCompose] {
        let out = compose(
            &d,
            tool,
            &dir,
            &["--dry-run", "--progress", "plain", "up", "-d"],
        );
        out.success();
        assert_eq!(engine_state(&d), before, "{tool:?}: nothing made");
        seen.push(dry_lines(&out.stderr));
    }
    assert_eq!(
        seen[0], seen[1],
        "up -d: berth compose, then docker compose"
    );
    assert!(
        seen[0].contains(&" DRY-RUN MODE -  Container cd-web-1  Started".to_string()),
        "{:?}",
        seen[0]
    );
    compose(&d, Tool::Berth, &dir, &["up", "-d"]).success();
    let running = engine_state(&d);
    let cases: &[&[&str]] = &[
        &["--dry-run", "--progress", "plain", "down"],
        &["--progress", "plain", "down", "--dry-run", "-v"],
        &["--progress", "plain", "stop", "--dry-run", "worker"],
        &[
            "--dry-run",
            "--progress",
            "plain",
            "rm",
            "-f",
            "-s",
            "worker",
        ],
        &["--dry-run", "--progress", "plain", "kill", "worker"],
        &["--dry-run", "--progress", "plain", "restart", "worker"],
        &["--dry-run", "--progress", "plain", "pause", "worker"],
    ];
    // A recreation too (not compared: docker compose's dry run then "starts" the
    // replacement under its temporary name).
    let recreate = [
        "--dry-run",
        "--progress",
        "plain",
        "up",
        "-d",
        "--force-recreate",
        "worker",
    ];
    let b = compose(&d, Tool::Berth, &dir, &recreate);
    assert_eq!(engine_state(&d), running, "berth changed nothing");
    assert!(
        dry_lines(&b.success().stderr)
            .contains(&" DRY-RUN MODE -  Container cd-worker-1  Recreated".to_string()),
        "{}",
        b.stderr
    );
    for args in cases {
        let b = compose(&d, Tool::Berth, &dir, args);
        assert_eq!(engine_state(&d), running, "{args:?}: berth changed nothing");
        let c = compose(&d, Tool::DockerCompose, &dir, args);
        assert_eq!(
            engine_state(&d),
            running,
            "{args:?}: docker compose neither"
        );
        assert_eq!(
            (b.code, dry_lines(&b.stderr)),
            (c.code, dry_lines(&c.stderr)),
            "{args:?}: berth compose, then docker compose\nberth: {}\ncompose: {}",
            b.stderr,
            c.stderr
        );
        assert!(!dry_lines(&b.stderr).is_empty(), "{args:?}: {}", b.stderr);
    }
    // Reads are unaffected.
    let ps = compose(&d, Tool::Berth, &dir, &["--dry-run", "ps", "-q"]);
    assert_eq!(ps.success().out().lines().count(), 2);
    // What a dry run cannot show is refused, not run. (A foreground `--dry-run up` is
    // compose's own: compose_gaps.rs compares it.)
    for args in [
        &["--dry-run", "exec", "-T", "worker", "touch", "/tmp/x"][..],
        &["cp", "--dry-run", "compose.yaml", "worker:/tmp/x"][..],
    ] {
        let out = compose(&d, Tool::Berth, &dir, args);
        assert_eq!(out.code, 1, "{args:?}: {out:?}");
        assert!(
            out.stderr.contains("--dry-run is not supported"),
            "{args:?}: {}",
            out.stderr
        );
    }
    compose(
        &d,
        Tool::Berth,
        &dir,
        &["exec", "-T", "worker", "test", "!", "-e", "/tmp/x"],
    )
    .success();
    compose(&d, Tool::Berth, &dir, &["down"]).success();
}
