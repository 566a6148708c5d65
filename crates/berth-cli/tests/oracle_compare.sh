#!/usr/bin/env bash
# Compares `berth` CLI output and exit codes with the docker CLI, both talking to the same
# Engine API socket (a real dockerd, or the berth daemon).
#
# usage: BERTH_ORACLE_SOCK=/tmp/oracle/docker.sock [BERTH_BIN=path] crates/berth-cli/tests/oracle_compare.sh
# Needs an image busybox:latest in that daemon (docker import of busybox-static works).
# Time-dependent columns ("2 seconds ago") can race across a second boundary; re-run on a
# single flaky line.
set -u
SOCK=${BERTH_ORACLE_SOCK:?set BERTH_ORACLE_SOCK to a dockerd socket}
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
if [ -z "${BERTH_BIN:-}" ]; then
  (cd "$ROOT" && cargo build -q -p berth-cli --example berth-cli) || exit 1
  BERTH_BIN=$ROOT/target/debug/examples/berth-cli
fi
H=(-H "unix://$SOCK")
pass=0
fail=0
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# run_both NAME ARGS...: runs docker and berth with the same args, compares stdout, stderr
# (with "docker" spelled "berth") and exit code.
cmp_cmd() {
  local stdin_file=${STDIN_FILE:-/dev/null}
  docker "${H[@]}" "$@" <"$stdin_file" >"$tmp/d.out" 2>"$tmp/d.err"
  local drc=$?
  "$BERTH_BIN" "${H[@]}" "$@" <"$stdin_file" >"$tmp/b.out" 2>"$tmp/b.err"
  local brc=$?
  # Only the CLI's own name changes; daemon messages (registry URLs...) stay as they are.
  sed -i -e 's/^docker: /berth: /' -e "s/'docker /'berth /g" -e 's/Usage:  docker /Usage:  berth /' \
    -e 's/: docker /: berth /' "$tmp/d.err"
  if [ "$drc" = "$brc" ] && cmp -s "$tmp/d.out" "$tmp/b.out" && cmp -s "$tmp/d.err" "$tmp/b.err"; then
    pass=$((pass + 1))
    echo "ok    $*"
  else
    fail=$((fail + 1))
    echo "FAIL  $*  (docker rc=$drc, berth rc=$brc)"
    diff "$tmp/d.out" "$tmp/b.out" | sed 's/^/      out /' | head -20
    diff "$tmp/d.err" "$tmp/b.err" | sed 's/^/      err /' | head -20
  fi
}

d() { docker "${H[@]}" "$@"; }

# Fixtures made with docker itself so both CLIs read the same state.
d rm -f oc-run oc-exit oc-label oc-created >/dev/null 2>&1
d rmi oc-tag:1 >/dev/null 2>&1
d run -d --name oc-run -l app=web -l tier=1 busybox sleep 1000 >/dev/null
d run --name oc-exit busybox sh -c 'echo out; echo err >&2; exit 3' >/dev/null 2>&1
d create --name oc-created busybox true >/dev/null
d tag busybox oc-tag:1
sleep 1.2

cmp_cmd ps
cmp_cmd ps -a
cmp_cmd ps -a --no-trunc
cmp_cmd ps -aq
cmp_cmd ps -a -n 2
cmp_cmd ps -l
cmp_cmd ps -a -s
cmp_cmd ps -a --filter name=oc-exit
cmp_cmd ps -a --filter status=exited --filter status=created
cmp_cmd ps -a --filter label=app=web
cmp_cmd ps -a --filter exited=3
cmp_cmd ps -a --format json
cmp_cmd ps -a --format '{{.Names}} {{.State}}'
cmp_cmd ps -a --format 'table {{.Names}}\t{{.Status}}\t{{.Labels}}'
cmp_cmd ps --format '{{.Label "app"}}|{{upper .Names}}|{{json .Names}}'
cmp_cmd ps --foo
cmp_cmd images
cmp_cmd images -q
cmp_cmd images --digests
cmp_cmd images --no-trunc
cmp_cmd images busybox
cmp_cmd images --filter reference=oc-*
cmp_cmd images --format json
# (docker orders several tags of one image randomly: compare one repository only)
cmp_cmd images busybox --format '{{.Repository}}:{{.Tag}} {{.ID}} {{.Size}}'
cmp_cmd image ls
cmp_cmd history busybox
cmp_cmd history --no-trunc busybox
cmp_cmd history -q busybox
cmp_cmd history -H=false busybox
cmp_cmd inspect oc-run
cmp_cmd inspect busybox
cmp_cmd inspect -f '{{.State.Running}} {{.Name}} {{index .Config.Labels "app"}}' oc-run
cmp_cmd inspect -f '{{join .Config.Cmd ","}}' oc-run
cmp_cmd inspect -f '{{json .Config.Labels}}' oc-run
cmp_cmd inspect nosuch
cmp_cmd inspect --type image oc-run
cmp_cmd container inspect nosuch
cmp_cmd image inspect nosuch
cmp_cmd image inspect -f '{{.Id}}' busybox
cmp_cmd logs oc-exit
cmp_cmd logs --tail 1 oc-exit
cmp_cmd logs --since 10m oc-exit
cmp_cmd logs --until 2000-01-01T00:00:00Z oc-exit
cmp_cmd logs nosuch
cmp_cmd run --rm busybox sh -c 'echo hello; echo to-err >&2; exit 7'
cmp_cmd run --rm busybox nosuchcmd
cmp_cmd run --rm -e A=1 -w /tmp -u 1000 busybox sh -c 'echo $A $(pwd) $(id -u)'
cmp_cmd run --rm --entrypoint echo busybox a b
STDIN_FILE=/etc/hostname cmp_cmd run --rm -i busybox cat
cmp_cmd run --foo busybox
cmp_cmd run
cmp_cmd run nosuchimage
cmp_cmd create --rm --pids-limit x busybox
cmp_cmd run -c x busybox
cmp_cmd run --cpus x busybox
cmp_cmd run -m x busybox
cmp_cmd run -z busybox
cmp_cmd ps -n
cmp_cmd run -it busybox
cmp_cmd image bogus
cmp_cmd start nosuch oc-created
cmp_cmd start -a oc-exit
cmp_cmd wait oc-exit
cmp_cmd wait nosuch
cmp_cmd stop nosuch
cmp_cmd kill nosuch
cmp_cmd restart nosuch
cmp_cmd rm nosuch
cmp_cmd rename nosuch x
cmp_cmd rmi nosuch
cmp_cmd tag nosuch x:1
cmp_cmd stop
cmp_cmd version --format '{{.Server.Version}}'
cmp_cmd bogus
cmp_cmd container bogus
cmp_cmd container ls -a
cmp_cmd image prune -f
cmp_cmd save busybox

# Mutating commands: run against separate, identical fixtures.
d run -d --name oc-k1 busybox sleep 100 >/dev/null
cp /dev/null "$tmp/x"
docker "${H[@]}" kill oc-k1 >"$tmp/d.out" 2>&1; echo "kill(docker): $(cat "$tmp/d.out")"
d run -d --name oc-k2 busybox sleep 100 >/dev/null
"$BERTH_BIN" "${H[@]}" kill oc-k2 >"$tmp/b.out" 2>&1
if [ "$(cat "$tmp/b.out")" = "oc-k2" ]; then pass=$((pass + 1)); echo "ok    kill"; else fail=$((fail + 1)); echo "FAIL  kill: $(cat "$tmp/b.out")"; fi
out=$("$BERTH_BIN" "${H[@]}" run -d --name oc-d busybox sleep 100)
if [ "${#out}" = 64 ]; then pass=$((pass + 1)); echo "ok    run -d prints the full id"; else fail=$((fail + 1)); echo "FAIL  run -d: $out"; fi
"$BERTH_BIN" "${H[@]}" stop -t 1 oc-d >/dev/null && "$BERTH_BIN" "${H[@]}" rm oc-d >/dev/null &&
  { pass=$((pass + 1)); echo "ok    stop/rm"; } || { fail=$((fail + 1)); echo "FAIL  stop/rm"; }
"$BERTH_BIN" "${H[@]}" rename oc-k2 oc-k3 && [ "$(d inspect -f '{{.Name}}' oc-k3)" = /oc-k3 ] &&
  { pass=$((pass + 1)); echo "ok    rename"; } || { fail=$((fail + 1)); echo "FAIL  rename"; }
"$BERTH_BIN" "${H[@]}" save -o "$tmp/bb.tar" busybox && "$BERTH_BIN" "${H[@]}" load -i "$tmp/bb.tar" >"$tmp/load.out" &&
  grep -q "Loaded image: busybox:latest" "$tmp/load.out" &&
  { pass=$((pass + 1)); echo "ok    save/load"; } || { fail=$((fail + 1)); echo "FAIL  save/load"; }
"$BERTH_BIN" "${H[@]}" tag busybox oc-tag:2 && "$BERTH_BIN" "${H[@]}" rmi oc-tag:2 >"$tmp/rmi.out" &&
  [ "$(cat "$tmp/rmi.out")" = "Untagged: oc-tag:2" ] &&
  { pass=$((pass + 1)); echo "ok    tag/rmi"; } || { fail=$((fail + 1)); echo "FAIL  tag/rmi"; }
tar -C /etc -c hostname | "$BERTH_BIN" "${H[@]}" import -m msg - oc-imp:1 >"$tmp/imp.out" &&
  grep -q '^sha256:' "$tmp/imp.out" && d rmi oc-imp:1 >/dev/null &&
  { pass=$((pass + 1)); echo "ok    import"; } || { fail=$((fail + 1)); echo "FAIL  import"; }

d rm -f oc-run oc-exit oc-created oc-k1 oc-k3 >/dev/null 2>&1
d rmi oc-tag:1 >/dev/null 2>&1
echo "passed: $pass, failed: $fail"
[ "$fail" = 0 ]
