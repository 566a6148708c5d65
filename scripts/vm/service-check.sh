#!/usr/bin/env bash
# service-check.sh BERTH_BIN BUSYBOX_TAR
# Runs in the test VM (systemd as init, as root): installs berth with scripts/install.sh and
# checks the service as a user would use it: socket activation, the berth group, a restart
# that keeps containers running, SIGHUP reloading daemon.json, man pages, uninstall.
# Prints "ok NAME" / "FAIL NAME: why" lines and ends with "service: N passed, M failed".
set -u
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(dirname "$(dirname "$HERE")")"
BIN=${1:?berth binary}
TAR=${2:?busybox archive}
pass=0 fail=0
ok() { echo "ok $1"; pass=$((pass + 1)); }
bad() { echo "FAIL $1: $2"; fail=$((fail + 1)); }
check() { local name=$1; shift; if "$@" >/tmp/check.out 2>&1; then ok "$name"; else bad "$name" "$(tr '\n' ' ' </tmp/check.out | cut -c1-300)"; fi; }
export BERTH_NO_AUTOSTART=1

# The repo is mounted read-only: install from a copy of the scripts.
cp -r "$ROOT/scripts" /tmp/berth-scripts
mkdir -p /tmp/berth-src && ln -sfn /tmp/berth-scripts /tmp/berth-src/scripts
check install env BERTH_BIN="$BIN" bash /tmp/berth-src/scripts/install.sh --no-build
check socket-enabled systemctl is-enabled berth.socket
check socket-listening systemctl is-active berth.socket
check service-idle-before-first-call sh -c '! systemctl is-active --quiet berth.service'
check socket-owner sh -c '[ "$(stat -c %G:%a /run/berth/berth.sock)" = berth:660 ]'
check activation-on-first-call berth version
check service-active systemctl is-active berth.service
check daemon-under-systemd sh -c 'systemctl show -p MainPID --value berth.service | grep -qv "^0$"'
# The unit runs the daemon's own binary, installed beside the CLI.
check daemon-is-berthd sh -c '[ "$(readlink /proc/$(systemctl show -p MainPID --value berth.service)/exe)" = /usr/local/bin/berthd ]'
check delegate sh -c '[ "$(systemctl show -p Delegate --value berth.service)" = yes ]'
check killmode-process sh -c '[ "$(systemctl show -p KillMode --value berth.service)" = process ]'
useradd -m -G berth berthuser 2>/dev/null
useradd -m otheruser 2>/dev/null
check group-member-uses-api runuser -u berthuser -- env BERTH_NO_AUTOSTART=1 berth version
check non-member-refused sh -c '! runuser -u otheruser -- env BERTH_NO_AUTOSTART=1 berth ps'
check load berth load -i "$TAR"
check run-detached berth run -d --name keep busybox sleep 100000
pid_before=$(berth inspect -f '{{.State.Pid}}' keep 2>/dev/null)
daemon_before=$(systemctl show -p MainPID --value berth.service)
check restart systemctl restart berth.service
check restarted-daemon-is-new sh -c "[ \"\$(systemctl show -p MainPID --value berth.service)\" != '$daemon_before' ]"
check container-survives-restart sh -c "kill -0 $pid_before && [ \"\$(berth inspect -f '{{.State.Running}} {{.State.Pid}}' keep)\" = 'true $pid_before' ]"
check exec-after-restart sh -c '[ "$(berth exec keep echo hi)" = hi ]'

# SIGHUP: reloadable keys take effect and the effective config is logged.
cp /etc/berth/daemon.json /tmp/daemon.json.orig
# `debug` is what info's Debug reports (dockerd: debug.IsEnabled(); log-level alone
# leaves it false).
cat > /etc/berth/daemon.json <<'JSON'
{
  "debug": true,
  "log-level": "debug",
  "labels": ["env=vmcheck"],
  "max-concurrent-downloads": 7,
  "shutdown-timeout": 20
}
JSON
since=$(date '+%Y-%m-%d %H:%M:%S')
check reload systemctl reload berth.service
sleep 2
check reload-keeps-daemon sh -c "[ \"\$(systemctl show -p MainPID --value berth.service)\" != 0 ] && systemctl is-active --quiet berth.service"
check reload-labels sh -c '[ "$(berth info --format "{{.Labels}}")" = "[env=vmcheck]" ]'
check reload-debug sh -c '[ "$(berth info --format "{{.Debug}}")" = true ]'
check reload-logged sh -c "journalctl -u berth.service --since '$since' --no-pager | grep -i 'reloaded' | grep -q 'max-concurrent-downloads'"
echo '{"data-root": "/elsewhere"}' > /etc/berth/daemon.json
since=$(date '+%Y-%m-%d %H:%M:%S')
check reload-refuses-non-reloadable systemctl reload berth.service
sleep 2
check non-reloadable-logged sh -c "journalctl -u berth.service --since '$since' --no-pager | grep -q 'data-root'"
check still-serving berth ps
cp /tmp/daemon.json.orig /etc/berth/daemon.json

check stop-keeps-containers sh -c "systemctl stop berth.service && kill -0 $pid_before"
# berth.socket is PartOf=berth.service, as docker.socket is of docker.service: stopping the
# service closes the socket too (a restart reopens it); starting the socket again brings
# activation back, and the new daemon finds the container still running.
check stop-closes-socket sh -c '! systemctl is-active --quiet berth.socket'
check reactivation sh -c "systemctl start berth.socket && [ \"\$(berth inspect -f '{{.State.Running}} {{.State.Pid}}' keep)\" = 'true $pid_before' ]"
check man-page sh -c 'test -f /usr/local/share/man/man1/berth.1 && test -f /usr/local/share/man/man1/berth-run.1'
berth rm -f keep >/dev/null 2>&1
check uninstall bash /tmp/berth-src/scripts/install.sh --uninstall
check units-removed sh -c '! test -e /etc/systemd/system/berth.service'
check binaries-removed sh -c '! test -e /usr/local/bin/berth && ! test -e /usr/local/bin/berthd'
echo "service: $pass passed, $fail failed"
[ "$fail" -eq 0 ]
