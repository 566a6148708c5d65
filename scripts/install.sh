#!/usr/bin/env bash
# install.sh [--prefix DIR] [--no-build] [--no-start] [--uninstall]
# Installs berth as a systemd service:
#   PREFIX/bin/berth, PREFIX/bin/berthd       the CLI and the daemon (built in release unless
#                                            --no-build; BERTH_BIN names another CLI, whose
#                                            berthd sits beside it)
#   /etc/systemd/system/berth.{service,socket}  socket activation, Delegate=yes,
#                                            KillMode=process (containers outlive restarts)
#   group `berth`                            owns /run/berth/berth.sock (root-equivalent)
#   /etc/berth/daemon.json                   kept if present
#   shell completions (bash, zsh, fish)      from `berth completion SHELL`
#   PREFIX/share/man/man1/berth*.1           from the CLI's help (scripts/gen-man.py)
# then enables and starts berth.socket (the daemon starts on the first API call). Without
# systemd as init only the files are installed. --uninstall removes what this installs
# (not /etc/berth/daemon.json, not /var/lib/berth).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"
PREFIX=/usr/local
BUILD=1
START=1
UNINSTALL=0
while [ $# -gt 0 ]; do
    case "$1" in
        --prefix) PREFIX="$2"; shift ;;
        --no-build) BUILD=0 ;;
        --no-start) START=0 ;;
        --uninstall) UNINSTALL=1 ;;
        -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
        *) echo "install.sh: unknown argument $1" >&2; exit 2 ;;
    esac
    shift
done
log() { echo "install: $*"; }
[ "$(id -u)" -eq 0 ] || { echo "install.sh: run as root" >&2; exit 1; }
UNITDIR=/etc/systemd/system
MANDIR="$PREFIX/share/man/man1"
systemd_running() { [ -d /run/systemd/system ]; }

if [ "$UNINSTALL" = 1 ]; then
    if systemd_running; then
        systemctl disable --now berth.socket berth.service 2>/dev/null || true
    fi
    rm -f "$UNITDIR/berth.service" "$UNITDIR/berth.socket" "$PREFIX/bin/berth" "$PREFIX/bin/berthd" \
        "$MANDIR"/berth*.1
    bash scripts/install-completion.sh --uninstall | sed 's/^/install: /'
    systemd_running && systemctl daemon-reload
    log "removed (kept /etc/berth and /var/lib/berth)"
    exit 0
fi

BIN="${BERTH_BIN:-$ROOT/target/release/berth}"
if [ "$BUILD" = 1 ] && [ -z "${BERTH_BIN:-}" ]; then
    log "building the release binary"
    cargo build --release -p berth
fi
DBIN="$(dirname "$BIN")/berthd"
for b in "$BIN" "$DBIN"; do
    [ -x "$b" ] || { echo "install.sh: $b missing (build it or set BERTH_BIN)" >&2; exit 1; }
done

# Replacing the binary of a running daemon: write beside it and rename (a busy text file
# cannot be opened for writing; the running daemon keeps the old inode).
install -d "$PREFIX/bin"
for pair in "$BIN:berth" "$DBIN:berthd"; do
    install -m 0755 "${pair%:*}" "$PREFIX/bin/.${pair##*:}.new"
    mv -f "$PREFIX/bin/.${pair##*:}.new" "$PREFIX/bin/${pair##*:}"
done
log "binaries: $PREFIX/bin/berth (CLI), $PREFIX/bin/berthd (daemon)"

getent group berth >/dev/null || groupadd --system berth
log "group: berth (members may use the API; that is root-equivalent)"

install -d -m 0755 /etc/berth
if [ ! -f /etc/berth/daemon.json ]; then
    printf '{\n  "log-level": "info"\n}\n' > /etc/berth/daemon.json
    log "config: /etc/berth/daemon.json (new)"
else
    log "config: /etc/berth/daemon.json (kept)"
fi

install -d "$UNITDIR"
sed "s|@BINDIR@|$PREFIX/bin|g" scripts/systemd/berth.service > "$UNITDIR/berth.service"
install -m 0644 scripts/systemd/berth.socket "$UNITDIR/berth.socket"
log "units: $UNITDIR/berth.service, berth.socket"

# Completions: the one completion installer (same files and directories everywhere).
bash scripts/install-completion.sh "$PREFIX/bin/berth" | sed 's/^/install: /'

if command -v python3 >/dev/null; then
    python3 scripts/gen-man.py "$PREFIX/bin/berth" "$MANDIR" | sed 's/^/install: /'
    command -v mandb >/dev/null && mandb -q 2>/dev/null || true
fi

if systemd_running; then
    systemctl daemon-reload
    if [ "$START" = 1 ]; then
        systemctl enable --now berth.socket
        # A daemon already running keeps its old binary until restarted.
        if systemctl is-active --quiet berth.service; then
            systemctl restart berth.service
        fi
        log "berth.socket enabled and listening on /run/berth/berth.sock"
    fi
else
    log "systemd is not the init system: units installed, nothing started"
fi
