//! Stacks (prefix `swarm_stack_`): `stack deploy -c FILE [-c FILE2] [--prune]`, `stack ls`,
//! `services`, `ps`, `rm`, through the docker CLI (which does it all with the Engine API)
//! and berth's (berth-compose's loader): services with `deploy:` settings, stack-scoped
//! and external secrets, configs and networks, and the seeds' stack examples with their
//! images replaced by the busybox fixture.

use berth_tests::nettest::{fetch, SERVE_REPLY};
use berth_tests::swarm::{init_pooled as init, running_of};
use berth_tests::{eventually, Client, TestDaemon};
use std::path::{Path, PathBuf};

fn run(d: &TestDaemon, c: Client, args: &[&str]) -> berth_tests::Output {
    d.run(c, args)
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, text).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
    p
}

fn app_compose(port: u16) -> String {
    format!(
        r#"version: '3.8'
services:
  web:
    image: busybox
    command: ["sh", "-c", "{serve}"]
    hostname: "web-{{{{.Task.Slot}}}}"
    stop_grace_period: 1s
    ports:
      - "{port}:80"
    environment:
      - NODE_ENV=production
    deploy:
      replicas: 2
      labels:
        tier: front
      restart_policy:
        condition: on-failure
        delay: 5s
        max_attempts: 3
        window: 120s
      update_config:
        parallelism: 1
        delay: 10s
        failure_action: rollback
        monitor: 60s
        max_failure_ratio: 0.3
      resources:
        limits:
          cpus: '0.50'
          memory: 512M
        reservations:
          cpus: '0.25'
          memory: 64M
    networks:
      - app_network
    secrets:
      - db_password
    configs:
      - source: app_conf
        target: /etc/app.conf
  db:
    image: busybox
    command: ["sh", "-c", "trap 'exit 0' TERM; sleep 100000 & wait"]
    volumes:
      - db_data:/data
    networks:
      - app_network
    secrets:
      - source: site_key
        target: key
        mode: 0400
volumes:
  db_data:
    driver: local
networks:
  app_network:
    driver: overlay
    attachable: true
secrets:
  db_password:
    external: true
  site_key:
    file: ./site.key
configs:
  app_conf:
    file: ./app.conf
"#,
        serve = SERVE_REPLY.replace('$', "$$")
    )
}

fn stack_walkthrough(c: Client) {
    let d = TestDaemon::start();
    init(&d, c);
    let dir = d.dir.join("app");
    std::fs::create_dir_all(&dir).unwrap();
    let port = 22000 + 10 * d.net.n as u16;
    let file = write(&dir, "docker-compose.yml", &app_compose(port));
    write(&dir, "site.key", "KEY-DATA");
    write(&dir, "app.conf", "level=debug\n");
    let file = file.to_string_lossy().to_string();
    // The external secret must exist first (docker creates the stack's network, secrets
    // and configs before it finds that out: the first run's output counts too).
    let first = run(&d, c, &["stack", "deploy", "-c", &file, "myapp"]);
    let first = first.failure().stderr_contains("db_password").out();
    d.cli(c, ["secret", "create", "db_password", "-"])
        .stdin("pw-123")
        .run()
        .success();
    let out = run(&d, c, &["stack", "deploy", "-c", &file, "myapp"]);
    let out = format!("{first}\n{}", out.success().out());
    for want in [
        "Creating network myapp_app_network",
        "Creating secret myapp_site_key",
        "Creating config myapp_app_conf",
        "Creating service myapp_web",
        "Creating service myapp_db",
    ] {
        assert!(out.contains(want), "{want:?} not in {out}");
    }
    run(
        &d,
        c,
        &["stack", "ls", "--format", "{{.Name}} {{.Services}}"],
    )
    .success()
    .stdout_is("myapp 2\n");
    assert!(eventually(90, || running_of(&d, "myapp_web").len() == 2
        && running_of(&d, "myapp_db").len() == 1));
    // The tasks' states follow their containers' (the agent reports them).
    assert!(eventually(30, || run(
        &d,
        c,
        &[
            "stack",
            "services",
            "myapp",
            "--format",
            "{{.Name}} {{.Replicas}}"
        ]
    )
    .out()
        == "myapp_db 1/1\nmyapp_web 2/2"));
    run(
        &d,
        c,
        &[
            "stack",
            "ps",
            "myapp",
            "--format",
            "{{.Name}} {{.CurrentState}}",
        ],
    )
    .success()
    .stdout_contains("myapp_web.1 Running")
    .stdout_contains("myapp_db.1 Running");
    // deploy: settings as the service shows them.
    run(
        &d,
        c,
        &[
            "service",
            "inspect",
            "myapp_web",
            "--format",
            "{{.Spec.Labels.tier}} {{index .Spec.Labels \"com.docker.stack.namespace\"}} {{.Spec.TaskTemplate.RestartPolicy.Condition}} {{.Spec.TaskTemplate.RestartPolicy.MaxAttempts}} {{.Spec.TaskTemplate.Resources.Limits.MemoryBytes}} {{json .Spec.UpdateConfig}}",
        ],
    )
    .success()
    .stdout_contains("front myapp on-failure 3 536870912 {")
    .stdout_contains(r#""Parallelism":1"#)
    .stdout_contains(r#""FailureAction":"rollback""#)
    .stdout_contains(r#""Monitor":60000000000"#)
    .stdout_contains(r#""MaxFailureRatio":0.3"#);
    // Secrets (stack-scoped and external) and the config reach the tasks.
    let web = running_of(&d, "myapp_web").remove(0);
    run(
        &d,
        c,
        &[
            "exec",
            &web,
            "cat",
            "/run/secrets/db_password",
            "/etc/app.conf",
        ],
    )
    .success()
    .stdout_is("pw-123level=debug\n");
    let db = running_of(&d, "myapp_db").remove(0);
    run(
        &d,
        c,
        &["exec", &db, "stat", "-c", "%a %n", "/run/secrets/key"],
    )
    .success()
    .stdout_is("400 /run/secrets/key\n");
    // The short service name is an alias on the stack's network; the port is published.
    assert!(eventually(30, || run(
        &d,
        c,
        &[
            "run",
            "--rm",
            "--network",
            "myapp_app_network",
            "busybox",
            "sh",
            "-c",
            "nc -w 2 web 80 </dev/null"
        ],
    )
    .out()
    .starts_with("reply-web-")));
    assert!(eventually(30, || fetch(port).starts_with("reply-web-")));
    // A second file on top: more replicas; the stack's services are updated in place.
    let more = write(
        &dir,
        "more.yml",
        "version: '3.8'\nservices:\n  web:\n    deploy:\n      replicas: 3\n",
    );
    run(
        &d,
        c,
        &[
            "stack",
            "deploy",
            "-c",
            &file,
            "-c",
            &more.to_string_lossy(),
            "myapp",
        ],
    )
    .success()
    .stdout_contains("Updating service myapp_web (id: ");
    assert!(eventually(60, || running_of(&d, "myapp_web").len() == 3));
    // --prune: a service gone from the files goes.
    let only_web = write(
        &dir,
        "web-only.yml",
        &app_compose(port)
            .split("\n  db:\n")
            .next()
            .map(|head| {
                let tail = app_compose(port);
                let rest = tail.split("\nvolumes:\n").nth(1).unwrap_or_default();
                format!("{head}\nvolumes:\n{rest}")
            })
            .unwrap_or_default(),
    );
    run(
        &d,
        c,
        &[
            "stack",
            "deploy",
            "--prune",
            "-c",
            &only_web.to_string_lossy(),
            "myapp",
        ],
    )
    .success()
    .stdout_contains("Removing service myapp_db");
    run(
        &d,
        c,
        &["stack", "services", "myapp", "--format", "{{.Name}}"],
    )
    .success()
    .stdout_is("myapp_web\n");
    // stack rm: services, stack secrets, configs and networks go; the external secret stays.
    run(&d, c, &["stack", "rm", "myapp"])
        .success()
        .stdout_contains("Removing service myapp_web")
        .stdout_contains("Removing secret myapp_site_key")
        .stdout_contains("Removing config myapp_app_conf")
        .stdout_contains("Removing network myapp_app_network");
    run(&d, c, &["stack", "ls", "--format", "{{.Name}}"])
        .success()
        .stdout_is("");
    run(&d, c, &["secret", "ls", "--format", "{{.Name}}"])
        .success()
        .stdout_is("db_password\n");
    assert!(eventually(60, || running_of(&d, "myapp_web").is_empty()));
    // This node's copy of the network goes once its last task has stopped.
    assert!(eventually(30, || run(
        &d,
        c,
        &[
            "network",
            "ls",
            "-q",
            "--filter",
            "label=com.docker.stack.namespace=myapp"
        ]
    )
    .out()
    .is_empty()));
    run(&d, c, &["stack", "rm", "myapp"])
        .success()
        .stderr_contains("Nothing found in stack: myapp");
}

#[test]
fn swarm_stack_walkthrough_docker_cli() {
    stack_walkthrough(Client::Docker);
}

#[test]
fn swarm_stack_walkthrough_berth_cli() {
    stack_walkthrough(Client::Berth);
}

/// Seed 001's `docker-compose.swarm.yml` (images replaced): it deploys, and on this one
/// manager node every service waits for a node its constraints want, as on Docker.
const SEED_SWARM: &str = r#"version: '3.8'

services:
  web:
    image: busybox
    ports:
      - "@PORT@:3000"
    environment:
      - NODE_ENV=production
    deploy:
      replicas: 3
      restart_policy:
        condition: on-failure
        delay: 5s
        max_attempts: 3
        window: 120s
      update_config:
        parallelism: 1
        delay: 10s
        failure_action: rollback
        monitor: 60s
        max_failure_ratio: 0.3
      resources:
        limits:
          cpus: '0.50'
          memory: 512M
        reservations:
          cpus: '0.25'
          memory: 256M
      placement:
        constraints:
          - node.role == worker
          - node.labels.region == us-east
    networks:
      - app_network
    secrets:
      - db_password

  db:
    image: busybox
    environment:
      - POSTGRES_DB=myapp
      - POSTGRES_USER=app
    deploy:
      replicas: 1
      placement:
        constraints:
          - node.labels.storage == fast
    volumes:
      - db_data:/var/lib/postgresql/data
    networks:
      - app_network
    secrets:
      - db_password

  redis:
    image: busybox
    deploy:
      replicas: 1
      placement:
        constraints:
          - node.labels.memory == high
    volumes:
      - redis_data:/data
    networks:
      - app_network
    command: redis-server --appendonly yes --requirepass $REDIS_PASSWORD

volumes:
  db_data:
    driver: local
  redis_data:
    driver: local

networks:
  app_network:
    driver: overlay
    attachable: true

secrets:
  db_password:
    external: true
"#;

fn seed_stack(c: Client) {
    let d = TestDaemon::start();
    init(&d, c);
    let dir = d.dir.join("seed");
    std::fs::create_dir_all(&dir).unwrap();
    let port = 22005 + 10 * d.net.n as u16;
    let file = write(
        &dir,
        "docker-compose.swarm.yml",
        &SEED_SWARM.replace("@PORT@", &port.to_string()),
    );
    d.cli(c, ["secret", "create", "db_password", "-"])
        .stdin("mypassword")
        .run()
        .success();
    run(
        &d,
        c,
        &["stack", "deploy", "-c", &file.to_string_lossy(), "myapp"],
    )
    .success();
    run(
        &d,
        c,
        &["stack", "ls", "--format", "{{.Name}} {{.Services}}"],
    )
    .success()
    .stdout_is("myapp 3\n");
    run(
        &d,
        c,
        &[
            "stack",
            "services",
            "myapp",
            "--format",
            "{{.Name}} {{.Mode}} {{.Replicas}}",
        ],
    )
    .success()
    .stdout_is("myapp_db replicated 0/1\nmyapp_redis replicated 0/1\nmyapp_web replicated 0/3\n");
    assert!(eventually(30, || run(
        &d,
        c,
        &[
            "stack",
            "ps",
            "myapp",
            "--no-trunc",
            "--format",
            "{{.Name}} {{.CurrentState}} {{.Error}}"
        ],
    )
    .out()
    .contains("myapp_web.1 Pending")));
    run(
        &d,
        c,
        &[
            "service",
            "ps",
            "myapp_web",
            "--no-trunc",
            "--format",
            "{{.Error}}",
        ],
    )
    .success()
    .stdout_contains("no suitable node (scheduling constraints not satisfied on 1 node)");
    run(&d, c, &["stack", "rm", "myapp"]).success();
    run(&d, c, &["service", "ls", "-q"]).success().stdout_is("");
}

#[test]
fn swarm_stack_seed_docker_cli() {
    seed_stack(Client::Docker);
}

#[test]
fn swarm_stack_seed_berth_cli() {
    seed_stack(Client::Berth);
}

/// Bad stacks: an external network that does not exist, a service without an image.
#[test]
fn swarm_stack_refusals() {
    let d = TestDaemon::start();
    init(&d, Client::Docker);
    let dir = d.dir.join("bad");
    std::fs::create_dir_all(&dir).unwrap();
    let ext = write(
        &dir,
        "ext.yml",
        "services:\n  a:\n    image: busybox\n    networks: [outside]\nnetworks:\n  outside:\n    external: true\n",
    );
    for c in Client::BOTH {
        run(&d, c, &["stack", "deploy", "-c", &ext.to_string_lossy(), "bad"])
            .failure()
            .stderr_contains("network \"outside\" is declared as external, but could not be found. You need to create a swarm-scoped network before the stack is deployed");
    }
    let noimg = write(&dir, "noimg.yml", "services:\n  a:\n    build: .\n");
    run(
        &d,
        Client::Berth,
        &["stack", "deploy", "-c", &noimg.to_string_lossy(), "bad"],
    )
    .failure()
    .stderr_contains("Ignoring unsupported options: build");
    for c in Client::BOTH {
        run(
            &d,
            c,
            &["stack", "deploy", "-c", &ext.to_string_lossy(), " "],
        )
        .failure()
        .stderr_contains("invalid stack name: \" \"");
    }
    run(&d, Client::Docker, &["service", "ls", "-q"])
        .success()
        .stdout_is("");
}
