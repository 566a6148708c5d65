#!/usr/bin/env bash
# The CLI's own costs, berth beside the docker CLI in one run (hyperfine medians):
#   (a) `--help` and `COMMAND --help` (run, container ls, network create): no daemon involved
#   (b) shell completion of container names (`__complete rm ''`, what the bash/zsh scripts
#       run on TAB) and of running ones (`__complete exec ''`) with BENCH_CONTAINERS (200)
#       containers created in a private berth daemon and a private dockerd
# Figures are reported, not asserted: the script fails only when setup fails.
# Env: BERTH_BIN (default target/release/berth), BENCH_RUNS (default 50),
#      BENCH_CONTAINERS (default 200), BENCH_SECTIONS (default "help complete").
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
BERTH="${BERTH_BIN:-$ROOT/target/release/berth}"
RUNS="${BENCH_RUNS:-50}"
N="${BENCH_CONTAINERS:-200}"
SECTIONS="${BENCH_SECTIONS:-help complete}"
B=/tmp/berth-bench-cli
FIXTURE="$B/busybox.tar"
# Private bridges of the benchmarked daemons (never the host's docker0/berth0).
BERTH_BRIDGE=bcli-berth0
BERTH_BIP=10.216.21.1/24
DOCKER_BRIDGE=bcli-dock0
DOCKER_BIP=10.216.22.1/24

die() { echo "bench-cli: $*" >&2; exit 1; }
want() { [[ " $SECTIONS " == *" $1 "* ]]; }

[ -e "$B" ] && die "$B exists (another bench running, or a stale run: remove it first)"
for t in hyperfine jq docker dockerd curl; do command -v "$t" >/dev/null || die "$t missing: run scripts/install-deps.sh"; done
[ -x "$BERTH" ] || die "$BERTH missing: cargo build --release -p berth"

DOCKERD_PID=""
BERTHD_PID=""
bcli() { BERTH_NO_AUTOSTART=1 DOCKER_CONFIG="$B/config" "$BERTH" -H "unix://$B/berth.sock" "$@"; }
dcli() { DOCKER_CONFIG="$B/config" docker -H "unix://$B/docker.sock" "$@"; }

stop_pid() { # SIGTERM, wait up to 20 s, then SIGKILL; only our own pids
    local pid=$1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
}
cleanup() {
    set +e
    if [ -n "$BERTHD_PID" ]; then ids=$(bcli ps -aq 2>/dev/null); [ -n "$ids" ] && bcli rm -f $ids >/dev/null 2>&1; fi
    if [ -n "$DOCKERD_PID" ]; then ids=$(dcli ps -aq 2>/dev/null); [ -n "$ids" ] && dcli rm -f $ids >/dev/null 2>&1; fi
    stop_pid "$BERTHD_PID"
    stop_pid "$DOCKERD_PID"
    for p in $(pgrep -f "containerd-shim-runc-v2 .*-address $B/" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    ip link show "$DOCKER_BRIDGE" >/dev/null 2>&1 && ip link del "$DOCKER_BRIDGE"
    sleep 0.3
    awk -v b="$B/" 'index($5, b) == 1 { print length($5) " " $5 }' /proc/self/mountinfo \
        | sort -rn | cut -d' ' -f2- | while read -r m; do umount -l "$m" 2>/dev/null; done
    rm -rf "$B"
}
trap cleanup EXIT
mkdir -p "$B/config"

declare -A MED CPU
# measure KEY COMMAND: hyperfine median wall time in ms (no shell in between: -N), and
# the mean CPU time (user + system) in ms, which run-queue waits on a loaded machine do
# not inflate.
measure() {
    hyperfine -N --style basic --warmup 5 --runs "$RUNS" --export-json "$B/$1.json" "$2" >/dev/null
    MED[$1]=$(jq '.results[0].median * 1000' "$B/$1.json")
    CPU[$1]=$(jq '(.results[0].user + .results[0].system) * 1000' "$B/$1.json")
}

HELP_CASES=("--help" "run --help" "container ls --help" "network create --help")
if want help; then
    echo "==> (a) help, $RUNS runs each"
    for c in "${HELP_CASES[@]}"; do
        measure "berth $c" "env DOCKER_CONFIG=$B/config $BERTH $c"
        measure "docker $c" "env DOCKER_CONFIG=$B/config docker $c"
    done
fi

COMPLETE_CASES=("rm" "exec")
if want complete; then
    echo "==> (b) completion with $N containers: starting private daemons"
    bash scripts/make-busybox-image.sh "$FIXTURE" busybox:latest >/dev/null
    ping_ok() { curl -fsS --max-time 2 --unix-socket "$1" http://localhost/_ping >/dev/null 2>&1; }
    wait_sock() { for _ in $(seq 1 300); do ping_ok "$1" && return 0; sleep 0.1; done; return 1; }
    mkdir -p "$B/docker" "$B/berth"
    ip link add "$DOCKER_BRIDGE" type bridge && ip addr add "$DOCKER_BIP" dev "$DOCKER_BRIDGE" \
        && ip link set "$DOCKER_BRIDGE" up || die "cannot create $DOCKER_BRIDGE"
    dockerd --data-root "$B/docker/root" --exec-root "$B/docker/exec" --pidfile "$B/docker/pid" \
        -H "unix://$B/docker.sock" --bridge="$DOCKER_BRIDGE" --iptables=false --ip6tables=false \
        >"$B/docker/log" 2>&1 &
    DOCKERD_PID=$!
    BERTH_NO_AUTOSTART=1 "$BERTH" daemon --data-root "$B/berth/root" -H "unix://$B/berth.sock" \
        --bridge "$BERTH_BRIDGE" --bip "$BERTH_BIP" >"$B/berth/log" 2>&1 &
    BERTHD_PID=$!
    wait_sock "$B/docker.sock" || { tail -20 "$B/docker/log" >&2; die "dockerd did not start"; }
    wait_sock "$B/berth.sock" || { tail -20 "$B/berth/log" >&2; die "berth daemon did not start"; }
    bcli load -i "$FIXTURE" >/dev/null || die "berth: load failed"
    dcli load -i "$FIXTURE" >/dev/null || die "docker: load failed"
    echo "==> creating $N containers in each (2 of them running)"
    for i in $(seq 1 "$N"); do
        bcli create --network none --name "bench-cli-$i" busybox sleep 300 >/dev/null || die "berth: create failed"
        dcli create --network none --name "bench-cli-$i" busybox sleep 300 >/dev/null || die "docker: create failed"
    done
    bcli start bench-cli-1 bench-cli-2 >/dev/null && dcli start bench-cli-1 bench-cli-2 >/dev/null \
        || die "start failed"
    # Both complete only stopped containers for rm without --force (docker 28's
    # ValidArgsFunction): the 2 running ones are left out; with -f all of them.
    n=$(bcli __complete rm '' | grep -c '^bench-cli-') && [ "$n" -eq $((N - 2)) ] \
        || die "berth completes $n of $((N - 2)) stopped names"
    n=$(bcli __complete rm -f '' | grep -c '^bench-cli-') && [ "$n" -eq "$N" ] \
        || die "berth completes $n of $N names after -f"
    n=$(dcli __complete rm '' | grep -c '^bench-cli-') && [ "$n" -ge $((N - 2)) ] \
        || die "docker completes $n of $N names"
    echo "==> (b) completion, $RUNS runs each"
    for c in "${COMPLETE_CASES[@]}"; do
        measure "berth complete $c" "env BERTH_NO_AUTOSTART=1 DOCKER_CONFIG=$B/config $BERTH -H unix://$B/berth.sock __complete $c ''"
        measure "docker complete $c" "env DOCKER_CONFIG=$B/config docker -H unix://$B/docker.sock __complete $c ''"
    done
fi

echo
echo "== CLI figures (wall: median ms; cpu: mean user+sys ms; ratio = berth / docker) =="
row() { # LABEL KEY-SUFFIX
    local b=${MED["berth $2"]:-} d=${MED["docker $2"]:-}
    local bc=${CPU["berth $2"]:-} dc=${CPU["docker $2"]:-}
    [ -n "$b" ] || return 0
    printf '%-44s wall berth %7.2f docker %7.2f ratio %5.2f | cpu berth %6.2f docker %6.2f\n' \
        "$1" "$b" "$d" "$(awk "BEGIN{print $b/$d}")" "$bc" "$dc"
}
if want help; then
    for c in "${HELP_CASES[@]}"; do row "$c" "$c"; done
fi
if want complete; then
    row "complete rm '' ($N containers)" "complete rm"
    row "complete exec '' ($N containers, 2 running)" "complete exec"
fi
