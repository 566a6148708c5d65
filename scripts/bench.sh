#!/usr/bin/env bash
# berth vs a real dockerd, side by side in one run, same busybox image in both.
#   (a) `run --rm --network none busybox true`: median of BENCH_RUNS (>= 20) runs (hyperfine)
#   (b) 50 x `run -d --network none busybox sleep 300` from 4 parallel clients, then removal of
#       all: wall time (explicit `none` on both sides)
#   (c) idle daemon RSS (berth daemon vs dockerd + containerd), and per-container shim
#       memory (RssAnon, VmRSS) with 10 containers running
#   (d) `exec <running container> true`: median of BENCH_RUNS runs
#   (e) `stats --no-stream` over 20 running containers: median of BENCH_STATS_RUNS (5) runs
#   (f) sequential write throughput inside a container (dd of BENCH_IO_MB MiB, 256 by
#       default, conv=fsync: busybox has no fdatasync) on a named volume and on a bind mount, median of
#       BENCH_IO_RUNS (3) runs, beside the host's own dd into the same filesystem
#   (g) registry pull and push of a ~200 MB multi-layer image against private docker-registry
#       instances: median of BENCH_REG_RUNS (5) runs (scripts/bench-registry.sh)
#   (h) TCP throughput through a port published on 127.0.0.1 (scripts/bench-ports.sh)
#   (i) `run --rm busybox true` on the default bridge network: median of BENCH_RUNS runs;
#       berth's own bridge bench-berth0 (10.216.1.1/24), and for docker a second private
#       dockerd on a bridge bench-dock0 (10.216.2.1/24) made here (iptables off, as the first)
# Figures are reported, not asserted: the script fails only when setup fails. The table has
# rows only for the sections run (BENCH_SECTIONS): with "run exec" it is 4 rows, run --rm
# first. (It used to print every row, a dozen of them empty "-" then, so a short `tail`
# of the output could show exec and RSS without the run rows above them.)
# Env: BERTH_BIN (default target/release/berth), BENCH_RUNS (default 30),
#      BENCH_ENGINES (default "berth docker"; e.g. "docker" to measure one side only),
#      BENCH_SECTIONS (default "run bulk mem exec stats io registry ports bridge"; e.g. "io"
#      for (f) alone).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
BERTH="${BERTH_BIN:-$ROOT/target/release/berth}"
RUNS="${BENCH_RUNS:-30}"
ENGINES="${BENCH_ENGINES:-berth docker}"
SECTIONS="${BENCH_SECTIONS:-run bulk mem exec stats io registry ports bridge}"
B=/tmp/berth-bench
FIXTURE="$B/busybox.tar"

die() { echo "bench: $*" >&2; exit 1; }
has() { [[ " $ENGINES " == *" $1 "* ]]; }
want() { [[ " $SECTIONS " == *" $1 "* ]]; }

[ -e "$B" ] && die "$B exists (another bench running, or a stale run: remove it first)"
for t in hyperfine jq docker dockerd python3; do command -v "$t" >/dev/null || die "$t missing: run scripts/install-deps.sh"; done
has berth && { [ -x "$BERTH" ] || die "$BERTH missing: cargo build --release -p berth"; }

DOCKERD_PID=""
BERTHD_PID=""
DOCKERD_BR_PID=""
# The default bridges of the benchmarked daemons: never docker0/berth0 of the host's own.
BERTH_BRIDGE=bench-berth0
BERTH_BIP=10.216.1.1/24
DOCKER_BRIDGE=bench-dock0
DOCKER_BIP=10.216.2.1/24
# The first dockerd's bridge (made here): a dockerd without a bridge of its own deletes the
# host's docker0, so each benchmarked dockerd gets one.
DOCKER_MAIN_BRIDGE=bench-dock1
DOCKER_MAIN_BIP=10.216.3.1/24

cli() { # cli ENGINE ARGS...
    local e=$1; shift
    case $e in
        berth) BERTH_NO_AUTOSTART=1 "$BERTH" -H "unix://$B/berth.sock" "$@" ;;
        docker) DOCKER_CONFIG="$B/docker-config" docker -H "unix://$B/docker.sock" "$@" ;;
    esac
}

stop_pid() { # SIGTERM, wait up to 20 s, then SIGKILL; only our own pids
    local pid=$1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 200); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
}

cleanup() {
    set +e
    for e in $ENGINES; do
        ids=$(cli "$e" ps -aq 2>/dev/null)
        [ -n "$ids" ] && cli "$e" rm -f $ids >/dev/null 2>&1
    done
    declare -F bench_registry_cleanup >/dev/null && bench_registry_cleanup
    stop_pid "$BERTHD_PID"
    stop_pid "$DOCKERD_PID"
    stop_pid "$DOCKERD_BR_PID"
    # berth's daemon removes its bridge at shutdown; this script made docker's.
    ip link show "$DOCKER_BRIDGE" >/dev/null 2>&1 && ip link del "$DOCKER_BRIDGE"
    ip link show "$DOCKER_MAIN_BRIDGE" >/dev/null 2>&1 && ip link del "$DOCKER_MAIN_BRIDGE"
    # Shims that outlived their daemon (berth: shim.pid; docker: containerd-shim for our socket).
    for f in "$B"/berth/root/containers/*/shim.pid; do
        [ -f "$f" ] && kill -KILL "$(cat "$f")" 2>/dev/null
    done
    for p in $(pgrep -f "containerd-shim-runc-v2 .*-address $B/" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
    sleep 0.3
    # Unmount everything under $B, deepest first, lazily.
    awk -v b="$B/" 'index($5, b) == 1 { print length($5) " " $5 }' /proc/self/mountinfo \
        | sort -rn | cut -d' ' -f2- | while read -r m; do umount -l "$m" 2>/dev/null; done
    rm -rf "$B"
}
trap cleanup EXIT
mkdir -p "$B/docker-config"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ping_ok() { curl -fsS --max-time 2 --unix-socket "$1" http://localhost/_ping >/dev/null 2>&1; }
wait_sock() {
    for _ in $(seq 1 300); do ping_ok "$1" && return 0; sleep 0.1; done
    return 1
}

echo "==> fixture"
bash scripts/make-busybox-image.sh "$FIXTURE" busybox:latest >/dev/null

if has docker; then
    echo "==> starting private dockerd ($B/docker)"
    mkdir -p "$B/docker"
    ip link add "$DOCKER_MAIN_BRIDGE" type bridge && ip addr add "$DOCKER_MAIN_BIP" dev "$DOCKER_MAIN_BRIDGE" \
        && ip link set "$DOCKER_MAIN_BRIDGE" up || die "cannot create $DOCKER_MAIN_BRIDGE"
    dockerd --data-root "$B/docker/root" --exec-root "$B/docker/exec" --pidfile "$B/docker/pid" \
        -H "unix://$B/docker.sock" --bridge="$DOCKER_MAIN_BRIDGE" --iptables=false --ip6tables=false \
        >"$B/docker/log" 2>&1 &
    DOCKERD_PID=$!
    wait_sock "$B/docker.sock" || { tail -20 "$B/docker/log" >&2; die "dockerd did not start"; }
fi
if has berth; then
    echo "==> starting private berth daemon ($B/berth)"
    mkdir -p "$B/berth"
    BERTH_NO_AUTOSTART=1 "$BERTH" daemon --data-root "$B/berth/root" -H "unix://$B/berth.sock" \
        --bridge "$BERTH_BRIDGE" --bip "$BERTH_BIP" >"$B/berth/log" 2>&1 &
    BERTHD_PID=$!
    wait_sock "$B/berth.sock" || { tail -20 "$B/berth/log" >&2; die "berth daemon did not start"; }
fi
for e in $ENGINES; do
    cli "$e" load -i "$FIXTURE" >/dev/null || die "$e: load failed"
    out=$(cli "$e" run --rm --network none busybox echo ok) && [ "$out" = ok ] || die "$e: run failed"
done

declare -A RUN_MED RUN_MIN BULK_RUN BULK_RM IDLE_RSS SHIM_ANON SHIM_RSS SHIM_N

kib() { awk -v k="$1" '/^'"$1"':/ { print $2 }' "/proc/$2/status" 2>/dev/null || echo 0; }

# (c, first half) idle daemon memory, before any benchmark load.
sleep 2
if has berth; then IDLE_RSS[berth]=$(kib VmRSS "$BERTHD_PID"); fi
if has docker; then
    d=$(kib VmRSS "$DOCKERD_PID")
    c=0
    for p in $(pgrep -P "$DOCKERD_PID" containerd || true); do c=$((c + $(kib VmRSS "$p"))); done
    IDLE_RSS[docker]=$((d + c))
fi

want run && echo "==> (a) run --rm --network none busybox true, $RUNS runs each"
want run && for e in $ENGINES; do
    if [ "$e" = berth ]; then
        cmd="env BERTH_NO_AUTOSTART=1 $BERTH -H unix://$B/berth.sock run --rm --network none busybox true"
    else
        cmd="env DOCKER_CONFIG=$B/docker-config docker -H unix://$B/docker.sock run --rm --network none busybox true"
    fi
    hyperfine -N --style basic --warmup 3 --runs "$RUNS" --export-json "$B/run-$e.json" "$cmd" >/dev/null
    RUN_MED[$e]=$(jq '.results[0].median * 1000' "$B/run-$e.json")
    RUN_MIN[$e]=$(jq '.results[0].min * 1000' "$B/run-$e.json")
done

now() { date +%s.%N; }
want bulk && echo "==> (b) 50 x run -d --network none busybox sleep 300 from 4 parallel clients, then rm -f all"
want bulk && for e in $ENGINES; do
    export -f cli; export B BERTH
    t0=$(now)
    seq 50 | xargs -P4 -I{} bash -c "cli $e run -d --network none busybox sleep 300 >/dev/null" \
        || die "$e: parallel run -d failed"
    t1=$(now)
    n=$(cli "$e" ps -q | wc -l)
    [ "$n" -ge 50 ] || die "$e: only $n containers running"
    cli "$e" ps -aq | xargs -P4 -n13 bash -c "cli $e rm -f \"\$@\" >/dev/null" _ \
        || die "$e: parallel rm -f failed"
    t2=$(now)
    BULK_RUN[$e]=$(awk "BEGIN{print ($t1-$t0)*1000}")
    BULK_RM[$e]=$(awk "BEGIN{print ($t2-$t1)*1000}")
done

want mem && echo "==> (c) shim memory with 10 containers running"
want mem && for e in $ENGINES; do
    for _ in $(seq 10); do cli "$e" run -d busybox sleep 300 >/dev/null || die "$e: run -d failed"; done
    sleep 2
    pids=""
    if [ "$e" = berth ]; then
        pids=$(awk 1 "$B"/berth/root/containers/*/shim.pid 2>/dev/null || true)  # files have no newline
    else
        pids=$(pgrep -f "containerd-shim-runc-v2 .*-address $B/" || true)
    fi
    anon=0; rss=0; n=0
    for p in $pids; do
        anon=$((anon + $(kib RssAnon "$p"))); rss=$((rss + $(kib VmRSS "$p"))); n=$((n + 1))
    done
    SHIM_N[$e]=$n
    if [ "$n" -gt 0 ]; then
        SHIM_ANON[$e]=$((anon / n)); SHIM_RSS[$e]=$((rss / n))
    else
        SHIM_ANON[$e]=0; SHIM_RSS[$e]=0
    fi
    ids=$(cli "$e" ps -aq); [ -n "$ids" ] && cli "$e" rm -f $ids >/dev/null
done

declare -A EXEC_MED STATS_MED
want exec && echo "==> (d) exec <running container> true, $RUNS runs each"
want exec && for e in $ENGINES; do
    cli "$e" run -d --name bench-exec busybox sleep 300 >/dev/null || die "$e: run -d failed"
    if [ "$e" = berth ]; then
        cmd="env BERTH_NO_AUTOSTART=1 $BERTH -H unix://$B/berth.sock exec bench-exec true"
    else
        cmd="env DOCKER_CONFIG=$B/docker-config docker -H unix://$B/docker.sock exec bench-exec true"
    fi
    hyperfine -N --style basic --warmup 3 --runs "$RUNS" --export-json "$B/exec-$e.json" "$cmd" >/dev/null
    EXEC_MED[$e]=$(jq '.results[0].median * 1000' "$B/exec-$e.json")
    cli "$e" rm -f bench-exec >/dev/null
done

STATS_RUNS="${BENCH_STATS_RUNS:-5}"
want stats && echo "==> (e) stats --no-stream over 20 running containers, $STATS_RUNS runs each"
want stats && for e in $ENGINES; do
    for _ in $(seq 20); do cli "$e" run -d busybox sleep 300 >/dev/null || die "$e: run -d failed"; done
    if [ "$e" = berth ]; then
        cmd="env BERTH_NO_AUTOSTART=1 $BERTH -H unix://$B/berth.sock stats --no-stream"
    else
        cmd="env DOCKER_CONFIG=$B/docker-config docker -H unix://$B/docker.sock stats --no-stream"
    fi
    n=$($cmd | tail -n +2 | wc -l)
    [ "$n" -eq 20 ] || die "$e: stats listed $n containers, not 20"
    hyperfine -N --style basic --warmup 1 --runs "$STATS_RUNS" --export-json "$B/stats-$e.json" "$cmd" >/dev/null
    STATS_MED[$e]=$(jq '.results[0].median * 1000' "$B/stats-$e.json")
    ids=$(cli "$e" ps -aq); [ -n "$ids" ] && cli "$e" rm -f $ids >/dev/null
done

declare -A IO_VOL IO_BIND
IO_MB="${BENCH_IO_MB:-256}"
IO_RUNS="${BENCH_IO_RUNS:-3}"
median() { sort -n | awk '{ v[NR] = $1 } END { if (NR) print v[int((NR + 1) / 2)] }'; }
# busybox's dd has neither conv=fdatasync nor a summary line: the write is timed from the
# host around `exec C dd ... conv=fsync`, less the median of `exec C true` (the exec's own
# cost), and the host's figure uses the same dd flags and the same clock. Each run writes a
# new file; they are deleted after the series, then a pause lets the filesystem's discard
# of the freed blocks finish before the next series (it slowed the next writes otherwise).
settle() { sync; sleep 3; }
timed() { local t0 t1; t0=$(now); "$@" >/dev/null 2>&1 || return 1; t1=$(now); awk "BEGIN{print $t1-$t0}"; }
mibs() { awk -v mb="$IO_MB" -v t="$1" -v o="${2:-0}" 'BEGIN { if (t - o > 0) printf "%.1f", mb / (t - o) }'; }
HOST_IO=""
if want io; then
    echo "==> (f) sequential write, dd $IO_MB MiB conv=fsync, $IO_RUNS runs each"
    mkdir -p "$B/host-io"
    settle
    HOST_IO=$(for i in $(seq "$IO_RUNS"); do
        mibs "$(timed dd if=/dev/zero of="$B/host-io/f$i" bs=1M count="$IO_MB" conv=fsync)"; echo
    done | median)
    rm -f "$B"/host-io/f*; settle
    for e in $ENGINES; do
        cli "$e" volume create bench-io >/dev/null || die "$e: volume create failed"
        mkdir -p "$B/bind-$e"
        for kind in vol bind; do
            if [ $kind = vol ]; then src=bench-io; else src="$B/bind-$e"; fi
            cli "$e" run -d --name bench-io --network none -v "$src:/io" busybox sleep 600 >/dev/null \
                || die "$e: run -d failed"
            over=$(for _ in $(seq 5); do timed cli "$e" exec bench-io true; echo; done | median)
            m=$(for i in $(seq "$IO_RUNS"); do
                t=$(timed cli "$e" exec bench-io dd if=/dev/zero of="/io/f$i" bs=1M count="$IO_MB" conv=fsync) \
                    || die "$e: dd in the container failed"
                mibs "$t" "$over"; echo
            done | median)
            cli "$e" exec bench-io sh -c "rm -f /io/f*"
            cli "$e" rm -f bench-io >/dev/null
            settle
            if [ $kind = vol ]; then IO_VOL[$e]=$m; else IO_BIND[$e]=$m; fi
        done
        cli "$e" volume rm bench-io >/dev/null
    done
fi

want registry && source "$ROOT/scripts/bench-registry.sh"
want ports && source "$ROOT/scripts/bench-ports.sh"

declare -A BR_MED BR_MIN
want bridge && echo "==> (i) run --rm busybox true on the default bridge, $RUNS runs each"
want bridge && for e in $ENGINES; do
    if [ "$e" = berth ]; then
        sock="$B/berth.sock"; subnet=${BERTH_BIP%.*}.
        cmd="env BERTH_NO_AUTOSTART=1 $BERTH -H unix://$sock run --rm busybox true"
        on=$(cli berth run --rm busybox ip -o -4 addr show eth0) || die "berth: run on the bridge failed"
    else
        ip link add "$DOCKER_BRIDGE" type bridge && ip addr add "$DOCKER_BIP" dev "$DOCKER_BRIDGE" \
            && ip link set "$DOCKER_BRIDGE" up || die "cannot create $DOCKER_BRIDGE"
        mkdir -p "$B/docker-br"
        dockerd --data-root "$B/docker-br/root" --exec-root "$B/docker-br/exec" \
            --pidfile "$B/docker-br/pid" -H "unix://$B/docker-br.sock" --bridge="$DOCKER_BRIDGE" \
            --iptables=false --ip6tables=false >"$B/docker-br/log" 2>&1 &
        DOCKERD_BR_PID=$!
        wait_sock "$B/docker-br.sock" || { tail -20 "$B/docker-br/log" >&2; die "bridge dockerd did not start"; }
        sock="$B/docker-br.sock"; subnet=${DOCKER_BIP%.*}.
        dk() { DOCKER_CONFIG="$B/docker-config" docker -H "unix://$sock" "$@"; }
        dk load -i "$FIXTURE" >/dev/null || die "docker (bridge): load failed"
        cmd="env DOCKER_CONFIG=$B/docker-config docker -H unix://$sock run --rm busybox true"
        on=$(dk run --rm busybox ip -o -4 addr show eth0) || die "docker: run on the bridge failed"
    fi
    [[ "$on" == *"inet $subnet"* ]] || die "$e: the container is not on the bridge: $on"
    hyperfine -N --style basic --warmup 3 --runs "$RUNS" --export-json "$B/bridge-$e.json" "$cmd" >/dev/null
    BR_MED[$e]=$(jq '.results[0].median * 1000' "$B/bridge-$e.json")
    BR_MIN[$e]=$(jq '.results[0].min * 1000' "$B/bridge-$e.json")
done
if [ -n "$DOCKERD_BR_PID" ]; then
    stop_pid "$DOCKERD_BR_PID"; DOCKERD_BR_PID=""
    ip link del "$DOCKER_BRIDGE" 2>/dev/null || true
fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.1fx", a / b; else print "-" }'; }
val() { local -n arr=$1; echo "${arr[$2]:-}"; }
row() { # label unit array; a measure of a section not run (no value either side) prints nothing
    local label=$1 unit=$2 arr=$3 bv dv
    bv=$(val "$arr" berth); dv=$(val "$arr" docker)
    [ -n "$bv$dv" ] || return 0
    printf '%-44s %14s %14s %10s\n' "$label" \
        "$( [ -n "$bv" ] && printf '%.1f %s' "$bv" "$unit" || echo -)" \
        "$( [ -n "$dv" ] && printf '%.1f %s' "$dv" "$unit" || echo -)" \
        "$( [ -n "$bv" ] && [ -n "$dv" ] && ratio "$dv" "$bv" || echo -)"
}
to_mib() { local -n src=$1 dst=$2; for k in "${!src[@]}"; do dst[$k]=$(awk -v v="${src[$k]}" 'BEGIN{print v/1024}'); done; }
declare -A IDLE_MIB SHIM_ANON_MIB SHIM_RSS_MIB
to_mib IDLE_RSS IDLE_MIB; to_mib SHIM_ANON SHIM_ANON_MIB; to_mib SHIM_RSS SHIM_RSS_MIB

echo
echo "berth vs dockerd ($(nproc) cores, $(uname -r)); ratio = docker / berth"
printf '%-44s %14s %14s %10s\n' "measure" "berth" "dockerd" "ratio"
printf '%-44s %14s %14s %10s\n' "-------" "-----" "-------" "-----"
row "run --rm --network none true (median)" ms RUN_MED
row "run --rm --network none true (min)" ms RUN_MIN
row "50 x run -d, 4 parallel clients" ms BULK_RUN
row "rm -f of the 50, 4 parallel clients" ms BULK_RM
row "run --rm true, default bridge (median)" ms BR_MED
row "run --rm true, default bridge (min)" ms BR_MIN
row "exec <running> true (median)" ms EXEC_MED
row "stats --no-stream, 20 containers (median)" ms STATS_MED
row "idle daemon RSS (dockerd+containerd)" MiB IDLE_MIB
row "per-container shim RssAnon (10 running)" KiB SHIM_ANON
row "per-container shim VmRSS (10 running)" KiB SHIM_RSS
if want mem; then echo "shims counted: berth=${SHIM_N[berth]:--} docker=${SHIM_N[docker]:--}"; fi
if want io; then
    pct() { awk -v a="$1" -v h="$HOST_IO" 'BEGIN { if (a != "" && h > 0) printf "%.0f%%", a * 100 / h; else print "-" }'; }
    echo
    echo "sequential write, dd ${IO_MB} MiB conv=fsync (median of $IO_RUNS); % = of the host's dd"
    printf '%-44s %14s %14s\n' "measure" "berth" "dockerd"
    printf '%-44s %14s %14s\n' "host dd into the same filesystem" "$HOST_IO MiB/s" ""
    for kind in vol bind; do
        if [ $kind = vol ]; then label="named volume"; bv=${IO_VOL[berth]:-}; dv=${IO_VOL[docker]:-}
        else label="bind mount"; bv=${IO_BIND[berth]:-}; dv=${IO_BIND[docker]:-}; fi
        printf '%-44s %14s %14s\n' "$label (MiB/s)" "${bv:--} $(pct "$bv")" "${dv:--} $(pct "$dv")"
    done
fi
if want registry; then
    row "registry pull, ~200 MB, 7 layers (median)" ms REG_PULL
    row "registry push to an empty registry (median)" ms REG_PUSH
    row "first push of the loaded image (gzip, 1 run)" ms REG_PUSH_PLAIN
fi
if want ports; then
    bv=${PORT_TPUT[berth]:-}; dv=${PORT_TPUT[docker]:-}
    echo
    echo "TCP through -p 127.0.0.1:PORT (median of $PORT_RUNS x $PORT_MB MiB); ratio = berth / docker"
    printf '%-44s %14s %14s %10s\n' "published-port throughput (MiB/s)" "${bv:--}" "${dv:--}" \
        "$( [ -n "$bv" ] && [ -n "$dv" ] && ratio "$bv" "$dv" || echo -)"
    bv=${PORT_TPUT6[berth]:-}; dv=${PORT_TPUT6[docker]:-}
    printf '%-44s %14s %14s %10s\n' "same over [::1] (userland proxies, MiB/s)" "${bv:--}" "${dv:--}" \
        "$( [ -n "$bv" ] && [ -n "$dv" ] && ratio "$bv" "$dv" || echo -)"
fi
