#!/usr/bin/env bash
# Leftover check for the default bridge network (issue 4): a private berth daemon on its own
# bridge runs N (default 1000) `run --rm busybox true` (every 10th with a published port,
# every 20th of them also on [::], through the userland proxy), then the script asserts that
# nothing of them is left: no veth on the bridge, no address but the gateway's, no DNAT rule
# in the daemon's nftables table, no published-port socket, no namespace mount or container
# directory. Exits non-zero on a leftover.
# Env: BERTH_BIN (default target/release/berth), LEFTOVER_RUNS (default 1000),
#      BERTH_BUSYBOX_TAR (default: built with scripts/make-busybox-image.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BERTH="${BERTH_BIN:-$PWD/target/release/berth}"
N="${LEFTOVER_RUNS:-1000}"
B=/tmp/berth-leftover
BRIDGE=bt-leftover
BIP=10.216.3.1/24
die() { echo "leftover-check: $*" >&2; exit 1; }
[ -e "$B" ] && die "$B exists (another run, or a stale one: remove it first)"
[ -x "$BERTH" ] || die "$BERTH missing: cargo build --release -p berth"
mkdir -p "$B"
PID=""
cleanup() {
    set +e
    [ -n "$PID" ] && kill -TERM "$PID" 2>/dev/null && for _ in $(seq 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
    [ -n "$PID" ] && kill -KILL "$PID" 2>/dev/null
    awk -v b="$B/" 'index($5, b) == 1 { print length($5) " " $5 }' /proc/self/mountinfo \
        | sort -rn | cut -d' ' -f2- | while read -r m; do umount -l "$m"; done
    ip link show "$BRIDGE" >/dev/null 2>&1 && ip link del "$BRIDGE"
    rm -rf "$B"
}
trap cleanup EXIT
b() { BERTH_NO_AUTOSTART=1 "$BERTH" -H "unix://$B/s.sock" "$@"; }

FIXTURE="${BERTH_BUSYBOX_TAR:-$B/busybox.tar}"
[ -f "$FIXTURE" ] || bash scripts/make-busybox-image.sh "$FIXTURE" busybox:latest >/dev/null
BERTH_NO_AUTOSTART=1 "$BERTH" daemon --data-root "$B/root" -H "unix://$B/s.sock" \
    --bridge "$BRIDGE" --bip "$BIP" >"$B/log" 2>&1 &
PID=$!
for _ in $(seq 200); do b version >/dev/null 2>&1 && break; sleep 0.1; done
b load -i "$FIXTURE" >/dev/null
# The ip and ip6 tables share the daemon's name: each name once. No `head` or `grep -q`:
# their early exit SIGPIPEs the writer, which pipefail turns into the script's exit.
TABLE=$(nft list tables | awk '{print $3}' | sort -u | while read -r t; do
    if nft list table ip "$t" 2>/dev/null | grep "\"$BRIDGE\"" >/dev/null; then echo "$t"; fi
done | sed -n 1p)
[ -n "$TABLE" ] || die "no nftables table of the daemon found"
# Netlink creates no processes; count the host's veths before (others' may come and go).
veths_before=$(ip -o link show type veth | wc -l)

t0=$(date +%s.%N)
for i in $(seq "$N"); do
    if [ $((i % 20)) -eq 0 ]; then
        # No host IP: 0.0.0.0 by DNAT and [::] by the daemon's userland proxy.
        b run --rm -p 80 busybox true
    elif [ $((i % 10)) -eq 0 ]; then
        b run --rm -p 127.0.0.1::80 busybox true
    else
        b run --rm busybox true
    fi
done
t1=$(date +%s.%N)
echo "$N x run --rm: $(awk "BEGIN { printf \"%.1f\", ($t1 - $t0) * 1000 / $N }") ms each on average"

fail=0
ports=$(ls "/sys/class/net/$BRIDGE/brif" 2>/dev/null | wc -l)
addrs=$(ip -o -4 addr show dev "$BRIDGE" | wc -l)
dnat=$(nft list table ip "$TABLE" | grep -c "dnat to" || true)
nsmounts=$(awk -v b="$B/" 'index($5, b) == 1 && $5 ~ /\/netns$/' /proc/self/mountinfo | wc -l)
ctrs=$(find "$B/root/containers" -mindepth 1 -maxdepth 1 -type d | wc -l)
ps_left=$(b ps -aq | wc -l)
# Published ports are sockets the daemon holds (reservations, IPv6 proxies): none may stay.
socks=$(ss -Htlnup 2>/dev/null | grep -c "pid=$PID," || true)
veths_after=$(ip -o link show type veth | wc -l)
echo "veths on $BRIDGE: $ports; addresses on $BRIDGE: $addrs; DNAT rules: $dnat;" \
    "netns mounts: $nsmounts; container dirs: $ctrs; ps -a: $ps_left; port sockets: $socks;" \
    "host veths before/after: $veths_before/$veths_after"
[ "$ports" -eq 0 ] || { echo "LEFTOVER: veths on the bridge"; fail=1; }
[ "$addrs" -eq 1 ] || { echo "LEFTOVER: addresses on the bridge"; fail=1; }
[ "$dnat" -eq 0 ] || { echo "LEFTOVER: DNAT rules"; fail=1; }
[ "$nsmounts" -eq 0 ] || { echo "LEFTOVER: namespace mounts"; fail=1; }
[ "$ctrs" -eq 0 ] || { echo "LEFTOVER: container directories"; fail=1; }
[ "$ps_left" -eq 0 ] || { echo "LEFTOVER: containers"; fail=1; }
[ "$socks" -eq 0 ] || { echo "LEFTOVER: published-port sockets"; fail=1; }
# The daemon's shutdown takes its bridge and table with it.
kill -TERM "$PID"; for _ in $(seq 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done; PID=""
ip link show "$BRIDGE" >/dev/null 2>&1 && { echo "LEFTOVER: bridge after shutdown"; fail=1; }
nft list tables | grep -qw "$TABLE" && { echo "LEFTOVER: nftables table after shutdown"; fail=1; }
[ "$fail" -eq 0 ] && echo "no leftovers"
exit "$fail"
