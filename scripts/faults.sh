#!/usr/bin/env bash
# faults.sh: berth under faults and load (figures, not promises). Sections
# (FAULTS_SECTIONS, default "restart disk powercut"; "leftover" runs
# scripts/leftover-check.sh with LEFTOVER_RUNS, default 10000):
#   restart   200 containers (logging counters; restart policies no/always/on-failure/
#             unless-stopped whose processes exit while the daemon is down), kill -9 of the
#             daemon, restart: time until the API answers and until every container is
#             reconnected; none lost, every log gapless, every restart policy honoured.
#   disk      the data root on a small loop-mounted ext4 that fills up: every failing
#             operation answers a clear error, nothing stored is corrupted, and the daemon
#             works again once space is freed.
#   powercut  creates on a loop-mounted data root, then a "power cut": the daemon killed
#             and the filesystem image copied as the disk holds it (what was not written
#             back is lost), mounted after a journal replay: every container reported
#             created must be there and readable.
# Every daemon has its own data root, socket, bridge and subnet; everything is removed on
# exit. Exits non-zero when a check fails. Env: BERTH_BIN, BERTH_BUSYBOX_TAR, FAULTS_N (200).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
BERTH="${BERTH_BIN:-$ROOT/target/release/berth}"
SECTIONS="${FAULTS_SECTIONS:-restart disk powercut}"
N="${FAULTS_N:-200}"
B=/tmp/berth-faults
BRIDGE=bt-faults
BIP=10.216.8.1/24
POOL=10.216.9.0/24
die() { echo "faults: $*" >&2; exit 1; }
[ -e "$B" ] && die "$B exists (another run, or a stale one: remove it first)"
[ -x "$BERTH" ] || die "$BERTH missing: cargo build --release -p berth"
mkdir -p "$B"
FIXTURE="${BERTH_BUSYBOX_TAR:-$ROOT/target/fixtures/busybox.tar}"
[ -f "$FIXTURE" ] || bash scripts/make-busybox-image.sh "$FIXTURE" busybox:latest >/dev/null

PID="" LOOPS=() FAILS=0
fail() { echo "FAIL: $*"; FAILS=$((FAILS + 1)); }
pass() { echo "ok: $*"; }
b() { BERTH_NO_AUTOSTART=1 "$BERTH" -H "unix://$B/s.sock" "$@"; }

start_daemon() { # DATA_ROOT
    BERTH_NO_AUTOSTART=1 "$BERTH" daemon --data-root "$1" -H "unix://$B/s.sock" \
        --bridge "$BRIDGE" --bip "$BIP" --default-address-pool "base=$POOL,size=26" \
        >>"$B/daemon.log" 2>&1 &
    PID=$!
    for _ in $(seq 400); do b version >/dev/null 2>&1 && return 0; sleep 0.05; done
    tail -20 "$B/daemon.log" >&2
    die "daemon did not come up"
}
stop_daemon() {
    [ -n "$PID" ] || return 0
    kill -TERM "$PID" 2>/dev/null || true
    for _ in $(seq 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$PID" 2>/dev/null || true
    wait "$PID" 2>/dev/null || true
    PID=""
}
kill_containers() { # DATA_ROOT: shims and container processes of that data root
    local root=$1 id p
    for d in "$root"/containers/*/; do
        [ -d "$d" ] || continue
        id=$(basename "$d")
        p=$(cat "$d/shim.pid" 2>/dev/null || true)
        if [ -n "$p" ] && tr '\0' ' ' </proc/"$p"/cmdline 2>/dev/null | grep -q "$id"; then
            kill -KILL "$p" 2>/dev/null || true
        fi
        for cg in /sys/fs/cgroup/berth/"$id" /sys/fs/cgroup/*/berth/"$id" /sys/fs/cgroup/system.slice/berth-"$id".scope; do
            [ -f "$cg/cgroup.procs" ] || continue
            while read -r q; do kill -KILL "$q" 2>/dev/null || true; done <"$cg/cgroup.procs"
        done
    done
    sleep 0.5
    for d in "$root"/containers/*/; do
        id=$(basename "$d")
        for cg in /sys/fs/cgroup/berth/"$id" /sys/fs/cgroup/*/berth/"$id" /sys/fs/cgroup/system.slice/berth-"$id".scope; do
            [ -d "$cg" ] && rmdir "$cg" 2>/dev/null || true
        done
    done
}
unmount_under() {
    awk -v b="$1/" 'index($5, b) == 1 { print length($5) " " $5 }' /proc/self/mountinfo \
        | sort -rn | cut -d' ' -f2- | while read -r m; do umount -l "$m" 2>/dev/null || true; done
}
# shellcheck source=scripts/firewall-cleanup.sh
. scripts/firewall-cleanup.sh
cleanup() {
    set +e
    stop_daemon
    for r in "$B"/root*; do [ -d "$r" ] && kill_containers "$r"; done
    for m in "$B"/mnt*; do [ -d "$m" ] && kill_containers "$m/data"; done
    unmount_under "$B"
    for r in "$B"/root* "$B"/mnt*/data; do [ -d "$r" ] && remove_daemon_firewall "$r"; done
    for l in "${LOOPS[@]}"; do losetup -d "$l" 2>/dev/null; done
    ip link del "$BRIDGE" 2>/dev/null
    rm -rf "$B"
}
trap cleanup EXIT

ms_since() { awk -v a="$1" -v b="$(date +%s.%N)" 'BEGIN { printf "%.0f", (b - a) * 1000 }'; }

section_restart() {
    echo "== restart: $N containers, kill -9 of the daemon, restart"
    local root="$B/root" i
    start_daemon "$root"
    b load -i "$FIXTURE" >/dev/null
    local n_always=$((N / 10)) n_onfail=$((N / 10)) n_unless=$((N / 20))
    local n_plain=$((N - n_always - n_onfail - n_unless))
    # Counters: one line a second, numbered, so a gap in the log shows.
    for i in $(seq "$n_plain"); do
        b run -d --name "c$i" --network none busybox \
            sh -c 'i=0; while :; do echo "line $i"; i=$((i+1)); sleep 1; done' >/dev/null
    done
    # These exit while the daemon is down; the restarted daemon must apply their policy.
    for i in $(seq "$n_always"); do
        b run -d --name "always$i" --network none --restart always busybox sh -c 'sleep 6; exit 3' >/dev/null
    done
    for i in $(seq "$n_onfail"); do
        b run -d --name "onfail$i" --network none --restart on-failure:5 busybox sh -c 'sleep 6; exit 1' >/dev/null
    done
    for i in $(seq "$n_unless"); do
        b run -d --name "unless$i" --network none --restart unless-stopped busybox sh -c 'sleep 6; exit 0' >/dev/null
    done
    local running; running=$(b ps -q | wc -l)
    [ "$running" -eq "$N" ] || fail "$running of $N containers running before the kill"
    local policy c; policy=$(seq "$n_always" | sed 's/^/always/'; seq "$n_onfail" | sed 's/^/onfail/'; seq "$n_unless" | sed 's/^/unless/')
    declare -A before=()
    for c in $policy; do before[$c]=$(b inspect -f '{{.RestartCount}}' "$c"); done
    kill -KILL "$PID"; wait "$PID" 2>/dev/null || true; PID=""
    echo "daemon killed with $running containers running; waiting 9 s (the policy containers exit meanwhile)"
    sleep 9
    local t0; t0=$(date +%s.%N)
    BERTH_NO_AUTOSTART=1 "$BERTH" daemon --data-root "$root" -H "unix://$B/s.sock" \
        --bridge "$BRIDGE" --bip "$BIP" --default-address-pool "base=$POOL,size=26" \
        >>"$B/daemon.log" 2>&1 &
    PID=$!
    until b version >/dev/null 2>&1; do sleep 0.005; done
    local t_api; t_api=$(ms_since "$t0")
    local want=$((n_plain + n_always + n_onfail + n_unless))
    until [ "$(b ps -q | wc -l)" -ge "$want" ]; do
        [ "$(ms_since "$t0")" -lt 60000 ] || break
        sleep 0.02
    done
    local t_all; t_all=$(ms_since "$t0")
    echo "daemon start with $N containers: API answering after ${t_api} ms, all $want running again after ${t_all} ms"
    [ "$t_api" -lt 1000 ] && pass "API up in under 1 s" || fail "API took ${t_api} ms (target: under 1 s)"
    local total; total=$(b ps -aq | wc -l)
    [ "$total" -eq "$N" ] && pass "no container lost ($total)" || fail "$total of $N containers after the restart"
    # Restarted by their policy since the kill: RestartCount grew (not Running: they exit
    # again every 6 s and a slow check can catch one in its back-off).
    local bad=0
    for c in $policy; do
        [ "$(b inspect -f '{{.RestartCount}}' "$c")" -gt "${before[$c]}" ] || bad=$((bad + 1))
    done
    [ "$bad" -eq 0 ] && pass "restart policies honoured (always, on-failure, unless-stopped restarted)" \
        || fail "$bad restart-policy containers not restarted"
    local lost=0 gaps=0 n
    for i in $(seq "$n_plain"); do
        [ "$(b inspect -f '{{.State.Running}}' "c$i" 2>/dev/null)" = true ] || lost=$((lost + 1))
        # The log: "line 0" .. "line k" without a gap, also across the daemon's downtime.
        n=$(b logs "c$i" 2>/dev/null | awk '$1 == "line" { if ($2 != NR - 1) bad = 1; last = $2 } END { print (bad ? "gap" : last) }')
        case "$n" in gap|"") gaps=$((gaps + 1)) ;; *) [ "$n" -ge 12 ] || gaps=$((gaps + 1)) ;; esac
    done
    [ "$lost" -eq 0 ] && pass "every counter container still running" || fail "$lost counter containers not running"
    [ "$gaps" -eq 0 ] && pass "every log gapless, written through the downtime" || fail "$gaps logs with a gap or too short"
    b rm -f $(b ps -aq) >/dev/null 2>&1 || true
    stop_daemon
}

# mkfs_loop SIZE_MB NAME: an ext4 image mounted at $B/NAME; sets LOOPDEV.
mkfs_loop() {
    local img="$B/$2.img" mnt="$B/$2"
    truncate -s "$1M" "$img"
    mkfs.ext4 -q -F "$img"
    mkdir -p "$mnt"
    LOOPDEV=$(losetup -f --show "$img")
    LOOPS+=("$LOOPDEV")
    mount "$LOOPDEV" "$mnt"
}

section_disk() {
    echo "== disk: the data root on a 160 MiB filesystem that fills up"
    mkfs_loop 160 mnt-disk
    local root="$B/mnt-disk/data"
    start_daemon "$root"
    b load -i "$FIXTURE" >/dev/null
    b run -d --name keep --network none busybox sleep 100000 >/dev/null
    b volume create vol >/dev/null
    # Fill the filesystem from the host side (the container's upper dir is on it too).
    dd if=/dev/zero of="$B/mnt-disk/filler" bs=1M count=400 status=none 2>/dev/null || true
    # ext4 refuses a large write while blocks remain (its delayed allocation reserves for the
    # worst case): small files take the rest, so that the disk is really full.
    mkdir -p "$B/mnt-disk/fill"
    local i
    for i in $(seq 1 20000); do
        head -c 4096 /dev/zero >"$B/mnt-disk/fill/$i" 2>/dev/null || break
    done
    sync
    local out
    check_err() { # NAME CMD...: must fail with a clear message naming the lack of space
        local name=$1; shift
        if out=$("$@" 2>&1); then
            fail "$name succeeded on a full disk"
        elif echo "$out" | grep -qi "no space left on device"; then
            pass "$name: $(echo "$out" | tail -1 | cut -c1-140)"
        else
            fail "$name failed without naming the full disk: $(echo "$out" | tail -2 | tr '\n' ' ' | cut -c1-200)"
        fi
    }
    check_err "create" b create --name full1 busybox true
    check_err "load" b load -i "$FIXTURE"
    check_err "tag+commit" b commit keep committed:full
    check_err "volume create" b volume create vol2
    check_err "cp into a container" b cp "$FIXTURE" keep:/big.tar
    # Nothing stored is corrupted: every record still reads, the daemon restarts on it.
    stop_daemon
    start_daemon "$root"
    b inspect keep >/dev/null && pass "records readable after failures and a restart" || fail "inspect keep after restart"
    b image inspect busybox >/dev/null && pass "image intact" || fail "busybox image unreadable"
    b volume inspect vol >/dev/null && pass "volume record intact" || fail "volume record unreadable"
    [ "$(b ps -aq | wc -l)" -eq 1 ] && pass "no half-created container left" || fail "containers after failed creates: $(b ps -a --format '{{.Names}}' | tr '\n' ' ')"
    # Space freed: everything works again.
    rm -rf "$B/mnt-disk/filler" "$B/mnt-disk/fill"
    sync
    b run --rm --network none busybox echo works >/dev/null && pass "run works again once space is freed" || fail "run after freeing space"
    b create --name after busybox true >/dev/null && pass "create works again" || fail "create after freeing space"
    b volume create vol3 >/dev/null && pass "volume create works again" || fail "volume create after freeing space"
    b rm -f keep after >/dev/null 2>&1 || true
    stop_daemon
}

section_powercut() {
    echo "== powercut: creates, then the disk image as written so far"
    mkfs_loop 300 mnt-pc
    local root="$B/mnt-pc/data"
    start_daemon "$root"
    b load -i "$FIXTURE" >/dev/null
    sync
    local ids=() i id
    for i in $(seq 60); do
        id=$(b create --network none busybox true) && ids+=("$id")
    done
    # The cut: no clean shutdown, and the image is taken as the disk holds it now: what
    # the kernel has not written back (anything not fsynced; writeback waits ~30 s) is
    # lost, as in a power failure.
    kill -KILL "$PID"; wait "$PID" 2>/dev/null || true; PID=""
    cp --sparse=always "$B/mnt-pc.img" "$B/cut.img"
    kill_containers "$root"
    unmount_under "$B/mnt-pc"
    umount "$B/mnt-pc" 2>/dev/null || umount -l "$B/mnt-pc"
    e2fsck -fy "$B/cut.img" >/dev/null 2>&1 || true
    mkdir -p "$B/mnt-cut"
    LOOPDEV=$(losetup -f --show "$B/cut.img"); LOOPS+=("$LOOPDEV")
    mount "$LOOPDEV" "$B/mnt-cut"
    start_daemon "$B/mnt-cut/data"
    local missing=0 unreadable=0
    for id in "${ids[@]}"; do
        if ! b inspect -f '{{.Id}}' "$id" >/dev/null 2>&1; then missing=$((missing + 1)); fi
    done
    for f in "$B"/mnt-cut/data/containers/*/config.json; do
        python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$f" 2>/dev/null || unreadable=$((unreadable + 1))
    done
    echo "${#ids[@]} containers reported created before the cut"
    [ "$missing" -eq 0 ] && pass "none of them lost" || fail "$missing reported-created containers lost"
    [ "$unreadable" -eq 0 ] && pass "every record readable" || fail "$unreadable unreadable records"
    b run --rm --network none busybox true && pass "the daemon works on the recovered disk" || fail "run on the recovered disk"
    stop_daemon
}

for s in $SECTIONS; do
    case "$s" in
        restart) section_restart ;;
        disk) section_disk ;;
        powercut) section_powercut ;;
        leftover) LEFTOVER_RUNS="${LEFTOVER_RUNS:-10000}" BERTH_BIN="$BERTH" BERTH_BUSYBOX_TAR="$FIXTURE" \
            bash scripts/leftover-check.sh || FAILS=$((FAILS + 1)) ;;
        *) die "unknown section $s" ;;
    esac
done
echo "faults: $FAILS failed check(s)"
[ "$FAILS" -eq 0 ]
