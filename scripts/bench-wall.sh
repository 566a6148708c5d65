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
ROUNDS="${BENCH_WALL_ROUNDS:-300}"
B=/tmp/berth-bench-wall

die() { echo "bench-wall: $*" >&2; exit 1; }
# shellcheck source=scripts/bench-daemons.sh
. scripts/bench-daemons.sh
# shellcheck disable=SC2086 # a space-separated list of binaries
bench_bins ${BERTH_BINS:?BERTH_BINS: the binaries to compare}
[ "${#BINS[@]}" -ge 2 ] || die "two binaries at least"
bench_prepare python3 curl
# Bridges bwall-N on 10.216.(30+N).1/24: not the host's docker0/berth0, nor the other bench
# scripts' (bench.sh 10.216.1-3, bench-cpu.sh 10.216.10+N). `bx` on the default bridge, as
# bench.sh's exec container.
bench_daemons bwall 30

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
