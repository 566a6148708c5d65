//! The seeds' Dockerfiles (../shared/seeds), copied verbatim, built and run on the offline
//! base-image fixtures of `scripts/make-base-images.sh` (python:*-slim = Debian bookworm
//! minbase + python3 3.11; node:* = busybox + the host's node; golang:1.19-alpine = busybox +
//! Go 1.19), through both berth and the docker CLI's classic builder; and the multi-stage
//! scheduler: independent stages build concurrently, output and Step N/M as docker prints.

use berth_tests::build::load_base_image;
use berth_tests::compose::http_get;
use berth_tests::{
    build_context as context, classic_build, client_name as name, eventually, Client, Output,
    TestDaemon,
};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

fn build(d: &TestDaemon, c: Client, dir: &Path, args: &[&str]) -> Output {
    classic_build(d, c, dir, args).run_timeout(Duration::from_secs(300))
}

/// Runs `image` detached on the host network with `HOST=127.0.0.1` and a free `PORT` (berth's
/// default network has no loopback yet, and -p needs a bridge), then returns the body of
/// `GET /` once the app answers.
fn serve_and_get(d: &TestDaemon, c: Client, image: &str) -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("free port")
        .port();
    let (host_env, port_env) = ("HOST=127.0.0.1".to_string(), format!("PORT={port}"));
    let o = d
        .cli(
            c,
            [
                "run",
                "-d",
                "--network",
                "host",
                "-e",
                &host_env,
                "-e",
                &port_env,
                image,
            ],
        )
        .run();
    o.success();
    let id = o.stdout.trim().to_string();
    let mut got = None;
    let ok = eventually(30, || {
        got = http_get(port, "/");
        got.is_some()
    });
    let logs = d.cli(c, ["logs", id.as_str()]).run().out();
    d.cli(c, ["rm", "-f", id.as_str()]).run().success();
    assert!(
        ok,
        "{image}: nothing answered on 127.0.0.1:{port}; logs: {logs}"
    );
    got.unwrap_or_default()
}

/// Step lines ("Step N/M : ...") in output order.
fn steps(o: &Output) -> Vec<String> {
    o.stdout
        .lines()
        .filter(|l| l.starts_with("Step "))
        .map(str::to_string)
        .collect()
}

const APP_PY: &str = r#"import http.server
import os
import sys


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body = ("hello from python %s FLASK_APP=%s\n" % (
            sys.version.split()[0], os.environ.get("FLASK_APP", "-"))).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


host, port = os.environ.get("HOST", "0.0.0.0"), int(os.environ.get("PORT", "5000"))
print("listening on %d" % port, flush=True)
http.server.HTTPServer((host, port), Handler).serve_forever()
"#;

fn node_app(port: u16) -> String {
    format!(
        "const http = require('http');\nconst os = require('os');\nconst port = process.env.PORT || {port};\nhttp.createServer((req, res) => res.end(`hello from node ${{process.version}} as ${{os.userInfo().username}}\\n`))\n  .listen(port, process.env.HOST || '0.0.0.0', () => console.log(`listening on ${{port}}`));\n"
    )
}

const PACKAGE_JSON: &str = r#"{
  "name": "seed-app",
  "version": "1.0.0",
  "private": true,
  "scripts": { "start": "node index.js" }
}
"#;

const PACKAGE_LOCK: &str = r#"{
  "name": "seed-app",
  "version": "1.0.0",
  "lockfileVersion": 3,
  "requires": true,
  "packages": { "": { "name": "seed-app", "version": "1.0.0" } }
}
"#;

/// 000_1ac0826772e63066.txt, lines 212-229.
const PY311: &str = r#"# Utiliser l'image de base Python officielle (version 3.11 slim)
FROM python:3.11-slim

# Définir le dossier de travail à /app
WORKDIR /app

# Copier le fichier de dépendances et installer les dépendances
COPY requirements.txt .
RUN pip install -r requirements.txt

# Copier le reste du code de l'application
COPY . .

# Exposer le port de l'application (exemple: une app web sur le port 5000)
EXPOSE 5000

# Lancer l'application
CMD ["python", "app.py"]
"#;

/// 000_1ac0826772e63066.txt, lines 731-748.
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

/// 001_c2978d1cd305e2be.txt, lines 250-277.
const NODE16: &str = r#"# Dockerfile pour une application Node.js
FROM node:16-alpine

# Définir le répertoire de travail
WORKDIR /app

# Copier les fichiers de dépendances
COPY package*.json ./

# Installer les dépendances
RUN npm ci --only=production

# Copier le code source
COPY . .

# Créer un utilisateur non-root
RUN addgroup -g 1001 -S nodejs
RUN adduser -S nextjs -u 1001

# Changer les permissions
RUN chown -R nextjs:nodejs /app
USER nextjs

# Exposer le port
EXPOSE 3000

# Commande de démarrage
CMD ["npm", "start"]
"#;

/// 001_c2978d1cd305e2be.txt, lines 281-312.
const GO: &str = r#"# Dockerfile multi-stage pour une application Go
# Stage 1: Build
FROM golang:1.19-alpine AS builder

WORKDIR /app

# Copier les fichiers go.mod et go.sum
COPY go.mod go.sum ./
RUN go mod download

# Copier le code source
COPY . .

# Compiler l'application
RUN CGO_ENABLED=0 GOOS=linux go build -a -installsuffix cgo -o main .

# Stage 2: Runtime
FROM alpine:latest

# Installer les certificats CA
RUN apk --no-cache add ca-certificates

WORKDIR /root/

# Copier l'exécutable depuis le stage builder
COPY --from=builder /app/main .

# Exposer le port
EXPOSE 8080

# Commande de démarrage
CMD ["./main"]
"#;

/// 002_b1d1f93d3111871b.txt, lines 226-242.
const PY38: &str = r#"# Utilisation de l'image de base officielle Python
FROM python:3.8-slim

# Définition du répertoire de travail à l'intérieur du conteneur
WORKDIR /app

# Copie du fichier de dépendances
COPY requirements.txt .

# Installation des dépendances Python
RUN pip install -r requirements.txt

# Copie du code source de l'application
COPY . .

# Commande à exécuter lorsque le conteneur démarre
CMD ["python", "app.py"]
"#;

/// 002_b1d1f93d3111871b.txt, lines 403-420.
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

/// 002_b1d1f93d3111871b.txt, lines 1087-1106.
const PY39: &str = r#"# Utiliser une image de base Python officielle
FROM python:3.9-slim

# Définir le répertoire de travail dans le conteneur
WORKDIR /app

# Copier le fichier requirements.txt dans le conteneur
COPY requirements.txt .

# Installer les dépendances à partir de requirements.txt
RUN pip install --no-cache-dir -r requirements.txt

# Copier tout le code source de l'application dans le conteneur
COPY . .

# Exposer le port que l'application va utiliser
EXPOSE 5000

# Définir la commande à exécuter pour démarrer l'application
CMD ["python", "app.py"]
"#;

/// 002_b1d1f93d3111871b.txt, lines 1165-1173.
const PY39_SHORT: &str = r#"
FROM python:3.9-slim
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .
EXPOSE 5000
CMD ["python", "app.py"]
"#;

/// 002_b1d1f93d3111871b.txt, lines 1183-1193.
const PY39_ENV: &str = r#"FROM python:3.9-slim
WORKDIR /app
COPY requirements.txt .
RUN pip install --no-cache-dir -r requirements.txt
COPY . .

# Définir une variable d'environnement
ENV FLASK_APP=app.py

EXPOSE 5000
CMD ["python", "app.py"]
"#;

#[test]
fn seed_python_slim_dockerfiles_build_and_serve() {
    let d = TestDaemon::start();
    load_base_image(&d, "python.tar", &["python:3.9-slim", "python:3.8-slim"]);
    let cases = [
        ("py311", PY311, "-"),
        ("py38", PY38, "-"),
        ("py39", PY39, "-"),
        ("py39short", PY39_SHORT, "-"),
        ("py39env", PY39_ENV, "app.py"),
    ];
    for (i, (sub, df, flask)) in cases.iter().enumerate() {
        // Alternate the clients: each seed once, both clients over the set.
        let c = Client::BOTH[i % 2];
        let dir = context(
            &d,
            sub,
            &[
                ("Dockerfile", df),
                (
                    "requirements.txt",
                    "# nothing to fetch: tests are offline\n",
                ),
                ("app.py", APP_PY),
            ],
        );
        let tag = name(c, sub);
        let o = build(&d, c, &dir, &["-t", &tag]);
        o.success();
        o.stdout_contains(&format!("Successfully tagged {tag}:latest\n"));
        let first = &steps(&o)[0];
        assert!(first.contains(" : FROM python:3."), "{first}");
        let got = serve_and_get(&d, c, &tag);
        assert_eq!(
            got,
            format!("hello from python 3.11.2 FLASK_APP={flask}\n"),
            "{sub}"
        );
    }
}

#[test]
fn seed_node_dockerfiles_build_and_serve() {
    let d = TestDaemon::start();
    load_base_image(&d, "node.tar", &["node:16-alpine", "node:14"]);
    let version = String::from_utf8_lossy(
        &Command::new("node")
            .arg("--version")
            .output()
            .expect("host node")
            .stdout,
    )
    .trim()
    .to_string();
    let index3000 = node_app(3000);
    let server8080 = node_app(8080);
    // node:18-alpine, npm install --production, CMD node index.js.
    let dir = context(
        &d,
        "node18",
        &[
            ("Dockerfile", NODE18),
            ("package.json", PACKAGE_JSON),
            ("index.js", &index3000),
        ],
    );
    build(&d, Client::Berth, &dir, &["-t", "seed-node18"]).success();
    let got = serve_and_get(&d, Client::Berth, "seed-node18");
    assert_eq!(got, format!("hello from node {version} as root\n"));

    // node:16-alpine: npm ci, busybox addgroup/adduser, USER nextjs, npm start.
    let dir = context(
        &d,
        "node16",
        &[
            ("Dockerfile", NODE16),
            ("package.json", PACKAGE_JSON),
            ("package-lock.json", PACKAGE_LOCK),
            ("index.js", &index3000),
        ],
    );
    let o = build(&d, Client::Docker, &dir, &["-t", "seed-node16"]);
    o.success();
    o.stdout_contains("Step 7/11 : RUN adduser -S nextjs -u 1001\n");
    let got = serve_and_get(&d, Client::Docker, "seed-node16");
    assert_eq!(got, format!("hello from node {version} as nextjs\n"));
    let o = d
        .berth([
            "run",
            "--rm",
            "seed-node16",
            "sh",
            "-c",
            "id; stat -c %U:%G /app/index.js",
        ])
        .run();
    o.success();
    o.stdout_is("uid=1001(nextjs) gid=65534(nogroup) groups=65534(nogroup)\nnextjs:nodejs\n");

    // node:14, npm install, CMD node server.js on 8080.
    let dir = context(
        &d,
        "node14",
        &[
            ("Dockerfile", NODE14),
            ("package.json", PACKAGE_JSON),
            ("server.js", &server8080),
        ],
    );
    build(&d, Client::Berth, &dir, &["-t", "seed-node14"]).success();
    let got = serve_and_get(&d, Client::Berth, "seed-node14");
    assert_eq!(got, format!("hello from node {version} as root\n"));
}

#[test]
fn seed_go_multistage_builder_target() {
    let d = TestDaemon::start();
    load_base_image(&d, "golang.tar", &[]);
    let dir = context(
        &d,
        "go",
        &[
            ("Dockerfile", GO),
            ("go.mod", "module example.com/seed\n\ngo 1.19\n"),
            ("go.sum", ""),
            (
                "main.go",
                "package main\n\nimport (\n\t\"fmt\"\n\t\"runtime\"\n)\n\nfunc main() {\n\tfmt.Println(\"hello from go\", runtime.Version())\n}\n",
            ),
        ],
    );
    // The runtime stage needs `apk add` (the network); the builder stage is all offline.
    let o = build(
        &d,
        Client::Berth,
        &dir,
        &["--target", "builder", "-t", "seed-go"],
    );
    o.success();
    assert_eq!(
        steps(&o),
        [
            "Step 1/6 : FROM golang:1.19-alpine AS builder",
            "Step 2/6 : WORKDIR /app",
            "Step 3/6 : COPY go.mod go.sum ./",
            "Step 4/6 : RUN go mod download",
            "Step 5/6 : COPY . .",
            "Step 6/6 : RUN CGO_ENABLED=0 GOOS=linux go build -a -installsuffix cgo -o main .",
        ],
        "{}",
        o.out()
    );
    o.stdout_lacks("apk");
    let o = d.berth(["run", "--rm", "seed-go", "./main"]).run();
    o.success();
    o.stdout_is("hello from go go1.19.8\n");
    // CGO_ENABLED=0: a static binary, as the seed's runtime stage relies on.
    let o = d
        .berth([
            "run",
            "--rm",
            "seed-go",
            "sh",
            "-c",
            "head -c 4 main | od -c | head -1; ls /app",
        ])
        .run();
    o.success();
    o.stdout_contains("177   E   L   F")
        .stdout_contains("main\n");
}

const TWO_SLEEPS: &str = "FROM busybox AS one\nRUN sleep 2 && echo one > /one\nFROM busybox AS two\nRUN sleep 2 && echo two > /two\nFROM busybox\nCOPY --from=one /one /one\nCOPY --from=two /two /two\nCMD [\"cat\", \"/one\", \"/two\"]\n";

#[test]
fn seed_independent_stages_build_concurrently_in_order() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        let dir = context(&d, &name(c, "conc"), &[("Dockerfile", TWO_SLEEPS)]);
        let tag = name(c, "conc");
        let t0 = Instant::now();
        let o = build(&d, c, &dir, &["--no-cache", "-t", &tag]);
        let took = t0.elapsed();
        o.success();
        assert!(
            took < Duration::from_millis(3500),
            "two `sleep 2` stages took {took:?}: not concurrent"
        );
        assert_eq!(
            steps(&o),
            [
                "Step 1/8 : FROM busybox AS one",
                "Step 2/8 : RUN sleep 2 && echo one > /one",
                "Step 3/8 : FROM busybox AS two",
                "Step 4/8 : RUN sleep 2 && echo two > /two",
                "Step 5/8 : FROM busybox",
                "Step 6/8 : COPY --from=one /one /one",
                "Step 7/8 : COPY --from=two /two /two",
                "Step 8/8 : CMD [\"cat\", \"/one\", \"/two\"]",
            ]
        );
        // Each stage's lines stay together: stage one is done before stage two's FROM shows.
        let s = &o.stdout;
        let one_done = s.find("Step 3/8").expect("step 3");
        let removed = s[..one_done]
            .matches(" ---> Removed intermediate container")
            .count();
        assert_eq!(removed, 1, "{s}");
        let r = d.cli(c, ["run", "--rm", tag.as_str()]).run();
        r.success();
        r.stdout_is("one\ntwo\n");
    }
}

/// As `DOCKER_BUILDKIT=0 docker build --target final` prints against dockerd 28: every stage
/// up to the target counts in M and keeps its numbers; berth skips the unused stage's steps.
const WITH_UNUSED: &str = "ARG X=1\nFROM busybox AS a\nRUN echo a > /a\nFROM busybox AS unused\nRUN echo u\nRUN echo u2\nFROM busybox AS b\nRUN echo b > /b\nFROM busybox AS final\nCOPY --from=a /a /a\nCOPY --from=b /b /b\nCMD [\"cat\", \"/a\"]\nFROM busybox AS after\nRUN echo after\n";

#[test]
fn seed_step_numbers_with_target_match_classic_builder() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        let dir = context(&d, &name(c, "target"), &[("Dockerfile", WITH_UNUSED)]);
        let o = build(&d, c, &dir, &["--no-cache", "--target", "final"]);
        o.success();
        assert_eq!(
            steps(&o),
            [
                "Step 1/12 : ARG X=1",
                "Step 2/12 : FROM busybox AS a",
                "Step 3/12 : RUN echo a > /a",
                "Step 7/12 : FROM busybox AS b",
                "Step 8/12 : RUN echo b > /b",
                "Step 9/12 : FROM busybox AS final",
                "Step 10/12 : COPY --from=a /a /a",
                "Step 11/12 : COPY --from=b /b /b",
                "Step 12/12 : CMD [\"cat\", \"/a\"]",
            ],
            "{}",
            o.out()
        );
        o.stdout_lacks("echo u").stdout_lacks("after");
    }
    // An unknown target is still refused with docker's message.
    let dir = context(&d, "target-bad", &[("Dockerfile", WITH_UNUSED)]);
    let o = build(&d, Client::Docker, &dir, &["--target", "nope"]);
    o.failure();
    o.stderr_contains(
        "Error response from daemon: failed to reach build target nope in Dockerfile",
    );
}

const FAIL_ONE: &str = "FROM busybox AS bad\nRUN sleep 1 && echo failing && exit 3\nFROM busybox AS good\nRUN echo good-ran > /g\nFROM busybox\nCOPY --from=bad /etc/passwd /p\nCOPY --from=good /g /g\n";

#[test]
fn seed_failing_stage_stops_output_like_the_sequential_builder() {
    let d = TestDaemon::start();
    for c in Client::BOTH {
        let dir = context(&d, &name(c, "fail"), &[("Dockerfile", FAIL_ONE)]);
        let tag = name(c, "fail");
        let o = build(&d, c, &dir, &["--no-cache", "-t", &tag]);
        // docker exits with the failed RUN's code, as berth does.
        o.code(3);
        o.stdout_contains("Step 2/7 : RUN sleep 1 && echo failing && exit 3\n")
            .stdout_contains("failing\n")
            // The good stage ran meanwhile, but docker would never have started it.
            .stdout_lacks("Step 3/7")
            .stdout_lacks("good-ran")
            .stdout_lacks("Successfully built");
        o.stderr_contains(
            "The command '/bin/sh -c sleep 1 && echo failing && exit 3' returned a non-zero code: 3",
        );
        d.cli(c, ["image", "inspect", tag.as_str()]).run().failure();
    }
}
