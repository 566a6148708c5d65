#!/usr/bin/env bash
# Wall time of `exec <running> true` and `run --rm --network none true`, for two or more berth
# binaries side by side, each binary as its own daemon and its own CLI (as a user runs it).
# Unlike bench.sh, which times one engine's runs in one block, the operations are interleaved:
# every round runs each binary once, in a shuffled order. On this machine the speed drifts by
# more than 30% between blocks of a few seconds (the same binary, timed in two blocks), which
# swamps the few percent that separate two builds; interleaving puts each binary in the same
# conditions. Reports each binary's median and the median of its per-round ratios to the
# first binary (the figure to compare: it cancels the drift that medians alone still carry).
# Each binary gets its own private daemon (data root, socket, bridge, subnet).
# Env: BERTH_BINS (required: space-separated; an entry BIN+ARG gives that daemon one more
#      argument, as in bench-cpu.sh), BENCH_WALL_ROUNDS (300 exec rounds; run rounds are a
#      fifth of it).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
NAMES=(${BERTH_BINS:?BERTH_BINS: the binaries to compare})
BINS=() DARGS=()
for n in "${NAMES[@]}"; do
    BINS+=("${n%%+*}")
    if [ "$n" = "${n#*+}" ]; then DARGS+=(""); else DARGS+=("${n#*+}"); fi
done
ROUNDS="${BENCH_WALL_ROUNDS:-300}"
B=/tmp/berth-bench-wall
FIXTURE="$B/busybox.tar"

die() { echo "bench-wall: $*" >&2; exit 1; }
[ -e "$B" ] && die "$B exists (another run, or a stale one: remove it first)"
for t in python3 curl; do command -v "$t" >/dev/null || die "$t missing: run scripts/install-deps.sh"; done
for b in "${BINS[@]}"; do [ -x "$b" ] || die "$b missing"; done
[ "${#BINS[@]}" -ge 2 ] && [ "${#BINS[@]}" -le 9 ] || die "two to nine binaries"

PIDS=()
cli() { local i=$1; shift; BERTH_NO_AUTOSTART=1 "${BINS[$i]}" -H "unix://$B/d$i/sock" "$@"; }
# shellcheck source=scripts/firewall-cleanup.sh
. scripts/firewall-cleanup.sh
cleanup() {
    set +e
    for i in "${!BINS[@]}"; do
        cli "$i" rm -f bx >/dev/null 2>&1
        pid=${PIDS[$i]:-}
        if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid"
            for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -KILL "$pid" 2>/dev/null
        fi
        for f in "$B/d$i"/root/containers/*/shim.pid; do [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null; done
        remove_daemon_firewall "$B/d$i/root"
    done
    sleep 0.3
    awk -v b="$B/" 'index($5, b) == 1 { print length($5) " " $5 }' /proc/self/mountinfo \
        | sort -rn | cut -d' ' -f2- | while read -r m; do umount -l "$m" 2>/dev/null; done
    rm -rf "$B"
}
trap cleanup EXIT
mkdir -p "$B"
bash scripts/make-busybox-image.sh "$FIXTURE" busybox:latest >/dev/null

for i in "${!BINS[@]}"; do
    mkdir -p "$B/d$i"
    # Bridges bwall-N on 10.216.(30+N).1/24: not the host's docker0/berth0, nor the other
    # bench scripts' (bench.sh 10.216.1-3, bench-cpu.sh 10.216.10+N).
    # shellcheck disable=SC2086 # DARGS[i]: one optional argument, unquoted so an empty one vanishes
    BERTH_NO_AUTOSTART=1 "${BINS[$i]}" daemon ${DARGS[$i]} --data-root "$B/d$i/root" -H "unix://$B/d$i/sock" \
        --bridge "bwall-$i" --bip "10.216.$((30 + i)).1/24" >"$B/d$i/log" 2>&1 &
    PIDS[$i]=$!
    for _ in $(seq 1 300); do
        curl -fsS --max-time 2 --unix-socket "$B/d$i/sock" http://localhost/_ping >/dev/null 2>&1 && break
        sleep 0.1
    done
    cli "$i" load -i "$FIXTURE" >/dev/null || { tail -20 "$B/d$i/log" >&2; die "${BINS[$i]}: load failed"; }
    # On the default bridge, as bench.sh's exec container.
    cli "$i" run -d --name bx busybox sleep 100000 >/dev/null || die "${BINS[$i]}: run -d failed"
done

args=()
for i in "${!BINS[@]}"; do args+=("${NAMES[$i]}" "${BINS[$i]}" "unix://$B/d$i/sock"); done
python3 - "$ROUNDS" "${args[@]}" <<'EOF'
import os, random, statistics, sys, time

rounds = int(sys.argv[1])
rest = sys.argv[2:]
engines = [rest[i:i + 3] for i in range(0, len(rest), 3)]
env = dict(os.environ, BERTH_NO_AUTOSTART="1")
null = os.open("/dev/null", os.O_RDWR)

def timed(argv):
    t = time.perf_counter()
    pid = os.posix_spawn(argv[0], argv, env, file_actions=[(os.POSIX_SPAWN_DUP2, null, 1)])
    _, status = os.waitpid(pid, 0)
    if status != 0:
        sys.exit(f"bench-wall: {' '.join(argv)} failed ({status})")
    return (time.perf_counter() - t) * 1000

def measure(op, n):
    res = [[] for _ in engines]
    cmds = [[b, "-H", h] + op for _, b, h in engines]
    for c in cmds:
        for _ in range(5):
            timed(c)
    for _ in range(n):
        order = list(range(len(cmds)))
        random.shuffle(order)
        for i in order:
            res[i].append(timed(cmds[i]))
    return res

print(f"wall ms per operation, each binary its own daemon and CLI, rounds interleaved; load: {os.getloadavg()[0]:.2f}")
for label, op, n in (("exec <running> true", ["exec", "bx", "true"], rounds),
                     ("run --rm --network none true", ["run", "--rm", "--network", "none", "busybox", "true"], max(rounds // 5, 20))):
    res = measure(op, n)
    print(f"{label} ({n} rounds): median / p25 / median of per-round ratios to the first")
    for (name, _, _), r in zip(engines, res):
        ratio = statistics.median(a / b for a, b in zip(r, res[0]))
        print(f"  {name:50} {statistics.median(r):7.2f} {statistics.quantiles(r, n=4)[0]:7.2f}   {ratio:.3f}")
EOF
