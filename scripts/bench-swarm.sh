#!/usr/bin/env bash
# Swarm mode, berth against a single-node docker swarm, side by side in one run:
#   1. `service create --replicas 20` until all 20 tasks run;
#   2. `service update --image` through the 20 replicas, parallelism 5, no delay, until
#      all 20 running tasks have the new image;
#   3. the idle daemon's RSS with the swarm active (berth: the daemon; docker: dockerd +
#      containerd).
# Each daemon runs in a private network and mount namespace (unshare -n -m): nothing of
# the host's networking is touched, and everything they made goes with the namespace.
# Prints medians of RUNS runs (default 3) and the ratios.
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BERTH=${BERTH_BIN:-$ROOT/target/release/berth}
TAR=${BERTH_BUSYBOX_TAR:-$ROOT/target/fixtures/busybox.tar}
RUNS=${RUNS:-3}
W=$(mktemp -d /tmp/berth-bench-swarm.XXXXXX)
PIDS=()

cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    sleep 3
    for p in "${PIDS[@]}"; do kill -9 "$p" 2>/dev/null || true; done
    # Mounts were made in the daemons' private mount namespaces: they are gone with them.
    rm -rf "$W" 2>/dev/null || true
}
trap cleanup EXIT

start_ns() { # name command...
    local name=$1; shift
    setsid unshare -n -m --propagation private sh -c "ip link set lo up; exec \"\$@\"" sh "$@" \
        >"$W/$name.log" 2>&1 &
    PIDS+=($!)
}

start_ns dockerd dockerd --data-root "$W/docker/root" --exec-root "$W/docker/exec" \
    --pidfile "$W/docker/pid" -H "unix://$W/docker.sock" --bip 10.241.0.1/24
start_ns berth "$BERTH" daemon --data-root "$W/berth/root" -H "unix://$W/berth.sock" \
    --bridge bsw0 --bip 10.241.1.1/24

D() { DOCKER_HOST=unix://$W/docker.sock docker "$@"; }
B() { DOCKER_HOST=unix://$W/berth.sock docker "$@"; }

for i in $(seq 100); do D version >/dev/null 2>&1 && B version >/dev/null 2>&1 && break; sleep 0.3; done
for c in D B; do
    $c load -i "$TAR" >/dev/null
    # A second image (another id) for the update.
    printf 'FROM busybox\nLABEL v=2\n' | DOCKER_BUILDKIT=0 $c build -q -t busybox:v2 - >/dev/null
    $c swarm init --advertise-addr 127.0.0.1 >/dev/null
done

now() { date +%s.%N; }
running() { # client service [image]
    $1 service ps "$2" --filter desired-state=running --format '{{.Image}} {{.CurrentState}}' 2>/dev/null \
        | grep -c "^${3:-busybox}.* Running" || true
}

create_time() { # client
    local t0 t1
    t0=$(now)
    # A task that exits on SIGTERM, so updates measure the orchestration, not the
    # 10 s stop grace period of a PID 1 that ignores TERM.
    $1 service create -d --name bench --replicas 20 busybox \
        sh -c 'trap "exit 0" TERM; sleep 100000 & wait' >/dev/null 2>&1
    until [ "$(running "$1" bench busybox:latest)" -ge 20 ]; do sleep 0.05; done
    t1=$(now)
    echo "$t1 - $t0" | bc
}

update_time() { # client
    local t0 t1
    t0=$(now)
    $1 service update -d --image busybox:v2 --update-parallelism 5 --update-delay 0s bench >/dev/null 2>&1
    until [ "$(running "$1" bench busybox:v2)" -ge 20 ] \
        && [ "$($1 service ps bench --filter desired-state=running -q | wc -l)" -eq 20 ]; do
        sleep 0.05
    done
    t1=$(now)
    echo "$t1 - $t0" | bc
}

remove() { # client
    $1 service rm bench >/dev/null
    until [ -z "$($1 ps -aq --filter label=com.docker.swarm.service.name=bench)" ]; do sleep 0.1; done
}

median() { sort -n | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

declare -A C U
for c in D B; do C[$c]=""; U[$c]=""; done
for r in $(seq "$RUNS"); do
    for c in D B; do
        C[$c]+="$(create_time $c)"$'\n'
        U[$c]+="$(update_time $c)"$'\n'
        remove $c
    done
done

sleep 5
bpid=$(pgrep -f -- " daemon --data-root $W/berth/root" | head -1)
dpid=$(pgrep -f "dockerd --data-root $W/docker/root" | head -1)
cpid=$(pgrep -f "containerd --config $W/docker/exec" | head -1)
brss=$(awk '/VmRSS/ {print $2}' /proc/$bpid/status)
drss=$(( $(awk '/VmRSS/ {print $2}' /proc/$dpid/status) + $(awk '/VmRSS/ {print $2}' /proc/$cpid/status 2>/dev/null || echo 0) ))

printf '%-58s %12s %12s %8s\n' measure berth docker ratio
for m in "create --replicas 20 until running (s):C" "update --image, 20 replicas, parallelism 5 (s):U"; do
    label=${m%:*}; k=${m##*:}
    if [ "$k" = C ]; then b=$(echo -n "${C[B]}" | median); d=$(echo -n "${C[D]}" | median)
    else b=$(echo -n "${U[B]}" | median); d=$(echo -n "${U[D]}" | median); fi
    printf '%-58s %12.3f %12.3f %7.1fx\n' "$label, median of $RUNS" "$b" "$d" "$(echo "$d / $b" | bc -l)"
done
printf '%-58s %9.1f MiB %9.1f MiB %7.1fx\n' "idle daemon RSS, swarm active" \
    "$(echo "$brss/1024" | bc -l)" "$(echo "$drss/1024" | bc -l)" "$(echo "$drss / $brss" | bc -l)"
for c in D B; do $c swarm leave --force >/dev/null 2>&1 || true; done
