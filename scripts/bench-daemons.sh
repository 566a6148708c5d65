# Sourced by the scripts that compare berth binaries side by side (bench-cpu.sh,
# bench-wall.sh): one private daemon per binary (own data root, socket, bridge, subnet), each
# with busybox loaded and a running container `bx`, and their removal on exit.
# The caller sets B (its scratch directory) and die(), and has cd'ed to the repository.
# bench_prepare TOOL...: refuses a left-over $B and missing tools, then removes everything at
#   exit (bench_cleanup) and makes $B.
# bench_bins NAME...: BINS and DARGS from the names (an entry BIN+ARG gives that daemon one
#   more argument, e.g. `target/release/berth+--seccomp-profile=unconfined`).
# bench_daemons BRIDGE_PREFIX SUBNET_BASE [RUN_ARGS...]: daemon i on bridge PREFIX-i,
#   10.216.(SUBNET_BASE+i).1/24, run from a fresh copy of binary i (and the berthd beside
#   it) in $B/bin$i; `bx` started with RUN_ARGS (e.g. --network none).
# cli I ARGS...: binary I as the CLI of daemon I.

# shellcheck source=scripts/firewall-cleanup.sh
. scripts/firewall-cleanup.sh

PIDS=()
bench_bins() {
    NAMES=("$@") BINS=() DARGS=()
    local n
    for n in "${NAMES[@]}"; do
        BINS+=("${n%%+*}")
        if [ "$n" = "${n#*+}" ]; then DARGS+=(""); else DARGS+=("${n#*+}"); fi
    done
    for n in "${BINS[@]}"; do [ -x "$n" ] || die "$n missing"; done
    [ "${#BINS[@]}" -le 9 ] || die "at most 9 binaries"
}

cli() { local i=$1; shift; BERTH_NO_AUTOSTART=1 "${BINS[$i]}" -H "unix://$B/d$i/sock" "$@"; }

bench_prepare() {
    local t
    [ -e "$B" ] && die "$B exists (another run, or a stale one: remove it first)"
    for t in "$@"; do command -v "$t" >/dev/null || die "$t missing: run scripts/install-deps.sh"; done
    trap bench_cleanup EXIT
    mkdir -p "$B"
}

bench_cleanup() {
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

bench_daemons() {
    local prefix=$1 base=$2 i
    shift 2
    bash scripts/make-busybox-image.sh "$B/busybox.tar" busybox:latest >/dev/null
    for i in "${!BINS[@]}"; do
        mkdir -p "$B/d$i" "$B/bin$i"
        # Every binary runs from a fresh copy: a file written minutes ago and one whose
        # page cache the kernel has since reclaimed in part (DAMON here) differ by up to 10%
        # in exec wall time, which would pass for a difference between the builds.
        cp "${BINS[$i]}" "$B/bin$i/"
        local sibling
        sibling="$(dirname "${BINS[$i]}")/berthd"
        [ -x "$sibling" ] && cp "$sibling" "$B/bin$i/"
        BINS[i]="$B/bin$i/$(basename "${BINS[$i]}")"
        # shellcheck disable=SC2086 # DARGS[i]: one optional argument, unquoted so an empty one vanishes
        BERTH_NO_AUTOSTART=1 "${BINS[$i]}" daemon ${DARGS[$i]} --data-root "$B/d$i/root" -H "unix://$B/d$i/sock" \
            --bridge "$prefix-$i" --bip "10.216.$((base + i)).1/24" >"$B/d$i/log" 2>&1 &
        PIDS[$i]=$!
        for _ in $(seq 1 300); do
            curl -fsS --max-time 2 --unix-socket "$B/d$i/sock" http://localhost/_ping >/dev/null 2>&1 && break
            sleep 0.1
        done
        cli "$i" load -i "$B/busybox.tar" >/dev/null || { tail -20 "$B/d$i/log" >&2; die "${BINS[$i]}: load failed"; }
        cli "$i" run -d --name bx "$@" busybox sleep 100000 >/dev/null || die "${BINS[$i]}: run -d failed"
    done
}
