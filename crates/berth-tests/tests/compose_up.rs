//! `berth compose` driving a berth daemon: the seeds' compose projects brought up, observed
//! working, scaled, taken down; the same project driven alternately by `berth compose` and
//! the real `docker compose`; dependency conditions; the order of `up`'s steps (everything
//! created, then started in dependency order) as docker compose's; bad input that must
//! leave nothing.
//!
//! Stand-ins (the seeds' images are not reachable offline; only image names and commands
//! change): `mysql`/`postgres`/`redis` are busybox running a small `nc` server on their port
//! that answers with their name and keeps a file in their data volume; `wordpress`/`nginx`
//! are busybox answering HTTP on port 80 with what the database stand-in replied (so the
//! page proves the service name resolved and the database answered).
//!
//! Safety: every network gets a bridge named by the test (`com.docker.network.bridge.name`,
//! removed by the guard); subnets come from the daemon's private pool; published ports are
//! on 127.0.0.1 only.

use berth_tests::compose::{
    compose_yaml, project_ids, project_names, sh_command, Background, Tool,
};
use berth_tests::nettest::{fetch, watched_daemon};
use berth_tests::{eventually, free_port, NetGuard, TestDaemon};

fn leftovers(d: &TestDaemon, project: &str) -> (Vec<String>, String, String) {
    let nets = d
        .docker(["network", "ls", "--format", "{{.Name}}"])
        .run()
        .success()
        .out();
    let vols = d.docker(["volume", "ls", "-q"]).run().success().out();
    let nets: String = nets
        .lines()
        .filter(|n| n.starts_with(&format!("{project}_")))
        .collect();
    let vols: String = vols
        .lines()
        .filter(|n| n.starts_with(&format!("{project}_")))
        .collect();
    (project_names(d, project), nets, vols)
}

/// A stand-in database: answers `<name>-standin <contents of its data file>` on `port`.
fn db_standin(name: &str, port: u16, data: &str) -> String {
    sh_command(&format!(
        "mkdir -p {data}; [ -f {data}/id ] || echo created-$$RANDOM > {data}/id; while true; do echo \"{name}-standin $$(cat {data}/id)\" | nc -l -p {port}; done"
    ))
}

/// A stand-in web front: answers HTTP with what `host:port` replies.
fn web_standin(host: &str, port: u16) -> String {
    sh_command(&format!(
        "while true; do r=$$(nc {host} {port} </dev/null); printf 'HTTP/1.0 200 OK\\r\\n\\r\\nfront sees: %s\\n' \"$$r\" | nc -l -p 80; done"
    ))
}

#[test]
fn wordpress_mysql_seed_up_observe_scale_down() {
    let mut g = NetGuard::new("bt-cu");
    let d = watched_daemon(&mut g);
    let (br, port) = (g.bridge(), free_port());
    // 000_...txt: WordPress + MySQL, images replaced by busybox stand-ins.
    let yaml = format!(
        r#"services:
  db:
    image: busybox            # stands in for mysql:5.7
    command: {db}
    restart: always
    environment:
      - MYSQL_ROOT_PASSWORD=exemple
      - MYSQL_DATABASE=wordpress
    volumes:
      - db_data:/var/lib/mysql
  wordpress:
    image: busybox            # stands in for wordpress:latest
    command: {web}
    restart: always
    ports:
      - "127.0.0.1:{port}:80"
    environment:
      - WORDPRESS_DB_HOST=db:3306
      - WORDPRESS_DB_PASSWORD=exemple
      - WORDPRESS_DB_NAME=wordpress
    depends_on:
      - db
  worker:
    image: busybox
    command: sleep 600
    depends_on: [db]
volumes:
  db_data:
networks:
  default:
    driver_opts:
      com.docker.network.bridge.name: {br}
"#,
        db = db_standin("mysql", 3306, "/var/lib/mysql"),
        web = web_standin("db", 3306),
    );
    let dir = compose_yaml(&d, "wp", &yaml);
    let up = d.berth_compose(&dir, ["up", "-d"]).run();
    up.success();
    let err = up.stderr.clone();
    for line in [
        "Network wp_default  Created",
        "Volume wp_db_data  Created",
        "Container wp-db-1  Started",
        "Container wp-wordpress-1  Started",
    ] {
        assert!(err.contains(line), "progress shows {line:?}:\n{err}");
    }
    assert_eq!(
        project_names(&d, "wp"),
        ["wp-db-1", "wp-wordpress-1", "wp-worker-1"]
    );
    let page = || fetch(port);
    assert!(
        eventually(15, || page().contains("front sees: mysql-standin created-")),
        "HTTP on 127.0.0.1:{port} shows the database through the name db: {:?}",
        page()
    );
    let first = page();
    let id_line = first
        .lines()
        .find(|l| l.contains("front sees"))
        .unwrap_or_default()
        .to_string();
    // ps, as docker compose prints it.
    let ps = d.berth_compose(&dir, ["ps"]).run().success().out();
    assert!(ps.starts_with("NAME"), "{ps}");
    assert!(
        ps.contains("wp-wordpress-1") && ps.contains(&format!("127.0.0.1:{port}->80/tcp")),
        "{ps}"
    );
    // Nothing changed: nothing is recreated.
    let before = project_ids(&d, "wp");
    let again = d.berth_compose(&dir, ["up", "-d"]).run();
    again.success();
    assert!(again.stderr.contains("Container wp-db-1  Running"));
    assert_eq!(
        project_ids(&d, "wp"),
        before,
        "up with nothing changed keeps the containers"
    );
    // Scale up and down keeping the lowest numbers.
    d.berth_compose(&dir, ["up", "-d", "--scale", "worker=3"])
        .run()
        .success();
    assert_eq!(
        project_names(&d, "wp"),
        [
            "wp-db-1",
            "wp-wordpress-1",
            "wp-worker-1",
            "wp-worker-2",
            "wp-worker-3"
        ]
    );
    d.berth_compose(&dir, ["scale", "worker=1"]).run().success();
    assert_eq!(
        project_names(&d, "wp"),
        ["wp-db-1", "wp-wordpress-1", "wp-worker-1"]
    );
    // exec and logs.
    let out = d
        .berth_compose(
            &dir,
            [
                "exec",
                "-T",
                "worker",
                "sh",
                "-c",
                "nc db 3306 </dev/null; echo $WORKER_ENV_ABSENT-ok",
            ],
        )
        .run()
        .success()
        .out();
    assert!(
        out.contains("mysql-standin") && out.contains("-ok"),
        "{out}"
    );
    // The data survives down/up in the named volume.
    d.berth_compose(&dir, ["down"]).run().success();
    assert!(project_names(&d, "wp").is_empty());
    d.berth_compose(&dir, ["up", "-d"]).run().success();
    assert!(
        eventually(15, || page().contains(&id_line)),
        "same database id after down/up: {id_line:?} vs {:?}",
        page()
    );
    // down -v: nothing left.
    d.berth_compose(&dir, ["down", "-v"]).run().success();
    let (c, n, v) = leftovers(&d, "wp");
    assert!(
        c.is_empty() && n.is_empty() && v.is_empty(),
        "left: {c:?} {n:?} {v:?}"
    );
}

#[test]
fn alternating_with_docker_compose() {
    let mut g = NetGuard::new("bt-ca");
    let d = watched_daemon(&mut g);
    let br = g.bridge();
    let yaml = format!(
        r#"services:
  redis:
    image: busybox            # stands in for redis:alpine
    command: {redis}
  web:
    image: busybox            # stands in for the Flask app
    command: sleep 600
    depends_on: [redis]
    environment:
      REDIS_HOST: redis
networks:
  default:
    driver_opts:
      com.docker.network.bridge.name: {br}
"#,
        redis = db_standin("redis", 6379, "/data"),
    );
    let dir = compose_yaml(&d, "alt", &yaml);
    // berth compose up, docker compose sees an up-to-date project.
    d.berth_compose(&dir, ["up", "-d"]).run().success();
    let first = project_ids(&d, "alt");
    assert_eq!(first.len(), 2);
    let ps = d
        .compose(&dir, ["ps", "--format", "{{.Name}} {{.State}}"])
        .run()
        .success()
        .out();
    assert!(
        ps.contains("alt-web-1 running") && ps.contains("alt-redis-1 running"),
        "{ps}"
    );
    let out = d.compose(&dir, ["up", "-d"]).run();
    out.success();
    assert_eq!(
        project_ids(&d, "alt"),
        first,
        "docker compose keeps berth's containers (same config hash):\n{}",
        out.stderr
    );
    // docker compose scales, berth compose lists and keeps.
    d.compose(&dir, ["up", "-d", "--scale", "web=2"])
        .run()
        .success();
    assert_eq!(
        project_names(&d, "alt"),
        ["alt-redis-1", "alt-web-1", "alt-web-2"]
    );
    let ps = d
        .berth_compose(&dir, ["ps", "--format", "{{.Name}}"])
        .run()
        .success()
        .out();
    assert_eq!(ps.lines().count(), 3, "{ps}");
    let before = project_ids(&d, "alt");
    d.berth_compose(&dir, ["up", "-d", "--scale", "web=2"])
        .run()
        .success();
    assert_eq!(
        project_ids(&d, "alt"),
        before,
        "berth compose keeps docker compose's containers"
    );
    // docker compose takes down what berth created, and the other way round.
    d.compose(&dir, ["down"]).run().success();
    assert!(project_names(&d, "alt").is_empty());
    d.compose(&dir, ["up", "-d"]).run().success();
    d.berth_compose(&dir, ["down"]).run().success();
    let (c, n, _) = leftovers(&d, "alt");
    assert!(c.is_empty() && n.is_empty(), "left: {c:?} {n:?}");
}

#[test]
fn healthy_and_completed_conditions_run_and_logs() {
    let mut g = NetGuard::new("bt-ch");
    let d = watched_daemon(&mut g);
    let br = g.bridge();
    let yaml = format!(
        r#"services:
  db:
    image: busybox
    command: sh -c 'sleep 1; touch /tmp/ready; sleep 600'
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 200ms
      retries: 50
  migrate:
    image: busybox
    command: sh -c 'echo migrated'
    depends_on:
      db:
        condition: service_healthy
  app:
    image: busybox
    command: sh -c 'echo app-started; sleep 600'
    depends_on:
      migrate:
        condition: service_completed_successfully
networks:
  default:
    driver_opts:
      com.docker.network.bridge.name: {br}
"#
    );
    let dir = compose_yaml(&d, "cond", &yaml);
    let up = d.berth_compose(&dir, ["up", "-d"]).run();
    up.success();
    let err = up.stderr.clone();
    assert!(err.contains("Container cond-db-1  Healthy"), "{err}");
    assert!(err.contains("Container cond-migrate-1  Exited"), "{err}");
    let logs = d
        .berth_compose(&dir, ["logs", "--no-color", "migrate", "app"])
        .run()
        .success()
        .out();
    assert!(logs.contains("migrate-1  | migrated"), "{logs}");
    assert!(
        logs.contains("app-1      | app-started"),
        "prefixes aligned on migrate-1: {logs}"
    );
    // A one-off container: its own name, removed with --rm.
    let run = d
        .berth_compose(
            &dir,
            ["run", "--rm", "-T", "--no-deps", "app", "echo", "one-off"],
        )
        .run()
        .success()
        .out();
    assert!(run.contains("one-off"), "{run}");
    assert_eq!(
        project_names(&d, "cond").len(),
        3,
        "the one-off container is gone"
    );
    d.berth_compose(&dir, ["stop"]).run().success();
    let ps = d
        .berth_compose(&dir, ["ps", "-a", "--format", "{{.Service}} {{.State}}"])
        .run()
        .success()
        .out();
    assert!(
        ps.contains("app exited") && ps.contains("db exited"),
        "{ps}"
    );
    d.berth_compose(&dir, ["down"]).run().success();
    assert!(project_names(&d, "cond").is_empty());
}

/// What the secrets and configs look like inside the container: path, mode, owner, content.
fn files_seen(d: &TestDaemon, container: &str) -> String {
    let script = "for f in /run/secrets/token /run/secrets/custom /run/secrets/filesec /inline /etc/app/env.conf /etc/file.conf; do echo \"$f $(stat -c '%a %u %g' $f) $(cat $f | tr '\\n' '|')\"; done";
    d.docker(["exec", container, "sh", "-c", script])
        .run()
        .success()
        .out()
}

#[test]
fn secrets_and_configs_from_environment_content_and_files() {
    let mut g = NetGuard::new("bt-cs");
    let d = watched_daemon(&mut g);
    let br = g.bridge();
    let yaml = format!(
        r#"services:
  app:
    image: busybox
    command: sleep 600
    secrets:
      - token
      - source: token
        target: custom
        uid: "100"
        gid: "101"
        mode: 0440
      - filesec
    configs:
      - inline
      - source: envcfg
        target: /etc/app/env.conf
        mode: 0600
      - source: filecfg
        target: /etc/file.conf
secrets:
  token:
    environment: TOKEN
  filesec:
    file: ./secret.txt
configs:
  inline:
    content: |
      line1 ${{TOKEN}}
  envcfg:
    environment: TOKEN
  filecfg:
    file: ./cfg.txt
networks:
  default:
    driver_opts:
      com.docker.network.bridge.name: {br}
"#
    );
    let dir = compose_yaml(&d, "sec", &yaml);
    std::fs::write(dir.join("secret.txt"), "from-file\n").expect("secret.txt");
    std::fs::write(dir.join("cfg.txt"), "cfg-file\n").expect("cfg.txt");
    // Environment sources need their variable: compose's error, non-zero exit.
    let out = d.berth_compose(&dir, ["up", "-d"]).run();
    out.failure();
    assert!(
        out.stderr
            .contains("environment variable \"TOKEN\" required by secret \"sec_token\" is not set"),
        "{}",
        out.stderr
    );
    let want_missing = d.compose(&dir, ["up", "-d"]).run();
    want_missing.failure();
    assert!(
        want_missing
            .stderr
            .contains("environment variable \"TOKEN\" required by secret \"sec_token\" is not set"),
        "docker compose says the same: {}",
        want_missing.stderr
    );
    d.berth_compose(&dir, ["down"]).run().success();

    d.berth_compose(&dir, ["up", "-d"])
        .env("TOKEN", "s3cret")
        .run()
        .success();
    let seen = files_seen(&d, "sec-app-1");
    let want = "/run/secrets/token 444 0 0 s3cret\n\
                /run/secrets/custom 440 100 101 s3cret\n\
                /inline 444 0 0 line1 s3cret|\n\
                /etc/app/env.conf 600 0 0 s3cret\n";
    for line in want.lines() {
        assert!(seen.contains(line), "{line:?} in\n{seen}");
    }
    assert!(
        seen.contains("/run/secrets/filesec ") && seen.contains(" from-file|"),
        "{seen}"
    );
    assert!(
        seen.contains("/etc/file.conf ") && seen.contains(" cfg-file|"),
        "{seen}"
    );
    // File sources are read-only bind mounts.
    let ro = d
        .docker([
            "exec",
            "sec-app-1",
            "sh",
            "-c",
            "echo x > /run/secrets/filesec",
        ])
        .run();
    ro.failure();
    // Injected again at each start: a new value after stop/start.
    d.berth_compose(&dir, ["stop"]).run().success();
    d.berth_compose(&dir, ["start"])
        .env("TOKEN", "rotated")
        .run()
        .success();
    let again = files_seen(&d, "sec-app-1");
    assert!(
        again.contains("/run/secrets/token 444 0 0 rotated\n"),
        "{again}"
    );
    // The real docker compose against the same daemon puts the same files in place.
    d.berth_compose(&dir, ["down"]).run().success();
    d.compose(&dir, ["up", "-d"])
        .env("TOKEN", "s3cret")
        .run()
        .success();
    assert_eq!(
        files_seen(&d, "sec-app-1"),
        seen,
        "same files with docker compose"
    );
    // And berth compose sees docker compose's container as up to date.
    let before = project_ids(&d, "sec");
    d.berth_compose(&dir, ["up", "-d"])
        .env("TOKEN", "s3cret")
        .run()
        .success();
    assert_eq!(project_ids(&d, "sec"), before);
    // `run` gets them too.
    let run = d
        .berth_compose(
            &dir,
            ["run", "--rm", "-T", "app", "cat", "/run/secrets/custom"],
        )
        .env("TOKEN", "for-run")
        .run()
        .success()
        .out();
    assert_eq!(run.trim(), "for-run");
    d.berth_compose(&dir, ["down"]).run().success();
    assert!(project_names(&d, "sec").is_empty());
}

fn cat(d: &TestDaemon, c: &str, path: &str) -> String {
    let out = d.docker(["exec", c, "cat", path]).run();
    if out.code == 0 {
        out.stdout.clone()
    } else {
        String::new()
    }
}

#[test]
fn watch_syncs_restarts_execs_and_rebuilds() {
    let mut g = NetGuard::new("bt-cw");
    let d = watched_daemon(&mut g);
    let br = g.bridge();
    let yaml = format!(
        r#"services:
  web:
    build: .
    command: sleep 600
    develop:
      watch:
        - path: ./src
          action: sync
          target: /app/src
          ignore: ["*.tmp"]
          initial_sync: true
        - path: ./conf
          action: sync+restart
          target: /etc/app
        - path: ./hook
          action: sync+exec
          target: /hook
          exec:
            command: sh -c 'cat /hook/h.txt > /hook-ran'
        - path: ./app.txt
          action: rebuild
networks:
  default:
    driver_opts:
      com.docker.network.bridge.name: {br}
"#
    );
    let dir = compose_yaml(&d, "wt", &yaml);
    let w = |rel: &str, text: &str| {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(p, text).expect("write");
    };
    w("Dockerfile", "FROM busybox\nCOPY app.txt /app.txt\n");
    w("app.txt", "build-1\n");
    w("src/index.txt", "v1\n");
    w("conf/app.conf", "c1\n");
    w("hook/h.txt", "h0\n");
    // A service without develop.watch: compose's error.
    let bad = compose_yaml(&d, "nowatch", "services:\n  a:\n    image: busybox\n");
    let out = d.berth_compose(&bad, ["watch", "--no-up"]).run();
    out.failure();
    assert!(
        out.stderr
            .contains("none of the selected services is configured for watch"),
        "{}",
        out.stderr
    );

    // initial_sync copies what changed after the image was built (compose's rule): date
    // the file after the build to come.
    std::fs::File::options()
        .write(true)
        .open(dir.join("src/index.txt"))
        .and_then(|f| {
            f.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(3600))
        })
        .expect("mtime");
    let bg = Background::start(&d, Tool::Berth, &dir, &["watch"], &[]);
    assert!(
        eventually(180, || bg.output().contains("Watch enabled")),
        "{}",
        bg.output()
    );
    let c = "wt-web-1";
    // initial_sync copied the tree.
    assert!(
        eventually(20, || cat(&d, c, "/app/src/index.txt") == "v1\n"),
        "{}",
        bg.output()
    );
    // sync: changed and new files land, ignored ones do not, deleted ones go.
    w("src/index.txt", "v2\n");
    w("src/new/deep.txt", "deep\n");
    w("src/skip.tmp", "no\n");
    assert!(
        eventually(20, || cat(&d, c, "/app/src/index.txt") == "v2\n"
            && cat(&d, c, "/app/src/new/deep.txt") == "deep\n"),
        "{}",
        bg.output()
    );
    assert_eq!(
        cat(&d, c, "/app/src/skip.tmp"),
        "",
        "ignored file not synced"
    );
    std::fs::remove_dir_all(dir.join("src/new")).expect("rm");
    assert!(
        eventually(20, || d
            .docker(["exec", c, "test", "-e", "/app/src/new"])
            .run()
            .code
            != 0),
        "{}",
        bg.output()
    );
    // sync+restart: the file lands and the container starts again.
    let started = || {
        d.docker(["inspect", "-f", "{{.State.StartedAt}}", c])
            .run()
            .success()
            .out()
    };
    let before = started();
    w("conf/app.conf", "c2\n");
    assert!(
        eventually(30, || started() != before
            && cat(&d, c, "/etc/app/app.conf") == "c2\n"),
        "{}",
        bg.output()
    );
    // sync+exec: the command ran after the sync.
    w("hook/h.txt", "hooked\n");
    assert!(
        eventually(30, || cat(&d, c, "/hook-ran") == "hooked\n"),
        "{}",
        bg.output()
    );
    // rebuild: a new image, the container recreated from it.
    let old_id = d
        .docker(["inspect", "-f", "{{.Id}}", c])
        .run()
        .success()
        .out();
    w("app.txt", "build-2\n");
    assert!(
        eventually(180, || cat(&d, c, "/app.txt") == "build-2\n"),
        "{}",
        bg.output()
    );
    let new_id = d
        .docker(["inspect", "-f", "{{.Id}}", c])
        .run()
        .success()
        .out();
    assert_ne!(old_id, new_id, "recreated");
    let out = bg.output();
    assert!(out.contains("Syncing service \"web\" after"), "{out}");
    assert!(out.contains("Rebuilding service(s) [\"web\"]"), "{out}");
    drop(bg);
    // up --watch (foreground; compose refuses it with -d): the same rules, here a sync.
    let bg = Background::start(&d, Tool::Berth, &dir, &["up", "--watch"], &[]);
    assert!(
        eventually(120, || bg.output().contains("Watch enabled")),
        "{}",
        bg.output()
    );
    w("src/index.txt", "v3\n");
    assert!(
        eventually(20, || cat(&d, c, "/app/src/index.txt") == "v3\n"),
        "{}",
        bg.output()
    );
    drop(bg);
    d.berth_compose(&dir, ["down", "--rmi", "local"])
        .run()
        .success();
    assert!(project_names(&d, "wt").is_empty());
}

/// The screen a terminal shows after `raw` (cursor up, erase, carriage return; colours and
/// modes dropped): what a user sees once the progress display has redrawn for the last time.
fn final_screen(raw: &str) -> Vec<String> {
    let mut rows: Vec<Vec<char>> = vec![Vec::new()];
    let (mut row, mut col) = (0usize, 0usize);
    let mut it = raw.chars().peekable();
    while let Some(c) = it.next() {
        match c {
            '\x1b' => {
                if it.peek() != Some(&'[') {
                    it.next();
                    continue;
                }
                it.next();
                let mut params = String::new();
                let mut fin = ' ';
                for x in it.by_ref() {
                    if x.is_ascii_alphabetic() || x == '~' {
                        fin = x;
                        break;
                    }
                    params.push(x);
                }
                let n: usize = params.trim_start_matches('?').parse().unwrap_or(1).max(1);
                match fin {
                    'A' => row = row.saturating_sub(n),
                    'B' => row += n,
                    'G' => col = n - 1,
                    'J' => {
                        rows.truncate(row + 1);
                        if let Some(r) = rows.get_mut(row) {
                            r.truncate(col);
                        }
                    }
                    'K' => {
                        if let Some(r) = rows.get_mut(row) {
                            if params == "2" {
                                r.clear();
                            } else {
                                r.truncate(col);
                            }
                        }
                    }
                    _ => {}
                }
            }
            '\r' => col = 0,
            '\n' => {
                row += 1;
                col = 0;
            }
            c => {
                while rows.len() <= row {
                    rows.push(Vec::new());
                }
                let r = &mut rows[row];
                while r.len() < col {
                    r.push(' ');
                }
                if col < r.len() {
                    r[col] = c;
                } else {
                    r.push(c);
                }
                col += 1;
            }
        }
        while rows.len() <= row {
            rows.push(Vec::new());
        }
    }
    rows.into_iter()
        .map(|r| r.into_iter().collect::<String>())
        .map(|l| {
            l.split_whitespace()
                .map(|w| {
                    let t = w.trim_end_matches('s');
                    if w.ends_with('s')
                        && !t.is_empty()
                        && t.chars().all(|c| c.is_ascii_digit() || c == '.')
                    {
                        "T"
                    } else {
                        w
                    }
                })
                .collect::<Vec<_>>()
                .join(" ")
        })
        .filter(|l| l.starts_with("[+]") || l.starts_with('✔') || l.starts_with('✘'))
        .collect()
}

/// `cmd` run in `dir` under a pseudo-terminal (script(1)), 120 columns wide; its output.
fn under_pty(dir: &std::path::Path, cmd: &str, envs: &[(&str, String)]) -> String {
    let mut c = std::process::Command::new("script");
    c.args([
        "-qefc",
        &format!("stty cols 120 rows 40; {cmd}"),
        "/dev/null",
    ])
    .current_dir(dir)
    .env_remove("COMPOSE_PROJECT_NAME")
    .env_remove("COMPOSE_FILE")
    .stdin(std::process::Stdio::null());
    for (k, v) in envs {
        c.env(k, v);
    }
    let out = c.output().expect("script(1)");
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn terminal_progress_display_ends_as_docker_composes() {
    let mut g = NetGuard::new("bt-cp");
    let d = watched_daemon(&mut g);
    let br = g.bridge();
    let yaml = format!(
        "services:\n  db:\n    image: busybox\n    command: sleep 600\n  web:\n    image: busybox\n    command: sleep 600\n    depends_on: [db]\nnetworks:\n  default:\n    driver_opts:\n      com.docker.network.bridge.name: {br}\n"
    );
    let dir = compose_yaml(&d, "pd", &yaml);
    let berth = format!(
        "{} -H {} compose up -d",
        berth_tests::berth_bin().display(),
        d.host()
    );
    let raw = under_pty(&dir, &berth, &[]);
    // Drawn in place as compose 2.40's tty writer draws: the cursor hidden while a frame
    // is drawn and taken back to column 0 (frames come at its 100 ms ticks, so how many,
    // and whether a spinner shows, depends on timing).
    assert!(
        raw.contains("\x1b[?25l") && raw.contains("\x1b[0G") && raw.contains("\x1b[?25h"),
        "{raw:?}"
    );
    let got = final_screen(&raw);
    d.berth_compose(&dir, ["down"]).run().success();
    let compose = format!("{} up -d", berth_tests::compose_bin().display());
    let env = [
        ("DOCKER_HOST", d.host()),
        (
            "DOCKER_CONFIG",
            d.dir().join("docker-config").display().to_string(),
        ),
    ];
    let want = final_screen(&under_pty(&dir, &compose, &env));
    d.berth_compose(&dir, ["down"]).run().success();
    assert_eq!(
        got, want,
        "final progress lines (timings elided), berth then docker compose"
    );
    assert_eq!(
        got,
        [
            "[+] Running 3/3",
            "✔ Network pd_default Created T",
            "✔ Container pd-db-1 Started T",
            "✔ Container pd-web-1 Started T",
        ]
    );
}

#[test]
fn bad_input_leaves_nothing_behind() {
    let mut g = NetGuard::new("bt-cb");
    let d = watched_daemon(&mut g);
    let br = g.bridge();
    let net = format!(
        "networks:\n  default:\n    driver_opts:\n      com.docker.network.bridge.name: {br}\n"
    );
    let cases: &[(&str, String, &str)] = &[
        (
            "nocontext",
            format!("services:\n  web:\n    build: ./nope\n  db:\n    image: busybox\n    command: sleep 60\n{net}"),
            "nope",
        ),
        (
            "extnet",
            "services:\n  web:\n    image: busybox\n    command: sleep 60\n    networks: [outside]\nnetworks:\n  outside:\n    external: true\n".to_string(),
            "network outside declared as external, but could not be found",
        ),
        (
            "extvol",
            format!("services:\n  web:\n    image: busybox\n    command: sleep 60\n    volumes: [\"ext:/data\"]\nvolumes:\n  ext:\n    external: true\n{net}"),
            "external volume \"ext\" not found",
        ),
        (
            "cycle",
            format!("services:\n  a:\n    image: busybox\n    depends_on: [b]\n  b:\n    image: busybox\n    depends_on: [a]\n{net}"),
            "dependency cycle detected",
        ),
        (
            "envfile",
            format!("services:\n  a:\n    image: busybox\n    env_file: missing.env\n{net}"),
            "missing.env not found",
        ),
    ];
    for (name, yaml, want) in cases {
        let dir = compose_yaml(&d, name, yaml);
        let out = d.berth_compose(&dir, ["up", "-d"]).run();
        out.failure();
        let err = out.stderr.clone();
        assert!(err.contains(want), "{name}: {err}");
        let (c, n, v) = leftovers(&d, name);
        assert!(
            c.is_empty() && n.is_empty() && v.is_empty(),
            "{name} left {c:?} {n:?} {v:?}"
        );
    }
    // A port already in use: the daemon's error, non-zero exit.
    let busy = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = busy.local_addr().expect("addr").port();
    let dir = compose_yaml(
        &d,
        "busy",
        &format!("services:\n  web:\n    image: busybox\n    command: sleep 60\n    ports: [\"127.0.0.1:{port}:80\"]\n{net}"),
    );
    let out = d.berth_compose(&dir, ["up", "-d"]).run();
    out.failure();
    d.berth_compose(&dir, ["down"]).run().success();
    let (c, n, _) = leftovers(&d, "busy");
    assert!(
        c.is_empty() && n.is_empty(),
        "down cleans what the failed up made: {c:?} {n:?}"
    );
}

#[test]
fn entry_points_docker_compose_name_plugin_and_version() {
    let d = TestDaemon::start();
    let dir = d.dir().join("ep");
    std::fs::create_dir_all(&dir).expect("dir");
    let bin = berth_tests::berth_bin();
    for name in ["docker-compose", "berth-compose"] {
        let link = dir.join(name);
        let _ = std::fs::remove_file(&link);
        std::os::unix::fs::symlink(&bin, &link).expect("symlink");
        let out = std::process::Command::new(&link)
            .arg("version")
            .output()
            .expect("run");
        assert!(
            String::from_utf8_lossy(&out.stdout).starts_with("berth compose version v"),
            "{name}"
        );
    }
    let meta = std::process::Command::new(dir.join("docker-compose"))
        .arg("docker-cli-plugin-metadata")
        .output()
        .expect("run");
    let v: serde_json::Value = serde_json::from_slice(&meta.stdout).expect("metadata json");
    assert_eq!(v["SchemaVersion"], "0.1.0");
    // Installed as the docker CLI plugin, `docker compose` is berth's.
    let cfg = dir.join("dockercfg");
    std::fs::create_dir_all(cfg.join("cli-plugins")).expect("plugins dir");
    std::os::unix::fs::symlink(&bin, cfg.join("cli-plugins/docker-compose")).expect("plugin link");
    let out = std::process::Command::new("docker")
        .args(["compose", "version"])
        .env("DOCKER_CONFIG", &cfg)
        .env("DOCKER_HOST", d.host())
        .output()
        .expect("docker compose");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("berth compose version v"),
        "{} {}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let out = d
        .berth(["compose", "version", "--short"])
        .run()
        .success()
        .out();
    assert_eq!(out.trim(), env!("CARGO_PKG_VERSION"));
}

/// Now as `docker events --since/--until` take it: seconds.nanoseconds.
fn unix_now() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock");
    format!("{}.{:09}", t.as_secs(), t.subsec_nanos())
}

/// The progress lines of a plain `up -d` (`Container x  Created` ...) as (resource, state).
fn plain_events(stderr: &str) -> Vec<(String, String)> {
    stderr
        .lines()
        .filter_map(|l| l.trim_start().split_once("  "))
        .map(|(r, s)| (r.trim().to_string(), s.trim().to_string()))
        .collect()
}

/// The position of the first (resource, state) line, panicking with the lines if absent.
fn at(ev: &[(String, String)], resource: &str, state: &str) -> usize {
    ev.iter()
        .position(|(r, s)| r == resource && s == state)
        .unwrap_or_else(|| panic!("no {resource:?} {state:?} in {ev:?}"))
}

/// `up` as docker compose v2 runs it: every container created first (dependencies before
/// dependents), then started in dependency order, a `service_healthy` dependent only once
/// its dependency is healthy; the daemon sees every `create` before any `start`. The same
/// order is asserted of the real docker compose against the same daemon.
#[test]
fn up_creates_every_container_then_starts_them_in_dependency_order() {
    let mut g = NetGuard::new("bt-cuo");
    let d = watched_daemon(&mut g);
    let yaml = format!(
        r#"services:
  db:
    image: busybox
    command: sh -c 'sleep 0.3; touch /tmp/ready; exec sleep 600'
    stop_grace_period: 1s
    healthcheck:
      test: ["CMD", "test", "-f", "/tmp/ready"]
      interval: 100ms
      retries: 100
  web:
    image: busybox
    command: sleep 600
    stop_grace_period: 1s
    depends_on:
      db:
        condition: service_healthy
  worker:
    image: busybox
    command: sleep 600
    stop_grace_period: 1s
    depends_on: [db]
    deploy:
      replicas: 2
  cache:
    image: busybox
    command: sleep 600
    stop_grace_period: 1s
networks:
  default:
    driver_opts:
      com.docker.network.bridge.name: {}
"#,
        g.bridge()
    );
    let dir = compose_yaml(&d, "ord", &yaml);
    let containers =
        ["db-1", "web-1", "worker-1", "worker-2", "cache-1"].map(|c| format!("Container ord-{c}"));
    for tool in ["berth", "docker compose"] {
        let t0 = unix_now();
        let args = ["--progress", "plain", "up", "-d"];
        let up = if tool == "berth" {
            d.berth_compose(&dir, args).run()
        } else {
            d.compose(&dir, args).run()
        };
        up.success();
        let ev = plain_events(&up.stderr);
        let last_created = containers
            .iter()
            .map(|c| at(&ev, c, "Created"))
            .max()
            .unwrap_or(0);
        let first_starting = containers
            .iter()
            .map(|c| at(&ev, c, "Starting"))
            .min()
            .unwrap_or(0);
        assert!(
            last_created < first_starting,
            "{tool}: every container created before any starts: {ev:?}"
        );
        // Dependencies created first.
        assert!(
            at(&ev, "Container ord-db-1", "Created") < at(&ev, "Container ord-web-1", "Creating"),
            "{tool}: {ev:?}"
        );
        assert!(
            at(&ev, "Container ord-db-1", "Created")
                < at(&ev, "Container ord-worker-1", "Creating"),
            "{tool}: {ev:?}"
        );
        // Started in dependency order; the healthy condition holds before web starts.
        let db_started = at(&ev, "Container ord-db-1", "Started");
        assert!(
            db_started < at(&ev, "Container ord-worker-1", "Starting"),
            "{tool}: {ev:?}"
        );
        assert!(
            db_started < at(&ev, "Container ord-worker-2", "Starting"),
            "{tool}: {ev:?}"
        );
        assert!(
            at(&ev, "Container ord-db-1", "Healthy") < at(&ev, "Container ord-web-1", "Starting"),
            "{tool}: {ev:?}"
        );
        // The daemon's view: every create before any start.
        let t1 = unix_now();
        let actions = d
            .docker([
                "events",
                "--since",
                &t0,
                "--until",
                &t1,
                "--filter",
                "type=container",
                "--filter",
                "label=com.docker.compose.project=ord",
                "--format",
                "{{.Action}}",
            ])
            .run()
            .success()
            .out();
        let actions: Vec<&str> = actions
            .lines()
            .filter(|a| *a == "create" || *a == "start")
            .collect();
        let last_create = actions.iter().rposition(|a| *a == "create");
        let first_start = actions.iter().position(|a| *a == "start");
        assert!(
            actions.len() == 10 && last_create < first_start,
            "{tool}: the daemon saw 5 creates then 5 starts: {actions:?}"
        );
        d.berth_compose(&dir, ["down"]).run().success();
        assert!(project_names(&d, "ord").is_empty());
    }
}

/// The daemon's container events of project `project` since `t0`: (action, name) with a
/// recreation's temporary `<id12>_` prefix cut, for the actions convergence causes.
fn lifecycle(d: &TestDaemon, project: &str, t0: &str) -> Vec<(String, String)> {
    let t1 = unix_now();
    let out = d
        .docker([
            "events",
            "--since",
            t0,
            "--until",
            &t1,
            "--filter",
            "type=container",
            "--filter",
            &format!("label=com.docker.compose.project={project}"),
            "--format",
            "{{.Action}} {{.Actor.Attributes.name}}",
        ])
        .run()
        .success()
        .out();
    out.lines()
        .filter_map(|l| l.split_once(' '))
        .filter(|(a, _)| ["create", "start", "stop", "destroy", "rename"].contains(a))
        .map(|(a, n)| {
            let n = match n.split_once('_') {
                Some((id, rest)) if id.len() == 12 => rest,
                _ => n,
            };
            (a.to_string(), n.to_string())
        })
        .collect()
}

/// A changed service is recreated as docker compose v2 does it: the services depending on
/// it with `restart: true` are stopped first and started again after it (a plain
/// `depends_on` dependent keeps running), the replacement carries
/// `com.docker.compose.replace=<service>-<n>` (or the container_name), and a new
/// container_name is the replacement's name. Progress lines, daemon events and labels are
/// compared with the real docker compose's against the same daemon.
#[test]
fn recreate_stops_restart_dependents_first_and_labels_the_replacement() {
    let mut g = NetGuard::new("bt-cur");
    let d = watched_daemon(&mut g);
    let br = g.bridge();
    let yaml = |v: &str, side_name: &str| {
        format!(
            r#"services:
  db:
    image: busybox
    command: sleep 600
    stop_grace_period: 1s
    environment:
      V: "{v}"
  web:
    image: busybox
    command: sleep 600
    stop_grace_period: 1s
    depends_on:
      db:
        condition: service_started
        restart: true
  worker:
    image: busybox
    command: sleep 600
    stop_grace_period: 1s
    depends_on: [db]
  side:
    image: busybox
    command: sleep 600
    stop_grace_period: 1s
{side_name}networks:
  default:
    driver_opts:
      com.docker.network.bridge.name: {br}
"#
        )
    };
    let dir = compose_yaml(&d, "rec", &yaml("1", ""));
    let label = |c: &str| {
        d.docker([
            "inspect",
            "--format",
            "{{index .Config.Labels \"com.docker.compose.replace\"}}",
            c,
        ])
        .run()
        .success()
        .out()
        .trim()
        .to_string()
    };
    let mut seen = Vec::new();
    for tool in ["berth", "docker compose"] {
        let run = |args: &[&str]| {
            if tool == "berth" {
                d.berth_compose(&dir, args).run()
            } else {
                d.compose(&dir, args).run()
            }
        };
        std::fs::write(dir.join("compose.yaml"), yaml("1", "")).expect("write");
        run(&["up", "-d"]).success();
        std::fs::write(
            dir.join("compose.yaml"),
            yaml("2", "    container_name: rec-side-renamed\n"),
        )
        .expect("write");
        let t0 = unix_now();
        let up = run(&["--progress", "plain", "up", "-d"]);
        up.success();
        let ev = plain_events(&up.stderr);
        let (web, db) = ("Container rec-web-1", "Container rec-db-1");
        assert!(
            at(&ev, web, "Stopped") < at(&ev, db, "Recreate"),
            "{tool}: {ev:?}"
        );
        assert!(
            at(&ev, db, "Recreated") < at(&ev, db, "Starting"),
            "{tool}: {ev:?}"
        );
        assert!(
            at(&ev, db, "Started") < at(&ev, web, "Starting"),
            "{tool}: {ev:?}"
        );
        at(&ev, web, "Started");
        at(&ev, "Container rec-worker-1", "Running");
        at(&ev, "Container rec-side-1", "Recreated");
        at(&ev, "Container rec-side-renamed", "Started");
        let worker: Vec<&String> = ev
            .iter()
            .filter(|(r, _)| r == "Container rec-worker-1")
            .map(|(_, s)| s)
            .collect();
        assert_eq!(
            worker,
            ["Running"],
            "{tool}: the plain dependent keeps running"
        );
        let mut lines = ev.clone();
        lines.sort();
        // The daemon: web stopped before db's replacement is created, started after db.
        let life = lifecycle(&d, "rec", &t0);
        let pos = |a: &str, n: &str| {
            life.iter()
                .position(|(x, y)| x == a && y == n)
                .unwrap_or_else(|| panic!("{tool}: no {a} {n} in {life:?}"))
        };
        assert!(
            pos("stop", "rec-web-1") < pos("create", "rec-db-1"),
            "{tool}: {life:?}"
        );
        assert!(
            pos("start", "rec-db-1") < pos("start", "rec-web-1"),
            "{tool}: {life:?}"
        );
        let db_life: Vec<_> = life
            .iter()
            .filter(|(_, n)| n == "rec-db-1")
            .cloned()
            .collect();
        // Labels and names.
        assert_eq!(label("rec-db-1"), "db-1", "{tool}");
        assert_eq!(label("rec-side-renamed"), "rec-side-renamed", "{tool}");
        assert_eq!(label("rec-web-1"), "", "{tool}");
        assert_eq!(
            project_names(&d, "rec"),
            ["rec-db-1", "rec-side-renamed", "rec-web-1", "rec-worker-1"],
            "{tool}"
        );
        seen.push((lines, db_life));
        run(&["down"]).success();
        assert!(project_names(&d, "rec").is_empty(), "{tool}");
    }
    assert_eq!(
        seen[0].0, seen[1].0,
        "berth's progress lines as docker compose's"
    );
    assert_eq!(
        seen[0].1, seen[1].1,
        "db's daemon events as docker compose's"
    );
}

/// compose walks a service's containers in the daemon's list order, newest first, to start
/// them (`start`, and `up` of stopped replicas) and restarts them all at once. Replicas
/// created by three `up --scale` runs (db-3 the newest) start db-3, db-2, db-1 through both
/// tools; `restart -t 1` of replicas that ignore SIGTERM prints both `Restarting` lines
/// before either `Started` (in parallel, each waits its second) through both tools.
#[test]
fn replicas_start_newest_first_and_restart_together() {
    let mut g = NetGuard::new("bt-cus");
    let d = watched_daemon(&mut g);
    let yaml = format!(
        r#"services:
  db:
    image: busybox
    command: sleep 600
    stop_grace_period: 1s
networks:
  default:
    driver_opts:
      com.docker.network.bridge.name: {}
"#,
        g.bridge()
    );
    let dir = compose_yaml(&d, "ord", &yaml);
    let starting = |stderr: &str| -> Vec<String> {
        plain_events(stderr)
            .into_iter()
            .filter(|(_, s)| s == "Starting")
            .map(|(r, _)| r)
            .collect()
    };
    let newest_first = [
        "Container ord-db-3",
        "Container ord-db-2",
        "Container ord-db-1",
    ];
    for tool in ["berth", "docker compose"] {
        let run = |args: &[&str]| {
            let mut a = vec!["--progress", "plain"];
            a.extend_from_slice(args);
            if tool == "berth" {
                d.berth_compose(&dir, a).run()
            } else {
                d.compose(&dir, a).run()
            }
        };
        for n in ["1", "2", "3"] {
            run(&["up", "-d", "--scale", &format!("db={n}")]).success();
        }
        run(&["stop"]).success();
        let out = run(&["start"]);
        out.success();
        assert_eq!(starting(&out.stderr), newest_first, "{tool} start");
        run(&["stop"]).success();
        let out = run(&["up", "-d", "--scale", "db=3"]);
        out.success();
        assert_eq!(starting(&out.stderr), newest_first, "{tool} up");
        let out = run(&["restart", "-t", "1"]);
        out.success();
        let ev = plain_events(&out.stderr);
        let last_restarting = ev.iter().rposition(|(_, s)| s == "Restarting");
        let first_started = ev.iter().position(|(_, s)| s == "Started");
        assert_eq!(
            ev.iter().filter(|(_, s)| s == "Restarting").count(),
            3,
            "{tool}: {ev:?}"
        );
        assert!(last_restarting < first_started, "{tool}: {ev:?}");
        run(&["down"]).success();
        assert!(project_names(&d, "ord").is_empty(), "{tool}");
    }
}
