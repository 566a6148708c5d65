#!/usr/bin/env bash
# bench-guest.sh BERTH_BIN BUSYBOX_TAR [DRIVER]
# The cgroup run/exec figures of issue 19, measured the same way in the cgroup v2 test VM
# and on the host (scripts/test-cgroupv2.sh --bench runs it in both places and prints the
# ratios): a private berth daemon (own data root, socket, bridge bvm-bench0 10.216.31.1/24;
# DRIVER, cgroupfs or systemd, as `--exec-opt native.cgroupdriver=DRIVER`; none: the
# daemon's default) with the busybox archive loaded, then
#   run:  `run --rm --network none busybox true`, BENCH_RUNS (20) times after 3 warm-ups
#   exec: `exec C true` into a running sleeper, as many times
# Wall time of each CLI call (fork/exec of the CLI included, as hyperfine -N measures it);
# prints the median and min of each and a line `bench-result KIND DRIVER MEDIAN_MS`.
# Needs only bash, coreutils and the berth binary (the VM has no hyperfine).
set -euo pipefail
BIN=${1:?berth binary}
TAR=${2:?busybox archive}
DRIVER=${3:-}
RUNS=${BENCH_RUNS:-20}
B=$(mktemp -d /tmp/berth-vmbench.XXXXXX)
BRIDGE=bvm-bench0
BIP=10.216.31.1/24
PID=""
cli() { BERTH_NO_AUTOSTART=1 "$BIN" -H "unix://$B/berth.sock" "$@"; }
die() { echo "bench-guest: $*" >&2; exit 1; }
cleanup() {
    set +e
    if [ -n "$PID" ]; then
        ids=$(cli ps -aq 2>/dev/null)
        [ -n "$ids" ] && cli rm -f $ids >/dev/null 2>&1
        kill -TERM "$PID" 2>/dev/null
        for _ in $(seq 200); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$PID" 2>/dev/null
        wait "$PID" 2>/dev/null
    fi
    # The daemon removes its bridge on a clean stop; a killed one may leave it.
    ip link show "$BRIDGE" >/dev/null 2>&1 && ip link del "$BRIDGE"
    awk -v b="$B/" 'index($5, b) == 1 { print length($5) " " $5 }' /proc/self/mountinfo \
        | sort -rn | cut -d' ' -f2- | while read -r m; do umount -l "$m" 2>/dev/null; done
    rm -rf "$B"
}
trap cleanup EXIT

args=()
[ -n "$DRIVER" ] && args+=(--exec-opt "native.cgroupdriver=$DRIVER")
BERTH_NO_AUTOSTART=1 "$BIN" daemon --data-root "$B/root" -H "unix://$B/berth.sock" \
    --bridge "$BRIDGE" --bip "$BIP" "${args[@]}" >"$B/daemon.log" 2>&1 &
PID=$!
for _ in $(seq 600); do cli version >/dev/null 2>&1 && break; sleep 0.2; done
cli version >/dev/null 2>&1 || { tail -20 "$B/daemon.log" >&2; die "the daemon did not answer"; }
cli load -i "$TAR" >/dev/null || die "load failed"
have=$(cli info --format '{{.CgroupDriver}} v{{.CgroupVersion}}')
[ -z "$DRIVER" ] || [ "${have%% *}" = "$DRIVER" ] || die "the daemon uses $have, not $DRIVER"

# timed CMD...: wall milliseconds of one call (3 decimals); fails when the call fails.
timed() {
    local t0 t1
    t0=$(date +%s%N)
    "$@" >/dev/null 2>&1 || return 1
    t1=$(date +%s%N)
    awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f\n", (b - a) / 1e6 }'
}
# series NAME CMD...: 3 warm-ups then RUNS timed calls; prints the median and min.
series() {
    local name=$1 i
    shift
    for i in 1 2 3; do "$@" >/dev/null 2>&1 || die "$name failed: $*"; done
    for i in $(seq "$RUNS"); do timed "$@" || die "$name failed: $*"; done >"$B/$name.ms"
    sort -n "$B/$name.ms" | awk -v n="$name" -v d="${DRIVER:-default}" '
        { v[NR] = $1 }
        END {
            m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
            printf "bench-result %s %s %.2f\n", n, d, m
            printf "  %-5s median %8.2f ms  min %8.2f ms  (%d runs)\n", n, m, v[1], NR
        }'
}

echo "bench-guest: $(uname -r), $have, $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg)"
series run cli run --rm --network none busybox true
cli run -d --network none --name bench-exec busybox sleep 100000 >/dev/null || die "run -d failed"
series exec cli exec bench-exec true
