#!/usr/bin/env bash
# CPU cost of `exec <running> true` and `run --rm --network none true`, for one or more berth
# binaries side by side: the task-clock (perf stat) of the daemon's threads, its shim zygote,
# the container's shim and every process they fork, per operation. Unlike wall time this
# barely moves when other work shares the machine, so it compares binaries (say, before and
# after a change) where bench.sh's medians are noise. The daemon's `cgroup-warm` thread is
# left out: its cost follows the wall time (a no-op migration every 3 ms while containers
# start, see crates/berth-engine/src/cgroup_warm.rs), not the work of an operation.
# Each binary gets its own private daemon (data root, socket, bridge, subnet); rounds
# alternate between the binaries. The CLI's own cost is not counted.
# Env: BERTH_BINS (default target/release/berth; space-separated; an entry BIN+ARG gives
#      that daemon one more argument, e.g. `target/release/berth+--seccomp-profile=unconfined`
#      to measure what the default seccomp filter costs), BENCH_CPU_ROUNDS (3),
#      BENCH_CPU_EXECS (40), BENCH_CPU_RUNS (15).
# Needs perf (linux-perf).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
ROUNDS="${BENCH_CPU_ROUNDS:-3}"
EXECS="${BENCH_CPU_EXECS:-40}"
RUNS="${BENCH_CPU_RUNS:-15}"
B=/tmp/berth-bench-cpu

die() { echo "bench-cpu: $*" >&2; exit 1; }
# shellcheck source=scripts/bench-daemons.sh
. scripts/bench-daemons.sh
# shellcheck disable=SC2086 # a space-separated list of binaries
bench_bins ${BERTH_BINS:-$ROOT/target/release/berth}
bench_prepare perf curl
# Bridges bcpu-N on 10.216.(10+N).1/24: not the host's docker0/berth0, nor bench.sh's.
bench_daemons bcpu 10 --network none

# measure I KIND N: prints the task-clock per operation in ms. perf follows the daemon, its
# zygote, the container's shim and its children (the exec helper), and every thread or
# process they start meanwhile; the cgroup-warm thread's CPU time over the same span (its
# schedstat) is subtracted.
measure() {
    local i=$1 kind=$2 n=$3 dp=${PIDS[$1]} pids warm="" t w0 w1 f
    # A process and its children: the daemon and its zygote, each shim and its exec helper
    # (shim/exec_helper.rs, which forks the execs).
    with_children() { pids="$pids,$1"; for t in $(pgrep -P "$1"); do pids="$pids,$t"; done; }
    pids=""
    with_children "$dp"
    for f in "$B/d$i"/root/containers/*/shim.pid; do with_children "$(cat "$f")"; done
    pids=${pids#,}
    for t in /proc/"$dp"/task/*; do [ "$(cat "$t/comm")" = cgroup-warm ] && warm=$t/schedstat; done
    w0=$( [ -n "$warm" ] && cut -d' ' -f1 "$warm" || echo 0)
    perf stat -e task-clock -x, -p "$pids" -o "$B/d$i/stat" &
    local pp=$!
    sleep 0.5
    for _ in $(seq 1 "$n"); do
        if [ "$kind" = exec ]; then cli "$i" exec bx true; else cli "$i" run --rm --network none busybox true; fi
    done
    sleep 0.3
    kill -INT "$pp"; wait "$pp" || true
    w1=$( [ -n "$warm" ] && cut -d' ' -f1 "$warm" || echo 0)
    awk -F, -v n="$n" -v w=$((w1 - w0)) '/task-clock/ { printf "%.3f", ($1 - w / 1e6) / n }' "$B/d$i/stat"
}

declare -A R
for r in $(seq 1 "$ROUNDS"); do
    for i in "${!BINS[@]}"; do
        R[exec,$i]="${R[exec,$i]:-} $(measure "$i" exec "$EXECS")"
        R[run,$i]="${R[run,$i]:-} $(measure "$i" run "$RUNS")"
    done
done
median() { tr ' ' '\n' | grep . | sort -g | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
echo "CPU ms per operation (daemon + shims + their children, cgroup-warm left out), $ROUNDS rounds; load: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-50s %-28s %s\n' binary "exec true: median (rounds)" "run --rm true: median (rounds)"
for i in "${!BINS[@]}"; do
    printf '%-50s %-28s %s\n' "${NAMES[$i]}" "$(echo "${R[exec,$i]}" | median) (${R[exec,$i]# })" \
        "$(echo "${R[run,$i]}" | median) (${R[run,$i]# })"
done
# Paired: each round's figure over the first binary's in the same round, then the median.
# The machine's speed drifts between rounds (other guests, frequency) by more than the
# differences measured here; a ratio within one round cancels most of that drift.
ratios() {
    paste <(echo "${R[$1,$2]}" | tr ' ' '\n' | grep .) <(echo "${R[$1,0]}" | tr ' ' '\n' | grep .) \
        | awk '{ printf "%.4f\n", $1 / $2 }' | median
}
if [ "${#BINS[@]}" -gt 1 ]; then
    echo "Median of per-round ratios to ${NAMES[0]}:"
    for i in "${!BINS[@]}"; do
        [ "$i" = 0 ] && continue
        printf '%-50s exec %s   run --rm %s\n' "${NAMES[$i]}" "$(ratios exec "$i")" "$(ratios run "$i")"
    done
fi
