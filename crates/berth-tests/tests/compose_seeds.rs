//! The seeds' compose projects (../shared/seeds), other than WordPress (compose_up.rs),
//! brought up end to end by `berth compose` against a berth daemon: built where the seed
//! builds (on the offline node/python base-image fixtures), observed working (HTTP on the
//! published port, service names resolving, data surviving down/up in named volumes, the
//! override file and `.env` applied, profiles selecting services), logs, exec, scaled where
//! the seed scales, taken down with nothing left.
//!
//! Adaptations, and only these: image names (busybox stand-ins as in compose_up.rs: a
//! database answers `<name>-standin <id kept in its data volume>` on its port; a web front
//! answers HTTP with what it fetched from the service behind it), commands where the real
//! image's program is unavailable offline (express/mysql2/Flask/redis clients become plain
//! sockets; `curl`/`pg_isready` healthchecks become busybox commands), published ports on
//! 127.0.0.1 and a free port, fixed subnets replaced by one of the test daemon's private
//! pool, every network's bridge named by the test (`com.docker.network.bridge.name`, removed
//! by the guard).

use berth_tests::build::load_base_image;
use berth_tests::compose::{http_get, project_ids, project_names, sh_command, write_project};
use berth_tests::nettest::{fetch, watched_daemon};
use berth_tests::{eventually, free_port, NetGuard, TestDaemon};
use std::time::Duration;

/// Containers, networks, volumes and images of `project` still on the daemon.
fn leftovers(d: &TestDaemon, project: &str) -> Vec<String> {
    let mut left = project_names(d, project);
    let filter = format!("label=com.docker.compose.project={project}");
    for what in [
        ["network", "ls", "--format", "{{.Name}}"],
        ["volume", "ls", "--format", "{{.Name}}"],
        ["image", "ls", "--format", "{{.ID}}"],
    ] {
        let mut args = what.to_vec();
        args.extend(["--filter", &filter]);
        let out = d.docker(&args).run().success().out();
        left.extend(out.lines().map(|l| format!("{} {l}", what[0])));
    }
    let vols = d.docker(["volume", "ls", "-q"]).run().success().out();
    left.extend(
        vols.lines()
            .filter(|v| v.starts_with(&format!("{project}_")))
            .map(|v| format!("volume {v}")),
    );
    left.sort();
    left.dedup();
    left
}

/// A stand-in database: answers `<name>-standin <contents of its data file>` on `port`.
fn db_standin(name: &str, port: u16, data: &str) -> String {
    sh_command(&format!(
        "mkdir -p {data}; [ -f {data}/id ] || echo created-$$RANDOM > {data}/id; while true; do echo \"{name}-standin $$(cat {data}/id)\" | nc -l -p {port}; done"
    ))
}

/// Within `secs`, `GET path` on `port` answers 200 with a body containing `want`; the last
/// body otherwise (for the assertion message).
fn serves(port: u16, path: &str, want: &str, secs: u64) -> Result<String, String> {
    let mut last = String::new();
    if eventually(secs, || {
        last = http_get(port, path).unwrap_or_default();
        last.contains(want)
    }) {
        Ok(last)
    } else {
        Err(last)
    }
}

/// `networks:` entries whose bridges the guard names and removes.
fn bridge_opts(br: &str) -> String {
    format!("    driver_opts:\n      com.docker.network.bridge.name: {br}\n")
}

/// A Node module asking a stand-in database: `ask(host, port)` resolves to its one line
/// (the stand-ins close after it; mysql2/pg/redis clients are not available offline).
const NODE_ASK: &str = r#"const net = require('net');
const ask = (host, port) => new Promise(resolve => {
  let got = '';
  const s = net.connect(port, host);
  s.on('data', d => { got += d; if (got.includes('\n')) { s.destroy(); resolve(got.trim()); } });
  s.on('error', e => resolve(`error ${e.code}`));
  s.on('close', () => resolve(got.trim()));
});
"#;

/// 000_1ac0826772e63066.txt, lines 731-748 (myapp/Dockerfile), verbatim.
const NODE18: &str = r#"# Étape 1 : image de base Node.js
FROM node:18-alpine

# Étape 2 : définir le répertoire de l'application
WORKDIR /app

# Étape 3 : copier les fichiers de dépendances et installer
COPY package*.json ./
RUN npm install --production

# Étape 4 : copier le code de l'application
COPY . .

# Étape 5 : exposer le port d'écoute de l'application (par ex 3000)
EXPOSE 3000

# Étape 6 : commande de démarrage
CMD ["node", "index.js"]
"#;

const PACKAGE_JSON: &str = r#"{
  "name": "seed-app",
  "version": "1.0.0",
  "private": true,
  "scripts": { "start": "node index.js", "dev": "node index.js" }
}
"#;

/// 000_1ac0826772e63066.txt, lines 771-797: MyApp (Node, built from ./myapp) + MySQL. `up
/// -d --build`, the page shows the database's answer through the name `db` and the
/// environment, logs, exec, data surviving down/up, docker compose seeing the same project
/// up to date, `down -v --rmi local` leaving nothing.
#[test]
fn node_mysql_seed_builds_serves_and_keeps_data() {
    let mut g = NetGuard::new("bt-sn");
    let d = watched_daemon(&mut g);
    load_base_image(&d, "node.tar", &[]);
    let (br, port) = (g.bridge(), free_port());
    let index = format!(
        "{NODE_ASK}const http = require('http');\nhttp.createServer(async (req, res) => {{\n  const db = await ask(process.env.DB_HOST, 3306);\n  res.end(`myapp sees: ${{db}} DB_NAME=${{process.env.DB_NAME}} DB_USER=${{process.env.DB_USER}}\\n`);\n}}).listen(3000, () => console.log('MyApp listening on 3000'));\n"
    );
    let yaml = format!(
        r#"services:
  app:
    build: ./myapp   # construit l'image à partir du Dockerfile dans myapp/
    ports:
      - "127.0.0.1:{port}:3000"
    environment:
      - DB_HOST=db
      - DB_NAME=myappdb
      - DB_USER=root
      - DB_PASSWORD=example
    depends_on:
      - db

  db:
    image: busybox   # stands in for mysql:8
    command: {db}
    environment:
      - MYSQL_DATABASE=myappdb
      - MYSQL_ROOT_PASSWORD=example
    volumes:
      - db_data:/var/lib/mysql

volumes:
  db_data:
networks:
  default:
{opts}"#,
        db = db_standin("mysql", 3306, "/var/lib/mysql"),
        opts = bridge_opts(&br),
    );
    let dir = write_project(
        &d,
        "monprojet",
        &[
            ("docker-compose.yml", &yaml),
            ("myapp/Dockerfile", NODE18),
            ("myapp/package.json", PACKAGE_JSON),
            ("myapp/index.js", &index),
        ],
    );
    let up = d
        .berth_compose(&dir, ["up", "-d", "--build"])
        .run_timeout(Duration::from_secs(300));
    up.success();
    for line in [
        "Network monprojet_default  Created",
        "Volume monprojet_db_data  Created",
        "Container monprojet-db-1  Started",
        "Container monprojet-app-1  Started",
    ] {
        assert!(up.stderr.contains(line), "{line:?} in:\n{}", up.stderr);
    }
    // The image is built as compose names it, with the project's labels.
    let images = d
        .docker(["images", "--format", "{{.Repository}}:{{.Tag}}"])
        .run()
        .success()
        .out();
    assert!(
        images.lines().any(|l| l == "monprojet-app:latest"),
        "{images}"
    );
    let page = serves(port, "/", "myapp sees: mysql-standin created-", 30)
        .unwrap_or_else(|last| panic!("MyApp on 127.0.0.1:{port} reaches db: {last:?}"));
    assert!(
        page.contains("DB_NAME=myappdb DB_USER=root"),
        "environment applied: {page}"
    );
    // docker-compose logs app; docker-compose exec db ... (mysql's client stands in as sh).
    let logs = d
        .berth_compose(&dir, ["logs", "--no-color", "app"])
        .run()
        .success()
        .out();
    assert!(logs.contains("app-1  | MyApp listening on 3000"), "{logs}");
    let out = d
        .berth_compose(
            &dir,
            ["exec", "-T", "db", "sh", "-c", "echo $MYSQL_DATABASE"],
        )
        .run()
        .success()
        .out();
    assert_eq!(out, "myappdb");
    // The real docker compose sees the same project up to date (built image included).
    let before = project_ids(&d, "monprojet");
    let o = d.compose(&dir, ["up", "-d"]).run();
    o.success();
    assert_eq!(
        project_ids(&d, "monprojet"),
        before,
        "docker compose recreated nothing:\n{}",
        o.stderr
    );
    // Data survives down/up in the named volume; no rebuild without --build.
    d.berth_compose(&dir, ["down"]).run().success();
    assert!(project_names(&d, "monprojet").is_empty());
    let up = d.berth_compose(&dir, ["up", "-d"]).run();
    up.success();
    assert!(!up.stderr.contains("Built"), "{}", up.stderr);
    let id_line = page.lines().next().unwrap_or_default().to_string();
    serves(port, "/", &id_line, 30)
        .unwrap_or_else(|last| panic!("same database id after down/up: {id_line:?} vs {last:?}"));
    // down -v --rmi local: containers, network, volume and the built image are gone.
    d.berth_compose(&dir, ["down", "-v", "--rmi", "local"])
        .run()
        .success();
    let left = leftovers(&d, "monprojet");
    assert!(left.is_empty(), "left: {left:?}");
    let images = d
        .docker(["images", "--format", "{{.Repository}}"])
        .run()
        .success()
        .out();
    assert!(!images.contains("monprojet-app"), "{images}");
}

/// The multi-container file of 001_c2978d1cd305e2be.txt (lines 479-563: web built from
/// ./web, postgres, redis, nginx on a user network with a fixed subnet), its
/// docker-compose.override.yml (565-584: Dockerfile.dev, ./web bind-mounted over /app with an
/// anonymous /app/node_modules, NODE_ENV/DEBUG, `npm run dev`, db/redis ports) and its .env
/// (COMPOSE_PROJECT_NAME=myapp).
#[test]
fn multi_container_seed_with_override_and_env_file() {
    let mut g = NetGuard::new("bt-sm");
    let d = watched_daemon(&mut g);
    load_base_image(&d, "node.tar", &["node:16-alpine"]);
    let br = g.bridge();
    let (web_port, http_port, https_port, pg_port, redis_port) = (
        free_port(),
        free_port(),
        free_port(),
        free_port(),
        free_port(),
    );
    // The seed's 172.20.0.0/16 is replaced by the last /26 of the test daemon's pool.
    let subnet = d.net.pool_base().replace(".0/24", ".192/26");
    let index = format!(
        "{NODE_ASK}const http = require('http');\nhttp.createServer(async (req, res) => {{\n  if (req.url === '/health') return res.end('healthy\\n');\n  const db = await ask('db', 5432);\n  const redis = await ask('redis', 6379);\n  res.end(`web NODE_ENV=${{process.env.NODE_ENV}} DEBUG=${{process.env.DEBUG}} db=[${{db}}] redis=[${{redis}}]\\n`);\n}}).listen(3000, () => console.log(`web listening, NODE_ENV=${{process.env.NODE_ENV}}`));\n"
    );
    // nginx: answers on 80 with its config's first line and what web answers, on 443 with
    // the certificate directory's listing.
    let nginx = sh_command(
        "(while true; do printf 'HTTP/1.0 200 OK\\r\\n\\r\\nnginx ssl: %s\\n' \"$$(ls /etc/nginx/ssl | tr '\\n' ' ')\" | nc -l -p 443; done) & while true; do b=$$(wget -q -O - http://web:3000/ 2>&1); printf 'HTTP/1.0 200 OK\\r\\n\\r\\nnginx [%s] proxies: %s\\n' \"$$(head -n1 /etc/nginx/nginx.conf)\" \"$$b\" | nc -l -p 80; done",
    );
    let yaml = format!(
        r#"# docker-compose.yml - Application multi-conteneurs
version: '3.8'

services:
  web:
    build: ./web
    ports:
      - "127.0.0.1:{web_port}:3000"
    environment:
      - NODE_ENV=production
      - DATABASE_URL=postgresql://app:password@db:5432/myapp
    depends_on:
      - db
    volumes:
      - ./web/uploads:/app/uploads
    networks:
      - app_network
    restart: unless-stopped
    healthcheck:
      # curl is not in the node fixture: busybox wget instead.
      test: ["CMD", "wget", "-q", "-O", "-", "http://localhost:3000/health"]
      interval: 30s
      timeout: 10s
      retries: 3

  db:
    image: busybox           # stands in for postgres:13-alpine
    command: {db}
    environment:
      - POSTGRES_DB=myapp
      - POSTGRES_USER=app
      - POSTGRES_PASSWORD=password
    volumes:
      - db_data:/var/lib/postgresql/data
      - ./db/init.sql:/docker-entrypoint-initdb.d/init.sql
    networks:
      - app_network
    restart: unless-stopped
    healthcheck:
      # pg_isready: the stand-in's data file instead.
      test: ["CMD-SHELL", "test -f /var/lib/postgresql/data/id"]
      interval: 30s
      timeout: 10s
      retries: 3

  redis:
    image: busybox           # stands in for redis:6-alpine
    volumes:
      - redis_data:/data
    networks:
      - app_network
    restart: unless-stopped
    command: {redis}

  nginx:
    image: busybox           # stands in for nginx:alpine
    command: {nginx}
    ports:
      - "127.0.0.1:{http_port}:80"
      - "127.0.0.1:{https_port}:443"
    volumes:
      - ./nginx/nginx.conf:/etc/nginx/nginx.conf:ro
      - ./nginx/ssl:/etc/nginx/ssl:ro
      - web_static:/var/www/html
    depends_on:
      - web
    networks:
      - app_network
    restart: unless-stopped

volumes:
  db_data:
    driver: local
  redis_data:
    driver: local
  web_static:
    driver: local

networks:
  app_network:
    driver: bridge
{opts}    ipam:
      config:
        - subnet: {subnet}   # the seed's 172.20.0.0/16: the test daemon's pool instead
"#,
        db = db_standin("postgres", 5432, "/var/lib/postgresql/data"),
        redis = db_standin("redis", 6379, "/data"),
        opts = bridge_opts(&br),
    );
    let overrides = format!(
        r#"# docker-compose.override.yml - Configuration de développement
version: '3.8'

services:
  web:
    build:
      context: ./web
      dockerfile: Dockerfile.dev
    volumes:
      - ./web:/app
      - /app/node_modules
    environment:
      - NODE_ENV=development
      - DEBUG=*
    command: npm run dev

  db:
    ports:
      - "127.0.0.1:{pg_port}:5432"

  redis:
    ports:
      - "127.0.0.1:{redis_port}:6379"
"#
    );
    let dockerfile = "FROM node:16-alpine\nWORKDIR /app\nCOPY package*.json ./\nRUN npm install --production\nCOPY . .\nEXPOSE 3000\nCMD [\"node\", \"index.js\"]\n";
    let dockerfile_dev = "FROM node:16-alpine\nWORKDIR /app\nCOPY package*.json ./\nRUN npm install\nCOPY . .\nEXPOSE 3000\nCMD [\"npm\", \"run\", \"dev\"]\n";
    let dir = write_project(
        &d,
        "seed001",
        &[
            ("docker-compose.yml", &yaml),
            ("docker-compose.override.yml", &overrides),
            (
                ".env",
                "COMPOSE_PROJECT_NAME=myapp\nPOSTGRES_PASSWORD=secretpassword\nREDIS_PASSWORD=redispass\n",
            ),
            ("web/Dockerfile", dockerfile),
            ("web/Dockerfile.dev", dockerfile_dev),
            ("web/package.json", PACKAGE_JSON),
            ("web/index.js", &index),
            ("web/uploads/.keep", ""),
            ("db/init.sql", "CREATE TABLE users (id int);\n"),
            ("nginx/nginx.conf", "events {} # seed001 nginx.conf\n"),
            ("nginx/ssl/server.crt", "cert\n"),
        ],
    );
    let up = d
        .berth_compose(&dir, ["up", "-d"])
        .run_timeout(Duration::from_secs(300));
    up.success();
    // .env's COMPOSE_PROJECT_NAME names the project.
    assert_eq!(
        project_names(&d, "myapp"),
        [
            "myapp-db-1",
            "myapp-nginx-1",
            "myapp-redis-1",
            "myapp-web-1"
        ],
        "{}",
        up.stderr
    );
    // The override applies: development env, `npm run dev`, the fixed subnet.
    let page = serves(web_port, "/", "db=[postgres-standin created-", 30)
        .unwrap_or_else(|last| panic!("web on {web_port}: {last:?}"));
    assert!(
        page.starts_with("web NODE_ENV=development DEBUG=* ")
            && page.contains("redis=[redis-standin created-"),
        "{page}"
    );
    let inspect = |c: &str, f: &str| d.docker(["inspect", "-f", f, c]).run().success().out();
    assert_eq!(
        inspect("myapp-web-1", "{{json .Config.Cmd}}"),
        r#"["npm","run","dev"]"#
    );
    assert_eq!(
        inspect("myapp-web-1", "{{json .Config.Healthcheck.Test}}"),
        r#"["CMD","wget","-q","-O","-","http://localhost:3000/health"]"#
    );
    assert_eq!(
        inspect("myapp-web-1", "{{.HostConfig.RestartPolicy.Name}}"),
        "unless-stopped"
    );
    assert_eq!(
        d.docker([
            "network",
            "inspect",
            "-f",
            "{{(index .IPAM.Config 0).Subnet}}",
            "myapp_app_network"
        ])
        .run()
        .success()
        .out(),
        subnet
    );
    // The image was built from Dockerfile.dev (its CMD is npm run dev).
    assert_eq!(
        d.docker([
            "image",
            "inspect",
            "-f",
            "{{json .Config.Cmd}}",
            "myapp-web"
        ])
        .run()
        .success()
        .out(),
        r#"["npm","run","dev"]"#
    );
    // ./web bind-mounted over /app: a file written on the host is served by the container,
    // and uploads written in the container land in ./web/uploads.
    let out = d
        .berth_compose(
            &dir,
            [
                "exec",
                "-T",
                "web",
                "sh",
                "-c",
                "cat /app/index.js | head -c 20; echo up > /app/uploads/f; ls -d /app/node_modules",
            ],
        )
        .run()
        .success()
        .out();
    assert!(
        out.contains("const net") && out.ends_with("/app/node_modules"),
        "{out}"
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("web/uploads/f")).unwrap_or_default(),
        "up\n"
    );
    // The .env file only feeds interpolation: the containers keep the file's values.
    let env = d
        .berth_compose(&dir, ["exec", "-T", "db", "env"])
        .run()
        .success()
        .out();
    assert!(
        env.lines().any(|l| l == "POSTGRES_PASSWORD=password") && !env.contains("redispass"),
        "{env}"
    );
    assert_eq!(
        d.berth_compose(
            &dir,
            [
                "exec",
                "-T",
                "db",
                "cat",
                "/docker-entrypoint-initdb.d/init.sql"
            ]
        )
        .run()
        .success()
        .out(),
        "CREATE TABLE users (id int);"
    );
    // nginx: the read-only config, the certificates, and web behind it by name.
    let front = || fetch(http_port);
    assert!(
        eventually(30, || front().contains(
            "nginx [events {} # seed001 nginx.conf] proxies: web NODE_ENV=development"
        )),
        "nginx on {http_port}: {:?}",
        front()
    );
    assert!(
        eventually(15, || fetch(https_port).contains("nginx ssl: server.crt")),
        "{:?}",
        fetch(https_port)
    );
    let ro = d
        .berth_compose(
            &dir,
            ["exec", "-T", "nginx", "touch", "/etc/nginx/nginx.conf"],
        )
        .run();
    ro.failure();
    assert!(ro.stderr.contains("Read-only file system"), "{}", ro.stderr);
    // The override's published db/redis ports.
    assert!(
        eventually(15, || fetch(pg_port).contains("postgres-standin created-")),
        "db on {pg_port}"
    );
    assert!(
        eventually(15, || fetch(redis_port).contains("redis-standin created-")),
        "redis on {redis_port}"
    );
    // docker-compose logs -f web (bounded here by --tail): the development start.
    let logs = d
        .berth_compose(&dir, ["logs", "--no-color", "web"])
        .run()
        .success()
        .out();
    assert!(
        logs.contains("web-1  | web listening, NODE_ENV=development"),
        "{logs}"
    );
    // docker-compose up -d --scale web=3: the seed's web publishes a fixed host port, which
    // the second and third replicas cannot bind (docker compose fails the same way).
    let scale = d
        .berth_compose(&dir, ["up", "-d", "--scale", "web=3"])
        .run();
    scale.failure();
    assert!(
        scale.stderr.contains("port is already allocated")
            || scale.stderr.contains("address already in use"),
        "{}",
        scale.stderr
    );
    // As compose: "Starting", then the daemon's error, no "Error" progress line. compose
    // starts the newest first (replicas made in one run in any order): web-2 or web-3.
    assert!(
        (scale.stderr.contains(" Container myapp-web-2  Starting")
            || scale.stderr.contains(" Container myapp-web-3  Starting"))
            && !scale.stderr.contains("  Error"),
        "{}",
        scale.stderr
    );
    serves(web_port, "/", "web NODE_ENV=development", 15)
        .unwrap_or_else(|last| panic!("web-1 still serves: {last:?}"));
    d.berth_compose(&dir, ["up", "-d", "--scale", "web=1"])
        .run()
        .success();
    assert_eq!(
        project_names(&d, "myapp"),
        [
            "myapp-db-1",
            "myapp-nginx-1",
            "myapp-redis-1",
            "myapp-web-1"
        ]
    );
    // Data survives down/up in the named volumes.
    let pg_id = fetch_until(pg_port, "postgres-standin");
    d.berth_compose(&dir, ["down"]).run().success();
    assert!(project_names(&d, "myapp").is_empty());
    d.berth_compose(&dir, ["up", "-d"]).run().success();
    assert!(
        eventually(20, || fetch(pg_port).contains(&pg_id)),
        "same db id {pg_id:?} after down/up"
    );
    // down -v: containers, network, named volumes and the containers' anonymous volumes
    // gone (images stay). Anonymous volumes of containers removed earlier without -v (the
    // plain `down`, the failed replicas scaled away) stay, as docker compose leaves them.
    let anon = inspect(
        "myapp-web-1",
        "{{range .Mounts}}{{if eq .Destination \"/app/node_modules\"}}{{.Name}}{{end}}{{end}}",
    );
    assert_eq!(
        anon.len(),
        64,
        "an anonymous volume on /app/node_modules: {anon:?}"
    );
    d.berth_compose(&dir, ["down", "-v"]).run().success();
    let left: Vec<String> = leftovers(&d, "myapp")
        .into_iter()
        .filter(|l| !l.starts_with("image "))
        .collect();
    assert!(left.is_empty(), "left: {left:?}");
    let vols = d.docker(["volume", "ls", "-q"]).run().success().out();
    assert!(!vols.contains(&anon), "{anon} removed by down -v: {vols}");
}

/// The first line `port` answers that contains `want`.
fn fetch_until(port: u16, want: &str) -> String {
    let mut line = String::new();
    assert!(
        eventually(15, || {
            line = fetch(port)
                .lines()
                .find(|l| l.contains(want))
                .unwrap_or_default()
                .to_string();
            !line.is_empty()
        }),
        "{want:?} on {port}"
    );
    line
}

/// The profiles example of 001_c2978d1cd305e2be.txt (lines 626-645): db always, redis with
/// profile `cache`, monitoring (prometheus) with profile `monitoring`.
#[test]
fn profiles_seed_selects_services() {
    let mut g = NetGuard::new("bt-sp");
    let d = watched_daemon(&mut g);
    let br = g.bridge();
    let yaml = format!(
        r#"services:
  db:
    image: busybox    # stands in for postgres
    command: {db}
  redis:
    image: busybox    # stands in for redis
    command: {redis}
    profiles:
      - cache
  monitoring:
    image: busybox    # stands in for prometheus
    command: sleep 600
    profiles:
      - monitoring
networks:
  default:
{opts}"#,
        db = db_standin("postgres", 5432, "/data"),
        redis = db_standin("redis", 6379, "/data"),
        opts = bridge_opts(&br),
    );
    let dir = write_project(&d, "prof", &[("docker-compose.yml", &yaml)]);
    d.berth_compose(&dir, ["up", "-d"]).run().success();
    assert_eq!(project_names(&d, "prof"), ["prof-db-1"]);
    // docker-compose --profile cache up -d
    d.berth_compose(&dir, ["--profile", "cache", "up", "-d"])
        .run()
        .success();
    assert_eq!(project_names(&d, "prof"), ["prof-db-1", "prof-redis-1"]);
    let out = d
        .berth_compose(
            &dir,
            [
                "--profile",
                "cache",
                "exec",
                "-T",
                "redis",
                "nc",
                "db",
                "5432",
            ],
        )
        .run()
        .success()
        .out();
    assert!(out.contains("postgres-standin"), "{out}");
    // COMPOSE_PROFILES does the same; ps lists only the active profiles' services.
    d.berth_compose(&dir, ["up", "-d"])
        .env("COMPOSE_PROFILES", "monitoring")
        .run()
        .success();
    assert_eq!(
        project_names(&d, "prof"),
        ["prof-db-1", "prof-monitoring-1", "prof-redis-1"]
    );
    let services = d
        .berth_compose(&dir, ["--profile", "*", "config", "--services"])
        .run()
        .success()
        .out();
    assert_eq!(services, "db\nmonitoring\nredis");
    d.berth_compose(&dir, ["--profile", "*", "down"])
        .run()
        .success();
    let left = leftovers(&d, "prof");
    assert!(left.is_empty(), "left: {left:?}");
}

/// 002_b1d1f93d3111871b.txt, lines 618-681 (backend/server.js: express and mysql2 are not
/// available offline, so plain http and a socket to the stand-in; same `/users` route and
/// log lines).
const SERVER_JS: &str = r#"const http = require('http');
const port = 3000;

// Connexion à la base de données MySQL (stand-in: one line per connection)
ask(process.env.DB_HOST, 3306).then(r => console.log(r.startsWith('mysql-standin') ? 'Connected to the database!' : `db: ${r}`));

http.createServer(async (req, res) => {
  if (req.url !== '/users') { res.statusCode = 404; return res.end(); }
  const db = await ask(process.env.DB_HOST, 3306);
  res.setHeader('Access-Control-Allow-Origin', '*');
  res.end(JSON.stringify([{ id: 1, name: db, db: process.env.DB_NAME, user: process.env.DB_USER }]) + '\n');
}).listen(port, () => {
  console.log(`Back-end server running on http://localhost:${port}`);
});
"#;

/// 002_b1d1f93d3111871b.txt, lines 407-425 (the module's complete Node Dockerfile), verbatim.
const NODE14: &str = r#"# Étape 1 : Utiliser une image de base
FROM node:14

# Étape 2 : Définir le répertoire de travail
WORKDIR /usr/src/app

# Étape 3 : Copier le fichier package.json et installer les dépendances
COPY package*.json ./
RUN npm install

# Étape 4 : Copier le code source
COPY . .

# Étape 5 : Exposer le port que l'application va utiliser
EXPOSE 8080

# Étape 6 : Définir la commande de démarrage
CMD ["node", "server.js"]
"#;

/// The front-end's Dockerfile (the seed does not show it; an nginx-like static server:
/// busybox httpd serving the copied files, as nginx:alpine's default site would).
const FRONT_DOCKERFILE: &str = "FROM busybox\nCOPY . /usr/share/nginx/html\nEXPOSE 80\nCMD [\"httpd\", \"-f\", \"-p\", \"80\", \"-h\", \"/usr/share/nginx/html\"]\n";

const INDEX_HTML: &str = r#"<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="UTF-8">
  <meta name="viewport" content="width=device-width, initial-scale=1.0">
  <title>My App</title>
  <link rel="stylesheet" href="style.css">
</head>
<body>
  <h1>Users</h1>
  <div id="users-list"></div>

  <script src="app.js"></script>
</body>
</html>
"#;

/// 002_b1d1f93d3111871b.txt, lines 707-741 (module 5's case study: front-end and back-end
/// built, MySQL, one bridge network) brought up as `docker-compose up --build` (detached
/// here): the static page on the front's port, `/users` on the back's answering from the
/// database through the name `db`, the front reaching the back by name, logs, down/up
/// keeping the data, `down -v --rmi local` leaving nothing.
#[test]
fn front_back_mysql_case_study_builds_both_and_serves() {
    let mut g = NetGuard::new("bt-sf");
    let d = watched_daemon(&mut g);
    load_base_image(&d, "node.tar", &["node:14"]);
    let (br, front_port, back_port) = (g.bridge(), free_port(), free_port());
    let yaml = format!(
        r#"version: "3.8"

services:
  frontend:
    build: ./frontend
    ports:
      - "127.0.0.1:{front_port}:80"
    networks:
      - app-network

  backend:
    build: ./backend
    environment:
      DB_HOST: db
      DB_USER: root
      DB_PASS: example
      DB_NAME: appdb
    ports:
      - "127.0.0.1:{back_port}:3000"
    depends_on:
      - db
    networks:
      - app-network

  db:
    image: busybox    # stands in for mysql:5.7
    command: {db}
    environment:
      MYSQL_ROOT_PASSWORD: example
      MYSQL_DATABASE: appdb
    volumes:
      - db-data:/var/lib/mysql
    networks:
      - app-network

networks:
  app-network:
    driver: bridge
{opts}
volumes:
  db-data:
"#,
        db = db_standin("mysql", 3306, "/var/lib/mysql"),
        opts = bridge_opts(&br),
    );
    let server = format!("{NODE_ASK}{SERVER_JS}");
    let dir = write_project(
        &d,
        "my-app",
        &[
            ("docker-compose.yml", &yaml),
            (".env", "DB_NAME=appdb\n"),
            ("backend/Dockerfile", NODE14),
            (
                "backend/package.json",
                "{\n  \"name\": \"backend\",\n  \"version\": \"1.0.0\",\n  \"main\": \"server.js\",\n  \"scripts\": {\n    \"start\": \"node server.js\"\n  }\n}\n",
            ),
            ("backend/server.js", &server),
            ("frontend/Dockerfile", FRONT_DOCKERFILE),
            ("frontend/index.html", INDEX_HTML),
            ("frontend/style.css", "h1 { color: navy; }\n"),
            (
                "frontend/app.js",
                "window.onload = () => {\n  fetch('http://localhost:3000/users')\n    .then((response) => response.json());\n};\n",
            ),
        ],
    );
    let up = d
        .berth_compose(&dir, ["up", "-d", "--build"])
        .run_timeout(Duration::from_secs(300));
    up.success();
    assert_eq!(
        project_names(&d, "my-app"),
        ["my-app-backend-1", "my-app-db-1", "my-app-frontend-1"]
    );
    let page = serves(front_port, "/", "<h1>Users</h1>", 20)
        .unwrap_or_else(|last| panic!("front on {front_port}: {last:?}"));
    assert_eq!(page, INDEX_HTML);
    serves(
        front_port,
        "/app.js",
        "fetch('http://localhost:3000/users')",
        5,
    )
    .unwrap_or_else(|last| panic!("app.js: {last:?}"));
    let users = serves(back_port, "/users", "\"name\":\"mysql-standin created-", 30)
        .unwrap_or_else(|last| panic!("back on {back_port}: {last:?}"));
    assert!(
        users.contains("\"db\":\"appdb\",\"user\":\"root\""),
        "{users}"
    );
    // The front reaches the back by its service name on app-network.
    let out = d
        .berth_compose(
            &dir,
            [
                "exec",
                "-T",
                "frontend",
                "wget",
                "-q",
                "-O",
                "-",
                "http://backend:3000/users",
            ],
        )
        .run()
        .success()
        .out();
    assert!(out.contains("mysql-standin created-"), "{out}");
    let logs = d
        .berth_compose(&dir, ["logs", "--no-color", "backend"])
        .run()
        .success()
        .out();
    assert!(
        logs.contains("backend-1  | Back-end server running on http://localhost:3000")
            && logs.contains("backend-1  | Connected to the database!"),
        "{logs}"
    );
    // docker-compose ps, as docker compose prints it (names, services, ports).
    let ps = d
        .berth_compose(
            &dir,
            ["ps", "--format", "{{.Name}} {{.Service}} {{.State}}"],
        )
        .run()
        .success()
        .out();
    assert_eq!(
        ps,
        "my-app-backend-1 backend running\nmy-app-db-1 db running\nmy-app-frontend-1 frontend running"
    );
    // Data survives down/up.
    let first = users.clone();
    d.berth_compose(&dir, ["down"]).run().success();
    d.berth_compose(&dir, ["up", "-d"]).run().success();
    let again = serves(back_port, "/users", "\"name\":\"mysql-standin created-", 30)
        .unwrap_or_else(|last| panic!("back after down/up: {last:?}"));
    assert_eq!(again, first, "the database id is kept in db-data");
    d.berth_compose(&dir, ["down", "-v", "--rmi", "local"])
        .run()
        .success();
    let left = leftovers(&d, "my-app");
    assert!(left.is_empty(), "left: {left:?}");
}

/// 002_b1d1f93d3111871b.txt, lines 455-480 (web on `front-end`, db on `back-end`, two user
/// networks) and 796-836 (nginx serving ./html, a built backend publishing 3000, MySQL on
/// `app-network`): names resolve only on a shared network; the bind-mounted ./html is
/// served and edits on the host show at once.
#[test]
fn networks_and_html_bind_mount_seeds() {
    let mut g = NetGuard::new("bt-sw");
    let d = watched_daemon(&mut g);
    let (br1, br2, port) = (g.bridge(), g.bridge(), free_port());
    let yaml = format!(
        r#"version: "3.8" # Spécifie la version de Compose

services:
  web:
    image: busybox # stands in for nginx:latest
    command: ["httpd", "-f", "-p", "80", "-h", "/usr/share/nginx/html"]
    ports:
      - "127.0.0.1:{port}:80" # Mappe le port 80 du conteneur au port 8080 de la machine hôte
    volumes:
      - ./html:/usr/share/nginx/html
    networks:
      - front-end # Associe le service à un réseau nommé "front-end"

  db:
    image: busybox # stands in for postgres:latest
    command: {db}
    environment:
      POSTGRES_USER: user # Variables d'environnement pour la configuration de la base de données
      POSTGRES_PASSWORD: password
    volumes:
      - db-data:/var/lib/postgresql/data # Volumes pour persister les données
    networks:
      - back-end # Associe le service à un réseau nommé "back-end"

networks:
  front-end: # Définition du réseau "front-end"
{opts1}  back-end: # Définition du réseau "back-end"
{opts2}
volumes:
  db-data: {{}} # Volume nommé "db-data" pour persister les données de la base
"#,
        db = db_standin("postgres", 5432, "/var/lib/postgresql/data"),
        opts1 = bridge_opts(&br1),
        opts2 = bridge_opts(&br2),
    );
    let dir = write_project(
        &d,
        "tiers",
        &[
            ("docker-compose.yml", &yaml),
            ("html/index.html", "<h1>v1</h1>\n"),
        ],
    );
    d.berth_compose(&dir, ["up", "-d"]).run().success();
    serves(port, "/", "<h1>v1</h1>", 15).unwrap_or_else(|last| panic!("{last:?}"));
    std::fs::write(dir.join("html/index.html"), "<h1>v2</h1>\n").expect("edit");
    serves(port, "/", "<h1>v2</h1>", 5).unwrap_or_else(|last| panic!("{last:?}"));
    // web and db share no network: db does not resolve from web, web resolves itself.
    let o = d
        .berth_compose(&dir, ["exec", "-T", "web", "nslookup", "db"])
        .run();
    o.failure();
    let o = d
        .berth_compose(&dir, ["exec", "-T", "web", "nslookup", "web"])
        .run();
    o.success();
    let nets = d
        .docker([
            "network",
            "ls",
            "--format",
            "{{.Name}}",
            "--filter",
            "label=com.docker.compose.project=tiers",
        ])
        .run()
        .success()
        .out();
    let mut nets: Vec<&str> = nets.lines().collect();
    nets.sort();
    assert_eq!(nets, ["tiers_back-end", "tiers_front-end"]);
    d.berth_compose(&dir, ["down", "-v"]).run().success();
    let left = leftovers(&d, "tiers");
    assert!(left.is_empty(), "left: {left:?}");
}

/// The hit counter of compose's getting-started (Flask is not available offline: the same
/// page with http.server, the redis client a socket to the stand-in).
const FLASK_APP_PY: &str = r#"import http.server
import os
import socket


def get_hit_count():
    with socket.create_connection(("redis", 6379), timeout=5) as s:
        return s.makefile().readline().split()[-1]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("Hello World! I have been seen %s times. (%s)\n" % (
            get_hit_count(), open("/code/message.txt").read().strip())).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


print("Running on http://0.0.0.0:5000", flush=True)
http.server.HTTPServer(("0.0.0.0", 5000), Handler).serve_forever()
"#;

/// 003_961a24bfb6b951c9.txt, lines 66-77 (web built from `.`, code bind-mounted on /code,
/// redis): the python fixture builds 002's Flask Dockerfile (lines 1176-1183, WORKDIR /code
/// as the mount expects); the page counts hits kept by the redis stand-in; an edit on the
/// host is seen through the bind mount; the hits survive down/up; down -v --rmi local
/// leaves nothing.
#[test]
fn flask_redis_seed_counts_hits() {
    let mut g = NetGuard::new("bt-sr");
    let d = watched_daemon(&mut g);
    load_base_image(&d, "python.tar", &["python:3.9-slim"]);
    let (br, port) = (g.bridge(), free_port());
    // Redis stand-in: counts connections in its data volume.
    let redis = sh_command(
        "while true; do n=$$(( $$(cat /data/hits 2>/dev/null || echo 0) + 1 )); echo $$n > /data/hits; echo \"redis-standin $$n\" | nc -l -p 6379; done",
    );
    let yaml = format!(
        "version: '3'\nservices:\n  web:\n    build: .\n    ports:\n      - \"127.0.0.1:{port}:5000\"\n    volumes:\n      - .:/code\n  redis:\n    image: \"busybox\"   # stands in for redis:alpine\n    command: {redis}\n    volumes:\n      - hits:/data\nvolumes:\n  hits:\nnetworks:\n  default:\n{opts}",
        opts = bridge_opts(&br),
    );
    let dockerfile = "FROM python:3.9-slim\nWORKDIR /code\nCOPY requirements.txt .\nRUN pip install --no-cache-dir -r requirements.txt\nCOPY . .\nEXPOSE 5000\nCMD [\"python\", \"app.py\"]\n";
    let dir = write_project(
        &d,
        "composetest",
        &[
            ("docker-compose.yml", &yaml),
            ("Dockerfile", dockerfile),
            (
                "requirements.txt",
                "# flask, redis: nothing to fetch offline\n",
            ),
            ("app.py", FLASK_APP_PY),
            ("message.txt", "first\n"),
        ],
    );
    let up = d
        .berth_compose(&dir, ["up", "-d", "--build"])
        .run_timeout(Duration::from_secs(300));
    up.success();
    let first = serves(port, "/", "Hello World! I have been seen ", 30)
        .unwrap_or_else(|last| panic!("web on {port}: {last:?}"));
    assert!(first.ends_with("times. (first)\n"), "{first}");
    let count = |page: &str| -> u32 {
        page.split_whitespace()
            .nth(6)
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no count in {page:?}"))
    };
    let n1 = count(&first);
    let second = serves(port, "/", "seen", 10).unwrap_or_else(|l| panic!("{l:?}"));
    assert!(count(&second) > n1, "{first} then {second}");
    // The code directory is bind-mounted: the host's edit is read at once.
    std::fs::write(dir.join("message.txt"), "edited\n").expect("edit");
    serves(port, "/", "(edited)", 10).unwrap_or_else(|l| panic!("{l:?}"));
    let logs = d
        .berth_compose(&dir, ["logs", "--no-color", "web"])
        .run()
        .success()
        .out();
    assert!(
        logs.contains("web-1  | Running on http://0.0.0.0:5000"),
        "{logs}"
    );
    // The hits survive down/up in the volume.
    let before = count(&serves(port, "/", "seen", 10).unwrap_or_else(|l| panic!("{l:?}")));
    d.berth_compose(&dir, ["down"]).run().success();
    d.berth_compose(&dir, ["up", "-d"]).run().success();
    let after = count(&serves(port, "/", "seen", 30).unwrap_or_else(|l| panic!("{l:?}")));
    assert!(after > before, "{before} then {after}");
    d.berth_compose(&dir, ["down", "-v", "--rmi", "local"])
        .run()
        .success();
    let left = leftovers(&d, "composetest");
    assert!(left.is_empty(), "left: {left:?}");
}

/// 003_961a24bfb6b951c9.txt, lines 192-213: a `.env` next to the compose file feeds
/// `${DB_HOST}`-style interpolation (and a `${VAR:-default}` from the same page's advice);
/// the values reach the container's environment (`docker exec my_container env`).
#[test]
fn env_file_seed_interpolates() {
    let mut g = NetGuard::new("bt-se");
    let d = watched_daemon(&mut g);
    let br = g.bridge();
    let yaml = format!(
        "services:\n  app:\n    image: busybox   # stands in for my_app\n    command: sleep 600\n    environment:\n      - DB_HOST=${{DB_HOST}}\n      - DB_USER=${{DB_USER}}\n      - DB_PASS=${{DB_PASS}}\n      - DB_NAME=${{DB_NAME:-default_db}}\nnetworks:\n  default:\n{opts}",
        opts = bridge_opts(&br),
    );
    let dir = write_project(
        &d,
        "envdemo",
        &[
            ("docker-compose.yml", &yaml),
            (
                ".env",
                "DB_HOST=localhost\nDB_USER=root\nDB_PASS=supersecret\n",
            ),
        ],
    );
    d.berth_compose(&dir, ["up", "-d"]).run().success();
    let env = d
        .docker(["exec", "envdemo-app-1", "env"])
        .run()
        .success()
        .out();
    for want in [
        "DB_HOST=localhost",
        "DB_USER=root",
        "DB_PASS=supersecret",
        "DB_NAME=default_db",
    ] {
        assert!(env.lines().any(|l| l == want), "{want} in {env}");
    }
    // The shell's environment wins over .env, as in docker compose; the change recreates.
    let o = d
        .berth_compose(&dir, ["up", "-d"])
        .env("DB_USER", "admin")
        .run();
    o.success();
    assert!(
        o.stderr.contains("Container envdemo-app-1  Recreated"),
        "{}",
        o.stderr
    );
    let env = d
        .docker(["exec", "envdemo-app-1", "env"])
        .run()
        .success()
        .out();
    assert!(env.lines().any(|l| l == "DB_USER=admin"), "{env}");
    d.berth_compose(&dir, ["down"]).run().success();
    assert!(leftovers(&d, "envdemo").is_empty());
}

/// 003_961a24bfb6b951c9.txt, lines 36-61: `docker-compose up` (attached) of a hello-world
/// service (busybox printing the same first lines). Output as docker compose v2 prints it
/// against the same daemon: only creation progress on stderr, `Attaching to hello-1`, the
/// prefixed lines, then the exit status after the last line; a second `up` shows only the
/// new run; with a dependency, `up hello` returns when hello exits and the dependency stays.
#[test]
fn hello_world_seed_attached_up_as_docker_compose() {
    let mut g = NetGuard::new("bt-sh");
    let d = watched_daemon(&mut g);
    let br = g.bridge();
    let hello = sh_command("echo; echo 'Hello from Docker!'; echo 'This message shows that your installation appears to be working correctly.'");
    let yaml = format!(
        "version: '3'\nservices:\n  hello:\n    image: busybox   # stands in for hello-world\n    command: {hello}\nnetworks:\n  default:\n{opts}",
        opts = bridge_opts(&br),
    );
    let dir = write_project(&d, "tmp", &[("docker-compose.yml", &yaml)]);
    let want = "Attaching to hello-1\nhello-1  | \nhello-1  | Hello from Docker!\nhello-1  | This message shows that your installation appears to be working correctly.\n\r\x1b[Khello-1 exited with code 0\n";
    let up = |berth: bool| {
        let c = if berth {
            d.berth_compose(&dir, ["up", "--no-color"])
        } else {
            d.compose(&dir, ["up", "--no-color"])
        };
        let o = c.run_timeout(Duration::from_secs(60));
        o.success();
        o
    };
    let (first, again) = (up(true), up(true));
    assert_eq!(first.stdout, want);
    assert_eq!(again.stdout, want, "only this run's lines");
    let stderr_lines = |o: &berth_tests::Output| -> Vec<String> {
        o.stderr
            .lines()
            .filter(|l| !l.contains("is obsolete"))
            .map(str::to_string)
            .collect()
    };
    assert_eq!(
        stderr_lines(&first),
        [
            " Network tmp_default  Creating",
            " Network tmp_default  Created",
            " Container tmp-hello-1  Creating",
            " Container tmp-hello-1  Created",
        ]
    );
    let ps = d
        .berth_compose(
            &dir,
            ["ps", "-a", "--format", "{{.Name}} {{.State}} {{.ExitCode}}"],
        )
        .run()
        .success()
        .out();
    assert_eq!(ps, "tmp-hello-1 exited 0");
    d.berth_compose(&dir, ["down"]).run().success();
    assert!(leftovers(&d, "tmp").is_empty());
    let theirs = up(false);
    assert_eq!(theirs.stdout, first.stdout);
    assert_eq!(stderr_lines(&theirs), stderr_lines(&first));
    d.compose(&dir, ["down"]).run().success();
    // With a dependency: `up hello` follows hello only and returns when it exits (code 0
    // although hello failed, without --exit-code-from); db keeps running.
    let yaml = format!(
        "services:\n  hello:\n    image: busybox\n    command: {hello}\n    depends_on: [db]\n  db:\n    image: busybox\n    command: sleep 600\nnetworks:\n  default:\n{opts}",
        hello = sh_command("echo 'Hello from Docker!'; exit 3"),
        opts = bridge_opts(&br),
    );
    let dir = write_project(&d, "dep", &[("compose.yaml", &yaml)]);
    let want =
        "Attaching to hello-1\nhello-1  | Hello from Docker!\n\r\x1b[Khello-1 exited with code 3\n";
    for berth in [true, false] {
        let c = if berth {
            d.berth_compose(&dir, ["up", "--no-color", "hello"])
        } else {
            d.compose(&dir, ["up", "--no-color", "hello"])
        };
        let o = c.run_timeout(Duration::from_secs(60));
        o.success();
        assert_eq!(o.stdout, want, "berth: {berth}");
        let ps = d
            .berth_compose(&dir, ["ps", "--format", "{{.Name}} {{.State}}"])
            .run()
            .success()
            .out();
        assert_eq!(ps, "dep-db-1 running");
        d.berth_compose(&dir, ["down", "-t", "0"]).run().success();
    }
    assert!(leftovers(&d, "dep").is_empty());
}
/// 003_961a24bfb6b951c9.txt, lines 85-110 (frontend with a config and a secret on two
/// networks, backend with a `flocker` volume): as printed, the config and secret are not
/// defined at the top level, and no flocker plugin exists. berth compose and docker compose
/// (against the same berth daemon) refuse both the same way and leave the same things.
#[test]
fn front_back_configs_secrets_seed_errors_as_docker_compose() {
    let mut g = NetGuard::new("bt-sc");
    let d = watched_daemon(&mut g);
    let (br1, br2, port) = (g.bridge(), g.bridge(), free_port());
    let services = format!(
        r#"services:
  frontend:
    image: busybox    # stands in for awesome/webapp
    command: sleep 600
    ports:
      - "127.0.0.1:{port}:8043"
    networks:
      - front-tier
      - back-tier
    configs:
      - httpd-config
    secrets:
      - server-certificate
  backend:
    image: busybox    # stands in for awesome/database
    command: sleep 600
    volumes:
      - db-data:/etc/data
    networks:
      - back-tier
volumes:
  db-data:
    driver: flocker
    driver_opts:
      size: "10GiB"
networks:
  front-tier:
{opts1}  back-tier:
{opts2}"#,
        opts1 = bridge_opts(&br1),
        opts2 = bridge_opts(&br2),
    );
    let dir = write_project(&d, "awesome", &[("compose.yaml", &services)]);
    let b = d.berth_compose(&dir, ["up", "-d"]).run();
    let c = d.compose(&dir, ["up", "-d"]).run();
    b.failure();
    c.failure();
    let last_line = |s: &str| s.lines().last().unwrap_or_default().to_string();
    assert_eq!(last_line(&b.stderr), last_line(&c.stderr));
    assert!(
        b.stderr
            .contains("service \"frontend\" refers to undefined config httpd-config"),
        "{}",
        b.stderr
    );
    assert!(leftovers(&d, "awesome").is_empty());
    // With the config and the secret defined (files), the flocker driver is what fails.
    let defined = format!(
        "{services}configs:\n  httpd-config:\n    file: ./httpd.conf\nsecrets:\n  server-certificate:\n    file: ./server.cert\n"
    );
    let dir = write_project(
        &d,
        "awesome",
        &[
            ("compose.yaml", &defined),
            ("httpd.conf", "Listen 8043\n"),
            ("server.cert", "cert\n"),
        ],
    );
    let b = d.berth_compose(&dir, ["up", "-d"]).run();
    b.failure();
    assert!(
        b.stderr.contains("plugin \"flocker\" not found"),
        "{}",
        b.stderr
    );
    let left_b = leftovers(&d, "awesome");
    d.berth_compose(&dir, ["down", "-v"]).run().success();
    assert!(leftovers(&d, "awesome").is_empty());
    let c = d.compose(&dir, ["up", "-d"]).run();
    c.failure();
    assert!(
        c.stderr.contains("plugin \"flocker\" not found"),
        "{}",
        c.stderr
    );
    let left_c = leftovers(&d, "awesome");
    assert_eq!(
        left_b, left_c,
        "berth compose leaves what docker compose leaves"
    );
    d.compose(&dir, ["down", "-v"]).run().success();
    assert!(leftovers(&d, "awesome").is_empty());
}

/// The profiles seed (001, lines 626-645) driven alternately by docker compose and berth
/// compose against the same daemon: `images` (PLATFORM/CREATED, `-q` once per image), `top`
/// (one table), `ls` (table, json, `{{json.}}`, a template refused) print the same; a plain
/// `down` leaves the services of profiles not enabled running, their network "still in use".
#[test]
fn profiles_seed_listings_and_down_as_docker_compose() {
    let mut g = NetGuard::new("bt-sl");
    let d = watched_daemon(&mut g);
    let br = g.bridge();
    let yaml = format!(
        "services:\n  db:\n    image: busybox    # stands in for postgres\n    command: sleep 600\n  redis:\n    image: busybox    # stands in for redis\n    command: sleep 600\n    profiles:\n      - cache\n  monitoring:\n    image: busybox    # stands in for prometheus\n    command: sleep 600\n    profiles:\n      - monitoring\nnetworks:\n  default:\n{opts}",
        opts = bridge_opts(&br),
    );
    let dir = write_project(&d, "lst", &[("docker-compose.yml", &yaml)]);
    d.berth_compose(&dir, ["--profile", "cache", "up", "-d"])
        .run()
        .success();
    let both = |args: &[&str]| {
        let b = d.berth_compose(&dir, args).run();
        let c = d.compose(&dir, args).run();
        assert_eq!(
            (b.code, &b.stdout, &b.stderr),
            (c.code, &c.stdout, &c.stderr),
            "{args:?}: berth compose, then docker compose"
        );
        b
    };
    let images = both(&["images"]);
    assert!(
        images.stdout.starts_with("CONTAINER           REPOSITORY          TAG                 PLATFORM            IMAGE ID            SIZE                CREATED\n"),
        "{}",
        images.stdout
    );
    assert_eq!(both(&["images", "-q"]).stdout.lines().count(), 1);
    let top = both(&["top"]);
    assert!(top.stdout.starts_with("SERVICE  #   UID"), "{}", top.stdout);
    assert_eq!(top.stdout.lines().count(), 3, "{}", top.stdout);
    for format in ["table", "json", "{{json.}}", "{{.Name}}"] {
        both(&["ls", "--format", format]);
    }
    both(&["ls", "-a", "-q"]);
    // A plain down (no profile): redis stays, and so does the network it uses.
    let ps = |d: &TestDaemon| project_names(d, "lst");
    let b = d.berth_compose(&dir, ["down"]).run();
    b.success();
    let after_b = ps(&d);
    d.berth_compose(&dir, ["--profile", "cache", "up", "-d"])
        .run()
        .success();
    let c = d.compose(&dir, ["down"]).run();
    c.success();
    assert_eq!(after_b, ps(&d));
    assert_eq!(after_b, ["lst-redis-1"]);
    let sorted = |s: &str| {
        let mut v: Vec<String> = s.lines().map(str::to_string).collect();
        v.sort();
        v
    };
    assert_eq!(sorted(&b.stderr), sorted(&c.stderr));
    assert!(
        b.stderr
            .contains(" Network lst_default  Resource is still in use"),
        "{}",
        b.stderr
    );
    d.berth_compose(&dir, ["--profile", "cache", "down"])
        .run()
        .success();
    assert!(leftovers(&d, "lst").is_empty());
}
