//! `berth compose` driving a berth daemon: the seeds' compose projects brought up, observed
//! working, scaled, taken down; the same project driven alternately by `berth compose` and
//! the real `docker compose`; dependency conditions; bad input that must leave nothing.
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

use berth_tests::nettest::{fetch, watched_daemon};
use berth_tests::{eventually, free_port, NetGuard, TestDaemon};
use std::path::PathBuf;

fn project(d: &TestDaemon, name: &str, yaml: &str) -> PathBuf {
    let dir = d.dir().join(name);
    std::fs::create_dir_all(&dir).expect("project dir");
    std::fs::write(dir.join("compose.yaml"), yaml).expect("compose.yaml");
    dir
}

fn names(d: &TestDaemon, project: &str) -> Vec<String> {
    let filter = format!("label=com.docker.compose.project={project}");
    let mut v: Vec<String> = d
        .docker(["ps", "-a", "--filter", &filter, "--format", "{{.Names}}"])
        .run()
        .success()
        .out()
        .lines()
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

fn ids(d: &TestDaemon, project: &str) -> Vec<String> {
    let filter = format!("label=com.docker.compose.project={project}");
    let mut v: Vec<String> = d
        .docker(["ps", "-a", "-q", "--no-trunc", "--filter", &filter])
        .run()
        .success()
        .out()
        .lines()
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

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
    (names(d, project), nets, vols)
}

/// A `command:` in flow syntax running `script` with sh (JSON strings are YAML scalars).
fn sh(script: &str) -> String {
    format!(
        "[\"sh\", \"-c\", {}]",
        serde_json::Value::String(script.to_string())
    )
}

/// A stand-in database: answers `<name>-standin <contents of its data file>` on `port`.
fn db_standin(name: &str, port: u16, data: &str) -> String {
    sh(&format!(
        "mkdir -p {data}; [ -f {data}/id ] || echo created-$$RANDOM > {data}/id; while true; do echo \"{name}-standin $$(cat {data}/id)\" | nc -l -p {port}; done"
    ))
}

/// A stand-in web front: answers HTTP with what `host:port` replies.
fn web_standin(host: &str, port: u16) -> String {
    sh(&format!(
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
    let dir = project(&d, "wp", &yaml);
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
        names(&d, "wp"),
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
    let before = ids(&d, "wp");
    let again = d.berth_compose(&dir, ["up", "-d"]).run();
    again.success();
    assert!(again.stderr.contains("Container wp-db-1  Running"));
    assert_eq!(
        ids(&d, "wp"),
        before,
        "up with nothing changed keeps the containers"
    );
    // Scale up and down keeping the lowest numbers.
    d.berth_compose(&dir, ["up", "-d", "--scale", "worker=3"])
        .run()
        .success();
    assert_eq!(
        names(&d, "wp"),
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
        names(&d, "wp"),
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
    assert!(names(&d, "wp").is_empty());
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
    let dir = project(&d, "alt", &yaml);
    // berth compose up, docker compose sees an up-to-date project.
    d.berth_compose(&dir, ["up", "-d"]).run().success();
    let first = ids(&d, "alt");
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
        ids(&d, "alt"),
        first,
        "docker compose keeps berth's containers (same config hash):\n{}",
        out.stderr
    );
    // docker compose scales, berth compose lists and keeps.
    d.compose(&dir, ["up", "-d", "--scale", "web=2"])
        .run()
        .success();
    assert_eq!(names(&d, "alt"), ["alt-redis-1", "alt-web-1", "alt-web-2"]);
    let ps = d
        .berth_compose(&dir, ["ps", "--format", "{{.Name}}"])
        .run()
        .success()
        .out();
    assert_eq!(ps.lines().count(), 3, "{ps}");
    let before = ids(&d, "alt");
    d.berth_compose(&dir, ["up", "-d", "--scale", "web=2"])
        .run()
        .success();
    assert_eq!(
        ids(&d, "alt"),
        before,
        "berth compose keeps docker compose's containers"
    );
    // docker compose takes down what berth created, and the other way round.
    d.compose(&dir, ["down"]).run().success();
    assert!(names(&d, "alt").is_empty());
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
    let dir = project(&d, "cond", &yaml);
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
    assert_eq!(names(&d, "cond").len(), 3, "the one-off container is gone");
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
    assert!(names(&d, "cond").is_empty());
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
    let dir = project(&d, "sec", &yaml);
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
    let before = ids(&d, "sec");
    d.berth_compose(&dir, ["up", "-d"])
        .env("TOKEN", "s3cret")
        .run()
        .success();
    assert_eq!(ids(&d, "sec"), before);
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
    assert!(names(&d, "sec").is_empty());
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
        let dir = project(&d, name, yaml);
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
    let dir = project(
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
